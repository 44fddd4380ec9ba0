// SPDX-License-Identifier: BSD-2-Clause
//! Helpers for tests: where the built modules are.
//!
//! `cargo xtask test` sets `KMOD_BUILD_DIR`; otherwise the workspace's
//! `build/` folder is used.

use crate::errno::Error;
use crate::kernel::Kernel;
use crate::kpi::malloc::FailPolicy;
use std::path::PathBuf;

/// The folder holding the built `.ko` files.
#[must_use]
pub fn build_dir() -> PathBuf {
    std::env::var_os("KMOD_BUILD_DIR").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("build")
        },
        PathBuf::from,
    )
}

/// The path of `build/NAME.ko`.
///
/// # Panics
/// If the module has not been built: run `make` (or `cargo xtask build`)
/// first.
#[must_use]
pub fn module_path(name: &str) -> PathBuf {
    let p = build_dir().join(format!("{name}.ko"));
    assert!(
        p.is_file(),
        "{} does not exist: run `make` first (cargo xtask build), or set KMOD_BUILD_DIR",
        p.display()
    );
    p
}

/// Loads module `name` on a fresh kernel once per allocation its load
/// makes, with exactly that allocation failing (`M_WAITOK` ones too: the
/// kernel is in strict mode), until a load succeeds.
///
/// `failed(kernel, n, error)` checks the kernel after the load whose `n`th
/// allocation failed; `loaded(kernel, id)` gets the first load that
/// succeeds, with failures turned off. Returns the number of failed loads.
///
/// # Panics
/// If the load has not succeeded after 100 attempts, or as the callbacks
/// panic.
pub fn fail_each_load_allocation(
    name: &str,
    mut failed: impl FnMut(&Kernel, u32, Error),
    loaded: impl FnOnce(&Kernel, i32),
) -> u32 {
    let path = module_path(name);
    for n in 1..100 {
        let k = Kernel::new();
        k.set_malloc_strict(true);
        k.set_malloc_failures(FailPolicy::NthFromNow(u64::from(n)));
        match k.kldload(&path) {
            Ok(id) => {
                k.set_malloc_failures(FailPolicy::Never);
                loaded(&k, id);
                return n - 1;
            }
            Err(e) => failed(&k, n, e),
        }
    }
    panic!("loading {name} never succeeded");
}

/// A copy of a built module in a fresh temporary folder, for tests that
/// patch bytes; the folder is removed on drop.
pub struct TempModule {
    dir: PathBuf,
    path: PathBuf,
}

impl TempModule {
    /// Copies `build/NAME.ko` and lets `patch` edit the bytes.
    #[must_use]
    pub fn patched(name: &str, patch: impl FnOnce(&mut Vec<u8>)) -> Self {
        let src = module_path(name);
        let mut bytes = std::fs::read(&src).expect("read module");
        patch(&mut bytes);
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let uniq = format!(
            "harness-{}-{}-{:?}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            std::thread::current().id()
        )
        .replace(['(', ')'], "");
        let dir = std::env::temp_dir().join(uniq);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{name}.ko"));
        std::fs::write(&path, bytes).expect("write module");
        TempModule { dir, path }
    }

    /// The patched file.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for TempModule {
    fn drop(&mut self) {
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

/// Byte patches of a `.ko`, for negative tests (a broken module is made by
/// mutating a good one rather than by building it).
pub mod patch {
    use object::LittleEndian as LE;
    use object::elf;
    use object::read::elf::{FileHeader, SectionHeader, Sym};

    /// Renames the undefined symbol `old` to `new` (same length) in the
    /// string table. Returns false if not found.
    ///
    /// # Panics
    /// If `new` is not as long as `old` or the file is not ELF.
    pub fn rename_undefined(bytes: &mut [u8], old: &str, new: &str) -> bool {
        assert_eq!(old.len(), new.len(), "same-length names only");
        let e = LE;
        let (strtab_off, name_off) = {
            let data: &[u8] = bytes;
            let hdr = elf::FileHeader64::<LE>::parse(data).expect("ELF header");
            let sections = hdr.sections(e, data).expect("sections");
            let symtab = sections.symbols(e, data, elf::SHT_SYMTAB).expect("symtab");
            let strsec = sections.section(symtab.string_section()).expect("strtab");
            let mut found = None;
            for s in symtab.iter() {
                if s.st_shndx(e) == elf::SHN_UNDEF
                    && s.name(e, symtab.strings()).ok() == Some(old.as_bytes())
                {
                    found = Some(s.st_name(e) as usize);
                }
            }
            match found {
                Some(n) => (strsec.sh_offset(e) as usize, n),
                None => return false,
            }
        };
        let at = strtab_off + name_off;
        bytes[at..at + new.len()].copy_from_slice(new.as_bytes());
        true
    }

    /// Sets the type of the first relocation of the first `SHT_RELA`
    /// section whose name contains `section` to `new_type`. Returns the
    /// old type.
    ///
    /// # Panics
    /// If there is no such relocation or the file is not ELF.
    pub fn set_reloc_type(bytes: &mut [u8], section: &str, new_type: u32) -> u32 {
        let e = LE;
        let off = {
            let data: &[u8] = bytes;
            let hdr = elf::FileHeader64::<LE>::parse(data).expect("ELF header");
            let sections = hdr.sections(e, data).expect("sections");
            let sec = sections
                .iter()
                .find(|s| {
                    s.sh_type(e) == elf::SHT_RELA
                        && s.sh_size(e) > 0
                        && sections
                            .section_name(e, s)
                            .is_ok_and(|n| String::from_utf8_lossy(n).contains(section))
                })
                .expect("no such relocation section");
            sec.sh_offset(e) as usize
        };
        // Elf64_Rela: r_offset (8), r_info (8: sym << 32 | type), r_addend.
        let info = off + 8;
        let old = u32::from_le_bytes(bytes[info..info + 4].try_into().expect("4 bytes"));
        bytes[info..info + 4].copy_from_slice(&new_type.to_le_bytes());
        old
    }
}
