// SPDX-License-Identifier: GPL-2.0-only
/*
 * The unix kind's part of `crux show` (the third file of the kind, fd_unix.h): each socket
 * with its peer, name, state, queued messages and, for an external peer, the record and
 * the policy restore applies; then the external records of crux-ext.img; then totals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "show: "
#include "fd.h"
#include "fd_unix.h"
#include "log.h"
#include "outfmt.h"
#include "pb.h"
#include "showctx.h"
#include "util.h"
#include "crux_ext.pb-c.h"
#include "fdinfo.pb-c.h"
#include "sk_packet.pb-c.h"

#define USK_EXTERN 1u

struct show_unix {
	CruxExtEntry **ext; /* crux-ext.img, sorted by inode */
	size_t n_ext;
	const FileEntry **usks; /* the unix sockets of files.img, sorted by inode */
	size_t n_usks;
	struct qsum *skq; /* per receiving socket's file id */
	size_t n_skq, cap_skq;
	uint64_t nr_unix, nr_external;
};

/* The key of that state (kstate.h): this file's own, so that it needs nothing of unix.c. */
static const char show_unix_key;

static struct show_unix *ustate(const struct fd_show *s)
{
	return show_kstate_get(s, &show_unix_key);
}

static uint32_t sk_payload(const void *msg)
{
	return ((const SkPacketEntry *)msg)->length;
}

static int cmp_ext(const void *a, const void *b)
{
	const CruxExtEntry *x = *(CruxExtEntry *const *)a, *y = *(CruxExtEntry *const *)b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static const CruxExtEntry *ext_find(const struct fd_show *s, uint32_t ino)
{
	const struct show_unix *us = ustate(s);
	CruxExtEntry key = CRUX_EXT_ENTRY__INIT, *kp = &key, **hit;

	key.ino = ino;
	hit = us->n_ext ? bsearch(&kp, us->ext, us->n_ext, sizeof(*us->ext), cmp_ext) : NULL;
	return hit ? *hit : NULL;
}

static int cmp_usk(const void *a, const void *b)
{
	const FileEntry *x = *(const FileEntry *const *)a, *y = *(const FileEntry *const *)b;

	return x->usk->ino < y->usk->ino ? -1 : x->usk->ino > y->usk->ino;
}

/* The unix socket entries of files.img by inode, for peer lookups. */
static int usk_index(struct fd_show *s)
{
	struct show_unix *us = ustate(s);
	size_t i;

	us->usks = calloc(s->n_files ?: 1, sizeof(*us->usks));
	if (!us->usks)
		return pr_err_ret(-ENOMEM, "out of memory");
	for (i = 0; i < s->n_files; i++)
		if (s->files[i]->usk)
			us->usks[us->n_usks++] = s->files[i];
	if (us->n_usks)
		qsort(us->usks, us->n_usks, sizeof(*us->usks), cmp_usk);
	return 0;
}

static const FileEntry *usk_find(const struct fd_show *s, uint32_t ino)
{
	const struct show_unix *us = ustate(s);
	UnixSkEntry u = UNIX_SK_ENTRY__INIT;
	FileEntry key = FILE_ENTRY__INIT;
	const FileEntry *kp = &key, **hit;

	if (!ino || !us->n_usks)
		return NULL;
	u.ino = ino;
	key.usk = &u;
	hit = bsearch(&kp, us->usks, us->n_usks, sizeof(*us->usks), cmp_usk);
	return hit ? *hit : NULL;
}

static const char *sock_type(uint32_t type)
{
	switch (type) {
	case 1:
		return "stream";
	case 2:
		return "dgram";
	case 5:
		return "seqpacket";
	}
	return "type?";
}

static const char *sock_state(uint32_t state)
{
	switch (state) {
	case 1:
		return "established";
	case 7:
		return "unconnected";
	case 10:
		return "listening";
	}
	return "state?";
}

static const char *policy_name(CruxExtPolicy p)
{
	switch (p) {
	case CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_DGRAM:
		return "reconnect-dgram";
	case CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_STREAM:
		return "reconnect-stream";
	default:
		return "none";
	}
}

/* A binary unix name, printed as ss does ('@' for abstract); nothing when empty. */
static void out_name(struct fd_show *s, const char *key, const char *fmt,
		     const ProtobufCBinaryData *name)
{
	char buf[256];

	if (!name->len)
		return;
	unix_name_format(name->data, name->len, buf, sizeof(buf));
	outfmt_str(s->o, key, fmt, buf);
}

static void out_external(struct fd_show *s, const UnixSkEntry *u, const FileEntry *peer)
{
	struct show_unix *us = ustate(s);
	const CruxExtEntry *x = ext_find(s, u->ino);

	us->nr_external++;
	outfmt_open(s->o, "external", '{');
	outfmt_text(s->o, ", external peer");
	out_name(s, "peer_name", " %s", &peer->usk->name);
	if (x) {
		outfmt_str(s->o, "peer_owner_comm", " (%s", x->peer_owner_comm);
		outfmt_uint(s->o, "peer_owner_pid", " pid %llu)", x->peer_owner_pid);
		outfmt_str(s->o, "policy", ", %s", policy_name(x->policy));
	} else {
		show_problem(s, "unix socket %u has an external peer but no crux-ext.img record",
			     u->ino);
	}
	outfmt_close(s->o);
}

static void out_unix(struct fd_show *s, const FileEntry *f)
{
	struct show_unix *us = ustate(s);
	const UnixSkEntry *u = f->usk;
	const FileEntry *peer;

	us->nr_unix++;
	outfmt_uint(s->o, "ino", "unix[%llu", u->ino);
	outfmt_uint(s->o, "peer", " (%llu)]", u->peer);
	out_name(s, "name", " %s", &u->name);
	outfmt_bool(s->o, "deleted", " (deleted)", u->has_deleted && u->deleted);
	outfmt_str(s->o, "sock_type", " %s", sock_type(u->type));
	outfmt_str(s->o, "state", " %s", sock_state(u->state));
	if (u->state == 10)
		outfmt_uint(s->o, "backlog", " backlog %llu", u->backlog);
	if (u->has_shutdown && u->shutdown != SK_SHUTDOWN__NONE)
		outfmt_str(s->o, "shutdown", " shut %s",
			   u->shutdown == SK_SHUTDOWN__BOTH ? "both" :
			   u->shutdown == SK_SHUTDOWN__READ ? "read" :
							      "write");
	show_out_queue(s, show_qsum_find(us->skq, us->n_skq, f->id), "packet");
	peer = usk_find(s, u->peer);
	if (peer && (peer->usk->uflags & USK_EXTERN))
		out_external(s, u, peer);
}

static void show_externals(struct fd_show *s)
{
	struct show_unix *us = ustate(s);
	const CruxExtEntry *x;
	size_t i;

	if (us->n_ext)
		outfmt_text(s->o, "external unix sockets (crux-ext.img)\n");
	outfmt_open(s->o, "external", '[');
	for (i = 0; i < us->n_ext; i++) {
		x = us->ext[i];
		outfmt_open(s->o, NULL, '{');
		outfmt_uint(s->o, "ino", "  ino %llu", x->ino);
		outfmt_uint(s->o, "pid", " (pid %llu", x->owner_pid);
		outfmt_uint(s->o, "fd", " fd %llu", x->owner_fd);
		outfmt_uint(s->o, "file_id", NULL, x->file_id);
		outfmt_str(s->o, "sock_type", ", %s)", sock_type(x->type));
		outfmt_uint(s->o, "peer", " peer %llu", x->peer_ino);
		if (x->has_peer_name)
			out_name(s, "peer_name", " %s", &x->peer_name);
		outfmt_str(s->o, "peer_owner_comm", " held by %s", x->peer_owner_comm);
		outfmt_uint(s->o, "peer_owner_pid", " (pid %llu)", x->peer_owner_pid);
		if (x->has_addr)
			out_name(s, "addr", ", connected to %s", &x->addr);
		outfmt_str(s->o, "policy", ", policy %s\n", policy_name(x->policy));
		outfmt_close(s->o);
	}
	outfmt_close(s->o);
}

static uint32_t scm_fds(const SkPacketEntry *e)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < e->n_scm; i++)
		n += e->scm[i]->n_rights;
	return n;
}

