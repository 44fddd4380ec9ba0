// SPDX-License-Identifier: BSD-2-Clause
//! `kldsim`: FreeBSD shell commands against one emulated kernel.
//!
//! ```text
//! kldsim [-x] [-m DIR]... [-t NAME=VALUE]... [-c 'CMD; CMD'] [FILE]
//! ```
//!
//! Commands come from `-c`, from `FILE`, or from standard input, one per
//! line or separated by `;`. Each prints what it prints on FreeBSD, with
//! FreeBSD's error messages (`sbin/kldload`, `sbin/kldunload`,
//! `sbin/kldstat`, `sbin/sysctl`, `bin/cat`, `bin/dd`, `bin/ls`, `bin/sh`):
//!
//! * `kldload [-v] PATH`, `kldunload [-fv] [-i ID | -n NAME | NAME | ID]`
//! * `echo [-n] TEXT > /dev/X` (or `>>`), `printf FORMAT [ARG...] > /dev/X`
//! * `cat /dev/X`, `dd if=/dev/X bs=N count=N`, `dd of=/dev/X` (input from
//!   a pipe: `echo TEXT | dd of=/dev/X`, or `if=FILE`)
//! * `sysctl [-n] NAME`, `sysctl NAME=VALUE`
//! * `kldstat [-qv] [-i ID] [-n FILE]`, `kldstat [-q] [-m MODULE]`,
//!   `vmstat -m` (`usr.bin/vmstat`)
//! * `ls -l /dev`, `dmesg`, `true`, `false`, `# comments`
//! * `devinfo [-v]`, `pciconf -l[v]` (`usr.sbin/pciconf`), `devctl
//!   attach|detach|disable|enable|suspend|resume DEVICE`
//!   (`usr.sbin/devctl`); at the end the devices are shut down as at
//!   `shutdown -p` (`DEVICE_SHUTDOWN`; a failure is printed)
//! * `sleep SECONDS` (time passes: callouts fire), `timeout DURATION
//!   COMMAND` (a command still blocked in the kernel when the time is up
//!   is interrupted by a signal, status 124; `usr.bin/timeout`), and
//!   `poll [-t MS] [-r] [-w] /dev/X`, which FreeBSD's shell has not:
//!   `poll(2)` on a device, printing the events or `timeout`
//!
//! A `cat` of a device whose read blocks waits, as on FreeBSD, until
//! data comes or `timeout` ends it.
//!
//! uprintf(9) output appears on standard output, as on the terminal of the
//! process that made the call. The exit status is that of the last command
//! that failed (0 if none did). `-m DIR` adds DIR to `kern.module_path`.
//! `-x` prints each command after a root prompt (`# `) before running it,
//! so the output reads like a session on a FreeBSD console. `-t` sets how
//! the kernel boots, as `loader.conf` would: `kern.osreldate=N` (the
//! running kernel's version, [`Config::osreldate`]) and
//! `debug.link_elf_obj_leak_locals=0|1`
//! ([`Config::link_elf_obj_leak_locals`]).

mod devctl;
mod devinfo;
mod io;
mod kenv;
mod kld;
mod ls;
mod pciconf;
mod printf;
mod sysctl;
mod vmstat;
mod wait;
mod words;

use crate::errno::Error;
use crate::kernel::Kernel;
use crate::state::Config;
use printf::printf1;
use std::io::{Read, Write};
use std::path::PathBuf;
use words::{Cmd, split};

/// The shell's state: one kernel and the output streams.
pub struct Shell<'o> {
    k: Kernel,
    out: &'o mut dyn Write,
    err: &'o mut dyn Write,
    /// Status of the last command that failed.
    pub status: i32,
    /// Print each command before running it, after a root prompt (`-x`).
    pub trace: bool,
    /// The panic was shown on the console already.
    panic_shown: bool,
    /// Set while `timeout` runs a command: once it fired, the command is
    /// being killed and prints no more errors.
    killed: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// The message of an error as FreeBSD's commands print it (`strerror`).
fn errtext(e: &Error) -> String {
    match e {
        Error::Errno(e) => e.message().to_owned(),
        Error::Panic(m) => format!("kernel panicked: {m}"),
    }
}

impl<'o> Shell<'o> {
    /// A shell on a fresh (lenient) kernel.
    pub fn new(out: &'o mut dyn Write, err: &'o mut dyn Write) -> Self {
        Shell::with_config(out, err, Config::default())
    }

    /// A shell on a fresh kernel configured by `cfg`, made lenient (a
    /// violation is reported, not fatal).
    pub fn with_config(out: &'o mut dyn Write, err: &'o mut dyn Write, cfg: Config) -> Self {
        let k = Kernel::with_config(Config {
            strict: false,
            real_time_clock: true,
            ..cfg
        });
        Shell {
            k,
            out,
            err,
            status: 0,
            trace: false,
            panic_shown: false,
            killed: None,
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
        if self
            .killed
            .as_ref()
            .is_some_and(|k| k.load(std::sync::atomic::Ordering::Acquire))
        {
            return;
        }
        drop(self.err.write_all(format!("{s}\n").as_bytes()));
    }

    /// Runs a command given as words (for `timeout`).
    fn run_words(&mut self, words: &[String], capture: bool) -> (i32, Option<Vec<u8>>) {
        let cmd = Cmd {
            words: words.to_vec(),
            redirect: None,
        };
        self.run_cmd(&cmd, None, capture)
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
            self.show_panic();
            if st != 0 {
                self.status = st;
            }
        }
    }

