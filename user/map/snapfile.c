// SPDX-License-Identifier: GPL-2.0-only
/*
 * A recorded crux-map snapshot (snapfile.h), read and written. The file format is line based, one record per line, fields
 * key=value; strings are quoted with every byte outside printable ASCII (and '"', '\')
 * written as \xHH, so names stay binary-safe:
 *
 *   # crux-map snapshot 1
 *   stat 0 42                                  (index, value)
 *   sock ino=11 sk=1 type=1 state=1 flags=0 peer=12 peer_sk=2 listener=0 netns=4026531840
 *        owner=100 gen=3 comm="a" name="\x00abc"
 *   conn ino=31 sk=5 relative=0 truncated=0 path="/dev/log"
 *   proc pid=100 ppid=1 comm="a"
 *   fd pid=100 fd=3 ino=11
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "snapfile: "
#include "log.h"
#include "snapfile.h"
#include "util.h"

void snapfile_free(struct snapfile *f)
{
	size_t i;

	if (!f)
		return;
	free(f->socks);
	free(f->conns);
	free(f->conn_ino);
	for (i = 0; i < f->n_procs; i++)
		free(f->procs[i].fds);
	free(f->procs);
	free(f);
}

/* Value of key in a tokenised line; quoted values are decoded into out (binary). */
static const char *field(char *line, const char *key, char *out, size_t outsz, size_t *ret_len)
{
	size_t klen = strlen(key);
	char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=')
			break;
		p += klen;
	}
	if (!p)
		return NULL;
	p += klen + 1;
	if (*p != '"') {
		size_t len = strcspn(p, " \n");

		if (len >= outsz)
			return NULL;
		memcpy(out, p, len);
		out[len] = '\0';
		*ret_len = len;
		return out;
	}
	*ret_len = 0;
	for (p++; *p && *p != '"'; p++) {
		unsigned int v;

		if (*ret_len + 1 >= outsz)
			return NULL;
		if (p[0] == '\\' && p[1] == 'x' && sscanf(p + 2, "%2x", &v) == 1) {
			out[(*ret_len)++] = (char)v;
			p += 3;
		} else {
			out[(*ret_len)++] = *p;
		}
	}
	out[*ret_len] = '\0';
	return *p == '"' ? out : NULL;
}

static int field_u64(char *line, const char *key, __u64 *v)
{
	char buf[32];
	size_t len;
	uint64_t x;

	if (!field(line, key, buf, sizeof(buf), &len) || parse_u64(buf, 0, UINT64_MAX, &x))
		return -EINVAL;
	*v = x;
	return 0;
}

static int field_bytes(char *line, const char *key, char *out, size_t max, __u16 *ret_len)
{
	char buf[CRUX_CONN_PATH_MAX + 1];
	size_t len;

	if (!field(line, key, buf, sizeof(buf), &len) || len > max)
		return -EINVAL;
	memset(out, 0, max);
	memcpy(out, buf, len);
	if (ret_len)
		*ret_len = (__u16)len;
	return 0;
}

static int parse_sock(char *line, struct crux_sock *s)
{
	__u64 type, state, flags, owner, gen;
	char comm[CRUX_COMM_LEN];

	memset(s, 0, sizeof(*s));
	if (field_u64(line, "ino", &s->ino) || field_u64(line, "sk", &s->sk) ||
	    field_u64(line, "type", &type) || field_u64(line, "state", &state) ||
	    field_u64(line, "flags", &flags) || field_u64(line, "peer", &s->peer_ino) ||
	    field_u64(line, "peer_sk", &s->peer_sk) ||
	    field_u64(line, "listener", &s->listener_ino) ||
	    field_u64(line, "netns", &s->netns_cookie) || field_u64(line, "owner", &owner) ||
	    field_u64(line, "gen", &gen) ||
	    field_bytes(line, "name", s->name, sizeof(s->name), &s->name_len))
		return -EINVAL;
	if (field_bytes(line, "comm", comm, sizeof(comm) - 1, NULL))
		return -EINVAL;
	memcpy(s->owner_comm, comm, sizeof(comm));
	s->type = (__u16)type;
	s->state = (__u8)state;
	s->flags = (__u8)flags;
	s->owner_tgid = (__u32)owner;
	s->gen = (__u32)gen;
	return 0;
}

static int parse_conn(char *line, struct crux_conn *c, __u64 *ino)
{
	__u64 rel, trunc;

	memset(c, 0, sizeof(*c));
	if (field_u64(line, "ino", ino) || field_u64(line, "sk", &c->sk) ||
	    field_u64(line, "relative", &rel) || field_u64(line, "truncated", &trunc) ||
	    field_bytes(line, "path", c->path, sizeof(c->path), &c->len))
		return -EINVAL;
	c->relative = !!rel;
	c->truncated = !!trunc;
	return 0;
}

static int parse_proc(char *line, struct mapsrc_proc *p)
{
	__u64 pid, ppid;

	memset(p, 0, sizeof(*p));
	if (field_u64(line, "pid", &pid) || field_u64(line, "ppid", &ppid) ||
	    field_bytes(line, "comm", p->comm, sizeof(p->comm) - 1, NULL))
		return -EINVAL;
	p->pid = (pid_t)pid;
	p->ppid = (pid_t)ppid;
	return 0;
}

