// SPDX-License-Identifier: GPL-2.0-only
/* /proc parsing: see include/proc.h. The only module besides util.c allowed strtoull. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

#define DELETED_SUFFIX " (deleted)"

static FILE *proc_fopen(pid_t pid, const char *what)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	return fopen(path, "re");
}

void proc_vmas_free(struct proc_vma *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

static int parse_maps_line(char *line, struct proc_vma *v)
{
	unsigned long long s, e, off, ino;
	unsigned maj, min;
	char perms[8];
	int pos = 0;
	char *p;
	size_t l;

	memset(v, 0, sizeof(*v));
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off, &maj, &min, &ino,
		   &pos) < 7)
		return -EIO;
	v->start = s;
	v->end = e;
	v->pgoff = off;
	v->dev_major = maj;
	v->dev_minor = min;
	v->ino = ino;
	v->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	v->shared = perms[3] == 's';
	p = line + pos;
	l = strlen(p);
	if (l && p[l - 1] == '\n')
		p[--l] = 0;
	if (!l)
		return 0;
	if (l > strlen(DELETED_SUFFIX) && !strcmp(p + l - strlen(DELETED_SUFFIX), DELETED_SUFFIX)) {
		v->deleted = true;
		p[l - strlen(DELETED_SUFFIX)] = 0;
	}
	v->path = strdup(p);
	return v->path ? 0 : -ENOMEM;
}

int proc_parse_maps(pid_t pid, struct proc_vma **ret, size_t *ret_n)
{
	_cleanup_fclose_ FILE *f = proc_fopen(pid, "maps");
	struct proc_vma *v = NULL, *nv;
	size_t n = 0, cap = 0;
	char line[PATH_MAX + 128];
	int err;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				proc_vmas_free(v, n);
				return -ENOMEM;
			}
			v = nv;
		}
		err = parse_maps_line(line, &v[n]);
		if (err) {
			proc_vmas_free(v, n);
			return err;
		}
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int proc_parse_vmflags(pid_t pid, struct proc_vma *v, size_t n)
{
	_cleanup_fclose_ FILE *f = proc_fopen(pid, "smaps");
	char line[PATH_MAX + 128];
	size_t cur = n, i;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char *sp = strchr(line, ' '), *dash = strchr(line, '-');

		if (dash && sp && dash < sp && sscanf(line, "%llx-%llx ", &s, &e) == 2) {
			for (cur = n, i = 0; i < n; i++)
				if (v[i].start == s)
					cur = i;
		} else if (cur < n && !strncmp(line, "VmFlags:", 8)) {
			size_t len = strcspn(line + 8, "\n");

			len = MIN(len, sizeof(v[cur].vmflags) - 1);
			memcpy(v[cur].vmflags, line + 8, len);
			v[cur].vmflags[len] = '\0';
		}
	}
	return 0;
}

bool proc_vmflag(const char *vmflags, const char *flag)
{
	const char *p = vmflags;

	while ((p = strstr(p, flag))) {
		if ((p == vmflags || p[-1] == ' ') && (p[2] == ' ' || p[2] == '\0'))
			return true;
		p += 2;
	}
	return false;
}

int proc_parse_stat(pid_t pid, struct proc_stat *ret)
{
	_cleanup_fclose_ FILE *f = proc_fopen(pid, "stat");
	unsigned long long fld[53] = { 0 };
	struct proc_stat st = { 0 };
	char buf[2048], *lp, *rp, *p, *end;
	int i;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		return -EIO;
	/* comm may hold spaces and parentheses: it runs to the last ')' */
	lp = strchr(buf, '(');
	rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp || rp[1] != ' ')
		return -EIO;
	memcpy(st.comm, lp + 1, MIN((size_t)(rp - lp - 1), sizeof(st.comm) - 1));
	st.state = rp[2];
	p = rp + 3;
	for (i = 4; i <= 52 && *p; i++) {
		fld[i] = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end;
	}
	st.ppid = (pid_t)fld[4];
	st.pgid = (pid_t)fld[5];
	st.sid = (pid_t)fld[6];
	st.tty_nr = (uint32_t)fld[7];
	st.flags = (uint32_t)fld[9];
	st.num_threads = (int)fld[20];
	st.start_code = fld[26];
	st.end_code = fld[27];
	st.start_stack = fld[28];
	st.start_data = fld[45];
	st.end_data = fld[46];
	st.start_brk = fld[47];
	st.arg_start = fld[48];
	st.arg_end = fld[49];
	st.env_start = fld[50];
	st.env_end = fld[51];
	st.exit_code = (int)fld[52];
	*ret = st;
	return 0;
}

