// SPDX-License-Identifier: GPL-2.0-only
/* The live map against sock_diag, socket by socket (see mapcheck.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapcheck.h"
#include "tap.h"
#include "util.h"

static int mapcheck_cmp_rec(const void *a, const void *b)
{
	const struct crux_sock *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

void mapcheck_sort(struct crux_sock *recs, size_t n)
{
	if (n)
		qsort(recs, n, sizeof(*recs), mapcheck_cmp_rec);
}

const struct crux_sock *mapcheck_find(const struct crux_sock *recs, size_t n, __u64 ino)
{
	struct crux_sock key = { .ino = ino };

	if (!n)
		return NULL;
	return bsearch(&key, recs, n, sizeof(*recs), mapcheck_cmp_rec);
}

void mapcheck_kernel_peer(const struct sockdiag_table *t, const struct sockdiag_unix *s,
			  struct mapcheck_peer *ret)
{
	__u32 l;

	ret->ino = 0;
	if (!s->has_peer) {
		ret->kind = MC_PEER_NONE;
	} else if (s->peer_ino) {
		ret->kind = MC_PEER_LIVE;
		ret->ino = s->peer_ino;
	} else if ((l = sockdiag_table_embryo_listener(t, s->ino))) {
		ret->kind = MC_PEER_EMBRYO;
		ret->ino = l;
	} else {
		ret->kind = MC_PEER_DEAD;
	}
}

static bool mapcheck_exact;

void mapcheck_set_exact_records(bool exact)
{
	mapcheck_exact = exact;
}

void mapcheck_map_peer(const struct crux_sock *recs, size_t n, const struct crux_sock *r,
		       struct mapcheck_peer *ret)
{
	const struct crux_sock *p;

	ret->ino = 0;
	if (mapcheck_exact) { /* read from the kernel just now: nothing to resolve */
		ret->kind = r->flags & CRUX_SK_EMBRYO ? MC_PEER_EMBRYO :
			    r->flags & CRUX_SK_DEAD   ? MC_PEER_DEAD :
			    r->peer_ino		      ? MC_PEER_LIVE :
							MC_PEER_NONE;
		ret->ino = r->flags & CRUX_SK_EMBRYO ? r->listener_ino : r->peer_ino;
		if (ret->kind == MC_PEER_DEAD)
			ret->ino = 0;
		return;
	}
	if (r->flags & CRUX_SK_EMBRYO) {
		/*
		 * The kernel keeps an embryo's listener pointer after the listener is closed
		 * (its queue, embryos included, is purged): an embryo whose listener has no
		 * record any more is dead (bpf.md 3.7: resolved at query time).
		 */
		ret->kind = mapcheck_find(recs, n, r->listener_ino) ? MC_PEER_EMBRYO : MC_PEER_DEAD;
		ret->ino = ret->kind == MC_PEER_EMBRYO ? r->listener_ino : 0;
	} else if (r->flags & CRUX_SK_DEAD) {
		ret->kind = MC_PEER_DEAD;
	} else if (!r->peer_ino) {
		/* a peer pointer without an inode is a released peer */
		ret->kind = r->peer_sk ? MC_PEER_DEAD : MC_PEER_NONE;
	} else if ((p = mapcheck_find(recs, n, r->peer_ino)) && p->sk == r->peer_sk) {
		ret->kind = MC_PEER_LIVE;
		ret->ino = r->peer_ino;
	} else {
		/* the peer's record is gone or belongs to a recycled inode */
		ret->kind = MC_PEER_DEAD;
	}
}

static const char *mapcheck_peer_str(const struct mapcheck_peer *p, char *buf, size_t size)
{
	switch (p->kind) {
	case MC_PEER_NONE:
		return "none";
	case MC_PEER_LIVE:
		snprintf(buf, size, "%llu", (unsigned long long)p->ino);
		return buf;
	case MC_PEER_EMBRYO:
		snprintf(buf, size, "embryo@%llu", (unsigned long long)p->ino);
		return buf;
	case MC_PEER_DEAD:
		return "dead";
	}
	return "?";
}

