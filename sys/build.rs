// SPDX-License-Identifier: BSD-2-Clause
//! Generates the FreeBSD kernel bindings with bindgen.
//!
//! The headers come from [`kbuild::HeaderTree::locate`] (`SYSDIR`, else the
//! pinned `ziglang` tree) and are parsed with the same target and defines as
//! a module's C files, for the target's architecture (amd64, or arm64 for
//! an aarch64 target). Only the interfaces the project uses are allowlisted,
//! and the prototypes of kern's C helpers (`shim/kern.h`), so their Rust
//! side is generated too.
#![allow(
    clippy::expect_used,
    reason = "a build script reports failure by panicking"
)]
#![allow(
    clippy::large_stack_frames,
    reason = "a host build script, not kernel code"
)]

use std::path::PathBuf;

#[path = "build/newbus.rs"]
mod newbus;

/// Kernel functions `kern` and the harness call.
const FUNCTIONS: &[&str] = &[
    "malloc",
    "malloc_aligned",
    "realloc",
    "free",
    "printf",
    "log",
    "uprintf",
    "panic",
    "uiomove",
    "copyin",
    "copyout",
    "make_dev",
    "make_dev_s",
    "make_dev_p",
    "make_dev_args_init_impl",
    "destroy_dev",
    "devfs_set_cdevpriv",
    "devfs_get_cdevpriv",
    "devfs_clear_cdevpriv",
    "sysctl_ctx_init",
    "sysctl_ctx_free",
    "sysctl_add_oid",
    "sysctl_remove_oid",
    "sysctl_handle_.*",
    "counter_u64_alloc",
    "counter_u64_free",
    "counter_u64_fetch",
    "counter_u64_zero",
    "getenv_quad",
    "getenv_int",
    "getenv_string",
    "_mtx_.*",
    "__mtx_.*",
    "_sx_.*",
    "sx_init_flags",
    "sx_destroy",
    "sx_try_xlock_",
    "reallocf",
    "vprintf",
    "snprintf",
    "copyinstr",
    "memcpy",
    "memmove",
    "memset",
    "memcmp",
    "strlen",
    "strcmp",
    "strncmp",
    "strlcpy",
    "module_register_init",
    "malloc_init",
    "malloc_uninit",
    // sleep(9), condvar(9), callout(9), taskqueue(9), selrecord(9),
    // kqueue(9).
    "_sleep",
    "wakeup",
    "wakeup_one",
    "wakeup_any",
    "cv_.*",
    "_cv_.*",
    "callout_init",
    "_callout_init_lock",
    "callout_reset_sbt_on",
    "_callout_stop_safe",
    "callout_schedule",
    "callout_schedule_on",
    "taskqueue_.*",
    "selrecord",
    "selwakeup",
    "selwakeuppri",
    "seldrain",
    "knote",
    "knlist_.*",
    // The C helpers of `shim/kern.c`, declared in `shim/kern.h`. They are
    // defined in each module's own shim object, not by the kernel, so they
    // are not in `kernel-symbols.txt`.
    "shim_.*",
];

/// Types used through the bindings (their dependencies come along).
const TYPES: &[&str] = &[
    "module_t",
    "modeventtype",
    "modeventtype_t",
    "moduledata",
    "moduledata_t",
    "mod_metadata",
    "mod_depend",
    "mod_version",
    "sysinit",
    "sysinit_sub_id",
    "sysinit_elem_order",
    "malloc_type",
    "malloc_type_internal",
    "cdevsw",
    "cdev",
    "make_dev_args",
    "d_.*_t",
    "uio",
    "iovec",
    "uio_rw",
    "uio_seg",
    "thread",
    "pcpu",
    "proc",
    "ucred",
    "mtx",
    "sx",
    "lock_object",
    "sysctl_oid",
    "sysctl_oid_list",
    "sysctl_ctx_list",
    "sysctl_ctx_entry",
    "sysctl_req",
    "linker_file",
    "file",
    "proc",
    "sysctl_handler_t",
    "callout",
    "callout_func_t",
    "task",
    "task_fn_t",
    "taskqueue",
    "taskqueue_enqueue_fn",
    "selinfo",
    "knote",
    "knlist",
    "klist",
    "filterops",
    "kevent",
    "cv",
    "sbintime_t",
    "pollfd",
    // The clock (`sys/sys/time.h`), sbuf(9) and firmware(9): structures the
    // harness fills in or reads.
    "timeval",
    "timespec",
    "bintime",
    "sbuf",
    "sbuf_drain_func",
    "firmware",
];

