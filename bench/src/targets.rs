// SPDX-License-Identifier: BSD-2-Clause
//! The modules under test, the kernel they share, and the round trip.

use harness::{Config, Kernel, O_RDWR};
use std::path::PathBuf;

/// One module under test.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    /// Short label in the report.
    pub(crate) label: &'static str,
    /// `build/NAME.ko`.
    pub(crate) module: &'static str,
    /// Its device.
    pub(crate) dev: &'static str,
    /// Its malloc type (`vmstat -m` name).
    pub(crate) mtype: &'static str,
    /// How a round trip reads the message back.
    pub(crate) read: ReadBack,
}

/// How a round trip reads back what it wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadBack {
    /// `pread(2)` at offset 0: the echo devices keep the message, and a
    /// read at 0 takes a new snapshot.
    AtZero,
    /// `read(2)`: the FIFOs hand out each byte once.
    Consume,
}

/// rustecho.ko (echo/), the module being measured.
pub(crate) const RUST: Target = Target {
    label: "Rust",
    module: "rustecho",
    dev: "/dev/rustmodule",
    mtype: "rustecho",
    read: ReadBack::AtZero,
};

/// cecho.ko (bench/c-echo), the C baseline.
pub(crate) const C: Target = Target {
    label: "C",
    module: "cecho",
    dev: "/dev/cecho",
    mtype: "cecho",
    read: ReadBack::AtZero,
};

/// Both, Rust first (index 0), C second (index 1).
pub(crate) const BOTH: [Target; 2] = [RUST, C];

/// rustfifo.ko (fifo/), the second module measured.
pub(crate) const FIFO_RUST: Target = Target {
    label: "Rust",
    module: "rustfifo",
    dev: "/dev/rustfifo",
    mtype: "rustfifo",
    read: ReadBack::Consume,
};

/// cfifo.ko (bench/c-fifo), its C baseline.
pub(crate) const FIFO_C: Target = Target {
    label: "C",
    module: "cfifo",
    dev: "/dev/cfifo",
    mtype: "cfifo",
    read: ReadBack::Consume,
};

/// The FIFOs, Rust first (index 0), C second (index 1).
pub(crate) const FIFOS: [Target; 2] = [FIFO_RUST, FIFO_C];

/// The pairs whose instructions, copies and allocations are measured:
/// the echo devices (index 0) and the FIFOs (index 1).
pub(crate) const PAIRS: [[Target; 2]; 2] = [BOTH, FIFOS];

/// Where a module is in [`PAIRS`]: `(pair, Rust 0 or C 1)`.
pub(crate) fn locate(module: &str) -> Option<(usize, usize)> {
    PAIRS.iter().enumerate().find_map(|(pi, pair)| {
        pair.iter()
            .position(|t| t.module == module)
            .map(|ti| (pi, ti))
    })
}

/// A Rust module and its C twin, compared by size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pair {
    /// What the pair shows, for the report.
    pub(crate) what: &'static str,
    /// `build/NAME.ko` of the Rust module and of its C twin.
    pub(crate) rust: &'static str,
    pub(crate) c: &'static str,
}

/// The pairs whose `.ko` sizes are compared: the device (the module being
/// measured) and the smallest module (a module's fixed cost: what kern
/// costs before a module does anything).
pub(crate) const SIZE_PAIRS: [Pair; 2] = [
    Pair {
        what: "the echo device",
        rust: "rustecho",
        c: "cecho",
    },
    Pair {
        what: "the smallest module (fixed cost)",
        rust: "hello",
        c: "chello",
    },
];

/// The FIFO device, whose size is compared beside its instructions.
pub(crate) const FIFO_PAIR: Pair = Pair {
    what: "the FIFO device",
    rust: "rustfifo",
    c: "cfifo",
};

/// Message sizes of the round trips.
pub(crate) const SIZES: [usize; 3] = [16, 4096, 65536];

/// `build/NAME.ko`.
pub(crate) fn ko_path(module: &str) -> PathBuf {
    harness::testing::build_dir().join(format!("{module}.ko"))
}

