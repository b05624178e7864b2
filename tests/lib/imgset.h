/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A synthetic image set for tests: two tasks (100, root with ppid 0; 101 with a second
 * thread 102), a log file, a pipe with queued bytes, an internal stream socketpair with
 * queued bytes, a named listener, and a datagram socket whose peer is the external
 * /dev/log (an extern entry in files.img and a crux-ext.img record).
 */
#ifndef CRUX_IMGSET_H
#define CRUX_IMGSET_H

/* Write the set into dir (new or empty) and commit it; 0 or -errno, img_error() says why. */
int imgset_write(const char *dir);

#endif /* CRUX_IMGSET_H */
