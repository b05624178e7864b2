// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of the inet/netlink e2e tests (not a test itself: no test_ prefix). It builds one
 * topology of IPv4/IPv6 and netlink sockets, touches DIR/ready, then counts (DIR/counter
 * every 2 ms). On SIGUSR1 it checks by itself that its sockets survived a dump and restore
 * (addresses, options read back, queued data, traffic), and exits 0, or prints
 * "inettgt: FAIL ..." and exits 1. Run it in a network namespace of its own.
 *
 *   inettgt TOPOLOGY DIR [PORT]
 *
 *   tcp-listen  IPv4 listener (SO_REUSEADDR, backlog 7), IPv6-only listener on ::1
 *               (SO_REUSEPORT), dual-stack listener on :: (IPv6, v4-mapped clients), an
 *               unbound and a bound TCP socket: each listener accepts a new client after
 *   tcp-conn    a listener, a client connected to it and the accepted end, both with
 *               unread bytes queued, over IPv4 and over v4-mapped IPv6: the bytes are read
 *               after, then new traffic both ways, and the listener accepts again; and a
 *               connection whose sender filled the receiver's small window, so bytes sit in
 *               its send queue, sent and not acknowledged or not sent at all: every byte
 *               arrives after, in order
 *   udp         UDP and UDP-lite sockets bound and connected, with datagrams queued from
 *               two senders (IPv4 and IPv6): read back in order with their senders
 *   icmp        an ICMP echo (ping) socket: its identifier, and a ping answered after
 *   opts        sockets with the options applications set (buffers, keepalive timings,
 *               nodelay, cork, linger, TOS, TTL, mark, priority, timeouts, a device, a
 *               BPF filter), on a listener and on an established connection
 *   netlink     NETLINK_ROUTE (bound to RTMGRP_LINK, a port id of its own), GENERIC and
 *               KOBJECT_UEVENT (group 1) sockets: port ids and groups, a route request
 *   ext-client  a TCP client connected to 127.0.0.1:PORT (a server outside the tree) that
 *               has unread bytes from it; after, it reads them and sends "after-restore"
 *
 * Topologies a dump refuses (never verified): raw (a raw IP socket), packet (an AF_PACKET
 * socket), accq (a listener with a connection waiting to be accepted), nlq (a netlink
 * socket with an unread reply), pingq (a ping socket with an unread echo reply).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static char dir[200];
static volatile sig_atomic_t verify_now;
static int failures;

static void die(const char *what)
{
	dprintf(2, "inettgt: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

#define check(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			dprintf(2, "inettgt[%d]: FAIL %s:%d: ", getpid(), __func__, __LINE__); \
			dprintf(2, __VA_ARGS__);                                               \
			dprintf(2, " (errno %d)\n", errno);                                    \
			failures++;                                                            \
		}                                                                              \
	} while (0)

static int gint(int fd, int level, int name)
{
	int v = -12345;
	socklen_t l = sizeof(v);

	getsockopt(fd, level, name, &v, &l);
	return v;
}

static void sint(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)))
		die("setsockopt");
}

static socklen_t sa4(struct sockaddr_storage *ss, const char *a, int port)
{
	struct sockaddr_in *in = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, a, &in->sin_addr);
	return sizeof(*in);
}

static socklen_t sa6(struct sockaddr_storage *ss, const char *a, int port)
{
	struct sockaddr_in6 *in = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin6_family = AF_INET6;
	in->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, a, &in->sin6_addr);
	return sizeof(*in);
}

static socklen_t sa(struct sockaddr_storage *ss, int fam, const char *a, int port)
{
	return fam == AF_INET ? sa4(ss, a, port) : sa6(ss, a, port);
}

static int port_of(int fd, bool peer)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss, &l))
		return -1;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					       ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int sock_at(int fam, int type, int proto, const char *a, int port)
{
	struct sockaddr_storage ss;
	socklen_t l = sa(&ss, fam, a, port);
	int fd = socket(fam, type, proto);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, l))
		die("bind");
	return fd;
}

