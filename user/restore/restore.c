// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux restore -D DIR`: validate everything first, then create all objects, fork the tree
 * with its pids, rebuild each task by injected syscalls, and let them go. All or nothing:
 * any failure after creation began kills and reaps every task crux created and removes the
 * socket names it bound; the image is only ever read.
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

/* Every VMA of every task: the trampoline hole must miss them all. */
static int pick_hole(struct rst_set *set)
{
	_cleanup_free_ struct inj_range *busy = NULL;
	size_t i, j, n = 0, total = 0;

	for (i = 0; i < set->n_tasks; i++)
		total += set->tasks[i].zombie ? 0 : set->tasks[i].mm->n_vmas;
	busy = calloc(total + 1, sizeof(*busy));
	if (!busy)
		return -ENOMEM;
	for (i = 0; i < set->n_tasks; i++)
		for (j = 0; !set->tasks[i].zombie && j < set->tasks[i].mm->n_vmas; j++) {
			busy[n].start = set->tasks[i].mm->vmas[j]->start;
			busy[n++].end = set->tasks[i].mm->vmas[j]->end;
		}
	return inj_pick_hole(busy, n, &set->tramp);
}

/* The objects need fd numbers above every dumped one: raise the soft limit to the hard. */
static void raise_nofile(struct rst_set *set)
{
	struct rlimit r;

	getrlimit(RLIMIT_NOFILE, &set->nofile);
	r = set->nofile;
	r.rlim_cur = r.rlim_max;
	setrlimit(RLIMIT_NOFILE, &r);
}

/*
 * Tests only: CRUX_TEST_RESTORE_FAIL=PID makes the rebuild of that task fail after its
 * memory and state are back (its threads made), to show that a late failure still kills
 * everything (not a user option).
 */
static int test_fault(const struct rst_task *t)
{
	const char *v = getenv("CRUX_TEST_RESTORE_FAIL");
	pid_t pid;

	if (!v || parse_pid(v, &pid) || pid != t->pid)
		return 0;
	pr_err("pid %d: failing on purpose (CRUX_TEST_RESTORE_FAIL)", t->pid);
	return -ECANCELED;
}

static int rebuild_tasks(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_tasks; i++) {
		struct rst_task *t = &set->tasks[i];

		if (t->zombie)
			continue; /* it exited as the tree was made */
		err = inj_seize(&t->inj, t->pid, set->tramp);
		if (err) {
			pr_err("cannot seize restored pid %d: %s", t->pid, strerror(-err));
			return err;
		}
		err = rst_task_memory(set, t);
		if (!err)
			err = rst_task_state(set, t);
		if (!err)
			err = test_fault(t);
		if (err)
			return err;
	}
	/* The kinds' last steps in the controller, while every task is still held. */
	err = rst_files_finish(set);
	if (err)
		return err;
	/* Only when every task is rebuilt does any of them run again. */
	for (i = set->n_tasks; i-- > 0;) {
		if (set->tasks[i].zombie)
			continue;
		err = rst_task_finish(set, &set->tasks[i]);
		if (!err)
			err = rst_threads_finish(set, &set->tasks[i]);
		if (err)
			return err;
	}
	return 0;
}

static int do_restore(struct rst_set *set)
{
	int err;

	raise_nofile(set);
	set->sync_fd = -1;
	err = pick_hole(set);
	if (err) {
		pr_err("no free address range for the restore trampoline");
		return err;
	}
	err = inj_tramp_map(set->tramp);
	if (err) {
		pr_err("cannot map the restore trampoline: %s", strerror(-err));
		return err;
	}
	err = rst_files_create(set);
	if (!err)
		err = rst_tree_create(set);
	rst_files_close(set); /* the tasks hold their own copies now */
	inj_tramp_unmap(set->tramp);
	set->t_tree = now_ns();
	if (!err)
		err = rebuild_tasks(set);
	set->t_done = now_ns();
	if (err) {
		rst_tree_kill(set);
		rst_files_abort(set);
		return err;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	setrlimit(RLIMIT_NOFILE, &set->nofile);
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
	err = do_restore(set);
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
