// SPDX-License-Identifier: BSD-2-Clause
//! Interrupts of newbus devices: [`Irq`], an interrupt resource
//! (`bus_alloc_resource_any(9)`, `SYS_RES_IRQ`), and [`Interrupt`], a
//! handler set up on it (`bus_setup_intr(9)`) and torn down in `Drop`
//! (`bus_teardown_intr(9)`).
//!
//! A handler is a [`Handler`]: a filter that runs in the interrupt's
//! primary context with a [`Filter`] token (no sleeping, no sleep mutex),
//! and an ithread handler that runs in the interrupt thread with a
//! [`NoSleep`] token (it may take a mutex, it may not sleep) when the
//! filter returns [`FilterResult::ScheduleThread`].
//!
//! Teardown order cannot be got wrong: [`Interrupt::setup`] takes the
//! handler's state as an [`Arc`] and keeps a reference until its `Drop`
//! has torn the handler down, and it owns the [`Irq`], released after
//! the teardown. FreeBSD's `bus_teardown_intr` waits for a handler that
//! is running (`intr_event_remove_handler` in `sys/kern/kern_intr.c`, as
//! read in freebsd-src's main branch, the `CK_SLIST` version of FreeBSD
//! 13 and later: it sets `IH_DEAD`, schedules the ithread and sleeps on
//! `iev_rmh` until the ithread has removed it between two runs of the
//! handlers), so once `Drop` returns nothing runs the handler any more
//! and the state may go.
//!
//! Followed (FreeBSD 15): `sys/sys/bus.h` (`driver_filter_t`,
//! `FILTER_STRAY`, `FILTER_HANDLED`, `FILTER_SCHEDULE_THREAD`,
//! `INTR_TYPE_MISC`, `INTR_MPSAFE`, `bus_setup_intr`, `bus_teardown_intr`),
//! `sys/sys/rman.h` (`RF_ACTIVE`, `RF_SHAREABLE`), `sys/kern/kern_intr.c`
//! (`intr_event_handle` runs the filters in a critical section, asserts
//! that a filter returns `FILTER_STRAY` or a combination of
//! `FILTER_HANDLED` and `FILTER_SCHEDULE_THREAD`, and schedules the
//! ithread for a return equal to `FILTER_SCHEDULE_THREAD`;
//! `ithread_execute_handlers` runs the handlers with
//! `THREAD_NO_SLEEPING`; `intr_event_remove_handler` waits).

mod msi;

use crate::alloc::Arc;
use crate::context::{Filter, NoSleep, Sleepable};
use crate::driver::{Attachment, Device};
use crate::error::{Error, Result, code};
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;

/// What a filter tells the kernel (`FILTER_*` of `sys/sys/bus.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterResult {
    /// `FILTER_HANDLED`: the interrupt was this device's and is done.
    Handled,
    /// `FILTER_STRAY`: not this device's interrupt (a shared line).
    Stray,
    /// `FILTER_SCHEDULE_THREAD`: this device's; run the ithread handler
    /// ([`Handler::ithread`]). Alone, not or-ed with `FILTER_HANDLED`:
    /// `intr_event_handle` schedules the thread only for a return equal
    /// to `FILTER_SCHEDULE_THREAD`.
    ScheduleThread,
}

impl FilterResult {
    /// The value the filter returns to the kernel.
    #[must_use]
    pub const fn value(self) -> c_int {
        // Small constants of sys/bus.h: the sign bit is clear.
        match self {
            FilterResult::Handled => sys::FILTER_HANDLED.cast_signed(),
            FilterResult::Stray => sys::FILTER_STRAY.cast_signed(),
            FilterResult::ScheduleThread => sys::FILTER_SCHEDULE_THREAD.cast_signed(),
        }
    }
}

/// An interrupt handler's state and code.
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use kern::context::{Filter, NoSleep};
/// use kern::intr::{FilterResult, Handler};
///
/// struct Counter(AtomicU64);
/// impl Handler for Counter {
///     fn filter(&self, _cx: &mut Filter) -> FilterResult {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         FilterResult::Handled
///     }
/// }
/// ```
pub trait Handler: Send + Sync + 'static {
    /// The filter (`driver_filter_t`): runs in the interrupt's primary
    /// context, in a critical section. By default it schedules the
    /// ithread handler.
    fn filter(&self, _cx: &mut Filter) -> FilterResult {
        FilterResult::ScheduleThread
    }

    /// The ithread handler (`driver_intr_t`): runs in the interrupt
    /// thread after the filter asked for it. It may take a mutex but not
    /// sleep.
    fn ithread(&self, _cx: &mut NoSleep) {}
}

