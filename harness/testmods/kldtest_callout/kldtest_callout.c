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
 * Timers for the harness's callout(9) emulation.  /dev/kldtest_callout
 * has a periodic callout on a mutex (callout_init_mtx) that counts
 * ticks, an MP-safe one, one that releases its mutex itself
 * (CALLOUT_RETURNUNLOCKED) and one that runs under Giant; the ioctls
 * schedule, stop and drain them, and commit the callout mistakes the
 * harness must catch.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/callout.h>
#include <sys/conf.h>
#include <sys/ioccom.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/mutex.h>

struct co_stats {
	int	ticks;		/* periodic handler runs */
	int	unlocked;	/* ... of them without the mutex held */
	int	mpsafe;		/* MP-safe handler runs */
	int	retunlocked;	/* CALLOUT_RETURNUNLOCKED handler runs */
	int	giant;		/* Giant handler runs with Giant held */
};

#define	CO_START	_IOW('C', 1, int)	/* periodic, every n ticks */
#define	CO_STOP		_IOR('C', 2, int)	/* callout_stop under mtx */
#define	CO_DRAIN	_IOR('C', 3, int)	/* callout_drain */
#define	CO_STATS	_IOR('C', 4, struct co_stats)
#define	CO_MPSAFE	_IOW('C', 5, int)	/* once, in n ticks */
#define	CO_RETUNLOCKED	_IOW('C', 6, int)
#define	CO_GIANT	_IOW('C', 7, int)
#define	CO_RACE		_IOR('C', 8, int)	/* stop while it waits */
#define	CO_LEAK		_IO('C', 9)		/* no drain at unload */
#define	CO_PENDING	_IOR('C', 10, int)	/* callout_pending */
#define	CO_BAD_SLEEP	_IO('C', 20)	/* MP-safe handler sleeps */
#define	CO_BAD_STOP	_IO('C', 21)	/* callout_stop without mtx */
#define	CO_BAD_UNINIT	_IO('C', 22)	/* reset never initialised */
#define	CO_BAD_DRAIN	_IO('C', 23)	/* drain holding a mutex */
#define	CO_BAD_RESET	_IO('C', 24)	/* reset without mtx */
#define	CO_BAD_FREE	_IO('C', 25)	/* free a pending callout */

static d_ioctl_t	co_ioctl;

static struct cdevsw co_cdevsw = {
	.d_version =	D_VERSION,
	.d_ioctl =	co_ioctl,
	.d_name =	"kldtest_callout",
};

static struct cdev	*co_dev;
static struct mtx	 co_mtx;
static struct mtx	 co_other;
static struct callout	 co_tick;
static struct callout	 co_mp;
static struct callout	 co_ru;
static struct callout	 co_gi;
static struct callout	 co_never;	/* never initialised */
static struct co_stats	 co_stats;
static int		 co_period;
static int		 co_sleep;
static int		 co_leak;

static void
co_tick_fn(void *arg __unused)
{

	if (!mtx_owned(&co_mtx))
		co_stats.unlocked++;
	co_stats.ticks++;
	callout_reset(&co_tick, co_period, co_tick_fn, NULL);
}

static void
co_mp_fn(void *arg __unused)
{

	co_stats.mpsafe++;
	if (co_sleep)
		(void)tsleep(&co_sleep, 0, "cosleep", 1);
}

static void
co_ru_fn(void *arg __unused)
{

	co_stats.retunlocked++;
	mtx_unlock(&co_mtx);
}

static void
co_gi_fn(void *arg __unused)
{

	if (mtx_owned(&Giant))
		co_stats.giant++;
}

static int
co_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	struct callout *c;
	long spins;
	int error;

	error = 0;
	switch (cmd) {
	case CO_START:
		mtx_lock(&co_mtx);
		co_period = *(int *)data;
		callout_reset(&co_tick, co_period, co_tick_fn, NULL);
		mtx_unlock(&co_mtx);
		break;
	case CO_STOP:
		mtx_lock(&co_mtx);
		*(int *)data = callout_stop(&co_tick);
		mtx_unlock(&co_mtx);
		break;
	case CO_DRAIN:
		*(int *)data = callout_drain(&co_tick);
		break;
	case CO_STATS:
		mtx_lock(&co_mtx);
		*(struct co_stats *)data = co_stats;
		mtx_unlock(&co_mtx);
		break;
	case CO_MPSAFE:
		callout_reset(&co_mp, *(int *)data, co_mp_fn, NULL);
		break;
	case CO_RETUNLOCKED:
		mtx_lock(&co_mtx);
		callout_reset(&co_ru, *(int *)data, co_ru_fn, NULL);
		mtx_unlock(&co_mtx);
		break;
	case CO_GIANT:
		callout_reset(&co_gi, *(int *)data, co_gi_fn, NULL);
		break;
	case CO_RACE:
		/*
		 * Schedule, then wait with the mutex held until the
		 * softclock thread has taken the callout (it is no longer
		 * pending and waits for the mutex): callout_stop must
		 * cancel it, and the handler must not run.
		 */
		mtx_lock(&co_mtx);
		co_period = 1;
		callout_reset(&co_tick, 1, co_tick_fn, NULL);
		for (spins = 0; spins < 4000000000L &&
		    (*(volatile short *)&co_tick.c_iflags &
		    CALLOUT_PENDING) != 0; spins++)
			;	/* spin */
		*(int *)data = callout_stop(&co_tick);
		mtx_unlock(&co_mtx);
		break;
	case CO_LEAK:
		co_leak = 1;
		break;
	case CO_PENDING:
		mtx_lock(&co_mtx);
		*(int *)data = callout_pending(&co_tick) != 0;
		mtx_unlock(&co_mtx);
		break;
	case CO_BAD_SLEEP:
		co_sleep = 1;
		callout_reset(&co_mp, 1, co_mp_fn, NULL);
		break;
	case CO_BAD_STOP:
		(void)callout_stop(&co_tick);
		break;
	case CO_BAD_UNINIT:
		callout_reset(&co_never, 1, co_mp_fn, NULL);
		break;
	case CO_BAD_DRAIN:
		mtx_lock(&co_other);
		(void)callout_drain(&co_mp);
		mtx_unlock(&co_other);
		break;
	case CO_BAD_RESET:
		callout_reset(&co_tick, 1, co_tick_fn, NULL);
		break;
	case CO_BAD_FREE:
		c = malloc(sizeof(*c), M_DEVBUF, M_WAITOK | M_ZERO);
		callout_init(c, 1);
		callout_reset(c, 10, co_mp_fn, NULL);
		free(c, M_DEVBUF);
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
co_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&co_mtx, "kldtest_callout", NULL, MTX_DEF);
		mtx_init(&co_other, "kldtest_callout other", NULL, MTX_DEF);
		callout_init_mtx(&co_tick, &co_mtx, 0);
		callout_init(&co_mp, 1);
		callout_init_mtx(&co_ru, &co_mtx, CALLOUT_RETURNUNLOCKED);
		callout_init(&co_gi, 0);
		co_dev = make_dev(&co_cdevsw, 0, UID_ROOT, GID_WHEEL, 0666,
		    "kldtest_callout");
		break;
	case MOD_UNLOAD:
		destroy_dev(co_dev);
		if (!co_leak) {
			callout_drain(&co_tick);
			callout_drain(&co_mp);
			callout_drain(&co_ru);
			callout_drain(&co_gi);
		}
		mtx_destroy(&co_other);
		mtx_destroy(&co_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(kldtest_callout, co_modevent, NULL);
