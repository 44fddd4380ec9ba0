// SPDX-License-Identifier: BSD-2-Clause
//! Names for addresses in module code, for reports (a fault's instruction
//! pointer, the entry point whose stack overflowed), as `ddb(4)`'s
//! `db_printsym` gives them: `function+0xoffset`.
//!
//! The loader registers each file's function symbols while the file is
//! mapped (a [`Registration`] in its object); the registry is
//! process-wide, because a fault report has only an address. Rust names
//! are demangled (without their hash).

use std::sync::RwLock;

/// One mapped file's functions.
struct File {
    id: u64,
    start: usize,
    end: usize,
    /// (address, name), sorted by address.
    funcs: Vec<(usize, String)>,
}

static FILES: RwLock<Vec<File>> = RwLock::new(Vec::new());

fn read_files() -> std::sync::RwLockReadGuard<'static, Vec<File>> {
    FILES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_files() -> std::sync::RwLockWriteGuard<'static, Vec<File>> {
    FILES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Keeps a file's symbols registered; removes them on drop.
#[derive(Debug)]
pub(crate) struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        write_files().retain(|f| f.id != self.id);
    }
}

/// Registers the functions `funcs` (address, raw symbol name) of a file
/// mapped at `start..start + len`.
pub(crate) fn register<'a>(
    start: usize,
    len: usize,
    funcs: impl Iterator<Item = (usize, &'a str)>,
) -> Registration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut v: Vec<(usize, String)> = funcs
        .filter(|&(a, _)| a >= start && a - start < len)
        .map(|(a, n)| (a, format!("{:#}", rustc_demangle::demangle(n))))
        .collect();
    v.sort_unstable_by_key(|&(a, _)| a);
    write_files().push(File {
        id,
        start,
        end: start.saturating_add(len),
        funcs: v,
    });
    Registration { id }
}

/// The function containing `addr` and the offset into it, if `addr` is in
/// a registered file.
pub(crate) fn lookup(addr: usize) -> Option<(String, usize)> {
    let files = read_files();
    let f = files.iter().find(|f| addr >= f.start && addr < f.end)?;
    let i = f.funcs.partition_point(|&(a, _)| a <= addr);
    let (a, name) = f.funcs.get(i.checked_sub(1)?)?;
    Some((name.clone(), addr - a))
}

/// Whether `addr` lies in a registered (mapped) module file.
pub(crate) fn in_module(addr: usize) -> bool {
    read_files().iter().any(|f| addr >= f.start && addr < f.end)
}

/// The name of the function at or before `addr`, or the bare address.
pub(crate) fn function_name(addr: usize) -> String {
    lookup(addr).map_or_else(|| format!("{addr:#x}"), |(name, _)| name)
}

/// `addr` as `function+0xoff`, or as a bare address outside module code.
pub(crate) fn describe(addr: usize) -> String {
    match lookup(addr) {
        Some((name, 0)) => name,
        Some((name, off)) => format!("{name}+{off:#x}"),
        None => format!("{addr:#x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_the_function_that_holds_them() {
        let names = [
            (0x1000_0010, "first"),
            (0x1000_0040, "_ZN4kern4cdev10cdev_write17h0123456789abcdefE"),
        ];
        let _r = register(0x1000_0000, 0x100, names.iter().copied());
        assert_eq!(describe(0x1000_0010), "first");
        assert_eq!(describe(0x1000_0020), "first+0x10");
        assert_eq!(describe(0x1000_0044), "kern::cdev::cdev_write+0x4");
        assert!(lookup(0x1000_0008).is_none());
        assert!(in_module(0x1000_0008));
        assert!(!in_module(0x1000_0100));
        assert_eq!(function_name(0x1000_0044), "kern::cdev::cdev_write");
        assert!(lookup(0x1000_0200).is_none());
    }
}
