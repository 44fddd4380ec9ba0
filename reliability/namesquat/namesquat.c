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
 * namesquat: another module that takes the names a module wants, so that
 * the other module's load fails on them.  reliability/src/load.rs loads it
 * before rustecho.ko to make each of rustecho's load steps fail in turn:
 * the device name, the sysctl node, each sysctl leaf.
 *
 *	debug.namesquat_dev	writing NAME creates /dev/NAME (one at most)
 *	debug.namesquat_sysctl	writing NAME adds the int leaf hw.NAME;
 *				writing NODE.NAME adds (or shares) the node
 *				hw.NODE and adds the int leaf hw.NODE.NAME
 *
 * A name that is taken already fails the write with EEXIST.  Everything is
 * removed at unload.  The handlers are not MPSAFE: Giant serialises them.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/module.h>
#include <sys/sysctl.h>

#define	NAMESQUAT_LEN	64

static struct cdevsw namesquat_cdevsw = {
	.d_version =	D_VERSION,
	.d_name =	"namesquat",
};

static struct sysctl_ctx_list	namesquat_ctx;
static struct cdev		*namesquat_dev;
static int			 namesquat_value = 1;

static int
namesquat_add_leaf(struct sysctl_oid_list *parent, const char *name)
{
	struct sysctl_oid *leaf;

	leaf = SYSCTL_ADD_INT(&namesquat_ctx, parent, OID_AUTO, name,
	    CTLFLAG_RD, &namesquat_value, 0, "taken by namesquat");
	return (leaf == NULL ? EEXIST : 0);
}

static int
namesquat_take_sysctl(char *name)
{
	struct sysctl_oid *node;
	char *dot;

	for (dot = name; *dot != '\0' && *dot != '.'; dot++)
		;
	if (*dot == '\0')
		return (namesquat_add_leaf(SYSCTL_STATIC_CHILDREN(_hw), name));
	*dot = '\0';
	node = SYSCTL_ADD_NODE(&namesquat_ctx, SYSCTL_STATIC_CHILDREN(_hw),
	    OID_AUTO, name, CTLFLAG_RD | CTLFLAG_MPSAFE, NULL,
	    "taken by namesquat");
	if (node == NULL)
		return (EEXIST);
	return (namesquat_add_leaf(SYSCTL_CHILDREN(node), dot + 1));
}

static int
namesquat_take_dev(const char *name)
{
	struct make_dev_args args;

	if (namesquat_dev != NULL)
		return (EBUSY);
	make_dev_args_init(&args);
	args.mda_flags = MAKEDEV_WAITOK | MAKEDEV_CHECKNAME;
	args.mda_devsw = &namesquat_cdevsw;
	args.mda_uid = UID_ROOT;
	args.mda_gid = GID_WHEEL;
	args.mda_mode = 0600;
	return (make_dev_s(&args, &namesquat_dev, "%s", name));
}

static int
namesquat_handler(SYSCTL_HANDLER_ARGS)
{
	char name[NAMESQUAT_LEN];
	int error;

	name[0] = '\0';
	error = sysctl_handle_string(oidp, name, sizeof(name), req);
	if (error != 0 || req->newptr == NULL || name[0] == '\0')
		return (error);
	if (arg2 == 0)
		return (namesquat_take_dev(name));
	return (namesquat_take_sysctl(name));
}

SYSCTL_PROC(_debug, OID_AUTO, namesquat_dev, CTLTYPE_STRING | CTLFLAG_RW,
    NULL, 0, namesquat_handler, "A", "create /dev/NAME");
SYSCTL_PROC(_debug, OID_AUTO, namesquat_sysctl, CTLTYPE_STRING | CTLFLAG_RW,
    NULL, 1, namesquat_handler, "A", "add hw.NAME or hw.NODE.NAME");

static int
namesquat_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		sysctl_ctx_init(&namesquat_ctx);
		break;
	case MOD_UNLOAD:
		if (namesquat_dev != NULL) {
			destroy_dev(namesquat_dev);
			namesquat_dev = NULL;
		}
		error = sysctl_ctx_free(&namesquat_ctx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

static moduledata_t namesquat_mod = {
	"namesquat",
	namesquat_modevent,
	NULL
};

DECLARE_MODULE(namesquat, namesquat_mod, SI_SUB_DRIVERS, SI_ORDER_MIDDLE);
