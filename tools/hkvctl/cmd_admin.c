/* SPDX-License-Identifier: MIT */
/*
 * cmd_admin.c - hkvctl's administration commands: stat, compact, and the table entry of
 * `kernel`, which main() dispatches to the kernel-cache tool (kernel.c) without opening the
 * store.
 *
 * `stat` prints Redis INFO-style "name:value" lines (easy to grep and to parse) followed by a
 * fixed-width table of the value-log segments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkvctl.h"

struct seg_ctx {
	FILE *f;
};

static int seg_row(void *arg, const struct hkv_segment_stat *s)
{
	struct seg_ctx *sc = arg;
	double pct = s->bytes ? 100.0 * (double)s->dead / (double)s->bytes : 0.0;

	fprintf(sc->f, "%8u  %-6s  %14llu  %14llu  %14llu  %5.1f\n", s->id,
		s->active ? "yes" : "no", (unsigned long long)s->bytes,
		(unsigned long long)s->live, (unsigned long long)s->dead, pct);
	return 0;
}

static struct ctl_reply *cmd_stat(struct hkv *db, int argc, char **argv)
{
	struct hkv_stats st;
	struct seg_ctx sc;
	char *text = NULL;
	size_t len = 0;
	int rc;

	(void)argc;
	(void)argv;
	rc = hkv_stats_get(db, &st);
	if (rc)
		return reply_engine(rc);
	sc.f = open_memstream(&text, &len);
	if (!sc.f)
		return reply_err("ERR out of memory");
#define ROW(name) fprintf(sc.f, "%s:%llu\n", #name, (unsigned long long)st.name)
	fputs("# keyspace\n", sc.f);
	ROW(keys);
	ROW(expires);
	ROW(index_bytes);
	fputs("# value log\n", sc.f);
	ROW(vlog_bytes);
	ROW(vlog_live);
	ROW(vlog_dead);
	ROW(segments);
	fputs("# counters since open\n", sc.f);
	ROW(reads);
	ROW(writes);
	ROW(commits);
	ROW(syncs);
	ROW(compactions);
	ROW(compact_bytes);
	ROW(expired);
	ROW(crc_errors);
#undef ROW
	fputs("# segments\n", sc.f);
	fprintf(sc.f, "%8s  %-6s  %14s  %14s  %14s  %5s\n", "id", "active", "bytes", "live",
		"dead", "dead%");
	rc = hkv_segments(db, seg_row, &sc);
	if (fclose(sc.f) || !text) {
		free(text);
		return reply_err("ERR out of memory");
	}
	if (rc) {
		free(text);
		return reply_engine(rc);
	}
	return reply_text(text, len);
}

static struct ctl_reply *cmd_compact(struct hkv *db, int argc, char **argv)
{
	bool all = false;
	int rc;

	if (argc > 2)
		return reply_usage("ERR wrong number of arguments for 'compact' command");
	if (argc == 2) {
		if (strcmp(argv[1], "--all") && !arg_is(argv[1], "all"))
			return reply_usage("ERR syntax error");
		all = true;
	}
	rc = hkv_compact(db, all);
	return rc < 0 ? reply_engine(rc) : reply_int(rc);
}

const struct ctl_cmd ctl_admin_cmds[] = {
	{ "stat", 1, 0, cmd_stat, "",
	  "store statistics and the value-log segment table" },
	{ "compact", -1, CTL_CMD_WRITE, cmd_compact, "[--all]",
	  "compact value-log segments now (--all: every one with dead bytes)" },
	{ "kernel", -1, CTL_CMD_NOSTORE, NULL, "SUBCOMMAND [ARG...]",
	  "inspect and manage the kernel hot-value cache (/dev/hkv); 'kernel --help'" },
	{ NULL, 0, 0, NULL, NULL, NULL },
};
