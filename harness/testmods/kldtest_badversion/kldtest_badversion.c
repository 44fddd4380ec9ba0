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
 * A driver built against an older cdevsw: its d_version is D_VERSION_03,
 * the version before SPECNAMELEN grew. make_dev(9) still creates
 * /dev/kldtest_badversion, but prep_cdevsw prints "WARNING: Device driver
 * "kldtest_badversion" has wrong version and is disabled.  Recompile KLD
 * module." and replaces its methods with the dead ones: open(2) fails with
 * ENXIO, and the methods below never run.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/module.h>

static d_open_t		kldtest_badversion_open;
static d_read_t		kldtest_badversion_read;

static struct cdevsw kldtest_badversion_cdevsw = {
	.d_version =	D_VERSION_03,
	.d_open =	kldtest_badversion_open,
	.d_read =	kldtest_badversion_read,
	.d_name =	"kldtest_badversion",
};

static struct cdev	*kldtest_badversion_dev;

static int
kldtest_badversion_open(struct cdev *dev __unused, int oflags __unused,
    int devtype __unused, struct thread *td __unused)
{

	printf("kldtest_badversion: open (must not happen)\n");
	return (0);
}

static int
kldtest_badversion_read(struct cdev *dev __unused, struct uio *uio __unused,
    int ioflag __unused)
{

	printf("kldtest_badversion: read (must not happen)\n");
	return (0);
}

static int
kldtest_badversion_modevent(module_t mod __unused, int what,
    void *arg __unused)
{

	switch (what) {
	case MOD_LOAD:
		kldtest_badversion_dev = make_dev(&kldtest_badversion_cdevsw, 0,
		    UID_ROOT, GID_WHEEL, 0666, "kldtest_badversion");
		printf("kldtest_badversion: make_dev returned %s\n",
		    kldtest_badversion_dev != NULL ? "a device" : "NULL");
		return (0);
	case MOD_UNLOAD:
		destroy_dev(kldtest_badversion_dev);
		return (0);
	default:
		return (EOPNOTSUPP);
	}
}

DEV_MODULE(kldtest_badversion, kldtest_badversion_modevent, NULL);
