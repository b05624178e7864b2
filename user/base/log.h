/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging: four levels plus pr_perror. Every macro appends the newline, prefixes the
 * per-file LOG_PREFIX (define it before including this header) and is printf-checked.
 * Errors also carry file:line. Output goes to stderr unless log_to_file()/log_to_syslog().
 */
#ifndef CRUX_LOG_H
#define CRUX_LOG_H

#include <errno.h>

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_init(const char *progname);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_to_file(const char *path);
void log_to_syslog(void);

void log_msg(enum log_level level, const char *file, int line, int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define pr_err(fmt, ...) log_msg(LOG_LVL_ERR, __FILE__, __LINE__, 0, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_msg(LOG_LVL_WARN, __FILE__, __LINE__, 0, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) log_msg(LOG_LVL_INFO, __FILE__, __LINE__, 0, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)                                                                         \
	log_msg(LOG_LVL_DEBUG, __FILE__, __LINE__, 0, LOG_PREFIX fmt, ##__VA_ARGS__)
/* Right after a failing libc call: appends ": <strerror(errno)>". */
#define pr_perror(fmt, ...)                                                                        \
	log_msg(LOG_LVL_ERR, __FILE__, __LINE__, errno, LOG_PREFIX fmt, ##__VA_ARGS__)
/* The same at other levels: a failed call that is not fatal ("..., skipping"). */
#define pr_pwarn(fmt, ...) \
	log_msg(LOG_LVL_WARN, __FILE__, __LINE__, errno, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_pdebug(fmt, ...) \
	log_msg(LOG_LVL_DEBUG, __FILE__, __LINE__, errno, LOG_PREFIX fmt, ##__VA_ARGS__)
/*
 * pr_perror, then evaluate to -errno (read before logging, which may change it):
 * `if (fd < 0) return pr_perror_ret("cannot open %s", path);`
 */
#define pr_perror_ret(fmt, ...)                                                              \
	({                                                                                   \
		int _e = errno;                                                              \
		log_msg(LOG_LVL_ERR, __FILE__, __LINE__, _e, LOG_PREFIX fmt, ##__VA_ARGS__); \
		-_e;                                                                         \
	})
/* Log an error and evaluate to err: return pr_err_ret(-ENOENT, "no peer for %u", ino); */
/* err is evaluated first: `return pr_err_ret(-errno, ...)` must not see logging's errno. */
#define pr_err_ret(err, fmt, ...)                                                                  \
	({                                                                                         \
		typeof(err) _err = (err);                                                          \
		pr_err(fmt, ##__VA_ARGS__);                                                        \
		_err;                                                                              \
	})

#endif /* CRUX_LOG_H */
