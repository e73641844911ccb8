// SPDX-License-Identifier: MIT
/*
 * server.c - the server object and its event loop.
 *
 * One thread runs everything (Redis's model): epoll waits on the listening sockets, the
 * clients and an eventfd that other threads write to (hkv_server_stop(), and the engine's
 * watch callback when a write the server did not make arrives). Each iteration:
 *
 *   1. read from ready clients and run every complete command in their buffers (pipelining);
 *   2. take in the writes of other doors and expiry (watch events): keyspace notifications,
 *      blocked clients woken;
 *   3. serve clients blocked on keys that became ready, resume their pipelines;
 *   4. time out blocked clients; run the periodic task (idle timeouts, output limits);
 *   5. before sleeping: under appendfsync always, one hkv_sync() for every write of the
 *      iteration, from all clients (the group flush), then the embedder's before_reply hook;
 *      only then are the replies written to the sockets. A write is therefore never
 *      acknowledged before the policy is met.
 *
 * The wait at the top of an iteration polls before it sleeps while requests arrive close
 * together (busy_poll()).
 *
 * appendfsync everysec runs a flusher thread that syncs once a second when something was
 * written; the store itself is opened with sync=none by hkv-server so that neither policy
 * makes a command wait for a flush while it holds the event loop.
 *
 * A failed flush is final (the engine's rule): later writes are refused with MISCONF, as
 * Redis refuses them after a failed AOF write, and reads go on.
 *
 * Shutdown: stop accepting, close the listeners, write what is pending (for at most five
 * seconds), free the clients. The store is the caller's to close.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "server_int.h"

static pthread_once_t table_once = PTHREAD_ONCE_INIT;

int64_t srv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t srv_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
	return mono_us() / 1000;
}

void srv_log(struct hkv_server *srv, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (srv->cfg.log) {
		srv->cfg.log(srv->cfg.log_arg, level, msg);
	} else if (level <= 1) {
		fprintf(stderr, "hkv-server: %s: %s\n", level ? "warning" : "error", msg);
	}
}

uint64_t srv_rand(struct hkv_server *srv)
{
	/* xorshift64*: fast, per server; seeded from the kernel at start */
	srv->rng ^= srv->rng >> 12;
	srv->rng ^= srv->rng << 25;
	srv->rng ^= srv->rng >> 27;
	return srv->rng * 2685821657736338717ull;
}

void hkv_server_config_init(struct hkv_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 6379;
	cfg->bind[0] = "127.0.0.1";
	cfg->bind[1] = "-::1";
	cfg->nbind = 2;
	cfg->protected_mode = true;
	cfg->maxclients = 10000;
	cfg->tcp_keepalive = 300;
	cfg->tcp_backlog = 511;
	cfg->flush = HKV_FLUSH_EVERYSEC;
	cfg->query_buffer_limit = 1ull << 30;
	cfg->proto_max_bulk_len = HKV_RESP_BULK_MAX_DEFAULT;
	cfg->obuf_pubsub.hard = 32ull << 20;
	cfg->obuf_pubsub.soft = 8ull << 20;
	cfg->obuf_pubsub.soft_seconds = 60;
	cfg->hz = 10;
	cfg->busy_poll_us = 50;
	cfg->notify_keyspace_events = "";
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* -------------------------------------------------------------------------------------
 * Durability
 * ------------------------------------------------------------------------------------- */

void write_done(struct hkv_server *srv)
{
	srv->dirty_since_flush = true;
	srv->dirty_since_save++;
	if (srv->cfg.flush == HKV_FLUSH_EVERYSEC)
		atomic_store_explicit(&srv->flusher_dirty, true, memory_order_relaxed);
}

bool writes_refused(struct client *c)
{
	if (!c->srv->flush_error)
		return false;
	add_error(c, "-MISCONF Errors writing to the store's disk: a flush failed, so writes are "
		     "refused until the server is restarted. Check the server log.");
	return true;
}

static void *flusher_main(void *arg)
{
	struct hkv_server *srv = arg;
	struct timespec ts;

	pthread_mutex_lock(&srv->flusher_lock);
	while (!srv->flusher_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&srv->flusher_cond, &srv->flusher_lock, &ts);
		if (srv->flusher_stop)
			break;
		if (!atomic_exchange(&srv->flusher_dirty, false))
			continue;
		pthread_mutex_unlock(&srv->flusher_lock);
		int rc = hkv_sync(srv->db);

		if (rc)
			srv_log(srv, 0, "everysec flush failed: %s", hkv_strerror(rc));
		pthread_mutex_lock(&srv->flusher_lock);
	}
	pthread_mutex_unlock(&srv->flusher_lock);
	return NULL;
}

