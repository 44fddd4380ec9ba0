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
 * cfifo(4): rustfifo(4) written in C, the baseline the benchmarks compare
 * the Rust module with (BENCHMARKS.md).  /dev/cfifo is a bounded byte
 * FIFO:
 *
 * - write(2) appends, sleeping while the FIFO is full (O_NONBLOCK: what
 *   fits, or EAGAIN if nothing does); read(2) returns up to the request,
 *   sleeping while the FIFO is empty (O_NONBLOCK: EAGAIN).  A signal ends
 *   a sleep; the syscall layer returns the count moved so far, if any.
 * - poll(2) and kqueue(2) (EVFILT_READ and EVFILT_WRITE, kn_data the
 *   bytes queued or the room left).
 * - ioctl(2): FIONREAD, FIONBIO, FIOASYNC (off only).
 * - hw.cfifo.capacity, hw.cfifo.idle_ms and counters, as hw.rustfifo.
 *
 * The storage grows with M_NOWAIT up to the capacity as bytes arrive;
 * once the FIFO has stayed empty, with no reader waiting, for idle_ms,
 * a callout queues a task on taskqueue_thread that frees it.
 *
 * Locking, as pipe(2)'s pipelock: cfifo_iolock (sx) serialises the
 * readers, the writers and the idle task, and is held across uiomove(9),
 * which copies straight between the user's buffer and the ring with
 * cfifo_mtx released.  cfifo_mtx protects the ring's indices, the
 * waiter counts and cfifo_gone; it is the callout's lock and the knlist's.
 * A thread sleeps for data or room on cfifo_mtx with cfifo_iolock
 * released, so that the other side can get in.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/callout.h>
#include <sys/conf.h>
#include <sys/event.h>
#include <sys/fcntl.h>
#include <sys/filio.h>
#include <sys/limits.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/poll.h>
#include <sys/selinfo.h>
#include <sys/sx.h>
#include <sys/sysctl.h>
#include <sys/taskqueue.h>
#include <sys/uio.h>

#include <machine/atomic.h>

#define	CFIFO_NAME		"cfifo"
#define	CFIFO_CAPACITY_DEFAULT	(64 * 1024)
#define	CFIFO_CAPACITY_MAX	(16 * 1024 * 1024)
#define	CFIFO_IDLE_MS_DEFAULT	1000
#define	CFIFO_IDLE_MS_MAX	3600000
#define	CFIFO_MIN_ALLOC		4096

MALLOC_DEFINE(M_CFIFO, "cfifo", "cfifo(4) storage");

static struct cfifo_stats {
	uint64_t	cs_reads;
	uint64_t	cs_writes;
	uint64_t	cs_bytes_in;
	uint64_t	cs_bytes_out;
	uint64_t	cs_blocked_reads;
	uint64_t	cs_blocked_writes;
	uint64_t	cs_wakeups;
	uint64_t	cs_enomem;
	uint64_t	cs_idle_frees;
} cfifo_stats;

static struct cdev	*cfifo_dev;
static struct sx	 cfifo_iolock;	/* serialises I/O and the idle task */
static struct mtx	 cfifo_mtx;	/* everything below */
static char		*cfifo_buf;	/* the ring, cfifo_size bytes */
static size_t		 cfifo_size;
static size_t		 cfifo_head;	/* oldest byte */
static size_t		 cfifo_len;	/* bytes queued */
static u_int		 cfifo_rwait;	/* readers asleep, on &cfifo_rwait */
static u_int		 cfifo_wwait;	/* writers asleep, on &cfifo_wwait */
static bool		 cfifo_gone;	/* destroy_dev(9) under way */
static struct selinfo	 cfifo_si;	/* pollers and knotes */
static struct callout	 cfifo_idle;
static struct task	 cfifo_free_task;
static u_int		 cfifo_nfiles;	/* open files, for MOD_QUIESCE */
static uint64_t		 cfifo_capacity = CFIFO_CAPACITY_DEFAULT;
static uint64_t		 cfifo_idle_ms = CFIFO_IDLE_MS_DEFAULT;

static d_open_t		cfifo_open;
static d_read_t		cfifo_read;
static d_write_t	cfifo_write;
static d_ioctl_t	cfifo_ioctl;
static d_poll_t		cfifo_poll;
static d_kqfilter_t	cfifo_kqfilter;
static d_purge_t	cfifo_purge;

