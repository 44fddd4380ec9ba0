// SPDX-License-Identifier: BSD-2-Clause
//! `fifo/rustfifo.4`, the manual page, in step with the module: the
//! sections of a section 4 page, every sysctl the built module creates,
//! and the limits and defaults it states.

use harness::testing::module_path;
use harness::{Kernel, SysctlValue};

fn page() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fifo/rustfifo.4")).unwrap()
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
    assert!(page.contains("\n.Dt RUSTFIFO 4\n.Os\n.Sh NAME\n.Nm rustfifo\n.Nd "));
    let sections: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix(".Sh "))
        .collect();
    assert_eq!(
        sections,
        [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "IOCTLS",
            "SYSCTL VARIABLES",
            "FILES",
            "EXAMPLES",
            "ERRORS",
            "SEE ALSO",
            "HISTORY"
        ]
    );
}

#[test]
fn the_page_documents_every_sysctl_and_its_limits() {
    let page = page();
    let sysctls = section(&page, "SYSCTL VARIABLES");
    let mut documented: Vec<String> = sysctls
        .lines()
        .filter_map(|l| l.strip_prefix(".It Va hw.rustfifo."))
        .map(str::to_owned)
        .collect();
    let k = Kernel::new();
    let id = k.kldload(module_path("rustfifo")).unwrap();
    let mut nodes = k.sysctl_children("hw.rustfifo").unwrap();
    documented.sort();
    nodes.sort();
    assert_eq!(documented, nodes);
    assert!(sysctls.contains("from 1 to 16777216 (16 MiB); the default is\n65536."));
    assert!(sysctls.contains("from 0 (never) to 3600000; the default is 1000."));
    assert_eq!(
        k.sysctl_get("hw.rustfifo.capacity").unwrap(),
        SysctlValue::Uint(65536)
    );
    assert_eq!(
        k.sysctl_get("hw.rustfifo.idle_ms").unwrap(),
        SysctlValue::Uint(1000)
    );
    k.sysctl_set("hw.rustfifo.idle_ms", "3600000").unwrap();
    assert!(k.sysctl_set("hw.rustfifo.idle_ms", "3600001").is_err());
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
