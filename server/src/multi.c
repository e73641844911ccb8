// SPDX-License-Identifier: MIT
/*
 * multi.c - MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * MULTI queues commands (copies of their arguments: the request buffer moves on); EXEC runs
 * them back to back on the server thread inside one engine transaction (hkv_txn_run()): every
 * command reads and writes through the transaction's handle (c->db), so the whole EXEC is
 * applied as one write, seen by every reader and by every other door (the mount, hkvctl)
 * wholly or not at all, and survives a crash wholly or not at all. A command that fails inside
 * (a wrong type) replies with its error and the others go on, as in Redis. If the transaction
 * itself cannot be applied (a full disk, an I/O error), nothing is in the store and EXEC
 * replies with that error instead of the replies of the queued commands.
 *
 * WATCH records the version the engine holds for each key (0 when absent or expired). The
 * engine changes a key's version on every change, whoever makes it (RESP clients, the mount,
 * hkvctl, expiry), so EXEC compares versions instead of tracking touches: a watched key that
 * changed, expired or appeared aborts the transaction (a null reply); one that was already
 * expired when watched and is still absent does not (Redis's stale-key rule).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

static uint64_t key_version(struct hkv *db, const void *key, size_t klen)
{
	struct hkv_attr a;

	if (hkv_attr_get(db, key, klen, &a))
		return 0;
	return a.version;
}

void flag_transaction(struct client *c)
{
	if (c->flags & CL_MULTI)
		c->flags |= CL_DIRTY_EXEC;
}

void multi_queue(struct client *c)
{
	struct mcmd *m;
	size_t bytes = 0;
	char *p;

	if (c->mcount == c->mcap) {
		int cap = c->mcap ? c->mcap * 2 : 8;
		struct mcmd *q = realloc(c->mq, (size_t)cap * sizeof(*q));

		if (!q)
			goto oom;
		c->mq = q;
		c->mcap = cap;
	}
	for (int i = 0; i < c->argc; i++)
		bytes += c->argvlen[i] + 1;
	m = &c->mq[c->mcount];
	m->argv = malloc((size_t)c->argc * (sizeof(char *) + sizeof(size_t)) + bytes);
	if (!m->argv)
		goto oom;
	m->argvlen = (size_t *)(m->argv + c->argc);
	p = (char *)(m->argvlen + c->argc);
	for (int i = 0; i < c->argc; i++) {
		memcpy(p, c->argv[i], c->argvlen[i]);
		p[c->argvlen[i]] = 0;
		m->argv[i] = p;
		m->argvlen[i] = c->argvlen[i];
		p += c->argvlen[i] + 1;
	}
	m->argc = c->argc;
	m->cmd = c->cmd;
	c->mcount++;
	add_status(c, "QUEUED");
	return;
oom:
	flag_transaction(c);
	add_error(c, "-OOM cannot queue the command: out of memory");
}

void multi_discard(struct client *c)
{
	for (int i = 0; i < c->mcount; i++)
		free(c->mq[i].argv);
	free(c->mq);
	c->mq = NULL;
	c->mcount = c->mcap = 0;
	c->flags &= ~(CL_MULTI | CL_DIRTY_EXEC | CL_DIRTY_CAS);
	unwatch_all(c);
}

void unwatch_all(struct client *c)
{
	for (int i = 0; i < c->nwatch; i++)
		free(c->watch[i]);
	free(c->watch);
	c->watch = NULL;
	c->nwatch = c->watch_cap = 0;
}

static bool watched_changed(struct client *c)
{
	for (int i = 0; i < c->nwatch; i++) {
		struct watched *w = c->watch[i];

		if (key_version(c->db, w->key, w->klen) != w->version)
			return true;
	}
	return false;
}

void multi_command(struct client *c)
{
	if (c->flags & CL_MULTI) {
		add_error(c, "MULTI calls can not be nested");
		return;
	}
	c->flags |= CL_MULTI;
	add_ok(c);
}

void discard_command(struct client *c)
{
	if (!(c->flags & CL_MULTI)) {
		add_error(c, "DISCARD without MULTI");
		return;
	}
	multi_discard(c);
	add_ok(c);
}

struct exec_state {
	struct client *c;
	bool watch_failed;
};

static int exec_body(struct hkv *tx, void *arg)
{
	struct exec_state *st = arg;
	struct client *c = st->c;
	struct hkv *outer = c->db;

	c->db = tx;
	/* checked inside the transaction: no writer can slip in between check and commit */
	if (watched_changed(c)) {
		c->db = outer;
		st->watch_failed = true;
		return -ECANCELED;
	}
	add_array(c, c->mcount);
	for (int j = 0; j < c->mcount; j++) {
		struct mcmd *m = &c->mq[j];

		c->argc = m->argc;
		c->argv = m->argv;
		c->argvlen = m->argvlen;
		if (c->srv->flush_error && (m->cmd->flags & CMD_WRITE) && writes_refused(c))
			continue;
		call(c, m->cmd);
	}
	c->db = outer;
	return 0;
}

