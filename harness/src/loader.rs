// SPDX-License-Identifier: BSD-2-Clause
//! The kernel linker: `kldload(2)`, `kldunload(2)`, `kldstat(2)`.
//!
//! Followed: `sys/kern/kern_linker.c` (`kern_kldload`,
//! `linker_load_module`, `linker_load_file`, `linker_load_dependencies`,
//! `linker_file_register_modules`, `linker_file_sysinit`,
//! `linker_file_sysuninit`, `linker_file_unload`, `kern_kldunload`,
//! `modlist_lookup2`, `linker_file_lookup_symbol_internal`), `sys/kern/kern_module.c` (`module_register`,
//! `module_register_init`, `module_quiesce`, `module_unload`) and
//! `sys/kern/link_elf_obj.c` (see `elf.rs` and `reloc.rs`).
//!
//! On FreeBSD a module whose `MOD_LOAD` fails is released by
//! `module_register_init` (after a `MOD_UNLOAD`); `linker_load_file` then
//! finds that the file had modules and has none left, unloads it (running
//! its SYSUNINITs, as the file was already marked linked) and fails the
//! load with `ENOEXEC`, which `kldload(8)` reports as "an error occurred
//! while loading module". A `MODULE_DEPEND` that cannot be satisfied
//! (including the one on `kernel` that `DECLARE_MODULE` adds) prints
//! "KLD %s: depends on %s - not available or version mismatch" and fails
//! with `ENOENT` (the module search found nothing), as on FreeBSD.
//!
//! The linker needs a few services of the rest of the kernel (`Host`):
//! `Giant` around module events and SYSINITs, the sysctl tree for a
//! file's static OIDs, the kernel's symbols, and a word to every
//! subsystem when a file's memory goes away (FreeBSD's `kld_unload`
//! event); the kernel provides them.

pub(crate) mod elf;
pub mod link_elf;
mod linker;
pub(crate) mod reloc;

pub(crate) use linker::{
    kldload, kldstat, kldunload, modstat, module_register_init, reference_module, release_file,
    set_module_path, unload_all,
};

use crate::addr::{KAddr, KRange};
use crate::state::{Config, Core};
use std::path::PathBuf;
use std::sync::Mutex;

/// What the linker needs from the rest of the kernel.
pub(crate) trait Host {
    /// The shared core: console, violations, panics.
    fn core(&self) -> &Core;
    /// The linker's own state.
    fn linker(&self) -> &LinkerState;
    /// The address of kernel symbol `name` (an emulated function's call
    /// stub, or kernel data), for relocations against the kernel.
    fn kernel_symbol(&self, name: &str) -> Option<KAddr>;
    /// Takes `Giant` (module events and SYSINITs run with it); `false`
    /// if the kernel died while waiting.
    fn lock_giant(&self) -> bool;
    /// Releases `Giant`.
    fn unlock_giant(&self);
    /// Registers a static OID of a file being linked
    /// (`linker_file_register_sysctls`); whether it was added.
    fn register_sysctl(&self, oid: KAddr) -> bool;
    /// Unregisters a static OID of a file being unloaded.
    fn unregister_sysctl(&self, oid: KAddr);
    /// The mapping `range` of file `file` is about to be unmapped:
    /// whatever the kernel still keeps in it (devices, OIDs, locks, malloc
    /// types) is reported and forgotten.
    fn file_unloading(&self, range: KRange, file: &str);
}

pub use crate::state::KERNEL_VERSION;

/// The file id of the kernel itself.
pub(crate) const KERNEL_FILE_ID: i32 = 1;

/// A loaded file (`struct linker_file`).
pub(crate) struct LinkerFile {
    pub(crate) id: i32,
    pub(crate) filename: String,
    pub(crate) pathname: String,
    pub(crate) obj: elf::Object,
    pub(crate) refs: u32,
    pub(crate) userrefs: u32,
    /// Files this one depends on, in `lf->deps` order: the kernel
    /// (`KERNEL_FILE_ID`) first.
    pub(crate) deps: Vec<i32>,
    /// The constructors ran (`lf->ctors_invoked == LF_CTORS`): only then
    /// do the destructors run at unload.
    pub(crate) ctors_invoked: bool,
    /// SYSINITs have run.
    pub(crate) linked: bool,
    /// Module ids, in `lf->modules` order.
    pub(crate) modules: Vec<i32>,
    /// Static OIDs registered from `set_sysctl_set`.
    pub(crate) sysctls: Vec<KAddr>,
}

