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
 * Blocking I/O for the harness's sleep(9) and condvar(9) emulation.
 * /dev/kldtest_block is a small byte queue: read(2) sleeps with
 * msleep(9) and PCATCH until a write(2) arrives, d_purge wakes the
 * readers when the device goes away.  The ioctls below wait on a
 * condition variable in each of its ways, report what the sleeps
 * returned, and commit the sleep mistakes the harness must catch.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/condvar.h>
#include <sys/fcntl.h>
#include <sys/ioccom.h>
#include <sys/lock.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/sx.h>
#include <sys/uio.h>

struct kb_stats {
	int	sleeps;		/* msleep calls in read */
	int	eintr;
	int	erestart;
	int	ewouldblock;
};

#define	KB_STATS	_IOR('B', 1, struct kb_stats)
#define	KB_SETTIMO	_IOW('B', 2, int)	/* read timeout, ticks */
#define	KB_WAKEONE	_IOW('B', 3, int)	/* writes use wakeup_one */
#define	KB_CVWAIT	_IOWR('B', 4, int)	/* in: how; out: error */
#define	KB_CVSIGNAL	_IOW('B', 5, int)	/* 0: signal, 1: broadcast */
#define	KB_PDROP	_IOR('B', 6, int)	/* out: mtx_owned afterwards */
#define	KB_SXSLEEP	_IOR('B', 7, int)	/* sx_sleep with a timeout */
#define	KB_CVWAIT_RET	_IOW('B', 8, int)	/* KB_CVWAIT, error returned */
#define	KB_SXHOLD	_IO('B', 15)	/* hold the sx until KB_SXGATE */
#define	KB_SXGATE	_IO('B', 16)
#define	KB_SXSIG	_IOW('B', 17, int)	/* sx_xlock_sig, sx_slock_sig */
#define	KB_LOST_WAIT	_IO('B', 18)	/* tests kb_lostflag unlocked */
#define	KB_LOST_WAKE	_IO('B', 19)	/* sets it, wakes after unlocking */
#define	KB_LOST_GATE	_IO('B', 20)	/* lets KB_LOST_WAIT go on */
#define	KB_LOST_OK	_IO('B', 21)	/* tests it under kb_mtx */
#define	KB_OTHER_LOCK	_IO('B', 22)	/* sleeps on it under kb_other */
#define	KB_LOST_RESET	_IO('B', 23)	/* clears it */
#define	KB_BAD_HELD	_IO('B', 10)	/* sleep holding another mutex */
#define	KB_BAD_NOLOCK	_IO('B', 11)	/* no lock, no timeout */
#define	KB_BAD_CVNOTHELD _IO('B', 12)	/* cv_wait without its lock */
#define	KB_BAD_CVDESTROY _IO('B', 13)	/* cv_destroy with a waiter */
#define	KB_BAD_NULLCHAN	_IO('B', 14)	/* msleep on NULL */

#define	CV_WAIT		0
#define	CV_WAIT_SIG	1
#define	CV_TIMEDWAIT	2	/* 10 ticks */
#define	CV_TIMEDWAIT_SIG 3	/* 10 ticks */
#define	CV_WAIT_UNLOCK	4

#define	KB_SIZE		64

static d_read_t		kb_read;
static d_write_t	kb_write;
static d_ioctl_t	kb_ioctl;
static d_purge_t	kb_purge;

static struct cdevsw kb_cdevsw = {
	.d_version =	D_VERSION,
	.d_read =	kb_read,
	.d_write =	kb_write,
	.d_ioctl =	kb_ioctl,
	.d_purge =	kb_purge,
	.d_name =	"kldtest_block",
};

static struct cdev	*kb_dev;
static struct mtx	 kb_mtx;
static struct mtx	 kb_other;
static struct sx	 kb_sx;
static struct cv	 kb_cv;
static char		 kb_buf[KB_SIZE];
static int		 kb_len;
static int		 kb_gone;
static int		 kb_timo;
static int		 kb_wakeone;
static int		 kb_cvflag;
static int		 kb_sxgate;
static int		 kb_lostflag;
static int		 kb_lostgate;
static struct kb_stats	 kb_stats;
static void		*kb_nullchan;	/* stays NULL */

