// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux dump`: options, then freeze the tree, write the images (dump/dump_images.c: it
 * checks the tree is self-contained first), then kill or resume it. Any failure after the
 * freeze resumes every task as it was and removes the half-written image directory.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_PREFIX "dump: "
#include "abi.h"
#include "cmd.h"
#include "dump.h"
#include "img.h"
#include "log.h"
#include "pstree.h"
#include "trackmem.h"
#include "util.h"

enum {
	OPT_NO_MAP = 0x100,
	OPT_PIN_DIR,
	OPT_TRACK_MEM,
	OPT_PREV_DIR,
};

static const char doc[] =
	"Checkpoint a process and all its descendants into an image directory.\v"
	"The tree is frozen with ptrace, checked for self-containment (no pipe or unix "
	"socket whose other end is held outside the tree, unless --ext-unix-sk accepts it), "
	"written in CRIU's image format, then killed (default) or resumed.\n\n"
	"EXAMPLES:\n"
	"  crux dump -t 1234 -D /tmp/img      dump pid 1234 and its children, kill them\n"
	"  crux dump -t 1234 -D /tmp/img -R   the same, leave them running\n"
	"  crux dump -t 1234 -D /tmp/img --ext-unix-sk\n"
	"                                     accept datagram sockets connected to a\n"
	"                                     named outside server (e.g. /dev/log)\n"
	"  crux dump -t 1234 -D /tmp/img --ext-unix-sk=4242\n"
	"                                     also accept the stream socket of inode\n"
	"                                     4242 (restore opens a new connection)\n"
	"  crux dump -t 1234 -D /tmp/1 -R --track-mem\n"
	"  crux dump -t 1234 -D /tmp/2 -R --track-mem --prev-images-dir ../1\n"
	"                                     the second dump writes only the pages\n"
	"                                     written since the first";