static struct cdevsw cfifo_cdevsw = {
	.d_version =	D_VERSION,
	.d_open =	cfifo_open,
	.d_read =	cfifo_read,
	.d_write =	cfifo_write,
	.d_ioctl =	cfifo_ioctl,
	.d_poll =	cfifo_poll,
	.d_kqfilter =	cfifo_kqfilter,
	.d_purge =	cfifo_purge,
	.d_name =	CFIFO_NAME,
};

static int	cfifo_filt_read(struct knote *, long);
static int	cfifo_filt_write(struct knote *, long);
static void	cfifo_filt_detach(struct knote *);

static const struct filterops cfifo_read_filtops = {
	.f_isfd =	1,
	.f_detach =	cfifo_filt_detach,
	.f_event =	cfifo_filt_read,
};

static const struct filterops cfifo_write_filtops = {
	.f_isfd =	1,
	.f_detach =	cfifo_filt_detach,
	.f_event =	cfifo_filt_write,
};

static int	cfifo_sysctl_capacity(SYSCTL_HANDLER_ARGS);
static int	cfifo_sysctl_idle_ms(SYSCTL_HANDLER_ARGS);

static SYSCTL_NODE(_hw, OID_AUTO, cfifo, CTLFLAG_RD | CTLFLAG_MPSAFE, 0,
    "cfifo(4), the C byte FIFO");
SYSCTL_PROC(_hw_cfifo, OID_AUTO, capacity,
    CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    cfifo_sysctl_capacity, "QU", "Most bytes queued (1 to 16777216)");
SYSCTL_PROC(_hw_cfifo, OID_AUTO, idle_ms,
    CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
    cfifo_sysctl_idle_ms, "QU",
    "Milliseconds empty before the storage is freed (0: never)");
SYSCTL_U64(_hw_cfifo, OID_AUTO, reads, CTLFLAG_RD, &cfifo_stats.cs_reads, 0,
    "Successful reads");
SYSCTL_U64(_hw_cfifo, OID_AUTO, writes, CTLFLAG_RD, &cfifo_stats.cs_writes,
    0, "Successful writes");
SYSCTL_U64(_hw_cfifo, OID_AUTO, bytes_in, CTLFLAG_RD,
    &cfifo_stats.cs_bytes_in, 0, "Bytes queued by writes");
SYSCTL_U64(_hw_cfifo, OID_AUTO, bytes_out, CTLFLAG_RD,
    &cfifo_stats.cs_bytes_out, 0, "Bytes returned by reads");
SYSCTL_U64(_hw_cfifo, OID_AUTO, blocked_reads, CTLFLAG_RD,
    &cfifo_stats.cs_blocked_reads, 0, "Reads that slept for data");
SYSCTL_U64(_hw_cfifo, OID_AUTO, blocked_writes, CTLFLAG_RD,
    &cfifo_stats.cs_blocked_writes, 0, "Writes that slept for space");
SYSCTL_U64(_hw_cfifo, OID_AUTO, wakeups, CTLFLAG_RD,
    &cfifo_stats.cs_wakeups, 0, "Wakeups of readers or writers");
SYSCTL_U64(_hw_cfifo, OID_AUTO, enomem, CTLFLAG_RD, &cfifo_stats.cs_enomem,
    0, "Calls failed with ENOMEM");
SYSCTL_U64(_hw_cfifo, OID_AUTO, idle_frees, CTLFLAG_RD,
    &cfifo_stats.cs_idle_frees, 0, "Storage freed after idling");

