// SPDX-License-Identifier: MIT
/*
 * session.c - one pooled connection held across round trips (hkv_cluster_session_*).
 *
 * WATCH, and a MULTI whose commands depend on what was read after the WATCH, live on one
 * connection: a check-and-set is WATCH k, GET k, (the caller decides), MULTI, SET k v, EXEC.
 * A session takes a connection to the master of one slot from its pool and keeps it until
 * closed. Unlike cl_exec(), nothing here follows a redirect or sends anything twice: a
 * transaction cannot move to another node halfway, so MOVED/ASK/TRYAGAIN/CLUSTERDOWN end the
 * attempt with -EAGAIN (the caller runs the transaction again), and a lost connection makes
 * the outcome unknown (-EIO).
 *
 * Invariant: a connection goes back to the pool with no WATCH and no MULTI open. The session
 * follows the command names it sent (WATCH opens a watch; MULTI a transaction; EXEC and
 * DISCARD close both; UNWATCH the watch) and, at close, sends DISCARD and/or UNWATCH when
 * something is still open; a broken connection is closed instead.
 *
 * The tracking order holds as for other calls: trk_before_call() at open, trk_after_reply()
 * after each reply batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster_int.h"

struct hkv_cluster_session {
	struct hkv_cluster *cl;
	struct rnode *node;
	struct rconn *c;
	int slot;
	bool broken;
	bool watching;
	bool in_multi;
};

static bool is_cmd(const struct hkv_cluster_cmd *c, const char *name)
{
	return c->argvlen[0] == strlen(name) && !strncasecmp(c->argv[0], name, c->argvlen[0]);
}

int hkv_cluster_session_open(struct hkv_cluster *cl, const void *key, size_t klen,
			     struct hkv_cluster_session **out)
{
	int64_t deadline = cl_deadline(cl);
	struct hkv_cluster_session *s;
	int attempt = 0, last = 0, rc;

	*out = NULL;
	if (!key)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cl = cl;
	s->slot = (int)hkv_cluster_keyslot(key, klen);
	for (;;) {
		if (rc_now_ms() >= deadline) {
			rc = last == -ECONNREFUSED || last == -EHOSTUNREACH ? last : -ETIMEDOUT;
			char budget[16];

			cl_log(cl, HKV_CLUSTER_LOG_ERR,
			       "session (slot %d): no connection to its master within %s: %s",
			       s->slot, cl_budget_name(cl, deadline, budget), strerror(-rc));
			goto out_free;
		}
		if (cl->cluster && atomic_load(&cl->need_refresh))
			cl_refresh_from(cl, deadline, true);
		s->node = atomic_load(&cl->slots[s->slot]);
		if (!s->node) {
			last = -EHOSTUNREACH;
			atomic_store(&cl->need_refresh, true);
			cl_backoff(attempt++, deadline);
			continue;
		}
		trk_before_call(cl, s->node, deadline);
		rc = cl_pool_get(cl, s->node, deadline, &s->c);
		if (rc == 0)
			break;
		if (rc == -EACCES || rc == -ENOMEM || rc == -EIO || rc == -EINVAL) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "session (slot %d) to %s: %s", s->slot,
			       s->node->addr, strerror(-rc));
			goto out_free;
		}
		last = rc;
		atomic_store(&cl->need_refresh, true);
		cl_backoff(attempt++, deadline);
	}
	*out = s;
	return 0;

out_free:
	free(s);
	return rc;
}

static void free_all(int n, struct hkv_resp_value **r)
{
	for (int i = 0; i < n; i++) {
		hkv_resp_value_free(r[i]);
		r[i] = NULL;
	}
}

int hkv_cluster_session_pipeline(struct hkv_cluster_session *s, unsigned int flags, int n,
				 const struct hkv_cluster_cmd *cmds,
				 struct hkv_resp_value **replies)
{
	struct hkv_cluster *cl = s->cl;
	int64_t deadline = cl_deadline(cl);
	struct hkv_cluster_cmd *all;
	struct hkv_resp_value **r;
	char waitn[16], waitt[16];
	const char *waitv[3] = { "WAIT", waitn, waitt };
	size_t waitl[3] = { 4 };
	int cnt = n + ((flags & HKV_CLUSTER_WAIT) ? 1 : 0), rc = 0;

	if (n < 1 || !cmds || !replies)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		replies[i] = NULL;
		if (cmds[i].argc < 1 || !cmds[i].argv || !cmds[i].argvlen)
			return -EINVAL;
	}
	if (s->broken)
		return -EIO;
	all = calloc((size_t)cnt, sizeof(*all));
	r = calloc((size_t)cnt, sizeof(*r));
	if (!all || !r) {
		rc = -ENOMEM;
		goto out_free;
	}
	memcpy(all, cmds, (size_t)n * sizeof(*cmds));
	waitl[1] = (size_t)snprintf(waitn, sizeof(waitn), "%d", cl->o.wait_replicas);
	waitl[2] = (size_t)snprintf(waitt, sizeof(waitt), "%d", cl->o.wait_timeout_ms);
	if (flags & HKV_CLUSTER_WAIT)
		all[n] = (struct hkv_cluster_cmd){ 3, waitv, waitl };

	rc = rc_send(s->c, cnt, all, deadline);
	for (int i = 0; !rc && i < cnt; i++)
		rc = rc_recv(s->c, &r[i], deadline);
	if (rc) {
		free_all(cnt, r);
		s->broken = true;
		if (rc != -ETIMEDOUT && rc != -ENOMEM)
			rc = -EIO;
		cl_log(cl, HKV_CLUSTER_LOG_ERR,
		       "session (slot %d) on %s: %s; the outcome of what was sent is unknown",
		       s->slot, s->node->addr, strerror(-rc));
		goto out_free;
	}
	trk_after_reply(cl, s->node, deadline);
	for (int i = 0; i < n; i++) {
		if (is_cmd(&cmds[i], "WATCH"))
			s->watching = true;
		else if (is_cmd(&cmds[i], "UNWATCH"))
			s->watching = false;
		else if (is_cmd(&cmds[i], "MULTI"))
			s->in_multi = true;
		else if (is_cmd(&cmds[i], "EXEC") || is_cmd(&cmds[i], "DISCARD"))
			s->watching = s->in_multi = false;
	}
	for (int i = 0; i < n; i++) {
		const char *e = cl_reply_is_error(r[i]) ? r[i]->str : NULL;

		if (e && (!strncmp(e, "MOVED ", 6) || !strncmp(e, "ASK ", 4) ||
			  !strncmp(e, "TRYAGAIN", 8) || !strncmp(e, "CLUSTERDOWN", 11))) {
			if (e[0] == 'M' || e[0] == 'C')
				atomic_store(&cl->need_refresh, true);
			cl_log(cl, HKV_CLUSTER_LOG_INFO, "session (slot %d) on %s: %s; try again",
			       s->slot, s->node->addr, e);
			free_all(cnt, r);
			rc = -EAGAIN;
			goto out_free;
		}
	}
	if (flags & HKV_CLUSTER_WAIT) {
		if (r[n]->type != HKV_RESP_INTEGER || r[n]->integer < cl->o.wait_replicas) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "session (slot %d) on %s: WAIT %d %d: %s",
			       s->slot, s->node->addr, cl->o.wait_replicas, cl->o.wait_timeout_ms,
			       r[n]->type == HKV_RESP_INTEGER ? "too few replicas acknowledged" :
								"bad reply");
			free_all(cnt, r);
			rc = -EIO;
			goto out_free;
		}
		hkv_resp_value_free(r[n]);
	}
	memcpy(replies, r, (size_t)n * sizeof(*r));
out_free:
	free(r);
	free(all);
	return rc;
}

void hkv_cluster_session_close(struct hkv_cluster_session *s)
{
	static const char *const discard[] = { "DISCARD" }, *const unwatch[] = { "UNWATCH" };
	static const size_t ld[] = { 7 }, lu[] = { 7 };
	struct hkv_cluster_cmd reset[2];
	int n = 0, rc = 0;

	if (!s)
		return;
	if (!s->broken && s->in_multi)
		reset[n++] = (struct hkv_cluster_cmd){ 1, discard, ld };
	if (!s->broken && s->watching)
		reset[n++] = (struct hkv_cluster_cmd){ 1, unwatch, lu };
	if (n) {
		int64_t deadline = cl_deadline(s->cl);

		rc = rc_send(s->c, n, reset, deadline);
		for (int i = 0; !rc && i < n; i++) {
			struct hkv_resp_value *v = NULL;

			rc = rc_recv(s->c, &v, deadline);
			hkv_resp_value_free(v);
		}
	}
	if (s->broken || rc)
		rc_close(s->c);
	else
		cl_pool_put(s->cl, s->node, s->c);
	free(s);
}
