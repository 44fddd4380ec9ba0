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
 * The ioctl interface of rustecho(4), /dev/rustmodule, for C programs.
 * The Rust module defines the same commands (echo/src/ioctl.rs) and a test
 * checks that both agree.
 */

#ifndef _RUSTECHO_H_
#define	_RUSTECHO_H_

#include <sys/types.h>
#include <sys/ioccom.h>

/* What RUSTECHO_GETINFO returns. */
struct rustecho_info {
	uint64_t	ri_length;	/* bytes in the current message */
	uint64_t	ri_limit;	/* hw.rustecho.maxlen: longest write */
	uint64_t	ri_generation;	/* bumped by every write and clear */
};

/* Empty the message (a new generation with length 0). */
#define	RUSTECHO_CLEAR		_IO('E', 1)
/* Read the length, limit and generation of the current message. */
#define	RUSTECHO_GETINFO	_IOR('E', 2, struct rustecho_info)

#endif /* !_RUSTECHO_H_ */
