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
 * Depends on kldtest_provider and calls strlen, which both the kernel and
 * kldtest_provider define: the kernel linker looks the symbol up in the
 * module itself, then in the kernel, then in the other dependencies, so
 * the kernel's strlen (3 for "abc") is the one called. Tests patch the
 * name to prvlen or prvloc, which only kldtest_provider has.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>

static char kldtest_consumer_abc[] = "abc";

static int
kldtest_consumer_modevent(module_t mod __unused, int what,
    void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		printf("kldtest_consumer: strlen returned %zu\n",
		    strlen(kldtest_consumer_abc));
		return (0);
	case MOD_UNLOAD:
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

static moduledata_t kldtest_consumer_mod = {
	"kldtest_consumer",
	kldtest_consumer_modevent,
	NULL
};

DECLARE_MODULE(kldtest_consumer, kldtest_consumer_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
MODULE_DEPEND(kldtest_consumer, kldtest_provider, 1, 1, 1);
