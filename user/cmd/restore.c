// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux restore -D DIR`: options, then load and validate everything, then the restore
 * itself (restore/restore_run.c), then wait for the root task or print the pids (-d).
 * All or nothing; the image is only ever read.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "cmd.h"
#include "log.h"
#include "restore.h"
#include "util.h"

#include "mm.pb-c.h"

enum { OPT_EXT_UNIX_SK = 0x100 };

static const struct argp_option options[] = {
	{ "images-dir", 'D', "DIR", 0, "image directory written by crux dump (required)", 0 },
	{ "ext-unix-sk", OPT_EXT_UNIX_SK, NULL, 0,
	  "reconnect external unix sockets to the names recorded at dump", 0 },
	{ "detach", 'd', NULL, 0, "do not wait for the root task; print the restored pids", 0 },
	{ "verbose", 'v', NULL, 0, "more logging (twice: debug)", 0 },
	{ 0 },
};

static const char doc[] =
	"Restore a process tree from an image directory written by crux dump.\n\n"
	"Every task gets its pid, parent, group and session back, its files, pipes and unix "
	"sockets (connected to the same peers, queues refilled), its memory and registers, and "
	"continues where it was dumped. Nothing is created unless every check passes; on a "
	"failure every task crux created is killed and the image is left as it was.\n\n"
	"Without -d crux stays the root task's parent, waits for it and exits with its status "
	"(128+N if killed by signal N). With -d crux exits once the tree runs: the root's "
	"parent becomes init (or the nearest subreaper), and a parent-death signal the root "
	"had at dump fires then."
	"\vEXAMPLES:\n"
	"  crux restore -D /tmp/img                  restore, wait for the root task\n"
	"  crux restore -D /tmp/img -d               restore and print the pids\n"
	"  crux restore -D /tmp/img --ext-unix-sk    reconnect to outside servers\n";

struct args {
	struct rst_opts o;
	int verbose;
};

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct args *a = state->input;

	switch (key) {
	case 'D':
		a->o.dir = arg;
		break;
	case OPT_EXT_UNIX_SK:
		a->o.ext_unix_sk = true;
		break;
	case 'd':
		a->o.detach = true;
		break;
	case 'v':
		a->verbose++;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!a->o.dir)
			argp_error(state, "the image directory is required: -D DIR");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void print_summary(const struct rst_set *set, uint64_t t0)
{
	unsigned long calls = 0, vmas = 0, pages = 0, threads = 0;
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		const struct rst_task *t = &set->tasks[i];

		if (t->zombie)
			continue;
		calls += t->inj.pi.nr_calls;
		vmas += t->mm->n_vmas;
		for (j = 0; j < t->n_runs; j++)
			pages += t->runs[j].nr_pages;
		threads += 1 + t->n_threads;
		for (j = 0; j < t->n_threads; j++)
			calls += t->threads[j].inj.pi.nr_calls;
	}
	pr_info("restored %zu task(s), %lu thread(s): %lu vmas, %lu pages, %zu files, %lu injected "
		"syscalls; images, checks, objects and tree %.2f ms, rebuild %.2f ms, total %.2f ms",
		set->n_tasks, threads, vmas, pages, set->n_files, calls, (set->t_tree - t0) / 1e6,
		(set->t_done - set->t_tree) / 1e6, (now_ns() - t0) / 1e6);
}

static int wait_root(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			pr_perror("cannot wait for pid %d", pid);
			return 1;
		}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	pr_info("pid %d was killed by signal %d", pid, WTERMSIG(st));
	return 128 + WTERMSIG(st);
}

/*
 * Would crux's exit leave process group pg orphaned (no member left with a parent in
 * another group of the same session)? Its members are restored tasks, plus crux and its
 * relatives when it is crux's own group: then the group keeps the link it has unless crux
 * was it (its parent outside the group). Other processes crux cannot see may still link
 * the group, so a true answer means "probably".
 */
static bool orphaned_by_our_exit(const struct rst_set *set, pid_t pg, pid_t sid)
{
	size_t i;

	if (pg == getpgrp() && (getpgid(getppid()) == pg || getsid(getppid()) != sid))
		return false;
	for (i = 1; i < set->n_tasks; i++) {
		pid_t parent = set->tasks[set->tasks[i].parent].pid;

		if (getpgid(set->tasks[i].pid) == pg && getpgid(parent) != pg &&
		    getsid(parent) == sid)
			return false;
	}
	return true;
}

/*
 * With -d crux exits at once. The kernel sends an orphaned process group that holds a
 * stopped task SIGHUP and SIGCONT (POSIX job control, kernel/exit.c kill_orphaned_pgrp()),
 * as to a stopped job whose shell exits: say so for a task restored stopped.
 */
static void warn_stopped_detached(const struct rst_set *set)
{
	pid_t sid = getsid(0), pg;
	size_t i;

	for (i = 0; i < set->n_tasks; i++) {
		const struct rst_task *t = &set->tasks[i];

		if (!rst_task_stopped(t) || getsid(t->pid) != sid)
			continue;
		pg = getpgid(t->pid);
		if (orphaned_by_our_exit(set, pg, sid))
			pr_warn("pid %d was restored stopped, and crux's exit leaves its process "
				"group %d orphaned: the kernel then sends the group SIGHUP and "
				"SIGCONT; restore without -d to keep it stopped",
				t->pid, pg);
	}
}

int cmd_restore(int argc, char **argv)
{
	static const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };
	struct args a = { 0 };
	struct rst_set *set = NULL;
	uint64_t t0 = now_ns();
	pid_t root;
	size_t i;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return EXIT_USAGE;
	log_set_level(a.verbose > 1 ? LOG_LVL_DEBUG : a.verbose ? LOG_LVL_INFO : LOG_LVL_WARN);
	if (rst_load(&a.o, &set))
		return 1;
	if (rst_validate(set)) {
		pr_err("restore refused: %d problem(s) above; nothing was created", set->problems);
		rst_set_free(set);
		return 1;
	}
	err = rst_run(set);
	if (err) {
		pr_err("restore failed; every task it created was killed, the image is unchanged");
		rst_set_free(set);
		return 1;
	}
	root = set->tasks[0].pid;
	print_summary(set, t0);
	if (a.o.detach) {
		warn_stopped_detached(set);
		for (i = 0; i < set->n_tasks; i++)
			printf("%d\n", set->tasks[i].pid);
		fflush(stdout);
		rst_set_free(set);
		return 0;
	}
	rst_set_free(set);
	return wait_root(root);
}
