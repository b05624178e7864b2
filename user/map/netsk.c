// SPDX-License-Identifier: GPL-2.0-only
/*
 * Non-unix sockets from /proc/PID/net (netsk.h). The verdict follows the dump's rules
 * (user/fd/inet.c, netlink.c): raw and packet sockets are refused, a listener with
 * connections waiting to be accepted is refused, an established TCP connection whose
 * other end no tree process holds is external (refused unless --tcp-established).
 * The dump's further checks (netlink and ICMP receive queues) need the socket itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netsk.h"
#include "outfmt.h"
#include "util.h"

static const struct {
	const char *file, *kind;
	int family;
} files[] = {
	{ "tcp", "TCP", AF_INET },
	{ "tcp6", "TCP", AF_INET6 },
	{ "udp", "UDP", AF_INET },
	{ "udp6", "UDP", AF_INET6 },
	{ "udplite", "UDP-lite", AF_INET },
	{ "udplite6", "UDP-lite", AF_INET6 },
	{ "icmp", "ICMP", AF_INET },
	{ "icmp6", "ICMP", AF_INET6 },
	{ "raw", "raw", AF_INET },
	{ "raw6", "raw", AF_INET6 },
	{ "netlink", "netlink", AF_NETLINK },
	{ "packet", "packet", AF_PACKET },
};

/* "0100007F:1F90" (the kernel prints each 32-bit word in host order) to "127.0.0.1:8080" */
static void ep_text(const char *hex, int family, char *out, size_t size)
{
	uint32_t w[4] = { 0 };
	unsigned int port = 0;
	char a[INET6_ADDRSTRLEN] = "?";
	int i, nw = family == AF_INET ? 1 : 4;

	for (i = 0; i < nw; i++)
		if (sscanf(hex + 8 * i, "%8x", &w[i]) != 1)
			return;
	sscanf(hex + 8 * nw, ":%x", &port);
	inet_ntop(family, w, a, sizeof(a));
	snprintf(out, size, family == AF_INET ? "%s:%u" : "[%s]:%u", a, port);
}

static int parse_line(const char *l, int family, struct netsk *s)
{
	char loc[64], rem[64];
	unsigned int st, txq, rxq;
	unsigned long long ino;

	if (family == AF_NETLINK || family == AF_PACKET) {
		const char *p = l + strlen(l);

		/* the inode is the last column of both */
		while (p > l && p[-1] == ' ')
			p--;
		while (p > l && p[-1] != ' ')
			p--;
		if (sscanf(p, "%llu", &ino) != 1)
			return -EINVAL;
		s->ino = ino;
		return 0;
	}
	if (sscanf(l, " %*u: %63s %63s %x %x:%x %*x:%*x %*x %*u %*u %llu", loc, rem, &st, &txq,
		   &rxq, &ino) != 6)
		return -EINVAL;
	s->ino = ino;
	s->state = (int)st;
	s->rxq = rxq;
	ep_text(loc, family, s->local, sizeof(s->local));
	ep_text(rem, family, s->remote, sizeof(s->remote));
	return 0;
}

static int read_file(pid_t pid, size_t k, struct netsk_table *t)
{
	char path[64], line[512];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, files[k].file);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(line, sizeof(line), f)) /* the header */
		line[0] = '\0';
	while (line[0] && fgets(line, sizeof(line), f)) {
		struct netsk s = { .kind = files[k].kind, .family = files[k].family };
		struct netsk *v;

		line[strcspn(line, "\n")] = '\0';
		if (parse_line(line, files[k].family, &s) || !s.ino)
			continue;
		v = realloc(t->v, (t->n + 1) * sizeof(*v));
		if (!v) {
			err = -ENOMEM;
			break;
		}
		t->v = v;
		t->v[t->n++] = s;
	}
	fclose(f);
	return err;
}

int netsk_read(pid_t pid, struct netsk_table *ret)
{
	struct netsk_table t = { 0 };
	size_t k;
	int err;

	for (k = 0; k < ARRAY_SIZE(files); k++) {
		err = read_file(pid, k, &t);
		if (err) {
			netsk_table_free(&t);
			return err;
		}
	}
	*ret = t;
	return 0;
}

void netsk_table_free(struct netsk_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

const struct netsk *netsk_find(const struct netsk_table *t, uint64_t ino)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].ino == ino)
			return &t->v[i];
	return NULL;
}

/* The tree holds the other end of an established TCP connection. */
static bool peer_in_tree(const struct netsk_table *t, const struct netsk *s,
			 const uint64_t *tree_inos, size_t n_tree)
{
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		const struct netsk *p = &t->v[i];

		if (strcmp(p->kind, "TCP") || strcmp(p->local, s->remote) ||
		    strcmp(p->remote, s->local))
			continue;
		for (j = 0; j < n_tree; j++)
			if (tree_inos[j] == p->ino)
				return true;
	}
	return false;
}

