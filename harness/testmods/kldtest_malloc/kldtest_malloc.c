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
 * malloc(9) behaviour for the harness: MOD_LOAD makes several M_NOWAIT
 * allocations and fails cleanly (ENOMEM, everything freed) if any
 * fails, so that fault injection can fail each one in turn. It records
 * what fresh memory looks like (debug.kldtest_malloc_junk: the first
 * word of a block allocated without M_ZERO), whether M_ZERO zeroed, and
 * whether malloc_aligned and realloc behaved. debug.kldtest_malloc_leak
 * makes MOD_UNLOAD forget one block, which the kernel reports as a leak.
 * Writing debug.kldtest_malloc_misuse commits one malloc(9) mistake:
 * 1 frees a pointer never allocated, 2 frees with the wrong type, 3
 * passes neither M_WAITOK nor M_NOWAIT.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/sysctl.h>

MALLOC_DEFINE(M_KLDTEST_MALLOC, "kldtest_malloc", "malloc test buffers");

#define	KLDTEST_NBUF	4

static void	*kldtest_bufs[KLDTEST_NBUF];
static void	*kldtest_zeroed;
static int	 kldtest_junk;
static int	 kldtest_zero_ok;
static int	 kldtest_align_ok;
static int	 kldtest_realloc_ok;
static int	 kldtest_leak;

SYSCTL_INT(_debug, OID_AUTO, kldtest_malloc_junk, CTLFLAG_RD, &kldtest_junk,
    0, "first word of unzeroed memory");
SYSCTL_INT(_debug, OID_AUTO, kldtest_malloc_zero_ok, CTLFLAG_RD,
    &kldtest_zero_ok, 0, "M_ZERO zeroed");
SYSCTL_INT(_debug, OID_AUTO, kldtest_malloc_align_ok, CTLFLAG_RD,
    &kldtest_align_ok, 0, "malloc_aligned aligned");
SYSCTL_INT(_debug, OID_AUTO, kldtest_malloc_realloc_ok, CTLFLAG_RD,
    &kldtest_realloc_ok, 0, "realloc kept the contents");
SYSCTL_INT(_debug, OID_AUTO, kldtest_malloc_leak, CTLFLAG_RW, &kldtest_leak,
    0, "leak one block at unload");

static int
kldtest_malloc_misuse(SYSCTL_HANDLER_ARGS)
{
	static char notmalloced[16];
	void *p;
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	switch (v) {
	case 1:
		free(notmalloced, M_KLDTEST_MALLOC);
		break;
	case 2:
		p = malloc(16, M_KLDTEST_MALLOC, M_WAITOK);
		free(p, M_TEMP);
		break;
	case 3:
		p = malloc(16, M_KLDTEST_MALLOC, M_ZERO);
		free(p, M_KLDTEST_MALLOC);
		break;
	default:
		return (EINVAL);
	}
	return (0);
}
SYSCTL_PROC(_debug, OID_AUTO, kldtest_malloc_misuse,
    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0, kldtest_malloc_misuse,
    "I", "commit a malloc(9) mistake");

static void
kldtest_malloc_release(void)
{
	int i;

	for (i = 0; i < KLDTEST_NBUF; i++) {
		if (kldtest_leak && i == 0)
			continue;
		free(kldtest_bufs[i], M_KLDTEST_MALLOC);
		kldtest_bufs[i] = NULL;
	}
	free(kldtest_zeroed, M_KLDTEST_MALLOC);
	kldtest_zeroed = NULL;
}

static int
kldtest_malloc_load(void)
{
	static const size_t sizes[KLDTEST_NBUF] = { 24, 300, 5000, 70000 };
	unsigned char *z;
	char *r;
	void *a;
	size_t i;

	for (i = 0; i < KLDTEST_NBUF; i++) {
		kldtest_bufs[i] = malloc(sizes[i], M_KLDTEST_MALLOC, M_NOWAIT);
		if (kldtest_bufs[i] == NULL) {
			kldtest_malloc_release();
			return (ENOMEM);
		}
	}
	kldtest_junk = *(int *)kldtest_bufs[0];
	kldtest_zeroed = malloc(64, M_KLDTEST_MALLOC, M_WAITOK | M_ZERO);
	z = kldtest_zeroed;
	kldtest_zero_ok = 1;
	for (i = 0; i < 64; i++)
		if (z[i] != 0)
			kldtest_zero_ok = 0;
	a = malloc_aligned(100, 64, M_KLDTEST_MALLOC, M_WAITOK);
	kldtest_align_ok = ((uintptr_t)a % 64) == 0;
	free(a, M_KLDTEST_MALLOC);
	r = malloc(8, M_KLDTEST_MALLOC, M_WAITOK);
	memcpy(r, "1234567", 8);
	r = realloc(r, 4000, M_KLDTEST_MALLOC, M_WAITOK);
	kldtest_realloc_ok = memcmp(r, "1234567", 8) == 0;
	free(r, M_KLDTEST_MALLOC);
	return (0);
}

static int
kldtest_malloc_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		return (kldtest_malloc_load());
	case MOD_UNLOAD:
		kldtest_malloc_release();
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_malloc_mod = {
	"kldtest_malloc",
	kldtest_malloc_modevent,
	NULL
};

DECLARE_MODULE(kldtest_malloc, kldtest_malloc_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
