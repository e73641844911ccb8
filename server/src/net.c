// SPDX-License-Identifier: MIT
/*
 * net.c - sockets and client lifecycle: listening (TCP and unix), accepting with maxclients
 * and protected mode, reading into the query buffer, running the requests in it, writing
 * replies, limits, closing.
 *
 * Query buffer: @qbuf[@qpos, @qlen) holds bytes not yet consumed. Requests are parsed in place
 * (resp.c) and a complete request's arguments point into the buffer, NUL-terminated over the
 * CR that follows each bulk; they are valid until the command returns, so anything a command
 * keeps (MULTI's queue, a blocked client's keys) is copied. After a batch of requests the
 * unconsumed tail is moved to the front.
 *
 * A client is freed only between commands: a command that closes a client (CLIENT KILL, QUIT,
 * an output limit) marks it CL_CLOSE_ASAP and it is freed at the end of the loop iteration,
 * after the replies already produced were written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server_int.h"

#define IOBUF (16 * 1024)

static const char denied_msg[] =
	"-DENIED hkv-server is running in protected mode because protected mode is enabled and "
	"no password is set for the default user. In this mode connections are only accepted "
	"from the loopback interface. If you want to connect from external computers, you may "
	"either set a password (--requirepass or CONFIG SET requirepass), or disable protected "
	"mode (--protected-mode no or CONFIG SET protected-mode no) after making sure the server "
	"is not reachable from the Internet.\r\n";

/* -------------------------------------------------------------------------------------
 * Listening
 * ------------------------------------------------------------------------------------- */

static int add_listener(struct hkv_server *srv, int fd, bool unix_sock, const char *addr,
			const char *path)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct listener *l;

	l = realloc(srv->listeners, (size_t)(srv->nlisteners + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	/* epoll holds pointers into the array: re-register everything after a move */
	srv->listeners = l;
	l = &srv->listeners[srv->nlisteners++];
	l->fd = fd;
	l->unix_sock = unix_sock;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->path = path ? strdup(path) : NULL;
	for (int i = 0; i < srv->nlisteners; i++) {
		ev.data.ptr = &srv->listeners[i];
		if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listeners[i].fd, &ev) < 0 &&
		    (errno != ENOENT ||
		     epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->listeners[i].fd, &ev) < 0))
			return -errno;
	}
	return 0;
}

static int listen_tcp(struct hkv_server *srv, const char *addr_in)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	bool optional = addr_in[0] == '-';
	const char *addr = optional ? addr_in + 1 : addr_in;
	char port[16], name[160];
	int rc, fd = -1, one = 1;

	snprintf(port, sizeof(port), "%d", srv->cfg.port);
	if (!strcmp(addr, "*"))
		addr = "0.0.0.0";
	rc = getaddrinfo(addr, port, &hints, &res);
	if (rc) {
		if (optional)
			return 0;
		srv_log(srv, 0, "cannot resolve bind address %s: %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	rc = 0;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, srv->cfg.tcp_backlog) < 0) {
			rc = -errno;
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		/* "-::1": a missing IPv6 stack is not an error */
		if (optional && (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT || rc == -EPROTONOSUPPORT))
			return 0;
		srv_log(srv, 0, "cannot listen on %s:%d: %s", addr, srv->cfg.port, strerror(-rc));
		return rc ? rc : -EINVAL;
	}
	snprintf(name, sizeof(name), "%s:%d", addr, srv->cfg.port);
	rc = add_listener(srv, fd, false, name, NULL);
	if (rc) {
		close(fd);
		return rc;
	}
	srv_log(srv, 2, "listening on %s", name);
	return 0;
}

