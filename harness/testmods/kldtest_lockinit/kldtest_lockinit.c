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
 * The INVARIANTS rules of lock_init(9) and of destroyed locks, for the
 * harness. Each ioctl(2) on /dev/kldtest_lockinit initialises, uses and
 * destroys locks in one way; some are mistakes that panic an INVARIANTS
 * kernel, the others are the correct way to do the same thing.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/ioccom.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/sx.h>

/* Mistakes: each panics an INVARIANTS kernel. */
#define	KLDTEST_LOCKINIT_MTX_POISON	_IO('L', 1)	/* malloc, mtx_init */
#define	KLDTEST_LOCKINIT_SX_POISON	_IO('L', 2)	/* malloc, sx_init */
#define	KLDTEST_LOCKINIT_MTX_TWICE	_IO('L', 3)	/* mtx_init twice */
#define	KLDTEST_LOCKINIT_SX_HELD	_IO('L', 4)	/* sx_destroy held */
#define	KLDTEST_LOCKINIT_MTX_DEAD	_IO('L', 5)	/* mtx_lock destroyed */
#define	KLDTEST_LOCKINIT_SX_DEAD	_IO('L', 6)	/* sx_xlock destroyed */
#define	KLDTEST_LOCKINIT_UNLOCK_DEAD	_IO('L', 7)	/* mtx_unlock destroyed */
#define	KLDTEST_LOCKINIT_FREE_LIVE	_IO('L', 8)	/* free, not destroyed */
/* The correct ways. */
#define	KLDTEST_LOCKINIT_ZERO		_IO('L', 10)	/* M_ZERO memory */
#define	KLDTEST_LOCKINIT_NEW		_IO('L', 11)	/* MTX_NEW, SX_NEW */
#define	KLDTEST_LOCKINIT_REINIT		_IO('L', 12)	/* init after destroy */
#define	KLDTEST_LOCKINIT_MTX_OWNED	_IO('L', 13)	/* mtx_destroy owned */

static d_ioctl_t	kldtest_lockinit_ioctl;

static struct cdevsw kldtest_lockinit_cdevsw = {
	.d_version =	D_VERSION,
	.d_ioctl =	kldtest_lockinit_ioctl,
	.d_name =	"kldtest_lockinit",
};

struct kldtest_lockinit_pair {
	struct mtx	mtx;
	struct sx	sx;
};

static struct cdev	*kldtest_lockinit_dev;
static struct mtx	 kldtest_lockinit_mtx;
static struct sx	 kldtest_lockinit_sx;

/* Takes and releases both locks of a pair, then destroys them. */
static void
kldtest_lockinit_use(struct kldtest_lockinit_pair *p)
{

	mtx_lock(&p->mtx);
	mtx_unlock(&p->mtx);
	sx_xlock(&p->sx);
	sx_xunlock(&p->sx);
	sx_destroy(&p->sx);
	mtx_destroy(&p->mtx);
}

