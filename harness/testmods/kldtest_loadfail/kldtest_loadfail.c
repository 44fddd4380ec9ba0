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
 * The load failure path: MOD_LOAD allocates, then fails with ENXIO.
 * The kernel must send MOD_UNLOAD (which frees), unload the file (running
 * the SYSUNINITs, including MALLOC_DEFINE's leak check), and kldload must
 * fail with ENOEXEC.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/malloc.h>
#include <sys/module.h>

MALLOC_DEFINE(M_KLDTEST_LOADFAIL, "kldtest_loadfail", "load failure test");

static void	*kldtest_loadfail_buf;

static void
kldtest_loadfail_uninit(void *arg __unused)
{

	printf("kldtest_loadfail: SYSUNINIT\n");
}
SYSUNINIT(kldtest_loadfail, SI_SUB_DRIVERS, SI_ORDER_ANY,
    kldtest_loadfail_uninit, NULL);

static int
kldtest_loadfail_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		kldtest_loadfail_buf = malloc(100, M_KLDTEST_LOADFAIL,
		    M_WAITOK);
		printf("kldtest_loadfail: MOD_LOAD fails\n");
		return (ENXIO);
	case MOD_UNLOAD:
		free(kldtest_loadfail_buf, M_KLDTEST_LOADFAIL);
		kldtest_loadfail_buf = NULL;
		printf("kldtest_loadfail: MOD_UNLOAD\n");
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_loadfail_mod = {
	"kldtest_loadfail",
	kldtest_loadfail_modevent,
	NULL
};

DECLARE_MODULE(kldtest_loadfail, kldtest_loadfail_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