static void flusher_start(struct hkv_server *srv)
{
	if (srv->cfg.flush != HKV_FLUSH_EVERYSEC || srv->flusher_started)
		return;
	if (pthread_create(&srv->flusher, NULL, flusher_main, srv) == 0)
		srv->flusher_started = true;
	else
		srv_log(srv, 1, "cannot start the everysec flusher thread");
}

void server_flush_policy_changed(struct hkv_server *srv)
{
	if (srv->running)
		flusher_start(srv);
}

static void group_flush(struct hkv_server *srv)
{
	int rc;

	if (!srv->dirty_since_flush)
		return;
	srv->dirty_since_flush = false;
	if (srv->cfg.flush == HKV_FLUSH_ALWAYS && !srv->flush_error) {
		rc = hkv_sync(srv->db);
		srv->st.flushes++;
		if (rc) {
			/*
			 * The writes of this iteration may not be on disk, and the engine takes
			 * no more writes: fail the clients that wrote rather than acknowledge.
			 */
			srv->flush_error = rc;
			srv_log(srv, 0, "flush failed (%s): refusing writes from now on",
				hkv_strerror(rc));
		}
	}
	if (srv->cfg.before_reply)
		srv->cfg.before_reply(srv->cfg.before_reply_arg);
}

/* -------------------------------------------------------------------------------------
 * Watch events: writes the server did not make, and expiry
 * ------------------------------------------------------------------------------------- */

static bool key_in_argv(struct client *c, const void *key, size_t klen)
{
	for (int i = 1; i < c->argc; i++)
		if (c->argvlen[i] == klen && !memcmp(c->argv[i], key, klen))
			return true;
	return false;
}

/* An engine event caused by the command running now (it fires its own notifications). */
static bool own_event(struct hkv_server *srv, const void *key, size_t klen)
{
	struct client *c = srv->exec_client;

	if (srv->touches_all)
		return true;
	if (dict_size(&srv->batch_keys) && dict_find(&srv->batch_keys, key, klen))
		return true;
	if (!c)
		return false;
	if (key_in_argv(c, key, klen))
		return true;
	/* EXEC commits the writes of every queued command at once */
	if (c->flags & CL_IN_EXEC) {
		for (int j = 0; j < c->mcount; j++) {
			struct mcmd *m = &c->mq[j];

			if (m->cmd->flags & CMD_TOUCHES_ALL)
				return true;
			for (int i = 1; i < m->argc; i++)
				if (m->argvlen[i] == klen && !memcmp(m->argv[i], key, klen))
					return true;
		}
	}
	return false;
}

void hkv_server_watch(void *arg, const void *key, size_t klen, uint64_t version)
{
	struct hkv_server *srv = arg;
	struct wev *e;
	uint64_t one = 1;

	if (srv->running && pthread_equal(pthread_self(), srv->thread) && own_event(srv, key, klen))
		return;
	if (!srv->running && srv->exec_client && own_event(srv, key, klen))
		return; /* hkv_server_call(): the caller's own thread */
	e = malloc(sizeof(*e) + klen);
	if (!e)
		return; /* a lost notification, never a lost write */
	e->next = NULL;
	e->version = version;
	e->klen = klen;
	memcpy(e->key, key, klen);
	pthread_mutex_lock(&srv->ev_lock);
	*srv->ev_tail = e;
	srv->ev_tail = &e->next;
	pthread_mutex_unlock(&srv->ev_lock);
	/*
	 * With no client connected nobody waits for the event (no subscriber, WATCH or blocked
	 * pop): the loop takes it at its next round (next_timeout(): at most 1/hz later, and
	 * before a new client's first command), without a wake-up per write. The loop counts a
	 * client in before it looks at ev_pending (both sequentially consistent), so either it
	 * sees this event pending or this sees the client and wakes it.
	 */
	atomic_store(&srv->ev_pending, true);
	if (__atomic_load_n(&srv->nclients, __ATOMIC_SEQ_CST) &&
	    !atomic_exchange(&srv->ev_woken, true) && srv->wakefd >= 0) {
		if (write(srv->wakefd, &one, sizeof(one)) < 0) {
			/* the counter is saturated: the loop is awake anyway */
		}
	}
}