static int listen_unix(struct hkv_server *srv, const char *path, uint32_t perm)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		srv_log(srv, 0, "unix socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket of a killed server: the store lock says it is ours */
	/* created owner-only, then opened up to @perm: never briefly wider than asked */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, srv->cfg.tcp_backlog) < 0) {
		rc = -errno;
		srv_log(srv, 0, "cannot listen on unix socket %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	if (perm && chmod(path, perm) < 0) {
		rc = -errno;
		srv_log(srv, 0, "cannot chmod unix socket %s: %s", path, strerror(-rc));
		close(fd);
		unlink(path);
		return rc;
	}
	rc = add_listener(srv, fd, true, path, path);
	if (rc) {
		close(fd);
		unlink(path);
		return rc;
	}
	srv_log(srv, 2, "listening on unix socket %s", path);
	return 0;
}

int net_listen(struct hkv_server *srv)
{
	int rc;

	if (srv->cfg.port > 0) {
		for (int i = 0; i < srv->cfg.nbind; i++) {
			rc = listen_tcp(srv, srv->cfg.bind[i]);
			if (rc)
				return rc;
		}
	}
	if (srv->cfg.unixsocket) {
		rc = listen_unix(srv, srv->cfg.unixsocket, srv->cfg.unixsocketperm);
		if (rc)
			return rc;
	}
	if (srv->cfg.extra_unixsocket) {
		rc = listen_unix(srv, srv->cfg.extra_unixsocket, srv->cfg.extra_unixsocketperm);
		if (rc)
			return rc;
	}
	if (!srv->nlisteners) {
		srv_log(srv, 0, "nothing to listen on (no port and no unix socket)");
		return -EINVAL;
	}
	return 0;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t size);

int net_adopt_listener(struct hkv_server *srv, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int listening = 0, flags, rc;
	socklen_t ol = sizeof(listening);
	char name[128];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) < 0)
		return -errno;
	if (!listening)
		return -EINVAL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)&ss;

		snprintf(name, sizeof(name), "%s", su->sun_path[0] ? su->sun_path : "unix");
	} else {
		fmt_addr(&ss, name, sizeof(name));
	}
	rc = add_listener(srv, fd, ss.ss_family == AF_UNIX, name, NULL);
	if (!rc)
		srv_log(srv, 2, "listening on %s (socket given by the embedder)", name);
	return rc;
}

/* Close listener @idx and close the gap; epoll's pointers into the array are renewed. */
static void remove_listener(struct hkv_server *srv, int idx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct listener *l = &srv->listeners[idx];

	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, l->fd, NULL);
	close(l->fd);
	if (l->path) {
		unlink(l->path);
		free(l->path);
	}
	memmove(l, l + 1, (size_t)(srv->nlisteners - idx - 1) * sizeof(*l));
	srv->nlisteners--;
	for (int i = idx; i < srv->nlisteners; i++) {
		ev.data.ptr = &srv->listeners[i];
		epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listeners[i].fd, &ev);
	}
}

int net_set_port(struct hkv_server *srv, int port)
{
	int old = srv->cfg.port, first = srv->nlisteners, rc = 0;

	if (port == old)
		return 0;
	srv->cfg.port = port;
	if (srv->epfd < 0)
		return 0; /* not listening yet: hkv_server_listen() uses the new port */
	/* the new sockets first: if one cannot be bound, the old ones stay */
	for (int i = 0; port > 0 && i < srv->cfg.nbind && !rc; i++)
		rc = listen_tcp(srv, srv->cfg.bind[i]);
	if (rc) {
		while (srv->nlisteners > first)
			remove_listener(srv, srv->nlisteners - 1);
		srv->cfg.port = old;
		return rc;
	}
	for (int i = first - 1; i >= 0; i--)
		if (!srv->listeners[i].unix_sock)
			remove_listener(srv, i);
	return 0;
}

void net_close_listeners(struct hkv_server *srv)
{
	for (int i = 0; i < srv->nlisteners; i++) {
		struct listener *l = &srv->listeners[i];

		if (srv->epfd >= 0)
			epoll_ctl(srv->epfd, EPOLL_CTL_DEL, l->fd, NULL);
		close(l->fd);
		if (l->path) {
			unlink(l->path);
			free(l->path);
		}
	}
	free(srv->listeners);
	srv->listeners = NULL;
	srv->nlisteners = 0;
}

