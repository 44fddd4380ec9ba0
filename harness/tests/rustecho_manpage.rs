// SPDX-License-Identifier: BSD-2-Clause
//! `echo/rustecho.4`, the manual page: laid out like
//! FreeBSD's section 4 pages, and in step with the module (every sysctl
//! the built module creates, every command of the header, every errno the
//! other rustecho tests check).

use echo_testkit as support;

use std::process::Command;

fn page() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../echo/rustecho.4")).unwrap()
}

/// The lines of section `name` (up to the next `.Sh`).
fn section(page: &str, name: &str) -> String {
    let start = format!(".Sh {name}\n");
    let body = page
        .split_once(&start)
        .unwrap_or_else(|| panic!("no section {name}"))
        .1;
    body.split("\n.Sh ").next().unwrap().to_owned()
}

#[test]
fn the_page_has_the_sections_of_a_section_4_page() {
    let page = page();
    assert!(page.starts_with(".\\\"-\n.\\\" SPDX-License-Identifier: BSD-2-Clause\n"));
    assert!(page.contains("\n.Dt RUSTECHO 4\n.Os\n.Sh NAME\n.Nm rustecho\n.Nd "));
    let sections: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix(".Sh "))
        .collect();
    let required = [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "IOCTLS",
        "SYSCTL VARIABLES",
        "ERRORS",
        "SEE ALSO",
        "HISTORY",
    ];
    let mut at = 0;
    for want in required {
        let i = sections[at..]
            .iter()
            .position(|s| *s == want)
            .unwrap_or_else(|| panic!("{want} missing or out of order in {sections:?}"));
        at += i + 1;
    }
    assert!(section(&page, "SYNOPSIS").contains("kldload rustecho\n"));
    assert!(section(&page, "SYNOPSIS").contains(".In rustecho.h"));
    // mdoc hygiene that mandoc -Tlint also checks: no trailing blanks, no
    // empty lines, one sentence per line is left to review.
    for (n, line) in page.lines().enumerate() {
        assert!(
            !line.ends_with(' ') && !line.ends_with('\t'),
            "line {}: trailing blank",
            n + 1
        );
        assert!(!line.is_empty(), "line {}: empty line (use .Pp)", n + 1);
    }
}

#[test]
fn the_page_documents_every_sysctl_the_module_creates() {
    let page = page();
    let sysctls = section(&page, "SYSCTL VARIABLES");
    let documented: Vec<&str> = sysctls
        .lines()
        .filter_map(|l| l.strip_prefix(".It Va hw.rustecho."))
        .collect();
    let (k, _) = support::loaded();
    let mut nodes = k.sysctl_children("hw.rustecho").unwrap();
    let mut sorted: Vec<String> = documented.iter().map(|s| (*s).to_owned()).collect();
    nodes.sort();
    sorted.sort();
    assert_eq!(sorted, nodes);
    // The limits it states are the module's.
    assert!(sysctls.contains("from 1 to 16777216"));
    assert!(sysctls.contains(&format!("default\nis {}.", support::DEFAULT_MAXLEN)));
    assert_eq!(support::sysctl(&k, "maxlen"), support::DEFAULT_MAXLEN);
    assert!(k.sysctl_set("hw.rustecho.maxlen", "16777216").is_ok());
    assert!(k.sysctl_set("hw.rustecho.maxlen", "16777217").is_err());
    assert!(page.contains(".Dq Li \"Default hello message\"\nfollowed by a newline"));
    assert_eq!(support::DEFAULT_MESSAGE, b"Default hello message\n");
}

#[test]
fn the_page_documents_the_ioctls_of_the_header() {
    let page = page();
    let ioctls = section(&page, "IOCTLS");
    let text = support::header_text();
    let defines: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("#define\tRUSTECHO_")
                .or_else(|| l.strip_prefix("#define RUSTECHO_"))
        })
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(defines, ["CLEAR", "GETINFO"]);
    for d in defines {
        assert!(
            ioctls.contains(&format!(".It Dv RUSTECHO_{d}")),
            "RUSTECHO_{d}"
        );
    }
    for d in ["FIONREAD", "FIONBIO", "FIOASYNC"] {
        assert!(ioctls.contains(&format!(".It Dv {d} Fa \"int *\"")), "{d}");
    }
    for (ty, name) in support::header().info_fields {
        assert!(ioctls.contains(&format!("\t{ty} {name};")), "{name}");
    }
}

#[test]
fn the_page_lists_every_errno_the_device_returns() {
    let errors = section(&page(), "ERRORS");
    for e in [
        "EACCES", "ENOMEM", "EFBIG", "EFAULT", "EINVAL", "EBADF", "ENOTTY", "ENXIO", "EBUSY",
    ] {
        let marked = errors.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words
                .windows(2)
                .any(|w| w[0].trim_start_matches('.') == "Er" && w[1] == e)
        });
        assert!(marked, "{e} is not in ERRORS");
    }
}

/// `mandoc -Tlint` finds no warning (skipped where mandoc is not
/// installed; FreeBSD has it in base).
#[test]
fn mandoc_finds_no_warning() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../echo/rustecho.4");
    match Command::new("mandoc")
        .args(["-Tlint", "-W", "warning", path])
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("mandoc not run: {e}"),
    }
}
