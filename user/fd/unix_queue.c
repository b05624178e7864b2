// SPDX-License-Identifier: GPL-2.0-only
/*
 * Receive queues of the tree's unix sockets, read with MSG_PEEK from SO_PEEK_OFF 0 on a
 * stolen copy (the socket's own offset is put back: it belongs to the socket, not to the
 * fd), message by message, and written to sk-queues.img. The fds in flight a message
 * carries (SCM_RIGHTS) become files of the dump (ctx->add_fileless: any kind the table
 * knows, sockets among them read in turn), recorded as CRIU does (sk_packet_entry.scm).
 * At restore, the messages as read back and the SCM_RIGHTS message that sends their fds
 * again (unix_restore.c sends them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "fd_unix.h"
#include "img.h"
#include "log.h"
#include "treeiter.h"
#include "util.h"
#include "rstctx.h"
#include "sk_packet.pb-c.h"

#define QUEUE_BUF (1 << 20)
#define QUEUE_MAX_PACKETS 65536

/* The fds of one message: each a file of the dump (ctx->add_fileless), all closed. */
static int take_rights(struct dump_ctx *ctx, struct msghdr *mh, uint32_t **ret, uint32_t *ret_n)
{
	struct cmsghdr *c;
	int err = 0;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		int *fds = (int *)CMSG_DATA(c);
		size_t k, nf = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		uint32_t *nv;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nv = realloc(*ret, (*ret_n + nf + 1) * sizeof(*nv));
		if (!nv && !err)
			err = -ENOMEM;
		if (nv)
			*ret = nv;
		for (k = 0; k < nf; k++) {
			if (err) {
				close(fds[k]);
				continue;
			}
			err = ctx->add_fileless(ctx, fds[k], &(*ret)[*ret_n]);
			if (!err)
				(*ret_n)++;
		}
	}
	return err;
}

static int queue_add(struct usk *s, const char *buf, size_t n, uint32_t *rights, uint32_t n_rights)
{
	struct usk_packet *np = realloc(s->q, (s->nq + 1) * sizeof(*np));

	if (!np)
		return -ENOMEM;
	s->q = np;
	np = &s->q[s->nq];
	np->len = (uint32_t)n;
	np->rights = rights;
	np->n_rights = n_rights;
	np->data = malloc(n + 1);
	if (!np->data)
		return -ENOMEM;
	memcpy(np->data, buf, n);
	s->nq++;
	return 0;
}

/*
 * A stream peek glues the bytes written before a message with fds to it, and nothing a
 * peek returns tells where it starts: the tree iterator walks the queue of crux's own copy
 * (fd sk) for it, so that restore sends the fds with the same bytes. *ret_start: bytes of
 * the chunk [off, off + n) before it.
 */
static int stream_fds_start(struct dump_ctx *ctx, int sk, uint32_t ino, int off, size_t n,
			    size_t *ret_start)
{
	_cleanup_free_ struct crux_fdmsg_rec *v = NULL;
	struct treeiter *ti = dump_treeiter(ctx);
	size_t i, nv = 0;
	int err;

	if (!ti)
		return pr_err_ret(-EOPNOTSUPP,
				  "socket %u: fds in flight in a stream queue need the tree "
				  "iterator to tell which bytes they were sent with",
				  ino);
	err = treeiter__fdmsgs(ti, getpid(), &v, &nv);
	if (err)
		return pr_err_ret(err, "socket %u: cannot walk its queue: %s", ino, strerror(-err));
	for (i = 0; i < nv; i++) {
		if (v[i].fd != sk || v[i].off < (uint64_t)off || v[i].off >= (uint64_t)off + n)
			continue;
		*ret_start = (size_t)(v[i].off - (uint64_t)off);
		return 0;
	}
	return pr_err_ret(-EIO, "socket %u: the message with fds at offset %d is not in its queue",
			  ino, off);
}

