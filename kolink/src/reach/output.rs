// SPDX-License-Identifier: BSD-2-Clause
//! Rendering of a [`ReachReport`]: the text report (`Display`) and JSON
//! ([`ReachReport::to_json`]).
//!
//! The text report has a summary table per entry class, a table per entry
//! point, each shortest path with the call-site offsets, the distinct panic
//! call sites, and the statement of what was approximated. The JSON carries
//! the same data for test suites; its shape is documented on
//! [`ReachReport::to_json`].

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::{EntryClass, EntryReport, ReachReport, SinkPath, SinkSite};

impl ReachReport {
    /// The conservativeness statement printed with every report.
    #[must_use]
    pub fn conservative_note(&self) -> String {
        let refinement = if self.fmt_kind && self.fmt_indirect_sites > 0 {
            format!(
                ", except that the {} site(s) in formatting code (core::fmt and the formatting \
                 trait methods) are assumed to reach only the {} address-taken formatting \
                 targets (this trusts formatting code to call nothing else indirectly; \
                 --no-fmt-kind drops the assumption)",
                self.fmt_indirect_sites, self.fmt_targets
            )
        } else {
            String::new()
        };
        format!(
            "The result is conservative (it over-approximates): each of the {} indirect \
             call/jump site(s) is assumed to reach any of the {} address-taken function(s) and \
             any address-taken kernel symbol{refinement}. Every real path is listed, but a path \
             through an indirect call may be infeasible. Direct calls, tail calls and resolved \
             switch tables are exact; calls into the kernel end a path.",
            self.indirect_sites, self.address_taken
        )
    }

    /// The report as one JSON object:
    ///
    /// ```text
    /// { "conservative": true, "fmt_kind": bool, "functions": n,
    ///   "address_taken": n, "fmt_targets": n, "indirect_sites": n,
    ///   "fmt_indirect_sites": n, "sinks": ["name", ...],
    ///   "classes": [{"class": "read", "entries": n, "sinks": n,
    ///                "sites": n, "paths": n}, ...],
    ///   "entries": [{"class": "modevent", "name": "...", "symbol": "...",
    ///                "reachable_functions": n,
    ///                "paths": [{"sink": "...", "location": "f:l:c"|null,
    ///                           "steps": [{"name": "...", "symbol": "...",
    ///                                      "via": "call"|...|null,
    ///                                      "site": "0x1a"|null}]}],
    ///                "sites": [{"caller": "...", "offset": "0x1a"|null,
    ///                           "sink": "...", "location": ...}]}],
    ///   "notes": ["..."], "note": "..." }
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut o = String::new();
        o.push_str("{\"conservative\":true");
        let _ = write!(
            o,
            ",\"fmt_kind\":{},\"functions\":{},\"address_taken\":{},\"fmt_targets\":{},\
             \"indirect_sites\":{},\"fmt_indirect_sites\":{},\"sinks\":{}",
            self.fmt_kind,
            self.functions,
            self.address_taken,
            self.fmt_targets,
            self.indirect_sites,
            self.fmt_indirect_sites,
            json_list(self.sinks.iter().map(|s| json_str(s)))
        );
        let classes = EntryClass::ALL.iter().map(|&c| {
            let s = self.class_summary(c);
            format!(
                "{{\"class\":{},\"entries\":{},\"sinks\":{},\"sites\":{},\"paths\":{}}}",
                json_str(c.name()),
                s.entries,
                s.sinks,
                s.sites,
                s.paths
            )
        });
        let _ = write!(o, ",\"classes\":{}", json_list(classes));
        let _ = write!(
            o,
            ",\"entries\":{}",
            json_list(self.entries.iter().map(entry_json))
        );
        let _ = write!(
            o,
            ",\"notes\":{},\"note\":{}}}",
            json_list(self.notes.iter().map(|n| json_str(n))),
            json_str(&self.conservative_note())
        );
        o
    }
}

fn entry_json(e: &EntryReport) -> String {
    format!(
        "{{\"class\":{},\"name\":{},\"symbol\":{},\"reachable_functions\":{},\"paths\":{},\"sites\":{}}}",
        json_str(e.class.name()),
        json_str(&e.name),
        json_str(&e.symbol),
        e.reachable_functions,
        json_list(e.paths.iter().map(path_json)),
        json_list(e.sites.iter().map(site_json))
    )
}

fn path_json(p: &SinkPath) -> String {
    let steps = p.steps.iter().map(|s| {
        format!(
            "{{\"name\":{},\"symbol\":{},\"via\":{},\"site\":{}}}",
            json_str(&s.name),
            json_str(&s.symbol),
            s.via.map_or_else(|| "null".into(), |v| json_str(v.name())),
            json_offset(s.site)
        )
    });
    format!(
        "{{\"sink\":{},\"location\":{},\"steps\":{}}}",
        json_str(&p.sink),
        json_opt(p.location.as_deref()),
        json_list(steps)
    )
}

fn site_json(s: &SinkSite) -> String {
    format!(
        "{{\"caller\":{},\"offset\":{},\"sink\":{},\"location\":{}}}",
        json_str(&s.caller),
        json_offset(s.offset),
        json_str(&s.sink),
        json_opt(s.location.as_deref())
    )
}

