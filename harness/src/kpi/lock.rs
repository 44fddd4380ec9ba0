// SPDX-License-Identifier: BSD-2-Clause
//! mutex(9) and sx(9), with real blocking and WITNESS-like checks.
//!
//! The kernel's entry points are those the `mtx_*`/`sx_*` macros expand
//! to in a module (`LOCK_DEBUG > 0`, `sys/sys/mutex.h`, `sys/sys/sx.h`):
//! `_mtx_init`, `_mtx_destroy`, `__mtx_lock_flags`, `__mtx_unlock_flags`,
//! `_mtx_trylock_flags_` (taking the address of `mtx_lock`, see
//! [`mtx_of`]), `sx_init_flags`, `sx_destroy`, `_sx_xlock`, `_sx_xunlock`,
//! `_sx_slock`, `_sx_sunlock`, `sx_try_xlock_`; they call the
//! [`LockTable`] operations here.
//!
//! The lock word stays in the module's structure and is kept meaningful
//! (owner `curthread`, `MTX_UNOWNED`, `SX_LOCK_UNLOCKED`, the destroyed
//! cookies) so that `mtx_owned()`/`sx_xlocked()` work in module code; the
//! blocking and the checks use a side table keyed by the lock's address
//! (semantics of `sys/kern/kern_mutex.c`, `kern_sx.c`).
//!
//! `lock_init` (`sys/kern/subr_lock.c`) is followed as an `INVARIANTS`
//! kernel runs it: it reads `lo_flags` from the lock's memory and panics
//! with "lock \"%s\" %p already initialized" if `LO_INITIALIZED` is set
//! and the caller did not pass `MTX_NEW`/`SX_NEW` (`LO_NEW`). malloc(9)
//! memory not requested with `M_ZERO` is filled with `0xdeadc0de`, which
//! has that bit set, so `mtx_init` on it panics as on FreeBSD.
//! `lock_destroy` clears the bit, so a destroyed lock may be initialised
//! again.
//!
//! Using a destroyed lock is the `KASSERT` of each entry point
//! (`kern_mutex.c`: "mtx_lock() of destroyed mutex @ %s:%d", ...;
//! `kern_sx.c`: "sx_xlock() of destroyed sx @ %s:%d", ...): a panic.
//! Destroying a held sx lock is `sx_destroy`'s `KASSERT` ("sx lock still
//! held"), and a mutex another thread holds `_mtx_destroy`'s
//! `MPASS(mtx_unowned(m))`: panics too.
//!
//! Checks, recorded as violations (they fail the test), in the spirit of
//! `sys/kern/subr_witness.c`:
//! * sleeping (user-space `uiomove`, `copyin`/`copyout`, `M_WAITOK`
//!   malloc, acquiring an sx lock, `destroy_dev`) with a non-sleepable
//!   lock held (any `mtx` but `Giant`, which may be held across sleeps;
//!   the held locks and this check are per thread:
//!   [`crate::thread::witness`]);
//! * lock order reversals between lock names;
//! * unlocking a lock the thread does not hold;
//! * returning to user space with a lock held (`userret`).
//!
//! `sx_xlock_sig`/`sx_slock_sig` (`_sx_xlock`/`_sx_slock` with
//! `SX_INTERRUPTIBLE`) stop waiting when a signal is posted to the
//! thread (the caller says which: `EINTR`, or `ERESTART` for
//! `SA_RESTART`), as `_sx_xlock_hard` and `_sx_slock_hard` do with
//! `sleepq_wait_sig`; an uncontended acquire succeeds whatever is
//! pending.
//!
//! Recursing on a non-recursive lock is a panic, as with `INVARIANTS`
//! (`_mtx_lock_sleep`: "recursed on non-recursive mutex"), since it would
//! otherwise deadlock.

mod mtx;
mod sx;

pub(crate) use mtx::mtx_of;

use mtx::{CLASS_MTX_SLEEP, CLASS_MTX_SPIN};
use sx::CLASS_SX;

use crate::addr::{KAddr, KRange};
use crate::state::{Core, ViolationKind};
use crate::sync::{lock_ignoring_poison, wait_ignoring_poison};
use crate::thread::witness::{self, Held};
use crate::thread::{self, Panicked};
use core::ffi::{c_char, c_int};
use core::mem::offset_of;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Mtx { spin: bool, recurse: bool },
    Sx { recurse: bool },
}

