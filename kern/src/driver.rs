// SPDX-License-Identifier: BSD-2-Clause
//! Newbus device drivers: [`Driver`] (`DEVICE_PROBE(9)`, `DEVICE_ATTACH(9)`,
//! `DEVICE_DETACH(9)`), [`Device`] (a device's identity, `pci(9)`), and
//! [`Memory`], a memory resource (`bus_alloc_resource(9)`) whose
//! registers are read and written with bounds checks (`bus_space(9)`).
//!
//! A driver crate declares its type with [`driver!`](crate::driver!): the
//! build then emits `DRIVER_MODULE(name, bus, ...)` and the kobj method
//! table in the generic C shim (`shim/newbus.c`), whose `device_probe`,
//! `device_attach` and `device_detach` are the trampolines of this module.
//! The kernel's `driver_module_handler` (`sys/kern/subr_bus.c`) adds the
//! driver to the bus's devclass at load, which probes and attaches the
//! devices it wins, and detaches them at unload; a detach error vetoes the
//! unload.
//!
//! The softc is kern's: the driver's class asks newbus for one pointer of
//! softc (`device_get_softc(9)`), where [`attach`] keeps the boxed value
//! that [`Driver::attach`] returned and [`detach`] drops it. A driver never
//! sees `device_get_softc`.
//!
//! Followed: FreeBSD 15's `sys/sys/bus.h` (`DRIVER_MODULE`,
//! `bus_alloc_resource_any`, `bus_read_4`), `sys/kern/subr_bus.c`
//! (`device_probe_child`: the softc is allocated from the class's size
//! before `DEVICE_PROBE`, the description set by the probe is kept if it
//! wins; `device_attach`: an attach error leaves the device unattached;
//! `device_detach`: an error vetoes), `sys/dev/pci/pcivar.h` (the ivar
//! accessors), `sys/x86/include/bus.h` (`bus_space_read_4` is a volatile
//! load at handle + offset for memory space).

mod attachment;
mod pci;

pub(crate) use attachment::Attachment;

use crate::alloc::{Arc, Box};
use crate::context::Sleepable;
use crate::error::{Error, Result, code};
use crate::malloc::M_NOWAIT;
use core::ffi::{CStr, c_int};
use core::marker::PhantomData;
use core::ptr::NonNull;

/// How well a driver matches a device (`BUS_PROBE_*` of `sys/sys/bus.h`):
/// the highest bid wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// `BUS_PROBE_SPECIFIC`: only this driver can drive the device.
    Specific,
    /// `BUS_PROBE_VENDOR`: the vendor's driver.
    Vendor,
    /// `BUS_PROBE_DEFAULT`: the base OS's driver.
    Default,
    /// `BUS_PROBE_LOW_PRIORITY`: an older, less desirable driver.
    LowPriority,
    /// `BUS_PROBE_GENERIC`: a generic driver for the device's class.
    Generic,
}

impl Priority {
    /// The `BUS_PROBE_*` value `DEVICE_PROBE` returns.
    #[must_use]
    pub const fn value(self) -> c_int {
        match self {
            Priority::Specific => 0,
            Priority::Vendor => sys::BUS_PROBE_VENDOR,
            Priority::Default => sys::BUS_PROBE_DEFAULT,
            Priority::LowPriority => sys::BUS_PROBE_LOW_PRIORITY,
            Priority::Generic => sys::BUS_PROBE_GENERIC,
        }
    }
}

/// A successful probe: the bid, and the description newbus prints
/// (`device_set_desc(9)`: the string is not copied, so it is `'static`).
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    /// The bid.
    pub priority: Priority,
    /// The device's description (`<QEMU edu device>` in the attach line).
    pub description: &'static CStr,
}

