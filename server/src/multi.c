// SPDX-License-Identifier: MIT
/*
 * multi.c - MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * MULTI queues commands (copies of their arguments: the request buffer moves on); EXEC runs
 * them back to back on the server thread. No other client's command runs in between, which
 * is Redis's isolation. The engine has no multi-command transaction yet: each queued command
 * is its own engine write, so a crash in the middle of an EXEC can leave a prefix of it
 * applied (the engine's transaction API will make EXEC one engine transaction; the queue and
 * its execution are here, so that change stays in exec_command()). Writes made through the
 * mount while an EXEC runs can interleave with it.
 *
 * WATCH records the version the engine holds for each key (0 when absent or expired). The
 * engine changes a key's version on every change, whoever makes it (RESP clients, the mount,
 * hkvctl, expiry), so EXEC compares versions instead of tracking touches: a watched key that
 * changed, expired or appeared aborts the transaction (a null reply); one that was already
 * expired when watched and is still absent does not (Redis's stale-key rule).
 */
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

void exec_command(struct client *c)
{
	int orig_argc = c->argc;
	char **orig_argv = c->argv;
	size_t *orig_len = c->argvlen;
	struct cmd *orig_cmd = c->cmd;
	struct hkv_server *srv = c->srv;

	if (!(c->flags & CL_MULTI)) {
		add_error(c, "EXEC without MULTI");
		return;
	}
	if (c->flags & CL_DIRTY_EXEC) {
		add_error(c, "-EXECABORT Transaction discarded because of previous errors.");
		multi_discard(c);
		return;
	}
	if (watched_changed(c)) {
		add_null_array(c);
		multi_discard(c);
		return;
	}
	unwatch_all(c);
	c->flags |= CL_IN_EXEC;
	add_array(c, c->mcount);
	for (int j = 0; j < c->mcount; j++) {
		struct mcmd *m = &c->mq[j];

		c->argc = m->argc;
		c->argv = m->argv;
		c->argvlen = m->argvlen;
		if (srv->flush_error && (m->cmd->flags & CMD_WRITE) && writes_refused(c))
			continue;
		call(c, m->cmd);
	}
	c->flags &= ~CL_IN_EXEC;
	c->argc = orig_argc;
	c->argv = orig_argv;
	c->argvlen = orig_len;
	c->cmd = orig_cmd;
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