/// A registered module (`struct module`).
pub(crate) struct Module {
    pub(crate) id: i32,
    pub(crate) name: String,
    pub(crate) file: i32,
    /// The event handler (`modeventhand_t`), null for none.
    pub(crate) handler: KAddr,
    /// Its private argument.
    pub(crate) arg: KAddr,
    /// The opaque `module_t` handed to the handler.
    pub(crate) handle: Box<[u64; 16]>,
}

/// A provided interface (`struct modlist`): `MODULE_VERSION`.
pub(crate) struct Provided {
    pub(crate) name: String,
    pub(crate) version: i32,
    pub(crate) container: i32,
}

/// The linker's state.
pub(crate) struct Linker {
    /// `debug.link_elf_obj_leak_locals`: other files see a file's local
    /// symbols.
    pub(crate) leak_locals: bool,
    #[allow(
        clippy::vec_box,
        reason = "files must not move: the ifunc pass keeps a pointer to one"
    )]
    pub(crate) files: Vec<Box<LinkerFile>>,
    pub(crate) modules: Vec<Module>,
    pub(crate) found: Vec<Provided>,
    pub(crate) next_file_id: i32,
    pub(crate) next_mod_id: i32,
    /// References to the kernel file.
    pub(crate) kernel_refs: u32,
    /// `kern.module_path`.
    pub(crate) module_path: Vec<PathBuf>,
}

impl Linker {
    /// The linker of a kernel whose `__FreeBSD_version` is `osreldate`.
    fn new(osreldate: i32, leak_locals: bool) -> Self {
        Linker {
            leak_locals,
            files: Vec::new(),
            modules: Vec::new(),
            found: vec![
                Provided {
                    name: String::from("kernel"),
                    version: osreldate,
                    container: KERNEL_FILE_ID,
                },
                // firmware(9) is in the kernel (`device firmware` in
                // GENERIC); firmware modules depend on it.
                Provided {
                    name: String::from("firmware"),
                    version: 1,
                    container: KERNEL_FILE_ID,
                },
            ],
            next_file_id: KERNEL_FILE_ID + 1,
            next_mod_id: 1,
            kernel_refs: 1,
            module_path: Vec::new(),
        }
    }
}

/// The linker of one kernel: `kld` serialises loads and unloads (the
/// `kld_sx` lock), `state` is held only briefly (never across module
/// code).
pub(crate) struct LinkerState {
    pub(crate) kld: Mutex<()>,
    pub(crate) state: Mutex<Linker>,
}

impl LinkerState {
    /// The linker of a kernel configured by `cfg`: its version
    /// (`Config::osreldate`, the `kernel` module's version that
    /// `MODULE_DEPEND(..., kernel, ...)` is checked against) and
    /// `debug.link_elf_obj_leak_locals`.
    pub(crate) fn new(cfg: &Config) -> Self {
        LinkerState {
            kld: Mutex::new(()),
            state: Mutex::new(Linker::new(cfg.osreldate, cfg.link_elf_obj_leak_locals)),
        }
    }
}

/// One line of `kldstat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KldStat {
    /// File id.
    pub id: i32,
    /// References.
    pub refs: u32,
    /// Load address.
    pub address: usize,
    /// Size in bytes.
    pub size: usize,
    /// File name (`hello.ko`).
    pub name: String,
    /// Path it was loaded from.
    pub pathname: String,
}

/// A registered module, as `modstat(2)` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModStat {
    /// Module id (`modfind(2)`).
    pub id: i32,
    /// Module name (`DECLARE_MODULE`'s).
    pub name: String,
    /// Id of the file that contains it.
    pub file: i32,
}

/// What to unload: a file id or a name (as `kldunload -i`/`-n`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KldTarget {
    /// A file id.
    Id(i32),
    /// A file name (`hello` or `hello.ko`).
    Name(String),
}

impl From<i32> for KldTarget {
    fn from(id: i32) -> Self {
        KldTarget::Id(id)
    }
}

impl From<&str> for KldTarget {
    fn from(n: &str) -> Self {
        KldTarget::Name(n.to_owned())
    }
}

impl From<String> for KldTarget {
    fn from(n: String) -> Self {
        KldTarget::Name(n)
    }
}
