// SPDX-License-Identifier: BSD-2-Clause
//! sbuf(9): safe string buffers, fixed or growing, with a sticky error and
//! drains (`sbuf_new_for_sysctl` drains into a sysctl request).
//!
//! Followed: `sys/kern/subr_sbuf.c` of FreeBSD's main branch as of the
//! 15 series (read in the `fel1x-developer/freebsd-src` fork, whose
//! `struct sbuf` matches the FreeBSD 15 `sys/sbuf.h` the project builds
//! against), `sbuf_new_for_sysctl` and `sbuf_sysctl_drain` in
//! `sys/kern/kern_sysctl.c`, and `sbuf(9)`.
//!
//! * `struct sbuf` is the module's (a local or static) or comes from
//!   malloc(9) with the kernel's own type `sbuf` (`M_SBUF`), as does a
//!   buffer the kernel allocates; `SBUF_NOWAIT` makes those allocations
//!   `M_NOWAIT` (so fault injection reaches them), otherwise they are
//!   `M_WAITOK` and may not be made with a mutex held.
//! * A fixed buffer holds `length - 1` characters and the NUL; writing past
//!   it sets the sticky error `ENOMEM`: every later append fails (-1),
//!   `sbuf_len` is -1 and `sbuf_finish` returns `ENOMEM`, with what fitted
//!   kept. `SBUF_AUTOEXTEND` grows the buffer (powers of two from 16 up to
//!   a page, then whole pages), failing the same way when malloc fails.
//! * With a drain, a full buffer is handed to the drain instead; its
//!   negative return is the error, 0 is `EDEADLK`.
//! * The checks of an `INVARIANTS` kernel (`assert_sbuf_integrity`,
//!   `assert_sbuf_state` and the other `KASSERT`s) panic with FreeBSD's
//!   messages: using a finished sbuf, reading `sbuf_data` of an unfinished
//!   one, a buffer smaller than two bytes, ...
//! * Not emulated: sections (`sbuf_start_section`, `sbuf_end_section`),
//!   `sbuf_hexdump`, `sbuf_uionew`, `sbuf_copyin`, `sbuf_bcopyin`,
//!   `sbuf_putbuf`; a module using them fails to load by name.

use crate::addr::KAddr;
use crate::errno::Errno;
use crate::state::Core;
use crate::thread::{self, Panicked};
use core::ffi::{c_char, c_int, c_void};

/// `SBUF_MINSIZE`: one character and the NUL.
const SBUF_MINSIZE: isize = 2;
/// `SBUF_MINEXTENDSIZE`
const SBUF_MINEXTENDSIZE: isize = 16;
/// `SBUF_MAXEXTENDSIZE` and `SBUF_MAXEXTENDINCR`: `PAGE_SIZE`.
const SBUF_MAXEXTENDSIZE: isize = 4096;

/// The `SBUF_*` flags, as the `s_flags` field holds them (`int`).
const AUTOEXTEND: i32 = sys::SBUF_AUTOEXTEND.cast_signed();
const INCLUDENUL: i32 = sys::SBUF_INCLUDENUL.cast_signed();
const NOWAIT: i32 = sys::SBUF_NOWAIT.cast_signed();
const USRFLAGMSK: i32 = sys::SBUF_USRFLAGMSK.cast_signed();
const DYNAMIC: i32 = sys::SBUF_DYNAMIC.cast_signed();
const FINISHED: i32 = sys::SBUF_FINISHED.cast_signed();
const DYNSTRUCT: i32 = sys::SBUF_DYNSTRUCT.cast_signed();
const DRAINATEOL: i32 = sys::SBUF_DRAINATEOL.cast_signed();

/// Where sbuf memory comes from: malloc(9) with the kernel's `M_SBUF`
/// type. The kernel passes it in.
pub(crate) trait SbufMemory {
    /// `malloc(size, M_SBUF, flags | M_ZERO)`: null on failure.
    fn sbuf_alloc(&self, size: usize, flags: u32) -> *mut u8;
    /// `free(p, M_SBUF)`.
    fn sbuf_free(&self, p: KAddr);
}