/// A newbus device driver.
///
/// The value of the implementing type is the driver's softc: [`attach`]
/// creates it, kern keeps it while the device is attached, and
/// [`detach`](Driver::detach) may refuse to let it go; then it is dropped,
/// and with it every resource it owns, in field order.
///
/// # Examples
///
/// ```ignore
/// struct Edu { regs: Memory }
/// impl Driver for Edu {
///     fn probe(dev: &Device<'_>) -> Result<Probe> {
///         if (dev.pci_vendor(), dev.pci_device()) != (0x1234, 0x11e8) {
///             return Err(ENXIO);
///         }
///         Ok(Probe { priority: Priority::Default, description: c"QEMU edu device" })
///     }
///     fn attach(dev: &Device<'_>, _cx: &mut Sleepable) -> Result<Self> {
///         Ok(Edu { regs: dev.alloc_memory(0)? })
///     }
/// }
/// kern::driver!(type: Edu, name: "rustedu", bus: "pci", version: 1);
/// ```
///
/// [`attach`]: Driver::attach
pub trait Driver: Sized + Send + Sync + 'static {
    /// `DEVICE_PROBE`: is this device ours, and how well do we match?
    ///
    /// # Errors
    /// `ENXIO` if the device is not one this driver drives.
    ///
    /// # Context
    /// May sleep; called with the bus topology lock (Giant) held.
    fn probe(dev: &Device<'_>) -> Result<Probe>;

    /// `DEVICE_ATTACH`: takes the device the probe won and returns the
    /// softc.
    ///
    /// # Errors
    /// Any errno; the device stays unattached and whatever the driver
    /// allocated is dropped.
    fn attach(dev: &Device<'_>, cx: &mut Sleepable) -> Result<Self>;

    /// `DEVICE_DETACH`: about to give the device up. The softc is dropped
    /// after this returns `Ok`.
    ///
    /// It may sleep (`cx`): to wake and wait out threads that sleep on the
    /// device, for instance, before the softc goes.
    ///
    /// # Errors
    /// `EBUSY` (or another errno) to veto: the device stays attached, and
    /// an unload of the module fails with it.
    ///
    /// # Context
    /// May sleep; called with the bus topology lock (Giant) held.
    fn detach(&self, _dev: &Device<'_>, _cx: &mut Sleepable) -> Result {
        Ok(())
    }

    /// `DEVICE_SUSPEND`: the system (or `devctl suspend`) is about to
    /// suspend; quiesce the device. By default nothing is done and the
    /// suspend goes ahead (`null_suspend` of `device_if.m`). The PCI bus
    /// has saved the configuration space before (`pci_suspend_child`).
    ///
    /// # Errors
    /// An errno vetoes the suspend (`EBUSY` for a device that cannot stop
    /// now): the device stays running.
    fn suspend(&self, _dev: &Device<'_>) -> Result {
        Ok(())
    }

    /// `DEVICE_RESUME`: back from a suspend, after the PCI bus restored
    /// the configuration space (`pci_resume_child`). By default nothing
    /// is done (`null_resume`).
    ///
    /// # Errors
    /// An errno is reported; the device counts as resumed anyway
    /// (`bus_generic_resume_child`).
    fn resume(&self, _dev: &Device<'_>) -> Result {
        Ok(())
    }

    /// `DEVICE_SHUTDOWN`: the system is going down; stop the device's
    /// DMA and interrupts. By default nothing is done (`null_shutdown`).
    ///
    /// # Errors
    /// An errno is reported and ignored: the system goes down anyway.
    fn shutdown(&self, _dev: &Device<'_>) -> Result {
        Ok(())
    }
}

/// A device (`device_t`) during a call of its driver.
///
/// # Invariants
/// `raw` is a live `device_t` for `'a`: the kernel passed it to a device
/// method that has not returned. `att` is the device's attachment in
/// `attach` and the methods of an attached device, `None` in `probe`.
#[derive(Debug)]
pub struct Device<'a> {
    raw: NonNull<sys::_device>,
    att: Option<&'a Arc<Attachment>>,
    _call: PhantomData<&'a ()>,
}

/// A string's length as the `int` of a `%.*s` conversion (cut at
/// `INT_MAX`: printf(9) then prints a prefix).
fn c_len(s: &str) -> c_int {
    c_int::try_from(s.len()).unwrap_or(c_int::MAX)
}