impl Kind {
    /// The lock word of an unowned lock (`MTX_UNOWNED`, `SX_LOCK_UNLOCKED`).
    fn unlocked_word(self) -> usize {
        match self {
            Kind::Mtx { .. } => sys::MTX_UNOWNED as usize,
            Kind::Sx { .. } => sys::SX_LOCK_UNLOCKED as usize,
        }
    }

    /// The lock word of a destroyed lock (`MTX_DESTROYED`,
    /// `SX_LOCK_DESTROYED`).
    fn destroyed_word(self) -> usize {
        match self {
            Kind::Mtx { .. } => sys::MTX_DESTROYED as usize,
            Kind::Sx { .. } => sys::SX_LOCK_DESTROYED as usize,
        }
    }
}

/// The lock word of an sx lock held shared by `sharers` threads.
fn sx_shared_word(sharers: usize) -> usize {
    (sharers << sys::SX_SHARERS_SHIFT) | sys::SX_LOCK_SHARED as usize
}

#[derive(Default)]
struct State {
    /// Exclusive owner (`thread_key`), 0 if none.
    owner: usize,
    recursion: u32,
    /// Shared holders (sx), one entry per acquisition.
    sharers: Vec<usize>,
}

struct LockObj {
    name: String,
    kind: Kind,
    /// Where the lock word is (`mtx_lock` / `sx_lock`).
    word: KAddr,
    state: Mutex<State>,
    cv: Condvar,
}

impl LockObj {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock_ignoring_poison(&self.state)
    }

    fn class(&self) -> &'static str {
        match self.kind {
            Kind::Mtx { spin: true, .. } => "spin mutex",
            Kind::Mtx { .. } => "sleep mutex",
            Kind::Sx { .. } => "sx",
        }
    }

    fn store_word(&self, v: usize) {
        // SAFETY: `word` is the address of the lock word inside the
        // module's `struct mtx`/`struct sx`, valid and aligned while the
        // lock is initialised (the module owns it); it is only accessed
        // atomically here.
        let w = unsafe { AtomicUsize::from_ptr(self.word.ptr()) };
        w.store(v, Ordering::Release);
    }
}

/// A lock misuse that is a panic under `INVARIANTS`: recorded both as a
/// violation and as the kernel's panic.
fn fatal(k: &Core, msg: String) -> Panicked {
    k.violation(ViolationKind::Lock, msg.clone());
    k.record_panic(&msg);
    Panicked
}

/// The lock side table of one kernel.
#[derive(Default)]
pub(crate) struct LockTable {
    locks: Mutex<HashMap<KAddr, Arc<LockObj>>>,
    /// Observed orders: (held first, acquired second).
    order: Mutex<HashSet<(String, String)>>,
    /// Reversals already reported.
    reported: Mutex<HashSet<(String, String)>>,
}

fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        return String::from("(null)");
    }
    // SAFETY: lock names and file names are NUL-terminated strings
    // (literals in the module); checked for NULL above.
    unsafe { core::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

/// `file:line` of a lock operation, as WITNESS prints it.
fn file_line(file: *const c_char, line: c_int) -> String {
    format!("{}:{line}", cstr(file))
}

/// `lock_init` (`sys/kern/subr_lock.c`) with `INVARIANTS`: refuses memory
/// whose `lo_flags` say "initialised" unless `flags` has `LO_NEW`, then
/// sets the class index, the name and `flags | LO_INITIALIZED` (`LO_NEW`
/// stays in `lo_flags`, as it does on FreeBSD).
///
/// # Errors
/// `Panicked` after recording the panic ("lock \"%s\" %p already
/// initialized").
///
/// # Safety
/// `lo` must point to the `lock_object` of a lock the caller owns.
unsafe fn lock_init(
    k: &Core,
    lo: *mut sys::lock_object,
    class: u32,
    name: *const c_char,
    flags: u32,
) -> Result<(), Panicked> {
    // SAFETY: by the caller's contract.
    let o = unsafe { &mut *lo };
    if flags & sys::LO_NEW == 0 && o.lo_flags & sys::LO_INITIALIZED != 0 {
        return Err(fatal(
            k,
            format!(
                "lock \"{}\" {:#x} already initialized",
                cstr(name),
                KAddr::from_ptr(lo)
            ),
        ));
    }
    o.lo_flags = class << sys::LO_CLASSSHIFT;
    o.lo_name = name;
    o.lo_flags |= flags | sys::LO_INITIALIZED;
    // WITNESS_INIT: the harness's witness keeps its own table.
    o.lo_witness = core::ptr::null_mut();
    Ok(())
}

/// What a lock entry point does, for the `KASSERT` messages of a lock
/// used after its destruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `mtx_lock`, `sx_xlock`.
    Lock,
    /// `mtx_trylock`, `sx_try_xlock`.
    TryLock,
    /// `mtx_unlock`, `sx_xunlock`.
    Unlock,
    /// `sx_slock`.
    SLock,
    /// `sx_sunlock`.
    SUnlock,
}

