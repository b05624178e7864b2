// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unix sockets, created by the controller before the tree is forked, in an order where
 * every peer exists before it is needed:
 *   1. listeners bound to their names and listening; other named sockets bound;
 *   2. stream/seqpacket connections inside the tree: connect() to the in-image listener
 *      and accept() when the server side carries the listener's name (so both ends see
 *      the names they saw at dump), else socketpair(); then the not-yet-accepted clients;
 *   3. receive queues refilled: from the in-image peer of a connected pair, else from a
 *      private "queuer" socketpair end (datagram boundaries kept, one send per message);
 *   4. datagram sockets connect()ed to their peer's name, external ones to the recorded
 *      address (--ext-unix-sk), stream externals to the peer listener's path;
 *   5. shutdown state, socket options and status flags as dumped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "fd_unix.h"
#include "pb.h"
#include "rstctx.h"
#include "util.h"

#include "crux_ext.pb-c.h"
#include "fdinfo.pb-c.h"
#include "sk_packet.pb-c.h"

#define USK_EXTERN 1
#define ST_ESTABLISHED 1
#define ST_CLOSE 7
#define ST_LISTEN 10
/* Send buffer of a queuer: large enough for any dumped receive queue. */
#define QUEUER_SNDBUF (64 << 20)

/* What the unix kind keeps during a restore (rst_kstate()). */
struct rst_unix {
	struct rst_blob *packets; /* sk-queues.img, in queue order; id = receiver's file id */
	size_t n_packets;
	struct CruxExtEntry **ext; /* crux-ext.img: accepted externals (rst_file.priv) */
	size_t n_ext;
	char **bound; /* names this restore bound: removed again if it fails */
	size_t n_bound;
};

/* The key of that state (kstate.h): this file's own, so that it needs nothing of unix.c. */
static const char rst_unix_key;

static struct rst_unix *ustate(const struct rst_set *set)
{
	return rst_kstate_get(set, &rst_unix_key);
}

/* The external record of a socket, or NULL. */
static const CruxExtEntry *ext_of(const struct rst_file *f)
{
	return f->priv;
}

struct uaddr {
	struct sockaddr_un sun;
	socklen_t len;
	char text[sizeof(((struct sockaddr_un *)0)->sun_path) * 4 + 8]; /* for messages */
};

static void rst_name_text(const void *name, size_t len, char *out, size_t size)
{
	const char *n = name;

	if (len > 1 && n[0] != '\0' && n[len - 1] == '\0')
		len--;
	unix_name_format(name, len, out, size);
}

static bool is_usk(const struct rst_file *f)
{
	return f->fe->type == FD_TYPES__UNIXSK && f->fe->usk && !(f->fe->usk->uflags & USK_EXTERN);
}

/* The socket of inode ino (not a CRIU extern peer entry), or NULL. */
static struct rst_file *file_by_ino(const struct rst_set *set, uint32_t ino)
{
	size_t i;

	for (i = 0; i < set->n_files; i++) {
		FileEntry *fe = set->files[i].fe;

		if (fe->usk && fe->usk->ino == ino && !(fe->usk->uflags & USK_EXTERN))
			return &set->files[i];
	}
	return NULL;
}

static int make_addr(const void *name, size_t len, const char *dir, struct uaddr *a)
{
	size_t dl = 0;

	memset(a, 0, sizeof(*a));
	a->sun.sun_family = AF_UNIX;
	if (len && ((const char *)name)[0] != '\0' && ((const char *)name)[0] != '/' && dir) {
		dl = strlen(dir);
		if (dl + 1 + len > sizeof(a->sun.sun_path))
			return -ENAMETOOLONG;
		memcpy(a->sun.sun_path, dir, dl);
		a->sun.sun_path[dl++] = '/';
	}
	if (dl + len > sizeof(a->sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun.sun_path + dl, name, len);
	a->len = offsetof(struct sockaddr_un, sun_path) + dl + len;
	rst_name_text(a->sun.sun_path, dl + len, a->text, sizeof(a->text));
	return 0;
}

static int sk_addr(const UnixSkEntry *u, struct uaddr *a)
{
	return make_addr(u->name.data, u->name.len, u->name_dir, a);
}

static bool is_path(const struct uaddr *a)
{
	return a->len > offsetof(struct sockaddr_un, sun_path) && a->sun.sun_path[0] != '\0';
}

static int new_socket(struct rst_set *set, int type, int *ret)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	err = rst_park_fd(set, &fd);
	if (err) {
		close(fd);
		return err;
	}
	*ret = fd;
	return 0;
}

