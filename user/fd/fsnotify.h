/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What inotify.c and fanotify.c share: the file handles /proc/PID/fdinfo shows for each
 * watched inode (fhandle-bytes, fhandle-type, f_handle), turned into CRIU's fh_entry, and
 * reopened with open_by_handle_at() on a mount of the inode's filesystem (found by its
 * device number in /proc/self/mountinfo).
 */
#ifndef CRUX_FSNOTIFY_H
#define CRUX_FSNOTIFY_H

#include <stdint.h>

struct FhEntry;

/*
 * Parse "fhandle-bytes:%x fhandle-type:%x f_handle:HEX" from one fdinfo line into e (its
 * handle array is allocated: free e->handle). 0 or -EINVAL / -ENOMEM.
 */
int fsn_parse_handle(const char *line, struct FhEntry *e);
/* An O_PATH fd of the inode (s_dev as fdinfo shows it: the kernel's major<<20|minor). */
int fsn_open_handle(const struct FhEntry *e, uint32_t s_dev);
/* The mount point of mount id mnt_id in /proc/self/mountinfo (free it); NULL if none. */
char *fsn_mount_path(uint32_t mnt_id);

#endif /* CRUX_FSNOTIFY_H */
