// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux track`: load the live-map programs, attach them, seed the map, pin everything
 * under the pin dir and keep reconciling. Attach comes before the seed so no event between
 * the two is missed (refresh() writes whole states, so an event racing the seed only
 * rewrites the truth). The pinned links keep the programs running when the tracker dies,
 * even by SIGKILL; a new tracker adopts the pinned state (same maps, links left as they
 * are, missing ones attached) and reconciles. `--stop` detaches and unpins.
 * Under systemd (crux-track.service, Type=notify) it says READY=1 once the map is seeded;
 * with --metrics-dir it keeps a node-exporter textfile of its health current.
 */
#define LOG_PREFIX "track: "
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "abi.h"
#include "bpfobj.h"
#include "cmd.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "sockmap.h"
#include "treeiter.h"
#include "util.h"

#include "crux_iter.skel.h"
#include "crux_track.skel.h"

#define DEFAULT_RECONCILE_MS 30000 /* a pass costs ~0.4 s at 200k sockets (bpf.md 4.1) */
#define DEFAULT_METRICS_S 15 /* node-exporter's and Prometheus' usual scrape interval */

enum track_mode { MODE_RUN, MODE_STOP, MODE_RECONCILE };

struct opts {
	enum track_mode mode;
	const char *pin_dir;
	__u32 reconcile_ms;
	const char *log_file;
	bool use_syslog;
	bool daemonize;
	bool verbose;
	const char *metrics_dir;
	__u32 metrics_s;
};

enum {
	OPT_STOP = 0x100,
	OPT_PIN_DIR,
	OPT_RECONCILE_MS,
	OPT_LOG_FILE,
	OPT_SYSLOG,
	OPT_RECONCILE,
	OPT_METRICS_DIR,
	OPT_METRICS_INTERVAL,
};

static const struct argp_option options[] = {
	{ "daemon", 'd', NULL, 0, "Run in the background; print its pid once the map is seeded",
	  0 },
	{ "pin-dir", OPT_PIN_DIR, "DIR", 0,
	  "Pin maps and links under DIR (default " CRUX_PIN_ROOT ")", 0 },
	{ "reconcile-ms", OPT_RECONCILE_MS, "N", 0,
	  "Reconcile every N ms (default 30000; 0 = never)", 0 },
	{ "log-file", OPT_LOG_FILE, "FILE", 0, "Log to FILE (-d without it logs to syslog)", 0 },
	{ "syslog", OPT_SYSLOG, NULL, 0, "Log to syslog", 0 },
	{ "stop", OPT_STOP, NULL, 0, "Stop a running tracker, detach the programs and unpin", 0 },
	{ "reconcile", OPT_RECONCILE, NULL, 0,
	  "Run one strict reconcile pass on the pinned state and exit", 0 },
	{ "verbose", 'v', NULL, 0, "More logging (libbpf debug output too)", 0 },
	{ "metrics-dir", OPT_METRICS_DIR, "DIR", 0,
	  "Keep DIR/" METRICS_FILE " current (Prometheus text format, replaced atomically): a "
	  "node-exporter textfile directory",
	  0 },
	{ "metrics-interval", OPT_METRICS_INTERVAL, "N", 0,
	  "Rewrite the metrics file every N seconds (default 15)", 0 },
	{},
};

