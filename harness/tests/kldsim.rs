// SPDX-License-Identifier: BSD-2-Clause
//! The `kldsim` command: scripts of FreeBSD shell commands, run as a
//! separate process, printing what FreeBSD prints.

use std::process::{Command, Output};

fn kldsim(args: &[&str], stdin: Option<&str>) -> Output {
    let dir = harness::testing::build_dir();
    // Make sure the modules exist (clear message otherwise).
    assert!(harness::testing::module_path("kldtest_cdev").is_file());
    let mut c = Command::new(env!("CARGO_BIN_EXE_kldsim"));
    c.current_dir(&dir).args(args);
    match stdin {
        Some(text) => {
            use std::io::Write;
            let mut child = c
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        }
        None => c.output().unwrap(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn echo_cat_and_kldstat() {
    let o = kldsim(
        &[
            "-c",
            "kldload ./kldtest_cdev.ko; echo hello world > /dev/kldtest_cdev; cat /dev/kldtest_cdev; kldstat; kldunload kldtest_cdev; kldstat",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hello world");
    assert_eq!(lines[1], "Id Refs Address                Size Name");
    assert_eq!(lines[2], " 1    3 0xffffffff80200000  1f11c48 kernel");
    assert!(
        lines[3].starts_with(" 2    1         0x") && lines[3].ends_with(" kldtest_cdev.ko"),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "Id Refs Address                Size Name");
    assert_eq!(lines[5], " 1    1 0xffffffff80200000  1f11c48 kernel");
    assert_eq!(lines.len(), 6);
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn freebsd_error_messages_and_exit_status() {
    let script = "\
kldload ./kldtest_loadfail.ko
kldload ./kldtest_version.ko
kldload ./kldtest_cdevpriv.ko
kldload ./kldtest_cdevpriv.ko
kldload ./kldtest_cdev.ko
true
";
    let o = kldsim(&[], Some(script));
    assert_eq!(
        o.status.code(),
        Some(1),
        "last failing command was a kldload"
    );
    assert_eq!(
        text(&o.stderr),
        "kldload: an error occurred while loading module ./kldtest_loadfail.ko. Please check dmesg(8) for more details.\n\
         kldload: can't load ./kldtest_version.ko: No such file or directory\n\
         kldsim: dmesg: KLD kldtest_version.ko: depends on kernel - not available or version mismatch\n\
         kldload: can't load ./kldtest_cdevpriv.ko: module already loaded or in kernel\n"
    );
}

#[test]
fn device_errors_and_sysctl() {
    let path = std::env::temp_dir().join(format!("kldsim-{}.sh", std::process::id()));
    std::fs::write(
        &path,
        "kldload ./kldtest_cdev.ko\n\
         kldload ./kldtest_sysctl.ko\n\
         sysctl hw.kldtest.value\n\
         sysctl hw.kldtest.value=7\n\
         sysctl -n hw.kldtest.sub\n\
         sysctl hw.kldtest.counter=1\n\
         sysctl hw.nosuch\n\
         printf 'abc\\n' > /dev/kldtest_cdev\n\
         dd if=/dev/kldtest_cdev bs=2 count=1\n\
         echo\n\
         cat /dev/nosuch\n\
         sysctl debug.kldtest_cdev_gate=0\n\
         ls -l /dev\n",
    )
    .unwrap();
    let o = kldsim(&[path.to_str().unwrap()], None);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stdout),
        "hw.kldtest.value: 42\n\
         hw.kldtest.value: 42 -> 7\n\
         99\n\
         ab\n\
         debug.kldtest_cdev_gate: 0 -> 0\n\
         total 0\n\
         crw-rw-rw-  1 root  wheel 0x40 Jan  1 00:00 kldtest_cdev\n"
    );
    let err = text(&o.stderr);
    let err: Vec<&str> = err.lines().collect();
    assert_eq!(err[0], "sysctl: oid 'hw.kldtest.counter' is read only");
    assert_eq!(err[1], "sysctl: unknown oid 'hw.nosuch'");
    assert_eq!(err[2], "1+0 records in");
    assert_eq!(err[3], "1+0 records out");
    assert!(err[4].starts_with("2 bytes transferred in "));
    assert_eq!(err[5], "cat: /dev/nosuch: No such file or directory");
}

#[test]
fn permissions_busy_devices_and_uprintf() {
    let o = kldsim(
        &[
            "-c",
            "kldload ./kldtest_uprintf.ko; kldload ./kldtest_quiesce.ko; kldunload kldtest_quiesce; kldunload -f kldtest_quiesce; \
             kldload ./kldtest_sleep.ko; kldunload -v kldtest_uprintf; echo x > /dev/nosuch",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "a failed redirection is status 2");
    assert_eq!(
        text(&o.stdout),
        "kldtest_uprintf: hello, terminal 1\nUnloading kldtest_uprintf.ko, id=2\nkldtest_uprintf: goodbye, terminal\n"
    );
    assert_eq!(
        text(&o.stderr),
        "kldunload: can't unload file: Device busy\nsh: cannot create /dev/nosuch: No such file or directory\n"
    );
}

#[test]
fn hello_and_dmesg() {
    let o = kldsim(&["-c", "kldload ./hello.ko; kldunload hello; dmesg"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.lines().any(|l| l.starts_with("hello: ")), "{out}");
}

#[test]
fn kldstat_verbose_lists_each_files_modules() {
    let o = kldsim(
        &[
            "-c",
            "kldload ./kldtest_cdev.ko; kldload ./kldtest_sysinit.ko; kldstat -v; \
             kldstat -v -n kldtest_sysinit; kldstat -m kldtest_sysinit; kldstat -i 9",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "kldstat -i 9 failed last");
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    let head = "Id Refs Address                Size Name";
    assert_eq!(lines[0], head);
    assert_eq!(
        lines[1],
        " 1    5 0xffffffff80200000  1f11c48 kernel (/boot/kernel/kernel)"
    );
    assert_eq!(lines[2], "\tContains modules:");
    assert_eq!(lines[3], "\t\t Id Name");
    assert!(
        lines[4].starts_with(" 2    1         0x")
            && lines[4].ends_with(" kldtest_cdev.ko (./kldtest_cdev.ko)"),
        "{}",
        lines[4]
    );
    assert_eq!(
        lines[5..8],
        [
            "\tContains modules:",
            "\t\t Id Name",
            "\t\t  1 kldtest_cdev"
        ]
    );
    assert!(lines[8].ends_with(" kldtest_sysinit.ko (./kldtest_sysinit.ko)"));
    assert_eq!(
        lines[9..12],
        [
            "\tContains modules:",
            "\t\t Id Name",
            "\t\t  2 kldtest_sysinit"
        ]
    );
    // -n: the header and that file only.
    assert_eq!(lines[12], head);
    assert_eq!(lines[13], lines[8]);
    assert_eq!(lines[14..17], lines[9..12]);
    // -m: the module.
    assert_eq!(lines[17..19], ["Id  Refs Name", "  2    1 kldtest_sysinit"]);
    // -i of no file: the header, then the error.
    assert_eq!(lines[19], head);
    assert_eq!(lines.len(), 20);
    assert_eq!(
        text(&o.stderr),
        "kldstat: can't stat file id 9: No such file or directory\n"
    );
}

#[test]
fn kldstat_quiet_and_usage() {
    let o = kldsim(
        &[
            "-c",
            "kldload ./kldtest_cdev.ko; kldstat -q -n kldtest_cdev",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "");
    let o = kldsim(&["-c", "kldstat -q -m kldtest_cdev"], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "");
    let o = kldsim(&["-c", "kldstat -m kldtest_cdev; kldstat -z"], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "kldstat: can't find module kldtest_cdev: No such file or directory\n\
         usage: kldstat [-dhqv] [-i id] [-n filename]\n       kldstat [-dq] [-m modname]\n"
    );
}

/// A line of `vmstat -m` for `t`, as `domemstat_malloc` prints it without
/// humanizing.
fn vmstat_line(t: &harness::MallocStats) -> String {
    let sizes: Vec<String> = t.sizes.iter().map(ToString::to_string).collect();
    format!(
        "{:>16} {:>4} {:>5} {:>4} {}",
        t.name,
        t.live_allocs,
        t.live_bytes,
        t.total_allocs,
        sizes.join(",")
    )
}

#[test]
fn vmstat_m_shows_every_used_malloc_type() {
    let o = kldsim(
        &[
            "-c",
            "vmstat -m; kldload ./kldtest_malloc.ko; kldload ./kldtest_cdev.ko; \
             echo hi > /dev/kldtest_cdev; vmstat -m; kldunload kldtest_cdev; vmstat -Hm",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The same steps through the API give the figures to expect.
    let k = harness::Kernel::new();
    let path = |m| harness::testing::module_path(m);
    k.kldload(path("kldtest_malloc")).unwrap();
    let cdev = k.kldload(path("kldtest_cdev")).unwrap();
    let fd = k.open("/dev/kldtest_cdev", harness::O_WRONLY).unwrap();
    k.write(fd, b"hi\n").unwrap();
    k.close(fd).unwrap();
    let head = "            Type  Use Memory Req Size(s)";
    let table = |k: &harness::Kernel| -> Vec<String> {
        std::iter::once(head.to_owned())
            .chain(
                k.memstat_malloc()
                    .iter()
                    .filter(|t| t.total_allocs > 0 || t.live_allocs > 0)
                    .map(vmstat_line),
            )
            .collect()
    };
    let loaded = table(&k);
    k.kldunload(cdev, false).unwrap();
    let unloaded = table(&k);
    let mut want = vec![head.to_owned()];
    want.extend(loaded.iter().cloned());
    want.extend(unloaded.iter().cloned());
    let out = text(&o.stdout);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, want);
    // The types are in registration order: the kernel's cdev type, then
    // the modules'; a module's type goes with it, the kernel's stays.
    let names = |t: &[String]| -> Vec<String> {
        t.iter()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(names(&loaded), ["DEVFS1", "kldtest_malloc", "kldtest_cdev"]);
    assert_eq!(names(&unloaded), ["DEVFS1", "kldtest_malloc"]);
    let devfs = &k.memstat_malloc()[2];
    assert_eq!((devfs.live_allocs, devfs.total_allocs), (0, 1));
    assert_eq!(devfs.sizes.len(), 1);
}

#[test]
fn vmstat_without_m_is_not_emulated() {
    let o = kldsim(&["-c", "vmstat"], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "kldsim: vmstat: only -m (with -H) is emulated\n"
    );
}

#[test]
fn the_kernel_version_and_leaking_locals_are_boot_settings() {
    let script = "kldload ./kldtest_newer.ko; kldstat";
    let o = kldsim(&["-c", script], None);
    assert_eq!(
        text(&o.stderr),
        "kldload: can't load ./kldtest_newer.ko: No such file or directory\n\
         kldsim: dmesg: KLD kldtest_newer.ko: depends on kernel - not available or version mismatch\n"
    );
    let o = kldsim(&["-t", "kern.osreldate=1501000", "-c", script], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).ends_with(" kldtest_newer.ko\n"));
    // A consumer bound to a local symbol of its dependency loads by
    // default and not with debug.link_elf_obj_leak_locals=0.
    let m = harness::testing::TempModule::patched("kldtest_consumer", |b| {
        assert!(harness::testing::patch::rename_undefined(
            b, "strlen", "prvloc"
        ));
    });
    let script = format!(
        "kldload ./kldtest_provider.ko; kldload {}; dmesg",
        m.path().display()
    );
    let o = kldsim(&["-c", &script], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("kldtest_consumer: strlen returned 3000\n"));
    let o = kldsim(
        &["-t", "debug.link_elf_obj_leak_locals=0", "-c", &script],
        None,
    );
    assert!(
        text(&o.stdout).contains("link_elf_obj: symbol prvloc undefined\n"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(
        text(&o.stderr),
        format!(
            "kldload: can't load {}: No such file or directory\n\
             kldsim: dmesg: link_elf_obj: symbol prvloc undefined\n",
            m.path().display()
        )
    );
    let o = kldsim(&["-t", "kern.nosuch=1"], None);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr), "kldsim: -t kern.nosuch: unknown setting\n");
}

#[test]
fn a_direct_access_to_user_memory_shows_freebsds_fatal_trap() {
    let o = kldsim(
        &[
            "-c",
            "kldload ./kldtest_smap.ko; echo hi > /dev/kldtest_smap; echo after",
        ],
        None,
    );
    let err = text(&o.stderr);
    assert!(
        err.contains("\nFatal trap 12: page fault while in kernel mode\n"),
        "{err}"
    );
    assert!(err.contains("fault virtual address\t= 0x"), "{err}");
    assert!(
        err.contains("fault code\t\t= supervisor read data, protection violation\n"),
        "{err}"
    );
    assert!(err.contains("instruction pointer\t= 0x20:0x"), "{err}");
    assert!(
        err.contains("instruction pointer is in kldtest_smap_write+0x"),
        "{err}"
    );
    assert!(err.contains("panic: page fault"), "{err}");
    assert_ne!(o.status.code(), Some(0));
}

#[test]
fn the_trace_shows_each_entry_points_peak_stack_use() {
    let o = kldsim(
        &[
            "-x",
            "-c",
            "kldload ./rustecho.ko; echo hi > /dev/rustmodule; cat /dev/rustmodule; kldunload rustecho",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("# kernel stack use: peak bytes, calls, entry point\n"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.ends_with("  kern::cdev::cdev_write"))
        .unwrap_or_else(|| panic!("{out}"));
    let bytes: usize = line
        .trim_start_matches('#')
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(bytes > 0 && bytes < 2048, "{line}");
}

#[test]
fn a_kernel_stack_overflow_shows_the_double_fault() {
    let o = kldsim(
        &[
            "-c",
            "kldload ./kldtest_stack.ko; echo x > /dev/kldtest_stack",
        ],
        None,
    );
    let err = text(&o.stderr);
    assert!(err.contains("Fatal double fault\nrip 0x"), "{err}");
    assert!(
        err.contains("kernel stack overflow in kldtest_stack_write"),
        "{err}"
    );
    assert!(err.contains("panic: double fault"), "{err}");
    assert_ne!(o.status.code(), Some(0));
}

#[test]
fn poll_sleep_and_timeout_on_blocking_devices() {
    let script = "\
kldload ./kldtest_poll.ko
poll -t 100 /dev/kldtest_poll
poll -w /dev/kldtest_poll
echo -n abc > /dev/kldtest_poll
poll -t 100 -r /dev/kldtest_poll
sleep 0.05
kldload ./kldtest_block.ko
echo hi > /dev/kldtest_block
timeout 0.3 cat /dev/kldtest_block
";
    let t0 = std::time::Instant::now();
    let o = kldsim(&["-c", script], None);
    assert!(t0.elapsed() >= std::time::Duration::from_millis(300));
    // timeout(1)'s status for a command it had to kill.
    assert_eq!(o.status.code(), Some(124), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "/dev/kldtest_poll: timeout\n/dev/kldtest_poll: POLLOUT\n/dev/kldtest_poll: POLLIN POLLRDNORM\nhi\n"
    );
    assert_eq!(text(&o.stderr), "");
}
