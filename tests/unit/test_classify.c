// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every rule of classify_tree(): internal, unconnected, listening, peer-dead (flag, map
 * miss, recycled inode), external dgram/stream/seqpacket with and without --ext-unix-sk and
 * the inode list, nameless peers, embryos on inside/outside/gone listeners, the unknown
 * peer of a kernel-sourced tree, inbound sockets and their folding, and the messages.
 */
#include <errno.h>
#include <string.h>

#include "classify.h"
#include "tap.h"
#include "util.h"

#define STREAM 1
#define DGRAM 2
#define SEQPACKET 5
#define ESTAB 1
#define CLOSE 7
#define LISTEN 10

/* A stand-in for the live map: the outside records the lookup callback serves. */
struct fake_map {
	struct crux_sock socks[16];
	size_t n;
	struct crux_conn conns[4];
	__u64 conn_ino[4];
	size_t n_conn;
};

static int fake_sock(void *ctx, __u64 ino, struct crux_sock *ret)
{
	struct fake_map *m = ctx;
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (m->socks[i].ino == ino) {
			*ret = m->socks[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int fake_conn(void *ctx, __u64 ino, struct crux_conn *ret)
{
	struct fake_map *m = ctx;
	size_t i;

	for (i = 0; i < m->n_conn; i++) {
		if (m->conn_ino[i] == ino) {
			*ret = m->conns[i];
			return 0;
		}
	}
	return -ENOENT;
}

static struct crux_sock rec(__u64 ino, __u16 type, __u8 state, __u64 peer, const char *name,
			    size_t name_len, __u32 owner, const char *comm)
{
	struct crux_sock s = { .ino = ino,
			       .sk = 0xffff000000000000ull | ino,
			       .type = type,
			       .state = state,
			       .peer_ino = peer,
			       .owner_tgid = owner };

	if (peer)
		s.peer_sk = 0xffff000000000000ull | peer;
	memcpy(s.name, name, name_len);
	s.name_len = (__u16)name_len;
	snprintf(s.owner_comm, sizeof(s.owner_comm), "%s", comm);
	return s;
}

static struct classify_sock tsock(__u32 pid, int fd, const char *comm, struct crux_sock s)
{
	struct classify_sock c = { .pid = pid, .fd = fd, .sk = s };

	snprintf(c.comm, sizeof(c.comm), "%s", comm);
	return c;
}

static struct fake_map map;
static const struct classify_lookup lk = { fake_sock, fake_conn, &map };

static struct classify_report *run(const struct classify_sock *t, size_t n,
				   const struct crux_sock *in, size_t n_in,
				   const struct classify_policy *pol)
{
	struct classify_report *rep = NULL;

	if (classify_tree(t, n, in, n_in, &lk, pol, &rep))
		tap_bail("classify_tree failed");
	return rep;
}

static char msgtxt[CLASSIFY_MSG_MAX];

static const char *msg(const struct classify_result *r)
{
	classify_format_msg(r, msgtxt, sizeof(msgtxt));
	return msgtxt;
}

static bool has(const char *hay, const char *needle)
{
	bool found = strstr(hay, needle) != NULL;

	if (!found)
		diag("'%s' not in: %s", needle, hay);
	return found;
}

/* Tree: a socketpair between two tree pids, an unconnected dgram, a listener. */
static void test_internal(void)
{
	struct classify_sock t[] = {
		tsock(100, 3, "a", rec(11, STREAM, ESTAB, 12, "", 0, 0, "")),
		tsock(101, 4, "b", rec(12, STREAM, ESTAB, 11, "", 0, 0, "")),
		tsock(100, 5, "a", rec(13, DGRAM, CLOSE, 0, "/tmp/d", 6, 0, "")),
		tsock(101, 6, "b", rec(14, STREAM, LISTEN, 0, "\0srv", 4, 0, "")),
	};
	struct classify_report *rep = run(t, ARRAY_SIZE(t), NULL, 0, NULL);

	is_int(rep->n, 4, "internal: four results");
	is_str(classify_class_name(rep->res[0].cls), "internal", "socketpair end is internal");
	ok(rep->res[0].peer_inside && rep->res[0].peer_pid == 101 && rep->res[0].peer_fd == 4,
	   "internal peer names the tree pid 101 fd 4");
	is_str(classify_class_name(rep->res[1].cls), "internal", "other end is internal");
	is_str(classify_class_name(rep->res[2].cls), "unconnected", "bound dgram is unconnected");
	is_str(classify_class_name(rep->res[3].cls), "listening", "listener is listening");
	is_int(rep->n_refused, 0, "internal: nothing refused");
	is_int(rep->count[CLASSIFY_INTERNAL], 2, "internal: count of internal");
	is_str(classify_action_name(rep->res[0].action), "internal", "internal action");
	ok(has(msg(&rep->res[0]), "inside the tree"), "internal message says inside");
	classify_report__free(rep);
}

static void test_dead(void)
{
	struct classify_sock t[] = {
		tsock(100, 3, "a", rec(21, STREAM, ESTAB, 0, "", 0, 0, "")),
		tsock(100, 4, "a", rec(22, DGRAM, ESTAB, 900, "", 0, 0, "")), /* map miss */
		tsock(100, 5, "a", rec(23, DGRAM, ESTAB, 901, "", 0, 0, "")), /* recycled */
	};
	struct classify_policy live = { .peer_ino_is_live = true };
	struct classify_report *rep;

	t[0].sk.flags = CRUX_SK_DEAD;
	map.n = 0;
	map.socks[map.n++] = rec(901, DGRAM, CLOSE, 0, "/x", 2, 7, "new");
	map.socks[0].sk = 0xdead; /* same inode, another socket */
	rep = run(t, ARRAY_SIZE(t), NULL, 0, NULL);
	is_str(classify_class_name(rep->res[0].cls), "peer-dead", "CRUX_SK_DEAD is peer-dead");
	is_str(classify_class_name(rep->res[1].cls), "peer-dead",
	       "map record's peer missing from the map is peer-dead");
	is_str(classify_class_name(rep->res[2].cls), "peer-dead",
	       "recycled peer inode (sk differs) is peer-dead");
	is_int(rep->n_refused, 0, "peer-dead sockets are dumped");
	classify_report__free(rep);

	/* the dumper's records come from the kernel: a live peer the map lacks is refused */
	rep = run(t, ARRAY_SIZE(t), NULL, 0, &live);
	is_str(classify_class_name(rep->res[1].cls), "external",
	       "kernel-sourced peer missing from the map is external");
	is_str(classify_action_name(rep->res[1].action), "refuse", "... and refused");
	ok(!rep->res[1].ext_unix_sk && rep->res[1].reason, "... with a reason");
	ok(has(msg(&rep->res[1]), "which the live map does not know"),
	   "unknown peer message says the map does not know it");
	classify_report__free(rep);
}

/* logd-style client: dgram connected to outside "/dev/log" of pid 77 (rsyslogd). */
static void test_dgram(void)
{
	struct classify_sock t[] = {
		tsock(100, 5, "logc", rec(31, DGRAM, ESTAB, 301, "", 0, 0, "")),
		tsock(100, 6, "logc", rec(32, DGRAM, ESTAB, 302, "", 0, 0, "")),
		tsock(100, 7, "logc", rec(33, DGRAM, ESTAB, 303, "", 0, 0, "")),
	};
	struct classify_policy ext = { .ext_unix_sk = true };
	__u64 listed[] = { 32 };
	struct classify_policy ext_list = { .ext_unix_sk = true, .inos = listed, .n_inos = 1 };
	struct classify_report *rep;
	const struct classify_result *r;

	map.n = 0;
	map.socks[map.n++] = rec(301, DGRAM, CLOSE, 0, "/dev/log", 8, 77, "rsyslogd");
	map.socks[map.n++] = rec(302, DGRAM, ESTAB, 32, "", 0, 78, "pairholder");
	map.socks[map.n++] = rec(303, DGRAM, CLOSE, 0, "\0log\0x", 6, 79, "alog");
	map.n_conn = 1;
	map.conn_ino[0] = 31;
	map.conns[0] = (struct crux_conn){ .sk = t[0].sk.sk, .len = 9 };
	memcpy(map.conns[0].path, "/dev/log2", 9); /* the address connect() was given */

	rep = run(t, ARRAY_SIZE(t), NULL, 0, NULL);
	r = &rep->res[0];
	is_str(classify_class_name(r->cls), "external", "logd client is external");
	is_str(classify_action_name(r->action), "refuse", "without the option it is refused");
	ok(r->ext_unix_sk && !r->reason, "--ext-unix-sk would accept it, no reason");
	ok(r->peer_pid == 77 && !strcmp(r->peer_comm, "rsyslogd"), "peer owner is pid 77");
	msg(r);
	ok(has(msgtxt, "External socket is used. Consider using --ext-unix-sk option."),
	   "refusal keeps CRIU's key phrase");
	ok(has(msgtxt, "pid 100 (logc) fd 5: dgram socket ino 31") &&
		   has(msgtxt, "ino 301 \"/dev/log\" of pid 77 (rsyslogd)"),
	   "refusal names our pid/fd/inode/type and the peer's inode/name/owner");
	ok(has(msgtxt, "\"/dev/log2\""), "refusal says where restore would connect");
	is_int(rep->n_refused, 3, "three refusals without the option");
	r = &rep->res[1];
	ok(!r->ext_unix_sk && r->reason && has(r->reason, "no name"),
	   "nameless dgram peer: --ext-unix-sk would not accept it, reason says why");
	ok(has(msg(r), "Can't dump name-less external socket"), "nameless key phrase");
	ok(has(msgtxt, "no option accepts it"), "nameless: says no option would");
	classify_report__free(rep);

	rep = run(t, ARRAY_SIZE(t), NULL, 0, &ext);
	r = &rep->res[0];
	ok(r->accepted, "--ext-unix-sk accepts the named dgram peer");
	is_str(classify_action_name(r->action), "reconnect-dgram-by-name",
	       "action reconnect-dgram");
	ok(r->addr_len == 9 && !memcmp(r->addr, "/dev/log2", 9),
	   "the connect() address from the map is preferred");
	ok(has(msg(r), "Accepted by --ext-unix-sk: restore connects"), "accepted message");
	is_str(classify_action_name(rep->res[1].action), "refuse", "nameless refused even with it");
	ok(rep->res[2].accepted && rep->res[2].addr_len == 6 &&
		   !memcmp(rep->res[2].addr, "\0log\0x", 6),
	   "abstract peer without a conn record: reconnect to its binary name");
	ok(has(msg(&rep->res[2]), "ino 303 @log@x of pid 79"), "abstract name printed with @");
	is_int(rep->n_refused, 1, "one refusal with --ext-unix-sk");
	classify_report__free(rep);

	rep = run(t, ARRAY_SIZE(t), NULL, 0, &ext_list);
	is_str(classify_action_name(rep->res[1].action), "refuse",
	       "a listed nameless dgram is still refused: nothing to reconnect to");
	is_int(rep->n_unused_inos, 0, "listed inode matched an external socket");
	classify_report__free(rep);

	/* a conn record of another socket with that inode, or truncated, is not used */
	map.conns[0].sk = 0x1234;
	rep = run(t, 1, NULL, 0, &ext);
	ok(rep->res[0].addr_len == 8 && !memcmp(rep->res[0].addr, "/dev/log", 8),
	   "conn record of a recycled inode ignored: the peer's name is used");
	classify_report__free(rep);
	map.conns[0].sk = t[0].sk.sk;
	map.conns[0].truncated = 1;
	rep = run(t, 1, NULL, 0, &ext);
	ok(rep->res[0].addr_len == 8, "truncated conn record ignored");
	classify_report__free(rep);
	map.n_conn = 0;
}

static void test_stream(void)
{
	struct classify_sock t[] = {
		tsock(200, 3, "cli", rec(41, STREAM, ESTAB, 401, "", 0, 0, "")),
		tsock(200, 4, "cli", rec(42, SEQPACKET, ESTAB, 402, "", 0, 0, "")),
		tsock(200, 5, "cli", rec(43, STREAM, ESTAB, 403, "", 0, 0, "")),
	};
	struct classify_policy ext = { .ext_unix_sk = true };
	__u64 listed[] = { 41, 42, 43, 999 };
	struct classify_policy ext_list = { .ext_unix_sk = true, .inos = listed, .n_inos = 4 };
	struct classify_report *rep;
	const struct classify_result *r;

	map.n = 0;
	map.socks[map.n++] = rec(401, STREAM, ESTAB, 41, "/run/srv.sock", 13, 88, "srv");
	map.socks[map.n++] = rec(402, SEQPACKET, ESTAB, 42, "\0seq", 4, 89, "sq");
	map.socks[map.n++] = rec(403, STREAM, ESTAB, 43, "", 0, 90, "pair");

	rep = run(t, ARRAY_SIZE(t), NULL, 0, NULL);
	r = &rep->res[0];
	ok(r->cls == CLASSIFY_EXTERNAL && r->action == CLASSIFY_ACT_REFUSE, "stream refused");
	ok(!r->ext_unix_sk && r->ext_unix_sk_ino, "--ext-unix-sk no, --ext-unix-sk=INO yes");
	msg(r);
	ok(has(msgtxt, "External socket is used. Consider using --ext-unix-sk option.") &&
		   has(msgtxt, "Can't dump half of stream unix connection") &&
		   has(msgtxt, "--ext-unix-sk=41"),
	   "stream refusal without option: both key phrases and the exact option");
	classify_report__free(rep);

	rep = run(t, ARRAY_SIZE(t), NULL, 0, &ext);
	r = &rep->res[0];
	ok(r->action == CLASSIFY_ACT_REFUSE, "--ext-unix-sk alone refuses a stream peer");
	msg(r);
	ok(!strstr(msgtxt, "Consider using") && has(msgtxt, "Can't dump half of stream") &&
		   has(msgtxt, "in flight") && has(msgtxt, "pid 88 (srv)"),
	   "with the option: explains what reconnecting breaks, names the owner");
	ok(rep->res[1].action == CLASSIFY_ACT_REFUSE && rep->res[1].reason,
	   "seqpacket refused like stream");
	classify_report__free(rep);

	rep = run(t, ARRAY_SIZE(t), NULL, 0, &ext_list);
	r = &rep->res[0];
	is_str(classify_action_name(r->action), "reconnect-stream-new-connection",
	       "listed stream: reconnect with a new connection");
	ok(r->addr_len == 13 && !memcmp(r->addr, "/run/srv.sock", 13), "to the listener path");
	ok(has(msg(r), "in-flight data and server-side state are not carried over") &&
		   has(msgtxt, "--ext-unix-sk=41"),
	   "accepted stream message warns about in-flight data");
	ok(rep->res[1].accepted, "listed seqpacket accepted");
	ok(rep->res[2].action == CLASSIFY_ACT_REFUSE &&
		   has(msg(&rep->res[2]), "Can't dump name-less external socket"),
	   "listed stream to a nameless peer still refused");
	ok(rep->n_unused_inos == 1 && rep->unused_inos[0] == 999, "unused listed inode reported");
	classify_report__free(rep);
}

static void test_embryo(void)
{
	struct classify_sock t[] = {
		tsock(300, 3, "c", rec(51, STREAM, ESTAB, 0, "", 0, 0, "")), /* outside listener */
		tsock(300, 4, "c", rec(52, STREAM, ESTAB, 0, "", 0, 0, "")), /* inside listener */
		tsock(300, 5, "c", rec(53, STREAM, ESTAB, 0, "", 0, 0, "")), /* listener gone */
		tsock(301, 6, "l", rec(54, STREAM, LISTEN, 0, "/in", 3, 0, "")),
	};
	__u64 listed[] = { 51 };
	struct classify_policy ext_list = { .ext_unix_sk = true, .inos = listed, .n_inos = 1 };
	struct classify_report *rep;
	const struct classify_result *r;

	t[0].sk.flags = t[1].sk.flags = t[2].sk.flags = CRUX_SK_EMBRYO;
	t[0].sk.listener_ino = 501;
	t[1].sk.listener_ino = 54;
	t[2].sk.listener_ino = 502;
	map.n = 0;
	map.socks[map.n++] = rec(501, STREAM, LISTEN, 0, "/out", 4, 99, "server");

	rep = run(t, ARRAY_SIZE(t), NULL, 0, NULL);
	r = &rep->res[0];
	ok(r->cls == CLASSIFY_EXTERNAL && r->peer.ino == 501 && r->peer_pid == 99,
	   "embryo on an outside listener is external, peer = the listener");
	ok(has(msg(r), "queued (not yet accepted) on listener ino 501 \"/out\""),
	   "embryo message names the listener");
	ok(rep->res[1].cls == CLASSIFY_INTERNAL && rep->res[1].peer_fd == 6,
	   "embryo on an inside listener is internal");
	is_str(classify_class_name(rep->res[2].cls), "peer-dead", "embryo on a gone listener");
	classify_report__free(rep);

	rep = run(t, ARRAY_SIZE(t), NULL, 0, &ext_list);
	ok(rep->res[0].action == CLASSIFY_ACT_RECONNECT_STREAM && rep->res[0].addr_len == 4,
	   "listed embryo: reconnect to the listener's path");
	classify_report__free(rep);
}

/* Inside dgram server with outside clients; outside client queued on an inside listener. */
static void test_inbound(void)
{
	struct classify_sock t[] = {
		tsock(400, 3, "srv", rec(61, DGRAM, CLOSE, 0, "/run/d", 6, 0, "")),
		tsock(400, 4, "srv", rec(62, STREAM, LISTEN, 0, "/run/l", 6, 0, "")),
		tsock(400, 5, "srv", rec(63, STREAM, ESTAB, 603, "/run/l", 6, 0, "")),
	};
	struct crux_sock in[] = {
		rec(601, DGRAM, ESTAB, 61, "", 0, 500, "client1"),
		rec(602, STREAM, ESTAB, 0, "", 0, 501, "client2"),
		rec(603, STREAM, ESTAB, 63, "", 0, 502, "client3"), /* mirror of res[2] */
		rec(61, DGRAM, CLOSE, 0, "/run/d", 6, 400, "srv"), /* a tree socket */
	};
	struct classify_report *rep;
	const struct classify_result *r;

	in[1].flags = CRUX_SK_EMBRYO;
	in[1].listener_ino = 62;
	map.n = 0;
	map.socks[map.n++] = in[2];

	rep = run(t, ARRAY_SIZE(t), in, ARRAY_SIZE(in), NULL);
	is_int(rep->n, 5, "two inbound results (mirror and tree socket folded)");
	is_str(classify_class_name(rep->res[0].cls), "unconnected", "dgram server unconnected");
	is_str(classify_class_name(rep->res[2].cls), "external", "accepted outside client");
	r = &rep->res[3];
	ok(r->cls == CLASSIFY_INBOUND && r->self.pid == 500 && r->self.sk.ino == 601 &&
		   r->peer.ino == 61 && r->peer_fd == 3,
	   "outside dgram client: inbound, owner pid 500, points at the tree's fd 3");
	is_str(classify_action_name(r->action), "report", "inbound is reported, not refused");
	ok(has(msg(r), "outside pid 500 (client1)") && has(msgtxt, "\"/run/d\""),
	   "inbound message names the outside owner and the inside name");
	r = &rep->res[4];
	ok(r->cls == CLASSIFY_INBOUND && r->peer.ino == 62 && r->reason &&
		   has(r->reason, "empty queue"),
	   "outside client queued on the inside listener: inbound, dropped on restore");
	is_int(rep->count[CLASSIFY_INBOUND], 2, "count of inbound");
	is_int(rep->n_refused, 1, "only the external stream is refused");
	classify_report__free(rep);
}

static void test_misc(void)
{
	struct classify_report *rep = NULL;
	char small[16];
	size_t need;
	struct classify_sock t[] = {
		tsock(1, 3, "x", rec(71, DGRAM, ESTAB, 701, "", 0, 0, "")),
	};

	map.n = 0;
	map.socks[map.n++] = rec(701, DGRAM, CLOSE, 0, "/dev/log\0", 9, 5, "d");
	ok(classify_tree(NULL, 0, NULL, 0, &lk, NULL, &rep) == 0 && rep && rep->n == 0,
	   "empty tree: empty report");
	classify_report__free(rep);
	classify_report__free(NULL);
	rep = run(t, 1, NULL, 0, &(struct classify_policy){ .ext_unix_sk = true });
	ok(rep->res[0].addr_len == 8, "reconnect address without the kernel's trailing NUL");
	ok(has(msg(&rep->res[0]), "ino 701 \"/dev/log\" of pid 5"), "message name without NUL");
	need = classify_format_msg(&rep->res[0], small, sizeof(small));
	ok(need > sizeof(small) && strlen(small) == sizeof(small) - 1,
	   "message truncates safely and reports the full length");
	classify_report__free(rep);
	is_int(classify_name_len("/a\0\0", 4), 2, "path name: the kernel's trailing NULs dropped");
	is_int(classify_name_len("\0a\0", 3), 3, "abstract name: every byte counts");
	{
		struct crux_sock l = rec(1, STREAM, LISTEN, 0, "/l", 2, 0, "");
		struct crux_sock srv = rec(2, DGRAM, CLOSE, 0, "/d", 2, 0, "");
		struct crux_sock anon = rec(3, DGRAM, CLOSE, 0, "", 0, 0, "");
		struct crux_sock cli = rec(4, DGRAM, ESTAB, 9, "", 0, 0, "");
		struct crux_sock st = rec(5, STREAM, ESTAB, 9, "/l", 2, 0, "");

		ok(classify_may_be_targeted(&l) && classify_may_be_targeted(&srv) &&
			   classify_may_be_targeted(&anon),
		   "listeners, named or peer-less dgram sockets can have outside clients");
		ok(!classify_may_be_targeted(&cli) && !classify_may_be_targeted(&st),
		   "connected unnamed dgram and connected stream sockets cannot");
	}
	is_str(classify_type_name(5), "seqpacket", "type name seqpacket");
	ok(classify_type_name(3) == NULL, "unknown type has no name");
	is_str(classify_class_name(99), "?", "out-of-range class");
}

int main(void)
{
	test_internal();
	test_dead();
	test_dgram();
	test_stream();
	test_embryo();
	test_inbound();
	test_misc();
	return done_testing();
}
