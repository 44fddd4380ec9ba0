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
 * cecho(4): rustecho(4) written in C, the baseline the benchmarks compare
 * the Rust module with (BENCHMARKS.md).  /dev/cecho keeps one message:
 *
 * - write(2) replaces it with the bytes of that one call.  The new message
 *   is assembled in a separate buffer (the spare one if it is large enough,
 *   else a new M_NOWAIT allocation) and published only when complete, so a
 *   failed write (ENOMEM, EFBIG, EFAULT) leaves the old message as it was.
 * - read(2) returns the message from the file offset.  A read at offset 0
 *   takes a reference on the current message for the open file (its
 *   snapshot); reads at other offsets continue from that snapshot, so one
 *   open file sees one consistent message.
 * - ioctl(2): FIONREAD, FIONBIO, FIOASYNC (as null(4)), RUSTECHO_CLEAR
 *   (needs FWRITE, as write(2) does) and RUSTECHO_GETINFO
 *   (echo/include/rustecho.h).  An empty write is a clear.
 *
 * Messages are reference counted (refcount(9)): the device holds one
 * reference on the current message, each open file one on its snapshot,
 * each running read one on what it copies from.  The last reference turns
 * a buffer into the spare (one at most, the larger one is kept), so a
 * steady stream of writes and reads of a given size allocates nothing.
 * A write frees a spare that is too small or above hw.cecho.maxlen before
 * it allocates.  The empty message is static and shared.
 *
 * Locking: cecho_wlock (sx) serialises writers, which sleep in uiomove(9)
 * with it held; cecho_mtx protects the current message, the spare, the
 * generation and the snapshot pointers of open files, and is never held
 * across anything that may sleep.  Counters are atomic.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/limits.h>
#include <sys/conf.h>
#include <sys/fcntl.h>
#include <sys/filio.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/refcount.h>
#include <sys/sx.h>
#include <sys/sysctl.h>
#include <sys/uio.h>

#include <machine/atomic.h>

#include "../../echo/include/rustecho.h"

#define	CECHO_NAME		"cecho"
#define	CECHO_MAXLEN_DEFAULT	(64 * 1024)
#define	CECHO_MAXLEN_MAX	(16 * 1024 * 1024)

static const char cecho_hello[] = "Default hello message\n";

MALLOC_DEFINE(M_CECHO, "cecho", "cecho(4) messages and open files");

/*
 * A message.  Its bytes do not change while it is referenced; the last
 * reference frees it or keeps it as the spare.
 */
struct cecho_msg {
	volatile u_int	 cm_refs;	/* refcount(9) */
	size_t		 cm_len;	/* bytes in cm_data */
	size_t		 cm_cap;	/* bytes allocated for cm_data */
	char		 cm_data[];
};

/* An open file (devfs_set_cdevpriv(9)). */
struct cecho_file {
	struct cecho_msg *cf_msg;	/* snapshot or NULL; under cecho_mtx */
	off_t		  cf_end;	/* offset where the last read ended */
};

static struct cecho_stats {
	uint64_t	cs_opens;
	uint64_t	cs_reads;
	uint64_t	cs_writes;
	uint64_t	cs_bytes_in;
	uint64_t	cs_bytes_out;
	uint64_t	cs_enomem;
	uint64_t	cs_efbig;
	uint64_t	cs_efault;
} cecho_stats;

static struct cdev	*cecho_dev;
static struct cecho_msg	 cecho_empty = {	/* shared, never freed */
	.cm_refs = 1,
};
static struct sx	 cecho_wlock;	/* serialises writers */
static struct mtx	 cecho_mtx;	/* the three below and cf_msg */
static struct cecho_msg	*cecho_cur;	/* current message, never NULL */
static struct cecho_msg	*cecho_spare;	/* unreferenced buffer, or NULL */
static uint64_t		 cecho_gen;	/* bumped by each write and clear */
static u_int		 cecho_nfiles;	/* open files, for MOD_QUIESCE */
static uint64_t		 cecho_maxlen = CECHO_MAXLEN_DEFAULT;

static d_open_t		cecho_open;
static d_read_t		cecho_read;
static d_write_t	cecho_write;
static d_ioctl_t	cecho_ioctl;

static struct cdevsw cecho_cdevsw = {
	.d_version =	D_VERSION,
	.d_open =	cecho_open,
	.d_read =	cecho_read,
	.d_write =	cecho_write,
	.d_ioctl =	cecho_ioctl,
	.d_name =	CECHO_NAME,
};

