// SPDX-License-Identifier: GPL-2.0-only
/* Fault points: see fault.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LOG_PREFIX ""
#include "fault.h"
#include "log.h"
#include "util.h"

static int fault_state; /* 0: env not read, 1: off, 2: on */
static unsigned long fault_at, fault_n;

static void fault_report(void)
{
	pr_warn("fault points: %lu", fault_n); /* the crash tests parse it */
}

static void fault_init(void)
{
	const char *at = getenv("CRUX_FAULT_AT"), *count = getenv("CRUX_FAULT_COUNT");
	uint64_t v = 0;

	fault_state = 1;
	if (at && !parse_u64(at, 1, UINT64_MAX, &v))
		fault_at = v;
	if (count && *count == '1')
		atexit(fault_report);
	if (fault_at || (count && *count == '1'))
		fault_state = 2;
}

void fault_point(void)
{
	if (!fault_state)
		fault_init();
	if (fault_state != 2)
		return;
	if (++fault_n == fault_at)
		kill(getpid(), SIGKILL);
}