/// What an sbuf function needs of the kernel.
pub(crate) struct Ctx<'a> {
    /// The shared core (panics, console).
    pub(crate) core: &'a Core,
    /// The memory.
    pub(crate) mem: &'a dyn SbufMemory,
}

/// The result of an sbuf operation: a value, or an `INVARIANTS` panic.
pub(crate) type SbufResult<T> = Result<T, Panicked>;

impl Ctx<'_> {
    /// A failed `KASSERT`: panics with `msg`.
    fn kassert(&self, ok: bool, msg: impl FnOnce() -> String) -> SbufResult<()> {
        if ok {
            return Ok(());
        }
        self.core.record_panic(&msg());
        Err(Panicked)
    }

    /// `assert_sbuf_integrity` of function `fun`.
    ///
    /// # Safety
    /// `s` is null or points to a `struct sbuf`.
    unsafe fn integrity(&self, fun: &str, s: *const sys::sbuf) -> SbufResult<()> {
        self.kassert(!s.is_null(), || {
            format!("{fun} called with a NULL sbuf pointer")
        })?;
        // SAFETY: non-null, by the contract a `struct sbuf`.
        let sb = unsafe { &*s };
        self.kassert(!sb.s_buf.is_null(), || {
            format!("{fun} called with uninitialized or corrupt sbuf")
        })?;
        if sb.s_flags & FINISHED != 0 && sb.s_flags & INCLUDENUL != 0 {
            self.kassert(sb.s_len <= sb.s_size, || {
                format!("wrote past end of sbuf ({} >= {})", sb.s_len, sb.s_size)
            })
        } else {
            self.kassert(sb.s_len < sb.s_size, || {
                format!("wrote past end of sbuf ({} >= {})", sb.s_len, sb.s_size)
            })
        }
    }

    /// `assert_sbuf_state`: `finished` is the state `fun` requires.
    fn state(&self, fun: &str, sb: &sys::sbuf, finished: bool) -> SbufResult<()> {
        self.kassert((sb.s_flags & FINISHED != 0) == finished, || {
            format!(
                "{fun} called with {}finished or corrupt sbuf",
                if finished { "un" } else { "" }
            )
        })
    }

    /// Both checks, for an unfinished sbuf.
    ///
    /// # Safety
    /// As [`integrity`](Self::integrity).
    unsafe fn writable<'s>(&self, fun: &str, s: *mut sys::sbuf) -> SbufResult<&'s mut sys::sbuf> {
        // SAFETY: forwarded contract.
        unsafe { self.integrity(fun, s) }?;
        // SAFETY: checked non-null; a `struct sbuf` by the contract, which
        // the calling module does not touch during the call.
        let sb = unsafe { &mut *s };
        self.state(fun, sb, false)?;
        Ok(sb)
    }

    /// The `KASSERT` of the functions that make no sense with a drain.
    fn no_drain(&self, fun: &str, sb: &sys::sbuf, s: *const sys::sbuf) -> SbufResult<()> {
        self.kassert(sb.s_drain_func.is_none(), || {
            format!("{fun} makes no sense on sbuf {:#x} with drain", s.addr())
        })
    }

    /// `SBMALLOC(size, flags)`.
    fn alloc(&self, size: isize, nowait: bool) -> *mut u8 {
        let flags = if nowait { sys::M_NOWAIT } else { sys::M_WAITOK };
        match usize::try_from(size) {
            Ok(n) => self.mem.sbuf_alloc(n, flags | sys::M_ZERO),
            Err(_) => core::ptr::null_mut(),
        }
    }
}

/// `SBUF_FREESPACE`
fn freespace(sb: &sys::sbuf) -> isize {
    sb.s_size - (sb.s_len + 1)
}

/// `sbuf_extendsize`
fn extendsize(size: isize) -> isize {
    if size < SBUF_MAXEXTENDSIZE {
        let mut n = SBUF_MINEXTENDSIZE;
        while n < size {
            n *= 2;
        }
        n
    } else {
        size.saturating_add(SBUF_MAXEXTENDSIZE - 1) & !(SBUF_MAXEXTENDSIZE - 1)
    }
}