impl Device<'_> {
    /// The PCI vendor ID (`pci_get_vendor(9)`).
    #[must_use]
    pub fn pci_vendor(&self) -> u16 {
        // SAFETY: a live device (type invariant); the inline accessor asks
        // its parent bus through kobj, which a non-PCI parent answers
        // with an error that pcivar.h ignores (0 is returned then).
        unsafe { sys::shim_pci_get_vendor(self.raw.as_ptr()) }
    }

    /// The PCI device ID (`pci_get_device(9)`).
    #[must_use]
    pub fn pci_device(&self) -> u16 {
        // SAFETY: as in `pci_vendor`.
        unsafe { sys::shim_pci_get_device(self.raw.as_ptr()) }
    }

    /// The PCI subsystem vendor ID (`pci_get_subvendor(9)`).
    #[must_use]
    pub fn pci_subvendor(&self) -> u16 {
        // SAFETY: as in `pci_vendor`.
        unsafe { sys::shim_pci_get_subvendor(self.raw.as_ptr()) }
    }

    /// The PCI subsystem ID (`pci_get_subdevice(9)`).
    #[must_use]
    pub fn pci_subdevice(&self) -> u16 {
        // SAFETY: as in `pci_vendor`.
        unsafe { sys::shim_pci_get_subdevice(self.raw.as_ptr()) }
    }

    /// The `device_t`, for the other resource kinds of kern.
    pub(crate) fn raw(&self) -> NonNull<sys::_device> {
        self.raw
    }

    /// The attachment a resource allocated now belongs to.
    ///
    /// # Errors
    /// `ENXIO` in `probe`: resources are allocated from `attach` on.
    pub(crate) fn attachment(&self) -> Result<Arc<Attachment>> {
        self.att.cloned().ok_or(code::ENXIO)
    }

    /// Prints `msg` and a newline to the console, after the device's
    /// name and unit (`rustedu0: msg`): `device_printf(9)`. No formatting
    /// machinery: the kernel copies the text (see [`print`](mod@crate::print)).
    ///
    /// # Context
    /// Any context but an interrupt filter; does not sleep.
    pub fn println(&self, msg: &str) {
        // SAFETY: a live device (type invariant); the format is a
        // NUL-terminated constant whose `%.*s` gets an int length and a
        // pointer to at least that many bytes.
        unsafe {
            sys::device_printf(
                self.raw.as_ptr(),
                c"%.*s\n".as_ptr(),
                c_len(msg),
                msg.as_ptr(),
            );
        }
    }

    /// Prints `before<first>middle<second>after` and a newline after the
    /// device's name and unit (`device_printf(9)`), the numbers in
    /// decimal, formatted by the kernel.
    ///
    /// # Context
    /// As [`println`](Self::println).
    pub fn println_u64_pair(
        &self,
        before: &str,
        first: u64,
        middle: &str,
        second: u64,
        after: &str,
    ) {
        // SAFETY: as in `println`; each `%ju` gets a `uintmax_t`, a `u64`
        // on amd64.
        unsafe {
            sys::device_printf(
                self.raw.as_ptr(),
                c"%.*s%ju%.*s%ju%.*s\n".as_ptr(),
                c_len(before),
                before.as_ptr(),
                first,
                c_len(middle),
                middle.as_ptr(),
                second,
                c_len(after),
                after.as_ptr(),
            );
        }
    }

    /// The unit number (`device_get_unit(9)`).
    #[must_use]
    pub fn unit(&self) -> i32 {
        // SAFETY: a live device (type invariant).
        unsafe { sys::device_get_unit(self.raw.as_ptr()) }
    }

    /// Allocates and activates memory BAR `bar` (`PCIR_BAR(bar)`,
    /// `SYS_RES_MEMORY`, `RF_ACTIVE`): `bus_alloc_resource_any(9)`.
    ///
    /// # Errors
    /// `EINVAL` for a BAR number above 5; `ENXIO` if the bus has no such
    /// memory resource or cannot activate it, or in `probe` (resources
    /// belong to an attachment).
    pub fn alloc_memory(&self, bar: u32) -> Result<Memory> {
        if bar > 5 {
            return Err(code::EINVAL);
        }
        let att = self.attachment()?;
        // PCIR_BAR(x) of sys/dev/pci/pcireg.h: PCIR_BARS + x * 4.
        let rid = bar
            .checked_mul(4)
            .and_then(|o| o.checked_add(sys::PCIR_BARS))
            .ok_or(code::EINVAL)?;
        let mut rid = c_int::try_from(rid).map_err(|_| code::EINVAL)?;
        let ty = c_int::try_from(sys::SYS_RES_MEMORY).map_err(|_| code::EINVAL)?;
        // SAFETY: a live device (type invariant); `rid` is a valid int to
        // update.
        let r = unsafe {
            sys::shim_bus_alloc_resource_any(self.raw.as_ptr(), ty, &raw mut rid, sys::RF_ACTIVE)
        };
        let res = NonNull::new(r).ok_or(code::ENXIO)?;
        // SAFETY: `res` is the active resource just allocated.
        let size = unsafe { sys::rman_get_size(res.as_ptr()) };
        // INVARIANT: allocated for `dev` in `att`, released only by
        // `Drop` while `att` lives.
        Ok(Memory {
            dev: self.raw,
            res,
            size,
            att,
        })
    }
}