static int connect_to(int fam, const char *a, int port)
{
	struct sockaddr_storage ss;
	socklen_t l = sa(&ss, fam, a, port);
	int fd = socket(fam, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, l))
		return -1;
	return fd;
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

static void expect_read(int fd, const char *want, const char *what)
{
	char buf[256] = { 0 };
	size_t n = strlen(want), got = 0;
	struct pollfd p = { fd, POLLIN, 0 };

	while (got < n && poll(&p, 1, 5000) == 1) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	check(got == n && !memcmp(buf, want, n), "%s: read '%s', expected '%s'", what, buf, want);
}

/* A new client of a listener at (fam, a, port) is accepted, and data flows both ways. */
static void accepts(int l, int fam, const char *a, const char *what)
{
	int c = connect_to(fam, a, port_of(l, false)), s;

	check(c >= 0, "%s: cannot connect a new client", what);
	if (c < 0)
		return;
	s = accept(l, NULL, NULL);
	check(s >= 0, "%s: the listener did not accept the new client", what);
	if (s >= 0) {
		put(c, "ping");
		expect_read(s, "ping", what);
		put(s, "pong");
		expect_read(c, "pong", what);
		close(s);
	}
	close(c);
}

/* ---- tcp-listen ---- */

static int l4, l6, ldual, unb, bnd, bnd_port;

static void setup_tcp_listen(void)
{
	l4 = socket(AF_INET, SOCK_STREAM, 0);
	sint(l4, SOL_SOCKET, SO_REUSEADDR, 1);
	struct sockaddr_storage ss;
	socklen_t sl = sa4(&ss, "127.0.0.1", 0);

	if (bind(l4, (struct sockaddr *)&ss, sl) || listen(l4, 7))
		die("l4");
	l6 = socket(AF_INET6, SOCK_STREAM, 0);
	sint(l6, SOL_IPV6, IPV6_V6ONLY, 1);
	sint(l6, SOL_SOCKET, SO_REUSEPORT, 1);
	sl = sa6(&ss, "::1", 0);
	if (bind(l6, (struct sockaddr *)&ss, sl) || listen(l6, 5))
		die("l6");
	ldual = socket(AF_INET6, SOCK_STREAM, 0);
	sint(ldual, SOL_IPV6, IPV6_V6ONLY, 0);
	sl = sa6(&ss, "::", 0);
	if (bind(ldual, (struct sockaddr *)&ss, sl) || listen(ldual, 3))
		die("ldual");
	unb = socket(AF_INET, SOCK_STREAM, 0);
	bnd = sock_at(AF_INET, SOCK_STREAM, 0, "127.0.0.1", 0);
	bnd_port = port_of(bnd, false);
}

static void verify_tcp_listen(void)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	check(gint(l4, SOL_SOCKET, SO_REUSEADDR) == 1, "l4 lost SO_REUSEADDR");
	check(gint(l4, SOL_SOCKET, SO_ACCEPTCONN) == 1, "l4 is not listening");
	check(!getsockopt(l4, IPPROTO_TCP, TCP_INFO, &ti, &l) && ti.tcpi_sacked == 7,
	      "l4 backlog %u, expected 7", ti.tcpi_sacked);
	check(gint(l6, SOL_IPV6, IPV6_V6ONLY) == 1, "l6 lost IPV6_V6ONLY");
	check(gint(l6, SOL_SOCKET, SO_REUSEPORT) == 1, "l6 lost SO_REUSEPORT");
	check(gint(ldual, SOL_IPV6, IPV6_V6ONLY) == 0, "ldual became v6-only");
	accepts(l4, AF_INET, "127.0.0.1", "IPv4 listener");
	accepts(l6, AF_INET6, "::1", "IPv6 listener");
	accepts(ldual, AF_INET, "127.0.0.1", "dual-stack listener, IPv4 client");
	accepts(ldual, AF_INET6, "::1", "dual-stack listener, IPv6 client");
	check(port_of(unb, false) == 0, "the unbound socket got port %d", port_of(unb, false));
	check(port_of(bnd, false) == bnd_port, "the bound socket is at port %d, was %d",
	      port_of(bnd, false), bnd_port);
	check(gint(bnd, SOL_SOCKET, SO_ACCEPTCONN) == 0, "the bound socket listens");
}

