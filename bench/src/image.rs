// SPDX-License-Identifier: BSD-2-Clause
//! A loaded module's image: where its functions are, and which of its
//! instructions copy memory.
//!
//! The harness does not export a loaded file's symbol addresses, so the
//! layout is computed here as the harness's loader computes it
//! (`harness/src/loader/elf.rs`, after `link_elf_load_file` in
//! `sys/kern/link_elf_obj.c`): the allocated `PROGBITS`/`NOBITS`/
//! `X86_64_UNWIND`/`INIT_ARRAY`/`FINI_ARRAY` sections, in header order,
//! each at its alignment, a new page whenever the protection class (text,
//! read-only, writable) changes. [`Image::verify`] checks the result
//! against the bytes in memory, so a change in the loader shows up as a
//! warning instead of wrong names.

use iced_x86::{Decoder, DecoderOptions, FlowControl, Mnemonic};
use object::LittleEndian as LE;
use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};

/// One function of an image.
#[derive(Clone, Debug)]
pub(crate) struct Func {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) name: String,
}

/// A memory region whose instruction costs are attributed.
#[derive(Clone, Debug)]
pub(crate) struct Image {
    /// Its address in the measured process.
    pub(crate) base: u64,
    /// Its bytes, as they were in memory.
    pub(crate) bytes: Vec<u8>,
    /// Its functions, sorted by address (empty if unknown).
    pub(crate) funcs: Vec<Func>,
    /// Executable sections of the .ko file (offset in the image, file
    /// bytes, and which bytes relocations rewrite), for
    /// [`verify`](Self::verify).
    text: Vec<(usize, Vec<u8>, Vec<bool>)>,
}

const PAGE: u64 = 4096;
const SHT_X86_64_UNWIND: u32 = 0x7000_0001;
const PROGBITS: u32 = elf::SHT_PROGBITS.0;
const NOBITS: u32 = elf::SHT_NOBITS.0;
const INIT_ARRAY: u32 = elf::SHT_INIT_ARRAY.0;
const FINI_ARRAY: u32 = elf::SHT_FINI_ARRAY.0;

fn round_up(n: u64, align: u64) -> u64 {
    n.div_ceil(align) * align
}

impl Image {
    /// A region with no symbols.
    pub(crate) fn raw(base: u64, bytes: Vec<u8>) -> Self {
        Self {
            base,
            bytes,
            funcs: Vec::new(),
            text: Vec::new(),
        }
    }

    /// A module loaded at `base` whose memory is `bytes`, laid out from
    /// the `.ko` file `ko`.
    pub(crate) fn module(name: &str, base: u64, bytes: Vec<u8>, ko: &[u8]) -> Result<Self, String> {
        let e = LE;
        let bad = |what: &str| format!("{name}.ko: {what}");
        let hdr = elf::FileHeader64::<LE>::parse(ko).map_err(|_| bad("not ELF"))?;
        let sections = hdr.sections(e, ko).map_err(|_| bad("bad section table"))?;
        let mut offsets: Vec<Option<u64>> = vec![None; sections.len()];
        let mut text = Vec::new();
        let (mut size, mut prev) = (0u64, None);
        for (i, s) in sections.iter().enumerate() {
            let (kind, flags, len) = (s.sh_type(e).0, s.sh_flags(e).0, s.sh_size(e));
            let loaded = len != 0
                && flags & elf::SHF_ALLOC.0 != 0
                && matches!(
                    kind,
                    PROGBITS | NOBITS | SHT_X86_64_UNWIND | INIT_ARRAY | FINI_ARRAY
                );
            if !loaded {
                continue;
            }
            let class = if flags & elf::SHF_EXECINSTR.0 != 0 {
                0
            } else if flags & elf::SHF_WRITE.0 != 0 {
                2
            } else {
                1
            };
            if prev.is_some_and(|p| p != class) {
                size = round_up(size, PAGE);
            }
            prev = Some(class);
            size = round_up(size, s.sh_addralign(e).max(1));
            offsets[i] = Some(size);
            if class == 0 {
                let data = s.data(e, ko).map_err(|_| bad("bad section data"))?;
                let mut relocated = vec![false; data.len()];
                for r in sections.iter().filter(|r| r.sh_info(e) as usize == i) {
                    let Ok(Some((relas, _))) = r.rela(e, ko) else {
                        continue;
                    };
                    for rela in relas {
                        let width = if rela.r_type(e, false) == elf::R_X86_64_64 {
                            8
                        } else {
                            4
                        };
                        let at = usize::try_from(rela.r_offset.get(e)).unwrap_or(usize::MAX);
                        for b in relocated.iter_mut().skip(at).take(width) {
                            *b = true;
                        }
                    }
                }
                text.push((
                    usize::try_from(size).map_err(|_| bad("too large"))?,
                    data.to_vec(),
                    relocated,
                ));
            }
            size += len;
        }
        let symtab = sections
            .symbols(e, ko, elf::SHT_SYMTAB)
            .map_err(|_| bad("bad symbol table"))?;
        let mut funcs = Vec::new();
        for sym in symtab.iter() {
            if sym.st_type() != elf::STT_FUNC {
                continue;
            }
            let Some(Some(off)) = offsets.get(usize::from(sym.st_shndx(e).0)) else {
                continue;
            };
            let raw = sym.name(e, symtab.strings()).unwrap_or_default();
            let start = base + off + sym.st_value(e);
            funcs.push(Func {
                start,
                end: start + sym.st_size(e),
                name: format!(
                    "{:#}",
                    rustc_demangle::demangle(&String::from_utf8_lossy(raw))
                ),
            });
        }
        funcs.sort_by_key(|f| f.start);
        Ok(Self {
            base,
            bytes,
            funcs,
            text,
        })
    }

