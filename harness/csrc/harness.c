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
 * The parts of the test kernel that stable Rust cannot write: the
 * C-variadic kernel entry points (printf(9), uprintf(9), log(9),
 * snprintf(9), vprintf(9), panic(9), make_dev(9), make_dev_p(9),
 * make_dev_s(9)), a formatter for printf(9)'s format language (which
 * glibc's vsnprintf does not speak: %b, %D, %r), and the trampoline that
 * every call into module code goes through, so that panic(9) can escape
 * from module code with longjmp.
 *
 * Semantics follow sys/kern/subr_prf.c (kvprintf, log, uprintf),
 * sys/kern/kern_conf.c (make_dev*) and sys/kern/kern_shutdown.c (panic);
 * the code is written for the harness, not copied.
 *
 * None of these functions is exported under a kernel name: the loader maps
 * kernel names to them (harness/src/kernel/entry.rs), so they cannot
 * collide with the host C library.
 */

#define	_GNU_SOURCE	/* REG_RIP, REG_ERR in <ucontext.h> */

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "harness.h"

/* The trampoline. */

struct harness_frame {
	jmp_buf			 jb;
	struct harness_frame	*prev;
	uintptr_t		 host_sp;	/* the words below, on entry */
	uintptr_t		 kern_sp;
};

/* Innermost active call into module code on this thread. */
static __thread struct harness_frame *harness_top;

/*
 * This thread's kernel stack and where each stack stopped (csrc/kstack.S
 * uses them; a longjmp out of module code puts back the values of the
 * call it lands in).
 */
__thread uintptr_t harness_kstack_lo;	/* guard start */
__thread uintptr_t harness_kstack_hi;	/* top */
__thread uintptr_t harness_host_sp;	/* host sp of the innermost entry */
__thread uintptr_t harness_kern_sp;	/* kernel sp of the innermost stub */

uint64_t	harness_run_on(uint64_t fn, const uint64_t *args, uintptr_t sp);

void
harness_kstack_set(uintptr_t lo, uintptr_t hi)
{

	harness_kstack_lo = lo;
	harness_kstack_hi = hi;
}

uintptr_t
harness_kstack_resume(void)
{

	return (harness_kern_sp);
}

/* Fills the words of [lo, hi) with pat (src/thread/kstack.rs). */
void
harness_kstack_paint(uintptr_t lo, uintptr_t hi, uint64_t pat)
{
	volatile uint64_t *p;

	for (p = (volatile uint64_t *)lo; (uintptr_t)p < hi; p++)
		*p = pat;
}

/* The lowest word of [lo, hi) that is not pat; hi if none. */
uintptr_t
harness_kstack_lowest(uintptr_t lo, uintptr_t hi, uint64_t pat)
{
	volatile const uint64_t *p;

	for (p = (volatile const uint64_t *)lo; (uintptr_t)p < hi; p++)
		if (*p != pat)
			return ((uintptr_t)p);
	return (hi);
}

/*
 * The fault dispatcher.  A fault in module code (a page fault, an illegal
 * instruction) is a kernel panic, not the end of the test process: the
 * handler records what the CPU would have reported (the address, the
 * instruction and stack pointers, the page fault error code) and which
 * registered fault range the address falls in, then unwinds to the
 * innermost trampoline, which returns 2; the Rust side (src/fault.rs,
 * src/thread.rs) turns the record into FreeBSD's report.  Faults outside
 * module code go to the handler that was there before (Rust's stack
 * overflow check, or the default action).
 *
 * Fault ranges are regions the harness maps PROT_NONE on purpose (the
 * module's view of user memory, kernel stack guards): a fault there says
 * what the module did wrong.  The table is read by the signal handler
 * without locks: a slot is published by storing its end last.
 */
#define	HARNESS_NRANGES	1024

struct harness_range {
	_Atomic uintptr_t	start;
	_Atomic uintptr_t	end;		/* 0: free slot */
	_Atomic int		kind;
	_Atomic uint64_t	tag;
};

static struct harness_range harness_ranges[HARNESS_NRANGES];
static pthread_mutex_t harness_ranges_mtx = PTHREAD_MUTEX_INITIALIZER;

