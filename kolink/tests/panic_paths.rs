// SPDX-License-Identifier: BSD-2-Clause
//! Tests of the call graph and the `panic-paths` query on synthetic objects
//! (assembled here byte by byte, with `object::write`), on C compiled by
//! `clang-16` when it is installed, and on the real `hello.ko` when it has
//! been built.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    reason = "tests: a panic is a test failure; offsets in small synthetic objects fit every type"
)]

#[path = "panic_paths/asm.rs"]
mod asm;
mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use asm::{D, F, I, Module, f};
use common::json::{self, Json};
use kolink::callgraph::{CallGraph, Callee};
use kolink::reach::{EntryClass, EntryReport, ReachOptions, ReachReport, Via, panic_paths};

/// A legacy-mangled Rust name for `path` (segments may contain `<`, `>`,
/// spaces, `&` and `::`).
fn mangle(path: &[&str]) -> &'static str {
    let mut s = String::from("_ZN");
    for seg in path {
        let mut e = seg
            .replace("::", "..")
            .replace('<', "$LT$")
            .replace('>', "$GT$")
            .replace(' ', "$u20$")
            .replace('&', "$RF$");
        if e.starts_with('$') {
            e.insert(0, '_');
        }
        write!(s, "{}{e}", e.len()).unwrap();
    }
    s.push_str("17h0123456789abcdefE");
    Box::leak(s.into_boxed_str())
}

fn report(m: &Module) -> ReachReport {
    panic_paths(&m.build(), &ReachOptions::default()).unwrap()
}

fn entry<'r>(r: &'r ReachReport, name: &str) -> &'r EntryReport {
    r.entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no entry {name}: {r}"))
}

fn step_names(e: &EntryReport, sink: &str) -> Vec<String> {
    e.paths
        .iter()
        .find(|p| p.sink == sink)
        .unwrap_or_else(|| panic!("no path to {sink} from {}: {:?}", e.name, e.paths))
        .steps
        .iter()
        .map(|s| s.name.clone())
        .collect()
}

fn panic_fmt() -> &'static str {
    mangle(&["core", "panicking", "panic_fmt"])
}

fn bounds() -> &'static str {
    mangle(&["core", "panicking", "panic_bounds_check"])
}

fn echo_read() -> &'static str {
    mangle(&["<echo::Echo as kern::cdev::CharacterDevice>", "read"])
}

fn cdev(op: &str) -> &'static str {
    mangle(&["kern", "cdev", "CdevSwVTable<T>", op])
}

// ---------------------------------------------------------------------------
// Tests.

#[test]
fn direct_chain_to_a_sink() {
    let m = Module {
        funcs: vec![
            f("kmod_modevent", &[I::Call("load"), I::Ret]),
            f("load", &[I::Call("check"), I::Ret]),
            f("check", &[I::Call(panic_fmt()), I::Ret]),
            f(panic_fmt(), &[I::Call("panic"), I::Ret]),
        ],
        data: vec![D::Ptr("kmod_modevent")],
        ..Module::default()
    };
    let r = report(&m);
    let e = entry(&r, "kmod_modevent");
    assert_eq!(e.class, EntryClass::Modevent);
    assert_eq!(
        step_names(e, "core::panicking::panic_fmt"),
        [
            "kmod_modevent",
            "load",
            "check",
            "core::panicking::panic_fmt"
        ]
    );
    // The path stops at the first sink: `panic` behind panic_fmt is not
    // reported separately.
    assert_eq!(e.paths.len(), 1);
    assert_eq!(e.reachable_functions, 4);
    let last = e.paths[0].steps.last().unwrap();
    assert_eq!((last.via, last.site), (Some(Via::Call), Some(0)));
    assert_eq!(r.paths_from(EntryClass::Modevent), 1);
    assert_eq!(r.class_summary(EntryClass::Modevent).sites, 1);
    assert_eq!(r.sinks, ["core::panicking::panic_fmt", "panic"]);
}

