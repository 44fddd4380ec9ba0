// SPDX-License-Identifier: BSD-2-Clause
//! Hints for undefined symbols the kernel does not have: where the usual
//! cause is known, the fix, so that "not on the allowlist" does not send
//! the reader to the allowlist when the module is what needs changing.
//!
//! A leaf module: names in, text out.

/// The fix for an undefined `symbol` that is not a kernel symbol, if its
/// usual cause is known.
#[must_use]
pub fn for_undefined(symbol: &str) -> Option<&'static str> {
    let hint = match symbol {
        // LLVM's library-call simplification turns printf("text\n") into
        // puts("text") and printf("%c") into putchar: user-space functions.
        "puts" | "putchar" | "fputs" | "fwrite" => {
            "the compiler turned a printf(9) call into this C library function, which the \
             kernel lacks: compile C with -ffreestanding (as kmod.mk does), and mark a Rust \
             crate that declares printf itself #![no_builtins]"
        }
        // FreeBSD 15's sys/systm.h defines these as macros.
        "bcopy" | "bzero" | "bcmp" => {
            "a macro in FreeBSD 15's <sys/systm.h>, not a kernel symbol: call memmove, \
             memset or memcmp"
        }
        "copystr" => {
            "a macro over strlcpy in FreeBSD 15's <sys/systm.h>, not a kernel symbol: call \
             strlcpy"
        }
        "malloc_usable_size" | "calloc" | "posix_memalign" | "aligned_alloc" => {
            "a C library allocator: the kernel's is malloc(9) with a malloc type and M_WAITOK \
             or M_NOWAIT"
        }
        "abort" | "exit" | "fprintf" | "stderr" | "stdout" | "__assert_fail" | "__assert" => {
            "the kernel has no C library: report with printf(9), stop with panic(9), assert \
             with KASSERT"
        }
        "_Unwind_Resume" | "rust_eh_personality" | "__gxx_personality_v0" => {
            "unwinding, which the kernel cannot do: build with panic = \"abort\" (the kmod \
             profile does) and without C++ exceptions"
        }
        "__tls_get_addr" => {
            "thread-local storage, which the kernel does not have: use per-CPU data"
        }
        _ if is_float(symbol) => {
            "floating point: kernel code must not touch the FPU (build for a soft-float \
             target, as the x86_64-unknown-none target and kmod.mk's -mno-sse do)"
        }
        _ => return None,
    };
    Some(hint)
}

/// Whether `symbol` is a libm function or a compiler-rt soft-float helper.
fn is_float(symbol: &str) -> bool {
    const LIBM: &[&str] = &[
        "sqrt", "sqrtf", "floor", "floorf", "ceil", "ceilf", "fmod", "fmodf", "pow", "powf", "exp",
        "expf", "log", "logf", "round", "roundf", "trunc", "truncf", "sin", "cos",
    ];
    const SOFT_FLOAT: &[&str] = &[
        "__addsf3",
        "__adddf3",
        "__subsf3",
        "__subdf3",
        "__mulsf3",
        "__muldf3",
        "__divsf3",
        "__divdf3",
        "__extendsfdf2",
        "__truncdfsf2",
        "__floatsisf",
        "__floatsidf",
        "__floatdidf",
        "__floatundidf",
        "__fixsfsi",
        "__fixdfsi",
        "__fixdfdi",
        "__fixunsdfdi",
    ];
    LIBM.contains(&symbol) || SOFT_FLOAT.contains(&symbol)
}

#[cfg(test)]
mod tests {
    use super::for_undefined;

    #[test]
    fn known_causes_get_their_fix() {
        assert!(for_undefined("puts").unwrap().contains("#![no_builtins]"));
        assert!(for_undefined("bzero").unwrap().contains("memset"));
        assert!(for_undefined("copystr").unwrap().contains("strlcpy"));
        assert!(for_undefined("__muldf3").unwrap().contains("FPU"));
        assert!(for_undefined("sqrt").unwrap().contains("FPU"));
        assert!(for_undefined("_Unwind_Resume").unwrap().contains("abort"));
    }

    #[test]
    fn other_names_get_none() {
        // `log` is libm's and also log(9): the allowlist has the kernel's,
        // so it never reaches the hint; an unknown name has no hint.
        assert_eq!(for_undefined("my_helper"), None);
        assert_eq!(for_undefined("printf_"), None);
    }
}
