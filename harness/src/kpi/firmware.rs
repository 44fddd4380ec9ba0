// SPDX-License-Identifier: BSD-2-Clause
//! firmware(9): the registry of firmware images, and loading the module
//! that holds a missing one.
//!
//! Followed: `sys/kern/subr_firmware.c` (FreeBSD 14/15: `lookup`,
//! `firmware_register`, `firmware_unregister`, `loadimage`,
//! `try_binary_file`, `firmware_get_flags`, `firmware_put`, `unloadentry`,
//! `firmware_modevent`), `linker_reference_module` and
//! `linker_release_module` in `sys/kern/kern_linker.c`, and
//! `firmware(9)`.
//!
//! * Images are looked up by name, ignoring case (`strcasecmp`). Each
//!   registration allocates a `struct priv_fw` (which embeds the `struct
//!   firmware` the caller gets) and a copy of the name from malloc(9)
//!   with the kernel's type `firmware`, so `vmstat -m` counts them as on
//!   FreeBSD, and `M_WAITOK`: no registering under a mutex.
//! * Registering a name twice fails (NULL) with "firmware_register: image
//!   NAME already registered!"; unregistering an image still referenced
//!   fails with `EBUSY`, an unknown name succeeds.
//! * `firmware_get` of a missing image: an unprivileged caller gets NULL
//!   and "firmware_get_flags: insufficient privileges to load firmware
//!   image NAME"; otherwise the kernel loads the module named after the
//!   image (`linker_reference_module`: `NAME.ko` on the module path, or a
//!   reference on it if loaded), whose `MOD_LOAD` is to register it. If
//!   there is none, FreeBSD prints "NAME: could not load firmware image,
//!   error 2" (not with `FIRMWARE_GET_NOWARN`), then tries the file
//!   `/boot/firmware/NAME`, which the test kernel does not have: "NAME:
//!   could not load binary firmware /boot/firmware/NAME either", printed
//!   as FreeBSD 14.0 to 15.0 print it, when `FIRMWARE_GET_NOWARN` is given
//!   (the check is inverted there). `firmware_get` then returns NULL. A
//!   module that loads but does not register the image: "NAME: firmware
//!   image loaded, but did not register", and the module is released.
//! * The load sleeps (`msleep` on "fwload" while the firmware taskqueue
//!   loads the module), so it is checked as a sleep; and it needs the
//!   kernel linker's lock, so asking for a missing image from a module
//!   event handler or SYSINIT during kldload or kldunload deadlocks on
//!   FreeBSD: the harness records that as a violation and returns NULL.
//! * `firmware_put` drops a reference (and the parent's with the last
//!   one); with `FIRMWARE_UNLOAD`, an image whose module was loaded for it
//!   has that module released by the firmware taskqueue, here as soon as
//!   the system call in progress returns.
//! * Images still registered when the module holding their data is
//!   unloaded, and references still held when the kernel is torn down,
//!   are violations.

use crate::addr::{KAddr, KRange};
use crate::errno::Errno;
use crate::state::{Core, ViolationKind};
use crate::sync::lock_ignoring_poison;
use crate::thread::witness;
use core::ffi::{c_int, c_void};
use core::mem::offset_of;
use std::sync::{Mutex, MutexGuard};

/// `struct priv_fw` of subr_firmware.c (amd64 layout), of which the
/// caller sees `fw`. Only its size and the `fw` member matter here: the
/// registry's state is kept in [`Entry`].
#[repr(C)]
struct PrivFw {
    refcnt: c_int,
    link: [*mut c_void; 2],
    parent: *mut c_void,
    flags: c_int,
    file: *mut c_void,
    fw: sys::firmware,
}

/// The directory `try_binary_file` reads (`fw_path`).
const FW_PATH: &str = "/boot/firmware/";

/// What firmware(9) needs of the rest of the kernel.
pub(crate) trait FirmwareHost {
    /// malloc(9) with the kernel's `firmware` type (`M_FIRMWARE`).
    fn fw_alloc(&self, size: usize, flags: u32) -> *mut u8;
    /// free(9) with `M_FIRMWARE`.
    fn fw_free(&self, p: KAddr);
    /// `priv_check(td, PRIV_FIRMWARE_LOAD)` for the calling thread.
    fn may_load_firmware(&self) -> bool;
    /// `linker_reference_module`: a reference on the file holding module
    /// `name`, loading `name.ko` from the module path if needed. `Err` is
    /// the errno (`ENOENT` if there is none), or `EDEADLK` if this thread
    /// holds the linker lock (which would deadlock on FreeBSD).
    fn reference_module(&self, name: &str) -> Result<i32, Errno>;
    /// `linker_release_module` of a file: drops the reference, unloading
    /// the file with its last one.
    fn release_module(&self, file: i32);
}

