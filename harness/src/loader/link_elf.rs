// SPDX-License-Identifier: BSD-2-Clause
//! Loading an arm64 `ET_DYN` module as `sys/kern/link_elf.c` loads it.
//!
//! FreeBSD/arm64 modules are shared objects (`kmod.mk` links them with
//! `-Bshareable` on every architecture but amd64), and the kernel loads
//! them with `link_elf.c`, not `link_elf_obj.c` (see `elf.rs` for the
//! amd64 path). Read: `sys/kern/link_elf.c` at freebsd-src commit
//! `01d4e2149e5566e5d9394913dc9fb032da259e0b` and
//! `sys/arm64/arm64/elf_machdep.c` at `00a53ebe08d366e3ba49fa93814abd91946a1fcb`
//! (the versions the search index held; the FreeBSD 15 files may differ in
//! detail, such as `R_AARCH64_IRELATIVE`/`TLSDESC`, which this loader
//! refuses like the version read).
//!
//! Followed, in `link_elf_load_file`: `IS_ELF` (`ENOEXEC`, silent),
//! "Unsupported file layout", "Unsupported file version", a type other
//! than `ET_EXEC`/`ET_DYN` (`ENOSYS`, silent), "Unsupported machine"
//! (not `EM_AARCH64`), "Unreadable program headers" (printed, and the
//! load goes on), at most `MAXSEGS` (4) `PT_LOAD` segments ("Too many
//! sections"), `PT_INTERP` (`ENOSYS`), "Object is not dynamically-linked"
//! (no `PT_DYNAMIC`), "No sections"; one mapping from
//! `trunc_page(first p_vaddr)` to `round_page(last p_vaddr + p_memsz)`,
//! each segment read to `mapbase + p_vaddr - base_vaddr` and its bss
//! zeroed. `parse_dynamic`: `DT_HASH`, `DT_STRTAB`, `DT_STRSZ`,
//! `DT_SYMTAB`, `DT_REL`/`DT_RELSZ`, `DT_RELA`/`DT_RELASZ`,
//! `DT_JMPREL`/`DT_PLTRELSZ`/`DT_PLTREL`, every pointer taken as
//! `ef->address + d_ptr`; `ENOEXEC` (silent) for a `DT_SYMENT`,
//! `DT_RELENT` or `DT_RELAENT` of the wrong size and a `DT_PLTREL` other
//! than `DT_REL`/`DT_RELA`. `parse_dpcpu`: a `pcpu` set is not emulated
//! here (refused, see below). `link_elf_reloc_local`, then
//! `relocate_file` (`reloc.rs` beside this file).
//!
//! Where the harness differs, and says so in the error:
//! - FreeBSD trusts the file: a program header, segment, table or
//!   relocation that points outside the file or the mapping reads or
//!   writes out of bounds there. Here it fails with `ENOEXEC` and says
//!   what lies outside.
//! - A module with a `pcpu` linker set (`DPCPU_DEFINE`) is refused:
//!   `dpcpu_alloc` is not emulated.
//! - The kernel's symbols are the test kernel's, plus the arm64 kernel
//!   data no amd64 module may reference ([`arm64_kernel_symbol`]).
//! - Dependencies other than the kernel are not searched (the module
//!   lookup order is the file, then the kernel).
//! - The mapping is below 2 GiB (`crate::lowmem`), read-write, never
//!   executable: this is an x86-64 host and **arm64 code is not run**.
//!   The loader lays the module out, relocates it and reads its linker
//!   sets and module metadata; running its code (under qemu-user, with
//!   x18 holding the emulated pcpu) is a later step.

mod image;
mod reloc;

pub use image::{DynFile, Metadata, MetadataKind, Relocation, Target};

use crate::errno::Errno;
use crate::lowmem::{LowMap, PAGE_SIZE};
use core::sync::atomic::AtomicBool;
use image::{Dynamic, Tables};

/// `EM_AARCH64`, `ELF_TARG_MACH` of the arm64 kernel.
pub const EM_AARCH64: u16 = 183;
/// `MAXSEGS` in `link_elf.c`.
const MAXSEGS: usize = 4;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
/// `sizeof(Elf64_Phdr)`.
const PHDR_SIZE: usize = 56;

