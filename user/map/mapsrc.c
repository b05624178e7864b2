// SPDX-License-Identifier: GPL-2.0-only
/*
 * crux-map's sources: the socket map (sockmap.h: live or kernel snapshot) with /proc, or
 * a recorded snapshot file (snapfile.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>

#define LOG_PREFIX "mapsrc: "
#include "log.h"
#include "proc.h"
#include "mapsrc.h"
#include "snapfile.h"
#include "sockdiag.h"
#include "sockmap.h"
#include "treeiter.h"
#include "util.h"

struct mapsrc {
	enum mapsrc_kind kind;
	struct sockmap *map;
	struct snapfile *file;
	char pin_dir[256];
	int events_fd, stats_fd; /* watch */
	bool watching;
	struct treeiter *ti; /* mapsrc_treeiter(), on first use */
	int ti_err;
	struct sockdiag_table *diag; /* the host's sockets by sock_diag, on first use */
	bool (*consider)(pid_t pid, void *arg); /* MAPSRC_DIAG: who may own a socket */
	void *consider_arg;
};

/* ---- /proc ---- */

/* A small /proc file, NUL-terminated; returns its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t sz)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static int proc_read_comm(pid_t pid, char *comm)
{
	char path[64], buf[CRUX_COMM_LEN + 2];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	memset(comm, 0, CRUX_COMM_LEN);
	memcpy(comm, buf, MIN((size_t)n, (size_t)CRUX_COMM_LEN - 1));
	return 0;
}

/* "socket:[12345]" -> 12345 */
static int parse_socket_link(const char *link, __u64 *ino)
{
	char num[32];
	size_t len = strlen(link);
	uint64_t v;

	if (len < 10 || strncmp(link, "socket:[", 8) || link[len - 1] != ']' || len - 9 >= 32)
		return -EINVAL;
	memcpy(num, link + 8, len - 9);
	num[len - 9] = '\0';
	if (parse_u64(num, 1, UINT64_MAX, &v))
		return -EINVAL;
	*ino = v;
	return 0;
}

static int proc_read_fds(pid_t pid, struct mapsrc_fd **ret, size_t *ret_n)
{
	char path[64], link[64];
	struct mapsrc_fd *fds = NULL, *tmp;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int dfd;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		ssize_t len;
		uint32_t fd;
		__u64 ino;

		if (parse_u32(de->d_name, 0, INT32_MAX, &fd))
			continue;
		len = readlinkat(dfd, de->d_name, link, sizeof(link) - 1);
		if (len < 0)
			continue; /* closed meanwhile */
		link[len] = '\0';
		if (parse_socket_link(link, &ino))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			tmp = realloc(fds, cap * sizeof(*fds));
			if (!tmp) {
				free(fds);
				closedir(d);
				return -ENOMEM;
			}
			fds = tmp;
		}
		fds[n++] = (struct mapsrc_fd){ .fd = (int)fd, .ino = ino };
	}
	closedir(d);
	*ret = fds;
	*ret_n = n;
	return 0;
}

/* Field 4 of /proc/PID/stat, after the comm's closing parenthesis. */
static int proc_read_ppid(pid_t pid, pid_t *ppid)
{
	char path[64], buf[512], *p;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strrchr(buf, ')');
	if (!p || sscanf(p, ") %*c %d", ppid) != 1)
		return -EINVAL;
	return 0;
}

static int proc_read_one(pid_t pid, struct mapsrc_proc *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	err = proc_read_comm(pid, p->comm);
	if (!err)
		err = proc_read_ppid(pid, &p->ppid);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	return proc_read_fds(pid, &p->fds, &p->n_fds);
}

/* Append the children of every thread of pid (CONFIG_PROC_CHILDREN). */
static int proc_children(pid_t pid, pid_t **kids, size_t *n, size_t *cap)
{
	char path[64], buf[4096];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d))) {
		_cleanup_fclose_ FILE *f = NULL;
		char tpath[384];

		if (de->d_name[0] == '.')
			continue;
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%s/children", pid, de->d_name);
		f = fopen(tpath, "re");
		if (!f)
			continue;
		while (fscanf(f, "%4095s", buf) == 1) {
			pid_t kid;

			if (parse_pid(buf, &kid))
				continue;
			if (*n == *cap) {
				pid_t *tmp =
					realloc(*kids, (*cap ? *cap * 2 : 16) * sizeof(**kids));

				if (!tmp) {
					closedir(d);
					return -ENOMEM;
				}
				*kids = tmp;
				*cap = *cap ? *cap * 2 : 16;
			}
			(*kids)[(*n)++] = kid;
		}
	}
	closedir(d);
	return 0;
}

