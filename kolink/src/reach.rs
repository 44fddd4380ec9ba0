// SPDX-License-Identifier: BSD-2-Clause
//! `kolink panic-paths`: every way a module's entry points can reach the
//! panic machinery.
//!
//! A Rust panic in a kernel module is a kernel panic (`kern::panic` hands it
//! to `panic(9)`), so the I/O paths of a device must not reach one. This
//! query runs on the [`CallGraph`] of a built `.ko` and reports, for each
//! entry point, the panic functions ("sinks") it can reach, one shortest
//! path to each, and the call sites that call a sink directly.
//!
//! # Sinks
//!
//! A function is a sink if one of its demangled names matches a pattern of
//! [`ReachOptions::sinks`] (default [`DEFAULT_SINK_PATTERNS`]: the
//! `#[panic_handler]`, `core::panicking::*`, the `unwrap`/`expect`
//! failures, slice and `str` index failures, `RefCell` borrow failures and
//! `alloc`'s capacity and allocation failures). A call to an undefined
//! symbol in [`ReachOptions::external_sinks`] (default `panic`, `vpanic`,
//! `kassert_panic`: `panic(9)` itself) is a sink too, from anywhere.
//! Arithmetic-overflow and bounds-check panics are calls to
//! `core::panicking::panic_const::*` and `panic_bounds_check`, so they are
//! covered. Paths stop at the first sink.
//!
//! # Entry points
//!
//! [`DEFAULT_ENTRY_PATTERNS`]: the module event handler `kmod_modevent`
//! ([`EntryClass::Modevent`]), and the character-device methods, i.e.
//! address-taken functions whose demangled name contains `cdev` and ends in
//! `read`, `write`, `ioctl`, `open`, `close` or `dtor` (the `cdevpriv`
//! destructor): `kern::cdev::cdev_read::<T>` and so on (generic arguments
//! are ignored when matching). The first matching pattern decides a
//! function's class; `--entry` patterns come first. Every other
//! address-taken function that is neither a sink nor a formatting target is
//! an [`EntryClass::Other`] root: the kernel may call it through a pointer
//! the module gave it (a `SYSINIT`, a callout, a sysctl handler).
//!
//! # Indirect calls: why the result over-approximates
//!
//! The target of an indirect call (`call *%rax`, `call *0x18(%rbx)`, a
//! `jmp *%rax` tail call) is not in the file. It is taken to be *any*
//! address-taken function ([`crate::callgraph`] step 3) and any
//! address-taken kernel symbol, with one refinement
//! ([`ReachOptions::fmt_kind`], on by default): an indirect call in
//! formatting code (`core::fmt::*` and the formatting trait methods, by
//! name) goes to one of the address-taken formatting targets, the trait
//! methods `core::fmt` calls through `dyn Write`/`dyn Display` vtables and
//! `fmt::Arguments` formatter pointers (plus everything in those vtables).
//!
//! So every real path is reported, and a reported path through an indirect
//! call may be infeasible. The refinement rests on one assumption: that
//! formatting code calls only formatting targets indirectly. It holds for
//! `core::fmt` itself; a module's own `Display` impl that calls through some
//! other function pointer would break it, and `--no-fmt-kind` drops it.
//! Direct calls, tail calls and resolved `switch` tables are exact. Calls
//! into the kernel end a path: the kernel calls module code only through
//! the pointers it was given, and those are the entry points above.

mod output;
mod query;

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::Path;

use crate::callgraph::{CallGraph, Callee};
use crate::error::{Error, Result};
use crate::names::Glob;
use query::Query;

/// What kind of entry point a root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryClass {
    /// `d_read` of a `cdevsw`.
    Read,
    /// `d_write`.
    Write,
    /// `d_ioctl`.
    Ioctl,
    /// `d_open`.
    Open,
    /// `d_close`, or the `devfs_set_cdevpriv(9)` destructor.
    Close,
    /// The module event handler (`modeventhand_t`).
    Modevent,
    /// Any other root.
    Other,
}

impl EntryClass {
    /// Every class, in report order.
    pub const ALL: [Self; 7] = [
        Self::Read,
        Self::Write,
        Self::Ioctl,
        Self::Open,
        Self::Close,
        Self::Modevent,
        Self::Other,
    ];

