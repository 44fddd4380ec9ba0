// SPDX-License-Identifier: BSD-2-Clause
//! No panic is reachable from rustecho's I/O entry points:
//! `kolink::panic_paths` on `build/rustecho.ko`. Paths from elsewhere are
//! printed with their source (the analysis is conservative: an indirect
//! call is taken to reach every address-taken function of its kind).

use kolink::reach::EntryClass;

#[test]
fn no_panic_path_from_read_write_ioctl_open_close() {
    let report = reliability::panics::report();
    let paths = reliability::panics::paths(&report);
    for p in &paths {
        println!("remaining path (conservative analysis): {p}");
    }
    for class in EntryClass::IO {
        assert!(
            report.entries_of(class).count() > 0,
            "no {} entry point found",
            class.name()
        );
        assert_eq!(
            report.paths_from(class),
            0,
            "{}: {}",
            class.name(),
            paths.join("\n")
        );
    }
}