/* ---- snapshot file ---- */

int mapsrc__open(const char *pin_dir, const char *snapshot_file, struct mapsrc **ret)
{
	struct mapsrc *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->events_fd = s->stats_fd = -1;
	snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", pin_dir ? pin_dir : CRUX_PIN_ROOT);
	if (snapshot_file) {
		s->kind = MAPSRC_FILE;
		err = snapfile_read(snapshot_file, &s->file);
	} else {
		err = sockmap__open_any(pin_dir, &s->map);
		if (!err)
			s->kind = sockmap__is_live(s->map) ? MAPSRC_LIVE : MAPSRC_KERNEL;
	}
	if (err) {
		free(s);
		return err;
	}
	*ret = s;
	return 0;
}

int mapsrc__open_live(const char *pin_dir, struct mapsrc **ret, __u32 *ret_abi_version)
{
	struct mapsrc *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->events_fd = s->stats_fd = -1;
	snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", pin_dir ? pin_dir : CRUX_PIN_ROOT);
	s->kind = MAPSRC_LIVE;
	err = sockmap__open(pin_dir, &s->map, ret_abi_version);
	if (err) {
		free(s);
		return err;
	}
	*ret = s;
	return 0;
}

int mapsrc__open_diag(bool (*consider)(pid_t pid, void *arg), void *arg, struct mapsrc **ret)
{
	struct mapsrc *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->events_fd = s->stats_fd = -1;
	snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", CRUX_PIN_ROOT);
	s->kind = MAPSRC_DIAG;
	s->consider = consider;
	s->consider_arg = arg;
	*ret = s;
	return 0;
}

void mapsrc__close(struct mapsrc *s)
{
	if (!s)
		return;
	mapsrc_watch_end(s);
	treeiter__free(s->ti);
	sockdiag_table__free(s->diag);
	if (s->map)
		sockmap__close(s->map);
	snapfile_free(s->file);
	free(s);
}

enum mapsrc_kind mapsrc_kind(const struct mapsrc *s)
{
	return s->kind;
}

/* ---- without BPF: a sock_diag snapshot, owners by a /proc scan ---- */

static int diag_load(struct mapsrc *s)
{
	if (s->diag)
		return 0;
	return sockdiag_dump_unix(-1, SOCKDIAG_SHOW_DEFAULT, &s->diag);
}

static void diag_to_sock(const struct sockdiag_unix *d, struct crux_sock *r)
{
	memset(r, 0, sizeof(*r));
	r->ino = d->ino;
	r->peer_ino = d->peer_ino;
	r->type = d->type;
	r->state = d->state;
	r->name_len = d->name_len;
	memcpy(r->name, d->name, MIN((size_t)d->name_len, sizeof(r->name)));
}

/* The owner of a socket: the first process holding it that consider() accepts. */
static void diag_owner(struct mapsrc *s, struct crux_sock *r)
{
	char link[64], comm[16];
	pid_t pid;

	snprintf(link, sizeof(link), "socket:[%llu]", (unsigned long long)r->ino);
	pid = proc_find_fd_holder(link, s->consider, s->consider_arg, comm);
	r->owner_tgid = (__u32)pid;
	memcpy(r->owner_comm, pid ? comm : "?", pid ? sizeof(r->owner_comm) : 2);
}

static int diag_lookup(struct mapsrc *s, __u64 ino, struct crux_sock *ret)
{
	struct sockdiag_unix d;

	if (sockdiag_query_unix((__u32)ino, SOCKDIAG_SHOW_DEFAULT, &d))
		return -ENOENT;
	diag_to_sock(&d, ret);
	sockdiag_unix_clear(&d);
	diag_owner(s, ret);
	return 0;
}

