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
 * Lock misuse, for the harness's WITNESS-like checks. /dev/kldtest_sleep:
 * read(2) calls uiomove(9) with a mutex held (sleeping with a
 * non-sleepable lock); each ioctl(2) below commits one other mistake.
 * None of this is how a driver should be written.
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
#include <sys/uio.h>

#define	KLDTEST_SLEEP_MALLOC	_IO('W', 1)	/* M_WAITOK under a mutex */
#define	KLDTEST_SLEEP_LOR	_IO('W', 2)	/* a then b, later b then a */
#define	KLDTEST_SLEEP_RECURSE	_IO('W', 3)	/* lock a twice */
#define	KLDTEST_SLEEP_UNOWNED	_IO('W', 4)	/* unlock a not held */
#define	KLDTEST_SLEEP_HOLD	_IO('W', 5)	/* return holding a */
#define	KLDTEST_SLEEP_SX	_IO('W', 6)	/* sx under a mutex */
#define	KLDTEST_SLEEP_COPYOUT	_IOW('W', 7, uint64_t)	/* copyout under a */
#define	KLDTEST_SLEEP_GIANT	_IO('W', 8)	/* M_WAITOK under Giant: fine */
#define	KLDTEST_SLEEP_TRYLOCK	_IOR('W', 9, int)	/* trylock results */

static d_read_t		kldtest_sleep_read;
static d_ioctl_t	kldtest_sleep_ioctl;

static struct cdevsw kldtest_sleep_cdevsw = {
	.d_version =	D_VERSION,
	.d_read =	kldtest_sleep_read,
	.d_ioctl =	kldtest_sleep_ioctl,
	.d_name =	"kldtest_sleep",
};

static struct cdev	*kldtest_sleep_dev;
static struct mtx	 kldtest_sleep_a;
static struct mtx	 kldtest_sleep_b;
static struct sx	 kldtest_sleep_sx;
static char		 kldtest_sleep_msg[] = "sleeping under a mutex\n";

static int
kldtest_sleep_read(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	int error;

	mtx_lock(&kldtest_sleep_a);
	error = uiomove(kldtest_sleep_msg,
	    MIN((int)sizeof(kldtest_sleep_msg) - 1, (int)uio->uio_resid), uio);
	mtx_unlock(&kldtest_sleep_a);
	return (error);
}

static int
kldtest_sleep_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	void *p;
	int error, r1, r2;

	error = 0;
	switch (cmd) {
	case KLDTEST_SLEEP_MALLOC:
		mtx_lock(&kldtest_sleep_a);
		p = malloc(16, M_DEVBUF, M_WAITOK);
		free(p, M_DEVBUF);
		mtx_unlock(&kldtest_sleep_a);
		break;
	case KLDTEST_SLEEP_LOR:
		mtx_lock(&kldtest_sleep_a);
		mtx_lock(&kldtest_sleep_b);
		mtx_unlock(&kldtest_sleep_b);
		mtx_unlock(&kldtest_sleep_a);
		mtx_lock(&kldtest_sleep_b);
		mtx_lock(&kldtest_sleep_a);
		mtx_unlock(&kldtest_sleep_a);
		mtx_unlock(&kldtest_sleep_b);
		break;
	case KLDTEST_SLEEP_RECURSE:
		mtx_lock(&kldtest_sleep_a);
		mtx_lock(&kldtest_sleep_a);
		mtx_unlock(&kldtest_sleep_a);
		mtx_unlock(&kldtest_sleep_a);
		break;
	case KLDTEST_SLEEP_UNOWNED:
		mtx_unlock(&kldtest_sleep_a);
		break;
	case KLDTEST_SLEEP_HOLD:
		mtx_lock(&kldtest_sleep_a);
		break;
	case KLDTEST_SLEEP_SX:
		mtx_lock(&kldtest_sleep_a);
		sx_xlock(&kldtest_sleep_sx);
		sx_xunlock(&kldtest_sleep_sx);
		mtx_unlock(&kldtest_sleep_a);
		break;
	case KLDTEST_SLEEP_COPYOUT:
		mtx_lock(&kldtest_sleep_a);
		error = copyout(kldtest_sleep_msg,
		    (void *)(uintptr_t)*(uint64_t *)data, 4);
		mtx_unlock(&kldtest_sleep_a);
		break;
	case KLDTEST_SLEEP_GIANT:
		mtx_lock(&Giant);
		p = malloc(16, M_DEVBUF, M_WAITOK);
		free(p, M_DEVBUF);
		mtx_unlock(&Giant);
		break;
	case KLDTEST_SLEEP_TRYLOCK:
		r1 = mtx_trylock(&kldtest_sleep_a);
		r2 = sx_try_xlock(&kldtest_sleep_sx);
		*(int *)data = r1 * 10 + r2;
		if (r2)
			sx_xunlock(&kldtest_sleep_sx);
		if (r1)
			mtx_unlock(&kldtest_sleep_a);
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
kldtest_sleep_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&kldtest_sleep_a, "kldtest_sleep a", NULL, MTX_DEF);
		mtx_init(&kldtest_sleep_b, "kldtest_sleep b", NULL, MTX_DEF);
		sx_init(&kldtest_sleep_sx, "kldtest_sleep sx");
		kldtest_sleep_dev = make_dev(&kldtest_sleep_cdevsw, 0, UID_ROOT,
		    GID_WHEEL, 0666, "kldtest_sleep");
		break;
	case MOD_UNLOAD:
		destroy_dev(kldtest_sleep_dev);
		sx_destroy(&kldtest_sleep_sx);
		mtx_destroy(&kldtest_sleep_b);
		mtx_destroy(&kldtest_sleep_a);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(kldtest_sleep, kldtest_sleep_modevent, NULL);
