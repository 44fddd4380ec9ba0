// SPDX-License-Identifier: BSD-2-Clause
//! newbus: a `pci0` bus with device models behind it, drivers added by
//! their module's `DRIVER_MODULE`, kobj classes and method dispatch, the
//! PCI instance variables, and memory resources mapped to the models.
//!
//! Followed (FreeBSD 15): `sys/kern/subr_bus.c` (`driver_module_handler`:
//! `MOD_LOAD` is `devclass_add_driver`, which probes and attaches the
//! bus's unattached children; `MOD_UNLOAD` is `devclass_delete_driver`,
//! which detaches every device of the driver and stops at the first
//! error, the unload's veto; `device_probe_child`: the softc is allocated
//! from the class's size (`device_set_driver`) before `DEVICE_PROBE`, a
//! positive result is no match; `device_attach`: the device is announced
//! (`device_print_child`) before `DEVICE_ATTACH`, whose error is printed
//! as "device_attach: %s%d attach returned %d" and leaves the device
//! without driver, softc or description), `sys/kern/subr_kobj.c`
//! (`kobj_class_compile`, `kobj_lookup_method`: the class's methods, then
//! its base classes, then the descriptor's default; the cache slot is
//! filled), `sys/dev/pci/pci.c` (`pci_read_ivar`; `pci_activate_resource`
//! turns memory decoding on; `pci_child_detached` reclaims what a detached
//! driver leaked, with "Device leaked memory resources").
//!
//! The kobj structures are written here from `sys/sys/kobj.h`'s
//! definitions, not taken from `sys`'s bindings, so that the two check
//! each other (`harness/tests/rustedu.rs` drives the module's inline
//! dispatch through them).

mod devctl;
mod pci;

pub use devctl::Devctl;

use crate::fault::mmio::{MmioTarget, MmioWindow};
use crate::kpi::busdma::BusDma;
use devmodels::edu::{Edu, regs};
use devmodels::pci::{cmd, reg};
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// `struct kobj_method` (`sys/sys/kobj.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct KobjMethod {
    /// `kobjop_desc_t desc`.
    pub(crate) desc: usize,
    /// `kobjop_t func`.
    pub(crate) func: usize,
}

/// `struct kobjop_desc`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct KobjopDesc {
    /// `unsigned int id`.
    pub(crate) id: u32,
    /// `kobj_method_t deflt`.
    pub(crate) deflt: KobjMethod,
}

/// `struct kobj_class` (`KOBJ_CLASS_FIELDS`).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct KobjClass {
    name: usize,
    methods: usize,
    size: usize,
    baseclasses: usize,
    refs: u32,
    ops: usize,
}

/// `KOBJ_CACHE_SIZE`.
const KOBJ_CACHE_SIZE: usize = 256;

/// `struct kobj_ops`.
#[repr(C)]
struct KobjOps {
    cache: [usize; KOBJ_CACHE_SIZE],
    cls: usize,
}

/// `null_method` of subr_kobj.c: what empty cache slots point to (its
/// `desc` matches no descriptor).
static NULL_METHOD: KobjMethod = KobjMethod { desc: 0, func: 0 };

/// A `device_t`: the kobj header module code reads (`ops`), then our own
/// word. Module code never reads past `ops`: every other field of
/// FreeBSD's `struct _device` is private to subr_bus.c.
#[repr(C)]
struct DeviceObj {
    ops: usize,
    _index: usize,
}

/// `struct resource` (`sys/sys/rman.h`): the fields `bus_read_4` uses.
#[repr(C)]
struct Resource {
    r_i: usize,
    r_bustag: u64,
    r_bushandle: u64,
}

/// `X86_BUS_SPACE_MEM` (`sys/x86/include/bus.h`).
const X86_BUS_SPACE_MEM: u64 = 1;

/// An edu model behind the bus, as its BAR's register file.
pub(crate) struct EduTarget {
    edu: Mutex<Edu>,
    /// A hung device never finishes a computation.
    hung: AtomicBool,
    /// Wakes the interrupt thread after a write (a computation started,
    /// an interrupt raised).
    kick: Arc<Kick>,
    /// What the device did wrong on the driver's behalf outside an
    /// access (an MSI sent with bus mastering off: lost), for the
    /// interrupt thread to report.
    faults: Mutex<Vec<String>>,
}

/// The interrupt thread's doorbell: set by a device, taken by the thread.
#[derive(Default)]
pub(crate) struct Kick {
    /// (pending, stopping).
    state: Mutex<(bool, bool)>,
    cv: Condvar,
}

impl Kick {
    /// Wakes the interrupt thread.
    fn ring(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0 = true;
        self.cv.notify_all();
    }

    /// Waits for a ring; `false` once the kernel stops.
    pub(crate) fn wait(&self) -> bool {
        let mut g = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if g.1 {
                return false;
            }
            if g.0 {
                g.0 = false;
                return true;
            }
            g = self.cv.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Stops the interrupt thread.
    pub(crate) fn stop(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).1 = true;
        self.cv.notify_all();
    }
}

impl EduTarget {
    fn lock(&self) -> MutexGuard<'_, Edu> {
        self.edu.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MmioTarget for EduTarget {
    fn read(&self, offset: u64, width: usize) -> Result<u64, String> {
        let mut edu = self.lock();
        let v = edu.mmio_read(offset, width).map_err(|e| e.to_string())?;
        // The device finishes a factorial once the driver has seen it
        // computing (a poll of the status register).
        if offset == regs::STATUS && edu.factorial_pending() && !self.hung() {
            // The access itself is fine; a lost message is reported by
            // the interrupt thread.
            if let Err(e) = edu.complete_factorial() {
                self.fault(e.to_string());
            }
            // The completion may have raised the interrupt.
            self.kick.ring();
        }
        // A pending transfer goes on once the driver polls its command
        // register: the interrupt thread completes it (edu.c's timer).
        if offset == regs::DMA_CMD && edu.dma_pending() && !self.hung() {
            self.kick.ring();
        }
        Ok(v)
    }

    fn write(&self, offset: u64, width: usize, value: u64) -> Result<(), String> {
        self.lock()
            .mmio_write(offset, width, value)
            .map_err(|e| e.to_string())?;
        self.kick.ring();
        Ok(())
    }
}

impl EduTarget {
    /// Keeps a fault for the interrupt thread.
    fn fault(&self, s: String) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(s);
    }