/// An active memory resource of a device and its registers.
///
/// Register accesses are checked against the resource's size
/// (`rman_get_size(9)`) and alignment before the volatile access
/// `bus_read_4`/`bus_write_4` make.
///
/// # Lifetime
/// A `Memory` belongs to the attachment it was allocated in. It is meant
/// to live in the driver's softc, which kern drops in `DEVICE_DETACH`,
/// releasing it. One that outlives the detach (moved into a global, say)
/// is dead: its accesses fail with `ENXIO` and dropping it does nothing,
/// since the bus has reclaimed the resource (and reported the leak, as
/// `pci_child_detached` does).
///
/// # Invariants
/// `res` is an active `SYS_RES_MEMORY` resource allocated for `dev`, of
/// `size` bytes, while `att` lives; released by `Drop` only, or by the
/// bus after `att` ended.
#[derive(Debug)]
pub struct Memory {
    dev: NonNull<sys::_device>,
    res: NonNull<sys::resource>,
    size: u64,
    att: Arc<Attachment>,
}

// SAFETY: register accesses are single volatile loads and stores, which
// the device serialises; the handle and size are never written after
// creation, and releasing happens once, in `Drop`.
unsafe impl Send for Memory {}
// SAFETY: as above: shared use only reads the immutable handle.
unsafe impl Sync for Memory {}

impl Memory {
    /// The resource's size in bytes.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Checks a 4-byte access at `offset`.
    fn check4(&self, offset: u64) -> Result<u64> {
        register_in(offset, 4, self.size)
    }

    /// Reads the 32-bit register at `offset` (`bus_read_4(9)`).
    ///
    /// # Errors
    /// `EINVAL` if the register is not inside the resource or not 4-byte
    /// aligned: nothing is read. `ENXIO` after the device's detach.
    pub fn read32(&self, offset: u64) -> Result<u32> {
        let off = self.check4(offset)?;
        self.att.access(|| {
            // SAFETY: an active memory resource while the attachment
            // lives (type invariant; `access` holds it live), and
            // `off + 4 <= size`, aligned: the load stays inside the
            // mapping.
            unsafe { sys::shim_bus_read_4(self.res.as_ptr(), off) }
        })
    }

    /// Writes the 32-bit register at `offset` (`bus_write_4(9)`).
    ///
    /// # Errors
    /// As [`read32`](Self::read32): nothing is written.
    pub fn write32(&self, offset: u64, value: u32) -> Result {
        let off = self.check4(offset)?;
        self.att.access(|| {
            // SAFETY: as in `read32`.
            unsafe { sys::shim_bus_write_4(self.res.as_ptr(), off, value) };
        })
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // After the attachment ended the bus owns (and has released) the
        // resource: nothing to do.
        self.att.if_live(|| {
            // SAFETY: allocated for `dev`, live (the attachment is),
            // released once (type invariant).
            let _ = unsafe { sys::bus_release_resource(self.dev.as_ptr(), self.res.as_ptr()) };
        });
    }
}

/// `offset` if a `width`-byte register at `offset` lies inside a resource
/// of `size` bytes and is naturally aligned.
///
/// # Errors
/// `EINVAL` otherwise (also when `offset + width` overflows).
fn register_in(offset: u64, width: u64, size: u64) -> Result<u64> {
    match offset.checked_add(width) {
        Some(end) if end <= size && width != 0 && offset.is_multiple_of(width) => Ok(offset),
        _ => Err(code::EINVAL),
    }
}