#[test]
fn panic_only_from_modevent_is_not_reported_under_read() {
    let m = Module {
        funcs: vec![
            f(
                "kmod_modevent",
                &[I::Call("helper"), I::Call("panic"), I::Ret],
            ),
            f(cdev("read"), &[I::Call(echo_read()), I::Ret]),
            f(cdev("write"), &[I::Ret]),
            // The device's method, called directly by the trampoline: its
            // name matches the read pattern, but it is not address-taken.
            f(echo_read(), &[I::Call("helper"), I::Ret]),
            f("helper", &[I::Call("uiomove"), I::Ret]),
            // kern's actual trampoline names.
            f(mangle(&["kern", "cdev", "cdev_ioctl"]), &[I::Ret]),
            f(mangle(&["kern", "cdev", "cdevpriv_dtor"]), &[I::Ret]),
        ],
        data: vec![
            D::Ptr("kmod_modevent"),
            D::Ptr(cdev("read")),
            D::Ptr(cdev("write")),
            D::Ptr(mangle(&["kern", "cdev", "cdev_ioctl"])),
            D::Ptr(mangle(&["kern", "cdev", "cdevpriv_dtor"])),
        ],
        ..Module::default()
    };
    let r = report(&m);
    assert_eq!(r.paths_from(EntryClass::Modevent), 1);
    for class in EntryClass::IO {
        assert_eq!(r.paths_from(class), 0, "{class:?}: {r}");
    }
    let read = entry(&r, "kern::cdev::CdevSwVTable<T>::read");
    assert_eq!(read.class, EntryClass::Read);
    assert_eq!(read.reachable_functions, 3);
    assert_eq!(r.entries_of(EntryClass::Read).count(), 1, "{r}");
    assert_eq!(
        entry(&r, "kern::cdev::CdevSwVTable<T>::write").class,
        EntryClass::Write
    );
    assert_eq!(entry(&r, "kern::cdev::cdev_ioctl").class, EntryClass::Ioctl);
    assert_eq!(
        entry(&r, "kern::cdev::cdevpriv_dtor").class,
        EntryClass::Close
    );
    let e = entry(&r, "kmod_modevent");
    assert_eq!(step_names(e, "panic"), ["kmod_modevent", "panic"]);
    assert_eq!(e.sites.len(), 1);
    assert_eq!(e.sites[0].offset, Some(5));
}

#[test]
fn unreachable_function_is_not_reported() {
    let m = Module {
        funcs: vec![
            f("kmod_modevent", &[I::Call("fine"), I::Ret]),
            f("fine", &[I::Ret]),
            f("lonely", &[I::Call(bounds()), I::Ret]),
            f(bounds(), &[I::Call("panic"), I::Ret]),
        ],
        data: vec![D::Ptr("kmod_modevent")],
        ..Module::default()
    };
    let r = report(&m);
    assert_eq!(r.entries.len(), 1, "{r}");
    assert!(r.entries.iter().all(|e| e.paths.is_empty()), "{r}");
    assert_eq!(entry(&r, "kmod_modevent").reachable_functions, 2);
    assert!(
        r.sinks
            .contains(&"core::panicking::panic_bounds_check".to_owned())
    );
}

#[test]
fn indirect_call_reaches_every_address_taken_function() {
    let m = Module {
        funcs: vec![
            f(cdev("read"), &[I::CallIndirect, I::Ret]),
            f(cdev("ioctl"), &[I::Call("direct_only"), I::Ret]),
            f("callback", &[I::Call(bounds()), I::Ret]),
            f("taken_by_lea", &[I::Ret]),
            f("direct_only", &[I::Ret]),
            f("kmod_modevent", &[I::Lea("taken_by_lea"), I::Ret]),
            f(bounds(), &[I::Ret]),
        ],
        data: vec![
            D::Ptr(cdev("read")),
            D::Ptr(cdev("ioctl")),
            D::Ptr("callback"),
            D::Ptr("kmod_modevent"),
        ],
        ..Module::default()
    };
    let r = report(&m);
    let read = entry(&r, "kern::cdev::CdevSwVTable<T>::read");
    let path = &read.paths[0];
    assert_eq!(path.sink, "core::panicking::panic_bounds_check");
    let vias: Vec<Option<Via>> = path.steps.iter().map(|s| s.via).collect();
    assert_eq!(
        vias,
        [
            None,
            Some(Via::IndirectCall),
            Some(Via::Target),
            Some(Via::Call)
        ]
    );
    assert!(
        path.steps[1]
            .name
            .starts_with("[any of 5 address-taken function(s)"),
        "{}",
        path.steps[1].name
    );
    assert_eq!(path.steps[2].name, "callback");
    // read reaches: itself, the 5 address-taken functions (read, ioctl,
    // callback, taken_by_lea, kmod_modevent) and what they call.
    assert_eq!(read.reachable_functions, 7);
    assert_eq!(r.paths_from(EntryClass::Ioctl), 0);
    assert_eq!(r.address_taken, 5);
    // `callback` and `taken_by_lea` are other roots; `direct_only` is not.
    let others: Vec<&str> = r
        .entries_of(EntryClass::Other)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(others, ["callback", "taken_by_lea"]);
    assert!(r.to_string().contains("conservative"));
}

