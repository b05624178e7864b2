// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "util.h"

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = *p - '0';
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint64_t v;
	int err = parse_u64(s, min, max, &v);

	if (err)
		return err;
	*ret = (uint32_t)v;
	return 0;
}

int parse_pid(const char *s, pid_t *ret)
{
	uint32_t v;
	/* PID_MAX_LIMIT is 4M on 64-bit kernels */
	int err = parse_u32(s, 1, 4194304, &v);

	if (err)
		return err;
	*ret = (pid_t)v;
	return 0;
}

int parse_u64_list(const char *s, uint64_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = NULL;
	_cleanup_free_ uint64_t *v = NULL;
	size_t n = 0, cap = 0;
	char *tok, *save = NULL;

	if (!s || !*s)
		return -EINVAL;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int err;

		if (n == cap) {
			uint64_t *nv;

			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				return -ENOMEM;
			v = nv;
		}
		err = parse_u64(tok, 1, UINT64_MAX, &v[n]);
		if (err)
			return err;
		n++;
	}
	/* strtok_r skips empty fields: "1,,2" and ",1" must not pass silently */
	if (!n || strstr(s, ",,") || s[0] == ',' || s[strlen(s) - 1] == ',')
		return -EINVAL;
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

size_t unix_name_format(const void *name, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = name;
	size_t need = 0, written = 0, i;
	int full = 0;

	for (i = 0; i < len; i++) {
		char tmp[5];
		size_t tl = 1;

		if (p[i] == '\0')
			tmp[0] = '@';
		else if (isprint(p[i]) && p[i] != '\\')
			tmp[0] = (char)p[i];
		else
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
		/* never split an escape: stop at the first piece that does not fit */
		if (!full && written + tl < outsz) {
			memcpy(out + written, tmp, tl);
			written += tl;
		} else {
			full = 1;
		}
		need += tl;
	}
	if (outsz)
		out[written] = '\0';
	return need;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