/// `lse_supported`: arm64's `machine/atomic.h` (FreeBSD 15 headers)
/// declares `extern _Bool lse_supported;` and every inline atomic tests it
/// to choose an LSE instruction or a load/store-exclusive loop. `false`:
/// the loops, which every arm64 CPU (and qemu) runs.
static LSE_SUPPORTED: AtomicBool = AtomicBool::new(false);

/// The address of arm64-only kernel data `name` (`lse_supported`), which
/// the amd64 test kernel does not export (an amd64 module referencing it
/// must still fail to load).
pub fn arm64_kernel_symbol(name: &str) -> Option<u64> {
    match name {
        "lse_supported" => Some(LSE_SUPPORTED.as_ptr() as u64),
        _ => None,
    }
}

/// Why a load failed: the errno, what FreeBSD prints, and (when FreeBSD
/// fails silently or the harness differs) why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynError {
    /// What `kldload(2)` returns.
    pub errno: Errno,
    /// The console lines FreeBSD prints, in order.
    pub messages: Vec<String>,
    /// The cause, where FreeBSD prints nothing (or where the harness
    /// refuses what FreeBSD would do out of bounds).
    pub why: Option<String>,
}

impl DynError {
    fn new(errno: Errno, messages: Vec<String>, why: Option<String>) -> Self {
        DynError {
            errno,
            messages,
            why,
        }
    }

    /// `link_elf_error`'s "kldload: FILE: WHAT" and `ENOEXEC`.
    fn link_error(filename: &str, what: &str) -> Self {
        Self::new(
            Errno::ENOEXEC,
            vec![format!("kldload: {filename}: {what}")],
            None,
        )
    }

    /// A silent failure, explained by `why`.
    fn silent(errno: Errno, why: String) -> Self {
        Self::new(errno, Vec::new(), Some(why))
    }

    /// Outside the file or mapping: where FreeBSD would go out of bounds.
    fn out_of_bounds(filename: &str, what: &str) -> Self {
        Self::silent(
            Errno::ENOEXEC,
            format!(
                "{filename}: {what} lies outside the file or the mapping \
                 (FreeBSD trusts it and reads or writes out of bounds; the harness refuses)"
            ),
        )
    }
}

