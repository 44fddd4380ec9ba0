// SPDX-License-Identifier: BSD-2-Clause
//! Building a [`CallGraph`] from a parsed object: the four steps of the
//! [parent module](super)'s documentation.

use std::collections::{BTreeMap, HashMap, HashSet};

use object::elf;

use super::codescan::{self, Code, Ref, Transfer};
use super::location;
use super::{
    CallGraph, CallSite, Callee, Dest, External, FMT_CALLER_PATTERNS, FMT_METHOD_PATTERNS,
    Function, Origin, Place, Reloc,
};
use crate::elf::Object;
use crate::error::Result;
use crate::got::GOT_SECTION;
use crate::names::{Glob, demangle};

/// Per-section function ranges, for "which function contains this place".
#[derive(Default)]
struct Layout {
    /// `section -> [(start, end, function)]`, sorted by start.
    ranges: HashMap<usize, Vec<(u64, u64, usize)>>,
}

impl Layout {
    fn containing(&self, place: Place) -> Option<usize> {
        let ranges = self.ranges.get(&place.section)?;
        let i = ranges.partition_point(|&(start, _, _)| start <= place.offset);
        // The innermost range: the last one starting at or before the place
        // that still covers it.
        ranges
            .get(..i)?
            .iter()
            .rev()
            .find(|&&(_, end, _)| place.offset < end)
            .map(|&(_, _, f)| f)
    }
}

pub(super) struct Builder<'a, 'data> {
    obj: &'a Object<'data>,
    /// Relocations by relocated section, then offset.
    relocs: HashMap<usize, BTreeMap<u64, Reloc>>,
    externals: Vec<External>,
    external_index: HashMap<usize, usize>,
    exec: HashSet<usize>,
    functions: Vec<Function>,
    layout: Layout,
    notes: Vec<String>,
}

impl<'a, 'data> Builder<'a, 'data> {
    pub(super) fn new(obj: &'a Object<'data>) -> Result<Self> {
        let mut b = Self {
            obj,
            relocs: HashMap::new(),
            externals: Vec::new(),
            external_index: HashMap::new(),
            exec: HashSet::new(),
            functions: Vec::new(),
            layout: Layout::default(),
            notes: Vec::new(),
        };
        for (index, section) in obj.sections() {
            let flags = obj.sh_flags(section);
            if flags.contains(elf::SHF_ALLOC)
                && flags.contains(elf::SHF_EXECINSTR)
                && obj.sh_type(section) != elf::SHT_NOBITS
            {
                b.exec.insert(index);
            }
        }
        for r in obj.relocations()? {
            // Only loaded sections hold pointers the code can use; unwind
            // tables point at every function but are not function pointers.
            let target = obj.section(r.target)?;
            if !obj.sh_flags(target).contains(elf::SHF_ALLOC)
                || obj.sh_type(target) == elf::SHT_X86_64_UNWIND
                || obj.section_name(r.target).starts_with(".eh_frame")
            {
                continue;
            }
            let addend = match r.addend {
                Some(a) => a,
                None => b.implicit_addend(r.target, r.offset, r.r_type)?,
            };
            let reloc = Reloc {
                target: b.resolve(r.symbol, addend)?,
                pc_relative: matches!(
                    r.r_type,
                    elf::R_X86_64_PC32
                        | elf::R_X86_64_PLT32
                        | elf::R_X86_64_PC64
                        | elf::R_X86_64_PC16
                        | elf::R_X86_64_PC8
                        | elf::R_X86_64_GOTPCREL
                        | elf::R_X86_64_GOTPCRELX
                        | elf::R_X86_64_REX_GOTPCRELX
                ),
                r_type: r.r_type,
            };
            b.relocs
                .entry(r.target)
                .or_default()
                .insert(r.offset, reloc);
        }
        Ok(b)
    }