    /// Whether the device is hung.
    fn hung(&self) -> bool {
        self.hung.load(Ordering::Relaxed)
    }
}

/// A resource a driver holds.
struct Held {
    res: Box<Resource>,
    /// `SYS_RES_MEMORY` or `SYS_RES_IRQ`.
    ty: i32,
    rid: i32,
    /// A memory resource's mapping (none for an interrupt).
    _window: Option<MmioWindow>,
}

/// `SYS_RES_IRQ` (`sys/x86/include/resource.h`).
const SYS_RES_IRQ: i32 = 1;
/// `SYS_RES_MEMORY`.
const SYS_RES_MEMORY: i32 = 3;

/// A handler set up by `bus_setup_intr` (`struct intr_handler`).
struct Intr {
    /// The cookie returned (the handler's identity).
    cookie: Box<u8>,
    dev: usize,
    res: usize,
    filter: usize,
    ithread: usize,
    arg: usize,
    /// Set up on an MSI message (rid 1 and up), not on INTx.
    msi: bool,
    /// The driver's name and unit, for messages.
    name: String,
}

/// One handler to run for an interrupt.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IntrCall {
    /// The cookie.
    pub(crate) cookie: usize,
    /// `driver_filter_t`, or 0.
    pub(crate) filter: usize,
    /// `driver_intr_t`, or 0.
    pub(crate) ithread: usize,
    /// The handlers' argument.
    pub(crate) arg: usize,
}

/// One device on `pci0`.
struct PciDevice {
    obj: Box<DeviceObj>,
    slot: u8,
    model: Arc<EduTarget>,
    /// The driver class (`kobj_class_t`), while one is set.
    driver: Option<usize>,
    unit: i32,
    softc: Option<Box<[u64]>>,
    desc: usize,
    /// `device_set_desc_copy`'s copy (`DF_DESCMALLOCED`), which `desc`
    /// then points into.
    desc_copy: Option<std::ffi::CString>,
    attached: bool,
    held: Vec<Held>,
    /// MSI messages allocated (`cfg.msi.msi_alloc`).
    msi_alloc: i32,
    /// Handlers set up on them (`cfg.msi.msi_handlers`).
    msi_handlers: u32,
    /// MSI is off for this device (`hw.pci.enable_msi=0`, or a device on
    /// the blacklist): `pci_msi_count` is 0.
    msi_off: bool,
    /// `DF_ENABLED`: `devctl disable` clears it; a disabled device is
    /// not probed.
    enabled: bool,
    /// `DF_SUSPENDED`.
    suspended: bool,
    /// The driver class and unit a disabled device keeps
    /// (`DF_FIXEDCLASS`).
    kept: Option<(usize, i32)>,
    /// `pci_cfg_save`'s copy: (offset, width, value).
    saved_cfg: Vec<(u16, usize, u32)>,
    /// Spurious assertions of the line still to deliver
    /// ([`Newbus::stray`]).
    spurious: u32,
}

/// A driver added by `DRIVER_MODULE`.
struct DriverRec {
    class: usize,
    ops: Box<KobjOps>,
}

/// The addresses of the device method descriptors (data symbols).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Descs {
    /// `&device_probe_desc`.
    pub(crate) probe: usize,
    /// `&device_attach_desc`.
    pub(crate) attach: usize,
    /// `&device_detach_desc`.
    pub(crate) detach: usize,
    /// `&device_suspend_desc`.
    pub(crate) suspend: usize,
    /// `&device_resume_desc`.
    pub(crate) resume: usize,
    /// `&device_shutdown_desc`.
    pub(crate) shutdown: usize,
}

/// What the interrupt thread did (as `vmstat -i` counts, split by what
/// the filters returned).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntrStats {
    /// Filters called.
    pub filters: u64,
    /// ... that returned `FILTER_STRAY`.
    pub stray: u64,
    /// ... that returned `FILTER_HANDLED` (alone).
    pub handled: u64,
    /// ... that returned `FILTER_SCHEDULE_THREAD` (with or without
    /// `FILTER_HANDLED`).
    pub scheduled: u64,
    /// ithread handlers run.
    pub ithreads: u64,
}

/// What a device looks like from user space (`devinfo -v`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `pci0:0:<slot>:0`'s slot.
    pub slot: u8,
    /// The driver's name and unit (`rustedu0`), when one is attached or
    /// the device was disabled with `devctl disable` (it keeps the name).
    pub name: Option<String>,
    /// A driver is attached.
    pub attached: bool,
    /// Not disabled (`DF_ENABLED`).
    pub enabled: bool,
    /// Suspended (`DF_SUSPENDED`).
    pub suspended: bool,
    /// Revision ID.
    pub revision: u8,
    /// Header type.
    pub header: u8,
    /// The description the driver set.
    pub desc: Option<String>,
    /// PCI vendor and device IDs.
    pub vendor: u16,
    /// PCI device ID.
    pub device: u16,
    /// Subsystem vendor ID.
    pub subvendor: u16,
    /// Subsystem ID.
    pub subdevice: u16,
    /// Class, subclass and programming interface (`class << 16 |
    /// subclass << 8 | progif`).
    pub class: u32,
    /// Resources the driver holds.
    pub resources: usize,
}

/// The bus and its drivers.
#[derive(Default)]
pub(crate) struct Newbus {
    inner: Mutex<State>,
    /// What the interrupt thread did.
    stats: Mutex<IntrStats>,
    /// Signalled when a handler finishes (a teardown waits for it).
    done: Condvar,
    /// The interrupt thread's doorbell.
    pub(crate) kick: Arc<Kick>,
}

