// SPDX-License-Identifier: GPL-2.0-only
/* Number parsing and unix name printing: the pure helpers every command relies on. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "util.h"

static void test_parse(void)
{
	uint32_t v32 = 7;
	uint64_t v64;
	pid_t pid;
	uint64_t *list = NULL;
	size_t n = 0;

	ok(parse_u32("42", 0, 100, &v32) == 0 && v32 == 42, "parse_u32 accepts 42");
	v32 = 7;
	is_int(parse_u32("", 0, 100, &v32), -EINVAL, "parse_u32 rejects empty input");
	is_int(parse_u32("12x", 0, 100, &v32), -EINVAL, "parse_u32 rejects trailing junk");
	is_int(parse_u32("-1", 0, 100, &v32), -EINVAL, "parse_u32 rejects a sign");
	is_int(parse_u32("101", 0, 100, &v32), -ERANGE, "parse_u32 rejects out of range");
	is_int(v32, 7, "parse_u32 leaves the output alone on failure");
	is_int(parse_u64("18446744073709551616", 0, UINT64_MAX, &v64), -ERANGE,
	       "parse_u64 detects overflow");
	ok(parse_u64("18446744073709551615", 0, UINT64_MAX, &v64) == 0 && v64 == UINT64_MAX,
	   "parse_u64 accepts UINT64_MAX");
	is_int(parse_pid("0", &pid), -ERANGE, "parse_pid rejects 0");
	ok(parse_pid("1234", &pid) == 0 && pid == 1234, "parse_pid accepts 1234");
	ok(parse_u64_list("5,6,700", &list, &n) == 0 && n == 3 && list[2] == 700,
	   "parse_u64_list parses three inodes");
	free(list);
	is_int(parse_u64_list("5,,6", &list, &n), -EINVAL, "parse_u64_list rejects an empty field");
	is_int(parse_u64_list("5,", &list, &n), -EINVAL, "parse_u64_list rejects a trailing comma");
}

static void test_names(void)
{
	char buf[64];

	unix_name_format("/run/x.sock", 11, buf, sizeof(buf));
	is_str(buf, "/run/x.sock", "path names print as they are");
	unix_name_format("\0logd", 5, buf, sizeof(buf));
	is_str(buf, "@logd", "abstract names print with a leading @");
	unix_name_format("\0a\0b", 4, buf, sizeof(buf));
	is_str(buf, "@a@b", "embedded NULs print as @");
	unix_name_format("a\nb", 3, buf, sizeof(buf));
	is_str(buf, "a\\x0ab", "control bytes are escaped");
	is_int((long long)unix_name_format("abcdef", 6, buf, 4), 6, "returns the full length");
	is_str(buf, "abc", "truncates to the buffer");
	unix_name_format("ab\n", 3, buf, 5);
	is_str(buf, "ab", "never splits an escape");
}

int main(void)
{
	test_parse();
	test_names();
	return done_testing();
}
