// SPDX-License-Identifier: MIT
/*
 * admin.c - the server's administration commands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF,
 * SHUTDOWN, WAIT, READONLY/READWRITE, FUNCTION (FLUSH, LIST, HELP) and hkvfs's own HKV
 * (COMPACT, STAT, SYNC).
 *
 * What Redis's persistence commands mean for the engine:
 *   SAVE          a checkpoint: every acknowledged write applied to the index in one synced
 *                 transaction (hkv_checkpoint()), so that a reopen has nothing to replay.
 *   BGSAVE        the same on a background thread; LASTSAVE and INFO's rdb_* fields report
 *                 it when it is done.
 *   BGREWRITEAOF  compaction of the value log (hkv_compact(all)) on a background thread:
 *                 the value log is the append-only file, and compaction is its rewrite.
 * One background job runs at a time (Redis's "already in progress" errors). The engine is
 * thread-safe: the job runs while the event loop keeps serving.
 *
 * WAIT: hkv-server has no replicas, so no replica can acknowledge a write: WAIT replies 0 at
 * once (Redis with no replicas and numreplicas 0 does the same; with numreplicas > 0 it
 * would wait out the timeout for an answer that can only be 0).
 *
 * FUNCTION: hkv-server has no scripting engine, so no function can be loaded (FUNCTION LOAD
 * is an unknown subcommand); FLUSH of the empty library set succeeds and LIST is empty, which
 * is what clients that clean up before a run expect.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

static void *bgjob_main(void *arg)
{
	struct hkv_server *srv = arg;
	int rc;

	if (srv->bgjob == BGJOB_SAVE)
		rc = hkv_checkpoint(srv->db);
	else
		rc = hkv_compact(srv->db, true);
	if (rc < 0)
		srv_log(srv, 0, "background %s failed: %s",
			srv->bgjob == BGJOB_SAVE ? "save" : "log rewrite", hkv_strerror(rc));
	__atomic_store_n(&srv->bgjob_rc, rc < 0 ? rc : 0, __ATOMIC_RELEASE);
	__atomic_store_n(&srv->bgjob_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Called by the periodic task and before starting a job: collect a finished job. */
void bgjob_reap(struct hkv_server *srv, bool wait)
{
	if (srv->bgjob == BGJOB_NONE)
		return;
	if (!wait && !__atomic_load_n(&srv->bgjob_done, __ATOMIC_ACQUIRE))
		return;
	pthread_join(srv->bgjob_thread, NULL);
	if (srv->bgjob == BGJOB_SAVE) {
		srv->last_bgsave_ok = srv->bgjob_rc == 0;
		if (srv->last_bgsave_ok) {
			srv->lastsave_ms = srv->bgjob_start_ms;
			srv->dirty_since_save -= srv->bgjob_dirty;
			srv->saves++;
		}
	} else {
		srv->last_bgrewrite_ok = srv->bgjob_rc == 0;
	}
	srv->bgjob = BGJOB_NONE;
	srv->bgjob_done = false;
}

static int bgjob_start(struct hkv_server *srv, int job)
{
	int rc;

	srv->bgjob = job;
	srv->bgjob_done = false;
	srv->bgjob_rc = 0;
	srv->bgjob_start_ms = srv_now_ms();
	srv->bgjob_dirty = srv->dirty_since_save;
	rc = pthread_create(&srv->bgjob_thread, NULL, bgjob_main, srv);
	if (rc) {
		srv->bgjob = BGJOB_NONE;
		return -rc;
	}
	return 0;
}

void save_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	int rc;

	if (srv->bgjob == BGJOB_SAVE) {
		add_error(c, "Background save already in progress");
		return;
	}
	rc = hkv_checkpoint(srv->db);
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	srv->lastsave_ms = srv_now_ms();
	srv->dirty_since_save = 0;
	srv->saves++;
	add_ok(c);
}

