// SPDX-License-Identifier: MIT
/*
 * opts.c - parse and print hkvfs mount options.
 *
 * One table of options is the single source of truth for the daemon and the mount helper:
 * an option not in it, or with a value that does not parse, is an error with a message that
 * names it (never a silent default). Generic mount flags that the kernel understands
 * (nosuid, nodev, noexec, noatime, ...) are collected into fuse_extra and passed to libfuse.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

static const char *const passthrough[] = {
	"nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime", "relatime",
	"nodiratime", "diratime", "lazytime", "strictatime", "dirsync", "async", NULL,
};

static const char *const mount_only[] = {
	"defaults", "noauto", "auto", "_netdev", "nofail", "user", "users", "nouser", "owner",
	"group", "rw", NULL,
};

void hkvfs_opts_init(struct hkvfs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sync = 1;
	o->delim = '/';
	o->compress_level = 1;
	o->cache = HKVFS_CACHE_ON;
	o->uid = 0;
	o->gid = 0;
	o->umask = 022;
	o->loglevel = 2;
	o->timeout = 3600.0;
	o->hot = true;
	o->hot_k = 64;
	o->hot_min = 10;
	o->hot_interval = 200;
	o->wbuf_handle = HKVFS_WBUF_HANDLE_DEFAULT;
	o->wbuf_total = HKVFS_WBUF_TOTAL_DEFAULT;
	o->timeout_ms = 5000;
}

const char *hkvfs_opts_refused(const struct hkvfs_opts *o, unsigned mask)
{
	static const char *const names[] = {
		"sync=replicas", "timeout_ms=", "user=", "credentials=", "sync=always|everysec|none",
		"compress=", "compress_level=", "resp=", "resp_passfile=",
	};
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (o->given & mask & (1u << i))
			return names[i];
	return NULL;
}

bool hkvfs_opt_mount_only(const char *opt, size_t len)
{
	int i;

	if (len >= 2 && strncmp(opt, "x-", 2) == 0)
		return true;
	if (len >= 8 && strncmp(opt, "comment=", 8) == 0)
		return true;
	for (i = 0; mount_only[i]; i++)
		if (strlen(mount_only[i]) == len && strncmp(opt, mount_only[i], len) == 0)
			return true;
	return false;
}

static int parse_u32(const char *s, int base, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* a byte count with an optional K, M or G suffix (powers of 1024) */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* resp=HOST:PORT, resp=[ADDR]:PORT or resp=PORT (loopback) into @o; -1 if malformed. */
static int parse_hostport(const char *val, struct hkvfs_opts *o)
{
	const char *colon = strrchr(val, ':'), *host = val, *port;
	size_t hlen;
	uint32_t p;

	if (!colon) {
		host = "127.0.0.1";
		hlen = strlen(host);
		port = val;
	} else {
		port = colon + 1;
		hlen = (size_t)(colon - val);
		if (hlen >= 2 && val[0] == '[' && val[hlen - 1] == ']') {
			host = val + 1;
			hlen -= 2;
		} else if (memchr(val, ':', hlen)) {
			return -1; /* an IPv6 address needs its brackets */
		}
	}
	if (!hlen || hlen >= sizeof(o->resp_host) || memchr(host, ',', hlen) ||
	    parse_u32(port, 10, 65535, &p) || p < 1)
		return -1;
	memcpy(o->resp_host, host, hlen);
	o->resp_host[hlen] = 0;
	o->resp_port = p;
	return 0;
}

static int set_err(char *err, size_t errsz, const char *fmt, const char *opt)
{
	snprintf(err, errsz, fmt, opt);
	return -EINVAL;
}

