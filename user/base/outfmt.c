// SPDX-License-Identifier: GPL-2.0-only
/* Text-or-JSON printer: see include/outfmt.h. */
#include <stdarg.h>
#include <stdlib.h>

#include "outfmt.h"

#define OUTFMT_DEPTH 16

struct outfmt {
	FILE *out;
	bool json;
	bool rows; /* outfmt_set_rows() */
	int depth;
	bool first[OUTFMT_DEPTH]; /* nothing printed yet at this level */
	char kind[OUTFMT_DEPTH];
};

struct outfmt *outfmt__new(FILE *out, bool json)
{
	struct outfmt *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->out = out;
	o->json = json;
	o->first[0] = true;
	return o;
}

bool outfmt_json(const struct outfmt *o)
{
	return o->json;
}

void outfmt_set_rows(struct outfmt *o)
{
	o->rows = true;
}

/* Comma and key before a JSON value. */
static void key(struct outfmt *o, const char *k)
{
	if (!o->first[o->depth])
		fputc(',', o->out);
	if (o->rows && o->depth && o->kind[o->depth] == '[')
		fputc('\n', o->out);
	o->first[o->depth] = false;
	if (k && o->depth && o->kind[o->depth] == '{')
		fprintf(o->out, "\"%s\":", k);
}

static void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void outfmt_open(struct outfmt *o, const char *k, char kind)
{
	if (!o->json)
		return;
	key(o, k);
	fputc(kind, o->out);
	if (o->depth + 1 < OUTFMT_DEPTH) {
		o->depth++;
		o->first[o->depth] = true;
		o->kind[o->depth] = kind;
	}
}

void outfmt_close(struct outfmt *o)
{
	if (!o->json || !o->depth)
		return;
	if (o->rows && o->kind[o->depth] == '[' && !o->first[o->depth])
		fputc('\n', o->out);
	fputc(o->kind[o->depth] == '{' ? '}' : ']', o->out);
	o->depth--;
}

void outfmt_text(struct outfmt *o, const char *fmt, ...)
{
	va_list ap;

	if (o->json)
		return;
	va_start(ap, fmt);
	vfprintf(o->out, fmt, ap);
	va_end(ap);
}

/* The formats are the caller's literals, checked where they are written: see outfmt.h. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void outfmt_uint(struct outfmt *o, const char *k, const char *fmt, unsigned long long v)
{
	if (o->json) {
		key(o, k);
		fprintf(o->out, "%llu", v);
	} else if (fmt) {
		fprintf(o->out, fmt, v);
	}
}

void outfmt_int(struct outfmt *o, const char *k, const char *fmt, long long v)
{
	if (o->json) {
		key(o, k);
		fprintf(o->out, "%lld", v);
	} else if (fmt) {
		fprintf(o->out, fmt, v);
	}
}

void outfmt_str(struct outfmt *o, const char *k, const char *fmt, const char *v)
{
	if (o->json) {
		key(o, k);
		if (v)
			json_string(o->out, v);
		else
			fputs("null", o->out);
	} else if (fmt) {
		fprintf(o->out, fmt, v ? v : "-");
	}
}

void outfmt_num(struct outfmt *o, const char *k, const char *fmt, const char *v)
{
	if (o->json) {
		key(o, k);
		fputs(v ? v : "null", o->out);
	} else if (fmt) {
		fprintf(o->out, fmt, v ? v : "-");
	}
}

void outfmt_bool(struct outfmt *o, const char *k, const char *fmt, bool v)
{
	if (o->json) {
		key(o, k);
		fputs(v ? "true" : "false", o->out);
	} else if (fmt && v) {
		fputs(fmt, o->out);
	}
}
#pragma GCC diagnostic pop

void outfmt__free(struct outfmt *o)
{
	if (!o)
		return;
	while (o->json && o->depth)
		outfmt_close(o);
	if (o->json)
		fputc('\n', o->out);
	fflush(o->out);
	free(o);
}
