// SPDX-License-Identifier: MIT
/*
 * cluster.c - the handle of hkv/cluster.h (options, open, close) and the one routine every
 * command goes through (cl_exec()); the node registry and pools are in node.c, the slot map
 * in slotmap.c.
 *
 * The map is read here one entry at a time, without a lock. A MOVED reply patches its one
 * slot at once and sets need_refresh, so the next call that finds refresh_lock free reloads
 * the whole map (a MOVED for one slot usually means many moved). A standalone server owns
 * every slot and is never reloaded.
 *
 * cl_exec(): the retry loop. One budget (opts.io_timeout_ms) bounds the whole call: connects,
 * sends, reads, redirects, refreshes and backoff sleeps all use the same absolute deadline.
 *
 *   reply / failure                     action
 *   MOVED slot host:port                map[slot] = that node, schedule a refresh, resend
 *   ASK slot host:port                  resend to that node after ASKING, map unchanged
 *   TRYAGAIN, CLUSTERDOWN, LOADING,     backoff (10 ms doubling to 500 ms), refresh on
 *   MASTERDOWN, READONLY                CLUSTERDOWN/READONLY, resend
 *   connect refused / unreachable /     backoff, refresh from any reachable node, resend
 *   reset / timeout
 *   budget spent                        -ECONNREFUSED or -EHOSTUNREACH if the last failure
 *                                       was one, else -ETIMEDOUT; one log line
 *   more than max_redirects             -EIO; one log line
 *
 * A pipeline is resent whole after a redirect only when nothing in it took effect (see
 * hkv_cluster_pipeline() in the header), or with HKV_CLUSTER_IDEMPOTENT. With
 * HKV_CLUSTER_ONCE a connection lost after the first byte was sent ends the call with -EIO.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cluster_int.h"

/* ------------------------------------------------------------------------------------
 * Log
 * ------------------------------------------------------------------------------------ */

void cl_log(struct hkv_cluster *cl, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (level > cl->o.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cl->o.log)
		cl->o.log(cl->o.log_arg, level, msg);
	else
		fprintf(stderr, "hkv-remote: %s\n", msg);
}

/* printable, bounded copy of a command name for logs */
static const char *cmd_name(const struct hkv_cluster_cmd *cmd, char *buf, size_t size)
{
	size_t n = cmd->argvlen[0] < size - 1 ? cmd->argvlen[0] : size - 1;

	for (size_t i = 0; i < n; i++) {
		char ch = cmd->argv[0][i];

		buf[i] = (ch > ' ' && ch < 127) ? ch : '?';
	}
	buf[n] = 0;
	return buf;
}

/* ------------------------------------------------------------------------------------
 * Open and close
 * ------------------------------------------------------------------------------------ */

static int opt_or(int v, int def)
{
	return v ? v : def;
}