static int	cecho_sysctl_maxlen(SYSCTL_HANDLER_ARGS);

static SYSCTL_NODE(_hw, OID_AUTO, cecho, CTLFLAG_RD | CTLFLAG_MPSAFE, 0,
    "cecho(4), the C echo device");
SYSCTL_PROC(_hw_cecho, OID_AUTO, maxlen,
    CTLTYPE_U64 | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0, cecho_sysctl_maxlen,
    "QU", "Longest message in bytes (1 to 16 MiB)");
SYSCTL_U64(_hw_cecho, OID_AUTO, opens, CTLFLAG_RD, &cecho_stats.cs_opens, 0,
    "Opens");
SYSCTL_U64(_hw_cecho, OID_AUTO, reads, CTLFLAG_RD, &cecho_stats.cs_reads, 0,
    "Reads");
SYSCTL_U64(_hw_cecho, OID_AUTO, writes, CTLFLAG_RD, &cecho_stats.cs_writes,
    0, "Messages written");
SYSCTL_U64(_hw_cecho, OID_AUTO, bytes_in, CTLFLAG_RD,
    &cecho_stats.cs_bytes_in, 0, "Bytes written");
SYSCTL_U64(_hw_cecho, OID_AUTO, bytes_out, CTLFLAG_RD,
    &cecho_stats.cs_bytes_out, 0, "Bytes read");
SYSCTL_U64(_hw_cecho, OID_AUTO, enomem, CTLFLAG_RD, &cecho_stats.cs_enomem,
    0, "Operations failed with ENOMEM");
SYSCTL_U64(_hw_cecho, OID_AUTO, efbig, CTLFLAG_RD, &cecho_stats.cs_efbig, 0,
    "Writes failed with EFBIG");
SYSCTL_U64(_hw_cecho, OID_AUTO, efault, CTLFLAG_RD, &cecho_stats.cs_efault,
    0, "Transfers failed with EFAULT");

