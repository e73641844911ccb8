/* SPDX-License-Identifier: MIT */
/*
 * local.c - the in-process door: open the store, run one request through the command table
 * (hkv_server_call()), close the store.
 *
 * The server made here never listens: it exists for its command table and its client state
 * for the one call. It acknowledges writes by the engine's own sync policy (HKV_FLUSH_ENGINE,
 * set with --sync), and hkv_close() flushes whatever that policy left, so every write is
 * durable when hkvctl returns. The engine's background thread is not started: a command is
 * short, lazy expiry already hides expired keys.
 *
 * Nobody else can write while hkvctl holds the store, so a blocking command (BLPOP...) that
 * finds nothing returns at once as on its timeout (hkv_server_call()'s contract).
 *
 * SCAN cursors are ids of positions the server remembers (server/src/keyspace.c); a server
 * here lives for one command, so after a SCAN-family command its cursors are saved in
 * DATA_DIR/hkvctl.cursors (the 1024 most recent, written while hkvctl holds the store's lock,
 * replaced by rename) and loaded before the next one: `hkvctl scan CURSOR` goes on where the
 * previous run stopped, as it does against a daemon.
 *
 * A second server, without a store (ctl_table()), answers questions about the table: COMMAND
 * INFO for whether a command writes (only writes create a store), COMMAND DOCS for help, and
 * the rejections the table gives before running anything (unknown command, wrong number of
 * arguments) when there is no store to run on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hkvctl.h"

#define CURSORS_FILE "hkvctl.cursors"
#define CURSORS_KEPT 1024

static struct hkv_server *table_srv;

static void table_free(void)
{
	hkv_server_free(table_srv);
	table_srv = NULL;
}

/*
 * Only errors: the server's warnings are about its own life (a client asked for SHUTDOWN),
 * which a daemon would log in its own log, not on hkvctl's stderr.
 */
static void server_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level == 0)
		fprintf(stderr, "hkvctl: error: %s\n", msg);
}

static struct hkv_server *server_new(struct hkv *db, const char *dir)
{
	struct hkv_server_config cfg;
	struct hkv_server *srv;
	int rc;

	hkv_server_config_init(&cfg);
	cfg.port = 0;
	cfg.nbind = 0;
	cfg.flush = HKV_FLUSH_ENGINE;
	cfg.dir = dir;
	cfg.log = server_log;
	rc = hkv_server_new(db, &cfg, &srv);
	if (!rc)
		rc = hkv_server_add_hkvfs(srv, db, NULL);
	if (rc) {
		fprintf(stderr, "hkvctl: cannot set up the command table: %s\n", strerror(-rc));
		exit(CTL_EXIT_ERR);
	}
	return srv;
}

struct hkv_server *ctl_table(void)
{
	if (!table_srv) {
		table_srv = server_new(NULL, NULL);
		atexit(table_free);
	}
	return table_srv;
}

struct hkv_resp_value *ctl_call(struct hkv_server *srv, int argc, char **argv,
				const size_t *argvlen)
{
	struct hkv_resp_value *v = NULL;
	struct hkv_resp_reader rd;
	struct hkv_resp_out out;
	int rc;

	hkv_resp_out_init(&out, 2);
	rc = hkv_server_call(srv, argc, argv, argvlen, &out);
	if (rc) {
		hkv_resp_out_release(&out);
		return ctl_error("ERR %s", strerror(-rc));
	}
	if (!out.len) {
		/* SHUTDOWN, QUIT-like commands: a daemon closes the connection instead */
		hkv_resp_out_release(&out);
		return ctl_error("%s", CTL_NO_REPLY);
	}
	hkv_resp_reader_init(&rd);
	rd.max_bulk = (uint64_t)out.len + 1;
	rc = hkv_resp_reader_feed(&rd, out.buf, out.len);
	if (!rc)
		rc = hkv_resp_reader_next(&rd, &v);
	hkv_resp_out_release(&out);
	if (rc == 1) {
		struct hkv_resp_value *extra = NULL;

		rc = hkv_resp_reader_next(&rd, &extra);
		hkv_resp_value_free(extra);
		if (rc == 0) {
			hkv_resp_reader_release(&rd);
			return v;
		}
		rc = 1;
	}
	/* one call gives exactly one whole reply; anything else is a bug worth saying so */
	hkv_resp_value_free(v);
	v = ctl_error("ERR the command table gave %s reply%s%s",
		      rc == 1 ? "more than one" : rc == 0 ? "an incomplete" : "a malformed",
		      rc < 0 ? ": " : "", rc < 0 ? rd.err : "");
	hkv_resp_reader_release(&rd);
	return v;
}

struct hkv_resp_value *ctl_table_call(int argc, const char *const *argv)
{
	size_t len[8];
	int i;

	for (i = 0; i < argc && i < 8; i++)
		len[i] = strlen(argv[i]);
	return ctl_call(ctl_table(), argc, (char **)argv, len);
}

