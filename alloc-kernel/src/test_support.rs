// SPDX-License-Identifier: BSD-2-Clause
//! Helpers shared by the unit tests: values that count their drops and can
//! panic when cloned.

use core::cell::Cell;

/// A value that counts its drops (and clones) in shared cells, and panics
/// on the clone after `clones_before_panic` successful ones (if set).
#[derive(Debug)]
pub(crate) struct Tracked<'a> {
    pub(crate) id: u32,
    log: &'a Log,
}

/// The counters of a family of [`Tracked`] values.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) drops: Cell<usize>,
    pub(crate) clones: Cell<usize>,
    pub(crate) clones_before_panic: Cell<Option<usize>>,
}

impl Log {
    pub(crate) fn new() -> Self {
        Log::default()
    }

    pub(crate) fn make(&self, id: u32) -> Tracked<'_> {
        Tracked { id, log: self }
    }

    pub(crate) fn drops(&self) -> usize {
        self.drops.get()
    }
}

impl Clone for Tracked<'_> {
    fn clone(&self) -> Self {
        if let Some(left) = self.log.clones_before_panic.get() {
            assert!(left != 0, "clone panics on purpose");
            self.log.clones_before_panic.set(Some(left - 1));
        }
        self.log.clones.set(self.log.clones.get() + 1);
        Tracked {
            id: self.id,
            log: self.log,
        }
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.log.drops.set(self.log.drops.get() + 1);
    }
}

impl PartialEq for Tracked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
