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
#include "util.h"

enum {
	OPT_NO_MAP = 0x100,
	OPT_PIN_DIR,
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
	"                                     4242 (restore opens a new connection)";

static const struct argp_option options[] = {
	{ "tree", 't', "PID", 0, "root of the tree to dump", 0 },
	{ "images-dir", 'D', "DIR", 0, "image directory (new or empty)", 0 },
	{ "ext-unix-sk", 'x', "INO,...", OPTION_ARG_OPTIONAL,
	  "accept external unix sockets: datagram sockets connected to a named peer, and the "
	  "listed inodes of any type",
	  0 },
	{ "leave-running", 'R', NULL, 0, "resume the tree after the dump instead of killing it",
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

static void finish(struct dump_ctx *ctx, uint64_t t0)
{
	size_t nr_tasks = ctx->tree.n, nr_fds = ctx->n_fds, nr_threads = 0, i;
	char threads[48] = "", kinds[256];
	int err;

	for (i = 0; i < nr_tasks; i++)
		nr_threads += 1 + ctx->tree.tasks[i].n_threads;
	if (nr_threads > nr_tasks)
		snprintf(threads, sizeof(threads), " (%zu threads)", nr_threads);
	if (ctx->opts->leave_running)
		err = pstree_resume(&ctx->tree);
	else
		err = pstree_kill(&ctx->tree);
	if (err)
		pr_warn("could not %s every task: %s", ctx->opts->leave_running ? "resume" : "kill",
			strerror(-err));
	dump_fds_summary(ctx, kinds, sizeof(kinds));
	printf("dumped %zu task%s%s, %zu fds%s, %llu pages in %.1f ms (%s) -> %s\n", nr_tasks,
	       nr_tasks == 1 ? "" : "s", threads, nr_fds, kinds, (unsigned long long)ctx->nr_pages,
	       (double)(now_ns() - t0) / 1e6, ctx->opts->leave_running ? "left running" : "killed",
	       ctx->opts->dir);
}

int cmd_dump(int argc, char **argv)
{
	static const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	struct dump_opts o = { 0 };
	struct dump_ctx ctx = { .opts = &o, .next_id = 1, .dirfd = -1 };
	uint64_t t0 = now_ns();
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, &o);
	if (err)
		return EXIT_USAGE;
	if (o.verbose)
		log_set_level(o.verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (freeze(&ctx)) {
		free(o.ext_inos);
		return 1;
	}
	err = imgdir__create(o.dir, &ctx.dir);
	if (err) {
		pr_err("%s", img_error());
	} else {
		ctx.dirfd = imgdir_fd(ctx.dir);
		err = dump_images(&ctx);
	}
	if (err) {
		img__close(TAKE_PTR(ctx.files_img));
		if (ctx.dir)
			imgdir__abort(ctx.dir);
		ctx.dir = NULL;
		pstree_resume(&ctx.tree);
		pr_err("dump of pid %d failed; every task was resumed as it was, no image was left "
		       "in %s",
		       o.pid, o.dir);
		dump_ctx_free(&ctx);
		free(o.ext_inos);
		return 1;
	}
	finish(&ctx, t0);
	imgdir__close(ctx.dir);
	dump_ctx_free(&ctx);
	free(o.ext_inos);
	return 0;
}