static struct sigaction harness_prev[32];
static pthread_once_t harness_fault_once = PTHREAD_ONCE_INIT;
static __thread struct harness_fault harness_last_fault;

int
harness_fault_range_add(uintptr_t start, size_t len, int kind, uint64_t tag)
{
	struct harness_range *r;
	int i;

	if (len == 0)
		return (-1);
	pthread_mutex_lock(&harness_ranges_mtx);
	for (i = 0; i < HARNESS_NRANGES; i++) {
		r = &harness_ranges[i];
		if (atomic_load(&r->end) != 0)
			continue;
		atomic_store(&r->start, start);
		atomic_store(&r->kind, kind);
		atomic_store(&r->tag, tag);
		atomic_store(&r->end, start + len);
		pthread_mutex_unlock(&harness_ranges_mtx);
		return (i);
	}
	pthread_mutex_unlock(&harness_ranges_mtx);
	return (-1);
}

void
harness_fault_range_remove(int slot)
{

	if (slot < 0 || slot >= HARNESS_NRANGES)
		return;
	pthread_mutex_lock(&harness_ranges_mtx);
	atomic_store(&harness_ranges[slot].end, 0);
	pthread_mutex_unlock(&harness_ranges_mtx);
}

/* The registered range holding addr: its kind and tag (kind 0: none). */
static void
harness_fault_lookup(uintptr_t addr, int *kind, uint64_t *tag)
{
	struct harness_range *r;
	uintptr_t end;
	int i;

	*kind = 0;
	*tag = 0;
	for (i = 0; i < HARNESS_NRANGES; i++) {
		r = &harness_ranges[i];
		end = atomic_load(&r->end);
		if (end == 0 || addr < atomic_load(&r->start) || addr >= end)
			continue;
		*kind = atomic_load(&r->kind);
		*tag = atomic_load(&r->tag);
		return;
	}
}

/*
 * Emulates an access to a device's MMIO window (fault kind 3), in Rust
 * (src/fault/mmio.rs): decodes the instruction at gregs[REG_RIP], performs
 * the access on the device model, updates the destination register.
 * Returns the instruction's length, or 0 if the access is a violation
 * (then the fault is fatal, as an access the bus does not decode is).
 */
size_t	harness_mmio_emulate(uint64_t tag, uint64_t addr, int64_t *gregs);

#define	HARNESS_FAULT_MMIO	3

static void
harness_fault(int sig, siginfo_t *si, void *ucv)
{
	struct harness_frame *f;
	struct harness_fault *rec;
	ucontext_t *uc;
	sigset_t set;

	f = harness_top;
	if (f == NULL || sig < 0 || sig >= 32) {
		/* Not ours: let the previous handler see the fault again. */
		sigaction(sig, &harness_prev[sig], NULL);
		return;
	}
	uc = ucv;
	rec = &harness_last_fault;
	rec->sig = sig;
	rec->addr = (uint64_t)(uintptr_t)si->si_addr;
	rec->rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	rec->rsp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
	rec->rbp = (uint64_t)uc->uc_mcontext.gregs[REG_RBP];
	rec->err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
	rec->rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
	harness_fault_lookup((uintptr_t)si->si_addr, &rec->kind, &rec->tag);
	rec->kern_sp = harness_kern_sp;
	if (sig == SIGSEGV && rec->kind == HARNESS_FAULT_MMIO) {
		size_t len;

		/*
		 * A synchronous fault in module code, which holds no host
		 * lock and is not inside libc: the emulation may lock the
		 * device model and resume the instruction stream after the
		 * access, as a bus would complete it.
		 */
		len = harness_mmio_emulate(rec->tag, rec->addr,
		    (int64_t *)uc->uc_mcontext.gregs);
		if (len != 0) {
			uc->uc_mcontext.gregs[REG_RIP] += (greg_t)len;
			memset(rec, 0, sizeof(*rec));
			return;
		}
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	longjmp(f->jb, 2);
}

static void
harness_install(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = harness_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &harness_prev[sigs[i]]);
}

void
harness_install_fault_handler(void)
{

	pthread_once(&harness_fault_once, harness_install);
}

/* This thread's last fault in module code, taken (sig 0 if none). */
void
harness_take_fault(struct harness_fault *out)
{

	*out = harness_last_fault;
	memset(&harness_last_fault, 0, sizeof(harness_last_fault));
}