    /// The addend of a `SHT_REL` relocation, stored in the field.
    fn implicit_addend(
        &self,
        section: usize,
        offset: u64,
        r_type: elf::RelocationType,
    ) -> Result<i64> {
        let data = self.obj.section_data(section)?;
        let field = |n: usize| {
            usize::try_from(offset)
                .ok()
                .and_then(|o| data.get(o..o.checked_add(n)?))
        };
        Ok(match r_type {
            elf::R_X86_64_64 | elf::R_X86_64_PC64 => field(8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, i64::from_le_bytes),
            _ => field(4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, |b| i64::from(i32::from_le_bytes(b))),
        })
    }

    /// `S + A` for symbol `symbol`.
    fn resolve(&mut self, symbol: usize, addend: i64) -> Result<Option<Dest>> {
        if symbol == 0 {
            return Ok(None);
        }
        let sym = self.obj.symbol(symbol)?;
        if self.obj.st_shndx(sym) == elf::SHN_UNDEF {
            let name = self.obj.symbol_display_name(symbol);
            let next = self.externals.len();
            let index = *self.external_index.entry(symbol).or_insert(next);
            if index == next {
                // A second undefined symbol of the same name is the same
                // kernel symbol.
                if let Some(same) = self.externals.iter().position(|e| e.name == name) {
                    self.external_index.insert(symbol, same);
                    return Ok(Some(Dest::External(same)));
                }
                self.externals.push(External {
                    name,
                    address_taken: false,
                });
            }
            return Ok(Some(Dest::External(index)));
        }
        let Some(section) = self.obj.symbol_section(symbol)? else {
            return Ok(None);
        };
        Ok(Some(Dest::Place(Place {
            section,
            offset: self.obj.st_value(sym).wrapping_add_signed(addend),
        })))
    }

    pub(super) fn build(mut self) -> Result<CallGraph> {
        self.collect_functions()?;
        let mut table_slots = HashSet::new();
        let mut code_refs = Vec::new();
        for f in 0..self.functions.len() {
            let (calls, refs) = self.scan_function(f, &mut table_slots)?;
            if let Some(function) = self.functions.get_mut(f) {
                function.calls = calls;
            }
            code_refs.push((f, refs));
        }
        self.mark_address_taken(&table_slots, &code_refs);
        self.mark_fmt();
        Ok(CallGraph {
            functions: self.functions,
            externals: self.externals,
            notes: self.notes,
        })
    }

    /// Step 1: functions from `STT_FUNC` symbols, and gaps.
    fn collect_functions(&mut self) -> Result<()> {
        let mut by_start: BTreeMap<(usize, u64), (u64, Vec<String>)> = BTreeMap::new();
        for (index, sym) in self.obj.symbols() {
            if sym.st_type() != elf::STT_FUNC {
                continue;
            }
            let Some(section) = self.obj.symbol_section(index)? else {
                continue;
            };
            if !self.exec.contains(&section) {
                continue;
            }
            let start = self.obj.st_value(sym);
            let size = self.obj.st_size(sym);
            let entry = by_start.entry((section, start)).or_default();
            entry.0 = entry.0.max(size);
            entry.1.push(self.obj.symbol_display_name(index));
        }
        let mut sections: Vec<usize> = self.exec.iter().copied().collect();
        sections.sort_unstable();
        for section in sections {
            let code = self.obj.section_data(section)?;
            let len = code.len() as u64;
            let starts: Vec<(u64, u64, Vec<String>)> = by_start
                .range((section, 0)..=(section, u64::MAX))
                .map(|(&(_, start), (size, names))| (start, *size, names.clone()))
                .collect();
            let mut covered = 0u64;
            for (i, (start, size, symbols)) in starts.iter().enumerate() {
                let next = starts.get(i.saturating_add(1)).map_or(len, |s| s.0);
                let end = if *size == 0 {
                    next
                } else {
                    start.saturating_add(*size)
                }
                .min(len);
                if *start >= len {
                    self.notes.push(format!(
                        "{}: function `{}` starts past the end of its section; ignored",
                        self.obj.section_name(section),
                        symbols.first().map_or("", String::as_str)
                    ));
                    continue;
                }
                self.add_gap(section, code, covered, *start);
                self.add_function(section, *start, end, symbols.clone(), false);
                covered = covered.max(end);
            }
            self.add_gap(section, code, covered, len);
        }
        Ok(())
    }

