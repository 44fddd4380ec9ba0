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
 * A module as built against the headers of a newer 15.x: DECLARE_MODULE
 * makes it depend on kernel versions __FREEBSD_VERSION to
 * MODULE_KERNEL_MAXVER (the end of the 15 branch), so a 15.0 kernel
 * (1500068) refuses it with "KLD kldtest_newer.ko: depends on kernel - not
 * available or version mismatch", and a kernel of 15.1 (1501000) or
 * later loads it.
 */

#include <sys/param.h>

/* What sys/param.h says in a 15.1 source tree. */
#undef __FreeBSD_version
#define	__FreeBSD_version 1501000

#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>

static int
kldtest_newer_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		printf("kldtest_newer: loaded\n");
		return (0);
	case MOD_UNLOAD:
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_newer_mod = {
	"kldtest_newer",
	kldtest_newer_modevent,
	NULL
};

DECLARE_MODULE(kldtest_newer, kldtest_newer_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