static int new_pair(struct rst_set *set, int type, int *a, int *b)
{
	int sv[2], err;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv))
		return -errno;
	err = rst_park_fd(set, &sv[0]);
	if (!err)
		err = rst_park_fd(set, &sv[1]);
	if (err) {
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	*a = sv[0];
	*b = sv[1];
	return 0;
}

enum name_state { NAME_FREE, NAME_STALE, NAME_LIVE, NAME_NOT_SOCKET };

/* What is at a path name now: nothing, a stale socket file (connect() refused), a live one. */
static enum name_state name_state(const struct uaddr *a, int type)
{
	struct stat st;
	int fd, r;

	if (!is_path(a) || lstat(a->sun.sun_path, &st))
		return NAME_FREE;
	if (!S_ISSOCK(st.st_mode))
		return NAME_NOT_SOCKET;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NAME_LIVE; /* can't tell: don't touch it */
	r = connect(fd, (const struct sockaddr *)&a->sun, a->len);
	if (r && errno == EPROTOTYPE) /* a live socket of another type */
		r = 0;
	close(fd);
	return r == 0 || errno == EAGAIN ? NAME_LIVE : NAME_STALE;
}

static const char *name_problem(enum name_state s)
{
	return s == NAME_LIVE ? "the name is held by a live socket; stop its owner or restore "
				"elsewhere" :
				"a file that is not a socket is there; move it away";
}

/*
 * A socket file already at a path name is replaced only if it is stale (no live socket
 * behind it); a live socket or another kind of file is an error.
 */
static int clear_stale_name(const struct uaddr *a, int type, uint32_t ino)
{
	enum name_state s = name_state(a, type);

	if (s == NAME_FREE)
		return 0;
	if (s != NAME_STALE)
		return pr_err_ret(-EADDRINUSE, "cannot bind socket ino %u to %s: %s", ino, a->text,
				  name_problem(s));
	if (unlink(a->sun.sun_path) && errno != ENOENT)
		return pr_perror_ret("cannot remove the stale socket file %s", a->text);
	pr_debug("replaced stale socket file %s", a->text);
	return 0;
}

/* Whether this socket gets bound to its own name at restore. */
static bool binds_own_name(const UnixSkEntry *u)
{
	return u->name.len &&
	       (u->state == ST_LISTEN || u->type == SOCK_DGRAM || u->state == ST_CLOSE);
}

static void check_names(struct rst_set *set)
{
	size_t i;

	for (i = 0; i < set->n_files; i++) {
		const UnixSkEntry *u = set->files[i].fe->usk;
		enum name_state s;
		struct uaddr a;

		if (!is_usk(&set->files[i]) || !binds_own_name(u) || sk_addr(u, &a))
			continue;
		s = name_state(&a, (int)u->type);
		if (s == NAME_LIVE || s == NAME_NOT_SOCKET) {
			rst_problem(set, "socket ino %u cannot be bound to %s again: %s", u->ino,
				    a.text, name_problem(s));
		}
	}
}

