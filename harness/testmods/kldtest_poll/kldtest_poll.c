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
 * Readiness for the harness's select/poll and kqueue emulation.
 * /dev/kldtest_poll holds up to PL_SIZE bytes: d_poll reports POLLIN
 * while it has some and POLLOUT while it has room, recording the poller
 * with selrecord(9) otherwise; d_kqfilter attaches EVFILT_READ and
 * EVFILT_WRITE knotes to a knlist on the device's mutex, with kn_data
 * the bytes readable or the room left.  Reads and writes call
 * selwakeup(9) and KNOTE_LOCKED(9).
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/event.h>
#include <sys/ioccom.h>
#include <sys/lock.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/poll.h>
#include <sys/selinfo.h>
#include <sys/uio.h>

#define	PL_SIZE		8

#define	PL_BAD_EMPTY	_IO('P', 1)	/* knlist_empty without its lock */
#define	PL_LEAK		_IO('P', 2)	/* no knlist_clear/seldrain */

static d_read_t		pl_read;
static d_write_t	pl_write;
static d_ioctl_t	pl_ioctl;
static d_poll_t		pl_poll;
static d_kqfilter_t	pl_kqfilter;

static struct cdevsw pl_cdevsw = {
	.d_version =	D_VERSION,
	.d_read =	pl_read,
	.d_write =	pl_write,
	.d_ioctl =	pl_ioctl,
	.d_poll =	pl_poll,
	.d_kqfilter =	pl_kqfilter,
	.d_name =	"kldtest_poll",
};

static int	pl_filt_read(struct knote *, long);
static int	pl_filt_write(struct knote *, long);
static void	pl_filt_detach(struct knote *);

static const struct filterops pl_read_filtops = {
	.f_isfd =	1,
	.f_detach =	pl_filt_detach,
	.f_event =	pl_filt_read,
};

static const struct filterops pl_write_filtops = {
	.f_isfd =	1,
	.f_detach =	pl_filt_detach,
	.f_event =	pl_filt_write,
};

static struct cdev	*pl_dev;
static struct mtx	 pl_mtx;
static struct selinfo	 pl_si;
static char		 pl_buf[PL_SIZE];
static int		 pl_len;
static int		 pl_leak;

static void
pl_notify(void)
{

	mtx_assert(&pl_mtx, MA_OWNED);
	selwakeup(&pl_si);
	KNOTE_LOCKED(&pl_si.si_note, 0);
}

static int
pl_read(struct cdev *dev __unused, struct uio *uio, int ioflag __unused)
{
	char tmp[PL_SIZE];
	int n;

	mtx_lock(&pl_mtx);
	n = MIN(pl_len, (int)uio->uio_resid);
	memcpy(tmp, pl_buf, n);
	memmove(pl_buf, pl_buf + n, pl_len - n);
	pl_len -= n;
	pl_notify();
	mtx_unlock(&pl_mtx);
	return (uiomove(tmp, n, uio));
}

static int
pl_write(struct cdev *dev __unused, struct uio *uio, int ioflag __unused)
{
	char tmp[PL_SIZE];
	int error, n;

	n = MIN((int)uio->uio_resid, PL_SIZE);
	error = uiomove(tmp, n, uio);
	if (error != 0)
		return (error);
	mtx_lock(&pl_mtx);
	n = MIN(n, PL_SIZE - pl_len);
	memcpy(pl_buf + pl_len, tmp, n);
	pl_len += n;
	pl_notify();
	mtx_unlock(&pl_mtx);
	return (0);
}

static int
pl_poll(struct cdev *dev __unused, int events, struct thread *td)
{
	int revents;

	revents = 0;
	mtx_lock(&pl_mtx);
	if (pl_len > 0)
		revents |= events & (POLLIN | POLLRDNORM);
	if (pl_len < PL_SIZE)
		revents |= events & (POLLOUT | POLLWRNORM);
	if (revents == 0)
		selrecord(td, &pl_si);
	mtx_unlock(&pl_mtx);
	return (revents);
}

static int
pl_kqfilter(struct cdev *dev __unused, struct knote *kn)
{

	switch (kn->kn_filter) {
	case EVFILT_READ:
		kn->kn_fop = &pl_read_filtops;
		break;
	case EVFILT_WRITE:
		kn->kn_fop = &pl_write_filtops;
		break;
	default:
		return (EINVAL);
	}
	knlist_add(&pl_si.si_note, kn, 0);
	return (0);
}

static int
pl_filt_read(struct knote *kn, long hint __unused)
{

	mtx_assert(&pl_mtx, MA_OWNED);
	kn->kn_data = pl_len;
	return (kn->kn_data > 0);
}

static int
pl_filt_write(struct knote *kn, long hint __unused)
{

	mtx_assert(&pl_mtx, MA_OWNED);
	kn->kn_data = PL_SIZE - pl_len;
	return (kn->kn_data > 0);
}

static void
pl_filt_detach(struct knote *kn)
{

	knlist_remove(&pl_si.si_note, kn, 0);
}

static int
pl_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data __unused,
    int fflag __unused, struct thread *td __unused)
{
	int error;

	error = 0;
	switch (cmd) {
	case PL_BAD_EMPTY:
		(void)knlist_empty(&pl_si.si_note);
		break;
	case PL_LEAK:
		pl_leak = 1;
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
pl_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&pl_mtx, "kldtest_poll", NULL, MTX_DEF);
		knlist_init_mtx(&pl_si.si_note, &pl_mtx);
		pl_dev = make_dev(&pl_cdevsw, 0, UID_ROOT, GID_WHEEL, 0666,
		    "kldtest_poll");
		break;
	case MOD_UNLOAD:
		destroy_dev(pl_dev);
		if (!pl_leak) {
			knlist_clear(&pl_si.si_note, 0);
			seldrain(&pl_si);
			knlist_destroy(&pl_si.si_note);
		}
		mtx_destroy(&pl_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(kldtest_poll, pl_modevent, NULL);