/* -------------------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------------------- */

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s->sin6_port));
	} else {
		snprintf(buf, size, "/unix");
	}
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			return s->sin6_addr.s6_addr[12] == 127;
		return false;
	}
	return true;
}

struct client *client_new(struct hkv_server *srv, int fd, bool unix_sock)
{
	struct client *c = calloc(1, sizeof(*c));
	uint64_t id;

	if (!c)
		return NULL;
	c->fd = fd;
	c->srv = srv;
	c->id = id = srv->next_client_id++;
	c->db = srv->db;
	c->authenticated = !srv->cfg.requirepass || !*srv->cfg.requirepass;
	c->ctime_ms = c->last_ms = srv_now_ms();
	hkv_resp_req_init(&c->req);
	c->req.max_bulk = srv->cfg.proto_max_bulk_len;
	hkv_resp_out_init(&c->out, 2);
	dict_init(&c->channels);
	dict_init(&c->patterns);
	dict_init(&c->shard_channels);
	dict_init(&c->bs.keys);
	if (unix_sock)
		c->flags |= CL_UNIX;
	if (!dict_add(&srv->clients_by_id, &id, sizeof(id), c, NULL)) {
		free(c);
		return NULL;
	}
	if (fd >= 0) {
		c->next = srv->clients;
		if (srv->clients)
			srv->clients->prev = c;
		srv->clients = c;
		__atomic_add_fetch(&srv->nclients, 1, __ATOMIC_SEQ_CST); /* hkv_server_watch() */
	}
	return c;
}

void net_accept(struct hkv_server *srv, struct listener *l)
{
	for (int round = 0; round < 100; round++) {
		struct sockaddr_storage ss, ls;
		socklen_t sl = sizeof(ss), lsl = sizeof(ls);
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *c;
		int fd, one = 1;

		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				srv_log(srv, 1, "accept on %s: %s", l->addr, strerror(errno));
			return;
		}
		srv->st.connections++;
		if (srv->nclients >= srv->cfg.maxclients) {
			static const char err[] = "-ERR max number of clients reached\r\n";

			if (write(fd, err, sizeof(err) - 1) < 0) {
				/* the client goes away without the message */
			}
			close(fd);
			srv->st.rejected_conn++;
			continue;
		}
		if (!l->unix_sock && srv->cfg.protected_mode &&
		    (!srv->cfg.requirepass || !*srv->cfg.requirepass) && !is_loopback(&ss)) {
			if (write(fd, denied_msg, sizeof(denied_msg) - 1) < 0) {
				/* as above */
			}
			close(fd);
			srv->st.rejected_conn++;
			continue;
		}
		if (!l->unix_sock) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (srv->cfg.tcp_keepalive) {
				int idle = (int)srv->cfg.tcp_keepalive;

				setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
				setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
			}
		}
		c = client_new(srv, fd, l->unix_sock);
		if (!c) {
			close(fd);
			continue;
		}
		if (l->unix_sock) {
			snprintf(c->addr, sizeof(c->addr), "%s:0", l->addr);
			snprintf(c->laddr, sizeof(c->laddr), "%s:0", l->addr);
		} else {
			fmt_addr(&ss, c->addr, sizeof(c->addr));
			if (getsockname(fd, (struct sockaddr *)&ls, &lsl) == 0)
				fmt_addr(&ls, c->laddr, sizeof(c->laddr));
		}
		ev.data.ptr = c;
		c->epoll_events = EPOLLIN;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			srv_log(srv, 1, "epoll_ctl: %s", strerror(errno));
			client_free(c);
		}
	}
}

static void set_events(struct client *c, int events)
{
	struct epoll_event ev = { .events = (uint32_t)events, .data.ptr = c };

	if (c->fd < 0 || c->epoll_events == events)
		return;
	if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->epoll_events = events;
}

