/* SPDX-License-Identifier: MIT */
/*
 * cluster_int.h - private declarations shared by the files of hkv-remote.
 *
 * Objects and their lifetimes:
 *   struct hkv_cluster  the handle: options, the node registry, the slot map, the tracker.
 *   struct rnode        one node address ever seen (seed, slot map, MOVED/ASK target). Nodes
 *                       are never freed before hkv_cluster_close(), so a pointer to one read
 *                       from the slot map stays valid without reference counting (a cluster
 *                       has few nodes; a node that disappears only costs its idle pool,
 *                       which is emptied when it leaves the map).
 *   struct rconn        one TCP connection; owned by exactly one thread while in use, or by
 *                       its node's idle pool.
 */
#ifndef HKV_CLUSTER_INT_H
#define HKV_CLUSTER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hkv/cluster.h"
#include "hkv/resp.h"

/** hkv_crc16_xmodem() - CRC16-CCITT, XMODEM variant, of @len bytes at @buf. */
uint16_t hkv_crc16_xmodem(const void *buf, size_t len);

/* ---- conn.c ---- */

struct rconn {
	int fd;
	struct hkv_resp_reader rd;
};

int64_t rc_now_ms(void);
/* Return: 0; -EHOSTUNREACH (no such host), -ECONNREFUSED, -ETIMEDOUT, -EINVAL, -ENOMEM. */
int rc_open(struct rconn **out, const char *host, int port, int64_t deadline);
void rc_close(struct rconn *c);
/* true when an idle connection has something to read (EOF, error, junk): do not use it */
bool rc_stale(struct rconn *c);
int rc_send(struct rconn *c, int n, const struct hkv_cluster_cmd *cmds, int64_t deadline);
int rc_recv(struct rconn *c, struct hkv_resp_value **out, int64_t deadline);
int rc_call(struct rconn *c, int argc, const char *const *argv, const size_t *argvlen,
	    struct hkv_resp_value **out, int64_t deadline);
/* read what the socket has without blocking. Return: 0, -EAGAIN (nothing), -ECONNRESET... */
int rc_fill(struct rconn *c);

/* ---- node.c, slotmap.c, cluster.c ---- */

enum trk_state {
	TRK_OFF = 0,    /* not a tracked master */
	TRK_WANT,       /* a master: connect at @trk_next */
	TRK_LIVE,       /* subscribed */
};

struct rnode {
	char *host;
	int port;
	char addr[300];       /* "host:port" (IPv6 in brackets), for logs and hkv_cluster_nodes() */
	char id[48];          /* cluster node id, "" when unknown */

	pthread_mutex_t pool_lock; /* protects idle, nidle */
	struct rconn **idle;
	int nidle;

	/* tracking state: protected by cl->trk_lock */
	enum trk_state trk;
	struct rconn *tconn;
	uint64_t trk_rounds;  /* times the tracking thread finished reading tconn */
	int64_t trk_next;     /* when to try connecting again (TRK_WANT) */
	int trk_backoff;
	bool trk_connecting;
	int trk_err;          /* a caller found tconn broken: the thread handles the loss */
	atomic_bool trk_live; /* trk == TRK_LIVE, readable without trk_lock (fast path) */
};

struct hkv_cluster {
	/* the options with their defaults applied; the strings are copies (malloc) */
	struct hkv_cluster_opts o;
	bool cluster;         /* false: standalone server, every slot on nodes[0] */

	pthread_mutex_t nodes_lock; /* protects nodes, nnodes, cap (the registry only grows) */
	struct rnode **nodes;
	int nnodes, nodes_cap;

	/* slot -> master; each entry read and written atomically (nodes are never freed) */
	_Atomic(struct rnode *) slots[HKV_CLUSTER_SLOTS];
	atomic_uint_fast64_t map_epoch;  /* increased on every change of @slots */
	atomic_bool need_refresh;        /* a MOVED or failure asked for a full reload */
	pthread_mutex_t refresh_lock;    /* one refresh at a time */

