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
 * The device kobj interface (DEVICE_PROBE(9), DEVICE_ATTACH(9), ...): what
 * sys/bus.h includes as "device_if.h".
 *
 * A FreeBSD build generates this header from sys/kern/device_if.m with
 * sys/tools/makeobjops.awk, and so does the project's build when SYSDIR
 * names a FreeBSD source tree.  The installed header tree the build uses
 * elsewhere has no interface files, so the project declares here what a
 * driver uses: for each method its descriptor (defined by the kernel), the
 * type of its implementations, and the inline call.  Names, types, default
 * methods and the dispatch are FreeBSD's (see kmod_kobj_if.h); the build
 * only adds this directory to the include path after the header tree, and
 * `cargo xtask ifcheck` compares every declaration here with the generated
 * header whenever a FreeBSD source tree is at hand.
 */

#ifndef _device_if_h_
#define	_device_if_h_

#include <sys/tslog.h>

#include "kmod_kobj_if.h"

/* Elect a driver: BUS_PROBE_* to bid, ENXIO if the device is not its own. */
extern struct kobjop_desc device_probe_desc;
typedef int device_probe_t(device_t dev);

static __inline int
DEVICE_PROBE(device_t dev)
{
	int rc;

	TSENTER2(device_get_name(dev));
	rc = _KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_probe)(dev);
	TSEXIT2(device_get_name(dev));
	return (rc);
}

/*
 * Add the devices a driver finds by itself to "parent".  A static method:
 * it is looked up in the driver class, not in a device.
 */
extern struct kobjop_desc device_identify_desc;
typedef void device_identify_t(driver_t *driver, device_t parent);

static __inline void
DEVICE_IDENTIFY(driver_t *driver, device_t parent)
{

	_KMOD_KOBJ_FUNC(driver->ops, device_identify)(driver, parent);
}

/* Take the device that the probe won. */
extern struct kobjop_desc device_attach_desc;
typedef int device_attach_t(device_t dev);

static __inline int
DEVICE_ATTACH(device_t dev)
{
	int rc;

	TSENTER2(device_get_name(dev));
	rc = _KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_attach)(dev);
	TSEXIT2(device_get_name(dev));
	return (rc);
}

/* Give the device up; an error vetoes the detach. */
extern struct kobjop_desc device_detach_desc;
typedef int device_detach_t(device_t dev);

static __inline int
DEVICE_DETACH(device_t dev)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_detach)(dev));
}

/* System shutdown.  Default: nothing, 0. */
extern struct kobjop_desc device_shutdown_desc;
typedef int device_shutdown_t(device_t dev);

static __inline int
DEVICE_SHUTDOWN(device_t dev)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_shutdown)(dev));
}

/* Suspend; an error vetoes it.  Default: nothing, 0. */
extern struct kobjop_desc device_suspend_desc;
typedef int device_suspend_t(device_t dev);

static __inline int
DEVICE_SUSPEND(device_t dev)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_suspend)(dev));
}

/* Resume after a suspend.  Default: nothing, 0. */
extern struct kobjop_desc device_resume_desc;
typedef int device_resume_t(device_t dev);

static __inline int
DEVICE_RESUME(device_t dev)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_resume)(dev));
}

/* Stop using the device before a detach may come.  Default: nothing, 0. */
extern struct kobjop_desc device_quiesce_desc;
typedef int device_quiesce_t(device_t dev);

static __inline int
DEVICE_QUIESCE(device_t dev)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_quiesce)(dev));
}

/* Driver-specific static state for handlers.  Default: NULL. */
extern struct kobjop_desc device_register_desc;
typedef void *device_register_t(device_t dev);

static __inline void *
DEVICE_REGISTER(device_t dev)
{

	return (_KMOD_KOBJ_FUNC(_KMOD_KOBJ_OPS(dev), device_register)(dev));
}

#endif /* !_device_if_h_ */