static const char doc[] =
	"Keep the live map of every unix socket on the host and its peer (BPF, pinned).\v"
	"Without --stop or --reconcile the tracker runs in the foreground until SIGINT or "
	"SIGTERM; the pinned programs keep the map current after it exits, and the next "
	"'crux track' adopts the pinned state.\n\n"
	"EXAMPLES:\n"
	"  crux track                          track in the foreground\n"
	"  crux track -d --log-file /var/log/crux-track.log\n"
	"                                      start in the background, print its pid\n"
	"  crux track --reconcile              correct the pinned map now (strict pass)\n"
	"  crux track --stop                   stop, detach and unpin everything\n"
	"  crux track --metrics-dir /var/lib/prometheus/node-exporter\n"
	"                                      also feed node-exporter's textfile collector\n"
	"  crux track --pin-dir /sys/fs/bpf/crux-test -d --reconcile-ms 500\n";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;

	switch (key) {
	case 'd':
		o->daemonize = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case OPT_PIN_DIR:
		if (!*arg || arg[0] != '/') {
			pr_err("--pin-dir needs an absolute path on a bpf filesystem, got '%s'",
			       arg);
			argp_usage(state);
		}
		o->pin_dir = arg;
		break;
	case OPT_RECONCILE_MS:
		if (parse_u32(arg, 0, 86400000, &o->reconcile_ms)) {
			pr_err("--reconcile-ms takes a number of milliseconds (0..86400000), got '%s'",
			       arg);
			argp_usage(state);
		}
		break;
	case OPT_LOG_FILE:
		o->log_file = arg;
		break;
	case OPT_SYSLOG:
		o->use_syslog = true;
		break;
	case OPT_STOP:
		o->mode = MODE_STOP;
		break;
	case OPT_RECONCILE:
		o->mode = MODE_RECONCILE;
		break;
	case OPT_METRICS_DIR:
		if (arg[0] != '/') {
			pr_err("--metrics-dir needs an absolute path (-d runs in /), got '%s'",
			       arg);
			argp_usage(state);
		}
		o->metrics_dir = arg;
		break;
	case OPT_METRICS_INTERVAL:
		if (parse_u32(arg, 1, 86400, &o->metrics_s)) {
			pr_err("--metrics-interval takes a number of seconds (1..86400), got '%s'",
			       arg);
			argp_usage(state);
		}
		break;
	case ARGP_KEY_ARG:
		pr_err("unexpected argument '%s'", arg);
		argp_usage(state);
		break;
	case ARGP_KEY_END:
		if (o->log_file && o->use_syslog) {
			pr_err("--log-file and --syslog exclude each other");
			argp_usage(state);
		}
		if (o->mode != MODE_RUN &&
		    (o->daemonize || o->log_file || o->use_syslog || o->metrics_dir)) {
			pr_err("-d, --log-file, --syslog and --metrics-dir apply to a running "
			       "tracker, not to --stop or --reconcile");
			argp_usage(state);
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;

	if (level == LIBBPF_DEBUG && log_get_level() < LOG_LVL_DEBUG)
		return 0;
	/* a verifier log arrives in one call: one log line per line of it */
	if (vasprintf(&buf, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		pr_debug("libbpf: %s", line);
	return 0;
}

/* ---- checks shared by every mode ---------------------------------------------------- */

static int check_bpffs(const char *pin_dir, bool must_exist)
{
	int err = sockmap_pin_dir_check(pin_dir);

	if (err == -ENODEV)
		return pr_err_ret(-ENODEV,
				  "%s is not on a bpf filesystem (bpffs not mounted?): run "
				  "'mount -t bpf bpf /sys/fs/bpf' or pass --pin-dir on a bpffs",
				  pin_dir);
	if (err == -ENOENT && must_exist)
		return pr_err_ret(-ENOENT, "no tracker state under %s: start one with 'crux track'",
				  pin_dir);
	if (err && err != -ENOENT)
		return pr_err_ret(err, "cannot inspect %s: %s", pin_dir, strerror(-err));
	return 0;
}

/*
 * The state letter of process pid from /proc/PID/stat ("PID (comm) S ..."), 0 if it is
 * gone; is_crux tells whether its comm is "crux". A zombie ('Z') is not alive: a killed
 * tracker may wait a while for its reaper.
 */
static char proc_state(pid_t pid, bool *is_crux)
{
	char path[64], stat[512] = "";
	const char *end;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(stat, sizeof(stat), f))
		stat[0] = '\0';
	fclose(f);
	end = strrchr(stat, ')');
	if (!end || end[1] != ' ')
		return 0;
	if (is_crux)
		*is_crux = strstr(stat, " (crux) ") != NULL;
	return end[2];
}

static bool alive(pid_t pid, bool *is_crux)
{
	char st = proc_state(pid, is_crux);

	return st && st != 'Z' && st != 'X';
}

/* The pid of a live `crux` that registered itself as this pin dir's tracker, or 0. */
static pid_t live_tracker(const char *pin_dir)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];
	__u32 idx = CRUX_ST_TRACKER_PID;
	bool is_crux = false;
	__u64 pid = 0;

	snprintf(path, sizeof(path), "%s/stats", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &idx, &pid) || !pid || pid == (__u64)getpid() ||
	    pid > INT32_MAX)
		return 0;
	return alive((pid_t)pid, &is_crux) && is_crux ? (pid_t)pid : 0;
}