impl Target {
    /// The built module.
    pub(crate) fn path(&self) -> PathBuf {
        ko_path(self.module)
    }
}

/// One kernel with both modules of a pair loaded and one read-write file
/// open on each device.
pub(crate) struct Loaded {
    /// The kernel.
    pub(crate) k: Kernel,
    /// The pair, Rust first.
    pub(crate) targets: [Target; 2],
    /// The open file of each target, in `targets` order.
    pub(crate) fds: [i32; 2],
}

impl Loaded {
    /// Loads the echo modules ([`BOTH`]) into a fresh kernel, Rust first
    /// or C first, and opens their devices.
    pub(crate) fn new(rust_first: bool) -> Result<Self, String> {
        Self::of(BOTH, rust_first)
    }

    /// Loads the modules of `targets` into a fresh kernel, Rust first or
    /// C first, and opens their devices.
    pub(crate) fn of(targets: [Target; 2], rust_first: bool) -> Result<Self, String> {
        let k = Kernel::with_config(Config {
            echo_console: false,
            ..Config::default()
        });
        let mut fds = [0; 2];
        let order = if rust_first { [0, 1] } else { [1, 0] };
        for which in order {
            let (t, fd) = (&targets[which], &mut fds[which]);
            let path = t.path();
            if !path.is_file() {
                return Err(format!(
                    "{} does not exist: run `make` first",
                    path.display()
                ));
            }
            k.kldload(&path)
                .map_err(|e| format!("kldload {}: {e}", path.display()))?;
            *fd = k
                .open(t.dev, O_RDWR)
                .map_err(|e| format!("open {}: {e}", t.dev))?;
        }
        Ok(Self { k, targets, fds })
    }

    /// `(address, size)` of a loaded module's mapping (`kldstat`).
    pub(crate) fn mapping(&self, t: &Target) -> Result<(usize, usize), String> {
        let name = format!("{}.ko", t.module);
        self.k
            .kldstat()
            .into_iter()
            .find(|s| s.name == name)
            .map(|s| (s.address, s.size))
            .ok_or_else(|| format!("{name} is not loaded"))
    }

    /// Closes the files, unloads the modules and checks that the kernel
    /// recorded no violation.
    pub(crate) fn finish(self) -> Result<(), String> {
        for fd in self.fds {
            self.k.close(fd).map_err(|e| format!("close: {e}"))?;
        }
        for t in self.targets {
            self.k
                .kldunload(t.module, false)
                .map_err(|e| format!("kldunload {}: {e}", t.module))?;
        }
        self.k.check()
    }
}

/// The payload of a round trip of `size` bytes: a pattern that is not
/// all one byte, so that a wrong offset shows.
pub(crate) fn payload(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| u8::try_from(i % 251).unwrap_or(0))
        .collect()
}

impl Target {
    /// Reads the message back as a round trip does ([`ReadBack`]).
    pub(crate) fn read_back(
        &self,
        k: &Kernel,
        fd: i32,
        back: &mut [u8],
    ) -> harness::SysResult<usize> {
        match self.read {
            ReadBack::AtZero => k.pread(fd, back, 0),
            ReadBack::Consume => k.read(fd, back),
        }
    }
}

/// One round trip on `t`: `write(2)` the payload, then read it back: with
/// `pread(2)` at offset 0 (a new snapshot of the message) on an echo
/// device, with `read(2)` on a FIFO.
pub(crate) fn round_trip(
    k: &Kernel,
    t: &Target,
    fd: i32,
    payload: &[u8],
    back: &mut [u8],
) -> Result<(), String> {
    let n = k.write(fd, payload).map_err(|e| format!("write: {e}"))?;
    if n != payload.len() {
        return Err(format!("short write: {n} of {}", payload.len()));
    }
    let n = t.read_back(k, fd, back).map_err(|e| format!("read: {e}"))?;
    if n != payload.len() {
        return Err(format!("short read: {n} of {}", payload.len()));
    }
    Ok(())
}