/* ---- tcp-conn ---- */

static int cl[2], cc[2], cs[2];
static void setup_fill(void);

static void setup_tcp_conn(void)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	static const char *const any[2] = { "127.0.0.1", "::" };
	static const char *const to[2] = { "127.0.0.1", "::ffff:127.0.0.1" };
	int i;

	for (i = 0; i < 2; i++) {
		cl[i] = sock_at(fams[i], SOCK_STREAM, 0, any[i], 0);
		if (listen(cl[i], 4))
			die("listen");
		cc[i] = connect_to(fams[i], to[i], port_of(cl[i], false));
		cs[i] = accept(cl[i], NULL, NULL);
		if (cc[i] < 0 || cs[i] < 0)
			die("connect");
		put(cc[i], "client-to-server-unread");
		put(cs[i], "server-to-client-unread");
	}
	usleep(100000); /* the bytes are acknowledged and sit in the receive queues */
	setup_fill();
}

static int fill_c = -1, fill_s = -1;
static size_t fill_n;

static unsigned char fill_byte(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* A sender blocked by a small receive window: its send queue holds bytes. */
static void setup_fill(void)
{
	int l = sock_at(AF_INET, SOCK_STREAM, 0, "127.0.0.1", 0);
	unsigned char buf[4096];
	ssize_t n;
	size_t i;

	sint(l, SOL_SOCKET, SO_RCVBUF, 4096); /* inherited by the accepted socket */
	if (listen(l, 1))
		die("listen");
	fill_c = socket(AF_INET, SOCK_STREAM, 0);
	/* a send queue of tens of kB, not megabytes: it drains in a moment after restore */
	sint(fill_c, SOL_SOCKET, SO_SNDBUF, 16384);
	struct sockaddr_storage ss;
	socklen_t sl = sa4(&ss, "127.0.0.1", port_of(l, false));

	if (connect(fill_c, (struct sockaddr *)&ss, sl))
		die("fill connect");
	fill_s = accept(l, NULL, NULL);
	close(l);
	if (fill_c < 0 || fill_s < 0)
		die("fill connect");
	fcntl(fill_c, F_SETFL, O_NONBLOCK);
	for (;;) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = fill_byte(fill_n + i);
		n = write(fill_c, buf, sizeof(buf));
		if (n <= 0)
			break;
		fill_n += (size_t)n;
	}
	fcntl(fill_c, F_SETFL, 0);
	usleep(100000);
}

static void verify_fill(void)
{
	unsigned char buf[4096];
	size_t got = 0, i, bad = 0;
	struct pollfd p = { fill_s, POLLIN, 0 };
	int outq = -1;

	while (got < fill_n && poll(&p, 1, 5000) == 1) {
		ssize_t n = read(fill_s, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (i = 0; i < (size_t)n; i++)
			bad += buf[i] != fill_byte(got + i);
		got += (size_t)n;
	}
	check(got == fill_n && !bad, "filled connection: %zu of %zu bytes arrived, %zu wrong", got,
	      fill_n, bad);
	ioctl(fill_c, SIOCOUTQ, &outq);
	check(outq == 0, "filled connection: %d bytes still in the send queue", outq);
}

static void verify_tcp_conn(void)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	static const char *const at[2] = { "127.0.0.1", "::1" };
	int i;

	for (i = 0; i < 2; i++) {
		expect_read(cs[i], "client-to-server-unread", "server's unread bytes");
		expect_read(cc[i], "server-to-client-unread", "client's unread bytes");
		put(cc[i], "after-restore");
		expect_read(cs[i], "after-restore", "new bytes client to server");
		put(cs[i], "answer");
		expect_read(cc[i], "answer", "new bytes server to client");
		accepts(cl[i], fams[i], at[i], "the listener of the connection");
	}
	verify_fill();
}

/* ---- udp ---- */

static int u4, u4c, ulite, u6, snd4, snd6;

static void sendto_port(int fd, int fam, const char *a, int port, const char *msg)
{
	struct sockaddr_storage ss;
	socklen_t l = sa(&ss, fam, a, port);

	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&ss, l) != (ssize_t)strlen(msg))
		die("sendto");
}

