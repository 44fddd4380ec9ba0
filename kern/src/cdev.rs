// SPDX-License-Identifier: BSD-2-Clause
//! Character devices: the [`CharacterDevice`] trait and the
//! [`Registration`] that owns a device node.
//!
//! C header: `sys/sys/conf.h`. Manual pages: `make_dev(9)` (`make_dev_s`,
//! `destroy_dev`), `devfs_set_cdevpriv(9)`, `cdevsw` in `conf.h`.
//! Implementation: `sys/kern/kern_conf.c`, `sys/fs/devfs/devfs_vnops.c`.
//!
//! A module implements [`CharacterDevice`] for its device-wide state and
//! registers it with [`Registration::register`]; the module value keeps the
//! registration, and dropping it (at `MOD_UNLOAD`) destroys the device.
//!
//! * `open` returns a per-open value (`CharacterDevice::Open`), attached to
//!   the open file with `devfs_set_cdevpriv(9)`. It is dropped when the last
//!   descriptor of that file is closed, or when the device is destroyed;
//!   a device without per-open state (`type Open = ()`, which
//!   `#[kern::vtable]` fills in, with an `open` that accepts every open,
//!   when the impl leaves both out) gets no record at all: an open
//!   allocates nothing and cannot fail with `ENOMEM` (see
//!   [`CharacterDevice::Open`]);
//!   the kernel does neither while a method runs on that file (the file is
//!   referenced during a system call, and `destroy_dev` first waits for the
//!   threads inside the driver), so `read`, `write` and `ioctl` may borrow
//!   it: they get a [`File`] whose [`open`](File::open) looks it up
//!   (`devfs_get_cdevpriv(9)`) when they need it.
//! * `read`, `write` and `ioctl` are optional. One the device does not
//!   implement (`HAS_READ` and friends left `false`) leaves its `cdevsw`
//!   entry NULL, so `make_dev_s` installs the kernel's default (`ENODEV`).
//! * The device-wide state lives in kernel memory shared by the
//!   registration and every open file: it outlives every method call and
//!   every per-open value, even one whose file is closed while the device
//!   is being destroyed.
//!
//! # Context
//! Registering and destroying a device may sleep: both need a context
//! token, and dropping a [`Registration`] must happen where sleeping is
//! allowed (never under a mutex, never from the device's own methods;
//! `destroy_dev(9)`). The device methods are called in the context of the
//! calling thread, which may sleep; they receive a [`Sleepable`] token.
//!
//! # Examples
//!
//! A device that counts reads and returns a greeting:
//!
//! ```
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use kern::cdev::{CdevOptions, CharacterDevice, File, Registration, GID_WHEEL, UID_ROOT};
//! use kern::prelude::*;
//! use kern::uio::UioWriter;
//!
//! struct Greeter {
//!     reads: AtomicU64,
//! }
//!
//! #[kern::vtable]
//! impl CharacterDevice for Greeter {
//!     const NAME: &'static core::ffi::CStr = c"greeter";
//!     // No per-open state: `type Open = ()` and an `open` that accepts
//!     // every open are filled in, and an open allocates nothing.
//!
//!     fn read(&self, _file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
//!         self.reads.fetch_add(1, Ordering::Relaxed);
//!         uio.move_frombuf(b"hello\n", cx)?;
//!         Ok(())
//!     }
//! }
//!
//! struct GreeterModule {
//!     _dev: Registration<Greeter>,
//! }
//!
//! impl Module for GreeterModule {
//!     fn load(cx: &mut Sleepable) -> Result<Self> {
//!         // The node is /dev/greeter, named after `Greeter::NAME`.
//!         let options = CdevOptions::new(0o444, UID_ROOT, GID_WHEEL);
//!         let dev = Registration::register(&options, Greeter { reads: AtomicU64::new(0) }, cx)?;
//!         Ok(GreeterModule { _dev: dev })
//!     }
//! }
//! ```

use crate::alloc::{Arc, Box};
use crate::context::{NoSleep, Sleepable};
use crate::error::{Error, Result, code, to_ret};
use crate::foreign::{ArcBorrow, ForeignOwnable};
use crate::init::PinInit;
use crate::ioctl::{IoctlCmd, IoctlData};
use crate::malloc::{KernelAllocator, M_NOWAIT, M_ZERO};
use crate::opaque::Opaque;
use crate::poll::{Knote, PollEvents, PollWaiter};
use crate::uio::{UioReader, UioWriter};
use core::ffi::{CStr, c_char, c_int, c_void};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

use sys::make_dev_s;

/// The user ID `root` (`UID_ROOT`, `sys/sys/conf.h`).
pub const UID_ROOT: u32 = sys::UID_ROOT;
/// The group ID `wheel` (`GID_WHEEL`, `sys/sys/conf.h`).
pub const GID_WHEEL: u32 = sys::GID_WHEEL;

/// The flags `open(2)` was called with (`oflags` of `d_open`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OpenFlags(c_int);

impl OpenFlags {
    /// Whether the file is open for reading (`FREAD`).
    #[must_use]
    pub fn readable(self) -> bool {
        self.has(sys::FREAD)
    }

    /// Whether the file is open for writing (`FWRITE`).
    #[must_use]
    pub fn writable(self) -> bool {
        self.has(sys::FWRITE)
    }

    /// Whether the file was opened non-blocking (`O_NONBLOCK`).
    #[must_use]
    pub fn nonblocking(self) -> bool {
        self.has(sys::FNONBLOCK)
    }

    /// The raw flags.
    #[must_use]
    pub fn bits(self) -> c_int {
        self.0
    }

    fn has(self, flag: u32) -> bool {
        c_int::try_from(flag).is_ok_and(|f| self.0 & f != 0)
    }
}

