/* SPDX-License-Identifier: MIT */
/*
 * hkv/ctlclient.h - client of the hkvfs control socket (DATA_DIR/hkvfs.sock).
 *
 * A mounted store is held open by its hkvfs daemon (the engine refuses a second opener with
 * -EBUSY); hkvctl sends its verbs to the daemon through this socket instead. The protocol is
 * specified in docs/filesystem.md ("Control interface"). Functions here are thread-safe; each
 * call makes one connection.
 */
#ifndef HKV_CTLCLIENT_H
#define HKV_CTLCLIENT_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Name of the control socket inside a data directory. */
#define HKVFS_CTL_SOCK "hkvfs.sock"
/** Most arguments in one request, and the largest request or reply body. */
#define HKVFS_CTL_MAXARGS 64
#define HKVFS_CTL_MAXBODY (520u << 20)

/**
 * struct hkvfs_ctl_reply - a reply: @status is 0 or a negative errno from the daemon;
 * @data (malloc()ed, NUL-terminated, not counted in @len) is owned by the caller, who frees it.
 */
struct hkvfs_ctl_reply {
	int status;
	char *data;
	size_t len;
};

/**
 * hkvfs_ctl_callv() - send one request with binary-safe arguments and wait for the reply.
 * @sock:  path of the socket (e.g. "DATA_DIR/hkvfs.sock").
 * @argc:  number of arguments, 1..HKVFS_CTL_MAXARGS; @argv[0] is the verb.
 * @argv, @lens: argument bytes and lengths (borrowed for the call).
 * @reply: receives the reply; free reply->data.
 *
 * Return: 0 when a reply arrived (its status may still be an error); -EINVAL (bad argc),
 * -ENAMETOOLONG (socket path), -ECONNREFUSED/-ENOENT (no daemon), -EPROTO (malformed reply),
 * -ENOMEM, or another -errno from the socket.
 */
int hkvfs_ctl_callv(const char *sock, int argc, const void *const *argv, const size_t *lens,
		    struct hkvfs_ctl_reply *reply);

/**
 * hkvfs_ctl_call() - as hkvfs_ctl_callv() with NUL-terminated arguments; writes the reply
 * body to @out (if not NULL) and an error message to stderr.
 * Return: the reply's status (0 or -errno), or the transport error.
 */
int hkvfs_ctl_call(const char *sock, int argc, char **argv, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* HKV_CTLCLIENT_H */