static int
kb_read(struct cdev *dev __unused, struct uio *uio, int ioflag)
{
	char tmp[KB_SIZE];
	int error, n;

	mtx_lock(&kb_mtx);
	while (kb_len == 0 && !kb_gone) {
		if ((ioflag & O_NONBLOCK) != 0) {
			mtx_unlock(&kb_mtx);
			return (EWOULDBLOCK);
		}
		kb_stats.sleeps++;
		error = msleep(&kb_len, &kb_mtx, PCATCH, "kbread", kb_timo);
		if (error == EINTR)
			kb_stats.eintr++;
		else if (error == ERESTART)
			kb_stats.erestart++;
		else if (error == EWOULDBLOCK)
			kb_stats.ewouldblock++;
		if (error != 0) {
			mtx_unlock(&kb_mtx);
			return (error);
		}
	}
	if (kb_gone) {
		mtx_unlock(&kb_mtx);
		return (ENXIO);
	}
	n = MIN(kb_len, (int)uio->uio_resid);
	memcpy(tmp, kb_buf, n);
	memmove(kb_buf, kb_buf + n, kb_len - n);
	kb_len -= n;
	mtx_unlock(&kb_mtx);
	return (uiomove(tmp, n, uio));
}

static int
kb_write(struct cdev *dev __unused, struct uio *uio, int ioflag __unused)
{
	char tmp[KB_SIZE];
	int error, n;

	n = MIN((int)uio->uio_resid, KB_SIZE);
	error = uiomove(tmp, n, uio);
	if (error != 0)
		return (error);
	mtx_lock(&kb_mtx);
	n = MIN(n, KB_SIZE - kb_len);
	memcpy(kb_buf + kb_len, tmp, n);
	kb_len += n;
	if (kb_wakeone)
		wakeup_one(&kb_len);
	else
		wakeup(&kb_len);
	mtx_unlock(&kb_mtx);
	return (0);
}

static void
kb_purge(struct cdev *dev __unused)
{

	mtx_lock(&kb_mtx);
	kb_gone = 1;
	wakeup(&kb_len);
	mtx_unlock(&kb_mtx);
}

static int
kb_cvwait(int how)
{
	int error;

	error = 0;
	mtx_lock(&kb_mtx);
	while (kb_cvflag == 0 && error == 0) {
		switch (how) {
		case CV_WAIT:
			cv_wait(&kb_cv, &kb_mtx);
			break;
		case CV_WAIT_SIG:
			error = cv_wait_sig(&kb_cv, &kb_mtx);
			break;
		case CV_TIMEDWAIT:
			error = cv_timedwait(&kb_cv, &kb_mtx, 10);
			break;
		case CV_TIMEDWAIT_SIG:
			error = cv_timedwait_sig(&kb_cv, &kb_mtx, 10);
			break;
		case CV_WAIT_UNLOCK:
			cv_wait_unlock(&kb_cv, &kb_mtx);
			if (mtx_owned(&kb_mtx))
				return (EDOOFUS);
			mtx_lock(&kb_mtx);
			break;
		default:
			error = EINVAL;
			break;
		}
	}
	if (error == 0)
		kb_cvflag--;
	mtx_unlock(&kb_mtx);
	return (error);
}

