// SPDX-License-Identifier: BSD-2-Clause
//! The newbus entry points: `driver_module_handler` (DRIVER_MODULE's
//! module handler), `kobj_lookup_method` (the inline dispatch's cache
//! miss), the `device_*` accessors (`device_set_desc_copy` too), `bus_alloc_resource`,
//! `bus_release_resource`, `rman_get_size`, and the methods of `pci0`'s
//! class that module code reaches through kobj (`pci_read_ivar`, the
//! configuration space, bus mastering and MSI methods of `pci_if.m`). The
//! work is in [`crate::kpi::newbus`], which cites FreeBSD's sources.

use super::{FuncEntry, KernelInner, kernel};
use crate::addr::KAddr;
use crate::errno::Errno;
use crate::kpi::newbus::{Call, Descs, Devctl};
use crate::state::{DataSym, Injectable, ViolationKind};
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
        "(null_msi_count)" => harness_null_msi_count,
        "(pci_read_config_method)" => harness_pci_read_config,
        "(pci_write_config_method)" => harness_pci_write_config,
        "(pci_enable_busmaster_method)" => harness_pci_enable_busmaster,
        "(pci_disable_busmaster_method)" => harness_pci_disable_busmaster,
        "(pci_msi_count_method)" => harness_pci_msi_count,
        "(pci_alloc_msi_method)" => harness_pci_alloc_msi,
        "(pci_release_msi_method)" => harness_pci_release_msi,
    ]);
}

/// The address of a harness function's call stub (0 if it has none).
fn stub(f: usize) -> usize {
    super::host_stub(f).map_or(0, KAddr::get)
}

/// Sets up `pci0` and the descriptors' ids and defaults for a new kernel.
pub(in crate::kernel) fn init(k: &KernelInner) {
    let error = stub(harness_kobj_error_method as *const () as usize);
    // pci_if.m: msi_count defaults to null_msi_count (0 messages), every
    // other method here to kobj_error_method (ENXIO).
    let null_msi_count = stub(harness_null_msi_count as *const () as usize);
    for (i, sym) in DataSym::KOBJ.into_iter().enumerate() {
        let d = k.core.data_addr(sym);
        let p = d.ptr::<[u64; 3]>();
        let deflt = if sym == DataSym::PciMsiCountDesc {
            null_msi_count
        } else {
            error
        };
        // CAST: small index, and addresses as the words C stores.
        let words = [i as u64 + 1, d.get() as u64, deflt as u64];
        // SAFETY: the descriptor's three words in the kernel's data
        // block (state::kdata): id (kobj_register_method numbers them from
        // 1), then the default method `{&desc, func}`.
        unsafe { p.write(words) };
    }
    let desc = |sym| k.core.data_addr(sym).get();
    // pci0's class: the bus and PCI methods of sys/dev/pci/pci.c's
    // pci_methods that module code reaches.
    let methods = vec![
        (
            desc(DataSym::BusReadIvarDesc),
            stub(harness_pci_read_ivar as *const () as usize),
        ),
        (
            desc(DataSym::PciReadConfigDesc),
            stub(harness_pci_read_config as *const () as usize),
        ),
        (
            desc(DataSym::PciWriteConfigDesc),
            stub(harness_pci_write_config as *const () as usize),
        ),
        (
            desc(DataSym::PciEnableBusmasterDesc),
            stub(harness_pci_enable_busmaster as *const () as usize),
        ),
        (
            desc(DataSym::PciDisableBusmasterDesc),
            stub(harness_pci_disable_busmaster as *const () as usize),
        ),
        (
            desc(DataSym::PciMsiCountDesc),
            stub(harness_pci_msi_count as *const () as usize),
        ),
        (
            desc(DataSym::PciAllocMsiDesc),
            stub(harness_pci_alloc_msi as *const () as usize),
        ),
        (
            desc(DataSym::PciReleaseMsiDesc),
            stub(harness_pci_release_msi as *const () as usize),
        ),
    ];
    k.newbus.init(&methods);
}

/// The descriptors of the device interface.
fn descs(k: &KernelInner) -> Descs {
    Descs {
        probe: k.core.data_addr(DataSym::DeviceProbeDesc).get(),
        attach: k.core.data_addr(DataSym::DeviceAttachDesc).get(),
        detach: k.core.data_addr(DataSym::DeviceDetachDesc).get(),
        suspend: k.core.data_addr(DataSym::DeviceSuspendDesc).get(),
        resume: k.core.data_addr(DataSym::DeviceResumeDesc).get(),
        shutdown: k.core.data_addr(DataSym::DeviceShutdownDesc).get(),
    }
}