/// The `KASSERT` message of a lock operation on a lock the table does
/// not know, from the lock's memory: a destroyed mutex or sx (the class
/// index `lock_init` left in `lo_flags` and the destroyed cookie in the
/// lock word) gets FreeBSD's "%s() of destroyed mutex @ %s:%d" /
/// "%s() of destroyed sx @ %s:%d"; anything else (never initialised) a
/// description of the misuse.
fn unknown_lock_message(addr: KAddr, op: Op, file: *const c_char, line: c_int) -> String {
    let lo = addr.ptr::<sys::lock_object>();
    let w = addr
        .wrapping_add(offset_of!(sys::mtx, mtx_lock))
        .ptr::<usize>();
    // SAFETY: `addr` is the `struct mtx`/`struct sx` the module passed;
    // both start with a `lock_object`.
    let flags = unsafe { (*lo).lo_flags };
    // SAFETY: as above; the lock word follows it in both.
    let word = unsafe { w.read_volatile() };
    let class = (flags & sys::LO_CLASSMASK) >> sys::LO_CLASSSHIFT;
    let at = file_line(file, line);
    if class == CLASS_SX && word == sys::SX_LOCK_DESTROYED as usize {
        let f = match op {
            Op::Lock => "sx_xlock",
            Op::TryLock => "sx_try_xlock",
            Op::Unlock => "sx_xunlock",
            Op::SLock => "sx_slock",
            Op::SUnlock => "sx_sunlock",
        };
        return format!("{f}() of destroyed sx @ {at}");
    }
    if (class == CLASS_MTX_SLEEP || class == CLASS_MTX_SPIN) && word == sys::MTX_DESTROYED as usize
    {
        let f = match op {
            Op::TryLock => "mtx_trylock",
            Op::Unlock | Op::SUnlock => "mtx_unlock",
            Op::Lock | Op::SLock => "mtx_lock",
        };
        return format!("{f}() of destroyed mutex @ {at}");
    }
    let what = match op {
        Op::Lock => "lock",
        Op::TryLock => "trylock",
        Op::Unlock => "unlock",
        Op::SLock => "sx_slock()",
        Op::SUnlock => "sx_sunlock()",
    };
    format!("{what} of uninitialized or destroyed lock {addr:#x} @ {at}")
}

impl LockTable {
    fn get(&self, addr: KAddr) -> Option<Arc<LockObj>> {
        lock_ignoring_poison(&self.locks).get(&addr).cloned()
    }

    /// The lock at `addr`, or `None` after reporting `misuse()` as a
    /// violation (release or destruction of a lock that does not exist).
    fn get_or_report(
        &self,
        k: &Core,
        addr: KAddr,
        misuse: impl FnOnce() -> String,
    ) -> Option<Arc<LockObj>> {
        let l = self.get(addr);
        if l.is_none() {
            k.violation(ViolationKind::Lock, misuse());
        }
        l
    }

    /// Registers a lock (mtx_init / sx_init). Returns false if it was
    /// already initialised.
    fn init(&self, addr: KAddr, word: KAddr, name: String, kind: Kind) -> bool {
        let obj = Arc::new(LockObj {
            name,
            kind,
            word,
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
        });
        lock_ignoring_poison(&self.locks)
            .insert(addr, obj)
            .is_none()
    }

    /// Registers `Giant` (at kernel creation).
    pub(crate) fn init_giant(&self, addr: KAddr) {
        self.init(
            addr,
            addr.wrapping_add(offset_of!(sys::mtx, mtx_lock)),
            String::from("Giant"),
            Kind::Mtx {
                spin: false,
                recurse: true,
            },
        );
    }