/// What kern keeps in a device's softc: the driver's value, then the
/// attachment its resources belong to (dropped in this order, the
/// attachment ended in between).
struct Attached<D> {
    value: D,
    att: Arc<Attachment>,
}

/// The softc slot of a device: where kern keeps the driver's value.
///
/// # Safety
/// `dev` must be a live device whose driver class has kern's softc size
/// (one pointer).
unsafe fn softc_slot<D>(dev: NonNull<sys::_device>) -> Option<NonNull<*mut Attached<D>>> {
    // SAFETY: by the caller's contract.
    NonNull::new(unsafe { sys::device_get_softc(dev.as_ptr()) }.cast::<*mut Attached<D>>())
}

/// The `device_probe` method of `D`'s class.
///
/// # Safety
/// `dev` must be the `device_t` the kernel passed to `DEVICE_PROBE`.
#[doc(hidden)]
pub unsafe fn probe<D: Driver>(dev: sys::device_t) -> c_int {
    let Some(raw) = NonNull::new(dev) else {
        return code::ENXIO.to_errno();
    };
    // INVARIANT: live for the duration of the method call; no attachment.
    let d = Device {
        raw,
        att: None,
        _call: PhantomData,
    };
    match D::probe(&d) {
        Ok(p) => {
            // SAFETY: a live device; the description is 'static, as
            // device_set_desc(9) requires (it keeps the pointer).
            unsafe { sys::device_set_desc(dev, p.description.as_ptr()) };
            p.priority.value()
        }
        Err(e) => e.to_errno(),
    }
}

/// The `device_attach` method of `D`'s class.
///
/// # Safety
/// `dev` must be the `device_t` the kernel passed to `DEVICE_ATTACH`, for
/// `D`'s class (softc of one pointer).
#[doc(hidden)]
pub unsafe fn attach<D: Driver>(dev: sys::device_t) -> c_int {
    let Some(raw) = NonNull::new(dev) else {
        return code::ENXIO.to_errno();
    };
    // SAFETY: by the caller's contract.
    let Some(slot) = (unsafe { softc_slot::<D>(raw) }) else {
        return code::ENXIO.to_errno();
    };
    // The box and the attachment first: failing after a successful attach
    // would mean undoing it.
    let boxed = match Box::<Attached<D>>::try_new_uninit(M_NOWAIT) {
        Ok(b) => b,
        Err(e) => return Error::from(e).to_errno(),
    };
    let att = match Arc::try_new(Attachment::new(), M_NOWAIT) {
        Ok(a) => a,
        Err(e) => return Error::from(e).to_errno(),
    };
    // SAFETY: DEVICE_ATTACH runs in a thread that may sleep (the bus
    // topology lock, Giant, is the only lock held, and may be slept with).
    let mut cx = unsafe { Sleepable::new() };
    let r = D::attach(
        &Device {
            raw,
            att: Some(&att),
            _call: PhantomData,
        },
        &mut cx,
    );
    match r {
        Ok(value) => {
            let b = Box::write(boxed, Attached { value, att });
            // SAFETY: the slot is the device's softc, one pointer, and
            // ours until detach.
            unsafe { slot.as_ptr().write(Box::into_raw(b)) };
            0
        }
        Err(e) => {
            // What the failed attach allocated was dropped with its
            // error; anything it kept elsewhere is dead from now on.
            att.end();
            e.to_errno()
        }
    }
}

