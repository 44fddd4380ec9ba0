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
 * Deferred work for the harness's taskqueue(9) emulation.
 * /dev/kldtest_task enqueues a task on taskqueue_thread, and tasks on a
 * queue of its own (taskqueue_create, one thread) behind a gate task
 * that holds the queue's thread, so that enqueues coalesce; the ioctls
 * cancel and drain them, and commit the taskqueue mistakes the harness
 * must catch.  A fast queue of its own (taskqueue_create_fast, one
 * thread) and taskqueue_fast take enqueues in a critical section, the
 * context of an interrupt filter; the sleep-mutex queues must not.
 */

#include <sys/param.h>
#include <sys/systm.h>
#include <sys/kernel.h>
#include <sys/conf.h>
#include <sys/ioccom.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/mutex.h>
#include <sys/priority.h>
#include <sys/taskqueue.h>

struct tq_stats {
	int	sys_runs;	/* task on taskqueue_thread */
	int	own_runs;	/* counted task on the module's queue */
	int	own_pending;	/* its pending count at the last run */
	int	fast_runs;	/* task on taskqueue_fast */
	int	fown_runs;	/* task on the module's fast queue */
	int	tmp_runs;	/* task left queued at a taskqueue_free */
};

#define	TQ_SYS		_IO('T', 1)	/* enqueue on taskqueue_thread */
#define	TQ_GATE		_IO('T', 2)	/* hold the module queue */
#define	TQ_OPEN		_IO('T', 3)	/* release it */
#define	TQ_OWN		_IOWR('T', 4, int)	/* in: flags; out: error */
#define	TQ_CANCEL	_IOR('T', 5, int[2])	/* error, pending */
#define	TQ_DRAIN	_IO('T', 6)	/* drain the counted task */
#define	TQ_DRAIN_ALL	_IO('T', 7)
#define	TQ_STATS	_IOR('T', 8, struct tq_stats)
#define	TQ_FAST		_IO('T', 9)	/* enqueue on taskqueue_fast */
#define	TQ_CANCEL_GATE	_IOR('T', 10, int[2])	/* cancel the gate */
#define	TQ_LEAK		_IO('T', 11)	/* no drain or free at unload */
#define	TQ_FILTER	_IO('T', 12)	/* fast enqueues, critical section */
#define	TQ_FOWN_DRAIN	_IO('T', 13)	/* drain the fast queue's task */
#define	TQ_FREE_QUEUED	_IO('T', 14)	/* free a queue with a task queued */
#define	TQ_BAD_DRAIN	_IO('T', 20)	/* drain holding a mutex */
#define	TQ_BAD_FAST	_IO('T', 21)	/* the fast task sleeps */
#define	TQ_BAD_FILTER	_IO('T', 22)	/* taskqueue_thread, critical */
#define	TQ_BAD_FILTER_OWN _IO('T', 23)	/* the sleep queue, critical */
#define	TQ_BAD_CRIT_MTX	_IO('T', 24)	/* mtx_lock in a critical section */

static d_ioctl_t	tq_ioctl;

static struct cdevsw tq_cdevsw = {
	.d_version =	D_VERSION,
	.d_ioctl =	tq_ioctl,
	.d_name =	"kldtest_task",
};

static struct cdev		*tq_dev;
static struct mtx		 tq_mtx;
static struct taskqueue		*tq_own;
static struct taskqueue		*tq_fown;
static struct taskqueue		*tq_tmp;
static struct task		 tq_sys_task;
static struct task		 tq_gate_task;
static struct task		 tq_own_task;
static struct task		 tq_fast_task;
static struct task		 tq_fown_task;
static struct task		 tq_tgate_task;
static struct task		 tq_tmp_task;
static struct tq_stats		 tq_stats;
static int			 tq_gate;
static int			 tq_gate_in;
static int			 tq_fast_sleep;
static int			 tq_leak;
static int			 tq_tgate;
static int			 tq_tgate_in;

static void
tq_sys_fn(void *ctx __unused, int pending __unused)
{

	/* taskqueue_thread's tasks may sleep. */
	pause("tqsys", 1);
	mtx_lock(&tq_mtx);
	tq_stats.sys_runs++;
	mtx_unlock(&tq_mtx);
}

