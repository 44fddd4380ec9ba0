// SPDX-License-Identifier: BSD-2-Clause
//! `cargo xtask ifcheck [--sysdir DIR]`: the project's newbus interface
//! headers (`sys/include/`) against the ones FreeBSD generates.
//!
//! Where the build uses the installed header tree, `device_if.h`,
//! `bus_if.h`, `pci_if.h` and `dev/pci/pcivar.h` are the project's own
//! declarations (see `kbuild::interfaces`). A wrong method type, descriptor
//! name or ivar number there would build and load, and call the wrong
//! thing: this check is what keeps them FreeBSD's.
//!
//! 1. Always: a probe that includes `sys/bus.h` and `dev/pci/pcivar.h`
//!    compiles with the module flags and `-Werror` against the header tree
//!    the build uses, with our declarations, and asserts the `sys/kobj.h`
//!    layouts the inline method calls read.
//! 2. With a FreeBSD `sys/` tree (`--sysdir DIR`, else `SYSDIR`, else
//!    `/usr/src/sys` on FreeBSD): the three headers are generated from its
//!    `.m` files with its `makeobjops.awk`, as `kmod.mk` does, and the same
//!    probe is compiled once with ours and once with those and the tree's
//!    `pcivar.h`. Everything we declare must be declared there too, with:
//!    * the same type (functions, typedefs, descriptors: clang's AST);
//!    * the same code for every inline function (the `DEVICE_*`, `BUS_*`,
//!      `PCI_*` calls and `pci_*` accessors), compared as LLVM IR at `-O2`
//!      with the module's code generation flags, so the loads and calls
//!      a module makes are the same;
//!    * the same value for every enumerator (the PCI ivars) and numeric
//!      macro, and the same definition for every function-like macro.
//!
//! Without a source tree the comparison is skipped, and says so.

use crate::tools::Tools;
use crate::workspace::{Workspace, run};
use kbuild::HeaderTree;
use kbuild::interfaces;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The probe: what a PCI driver includes, and the kobj layouts the inline
/// calls rely on (amd64).
const PROBE: &str = r#"#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/kobj.h>
#include <sys/bus.h>
#include <sys/rman.h>
#include <machine/bus.h>
#include <machine/resource.h>
#include <dev/pci/pcireg.h>
#include <dev/pci/pcivar.h>

_Static_assert(__offsetof(struct kobj, ops) == 0, "a kobj starts with its ops");
_Static_assert(KOBJ_CACHE_SIZE == 256, "the method cache has 256 slots");
_Static_assert(__offsetof(struct kobj_ops, cache) == 0, "ops: the cache first");
_Static_assert(__offsetof(struct kobj_ops, cls) == 256 * 8, "ops: then the class");
_Static_assert(__offsetof(struct kobjop_desc, id) == 0, "desc: the id first");
_Static_assert(__offsetof(struct kobjop_desc, deflt) == 8, "desc: then the default");
_Static_assert(__offsetof(struct kobj_method, desc) == 0, "method: the desc first");
_Static_assert(__offsetof(struct kobj_method, func) == 8, "method: then the function");
_Static_assert(__offsetof(struct kobj_class, ops) == 40, "class: ops last");
"#;

/// Prefix of the project's own helper macros (`kmod_kobj_if.h`), which
/// FreeBSD has no counterpart of.
const OWN_PREFIX: &str = "_KMOD_";

