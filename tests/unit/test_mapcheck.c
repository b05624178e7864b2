// SPDX-License-Identifier: GPL-2.0-only
/*
 * The comparison the BPF tests rely on must itself catch every kind of disagreement:
 * a hand-built kernel table and map, one socket per case.
 */
#include <string.h>

#include "mapcheck.h"
#include "tap.h"
#include "util.h"

#define COOKIE 42

static struct sockdiag_unix k_sock(__u32 ino, __u8 type, __u8 state, int peer, __u32 peer_ino)
{
	struct sockdiag_unix s = { .ino = ino, .type = type, .state = state };

	s.has_peer = peer;
	s.peer_ino = peer_ino;
	return s;
}

static struct crux_sock m_sock(__u64 ino, __u16 type, __u8 state, __u64 peer_ino)
{
	struct crux_sock r = { .ino = ino, .sk = 0x1000 + ino, .type = type, .state = state };

	r.peer_ino = peer_ino;
	r.peer_sk = peer_ino ? 0x1000 + peer_ino : 0;
	r.netns_cookie = COOKIE;
	return r;
}

int main(void)
{
	__u32 icons[1] = { 30 };
	struct sockdiag_unix ks[] = {
		k_sock(10, 1, 1, 1, 11), k_sock(11, 1, 1, 1, 10), /* pair */
		k_sock(20, 1, 10, 0, 0),			  /* listener with client 30 queued */
		k_sock(30, 1, 1, 1, 0),				  /* client of an embryo */
		k_sock(40, 1, 1, 1, 0),				  /* survivor of a closed peer */
		k_sock(50, 2, 7, 0, 0),				  /* unconnected, named */
		k_sock(60, 2, 7, 0, 0),				  /* not in the map */
	};
	struct sockdiag_table t = { .socks = ks, .n = ARRAY_SIZE(ks), .netns_cookie = COOKIE };
	struct crux_sock recs[] = {
		m_sock(10, 1, 1, 11), m_sock(11, 1, 1, 10), m_sock(20, 1, 10, 0),
		m_sock(30, 1, 1, 0),  m_sock(40, 1, 1, 0),  m_sock(50, 2, 7, 0),
		m_sock(70, 2, 7, 0), /* stale */
	};
	struct mapcheck_result r;
	struct mapcheck_peer p;
	__u64 scope[] = { 10, 11, 99 };

	ks[2].icons = icons;
	ks[2].n_icons = 1;
	memcpy(ks[5].name, "\0abc", 4);
	ks[5].name_len = 4;
	memcpy(recs[5].name, "\0abc", 4);
	recs[5].name_len = 4;
	recs[3].flags = CRUX_SK_EMBRYO;
	recs[3].listener_ino = 20;
	recs[4].flags = CRUX_SK_DEAD;

	mapcheck_kernel_peer(&t, &ks[3], &p);
	ok(p.kind == MC_PEER_EMBRYO && p.ino == 20, "kernel: a queued client is an embryo of 20");
	mapcheck_kernel_peer(&t, &ks[4], &p);
	ok(p.kind == MC_PEER_DEAD, "kernel: peer attribute 0, not queued: dead");
	mapcheck_kernel_peer(&t, &ks[5], &p);
	ok(p.kind == MC_PEER_NONE, "kernel: no peer attribute: none");

	is_int(mapcheck_compare(&t, recs, ARRAY_SIZE(recs), NULL, 0, "all", 10, &r), 2,
	       "whole netns: one missing + one stale");
	ok(r.agree == 6 && r.missing == 1 && r.stale == 1 && r.wrong == 0,
	   "agree 6 missing 1 stale 1 wrong 0 (%u %u %u %u)", r.agree, r.missing, r.stale, r.wrong);

	is_int(mapcheck_compare(&t, recs, ARRAY_SIZE(recs), scope, 3, "scope", 10, &r), 0,
	       "scope of the pair plus a closed inode: no disagreement");
	is_int(r.agree, 2, "the pair agrees; the closed inode is gone from both");

	/* each field, one at a time */
	mapcheck_sort(recs, ARRAY_SIZE(recs));
	recs[0].state = 7;
	mapcheck_compare(&t, recs, ARRAY_SIZE(recs), scope, 1, "state", 10, &r);
	is_int(r.wrong, 1, "a wrong state is caught");
	recs[0].state = 1;
	recs[0].type = 5;
	mapcheck_compare(&t, recs, ARRAY_SIZE(recs), scope, 1, "type", 10, &r);
	is_int(r.wrong, 1, "a wrong type is caught");
	recs[0].type = 1;
	recs[0].peer_sk = 0x9999; /* peer inode recycled */
	mapcheck_compare(&t, recs, ARRAY_SIZE(recs), scope, 1, "peer", 10, &r);
	is_int(r.wrong, 1, "a peer whose record has another sk is dead, not live");
	recs[0].peer_sk = 0x1000 + 11;
	recs[0].name_len = 1;
	mapcheck_compare(&t, recs, ARRAY_SIZE(recs), scope, 1, "name", 0, &r);
	is_int(r.wrong, 1, "a wrong name is caught");
	recs[0].name_len = 0;
	recs[3].flags = 0; /* the embryo client without its flag */
	scope[0] = 30;
	mapcheck_compare(&t, recs, ARRAY_SIZE(recs), scope, 1, "embryo", 0, &r);
	is_int(r.wrong, 1, "a queued client the map calls unconnected is caught");
	return done_testing();
}
