// SPDX-License-Identifier: BSD-2-Clause
//! Load failure: each step of rustecho's `MOD_LOAD` fails in turn.
//!
//! - The device name is taken: another module (`namesquat.ko`, built from
//!   `reliability/namesquat/`) created `/dev/rustmodule` first.
//! - The sysctl node is taken: `hw.rustecho` is another module's leaf.
//! - Each sysctl leaf is taken: `hw.rustecho` is another module's node
//!   (which rustecho shares, as `sysctl_add_oid(9)` allows) holding a leaf
//!   of the same name, one leaf after the other.
//! - Each `M_NOWAIT` allocation fails, one after the other until the load
//!   succeeds. `M_WAITOK` ones never fail, in FreeBSD (`malloc()` in
//!   `sys/kern/kern_malloc.c` asserts it; `MALLOC_MAKE_FAILURES` fails only
//!   `M_NOWAIT`) as in the harness, and rustecho's load makes only those,
//!   so today the first load succeeds; the loop stays for a load that
//!   would make an `M_NOWAIT` allocation.
//!
//! Each time `kldload` fails with `ENOEXEC`, as FreeBSD's linker reports a
//! module whose `MOD_LOAD` failed; the kernel log shows the module's errno
//! (`module_register_init: MOD_LOAD (rustecho, ...) error N`); and nothing
//! is left: no device, no sysctl node or leaf, no file, no memory (the
//! module's malloc type is gone without a leak report, the kernel's own
//! types are back to their counts). Then the other module unloads cleanly
//! and rustecho loads and works.

use crate::Params;
use crate::tally::Tally;
use echo_testkit::DEFAULT_MESSAGE;
use harness::testing::module_path;
use harness::{Errno, FailPolicy, Kernel};

/// rustecho's sysctl leaves, in the order the module adds them.
const LEAVES: [&str; 9] = [
    "maxlen",
    "opens",
    "reads",
    "writes",
    "bytes_in",
    "bytes_out",
    "enomem",
    "efbig",
    "efault",
];

/// What a failed load must leave as it was.
#[derive(Debug, PartialEq, Eq)]
struct World {
    files: usize,
    devices: Vec<String>,
    hw: Vec<String>,
    rustecho_node: Option<Vec<String>>,
    /// Live allocations of every malloc type but the module's.
    kernel_allocs: Vec<(String, u64)>,
    rustecho_type: bool,
}