void client_want_write(struct client *c)
{
	if (c->flags & (CL_PENDING_WRITE | CL_FAKE))
		return;
	c->flags |= CL_PENDING_WRITE;
	c->next_pending = c->srv->pending;
	c->srv->pending = c;
}

static void unlink_from(struct client **head, struct client *c, size_t link_off)
{
	struct client **pp = head;

	while (*pp) {
		if (*pp == c) {
			*pp = *(struct client **)((char *)c + link_off);
			return;
		}
		pp = (struct client **)((char *)*pp + link_off);
	}
}

void client_free(struct client *c)
{
	struct hkv_server *srv = c->srv;
	uint64_t id = c->id;

	if (c->flags & CL_BLOCKED)
		unblock_client(c, false);
	block_state_free(c);
	pubsub_unsubscribe_all(c, false);
	unwatch_all(c);
	multi_discard(c);
	if (c->flags & CL_PENDING_WRITE)
		unlink_from(&srv->pending, c, offsetof(struct client, next_pending));
	if (c->flags & CL_UNBLOCKED)
		unlink_from(&srv->unblocked, c, offsetof(struct client, next_unblocked));
	if (c->flags & CL_CLOSE_ASAP)
		unlink_from(&srv->to_close, c, offsetof(struct client, next_close));
	dict_del(&srv->clients_by_id, &id, sizeof(id));
	if (c->fd >= 0) {
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		if (c->prev)
			c->prev->next = c->next;
		else
			srv->clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
		__atomic_sub_fetch(&srv->nclients, 1, __ATOMIC_SEQ_CST);
	}
	if (srv->current == c)
		srv->current = NULL;
	if (srv->fake == c)
		srv->fake = NULL;
	hkv_resp_req_release(&c->req);
	hkv_resp_out_release(&c->out);
	dict_release(&c->channels, NULL);
	dict_release(&c->patterns, NULL);
	dict_release(&c->shard_channels, NULL);
	free(c->qbuf);
	free(c->name);
	free(c);
}

void client_close_async(struct client *c)
{
	if (c->flags & (CL_CLOSE_ASAP | CL_FAKE))
		return;
	c->flags |= CL_CLOSE_ASAP;
	c->next_close = c->srv->to_close;
	c->srv->to_close = c;
}

void client_check_obuf(struct client *c)
{
	const struct hkv_server_obuf_limit *lim;
	uint64_t pending;

	if (c->flags & (CL_FAKE | CL_CLOSE_ASAP))
		return;
	pending = c->out.len - c->sent;
	lim = (c->flags & CL_PUBSUB) ? &c->srv->cfg.obuf_pubsub : &c->srv->cfg.obuf_normal;
	if (c->out.oom) {
		srv_log(c->srv, 1, "client id=%llu closed: out of memory for its replies",
			(unsigned long long)c->id);
		client_close_async(c);
		return;
	}
	if (lim->hard && pending > lim->hard) {
		srv_log(c->srv, 1,
			"client id=%llu addr=%s closed for overcoming of output buffer limits",
			(unsigned long long)c->id, c->addr);
		c->srv->st.evicted_clients++;
		client_close_async(c);
		return;
	}
	if (lim->soft && pending > lim->soft) {
		int64_t now = srv_now_ms();

		if (!c->obuf_soft_since) {
			c->obuf_soft_since = now;
		} else if (now - c->obuf_soft_since > (int64_t)lim->soft_seconds * 1000) {
			srv_log(c->srv, 1,
				"client id=%llu addr=%s closed for overcoming of output buffer "
				"soft limit",
				(unsigned long long)c->id, c->addr);
			client_close_async(c);
		}
	} else {
		c->obuf_soft_since = 0;
	}
}

void client_reset_cmd(struct client *c)
{
	c->argc = 0;
	c->argv = NULL;
	c->argvlen = NULL;
	c->cmd = NULL;
}