bool ctl_cmdinfo(const char *name, size_t len, struct ctl_cmdinfo *out)
{
	char *argv[3] = { "COMMAND", "INFO", (char *)name };
	size_t lens[3] = { 7, 4, len };
	struct hkv_resp_value *v = ctl_call(ctl_table(), 3, argv, lens), *e;
	bool found = false;
	size_t i;

	memset(out, 0, sizeof(*out));
	/* [[name, arity, [flags...], first, last, step, ...]] */
	if (v->type == HKV_RESP_ARRAY && v->nelem == 1 && v->elem[0]->type == HKV_RESP_ARRAY &&
	    v->elem[0]->nelem >= 6) {
		e = v->elem[0];
		out->arity = (int)e->elem[1]->integer;
		for (i = 0; i < e->elem[2]->nelem; i++)
			if (e->elem[2]->elem[i]->str && !strcmp(e->elem[2]->elem[i]->str, "write"))
				out->write = true;
		out->first = (int)e->elem[3]->integer;
		out->last = (int)e->elem[4]->integer;
		out->step = (int)e->elem[5]->integer;
		found = true;
	}
	hkv_resp_value_free(v);
	return found;
}

bool ctl_arity_ok(const struct ctl_cmdinfo *info, int argc)
{
	if (info->arity >= 0)
		return argc == info->arity;
	return argc >= -info->arity;
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

static int store_open(const struct ctl_ctx *ctx, bool create, struct hkv **db)
{
	struct hkv_options opt;
	int rc;

	hkv_options_init(&opt);
	if (ctx->sync_given)
		opt.sync = ctx->sync;
	opt.bg_interval_ms = 0;
	opt.create = create;
	opt.log = engine_log;
	held_log[0] = '\0';
	holding_log = true;
	rc = hkv_open(ctx->dir, &opt, db);
	holding_log = false;
	if (rc && rc != -EBUSY && rc != -ENOENT)
		fputs(held_log, stderr);
	return rc;
}

/*
 * There is no store in the directory. A write creates one; anything else is refused here
 * (a typo in -d must not look like an empty store), except what the table refuses anyway
 * without a store: those get the table's own reply, the same as with a store.
 */
static int no_store(const struct ctl_ctx *ctx, const struct ctl_req *req, struct hkv **db,
		    struct hkv_resp_value **out)
{
	struct ctl_cmdinfo info;

	if (!ctl_cmdinfo(req->argv[0], req->argvlen[0], &info) ||
	    !ctl_arity_ok(&info, req->argc)) {
		*out = ctl_call(ctl_table(), req->argc, req->argv, req->argvlen);
		return 1;
	}
	if (!info.write) {
		*out = ctl_error("ERR no store in %s (the first write creates it)", ctx->dir);
		return 1;
	}
	return store_open(ctx, true, db);
}

static bool is_scan(const struct ctl_req *req)
{
	static const char *const scans[] = { "scan", "hscan", "sscan", "zscan" };
	size_t i;

	for (i = 0; i < sizeof(scans) / sizeof(scans[0]); i++)
		if (req->argvlen[0] == strlen(scans[i]) && !strcasecmp(req->argv[0], scans[i]))
			return true;
	return false;
}

static void cursors_load(const char *dir, struct hkv_server *srv)
{
	char path[PATH_MAX];
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, CURSORS_FILE) >= (int)sizeof(path))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	/* a damaged file loses cursors, never a command: SCAN then says "invalid cursor" */
	if (hkv_server_cursors_load(srv, buf, len) == -EINVAL)
		fprintf(stderr, "hkvctl: warning: %s is damaged; its cursors are dropped\n", path);
	free(buf);
}

static void cursors_save(const char *dir, struct hkv_server *srv)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len, off = 0;
	void *buf;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, CURSORS_FILE) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return;
	if (hkv_server_cursors_save(srv, CURSORS_KEPT, &buf, &len))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out_free;
	while (off < len) {
		n = write(fd, (char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (close(fd) || off < len || rename(tmp, path)) {
		fprintf(stderr, "hkvctl: warning: cannot save SCAN cursors in %s: %s\n", path,
			strerror(errno ? errno : EIO));
		unlink(tmp);
	}
out_free:
	free(buf);
}

int ctl_local_run(const struct ctl_ctx *ctx, const struct ctl_req *req,
		  struct hkv_resp_value **out)
{
	struct hkv_server *srv;
	struct hkv *db;
	int rc;

	rc = store_open(ctx, false, &db);
	if (rc == -ENOENT) {
		rc = no_store(ctx, req, &db, out);
		if (rc == 1)
			return 0;
	}
	if (rc == -EBUSY)
		return -EBUSY;
	if (rc) {
		*out = ctl_error("ERR cannot open store %s: %s", ctx->dir, hkv_strerror(rc));
		return 0;
	}
	srv = server_new(db, ctx->dir);
	if (is_scan(req))
		cursors_load(ctx->dir, srv);
	*out = ctl_call(srv, req->argc, req->argv, req->argvlen);
	if (is_scan(req))
		cursors_save(ctx->dir, srv);
	hkv_server_free(srv);
	rc = hkv_close(db);
	if (rc && (*out)->type != HKV_RESP_ERROR) {
		hkv_resp_value_free(*out);
		*out = ctl_error("ERR flushing the store failed: %s", hkv_strerror(rc));
	}
	return 0;
}
