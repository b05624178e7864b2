// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux show`, in process (so that make check runs it under ASan/UBSan too): the summary of
 * the synthetic image set against tests/data/show.expected, and damaged or incomplete image
 * sets refused with one clear line naming the file and offset.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "imgset.h"
#include "img.h"
#include "tap.h"
#include "util.h"

#define EXPECTED "tests/data/show.expected"

static char tmpdir[] = "/tmp/crux-test-show-XXXXXX";

static char *slurp(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return NULL;
	buf = calloc(1, n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Run `crux show [-j] dir` in this process; its stdout and stderr land in *ret_out, *ret_err. */
static int run_show_opt(const char *opt, const char *dir, char **ret_out, char **ret_err)
{
	char out[600], err[600];
	char *argv[] = { "show", (char *)(opt ?: dir), (char *)(opt ? dir : NULL), NULL };
	int saved[2], fd[2], i, rc;

	snprintf(out, sizeof(out), "%s/stdout", tmpdir);
	snprintf(err, sizeof(err), "%s/stderr", tmpdir);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		saved[i] = dup(i + 1);
		fd[i] = open(i ? err : out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (saved[i] < 0 || fd[i] < 0 || dup2(fd[i], i + 1) < 0)
			tap_bail("cannot redirect output: %s", strerror(errno));
		close(fd[i]);
	}
	rc = cmd_show(opt ? 3 : 2, argv);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		dup2(saved[i], i + 1);
		close(saved[i]);
	}
	*ret_out = slurp(out);
	*ret_err = slurp(err);
	if (!*ret_out || !*ret_err)
		tap_bail("cannot read the output back");
	return rc;
}

static int run_show(const char *dir, char **ret_out, char **ret_err)
{
	return run_show_opt(NULL, dir, ret_out, ret_err);
}

/* A fresh copy of the synthetic set under tmpdir. */
static const char *fresh_set(const char *name)
{
	static char path[600];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (imgset_write(path))
		tap_bail("imgset_write %s: %s", path, img_error());
	return path;
}

/* Replace every "@DIR@" of the expected text by dir. */
static char *expand(const char *tmpl, const char *dir)
{
	size_t n = strlen(tmpl) + 1;
	const char *p;
	char *out, *o;

	for (p = tmpl; (p = strstr(p, "@DIR@")); p += 5)
		n += strlen(dir);
	out = o = malloc(n);
	if (!out)
		tap_bail("out of memory");
	for (p = tmpl; *p;) {
		if (!strncmp(p, "@DIR@", 5)) {
			o = stpcpy(o, dir);
			p += 5;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static void test_summary(void)
{
	_cleanup_free_ char *tmpl = slurp(EXPECTED), *want = NULL, *out = NULL, *err = NULL;
	const char *dir = fresh_set("good");
	int rc;

	if (!ok(tmpl != NULL, "%s is readable (run from the source tree)", EXPECTED))
		return;
	want = expand(tmpl, dir);
	rc = run_show(dir, &out, &err);
	is_int(rc, 0, "show: exit 0 on a good image set");
	is_str(err, "", "show: nothing on stderr");
	if (!is_str(out, want, "show: the summary matches %s", EXPECTED))
		diag("got:\n%s", out);
}

/* JSON from the same printer: the same facts (its structure is checked by show_json.t). */
static void test_json(void)
{
	_cleanup_free_ char *out = NULL, *err = NULL;
	const char *dir = fresh_set("json");
	int rc;

	rc = run_show_opt("-j", dir, &out, &err);
	is_int(rc, 0, "show -j: exit 0");
	is_str(err, "", "show -j: nothing on stderr");
	ok(!strncmp(out, "{\"dir\":", 7) && strstr(out, "}\n") == out + strlen(out) - 2,
	   "show -j: one JSON object on one line");
	ok(strstr(out, "\"external\":{\"peer_name\":\"/dev/log\",\"peer_owner_comm\":"
		       "\"rsyslogd\",\"peer_owner_pid\":1,\"policy\":\"reconnect-dgram\"}") != NULL,
	   "show -j: the external peer of fd 5 with its policy");
	ok(strstr(out, "\"problems\":[]}") != NULL, "show -j: an empty problems array");
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * Damage one file of a fresh set (cut > 0: drop that many bytes at the end; cut < 0: keep
 * only -cut bytes; poke a u32 at poke_at if >= 0); show must exit 1 with one error line.
 */
static void expect_refusal(const char *what, const char *file, off_t cut, off_t poke_at,
			   uint32_t poke, const char *want)
{
	_cleanup_free_ char *out = NULL, *err = NULL;
	const char *dir = fresh_set(what);
	char path[700];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		tap_bail("open %s: %s", path, strerror(errno));
	if (cut < 0 && ftruncate(fd, -cut) < 0)
		tap_bail("truncate %s: %s", path, strerror(errno));
	if (cut > 0 && ftruncate(fd, lseek(fd, 0, SEEK_END) - cut) < 0)
		tap_bail("truncate %s: %s", path, strerror(errno));
	if (poke_at >= 0 && pwrite(fd, &poke, sizeof(poke), poke_at) != sizeof(poke))
		tap_bail("write %s: %s", path, strerror(errno));
	close(fd);
	rc = run_show(dir, &out, &err);
	is_int(rc, 1, "%s: exit 1", what);
	if (!ok(strstr(err, file) && strstr(err, want) && count_lines(err) == 1,
		"%s: one error line naming %s and '%s'", what, file, want))
		diag("stderr: %s", err);
}

static void test_damage(void)
{
	/* inventory.img's sizes and checksums catch them before show parses anything */
	expect_refusal("truncated-mm", "mm-101.img", 7, -1, 0, "truncated");
	expect_refusal("bad-length", "files.img", 0, 8, 0xfffffff0u, "is corrupt");
	expect_refusal("bad-magic", "crux/crux-ext.img", 0, 4, 0x12345678, "is corrupt");
	expect_refusal("short-payload", "sk-queues.img", 2, -1, 0, "truncated");
	expect_refusal("empty-core", "core-102.img", -8, -1, 0, "truncated");
}

static void test_incomplete(void)
{
	_cleanup_free_ char *out = NULL, *err = NULL;
	const char *dir = fresh_set("incomplete");
	char path[700];
	int rc;

	snprintf(path, sizeof(path), "%s/inventory.img", dir);
	unlink(path);
	rc = run_show(dir, &out, &err);
	is_int(rc, 1, "incomplete: exit 1");
	ok(strstr(err, "incomplete") && strstr(err, dir), "incomplete: the error says so");
	is_str(out, "", "incomplete: nothing on stdout");
}

static void test_problems(void)
{
	_cleanup_free_ char *out = NULL, *err = NULL;
	const char *dir = fresh_set("no-pages");
	char path[700];
	int rc;

	snprintf(path, sizeof(path), "%s/pages-2.img", dir);
	unlink(path);
	rc = run_show(dir, &out, &err);
	is_int(rc, 1, "missing pages file: exit 1");
	ok(strstr(err, "pages-2.img is missing") != NULL && count_lines(err) == 1,
	   "missing pages file: one error line naming it");
	free(TAKE_PTR(out));
	free(TAKE_PTR(err));
	dir = fresh_set("added");
	snprintf(path, sizeof(path), "%s/stats-dump", dir);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	rc = run_show(dir, &out, &err);
	is_int(rc, 1, "a file added after the dump: exit 1");
	ok(strstr(err, "stats-dump is not listed in inventory.img") != NULL,
	   "a file added after the dump is named");
	is_str(out, "", "nothing on stdout");
}

/* Flip one byte of path at off (again to undo). */
static void flip(const char *path, off_t off)
{
	uint8_t b;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		tap_bail("read %s: %s", path, strerror(errno));
	b ^= 0xa5;
	if (pwrite(fd, &b, 1, off) != 1)
		tap_bail("write %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * Damage anywhere: flip bytes spread over every CRIU-format and crux file of the set, one at
 * a time, and run show on each result. Whatever the damage, show ends with 0 or 1 (under
 * ASan/UBSan in make check, a bad access aborts the test).
 */
static void test_flips(void)
{
	const char *dir = fresh_set("flips");
	int runs = 0, bad = 0, refused = 0, rc, k;
	char path[800];
	struct dirent *de;
	struct stat st;
	off_t off;
	DIR *d;

	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (!strstr(de->d_name, ".img") || !strncmp(de->d_name, "pages-", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || st.st_size == 0)
			continue;
		for (k = 0; k < 12; k++) {
			_cleanup_free_ char *out = NULL, *err = NULL;

			off = st.st_size * k / 12;
			flip(path, off);
			rc = run_show(dir, &out, &err);
			flip(path, off);
			runs++;
			refused += rc == 1;
			/* UBSan reports and goes on: its report on stderr is the failure. */
			if ((rc != 0 && rc != 1) || strstr(err, "runtime error")) {
				bad++;
				diag("%s offset %lld: exit %d: %s", de->d_name, (long long)off, rc,
				     err);
			}
		}
	}
	if (d)
		closedir(d);
	ok(runs > 200 && bad == 0, "show survives %d one-byte corruptions (%d refused)", runs,
	   refused);
	ok(refused > runs / 2, "most corruptions are noticed");
}

/* LeakSanitizer's switch, present only in the ASan build. */
void __lsan_disable(void) __attribute__((weak));

static void test_usage(void)
{
	char *argv[] = { "show", NULL };
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		dup2(null, 1);
		dup2(null, 2);
		/* argp's usage path leaks two bytes inside glibc (make_hol): not ours */
		if (__lsan_disable)
			__lsan_disable();
		_exit(cmd_show(1, argv));
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == EXIT_USAGE, "no directory: usage, exit 64");
}

/* Remove tmpdir and the image sets in it (one level of subdirectories). */
static void cleanup(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		diag("could not remove %s", tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		tap_bail("mkdtemp: %s", strerror(errno));
	test_summary();
	test_json();
	test_damage();
	test_incomplete();
	test_problems();
	test_usage();
	test_flips();
	cleanup();
	return done_testing();
}
