// SPDX-License-Identifier: BSD-2-Clause
//! The module declaration a crate makes with `kern::module!`.
//!
//! The macro stores `name=`, `version=` and `depend=` lines in a
//! `.kmod.decl` section of the crate's object. The build reads it from the
//! static library and writes `kmod_decl.h` for `shim/module.c`, so a
//! module's name, version and dependencies are written once, in Rust. The
//! linker script discards the section: it never reaches the `.ko`.

use object::read::archive::ArchiveFile;
use object::{Object, ObjectSection};
use std::fmt::Write as _;
use std::path::Path;

/// The section `kern::module!` fills.
pub(crate) const SECTION: &str = ".kmod.decl";

/// `MAXMODNAMELEN` in `sys/sys/module.h`, including the NUL.
const MAXMODNAMELEN: usize = 32;

/// A `MODULE_DEPEND` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Depend {
    pub(crate) name: String,
    pub(crate) min: u32,
    pub(crate) pref: u32,
    pub(crate) max: u32,
}

/// A function of `kern::export!` or `kern::import!`: its name and its
/// parameter and return types as text (`(u32) -> u64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Function {
    pub(crate) name: String,
    pub(crate) signature: String,
}

/// Everything `shim/module.c` needs, and the functions the module exports
/// and imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decl {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) depends: Vec<Depend>,
    /// `kern::export!`: kept global in the `.ko`.
    pub(crate) exports: Vec<Function>,
    /// `kern::import!`: must match an export of a dependency.
    pub(crate) imports: Vec<Function>,
    /// `kern::driver!`: the bus the driver attaches to (`pci`), for
    /// `DRIVER_MODULE` in `shim/newbus.c`.
    pub(crate) driver: Option<String>,
}

impl Decl {
    /// Reads the declaration from a module crate's static library.
    pub(crate) fn from_staticlib(path: &Path) -> crate::Result<Self> {
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let archive = ArchiveFile::parse(&*data).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut found = Vec::new();
        for member in archive.members() {
            let member = member.map_err(|e| format!("{}: {e}", path.display()))?;
            let bytes = member
                .data(&*data)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let Ok(obj) = object::File::parse(bytes) else {
                continue;
            };
            // One section per static (`kern::module!`, each export and
            // import), all of this name: their lines together.
            let mut text = Vec::new();
            for section in obj.sections().filter(|s| s.name() == Ok(SECTION)) {
                let contents = section
                    .data()
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                text.extend_from_slice(contents);
            }
            if !text.is_empty() {
                found.push(text);
            }
        }
        match found.as_slice() {
            [one] => Self::parse(one).map_err(|e| format!("{}: {e}", path.display())),
            [] => Err(format!(
                "{}: no module declaration; does the crate invoke kern::module!?",
                path.display()
            )),
            _ => Err(format!(
                "{}: kern::module! is invoked more than once",
                path.display()
            )),
        }
    }

    /// Parses the section's `key=value` lines.
    pub(crate) fn parse(bytes: &[u8]) -> crate::Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| "module declaration is not UTF-8")?;
        let (mut name, mut version, mut depends) = (None, None, Vec::new());
        let (mut exports, mut imports) = (Vec::new(), Vec::new());
        let mut driver = None;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("malformed declaration line {line:?}"))?;
            match key {
                "name" => name = Some(ident(value)?),
                "version" => version = Some(number(value)?),
                "depend" => {
                    let fields: Vec<&str> = value.split(' ').collect();
                    let [dep, min, pref, max] = fields.as_slice() else {
                        return Err(format!("depend needs name min pref max: {value:?}"));
                    };
                    let d = Depend {
                        name: ident(dep)?,
                        min: number(min)?,
                        pref: number(pref)?,
                        max: number(max)?,
                    };
                    if !(d.min <= d.pref && d.pref <= d.max) {
                        return Err(format!("depend {}: needs min <= pref <= max", d.name));
                    }
                    depends.push(d);
                }
                "export" => exports.push(function(value)?),
                "import" => imports.push(function(value)?),
                "driver" if driver.is_none() => driver = Some(ident(value)?),
                "driver" => return Err("more than one kern::driver! bus".into()),
                _ => return Err(format!("unknown declaration key {key:?}")),
            }
        }
        Ok(Self {
            name: name.ok_or("the module declaration has no name")?,
            version: version.ok_or("the module declaration has no version")?,
            depends,
            exports,
            imports,
            driver,
        })
    }

    /// The `kmod_decl.h` that `shim/module.c` includes.
    pub(crate) fn header(&self) -> String {
        let mut h =
            String::from("/* Generated by cargo xtask from kern::module!; do not edit. */\n");
        let _ = writeln!(h, "#define\tKMOD_NAME\t{}", self.name);
        let _ = writeln!(h, "#define\tKMOD_VERSION\t{}", self.version);
        h.push_str("#define\tKMOD_DEPENDS(X)");
        for d in &self.depends {
            let _ = write!(h, "\t\\\n\tX({}, {}, {}, {})", d.name, d.min, d.pref, d.max);
        }
        h.push('\n');
        if let Some(bus) = &self.driver {
            let _ = writeln!(h, "#define\tKMOD_DRIVER_BUS\t{bus}");
        }
        h
    }
}

