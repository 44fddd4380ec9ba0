// SPDX-License-Identifier: BSD-2-Clause
//! `EFAULT` sweep: a write and a read of `maxlen` bytes whose user buffer
//! faults at one byte offset, for each offset (every offset up to 64, then
//! the boundaries and powers of two; every offset up to `maxlen` under
//! `--soak`), and `writev`/`readv` faulting around each iovec boundary.
//!
//! Each time: `EFAULT` is returned; the message is still the old one, byte
//! for byte, with its generation; only `hw.rustecho.efault` moved; the
//! module's live allocations are what they were (the writes fit the spare
//! buffer, so a failed write must not keep or lose one).

use crate::Params;
use crate::device::{Counters, Dev, live_allocs, pattern};
use crate::tally::Tally;
use echo_testkit::DEFAULT_MAXLEN;
use harness::{Errno, Kernel, O_RDONLY, O_RDWR, SysResult, Whence};

const MAXLEN: usize = DEFAULT_MAXLEN as usize;

/// The offsets of the quick sweep: 0 to 64, each power of two and its
/// neighbours, and the last byte.
fn quick_offsets(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..=64).collect();
    let mut p = 128;
    while p < len {
        v.extend([p - 1, p, p + 1]);
        p *= 2;
    }
    v.extend([len - 2, len - 1]);
    v.retain(|&o| o < len);
    v.sort_unstable();
    v.dedup();
    v
}

/// Iovec layouts for the boundary sweep.
const LAYOUTS: [&[usize]; 4] = [
    &[1, 0, 2, 61, 4096, 1000],
    &[4096, 4096, 4096, 4096],
    &[1; 64],
    &[7, 0, 0, 9, 65_000],
];

/// The offsets around each boundary of `lens`.
fn boundary_offsets(lens: &[usize]) -> Vec<usize> {
    let total: usize = lens.iter().sum();
    let mut v = vec![0, total - 1];
    let mut at = 0;
    for &l in lens {
        at += l;
        v.extend([at.saturating_sub(1), at, at + 1]);
    }
    v.retain(|&o| o < total);
    v.sort_unstable();
    v.dedup();
    v
}

struct Sweep<'a, 't> {
    d: &'a Dev<'t>,
    old: Vec<u8>,
    generation: u64,
    live: u64,
    what: &'static str,
}

impl Sweep<'_, '_> {
    /// Makes byte `at` fault, runs `op`, and checks.
    fn one(&self, at: usize, op: impl FnOnce() -> SysResult<usize>) {
        let k: &Kernel = &self.d.k;
        let c0 = Counters::read(k);
        k.inject_efault(Some(at));
        let r = op();
        k.inject_efault(None);
        assert!(
            matches!(&r, Err(e) if *e == Errno::EFAULT),
            "{} with a fault at byte {at}: {r:?}",
            self.what
        );
        self.d.t.faults(1);
        let c1 = Counters::read(k);
        assert_eq!(
            c1,
            c0.plus("efault", 1),
            "{} at {at}: counters {}",
            self.what,
            c1.diff(&c0)
        );
        let live = live_allocs(k);
        if live != self.live {
            self.d.t.leak(live.saturating_sub(self.live));
            panic!(
                "{} at {at}: live allocations {} -> {live}",
                self.what, self.live
            );
        }
        let fd = k.open(echo_testkit::DEV, O_RDONLY).unwrap();
        let info = echo_testkit::info(k, fd);
        let msg = echo_testkit::cat(k, fd, MAXLEN);
        k.close(fd).unwrap();
        assert_eq!(info.generation, self.generation, "{} at {at}", self.what);
        assert!(
            msg == self.old,
            "{} at {at}: the old message changed",
            self.what
        );
    }
}

/// The scenario.
///
/// # Panics
/// On the first failed check.
pub fn run(params: &Params, t: &Tally) {
    let (d, id) = Dev::loaded(t);
    let k = &d.k;
    let old = pattern(1, MAXLEN);
    let new = pattern(2, MAXLEN);
    let w = k.open(echo_testkit::DEV, O_RDWR).unwrap();
    // Two writes of maxlen: the old message is current and the spare
    // holds maxlen bytes, so the faulting writes need no memory.
    for m in [&new, &old] {
        assert_eq!(d.write(w, m).unwrap(), MAXLEN);
    }
    let r = k.open(echo_testkit::DEV, O_RDONLY).unwrap();
    let mut sweep = Sweep {
        d: &d,
        generation: echo_testkit::info(k, w).generation,
        old,
        live: live_allocs(k),
        what: "write",
    };
    let offsets = if params.efault_every_offset {
        (0..MAXLEN).collect()
    } else {
        quick_offsets(MAXLEN)
    };
    for &at in &offsets {
        sweep.one(at, || d.write(w, &new));
    }
    sweep.what = "read";
    let mut buf = vec![0u8; MAXLEN];
    for &at in &offsets {
        sweep.one(at, || d.pread(r, &mut buf, 0));
    }
    let mut boundaries = 0;
    for lens in LAYOUTS {
        let total: usize = lens.iter().sum();
        let data = pattern(3, total);
        let mut chunks = Vec::new();
        let mut rest = data.as_slice();
        for &l in lens {
            let (a, b) = rest.split_at(l);
            chunks.push(a);
            rest = b;
        }
        for at in boundary_offsets(lens) {
            boundaries += 1;
            sweep.what = "writev";
            sweep.one(at, || d.writev(w, &chunks));
            sweep.what = "readv";
            let mut bufs: Vec<Vec<u8>> = lens.iter().map(|&l| vec![0u8; l]).collect();
            let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
            // From offset 0 each time (a failed readv advances the file
            // offset past the iovecs it completed, as uiomove(9) does).
            k.lseek(r, 0, Whence::Set).unwrap();
            sweep.one(at, || d.readv(r, &mut refs));
        }
    }
    // The next write works, in the same memory.
    assert_eq!(d.write(w, &new).unwrap(), MAXLEN);
    assert!(echo_testkit::message(k) == new);
    assert_eq!(live_allocs(k), sweep.live);
    k.close(w).unwrap();
    k.close(r).unwrap();
    k.kldunload(id, false).unwrap();
    let v = t.absorb_kernel(k);
    assert!(v.is_empty(), "{v:?}");
    t.note(format!(
        "efault: {} byte offsets of a {MAXLEN}-byte write and read, {boundaries} iovec-boundary \
         offsets of writev and readv",
        offsets.len()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_cover_the_start_the_powers_of_two_and_the_end() {
        let v = quick_offsets(65536);
        assert!((0..=64).all(|o| v.contains(&o)));
        for p in [128, 1024, 32768] {
            assert!(v.contains(&(p - 1)) && v.contains(&p) && v.contains(&(p + 1)));
        }
        assert!(v.contains(&65535) && !v.contains(&65536));
        assert_eq!(boundary_offsets(&[1, 0, 2]), [0, 1, 2]);
        assert_eq!(boundary_offsets(&[4, 4]), [0, 3, 4, 5, 7]);
    }
}