/// An active interrupt resource of a device (`SYS_RES_IRQ`), released on
/// drop: the legacy interrupt ([`Device::alloc_irq`]) or an MSI message
/// ([`Device::alloc_msi_irq`]), whose allocation the `Irq` owns and
/// releases after the resource (`pci_release_msi(9)` refuses while the
/// resource is allocated).
///
/// Like a [`Memory`](crate::driver::Memory), an `Irq` belongs to the
/// attachment it was allocated in: after the device's detach it is dead,
/// setting a handler up on it fails with `ENXIO` and dropping it does
/// nothing (the bus reclaimed it).
///
/// # Invariants
/// `res` is an active `SYS_RES_IRQ` resource allocated for `dev` while
/// `att` lives, released by `Drop` only (or by the bus after `att`
/// ended); with `msi`, its rid is the message's.
#[derive(Debug)]
pub struct Irq {
    dev: NonNull<sys::_device>,
    res: NonNull<sys::resource>,
    att: Arc<Attachment>,
    // Dropped after `Drop::drop` released `res`.
    msi: Option<msi::Msi>,
}

impl Irq {
    /// Whether this is an MSI message rather than the legacy interrupt.
    #[must_use]
    pub fn is_msi(&self) -> bool {
        self.msi.is_some()
    }
}

// SAFETY: the resource is only passed to the bus's functions, which lock
// their own state; it is released once, in `Drop`.
unsafe impl Send for Irq {}
// SAFETY: `&Irq` allows nothing but reading the immutable pointers.
unsafe impl Sync for Irq {}

impl Device<'_> {
    /// Allocates and activates the device's legacy interrupt (`INTx`: rid 0,
    /// `RF_ACTIVE | RF_SHAREABLE`): `bus_alloc_resource_any(9)` with
    /// `SYS_RES_IRQ`.
    ///
    /// # Errors
    /// `ENXIO` if the bus has no interrupt for the device (or while MSI
    /// messages are allocated), or in `probe`.
    pub fn alloc_irq(&self) -> Result<Irq> {
        let att = self.attachment()?;
        let mut rid: c_int = 0;
        let ty = c_int::try_from(sys::SYS_RES_IRQ).map_err(|_| code::EINVAL)?;
        let dev = self.raw();
        // SAFETY: a live device (the `Device` invariant); `rid` is a valid
        // int to update.
        let r = unsafe {
            sys::shim_bus_alloc_resource_any(
                dev.as_ptr(),
                ty,
                &raw mut rid,
                sys::RF_ACTIVE | sys::RF_SHAREABLE,
            )
        };
        let res = NonNull::new(r).ok_or(code::ENXIO)?;
        // INVARIANT: allocated for `dev`, released only by `Drop`.
        Ok(Irq {
            dev,
            res,
            att,
            msi: None,
        })
    }
}

impl Drop for Irq {
    fn drop(&mut self) {
        // After the attachment ended the bus has reclaimed the resource.
        self.att.if_live(|| {
            // SAFETY: allocated for `dev`, live, released once (type
            // invariant); no handler is set up on it any more (an
            // `Interrupt` owns the `Irq` and tears its handler down
            // before dropping it).
            let _ = unsafe { sys::bus_release_resource(self.dev.as_ptr(), self.res.as_ptr()) };
        });
    }
}

/// A handler set up on an interrupt (`bus_setup_intr(9)`), torn down on
/// drop (`bus_teardown_intr(9)`, which waits for a running handler),
/// before the interrupt resource and the handler's state are released.
///
/// # Invariants
/// `cookie` is the handler `bus_setup_intr` set up on `irq` with
/// `Arc::as_ptr(&state)` as its argument, torn down by `Drop` only.
pub struct Interrupt<T: Handler> {
    cookie: NonNull<c_void>,
    // Dropped after `Drop::drop` tore the handler down, in this order.
    irq: Irq,
    state: Arc<T>,
}

// SAFETY: the cookie is only passed back to bus_teardown_intr, once; the
// other fields are `Send`.
unsafe impl<T: Handler> Send for Interrupt<T> {}
// SAFETY: `&Interrupt` only gives `&T` (`T: Sync`).
unsafe impl<T: Handler> Sync for Interrupt<T> {}

