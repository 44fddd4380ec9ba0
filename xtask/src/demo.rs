// SPDX-License-Identifier: BSD-2-Clause
//! `make demo`: the README's FreeBSD walkthrough, run in the test kernel.
//!
//! The same commands a user types on FreeBSD (`kldload`, `echo >`, `cat`,
//! `dd`, `sysctl`, `kldunload`) run in `kldsim` against the built
//! `rustecho.ko`, `rustfifo.ko` and `rustedu.ko` (on an edu device on the
//! simulated PCI bus, `--pci edu`), and the kernel log is printed at the
//! end.

use crate::workspace::{Workspace, run};
use std::process::Command;

/// The walkthrough, one command per line.
const SCRIPT: &str = "\
kldload ./build/rustecho.ko
ls -l /dev/rustmodule
cat /dev/rustmodule
echo \"hi rust\" > /dev/rustmodule
cat /dev/rustmodule
kldunload rustecho
kldload ./build/rustfifo.ko
ls -l /dev/rustfifo
echo hello > /dev/rustfifo
dd if=/dev/rustfifo bs=6 count=1
sysctl hw.rustfifo
kldunload rustfifo
kldload ./build/rustedu.ko
sysctl dev.rustedu.0.factorial=10
sysctl dev.rustedu.0.factorial
echo hello-dma > /dev/rustedu0
dd if=/dev/rustedu0 bs=10 count=1
sysctl dev.rustedu.0.dma
devctl detach rustedu0
kldunload rustedu
dmesg
";

/// Runs the walkthrough with `kldsim -x` (each command shown after a root
/// prompt, as on a FreeBSD console).
pub(crate) fn demo(ws: &Workspace) -> crate::Result {
    run(Command::new(&ws.cargo)
        .current_dir(&ws.root)
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "harness",
            "--bin",
            "kldsim",
            "--",
        ])
        .args(["--pci", "edu", "-x", "-c", SCRIPT]))
}