static const char *foreign_write_event(struct hkv_server *srv, const void *key, size_t klen,
				       uint32_t *type)
{
	int t = hkv_type(srv->db, key, klen);

	switch (t) {
	case HKV_TYPE_STRING: *type = NOTIFY_STRING; return "set";
	case HKV_TYPE_HASH: *type = NOTIFY_HASH; return "hset";
	case HKV_TYPE_LIST: *type = NOTIFY_LIST; return "rpush";
	case HKV_TYPE_SET: *type = NOTIFY_SET; return "sadd";
	case HKV_TYPE_ZSET: *type = NOTIFY_ZSET; return "zadd";
	case HKV_TYPE_STREAM: *type = NOTIFY_STREAM; return "xadd";
	default: return NULL;
	}
}

void drain_watch_events(struct hkv_server *srv)
{
	struct wev *e, *next;

	/* a pipeline batch takes its events when it has committed (net.c) */
	if (srv->in_batch || !atomic_load_explicit(&srv->ev_pending, memory_order_acquire))
		return;
	pthread_mutex_lock(&srv->ev_lock);
	atomic_store(&srv->ev_pending, false);
	atomic_store(&srv->ev_woken, false);
	e = srv->ev_head;
	srv->ev_head = NULL;
	srv->ev_tail = &srv->ev_head;
	pthread_mutex_unlock(&srv->ev_lock);
	for (; e; e = next) {
		next = e->next;
		if (e->klen == 0 || own_event(srv, e->key, e->klen)) {
			free(e);
			continue;
		}
		if (e->version == 0) {
			bool expired = !srv->cfg.daemon_mode;

			if (srv->cfg.daemon_mode) {
				struct dict_entry *de = dict_find(&srv->volatile_keys, e->key, e->klen);

				if (de) {
					expired = (int64_t)(intptr_t)de->val <= srv_now_ms() + 1;
					dict_del(&srv->volatile_keys, e->key, e->klen);
				}
			}
			if (expired) {
				srv->st.expired_keys++;
				notify_event(srv, NOTIFY_EXPIRED, "expired", e->key, e->klen);
			} else {
				notify_event(srv, NOTIFY_GENERIC, "del", e->key, e->klen);
			}
		} else {
			uint32_t type = 0;
			const char *ev = NULL;

			/* the key's type names the event: read it only if a notification can go out */
			if (notify_listened(srv, NOTIFY_TYPES))
				ev = foreign_write_event(srv, e->key, e->klen, &type);
			if (ev)
				notify_event(srv, type, ev, e->key, e->klen);
			if (srv->cfg.daemon_mode) {
				struct hkv_attr a;

				if (!hkv_attr_get(srv->db, e->key, e->klen, &a) && a.expire_at) {
					struct dict_entry *de = dict_add(&srv->volatile_keys, e->key,
									 e->klen, NULL, NULL);

					if (de)
						de->val = (void *)(intptr_t)a.expire_at;
				}
			}
			signal_key_ready(srv, e->key, e->klen);
		}
		free(e);
	}
}

/* -------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------- */

int hkv_server_new(struct hkv *db, const struct hkv_server_config *cfg,
		   struct hkv_server **out)
{
	struct hkv_server *srv;
	unsigned char rnd[20];
	int rc = -ENOMEM;