    /// Adds `[from, to)` of `section` as a synthetic function unless it is
    /// padding.
    fn add_gap(&mut self, section: usize, code: &[u8], from: u64, to: u64) {
        if from >= to {
            return;
        }
        let bytes = usize::try_from(from)
            .ok()
            .zip(usize::try_from(to).ok())
            .and_then(|(a, b)| code.get(a..b))
            .unwrap_or_default();
        if codescan::is_padding(bytes) {
            return;
        }
        let name = format!("<{}+{from:#x}>", self.obj.section_name(section));
        self.notes.push(format!(
            "{name}: {} byte(s) of code not covered by a function symbol; analysed as a \
             function of its own and treated as address-taken",
            to.saturating_sub(from)
        ));
        self.add_function(section, from, to, vec![name], true);
    }

    fn add_function(
        &mut self,
        section: usize,
        start: u64,
        end: u64,
        symbols: Vec<String>,
        gap: bool,
    ) {
        let names: Vec<String> = symbols.iter().map(|s| demangle(s)).collect();
        let globs = |patterns: &[&str]| {
            patterns
                .iter()
                .any(|p| names.iter().any(|n| Glob::new(*p).matches(n)))
        };
        let fmt_method = globs(&FMT_METHOD_PATTERNS);
        let fmt_caller = fmt_method || globs(&FMT_CALLER_PATTERNS);
        let index = self.functions.len();
        self.layout
            .ranges
            .entry(section)
            .or_default()
            .push((start, end, index));
        self.functions.push(Function {
            symbols,
            names,
            section,
            start,
            end,
            origin: if gap { Origin::Gap } else { Origin::Symbol },
            address_taken: gap,
            fmt_target: fmt_method,
            fmt_caller,
            calls: Vec::new(),
        });
    }

    fn describe(&self, place: Place) -> String {
        format!(
            "{}+{:#x}",
            self.obj.section_name(place.section),
            place.offset
        )
    }

    /// Step 2: decodes function `f` and turns its transfers into call sites.
    fn scan_function(
        &mut self,
        f: usize,
        table_slots: &mut HashSet<Place>,
    ) -> Result<(Vec<CallSite>, Vec<Ref>)> {
        let Some(func) = self.functions.get(f) else {
            return Ok((Vec::new(), Vec::new()));
        };
        let (section, start, end) = (func.section, func.start, func.end);
        let empty = BTreeMap::new();
        let scan = codescan::scan(&Code {
            section,
            bytes: self.obj.section_data(section)?,
            relocs: self.relocs.get(&section).unwrap_or(&empty),
            start,
            end,
        });
        if scan.undecodable > 0 {
            self.notes.push(format!(
                "{}: {} byte(s) did not decode and were skipped",
                self.functions.get(f).map_or("", Function::name),
                scan.undecodable
            ));
        }
        let mut calls = Vec::new();
        let mut previous_call = None;
        for transfer in &scan.transfers {
            // `None`: the targets are unknown (an indirect call site).
            let (at, targets, jump) = match *transfer {
                Transfer::Direct { at, dest, jump } => (at, Some(vec![dest]), jump),
                Transfer::Indirect { at, jump } => (at, None, jump),
                Transfer::Slot { at, slot, jump } => {
                    (at, self.constant_pointer(slot).map(|d| vec![d]), jump)
                }
                Transfer::Table { at, table } => {
                    let entries = self.jump_table(f, table, table_slots);
                    // Entries inside the function are its own control flow.
                    let outside = (!entries.is_empty()).then(|| {
                        entries
                            .into_iter()
                            .filter(|&g| g != f)
                            .map(|g| {
                                let start = self.functions.get(g).map_or(0, |x| x.start);
                                Dest::Place(Place {
                                    section,
                                    offset: start,
                                })
                            })
                            .collect()
                    });
                    (at, outside, true)
                }
            };
            let location = self.location_before(&scan.refs, previous_call, at);
            previous_call = Some(at);
            let Some(targets) = targets else {
                calls.push(CallSite {
                    offset: at,
                    callee: Callee::Indirect,
                    jump,
                    location,
                });
                continue;
            };
            for dest in targets {
                let callee = match dest {
                    Dest::External(e) => Callee::External(e),
                    Dest::Place(p) => {
                        let Some(g) = self.layout.containing(p) else {
                            self.notes.push(format!(
                                "{}: transfer to {}, which is not code of a known function; ignored",
                                self.describe(Place { section, offset: at }),
                                self.describe(p)
                            ));
                            continue;
                        };
                        Callee::Function(g)
                    }
                };
                calls.push(CallSite {
                    offset: at,
                    callee,
                    jump,
                    location: location.clone(),
                });
            }
        }
        Ok((calls, scan.refs))
    }

