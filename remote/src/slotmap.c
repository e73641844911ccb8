// SPDX-License-Identifier: MIT
/*
 * slotmap.c - the slot map: loading it from a node, storing it, reloading it.
 *
 * An array of 16384 atomic pointers to struct rnode (in struct hkv_cluster), the master of
 * each slot. A call reads one entry without a lock; a reload (one at a time, refresh_lock)
 * computes a whole new table and stores the entries that changed, then increases map_epoch
 * and wakes the tracking thread. Sources, in order of preference:
 *
 *   CLUSTER SHARDS (Redis 7)  per shard "slots" [start, end, ...] and "nodes", each a map
 *                             with id, port, ip, endpoint, role ("master"/"replica"), health;
 *                             the master is reached at its endpoint, else its ip
 *   CLUSTER SLOTS (older)     [start, end, [ip, port, id], replicas...]
 *
 * An empty ip or endpoint means "the host you asked" (Redis sends it when it does not know
 * its own address); "?" means unknown, and that node is skipped. A server that answers
 * "cluster support disabled" is standalone: the caller maps every slot to it. A reload asks
 * the masters of the current map first, then every node ever seen (seeds included), until one
 * answers within the deadline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"

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

		if ((k->type == HKV_RESP_BULK || k->type == HKV_RESP_STATUS) &&
		    !strcmp(k->str, name))
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
			master = listed_node(cl, from, host, port->integer,
					     is_str(id) ? id->str : NULL);
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
int cl_load_map(struct hkv_cluster *cl, struct rnode *node, struct rnode **map,
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
	rc = cl_pool_get(cl, node, deadline, &c);
	if (rc)
		return rc;
	rc = rc_call(c, 2, shards, len, &r, deadline);
	if (!rc && cl_reply_is_error(r) && !strstr(r->str, "cluster support disabled")) {
		/* Redis before 7.0: no SHARDS */
		hkv_resp_value_free(r);
		rc = rc_call(c, 2, slots, len2, &r, deadline);
		if (!rc && !cl_reply_is_error(r))
			rc = parse_slots(cl, node, r, map);
	} else if (!rc && !cl_reply_is_error(r)) {
		rc = parse_shards(cl, node, r, map);
	}
	if (rc) {
		rc_close(c);
		goto out_free;
	}
	cl_pool_put(cl, node, c);
	if (cl_reply_is_error(r)) {
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
bool cl_store_map(struct hkv_cluster *cl, struct rnode **map)
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
int cl_refresh_from(struct hkv_cluster *cl, int64_t deadline, bool lazy)
{
	static atomic_uint rotation;
	struct rnode **map = NULL, **cand = NULL, **ms = NULL;
	int ncand = 0, nms, rc = -EHOSTUNREACH;
	unsigned int start;
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
	/*
	 * Each candidate gets at most the connect budget, and the walk starts at a different
	 * candidate each time: a node that hangs (stopped, not failing) costs one connect budget
	 * per refresh, not the whole deadline of every caller that refreshes.
	 */
	start = ncand ? atomic_fetch_add(&rotation, 1) % (unsigned int)ncand : 0;
	for (int k = 0; k < ncand && rc_now_ms() < deadline; k++) {
		int i = (int)((start + (unsigned int)k) % (unsigned int)ncand);
		int64_t cdl = rc_now_ms() + cl->o.connect_timeout_ms;

		memset(map, 0, HKV_CLUSTER_SLOTS * sizeof(*map));
		rc = cl_load_map(cl, cand[i], map, &standalone, cdl < deadline ? cdl : deadline);
		if (rc == 0 && standalone)
			rc = -EIO;
		if (rc == 0) {
			if (cl_store_map(cl, map))
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
	return cl_refresh_from(cl, deadline, false);
}

int hkv_cluster_refresh(struct hkv_cluster *cl)
{
	int rc = cl_refresh(cl, rc_now_ms() + cl->o.io_timeout_ms);

	if (rc)
		cl_log(cl, HKV_CLUSTER_LOG_ERR, "slot map refresh failed: %s", strerror(-rc));
	return rc;
}

