/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc parsing for one task: maps, stat, status, fdinfo, auxv, links, children.
 * A library-style module: 0 / -errno, no logging above debug. Allocated results are
 * freed by the caller (free(), or proc_vmas_free() for maps).
 */
#ifndef CRUX_PROC_H
#define CRUX_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define PROC_COMM_LEN 16

/* One line of /proc/PID/maps (plus VmFlags from smaps when asked). */
struct proc_vma {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff; /* bytes */
	uint64_t ino;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t prot; /* PROT_* */
	bool shared; /* 's' in the flags column */
	bool deleted; /* path ends in " (deleted)" */
	char *path; /* file path, "[heap]"/"[stack]"/"[vdso]"..., or NULL for anonymous */
	char vmflags[128]; /* smaps VmFlags (" rd wr mr mw me ac"), "" until proc_parse_vmflags() */
};

struct proc_stat {
	char state;
	pid_t ppid;
	pid_t pgid;
	pid_t sid;
	uint32_t flags;
	uint32_t tty_nr; /* controlling terminal's device, 0 if none */
	int num_threads;
	int exit_code; /* a zombie's wait status (field 52), as waitpid() reports it */
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	char comm[PROC_COMM_LEN];
};

#define PROC_MAX_GROUPS 64

struct proc_status {
	uint32_t uid[4]; /* real, effective, saved, fs */
	uint32_t gid[4];
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint64_t sig_pnd, shd_pnd, sig_blk, sig_ign, sig_cgt;
	uint32_t umask;
	int threads;
	pid_t tracer;
	uint32_t seccomp;
	bool no_new_privs;
	int nr_groups;
	uint32_t groups[PROC_MAX_GROUPS];
};

struct proc_fdinfo {
	uint64_t pos;
	uint32_t flags; /* file status flags, octal in fdinfo */
	int mnt_id;
	uint64_t ino;
};

int proc_parse_maps(pid_t pid, struct proc_vma **ret, size_t *ret_n);
void proc_vmas_free(struct proc_vma *v, size_t n);
int proc_parse_stat(pid_t pid, struct proc_stat *ret);
/* Fill v[].vmflags from /proc/PID/smaps (v as proc_parse_maps() returned it). */
int proc_parse_vmflags(pid_t pid, struct proc_vma *v, size_t n);
/* Whether a VmFlags string holds the two-letter mnemonic flag ("lo", "dc"). */
bool proc_vmflag(const char *vmflags, const char *flag);
/*
 * The first process, among those consider() accepts, with an fd whose /proc link reads
 * link ("pipe:[123]", "socket:[45]"): a scan of every /proc/PID/fd. 0 if none; its comm
 * goes to comm ("" if none).
 */
pid_t proc_find_fd_holder(const char *link, bool (*consider)(pid_t pid, void *arg), void *arg,
			  char comm[PROC_COMM_LEN]);
int proc_parse_status(pid_t pid, struct proc_status *ret);
int proc_parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret);
/* auxv as (type, value) words up to and including AT_NULL; *ret_n counts words. */
int proc_read_auxv(pid_t pid, uint64_t **ret, size_t *ret_n);
/* readlink of /proc/PID/<what> ("exe", "cwd", "root", "fd/3"); *ret is malloc'ed. */
int proc_readlink(pid_t pid, const char *what, char **ret);
/* Open fd numbers, ascending. */
int proc_list_fds(pid_t pid, int **ret, size_t *ret_n);
/* Thread ids (/proc/PID/task), ascending. */
int proc_list_threads(pid_t pid, pid_t **ret, size_t *ret_n);
/* Children of every thread of pid (/proc/PID/task/TID/children). */
int proc_list_children(pid_t pid, pid_t **ret, size_t *ret_n);
/* A small /proc/PID/<what> file as one integer ("personality" is hex, others decimal). */
int proc_read_int(pid_t pid, const char *what, int base, long long *ret);
/*
 * The first n resource limits of pid, in RLIMIT_* order, from /proc/PID/limits: prlimit() on
 * a task of another uid needs CAP_SYS_RESOURCE, which root lacks on some hosts.
 */
int proc_read_limits(pid_t pid, struct rlimit *ret, int n);

#endif /* CRUX_PROC_H */
