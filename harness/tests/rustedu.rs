// SPDX-License-Identifier: BSD-2-Clause
//! `rustedu.ko`: the newbus PCI driver for QEMU's edu device, on the built
//! `.ko`, against the edu model on the test kernel's `pci0`.
//!
//! Probe and attach at load (DRIVER_MODULE through driver_module_handler,
//! pci_get_vendor/device through the module's inline kobj dispatch), the
//! identification and liveness registers through trapped MMIO, the
//! factorial register, detach at unload, and every attach step failing in
//! turn with nothing leaked. The interrupt: the completion interrupt of a
//! factorial and one raised through the raise register (0x60) are
//! acknowledged by the filter and counted; a failing IRQ allocation or
//! `bus_setup_intr` unwinds the attach; detach tears the handler down
//! (the test kernel reports a handler left set up at detach). The
//! call-order injector counts attach's failure points and fails the n-th;
//! a stray interrupt (the line asserted, the status clear) is counted as
//! one; a sysctl write racing the unload never runs the unloaded handler.

use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel, SysctlValue};
use std::time::{Duration, Instant};

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

#[test]
fn attaches_to_the_edu_device_and_detaches_at_unload() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    let dmesg = k.dmesg();
    assert!(
        dmesg.contains(&format!(
            "rustedu0: <QEMU edu device> mem 0xfe400000-0xfe4fffff at device {slot}.0 on pci0\n"
        )),
        "{dmesg}"
    );
    // The identification register read through the BAR: edu 1.0.
    assert!(
        dmesg.contains("rustedu0: edu 1.0, liveness ok\n"),
        "{dmesg}"
    );
    let devs = k.pci_devices();
    assert_eq!(devs[0].name.as_deref(), Some("rustedu0"));
    assert_eq!(devs[0].desc.as_deref(), Some("QEMU edu device"));
    assert_eq!(
        devs[0].resources, 2,
        "BAR 0 and the IRQ are held while attached"
    );
    k.kldunload(id, false).unwrap();
    let devs = k.pci_devices();
    assert_eq!(devs[0].name, None, "detached");
    assert_eq!(devs[0].resources, 0, "BAR 0 released");
    assert!(k.sysctl_get("dev.rustedu.0.result").is_err());
    k.check().unwrap();
}