int netsk_verdict(const struct netsk_table *t, const struct netsk *s, const uint64_t *tree_inos,
		  size_t n_tree, bool tcp_established, char *msg, size_t size)
{
	bool tcp = !strcmp(s->kind, "TCP");

	if (!strcmp(s->kind, "raw") || !strcmp(s->kind, "packet")) {
		snprintf(msg, size, "%s socket ino %llu: %s sockets are not supported", s->kind,
			 (unsigned long long)s->ino, s->kind);
		return 1;
	}
	if (tcp && s->state == TCP_LISTEN && s->rxq) {
		snprintf(msg, size,
			 "TCP listener ino %llu at %s has %u connection(s) waiting in its accept "
			 "queue: not supported; dump once they are accepted",
			 (unsigned long long)s->ino, s->local, s->rxq);
		return 1;
	}
	if (!tcp || s->state != TCP_ESTABLISHED || peer_in_tree(t, s, tree_inos, n_tree)) {
		snprintf(msg, size, "%s socket ino %llu%s%s: dumped", s->kind,
			 (unsigned long long)s->ino, s->local[0] ? " at " : "", s->local);
		return 0;
	}
	snprintf(msg, size,
		 "TCP socket ino %llu at %s is connected to %s outside the dumped tree. %s",
		 (unsigned long long)s->ino, s->local, s->remote,
		 tcp_established ? "Accepted by --tcp-established: dumped in repair mode, its "
				   "traffic locked until restore" :
				   "Connected TCP socket found: consider using --tcp-established");
	return !tcp_established;
}

static const char *netsk_state(const struct netsk *s)
{
	static const char *const names[] = {
		[1] = "estab", [2] = "syn-sent", [7] = "unconn", [8] = "close-wait", [10] = "listen"
	};

	if (s->family == AF_NETLINK || s->family == AF_PACKET)
		return "-";
	return s->state > 0 && s->state < (int)ARRAY_SIZE(names) && names[s->state] ?
		       names[s->state] :
		       "closing";
}

static void report_row(struct outfmt *of, const struct netsk_fd *f, const struct netsk *s, bool bad)
{
	outfmt_open(of, NULL, '{');
	outfmt_int(of, "pid", "%-7lld ", f->pid);
	outfmt_int(of, "fd", "%-5lld ", f->fd);
	outfmt_uint(of, "ino", "%-9llu ", (unsigned long long)s->ino);
	outfmt_str(of, "kind", "%-8s ", s->kind);
	outfmt_str(of, "state", "%-10s ", netsk_state(s));
	outfmt_str(of, "local", "%-22s ", s->local[0] ? s->local : NULL);
	outfmt_str(of, "remote", "%s", s->remote[0] ? s->remote : NULL);
	outfmt_str(of, "verdict", NULL, bad ? "refused" : "ok");
	outfmt_text(of, "\n");
	outfmt_close(of);
}

size_t netsk_report(const struct netsk_table *t, const struct netsk_fd *fds, size_t n,
		    struct outfmt *of, bool header, bool lines,
		    const char *(*comm)(const void *arg, pid_t pid), const void *arg)
{
	_cleanup_free_ uint64_t *inos = calloc(n + 1, sizeof(*inos));
	size_t i, refused = 0;
	char msg[512];

	if (!inos)
		return 0;
	for (i = 0; i < n; i++)
		inos[i] = fds[i].ino;
	if (of) {
		outfmt_open(of, "other", '[');
		if (header)
			outfmt_text(of, "%-7s %-5s %-9s %-8s %-10s %-22s %s\n", "PID", "FD", "INO",
				    "KIND", "STATE", "LOCAL", "REMOTE");
	}
	for (i = 0; i < n; i++) {
		const struct netsk *s = netsk_find(t, fds[i].ino);
		/* /proc does not list an unbound netlink socket: the dump reads it itself */
		struct netsk unlisted = { .ino = fds[i].ino, .kind = "?", .family = AF_PACKET };
		int bad = s ? netsk_verdict(t, s, inos, n, false, msg, sizeof(msg)) : 0;

		refused += (size_t)bad;
		if (of)
			report_row(of, &fds[i], s ? s : &unlisted, bad);
		else if (bad && lines)
			printf("refused: pid %d (%s) fd %d: %s\n", fds[i].pid,
			       comm(arg, fds[i].pid), fds[i].fd, msg);
	}
	if (of)
		outfmt_close(of);
	return refused;
}
