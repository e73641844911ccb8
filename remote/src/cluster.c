// SPDX-License-Identifier: MIT
/*
 * cluster.c - the handle of hkv/cluster.h: options, the node registry, the slot map, the
 * per-node connection pools, and the one routine every command goes through (cl_exec()).
 *
 * Slot map. An array of 16384 atomic pointers to struct rnode, the master of each slot. A
 * call reads one entry without a lock; a refresh (one at a time, refresh_lock) computes a
 * whole new table from CLUSTER SHARDS (CLUSTER SLOTS on servers without it) and stores the
 * entries that changed, then increases map_epoch. A MOVED reply patches its one slot at once
 * and sets need_refresh, so the next call that finds refresh_lock free reloads the whole map
 * (a MOVED for one slot usually means many moved). Nodes live until hkv_cluster_close(), so a
 * pointer read from the map never dangles. A standalone server (CLUSTER answers "cluster
 * support disabled") owns every slot and is never refreshed.
 *
 * Pools. Each node keeps a LIFO stack of idle RESP2 connections (pool_lock). A call takes
 * one (or connects a new one), uses it alone, and gives it back only if the exchange ended
 * cleanly; more than opts.pool_idle_max idle ones are closed. An idle connection with
 * anything to read (the server closed it, or restarted) is discarded before use, so a stale
 * connection does not cost a failed attempt. The pool keeps N threads on N connections with
 * no lock held during I/O: tools/cluster-bench.c measures it against redis-benchmark.
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

	if (level > cl->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cl->log)
		cl->log(cl->log_arg, level, msg);
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
 * Node registry
 * ------------------------------------------------------------------------------------ */

int cl_parse_addr(const char *s, size_t len, char *host, size_t hostsz, int *port)
{
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	char num[8];
	long p;

	if (len && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (!rb || (size_t)(rb - s) + 1 >= len || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = NULL;
		for (size_t i = len; i > 0; i--) {
			if (s[i - 1] == ':') {
				colon = s + i - 1;
				break;
			}
		}
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostsz)
		return -EINVAL;
	len -= (size_t)(colon + 1 - s);
	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, colon + 1, len);
	num[len] = 0;
	for (size_t i = 0; i < len; i++)
		if (num[i] < '0' || num[i] > '9')
			return -EINVAL;
	p = strtol(num, &end, 10);
	if (p < 1 || p > 65535)
		return -EINVAL;
	for (size_t i = 0; i < hlen; i++)
		if (h[i] == ',' || h[i] == ' ' || h[i] == 0)
			return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	*port = (int)p;
	return 0;
}

struct rnode *cl_node_get(struct hkv_cluster *cl, const char *host, int port)
{
	struct rnode *n = NULL;