	pthread_once(&table_once, cmd_table_init);
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->db = db;
	srv->cfg = *cfg;
	srv->epfd = -1;
	srv->wakefd = -1;
	for (int i = 0; i < cfg->nbind && i < HKV_SERVER_BIND_MAX; i++) {
		srv->bind_copy[i] = strdup(cfg->bind[i]);
		if (!srv->bind_copy[i])
			goto out_free;
		srv->cfg.bind[i] = srv->bind_copy[i];
	}
	srv->unixsocket = dup_or_null(cfg->unixsocket);
	srv->extra_unixsocket = dup_or_null(cfg->extra_unixsocket);
	srv->requirepass = dup_or_null(cfg->requirepass);
	srv->dir = dup_or_null(cfg->dir ? cfg->dir : "");
	if ((cfg->unixsocket && !srv->unixsocket) ||
	    (cfg->extra_unixsocket && !srv->extra_unixsocket) ||
	    (cfg->requirepass && !srv->requirepass) || !srv->dir)
		goto out_free;
	srv->cfg.unixsocket = srv->unixsocket;
	srv->cfg.extra_unixsocket = srv->extra_unixsocket;
	srv->cfg.requirepass = srv->requirepass;
	srv->cfg.dir = srv->dir;
	srv->cfg.notify_keyspace_events = NULL;
	if (cfg->notify_keyspace_events &&
	    notify_parse(cfg->notify_keyspace_events, strlen(cfg->notify_keyspace_events),
			 &srv->notify_flags)) {
		srv_log(srv, 0, "invalid notify-keyspace-events '%s'", cfg->notify_keyspace_events);
		rc = -EINVAL;
		goto out_free;
	}
	if (!cfg->hz)
		srv->cfg.hz = 10;
	if (srv->cfg.hz > 500)
		srv->cfg.hz = 500;
	if (srv->cfg.busy_poll_us > 1000)
		srv->cfg.busy_poll_us = 1000;
	dict_init(&srv->clients_by_id);
	dict_init(&srv->blocking);
	dict_init(&srv->ready);
	dict_init(&srv->channels);
	dict_init(&srv->shard_channels);
	dict_init(&srv->patterns);
	dict_init(&srv->volatile_keys);
	dict_init(&srv->batch_keys);
	dict_init(&srv->scan_slots);
	dict_init(&srv->opaque_config);
	dict_init(&srv->st.errorstats);
	pthread_mutex_init(&srv->ev_lock, NULL);
	srv->ev_tail = &srv->ev_head;
	pthread_mutex_init(&srv->flusher_lock, NULL);
	pthread_cond_init(&srv->flusher_cond, NULL);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	memcpy(&srv->rng, rnd, 8);
	srv->rng |= 1;
	for (int i = 0; i < 20; i++)
		sprintf(srv->run_id + 2 * i, "%02x", rnd[i]);
	srv->start_ms = srv_now_ms();
	srv->next_client_id = 1;
	srv->scan_next = 1;
	rc = config_apply_defaults(srv);
	if (rc)
		goto out_free;
	srv->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->wakefd < 0) {
		rc = -errno;
		goto out_free;
	}
	*out = srv;
	return 0;

out_free:
	hkv_server_free(srv);
	return rc;
}

static int loop_init(struct hkv_server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (srv->epfd >= 0)
		return 0;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0)
		return -errno;
	ev.data.ptr = &srv->wakefd;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->wakefd, &ev) < 0)
		return -errno;
	return 0;
}

int hkv_server_listen(struct hkv_server *srv)
{
	int rc = loop_init(srv);

	if (rc)
		return rc;
	rc = net_listen(srv);
	if (rc)
		net_close_listeners(srv);
	return rc;
}

int hkv_server_listen_fd(struct hkv_server *srv, int fd)
{
	int rc = loop_init(srv);

	if (rc)
		return rc;
	return net_adopt_listener(srv, fd);
}

