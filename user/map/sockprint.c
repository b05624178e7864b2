// SPDX-License-Identifier: GPL-2.0-only
/*
 * One printer for every crux-map listing: each row goes through sockprint_row(), which
 * hands each cell to outfmt (user/base/outfmt.h) once, with its JSON key and its table
 * format, so the table and the JSON cannot drift apart.
 */
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "outfmt.h"
#include "sockprint.h"
#include "util.h"

#define NAME_TEXT_MAX (4 * CRUX_CONN_PATH_MAX + 2)

static const struct {
	const char *head; /* table header */
	const char *key; /* JSON key */
	int width; /* table width; names and comms may overflow it */
} cols[SP__MAX] = {
	[SP_PID] = { "PID", "pid", 7 },
	[SP_COMM] = { "COMM", "comm", 15 },
	[SP_FD] = { "FD", "fd", 5 },
	[SP_ROLE] = { "ROLE", "role", 9 },
	[SP_INO] = { "INO", "ino", 9 },
	[SP_TYPE] = { "TYPE", "type", 9 },
	[SP_STATE] = { "STATE", "state", 11 },
	[SP_CLASS] = { "CLASS", "class", 11 },
	[SP_EXT] = { "EXT", "ext_unix_sk", 3 },
	[SP_NAME] = { "NAME", "name", 16 },
	[SP_PEER] = { "PEER", "peer", 9 },
	[SP_PEER_NAME] = { "PEER_NAME", "peer_name", 16 },
	[SP_PEER_PID] = { "PEER_PID", "peer_pid", 8 },
	[SP_PEER_COMM] = { "PEER_COMM", "peer_comm", 15 },
	[SP_PEER_FD] = { "PEER_FD", "peer_fd", 7 },
	[SP_NETNS] = { "NETNS", "netns", 10 },
	[SP_ACTION] = { "ACTION", "action", 31 },
	[SP_REASON] = { "REASON", "reason", 0 },
};

/* Keys every JSON socket object carries, in this order, before the command's own. */
static const enum sp_col base_keys[] = { SP_INO,       SP_TYPE, SP_STATE, SP_NAME, SP_PEER,
					 SP_PEER_NAME, SP_PID,	SP_COMM,  SP_NETNS };

struct sockprint {
	struct outfmt *o;
	bool own; /* o is ours to free */
	bool json, header, header_done;
	enum sp_col cols[SP__MAX];
	size_t n_cols;
	enum sp_col keys[SP__MAX];
	size_t n_keys;
	char fmt[SP__MAX][16]; /* the table format of each column: "%-9s " ... "%s" */
};

static struct sockprint *sockprint_new(struct outfmt *o, const char *key, bool header,
				       const enum sp_col *c, size_t n_cols)
{
	struct sockprint *p = calloc(1, sizeof(*p));
	bool seen[SP__MAX] = { false };
	size_t i;

	if (!p)
		return NULL;
	p->o = o;
	p->json = outfmt_json(o);
	p->header = header;
	for (i = 0; i < n_cols && i < SP__MAX; i++) {
		p->cols[p->n_cols] = c[i];
		if (i + 1 == n_cols)
			snprintf(p->fmt[p->n_cols], sizeof(p->fmt[0]), "%%s");
		else
			snprintf(p->fmt[p->n_cols], sizeof(p->fmt[0]), "%%-%ds ", cols[c[i]].width);
		p->n_cols++;
	}
	for (i = 0; i < ARRAY_SIZE(base_keys); i++) {
		p->keys[p->n_keys++] = base_keys[i];
		seen[base_keys[i]] = true;
	}
	for (i = 0; i < p->n_cols; i++) {
		if (!seen[p->cols[i]])
			p->keys[p->n_keys++] = p->cols[i];
		seen[p->cols[i]] = true;
	}
	outfmt_set_rows(o);
	outfmt_open(o, key, '[');
	return p;
}

