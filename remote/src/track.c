// SPDX-License-Identifier: MIT
/*
 * track.c - invalidations: one RESP3 tracking connection per master, one thread reading them.
 *
 * Each master of the slot map gets a connection that says HELLO 3 (with AUTH when set) and
 * CLIENT TRACKING ON BCAST. BCAST because a cache of this client must learn of every write
 * on the node, whoever made it and whichever connection of ours read the key: the default
 * tracking mode only reports keys read by *that* connection, and our reads go through pooled
 * data connections, not through the tracking one. The price is that every write on the node
 * is sent to us (one push per key), cached here or not.
 *
 * The thread owns every tracking connection; it poll()s them together with an eventfd that
 * wakes it when the slot map changes or the handle closes, and for each "invalidate" push
 * calls cb(key) for every key in it (a null list, sent for FLUSHALL/FLUSHDB, is cb(NULL)).
 *
 * Per node state (cl->trk_lock protects it; only this thread changes it):
 *
 *   OFF  --(node is a master in the map)-->  WANT  --(connected, subscribed)-->  LIVE
 *   LIVE --(EOF/error)--> WANT (retry after 10 ms, doubling to 1 s)
 *   WANT/LIVE --(node no longer a master)--> OFF
 *
 * "Drop everything" (cb(NULL), then trk_gen++) is called when a LIVE connection is lost,
 * when a node leaves the set of masters (failover, removal), and after every subscription
 * (a first one, or a new one after a loss): values read from a node before its subscription
 * existed may have been changed without a push, and the callback after the subscription
 * drops them, while every write after it produces a push.
 *
 * Ordering with the data path (the guarantee of hkv_cluster_track()):
 *   1. trk_before_call(): a call to a master whose tracking connection is not LIVE waits
 *      (at most connect_timeout_ms, within the call's budget) until it is.
 *   2. trk_after_reply(): when the reply has arrived, if the node's tracking socket is
 *      readable, the calling thread itself reads it and makes the callbacks, under trk_lock
 *      (so callbacks are never concurrent, and the thread and callers never read the socket
 *      at once); this saves the two context switches of handing the work to the thread,
 *      which cost a third of SET throughput with tracking on. If what it finds is EOF or an
 *      error, it waits for the thread's round on that node (trk_rounds moves, or the state
 *      leaves LIVE): losses are the thread's, which owns the socket and its poll set. Either
 *      way, everything that socket held when the reply came went through the callback first.
 *   Redis queues the push for a write (BCAST) in the event-loop iteration that ran the write
 *   and flushes it before it sleeps again; a command run in a later iteration gets its reply
 *   flushed later. On one host (loopback delivers a send() into the peer's socket at once)
 *   the push is then in our tracking socket before our reply is in the data socket, and step
 *   2 makes the callback before the call returns. A command run in the same iteration after
 *   the write may have its reply flushed before the push: it then already saw the write, and
 *   the push, a moment later, only drops a fresh value. The loss of a tracking connection
 *   (CLIENT KILL, a server closing it) is a FIN sent before any later reply: the same holds.
 *   Across a network, two TCP connections are not ordered with each other, and the window is
 *   that of the network.
 *   What a cache must still do itself: a value being fetched when cb(key) arrives must not be
 *   stored (compare hkv_cluster_track_gen() or a per-key mark before and after the call).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cluster_int.h"

#define TRK_BACKOFF_MIN 10
#define TRK_BACKOFF_MAX 1000
#define TRK_REFRESH_MS 200

static void wake(struct hkv_cluster *cl)
{
	uint64_t one = 1;

	if (cl->trk_wake >= 0 && write(cl->trk_wake, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the thread is awake anyway */
	}
}

static void drop_all(struct hkv_cluster *cl)
{
	cl->trk_cb(cl->trk_arg, NULL, 0);
	atomic_fetch_add(&cl->trk_gen, 1);
}

static void node_lost(struct rnode *n, enum trk_state to)
{
	rc_close(n->tconn);
	n->tconn = NULL;
	n->trk_err = 0;
	n->trk = to;
	atomic_store(&n->trk_live, false);
	if (to == TRK_WANT) {
		n->trk_backoff = n->trk_backoff ? n->trk_backoff : TRK_BACKOFF_MIN;
		n->trk_next = rc_now_ms() + n->trk_backoff;
	}
}

