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
 * Kernel stack use.  A FreeBSD amd64 kernel thread has a 16 KiB stack
 * (KSTACK_PAGES 4) with a guard page below it.  d_read keeps an 8 KiB
 * buffer on the stack, which fits; d_write keeps a 64 KiB one, which does
 * not: on FreeBSD the first store below the stack hits the guard page and
 * the kernel panics ("double fault").
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/module.h>
#include <sys/uio.h>

#define	KLDTEST_STACK_SMALL	8192
#define	KLDTEST_STACK_BIG	65536

static d_read_t		kldtest_stack_read;
static d_write_t	kldtest_stack_write;

static struct cdevsw kldtest_stack_cdevsw = {
	.d_version =	D_VERSION,
	.d_read =	kldtest_stack_read,
	.d_write =	kldtest_stack_write,
	.d_name =	"kldtest_stack",
};

static struct cdev	*kldtest_stack_dev;

static int
kldtest_stack_read(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	char buf[KLDTEST_STACK_SMALL];
	size_t n;

	memset(buf, 'k', sizeof(buf));
	n = MIN((size_t)uio->uio_resid, sizeof(buf));
	return (uiomove(buf, (int)n, uio));
}

static int
kldtest_stack_write(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	char buf[KLDTEST_STACK_BIG];
	size_t n;
	int error;

	n = MIN((size_t)uio->uio_resid, sizeof(buf));
	error = uiomove(buf, (int)n, uio);
	if (error == 0 && n > 0)
		printf("kldtest_stack: got %c\n", buf[0]);
	return (error);
}

static int
kldtest_stack_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		kldtest_stack_dev = make_dev(&kldtest_stack_cdevsw, 0, UID_ROOT,
		    GID_WHEEL, 0666, "kldtest_stack");
		return (0);
	case MOD_UNLOAD:
		destroy_dev(kldtest_stack_dev);
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

DEV_MODULE(kldtest_stack, kldtest_stack_modevent, NULL);
MODULE_VERSION(kldtest_stack, 1);