	pthread_mutex_lock(&cl->nodes_lock);
	for (int i = 0; i < cl->nnodes; i++) {
		if (cl->nodes[i]->port == port && !strcmp(cl->nodes[i]->host, host)) {
			n = cl->nodes[i];
			goto out_unlock;
		}
	}
	if (cl->nnodes == cl->nodes_cap) {
		int cap = cl->nodes_cap ? cl->nodes_cap * 2 : 8;
		struct rnode **nn = realloc(cl->nodes, (size_t)cap * sizeof(*nn));

		if (!nn)
			goto out_unlock;
		cl->nodes = nn;
		cl->nodes_cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out_unlock;
	n->host = strdup(host);
	if (!n->host) {
		free(n);
		n = NULL;
		goto out_unlock;
	}
	n->port = port;
	snprintf(n->addr, sizeof(n->addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	pthread_mutex_init(&n->pool_lock, NULL);
	cl->nodes[cl->nnodes++] = n;
out_unlock:
	pthread_mutex_unlock(&cl->nodes_lock);
	return n;
}

static void node_free(struct rnode *n)
{
	for (int i = 0; i < n->nidle; i++)
		rc_close(n->idle[i]);
	free(n->idle);
	rc_close(n->tconn);
	pthread_mutex_destroy(&n->pool_lock);
	free(n->host);
	free(n);
}

/* ------------------------------------------------------------------------------------
 * Connections and pools
 * ------------------------------------------------------------------------------------ */

static bool reply_is_error(const struct hkv_resp_value *v)
{
	return v->type == HKV_RESP_ERROR || v->type == HKV_RESP_BLOBERR;
}

int cl_connect(struct hkv_cluster *cl, struct rnode *node, bool resp3, int64_t deadline,
	       struct rconn **out)
{
	int64_t cdl = rc_now_ms() + cl->connect_timeout_ms;
	const char *argv[8];
	size_t argvlen[8];
	struct hkv_resp_value *r = NULL;
	struct rconn *c;
	int argc = 0, rc;

	if (cdl > deadline)
		cdl = deadline;
	rc = rc_open(&c, node->host, node->port, cdl);
	if (rc)
		return rc;
	if (resp3) {
		argv[argc++] = "HELLO";
		argv[argc++] = "3";
		if (cl->password) {
			argv[argc++] = "AUTH";
			argv[argc++] = cl->user ? cl->user : "default";
			argv[argc++] = cl->password;
		}
		/* named, so that CLIENT LIST shows which connections carry invalidations */
		argv[argc++] = "SETNAME";
		argv[argc++] = "hkv-track";
	} else if (cl->password) {
		argv[argc++] = "AUTH";
		if (cl->user)
			argv[argc++] = cl->user;
		argv[argc++] = cl->password;
	}
	if (argc) {
		for (int i = 0; i < argc; i++)
			argvlen[i] = strlen(argv[i]);
		rc = rc_call(c, argc, argv, argvlen, &r, cdl);
		if (rc)
			goto out_close;
		if (reply_is_error(r)) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "%s: %s refused: %s", node->addr,
			       resp3 ? "HELLO 3" : "AUTH", r->str);
			rc = (!strncmp(r->str, "WRONGPASS", 9) || !strncmp(r->str, "NOAUTH", 6) ||
			      strstr(r->str, "AUTH"))
				     ? -EACCES
				     : -EIO;
			goto out_close;
		}
		hkv_resp_value_free(r);
	}
	*out = c;
	return 0;

out_close:
	hkv_resp_value_free(r);
	rc_close(c);
	return rc;
}

static int pool_get(struct hkv_cluster *cl, struct rnode *node, int64_t deadline,
		    struct rconn **out)
{
	for (;;) {
		struct rconn *c = NULL;

		pthread_mutex_lock(&node->pool_lock);
		if (node->nidle)
			c = node->idle[--node->nidle];
		pthread_mutex_unlock(&node->pool_lock);
		if (!c)
			return cl_connect(cl, node, false, deadline, out);
		if (!rc_stale(c)) {
			*out = c;
			return 0;
		}
		rc_close(c);
	}
}

static void pool_put(struct hkv_cluster *cl, struct rnode *node, struct rconn *c)
{
	pthread_mutex_lock(&node->pool_lock);
	if (node->nidle < cl->pool_idle_max) {
		if (!node->idle) {
			node->idle = calloc((size_t)cl->pool_idle_max, sizeof(*node->idle));
			if (!node->idle)
				goto out_close;
		}
		node->idle[node->nidle++] = c;
		c = NULL;
	}
out_close:
	pthread_mutex_unlock(&node->pool_lock);
	rc_close(c);
}

/* ------------------------------------------------------------------------------------
 * Slot map
 * ------------------------------------------------------------------------------------ */

/* field @name of a RESP2 flat map (or RESP3 map) */
static const struct hkv_resp_value *map_get(const struct hkv_resp_value *m, const char *name)
{
	if (m->type != HKV_RESP_ARRAY && m->type != HKV_RESP_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < m->nelem; i += 2) {
		const struct hkv_resp_value *k = m->elem[i];

		if ((k->type == HKV_RESP_BULK || k->type == HKV_RESP_STATUS) && !strcmp(k->str, name))
			return m->elem[i + 1];
	}
	return NULL;
}

static bool is_str(const struct hkv_resp_value *v)
{
	return v && (v->type == HKV_RESP_BULK || v->type == HKV_RESP_STATUS ||
		     v->type == HKV_RESP_VERBATIM);
}

/* the address to reach a node listed by @from: "" means "the host you asked" */
static struct rnode *listed_node(struct hkv_cluster *cl, struct rnode *from, const char *host,
				 long long port, const char *id)
{
	struct rnode *n;

	if (port < 1 || port > 65535 || !strcmp(host, "?"))
		return NULL;
	n = cl_node_get(cl, host[0] ? host : from->host, (int)port);
	if (n && id && id[0] && !n->id[0])
		snprintf(n->id, sizeof(n->id), "%s", id);
	return n;
}

static int parse_shards(struct hkv_cluster *cl, struct rnode *from,
			const struct hkv_resp_value *r, struct rnode **map)
{
	if (r->type != HKV_RESP_ARRAY)
		return -EIO;
	for (size_t s = 0; s < r->nelem; s++) {
		const struct hkv_resp_value *slots = map_get(r->elem[s], "slots");
		const struct hkv_resp_value *nodes = map_get(r->elem[s], "nodes");
		struct rnode *master = NULL;

		if (!slots || !nodes || slots->type != HKV_RESP_ARRAY ||
		    nodes->type != HKV_RESP_ARRAY || slots->nelem % 2)
			return -EIO;
		for (size_t i = 0; i < nodes->nelem && !master; i++) {
			const struct hkv_resp_value *nd = nodes->elem[i];
			const struct hkv_resp_value *role = map_get(nd, "role");
			const struct hkv_resp_value *ep = map_get(nd, "endpoint");
			const struct hkv_resp_value *ip = map_get(nd, "ip");
			const struct hkv_resp_value *port = map_get(nd, "port");
			const struct hkv_resp_value *id = map_get(nd, "id");
			const char *host;

			if (!is_str(role) || strcmp(role->str, "master"))
				continue;
			if (!port || port->type != HKV_RESP_INTEGER)
				return -EIO;
			host = is_str(ep) && ep->str[0] && strcmp(ep->str, "?") ? ep->str :
			       is_str(ip) ? ip->str : "";
			master = listed_node(cl, from, host, port->integer, is_str(id) ? id->str : NULL);
			if (!master)
				return -ENOMEM;
		}
		for (size_t i = 0; master && i < slots->nelem; i += 2) {
			long long a = slots->elem[i]->integer, b = slots->elem[i + 1]->integer;

			if (slots->elem[i]->type != HKV_RESP_INTEGER ||
			    slots->elem[i + 1]->type != HKV_RESP_INTEGER || a < 0 || b < a ||
			    b >= HKV_CLUSTER_SLOTS)
				return -EIO;
			for (long long k = a; k <= b; k++)
				map[k] = master;
		}
	}
	return 0;
}

static int parse_slots(struct hkv_cluster *cl, struct rnode *from,
		       const struct hkv_resp_value *r, struct rnode **map)
{
	if (r->type != HKV_RESP_ARRAY)
		return -EIO;
	for (size_t s = 0; s < r->nelem; s++) {
		const struct hkv_resp_value *e = r->elem[s], *m;
		struct rnode *master;
		long long a, b;

		if (e->type != HKV_RESP_ARRAY || e->nelem < 3 ||
		    e->elem[0]->type != HKV_RESP_INTEGER || e->elem[1]->type != HKV_RESP_INTEGER)
			return -EIO;
		m = e->elem[2];
		if (m->type != HKV_RESP_ARRAY || m->nelem < 2 || !is_str(m->elem[0]) ||
		    m->elem[1]->type != HKV_RESP_INTEGER)
			return -EIO;
		a = e->elem[0]->integer;
		b = e->elem[1]->integer;
		if (a < 0 || b < a || b >= HKV_CLUSTER_SLOTS)
			return -EIO;
		master = listed_node(cl, from, m->elem[0]->str, m->elem[1]->integer,
				     m->nelem > 2 && is_str(m->elem[2]) ? m->elem[2]->str : NULL);
		if (!master)
			continue;
		for (long long k = a; k <= b; k++)
			map[k] = master;
	}
	return 0;
}

/*
 * Ask @node for the slot map. Return: 0 (@map filled; *@standalone set when the server is not
 * a cluster node), a connection -errno, -EIO (an answer that is no slot map), -ENOMEM.
 */
static int load_map(struct hkv_cluster *cl, struct rnode *node, struct rnode **map,
		    bool *standalone, int64_t deadline)
{
	static const char *const shards[] = { "CLUSTER", "SHARDS" };
	static const char *const slots[] = { "CLUSTER", "SLOTS" };
	static const size_t len[] = { 7, 6 };
	static const size_t len2[] = { 7, 5 };
	struct hkv_resp_value *r = NULL;
	struct rconn *c;
	int rc;

	*standalone = false;
	rc = pool_get(cl, node, deadline, &c);
	if (rc)
		return rc;
	rc = rc_call(c, 2, shards, len, &r, deadline);
	if (!rc && reply_is_error(r) && !strstr(r->str, "cluster support disabled")) {
		/* Redis before 7.0: no SHARDS */
		hkv_resp_value_free(r);
		rc = rc_call(c, 2, slots, len2, &r, deadline);
		if (!rc && !reply_is_error(r))
			rc = parse_slots(cl, node, r, map);
	} else if (!rc && !reply_is_error(r)) {
		rc = parse_shards(cl, node, r, map);
	}
	if (rc) {
		rc_close(c);
		goto out_free;
	}
	pool_put(cl, node, c);
	if (reply_is_error(r)) {
		if (strstr(r->str, "cluster support disabled")) {
			*standalone = true;
		} else if (!strncmp(r->str, "NOAUTH", 6) || !strncmp(r->str, "WRONGPASS", 9)) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "%s: %s", node->addr, r->str);
			rc = -EACCES;
		} else {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "%s: CLUSTER SLOTS: %s", node->addr, r->str);
			rc = -EIO;
		}
	}
