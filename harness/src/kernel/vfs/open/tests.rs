// SPDX-License-Identifier: BSD-2-Clause
//! Unit tests of the access checks and open flags.

use super::*;

fn user(uid: u32, gid: u32) -> Cred {
    Cred::user(uid, gid)
}

#[test]
fn vaccess_gives_root_execute_only_with_an_execute_bit() {
    let root = Cred::root();
    for mode in [0o666, 0o600, 0o000] {
        assert_eq!(vaccess(mode, 0, 0, VEXEC, &root), Err(Errno::EACCES));
        vaccess(mode, 0, 0, VREAD | VWRITE | VAPPEND, &root).unwrap();
    }
    for mode in [0o100, 0o010, 0o001, 0o755] {
        vaccess(mode, 0, 0, VEXEC, &root).unwrap();
    }
}

#[test]
fn vaccess_uses_the_first_matching_class() {
    // The owner's bits only, even if the others' would allow it.
    let owner = user(1001, 1001);
    assert_eq!(vaccess(0o066, 1001, 0, VREAD, &owner), Err(Errno::EACCES));
    // The group's, then.
    let member = user(1002, 5);
    assert_eq!(vaccess(0o606, 0, 5, VREAD, &member), Err(Errno::EACCES));
    vaccess(0o040, 0, 5, VREAD, &member).unwrap();
    // Others.
    let other = user(1003, 1003);
    vaccess(0o001, 0, 0, VEXEC, &other).unwrap();
    assert_eq!(vaccess(0o664, 0, 0, VWRITE, &other), Err(Errno::EACCES));
    // VADMIN: the owner's; others get EPERM.
    vaccess(0o000, 1001, 0, VADMIN, &owner).unwrap();
    assert_eq!(vaccess(0o777, 0, 0, VADMIN, &other), Err(Errno::EPERM));
}

#[test]
fn open_asks_for_write_access_to_truncate() {
    let f = |o| open_accmode(open_flags(o).unwrap());
    assert_eq!(f(sys::O_RDONLY), VREAD);
    assert_eq!(f(sys::O_RDONLY | sys::O_TRUNC), VREAD | VWRITE);
    assert_eq!(f(sys::O_WRONLY | sys::O_APPEND), VWRITE | VAPPEND);
    assert_eq!(f(sys::O_RDONLY | sys::O_APPEND), VREAD);
    assert_eq!(f(sys::O_EXEC), VEXEC);
    assert_eq!(f(sys::O_EXEC | sys::O_TRUNC), VEXEC | VWRITE);
    assert_eq!(f(sys::O_PATH | sys::O_RDWR | sys::O_TRUNC), 0);
    assert_eq!(f(sys::O_PATH | sys::O_EXEC), VEXEC);
    // A user who may read but not write a 0644 node may not truncate.
    let other = user(1003, 1003);
    vaccess(0o644, 0, 0, f(sys::O_RDONLY), &other).unwrap();
    assert_eq!(
        vaccess(0o644, 0, 0, f(sys::O_RDONLY | sys::O_TRUNC), &other),
        Err(Errno::EACCES)
    );
}

#[test]
fn open_flags_follow_kern_openat() {
    assert_eq!(open_flags(sys::O_RDONLY), Ok(sys::FREAD));
    assert_eq!(open_flags(sys::O_RDWR), Ok(sys::FREAD | sys::FWRITE));
    assert_eq!(open_flags(sys::O_ACCMODE), Err(Errno::EINVAL));
    assert_eq!(open_flags(sys::O_EXEC), Ok(sys::O_EXEC));
    assert_eq!(open_flags(sys::O_EXEC | sys::O_WRONLY), Err(Errno::EINVAL));
    assert_eq!(
        open_flags(sys::O_PATH | sys::O_RDWR | sys::O_CREAT),
        Ok(sys::O_PATH)
    );
    // FEXEC and O_PATH stay in f_flag (FMASK).
    assert_eq!(
        FMASK & (sys::O_EXEC | sys::O_PATH | sys::O_DSYNC),
        sys::O_EXEC | sys::O_PATH | sys::O_DSYNC
    );
}
