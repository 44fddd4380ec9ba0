// SPDX-License-Identifier: BSD-2-Clause
//! `kldsim`: runs FreeBSD shell commands (`kldload`, `kldunload`,
//! `kldstat`, `echo > /dev/X`, `cat`, `dd`, `sysctl`, `ls -l /dev`,
//! `dmesg`) against the test kernel. See [`harness::sim`].

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(harness::sim::main_with_args(&args));
}
