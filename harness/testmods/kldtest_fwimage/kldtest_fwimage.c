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
 * A firmware module, written as the one bsd.kmod.mk generates from
 * FIRMWS: at MOD_LOAD it registers the image "kldtest_fwimage" (16 bytes,
 * version 7) and, as its child, "kldtest_fwimage_sub" (4 bytes, version
 * 3); at MOD_UNLOAD it unregisters them, refusing while one is in use.
 * firmware(9) loads it when a driver asks for "kldtest_fwimage".
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/errno.h>
#include <sys/firmware.h>
#include <sys/module.h>

static const unsigned char kldtest_fwimage_data[16] = {
	0x4b, 0x4c, 0x44, 0x54, 0x45, 0x53, 0x54, 0x00,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
};
static const unsigned char kldtest_fwimage_sub[4] = { 0xde, 0xad, 0xbe, 0xef };

static int
kldtest_fwimage_modevent(module_t mod __unused, int type, void *unused __unused)
{
	const struct firmware *fp, *parent;
	int error;

	switch (type) {
	case MOD_LOAD:
		fp = firmware_register("kldtest_fwimage", kldtest_fwimage_data,
		    sizeof(kldtest_fwimage_data), 7, NULL);
		if (fp == NULL)
			return (ENXIO);
		parent = fp;
		fp = firmware_register("kldtest_fwimage_sub", kldtest_fwimage_sub,
		    sizeof(kldtest_fwimage_sub), 3, parent);
		if (fp == NULL) {
			(void)firmware_unregister("kldtest_fwimage");
			return (ENXIO);
		}
		return (0);
	case MOD_UNLOAD:
		error = firmware_unregister("kldtest_fwimage_sub");
		if (error == 0)
			error = firmware_unregister("kldtest_fwimage");
		return (error);
	}
	return (EINVAL);
}

static moduledata_t kldtest_fwimage_mod = {
	"kldtest_fwimage",
	kldtest_fwimage_modevent,
	NULL
};

DECLARE_MODULE(kldtest_fwimage, kldtest_fwimage_mod, SI_SUB_DRIVERS,
    SI_ORDER_FIRST);
MODULE_VERSION(kldtest_fwimage, 1);
MODULE_DEPEND(kldtest_fwimage, firmware, 1, 1, 1);
