/* SPDX-License-Identifier: MIT */
/*
 * opts.h - hkvfs mount options, shared by the daemon (hkvfs) and the mount helper
 * (mount.hkvfs) so both accept and reject exactly the same option strings.
 */
#ifndef HKVFS_OPTS_H
#define HKVFS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hkvfs_cache {
	HKVFS_CACHE_ON = 0, /* long kernel timeouts, keep_cache, explicit invalidation */
	HKVFS_CACHE_OFF,    /* timeouts 0, direct_io: every access reaches the daemon */
	HKVFS_CACHE_NOOPEN, /* as ON, and OPEN answered ENOSYS (see docs: weaker writes) */
};

/**
 * struct hkvfs_opts - effective options of one mount.
 * @sync:        0 always, 1 everysec, 2 none (enum hkv_sync values).
 * @fuse_extra:  generic kernel/libfuse options passed through ("nosuid,nodev,..."), may be "".
 * @log:         "syslog", a file path, or NULL (stderr).
 * @loglevel:    0 error .. 3 debug.
 * @timeout:     kernel entry/attr timeout in seconds when caching is on.
 * @hot:         promote hot string values to the kernel cache (/dev/hkv).
 * @hot_k:       how many of the hottest keys are promotion candidates (1..4096).
 * @hot_min:     reads per second a key needs to be promoted (1..1000000).
 * @hot_interval: period of the promotion thread in milliseconds (10..60000).
 * @wbuf_handle: most bytes one open file may buffer before its commit (its whole new
 *               content); a write past it fails with EFBIG.
 * @wbuf_total:  most bytes all open files together may buffer; a write past it fails with
 *               ENOSPC until other files are closed.
 * @resp_host:   resp=HOST:PORT: serve RESP on TCP too (besides DATA_DIR/hkvfs.sock); "" off.
 * @resp_port:   its port (1..65535), 0 when off.
 * @resp_passfile: file whose first line is the password RESP clients must give (AUTH), or "".
 * @sync_replicas: sync=replicas (network backends): after each acknowledged write, WAIT for
 *               one replica; @sync keeps its own value (local stores refuse the option).
 * @timeout_ms:  timeout_ms= (network backends): the budget of one request to the store,
 *               redirects and retries included (1..600000, default 5000).
 * @user:        user= (network backends): the ACL user to authenticate as, or "".
 * @credentials: credentials= (network backends): absolute path of the file whose first line
 *               is the password, or "".
 * @given:       HKVFS_OPT_* bits of the backend-specific options that were given (not left at
 *               their defaults): a backend refuses the ones that mean nothing to it.
 */
struct hkvfs_opts {
	int sync;
	unsigned char delim;
	bool compress;
	int compress_level;
	enum hkvfs_cache cache;
	bool allow_other;
	bool ro;
	uint32_t uid, gid, umask;
	char log[512];
	int loglevel;
	bool foreground;
	bool debug;
	double timeout;
	bool hot;
	uint32_t hot_k, hot_min, hot_interval;
	uint64_t wbuf_handle, wbuf_total;
	char fuse_extra[512];
	char resp_host[256];
	uint32_t resp_port;
	char resp_passfile[512];
	bool sync_replicas;
	uint32_t timeout_ms;
	char user[128];
	char credentials[512];
	unsigned given;
};

/*
 * Backend-specific options (struct hkvfs_opts.given). HKVFS_OPTS_NETWORK: only a network
 * backend (redis://) uses them; HKVFS_OPTS_LOCAL: only a local store directory does.
 */
#define HKVFS_OPT_SYNC_REPLICAS (1u << 0)
#define HKVFS_OPT_TIMEOUT_MS (1u << 1)
#define HKVFS_OPT_USER (1u << 2)
#define HKVFS_OPT_CREDENTIALS (1u << 3)
#define HKVFS_OPT_SYNC_LOCAL (1u << 4)
#define HKVFS_OPT_COMPRESS (1u << 5)
#define HKVFS_OPT_COMPRESS_LEVEL (1u << 6)
#define HKVFS_OPT_RESP (1u << 7)
#define HKVFS_OPT_RESP_PASSFILE (1u << 8)
#define HKVFS_OPTS_NETWORK \
	(HKVFS_OPT_SYNC_REPLICAS | HKVFS_OPT_TIMEOUT_MS | HKVFS_OPT_USER | HKVFS_OPT_CREDENTIALS)
#define HKVFS_OPTS_LOCAL                                                          \
	(HKVFS_OPT_SYNC_LOCAL | HKVFS_OPT_COMPRESS | HKVFS_OPT_COMPRESS_LEVEL | HKVFS_OPT_RESP | \
	 HKVFS_OPT_RESP_PASSFILE)

/**
 * hkvfs_opts_refused() - the first option of @mask that was given to this mount, as the user
 * wrote its name ("sync=replicas", "timeout_ms=", "compress=", ...), or NULL if none was.
 * A backend calls it with the mask of the options it does not use, and refuses to open
 * (-EINVAL, with a log line naming the option) rather than ignore what the user asked for.
 */
const char *hkvfs_opts_refused(const struct hkvfs_opts *o, unsigned mask);

/* defaults of wbuf_handle and wbuf_total */
#define HKVFS_WBUF_HANDLE_DEFAULT (64ULL << 20)
#define HKVFS_WBUF_TOTAL_DEFAULT (512ULL << 20)

/**
 * hkvfs_opts_fs_ro() - does this mount refuse every change through the filesystem? -o ro, and
 * cache=noopen (which keeps no open files, so a write could not be tied to the close that
 * should commit it; the store stays writable through the RESP socket).
 */
static inline bool hkvfs_opts_fs_ro(const struct hkvfs_opts *o)
{
	return o->ro || o->cache == HKVFS_CACHE_NOOPEN;
}

/**
 * hkvfs_opts_init() - defaults: everysec, '/', compress off, cache on, umask 022, hot on,
 * hot_k 64, hot_min 10, hot_interval 200.
 */
void hkvfs_opts_init(struct hkvfs_opts *o);

/**
 * hkvfs_opts_parse() - parse one comma-separated -o string into @o (later options win).
 * @err: receives a one-line message on failure (@errsz bytes).
 * Return: 0; -EINVAL (unknown or malformed option, named in @err).
 */
int hkvfs_opts_parse(struct hkvfs_opts *o, const char *optstr, char *err, size_t errsz);

/**
 * hkvfs_opt_mount_only() - true for options that only mount(8)/fstab interpret (defaults,
 * noauto, auto, _netdev, nofail, user, users, nouser, owner, group, rw, comment=..., x-...):
 * the helper drops them before starting the daemon.
 */
bool hkvfs_opt_mount_only(const char *opt, size_t len);

/**
 * hkvfs_opts_format() - the effective options as "key=value" lines (for .hkv/config).
 * Return: bytes written (excluding NUL), truncated to @sz - 1.
 */
size_t hkvfs_opts_format(const struct hkvfs_opts *o, char *buf, size_t sz);

#endif /* HKVFS_OPTS_H */