    /// Wakes every waiter (the kernel died).
    pub(crate) fn wake_all(&self) {
        for l in lock_ignoring_poison(&self.locks).values() {
            let _g = l.lock();
            l.cv.notify_all();
        }
    }

    /// Records the order "held before `name`" and reports reversals.
    fn check_order(&self, k: &Core, name: &str) {
        let held: Vec<String> = witness::with_held(|h| h.iter().map(|x| x.name.clone()).collect());
        for first in held {
            if first == name {
                continue;
            }
            let reversed =
                lock_ignoring_poison(&self.order).contains(&(name.to_owned(), first.clone()));
            if reversed {
                let key = (first.clone(), name.to_owned());
                if lock_ignoring_poison(&self.reported).insert(key) {
                    k.violation(
                        ViolationKind::Lock,
                        format!("lock order reversal:\n 1st {first}\n 2nd {name}\n (previously {name} before {first})"),
                    );
                }
            } else {
                lock_ignoring_poison(&self.order).insert((first, name.to_owned()));
            }
        }
    }

    /// Waits on `l` until `ready` holds; escapes if the kernel dies. With
    /// `intr` (an interruptible sx acquire), a signal ends the wait:
    /// `Ok(Err(EINTR or ERESTART))`.
    fn wait_until<'a>(
        k: &Core,
        l: &'a LockObj,
        mut g: MutexGuard<'a, State>,
        ready: impl Fn(&State) -> bool,
        intr: Option<&dyn Fn() -> Option<i32>>,
    ) -> Result<Result<MutexGuard<'a, State>, i32>, Panicked> {
        let slice = Duration::from_millis(if intr.is_some() { 10 } else { 50 });
        while !ready(&g) {
            if k.is_dead() {
                return Err(Panicked);
            }
            if let Some(e) = intr.and_then(|f| f()) {
                return Ok(Err(e));
            }
            g = wait_ignoring_poison(&l.cv, g, slice);
        }
        if k.is_dead() {
            return Err(Panicked);
        }
        Ok(Ok(g))
    }

    /// Exclusive acquire (mtx_lock, sx_xlock) of the lock at `addr`;
    /// `try_` does not block. `Ok(false)`: a try that failed;
    /// `Err`: the kernel panicked, the caller escapes.
    pub(crate) fn xlock(
        &self,
        k: &Core,
        addr: KAddr,
        try_: bool,
        file: *const c_char,
        line: c_int,
    ) -> Result<bool, Panicked> {
        self.xlock_intr(k, addr, try_, file, line, None)
            .map(|r| r.unwrap_or(false))
    }

    /// `_sx_xlock` with `SX_INTERRUPTIBLE` (sx_xlock_sig(9)): 0, or
    /// `EINTR`/`ERESTART` (`intr`'s answer) if a signal came while it
    /// waited (`_sx_xlock_hard`: `sleepq_wait_sig`).
    pub(crate) fn xlock_sig(
        &self,
        k: &Core,
        addr: KAddr,
        file: *const c_char,
        line: c_int,
        intr: &dyn Fn() -> Option<i32>,
    ) -> Result<i32, Panicked> {
        match self.xlock_intr(k, addr, false, file, line, Some(intr))? {
            Ok(_) => Ok(0),
            Err(e) => Ok(e),
        }
    }

    /// [`xlock`](Self::xlock), interruptible with `intr`.
    fn xlock_intr(
        &self,
        k: &Core,
        addr: KAddr,
        try_: bool,
        file: *const c_char,
        line: c_int,
        intr: Option<&dyn Fn() -> Option<i32>>,
    ) -> Result<Result<bool, i32>, Panicked> {
        let Some(l) = self.get(addr) else {
            let op = if try_ { Op::TryLock } else { Op::Lock };
            k.record_panic(&unknown_lock_message(addr, op, file, line));
            return Err(Panicked);
        };
        let me = thread::thread_key();
        let recurse = match l.kind {
            Kind::Mtx { recurse, .. } | Kind::Sx { recurse } => recurse,
        };
        let mut g = l.lock();
        if g.owner == me {
            if recurse {
                g.recursion += 1;
                return Ok(Ok(true));
            }
            if try_ {
                return Ok(Ok(false));
            }
            drop(g);
            let msg = match l.kind {
                Kind::Mtx { .. } => format!(
                    "_mtx_lock_sleep: recursed on non-recursive mutex {} @ {}",
                    l.name,
                    file_line(file, line)
                ),
                Kind::Sx { .. } => format!(
                    "_sx_xlock_hard: recursed on non-recursive sx {} @ {}",
                    l.name,
                    file_line(file, line)
                ),
            };
            return Err(fatal(k, msg));
        }
        if matches!(l.kind, Kind::Sx { .. }) && g.sharers.contains(&me) && !try_ {
            drop(g);
            let msg = format!(
                "_sx_xlock_hard: deadlock: sx {} share-locked by this thread @ {}",
                l.name,
                file_line(file, line)
            );
            return Err(fatal(k, msg));
        }
        let free = |s: &State| s.owner == 0 && s.sharers.is_empty();
        if try_ {
            if !free(&g) {
                return Ok(Ok(false));
            }
        } else {
            drop(g);
            if matches!(l.kind, Kind::Sx { .. }) {
                witness::check_may_sleep(k, &format!("Acquiring sx lock \"{}\"", l.name));
            }
            self.check_order(k, &l.name);
            g = match Self::wait_until(k, &l, l.lock(), free, intr)? {
                Ok(g) => g,
                Err(e) => return Ok(Err(e)),
            };
        }
        g.owner = me;
        g.recursion = 0;
        l.store_word(me);
        drop(g);
        let nonsleepable = matches!(l.kind, Kind::Mtx { .. }) && l.name != "Giant";
        push_held(addr, &l, nonsleepable, l.class(), file_line(file, line));
        Ok(Ok(true))
    }

    /// Exclusive release. `Err`: the lock was destroyed, the kernel
    /// panicked and the caller escapes.
    pub(crate) fn xunlock(
        &self,
        k: &Core,
        addr: KAddr,
        file: *const c_char,
        line: c_int,
    ) -> Result<(), Panicked> {
        let Some(l) = self.get(addr) else {
            return Self::unknown_release(k, addr, Op::Unlock, file, line);
        };
        let me = thread::thread_key();
        let mut g = l.lock();
        if g.owner != me {
            drop(g);
            let msg = match l.kind {
                Kind::Mtx { .. } => {
                    format!("mutex {} not owned at {}", l.name, file_line(file, line))
                }
                Kind::Sx { .. } => format!(
                    "Lock {} not exclusively locked @ {}",
                    l.name,
                    file_line(file, line)
                ),
            };
            k.violation(ViolationKind::Lock, msg);
            return Ok(());
        }
        if g.recursion > 0 {
            g.recursion -= 1;
            return Ok(());
        }
        g.owner = 0;
        l.store_word(l.kind.unlocked_word());
        l.cv.notify_all();
        drop(g);
        pop_held(addr);
        Ok(())
    }

    /// The release of a lock the table does not know: a panic if its
    /// memory says destroyed (the entry point's `KASSERT`), otherwise a
    /// violation (a release of a lock never initialised).
    fn unknown_release(
        k: &Core,
        addr: KAddr,
        op: Op,
        file: *const c_char,
        line: c_int,
    ) -> Result<(), Panicked> {
        let msg = unknown_lock_message(addr, op, file, line);
        if msg.contains(" of destroyed ") {
            return Err(fatal(k, msg));
        }
        k.violation(ViolationKind::Lock, msg);
        Ok(())
    }

    /// Shared acquire (sx_slock); `Err`: the kernel panicked.
    pub(crate) fn slock(
        &self,
        k: &Core,
        addr: KAddr,
        file: *const c_char,
        line: c_int,
    ) -> Result<(), Panicked> {
        self.slock_intr(k, addr, file, line, None).map(drop)
    }

    /// `_sx_slock` with `SX_INTERRUPTIBLE` (sx_slock_sig(9)): 0, or
    /// `EINTR`/`ERESTART` if a signal came while it waited.
    pub(crate) fn slock_sig(
        &self,
        k: &Core,
        addr: KAddr,
        file: *const c_char,
        line: c_int,
        intr: &dyn Fn() -> Option<i32>,
    ) -> Result<i32, Panicked> {
        self.slock_intr(k, addr, file, line, Some(intr))
            .map(|r| r.err().unwrap_or(0))
    }

    /// [`slock`](Self::slock), interruptible with `intr`.
    fn slock_intr(
        &self,
        k: &Core,
        addr: KAddr,
        file: *const c_char,
        line: c_int,
        intr: Option<&dyn Fn() -> Option<i32>>,
    ) -> Result<Result<(), i32>, Panicked> {
        let Some(l) = self.get(addr) else {
            k.record_panic(&unknown_lock_message(addr, Op::SLock, file, line));
            return Err(Panicked);
        };
        let me = thread::thread_key();
        if l.lock().owner == me {
            let msg = format!(
                "_sx_slock_hard: recursed on exclusive sx {} @ {}",
                l.name,
                file_line(file, line)
            );
            return Err(fatal(k, msg));
        }
        witness::check_may_sleep(k, &format!("Acquiring sx lock \"{}\"", l.name));
        self.check_order(k, &l.name);
        let mut g = match Self::wait_until(k, &l, l.lock(), |s| s.owner == 0, intr)? {
            Ok(g) => g,
            Err(e) => return Ok(Err(e)),
        };
        g.sharers.push(me);
        l.store_word(sx_shared_word(g.sharers.len()));
        drop(g);
        push_held(addr, &l, false, "sx", file_line(file, line));
        Ok(Ok(()))
    }

    /// Shared release. `Err`: the lock was destroyed, the kernel
    /// panicked and the caller escapes.
    pub(crate) fn sunlock(
        &self,
        k: &Core,
        addr: KAddr,
        file: *const c_char,
        line: c_int,
    ) -> Result<(), Panicked> {
        let Some(l) = self.get(addr) else {
            return Self::unknown_release(k, addr, Op::SUnlock, file, line);
        };
        let me = thread::thread_key();
        let mut g = l.lock();
        let Some(i) = g.sharers.iter().position(|&s| s == me) else {
            drop(g);
            k.violation(
                ViolationKind::Lock,
                format!(
                    "Lock {} not share-locked by this thread @ {}",
                    l.name,
                    file_line(file, line)
                ),
            );
            return Ok(());
        };
        g.sharers.swap_remove(i);
        let word = if g.sharers.is_empty() {
            sys::SX_LOCK_UNLOCKED as usize
        } else {
            sx_shared_word(g.sharers.len())
        };
        l.store_word(word);
        l.cv.notify_all();
        drop(g);
        pop_held(addr);
        Ok(())
    }

    /// Destroy (mtx_destroy / sx_destroy): the destroyed cookie in the
    /// lock word and `lock_destroy` (`LO_INITIALIZED` cleared).
    ///
    /// # Errors
    /// `Panicked` when `INVARIANTS` panics: an sx lock still held
    /// (`sx_destroy`: "sx lock still held"), a mutex another thread holds
    /// (`_mtx_destroy`: `MPASS(mtx_unowned(m))`). A mutex the caller
    /// holds may be destroyed.
    pub(crate) fn destroy(&self, k: &Core, addr: KAddr) -> Result<(), Panicked> {
        let Some(l) = self.get_or_report(k, addr, || {
            format!("destroy of uninitialized or destroyed lock {addr:#x}")
        }) else {
            return Ok(());
        };
        let me = thread::thread_key();
        let g = l.lock();
        let held_by_me = g.owner == me;
        let held = g.owner != 0 || !g.sharers.is_empty();
        drop(g);
        match l.kind {
            Kind::Mtx { .. } if held && !held_by_me => {
                return Err(fatal(
                    k,
                    format!(
                        "mtx_destroy: destroying mutex {} held by another thread",
                        l.name
                    ),
                ));
            }
            Kind::Sx { .. } if held => {
                k.violation(
                    ViolationKind::Lock,
                    format!("sx_destroy: sx lock {} still held", l.name),
                );
                k.record_panic("sx lock still held");
                return Err(Panicked);
            }
            _ => {}
        }
        if held_by_me {
            pop_held(addr);
        }
        lock_ignoring_poison(&self.locks).remove(&addr);
        l.store_word(l.kind.destroyed_word());
        // SAFETY: `addr` is the module's `struct mtx`/`struct sx` (it was
        // in the table), which starts with its `lock_object`.
        unsafe { (*addr.ptr::<sys::lock_object>()).lo_flags &= !sys::LO_INITIALIZED };
        l.cv.notify_all();
        Ok(())
    }

    /// Harness-side acquire of a lock by address (Giant around module
    /// events); `false` if the kernel died while waiting.
    pub(crate) fn lock_addr(&self, k: &Core, addr: KAddr) -> bool {
        self.xlock(k, addr, false, c"kern_linker.c".as_ptr(), 0)
            .is_ok()
    }

    /// Harness-side release.
    pub(crate) fn unlock_addr(&self, k: &Core, addr: KAddr) {
        // Giant is never destroyed: the release cannot panic.
        match self.xunlock(k, addr, c"kern_linker.c".as_ptr(), 0) {
            Ok(()) | Err(Panicked) => {}
        }
    }

    /// At the return to user space: a thread must hold no lock
    /// (`userret`). Reports and releases any.
    pub(crate) fn userret(&self, k: &Core) {
        let held: Vec<Held> = witness::with_held(core::mem::take);
        if held.is_empty() {
            return;
        }
        let names: Vec<String> = held
            .iter()
            .map(|h| format!("{} locked @ {}", h.name, h.at))
            .collect();
        k.violation(
            ViolationKind::Lock,
            format!(
                "userret: Returning with {} locks held: {}",
                held.len(),
                names.join(", ")
            ),
        );
        let me = thread::thread_key();
        for h in &held {
            if let Some(l) = self.get(h.addr) {
                let mut g = l.lock();
                if g.owner == me {
                    g.owner = 0;
                    g.recursion = 0;
                }
                if let Some(i) = g.sharers.iter().position(|&s| s == me) {
                    g.sharers.swap_remove(i);
                }
                l.cv.notify_all();
            }
        }
    }

    /// Forgets every lock whose structure lies in `range` (memory being
    /// freed); reports those still initialised.
    ///
    /// FreeBSD has no single assertion for this, but the lock stays known
    /// to the kernel after its memory is gone (`sys/kern/subr_witness.c`,
    /// read on FreeBSD's main branch: `enroll()` counts every initialised
    /// lock in its witness's `w_refcount`, which only `witness_destroy()`
    /// gives back, and `witness_lock()` records held locks by address in
    /// the thread's `td_sleeplocks`; `sys/kern/subr_lock.c`: the
    /// `LO_INITIALIZED` flag that `lock_destroy()` clears stays set in
    /// memory that is reused), so the test kernel makes it a violation.
    pub(crate) fn forget_freed(&self, k: &Core, range: KRange) {
        let mut locks = lock_ignoring_poison(&self.locks);
        let mut gone: Vec<KAddr> = locks
            .keys()
            .copied()
            .filter(|&a| range.contains(a))
            .collect();
        // In address order, as the structure declares them.
        gone.sort_unstable();
        for a in gone {
            if let Some(l) = locks.remove(&a) {
                k.violation(
                    ViolationKind::Lock,
                    format!(
                        "lock \"{}\" ({}) at {a:#x} {FREED_INITIALISED}",
                        l.name,
                        l.class()
                    ),
                );
            }
        }
    }

    /// Forgets every lock whose structure lies in `range` (the mapping of
    /// an unloaded module); reports those still initialised.
    pub(crate) fn forget_range(&self, k: &Core, range: KRange) {
        let mut locks = lock_ignoring_poison(&self.locks);
        let gone: Vec<KAddr> = locks
            .keys()
            .copied()
            .filter(|&a| range.contains(a))
            .collect();
        for a in gone {
            if let Some(l) = locks.remove(&a) {
                k.violation(
                    ViolationKind::Lock,
                    format!(
                        "lock \"{}\" ({}) was not destroyed before its module was unloaded",
                        l.name,
                        l.class()
                    ),
                );
            }
        }
    }
}