int
harness_call(uint64_t fn, const uint64_t *args, uint64_t *ret, uintptr_t sp)
{
	struct harness_frame f;
	uint64_t (*func)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
	    uint64_t);
	int r;

	func = (uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
	    uint64_t))(uintptr_t)fn;
	f.prev = harness_top;
	f.host_sp = harness_host_sp;
	f.kern_sp = harness_kern_sp;
	harness_top = &f;
	r = setjmp(f.jb);
	if (r != 0) {
		/* 2: a fault in module code; 1: panic(9) or a dead kernel. */
		harness_top = f.prev;
		harness_host_sp = f.host_sp;
		harness_kern_sp = f.kern_sp;
		return (r == 2 ? 2 : 1);
	}
	if (sp != 0)
		*ret = harness_run_on(fn, args, sp);
	else
		*ret = func(args[0], args[1], args[2], args[3], args[4],
		    args[5]);
	harness_top = f.prev;
	return (0);
}

int
harness_in_call(void)
{

	return (harness_top != NULL);
}

void
harness_escape(void)
{
	struct harness_frame *f;

	f = harness_top;
	if (f == NULL)
		abort();
	longjmp(f->jb, 1);
}

/* A growable output buffer for the formatter. */

struct sink {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 oom;
	char	 small[512];
};

static void
sink_init(struct sink *s)
{

	s->buf = s->small;
	s->len = 0;
	s->cap = sizeof(s->small);
	s->oom = 0;
}

static void
sink_put(int c, void *arg)
{
	struct sink *s;
	char *nbuf;
	size_t ncap;

	s = arg;
	if (s->len + 1 >= s->cap) {
		ncap = s->cap * 2;
		if (s->buf == s->small) {
			nbuf = malloc(ncap);
			if (nbuf != NULL)
				memcpy(nbuf, s->small, s->len);
		} else
			nbuf = realloc(s->buf, ncap);
		if (nbuf == NULL) {
			s->oom = 1;
			return;
		}
		s->buf = nbuf;
		s->cap = ncap;
	}
	s->buf[s->len++] = (char)c;
	s->buf[s->len] = '\0';
}

static void
sink_fini(struct sink *s)
{

	if (s->buf != s->small)
		free(s->buf);
}

/* A fixed buffer, for snprintf(9). */

struct fixed {
	char	*buf;
	size_t	 size;
	size_t	 len;
};

static void
fixed_put(int c, void *arg)
{
	struct fixed *f;

	f = arg;
	if (f->size > 0 && f->len + 1 < f->size)
		f->buf[f->len] = (char)c;
	f->len++;
}

/* The formatter: printf(9)'s conversions. */

static const char hexdigits[] = "0123456789abcdef";
static const char hexdigits_upper[] = "0123456789ABCDEF";

/*
 * Writes the digits of num in base into nbuf (least significant first);
 * returns the number of digits.
 */
static int
digits(char *nbuf, uintmax_t num, int base, int upper)
{
	const char *d;
	int n;

	d = upper ? hexdigits_upper : hexdigits;
	n = 0;
	do {
		nbuf[n++] = d[num % (uintmax_t)base];
		num /= (uintmax_t)base;
	} while (num != 0);
	return (n);
}

