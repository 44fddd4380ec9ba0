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
 * Kernel stacks: module code runs on a kernel-sized stack of its thread
 * (src/thread/kstack.rs), the harness's own functions on the host
 * thread's stack.
 *
 * harness_run_on(fn, args, sp) calls fn(args[0..6]) with %rsp = sp and
 * comes back to the host stack; it records in harness_host_sp where the
 * host stack stopped, for the emulated functions the module calls.
 *
 * harness_kstub is where every call stub of an emulated kernel function
 * goes ("movabs $fn, %r11; jmp harness_kstub", src/kernel/entry.rs).  On
 * the kernel stack it switches to the host stack below harness_host_sp,
 * copies HARNESS_KSTUB_ARGS words of the caller's stack arguments there
 * (for functions with more than six arguments and the variadic ones;
 * %al, the variadic vector count, is kept), calls fn and switches back.
 * While fn runs, harness_kern_sp says where the kernel stack stopped, so
 * that a call back into module code (a sysctl handler, a drain, another
 * module's MOD_LOAD) continues below it.  Called from anywhere else (the
 * harness calling a stub directly), it simply jumps to fn.
 *
 * The thread-local words are C's (csrc/harness.c), reached with the
 * initial-exec TLS model.
 */

#define	HARNESS_KSTUB_ARGS	32

	.text

/* uint64_t harness_run_on(uint64_t fn, const uint64_t *args, uintptr_t sp) */
	.globl	harness_run_on
	.type	harness_run_on, @function
harness_run_on:
	pushq	%rbp
	movq	%rsp, %rbp
	pushq	%rbx
	pushq	%r12
	movq	harness_host_sp@GOTTPOFF(%rip), %rax
	movq	%fs:(%rax), %r12		/* the outer entry's, restored below */
	movq	%rsp, %fs:(%rax)		/* emulated functions run below here */
	movq	%rdi, %r11
	movq	%rsi, %rbx
	andq	$-16, %rdx
	movq	%rdx, %rsp			/* on the kernel stack */
	movq	0(%rbx), %rdi
	movq	8(%rbx), %rsi
	movq	16(%rbx), %rdx
	movq	24(%rbx), %rcx
	movq	32(%rbx), %r8
	movq	40(%rbx), %r9
	xorl	%eax, %eax
	callq	*%r11
	leaq	-16(%rbp), %rsp			/* back on the host stack */
	movq	harness_host_sp@GOTTPOFF(%rip), %rcx
	movq	%r12, %fs:(%rcx)
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	harness_run_on, . - harness_run_on

/* The common part of the call stubs: %r11 is the emulated function. */
	.globl	harness_kstub
	.type	harness_kstub, @function
harness_kstub:
	movq	harness_kstack_lo@GOTTPOFF(%rip), %r10
	cmpq	%fs:(%r10), %rsp
	jb	9f				/* not on this thread's kernel stack */
	movq	harness_kstack_hi@GOTTPOFF(%rip), %r10
	cmpq	%fs:(%r10), %rsp
	jae	9f
	pushq	%rbx
	pushq	%r12
	pushq	%rax				/* %al: vector registers used */
	movq	%rsp, %rbx			/* the stack arguments: 32(%rbx) */
	movq	harness_kern_sp@GOTTPOFF(%rip), %r10
	movq	%fs:(%r10), %r12		/* the outer stub's, restored below */
	movq	%rbx, %fs:(%r10)		/* nested entries run below here */
	movq	harness_host_sp@GOTTPOFF(%rip), %r10
	movq	%fs:(%r10), %r10
	andq	$-16, %r10
	subq	$(HARNESS_KSTUB_ARGS * 8), %r10
	movq	%r10, %rsp			/* on the host stack */
	xorl	%r10d, %r10d
1:	movq	32(%rbx,%r10,8), %rax
	movq	%rax, (%rsp,%r10,8)
	incq	%r10
	cmpq	$HARNESS_KSTUB_ARGS, %r10
	jb	1b
	movq	(%rbx), %rax
	callq	*%r11
	movq	%rbx, %rsp			/* back on the kernel stack */
	movq	harness_kern_sp@GOTTPOFF(%rip), %rcx
	movq	%r12, %fs:(%rcx)
	addq	$8, %rsp
	popq	%r12
	popq	%rbx
	ret
9:	jmp	*%r11
	.size	harness_kstub, . - harness_kstub

	.section .note.GNU-stack, "", @progbits