/// How the device node is created (`struct make_dev_args`).
///
/// The node is named after the driver, [`CharacterDevice::NAME`]
/// (`/dev/NAME`), unless [`node`](Self::node) names it otherwise, so a
/// name is written once:
///
/// ```
/// use kern::cdev::{CdevOptions, GID_WHEEL, UID_ROOT};
///
/// // /dev/<CharacterDevice::NAME>, root:wheel 0660.
/// const DEVICE: CdevOptions<'static> = CdevOptions::new(0o660, UID_ROOT, GID_WHEEL);
/// // /dev/rustmodule, whatever the driver is called.
/// const LEGACY: CdevOptions<'static> = DEVICE.with_node(c"rustmodule");
/// assert_eq!(DEVICE.node, None);
/// assert_eq!(LEGACY.node, Some(c"rustmodule"));
/// ```
///
/// The options have no `name` of their own any more:
///
/// ```compile_fail,E0560
/// use kern::cdev::{CdevOptions, GID_WHEEL, UID_ROOT};
///
/// const DEVICE: CdevOptions<'static> = CdevOptions {
///     name: c"greeter",
///     node: None,
///     mode: 0o660,
///     uid: UID_ROOT,
///     gid: GID_WHEEL,
/// };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CdevOptions<'a> {
    /// The node's path under `/dev` (may contain `/`), copied by the
    /// kernel; `None` (the usual case) names it [`CharacterDevice::NAME`].
    pub node: Option<&'a CStr>,
    /// Permission bits, e.g. `0o660` (at most `0o7777`).
    pub mode: u16,
    /// The owner, e.g. [`UID_ROOT`].
    pub uid: u32,
    /// The group, e.g. [`GID_WHEEL`].
    pub gid: u32,
}

impl<'a> CdevOptions<'a> {
    /// A node named [`CharacterDevice::NAME`] with permission bits `mode`
    /// (at most `0o7777`), owned by `uid` and `gid`.
    #[must_use]
    pub const fn new(mode: u16, uid: u32, gid: u32) -> Self {
        Self {
            node: None,
            mode,
            uid,
            gid,
        }
    }

    /// The same options, with the node at `/dev/{node}` instead of the
    /// driver's name (`node` may contain `/`).
    #[must_use]
    pub const fn with_node(self, node: &'a CStr) -> Self {
        Self {
            node: Some(node),
            ..self
        }
    }
}

