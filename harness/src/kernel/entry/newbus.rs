// SPDX-License-Identifier: BSD-2-Clause
//! The newbus entry points: `driver_module_handler` (DRIVER_MODULE's
//! module handler), `kobj_lookup_method` (the inline dispatch's cache
//! miss), the `device_*` accessors (`device_set_desc_copy` too), `bus_alloc_resource`,
//! `bus_release_resource`, `rman_get_size`, and the methods of `pci0`'s
//! class that module code reaches through kobj (`pci_read_ivar`). The
//! work is in [`crate::kpi::newbus`], which cites FreeBSD's sources.

use super::{FuncEntry, KernelInner, kernel};
use crate::addr::KAddr;
use crate::errno::Errno;
use crate::kpi::newbus::{Call, Descs};
use crate::state::{DataSym, ViolationKind};
use crate::thread;
use core::ffi::{c_char, c_int, c_void};

pub(super) fn functions(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "driver_module_handler" => harness_driver_module_handler,
        "kobj_lookup_method" => harness_kobj_lookup_method,
        "device_get_parent" => harness_device_get_parent,
        "device_get_softc" => harness_device_get_softc,
        "device_get_unit" => harness_device_get_unit,
        "device_set_desc" => harness_device_set_desc,
        "device_set_desc_copy" => harness_device_set_desc_copy,
        "bus_alloc_resource" => harness_bus_alloc_resource,
        "bus_release_resource" => harness_bus_release_resource,
        "rman_get_size" => harness_rman_get_size,
        "bus_setup_intr" => harness_bus_setup_intr,
        "bus_teardown_intr" => harness_bus_teardown_intr,
    ]);
}

/// Functions module code reaches through pointers the kernel gives it.
pub(super) fn by_pointer(v: &mut Vec<FuncEntry>) {
    v.extend_from_slice(&kfuncs![
        "(pci_read_ivar)" => harness_pci_read_ivar,
        "(kobj_error_method)" => harness_kobj_error_method,
    ]);
}

/// Sets up `pci0` and the descriptors' ids and defaults for a new kernel.
pub(in crate::kernel) fn init(k: &KernelInner) {
    let error =
        super::host_stub(harness_kobj_error_method as *const () as usize).map_or(0, KAddr::get);
    for (i, sym) in [
        DataSym::DeviceProbeDesc,
        DataSym::DeviceAttachDesc,
        DataSym::DeviceDetachDesc,
        DataSym::BusReadIvarDesc,
    ]
    .into_iter()
    .enumerate()
    {
        let d = k.core.data_addr(sym);
        let p = d.ptr::<[u64; 3]>();
        // CAST: small index, and addresses as the words C stores.
        let words = [i as u64 + 1, d.get() as u64, error as u64];
        // SAFETY: the descriptor's three words in the kernel's data
        // block (state::kdata): id (kobj_register_method numbers them from
        // 1), then the default method `{&desc, kobj_error_method}`.
        unsafe { p.write(words) };
    }
    let read_ivar =
        super::host_stub(harness_pci_read_ivar as *const () as usize).map_or(0, KAddr::get);
    k.newbus
        .init(k.core.data_addr(DataSym::BusReadIvarDesc).get(), read_ivar);
}

/// The descriptors of the device interface.
fn descs(k: &KernelInner) -> Descs {
    Descs {
        probe: k.core.data_addr(DataSym::DeviceProbeDesc).get(),
        attach: k.core.data_addr(DataSym::DeviceAttachDesc).get(),
        detach: k.core.data_addr(DataSym::DeviceDetachDesc).get(),
    }
}

/// Calls into the module for newbus.
struct Host<'a>(&'a KernelInner);

impl Call for Host<'_> {
    fn call(&self, func: usize, args: [u64; 6]) -> Option<u64> {
        // SAFETY: a device method of the module's class, `int (*)(device_t)`,
        // called with the device.
        unsafe { thread::call(&self.0.core, None, KAddr::new(func), args) }.ok()
    }

    fn console(&self, s: &str) {
        self.0.core.console(s);
    }

    fn violation(&self, s: String) {
        self.0.core.violation(ViolationKind::Devfs, s);
    }

    fn dma_leaks(&self, dev: usize) -> Vec<String> {
        self.0.busdma.leaks(dev)
    }
}