/// The bus's class, ops and device.
struct Bus {
    obj: Box<DeviceObj>,
    _class: Box<KobjClass>,
    _ops: Box<KobjOps>,
    _methods: Box<[KobjMethod]>,
}

#[derive(Default)]
struct State {
    bus: Option<Bus>,
    devices: Vec<PciDevice>,
    drivers: Vec<DriverRec>,
    /// Fail the Nth `bus_alloc_resource` from now (1: the next).
    alloc_fail_in: u64,
    /// Fail the Nth `bus_setup_intr` from now (1: the next).
    setup_intr_fail_in: u64,
    /// Fail the Nth `pci_alloc_msi` from now (1: the next).
    alloc_msi_fail_in: u64,
    /// The handlers set up.
    intrs: Vec<Intr>,
    /// The cookie of the handler the interrupt thread is running.
    running: Option<usize>,
}

/// What a step of driver work needs from the kernel: calling module code.
pub(crate) trait Call {
    /// Calls module function `func` with `args`; `None` if it panicked.
    fn call(&self, func: usize, args: [u64; 6]) -> Option<u64>;
    /// Prints on the console.
    fn console(&self, s: &str);
    /// Reports a broken rule.
    fn violation(&self, s: String);
    /// What `dev` still holds of bus_dma(9) (now forgotten).
    fn dma_leaks(&self, _dev: usize) -> Vec<String> {
        Vec::new()
    }
}

/// A driver class's name.
fn class_name(class: usize) -> String {
    // SAFETY: `class` is the module's `driver_t`, whose name is a C string
    // in the module's image (checked non-null).
    let c = unsafe { &*(class as *const KobjClass) };
    if c.name == 0 {
        return String::from("?");
    }
    // SAFETY: as above.
    unsafe { CStr::from_ptr(c.name as *const core::ffi::c_char) }
        .to_string_lossy()
        .into_owned()
}

/// `kobj_lookup_method`'s search, without the cache: the class's methods,
/// then its base classes, depth first.
fn find_method(class: usize, desc: usize) -> Option<usize> {
    if class == 0 {
        return None;
    }
    // SAFETY: a `struct kobj_class` (the module's or ours).
    let c = unsafe { &*(class as *const KobjClass) };
    let mut m = c.methods;
    while m != 0 {
        // SAFETY: the method table, terminated by a NULL descriptor.
        let e = unsafe { &*(m as *const KobjMethod) };
        if e.desc == 0 {
            break;
        }
        if e.desc == desc {
            return Some(m);
        }
        m += size_of::<KobjMethod>();
    }
    let mut b = c.baseclasses;
    while b != 0 {
        // SAFETY: a NULL-terminated array of class pointers.
        let base = unsafe { *(b as *const usize) };
        if base == 0 {
            break;
        }
        if let Some(found) = find_method(base, desc) {
            return Some(found);
        }
        b += 8;
    }
    None
}

/// `kobj_lookup_method(cls, cep, desc)`.
pub(crate) fn kobj_lookup_method(class: usize, cep: *mut usize, desc: usize) -> usize {
    let m = find_method(class, desc).unwrap_or_else(|| {
        // &desc->deflt
        desc + core::mem::offset_of!(KobjopDesc, deflt)
    });
    if !cep.is_null() {
        // SAFETY: a cache slot of the class's compiled ops.
        unsafe { cep.write(m) };
    }
    m
}

impl Newbus {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates `pci0` with its class, whose methods are `(descriptor,
    /// function)` pairs: call stubs of the harness.
    pub(crate) fn init(&self, methods: &[(usize, usize)]) {
        let methods: Box<[KobjMethod]> = methods
            .iter()
            .map(|&(desc, func)| KobjMethod { desc, func })
            .chain([KobjMethod { desc: 0, func: 0 }])
            .collect();
        let mut class = Box::new(KobjClass {
            name: c"pci".as_ptr() as usize,
            methods: methods.as_ptr() as usize,
            size: 0,
            baseclasses: 0,
            refs: 1,
            ops: 0,
        });
        let ops = compile(&mut class);
        let obj = Box::new(DeviceObj {
            ops: &raw const *ops as usize,
            _index: usize::MAX,
        });
        self.lock().bus = Some(Bus {
            obj,
            _class: class,
            _ops: ops,
            _methods: methods,
        });
    }

    /// Puts an edu device in the next free slot; returns the slot.
    pub(crate) fn add_edu(&self) -> u8 {
        let mut s = self.lock();
        let slot = u8::try_from(s.devices.len() + 4).unwrap_or(u8::MAX);
        let index = s.devices.len();
        s.devices.push(PciDevice {
            obj: Box::new(DeviceObj {
                ops: 0,
                _index: index,
            }),
            slot,
            model: Arc::new(EduTarget {
                edu: Mutex::new(Edu::new()),
                hung: AtomicBool::new(false),
                kick: self.kick.clone(),
                faults: Mutex::new(Vec::new()),
            }),
            driver: None,
            unit: -1,
            softc: None,
            desc: 0,
            desc_copy: None,
            attached: false,
            held: Vec::new(),
            msi_alloc: 0,
            msi_handlers: 0,
            msi_off: false,
            enabled: true,
            suspended: false,
            kept: None,
            saved_cfg: Vec::new(),
            spurious: 0,
        });
        slot
    }

    /// Hangs (or revives) the device in `slot`: a hung edu never finishes
    /// a factorial. `false` if there is no such device.
    pub(crate) fn set_hung(&self, slot: u8, hung: bool) -> bool {
        let s = self.lock();
        let Some(d) = s.devices.iter().find(|d| d.slot == slot) else {
            return false;
        };
        d.model.hung.store(hung, Ordering::Relaxed);
        true
    }

    /// Asserts the line of the device in `slot` once without the device
    /// raising anything (a shared line's other device, or noise): its
    /// handlers run with the status as it is. `false` if there is no
    /// such device.
    pub(crate) fn stray(&self, slot: u8) -> bool {
        let mut s = self.lock();
        let Some(d) = s.devices.iter_mut().find(|d| d.slot == slot) else {
            return false;
        };
        d.spurious = d.spurious.saturating_add(1);
        d.model.kick.ring();
        true
    }