/* Refuse pinned state of another layout, with both versions and the way out. */
static int check_abi(const char *pin_dir)
{
	struct crux_abi_info abi;
	int err = bpfobj_read_abi(pin_dir, &abi);

	if (err == -ENOENT)
		return 0;
	if (err)
		return pr_err_ret(err, "cannot read %s/abi_info: %s", pin_dir, strerror(-err));
	if (abi.version != CRUX_ABI_VERSION || abi.sock_size != sizeof(struct crux_sock))
		return pr_err_ret(
			-EPROTO,
			"pinned state under %s has ABI version %u (record %u bytes), this "
			"crux uses version %u (%zu bytes): run 'crux track --stop "
			"--pin-dir %s', then start again",
			pin_dir, abi.version, abi.sock_size, CRUX_ABI_VERSION,
			sizeof(struct crux_sock), pin_dir);
	return 0;
}

/* ---- load, attach, pin -------------------------------------------------------------- */

struct tracker {
	struct crux_track_bpf *track;
	struct crux_iter_bpf *iter;
	int attached; /* links created by this process */
	int adopted; /* links found pinned */
};

static bool pinned(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static void link_path(char *buf, size_t n, const char *pin_dir, struct bpf_program *prog)
{
	snprintf(buf, n, "%s/link_%s", pin_dir, bpf_program__name(prog));
}

/* How many of obj's loaded programs have a pinned link, out of how many. */
static void count_links(struct bpf_object *obj, const char *pin_dir, int *pinned_n, int *total)
{
	struct bpf_program *prog;
	char path[PATH_MAX];

	bpf_object__for_each_program(prog, obj) {
		/* the recheck program is pinned as a program (run, never attached) */
		if (!bpf_program__autoload(prog) || !strcmp(bpf_program__name(prog), "recheck_run"))
			continue;
		link_path(path, sizeof(path), pin_dir, prog);
		*pinned_n += pinned(path);
		(*total)++;
	}
}

static int unpin_links(const char *pin_dir);

/*
 * Adopt all or nothing: the programs of one load share their stash maps (a connect's
 * entry and exit), so a pinned half from an earlier load cannot pair with a new half.
 * A partial set (a tracker killed while attaching) is detached and attached anew; the
 * seed that follows is strict.
 */
static int settle_partial_links(struct tracker *t, const char *pin_dir)
{
	int n = 0, total = 0, err;

	count_links(t->track->obj, pin_dir, &n, &total);
	count_links(t->iter->obj, pin_dir, &n, &total);
	if (n == 0 || n == total)
		return 0;
	pr_warn("%s holds %d of %d program links: re-attaching all of them", pin_dir, n, total);
	err = unpin_links(pin_dir);
	if (err)
		return pr_err_ret(err, "cannot unpin the links under %s: %s", pin_dir,
				  strerror(-err));
	return 0;
}

/* The recheck program is run (BPF_PROG_RUN) by the tracker and the readers: pinned, not attached. */
static int pin_recheck(struct tracker *t, const char *pin_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/prog_recheck_run", pin_dir);
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return bpf_program__pin(t->iter->progs.recheck_run, path);
}

/* Attach every loaded program of obj that has no pinned link yet, and pin the link. */
static int attach_and_pin(struct bpf_object *obj, const char *pin_dir, struct tracker *t)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	int err;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link_path(path, sizeof(path), pin_dir, prog);
		if (pinned(path)) {
			t->adopted++;
			continue;
		}
		if (prog == t->iter->progs.recheck_run) {
			err = pin_recheck(t, pin_dir);
			if (err)
				return pr_err_ret(err,
						  "cannot pin the recheck program under %s: %s",
						  pin_dir, strerror(-err));
			continue;
		}
		link = bpf_program__attach(prog);
		if (!link)
			return pr_perror_ret("cannot attach %s", bpf_program__name(prog));
		err = bpf_link__pin(link, path);
		bpf_link__destroy(link); /* the pin holds it now */
		if (err)
			return pr_err_ret(err, "cannot pin %s: %s", path, strerror(-err));
		t->attached++;
	}
	return 0;
}

/*
 * The dumper's tree iterators, loaded and verified once here and pinned (not attached: each
 * dump attaches them with its own pid filter), so that crux dump and crux-map skip a BPF
 * object load of their own. Without them they load it: a warning, not a failure.
 */