/// The `device_detach` method of `D`'s class.
///
/// # Safety
/// `dev` must be the `device_t` the kernel passed to `DEVICE_DETACH`, for
/// `D`'s class, attached by [`attach`].
#[doc(hidden)]
pub unsafe fn detach<D: Driver>(dev: sys::device_t) -> c_int {
    let Some(raw) = NonNull::new(dev) else {
        return 0;
    };
    // SAFETY: by the caller's contract.
    let Some(slot) = (unsafe { softc_slot::<D>(raw) }) else {
        return 0;
    };
    // SAFETY: the softc slot holds what `attach` wrote, or null.
    let p = unsafe { slot.as_ptr().read() };
    if p.is_null() {
        return 0;
    }
    // SAFETY: `p` came from `Box::into_raw` in `attach` and is freed only
    // below.
    let attached = unsafe { &*p };
    let d = Device {
        raw,
        att: Some(&attached.att),
        _call: PhantomData,
    };
    // SAFETY: DEVICE_DETACH runs in a thread that may sleep, with no lock
    // but Giant (the bus topology lock, `device_detach` in
    // sys/kern/subr_bus.c); the token lives for this call.
    let mut cx = unsafe { Sleepable::new() };
    if let Err(e) = attached.value.detach(&d, &mut cx) {
        return e.to_errno();
    }
    // SAFETY: the slot is the device's softc.
    unsafe { slot.as_ptr().write(core::ptr::null_mut()) };
    // SAFETY: from `Box::into_raw` in `attach`, taken out of the slot; no
    // reference into it remains (`d` and `attached` are not used again).
    let Attached { value, att } = Box::into_inner(unsafe { Box::from_raw(p) });
    // The softc and the resources it owns go first, released to the bus;
    // then the attachment ends, and resources kept elsewhere are dead.
    drop(value);
    att.end();
    0
}

/// Calls `f` with the softc and device of an attached device of `D`'s
/// class: its errno, or 0 (also when nothing is attached).
///
/// # Safety
/// `dev` must be the `device_t` the kernel passed to a device method of
/// `D`'s class, attached by [`attach`] or not attached.
unsafe fn with_softc<D: Driver>(
    dev: sys::device_t,
    f: impl FnOnce(&D, &Device<'_>) -> Result,
) -> c_int {
    let Some(raw) = NonNull::new(dev) else {
        return 0;
    };
    // SAFETY: by the caller's contract.
    let Some(slot) = (unsafe { softc_slot::<D>(raw) }) else {
        return 0;
    };
    // SAFETY: the softc slot holds what `attach` wrote, or null.
    let p = unsafe { slot.as_ptr().read() };
    if p.is_null() {
        return 0;
    }
    // SAFETY: `p` came from `Box::into_raw` in `attach` and is freed only
    // by `detach`, which newbus does not run during another device
    // method (the bus topology lock, Giant, serialises them).
    let attached = unsafe { &*p };
    let d = Device {
        raw,
        att: Some(&attached.att),
        _call: PhantomData,
    };
    match f(&attached.value, &d) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `device_suspend` method of `D`'s class.
///
/// # Safety
/// `dev` must be the `device_t` the kernel passed to `DEVICE_SUSPEND`,
/// for `D`'s class.
#[doc(hidden)]
pub unsafe fn suspend<D: Driver>(dev: sys::device_t) -> c_int {
    // SAFETY: by the caller's contract.
    unsafe { with_softc::<D>(dev, D::suspend) }
}

/// The `device_resume` method of `D`'s class.
///
/// # Safety
/// As for [`suspend`], with `DEVICE_RESUME`.
#[doc(hidden)]
pub unsafe fn resume<D: Driver>(dev: sys::device_t) -> c_int {
    // SAFETY: by the caller's contract.
    unsafe { with_softc::<D>(dev, D::resume) }
}

/// The `device_shutdown` method of `D`'s class.
///
/// # Safety
/// As for [`suspend`], with `DEVICE_SHUTDOWN`.
#[doc(hidden)]
pub unsafe fn shutdown<D: Driver>(dev: sys::device_t) -> c_int {
    // SAFETY: by the caller's contract.
    unsafe { with_softc::<D>(dev, D::shutdown) }
}

/// One of the optional device methods (`DEVICE_SUSPEND`, `DEVICE_RESUME`,
/// `DEVICE_SHUTDOWN`) as the C symbol the shim's method table names,
/// calling kern's trampoline of the same name; for [`driver!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __driver_method {
    ($ty:ty, $symbol:ident, $method:ident) => {
        #[allow(
            unsafe_code,
            reason = "the C shim's method table refers to these names"
        )]
        #[unsafe(no_mangle)]
        extern "C" fn $symbol(dev: $crate::__private::sys::device_t) -> ::core::ffi::c_int {
            // SAFETY: the kernel calls the method with a device of this
            // class (the shim's method table).
            unsafe { $crate::driver::$method::<$ty>(dev) }
        }
    };
}

