// SPDX-License-Identifier: GPL-2.0-only
/*
 * The table of fd kinds, in the order the dump driver asks them whether an fd is theirs:
 * a kind that claims a subset of another's fds comes before it.
 */
#include "fd.h"
#include "kstate.h"

extern const struct fd_kind fd_reg, fd_pipe, fd_unix, fd_lock;

const struct fd_kind *const fd_kinds[] = {
	&fd_reg, &fd_pipe, &fd_unix,
	&fd_lock, /* not a file kind: the locks held on the others' files, last */
};

const size_t fd_nr_kinds = sizeof(fd_kinds) / sizeof(fd_kinds[0]);

_Static_assert(sizeof(fd_kinds) / sizeof(fd_kinds[0]) <= KSTATE_MAX,
	       "every kind needs a private state slot: raise KSTATE_MAX");

const struct fd_kind *fd_kind_by_type(uint32_t t)
{
	size_t i;

	for (i = 0; i < fd_nr_kinds; i++)
		if (fd_kinds[i]->fd_type == t)
			return fd_kinds[i];
	return NULL;
}