impl<T: Handler> Interrupt<T> {
    /// Sets up `T`'s filter and ithread handler on `irq`
    /// (`INTR_TYPE_MISC | INTR_MPSAFE`), with `state` as their argument.
    ///
    /// # Errors
    /// The errno of `bus_setup_intr`; `irq` and `state` are dropped.
    ///
    /// # Context
    /// May sleep (`bus_setup_intr` allocates with `M_WAITOK`).
    pub fn setup(irq: Irq, state: Arc<T>, _cx: &mut Sleepable) -> Result<Self> {
        let mut cookie: *mut c_void = core::ptr::null_mut();
        let arg = Arc::as_ptr(&state).cast_mut().cast::<c_void>();
        // The intr_type flags are small: the sign bit is clear.
        let flags = (sys::INTR_TYPE_MISC | sys::INTR_MPSAFE).cast_signed();
        // SAFETY: `irq` is an active interrupt resource of its device; the
        // trampolines are `T`'s and `arg` is a `T` that stays alive until
        // the handler is torn down (the `Arc` kept below, dropped after
        // `Drop::drop`); `cookie` is a valid pointer to write.
        let r = irq.att.access(|| unsafe {
            sys::bus_setup_intr(
                irq.dev.as_ptr(),
                irq.res.as_ptr(),
                flags,
                Some(filter::<T>),
                Some(ithread::<T>),
                arg,
                &raw mut cookie,
            )
        })?;
        Error::from_ret(r)?;
        let cookie = NonNull::new(cookie).ok_or(code::ENXIO)?;
        // INVARIANT: set up with `state`'s pointer, torn down by `Drop`.
        Ok(Interrupt { cookie, irq, state })
    }

    /// The handler's state.
    #[must_use]
    pub fn state(&self) -> &Arc<T> {
        &self.state
    }
}

impl<T: Handler> Drop for Interrupt<T> {
    fn drop(&mut self) {
        // After the attachment ended, the handler was removed with the
        // device's resources (and reported as a leak): nothing to tear
        // down.
        self.irq.att.if_live(|| {
            // SAFETY: the handler set up on `irq` (type invariant), torn
            // down once, while the resource is live. bus_teardown_intr
            // waits for a running filter or ithread handler, so after it
            // `state` is no longer used by the kernel.
            let _ = unsafe {
                sys::bus_teardown_intr(
                    self.irq.dev.as_ptr(),
                    self.irq.res.as_ptr(),
                    self.cookie.as_ptr(),
                )
            };
        });
    }
}

impl<T: Handler> core::fmt::Debug for Interrupt<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Interrupt")
            .field("irq", &self.irq)
            .finish_non_exhaustive()
    }
}

/// The filter trampoline: `T::filter` with a [`Filter`] token.
///
/// # Safety
/// Called by the kernel as the filter set up by [`Interrupt::setup`]:
/// `arg` is the `T` of that `Interrupt`, alive until it is torn down.
unsafe extern "C" fn filter<T: Handler>(arg: *mut c_void) -> c_int {
    // SAFETY: by the contract, a live `T`, only shared.
    let state = unsafe { &*arg.cast_const().cast::<T>() };
    // SAFETY: this is an interrupt filter's entry point; the token lives
    // for this call.
    let mut cx = unsafe { Filter::new() };
    state.filter(&mut cx).value()
}

/// The ithread trampoline: `T::ithread` with a [`NoSleep`] token.
///
/// # Safety
/// As for [`filter`]; called in the interrupt thread, holding no lock.
unsafe extern "C" fn ithread<T: Handler>(arg: *mut c_void) {
    // SAFETY: as in `filter`.
    let state = unsafe { &*arg.cast_const().cast::<T>() };
    // SAFETY: an ithread handler may block on a mutex and holds none of
    // kern's; the token lives for this call.
    let mut cx = unsafe { NoSleep::new() };
    state.ithread(&mut cx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_results_are_freebsds_numbers() {
        assert_eq!(FilterResult::Stray.value(), 1);
        assert_eq!(FilterResult::Handled.value(), 2);
        // Alone: intr_event_handle schedules the ithread only for 4.
        assert_eq!(FilterResult::ScheduleThread.value(), 4);
    }
}