out_free:
	hkv_resp_value_free(r);
	return rc;
}

/* Store @map; Return: whether anything changed */
static bool store_map(struct hkv_cluster *cl, struct rnode **map)
{
	bool changed = false;

	for (int i = 0; i < HKV_CLUSTER_SLOTS; i++) {
		if (atomic_load(&cl->slots[i]) != map[i]) {
			atomic_store(&cl->slots[i], map[i]);
			changed = true;
		}
	}
	if (changed) {
		atomic_fetch_add(&cl->map_epoch, 1);
		trk_map_changed(cl);
	}
	return changed;
}

int cl_masters(struct hkv_cluster *cl, struct rnode ***nodes, int **slots)
{
	struct rnode **ns = NULL;
	int *ss = NULL, n = 0, cap = 0;

	for (int i = 0; i < HKV_CLUSTER_SLOTS; i++) {
		struct rnode *m = atomic_load(&cl->slots[i]);
		int j;

		if (!m)
			continue;
		for (j = 0; j < n && ns[j] != m; j++)
			;
		if (j < n)
			continue;
		if (n == cap) {
			int nc = cap ? cap * 2 : 8;
			struct rnode **nn = realloc(ns, (size_t)nc * sizeof(*nn));
			int *sn;

			if (!nn)
				goto out_nomem;
			ns = nn;
			sn = realloc(ss, (size_t)nc * sizeof(*sn));
			if (!sn)
				goto out_nomem;
			ss = sn;
			cap = nc;
		}
		ns[n] = m;
		ss[n++] = i;
	}
	*nodes = ns;
	if (slots)
		*slots = ss;
	else
		free(ss);
	return n;

out_nomem:
	free(ns);
	free(ss);
	return -ENOMEM;
}

