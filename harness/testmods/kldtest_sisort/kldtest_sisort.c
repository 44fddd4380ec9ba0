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
 * linker_file_sysinit sorts a module's SYSINIT set in place, in the
 * module's memory: this module declares its SYSINITs out of order, and its
 * MOD_LOAD handler (itself a SYSINIT, at SI_SUB_DRIVERS) prints the order
 * of the entries of set_sysinit_set as it finds them in memory. An entry
 * at SI_SUB_DUMMY is sorted with the others but never run.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/linker_set.h>
#include <sys/module.h>

SET_DECLARE(sysinit_set, struct sysinit);

static void
kldtest_sisort_run(void *arg)
{

	printf("kldtest_sisort: run %d\n", (int)(uintptr_t)arg);
}

SYSINIT(kldtest_sisort_c, SI_SUB_LAST, SI_ORDER_ANY, kldtest_sisort_run,
    (void *)3);
SYSINIT(kldtest_sisort_dummy, SI_SUB_DUMMY, SI_ORDER_ANY, kldtest_sisort_run,
    (void *)0);
SYSINIT(kldtest_sisort_a, SI_SUB_TUNABLES, SI_ORDER_ANY, kldtest_sisort_run,
    (void *)1);
SYSINIT(kldtest_sisort_b, SI_SUB_KLD, SI_ORDER_FIRST, kldtest_sisort_run,
    (void *)2);

static int
kldtest_sisort_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct sysinit **sipp;

	switch (what) {
	case MOD_LOAD:
		printf("kldtest_sisort: set in memory:");
		SET_FOREACH(sipp, sysinit_set)
			printf(" %#x", (*sipp)->subsystem);
		printf("\n");
		return (0);
	case MOD_UNLOAD:
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_sisort_mod = {
	"kldtest_sisort",
	kldtest_sisort_modevent,
	NULL
};

DECLARE_MODULE(kldtest_sisort, kldtest_sisort_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