int hkv_cluster_open(struct hkv_cluster **out, const struct hkv_cluster_opts *o)
{
	struct hkv_cluster *cl;
	struct rnode **map = NULL;
	const char *p;
	int rc = -EINVAL, nseeds = 0;

	*out = NULL;
	if (!o || !o->seeds || !o->seeds[0] || o->connect_timeout_ms < 0 ||
	    o->io_timeout_ms < 0 || o->max_redirects < 0 || o->pool_idle_max < 0 ||
	    o->wait_replicas < 0 || o->wait_timeout_ms < 0) {
		if (o && o->log)
			o->log(o->log_arg, HKV_CLUSTER_LOG_ERR, "no seed list, or a negative option");
		else
			fprintf(stderr, "hkv-remote: no seed list, or a negative option\n");
		return -EINVAL;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->o.connect_timeout_ms = opt_or(o->connect_timeout_ms, 1000);
	cl->o.io_timeout_ms = opt_or(o->io_timeout_ms, 5000);
	cl->o.max_redirects = opt_or(o->max_redirects, 16);
	cl->o.pool_idle_max = opt_or(o->pool_idle_max, 32);
	cl->o.wait_replicas = opt_or(o->wait_replicas, 1);
	cl->o.wait_timeout_ms = opt_or(o->wait_timeout_ms, 1000);
	cl->o.log = o->log;
	cl->o.log_arg = o->log_arg;
	cl->o.log_level = opt_or(o->log_level, HKV_CLUSTER_LOG_WARN);
	cl->cluster = true;
	cl->trk_wake = -1;
	pthread_mutex_init(&cl->nodes_lock, NULL);
	pthread_mutex_init(&cl->refresh_lock, NULL);
	pthread_mutex_init(&cl->trk_lock, NULL);
	pthread_cond_init(&cl->trk_cond, NULL);
	cl->o.seeds = strdup(o->seeds);
	cl->o.user = o->user ? strdup(o->user) : NULL;
	cl->o.password = o->password ? strdup(o->password) : NULL;
	map = calloc(HKV_CLUSTER_SLOTS, sizeof(*map));
	if (!cl->o.seeds || (o->user && !cl->o.user) || (o->password && !cl->o.password) || !map) {
		rc = -ENOMEM;
		goto out_close;
	}

	/* every seed must parse before any is tried: a typo is an error, not a skipped seed */
	for (p = cl->o.seeds; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char host[256];
		int port;

		if (cl_parse_addr(p, len, host, sizeof(host), &port)) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR,
			       "bad seed \"%.*s\" in \"%s\": expected host:port[,host:port...]",
			       (int)(len > 200 ? 200 : len), p, cl->o.seeds);
			rc = -EINVAL;
			goto out_close;
		}
		if (!cl_node_get(cl, host, port)) {
			rc = -ENOMEM;
			goto out_close;
		}
		nseeds++;
		p += len;
		if (*p == ',' && !*++p) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "bad seed list \"%s\": trailing comma",
			       cl->o.seeds);
			rc = -EINVAL;
			goto out_close;
		}
	}

	for (int i = 0; i < nseeds; i++) {
		struct rnode *seed = cl->nodes[i];
		bool standalone;
		int err;

		err = cl_load_map(cl, seed, map, &standalone,
			       rc_now_ms() + cl->o.connect_timeout_ms + cl->o.io_timeout_ms);
		if (err == 0) {
			if (standalone) {
				cl->cluster = false;
				for (int k = 0; k < HKV_CLUSTER_SLOTS; k++)
					map[k] = seed;
			}
			cl_store_map(cl, map);
			rc = 0;
			break;
		}
		cl_log(cl, HKV_CLUSTER_LOG_WARN, "seed %s: %s", seed->addr, strerror(-err));
		/* keep the most telling error: refused authentication or a bad answer first */
		if (rc != -EACCES && rc != -EIO)
			rc = err;
	}
	if (rc) {
		cl_log(cl, HKV_CLUSTER_LOG_ERR, "no seed of \"%s\" answered with a slot map: %s",
		       cl->o.seeds, strerror(-rc));
		goto out_close;
	}
	for (int k = 0; k < HKV_CLUSTER_SLOTS; k++) {
		if (!map[k]) {
			cl_log(cl, HKV_CLUSTER_LOG_WARN, "slot %d has no master yet", k);
			atomic_store(&cl->need_refresh, true);
			break;
		}
	}
	free(map);
	*out = cl;
	return 0;

out_close:
	free(map);
	hkv_cluster_close(cl);
	return rc;
}

void hkv_cluster_close(struct hkv_cluster *cl)
{
	if (!cl)
		return;
	trk_stop(cl);
	for (int i = 0; i < cl->nnodes; i++)
		cl_node_free(cl->nodes[i]);
	free(cl->nodes);
	pthread_mutex_destroy(&cl->nodes_lock);
	pthread_mutex_destroy(&cl->refresh_lock);
	pthread_mutex_destroy(&cl->trk_lock);
	pthread_cond_destroy(&cl->trk_cond);
	free((char *)cl->o.seeds);
	free((char *)cl->o.user);
	free((char *)cl->o.password);
	free(cl);
}

