// SPDX-License-Identifier: BSD-2-Clause
//! Panic locations in data: the `core::panic::Location` records
//! (`#[track_caller]`) that code passes to the panic functions.
//!
//! A `.ko` has no debug information, but a panic's source location is still
//! in the file: `Location { file: &str, line: u32, col: u32 }` is laid out as
//! a pointer to the file name (an `R_X86_64_64` relocation), its length, then
//! line and column. The call graph attaches the record a function loads
//! just before a call to that call site.

use std::collections::{BTreeMap, HashMap};

use object::elf;

use super::{Dest, Place, Reloc};
use crate::elf::Object;

/// `file:line:col` if `place` holds a plausible `Location` record.
pub(super) fn decode(
    obj: &Object<'_>,
    relocs: &HashMap<usize, BTreeMap<u64, Reloc>>,
    place: Place,
) -> Option<String> {
    let data = obj.section_data(place.section).ok()?;
    let at = usize::try_from(place.offset).ok()?;
    let record = data.get(at..at.checked_add(24)?)?;
    let word = |i: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            record.get(i..i.checked_add(8)?)?.try_into().ok()?,
        ))
    };
    let half = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            record.get(i..i.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let reloc = relocs.get(&place.section)?.get(&place.offset)?;
    let Some(Dest::Place(file)) = reloc.data_dest() else {
        return None;
    };
    if reloc.r_type != elf::R_X86_64_64 {
        return None;
    }
    let len = usize::try_from(word(8)?)
        .ok()
        .filter(|&l| (1..=4096).contains(&l))?;
    let (line, col) = (half(16)?, half(20)?);
    let text = obj.section_data(file.section).ok()?;
    let start = usize::try_from(file.offset).ok()?;
    let name = std::str::from_utf8(text.get(start..start.checked_add(len)?)?).ok()?;
    let name = name.strip_suffix('\0').unwrap_or(name);
    (line > 0 && !name.is_empty() && name.chars().all(|c| !c.is_control()))
        .then(|| format!("{name}:{line}:{col}"))
}