    /// Counts what a filter returned (`v`), or an ithread handler run
    /// (`None`).
    pub(crate) fn count_handler(&self, v: Option<u64>, stray: u64, handled: u64) {
        let mut st = crate::sync::lock_ignoring_poison(&self.stats);
        match v {
            None => st.ithreads += 1,
            Some(v) => {
                st.filters += 1;
                if v == stray {
                    st.stray += 1;
                } else if v == handled {
                    st.handled += 1;
                } else {
                    st.scheduled += 1;
                }
            }
        }
    }

    /// What the interrupt thread did so far.
    pub(crate) fn intr_stats(&self) -> IntrStats {
        *crate::sync::lock_ignoring_poison(&self.stats)
    }

    /// Raises interrupt bits on the device in `slot`, as a write of its
    /// raise register (0x60) does; `false` if there is no such device or
    /// the device refused.
    pub(crate) fn raise(&self, slot: u8, bits: u32) -> bool {
        let s = self.lock();
        let Some(d) = s.devices.iter().find(|d| d.slot == slot) else {
            return false;
        };
        let ok = d
            .model
            .lock()
            .mmio_write(regs::IRQ_RAISE, 4, u64::from(bits))
            .is_ok();
        d.model.kick.ring();
        ok
    }

    /// Turns bus mastering on in the command register of the device in
    /// `slot`, as firmware may leave it; `false` if there is no such
    /// device.
    pub(crate) fn firmware_busmaster(&self, slot: u8) -> bool {
        let s = self.lock();
        let Some(d) = s.devices.iter().find(|d| d.slot == slot) else {
            return false;
        };
        let mut edu = d.model.lock();
        let c = edu.config_read(reg::COMMAND, 2).unwrap_or(0);
        edu.config_write(reg::COMMAND, 2, c | u32::from(cmd::BUSMASTEREN))
            .is_ok()
    }

    /// The DMA registers (source, destination, count, command) of the edu
    /// device in `slot`, as the device holds them.
    pub(crate) fn dma_registers(&self, slot: u8) -> Option<[u64; 4]> {
        let s = self.lock();
        let d = s.devices.iter().find(|d| d.slot == slot)?;
        let mut edu = d.model.lock();
        let mut r = [0; 4];
        for (v, off) in
            r.iter_mut()
                .zip([regs::DMA_SRC, regs::DMA_DST, regs::DMA_COUNT, regs::DMA_CMD])
        {
            *v = edu.mmio_read(off, 8).ok()?;
        }
        Some(r)
    }

    /// The interrupt status register of the device in `slot`.
    pub(crate) fn irq_status(&self, slot: u8) -> Option<u32> {
        let s = self.lock();
        let d = s.devices.iter().find(|d| d.slot == slot)?;
        Some(d.model.lock().irq_status())
    }

    /// Fails the `n`th `bus_alloc_resource` from now (0: none).
    pub(crate) fn fail_alloc(&self, n: u64) {
        self.lock().alloc_fail_in = n;
    }

    /// The devices, for user space.
    pub(crate) fn devices(&self) -> Vec<DeviceInfo> {
        let s = self.lock();
        s.devices
            .iter()
            .map(|d| {
                let edu = d.model.lock();
                let cfg = |off: u16, width: usize| edu.config_read(off, width).unwrap_or(0);
                let id = |off: u16| u16::try_from(cfg(off, 2)).unwrap_or(0);
                DeviceInfo {
                    slot: d.slot,
                    vendor: id(reg::VENDOR),
                    device: id(reg::DEVICE),
                    subvendor: id(reg::SUBVEND),
                    subdevice: id(reg::SUBDEV),
                    class: (cfg(reg::CLASS, 1) << 16)
                        | (cfg(reg::SUBCLASS, 1) << 8)
                        | cfg(reg::PROGIF, 1),
                    name: d.name(),
                    attached: d.attached,
                    enabled: d.enabled,
                    suspended: d.suspended,
                    revision: u8::try_from(cfg(reg::REVID, 1)).unwrap_or(0),
                    header: u8::try_from(cfg(reg::HDRTYPE, 1)).unwrap_or(0),
                    desc: (d.desc != 0).then(|| {
                        // SAFETY: device_set_desc's string, in the module.
                        unsafe { CStr::from_ptr(d.desc as *const core::ffi::c_char) }
                            .to_string_lossy()
                            .into_owned()
                    }),
                    resources: d.held.len(),
                }
            })
            .collect()
    }

    /// Whether `dev` is `pci0`.
    fn is_bus(s: &State, dev: usize) -> bool {
        s.bus
            .as_ref()
            .is_some_and(|b| &raw const *b.obj as usize == dev)
    }

    fn find(s: &mut State, dev: usize) -> Option<&mut PciDevice> {
        s.devices
            .iter_mut()
            .find(|d| &raw const *d.obj as usize == dev)
    }

    /// `device_get_parent`: `pci0` for its children, NULL otherwise.
    pub(crate) fn parent(&self, dev: usize) -> usize {
        let mut s = self.lock();
        if Self::find(&mut s, dev).is_none() {
            return 0;
        }
        s.bus.as_ref().map_or(0, |b| &raw const *b.obj as usize)
    }

    /// `device_get_softc`.
    pub(crate) fn softc(&self, dev: usize) -> usize {
        let mut s = self.lock();
        Self::find(&mut s, dev)
            .and_then(|d| d.softc.as_ref())
            .map_or(0, |b| b.as_ptr() as usize)
    }

    /// `device_get_nameunit`: the driver's name and the unit, if the
    /// device has a driver (`device_get_name` is its devclass's name).
    pub(crate) fn nameunit(&self, dev: usize) -> Option<String> {
        let mut s = self.lock();
        let d = Self::find(&mut s, dev)?;
        d.driver.map(|c| format!("{}{}", class_name(c), d.unit))
    }