#[test]
fn resolved_and_relocated_calls_give_the_same_edges() {
    let m = Module {
        funcs: vec![
            f(
                "caller",
                &[
                    I::Call("a"),
                    I::CallViaSection("b"),
                    I::CallResolved("c"),
                    I::Call("kernel_fn"),
                    I::Ret,
                ],
            ),
            f("a", &[I::Ret]),
            f("b", &[I::Ret]),
            f("c", &[I::JmpResolved("a")]),
        ],
        ..Module::default()
    };
    let g = CallGraph::build(&m.build()).unwrap();
    let id = |n| g.function_named(n).unwrap();
    let calls: Vec<(u64, Callee, bool)> = g.functions[id("caller")]
        .calls
        .iter()
        .map(|c| (c.offset, c.callee, c.jump))
        .collect();
    let start = g.functions[id("caller")].start;
    assert_eq!(
        calls,
        [
            (start, Callee::Function(id("a")), false),
            (start + 5, Callee::Function(id("b")), false),
            (start + 10, Callee::Function(id("c")), false),
            (start + 15, Callee::External(0), false),
        ]
    );
    assert_eq!(g.externals[0].name, "kernel_fn");
    let c = &g.functions[id("c")].calls;
    assert_eq!((c[0].callee, c[0].jump), (Callee::Function(id("a")), true));
    assert!(g.notes.is_empty(), "{:?}", g.notes);
}

#[test]
fn tail_calls_are_followed() {
    let m = Module {
        funcs: vec![
            f(cdev("write"), &[I::Jmp("helper")]),
            f("helper", &[I::JmpResolved("fail")]),
            f("fail", &[I::Jmp("panic")]),
            f(cdev("ioctl"), &[I::JmpIndirect]),
        ],
        data: vec![D::Ptr(cdev("write")), D::Ptr(cdev("ioctl"))],
        ..Module::default()
    };
    let r = report(&m);
    let e = entry(&r, "kern::cdev::CdevSwVTable<T>::write");
    assert_eq!(
        step_names(e, "panic"),
        [
            "kern::cdev::CdevSwVTable<T>::write",
            "helper",
            "fail",
            "panic"
        ]
    );
    assert!(
        e.paths[0].steps[1..]
            .iter()
            .all(|s| s.via == Some(Via::TailCall))
    );
    assert_eq!(r.paths_from(EntryClass::Write), 1);
    // An indirect tail call (`jmp *%rax`) may go to any address-taken
    // function, here the write method.
    let ioctl = entry(&r, "kern::cdev::CdevSwVTable<T>::ioctl");
    let vias: Vec<Option<Via>> = ioctl.paths[0].steps.iter().map(|s| s.via).collect();
    assert_eq!(
        vias[..3],
        [None, Some(Via::IndirectJump), Some(Via::Target)]
    );
    assert_eq!(ioctl.paths[0].steps.len(), 6);
}

