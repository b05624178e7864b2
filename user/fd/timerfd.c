// SPDX-License-Identifier: GPL-2.0-only
/*
 * timerfd: clock, flags, interval, the time left and the expirations not read yet, from
 * /proc/PID/fdinfo (clockid, ticks, settime flags, it_value, it_interval).
 *
 * Time spent checkpointed is handled the way the clock says:
 * - a CLOCK_REALTIME(_ALARM) timer armed with TFD_TIMER_ABSTIME keeps its absolute deadline
 *   (dump time + time left, crux-fds.img keeps the dump's CLOCK_REALTIME); if it passed
 *   while the process was away, it fires at once and counts the intervals it missed;
 * - every other timer (CLOCK_MONOTONIC, CLOCK_BOOTTIME, relative CLOCK_REALTIME) keeps the
 *   time it had left: its deadline shifts by the time spent checkpointed, as if the
 *   process had been stopped.
 * Unread expirations are put back with TFD_IOC_SET_TICKS (CONFIG_CHECKPOINT_RESTORE).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "timerfd: "
#include "dumpctx.h"
#include "evloop.h"
#include "fd.h"
#include "log.h"
#include "rstctx.h"
#include "util.h"
#include "crux_fds.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"
#include "timerfd.pb-c.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

extern const struct fd_kind fd_timerfd;

static bool tfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

static int parse(const char *text, TimerfdEntry *e)
{
	const char *p;
	unsigned long long a, b;

	p = strstr(text, "clockid:");
	if (!p || sscanf(p, "clockid: %u", &e->clockid) != 1)
		return -EINVAL;
	p = strstr(text, "ticks:");
	if (!p || sscanf(p, "ticks: %llu", &a) != 1)
		return -EINVAL;
	e->ticks = a;
	p = strstr(text, "settime flags:");
	if (!p || sscanf(p, "settime flags: %o", &e->settime_flags) != 1)
		return -EINVAL;
	p = strstr(text, "it_value:");
	if (!p || sscanf(p, "it_value: (%llu, %llu)", &a, &b) != 2)
		return -EINVAL;
	e->vsec = a;
	e->vnsec = b;
	p = strstr(text, "it_interval:");
	if (!p || sscanf(p, "it_interval: (%llu, %llu)", &a, &b) != 2)
		return -EINVAL;
	e->isec = a;
	e->insec = b;
	return 0;
}

static bool keeps_deadline(uint32_t clockid, uint32_t settime_flags)
{
	return (settime_flags & TFD_TIMER_ABSTIME) &&
	       (clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM);
}

static int write_one(struct dump_ctx *ctx, const struct dump_fd *f)
{
	FileEntry fe = FILE_ENTRY__INIT;
	TimerfdEntry e = TIMERFD_ENTRY__INIT;
	CruxFdEntry c = CRUX_FD_ENTRY__INIT;
	_cleanup_free_ char *text = NULL;
	struct timespec now;
	FownEntry fown;
	char d[96];
	int err;

	clock_gettime(CLOCK_REALTIME, &now);
	err = evl_fdinfo_text(ctx, f, &text);
	if (err)
		return err;
	if (parse(text, &e))
		return pr_err_ret(-EINVAL, "%s: cannot parse its timerfd fdinfo",
				  dump_fd_desc(ctx, f, d, sizeof(d)));
	evl_fown_zero(&fown);
	e.id = f->file_id;
	e.flags = f->fi.flags;
	e.fown = &fown;
	fe.type = FD_TYPES__TIMERFD;
	fe.id = f->file_id;
	fe.tfd = &e;
	err = dump_write_file_entry(ctx, &fe);
	if (err || !keeps_deadline(e.clockid, e.settime_flags))
		return err;
	c.id = f->file_id;
	c.has_id = true;
	c.dump_realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	c.has_dump_realtime_ns = true;
	return evl_cruxfds_write(ctx, &c);
}

static int timerfd_write(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		if (ctx->fds[i].kind != &fd_timerfd || !ctx->fds[i].primary)
			continue;
		err = write_one(ctx, &ctx->fds[i]);
		if (err)
			return err;
	}
	return 0;
}

/* The it_value to arm with, and its flags (see the top of the file). */
static int restore_value(const struct rst_set *set, const struct rst_file *f,
			 struct itimerspec *its, int *flags)
{
	const TimerfdEntry *e = f->fe->tfd;
	const CruxFdEntry *cfd = evl_cruxfds_get(set, e->id);
	uint64_t left = e->vsec * 1000000000ull + e->vnsec, at;
	struct timespec now;

