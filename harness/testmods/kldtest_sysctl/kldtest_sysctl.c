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
 * Dynamic sysctl nodes (sysctl(9)): a context, hw.kldtest with leaves of
 * each kind and a child node, a handler that accepts only even numbers,
 * a leaf anyone may write; plus one static leaf, hw.kldtest_static.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/sysctl.h>

static struct sysctl_ctx_list	kldtest_sysctl_ctx;
static int			kldtest_value = 42;
static char			kldtest_name[32] = "initial";
static long			kldtest_big = -5000000000L;
static uint64_t			kldtest_counter = 7;
static int			kldtest_even = 2;
static int			kldtest_anybody = 0;
static int			kldtest_leaf = 99;
static struct {
	uint32_t	a;
	uint32_t	b;
} kldtest_blob = { 0x11223344, 0x55667788 };
static int			kldtest_static_value = 5;

SYSCTL_INT(_hw, OID_AUTO, kldtest_static, CTLFLAG_RD, &kldtest_static_value,
    0, "a static leaf");

static int
kldtest_even_handler(SYSCTL_HANDLER_ARGS)
{
	int error, v;

	v = *(int *)arg1;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (v % 2 != 0)
		return (EINVAL);
	*(int *)arg1 = v;
	return (0);
}

static int
kldtest_sysctl_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct sysctl_oid *node, *sub;
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		sysctl_ctx_init(&kldtest_sysctl_ctx);
		node = SYSCTL_ADD_NODE(&kldtest_sysctl_ctx,
		    SYSCTL_STATIC_CHILDREN(_hw), OID_AUTO, "kldtest",
		    CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, "kldtest sysctl tree");
		if (node == NULL) {
			error = ENOMEM;
			break;
		}
		SYSCTL_ADD_INT(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "value", CTLFLAG_RW, &kldtest_value, 0,
		    "an int");
		SYSCTL_ADD_STRING(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "name", CTLFLAG_RW, kldtest_name,
		    sizeof(kldtest_name), "a string");
		SYSCTL_ADD_LONG(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "big", CTLFLAG_RW, &kldtest_big, "a long");
		SYSCTL_ADD_U64(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "counter", CTLFLAG_RD, &kldtest_counter, 0,
		    "a read-only counter");
		SYSCTL_ADD_OPAQUE(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "blob", CTLFLAG_RD, &kldtest_blob,
		    sizeof(kldtest_blob), "S,blob", "opaque bytes");
		SYSCTL_ADD_PROC(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "even", CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE,
		    &kldtest_even, 0, kldtest_even_handler, "I",
		    "even numbers only");
		SYSCTL_ADD_INT(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "anybody", CTLFLAG_RW | CTLFLAG_ANYBODY,
		    &kldtest_anybody, 0, "anyone may write");
		sub = SYSCTL_ADD_NODE(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(node),
		    OID_AUTO, "sub", CTLFLAG_RD | CTLFLAG_MPSAFE, NULL,
		    "a child node");
		SYSCTL_ADD_INT(&kldtest_sysctl_ctx, SYSCTL_CHILDREN(sub),
		    OID_AUTO, "leaf", CTLFLAG_RD, &kldtest_leaf, 0, "a leaf");
		break;
	case MOD_UNLOAD:
		error = sysctl_ctx_free(&kldtest_sysctl_ctx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t kldtest_sysctl_mod = {
	"kldtest_sysctl",
	kldtest_sysctl_modevent,
	NULL
};

DECLARE_MODULE(kldtest_sysctl, kldtest_sysctl_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