static const struct argp_option options[] = {
	{ "tree", 't', "PID", 0, "root of the tree to dump", 0 },
	{ "images-dir", 'D', "DIR", 0, "image directory (new or empty)", 0 },
	{ "ext-unix-sk", 'x', "INO,...", OPTION_ARG_OPTIONAL,
	  "accept external unix sockets: datagram sockets connected to a named peer, and the "
	  "listed inodes of any type",
	  0 },
	{ "leave-running", 'R', NULL, 0, "resume the tree after the dump instead of killing it",
	  0 },
	{ "track-mem", OPT_TRACK_MEM, NULL, 0,
	  "track the pages the tree writes from now on (kept between dumps with -R), for a later "
	  "--prev-images-dir dump",
	  0 },
	{ "prev-images-dir", OPT_PREV_DIR, "DIR", 0,
	  "write only pages written since the dump in DIR (relative to -D); the rest is taken "
	  "from DIR at restore",
	  0 },
	{ "no-map", OPT_NO_MAP, NULL, 0,
	  "do not use the live map of `crux track`; take a one-shot snapshot", 0 },
	{ "pin-dir", OPT_PIN_DIR, "DIR", 0,
	  "where `crux track` pinned the live map (default " CRUX_PIN_ROOT ")", 0 },
	{ "verbose", 'v', NULL, 0, "more logging (repeat for debug)", 0 },
	{ 0 },
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct dump_opts *o = state->input;
	int err;

	switch (key) {
	case 't':
		if (parse_pid(arg, &o->pid)) {
			pr_err("invalid pid '%s': expected a process id such as 1234", arg);
			argp_usage(state);
		}
		break;
	case 'D':
		if (!*arg) {
			pr_err("empty image directory name: -D needs a directory, such as /tmp/img");
			argp_usage(state);
		}
		o->dir = arg;
		break;
	case 'x':
		o->ext_unix_sk = true;
		if (!arg)
			break;
		err = parse_u64_list(arg, &o->ext_inos, &o->n_ext_inos);
		if (err) {
			pr_err("invalid --ext-unix-sk list '%s': expected socket inodes such as "
			       "4242,4243",
			       arg);
			argp_usage(state);
		}
		break;
	case 'R':
		o->leave_running = true;
		break;
	case OPT_NO_MAP:
		o->no_map = true;
		break;
	case OPT_TRACK_MEM:
		o->track_mem = true;
		break;
	case OPT_PREV_DIR:
		o->prev_dir = arg;
		break;
	case OPT_PIN_DIR:
		o->pin_dir = arg;
		break;
	case 'v':
		o->verbose++;
		break;
	case ARGP_KEY_ARG:
		pr_err("unexpected argument '%s'", arg);
		argp_usage(state);
		break;
	case ARGP_KEY_END:
		if (!o->pid) {
			pr_err("no process given: use -t PID");
			argp_usage(state);
		}
		if (!o->dir) {
			pr_err("no image directory given: use -D DIR");
			argp_usage(state);
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- the driver ---- */

static int freeze(struct dump_ctx *ctx)
{
	const char *why = NULL;
	pid_t bad = 0;
	int err;

	err = pstree_freeze(ctx->opts->pid, &ctx->tree, &why, &bad);
	if (!err) {
		pr_debug("froze %zu task(s) in %d pass(es), %d attempt(s)", ctx->tree.n,
			 ctx->tree.passes, ctx->tree.attempts);
		return 0;
	}
	if (err == -ESRCH && bad == ctx->opts->pid)
		pr_err("no process %d (or it exited while being frozen): check the pid", bad);
	else if (why)
		pr_err("cannot dump pid %d: task %d %s; the tree was left running", ctx->opts->pid,
		       bad, why);
	else
		pr_err("cannot freeze task %d of the tree of pid %d: %s; the tree was left running",
		       bad, ctx->opts->pid, strerror(-err));
	return err;
}

/* ", 12 pages copied, 3000 in the parent (frozen 4.1 ms)" */
static void summary_tail(const struct dump_ctx *ctx, char *buf, size_t size)
{
	const struct trackmem *tm = ctx->track;
	size_t l = 0;

	buf[0] = 0;
	if (tm->prev_fd >= 0)
		l = (size_t)snprintf(buf, size, ", %llu in the parent (%zu mappings copied whole)",
				     (unsigned long long)tm->pages_parent, tm->vmas_whole);
	if (l < size)
		snprintf(buf + l, size - l, ", frozen %.1f ms", (double)ctx->t_frozen / 1e6);
}

static void finish(struct dump_ctx *ctx, uint64_t t0)
{
	size_t nr_tasks = ctx->tree.n, nr_fds = ctx->n_fds, nr_threads = 0, i;
	char threads[48] = "", kinds[256], tail[128];
	int err;

	for (i = 0; i < nr_tasks; i++)
		nr_threads += 1 + ctx->tree.tasks[i].n_threads;
	if (nr_threads > nr_tasks)
		snprintf(threads, sizeof(threads), " (%zu threads)", nr_threads);
	/* a killed tree never runs again: its freeze ends when the kill is sent */
	ctx->t_frozen = now_ns() - ctx->t_freeze;
	if (ctx->opts->leave_running)
		err = pstree_resume(&ctx->tree);
	else
		err = pstree_kill(&ctx->tree);
	if (ctx->opts->leave_running)
		ctx->t_frozen = now_ns() - ctx->t_freeze;
	if (err)
		pr_warn("could not %s every task: %s", ctx->opts->leave_running ? "resume" : "kill",
			strerror(-err));
	dump_fds_summary(ctx, kinds, sizeof(kinds));
	summary_tail(ctx, tail, sizeof(tail));
	printf("dumped %zu task%s%s, %zu fds%s, %llu pages%s in %.1f ms (%s) -> %s\n", nr_tasks,
	       nr_tasks == 1 ? "" : "s", threads, nr_fds, kinds, (unsigned long long)ctx->nr_pages,
	       tail, (double)(now_ns() - t0) / 1e6,
	       ctx->opts->leave_running ? "left running" : "killed", ctx->opts->dir);
}

static void say_holder(const struct dump_ctx *ctx)
{
	if (ctx->track->holder_pid)
		printf("memory tracking of pid %d kept by crux-trackmem pid %d\n",
		       ctx->tree.tasks[0].pid, ctx->track->holder_pid);
}

/* A failed dump: every task resumed untouched, no image, tracking released. */
static int fail(struct dump_ctx *ctx, const char *what)
{
	img__close(TAKE_PTR(ctx->files_img));
	if (ctx->dir)
		imgdir__abort(ctx->dir);
	ctx->dir = NULL;
	pstree_resume(&ctx->tree);
	tm_end(ctx->track, ctx->tree.tasks[0].pid, false);
	pr_err("%s of pid %d failed; every task was resumed as it was, no image was left in %s",
	       what, ctx->opts->pid, ctx->opts->dir);
	return 1;
}

static int start(struct dump_ctx *ctx)
{
	int err;

	ctx->t_freeze = now_ns();
	if (freeze(ctx))
		return -1;
	err = imgdir__create(ctx->opts->dir, &ctx->dir);
	if (err) {
		pr_err("%s", img_error());
		return err;
	}
	ctx->dirfd = imgdir_fd(ctx->dir);
	return tm_begin(ctx, ctx->track, ctx->opts->dir);
}

int cmd_dump(int argc, char **argv)
{
	static const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	struct dump_opts o = { 0 };
	struct trackmem tm = { .prev_fd = -1 };
	struct dump_ctx ctx = { .opts = &o, .next_id = 1, .dirfd = -1, .track = &tm };
	uint64_t t0 = now_ns();
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, &o);
	if (err)
		return EXIT_USAGE;
	if (o.verbose)
		log_set_level(o.verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	tm.arm = o.track_mem;
	tm.keep = o.track_mem && o.leave_running;
	tm.prev_arg = o.prev_dir;
	/* loading the BPF iterators costs ~0.1 s: not while the tree is frozen */
	dump_treeiter(&ctx);
	err = start(&ctx);
	if (err == -1) {
		free(o.ext_inos);
		return 1;
	}
	if (!err)
		err = dump_images(&ctx);
	if (err) {
		err = fail(&ctx, "dump");
	} else {
		finish(&ctx, t0);
		imgdir__close(ctx.dir);
		tm_end(&tm, ctx.tree.tasks[0].pid, true);
		say_holder(&ctx);
	}
	dump_ctx_free(&ctx);
	free(o.ext_inos);
	return err;
}

/* ---- crux pre-dump ---- */

static const char pre_doc[] =
	"Copy the memory of a running process tree ahead of a dump.\v"
	"The tree is frozen only to arm memory tracking and read its page list; the pages are "
	"copied while it runs again. A later `crux dump --prev-images-dir` (or another "
	"pre-dump) then copies only the pages written since, which shortens its freeze. The "
	"directory holds memory only: restore from the final dump.\n\n"
	"EXAMPLE:\n"
	"  crux pre-dump -t 1234 -D /tmp/pre\n"
	"  crux dump -t 1234 -D /tmp/img --prev-images-dir ../pre --track-mem -R";

static const struct argp_option pre_options[] = {
	{ "tree", 't', "PID", 0, "root of the tree", 0 },
	{ "images-dir", 'D', "DIR", 0, "image directory (new or empty)", 0 },
	{ "track-mem", OPT_TRACK_MEM, NULL, 0, "accepted for CRIU's command line: always on", 0 },
	{ "prev-images-dir", OPT_PREV_DIR, "DIR", 0,
	  "copy only pages written since the (pre-)dump in DIR (relative to -D)", 0 },
	{ "verbose", 'v', NULL, 0, "more logging (repeat for debug)", 0 },
	{ 0 },
};

int cmd_pre_dump(int argc, char **argv)
{
	static const struct argp argp = { pre_options, parse_opt, NULL, pre_doc, NULL, NULL, NULL };
	struct dump_opts o = { .leave_running = true, .track_mem = true, .pre_dump = true };
	struct trackmem tm = { .prev_fd = -1, .arm = true, .keep = true };
	struct dump_ctx ctx = { .opts = &o, .next_id = 1, .dirfd = -1, .track = &tm };
	uint64_t t0 = now_ns();
	char tail[128];
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return EXIT_USAGE;
	if (o.verbose)
		log_set_level(o.verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	tm.prev_arg = o.prev_dir;
	err = start(&ctx);
	if (err == -1)
		return 1;
	if (!err)
		err = dump_pre_images(&ctx);
	if (err) {
		err = fail(&ctx, "pre-dump");
	} else {
		summary_tail(&ctx, tail, sizeof(tail));
		printf("pre-dumped %zu task%s, %llu pages%s in %.1f ms -> %s\n", ctx.tree.n,
		       ctx.tree.n == 1 ? "" : "s", (unsigned long long)ctx.nr_pages, tail,
		       (double)(now_ns() - t0) / 1e6, o.dir);
		imgdir__close(ctx.dir);
		tm_end(&tm, ctx.tree.tasks[0].pid, true);
		say_holder(&ctx);
	}
	dump_ctx_free(&ctx);
	return err;
}
