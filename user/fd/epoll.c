// SPDX-License-Identifier: GPL-2.0-only
/*
 * epoll: the interest list of each epoll instance, read exactly from /proc/PID/fdinfo (one
 * "tfd:" line per registration: target fd number, events with EPOLLET/ONESHOT/EXCLUSIVE/
 * WAKEUP, data word). The kernel keys a registration by (file, fd number), and the fd
 * number may be closed while the file lives on in a dup elsewhere, so each target's file is
 * pinned with kcmp(KCMP_EPOLL_TFD) against every fd of the tree: its file id goes to
 * crux-fds.img. A target held by nothing in the tree is refused.
 *
 * Restore (the controller, after every other file exists): epoll_create1 for each, then a
 * short-lived helper child with its own fd table dup2()s each target's object to its
 * dumped number and registers it with the dumped events and data, so the interest list
 * has the same keys; ready events are ready again because the targets' state is restored.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "epoll: "
#include "dumpctx.h"
#include "evloop.h"
#include "fd.h"
#include "log.h"
#include "rstctx.h"
#include "util.h"
#include "crux_fds.pb-c.h"
#include "eventpoll.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"

struct ep_tfd {
	uint32_t tfd, events, sdev;
	uint64_t data, ino, pos;
	uint32_t target_id;
};

struct ep_rec {
	size_t fdi; /* index of the epoll's primary fd in ctx->fds */
	struct ep_tfd *v;
	size_t n;
};

struct dump_epolls {
	struct ep_rec *v;
	size_t n;
};

extern const struct fd_kind fd_epoll;

static bool ep_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
}