/// `sbuf_extend`: whether the buffer grew.
fn extend(c: &Ctx<'_>, sb: &mut sys::sbuf, addlen: isize) -> bool {
    if sb.s_flags & AUTOEXTEND == 0 {
        return false;
    }
    // `sbuf_extendsize` takes an `int`: sizes beyond it cannot be had.
    let want = sb.s_size.saturating_add(addlen);
    if want > isize::try_from(i32::MAX).unwrap_or(isize::MAX) {
        return false;
    }
    let newsize = extendsize(want);
    let newbuf = c.alloc(newsize, sb.s_flags & NOWAIT != 0);
    if newbuf.is_null() {
        return false;
    }
    let old = usize::try_from(sb.s_size).unwrap_or(0);
    // SAFETY: the old buffer holds `s_size` bytes (the sbuf's invariant)
    // and the new one `newsize > s_size`; they are distinct.
    unsafe { core::ptr::copy_nonoverlapping(sb.s_buf.cast::<u8>(), newbuf, old) };
    if sb.s_flags & DYNAMIC != 0 {
        c.mem.sbuf_free(KAddr::from_ptr(sb.s_buf));
    } else {
        sb.s_flags |= DYNAMIC;
    }
    sb.s_buf = newbuf.cast();
    sb.s_size = newsize;
    true
}

/// `sbuf_count_drain(9)`: a drain that only counts, into `*(size_t *)arg`.
///
/// # Safety
/// `arg` a writable `size_t`.
pub(crate) unsafe extern "C" fn count_drain(
    arg: *mut c_void,
    _data: *const c_char,
    len: c_int,
) -> c_int {
    let n = usize::try_from(len).unwrap_or(0);
    // SAFETY: by the contract.
    unsafe { *arg.cast::<usize>() += n };
    len
}

/// `sbuf_sysctl_drain` (static in kern_sysctl.c): `SYSCTL_OUT` of the
/// buffer; the length taken, or the negated error.
///
/// # Safety
/// `arg` the `struct sysctl_req`; `data` readable for `len` bytes.
pub(crate) unsafe extern "C" fn sysctl_drain(
    arg: *mut c_void,
    data: *const c_char,
    len: c_int,
) -> c_int {
    let req = arg.cast::<sys::sysctl_req>();
    // SAFETY: the request of the handler that created the sbuf.
    let Some(out) = (unsafe { (*req).oldfunc }) else {
        return -Errno::EINVAL.0;
    };
    let n = usize::try_from(len).unwrap_or(0);
    // SAFETY: the request's own output function, with `n` readable bytes.
    let error = unsafe { out(req, data.cast(), n) };
    if error == 0 { len } else { -error }
}

/// The type of a drain (`sbuf_drain_func *`).
type DrainFn = unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int;