static void parse_ids(const char *s, uint32_t out[4])
{
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
		out[i] = (uint32_t)strtoul(s, &end, 10);
		s = end;
	}
}

static uint64_t hex64(const char *s)
{
	return strtoull(s, NULL, 16);
}

static void parse_groups(const char *s, struct proc_status *st)
{
	char *end;

	st->nr_groups = 0;
	while (st->nr_groups < PROC_MAX_GROUPS) {
		unsigned long g = strtoul(s, &end, 10);

		if (end == s)
			break;
		st->groups[st->nr_groups++] = (uint32_t)g;
		s = end;
	}
}

int proc_parse_status(pid_t pid, struct proc_status *ret)
{
	_cleanup_fclose_ FILE *f = proc_fopen(pid, "status");
	struct proc_status st = { 0 };
	char line[1024], *v;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		v = strchr(line, ':');
		if (!v)
			continue;
		*v++ = 0;
		if (!strcmp(line, "Uid"))
			parse_ids(v, st.uid);
		else if (!strcmp(line, "Gid"))
			parse_ids(v, st.gid);
		else if (!strcmp(line, "Groups"))
			parse_groups(v, &st);
		else if (!strcmp(line, "Umask"))
			st.umask = (uint32_t)strtoul(v, NULL, 8);
		else if (!strcmp(line, "Threads"))
			st.threads = (int)strtol(v, NULL, 10);
		else if (!strcmp(line, "TracerPid"))
			st.tracer = (pid_t)strtol(v, NULL, 10);
		else if (!strcmp(line, "Seccomp"))
			st.seccomp = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(line, "NoNewPrivs"))
			st.no_new_privs = strtoul(v, NULL, 10) != 0;
		else if (!strcmp(line, "SigPnd"))
			st.sig_pnd = hex64(v);
		else if (!strcmp(line, "ShdPnd"))
			st.shd_pnd = hex64(v);
		else if (!strcmp(line, "SigBlk"))
			st.sig_blk = hex64(v);
		else if (!strcmp(line, "SigIgn"))
			st.sig_ign = hex64(v);
		else if (!strcmp(line, "SigCgt"))
			st.sig_cgt = hex64(v);
		else if (!strcmp(line, "CapInh"))
			st.cap_inh = hex64(v);
		else if (!strcmp(line, "CapPrm"))
			st.cap_prm = hex64(v);
		else if (!strcmp(line, "CapEff"))
			st.cap_eff = hex64(v);
		else if (!strcmp(line, "CapBnd"))
			st.cap_bnd = hex64(v);
		else if (!strcmp(line, "CapAmb"))
			st.cap_amb = hex64(v);
	}
	*ret = st;
	return 0;
}

int proc_parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret)
{
	struct proc_fdinfo fi = { .mnt_id = -1 };
	char what[32], line[256];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(what, sizeof(what), "fdinfo/%d", fd);
	f = proc_fopen(pid, what);
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "pos:", 4))
			fi.pos = strtoull(line + 4, NULL, 10);
		else if (!strncmp(line, "flags:", 6))
			fi.flags = (uint32_t)strtoul(line + 6, NULL, 8);
		else if (!strncmp(line, "mnt_id:", 7))
			fi.mnt_id = (int)strtol(line + 7, NULL, 10);
		else if (!strncmp(line, "ino:", 4))
			fi.ino = strtoull(line + 4, NULL, 10);
	}
	*ret = fi;
	return 0;
}

int proc_read_auxv(pid_t pid, uint64_t **ret, size_t *ret_n)
{
	char path[64];
	uint64_t buf[512];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	size_t words, i;
	uint64_t *out;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	words = (size_t)n / sizeof(uint64_t);
	/* stop after the AT_NULL pair */
	for (i = 0; i + 1 < words; i += 2) {
		if (buf[i] == 0) {
			words = i + 2;
			break;
		}
	}
	out = malloc(words * sizeof(*out) + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, buf, words * sizeof(*out));
	*ret = out;
	*ret_n = words;
	return 0;
}

