// SPDX-License-Identifier: BSD-2-Clause
//! Writing the figures into the documentation: the generated regions of
//! `BENCHMARKS.md` and `README.md`.
//!
//! A region is the text between two marker lines:
//!
//! ```text
//! <!-- bench:begin NAME -->
//! ... (rewritten by every full run)
//! <!-- bench:end NAME -->
//! ```
//!
//! Everything outside the markers is kept byte for byte; everything inside
//! is replaced by what the run produced for `NAME`. A marker that is
//! missing, unclosed, nested, misspelt or names a region the benchmark
//! does not produce is an error, and no file is written.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- bench:begin ";
const END: &str = "<!-- bench:end ";
const CLOSE: &str = " -->";

/// The documents the benchmark writes to, relative to the repository
/// root, and the regions each must contain.
pub(crate) const DOCS: &[(&str, &[&str])] = &[
    (
        "BENCHMARKS.md",
        &[
            "run",
            "targets",
            "instructions",
            "instructions-by-function",
            "time",
            "copies",
            "size",
            "size-by-function",
            "concurrency",
            "fifo-targets",
            "fifo-instructions",
            "fifo-instructions-by-function",
            "fifo-copies",
            "fifo-size",
        ],
    ),
    ("README.md", &["summary"]),
];

/// What is wrong with a document's markers (lines count from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MarkerError {
    /// An HTML comment line that mentions `bench:begin`/`bench:end` but is
    /// not a marker (prose may quote a marker inside other text).
    Malformed { line: usize },
    /// A region opened and never closed.
    Unclosed { name: String, line: usize },
    /// An end marker with no region open.
    UnexpectedEnd { name: String, line: usize },
    /// A begin marker inside an open region.
    Nested {
        outer: String,
        inner: String,
        line: usize,
    },
    /// An end marker naming another region than the open one.
    Mismatched {
        begin: String,
        end: String,
        line: usize,
    },
    /// A region that appears twice.
    Duplicate { name: String, line: usize },
    /// A region the benchmark does not produce.
    Unknown { name: String, line: usize },
    /// A region the document must contain and does not.
    Missing { name: String },
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { line } => write!(
                f,
                "line {line}: not a marker line (`{BEGIN}NAME{CLOSE}` or `{END}NAME{CLOSE}`, alone on its line)"
            ),
            Self::Unclosed { name, line } => {
                write!(f, "line {line}: region `{name}` is never closed")
            }
            Self::UnexpectedEnd { name, line } => {
                write!(f, "line {line}: end of region `{name}`, which is not open")
            }
            Self::Nested { outer, inner, line } => write!(
                f,
                "line {line}: region `{inner}` begins inside region `{outer}`"
            ),
            Self::Mismatched { begin, end, line } => write!(
                f,
                "line {line}: region `{begin}` is closed by an end marker for `{end}`"
            ),
            Self::Duplicate { name, line } => {
                write!(f, "line {line}: region `{name}` appears a second time")
            }
            Self::Unknown { name, line } => write!(
                f,
                "line {line}: region `{name}` is not one the benchmark produces"
            ),
            Self::Missing { name } => write!(f, "region `{name}` is missing"),
        }
    }
}

/// What a line is.
enum Line<'a> {
    Begin(&'a str),
    End(&'a str),
    Text,
}

fn classify(line: &str, number: usize) -> Result<Line<'_>, MarkerError> {
    let t = line.trim_end_matches(['\r', '\n']);
    let name = |prefix: &str| {
        t.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(CLOSE))
            .filter(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
    };
    if let Some(n) = name(BEGIN) {
        Ok(Line::Begin(n))
    } else if let Some(n) = name(END) {
        Ok(Line::End(n))
    } else if t.trim_start().starts_with("<!--")
        && (t.contains("bench:begin") || t.contains("bench:end"))
    {
        Err(MarkerError::Malformed { line: number })
    } else {
        Ok(Line::Text)
    }
}