    /// `device_get_unit`.
    pub(crate) fn unit(&self, dev: usize) -> i32 {
        let mut s = self.lock();
        Self::find(&mut s, dev).map_or(-1, |d| d.unit)
    }

    /// `device_set_desc` (the string is kept, not copied).
    pub(crate) fn set_desc(&self, dev: usize, desc: usize) {
        let mut s = self.lock();
        if let Some(d) = Self::find(&mut s, dev) {
            d.desc = desc;
            d.desc_copy = None;
        }
    }

    /// `device_set_desc_copy`: the string is copied (`M_BUS`,
    /// `DF_DESCMALLOCED`); NULL clears the description.
    pub(crate) fn set_desc_copy(&self, dev: usize, desc: usize) {
        let copy = (desc != 0).then(|| {
            // SAFETY: the caller's NUL-terminated string.
            unsafe { CStr::from_ptr(desc as *const core::ffi::c_char) }.to_owned()
        });
        let mut s = self.lock();
        if let Some(d) = Self::find(&mut s, dev) {
            d.desc = copy.as_ref().map_or(0, |c| c.as_ptr() as usize);
            d.desc_copy = copy;
        }
    }

    /// `pci_read_ivar(dev, child, index, result)`.
    pub(crate) fn read_ivar(&self, bus: usize, child: usize, index: i32) -> Result<u64, i32> {
        let mut s = self.lock();
        if !Self::is_bus(&s, bus) {
            return Err(crate::errno::Errno::ENOENT.0);
        }
        let d = Self::find(&mut s, child).ok_or(crate::errno::Errno::ENOENT.0)?;
        let slot = d.slot;
        let edu = d.model.lock();
        let cfg = |off: u16, width: usize| u64::from(edu.config_read(off, width).unwrap_or(0));
        // enum pci_device_ivars (sys/dev/pci/pcivar.h), read from the
        // device's configuration space as pci_read_ivar reads its cfg
        // copy.
        Ok(match index {
            0 => cfg(reg::SUBVEND, 2),
            1 => cfg(reg::SUBDEV, 2),
            2 => cfg(reg::VENDOR, 2),
            3 => cfg(reg::DEVICE, 2),
            4 => (cfg(reg::DEVICE, 2) << 16) | cfg(reg::VENDOR, 2),
            5 => cfg(reg::CLASS, 1),
            6 => cfg(reg::SUBCLASS, 1),
            7 => cfg(reg::PROGIF, 1),
            8 => cfg(reg::REVID, 1),
            9 => cfg(reg::INTPIN, 1),
            10 => cfg(reg::INTLINE, 1),
            11 | 12 | 14 => 0,
            13 => u64::from(slot),
            16 => cfg(reg::COMMAND, 2),
            _ => return Err(crate::errno::Errno::ENOENT.0),
        })
    }

    /// `bus_alloc_resource(dev, type, rid, ...)`: memory BAR 0 of an edu.
    /// Returns the `struct resource *` or 0.
    pub(crate) fn alloc_resource(&self, dev: usize, ty: i32, rid: i32, flags: u32) -> usize {
        let mut s = self.lock();
        if s.alloc_fail_in > 0 {
            s.alloc_fail_in -= 1;
            if s.alloc_fail_in == 0 {
                return 0;
            }
        }
        let Some(d) = Self::find(&mut s, dev) else {
            return 0;
        };
        // A resource already held is busy.
        if d.held.iter().any(|h| h.ty == ty && h.rid == rid) {
            return 0;
        }
        // SYS_RES_IRQ rid 0: INTx (pci_alloc_resource hands out the
        // interrupt line's resource; shareable unless asked otherwise),
        // refused while MSI messages are allocated; rids 1 and up: the
        // messages pci_alloc_msi allocated.
        let intx = rid == 0 && d.msi_alloc == 0;
        let message = rid >= 1 && rid <= d.msi_alloc;
        if ty == SYS_RES_IRQ && (intx || message) {
            let res = Box::new(Resource {
                r_i: 0,
                r_bustag: 0,
                r_bushandle: 0,
            });
            let p = &raw const *res as usize;
            d.held.push(Held {
                res,
                ty,
                rid,
                _window: None,
            });
            return p;
        }
        // SYS_RES_MEMORY, PCIR_BAR(0).
        if ty != SYS_RES_MEMORY || rid != 0x10 {
            return 0;
        }
        let target: Arc<dyn MmioTarget> = d.model.clone();
        let Some(window) = MmioWindow::new(regs::BAR0_SIZE as usize, target) else {
            return 0;
        };
        // RF_ACTIVE: pci_activate_resource enables memory decoding.
        if flags & 2 != 0 {
            let mut edu = d.model.lock();
            let c = edu.config_read(reg::COMMAND, 2).unwrap_or(0);
            if edu
                .config_write(reg::COMMAND, 2, c | u32::from(cmd::MEMEN))
                .is_err()
            {
                return 0;
            }
        }
        let res = Box::new(Resource {
            r_i: 0,
            r_bustag: X86_BUS_SPACE_MEM,
            r_bushandle: window.base() as u64,
        });
        let p = &raw const *res as usize;
        d.held.push(Held {
            res,
            ty,
            rid,
            _window: Some(window),
        });
        p
    }

    /// `bus_release_resource(dev, r)`: 0, or `EINVAL` for a resource the
    /// device does not hold.
    pub(crate) fn release_resource(&self, dev: usize, r: usize) -> i32 {
        let mut s = self.lock();
        let Some(d) = Self::find(&mut s, dev) else {
            return crate::errno::Errno::EINVAL.0;
        };
        let before = d.held.len();
        d.held.retain(|h| &raw const *h.res as usize != r);
        if d.held.len() == before {
            return crate::errno::Errno::EINVAL.0;
        }
        0
    }

    /// Fails the `n`th `bus_setup_intr` from now (0: none).
    pub(crate) fn fail_setup_intr(&self, n: u64) {
        self.lock().setup_intr_fail_in = n;
    }

