// SPDX-License-Identifier: BSD-2-Clause
//! Ring brands: how a [`ByteRing`](super::ByteRing) knows that a token or a
//! slot is its own.
//!
//! - [`Unbranded`] (the default): any number of rings share the type, so
//!   the ring compares the token's (or slot's) storage with its own at run
//!   time, on every slot and every commit.
//! - [`Unique<T>`]: at most one ring of brand `Unique<T>` is alive in the
//!   module at a time (its storage, shared by the ring and its tokens,
//!   holds the brand until the last of the three goes; making a second one
//!   meanwhile fails with `EBUSY`). A token or slot of that brand can then
//!   only be that ring's, and one of another brand does not compile: the
//!   ring checks nothing at run time.
//!
//! The brand registry is one table of atomics per module (kern is linked
//! into each): a live brand holds one entry, its type's 64-bit hash. A
//! module has a brand or two alive, out of 64 entries.

use crate::error::{Result, code};
use core::any::TypeId;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU64, Ordering};

/// The entries of the brand table.
const ENTRIES: usize = 64;

/// The brand table: 0 for a free entry, else the key of the brand that
/// holds it.
static CLAIMED: [AtomicU64; ENTRIES] = [const { AtomicU64::new(0) }; ENTRIES];

mod sealed {
    pub trait Sealed {}
}

/// How a ring proves that a token or slot is its own; implemented by
/// [`Unbranded`] and [`Unique`] only (sealed).
pub trait Brand: sealed::Sealed + Send + Sync + 'static {
    /// Whether the ring compares identities at run time.
    #[doc(hidden)]
    const CHECKED: bool;

    /// Claims the brand for a new ring; `EBUSY` if a ring of the brand is
    /// alive (or one whose brand shares its entry).
    #[doc(hidden)]
    fn claim() -> Result;

    /// Gives the brand back, when the ring and both tokens are gone.
    #[doc(hidden)]
    fn release();
}

/// Rings of this brand check identities at run time; see [`kern::ring`](crate::ring).
#[derive(Debug)]
pub enum Unbranded {}

impl sealed::Sealed for Unbranded {}

impl Brand for Unbranded {
    const CHECKED: bool = true;

    #[inline]
    fn claim() -> Result {
        Ok(())
    }

    #[inline]
    fn release() {}
}

/// At most one ring of this brand is alive at a time, so identity holds by
/// construction; see [`kern::ring`](crate::ring). `T` is any type of the module's
/// own (an empty `enum` will do) that names the ring.
pub struct Unique<T: 'static>(PhantomData<fn() -> T>);

impl<T: 'static> sealed::Sealed for Unique<T> {}

impl<T: 'static> Brand for Unique<T> {
    const CHECKED: bool = false;

    fn claim() -> Result {
        let key = key::<T>();
        // Taken if any entry holds the key.
        if CLAIMED.iter().any(|e| e.load(Ordering::SeqCst) == key) {
            return Err(code::EBUSY);
        }
        // Take a free entry, then look again: two threads claiming the
        // same brand at once each store before they look, so (in the one
        // order of sequentially consistent operations) at least one sees
        // the other's entry and gives its own back. At most one wins;
        // both may lose, as if the brand were taken.
        let Some(mine) = CLAIMED.iter().find(|e| {
            e.compare_exchange(0, key, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        }) else {
            // Every entry is held: as many brands as entries are alive.
            return Err(code::EBUSY);
        };
        let others = CLAIMED
            .iter()
            .filter(|e| e.load(Ordering::SeqCst) == key)
            .count();
        if others > 1 {
            mine.store(0, Ordering::SeqCst);
            return Err(code::EBUSY);
        }
        Ok(())
    }

    fn release() {
        let key = key::<T>();
        // Exactly one entry holds the key while a ring of the brand lives
        // (`claim`); nobody else stores to a held entry.
        if let Some(mine) = CLAIMED.iter().find(|e| e.load(Ordering::SeqCst) == key) {
            mine.store(0, Ordering::SeqCst);
        }
    }
}

/// The key of brand `T` in the table (never 0): a hash of its type, 64
/// bits. Two brands whose keys collide behave as one (the second is
/// refused while the first lives): safe, and not expected.
fn key<T: 'static>() -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    TypeId::of::<T>().hash(&mut h);
    h.0 | 1
}

/// FNV-1a, 64 bits: enough to spread brand types over the table.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}