/// A character device: its device-wide state (`&self`) and its methods.
///
/// The methods are called concurrently from any number of threads; each
/// receives a [`Sleepable`] token (they run in the caller's thread and may
/// sleep). Errors go back to the caller of the system call as its errno.
///
/// The impl block carries `#[kern::vtable]`, which installs exactly the
/// optional methods it implements: it sets their `HAS_*` constants, which
/// may not be set by hand. A method not implemented keeps its `cdevsw`
/// entry NULL, so the kernel's default answers (`ENODEV`, as
/// `prep_cdevsw` installs), and its default body here returns the same.
/// Without the attribute the impl does not compile (`USE_VTABLE_ATTR` is
/// missing), so no method can be implemented and quietly left out:
///
/// ```compile_fail,E0046
/// use kern::cdev::{CharacterDevice, File, OpenFlags};
/// use kern::prelude::*;
/// use kern::uio::UioWriter;
///
/// struct Greeter;
///
/// impl CharacterDevice for Greeter {
///     const NAME: &'static core::ffi::CStr = c"greeter";
///     type Open = ();
///     fn open(&self, _flags: OpenFlags, _cx: &mut Sleepable) -> Result<()> {
///         Ok(())
///     }
///     fn read(&self, _file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
///         uio.move_frombuf(b"hello\n", cx).map(drop)
///     }
/// }
/// ```
///
/// Nor may the attribute's constants be set by hand:
///
/// ```compile_fail
/// use kern::cdev::{CharacterDevice, OpenFlags};
/// use kern::prelude::*;
///
/// struct Greeter;
///
/// #[kern::vtable]
/// impl CharacterDevice for Greeter {
///     const NAME: &'static core::ffi::CStr = c"greeter";
///     const HAS_READ: bool = true;
///     type Open = ();
///     fn open(&self, _flags: OpenFlags, _cx: &mut Sleepable) -> Result<()> {
///         Ok(())
///     }
/// }
/// ```
pub trait CharacterDevice: Send + Sync + Sized + 'static {
    /// The driver name (`d_name` of the `cdevsw`), e.g. `c"rustecho"`, and
    /// the name of its node under `/dev` unless
    /// [`CdevOptions::node`] gives another.
    const NAME: &'static CStr;

    /// Set by `#[kern::vtable]`, which the impl block needs.
    #[doc(hidden)]
    const USE_VTABLE_ATTR: ();

    /// Whether [`read`](Self::read) is implemented (set by `#[kern::vtable]`).
    const HAS_READ: bool = false;

    /// Whether [`write`](Self::write) is implemented.
    const HAS_WRITE: bool = false;

    /// Whether [`ioctl`](Self::ioctl) is implemented.
    const HAS_IOCTL: bool = false;

    /// Whether [`close`](Self::close) is implemented.
    const HAS_CLOSE: bool = false;

    /// Whether [`purge`](Self::purge) is implemented.
    const HAS_PURGE: bool = false;

    /// Whether [`poll`](Self::poll) and [`kqfilter`](Self::kqfilter) are
    /// implemented (`d_poll`, `d_kqfilter`). Without them the kernel's
    /// defaults answer: every standard event ready, and no kqueue filter.
    const HAS_POLL: bool = false;

    /// The per-open state, dropped when the file is closed for the last
    /// time or the device is destroyed.
    ///
    /// `()` when there is none, which `#[kern::vtable]` fills in when the
    /// impl leaves out both `type Open` and `open` (it then adds an `open`
    /// that accepts every open). A zero-sized value without `Drop` glue
    /// (`()`, a unit struct) needs no per-open record: `kern` allocates
    /// nothing per open and attaches nothing with
    /// `devfs_set_cdevpriv(9)`, so an open of such a device cannot fail
    /// with `ENOMEM`. It counts its open files with `D_TRACKCLOSE`
    /// instead (`d_close` for every file's last close, as
    /// `devfs_close` in `sys/fs/devfs/devfs_vnops.c` calls it).
    ///
    /// ```
    /// use kern::cdev::CharacterDevice;
    /// use kern::prelude::*;
    ///
    /// struct Null;
    ///
    /// #[kern::vtable]
    /// impl CharacterDevice for Null {
    ///     const NAME: &'static core::ffi::CStr = c"null";
    /// }
    ///
    /// let _: <Null as CharacterDevice>::Open = ();
    /// ```
    ///
    /// A per-open type other than `()` still needs its `open`:
    ///
    /// ```compile_fail,E0046
    /// use kern::cdev::CharacterDevice;
    /// use kern::prelude::*;
    ///
    /// struct Counting;
    ///
    /// #[kern::vtable]
    /// impl CharacterDevice for Counting {
    ///     const NAME: &'static core::ffi::CStr = c"counting";
    ///     type Open = u64;
    /// }
    /// ```
    type Open: Send + Sync + 'static;

    /// Called by `open(2)` (`d_open`). `#[kern::vtable]` provides one that
    /// accepts every open when the impl has no `type Open` either.
    ///
    /// # Errors
    /// Any errno fails the `open(2)`. When [`Open`](Self::Open) needs a
    /// per-open record, `kern` allocates it (`M_NOWAIT`) before calling
    /// this; if that fails the `open(2)` fails with `ENOMEM` and this is
    /// not called.
    fn open(&self, flags: OpenFlags, cx: &mut Sleepable) -> Result<Self::Open>;

    /// Called by `read(2)` and `readv(2)` (`d_read`): move bytes to the user
    /// through `uio`. Returning without moving anything means end of file.
    /// [`file.open()`](File::open) gives the file's per-open value.
    ///
    /// # Errors
    /// Any errno fails the `read(2)`.
    fn read(&self, file: &File<'_, Self>, uio: &mut UioWriter<'_>, cx: &mut Sleepable) -> Result {
        let _ = (file, uio, cx);
        Err(code::ENODEV)
    }

    /// Called by `write(2)` and `writev(2)` (`d_write`): consume bytes from
    /// the user through `uio`; what is left is a short write.
    /// [`file.open()`](File::open) gives the file's per-open value.
    ///
    /// # Errors
    /// Any errno fails the `write(2)`.
    fn write(&self, file: &File<'_, Self>, uio: &mut UioReader<'_>, cx: &mut Sleepable) -> Result {
        let _ = (file, uio, cx);
        Err(code::ENODEV)
    }

    /// Called by `ioctl(2)` (`d_ioctl`), and by `fcntl(2)` with `FIONBIO`
    /// and `FIOASYNC`. [`file.open()`](File::open) gives the file's
    /// per-open value.
    ///
    /// # Errors
    /// [`ENOIOCTL`](crate::error::code::ENOIOCTL) for a command the device
    /// does not know (the caller sees `ENOTTY`); any other errno fails the
    /// call.
    fn ioctl(
        &self,
        file: &File<'_, Self>,
        cmd: IoctlCmd,
        data: &mut IoctlData<'_>,
        cx: &mut Sleepable,
    ) -> Result {
        let _ = (file, cmd, data, cx);
        Err(code::ENODEV)
    }

    /// Called by `poll(2)` and `select(2)` (`d_poll`): the events of
    /// `events` that are ready. If none is, record the poller with
    /// [`PollQueue::record`](crate::poll::PollQueue::record) (under the
    /// mutex the readiness depends on) so that a later notification wakes
    /// it.
    fn poll(
        &self,
        file: &File<'_, Self>,
        events: PollEvents,
        waiter: &mut PollWaiter<'_>,
        cx: &mut Sleepable,
    ) -> PollEvents {
        let _ = (file, waiter, cx);
        events & (PollEvents::IN | PollEvents::OUT | PollEvents::RDNORM | PollEvents::WRNORM)
    }

    /// Called by `kevent(2)` adding a filter on a file of the device
    /// (`d_kqfilter`): attach the knote with
    /// [`PollQueue::attach`](crate::poll::PollQueue::attach).
    ///
    /// # Errors
    /// `EINVAL` for a filter the device does not answer.
    fn kqfilter(&self, file: &File<'_, Self>, knote: &mut Knote<'_>) -> Result {
        let _ = (file, knote);
        Err(code::EINVAL)
    }

    /// Called by the last `close(2)` of the device (`d_close`): when no
    /// file of it is open any more. A device that needs to act on the
    /// close of each file does it in the `Drop` of its
    /// [`Open`](Self::Open) value instead.
    ///
    /// # Errors
    /// Any errno is returned by that `close(2)` (the file is closed
    /// anyway).
    fn close(&self, flags: OpenFlags, cx: &mut Sleepable) -> Result {
        let _ = (flags, cx);
        Ok(())
    }

    /// Called by `destroy_dev(9)` while threads are still inside the
    /// device's methods (`d_purge`), again until they have all left: wake
    /// every thread the device makes sleep, and make them return
    /// (usually with `ENXIO`). A device whose methods may sleep for a long
    /// time (waiting for data) needs it, or unloading the module waits for
    /// them.
    ///
    /// # Context
    /// `destroy_dev`'s thread, with the kernel's `devmtx` held: may take a
    /// mutex (the token), may not sleep.
    fn purge(&self, cx: &mut NoSleep) {
        let _ = cx;
    }

    /// Called with every error one of the device's entry points is about
    /// to return to the kernel: the device's own (including those of
    /// [`File::open`], `devfs_get_cdevpriv(9)`) and kern's (`ENOMEM` when
    /// a per-open record cannot be allocated, an error from
    /// `devfs_set_cdevpriv(9)`, a malformed `uio`), so a device can count
    /// failures in one place. It cannot change the error. The default does
    /// nothing.
    ///
    /// # Context
    /// The entry point's thread, with no lock of the device held; must not
    /// sleep (no token is given).
    fn error(&self, op: Op, err: Error) {
        let _ = (op, err);
    }
}

/// The entry point an error comes from, for [`CharacterDevice::error`].
///
/// More entry points may be added (`d_close`, `d_poll`): match with a
/// wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `d_open`.
    Open,
    /// `d_read`.
    Read,
    /// `d_write`.
    Write,
    /// `d_ioctl`.
    Ioctl,
    /// `d_close`.
    Close,
    /// `d_kqfilter`.
    Kqfilter,
}