static int
cecho_sysctl_maxlen(SYSCTL_HANDLER_ARGS)
{
	uint64_t val;
	int error;

	val = atomic_load_64(&cecho_maxlen);
	error = sysctl_handle_64(oidp, &val, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (val < 1 || val > CECHO_MAXLEN_MAX)
		return (EINVAL);
	/* A lower limit does not truncate the current message. */
	atomic_store_64(&cecho_maxlen, val);
	return (0);
}

/*
 * Makes an unreferenced buffer the spare, keeping the larger of the two;
 * returns the one not kept, for the caller to free once cecho_mtx is
 * released.
 */
static struct cecho_msg *
cecho_msg_retire_locked(struct cecho_msg *m)
{
	struct cecho_msg *spare;

	mtx_assert(&cecho_mtx, MA_OWNED);
	spare = cecho_spare;
	if (spare == NULL || spare->cm_cap < m->cm_cap) {
		cecho_spare = m;
		return (spare);
	}
	return (m);
}

/* Drops a reference with cecho_mtx held; as cecho_msg_retire_locked(). */
static struct cecho_msg *
cecho_msg_release_locked(struct cecho_msg *m)
{

	mtx_assert(&cecho_mtx, MA_OWNED);
	if (m == NULL || !refcount_release(&m->cm_refs))
		return (NULL);
	return (cecho_msg_retire_locked(m));
}

/* Drops a reference without cecho_mtx. */
static void
cecho_msg_release(struct cecho_msg *m)
{

	if (m == NULL || !refcount_release(&m->cm_refs))
		return;
	mtx_lock(&cecho_mtx);
	m = cecho_msg_retire_locked(m);
	mtx_unlock(&cecho_mtx);
	free(m, M_CECHO);
}

/* Makes m the current message; called with cecho_wlock held. */
static void
cecho_set(struct cecho_msg *m)
{
	struct cecho_msg *old;

	sx_assert(&cecho_wlock, SA_XLOCKED);
	mtx_lock(&cecho_mtx);
	old = cecho_cur;
	cecho_cur = m;
	cecho_gen++;
	old = cecho_msg_release_locked(old);
	mtx_unlock(&cecho_mtx);
	free(old, M_CECHO);
}

/* RUSTECHO_CLEAR and empty writes: the empty message.  Never allocates. */
static void
cecho_clear(void)
{

	sx_xlock(&cecho_wlock);
	refcount_acquire(&cecho_empty.cm_refs);
	cecho_set(&cecho_empty);
	sx_xunlock(&cecho_wlock);
}

/*
 * Replaces the message with the whole request.  The bytes go into the
 * spare buffer if it holds them (and is within the limit, so lowering
 * hw.cecho.maxlen also bounds the spare), else into a new one, and are
 * published only when all have arrived.
 */
static int
cecho_write(struct cdev *dev __unused, struct uio *uio, int ioflag __unused)
{
	struct cecho_msg *m;
	size_t len, limit;
	int error;

	len = uio->uio_resid;
	limit = atomic_load_64(&cecho_maxlen);
	if (len > limit) {
		atomic_add_64(&cecho_stats.cs_efbig, 1);
		return (EFBIG);
	}
	if (len == 0) {
		cecho_clear();
		atomic_add_64(&cecho_stats.cs_writes, 1);
		return (0);
	}
	sx_xlock(&cecho_wlock);
	mtx_lock(&cecho_mtx);
	m = cecho_spare;
	cecho_spare = NULL;
	mtx_unlock(&cecho_mtx);
	if (m != NULL && (m->cm_cap < len || m->cm_cap > limit)) {
		free(m, M_CECHO);
		m = NULL;
	}
	if (m == NULL) {
		m = malloc(sizeof(*m) + len, M_CECHO, M_NOWAIT);
		if (m == NULL) {
			sx_xunlock(&cecho_wlock);
			atomic_add_64(&cecho_stats.cs_enomem, 1);
			return (ENOMEM);
		}
		m->cm_cap = len;
	}
	refcount_init(&m->cm_refs, 1);
	error = uiomove(m->cm_data, (int)len, uio);
	if (error != 0) {
		cecho_msg_release(m);
		sx_xunlock(&cecho_wlock);
		if (error == EFAULT)
			atomic_add_64(&cecho_stats.cs_efault, 1);
		return (error);
	}
	m->cm_len = len;
	cecho_set(m);
	sx_xunlock(&cecho_wlock);
	atomic_add_64(&cecho_stats.cs_writes, 1);
	atomic_add_64(&cecho_stats.cs_bytes_in, len);
	return (0);
}

static void
cecho_file_dtor(void *data)
{
	struct cecho_file *cf;

	cf = data;
	cecho_msg_release(cf->cf_msg);
	free(cf, M_CECHO);
	atomic_subtract_int(&cecho_nfiles, 1);
}

static int
cecho_open(struct cdev *dev __unused, int oflags __unused,
    int devtype __unused, struct thread *td __unused)
{
	struct cecho_file *cf;
	int error;

	cf = malloc(sizeof(*cf), M_CECHO, M_NOWAIT | M_ZERO);
	if (cf == NULL) {
		atomic_add_64(&cecho_stats.cs_enomem, 1);
		return (ENOMEM);
	}
	atomic_add_int(&cecho_nfiles, 1);
	error = devfs_set_cdevpriv(cf, cecho_file_dtor);
	if (error != 0) {
		cecho_file_dtor(cf);
		return (error);
	}
	atomic_add_64(&cecho_stats.cs_opens, 1);
	return (0);
}

static int
cecho_read(struct cdev *dev __unused, struct uio *uio, int ioflag __unused)
{
	struct cecho_file *cf;
	struct cecho_msg *m, *old;
	off_t start;
	size_t n;
	int error;

	error = devfs_get_cdevpriv((void **)&cf);
	if (error != 0)
		return (error);
	start = uio->uio_offset;
	if (start < 0)
		return (EINVAL);

	/*
	 * At offset 0 (or on the first read) the file takes the current
	 * message as its snapshot.  This read holds its own reference while
	 * it copies, as another thread may replace the file's snapshot.
	 */
	old = NULL;
	mtx_lock(&cecho_mtx);
	if ((start == 0 || cf->cf_msg == NULL) && cf->cf_msg != cecho_cur) {
		old = cf->cf_msg;
		cf->cf_msg = cecho_cur;
		refcount_acquire(&cecho_cur->cm_refs);
	}
	m = cf->cf_msg;
	refcount_acquire(&m->cm_refs);
	old = cecho_msg_release_locked(old);
	mtx_unlock(&cecho_mtx);
	free(old, M_CECHO);

	if ((uoff_t)start < m->cm_len) {
		n = MIN(m->cm_len - (size_t)start, (size_t)uio->uio_resid);
		error = uiomove(m->cm_data + start, (int)n, uio);
	}
	/* Only for FIONREAD: a racing one sees the old or the new end. */
	cf->cf_end = uio->uio_offset;
	cecho_msg_release(m);
	if (error != 0) {
		if (error == EFAULT)
			atomic_add_64(&cecho_stats.cs_efault, 1);
		return (error);
	}
	atomic_add_64(&cecho_stats.cs_reads, 1);
	atomic_add_64(&cecho_stats.cs_bytes_out, uio->uio_offset - start);
	return (0);
}

static int
cecho_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data, int fflag,
    struct thread *td __unused)
{
	struct rustecho_info *ri;
	struct cecho_file *cf;
	struct cecho_msg *m;
	size_t n;
	int error;