int
harness_kvformat(void (*put)(int, void *), void *arg, const char *fmt,
    va_list ap)
{
	char nbuf[sizeof(uintmax_t) * 8 + 1];
	const char *p, *q, *percent;
	const unsigned char *up;
	uintmax_t num;
	int base, bit, c, cflag, dot, dwidth, hflag, jflag, ladjust, lflag;
	int n, neg, padc, plus, qflag, retval, sharpflag, sign, space, tflag;
	int tmp, upper, width, zflag, any;

	retval = 0;
#define	PCHAR(ch)	do { put((ch), arg); retval++; } while (0)
	if (fmt == NULL)
		fmt = "(fmt null)\n";
	for (;;) {
		while ((c = (unsigned char)*fmt++) != '%') {
			if (c == '\0')
				return (retval);
			PCHAR(c);
		}
		percent = fmt - 1;
		width = 0;
		dwidth = 0;
		dot = 0;
		ladjust = 0;
		sharpflag = 0;
		plus = 0;
		space = 0;
		padc = ' ';
		neg = 0;
		sign = 0;
		upper = 0;
		cflag = hflag = jflag = lflag = qflag = tflag = zflag = 0;
reswitch:
		switch (c = (unsigned char)*fmt++) {
		case '.':
			dot = 1;
			goto reswitch;
		case '#':
			sharpflag = 1;
			goto reswitch;
		case '+':
			plus = 1;
			goto reswitch;
		case ' ':
			space = 1;
			goto reswitch;
		case '-':
			ladjust = 1;
			goto reswitch;
		case '%':
			PCHAR(c);
			break;
		case '*':
			if (!dot) {
				width = va_arg(ap, int);
				if (width < 0) {
					ladjust = !ladjust;
					width = -width;
				}
			} else
				dwidth = va_arg(ap, int);
			goto reswitch;
		case '0':
			if (!dot) {
				padc = '0';
				goto reswitch;
			}
			/* FALLTHROUGH */
		case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			for (n = 0;; ++fmt) {
				n = n * 10 + c - '0';
				c = (unsigned char)*fmt;
				if (c < '0' || c > '9')
					break;
			}
			if (dot)
				dwidth = n;
			else
				width = n;
			goto reswitch;
		case 'b':
			/* Bit field: value, then "\base\bitNAME..." */
			num = (unsigned int)va_arg(ap, int);
			p = va_arg(ap, const char *);
			base = (unsigned char)*p++;
			if (base != 8 && base != 10 && base != 16)
				base = 16;
			n = digits(nbuf, num, base, 0);
			while (n > 0)
				PCHAR(nbuf[--n]);
			if (num == 0)
				break;
			any = 0;
			while (*p != '\0') {
				bit = (unsigned char)*p++;
				if (bit >= 1 && bit <= 32 &&
				    (num & (1UL << (bit - 1))) != 0) {
					PCHAR(any ? ',' : '<');
					for (; (unsigned char)*p > ' '; ++p)
						PCHAR((unsigned char)*p);
					any = 1;
				} else
					for (; (unsigned char)*p > ' '; ++p)
						continue;
			}
			if (any)
				PCHAR('>');
			break;
		case 'c':
			width--;
			if (!ladjust)
				while (width-- > 0)
					PCHAR(padc);
			PCHAR(va_arg(ap, int) & 0xff);
			if (ladjust)
				while (width-- > 0)
					PCHAR(padc);
			break;
		case 'D':
			/* Hex dump: pointer, separator; width bytes (16). */
			up = va_arg(ap, const unsigned char *);
			p = va_arg(ap, const char *);
			if (width == 0)
				width = 16;
			while (width-- > 0) {
				PCHAR(hexdigits[*up >> 4]);
				PCHAR(hexdigits[*up & 0x0f]);
				up++;
				if (width > 0)
					for (q = p; *q != '\0'; q++)
						PCHAR((unsigned char)*q);
			}
			break;
		case 'd':
		case 'i':
			base = 10;
			sign = 1;
			goto handle_sign;
		case 'h':
			if (hflag) {
				hflag = 0;
				cflag = 1;
			} else
				hflag = 1;
			goto reswitch;
		case 'j':
			jflag = 1;
			goto reswitch;
		case 'l':
			if (lflag) {
				lflag = 0;
				qflag = 1;
			} else
				lflag = 1;
			goto reswitch;
		case 'o':
			base = 8;
			goto handle_nosign;
		case 'p':
			base = 16;
			sharpflag = (width == 0);
			sign = 0;
			num = (uintptr_t)va_arg(ap, void *);
			goto number;
		case 'q':
			qflag = 1;
			goto reswitch;
		case 'r':
			/* The current radix: 10 for printf(9). */
			base = 10;
			if (plus) {
				sign = 1;
				goto handle_sign;
			}
			goto handle_nosign;
		case 's':
			p = va_arg(ap, const char *);
			if (p == NULL)
				p = "(null)";
			if (!dot)
				n = (int)strlen(p);
			else
				for (n = 0; n < dwidth && p[n] != '\0'; n++)
					continue;
			width -= n;
			if (!ladjust && width > 0)
				while (width-- > 0)
					PCHAR(padc);
			while (n-- > 0)
				PCHAR((unsigned char)*p++);
			if (ladjust && width > 0)
				while (width-- > 0)
					PCHAR(padc);
			break;
		case 't':
			tflag = 1;
			goto reswitch;
		case 'u':
			base = 10;
			goto handle_nosign;
		case 'X':
			upper = 1;
			/* FALLTHROUGH */
		case 'x':
			base = 16;
			goto handle_nosign;
		case 'y':
			base = 16;
			sign = 1;
			goto handle_sign;
		case 'z':
			zflag = 1;
			goto reswitch;
handle_nosign:
			sign = 0;
			if (jflag)
				num = va_arg(ap, uintmax_t);
			else if (qflag)
				num = va_arg(ap, unsigned long long);
			else if (tflag)
				num = (uintmax_t)va_arg(ap, ptrdiff_t);
			else if (lflag)
				num = va_arg(ap, unsigned long);
			else if (zflag)
				num = va_arg(ap, size_t);
			else if (hflag)
				num = (unsigned short)va_arg(ap, int);
			else if (cflag)
				num = (unsigned char)va_arg(ap, int);
			else
				num = va_arg(ap, unsigned int);
			goto number;
handle_sign:
			if (jflag)
				num = (uintmax_t)va_arg(ap, intmax_t);
			else if (qflag)
				num = (uintmax_t)va_arg(ap, long long);
			else if (tflag)
				num = (uintmax_t)va_arg(ap, ptrdiff_t);
			else if (lflag)
				num = (uintmax_t)va_arg(ap, long);
			else if (zflag)
				num = (uintmax_t)va_arg(ap, ptrdiff_t);
			else if (hflag)
				num = (uintmax_t)(short)va_arg(ap, int);
			else if (cflag)
				num = (uintmax_t)(signed char)va_arg(ap, int);
			else
				num = (uintmax_t)va_arg(ap, int);
number:
			if (sign && (intmax_t)num < 0) {
				neg = 1;
				num = -num;
			}
			n = digits(nbuf, num, base, upper);
			tmp = 0;
			if (sharpflag && num != 0) {
				if (base == 8)
					tmp++;
				else if (base == 16)
					tmp += 2;
			}
			if (neg || (sign && (plus || space)))
				tmp++;
			if (!ladjust && padc == '0')
				dwidth = width - tmp;
			width -= tmp + (dwidth > n ? dwidth : n);
			dwidth -= n;
			if (!ladjust)
				while (width-- > 0)
					PCHAR(' ');
			if (neg)
				PCHAR('-');
			else if (sign && plus)
				PCHAR('+');
			else if (sign && space)
				PCHAR(' ');
			if (sharpflag && num != 0) {
				if (base == 8)
					PCHAR('0');
				else if (base == 16) {
					PCHAR('0');
					PCHAR('x');
				}
			}
			while (dwidth-- > 0)
				PCHAR('0');
			while (n > 0)
				PCHAR(nbuf[--n]);
			if (ladjust)
				while (width-- > 0)
					PCHAR(' ');
			break;
		default:
			/* Unknown conversion: the rest is printed as is. */
			while (percent < fmt)
				PCHAR((unsigned char)*percent++);
			while ((c = (unsigned char)*fmt++) != '\0')
				PCHAR(c);
			return (retval);
		}
	}
#undef PCHAR
}

