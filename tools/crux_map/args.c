// SPDX-License-Identifier: GPL-2.0-only
/* crux-map's command line: argp options, commands and their operands (args.h). */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX ""
#include "args.h"
#include "cmd.h"
#include "log.h"
#include "util.h"

enum {
	OPT_PIN_DIR = 256,
	OPT_PID,
	OPT_COMM,
	OPT_NAME,
	OPT_TYPE,
	OPT_STATE,
	OPT_NETNS,
	OPT_EXT_UNIX_SK,
	OPT_PROMETHEUS,
};

static const char doc[] = "crux-map: who talks to whom over unix sockets, from the live BPF map.\n"
			  "\n"
			  "Commands:\n"
			  "  ls            every unix socket (filters below)\n"
			  "  peers PID     the sockets of PID and who is at the other end\n"
			  "  external PID  what a dump of PID and its descendants would meet\n"
			  "  who NAME      who is bound to, and connected to, a path or @name\n"
			  "  watch         connect/accept/close events until interrupted\n"
			  "  stats         map size, generation, last reconcile, counters\n"
			  "\n"
			  "Without a running tracker (crux track) the answers come from a\n"
			  "one-shot kernel snapshot, and crux-map says so on stderr.\n"
			  "\v"
			  "EXAMPLES:\n"
			  "  crux-map ls --name /run/         sockets bound under /run\n"
			  "  crux-map ls --type dgram -j      every datagram socket, as JSON\n"
			  "  crux-map peers 1234              who pid 1234 talks to\n"
			  "  crux-map external 1234           would crux dump -t 1234 succeed?\n"
			  "  crux-map external --ext-unix-sk 1234\n"
			  "                                   ... and with --ext-unix-sk?\n"
			  "  crux-map who /dev/log            syslog's socket and its clients\n"
			  "  crux-map who @/tmp/.X11-unix/X0  an abstract name\n"
			  "  crux-map watch                   live events (Ctrl-C stops)\n"
			  "  crux-map stats --prometheus      the tracker's health for Prometheus\n"
			  "\n"
			  "Exit status: 0 results printed, 1 error, 64 usage.";

static const struct argp_option options[] = {
	{ "json", 'j', NULL, 0, "JSON output (same fields as the table)", 0 },
	{ "no-header", 'H', NULL, 0, "Table without its header line", 0 },
	{ "numeric", 'n', NULL, 0,
	  "ls, peers, who: no name resolution: print the records as they are, without "
	  "looking up peers (names, owners, fds)",
	  0 },
	{ "verbose", 'v', NULL, 0, "More logging on stderr", 0 },
	{ "pin-dir", OPT_PIN_DIR, "DIR", 0, "Tracker state directory (default " CRUX_PIN_ROOT ")",
	  0 },
	{ NULL, 0, NULL, 0, "ls filters:", 1 },
	{ "pid", OPT_PID, "PID", 0, "Sockets held by PID (its open fds)", 1 },
	{ "comm", OPT_COMM, "NAME", 0, "Sockets whose owner's command is NAME", 1 },
	{ "name", OPT_NAME, "PATH|@NAME", 0, "Bound name equal to, or starting with, this", 1 },
	{ "type", OPT_TYPE, "TYPE", 0, "stream, dgram or seqpacket", 1 },
	{ "state", OPT_STATE, "STATE", 0, "listen, established, unconnected or closed", 1 },
	{ "netns", OPT_NETNS, "COOKIE", 0, "Network namespace cookie (the NETNS column)", 1 },
	{ NULL, 0, NULL, 0, "external:", 2 },
	{ "ext-unix-sk", OPT_EXT_UNIX_SK, "INO,...", OPTION_ARG_OPTIONAL,
	  "Evaluate the dump as with crux dump --ext-unix-sk[=INO,...]", 2 },
	{ NULL, 0, NULL, 0, "stats:", 3 },
	{ "prometheus", OPT_PROMETHEUS, NULL, 0,
	  "Prometheus text exposition format (as crux track --metrics-dir writes it)", 3 },
	{ 0 },
};

static const struct {
	const char *name;
	enum cmd cmd;
	int operands; /* required operands */
} commands[] = {
	{ "ls", CMD_LS, 0 },	      { "peers", CMD_PEERS, 1 }, { "external", CMD_EXTERNAL, 1 },
	{ "who", CMD_WHO, 1 },	      { "watch", CMD_WATCH, 0 }, { "stats", CMD_STATS, 0 },
	{ "record", CMD_RECORD, -1 }, /* tests: write a snapshot file of PIDs' trees */
};