/// Declares a newbus driver: its type (a [`Driver`]), its name (the
/// devclass, `rustedu0`, and the module), the bus it attaches to, and the
/// module version. A driver crate uses this instead of
/// [`module!`](crate::module!): its module is the `DRIVER_MODULE` the
/// shim declares (named `bus/name`), with `MODULE_VERSION(name, version)`.
///
/// ```ignore
/// kern::driver!(type: Edu, name: "rustedu", bus: "pci", version: 1);
/// ```
#[macro_export]
macro_rules! driver {
    (
        type: $ty:ty,
        name: $name:literal,
        bus: $bus:literal,
        version: $version:literal
        $(,)?
    ) => {
        #[allow(
            unsafe_code,
            reason = "the C shim's method table refers to these names"
        )]
        #[unsafe(no_mangle)]
        extern "C" fn kmod_device_probe(
            dev: $crate::__private::sys::device_t,
        ) -> ::core::ffi::c_int {
            // SAFETY: the kernel calls DEVICE_PROBE with its device.
            unsafe { $crate::driver::probe::<$ty>(dev) }
        }

        #[allow(
            unsafe_code,
            reason = "the C shim's method table refers to these names"
        )]
        #[unsafe(no_mangle)]
        extern "C" fn kmod_device_attach(
            dev: $crate::__private::sys::device_t,
        ) -> ::core::ffi::c_int {
            // SAFETY: the kernel calls DEVICE_ATTACH with its device, of
            // this class (the shim's softc size).
            unsafe { $crate::driver::attach::<$ty>(dev) }
        }

        #[allow(
            unsafe_code,
            reason = "the C shim's method table refers to these names"
        )]
        #[unsafe(no_mangle)]
        extern "C" fn kmod_device_detach(
            dev: $crate::__private::sys::device_t,
        ) -> ::core::ffi::c_int {
            // SAFETY: the kernel calls DEVICE_DETACH with an attached
            // device of this class.
            unsafe { $crate::driver::detach::<$ty>(dev) }
        }

        $crate::__driver_method!($ty, kmod_device_suspend, suspend);
        $crate::__driver_method!($ty, kmod_device_resume, resume);
        $crate::__driver_method!($ty, kmod_device_shutdown, shutdown);

        #[allow(
            unsafe_code,
            reason = "kern's printing refers to the name by this symbol"
        )]
        #[allow(non_upper_case_globals, reason = "a symbol name, not a Rust constant")]
        #[unsafe(no_mangle)]
        static __kmod_name: &str = $name;

        const __KMOD_DECL_TEXT: &str = ::core::concat!(
            "name=", $name, "\n", "version=", $version, "\n", "driver=", $bus, "\n",
        );

        #[allow(
            unsafe_code,
            reason = "the build reads the declaration from this section"
        )]
        #[used]
        #[unsafe(link_section = ".kmod.decl")]
        static __KMOD_DECL: [u8; __KMOD_DECL_TEXT.len()] =
            $crate::module::decl_bytes(__KMOD_DECL_TEXT);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_freebsds_numbers() {
        assert_eq!(Priority::Specific.value(), 0);
        assert_eq!(Priority::Vendor.value(), -10);
        assert_eq!(Priority::Default.value(), -20);
        assert_eq!(Priority::LowPriority.value(), -40);
        assert_eq!(Priority::Generic.value(), -100);
    }

    #[test]
    fn registers_beyond_the_resource_or_misaligned_are_refused() {
        const MIB: u64 = 1 << 20;
        assert_eq!(register_in(0, 4, MIB), Ok(0));
        assert_eq!(register_in(MIB - 4, 4, MIB), Ok(MIB - 4));
        assert_eq!(register_in(MIB, 4, MIB), Err(code::EINVAL));
        assert_eq!(register_in(MIB - 2, 4, MIB), Err(code::EINVAL));
        assert_eq!(register_in(6, 4, MIB), Err(code::EINVAL));
        assert_eq!(register_in(u64::MAX - 1, 4, MIB), Err(code::EINVAL));
        assert_eq!(register_in(0, 4, 0), Err(code::EINVAL));
    }
}
