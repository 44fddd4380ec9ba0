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
 * panic(9) from module code: writing to /dev/kldtest_panic panics with
 * the text written; ioctl KLDTEST_POKE stores to the address it is given
 * (a page fault when the address is bad). On load it also prints one line using every printf(9)
 * conversion the harness implements, so that the formatter is tested
 * through a real module's va_list.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/ioccom.h>
#include <sys/module.h>
#include <sys/uio.h>

#define	KLDTEST_POKE	_IOW('X', 1, uint64_t)

static d_write_t	kldtest_panic_write;
static d_ioctl_t	kldtest_panic_ioctl;

static struct cdevsw kldtest_panic_cdevsw = {
	.d_version =	D_VERSION,
	.d_write =	kldtest_panic_write,
	.d_ioctl =	kldtest_panic_ioctl,
	.d_name =	"kldtest_panic",
};

static struct cdev	*kldtest_panic_dev;

static int
kldtest_panic_write(struct cdev *dev __unused, struct uio *uio,
    int ioflag __unused)
{
	char msg[64];
	int error, n;

	n = MIN((int)uio->uio_resid, (int)sizeof(msg) - 1);
	error = uiomove(msg, n, uio);
	if (error != 0)
		return (error);
	msg[n] = '\0';
	panic("kldtest_panic: %s", msg);
	/* NOTREACHED */
}

static int
kldtest_panic_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{

	if (cmd != KLDTEST_POKE)
		return (ENOIOCTL);
	*(volatile int *)(uintptr_t)*(uint64_t *)data = 1;
	return (0);
}

static void
kldtest_panic_formats(void)
{
	static const unsigned char mac[6] = { 0x00, 0x1b, 0x21, 0xab, 0xcd,
	    0xef };
	char buf[8];
	int n;

	printf("fmt: %d %i %u %x %X %o %c %s|%5d|%-5d|%05d|%.3s|%*d|%lu %ld "
	    "%llx %zu %jd %hhd %p %p\n",
	    -42, 7, 4000000000U, 0xbeef, 0xbeef, 8, 'Z', "str", 12, 12, 12,
	    "abcdef", 4, 9, 123456789012UL, -9L, 0x1122334455ULL,
	    (size_t)77, (intmax_t)-123, 300, (void *)0x1000, NULL);
	printf("fmt: %b %b %6D %s\n", 3, "\20\2TWO\1ONE", 0, "\20\1ONE",
	    mac, ":", (char *)NULL);
	n = snprintf(buf, sizeof(buf), "%s", "truncated");
	printf("fmt: snprintf %d \"%s\"\n", n, buf);
}

static int
kldtest_panic_modevent(module_t mod __unused, int what, void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		kldtest_panic_formats();
		kldtest_panic_dev = make_dev(&kldtest_panic_cdevsw, 0,
		    UID_ROOT, GID_WHEEL, 0666, "kldtest_panic");
		return (0);
	case MOD_UNLOAD:
		destroy_dev(kldtest_panic_dev);
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

DEV_MODULE(kldtest_panic, kldtest_panic_modevent, NULL);
