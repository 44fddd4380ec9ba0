// SPDX-License-Identifier: BSD-2-Clause
//! Unit tests of [`ByteRing`] on the host allocator, with kernel buffers in
//! place of `uiomove(9)`.

use super::*;
use alloc_kernel::{HostAllocator, M_NOWAIT};

type Ring = ByteRing<HostAllocator>;

fn ring() -> (Ring, Producer<HostAllocator>, Consumer<HostAllocator>) {
    Ring::try_new(M_NOWAIT).unwrap()
}

/// Appends `data` through a write slot (growing up to `limit`); returns
/// how much went in.
fn push(ring: &mut Ring, p: &mut Producer<HostAllocator>, data: &[u8], limit: usize) -> usize {
    ring.reserve(p, data.len(), limit).unwrap();
    let mut slot = ring.write_slot(p, data.len()).unwrap();
    slot.write(data);
    ring.commit_write(slot)
}

/// Takes up to `n` bytes through a read slot.
fn pop(ring: &mut Ring, c: &mut Consumer<HostAllocator>, n: usize) -> std::vec::Vec<u8> {
    let mut out = vec![0u8; n];
    let mut slot = ring.read_slot(c, n).unwrap();
    let got = slot.read(&mut out);
    assert_eq!(ring.commit_read(slot), got);
    out.truncate(got);
    out
}

#[test]
fn starts_empty_without_storage() {
    let (mut ring, mut p, mut c) = ring();
    assert!(ring.is_empty());
    assert_eq!(ring.allocated(), 0);
    assert!(ring.write_slot(&mut p, 10).unwrap().is_empty());
    assert!(ring.read_slot(&mut c, 10).unwrap().is_empty());
    assert!(!ring.release(&mut p));
}

#[test]
fn grows_by_policy_up_to_the_limit() {
    let (mut ring, mut p, _c) = ring();
    assert_eq!(ring.reserve(&mut p, 10, 1 << 20).unwrap(), MIN_ALLOC);
    assert_eq!(ring.allocated(), MIN_ALLOC);
    assert_eq!(push(&mut ring, &mut p, &vec![1; 4096], 1 << 20), 4096);
    // Doubles.
    assert_eq!(ring.reserve(&mut p, 1, 1 << 20).unwrap(), 4096);
    assert_eq!(ring.allocated(), 8192);
    // Never past the limit; a full ring at the limit has no room.
    let (mut small, mut p2, _c2) = self::ring();
    assert_eq!(small.reserve(&mut p2, 100, 10).unwrap(), 10);
    assert_eq!(small.allocated(), 10);
    assert_eq!(push(&mut small, &mut p2, &[7; 100], 10), 10);
    assert_eq!(small.reserve(&mut p2, 100, 10).unwrap(), 0);
}

#[test]
fn keeps_order_across_the_wrap_point() {
    let (mut ring, mut p, mut c) = ring();
    let limit = 16;
    assert_eq!(push(&mut ring, &mut p, b"0123456789", limit), 10);
    assert_eq!(pop(&mut ring, &mut c, 8), b"01234567");
    // The tail is at 10 of 16: this write wraps.
    assert_eq!(push(&mut ring, &mut p, b"abcdefghij", limit), 10);
    let slot = ring.read_slot(&mut c, 100).unwrap();
    let (a, b) = slot.as_slices();
    assert_eq!(a, b"89abcdef");
    assert_eq!(b, b"ghij");
    assert_eq!(
        ring.commit_read(slot),
        0,
        "nothing drained, nothing removed"
    );
    assert_eq!(pop(&mut ring, &mut c, 100), b"89abcdefghij");
    assert!(ring.is_empty());
}

#[test]
fn an_empty_ring_writes_from_the_start() {
    let (mut ring, mut p, mut c) = ring();
    push(&mut ring, &mut p, &vec![1; 3000], 4096);
    pop(&mut ring, &mut c, 3000);
    let slot = ring.write_slot(&mut p, 4096).unwrap();
    assert_eq!(slot.parts.second_len, 0, "one contiguous part");
    assert_eq!(slot.len(), 4096);
    assert_eq!(ring.commit_write(slot), 0);
}

#[test]
fn commits_only_what_was_copied() {
    let (mut ring, mut p, mut c) = ring();
    ring.reserve(&mut p, 100, 100).unwrap();
    let mut slot = ring.write_slot(&mut p, 100).unwrap();
    assert_eq!(slot.len(), 100);
    assert_eq!(slot.write(b"abc"), 3);
    assert_eq!(slot.filled(), 3);
    assert_eq!(ring.commit_write(slot), 3);
    assert_eq!(ring.len(), 3);
    let mut slot = ring.read_slot(&mut c, 100).unwrap();
    let mut one = [0u8; 1];
    assert_eq!(slot.read(&mut one), 1);
    assert_eq!(slot.drained(), 1);
    assert_eq!(ring.commit_read(slot), 1);
    assert_eq!(pop(&mut ring, &mut c, 100), b"bc");
}