/*
 * Pipelines: when a client's buffer holds several requests, consecutive data commands (reads
 * and writes of keys: no administration, blocking, pub/sub or transaction commands, nothing
 * that touches every key) run inside one engine transaction, at most BATCH_MAX of them. The
 * engine then applies them as one write, one log record and one flush instead of one each;
 * the commands still run one after another, each seeing the writes of those before it,
 * exactly as without the batch, and their replies are sent when the loop iteration ends as
 * always. A command that makes a key ready for blocked clients ends the batch, so that they
 * are served right after it, as without the batch; the engine's events of the batch are
 * taken in once it has committed. If the commit fails (a full disk, an I/O error),
 * nothing of the batch is in the store and every command of it gets that error as its reply.
 */
#define BATCH_MAX 64

static bool batchable(struct client *c)
{
	struct cmd *cmd;

	if ((c->flags & (CL_MULTI | CL_PUBSUB)) || !c->authenticated || c->srv->flush_error)
		return false;
	cmd = cmd_lookup(c->srv, c->argc, c->argv, c->argvlen);
	if (!cmd || !cmd->proc || cmd->ext)
		return false;
	if (!(cmd->flags & (CMD_WRITE | CMD_READONLY)))
		return false;
	return !(cmd->flags & (CMD_ADMIN | CMD_BLOCKING | CMD_PUBSUB | CMD_NO_MULTI |
			       CMD_TOUCHES_ALL));
}

/* Parse the next request of @c into c->argc/argv. Return: hkv_resp_req_parse()'s value. */
static int parse_next(struct client *c)
{
	int rc;

	c->req.unauth = !c->authenticated;
	rc = hkv_resp_req_parse(&c->req, c->qbuf + c->qpos, c->qlen - c->qpos);
	if (rc != 1)
		return rc;
	c->argc = c->req.argc;
	c->argv = c->req.argv;
	c->argvlen = c->req.argvlen;
	for (int i = 0; i < c->argc; i++)
		c->argv[i][c->argvlen[i]] = 0; /* over the CR: arguments are C strings */
	return 1;
}

static void consume(struct client *c)
{
	c->qpos += c->req.used;
	hkv_resp_req_reset(&c->req);
	client_reset_cmd(c);
}

struct batch {
	struct client *c;
	int n;
};

static int batch_body(struct hkv *tx, void *arg)
{
	struct batch *b = arg;
	struct client *c = b->c;
	struct hkv_server *srv = c->srv;

	c->db = tx;
	for (;;) {
		srv->current = c;
		/* back to back: the previous command's end is this one's start */
		srv->call_start_us = b->n ? srv->call_end_us : 0;
		process_command(c);
		srv->call_start_us = 0;
		srv->current = NULL;
		b->n++;
		consume(c);
		/* a key with blocked clients is served right after the command that filled it */
		if (b->n >= BATCH_MAX || c->qpos >= c->qlen || srv->nready ||
		    (c->flags & (CL_BLOCKED | CL_CLOSE_AFTER_REPLY | CL_CLOSE_ASAP)))
			break;
		/* an incomplete, malformed or other request goes back to the caller's loop */
		if (parse_next(c) != 1 || !c->argc || !batchable(c)) {
			hkv_resp_req_reset(&c->req);
			client_reset_cmd(c);
			break;
		}
	}
	c->db = srv->db;
	return 0;
}

static void run_batch(struct client *c)
{
	struct hkv_server *srv = c->srv;
	struct batch b = { c, 0 };
	size_t before = c->out.len;
	int rc;

	srv->in_batch = true;
	rc = hkv_txn_run(srv->db, batch_body, &b);
	srv->in_batch = false;
	if (rc < 0) {
		srv_log(srv, 0, "a pipeline of %d commands could not be applied: %s", b.n,
			hkv_strerror(rc));
		if (c->out.len >= before)
			c->out.len = before;
		for (int i = 0; i < b.n; i++)
			add_err_engine(c, rc);
	}
	/* the engine's events of the batch arrived before hkv_txn_run() returned */
	drain_watch_events(srv);
	dict_release(&srv->batch_keys, NULL);
	dict_init(&srv->batch_keys);
	after_command(srv);
	client_check_obuf(c);
}

