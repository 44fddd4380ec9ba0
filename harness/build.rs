// SPDX-License-Identifier: BSD-2-Clause
//! Builds the C half of the test kernel: `csrc/harness.c` (the variadic
//! kernel entry points, the printf(9) formatter and the setjmp trampoline)
//! and `csrc/kpi_vararg.c` (vsnprintf(9) and sbuf(9)'s printf family).

fn main() {
    println!("cargo:rerun-if-changed=csrc/harness.c");
    println!("cargo:rerun-if-changed=csrc/harness.h");
    println!("cargo:rerun-if-changed=csrc/kpi_vararg.c");
    cc::Build::new()
        .file("csrc/harness.c")
        .file("csrc/kpi_vararg.c")
        .include("csrc")
        .warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-fno-omit-frame-pointer")
        .compile("harness_c");
}