/// Why freed memory must not hold an initialised lock, for the violation.
const FREED_INITIALISED: &str =
    "still initialised when its memory was freed (missing mtx_destroy/sx_destroy)";

/// Records that this thread now holds `l` (at `addr`), as a lock of
/// `class`, taken at `at` (`file:line`).
fn push_held(addr: KAddr, l: &LockObj, nonsleepable: bool, class: &'static str, at: String) {
    witness::with_held(|h| {
        h.push(Held {
            addr,
            name: l.name.clone(),
            nonsleepable,
            class,
            at,
        });
    });
}

/// Records that this thread no longer holds the lock at `addr` (its most
/// recent acquisition).
fn pop_held(addr: KAddr) {
    witness::with_held(|h| {
        if let Some(i) = h.iter().rposition(|x| x.addr == addr) {
            h.remove(i);
        }
    });
}

/// How a sleep found its interlock, to take it back the same way
/// (`lc_unlock`'s return value, `lock_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InterlockMode {
    /// Held exclusively (a mutex, or an sx lock in exclusive mode).
    Exclusive,
    /// An sx lock held shared.
    Shared,
}

/// What kind of lock lives at an address, for the KPIs that take a
/// `struct lock_object *` (`LOCK_CLASS(lock)->lc_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockClass {
    /// A sleep mutex (`MTX_DEF`).
    SleepMutex,
    /// A spin mutex (`LC_SPINLOCK`).
    SpinMutex,
    /// An sx lock (`LC_SLEEPABLE`).
    Sx,
}