/// A registered image.
struct Entry {
    /// Its `struct priv_fw`.
    block: KAddr,
    /// Its name (`fw.name`, a malloc'ed copy at `name_ptr`).
    name: String,
    name_ptr: KAddr,
    /// Where the data is (`fw.data`), for unload checks.
    data: KRange,
    refcnt: i32,
    /// The parent image's `struct priv_fw`.
    parent: Option<KAddr>,
    /// `FW_UNLOAD`: the last `firmware_put` asked for an unload.
    unload: bool,
    /// The file loaded for it (`file`), to release when unused.
    file: Option<i32>,
    /// Data owned by the harness (an image a test registered).
    owned: Option<Box<[u8]>>,
}

impl Entry {
    /// `&fw` as the caller sees it.
    fn fw(&self) -> KAddr {
        self.block.wrapping_add(offset_of!(PrivFw, fw))
    }
}

/// An image as the test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareImage {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: u32,
    /// Its size in bytes.
    pub size: usize,
    /// References (`firmware_get`s not yet `firmware_put`).
    pub refs: i32,
    /// Whether it was loaded from a module found by its name.
    pub autoloaded: bool,
}

#[derive(Default)]
struct Inner {
    table: Vec<Entry>,
    /// `firmware_unload_task` is queued.
    unload_queued: bool,
}

/// The firmware registry of one kernel.
#[derive(Default)]
pub(crate) struct Firmware {
    inner: Mutex<Inner>,
}

