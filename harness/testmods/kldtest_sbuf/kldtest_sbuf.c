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
 * sbuf(9) under debug.kldtest_sbuf: "report" is a sysctl handler written
 * the usual way (sysctl_wire_old_buffer, sbuf_new_for_sysctl, output
 * longer than the sbuf, drained into the request) with a mutex held
 * while formatting, which the wired buffer allows; "fixed" and "auto"
 * show the results of a fixed buffer that overflows and of a growing
 * one; "drains" the results of sbuf_count_drain and of a drain of its
 * own that fails; "nowait" makes an SBUF_NOWAIT sbuf (ENOMEM when malloc
 * fails);
 * writing 1, 2 or 3 to "misuse" commits a mistake INVARIANTS catches.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/sbuf.h>
#include <sys/sysctl.h>

static struct sysctl_ctx_list	kldtest_sbuf_ctx;
static struct mtx		kldtest_sbuf_mtx;
static int			kldtest_sbuf_lines = 20;

static int
kldtest_sbuf_report_handler(SYSCTL_HANDLER_ARGS)
{
	struct sbuf *sb;
	int error, i;

	error = sysctl_wire_old_buffer(req, 0);
	if (error != 0)
		return (error);
	sb = sbuf_new_for_sysctl(NULL, NULL, 0, req);
	mtx_lock(&kldtest_sbuf_mtx);
	for (i = 0; i < kldtest_sbuf_lines; i++)
		sbuf_printf(sb, "line %02d: %s\n", i, "kldtest");
	sbuf_cat(sb, "end");
	sbuf_putc(sb, '.');
	sbuf_bcat(sb, "\nXYZ", 1);
	mtx_unlock(&kldtest_sbuf_mtx);
	error = sbuf_finish(sb);
	sbuf_delete(sb);
	return (error);
}

static int
kldtest_sbuf_fixed_handler(SYSCTL_HANDLER_ARGS)
{
	struct sbuf sb;
	char buf[8], out[64], *data;
	int e1, e2, e3, r1, r2;
	ssize_t len;

	sbuf_new(&sb, buf, sizeof(buf), SBUF_FIXEDLEN);
	r1 = sbuf_cat(&sb, "hello");
	r2 = sbuf_cat(&sb, " world");
	e1 = sbuf_error(&sb);
	len = sbuf_len(&sb);
	e2 = sbuf_finish(&sb);
	data = sbuf_data(&sb);
	snprintf(out, sizeof(out), "%s|%d|%d|%d|%zd|%d", data, r1, r2, e1,
	    len, e2);
	sbuf_clear(&sb);
	sbuf_cpy(&sb, "ok");
	e3 = sbuf_finish(&sb);
	strlcat(out, "|", sizeof(out));
	strlcat(out, sbuf_data(&sb), sizeof(out));
	sbuf_delete(&sb);
	snprintf(buf, sizeof(buf), "|%d", e3);
	strlcat(out, buf, sizeof(out));
	return (sysctl_handle_string(oidp, out, sizeof(out), req));
}

static int
kldtest_sbuf_auto_handler(SYSCTL_HANDLER_ARGS)
{
	struct sbuf *sb;
	char out[64];
	int error, i;

	sb = sbuf_new_auto();
	for (i = 0; i < 100; i++)
		sbuf_putc(sb, 'x');
	sbuf_setpos(sb, 10);
	sbuf_printf(sb, "[%d]", 7);
	sbuf_cat(sb, " \t\n");
	sbuf_trim(sb);
	sbuf_nl_terminate(sb);
	error = sbuf_finish(sb);
	snprintf(out, sizeof(out), "%s%zd %d %d", sbuf_data(sb), sbuf_len(sb),
	    error, sbuf_done(sb));
	sbuf_delete(sb);
	return (sysctl_handle_string(oidp, out, sizeof(out), req));
}

/* A drain that takes 5 bytes at a time, and fails on its third call. */
static int
kldtest_sbuf_drain(void *arg, const char *data __unused, int len)
{
	int *calls;

	calls = arg;
	if (++*calls == 3)
		return (-EIO);
	return (MIN(len, 5));
}