/// `driver_module_handler(mod, what, arg)`.
///
/// # Safety
/// `arg` must be the module's `struct driver_module_data`.
unsafe extern "C" fn harness_driver_module_handler(
    _module: *mut c_void,
    what: c_int,
    arg: *const sys::driver_module_data,
) -> c_int {
    let k = kernel();
    // SAFETY: by the caller's contract.
    let dmd = unsafe { &*arg };
    let class = dmd.dmd_driver as usize;
    if class == 0 {
        return Errno::EINVAL.0;
    }
    let host = Host(k);
    let r = match u32::try_from(what) {
        Ok(sys::MOD_LOAD) => k.newbus.add_driver(&host, class, descs(k)),
        Ok(sys::MOD_UNLOAD) => k.newbus.delete_driver(&host, class, descs(k)),
        Ok(sys::MOD_QUIESCE | sys::MOD_SHUTDOWN) => 0,
        _ => Errno::EOPNOTSUPP.0,
    };
    if k.core.is_dead() {
        thread::escape();
    }
    r
}

/// `kobj_lookup_method(cls, cep, desc)`.
extern "C" fn harness_kobj_lookup_method(cls: usize, cep: *mut usize, desc: usize) -> usize {
    crate::kpi::newbus::kobj_lookup_method(cls, cep, desc)
}

/// `kobj_error_method`: the default of methods without one.
extern "C" fn harness_kobj_error_method() -> c_int {
    Errno::ENXIO.0
}

/// `pci_read_ivar(dev, child, index, result)`: `pci0`'s `bus_read_ivar`.
///
/// # Safety
/// `result` must be writable.
unsafe extern "C" fn harness_pci_read_ivar(
    dev: usize,
    child: usize,
    index: c_int,
    result: *mut u64,
) -> c_int {
    match kernel().newbus.read_ivar(dev, child, index) {
        Ok(v) => {
            // SAFETY: by the caller's contract.
            unsafe { result.write(v) };
            0
        }
        Err(e) => e,
    }
}

/// `device_get_parent(dev)`.
extern "C" fn harness_device_get_parent(dev: usize) -> usize {
    kernel().newbus.parent(dev)
}

/// `device_get_softc(dev)`.
extern "C" fn harness_device_get_softc(dev: usize) -> usize {
    kernel().newbus.softc(dev)
}

/// `device_get_unit(dev)`.
extern "C" fn harness_device_get_unit(dev: usize) -> c_int {
    kernel().newbus.unit(dev)
}

/// `device_set_desc(dev, desc)`: the string is kept, not copied.
extern "C" fn harness_device_set_desc(dev: usize, desc: *const c_char) {
    kernel().newbus.set_desc(dev, desc as usize);
}

/// `device_set_desc_copy(dev, desc)`: the string is copied.
extern "C" fn harness_device_set_desc_copy(dev: usize, desc: *const c_char) {
    kernel().newbus.set_desc_copy(dev, desc as usize);
}

/// `bus_alloc_resource(dev, type, rid, start, end, count, flags)`.
///
/// # Safety
/// `rid` must point to an int.
unsafe extern "C" fn harness_bus_alloc_resource(
    dev: usize,
    ty: c_int,
    rid: *mut c_int,
    _start: u64,
    _end: u64,
    _count: u64,
    flags: u32,
) -> usize {
    if rid.is_null() {
        return 0;
    }
    // SAFETY: by the caller's contract.
    let r = unsafe { rid.read() };
    kernel().newbus.alloc_resource(dev, ty, r, flags)
}

/// `bus_release_resource(dev, r)`.
extern "C" fn harness_bus_release_resource(dev: usize, r: usize) -> c_int {
    kernel().newbus.release_resource(dev, r)
}

/// `rman_get_size(r)`.
extern "C" fn harness_rman_get_size(r: usize) -> u64 {
    kernel().newbus.resource_size(r)
}

/// `bus_setup_intr(dev, r, flags, filter, ithread, arg, cookiep)`.
///
/// # Safety
/// `cookiep` must point to a writable pointer.
unsafe extern "C" fn harness_bus_setup_intr(
    dev: usize,
    r: usize,
    _flags: c_int,
    filter: usize,
    ithread: usize,
    arg: usize,
    cookiep: *mut usize,
) -> c_int {
    if cookiep.is_null() {
        return Errno::EINVAL.0;
    }
    let k = kernel();
    // bus_setup_intr allocates the handler with M_WAITOK
    // (intr_event_add_handler, sys/kern/kern_intr.c): it may sleep.
    crate::thread::witness::check_may_sleep(&k.core, "bus_setup_intr");
    match k.newbus.setup_intr(dev, r, filter, ithread, arg) {
        Ok(c) => {
            // SAFETY: by the caller's contract.
            unsafe { cookiep.write(c) };
            0
        }
        Err(e) => e,
    }
}

/// `bus_teardown_intr(dev, r, cookie)`: waits for a running handler.
extern "C" fn harness_bus_teardown_intr(dev: usize, r: usize, cookie: usize) -> c_int {
    let k = kernel();
    crate::thread::witness::check_may_sleep(&k.core, "bus_teardown_intr");
    k.newbus.teardown_intr(dev, r, cookie)
}
