// SPDX-License-Identifier: BSD-2-Clause
//! The kernel message buffer that printf(9) and log(9) write and
//! `dmesg` reads.
//!
//! The formatting is done in C (`csrc/harness.c`, `harness_kvformat`,
//! which implements printf(9)'s conversions including `%b`, `%D` and `%r`
//! as `sys/kern/subr_prf.c`'s `kvprintf` defines them); the formatted text
//! arrives through the kernel's entry points and is appended here.

use std::collections::VecDeque;

/// The message buffer: what `dmesg` shows, a ring of fixed size like
/// `msgbuf` (`sys/kern/subr_msgbuf.c`).
///
/// As there, bytes are written at the write sequence number modulo the
/// size (`msgbuf_do_addchar`, `MSGBUF_SEQ_TO_POS`), so the oldest bytes are
/// overwritten and an append costs what it appends, whatever the buffer
/// holds. Reading starts `msg_size` bytes before the write sequence
/// (`msgbuf_peekbytes`, which `kern.msgbuf` uses) and, once the ring has
/// wrapped, drops the first line, which is probably incomplete, as
/// `dmesg(8)` does (`sbin/dmesg/dmesg.c`).
///
/// log(9) records are kept too, bounded by the same byte budget: FreeBSD
/// stores them in the message buffer itself, each with its `<pri>` prefix
/// (`msgbuf_addstr`), so they age out with it.
///
/// # Invariants
/// `ring.len()` is the capacity; `rseq <= wseq`; `log_bytes` is the sum
/// of [`record_cost`] over `log` and is at most the capacity.
pub(crate) struct MsgBuf {
    /// `msg_ptr`/`msg_size`.
    ring: Box<[u8]>,
    /// `msg_wseq`: bytes written since the kernel started (not reduced
    /// modulo anything: a `u64` does not wrap in practice).
    wseq: u64,
    /// The sequence number `dmesg -c` cleared up to (`msgbuf_clear` sets
    /// `msg_rseq` to `msg_wseq`); nothing before it is shown.
    rseq: u64,
    /// `log(9)` records, oldest first: (priority, text).
    log: VecDeque<(i32, String)>,
    /// Bytes the records take in the buffer.
    log_bytes: usize,
}

/// What a log(9) record takes in the message buffer: its text and the
/// `<pri>` prefix `msgbuf_addstr` writes before it.
fn record_cost(pri: i32, text: &str) -> usize {
    let digits = pri.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 1;
    text.len() + digits + usize::from(pri < 0) + 2
}