/* One message of socket u->v[i] at the peek offset; 1: one more, 0: the queue's end. */
static int peek_one(struct dump_ctx *ctx, struct dump_unix *u, size_t i, int sk, int type,
		    char *buf)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = QUEUE_BUF };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	uint32_t *rights = NULL, n_rights = 0, ino = u->v[i].d.ino;
	socklen_t l = sizeof(int);
	int err, off = 0;
	size_t start = 0;
	ssize_t n;
	char d[96];

	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, &l))
		return pr_perror_ret("socket %u: cannot read SO_PEEK_OFF", ino);
	n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0 && (errno == EAGAIN || errno == EINVAL || errno == ENOTCONN))
		return 0; /* empty, or a stream socket never connected */
	if (n < 0)
		return pr_perror_ret("%s: cannot read the queue of socket %u",
				     dump_fd_desc(ctx, &ctx->fds[u->v[i].fdi], d, sizeof(d)), ino);
	/* the fds first: each becomes a file (u->v may move), all closed on failure */
	err = take_rights(ctx, &mh, &rights, &n_rights);
	if (!err && n == 0 && type != SOCK_DGRAM)
		err = n_rights ? -EBADMSG : 1; /* end of stream: the peer shut down */
	if (!err && (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		err = pr_err_ret(-EMSGSIZE,
				 "%s: a message in the queue of socket %u is larger than %d bytes "
				 "or carries more than 253 fds",
				 dump_fd_desc(ctx, &ctx->fds[u->v[i].fdi], d, sizeof(d)), ino,
				 QUEUE_BUF);
	if (!err && u->v[i].nq == QUEUE_MAX_PACKETS)
		err = pr_err_ret(-E2BIG, "%s: more than %d messages queued on socket %u",
				 dump_fd_desc(ctx, &ctx->fds[u->v[i].fdi], d, sizeof(d)),
				 QUEUE_MAX_PACKETS, ino);
	if (!err && n_rights && type == SOCK_STREAM && n > 1)
		err = stream_fds_start(ctx, sk, ino, off, (size_t)n, &start);
	if (err) {
		free(rights);
		return err == 1 ? 0 : err;
	}
	if (start)
		err = queue_add(&u->v[i], buf, start, NULL, 0);
	if (!err)
		err = queue_add(&u->v[i], buf + start, (size_t)n - start, rights, n_rights);
	if (err)
		free(rights);
	return err ? err : 1;
}

/*
 * Receive queue of u->v[i], message by message, without consuming it; the fds in flight
 * it carries become files of the dump (which may add sockets to u->v).
 */
static int read_queue(struct dump_ctx *ctx, struct dump_unix *u, size_t i, char *buf)
{
	int sk = ctx->fds[u->v[i].fdi].stolen, old = -1, zero = 0, type = 0, acc = 0, err;
	socklen_t l = sizeof(old), lt = sizeof(type), la = sizeof(acc);
	char d[96];

	/* a listener has no data */
	if (getsockopt(sk, SOL_SOCKET, SO_TYPE, &type, &lt) ||
	    getsockopt(sk, SOL_SOCKET, SO_ACCEPTCONN, &acc, &la))
		return pr_perror_ret("%s: cannot read the type of unix socket %u",
				     dump_fd_desc(ctx, &ctx->fds[u->v[i].fdi], d, sizeof(d)),
				     u->v[i].d.ino);
	if (acc)
		return 0;
	/* Crash window (#9): killed before `old` is back, the task's MSG_PEEK starts at an
	 * offset. Only the peeks run in it (no ptrace, no image I/O): microseconds. */
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, &l) ||
	    setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return pr_perror_ret("%s: cannot set SO_PEEK_OFF on unix socket %u",
				     dump_fd_desc(ctx, &ctx->fds[u->v[i].fdi], d, sizeof(d)),
				     u->v[i].d.ino);
	while ((err = peek_one(ctx, u, i, sk, type, buf)) == 1)
		;
	/* the offset belongs to the socket: the task must find it as it left it */
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)) && !err)
		err = pr_perror_ret("socket %u: cannot restore SO_PEEK_OFF", u->v[i].d.ino);
	return err;
}

/*
 * The queues of the sockets not read yet (the fds in flight there are files of the dump,
 * sockets among them read on the next call). A refusal does not stop the others.
 */