#[test]
fn formatting_calls_reach_only_formatting_targets() {
    let write_str = mangle(&["<kern::print::W as core::fmt::Write>", "write_str"]);
    let display = mangle(&["<&T as core::fmt::Display>", "fmt"]);
    let drop = mangle(&["core::ptr::drop_in_place<kern::print::W>"]);
    let fmt_write = mangle(&["core", "fmt", "write"]);
    let m = Module {
        funcs: vec![
            f(cdev("read"), &[I::Lea(display), I::Call(fmt_write), I::Ret]),
            f(fmt_write, &[I::CallVtable, I::Ret]),
            f(write_str, &[I::Ret]),
            f(display, &[I::Ret]),
            f(drop, &[I::Call(bounds()), I::Ret]),
            f("sysinit_handler", &[I::Call(bounds()), I::Ret]),
            f(bounds(), &[I::Ret]),
        ],
        rodata: vec![
            // The `dyn Write` vtable of W: drop, size, align, methods.
            D::Ptr(drop),
            D::Word(24),
            D::Word(8),
            D::Ptr(write_str),
        ],
        data: vec![D::Ptr(cdev("read")), D::Ptr("sysinit_handler")],
        ..Module::default()
    };
    let data = m.build();
    let g = CallGraph::build(&data).unwrap();
    let fmt: Vec<&str> = g
        .functions
        .iter()
        .filter(|x| x.fmt_target)
        .map(kolink::callgraph::Function::name)
        .collect();
    assert_eq!(
        fmt,
        [
            "<kern::print::W as core::fmt::Write>::write_str",
            "<&T as core::fmt::Display>::fmt",
            "core::ptr::drop_in_place<kern::print::W>",
        ]
    );
    assert!(g.functions[g.function_named("core::fmt::write").unwrap()].fmt_caller);

    // With kinds, the vtable call in core::fmt::write reaches the drop glue
    // in the vtable (conservatively) but not the sysinit handler.
    let r = panic_paths(&data, &ReachOptions::default()).unwrap();
    let read = entry(&r, "kern::cdev::CdevSwVTable<T>::read");
    assert_eq!(
        step_names(read, "core::panicking::panic_bounds_check"),
        [
            "kern::cdev::CdevSwVTable<T>::read",
            "core::fmt::write",
            "[any of 3 address-taken formatting trait method(s)]",
            "core::ptr::drop_in_place<kern::print::W>",
            "core::panicking::panic_bounds_check",
        ]
    );
    assert_eq!(read.reachable_functions, 6);
    // Formatting targets are not other roots; the sysinit handler is.
    let others: Vec<&str> = r
        .entries_of(EntryClass::Other)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(others, ["sysinit_handler"]);
    assert_eq!((r.indirect_sites, r.fmt_indirect_sites), (1, 1));

    // Without kinds, every address-taken function is a target.
    let options = ReachOptions {
        fmt_kind: false,
        ..ReachOptions::default()
    };
    let r = panic_paths(&data, &options).unwrap();
    let read = entry(&r, "kern::cdev::CdevSwVTable<T>::read");
    assert_eq!(read.reachable_functions, 7);
    assert_eq!(r.entries_of(EntryClass::Other).count(), 4);
    assert!(
        read.paths[0].steps[2]
            .name
            .starts_with("[any of 5 address-taken function(s)")
    );
}

#[test]
fn switch_tables_are_resolved_without_over_reading() {
    let m = Module {
        funcs: vec![
            f(
                "kmod_modevent",
                &[
                    I::Switch("table1"),
                    I::Label("m1"),
                    I::Call("load"),
                    I::Ret,
                    I::Label("m2"),
                    I::Ret,
                ],
            ),
            f("load", &[I::Ret]),
            f(
                "other_fn",
                &[
                    I::Switch("table2"),
                    I::Label("o1"),
                    I::Call(bounds()),
                    I::Label("o2"),
                    I::Ret,
                ],
            ),
            f(bounds(), &[I::Ret]),
        ],
        rodata: vec![
            D::Label("table1"),
            D::Ptr("m1"),
            D::Ptr("m2"),
            // The next function's table follows directly.
            D::Label("table2"),
            D::Ptr("o1"),
            D::Ptr("o2"),
        ],
        data: vec![D::Ptr("kmod_modevent")],
        ..Module::default()
    };
    let data = m.build();
    let g = CallGraph::build(&data).unwrap();
    assert!(g.notes.is_empty(), "{:?}", g.notes);
    let modevent = &g.functions[g.function_named("kmod_modevent").unwrap()];
    assert_eq!(modevent.calls.len(), 1, "{:?}", modevent.calls);
    assert!(!g.functions[g.function_named("other_fn").unwrap()].address_taken);
    let r = panic_paths(&data, &ReachOptions::default()).unwrap();
    assert_eq!(r.entries.len(), 1);
    assert_eq!(entry(&r, "kmod_modevent").reachable_functions, 2);
    assert_eq!(r.indirect_sites, 0);
}

#[test]
fn pointer_slots_in_read_only_data_are_direct() {
    let m = Module {
        funcs: vec![
            f(cdev("open"), &[I::CallSlot("const_slot"), I::Ret]),
            f(cdev("close"), &[I::CallSlot("mutable_slot"), I::Ret]),
            f("target", &[I::Call("panic"), I::Ret]),
        ],
        rodata: vec![D::Label("const_slot"), D::Ptr("target")],
        data: vec![
            D::Label("mutable_slot"),
            D::Ptr("target"),
            D::Ptr(cdev("open")),
            D::Ptr(cdev("close")),
        ],
        ..Module::default()
    };
    let r = report(&m);
    let open = entry(&r, "kern::cdev::CdevSwVTable<T>::open");
    assert_eq!(open.paths[0].steps[1].via, Some(Via::Call));
    let close = entry(&r, "kern::cdev::CdevSwVTable<T>::close");
    assert_eq!(close.class, EntryClass::Close);
    assert_eq!(close.paths[0].steps[1].via, Some(Via::IndirectCall));
}