static int
kb_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	int error;

	error = 0;
	switch (cmd) {
	case KB_STATS:
		mtx_lock(&kb_mtx);
		*(struct kb_stats *)data = kb_stats;
		mtx_unlock(&kb_mtx);
		break;
	case KB_SETTIMO:
		kb_timo = *(int *)data;
		break;
	case KB_WAKEONE:
		kb_wakeone = *(int *)data;
		break;
	case KB_CVWAIT:
		*(int *)data = kb_cvwait(*(int *)data);
		break;
	case KB_CVWAIT_RET:
		error = kb_cvwait(*(int *)data);
		break;
	case KB_CVSIGNAL:
		mtx_lock(&kb_mtx);
		if (*(int *)data != 0) {
			kb_cvflag = 1000;
			cv_broadcast(&kb_cv);
		} else {
			kb_cvflag++;
			cv_signal(&kb_cv);
		}
		mtx_unlock(&kb_mtx);
		break;
	case KB_PDROP:
		mtx_lock(&kb_mtx);
		error = msleep(&kb_cvflag, &kb_mtx, PDROP, "kbdrop", 1);
		*(int *)data = mtx_owned(&kb_mtx);
		if (error == EWOULDBLOCK)
			error = 0;
		break;
	case KB_SXSLEEP:
		sx_xlock(&kb_sx);
		*(int *)data = sx_sleep(&kb_sx, &kb_sx, 0, "kbsx", 5);
		if (!sx_xlocked(&kb_sx))
			error = EDOOFUS;
		sx_xunlock(&kb_sx);
		break;
	case KB_SXHOLD:
		sx_xlock(&kb_sx);
		mtx_lock(&kb_mtx);
		while (!kb_sxgate)
			mtx_sleep(&kb_sxgate, &kb_mtx, 0, "kbsxhold", 0);
		kb_sxgate = 0;
		mtx_unlock(&kb_mtx);
		sx_xunlock(&kb_sx);
		break;
	case KB_SXGATE:
		mtx_lock(&kb_mtx);
		kb_sxgate = 1;
		wakeup(&kb_sxgate);
		mtx_unlock(&kb_mtx);
		break;
	case KB_SXSIG:
		if (*(int *)data == 0) {
			error = sx_xlock_sig(&kb_sx);
			if (error == 0)
				sx_xunlock(&kb_sx);
		} else {
			error = sx_slock_sig(&kb_sx);
			if (error == 0)
				sx_sunlock(&kb_sx);
		}
		break;
	case KB_LOST_WAIT:
		/*
		 * The lost wakeup: the condition is tested without the
		 * interlock, and not again under it.  The gate holds the
		 * thread between the test and the sleep, where the wakeup
		 * comes.
		 */
		if (!kb_lostflag) {
			mtx_lock(&kb_other);
			while (!kb_lostgate)
				(void)msleep(&kb_lostgate, &kb_other, 0,
				    "kbgate", 0);
			mtx_unlock(&kb_other);
			mtx_lock(&kb_mtx);
			(void)msleep(&kb_lostflag, &kb_mtx, 0, "kblost", 0);
			mtx_unlock(&kb_mtx);
		}
		break;
	case KB_LOST_WAKE:
		mtx_lock(&kb_mtx);
		kb_lostflag = 1;
		mtx_unlock(&kb_mtx);
		wakeup(&kb_lostflag);
		break;
	case KB_LOST_GATE:
		mtx_lock(&kb_other);
		kb_lostgate = 1;
		wakeup(&kb_lostgate);
		mtx_unlock(&kb_other);
		break;
	case KB_LOST_OK:
		mtx_lock(&kb_mtx);
		while (!kb_lostflag)
			(void)msleep(&kb_lostflag, &kb_mtx, 0, "kbok", 0);
		mtx_unlock(&kb_mtx);
		break;
	case KB_OTHER_LOCK:
		/* Same channel as KB_LOST_OK, another interlock. */
		mtx_lock(&kb_other);
		while (!kb_lostflag)
			(void)msleep(&kb_lostflag, &kb_other, 0, "kbother", 0);
		mtx_unlock(&kb_other);
		break;
	case KB_LOST_RESET:
		mtx_lock(&kb_mtx);
		kb_lostflag = 0;
		mtx_unlock(&kb_mtx);
		break;
	case KB_BAD_HELD:
		mtx_lock(&kb_other);
		mtx_lock(&kb_mtx);
		(void)msleep(&kb_cvflag, &kb_mtx, 0, "kbheld", 1);
		mtx_unlock(&kb_mtx);
		mtx_unlock(&kb_other);
		break;
	case KB_BAD_NOLOCK:
		(void)tsleep(&kb_cvflag, 0, "kbnolock", 0);
		break;
	case KB_BAD_CVNOTHELD:
		cv_wait(&kb_cv, &kb_mtx);
		break;
	case KB_BAD_CVDESTROY:
		cv_destroy(&kb_cv);
		break;
	case KB_BAD_NULLCHAN:
		mtx_lock(&kb_mtx);
		(void)msleep(kb_nullchan, &kb_mtx, 0, "kbnull", 1);
		mtx_unlock(&kb_mtx);
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
kb_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&kb_mtx, "kldtest_block", NULL, MTX_DEF);
		mtx_init(&kb_other, "kldtest_block other", NULL, MTX_DEF);
		sx_init(&kb_sx, "kldtest_block sx");
		cv_init(&kb_cv, "kbcv");
		kb_dev = make_dev(&kb_cdevsw, 0, UID_ROOT, GID_WHEEL, 0666,
		    "kldtest_block");
		break;
	case MOD_UNLOAD:
		destroy_dev(kb_dev);
		cv_destroy(&kb_cv);
		sx_destroy(&kb_sx);
		mtx_destroy(&kb_other);
		mtx_destroy(&kb_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(kldtest_block, kb_modevent, NULL);
