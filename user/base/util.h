/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers every module uses: cleanup attributes, ownership transfer, number parsing. */
#ifndef CRUX_UTIL_H
#define CRUX_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		typeof(p) _p = (p);                                                                \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})

/*
 * Number parsing for every command: decimal only, no sign, no empty input, no trailing
 * junk, within [min, max]. 0 or -EINVAL / -ERANGE; *ret written only on success.
 */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret);
int parse_pid(const char *s, pid_t *ret);

/* Comma-separated list of u64 ("1,2,3"); *ret is malloc'ed. */
int parse_u64_list(const char *s, uint64_t **ret, size_t *ret_n);

/*
 * Unix socket names are binary: (len, bytes). Abstract names (leading NUL) print with a
 * leading '@' and embedded NULs as '@', as ss does; other non-printable bytes as \xHH.
 * Always NUL-terminates out; returns the length the full text needs (like snprintf).
 */
size_t unix_name_format(const void *name, size_t len, char *out, size_t outsz);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Make room for one more element of arr[n] (capacity cap, doubled): 0 or -ENOMEM. */
#define GROW(arr, n, cap)                                                                   \
	({                                                                                  \
		int _err = 0;                                                               \
		if ((n) == (cap)) {                                                         \
			void *_t = realloc((arr), ((cap) ? (cap)*2 : 64) * sizeof(*(arr))); \
			if (_t) {                                                           \
				(arr) = _t;                                                 \
				(cap) = (cap) ? (cap)*2 : 64;                               \
			} else {                                                            \
				_err = -ENOMEM;                                             \
			}                                                                   \
		}                                                                           \
		_err;                                                                       \
	})

#endif /* CRUX_UTIL_H */
