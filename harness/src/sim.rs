// SPDX-License-Identifier: BSD-2-Clause
//! `kldsim`: FreeBSD shell commands against one emulated kernel.
//!
//! ```text
//! kldsim [-x] [-m DIR]... [-c 'CMD; CMD'] [FILE]
//! ```
//!
//! Commands come from `-c`, from `FILE`, or from standard input, one per
//! line or separated by `;`. Each prints what it prints on FreeBSD, with
//! FreeBSD's error messages (`sbin/kldload`, `sbin/kldunload`,
//! `sbin/kldstat`, `sbin/sysctl`, `bin/cat`, `bin/dd`, `bin/ls`, `bin/sh`):
//!
//! * `kldload [-v] PATH`, `kldunload [-fv] [-i ID | -n NAME | NAME | ID]`,
//!   `kldstat [-v]`
//! * `echo [-n] TEXT > /dev/X` (or `>>`), `printf FORMAT [ARG...] > /dev/X`
//! * `cat /dev/X`, `dd if=/dev/X bs=N count=N`, `dd of=/dev/X` (input from
//!   a pipe: `echo TEXT | dd of=/dev/X`, or `if=FILE`)
//! * `sysctl [-n] NAME`, `sysctl NAME=VALUE`
//! * `ls -l /dev`, `dmesg`, `true`, `false`, `# comments`
//!
//! uprintf(9) output appears on standard output, as on the terminal of the
//! process that made the call. The exit status is that of the last command
//! that failed (0 if none did). `-m DIR` adds DIR to `kern.module_path`.
//! `-x` prints each command after a root prompt (`# `) before running it,
//! so the output reads like a session on a FreeBSD console.

use crate::errno::{Errno, Error};
use crate::kernel::{Config, Kernel};
use crate::kpi::sysctl::SysctlValue;
use crate::loader::KldTarget;
use std::io::{Read, Write};
use std::path::PathBuf;

/// The shell's state: one kernel and the output streams.
pub struct Shell<'o> {
    k: Kernel,
    out: &'o mut dyn Write,
    err: &'o mut dyn Write,
    /// Status of the last command that failed.
    pub status: i32,
    /// Print each command before running it, after a root prompt (`-x`).
    pub trace: bool,
}

/// A command line after word splitting.
struct Cmd {
    words: Vec<String>,
    redirect: Option<(String, bool)>,
}

fn errtext(e: &Error) -> String {
    match e {
        Error::Errno(e) => e.message().to_owned(),
        Error::Panic(m) => format!("kernel panicked: {m}"),
    }
}

/// Splits a line into commands (`;`) and pipelines (`|`), honouring quotes.
fn split(line: &str) -> Vec<Vec<Cmd>> {
    let mut pipelines = Vec::new();
    let mut pipeline: Vec<Cmd> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut redirect: Option<(String, bool)> = None;
    let mut want_target: Option<bool> = None;
    let mut cur = String::new();
    let mut have = false;
    let mut chars = line.chars().peekable();
    let flush_word = |cur: &mut String,
                      have: &mut bool,
                      words: &mut Vec<String>,
                      redirect: &mut Option<(String, bool)>,
                      want: &mut Option<bool>| {
        if *have {
            if let Some(app) = want.take() {
                *redirect = Some((core::mem::take(cur), app));
            } else {
                words.push(core::mem::take(cur));
            }
            *have = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                have = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                have = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(&n) = chars.peek()
                                && matches!(n, '"' | '\\' | '$' | '`')
                            {
                                cur.push(n);
                                chars.next();
                            } else {
                                cur.push('\\');
                            }
                        }
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                have = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '#' if !have => break,
            ' ' | '\t' => flush_word(
                &mut cur,
                &mut have,
                &mut words,
                &mut redirect,
                &mut want_target,
            ),
            '>' => {
                flush_word(
                    &mut cur,
                    &mut have,
                    &mut words,
                    &mut redirect,
                    &mut want_target,
                );
                let append = chars.peek() == Some(&'>');
                if append {
                    chars.next();
                }
                want_target = Some(append);
            }
            ';' | '|' => {
                flush_word(
                    &mut cur,
                    &mut have,
                    &mut words,
                    &mut redirect,
                    &mut want_target,
                );
                if !words.is_empty() {
                    pipeline.push(Cmd {
                        words: core::mem::take(&mut words),
                        redirect: redirect.take(),
                    });
                }
                if c == ';' && !pipeline.is_empty() {
                    pipelines.push(core::mem::take(&mut pipeline));
                }
            }
            _ => {
                have = true;
                cur.push(c);
            }
        }
    }
    flush_word(
        &mut cur,
        &mut have,
        &mut words,
        &mut redirect,
        &mut want_target,
    );
    if !words.is_empty() {
        pipeline.push(Cmd { words, redirect });
    }
    if !pipeline.is_empty() {
        pipelines.push(pipeline);
    }
    pipelines
}