impl core::fmt::Display for DynError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.errno)?;
        for m in &self.messages {
            write!(f, "; {m}")?;
        }
        if let Some(w) = &self.why {
            write!(f, "; {w}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DynError {}

/// Little-endian readers over a byte slice, `None` past its end.
pub(crate) mod le {
    /// `N` bytes at `off`.
    fn bytes<const N: usize>(b: &[u8], off: u64) -> Option<[u8; N]> {
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(N)?;
        b.get(start..end)?.try_into().ok()
    }

    /// A `u16` at `off`.
    pub(crate) fn u16_at(b: &[u8], off: u64) -> Option<u16> {
        bytes(b, off).map(u16::from_le_bytes)
    }

    /// A `u32` at `off`.
    pub(crate) fn u32_at(b: &[u8], off: u64) -> Option<u32> {
        bytes(b, off).map(u32::from_le_bytes)
    }

    /// A `u64` at `off`.
    pub(crate) fn u64_at(b: &[u8], off: u64) -> Option<u64> {
        bytes(b, off).map(u64::from_le_bytes)
    }
}

/// One program header's fields that `link_elf_load_file` uses.
#[derive(Clone, Copy, Debug)]
struct Phdr {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn trunc_page(x: u64) -> u64 {
    x & !(PAGE_SIZE as u64 - 1)
}

fn round_page(x: u64) -> Option<u64> {
    Some(x.checked_add(PAGE_SIZE as u64 - 1)? & !(PAGE_SIZE as u64 - 1))
}

/// Checks the ELF header as `link_elf_load_file` does; the messages it
/// printed that did not stop the load.
fn check_header(filename: &str, data: &[u8]) -> Result<Vec<String>, DynError> {
    if data.get(0..4) != Some(&b"\x7fELF"[..]) {
        return Err(DynError::silent(
            Errno::ENOEXEC,
            format!("{filename}: not an ELF file (IS_ELF fails)"),
        ));
    }
    let ident = |i: usize| data.get(i).copied().unwrap_or(0);
    // ELFCLASS64, ELFDATA2LSB: the arm64 kernel's ELF_TARG_CLASS/DATA.
    if ident(4) != 2 || ident(5) != 1 {
        return Err(DynError::link_error(filename, "Unsupported file layout"));
    }
    let version = le::u32_at(data, 20).unwrap_or(0);
    if ident(6) != 1 || version != 1 {
        return Err(DynError::link_error(filename, "Unsupported file version"));
    }
    let e_type = le::u16_at(data, 16).unwrap_or(0);
    if e_type != ET_EXEC && e_type != ET_DYN {
        return Err(DynError::silent(
            Errno::ENOSYS,
            format!("{filename}: e_type {e_type} is neither ET_EXEC nor ET_DYN"),
        ));
    }
    let machine = le::u16_at(data, 18).unwrap_or(0);
    if machine != EM_AARCH64 {
        let mut e = DynError::link_error(filename, "Unsupported machine");
        e.why = Some(format!(
            "{filename}: e_machine {machine}, not EM_AARCH64 ({EM_AARCH64})"
        ));
        return Err(e);
    }
    let mut printed = Vec::new();
    let phoff = le::u64_at(data, 32).unwrap_or(u64::MAX);
    let phentsize = le::u16_at(data, 54).unwrap_or(0);
    let phnum = le::u16_at(data, 56).unwrap_or(0);
    let end = phoff.saturating_add(u64::from(phnum) * PHDR_SIZE as u64);
    let nbytes = data.len().min(PAGE_SIZE) as u64;
    if !(usize::from(phentsize) == PHDR_SIZE && end <= PAGE_SIZE as u64 && end <= nbytes) {
        // link_elf.c prints this and goes on reading the first page.
        printed.push(format!("kldload: {filename}: Unreadable program headers"));
        // It then reads them with sizeof(Elf_Phdr) strides whatever
        // e_phentsize says; past the file the harness stops.
        if end > data.len() as u64 {
            return Err(DynError::out_of_bounds(
                filename,
                "the program header table",
            ));
        }
    }
    Ok(printed)
}

/// The program headers.
fn phdrs(data: &[u8]) -> Vec<Phdr> {
    let phoff = le::u64_at(data, 32).unwrap_or(0);
    let phnum = le::u16_at(data, 56).unwrap_or(0);
    (0..u64::from(phnum))
        .filter_map(|i| {
            let p = phoff.checked_add(i * PHDR_SIZE as u64)?;
            Some(Phdr {
                kind: le::u32_at(data, p)?,
                offset: le::u64_at(data, p + 8)?,
                vaddr: le::u64_at(data, p + 16)?,
                filesz: le::u64_at(data, p + 32)?,
                memsz: le::u64_at(data, p + 40)?,
            })
        })
        .collect()
}

/// Loads `data` (the file `filename`) as `link_elf_load_file` would on
/// FreeBSD/arm64: checks it, maps its segments in one mapping, parses its
/// dynamic section and applies its relocations, resolving the module's
/// own symbols first and then the kernel's through `kernel` (a symbol's
/// address in the test kernel, `None` if the kernel lacks it).
///
/// Nothing is registered and no module code runs (see the module docs).
pub fn load(
    filename: &str,
    data: &[u8],
    kernel: &dyn Fn(&str) -> Option<u64>,
) -> Result<DynFile, DynError> {
    let mut messages = check_header(filename, data)?;
    let mut segs: Vec<Phdr> = Vec::new();
    let mut phdyn = None;
    for ph in phdrs(data) {
        match ph.kind {
            PT_LOAD => {
                if segs.len() == MAXSEGS {
                    let mut e = DynError::link_error(filename, "Too many sections");
                    e.messages.splice(0..0, messages);
                    return Err(e);
                }
                segs.push(ph);
            }
            PT_DYNAMIC => phdyn = Some(ph),
            PT_INTERP => {
                return Err(DynError::silent(
                    Errno::ENOSYS,
                    format!("{filename}: has a PT_INTERP program header"),
                ));
            }
            _ => {}
        }
    }
    let Some(phdyn) = phdyn else {
        let mut e = DynError::link_error(filename, "Object is not dynamically-linked");
        e.why = Some(format!("{filename}: no PT_DYNAMIC program header"));
        return Err(e);
    };
    let (Some(first), Some(last)) = (segs.first(), segs.last()) else {
        return Err(DynError::link_error(filename, "No sections"));
    };
    let base_vaddr = trunc_page(first.vaddr);
    let base_vlimit = last
        .vaddr
        .checked_add(last.memsz)
        .and_then(round_page)
        .ok_or_else(|| DynError::out_of_bounds(filename, "the last PT_LOAD segment"))?;
    let mapsize = base_vlimit
        .checked_sub(base_vaddr)
        .filter(|&s| s > 0)
        .and_then(|s| usize::try_from(s).ok())
        .ok_or_else(|| {
            DynError::out_of_bounds(filename, "a PT_LOAD segment before the first one")
        })?;
    let map = LowMap::new(mapsize)
        .map_err(|e| DynError::silent(e, format!("{filename}: cannot map {mapsize} bytes")))?;
    let mut img = vec![0u8; mapsize];
    for (i, s) in segs.iter().enumerate() {
        let what = format!("PT_LOAD segment {i}");
        let oob = || DynError::out_of_bounds(filename, &what);
        let at = s.vaddr.checked_sub(base_vaddr).ok_or_else(oob)?;
        let at = usize::try_from(at).map_err(|_| oob())?;
        let filesz = usize::try_from(s.filesz).map_err(|_| oob())?;
        let memsz = usize::try_from(s.memsz).map_err(|_| oob())?;
        let off = usize::try_from(s.offset).map_err(|_| oob())?;
        let src = data
            .get(off..off.checked_add(filesz).ok_or_else(oob)?)
            .ok_or_else(oob)?;
        let dst_end = at.checked_add(memsz.max(filesz)).ok_or_else(oob)?;
        let dst = img.get_mut(at..dst_end).ok_or_else(oob)?;
        let (file, bss) = dst.split_at_mut(filesz);
        file.copy_from_slice(src);
        bss.fill(0);
    }
    let relocbase = map.addr() as u64;
    let dyn_off = phdyn
        .vaddr
        .checked_sub(base_vaddr)
        .ok_or_else(|| DynError::out_of_bounds(filename, "PT_DYNAMIC"))?;
    let dynamic = Dynamic::parse(filename, &img, dyn_off)?;
    let tables = Tables::new(filename, &img, &dynamic)?;
    let mut file = DynFile::new(filename, map, img, relocbase, dynamic, tables);
    if file.lookup_set("pcpu").is_ok() {
        return Err(DynError::silent(
            Errno::ENOSPC,
            format!("{filename}: has a pcpu linker set; dpcpu_alloc is not emulated"),
        ));
    }
    reloc::reloc_local(&mut file)?;
    reloc::relocate_file(&mut file, kernel)?;
    file.commit(data);
    messages.append(&mut file.messages);
    file.messages = messages;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_as_freebsd_rounds() {
        assert_eq!(trunc_page(0x1fff), 0x1000);
        assert_eq!(round_page(0x1001), Some(0x2000));
        assert_eq!(round_page(0x1000), Some(0x1000));
        assert_eq!(round_page(u64::MAX), None);
    }

    #[test]
    fn a_non_elf_file_fails_silently_with_enoexec() {
        let e = load("x.ko", b"not elf", &|_| None).unwrap_err();
        assert_eq!(e.errno, Errno::ENOEXEC);
        assert!(e.messages.is_empty());
        assert!(e.why.unwrap().contains("not an ELF file"));
    }

    #[test]
    fn an_et_rel_object_is_enosys() {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        h[16] = 1; // ET_REL
        h[18] = 183;
        h[20] = 1;
        let e = load("x.ko", &h, &|_| None).unwrap_err();
        assert_eq!(e.errno, Errno::ENOSYS);
    }
}