static void mapcheck_describe_kernel(const struct sockdiag_table *t, const struct sockdiag_unix *k,
				     char *out, size_t size)
{
	struct mapcheck_peer p;
	char pb[32], nb[256];

	mapcheck_kernel_peer(t, k, &p);
	unix_name_format(k->name, k->name_len, nb, sizeof(nb));
	snprintf(out, size, "type %u state %u peer %s name '%s'", k->type, k->state,
		 mapcheck_peer_str(&p, pb, sizeof(pb)), nb);
}

static void mapcheck_describe_map(const struct crux_sock *recs, size_t n, const struct crux_sock *m,
				  char *out, size_t size)
{
	struct mapcheck_peer p;
	char pb[32], nb[256];

	mapcheck_map_peer(recs, n, m, &p);
	unix_name_format(m->name, MIN(m->name_len, sizeof(m->name)), nb, sizeof(nb));
	snprintf(out, size,
		 "type %u state %u peer %s name '%s' (peer_ino %llu flags %#x owner %u gen %u)",
		 m->type, m->state, mapcheck_peer_str(&p, pb, sizeof(pb)), nb,
		 (unsigned long long)m->peer_ino, m->flags, m->owner_tgid, m->gen);
}

static bool mapcheck_equal(const struct sockdiag_table *t, const struct sockdiag_unix *k,
			   const struct crux_sock *recs, size_t n, const struct crux_sock *m)
{
	struct mapcheck_peer kp, mp;

	mapcheck_kernel_peer(t, k, &kp);
	mapcheck_map_peer(recs, n, m, &mp);
	return k->type == m->type && k->state == m->state && kp.kind == mp.kind &&
	       kp.ino == mp.ino && k->name_len == m->name_len &&
	       !memcmp(k->name, m->name, MIN(k->name_len, sizeof(m->name)));
}

static void mapcheck_one(const struct sockdiag_table *t, const struct crux_sock *recs, size_t n,
			 __u64 ino, const char *label, unsigned verbose, struct mapcheck_result *r)
{
	const struct sockdiag_unix *k = sockdiag_table_find(t, ino);
	const struct crux_sock *m = mapcheck_find(recs, n, ino);
	char kd[512], md[512];
	bool show = mapcheck_disagreements(r) < verbose;

	r->kernel += !!k;
	r->map += !!m;
	if (k && m && mapcheck_equal(t, k, recs, n, m)) {
		r->agree++;
	} else if (k && m) {
		if (show) {
			mapcheck_describe_kernel(t, k, kd, sizeof(kd));
			mapcheck_describe_map(recs, n, m, md, sizeof(md));
			diag("%s: ino %llu wrong:\n#  kernel %s\n#  map    %s", label,
			     (unsigned long long)ino, kd, md);
		}
		r->wrong++;
	} else if (k) {
		if (show) {
			mapcheck_describe_kernel(t, k, kd, sizeof(kd));
			diag("%s: ino %llu missing from the map: kernel %s", label,
			     (unsigned long long)ino, kd);
		}
		r->missing++;
	} else if (m) {
		if (show) {
			mapcheck_describe_map(recs, n, m, md, sizeof(md));
			diag("%s: ino %llu stale in the map (the kernel has none): %s", label,
			     (unsigned long long)ino, md);
		}
		r->stale++;
	}
}

unsigned mapcheck_compare(const struct sockdiag_table *t, struct crux_sock *recs, size_t n,
			  const __u64 *inos, size_t ninos, const char *label, unsigned verbose,
			  struct mapcheck_result *ret)
{
	struct mapcheck_result r = { 0 };
	size_t i;

	mapcheck_sort(recs, n);
	if (inos) {
		for (i = 0; i < ninos; i++)
			mapcheck_one(t, recs, n, inos[i], label, verbose, &r);
	} else {
		for (i = 0; i < t->n; i++)
			mapcheck_one(t, recs, n, t->socks[i].ino, label, verbose, &r);
		for (i = 0; i < n; i++)
			if (recs[i].netns_cookie == t->netns_cookie &&
			    !sockdiag_table_find(t, recs[i].ino))
				mapcheck_one(t, recs, n, recs[i].ino, label, verbose, &r);
	}
	if (mapcheck_disagreements(&r) > verbose)
		diag("%s: %u more disagreements not shown", label,
		     mapcheck_disagreements(&r) - verbose);
	*ret = r;
	return mapcheck_disagreements(&r);
}
