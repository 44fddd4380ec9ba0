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
 * Interface between harness.c and the Rust side of the test kernel.
 */

#ifndef HARNESS_H
#define	HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Where formatted output goes (harness_rs_output's kind). */
#define	HARNESS_OUT_CONSOLE	0	/* printf(9): the message buffer */
#define	HARNESS_OUT_TTY		1	/* uprintf(9): the process terminal */
#define	HARNESS_OUT_LOG		2	/* log(9): the message buffer */

/* sizeof(((struct cdev *)0)->si_name): SPECNAMELEN + 1. */
#define	HARNESS_NAMELEN		256

/* Implemented in Rust (harness/src/kernel/entry/printf.rs, devfs.rs). */
void	harness_rs_output(int kind, int level, const char *buf, size_t len);
void	harness_rs_panic(const char *msg, size_t len);
/* src/kernel/entry/newbus.rs: "name unit" NUL-terminated in buf, or -1. */
int	harness_rs_device_nameunit(void *dev, char *buf, size_t size);
int	harness_rs_make_dev_s(void *args, void **dres, const char *name,
	    int len);
int	harness_rs_make_dev_credv(int flags, void **dres, void *devsw,
	    int unit, void *cr, uint32_t uid, uint32_t gid, int mode,
	    const char *name, int len);

/*
 * A fault in module code, as the handler saw it (src/fault.rs has the same
 * layout).  kind and tag: the registered fault range the address is in
 * (kind 0: none).
 */
struct harness_fault {
	int		sig;
	int		kind;
	uint64_t	addr;
	uint64_t	rip;
	uint64_t	rsp;
	uint64_t	rbp;
	uint64_t	err;		/* page fault error code (PGEX_*) */
	uint64_t	rflags;
	uint64_t	tag;
	uint64_t	kern_sp;	/* harness_kern_sp: inside a call stub */
};

/* Implemented in harness.c. */
int	harness_call(uint64_t fn, const uint64_t *args, uint64_t *ret,
	    uintptr_t sp);
void	harness_kstack_set(uintptr_t lo, uintptr_t hi);
uintptr_t harness_kstack_resume(void);
void	harness_kstack_paint(uintptr_t lo, uintptr_t hi, uint64_t pat);
uintptr_t harness_kstack_lowest(uintptr_t lo, uintptr_t hi, uint64_t pat);
int	harness_in_call(void);
void	harness_install_fault_handler(void);
void	harness_take_fault(struct harness_fault *out);
int	harness_fault_range_add(uintptr_t start, size_t len, int kind,
	    uint64_t tag);
void	harness_fault_range_remove(int slot);
void	harness_escape(void) __attribute__((noreturn));
int	harness_kvformat(void (*put)(int, void *), void *arg, const char *fmt,
	    va_list ap);

#endif /* !HARNESS_H */