    /// The classes of a character device's I/O paths, which must not reach
    /// a panic.
    pub const IO: [Self; 5] = [
        Self::Read,
        Self::Write,
        Self::Ioctl,
        Self::Open,
        Self::Close,
    ];

    /// The lower-case name used in reports and `--entry CLASS=PATTERN`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Ioctl => "ioctl",
            Self::Open => "open",
            Self::Close => "close",
            Self::Modevent => "modevent",
            Self::Other => "other",
        }
    }

    /// The class called `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// An entry pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPattern {
    /// The class of the functions it matches.
    pub class: EntryClass,
    /// The pattern, on demangled names.
    pub pattern: Glob,
    /// Match only address-taken functions: the kernel can call only what
    /// the module gave it a pointer to.
    pub address_taken_only: bool,
}

/// Default entry patterns, on demangled names, in priority order. They match
/// only address-taken functions ([`EntryPattern::address_taken_only`]), so
/// that a device's own `<Echo as kern::cdev::CharacterDevice>::read`, which
/// the `kern::cdev::cdev_read` trampoline calls directly, is not a second
/// read entry.
pub const DEFAULT_ENTRY_PATTERNS: [(EntryClass, &str); 7] = [
    (EntryClass::Modevent, "kmod_modevent"),
    (EntryClass::Read, "*cdev*::*read"),
    (EntryClass::Write, "*cdev*::*write"),
    (EntryClass::Ioctl, "*cdev*::*ioctl"),
    (EntryClass::Open, "*cdev*::*open"),
    (EntryClass::Close, "*cdev*::*close"),
    (EntryClass::Close, "*cdev*::*dtor"),
];

/// Default sink patterns, on demangled names (without hash).
pub const DEFAULT_SINK_PATTERNS: [&str; 12] = [
    // The #[panic_handler]: `__rustc::rust_begin_unwind` since Rust 1.86,
    // plain `rust_begin_unwind` before.
    "*rust_begin_unwind",
    // panic, panic_fmt, panic_bounds_check, panic_const::*, assert_failed, ...
    "core::panicking::*",
    "core::option::expect_failed",
    "core::option::unwrap_failed",
    "core::result::unwrap_failed",
    // index::slice_end_index_len_fail, copy_from_slice's len_mismatch_fail, ...
    "core::slice::*fail*",
    "core::str::slice_error_fail*",
    "core::cell::panic_already_*",
    "core::char::methods::encode_utf8_raw::do_panic*",
    "alloc::raw_vec::capacity_overflow",
    "alloc::raw_vec::handle_error",
    "alloc::alloc::handle_alloc_error*",
];

/// Default undefined symbols that are sinks: `panic(9)` and its variants.
pub const DEFAULT_EXTERNAL_SINKS: [&str; 3] = ["panic", "vpanic", "kassert_panic"];

/// What to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachOptions {
    /// Entry patterns; the first match decides a function's class.
    pub entries: Vec<EntryPattern>,
    /// Sink patterns on demangled function names.
    pub sinks: Vec<Glob>,
    /// Undefined symbols that are sinks.
    pub external_sinks: Vec<String>,
    /// Also report address-taken functions that match no entry pattern, as
    /// [`EntryClass::Other`].
    pub other_roots: bool,
    /// Let indirect calls in formatting code reach only formatting targets
    /// (see the module documentation); `false` lets every indirect call
    /// reach every address-taken function.
    pub fmt_kind: bool,
}

impl Default for ReachOptions {
    fn default() -> Self {
        Self {
            entries: DEFAULT_ENTRY_PATTERNS
                .iter()
                .map(|&(class, p)| EntryPattern {
                    class,
                    pattern: Glob::new(p),
                    address_taken_only: true,
                })
                .collect(),
            sinks: DEFAULT_SINK_PATTERNS
                .iter()
                .map(|&p| Glob::new(p))
                .collect(),
            external_sinks: DEFAULT_EXTERNAL_SINKS
                .iter()
                .map(|&s| s.to_owned())
                .collect(),
            other_roots: true,
            fmt_kind: true,
        }
    }
}