static int
kldtest_sbuf_drains_handler(SYSCTL_HANDLER_ARGS)
{
	struct sbuf sb;
	char buf[16], out[64];
	size_t count;
	int calls, e1, e2, i, r;

	count = 0;
	sbuf_new(&sb, buf, sizeof(buf), SBUF_FIXEDLEN);
	sbuf_set_drain(&sb, sbuf_count_drain, &count);
	for (i = 0; i < 10; i++)
		sbuf_printf(&sb, "%d:abcdefgh;", i);
	e1 = sbuf_finish(&sb);
	sbuf_delete(&sb);

	calls = 0;
	sbuf_new(&sb, buf, sizeof(buf), SBUF_FIXEDLEN);
	sbuf_set_drain(&sb, kldtest_sbuf_drain, &calls);
	r = sbuf_cat(&sb, "0123456789abcdefghijklmnopqrstuvwxyz");
	e2 = sbuf_finish(&sb);
	sbuf_delete(&sb);
	snprintf(out, sizeof(out), "%zu %d %d %d %d", count, e1, r, e2, calls);
	return (sysctl_handle_string(oidp, out, sizeof(out), req));
}

static int
kldtest_sbuf_nowait_handler(SYSCTL_HANDLER_ARGS)
{
	struct sbuf *sb;
	int error;

	sb = sbuf_new(NULL, NULL, 0, SBUF_AUTOEXTEND | SBUF_NOWAIT);
	if (sb == NULL)
		return (ENOMEM);
	sbuf_cat(sb, "nowait");
	error = sbuf_finish(sb);
	if (error == 0)
		error = sysctl_handle_string(oidp, sbuf_data(sb),
		    sbuf_len(sb) + 1, req);
	sbuf_delete(sb);
	return (error);
}

static int
kldtest_sbuf_misuse_handler(SYSCTL_HANDLER_ARGS)
{
	struct sbuf sb;
	char buf[16];
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	switch (v) {
	case 1:
		/* sbuf_data before sbuf_finish. */
		sbuf_new(&sb, buf, sizeof(buf), SBUF_FIXEDLEN);
		sbuf_cat(&sb, "x");
		(void)sbuf_data(&sb);
		break;
	case 2:
		/* Appending to a finished sbuf. */
		sbuf_new(&sb, buf, sizeof(buf), SBUF_FIXEDLEN);
		sbuf_finish(&sb);
		sbuf_cat(&sb, "x");
		break;
	case 3:
		/* No room for even one character and the NUL. */
		sbuf_new(&sb, buf, 1, SBUF_FIXEDLEN);
		break;
	default:
		return (EINVAL);
	}
	return (0);
}

static int
kldtest_sbuf_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct sysctl_oid *node;
	struct sysctl_oid_list *list;
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&kldtest_sbuf_mtx, "kldtest_sbuf", NULL, MTX_DEF);
		sysctl_ctx_init(&kldtest_sbuf_ctx);
		node = SYSCTL_ADD_NODE(&kldtest_sbuf_ctx,
		    SYSCTL_STATIC_CHILDREN(_debug), OID_AUTO, "kldtest_sbuf",
		    CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, "sbuf tests");
		if (node == NULL) {
			mtx_destroy(&kldtest_sbuf_mtx);
			error = ENOMEM;
			break;
		}
		list = SYSCTL_CHILDREN(node);
		SYSCTL_ADD_INT(&kldtest_sbuf_ctx, list, OID_AUTO, "lines",
		    CTLFLAG_RW, &kldtest_sbuf_lines, 0, "lines in the report");
		SYSCTL_ADD_PROC(&kldtest_sbuf_ctx, list, OID_AUTO, "report",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_sbuf_report_handler, "A", "a drained report");
		SYSCTL_ADD_PROC(&kldtest_sbuf_ctx, list, OID_AUTO, "fixed",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_sbuf_fixed_handler, "A", "a fixed sbuf overflowing");
		SYSCTL_ADD_PROC(&kldtest_sbuf_ctx, list, OID_AUTO, "auto",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_sbuf_auto_handler, "A", "a growing sbuf");
		SYSCTL_ADD_PROC(&kldtest_sbuf_ctx, list, OID_AUTO, "drains",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_sbuf_drains_handler, "A", "drain functions");
		SYSCTL_ADD_PROC(&kldtest_sbuf_ctx, list, OID_AUTO, "nowait",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_sbuf_nowait_handler, "A", "an SBUF_NOWAIT sbuf");
		SYSCTL_ADD_PROC(&kldtest_sbuf_ctx, list, OID_AUTO, "misuse",
		    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_sbuf_misuse_handler, "I", "mistakes");
		break;
	case MOD_UNLOAD:
		error = sysctl_ctx_free(&kldtest_sbuf_ctx);
		if (error == 0)
			mtx_destroy(&kldtest_sbuf_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t kldtest_sbuf_mod = {
	"kldtest_sbuf",
	kldtest_sbuf_modevent,
	NULL
};

DECLARE_MODULE(kldtest_sbuf, kldtest_sbuf_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
