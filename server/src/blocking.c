// SPDX-License-Identifier: MIT
/*
 * blocking.c - clients blocked in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
 * BZPOPMAX, BZMPOP, XREAD and XREADGROUP.
 *
 * A blocked client is registered under each of its keys (server dict key -> clients in arrival
 * order) and in a list scanned for timeouts. Every change of a key that has blocked clients
 * marks the key ready (notify.c), whoever made the change: a RESP client, the mount, hkvctl.
 * After each command (never inside one, so a MULTI/EXEC or a variadic push is seen whole) the
 * ready keys are served in the order they became ready: for each, its blocked clients in
 * arrival order get an element while the key holds some, exactly Redis 7.0's
 * serveClientsBlockedOnListKey/SortedSetKey/StreamKey. Serving BLMOVE pushes to the destination, which
 * may make that key ready in turn; the loop runs until no key is ready.
 *
 * A served or timed-out client is put on the server's "unblocked" list: the commands it had
 * pipelined behind the blocking one run next, in order.
 *
 * Timeouts are absolute milliseconds; the event loop sleeps no longer than the nearest one.
 */
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

extern bool list_serve_blocked(struct client *c, const char *key, size_t klen);
extern bool zset_serve_blocked(struct client *c, const char *key, size_t klen);
extern bool stream_serve_blocked(struct client *c, const char *key, size_t klen);

void block_state_free(struct client *c)
{
	for (int i = 0; i < c->bs.norder; i++)
		free(c->bs.order[i]);
	free(c->bs.order);
	free(c->bs.order_len);
	c->bs.order = NULL;
	c->bs.order_len = NULL;
	c->bs.norder = 0;
	dict_release(&c->bs.keys, NULL);
	free(c->bs.target);
	c->bs.target = NULL;
	c->bs.target_len = 0;
	free(c->bs.xids);
	free(c->bs.xgroup);
	free(c->bs.xconsumer);
	c->bs.xids = NULL;
	c->bs.xgroup = c->bs.xconsumer = NULL;
	c->bs.xglen = c->bs.xclen = 0;
	c->bs.xnoack = false;
	c->bs.type = BLOCK_NONE;
}

void block_client(struct client *c, enum block_type type, int64_t deadline, char **keys,
		  size_t *klens, int nkeys)
{
	struct hkv_server *srv = c->srv;

	c->bs.type = type;
	c->bs.timeout = deadline;
	c->bs.cmd = c->cmd;
	c->bs.order = calloc((size_t)nkeys, sizeof(char *));
	c->bs.order_len = calloc((size_t)nkeys, sizeof(size_t));
	if (!c->bs.order || !c->bs.order_len)
		goto oom;
	for (int i = 0; i < nkeys; i++) {
		struct dict_entry *e;
		bool created;

		if (!dict_add(&c->bs.keys, keys[i], klens[i], NULL, &created))
			goto oom;
		if (!created)
			continue;
		c->bs.order[c->bs.norder] = xstrndup(keys[i], klens[i]);
		if (!c->bs.order[c->bs.norder])
			goto oom;
		c->bs.order_len[c->bs.norder++] = klens[i];
		e = dict_add(&srv->blocking, keys[i], klens[i], NULL, &created);
		if (!e)
			goto oom;
		if (created) {
			e->val = calloc(1, sizeof(struct clist));
			if (!e->val) {
				dict_del(&srv->blocking, keys[i], klens[i]);
				goto oom;
			}
		}
		if (clist_add(e->val, c))
			goto oom;
	}
	c->flags |= CL_BLOCKED;
	c->next_blocked = srv->blocked_head;
	c->prev_blocked = NULL;
	if (srv->blocked_head)
		srv->blocked_head->prev_blocked = c;
	srv->blocked_head = c;
	srv->nblocked++;
	return;
oom:
	c->flags |= CL_BLOCKED; /* so that unblocking undoes what was registered */
	c->next_blocked = srv->blocked_head;
	c->prev_blocked = NULL;
	if (srv->blocked_head)
		srv->blocked_head->prev_blocked = c;
	srv->blocked_head = c;
	srv->nblocked++;
	unblock_client(c, false);
	add_error(c, "-OOM cannot block: out of memory");
}

static void reply_timeout(struct client *c)
{
	struct cmd *cmd = c->bs.cmd;

	if (cmd && (!strcmp(cmd->name, "blmove") || !strcmp(cmd->name, "brpoplpush")))
		add_null(c);
	else
		add_null_array(c);
}

