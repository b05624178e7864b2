// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading the live unix socket map (include/sockmap.h), and the reconcile pass that any
 * reader may run: it needs only the pinned maps and the pinned iterator links.
 *
 * Reconcile: bump the generation in stats, run the seed iterators (iter/task_file once,
 * iter/unix once per network namespace: setns() into each distinct /proc/PID/ns/net, since
 * an iter/unix fd walks the netns current at bpf_iter_create()), then sweep the entries no
 * pass stamped, with batch lookups (never get_next_key while the event programs write).
 * An event that read the generation just before the bump may write the old one after the
 * pass, so a plain pass keeps one generation of grace; a strict pass runs twice and sweeps
 * everything older than the first of the two.
 */
#define LOG_PREFIX "sockmap: "
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "sockmap.h"
#include "bpfobj.h"
#include "util.h"

#include "crux_iter.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BATCH 4096
#define HUGE_PAGE (2UL << 20)

struct sockmap {
	int peers_fd;
	int conn_fd;
	int stats_fd;
	int task_link_fd; /* iter_task_file_seed link */
	int unix_link_fd; /* iter_unix_seed link */
	int recheck_link_fd; /* the recheck_run program (run, not attached) */
	int dir_fd; /* pin dir: flock() serialises reconciles */
	bool live;
	struct crux_iter_bpf *skel; /* snapshot: the private object */
};

static struct sockmap *sockmap_new(void)
{
	struct sockmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->peers_fd = m->conn_fd = m->stats_fd = -1;
	m->task_link_fd = m->unix_link_fd = m->recheck_link_fd = m->dir_fd = -1;
	return m;
}

void sockmap__close(struct sockmap *m)
{
	if (!m)
		return;
	if (m->skel) {
		/* the fds belong to the skeleton */
		crux_iter_bpf__destroy(m->skel);
	} else {
		closep(&m->peers_fd);
		closep(&m->conn_fd);
		closep(&m->stats_fd);
	}
	closep(&m->task_link_fd);
	closep(&m->unix_link_fd);
	closep(&m->recheck_link_fd);
	closep(&m->dir_fd);
	free(m);
}

bool sockmap__is_live(const struct sockmap *m)
{
	return m->live;
}

int sockmap_pin_dir_check(const char *pin_dir)
{
	char parent[PATH_MAX];
	struct statfs sf;
	char *slash;

	if ((size_t)snprintf(parent, sizeof(parent), "%s", pin_dir) >= sizeof(parent))
		return -ENAMETOOLONG;
	if (statfs(pin_dir, &sf) == 0)
		return sf.f_type == BPF_FS_MAGIC ? 0 : -ENODEV;
	if (errno != ENOENT)
		return -errno;
	/* not there yet: its parent decides */
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else
		strcpy(parent, "/");
	if (statfs(parent, &sf))
		return errno == ENOENT ? -ENODEV : -errno;
	return sf.f_type == BPF_FS_MAGIC ? -ENOENT : -ENODEV;
}

int sockmap__open(const char *pin_dir, struct sockmap **ret, __u32 *ret_abi_version)
{
	struct sockmap *m;
	struct crux_abi_info abi;
	int err;

	if (!pin_dir)
		pin_dir = CRUX_PIN_ROOT;
	err = sockmap_pin_dir_check(pin_dir);
	if (err)
		return err;
	err = bpfobj_read_abi(pin_dir, &abi);
	if (err)
		return err;
	if (abi.version != CRUX_ABI_VERSION || abi.sock_size != sizeof(struct crux_sock)) {
		if (ret_abi_version)
			*ret_abi_version = abi.version;
		return -EPROTO;
	}
	m = sockmap_new();
	if (!m)
		return -ENOMEM;
	m->live = true;
	m->peers_fd = bpfobj_get_at(pin_dir, "peers");
	m->conn_fd = bpfobj_get_at(pin_dir, "conn_addr");
	m->stats_fd = bpfobj_get_at(pin_dir, "stats");
	if (m->peers_fd < 0 || m->conn_fd < 0 || m->stats_fd < 0) {
		err = m->peers_fd < 0 ? m->peers_fd : m->conn_fd < 0 ? m->conn_fd : m->stats_fd;
		sockmap__close(m);
		return err;
	}
	/* optional: without them (a tracker still starting) reconcile says -ENOENT */
	m->task_link_fd = bpfobj_get_at(pin_dir, "link_iter_task_file_seed");
	m->unix_link_fd = bpfobj_get_at(pin_dir, "link_iter_unix_seed");
	m->recheck_link_fd = bpfobj_get_at(pin_dir, "prog_recheck_run");
	m->dir_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* every reader starts from a map without the releases no event saw */
	err = sockmap__recheck(m);
	if (err && err != -ENOENT)
		pr_debug("recheck of the shared-close candidates failed: %s", strerror(-err));
	*ret = m;
	return 0;
}

