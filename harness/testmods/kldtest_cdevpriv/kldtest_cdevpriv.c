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
 * Per-open state with devfs_set_cdevpriv(9), on a device created with
 * make_dev_s(9) by a DEV_MODULE (the pattern of FreeBSD's
 * share/examples and most modern drivers). The device is root's, mode
 * 0600, and tracks every close (D_TRACKCLOSE).
 *
 * Each open gets a record numbered in open order; read(2) returns
 * "open N reads M\n" for the caller's record; the destructor prints and
 * frees it on the last close of the file, on devfs_clear_cdevpriv (ioctl
 * KLDTEST_PRIV_CLEAR) and when the device is destroyed while open.
 * debug.kldtest_cdevpriv_live counts live records.
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
#include <sys/sysctl.h>
#include <sys/uio.h>

#define	KLDTEST_PRIV_CLEAR	_IO('P', 1)
#define	KLDTEST_PRIV_SETAGAIN	_IO('P', 2)
#define	KLDTEST_PRIV_ID		_IOR('P', 3, int)
#define	KLDTEST_PRIV_MAKE	_IOW('P', 4, int)	/* make_dev_s: 0 dup, 1 bad */

MALLOC_DEFINE(M_KLDTEST_PRIV, "kldtest_cdevpriv", "per-open records");

struct kldtest_priv {
	int	kp_id;
	int	kp_reads;
};

static d_open_t		kldtest_priv_open;
static d_close_t	kldtest_priv_close;
static d_read_t		kldtest_priv_read;
static d_ioctl_t	kldtest_priv_ioctl;

static struct cdevsw kldtest_priv_cdevsw = {
	.d_version =	D_VERSION,
	.d_flags =	D_TRACKCLOSE,
	.d_open =	kldtest_priv_open,
	.d_close =	kldtest_priv_close,
	.d_read =	kldtest_priv_read,
	.d_ioctl =	kldtest_priv_ioctl,
	.d_name =	"kldtest_cdevpriv",
};

static struct cdev	*kldtest_priv_dev;
static struct mtx	 kldtest_priv_mtx;
static int		 kldtest_priv_next;
static int		 kldtest_priv_live;
static int		 kldtest_priv_closes;

SYSCTL_INT(_debug, OID_AUTO, kldtest_cdevpriv_live, CTLFLAG_RD,
    &kldtest_priv_live, 0, "live per-open records");
SYSCTL_INT(_debug, OID_AUTO, kldtest_cdevpriv_closes, CTLFLAG_RD,
    &kldtest_priv_closes, 0, "d_close calls");

static void
kldtest_priv_dtor(void *data)
{
	struct kldtest_priv *kp;

	kp = data;
	printf("kldtest_cdevpriv: dtor %d\n", kp->kp_id);
	mtx_lock(&kldtest_priv_mtx);
	kldtest_priv_live--;
	mtx_unlock(&kldtest_priv_mtx);
	free(kp, M_KLDTEST_PRIV);
}

static int
kldtest_priv_open(struct cdev *dev __unused, int oflags __unused,
    int devtype __unused, struct thread *td __unused)
{
	struct kldtest_priv *kp;
	int error;

	kp = malloc(sizeof(*kp), M_KLDTEST_PRIV, M_WAITOK | M_ZERO);
	mtx_lock(&kldtest_priv_mtx);
	kp->kp_id = ++kldtest_priv_next;
	kldtest_priv_live++;
	mtx_unlock(&kldtest_priv_mtx);
	error = devfs_set_cdevpriv(kp, kldtest_priv_dtor);
	if (error != 0)
		kldtest_priv_dtor(kp);
	return (error);
}

static int
kldtest_priv_close(struct cdev *dev __unused, int fflag __unused,
    int devtype __unused, struct thread *td __unused)
{

	mtx_lock(&kldtest_priv_mtx);
	kldtest_priv_closes++;
	mtx_unlock(&kldtest_priv_mtx);
	return (0);
}

static int
kldtest_priv_read(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	struct kldtest_priv *kp;
	char line[64];
	int error, len;

	error = devfs_get_cdevpriv((void **)&kp);
	if (error != 0)
		return (error);
	kp->kp_reads++;
	len = snprintf(line, sizeof(line), "open %d reads %d\n", kp->kp_id,
	    kp->kp_reads);
	if (uio->uio_offset >= len)
		return (0);
	return (uiomove(line + uio->uio_offset,
	    MIN(len - (int)uio->uio_offset, (int)uio->uio_resid), uio));
}

static int
kldtest_priv_make(int which)
{
	struct make_dev_args args;
	struct cdev *extra;
	int error;

	make_dev_args_init(&args);
	args.mda_flags = MAKEDEV_CHECKNAME | MAKEDEV_WAITOK;
	args.mda_devsw = &kldtest_priv_cdevsw;
	args.mda_uid = UID_ROOT;
	args.mda_gid = GID_WHEEL;
	args.mda_mode = 0600;
	if (which == 0)
		error = make_dev_s(&args, &extra, "kldtest/priv%d", 0);
	else
		error = make_dev_s(&args, &extra, "kldtest/bad name");
	if (error == 0)
		destroy_dev(extra);
	return (error);
}

static int
kldtest_priv_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	struct kldtest_priv *kp;
	int error;

	switch (cmd) {
	case KLDTEST_PRIV_CLEAR:
		devfs_clear_cdevpriv();
		return (0);
	case KLDTEST_PRIV_SETAGAIN:
		/* A second record for the same file: EBUSY. */
		return (devfs_set_cdevpriv(NULL, kldtest_priv_dtor));
	case KLDTEST_PRIV_MAKE:
		return (kldtest_priv_make(*(int *)data));
	case KLDTEST_PRIV_ID:
		error = devfs_get_cdevpriv((void **)&kp);
		if (error == 0)
			*(int *)data = kp->kp_id;
		return (error);
	default:
		return (ENOIOCTL);
	}
}

static int
kldtest_priv_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct make_dev_args args;
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&kldtest_priv_mtx, "kldtest_cdevpriv", NULL, MTX_DEF);
		make_dev_args_init(&args);
		args.mda_flags = MAKEDEV_CHECKNAME | MAKEDEV_WAITOK;
		args.mda_devsw = &kldtest_priv_cdevsw;
		args.mda_uid = UID_ROOT;
		args.mda_gid = GID_WHEEL;
		args.mda_mode = 0600;
		error = make_dev_s(&args, &kldtest_priv_dev, "kldtest/priv%d",
		    0);
		if (error != 0)
			mtx_destroy(&kldtest_priv_mtx);
		break;
	case MOD_UNLOAD:
		destroy_dev(kldtest_priv_dev);
		mtx_destroy(&kldtest_priv_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(kldtest_cdevpriv, kldtest_priv_modevent, NULL);
