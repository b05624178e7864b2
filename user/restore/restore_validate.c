// SPDX-License-Identifier: GPL-2.0-only
/*
 * Everything a restore can check before it changes anything: the vDSO layout, free pids,
 * files and external peers that must exist, fd and memory kinds crux can rebuild. Every
 * problem is reported on its own line; the caller refuses if there was any.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "inet_restore.h"
#include "restore.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_ext.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "mm.pb-c.h"

/* task_core_entry.task_state, CRIU's values */
#define TASK_ALIVE 1
#define TASK_STOPPED 3

#define VMA_VSYSCALL (1u << 2)
#define VMA_VDSO (1u << 3)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_VVAR (1u << 12)
#define VMA_BAD ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 13) | (1u << 31))

/* How long a zombie holding a pid we need may take to be reaped: 2 s. */
#define ZOMBIE_WAIT_TRIES 100
#define ZOMBIE_WAIT_US 20000

#define problem(set, ...)            \
	do {                         \
		pr_err(__VA_ARGS__); \
		(set)->problems++;   \
	} while (0)

/* 'Z' for a zombie, '?' if unreadable, 0 if the pid is free. */
static char pid_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return access(path, F_OK) ? 0 : '?';
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * A pid killed just before the restore may still be a zombie until its parent reaps it
 * (engine.md P6): give such pids a moment, then name whoever holds them.
 */
static void check_pid(struct rst_set *set, pid_t pid, const char *what)
{
	char who[96];
	char st = pid_state(pid);
	int tries;

	for (tries = 0; (st == 'Z' || st == 'X') && tries < ZOMBIE_WAIT_TRIES; tries++) {
		usleep(ZOMBIE_WAIT_US);
		st = pid_state(pid);
	}
	if (!st)
		return;
	rst_pid_holder(pid, who, sizeof(who));
	problem(set,
		"%s %d is taken by %s%s; stop it (and wait until /proc/%d is gone) "
		"before restoring",
		what, pid, who,
		st == 'Z' ? ", which has exited but was not reaped by its parent yet" : "", pid);
}

/* Every pid and thread id of the image must be free (a thread's tid too). */
static void check_pids(struct rst_set *set)
{
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		check_pid(set, set->tasks[i].pid, "pid");
		for (j = 0; j < set->tasks[i].n_threads; j++)
			check_pid(set, set->tasks[i].threads[j].tid, "thread id");
	}
}

static void check_path(struct rst_set *set, const char *path, const char *role, pid_t pid)
{
	struct stat st;

	if (path && stat(path, &st))
		problem(set, "pid %d: %s %s: %s; put it back before restoring", pid, role, path,
			strerror(errno));
}

static void check_fd_kinds(struct rst_set *set, const struct rst_task *t)
{
	size_t j;

	for (j = 0; j < t->n_fds; j++) {
		const struct rst_fd *d = &t->fds[j];

		switch (d->file->fe->type) {
		case FD_TYPES__REG:
			check_path(set, d->file->fe->reg ? d->file->fe->reg->name : NULL, "file",
				   t->pid);
			break;
		case FD_TYPES__PIPE:
		case FD_TYPES__UNIXSK:
		case FD_TYPES__INETSK:
		case FD_TYPES__NETLINKSK:
			break;
		default:
			problem(set, "pid %d fd %u: file type %d cannot be restored yet", t->pid,
				d->fd, d->file->fe->type);
		}
	}
}

static void check_memory(struct rst_set *set, const struct rst_task *t)
{
	uint32_t state = t->core->tc->task_state;
	char why[256];
	size_t i;

	if (state != TASK_ALIVE && state != TASK_STOPPED)
		problem(set, "pid %d has task state %u, which crux does not know", t->pid, state);
	if (rst_vdso_check(set, t, why, sizeof(why)))
		problem(set,
			"pid %d: the vDSO layout does not match this kernel: %s; restore on "
			"the kernel it was dumped on",
			t->pid, why);
	check_path(set, rst_reg_name(set, t->mm->exe_file_id), "executable", t->pid);
	check_path(set, rst_reg_name(set, t->fs->cwd_id), "working directory", t->pid);
	check_path(set, rst_reg_name(set, t->fs->root_id), "root directory", t->pid);
	for (i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];

		if (v->status & VMA_BAD)
			problem(set,
				"pid %d: mapping %#llx-%#llx (status %#x) cannot be restored "
				"yet",
				t->pid, (unsigned long long)v->start, (unsigned long long)v->end,
				v->status);
		else if (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED))
			check_path(set, rst_reg_name(set, (uint32_t)v->shmid), "mapped file",
				   t->pid);
	}
}

/* Who holds f: "pid P fd F", for messages. */
static void holder(const struct rst_set *set, const struct rst_file *f, char *buf, size_t size)
{
	size_t i, j;

	snprintf(buf, size, "no task");
	for (i = 0; i < set->n_tasks; i++)
		for (j = 0; j < set->tasks[i].n_fds; j++)
			if (set->tasks[i].fds[j].file == f) {
				snprintf(buf, size, "pid %d fd %u", set->tasks[i].pid,
					 set->tasks[i].fds[j].fd);
				return;
			}
}

/* An external peer's name must be there (a datagram peer must also accept a connect()). */
static void check_ext_peer(struct rst_set *set, const struct rst_file *f, const char *who)
{
	const CruxExtEntry *x = f->ext;
	const ProtobufCBinaryData *n = x->has_addr && x->addr.len ? &x->addr : &x->peer_name;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char text[sizeof(sun.sun_path) * 4 + 8];
	int fd, r;

	if (!n->len || n->len > sizeof(sun.sun_path)) {
		problem(set, "%s: external unix socket ino %u has no usable peer name in the image",
			who, x->ino);
		return;
	}
	memcpy(sun.sun_path, n->data, n->len);
	rst_name_text(n->data, n->len, text, sizeof(text));
	if (f->fe->usk->type != SOCK_DGRAM) {
		struct stat st;

		if (sun.sun_path[0] && stat(sun.sun_path, &st))
			problem(set,
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
		problem(set,
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

		if (!f->ext)
			continue;
		holder(set, f, who, sizeof(who));
		if (!set->opts->ext_unix_sk) {
			const ProtobufCBinaryData *n = &f->ext->peer_name;

			rst_name_text(n->data, n->len, text, sizeof(text));
			problem(set,
				"External socket found in image: %s (ino %u) was connected to "
				"%s (peer ino %u). Consider using the --ext-unix-sk option to allow "
				"restoring it (it reconnects to that name).",
				who, f->ext->ino, n->len ? text : "an unnamed socket",
				f->ext->peer_ino);
			continue;
		}
		check_ext_peer(set, f, who);
	}
}

int rst_validate(struct rst_set *set)
{
	size_t i;

	set->problems = 0;
	check_pids(set);
	for (i = 0; i < set->n_tasks; i++) {
		if (set->tasks[i].zombie)
			continue; /* only its pid, checked above */
		check_fd_kinds(set, &set->tasks[i]);
		check_memory(set, &set->tasks[i]);
	}
	check_externals(set);
	rst_inet_validate(set);
	rst_unix_check_names(set);
	return set->problems;
}