int sockmap__open_any(const char *pin_dir, struct sockmap **ret)
{
	int err = sockmap__open(pin_dir, ret, NULL);

	if (err != -ENOENT)
		return err;
	pr_debug("no tracker state under %s: taking a one-shot kernel snapshot",
		 pin_dir ? pin_dir : CRUX_PIN_ROOT);
	return sockmap__snapshot(ret);
}

static int iter_run(int link_fd);

int sockmap__recheck(struct sockmap *m)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (m->recheck_link_fd < 0)
		return -ENOENT;
	return bpf_prog_test_run_opts(m->recheck_link_fd, &o) ? -errno : 0;
}

/* Drain one iterator instance; the seed programs write no output, so this is one read(). */
static int iter_run(int link_fd)
{
	_cleanup_close_ int fd = bpf_iter_create(link_fd);
	char buf[64];
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

struct netns_id {
	dev_t dev;
	ino_t ino;
};

static bool netns_seen(const struct netns_id *ids, size_t n, const struct stat *st)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i].dev == st->st_dev && ids[i].ino == st->st_ino)
			return true;
	return false;
}

/*
 * iter/unix in every network namespace that has a process: the current one first, then
 * each other one via setns() and back. Returns the number of namespaces walked.
 */
static int iter_unix_all_netns(int link_fd)
{
	_cleanup_free_ struct netns_id *ids = NULL;
	_cleanup_close_ int self_fd = -1;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *proc;
	int err;

	self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0 || fstat(self_fd, &st))
		return -errno;
	err = iter_run(link_fd);
	if (err)
		return err;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	ids = malloc(sizeof(*ids) * (cap = 16));
	if (!ids) {
		closedir(proc);
		return -ENOMEM;
	}
	ids[n++] = (struct netns_id){ st.st_dev, st.st_ino };
	while ((de = readdir(proc))) {
		char path[PATH_MAX];
		int fd, it;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		if (stat(path, &st) || netns_seen(ids, n, &st))
			continue; /* gone, or known */
		if (n == cap) {
			struct netns_id *p = realloc(ids, sizeof(*ids) * (cap *= 2));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			ids = p;
		}
		ids[n++] = (struct netns_id){ st.st_dev, st.st_ino };
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* exited meanwhile */
		if (setns(fd, CLONE_NEWNET)) {
			err = -errno;
			close(fd);
			break;
		}
		close(fd);
		/* the iterator binds the netns at creation: switch back before reading */
		it = bpf_iter_create(link_fd);
		err = it < 0 ? -errno : 0;
		if (setns(self_fd, CLONE_NEWNET)) {
			err = -errno;
			if (it >= 0)
				close(it);
			break;
		}
		if (it >= 0) {
			char buf[64];

			while (read(it, buf, sizeof(buf)) > 0)
				;
			close(it);
		}
		if (err)
			break;
	}
	closedir(proc);
	return err ? err : (int)n;
}

static int stat_get(int fd, __u32 idx, __u64 *ret)
{
	return bpf_map_lookup_elem(fd, &idx, ret) ? -errno : 0;
}

static int stat_set(int fd, __u32 idx, __u64 v)
{
	return bpf_map_update_elem(fd, &idx, &v, BPF_ANY) ? -errno : 0;
}

/* One seed pass at a new generation; returns that generation (> 0) or -errno. */
static int seed_pass(struct sockmap *m, __u64 *ret_gen)
{
	__u64 gen;
	int err;

	err = stat_get(m->stats_fd, CRUX_ST_GEN, &gen);
	if (err)
		return err;
	gen = (gen + 1) & 0xffffffff;
	err = stat_set(m->stats_fd, CRUX_ST_GEN, gen);
	if (err)
		return err;
	/* task_file first: a socket's first holder becomes its owner */
	err = iter_run(m->task_link_fd);
	if (err)
		return err;
	err = iter_unix_all_netns(m->unix_link_fd);
	if (err < 0)
		return err;
	*ret_gen = gen;
	return 0;
}

/*
 * A free()able buffer for n items of size sz, advised to huge pages. Fresh 4 KiB pages
 * cost more than the batch lookups that fill them (200k records: 65 ms of lookups, 230 ms
 * of page faults); sized for the whole map up front, only what is written is backed.
 */
