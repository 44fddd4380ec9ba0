// SPDX-License-Identifier: BSD-2-Clause
//! The amd64 layouts and numbers that kobj method dispatch relies on, as
//! FreeBSD's `sys/sys/kobj.h`, `sys/sys/bus.h` and `sys/dev/pci/pcivar.h`
//! define them, checked against what bindgen read from the headers.
//!
//! An inline `DEVICE_PROBE(dev)` (from `device_if.h`) loads `dev`'s first
//! word as its `kobj_ops`, indexes the method cache with the descriptor's
//! `id` masked by `KOBJ_CACHE_SIZE - 1`, compares the entry's `desc`, calls
//! `kobj_lookup_method(ops->cls, ...)` on a miss and calls the entry's
//! `func`. The test kernel's kobj emulation lays its objects out by these
//! numbers, so they are written here as numbers, not as `size_of` of
//! themselves.

use core::mem::{offset_of, size_of};

#[test]
fn a_kobj_starts_with_its_ops() {
    assert_eq!(offset_of!(sys::kobj, ops), 0);
    assert_eq!(size_of::<sys::kobj>(), 8);
}

#[test]
fn kobj_ops_is_the_method_cache_then_the_class() {
    assert_eq!(sys::KOBJ_CACHE_SIZE, 256);
    assert_eq!(offset_of!(sys::kobj_ops, cache), 0);
    assert_eq!(offset_of!(sys::kobj_ops, cls), 256 * 8);
    assert_eq!(size_of::<sys::kobj_ops>(), 257 * 8);
}

#[test]
fn a_method_descriptor_is_its_id_then_its_default() {
    assert_eq!(offset_of!(sys::kobjop_desc, id), 0);
    assert_eq!(offset_of!(sys::kobjop_desc, deflt), 8);
    assert_eq!(size_of::<sys::kobjop_desc>(), 24);
}

#[test]
fn a_method_is_its_descriptor_then_its_function() {
    assert_eq!(offset_of!(sys::kobj_method, desc), 0);
    assert_eq!(offset_of!(sys::kobj_method, func), 8);
    assert_eq!(size_of::<sys::kobj_method>(), 16);
}

#[test]
fn a_class_is_name_methods_size_bases_refs_ops() {
    assert_eq!(offset_of!(sys::kobj_class, name), 0);
    assert_eq!(offset_of!(sys::kobj_class, methods), 8);
    assert_eq!(offset_of!(sys::kobj_class, size), 16);
    assert_eq!(offset_of!(sys::kobj_class, baseclasses), 24);
    assert_eq!(offset_of!(sys::kobj_class, refs), 32);
    assert_eq!(offset_of!(sys::kobj_class, ops), 40);
    assert_eq!(size_of::<sys::kobj_class>(), 48);
}

#[test]
fn driver_module_data_is_what_driver_module_handler_reads() {
    assert_eq!(offset_of!(sys::driver_module_data, dmd_chainevh), 0);
    assert_eq!(offset_of!(sys::driver_module_data, dmd_chainarg), 8);
    assert_eq!(offset_of!(sys::driver_module_data, dmd_busname), 16);
    assert_eq!(offset_of!(sys::driver_module_data, dmd_driver), 24);
    assert_eq!(offset_of!(sys::driver_module_data, dmd_devclass), 32);
    assert_eq!(offset_of!(sys::driver_module_data, dmd_pass), 40);
    assert_eq!(size_of::<sys::driver_module_data>(), 48);
}

#[test]
fn pci_ivars_are_numbered_as_freebsd_numbers_them() {
    let ivars = [
        sys::PCI_IVAR_SUBVENDOR,
        sys::PCI_IVAR_SUBDEVICE,
        sys::PCI_IVAR_VENDOR,
        sys::PCI_IVAR_DEVICE,
        sys::PCI_IVAR_DEVID,
        sys::PCI_IVAR_CLASS,
        sys::PCI_IVAR_SUBCLASS,
        sys::PCI_IVAR_PROGIF,
        sys::PCI_IVAR_REVID,
        sys::PCI_IVAR_INTPIN,
        sys::PCI_IVAR_IRQ,
        sys::PCI_IVAR_DOMAIN,
        sys::PCI_IVAR_BUS,
        sys::PCI_IVAR_SLOT,
        sys::PCI_IVAR_FUNCTION,
        sys::PCI_IVAR_ETHADDR,
        sys::PCI_IVAR_CMDREG,
        sys::PCI_IVAR_CACHELNSZ,
        sys::PCI_IVAR_MINGNT,
        sys::PCI_IVAR_MAXLAT,
        sys::PCI_IVAR_LATTIMER,
    ];
    for (expected, ivar) in (0..).zip(ivars) {
        assert_eq!(ivar, expected);
    }
}

#[test]
fn resource_and_probe_numbers() {
    assert_eq!(sys::SYS_RES_IRQ, 1);
    assert_eq!(sys::SYS_RES_MEMORY, 3);
    assert_eq!(sys::SYS_RES_IOPORT, 4);
    assert_eq!(sys::RF_ACTIVE, 0x2);
    assert_eq!(sys::RF_SHAREABLE, 0x4);
    assert_eq!(sys::BUS_PROBE_DEFAULT, -20);
    assert_eq!(sys::FILTER_STRAY, 0x01);
    assert_eq!(sys::FILTER_HANDLED, 0x02);
    assert_eq!(sys::FILTER_SCHEDULE_THREAD, 0x04);
}