    /// The target of a pointer in read-only data (or in `kolink fix`'s GOT)
    /// at `slot`, for `call *slot`; `None` if the slot is writable, in code,
    /// or not a relocated pointer.
    fn constant_pointer(&self, slot: Place) -> Option<Dest> {
        let section = self.obj.section(slot.section).ok()?;
        // `kolink fix`'s GOT is writable only for the kernel linker.
        let constant = !self.obj.sh_flags(section).contains(elf::SHF_WRITE)
            || self.obj.section_name(slot.section) == GOT_SECTION;
        if self.exec.contains(&slot.section) || !constant {
            return None;
        }
        let reloc = self.relocs.get(&slot.section)?.get(&slot.offset)?;
        (reloc.r_type == elf::R_X86_64_64).then(|| reloc.data_dest())?
    }

    /// The functions the `switch` table at `table`, used by function `f`,
    /// jumps into: the consecutive 8-byte absolute relocations that point
    /// into `f` (a compiler's table holds only blocks of its own function;
    /// the next pointer elsewhere starts another function's table) or into
    /// a split-off cold part of it (`f.cold`). Marks the slots as consumed.
    /// Empty if the first slot is not such a pointer.
    fn jump_table(&self, f: usize, table: Place, consumed: &mut HashSet<Place>) -> Vec<usize> {
        let mut out = Vec::new();
        let Some(relocs) = self.relocs.get(&table.section) else {
            return out;
        };
        if self.exec.contains(&table.section) {
            return out;
        }
        let own = |g: usize| {
            g == f
                || self
                    .functions
                    .get(g)
                    .zip(self.functions.get(f))
                    .is_some_and(|(part, whole)| {
                        whole.symbols.iter().any(|w| {
                            part.symbols.iter().any(|p| {
                                p.strip_prefix(w.as_str())
                                    .is_some_and(|rest| rest.starts_with(".cold"))
                            })
                        })
                    })
        };
        let mut offset = table.offset;
        while let Some(reloc) = relocs.get(&offset) {
            let Some(Dest::Place(p)) = reloc.data_dest() else {
                break;
            };
            match self.layout.containing(p) {
                Some(g) if reloc.r_type == elf::R_X86_64_64 && own(g) => {
                    out.push(g);
                    consumed.insert(Place {
                        section: table.section,
                        offset,
                    });
                }
                _ => break,
            }
            offset = offset.saturating_add(8);
        }
        out
    }

    /// The location record referred to after `after` and before `at`.
    fn location_before(&self, refs: &[Ref], after: Option<u64>, at: u64) -> Option<String> {
        refs.iter()
            .rev()
            .filter(|r| r.at < at && after.is_none_or(|a| r.at > a))
            .find_map(|r| match r.dest {
                Dest::Place(p) if !self.exec.contains(&p.section) => {
                    location::decode(self.obj, &self.relocs, p)
                }
                Dest::Place(_) | Dest::External(_) => None,
            })
    }

