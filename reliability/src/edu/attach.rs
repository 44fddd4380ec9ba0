// SPDX-License-Identifier: BSD-2-Clause
//! The attach fault sweep: each call of `rustedu`'s attach that can fail
//! fails in turn.
//!
//! A clean load is run first with the test kernel's call-order injector
//! counting ([`harness::Kernel::fail_injectable`] with 0): the list of
//! the injectable calls it made (`bus_alloc_resource` for BAR 0 and the
//! IRQ, `bus_setup_intr`, each `M_NOWAIT` malloc, each
//! `sysctl_add_oid`, and whatever the driver and the harness add later:
//! MSI, `bus_dma`, the cdev) is the list of steps. Then, for each k, a
//! fresh kernel fails the k-th call of the load, and:
//!
//! - the calls before it are the clean load's (the attach is
//!   deterministic), so the k-th is the step named;
//! - the module loads, and the attach returns the errno the failed call
//!   maps to (`device_attach: rustedu0 attach returned E`): `ENOMEM` for
//!   a malloc or `bus_setup_intr`, `ENXIO` for a resource, `EEXIST` for
//!   a sysctl node (a kind this list does not know yet: any errno);
//! - the device stays unattached and holds no resource, no `dev.rustedu`
//!   node is left, the module's malloc type holds nothing;
//! - the unload leaves the kernel as it was before the load (malloc
//!   statistics of every type, devices, sysctl nodes, files) and the
//!   kernel recorded no violation (a handler left set up, a leak at
//!   `malloc_uninit`);
//! - a later load attaches and computes a factorial.
//!
//! The sweep runs twice: with MSI unavailable (INTx only: every failure
//! fails the attach) and with MSI available. There, rustedu falls back
//! to INTx when `pci_alloc_msi` or the MSI's `bus_alloc_resource` fails,
//! as FreeBSD drivers do: such a step may end attached, but only on the
//! legacy line with no message left allocated, working, and leaving the
//! kernel as it was at unload. A failed `pci_alloc_msi` itself (its own
//! knob, [`harness::Kernel::fail_pci_alloc_msi`]) is swept too.
//!
//! `M_WAITOK` allocations never fail (FreeBSD's `malloc`,
//! `sys/kern/kern_malloc.c`; issue #15), so the injector does not count
//! them.

use super::{MALLOC_TYPE, World, absorb, attached, check_works, finish, live_allocs, load};
use crate::Params;
use crate::tally::Tally;
use harness::{Errno, Injectable, Kernel};
use std::collections::BTreeMap;

/// The errno an attach returns when `call` fails, if this list knows.
fn errno_of(call: Injectable) -> Option<Errno> {
    match call {
        Injectable::MallocNowait | Injectable::BusSetupIntr => Some(Errno::ENOMEM),
        Injectable::BusAllocResource => Some(Errno::ENXIO),
        Injectable::SysctlAddOid | Injectable::MakeDevCheckname => Some(Errno::EEXIST),
        _ => None,
    }
}

/// The errno of `device_attach: rustedu0 attach returned E` in the log.
fn attach_errno(k: &Kernel) -> Option<i32> {
    let dmesg = k.dmesg();
    dmesg.lines().find_map(|l| {
        l.strip_prefix("device_attach: rustedu0 attach returned ")
            .and_then(|e| e.trim().parse().ok())
    })
}

/// A kernel with one edu device, MSI available or not.
fn kernel(msi: bool) -> (Kernel, u8) {
    let (k, slot) = super::kernel();
    assert!(k.pci_set_msi_off(slot, !msi), "no device in slot {slot}");
    (k, slot)
}

/// A failed step that ended attached: allowed only as the INTx
/// fallback of an MSI attach (no message allocated), and the device
/// must work and unload cleanly.
fn check_fallback(t: &Tally, k: &Kernel, slot: u8, msi: bool, what: &str) -> bool {
    if !attached(k, 0) {
        return false;
    }
    assert!(msi, "{what}: attached\n{}", k.dmesg());
    assert_eq!(
        k.pci_msi_allocated(slot),
        Some(0),
        "{what}: attached, but not on the INTx fallback\n{}",
        k.dmesg()
    );
    check_works(t, k, 6, what);
    true
}

/// A clean load with the injector counting: the injectable calls of the
/// load.
fn clean_run(t: &Tally, msi: bool) -> Vec<Injectable> {
    let (k, _) = kernel(msi);
    k.fail_injectable(0);
    let id = load(t, &k);
    let calls = k.injectable_calls();
    assert!(attached(&k, 0), "a clean load attaches\n{}", k.dmesg());
    check_works(t, &k, 5, "clean load");
    finish(t, &k, id);
    calls
}