	/* tracking (track.c) */
	pthread_mutex_t trk_lock;
	pthread_cond_t trk_cond;         /* broadcast when a round ends or a state changes */
	atomic_bool trk_on;
	bool trk_stop;
	pthread_t trk_thread;
	int trk_wake;                    /* eventfd: wakes the thread's poll() */
	hkv_cluster_inval_fn trk_cb;
	void *trk_arg;
	atomic_uint_fast64_t trk_gen;
	uint64_t trk_epoch_seen;         /* map_epoch the tracker last synced with */
};

void cl_log(struct hkv_cluster *cl, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* the registry entry for host:port, created if new. Return: NULL on ENOMEM */
struct rnode *cl_node_get(struct hkv_cluster *cl, const char *host, int port);
/* parse "host:port" or "[v6]:port". Return: 0, -EINVAL */
int cl_parse_addr(const char *s, size_t len, char *host, size_t hostsz, int *port);
void cl_node_free(struct rnode *n);
bool cl_reply_is_error(const struct hkv_resp_value *v);
/* an idle connection of @node, or a new one. Return: 0, a cl_connect() error */
int cl_pool_get(struct hkv_cluster *cl, struct rnode *node, int64_t deadline,
		struct rconn **out);
/* give back a connection whose last exchange ended cleanly */
void cl_pool_put(struct hkv_cluster *cl, struct rnode *node, struct rconn *c);

/* ---- slotmap.c ---- */

/* ask @node for the map. Return: 0 (*@standalone: not a cluster node), -errno */
int cl_load_map(struct hkv_cluster *cl, struct rnode *node, struct rnode **map,
		bool *standalone, int64_t deadline);
/* store @map in cl->slots. Return: whether anything changed */
bool cl_store_map(struct hkv_cluster *cl, struct rnode **map);
/* reload the map; @lazy: only if still wanted and no other thread is reloading */
int cl_refresh_from(struct hkv_cluster *cl, int64_t deadline, bool lazy);
/* distinct masters of the slot map, each with the lowest slot it owns; malloc()ed arrays */
int cl_masters(struct hkv_cluster *cl, struct rnode ***nodes, int **slots);
/* run a pipeline on whatever node serves @slot now (-1: any master), with the whole
 * retry/redirect logic; *@used: the node that answered */
int cl_exec(struct hkv_cluster *cl, int slot, unsigned int flags, int n,
	    const struct hkv_cluster_cmd *cmds, struct hkv_resp_value **replies, int64_t deadline,
	    struct rnode **used);
void cl_backoff(int attempt, int64_t deadline);

/*
 * cl_deadline() - the absolute deadline (rc_now_ms() time) of a call starting now: its own
 * budget (opts.io_timeout_ms), or the calling thread's request deadline if that comes first
 * (hkv_cluster_request_begin()).
 */
int64_t cl_deadline(const struct hkv_cluster *cl);

/* cl_budget_name() - what @deadline was, for a log line ("the request's deadline", "N ms") */
const char *cl_budget_name(const struct hkv_cluster *cl, int64_t deadline, char *buf);
int cl_refresh(struct hkv_cluster *cl, int64_t deadline);
/* a new authenticated connection to @node (RESP2, or RESP3 when @resp3) */
int cl_connect(struct hkv_cluster *cl, struct rnode *node, bool resp3, int64_t deadline,
	       struct rconn **out);

/* ---- track.c ---- */
/* before sending to @node: wait (bounded) until its tracking connection is subscribed */
void trk_before_call(struct hkv_cluster *cl, struct rnode *node, int64_t deadline);
/* after a reply from @node: wait until what its tracking connection received went to cb */
void trk_after_reply(struct hkv_cluster *cl, struct rnode *node, int64_t deadline);
/* the slot map changed: let the tracker resync */
void trk_map_changed(struct hkv_cluster *cl);
void trk_stop(struct hkv_cluster *cl);

#endif /* HKV_CLUSTER_INT_H */