	its->it_interval.tv_sec = (time_t)e->isec;
	its->it_interval.tv_nsec = (long)e->insec;
	its->it_value.tv_sec = (time_t)e->vsec;
	its->it_value.tv_nsec = (long)e->vnsec;
	*flags = (int)(e->settime_flags & TFD_TIMER_CANCEL_ON_SET);
	if (!left || !(e->settime_flags & TFD_TIMER_ABSTIME))
		return 0;
	if (keeps_deadline(e->clockid, e->settime_flags)) {
		if (!cfd || !cfd->has_dump_realtime_ns)
			return -EBADMSG;
		at = cfd->dump_realtime_ns + left;
	} else {
		/* an absolute deadline on a clock that shifts: now + what was left */
		if (clock_gettime((clockid_t)e->clockid, &now))
			return -errno;
		at = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec + left;
	}
	its->it_value.tv_sec = (time_t)(at / 1000000000ull);
	its->it_value.tv_nsec = (long)(at % 1000000000ull);
	*flags |= TFD_TIMER_ABSTIME;
	return 0;
}

/* Arm it and put the unread expirations back (plus any it made since, if already due). */
static int arm(const struct rst_set *set, const struct rst_file *f, int fd)
{
	const TimerfdEntry *e = f->fe->tfd;
	struct itimerspec its;
	uint64_t ticks = e->ticks, more = 0;
	int flags, err;

	err = restore_value(set, f, &its, &flags);
	if (err == -EBADMSG)
		return pr_err_ret(err,
				  "file id %u: crux-fds.img lacks the dump time of this "
				  "absolute CLOCK_REALTIME timer",
				  e->id);
	if (err)
		return pr_err_ret(err, "file id %u: cannot read clock %u: %s", e->id, e->clockid,
				  strerror(-err));
	if ((its.it_value.tv_sec || its.it_value.tv_nsec) && timerfd_settime(fd, flags, &its, NULL))
		return pr_perror_ret("file id %u: cannot arm the timerfd", e->id);
	/* fd is non-blocking here: an expiration already counted reads at once, or EAGAIN */
	if (read(fd, &more, sizeof(more)) != sizeof(more))
		more = 0;
	ticks += more;
	if (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks))
		return pr_perror_ret("file id %u: cannot put back %llu unread expirations "
				     "(TFD_IOC_SET_TICKS needs CONFIG_CHECKPOINT_RESTORE)",
				     e->id, (unsigned long long)ticks);
	return 0;
}

static int tfd_open(struct rst_set *set, struct rst_file *f)
{
	const TimerfdEntry *e = f->fe->tfd;
	_cleanup_close_ int fd = -1;
	int err;

	fd = timerfd_create((int)e->clockid, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return pr_perror_ret("file id %u: cannot create a timerfd on clock %u", e->id,
				     e->clockid);
	err = arm(set, f, fd);
	if (err)
		return err;
	if (!(e->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, 0))
		return pr_perror_ret("file id %u: cannot clear O_NONBLOCK", e->id);
	err = rst_park_fd(set, &fd);
	if (err)
		return pr_err_ret(err, "cannot park a timerfd: %s", strerror(-err));
	f->ctl_fd = TAKE_FD(fd);
	return 0;
}

static int tfd_create(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		if (set->files[i].fe->type != FD_TYPES__TIMERFD || !set->files[i].fe->tfd)
			continue;
		err = tfd_open(set, &set->files[i]);
		if (err)
			return err;
	}
	return 0;
}

const struct fd_kind fd_timerfd = {
	.name = "timerfd",
	.fd_type = FD_TYPES__TIMERFD,
	.match = tfd_match,
	.write = timerfd_write,
	.create = tfd_create,
	.show = evl_show,
};