    /// `bus_setup_intr(dev, r, flags, filter, ithread, arg, cookiep)`:
    /// the cookie, or an errno. `EINVAL` for a resource that is not an
    /// interrupt the device holds, or neither a filter nor a handler
    /// (`intr_event_add_handler` in `sys/kern/kern_intr.c`).
    pub(crate) fn setup_intr(
        &self,
        dev: usize,
        r: usize,
        filter: usize,
        ithread: usize,
        arg: usize,
    ) -> Result<usize, i32> {
        let mut s = self.lock();
        if s.setup_intr_fail_in > 0 {
            s.setup_intr_fail_in -= 1;
            if s.setup_intr_fail_in == 0 {
                return Err(crate::errno::Errno::ENOMEM.0);
            }
        }
        if filter == 0 && ithread == 0 {
            return Err(crate::errno::Errno::EINVAL.0);
        }
        let (name, msi) = match Self::find(&mut s, dev) {
            Some(d) => {
                let Some(rid) = d
                    .held
                    .iter()
                    .find(|h| h.ty == SYS_RES_IRQ && &raw const *h.res as usize == r)
                    .map(|h| h.rid)
                else {
                    return Err(crate::errno::Errno::EINVAL.0);
                };
                // pci_setup_intr: the first handler of a message maps and
                // enables MSI; INTx is disabled for messages, enabled for
                // the legacy interrupt.
                let msi = rid >= 1;
                if msi {
                    if d.msi_handlers == 0 {
                        d.enable_msi();
                    }
                    d.msi_handlers += 1;
                } else {
                    d.enable_intx();
                }
                (
                    format!("{}{}", d.driver.map(class_name).unwrap_or_default(), d.unit),
                    msi,
                )
            }
            None => return Err(crate::errno::Errno::EINVAL.0),
        };
        let cookie = Box::new(0u8);
        let c = &raw const *cookie as usize;
        s.intrs.push(Intr {
            cookie,
            dev,
            res: r,
            filter,
            ithread,
            arg,
            msi,
            name,
        });
        Ok(c)
    }

    /// `bus_teardown_intr(dev, r, cookie)`: waits while the handler runs
    /// (`intr_event_remove_handler`, sys/kern/kern_intr.c), then removes
    /// it. `EINVAL` for an unknown cookie.
    pub(crate) fn teardown_intr(&self, dev: usize, r: usize, cookie: usize) -> i32 {
        let mut s = self.lock();
        while s.running == Some(cookie) {
            s = self.done.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        let Some(at) = s
            .intrs
            .iter()
            .position(|i| &raw const *i.cookie as usize == cookie && i.dev == dev && i.res == r)
        else {
            return crate::errno::Errno::EINVAL.0;
        };
        let gone = s.intrs.remove(at);
        // pci_teardown_intr: the last handler of the messages disables
        // MSI.
        if gone.msi
            && let Some(d) = Self::find(&mut s, dev)
        {
            d.msi_handlers = d.msi_handlers.saturating_sub(1);
            if d.msi_handlers == 0 {
                d.disable_msi();
            }
        }
        0
    }

    /// What the devices did since the last look: finishes the
    /// computations and DMA transfers of devices that are not hung
    /// (edu.c's worker and DMA timer; a transfer reaches memory only
    /// through `dma`'s loads for the device), and returns what the
    /// transfers did wrong and the handlers to run: those on the legacy
    /// interrupt of every device whose INTx line is asserted (level-triggered: once per look
    /// while it stays asserted), and those on the MSI message once if the
    /// device sent one or more messages since the last look. A message
    /// that is not the one `pci_enable_msi` programmed is a violation
    /// (returned as a message): it lands elsewhere.
    ///
    /// Messages to one vector coalesce; none is lost. On x86 an MSI sets
    /// its vector's request bit in the local APIC (IRR); further messages
    /// while that bit is set collapse into it (Intel SDM vol. 3, "Interrupt
    /// Acceptance for Fixed Interrupts"), and the vector is delivered
    /// again only after the handler's end of interrupt: FreeBSD 15's
    /// `intr_event_handle` (`sys/kern/kern_intr.c`) runs every filter and
    /// then `ie_post_filter`, which is `msi_eoi` -> `lapic_eoi`
    /// (`sys/x86/x86/msi.c`). So the messages taken in one look, all sent
    /// before the filter reads the device's status, are one interrupt,
    /// and a message sent after this look rings the doorbell for the
    /// next. One filter call per message instead let a raise-ack storm
    /// queue messages faster than the interrupt thread ran filters (each
    /// filter acknowledges every raised bit, and each raiser raises
    /// again), a backlog without bound that real hardware cannot build.
    pub(crate) fn pending_interrupts(&self, dma: &BusDma) -> (Vec<IntrCall>, Vec<String>) {
        let mut s = self.lock();
        let s = &mut *s;
        let mut calls = Vec::new();
        let mut wrong = Vec::new();
        for d in &mut s.devices {
            let dev = &raw const *d.obj as usize;
            let handlers = |msi: bool| {
                s.intrs
                    .iter()
                    .filter(move |i| i.dev == dev && i.msi == msi)
                    .map(|i| IntrCall {
                        cookie: &raw const *i.cookie as usize,
                        filter: i.filter,
                        ithread: i.ithread,
                        arg: i.arg,
                    })
            };
            let mut messages = Vec::new();
            let asserted = {
                let mut edu = d.model.lock();
                if edu.factorial_pending() && !d.model.hung() {
                    // A violation (an MSI with bus mastering off) leaves
                    // the interrupt in the status, as QEMU's.
                    if let Err(e) = edu.complete_factorial() {
                        d.model.fault(e.to_string());
                    }
                }
                if edu.dma_pending() && !d.model.hung() {
                    let mut mem = dma.device(&raw const *d.obj as usize);
                    if let Err(v) = edu.complete_dma(&mut mem) {
                        wrong.push(format!("pci0:0:{}:0: {v}", d.slot));
                    }
                    wrong.extend(mem.violations);
                }
                // After the completions, which may have sent messages.
                while let Some(m) = edu.take_msi() {
                    messages.push(m);
                }
                edu.intx()
            };
            wrong.extend(
                core::mem::take(
                    &mut *d
                        .model
                        .faults
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner),
                )
                .into_iter()
                .map(|f| format!("{}: {f}", d.label())),
            );
            let expected = d.msi_message();
            let mut delivered = false;
            for m in messages {
                if m.address == expected.address && m.data == expected.data {
                    delivered = true;
                } else {
                    wrong.push(format!(
                        "{}: MSI message to {:#x} data {:#x}, not the {:#x}/{:#x} pci_enable_msi \
                         programmed (the configuration space was overwritten)",
                        d.label(),
                        m.address,
                        m.data,
                        expected.address,
                        expected.data
                    ));
                }
            }
            if delivered {
                calls.extend(handlers(true));
            }
            // A spurious assertion ([`Newbus::stray`]) is delivered once,
            // with the device's status as it is, to the handlers of the
            // vector the device uses (its message or its line).
            let spurious = d.spurious > 0;
            d.spurious = d.spurious.saturating_sub(1);
            if d.spurious > 0 {
                // The next one at the next look, which nothing else may
                // ring for.
                d.model.kick.ring();
            }
            if spurious {
                calls.extend(handlers(d.msi_handlers > 0));
            }
            // INTx is not delivered to handlers on messages.
            if asserted {
                calls.extend(handlers(false));
            }
        }
        (calls, wrong)
    }