/* Formats into a malloc'ed or small buffer and hands it to Rust. */
static int
emit(int kind, int level, const char *fmt, va_list ap)
{
	struct sink s;
	int n;

	sink_init(&s);
	n = harness_kvformat(sink_put, &s, fmt, ap);
	harness_rs_output(kind, level, s.buf, s.len);
	sink_fini(&s);
	return (n);
}

/*
 * Formats into buf with vsnprintf(3)'s semantics: truncated and
 * NUL-terminated when size > 0; returns the length of the whole output.
 */
static int
fixed_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fixed f;
	int n;

	f.buf = buf;
	f.size = size;
	f.len = 0;
	n = harness_kvformat(fixed_put, &f, fmt, ap);
	if (size > 0)
		buf[f.len < size ? f.len : size - 1] = '\0';
	return (n);
}

/* printf(9) */
int
harness_kern_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = emit(HARNESS_OUT_CONSOLE, -1, fmt, ap);
	va_end(ap);
	return (n);
}

/*
 * device_printf(9): the device's name and unit and ": " ("unknown: " for a
 * device without a driver), then the message, as one console write
 * (sys/kern/subr_bus.c, device_printf, FreeBSD 15: an sbuf that drains to
 * the console, so nothing is cut).  Returns the characters printed.
 */