void bgsave_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	bool schedule = c->argc == 2 && !strcasecmp(c->argv[1], "schedule");

	if (c->argc > 2 || (c->argc == 2 && !schedule)) {
		add_err_syntax(c);
		return;
	}
	bgjob_reap(srv, false);
	if (srv->bgjob == BGJOB_SAVE) {
		add_error(c, "Background save already in progress");
		return;
	}
	if (srv->bgjob != BGJOB_NONE) {
		if (!schedule) {
			add_error(c, "Another child process is active (AOF?): can't BGSAVE right now. "
				     "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever "
				     "possible.");
			return;
		}
		bgjob_reap(srv, true);
	}
	if (bgjob_start(srv, BGJOB_SAVE)) {
		add_error(c, "Can't start the background save: out of threads");
		return;
	}
	add_status(c, "Background saving started");
}

void bgrewriteaof_command(struct client *c)
{
	struct hkv_server *srv = c->srv;

	bgjob_reap(srv, false);
	if (srv->bgjob == BGJOB_REWRITE) {
		add_error(c, "Background append only file rewriting already in progress");
		return;
	}
	if (srv->bgjob != BGJOB_NONE)
		bgjob_reap(srv, true);
	if (bgjob_start(srv, BGJOB_REWRITE)) {
		add_error(c, "Can't start the log rewrite: out of threads");
		return;
	}
	add_status(c, "Background append only file rewriting started");
}

void lastsave_command(struct client *c)
{
	bgjob_reap(c->srv, false);
	add_int(c, (long long)(c->srv->lastsave_ms / 1000));
}

void shutdown_command(struct client *c)
{
	for (int i = 1; i < c->argc; i++) {
		if (!strcasecmp(c->argv[i], "abort")) {
			add_error(c, "No shutdown in progress.");
			return;
		}
		if (strcasecmp(c->argv[i], "nosave") && strcasecmp(c->argv[i], "save") &&
		    strcasecmp(c->argv[i], "now") && strcasecmp(c->argv[i], "force")) {
			add_err_syntax(c);
			return;
		}
	}
	srv_log(c->srv, 1, "user requested shutdown (client id=%llu addr=%s)",
		(unsigned long long)c->id, c->addr);
	/* as Redis: no reply; the connection closes with the server */
	hkv_server_stop(c->srv);
}

void wait_command(struct client *c)
{
	long long n, timeout;

	if (!get_ll_or_reply(c, 1, &n, NULL))
		return;
	if (!get_ll_or_reply(c, 2, &timeout, "timeout is not an integer or out of range"))
		return;
	if (timeout < 0) {
		add_error(c, "timeout is negative");
		return;
	}
	add_int(c, 0);
}

void readonly_command(struct client *c)
{
	add_error(c, "This instance has cluster support disabled");
}

void readwrite_command(struct client *c)
{
	add_error(c, "This instance has cluster support disabled");
}

void function_flush_command(struct client *c)
{
	if (c->argc > 3 ||
	    (c->argc == 3 && strcasecmp(c->argv[2], "async") && strcasecmp(c->argv[2], "sync"))) {
		add_error(c, "FUNCTION FLUSH only supports SYNC|ASYNC option");
		return;
	}
	add_ok(c);
}

void function_list_command(struct client *c)
{
	for (int i = 2; i < c->argc; i++) {
		if (!strcasecmp(c->argv[i], "withcode")) {
			continue;
		} else if (!strcasecmp(c->argv[i], "libraryname") && i + 1 < c->argc) {
			i++;
		} else {
			add_errorf(c, "Unknown argument %.128s", c->argv[i]);
			return;
		}
	}
	add_array(c, 0);
}

void function_help_command(struct client *c)
{
	static const char *const help[] = {
		"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"FLUSH [ASYNC|SYNC]",
		"    Delete all the libraries (hkv-server has no scripting: there are none).",
		"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
		"    Return general information on all the libraries (always empty).",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}