/// Replaces the body of every marked region of `doc` with the text
/// `regions` holds for its name; the markers and everything outside them
/// stay as they are. Each region must appear at most once and be one of
/// `regions`; each of `required` must appear.
///
/// A body is written with a blank line after the begin marker and before
/// the end marker, so that a Markdown table in it is a block of its own;
/// replacing twice gives the same text.
pub(crate) fn replace(
    doc: &str,
    regions: &BTreeMap<&str, String>,
    required: &[&str],
) -> Result<String, MarkerError> {
    let mut out = String::with_capacity(doc.len());
    let mut open: Option<(&str, usize)> = None;
    let mut seen: Vec<&str> = Vec::new();
    for (i, line) in doc.split_inclusive('\n').enumerate() {
        let number = i + 1;
        match (classify(line, number)?, open) {
            (Line::Begin(name), None) => {
                if seen.contains(&name) {
                    return Err(MarkerError::Duplicate {
                        name: name.to_owned(),
                        line: number,
                    });
                }
                let Some(body) = regions.get(name) else {
                    return Err(MarkerError::Unknown {
                        name: name.to_owned(),
                        line: number,
                    });
                };
                seen.push(name);
                open = Some((name, number));
                out.push_str(line);
                if !line.ends_with('\n') {
                    out.push('\n');
                }
                out.push('\n');
                out.push_str(body.trim_matches('\n'));
                out.push_str("\n\n");
            }
            (Line::Begin(inner), Some((outer, _))) => {
                return Err(MarkerError::Nested {
                    outer: outer.to_owned(),
                    inner: inner.to_owned(),
                    line: number,
                });
            }
            (Line::End(name), None) => {
                return Err(MarkerError::UnexpectedEnd {
                    name: name.to_owned(),
                    line: number,
                });
            }
            (Line::End(end), Some((begin, _))) => {
                if end != begin {
                    return Err(MarkerError::Mismatched {
                        begin: begin.to_owned(),
                        end: end.to_owned(),
                        line: number,
                    });
                }
                open = None;
                out.push_str(line);
            }
            (Line::Text, Some(_)) => {}
            (Line::Text, None) => out.push_str(line),
        }
    }
    if let Some((name, line)) = open {
        return Err(MarkerError::Unclosed {
            name: name.to_owned(),
            line,
        });
    }
    if let Some(name) = required.iter().find(|r| !seen.contains(r)) {
        return Err(MarkerError::Missing {
            name: (*name).to_owned(),
        });
    }
    Ok(out)
}