/// The open file a device method ([`read`](CharacterDevice::read),
/// [`write`](CharacterDevice::write), [`ioctl`](CharacterDevice::ioctl)) is
/// called for.
///
/// Its per-open value is looked up only when the method asks for it
/// ([`open`](Self::open), with `devfs_get_cdevpriv(9)`), as a C driver
/// calls `devfs_get_cdevpriv` in the methods that use its per-open state:
/// a method that does not use it does not pay for the lookup.
///
/// A `File` exists for the duration of one method call, on the calling
/// thread: it is neither `Send` nor `Sync`, and its lifetime is the call's.
///
/// # Invariants
/// The current thread is inside `d_read`, `d_write` or `d_ioctl` of a
/// device registered for `T`, on behalf of an open file, for `'a`.
pub struct File<'a, T: CharacterDevice> {
    /// The call's `ioflag` (`d_read`, `d_write`) or `fflag` (`d_ioctl`).
    flags: c_int,
    _call: PhantomData<(&'a T::Open, *mut ())>,
}

impl<'a, T: CharacterDevice> File<'a, T> {
    /// The handle of the current call.
    ///
    /// # Safety
    /// The type's invariants hold for `'a`: called by a method trampoline
    /// of a device of `T`, and the value does not outlive the call.
    unsafe fn new(flags: c_int) -> Self {
        // INVARIANT: the caller's contract.
        Self {
            flags,
            _call: PhantomData,
        }
    }

    /// Whether the file is non-blocking for this call (`O_NONBLOCK`, set
    /// at open or later with `fcntl(2)`): `IO_NDELAY` in `d_read`'s and
    /// `d_write`'s `ioflag`, `FNONBLOCK` in `d_ioctl`'s `fflag`. A method
    /// that would wait returns `EAGAIN` instead.
    #[must_use]
    pub fn nonblocking(&self) -> bool {
        // IO_NDELAY is FNONBLOCK (`sys/sys/vnode.h`: "FNDELAY flag set in
        // file table"), and devfs_read_f passes `f_flag & O_NONBLOCK`.
        c_int::try_from(sys::FNONBLOCK).is_ok_and(|f| self.flags & f != 0)
    }

    /// The per-open value of this file: what
    /// [`CharacterDevice::open`] returned for it.
    ///
    /// # Errors
    /// Those of `devfs_get_cdevpriv(9)`: `EBADF` if the call is not on
    /// behalf of a file, `ENOENT` if the file has no per-open value (the
    /// kernel calls the methods only of files whose open succeeded).
    pub fn open(&self) -> Result<&'a T::Open> {
        if no_record::<T>() {
            // SAFETY: `T::Open` is zero-sized (`no_record`), so a dangling,
            // aligned pointer is valid for reads of it, and a value of it
            // exists: `open` returned one for this file, which `cdev_open`
            // forgot (it has no drop glue) instead of storing. The
            // reference reads no memory.
            return Ok(unsafe { NonNull::<T::Open>::dangling().as_ref() });
        }
        // SAFETY: by the type invariants, the current thread is in a method
        // of a device of `T` for `'a`, which bounds the reference.
        let file = unsafe { current_file::<T>() }?;
        Ok(&file.open)
    }
}

impl<T: CharacterDevice> core::fmt::Debug for File<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("File")
    }
}

/// Whether the per-open value of `T` needs no record: zero-sized and
/// without drop glue, so nothing is stored for it and nothing runs when
/// its file is closed.
const fn no_record<T: CharacterDevice>() -> bool {
    size_of::<T::Open>() == 0 && !core::mem::needs_drop::<T::Open>()
}

/// The C return value of entry point `op` of `device`, reporting an error
/// to [`CharacterDevice::error`] first.
fn report<T: CharacterDevice>(device: &T, op: Op, result: Result) -> c_int {
    if let Err(e) = result {
        device.error(op, e);
    }
    to_ret(result)
}

/// The memory a device shares between its registration and its open files.
///
/// # Invariants
/// `cdevsw` is written by `kern` only before the device is created, and
/// afterwards only by the kernel (through the pointer `make_dev_s` got).
/// `data` is pinned: it was initialised in place and is never moved out
/// or reached mutably (the `Arc`s of a device give only `&Shared`), and
/// it is dropped in place with the last reference.
struct Shared<T: CharacterDevice> {
    cdevsw: Opaque<sys::cdevsw>,
    data: T,
    open_files: AtomicUsize,
}

// SAFETY: `&Shared` gives `&T` (`T: Sync`) and an atomic; the `cdevsw` is
// never accessed in Rust once the device exists (type invariant), and the
// kernel serialises its own accesses (`dev_mtx`).
// (`Send` follows from the fields: `Opaque`, `T: Send`, an atomic.)
unsafe impl<T: CharacterDevice> Sync for Shared<T> {}

/// The per-open record attached to a file with `devfs_set_cdevpriv(9)`.
struct OpenFile<T: CharacterDevice> {
    open: T::Open,
    /// Keeps the device state alive as long as the file is open.
    device: Arc<Shared<T>>,
}

/// A registered character device; destroys it when dropped.
///
/// The module keeps it (usually as a field of its [`Module`](crate::Module)
/// value), so unloading the module destroys the device. The device-wide
/// state is reachable with [`data`](Self::data); the device does not hold
/// its own registration.
///
/// The registration itself may move: the `cdevsw` (which `make_dev_s`
/// writes into, so it cannot be a `const`) and the state live in a separate
/// allocation that never moves, shared with the open files.
///
/// The shared state is reference-counted: the registration's reference is
/// the device's `si_drv1` (handed to the kernel with
/// [`ForeignOwnable::into_foreign`]), and each open file holds one.
///
/// # Invariants
/// - `cdev` is the device `make_dev_s` created with the `cdevsw` of the
///   shared state and with `si_drv1` set to `shared`; it is destroyed only
///   by `Drop`.
/// - `shared` is an `Arc<Shared<T>>` given to the kernel by
///   [`ForeignOwnable::into_foreign`], taken back only by `Drop`, after the
///   device is destroyed.
pub struct Registration<T: CharacterDevice> {
    shared: *mut c_void,
    cdev: NonNull<sys::cdev>,
    _owns: PhantomData<Arc<Shared<T>>>,
}

// SAFETY: the registration owns a reference to `Shared<T>` (which is
// `Send + Sync`) and the device, which may be destroyed on any thread.
unsafe impl<T: CharacterDevice> Send for Registration<T> {}

// SAFETY: `&Registration` gives only `&T` and an atomic count.
unsafe impl<T: CharacterDevice> Sync for Registration<T> {}

