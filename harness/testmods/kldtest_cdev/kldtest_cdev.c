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
 * A character device in the style of the FreeBSD handbook's echo driver
 * and share/examples/kld/cdev: /dev/kldtest_cdev keeps a message that
 * write(2) replaces (offset 0) or extends (offset == length), read(2)
 * returns from the file offset, and ioctl(2) inspects and moves with
 * copyin(9)/copyout(9).
 *
 * The message is protected by an sx lock (uiomove may sleep); counters by
 * a mutex. MOD_QUIESCE vetoes an unload while the device is open or a
 * thread is inside read/write. debug.kldtest_cdev_gate, when non-zero,
 * holds readers and writers at the door (a spin on the flag), so that a
 * test can keep threads inside the driver while it unloads it.
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
#include <sys/sysctl.h>
#include <sys/uio.h>

#include <machine/atomic.h>

#define	KLDTEST_BUFSIZE	4096

struct kldtest_xfer {
	void	*kx_addr;	/* user buffer */
	size_t	 kx_len;	/* in: its size; out: bytes moved */
};

#define	KLDTEST_GETLEN	_IOR('K', 1, int)
#define	KLDTEST_SETLEN	_IOW('K', 2, int)
#define	KLDTEST_CLEAR	_IO('K', 3)
#define	KLDTEST_GET	_IOWR('K', 4, struct kldtest_xfer)
#define	KLDTEST_PUT	_IOW('K', 5, struct kldtest_xfer)

MALLOC_DEFINE(M_KLDTEST_CDEV, "kldtest_cdev", "kldtest_cdev message");

static d_open_t		kldtest_cdev_open;
static d_close_t	kldtest_cdev_close;
static d_read_t		kldtest_cdev_read;
static d_write_t	kldtest_cdev_write;
static d_ioctl_t	kldtest_cdev_ioctl;

static struct cdevsw kldtest_cdev_cdevsw = {
	.d_version =	D_VERSION,
	.d_open =	kldtest_cdev_open,
	.d_close =	kldtest_cdev_close,
	.d_read =	kldtest_cdev_read,
	.d_write =	kldtest_cdev_write,
	.d_ioctl =	kldtest_cdev_ioctl,
	.d_name =	"kldtest_cdev",
};

static struct cdev	*kldtest_cdev_dev;
static struct mtx	 kldtest_cdev_mtx;	/* opens, busy */
static struct sx	 kldtest_cdev_sx;	/* msg, len */
static char		*kldtest_cdev_msg;
static size_t		 kldtest_cdev_len;
static int		 kldtest_cdev_opens;
static int		 kldtest_cdev_busy;
static volatile int	 kldtest_cdev_gate;

SYSCTL_INT(_debug, OID_AUTO, kldtest_cdev_gate, CTLFLAG_RW,
    __DEVOLATILE(int *, &kldtest_cdev_gate), 0,
    "hold readers and writers at the door");

static void
kldtest_cdev_enter(void)
{

	mtx_lock(&kldtest_cdev_mtx);
	kldtest_cdev_busy++;
	mtx_unlock(&kldtest_cdev_mtx);
	while (atomic_load_acq_int(&kldtest_cdev_gate) != 0)
		;
}

static void
kldtest_cdev_leave(void)
{

	mtx_lock(&kldtest_cdev_mtx);
	kldtest_cdev_busy--;
	mtx_unlock(&kldtest_cdev_mtx);
}

static int
kldtest_cdev_open(struct cdev *dev __unused, int oflags __unused,
    int devtype __unused, struct thread *td __unused)
{

	mtx_lock(&kldtest_cdev_mtx);
	kldtest_cdev_opens++;
	mtx_unlock(&kldtest_cdev_mtx);
	return (0);
}

static int
kldtest_cdev_close(struct cdev *dev __unused, int fflag __unused,
    int devtype __unused, struct thread *td __unused)
{

	/* The last close: no one has the device open any more. */
	mtx_lock(&kldtest_cdev_mtx);
	kldtest_cdev_opens = 0;
	mtx_unlock(&kldtest_cdev_mtx);
	return (0);
}

static int
kldtest_cdev_read(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	size_t amt;
	int error;

	kldtest_cdev_enter();
	sx_slock(&kldtest_cdev_sx);
	error = 0;
	if (uio->uio_offset >= 0 &&
	    (size_t)uio->uio_offset < kldtest_cdev_len) {
		amt = MIN((size_t)uio->uio_resid,
		    kldtest_cdev_len - (size_t)uio->uio_offset);
		error = uiomove(kldtest_cdev_msg + uio->uio_offset, (int)amt,
		    uio);
	}
	sx_sunlock(&kldtest_cdev_sx);
	kldtest_cdev_leave();
	return (error);
}

