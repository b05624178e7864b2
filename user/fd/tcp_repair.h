/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TCP_REPAIR (Linux 3.5+): read an established connection's sequence numbers, negotiated
 * options, windows and both queues without the peer seeing anything, and build a socket
 * in that exact state without a handshake. Library-style: returns 0 or -errno, logs at
 * debug level at most. The caller needs CAP_NET_ADMIN.
 */
#ifndef CRUX_TCP_REPAIR_H
#define CRUX_TCP_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

struct tcp_conn {
	uint32_t inq_len, inq_seq; /* receive queue: bytes, rcv_nxt (its end) */
	uint32_t outq_len, outq_seq; /* send queue: bytes (sent and unsent), write_seq */
	uint32_t unsq_len; /* the unsent tail of the send queue */
	uint32_t opt_mask; /* TCPI_OPT_* */
	uint32_t snd_wscale, rcv_wscale, mss_clamp, timestamp;
	bool has_win;
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	void *inq, *outq; /* malloc'ed queue contents */
};

/* Repair mode on; off with a window probe (restore) or without one (dump, put back). */
int tcp_repair_on(int sk);
int tcp_repair_off(int sk, bool probe);
/* sk in repair mode: every field of c (free the queues with tcp_conn_clear()). */
int tcp_repair_read(int sk, struct tcp_conn *c);
void tcp_conn_clear(struct tcp_conn *c);
/* A new socket in repair mode, before connect(): the sequence numbers of both queues. */
int tcp_repair_seqs(int sk, const struct tcp_conn *c);
/* After the repair-mode connect(): options, timestamp, queues, windows. */
int tcp_repair_fill(int sk, const struct tcp_conn *c);
/* Leave repair mode (the peer gets a window probe) and queue the unsent tail normally. */
int tcp_repair_finish(int sk, const struct tcp_conn *c);

#endif /* CRUX_TCP_REPAIR_H */