impl LockTable {
    /// The class of the initialised lock at `addr`, if any.
    pub(crate) fn class_of(&self, addr: KAddr) -> Option<LockClass> {
        self.get(addr).map(|l| match l.kind {
            Kind::Mtx { spin: true, .. } => LockClass::SpinMutex,
            Kind::Mtx { .. } => LockClass::SleepMutex,
            Kind::Sx { .. } => LockClass::Sx,
        })
    }

    /// The name of the initialised lock at `addr`, if any.
    pub(crate) fn name_of(&self, addr: KAddr) -> Option<String> {
        self.get(addr).map(|l| l.name.clone())
    }

    /// Whether this thread holds the lock at `addr` exclusively.
    pub(crate) fn owned(&self, addr: KAddr) -> bool {
        self.get(addr)
            .is_some_and(|l| l.lock().owner == thread::thread_key())
    }

    /// `lc_unlock` of a sleep's interlock (`unlock_mtx`, `unlock_sx`):
    /// the lock must be held by this thread and not recursed
    /// (`mtx_assert(m, MA_OWNED | MA_NOTRECURSED)`,
    /// `sx_assert(sx, SA_LOCKED | SA_NOTRECURSED)`), or the kernel
    /// panics with their messages, naming `what` ("_sleep", "cv_wait").
    pub(crate) fn release_for_sleep(
        &self,
        k: &Core,
        addr: KAddr,
        what: &str,
    ) -> Result<InterlockMode, Panicked> {
        let Some(l) = self.get(addr) else {
            return Err(fatal(
                k,
                format!("{what}: interlock {addr:#x} is not an initialised lock"),
            ));
        };
        let me = thread::thread_key();
        let g = l.lock();
        let excl = g.owner == me;
        let shared = g.sharers.contains(&me);
        let recursed = g.recursion > 0;
        drop(g);
        let at = "kern_synch.c:0";
        match l.kind {
            Kind::Mtx { .. } if !excl => {
                return Err(fatal(
                    k,
                    format!(
                        "mutex {} not owned at {at} ({what} with an interlock the thread does not hold)",
                        l.name
                    ),
                ));
            }
            Kind::Sx { .. } if !excl && !shared => {
                return Err(fatal(
                    k,
                    format!(
                        "Lock {} not locked @ {at} ({what} with an interlock the thread does not hold)",
                        l.name
                    ),
                ));
            }
            _ => {}
        }
        if recursed {
            return Err(fatal(
                k,
                format!(
                    "lock {} recursed at {at} ({what} cannot release a recursed interlock)",
                    l.name
                ),
            ));
        }
        let file = c"kern_synch.c".as_ptr();
        if excl {
            self.xunlock(k, addr, file, 0)?;
            Ok(InterlockMode::Exclusive)
        } else {
            self.sunlock(k, addr, file, 0)?;
            Ok(InterlockMode::Shared)
        }
    }

    /// `lc_lock` after a sleep: takes the interlock back as it was held.
    pub(crate) fn reacquire_after_sleep(
        &self,
        k: &Core,
        addr: KAddr,
        how: InterlockMode,
    ) -> Result<(), Panicked> {
        let file = c"kern_synch.c".as_ptr();
        match how {
            InterlockMode::Exclusive => self.xlock(k, addr, false, file, 0).map(drop),
            InterlockMode::Shared => self.slock(k, addr, file, 0),
        }
    }
}
