// SPDX-License-Identifier: GPL-2.0-only
/*
 * nftables lock of external TCP connections (netlock.h). The rules live in a table of
 * their own at a priority before conntrack and any filter chain (-400 < raw), so that no
 * other ruleset can let a packet through first, and removing the lock is removing the
 * table, which touches nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "netlock: "
#include "log.h"
#include "netlock.h"
#include "util.h"

struct netlock {
	char name[64];
	size_t n;
	char *conns; /* "a -> b, ..." for the report */
	bool installed;
};

/* Feed script to `nft -f -`; 0, or -EIO with nft's stderr already on ours. */
static int nft_run(const char *script)
{
	int p[2], st;
	pid_t pid;
	size_t len = strlen(script);

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		dup2(p[0], 0);
		execlp("nft", "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	if (write(p[1], script, len) != (ssize_t)len)
		st = -errno;
	close(p[1]);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

static void rule(FILE *f, const char *dir, const struct inet_ep *a, const struct inet_ep *b)
{
	char sa[64], da[64];
	const char *ip = a->family == AF_INET ? "ip" : "ip6";

	inet_ep_text(a, sa, sizeof(sa));
	inet_ep_text(b, da, sizeof(da));
	/* inet_ep_text adds ":port": cut it, the port goes into its own match */
	*strrchr(sa, ':') = '\0';
	*strrchr(da, ':') = '\0';
	if (a->family == AF_INET6) {
		memmove(sa, sa + 1, strlen(sa));
		sa[strlen(sa) - 1] = '\0';
		memmove(da, da + 1, strlen(da));
		da[strlen(da) - 1] = '\0';
	}
	fprintf(f, "\t\t%s saddr %s %s daddr %s tcp sport %u tcp dport %u drop # %s\n", ip, sa, ip,
		da, a->port, b->port, dir);
}

int netlock__new(pid_t pid, const struct netlock_conn *c, size_t n, struct netlock **ret)
{
	_cleanup_free_ char *script = NULL;
	size_t len = 0, clen = 0, i;
	struct netlock *l;
	FILE *f, *cf;
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(l->name, sizeof(l->name), "crux-lock-%d", pid);
	l->n = n;
	f = open_memstream(&script, &len);
	cf = open_memstream(&l->conns, &clen);
	if (!f || !cf) {
		if (f)
			fclose(f);
		if (cf)
			fclose(cf);
		netlock__free(l);
		return -ENOMEM;
	}
	fprintf(f, "table inet %s {\n", l->name);
	fprintf(f, "\tchain in {\n\t\ttype filter hook input priority -400; policy accept;\n");
	for (i = 0; i < n; i++)
		rule(f, "from the peer", &c[i].dst, &c[i].src);
	fprintf(f, "\t}\n\tchain out {\n\t\ttype filter hook output priority -400; "
		   "policy accept;\n");
	for (i = 0; i < n; i++) {
		char a[64], b[64];

		rule(f, "to the peer", &c[i].src, &c[i].dst);
		fprintf(cf, "%s%s <-> %s", i ? ", " : "", inet_ep_text(&c[i].src, a, sizeof(a)),
			inet_ep_text(&c[i].dst, b, sizeof(b)));
	}
	fprintf(f, "\t}\n}\n");
	fclose(f);
	fclose(cf);
	err = nft_run(script);
	if (err) {
		pr_err("cannot lock the traffic of %s with nftables (table inet %s): %s", l->conns,
		       l->name,
		       err == -ENOENT ? "nft not found: install Debian's nftables" :
					"nft failed (its message is above)");
		netlock__free(l);
		return err;
	}
	l->installed = true;
	*ret = l;
	return 0;
}

const char *netlock_name(const struct netlock *l)
{
	return l ? l->name : NULL;
}

void netlock_report(const struct netlock *l)
{
	if (!l)
		return;
	pr_warn("the traffic of %zu external TCP connection%s (%s) is dropped by the nftables "
		"table inet %s until restore removes it; if the image is never restored, "
		"unlock with: nft delete table inet %s",
		l->n, l->n == 1 ? "" : "s", l->conns, l->name, l->name);
}

void netlock__remove(struct netlock *l)
{
	if (!l || !l->installed)
		return;
	if (!netlock_unlock(l->name))
		l->installed = false;
}

void netlock__free(struct netlock *l)
{
	if (!l)
		return;
	free(l->conns);
	free(l);
}

int netlock_unlock(const char *table)
{
	char script[128];
	int err;

	if (!table || !table[0])
		return 0;
	snprintf(script, sizeof(script), "delete table inet %s\n", table);
	err = nft_run(script);
	if (err)
		pr_err("cannot delete the nftables table inet %s: %s; delete it with: nft delete "
		       "table inet %s",
		       table, strerror(-err), table);
	return err;
}