static int parse_cmd(struct opts *o, const char *arg, struct argp_state *state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(arg, commands[i].name)) {
			o->cmd = commands[i].cmd;
			o->have_cmd = true;
			return 0;
		}
	}
	argp_error(state, "unknown command '%s' (commands: ls peers external who watch stats)",
		   arg);
	return EINVAL;
}

static int parse_type(const char *arg)
{
	if (!strcmp(arg, "stream"))
		return 1;
	if (!strcmp(arg, "dgram"))
		return 2;
	if (!strcmp(arg, "seqpacket"))
		return 5;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;
	uint64_t v;

	switch (key) {
	case 'j':
		o->json = true;
		break;
	case 'H':
		o->no_header = true;
		break;
	case 'n':
		o->numeric = true;
		break;
	case 'v':
		log_set_level(LOG_LVL_DEBUG);
		break;
	case OPT_PIN_DIR:
		o->pin_dir = arg;
		break;
	case OPT_PID:
		if (parse_pid(arg, &o->f_pid))
			argp_error(state, "--pid '%s': not a process id", arg);
		break;
	case OPT_COMM:
		o->f_comm = arg;
		break;
	case OPT_NAME:
		o->f_name = arg;
		break;
	case OPT_TYPE:
		o->f_type = parse_type(arg);
		if (!o->f_type)
			argp_error(state, "--type '%s': use stream, dgram or seqpacket", arg);
		break;
	case OPT_STATE:
		if (strcmp(arg, "listen") && strcmp(arg, "established") &&
		    strcmp(arg, "unconnected") && strcmp(arg, "closed"))
			argp_error(state,
				   "--state '%s': use listen, established, unconnected or closed",
				   arg);
		o->f_state = arg;
		break;
	case OPT_NETNS:
		if (parse_u64(arg, 1, UINT64_MAX, &v))
			argp_error(state, "--netns '%s': a namespace cookie (a number)", arg);
		o->f_netns = v;
		break;
	case OPT_PROMETHEUS:
		o->prometheus = true;
		break;
	case OPT_EXT_UNIX_SK:
		o->ext_unix_sk = true;
		if (arg && parse_u64_list(arg, (uint64_t **)&o->ext_inos, &o->n_ext_inos))
			argp_error(state, "--ext-unix-sk='%s': a comma-separated list of inodes",
				   arg);
		break;
	case ARGP_KEY_ARG:
		if (!o->have_cmd)
			return parse_cmd(o, arg, state);
		if (o->n_operands == ARRAY_SIZE(o->operands))
			argp_error(state, "too many arguments");
		o->operands[o->n_operands++] = arg;
		o->operand = o->operands[0];
		break;
	case ARGP_KEY_END:
		if (!o->have_cmd)
			argp_error(state,
				   "no command given (ls, peers, external, who, watch, stats)");
		if (o->prometheus && (o->cmd != CMD_STATS || o->json))
			argp_error(state, "--prometheus is an output of 'stats', without -j");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int check_operands(const struct opts *o, pid_t *pid)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].cmd != o->cmd)
			continue;
		if (commands[i].operands >= 0 && o->n_operands != (size_t)commands[i].operands) {
			pr_err("'%s' takes %d argument%s (see crux-map --help)", commands[i].name,
			       commands[i].operands, commands[i].operands == 1 ? "" : "s");
			return -EINVAL;
		}
	}
	if ((o->cmd == CMD_PEERS || o->cmd == CMD_EXTERNAL) && parse_pid(o->operand, pid)) {
		pr_err("'%s' is not a process id", o->operand);
		return -EINVAL;
	}
	if (o->cmd == CMD_WHO && !*o->operand) {
		pr_err("'who' needs a socket name: a path such as /dev/log or @name for an "
		       "abstract one, not ''");
		return -EINVAL;
	}
	return 0;
}

/*
 * argp reads "peers -1" as the option -1: say what is wrong with the operand instead of
 * "invalid option -- '1'".
 */
static bool negative_pid_operand(int argc, char **argv)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(argv[i - 1], "peers") && strcmp(argv[i - 1], "external")) ||
		    a[0] != '-' || !a[1] || strspn(a + 1, "0123456789") != strlen(a + 1))
			continue;
		pr_err("'%s' is not a process id: pids are positive numbers", a);
		return true;
	}
	return false;
}

int crux_map_parse(int argc, char **argv, struct opts *o, pid_t *ret_pid)
{
	struct argp argp = { options, parse_opt, "COMMAND [ARG]", doc, NULL, NULL, NULL };
	int idx = 0;

	if (negative_pid_operand(argc, argv))
		return EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, &idx, o))
		return EXIT_USAGE;
	if (check_operands(o, ret_pid)) {
		free(o->ext_inos);
		o->ext_inos = NULL;
		return EXIT_USAGE;
	}
	return 0;
}