static bool ino_in(const __u64 *inos, size_t n, __u64 ino);

/*
 * Every socket (inos NULL), or those pointing at inos[] without being one of them: peers,
 * and clients queued on one of them (as the map flags them: CRUX_SK_EMBRYO).
 */
static int diag_list(struct mapsrc *s, const __u64 *inos, size_t n, struct crux_sock **ret,
		     size_t *ret_n)
{
	struct crux_sock *v;
	size_t i, k = 0;
	int err;

	err = diag_load(s);
	if (err)
		return err;
	v = calloc(s->diag->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->diag->n; i++) {
		const struct sockdiag_unix *d = &s->diag->socks[i];
		__u32 listener = 0;

		if (d->has_peer && !d->peer_ino && d->state == 1 /* established */)
			listener = sockdiag_table_embryo_listener(s->diag, d->ino);
		if (inos && (ino_in(inos, n, d->ino) ||
			     !ino_in(inos, n, listener ? listener : d->peer_ino)))
			continue;
		diag_to_sock(d, &v[k]);
		if (listener) {
			v[k].flags |= CRUX_SK_EMBRYO;
			v[k].listener_ino = listener;
		}
		diag_owner(s, &v[k++]);
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

bool mapsrc_incomplete(struct mapsrc *s)
{
	return s->map && sockmap__incomplete(s->map);
}

__u32 mapsrc_embryo_listener(struct mapsrc *s, __u64 client_ino)
{
	if (diag_load(s))
		return 0;
	return sockdiag_table_embryo_listener(s->diag, (__u32)client_ino);
}

int mapsrc_lookup(struct mapsrc *s, __u64 ino, struct crux_sock *ret)
{
	struct crux_sock key = { .ino = ino }, *hit;

	if (s->map)
		return sockmap__lookup(s->map, ino, ret);
	if (s->kind == MAPSRC_DIAG)
		return diag_lookup(s, ino, ret);
	hit = bsearch(&key, s->file->socks, s->file->n_socks, sizeof(key), snapfile_sock_cmp);
	if (!hit)
		return -ENOENT;
	*ret = *hit;
	return 0;
}

int mapsrc_lookup_conn(struct mapsrc *s, __u64 ino, struct crux_conn *ret)
{
	size_t i;

	if (s->map)
		return sockmap__lookup_conn(s->map, ino, ret);
	if (s->kind == MAPSRC_DIAG)
		return -ENOENT; /* connect() addresses are only known to the event programs */
	for (i = 0; i < s->file->n_conns; i++) {
		if (s->file->conn_ino[i] == ino) {
			*ret = s->file->conns[i];
			return 0;
		}
	}
	return -ENOENT;
}

int mapsrc_list(struct mapsrc *s, struct crux_sock **ret, size_t *ret_n)
{
	struct crux_sock *v;

	if (s->map)
		return sockmap__list(s->map, ret, ret_n);
	if (s->kind == MAPSRC_DIAG)
		return diag_list(s, NULL, 0, ret, ret_n);
	v = malloc((s->file->n_socks ? s->file->n_socks : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, s->file->socks, s->file->n_socks * sizeof(*v));
	*ret = v;
	*ret_n = s->file->n_socks;
	return 0;
}

static bool ino_in(const __u64 *inos, size_t n, __u64 ino)
{
	size_t i;

	for (i = 0; ino && i < n; i++)
		if (inos[i] == ino)
			return true;
	return false;
}

int mapsrc_list_inbound(struct mapsrc *s, const __u64 *inos, size_t n, struct crux_sock **ret,
			size_t *ret_n)
{
	struct crux_sock *v;
	size_t i, k = 0;

	if (s->map)
		return sockmap__list_inbound(s->map, inos, n, ret, ret_n);
	if (s->kind == MAPSRC_DIAG)
		return diag_list(s, inos, n, ret, ret_n);
	v = malloc((s->file->n_socks ? s->file->n_socks : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->file->n_socks; i++) {
		const struct crux_sock *r = &s->file->socks[i];
		__u64 target = r->flags & CRUX_SK_EMBRYO ? r->listener_ino : r->peer_ino;

		if (ino_in(inos, n, target) && !ino_in(inos, n, r->ino))
			v[k++] = *r;
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

/* Clients queued on listener ino, from its sock_diag ICONS; -ENOENT if the kernel has no
 * such socket in our netns. */
struct treeiter *mapsrc_treeiter(struct mapsrc *s)
{
	if (s->ti || s->ti_err)
		return s->ti;
	if (s->kind == MAPSRC_LIVE)
		s->ti_err = treeiter__open(s->pin_dir, &s->ti);
	else if (s->kind == MAPSRC_KERNEL || s->kind == MAPSRC_DIAG)
		s->ti_err = treeiter__new(&s->ti);
	else
		s->ti_err = -EOPNOTSUPP; /* a recorded snapshot has no processes to iterate */
	return s->ti;
}

/* The outside records of the clients queued on a listener, from their inodes. */
static int add_queued(struct mapsrc *s, const __u64 *inos, size_t n_inos, struct crux_sock **v,
		      size_t *n, size_t *cap)
{
	size_t i;
	int err = 0;

	for (i = 0; i < n_inos && !err; i++) {
		struct crux_sock r;

		if (mapsrc_lookup(s, inos[i], &r))
			continue; /* released meanwhile, or not tracked yet */
		err = GROW(*v, *n, *cap);
		if (!err)
			(*v)[(*n)++] = r;
	}
	return err;
}

/*
 * The accept queue of listener ino held by pid, from the tree iterator of a running tracker
 * (pinned: nothing to load): -ENOENT when it cannot tell (no pins, a queue longer than it
 * lists), and sock_diag is asked instead.
 */
static int listener_queue_iter(struct mapsrc *s, pid_t pid, __u64 ino, struct crux_sock **v,
			       size_t *n, size_t *cap)
{
	_cleanup_free_ struct crux_icon_rec *icons = NULL;
	_cleanup_free_ __u64 *inos = NULL;
	size_t i, ni = 0, nr;
	int fd = -1;

	if (s->kind != MAPSRC_LIVE || !mapsrc_treeiter(s) ||
	    treeiter__icons(s->ti, pid, &icons, &nr))
		return -ENOENT;
	inos = calloc(nr + 1, sizeof(*inos));
	if (!inos)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		if (icons[i].listener_ino != ino || (fd >= 0 && icons[i].fd != fd))
			continue;
		fd = icons[i].fd; /* one fd's records: the queue once */
		if (icons[i].qlen > CRUX_MAX_ICONS)
			return -ENOENT;
		inos[ni++] = icons[i].client_ino;
	}
	return add_queued(s, inos, ni, v, n, cap);
}

static int listener_queue(struct mapsrc *s, pid_t pid, __u64 ino, struct crux_sock **v, size_t *n,
			  size_t *cap)
{
	_cleanup_free_ __u64 *inos = NULL;
	struct sockdiag_unix d;
	size_t i;
	int err;

	err = listener_queue_iter(s, pid, ino, v, n, cap);
	if (err != -ENOENT)
		return err;
	if (ino > UINT32_MAX)
		return -ENOENT;
	err = sockdiag_query_unix((__u32)ino, SOCKDIAG_SHOW_DEFAULT, &d);
	if (err)
		return err;
	inos = calloc(d.n_icons + 1, sizeof(*inos));
	for (i = 0; inos && i < d.n_icons; i++)
		inos[i] = d.icons[i];
	err = inos ? add_queued(s, inos, d.n_icons, v, n, cap) : -ENOMEM;
	sockdiag_unix_clear(&d);
	return err;
}

int mapsrc_tree_inbound(struct mapsrc *s, const struct classify_sock *socks, size_t n,
			struct crux_sock **ret, size_t *ret_n, bool *ret_full_pass)
{
	_cleanup_free_ __u64 *cand = calloc(n + 1, sizeof(*cand));
	struct crux_sock *v = NULL;
	size_t i, nc = 0, nv = 0, cap = 0;
	bool full = s->file != NULL;
	int err = 0;

	if (!cand)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!classify_may_be_targeted(&socks[i].sk))
			continue;
		cand[nc++] = socks[i].sk.ino;
		if (socks[i].sk.state != 10)
			full = true; /* a datagram target: no index but the whole map */
	}
	for (i = 0; !full && i < n; i++) {
		if (socks[i].sk.state == 10)
			err = listener_queue(s, (pid_t)socks[i].pid, socks[i].sk.ino, &v, &nv,
					     &cap);
		if (err == -ENOENT)
			full = true; /* another netns: ask the map */
		else if (err)
			break;
	}
	*ret_full_pass = full && nc;
	if (full) {
		free(v);
		if (!nc) {
			*ret = NULL;
			*ret_n = 0;
			return 0;
		}
		return mapsrc_list_inbound(s, cand, nc, ret, ret_n);
	}
	if (err) {
		free(v);
		return err;
	}
	*ret = v;
	*ret_n = nv;
	return 0;
}

int mapsrc_stats(struct mapsrc *s, __u64 *stats)
{
	if (s->map)
		return sockmap__stats(s->map, stats);
	if (s->kind == MAPSRC_DIAG)
		return -EOPNOTSUPP; /* the stats are the tracker's */
	memcpy(stats, s->file->stats, sizeof(s->file->stats));
	return 0;
}

static int pinned_fd(struct mapsrc *s, const char *map_name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->pin_dir, map_name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

static int watchers_add(int stats_fd, int delta)
{
	__u32 key = CRUX_ST_WATCHERS;
	__u64 v = 0;

	if (bpf_map_lookup_elem(stats_fd, &key, &v))
		return -errno;
	v = delta < 0 && !v ? 0 : v + (__u64)(__s64)delta;
	return bpf_map_update_elem(stats_fd, &key, &v, BPF_ANY) ? -errno : 0;
}

int mapsrc_watch_begin(struct mapsrc *s, int *ret_events_fd)
{
	int err;

	if (s->kind != MAPSRC_LIVE)
		return -ENOTSUP;
	s->events_fd = pinned_fd(s, "events");
	s->stats_fd = pinned_fd(s, "stats");
	err = s->events_fd < 0 ? s->events_fd : s->stats_fd < 0 ? s->stats_fd : 0;
	if (!err)
		err = watchers_add(s->stats_fd, 1);
	if (err) {
		mapsrc_watch_end(s);
		return err;
	}
	s->watching = true;
	*ret_events_fd = s->events_fd;
	return 0;
}

void mapsrc_watch_end(struct mapsrc *s)
{
	if (s->watching)
		watchers_add(s->stats_fd, -1);
	s->watching = false;
	if (s->events_fd >= 0)
		close(s->events_fd);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	s->events_fd = s->stats_fd = -1;
}

static int lookup_sock_cb(void *ctx, __u64 ino, struct crux_sock *ret)
{
	return mapsrc_lookup(ctx, ino, ret);
}

static int lookup_conn_cb(void *ctx, __u64 ino, struct crux_conn *ret)
{
	return mapsrc_lookup_conn(ctx, ino, ret);
}

void mapsrc_classify_lookup(struct mapsrc *s, struct classify_lookup *ret)
{
	ret->sock = lookup_sock_cb;
	ret->conn = lookup_conn_cb;
	ret->ctx = s;
}

/* ---- processes ---- */

static int proc_copy(const struct mapsrc_proc *src, struct mapsrc_proc *dst)
{
	*dst = *src;
	dst->fds = malloc((src->n_fds ? src->n_fds : 1) * sizeof(*dst->fds));
	if (!dst->fds)
		return -ENOMEM;
	memcpy(dst->fds, src->fds, src->n_fds * sizeof(*dst->fds));
	return 0;
}

int mapsrc_proc(struct mapsrc *s, pid_t pid, struct mapsrc_proc *ret)
{
	const struct mapsrc_proc *p;

	if (!s->file)
		return proc_read_one(pid, ret);
	p = snapfile_proc(s->file, pid);
	if (!p)
		return -ESRCH;
	return proc_copy(p, ret);
}

void mapsrc_proc_clear(struct mapsrc_proc *p)
{
	if (!p)
		return;
	free(p->fds);
	p->fds = NULL;
	p->n_fds = 0;
}

void mapsrc_procs_free(struct mapsrc_proc *p, size_t n)
{
	size_t i;

	for (i = 0; p && i < n; i++)
		mapsrc_proc_clear(&p[i]);
	free(p);
}

/* The children of pid: from /proc, or the file's ppid fields. */
static int children_of(struct mapsrc *s, pid_t pid, pid_t **kids, size_t *n, size_t *cap)
{
	size_t i;

	if (!s->file)
		return proc_children(pid, kids, n, cap);
	for (i = 0; i < s->file->n_procs; i++) {
		if (s->file->procs[i].ppid != pid)
			continue;
		if (GROW(*kids, *n, *cap))
			return -ENOMEM;
		(*kids)[(*n)++] = s->file->procs[i].pid;
	}
	return 0;
}

int mapsrc_tree(struct mapsrc *s, pid_t pid, struct mapsrc_proc **ret, size_t *ret_n)
{
	_cleanup_free_ pid_t *queue = malloc(16 * sizeof(*queue));
	struct mapsrc_proc *procs = NULL;
	size_t qn = 0, qcap = 16, head = 0, n = 0, cap = 0;
	int err;

	if (!queue)
		return -ENOMEM;
	queue[qn++] = pid;
	while (head < qn) {
		pid_t cur = queue[head++];

		err = GROW(procs, n, cap);
		if (err)
			goto out_free;
		err = mapsrc_proc(s, cur, &procs[n]);
		if (err == -ESRCH && cur != pid)
			continue; /* exited meanwhile */
		if (err)
			goto out_free;
		n++;
		err = children_of(s, cur, &queue, &qn, &qcap);
		if (err && err != -ESRCH)
			goto out_free;
	}
	*ret = procs;
	*ret_n = n;
	return 0;

out_free:
	mapsrc_procs_free(procs, n);
	return err;
}

int mapsrc_find_fd(struct mapsrc *s, pid_t pid, __u64 ino)
{
	struct mapsrc_proc p;
	int fd = -ENOENT;
	size_t i;

	if (!pid || mapsrc_proc(s, pid, &p))
		return -ENOENT;
	for (i = 0; i < p.n_fds && fd < 0; i++)
		if (p.fds[i].ino == ino)
			fd = p.fds[i].fd;
	mapsrc_proc_clear(&p);
	return fd;
}

/* ---- recording ---- */

static void write_conn(FILE *out, struct mapsrc *s, const struct crux_sock *r)
{
	struct crux_conn c;

	if (mapsrc_lookup_conn(s, r->ino, &c))
		return;
	fprintf(out,
		"conn ino=%llu sk=%llu relative=%u truncated=%u path=", (unsigned long long)r->ino,
		(unsigned long long)c.sk, c.relative, c.truncated);
	snapfile_write_bytes(out, c.path, MIN((size_t)c.len, sizeof(c.path)));
	fputc('\n', out);
}

int mapsrc_write_snapshot(struct mapsrc *s, FILE *out, const pid_t *pids, size_t n_pids)
{
	_cleanup_free_ struct crux_sock *socks = NULL;
	__u64 stats[CRUX_ST__MAX] = { 0 };
	size_t n = 0, i;
	int err;

	err = mapsrc_list(s, &socks, &n);
	if (err)
		return err;
	qsort(socks, n, sizeof(*socks), snapfile_sock_cmp);
	fprintf(out, "# crux-map snapshot 1\n");
	if (!mapsrc_stats(s, stats))
		for (i = 0; i < CRUX_ST__MAX; i++)
			if (stats[i])
				fprintf(out, "stat %zu %llu\n", i, (unsigned long long)stats[i]);
	for (i = 0; i < n; i++)
		snapfile_write_sock(out, &socks[i]);
	for (i = 0; i < n; i++)
		write_conn(out, s, &socks[i]);
	for (i = 0; i < n_pids; i++) {
		struct mapsrc_proc *procs = NULL;
		size_t np = 0, j;

		err = mapsrc_tree(s, pids[i], &procs, &np);
		if (err)
			return err;
		for (j = 0; j < np; j++)
			snapfile_write_proc(out, &procs[j]);
		mapsrc_procs_free(procs, np);
	}
	return 0;
}