    /// Marks handler `cookie` running; `false` if it was torn down
    /// meanwhile.
    pub(crate) fn begin_handler(&self, cookie: usize) -> bool {
        let mut s = self.lock();
        if !s
            .intrs
            .iter()
            .any(|i| &raw const *i.cookie as usize == cookie)
        {
            return false;
        }
        s.running = Some(cookie);
        true
    }

    /// The handler is done: wakes a waiting teardown.
    pub(crate) fn end_handler(&self) {
        self.lock().running = None;
        self.done.notify_all();
    }

    /// Handlers whose code is `inside` a module unloading: they are
    /// removed, and their names returned.
    pub(crate) fn forget_handlers_in(&self, inside: impl Fn(usize) -> bool) -> Vec<String> {
        let mut s = self.lock();
        let mut names = Vec::new();
        s.intrs.retain(|i| {
            let hit = (i.filter != 0 && inside(i.filter)) || (i.ithread != 0 && inside(i.ithread));
            if hit {
                names.push(i.name.clone());
            }
            !hit
        });
        names
    }

    /// Handlers whose argument lies in memory being freed (`inside`):
    /// they are removed, and their names returned.
    pub(crate) fn forget_handlers_with_arg(&self, inside: impl Fn(usize) -> bool) -> Vec<String> {
        let mut s = self.lock();
        let mut names = Vec::new();
        s.intrs.retain(|i| {
            let hit = i.arg != 0 && inside(i.arg);
            if hit {
                names.push(i.name.clone());
            }
            !hit
        });
        names
    }

    /// `rman_get_size(r)`.
    pub(crate) fn resource_size(&self, r: usize) -> u64 {
        let s = self.lock();
        let held = s
            .devices
            .iter()
            .flat_map(|d| d.held.iter())
            .any(|h| h.ty == SYS_RES_MEMORY && &raw const *h.res as usize == r);
        if held { u64::from(regs::BAR0_SIZE) } else { 0 }
    }

    /// `devclass_add_driver`: compiles the class and probes and attaches
    /// every unattached child of `pci0`.
    pub(crate) fn add_driver(&self, host: &dyn Call, class: usize, descs: Descs) -> i32 {
        let devs: Vec<usize> = {
            let mut s = self.lock();
            if s.drivers.iter().any(|d| d.class == class) {
                return crate::errno::Errno::EEXIST.0;
            }
            // SAFETY: the module's driver_t, in its writable data.
            let ops = compile(unsafe { &mut *(class as *mut KobjClass) });
            s.drivers.push(DriverRec { class, ops });
            s.devices
                .iter()
                .filter(|d| d.driver.is_none())
                .map(|d| &raw const *d.obj as usize)
                .collect()
        };
        for dev in devs {
            // An attach error is printed and leaves the device unattached.
            let _attached = self.probe_and_attach(host, class, descs, dev);
        }
        0
    }

