// SPDX-License-Identifier: BSD-2-Clause
//! Builds the C half of the test kernel: `csrc/harness.c` (the variadic
//! kernel entry points, the printf(9) formatter and the setjmp trampoline),
//! `csrc/kpi_vararg.c` (vsnprintf(9) and sbuf(9)'s printf family) and
//! `csrc/kstack.S` (the switches between kernel and host stacks).

fn main() {
    println!("cargo:rerun-if-changed=csrc/harness.c");
    println!("cargo:rerun-if-changed=csrc/harness.h");
    println!("cargo:rerun-if-changed=csrc/kpi_vararg.c");
    println!("cargo:rerun-if-changed=csrc/kstack.S");
    cc::Build::new()
        .file("csrc/harness.c")
        .file("csrc/kpi_vararg.c")
        .file("csrc/kstack.S")
        .include("csrc")
        .warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-fno-omit-frame-pointer")
        // Painting and scanning kernel stacks runs at every call into
        // module code: optimised even in test builds.
        .opt_level(2)
        .compile("harness_c");
}