bool hkv_cluster_is_cluster(const struct hkv_cluster *cl)
{
	return cl->cluster;
}

int hkv_cluster_nodes(struct hkv_cluster *cl, char *buf, size_t size)
{
	struct rnode **ns;
	size_t off = 0;
	int n = cl_masters(cl, &ns, NULL);

	if (size)
		buf[0] = 0;
	for (int i = 0; i < n; i++) {
		int w = snprintf(buf + off, off < size ? size - off : 0, "%s%s", i ? "," : "",
				 ns[i]->addr);

		off += (size_t)w;
	}
	if (n > 0)
		free(ns);
	return n;
}

int hkv_cluster_addr_of(struct hkv_cluster *cl, const void *key, size_t klen, char *buf,
			size_t size)
{
	struct rnode *n = atomic_load(&cl->slots[hkv_cluster_keyslot(key, klen)]);

	if (!n)
		return -EHOSTUNREACH;
	snprintf(buf, size, "%s", n->addr);
	return 0;
}

/* ------------------------------------------------------------------------------------
 * The retry loop
 * ------------------------------------------------------------------------------------ */

/*
 * The caller's request deadline (hkv_cluster_request_begin()): per thread, for one cluster.
 * 0 when the thread is not inside a request.
 */
static _Thread_local struct {
	const struct hkv_cluster *cl;
	int64_t deadline;
} req;

void hkv_cluster_request_begin(struct hkv_cluster *cl, int budget_ms)
{
	req.cl = cl;
	req.deadline = rc_now_ms() + (budget_ms > 0 ? budget_ms : cl->o.io_timeout_ms);
}

void hkv_cluster_request_end(struct hkv_cluster *cl)
{
	if (req.cl == cl) {
		req.cl = NULL;
		req.deadline = 0;
	}
}

int64_t cl_deadline(const struct hkv_cluster *cl)
{
	int64_t d = rc_now_ms() + cl->o.io_timeout_ms;

	return req.cl == cl && req.deadline < d ? req.deadline : d;
}

const char *cl_budget_name(const struct hkv_cluster *cl, int64_t deadline, char *buf)
{
	if (req.cl == cl && req.deadline == deadline)
		return "the request's deadline";
	/* @buf: the caller's scratch of at least 16 bytes */
	snprintf(buf, 16, "%d ms", cl->o.io_timeout_ms);
	return buf;
}

