/* SPDX-License-Identifier: GPL-2.0-only */
/* crux-map's command line, parsed into struct opts (no globals: main passes it down). */
#ifndef CRUX_MAP_ARGS_H
#define CRUX_MAP_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "abi.h"

enum cmd { CMD_LS, CMD_PEERS, CMD_EXTERNAL, CMD_WHO, CMD_WATCH, CMD_STATS, CMD_RECORD };

struct opts {
	enum cmd cmd;
	bool have_cmd;
	const char *operand; /* PID or NAME */
	char *operands[64];
	size_t n_operands;
	bool json, no_header, numeric, prometheus;
	const char *pin_dir;
	/* ls filters */
	pid_t f_pid;
	const char *f_comm, *f_name, *f_state;
	int f_type; /* 0: any */
	__u64 f_netns;
	/* external: the dump policy to evaluate */
	bool ext_unix_sk;
	__u64 *ext_inos;
	size_t n_ext_inos;
};

/*
 * Parse argv into *o (zeroed by the caller) and check the command's operands; *ret_pid is
 * the PID operand of peers and external. 0, or EXIT_USAGE after a message.
 */
int crux_map_parse(int argc, char **argv, struct opts *o, pid_t *ret_pid);

#endif /* CRUX_MAP_ARGS_H */
