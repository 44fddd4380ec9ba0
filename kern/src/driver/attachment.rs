// SPDX-License-Identifier: BSD-2-Clause
//! An attachment: the span from a successful `DEVICE_ATTACH` to the end of
//! `DEVICE_DETACH`, which every resource of the device refers to.
//!
//! A C driver that keeps a `struct resource *` past its detach uses memory
//! the bus has reclaimed (`pci_child_detached` in `sys/dev/pci/pci.c`
//! releases what a detached driver still holds, `bus_teardown_intr` and
//! `bus_release_resource` on it later are use-after-free). A Rust softc
//! is dropped at detach, and its resources with it, but a driver could
//! still move a [`Memory`](super::Memory) or an
//! [`Interrupt`](crate::intr::Interrupt) somewhere that outlives the
//! softc (a global, a leaked `Arc`). kern makes that a clean error rather
//! than a use-after-free: each resource holds the [`Attachment`] it was
//! allocated in, which kern ends after the softc is dropped; from then on
//! register accesses fail with `ENXIO`, and dropping the resource does
//! not call the bus (which already reclaimed it, and reports the leak).
//!
//! This is what FreeBSD driver authors expect of `ENXIO` ("device not
//! configured", as a `cdev` whose device is gone answers), and it costs
//! two atomic operations per register access.

use crate::error::{Result, code};
use core::sync::atomic::{AtomicU32, Ordering};

/// The "ended" bit of [`Attachment::state`]; the other bits count the
/// accesses in flight.
const ENDED: u32 = 1 << 31;

/// Whether a device's attachment is still live, and how many accesses
/// to its resources are running.
///
/// # Invariants
/// Once `ENDED` is set it stays set, and no access starts afterwards.
#[derive(Debug)]
pub(crate) struct Attachment {
    state: AtomicU32,
}

/// An access in flight: counted in `state` until dropped.
struct InFlight<'a>(&'a Attachment);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.state.fetch_sub(1, Ordering::Release);
    }
}

impl Attachment {
    /// A live attachment.
    pub(crate) const fn new() -> Self {
        Attachment {
            state: AtomicU32::new(0),
        }
    }

    /// Runs `f` (an access to one of the attachment's resources) if the
    /// attachment is live.
    ///
    /// # Errors
    /// `ENXIO` once it has ended (the device was detached); also `EBUSY`
    /// if 2^31 accesses were running at once.
    pub(crate) fn access<R>(&self, f: impl FnOnce() -> R) -> Result<R> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & ENDED != 0 {
                return Err(code::ENXIO);
            }
            let next = cur.checked_add(1).filter(|n| n & ENDED == 0);
            let Some(next) = next else {
                return Err(code::EBUSY);
            };
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(seen) => cur = seen,
            }
        }
        let _in_flight = InFlight(self);
        Ok(f())
    }

    /// Runs `f` (the release of one of the attachment's resources) if the
    /// attachment is live; after it ended, the bus has reclaimed the
    /// resource and `f` is not run.
    pub(crate) fn if_live(&self, f: impl FnOnce()) {
        // Err: ended, and the bus has reclaimed the resource.
        self.access(f).unwrap_or(());
    }

    /// Ends the attachment: no access starts any more, and the ones
    /// running finish before this returns (they are single register
    /// accesses, or a teardown that waits for a running handler).
    pub(crate) fn end(&self) {
        // INVARIANT: ENDED is set once and for all.
        let mut cur = self.state.fetch_or(ENDED, Ordering::AcqRel);
        while cur & !ENDED != 0 {
            core::hint::spin_loop();
            cur = self.state.load(Ordering::Acquire);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_run_until_the_attachment_ends() {
        let a = Attachment::new();
        assert_eq!(a.access(|| 7), Ok(7));
        assert_eq!(a.state.load(Ordering::Relaxed), 0, "not counted after");
        a.end();
        assert_eq!(a.access(|| 7), Err(code::ENXIO));
        a.end();
        assert_eq!(a.access(|| 7), Err(code::ENXIO));
    }

    #[test]
    fn an_access_in_flight_is_counted() {
        let a = Attachment::new();
        let inner = a.access(|| a.state.load(Ordering::Relaxed));
        assert_eq!(inner, Ok(1));
    }
}
