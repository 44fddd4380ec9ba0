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
 * How a kobj interface method is called, shared by the project's own
 * device_if.h, bus_if.h and pci_if.h (see device_if.h for why they exist).
 *
 * A kobj object (a device_t is one) starts with a pointer to its class's
 * compiled ops: a cache of KOBJ_CACHE_SIZE method pointers followed by the
 * class (sys/kobj.h).  A method is named by a descriptor, struct kobjop_desc
 * "m_desc", defined in the kernel; its id selects a cache slot.  The inline
 * calls below find the function exactly as the kernel's generated
 * interface headers do, with KOBJOPLOOKUP from sys/kobj.h: the slot is used
 * when it holds this descriptor, otherwise kobj_lookup_method() searches
 * the class and its base classes, fills the slot and returns the method or
 * the descriptor's default.  So a module built with these headers makes
 * the same loads and the same calls as one built with the generated ones.
 */

#ifndef _KMOD_KOBJ_IF_H_
#define	_KMOD_KOBJ_IF_H_

#include <sys/kobj.h>

/* The compiled ops of kobj object "obj" (a device_t, for instance). */
#define	_KMOD_KOBJ_OPS(obj)	(((kobj_t)(obj))->ops)

/*
 * The function implementing method "m" (descriptor m_desc, type m_t) in the
 * ops "ops", as a pointer to m_t.
 */
#define	_KMOD_KOBJ_FUNC(ops, m) __extension__ ({			\
	kobjop_t _m;							\
									\
	KOBJOPLOOKUP((ops), m);						\
	(m##_t *)_m;							\
})

#endif /* !_KMOD_KOBJ_IF_H_ */
