// SPDX-License-Identifier: BSD-2-Clause
//! `ls [-l] /dev[/DIR]`: the device nodes, listed as ls(1) lists devfs.

use super::Shell;
use crate::DevEntry;

impl Shell<'_> {
    pub(super) fn ls(&mut self, args: &[String]) -> i32 {
        let dir = args
            .iter()
            .find(|a| !a.starts_with('-'))
            .cloned()
            .unwrap_or_else(|| String::from("/dev"));
        let prefix = dir
            .trim_end_matches('/')
            .strip_prefix("/dev")
            .map(|p| p.trim_start_matches('/').to_owned());
        let Some(prefix) = prefix else {
            self.warn(&format!("ls: {dir}: No such file or directory"));
            return 1;
        };
        let long = args.iter().any(|a| a.starts_with('-') && a.contains('l'));
        // A device named directly is listed alone, under the name given
        // (`ls -l /dev/rustmodule`), as ls(1) lists a file operand.
        let devices = self.k.devices();
        if let Some((minor, d)) = devices.iter().enumerate().find(|(_, d)| d.name == prefix) {
            let line = if long {
                format!("{}\n", long_line(d, minor, &dir))
            } else {
                format!("{dir}\n")
            };
            self.say(&line);
            return 0;
        }
        let mut entries: Vec<(String, String)> = Vec::new();
        for (minor, d) in devices.into_iter().enumerate() {
            let rel = if prefix.is_empty() {
                d.name.clone()
            } else if let Some(r) = d.name.strip_prefix(&format!("{prefix}/")) {
                r.to_owned()
            } else {
                continue;
            };
            if let Some((top, _)) = rel.split_once('/') {
                if !entries.iter().any(|(n, _)| n == top) {
                    entries.push((
                        top.to_owned(),
                        format!("dr-xr-xr-x  2 root  wheel  512 Jan  1 00:00 {top}"),
                    ));
                }
                continue;
            }
            let line = long_line(&d, minor, &rel);
            entries.push((rel, line));
        }
        if entries.is_empty() && !prefix.is_empty() {
            self.warn(&format!("ls: {dir}: No such file or directory"));
            return 1;
        }
        entries.sort();
        let mut s = String::new();
        if long {
            s.push_str("total 0\n");
        }
        for (name, line) in entries {
            s.push_str(if long { &line } else { &name });
            s.push('\n');
        }
        self.say(&s);
        0
    }
}

/// The `ls -l` line of device `d`, the `minor`th, shown as `name`.
fn long_line(d: &DevEntry, minor: usize, name: &str) -> String {
    format!(
        "{}  1 {:<5} {:<5} {:#x} Jan  1 00:00 {name}",
        mode_string(d.mode),
        owner(d.uid),
        group(d.gid),
        0x40 + minor
    )
}

fn owner(uid: u32) -> String {
    match uid {
        0 => String::from("root"),
        n => n.to_string(),
    }
}

fn group(gid: u32) -> String {
    match gid {
        0 => String::from("wheel"),
        5 => String::from("operator"),
        n => n.to_string(),
    }
}

fn mode_string(mode: u32) -> String {
    let mut s = String::from("c");
    for shift in [6, 3, 0] {
        let b = (mode >> shift) & 7;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        s.push(if b & 1 != 0 { 'x' } else { '-' });
    }
    s
}