/// `strcasecmp(a, b) == 0` for the kernel's ASCII `tolower`.
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Firmware {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock_ignoring_poison(&self.inner)
    }

    fn position(i: &Inner, name: &str) -> Option<usize> {
        i.table.iter().position(|e| same_name(&e.name, name))
    }

    /// `firmware_register`: the image's `struct firmware`, or null if the
    /// name is taken.
    #[allow(clippy::too_many_arguments, reason = "firmware_register's arguments")]
    pub(crate) fn register(
        &self,
        k: &Core,
        host: &dyn FirmwareHost,
        name: &str,
        data: KAddr,
        datasize: usize,
        version: u32,
        parent: KAddr,
    ) -> KAddr {
        self.register_entry(k, host, name, data, datasize, version, parent, None)
    }

    #[allow(clippy::too_many_arguments, reason = "firmware_register's arguments")]
    fn register_entry(
        &self,
        k: &Core,
        host: &dyn FirmwareHost,
        name: &str,
        data: KAddr,
        datasize: usize,
        version: u32,
        parent: KAddr,
        owned: Option<Box<[u8]>>,
    ) -> KAddr {
        if Self::position(&self.lock(), name).is_some() {
            k.console(&format!(
                "firmware_register: image {name} already registered!\n"
            ));
            return KAddr::new(0);
        }
        let block = host.fw_alloc(size_of::<PrivFw>(), sys::M_WAITOK | sys::M_ZERO);
        let name_ptr = host.fw_alloc(name.len() + 1, sys::M_WAITOK);
        // M_WAITOK never fails (kpi::malloc, as kern_malloc.c's KASSERT).
        assert!(
            !block.is_null() && !name_ptr.is_null(),
            "malloc(M_WAITOK) returned NULL"
        );
        // SAFETY: `name_ptr` is a fresh block of `len + 1` bytes.
        unsafe { core::ptr::copy_nonoverlapping(name.as_ptr(), name_ptr, name.len()) };
        // SAFETY: as above, for its last byte.
        unsafe { *name_ptr.wrapping_add(name.len()) = 0 };
        let mut i = self.lock();
        if Self::position(&i, name).is_some() {
            // We lost a race.
            drop(i);
            host.fw_free(KAddr::from_ptr(name_ptr));
            host.fw_free(KAddr::from_ptr(block));
            return KAddr::new(0);
        }
        let parent = if parent.is_null() {
            None
        } else {
            Some(parent.wrapping_sub(offset_of!(PrivFw, fw)))
        };
        let p = block.cast::<PrivFw>();
        // SAFETY: `block` is a fresh zeroed block the size of a
        // `struct priv_fw`; the caller gets `&fw` only after this.
        unsafe {
            (*p).fw = sys::firmware {
                name: name_ptr.cast(),
                data: data.ptr(),
                datasize,
                version,
            };
        }
        let e = Entry {
            block: KAddr::from_ptr(block),
            name: name.to_owned(),
            name_ptr: KAddr::from_ptr(name_ptr),
            data: KRange {
                start: data,
                len: datasize,
            },
            refcnt: 0,
            parent,
            unload: false,
            file: None,
            owned,
        };
        let fw = e.fw();
        i.table.push(e);
        fw
    }

    /// `firmware_unregister`
    ///
    /// # Errors
    /// `EBUSY` while the image is referenced.
    pub(crate) fn unregister(&self, host: &dyn FirmwareHost, name: &str) -> Result<(), Errno> {
        let e = {
            let mut i = self.lock();
            let Some(pos) = Self::position(&i, name) else {
                return Ok(());
            };
            if i.table[pos].refcnt != 0 {
                return Err(Errno::EBUSY);
            }
            i.table.remove(pos)
        };
        host.fw_free(e.name_ptr);
        host.fw_free(e.block);
        Ok(())
    }

    /// Takes a reference on entry `pos` (the `found:` exit of
    /// `firmware_get_flags`).
    fn take_ref(i: &mut Inner, pos: usize) -> KAddr {
        if i.table[pos].refcnt == 0
            && let Some(parent) = i.table[pos].parent
            && let Some(p) = i.table.iter_mut().find(|e| e.block == parent)
        {
            p.refcnt += 1;
        }
        i.table[pos].refcnt += 1;
        i.table[pos].fw()
    }

    /// `firmware_get_flags`: the image with a reference, or null.
    pub(crate) fn get(&self, k: &Core, host: &dyn FirmwareHost, name: &str, flags: u32) -> KAddr {
        {
            let mut i = self.lock();
            if let Some(pos) = Self::position(&i, name) {
                return Self::take_ref(&mut i, pos);
            }
        }
        if !host.may_load_firmware() {
            k.console(&format!(
                "firmware_get_flags: insufficient privileges to load firmware image {name}\n"
            ));
            return KAddr::new(0);
        }
        // msleep(&fwli, &firmware_mtx, 0, "fwload", 0) while the taskqueue
        // runs loadimage.
        witness::check_may_sleep(k, "Sleeping on \"fwload\"");
        self.loadimage(k, host, name, flags);
        let mut i = self.lock();
        match Self::position(&i, name) {
            Some(pos) => Self::take_ref(&mut i, pos),
            None => KAddr::new(0),
        }
    }

    /// `loadimage` (run by the firmware taskqueue on FreeBSD).
    fn loadimage(&self, k: &Core, host: &dyn FirmwareHost, name: &str, flags: u32) {
        let file = match host.reference_module(name) {
            Ok(f) => f,
            Err(Errno::EDEADLK) => {
                k.violation(
                    ViolationKind::Module,
                    format!("firmware_get(\"{name}\"): the image is not registered and loading its module needs the kernel linker lock (kld_sx), which this thread holds (a module event handler or SYSINIT during kldload/kldunload): this deadlocks on FreeBSD"),
                );
                return;
            }
            Err(e) => {
                if flags & sys::FIRMWARE_GET_NOWARN == 0 {
                    k.console(&format!(
                        "{name}: could not load firmware image, error {}\n",
                        e.0
                    ));
                }
                // try_binary_file: no /boot/firmware in the test kernel;
                // FreeBSD 14.0-15.0 print this when NOWARN *is* given.
                if flags & sys::FIRMWARE_GET_NOWARN != 0 {
                    k.console(&format!(
                        "{name}: could not load binary firmware {FW_PATH}{name} either\n"
                    ));
                }
                return;
            }
        };
        let registered = {
            let mut i = self.lock();
            match Self::position(&i, name) {
                Some(pos) if i.table[pos].file.is_none() => {
                    i.table[pos].file = Some(file);
                    true
                }
                Some(_) => false,
                None => {
                    drop(i);
                    k.console(&format!(
                        "{name}: firmware image loaded, but did not register\n"
                    ));
                    false
                }
            }
        };
        if !registered {
            host.release_module(file);
        }
    }

    /// `firmware_put`
    pub(crate) fn put(&self, k: &Core, fw: KAddr, flags: c_int) {
        let mut i = self.lock();
        let Some(pos) = i.table.iter().position(|e| e.fw() == fw) else {
            drop(i);
            k.violation(
                ViolationKind::Module,
                format!("firmware_put: {fw:#x} is not a registered firmware image"),
            );
            return;
        };
        let e = &mut i.table[pos];
        e.refcnt -= 1;
        if e.refcnt < 0 {
            let msg = format!(
                "firmware_put: image {} released more often than it was got",
                e.name
            );
            drop(i);
            k.violation(ViolationKind::Module, msg);
            return;
        }
        if e.refcnt == 0 {
            let parent = e.parent;
            if flags & sys::FIRMWARE_UNLOAD.cast_signed() != 0 {
                e.unload = true;
            }
            if e.file.is_some() {
                i.unload_queued = true;
            }
            if let Some(p) = parent.and_then(|p| i.table.iter_mut().find(|e| e.block == p)) {
                p.refcnt -= 1;
            }
        }
    }

    /// Runs `unloadentry` if `firmware_put` queued it: releases the
    /// modules loaded for images that are unused and asked to be
    /// unloaded (their `MOD_UNLOAD` unregisters the images).
    pub(crate) fn run_unload_task(&self, host: &dyn FirmwareHost) {
        if !core::mem::take(&mut self.lock().unload_queued) {
            return;
        }
        loop {
            let file = {
                let mut i = self.lock();
                let e = i
                    .table
                    .iter_mut()
                    .find(|e| e.file.is_some() && e.refcnt == 0 && e.unload);
                match e {
                    Some(e) => {
                        e.unload = false;
                        e.file
                    }
                    None => None,
                }
            };
            match file {
                Some(f) => host.release_module(f),
                None => return,
            }
        }
    }

    /// Kernel teardown (`firmware_modevent`'s `MOD_UNLOAD`): releases
    /// every module loaded for an image, reports images still referenced
    /// ("image NAME still active, N refs") and frees what is left.
    pub(crate) fn teardown(&self, k: &Core, host: &dyn FirmwareHost) {
        {
            let mut i = self.lock();
            for e in &mut i.table {
                e.unload = true;
            }
            i.unload_queued = true;
        }
        self.run_unload_task(host);
        let left = core::mem::take(&mut self.lock().table);
        for e in left {
            if e.refcnt != 0 {
                k.violation(
                    ViolationKind::Leak,
                    format!(
                        "firmware_modevent: image {} still active, {} refs (missing firmware_put)",
                        e.name, e.refcnt
                    ),
                );
            }
            host.fw_free(e.name_ptr);
            host.fw_free(e.block);
        }
    }

    /// Reports and forgets images whose data lies in `range`, the
    /// mapping of module `file` being unloaded.
    pub(crate) fn forget_range(
        &self,
        k: &Core,
        host: &dyn FirmwareHost,
        range: KRange,
        file: &str,
    ) {
        let gone: Vec<Entry> = {
            let mut i = self.lock();
            let (gone, keep) = core::mem::take(&mut i.table)
                .into_iter()
                .partition(|e| e.owned.is_none() && range.contains(e.data.start));
            i.table = keep;
            gone
        };
        for e in gone {
            k.violation(
                ViolationKind::Module,
                format!("firmware image {} of {file} still registered after the module was unloaded (missing firmware_unregister)", e.name),
            );
            host.fw_free(e.name_ptr);
            host.fw_free(e.block);
        }
    }

    /// Registers an image on behalf of the test (as if a module not under
    /// test had): `Err(EEXIST)` if the name is taken.
    pub(crate) fn register_owned(
        &self,
        k: &Core,
        host: &dyn FirmwareHost,
        name: &str,
        data: Vec<u8>,
        version: u32,
    ) -> Result<(), Errno> {
        let data = data.into_boxed_slice();
        let (ptr, len) = (KAddr::from_ptr(data.as_ptr().cast_mut()), data.len());
        let fw = self.register_entry(k, host, name, ptr, len, version, KAddr::new(0), Some(data));
        if fw.is_null() {
            Err(Errno::EEXIST)
        } else {
            Ok(())
        }
    }

    /// The registered images, by name.
    pub(crate) fn images(&self) -> Vec<FirmwareImage> {
        let i = self.lock();
        let mut v: Vec<FirmwareImage> = i
            .table
            .iter()
            .map(|e| {
                // SAFETY: the block holds the image's `struct priv_fw` for as
                // long as the entry exists (the table is locked).
                let version = unsafe { (*e.block.ptr::<PrivFw>()).fw.version };
                FirmwareImage {
                    name: e.name.clone(),
                    version,
                    size: e.data.len,
                    refs: e.refcnt,
                    autoloaded: e.file.is_some(),
                }
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}
