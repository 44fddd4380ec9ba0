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
 * Library routines of libkern, under debug.kldtest_text: "strlcat" and
 * "vsnprintf" show their results on fixed inputs; writing N to "strdup"
 * keeps N copies of a string from strdup(9) (0 frees them), and
 * "strdup_locked" makes one with a mutex held, which is a mistake.  When
 * "leak" is set, unloading does not free the copies.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/libkern.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/sysctl.h>

#include <machine/stdarg.h>

#define	KLDTEST_TEXT_MAX	16

MALLOC_DEFINE(M_KLDTEST_TEXT, "kldtest_text", "kldtest_text copies");

static struct sysctl_ctx_list	kldtest_text_ctx;
static struct mtx		kldtest_text_mtx;
static char			*kldtest_text_copies[KLDTEST_TEXT_MAX];
static int			kldtest_text_ncopies;
static int			kldtest_text_leak;

static int
kldtest_text_strlcat_handler(SYSCTL_HANDLER_ARGS)
{
	char buf[8] = "abc";
	char nonul[4] = { 'w', 'x', 'y', 'z' };
	char out[64];
	size_t n1, n2, n3;

	n1 = strlcat(buf, "de", sizeof(buf));
	n2 = strlcat(buf, "fghij", sizeof(buf));
	n3 = strlcat(nonul, "q", sizeof(nonul));
	snprintf(out, sizeof(out), "%s %zu %zu %zu %c", buf, n1, n2, n3,
	    nonul[3]);
	return (sysctl_handle_string(oidp, out, sizeof(out), req));
}

static int
kldtest_text_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return (n);
}

static int
kldtest_text_vsnprintf_handler(SYSCTL_HANDLER_ARGS)
{
	char small[6], out[64];
	int n1, n2;

	n1 = kldtest_text_format(small, sizeof(small), "%d-%s-%x", 42, "abc",
	    255);
	n2 = kldtest_text_format(NULL, 0, "%s", "xyz");
	snprintf(out, sizeof(out), "%s %d %d", small, n1, n2);
	return (sysctl_handle_string(oidp, out, sizeof(out), req));
}

static void
kldtest_text_free(void)
{

	while (kldtest_text_ncopies > 0)
		free(kldtest_text_copies[--kldtest_text_ncopies],
		    M_KLDTEST_TEXT);
}

static int
kldtest_text_strdup_handler(SYSCTL_HANDLER_ARGS)
{
	int error, i, n;

	n = kldtest_text_ncopies;
	error = sysctl_handle_int(oidp, &n, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (n < 0 || n > KLDTEST_TEXT_MAX)
		return (EINVAL);
	kldtest_text_free();
	for (i = 0; i < n; i++) {
		kldtest_text_copies[i] = strdup("kldtest", M_KLDTEST_TEXT);
		kldtest_text_ncopies++;
		if (strcmp(kldtest_text_copies[i], "kldtest") != 0)
			return (EDOOFUS);
	}
	return (0);
}

static int
kldtest_text_locked_handler(SYSCTL_HANDLER_ARGS)
{
	char *p;
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	mtx_lock(&kldtest_text_mtx);
	p = strdup("locked", M_KLDTEST_TEXT);
	mtx_unlock(&kldtest_text_mtx);
	free(p, M_KLDTEST_TEXT);
	return (0);
}

static int
kldtest_text_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct sysctl_oid *node;
	struct sysctl_oid_list *list;
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&kldtest_text_mtx, "kldtest_text", NULL, MTX_DEF);
		sysctl_ctx_init(&kldtest_text_ctx);
		node = SYSCTL_ADD_NODE(&kldtest_text_ctx,
		    SYSCTL_STATIC_CHILDREN(_debug), OID_AUTO, "kldtest_text",
		    CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, "libkern tests");
		if (node == NULL) {
			mtx_destroy(&kldtest_text_mtx);
			error = ENOMEM;
			break;
		}
		list = SYSCTL_CHILDREN(node);
		SYSCTL_ADD_PROC(&kldtest_text_ctx, list, OID_AUTO, "strlcat",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_text_strlcat_handler, "A", "strlcat(3) results");
		SYSCTL_ADD_PROC(&kldtest_text_ctx, list, OID_AUTO, "vsnprintf",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_text_vsnprintf_handler, "A", "vsnprintf(9) results");
		SYSCTL_ADD_PROC(&kldtest_text_ctx, list, OID_AUTO, "strdup",
		    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_text_strdup_handler, "I", "copies held");
		SYSCTL_ADD_PROC(&kldtest_text_ctx, list, OID_AUTO,
		    "strdup_locked", CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE,
		    NULL, 0, kldtest_text_locked_handler, "I",
		    "strdup(9) with a mutex held");
		SYSCTL_ADD_INT(&kldtest_text_ctx, list, OID_AUTO, "leak",
		    CTLFLAG_RW, &kldtest_text_leak, 0,
		    "keep the copies at unload");
		break;
	case MOD_UNLOAD:
		error = sysctl_ctx_free(&kldtest_text_ctx);
		if (error != 0)
			break;
		if (!kldtest_text_leak)
			kldtest_text_free();
		mtx_destroy(&kldtest_text_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t kldtest_text_mod = {
	"kldtest_text",
	kldtest_text_modevent,
	NULL
};

DECLARE_MODULE(kldtest_text, kldtest_text_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