impl ReachOptions {
    /// Applies `--entry` specifications: `CLASS=PATTERN` replaces the
    /// default patterns of `CLASS` (the first time the class is named) and
    /// adds `PATTERN`; a bare `PATTERN` adds an [`EntryClass::Other`] entry.
    /// User patterns take priority over the remaining defaults and match
    /// any function, address-taken or not.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] for an unknown class or an empty pattern.
    pub fn apply_entry_specs<S: AsRef<str>>(&mut self, specs: &[S]) -> Result<()> {
        let mut user = Vec::new();
        let mut replaced = HashSet::new();
        for spec in specs {
            let spec = spec.as_ref();
            let (class, pattern) = match spec.split_once('=') {
                Some((name, pattern)) => {
                    let class = EntryClass::from_name(name).ok_or_else(|| {
                        Error::Options(format!(
                            "unknown entry class `{name}` in `{spec}` (expected one of: {})",
                            EntryClass::ALL.map(EntryClass::name).join(", ")
                        ))
                    })?;
                    replaced.insert(class);
                    (class, pattern)
                }
                None => (EntryClass::Other, spec),
            };
            if pattern.is_empty() {
                return Err(Error::Options(format!("empty entry pattern in `{spec}`")));
            }
            user.push(EntryPattern {
                class,
                pattern: Glob::new(pattern),
                address_taken_only: false,
            });
        }
        self.entries.retain(|e| !replaced.contains(&e.class));
        user.append(&mut self.entries);
        self.entries = user;
        Ok(())
    }
}

/// How a path step was reached from the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// A direct call.
    Call,
    /// A direct jump out of the function: a tail call or a `switch` table
    /// entry in another function.
    TailCall,
    /// An indirect call (to a set of possible targets, the next step).
    IndirectCall,
    /// An indirect jump (tail call through a pointer).
    IndirectJump,
    /// One of the possible targets of the indirect call before.
    Target,
}

impl Via {
    /// A short word for reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::TailCall => "tail-call",
            Self::IndirectCall => "indirect-call",
            Self::IndirectJump => "indirect-jump",
            Self::Target => "target",
        }
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStep {
    /// Demangled name of the function, of the kernel symbol, or a
    /// description of the indirect-call target set (`[...]`).
    pub name: String,
    /// Raw symbol name (empty for a target set).
    pub symbol: String,
    /// How this step was reached (`None` for the entry).
    pub via: Option<Via>,
    /// Offset of the instruction that leads here from the start of the
    /// previous step's function (`None` after a target set).
    pub site: Option<u64>,
}

/// A shortest path from an entry to a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkPath {
    /// Demangled name of the sink.
    pub sink: String,
    /// Entry first, sink last.
    pub steps: Vec<PathStep>,
    /// The panic `Location` (`file:line:col`) loaded before the last call,
    /// if one was found in `.rodata`.
    pub location: Option<String>,
}

/// A call site that calls a sink directly, reachable from an entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SinkSite {
    /// Demangled name of the calling function (or target-set description).
    pub caller: String,
    /// Offset of the instruction from the start of the caller.
    pub offset: Option<u64>,
    /// Demangled name of the sink.
    pub sink: String,
    /// The panic `Location`, if found.
    pub location: Option<String>,
}

/// What one entry point reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryReport {
    /// The entry's class.
    pub class: EntryClass,
    /// Demangled name.
    pub name: String,
    /// Raw symbol name.
    pub symbol: String,
    /// Functions of the module reachable from it, itself included.
    pub reachable_functions: usize,
    /// One shortest path per reachable sink.
    pub paths: Vec<SinkPath>,
    /// Reachable call sites that call a sink directly.
    pub sites: Vec<SinkSite>,
}

/// Totals for one entry class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClassSummary {
    /// Entry points of the class.
    pub entries: usize,
    /// Distinct sinks reachable from any of them.
    pub sinks: usize,
    /// Distinct sink call sites reachable from any of them.
    pub sites: usize,
    /// Entry-to-sink paths reported (one per entry and sink).
    pub paths: usize,
}

/// The result of [`panic_paths`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachReport {
    /// One report per entry point, by class, then name.
    pub entries: Vec<EntryReport>,
    /// Functions in the module (gaps included).
    pub functions: usize,
    /// Address-taken functions: the targets of an unclassified indirect call.
    pub address_taken: usize,
    /// Address-taken formatting targets.
    pub fmt_targets: usize,
    /// Indirect call and jump sites.
    pub indirect_sites: usize,
    /// Of those, the ones in formatting code (reaching formatting targets
    /// only, when [`ReachOptions::fmt_kind`] is set).
    pub fmt_indirect_sites: usize,
    /// Sinks present in the module: matching functions and referenced
    /// kernel symbols, sorted.
    pub sinks: Vec<String>,
    /// Whether the formatting refinement was used.
    pub fmt_kind: bool,
    /// Approximations the graph had to make (see [`CallGraph::notes`]).
    pub notes: Vec<String>,
}

