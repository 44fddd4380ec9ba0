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
 * The clock as a driver sees it, under debug.kldtest_clock: "now" returns
 * every clock reading at once (struct kldtest_clock_now, below), "pause"
 * pauses for the number of ticks written and "pause_result" tells what
 * pause(9) returned and how many ticks went by; "pause_locked" pauses
 * with a mutex held, which is a mistake.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/sysctl.h>
#include <sys/time.h>

/* What debug.kldtest_clock.now returns (the test decodes this layout). */
struct kldtest_clock_now {
	struct timeval	getmicrotime;
	struct timeval	microtime;
	struct timeval	getmicrouptime;
	struct timeval	microuptime;
	struct timespec	getnanotime;
	struct timespec	nanotime;
	struct timespec	getnanouptime;
	struct timespec	nanouptime;
	struct bintime	getbinuptime;
	struct bintime	binuptime;
	struct timeval	boottime;
	sbintime_t	tick_sbt;
	long		ticksl;
	time_t		time_second;
	time_t		time_uptime;
	int		ticks;
	int		hz;
	int		tick;
	int		pad;
};

static struct sysctl_ctx_list	kldtest_clock_ctx;
static struct mtx		kldtest_clock_mtx;
static int			kldtest_clock_error;
static int			kldtest_clock_elapsed;

static int
kldtest_clock_now_handler(SYSCTL_HANDLER_ARGS)
{
	struct kldtest_clock_now now;

	memset(&now, 0, sizeof(now));
	getmicrotime(&now.getmicrotime);
	microtime(&now.microtime);
	getmicrouptime(&now.getmicrouptime);
	microuptime(&now.microuptime);
	getnanotime(&now.getnanotime);
	nanotime(&now.nanotime);
	getnanouptime(&now.getnanouptime);
	nanouptime(&now.nanouptime);
	getbinuptime(&now.getbinuptime);
	binuptime(&now.binuptime);
	getboottime(&now.boottime);
	now.tick_sbt = tick_sbt;
	now.ticksl = ticksl;
	now.time_second = time_second;
	now.time_uptime = time_uptime;
	now.ticks = ticks;
	now.hz = hz;
	now.tick = tick;
	return (SYSCTL_OUT(req, &now, sizeof(now)));
}

static int
kldtest_clock_pause_handler(SYSCTL_HANDLER_ARGS)
{
	int error, start, timo;

	timo = 0;
	error = sysctl_handle_int(oidp, &timo, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	start = ticks;
	kldtest_clock_error = pause("kldtest", timo);
	kldtest_clock_elapsed = ticks - start;
	return (0);
}

static int
kldtest_clock_locked_handler(SYSCTL_HANDLER_ARGS)
{
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	mtx_lock(&kldtest_clock_mtx);
	(void)pause("kldtest", 1);
	mtx_unlock(&kldtest_clock_mtx);
	return (0);
}

static int
kldtest_clock_result_handler(SYSCTL_HANDLER_ARGS)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d %d", kldtest_clock_error,
	    kldtest_clock_elapsed);
	return (sysctl_handle_string(oidp, buf, sizeof(buf), req));
}

static int
kldtest_clock_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct sysctl_oid *node;
	struct sysctl_oid_list *list;
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&kldtest_clock_mtx, "kldtest_clock", NULL, MTX_DEF);
		sysctl_ctx_init(&kldtest_clock_ctx);
		node = SYSCTL_ADD_NODE(&kldtest_clock_ctx,
		    SYSCTL_STATIC_CHILDREN(_debug), OID_AUTO, "kldtest_clock",
		    CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, "clock tests");
		if (node == NULL) {
			mtx_destroy(&kldtest_clock_mtx);
			error = ENOMEM;
			break;
		}
		list = SYSCTL_CHILDREN(node);
		SYSCTL_ADD_PROC(&kldtest_clock_ctx, list, OID_AUTO, "now",
		    CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_clock_now_handler, "S,kldtest_clock_now",
		    "every clock reading");
		SYSCTL_ADD_PROC(&kldtest_clock_ctx, list, OID_AUTO, "pause",
		    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_clock_pause_handler, "I", "pause(9) for N ticks");
		SYSCTL_ADD_PROC(&kldtest_clock_ctx, list, OID_AUTO,
		    "pause_locked", CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE,
		    NULL, 0, kldtest_clock_locked_handler, "I",
		    "pause(9) with a mutex held");
		SYSCTL_ADD_PROC(&kldtest_clock_ctx, list, OID_AUTO,
		    "pause_result", CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE,
		    NULL, 0, kldtest_clock_result_handler, "A",
		    "what the last pause returned, and the ticks it took");
		break;
	case MOD_UNLOAD:
		error = sysctl_ctx_free(&kldtest_clock_ctx);
		if (error == 0)
			mtx_destroy(&kldtest_clock_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t kldtest_clock_mod = {
	"kldtest_clock",
	kldtest_clock_modevent,
	NULL
};

DECLARE_MODULE(kldtest_clock, kldtest_clock_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