void cl_backoff(int attempt, int64_t deadline)
{
	int64_t ms = attempt >= 6 ? 500 : 10LL << attempt, left = deadline - rc_now_ms();
	struct timespec ts;

	if (ms > 500)
		ms = 500;
	if (ms > left)
		ms = left;
	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

enum redir { R_NONE, R_MOVED, R_ASK, R_RETRY, R_RETRY_REFRESH };

/* what an error reply asks for; for MOVED/ASK *@to is the target */
static enum redir classify(struct hkv_cluster *cl, struct rnode *from,
			   const struct hkv_resp_value *v, struct rnode **to)
{
	const char *s, *sp;
	char host[256];
	int port;
	bool ask;

	if (!cl_reply_is_error(v))
		return R_NONE;
	s = v->str;
	if (!strncmp(s, "TRYAGAIN", 8) || !strncmp(s, "LOADING", 7) || !strncmp(s, "MASTERDOWN", 10))
		return R_RETRY;
	if (!strncmp(s, "CLUSTERDOWN", 11) || !strncmp(s, "READONLY", 8))
		return R_RETRY_REFRESH;
	ask = !strncmp(s, "ASK ", 4);
	if (!ask && strncmp(s, "MOVED ", 6))
		return R_NONE;
	sp = strchr(s + (ask ? 4 : 6), ' ');
	if (!sp)
		return R_NONE;
	sp++;
	if (sp[0] == ':') {
		/* "MOVED 3999 :6381": same host as the node that answered */
		snprintf(host, sizeof(host), "%s", from->host);
		port = atoi(sp + 1);
		if (port < 1 || port > 65535)
			return R_NONE;
	} else if (cl_parse_addr(sp, strlen(sp), host, sizeof(host), &port)) {
		return R_NONE;
	}
	*to = cl_node_get(cl, host, port);
	if (!*to)
		return R_NONE;
	return ask ? R_ASK : R_MOVED;
}

static bool cmd_is(const struct hkv_cluster_cmd *c, const char *name)
{
	return c->argvlen[0] == strlen(name) && !strncasecmp(c->argv[0], name, c->argvlen[0]);
}

/* nothing in the pipeline took effect: it may be sent again whole */
static bool replayable(int n, const struct hkv_cluster_cmd *cmds, struct hkv_resp_value **r,
		       enum redir *kind)
{
	for (int i = 0; i < n; i++) {
		if (kind[i] != R_NONE)
			continue;
		if (r[i]->type == HKV_RESP_STATUS && !strcmp(r[i]->str, "QUEUED"))
			continue;
		if (cl_reply_is_error(r[i]) && !strncmp(r[i]->str, "EXECABORT", 9))
			continue;
		if (cmd_is(&cmds[i], "MULTI") || cmd_is(&cmds[i], "WATCH") ||
		    cmd_is(&cmds[i], "UNWATCH") || cmd_is(&cmds[i], "DISCARD") ||
		    cmd_is(&cmds[i], "ASKING"))
			continue;
		return false;
	}
	return true;
}

static void free_replies(int n, struct hkv_resp_value **r)
{
	for (int i = 0; i < n; i++) {
		hkv_resp_value_free(r[i]);
		r[i] = NULL;
	}
}

/* a failure of the connection (retried), not of the request or of what the server said */
static bool conn_error(int rc)
{
	return rc != -ENOMEM && rc != -EINVAL && rc != -EACCES && rc != -EIO;
}

int cl_exec(struct hkv_cluster *cl, int slot, unsigned int flags, int n,
	    const struct hkv_cluster_cmd *cmds, struct hkv_resp_value **replies, int64_t deadline,
	    struct rnode **used)
{
	static atomic_uint any_rr;
	static const char *const asking[] = { "ASKING" };
	static const size_t asking_len[] = { 6 };
	struct hkv_cluster_cmd *all = NULL;
	struct hkv_resp_value **r = NULL;
	enum redir *kind = NULL;
	struct rnode *node = NULL, *ask_to = NULL;
	int attempt = 0, redirects = 0, rc = 0, last = 0, total, first;
	char name[40], waitn[16], waitt[16], budget[16];
	const char *waitv[3] = { "WAIT", waitn, waitt };
	size_t waitl[3] = { 4 };

	cmd_name(&cmds[0], name, sizeof(name));
	/* [ASKING] cmds... [WAIT]: one array, the optional ends switched on per attempt */
	total = n + 2;
	all = calloc((size_t)total, sizeof(*all));
	r = calloc((size_t)total, sizeof(*r));
	kind = calloc((size_t)total, sizeof(*kind));
	if (!all || !r || !kind) {
		rc = -ENOMEM;
		goto out_free;
	}
	all[0] = (struct hkv_cluster_cmd){ 1, asking, asking_len };
	memcpy(all + 1, cmds, (size_t)n * sizeof(*cmds));
	waitl[1] = (size_t)snprintf(waitn, sizeof(waitn), "%d", cl->o.wait_replicas);
	waitl[2] = (size_t)snprintf(waitt, sizeof(waitt), "%d", cl->o.wait_timeout_ms);
	all[n + 1] = (struct hkv_cluster_cmd){ 3, waitv, waitl };

	for (;;) {
		struct rconn *c = NULL;
		enum redir worst = R_NONE;
		struct rnode *to = NULL;
		bool sent = false;
		int cnt;

		if (rc_now_ms() >= deadline) {
			rc = last == -ECONNREFUSED || last == -EHOSTUNREACH ? last : -ETIMEDOUT;
			cl_log(cl, HKV_CLUSTER_LOG_ERR,
			       "%s (slot %d) to %s: %s spent after %d attempts%s%s", name, slot,
			       node ? node->addr : "no node", cl_budget_name(cl, deadline, budget),
			       attempt + 1, last ? ", last failure: " : "",
			       last ? strerror(-last) : "");
			goto out_free;
		}
		if (cl->cluster && atomic_load(&cl->need_refresh))
			cl_refresh_from(cl, deadline, true);
		if (ask_to) {
			node = ask_to;
		} else {
			unsigned int rr = atomic_fetch_add(&any_rr, 1) * 1031u;
			int s = slot >= 0 ? slot : (int)(rr % HKV_CLUSTER_SLOTS);

			node = atomic_load(&cl->slots[s]);
		}
		if (!node) {
			last = -EHOSTUNREACH;
			atomic_store(&cl->need_refresh, true);
			cl_backoff(attempt++, deadline);
			continue;
		}
		trk_before_call(cl, node, deadline);
		rc = cl_pool_get(cl, node, deadline, &c);
		if (rc) {
			if (!conn_error(rc))
				goto out_log;
			last = rc;
			cl_log(cl, HKV_CLUSTER_LOG_DEBUG, "%s: connect: %s", node->addr, strerror(-rc));
			atomic_store(&cl->need_refresh, true);
			ask_to = NULL;
			cl_backoff(attempt++, deadline);
			continue;
		}
		/* the slice all[first .. first + cnt) is [ASKING] cmds [WAIT] */
		first = ask_to ? 0 : 1;
		cnt = n + (ask_to ? 1 : 0) + ((flags & HKV_CLUSTER_WAIT) ? 1 : 0);
		sent = true;
		rc = rc_send(c, cnt, all + first, deadline);
		for (int i = 0; !rc && i < cnt; i++)
			rc = rc_recv(c, &r[i], deadline);
		if (rc) {
			free_replies(total, r);
			rc_close(c);
			if (!conn_error(rc))
				goto out_log;
			last = rc;
			if (sent && (flags & HKV_CLUSTER_ONCE)) {
				rc = rc == -ETIMEDOUT ? rc : -EIO;
				cl_log(cl, HKV_CLUSTER_LOG_ERR,
				       "%s (slot %d) to %s: connection lost after sending (%s): outcome unknown",
				       name, slot, node->addr, strerror(-last));
				goto out_free;
			}
			cl_log(cl, HKV_CLUSTER_LOG_DEBUG, "%s: %s", node->addr, strerror(-rc));
			atomic_store(&cl->need_refresh, true);
			ask_to = NULL;
			cl_backoff(attempt++, deadline);
			continue;
		}
		trk_after_reply(cl, node, deadline);
		cl_pool_put(cl, node, c);
		if (ask_to) {
			/* the ASKING reply is ours, not the caller's */
			hkv_resp_value_free(r[0]);
			memmove(r, r + 1, (size_t)(cnt - 1) * sizeof(*r));
			r[cnt - 1] = NULL;
			cnt--;
		}
		ask_to = NULL;
		for (int i = 0; i < n; i++) {
			struct rnode *t = NULL;

			kind[i] = classify(cl, node, r[i], &t);
			if (kind[i] != R_NONE && (worst == R_NONE || kind[i] < worst)) {
				worst = kind[i];
				if (t)
					to = t;
			}
		}
		if (worst != R_NONE &&
		    ((flags & HKV_CLUSTER_IDEMPOTENT) || replayable(n, cmds, r, kind))) {
			free_replies(total, r);
			if (worst == R_MOVED || worst == R_ASK) {
				if (++redirects > cl->o.max_redirects) {
					rc = -EIO;
					cl_log(cl, HKV_CLUSTER_LOG_ERR,
					       "%s (slot %d): more than %d redirects, last to %s", name,
					       slot, cl->o.max_redirects, to->addr);
					goto out_free;
				}
				if (worst == R_MOVED) {
					if (slot >= 0 && atomic_load(&cl->slots[slot]) != to) {
						atomic_store(&cl->slots[slot], to);
						atomic_fetch_add(&cl->map_epoch, 1);
						trk_map_changed(cl);
					}
					atomic_store(&cl->need_refresh, true);
				} else {
					ask_to = to;
				}
				continue;
			}
			last = 0;
			if (worst == R_RETRY_REFRESH)
				atomic_store(&cl->need_refresh, true);
			cl_backoff(attempt++, deadline);
			continue;
		}
		if (worst != R_NONE)
			cl_log(cl, HKV_CLUSTER_LOG_WARN,
			       "%s (slot %d) on %s: a redirect in a pipeline that partly ran; replies returned as they are",
			       name, slot, node->addr);
		if (flags & HKV_CLUSTER_WAIT) {
			struct hkv_resp_value *w = r[n];

			if (w->type != HKV_RESP_INTEGER || w->integer < cl->o.wait_replicas) {
				rc = -EIO;
				cl_log(cl, HKV_CLUSTER_LOG_ERR,
				       "%s (slot %d) on %s: WAIT %d %d: %s", name, slot, node->addr,
				       cl->o.wait_replicas, cl->o.wait_timeout_ms,
				       w->type == HKV_RESP_INTEGER ? "too few replicas acknowledged" :
								     (w->str ? w->str : "bad reply"));
				free_replies(total, r);
				goto out_free;
			}
			hkv_resp_value_free(r[n]);
			r[n] = NULL;
		}
		memcpy(replies, r, (size_t)n * sizeof(*r));
		if (used)
			*used = node;
		rc = 0;
		goto out_free;
	}

out_log:
	cl_log(cl, HKV_CLUSTER_LOG_ERR, "%s (slot %d) to %s: %s", name, slot,
	       node ? node->addr : "no node", strerror(-rc));
out_free:
	free(kind);
	free(r);
	free(all);
	return rc;
}

/* ------------------------------------------------------------------------------------
 * Public calls
 * ------------------------------------------------------------------------------------ */

int hkv_cluster_pipeline(struct hkv_cluster *cl, const void *key, size_t klen,
			 unsigned int flags, int n, const struct hkv_cluster_cmd *cmds,
			 struct hkv_resp_value **replies)
{
	int slot = key ? (int)hkv_cluster_keyslot(key, klen) : -1;

	if (n < 1 || !cmds || !replies) {
		cl_log(cl, HKV_CLUSTER_LOG_ERR, "pipeline: no commands");
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		replies[i] = NULL;
		if (cmds[i].argc < 1 || !cmds[i].argv || !cmds[i].argvlen) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "pipeline: command %d has no arguments", i);
			return -EINVAL;
		}
	}
	return cl_exec(cl, slot, flags, n, cmds, replies, cl_deadline(cl), NULL);
}

