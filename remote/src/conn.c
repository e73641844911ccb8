// SPDX-License-Identifier: MIT
/*
 * conn.c - one TCP connection to a Redis node, every operation bounded by a deadline.
 *
 * The socket is non-blocking from the start: connect() is EINPROGRESS then poll(POLLOUT),
 * writes and reads wait in poll() for at most what is left of the caller's deadline, so no
 * operation of the client can block past the budget of the call it serves. A deadline is an
 * absolute CLOCK_MONOTONIC time in milliseconds (rc_now_ms()).
 *
 * A request (or a pipeline of them) is written as RESP multibulk arrays with writev(): the
 * "*N" and "$LEN" headers are built in one scratch buffer, the argument bytes are sent from
 * the caller's memory. Replies are parsed by the project's codec (struct hkv_resp_reader), so
 * RESP2 and RESP3 (pushes included) come out the same way.
 *
 * After a timeout or an I/O error in the middle of a request the connection's stream position
 * is unknown: the caller must rc_close() it, never give it back to a pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cluster_int.h"
#include "hkv/client.h"

int64_t rc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline. Return: 0 ready, -ETIMEDOUT, -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - rc_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_addr(const struct addrinfo *ai, int64_t deadline, int *fdp)
{
	socklen_t elen = sizeof(int);
	int fd, err = 0, one = 1, rc;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS && errno != EINTR) {
			rc = -errno;
			goto out_close;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc)
			goto out_close;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
			rc = -errno;
			goto out_close;
		}
		if (err) {
			rc = -err;
			goto out_close;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fdp = fd;
	return 0;

out_close:
	close(fd);
	return rc;
}

int rc_open(struct rconn **out, const char *host, int port, int64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct rconn *c;
	char service[16];
	int fd = -1, rc = -ECONNREFUSED;

	*out = NULL;
	if (port <= 0 || port > 65535)
		return -EINVAL;
	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(host, service, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		rc = connect_addr(ai, deadline, &fd);
		if (rc == 0 || rc == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (rc == -ENETUNREACH)
		rc = -EHOSTUNREACH;
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	hkv_resp_reader_init(&c->rd);
	*out = c;
	return 0;
}

void rc_close(struct rconn *c)
{
	if (!c)
		return;
	close(c->fd);
	hkv_resp_reader_release(&c->rd);
	free(c);
}

bool rc_stale(struct rconn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

	/* an idle connection has nothing to read: anything there is EOF, an error, or junk */
	return c->rd.len > c->rd.pos || poll(&p, 1, 0) != 0;
}

static int writev_all(int fd, struct iovec *iov, int n, int64_t deadline)
{
	while (n > 0) {
		struct msghdr msg = { .msg_iov = iov,
				      .msg_iovlen = (size_t)(n > IOV_MAX ? IOV_MAX : n) };
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
		int rc;

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc)
				return rc;
			continue;
		}
		hkv_iov_consume(&iov, &n, (size_t)w);
	}
	return 0;
}

int rc_send(struct rconn *c, int n, const struct hkv_cluster_cmd *cmds, int64_t deadline)
{
	struct iovec *iov;
	char *hdr;
	size_t nargs = 0, h = 0;
	int niov = 0, rc;

	for (int i = 0; i < n; i++) {
		if (cmds[i].argc < 1)
			return -EINVAL;
		nargs += (size_t)cmds[i].argc;
	}
	iov = malloc((nargs * 3 + (size_t)n) * sizeof(*iov));
	hdr = malloc((nargs + (size_t)n) * 24);
	if (!iov || !hdr) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (int i = 0; i < n; i++) {
		iov[niov].iov_base = hdr + h * 24;
		iov[niov++].iov_len = (size_t)snprintf(hdr + h++ * 24, 24, "*%d\r\n", cmds[i].argc);
		for (int a = 0; a < cmds[i].argc; a++) {
			iov[niov].iov_base = hdr + h * 24;
			iov[niov++].iov_len = (size_t)snprintf(hdr + h++ * 24, 24, "$%zu\r\n",
							       cmds[i].argvlen[a]);
			iov[niov].iov_base = (void *)cmds[i].argv[a];
			iov[niov++].iov_len = cmds[i].argvlen[a];
			iov[niov].iov_base = "\r\n";
			iov[niov++].iov_len = 2;
		}
	}
	rc = writev_all(c->fd, iov, niov, deadline);
out_free:
	free(hdr);
	free(iov);
	return rc;
}

int rc_fill(struct rconn *c)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n > 0) {
			int rc = hkv_resp_reader_feed(&c->rd, buf, (size_t)n);

			if (rc)
				return rc;
			if ((size_t)n < sizeof(buf))
				return 0;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		return -errno;
	}
}

int rc_recv(struct rconn *c, struct hkv_resp_value **out, int64_t deadline)
{
	for (;;) {
		int rc = hkv_resp_reader_next(&c->rd, out);

		if (rc == 1)
			return 0;
		if (rc < 0)
			return rc == -EPROTO ? -EIO : rc;
		rc = rc_fill(c);
		if (rc == -EAGAIN)
			rc = wait_fd(c->fd, POLLIN, deadline);
		if (rc)
			return rc;
	}
}

int rc_call(struct rconn *c, int argc, const char *const *argv, const size_t *argvlen,
	    struct hkv_resp_value **out, int64_t deadline)
{
	struct hkv_cluster_cmd cmd = { argc, argv, argvlen };
	int rc = rc_send(c, 1, &cmd, deadline);

	*out = NULL;
	return rc ? rc : rc_recv(c, out, deadline);
}