static void setup_udp(void)
{
	u4 = sock_at(AF_INET, SOCK_DGRAM, 0, "127.0.0.1", 0);
	u6 = sock_at(AF_INET6, SOCK_DGRAM, 0, "::", 0);
	ulite = sock_at(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, "127.0.0.1", 0);
	snd4 = sock_at(AF_INET, SOCK_DGRAM, 0, "127.0.0.1", 0);
	snd6 = sock_at(AF_INET6, SOCK_DGRAM, 0, "::1", 0);
	u4c = sock_at(AF_INET, SOCK_DGRAM, 0, "127.0.0.1", 0);
	struct sockaddr_storage ss;
	socklen_t l = sa4(&ss, "127.0.0.1", port_of(snd4, false));

	if (connect(u4c, (struct sockaddr *)&ss, l))
		die("connect udp");
	sendto_port(snd4, AF_INET, "127.0.0.1", port_of(u4, false), "first");
	sendto_port(snd4, AF_INET, "127.0.0.1", port_of(u4, false), "second, longer");
	sendto_port(snd4, AF_INET, "127.0.0.1", port_of(u4, false), "");
	sendto_port(snd6, AF_INET6, "::1", port_of(u6, false), "over-ipv6");
	sendto_port(snd4, AF_INET, "127.0.0.1", port_of(u4c, false), "to-connected");
	if (write(ulite, "x", 0) < 0 && errno != EDESTADDRREQ)
		die("ulite");
	usleep(50000);
}

static void expect_dgram(int fd, const char *want, int from_port, const char *what)
{
	char buf[64] = { 0 };
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &l);
	int port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
						   ((struct sockaddr_in6 *)&ss)->sin6_port);

	check(n == (ssize_t)strlen(want) && !memcmp(buf, want, strlen(want)) && port == from_port,
	      "%s: got %zd bytes '%s' from port %d, expected '%s' from %d", what, n, buf, port,
	      want, from_port);
}

