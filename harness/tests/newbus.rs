// SPDX-License-Identifier: BSD-2-Clause
//! The test kernel's newbus, with `kldtest_newbus.ko`, a C driver written
//! as FreeBSD's are (DRIVER_MODULE, its own softc size, the inline
//! pci_get_vendor and bus_read_4): probe and attach at load, the MMIO
//! widths the edu model decodes, a detach that vetoes the unload
//! (`driver_module_handler`, sys/kern/subr_bus.c), a detach that leaks BAR
//! 0 (`pci_child_detached`), an access the device refuses, and its
//! interrupt: a filter and an ithread handler set up with
//! `bus_setup_intr`, delivered by the test kernel; a teardown while the
//! ithread handler runs waits for it (`intr_event_remove_handler`); a
//! handler left set up at detach, or whose argument is freed, is reported;
//! a filter that takes a sleep mutex panics the kernel, as WITNESS does.
//! PCI: `pci_alloc_msi` with INTx allocated is `ENXIO`, MSI left allocated
//! at detach is reported and released ("Device leaked MSI vectors"), a
//! misaligned `pci_read_config` is reported and reads all ones.

use harness::testing::module_path;
use harness::{Errno, Kernel, SysctlValue, ViolationKind};
use std::time::{Duration, Instant};

fn load(k: &Kernel) -> i32 {
    k.pci_add_edu();
    k.kldload(module_path("kldtest_newbus")).unwrap()
}

#[test]
fn a_c_driver_attaches_and_reads_its_registers() {
    let k = Kernel::new();
    let id = load(&k);
    let dmesg = k.dmesg();
    assert!(
        dmesg.contains(
            "kldtest_newbus0: <kldtest newbus 42> mem 0xfe400000-0xfe4fffff at device 4.0 on pci0\n"
        ),
        "{dmesg}"
    );
    // 4-byte id, 8-byte DMA source (0 at reset), the liveness
    // complement, the BAR's size from rman_get_size.
    assert!(
        dmesg
            .contains("kldtest_newbus0: id 0x10000ed dma_src 0 liveness 0xedcba987 size 1048576\n"),
        "{dmesg}"
    );
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("kldtest_newbus0"));
    k.kldunload(id, false).unwrap();
    assert_eq!(k.pci_devices()[0].name, None);
    k.check().unwrap();
}

#[test]
fn a_detach_error_vetoes_the_unload() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("debug.kldtest_newbus.veto", "1").unwrap();
    assert_eq!(
        k.kldunload(id, false).unwrap_err().errno(),
        Some(Errno::EBUSY)
    );
    assert_eq!(
        k.pci_devices()[0].name.as_deref(),
        Some("kldtest_newbus0"),
        "still attached"
    );
    assert_eq!(k.pci_devices()[0].resources, 2, "BAR 0 and the IRQ");
    k.sysctl_set("debug.kldtest_newbus.veto", "0").unwrap();
    k.kldunload(id, false).unwrap();
    assert_eq!(k.pci_devices()[0].resources, 0);
    k.check().unwrap();
}

#[test]
fn a_resource_left_at_detach_is_reported_and_reclaimed() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("debug.kldtest_newbus.leak", "1").unwrap();
    k.kldunload(id, false).unwrap();
    assert!(
        k.dmesg()
            .contains("kldtest_newbus0: Device leaked memory resources\n"),
        "{}",
        k.dmesg()
    );
    assert_eq!(k.pci_devices()[0].resources, 0, "reclaimed by the bus");
    let v = k.take_violations();
    assert!(
        v.iter()
            .any(|v| v.kind == ViolationKind::Devfs && v.message.contains("leaked memory")),
        "{v:?}"
    );
}

#[test]
fn an_access_the_device_does_not_decode_is_a_fatal_fault() {
    let k = Kernel::new();
    load(&k);
    assert!(k.sysctl_set("debug.kldtest_newbus.peek1", "1").is_err());
    assert_eq!(k.expect_panic().as_deref(), Some("page fault"));
    let v = k.take_violations();
    assert!(
        v.iter().any(|v| v.kind == ViolationKind::Devfs
            && v.message.starts_with("MMIO: kldtest_newbus_peek1+0x")),
        "{v:?}"
    );
}

