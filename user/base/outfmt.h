/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One printer for text and JSON (iproute2's print_*(PRINT_ANY, ...) idea): each call names
 * a JSON key and gives the text format of the same value. In text mode the formats are
 * printed and the keys ignored; in JSON mode the keys and values are printed and the text
 * formats ignored, objects and arrays nest, and outfmt_text() prints nothing.
 */
#ifndef CRUX_OUTFMT_H
#define CRUX_OUTFMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct outfmt;

/* NULL only when out of memory. */
struct outfmt *outfmt__new(FILE *out, bool json);
/* Closes whatever is still open (JSON), ends with a newline; NULL is fine. */
void outfmt__free(struct outfmt *o);
bool outfmt_json(const struct outfmt *o);
/*
 * JSON: each element of an array on a line of its own ("[\n{...},\n{...}\n]"): listings
 * stay greppable and diffable line by line.
 */
void outfmt_set_rows(struct outfmt *o);

/* An object ('{') or array ('['); key NULL inside arrays and at the top. */
void outfmt_open(struct outfmt *o, const char *key, char kind);
void outfmt_close(struct outfmt *o);

/* Text only. */
void outfmt_text(struct outfmt *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A value: text printf(fmt, v); JSON "key": v. fmt may be NULL (JSON only). */
void outfmt_uint(struct outfmt *o, const char *key, const char *fmt, unsigned long long v);
void outfmt_int(struct outfmt *o, const char *key, const char *fmt, long long v);
/* v NULL: JSON null, text "-" (no value). */
void outfmt_str(struct outfmt *o, const char *key, const char *fmt, const char *v);
/* A number already formatted (a column of a table): JSON unquoted; NULL as for str. */
void outfmt_num(struct outfmt *o, const char *key, const char *fmt, const char *v);
/* text: fmt printed only when v is true; JSON: true/false. */
void outfmt_bool(struct outfmt *o, const char *key, const char *fmt, bool v);

#endif /* CRUX_OUTFMT_H */
