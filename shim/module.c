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
 * Declares a Rust module to the kernel.
 *
 * This file is the same for every module: the build generates
 * "kmod_decl.h" from the declaration the module crate makes with
 * kern::module! (name, version, dependencies), so nothing is written twice.
 * It defines:
 *
 *	KMOD_NAME	the module name, an identifier (rustecho)
 *	KMOD_VERSION	MODULE_VERSION's version
 *	KMOD_DEPENDS(X)	X(name, min, pref, max) for each MODULE_DEPEND
 *
 * The kernel dependency (MODULE_DEPEND on "kernel") comes from
 * DECLARE_MODULE itself (sys/sys/module.h).
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/malloc.h>

#include "kmod_decl.h"

#define	KMOD_NAME_STR	__XSTRING(KMOD_NAME)

/* The event handler, defined by kern::module! in the module crate. */
int	kmod_modevent(module_t mod, int what, void *arg);

/*
 * A driver (kern::driver!, KMOD_DRIVER_BUS defined) is declared by
 * DRIVER_MODULE in newbus.c instead, whose handler is the kernel's
 * driver_module_handler(): this file only gives it its version, as a C
 * driver's MODULE_VERSION does.
 */

/* The module's own malloc type; kern's allocator uses it (vmstat -m). */
MALLOC_DEFINE(M_KMOD, KMOD_NAME_STR, "Rust kernel module " KMOD_NAME_STR);

#ifndef KMOD_DRIVER_BUS
static moduledata_t kmod_data = {
	KMOD_NAME_STR,
	kmod_modevent,
	NULL
};
#endif

/*
 * One level of indirection so that KMOD_NAME is expanded before
 * DECLARE_MODULE and friends paste it into identifiers.
 */
#define	KMOD_DECLARE(name)						\
	DECLARE_MODULE(name, kmod_data, SI_SUB_DRIVERS, SI_ORDER_MIDDLE)
#define	KMOD_DECLARE_VERSION(name, version)				\
	MODULE_VERSION(name, version)
#define	KMOD_DECLARE_DEPEND(name, dep, min, pref, max)			\
	MODULE_DEPEND(name, dep, min, pref, max)
#define	KMOD_DEPEND(dep, min, pref, max)				\
	KMOD_DECLARE_DEPEND(KMOD_NAME, dep, min, pref, max);

#ifndef KMOD_DRIVER_BUS
KMOD_DECLARE(KMOD_NAME);
#endif
KMOD_DECLARE_VERSION(KMOD_NAME, KMOD_VERSION);
KMOD_DEPENDS(KMOD_DEPEND)
