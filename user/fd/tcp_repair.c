// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP_REPAIR, both directions. The kernel's view: TCP_QUEUE_SEQ reads rcv_nxt (receive
 * queue) and write_seq (send queue), and sets them on a closed socket; a repair-mode
 * connect() goes straight to ESTABLISHED; data sent to the receive queue is queued as if
 * received, data sent to the send queue is taken as sent and unacknowledged (retransmitted
 * after repair mode ends). MSG_PEEK reads either queue in repair mode.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#define LOG_PREFIX "tcp-repair: "
#include "log.h"
#include "tcp_repair.h"

static int sopt(int sk, int name, int val)
{
	return setsockopt(sk, IPPROTO_TCP, name, &val, sizeof(val)) ? -errno : 0;
}

static int gopt(int sk, int name, uint32_t *ret)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(sk, IPPROTO_TCP, name, &v, &l))
		return -errno;
	*ret = (uint32_t)v;
	return 0;
}

int tcp_repair_on(int sk)
{
	return sopt(sk, TCP_REPAIR, TCP_REPAIR_ON);
}

int tcp_repair_off(int sk, bool probe)
{
	return sopt(sk, TCP_REPAIR, probe ? TCP_REPAIR_OFF : TCP_REPAIR_OFF_NO_WP);
}

/* One queue: its sequence number, its length, and (peeked) its bytes. */
static int read_queue(int sk, int q, unsigned long len_ioctl, uint32_t *seq, uint32_t *len,
		      void **data)
{
	int n = 0, err;
	ssize_t got;

	err = sopt(sk, TCP_REPAIR_QUEUE, q);
	if (!err)
		err = gopt(sk, TCP_QUEUE_SEQ, seq);
	if (err)
		return err;
	if (ioctl(sk, len_ioctl, &n))
		return -errno;
	*len = (uint32_t)n;
	if (!n)
		return 0;
	*data = malloc((size_t)n);
	if (!*data)
		return -ENOMEM;
	got = recv(sk, *data, (size_t)n, MSG_PEEK | MSG_DONTWAIT);
	if (got < 0)
		return -errno;
	if (got != n) {
		pr_debug("queue %d: peeked %zd of %d bytes", q, got, n);
		return -EAGAIN;
	}
	return 0;
}

static int read_opts(int sk, struct tcp_conn *c)
{
	struct tcp_info ti;
	struct tcp_repair_window w;
	socklen_t l = sizeof(ti);
	int err;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return -errno;
	c->opt_mask = ti.tcpi_options;
	c->snd_wscale = ti.tcpi_snd_wscale;
	c->rcv_wscale = ti.tcpi_rcv_wscale;
	err = gopt(sk, TCP_MAXSEG, &c->mss_clamp);
	if (!err && (c->opt_mask & TCPI_OPT_TIMESTAMPS))
		err = gopt(sk, TCP_TIMESTAMP, &c->timestamp);
	if (err)
		return err;
	l = sizeof(w);
	if (getsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &l))
		return -errno;
	c->has_win = true;
	c->snd_wl1 = w.snd_wl1;
	c->snd_wnd = w.snd_wnd;
	c->max_window = w.max_window;
	c->rcv_wnd = w.rcv_wnd;
	c->rcv_wup = w.rcv_wup;
	return 0;
}

int tcp_repair_read(int sk, struct tcp_conn *c)
{
	int n = 0, err;

	memset(c, 0, sizeof(*c));
	err = read_queue(sk, TCP_RECV_QUEUE, SIOCINQ, &c->inq_seq, &c->inq_len, &c->inq);
	if (!err)
		err = read_queue(sk, TCP_SEND_QUEUE, SIOCOUTQ, &c->outq_seq, &c->outq_len,
				 &c->outq);
	if (!err && ioctl(sk, SIOCOUTQNSD, &n))
		err = -errno;
	c->unsq_len = (uint32_t)n;
	if (!err)
		err = read_opts(sk, c);
	sopt(sk, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	if (err)
		tcp_conn_clear(c);
	return err;
}

void tcp_conn_clear(struct tcp_conn *c)
{
	free(c->inq);
	free(c->outq);
	c->inq = c->outq = NULL;
}

int tcp_repair_seqs(int sk, const struct tcp_conn *c)
{
	int err;

	err = sopt(sk, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	if (!err)
		err = sopt(sk, TCP_QUEUE_SEQ, (int)(c->inq_seq - c->inq_len));
	if (!err)
		err = sopt(sk, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	if (!err)
		err = sopt(sk, TCP_QUEUE_SEQ, (int)(c->outq_seq - c->outq_len));
	return err;
}

static int set_opts(int sk, const struct tcp_conn *c)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	o[n].opt_code = TCPOPT_MAXSEG;
	o[n++].opt_val = c->mss_clamp;
	if (c->opt_mask & TCPI_OPT_WSCALE) {
		o[n].opt_code = TCPOPT_WINDOW;
		o[n++].opt_val = c->snd_wscale | (c->rcv_wscale << 16);
	}
	if (c->opt_mask & TCPI_OPT_SACK) {
		o[n].opt_code = TCPOPT_SACK_PERMITTED;
		o[n++].opt_val = 0;
	}
	if (c->opt_mask & TCPI_OPT_TIMESTAMPS) {
		o[n].opt_code = TCPOPT_TIMESTAMP;
		o[n++].opt_val = 0;
	}
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, (socklen_t)(n * sizeof(o[0]))))
		return -errno;
	if ((c->opt_mask & TCPI_OPT_TIMESTAMPS) && sopt(sk, TCP_TIMESTAMP, (int)c->timestamp))
		return -errno;
	return 0;
}

/* Send len bytes to the selected queue, in pieces the socket buffer takes. */
static int send_queue(int sk, int q, const void *data, size_t len)
{
	const char *p = data;
	int err = q >= 0 ? sopt(sk, TCP_REPAIR_QUEUE, q) : 0;

	while (!err && len) {
		size_t chunk = len > (64u << 10) ? (64u << 10) : len;
		ssize_t n = send(sk, p, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return err;
}

int tcp_repair_fill(int sk, const struct tcp_conn *c)
{
	struct tcp_repair_window w;
	int err;

	err = set_opts(sk, c);
	if (!err)
		err = send_queue(sk, TCP_RECV_QUEUE, c->inq, c->inq_len);
	if (!err)
		err = send_queue(sk, TCP_SEND_QUEUE, c->outq, c->outq_len - c->unsq_len);
	if (err || !c->has_win)
		return err;
	w.snd_wl1 = c->snd_wl1;
	w.snd_wnd = c->snd_wnd;
	w.max_window = c->max_window;
	w.rcv_wnd = c->rcv_wnd;
	w.rcv_wup = c->rcv_wup;
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)))
		return -errno;
	return 0;
}

int tcp_repair_finish(int sk, const struct tcp_conn *c)
{
	const char *unsent = (const char *)c->outq + (c->outq_len - c->unsq_len);
	int err = sopt(sk, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);

	if (!err)
		err = tcp_repair_off(sk, true);
	if (!err && c->unsq_len)
		err = send_queue(sk, -1, unsent, c->unsq_len);
	return err;
}