struct mapsrc_proc *snapfile_proc(struct snapfile *f, pid_t pid)
{
	size_t i;

	for (i = 0; i < f->n_procs; i++)
		if (f->procs[i].pid == pid)
			return &f->procs[i];
	return NULL;
}

static int parse_fd(struct snapfile *f, char *line)
{
	__u64 pid, fd, ino;
	struct mapsrc_fd *t;
	struct mapsrc_proc *p;

	if (field_u64(line, "pid", &pid) || field_u64(line, "fd", &fd) ||
	    field_u64(line, "ino", &ino) || fd > INT32_MAX)
		return -EINVAL;
	p = snapfile_proc(f, (pid_t)pid);
	if (!p)
		return -ENOENT; /* fd lines follow their proc line */
	/* grow one at a time: recorded snapshots are small */
	t = realloc(p->fds, (p->n_fds + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	p->fds = t;
	p->fds[p->n_fds++] = (struct mapsrc_fd){ .fd = (int)fd, .ino = ino };
	return 0;
}

int snapfile_sock_cmp(const void *a, const void *b)
{
	const struct crux_sock *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int parse_line(struct snapfile *f, char *line, size_t caps[3])
{
	int err;
	uint64_t idx, val;
	char kw[8];

	if (line[0] == '#' || line[0] == '\n' || !line[0])
		return 0;
	if (sscanf(line, "%7s", kw) != 1)
		return -EINVAL;
	if (!strcmp(kw, "stat")) {
		char a[24], b[24];

		if (sscanf(line, "stat %23s %23s", a, b) != 2 ||
		    parse_u64(a, 0, CRUX_ST__MAX - 1, &idx) || parse_u64(b, 0, UINT64_MAX, &val))
			return -EINVAL;
		f->stats[idx] = val;
		return 0;
	}
	if (!strcmp(kw, "sock")) {
		if (GROW(f->socks, f->n_socks, caps[0]))
			return -ENOMEM;
		return parse_sock(line, &f->socks[f->n_socks++]);
	}
	if (!strcmp(kw, "conn")) {
		size_t cap2 = caps[1];

		if (GROW(f->conns, f->n_conns, caps[1]) || GROW(f->conn_ino, f->n_conns, cap2))
			return -ENOMEM;
		err = parse_conn(line, &f->conns[f->n_conns], &f->conn_ino[f->n_conns]);
		f->n_conns++;
		return err;
	}
	if (!strcmp(kw, "proc")) {
		if (GROW(f->procs, f->n_procs, caps[2]))
			return -ENOMEM;
		return parse_proc(line, &f->procs[f->n_procs++]);
	}
	if (!strcmp(kw, "fd"))
		return parse_fd(f, line);
	return -EINVAL;
}

int snapfile_read(const char *path, struct snapfile **ret)
{
	size_t caps[3] = { 0 }, lineno = 0;
	struct snapfile *f;
	char line[2048];
	int err = 0;
	FILE *in;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	in = fopen(path, "re");
	if (!in) {
		err = -errno;
		snapfile_free(f);
		return err;
	}
	while (!err && fgets(line, sizeof(line), in)) {
		lineno++;
		err = parse_line(f, line, caps);
	}
	fclose(in);
	if (err) {
		pr_debug("%s:%zu: bad snapshot line", path, lineno);
		snapfile_free(f);
		return err == -ENOMEM ? err : -EBADMSG;
	}
	qsort(f->socks, f->n_socks, sizeof(*f->socks), snapfile_sock_cmp);
	*ret = f;
	return 0;
}

/* ---- the handle ---- */

/* ---- recording ---- */

void snapfile_write_bytes(FILE *out, const char *b, size_t len)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void snapfile_write_proc(FILE *out, const struct mapsrc_proc *p)
{
	size_t i;

	fprintf(out, "proc pid=%d ppid=%d comm=", p->pid, p->ppid);
	snapfile_write_bytes(out, p->comm, strnlen(p->comm, sizeof(p->comm)));
	fputc('\n', out);
	for (i = 0; i < p->n_fds; i++)
		fprintf(out, "fd pid=%d fd=%d ino=%llu\n", p->pid, p->fds[i].fd,
			(unsigned long long)p->fds[i].ino);
}

void snapfile_write_sock(FILE *out, const struct crux_sock *r)
{
	fprintf(out,
		"sock ino=%llu sk=%llu type=%u state=%u flags=%u peer=%llu peer_sk=%llu "
		"listener=%llu netns=%llu owner=%u gen=%u comm=",
		(unsigned long long)r->ino, (unsigned long long)r->sk, r->type, r->state, r->flags,
		(unsigned long long)r->peer_ino, (unsigned long long)r->peer_sk,
		(unsigned long long)r->listener_ino, (unsigned long long)r->netns_cookie,
		r->owner_tgid, r->gen);
	snapfile_write_bytes(out, r->owner_comm, strnlen(r->owner_comm, sizeof(r->owner_comm)));
	fputs(" name=", out);
	snapfile_write_bytes(out, r->name, MIN((size_t)r->name_len, sizeof(r->name)));
	fputc('\n', out);
}
