// SPDX-License-Identifier: BSD-2-Clause
//! The test kernel's bus_dma(9), with `kldtest_busdma.ko`, a C driver
//! written as FreeBSD's are: a tag from `bus_get_dma_tag(9)` below edu's
//! 28-bit mask, `bus_dmamem_alloc` and `bus_dmamap_load` through the
//! inline calls of `<machine/bus_dma.h>`, and the edu model's DMA engine
//! reaching exactly the loaded memory. FreeBSD's errors (`EFBIG` through
//! the load callback while the load returns 0, `EBUSY` from destroying a
//! tag with memory, `EINVAL` for a zero `maxsegsz`), and the rules the
//! harness checks: a device read without `PREWRITE`, device-written data
//! without `POSTREAD`, and a tag, map and memory left at detach.

use harness::Kernel;
use harness::testing::module_path;
use std::time::{Duration, Instant};

fn loaded() -> (Kernel, i32) {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    k.pci_firmware_busmaster(slot);
    let id = k.kldload(module_path("kldtest_busdma")).unwrap();
    (k, id)
}

fn poke(k: &Kernel, name: &str) {
    k.sysctl_set(&format!("debug.kldtest_busdma.{name}"), "1")
        .unwrap();
}

/// Waits (up to 10 s) for a violation containing `what`.
fn violation(k: &Kernel, what: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let v = k.violations();
        if v.iter().any(|v| v.message.contains(what)) {
            k.take_violations();
            return;
        }
        assert!(Instant::now() < end, "no violation {what:?}: {v:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_c_driver_loads_memory_below_its_mask_and_round_trips() {
    let (k, id) = loaded();
    let loads = k.dma_loads();
    assert_eq!(loads.len(), 1, "{loads:?}");
    assert!(loads[0].bus_addr + loads[0].len <= 1 << 28, "{loads:?}");
    assert!(
        k.dmesg().contains(&format!(
            "kldtest_busdma0: 1 segment at {:#x}\n",
            loads[0].bus_addr
        )),
        "{}",
        k.dmesg()
    );
    poke(&k, "roundtrip");
    assert!(
        k.dmesg()
            .contains("kldtest_busdma: back round trip bytes\n"),
        "{}",
        k.dmesg()
    );
    k.kldunload(id, false).unwrap();
    assert!(k.dma_loads().is_empty());
    k.check().unwrap();
}

#[test]
fn freebsds_errors_efbig_through_the_callback_ebusy_einval() {
    let (k, id) = loaded();
    poke(&k, "errors");
    let dmesg = k.dmesg();
    // subr_bus_dma.c: only ENOMEM is returned; EFBIG reaches the callback.
    assert!(
        dmesg.contains("kldtest_busdma: load returned 0, callback error 27 nsegs 0\n"),
        "{dmesg}"
    );
    assert!(
        dmesg.contains("kldtest_busdma: destroy with memory returned 16\n"),
        "{dmesg}"
    );
    assert!(
        dmesg.contains("kldtest_busdma: zero maxsegsz returned 22\n"),
        "{dmesg}"
    );
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_device_read_without_prewrite_is_reported() {
    let (k, id) = loaded();
    poke(&k, "nosync");
    violation(&k, "without BUS_DMASYNC_PREWRITE");
    k.kldunload(id, false).unwrap();
}

#[test]
fn device_written_data_without_postread_is_reported() {
    let (k, id) = loaded();
    poke(&k, "nopostread");
    violation(&k, "no BUS_DMASYNC_POSTREAD");
    k.kldunload(id, false).unwrap();
}

#[test]
fn a_tag_map_and_memory_left_at_detach_are_leaks() {
    let (k, id) = loaded();
    poke(&k, "leak");
    k.kldunload(id, false).unwrap();
    let v = k.take_violations();
    let text = format!("{v:?}");
    assert!(
        text.contains("not freed (bus_dmamem_free) at detach"),
        "{text}"
    );
    assert!(
        text.contains("still loaded (no bus_dmamap_unload)"),
        "{text}"
    );
    assert!(
        text.contains("not destroyed (bus_dma_tag_destroy)"),
        "{text}"
    );
    // Forgotten: the device cannot reach the memory any more.
    assert!(k.dma_loads().is_empty());
}
