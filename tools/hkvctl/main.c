/* SPDX-License-Identifier: MIT */
/*
 * main.c - hkvctl: run one Redis command against an hkvfs data directory.
 *
 *   hkvctl [-d DATA_DIR] [--sync POLICY] [--raw|--no-raw] COMMAND [ARG...]
 *
 * Every store command goes through the command layer's table (hkv/server.h), by one of two
 * doors chosen at run time:
 *   - the store is free: hkvctl opens it, runs the command in-process (local.c) and closes
 *     it (open time does not depend on the number of keys);
 *   - a daemon holds it (hkv_open() says -EBUSY): the same words go as RESP to the daemon's
 *     socket DATA_DIR/hkvfs.sock (remote.c).
 * Both give one RESP reply, printed by reply.c: the same command prints the same bytes and
 * exits with the same status through either door.
 *
 * hkvctl's own verbs are spelt as table commands, so they too work through both doors:
 * `stat` is HKVFS STATS, `compact [--all]` is HKVFS COMPACT [ALL]. `kernel ...` talks to
 * /dev/hkv (kernel.c) and `help` asks the table (help.c); neither opens the store.
 *
 * `set KEY - ...` takes the value from standard input: stdin is read whole, before the store
 * is opened (a slow producer never holds the store's lock), and its bytes replace the "-".
 *
 * Exit status: 0 success (a nil reply included), 1 the command failed, 2 bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hkvctl.h"
#ifdef HKV_HAVE_KERNEL
#include "kernel.h"
#endif

/* Read all of stdin into *@data, *@len. Return: NULL or an error reply. */
static struct hkv_resp_value *read_stdin(char **data, size_t *len)
{
	size_t n = 0, cap = 65536;
	char *buf = xmalloc(cap);
	ssize_t r;

