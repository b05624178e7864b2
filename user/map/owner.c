// SPDX-License-Identifier: GPL-2.0-only
/* Owners checked and comms read at read time: see owner.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "owner: "
#include "log.h"
#include "owner.h"
#include "proc.h"
#include "treeiter.h"
#include "util.h"

/* One process as read once: the unix sockets it holds and its comm now. */
struct owner_proc {
	pid_t pid;
	bool gone;
	char comm[CRUX_COMM_LEN];
	__u64 *inos; /* sorted */
	size_t n;
};

/* Most holders looked for in /proc by one command: each walk reads every process's fds. */
#define OWNER_RESOLVE_MAX 64

struct owner_cache {
	struct treeiter *ti;
	unsigned int resolved; /* /proc walks made */
	struct owner_proc *v;
	size_t n, cap;
};

struct owner_cache *owner_cache__new(struct treeiter *ti)
{
	struct owner_cache *c = calloc(1, sizeof(*c));

	if (c)
		c->ti = ti;
	return c;
}

void owner_cache__free(struct owner_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		free(c->v[i].inos);
	free(c->v);
	free(c);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int read_comm(pid_t pid, char comm[CRUX_COMM_LEN])
{
	char path[64], buf[CRUX_COMM_LEN + 2];
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	memset(comm, 0, CRUX_COMM_LEN);
	memcpy(comm, buf, MIN((size_t)(n > 0 ? n : 0), (size_t)CRUX_COMM_LEN - 1));
	return 0;
}

/* The unix sockets pid holds, from the kernel (tree iterator) or else /proc. */
static int read_inos(struct owner_cache *c, struct owner_proc *p)
{
	_cleanup_free_ struct crux_file_ref *recs = NULL;
	_cleanup_free_ int *fds = NULL;
	size_t i, n = 0;
	int err;

	if (c->ti) {
		/* the small per-fd records (48 bytes): a socket's inode is all we need */
		err = treeiter__file_refs(c->ti, p->pid, &recs, &n);
		if (err)
			return err;
		p->inos = calloc(n + 1, sizeof(*p->inos));
		if (!p->inos)
			return -ENOMEM;
		for (i = 0; i < n; i++)
			if (recs[i].kind == CRUX_FILE_SOCKET)
				p->inos[p->n++] = recs[i].ino;
		n = p->n;
	} else {
		err = proc_list_fds(p->pid, &fds, &n);
		if (err)
			return err;
		p->inos = calloc(n + 1, sizeof(*p->inos));
		if (!p->inos)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			_cleanup_free_ char *link = NULL;
			char what[32];
			unsigned long long ino;

			snprintf(what, sizeof(what), "fd/%d", fds[i]);
			if (!proc_readlink(p->pid, what, &link) &&
			    sscanf(link, "socket:[%llu]", &ino) == 1)
				p->inos[p->n++] = ino;
		}
		n = p->n;
	}
	p->n = n;
	qsort(p->inos, p->n, sizeof(*p->inos), cmp_u64);
	return 0;
}

static struct owner_proc *proc_get(struct owner_cache *c, pid_t pid)
{
	struct owner_proc *p;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].pid == pid)
			return &c->v[i];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;

		p = realloc(c->v, cap * sizeof(*p));
		if (!p)
			return NULL;
		c->v = p;
		c->cap = cap;
	}
	p = &c->v[c->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->gone = read_comm(pid, p->comm) || read_inos(c, p);
	return p;
}

static bool holds(const struct owner_proc *p, __u64 ino)
{
	return !p->gone && p->n && bsearch(&ino, p->inos, p->n, sizeof(ino), cmp_u64);
}

static bool any_pid(pid_t pid, void *arg)
{
	(void)arg;
	return pid != getpid();
}

void owner_fix(struct owner_cache *c, struct crux_sock *s, bool resolve)
{
	struct owner_proc *p = NULL;
	char comm[PROC_COMM_LEN] = "";
	char link[48];
	pid_t holder = 0;

	if (!c)
		return;
	if (s->owner_tgid)
		p = proc_get(c, (pid_t)s->owner_tgid);
	if (p && holds(p, s->ino)) {
		memcpy(s->owner_comm, p->comm, sizeof(s->owner_comm));
		return;
	}
	if (resolve && c->resolved < OWNER_RESOLVE_MAX) {
		c->resolved++;
		snprintf(link, sizeof(link), "socket:[%llu]", (unsigned long long)s->ino);
		holder = proc_find_fd_holder(link, any_pid, NULL, comm);
	}
	pr_debug("socket %llu: pid %u no longer holds it; %s %d", (unsigned long long)s->ino,
		 s->owner_tgid, holder ? "held by" : "no holder found", holder);
	s->owner_tgid = (__u32)holder;
	memset(s->owner_comm, 0, sizeof(s->owner_comm));
	if (holder)
		memcpy(s->owner_comm, comm, MIN(sizeof(s->owner_comm) - 1, strlen(comm)));
}