int hkv_cluster_call(struct hkv_cluster *cl, const void *key, size_t klen, int argc,
		     const char *const *argv, const size_t *argvlen,
		     struct hkv_resp_value **reply)
{
	struct hkv_cluster_cmd cmd = { argc, argv, argvlen };

	*reply = NULL;
	return hkv_cluster_pipeline(cl, key, klen, 0, 1, &cmd, reply);
}

int hkv_cluster_call_masters(struct hkv_cluster *cl, int argc, const char *const *argv,
			     const size_t *argvlen, hkv_cluster_master_fn fn, void *arg)
{
	struct hkv_cluster_cmd cmd = { argc, argv, argvlen };
	int64_t deadline = cl_deadline(cl);
	struct rnode **ns;
	int *slots, n, rc = 0;

	if (argc < 1 || !argv || !argvlen)
		return -EINVAL;
	n = cl_masters(cl, &ns, &slots);
	if (n < 0)
		return n;
	for (int i = 0; i < n && !rc; i++) {
		struct hkv_resp_value *r = NULL;
		struct rnode *used = NULL;

		rc = cl_exec(cl, slots[i], 0, 1, &cmd, &r, deadline, &used);
		if (!rc)
			rc = fn(arg, used->addr, r);
		hkv_resp_value_free(r);
	}
	free(ns);
	free(slots);
	return rc;
}
