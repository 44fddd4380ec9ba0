// SPDX-License-Identifier: BSD-2-Clause
//! Checksummed streams through one FIFO shared by several writers and
//! readers, and the check that nothing was lost, duplicated, reordered or
//! interleaved.
//!
//! rustfifo(4) promises that "the bytes of one write are never
//! interleaved with those of another write, and concurrent readers each
//! receive distinct bytes"; it does not promise that a read returns whole
//! writes. So a record (one write) is made of 8-byte words that each say
//! who wrote them and where they belong: writer, record number, index in
//! the record, whether it is the last, and a check byte over the rest.
//! Every request and the capacity are multiples of 8, so every read
//! returns whole words (a read that does not is reported).
//!
//! The check, over the reads of every reader ([`Segment`]s):
//! - every word is intact (its check byte) and was planned;
//! - every planned word is read exactly once (nothing lost or duplicated);
//! - inside one read, words follow each other within a record, and a
//!   record ends before another begins (no interleaving, no reordering);
//! - across reads: if read X returned before read Y was made, every word
//!   of a writer in X comes before every word of that writer in Y (the
//!   FIFO order, across readers).

/// Bytes per word.
pub const WORD: usize = 8;

/// The bit of the index that marks a record's last word.
const LAST: u16 = 0x8000;

fn check_byte(w: &[u8; WORD]) -> u8 {
    let h = [w[0], w[2], w[3], w[4], w[5], w[6], w[7]]
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    h.to_le_bytes().iter().fold(0x5a, |a, b| a ^ b)
}

/// Word `idx` of record `seq` of `writer`, `last` if it ends the record.
#[must_use]
pub fn word(writer: u8, seq: u32, idx: u16, last: bool) -> [u8; WORD] {
    let i = idx | if last { LAST } else { 0 };
    let mut w = [0u8; WORD];
    w[0] = writer;
    w[2..4].copy_from_slice(&i.to_le_bytes());
    w[4..8].copy_from_slice(&seq.to_le_bytes());
    w[1] = check_byte(&w);
    w
}

/// Record `seq` of `writer`, `words` words long (at least 1).
#[must_use]
pub fn record(writer: u8, seq: u32, words: u16) -> Vec<u8> {
    (0..words)
        .flat_map(|i| word(writer, seq, i, i + 1 == words))
        .collect()
}

/// A decoded word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Word {
    writer: u8,
    seq: u32,
    idx: u16,
    last: bool,
}

impl Word {
    fn decode(b: &[u8]) -> Option<Self> {
        let w: [u8; WORD] = b.try_into().ok()?;
        if check_byte(&w) != w[1] {
            return None;
        }
        let i = u16::from_le_bytes([w[2], w[3]]);
        Some(Self {
            writer: w[0],
            seq: u32::from_le_bytes([w[4], w[5], w[6], w[7]]),
            idx: i & !LAST,
            last: i & LAST != 0,
        })
    }

    /// Its place in its writer's stream.
    fn pos(self) -> u64 {
        (u64::from(self.seq) << 16) | u64::from(self.idx)
    }
}

