/* SPDX-License-Identifier: MIT */
/*
 * main.c - hkvctl: run one Redis-like command against an hkvfs data directory.
 *
 *   hkvctl [-d DATA_DIR] [--sync POLICY] [--raw|--no-raw] COMMAND [ARG...]
 *
 * The store is opened for the one command and closed again (open time does not depend on the
 * number of keys). A store is written by one process at a time: when a running hkvfs daemon
 * holds it, hkv_open() fails with -EBUSY and, if hkvctl was built with the daemon's control
 * client, the command is forwarded to the daemon's control socket instead.
 *
 * The background thread is not started (bg_interval_ms = 0): a command is short, lazy expiry
 * already hides expired keys, and hkv_close() flushes whatever the sync policy left.
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

static const struct ctl_cmd *const cmd_tables[] = {
	ctl_keys_cmds,
	ctl_types_cmds,
	ctl_admin_cmds,
};

static const char *const table_titles[] = {
	"Strings and keyspace",
	"Hashes, lists, sets, sorted sets",
	"Administration",
};

struct ctl_input ctl_stdin;

/* Read all of stdin into ctl_stdin. Return: NULL or an error reply. */
static struct ctl_reply *read_stdin(void)
{
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap);
	ssize_t n;

	for (;;) {
		if (len == cap) {
			if (cap > HKV_VALUE_MAX) {
				free(buf);
				return reply_err("ERR string exceeds maximum allowed size");
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return reply_err("ERR reading stdin: %s", strerror(errno));
		}
		len += (size_t)n;
	}
	ctl_stdin.data = buf;
	ctl_stdin.len = len;
	return NULL;
}