impl<T: CharacterDevice> Registration<T> {
    /// Creates the device node with `make_dev_s(9)`, with `data` as its
    /// device-wide state.
    ///
    /// The `cdevsw` and `data` are set before the node appears
    /// (`mda_si_drv1`), so no open can see the device without its data.
    ///
    /// # Errors
    /// - `EEXIST`: a device with that name exists.
    /// - `EINVAL`, `ENAMETOOLONG`: the name is not a valid device name
    ///   (`MAKEDEV_CHECKNAME`), or `mode` has bits above `0o7777`.
    /// - `ENOMEM`: out of memory.
    ///
    /// # Context
    /// May sleep (`MAKEDEV_WAITOK`).
    pub fn register(options: &CdevOptions<'_>, data: T, cx: &mut Sleepable) -> Result<Self> {
        Self::register_in_place::<core::convert::Infallible>(options, data, cx)
    }

    /// Creates the device node with `make_dev_s(9)`, with the device-wide
    /// state built by `init` in place: in the device's one shared
    /// allocation, where its locks, callouts, tasks and poll queues stay
    /// until the device is destroyed (see [`init`](crate::init)). A value
    /// is an initialiser of itself, which is what
    /// [`register`](Self::register) passes.
    ///
    /// # Errors
    /// Those of [`register`](Self::register), and the initialiser's: the
    /// fields it had initialised are then dropped in place (their locks
    /// destroyed), and the allocation freed, before the device exists.
    ///
    /// # Context
    /// May sleep (`M_WAITOK`, `MAKEDEV_WAITOK`).
    pub fn register_in_place<E>(
        options: &CdevOptions<'_>,
        init: impl PinInit<T, E>,
        cx: &mut Sleepable,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        if options.mode & !0o7777 != 0 {
            return Err(code::EINVAL);
        }
        // Built in place: zeroed memory (a zeroed `cdevsw` and count), then
        // the state, initialised where it stays; nothing is assembled on
        // the stack and copied.
        let mut shared = Arc::<Shared<T>>::new_uninit(cx.waitok() | M_ZERO);
        // SAFETY: a new `Arc` is unique, and nothing clones it while `slot`
        // lives.
        let slot = unsafe { Arc::get_mut_unchecked(&mut shared) };
        // SAFETY: `slot` is the uninitialised value of this unique `Arc`;
        // this only computes the field's address (`&raw mut` makes no
        // reference).
        let field = unsafe { &raw mut (*slot.as_mut_ptr()).data };
        // SAFETY: the field's place, valid for writes, and pinned: the
        // `Arc`'s block never moves, and the state is dropped in place
        // with the last reference. On failure the initialiser has left it
        // uninitialised, and dropping the `Arc<MaybeUninit<_>>` frees the
        // block without dropping anything.
        unsafe { init.__pinned_init(field) }.map_err(Error::from)?;
        // SAFETY: every field is initialised: `data` by `init`, `cdevsw`
        // (an `Opaque`: any bytes, here zero, as `prep_cdevsw` expects
        // unset entries) and `open_files` (an `AtomicUsize`: zero) by
        // `M_ZERO`.
        let shared = unsafe { Arc::assume_init(shared) };
        let cdevsw = shared.cdevsw.get();
        // SAFETY: `cdevsw` is this registration's zeroed `cdevsw`, which
        // nothing else uses yet (the type invariant of `Shared` allows
        // `kern` to write it before the device is created).
        unsafe { fill_cdevsw::<T>(cdevsw) };
        let shared = shared.into_foreign();
        let node = options.node.unwrap_or(T::NAME);
        match make_dev(options, node, cdevsw, shared) {
            // INVARIANT: created with this `cdevsw` and `si_drv1`; `Drop`
            // takes the reference back.
            Ok(cdev) => Ok(Self {
                shared,
                cdev,
                _owns: PhantomData,
            }),
            Err(e) => {
                // SAFETY: the device was not created, so nothing else holds
                // the pointer; taken back once.
                drop(unsafe { Arc::<Shared<T>>::from_foreign(shared) });
                Err(e)
            }
        }
    }

    /// The device-wide state.
    #[must_use]
    pub fn data(&self) -> &T {
        &self.shared().data
    }

    /// How many files of the device are open (opened, and not yet closed
    /// for the last time): counted by the per-open records, or, for a
    /// device without one, by `d_open` and the `D_TRACKCLOSE` `d_close`.
    ///
    /// A module's [`quiesce`](crate::Module::quiesce) can refuse an unforced
    /// unload with `EBUSY` while this is not zero.
    #[must_use]
    pub fn open_files(&self) -> usize {
        self.shared().open_files.load(Ordering::Acquire)
    }

    /// What a module's [`quiesce`](crate::Module::quiesce) answers for this
    /// device: `Ok` when no file is open, so an unforced `kldunload` may go
    /// on.
    ///
    /// # Errors
    /// `EBUSY` while a file is open ([`open_files`](Self::open_files) is
    /// not zero).
    pub fn quiesce(&self) -> Result {
        if self.open_files() == 0 {
            Ok(())
        } else {
            Err(code::EBUSY)
        }
    }

    /// Destroys the device now (the same as dropping it, with the token to
    /// show that the caller may sleep).
    ///
    /// # Context
    /// Sleeps until every thread inside the device's methods has left.
    pub fn unregister(self, cx: &mut Sleepable) {
        let _ = cx;
        drop(self);
    }

    fn shared(&self) -> &Shared<T> {
        // SAFETY: the kernel keeps the registration's reference until `Drop`
        // takes it back (type invariant), so the value outlives `&self`.
        unsafe { Arc::<Shared<T>>::borrow(self.shared) }.get()
    }
}

impl<T: CharacterDevice> Drop for Registration<T> {
    /// Destroys the device with `destroy_dev(9)`.
    ///
    /// # Context
    /// Sleeps until every thread inside the device's methods has left, then
    /// runs the destructors of the per-open values still attached; must not
    /// be called under a mutex or from one of the device's own methods.
    fn drop(&mut self) {
        // SAFETY: `cdev` is the live device of this registration (type
        // invariant), destroyed once. destroy_dev(9) returns after every
        // thread has left the device's methods and after the cdevpriv
        // destructors of its open files have run, so nothing uses the
        // `cdevsw` or `si_drv1` afterwards.
        unsafe { sys::destroy_dev(self.cdev.as_ptr()) };
        // SAFETY: the registration's reference (type invariant), taken back
        // once, now that the device no longer uses it. Open files whose last
        // close races with the destruction hold their own references.
        drop(unsafe { Arc::<Shared<T>>::from_foreign(self.shared) });
    }
}

