// SPDX-License-Identifier: BSD-2-Clause
//! The call graph of a module: which function calls which, from the `.ko`
//! alone.
//!
//! A `.ko` has no debug information and every defined symbol is local, but
//! the symbol table still names every function (`STT_FUNC`, with a size), and
//! the relocations still say what each call and pointer refers to. The graph
//! is built in four steps:
//!
//! 1. **Functions.** Every `STT_FUNC` symbol of an executable section gives a
//!    function `[st_value, st_value + st_size)` (a size of 0 extends to the
//!    next symbol); symbols at the same address are aliases of one function.
//!    Bytes no symbol covers are *gaps*: padding (`nop`, `int3`, `ud2`, zero
//!    bytes) is ignored; any other gap becomes a synthetic function named
//!    `<.text+0x…>`, analysed like the others and, conservatively, counted as
//!    address-taken (it may be reached by an indirect jump) and reported.
//! 2. **Edges.** Each function is decoded (`callgraph/codescan.rs`): direct
//!    calls, and jumps that leave the function (tail calls), become edges to
//!    the function containing the target, or to an undefined (kernel) symbol.
//!    A `jmp *table(,%reg,8)` is resolved through its table (consecutive
//!    code pointers in `.rodata`); a call through a pointer in read-only data
//!    goes where that pointer's relocation says. Every other indirect call or
//!    jump is an [`Callee::Indirect`] edge, resolved by the query
//!    ([`crate::reach`]).
//! 3. **Address-taken functions.** A function is address-taken if a
//!    relocation from data (`.data`, `.rodata`, linker sets: vtables,
//!    `cdevsw` and `moduledata_t` initialisers; not unwind tables such as
//!    `.eh_frame`, which point at every function) or a non-branch instruction
//!    (`lea`, `mov $sym`) refers to its start. A reference into the middle of
//!    a function that is not an entry of a resolved jump table also marks it,
//!    with a note.
//! 4. **Kinds.** An address-taken function is a *formatting target*
//!    ([`Function::fmt_target`]) if its name is a `core::fmt` trait method
//!    ([`FMT_METHOD_PATTERNS`]) or it sits in the same vtable (a run of code
//!    pointers in data, with the `drop_in_place` slot three words before) as
//!    one. A function is *formatting code* ([`Function::fmt_caller`]) if its
//!    name matches [`FMT_CALLER_PATTERNS`].

mod build;
mod codescan;
mod location;

use object::elf;

use crate::elf::Object;
use crate::error::Result;
use crate::names::{Glob, strip_generic_args};

/// Formatting trait methods, by demangled name: the functions that
/// `core::fmt` calls through `&dyn Write`/`&dyn Display` vtables and through
/// the formatter pointers of `fmt::Arguments`.
pub const FMT_METHOD_PATTERNS: [&str; 4] = [
    // <T as core::fmt::Display>::fmt, <&T as core::fmt::Debug>::fmt,
    // core::fmt::num::imp::<impl core::fmt::Display for u32>::fmt, ...
    "*core::fmt::*::fmt",
    // <W as core::fmt::Write>::write_str, core::fmt::Write::write_char, ...
    "*core::fmt::Write*::write_str",
    "*core::fmt::Write*::write_char",
    "*core::fmt::Write*::write_fmt",
];

/// Formatting code, by demangled name: everything in `core::fmt` and every
/// formatting trait method ([`FMT_METHOD_PATTERNS`]). The analysis assumes
/// that an indirect call in formatting code goes to a formatting target.
pub const FMT_CALLER_PATTERNS: [&str; 2] = ["core::fmt::*", "<core::fmt::*"];

/// A place in the file: section index and offset in the section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// Section index.
    pub section: usize,
    /// Offset in the section.
    pub offset: u64,
}

/// Where a reference goes: a place in the file, or an undefined symbol
/// (index into [`CallGraph::externals`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Dest {
    /// A place in the file.
    Place(Place),
    /// An undefined symbol.
    External(usize),
}

/// A relocation, resolved to its symbol.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reloc {
    /// `S + A` (the place) or the external symbol; `None` for absolute or
    /// unusable symbols.
    target: Option<Dest>,
    /// Whether the relocation is PC-relative (`S + A - P`).
    pc_relative: bool,
    /// The type.
    r_type: elf::RelocationType,
}

impl Reloc {
    /// The address an instruction operand patched at `offset` refers to,
    /// for an instruction ending at `next_ip`: `S + A + (next_ip - P)` for
    /// PC-relative types, `S + A` otherwise.
    pub(crate) fn dest(&self, offset: u64, next_ip: u64) -> Option<Dest> {
        match self.target? {
            Dest::Place(p) if self.pc_relative => Some(Dest::Place(Place {
                section: p.section,
                offset: p.offset.wrapping_add(next_ip.wrapping_sub(offset)),
            })),
            other => Some(other),
        }
    }