	for (;;) {
		if (n == cap) {
			if (cap > HKV_VALUE_MAX) {
				free(buf);
				return ctl_error("ERR string exceeds maximum allowed size");
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return ctl_error("ERR reading stdin: %s", strerror(errno));
		}
		n += (size_t)r;
	}
	*data = buf;
	*len = n;
	return NULL;
}

/*
 * Replies that are text for a human: printed as they are, as redis-cli prints them. Matched on
 * the command name and, when given, its first argument.
 */
static bool is_raw_text(int argc, char **argv)
{
	static const struct {
		const char *cmd, *sub;
	} raw[] = {
		{ "info", NULL },	  { "lolwut", NULL },	    { "client", "list" },
		{ "client", "info" },	  { "memory", "doctor" },   { "memory", "malloc-stats" },
		{ "latency", "doctor" },  { "hkvfs", "stats" },     { "hkvfs", "config" },
	};
	size_t i;

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		if (!strcasecmp(argv[0], raw[i].cmd) &&
		    (!raw[i].sub || (argc > 1 && !strcasecmp(argv[1], raw[i].sub))))
			return true;
	return false;
}

/*
 * Commands whose replies do not fit one request, one reply: a subscription keeps pushing
 * messages, CLIENT REPLY OFF|SKIP answers nothing. Refused before either door is chosen, so
 * both refuse alike (the daemon would otherwise accept them and hkvctl wait or cut them off).
 */
static bool needs_connection(int argc, char **argv)
{
	return !strcasecmp(argv[0], "subscribe") || !strcasecmp(argv[0], "psubscribe") ||
	       !strcasecmp(argv[0], "ssubscribe") ||
	       (argc > 1 && !strcasecmp(argv[0], "client") && !strcasecmp(argv[1], "reply"));
}

/* hkvctl's verbs that are spelt as HKVFS subcommands. */
static const char *const stat_argv[] = { "HKVFS", "STATS" };
static const char *const compact_argv[] = { "HKVFS", "COMPACT", "ALL" };

/*
 * Turn `stat` and `compact [--all]` into their HKVFS requests in @words (which has room for 3).
 * Return: the new word count, 0 when @argv is not one of them, -1 when its arity is wrong.
 */
static int map_verb(int argc, char **argv, char **words)
{
	int i;

	if (!strcasecmp(argv[0], "stat")) {
		if (argc != 1)
			return -1;
		for (i = 0; i < 2; i++)
			words[i] = (char *)stat_argv[i];
		return 2;
	}
	if (!strcasecmp(argv[0], "compact")) {
		if (argc > 2)
			return -1;
		for (i = 0; i < 3; i++)
			words[i] = (char *)compact_argv[i];
		/* anything but --all goes on as it is, for HKVFS COMPACT to refuse */
		if (argc == 2 && strcmp(argv[1], "--all"))
			words[2] = argv[1];
		return argc + 1;
	}
	return 0;
}

static void verb_usage(FILE *f, const char *verb)
{
	if (!strcasecmp(verb, "stat"))
		fputs("Usage: hkvctl stat\n", f);
	else if (!strcasecmp(verb, "compact"))
		fputs("Usage: hkvctl compact [--all]\n", f);
	else
		ctl_usage_line(f, verb, strlen(verb));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "sync", required_argument, NULL, 's' },
		{ "raw", no_argument, NULL, 'r' },
		{ "no-raw", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_ctx ctx = { .dir = getenv("HKV_DIR"), .sync = HKV_SYNC_EVERYSEC };
	struct hkv_resp_value *r = NULL;
	struct ctl_cmdinfo info;
	struct ctl_req req;
	char *words[3], *input = NULL;
	size_t *lens;
	int tty = isatty(STDOUT_FILENO);
	bool usage_error = false;
	int opt, status, cargc, mapped, i;
	char **cargv;

	while ((opt = getopt_long(argc, argv, "+d:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			ctx.dir = optarg;
			break;
		case 's':
			if (hkv_sync_parse(optarg, &ctx.sync)) {
				fputs("hkvctl: --sync must be always, everysec or none\n", stderr);
				return CTL_EXIT_USAGE;
			}
			ctx.sync_given = true;
			break;
		case 'r':
			tty = 0;
			break;
		case 'R':
			tty = 1;
			break;
		case 'h':
			return ctl_help(stdout, NULL);
		case 'V':
			puts("hkvctl " HKVCTL_VERSION);
			return CTL_EXIT_OK;
		default:
			fputs("Try 'hkvctl --help'.\n", stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		ctl_help(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	cargc = argc - optind;
	cargv = argv + optind;

	if (!strcasecmp(cargv[0], "help"))
		return ctl_help(stdout, cargc > 1 ? cargv[1] : NULL);
	if (!strcasecmp(cargv[0], "kernel")) {
		/* its own sub-commands, options, output and exit status */
#ifdef HKV_HAVE_KERNEL
		return hkvctl_kernel_main(cargc, cargv);
#else
		fprintf(stderr, "%sERR hkvctl was built without kernel cache support\n",
			tty ? "(error) " : "");
		return CTL_EXIT_ERR;
#endif
	}
	if (cargc == 2 && !strcmp(cargv[1], "--help"))
		return ctl_help(stdout, cargv[0]);
	/* "--" after the verb ends option-like words: `hkvctl get -- --help` reads key "--help". */
	if (cargc >= 2 && !strcmp(cargv[1], "--")) {
		memmove(cargv + 1, cargv + 2, (size_t)(cargc - 1) * sizeof(*cargv));
		cargc--;
	}

	req.argc = cargc;
	req.argv = cargv;
	mapped = map_verb(cargc, cargv, words);
	if (mapped < 0) {
		r = ctl_error("ERR wrong number of arguments for '%s' command", cargv[0]);
		usage_error = true;
	} else if (mapped > 0) {
		req.argc = mapped;
		req.argv = words;
	}
	lens = xmalloc((size_t)req.argc * sizeof(*lens));
	for (i = 0; i < req.argc; i++)
		lens[i] = strlen(req.argv[i]);
	req.argvlen = lens;
	req.raw_text = is_raw_text(req.argc, req.argv);

	if (r) {
		/* the verb's arity was wrong */
	} else if (needs_connection(req.argc, req.argv)) {
		r = ctl_error("ERR hkvctl runs one command and prints its one reply: '%s%s%s' "
			      "needs a client that stays connected (redis-cli -s "
			      "DATA_DIR/hkvfs.sock while the store is mounted)", req.argv[0],
			      req.argc > 1 ? " " : "", req.argc > 1 ? req.argv[1] : "");
	} else if (!ctx.dir || !*ctx.dir) {
		/* what the table refuses anyway is refused the same way without a directory */
		if (!ctl_cmdinfo(req.argv[0], lens[0], &info) || !ctl_arity_ok(&info, req.argc))
			r = ctl_call(ctl_table(), req.argc, req.argv, lens);
		else
			r = ctl_error("ERR no data directory: use -d DIR or set HKV_DIR");
		usage_error = r->type == HKV_RESP_ERROR;
	} else {
		if (!strcasecmp(req.argv[0], "set") && req.argc >= 3 && !strcmp(req.argv[2], "-"))
			r = read_stdin(&input, &lens[2]);
		if (input)
			req.argv[2] = input;
		if (!r && ctl_local_run(&ctx, &req, &r) == -EBUSY)
			r = ctl_remote_run(&ctx, &req);
	}
	status = reply_print(r, tty, req.raw_text);
	if (usage_error)
		status = CTL_EXIT_USAGE;
	if (status == CTL_EXIT_USAGE)
		verb_usage(stderr, cargv[0]);
	hkv_resp_value_free(r);
	free(lens);
	free(input);
	return status;
}