static void pin_tree_iterators(const char *pin_dir)
{
	struct crux_iter_bpf *skel = NULL;
	int err;

	err = bpfobj_load_iter(false, true, &skel);
	if (!err)
		err = treeiter_pin(skel, pin_dir);
	/* the pins hold the programs now */
	crux_iter_bpf__destroy(skel);
	if (err)
		pr_warn("cannot pin the tree iterators under %s (%s): each dump loads its own",
			pin_dir, strerror(-err));
}

static int write_abi(struct crux_track_bpf *skel)
{
	struct crux_abi_info abi = { .version = CRUX_ABI_VERSION,
				     .sock_size = sizeof(struct crux_sock) };
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.abi_info), &zero, &abi, BPF_ANY))
		return pr_perror_ret("cannot write abi_info");
	return 0;
}

static int tracker_load(const char *pin_dir, struct tracker *t)
{
	struct bpf_object_open_opts oo;
	int err;

	memset(&oo, 0, sizeof(oo)); /* libbpf rejects non-zero padding in opts */
	oo.sz = sizeof(oo);
	oo.pin_root_path = pin_dir;
	if (mkdir(pin_dir, 0700) && errno != EEXIST)
		return pr_perror_ret("cannot create %s", pin_dir);
	/* root only, whoever made it: the maps say who talks to whom on the host */
	if (chmod(pin_dir, 0700))
		return pr_perror_ret("cannot make %s root-only (0700)", pin_dir);
	t->track = crux_track_bpf__open_opts(&oo);
	if (!t->track)
		return pr_perror_ret("cannot open the tracker's BPF object");
	err = crux_track_bpf__load(t->track);
	if (err)
		return pr_err_ret(err, "cannot load the tracker's BPF programs: %s (try -v)",
				  strerror(-err));
	err = write_abi(t->track);
	if (err)
		return err;
	t->iter = crux_iter_bpf__open_opts(&oo);
	if (!t->iter)
		return pr_perror_ret("cannot open the iterator BPF object");
	/* the dumper's tree iterators are attached per dump, never here */
	bpf_program__set_autoload(t->iter->progs.iter_task_file_tree, false);
	bpf_program__set_autoload(t->iter->progs.iter_task_file_refs, false);
	bpf_program__set_autoload(t->iter->progs.iter_task_file_icons, false);
	bpf_program__set_autoload(t->iter->progs.iter_task_file_fdmsgs, false);
	err = crux_iter_bpf__load(t->iter);
	if (err)
		return pr_err_ret(err, "cannot load the iterator BPF programs: %s (try -v)",
				  strerror(-err));
	err = settle_partial_links(t, pin_dir);
	if (err)
		return err;
	/* event programs first, then the iterators: nothing is missed between attach and seed */
	err = attach_and_pin(t->track->obj, pin_dir, t);
	if (!err)
		err = attach_and_pin(t->iter->obj, pin_dir, t);
	if (!err)
		pin_tree_iterators(pin_dir);
	return err;
}

static void tracker_unload(struct tracker *t)
{
	crux_iter_bpf__destroy(t->iter);
	crux_track_bpf__destroy(t->track);
}

/* Register pid as the tracker, with its start time (0: unregister). */
static int stats_set_pid(const char *pin_dir, __u64 pid, bool only_if_ours)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];
	__u32 idx = CRUX_ST_TRACKER_PID, idx_start = CRUX_ST_TRACKER_START;
	__u64 cur = 0, start = 0;
	struct timespec ts;

	snprintf(path, sizeof(path), "%s/stats", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (only_if_ours && (bpf_map_lookup_elem(fd, &idx, &cur) || cur != (__u64)getpid()))
		return 0;
	if (pid && !clock_gettime(CLOCK_REALTIME, &ts))
		start = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (bpf_map_update_elem(fd, &idx_start, &start, BPF_ANY))
		return -errno;
	return bpf_map_update_elem(fd, &idx, &pid, BPF_ANY) ? -errno : 0;
}

/* ---- run ----------------------------------------------------------------------------- */

