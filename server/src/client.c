// SPDX-License-Identifier: MIT
/*
 * client.c - the blocking RESP client of hkv/client.h.
 *
 * A request is written as one multibulk array in batches (headers built in a
 * small buffer, argument bytes sent from the caller's memory, never copied) by sendmsg() with
 * MSG_NOSIGNAL, so a peer that went away is -EPIPE, never a SIGPIPE; the reply is read into the
 * reader until it yields one value. Short writes, EINTR and partial replies are handled here.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "hkv/client.h"

static void client_init(struct hkv_client *c, int fd)
{
	c->fd = fd;
	hkv_resp_reader_init(&c->rd);
}

int hkv_client_connect_unix(struct hkv_client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		err = -errno;
		close(fd);
		return err;
	}
	client_init(c, fd);
	return 0;
}

int hkv_client_connect_tcp(struct hkv_client *c, const char *host, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[16];
	int fd = -1, err = -ECONNREFUSED;

	c->fd = -1;
	if (port <= 0 || port > 65535)
		return -EINVAL;
	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(host, service, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err;
	client_init(c, fd);
	return 0;
}

void hkv_iov_consume(struct iovec **iov, int *n, size_t w)
{
	while (*n > 0 && w >= (*iov)->iov_len) {
		w -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + w;
		(*iov)->iov_len -= w;
	}
}

/* Write every byte of @iov[0..@n), advancing through short writes. */
static int writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		hkv_iov_consume(&iov, &n, (size_t)w);
	}
	return 0;
}

#define CLIENT_BATCH 64 /* arguments per writev() batch */

int hkv_client_send(struct hkv_client *c, int argc, const char *const *argv,
		    const size_t *argvlen)
{
	char hdr[CLIENT_BATCH + 1][32];
	struct iovec iov[CLIENT_BATCH * 3 + 1];
	int i = 0, rc;

	if (argc < 1 || c->fd < 0)
		return -EINVAL;
	while (i < argc) {
		int n = 0, h = 0;

		if (i == 0) {
			iov[n].iov_base = hdr[h];
			iov[n++].iov_len = (size_t)snprintf(hdr[h++], sizeof(hdr[0]), "*%d\r\n",
							    argc);
		}
		/* a batch after the first has no "*N" header: bound it by the iovecs left */
		for (; i < argc && h < CLIENT_BATCH + 1 &&
		       n + 3 <= (int)(sizeof(iov) / sizeof(iov[0]));
		     i++) {
			iov[n].iov_base = hdr[h];
			iov[n++].iov_len = (size_t)snprintf(hdr[h++], sizeof(hdr[0]), "$%zu\r\n",
							    argvlen[i]);
			iov[n].iov_base = (void *)argv[i];
			iov[n++].iov_len = argvlen[i];
			iov[n].iov_base = "\r\n";
			iov[n++].iov_len = 2;
		}
		rc = writev_all(c->fd, iov, n);
		if (rc)
			return rc;
	}
	return 0;
}

int hkv_client_recv(struct hkv_client *c, struct hkv_resp_value **out)
{
	char buf[65536];

	for (;;) {
		int rc = hkv_resp_reader_next(&c->rd, out);
		ssize_t n;

		if (rc == 1)
			return 0;
		if (rc < 0)
			return rc;
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		rc = hkv_resp_reader_feed(&c->rd, buf, (size_t)n);
		if (rc)
			return rc;
	}
}

int hkv_client_call(struct hkv_client *c, int argc, const char *const *argv,
		    const size_t *argvlen, struct hkv_resp_value **out)
{
	int rc = hkv_client_send(c, argc, argv, argvlen);

	return rc ? rc : hkv_client_recv(c, out);
}

void hkv_client_close(struct hkv_client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		hkv_resp_reader_release(&c->rd);
	}
	c->fd = -1;
}
