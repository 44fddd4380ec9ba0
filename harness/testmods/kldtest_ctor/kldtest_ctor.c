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
 * Constructors and destructors (.init_array, .fini_array) next to a
 * SYSINIT, a SYSUNINIT and the module event handler, each printing when
 * it runs. FreeBSD 15 calls the constructors, in array order, at the end
 * of link_elf_load_file, before any SYSINIT or MOD_LOAD; and the
 * destructors, also in array order, after MOD_UNLOAD and the SYSUNINITs.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>

static void	kldtest_ctor_a(void) __attribute__((constructor));
static void	kldtest_ctor_b(void) __attribute__((constructor));
static void	kldtest_dtor_a(void) __attribute__((destructor));
static void	kldtest_dtor_b(void) __attribute__((destructor));

static int	kldtest_ctor_calls;

static void
kldtest_ctor_a(void)
{

	printf("kldtest_ctor: ctor a, call %d\n", ++kldtest_ctor_calls);
}

static void
kldtest_ctor_b(void)
{

	printf("kldtest_ctor: ctor b, call %d\n", ++kldtest_ctor_calls);
}

static void
kldtest_dtor_a(void)
{

	printf("kldtest_ctor: dtor a\n");
}

static void
kldtest_dtor_b(void)
{

	printf("kldtest_ctor: dtor b\n");
}

static void
kldtest_ctor_sysinit(void *arg __unused)
{

	printf("kldtest_ctor: sysinit\n");
}

static void
kldtest_ctor_sysuninit(void *arg __unused)
{

	printf("kldtest_ctor: sysuninit\n");
}

SYSINIT(kldtest_ctor, SI_SUB_TUNABLES, SI_ORDER_ANY, kldtest_ctor_sysinit,
    NULL);
SYSUNINIT(kldtest_ctor, SI_SUB_TUNABLES, SI_ORDER_ANY,
    kldtest_ctor_sysuninit, NULL);

static int
kldtest_ctor_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		printf("kldtest_ctor: MOD_LOAD\n");
		return (0);
	case MOD_UNLOAD:
		printf("kldtest_ctor: MOD_UNLOAD\n");
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_ctor_mod = {
	"kldtest_ctor",
	kldtest_ctor_modevent,
	NULL
};

DECLARE_MODULE(kldtest_ctor, kldtest_ctor_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
