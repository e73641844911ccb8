// SPDX-License-Identifier: MIT
/*
 * resp.c - the daemon's RESP listener: the command layer (server/, hkv/server.h) over the
 * mounted store.
 *
 * A store has one owner; while it is mounted that is this daemon, so it serves Redis's
 * protocol itself:
 *
 *   DATA_DIR/hkvfs.sock   always, mode 0600 (only the daemon's user): hkvctl and
 *                         `redis-cli -s DATA_DIR/hkvfs.sock` reach the store here;
 *   HOST:PORT             when mounted with -o resp=HOST:PORT, with the server's protected
 *                         mode and, with -o resp_passfile=FILE, a password (AUTH) for both.
 *
 * Every command of the table is served, on one server thread, plus HKVFS (server/src/
 * hkvfs_cmd.c, the same dispatcher hkvctl uses on a store it opened) with this mount's hooks:
 *
 *   HKVFS STATS            bulk: the counters of .hkv/stats as "name:value" lines
 *   HKVFS CONFIG           bulk: the text of .hkv/config
 *   HKVFS PATH KEY         bulk: the key's path under the mountpoint
 *   HKVFS COMPACT [ALL], HKVFS SYNC, HKVFS HELP: as on every door
 *
 * Coherence with the mount. The engine has one watcher, hkvfs_watch() (inval.c), which drops
 * a changed key from the kernel caches; it forwards every event to hkv_server_watch() too, so
 * a write through the mount fires keyspace notifications, wakes clients blocked on the key and
 * breaks WATCHes. In the other direction the server calls before_reply() after commands that
 * wrote and before their replies go out: hkvfs_inval_wait() returns once the kernel has been
 * told about every change committed so far, so a `cat` that starts after a client saw its
 * reply never reads the old value from a kernel cache.
 *
 * Acknowledgement follows the mount's sync= option (HKV_FLUSH_ENGINE): the engine's policy is
 * the one both doors share.
 *
 * The listener needs the engine itself (hkv_server runs the command table over a struct hkv),
 * which only a backend with HKVFS_BE_CAP_ENGINE has (hkvfs_be_engine()). Over any other
 * backend there is no listener at all: hkvfs_resp_new() logs one line saying so and the
 * daemon runs without it (no DATA_DIR/hkvfs.sock, -o resp= ignored; clients talk to that
 * store directly).
 *
 * Shutdown: the watch forwards under a read lock; hkvfs_resp_stop() takes the server out
 * under the write lock before freeing it, so no engine thread calls into a freed server.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkv/pathmap.h"
#include "hkv/server.h"
#include "hkvfs_int.h"

static pthread_rwlock_t resp_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct hkv_server *resp_srv;

void hkvfs_resp_watch(const void *key, size_t klen, uint64_t version)
{
	pthread_rwlock_rdlock(&resp_lock);
	if (resp_srv)
		hkv_server_watch(resp_srv, key, klen, version);
	pthread_rwlock_unlock(&resp_lock);
}

static void resp_log(void *arg, int level, const char *msg)
{
	(void)arg;
	hkvfs_log(level < 0 ? 0 : level > 3 ? 3 : level, "resp: %s", msg);
}

static void resp_before_reply(void *arg)
{
	(void)arg;
	hkvfs_inval_wait();
}

static void reply_text(struct hkv_resp_out *out, int ctl)
{
	char *t = NULL;
	ssize_t len = hkvfs_ctl_text(ctl, &t);

	atomic_fetch_add_explicit(&hkvfs_g.cnt.ctl_requests, 1, memory_order_relaxed);
	if (len < 0)
		hkv_resp_errorf(out, "%s", strerror((int)-len));
	else
		hkv_resp_bulk(out, t, (size_t)len);
	free(t);
}

/* .hkv/stats as "name:value" lines, as INFO and hkvctl's store-only STATS print them */
static void hook_stats(void *arg, struct hkv_resp_out *out)
{
	char *t = NULL, *line;
	ssize_t len = hkvfs_ctl_text(HKVFS_CTL_STATS, &t);

	(void)arg;
	atomic_fetch_add_explicit(&hkvfs_g.cnt.ctl_requests, 1, memory_order_relaxed);
	if (len < 0) {
		hkv_resp_errorf(out, "%s", strerror((int)-len));
		return;
	}
	for (line = t; line && line < t + len; line = memchr(line, '\n', (size_t)(t + len - line))) {
		char *sp;

		line += *line == '\n';
		sp = memchr(line, ' ', (size_t)(t + len - line));
		if (sp && (!memchr(line, '\n', (size_t)(sp - line))))
			*sp = ':';
	}
	hkv_resp_bulk(out, t, (size_t)len);
	free(t);
}