static void cron(struct hkv_server *srv)
{
	int64_t now = srv_now_ms();
	struct client *c, *next;

	srv->cron_last_ms = mono_ms();
	for (c = srv->clients; c; c = next) {
		next = c->next;
		if (c->flags & (CL_FAKE | CL_CLOSE_ASAP))
			continue;
		if (srv->cfg.timeout && !(c->flags & (CL_BLOCKED | CL_PUBSUB)) &&
		    now - c->last_ms > (int64_t)srv->cfg.timeout * 1000) {
			srv_log(srv, 3, "closing idle client id=%llu", (unsigned long long)c->id);
			client_close_async(c);
			continue;
		}
		client_check_obuf(c);
		/* a query buffer that grew for one big request gives its memory back */
		if (c->qcap > 65536 && c->qlen == 0 && now - c->last_ms > 2000) {
			free(c->qbuf);
			c->qbuf = NULL;
			c->qcap = 0;
		}
	}
	scan_slots_expire(srv);
	stats_cron(srv);
	bgjob_reap(srv, false);
	evict_if_needed(srv, NULL);
}

static void free_closed(struct hkv_server *srv)
{
	while (srv->to_close) {
		struct client *c = srv->to_close;

		srv->to_close = c->next_close;
		c->next_close = NULL;
		client_free(c);
	}
}

/* Commands left in the buffers of clients just unblocked run now (Redis keeps order). */
static void resume_unblocked(struct hkv_server *srv)
{
	while (srv->unblocked) {
		struct client *c = srv->unblocked;

		srv->unblocked = c->next_unblocked;
		c->next_unblocked = NULL;
		c->flags &= ~CL_UNBLOCKED;
		if (!(c->flags & (CL_BLOCKED | CL_CLOSE_ASAP)))
			client_process_input(c);
	}
}

void after_command(struct hkv_server *srv)
{
	/* blocked clients are served with the store's handle: after a batch has committed */
	if (srv->in_batch)
		return;
	drain_watch_events(srv);
	if (srv->nready && !srv->serving_ready)
		serve_ready_keys(srv);
}

bool server_own_event(struct hkv_server *srv, void *p)
{
	if (p == &srv->wakefd) {
		uint64_t v;

		while (read(srv->wakefd, &v, sizeof(v)) > 0)
			;
		return true;
	}
	if (p >= (void *)srv->listeners && p < (void *)(srv->listeners + srv->nlisteners)) {
		net_accept(srv, p);
		return true;
	}
	return false;
}

/*
 * Wait for events, polling first when they have been arriving close together.
 *
 * A server that goes to sleep in epoll_wait() between two bursts of requests is woken by
 * the next one, and the wake-up is paid on both sides: the sender's kernel wakes the
 * server's thread, the server's CPU leaves idle. Under load the next request is usually
 * microseconds away, so the loop polls (epoll_wait() with no timeout) for up to
 * busy-poll-us before it blocks, as NAPI polls a busy network card instead of taking an
 * interrupt per packet. It polls only while that pays: when the last blocking wait ended
 * within the window (requests are arriving faster than the window), or the last poll found
 * something. A server with an occasional client never polls; "busy-poll-us 0" turns it off.
 */
static int busy_poll(struct hkv_server *srv, struct epoll_event *evs, int max, int timeout)
{
	int64_t t0, t1;
	int n;

	if (!timeout || !srv->cfg.busy_poll_us)
		return epoll_wait(srv->epfd, evs, max, timeout);
	t0 = mono_us();
	if (srv->poll_hot) {
		srv->st.busy_polls++;
		do {
			n = epoll_wait(srv->epfd, evs, max, 0);
			if (n) {
				srv->st.busy_poll_hits += n > 0;
				return n;
			}
			t1 = mono_us();
		} while (t1 - t0 < (int64_t)srv->cfg.busy_poll_us);
		srv->poll_hot = false;
	}
	n = epoll_wait(srv->epfd, evs, max, timeout);
	t1 = mono_us();
	srv->poll_hot = n > 0 && t1 - t0 < (int64_t)srv->cfg.busy_poll_us;
	return n;
}

static int loop_once(struct hkv_server *srv, int timeout)
{
	struct epoll_event evs[256];
	int n;

	n = busy_poll(srv, evs, 256, timeout);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		void *p = evs[i].data.ptr;

		if (server_own_event(srv, p))
			continue;
		struct client *c = p;

		if (c->flags & CL_CLOSE_ASAP)
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			net_read(c);
		if ((evs[i].events & EPOLLOUT) && !(c->flags & CL_CLOSE_ASAP))
			net_write(c);
	}
	after_command(srv);
	resume_unblocked(srv);
	check_block_timeouts(srv);
	resume_unblocked(srv);
	if (mono_ms() - srv->cron_last_ms >= 1000 / (int64_t)srv->cfg.hz)
		cron(srv);
	group_flush(srv);
	net_flush_pending(srv);
	free_closed(srv);
	return 0;
}