static const struct ctl_cmd *cmd_find(const char *name)
{
	const struct ctl_cmd *c;
	size_t t;

	for (t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (c = cmd_tables[t]; c->name; c++)
			if (!strcasecmp(c->name, name))
				return c;
	return NULL;
}

static void usage(FILE *f)
{
	const struct ctl_cmd *c;
	size_t t;

	fputs("Usage: hkvctl [OPTIONS] COMMAND [ARG...]\n"
	      "       hkvctl COMMAND --help | hkvctl help [COMMAND]\n"
	      "\n"
	      "Run a Redis-like command against an hkvfs data directory.\n"
	      "\n"
	      "Options:\n"
	      "  -d, --dir DIR     data directory of the store (default: $HKV_DIR)\n"
	      "      --sync MODE   flush policy for this command: always, everysec, none\n"
	      "                    (every write is flushed when hkvctl exits in any case)\n"
	      "      --raw         plain output even on a terminal\n"
	      "      --no-raw      redis-cli style output even when not on a terminal\n"
	      "  -h, --help        this help\n"
	      "  -V, --version     print the version\n"
	      "\n"
	      "Exit status: 0 success (also for a (nil) reply), 1 the command failed,\n"
	      "2 the command line is wrong.\n",
	      f);
	for (t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++) {
		fprintf(f, "\n%s:\n", table_titles[t]);
		for (c = cmd_tables[t]; c->name; c++)
			fprintf(f, "  %-12s %s\n", c->name, c->summary);
	}
}

static void cmd_usage(FILE *f, const struct ctl_cmd *c)
{
	fprintf(f, "Usage: hkvctl %s%s%s\n\n%s\n", c->name, *c->args ? " " : "", c->args,
		c->summary);
}

/*
 * Engine log lines met while opening are held back: for the failures hkvctl explains itself
 * (store busy, no store) they would only repeat the message; otherwise they are printed.
 */
static char held_log[4096];
static bool holding_log;

static void engine_log(void *arg, int level, const char *msg)
{
	size_t n;

	(void)arg;
	if (level > 1)
		return;
	if (holding_log) {
		n = strlen(held_log);
		snprintf(held_log + n, sizeof(held_log) - n, "hkvctl: %s: %s\n",
			 level ? "warning" : "error", msg);
		return;
	}
	fprintf(stderr, "hkvctl: %s: %s\n", level ? "warning" : "error", msg);
}

static bool arity_ok(const struct ctl_cmd *c, int argc)
{
	if (c->arity >= 0)
		return argc == c->arity;
	return argc >= -c->arity;
}

int64_t hkvctl_clock_ms;

static int64_t fixed_clock(void *arg)
{
	(void)arg;
	return hkvctl_clock_ms;
}

/* Open the store, run @c, close. Return the reply; never NULL. */
static struct ctl_reply *run(const char *dir, enum hkv_sync sync, bool sync_given,
			     const struct ctl_cmd *c, int argc, char **argv)
{
	struct hkv_options opt;
	struct ctl_reply *r;
	struct hkv *db;
	int rc;

	hkv_options_init(&opt);
	if (sync_given)
		opt.sync = sync;
	opt.bg_interval_ms = 0;
	opt.create = c->flags & CTL_CMD_WRITE;
	if (hkvctl_clock_ms)
		opt.clock = fixed_clock;
	opt.log = engine_log;
	holding_log = true;
	rc = hkv_open(dir, &opt, &db);
	holding_log = false;
	if (rc && rc != -EBUSY && rc != -ENOENT)
		fputs(held_log, stderr);
	if (rc == -EBUSY) {
#ifdef HKV_HAVE_FORWARD
		r = ctl_forward(dir, argc, argv);
		if (r)
			return r;
#endif
		return reply_err("ERR store in use by another process: %s "
				 "(is it mounted? stop the hkvfs daemon, or use its mount)", dir);
	}
	if (rc == -ENOENT)
		return reply_err("ERR no store in %s (the first write creates it)", dir);
	if (rc)
		return reply_err("ERR cannot open store %s: %s", dir, hkv_strerror(rc));
	r = c->fn(db, argc, argv);
	rc = hkv_close(db);
	if (rc && r->kind != CTL_REPLY_ERROR) {
		reply_free(r);
		r = reply_err("ERR flushing the store failed: %s", hkv_strerror(rc));
	}
	return r;
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
	enum hkv_sync sync = HKV_SYNC_EVERYSEC;
	bool sync_given = false;
	const struct ctl_cmd *c;
	const char *dir = getenv("HKV_DIR"), *clk = getenv("HKV_CLOCK_MS");
	struct ctl_reply *r;
	int tty = isatty(STDOUT_FILENO);
	int opt, status, cargc;
	char **cargv;

	if (clk && *clk) {
		char *end;

		errno = 0;
		hkvctl_clock_ms = strtoll(clk, &end, 10);
		if (errno || *end || hkvctl_clock_ms <= 0) {
			fprintf(stderr, "hkvctl: HKV_CLOCK_MS must be a positive number of "
					"milliseconds, not '%s'\n", clk);
			return CTL_EXIT_USAGE;
		}
	}
	while ((opt = getopt_long(argc, argv, "+d:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 's':
			if (hkv_sync_parse(optarg, &sync)) {
				fprintf(stderr, "hkvctl: --sync must be always, everysec or none\n");
				return CTL_EXIT_USAGE;
			}
			sync_given = true;
			break;
		case 'r':
			tty = 0;
			break;
		case 'R':
			tty = 1;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			puts("hkvctl " HKVCTL_VERSION);
			return CTL_EXIT_OK;
		default:
			fputs("Try 'hkvctl --help'.\n", stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	cargc = argc - optind;
	cargv = argv + optind;

	if (!strcasecmp(cargv[0], "help")) {
		if (cargc == 1) {
			usage(stdout);
			return CTL_EXIT_OK;
		}
		c = cmd_find(cargv[1]);
		if (!c) {
			fprintf(stderr, "ERR unknown command '%s'\n", cargv[1]);
			return CTL_EXIT_USAGE;
		}
		cmd_usage(stdout, c);
		return CTL_EXIT_OK;
	}
	c = cmd_find(cargv[0]);
	if (!c) {
		fprintf(stderr, "ERR unknown command '%s', try 'hkvctl --help'\n", cargv[0]);
		return CTL_EXIT_USAGE;
	}
	if (c->flags & CTL_CMD_NOSTORE) {
		/* kernel ...: its own sub-commands, options, output and exit status */
#ifdef HKV_HAVE_KERNEL
		return hkvctl_kernel_main(cargc, cargv);
#else
		fprintf(stderr, "%sERR hkvctl was built without kernel cache support\n",
			tty ? "(error) " : "");
		return CTL_EXIT_ERR;
#endif
	}
	if (cargc == 2 && !strcmp(cargv[1], "--help")) {
		cmd_usage(stdout, c);
		return CTL_EXIT_OK;
	}
	/* "--" after the verb ends option-like words: `hkvctl get -- --help` reads key "--help". */
	if (cargc >= 2 && !strcmp(cargv[1], "--")) {
		memmove(cargv + 1, cargv + 2, (size_t)(cargc - 2) * sizeof(*cargv));
		cargc--;
	}

	if (!arity_ok(c, cargc)) {
		r = reply_usage("ERR wrong number of arguments for '%s' command", c->name);
	} else if (!dir || !*dir) {
		r = reply_usage("ERR no data directory: use -d DIR or set HKV_DIR");
	} else {
		r = NULL;
		if ((c->flags & CTL_CMD_STDIN) && !strcmp(cargv[2], "-"))
			r = read_stdin();
		if (!r)
			r = run(dir, sync, sync_given, c, cargc, cargv);
	}
	status = reply_print(r, tty);
	if (status == CTL_EXIT_USAGE && r->kind == CTL_REPLY_ERROR)
		fprintf(stderr, "Usage: hkvctl %s %s\n", c->name, c->args);
	reply_free(r);
	free(ctl_stdin.data);
	return status;
}
