/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kind of an open fd, or the refusal that names what it is: the one verdict `crux dump`
 * (user/dump/dump_fds.c) and `crux-map external` (tools/crux_map.c) both reach, so an admin
 * reading crux-map sees the dump's answer. Also the words of an external pipe refusal.
 */
#ifndef CRUX_FD_KIND_H
#define CRUX_FD_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

enum fd_kind {
	FD_KIND_REG = 0, /* regular files, directories, character devices by path */
	FD_KIND_PIPE,
	FD_KIND_UNIX,
	FD_KIND__MAX,
};

/*
 * The kind of fd `fd` of the process behind pidfd, whose /proc link is link and stat st.
 * desc names it in messages ("pid 12 (comm) fd 3"). A socket is copied with pidfd_getfd to
 * read its family: the copy is returned in *stolen (or closed if stolen is NULL).
 * Returns the kind; -EOPNOTSUPP with the refusal in why (crux cannot dump it yet); another
 * -errno with why saying what could not be read.
 */
int fd_kind_of(const char *desc, const char *link, const struct stat *st, int pidfd, int fd,
	       int *stolen, char *why, size_t size);

/*
 * An external pipe: desc holds one end of pipe ino (the read end if rd) and pid holder
 * (comm) outside the tree holds the other end.
 */
void fd_external_pipe_msg(const char *desc, uint64_t ino, bool rd, pid_t holder, const char *comm,
			  char *buf, size_t size);

#endif /* CRUX_FD_KIND_H */
