// SPDX-License-Identifier: MIT
/*
 * scan.c - SCAN over every master of the cluster, one cursor per node (hkv_cluster_scan_*).
 *
 * At open the iterator takes the masters of the slot map, and for each the lowest slot it
 * owns (its "representative" slot). It then scans them one after the other: SCAN cursor
 * [MATCH p] [COUNT n] [TYPE t] sent through cl_exec() routed by the representative slot
 * (SCAN has no key, so no node answers MOVED; routing by slot only picks the node), with the
 * usual retries within the budget of one hkv_cluster_scan_next() call. Memory is one batch:
 * the keys of one SCAN reply, handed to the caller.
 *
 * Failover: cl_exec() reports which node answered. When it is not the node whose cursor we
 * hold (the master died and its replica now owns the representative slot, or the slots
 * moved), the cursor means nothing there: the reply is dropped and that part of the keyspace
 * is scanned again from cursor 0 on the new node. Keys may then come twice, never be skipped
 * silently; restarts are counted and logged. A master that stays unreachable for a whole
 * call's budget fails that call (-ECONNREFUSED, -ETIMEDOUT...), and the next call retries it
 * with the same cursor: the iterator never hangs and never moves on without that node.
 *
 * Cost: SCAN visits every key of a node whatever MATCH says, so a scan of a prefix costs
 * O(keys in the cluster), about one round trip per COUNT keys visited on each master.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"

struct scan_shard {
	struct rnode *node;
	int slot;
	char cursor[24];
	bool done;
};

struct hkv_cluster_scan {
	struct hkv_cluster *cl;
	struct scan_shard *shards;
	int nshards, cur;
	unsigned int restarts;
	int argc;
	const char *argv[8];
	size_t argvlen[8];
	char *pattern;
	char *type;
	char count[16];
};

static void push(struct hkv_cluster_scan *it, const char *s, size_t len)
{
	it->argv[it->argc] = s;
	it->argvlen[it->argc++] = len;
}

int hkv_cluster_scan_open(struct hkv_cluster *cl, const void *pattern, size_t patlen,
			  const char *type, unsigned int count, struct hkv_cluster_scan **out)
{
	struct hkv_cluster_scan *it;
	struct rnode **ns;
	int *slots, n, rc = -ENOMEM;

	*out = NULL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->cl = cl;
	n = cl_masters(cl, &ns, &slots);
	if (n < 0)
		goto out_free;
	it->shards = calloc((size_t)(n ? n : 1), sizeof(*it->shards));
	if (!it->shards)
		goto out_free_masters;
	for (int i = 0; i < n; i++) {
		it->shards[i].node = ns[i];
		it->shards[i].slot = slots[i];
		strcpy(it->shards[i].cursor, "0");
	}
	it->nshards = n;
	push(it, "SCAN", 4);
	push(it, "0", 1); /* the cursor, set per call */
	if (pattern) {
		it->pattern = malloc(patlen + 1);
		if (!it->pattern)
			goto out_free_masters;
		memcpy(it->pattern, pattern, patlen);
		it->pattern[patlen] = 0;
		push(it, "MATCH", 5);
		push(it, it->pattern, patlen);
	}
	snprintf(it->count, sizeof(it->count), "%u", count ? count : 100);
	push(it, "COUNT", 5);
	push(it, it->count, strlen(it->count));
	if (type) {
		it->type = strdup(type);
		if (!it->type)
			goto out_free_masters;
		push(it, "TYPE", 4);
		push(it, it->type, strlen(it->type));
	}
	free(ns);
	free(slots);
	*out = it;
	return 0;

out_free_masters:
	free(ns);
	free(slots);
out_free:
	hkv_cluster_scan_close(it);
	return rc;
}

int hkv_cluster_scan_next(struct hkv_cluster_scan *it, struct hkv_resp_value **batch)
{
	struct hkv_cluster *cl = it->cl;
	int64_t deadline = cl_deadline(cl);

	*batch = NULL;
	while (it->cur < it->nshards) {
		struct scan_shard *sh = &it->shards[it->cur];
		struct hkv_cluster_cmd cmd = { it->argc, it->argv, it->argvlen };
		struct hkv_resp_value *r = NULL, *keys;
		struct rnode *used = NULL;
		int rc;

		it->argv[1] = sh->cursor;
		it->argvlen[1] = strlen(sh->cursor);
		rc = cl_exec(cl, sh->slot, 0, 1, &cmd, &r, deadline, &used);
		if (rc)
			return rc;
		if (used != sh->node) {
			cl_log(cl, HKV_CLUSTER_LOG_WARN,
			       "scan: slot %d moved from %s to %s during the scan; scanning that node again from the start (keys may repeat)",
			       sh->slot, sh->node->addr, used->addr);
			hkv_resp_value_free(r);
			sh->node = used;
			strcpy(sh->cursor, "0");
			it->restarts++;
			continue;
		}
		if (r->type != HKV_RESP_ARRAY || r->nelem != 2 ||
		    r->elem[0]->type != HKV_RESP_BULK ||
		    r->elem[0]->len >= sizeof(sh->cursor) || r->elem[1]->type != HKV_RESP_ARRAY) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "scan: %s answered SCAN with %s", used->addr,
			       r->type == HKV_RESP_ERROR ? r->str : "an unexpected reply");
			hkv_resp_value_free(r);
			return -EIO;
		}
		memcpy(sh->cursor, r->elem[0]->str, r->elem[0]->len + 1);
		if (!strcmp(sh->cursor, "0")) {
			sh->done = true;
			it->cur++;
		}
		keys = r->elem[1];
		r->elem[1] = NULL;
		hkv_resp_value_free(r);
		*batch = keys;
		return 1;
	}
	return 0;
}

unsigned int hkv_cluster_scan_restarts(const struct hkv_cluster_scan *it)
{
	return it->restarts;
}

void hkv_cluster_scan_close(struct hkv_cluster_scan *it)
{
	if (!it)
		return;
	free(it->shards);
	free(it->pattern);
	free(it->type);
	free(it);
}