#[test]
fn without_a_device_nothing_attaches() {
    let k = Kernel::new();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert!(!k.dmesg().contains("rustedu0"), "{}", k.dmesg());
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn computes_factorials_on_the_device() {
    let k = Kernel::new();
    k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    for (n, f) in [
        (0u64, 1u64),
        (1, 1),
        (5, 120),
        (10, 3_628_800),
        (12, 479_001_600),
    ] {
        k.sysctl_set("dev.rustedu.0.factorial", &n.to_string())
            .unwrap();
        assert_eq!(uint(&k, "dev.rustedu.0.result"), f, "{n}!");
    }
    // 13! does not fit the 32-bit register: refused, result unchanged.
    let e = k.sysctl_set("dev.rustedu.0.factorial", "13").unwrap_err();
    assert_eq!(e, Errno::EINVAL);
    assert_eq!(uint(&k, "dev.rustedu.0.result"), 479_001_600);
    assert_eq!(uint(&k, "dev.rustedu.0.timeouts"), 0);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

/// Writes `n` to `dev.rustedu.0.factorial` from another thread and lets
/// virtual time pass (a second at a time) until the write returns.
fn timed_write(k: &std::sync::Arc<Kernel>, n: u64) -> harness::SysResult<()> {
    let k2 = std::sync::Arc::clone(k);
    let h = std::thread::spawn(move || k2.sysctl_set("dev.rustedu.0.factorial", &n.to_string()));
    while !h.is_finished() {
        if k.sleepers().iter().any(|s| s.wmesg == "edufac") {
            k.advance_clock(Duration::from_secs(1));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    h.join().unwrap()
}

#[test]
fn a_hung_device_times_out_and_is_not_written_while_busy() {
    let k = std::sync::Arc::new(Kernel::new());
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    k.sysctl_set("dev.rustedu.0.factorial", "3").unwrap();
    assert!(k.pci_edu_hang(slot, true));
    assert_eq!(timed_write(&k, 4).unwrap_err(), Errno::ETIMEDOUT);
    assert_eq!(uint(&k, "dev.rustedu.0.timeouts"), 1);
    // Still computing: the next writer waits for that computation as long
    // as for its own, then refuses rather than overwrite the operand (the
    // model would report that write as a violation).
    assert_eq!(timed_write(&k, 5).unwrap_err(), Errno::EBUSY);
    assert_eq!(uint(&k, "dev.rustedu.0.timeouts"), 1);
    assert_eq!(uint(&k, "dev.rustedu.0.result"), 6);
    assert_eq!(uint(&k, "dev.rustedu.0.factorial"), 6);
    // Revived: the next writer sees the leftover computation finish (its
    // completion interrupt), then computes its own.
    assert!(k.pci_edu_hang(slot, false));
    k.sysctl_set("dev.rustedu.0.factorial", "5").unwrap();
    assert_eq!(uint(&k, "dev.rustedu.0.result"), 120);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn two_devices_get_two_units() {
    let k = Kernel::new();
    k.pci_add_edu();
    k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    let names: Vec<_> = k.pci_devices().into_iter().map(|d| d.name).collect();
    assert_eq!(names, [Some("rustedu0".into()), Some("rustedu1".into())]);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_failed_bus_alloc_resource_fails_the_attach_cleanly() {
    let k = Kernel::new();
    k.pci_add_edu();
    k.fail_bus_alloc_resource(1);
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert!(
        k.dmesg()
            .contains("device_attach: rustedu0 attach returned 6\n"),
        "ENXIO: {}",
        k.dmesg()
    );
    let devs = k.pci_devices();
    assert_eq!(devs[0].name, None, "the device stays unattached");
    assert_eq!(devs[0].resources, 0);
    k.kldunload(id, false).unwrap();
    // A later load attaches.
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn every_failing_allocation_of_attach_unwinds_with_nothing_leaked() {
    for n in 1..100u64 {
        let k = Kernel::new();
        k.pci_add_edu();
        k.set_malloc_failures(FailPolicy::NthFromNow(n));
        let id = k.kldload(module_path("rustedu")).unwrap();
        k.set_malloc_failures(FailPolicy::Never);
        let attached = k.pci_devices()[0].name.is_some();
        if attached {
            k.kldunload(id, false).unwrap();
            k.check().unwrap();
            assert!(n > 1, "attach allocates");
            return;
        }
        assert!(
            k.dmesg()
                .contains("device_attach: rustedu0 attach returned 12\n"),
            "allocation {n}: {}",
            k.dmesg()
        );
        assert_eq!(
            k.pci_devices()[0].resources,
            0,
            "allocation {n}: BAR 0 released"
        );
        k.kldunload(id, false).unwrap();
        // Nothing leaked (malloc_uninit checks the module's type).
        k.check().unwrap();
    }
    panic!("attach never succeeded");
}

#[test]
fn kldsim_puts_edu_on_pci0_and_devinfo_shows_the_driver() {
    let dir = harness::testing::build_dir();
    assert!(module_path("rustedu").is_file());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kldsim"))
        .current_dir(&dir)
        .args([
            "--pci",
            "edu",
            "-c",
            "devinfo -v; kldload ./rustedu.ko; devinfo; sysctl dev.rustedu.0.factorial=10; \
             sysctl dev.rustedu.0.result; kldunload rustedu; devinfo",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        out,
        "nexus0\n  pci0\n    unknown pnpinfo vendor=0x1234 device=0x11e8 subvendor=0x1af4 \
         subdevice=0x1100 class=0xff0000 at slot=4 function=0 dbsf=pci0:0:4:0\n\
         nexus0\n  pci0\n    rustedu0\n\
         dev.rustedu.0.factorial: 0 -> 3628800\n\
         dev.rustedu.0.result: 3628800\n\
         nexus0\n  pci0\n"
    );
}

#[test]
fn a_factorial_completion_interrupt_is_acknowledged_and_counted() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(uint(&k, "dev.rustedu.0.interrupts"), 0);
    k.sysctl_set("dev.rustedu.0.factorial", "6").unwrap();
    assert_eq!(uint(&k, "dev.rustedu.0.result"), 720);
    // Status bit 0x80 was set: completion raised 0x01.
    eventually("the completion interrupt", || {
        uint(&k, "dev.rustedu.0.interrupts") == 1
    });
    assert_eq!(k.pci_edu_irq_status(slot), Some(0), "acknowledged");
    // The filter scheduled the ithread handler, which took the mutex.
    eventually("the ithread handler", || {
        uint(&k, "dev.rustedu.0.completions") == 1
    });
    k.sysctl_set("dev.rustedu.0.factorial", "3").unwrap();
    eventually("a second completion", || {
        uint(&k, "dev.rustedu.0.completions") == 2
    });
    assert_eq!(uint(&k, "dev.rustedu.0.stray"), 0);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn an_interrupt_raised_through_the_raise_register_is_acknowledged_and_counted() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    for n in 1..=3u64 {
        assert!(k.pci_edu_raise(slot, 0x0100_0000));
        eventually("the filter ran", || {
            uint(&k, "dev.rustedu.0.interrupts") == n
        });
        eventually("acknowledged", || k.pci_edu_irq_status(slot) == Some(0));
    }
    // Not a completion: the filter handled it alone.
    assert_eq!(uint(&k, "dev.rustedu.0.completions"), 0);
    k.kldunload(id, false).unwrap();
    // Torn down at detach: a handler left would be a violation here.
    k.check().unwrap();
    // And no longer called: the device's line goes nowhere.
    assert!(k.pci_edu_raise(slot, 0x1));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(k.pci_edu_irq_status(slot), Some(0x1), "nobody acknowledges");
    k.check().unwrap();
}

#[test]
fn a_failed_irq_allocation_or_setup_fails_the_attach_cleanly() {
    for (what, errno) in [("irq", 6), ("setup", 12)] {
        let k = Kernel::new();
        let slot = k.pci_add_edu();
        // INTx only: a failing MSI resource falls back to INTx
        // (tests/rustedu_pci.rs).
        k.pci_set_msi_off(slot, true);
        if what == "irq" {
            // BAR 0 is the first allocation, the IRQ the second.
            k.fail_bus_alloc_resource(2);
        } else {
            k.fail_bus_setup_intr(1);
        }
        let id = k.kldload(module_path("rustedu")).unwrap();
        assert!(
            k.dmesg().contains(&format!(
                "device_attach: rustedu0 attach returned {errno}\n"
            )),
            "{what}: {}",
            k.dmesg()
        );
        let devs = k.pci_devices();
        assert_eq!(devs[0].name, None, "{what}: unattached");
        assert_eq!(devs[0].resources, 0, "{what}: BAR 0 and the IRQ released");
        k.kldunload(id, false).unwrap();
        k.check().unwrap();
        let id = k.kldload(module_path("rustedu")).unwrap();
        assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
        k.kldunload(id, false).unwrap();
        k.check().unwrap();
    }
}

#[test]
fn the_injector_counts_the_attach_steps_and_fails_the_nth() {
    use harness::Injectable;
    let k = Kernel::new();
    k.pci_add_edu();
    k.fail_injectable(0);
    let id = k.kldload(module_path("rustedu")).unwrap();
    let calls = k.injectable_calls();
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
    let count = |c: Injectable| calls.iter().filter(|&&x| x == c).count();
    assert_eq!(
        count(Injectable::BusAllocResource),
        2,
        "BAR 0, IRQ: {calls:?}"
    );
    assert_eq!(count(Injectable::BusSetupIntr), 1, "{calls:?}");
    assert!(count(Injectable::SysctlAddOid) >= 2, "{calls:?}");
    // Not counting any more: a load now is clean.
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(k.pci_devices()[0].name.as_deref(), Some("rustedu0"));
    k.kldunload(id, false).unwrap();
    // The bus_setup_intr step fails: ENOMEM, as with fail_bus_setup_intr.
    let n = calls
        .iter()
        .position(|&c| c == Injectable::BusSetupIntr)
        .unwrap()
        + 1;
    k.clear_dmesg();
    k.fail_injectable(n as u64);
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert_eq!(k.injectable_calls().len(), n, "nothing after the failure");
    assert!(
        k.dmesg()
            .contains("device_attach: rustedu0 attach returned 12\n"),
        "{}",
        k.dmesg()
    );
    assert_eq!(k.pci_devices()[0].resources, 0);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_stray_interrupt_is_counted_as_stray() {
    let k = Kernel::new();
    let slot = k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    assert!(k.pci_intr_stray(slot));
    eventually("the stray seen", || uint(&k, "dev.rustedu.0.stray") == 1);
    let s = k.intr_stats();
    assert_eq!((s.filters, s.stray, s.handled), (1, 1, 0), "{s:?}");
    assert_eq!(uint(&k, "dev.rustedu.0.interrupts"), 0);
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}

#[test]
fn a_sysctl_write_racing_the_unload_never_runs_an_unloaded_handler() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let k = Kernel::new();
    k.pci_add_edu();
    for _ in 0..50 {
        let id = k.kldload(module_path("rustedu")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (k2, stop2) = (k.clone(), Arc::clone(&stop));
        let writer = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                // Done, gone (ENOENT) or refused; never a panic.
                if let Err(e) = k2.sysctl_set("dev.rustedu.0.factorial", "3") {
                    assert!(e.errno().is_some(), "{e:?}");
                }
            }
        });
        std::thread::sleep(Duration::from_micros(200));
        k.kldunload(id, false).unwrap();
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        k.check().unwrap();
    }
}