static int reconcile_once(struct sockmap *m, bool strict, __u64 *last_fail)
{
	__u64 stats[CRUX_ST__MAX], swept = 0;
	size_t n = 0;
	struct crux_sock *all = NULL;
	int err;

	err = sockmap__reconcile(m, strict, &swept);
	if (err)
		return pr_err_ret(err, "reconcile failed: %s", strerror(-err));
	if (!sockmap__stats(m, stats) && stats[CRUX_ST_UPSERT_FAIL] != *last_fail) {
		pr_warn("the live map is full: %llu writes failed, answers miss sockets (raise "
			"CRUX_MAP_MAX_SOCKS)",
			(unsigned long long)stats[CRUX_ST_UPSERT_FAIL]);
		*last_fail = stats[CRUX_ST_UPSERT_FAIL];
	}
	if (log_get_level() >= LOG_LVL_DEBUG && !sockmap__list(m, &all, &n))
		pr_debug("reconciled: %zu sockets, %llu stale entries swept", n,
			 (unsigned long long)swept);
	free(all);
	return 0;
}

/* -d: the parent waits for the child's "seeded" message, prints its pid and exits. */
static int daemonize(int *ret_notify_fd)
{
	int p[2], status;
	pid_t child, pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return pr_perror_ret("pipe");
	child = fork();
	if (child < 0)
		return pr_perror_ret("fork");
	if (child == 0) {
		close(p[0]);
		setsid();
		*ret_notify_fd = p[1];
		return 0;
	}
	close(p[1]);
	do
		n = read(p[0], &pid, sizeof(pid));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != sizeof(pid)) {
		waitpid(child, &status, 0);
		exit(1); /* the child said why */
	}
	printf("%d\n", pid);
	exit(0);
}

static int detach_stdio(const struct opts *o)
{
	int fd, err;

	if (o->log_file) {
		err = log_to_file(o->log_file);
		if (err)
			return pr_err_ret(err, "cannot open log file %s: %s", o->log_file,
					  strerror(-err));
	} else {
		log_to_syslog();
	}
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	if (chdir("/"))
		return -errno;
	return 0;
}

/* Refusals before anything is touched: bpffs, another layout, a live tracker. */
static int track_preflight(const struct opts *o)
{
	pid_t other;
	int err;

	err = check_bpffs(o->pin_dir, false);
	if (err)
		return err;
	err = check_abi(o->pin_dir);
	if (err)
		return err;
	other = live_tracker(o->pin_dir);
	if (other)
		return pr_err_ret(-EEXIST,
				  "a tracker is already running (pid %d) on %s: stop it with "
				  "'crux track --stop --pin-dir %s' first",
				  other, o->pin_dir, o->pin_dir);
	return 0;
}

/* -d: fork (the parent exits in daemonize()); else the log destination asked for. */
static int track_detach_or_log(const struct opts *o, int *ret_notify_fd)
{
	int err;

	if (o->daemonize)
		return daemonize(ret_notify_fd);
	if (o->log_file) {
		err = log_to_file(o->log_file);
		if (err)
			return pr_err_ret(err, "cannot open log file %s: %s", o->log_file,
					  strerror(-err));
	} else if (o->use_syslog) {
		log_to_syslog();
	}
	return 0;
}

/* -d: the map is seeded; let go of the terminal, then tell the waiting parent our pid. */
static int track_notify_ready(const struct opts *o, int *notify_fd)
{
	pid_t me = getpid();
	int err;

	if (*notify_fd < 0)
		return 0;
	err = detach_stdio(o);
	if (err)
		return err;
	if (write(*notify_fd, &me, sizeof(me)) != sizeof(me))
		return -errno;
	close(*notify_fd);
	*notify_fd = -1;
	return 0;
}

/* The pin dir still holds our state (an rm -rf of it detaches everything). */
static bool pins_present(const char *pin_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/stats", pin_dir);
	return pinned(path);
}

/*
 * --metrics-dir: the map and the counters as DIR/crux.prom. A failure is logged when it
 * starts and when it ends, never fatal: monitoring must not stop the tracking.
 */