int proc_readlink(pid_t pid, const char *what, char **ret)
{
	char path[128], buf[PATH_MAX + 1];
	ssize_t n;
	char *s;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	s = strdup(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Numeric entries of a /proc directory, ascending. */
static int list_numeric_dir(const char *path, int **ret, size_t *ret_n)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int *v = NULL, *nv;
	size_t n = 0, cap = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long x;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		x = strtol(de->d_name, &end, 10);
		if (*end)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (int)x;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_int);
	*ret = v;
	*ret_n = n;
	return 0;
}

int proc_list_fds(pid_t pid, int **ret, size_t *ret_n)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	return list_numeric_dir(path, ret, ret_n);
}

int proc_list_threads(pid_t pid, pid_t **ret, size_t *ret_n)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	return list_numeric_dir(path, (int **)ret, ret_n);
}

static int append_children(pid_t pid, pid_t tid, pid_t **v, size_t *n, size_t *cap)
{
	char what[64];
	_cleanup_fclose_ FILE *f = NULL;
	long long c;

	snprintf(what, sizeof(what), "task/%d/children", tid);
	f = proc_fopen(pid, what);
	if (!f)
		return errno == ENOENT ? 0 : -errno; /* thread gone */
	while (fscanf(f, "%lld", &c) == 1) {
		if (*n == *cap) {
			pid_t *nv;

			*cap = *cap ? *cap * 2 : 16;
			nv = realloc(*v, *cap * sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
		}
		(*v)[(*n)++] = (pid_t)c;
	}
	return 0;
}

int proc_list_children(pid_t pid, pid_t **ret, size_t *ret_n)
{
	_cleanup_free_ pid_t *tids = NULL;
	pid_t *v = NULL;
	size_t nt, i, n = 0, cap = 0;
	int err;

	err = proc_list_threads(pid, &tids, &nt);
	if (err)
		return err;
	for (i = 0; i < nt; i++) {
		err = append_children(pid, tids[i], &v, &n, &cap);
		if (err) {
			free(v);
			return err;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int proc_read_int(pid_t pid, const char *what, int base, long long *ret)
{
	_cleanup_fclose_ FILE *f = proc_fopen(pid, what);
	char buf[64], *end;
	long long v;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		return -EIO;
	v = strtoll(buf, &end, base);
	if (end == buf)
		return -EIO;
	*ret = v;
	return 0;
}

/* One column of /proc/PID/limits: "unlimited" or a decimal number. */
static int parse_limit(const char *s, rlim_t *ret)
{
	char word[32];
	uint64_t v;

	if (sscanf(s, "%31s", word) != 1)
		return -EIO;
	if (!strcmp(word, "unlimited")) {
		*ret = RLIM_INFINITY;
		return 0;
	}
	if (parse_u64(word, 0, UINT64_MAX, &v))
		return -EIO;
	*ret = (rlim_t)v;
	return 0;
}

int proc_read_limits(pid_t pid, struct rlimit *ret, int n)
{
	_cleanup_fclose_ FILE *f = proc_fopen(pid, "limits");
	char line[256];
	int i = 0;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) /* the header */
		return -EIO;
	/* fs/proc/base.c proc_pid_limits(): "%-25s %-20s %-20s", in RLIMIT_* order */
	while (i < n && fgets(line, sizeof(line), f)) {
		if (strlen(line) < 48 || parse_limit(line + 26, &ret[i].rlim_cur) ||
		    parse_limit(line + 47, &ret[i].rlim_max))
			return -EIO;
		i++;
	}
	return i == n ? 0 : -EIO;
}

static bool holds_link(pid_t pid, const char *link)
{
	char path[64], buf[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = 0;
		found = !strcmp(buf, link);
	}
	closedir(d);
	return found;
}

pid_t proc_find_fd_holder(const char *link, bool (*consider)(pid_t pid, void *arg), void *arg,
			  char comm[PROC_COMM_LEN])
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t found = 0;

	comm[0] = 0;
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		pid_t pid;

		if (parse_pid(de->d_name, &pid) || !consider(pid, arg))
			continue;
		if (holds_link(pid, link))
			found = pid;
	}
	closedir(d);
	if (found) {
		struct proc_stat st;

		if (!proc_parse_stat(found, &st))
			memcpy(comm, st.comm, PROC_COMM_LEN);
	}
	return found;
}