int
harness_kern_device_printf(void *dev, const char *fmt, ...)
{
	char name[HARNESS_NAMELEN];
	const char *p;
	struct sink s;
	va_list ap;
	int n, len;

	len = harness_rs_device_nameunit(dev, name, sizeof(name));
	sink_init(&s);
	p = len < 0 ? "unknown" : name;
	for (n = 0; p[n] != '\0'; n++)
		sink_put(p[n], &s);
	sink_put(':', &s);
	sink_put(' ', &s);
	n += 2;
	va_start(ap, fmt);
	n += harness_kvformat(sink_put, &s, fmt, ap);
	va_end(ap);
	harness_rs_output(HARNESS_OUT_CONSOLE, -1, s.buf, s.len);
	sink_fini(&s);
	return (n);
}

/* vprintf(9) */
int
harness_kern_vprintf(const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = emit(HARNESS_OUT_CONSOLE, -1, fmt, aq);
	va_end(aq);
	return (n);
}

/* uprintf(9): to the calling process's terminal. */
int
harness_kern_uprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = emit(HARNESS_OUT_TTY, -1, fmt, ap);
	va_end(ap);
	return (n);
}

/* log(9) */
void
harness_kern_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)emit(HARNESS_OUT_LOG, level, fmt, ap);
	va_end(ap);
}

/* snprintf(9): the length that would have been written, as C99. */
int
harness_kern_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fixed_vformat(buf, size, fmt, ap);
	va_end(ap);
	return (n);
}

/* panic(9): record the message, then unwind out of module code. */
void
harness_kern_panic(const char *fmt, ...)
{
	struct sink s;
	va_list ap;

	sink_init(&s);
	va_start(ap, fmt);
	(void)harness_kvformat(sink_put, &s, fmt, ap);
	va_end(ap);
	harness_rs_panic(s.buf, s.len);
	sink_fini(&s);
	harness_escape();
}

/* __stack_chk_fail (sys/kern/stack_protector.c) */
void
harness_kern_stack_chk_fail(void)
{
	static const char msg[] =
	    "stack overflow detected; backtrace may be corrupted";

	harness_rs_panic(msg, sizeof(msg) - 1);
	harness_escape();
}

/*
 * make_dev(9) family: the name is formatted here into a buffer the size
 * of si_name (SPECNAMELEN + 1), then the rest is done in Rust.
 */

int
harness_kern_make_dev_s(void *args, void **dres, const char *fmt, ...)
{
	char name[HARNESS_NAMELEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fixed_vformat(name, sizeof(name), fmt, ap);
	va_end(ap);
	return (harness_rs_make_dev_s(args, dres, name, n));
}

void *
harness_kern_make_dev(void *devsw, int unit, uint32_t uid, uint32_t gid,
    int mode, const char *fmt, ...)
{
	char name[HARNESS_NAMELEN];
	void *dev;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fixed_vformat(name, sizeof(name), fmt, ap);
	va_end(ap);
	dev = NULL;
	(void)harness_rs_make_dev_credv(0, &dev, devsw, unit, NULL, uid, gid,
	    mode, name, n);
	return (dev);
}

int
harness_kern_make_dev_p(int flags, void **cdev, void *devsw, void *cr,
    uint32_t uid, uint32_t gid, int mode, const char *fmt, ...)
{
	char name[HARNESS_NAMELEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fixed_vformat(name, sizeof(name), fmt, ap);
	va_end(ap);
	return (harness_rs_make_dev_credv(flags, cdev, devsw, 0, cr, uid, gid,
	    mode, name, n));
}

/* For the harness's own tests of the formatter. */
int
harness_test_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fixed_vformat(buf, size, fmt, ap);
	va_end(ap);
	return (n);
}
