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
 * SYSINIT and SYSUNINIT ordering: several entries at different
 * subsystems and orders, declared out of order, each printing its
 * position; plus the module event handler of DECLARE_MODULE, whose
 * module_register_init runs at SI_SUB_DRIVERS, SI_ORDER_MIDDLE.
 *
 * Expected on load:   step 1 (SI_SUB_TUNABLES), step 2 (SI_SUB_KLD FIRST),
 *                     step 3 (SI_SUB_KLD ANY), MOD_LOAD, step 4
 *                     (SI_SUB_DRIVERS ANY), step 5 (SI_SUB_LAST).
 * Expected on unload: MOD_QUIESCE, MOD_UNLOAD, then the SYSUNINITs in the
 *                     reverse order: undo 5, undo 4, undo 1.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/proc.h>
#include <sys/ucred.h>

static int	kldtest_sysinit_modevent(module_t mod, int what, void *arg);
static void	kldtest_sysinit_step(void *arg);
static void	kldtest_sysinit_undo(void *arg);

static void
kldtest_sysinit_step(void *arg)
{

	printf("kldtest_sysinit: step %d\n", (int)(uintptr_t)arg);
}

static void
kldtest_sysinit_undo(void *arg)
{

	printf("kldtest_sysinit: undo %d\n", (int)(uintptr_t)arg);
}

/* Declared out of order on purpose. */
SYSINIT(kldtest_step5, SI_SUB_LAST, SI_ORDER_FIRST, kldtest_sysinit_step,
    (void *)5);
SYSINIT(kldtest_step3, SI_SUB_KLD, SI_ORDER_ANY, kldtest_sysinit_step,
    (void *)3);
SYSINIT(kldtest_step1, SI_SUB_TUNABLES, SI_ORDER_MIDDLE,
    kldtest_sysinit_step, (void *)1);
SYSINIT(kldtest_step4, SI_SUB_DRIVERS, SI_ORDER_ANY, kldtest_sysinit_step,
    (void *)4);
SYSINIT(kldtest_step2, SI_SUB_KLD, SI_ORDER_FIRST, kldtest_sysinit_step,
    (void *)2);

SYSUNINIT(kldtest_undo4, SI_SUB_DRIVERS, SI_ORDER_ANY, kldtest_sysinit_undo,
    (void *)4);
SYSUNINIT(kldtest_undo1, SI_SUB_TUNABLES, SI_ORDER_MIDDLE,
    kldtest_sysinit_undo, (void *)1);
SYSUNINIT(kldtest_undo5, SI_SUB_LAST, SI_ORDER_FIRST, kldtest_sysinit_undo,
    (void *)5);

static int
kldtest_sysinit_modevent(module_t mod, int what, void *arg)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		/* curthread is %gs:0; its process and credential are set. */
		printf("kldtest_sysinit: MOD_LOAD by pid %d uid %u\n",
		    curthread->td_proc->p_pid, curthread->td_ucred->cr_uid);
		break;
	case MOD_QUIESCE:
		printf("kldtest_sysinit: MOD_QUIESCE\n");
		break;
	case MOD_UNLOAD:
		printf("kldtest_sysinit: MOD_UNLOAD\n");
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t kldtest_sysinit_mod = {
	"kldtest_sysinit",
	kldtest_sysinit_modevent,
	NULL
};

DECLARE_MODULE(kldtest_sysinit, kldtest_sysinit_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
MODULE_VERSION(kldtest_sysinit, 1);
