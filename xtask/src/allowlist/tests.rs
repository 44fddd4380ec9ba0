// SPDX-License-Identifier: BSD-2-Clause
//! The allowlist check on a synthetic header tree, where every kind of
//! name is known, and on the FreeBSD 15 headers, where `copystr`, `bcopy`
//! and `bzero` are macros.

use super::*;
use kbuild::headers::Source;

/// A fresh scratch directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn clang() -> PathBuf {
    Tools::find()
        .unwrap_or_else(|e| panic!("{e} (the build needs clang)"))
        .clang
}

fn verdicts(problems: &[Problem]) -> Vec<(&str, &Verdict)> {
    problems
        .iter()
        .map(|p| (p.symbol.as_str(), &p.verdict))
        .collect()
}

const SYSTM_H: &str = "\
#ifndef _SYS_SYSTM_H_
#define _SYS_SYSTM_H_
int real_fn(int);
extern int real_var;
#ifdef _KERNEL
int kernel_only(void);
#endif
#ifndef _KERNEL
int userland_only(void);
#endif
static __inline int inline_fn(void) { return (0); }
static int static_var __attribute__((__unused__));
#define macro_fn(x) real_fn((x) + 1)
#define macro_obj 42
#include <sys/libkern.h>
#endif
";

const ALLOWLIST: &str = "\
real_fn          sys/systm.h
real_var         sys/systm.h
kernel_only      sys/systm.h
macro_fn         sys/systm.h
macro_obj        sys/systm.h
inline_fn        sys/systm.h
static_var       sys/systm.h
elsewhere_fn     sys/systm.h
libkern_fn       sys/libkern.h
userland_only    sys/systm.h
absent           sys/systm.h
__stack_chk_fail kern/stack_protector.c
";

#[test]
fn each_kind_of_name_is_told_apart() {
    let root = scratch("allowlist-synthetic");
    let tree = root.join("tree");
    std::fs::create_dir_all(tree.join("sys")).unwrap();
    std::fs::write(tree.join("sys/param.h"), "").unwrap();
    std::fs::write(tree.join("sys/systm.h"), SYSTM_H).unwrap();
    std::fs::write(
        tree.join("sys/libkern.h"),
        "int elsewhere_fn(void);\nint libkern_fn(void);\n",
    )
    .unwrap();
    let headers = HeaderTree {
        arch: kbuild::Arch::Amd64,
        source: Source::SourceTree(tree.clone()),
        include_dirs: vec![tree.clone()],
        interfaces: tree,
        defines: Vec::new(),
    };
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let allowlist = Allowlist::parse(ALLOWLIST).unwrap();
    let problems = check(&clang(), &headers, &work, &allowlist).unwrap();
    assert_eq!(
        verdicts(&problems),
        [
            (
                "macro_fn",
                &Verdict::Macro {
                    file: "sys/systm.h".into(),
                    expansion: "real_fn((x) + 1)".into()
                }
            ),
            (
                "macro_obj",
                &Verdict::Macro {
                    file: "sys/systm.h".into(),
                    expansion: "42".into()
                }
            ),
            (
                "inline_fn",
                &Verdict::Static {
                    kind: Kind::Function,
                    file: "sys/systm.h".into()
                }
            ),
            (
                "static_var",
                &Verdict::Static {
                    kind: Kind::Variable,
                    file: "sys/systm.h".into()
                }
            ),
            (
                "elsewhere_fn",
                &Verdict::Elsewhere {
                    files: vec!["sys/libkern.h".into()]
                }
            ),
            ("userland_only", &Verdict::Missing),
            ("absent", &Verdict::Missing),
        ]
    );
    let msg = problems[0].to_string();
    assert!(
        msg.starts_with("line 4: macro_fn (sys/systm.h) is a macro in sys/systm.h"),
        "{msg}"
    );
    assert!(msg.contains("expands to real_fn((x) + 1)"), "{msg}");
    assert!(problems[2].to_string().contains("static inline function"));
    assert!(
        problems[4]
            .to_string()
            .contains("correct the header column")
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn freebsd_15_copystr_bcopy_and_bzero_are_macros() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let work = scratch("allowlist-freebsd");
    let headers =
        HeaderTree::locate(workspace, &work).unwrap_or_else(|e| panic!("{e} (run `make` first)"));
    let allowlist = Allowlist::parse(
        "copystr sys/systm.h\ncopyin sys/systm.h\nbcopy sys/systm.h\nbzero sys/systm.h\n\
         memcpy sys/systm.h\nstrlen sys/systm.h\nimax sys/libkern.h\nmalloc sys/malloc.h\n\
         M_DEVBUF sys/malloc.h\nGiant sys/mutex.h\nsysctl___hw sys/sysctl.h\n",
    )
    .unwrap();
    let problems = check(&clang(), &headers, &work, &allowlist).unwrap();
    let names: Vec<&str> = problems.iter().map(|p| p.symbol.as_str()).collect();
    assert_eq!(
        names,
        ["copystr", "bcopy", "bzero", "strlen", "imax"],
        "{problems:#?}"
    );
    for (p, body) in problems
        .iter()
        .zip(["strlcpy", "__builtin_memmove", "__builtin_memset"])
    {
        match &p.verdict {
            Verdict::Macro { file, expansion } => {
                assert_eq!(file, "sys/systm.h");
                assert!(expansion.contains(body), "{p:?}");
            }
            other => panic!("{}: {other:?}", p.symbol),
        }
        let msg = p.to_string();
        assert!(
            msg.contains(&format!("symbol {} undefined", p.symbol)),
            "{msg}"
        );
    }
    assert_eq!(
        problems[3].verdict,
        Verdict::Elsewhere {
            files: vec!["sys/libkern.h".into()]
        }
    );
    assert_eq!(
        problems[4].verdict,
        Verdict::Static {
            kind: Kind::Function,
            file: "sys/libkern.h".into()
        }
    );
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn long_expansions_are_shortened() {
    assert_eq!(shorten(""), "nothing");
    assert_eq!(shorten("42"), "42");
    let long = "x".repeat(100);
    let short = shorten(&long);
    assert!(short.ends_with(" ..."), "{short}");
    assert_eq!(short.chars().count(), EXPANSION_CHARS + 4);
}
