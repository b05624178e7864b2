// SPDX-License-Identifier: GPL-2.0-only
/* IPv4/IPv6 socket helpers shared by the dump and restore halves (inet.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "inet.h"
#include "util.h"

void inet_ep_from_sa(const struct sockaddr_storage *ss, struct inet_ep *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		memcpy(ret->addr, &in->sin_addr, 4);
		ret->port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		memcpy(ret->addr, &in6->sin6_addr, 16);
		ret->port = ntohs(in6->sin6_port);
	}
}

socklen_t inet_ep_to_sa(const struct inet_ep *ep, struct sockaddr_storage *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->ss_family = (sa_family_t)ep->family;
	if (ep->family == AF_INET) {
		struct sockaddr_in *in = (void *)ret;

		memcpy(&in->sin_addr, ep->addr, 4);
		in->sin_port = htons(ep->port);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (void *)ret;

	memcpy(&in6->sin6_addr, ep->addr, 16);
	in6->sin6_port = htons(ep->port);
	return sizeof(*in6);
}

size_t inet_ep_words(const struct inet_ep *ep)
{
	return ep->family == AF_INET ? 1 : 4;
}

const char *inet_ep_text(const struct inet_ep *ep, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(ep->family, ep->addr, a, sizeof(a));
	if (ep->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, ep->port);
	else
		snprintf(buf, size, "%s:%u", a, ep->port);
	return buf;
}

bool inet_ep_equal(const struct inet_ep *a, const struct inet_ep *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, inet_ep_words(a) * 4);
}

const char *inet_proto_name(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_UDPLITE:
		return "UDP-lite";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	default:
		return "IP";
	}
}

#define O(l, n)                 \
	{                       \
		l, n, #n, false \
	}
#define D(l, n)                \
	{                      \
		l, n, #n, true \
	}
/*
 * Options with an int value that getsockopt reads back as setsockopt took it. The ones
 * that must precede bind() (transparent, freebind) come first: restore sets them in this
 * order. Buffer sizes, timeouts, reuse, keepalive, priority, mark, device and filters are
 * CRIU's sk_opts_entry fields; IPV6_V6ONLY is inet_sk_entry.v6only.
 */
const struct inet_opt inet_opts[] = {
	O(SOL_IP, IP_TRANSPARENT),
	O(SOL_IP, IP_FREEBIND),
	O(SOL_IPV6, IPV6_TRANSPARENT),
	O(SOL_IPV6, IPV6_FREEBIND),
	O(SOL_IP, IP_BIND_ADDRESS_NO_PORT),
	O(SOL_SOCKET, SO_BROADCAST),
	O(SOL_SOCKET, SO_OOBINLINE),
	O(SOL_SOCKET, SO_DONTROUTE),
	O(SOL_SOCKET, SO_RCVLOWAT),
	O(SOL_SOCKET, SO_TIMESTAMP),
	O(SOL_SOCKET, SO_TIMESTAMPNS),
	O(SOL_SOCKET, SO_RXQ_OVFL),
	O(SOL_IP, IP_TOS),
	O(SOL_IP, IP_TTL),
	O(SOL_IP, IP_PKTINFO),
	O(SOL_IP, IP_RECVTTL),
	O(SOL_IP, IP_RECVTOS),
	O(SOL_IP, IP_RECVERR),
	O(SOL_IP, IP_MTU_DISCOVER),
	D(SOL_IP, IP_MULTICAST_TTL),
	D(SOL_IP, IP_MULTICAST_LOOP),
	O(SOL_IP, IP_RECVORIGDSTADDR),
	O(SOL_IPV6, IPV6_TCLASS),
	O(SOL_IPV6, IPV6_UNICAST_HOPS),
	O(SOL_IPV6, IPV6_RECVPKTINFO),
	O(SOL_IPV6, IPV6_RECVERR),
	O(SOL_IPV6, IPV6_MTU_DISCOVER),
	D(SOL_IPV6, IPV6_MULTICAST_HOPS),
	D(SOL_IPV6, IPV6_MULTICAST_LOOP),
	O(SOL_IPV6, IPV6_RECVTCLASS),
	O(SOL_IPV6, IPV6_RECVHOPLIMIT),
	O(SOL_TCP, TCP_NODELAY),
	O(SOL_TCP, TCP_CORK),
	O(SOL_TCP, TCP_USER_TIMEOUT),
	O(SOL_TCP, TCP_DEFER_ACCEPT),
	O(SOL_TCP, TCP_NOTSENT_LOWAT),
	O(SOL_TCP, TCP_SYNCNT),
	O(SOL_TCP, TCP_LINGER2),
	O(SOL_TCP, TCP_WINDOW_CLAMP),
	O(SOL_TCP, TCP_FASTOPEN),
};
#undef O
#undef D

const size_t inet_nr_opts = ARRAY_SIZE(inet_opts);