int unix_read_queues(struct dump_ctx *ctx, struct dump_unix *u)
{
	_cleanup_free_ char *buf = NULL;
	int err, failed = 0;

	if (!u || u->n_read == u->n)
		return 0;
	buf = malloc(QUEUE_BUF);
	if (!buf)
		return -ENOMEM;
	for (; u->n_read < u->n; u->n_read++) {
		err = read_queue(ctx, u, u->n_read, buf);
		if (err == -ENOMEM)
			return err;
		if (err && !failed)
			failed = err;
	}
	return failed;
}

int unix_write_queue(struct dump_ctx *ctx, struct img *img, struct usk *s)
{
	size_t i;
	int err;

	for (i = 0; i < s->nq; i++) {
		SkPacketEntry e = SK_PACKET_ENTRY__INIT;
		ScmEntry scm = SCM_ENTRY__INIT, *scms[1] = { &scm };

		e.id_for = ctx->fds[s->fdi].file_id;
		e.length = s->q[i].len;
		if (s->q[i].n_rights) {
			scm.type = SCM_RIGHTS;
			scm.rights = s->q[i].rights;
			scm.n_rights = s->q[i].n_rights;
			e.scm = scms;
			e.n_scm = 1;
		}
		err = img_write_one(img, &e.base);
		if (!err)
			err = img_write_payload(img, s->q[i].data, s->q[i].len);
		if (err)
			return pr_err_ret(err, "cannot write sk-queues.img: %s", img_error());
	}
	return 0;
}

/* ---- restore ---- */

/* sk-queues.img: each message, with the file ids of the fds in flight it carries. */
const char *unix_take_packet(const void *msg, struct rst_blob *b)
{
	const SkPacketEntry *p = msg;
	size_t i, n = 0;

	b->id = p->id_for;
	b->len = p->length;
	for (i = 0; i < p->n_scm; i++) {
		if (p->scm[i]->type != SCM_RIGHTS)
			return "a queued message carries a control message other than SCM_RIGHTS";
		n += p->scm[i]->n_rights;
	}
	if (n > SCM_MAX_FDS)
		return "a queued message carries more than 253 fds";
	if (!n)
		return NULL;
	b->rights = malloc(n * sizeof(*b->rights));
	if (!b->rights)
		return "out of memory";
	for (i = 0; i < p->n_scm; i++) {
		memcpy(b->rights + b->n_rights, p->scm[i]->rights,
		       p->scm[i]->n_rights * sizeof(*b->rights));
		b->n_rights += (uint32_t)p->scm[i]->n_rights;
	}
	return NULL;
}

/* Every file a queued message carries must be in files.img: it is created for it. */
int unix_mark_inflight(struct rst_set *set, const struct rst_blob *packets, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < packets[i].n_rights; j++) {
			struct rst_file *f = rst_file_by_id(set, packets[i].rights[j]);

			if (!f) {
				pr_err("image %s: sk-queues.img: a message carries file id %u, which "
				       "files.img does not have",
				       imgdir_path(set->dir), packets[i].rights[j]);
				return -EBADMSG;
			}
			f->inflight = true;
		}
	}
	return 0;
}

/* The controller's fds of the files a message carries, as an SCM_RIGHTS message. */
int unix_rights_cmsg(const struct rst_set *set, const struct rst_blob *b, struct msghdr *mh,
		     void *buf)
{
	struct cmsghdr *c;
	uint32_t i;

	if (!b->n_rights)
		return 0;
	mh->msg_control = buf;
	mh->msg_controllen = CMSG_SPACE(b->n_rights * sizeof(int));
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(b->n_rights * sizeof(int));
	for (i = 0; i < b->n_rights; i++) {
		const struct rst_file *f = rst_file_by_id(set, b->rights[i]);

		if (!f || f->ctl_fd < 0)
			return pr_err_ret(-EOPNOTSUPP,
					  "file id %u, in flight in a queued message, "
					  "was not created: its kind cannot be sent yet",
					  b->rights[i]);
		((int *)CMSG_DATA(c))[i] = f->ctl_fd;
	}
	return 0;
}
