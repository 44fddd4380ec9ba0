// SPDX-License-Identifier: BSD-2-Clause
//! Whether a module's `.ko` is up to date: a stamp next to its objects
//! lists every file the last build read, with its size and modification
//! time, as make(1) compares a target with its prerequisites.
//!
//! The files come from clang's dependency lists (`-MD`: each C source and
//! every header it included) and from the build itself (the Rust static
//! library, the link script, the allowlist the check used, and the xtask
//! binary, which carries kolink). A module is rebuilt when any of them
//! changed or went, when its sources changed, or when its `.ko` is
//! missing.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The stamp's file name in a module's object folder.
const STAMP: &str = "inputs.stamp";

/// The inputs of one module build.
#[derive(Default)]
pub(crate) struct Inputs {
    files: BTreeSet<PathBuf>,
}

impl Inputs {
    /// Adds a file the build reads.
    pub(crate) fn add(&mut self, path: impl Into<PathBuf>) {
        self.files.insert(path.into());
    }

    /// Adds the prerequisites of a clang dependency file (`-MD -MF`).
    pub(crate) fn add_depfile(&mut self, depfile: &Path) -> crate::Result {
        let text =
            std::fs::read_to_string(depfile).map_err(|e| format!("{}: {e}", depfile.display()))?;
        let joined = text.replace("\\\n", " ");
        for rule in joined.lines() {
            // `target: prerequisite...`; spaces in names are escaped.
            let Some((_, deps)) = rule.split_once(": ") else {
                continue;
            };
            for dep in deps.replace("\\ ", "\u{0}").split_whitespace() {
                self.add(dep.replace('\u{0}', " "));
            }
        }
        Ok(())
    }

    /// The stamp text: one line per input, `size mtime path`.
    fn render(&self) -> String {
        let mut out = String::new();
        for path in &self.files {
            let (len, mtime) = identity(path).unwrap_or((0, 0));
            let _ = writeln!(out, "{len} {mtime} {}", path.display());
        }
        out
    }

    /// Records these inputs as those of `obj_dir`'s module.
    pub(crate) fn save(&self, obj_dir: &Path) -> crate::Result {
        let path = obj_dir.join(STAMP);
        std::fs::write(&path, self.render()).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Whether `ko` is newer than every input the last build of `obj_dir`'s
/// module recorded, and that build read every file of `required` (its
/// sources, the static library: a source added since is a change).
pub(crate) fn up_to_date(ko: &Path, obj_dir: &Path, required: &[PathBuf]) -> bool {
    if !ko.is_file() {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(obj_dir.join(STAMP)) else {
        return false;
    };
    let mut recorded = Inputs::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(len), Some(mtime), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let now = identity(Path::new(path));
        if now.map(|(l, m)| (l.to_string(), m.to_string())) != Some((len.into(), mtime.into())) {
            return false;
        }
        recorded.add(path);
    }
    required.iter().all(|r| recorded.files.contains(r))
}

/// A file's size and modification time (nanoseconds since the epoch).
fn identity(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((meta.len(), mtime.as_nanos()))
}

#[cfg(test)]
mod tests {
    use super::{Inputs, up_to_date};

    #[test]
    fn a_changed_missing_or_new_input_makes_the_module_stale() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (src, header, ko) = (root.join("m.c"), root.join("m.h"), root.join("m.ko"));
        std::fs::write(&src, "int x;\n").unwrap();
        std::fs::write(&header, "#define X 1\n").unwrap();
        let depfile = root.join("m.d");
        std::fs::write(
            &depfile,
            format!("m.o: {} \\\n  {}\n", src.display(), header.display()),
        )
        .unwrap();
        let mut inputs = Inputs::default();
        inputs.add_depfile(&depfile).unwrap();
        let required = [src.clone()];
        assert!(!up_to_date(&ko, root, &required), "no .ko yet");
        std::fs::write(&ko, "ko").unwrap();
        assert!(!up_to_date(&ko, root, &required), "no stamp yet");
        inputs.save(root).unwrap();
        assert!(up_to_date(&ko, root, &required));
        // A header the source includes changes (size differs).
        std::fs::write(&header, "#define X 22\n").unwrap();
        assert!(!up_to_date(&ko, root, &required));
        inputs.save(root).unwrap();
        assert!(up_to_date(&ko, root, &required));
        // A source the last build did not read.
        assert!(!up_to_date(&ko, root, &[src.clone(), root.join("new.c")]));
        // An input goes.
        std::fs::remove_file(&header).unwrap();
        assert!(!up_to_date(&ko, root, &required));
    }
}