static void *dump_buf(size_t n, size_t sz)
{
	size_t len = (n * sz + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	void *p = aligned_alloc(HUGE_PAGE, len ? len : HUGE_PAGE);

	if (p)
		madvise(p, len, MADV_HUGEPAGE); /* advice: a kernel without THP still works */
	return p;
}

/* Every key/value pair of a hash map through batch lookups, in one allocation each. */
static int dump_map(int fd, size_t vsize, __u64 **ret_keys, void **ret_vals, size_t *ret_n)
{
	_cleanup_free_ __u64 *keys = NULL;
	_cleanup_free_ void *vals = NULL;
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	__u64 in_batch = 0, out_batch = 0;
	size_t n = 0, cap;
	bool first = true;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	cap = info.max_entries;
	keys = dump_buf(cap, sizeof(*keys));
	vals = dump_buf(cap, vsize);
	if (!keys || !vals)
		return -ENOMEM;
	while (n < cap) {
		__u32 count = cap - n < BATCH ? cap - n : BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys + n,
					   (char *)vals + n * vsize, &count, NULL);
		if (err && errno != ENOENT)
			return -errno;
		n += count;
		if (err)
			break; /* ENOENT: that was the last batch */
		in_batch = out_batch;
		first = false;
	}
	*ret_n = n;
	*ret_keys = TAKE_PTR(keys);
	*ret_vals = TAKE_PTR(vals);
	return 0;
}

/* Delete the entries whose generation is older than min_gen; returns how many. */
static int sweep_peers(struct sockmap *m, __u32 min_gen)
{
	_cleanup_free_ __u64 *keys = NULL;
	_cleanup_free_ struct crux_sock *vals = NULL;
	size_t n = 0, i;
	int err, swept = 0;

	err = dump_map(m->peers_fd, sizeof(*vals), &keys, (void **)&vals, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		struct crux_sock cur;

		if ((__s32)(vals[i].gen - min_gen) >= 0)
			continue;
		/* re-read: an event may have refreshed it since the dump */
		if (bpf_map_lookup_elem(m->peers_fd, &keys[i], &cur) ||
		    (__s32)(cur.gen - min_gen) >= 0)
			continue;
		if (!bpf_map_delete_elem(m->peers_fd, &keys[i]))
			swept++;
	}
	return swept;
}

/* connect() addresses of sockets that are no longer in the live map. */
static int sweep_conns(struct sockmap *m)
{
	_cleanup_free_ __u64 *keys = NULL;
	_cleanup_free_ struct crux_conn *vals = NULL;
	size_t n = 0, i;
	int err;

	err = dump_map(m->conn_fd, sizeof(*vals), &keys, (void **)&vals, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		struct crux_sock s;

		if (!bpf_map_lookup_elem(m->peers_fd, &keys[i], &s) && s.sk == vals[i].sk)
			continue;
		bpf_map_delete_elem(m->conn_fd, &keys[i]);
	}
	return 0;
}

static __u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int reconcile_locked(struct sockmap *m, bool strict, __u64 *ret_swept)
{
	__u64 gen, gen2, n = 0, start = now_ns();
	int err, swept;

	err = seed_pass(m, &gen);
	if (err)
		return err;
	if (strict) {
		err = seed_pass(m, &gen2);
		if (err)
			return err;
	} else {
		gen -= 1; /* one generation of grace */
	}
	swept = sweep_peers(m, gen);
	if (swept < 0)
		return swept;
	err = sweep_conns(m);
	if (err)
		return err;
	/* the duration is a monitoring figure (crux-map stats --prometheus), not a test's */
	stat_set(m->stats_fd, CRUX_ST_RECONCILE_NS, now_ns() - start);
	stat_set(m->stats_fd, CRUX_ST_RECONCILE_TIME, realtime_ns());
	stat_set(m->stats_fd, CRUX_ST_RECONCILE_SWEPT, swept);
	if (!stat_get(m->stats_fd, CRUX_ST_RECONCILES, &n))
		stat_set(m->stats_fd, CRUX_ST_RECONCILES, n + 1);
	if (ret_swept)
		*ret_swept = swept;
	return 0;
}

int sockmap__reconcile(struct sockmap *m, bool strict, __u64 *ret_swept)
{
	int err;

	if (m->task_link_fd < 0 || m->unix_link_fd < 0)
		return -ENOENT;
	if (m->dir_fd >= 0 && flock(m->dir_fd, LOCK_EX))
		return -errno;
	err = reconcile_locked(m, strict, ret_swept);
	if (m->dir_fd >= 0)
		flock(m->dir_fd, LOCK_UN);
	return err;
}