void exec_command(struct client *c)
{
	int orig_argc = c->argc;
	char **orig_argv = c->argv;
	size_t *orig_len = c->argvlen;
	struct cmd *orig_cmd = c->cmd;
	struct hkv_server *srv = c->srv;
	struct exec_state st = { c, false };
	size_t before;
	int rc;

	if (!(c->flags & CL_MULTI)) {
		add_error(c, "EXEC without MULTI");
		return;
	}
	if (c->flags & CL_DIRTY_EXEC) {
		add_error(c, "-EXECABORT Transaction discarded because of previous errors.");
		multi_discard(c);
		return;
	}
	c->flags |= CL_IN_EXEC;
	before = c->out.len;
	/* inside a pipeline batch (net.c) the EXEC nests in the batch's transaction */
	rc = hkv_txn_run(c->db, exec_body, &st);
	c->argc = orig_argc;
	c->argv = orig_argv;
	c->argvlen = orig_len;
	c->cmd = orig_cmd;
	c->lastcmd = orig_cmd;
	if (st.watch_failed) {
		add_null_array(c);
	} else if (rc < 0) {
		/* nothing of the transaction is in the store: its replies are withdrawn */
		if (c->out.len >= before)
			c->out.len = before;
		srv_log(srv, 0, "EXEC could not be applied: %s", hkv_strerror(rc));
		add_err_engine(c, rc);
	}
	/* the engine events of the queued commands are this client's own (server.c) */
	drain_watch_events(srv);
	c->flags &= ~CL_IN_EXEC;
	multi_discard(c);
}

void watch_command(struct client *c)
{
	if (c->flags & CL_MULTI) {
		add_error(c, "WATCH inside MULTI is not allowed");
		return;
	}
	for (int i = 1; i < c->argc; i++) {
		struct watched *w;
		bool dup = false;

		for (int j = 0; j < c->nwatch; j++)
			if (c->watch[j]->klen == c->argvlen[i] &&
			    !memcmp(c->watch[j]->key, c->argv[i], c->argvlen[i]))
				dup = true;
		if (dup)
			continue;
		if (c->nwatch == c->watch_cap) {
			int cap = c->watch_cap ? c->watch_cap * 2 : 4;
			struct watched **v = realloc(c->watch, (size_t)cap * sizeof(*v));

			if (!v)
				goto oom;
			c->watch = v;
			c->watch_cap = cap;
		}
		w = malloc(sizeof(*w) + c->argvlen[i]);
		if (!w)
			goto oom;
		w->klen = c->argvlen[i];
		memcpy(w->key, c->argv[i], w->klen);
		w->version = key_version(c->db, w->key, w->klen);
		c->watch[c->nwatch++] = w;
	}
	add_ok(c);
	return;
oom:
	add_error(c, "-OOM cannot watch the key: out of memory");
}

void unwatch_command(struct client *c)
{
	unwatch_all(c);
	c->flags &= ~CL_DIRTY_CAS;
	add_ok(c);
}
