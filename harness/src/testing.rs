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

/// Loads module `name` on a fresh kernel once per `M_NOWAIT` allocation its
/// load makes, with exactly that allocation failing, until a load succeeds.
/// `M_WAITOK` allocations never fail, as in FreeBSD (see `kpi::malloc`), so
/// a load that allocates only with `M_WAITOK` succeeds the first time (and
/// 0 is returned).
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

    /// The parsed headers of `bytes`, for the patches below.
    fn file(
        bytes: &[u8],
    ) -> (
        &elf::FileHeader64<LE>,
        object::read::elf::SectionTable<'_, elf::FileHeader64<LE>>,
    ) {
        let hdr = elf::FileHeader64::<LE>::parse(bytes).expect("ELF header");
        let sections = hdr.sections(LE, bytes).expect("sections");
        (hdr, sections)
    }

    /// The file offset of the header of the first section named `name`.
    ///
    /// # Panics
    /// If there is no such section or the file is not ELF.
    fn section_header(bytes: &[u8], name: &str) -> usize {
        let e = LE;
        let (hdr, sections) = file(bytes);
        let index = sections
            .iter()
            .position(|s| sections.section_name(e, s).ok() == Some(name.as_bytes()))
            .unwrap_or_else(|| panic!("no section {name}"));
        hdr.e_shoff.get(e) as usize + index * size_of::<elf::SectionHeader64<LE>>()
    }

    fn write_u32(bytes: &mut [u8], at: usize, v: u32) -> u32 {
        let old = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
        old
    }

    fn write_u64(bytes: &mut [u8], at: usize, v: u64) -> u64 {
        let old = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
        old
    }

    /// Sets `sh_type` of section `name`; returns the old type.
    ///
    /// # Panics
    /// If there is no such section or the file is not ELF.
    pub fn set_section_type(bytes: &mut [u8], name: &str, sh_type: u32) -> u32 {
        let at =
            section_header(bytes, name) + core::mem::offset_of!(elf::SectionHeader64<LE>, sh_type);
        write_u32(bytes, at, sh_type)
    }

    /// Sets `sh_flags` of section `name`; returns the old flags.
    ///
    /// # Panics
    /// If there is no such section or the file is not ELF.
    pub fn set_section_flags(bytes: &mut [u8], name: &str, flags: u64) -> u64 {
        let at =
            section_header(bytes, name) + core::mem::offset_of!(elf::SectionHeader64<LE>, sh_flags);
        write_u64(bytes, at, flags)
    }

    /// Sets `sh_addralign` of section `name`; returns the old alignment.
    ///
    /// # Panics
    /// If there is no such section or the file is not ELF.
    pub fn set_section_align(bytes: &mut [u8], name: &str, align: u64) -> u64 {
        let at = section_header(bytes, name)
            + core::mem::offset_of!(elf::SectionHeader64<LE>, sh_addralign);
        write_u64(bytes, at, align)
    }

    /// Renames section `old` to `new` (not longer than `old`) in place in
    /// the section name table.
    ///
    /// # Panics
    /// If there is no such section, `new` is longer, or the file is not
    /// ELF.
    pub fn rename_section(bytes: &mut [u8], old: &str, new: &str) {
        assert!(new.len() <= old.len(), "a shorter or equal name only");
        let e = LE;
        let at = {
            let data: &[u8] = bytes;
            let (hdr, sections) = file(data);
            let index = hdr.shstrndx(e, data).expect("section names index");
            let shstrtab = sections
                .section(object::SectionIndex(index as usize))
                .expect("section names");
            let sec = sections
                .iter()
                .find(|s| sections.section_name(e, s).ok() == Some(old.as_bytes()))
                .unwrap_or_else(|| panic!("no section {old}"));
            shstrtab.sh_offset(e) as usize + sec.sh_name(e) as usize
        };
        bytes[at..at + new.len()].copy_from_slice(new.as_bytes());
        bytes[at + new.len()] = 0;
    }

    /// Sets the binding (`STB_*`) of the symbol `name`; returns the old
    /// one.
    ///
    /// # Panics
    /// If there is no such symbol or the file is not ELF.
    pub fn set_symbol_bind(bytes: &mut [u8], name: &str, bind: u8) -> u8 {
        let e = LE;
        let at = {
            let (_, sections) = file(bytes);
            let symtab = sections.symbols(e, bytes, elf::SHT_SYMTAB).expect("symtab");
            let sec = sections
                .iter()
                .find(|s| s.sh_type(e) == elf::SHT_SYMTAB)
                .expect("symtab section");
            let i = symtab
                .iter()
                .position(|s| s.name(e, symtab.strings()).ok() == Some(name.as_bytes()))
                .unwrap_or_else(|| panic!("no symbol {name}"));
            sec.sh_offset(e) as usize
                + i * size_of::<elf::Sym64<LE>>()
                + core::mem::offset_of!(elf::Sym64<LE>, st_info)
        };
        let old = bytes[at];
        bytes[at] = (bind << 4) | (old & 0xf);
        old >> 4
    }

    /// Sets the type of every `SHT_RELA` relocation against the symbol
    /// `name` to `new_type`; returns how many there were.
    ///
    /// # Panics
    /// If there is no such symbol or the file is not ELF.
    pub fn set_reloc_type_for_symbol(bytes: &mut [u8], name: &str, new_type: u32) -> usize {
        let e = LE;
        let spots: Vec<usize> = {
            let (_, sections) = file(bytes);
            let symtab = sections.symbols(e, bytes, elf::SHT_SYMTAB).expect("symtab");
            let index = symtab
                .iter()
                .position(|s| s.name(e, symtab.strings()).ok() == Some(name.as_bytes()))
                .unwrap_or_else(|| panic!("no symbol {name}"));
            let mut v = Vec::new();
            for s in sections.iter().filter(|s| s.sh_type(e) == elf::SHT_RELA) {
                let off = s.sh_offset(e) as usize;
                let n = s.sh_size(e) as usize / size_of::<elf::Rela64<LE>>();
                for r in 0..n {
                    // Elf64_Rela: r_offset (8), r_info (8: sym << 32 | type).
                    let info = off + r * size_of::<elf::Rela64<LE>>() + 8;
                    let sym = u32::from_le_bytes(bytes[info + 4..info + 8].try_into().expect("4"));
                    if sym as usize == index {
                        v.push(info);
                    }
                }
            }
            v
        };
        for &at in &spots {
            write_u32(bytes, at, new_type);
        }
        spots.len()
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