static int remember_bound(struct rst_set *set, const struct uaddr *a)
{
	struct rst_unix *us = ustate(set);
	char **nb = realloc(us->bound, (us->n_bound + 1) * sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	us->bound = nb;
	nb[us->n_bound] = strdup(a->sun.sun_path);
	if (!nb[us->n_bound])
		return -ENOMEM;
	us->n_bound++;
	return 0;
}

/*
 * A name bound relative to the cwd of its process: bound the same way, from the directory
 * it was bound in, so that getsockname() gives the same relative name. The controller's
 * own cwd is put back at once.
 */
static int bind_relative(int fd, const UnixSkEntry *u)
{
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct uaddr rel;
	int err = 0;

	if (cwd < 0)
		return -errno;
	err = make_addr(u->name.data, u->name.len, NULL, &rel);
	if (err)
		return err;
	if (chdir(u->name_dir))
		return -errno;
	if (bind(fd, (const struct sockaddr *)&rel.sun, rel.len))
		err = -errno;
	if (fchdir(cwd) && !err)
		err = -errno;
	return err;
}

static int bind_name(struct rst_set *set, int fd, const UnixSkEntry *u)
{
	struct uaddr a;
	int err;

	if (!u->name.len)
		return 0;
	err = sk_addr(u, &a);
	if (err) {
		pr_err("socket ino %u: its name does not fit a sockaddr_un", u->ino);
		return err;
	}
	err = clear_stale_name(&a, (int)u->type, u->ino);
	if (!err && is_path(&a))
		err = rst_guard_name(&set->guard, a.sun.sun_path, (int)u->type);
	if (err)
		return err;
	err = u->name_dir && is_path(&a) && ((const char *)u->name.data)[0] != '/' ?
		      bind_relative(fd, u) :
	      bind(fd, (const struct sockaddr *)&a.sun, a.len) ? -errno :
								 0;
	if (err)
		return pr_err_ret(err, "cannot bind socket ino %u to %s: %s", u->ino, a.text,
				  strerror(-err));
	if (!is_path(&a))
		return 0;
	if (u->file_perms && (chmod(a.sun.sun_path, u->file_perms->mode & 07777) ||
			      lchown(a.sun.sun_path, u->file_perms->uid, u->file_perms->gid)))
		pr_pwarn("socket file %s: cannot restore its mode/owner, skipping", a.text);
	if (u->has_deleted && u->deleted) {
		unlink(a.sun.sun_path); /* it was bound to a name since removed */
		return 0;
	}
	return remember_bound(set, &a);
}

static struct rst_file *in_peer(const struct rst_set *set, const UnixSkEntry *u)
{
	return u->peer ? file_by_ino(set, u->peer) : NULL;
}

static bool mutual(const struct rst_set *set, const struct rst_file *f, struct rst_file **ret)
{
	struct rst_file *p = in_peer(set, f->fe->usk);

	*ret = p;
	return p && p->fe->usk->peer == f->fe->usk->ino;
}

static struct rst_file *listener_named(const struct rst_set *set, const UnixSkEntry *u)
{
	size_t i;

	if (!u->name.len)
		return NULL;
	for (i = 0; i < set->n_files; i++) {
		const UnixSkEntry *l = set->files[i].fe->usk;

		if (is_usk(&set->files[i]) && l->state == ST_LISTEN && l->type == u->type &&
		    l->name.len == u->name.len && !memcmp(l->name.data, u->name.data, u->name.len))
			return &set->files[i];
	}
	return NULL;
}

static bool has_packets(const struct rst_set *set, uint32_t id)
{
	const struct rst_unix *us = ustate(set);
	size_t i;

	for (i = 0; i < us->n_packets; i++)
		if (us->packets[i].id == id)
			return true;
	return false;
}

static size_t count_packets(const struct rst_set *set, uint32_t id)
{
	const struct rst_unix *us = ustate(set);
	size_t i, n = 0;

	for (i = 0; i < us->n_packets; i++)
		n += us->packets[i].id == id;
	return n;
}

/*
 * An unnamed datagram socket with queued messages and no peer left gets them from a
 * private socketpair end. (Disconnecting a datagram socket later would purge its queue,
 * so this is only for sockets that stay unconnected.)
 */
static bool needs_queuer(const struct rst_set *set, const struct rst_file *f)
{
	const UnixSkEntry *u = f->fe->usk;
	struct rst_file *p;

	return !u->name.len && !u->peer && !ext_of(f) && !mutual(set, f, &p) &&
	       has_packets(set, f->fe->id);
}

/*
 * A datagram socket that will receive its queue by sendto() from outside its pair: the
 * kernel caps such a queue at net.unix.max_dgram_qlen, taken when the socket is created.
 * Raise it for this one socket if the dumped queue is longer.
 */
static int new_dgram(struct rst_set *set, const struct rst_file *f, int *ret)
{
	static const char path[] = "/proc/sys/net/unix/max_dgram_qlen";
	size_t n = count_packets(set, f->fe->id);
	char old[32] = "", want[32];
	_cleanup_close_ int fd = -1;
	ssize_t len = 0;
	int err;

	if (n >= 10) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		len = fd >= 0 ? pread(fd, old, sizeof(old) - 1, 0) : -1;
		if (len > 0)
			pwrite(fd, want, (size_t)snprintf(want, sizeof(want), "%zu", n + 1), 0);
	}
	err = new_socket(set, SOCK_DGRAM, ret);
	if (len > 0)
		pwrite(fd, old, (size_t)len, 0);
	return err;
}

