// SPDX-License-Identifier: GPL-2.0-only
/*
 * POSIX timers (timer_create): id, clock, signal and notify mode from /proc/PID/timers;
 * the value and the overrun are asked of the task itself (dump_task.c). Written as CRIU's
 * posix_timer_entry in core.tc.timers.posix. Restore: restore_task.c.
 *
 * /proc/PID/timers, one block per timer (fs/proc/base.c show_timer()):
 *   ID: 8
 *   signal: 14/0000000000000000      signal number / sigev_value
 *   notify: signal/pid.21106         none|signal|thread, "tid" with SIGEV_THREAD_ID
 *   ClockID: 1
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "log.h"
#include "util.h"
#include "core.pb-c.h"

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

static int parse_notify(const char *line, struct ptimer *t)
{
	char kind[16], who[8];
	int n;

	if (sscanf(line, "notify: %15[a-z]/%7[a-z].%d", kind, who, &n) != 3)
		return -EINVAL;
	if (!strcmp(kind, "signal"))
		t->notify = SIGEV_SIGNAL;
	else if (!strcmp(kind, "none"))
		t->notify = SIGEV_NONE;
	else if (!strcmp(kind, "thread"))
		t->notify = SIGEV_THREAD;
	else
		return -EINVAL;
	if (!strcmp(who, "tid")) {
		t->notify |= SIGEV_THREAD_ID;
		t->tid = n;
	}
	return 0;
}

static int parse_line(const char *line, struct ptimer *v, int *n)
{
	unsigned long long sival;
	struct ptimer *t = *n > 0 ? &v[*n - 1] : NULL;

	if (!strncmp(line, "ID:", 3)) {
		if (*n == PTIMER_MAX)
			return -E2BIG;
		t = &v[(*n)++];
		memset(t, 0, sizeof(*t));
		return sscanf(line, "ID: %u", &t->id) == 1 ? 0 : -EINVAL;
	}
	if (!t)
		return -EINVAL;
	if (!strncmp(line, "signal:", 7)) {
		if (sscanf(line, "signal: %u/%llx", &t->signo, &sival) != 2)
			return -EINVAL;
		t->sival = sival;
		return 0;
	}
	if (!strncmp(line, "notify:", 7))
		return parse_notify(line, t);
	if (!strncmp(line, "ClockID:", 8))
		return sscanf(line, "ClockID: %u", &t->clock) == 1 ? 0 : -EINVAL;
	return 0;
}

int dump_ptimers_parse(pid_t pid, const char *comm, struct ptimer *v)
{
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	int n = 0, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	f = fopen(path, "re");
	if (!f)
		return pr_perror_ret("pid %d (%s): cannot read %s", pid, comm, path);
	while (!err && fgets(line, sizeof(line), f))
		err = parse_line(line, v, &n);
	if (err == -E2BIG)
		return pr_err_ret(err, "pid %d (%s) has more than %d POSIX timers: not supported",
				  pid, comm, PTIMER_MAX);
	if (err)
		return pr_err_ret(err, "pid %d (%s): cannot parse %s at \"%.60s\"", pid, comm, path,
				  line);
	return n;
}

void dump_ptimer_fill(void *posix_timer_entry, const struct ptimer *t)
{
	PosixTimerEntry *e = posix_timer_entry;

	posix_timer_entry__init(e);
	e->it_id = t->id;
	e->clock_id = t->clock;
	e->si_signo = t->signo;
	e->it_sigev_notify = t->notify;
	e->sival_ptr = t->sival;
	e->overrun = (uint32_t)t->overrun;
	e->isec = t->isec;
	e->insec = t->insec;
	e->vsec = t->vsec;
	e->vnsec = t->vnsec;
	if (t->notify & SIGEV_THREAD_ID) {
		e->has_notify_thread_id = true;
		e->notify_thread_id = t->tid;
	}
}
