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
 * chello: hello.ko (hello/) written in C, the smallest module that does
 * what the Rust one does, so that the benchmarks can compare what a module
 * costs before it does anything (BENCHMARKS.md).
 *
 * - MOD_LOAD greets.
 * - hw.chello.repeat (root may write 1 to 10; anything else is EINVAL and
 *   leaves the value) is the number of goodbye lines MOD_UNLOAD prints; the
 *   loader tunable of that name, if valid, is its value at load.
 * - hw.chello.rejected counts the refused writes in a counter(9) counter;
 *   root zeroes it by writing to it.
 *
 * The node and repeat are static, as a C module declares them; the kernel
 * linker registers them at load and removes them at unload.  The counter
 * exists only between MOD_LOAD and MOD_UNLOAD, so its leaf is added and
 * removed with it.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/malloc.h>
#include <sys/sysctl.h>
#include <sys/counter.h>

#include <machine/atomic.h>

#define	CHELLO_MAX_REPEAT	10

static uint64_t	chello_repeat = 1;
static counter_u64_t chello_rejected;
static struct sysctl_ctx_list chello_ctx;

static int	chello_sysctl_repeat(SYSCTL_HANDLER_ARGS);

static SYSCTL_NODE(_hw, OID_AUTO, chello, CTLFLAG_RD | CTLFLAG_MPSAFE, 0,
    "The hello module in C");
SYSCTL_PROC(_hw_chello, OID_AUTO, repeat,
    CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0, chello_sysctl_repeat,
    "QU", "Goodbye lines printed at unload (1 to 10)");

static int
chello_sysctl_repeat(SYSCTL_HANDLER_ARGS)
{
	uint64_t val;
	int error;

	val = atomic_load_64(&chello_repeat);
	error = sysctl_handle_64(oidp, &val, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (val < 1 || val > CHELLO_MAX_REPEAT) {
		counter_u64_add(chello_rejected, 1);
		return (EINVAL);
	}
	atomic_store_64(&chello_repeat, val);
	return (0);
}

static int
chello_modevent(module_t mod __unused, int what, void *arg __unused)
{
	uint64_t i, n;
	quad_t q;
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		if (TUNABLE_QUAD_FETCH("hw.chello.repeat", &q) &&
		    q >= 1 && q <= CHELLO_MAX_REPEAT)
			atomic_store_64(&chello_repeat, q);
		chello_rejected = counter_u64_alloc(M_WAITOK);
		sysctl_ctx_init(&chello_ctx);
		if (SYSCTL_ADD_COUNTER_U64(&chello_ctx,
		    SYSCTL_STATIC_CHILDREN(_hw_chello), OID_AUTO, "rejected",
		    CTLFLAG_RW, &chello_rejected,
		    "Writes to hw.chello.repeat that were refused") == NULL) {
			sysctl_ctx_free(&chello_ctx);
			counter_u64_free(chello_rejected);
			error = EEXIST;
			break;
		}
		printf("chello: Hello from C, FreeBSD 15\n");
		break;
	case MOD_UNLOAD:
		sysctl_ctx_free(&chello_ctx);
		counter_u64_free(chello_rejected);
		n = atomic_load_64(&chello_repeat);
		for (i = 1; i <= n; i++)
			printf("chello: Goodbye (%ju/%ju)\n", (uintmax_t)i,
			    (uintmax_t)n);
		break;
	case MOD_QUIESCE:
	case MOD_SHUTDOWN:
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t chello_mod = {
	"chello",
	chello_modevent,
	NULL
};

DECLARE_MODULE(chello, chello_mod, SI_SUB_DRIVERS, SI_ORDER_MIDDLE);
MODULE_VERSION(chello, 1);
