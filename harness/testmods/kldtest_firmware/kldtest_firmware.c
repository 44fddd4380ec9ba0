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
 * A driver that uses firmware(9).  At MOD_LOAD it takes the image
 * "kldtest_fwboot", which must already be registered (a driver loading
 * firmware from its load handler can only use images already there),
 * and releases it at MOD_UNLOAD.  Under debug.kldtest_firmware (anyone
 * may write): writing an image name to "get" (or "get_nowarn", with
 * FIRMWARE_GET_NOWARN) asks firmware_get for it and keeps the
 * reference; "image" describes what was got (name, version, size, first
 * bytes, or "(null)"); writing flags to "put" releases it with
 * firmware_put.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/firmware.h>
#include <sys/module.h>
#include <sys/sysctl.h>

static struct sysctl_ctx_list	kldtest_firmware_ctx;
static const struct firmware	*kldtest_firmware_boot;
static const struct firmware	*kldtest_firmware_fw;
static char			kldtest_firmware_name[64];

static int
kldtest_firmware_get_common(SYSCTL_HANDLER_ARGS, uint32_t flags)
{
	int error;

	error = sysctl_handle_string(oidp, kldtest_firmware_name,
	    sizeof(kldtest_firmware_name), req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (kldtest_firmware_fw != NULL)
		return (EBUSY);
	kldtest_firmware_fw = firmware_get_flags(kldtest_firmware_name, flags);
	return (0);
}

static int
kldtest_firmware_get_handler(SYSCTL_HANDLER_ARGS)
{

	return (kldtest_firmware_get_common(oidp, arg1, arg2, req, 0));
}

static int
kldtest_firmware_nowarn_handler(SYSCTL_HANDLER_ARGS)
{

	return (kldtest_firmware_get_common(oidp, arg1, arg2, req,
	    FIRMWARE_GET_NOWARN));
}

static int
kldtest_firmware_image_handler(SYSCTL_HANDLER_ARGS)
{
	const struct firmware *fw;
	const unsigned char *p;
	char out[128];

	fw = kldtest_firmware_fw;
	if (fw == NULL)
		strlcpy(out, "(null)", sizeof(out));
	else {
		p = fw->data;
		snprintf(out, sizeof(out), "%s %u %zu %02x%02x%02x%02x",
		    fw->name, fw->version, fw->datasize, p[0], p[1], p[2],
		    p[3]);
	}
	return (sysctl_handle_string(oidp, out, sizeof(out), req));
}

static int
kldtest_firmware_put_handler(SYSCTL_HANDLER_ARGS)
{
	int error, flags;

	flags = 0;
	error = sysctl_handle_int(oidp, &flags, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	if (kldtest_firmware_fw == NULL)
		return (ENOENT);
	firmware_put(kldtest_firmware_fw, flags);
	kldtest_firmware_fw = NULL;
	return (0);
}

static int
kldtest_firmware_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct sysctl_oid *node;
	struct sysctl_oid_list *list;
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		kldtest_firmware_boot = firmware_get_flags("kldtest_fwboot",
		    FIRMWARE_GET_NOWARN);
		if (kldtest_firmware_boot == NULL)
			return (ENOENT);
		sysctl_ctx_init(&kldtest_firmware_ctx);
		node = SYSCTL_ADD_NODE(&kldtest_firmware_ctx,
		    SYSCTL_STATIC_CHILDREN(_debug), OID_AUTO, "kldtest_firmware",
		    CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, "firmware tests");
		if (node == NULL) {
			firmware_put(kldtest_firmware_boot, 0);
			error = ENOMEM;
			break;
		}
		list = SYSCTL_CHILDREN(node);
		SYSCTL_ADD_PROC(&kldtest_firmware_ctx, list, OID_AUTO, "get",
		    CTLTYPE_STRING | CTLFLAG_RW | CTLFLAG_ANYBODY |
		    CTLFLAG_MPSAFE, NULL, 0, kldtest_firmware_get_handler, "A",
		    "firmware_get an image");
		SYSCTL_ADD_PROC(&kldtest_firmware_ctx, list, OID_AUTO,
		    "get_nowarn", CTLTYPE_STRING | CTLFLAG_RW | CTLFLAG_ANYBODY |
		    CTLFLAG_MPSAFE, NULL, 0, kldtest_firmware_nowarn_handler, "A",
		    "firmware_get_flags an image, FIRMWARE_GET_NOWARN");
		SYSCTL_ADD_PROC(&kldtest_firmware_ctx, list, OID_AUTO, "image",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_firmware_image_handler, "A", "the image got");
		SYSCTL_ADD_PROC(&kldtest_firmware_ctx, list, OID_AUTO, "put",
		    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_ANYBODY | CTLFLAG_MPSAFE,
		    NULL, 0, kldtest_firmware_put_handler, "I",
		    "firmware_put the image with these flags");
		break;
	case MOD_UNLOAD:
		error = sysctl_ctx_free(&kldtest_firmware_ctx);
		if (error != 0)
			break;
		if (kldtest_firmware_fw != NULL)
			firmware_put(kldtest_firmware_fw, FIRMWARE_UNLOAD);
		/* Also called after a failed MOD_LOAD. */
		if (kldtest_firmware_boot != NULL)
			firmware_put(kldtest_firmware_boot, 0);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t kldtest_firmware_mod = {
	"kldtest_firmware",
	kldtest_firmware_modevent,
	NULL
};

DECLARE_MODULE(kldtest_firmware, kldtest_firmware_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
MODULE_DEPEND(kldtest_firmware, firmware, 1, 1, 1);
