/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IPv4/IPv6 sockets (TCP, UDP, UDP-lite, ICMP datagram), shared by the dump half (inet.c)
 * and the restore half (inet_restore.c): address conversion to and from the image's
 * 32-bit words, the integer options carried as (level, name, value), printing endpoints.
 */
#ifndef CRUX_INET_H
#define CRUX_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The image's words of an address (1 for IPv4, 4 for IPv6) and its port. */
struct inet_ep {
	int family;
	uint32_t addr[4];
	uint16_t port;
};

void inet_ep_from_sa(const struct sockaddr_storage *ss, struct inet_ep *ret);
socklen_t inet_ep_to_sa(const struct inet_ep *ep, struct sockaddr_storage *ret);
size_t inet_ep_words(const struct inet_ep *ep);
/* "127.0.0.1:80" or "[::1]:80" */
const char *inet_ep_text(const struct inet_ep *ep, char *buf, size_t size);
bool inet_ep_equal(const struct inet_ep *a, const struct inet_ep *b);

/* "TCP", "UDP", "UDP-lite", "ICMP" or "ICMPv6" */
const char *inet_proto_name(int proto);

/* The integer options crux compares with a fresh socket's and restores as read. */
struct inet_opt {
	int level, name;
	const char *text;
	bool dgram_only; /* multicast: EINVAL on a TCP socket (which reports other state) */
};
extern const struct inet_opt inet_opts[];
extern const size_t inet_nr_opts;

#endif /* CRUX_INET_H */
