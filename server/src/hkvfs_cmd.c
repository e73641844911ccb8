/* SPDX-License-Identifier: MIT */
/*
 * hkvfs_cmd.c - the HKVFS command: hkvfs's own administration, the same on every door.
 *
 * The daemon registers it on the server that serves DATA_DIR/hkvfs.sock, with hooks for what
 * only a mount has (its counters, options and paths); hkvctl (on the store it opened itself) and
 * hkv-server register it without hooks. One dispatcher, so every door gives the same replies and
 * errors:
 *
 *   HKVFS STATS          bulk: the mount's counters (daemon), or "name:value" lines
 *                        ("# section" headers) and the value-log segment table
 *                        (hkvctl, hkv-server)
 *   HKVFS COMPACT [ALL]  integer: segments compacted (ALL: every one with dead bytes)
 *   HKVFS SYNC           +OK once every write is on stable storage
 *   HKVFS CONFIG         bulk: the mount's options; "ERR not mounted" without a mount
 *   HKVFS PATH key       bulk: the key's path under the mountpoint; "ERR not mounted" likewise
 *   HKVFS HELP           the list above, as Redis's HELP subcommands reply
 *
 * Errors follow Redis's containers: "unknown subcommand 'x'. Try HKVFS HELP.", "wrong number of
 * arguments for 'hkvfs|path' command", "syntax error".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

struct hkvfs_cmd {
	struct hkv *db;
	struct hkv_hkvfs_hooks hooks;
};

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

static void engine_error(struct hkv_resp_out *out, int rc)
{
	hkv_resp_errorf(out, "%s", hkv_strerror(rc));
}

static void hkvfs_stats(struct hkv *db, struct hkv_resp_out *out)
{
	struct hkv_stats st;
	struct seg_ctx sc;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = hkv_stats_get(db, &st);
	if (rc) {
		engine_error(out, rc);
		return;
	}
	sc.f = open_memstream(&text, &len);
	if (!sc.f) {
		hkv_resp_error(out, "out of memory");
		return;
	}
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
	fputs("# write path\n", sc.f);
	ROW(flush_error);
	ROW(mem_bytes);
	ROW(checkpoints);
	ROW(ckpt_records);
#undef ROW
	fputs("# segments\n", sc.f);
	fprintf(sc.f, "%8s  %-6s  %14s  %14s  %14s  %5s\n", "id", "active", "bytes", "live",
		"dead", "dead%");
	rc = hkv_segments(db, seg_row, &sc);
	if (fclose(sc.f) || !text) {
		free(text);
		hkv_resp_error(out, "out of memory");
		return;
	}
	if (rc)
		engine_error(out, rc);
	else
		hkv_resp_bulk(out, text, len);
	free(text);
}

static void hkvfs_help(struct hkv_resp_out *out)
{
	static const char *const lines[] = {
		"HKVFS <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"STATS",
		"    Statistics of the store (\"name:value\" lines) and its value-log segments.",
		"CONFIG",
		"    The options the store is mounted with.",
		"COMPACT [ALL]",
		"    Compact value-log segments now; ALL: every one with dead bytes.",
		"    Replies the number of segments compacted.",
		"SYNC",
		"    Flush every write to stable storage.",
		"PATH <key>",
		"    The path of <key> under the mountpoint.",
		"HELP",
		"    Print this help.",
	};
	size_t i;

	hkv_resp_array(out, (long long)(sizeof(lines) / sizeof(lines[0])));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		hkv_resp_status(out, lines[i]);
}

static bool word_is(const char *w, size_t len, const char *kw)
{
	return len == strlen(kw) && !strncasecmp(w, kw, len);
}

static void hkvfs_command(void *arg, int argc, char **argv, const size_t *argvlen,
			  struct hkv_resp_out *out)
{
	static const struct {
		const char *name;
		int min, max; /* words, the command name included */
	} subs[] = {
		{ "stats", 2, 2 }, { "config", 2, 2 }, { "compact", 2, 3 },
		{ "sync", 2, 2 },  { "path", 3, 3 },   { "help", 2, 2 },
	};
	struct hkvfs_cmd *c = arg;
	struct hkv *db = c->db;
	const char *sub = NULL;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (word_is(argv[1], argvlen[1], subs[i].name))
			sub = subs[i].name;
	if (!sub) {
		hkv_resp_errorf(out, "unknown subcommand '%.*s'. Try HKVFS HELP.",
				(int)(argvlen[1] > 128 ? 128 : argvlen[1]), argv[1]);
		return;
	}
	for (i = 0; strcmp(subs[i].name, sub); i++)
		;
	if (argc < subs[i].min || argc > subs[i].max) {
		hkv_resp_errorf(out, "wrong number of arguments for 'hkvfs|%s' command", sub);
		return;
	}
	if (!strcmp(sub, "help")) {
		hkvfs_help(out);
	} else if (!strcmp(sub, "config")) {
		if (c->hooks.config)
			c->hooks.config(c->hooks.arg, out);
		else
			hkv_resp_error(out, "not mounted");
	} else if (!strcmp(sub, "path")) {
		if (c->hooks.path)
			c->hooks.path(c->hooks.arg, argv[2], argvlen[2], out);
		else
			hkv_resp_error(out, "not mounted");
	} else if (!strcmp(sub, "stats")) {
		if (c->hooks.stats)
			c->hooks.stats(c->hooks.arg, out);
		else
			hkvfs_stats(db, out);
	} else if (!strcmp(sub, "sync")) {
		rc = hkv_sync(db);
		if (rc)
			engine_error(out, rc);
		else
			hkv_resp_status(out, "OK");
	} else if (argc == 3 && !word_is(argv[2], argvlen[2], "all")) {
		hkv_resp_error(out, "syntax error");
	} else {
		rc = hkv_compact(db, argc == 3);
		if (rc < 0)
			engine_error(out, rc);
		else
			hkv_resp_int(out, rc);
	}
}

int hkv_server_add_hkvfs(struct hkv_server *srv, struct hkv *db,
			 const struct hkv_hkvfs_hooks *hooks)
{
	struct hkvfs_cmd *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->db = db;
	if (hooks)
		c->hooks = *hooks;
	rc = hkv_server_add_command(srv, "hkvfs", -2, false,
				    "hkvfs's administration: STATS, CONFIG, COMPACT [ALL], SYNC, "
				    "PATH key (HKVFS HELP)",
				    hkvfs_command, c);
	if (rc)
		free(c);
	else
		srv->hkvfs_cmd = c; /* freed with the server */
	return rc;
}