#[test]
fn got_calls_are_direct() {
    let m = Module {
        funcs: vec![
            // Through a slot of `kolink fix`'s GOT (writable only for the
            // kernel linker), and through a GOT relocation before the fix.
            f(cdev("read"), &[I::CallSlot("slot"), I::Ret]),
            f(cdev("write"), &[I::CallGot("target"), I::Ret]),
            f("target", &[I::Call("panic"), I::Ret]),
        ],
        got: vec![D::Label("slot"), D::Ptr("target")],
        data: vec![D::Ptr(cdev("read")), D::Ptr(cdev("write"))],
        ..Module::default()
    };
    let r = report(&m);
    for name in ["read", "write"] {
        let e = entry(&r, &format!("kern::cdev::CdevSwVTable<T>::{name}"));
        let vias: Vec<Option<Via>> = e.paths[0].steps.iter().map(|s| s.via).collect();
        assert_eq!(vias, [None, Some(Via::Call), Some(Via::Call)], "{name}");
    }
    assert_eq!(r.indirect_sites, 0);
}

#[test]
fn uncovered_code_is_a_conservative_root() {
    let m = Module {
        funcs: vec![
            f("kmod_modevent", &[I::CallIndirect, I::Ret]),
            F("hidden", vec![I::Call("panic"), I::Ret], false),
        ],
        data: vec![D::Ptr("kmod_modevent")],
        ..Module::default()
    };
    let r = report(&m);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("not covered by a function symbol")),
        "{:?}",
        r.notes
    );
    assert_eq!(r.paths_from(EntryClass::Modevent), 1);
    let gap = r.entries_of(EntryClass::Other).next().unwrap();
    assert_eq!(gap.name, "<.text+0x3>");
    assert_eq!(gap.paths[0].sink, "panic");
}

#[test]
fn panic_location_is_reported() {
    let m = Module {
        funcs: vec![
            f(
                cdev("ioctl"),
                &[I::LeaData("loc"), I::Call(bounds()), I::Ret],
            ),
            f(bounds(), &[I::Ret]),
        ],
        rodata: vec![
            D::Label("file"),
            D::Str("src/lib.rs"),
            D::Label("loc"),
            D::PtrData("file"),
            D::Word(10),
            D::Word(42 + 7 * (1 << 32)),
        ],
        data: vec![D::Ptr(cdev("ioctl"))],
        ..Module::default()
    };
    let r = report(&m);
    let e = entry(&r, "kern::cdev::CdevSwVTable<T>::ioctl");
    assert_eq!(e.paths[0].location.as_deref(), Some("src/lib.rs:42:7"));
    assert_eq!(e.sites[0].location.as_deref(), Some("src/lib.rs:42:7"));
    assert!(r.to_string().contains("(at src/lib.rs:42:7)"), "{r}");
}

#[test]
fn entry_specs_override_defaults() {
    let mut options = ReachOptions::default();
    options
        .apply_entry_specs(&["read=my_read", "read=*_rd", "extra_root"])
        .unwrap();
    let classes: Vec<(EntryClass, &str)> = options
        .entries
        .iter()
        .map(|e| (e.class, e.pattern.as_str()))
        .collect();
    assert_eq!(
        classes[..3],
        [
            (EntryClass::Read, "my_read"),
            (EntryClass::Read, "*_rd"),
            (EntryClass::Other, "extra_root"),
        ]
    );
    assert!(!classes.contains(&(EntryClass::Read, "*cdev*::*read")));
    assert!(classes.contains(&(EntryClass::Write, "*cdev*::*write")));
    assert!(options.apply_entry_specs(&["nosuch=x"]).is_err());
    assert!(options.apply_entry_specs(&["read="]).is_err());

    let m = Module {
        funcs: vec![
            f("my_read", &[I::Call("panic"), I::Ret]),
            f("extra_root", &[I::Ret]),
            f(cdev("read"), &[I::Ret]),
        ],
        ..Module::default()
    };
    let r = panic_paths(&m.build(), &options).unwrap();
    assert_eq!(entry(&r, "my_read").class, EntryClass::Read);
    assert_eq!(entry(&r, "extra_root").class, EntryClass::Other);
    // The default read pattern no longer applies (and the function is not
    // address-taken, so it is no root at all).
    assert_eq!(r.entries.len(), 2);
    assert_eq!(r.paths_from(EntryClass::Read), 1);
}