static int parse(const char *text, struct ep_tfd **ret, size_t *ret_n)
{
	struct ep_tfd *v = NULL, *nv;
	size_t n = 0;
	const char *p = text;

	while ((p = strstr(p, "tfd:"))) {
		struct ep_tfd t = { 0 };
		unsigned long long data, ino;
		long long pos;

		if (sscanf(p, "tfd: %u events: %x data: %llx pos:%lli ino:%llx sdev:%x", &t.tfd,
			   &t.events, &data, &pos, &ino, &t.sdev) != 6) {
			free(v);
			return -EINVAL;
		}
		t.data = data;
		t.ino = ino;
		t.pos = (uint64_t)pos;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = t;
		p += 4;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool same_target(const struct dump_fd *cand, const struct dump_fd *ep, uint32_t tfd,
			uint32_t toff)
{
	struct kcmp_epoll_slot slot = { .efd = (uint32_t)ep->fd, .tfd = tfd, .toff = toff };

	return syscall(SYS_kcmp, cand->pid, ep->pid, KCMP_EPOLL_TFD, cand->fd, &slot) == 0;
}

/* The file id of registration i of ep (toff: same fd number registered before it). */
static int resolve(struct dump_ctx *ctx, const struct dump_fd *ep, struct ep_rec *r, size_t i)
{
	struct ep_tfd *t = &r->v[i];
	uint32_t toff = 0;
	size_t j;
	char d[96];

	for (j = 0; j < i; j++)
		toff += r->v[j].tfd == t->tfd;
	/* the usual case first: the fd is still open under its number in the epoll's task */
	for (j = 0; j < ctx->n_fds; j++) {
		const struct dump_fd *c = &ctx->fds[j];

		if (c->pid == ep->pid && c->fd == (int)t->tfd && same_target(c, ep, t->tfd, toff))
			goto found;
	}
	for (j = 0; j < ctx->n_fds; j++)
		if (same_target(&ctx->fds[j], ep, t->tfd, toff))
			goto found;
	return pr_err_ret(-EXDEV,
			  "%s: epoll target fd %u (inode %llu) is registered, but no fd of the "
			  "dumped tree holds its file (closed here and held outside the tree?): "
			  "restore could not recreate the registration",
			  dump_fd_desc(ctx, ep, d, sizeof(d)), t->tfd, (unsigned long long)t->ino);
found:
	t->target_id = ctx->fds[j].file_id;
	return 0;
}

static int check_one(struct dump_ctx *ctx, size_t fdi, struct ep_rec *r)
{
	const struct dump_fd *ep = &ctx->fds[fdi];
	_cleanup_free_ char *text = NULL;
	size_t i;
	char d[96];
	int err, failed = 0;

	r->fdi = fdi;
	err = evl_fdinfo_text(ctx, ep, &text);
	if (err)
		return err;
	err = parse(text, &r->v, &r->n);
	if (err == -EINVAL)
		return pr_err_ret(err, "%s: cannot parse its epoll fdinfo",
				  dump_fd_desc(ctx, ep, d, sizeof(d)));
	for (i = 0; !err && i < r->n; i++) {
		err = resolve(ctx, ep, r, i);
		if (err && !failed)
			failed = err;
		err = 0;
	}
	return err ?: failed;
}

static int epoll_check(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_epoll);
	struct dump_epolls *s;
	size_t i;
	int err, failed = 0;

	if (!slot || !(*slot = s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	for (i = 0; i < ctx->n_fds; i++) {
		struct ep_rec *nv;

		if (ctx->fds[i].kind != &fd_epoll || !ctx->fds[i].primary)
			continue;
		nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		memset(&s->v[s->n], 0, sizeof(s->v[0]));
		err = check_one(ctx, i, &s->v[s->n++]);
		if (err == -ENOMEM)
			return err;
		if (err && !failed)
			failed = err;
	}
	return failed;
}

static int write_one(struct dump_ctx *ctx, const struct ep_rec *r)
{
	const struct dump_fd *ep = &ctx->fds[r->fdi];
	FileEntry fe = FILE_ENTRY__INIT;
	EventpollFileEntry e = EVENTPOLL_FILE_ENTRY__INIT;
	CruxFdEntry c = CRUX_FD_ENTRY__INIT;
	_cleanup_free_ EventpollTfdEntry *tv = calloc(r->n + 1, sizeof(*tv));
	_cleanup_free_ EventpollTfdEntry **tp = calloc(r->n + 1, sizeof(*tp));
	_cleanup_free_ CruxEpollTarget *cv = calloc(r->n + 1, sizeof(*cv));
	_cleanup_free_ CruxEpollTarget **cp = calloc(r->n + 1, sizeof(*cp));
	FownEntry fown;
	size_t i;
	int err;

	if (!tv || !tp || !cv || !cp)
		return -ENOMEM;
	for (i = 0; i < r->n; i++) {
		eventpoll_tfd_entry__init(&tv[i]);
		tv[i].id = ep->file_id;
		tv[i].tfd = r->v[i].tfd;
		tv[i].events = r->v[i].events;
		tv[i].data = r->v[i].data;
		tv[i].has_dev = tv[i].has_inode = tv[i].has_pos = true;
		tv[i].dev = r->v[i].sdev;
		tv[i].inode = r->v[i].ino;
		tv[i].pos = r->v[i].pos;
		tp[i] = &tv[i];
		crux_epoll_target__init(&cv[i]);
		cv[i].has_tfd = cv[i].has_target_id = true;
		cv[i].tfd = r->v[i].tfd;
		cv[i].target_id = r->v[i].target_id;
		cp[i] = &cv[i];
	}
	evl_fown_zero(&fown);
	e.id = ep->file_id;
	e.flags = ep->fi.flags;
	e.fown = &fown;
	e.n_tfd = r->n;
	e.tfd = tp;
	fe.type = FD_TYPES__EVENTPOLL;
	fe.id = ep->file_id;
	fe.epfd = &e;
	err = dump_write_file_entry(ctx, &fe);
	if (err)
		return err;
	c.has_id = true;
	c.id = ep->file_id;
	c.n_targets = r->n;
	c.targets = cp;
	return evl_cruxfds_write(ctx, &c);
}

static int epoll_write(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_epoll);
	struct dump_epolls *s = slot ? *slot : NULL;
	size_t i;
	int err;

	for (i = 0; s && i < s->n; i++) {
		err = write_one(ctx, &s->v[i]);
		if (err)
			return err;
	}
	return 0;
}

static void epoll_cleanup(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_epoll);
	struct dump_epolls *s = slot ? *slot : NULL;
	size_t i;

	for (i = 0; s && i < s->n; i++)
		free(s->v[i].v);
	if (s)
		free(s->v);
	free(s);
	if (slot)
		*slot = NULL;
}

/* Restore half. */

static int ep_create(struct rst_set *set)
{
	size_t i;
	int fd, err;

	for (i = 0; i < set->n_files; i++) {
		struct rst_file *f = &set->files[i];

		if (f->fe->type != FD_TYPES__EVENTPOLL || !f->fe->epfd)
			continue;
		fd = epoll_create1(EPOLL_CLOEXEC);
		if (fd < 0)
			return pr_perror_ret("file id %u: cannot create an epoll", f->fe->id);
		err = rst_park_fd(set, &fd);
		if (err) {
			close(fd);
			return pr_err_ret(err, "cannot park an epoll fd: %s", strerror(-err));
		}
		f->ctl_fd = fd;
	}
	return 0;
}

/* In the helper child: one registration; a message into msg on failure. */
static int add_one(struct rst_set *set, const struct rst_file *ep, size_t i, char *msg, size_t size)
{
	const EventpollTfdEntry *t = ep->fe->epfd->tfd[i];
	const CruxFdEntry *cfd = evl_cruxfds_get(set, ep->fe->id);
	const struct rst_file *target = NULL;
	struct epoll_event ev = { .events = t->events, .data.u64 = t->data };

	if (cfd && i < cfd->n_targets && cfd->targets[i]->tfd == t->tfd)
		target = rst_file_by_id(set, cfd->targets[i]->target_id);
	if (!target || target->ctl_fd < 0) {
		snprintf(msg, size,
			 "epoll file id %u: the target of fd %u is not in the image "
			 "(crux-fds.img)",
			 ep->fe->id, t->tfd);
		return -EBADMSG;
	}
	if (dup2(target->ctl_fd, (int)t->tfd) < 0 ||
	    epoll_ctl(ep->ctl_fd, EPOLL_CTL_ADD, (int)t->tfd, &ev)) {
		snprintf(msg, size, "epoll file id %u: cannot register fd %u (events %#x): %s",
			 ep->fe->id, t->tfd, t->events, strerror(errno));
		return -errno;
	}
	return 0;
}

static __attribute__((noreturn)) void helper(struct rst_set *set, int wfd)
{
	char msg[240] = "";
	size_t i, j;

	for (i = 0; i < set->n_files; i++) {
		const struct rst_file *f = &set->files[i];

		if (f->fe->type != FD_TYPES__EVENTPOLL || f->ctl_fd < 0)
			continue;
		for (j = 0; j < f->fe->epfd->n_tfd; j++) {
			if (add_one(set, f, j, msg, sizeof(msg))) {
				if (write(wfd, msg, strlen(msg)) < 0)
					_exit(2);
				_exit(1);
			}
		}
	}
	_exit(0);
}

/* After every kind created its files: register the targets from a helper child. */
static int ep_post_create(struct rst_set *set)
{
	char msg[256] = "";
	int p[2], status = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid == 0)
		helper(set, p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return pr_perror_ret("cannot fork the epoll helper");
	}
	n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	msg[n > 0 ? n : 0] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return pr_err_ret(-EIO, "%s", *msg ? msg : "the epoll helper failed");
	return 0;
}

const struct fd_kind fd_epoll = {
	.name = "epoll",
	.fd_type = FD_TYPES__EVENTPOLL,
	.match = ep_match,
	.check = epoll_check,
	.write = epoll_write,
	.cleanup = epoll_cleanup,
	.create = ep_create,
	.post_create = ep_post_create,
	.show = evl_show,
};