/// Waits (up to 10 s) until `f` holds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "never: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn intrs(k: &Kernel) -> u64 {
    match k.sysctl_get("debug.kldtest_newbus.intrs").unwrap() {
        SysctlValue::Uint(v) => v,
        SysctlValue::Int(v) => u64::try_from(v).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_raised_interrupt_runs_the_filter_then_the_ithread_handler() {
    let k = Kernel::new();
    k.pci_add_edu();
    let id = k.kldload(module_path("kldtest_newbus")).unwrap();
    let slot = k.pci_devices()[0].slot;
    assert_eq!(intrs(&k), 0);
    assert!(k.pci_edu_raise(slot, 0x1234_0000));
    // The filter acknowledged (0x64) and scheduled the ithread, which
    // counted.
    eventually("the ithread handler ran", || intrs(&k) == 1);
    assert_eq!(k.pci_edu_irq_status(slot), Some(0), "acknowledged");
    assert!(k.pci_edu_raise(slot, 0x1));
    eventually("a second interrupt", || intrs(&k) == 2);
    k.kldunload(id, false).unwrap();
    assert_eq!(k.pci_devices()[0].resources, 0);
    k.check().unwrap();
}

#[test]
fn a_handler_left_set_up_at_detach_is_reported() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("debug.kldtest_newbus.intr_leak", "1").unwrap();
    k.kldunload(id, false).unwrap();
    let v = k.take_violations();
    assert!(
        v.iter().any(|v| v.kind == ViolationKind::Devfs
            && v.message
                == "kldtest_newbus0: interrupt handler still set up after detach \
                    (1 not torn down with bus_teardown_intr)"),
        "{v:?}"
    );
}

fn entered(k: &Kernel) -> bool {
    match k.sysctl_get("debug.kldtest_newbus.entered").unwrap() {
        SysctlValue::Int(v) => v != 0,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_teardown_waits_for_the_running_handler() {
    let k = Kernel::new();
    let id = load(&k);
    let slot = k.pci_devices()[0].slot;
    k.sysctl_set("debug.kldtest_newbus.slow", "1").unwrap();
    assert!(k.pci_edu_raise(slot, 0x1));
    eventually("the ithread handler was entered", || entered(&k));
    // Detach's bus_teardown_intr runs while the handler busy-waits.
    k.kldunload(id, false).unwrap();
    assert!(
        k.dmesg()
            .contains("kldtest_newbus0: teardown after the handler returned\n"),
        "{}",
        k.dmesg()
    );
    k.check().unwrap();
}

#[test]
fn a_handler_whose_argument_is_freed_is_reported() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("debug.kldtest_newbus.free_arg", "1").unwrap();
    let v = k.take_violations();
    assert!(
        v.iter().any(|v| v.kind == ViolationKind::Devfs
            && v.message
                == "kldtest_newbus0: interrupt handler still set up when its argument's \
                    memory was freed (missing bus_teardown_intr)"),
        "{v:?}"
    );
    // The module's own handler is still torn down at detach.
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_filter_that_takes_a_sleep_mutex_panics_the_kernel() {
    let k = Kernel::new();
    load(&k);
    let slot = k.pci_devices()[0].slot;
    k.sysctl_set("debug.kldtest_newbus.filter_lock", "1")
        .unwrap();
    assert!(k.pci_edu_raise(slot, 0x1));
    eventually("the filter ran and panicked", || k.panicked().is_some());
    let v = k.take_violations();
    assert!(
        v.iter().any(|v| v.kind == ViolationKind::Lock
            && v.message.starts_with(
                "acquiring blockable sleep lock with spinlock or critical section held \
                 (sleep mutex) kldtest_newbus"
            )),
        "{v:?}"
    );
    assert!(
        k.expect_panic()
            .is_some_and(|m| m.starts_with("acquiring blockable sleep lock"))
    );
}

#[test]
fn pci_alloc_msi_with_the_legacy_interrupt_allocated_is_enxio() {
    // pci_alloc_msi_method (sys/dev/pci/pci.c): rid 0 allocated, ENXIO.
    let k = Kernel::new();
    let id = load(&k);
    let e = k
        .sysctl_set("debug.kldtest_newbus.alloc_msi", "1")
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::ENXIO));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn msi_left_allocated_at_detach_is_reported_and_released() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("debug.kldtest_newbus.msi_leak", "1").unwrap();
    k.kldunload(id, false).unwrap();
    let d = k.dmesg();
    assert!(d.contains("kldtest_newbus0: 1 MSI allocated\n"), "{d}");
    assert!(
        d.contains("kldtest_newbus0: Device leaked MSI vectors\n"),
        "{d}"
    );
    assert_eq!(k.pci_msi_allocated(4), Some(0), "released by the bus");
    let v = k.take_violations();
    assert!(
        v.iter()
            .any(|v| v.kind == ViolationKind::Devfs && v.message.contains("leaked MSI")),
        "{v:?}"
    );
}

#[test]
fn a_misaligned_configuration_read_is_reported_and_reads_all_ones() {
    let k = Kernel::new();
    let id = load(&k);
    k.sysctl_set("debug.kldtest_newbus.cfg_misaligned", "1")
        .unwrap();
    assert!(
        k.dmesg().contains("kldtest_newbus: cfg 0xffffffff\n"),
        "{}",
        k.dmesg()
    );
    let v = k.take_violations();
    assert!(
        v.iter()
            .any(|v| v.kind == ViolationKind::Devfs && v.message.contains("4-byte access at 0x2")),
        "{v:?}"
    );
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