static int
kldtest_cdev_write(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	size_t amt;
	int error;

	kldtest_cdev_enter();
	sx_xlock(&kldtest_cdev_sx);
	error = 0;
	/* Replace from the start or append; no random access. */
	if (uio->uio_offset != 0 &&
	    uio->uio_offset != (off_t)kldtest_cdev_len) {
		error = EINVAL;
		goto out;
	}
	if (uio->uio_offset == 0)
		kldtest_cdev_len = 0;
	amt = MIN((size_t)uio->uio_resid, KLDTEST_BUFSIZE - kldtest_cdev_len);
	if (amt == 0 && uio->uio_resid > 0) {
		error = ENOSPC;
		goto out;
	}
	error = uiomove(kldtest_cdev_msg + kldtest_cdev_len, (int)amt, uio);
	kldtest_cdev_len = (size_t)uio->uio_offset;
out:
	sx_xunlock(&kldtest_cdev_sx);
	kldtest_cdev_leave();
	return (error);
}

static int
kldtest_cdev_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	struct kldtest_xfer *kx;
	size_t n;
	int error;

	error = 0;
	switch (cmd) {
	case KLDTEST_GETLEN:
		sx_slock(&kldtest_cdev_sx);
		*(int *)data = (int)kldtest_cdev_len;
		sx_sunlock(&kldtest_cdev_sx);
		break;
	case KLDTEST_SETLEN:
		sx_xlock(&kldtest_cdev_sx);
		if (*(int *)data < 0 || (size_t)*(int *)data > kldtest_cdev_len)
			error = EINVAL;
		else
			kldtest_cdev_len = (size_t)*(int *)data;
		sx_xunlock(&kldtest_cdev_sx);
		break;
	case KLDTEST_CLEAR:
		sx_xlock(&kldtest_cdev_sx);
		kldtest_cdev_len = 0;
		sx_xunlock(&kldtest_cdev_sx);
		break;
	case KLDTEST_GET:
		kx = (struct kldtest_xfer *)data;
		sx_slock(&kldtest_cdev_sx);
		n = MIN(kx->kx_len, kldtest_cdev_len);
		error = copyout(kldtest_cdev_msg, kx->kx_addr, n);
		sx_sunlock(&kldtest_cdev_sx);
		if (error == 0)
			kx->kx_len = n;
		break;
	case KLDTEST_PUT:
		kx = (struct kldtest_xfer *)data;
		if (kx->kx_len > KLDTEST_BUFSIZE)
			return (EFBIG);
		sx_xlock(&kldtest_cdev_sx);
		error = copyin(kx->kx_addr, kldtest_cdev_msg, kx->kx_len);
		if (error == 0)
			kldtest_cdev_len = kx->kx_len;
		sx_xunlock(&kldtest_cdev_sx);
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
kldtest_cdev_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&kldtest_cdev_mtx, "kldtest_cdev", NULL, MTX_DEF);
		sx_init(&kldtest_cdev_sx, "kldtest_cdev msg");
		kldtest_cdev_msg = malloc(KLDTEST_BUFSIZE, M_KLDTEST_CDEV,
		    M_WAITOK | M_ZERO);
		kldtest_cdev_dev = make_dev(&kldtest_cdev_cdevsw, 0, UID_ROOT,
		    GID_WHEEL, 0666, "kldtest_cdev");
		printf("kldtest_cdev: /dev/%s created\n",
		    kldtest_cdev_dev->si_name);
		break;
	case MOD_QUIESCE:
		mtx_lock(&kldtest_cdev_mtx);
		if (kldtest_cdev_opens > 0 || kldtest_cdev_busy > 0)
			error = EBUSY;
		mtx_unlock(&kldtest_cdev_mtx);
		break;
	case MOD_UNLOAD:
		destroy_dev(kldtest_cdev_dev);
		free(kldtest_cdev_msg, M_KLDTEST_CDEV);
		sx_destroy(&kldtest_cdev_sx);
		mtx_destroy(&kldtest_cdev_mtx);
		printf("kldtest_cdev: unloaded\n");
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(kldtest_cdev, kldtest_cdev_modevent, NULL);
MODULE_VERSION(kldtest_cdev, 1);