/// Runs the check.
pub(crate) fn ifcheck(ws: &Workspace, args: &[String]) -> crate::Result {
    let sysdir = source_tree(args)?;
    let tools = Tools::find()?;
    let scratch = ws.build_dir.join("obj").join("ifcheck");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let tree = HeaderTree::locate(&ws.root, &scratch).map_err(|e| e.to_string())?;
    let base = tree.tree_include_dirs();
    let project = interfaces::project_dir(&ws.root);

    let mut ours_dirs = vec![project.clone()];
    ours_dirs.extend(base.iter().cloned());
    let ours = Unit::parse(&tools, &tree, &ours_dirs, &scratch.join("ours"), PROBE)?;
    println!(
        "ifcheck: {} compile with the module flags ({} declarations), kobj layouts as expected",
        project.display(),
        ours.decls.len()
    );

    let Some(sysdir) = sysdir else {
        println!(
            "ifcheck: comparison with FreeBSD's generated interface headers skipped: \
             no FreeBSD source tree (pass --sysdir DIR or set SYSDIR to a FreeBSD sys/ \
             directory; /usr/src/sys is used on FreeBSD)"
        );
        return Ok(());
    };
    let generated = scratch.join("generated");
    interfaces::generate(&sysdir, &generated).map_err(|e| e.to_string())?;
    let overlay = scratch.join("pcivar");
    let pcivar = overlay.join(interfaces::PCIVAR);
    std::fs::create_dir_all(pcivar.parent().ok_or("pcivar.h has a folder")?)
        .map_err(|e| format!("{}: {e}", overlay.display()))?;
    std::fs::copy(sysdir.join(interfaces::PCIVAR), &pcivar)
        .map_err(|e| format!("{}: {e}", sysdir.join(interfaces::PCIVAR).display()))?;
    let mut theirs_dirs = vec![generated, overlay];
    theirs_dirs.extend(base.iter().cloned());
    let theirs = Unit::parse(&tools, &tree, &theirs_dirs, &scratch.join("theirs"), PROBE)?;

    let own_macros = own_macros(&project)?;
    let mut problems = Vec::new();
    compare_decls(&ours, &theirs, &mut problems);
    let (extra, constants, definitions) =
        macros_and_constants(&ours, &theirs, &own_macros, &mut problems);
    let source = format!("{PROBE}{extra}");
    let ours_ir = ir(&tools, &tree, &ours_dirs, &scratch.join("ours"), &source)?;
    let theirs_ir = ir(
        &tools,
        &tree,
        &theirs_dirs,
        &scratch.join("theirs"),
        &source,
    )?;
    let inline = ours.inline_functions();
    compare_ir(&inline, &constants, &ours_ir, &theirs_ir, &mut problems);

    if problems.is_empty() {
        println!(
            "ifcheck: agrees with the headers generated from {}: {} declarations \
             ({} descriptors, {} inline functions as IR), {} constants, {} macro definitions",
            sysdir.display(),
            ours.decls.len(),
            ours.decls
                .iter()
                .filter(|(_, d)| d.ty == "struct kobjop_desc")
                .count(),
            inline.len(),
            constants.len(),
            definitions
        );
        Ok(())
    } else {
        let mut msg = format!(
            "the project's interface headers differ from FreeBSD's (generated from {}):\n",
            sysdir.display()
        );
        for p in &problems {
            let _ = writeln!(msg, "  {p}");
        }
        Err(msg)
    }
}

/// The FreeBSD `sys/` tree to compare with, if any.
fn source_tree(args: &[String]) -> crate::Result<Option<PathBuf>> {
    let dir = match args {
        [] => std::env::var_os("SYSDIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let usr_src = Path::new("/usr/src/sys");
                (cfg!(target_os = "freebsd") && usr_src.is_dir()).then(|| usr_src.to_path_buf())
            }),
        [flag, dir] if flag == "--sysdir" => Some(PathBuf::from(dir)),
        _ => return Err("usage: cargo xtask ifcheck [--sysdir DIR]".to_owned()),
    };
    if let Some(dir) = &dir {
        let mut needed = interfaces::sources(dir);
        needed.push(dir.join(interfaces::PCIVAR));
        if let Some(missing) = needed.iter().find(|f| !f.is_file()) {
            return Err(format!(
                "{} is not a FreeBSD sys/ directory: {} is missing",
                dir.display(),
                missing.display()
            ));
        }
    }
    Ok(dir)
}

/// One top-level declaration, as clang's JSON AST shows it.
#[derive(Deserialize)]
struct Node {
    kind: String,
    name: Option<String>,
    #[serde(rename = "type")]
    ty: Option<QualType>,
    #[serde(rename = "storageClass")]
    storage: Option<String>,
    #[serde(default)]
    inline: bool,
    #[serde(default)]
    inner: Vec<Child>,
}

/// A node inside a declaration: only its kind and name are read.
#[derive(Deserialize)]
struct Child {
    kind: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct QualType {
    #[serde(rename = "qualType")]
    qual: String,
}

#[derive(Deserialize)]
struct TranslationUnit {
    inner: Vec<Node>,
}

/// What a declaration is, for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decl {
    ty: String,
    storage: String,
    inline: bool,
    defined: bool,
}

