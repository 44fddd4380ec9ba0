/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Copyright (c) 2026 The freebsd-kmod-rust authors
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions
 * are met:
 * 1. Redistributions of source code must retain the above copyright
 *    notice, this list of conditions and the following disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED BY THE AUTHOR AND CONTRIBUTORS ``AS IS'' AND
 * ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 * IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 * ARE DISCLAIMED.  IN NO EVENT SHALL THE AUTHOR OR CONTRIBUTORS BE LIABLE
 * FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
 * DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS
 * OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
 * HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT
 * LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY
 * OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF
 * SUCH DAMAGE.
 */

/*
 * C helpers for the kern crate: one function per kernel macro that bindgen
 * cannot see (mutex(9), sx(9), SYSCTL_ADD_*(9)), so that the Rust side
 * calls exactly what a C module compiled with the same headers calls.
 * Their prototypes are in kern.h, from which bindgen also generates the
 * Rust declarations.  Functions a module does not use are removed at link
 * time (--gc-sections).
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/counter.h>
#include <sys/lock.h>
#include <sys/mutex.h>
#include <sys/proc.h>
#include <sys/sx.h>
#include <sys/sysctl.h>

#include "kern.h"

/* mutex(9) */

int
shim_mtx_trylock(struct mtx *m)
{

	return (mtx_trylock(m));
}

/* sx(9) */

int
shim_sx_try_xlock(struct sx *sx)
{

	return (sx_try_xlock(sx));
}

/* sysctl(9) */

struct sysctl_oid_list *
shim_sysctl_children(struct sysctl_oid *oid)
{

	return (SYSCTL_CHILDREN(oid));
}

/*
 * The SYSCTL_ADD_* macros check their access flags at compile time
 * (CTASSERT), so each access mode is its own function.
 */

/* A read-only node: hw.<name>. */
struct sysctl_oid *
shim_SYSCTL_ADD_NODE(struct sysctl_ctx_list *ctx,
    struct sysctl_oid_list *parent, const char *name, const char *descr)
{

	return (SYSCTL_ADD_NODE(ctx, parent, OID_AUTO, name,
	    CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, descr));
}

/* A read-only 64-bit counter. */
struct sysctl_oid *
shim_SYSCTL_ADD_U64_RD(struct sysctl_ctx_list *ctx,
    struct sysctl_oid_list *parent, const char *name, uint64_t *ptr,
    const char *descr)
{

	return (SYSCTL_ADD_U64(ctx, parent, OID_AUTO, name,
	    CTLFLAG_RD | CTLFLAG_MPSAFE, ptr, 0, descr));
}

/*
 * A read-write 64-bit value with a handler that validates new values.
 * Only root may write it (no CTLFLAG_ANYBODY).
 */
struct sysctl_oid *
shim_SYSCTL_ADD_PROC_U64_RW(struct sysctl_ctx_list *ctx,
    struct sysctl_oid_list *parent, const char *name, void *arg1,
    intmax_t arg2, int (*handler)(SYSCTL_HANDLER_ARGS), const char *descr)
{

	return (SYSCTL_ADD_PROC(ctx, parent, OID_AUTO, name,
	    CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE, arg1, arg2, handler,
	    "QU", descr));
}

/* counter(9) */

/*
 * counter_u64_add() is a static inline of <machine/counter.h>: on amd64 one
 * "addq inc, %gs:(c)" to this CPU's copy (zpcpu_add, <machine/pcpu.h>).
 */
void
shim_counter_u64_add(counter_u64_t c, int64_t inc)
{

	counter_u64_add(c, inc);
}

/*
 * A counter(9) leaf: reads fetch the sum; if writable (root only), any write
 * zeroes it.
 */
struct sysctl_oid *
shim_SYSCTL_ADD_COUNTER_U64(struct sysctl_ctx_list *ctx,
    struct sysctl_oid_list *parent, const char *name, int writable,
    counter_u64_t *ptr, const char *descr)
{

	if (writable)
		return (SYSCTL_ADD_COUNTER_U64(ctx, parent, OID_AUTO, name,
		    CTLFLAG_RW, ptr, descr));
	return (SYSCTL_ADD_COUNTER_U64(ctx, parent, OID_AUTO, name,
	    CTLFLAG_RD, ptr, descr));
}