/// Rewrites the regions of every document in [`DOCS`], read from `root`
/// and written to `out` (the same folder for a full run; another one for a
/// smoke run, which must leave the tracked files alone). Every document is
/// checked before any is written. Returns the files written.
pub(crate) fn write_all(
    root: &Path,
    out: &Path,
    regions: &BTreeMap<&str, String>,
) -> Result<Vec<PathBuf>, String> {
    let mut done = Vec::new();
    for (file, required) in DOCS {
        let from = root.join(file);
        let text =
            std::fs::read_to_string(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        let new =
            replace(&text, regions, required).map_err(|e| format!("{}: {e}", from.display()))?;
        done.push((out.join(file), new));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for (to, new) in &done {
        // Write a sibling and rename it: a reader never sees half a file.
        let tmp = to.with_extension("md.tmp");
        std::fs::write(&tmp, new).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    Ok(done.into_iter().map(|(p, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> BTreeMap<&'static str, String> {
        BTreeMap::from([("a", "| x |\n".to_owned()), ("b", "new b".to_owned())])
    }

    const DOC: &str = "\
# Title
prose 1.0 kept
<!-- bench:begin a -->
old a
| stale | 42 |
<!-- bench:end a -->
between
<!-- bench:begin b -->
<!-- bench:end b -->
tail without newline";

    #[test]
    fn only_the_marked_regions_change() {
        let new = replace(DOC, &regions(), &["a", "b"]).unwrap();
        assert_eq!(
            new,
            "\
# Title
prose 1.0 kept
<!-- bench:begin a -->

| x |

<!-- bench:end a -->
between
<!-- bench:begin b -->

new b

<!-- bench:end b -->
tail without newline"
        );
        // Idempotent: a second run rewrites the same bytes.
        assert_eq!(replace(&new, &regions(), &["a", "b"]).unwrap(), new);
        // Outside the regions, every byte is the original's.
        let strip = |s: &str| -> String {
            let mut inside = false;
            s.lines()
                .filter(|l| {
                    let keep = !inside;
                    if l.starts_with(BEGIN) {
                        inside = true;
                    } else if l.starts_with(END) {
                        inside = false;
                        return true;
                    }
                    keep
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&new), strip(DOC));
    }

    #[test]
    fn a_document_without_regions_is_unchanged() {
        let doc = "no markers\nat all\n";
        assert_eq!(replace(doc, &regions(), &[]).unwrap(), doc);
    }

    fn err(doc: &str) -> MarkerError {
        replace(doc, &regions(), &[]).unwrap_err()
    }

    #[test]
    fn an_unclosed_region_fails() {
        assert_eq!(
            err("x\n<!-- bench:begin a -->\nold\n"),
            MarkerError::Unclosed {
                name: "a".into(),
                line: 2
            }
        );
    }

    #[test]
    fn an_end_without_begin_fails() {
        assert_eq!(
            err("<!-- bench:end a -->\n"),
            MarkerError::UnexpectedEnd {
                name: "a".into(),
                line: 1
            }
        );
    }

    #[test]
    fn nested_and_mismatched_regions_fail() {
        assert_eq!(
            err(
                "<!-- bench:begin a -->\n<!-- bench:begin b -->\n<!-- bench:end b -->\n<!-- bench:end a -->\n"
            ),
            MarkerError::Nested {
                outer: "a".into(),
                inner: "b".into(),
                line: 2
            }
        );
        assert_eq!(
            err("<!-- bench:begin a -->\n<!-- bench:end b -->\n"),
            MarkerError::Mismatched {
                begin: "a".into(),
                end: "b".into(),
                line: 2
            }
        );
    }

    #[test]
    fn duplicate_and_unknown_regions_fail() {
        assert_eq!(
            err(
                "<!-- bench:begin a -->\n<!-- bench:end a -->\n<!-- bench:begin a -->\n<!-- bench:end a -->\n"
            ),
            MarkerError::Duplicate {
                name: "a".into(),
                line: 3
            }
        );
        assert_eq!(
            err("<!-- bench:begin zz -->\n<!-- bench:end zz -->\n"),
            MarkerError::Unknown {
                name: "zz".into(),
                line: 1
            }
        );
    }

    #[test]
    fn a_misspelt_marker_fails() {
        for bad in [
            "<!-- bench:begin a-->\n",
            "<!--bench:begin a -->\n",
            "  <!-- bench:begin a -->\n",
            "<!-- bench:begin A -->\n",
            "<!-- bench:begin a --> trailing\n",
            "<!-- bench:end -->\n",
        ] {
            assert_eq!(err(bad), MarkerError::Malformed { line: 1 }, "{bad:?}");
        }
        // Prose may quote a marker.
        let quoted = "Between `<!-- bench:begin NAME -->` and its end.\n";
        assert_eq!(replace(quoted, &regions(), &[]).unwrap(), quoted);
    }

    #[test]
    fn a_missing_required_region_fails() {
        let doc = "<!-- bench:begin a -->\n<!-- bench:end a -->\n";
        assert_eq!(
            replace(doc, &regions(), &["a", "b"]).unwrap_err(),
            MarkerError::Missing { name: "b".into() }
        );
    }

    /// The tracked documents carry every region the benchmark produces,
    /// each once and balanced: a hand edit that breaks a marker fails
    /// here, in `make test`, not at the next `make bench`.
    #[test]
    fn the_tracked_documents_have_every_region() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let all: BTreeMap<&str, String> = DOCS
            .iter()
            .flat_map(|(_, names)| names.iter())
            .map(|n| (*n, String::new()))
            .collect();
        for (file, required) in DOCS {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            if let Err(e) = replace(&text, &all, required) {
                panic!("{file}: {e}");
            }
        }
    }

    #[test]
    fn write_all_leaves_the_sources_alone_when_writing_elsewhere() {
        let base = std::env::temp_dir().join(format!("bench-docs-test-{}", std::process::id()));
        let (src, dst) = (base.join("src"), base.join("dst"));
        std::fs::create_dir_all(&src).unwrap();
        let all: BTreeMap<&str, String> = DOCS
            .iter()
            .flat_map(|(_, names)| names.iter())
            .map(|n| (*n, format!("generated {n}")))
            .collect();
        for (file, names) in DOCS {
            let text: String = names
                .iter()
                .map(|n| format!("text\n{BEGIN}{n}{CLOSE}\nold\n{END}{n}{CLOSE}\n"))
                .collect();
            std::fs::write(src.join(file), text).unwrap();
        }
        let before: Vec<String> = DOCS
            .iter()
            .map(|(f, _)| std::fs::read_to_string(src.join(f)).unwrap())
            .collect();
        let written = write_all(&src, &dst, &all).unwrap();
        assert_eq!(written.len(), DOCS.len());
        for ((file, names), old) in DOCS.iter().zip(&before) {
            assert_eq!(&std::fs::read_to_string(src.join(file)).unwrap(), old);
            let new = std::fs::read_to_string(dst.join(file)).unwrap();
            for n in *names {
                assert!(new.contains(&format!("generated {n}")), "{file}: {n}");
            }
            assert!(!new.contains("old"), "{file}");
        }
        // A broken document stops the whole write: nothing is written.
        std::fs::write(src.join(DOCS[0].0), "<!-- bench:begin run -->\n").unwrap();
        let dst2 = base.join("dst2");
        assert!(write_all(&src, &dst2, &all).is_err());
        assert!(!dst2.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