	error = 0;
	switch (cmd) {
	case FIONBIO:
		break;
	case FIOASYNC:
		if (*(int *)data != 0)
			error = EINVAL;
		break;
	case FIONREAD:
		error = devfs_get_cdevpriv((void **)&cf);
		if (error != 0)
			break;
		mtx_lock(&cecho_mtx);
		m = cf->cf_msg;
		if (m == NULL)
			n = cecho_cur->cm_len;
		else if ((uoff_t)cf->cf_end < m->cm_len)
			n = m->cm_len - (size_t)cf->cf_end;
		else
			n = 0;
		mtx_unlock(&cecho_mtx);
		*(int *)data = (int)MIN(n, INT_MAX);
		break;
	case RUSTECHO_CLEAR:
		/* It changes the message: as write(2), it needs FWRITE. */
		if ((fflag & FWRITE) == 0)
			error = EBADF;
		else
			cecho_clear();
		break;
	case RUSTECHO_GETINFO:
		ri = (struct rustecho_info *)data;
		mtx_lock(&cecho_mtx);
		ri->ri_length = cecho_cur->cm_len;
		ri->ri_generation = cecho_gen;
		mtx_unlock(&cecho_mtx);
		ri->ri_limit = atomic_load_64(&cecho_maxlen);
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
cecho_load(void)
{
	struct make_dev_args args;
	struct cecho_msg *m;
	int error;

	sx_init(&cecho_wlock, "cecho writers");
	mtx_init(&cecho_mtx, "cecho", NULL, MTX_DEF);
	m = malloc(sizeof(*m) + sizeof(cecho_hello) - 1, M_CECHO, M_WAITOK);
	refcount_init(&m->cm_refs, 1);
	m->cm_len = m->cm_cap = sizeof(cecho_hello) - 1;
	memcpy(m->cm_data, cecho_hello, m->cm_len);
	cecho_cur = m;

	make_dev_args_init(&args);
	args.mda_flags = MAKEDEV_CHECKNAME | MAKEDEV_WAITOK;
	args.mda_devsw = &cecho_cdevsw;
	args.mda_uid = UID_ROOT;
	args.mda_gid = GID_WHEEL;
	args.mda_mode = 0660;
	error = make_dev_s(&args, &cecho_dev, CECHO_NAME);
	if (error != 0) {
		free(cecho_cur, M_CECHO);
		cecho_cur = NULL;
		mtx_destroy(&cecho_mtx);
		sx_destroy(&cecho_wlock);
		return (error);
	}
	printf("cecho: /dev/%s created, messages up to %ju bytes\n", CECHO_NAME,
	    (uintmax_t)atomic_load_64(&cecho_maxlen));
	return (0);
}

static void
cecho_unload(void)
{

	/* MOD_UNLOAD also follows a failed MOD_LOAD, which cleaned up. */
	if (cecho_dev == NULL)
		return;
	/* Waits for threads in the methods and runs the files' dtors. */
	destroy_dev(cecho_dev);
	cecho_dev = NULL;
	if (cecho_cur != &cecho_empty)
		free(cecho_cur, M_CECHO);
	free(cecho_spare, M_CECHO);
	cecho_cur = cecho_spare = NULL;
	mtx_destroy(&cecho_mtx);
	sx_destroy(&cecho_wlock);
}

static int
cecho_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		error = cecho_load();
		break;
	case MOD_QUIESCE:
		if (atomic_load_int(&cecho_nfiles) != 0)
			error = EBUSY;
		break;
	case MOD_UNLOAD:
		cecho_unload();
		break;
	case MOD_SHUTDOWN:
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(cecho, cecho_modevent, NULL);
MODULE_VERSION(cecho, 1);