static int
cfifo_sysctl_capacity(SYSCTL_HANDLER_ARGS)
{
	uint64_t val;
	int error;

	val = atomic_load_64(&cfifo_capacity);
	error = sysctl_handle_64(oidp, &val, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (val < 1 || val > CFIFO_CAPACITY_MAX)
		return (EINVAL);
	/* A lower capacity keeps what is queued. */
	atomic_store_64(&cfifo_capacity, val);
	return (0);
}

static int
cfifo_sysctl_idle_ms(SYSCTL_HANDLER_ARGS)
{
	uint64_t val;
	int error;

	val = atomic_load_64(&cfifo_idle_ms);
	error = sysctl_handle_64(oidp, &val, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (val > CFIFO_IDLE_MS_MAX)
		return (EINVAL);
	atomic_store_64(&cfifo_idle_ms, val);
	return (0);
}

/* Wakes the pollers and fires the knotes. */
static void
cfifo_notify(void)
{

	mtx_assert(&cfifo_mtx, MA_OWNED);
	selwakeup(&cfifo_si);
	KNOTE_LOCKED(&cfifo_si.si_note, 0);
}

/* Wakes the threads asleep on chan, if any. */
static void
cfifo_wakeup(u_int *chan)
{

	mtx_assert(&cfifo_mtx, MA_OWNED);
	if (*chan != 0) {
		atomic_add_64(&cfifo_stats.cs_wakeups, 1);
		wakeup(chan);
	}
}

/*
 * Sleeps on chan for data or room, with cfifo_iolock released so that the
 * other side can get in; returns with both locks held again, or with
 * neither and an error (EINTR, ERESTART).
 */
static int
cfifo_sleep(u_int *chan, const char *wmesg)
{
	int error;

	mtx_assert(&cfifo_mtx, MA_OWNED);
	sx_xunlock(&cfifo_iolock);
	(*chan)++;
	error = msleep(chan, &cfifo_mtx, PCATCH, wmesg, 0);
	(*chan)--;
	mtx_unlock(&cfifo_mtx);
	if (error != 0)
		return (error);
	error = sx_xlock_sig(&cfifo_iolock);
	if (error != 0)
		return (error);
	mtx_lock(&cfifo_mtx);
	return (0);
}

/*
 * Grows the storage to hold at least need bytes, up to the capacity (or
 * need, if the capacity was lowered below what is queued), keeping the
 * queued bytes.  Called with both locks held: nobody copies from or into
 * the old storage.
 */
static int
cfifo_grow(size_t need, size_t cap)
{
	char *nbuf;
	size_t first, size;

	sx_assert(&cfifo_iolock, SA_XLOCKED);
	mtx_assert(&cfifo_mtx, MA_OWNED);
	size = MAX(MAX(need, cfifo_size * 2), CFIFO_MIN_ALLOC);
	size = MIN(size, MAX(cap, need));
	nbuf = malloc(size, M_CFIFO, M_NOWAIT);
	if (nbuf == NULL)
		return (ENOMEM);
	if (cfifo_len != 0) {
		first = MIN(cfifo_len, cfifo_size - cfifo_head);
		memcpy(nbuf, cfifo_buf + cfifo_head, first);
		memcpy(nbuf + first, cfifo_buf, cfifo_len - first);
	}
	free(cfifo_buf, M_CFIFO);
	cfifo_buf = nbuf;
	cfifo_size = size;
	cfifo_head = 0;
	return (0);
}

/* The idle callout, with cfifo_mtx held: hands the freeing to a task. */
static void
cfifo_idle_expire(void *arg __unused)
{

	mtx_assert(&cfifo_mtx, MA_OWNED);
	if (cfifo_len == 0 && cfifo_buf != NULL && cfifo_rwait == 0 &&
	    !cfifo_gone)
		taskqueue_enqueue(taskqueue_thread, &cfifo_free_task);
}

/* Frees the storage of a FIFO that is still idle. */
static void
cfifo_free_storage(void *arg __unused, int pending __unused)
{
	char *buf;

	sx_xlock(&cfifo_iolock);
	mtx_lock(&cfifo_mtx);
	buf = NULL;
	if (cfifo_len == 0 && cfifo_rwait == 0) {
		buf = cfifo_buf;
		cfifo_buf = NULL;
		cfifo_size = cfifo_head = 0;
	}
	mtx_unlock(&cfifo_mtx);
	sx_xunlock(&cfifo_iolock);
	if (buf != NULL) {
		free(buf, M_CFIFO);
		atomic_add_64(&cfifo_stats.cs_idle_frees, 1);
	}
}

static int
cfifo_read(struct cdev *dev __unused, struct uio *uio, int ioflag)
{
	ssize_t resid, start;
	size_t n;
	char *p;
	int error;

	error = sx_xlock_sig(&cfifo_iolock);
	if (error != 0)
		return (error);
	mtx_lock(&cfifo_mtx);
	start = uio->uio_resid;
	while (uio->uio_resid > 0) {
		if (cfifo_gone) {
			error = ENXIO;
			break;
		}
		if (cfifo_len == 0) {
			if (uio->uio_resid != start)
				break;
			if ((ioflag & O_NONBLOCK) != 0) {
				error = EAGAIN;
				break;
			}
			atomic_add_64(&cfifo_stats.cs_blocked_reads, 1);
			error = cfifo_sleep(&cfifo_rwait, "cfiford");
			if (error != 0)
				return (error);
			continue;
		}
		n = MIN(cfifo_len, cfifo_size - cfifo_head);
		n = MIN(n, (size_t)uio->uio_resid);
		p = cfifo_buf + cfifo_head;
		mtx_unlock(&cfifo_mtx);
		resid = uio->uio_resid;
		error = uiomove(p, (int)n, uio);
		n = resid - uio->uio_resid;
		mtx_lock(&cfifo_mtx);
		cfifo_len -= n;
		cfifo_head += n;
		if (cfifo_head == cfifo_size || cfifo_len == 0)
			cfifo_head = 0;
		if (cfifo_len == 0 && atomic_load_64(&cfifo_idle_ms) != 0)
			callout_reset_sbt(&cfifo_idle,
			    SBT_1MS * atomic_load_64(&cfifo_idle_ms), 0,
			    cfifo_idle_expire, NULL, 0);
		cfifo_notify();
		cfifo_wakeup(&cfifo_wwait);
		if (error != 0)
			break;
	}
	mtx_unlock(&cfifo_mtx);
	sx_xunlock(&cfifo_iolock);
	if (error == 0) {
		atomic_add_64(&cfifo_stats.cs_reads, 1);
		atomic_add_64(&cfifo_stats.cs_bytes_out, start - uio->uio_resid);
	}
	return (error);
}

static int
cfifo_write(struct cdev *dev __unused, struct uio *uio, int ioflag)
{
	ssize_t resid, start;
	size_t cap, n, space, tail;
	char *p;
	int error;

	error = sx_xlock_sig(&cfifo_iolock);
	if (error != 0)
		return (error);
	mtx_lock(&cfifo_mtx);
	start = uio->uio_resid;
	while (uio->uio_resid > 0) {
		if (cfifo_gone) {
			error = ENXIO;
			break;
		}
		cap = atomic_load_64(&cfifo_capacity);
		space = cap > cfifo_len ? cap - cfifo_len : 0;
		if (space == 0) {
			if ((ioflag & O_NONBLOCK) != 0) {
				if (uio->uio_resid == start)
					error = EAGAIN;
				break;
			}
			atomic_add_64(&cfifo_stats.cs_blocked_writes, 1);
			error = cfifo_sleep(&cfifo_wwait, "cfifowr");
			if (error != 0)
				return (error);
			continue;
		}
		n = MIN(space, (size_t)uio->uio_resid);
		if (cfifo_size - cfifo_len < n &&
		    cfifo_grow(cfifo_len + n, cap) != 0 &&
		    cfifo_size == cfifo_len) {
			/* Nothing queued is lost; a short write, or ENOMEM. */
			if (uio->uio_resid == start) {
				atomic_add_64(&cfifo_stats.cs_enomem, 1);
				error = ENOMEM;
			}
			break;
		}
		tail = cfifo_head + cfifo_len;
		if (tail >= cfifo_size)
			tail -= cfifo_size;
		n = MIN(n, cfifo_size - cfifo_len);
		n = MIN(n, cfifo_size - tail);
		p = cfifo_buf + tail;
		mtx_unlock(&cfifo_mtx);
		resid = uio->uio_resid;
		error = uiomove(p, (int)n, uio);
		n = resid - uio->uio_resid;
		mtx_lock(&cfifo_mtx);
		cfifo_len += n;
		callout_stop(&cfifo_idle);
		cfifo_notify();
		cfifo_wakeup(&cfifo_rwait);
		if (error != 0)
			break;
	}
	mtx_unlock(&cfifo_mtx);
	sx_xunlock(&cfifo_iolock);
	if (error == 0) {
		atomic_add_64(&cfifo_stats.cs_writes, 1);
		atomic_add_64(&cfifo_stats.cs_bytes_in, start - uio->uio_resid);
	}
	return (error);
}

static int
cfifo_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	int error;

	error = 0;
	switch (cmd) {
	case FIONREAD:
		mtx_lock(&cfifo_mtx);
		*(int *)data = (int)MIN(cfifo_len, INT_MAX);
		mtx_unlock(&cfifo_mtx);
		break;
	case FIONBIO:
		/* O_NONBLOCK is read from each call's ioflag. */
		break;
	case FIOASYNC:
		if (*(int *)data != 0)
			error = EINVAL;
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
cfifo_poll(struct cdev *dev __unused, int events, struct thread *td)
{
	int revents;

	revents = 0;
	mtx_lock(&cfifo_mtx);
	if (cfifo_gone)
		revents |= POLLHUP;
	if (cfifo_len > 0 || cfifo_gone)
		revents |= events & (POLLIN | POLLRDNORM);
	if (cfifo_len < atomic_load_64(&cfifo_capacity) || cfifo_gone)
		revents |= events & (POLLOUT | POLLWRNORM);
	if (revents == 0)
		selrecord(td, &cfifo_si);
	mtx_unlock(&cfifo_mtx);
	return (revents);
}

static int
cfifo_kqfilter(struct cdev *dev __unused, struct knote *kn)
{

	switch (kn->kn_filter) {
	case EVFILT_READ:
		kn->kn_fop = &cfifo_read_filtops;
		break;
	case EVFILT_WRITE:
		kn->kn_fop = &cfifo_write_filtops;
		break;
	default:
		return (EINVAL);
	}
	knlist_add(&cfifo_si.si_note, kn, 0);
	return (0);
}

static int
cfifo_filt_read(struct knote *kn, long hint __unused)
{

	mtx_assert(&cfifo_mtx, MA_OWNED);
	kn->kn_data = cfifo_len;
	return (cfifo_len > 0 || cfifo_gone);
}

static int
cfifo_filt_write(struct knote *kn, long hint __unused)
{
	uint64_t cap;

	mtx_assert(&cfifo_mtx, MA_OWNED);
	cap = atomic_load_64(&cfifo_capacity);
	kn->kn_data = cap > cfifo_len ? cap - cfifo_len : 0;
	return (kn->kn_data > 0 || cfifo_gone);
}

static void
cfifo_filt_detach(struct knote *kn)
{

	knlist_remove(&cfifo_si.si_note, kn, 0);
}

/* destroy_dev(9): the sleepers wake and return ENXIO. */
static void
cfifo_purge(struct cdev *dev __unused)
{

	mtx_lock(&cfifo_mtx);
	cfifo_gone = true;
	cfifo_notify();
	cfifo_wakeup(&cfifo_rwait);
	cfifo_wakeup(&cfifo_wwait);
	mtx_unlock(&cfifo_mtx);
}

static void
cfifo_file_dtor(void *data __unused)
{

	atomic_subtract_int(&cfifo_nfiles, 1);
}

static int
cfifo_open(struct cdev *dev __unused, int oflags __unused,
    int devtype __unused, struct thread *td __unused)
{
	int error;

	atomic_add_int(&cfifo_nfiles, 1);
	error = devfs_set_cdevpriv(&cfifo_nfiles, cfifo_file_dtor);
	if (error != 0)
		cfifo_file_dtor(NULL);
	return (error);
}

static int
cfifo_load(void)
{
	struct make_dev_args args;
	int error;

	sx_init(&cfifo_iolock, "cfifo io");
	mtx_init(&cfifo_mtx, "cfifo", NULL, MTX_DEF);
	knlist_init_mtx(&cfifo_si.si_note, &cfifo_mtx);
	callout_init_mtx(&cfifo_idle, &cfifo_mtx, 0);
	TASK_INIT(&cfifo_free_task, 0, cfifo_free_storage, NULL);

	make_dev_args_init(&args);
	args.mda_flags = MAKEDEV_CHECKNAME | MAKEDEV_WAITOK;
	args.mda_devsw = &cfifo_cdevsw;
	args.mda_uid = UID_ROOT;
	args.mda_gid = GID_WHEEL;
	args.mda_mode = 0666;
	error = make_dev_s(&args, &cfifo_dev, CFIFO_NAME);
	if (error != 0) {
		cfifo_dev = NULL;
		knlist_destroy(&cfifo_si.si_note);
		mtx_destroy(&cfifo_mtx);
		sx_destroy(&cfifo_iolock);
	}
	return (error);
}

static void
cfifo_unload(void)
{

	/* MOD_UNLOAD also follows a failed MOD_LOAD, which cleaned up. */
	if (cfifo_dev == NULL)
		return;
	/* Purges the sleepers and waits for the threads in the methods. */
	destroy_dev(cfifo_dev);
	cfifo_dev = NULL;
	callout_drain(&cfifo_idle);
	taskqueue_drain(taskqueue_thread, &cfifo_free_task);
	seldrain(&cfifo_si);
	knlist_clear(&cfifo_si.si_note, 0);
	knlist_destroy(&cfifo_si.si_note);
	free(cfifo_buf, M_CFIFO);
	cfifo_buf = NULL;
	cfifo_size = cfifo_head = cfifo_len = 0;
	mtx_destroy(&cfifo_mtx);
	sx_destroy(&cfifo_iolock);
}

static int
cfifo_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		error = cfifo_load();
		break;
	case MOD_QUIESCE:
		if (atomic_load_int(&cfifo_nfiles) != 0)
			error = EBUSY;
		break;
	case MOD_UNLOAD:
		cfifo_unload();
		break;
	case MOD_SHUTDOWN:
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(cfifo, cfifo_modevent, NULL);
MODULE_VERSION(cfifo, 1);