void unblock_client(struct client *c, bool timed_out)
{
	struct hkv_server *srv = c->srv;

	if (!(c->flags & CL_BLOCKED))
		return;
	for (int i = 0; i < c->bs.norder; i++) {
		struct dict_entry *e = dict_find(&srv->blocking, c->bs.order[i], c->bs.order_len[i]);

		if (!e)
			continue;
		clist_del(e->val, c);
		if (!((struct clist *)e->val)->n) {
			clist_free(e->val);
			dict_del(&srv->blocking, c->bs.order[i], c->bs.order_len[i]);
		}
	}
	if (c->prev_blocked)
		c->prev_blocked->next_blocked = c->next_blocked;
	else
		srv->blocked_head = c->next_blocked;
	if (c->next_blocked)
		c->next_blocked->prev_blocked = c->prev_blocked;
	c->next_blocked = c->prev_blocked = NULL;
	srv->nblocked--;
	c->flags &= ~CL_BLOCKED;
	if (timed_out)
		reply_timeout(c);
	/* the blocking command is accounted once, now */
	if (c->bs.cmd) {
		c->bs.cmd->calls++;
		/* served with an error (XREADGROUP's NOGROUP): a failed call, as Redis counts it */
		if (!timed_out && c->cmd_failed)
			c->bs.cmd->failed++;
	}
	block_state_free(c);
	if (!(c->flags & (CL_UNBLOCKED | CL_FAKE | CL_CLOSE_ASAP))) {
		c->flags |= CL_UNBLOCKED;
		c->next_unblocked = srv->unblocked;
		srv->unblocked = c;
	}
}

void check_block_timeouts(struct hkv_server *srv)
{
	int64_t now;
	struct client *c, *next;

	if (!srv->blocked_head)
		return;
	now = srv_now_ms();
	for (c = srv->blocked_head; c; c = next) {
		next = c->next_blocked;
		if (c->bs.timeout && c->bs.timeout <= now)
			unblock_client(c, true);
	}
}

int64_t next_block_deadline(struct hkv_server *srv)
{
	int64_t best = 0;

	for (struct client *c = srv->blocked_head; c; c = c->next_blocked)
		if (c->bs.timeout && (!best || c->bs.timeout < best))
			best = c->bs.timeout;
	return best;
}

/* Serve the clients blocked on one ready key, in arrival order, while it has elements. */
struct serve_arg {
	struct client *c;
	const char *key;
	size_t klen;
	bool served;
};

static int serve_body(struct hkv *tx, void *arg)
{
	struct serve_arg *a = arg;
	struct client *c = a->c;

	c->db = tx;
	if (c->bs.type == BLOCK_LIST)
		a->served = list_serve_blocked(c, a->key, a->klen);
	else if (c->bs.type == BLOCK_ZSET)
		a->served = zset_serve_blocked(c, a->key, a->klen);
	else if (c->bs.type == BLOCK_STREAM)
		a->served = stream_serve_blocked(c, a->key, a->klen);
	c->db = c->srv->db;
	return 0;
}

/*
 * Complete @c's blocking command on @key in one engine transaction (BLMOVE's pop and push
 * are one write). If it cannot be applied, its reply is withdrawn and @c keeps waiting.
 */
static bool serve_one(struct client *c, const char *key, size_t klen)
{
	struct serve_arg a = { c, key, klen, false };
	size_t before = c->out.len;
	int rc;

	c->cmd_failed = false;
	rc = hkv_txn_run(c->srv->db, serve_body, &a);

	if (rc < 0) {
		srv_log(c->srv, 0, "serving a blocked client failed: %s", hkv_strerror(rc));
		if (c->out.len >= before)
			c->out.len = before;
		return false;
	}
	return a.served;
}

static void serve_key(struct hkv_server *srv, const char *key, size_t klen)
{
	struct dict_entry *e = dict_find(&srv->blocking, key, klen);
	struct clist *l;
	struct client **snap;
	int n;

	if (!e)
		return;
	l = e->val;
	n = l->n;
	snap = malloc((size_t)n * sizeof(*snap));
	if (!snap)
		return;
	memcpy(snap, l->v, (size_t)n * sizeof(*snap));
	for (int i = 0; i < n; i++) {
		struct client *c = snap[i];
		bool served;

		/* earlier receivers may have been unblocked, freeing this key's entry */
		if (!dict_find(&srv->blocking, key, klen))
			break;
		if (!(c->flags & CL_BLOCKED) || (c->flags & CL_CLOSE_ASAP) ||
		    !dict_find(&c->bs.keys, key, klen))
			continue;
		srv->exec_client = c;
		srv->touches_all = true;
		bool stream = c->bs.type == BLOCK_STREAM;

		served = serve_one(c, key, klen);
		drain_watch_events(srv);
		srv->exec_client = NULL;
		srv->touches_all = false;
		/* a stream is not consumed: a reader not served leaves the next one its turn */
		if (!served && stream)
			continue;
		if (!served)
			break; /* the key is empty (or of another type): the rest keep waiting */
		srv->st.blocked_keys_served++;
		unblock_client(c, false);
	}
	free(snap);
}

void serve_ready_keys(struct hkv_server *srv)
{
	srv->serving_ready = true;
	drain_watch_events(srv); /* foreign events first: they are not ours to swallow */
	while (srv->nready) {
		int n = srv->nready;
		char **keys = srv->ready_keys;
		size_t *lens = srv->ready_lens;

		srv->ready_keys = NULL;
		srv->ready_lens = NULL;
		srv->nready = srv->ready_cap = 0;
		dict_release(&srv->ready, NULL);
		for (int i = 0; i < n; i++) {
			serve_key(srv, keys[i], lens[i]);
			free(keys[i]);
		}
		free(keys);
		free(lens);
	}
	srv->serving_ready = false;
}