    /// `device_probe_and_attach` of one device with one driver: `None` if
    /// the driver did not take it (no match, a disabled or attached
    /// device, a probe that panicked), else `DEVICE_ATTACH`'s result.
    fn probe_and_attach(
        &self,
        host: &dyn Call,
        class: usize,
        descs: Descs,
        dev: usize,
    ) -> Option<i32> {
        let name = class_name(class);
        {
            let mut s = self.lock();
            let ops = s
                .drivers
                .iter()
                .find(|d| d.class == class)
                .map_or(0, |d| &raw const *d.ops as usize);
            let used: Vec<i32> = s
                .devices
                .iter()
                .filter(|d| d.driver == Some(class))
                .map(|d| d.unit)
                .collect();
            let d = Self::find(&mut s, dev)?;
            if !d.enabled || d.driver.is_some() {
                return None;
            }
            // A disabled device's unit is kept (DF_FIXEDCLASS).
            let kept = d.kept.filter(|k| k.0 == class).map(|k| k.1);
            // device_set_driver: the softc (zeroed), kobj_init.
            // SAFETY: the module's driver_t.
            let size = unsafe { &*(class as *const KobjClass) }.size;
            d.softc = Some(vec![0u64; size.div_ceil(8).max(1)].into_boxed_slice());
            d.obj.ops = ops;
            d.driver = Some(class);
            d.unit = kept.unwrap_or_else(|| (0..).find(|u| !used.contains(u)).unwrap_or(0));
        }
        let probe = find_method(class, descs.probe);
        let r = match probe {
            // CAST: DEVICE_PROBE returns an int.
            Some(m) => host
                .call(method_func(m), [dev as u64, 0, 0, 0, 0, 0])
                .map(|v| v as u32 as i32),
            None => Some(crate::errno::Errno::ENXIO.0),
        };
        let r = r?;
        if r > 0 {
            self.unset_driver(dev);
            return None;
        }
        let (unit, slot, desc) = {
            let mut s = self.lock();
            let d = Self::find(&mut s, dev)?;
            (d.unit, d.slot, d.desc)
        };
        let desc = if desc == 0 {
            String::new()
        } else {
            // SAFETY: device_set_desc's string.
            let t = unsafe { CStr::from_ptr(desc as *const core::ffi::c_char) };
            format!(" <{}>", t.to_string_lossy())
        };
        // pci_print_child: "<desc> mem <BAR> at device D.F on pci0".
        let phys = 0xfe00_0000u64 + u64::from(slot) * u64::from(regs::BAR0_SIZE);
        host.console(&format!(
            "{name}{unit}:{desc} mem {phys:#x}-{:#x} at device {slot}.0 on pci0\n",
            phys + u64::from(regs::BAR0_SIZE) - 1
        ));
        let r = match find_method(class, descs.attach) {
            // CAST: DEVICE_ATTACH returns an int.
            Some(m) => host
                .call(method_func(m), [dev as u64, 0, 0, 0, 0, 0])
                .map(|v| v as u32 as i32),
            None => Some(crate::errno::Errno::ENXIO.0),
        };
        let Some(r) = r else {
            self.unset_driver(dev);
            return Some(crate::errno::Errno::ENXIO.0);
        };
        if r != 0 {
            host.console(&format!(
                "device_attach: {name}{unit} attach returned {r}\n"
            ));
            self.reclaim(host, dev, &format!("{name}{unit}"));
            self.unset_driver(dev);
            return Some(r);
        }
        let mut s = self.lock();
        if let Some(d) = Self::find(&mut s, dev) {
            d.attached = true;
        }
        Some(0)
    }

    /// `pci_child_detached`: resources the driver still holds are leaks.
    fn reclaim(&self, host: &dyn Call, dev: usize, name: &str) {
        let (leaked, handlers, msi) = {
            let mut s = self.lock();
            let before = s.intrs.len();
            s.intrs.retain(|i| i.dev != dev);
            let handlers = before - s.intrs.len();
            let (leaked, msi) = Self::find(&mut s, dev).map_or((0, 0), |d| {
                let msi = d.msi_alloc;
                d.msi_alloc = 0;
                d.msi_handlers = 0;
                if msi != 0 {
                    d.disable_msi();
                }
                (core::mem::take(&mut d.held).len(), msi)
            });
            (leaked, handlers, msi)
        };
        if msi > 0 {
            host.console(&format!("{name}: Device leaked MSI vectors\n"));
            host.violation(format!(
                "{name}: Device leaked MSI vectors ({msi} still allocated after detach, \
                 pci_release_msi not called)"
            ));
        }
        if handlers > 0 {
            host.violation(format!(
                "{name}: interrupt handler still set up after detach ({handlers} not torn down \
                 with bus_teardown_intr)"
            ));
        }
        for leak in host.dma_leaks(dev) {
            host.violation(format!("{name}: {leak}"));
        }
        if leaked > 0 {
            host.console(&format!("{name}: Device leaked memory resources\n"));
            host.violation(format!(
                "{name}: Device leaked memory resources ({leaked} still allocated after detach)"
            ));
        }
    }

    /// `device_set_driver(dev, NULL)` and `device_set_desc(dev, NULL)`.
    fn unset_driver(&self, dev: usize) {
        let mut s = self.lock();
        if let Some(d) = Self::find(&mut s, dev) {
            d.softc = None;
            d.obj.ops = 0;
            d.driver = None;
            d.unit = -1;
            d.desc = 0;
            d.desc_copy = None;
            d.attached = false;
        }
    }

    /// `devclass_delete_driver`: detaches every device of the driver; the
    /// first error is returned and the driver stays.
    pub(crate) fn delete_driver(&self, host: &dyn Call, class: usize, descs: Descs) -> i32 {
        let devs: Vec<(usize, String)> = {
            let s = self.lock();
            if !s.drivers.iter().any(|d| d.class == class) {
                return 0;
            }
            s.devices
                .iter()
                .filter(|d| d.driver == Some(class) && d.attached)
                .map(|d| {
                    (
                        &raw const *d.obj as usize,
                        format!("{}{}", class_name(class), d.unit),
                    )
                })
                .collect()
        };
        for (dev, name) in devs {
            let r = match find_method(class, descs.detach) {
                // CAST: DEVICE_DETACH returns an int.
                Some(m) => host
                    .call(method_func(m), [dev as u64, 0, 0, 0, 0, 0])
                    .map_or(crate::errno::Errno::EBUSY.0, |v| v as u32 as i32),
                // No detach method: kobj_error_method, ENXIO.
                None => crate::errno::Errno::ENXIO.0,
            };
            if r != 0 {
                return r;
            }
            self.reclaim(host, dev, &name);
            self.unset_driver(dev);
        }
        let mut s = self.lock();
        s.drivers.retain(|d| d.class != class);
        Self::forget_kept(&mut s, class);
        // kobj_class_free when the last reference goes.
        // SAFETY: the module's driver_t.
        let c = unsafe { &mut *(class as *mut KobjClass) };
        c.refs = c.refs.saturating_sub(1);
        if c.refs == 0 {
            c.ops = 0;
        }
        0
    }
}

/// A method's function pointer.
fn method_func(m: usize) -> usize {
    // SAFETY: a `kobj_method_t` of a method table.
    unsafe { (*(m as *const KobjMethod)).func }
}

/// `kobj_class_compile`: ops whose cache points at `null_method`; the
/// class takes a reference.
fn compile(class: &mut KobjClass) -> Box<KobjOps> {
    let ops = Box::new(KobjOps {
        cache: [&raw const NULL_METHOD as usize; KOBJ_CACHE_SIZE],
        cls: &raw const *class as usize,
    });
    class.refs = class.refs.saturating_add(1);
    class.ops = &raw const *ops as usize;
    ops
}