    /// With `-x`: the peak kernel stack use of each entry point into
    /// module code the script reached, as comment lines (module code runs
    /// on a 16 KiB kernel stack; see [`Kernel::stack_usage`]).
    pub fn stack_report(&mut self) {
        let usage = self.k.stack_usage();
        if usage.is_empty() {
            return;
        }
        let mut s = String::from("# kernel stack use: peak bytes, calls, entry point\n");
        for u in usage {
            s.push_str(&format!("# {:>8} {:>6}  {}\n", u.peak, u.calls, u.entry));
        }
        self.say(&s);
    }

    /// When the kernel has just panicked, shows on the standard error
    /// what FreeBSD's console shows: the trap report (`trap_fatal`'s
    /// "Fatal trap 12: page fault while in kernel mode", ...) and the
    /// panic message, from the message buffer.
    fn show_panic(&mut self) {
        if self.panic_shown || self.k.panicked().is_none() {
            return;
        }
        self.panic_shown = true;
        let d = self.k.dmesg();
        let start = ["\n\nFatal trap ", "\nFatal double fault", "panic: "]
            .iter()
            .filter_map(|m| d.rfind(m))
            .min()
            .unwrap_or(0);
        let report = d[start..].trim_matches('\n').to_owned();
        self.warn(&report);
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
            "kenv" => (self.kenv(args), None),
            "vmstat" => (self.vmstat(args), None),
            "devinfo" => (self.devinfo(args), None),
            "devctl" => (self.devctl(args), None),
            "pciconf" => (self.pciconf(args), None),
            "ls" => (self.ls(args), None),
            "dmesg" => {
                let d = self.k.dmesg();
                self.say(&d);
                (0, None)
            }
            "sleep" => (self.sleep(args), None),
            "poll" => (self.poll(args), None),
            "timeout" => self.timeout(args, capture),
            "true" | ":" => (0, None),
            "false" => (1, None),
            other => {
                self.warn(&format!("sh: {other}: not found"));
                (127, None)
            }
        }
    }
}

/// Applies `-t NAME=VALUE` to `cfg`.
fn tunable(cfg: &mut Config, setting: &str) -> Result<(), String> {
    let (name, value) = setting
        .split_once('=')
        .ok_or_else(|| format!("kldsim: -t {setting}: expected NAME=VALUE"))?;
    let bad = || format!("kldsim: -t {setting}: bad value");
    match name {
        "kern.osreldate" => cfg.osreldate = value.parse().map_err(|_| bad())?,
        "debug.link_elf_obj_leak_locals" => {
            cfg.link_elf_obj_leak_locals = match value {
                "0" => false,
                "1" => true,
                _ => return Err(bad()),
            }
        }
        _ => return Err(format!("kldsim: -t {name}: unknown setting")),
    }
    Ok(())
}

/// `kldsim`'s `main`: returns the exit status.
#[must_use]
pub fn main_with_args(args: &[String]) -> i32 {
    let mut script = None;
    let mut file = None;
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut trace = false;
    let mut cfg = Config::default();
    let mut pci = 0usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" => script = it.next().cloned(),
            "-m" => dirs.extend(it.next().map(PathBuf::from)),
            "-t" => {
                if let Err(e) = tunable(&mut cfg, it.next().map_or("", String::as_str)) {
                    eprintln!("{e}");
                    return 2;
                }
            }
            "-x" => trace = true,
            "--pci" => match it.next().map(String::as_str) {
                Some("edu") => pci += 1,
                other => {
                    eprintln!(
                        "kldsim: --pci {}: only edu is modelled",
                        other.unwrap_or("")
                    );
                    return 2;
                }
            },
            "-h" | "--help" => {
                println!(
                    "usage: kldsim [-x] [--pci edu]... [-m DIR]... [-t NAME=VALUE]... \
                     [-c 'CMD; CMD'] [FILE]"
                );
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
    let mut sh = Shell::with_config(&mut out, &mut err, cfg);
    sh.trace = trace;
    for _ in 0..pci {
        sh.kernel().pci_add_edu();
    }
    if !dirs.is_empty() {
        sh.kernel().set_module_path(dirs);
    }
    sh.run_script(&text);
    // The system goes down: bus_generic_shutdown.
    for (dev, e) in sh.kernel().shutdown_devices() {
        eprintln!("kldsim: shutdown: {dev}: DEVICE_SHUTDOWN returned {e}");
    }
    if sh.trace {
        sh.stack_report();
    }
    sh.status
}
