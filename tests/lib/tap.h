/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small TAP producer for prove: each check prints "ok N - name" or "not ok N - name"
 * with a diagnostic, and returns whether it passed so a test can bail out early.
 * A skip is a result ("ok N # SKIP reason"), never a silent pass.
 */
#ifndef CRUX_TAP_H
#define CRUX_TAP_H

#include <stdbool.h>
#include <stdint.h>

void tap_plan(int n);
void tap_plan_skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
bool tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt,
		...) __attribute__((format(printf, 5, 6)));
void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the plan if none was given; returns the exit status (0 if every check passed). */
int tap_done(void);
/* Abort the whole test: "Bail out!" and exit 255. */
void tap_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define skip(...) tap_skip(__VA_ARGS__)
#define diag(...) tap_diag(__VA_ARGS__)
#define done_testing() tap_done()

#endif /* CRUX_TAP_H */
