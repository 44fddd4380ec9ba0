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
 * The va_list and variadic entry points of the library routines and
 * sbuf(9) that third-party modules use: vsnprintf(9), sbuf_printf(9) and
 * sbuf_vprintf(9).  They share harness.c's printf(9) formatter
 * (harness_kvformat, kvprintf's conversions).
 *
 * Semantics follow sys/kern/subr_prf.c (vsnprintf, snprintf_func) and
 * sys/kern/subr_sbuf.c (sbuf_vprintf, sbuf_putc_func); the sbuf itself
 * is kept by the Rust side (harness/src/kpi/sbuf.rs), which appends each
 * character and runs the INVARIANTS checks.  The code is written for the
 * harness, not copied.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* Implemented in Rust (harness/src/kernel/entry/sbuf.rs). */
int	harness_rs_sbuf_vprintf_begin(void *s, const char *fmt);
void	harness_rs_sbuf_put_byte(void *s, int c);
int	harness_rs_sbuf_status(void *s);

int	harness_kern_vsnprintf(char *str, size_t size, const char *fmt,
	    va_list ap);
int	harness_kern_sbuf_vprintf(void *s, const char *fmt, va_list ap);
int	harness_kern_sbuf_printf(void *s, const char *fmt, ...);

/* The state of vsnprintf(9): where the next byte goes, room left. */
struct snprintf_arg {
	char	*str;
	size_t	 remain;
};

/* snprintf_func: stores while two bytes are left, keeping one for NUL. */
static void
snprintf_put(int ch, void *arg)
{
	struct snprintf_arg *info;

	info = arg;
	if (info->remain >= 2) {
		*info->str++ = (char)ch;
		info->remain--;
	}
}

/*
 * vsnprintf(9): formats into str, truncated and NUL-terminated when size
 * is at least 1; returns the length of the whole output.
 */
int
harness_kern_vsnprintf(char *str, size_t size, const char *fmt, va_list ap)
{
	struct snprintf_arg info;
	va_list aq;
	int retval;

	info.str = str;
	info.remain = size;
	va_copy(aq, ap);
	retval = harness_kvformat(snprintf_put, &info, fmt, aq);
	va_end(aq);
	if (info.remain >= 1)
		*info.str++ = '\0';
	return (retval);
}

/* sbuf_putc_func: every character but NUL goes through sbuf_put_byte. */
static void
sbuf_put(int c, void *arg)
{

	if (c != '\0')
		harness_rs_sbuf_put_byte(arg, c);
}

/*
 * sbuf_vprintf(9): the INVARIANTS checks (a failure is a panic, recorded
 * by the Rust side; leave module code), then one byte at a time.
 */
int
harness_kern_sbuf_vprintf(void *s, const char *fmt, va_list ap)
{
	va_list aq;

	if (harness_rs_sbuf_vprintf_begin(s, fmt) != 0)
		harness_escape();
	va_copy(aq, ap);
	(void)harness_kvformat(sbuf_put, s, fmt, aq);
	va_end(aq);
	return (harness_rs_sbuf_status(s));
}

/* sbuf_printf(9) */
int
harness_kern_sbuf_printf(void *s, const char *fmt, ...)
{
	va_list ap;
	int result;

	va_start(ap, fmt);
	result = harness_kern_sbuf_vprintf(s, fmt, ap);
	va_end(ap);
	return (result);
}