/// printf(1)'s escapes and conversions (`%s`, `%d`, `%x`, `%c`, `%%`).
fn printf1(fmt: &str, args: &[String]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            },
            '%' => {
                let mut spec = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_digit() || n == '-' || n == '.' {
                        spec.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let arg = args.next().cloned().unwrap_or_default();
                let width: usize = spec
                    .trim_start_matches('-')
                    .split('.')
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0);
                let left = spec.starts_with('-');
                let s = match chars.next() {
                    Some('%') => String::from("%"),
                    Some('s') => arg,
                    Some('d' | 'i') => arg.trim().parse::<i64>().unwrap_or(0).to_string(),
                    Some('u') => arg.trim().parse::<u64>().unwrap_or(0).to_string(),
                    Some('x') => format!("{:x}", arg.trim().parse::<u64>().unwrap_or(0)),
                    Some('c') => arg.chars().next().map(String::from).unwrap_or_default(),
                    Some(o) => format!("%{spec}{o}"),
                    None => String::from("%"),
                };
                if s.len() < width {
                    let pad = " ".repeat(width - s.len());
                    if left {
                        out.push_str(&s);
                        out.push_str(&pad);
                    } else {
                        out.push_str(&pad);
                        out.push_str(&s);
                    }
                } else {
                    out.push_str(&s);
                }
            }
            _ => out.push(c),
        }
    }
    out
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

fn parse_size(s: &str) -> Option<usize> {
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1024),
        'm' | 'M' => (&s[..s.len() - 1], 1024 * 1024),
        'b' => (&s[..s.len() - 1], 512),
        _ => (s, 1),
    };
    num.parse::<usize>().ok().map(|n| n * mult)
}

impl<'o> Shell<'o> {
    /// A shell on a fresh (lenient) kernel.
    pub fn new(out: &'o mut dyn Write, err: &'o mut dyn Write) -> Self {
        let k = Kernel::with_config(Config {
            strict: false,
            ..Config::default()
        });
        Shell {
            k,
            out,
            err,
            status: 0,
            trace: false,
        }
    }

    /// The kernel.
    #[must_use]
    pub fn kernel(&self) -> &Kernel {
        &self.k
    }

    fn say(&mut self, s: &str) {
        drop(self.out.write_all(s.as_bytes()));
    }

    fn warn(&mut self, s: &str) {
        drop(self.err.write_all(format!("{s}\n").as_bytes()));
    }

    fn tty(&mut self) {
        let t = self.k.take_tty();
        if !t.is_empty() {
            self.say(&t);
        }
    }

    /// Runs a script (several lines).
    pub fn run_script(&mut self, text: &str) {
        for line in text.lines() {
            self.run_line(line);
        }
    }

    /// Runs one line.
    pub fn run_line(&mut self, line: &str) {
        if self.trace && !line.trim().is_empty() {
            let shown = line.trim();
            if shown.starts_with('#') {
                self.say(&format!("{shown}\n"));
            } else {
                self.say(&format!("# {shown}\n"));
            }
        }
        for pipeline in split(line) {
            let st = self.run_pipeline(pipeline);
            self.tty();
            if st != 0 {
                self.status = st;
            }
        }
    }

    fn run_pipeline(&mut self, p: Vec<Cmd>) -> i32 {
        let mut input: Option<Vec<u8>> = None;
        let n = p.len();
        let mut st = 0;
        for (i, cmd) in p.into_iter().enumerate() {
            let last = i + 1 == n;
            let (s, produced) = self.run_cmd(&cmd, input.take(), !last);
            st = s;
            input = produced;
        }
        st
    }