impl World {
    fn capture(k: &Kernel) -> Self {
        Self {
            files: k.kldstat().len(),
            devices: k.devices().into_iter().map(|d| d.name).collect(),
            hw: sorted(k.sysctl_children("hw").unwrap_or_default()),
            rustecho_node: k.sysctl_children("hw.rustecho").ok().map(sorted),
            kernel_allocs: k
                .malloc_types()
                .into_iter()
                .filter(|t| t.name != echo_testkit::MALLOC_TYPE)
                .map(|t| (t.name, t.live_allocs))
                .collect(),
            rustecho_type: k.malloc_stats(echo_testkit::MALLOC_TYPE).is_some(),
        }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Loads rustecho, expecting its `MOD_LOAD` to fail with `errno`, and
/// checks that nothing is left.
fn load_fails(k: &Kernel, t: &Tally, errno: Errno, what: &str) {
    let before = World::capture(k);
    k.clear_dmesg();
    let r = k.kldload(module_path(echo_testkit::MODULE));
    check_failed(k, t, &before, &r, errno, what);
}

/// Checks a load that must have failed with `errno`.
fn check_failed(
    k: &Kernel,
    t: &Tally,
    before: &World,
    r: &harness::SysResult<i32>,
    errno: Errno,
    what: &str,
) {
    t.op(r);
    assert!(
        matches!(&r, Err(e) if *e == Errno::ENOEXEC),
        "{what}: kldload gave {r:?}, want ENOEXEC\n{}",
        k.dmesg()
    );
    t.faults(1);
    let dmesg = k.dmesg();
    let line = dmesg
        .lines()
        .find(|l| l.contains("MOD_LOAD (rustecho,"))
        .unwrap_or_else(|| panic!("{what}: no MOD_LOAD line in dmesg:\n{dmesg}"));
    assert!(
        line.ends_with(&format!("error {}", errno.0)),
        "{what}: want the module's errno {} ({errno:?}) in: {line}",
        errno.0
    );
    assert!(
        !dmesg.contains(&format!("{} created", echo_testkit::DEV)),
        "{what}: {dmesg}"
    );
    let after = World::capture(k);
    if after.kernel_allocs != before.kernel_allocs {
        t.leak(1);
    }
    assert_eq!(&after, before, "{what}: something was left behind");
    assert!(
        !after.rustecho_type,
        "{what}: the malloc type is still there"
    );
    let v = t.absorb_kernel(k);
    assert!(v.is_empty(), "{what}: {v:?}");
}

/// With `namesquat.ko` loaded: `take` names `debug.namesquat_*` sysctls to
/// set first, then rustecho must fail with `errno`; then namesquat
/// unloads and rustecho loads and works.
fn squatted(t: &Tally, take: &[(&str, &str)], errno: Errno, what: &str) {
    let k = Kernel::new();
    let squat = k
        .kldload(module_path("namesquat"))
        .unwrap_or_else(|e| panic!("kldload namesquat.ko: {e:?}\n{}", k.dmesg()));
    for (knob, name) in take {
        k.sysctl_set(&format!("debug.namesquat_{knob}"), name)
            .unwrap_or_else(|e| panic!("{what}: namesquat {knob}={name}: {e:?}"));
    }
    load_fails(&k, t, errno, what);
    // The other module's names still work, and it unloads cleanly.
    if take.iter().any(|(knob, _)| *knob == "sysctl") {
        let leaf = take
            .iter()
            .find(|(knob, _)| *knob == "sysctl")
            .map(|(_, n)| format!("hw.{n}"))
            .unwrap_or_default();
        assert!(k.sysctl_get(&leaf).is_ok(), "{what}: {leaf} is gone");
    }
    k.kldunload(squat, false)
        .unwrap_or_else(|e| panic!("{what}: unload namesquat: {e:?}"));
    assert!(k.devices().is_empty(), "{what}: {:?}", k.devices());
    assert_eq!(
        k.sysctl_get("hw.rustecho").unwrap_err(),
        Errno::ENOENT,
        "{what}"
    );
    // rustecho loads once the names are free.
    let id = k.kldload(module_path(echo_testkit::MODULE)).unwrap();
    t.ops_ok(3);
    assert_eq!(echo_testkit::message(&k), DEFAULT_MESSAGE, "{what}");
    k.kldunload(id, false).unwrap();
    let v = t.absorb_kernel(&k);
    assert!(v.is_empty(), "{what}: {v:?}");
}

/// The scenario.
///
/// # Panics
/// On the first failed check.
pub fn run(_params: &Params, t: &Tally) {
    squatted(
        t,
        &[("dev", echo_testkit::DEV_NAME)],
        Errno::EEXIST,
        "device name taken",
    );
    squatted(
        t,
        &[("sysctl", "rustecho")],
        Errno::EEXIST,
        "sysctl node taken by a leaf",
    );
    for leaf in LEAVES {
        let name = format!("rustecho.{leaf}");
        squatted(
            t,
            &[("sysctl", &name)],
            Errno::EEXIST,
            &format!("sysctl leaf hw.rustecho.{leaf} taken"),
        );
    }
    // Each M_NOWAIT allocation of the load (M_WAITOK ones cannot fail).
    let mut steps = 0;
    for n in 1.. {
        let k = Kernel::new();
        let before = World::capture(&k);
        k.set_malloc_failures(FailPolicy::NthFromNow(n));
        let r = k.kldload(module_path(echo_testkit::MODULE));
        k.set_malloc_failures(FailPolicy::Never);
        if let Ok(id) = r {
            t.ops_ok(1);
            assert_eq!(echo_testkit::message(&k), DEFAULT_MESSAGE);
            k.kldunload(id, false).unwrap();
            let v = t.absorb_kernel(&k);
            assert!(v.is_empty(), "{v:?}");
            break;
        }
        let what = format!("allocation {n} of the load");
        check_failed(&k, t, &before, &r, Errno::ENOMEM, &what);
        steps += 1;
        assert!(n < 200, "the load never succeeded");
    }
    t.note(format!(
        "load: device name, sysctl node, {} sysctl leaves and {steps} M_NOWAIT allocations failed in turn (M_WAITOK ones never fail, as in FreeBSD)",
        LEAVES.len()
    ));
}