static void hook_config(void *arg, struct hkv_resp_out *out)
{
	(void)arg;
	reply_text(out, HKVFS_CTL_CONFIG);
}

static void hook_path(void *arg, const char *key, size_t klen, struct hkv_resp_out *out)
{
	size_t mlen = strlen(hkvfs_g.mountpoint);
	char *path = malloc(mlen + 1 + 8192);
	int rc;

	(void)arg;
	if (!path) {
		hkv_resp_error(out, "out of memory");
		return;
	}
	memcpy(path, hkvfs_g.mountpoint, mlen);
	path[mlen] = '/';
	rc = hkv_pathmap_key_to_path(key, klen, hkvfs_g.opts.delim, path + mlen + 1, 8192);
	if (rc < 0)
		hkv_resp_errorf(out, "the key has no path under the mount: %s", strerror(-rc));
	else
		hkv_resp_bulk(out, path, mlen + 1 + (size_t)rc);
	free(path);
}

/* The first line of @path, the password; -errno if unreadable or empty. */
static int read_pass(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = 0;
	return n ? 0 : -EINVAL;
}

int hkvfs_resp_new(void)
{
	static const struct hkv_hkvfs_hooks hooks = {
		.stats = hook_stats, .config = hook_config, .path = hook_path,
	};
	struct hkv *db = hkvfs_be_engine(hkvfs_g.be);
	struct hkv_server_config cfg;
	struct hkv_server *srv;
	char pass[512];
	int rc;

	if (!db) {
		HLOG_INFO("no RESP listener: the store %s is not a local engine%s", hkvfs_g.source,
			  hkvfs_g.opts.resp_port ? " (resp= is ignored)" : "");
		return 0;
	}
	hkv_server_config_init(&cfg);
	cfg.port = (int)hkvfs_g.opts.resp_port;
	cfg.nbind = 0;
	if (cfg.port)
		cfg.bind[cfg.nbind++] = hkvfs_g.opts.resp_host;
	cfg.unixsocket = hkvfs_g.sock_path;
	cfg.unixsocketperm = 0600;
	cfg.flush = HKV_FLUSH_ENGINE;
	cfg.dir = hkvfs_g.source;
	cfg.daemon_mode = true;
	cfg.log = resp_log;
	cfg.before_reply = resp_before_reply;
	if (hkvfs_g.opts.resp_passfile[0]) {
		rc = read_pass(hkvfs_g.opts.resp_passfile, pass, sizeof(pass));
		if (rc) {
			HLOG_ERR("resp_passfile=%s: cannot read a password from it: %s",
				 hkvfs_g.opts.resp_passfile,
				 rc == -EINVAL ? "empty first line" : strerror(-rc));
			return rc;
		}
		cfg.requirepass = pass;
	}
	rc = hkv_server_new(db, &cfg, &srv);
	explicit_bzero(pass, sizeof(pass));
	if (rc)
		return rc;
	rc = hkv_server_add_hkvfs(srv, db, &hooks);
	if (rc) {
		hkv_server_free(srv);
		return rc;
	}
	pthread_rwlock_wrlock(&resp_lock);
	resp_srv = srv;
	pthread_rwlock_unlock(&resp_lock);
	return 0;
}

int hkvfs_resp_start(void)
{
	int rc;

	if (!resp_srv)
		return 0; /* no engine: no listener (see the top) */
	rc = hkv_server_listen(resp_srv);
	if (!rc)
		rc = hkv_server_start(resp_srv);
	if (rc)
		HLOG_ERR("cannot serve RESP on %s%s%s: %s", hkvfs_g.sock_path,
			 hkvfs_g.opts.resp_port ? " and " : "",
			 hkvfs_g.opts.resp_port ? hkvfs_g.opts.resp_host : "", strerror(-rc));
	return rc;
}

void hkvfs_resp_stop(void)
{
	struct hkv_server *srv;

	pthread_rwlock_wrlock(&resp_lock);
	srv = resp_srv;
	resp_srv = NULL;
	pthread_rwlock_unlock(&resp_lock);
	hkv_server_free(srv); /* stops the loop: pending replies are sent, clients closed */
}