/// The declarations of one compiled probe, and its macros.
struct Unit {
    /// (kind, name) -> declaration, for functions, variables and typedefs.
    decls: BTreeMap<(String, String), Decl>,
    /// Every enumerator of a named enum.
    enumerators: BTreeSet<String>,
    /// `#define` lines at the end of the unit: name -> definition.
    macros: BTreeMap<String, String>,
}

impl Unit {
    /// Compiles `source` with `dirs` and reads its AST and macros.
    fn parse(
        tools: &Tools,
        tree: &HeaderTree,
        dirs: &[PathBuf],
        out: &Path,
        source: &str,
    ) -> crate::Result<Self> {
        let probe = write_probe(out, source)?;
        let ast = out.join("ast.json");
        let file = std::fs::File::create(&ast).map_err(|e| format!("{}: {e}", ast.display()))?;
        run(compiler(tools, tree, dirs, out)
            .args(["-fsyntax-only", "-Xclang", "-ast-dump=json"])
            .arg(&probe)
            .stdout(file))?;
        let reader = std::io::BufReader::new(
            std::fs::File::open(&ast).map_err(|e| format!("{}: {e}", ast.display()))?,
        );
        let unit: TranslationUnit =
            serde_json::from_reader(reader).map_err(|e| format!("{}: {e}", ast.display()))?;
        let mut decls = BTreeMap::new();
        let mut enumerators = BTreeSet::new();
        for node in unit.inner {
            let Some(name) = node.name else { continue };
            match node.kind.as_str() {
                "FunctionDecl" | "VarDecl" | "TypedefDecl" => {
                    let defined = node.inner.iter().any(|c| c.kind == "CompoundStmt");
                    let decl = Decl {
                        ty: node.ty.map(|t| t.qual).unwrap_or_default(),
                        storage: node.storage.unwrap_or_default(),
                        inline: node.inline,
                        defined,
                    };
                    decls
                        .entry((node.kind, name))
                        .and_modify(|d: &mut Decl| d.defined |= defined)
                        .or_insert(decl);
                }
                "EnumDecl" => enumerators.extend(
                    node.inner
                        .into_iter()
                        .filter(|c| c.kind == "EnumConstantDecl")
                        .filter_map(|c| c.name),
                ),
                _ => {}
            }
        }
        let defines = out.join("macros.h");
        let file =
            std::fs::File::create(&defines).map_err(|e| format!("{}: {e}", defines.display()))?;
        run(compiler(tools, tree, dirs, out)
            .args(["-E", "-dM"])
            .arg(&probe)
            .stdout(file))?;
        let text =
            std::fs::read_to_string(&defines).map_err(|e| format!("{}: {e}", defines.display()))?;
        let macros = text
            .lines()
            .filter_map(|l| l.strip_prefix("#define "))
            .map(|l| {
                let end = l.find([' ', '(']).unwrap_or(l.len());
                (l[..end].to_owned(), l[end..].to_owned())
            })
            .collect();
        Ok(Self {
            decls,
            enumerators,
            macros,
        })
    }

    /// The static inline functions this unit defines.
    fn inline_functions(&self) -> Vec<String> {
        self.decls
            .iter()
            .filter(|((kind, _), d)| kind == "FunctionDecl" && d.inline && d.defined)
            .map(|((_, name), _)| name.clone())
            .collect()
    }
}

/// Every declaration of ours must be FreeBSD's, with the same type.
fn compare_decls(ours: &Unit, theirs: &Unit, problems: &mut Vec<String>) {
    for ((kind, name), decl) in &ours.decls {
        match theirs.decls.get(&(kind.clone(), name.clone())) {
            None => problems.push(format!("{kind} {name}: not declared by FreeBSD")),
            Some(t) if t.ty != decl.ty => problems.push(format!(
                "{kind} {name}: type `{}`, FreeBSD's is `{}`",
                decl.ty, t.ty
            )),
            Some(t) if t.storage != decl.storage || t.inline != decl.inline => {
                problems.push(format!(
                    "{kind} {name}: storage {:?} inline {}, FreeBSD's {:?} inline {}",
                    decl.storage, decl.inline, t.storage, t.inline
                ));
            }
            Some(t) if decl.defined && !t.defined => {
                problems.push(format!("{kind} {name}: defined here, not by FreeBSD"));
            }
            Some(_) => {}
        }
    }
    for name in &ours.enumerators {
        if !theirs.enumerators.contains(name) {
            problems.push(format!("enumerator {name}: not declared by FreeBSD"));
        }
    }
}