static void track_write_metrics(const struct opts *o, struct sockmap *m, bool up, int *last_err)
{
	_cleanup_free_ struct crux_sock *all = NULL;
	__u64 st[CRUX_ST__MAX];
	struct timespec now;
	size_t n = 0;
	int err;

	if (!o->metrics_dir)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	err = sockmap__list(m, &all, &n);
	if (!err)
		err = sockmap__stats(m, st);
	if (!err)
		err = metrics_write_dir(o->metrics_dir,
					&(struct metrics_in){
						.socks = all,
						.n = n,
						.stats = st,
						.abi_version = CRUX_ABI_VERSION,
						.live = true,
						.tracker_up = up,
						.now_ns = now.tv_sec * 1000000000ULL + now.tv_nsec,
					});
	if (err && err != *last_err)
		pr_warn("cannot write metrics to %s/" METRICS_FILE ": %s (retrying every %u s)",
			o->metrics_dir, strerror(-err), o->metrics_s);
	else if (!err && *last_err)
		pr_info("metrics written to %s/" METRICS_FILE " again", o->metrics_dir);
	*last_err = err;
}

#define PIN_CHECK_MS 1000
/* The recheck of shared-close candidates (sockmap__recheck): stale records live this long. */
#define RECHECK_MS 10

/*
 * Reconcile every reconcile_ms until a stop signal (blocked in set) arrives, or until the
 * pin dir is removed under us: then nothing is attached any more and the tracker would
 * only hold memory.
 */
static int track_loop(const struct opts *o, struct sockmap *m, const sigset_t *set,
		      __u64 *last_fail, int *metrics_err)
{
	__u32 step = RECHECK_MS;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = RECHECK_MS * 1000000L };
	__u64 waited = 0, pin_waited = 0, metrics_waited = 0;
	int sig, err;

	for (;;) {
		sig = sigtimedwait(set, NULL, &ts);
		if (sig > 0) {
			pr_info("signal %d: exiting; the pinned programs keep the map current",
				sig);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return pr_perror_ret("sigtimedwait");
		pin_waited += step;
		if (pin_waited >= PIN_CHECK_MS) {
			pin_waited = 0;
			if (!pins_present(o->pin_dir)) {
				pr_warn("%s was removed: the programs are detached, exiting",
					o->pin_dir);
				return 0;
			}
		}
		sockmap__recheck(m); /* the releases no event saw, by inode */
		waited += step;
		metrics_waited += step;
		if (metrics_waited >= o->metrics_s * 1000ULL) {
			metrics_waited = 0;
			track_write_metrics(o, m, true, metrics_err);
		}
		if (!o->reconcile_ms || waited < o->reconcile_ms)
			continue;
		waited = 0;
		err = reconcile_once(m, false, last_fail);
		if (err)
			return err;
	}
}

static int track_run(const struct opts *o)
{
	struct tracker t = {};
	struct sockmap *m = NULL;
	__u64 last_fail = 0, stats[CRUX_ST__MAX];
	int err, notify_fd = -1, metrics_err = 0;
	sigset_t set;

	err = track_preflight(o);
	if (!err)
		err = track_detach_or_log(o, &notify_fd);
	if (err)
		return err;
	/* block the stop signals before anything is pinned: they are handled in the loop */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	err = tracker_load(o->pin_dir, &t);
	if (err)
		goto out;
	err = stats_set_pid(o->pin_dir, getpid(), false);
	if (err) {
		pr_err("cannot register in %s/stats: %s", o->pin_dir, strerror(-err));
		goto out;
	}
	err = sockmap__open(o->pin_dir, &m, NULL);
	if (err) {
		pr_err("cannot open the pinned maps under %s: %s", o->pin_dir, strerror(-err));
		goto out;
	}
	/* the seed is a reconcile: refresh every live socket, sweep what is not live */
	err = reconcile_once(m, t.adopted > 0, &last_fail);
	if (!err)
		err = track_notify_ready(o, &notify_fd);
	if (err)
		goto out;
	track_write_metrics(o, m, true, &metrics_err);
	pr_info("tracking unix sockets under %s (%d links attached, %d adopted)", o->pin_dir,
		t.attached, t.adopted);
	err = sdnotify("READY=1\nSTATUS=tracking unix sockets");
	if (err)
		pr_warn("cannot tell systemd we are ready ($NOTIFY_SOCKET): %s", strerror(-err));
	err = track_loop(o, m, &set, &last_fail, &metrics_err);
	sdnotify("STOPPING=1");
	track_write_metrics(o, m, false, &metrics_err);
	if (!err && !sockmap__stats(m, stats) && stats[CRUX_ST_UPSERT_FAIL])
		pr_warn("%llu map writes failed during this run (map full)",
			(unsigned long long)stats[CRUX_ST_UPSERT_FAIL]);
out:
	stats_set_pid(o->pin_dir, 0, true);
	sockmap__close(m);
	tracker_unload(&t);
	if (notify_fd >= 0)
		close(notify_fd);
	return err;
}