    /// Whether `addr` lies in the region.
    pub(crate) fn contains(&self, addr: u64) -> bool {
        addr >= self.base && addr - self.base < self.bytes.len() as u64
    }

    /// The share of the file's executable bytes that relocations leave
    /// alone found at the computed places in memory: 1.0 when the layout
    /// is the loader's (and for a raw region).
    pub(crate) fn verify(&self) -> f64 {
        let (mut same, mut all) = (0usize, 0usize);
        for (off, data, relocated) in &self.text {
            let mem = self.bytes.get(*off..).unwrap_or(&[]);
            for ((a, r), b) in data
                .iter()
                .zip(relocated)
                .zip(mem.iter().chain(std::iter::repeat(&0)))
            {
                if !r {
                    all += 1;
                    same += usize::from(a == b);
                }
            }
        }
        if all == 0 {
            1.0
        } else {
            same as f64 / all as f64
        }
    }

    /// The function holding `addr`.
    pub(crate) fn func(&self, addr: u64) -> Option<&Func> {
        let i = self.funcs.partition_point(|f| f.start <= addr);
        let f = self.funcs.get(i.checked_sub(1)?)?;
        (addr < f.end.max(f.start + 1)).then_some(f)
    }

    fn decode(&self, addr: u64) -> Option<iced_x86::Instruction> {
        let off = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        let bytes = self.bytes.get(off..)?;
        let mut d = Decoder::with_ip(64, bytes, addr, DecoderOptions::NONE);
        d.can_decode().then(|| d.decode())
    }

    /// If the instruction at `addr` is a `rep movs`, the bytes it moves
    /// per iteration.
    pub(crate) fn rep_movs_width(&self, addr: u64) -> Option<u64> {
        let i = self.decode(addr)?;
        if !i.has_rep_prefix() {
            return None;
        }
        match i.mnemonic() {
            Mnemonic::Movsb => Some(1),
            Mnemonic::Movsw => Some(2),
            Mnemonic::Movsd => Some(4),
            Mnemonic::Movsq => Some(8),
            _ => None,
        }
    }

    /// Whether the instruction at `prev` ends at `next`, falls through to
    /// it and runs once per execution (it is not itself a `rep`
    /// instruction), so that its cost counts the entries into `next` from
    /// above.
    pub(crate) fn falls_through_to(&self, prev: u64, next: u64) -> bool {
        self.decode(prev).is_some_and(|i| {
            i.next_ip() == next
                && i.flow_control() == FlowControl::Next
                && !i.has_rep_prefix()
                && !i.has_repe_prefix()
                && !i.has_repne_prefix()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Image;

    #[test]
    fn rep_movs_are_recognised() {
        // rep movsb; rep movsq; rep stosb; mov rcx, rdx; ret
        let code = vec![
            0xf3, 0xa4, 0xf3, 0x48, 0xa5, 0xf3, 0xaa, 0x48, 0x89, 0xd1, 0xc3,
        ];
        let img = Image::raw(0x1000, code);
        assert_eq!(img.rep_movs_width(0x1000), Some(1));
        assert_eq!(img.rep_movs_width(0x1002), Some(8));
        assert_eq!(img.rep_movs_width(0x1005), None);
        assert_eq!(img.rep_movs_width(0x1007), None);
        assert!(img.falls_through_to(0x1007, 0x100a));
        assert!(
            !img.falls_through_to(0x1000, 0x1002),
            "a rep runs many times per entry"
        );
        assert!(!img.falls_through_to(0x100a, 0x100b));
        assert!(img.contains(0x100a) && !img.contains(0x100b));
    }
}