/// `MAKEDEV_WAITOK | MAKEDEV_CHECKNAME`: sleep for memory, and report a bad
/// or taken name as an error.
const MAKEDEV_FLAGS: c_int = {
    let flags = sys::MAKEDEV_WAITOK | sys::MAKEDEV_CHECKNAME;
    assert!(flags <= 0xff);
    // CAST: checked to be small just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let flags = flags as c_int;
    flags
};

/// `FLASTCLOSE` (`sys/sys/fcntl.h`: `O_DIRECTORY`, reused in `d_close`'s
/// flags) as an `int`.
const FLASTCLOSE: c_int = {
    assert!(sys::O_DIRECTORY <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::O_DIRECTORY as c_int;
    v
};

/// `D_VERSION` as the `int` of `d_version`.
const D_VERSION: c_int = {
    assert!(sys::D_VERSION <= 0x7fff_ffff);
    // CAST: checked to fit just above.
    #[allow(clippy::as_conversions, clippy::cast_possible_wrap, reason = "checked")]
    let v = sys::D_VERSION as c_int;
    v
};

/// Fills in the `cdevsw` of `T`: `D_VERSION`, `d_name`, and an entry for
/// each method the device implements; the kernel fills in the rest
/// (`prep_cdevsw`).
///
/// # Safety
/// `sw` points to a zeroed `struct cdevsw` that nothing else uses.
unsafe fn fill_cdevsw<T: CharacterDevice>(sw: *mut sys::cdevsw) {
    // SAFETY: the caller's contract: a valid (all-zero) `cdevsw` that no one
    // else accesses while this reference lives.
    let sw = unsafe { &mut *sw };
    sw.d_version = D_VERSION;
    sw.d_name = T::NAME.as_ptr();
    sw.d_open = Some(cdev_open::<T>);
    if no_record::<T>() {
        // Without a record whose destructor counts the close, `d_close`
        // does, for every file (devfs_close, sys/fs/devfs/devfs_vnops.c,
        // FreeBSD 15: "else if (dsw->d_flags & D_TRACKCLOSE)", otherwise
        // only the last close of the device), and runs the device's
        // `close` on the last one (`FLASTCLOSE`).
        sw.d_flags |= sys::D_TRACKCLOSE;
        sw.d_close = Some(cdev_close_tracked::<T>);
    }
    if T::HAS_READ {
        sw.d_read = Some(cdev_read::<T>);
    }
    if T::HAS_WRITE {
        sw.d_write = Some(cdev_write::<T>);
    }
    if T::HAS_IOCTL {
        sw.d_ioctl = Some(cdev_ioctl::<T>);
    }
    if T::HAS_CLOSE && !no_record::<T>() {
        sw.d_close = Some(cdev_close::<T>);
    }
    if T::HAS_PURGE {
        sw.d_purge = Some(cdev_purge::<T>);
    }
    if T::HAS_POLL {
        sw.d_poll = Some(cdev_poll::<T>);
        sw.d_kqfilter = Some(cdev_kqfilter::<T>);
    }
}

/// Creates the device node of `options` with `make_dev_s(9)`, for `sw` and
/// with `si_drv1` set to `drv1` (the non-generic part of
/// [`Registration::register`]). Inline: a module registers its devices
/// from constant options, which then become immediates, and a call with
/// its own frame costs more than the body (rustecho.ko: 96 bytes).
///
/// # Errors
/// As for [`Registration::register`].
#[inline]
fn make_dev(
    options: &CdevOptions<'_>,
    node: &CStr,
    sw: *mut sys::cdevsw,
    drv1: *mut c_void,
) -> Result<NonNull<sys::cdev>> {
    let mut args = MaybeUninit::<sys::make_dev_args>::uninit();
    // SAFETY: `args` is writable for the size passed (what the
    // make_dev_args_init() macro does).
    unsafe { sys::make_dev_args_init_impl(args.as_mut_ptr(), size_of::<sys::make_dev_args>()) };
    // SAFETY: make_dev_args_init_impl() zeroes all of it and sets
    // `mda_size` (kern_conf.c), and all-zero is a valid
    // `struct make_dev_args` (integers and pointers).
    let args = unsafe { args.assume_init_mut() };
    args.mda_flags = MAKEDEV_FLAGS;
    args.mda_devsw = sw;
    args.mda_uid = options.uid;
    args.mda_gid = options.gid;
    args.mda_mode = c_int::from(options.mode);
    args.mda_si_drv1 = drv1;
    let mut cdev: *mut sys::cdev = ptr::null_mut();
    // SAFETY: `args` is initialised; its `cdevsw` lives, pinned, in the
    // shared allocation until after `destroy_dev` (type invariant of
    // `Registration`); "%s" with a NUL-terminated name, which the kernel
    // copies. MAKEDEV_CHECKNAME makes a bad or taken name an error
    // instead of a panic.
    let ret = unsafe { make_dev_s(args, &raw mut cdev, c"%s".as_ptr(), node.as_ptr()) };
    Error::from_ret(ret)?;
    // make_dev_s(9) sets the device on success; were it NULL, the shared
    // state would be left allocated rather than risk freeing memory a
    // device uses.
    NonNull::new(cdev).ok_or(code::ENXIO)
}

/// `d_open`: creates the per-open value and attaches it to the file.
///
/// # Safety
/// Called by the kernel for a device created by [`Registration::register`]
/// for `T`, in the context of `open(2)`.
unsafe extern "C" fn cdev_open<T: CharacterDevice>(
    dev: *mut sys::cdev,
    oflags: c_int,
    _devtype: c_int,
    _td: *mut sys::thread,
) -> c_int {
    // SAFETY: the caller's contract: d_open of a device of `T`.
    let device = unsafe { shared_of::<T>(dev) };
    // SAFETY: d_open runs in the opening thread, which may sleep and holds
    // no lock of ours; the token lives only for this call.
    let mut cx = unsafe { Sleepable::new() };
    if no_record::<T>() {
        return match device.data.open(OpenFlags(oflags), &mut cx) {
            Ok(open) => {
                // Zero-sized without drop glue: nothing to keep; `File::open`
                // gives it back. The tracked `d_close` counts the close.
                let _kept = core::mem::ManuallyDrop::new(open);
                device.open_files.fetch_add(1, Ordering::AcqRel);
                0
            }
            Err(e) => report(&device.data, Op::Open, Err(e)),
        };
    }
    // The record first: if it cannot be allocated, the device's `open` is
    // not called, so it never sees (or counts) an open that then fails.
    let Ok(record) = Box::<OpenFile<T>>::try_new_uninit(M_NOWAIT) else {
        return report(&device.data, Op::Open, Err(code::ENOMEM));
    };
    let open = match device.data.open(OpenFlags(oflags), &mut cx) {
        Ok(open) => open,
        Err(e) => return report(&device.data, Op::Open, Err(e)),
    };
    device.open_files.fetch_add(1, Ordering::AcqRel);
    // The file's own reference to the shared state.
    let file = Box::write(
        record,
        OpenFile {
            open,
            device: Arc::from(device),
        },
    );
    let file = file.into_foreign();
    // SAFETY: `file` is a live record for this open file, owned from now on
    // by devfs, which calls the destructor exactly once (on the last close
    // of the file or when the device is destroyed).
    let ret = unsafe { sys::devfs_set_cdevpriv(file, Some(cdevpriv_dtor::<T>)) };
    if ret != 0 {
        // SAFETY: not attached, so still ours, a record of `T` given away
        // just above: the destructor takes it back, once.
        unsafe { cdevpriv_dtor::<T>(file) };
    }
    report(&device.data, Op::Open, Error::from_ret(ret))
}

/// The `devfs_set_cdevpriv(9)` destructor: drops the per-open value, then
/// counts the file as closed. Also what a failed [`cdev_open`] calls on
/// its record (one function, not two).
///
/// # Safety
/// `data` is a record given away by [`cdev_open`] for `T` (attached, or
/// not attached and still owned by the caller); called once for it.
#[inline(never)]
unsafe extern "C" fn cdevpriv_dtor<T: CharacterDevice>(data: *mut c_void) {
    // SAFETY: the caller's contract: a `Box<OpenFile<T>>` given away by
    // `cdev_open`, taken back once.
    let file = unsafe { Box::<OpenFile<T>>::from_foreign(data) };
    let OpenFile { open, device } = Box::into_inner(file);
    drop(open);
    device.open_files.fetch_sub(1, Ordering::AcqRel);
}

/// The per-open record of the file the current system call is on.
///
/// # Safety
/// Called during `d_read`, `d_write` or `d_ioctl` of a device of `T`; the
/// returned reference is used only during that call.
unsafe fn current_file<'a, T: CharacterDevice>() -> Result<&'a OpenFile<T>> {
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: a writable pointer; the current thread is in a method of the
    // device on behalf of a file.
    Error::from_ret(unsafe { sys::devfs_get_cdevpriv(&raw mut data) })?;
    if data.is_null() {
        return Err(code::ENXIO);
    }
    // SAFETY: only `cdev_open::<T>` attaches records to files of this
    // device (`into_foreign` of a `Box<OpenFile<T>>`). The record lives
    // until the file's last close or the device's destruction; neither
    // happens during this call (the system call holds a reference to the
    // file, and destroy_dev(9) waits for the threads in the methods before
    // running destructors).
    Ok(unsafe { Box::<OpenFile<T>>::borrow(data) })
}

/// The shared state of `dev` (its `si_drv1`), for its methods.
///
/// # Safety
/// `dev` is a device created by [`Registration::register`] for `T`, and
/// the caller is one of its methods; the borrow is used only during that
/// call.
unsafe fn shared_of<'a, T: CharacterDevice>(
    dev: *mut sys::cdev,
) -> ArcBorrow<'a, Shared<T>, KernelAllocator> {
    // SAFETY: `dev` is a live device (the caller's contract).
    let drv1 = unsafe { (*dev).si_drv1 };
    // SAFETY: `si_drv1` is the registration's `into_foreign` of an
    // `Arc<Shared<T>>`, which it takes back only after `destroy_dev` has
    // drained the threads in the device's methods, the caller included.
    unsafe { Arc::<Shared<T>>::borrow(drv1) }
}