/* ---- stop ---------------------------------------------------------------------------- */

static int wait_gone(pid_t pid, int ms)
{
	for (; ms > 0; ms -= 20) {
		if (!alive(pid, NULL))
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

/* Unlink the entries of pin_dir that are (links) or are not (!links) program links. */
static int unpin_entries(const char *pin_dir, bool links)
{
	struct dirent *de;
	int err = 0;
	DIR *d = opendir(pin_dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strncmp(de->d_name, "link_", 5) != links)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) && !err)
			err = -errno;
	}
	closedir(d);
	return err;
}

/* Unlinking a link pin detaches its program (nothing else holds the link). */
static int unpin_links(const char *pin_dir)
{
	return unpin_entries(pin_dir, true);
}

/* Links first (detaches the programs), then the maps, then the directory. */
static int unpin_all(const char *pin_dir)
{
	int err = unpin_links(pin_dir), err2 = unpin_entries(pin_dir, false);

	if (rmdir(pin_dir) && !err && !err2)
		return -errno;
	return err ? err : err2;
}

static int track_stop(const struct opts *o)
{
	pid_t pid;
	int err;

	err = check_bpffs(o->pin_dir, true);
	if (err)
		return err;
	pid = live_tracker(o->pin_dir);
	if (pid) {
		pr_info("stopping the tracker (pid %d)", pid);
		if (kill(pid, SIGTERM) == 0 && wait_gone(pid, 5000)) {
			pr_warn("tracker pid %d did not exit within 5 s: killing it", pid);
			kill(pid, SIGKILL);
			wait_gone(pid, 2000);
		}
	}
	err = unpin_all(o->pin_dir);
	if (err)
		return pr_err_ret(err, "cannot unpin everything under %s: %s", o->pin_dir,
				  strerror(-err));
	pr_info("stopped: programs detached, %s removed", o->pin_dir);
	return 0;
}

/* ---- one-shot reconcile ---------------------------------------------------------------- */

static int track_reconcile(const struct opts *o)
{
	struct sockmap *m = NULL;
	__u64 last_fail = 0, swept = 0;
	int err;

	err = check_bpffs(o->pin_dir, true);
	if (err)
		return err;
	err = check_abi(o->pin_dir);
	if (err)
		return err;
	err = sockmap__open(o->pin_dir, &m, NULL);
	if (err)
		return pr_err_ret(err, "cannot open the tracker state under %s: %s", o->pin_dir,
				  strerror(-err));
	err = sockmap__reconcile(m, true, &swept);
	if (err == -ENOENT)
		err = pr_err_ret(err,
				 "no pinned iterator links under %s: start 'crux track' to "
				 "pin them",
				 o->pin_dir);
	else if (err)
		err = pr_err_ret(err, "reconcile failed: %s", strerror(-err));
	else if (sockmap__incomplete(m))
		reconcile_once(m, false, &last_fail); /* reports the map-full count */
	if (!err)
		pr_info("reconciled %s: %llu stale entries swept", o->pin_dir,
			(unsigned long long)swept);
	sockmap__close(m);
	return err;
}

int cmd_track(int argc, char **argv)
{
	struct opts o = { .mode = MODE_RUN,
			  .pin_dir = CRUX_PIN_ROOT,
			  .reconcile_ms = DEFAULT_RECONCILE_MS,
			  .metrics_s = DEFAULT_METRICS_S };
	const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, &o);
	if (err)
		return EXIT_USAGE;
	if (o.verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (geteuid() != 0) {
		pr_err("crux track must run as root: it loads, attaches and pins BPF programs, and "
		       "the pin directory (%s) is root-only (mode 0700)",
		       o.pin_dir);
		return 1;
	}
	libbpf_set_print(libbpf_print);
	switch (o.mode) {
	case MODE_STOP:
		err = track_stop(&o);
		break;
	case MODE_RECONCILE:
		err = track_reconcile(&o);
		break;
	default:
		err = track_run(&o);
		break;
	}
	return err ? 1 : 0;
}