/// `sbuf_drain`: hands the buffer to the drain; returns `s_error`.
///
/// # Safety
/// `s` is a live sbuf with a drain (`sb` is `*s`).
unsafe fn drain(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<c_int> {
    // SAFETY: by the contract; the reference ends before the drain runs.
    let sb = unsafe { &*s };
    let (len, error, func, arg, buf) = (
        sb.s_len,
        sb.s_error,
        sb.s_drain_func,
        sb.s_drain_arg,
        sb.s_buf,
    );
    if len == 0 || error != 0 {
        return Ok(error);
    }
    let Some(func) = func else {
        return Ok(error);
    };
    // CAST: `s_len < s_size`, an `int` size.
    let ilen = len as c_int;
    let ours: [DrainFn; 2] = [sysctl_drain, count_drain];
    let ret = if ours.iter().any(|&f| f as usize == func as usize) {
        // The kernel's own drains run as the kernel function they are, not
        // as module code.
        // SAFETY: one of the drains above, with its argument and `s_len`
        // valid bytes, as sbuf_drain calls it.
        u64::from(unsafe { func(arg, buf, ilen) }.cast_unsigned())
    } else {
        // SAFETY: the module's drain (`sbuf_drain_func`), called with its
        // argument and the buffer's `s_len` valid bytes, as sbuf_drain
        // does.
        unsafe {
            thread::call(
                c.core,
                None,
                KAddr::new(func as usize),
                [
                    KAddr::from_ptr(arg).arg(),
                    KAddr::from_ptr(buf).arg(),
                    ilen.cast_unsigned().into(),
                    0,
                    0,
                    0,
                ],
            )
        }?
    };
    // CAST: the drain returns an `int`.
    let got = ret as u32 as i32;
    // SAFETY: by the contract; the drain has returned.
    let sb = unsafe { &mut *s };
    if got <= 0 {
        sb.s_error = if got == 0 { Errno::EDEADLK.0 } else { -got };
        return Ok(sb.s_error);
    }
    // CAST: a positive `int`.
    let got = got as isize;
    c.kassert(got <= sb.s_len, || {
        format!("Bad drain amount {got} for sbuf {:#x}", s.addr())
    })?;
    sb.s_len -= got;
    sb.s_rec_off -= got;
    if sb.s_len == 0 {
        // SAFETY: `got >= 1` bytes were in the buffer.
        let last = unsafe { *sb.s_buf.wrapping_offset(got - 1) };
        if last.cast_unsigned() == b'\n' {
            sb.s_flags |= DRAINATEOL;
        } else {
            sb.s_flags &= !DRAINATEOL;
        }
        return Ok(0);
    }
    let rest = sb.s_buf.wrapping_offset(got);
    // SAFETY: `s_len + got` bytes were valid; the rest moves to the front.
    unsafe { core::ptr::copy(rest, sb.s_buf, usize::try_from(sb.s_len).unwrap_or(0)) };
    Ok(0)
}

/// `sbuf_put_byte`: appends one byte (what `sbuf_putc` and each
/// character of `sbuf_printf` do).
///
/// # Safety
/// `s` a `struct sbuf` or null.
pub(crate) unsafe fn put_byte(c: &Ctx<'_>, s: *mut sys::sbuf, b: u8) -> SbufResult<()> {
    // SAFETY: forwarded contract.
    unsafe { put(c, "sbuf_put_byte", s, &[b]) }
}

/// `sbuf_put_bytes`: appends, draining or extending when full; sets the
/// sticky error on failure.
///
/// # Safety
/// `s` a `struct sbuf` or null.
pub(crate) unsafe fn put_bytes(c: &Ctx<'_>, s: *mut sys::sbuf, bytes: &[u8]) -> SbufResult<()> {
    // SAFETY: forwarded contract.
    unsafe { put(c, "sbuf_put_bytes", s, bytes) }
}

/// The append loop of `sbuf_put_bytes` and `sbuf_put_byte` (`fun`).
///
/// # Safety
/// `s` a `struct sbuf` or null.
unsafe fn put(c: &Ctx<'_>, fun: &str, s: *mut sys::sbuf, bytes: &[u8]) -> SbufResult<()> {
    // SAFETY: forwarded contract.
    let sb = unsafe { c.writable(fun, s) }?;
    if sb.s_error != 0 {
        return Ok(());
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `s` is live; the reference is re-taken after the drain.
        let sb = unsafe { &mut *s };
        if freespace(sb) <= 0 {
            if sb.s_drain_func.is_some() {
                // SAFETY: a live sbuf with a drain.
                unsafe { drain(c, s) }?;
            } else {
                let want = isize::try_from(rest.len()).unwrap_or(isize::MAX);
                // CAST: `int` fits `isize` on LP64.
                if !extend(c, sb, want.min(i32::MAX as isize)) {
                    sb.s_error = Errno::ENOMEM.0;
                }
            }
            // SAFETY: as above.
            let sb = unsafe { &mut *s };
            if sb.s_error != 0 {
                return Ok(());
            }
        }
        // SAFETY: as above.
        let sb = unsafe { &mut *s };
        let n = usize::try_from(freespace(sb)).unwrap_or(0).min(rest.len());
        let end = sb.s_buf.wrapping_offset(sb.s_len).cast::<u8>();
        // SAFETY: `n` bytes fit after `s_len` (the free space leaves room
        // for the NUL); `rest` has at least `n`.
        unsafe { core::ptr::copy_nonoverlapping(rest.as_ptr(), end, n) };
        // CAST: `n` is at most the free space, an `isize`.
        sb.s_len += n as isize;
        rest = &rest[n..];
    }
    Ok(())
}

/// -1 if the sbuf has an error, else 0 (what the append functions return).
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn status(s: *const sys::sbuf) -> c_int {
    // SAFETY: by the contract.
    if unsafe { (*s).s_error } != 0 { -1 } else { 0 }
}

/// `sbuf_new`
///
/// # Safety
/// `s` null or writable for a `struct sbuf`; `buf` null or writable for
/// `length` bytes that outlive the sbuf.
pub(crate) unsafe fn new(
    c: &Ctx<'_>,
    s: *mut sys::sbuf,
    buf: *mut core::ffi::c_char,
    length: c_int,
    flags: c_int,
) -> SbufResult<*mut sys::sbuf> {
    c.kassert(length >= 0, || {
        format!("attempt to create an sbuf of negative length ({length})")
    })?;
    c.kassert(flags & !USRFLAGMSK == 0, || {
        String::from("sbuf_new called with invalid flags")
    })?;
    c.kassert(
        // CAST: `int` to `isize`, lossless on LP64.
        flags & AUTOEXTEND != 0 || length as isize >= SBUF_MINSIZE,
        || format!("sbuf buffer {length} smaller than minimum {SBUF_MINSIZE} bytes"),
    )?;
    let flags = flags & USRFLAGMSK;
    let nowait = flags & NOWAIT != 0;
    let (s, dynstruct) = if s.is_null() {
        // CAST: a small structure size.
        let p = c.alloc(size_of::<sys::sbuf>() as isize, nowait);
        if p.is_null() {
            return Ok(core::ptr::null_mut());
        }
        (p.cast::<sys::sbuf>(), true)
    } else {
        (s, false)
    };
    // SAFETY: `s` is writable for a `struct sbuf` (the caller's, or the
    // zeroed block just allocated); every field is plain data.
    let sb = unsafe { &mut *s };
    if !dynstruct {
        // SAFETY: as above; all-zero is a valid `struct sbuf`.
        unsafe { core::ptr::write_bytes(s, 0, 1) };
    }
    sb.s_flags |= flags | DRAINATEOL | if dynstruct { DYNSTRUCT } else { 0 };
    // CAST: `length >= 0` (checked), an `int`.
    sb.s_size = length as isize;
    sb.s_buf = buf;
    if sb.s_buf.is_null() {
        if flags & AUTOEXTEND != 0 {
            sb.s_size = extendsize(sb.s_size);
        }
        let p = c.alloc(sb.s_size, nowait);
        if p.is_null() {
            if dynstruct {
                c.mem.sbuf_free(KAddr::from_ptr(s));
            }
            return Ok(core::ptr::null_mut());
        }
        sb.s_buf = p.cast();
        sb.s_flags |= DYNAMIC;
    }
    Ok(s)
}

/// `sbuf_set_drain`
///
/// # Safety
/// `s` a live sbuf; `func` null or a drain function.
pub(crate) unsafe fn set_drain(
    c: &Ctx<'_>,
    s: *mut sys::sbuf,
    func: sys::sbuf_drain_func,
    ctx: *mut core::ffi::c_void,
) -> SbufResult<()> {
    // SAFETY: forwarded contract.
    let sb = unsafe { c.writable("sbuf_set_drain", s) }?;
    let same = sb.s_drain_func.map(|f| f as usize) == func.map(|f| f as usize);
    c.kassert(same || sb.s_len == 0, || {
        format!(
            "Cannot change drain to {:#x} on non-empty sbuf {:#x}",
            func.map_or(0, |f| f as usize),
            s.addr()
        )
    })?;
    sb.s_drain_func = func;
    sb.s_drain_arg = ctx;
    Ok(())
}

/// `sbuf_clear`
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn clear(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<()> {
    // SAFETY: forwarded contract.
    unsafe { c.integrity("sbuf_clear", s) }?;
    // SAFETY: checked non-null.
    let sb = unsafe { &mut *s };
    c.no_drain("sbuf_clear", sb, s)?;
    sb.s_flags &= !FINISHED;
    sb.s_error = 0;
    sb.s_len = 0;
    sb.s_rec_off = 0;
    sb.s_sect_len = 0;
    Ok(())
}

/// `sbuf_cpy` and `sbuf_bcpy` (`fun`): clear, then append.
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn copy(
    c: &Ctx<'_>,
    fun: &str,
    s: *mut sys::sbuf,
    bytes: &[u8],
) -> SbufResult<c_int> {
    // SAFETY: forwarded contract.
    unsafe { c.writable(fun, s) }?;
    // SAFETY: as above.
    unsafe { clear(c, s) }?;
    // SAFETY: as above.
    unsafe { put_bytes(c, s, bytes) }?;
    // SAFETY: as above.
    Ok(unsafe { status(s) })
}

/// `sbuf_setpos`
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn setpos(c: &Ctx<'_>, s: *mut sys::sbuf, pos: isize) -> SbufResult<c_int> {
    // SAFETY: forwarded contract.
    let sb = unsafe { c.writable("sbuf_setpos", s) }?;
    c.kassert(pos >= 0, || {
        format!("attempt to seek to a negative position ({pos})")
    })?;
    c.kassert(pos < sb.s_size, || {
        format!("attempt to seek past end of sbuf ({pos} >= {})", sb.s_size)
    })?;
    if pos < 0 || pos > sb.s_len {
        return Ok(-1);
    }
    sb.s_len = pos;
    Ok(0)
}

/// `sbuf_trim`: drops trailing white space (`isspace` of sys/ctype.h).
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn trim(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<c_int> {
    // SAFETY: forwarded contract.
    let sb = unsafe { c.writable("sbuf_trim", s) }?;
    c.no_drain("sbuf_trim", sb, s)?;
    if sb.s_error != 0 {
        return Ok(-1);
    }
    while sb.s_len > 0 {
        // SAFETY: `0 <= s_len - 1 < s_size`.
        let ch = unsafe { *sb.s_buf.wrapping_offset(sb.s_len - 1) }.cast_unsigned();
        if ch != b' ' && !(b'\t'..=b'\r').contains(&ch) {
            break;
        }
        sb.s_len -= 1;
    }
    Ok(0)
}

/// `sbuf_nl_terminate`: a newline unless the text already ends in one.
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn nl_terminate(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<c_int> {
    // SAFETY: forwarded contract.
    let sb = unsafe { c.writable("sbuf_nl_terminate", s) }?;
    let need = if sb.s_len == 0 {
        sb.s_flags & DRAINATEOL == 0
    } else {
        // SAFETY: `0 <= s_len - 1 < s_size`.
        let last = unsafe { *sb.s_buf.wrapping_offset(sb.s_len - 1) };
        last.cast_unsigned() != b'\n'
    };
    if need {
        // SAFETY: as above.
        unsafe { put_bytes(c, s, b"\n") }?;
    }
    // SAFETY: as above.
    Ok(unsafe { status(s) })
}

/// `sbuf_finish`: NUL-terminates, drains, marks finished; returns the
/// sticky error.
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn finish(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<c_int> {
    // SAFETY: forwarded contract.
    let sb = unsafe { c.writable("sbuf_finish", s) }?;
    // SAFETY: `s_len < s_size` (checked): the NUL fits.
    unsafe { *sb.s_buf.wrapping_offset(sb.s_len) = 0 };
    if sb.s_flags & INCLUDENUL != 0 {
        sb.s_len += 1;
    }
    loop {
        // SAFETY: `s` is live; re-read after each drain.
        let sb = unsafe { &*s };
        let (len, err, has) = (sb.s_len, sb.s_error, sb.s_drain_func.is_some());
        if !has || len == 0 || err != 0 {
            break;
        }
        // SAFETY: a live sbuf with a drain.
        let e = unsafe { drain(c, s) }?;
        // SAFETY: as above.
        unsafe { (*s).s_error = e };
    }
    // SAFETY: as above.
    let sb = unsafe { &mut *s };
    sb.s_flags |= FINISHED;
    Ok(sb.s_error)
}

/// `sbuf_data`: the finished text.
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn data(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<*mut core::ffi::c_char> {
    // SAFETY: forwarded contract.
    unsafe { c.integrity("sbuf_data", s) }?;
    // SAFETY: checked non-null.
    let sb = unsafe { &*s };
    c.state("sbuf_data", sb, true)?;
    c.no_drain("sbuf_data", sb, s)?;
    Ok(sb.s_buf)
}

/// `sbuf_len`: -1 after an error; with `SBUF_INCLUDENUL`, the NUL counts.
///
/// # Safety
/// `s` a live sbuf.
pub(crate) unsafe fn len(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<isize> {
    // SAFETY: forwarded contract.
    unsafe { c.integrity("sbuf_len", s) }?;
    // SAFETY: checked non-null.
    let sb = unsafe { &*s };
    c.no_drain("sbuf_len", sb, s)?;
    if sb.s_error != 0 {
        return Ok(-1);
    }
    if sb.s_flags & INCLUDENUL != 0 && sb.s_flags & FINISHED == 0 {
        return Ok(sb.s_len + 1);
    }
    Ok(sb.s_len)
}

/// `sbuf_delete`: frees what sbuf_new allocated and clears the structure.
///
/// # Safety
/// `s` a live sbuf, not used afterwards (unless the module's own, which
/// it may `sbuf_new` again).
pub(crate) unsafe fn delete(c: &Ctx<'_>, s: *mut sys::sbuf) -> SbufResult<()> {
    // SAFETY: forwarded contract.
    unsafe { c.integrity("sbuf_delete", s) }?;
    // SAFETY: checked non-null.
    let sb = unsafe { &mut *s };
    if sb.s_flags & DYNAMIC != 0 {
        c.mem.sbuf_free(KAddr::from_ptr(sb.s_buf));
    }
    let dynstruct = sb.s_flags & DYNSTRUCT != 0;
    // SAFETY: as above; all-zero is a valid `struct sbuf`.
    unsafe { core::ptr::write_bytes(s, 0, 1) };
    if dynstruct {
        c.mem.sbuf_free(KAddr::from_ptr(s));
    }
    Ok(())
}

/// `sbuf_vprintf`'s checks before formatting (the formatting itself is
/// in C, one `sbuf_put_byte` per character).
///
/// # Safety
/// `s` null or a `struct sbuf`.
pub(crate) unsafe fn vprintf_begin(
    c: &Ctx<'_>,
    s: *mut sys::sbuf,
    fmt_is_null: bool,
) -> SbufResult<()> {
    // SAFETY: forwarded contract.
    unsafe { c.writable("sbuf_vprintf", s) }?;
    c.kassert(!fmt_is_null, || {
        String::from("sbuf_vprintf called with a NULL format string")
    })
}

/// Flags a module may read and change (`sbuf_get_flags`,
/// `sbuf_set_flags`, `sbuf_clear_flags`): the user part of `s_flags`.
pub(crate) const USER_FLAGS: i32 = USRFLAGMSK;

/// `SBUF_FINISHED`, for `sbuf_done`.
pub(crate) const FINISHED_FLAG: i32 = FINISHED;

#[cfg(test)]
mod tests {
    use super::extendsize;

    #[test]
    fn extend_sizes_follow_sbuf_extendsize() {
        assert_eq!(extendsize(1), 16);
        assert_eq!(extendsize(17), 32);
        assert_eq!(extendsize(4095), 4096);
        assert_eq!(extendsize(4096), 4096);
        assert_eq!(extendsize(4097), 8192);
    }
}