#[test]
fn json_report_parses() {
    let m = Module {
        funcs: vec![
            f("kmod_modevent", &[I::Call("fail\"quoted"), I::Ret]),
            f("fail\"quoted", &[I::Call("panic"), I::Ret]),
        ],
        data: vec![D::Ptr("kmod_modevent")],
        ..Module::default()
    };
    let r = report(&m);
    let v = json::parse(&r.to_json()).unwrap();
    assert_eq!(v.get("conservative"), &Json::Bool(true));
    assert_eq!(v.get("functions").as_u64(), 2);
    let classes = v.get("classes").as_array();
    assert_eq!(classes.len(), 7);
    let modevent = classes
        .iter()
        .find(|c| c.get("class").as_str() == "modevent")
        .unwrap();
    assert_eq!(modevent.get("paths").as_u64(), 1);
    let e = &v.get("entries").as_array()[0];
    assert_eq!(e.get("name").as_str(), "kmod_modevent");
    let steps = e.get("paths").as_array()[0].get("steps").as_array();
    let names: Vec<&str> = steps.iter().map(|s| s.get("name").as_str()).collect();
    assert_eq!(names, ["kmod_modevent", "fail\"quoted", "panic"]);
    assert_eq!(steps[1].get("via").as_str(), "call");
    assert_eq!(steps[1].get("site").as_str(), "0x0");
    assert_eq!(steps[0].get("via"), &Json::Null);
}