static int parse_one(struct hkvfs_opts *o, char *opt, char *err, size_t errsz)
{
	char *val = strchr(opt, '=');
	uint32_t u;
	int i;

	if (val)
		*val++ = 0;
#define NOVAL() do { if (val) return set_err(err, errsz, "option '%s' takes no value", opt); } while (0)
#define NEEDVAL() do { if (!val || !*val) return set_err(err, errsz, "option '%s' needs a value", opt); } while (0)
	if (!*opt)
		return 0;
	if (strcmp(opt, "sync") == 0 && val) {
		if (strcmp(val, "always") == 0)
			o->sync = 0;
		else if (strcmp(val, "everysec") == 0)
			o->sync = 1;
		else if (strcmp(val, "none") == 0)
			o->sync = 2;
		else if (strcmp(val, "replicas") == 0)
			o->sync_replicas = true;
		else
			return set_err(err, errsz,
				       "sync=%s: expected always, everysec, none or replicas", val);
		o->given |= strcmp(val, "replicas") == 0 ? HKVFS_OPT_SYNC_REPLICAS
							  : HKVFS_OPT_SYNC_LOCAL;
	} else if (strcmp(opt, "timeout_ms") == 0) {
		NEEDVAL();
		if (parse_u32(val, 10, 600000, &o->timeout_ms) || o->timeout_ms < 1)
			return set_err(err, errsz, "timeout_ms=%s: expected 1..600000", val);
		o->given |= HKVFS_OPT_TIMEOUT_MS;
	} else if (strcmp(opt, "user") == 0 && val) {
		NEEDVAL();
		if (strlen(val) >= sizeof(o->user))
			return set_err(err, errsz, "user=%s: name too long", val);
		strcpy(o->user, val);
		o->given |= HKVFS_OPT_USER;
	} else if (strcmp(opt, "credentials") == 0) {
		NEEDVAL();
		if (strlen(val) >= sizeof(o->credentials) || val[0] != '/')
			return set_err(err, errsz, "credentials=%s: expected an absolute path", val);
		strcpy(o->credentials, val);
		o->given |= HKVFS_OPT_CREDENTIALS;
	} else if (strcmp(opt, "password") == 0) {
		return set_err(err, errsz, "password= is refused: a password in the options is "
			       "visible to every user (ps, /etc/fstab); put it in a file readable "
			       "only by its owner and use credentials=FILE%s", "");
	} else if (strcmp(opt, "delimiter") == 0) {
		NEEDVAL();
		if (strlen(val) != 1 || val[0] == '%' || val[0] == 0)
			return set_err(err, errsz, "delimiter=%s: expected one byte other than %%",
				       val);
		o->delim = (unsigned char)val[0];
	} else if (strcmp(opt, "compress") == 0) {
		NEEDVAL();
		if (strcmp(val, "on") == 0)
			o->compress = true;
		else if (strcmp(val, "off") == 0)
			o->compress = false;
		else
			return set_err(err, errsz, "compress=%s: expected on or off", val);
		o->given |= HKVFS_OPT_COMPRESS;
	} else if (strcmp(opt, "compress_level") == 0) {
		NEEDVAL();
		if (parse_u32(val, 10, 9, &u) || u < 1)
			return set_err(err, errsz, "compress_level=%s: expected 1..9", val);
		o->compress_level = (int)u;
		o->given |= HKVFS_OPT_COMPRESS_LEVEL;
	} else if (strcmp(opt, "cache") == 0) {
		NEEDVAL();
		if (strcmp(val, "on") == 0)
			o->cache = HKVFS_CACHE_ON;
		else if (strcmp(val, "off") == 0)
			o->cache = HKVFS_CACHE_OFF;
		else if (strcmp(val, "noopen") == 0)
			o->cache = HKVFS_CACHE_NOOPEN;
		else
			return set_err(err, errsz, "cache=%s: expected on, off or noopen", val);
	} else if (strcmp(opt, "timeout") == 0) {
		char *end;
		double t;

		NEEDVAL();
		errno = 0;
		t = strtod(val, &end);
		if (errno || *end || !(t >= 0 && t <= 86400 * 365.0))
			return set_err(err, errsz, "timeout=%s: expected seconds >= 0", val);
		o->timeout = t;
	} else if (strcmp(opt, "hot") == 0) {
		NEEDVAL();
		if (strcmp(val, "on") == 0)
			o->hot = true;
		else if (strcmp(val, "off") == 0)
			o->hot = false;
		else
			return set_err(err, errsz, "hot=%s: expected on or off", val);
	} else if (strcmp(opt, "hot_k") == 0) {
		NEEDVAL();
		if (parse_u32(val, 10, 4096, &u) || u < 1)
			return set_err(err, errsz, "hot_k=%s: expected 1..4096", val);
		o->hot_k = u;
	} else if (strcmp(opt, "hot_min") == 0) {
		NEEDVAL();
		if (parse_u32(val, 10, 1000000, &u) || u < 1)
			return set_err(err, errsz, "hot_min=%s: expected reads/s 1..1000000", val);
		o->hot_min = u;
	} else if (strcmp(opt, "hot_interval") == 0) {
		NEEDVAL();
		if (parse_u32(val, 10, 60000, &u) || u < 10)
			return set_err(err, errsz, "hot_interval=%s: expected 10..60000 ms", val);
		o->hot_interval = u;
	} else if (strcmp(opt, "wbuf_handle") == 0 || strcmp(opt, "wbuf_total") == 0) {
		uint64_t sz;

		NEEDVAL();
		if (parse_size(val, &sz) || sz < 4096 || sz > (1ULL << 40)) {
			snprintf(err, errsz, "%s=%s: expected a size 4K..1T (suffix K, M or G)",
				 opt, val);
			return -EINVAL;
		}
		if (opt[5] == 'h')
			o->wbuf_handle = sz;
		else
			o->wbuf_total = sz;
	} else if (strcmp(opt, "resp") == 0) {
		NEEDVAL();
		if (parse_hostport(val, o))
			return set_err(err, errsz,
				       "resp=%s: expected HOST:PORT (port 1..65535, [ADDR]:PORT for IPv6)",
				       val);
		o->given |= HKVFS_OPT_RESP;
	} else if (strcmp(opt, "resp_passfile") == 0) {
		NEEDVAL();
		if (strlen(val) >= sizeof(o->resp_passfile) || val[0] != '/')
			return set_err(err, errsz, "resp_passfile=%s: expected an absolute path", val);
		strcpy(o->resp_passfile, val);
		o->given |= HKVFS_OPT_RESP_PASSFILE;
	} else if (strcmp(opt, "allow_other") == 0) {
		NOVAL();
		o->allow_other = true;
	} else if (strcmp(opt, "ro") == 0) {
		NOVAL();
		o->ro = true;
	} else if (strcmp(opt, "rw") == 0) {
		NOVAL();
		o->ro = false;
	} else if (strcmp(opt, "uid") == 0) {
		NEEDVAL();
		if (parse_u32(val, 10, UINT32_MAX - 1, &o->uid))
			return set_err(err, errsz, "uid=%s: expected a numeric uid", val);
	} else if (strcmp(opt, "gid") == 0) {
		NEEDVAL();
		if (parse_u32(val, 10, UINT32_MAX - 1, &o->gid))
			return set_err(err, errsz, "gid=%s: expected a numeric gid", val);
	} else if (strcmp(opt, "umask") == 0) {
		NEEDVAL();
		if (parse_u32(val, 8, 0777, &o->umask))
			return set_err(err, errsz, "umask=%s: expected octal 0..777", val);
	} else if (strcmp(opt, "log") == 0) {
		NEEDVAL();
		if (strlen(val) >= sizeof(o->log))
			return set_err(err, errsz, "log=%s: path too long", val);
		strcpy(o->log, val);
	} else if (strcmp(opt, "loglevel") == 0) {
		static const char *const lv[] = { "error", "warn", "info", "debug" };

		NEEDVAL();
		for (i = 0; i < 4; i++)
			if (strcmp(val, lv[i]) == 0)
				break;
		if (i == 4)
			return set_err(err, errsz,
				       "loglevel=%s: expected error, warn, info or debug", val);
		o->loglevel = i;
	} else if (strcmp(opt, "foreground") == 0) {
		NOVAL();
		o->foreground = true;
	} else if (strcmp(opt, "debug") == 0) {
		NOVAL();
		o->debug = true;
		o->loglevel = 3;
	} else if (strcmp(opt, "default_permissions") == 0) {
		NOVAL(); /* always on */
	} else {
		for (i = 0; passthrough[i]; i++)
			if (strcmp(opt, passthrough[i]) == 0)
				break;
		if (!passthrough[i] || val) {
			if (val)
				val[-1] = '=';
			return set_err(err, errsz, "unknown mount option '%s'", opt);
		}
		if (strlen(o->fuse_extra) + strlen(opt) + 2 > sizeof(o->fuse_extra))
			return set_err(err, errsz, "too many options at '%s'", opt);
		if (o->fuse_extra[0])
			strcat(o->fuse_extra, ",");
		strcat(o->fuse_extra, opt);
	}
#undef NOVAL
#undef NEEDVAL
	return 0;
}