static int next_timeout(struct hkv_server *srv)
{
	int64_t t = 1000 / srv->cfg.hz, d;

	if (srv->unblocked || atomic_load(&srv->ev_pending))
		return 0;
	d = next_block_deadline(srv);
	if (d > 0) {
		d -= srv_now_ms();
		if (d < 0)
			d = 0;
		if (d < t)
			t = d;
	}
	return (int)t;
}

static void shutdown_clients(struct hkv_server *srv)
{
	int64_t deadline = mono_ms() + 5000;

	/* replies already produced are sent; nothing new is read */
	group_flush(srv);
	net_flush_pending(srv);
	while (srv->pending && mono_ms() < deadline) {
		struct epoll_event evs[64];

		if (epoll_wait(srv->epfd, evs, 64, 100) < 0 && errno != EINTR)
			break;
		net_flush_pending(srv);
		for (struct client *c = srv->clients; c; c = c->next)
			if (c->sent < c->out.len && !(c->flags & CL_CLOSE_ASAP))
				net_write(c);
	}
	free_closed(srv);
	while (srv->clients)
		client_free(srv->clients);
}

int hkv_server_run(struct hkv_server *srv)
{
	int rc = 0;

	if (srv->epfd < 0) {
		rc = hkv_server_listen(srv);
		if (rc)
			return rc;
	}
	srv->thread = pthread_self();
	__atomic_store_n(&srv->running, true, __ATOMIC_RELEASE);
	flusher_start(srv);
	srv->cron_last_ms = mono_ms();
	while (!__atomic_load_n(&srv->stop, __ATOMIC_ACQUIRE)) {
		rc = loop_once(srv, next_timeout(srv));
		if (rc) {
			srv_log(srv, 0, "event loop: %s", strerror(-rc));
			break;
		}
	}
	net_close_listeners(srv);
	shutdown_clients(srv);
	__atomic_store_n(&srv->running, false, __ATOMIC_RELEASE);
	return rc;
}

static void *run_thread(void *arg)
{
	hkv_server_run(arg);
	return NULL;
}

int hkv_server_start(struct hkv_server *srv)
{
	int rc;

	if (srv->epfd < 0) {
		rc = hkv_server_listen(srv);
		if (rc)
			return rc;
	}
	rc = -pthread_create(&srv->thread, NULL, run_thread, srv);
	if (!rc)
		srv->thread_started = true;
	return rc;
}

void hkv_server_stop(struct hkv_server *srv)
{
	uint64_t one = 1;

	__atomic_store_n(&srv->stop, true, __ATOMIC_RELEASE);
	if (srv->wakefd >= 0 && write(srv->wakefd, &one, sizeof(one)) < 0) {
		/* saturated counter: already awake */
	}
}

