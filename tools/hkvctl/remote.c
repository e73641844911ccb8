/* SPDX-License-Identifier: MIT */
/*
 * remote.c - the socket door: while a daemon holds the store (hkv_open() says -EBUSY), the
 * request goes as one RESP multibulk array to DATA_DIR/hkvfs.sock and the daemon's reply comes
 * back. The daemon runs it through the same command table hkvctl would have run in-process,
 * so the reply is the one the local door would give, and every command is one request:
 * MSET, DEL of many keys or SMOVE are as atomic as over any Redis connection.
 *
 * A unix socket path holds at most 107 bytes; for a longer data directory hkvctl moves into
 * the directory and connects to the relative name (it is a one-shot process: nothing else
 * depends on its working directory by then).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/un.h>

#include "hkv/client.h"
#include "hkvctl.h"

static int connect_dir(struct hkv_client *c, const char *dir, const char **shown)
{
	static char path[4096];
	struct sockaddr_un sa;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, HKV_DAEMON_SOCK);
	*shown = path;
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if ((size_t)n < sizeof(sa.sun_path))
		return hkv_client_connect_unix(c, path);
	if (chdir(dir) < 0)
		return -errno;
	return hkv_client_connect_unix(c, HKV_DAEMON_SOCK);
}

struct hkv_resp_value *ctl_remote_run(const struct ctl_ctx *ctx, const struct ctl_req *req)
{
	struct hkv_resp_value *v = NULL;
	struct hkv_client c;
	const char *path;
	int rc;

	rc = connect_dir(&c, ctx->dir, &path);
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return ctl_error("ERR store in use by another process: %s "
				 "(is it mounted? stop the hkvfs daemon, or use its mount)",
				 ctx->dir);
	if (rc)
		return ctl_error("ERR store in use by another process: %s, and its socket %s "
				 "cannot be reached: %s", ctx->dir, path, strerror(-rc));
	rc = hkv_client_call(&c, req->argc, (const char *const *)req->argv, req->argvlen, &v);
	hkv_client_close(&c);
	if (rc == -ECONNRESET)
		return ctl_error("%s", CTL_NO_REPLY);
	if (rc)
		return ctl_error("ERR no reply from %s: %s (the command may or may not have run)",
				 path, strerror(-rc));
	return v;
}
