// SPDX-License-Identifier: BSD-2-Clause
//! Builds the C half of the test kernel (`csrc/harness.c`): the variadic
//! kernel entry points, the printf(9) formatter and the setjmp trampoline.

fn main() {
    println!("cargo:rerun-if-changed=csrc/harness.c");
    println!("cargo:rerun-if-changed=csrc/harness.h");
    cc::Build::new()
        .file("csrc/harness.c")
        .include("csrc")
        .warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-fno-omit-frame-pointer")
        .compile("harness_c");
}
