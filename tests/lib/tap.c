// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static int tap_count, tap_failed, tap_planned = -1;

static void tap_vline(bool pass, const char *directive, const char *fmt, va_list ap)
{
	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	if (directive)
		printf(" # %s", directive);
	printf("\n");
	fflush(stdout);
	if (!pass)
		tap_failed++;
}

void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

void tap_plan_skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(0);
}

bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(cond, NULL, fmt, ap);
	va_end(ap);
	if (!cond)
		printf("#   Failed at %s:%d\n", file, line);
	return cond;
}

bool tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
	bool pass = got == want;
	va_list ap;

	va_start(ap, fmt);
	tap_vline(pass, NULL, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   Failed at %s:%d\n#        got: %lld\n#   expected: %lld\n", file, line, got,
		       want);
	return pass;
}

bool tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt,
		...)
{
	bool pass = got && want ? !strcmp(got, want) : got == want;
	va_list ap;

	va_start(ap, fmt);
	tap_vline(pass, NULL, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   Failed at %s:%d\n#        got: '%s'\n#   expected: '%s'\n", file, line,
		       got ? got : "(null)", want ? want : "(null)");
	return pass;
}

void tap_skip(const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	tap_count++;
	printf("ok %d # SKIP %s\n", tap_count, reason);
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int tap_done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_count);
	else if (tap_planned != tap_count)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_count);
	fflush(stdout);
	return tap_failed || (tap_planned >= 0 && tap_planned != tap_count) ? 1 : 0;
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(255);
}