void hkv_server_free(struct hkv_server *srv)
{
	struct wev *e, *n;

	if (!srv)
		return;
	if (srv->thread_started) {
		hkv_server_stop(srv);
		pthread_join(srv->thread, NULL);
		srv->thread_started = false;
	}
	if (srv->flusher_started) {
		pthread_mutex_lock(&srv->flusher_lock);
		srv->flusher_stop = true;
		pthread_cond_signal(&srv->flusher_cond);
		pthread_mutex_unlock(&srv->flusher_lock);
		pthread_join(srv->flusher, NULL);
	}
	net_close_listeners(srv);
	while (srv->clients)
		client_free(srv->clients);
	if (srv->fake)
		client_free(srv->fake);
	for (e = srv->ev_head; e; e = n) {
		n = e->next;
		free(e);
	}
	bgjob_reap(srv, true);
	script_release(srv);
	free(srv->hkvfs_cmd);
	slowlog_free(srv);
	dict_release(&srv->clients_by_id, NULL);
	dict_release(&srv->blocking, clist_free);
	dict_release(&srv->ready, NULL);
	for (int i = 0; i < srv->nready; i++)
		free(srv->ready_keys[i]);
	free(srv->ready_keys);
	free(srv->ready_lens);
	dict_release(&srv->channels, clist_free);
	dict_release(&srv->shard_channels, clist_free);
	dict_release(&srv->patterns, clist_free);
	dict_release(&srv->volatile_keys, NULL);
	dict_release(&srv->batch_keys, NULL);
	dict_release(&srv->st.errorstats, NULL);
	scan_slots_free(srv);
	config_free(srv);
	for (int i = 0; i < srv->next_ext; i++)
		free((char *)srv->ext_cmds[i].name);
	free(srv->ext_cmds);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->wakefd >= 0)
		close(srv->wakefd);
	for (int i = 0; i < HKV_SERVER_BIND_MAX; i++)
		free(srv->bind_copy[i]);
	free(srv->unixsocket);
	free(srv->extra_unixsocket);
	free(srv->requirepass);
	free(srv->dir);
	pthread_mutex_destroy(&srv->ev_lock);
	pthread_mutex_destroy(&srv->flusher_lock);
	pthread_cond_destroy(&srv->flusher_cond);
	free(srv);
}

int hkv_server_call(struct hkv_server *srv, int argc, char **argv, const size_t *argvlen,
		    struct hkv_resp_out *out)
{
	struct client *c = srv->fake;

	if (!c) {
		c = client_new(srv, -1, false);
		if (!c)
			return -ENOMEM;
		c->flags |= CL_FAKE;
		c->authenticated = true;
		srv->fake = c;
	}
	c->out.proto = out->proto;
	c->argc = argc;
	c->argv = argv;
	c->argvlen = (size_t *)argvlen;
	process_command(c);
	after_command(srv);
	if (c->flags & CL_BLOCKED)
		unblock_client(c, true);
	c->argc = 0;
	c->argv = NULL;
	c->argvlen = NULL;
	hkv_resp_out_raw(out, c->out.buf, c->out.len);
	c->out.len = 0;
	c->sent = 0;
	if (c->out.oom || out->oom)
		return -ENOMEM;
	return 0;
}

int hkv_server_add_command(struct hkv_server *srv, const char *name, int arity, bool write,
			   const char *summary, hkv_server_ext_fn fn, void *arg)
{
	struct cmd *cmd;
	extern void ext_command(struct client * c);

	if (!name || !*name || strlen(name) >= sizeof(cmd->fullname) || !fn || !arity)
		return -EINVAL;
	if (cmd_lookup_name(srv, name, strlen(name)))
		return -EEXIST;
	if (srv->next_ext == srv->ext_cap) {
		int cap = srv->ext_cap ? srv->ext_cap * 2 : 8;
		struct cmd *t = realloc(srv->ext_cmds, (size_t)cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		srv->ext_cmds = t;
		srv->ext_cap = cap;
	}
	cmd = &srv->ext_cmds[srv->next_ext];
	memset(cmd, 0, sizeof(*cmd));
	cmd->name = strdup(name);
	if (!cmd->name)
		return -ENOMEM;
	for (char *p = (char *)cmd->name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	cmd->arity = arity;
	cmd->flags = (write ? CMD_WRITE : CMD_READONLY) | CMD_NOSCRIPT;
	cmd->acl = write ? ACL_WRITE : ACL_READ;
	cmd->proc = ext_command;
	cmd->group = "server";
	cmd->since = "0.1.0";
	cmd->summary = summary ? summary : "";
	cmd->complexity = "";
	cmd->ext = fn;
	cmd->ext_arg = arg;
	snprintf(cmd->fullname, sizeof(cmd->fullname), "%s", cmd->name);
	srv->next_ext++;
	return 0;
}

void ext_command(struct client *c);
void ext_command(struct client *c)
{
	size_t before = c->out.len;

	c->cmd->ext(c->cmd->ext_arg, c->argc, c->argv, c->argvlen, &c->out);
	if (c->out.len > before) {
		client_pushed(c);
		if (c->out.buf[before] == '-')
			c->cmd_failed = true;
	}
}