    /// Step 3: address-taken functions and externals.
    fn mark_address_taken(
        &mut self,
        table_slots: &HashSet<Place>,
        code_refs: &[(usize, Vec<Ref>)],
    ) {
        let mut refs: Vec<(Option<usize>, Place, Dest)> = Vec::new();
        for (&section, relocs) in &self.relocs {
            if self.exec.contains(&section) {
                continue;
            }
            for (&offset, reloc) in relocs {
                let from = Place { section, offset };
                if table_slots.contains(&from) {
                    continue;
                }
                if let Some(dest) = reloc.data_dest() {
                    refs.push((None, from, dest));
                }
            }
        }
        for (f, list) in code_refs {
            let section = self.functions.get(*f).map_or(0, |x| x.section);
            for r in list {
                refs.push((
                    Some(*f),
                    Place {
                        section,
                        offset: r.at,
                    },
                    r.dest,
                ));
            }
        }
        refs.sort_by_key(|&(f, from, _)| (f, from));
        for (from_fn, from, dest) in refs {
            match dest {
                Dest::External(e) => {
                    if let Some(ext) = self.externals.get_mut(e) {
                        ext.address_taken = true;
                    }
                }
                Dest::Place(p) if self.exec.contains(&p.section) => {
                    let Some(g) = self.layout.containing(p) else {
                        continue;
                    };
                    let at_start = self.functions.get(g).is_some_and(|x| x.start == p.offset);
                    if !at_start && from_fn == Some(g) {
                        continue; // a label of the function itself
                    }
                    if !at_start {
                        self.notes.push(format!(
                            "{} refers into the middle of `{}` ({}); the function is treated as \
                             address-taken",
                            self.describe(from),
                            self.functions.get(g).map_or("", Function::name),
                            self.describe(p)
                        ));
                    }
                    if let Some(x) = self.functions.get_mut(g) {
                        x.address_taken = true;
                    }
                }
                Dest::Place(_) => {}
            }
        }
    }

    /// Step 4: functions in a vtable with a formatting trait method.
    fn mark_fmt(&mut self) {
        let mut slots: BTreeMap<Place, usize> = BTreeMap::new();
        for (&section, relocs) in &self.relocs {
            if self.exec.contains(&section) {
                continue;
            }
            for (&offset, reloc) in relocs {
                if let (elf::R_X86_64_64, Some(Dest::Place(p))) = (reloc.r_type, reloc.data_dest())
                    && let Some(g) = self.layout.containing(p)
                    && self.functions.get(g).is_some_and(|x| x.start == p.offset)
                {
                    slots.insert(Place { section, offset }, g);
                }
            }
        }
        let fmt_named: Vec<Place> = slots
            .iter()
            .filter(|&(_, &g)| self.functions.get(g).is_some_and(|x| x.fmt_target))
            .map(|(&p, _)| p)
            .collect();
        let mut vtable_members = HashSet::new();
        for p in fmt_named {
            let step = |p: Place, forward: bool| Place {
                section: p.section,
                offset: if forward {
                    p.offset.wrapping_add(8)
                } else {
                    p.offset.wrapping_sub(8)
                },
            };
            let mut first = p;
            while slots.contains_key(&step(first, false)) {
                first = step(first, false);
            }
            let mut q = first;
            while let Some(&g) = slots.get(&q) {
                vtable_members.insert(g);
                q = step(q, true);
            }
            // drop_in_place, before the size and alignment words.
            let drop = Place {
                section: first.section,
                offset: first.offset.wrapping_sub(24),
            };
            if let Some(&g) = slots.get(&drop) {
                vtable_members.insert(g);
            }
        }
        for g in vtable_members {
            if let Some(x) = self.functions.get_mut(g) {
                x.fmt_target = true;
            }
        }
        for x in &mut self.functions {
            x.fmt_target &= x.address_taken;
        }
    }
}