/* Bring the per-node states in line with the masters of the map. Return: drop everything */
static bool sync_map(struct hkv_cluster *cl)
{
	struct rnode **ms;
	bool drop = false;
	int n;

	cl->trk_epoch_seen = atomic_load(&cl->map_epoch);
	n = cl_masters(cl, &ms, NULL);
	if (n < 0)
		return false;
	pthread_mutex_lock(&cl->nodes_lock);
	for (int i = 0; i < cl->nnodes; i++) {
		struct rnode *node = cl->nodes[i];
		bool master = false;

		for (int j = 0; j < n && !master; j++)
			master = ms[j] == node;
		if (!master && node->trk != TRK_OFF) {
			cl_log(cl, HKV_CLUSTER_LOG_INFO, "tracking: %s is no longer a master",
			       node->addr);
			node_lost(node, TRK_OFF);
			drop = true;
		} else if (master && node->trk == TRK_OFF) {
			node->trk = TRK_WANT;
			node->trk_backoff = 0;
			node->trk_next = 0;
		}
	}
	pthread_mutex_unlock(&cl->nodes_lock);
	free(ms);
	return drop;
}

/* a new subscribed RESP3 connection to @node */
static int subscribe(struct hkv_cluster *cl, struct rnode *node, struct rconn **out)
{
	static const char *const argv[] = { "CLIENT", "TRACKING", "ON", "BCAST" };
	static const size_t len[] = { 6, 8, 2, 5 };
	int64_t deadline = rc_now_ms() + cl->o.connect_timeout_ms;
	struct hkv_resp_value *r = NULL;
	struct rconn *c;
	int rc;

	rc = cl_connect(cl, node, true, deadline, &c);
	if (rc)
		return rc;
	rc = rc_call(c, 4, argv, len, &r, deadline);
	if (!rc && (r->type != HKV_RESP_STATUS || strcmp(r->str, "OK"))) {
		cl_log(cl, HKV_CLUSTER_LOG_ERR, "tracking: %s: CLIENT TRACKING ON BCAST: %s",
		       node->addr, r->str ? r->str : "unexpected reply");
		rc = -EIO;
	}
	hkv_resp_value_free(r);
	if (rc) {
		rc_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* read what @node's connection has; call back; Return: 0, or the error that lost it */
static int consume(struct hkv_cluster *cl, struct rnode *node)
{
	struct hkv_resp_value *v;
	int rc = rc_fill(node->tconn);

	if (rc == -EAGAIN)
		rc = 0;
	for (;;) {
		int got = hkv_resp_reader_next(&node->tconn->rd, &v);

		if (got < 0) {
			rc = got;
			break;
		}
		if (got == 0)
			break;
		if (v->type == HKV_RESP_PUSH && v->nelem == 2 &&
		    v->elem[0]->type == HKV_RESP_BULK && !strcmp(v->elem[0]->str, "invalidate")) {
			const struct hkv_resp_value *keys = v->elem[1];

			if (keys->type == HKV_RESP_ARRAY) {
				for (size_t i = 0; i < keys->nelem; i++)
					if (keys->elem[i]->type == HKV_RESP_BULK)
						cl->trk_cb(cl->trk_arg, keys->elem[i]->str,
							   keys->elem[i]->len);
			} else {
				drop_all(cl);
			}
		}
		hkv_resp_value_free(v);
	}
	return rc;
}

static void *trk_main(void *arg)
{
	struct hkv_cluster *cl = arg;
	struct pollfd *pfd = NULL;
	struct rnode **pnode = NULL;
	int pcap = 0;

	int64_t refresh_at = 0;

	pthread_mutex_lock(&cl->trk_lock);
	while (!cl->trk_stop) {
		int64_t now = rc_now_ms(), next = -1;
		bool drop = false;
		int np = 1, nn, timeout;

		/*
		 * A lost or unreachable master may have been failed over. Calls refresh the map
		 * when they meet that, but an idle process makes no calls, and until the map
		 * names the promoted replica nobody subscribes to it: its writes would go
		 * unreported. So the thread refreshes too (outside trk_lock: a new map takes it),
		 * at most every TRK_REFRESH_MS.
		 */
		if (cl->cluster && atomic_load(&cl->need_refresh) && now >= refresh_at) {
			refresh_at = now + TRK_REFRESH_MS;
			pthread_mutex_unlock(&cl->trk_lock);
			cl_refresh(cl, now + cl->o.connect_timeout_ms + cl->o.io_timeout_ms);
			pthread_mutex_lock(&cl->trk_lock);
			now = rc_now_ms();
		}
		if (cl->trk_epoch_seen != atomic_load(&cl->map_epoch)) {
			drop = sync_map(cl);
			pthread_cond_broadcast(&cl->trk_cond);
		}
		pthread_mutex_lock(&cl->nodes_lock);
		nn = cl->nnodes;
		pthread_mutex_unlock(&cl->nodes_lock);
		for (int i = 0; i < nn && !cl->trk_stop; i++) {
			struct rnode *node;
			struct rconn *c = NULL;
			int rc;

			pthread_mutex_lock(&cl->nodes_lock);
			node = cl->nodes[i];
			pthread_mutex_unlock(&cl->nodes_lock);
			if (node->trk != TRK_WANT || node->trk_next > rc_now_ms())
				continue;
			node->trk_connecting = true;
			pthread_mutex_unlock(&cl->trk_lock);
			rc = subscribe(cl, node, &c);
			pthread_mutex_lock(&cl->trk_lock);
			node->trk_connecting = false;
			if (rc == 0 && node->trk == TRK_WANT) {
				node->tconn = c;
				node->trk = TRK_LIVE;
				atomic_store(&node->trk_live, true);
				node->trk_backoff = 0;
				drop = true;
				cl_log(cl, HKV_CLUSTER_LOG_INFO, "tracking: subscribed to %s",
				       node->addr);
			} else if (rc == 0) {
				rc_close(c);
			} else {
				atomic_store(&cl->need_refresh, true);
				if (node->trk_backoff == 0 || node->trk_backoff == TRK_BACKOFF_MIN)
					cl_log(cl, HKV_CLUSTER_LOG_WARN,
					       "tracking: %s: %s; retrying with backoff", node->addr,
					       strerror(-rc));
				node->trk_backoff = node->trk_backoff ? node->trk_backoff * 2 :
									TRK_BACKOFF_MIN;
				if (node->trk_backoff > TRK_BACKOFF_MAX)
					node->trk_backoff = TRK_BACKOFF_MAX;
				node->trk_next = rc_now_ms() + node->trk_backoff;
			}
			pthread_cond_broadcast(&cl->trk_cond);
		}
		if (drop) {
			drop_all(cl);
			pthread_cond_broadcast(&cl->trk_cond);
		}

		if (pcap < nn + 1) {
			struct pollfd *p = realloc(pfd, (size_t)(nn + 1) * sizeof(*p));
			struct rnode **q = p ? realloc(pnode, (size_t)(nn + 1) * sizeof(*q)) : NULL;

			if (p)
				pfd = p;
			if (q)
				pnode = q;
			if (!p || !q) {
				/* try again shortly; nothing is lost, sockets keep their bytes */
				pthread_mutex_unlock(&cl->trk_lock);
				usleep(10000);
				pthread_mutex_lock(&cl->trk_lock);
				continue;
			}
			pcap = nn + 1;
		}
		pfd[0] = (struct pollfd){ .fd = cl->trk_wake, .events = POLLIN };
		now = rc_now_ms();
		for (int i = 0; i < nn; i++) {
			struct rnode *node;

			pthread_mutex_lock(&cl->nodes_lock);
			node = cl->nodes[i];
			pthread_mutex_unlock(&cl->nodes_lock);
			if (node->trk == TRK_LIVE) {
				pfd[np] = (struct pollfd){ .fd = node->tconn->fd,
							   .events = POLLIN | POLLRDHUP };
				pnode[np++] = node;
			} else if (node->trk == TRK_WANT) {
				if (next < 0 || node->trk_next < next)
					next = node->trk_next;
			}
		}
		if (cl->cluster && atomic_load(&cl->need_refresh) &&
		    (next < 0 || refresh_at < next))
			next = refresh_at;
		timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
		pthread_mutex_unlock(&cl->trk_lock);
		poll(pfd, (nfds_t)np, timeout);
		pthread_mutex_lock(&cl->trk_lock);
		if (pfd[0].revents) {
			uint64_t v;

			if (read(cl->trk_wake, &v, sizeof(v)) < 0) {
				/* nothing to read: another wake-up already consumed it */
			}
		}
		for (int i = 1; i < np; i++) {
			struct rnode *node = pnode[i];
			int rc;

			if ((!pfd[i].revents && !node->trk_err) || node->trk != TRK_LIVE)
				continue;
			/* a caller may have met the end of the stream first (trk_after_reply()) */
			rc = node->trk_err ? node->trk_err : consume(cl, node);
			node->trk_err = 0;
			if (rc) {
				cl_log(cl, HKV_CLUSTER_LOG_WARN,
				       "tracking: connection to %s lost (%s); everything cached is dropped, reconnecting",
				       node->addr, strerror(-rc));
				node_lost(node, TRK_WANT);
				node->trk_backoff = TRK_BACKOFF_MIN;
				drop_all(cl);
				atomic_store(&cl->need_refresh, true);
			}
			node->trk_rounds++;
			pthread_cond_broadcast(&cl->trk_cond);
		}
	}
	pthread_mutex_unlock(&cl->trk_lock);
	free(pfd);
	free(pnode);
	return NULL;
}

int hkv_cluster_track(struct hkv_cluster *cl, hkv_cluster_inval_fn cb, void *arg)
{
	int rc;

	if (!cb)
		return -EINVAL;
	pthread_mutex_lock(&cl->trk_lock);
	if (atomic_load(&cl->trk_on)) {
		rc = -EALREADY;
		goto out_unlock;
	}
	cl->trk_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cl->trk_wake < 0) {
		rc = -errno;
		goto out_unlock;
	}
	cl->trk_cb = cb;
	cl->trk_arg = arg;
	cl->trk_stop = false;
	cl->trk_epoch_seen = atomic_load(&cl->map_epoch) - 1;
	rc = -pthread_create(&cl->trk_thread, NULL, trk_main, cl);
	if (rc) {
		cl_log(cl, HKV_CLUSTER_LOG_ERR, "tracking: cannot start its thread: %s",
		       strerror(-rc));
		close(cl->trk_wake);
		cl->trk_wake = -1;
		rc = -EAGAIN;
		goto out_unlock;
	}
	atomic_store(&cl->trk_on, true);
out_unlock:
	pthread_mutex_unlock(&cl->trk_lock);
	return rc;
}

void trk_stop(struct hkv_cluster *cl)
{
	if (!atomic_load(&cl->trk_on))
		return;
	pthread_mutex_lock(&cl->trk_lock);
	cl->trk_stop = true;
	wake(cl);
	pthread_mutex_unlock(&cl->trk_lock);
	pthread_join(cl->trk_thread, NULL);
	close(cl->trk_wake);
	cl->trk_wake = -1;
	atomic_store(&cl->trk_on, false);
}

void trk_map_changed(struct hkv_cluster *cl)
{
	if (!atomic_load(&cl->trk_on))
		return;
	pthread_mutex_lock(&cl->trk_lock);
	wake(cl);
	pthread_mutex_unlock(&cl->trk_lock);
}

static void timed_wait(struct hkv_cluster *cl, int64_t until)
{
	struct timespec ts;
	int64_t left = until - rc_now_ms();

	if (left <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += left / 1000;
	ts.tv_nsec += (left % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&cl->trk_cond, &cl->trk_lock, &ts);
}

void trk_before_call(struct hkv_cluster *cl, struct rnode *node, int64_t deadline)
{
	int64_t until;

	/* the common case, without the lock: a subscription can only end in the thread, and a
	 * loss found after the reply is handled by trk_after_reply() */
	if (!atomic_load(&cl->trk_on) || atomic_load(&node->trk_live))
		return;
	until = rc_now_ms() + cl->o.connect_timeout_ms;
	if (until > deadline)
		until = deadline;
	pthread_mutex_lock(&cl->trk_lock);
	if (node->trk != TRK_LIVE && cl->trk_epoch_seen != atomic_load(&cl->map_epoch))
		wake(cl);
	/* wait while a subscription is under way or due; not while it is backing off */
	while (node->trk != TRK_LIVE && rc_now_ms() < until &&
	       (node->trk == TRK_OFF ? cl->trk_epoch_seen != atomic_load(&cl->map_epoch) :
				       node->trk_connecting || node->trk_next <= rc_now_ms()))
		timed_wait(cl, until);
	pthread_mutex_unlock(&cl->trk_lock);
}

void trk_after_reply(struct hkv_cluster *cl, struct rnode *node, int64_t deadline)
{
	if (!atomic_load(&cl->trk_on))
		return;
	pthread_mutex_lock(&cl->trk_lock);
	if (node->trk == TRK_LIVE) {
		struct pollfd p = { .fd = node->tconn->fd, .events = POLLIN | POLLRDHUP };

		if (poll(&p, 1, 0) > 0 && (node->trk_err = consume(cl, node))) {
			/* the connection is gone: the thread owns losses (it closes the socket
			 * it polls); wake it and wait for it to have called back */
			uint64_t r = node->trk_rounds;

			wake(cl);

			while (node->trk_rounds == r && node->trk == TRK_LIVE &&
			       rc_now_ms() < deadline)
				timed_wait(cl, deadline);
		}
	}
	pthread_mutex_unlock(&cl->trk_lock);
}

uint64_t hkv_cluster_track_gen(struct hkv_cluster *cl)
{
	return atomic_load(&cl->trk_gen);
}

bool hkv_cluster_track_live(struct hkv_cluster *cl)
{
	struct rnode **ms;
	bool live = true;
	int n;

	if (!atomic_load(&cl->trk_on))
		return false;
	n = cl_masters(cl, &ms, NULL);
	if (n <= 0)
		return false;
	pthread_mutex_lock(&cl->trk_lock);
	for (int i = 0; i < n && live; i++)
		live = ms[i]->trk == TRK_LIVE;
	pthread_mutex_unlock(&cl->trk_lock);
	free(ms);
	return live;
}
