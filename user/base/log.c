// SPDX-License-Identifier: GPL-2.0-only
/* The one place that formats diagnostics: stderr by default, a file or syslog for daemons. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_progname = "crux";
static enum log_level log_level = LOG_LVL_INFO;
static FILE *log_file;
static int log_use_syslog;

void log_init(const char *progname)
{
	log_progname = progname;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_to_file(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file)
		fclose(log_file);
	log_file = f;
	return 0;
}

void log_to_syslog(void)
{
	openlog(log_progname, LOG_PID, LOG_DAEMON);
	log_use_syslog = 1;
}

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error: ",
	[LOG_LVL_WARN] = "warning: ",
	[LOG_LVL_INFO] = "",
	[LOG_LVL_DEBUG] = "debug: ",
};

static const int syslog_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

void log_msg(enum log_level level, const char *file, int line, int err, const char *fmt, ...)
{
	char msg[2048], where[96] = "";
	const char *base = strrchr(file, '/');
	va_list ap;
	int n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (err && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	/* file:line helps a bug report; at info level it would only clutter the line. */
	if (level == LOG_LVL_ERR || log_level >= LOG_LVL_DEBUG)
		snprintf(where, sizeof(where), " [%s:%d]", base ? base + 1 : file, line);

	if (log_use_syslog) {
		syslog(syslog_prio[level], "%s%s%s", level_names[level], msg, where);
		return;
	}
	if (log_file) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(log_file, "%lld.%03ld %s: %s%s%s\n", (long long)ts.tv_sec,
			ts.tv_nsec / 1000000, log_progname, level_names[level], msg, where);
		return;
	}
	fprintf(stderr, "%s: %s%s%s\n", log_progname, level_names[level], msg, where);
}
