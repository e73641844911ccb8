/* SPDX-License-Identifier: MIT */
/*
 * hkv/client.h - a small blocking RESP client: one connection, one request at a time.
 *
 * Used by hkvctl to reach the daemon that holds a store (DATA_DIR/hkvfs.sock) and by tests and
 * tools that talk to a daemon or hkv-server. Requests are sent as RESP multibulk arrays
 * (binary-safe); replies are parsed with struct hkv_resp_reader (hkv/resp.h), RESP2 or RESP3
 * alike. Not thread-safe per connection; make one connection per thread.
 */
#ifndef HKV_CLIENT_H
#define HKV_CLIENT_H

#include <stddef.h>

#include "hkv/resp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the daemon's RESP socket inside a data directory. */
#define HKV_DAEMON_SOCK "hkvfs.sock"

/**
 * struct hkv_client - one connection. @fd is the socket; the reader is private.
 */
struct hkv_client {
	int fd;
	struct hkv_resp_reader rd;
};

/**
 * hkv_client_connect_unix() - connect to the unix socket @path.
 * Return: 0 and *@c ready; -ENAMETOOLONG, -ENOENT/-ECONNREFUSED (nobody listens), -EACCES,
 * -ENOMEM or another -errno from socket()/connect().
 */
int hkv_client_connect_unix(struct hkv_client *c, const char *path);

/**
 * hkv_client_connect_tcp() - connect to @host (name or address) port @port.
 * Return: 0; -EHOSTUNREACH (name does not resolve), -ECONNREFUSED or another -errno.
 */
int hkv_client_connect_tcp(struct hkv_client *c, const char *host, int port);

/**
 * hkv_client_send() - send one request: @argc arguments (@argv[0] the command name), each
 * @argvlen[i] bytes, binary-safe. The reply is read with hkv_client_recv().
 * Return: 0; -EINVAL (@argc < 1), -EPIPE, -ECONNRESET or another -errno from write().
 */
int hkv_client_send(struct hkv_client *c, int argc, const char *const *argv,
		    const size_t *argvlen);

/**
 * hkv_client_recv() - wait for the next reply. Push messages (RESP3 '>') are returned like any
 * other reply: the caller that subscribed knows to expect them.
 * Return: 0 and *@out (free with hkv_resp_value_free()); -ECONNRESET (closed before a whole
 * reply), -EPROTO (malformed reply), -ENOMEM or another -errno from read().
 */
int hkv_client_recv(struct hkv_client *c, struct hkv_resp_value **out);

/**
 * hkv_client_call() - hkv_client_send() then hkv_client_recv().
 * Return: as those two; the reply itself may be an error reply (HKV_RESP_ERROR).
 */
int hkv_client_call(struct hkv_client *c, int argc, const char *const *argv,
		    const size_t *argvlen, struct hkv_resp_value **out);

/** hkv_client_close() - close the connection and free the reader. Safe to call twice. */
void hkv_client_close(struct hkv_client *c);

struct iovec;

/**
 * hkv_iov_consume() - after a short write of @w bytes from the @n buffers at *@iov, advance
 * *@iov and *@n past what was written: the buffers then describe what is left (the first one
 * shortened in place). @w must not exceed the buffers' total.
 */
void hkv_iov_consume(struct iovec **iov, int *n, size_t w);

#ifdef __cplusplus
}
#endif
#endif /* HKV_CLIENT_H */
