// SPDX-License-Identifier: BSD-2-Clause
//! The alignment arithmetic of `link_elf_load_file`
//! (`sys/kern/link_elf_obj.c`), and what it does with a section whose
//! `sh_addralign` is 0.
//!
//! FreeBSD sizes the mapping and then places the sections with the same
//! two steps per loaded section: `alignmask = sh_addralign - 1`, then
//! `x = (x + alignmask) & ~alignmask`. For a power of two this rounds up.
//! For any other value it still never moves `x` backwards (it only clears
//! bits of the mask after adding it), so FreeBSD loads such a module; the
//! section just lands where that formula says ([`align`]).
//!
//! For `sh_addralign` 0 the mask is all ones: the mapping size counted so
//! far drops to 0 (only the sections from this one on are counted) and,
//! when placing, the base becomes 0. The section's address is then NULL
//! and the load fails with `ENOSPC`, after the sections before it were
//! copied at their offsets into a mapping that may now be too small.
//! `set_pcpu` and `set_vnet` sections are the exception: their memory comes
//! from `dpcpu_alloc`/`vnet_data_alloc`, so the load goes on, placing the
//! following sections from address 0, and ends at the check "mapbase ...
//! != address ... + mapsize", `ENOMEM` (GENERIC has `VIMAGE`, so
//! `set_vnet` is treated like `set_pcpu`). [`check_zero_alignment`]
//! replays both passes on the harness's mapping address to find which of
//! these a module meets.

use super::{LoadError, c};
use crate::errno::Errno;
use crate::lowmem::{PAGE_SIZE, round_up};

/// `x` aligned as `link_elf_load_file` aligns it: `(x + mask) & ~mask`
/// with `mask = align - 1` (wrapping, as the C `int` arithmetic does).
pub(super) fn align(x: u64, align: u64) -> u64 {
    let mask = align.wrapping_sub(1);
    x.wrapping_add(mask) & !mask
}

/// A loaded section as the layout sees it.
pub(super) struct Placed<'a> {
    pub(super) name: &'a str,
    pub(super) size: u64,
    pub(super) align: u64,
    pub(super) kind: u32,
}

/// Whether the kernel allocates the section's memory elsewhere
/// (`DPCPU_SETNAME`, `VNET_SETNAME`).
fn allocated_elsewhere(name: &str) -> bool {
    name == "set_pcpu" || name == "set_vnet"
}

/// Replays `link_elf_load_file`'s sizing and placing passes for a module
/// with a zero `sh_addralign`, the mapping being at `address`.
/// `pathname` is the path the file was loaded by (FreeBSD's `filename`
/// there).
///
/// # Errors
/// What FreeBSD's load meets first: a write outside the mapping (the
/// section before the zero alignment, copied past the shrunken mapping,
/// or one after a `set_pcpu`, written near address 0: a fatal page fault,
/// [`LoadError::fault`]), a NULL section address (`ENOSPC`, which
/// FreeBSD does not explain, so the harness says why in a violation), or
/// the final size check (`ENOMEM` with FreeBSD's message).
pub(super) fn check_zero_alignment(
    sections: &[Placed<'_>],
    address: u64,
    pathname: &str,
) -> Result<(), LoadError> {
    let Some(zero) = sections.iter().find(|s| s.align == 0) else {
        return Ok(());
    };
    let cause = format!(
        "section {} has sh_addralign 0: link_elf_load_file's alignment mask becomes -1",
        zero.name
    );
    // The sizing pass.
    let mut mapsize = 0u64;
    for s in sections {
        mapsize = align(mapsize, s.align).wrapping_add(s.size);
    }
    let Some(end) = round_up(usize::try_from(mapsize).unwrap_or(usize::MAX), PAGE_SIZE)
        .map(|m| address.saturating_add(m as u64))
    else {
        return Err(LoadError::new(Errno::ENOMEM, None));
    };
    // The placing pass.
    let mut mapbase = address;
    for s in sections {
        mapbase = align(mapbase, s.align);
        if !allocated_elsewhere(s.name) {
            if mapbase == 0 {
                return Err(LoadError::new(Errno::ENOSPC, None).with_violation(format!(
                    "kldload: {pathname}: {cause}, so the section's address is NULL and the load fails with ENOSPC"
                )));
            }
            let stop = mapbase.wrapping_add(s.size);
            if mapbase < address || stop > end {
                return Err(LoadError::fault(
                    mapbase,
                    format!(
                        "kldload: {pathname}: {cause}; the mapping is {address:#x}-{end:#x} and link_elf_load_file {} section {} at {mapbase:#x}-{stop:#x}",
                        if s.kind == c::SHT_PROGBITS {
                            "reads"
                        } else {
                            "zeroes"
                        },
                        s.name
                    ),
                ));
            }
        }
        mapbase = mapbase.wrapping_add(s.size);
    }
    let want = address.wrapping_add(mapsize);
    if mapbase != want {
        return Err(LoadError::new(
            Errno::ENOMEM,
            format!(
                "{pathname}: mapbase {mapbase:#x} != address {address:#x} + mapsize {mapsize:#x} ({want:#x})"
            ),
        )
        .with_violation(format!("kldload: {pathname}: {cause}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_follows_link_elf_load_file() {
        assert_eq!(align(5, 8), 8);
        assert_eq!(align(16, 16), 16);
        assert_eq!(align(17, 1), 17);
        // Not a power of two: (x + 2) & ~2, never below x.
        assert_eq!(align(1, 3), 1);
        assert_eq!(align(2, 3), 4);
        assert_eq!(align(7, 7), 9);
        for x in 0..200 {
            for a in 1..40 {
                assert!(align(x, a) >= x);
            }
        }
        // Zero: everything counted so far is dropped.
        assert_eq!(align(4096, 0), 0);
    }

    fn sec(name: &str, size: u64, align: u64) -> Placed<'_> {
        Placed {
            name,
            size,
            align,
            kind: c::SHT_PROGBITS,
        }
    }

    #[test]
    fn zero_alignment_outcomes() {
        let base = 0x1000_0000;
        let ok = [sec(".text", 100, 16), sec(".data", 8, 8)];
        assert!(check_zero_alignment(&ok, base, "m.ko").is_ok());
        // A plain section: NULL address, ENOSPC.
        let first = [sec(".text", 100, 0), sec(".data", 8, 8)];
        let e = check_zero_alignment(&first, base, "m.ko").unwrap_err();
        assert_eq!(e.errno, Errno::ENOSPC);
        assert!(e.message.is_none());
        assert!(e.violation.unwrap().contains(".text has sh_addralign 0"));
        // A large section before it no longer fits the shrunken mapping.
        let before = [sec(".text", 8192, 16), sec(".data", 8, 0)];
        let e = check_zero_alignment(&before, base, "m.ko").unwrap_err();
        assert!(e.fault.is_some(), "{e:?}");
        // set_pcpu last: the size check, ENOMEM.
        let pcpu = [sec(".text", 100, 16), sec("set_pcpu", 8, 0)];
        let e = check_zero_alignment(&pcpu, base, "m.ko").unwrap_err();
        assert_eq!(e.errno, Errno::ENOMEM);
        assert_eq!(
            e.message.as_deref(),
            Some("m.ko: mapbase 0x8 != address 0x10000000 + mapsize 0x8 (0x10000008)")
        );
        // set_pcpu then another section: written near address 0.
        let after = [sec("set_pcpu", 8, 0), sec(".data", 8, 8)];
        let e = check_zero_alignment(&after, base, "m.ko").unwrap_err();
        assert_eq!(e.fault.map(|f| f.0), Some(8));
    }
}