/// What one successful read returned, between two ticks of a clock
/// shared by the readers (taken just before the call and just after).
#[derive(Clone, Debug, Default)]
pub struct Segment {
    /// The tick before the call.
    pub start: u64,
    /// The tick after it returned.
    pub end: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Checks `segments` against the plan: `plan[w][s]` is the length in
/// words of record `s` of writer `w`, every record of which was written
/// whole. Returns the words read.
///
/// # Errors
/// What is wrong, first found first.
#[allow(clippy::too_many_lines, reason = "one pass per property, in order")]
pub fn check(segments: &[Segment], plan: &[Vec<u16>]) -> Result<u64, String> {
    // Each planned word, seen or not.
    let mut seen: Vec<Vec<Vec<bool>>> = plan
        .iter()
        .map(|recs| recs.iter().map(|&n| vec![false; usize::from(n)]).collect())
        .collect();
    let mut words = 0u64;
    // Per segment: per writer, the first and last place.
    let mut span: Vec<Vec<Option<(u64, u64)>>> = Vec::with_capacity(segments.len());
    for (si, seg) in segments.iter().enumerate() {
        if seg.bytes.len() % WORD != 0 {
            return Err(format!(
                "read {si} returned {} bytes, not whole words",
                seg.bytes.len()
            ));
        }
        let mut sp: Vec<Option<(u64, u64)>> = vec![None; plan.len()];
        let mut prev: Option<Word> = None;
        for (wi, b) in seg.bytes.chunks(WORD).enumerate() {
            let w = Word::decode(b)
                .ok_or_else(|| format!("read {si}, word {wi}: corrupt bytes {b:02x?}"))?;
            let len = plan
                .get(usize::from(w.writer))
                .and_then(|r| r.get(usize::try_from(w.seq).ok()?))
                .copied()
                .ok_or_else(|| format!("read {si}, word {wi}: {w:?} was never written"))?;
            if w.idx >= len || w.last != (w.idx + 1 == len) {
                return Err(format!("read {si}, word {wi}: {w:?} is not in its record"));
            }
            let slot = &mut seen[usize::from(w.writer)][usize::try_from(w.seq).unwrap_or(0)]
                [usize::from(w.idx)];
            if *slot {
                return Err(format!("read {si}, word {wi}: {w:?} read twice"));
            }
            *slot = true;
            words += 1;
            if let Some(p) = prev {
                let follows = if p.writer == w.writer && p.seq == w.seq {
                    w.idx == p.idx + 1
                } else {
                    p.last && w.idx == 0
                };
                if !follows {
                    return Err(format!(
                        "read {si}, word {wi}: {w:?} after {p:?}: records interleaved or \
                         reordered"
                    ));
                }
            }
            prev = Some(w);
            let e = &mut sp[usize::from(w.writer)];
            *e = Some(e.map_or((w.pos(), w.pos()), |(lo, hi)| {
                (lo.min(w.pos()), hi.max(w.pos()))
            }));
        }
        span.push(sp);
    }
    // Across reads: what returned before another read began came first.
    let mut by_end: Vec<usize> = (0..segments.len()).collect();
    by_end.sort_by_key(|&i| segments[i].end);
    let ends: Vec<u64> = by_end.iter().map(|&i| segments[i].end).collect();
    #[allow(clippy::needless_range_loop, reason = "w indexes each segment's spans")]
    for w in 0..plan.len() {
        // The highest place of writer w in the reads that ended first.
        let mut prefix: Vec<Option<(u64, usize)>> = Vec::with_capacity(by_end.len());
        let mut best: Option<(u64, usize)> = None;
        for &i in &by_end {
            if let Some((_, hi)) = span[i][w]
                && best.is_none_or(|(b, _)| hi > b)
            {
                best = Some((hi, i));
            }
            prefix.push(best);
        }
        for (yi, y) in segments.iter().enumerate() {
            let Some((lo, _)) = span[yi][w] else {
                continue;
            };
            let before = ends.partition_point(|&e| e < y.start);
            if let Some(Some((hi, xi))) = before.checked_sub(1).map(|j| prefix[j])
                && hi >= lo
            {
                return Err(format!(
                    "writer {w}: read {xi} (ticks {}..{}) returned a later word than read \
                     {yi} (ticks {}..{}), made after it: reordered",
                    segments[xi].start, segments[xi].end, y.start, y.end
                ));
            }
        }
    }
    for (w, recs) in seen.iter().enumerate() {
        for (s, rec) in recs.iter().enumerate() {
            if let Some(i) = rec.iter().position(|&b| !b) {
                return Err(format!("writer {w}, record {s}, word {i}: lost"));
            }
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: u64, end: u64, bytes: Vec<u8>) -> Segment {
        Segment { start, end, bytes }
    }

    fn plan() -> Vec<Vec<u16>> {
        vec![vec![2, 1], vec![3]]
    }

    fn stream() -> Vec<u8> {
        let mut s = record(0, 0, 2);
        s.extend(record(1, 0, 3));
        s.extend(record(0, 1, 1));
        s
    }

    #[test]
    fn a_whole_stream_split_anywhere_on_words_passes() {
        let s = stream();
        assert_eq!(check(&[seg(0, 1, s.clone())], &plan()), Ok(6));
        let (a, b) = s.split_at(3 * WORD);
        assert_eq!(
            check(&[seg(0, 1, a.to_vec()), seg(2, 3, b.to_vec())], &plan()),
            Ok(6)
        );
        // Overlapping reads may have returned in either order.
        assert_eq!(
            check(&[seg(2, 5, b.to_vec()), seg(1, 6, a.to_vec())], &plan()),
            Ok(6)
        );
    }

    #[test]
    fn loss_duplication_corruption_interleaving_and_reordering_fail() {
        let s = stream();
        let lost = &s[..s.len() - WORD];
        assert!(
            check(&[seg(0, 1, lost.to_vec())], &plan())
                .unwrap_err()
                .contains("lost")
        );
        let mut dup = s.clone();
        dup.extend_from_slice(&s[..WORD]);
        assert!(
            check(&[seg(0, 1, dup)], &plan())
                .unwrap_err()
                .contains("twice")
        );
        let mut bad = s.clone();
        bad[13] ^= 1;
        assert!(
            check(&[seg(0, 1, bad)], &plan())
                .unwrap_err()
                .contains("corrupt")
        );
        let mut mixed = record(0, 0, 2);
        mixed.splice(WORD..WORD, record(1, 0, 3));
        mixed.extend(record(0, 1, 1));
        assert!(
            check(&[seg(0, 1, mixed)], &plan())
                .unwrap_err()
                .contains("interleaved")
        );
        let (a, b) = s.split_at(3 * WORD);
        let r = check(&[seg(0, 1, b.to_vec()), seg(2, 3, a.to_vec())], &plan());
        assert!(r.unwrap_err().contains("reordered"));
        assert!(check(&[seg(0, 1, s[..5].to_vec())], &plan()).is_err());
    }
}
