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
 * Prototypes of the C helpers in kern.c: one function per kernel macro
 * that bindgen cannot see (mutex(9), sx(9), SYSCTL_ADD_*(9)).
 *
 * This header is their one declaration.  kern.c includes it, so the
 * compiler checks each definition against it, and sys/wrapper.h includes
 * it, so bindgen generates the Rust declarations (sys::shim_*) from it:
 * nobody retypes a prototype in Rust.
 *
 * Include <sys/param.h>, <sys/sysctl.h> and <sys/counter.h> first.
 */

#ifndef _SHIM_KERN_H_
#define	_SHIM_KERN_H_

struct mtx;
struct sx;
struct sysctl_ctx_list;
struct sysctl_oid;
struct sysctl_oid_list;

/* mutex(9) */
int	shim_mtx_trylock(struct mtx *m);

/* sx(9) */
int	shim_sx_try_xlock(struct sx *sx);

/* sysctl(9) */
struct sysctl_oid_list *shim_sysctl_children(struct sysctl_oid *oid);
struct sysctl_oid *shim_SYSCTL_ADD_NODE(struct sysctl_ctx_list *ctx,
	    struct sysctl_oid_list *parent, const char *name,
	    const char *descr);
struct sysctl_oid *shim_SYSCTL_ADD_U64_RD(struct sysctl_ctx_list *ctx,
	    struct sysctl_oid_list *parent, const char *name, uint64_t *ptr,
	    const char *descr);
struct sysctl_oid *shim_SYSCTL_ADD_PROC_U64_RW(struct sysctl_ctx_list *ctx,
	    struct sysctl_oid_list *parent, const char *name, void *arg1,
	    intmax_t arg2, int (*handler)(SYSCTL_HANDLER_ARGS),
	    const char *descr);

/* counter(9): counter_u64_add() is inline (an add to %gs-relative memory) */
void	shim_counter_u64_add(counter_u64_t c, int64_t inc);
struct sysctl_oid *shim_SYSCTL_ADD_COUNTER_U64(struct sysctl_ctx_list *ctx,
	    struct sysctl_oid_list *parent, const char *name, int writable,
	    counter_u64_t *ptr, const char *descr);

#endif /* !_SHIM_KERN_H_ */