static void verify_udp(void)
{
	char b;

	expect_dgram(u4, "first", port_of(snd4, false), "1st queued datagram");
	expect_dgram(u4, "second, longer", port_of(snd4, false), "2nd queued datagram");
	expect_dgram(u4, "", port_of(snd4, false), "empty queued datagram");
	check(recv(u4, &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "more datagrams than sent");
	expect_dgram(u6, "over-ipv6", port_of(snd6, false), "IPv6 queued datagram");
	expect_dgram(u4c, "to-connected", port_of(snd4, false), "connected socket's datagram");
	check(port_of(u4c, true) == port_of(snd4, false), "the connected socket lost its peer");
	sendto_port(snd4, AF_INET, "127.0.0.1", port_of(u4, false), "new");
	usleep(20000);
	expect_dgram(u4, "new", port_of(snd4, false), "a new datagram");
	check(gint(ulite, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_UDPLITE, "UDP-lite became %d",
	      gint(ulite, SOL_SOCKET, SO_PROTOCOL));
	sendto_port(snd4, AF_INET, "127.0.0.1", port_of(u4c, false), "new-to-connected");
	usleep(20000);
	expect_dgram(u4c, "new-to-connected", port_of(snd4, false), "connected, new datagram");
}

/* ---- icmp ---- */

static int ping_fd, ping_id;

static void setup_icmp(void)
{
	ping_fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (ping_fd < 0)
		die("ping socket (net.ipv4.ping_group_range?)");
	struct sockaddr_storage ss;
	socklen_t l = sa4(&ss, "0.0.0.0", 4242);

	if (bind(ping_fd, (struct sockaddr *)&ss, l))
		die("bind ping");
	ping_id = port_of(ping_fd, false);
}

static void verify_icmp(void)
{
	struct icmphdr h = { .type = ICMP_ECHO }, r;
	struct sockaddr_storage ss;
	socklen_t l = sa4(&ss, "127.0.0.1", 0);
	struct pollfd p = { ping_fd, POLLIN, 0 };

	check(port_of(ping_fd, false) == ping_id, "ping identifier %d, was %d",
	      port_of(ping_fd, false), ping_id);
	h.un.echo.sequence = htons(7);
	check(sendto(ping_fd, &h, sizeof(h), 0, (struct sockaddr *)&ss, l) == sizeof(h),
	      "cannot send a ping");
	check(poll(&p, 1, 5000) == 1 && recv(ping_fd, &r, sizeof(r), 0) == sizeof(r) &&
		      r.type == ICMP_ECHOREPLY && ntohs(r.un.echo.sequence) == 7,
	      "no echo reply");
}

/* ---- opts ---- */

static int ol, oc, os;
static struct sock_filter filt[] = { BPF_STMT(BPF_RET | BPF_K, 0xffff) };

static void set_many(int fd)
{
	struct linger lg = { 1, 9 };
	struct timeval tv = { 3, 500000 };
	struct sock_fprog prog = { 1, filt };

	sint(fd, SOL_SOCKET, SO_RCVBUF, 100000);
	sint(fd, SOL_SOCKET, SO_SNDBUF, 70000);
	sint(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	sint(fd, SOL_TCP, TCP_KEEPIDLE, 77);
	sint(fd, SOL_TCP, TCP_KEEPINTVL, 11);
	sint(fd, SOL_TCP, TCP_KEEPCNT, 5);
	sint(fd, SOL_TCP, TCP_NODELAY, 1);
	sint(fd, SOL_IP, IP_TOS, 0x10);
	sint(fd, SOL_IP, IP_TTL, 33);
	sint(fd, SOL_SOCKET, SO_MARK, 42);
	sint(fd, SOL_SOCKET, SO_PRIORITY, 5);
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2) ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    setsockopt(fd, SOL_TCP, TCP_CONGESTION, "reno", 4))
		die("options");
}

static void check_many(int fd, const char *what)
{
	struct linger lg = { 0 };
	struct timeval tv = { 0 };
	socklen_t l = sizeof(lg);
	char dev[16] = "";
	struct sock_filter f[4];

	check(gint(fd, SOL_SOCKET, SO_RCVBUF) == 200000, "%s: SO_RCVBUF %d", what,
	      gint(fd, SOL_SOCKET, SO_RCVBUF));
	check(gint(fd, SOL_SOCKET, SO_SNDBUF) == 140000, "%s: SO_SNDBUF %d", what,
	      gint(fd, SOL_SOCKET, SO_SNDBUF));
	check(gint(fd, SOL_SOCKET, SO_KEEPALIVE) == 1, "%s: SO_KEEPALIVE", what);
	check(gint(fd, SOL_TCP, TCP_KEEPIDLE) == 77, "%s: TCP_KEEPIDLE", what);
	check(gint(fd, SOL_TCP, TCP_KEEPINTVL) == 11, "%s: TCP_KEEPINTVL", what);
	check(gint(fd, SOL_TCP, TCP_KEEPCNT) == 5, "%s: TCP_KEEPCNT", what);
	check(gint(fd, SOL_TCP, TCP_NODELAY) == 1, "%s: TCP_NODELAY", what);
	check(gint(fd, SOL_IP, IP_TOS) == 0x10, "%s: IP_TOS %d", what, gint(fd, SOL_IP, IP_TOS));
	check(gint(fd, SOL_IP, IP_TTL) == 33, "%s: IP_TTL", what);
	check(gint(fd, SOL_SOCKET, SO_MARK) == 42, "%s: SO_MARK", what);
	check(gint(fd, SOL_SOCKET, SO_PRIORITY) == 5, "%s: SO_PRIORITY", what);
	check(!getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l) && lg.l_onoff && lg.l_linger == 9,
	      "%s: SO_LINGER", what);
	l = sizeof(tv);
	check(!getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) && tv.tv_sec == 3 &&
		      tv.tv_usec == 500000,
	      "%s: SO_RCVTIMEO", what);
	l = sizeof(tv);
	check(!getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) && tv.tv_sec == 3,
	      "%s: SO_SNDTIMEO", what);
	l = sizeof(dev);
	check(!getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) && !strcmp(dev, "lo"),
	      "%s: SO_BINDTODEVICE '%s'", what, dev);
	char cong[16] = "";

	l = sizeof(cong) - 1;
	check(!getsockopt(fd, SOL_TCP, TCP_CONGESTION, cong, &l) && !strcmp(cong, "reno"),
	      "%s: TCP_CONGESTION '%s'", what, cong);
	l = 4;
	check(!getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, f, &l) && l == 1 &&
		      f[0].code == (BPF_RET | BPF_K) && f[0].k == 0xffff,
	      "%s: SO_GET_FILTER (%u instructions)", what, l);
}