    /// Runs a command; with `capture`, its standard output is returned
    /// for the next command of a pipeline.
    fn run_cmd(
        &mut self,
        cmd: &Cmd,
        input: Option<Vec<u8>>,
        capture: bool,
    ) -> (i32, Option<Vec<u8>>) {
        let Some(name) = cmd.words.first() else {
            return (0, None);
        };
        let args = &cmd.words[1..];
        match name.as_str() {
            "echo" | "printf" => {
                let text = if name == "echo" {
                    let (nl, rest) = if args.first().is_some_and(|a| a == "-n") {
                        (false, &args[1..])
                    } else {
                        (true, args)
                    };
                    let mut t = rest.join(" ");
                    if nl {
                        t.push('\n');
                    }
                    t
                } else {
                    printf1(
                        args.first().map_or("", String::as_str),
                        args.get(1..).unwrap_or_default(),
                    )
                };
                self.emit(name, text.into_bytes(), cmd.redirect.as_ref(), capture)
            }
            "cat" => self.cat(args, capture),
            "dd" => self.dd(args, input, capture),
            "kldload" => (self.kldload(args), None),
            "kldunload" => (self.kldunload(args), None),
            "kldstat" => (self.kldstat(args), None),
            "sysctl" => (self.sysctl(args), None),
            "ls" => (self.ls(args), None),
            "dmesg" => {
                let d = self.k.dmesg();
                self.say(&d);
                (0, None)
            }
            "true" | ":" => (0, None),
            "false" => (1, None),
            other => {
                self.warn(&format!("sh: {other}: not found"));
                (127, None)
            }
        }
    }

    /// Writes command output to stdout, a pipe or a redirection target.
    fn emit(
        &mut self,
        name: &str,
        data: Vec<u8>,
        redirect: Option<&(String, bool)>,
        capture: bool,
    ) -> (i32, Option<Vec<u8>>) {
        match redirect {
            None if capture => (0, Some(data)),
            None => {
                drop(self.out.write_all(&data));
                (0, None)
            }
            Some((path, append)) => {
                let flags = crate::O_WRONLY | if *append { sys::O_APPEND } else { 0 };
                let fd = match self.k.open(path, flags) {
                    Ok(fd) => fd,
                    Err(e) => {
                        self.warn(&format!("sh: cannot create {path}: {}", errtext(&e)));
                        return (2, None);
                    }
                };
                let r = self.k.write(fd, &data);
                let c = self.k.close(fd);
                match r.and(c) {
                    Ok(()) | Err(_) if false => (0, None),
                    Ok(()) => (0, None),
                    Err(e) => {
                        self.warn(&format!("{name}: write error: {}", errtext(&e)));
                        (1, None)
                    }
                }
            }
        }
    }

