// SPDX-License-Identifier: GPL-2.0-only
/* The text-or-JSON printer: the same calls give the text layout or nested, escaped JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outfmt.h"
#include "tap.h"

/* Print one small record through o into a string. */
static char *render(bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct outfmt *o;

	if (!f)
		tap_bail("open_memstream failed");
	o = outfmt__new(f, json);
	outfmt_open(o, NULL, '{');
	outfmt_uint(o, "pid", "task %llu", 42);
	outfmt_str(o, "comm", " (%s)", "a \"b\"\\\n\x01");
	outfmt_int(o, "nice", " nice %lld", -5);
	outfmt_bool(o, "cloexec", " cloexec", true);
	outfmt_bool(o, "ext", " ext", false);
	outfmt_str(o, "owner", " owner %s", NULL);
	outfmt_uint(o, "hidden", NULL, 7);
	outfmt_text(o, "\n");
	outfmt_open(o, "fds", '[');
	outfmt_open(o, NULL, '{');
	outfmt_uint(o, "fd", "  fd %llu\n", 3);
	outfmt_close(o);
	outfmt_open(o, NULL, '{');
	outfmt_uint(o, "fd", "  fd %llu\n", 4);
	outfmt_close(o);
	outfmt_close(o);
	outfmt_open(o, "empty", '[');
	outfmt_close(o);
	outfmt_open(o, "left", '{'); /* left open: free closes it */
	outfmt__free(o);
	fclose(f);
	return buf;
}

/* A listing: rows mode, numbers given as text, a missing one. */
static char *render_rows(bool json, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct outfmt *o;
	int i;

	if (!f)
		tap_bail("open_memstream failed");
	o = outfmt__new(f, json);
	outfmt_set_rows(o);
	outfmt_open(o, NULL, '[');
	for (i = 0; i < n; i++) {
		outfmt_open(o, NULL, '{');
		outfmt_num(o, "ino", "%-6s ", i ? "1002" : "1001");
		outfmt_num(o, "peer", "%s", i ? NULL : "7");
		outfmt_close(o);
		outfmt_text(o, "\n");
	}
	outfmt__free(o);
	fclose(f);
	return buf;
}

int main(void)
{
	char *rows_text = render_rows(false, 2), *rows_json = render_rows(true, 2);
	char *rows_empty = render_rows(true, 0);

	is_str(rows_text, "1001   7\n1002   -\n", "rows, text: the formats; no number is '-'");
	is_str(rows_json, "[\n{\"ino\":1001,\"peer\":7},\n{\"ino\":1002,\"peer\":null}\n]\n",
	       "rows, JSON: one element a line, numbers unquoted, no number is null");
	is_str(rows_empty, "[]\n", "rows, JSON: an empty array stays on one line");
	free(rows_text);
	free(rows_json);
	free(rows_empty);
	char *text = render(false), *json = render(true);

	is_str(text, "task 42 (a \"b\"\\\n\x01) nice -5 cloexec owner -\n  fd 3\n  fd 4\n",
	       "text: the formats, in order; JSON-only values and false flags print nothing");
	is_str(json,
	       "{\"pid\":42,\"comm\":\"a \\\"b\\\"\\\\\\n\\u0001\",\"nice\":-5,\"cloexec\":true,"
	       "\"ext\":false,\"owner\":null,\"hidden\":7,\"fds\":[{\"fd\":3},{\"fd\":4}],"
	       "\"empty\":[],\"left\":{}}\n",
	       "json: keys, escapes, nesting, commas; free closes what is open");
	outfmt__free(NULL); /* accepted */
	free(text);
	free(json);
	return done_testing();
}