struct sockprint *sockprint__new(FILE *out, bool json, bool header, const enum sp_col *c,
				 size_t n_cols)
{
	struct outfmt *o = outfmt__new(out, json);
	struct sockprint *p = o ? sockprint_new(o, NULL, header, c, n_cols) : NULL;

	if (!p) {
		outfmt__free(o);
		return NULL;
	}
	p->own = true;
	return p;
}

struct sockprint *sockprint__new_in(struct outfmt *o, const char *key, bool header,
				    const enum sp_col *c, size_t n_cols)
{
	return sockprint_new(o, key, header, c, n_cols);
}

const char *sockprint_name(const struct sp_name *n, char *buf, size_t sz)
{
	size_t len = n->bytes ? classify_name_len(n->bytes, n->len) : 0;

	if (!len)
		return "-";
	unix_name_format(n->bytes, len, buf, sz);
	return buf;
}

/* The text of a cell, or NULL for "no value" (JSON null, table "-"). */
static const char *cell(const struct sockrow *r, enum sp_col c, bool json, char *buf, size_t sz,
			bool *numeric)
{
	*numeric = false;
	switch (c) {
	case SP_PID:
		*numeric = true;
		return r->pid ? (snprintf(buf, sz, "%u", r->pid), buf) : NULL;
	case SP_COMM:
		return r->comm;
	case SP_FD:
		*numeric = true;
		return r->fd >= 0 ? (snprintf(buf, sz, "%d", r->fd), buf) : NULL;
	case SP_ROLE:
		return r->role;
	case SP_INO:
		*numeric = true;
		return snprintf(buf, sz, "%llu", (unsigned long long)r->ino), buf;
	case SP_TYPE:
		if (classify_type_name(r->type))
			return classify_type_name(r->type);
		return snprintf(buf, sz, "type-%u", r->type), buf;
	case SP_STATE:
		return r->state;
	case SP_CLASS:
		return r->cls;
	case SP_EXT:
		*numeric = true; /* JSON true/false, the table yes/no */
		if (r->ext < 0)
			return NULL;
		return json ? (r->ext ? "true" : "false") : (r->ext ? "yes" : "no");
	case SP_NAME:
		return r->name.len ? sockprint_name(&r->name, buf, sz) : NULL;
	case SP_PEER:
		*numeric = true;
		return r->peer ? (snprintf(buf, sz, "%llu", (unsigned long long)r->peer), buf) :
				 NULL;
	case SP_PEER_NAME:
		return r->peer_name.len ? sockprint_name(&r->peer_name, buf, sz) : NULL;
	case SP_PEER_PID:
		*numeric = true;
		return r->peer_pid ? (snprintf(buf, sz, "%u", r->peer_pid), buf) : NULL;
	case SP_PEER_COMM:
		return r->peer_comm;
	case SP_PEER_FD:
		*numeric = true;
		return r->peer_fd >= 0 ? (snprintf(buf, sz, "%d", r->peer_fd), buf) : NULL;
	case SP_NETNS:
		*numeric = true;
		return r->netns ? (snprintf(buf, sz, "%llu", (unsigned long long)r->netns), buf) :
				  NULL;
	case SP_ACTION:
		return r->action;
	case SP_REASON:
		return r->reason;
	case SP__MAX:
		break;
	}
	return NULL;
}

/* The table's header line (text only: JSON has its keys). */
static void print_header(struct sockprint *p)
{
	size_t i;

	if (p->json || !p->header || p->header_done)
		return;
	p->header_done = true;
	for (i = 0; i < p->n_cols; i++)
		outfmt_str(p->o, NULL, p->fmt[i], cols[p->cols[i]].head);
	outfmt_text(p->o, "\n");
}

/*
 * One row: JSON walks the keys (every command's socket keys, then its own), the table its
 * columns; each cell is one outfmt call either way.
 */