/* Phase 1: listeners and every other named socket that is not one end of a connection. */
static int create_named(struct rst_set *set, int *queuer)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		struct rst_file *f = &set->files[i];
		const UnixSkEntry *u = f->fe->usk;

		if (!is_usk(f) || !u->name.len || f->ctl_fd >= 0)
			continue;
		if (u->state != ST_LISTEN && (u->type != SOCK_DGRAM || u->state == ST_ESTABLISHED))
			continue; /* connected stream ends: the name belongs to their listener */
		if (u->type == SOCK_DGRAM)
			err = new_dgram(set, f, &f->ctl_fd);
		else
			err = new_socket(set, (int)u->type, &f->ctl_fd);
		if (!err)
			err = bind_name(set, f->ctl_fd, u);
		if (!err && u->state == ST_LISTEN && listen(f->ctl_fd, (int)u->backlog))
			err = -errno;
		if (err) {
			pr_err("socket ino %u: %s", u->ino, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* connect() a fresh socket to the listener l's name; with accept, also the server end. */
static int connect_to_listener(struct rst_set *set, const UnixSkEntry *u, struct rst_file *l,
			       int *cfd, int *sfd)
{
	struct uaddr a;
	int err;

	err = sk_addr(l->fe->usk, &a);
	if (!err)
		err = new_socket(set, (int)u->type, cfd);
	if (err)
		return err;
	if (connect(*cfd, (const struct sockaddr *)&a.sun, a.len))
		return pr_perror_ret("socket ino %u: cannot connect to its listener %s", u->ino,
				     a.text);
	if (!sfd)
		return 0;
	*sfd = accept4(l->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (*sfd < 0)
		return -errno;
	return rst_park_fd(set, sfd);
}

/* Phase 2: stream and seqpacket connections whose both ends are in the image. */
static int create_stream_pairs(struct rst_set *set, int *queuer)
{
	size_t i;
	int err = 0;

	for (i = 0; i < set->n_files && !err; i++) {
		struct rst_file *f = &set->files[i], *p, *l;
		const UnixSkEntry *u = f->fe->usk;

		if (!is_usk(f) || u->type == SOCK_DGRAM || u->state != ST_ESTABLISHED ||
		    f->ctl_fd >= 0)
			continue;
		if (!u->peer) { /* the peer is gone: a socketpair whose other end closes later */
			err = new_pair(set, (int)u->type, &f->ctl_fd, &queuer[i]);
			continue;
		}
		if (!mutual(set, f, &p))
			continue; /* pending on a listener, or external */
		if ((l = listener_named(set, p->fe->usk)) && l->ctl_fd >= 0)
			err = connect_to_listener(set, u, l, &f->ctl_fd, &p->ctl_fd);
		else if ((l = listener_named(set, u)) && l->ctl_fd >= 0)
			err = connect_to_listener(set, p->fe->usk, l, &p->ctl_fd, &f->ctl_fd);
		else
			err = new_pair(set, (int)u->type, &f->ctl_fd, &p->ctl_fd);
	}
	/* Not yet accepted: connected to the listener after every accept() above. */
	for (i = 0; i < set->n_files && !err; i++) {
		struct rst_file *f = &set->files[i], *l;
		const UnixSkEntry *u = f->fe->usk;

		if (!is_usk(f) || u->type == SOCK_DGRAM || f->ctl_fd >= 0 || !u->peer)
			continue;
		l = in_peer(set, u);
		if (l && l->fe->usk->state == ST_LISTEN)
			err = connect_to_listener(set, u, l, &f->ctl_fd, NULL);
	}
	return err;
}

/* Sockets not created yet: datagram ends, externals, unconnected ones. */
static int create_rest(struct rst_set *set, int *queuer)
{
	size_t i;
	int err = 0;

	for (i = 0; i < set->n_files && !err; i++) {
		struct rst_file *f = &set->files[i], *p;
		const UnixSkEntry *u = f->fe->usk;

		if (!is_usk(f) || f->ctl_fd >= 0)
			continue;
		if (u->type == SOCK_DGRAM && mutual(set, f, &p) && p->ctl_fd < 0 &&
		    !u->name.len && !p->fe->usk->name.len) {
			err = new_pair(set, SOCK_DGRAM, &f->ctl_fd, &p->ctl_fd);
			continue;
		}
		if (u->type == SOCK_DGRAM && needs_queuer(set, f))
			err = new_pair(set, SOCK_DGRAM, &f->ctl_fd, &queuer[i]);
		else if (u->type == SOCK_DGRAM)
			err = new_dgram(set, f, &f->ctl_fd);
		else
			err = new_socket(set, (int)u->type, &f->ctl_fd);
		if (!err && u->type == SOCK_DGRAM)
			err = bind_name(set, f->ctl_fd, u);
		else if (!err && u->state == ST_CLOSE)
			err = bind_name(set, f->ctl_fd, u);
	}
	return err;
}

/* One message (a stream's bytes in as many sends as it takes), its fds with the first. */
static int send_all(const struct rst_set *set, int fd, const struct rst_blob *b, bool dgram)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * SCM_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	const char *p = b->data;
	size_t left = b->len;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int err = unix_rights_cmsg(set, b, &mh, cbuf.b);

	if (err)
		return err;
	do {
		ssize_t n;

		iov.iov_base = (void *)p;
		iov.iov_len = left;
		n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		mh.msg_control = NULL;
		mh.msg_controllen = 0;

		if (n < 0)
			return -errno;
		if (dgram)
			return (size_t)n == b->len ? 0 : -EMSGSIZE;
		p += n;
		left -= n;
	} while (left);
	return 0;
}

/* A named datagram receiver, still unconnected: sendto() its name from a fresh socket. */
static int send_to_name(struct rst_set *set, const UnixSkEntry *u, const struct rst_blob *b)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	union {
		char b[CMSG_SPACE(sizeof(int) * SCM_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = b->data, .iov_len = b->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct uaddr a;
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	err = sk_addr(u, &a);
	if (!err)
		err = unix_rights_cmsg(set, b, &mh, cbuf.b);
	if (err)
		return err;
	mh.msg_name = &a.sun;
	mh.msg_namelen = a.len;
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != (ssize_t)b->len) {
		err = n < 0 ? -errno : -EMSGSIZE;
		pr_err("socket ino %u: cannot refill its receive queue through %s: %s", u->ino,
		       a.text, strerror(-err));
		return err;
	}
	return 0;
}

/* Phase 3: every receive queue, message by message, from its peer or its queuer. */
static int fill_queues(struct rst_set *set, int *queuer)
{
	const struct rst_unix *us = ustate(set);
	size_t i;
	int err;

	for (i = 0; i < us->n_packets; i++) {
		const struct rst_blob *b = &us->packets[i];
		struct rst_file *r = rst_file_by_id(set, b->id), *p = NULL;
		const UnixSkEntry *u;
		int from = -1;

		if (!r || !is_usk(r))
			return pr_err_ret(-EBADMSG, "sk-queues.img: a message for file id %u, not a "
						    "unix socket of files.img", b->id);
		u = r->fe->usk;
		if (queuer[r - set->files] >= 0)
			from = queuer[r - set->files];
		else if (mutual(set, r, &p) && p->ctl_fd >= 0)
			from = p->ctl_fd;
		if (from < 0 && u->type == SOCK_DGRAM && u->name.len) {
			err = send_to_name(set, u, b);
			if (err)
				return err;
			continue;
		}
		if (from < 0)
			return pr_err_ret(-EOPNOTSUPP, "socket ino %u: no way to refill its receive "
						       "queue (%zu bytes queued)", u->ino, b->len);
		if (from != queuer[r - set->files])
			setsockopt(from, SOL_SOCKET, SO_SNDBUFFORCE, &(int){ QUEUER_SNDBUF },
				   sizeof(int));
		err = send_all(set, from, b, u->type != SOCK_STREAM);
		if (err) {
			pr_err("socket ino %u: cannot refill its receive queue: %s", u->ino,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

static int ext_connect(struct rst_set *set, struct rst_file *f)
{
	const CruxExtEntry *x = ext_of(f);
	const UnixSkEntry *u = f->fe->usk;
	const ProtobufCBinaryData *name = x->has_addr && x->addr.len ? &x->addr : &x->peer_name;
	struct uaddr a;
	int err;

	err = make_addr(name->data, name->len, NULL, &a);
	if (err || !name->len)
		return pr_err_ret(-EINVAL, "socket ino %u: the image records no peer name to "
					   "reconnect to", u->ino);
	if (connect(f->ctl_fd, (const struct sockaddr *)&a.sun, a.len) == 0) {
		pr_info("pid %u fd %u: external %s socket (ino %u) reconnected to %s", x->owner_pid,
			x->owner_fd, u->type == SOCK_DGRAM ? "datagram" : "stream", u->ino, a.text);
		if (u->type != SOCK_DGRAM)
			pr_info("pid %u fd %u: a new connection: in-flight data and the server's "
				"per-connection state are not carried over",
				x->owner_pid, x->owner_fd);
		return 0;
	}
	err = -errno;
	pr_err("Can't connect pid %u fd %u (external unix socket, ino %u) to %s: %s; start the "
	       "server that binds %s, or restore without --ext-unix-sk to get a refusal",
	       x->owner_pid, x->owner_fd, u->ino, a.text, strerror(-err), a.text);
	return err;
}

/* Phase 4: datagram sockets to their peers, externals to their recorded names. */
static int connect_rest(struct rst_set *set, int *queuer)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		struct rst_file *f = &set->files[i], *p;
		const UnixSkEntry *u = f->fe->usk;
		struct uaddr a;

		if (!is_usk(f))
			continue;
		if (ext_of(f)) {
			err = ext_connect(set, f);
			if (err)
				return err;
			continue;
		}
		if (u->type != SOCK_DGRAM || !u->peer || (mutual(set, f, &p) && queuer[i] < 0 &&
							   !u->name.len && !p->fe->usk->name.len))
			continue;
		p = in_peer(set, u);
		if (!p || !p->fe->usk->name.len)
			return pr_err_ret(-EOPNOTSUPP, "datagram socket ino %u: its peer ino %u has "
						       "no name to connect to", u->ino, u->peer);
		err = sk_addr(p->fe->usk, &a);
		if (!err && connect(f->ctl_fd, (const struct sockaddr *)&a.sun, a.len))
			err = -errno;
		if (err) {
			pr_err("datagram socket ino %u: cannot connect to %s: %s", u->ino, a.text,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

static void set_opts(int fd, const UnixSkEntry *u)
{
	const SkOptsEntry *o = u->opts;
	struct timeval tv;
	int v;

	if (!o)
		return;
	if (o->so_sndbuf) {
		v = (int)o->so_sndbuf / 2; /* the kernel doubles what it is given */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
	}
	if (o->so_rcvbuf) {
		v = (int)o->so_rcvbuf / 2;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	}
	tv = (struct timeval){ (time_t)o->so_snd_tmo_sec, (suseconds_t)o->so_snd_tmo_usec };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	tv = (struct timeval){ (time_t)o->so_rcv_tmo_sec, (suseconds_t)o->so_rcv_tmo_usec };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (o->has_so_passcred) {
		v = o->so_passcred;
		setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v));
	}
	if (o->has_so_passsec) {
		v = o->so_passsec;
		setsockopt(fd, SOL_SOCKET, SO_PASSSEC, &v, sizeof(v));
	}
}

/* Phase 5: shutdown, options, status flags. */
static int finish_sockets(struct rst_set *set)
{
	static const int how[] = { [1] = SHUT_RD, [2] = SHUT_WR, [3] = SHUT_RDWR };
	size_t i;

	for (i = 0; i < set->n_files; i++) {
		struct rst_file *f = &set->files[i];
		const UnixSkEntry *u = f->fe->usk;

		if (!is_usk(f) || f->ctl_fd < 0)
			continue;
		if (u->has_shutdown && u->shutdown >= 1 && u->shutdown <= 3 &&
		    shutdown(f->ctl_fd, how[u->shutdown]) && errno != ENOTCONN)
			return pr_perror_ret("socket ino %u: cannot shut it down as dumped",
					     u->ino);
		set_opts(f->ctl_fd, u);
		if (fcntl(f->ctl_fd, F_SETFL, (int)(u->flags & O_NONBLOCK)))
			return -errno;
	}
	return 0;
}

int unix_create(struct rst_set *set)
{
	_cleanup_free_ int *queuer = malloc((set->n_files + 1) * sizeof(int));
	size_t i;
	int err;

	if (!queuer)
		return -ENOMEM;
	for (i = 0; i < set->n_files; i++)
		queuer[i] = -1;
	err = create_named(set, queuer);
	if (!err)
		err = create_stream_pairs(set, queuer);
	if (!err)
		err = create_rest(set, queuer);
	if (!err)
		err = fill_queues(set, queuer);
	for (i = 0; i < set->n_files; i++) /* a stream queuer's close is the peer's EOF */
		if (queuer[i] >= 0 && set->files[i].fe->usk->type != SOCK_DGRAM) {
			close(queuer[i]);
			queuer[i] = -2;
		}
	if (!err)
		err = connect_rest(set, queuer);
	for (i = 0; i < set->n_files; i++)
		if (queuer[i] >= 0)
			close(queuer[i]);
	if (!err)
		err = finish_sockets(set);
	return err;
}

/* ---- the restore ops of the unix kind (fd_unix.h) ---- */

/* crux-ext.img: each accepted external socket's record hangs on its file (priv). */
static int load_ext(struct rst_set *set, struct rst_unix *us)
{
	size_t i;
	int err;

	err = rst_read_all(set, IMG_CRUX_EXT, 0, &crux_ext_entry__descriptor, true,
			   (void ***)&us->ext, &us->n_ext);
	if (err)
		return err;
	for (i = 0; i < us->n_ext; i++) {
		struct rst_file *f = rst_file_by_id(set, us->ext[i]->file_id);

		if (!f || !f->fe->usk) {
			pr_err("image %s: crux-ext.img names file id %u, not a unix socket of "
			       "files.img",
			       imgdir_path(set->dir), us->ext[i]->file_id);
			return -EBADMSG;
		}
		f->priv = us->ext[i];
	}
	return 0;
}

int unix_load(struct rst_set *set)
{
	void **slot = rst_kstate(set, &rst_unix_key);
	struct rst_unix *us;
	int err;

	if (!slot)
		return -ENOMEM;
	us = calloc(1, sizeof(*us));
	if (!us)
		return -ENOMEM;
	*slot = us;
	err = load_ext(set, us);
	if (!err)
		err = rst_read_blobs(set, IMG_SK_QUEUES, unix_take_packet, &us->packets,
				     &us->n_packets);
	if (!err)
		err = unix_mark_inflight(set, us->packets, us->n_packets);
	return err;
}

/* An external peer's name must be there (a datagram peer must also accept a connect()). */
static void check_ext_peer(struct rst_set *set, const struct rst_file *f, const char *who)
{
	const CruxExtEntry *x = ext_of(f);
	const ProtobufCBinaryData *n = x->has_addr && x->addr.len ? &x->addr : &x->peer_name;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char text[sizeof(sun.sun_path) * 4 + 8];
	int fd, r;

	if (!n->len || n->len > sizeof(sun.sun_path)) {
		rst_problem(set,
			    "%s: external unix socket ino %u has no usable peer name in the image",
			    who, x->ino);
		return;
	}
	memcpy(sun.sun_path, n->data, n->len);
	rst_name_text(n->data, n->len, text, sizeof(text));
	if (f->fe->usk->type != SOCK_DGRAM) {
		struct stat st;

		if (sun.sun_path[0] && stat(sun.sun_path, &st))
			rst_problem(set,
				    "%s: the listener %s of external stream socket ino %u is gone "
				    "(%s); start the server that binds %s, or restore without "
				    "--ext-unix-sk to get a refusal",
				    who, text, x->ino, strerror(errno), text);
		return;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	r = connect(fd, (struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path) + n->len);
	if (r)
		rst_problem(set,
			    "Can't connect %s (external datagram socket, ino %u) to %s: %s; start "
			    "the server that binds %s, or restore without --ext-unix-sk to get a "
			    "refusal",
			    who, x->ino, text, strerror(errno), text);
	close(fd);
}

static void check_externals(struct rst_set *set)
{
	char who[64], text[512];
	size_t i;

	for (i = 0; i < set->n_files; i++) {
		const struct rst_file *f = &set->files[i];

		if (!ext_of(f))
			continue;
		rst_file_holder(f, who, sizeof(who));
		if (!set->opts->ext_unix_sk) {
			const ProtobufCBinaryData *n = &ext_of(f)->peer_name;

			rst_name_text(n->data, n->len, text, sizeof(text));
			rst_problem(
				set,
				"External socket found in image: %s (ino %u) was connected to "
				"%s (peer ino %u). Consider using the --ext-unix-sk option to allow "
				"restoring it (it reconnects to that name).",
				who, ext_of(f)->ino, n->len ? text : "an unnamed socket",
				ext_of(f)->peer_ino);
			continue;
		}
		check_ext_peer(set, f, who);
	}
}

void unix_validate(struct rst_set *set)
{
	check_externals(set);
	check_names(set);
}

void unix_abort(struct rst_set *set)
{
	const struct rst_unix *us = ustate(set);
	size_t i;

	for (i = 0; us && i < us->n_bound; i++)
		if (unlink(us->bound[i]) == 0)
			pr_debug("removed %s", us->bound[i]);
}

void unix_release(struct rst_set *set)
{
	struct rst_unix *us = ustate(set);
	size_t i;

	if (!us)
		return;
	rst_blobs_free(us->packets, us->n_packets);
	for (i = 0; i < us->n_ext; i++)
		pb_free(us->ext[i]);
	free(us->ext);
	for (i = 0; i < us->n_bound; i++)
		free(us->bound[i]);
	free(us->bound);
	free(us);
	*rst_kstate(set, &rst_unix_key) = NULL;
}
