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
 * A driver with the bug SMAP exists to catch: its d_ioctl is handed a
 * user pointer and dereferences it, instead of going through copyin(9).
 * On amd64 with SMAP that is a fatal page fault in kernel mode.
 *
 * KLDTEST_SMAP_PEEK reads the user buffer directly, KLDTEST_SMAP_POKE
 * writes it directly, KLDTEST_SMAP_SUM does it right (copyin) and returns
 * the sum of the bytes.  KLDTEST_SMAP_MEMCPY hands the user address to
 * memcpy(9), which is no better than reading it.  d_write makes the same mistake with the uio: it
 * reads the first iovec's user buffer itself instead of calling
 * uiomove(9).
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/ioccom.h>
#include <sys/module.h>
#include <sys/uio.h>

struct kldtest_smap_req {
	void		*ksr_addr;	/* user buffer */
	size_t		 ksr_len;	/* its length */
	uint64_t	 ksr_sum;	/* out: sum of its bytes */
};

#define	KLDTEST_SMAP_PEEK	_IOWR('S', 1, struct kldtest_smap_req)
#define	KLDTEST_SMAP_POKE	_IOWR('S', 2, struct kldtest_smap_req)
#define	KLDTEST_SMAP_SUM	_IOWR('S', 3, struct kldtest_smap_req)
#define	KLDTEST_SMAP_MEMCPY	_IOWR('S', 4, struct kldtest_smap_req)

static d_ioctl_t	kldtest_smap_ioctl;
static d_write_t	kldtest_smap_write;

static struct cdevsw kldtest_smap_cdevsw = {
	.d_version =	D_VERSION,
	.d_ioctl =	kldtest_smap_ioctl,
	.d_write =	kldtest_smap_write,
	.d_name =	"kldtest_smap",
};

static struct cdev	*kldtest_smap_dev;

static int
kldtest_smap_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	struct kldtest_smap_req *r;
	volatile unsigned char *p;
	unsigned char buf[64];
	size_t i, n;
	int error;

	r = (struct kldtest_smap_req *)data;
	r->ksr_sum = 0;
	switch (cmd) {
	case KLDTEST_SMAP_PEEK:
		/* Wrong: a user address is not kernel memory. */
		p = r->ksr_addr;
		for (i = 0; i < r->ksr_len; i++)
			r->ksr_sum += p[i];
		return (0);
	case KLDTEST_SMAP_POKE:
		/* Wrong as well. */
		p = r->ksr_addr;
		for (i = 0; i < r->ksr_len; i++)
			p[i] = 0;
		return (0);
	case KLDTEST_SMAP_SUM:
		/* Right: copyin(9) is how the kernel reads user memory. */
		n = MIN(r->ksr_len, sizeof(buf));
		error = copyin(r->ksr_addr, buf, n);
		if (error != 0)
			return (error);
		for (i = 0; i < n; i++)
			r->ksr_sum += buf[i];
		return (0);
	case KLDTEST_SMAP_MEMCPY:
		/* Wrong: memcpy is not copyin. */
		n = MIN(r->ksr_len, sizeof(buf));
		memcpy(buf, r->ksr_addr, n);
		for (i = 0; i < n; i++)
			r->ksr_sum += buf[i];
		return (0);
	default:
		return (ENOIOCTL);
	}
}

static int
kldtest_smap_write(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	volatile const char *p;
	char first;

	if (uio->uio_iovcnt < 1 || uio->uio_iov[0].iov_len == 0)
		return (0);
	/* Wrong: uio_segflg is UIO_USERSPACE, iov_base a user address. */
	p = uio->uio_iov[0].iov_base;
	first = p[0];
	printf("kldtest_smap: first byte %c\n", first);
	uio->uio_resid = 0;
	return (0);
}

static int
kldtest_smap_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		kldtest_smap_dev = make_dev(&kldtest_smap_cdevsw, 0, UID_ROOT,
		    GID_WHEEL, 0666, "kldtest_smap");
		return (0);
	case MOD_UNLOAD:
		destroy_dev(kldtest_smap_dev);
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

DEV_MODULE(kldtest_smap, kldtest_smap_modevent, NULL);
MODULE_VERSION(kldtest_smap, 1);
