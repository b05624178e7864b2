// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus exposition of the live map and the tracker (include/metrics.h). Every series
 * is printed even when zero, so a dashboard's query never loses its line; entries come for
 * every (type, state) pair for the same reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "sockprint.h"
#include "util.h"

static const struct {
	__u16 type;
	const char *name;
} types[] = { { 1, "stream" }, { 2, "dgram" }, { 5, "seqpacket" } };

static const char *const states[] = { "listen", "established", "unconnected", "closed" };

static int by_ino(const void *a, const void *b)
{
	const struct crux_sock *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Whether s's other end is still in the map (as crux-map ls resolves it). */
static bool peer_alive(const struct crux_sock *s, const struct crux_sock *v, size_t n)
{
	struct crux_sock key = { .ino = s->flags & CRUX_SK_EMBRYO ? s->listener_ino : s->peer_ino };
	const struct crux_sock *p;

	if ((s->flags & CRUX_SK_DEAD) || !key.ino)
		return false;
	p = bsearch(&key, v, n, sizeof(key), by_ino);
	if (!p)
		return false;
	return (s->flags & CRUX_SK_EMBRYO) || !s->peer_sk || !p->sk || p->sk == s->peer_sk;
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *out, const char *name, const char *type, const char *help,
		unsigned long long v)
{
	head(out, name, type, help);
	fprintf(out, "%s %llu\n", name, v);
}

/* ns as seconds with every digit: 1234567 -> 0.001234567 */
static void seconds(FILE *out, const char *name, const char *help, __u64 ns)
{
	head(out, name, "gauge", help);
	fprintf(out, "%s %llu.%09llu\n", name, (unsigned long long)(ns / 1000000000ULL),
		(unsigned long long)(ns % 1000000000ULL));
}

static void print_entries(FILE *out, struct crux_sock *v, size_t n)
{
	size_t count[ARRAY_SIZE(types)][ARRAY_SIZE(states)] = { { 0 } }, other = 0, i, t, s;

	qsort(v, n, sizeof(*v), by_ino);
	for (i = 0; i < n; i++) {
		const char *st = sockprint_state(&v[i], peer_alive(&v[i], v, n));

		for (t = 0; t < ARRAY_SIZE(types) && types[t].type != v[i].type; t++)
			;
		for (s = 0; s < ARRAY_SIZE(states) && strcmp(states[s], st); s++)
			;
		if (t < ARRAY_SIZE(types) && s < ARRAY_SIZE(states))
			count[t][s]++;
		else
			other++;
	}
	head(out, "crux_map_entries", "gauge", "Unix sockets in the live map, by type and state.");
	for (t = 0; t < ARRAY_SIZE(types); t++)
		for (s = 0; s < ARRAY_SIZE(states); s++)
			fprintf(out, "crux_map_entries{state=\"%s\",type=\"%s\"} %zu\n", states[s],
				types[t].name, count[t][s]);
	fprintf(out, "crux_map_entries{state=\"other\",type=\"other\"} %zu\n", other);
}

void metrics_print(FILE *out, const struct metrics_in *in)
{
	const __u64 *st = in->stats;
	__u64 start = st[CRUX_ST_TRACKER_START];
	bool up = in->live && in->tracker_up;

	print_entries(out, in->socks, in->n);
	one(out, "crux_map_upserts_total", "counter", "Successful writes to the live map.",
	    st[CRUX_ST_UPSERTS]);
	one(out, "crux_map_upsert_failures_total", "counter",
	    "Live map writes that failed (map full): answers miss sockets.",
	    st[CRUX_ST_UPSERT_FAIL]);
	one(out, "crux_events_lost_total", "counter",
	    "Watch events dropped because the ring buffer was full.", st[CRUX_ST_EVENTS_LOST]);
	one(out, "crux_reconcile_passes_total", "counter",
	    "Completed reconcile passes since the state was pinned.", st[CRUX_ST_RECONCILES]);
	one(out, "crux_reconcile_generation", "gauge", "Current reconcile generation.",
	    st[CRUX_ST_GEN]);
	seconds(out, "crux_reconcile_last_duration_seconds", "How long the last reconcile took.",
		st[CRUX_ST_RECONCILE_NS]);
	one(out, "crux_reconcile_last_corrected", "gauge",
	    "Stale records the last reconcile removed from the map.", st[CRUX_ST_RECONCILE_SWEPT]);
	seconds(out, "crux_reconcile_last_timestamp_seconds",
		"When the last reconcile completed (Unix time, 0: never).",
		st[CRUX_ST_RECONCILE_TIME]);
	one(out, "crux_state_pinned", "gauge",
	    "1: read from a tracker's pinned state; 0: a one-shot kernel snapshot.", in->live);
	one(out, "crux_tracker_up", "gauge", "1 if the tracker registered in the state runs.", up);
	seconds(out, "crux_tracker_uptime_seconds", "How long the running tracker has run.",
		up && start && in->now_ns > start ? in->now_ns - start : 0);
	one(out, "crux_abi_version", "gauge",
	    "Record layout version (CRUX_ABI_VERSION) of the state.", in->abi_version);
}

int metrics_write_dir(const char *dir, const struct metrics_in *in)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* node-exporter reads only *.prom: the file being written is invisible to it */
	static const char tmp[] = "." METRICS_FILE ".tmp";
	FILE *f;
	int fd, err = 0;

	if (dfd < 0)
		return -errno;
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	metrics_print(f, in);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && renameat(dfd, tmp, dfd, METRICS_FILE))
		err = -errno;
	if (err)
		unlinkat(dfd, tmp, 0);
	return err;
}
