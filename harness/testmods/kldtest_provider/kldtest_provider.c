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
 * A module other modules depend on (kldtest_consumer), for the kernel
 * linker's symbol lookup: it defines a global strlen, which the kernel
 * also has; a global prvlen and a local prvloc, which only it has (each
 * returning a value of its own); and a pointer to the kernel's M_TEMP,
 * the only use of that symbol, for tests that patch the relocation.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/malloc.h>
#include <sys/module.h>

#undef strlen

size_t	strlen(const char *);
size_t	prvlen(const char *);

/* Not the kernel's: a module that binds to it gets 1000. */
size_t
strlen(const char *s __unused)
{

	return (1000);
}

size_t
prvlen(const char *s __unused)
{

	return (2000);
}

static size_t __used
prvloc(const char *s __unused)
{

	return (3000);
}

static void *kldtest_provider_temp __used = &M_TEMP;

static int
kldtest_provider_modevent(module_t mod __unused, int what,
    void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		printf("kldtest_provider: M_TEMP is %s\n",
		    kldtest_provider_temp != NULL ? "bound" : "NULL");
		return (0);
	case MOD_UNLOAD:
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_provider_mod = {
	"kldtest_provider",
	kldtest_provider_modevent,
	NULL
};

DECLARE_MODULE(kldtest_provider, kldtest_provider_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
MODULE_VERSION(kldtest_provider, 1);