static void
tq_gate_fn(void *ctx __unused, int pending __unused)
{

	mtx_lock(&tq_mtx);
	tq_gate_in = 1;
	wakeup(&tq_gate_in);
	while (tq_gate)
		mtx_sleep(&tq_gate, &tq_mtx, 0, "tqgate", 0);
	tq_gate_in = 0;
	mtx_unlock(&tq_mtx);
}

static void
tq_own_fn(void *ctx __unused, int pending)
{

	mtx_lock(&tq_mtx);
	tq_stats.own_runs++;
	tq_stats.own_pending = pending;
	mtx_unlock(&tq_mtx);
}

static void
tq_fast_fn(void *ctx __unused, int pending __unused)
{

	tq_stats.fast_runs++;
	if (tq_fast_sleep)
		pause("tqfast", 1);
}

static void
tq_fown_fn(void *ctx __unused, int pending __unused)
{

	/* A fast queue's own threads are kernel threads: they may sleep. */
	pause("tqfown", 1);
	mtx_lock(&tq_mtx);
	tq_stats.fown_runs++;
	mtx_unlock(&tq_mtx);
}

static void
tq_tgate_fn(void *ctx __unused, int pending __unused)
{

	mtx_lock(&tq_mtx);
	tq_tgate_in = 1;
	wakeup(&tq_tgate_in);
	while (tq_tgate)
		mtx_sleep(&tq_tgate, &tq_mtx, 0, "tqtgate", 0);
	tq_tgate_in = 0;
	mtx_unlock(&tq_mtx);
}

static void
tq_tmp_fn(void *ctx __unused, int pending __unused)
{

	mtx_lock(&tq_mtx);
	tq_stats.tmp_runs++;
	mtx_unlock(&tq_mtx);
	printf("kldtest_task: queued task ran\n");
}

/*
 * A queue with one thread held by a gate task, and a task queued behind
 * it; the gate opens and the queue is freed: taskqueue_free's threads
 * run what is still queued before they exit.
 */
static void
tq_free_queued(void)
{

	tq_tmp = taskqueue_create("kldtest_tmp", M_WAITOK,
	    taskqueue_thread_enqueue, &tq_tmp);
	taskqueue_start_threads(&tq_tmp, 1, PWAIT, "kldtest_tmp");
	mtx_lock(&tq_mtx);
	tq_tgate = 1;
	taskqueue_enqueue(tq_tmp, &tq_tgate_task);
	while (!tq_tgate_in)
		mtx_sleep(&tq_tgate_in, &tq_mtx, 0, "tqtwait", 0);
	taskqueue_enqueue(tq_tmp, &tq_tmp_task);
	tq_tgate = 0;
	wakeup(&tq_tgate);
	mtx_unlock(&tq_mtx);
	taskqueue_free(tq_tmp);
	tq_tmp = NULL;
}