static int unix_show_load(struct fd_show *s)
{
	void **slot = show_kstate(s, &show_unix_key), **skq = NULL;
	struct show_unix *us;
	size_t n_skq = 0, i;
	int err;

	if (!slot || !(*slot = us = calloc(1, sizeof(*us))))
		return pr_err_ret(-ENOMEM, "out of memory");
	err = show_load(s, IMG_CRUX_EXT, 0, true, NULL, (void ***)&us->ext, &us->n_ext);
	err = err ?: show_load(s, IMG_SK_QUEUES, 0, true, sk_payload, &skq, &n_skq);
	for (i = 0; !err && i < n_skq; i++)
		err = show_qsum_add(&us->skq, &us->n_skq, &us->cap_skq,
				    ((SkPacketEntry *)skq[i])->id_for,
				    ((SkPacketEntry *)skq[i])->length, scm_fds(skq[i]));
	show_msgs_free(skq, n_skq);
	show_qsum_sort(us->skq, &us->n_skq);
	if (us->n_ext)
		qsort(us->ext, us->n_ext, sizeof(*us->ext), cmp_ext);
	return err ?: usk_index(s);
}

static void unix_show_totals(struct fd_show *s)
{
	const struct show_unix *us = ustate(s);
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < us->n_skq; i++)
		bytes += us->skq[i].bytes;
	outfmt_uint(s->o, "unix", ", %llu unix sockets", us->nr_unix);
	outfmt_uint(s->o, "external", " (%llu external)", us->nr_external);
	outfmt_uint(s->o, "socket_queue_bytes", ", %llu bytes in socket queues", bytes);
}

static void unix_show_free(struct fd_show *s)
{
	struct show_unix *us = ustate(s);

	show_msgs_free((void **)us->ext, us->n_ext);
	free(us->usks);
	free(us->skq);
	free(us);
	*show_kstate(s, &show_unix_key) = NULL;
}

int unix_show(struct fd_show *s, enum fd_show_step step, const FileEntry *f)
{
	if (step == FD_SHOW_LOAD)
		return unix_show_load(s);
	if (!ustate(s))
		return 0;
	switch (step) {
	case FD_SHOW_FILE:
		if (f->usk)
			out_unix(s, f);
		break;
	case FD_SHOW_RECORDS:
		show_externals(s);
		break;
	case FD_SHOW_TOTALS:
		unix_show_totals(s);
		break;
	case FD_SHOW_FREE:
		unix_show_free(s);
		break;
	default:
		break;
	}
	return 0;
}