static void setup_opts(void)
{
	ol = socket(AF_INET, SOCK_STREAM, 0);
	set_many(ol);
	struct sockaddr_storage ss;
	socklen_t l = sa4(&ss, "127.0.0.1", 0);

	if (bind(ol, (struct sockaddr *)&ss, l) || listen(ol, 2))
		die("listen");
	oc = socket(AF_INET, SOCK_STREAM, 0);
	set_many(oc);
	sint(oc, SOL_TCP, TCP_CORK, 1);
	l = sa4(&ss, "127.0.0.1", port_of(ol, false));
	if (connect(oc, (struct sockaddr *)&ss, l))
		die("connect");
	os = accept(ol, NULL, NULL);
	if (os < 0)
		die("accept");
}

static void verify_opts(void)
{
	check_many(ol, "listener");
	check_many(oc, "established client");
	check(gint(oc, SOL_TCP, TCP_CORK) == 1, "client: TCP_CORK");
	sint(oc, SOL_TCP, TCP_CORK, 0);
	put(oc, "uncorked");
	expect_read(os, "uncorked", "traffic on the connection with options");
}

/* ---- netlink ---- */

static int nl_route, nl_gen, nl_uev;
static unsigned int route_port;

static int nl_sock(int proto, unsigned int pid, unsigned int groups)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_pid = pid, .nl_groups = groups };
	int fd = socket(AF_NETLINK, SOCK_RAW, proto);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("netlink bind");
	return fd;
}

static unsigned int nl_port(int fd, unsigned int *groups)
{
	struct sockaddr_nl a = { 0 };
	socklen_t l = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &l);
	if (groups)
		*groups = a.nl_groups;
	return a.nl_pid;
}

static void setup_netlink(void)
{
	nl_route = nl_sock(NETLINK_ROUTE, 0, RTMGRP_LINK);
	sint(nl_route, SOL_NETLINK, NETLINK_EXT_ACK, 1);
	route_port = nl_port(nl_route, NULL);
	nl_gen = nl_sock(NETLINK_GENERIC, 0x7f001234, 0);
	nl_uev = nl_sock(NETLINK_KOBJECT_UEVENT, 0, 1);
}

static void verify_netlink(void)
{
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = { { sizeof(req), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0 }, { AF_UNSPEC } };
	char buf[8192];
	unsigned int g = 0;
	struct pollfd p = { nl_route, POLLIN, 0 };
	struct nlmsghdr *h = (void *)buf;

	check(nl_port(nl_route, &g) == route_port && g == RTMGRP_LINK,
	      "route socket: port %u groups %#x, was %u %#x", nl_port(nl_route, NULL), g,
	      route_port, RTMGRP_LINK);
	check(gint(nl_route, SOL_NETLINK, NETLINK_EXT_ACK) == 1, "route socket: NETLINK_EXT_ACK");
	check(nl_port(nl_gen, NULL) == 0x7f001234, "generic socket: port %#x",
	      nl_port(nl_gen, NULL));
	check(nl_port(nl_uev, &g) && g == 1, "uevent socket: groups %#x", g);
	check(gint(nl_uev, SOL_SOCKET, SO_PROTOCOL) == NETLINK_KOBJECT_UEVENT, "uevent protocol");
	check(send(nl_route, &req, sizeof(req), 0) == sizeof(req), "route request");
	check(poll(&p, 1, 5000) == 1 && recv(nl_route, buf, sizeof(buf), 0) > 0 &&
		      (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == NLMSG_DONE),
	      "no answer to RTM_GETLINK");
}

/* ---- ext-client ---- */

static int ext_fd;