/// The [`File`] handle and the context token of a call of `d_read`,
/// `d_write` or `d_ioctl`, with its `ioflag` or `fflag`.
///
/// # Safety
/// Called by one of those methods of a device of `T`, on behalf of a file;
/// both values are used only during that call.
unsafe fn method_call<'a, T: CharacterDevice>(flags: c_int) -> (File<'a, T>, Sleepable) {
    // SAFETY: the caller's contract: a method of a device of `T`, on behalf
    // of a file; the handle lives only for this call.
    let file = unsafe { File::new(flags) };
    // SAFETY: the methods run in the calling thread, which may sleep and
    // holds no lock of ours; the token lives only for this call.
    let cx = unsafe { Sleepable::new() };
    (file, cx)
}

/// `d_read`.
///
/// # Safety
/// Called by the kernel for a device of `T`, in the context of `read(2)`,
/// with a valid `uio`.
unsafe extern "C" fn cdev_read<T: CharacterDevice>(
    dev: *mut sys::cdev,
    uio: *mut sys::uio,
    ioflag: c_int,
) -> c_int {
    // SAFETY: the caller's contract.
    let shared = unsafe { shared_of::<T>(dev) };
    let device = &shared.data;
    // SAFETY: the kernel's `uio` for this read, used only during the call.
    let mut uio = match unsafe { UioWriter::from_raw(uio) } {
        Ok(uio) => uio,
        Err(e) => return report(device, Op::Read, Err(e)),
    };
    // SAFETY: d_read of a device of `T`, on behalf of a file; both are
    // used only during this call.
    let (file, mut cx) = unsafe { method_call::<T>(ioflag) };
    report(device, Op::Read, device.read(&file, &mut uio, &mut cx))
}