#[test]
fn growth_keeps_the_storage_a_reader_copies_from() {
    let (mut ring, mut p, mut c) = ring();
    push(&mut ring, &mut p, &vec![5; 4000], 1 << 16);
    pop(&mut ring, &mut c, 3000);
    push(&mut ring, &mut p, &vec![6; 2000], 1 << 16); // wraps in 4096
    let slot = ring.read_slot(&mut c, 10).unwrap();
    let old = slot.as_slices().0.as_ptr();
    // The producer grows the ring while the slot is out: twice.
    ring.reserve(&mut p, 8000, 1 << 16).unwrap();
    ring.reserve(&mut p, 20000, 1 << 16).unwrap();
    assert!(ring.allocated() >= 3000 + 20000);
    let bufs = ring.bufs();
    assert_eq!(
        bufs.retired.as_ptr().wrapping_add(3000),
        old,
        "the slot's storage is kept"
    );
    // Still readable, and still the oldest bytes.
    assert_eq!(slot.as_slices().0, &[5; 10]);
    let mut slot = slot;
    let mut out = [0u8; 10];
    slot.read(&mut out);
    assert_eq!(ring.commit_read(slot), 10);
    assert!(!ring.bufs().retired.is_empty(), "kept until the next slot");
    let slot = ring.read_slot(&mut c, 0).unwrap();
    assert!(ring.bufs().retired.is_empty(), "freed by the next slot");
    assert_eq!(ring.commit_read(slot), 0);
    let rest = pop(&mut ring, &mut c, 10_000);
    assert_eq!(rest.len(), 990 + 2000);
    assert!(rest[..990].iter().all(|&b| b == 5));
    assert!(rest[990..].iter().all(|&b| b == 6));
}

#[test]
fn release_frees_only_an_empty_ring() {
    let (mut ring, mut p, mut c) = ring();
    push(&mut ring, &mut p, b"x", 100);
    assert!(!ring.release(&mut p));
    assert_eq!(pop(&mut ring, &mut c, 1), b"x");
    assert!(ring.release(&mut p));
    assert_eq!(ring.allocated(), 0);
    assert!(!ring.release(&mut p));
    // Usable again.
    assert_eq!(push(&mut ring, &mut p, b"yz", 100), 2);
    assert_eq!(pop(&mut ring, &mut c, 5), b"yz");
}

#[test]
fn tokens_and_slots_of_another_ring_are_refused() {
    let (mut a, mut pa, mut ca) = ring();
    let (mut b, mut pb, mut cb) = ring();
    assert_eq!(a.reserve(&mut pb, 10, 10), Err(code::EINVAL));
    assert!(a.write_slot(&mut pb, 10).is_err());
    assert!(a.read_slot(&mut cb, 10).is_err());
    assert!(!a.release(&mut pb));
    push(&mut a, &mut pa, b"aaaa", 10);
    b.reserve(&mut pb, 10, 10).unwrap();
    let mut slot = b.write_slot(&mut pb, 10).unwrap();
    slot.write(b"bb");
    assert_eq!(a.commit_write(slot), 0);
    let mut slot = a.read_slot(&mut ca, 10).unwrap();
    slot.read(&mut [0u8; 4]);
    assert_eq!(b.commit_read(slot), 0);
    assert_eq!(a.len(), 4);
    assert_eq!(b.len(), 0);
}

#[test]
fn the_storage_outlives_the_ring() {
    let (mut ring, mut p, _c) = ring();
    ring.reserve(&mut p, 8, 8).unwrap();
    let mut slot = ring.write_slot(&mut p, 8).unwrap();
    drop(ring);
    // The slot's bytes are still allocated (the producer shares them).
    assert_eq!(slot.write(b"late"), 4);
}

/// The brand of [`a_unique_brand_has_one_ring_at_a_time`] (its own, so that
/// no other test holds it).
enum OneAtATime {}

#[test]
fn a_unique_brand_has_one_ring_at_a_time() {
    type Branded = ByteRing<HostAllocator, Unique<OneAtATime>>;
    let (mut ring, mut p, mut c) = Branded::try_new(M_NOWAIT).unwrap();
    // A second ring of the brand is refused while the first lives.
    assert_eq!(Branded::try_new(M_NOWAIT).err(), Some(code::EBUSY));
    // Its tokens and slots need no identity check, and work as usual.
    ring.reserve(&mut p, 5, 64).unwrap();
    let mut slot = ring.write_slot(&mut p, 5).unwrap();
    assert_eq!(slot.write(b"hello"), 5);
    assert_eq!(ring.commit_write(slot), 5);
    let mut slot = ring.read_slot(&mut c, 5).unwrap();
    let mut out = [0u8; 5];
    assert_eq!(slot.read(&mut out), 5);
    assert_eq!(ring.commit_read(slot), 5);
    assert_eq!(&out, b"hello");
    // The brand stays held while a token lives, even without the ring.
    drop(ring);
    drop(c);
    assert_eq!(Branded::try_new(M_NOWAIT).err(), Some(code::EBUSY));
    drop(p);
    // All three gone: the brand is free again.
    let again = Branded::try_new(M_NOWAIT);
    assert!(again.is_ok());
}

/// Two brands of [`unique_brands_are_independent`].
enum BrandA {}
/// See [`BrandA`].
enum BrandB {}

#[test]
fn unique_brands_are_independent() {
    let a = ByteRing::<HostAllocator, Unique<BrandA>>::try_new(M_NOWAIT);
    let b = ByteRing::<HostAllocator, Unique<BrandB>>::try_new(M_NOWAIT);
    assert!(a.is_ok());
    assert!(b.is_ok());
}