/// `NAME SIGNATURE` of an `export=` or `import=` line.
fn function(value: &str) -> crate::Result<Function> {
    let (name, signature) = value
        .split_once(' ')
        .ok_or_else(|| format!("function needs a name and a signature: {value:?}"))?;
    Ok(Function {
        name: name.to_owned(),
        signature: signature.to_owned(),
    })
}

/// Checks every module's imports against the exports of the modules it
/// depends on: each imported function must be exported by one of them,
/// with the same parameter and return types. (An import from a module
/// that is not a Rust crate of this workspace cannot be checked here: it
/// is refused.)
pub(crate) fn check_imports(decls: &[Decl]) -> crate::Result {
    let mut problems = Vec::new();
    for decl in decls {
        for import in &decl.imports {
            let exporters: Vec<(&str, &Function)> = decl
                .depends
                .iter()
                .filter_map(|d| decls.iter().find(|m| m.name == d.name))
                .flat_map(|m| m.exports.iter().map(move |e| (m.name.as_str(), e)))
                .filter(|(_, e)| e.name == import.name)
                .collect();
            match exporters.as_slice() {
                [] => problems.push(format!(
                    "{}: imports `{}`, which none of the modules it depends on exports \
                     (kern::export! in the exporting module, and its name in `depends:`)",
                    decl.name, import.name
                )),
                [(_, export)] if export.signature == import.signature => {}
                [(module, export)] => problems.push(format!(
                    "{}: imports `{}` as `{}`, but {module} exports it as `{}`",
                    decl.name, import.name, import.signature, export.signature
                )),
                _ => problems.push(format!(
                    "{}: `{}` is exported by more than one of its dependencies",
                    decl.name, import.name
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn ident(s: &str) -> crate::Result<String> {
    let mut chars = s.chars();
    let ok_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !ok_start || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("module name {s:?} is not a C identifier"));
    }
    if s.len() >= MAXMODNAMELEN {
        return Err(format!(
            "module name {s:?} is longer than {} bytes",
            MAXMODNAMELEN - 1
        ));
    }
    Ok(s.to_owned())
}

fn number(s: &str) -> crate::Result<u32> {
    s.parse::<u32>()
        .ok()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| format!("{s:?} is not a version number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let d = Decl::parse(b"name=rustecho\nversion=1\ndepend=foo 1 2 3\n").unwrap();
        assert_eq!(d.name, "rustecho");
        assert_eq!(d.version, 1);
        assert_eq!(
            d.depends,
            [Depend {
                name: "foo".into(),
                min: 1,
                pref: 2,
                max: 3
            }]
        );
        let h = d.header();
        assert!(h.contains("#define\tKMOD_NAME\trustecho\n"));
        assert!(h.contains("X(foo, 1, 2, 3)"));
        assert!(!h.contains("KMOD_DRIVER_BUS"));
        let drv = Decl::parse(b"name=rustedu\nversion=1\ndriver=pci\n").unwrap();
        assert_eq!(drv.driver.as_deref(), Some("pci"));
        assert!(drv.header().contains("#define\tKMOD_DRIVER_BUS\tpci\n"));
    }

    fn decl(text: &str) -> Decl {
        Decl::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn imports_must_match_an_export_of_a_dependency() {
        let provider = decl("export=count_next () -> u64\nname=count\nversion=1\n");
        assert_eq!(
            provider.exports,
            [Function {
                name: "count_next".into(),
                signature: "() -> u64".into()
            }]
        );
        let user = decl("name=user\nversion=1\ndepend=count 1 1 1\nimport=count_next () -> u64\n");
        check_imports(&[provider.clone(), user]).unwrap();
        // Other types: refused, naming both.
        let wrong = decl("name=user\nversion=1\ndepend=count 1 1 1\nimport=count_next () -> u32\n");
        let e = check_imports(&[provider.clone(), wrong]).unwrap_err();
        assert!(
            e.contains("imports `count_next` as `() -> u32`, but count exports it as `() -> u64`"),
            "{e}"
        );
        // Exported by a module it does not depend on: refused.
        let stray = decl("name=user\nversion=1\nimport=count_next () -> u64\n");
        let e = check_imports(&[provider, stray]).unwrap_err();
        assert!(
            e.contains("none of the modules it depends on exports"),
            "{e}"
        );
    }

    #[test]
    fn rejects_bad_declarations() {
        for bad in [
            &b"version=1\n"[..],
            b"name=hello\n",
            b"name=9lives\nversion=1\n",
            b"name=a-b\nversion=1\n",
            b"name=x\nversion=-1\n",
            b"name=x\nversion=1\ndepend=foo 3 2 1\n",
            b"name=x\nversion=1\nexport=nosignature\n",
            b"name=x\nversion=1\ncolour=blue\n",
            b"name=x\nversion=1\ndriver=pci\ndriver=isa\n",
            b"name=x\nversion=1\ndriver=p-c-i\n",
            b"name=abcdefghijklmnopqrstuvwxyz0123456\nversion=1\n",
        ] {
            assert!(
                Decl::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