#[test]
fn json_parser_self_check() {
    let v =
        json::parse(r#" {"a": [1, 2.5, -3e2], "b": {"c": null, "d": true}, "e": "x\"\u00e9é"} "#)
            .unwrap();
    assert_eq!(v.get("a").as_array().len(), 3);
    assert_eq!(v.get("e").as_str(), "x\"éé");
    for bad in [
        "{",
        "[1,]",
        "{\"a\" 1}",
        "\"abc",
        "{} x",
        "{\"a\":1,\"a\":2}",
    ] {
        assert!(json::parse(bad).is_err(), "{bad}");
    }
}

fn kolink(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kolink"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

#[test]
fn command_line() {
    let dir = common::scratch("panic-paths-cli");
    let ko = dir.join("m.ko");
    let m = Module {
        funcs: vec![
            f("kmod_modevent", &[I::Call("panic"), I::Ret]),
            f("my_dtor", &[I::Ret]),
        ],
        data: vec![D::Ptr("kmod_modevent")],
        ..Module::default()
    };
    std::fs::write(&ko, m.build()).unwrap();

    // Paths exist: still exit 0.
    let out = kolink(&[&"panic-paths", &ko]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("[modevent] kmod_modevent -> panic"), "{text}");
    assert!(text.contains("conservative"), "{text}");

    let out = kolink(&[&"panic-paths", &ko, &"--json", &"--entry", &"close=my_*"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json::parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let classes: Vec<&str> = v
        .get("entries")
        .as_array()
        .iter()
        .map(|e| e.get("class").as_str())
        .collect();
    assert_eq!(classes, ["close", "modevent"]);

    // Malformed input: 1. Usage errors: 2.
    let bad = dir.join("bad.ko");
    std::fs::write(&bad, b"not an ELF file").unwrap();
    assert_eq!(kolink(&[&"panic-paths", &bad]).status.code(), Some(1));
    assert_eq!(
        kolink(&[&"panic-paths", &dir.join("missing.ko")])
            .status
            .code(),
        Some(1)
    );
    for args in [
        vec!["panic-paths"],
        vec!["panic-paths", "a.ko", "b.ko"],
        vec!["panic-paths", "a.ko", "--entry", "nosuch=x"],
        vec!["panic-paths", "a.ko", "--bogus"],
    ] {
        let argv: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as _).collect();
        let out = kolink(&argv);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// C module: static functions (calls the assembler resolves), a function
/// pointer table, and names like Rust's panic machinery.
const MODULE_C: &str = r#"
extern void panic(const char *, ...) __attribute__((noreturn));
extern int printf(const char *, ...);

void __attribute__((noinline)) rust_begin_unwind(const char *msg) { panic("%s", msg); }

static int __attribute__((noinline)) checked(int i) {
	if (i > 10)
		rust_begin_unwind("too big");
	return i * 2;
}

static int __attribute__((noinline)) harmless(int i) { return printf("%d\n", i); }

static int cb_a(int i) { return harmless(i); }
static int cb_b(int i) { return checked(i); }
int (*volatile callbacks[2])(int) = { cb_a, cb_b };

int echo_cdev_read(int i) { return harmless(i) + 1; }
int echo_cdev_ioctl(int i) { return callbacks[i & 1](i); }
int kmod_modevent(void *m, int what, void *arg) { (void)m; (void)arg; return checked(what); }
void *cdevsw[] = { echo_cdev_read, echo_cdev_ioctl, kmod_modevent };
"#;

#[test]
fn clang_object() {
    let Some(clang) = common::tool("clang-16") else {
        eprintln!("notice: clang-16 not found; skipping the C object test");
        return;
    };
    let dir = common::scratch("panic-paths-clang");
    let src = dir.join("m.c");
    let obj = dir.join("m.o");
    std::fs::write(&src, MODULE_C).unwrap();
    let status = Command::new(clang)
        .args([
            "-c",
            "-O2",
            "--target=x86_64-unknown-freebsd15.0",
            "-mcmodel=kernel",
            "-fno-pic",
            "-mno-red-zone",
            // With unwind tables: `.eh_frame` points at every function,
            // which must not make them address-taken.
            "-fasynchronous-unwind-tables",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(status.success());
    let data = std::fs::read(&obj).unwrap();

    let g = CallGraph::build(&data).unwrap();
    // `checked` is static: its call from kmod_modevent was resolved by the
    // assembler (or is a relocation against .text), either way an edge.
    let modevent = g.function_named("kmod_modevent").unwrap();
    let checked = g.function_named("checked").unwrap();
    assert!(
        g.functions[modevent]
            .calls
            .iter()
            .any(|c| c.callee == Callee::Function(checked)),
        "{:?}",
        g.functions[modevent].calls
    );

    let mut options = ReachOptions::default();
    options
        .apply_entry_specs(&["read=*cdev_read", "ioctl=*cdev_ioctl"])
        .unwrap();
    let r = panic_paths(&data, &options).unwrap();
    assert_eq!(r.paths_from(EntryClass::Read), 0, "{r}");
    assert_eq!(
        step_names(entry(&r, "kmod_modevent"), "rust_begin_unwind"),
        ["kmod_modevent", "checked", "rust_begin_unwind"]
    );
    // ioctl calls through the table: conservatively reaches cb_b's panic.
    let ioctl = entry(&r, "echo_cdev_ioctl");
    assert_eq!(ioctl.paths.len(), 1, "{r}");
    assert!(
        ioctl.paths[0]
            .steps
            .iter()
            .any(|s| s.via == Some(Via::IndirectCall) || s.via == Some(Via::IndirectJump))
    );
    // cb_a and cb_b are address-taken: other roots.
    let others: Vec<&str> = r
        .entries_of(EntryClass::Other)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(others, ["cb_a", "cb_b"], "{r}");
}

#[test]
fn real_modules() {
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build");
    let hello = build.join("hello.ko");
    if !hello.exists() {
        eprintln!(
            "notice: {} not built (run `cargo xtask build`); skipping the real-module test",
            hello.display()
        );
        return;
    }
    for ko in [hello, build.join("rustecho.ko")] {
        if !ko.exists() {
            eprintln!("notice: {} not built; skipped", ko.display());
            continue;
        }
        let out = kolink(&[&"panic-paths", &ko, &"--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json::parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
        let entries = v.get("entries").as_array();
        assert!(
            entries
                .iter()
                .any(|e| e.get("name").as_str() == "kmod_modevent"
                    && e.get("class").as_str() == "modevent"
                    && e.get("reachable_functions").as_u64() >= 1),
            "{}: {entries:?}",
            ko.display()
        );
        assert!(v.get("functions").as_u64() >= 1);
        let text = kolink(&[&"panic-paths", &ko]);
        assert_eq!(text.status.code(), Some(0));
        eprintln!("{}", String::from_utf8_lossy(&text.stdout));
    }
}
