// SPDX-License-Identifier: BSD-2-Clause
//! The stable-only rule, checked: no nightly-only construct anywhere in
//! the repository's sources and build files.
//!
//! Fails on the feature attribute, the bootstrap variable, a `-Z` flag, the
//! standard-library rebuild option, or a
//! custom target JSON (`"llvm-target"` in a `.json` file). Markdown is
//! exempt: documentation may name what the project does not do.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Written with `concat!` so that this file does not match itself.
const FORBIDDEN: &[&str] = &[
    concat!("#![", "feature"),
    concat!("RUSTC_", "BOOTSTRAP"),
    concat!("build", "-std"),
];

/// Scans every file git tracks (plus untracked, unignored files); outside
/// a git checkout, every file but build output and caches.
pub(crate) fn check(root: &Path) -> crate::Result {
    let files = git_files(root).unwrap_or_else(|| {
        let mut files = Vec::new();
        walk(root, &mut files);
        files
    });
    let mut findings = Vec::new();
    for file in &files {
        findings.extend(scan_file(root, file));
    }
    if findings.is_empty() {
        println!(
            "stable-check: {} files, no nightly-only construct",
            files.len()
        );
        Ok(())
    } else {
        Err(format!(
            "nightly-only constructs found:\n{}",
            findings.join("\n")
        ))
    }
}

fn git_files(root: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| root.join(String::from_utf8_lossy(f).as_ref()))
            .collect(),
    )
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let skip = name.to_string_lossy().starts_with('.')
            || ["target", "build"].contains(&&*name.to_string_lossy());
        if skip {
            continue;
        }
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn scan_file(root: &Path, file: &Path) -> Vec<String> {
    let name = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    if file.extension().is_some_and(|e| e == "md") {
        return Vec::new();
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        for pat in FORBIDDEN {
            if line.contains(pat) {
                findings.push(format!("{name}:{lineno}: {pat}: {}", line.trim()));
            }
        }
        if has_z_flag(line) {
            findings.push(format!(
                "{name}:{lineno}: {}: {}",
                concat!("-", "Z flag"),
                line.trim()
            ));
        }
    }
    if file.extension().is_some_and(|e| e == "json") && text.contains("\"llvm-target\"") {
        findings.push(format!("{name}: custom target JSON"));
    }
    findings
}

/// `-Z` followed by a lower-case letter (a `-Z` flag, alone or with a space).
fn has_z_flag(line: &str) -> bool {
    line.match_indices(concat!("-", "Z")).any(|(i, _)| {
        let before_ok = i == 0 || !line[..i].ends_with(|c: char| c.is_ascii_alphanumeric());
        let after = line[i + 2..].trim_start_matches(' ');
        before_ok && after.starts_with(|c: char| c.is_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_construct() {
        let dir = std::env::temp_dir().join(format!("stable-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases = [
            ("a.rs", concat!("#![", "feature(allocator_api)]\n")),
            ("b.toml", concat!("rustflags = [\"-", "Zbuild", "-std\"]\n")),
            ("c.sh", concat!("RUSTC_", "BOOTSTRAP=1 cargo build\n")),
            (
                "d.toml",
                concat!("[unstable]\nbuild", "-std = [\"core\"]\n"),
            ),
            ("e.json", "{ \"llvm-target\": \"x86_64-unknown-none\" }\n"),
            ("f.sh", concat!("cargo -", "Z unstable-options build\n")),
        ];
        for (name, text) in cases {
            let f = dir.join(name);
            std::fs::write(&f, text).unwrap();
            assert!(!scan_file(&dir, &f).is_empty(), "{name} not caught");
        }
        let clean = dir.join("ok.rs");
        std::fs::write(
            &clean,
            concat!("let x = a-", "Zed; // -", "ZZ\nfn f() {}\n"),
        )
        .unwrap();
        assert!(scan_file(&dir, &clean).is_empty());
        let doc = dir.join("README.md");
        std::fs::write(&doc, concat!("No #![", "feature] here.\n")).unwrap();
        assert!(scan_file(&dir, &doc).is_empty(), "markdown is exempt");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