int sockmap__snapshot(struct sockmap **ret)
{
	struct bpf_link *lt = NULL, *lu = NULL;
	struct sockmap *m;
	int err;

	m = sockmap_new();
	if (!m)
		return -ENOMEM;
	err = bpfobj_load_iter(true, false, &m->skel);
	if (err)
		goto out_close;
	m->peers_fd = bpf_map__fd(m->skel->maps.peers);
	m->conn_fd = bpf_map__fd(m->skel->maps.conn_addr);
	m->stats_fd = bpf_map__fd(m->skel->maps.stats);
	lt = bpf_program__attach_iter(m->skel->progs.iter_task_file_seed, NULL);
	lu = bpf_program__attach_iter(m->skel->progs.iter_unix_seed, NULL);
	if (!lt || !lu) {
		err = -errno;
		goto out_links;
	}
	m->task_link_fd = dup(bpf_link__fd(lt));
	m->unix_link_fd = dup(bpf_link__fd(lu));
	if (m->task_link_fd < 0 || m->unix_link_fd < 0) {
		err = -errno;
		goto out_links;
	}
	/* a private map has no writers but us: one pass is exact, nothing to sweep */
	err = reconcile_locked(m, false, NULL);
out_links:
	bpf_link__destroy(lt);
	bpf_link__destroy(lu);
	if (err)
		goto out_close;
	*ret = m;
	return 0;
out_close:
	sockmap__close(m);
	return err;
}

int sockmap__lookup(struct sockmap *m, __u64 ino, struct crux_sock *ret)
{
	return bpf_map_lookup_elem(m->peers_fd, &ino, ret) ? -errno : 0;
}

int sockmap__owner(struct sockmap *m, __u64 ino, __u32 *ret_tgid, char *ret_comm)
{
	struct crux_sock s;
	int err = sockmap__lookup(m, ino, &s);

	if (err)
		return err;
	if (!s.owner_tgid)
		return -ESRCH;
	*ret_tgid = s.owner_tgid;
	if (ret_comm) {
		memcpy(ret_comm, s.owner_comm, CRUX_COMM_LEN);
		ret_comm[CRUX_COMM_LEN - 1] = '\0';
	}
	return 0;
}

int sockmap__lookup_conn(struct sockmap *m, __u64 ino, struct crux_conn *ret)
{
	return bpf_map_lookup_elem(m->conn_fd, &ino, ret) ? -errno : 0;
}

int sockmap__list(struct sockmap *m, struct crux_sock **ret, size_t *ret_n)
{
	_cleanup_free_ __u64 *keys = NULL;
	struct crux_sock *vals = NULL;
	int err;

	err = dump_map(m->peers_fd, sizeof(*vals), &keys, (void **)&vals, ret_n);
	if (err)
		return err;
	*ret = vals;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static bool in_set(const __u64 *set, size_t n, __u64 ino)
{
	return ino && bsearch(&ino, set, n, sizeof(*set), cmp_u64);
}

int sockmap__list_inbound(struct sockmap *m, const __u64 *inos, size_t n, struct crux_sock **ret,
			  size_t *ret_n)
{
	_cleanup_free_ struct crux_sock *all = NULL;
	_cleanup_free_ __u64 *set = NULL;
	struct crux_sock *out;
	size_t total = 0, i, k = 0;
	int err;

	err = sockmap__list(m, &all, &total);
	if (err)
		return err;
	set = malloc((n ? n : 1) * sizeof(*set));
	if (!set)
		return -ENOMEM;
	memcpy(set, inos, n * sizeof(*set));
	qsort(set, n, sizeof(*set), cmp_u64);
	out = all; /* filter in place */
	for (i = 0; i < total; i++) {
		const struct crux_sock *s = &all[i];
		__u64 target = (s->flags & CRUX_SK_EMBRYO) ? s->listener_ino : s->peer_ino;

		if (in_set(set, n, target) && !in_set(set, n, s->ino))
			out[k++] = *s;
	}
	*ret_n = k;
	*ret = TAKE_PTR(all);
	return 0;
}

int sockmap__stats(struct sockmap *m, __u64 *stats)
{
	__u32 i;
	int err;

	for (i = 0; i < CRUX_ST__MAX; i++) {
		err = stat_get(m->stats_fd, i, &stats[i]);
		if (err)
			return err;
	}
	return 0;
}

bool sockmap__incomplete(struct sockmap *m)
{
	__u64 fails = 0;

	return !stat_get(m->stats_fd, CRUX_ST_UPSERT_FAIL, &fails) && fails;
}
