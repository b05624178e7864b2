/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The crux-map printer: one normalised row per socket, printed either as a fixed-width
 * table (header optional) or as JSON, by the same call (iproute2's print_*(PRINT_ANY)
 * idea). Names are binary: (bytes, len), abstract names print with a leading '@'.
 */
#ifndef CRUX_SOCKPRINT_H
#define CRUX_SOCKPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "abi.h"

enum sp_col {
	SP_PID = 0,
	SP_COMM,
	SP_FD,
	SP_ROLE,
	SP_INO,
	SP_TYPE,
	SP_STATE,
	SP_CLASS,
	SP_EXT,
	SP_NAME,
	SP_PEER,
	SP_PEER_NAME,
	SP_PEER_PID,
	SP_PEER_COMM,
	SP_PEER_FD,
	SP_NETNS,
	SP_ACTION,
	SP_REASON,
	SP__MAX,
};

/* A binary unix name: len 0 = none. */
struct sp_name {
	const char *bytes;
	size_t len;
};

struct sockrow {
	__u64 ino;
	__u16 type;
	const char *state; /* sockprint_state() */
	struct sp_name name;
	__u64 netns;
	__u64 peer; /* 0: none (JSON null) */
	struct sp_name peer_name;
	__u32 pid; /* 0: unknown */
	const char *comm; /* NULL: unknown */
	int fd; /* < 0: unknown */
	__u32 peer_pid;
	const char *peer_comm;
	int peer_fd;
	const char *role; /* who: bound/accepted/connected/queued */
	const char *cls; /* external: class */
	int ext; /* external: -1 not applicable, 0 no, 1 --ext-unix-sk accepts it */
	const char *action;
	const char *reason;
};

struct sockprint;

/*
 * cols: the table's columns, in order; JSON prints the same keys plus the socket keys
 * every command has (ino type state name peer peer_name pid comm netns).
 */
struct sockprint *sockprint__new(FILE *out, bool json, bool header, const enum sp_col *cols,
				 size_t n_cols);
/*
 * The same inside a larger output: JSON, an array under key in o's open object; text, the
 * table. o stays the caller's.
 */
struct outfmt;
struct sockprint *sockprint__new_in(struct outfmt *o, const char *key, bool header,
				    const enum sp_col *cols, size_t n_cols);
void sockprint_row(struct sockprint *p, const struct sockrow *row);
/* Ends the JSON array (or prints an empty table's header); frees. Accepts NULL. */
void sockprint__free(struct sockprint *p);

/* listen / established / unconnected / closed, from the record and whether its peer lives. */
const char *sockprint_state(const struct crux_sock *s, bool peer_alive);
/* A crux_sock's fields into a row (no peer, pid from owner_tgid). */
void sockprint_row_from_sock(struct sockrow *row, const struct crux_sock *s);

/* One crux-map watch line: a table row, or a JSON object per line. */
void sockprint_event(FILE *out, const struct crux_event *e, bool json);
void sockprint_event_header(FILE *out);

/* A binary name as text: '@' for abstract, escapes as unix_name_format(); "-" if none. */
const char *sockprint_name(const struct sp_name *n, char *buf, size_t sz);

#endif /* CRUX_SOCKPRINT_H */
