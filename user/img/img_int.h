/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by img.c and imgdir.c only: the refusal text and opening an image by file name. */
#ifndef CRUX_IMG_INT_H
#define CRUX_IMG_INT_H

#include "img.h"

/* Set img_error() (and log it at debug level); returns err. */
int __attribute__((format(printf, 2, 3))) img_fail(int err, const char *fmt, ...);
int img_open_name(int dirfd, enum img_type t, const char *name, int flags, struct img **ret);

#endif /* CRUX_IMG_INT_H */