/*
 * Reload the map from the first node that answers: the masters of the current map first,
 * then every node ever seen (seeds included). @lazy: only if a refresh is still wanted and no
 * other thread is doing one (a call does not wait for another call's refresh).
 */
static int refresh(struct hkv_cluster *cl, int64_t deadline, bool lazy)
{
	struct rnode **map = NULL, **cand = NULL, **ms = NULL;
	int ncand = 0, nms, rc = -EHOSTUNREACH;
	bool standalone;

	if (!cl->cluster)
		return 0;
	if (lazy) {
		if (pthread_mutex_trylock(&cl->refresh_lock))
			return 0;
		if (!atomic_load(&cl->need_refresh)) {
			pthread_mutex_unlock(&cl->refresh_lock);
			return 0;
		}
	} else {
		pthread_mutex_lock(&cl->refresh_lock);
	}
	atomic_store(&cl->need_refresh, false);
	map = calloc(HKV_CLUSTER_SLOTS, sizeof(*map));
	nms = cl_masters(cl, &ms, NULL);
	pthread_mutex_lock(&cl->nodes_lock);
	cand = malloc(((size_t)cl->nnodes + (size_t)(nms > 0 ? nms : 0)) * sizeof(*cand));
	if (cand) {
		for (int i = 0; i < nms; i++)
			cand[ncand++] = ms[i];
		for (int i = 0; i < cl->nnodes; i++) {
			int j;

			for (j = 0; j < nms && ms[j] != cl->nodes[i]; j++)
				;
			if (j == nms)
				cand[ncand++] = cl->nodes[i];
		}
	}
	pthread_mutex_unlock(&cl->nodes_lock);
	if (!cand || !map || nms < 0) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	for (int i = 0; i < ncand && rc_now_ms() < deadline; i++) {
		memset(map, 0, HKV_CLUSTER_SLOTS * sizeof(*map));
		rc = load_map(cl, cand[i], map, &standalone, deadline);
		if (rc == 0 && standalone)
			rc = -EIO;
		if (rc == 0) {
			if (store_map(cl, map))
				cl_log(cl, HKV_CLUSTER_LOG_INFO, "slot map reloaded from %s",
				       cand[i]->addr);
			break;
		}
	}
out_unlock:
	if (rc)
		atomic_store(&cl->need_refresh, true);
	pthread_mutex_unlock(&cl->refresh_lock);
	if (nms > 0)
		free(ms);
	free(cand);
	free(map);
	return rc;
}

