// SPDX-License-Identifier: BSD-2-Clause
//! Proof that `rustecho.ko`, `rustfifo.ko` and `rustedu.ko` survive
//! faults: what `make test` and `make soak` run on the real
//! `build/rustecho.ko`, `build/rustfifo.ko` and `build/rustedu.ko`, in
//! the harness, so
//! that a module kept loaded for months is shown to survive memory
//! running out, bad pointers, bad input, many threads and unloads.
//!
//! Each scenario drives the module through the test kernel
//! ([`harness::Kernel`]), injects faults with the harness's knobs (failed
//! `M_NOWAIT` allocations (`M_WAITOK` ones never fail, as in FreeBSD),
//! `EFAULT` at a chosen byte of a system call's buffers) and records what
//! it did and found in a [`tally::Tally`]: operations, faults that fired,
//! errors by errno, and the figures that must stay zero (leaks, kernel
//! panics, torn reads, lock-order or sleep violations, disclosed bytes,
//! panic sites reachable from the I/O paths, failed checks). The
//! `reliability` binary runs them all and prints the table
//! ([`report`]); `--soak` runs the long variants.
//!
//! | scenario | module |
//! | --- | --- |
//! | allocation-failure sweep, every allocation failing, 1 in N | [`alloc`] |
//! | each load step failing | [`load`] |
//! | `EFAULT` at each byte and iovec boundary | [`efault`] |
//! | bad input: sizes, iovec counts, offsets, ioctls, sysctls, open flags | [`input`] |
//! | 8+ threads at random, with a deadlock watchdog | [`stress`] |
//! | unload while threads are inside read and write | [`unload`] |
//! | load/unload cycles with I/O, memory flat | [`soak`] |
//! | model-based fuzzing with proptest, shrunk on failure | [`fuzz`] (the model: [`model`]) |
//! | no panic reachable from I/O (`kolink::panic_paths`) | [`panics`] |
//! | no read returns bytes that were not written | [`disclosure`] |
//! | the same on `rustfifo.ko`, with sleepers, wakeups, poll and kqueue, checksummed streams | [`fifo`] (the `fifo-*` scenarios) |
//! | `rustedu.ko`: attach fault sweep, interrupt storms and strays, interrupts during unload, register fuzzing, attach/detach soak | [`edu`] (the `edu-*` scenarios) |
//!
//! What the suite knows about the module (its defaults, limits, device and
//! ioctl commands) and the helpers that read the device's state come from
//! [`echo_testkit`], the crate the harness's own `rustecho_*` tests use;
//! [`device`] adds counted operations and state snapshots on top.
//!
//! A panic in this crate is a failed check: the runner catches it per
//! scenario and the run fails.

pub mod alloc;
pub mod device;
pub mod disclosure;
pub mod doc;
pub mod edu;
pub mod efault;
pub mod fifo;
pub mod fuzz;
pub mod input;
pub mod load;
pub mod model;
pub mod panics;
pub mod report;
pub mod scenario;
pub mod soak;
pub mod stress;
pub mod tally;
pub mod unload;

pub use scenario::{Params, Scenario, run_all};
pub use tally::Tally;