static int
kldtest_lockinit_ioctl(struct cdev *dev __unused, u_long cmd,
    caddr_t data __unused, int fflag __unused, struct thread *td __unused)
{
	struct kldtest_lockinit_pair *p;
	struct mtx *m;
	struct sx *s;

	switch (cmd) {
	case KLDTEST_LOCKINIT_MTX_POISON:
		m = malloc(sizeof(*m), M_DEVBUF, M_WAITOK);
		mtx_init(m, "kldtest_lockinit poisoned", NULL, MTX_DEF);
		mtx_destroy(m);
		free(m, M_DEVBUF);
		break;
	case KLDTEST_LOCKINIT_SX_POISON:
		s = malloc(sizeof(*s), M_DEVBUF, M_WAITOK);
		sx_init(s, "kldtest_lockinit poisoned sx");
		sx_destroy(s);
		free(s, M_DEVBUF);
		break;
	case KLDTEST_LOCKINIT_MTX_TWICE:
		mtx_init(&kldtest_lockinit_mtx, "kldtest_lockinit twice", NULL,
		    MTX_DEF);
		mtx_init(&kldtest_lockinit_mtx, "kldtest_lockinit twice", NULL,
		    MTX_DEF);
		break;
	case KLDTEST_LOCKINIT_SX_HELD:
		sx_init(&kldtest_lockinit_sx, "kldtest_lockinit held sx");
		sx_xlock(&kldtest_lockinit_sx);
		sx_destroy(&kldtest_lockinit_sx);
		break;
	case KLDTEST_LOCKINIT_MTX_DEAD:
		mtx_init(&kldtest_lockinit_mtx, "kldtest_lockinit dead", NULL,
		    MTX_DEF);
		mtx_destroy(&kldtest_lockinit_mtx);
		mtx_lock(&kldtest_lockinit_mtx);
		break;
	case KLDTEST_LOCKINIT_SX_DEAD:
		sx_init(&kldtest_lockinit_sx, "kldtest_lockinit dead sx");
		sx_destroy(&kldtest_lockinit_sx);
		sx_xlock(&kldtest_lockinit_sx);
		break;
	case KLDTEST_LOCKINIT_UNLOCK_DEAD:
		mtx_init(&kldtest_lockinit_mtx, "kldtest_lockinit dead", NULL,
		    MTX_DEF);
		mtx_lock(&kldtest_lockinit_mtx);
		mtx_destroy(&kldtest_lockinit_mtx);
		mtx_unlock(&kldtest_lockinit_mtx);
		break;
	case KLDTEST_LOCKINIT_FREE_LIVE:
		p = malloc(sizeof(*p), M_DEVBUF, M_WAITOK | M_ZERO);
		mtx_init(&p->mtx, "kldtest_lockinit freed", NULL, MTX_DEF);
		sx_init(&p->sx, "kldtest_lockinit freed sx");
		free(p, M_DEVBUF);
		break;
	case KLDTEST_LOCKINIT_ZERO:
		p = malloc(sizeof(*p), M_DEVBUF, M_WAITOK | M_ZERO);
		mtx_init(&p->mtx, "kldtest_lockinit zeroed", NULL, MTX_DEF);
		sx_init(&p->sx, "kldtest_lockinit zeroed sx");
		kldtest_lockinit_use(p);
		free(p, M_DEVBUF);
		break;
	case KLDTEST_LOCKINIT_NEW:
		p = malloc(sizeof(*p), M_DEVBUF, M_WAITOK);
		mtx_init(&p->mtx, "kldtest_lockinit new", NULL,
		    MTX_DEF | MTX_NEW);
		sx_init_flags(&p->sx, "kldtest_lockinit new sx", SX_NEW);
		kldtest_lockinit_use(p);
		free(p, M_DEVBUF);
		break;
	case KLDTEST_LOCKINIT_REINIT:
		mtx_init(&kldtest_lockinit_mtx, "kldtest_lockinit again", NULL,
		    MTX_DEF);
		mtx_destroy(&kldtest_lockinit_mtx);
		mtx_init(&kldtest_lockinit_mtx, "kldtest_lockinit again", NULL,
		    MTX_DEF);
		mtx_destroy(&kldtest_lockinit_mtx);
		sx_init(&kldtest_lockinit_sx, "kldtest_lockinit again sx");
		sx_destroy(&kldtest_lockinit_sx);
		sx_init(&kldtest_lockinit_sx, "kldtest_lockinit again sx");
		sx_destroy(&kldtest_lockinit_sx);
		break;
	case KLDTEST_LOCKINIT_MTX_OWNED:
		mtx_init(&kldtest_lockinit_mtx, "kldtest_lockinit owned", NULL,
		    MTX_DEF);
		mtx_lock(&kldtest_lockinit_mtx);
		mtx_destroy(&kldtest_lockinit_mtx);
		break;
	default:
		return (ENOIOCTL);
	}
	return (0);
}

static int
kldtest_lockinit_modevent(module_t mod __unused, int what,
    void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		kldtest_lockinit_dev = make_dev(&kldtest_lockinit_cdevsw, 0,
		    UID_ROOT, GID_WHEEL, 0666, "kldtest_lockinit");
		return (0);
	case MOD_UNLOAD:
		destroy_dev(kldtest_lockinit_dev);
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

DEV_MODULE(kldtest_lockinit, kldtest_lockinit_modevent, NULL);
