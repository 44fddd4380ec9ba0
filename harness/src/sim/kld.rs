// SPDX-License-Identifier: BSD-2-Clause
//! `kldload`, `kldunload` and `kldstat` (`sbin/kldload`, `sbin/kldunload`,
//! `sbin/kldstat`).

use super::{Shell, errtext};
use crate::errno::{Errno, Error};
use crate::loader::KldTarget;

impl Shell<'_> {
    pub(super) fn kldload(&mut self, args: &[String]) -> i32 {
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
            let logged = self.k.dmesg().len();
            let result = self.k.kldload(a);
            match &result {
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
                    self.warn(&format!("kldload: can't load {a}: {}", errtext(e)));
                    errors += 1;
                }
            }
            if matches!(result, Err(Error::Errno(Errno::ENOENT))) {
                self.why_not_loaded(logged);
            }
        }
        if args.iter().all(|a| a.starts_with('-')) {
            self.warn("usage: kldload [-qv] file ...");
            return 1;
        }
        i32::from(errors > 0)
    }

    /// After a load that failed with `ENOENT`: the kernel's messages since
    /// byte `logged` of the message buffer, which say why. FreeBSD's
    /// kldload(8) prints a bare "No such file or directory" for a missing
    /// symbol or dependency as for a missing file (`link_elf_obj.c`'s
    /// relocation and `kern_linker.c`'s `linker_load_dependencies` fail
    /// with `ENOENT` and explain in dmesg); kldsim shows the explanation at
    /// once, marked as its own. (For `ENOEXEC` kldload(8) already says to
    /// read dmesg.)
    fn why_not_loaded(&mut self, logged: usize) {
        let dmesg = self.k.dmesg();
        let new = dmesg.get(logged..).unwrap_or_default();
        for line in new.lines().filter(|l| !l.is_empty()) {
            self.warn(&format!("kldsim: dmesg: {line}"));
        }
    }

    pub(super) fn kldunload(&mut self, args: &[String]) -> i32 {
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

    /// `kldstat [-qv] [-i id] [-n filename]`, `kldstat [-q] [-m modname]`
    /// (`sbin/kldstat/kldstat.c`: `printfile`, `printmod`).
    pub(super) fn kldstat(&mut self, args: &[String]) -> i32 {
        let (mut verbose, mut quiet) = (false, false);
        let (mut id, mut file, mut module) = (None, None, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
                return self.kldstat_usage();
            };
            for (i, c) in flags.char_indices() {
                // getopt: an option's argument is the rest of the word or
                // the next word.
                let mut optarg = || {
                    let rest = &flags[i + c.len_utf8()..];
                    if rest.is_empty() {
                        it.next().cloned()
                    } else {
                        Some(rest.to_owned())
                    }
                };
                match c {
                    'v' => verbose = true,
                    'q' => quiet = true,
                    'i' => match optarg().and_then(|v| v.parse::<i32>().ok()) {
                        Some(v) => id = Some(v),
                        None => return self.kldstat_usage(),
                    },
                    'n' => match optarg() {
                        Some(v) => file = Some(v),
                        None => return self.kldstat_usage(),
                    },
                    'm' => match optarg() {
                        Some(v) => module = Some(v),
                        None => return self.kldstat_usage(),
                    },
                    _ => return self.kldstat_usage(),
                }
                if matches!(c, 'i' | 'n' | 'm') {
                    break;
                }
            }
        }
        let mods = self.k.modstat();
        if let Some(name) = module {
            let Some(m) = mods.iter().find(|m| m.name == name) else {
                if !quiet {
                    self.warn(&format!(
                        "kldstat: can't find module {name}: No such file or directory"
                    ));
                }
                return 1;
            };
            if !quiet {
                // A module's reference count starts at 1 (module_register)
                // and only module_reference, not emulated, raises it.
                self.say(&format!("Id  Refs Name\n{:3} {:4} {}\n", m.id, 1, m.name));
            }
            return 0;
        }
        let files = self.k.kldstat();
        if let Some(name) = file {
            let base = name.rsplit('/').next().unwrap_or(&name).to_owned();
            let found = files
                .iter()
                .find(|f| f.name == base || f.name == format!("{base}.ko"));
            let Some(f) = found else {
                if !quiet {
                    self.warn(&format!(
                        "kldstat: can't find file {name}: No such file or directory"
                    ));
                }
                return 1;
            };
            if quiet {
                return 0;
            }
            id = Some(f.id);
        }
        let mut s = format!("Id Refs Address{:>11} {:>8} Name\n", ' ', "Size");
        let shown: Vec<_> = match id {
            Some(id) => match files.iter().find(|f| f.id == id) {
                Some(f) => vec![f.clone()],
                None => {
                    self.say(&s);
                    self.warn(&format!(
                        "kldstat: can't stat file id {id}: No such file or directory"
                    ));
                    return 1;
                }
            },
            None => files,
        };
        for f in shown {
            s.push_str(&format!(
                "{:2} {:4} {:>18} {:8x} {}",
                f.id,
                f.refs,
                format!("{:#x}", f.address),
                f.size,
                f.name
            ));
            if verbose {
                // The kernel's own modules are not emulated: its list is
                // empty here.
                s.push_str(&format!(
                    " ({})\n\tContains modules:\n\t\t Id Name\n",
                    f.pathname
                ));
                for m in mods.iter().filter(|m| m.file == f.id) {
                    s.push_str(&format!("\t\t{:3} {}\n", m.id, m.name));
                }
            } else {
                s.push('\n');
            }
        }
        self.say(&s);
        0
    }

    fn kldstat_usage(&mut self) -> i32 {
        self.warn(
            "usage: kldstat [-dhqv] [-i id] [-n filename]\n       kldstat [-dq] [-m modname]",
        );
        1
    }
}