/// Fails the `n`-th injectable call of the load (`call` in the clean
/// run), checks the unwinding, then that a later load works.
fn fail_step(t: &Tally, clean: &[Injectable], n: usize, msi: bool) {
    let call = clean[n - 1];
    let what = format!("step {n} ({call}, MSI {})", if msi { "on" } else { "off" });
    let (k, slot) = kernel(msi);
    let before = World::capture(&k);
    k.fail_injectable(u64::try_from(n).unwrap_or(u64::MAX));
    let r = k.kldload(harness::testing::module_path(super::MODULE));
    let seen = k.injectable_calls();
    t.op(&r);
    t.faults(1);
    assert_eq!(
        seen.get(..n),
        clean.get(..n),
        "{what}: the load made other calls than the clean one"
    );
    // driver_module_handler ignores a failed attach: the module loads.
    let id = r.unwrap_or_else(|e| panic!("{what}: kldload: {e:?}\n{}", k.dmesg()));
    if check_fallback(t, &k, slot, msi, &what) {
        unload_unchanged(t, &k, id, &before, &what);
        return;
    }
    let errno = attach_errno(&k)
        .unwrap_or_else(|| panic!("{what}: no failed attach in the log\n{}", k.dmesg()));
    match errno_of(call) {
        Some(want) => assert_eq!(errno, want.0, "{what}: attach returned {errno}"),
        None => assert_ne!(errno, 0, "{what}"),
    }
    t.error(&Errno(errno).into());
    let devs = k.pci_devices();
    assert_eq!(devs[0].resources, 0, "{what}: resources left held");
    assert!(
        k.sysctl_get(&format!("dev.{}", super::DRIVER)).is_err(),
        "{what}: dev.rustedu left"
    );
    assert_eq!(live_allocs(&k), 0, "{what}: {MALLOC_TYPE} memory left");
    unload_unchanged(t, &k, id, &before, &what);
}

/// Unloads `id`, checks the kernel is as `before` the load, then that a
/// later load attaches and works.
fn unload_unchanged(t: &Tally, k: &Kernel, id: i32, before: &World, what: &str) {
    let r = k.kldunload(id, false);
    t.op(&r);
    r.unwrap_or_else(|e| panic!("{what}: kldunload: {e:?}"));
    let after = World::capture(k);
    if after.kernel_allocs != before.kernel_allocs {
        t.leak(1);
    }
    assert_eq!(&after, before, "{what}: the load and unload kept something");
    absorb(t, k);
    // A later load attaches and works.
    let id = load(t, k);
    assert!(attached(k, 0), "{what}: the next load did not attach");
    check_works(t, k, 7, what);
    finish(t, k, id);
}

/// `pci_alloc_msi` fails: the attach falls back to INTx.
fn fail_alloc_msi(t: &Tally) {
    let what = "pci_alloc_msi";
    let (k, slot) = kernel(true);
    let before = World::capture(&k);
    k.fail_pci_alloc_msi(1);
    t.faults(1);
    let id = load(t, &k);
    assert!(
        check_fallback(t, &k, slot, true, what),
        "{what}: not attached\n{}",
        k.dmesg()
    );
    unload_unchanged(t, &k, id, &before, what);
}

/// The scenario.
///
/// # Panics
/// On the first failed check.
pub fn run(_p: &Params, t: &Tally) {
    let clean = clean_run(t, false);
    for must in [
        Injectable::BusAllocResource,
        Injectable::BusSetupIntr,
        Injectable::SysctlAddOid,
    ] {
        assert!(
            clean.contains(&must),
            "the clean attach made no {must}: {clean:?}"
        );
    }
    for n in 1..=clean.len() {
        fail_step(t, &clean, n, false);
    }
    let clean_msi = clean_run(t, true);
    for n in 1..=clean_msi.len() {
        fail_step(t, &clean_msi, n, true);
    }
    fail_alloc_msi(t);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for c in &clean {
        *kinds.entry(c.to_string()).or_default() += 1;
    }
    let list = kinds
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    t.note(format!(
        "edu-attach: each of the {} injectable calls of an INTx load ({list}) and of the {} \
         of an MSI load, and pci_alloc_msi, failed in turn; each time the attach returned its \
         errno or fell back to INTx, nothing was kept, and the next load worked (M_WAITOK \
         allocations never fail, as in FreeBSD)",
        clean.len(),
        clean_msi.len()
    ));
}