    fn cat(&mut self, args: &[String], capture: bool) -> (i32, Option<Vec<u8>>) {
        let mut st = 0;
        let mut captured = Vec::new();
        for path in args {
            let fd = match self.k.open(path, crate::O_RDONLY) {
                Ok(fd) => fd,
                Err(e) => {
                    self.warn(&format!("cat: {path}: {}", errtext(&e)));
                    st = 1;
                    continue;
                }
            };
            let mut buf = vec![0u8; 4096];
            loop {
                match self.k.read(fd, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if capture {
                            captured.extend_from_slice(&buf[..n]);
                        } else {
                            drop(self.out.write_all(&buf[..n]));
                        }
                    }
                    Err(e) => {
                        self.warn(&format!("cat: {path}: {}", errtext(&e)));
                        st = 1;
                        break;
                    }
                }
            }
            drop(self.k.close(fd));
        }
        (st, capture.then_some(captured))
    }

    fn dd(
        &mut self,
        args: &[String],
        input: Option<Vec<u8>>,
        capture: bool,
    ) -> (i32, Option<Vec<u8>>) {
        let mut ifile = None;
        let mut ofile = None;
        let mut bs = 512usize;
        let mut count = None;
        for a in args {
            let Some((key, v)) = a.split_once('=') else {
                self.warn(&format!("dd: unknown operand {a}"));
                return (1, None);
            };
            match key {
                "if" => ifile = Some(v.to_owned()),
                "of" => ofile = Some(v.to_owned()),
                "bs" | "ibs" | "obs" => match parse_size(v) {
                    Some(n) if n > 0 => bs = n,
                    _ => {
                        self.warn(&format!("dd: {key}: illegal numeric value"));
                        return (1, None);
                    }
                },
                "count" => count = v.parse::<usize>().ok(),
                _ => {
                    self.warn(&format!("dd: unknown operand {key}"));
                    return (1, None);
                }
            }
        }
        let start = std::time::Instant::now();
        // Input records.
        let mut records: Vec<Vec<u8>> = Vec::new();
        let (mut full_in, mut part_in) = (0u64, 0u64);
        match &ifile {
            Some(p) if p.starts_with("/dev/") => {
                let fd = match self.k.open(p, crate::O_RDONLY) {
                    Ok(fd) => fd,
                    Err(e) => {
                        self.warn(&format!("dd: {p}: {}", errtext(&e)));
                        return (1, None);
                    }
                };
                let mut buf = vec![0u8; bs];
                while count.is_none_or(|c| records.len() < c) {
                    match self.k.read(fd, &mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            if n == bs {
                                full_in += 1
                            } else {
                                part_in += 1
                            }
                            records.push(buf[..n].to_vec());
                        }
                        Err(e) => {
                            self.warn(&format!("dd: {p}: {}", errtext(&e)));
                            drop(self.k.close(fd));
                            return (1, None);
                        }
                    }
                }
                drop(self.k.close(fd));
            }
            other => {
                let data = match other {
                    Some(p) => match std::fs::read(p) {
                        Ok(d) => d,
                        Err(e) => {
                            self.warn(&format!("dd: {p}: {e}"));
                            return (1, None);
                        }
                    },
                    None => input.unwrap_or_default(),
                };
                for c in data.chunks(bs) {
                    if count.is_some_and(|n| records.len() >= n) {
                        break;
                    }
                    if c.len() == bs {
                        full_in += 1
                    } else {
                        part_in += 1
                    }
                    records.push(c.to_vec());
                }
            }
        }
        let (mut full_out, mut part_out, mut bytes) = (0u64, 0u64, 0u64);
        let mut captured = Vec::new();
        match &ofile {
            Some(p) if p.starts_with("/dev/") => {
                let fd = match self.k.open(p, crate::O_WRONLY) {
                    Ok(fd) => fd,
                    Err(e) => {
                        self.warn(&format!("dd: {p}: {}", errtext(&e)));
                        return (1, None);
                    }
                };
                for r in &records {
                    match self.k.write(fd, r) {
                        Ok(n) => {
                            if n == bs {
                                full_out += 1
                            } else {
                                part_out += 1
                            }
                            bytes += n as u64;
                        }
                        Err(e) => {
                            self.warn(&format!("dd: {p}: {}", errtext(&e)));
                            drop(self.k.close(fd));
                            return (1, None);
                        }
                    }
                }
                drop(self.k.close(fd));
            }
            _ => {
                for r in &records {
                    if r.len() == bs {
                        full_out += 1
                    } else {
                        part_out += 1
                    }
                    bytes += r.len() as u64;
                    if capture {
                        captured.extend_from_slice(r);
                    } else {
                        drop(self.out.write_all(r));
                    }
                }
            }
        }
        let secs = start.elapsed().as_secs_f64().max(1e-6);
        self.warn(&format!(
            "{full_in}+{part_in} records in\n{full_out}+{part_out} records out\n{bytes} bytes transferred in {secs:.6} secs ({:.0} bytes/sec)",
            bytes as f64 / secs
        ));
        (0, capture.then_some(captured))
    }

    fn kldload(&mut self, args: &[String]) -> i32 {
        let mut verbose = false;
        let mut errors = 0;
        for a in args {
            if a == "-v" {
                verbose = true;
                continue;
            }
            if a == "-q" {
                continue;
            }
            // path_check (sbin/kldload/kldload.c): a bare "x.ko" in the
            // current directory must be in the module path.
            if !a.contains('/') && a.contains(".ko") && std::path::Path::new(a).exists() {
                self.warn(&format!("kldload: {a} is not in the module path"));
                errors += 1;
                continue;
            }
            match self.k.kldload(a) {
                Ok(id) => {
                    if verbose {
                        self.say(&format!("Loaded {a}, id={id}\n"));
                    }
                }
                Err(Error::Errno(Errno::EEXIST)) => {
                    self.warn(&format!(
                        "kldload: can't load {a}: module already loaded or in kernel"
                    ));
                    errors += 1;
                }
                Err(Error::Errno(Errno::ENOEXEC)) => {
                    self.warn(&format!(
                        "kldload: an error occurred while loading module {a}. Please check dmesg(8) for more details."
                    ));
                    errors += 1;
                }
                Err(e) => {
                    self.warn(&format!("kldload: can't load {a}: {}", errtext(&e)));
                    errors += 1;
                }
            }
        }
        if args.iter().all(|a| a.starts_with('-')) {
            self.warn("usage: kldload [-qv] file ...");
            return 1;
        }
        i32::from(errors > 0)
    }

    fn kldunload(&mut self, args: &[String]) -> i32 {
        let (mut force, mut verbose, mut by_id, mut by_name) = (false, false, false, false);
        let mut rest = Vec::new();
        for a in args {
            match a.as_str() {
                "-f" => force = true,
                "-v" => verbose = true,
                "-i" => by_id = true,
                "-n" => by_name = true,
                s if s.starts_with('-') && s.len() > 1 => {
                    for c in s[1..].chars() {
                        match c {
                            'f' => force = true,
                            'v' => verbose = true,
                            'i' => by_id = true,
                            'n' => by_name = true,
                            _ => {
                                self.warn("usage: kldunload [-fv] -i id ...\n       kldunload [-fv] [-n] name ...");
                                return 1;
                            }
                        }
                    }
                }
                _ => rest.push(a.clone()),
            }
        }
        if rest.is_empty() {
            self.warn("usage: kldunload [-fv] -i id ...\n       kldunload [-fv] [-n] name ...");
            return 1;
        }
        for a in rest {
            let numeric = a.parse::<i32>().ok();
            let id = if by_id || (numeric.is_some() && !by_name) {
                match numeric {
                    Some(id) if id >= 0 => id,
                    _ => {
                        self.warn(&format!("kldunload: Invalid ID {a}"));
                        return 1;
                    }
                }
            } else {
                let base = a.rsplit('/').next().unwrap_or(&a).to_owned();
                match self
                    .k
                    .kldstat()
                    .iter()
                    .find(|s| s.name == base || s.name == format!("{base}.ko"))
                {
                    Some(s) => s.id,
                    None => {
                        self.warn(&format!("kldunload: can't find file {a}"));
                        return 1;
                    }
                }
            };
            if verbose {
                match self.k.kldstat().iter().find(|s| s.id == id) {
                    Some(s) => {
                        let n = s.name.clone();
                        self.say(&format!("Unloading {n}, id={id}\n"));
                    }
                    None => {
                        self.warn("kldunload: can't stat file: No such file or directory");
                        return 1;
                    }
                }
            }
            if let Err(e) = self.k.kldunload(KldTarget::Id(id), force) {
                self.tty();
                self.warn(&format!("kldunload: can't unload file: {}", errtext(&e)));
                return 1;
            }
        }
        0
    }

    fn kldstat(&mut self, args: &[String]) -> i32 {
        let verbose = args.iter().any(|a| a == "-v");
        let mut s = format!("Id Refs Address{:>11} {:>8} Name\n", ' ', "Size");
        for f in self.k.kldstat() {
            s.push_str(&format!(
                "{:2} {:4} {:>18} {:8x} {}",
                f.id,
                f.refs,
                format!("{:#x}", f.address),
                f.size,
                f.name
            ));
            if verbose {
                s.push_str(&format!(" ({})", f.pathname));
            }
            s.push('\n');
        }
        self.say(&s);
        0
    }

    fn sysctl_print(&mut self, name: &str, value_only: bool) -> Result<(), Error> {
        match self.k.sysctl_get(name)? {
            SysctlValue::Node(children) => {
                for c in children {
                    let full = format!("{name}.{c}");
                    self.sysctl_print(&full, value_only)?;
                }
                Ok(())
            }
            v => {
                if value_only {
                    self.say(&format!("{v}\n"));
                } else {
                    self.say(&format!("{name}: {v}\n"));
                }
                Ok(())
            }
        }
    }

    fn sysctl(&mut self, args: &[String]) -> i32 {
        let value_only = args.iter().any(|a| a == "-n");
        let mut st = 0;
        for a in args.iter().filter(|a| !a.starts_with('-')) {
            if let Some((name, value)) = a.split_once('=') {
                let old = match self.k.sysctl_get(name) {
                    Ok(SysctlValue::Node(_)) => {
                        self.warn(&format!("sysctl: oid '{name}' isn't a leaf node"));
                        st = 1;
                        continue;
                    }
                    Ok(v) => v,
                    Err(Error::Errno(Errno::ENOENT)) => {
                        self.warn(&format!("sysctl: unknown oid '{name}'"));
                        st = 1;
                        continue;
                    }
                    Err(e) => {
                        self.warn(&format!("sysctl: {name}: {}", errtext(&e)));
                        st = 1;
                        continue;
                    }
                };
                match self.k.sysctl_set(name, value) {
                    Ok(()) => {
                        let new = self
                            .k
                            .sysctl_get(name)
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        if value_only {
                            self.say(&format!("{old} -> {new}\n"));
                        } else {
                            self.say(&format!("{name}: {old} -> {new}\n"));
                        }
                    }
                    Err(Error::Errno(Errno::EPERM)) if self.k.cred().is_root() => {
                        self.warn(&format!("sysctl: oid '{name}' is read only"));
                        st = 1;
                    }
                    Err(Error::Errno(Errno::EINVAL))
                        if matches!(old, SysctlValue::Int(_) | SysctlValue::Uint(_))
                            && value.trim().parse::<i128>().is_err() =>
                    {
                        self.warn(&format!("sysctl: invalid integer '{value}'"));
                        st = 1;
                    }
                    Err(e) => {
                        self.warn(&format!("sysctl: {name}={value}: {}", errtext(&e)));
                        st = 1;
                    }
                }
            } else if let Err(e) = self.sysctl_print(a, value_only) {
                match e {
                    Error::Errno(Errno::ENOENT) => self.warn(&format!("sysctl: unknown oid '{a}'")),
                    e => self.warn(&format!("sysctl: {a}: {}", errtext(&e))),
                }
                st = 1;
            }
        }
        st
    }

    fn ls(&mut self, args: &[String]) -> i32 {
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
                format!(
                    "{}  1 {:<5} {:<5} {:#x} Jan  1 00:00 {dir}\n",
                    mode_string(d.mode),
                    owner(d.uid),
                    group(d.gid),
                    0x40 + minor
                )
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
            entries.push((
                rel.clone(),
                format!(
                    "{}  1 {:<5} {:<5} {:#x} Jan  1 00:00 {rel}",
                    mode_string(d.mode),
                    owner(d.uid),
                    group(d.gid),
                    0x40 + minor
                ),
            ));
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

/// `kldsim`'s `main`: returns the exit status.
#[must_use]
pub fn main_with_args(args: &[String]) -> i32 {
    let mut script = None;
    let mut file = None;
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut trace = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" => script = it.next().cloned(),
            "-m" => dirs.extend(it.next().map(PathBuf::from)),
            "-x" => trace = true,
            "-h" | "--help" => {
                println!("usage: kldsim [-x] [-m DIR]... [-c 'CMD; CMD'] [FILE]");
                return 0;
            }
            _ => file = Some(a.clone()),
        }
    }
    let text = match (script, file) {
        (Some(s), _) => s,
        (None, Some(f)) => match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("kldsim: {f}: {e}");
                return 2;
            }
        },
        (None, None) => {
            let mut t = String::new();
            drop(std::io::stdin().read_to_string(&mut t));
            t
        }
    };
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let mut sh = Shell::new(&mut out, &mut err);
    sh.trace = trace;
    if !dirs.is_empty() {
        sh.kernel().set_module_path(dirs);
    }
    sh.run_script(&text);
    sh.status
}
