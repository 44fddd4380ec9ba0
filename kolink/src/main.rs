// SPDX-License-Identifier: BSD-2-Clause
//! The `kolink` command: post-link fix-up, checks and size report for
//! FreeBSD kernel modules (`.ko`). See the library documentation for what
//! each subcommand does and which FreeBSD sources it follows.
//!
//! Exit status: 0 on success, 1 if the operation failed or `check` found
//! problems, 2 on a usage error. `panic-paths` is a report: it exits 0
//! whether or not paths exist, 1 only if the module cannot be read.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use kolink::{Allowlist, FixOptions, ReachOptions};
use lexopt::prelude::*;

const USAGE: &str = "\
usage: kolink fix IN -o OUT [--no-relax] [--export NAME]... [-q|--quiet]
       kolink check KO --allowlist FILE [--export NAME]...
       kolink size KO...
       kolink panic-paths KO [--entry [CLASS=]PATTERN]... [--no-fmt-kind] [--json]
       kolink --help | --version

  fix    make an `ld -r` output loadable by the FreeBSD kernel linker:
         rewrite GOT relocations, make defined symbols local but the
         --export ones (an arm64 object: localize only, before the
         shared link)
  check  verify relocation types, undefined symbols (against FILE),
         no FPU/SIMD instructions, no TLS, module metadata; lists all
         problems and exits 1 if there are any. An arm64 (ET_DYN) module
         gets the arm64 checks: relocation types, no x18 write, no
         FP/SIMD, linker-set bounds, only the --export symbols global
  size   print text/rodata/data/bss/total sizes and the number of
         kernel symbols each module binds
  panic-paths
         report every call path from the module's entry points to the
         panic machinery (conservative: indirect calls may reach any
         address-taken function). Entries: kmod_modevent and cdev
         read/write/ioctl/open/close/dtor methods, then other address-taken
         functions. --entry CLASS=PATTERN replaces CLASS's default patterns
         (CLASS: read write ioctl open close modevent other); a bare PATTERN
         adds an `other` root; `*` matches anything in a demangled name.
         --no-fmt-kind lets indirect calls in core::fmt reach any
         address-taken function. Exits 0 whether or not paths exist
";

/// A command-line failure: bad usage (exit 2) or a failed operation (1).
enum CliError {
    Usage(String),
    Run(kolink::Error),
}

impl From<lexopt::Error> for CliError {
    fn from(e: lexopt::Error) -> Self {
        Self::Usage(e.to_string())
    }
}

impl From<kolink::Error> for CliError {
    fn from(e: kolink::Error) -> Self {
        Self::Run(e)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(msg) => f.write_str(msg),
            Self::Run(e) => e.fmt(f),
        }
    }
}