/// The macros our headers define, by name (from the headers' text).
fn own_macros(project: &Path) -> crate::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    let mut dirs = vec![project.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "h") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                for line in text.lines() {
                    if let Some(rest) = line.strip_prefix("#define") {
                        let name: String = rest
                            .trim_start()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !name.starts_with(OWN_PREFIX) {
                            names.insert(name);
                        }
                    }
                }
            }
        }
    }
    Ok(names)
}

/// Checks what can be checked of our macros by text, and returns the C that
/// evaluates the numeric ones and the enumerators (appended to the probe),
/// the names of those constants, and how many definitions were compared.
fn macros_and_constants(
    ours: &Unit,
    theirs: &Unit,
    own: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> (String, Vec<String>, usize) {
    let mut constants: Vec<String> = ours.enumerators.iter().cloned().collect();
    let mut definitions = 0;
    for name in own {
        // Defined and then undefined by our header (PCI_ACCESSOR): nothing
        // of it is left to compare.
        let Some(def) = ours.macros.get(name) else {
            continue;
        };
        let Some(their_def) = theirs.macros.get(name) else {
            problems.push(format!("macro {name}: not defined by FreeBSD"));
            continue;
        };
        if def.starts_with('(') || def.trim().is_empty() {
            // Function-like, or empty (an include guard): the definitions
            // themselves must agree.
            definitions += 1;
            if squeeze(def) != squeeze(their_def) {
                problems.push(format!(
                    "macro {name}: `{}`, FreeBSD's is `{}`",
                    def.trim(),
                    their_def.trim()
                ));
            }
        } else {
            constants.push(name.clone());
        }
    }
    let mut extra = String::from("\n/* ifcheck: the code and values to compare. */\n");
    for c in &constants {
        let _ = writeln!(
            extra,
            "__attribute__((used)) static const long long ifcheck_const_{c} = (long long)({c});"
        );
    }
    let inline = ours.inline_functions();
    extra.push_str("__attribute__((used)) static void *const ifcheck_functions[] = {\n");
    for f in &inline {
        let _ = writeln!(extra, "\t(void *){f},");
    }
    extra.push_str("};\n");
    (extra, constants, definitions)
}

/// Whitespace-insensitive form of a macro definition.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Compiles `source` to LLVM IR with the module's code generation flags.
fn ir(
    tools: &Tools,
    tree: &HeaderTree,
    dirs: &[PathBuf],
    out: &Path,
    source: &str,
) -> crate::Result<String> {
    let probe = write_probe(out, source)?;
    let ll = out.join("probe.ll");
    run(compiler(tools, tree, dirs, out)
        .args(kbuild::flags::CODEGEN)
        .args(["-S", "-emit-llvm", "-o"])
        .arg(&ll)
        .arg(&probe))?;
    std::fs::read_to_string(&ll).map_err(|e| format!("{}: {e}", ll.display()))
}

/// Every inline function must compile to the same IR, every constant to the
/// same value.
fn compare_ir(
    functions: &[String],
    constants: &[String],
    ours: &str,
    theirs: &str,
    problems: &mut Vec<String>,
) {
    let (ours_fns, theirs_fns) = (ir_functions(ours), ir_functions(theirs));
    for f in functions {
        match (ours_fns.get(f), theirs_fns.get(f)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                let (x, y) = a
                    .lines()
                    .zip(b.lines())
                    .find(|(x, y)| x != y)
                    .unwrap_or(("(shorter)", "(shorter)"));
                problems.push(format!(
                    "inline {f}: compiles differently from FreeBSD's, first at\n      ours: {}\n      FreeBSD's: {}",
                    x.trim(),
                    y.trim()
                ));
            }
            (a, b) => problems.push(format!(
                "inline {f}: not compiled (ours: {}, FreeBSD's: {})",
                a.is_some(),
                b.is_some()
            )),
        }
    }
    let (ours_vals, theirs_vals) = (ir_constants(ours), ir_constants(theirs));
    for c in constants {
        match (ours_vals.get(c), theirs_vals.get(c)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => problems.push(format!("{c}: {a:?}, FreeBSD's is {b:?}")),
        }
    }
}