void client_process_input(struct client *c)
{
	struct hkv_server *srv = c->srv;

	while (c->qpos < c->qlen &&
	       !(c->flags & (CL_BLOCKED | CL_CLOSE_AFTER_REPLY | CL_CLOSE_ASAP))) {
		int rc = parse_next(c);

		if (rc == 0)
			break;
		if (rc < 0) {
			if (rc == -1) {
				add_error(c, c->req.err);
				srv_log(srv, 3, "protocol error from client id=%llu addr=%s: %s",
					(unsigned long long)c->id, c->addr, c->req.err);
			} else {
				srv_log(srv, 1, "out of memory parsing a request of client id=%llu",
					(unsigned long long)c->id);
			}
			c->flags |= CL_CLOSE_AFTER_REPLY | CL_PROTO_ERROR;
			c->qpos = c->qlen;
			hkv_resp_req_reset(&c->req);
			break;
		}
		/* no new batch while one runs: a busy script serves the loop from inside its
		 * transaction (script.c), and a batch's transaction cannot start in it */
		if (c->argc > 0 && c->qpos + c->req.used < c->qlen && !srv->in_batch &&
		    batchable(c)) {
			run_batch(c);
			continue;
		}
		if (c->argc > 0) {
			srv->current = c;
			process_command(c);
			srv->current = NULL;
		}
		consume(c);
		after_command(srv);
		if (c->flags & CL_CLOSE_ASAP)
			break;
		client_check_obuf(c);
	}
	if (c->qpos == c->qlen) {
		c->qpos = c->qlen = 0;
	} else if (c->qpos) {
		/* the parser keeps offsets relative to the request start: moving is safe */
		memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
		c->qlen -= c->qpos;
		c->qpos = 0;
	}
}

void net_read(struct client *c)
{
	struct hkv_server *srv = c->srv;
	size_t want = IOBUF, have = c->qlen - c->qpos;
	ssize_t n;

	/* a large bulk in progress: read it with as few calls as possible */
	if (c->req.need > have && c->req.need - have > want)
		want = c->req.need - have;
	if (c->qlen + want > c->qcap) {
		size_t cap = c->qcap ? c->qcap : IOBUF;
		char *b;

		if (c->qpos) {
			memmove(c->qbuf, c->qbuf + c->qpos, have);
			c->qlen = have;
			c->qpos = 0;
		}
		while (cap < c->qlen + want + 1)
			cap *= 2;
		if (cap != c->qcap) {
			b = realloc(c->qbuf, cap);
			if (!b) {
				srv_log(srv, 1, "out of memory for client id=%llu's query buffer",
					(unsigned long long)c->id);
				client_close_async(c);
				return;
			}
			c->qbuf = b;
			c->qcap = cap;
		}
	}
	n = read(c->fd, c->qbuf + c->qlen, c->qcap - c->qlen - 1);
	if (n == 0) {
		client_close_async(c);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		srv_log(srv, 3, "reading from client id=%llu: %s", (unsigned long long)c->id,
			strerror(errno));
		client_close_async(c);
		return;
	}
	c->qlen += (size_t)n;
	srv->st.reads++;
	c->net_in += (uint64_t)n;
	srv->st.net_in += (uint64_t)n;
	c->last_ms = srv_now_ms();
	if (c->qlen - c->qpos > c->qbuf_peak)
		c->qbuf_peak = c->qlen - c->qpos;
	if (c->qlen - c->qpos > srv->cfg.query_buffer_limit) {
		srv_log(srv, 1, "closing client id=%llu addr=%s that reached max query buffer length",
			(unsigned long long)c->id, c->addr);
		add_error(c, "Protocol error: query buffer limit reached "
			     "(client-query-buffer-limit)");
		c->flags |= CL_CLOSE_AFTER_REPLY;
		c->qpos = c->qlen = 0;
		hkv_resp_req_reset(&c->req);
		return;
	}
	if (c->flags & CL_BLOCKED)
		return;
	client_process_input(c);
}