impl MsgBuf {
    /// A buffer keeping the last `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        MsgBuf {
            ring: vec![0; cap].into_boxed_slice(),
            wseq: 0,
            rseq: 0,
            log: VecDeque::new(),
            log_bytes: 0,
        }
    }

    fn cap(&self) -> u64 {
        self.ring.len() as u64
    }

    /// Appends text, overwriting the oldest bytes beyond the capacity
    /// (`msgbuf_addstr`); costs `O(s.len())`.
    pub(crate) fn push(&mut self, s: &str) {
        let cap = self.ring.len();
        if cap == 0 {
            return;
        }
        let bytes = s.as_bytes();
        // Of a string longer than the ring only its tail survives.
        let skip = bytes.len().saturating_sub(cap);
        let tail = &bytes[skip..];
        self.wseq += skip as u64;
        // CAST: the position is below `cap`, a `usize`.
        let pos = (self.wseq % self.cap()) as usize;
        let first = tail.len().min(cap - pos);
        self.ring[pos..pos + first].copy_from_slice(&tail[..first]);
        self.ring[..tail.len() - first].copy_from_slice(&tail[first..]);
        self.wseq += tail.len() as u64;
    }

    /// Records a log(9) message (the text is pushed separately), dropping
    /// the oldest records beyond the capacity.
    pub(crate) fn push_log(&mut self, pri: i32, text: &str) {
        let cost = record_cost(pri, text);
        if cost > self.ring.len() {
            return;
        }
        self.log.push_back((pri, text.to_owned()));
        self.log_bytes += cost;
        while self.log_bytes > self.ring.len() {
            let Some((p, t)) = self.log.pop_front() else {
                break;
            };
            self.log_bytes -= record_cost(p, &t);
        }
    }

    /// The retained log(9) records, oldest first.
    pub(crate) fn log_records(&self) -> Vec<(i32, String)> {
        self.log.iter().cloned().collect()
    }

    /// The retained text, oldest first, as `dmesg(8)` prints it.
    pub(crate) fn text(&self) -> String {
        let written = self.wseq - self.rseq;
        let kept = written.min(self.cap());
        let mut out = Vec::with_capacity(usize::try_from(kept).unwrap_or(0));
        if kept > 0 {
            // CAST: positions are below the capacity, a `usize`.
            let start = ((self.wseq - kept) % self.cap()) as usize;
            let kept = kept as usize;
            let first = kept.min(self.ring.len() - start);
            out.extend_from_slice(&self.ring[start..start + first]);
            out.extend_from_slice(&self.ring[..kept - first]);
        }
        let mut text: &[u8] = &out;
        if written > kept {
            // Wrapped: "Skip the first line, since it is probably
            // incomplete" (dmesg.c), which also drops a character cut
            // in two.
            text = text
                .iter()
                .position(|&b| b == b'\n')
                .map_or(&[], |i| &text[i + 1..]);
        }
        String::from_utf8_lossy(text).into_owned()
    }

    /// Empties the buffer (`dmesg -c`: `msgbuf_clear`) and the records.
    pub(crate) fn clear(&mut self) {
        self.rseq = self.wseq;
        self.log.clear();
        self.log_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::MsgBuf;
    use std::time::{Duration, Instant};

    #[test]
    fn the_ring_keeps_the_newest_bytes_from_a_line_start() {
        let mut m = MsgBuf::new(14);
        m.push("one\n");
        m.push("two\n");
        assert_eq!(m.text(), "one\ntwo\n");
        m.push("three\nfour\n");
        // 19 bytes written into 14: "one\n" and the "t" of "two" were
        // overwritten; the partial line "wo" is not shown.
        assert_eq!(m.text(), "three\nfour\n");
        // Exactly at a line start the first line is still dropped, as
        // dmesg(8) does not know it is whole.
        let mut m = MsgBuf::new(8);
        m.push("abc\n");
        m.push("def\n");
        m.push("ghi\n");
        assert_eq!(m.text(), "ghi\n");
        // A string longer than the ring leaves its tail.
        let mut m = MsgBuf::new(8);
        m.push("0123456789\nxy\n");
        assert_eq!(m.text(), "xy\n");
        // No newline in what is kept: nothing complete to show.
        m.push("0123456789abcdef");
        assert_eq!(m.text(), "");
        // dmesg -c: only what follows.
        m.clear();
        m.push("z\n");
        assert_eq!(m.text(), "z\n");
    }

    #[test]
    fn a_cut_multibyte_character_is_never_shown() {
        // The oldest kept byte is the second half of an "\u{e9}".
        let mut m = MsgBuf::new(7);
        m.push("\u{e9}\u{e9}\u{e9}\u{e9}\n");
        m.push("\u{e9}\n");
        assert_eq!(m.text(), "\u{e9}\n");
    }

    #[test]
    fn log_records_share_the_buffer_budget() {
        let mut m = MsgBuf::new(32);
        for i in 0..100 {
            m.push_log(5, &format!("record {i}\n"));
        }
        // "<5>record NN\n" takes 13 bytes: two fit in 32.
        assert_eq!(
            m.log_records(),
            [(5, "record 98\n".to_owned()), (5, "record 99\n".to_owned())]
        );
        m.push_log(3, &"x".repeat(40));
        assert_eq!(m.log_records().len(), 2, "too long for the buffer");
        m.clear();
        assert!(m.log_records().is_empty());
    }

    /// Appending to a full 64 MiB buffer costs the line, not the buffer:
    /// 20,000 lines take milliseconds. (Dropping the oldest line of a
    /// `String` moves the rest: 64 MiB per line, over a terabyte here.)
    #[test]
    fn appends_to_a_full_buffer_do_not_move_it() {
        let cap = 64 << 20;
        let mut m = MsgBuf::new(cap);
        let line = format!("{}\n", "x".repeat(255));
        for _ in 0..(cap / 256 + 1) {
            m.push(&line);
        }
        let t = Instant::now();
        for i in 0..20_000 {
            m.push(&format!("line {i}\n"));
            m.push_log(6, "line\n");
        }
        let elapsed = t.elapsed();
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        let text = m.text();
        assert!(text.ends_with("line 19998\nline 19999\n"));
        assert!(
            text.len() <= cap && text.len() > cap - 256,
            "{}",
            text.len()
        );
    }
}
