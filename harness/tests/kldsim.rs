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
