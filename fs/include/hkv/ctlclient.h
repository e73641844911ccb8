/* SPDX-License-Identifier: MIT */
/*
 * hkv/ctlclient.h - one command to a daemon's RESP socket, its reply flattened to bytes.
 *
 * A mounted store is held by its hkvfs daemon, which serves Redis's protocol on
 * DATA_DIR/hkvfs.sock (fs/resp.c; hkvctl and redis-cli use it). Tests and tools that want one
 * command's answer as plain bytes use this: it connects, sends the command with hkv/client.h,
 * reads one reply and flattens it the way `redis-cli --raw` prints (below). Programs that
 * need the reply's structure use hkv/client.h directly. Thread-safe; one connection per call.
 */
#ifndef HKV_CTLCLIENT_H
#define HKV_CTLCLIENT_H

#include <stddef.h>
#include <stdio.h>

#include "hkv/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the daemon's socket inside a data directory. */
#define HKVFS_CTL_SOCK HKV_DAEMON_SOCK
/** Most arguments in one command sent through hkvfs_ctl_callv(). */
#define HKVFS_CTL_MAXARGS 64

/**
 * struct hkvfs_ctl_reply - a flattened reply.
 * @status: 0; -ENOENT for a nil reply or the error "ERR no such key" (a missing key);
 *          -EINVAL for any other error reply (@data is then its text, e.g. "WRONGTYPE
 *          Operation against a key ...").
 * @data:   malloc()ed, NUL-terminated (not counted in @len), owned by the caller:
 *          a bulk string or status: its bytes; an integer or double: its decimal text and
 *          "\n"; an array, set or map: each leaf flattened and followed by "\n" (nested
 *          arrays in order); nil: "".
 */
struct hkvfs_ctl_reply {
	int status;
	char *data;
	size_t len;
};

/**
 * hkvfs_ctl_callv() - send one command with binary-safe arguments and wait for the reply.
 * @sock:  path of the socket (e.g. "DATA_DIR/hkvfs.sock").
 * @argc:  number of arguments, 1..HKVFS_CTL_MAXARGS; @argv[0] is the command name.
 * @argv, @lens: argument bytes and lengths (borrowed for the call).
 * @reply: receives the reply; free reply->data.
 *
 * Return: 0 when a reply arrived (its status may still be an error); -EINVAL (bad argc),
 * -ENAMETOOLONG (socket path), -ECONNREFUSED/-ENOENT (no daemon), -EPROTO (malformed reply),
 * -ECONNRESET (closed before replying), -ENOMEM, or another -errno from the socket.
 */
int hkvfs_ctl_callv(const char *sock, int argc, const void *const *argv, const size_t *lens,
		    struct hkvfs_ctl_reply *reply);

/**
 * hkvfs_ctl_call() - as hkvfs_ctl_callv() with NUL-terminated arguments; writes the reply
 * body to @out (if not NULL) and an error reply's text to stderr.
 * Return: the reply's status (0 or -errno), or the transport error.
 */
int hkvfs_ctl_call(const char *sock, int argc, char **argv, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HKV_CTLCLIENT_H */
