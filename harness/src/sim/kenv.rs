// SPDX-License-Identifier: BSD-2-Clause
//! `kenv` (`usr.bin/kenv/kenv.c`): list the kernel environment, print a
//! variable, set one (`name=value`, printed back as `name="value"`), or
//! remove one (`-u`). A failure prints "unable to get/unset NAME" and the
//! status is `main`'s `return (error)` of -1: 255.

use super::Shell;

impl Shell<'_> {
    pub(super) fn kenv(&mut self, args: &[String]) -> i32 {
        let unset = args.iter().any(|a| a == "-u");
        let quiet = args.iter().any(|a| a == "-q");
        let verbose = args.iter().any(|a| a == "-v");
        let Some(var) = args.iter().find(|a| !a.starts_with('-')) else {
            for (n, v) in self.k.kenv_list() {
                self.say(&format!("{n}=\"{v}\"\n"));
            }
            return 0;
        };
        if let Some((name, value)) = var.split_once('=') {
            self.k.kenv_set(name, value);
            self.say(&format!("{name}=\"{value}\"\n"));
            return 0;
        }
        if unset {
            if self.k.kenv_unset(var).is_ok() {
                return 0;
            }
            if !quiet {
                self.warn(&format!("kenv: unable to unset {var}"));
            }
            return 255;
        }
        match self.k.kenv_get(var) {
            Some(v) if verbose => self.say(&format!("{var}=\"{v}\"\n")),
            Some(v) => self.say(&format!("{v}\n")),
            None => {
                if !quiet {
                    self.warn(&format!("kenv: unable to get {var}"));
                }
                return 255;
            }
        }
        0
    }
}