void sockprint_row(struct sockprint *p, const struct sockrow *r)
{
	const enum sp_col *list = p->json ? p->keys : p->cols;
	size_t i, n = p->json ? p->n_keys : p->n_cols;
	char buf[NAME_TEXT_MAX];

	print_header(p);
	outfmt_open(p->o, NULL, '{');
	for (i = 0; i < n; i++) {
		bool numeric;
		const char *v = cell(r, list[i], p->json, buf, sizeof(buf), &numeric);
		const char *key = cols[list[i]].key, *fmt = p->json ? NULL : p->fmt[i];

		if (numeric)
			outfmt_num(p->o, key, fmt, v);
		else
			outfmt_str(p->o, key, fmt, v);
	}
	outfmt_close(p->o);
	outfmt_text(p->o, "\n");
}

void sockprint__free(struct sockprint *p)
{
	if (!p)
		return;
	print_header(p); /* an empty table still has its header */
	outfmt_close(p->o);
	if (p->own)
		outfmt__free(p->o);
	free(p);
}

const char *sockprint_state(const struct crux_sock *s, bool peer_alive)
{
	if (s->state == 10)
		return "listen";
	if (s->flags & CRUX_SK_DEAD)
		return "closed";
	if (s->flags & CRUX_SK_EMBRYO)
		return "established";
	if (s->peer_ino)
		return peer_alive ? "established" : "closed";
	/* connected dgram reports ESTABLISHED since 5.15: connectedness comes from the peer */
	return s->state == 1 && s->type != 2 ? "closed" : "unconnected";
}

void sockprint_row_from_sock(struct sockrow *row, const struct crux_sock *s)
{
	memset(row, 0, sizeof(*row));
	row->ino = s->ino;
	row->type = s->type;
	row->state = sockprint_state(s, true);
	row->name.bytes = s->name;
	row->name.len = MIN((size_t)s->name_len, sizeof(s->name));
	row->netns = s->netns_cookie;
	row->peer = s->peer_ino;
	row->pid = s->owner_tgid;
	row->comm = s->owner_comm[0] ? s->owner_comm : NULL;
	row->fd = -1;
	row->peer_fd = -1;
	row->ext = -1;
}

static const char *const event_names[] = {
	[CRUX_EV_SOCKET] = "socket",   [CRUX_EV_SOCKETPAIR] = "socketpair",
	[CRUX_EV_BIND] = "bind",       [CRUX_EV_LISTEN] = "listen",
	[CRUX_EV_CONNECT] = "connect", [CRUX_EV_ACCEPT] = "accept",
	[CRUX_EV_CLOSE] = "close",
};

void sockprint_event_header(FILE *out)
{
	fprintf(out, "%-10s %-7s %-15s %-9s %-9s %-9s %s\n", "EVENT", "PID", "COMM", "INO", "TYPE",
		"PEER", "NAME");
}

/* One event: a table line, or one JSON object on a line of its own. */
void sockprint_event(FILE *out, const struct crux_event *e, bool json)
{
	struct sp_name nm = { e->name, MIN((size_t)e->name_len, sizeof(e->name)) };
	const char *kind = "?", *type = classify_type_name(e->type);
	char buf[NAME_TEXT_MAX], comm[CRUX_COMM_LEN + 1], peer[24];
	const char *name = sockprint_name(&nm, buf, sizeof(buf));
	struct outfmt *o = outfmt__new(out, json);

	if (!o)
		return;
	if (e->kind < ARRAY_SIZE(event_names) && event_names[e->kind])
		kind = event_names[e->kind];
	snprintf(comm, sizeof(comm), "%.*s", CRUX_COMM_LEN, e->comm);
	snprintf(peer, sizeof(peer), "%llu", (unsigned long long)e->peer_ino);
	outfmt_open(o, NULL, '{');
	outfmt_uint(o, "ts_ns", NULL, e->ts_ns);
	outfmt_str(o, "event", "%-10s ", kind);
	outfmt_uint(o, "pid", "%-7llu ", e->tgid);
	outfmt_str(o, "comm", "%-15s ", comm);
	outfmt_uint(o, "ino", "%-9llu ", e->ino);
	outfmt_str(o, "type", "%-9s ", type);
	outfmt_num(o, "peer", "%-9s ", e->peer_ino ? peer : NULL);
	outfmt_str(o, "name", "%s", name == buf ? name : NULL);
	outfmt_text(o, "\n");
	outfmt__free(o);
}
