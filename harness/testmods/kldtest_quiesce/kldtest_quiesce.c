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
 * Quiesce veto: MOD_QUIESCE answers EBUSY while debug.kldtest_quiesce_busy
 * (a static sysctl) is non-zero, so an unforced kldunload fails with
 * EBUSY and a forced one goes on.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/sysctl.h>

static int kldtest_quiesce_busy = 1;
SYSCTL_INT(_debug, OID_AUTO, kldtest_quiesce_busy, CTLFLAG_RW,
    &kldtest_quiesce_busy, 0, "veto unloads");

static int
kldtest_quiesce_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		return (0);
	case MOD_QUIESCE:
		printf("kldtest_quiesce: MOD_QUIESCE (busy=%d)\n",
		    kldtest_quiesce_busy);
		return (kldtest_quiesce_busy ? EBUSY : 0);
	case MOD_UNLOAD:
		printf("kldtest_quiesce: MOD_UNLOAD\n");
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_quiesce_mod = {
	"kldtest_quiesce",
	kldtest_quiesce_modevent,
	NULL
};

DECLARE_MODULE(kldtest_quiesce, kldtest_quiesce_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
