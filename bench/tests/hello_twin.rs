// SPDX-License-Identifier: BSD-2-Clause
//! chello.ko (bench/c-hello) behaves as hello.ko (hello/), so that the
//! benchmark's size comparison of the two measures a module's fixed cost
//! and not a difference in what they do.
//!
//! Both modules are loaded into one kernel; every step is done on each and
//! must give the same result (the names differ: `hw.hello` and
//! `hw.chello`, and the greeting says which language it comes from).

use harness::testing::module_path;
use harness::{Cred, Errno, Kernel, SysctlValue};

/// One of the two modules.
struct Twin {
    /// `build/NAME.ko`, the sysctl node `hw.NAME` and the dmesg prefix.
    name: &'static str,
    /// The greeting at load, after the prefix.
    greeting: &'static str,
}

const TWINS: [Twin; 2] = [
    Twin {
        name: "hello",
        greeting: "Hello from Rust, FreeBSD 15",
    },
    Twin {
        name: "chello",
        greeting: "Hello from C, FreeBSD 15",
    },
];

impl Twin {
    fn load(&self, k: &Kernel) -> i32 {
        k.kldload(module_path(self.name))
            .unwrap_or_else(|e| panic!("kldload {}: {e}", self.name))
    }

    fn oid(&self, leaf: &str) -> String {
        format!("hw.{}.{leaf}", self.name)
    }

    fn uint(&self, k: &Kernel, leaf: &str) -> u64 {
        match k.sysctl_get(&self.oid(leaf)) {
            Ok(SysctlValue::Uint(v)) => v,
            other => panic!("{}: {other:?}", self.oid(leaf)),
        }
    }

    /// Writes `leaf`; the errno of a refusal.
    fn set(&self, k: &Kernel, leaf: &str, value: &str) -> Result<(), Option<Errno>> {
        k.sysctl_set(&self.oid(leaf), value).map_err(|e| e.errno())
    }

    /// The goodbye lines of `n` repeats.
    fn goodbyes(&self, n: u64) -> String {
        (1..=n)
            .map(|i| format!("{}: Goodbye ({i}/{n})\n", self.name))
            .collect()
    }
}

/// A kernel with both modules loaded; their ids in [`TWINS`] order.
fn both() -> (Kernel, [i32; 2]) {
    let k = Kernel::new();
    let ids = [TWINS[0].load(&k), TWINS[1].load(&k)];
    (k, ids)
}

#[test]
fn both_greet_on_load_and_create_the_same_nodes() {
    let (k, ids) = both();
    for t in &TWINS {
        let line = format!("{}: {}\n", t.name, t.greeting);
        assert!(k.dmesg().contains(&line), "{line:?} in {}", k.dmesg());
        let mut children = k.sysctl_children(&format!("hw.{}", t.name)).unwrap();
        children.sort();
        assert_eq!(children, ["rejected", "repeat"], "{}", t.name);
        assert_eq!(t.uint(&k, "repeat"), 1, "{}", t.name);
        assert_eq!(t.uint(&k, "rejected"), 0, "{}", t.name);
    }
    for (t, id) in TWINS.iter().zip(ids) {
        k.clear_dmesg();
        k.kldunload(id, false).unwrap();
        assert_eq!(k.dmesg(), t.goodbyes(1), "{}", t.name);
    }
    k.check().unwrap();
}

#[test]
fn both_validate_the_tunable_and_count_refusals_alike() {
    let (k, ids) = both();
    for t in &TWINS {
        assert_eq!(t.set(&k, "repeat", "3"), Ok(()), "{}", t.name);
        assert_eq!(t.uint(&k, "repeat"), 3, "{}", t.name);
        assert_eq!(t.set(&k, "repeat", "10"), Ok(()), "{}", t.name);
        for bad in ["0", "11", "18446744073709551615"] {
            assert_eq!(
                t.set(&k, "repeat", bad),
                Err(Some(Errno::EINVAL)),
                "{} {bad}",
                t.name
            );
            assert_eq!(
                t.uint(&k, "repeat"),
                10,
                "{}: unchanged after {bad}",
                t.name
            );
        }
        assert_eq!(t.uint(&k, "rejected"), 3, "{}", t.name);
        assert_eq!(t.set(&k, "repeat", "2"), Ok(()), "{}", t.name);
    }
    for (t, id) in TWINS.iter().zip(ids) {
        k.clear_dmesg();
        k.kldunload(id, false).unwrap();
        assert_eq!(k.dmesg(), t.goodbyes(2), "one line per repeat: {}", t.name);
    }
    k.check().unwrap();
}

#[test]
fn both_zero_the_counter_on_a_root_write_and_keep_the_tunable_root_only() {
    let (k, ids) = both();
    let user = k.with_cred(Cred::user(1001, 1001));
    for t in &TWINS {
        assert_eq!(t.set(&k, "repeat", "0"), Err(Some(Errno::EINVAL)));
        assert_eq!(t.uint(&k, "rejected"), 1, "{}", t.name);
        assert_eq!(
            t.set(&user, "rejected", "5"),
            Err(Some(Errno::EPERM)),
            "{}",
            t.name
        );
        // sysctl_handle_counter_u64: any write zeroes the counter.
        assert_eq!(t.set(&k, "rejected", "5"), Ok(()), "{}", t.name);
        assert_eq!(t.uint(&k, "rejected"), 0, "{}", t.name);
        assert_eq!(t.uint(&user, "repeat"), 1, "{}: anyone may read", t.name);
        assert_eq!(
            t.set(&user, "repeat", "2"),
            Err(Some(Errno::EPERM)),
            "{}",
            t.name
        );
        assert_eq!(t.uint(&k, "repeat"), 1, "{}", t.name);
        assert_eq!(
            t.uint(&k, "rejected"),
            0,
            "{}: EPERM is not a refusal",
            t.name
        );
    }
    for id in ids {
        k.kldunload(id, false).unwrap();
    }
    k.check().unwrap();
}

#[test]
fn both_take_a_valid_loader_tunable_at_load() {
    for (value, repeat) in [("4", 4), ("0x3", 3), ("11", 1), ("2k", 1), ("x", 1)] {
        let k = Kernel::new();
        for t in &TWINS {
            k.kenv_set(&t.oid("repeat"), value);
        }
        let ids = [TWINS[0].load(&k), TWINS[1].load(&k)];
        for t in &TWINS {
            assert_eq!(t.uint(&k, "repeat"), repeat, "{} {value}", t.name);
        }
        for id in ids {
            k.kldunload(id, false).unwrap();
        }
        k.check().unwrap();
    }
}

#[test]
fn both_remove_their_nodes_at_unload_and_load_again() {
    let (k, ids) = both();
    for (t, id) in TWINS.iter().zip(ids) {
        k.kldunload(id, false).unwrap();
        assert_eq!(
            k.sysctl_get(&format!("hw.{}", t.name)).unwrap_err().errno(),
            Some(Errno::ENOENT),
            "{}",
            t.name
        );
        if let Some(stats) = k.malloc_stats(t.name) {
            assert_eq!(stats.live_allocs, 0, "{}: {stats:?}", t.name);
        }
        // Nothing of the first load is left: the value starts over.
        let id = t.load(&k);
        assert_eq!(t.uint(&k, "repeat"), 1, "{}", t.name);
        k.kldunload(id, false).unwrap();
    }
    k.check().unwrap();
}