fn main() -> ExitCode {
    match run(lexopt::Parser::from_env()) {
        Ok(code) => code,
        Err(e @ CliError::Usage(_)) => {
            eprintln!("kolink: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("kolink: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: lexopt::Parser) -> Result<ExitCode, CliError> {
    let command = match args.next()? {
        Some(Value(cmd)) => cmd.string()?,
        Some(Long("help") | Short('h')) => {
            print!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(Long("version") | Short('V')) => {
            println!("kolink {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Some(other) => return Err(other.unexpected().into()),
        None => return Err(CliError::Usage("missing subcommand".into())),
    };
    match command.as_str() {
        "fix" => cmd_fix(args),
        "check" => cmd_check(args),
        "size" => cmd_size(args),
        "panic-paths" => cmd_panic_paths(args),
        "help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(CliError::Usage(format!("unknown subcommand `{other}`"))),
    }
}

/// Stores a positional path, rejecting a second one.
fn one_path(slot: &mut Option<PathBuf>, value: OsString, what: &str) -> Result<(), CliError> {
    if slot.is_some() {
        return Err(CliError::Usage(format!(
            "more than one {what} given: {}",
            value.to_string_lossy()
        )));
    }
    *slot = Some(PathBuf::from(value));
    Ok(())
}

fn cmd_fix(mut args: lexopt::Parser) -> Result<ExitCode, CliError> {
    let mut input = None;
    let mut output = None;
    let mut options = FixOptions::default();
    let mut quiet = false;
    while let Some(arg) = args.next()? {
        match arg {
            Short('o') | Long("output") => one_path(&mut output, args.value()?, "output")?,
            Long("no-relax") => options.relax = false,
            Long("export") => options.exports.push(args.value()?.string()?),
            Short('q') | Long("quiet") => quiet = true,
            Value(v) => one_path(&mut input, v, "input")?,
            other => return Err(other.unexpected().into()),
        }
    }
    let input = input.ok_or_else(|| CliError::Usage("fix: missing input file".into()))?;
    let output = output.ok_or_else(|| CliError::Usage("fix: missing -o OUT".into()))?;
    let data = std::fs::read(&input).map_err(|source| kolink::Error::Io {
        path: input.clone(),
        source,
    })?;
    let report = if kolink::arm64::is_relocatable_arm64(&data) {
        let fixed = kolink::arm64::fix(&data, &options)?;
        std::fs::write(&output, &fixed.object).map_err(|source| kolink::Error::Io {
            path: output.clone(),
            source,
        })?;
        fixed.report
    } else {
        kolink::fix_file_with(&input, &output, &options)?
    };
    if !quiet {
        println!("kolink fix {}: {report}", output.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_check(mut args: lexopt::Parser) -> Result<ExitCode, CliError> {
    let mut ko = None;
    let mut allowlist = None;
    let mut exports = Vec::new();
    while let Some(arg) = args.next()? {
        match arg {
            Long("allowlist") => one_path(&mut allowlist, args.value()?, "allowlist")?,
            Long("export") => exports.push(args.value()?.string()?),
            Value(v) => one_path(&mut ko, v, "module")?,
            other => return Err(other.unexpected().into()),
        }
    }
    let ko = ko.ok_or_else(|| CliError::Usage("check: missing module file".into()))?;
    let allowlist =
        allowlist.ok_or_else(|| CliError::Usage("check: missing --allowlist FILE".into()))?;
    let allowlist = Allowlist::from_file(&allowlist)?;
    let data = std::fs::read(&ko).map_err(|source| kolink::Error::Io {
        path: ko.clone(),
        source,
    })?;
    if kolink::arm64::is_arm64(&data) {
        return check_arm64(&ko, &data, &allowlist, &exports);
    }
    let report = kolink::check_report_file(&ko, &allowlist)?;
    let name = ko.display();
    if report.is_ok() {
        println!("{name}: ok{}", summary(&report));
        return Ok(ExitCode::SUCCESS);
    }
    for failure in &report.failures {
        eprintln!("{name}: {failure}");
    }
    eprintln!("{name}: {} problem(s)", report.failures.len());
    Ok(ExitCode::FAILURE)
}

/// `check` of an arm64 module, alone (no peer's exports resolve).
fn check_arm64(
    ko: &std::path::Path,
    data: &[u8],
    allowlist: &Allowlist,
    exports: &[String],
) -> Result<ExitCode, CliError> {
    let peers = std::collections::BTreeSet::new();
    let cx = kolink::arm64::Arm64Context {
        allowlist,
        exports,
        peer_exports: &peers,
    };
    let failures = kolink::arm64::check(data, &cx)?;
    let name = ko.display();
    if failures.is_empty() {
        println!("{name}: ok (arm64)");
        return Ok(ExitCode::SUCCESS);
    }
    for failure in &failures {
        eprintln!("{name}: {failure}");
    }
    eprintln!("{name}: {} problem(s)", failures.len());
    Ok(ExitCode::FAILURE)
}

/// ` (module echo, kernel 1500000..1599999, 12 kernel symbols)`.
fn summary(report: &kolink::CheckReport) -> String {
    let mut parts = Vec::new();
    if let Some(md) = &report.metadata {
        let names: Vec<&str> = md.modules.iter().map(|m| m.name.as_str()).collect();
        if !names.is_empty() {
            parts.push(format!("module {}", names.join(", ")));
        }
        if let Some(k) = md.kernel_dependency() {
            parts.push(format!("kernel {}..{}", k.minimum, k.maximum));
        }
    }
    let kernel = report
        .undefined
        .iter()
        .filter(|s| s.is_kernel_symbol())
        .count();
    parts.push(format!("{kernel} kernel symbol(s)"));
    format!(" ({})", parts.join(", "))
}

fn cmd_size(mut args: lexopt::Parser) -> Result<ExitCode, CliError> {
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(arg) = args.next()? {
        match arg {
            Value(v) => files.push(v.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    if files.is_empty() {
        return Err(CliError::Usage("size: no module files given".into()));
    }
    print!("{}", kolink::size_table(&files)?);
    Ok(ExitCode::SUCCESS)
}

fn cmd_panic_paths(mut args: lexopt::Parser) -> Result<ExitCode, CliError> {
    let mut ko = None;
    let mut specs: Vec<String> = Vec::new();
    let mut json = false;
    let mut options = ReachOptions::default();
    while let Some(arg) = args.next()? {
        match arg {
            Long("entry") => specs.push(args.value()?.string()?),
            Long("json") => json = true,
            Long("no-fmt-kind") => options.fmt_kind = false,
            Value(v) => one_path(&mut ko, v, "module")?,
            other => return Err(other.unexpected().into()),
        }
    }
    let ko = ko.ok_or_else(|| CliError::Usage("panic-paths: missing module file".into()))?;
    options
        .apply_entry_specs(&specs)
        .map_err(|e| CliError::Usage(format!("panic-paths: {e}")))?;
    let report = kolink::panic_paths_file(&ko, &options)?;
    let text = if json {
        format!("{}\n", report.to_json())
    } else {
        format!("{}: {report}", ko.display())
    };
    // A report piped into `head` is not a failure.
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Run(kolink::Error::Io {
            path: "<stdout>".into(),
            source: e,
        })),
        _ => Ok(ExitCode::SUCCESS),
    }
}