fn json_offset(offset: Option<u64>) -> String {
    offset.map_or_else(|| "null".into(), |o| format!("\"{o:#x}\""))
}

fn json_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".into(), json_str)
}

fn json_list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len().saturating_add(2));
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

impl fmt::Display for ReachReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let io_paths: usize = EntryClass::IO.iter().map(|&c| self.paths_from(c)).sum();
        writeln!(
            f,
            "panic paths: {} entry point(s), {} function(s), {} sink(s) present; {} path(s) \
             from read/write/ioctl/open/close",
            self.entries.len(),
            self.functions,
            self.sinks.len(),
            io_paths
        )?;
        writeln!(
            f,
            "\n{:<9} {:>7} {:>6} {:>6} {:>6}",
            "class", "entries", "sinks", "sites", "paths"
        )?;
        for class in EntryClass::ALL {
            let s = self.class_summary(class);
            writeln!(
                f,
                "{:<9} {:>7} {:>6} {:>6} {:>6}",
                class.name(),
                s.entries,
                s.sinks,
                s.sites,
                s.paths
            )?;
        }
        if !self.entries.is_empty() {
            writeln!(
                f,
                "\n{:<9} {:>9} {:>6} {:>6}  entry",
                "class", "reachable", "sinks", "sites"
            )?;
            for e in &self.entries {
                writeln!(
                    f,
                    "{:<9} {:>9} {:>6} {:>6}  {}",
                    e.class.name(),
                    e.reachable_functions,
                    e.paths.len(),
                    e.sites.len(),
                    e.name
                )?;
            }
        }
        let with_paths: Vec<&EntryReport> = self
            .entries
            .iter()
            .filter(|e| !e.paths.is_empty())
            .collect();
        if !with_paths.is_empty() {
            writeln!(f, "\nShortest path to each reachable sink:")?;
            for e in with_paths {
                for p in &e.paths {
                    write_path(f, e, p)?;
                }
            }
            write_sites(f, &self.entries)?;
        }
        writeln!(f, "\nSinks present: {}", list_or_none(&self.sinks))?;
        write!(f, "\n{}", wrap(&self.conservative_note(), "", ""))?;
        if !self.notes.is_empty() {
            writeln!(f, "\nApproximations:")?;
            for n in &self.notes {
                f.write_str(&wrap(n, "  - ", "    "))?;
            }
        }
        Ok(())
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn write_path(f: &mut fmt::Formatter<'_>, e: &EntryReport, p: &SinkPath) -> fmt::Result {
    let at = p
        .location
        .as_deref()
        .map_or_else(String::new, |l| format!(" (at {l})"));
    writeln!(f, "\n[{}] {} -> {}{at}", e.class.name(), e.name, p.sink)?;
    for step in &p.steps {
        let site = step.site.map_or_else(String::new, |s| format!("+{s:#x}"));
        let via = step.via.map_or("entry", |v| v.name());
        writeln!(f, "    {site:>8} {via:<13} {}", step.name)?;
    }
    Ok(())
}

/// The distinct sink call sites, with the classes that reach each.
fn write_sites(f: &mut fmt::Formatter<'_>, entries: &[EntryReport]) -> fmt::Result {
    let mut sites: BTreeMap<&SinkSite, Vec<&str>> = BTreeMap::new();
    for e in entries {
        for s in &e.sites {
            let classes = sites.entry(s).or_default();
            if !classes.contains(&e.class.name()) {
                classes.push(e.class.name());
            }
        }
    }
    writeln!(f, "\nPanic call sites ({}):", sites.len())?;
    for (s, classes) in sites {
        let at = s.offset.map_or_else(String::new, |o| format!("+{o:#x}"));
        let loc = s
            .location
            .as_deref()
            .map_or_else(String::new, |l| format!(" at {l}"));
        writeln!(
            f,
            "  {}{at} -> {}{loc}  [{}]",
            s.caller,
            s.sink,
            classes.join(", ")
        )?;
    }
    Ok(())
}

/// `text` wrapped at 78 columns, the first line prefixed with `first`, the
/// others with `rest`; each line ends in a newline.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    const WIDTH: usize = 78;
    let mut out = String::from(first);
    let mut column = first.len();
    let mut line_empty = true;
    for word in text.split_whitespace() {
        if !line_empty && column.saturating_add(1).saturating_add(word.len()) > WIDTH {
            out.push('\n');
            out.push_str(rest);
            column = rest.len();
            line_empty = true;
        }
        if !line_empty {
            out.push(' ');
            column = column.saturating_add(1);
        }
        out.push_str(word);
        column = column.saturating_add(word.len());
        line_empty = false;
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_escapes_json() {
        let text = "word ".repeat(30);
        let wrapped = wrap(&text, "  - ", "    ");
        assert!(wrapped.lines().all(|l| l.len() <= 78), "{wrapped}");
        assert!(wrapped.starts_with("  - word"));
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("    word")));
        assert_eq!(
            wrapped.split_whitespace().filter(|w| *w == "word").count(),
            30
        );
        assert_eq!(json_str("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }
}