/// `define` blocks by function name, with metadata and attribute group
/// numbers (which depend on the rest of the unit) blanked.
fn ir_functions(ir: &str) -> BTreeMap<String, String> {
    let mut functions = BTreeMap::new();
    let mut lines = ir.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("define ") {
            continue;
        }
        let Some(name) = line
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once('('))
            .map(|(name, _)| name.to_owned())
        else {
            continue;
        };
        let mut body = normalize(line);
        for l in lines.by_ref() {
            body.push('\n');
            body.push_str(&normalize(l));
            if l == "}" {
                break;
            }
        }
        functions.insert(name, body);
    }
    functions
}

fn normalize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if (c == '!' || c == '#') && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('N');
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        }
    }
    out
}

/// `@ifcheck_const_NAME = internal constant i64 VALUE` by name.
fn ir_constants(ir: &str) -> BTreeMap<String, i64> {
    ir.lines()
        .filter_map(|l| l.strip_prefix("@ifcheck_const_"))
        .filter_map(|l| {
            let (name, rest) = l.split_once(" = ")?;
            let value = rest.split_once(" i64 ")?.1.split(',').next()?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Writes `source` as `probe.c` and the empty `opt_global.h` into `out`.
fn write_probe(out: &Path, source: &str) -> crate::Result<PathBuf> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let opt_global = out.join("opt_global.h");
    std::fs::write(&opt_global, "").map_err(|e| format!("{}: {e}", opt_global.display()))?;
    let probe = out.join("probe.c");
    std::fs::write(&probe, source).map_err(|e| format!("{}: {e}", probe.display()))?;
    Ok(probe)
}

/// clang with a module's target, defines, warnings and `opt_global.h`, and
/// `dirs` as the include path.
fn compiler(tools: &Tools, tree: &HeaderTree, dirs: &[PathBuf], out: &Path) -> Command {
    let tree = HeaderTree {
        include_dirs: dirs.to_vec(),
        ..tree.clone()
    };
    let mut cmd = Command::new(&tools.clang);
    cmd.args(tree.clang_args(&[]))
        .arg("-ffreestanding")
        .args(kbuild::flags::WARNINGS)
        .arg("-include")
        .arg(out.join("opt_global.h"));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    const IR: &str = "\
@ifcheck_const_PCI_IVAR_VENDOR = internal constant i64 2, align 8
@ifcheck_const_PCI_POWERSTATE_UNKNOWN = internal constant i64 -1, align 8

; Function Attrs: inlinehint nounwind
define internal i32 @DEVICE_PROBE(ptr noundef %0) #3 {
  %2 = load ptr, ptr %0, align 8, !tbaa !14
  ret i32 0
}
";

    #[test]
    fn functions_are_read_with_unit_specific_numbers_blanked() {
        let f = ir_functions(IR);
        assert_eq!(
            f["DEVICE_PROBE"],
            "define internal i32 @DEVICE_PROBE(ptr noundef %0) #N {\n  \
             %2 = load ptr, ptr %0, align 8, !tbaa !N\n  ret i32 0\n}"
        );
    }

    #[test]
    fn constants_are_read_with_their_sign() {
        let c = ir_constants(IR);
        assert_eq!(c["PCI_IVAR_VENDOR"], 2);
        assert_eq!(c["PCI_POWERSTATE_UNKNOWN"], -1);
    }

    #[test]
    fn a_different_body_or_value_is_reported() {
        let changed = IR
            .replace("ret i32 0", "ret i32 1")
            .replace("i64 2,", "i64 3,");
        let mut problems = Vec::new();
        compare_ir(
            &["DEVICE_PROBE".to_owned()],
            &["PCI_IVAR_VENDOR".to_owned()],
            IR,
            &changed,
            &mut problems,
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("inline DEVICE_PROBE"));
        assert_eq!(
            problems[1],
            "PCI_IVAR_VENDOR: Some(2), FreeBSD's is Some(3)"
        );
    }
}