    /// Whether the relocation refers to a GOT entry for its symbol.
    pub(crate) fn is_got(&self) -> bool {
        matches!(
            self.r_type,
            elf::R_X86_64_GOTPCREL | elf::R_X86_64_GOTPCRELX | elf::R_X86_64_REX_GOTPCRELX
        )
    }

    /// The address a pointer stored in data refers to: `S + A` (for a
    /// PC-relative entry, such as a relative jump table, this is close to
    /// the target but not exact).
    fn data_dest(&self) -> Option<Dest> {
        self.target
    }
}

/// What a call site calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Callee {
    /// A function of the module (index into [`CallGraph::functions`]).
    Function(usize),
    /// An undefined symbol: a kernel function (index into
    /// [`CallGraph::externals`]).
    External(usize),
    /// An indirect call or jump whose target the analysis does not know.
    Indirect,
}

/// One call or tail call in a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// Offset of the instruction in its section.
    pub offset: u64,
    /// What it calls.
    pub callee: Callee,
    /// A jump (tail call, or a `switch` table entry outside the function)
    /// rather than a call.
    pub jump: bool,
    /// The `core::panic::Location` (`file:line:col`) the function loads
    /// just before this call, if any: for a call to a panic function, where
    /// the panic is in the source.
    pub location: Option<String>,
}

/// Where a [`Function`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An `STT_FUNC` symbol (or several at one address).
    Symbol,
    /// Code no symbol covers (see the module documentation).
    Gap,
}

/// A function of the module.
#[derive(Debug, Clone)]
pub struct Function {
    /// Raw symbol names, in symbol-table order; for a gap, `<.text+0x…>`.
    pub symbols: Vec<String>,
    /// Demangled names, in the same order ([`crate::names::demangle`]).
    pub names: Vec<String>,
    /// Section index.
    pub section: usize,
    /// Offset of the first byte in the section.
    pub start: u64,
    /// Offset one past the last byte.
    pub end: u64,
    /// Where the function comes from.
    pub origin: Origin,
    /// Referred to other than by a direct call (see the module
    /// documentation): a possible target of an indirect call.
    pub address_taken: bool,
    /// An address-taken formatting trait method, or in a vtable with one.
    pub fmt_target: bool,
    /// Formatting code ([`FMT_CALLER_PATTERNS`], [`FMT_METHOD_PATTERNS`]).
    pub fmt_caller: bool,
    /// Calls and tail calls, in code order.
    pub calls: Vec<CallSite>,
}

impl Function {
    /// The name to show: the first demangled name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.names.first().map_or("", String::as_str)
    }

    /// The first raw symbol name.
    #[must_use]
    pub fn symbol(&self) -> &str {
        self.symbols.first().map_or("", String::as_str)
    }

    /// Whether any of the function's names matches `pattern`, as it is or
    /// without generic arguments (`kern::cdev::cdev_read::<echo::Echo>` also
    /// matches as `kern::cdev::cdev_read`).
    #[must_use]
    pub fn matches(&self, pattern: &Glob) -> bool {
        self.names
            .iter()
            .any(|n| pattern.matches(n) || pattern.matches(&strip_generic_args(n)))
    }
}

/// An undefined symbol the module refers to from code or data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// The symbol name.
    pub name: String,
    /// Referred to other than by a direct call.
    pub address_taken: bool,
}

/// The call graph of a module.
#[derive(Debug, Clone, Default)]
pub struct CallGraph {
    /// Every function, sorted by section and start.
    pub functions: Vec<Function>,
    /// Undefined symbols referred to.
    pub externals: Vec<External>,
    /// What the analysis had to approximate: gaps, interior references,
    /// undecodable bytes, unresolved targets.
    pub notes: Vec<String>,
}

impl CallGraph {
    /// Builds the call graph of the x86-64 relocatable object `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Format`](crate::Error::Format) if `data` is not an x86-64
    /// relocatable ELF object or a section or relocation table is malformed.
    pub fn build(data: &[u8]) -> Result<Self> {
        build::Builder::new(&Object::parse(data)?)?.build()
    }

    /// The index of the first function with a (raw or demangled) name equal
    /// to `name`.
    #[must_use]
    pub fn function_named(&self, name: &str) -> Option<usize> {
        self.functions
            .iter()
            .position(|f| f.names.iter().chain(&f.symbols).any(|n| n == name))
    }
}