int cl_refresh(struct hkv_cluster *cl, int64_t deadline)
{
	return refresh(cl, deadline, false);
}

int hkv_cluster_refresh(struct hkv_cluster *cl)
{
	int rc = cl_refresh(cl, rc_now_ms() + cl->io_timeout_ms);

	if (rc)
		cl_log(cl, HKV_CLUSTER_LOG_ERR, "slot map refresh failed: %s", strerror(-rc));
	return rc;
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
	cl->connect_timeout_ms = opt_or(o->connect_timeout_ms, 1000);
	cl->io_timeout_ms = opt_or(o->io_timeout_ms, 5000);
	cl->max_redirects = opt_or(o->max_redirects, 16);
	cl->pool_idle_max = opt_or(o->pool_idle_max, 32);
	cl->wait_replicas = opt_or(o->wait_replicas, 1);
	cl->wait_timeout_ms = opt_or(o->wait_timeout_ms, 1000);
	cl->log = o->log;
	cl->log_arg = o->log_arg;
	cl->log_level = opt_or(o->log_level, HKV_CLUSTER_LOG_WARN);
	cl->cluster = true;
	cl->trk_wake = -1;
	pthread_mutex_init(&cl->nodes_lock, NULL);
	pthread_mutex_init(&cl->refresh_lock, NULL);
	pthread_mutex_init(&cl->trk_lock, NULL);
	pthread_cond_init(&cl->trk_cond, NULL);
	cl->seeds = strdup(o->seeds);
	cl->user = o->user ? strdup(o->user) : NULL;
	cl->password = o->password ? strdup(o->password) : NULL;
	map = calloc(HKV_CLUSTER_SLOTS, sizeof(*map));
	if (!cl->seeds || (o->user && !cl->user) || (o->password && !cl->password) || !map) {
		rc = -ENOMEM;
		goto out_close;
	}

	/* every seed must parse before any is tried: a typo is an error, not a skipped seed */
	for (p = cl->seeds; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char host[256];
		int port;

		if (cl_parse_addr(p, len, host, sizeof(host), &port)) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR,
			       "bad seed \"%.*s\" in \"%s\": expected host:port[,host:port...]",
			       (int)(len > 200 ? 200 : len), p, cl->seeds);
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
			       cl->seeds);
			rc = -EINVAL;
			goto out_close;
		}
	}

	for (int i = 0; i < nseeds; i++) {
		struct rnode *seed = cl->nodes[i];
		bool standalone;
		int err;

		err = load_map(cl, seed, map, &standalone,
			       rc_now_ms() + cl->connect_timeout_ms + cl->io_timeout_ms);
		if (err == 0) {
			if (standalone) {
				cl->cluster = false;
				for (int k = 0; k < HKV_CLUSTER_SLOTS; k++)
					map[k] = seed;
			}
			store_map(cl, map);
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
		       cl->seeds, strerror(-rc));
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
		node_free(cl->nodes[i]);
	free(cl->nodes);
	pthread_mutex_destroy(&cl->nodes_lock);
	pthread_mutex_destroy(&cl->refresh_lock);
	pthread_mutex_destroy(&cl->trk_lock);
	pthread_cond_destroy(&cl->trk_cond);
	free(cl->seeds);
	free(cl->user);
	free(cl->password);
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

	if (!reply_is_error(v))
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
		if (reply_is_error(r[i]) && !strncmp(r[i]->str, "EXECABORT", 9))
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
	char name[40], waitn[16], waitt[16];
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
	waitl[1] = (size_t)snprintf(waitn, sizeof(waitn), "%d", cl->wait_replicas);
	waitl[2] = (size_t)snprintf(waitt, sizeof(waitt), "%d", cl->wait_timeout_ms);
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
			       "%s (slot %d) to %s: budget of %d ms spent after %d attempts%s%s",
			       name, slot, node ? node->addr : "no node", cl->io_timeout_ms,
			       attempt + 1, last ? ", last failure: " : "",
			       last ? strerror(-last) : "");
			goto out_free;
		}
		if (cl->cluster && atomic_load(&cl->need_refresh))
			refresh(cl, deadline, true);
		if (ask_to) {
			node = ask_to;
		} else {
			int s = slot >= 0 ? slot :
					    (int)((atomic_fetch_add(&any_rr, 1) * 1031u) % HKV_CLUSTER_SLOTS);

			node = atomic_load(&cl->slots[s]);
		}
		if (!node) {
			last = -EHOSTUNREACH;
			atomic_store(&cl->need_refresh, true);
			cl_backoff(attempt++, deadline);
			continue;
		}
		trk_before_call(cl, node, deadline);
		rc = pool_get(cl, node, deadline, &c);
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
		pool_put(cl, node, c);
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
				if (++redirects > cl->max_redirects) {
					rc = -EIO;
					cl_log(cl, HKV_CLUSTER_LOG_ERR,
					       "%s (slot %d): more than %d redirects, last to %s", name,
					       slot, cl->max_redirects, to->addr);
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

			if (w->type != HKV_RESP_INTEGER || w->integer < cl->wait_replicas) {
				rc = -EIO;
				cl_log(cl, HKV_CLUSTER_LOG_ERR,
				       "%s (slot %d) on %s: WAIT %d %d: %s", name, slot, node->addr,
				       cl->wait_replicas, cl->wait_timeout_ms,
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
	return cl_exec(cl, slot, flags, n, cmds, replies, rc_now_ms() + cl->io_timeout_ms, NULL);
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
	int64_t deadline = rc_now_ms() + cl->io_timeout_ms;
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