impl ReachReport {
    /// Totals for `class`.
    #[must_use]
    pub fn class_summary(&self, class: EntryClass) -> ClassSummary {
        let mut sinks = BTreeSet::new();
        let mut sites = BTreeSet::new();
        let mut out = ClassSummary::default();
        for e in self.entries.iter().filter(|e| e.class == class) {
            out.entries = out.entries.saturating_add(1);
            out.paths = out.paths.saturating_add(e.paths.len());
            sinks.extend(e.paths.iter().map(|p| p.sink.as_str()));
            sites.extend(e.sites.iter().map(|s| (s.caller.as_str(), s.offset)));
        }
        out.sinks = sinks.len();
        out.sites = sites.len();
        out
    }

    /// Number of entry-to-sink paths from entries of `class`: zero means no
    /// panic is reachable from that class.
    #[must_use]
    pub fn paths_from(&self, class: EntryClass) -> usize {
        self.class_summary(class).paths
    }

    /// The entries of `class`.
    pub fn entries_of(&self, class: EntryClass) -> impl Iterator<Item = &EntryReport> {
        self.entries.iter().filter(move |e| e.class == class)
    }
}

/// Analyses the `.ko` in `data`.
///
/// # Errors
///
/// [`Error::Format`] if `data` is not an x86-64 relocatable ELF object.
///
/// # Examples
///
/// ```no_run
/// use kolink::reach::{EntryClass, ReachOptions, panic_paths};
///
/// let data = std::fs::read("build/rustecho.ko")?;
/// let report = panic_paths(&data, &ReachOptions::default())?;
/// for class in EntryClass::IO {
///     assert_eq!(report.paths_from(class), 0, "{report}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn panic_paths(data: &[u8], options: &ReachOptions) -> Result<ReachReport> {
    Ok(analyse(&CallGraph::build(data)?, options))
}

/// [`panic_paths`] on a file.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read, otherwise as [`panic_paths`].
pub fn panic_paths_file(path: &Path, options: &ReachOptions) -> Result<ReachReport> {
    let data = fs::read(path).map_err(|e| Error::io(path, e))?;
    panic_paths(&data, options)
}

/// Runs the query on a call graph.
#[must_use]
pub fn analyse(graph: &CallGraph, options: &ReachOptions) -> ReachReport {
    let query = Query::new(graph, options);
    let mut roots = Vec::new();
    for (i, f) in graph.functions.iter().enumerate() {
        let class = options
            .entries
            .iter()
            .find(|e| (f.address_taken || !e.address_taken_only) && f.matches(&e.pattern))
            .map(|e| e.class);
        match class {
            Some(c) => roots.push((c, i)),
            None if options.other_roots
                && f.address_taken
                && !(options.fmt_kind && f.fmt_target)
                && !query.is_sink(i) =>
            {
                roots.push((EntryClass::Other, i));
            }
            None => {}
        }
    }
    let mut entries: Vec<EntryReport> = roots
        .into_iter()
        .map(|(c, i)| query.entry_report(c, i))
        .collect();
    entries.sort_by(|a, b| (a.class, &a.name).cmp(&(b.class, &b.name)));
    let n_fn = graph.functions.len();
    let mut sinks: Vec<String> = (0..query.sink.len())
        .filter(|&n| query.is_sink(n) && n < n_fn.saturating_add(graph.externals.len()))
        .map(|n| query.names(n).0)
        .collect();
    sinks.sort();
    sinks.dedup();
    let indirect = || {
        graph.functions.iter().flat_map(|f| {
            f.calls
                .iter()
                .filter(|c| c.callee == Callee::Indirect)
                .map(move |_| f.fmt_caller)
        })
    };
    ReachReport {
        entries,
        functions: n_fn,
        address_taken: graph.functions.iter().filter(|f| f.address_taken).count(),
        fmt_targets: graph.functions.iter().filter(|f| f.fmt_target).count(),
        indirect_sites: indirect().count(),
        fmt_indirect_sites: indirect().filter(|&fmt| fmt).count(),
        sinks,
        fmt_kind: options.fmt_kind,
        notes: graph.notes.clone(),
    }
}
