// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux show`, the event-loop kinds of files.img: what each eventfd, signalfd, timerfd,
 * epoll, inotify and fanotify holds, one line per fd (or JSON keys from the same calls).
 */
#include <stdbool.h>

#include "cmd.h"
#include "outfmt.h"
#include "fdinfo.pb-c.h"

static void out_epoll(struct outfmt *o, const EventpollFileEntry *e)
{
	size_t i;

	outfmt_uint(o, "targets", "epoll, %llu targets:", e->n_tfd);
	outfmt_open(o, "tfd", '[');
	for (i = 0; i < e->n_tfd; i++) {
		outfmt_open(o, NULL, '{');
		outfmt_uint(o, "fd", " fd %llu", e->tfd[i]->tfd);
		outfmt_uint(o, "events", " events %#llx", e->tfd[i]->events);
		outfmt_uint(o, "data", " data %#llx", e->tfd[i]->data);
		outfmt_close(o);
		outfmt_text(o, i + 1 < e->n_tfd ? "," : "");
	}
	outfmt_close(o);
}

static void out_timerfd(struct outfmt *o, const TimerfdEntry *t)
{
	outfmt_uint(o, "clockid", "timerfd clock %llu", t->clockid);
	outfmt_uint(o, "left_ns", " left %llu ns", t->vsec * 1000000000ull + t->vnsec);
	outfmt_uint(o, "interval_ns", " interval %llu ns", t->isec * 1000000000ull + t->insec);
	outfmt_uint(o, "ticks", " ticks %llu", t->ticks);
	outfmt_bool(o, "abstime", " abstime", t->settime_flags & 1);
}

bool show_evloop_file(struct outfmt *o, const FileEntry *f)
{
	size_t i;

	if (f->efd) {
		outfmt_uint(o, "counter", "eventfd count %llu", f->efd->counter);
		outfmt_bool(o, "semaphore", " semaphore", f->efd->flags & 1);
	} else if (f->sgfd) {
		outfmt_uint(o, "sigmask", "signalfd mask %#llx", f->sgfd->sigmask);
	} else if (f->tfd) {
		out_timerfd(o, f->tfd);
	} else if (f->epfd) {
		out_epoll(o, f->epfd);
	} else if (f->ify) {
		outfmt_uint(o, "watches", "inotify, %llu watches:", f->ify->n_wd);
		outfmt_open(o, "wd", '[');
		for (i = 0; i < f->ify->n_wd; i++) {
			outfmt_open(o, NULL, '{');
			outfmt_uint(o, "wd", " wd %llu", f->ify->wd[i]->wd);
			outfmt_uint(o, "ino", " ino %llu", f->ify->wd[i]->i_ino);
			outfmt_uint(o, "mask", " mask %#llx", f->ify->wd[i]->mask);
			outfmt_close(o);
		}
		outfmt_close(o);
	} else if (f->ffy) {
		outfmt_uint(o, "flags", "fanotify flags %#llx", f->ffy->faflags);
		outfmt_uint(o, "marks", ", %llu marks", f->ffy->n_mark);
	} else {
		return false;
	}
	return true;
}
