/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The FreeBSD kernel interfaces the project uses, for bindgen.
 * Compiled with -D_KERNEL -DKLD_MODULE, exactly as a module's C files.
 *
 * Last, the C helpers that kern links into every module (shim/kern.c):
 * their Rust declarations are generated from the same header that the
 * helpers are compiled against.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/module.h>
#include <sys/linker.h>
#include <sys/malloc.h>
#include <sys/errno.h>
#include <sys/fcntl.h>
#include <sys/conf.h>
#include <sys/uio.h>
#include <sys/lock.h>
#include <sys/mutex.h>
#include <sys/sx.h>
#include <sys/sysctl.h>
#include <sys/counter.h>
#include <sys/proc.h>
#include <sys/pcpu.h>
#include <sys/ucred.h>
#include <sys/filio.h>
#include <sys/ioccom.h>
#include <sys/syslog.h>
#include <sys/limits.h>
#include <sys/time.h>
#include <sys/callout.h>
#include <sys/condvar.h>
#include <sys/taskqueue.h>
#include <sys/event.h>
#include <sys/selinfo.h>
#include <sys/poll.h>
#include <sys/signal.h>
#include <sys/sbuf.h>
#include <sys/firmware.h>

#include "../shim/kern.h"
