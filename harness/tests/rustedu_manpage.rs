// SPDX-License-Identifier: BSD-2-Clause
//! `rustedu/rustedu.4`, the manual page, in step with the module: the
//! sections of a section 4 page, every sysctl the built module creates
//! for a device, the limit it states, and the attach message.

use harness::testing::module_path;
use harness::{Errno, Kernel};

fn page() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../rustedu/rustedu.4")).unwrap()
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
    assert!(page.contains("\n.Dt RUSTEDU 4\n.Os\n.Sh NAME\n.Nm rustedu\n.Nd "));
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
            "SYSCTL VARIABLES",
            "EXAMPLES",
            "DIAGNOSTICS",
            "ERRORS",
            "SEE ALSO",
            "HISTORY"
        ]
    );
}

#[test]
fn the_page_documents_every_sysctl_of_a_device_and_the_attach_message() {
    let page = page();
    let sysctls = section(&page, "SYSCTL VARIABLES");
    let mut documented: Vec<String> = sysctls
        .lines()
        .filter_map(|l| l.strip_prefix(".It Va dev.rustedu.0."))
        .map(str::to_owned)
        .collect();
    let k = Kernel::new();
    k.pci_add_edu();
    let id = k.kldload(module_path("rustedu")).unwrap();
    // The leaves the driver adds (newbus's own `%` variables aside).
    let mut nodes: Vec<String> = k
        .sysctl_children("dev.rustedu.0")
        .unwrap()
        .into_iter()
        .filter(|n| !n.starts_with('%'))
        .collect();
    documented.sort();
    nodes.sort();
    assert_eq!(documented, nodes);
    assert!(sysctls.contains("from 0 to 12"));
    k.sysctl_set("dev.rustedu.0.factorial", "12").unwrap();
    let e = k.sysctl_set("dev.rustedu.0.factorial", "13").unwrap_err();
    assert_eq!(e, Errno::EINVAL);
    // The attach message the page shows (the test kernel's edu has no irq
    // in its announcement line).
    let desc = section(&page, "DESCRIPTION");
    assert!(desc.contains("rustedu0: edu 1.0, liveness ok\n"));
    assert!(
        k.dmesg().contains("rustedu0: edu 1.0, liveness ok\n"),
        "{}",
        k.dmesg()
    );
    k.kldunload(id, false).unwrap();
    k.check().unwrap();
}