/// Constants (object-like macros that expand to numbers).
const VARS: &[&str] = &[
    "M_.*",
    "MOD_.*",
    "MDT_.*",
    "MDT_STRUCT_VERSION",
    "MAKEDEV_.*",
    "D_.*",
    "SI_SUB_.*",
    "SI_ORDER_.*",
    "CTLTYPE.*",
    "CTLFLAG_.*",
    "CTLMASK_.*",
    "OID_AUTO",
    "E[A-Z0-9]+",
    "ELAST",
    "ERESTART",
    "EJUSTRETURN",
    "ENOIOCTL",
    "EDIRIOCTL",
    "IOC_.*",
    "IOCPARM_.*",
    "FIO.*",
    "UID_.*",
    "GID_.*",
    "MTX_.*",
    "SX_.*",
    "LO_.*",
    "IO_.*",
    "O_.*",
    "FREAD",
    "FWRITE",
    "FNONBLOCK",
    "LOG_.*",
    "IOV_MAX",
    "UIO_MAXIOV",
    "INT_MAX",
    "SSIZE_MAX",
    "MAXPHYS",
    "PAGE_SIZE",
    "SPECNAMELEN",
    "__FreeBSD_version",
    "SBUF_.*",
    "FIRMWARE_.*",
    "C_HARDCLOCK",
    "C_ABSOLUTE",
    "C_CATCH",
    "C_DIRECT_EXEC",
    "REQ_UNWIRED",
    "REQ_WIRED",
    // Data the kernel exports and modules refer to.
    "sysctl__children",
    "sysctl___hw",
    "sysctl___kern",
    "sysctl___debug",
    "sysctl___dev",
    "sysctl___security",
    "M_DEVBUF",
    "M_TEMP",
    "Giant",
    // sleep(9), callout(9), taskqueue(9), kqueue(9), poll(2) constants.
    "PCATCH",
    "PDROP",
    "PRIMASK",
    "PZERO",
    "PSOCK",
    "PWAIT",
    "PRI_.*",
    "C_.*",
    "CALLOUT_.*",
    "CS_.*",
    "SBT_.*",
    "TASKQUEUE_.*",
    "EVFILT_.*",
    "EV_.*",
    "NOTE_.*",
    "KNF_.*",
    "KN_.*",
    "POLL.*",
    "INFTIM",
    "tick_sbt",
    "taskqueue_thread",
    "taskqueue_fast",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest
        .parent()
        .expect("sys/ lives in the workspace")
        .to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-env-changed=SYSDIR");
    println!("cargo:rerun-if-env-changed=KMOD_HEADERS");
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=../shim/kern.h");
    println!("cargo:rerun-if-changed=newbus.h");
    println!("cargo:rerun-if-changed=../shim/newbus.h");
    println!("cargo:rerun-if-changed=build/newbus.rs");
    // Bindings per target: a module built for aarch64 reads arm64's
    // `machine/` headers; everything else (the kernel target x86_64 and the
    // host crates, which use these layouts to emulate an amd64 kernel) reads
    // amd64's.
    let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let arch = kbuild::Arch::from_target_arch(&target_arch).unwrap_or_default();
    let tree = match kbuild::HeaderTree::locate_for(&workspace, &out, arch) {
        Ok(tree) => tree,
        Err(e) => {
            println!("cargo:warning={e}");
            std::process::exit(1);
        }
    };
    for path in tree.watched_roots() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let mut builder = bindgen::Builder::default()
        .header(manifest.join("wrapper.h").to_string_lossy())
        .header(manifest.join("newbus.h").to_string_lossy())
        .clang_args(tree.clang_args(&[]))
        .clang_arg("-ffreestanding")
        .use_core()
        .ctypes_prefix("core::ffi")
        .detect_include_paths(false)
        .layout_tests(true)
        .derive_default(true)
        .derive_debug(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .clang_macro_fallback()
        // Every `struct sx`/`struct mtx` is address-sensitive, and so are
        // the structures the kernel links into its queues (a callout on the
        // wheel, a task on its queue, a condvar's or selinfo's sleepers, a
        // knlist's knotes): bindgen's derives must not suggest they can be
        // copied.
        .no_copy("mtx")
        .no_copy("sx")
        .no_copy("cv")
        .no_copy("callout")
        .no_copy("task")
        .no_copy("selinfo")
        .no_copy("knlist")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for f in FUNCTIONS {
        builder = builder.allowlist_function(f);
    }
    for t in TYPES {
        builder = builder.allowlist_type(t);
    }
    for v in VARS {
        builder = builder.allowlist_var(v);
    }
    builder = newbus::allowlist(builder);
    let bindings = builder
        .generate()
        .expect("bindgen could not parse the FreeBSD headers");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");
}
