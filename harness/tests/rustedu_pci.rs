// SPDX-License-Identifier: BSD-2-Clause
//! `rustedu.ko` and the PCI side of newbus: configuration space, bus
//! mastering and MSI, on the built `.ko` against the edu model.
//!
//! Attach reads vendor, device and class through `pci_read_config` (kobj
//! `PCI_READ_CONFIG` on `pci0`) and refuses a mismatch; it takes an MSI
//! message when the device has one (`pci_msi_count`, `pci_alloc_msi`,
//! rid 1), with bus mastering on, and INTx otherwise. The tests check the
//! configuration the bus programmed (MSI address, data, enable, INTx
//! disabled, bus master), that the factorial's completion interrupt
//! arrives on both paths, that detach releases the message
//! (`pci_release_msi`) and disables MSI, that a device whose bus
//! mastering was turned off loses its message and the test kernel says
//! so, that a message whose data was rewritten behind the bus is reported
//! (it would land on another vector), and that a failing `pci_alloc_msi`
//! or MSI resource falls back to INTx.

use harness::testing::module_path;
use harness::{Kernel, SysctlValue};
use std::time::{Duration, Instant};

/// `PCIR_COMMAND`.
const COMMAND: u16 = 0x04;
/// `PCIM_CMD_BUSMASTEREN`.
const BUSMASTEREN: u32 = 0x0004;
/// `PCIM_CMD_INTxDIS`.
const INTX_DISABLE: u32 = 0x0400;
/// The edu model's MSI capability (QEMU's `msi_init` places it at 0x40).
const MSI_CAP: u16 = 0x40;

/// Waits (up to 10 s) until `f` holds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "never: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn uint(k: &Kernel, name: &str) -> u64 {
    match k.sysctl_get(name).unwrap() {
        SysctlValue::Uint(v) => v,
        other => panic!("{name}: {other:?}"),
    }
}

/// The MSI control word's enable bit.
fn msi_enabled(k: &Kernel, slot: u8) -> bool {
    k.pci_config_read(slot, MSI_CAP + 2, 2).unwrap() & 1 != 0
}

/// Computes 6! and waits for its completion interrupt and ithread.
fn factorial_interrupt(k: &Kernel) {
    let before = uint(k, "dev.rustedu.0.completions");
    k.sysctl_set("dev.rustedu.0.factorial", "6").unwrap();
    assert_eq!(uint(k, "dev.rustedu.0.result"), 720);
    eventually("the completion interrupt", || {
        uint(k, "dev.rustedu.0.completions") == before + 1
    });
}

#[test]
fn attach_takes_an_msi_message_and_the_factorial_interrupt_arrives_on_it() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    assert_eq!(k.pci_config_read(slot, COMMAND, 2), Some(0));
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
    assert_eq!(k.pci_msi_allocated(slot), Some(1));
    // pci_enable_msi: address, data, enable; INTx off; the driver turned
    // bus mastering on.
    assert!(msi_enabled(&k, slot));
    assert_eq!(
        k.pci_config_read(slot, MSI_CAP + 4, 4),
        Some(0xfee0_0000),
        "the message address"
    );
    let cmd = k.pci_config_read(slot, COMMAND, 2).unwrap();
    assert_eq!(
        cmd & (BUSMASTEREN | INTX_DISABLE),
        BUSMASTEREN | INTX_DISABLE
    );
    factorial_interrupt(&k);
    // Each message one interrupt: three raises, three more.
    let before = uint(&k, "dev.rustedu.0.interrupts");
    for n in 1..=3u64 {
        assert!(k.pci_edu_raise(slot, 0x0100_0000));
        eventually("a message", || {
            uint(&k, "dev.rustedu.0.interrupts") == before + n
        });
    }
    assert_eq!(uint(&k, "dev.rustedu.0.stray"), 0);
    k.kldunload(id, false).unwrap();
    // Torn down, resource released, message released, MSI disabled.
    assert_eq!(k.pci_msi_allocated(slot), Some(0));
    assert!(!msi_enabled(&k, slot));
    assert_eq!(k.pci_devices()[0].resources, 0);
    k.check().unwrap();
    // Attach again: the message comes back.
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(k.pci_msi_allocated(slot), Some(1));
    factorial_interrupt(&k);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn without_msi_attach_falls_back_to_intx() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    // pci_msi_count 0, as with hw.pci.enable_msi=0.
    assert!(k.pci_set_msi_off(slot, true));
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(k.pci_msi_allocated(slot), Some(0));
    assert!(!msi_enabled(&k, slot));
    let cmd = k.pci_config_read(slot, COMMAND, 2).unwrap();
    assert_eq!(cmd & INTX_DISABLE, 0, "INTx enabled");
    factorial_interrupt(&k);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_failing_msi_allocation_or_msi_resource_falls_back_to_intx() {
    for what in ["pci_alloc_msi", "bus_alloc_resource"] {
        let k = Kernel::new();
        let slot = k.pci_add_edu();
        if what == "pci_alloc_msi" {
            k.fail_pci_alloc_msi(1);
        } else {
            // BAR 0 first, then the message's IRQ resource.
            k.fail_bus_alloc_resource(2);
        }
        let id = k.kldload(module_path("rustedu")).unwrap();
        assert_eq!(
            k.pci_devices()[0].name.as_deref(),
            Some("rustedu0"),
            "{what}: {}",
            k.dmesg()
        );
        // The message (if allocated) was released before INTx was taken:
        // pci_alloc_resource refuses rid 0 while messages are allocated.
        assert_eq!(k.pci_msi_allocated(slot), Some(0), "{what}");
        assert!(!msi_enabled(&k, slot), "{what}");
        factorial_interrupt(&k);
        k.kldunload(id, false).unwrap();
        k.check().unwrap();
    }
}