static int
tq_ioctl(struct cdev *dev __unused, u_long cmd, caddr_t data,
    int fflag __unused, struct thread *td __unused)
{
	u_int pending;
	int error;

	error = 0;
	switch (cmd) {
	case TQ_SYS:
		error = taskqueue_enqueue(taskqueue_thread, &tq_sys_task);
		break;
	case TQ_GATE:
		mtx_lock(&tq_mtx);
		tq_gate = 1;
		error = taskqueue_enqueue(tq_own, &tq_gate_task);
		while (error == 0 && !tq_gate_in)
			mtx_sleep(&tq_gate_in, &tq_mtx, 0, "tqwait", 0);
		mtx_unlock(&tq_mtx);
		break;
	case TQ_OPEN:
		mtx_lock(&tq_mtx);
		tq_gate = 0;
		wakeup(&tq_gate);
		mtx_unlock(&tq_mtx);
		break;
	case TQ_OWN:
		*(int *)data = taskqueue_enqueue_flags(tq_own, &tq_own_task,
		    *(int *)data);
		break;
	case TQ_CANCEL:
		pending = 0;
		((int *)data)[0] = taskqueue_cancel(tq_own, &tq_own_task,
		    &pending);
		((int *)data)[1] = pending;
		break;
	case TQ_CANCEL_GATE:
		pending = 0;
		((int *)data)[0] = taskqueue_cancel(tq_own, &tq_gate_task,
		    &pending);
		((int *)data)[1] = pending;
		break;
	case TQ_DRAIN:
		taskqueue_drain(tq_own, &tq_own_task);
		break;
	case TQ_DRAIN_ALL:
		taskqueue_drain_all(tq_own);
		taskqueue_drain_all(taskqueue_thread);
		break;
	case TQ_STATS:
		mtx_lock(&tq_mtx);
		*(struct tq_stats *)data = tq_stats;
		mtx_unlock(&tq_mtx);
		break;
	case TQ_FAST:
		error = taskqueue_enqueue(taskqueue_fast, &tq_fast_task);
		break;
	case TQ_LEAK:
		tq_leak = 1;
		break;
	case TQ_FILTER:
		/* As an interrupt filter may: only spin-locked queues. */
		critical_enter();
		error = taskqueue_enqueue(taskqueue_fast, &tq_fast_task);
		if (error == 0)
			error = taskqueue_enqueue(tq_fown, &tq_fown_task);
		critical_exit();
		break;
	case TQ_FOWN_DRAIN:
		taskqueue_drain(tq_fown, &tq_fown_task);
		taskqueue_drain(taskqueue_fast, &tq_fast_task);
		break;
	case TQ_FREE_QUEUED:
		tq_free_queued();
		break;
	case TQ_BAD_FILTER:
		critical_enter();
		error = taskqueue_enqueue(taskqueue_thread, &tq_sys_task);
		critical_exit();
		break;
	case TQ_BAD_FILTER_OWN:
		critical_enter();
		error = taskqueue_enqueue(tq_own, &tq_own_task);
		critical_exit();
		break;
	case TQ_BAD_CRIT_MTX:
		critical_enter();
		mtx_lock(&tq_mtx);
		mtx_unlock(&tq_mtx);
		critical_exit();
		break;
	case TQ_BAD_DRAIN:
		mtx_lock(&tq_mtx);
		taskqueue_drain(taskqueue_thread, &tq_sys_task);
		mtx_unlock(&tq_mtx);
		break;
	case TQ_BAD_FAST:
		tq_fast_sleep = 1;
		error = taskqueue_enqueue(taskqueue_fast, &tq_fast_task);
		break;
	default:
		error = ENOIOCTL;
		break;
	}
	return (error);
}

static int
tq_modevent(module_t mod __unused, int what, void *arg __unused)
{
	int error;

	error = 0;
	switch (what) {
	case MOD_LOAD:
		mtx_init(&tq_mtx, "kldtest_task", NULL, MTX_DEF);
		TASK_INIT(&tq_sys_task, 0, tq_sys_fn, NULL);
		TASK_INIT(&tq_gate_task, 10, tq_gate_fn, NULL);
		TASK_INIT(&tq_own_task, 0, tq_own_fn, NULL);
		TASK_INIT(&tq_fast_task, 0, tq_fast_fn, NULL);
		TASK_INIT(&tq_fown_task, 0, tq_fown_fn, NULL);
		TASK_INIT(&tq_tgate_task, 10, tq_tgate_fn, NULL);
		TASK_INIT(&tq_tmp_task, 0, tq_tmp_fn, NULL);
		tq_own = taskqueue_create("kldtest_task", M_WAITOK,
		    taskqueue_thread_enqueue, &tq_own);
		taskqueue_start_threads(&tq_own, 1, PWAIT, "%s taskq",
		    "kldtest_task");
		tq_fown = taskqueue_create_fast("kldtest_fast", M_WAITOK,
		    taskqueue_thread_enqueue, &tq_fown);
		taskqueue_start_threads(&tq_fown, 1, PWAIT, "%s taskq",
		    "kldtest_fast");
		tq_dev = make_dev(&tq_cdevsw, 0, UID_ROOT, GID_WHEEL, 0666,
		    "kldtest_task");
		break;
	case MOD_UNLOAD:
		destroy_dev(tq_dev);
		if (!tq_leak) {
			taskqueue_drain(taskqueue_thread, &tq_sys_task);
			taskqueue_drain(taskqueue_fast, &tq_fast_task);
			taskqueue_free(tq_own);
			taskqueue_free(tq_fown);
		}
		mtx_destroy(&tq_mtx);
		break;
	default:
		error = EOPNOTSUPP;
		break;
	}
	return (error);
}

DEV_MODULE(kldtest_task, tq_modevent, NULL);
