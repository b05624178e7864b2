/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Topology builders for the BPF and e2e tests: holder processes (forked children that
 * die with the test: PR_SET_PDEATHSIG), a tiny report/command protocol over pipes, unix
 * socket helpers taking binary names, and sockets spread over many processes (the
 * open-file limit is 20000 per process).
 */
#ifndef CRUX_TOPO_H
#define CRUX_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/types.h>

/* A holder process, seen from the parent. */
struct topo_proc {
	pid_t pid;
	int cmd_fd; /* parent -> child: command bytes; EOF tells the child to exit */
	int rep_fd; /* child -> parent: reports (u32 count + count u64 values) */
};

/* The child's ends, handed to the body function. */
struct topo_child {
	int cmd_fd;
	int rep_fd;
};

/*
 * Body of a holder: build something, topo_report() it, then serve topo_wait_cmd() until EOF.
 * Its return value is the child's exit status.
 */
typedef int (*topo_fn)(struct topo_child *c, void *arg);

/*
 * Fork a holder running fn(arg). Unless inherit, the child first closes every fd but
 * 0-2 and its pipes, so it holds no extra reference to the parent's sockets. 0 or -errno.
 */
int topo_proc_start(struct topo_proc *p, topo_fn fn, void *arg, bool inherit);
/* Wait for the next report: up to max values into vals; returns the count or -errno. */
int topo_recv(struct topo_proc *p, __u64 *vals, size_t max);
/* Send one command byte. */
int topo_send_cmd(struct topo_proc *p, char cmd);
/* Send a command and wait for its report (convenience). Returns the count or -errno. */
int topo_cmd(struct topo_proc *p, char cmd, __u64 *vals, size_t max);
/* Close the command pipe and reap the child; returns its exit status or -errno. */
int topo_proc_finish(struct topo_proc *p);
/* SIGKILL and reap; safe on a zeroed or already finished proc. */
void topo_proc_kill(struct topo_proc *p);

/* Child side. */
int topo_report(struct topo_child *c, const __u64 *vals, size_t n);
/* The next command byte, or -1 at EOF (the parent is done: exit). */
int topo_wait_cmd(struct topo_child *c);

/* Inode of a socket (or any) fd, 0 on error. */
__u64 topo_ino(int fd);
/* Fill a sockaddr_un from a binary name; returns the address length. */
struct sockaddr_un;
socklen_t topo_addr(struct sockaddr_un *sa, const char *name, size_t len);
/* Socket bound to name (len bytes, abstract when name[0] == 0), listening if backlog > 0. */
int topo_bound(int type, const char *name, size_t len, int backlog);
/* Socket connected to name. */
int topo_connected(int type, const char *name, size_t len);
/* Path names under a private temp dir: "<dir>/<tag>" in buf; the dir is created once. */
const char *topo_path(char *buf, size_t size, const char *tag);
/* Remove the temp dir and everything under it. */
void topo_path_cleanup(void);

/* SCM_RIGHTS: send n fds with one byte of data; receive up to max fds. */
int topo_send_fds(int sock, const int *fds, int n);
int topo_recv_fds(int sock, int *fds, int max);

/* Raise RLIMIT_NOFILE to its hard limit; returns the new soft limit or -errno. */
long topo_raise_nofile(void);

/*
 * Many sockets: `nprocs` holders with `pairs` socketpairs each (a mix of types), alive
 * until topo_spread_stop(). procs must hold nprocs entries.
 */
int topo_spread(struct topo_proc *procs, int nprocs, int pairs);
void topo_spread_stop(struct topo_proc *procs, int nprocs);

/* A set of socket inodes a test created (closed ones stay: they must be gone from the map). */
struct topo_set {
	__u64 *inos;
	size_t n, cap;
};
int topo_set_add(struct topo_set *s, __u64 ino);
/* Add the inode of fd; returns it (0 on error). */
__u64 topo_set_add_fd(struct topo_set *s, int fd);
void topo_set_free(struct topo_set *s);

#endif /* CRUX_TOPO_H */