int hkvfs_opts_parse(struct hkvfs_opts *o, const char *optstr, char *err, size_t errsz)
{
	char *copy = strdup(optstr), *save = NULL, *tok;
	int rc = 0;

	if (!copy) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (hkvfs_opt_mount_only(tok, strlen(tok)) && strcmp(tok, "rw") != 0)
			continue;
		rc = parse_one(o, tok, err, errsz);
		if (rc)
			break;
	}
	free(copy);
	return rc;
}

size_t hkvfs_opts_format(const struct hkvfs_opts *o, char *buf, size_t sz)
{
	static const char *const syncs[] = { "always", "everysec", "none" };
	static const char *const caches[] = { "on", "off", "noopen" };
	static const char *const lv[] = { "error", "warn", "info", "debug" };
	char resp[300] = "off";
	int n;

	if (o->resp_port)
		snprintf(resp, sizeof(resp), strchr(o->resp_host, ':') ? "[%s]:%" PRIu32 : "%s:%" PRIu32,
			 o->resp_host, o->resp_port);

	n = snprintf(buf, sz,
		     "sync=%s\ndelimiter=%c\ncompress=%s\ncompress_level=%d\ncache=%s\n"
		     "timeout=%g\nallow_other=%d\nro=%d\nuid=%" PRIu32 "\ngid=%" PRIu32
		     "\numask=%03" PRIo32 "\nlog=%s\nloglevel=%s\nhot=%s\nhot_k=%" PRIu32
		     "\nhot_min=%" PRIu32 "\nhot_interval=%" PRIu32 "\nwbuf_handle=%" PRIu64
		     "\nwbuf_total=%" PRIu64 "\nresp=%s\nresp_passfile=%s\nextra=%s\n"
		     "sync_replicas=%d\ntimeout_ms=%" PRIu32 "\nuser=%s\ncredentials=%s\n",
		     syncs[o->sync], o->delim, o->compress ? "on" : "off", o->compress_level,
		     caches[o->cache], o->timeout, o->allow_other, o->ro, o->uid, o->gid,
		     o->umask, o->log[0] ? o->log : "stderr", lv[o->loglevel],
		     o->hot ? "on" : "off", o->hot_k, o->hot_min, o->hot_interval, o->wbuf_handle,
		     o->wbuf_total, resp, o->resp_passfile[0] ? o->resp_passfile : "none", o->fuse_extra,
		     o->sync_replicas, o->timeout_ms, o->user, o->credentials[0] ? o->credentials : "none");
	if (n < 0)
		return 0;
	return (size_t)n < sz ? (size_t)n : sz - 1;
}