/// `d_write`.
///
/// # Safety
/// Called by the kernel for a device of `T`, in the context of `write(2)`,
/// with a valid `uio`.
unsafe extern "C" fn cdev_write<T: CharacterDevice>(
    dev: *mut sys::cdev,
    uio: *mut sys::uio,
    ioflag: c_int,
) -> c_int {
    // SAFETY: the caller's contract.
    let shared = unsafe { shared_of::<T>(dev) };
    let device = &shared.data;
    // SAFETY: the kernel's `uio` for this write, used only during the call.
    let mut uio = match unsafe { UioReader::from_raw(uio) } {
        Ok(uio) => uio,
        Err(e) => return report(device, Op::Write, Err(e)),
    };
    // SAFETY: d_write of a device of `T`, on behalf of a file; both are
    // used only during this call.
    let (file, mut cx) = unsafe { method_call::<T>(ioflag) };
    report(device, Op::Write, device.write(&file, &mut uio, &mut cx))
}

/// `d_ioctl`.
///
/// # Safety
/// Called by the kernel for a device of `T`, in the context of `ioctl(2)`,
/// with `data` holding `IOCPARM_LEN(cmd)` bytes.
unsafe extern "C" fn cdev_ioctl<T: CharacterDevice>(
    dev: *mut sys::cdev,
    cmd: sys::u_long,
    data: *mut c_char,
    fflag: c_int,
    _td: *mut sys::thread,
) -> c_int {
    // SAFETY: the caller's contract.
    let shared = unsafe { shared_of::<T>(dev) };
    let device = &shared.data;
    let cmd = IoctlCmd::from_raw(cmd);
    // SAFETY: sys_ioctl() passes a kernel buffer of IOCPARM_LEN(cmd)
    // initialised bytes (copied in, or zeroed), private to this call.
    let mut data = unsafe { IoctlData::from_raw(data, cmd) };
    // SAFETY: d_ioctl of a device of `T`, on behalf of a file; both are
    // used only during this call.
    let (file, mut cx) = unsafe { method_call::<T>(fflag) };
    report(
        device,
        Op::Ioctl,
        device.ioctl(&file, cmd, &mut data, &mut cx),
    )
}

/// `d_close`: the last close of the device.
///
/// # Safety
/// Called by the kernel for a device of `T`, in the context of `close(2)`.
unsafe extern "C" fn cdev_close<T: CharacterDevice>(
    dev: *mut sys::cdev,
    fflag: c_int,
    _devtype: c_int,
    _td: *mut sys::thread,
) -> c_int {
    // SAFETY: the caller's contract.
    let shared = unsafe { shared_of::<T>(dev) };
    let device = &shared.data;
    // SAFETY: d_close runs in the closing thread, which may sleep and holds
    // no lock of ours; the token lives only for this call.
    let mut cx = unsafe { Sleepable::new() };
    report(device, Op::Close, device.close(OpenFlags(fflag), &mut cx))
}

/// `d_close` of a device without per-open records (`D_TRACKCLOSE`): called
/// for the last close of every file; counts it, and runs the device's
/// `close` on the last close of the device.
///
/// # Safety
/// Called by the kernel for a device of `T`, in the context of `close(2)`.
unsafe extern "C" fn cdev_close_tracked<T: CharacterDevice>(
    dev: *mut sys::cdev,
    fflag: c_int,
    _devtype: c_int,
    _td: *mut sys::thread,
) -> c_int {
    // SAFETY: the caller's contract.
    let shared = unsafe { shared_of::<T>(dev) };
    shared.open_files.fetch_sub(1, Ordering::AcqRel);
    // devfs_close sets FLASTCLOSE when count_dev(dev) == 1: no other file
    // of the device is open.
    if !T::HAS_CLOSE || fflag & FLASTCLOSE == 0 {
        return 0;
    }
    let device = &shared.data;
    // SAFETY: d_close runs in the closing thread, which may sleep and holds
    // no lock of ours; the token lives only for this call.
    let mut cx = unsafe { Sleepable::new() };
    report(device, Op::Close, device.close(OpenFlags(fflag), &mut cx))
}

/// `d_purge`: wake the device's sleepers while it is destroyed.
///
/// # Safety
/// Called by `destroy_dev(9)` for a device of `T`.
unsafe extern "C" fn cdev_purge<T: CharacterDevice>(dev: *mut sys::cdev) {
    // SAFETY: the caller's contract; the registration takes its reference
    // back only after destroy_dev returns.
    let shared = unsafe { shared_of::<T>(dev) };
    // SAFETY: destroy_devl (sys/kern/kern_conf.c, FreeBSD 15) calls
    // d_purge with devmtx held, in a thread that may block on a
    // mutex (it holds devmtx, a sleep mutex, and may not sleep); the token
    // lives only for this call.
    let mut cx = unsafe { NoSleep::new() };
    shared.data.purge(&mut cx);
}

/// `d_poll`.
///
/// # Safety
/// Called by the kernel for a device of `T`, in the context of `poll(2)`
/// or `select(2)` on one of its files, with `td` the polling thread.
unsafe extern "C" fn cdev_poll<T: CharacterDevice>(
    dev: *mut sys::cdev,
    events: c_int,
    td: *mut sys::thread,
) -> c_int {
    // SAFETY: the caller's contract.
    let shared = unsafe { shared_of::<T>(dev) };
    // SAFETY: d_poll of a device of `T`, on behalf of a file; used only
    // during this call.
    let (file, mut cx) = unsafe { method_call::<T>(0) };
    // SAFETY: `td` is d_poll's thread; the waiter lives only for this call.
    let mut waiter = unsafe { PollWaiter::new(td) };
    shared
        .data
        .poll(&file, PollEvents::from_raw(events), &mut waiter, &mut cx)
        .bits()
}

/// `d_kqfilter`.
///
/// # Safety
/// Called by the kernel for a device of `T`, in the context of `kevent(2)`
/// on one of its files, with `kn` the knote being attached.
unsafe extern "C" fn cdev_kqfilter<T: CharacterDevice>(
    dev: *mut sys::cdev,
    kn: *mut sys::knote,
) -> c_int {
    // SAFETY: the caller's contract.
    let shared = unsafe { shared_of::<T>(dev) };
    let device = &shared.data;
    // SAFETY: d_kqfilter of a device of `T`, on behalf of a file.
    let (file, _cx) = unsafe { method_call::<T>(0) };
    // SAFETY: `kn` is d_kqfilter's knote; the handle lives only for this
    // call.
    let mut knote = unsafe { Knote::new(kn) };
    report(device, Op::Kqfilter, device.kqfilter(&file, &mut knote))
}
