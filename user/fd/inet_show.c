// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux show` for IPv4/IPv6 and netlink sockets: one line per socket with its protocol,
 * state and addresses (a netlink socket: protocol, port id, groups). Reads files.img only;
 * the queues and repair state live in tcp-stream-*.img and crux-*.img (crit decodes them).
 */
#include <netinet/in.h>
#include <string.h>

#include "inet.h"
#include "inet_restore.h"
#include "outfmt.h"
#include "showctx.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "sk_inet.pb-c.h"
#include "sk_netlink.pb-c.h"

static const char *tcp_state(uint32_t st, uint32_t proto)
{
	if (proto != IPPROTO_TCP)
		return st == 1 ? "connected" : "unconnected";
	return st == 1 ? "established" : st == 10 ? "listening" : st == 7 ? "closed" : "other";
}

static void ep(const InetSkEntry *e, bool dst, char *buf, size_t size)
{
	struct inet_ep p = { .family = (int)e->family };

	memcpy(p.addr, dst ? e->dst_addr : e->src_addr,
	       MIN(dst ? e->n_dst_addr : e->n_src_addr, 4) * 4);
	p.port = (uint16_t)(dst ? e->dst_port : e->src_port);
	inet_ep_text(&p, buf, size);
}

static void out_inet(struct fd_show *s, const InetSkEntry *e)
{
	char a[64], b[64];

	ep(e, false, a, sizeof(a));
	ep(e, true, b, sizeof(b));
	outfmt_uint(s->o, "ino", "inet[%llu]", e->ino);
	outfmt_str(s->o, "proto", " %s", inet_proto_name((int)e->proto));
	outfmt_str(s->o, "state", " %s", tcp_state(e->state, e->proto));
	outfmt_str(s->o, "local", " %s", a);
	if (e->state == 1)
		outfmt_str(s->o, "remote", " -> %s", b);
	if (e->state == 10)
		outfmt_uint(s->o, "backlog", " backlog %llu", e->backlog);
	outfmt_bool(s->o, "v6only", " v6only", e->has_v6only && e->v6only);
}

static void out_netlink(struct fd_show *s, const NetlinkSkEntry *e)
{
	outfmt_uint(s->o, "ino", "netlink[%llu]", e->ino);
	outfmt_uint(s->o, "protocol", " protocol %llu", e->protocol);
	outfmt_uint(s->o, "portid", " port %llu", e->portid);
	outfmt_uint(s->o, "groups", " groups %#llx", e->n_groups ? e->groups[0] : 0);
}

int inet_show(struct fd_show *s, enum fd_show_step step, const struct FileEntry *f)
{
	if (step != FD_SHOW_FILE)
		return 0;
	if (f->isk)
		out_inet(s, f->isk);
	else if (f->nlsk)
		out_netlink(s, f->nlsk);
	return 0;
}