/// `devctl(8)`'s `cmd` on device `name` (`DEV_*` of `devctl2_ioctl`):
/// 0 or the errno. Call inside the kernel (`KernelInner::enter`).
pub(in crate::kernel) fn devctl(k: &KernelInner, cmd: Devctl, name: &str) -> c_int {
    k.newbus.devctl(&Host(k), descs(k), cmd, name)
}

/// `bus_generic_shutdown` of `pci0`: the devices whose `DEVICE_SHUTDOWN`
/// failed, with the errno.
pub(in crate::kernel) fn shutdown(k: &KernelInner) -> Vec<(String, c_int)> {
    k.newbus.shutdown(&Host(k), descs(k))
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

/// `null_msi_count` of `pci_if.m`: no MSI messages.
extern "C" fn harness_null_msi_count() -> c_int {
    0
}

/// Reports a newbus violation from a bus method.
fn report(r: Result<(), String>) {
    if let Err(s) = r {
        kernel().core.violation(ViolationKind::Devfs, s);
    }
}

/// `pci_read_config_method(dev, child, reg, width)`.
extern "C" fn harness_pci_read_config(dev: usize, child: usize, reg: c_int, width: c_int) -> u32 {
    match kernel().newbus.read_config(dev, child, reg, width) {
        Ok(v) => v,
        Err(e) => {
            report(Err(e));
            u32::MAX
        }
    }
}

/// `pci_write_config_method(dev, child, reg, val, width)`.
extern "C" fn harness_pci_write_config(
    dev: usize,
    child: usize,
    reg: c_int,
    val: u32,
    width: c_int,
) {
    report(kernel().newbus.write_config(dev, child, reg, val, width));
}

/// `pci_enable_busmaster_method(dev, child)`.
extern "C" fn harness_pci_enable_busmaster(dev: usize, child: usize) -> c_int {
    kernel().newbus.set_busmaster(dev, child, true)
}

/// `pci_disable_busmaster_method(dev, child)`.
extern "C" fn harness_pci_disable_busmaster(dev: usize, child: usize) -> c_int {
    kernel().newbus.set_busmaster(dev, child, false)
}

/// `pci_msi_count_method(dev, child)`.
extern "C" fn harness_pci_msi_count(dev: usize, child: usize) -> c_int {
    kernel().newbus.msi_count(dev, child)
}

/// `pci_alloc_msi_method(dev, child, count)`.
///
/// # Safety
/// `count` must point to an int.
unsafe extern "C" fn harness_pci_alloc_msi(dev: usize, child: usize, count: *mut c_int) -> c_int {
    if count.is_null() {
        return Errno::EINVAL.0;
    }
    // SAFETY: by the caller's contract.
    let want = unsafe { count.read() };
    match kernel().newbus.alloc_msi(dev, child, want) {
        Ok(n) => {
            // SAFETY: by the caller's contract.
            unsafe { count.write(n) };
            0
        }
        Err(e) => e,
    }
}

/// `pci_release_msi_method(dev, child)`.
extern "C" fn harness_pci_release_msi(dev: usize, child: usize) -> c_int {
    kernel().newbus.release_msi(dev, child)
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

/// For `device_printf` (`harness/csrc/harness.c`): the device's name and
/// unit (`rustedu0`), NUL-terminated in `buf` (cut to fit); its length,
/// or -1 for a device without a driver (`device_get_name` is NULL).
///
/// # Safety
/// `buf` must be writable for `size` bytes.
#[unsafe(no_mangle)]
unsafe extern "C" fn harness_rs_device_nameunit(
    dev: usize,
    buf: *mut c_char,
    size: usize,
) -> c_int {
    let Some(name) = kernel().newbus.nameunit(dev) else {
        return -1;
    };
    if size == 0 {
        return -1;
    }
    let n = name.len().min(size - 1);
    // SAFETY: `buf` is writable for `size` bytes (the caller's contract),
    // and `n + 1 <= size`, so the whole slice is inside it.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), n + 1) };
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out[n] = 0;
    c_int::try_from(n).unwrap_or(c_int::MAX)
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
    let k = kernel();
    // NULL: the resource is not available (`state/inject.rs`).
    if k.core.inject_fails(Injectable::BusAllocResource) {
        return 0;
    }
    k.newbus.alloc_resource(dev, ty, r, flags)
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
    // intr_event_add_handler's errors (`state/inject.rs`).
    if k.core.inject_fails(Injectable::BusSetupIntr) {
        return Errno::ENOMEM.0;
    }
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
