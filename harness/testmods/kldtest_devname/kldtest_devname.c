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
 * Device numbers and names: two devices, /dev/kldtest_dn0 and
 * /dev/kldtest_dn1.  debug.kldtest_devname.udev returns dev2udev() of
 * each and of NULL (three dev_t); "names" their devtoname(); writing 1
 * to "remake" destroys the first device and makes /dev/kldtest_dn2 in
 * its place.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/module.h>
#include <sys/sysctl.h>

static struct cdevsw kldtest_devname_cdevsw = {
	.d_version =	D_VERSION,
	.d_name =	"kldtest_devname",
};

static struct sysctl_ctx_list	kldtest_devname_ctx;
static struct cdev		*kldtest_devname_dev[2];

static int
kldtest_devname_udev_handler(SYSCTL_HANDLER_ARGS)
{
	dev_t udev[3];

	udev[0] = dev2udev(kldtest_devname_dev[0]);
	udev[1] = dev2udev(kldtest_devname_dev[1]);
	udev[2] = dev2udev(NULL);
	return (SYSCTL_OUT(req, udev, sizeof(udev)));
}

static int
kldtest_devname_names_handler(SYSCTL_HANDLER_ARGS)
{
	char out[64];

	snprintf(out, sizeof(out), "%s %s",
	    devtoname(kldtest_devname_dev[0]),
	    devtoname(kldtest_devname_dev[1]));
	return (sysctl_handle_string(oidp, out, sizeof(out), req));
}

static int
kldtest_devname_remake_handler(SYSCTL_HANDLER_ARGS)
{
	int error, v;

	v = 0;
	error = sysctl_handle_int(oidp, &v, 0, req);
	if (error != 0 || req->newptr == NULL)
		return (error);
	destroy_dev(kldtest_devname_dev[0]);
	kldtest_devname_dev[0] = make_dev(&kldtest_devname_cdevsw, 2,
	    UID_ROOT, GID_WHEEL, 0600, "kldtest_dn%d", 2);
	return (0);
}

static int
kldtest_devname_modevent(module_t mod __unused, int what, void *arg __unused)
{
	struct sysctl_oid *node;
	struct sysctl_oid_list *list;
	int error, i;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		for (i = 0; i < 2; i++)
			kldtest_devname_dev[i] = make_dev(&kldtest_devname_cdevsw,
			    i, UID_ROOT, GID_WHEEL, 0600, "kldtest_dn%d", i);
		sysctl_ctx_init(&kldtest_devname_ctx);
		node = SYSCTL_ADD_NODE(&kldtest_devname_ctx,
		    SYSCTL_STATIC_CHILDREN(_debug), OID_AUTO, "kldtest_devname",
		    CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, "device names");
		if (node == NULL) {
			for (i = 0; i < 2; i++)
				destroy_dev(kldtest_devname_dev[i]);
			error = ENOMEM;
			break;
		}
		list = SYSCTL_CHILDREN(node);
		SYSCTL_ADD_PROC(&kldtest_devname_ctx, list, OID_AUTO, "udev",
		    CTLTYPE_OPAQUE | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_devname_udev_handler, "S", "dev2udev of each");
		SYSCTL_ADD_PROC(&kldtest_devname_ctx, list, OID_AUTO, "names",
		    CTLTYPE_STRING | CTLFLAG_RD | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_devname_names_handler, "A", "devtoname of each");
		SYSCTL_ADD_PROC(&kldtest_devname_ctx, list, OID_AUTO, "remake",
		    CTLTYPE_INT | CTLFLAG_RW | CTLFLAG_MPSAFE, NULL, 0,
		    kldtest_devname_remake_handler, "I",
		    "replace the first device");
		break;
	case MOD_UNLOAD:
		error = sysctl_ctx_free(&kldtest_devname_ctx);
		if (error != 0)
			break;
		for (i = 0; i < 2; i++)
			destroy_dev(kldtest_devname_dev[i]);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t kldtest_devname_mod = {
	"kldtest_devname",
	kldtest_devname_modevent,
	NULL
};

DECLARE_MODULE(kldtest_devname, kldtest_devname_mod, SI_SUB_DRIVERS,
    SI_ORDER_MIDDLE);