#[test]
fn a_message_with_bus_mastering_off_is_lost_and_reported() {
    let k = std::sync::Arc::new(Kernel::new());
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert!(msi_enabled(&k, slot));
    // Someone turns bus mastering off behind the driver's back
    // (pciconf -w): the completion's message cannot reach the CPU, so the
    // writer, asleep for it, times out after a second (of virtual time).
    let cmd = k.pci_config_read(slot, COMMAND, 2).unwrap();
    assert!(k.pci_config_write(slot, COMMAND, 2, cmd & !BUSMASTEREN));
    let w = {
        let k = std::sync::Arc::clone(&k);
        std::thread::spawn(move || k.sysctl_set("dev.rustedu.0.factorial", "4"))
    };
    assert!(
        k.wait_for_sleepers("edufac", 1, std::time::Duration::from_secs(10)),
        "{:?}",
        k.sleepers()
    );
    k.advance_clock(std::time::Duration::from_secs(2));
    let e = w.join().unwrap().unwrap_err();
    assert_eq!(e.errno(), Some(harness::Errno::ETIMEDOUT), "{e:?}");
    assert_eq!(uint(&k, "dev.rustedu.0.timeouts"), 1);
    eventually("the lost message reported", || {
        k.violations()
            .iter()
            .any(|v| v.message.contains("MSI with bus mastering off"))
    });
    assert_eq!(uint(&k, "dev.rustedu.0.completions"), 0, "never delivered");
    k.take_violations();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn attach_reads_the_identity_from_configuration_space() {
    // Attach compares pci_read_config's vendor, device and class with the
    // ivars: a wrong width, offset or kobj dispatch fails the attach (or
    // is a violation of the test kernel's pci_read_config_method).
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
    assert_eq!(k.pci_config_read(slot, 0x00, 4), Some(0x11e8_1234));
    assert_eq!(k.pci_config_read(slot, 0x0b, 1), Some(0xff));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_message_to_an_address_the_bus_did_not_program_is_reported() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    // Someone rewrites the message data behind the bus's back: the
    // message now goes to another vector.
    assert!(k.pci_config_write(slot, MSI_CAP + 0x0c, 2, 0x99));
    assert!(k.pci_edu_raise(slot, 0x0100_0000));
    let end = Instant::now() + Duration::from_secs(10);
    while !k
        .violations()
        .iter()
        .any(|v| v.message.contains("MSI message to 0xfee00000 data 0x99"))
    {
        assert!(Instant::now() < end, "never reported: {:?}", k.violations());
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(uint(&k, "dev.rustedu.0.interrupts"), 0, "not delivered");
    k.take_violations();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

/// Messages to one vector coalesce (the local APIC's request bit; the
/// test kernel's `pending_interrupts` says where FreeBSD does it), so a
/// storm cannot build a backlog: four threads each raise their own bit
/// again as soon as a filter acknowledged it (a filter acknowledges
/// every bit it reads, so one message frees up to four raises) and one
/// asserts the interrupt spuriously. With one filter call per message
/// the messages queued faster than the interrupt thread ran filters, and
/// after the storm it kept running filters on the backlog for seconds:
/// the raised bits were acknowledged late, as if an interrupt was lost.
#[test]
fn a_raise_storm_on_msi_coalesces_and_leaves_no_backlog() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert!(msi_enabled(&k, slot));
    let stop = Arc::new(AtomicBool::new(false));
    let (raised, strays) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut hs = Vec::new();
    for j in 0..4 {
        let (k, stop, raised) = (k.clone(), Arc::clone(&stop), Arc::clone(&raised));
        // Above the factorial (0x1) and DMA (0x100) bits.
        let bit = 0x1000u32 << j;
        hs.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                assert!(k.pci_edu_raise(slot, bit));
                raised.fetch_add(1, Ordering::Relaxed);
                let end = Instant::now() + Duration::from_secs(5);
                while k.pci_edu_irq_status(slot).unwrap() & bit != 0 {
                    assert!(Instant::now() < end, "raise of {bit:#x} never acknowledged");
                    std::thread::yield_now();
                }
            }
        }));
    }
    {
        let (k, stop, strays) = (k.clone(), Arc::clone(&stop), Arc::clone(&strays));
        hs.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                assert!(k.pci_intr_stray(slot));
                strays.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(50));
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().unwrap();
    }
    let (raised, strays) = (
        raised.load(Ordering::Relaxed),
        strays.load(Ordering::Relaxed),
    );
    // No backlog: the interrupt thread is idle at once, every stray
    // delivered, and never more filter calls than raises and strays.
    let end = Instant::now() + Duration::from_millis(500);
    loop {
        let before = k.intr_stats();
        std::thread::sleep(Duration::from_millis(20));
        let s = k.intr_stats();
        if s == before && s.filters >= strays && k.pci_edu_irq_status(slot) == Some(0) {
            assert!(
                s.filters <= raised + strays,
                "{s:?}: {raised} raised, {strays} strays"
            );
            assert_eq!(s.filters, s.handled + s.stray);
            break;
        }
        assert!(
            Instant::now() < end,
            "still busy after the storm: {s:?} ({raised} raised, {strays} strays)"
        );
    }
    assert_eq!(
        uint(&k, "dev.rustedu.0.interrupts") + uint(&k, "dev.rustedu.0.stray"),
        k.intr_stats().filters
    );
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