static void setup_ext(int port)
{
	ext_fd = connect_to(AF_INET, "127.0.0.1", port);
	if (ext_fd < 0)
		die("connect to the outside server");
	put(ext_fd, "hello");
	usleep(200000); /* the server's greeting arrives and stays unread */
}

static void verify_ext(void)
{
	expect_read(ext_fd, "greeting", "the outside server's unread greeting");
	put(ext_fd, "after-restore");
}

/* ---- refused topologies ---- */

static void setup_refused(const char *topo)
{
	int fd;

	if (!strcmp(topo, "raw")) {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	} else if (!strcmp(topo, "packet")) {
		fd = socket(AF_PACKET, SOCK_DGRAM, 0);
	} else if (!strcmp(topo, "accq")) {
		fd = sock_at(AF_INET, SOCK_STREAM, 0, "127.0.0.1", 0);
		if (listen(fd, 4) || connect_to(AF_INET, "127.0.0.1", port_of(fd, false)) < 0)
			die("accq");
	} else if (!strcmp(topo, "nlq")) {
		setup_netlink();
		verify_now = 0;
		struct {
			struct nlmsghdr h;
			struct rtgenmsg g;
		} req = { { sizeof(req), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
			  { AF_UNSPEC } };
		fd = send(nl_route, &req, sizeof(req), 0) == sizeof(req) ? nl_route : -1;
	} else {
		setup_icmp();
		struct icmphdr h = { .type = ICMP_ECHO };
		struct sockaddr_storage ss;
		socklen_t l = sa4(&ss, "127.0.0.1", 0);

		fd = sendto(ping_fd, &h, sizeof(h), 0, (struct sockaddr *)&ss, l) == sizeof(h) ?
			     ping_fd :
			     -1;
	}
	if (fd < 0)
		die(topo);
	usleep(100000);
}

/* ---- main ---- */

static void on_usr1(int sig)
{
	(void)sig;
	verify_now = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	const char *topo;
	unsigned long counter = 0;
	char p[300];
	int cfd;

	if (argc < 3) {
		dprintf(2, "usage: inettgt TOPOLOGY DIR [PORT]\n");
		return 64;
	}
	topo = argv[1];
	if (!realpath(argv[2], dir))
		die("realpath");
	close_range(3, ~0U, 0);
	sigaction(SIGUSR1, &sa, NULL);
	snprintf(p, sizeof(p), "%s/counter", dir);
	cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0)
		die("counter");
	if (!strcmp(topo, "tcp-listen"))
		setup_tcp_listen();
	else if (!strcmp(topo, "tcp-conn"))
		setup_tcp_conn();
	else if (!strcmp(topo, "udp"))
		setup_udp();
	else if (!strcmp(topo, "icmp"))
		setup_icmp();
	else if (!strcmp(topo, "opts"))
		setup_opts();
	else if (!strcmp(topo, "netlink"))
		setup_netlink();
	else if (!strcmp(topo, "ext-client") && argc > 3)
		setup_ext(atoi(argv[3]));
	else if (!strcmp(topo, "raw") || !strcmp(topo, "packet") || !strcmp(topo, "accq") ||
		 !strcmp(topo, "nlq") || !strcmp(topo, "pingq"))
		setup_refused(topo);
	else {
		dprintf(2, "inettgt: unknown topology %s\n", topo);
		return 64;
	}
	snprintf(p, sizeof(p), "%s/ready", dir);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	while (!verify_now) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%lu\n", ++counter);

		if (pwrite(cfd, buf, (size_t)n, 0) != n)
			die("counter");
		usleep(2000);
	}
	if (!strcmp(topo, "tcp-listen"))
		verify_tcp_listen();
	else if (!strcmp(topo, "tcp-conn"))
		verify_tcp_conn();
	else if (!strcmp(topo, "udp"))
		verify_udp();
	else if (!strcmp(topo, "icmp"))
		verify_icmp();
	else if (!strcmp(topo, "opts"))
		verify_opts();
	else if (!strcmp(topo, "netlink"))
		verify_netlink();
	else
		verify_ext();
	if (failures)
		dprintf(2, "inettgt: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