void net_write(struct client *c)
{
	struct hkv_server *srv = c->srv;

	while (c->sent < c->out.len) {
		ssize_t n = write(c->fd, c->out.buf + c->sent, c->out.len - c->sent);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_events(c, EPOLLIN | EPOLLOUT);
				return;
			}
			srv_log(srv, 3, "writing to client id=%llu: %s", (unsigned long long)c->id,
				strerror(errno));
			client_close_async(c);
			return;
		}
		c->sent += (size_t)n;
		c->net_out += (uint64_t)n;
		srv->st.net_out += (uint64_t)n;
	}
	srv->st.writes++;
	c->out.len = c->sent = 0;
	c->obuf_soft_since = 0;
	if (c->out.cap > (1u << 20)) {
		hkv_resp_out_release(&c->out);
	}
	set_events(c, EPOLLIN);
	if (c->flags & CL_CLOSE_AFTER_REPLY)
		client_close_async(c);
}

void net_flush_pending(struct hkv_server *srv)
{
	while (srv->pending) {
		struct client *c = srv->pending;

		srv->pending = c->next_pending;
		c->next_pending = NULL;
		c->flags &= ~CL_PENDING_WRITE;
		if (c->flags & CL_CLOSE_ASAP)
			continue;
		net_write(c);
	}
}

size_t client_info(struct client *c, char *buf, size_t size)
{
	char flags[16], *p = flags;
	int64_t now = srv_now_ms();
	const char *cmd = c->lastcmd ? c->lastcmd->fullname : "NULL";
	int n;

	if (c->flags & CL_PUBSUB)
		*p++ = 'P';
	if (c->flags & CL_MULTI)
		*p++ = 'x';
	if (c->flags & CL_BLOCKED)
		*p++ = 'b';
	if (c->flags & CL_DIRTY_CAS)
		*p++ = 'd';
	if (c->flags & CL_CLOSE_AFTER_REPLY)
		*p++ = 'c';
	if (c->flags & CL_UNBLOCKED)
		*p++ = 'u';
	if (c->flags & CL_CLOSE_ASAP)
		*p++ = 'A';
	if (c->flags & CL_UNIX)
		*p++ = 'U';
	if (c->flags & CL_NO_EVICT)
		*p++ = 'e';
	if (p == flags)
		*p++ = 'N';
	*p = 0;
	n = snprintf(buf, size,
		     "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=0 "
		     "sub=%d psub=%d ssub=%d multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu "
		     "multi-mem=0 rbs=%zu rbp=%llu obl=0 oll=0 omem=%zu tot-mem=%zu events=%s%s "
		     "cmd=%s user=default redir=-1 resp=%d",
		     (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
		     (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_ms) / 1000),
		     flags, (int)dict_size(&c->channels), (int)dict_size(&c->patterns),
		     (int)dict_size(&c->shard_channels), (c->flags & CL_MULTI) ? c->mcount : -1,
		     c->qlen - c->qpos, c->qcap > c->qlen ? c->qcap - c->qlen : 0, (size_t)0,
		     c->out.cap, (unsigned long long)c->qbuf_peak, c->out.len - c->sent,
		     sizeof(*c) + c->qcap + c->out.cap, c->fd >= 0 ? "r" : "",
		     (c->epoll_events & EPOLLOUT) ? "w" : "", cmd, c->out.proto);
	return n < 0 ? 0 : ((size_t)n >= size ? size - 1 : (size_t)n);
}
