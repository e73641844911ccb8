/* SPDX-License-Identifier: MIT */
/*
 * forward.c - run an hkvctl command on the hkvfs daemon that holds the store, through its
 * control socket DATA_DIR/hkvfs.sock (client: fs/ctlclient.c, protocol in docs/filesystem.md).
 *
 * The daemon speaks a smaller language than hkvctl: one element per request, no SET/EXPIRE
 * options, whole-keyspace SCAN, and multi-value replies as newline-separated text. This file
 * translates: a command with several elements becomes several requests; a reply body becomes
 * the reply tree hkvctl prints anyway, so the output looks the same as on a data directory.
 * What cannot be expressed is refused with a clear error rather than approximated:
 *
 *   verb                          forwarded as                reply
 *   get, hget, lpop, rpop          same                        bulk (raw body), nil on ENOENT
 *   set KEY VALUE                  set                         OK
 *   del, exists, sadd, srem,       one request per element     integer (sum)
 *   hdel, zrem
 *   lpush, rpush                   one request per value       integer (last length)
 *   hset, zadd (no options)        one request per pair        OK (the daemon gives no count)
 *   append, ttl, pttl, persist     same                        integer
 *   incr, decr, incrby, decrby     incrby                      integer
 *   expire, pexpire, pexpireat     same (no NX/XX/GT/LT)       integer
 *   expireat                       pexpireat, seconds * 1000   integer
 *   type                           same                        status
 *   rename                         same                        OK
 *   hgetall, smembers, lrange      same                        array of lines
 *   zscore                         same                        score
 *   zrange KEY START STOP          same (ranks only)           array (WITHSCORES allowed)
 *   scan 0 [MATCH pat] [COUNT n]   scan [pat]: whole keyspace  ["0", keys]
 *   stat                           stats                       the daemon's text
 *   compact [--all]                compact [all]               integer
 *
 * Multi-value bodies are split at newlines, so a value that contains a newline cannot be told
 * apart from two values there; read such values one at a time (hget) or through the mount.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hkv/ctlclient.h"
#include "hkvctl.h"

struct fwd {
	char sock[4200];
};

/* One request. Return: 0 and *@rep filled (caller frees rep->data), or a transport error. */
static int call(struct fwd *f, int argc, const char *const *argv, struct hkvfs_ctl_reply *rep)
{
	size_t lens[HKVFS_CTL_MAXARGS];
	int i;

	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	memset(rep, 0, sizeof(*rep));
	return hkvfs_ctl_callv(f->sock, argc, (const void *const *)argv, lens, rep);
}

static struct ctl_reply *status_error(const struct hkvfs_ctl_reply *rep)
{
	/* Engine codes get hkvctl's own (Redis) wording; other failures the daemon's text. */
	if (-rep->status >= HKV_ERRBASE || !rep->len)
		return reply_engine(rep->status);
	return reply_err("ERR %.*s", (int)rep->len, rep->data);
}

/* A request whose body is "N\n". Return NULL and *@out, or an error reply. */
static struct ctl_reply *call_int(struct fwd *f, int argc, const char *const *argv,
				  int64_t *out)
{
	struct hkvfs_ctl_reply rep;
	struct ctl_reply *r = NULL;
	int rc;

	rc = call(f, argc, argv, &rep);
	if (rc)
		return reply_err("ERR control socket: %s", strerror(-rc));
	if (rep.status)
		r = status_error(&rep);
	else if (!rep.data || !parse_ll(strtok(rep.data, "\n") ? rep.data : "", out))
		r = reply_err("ERR malformed reply from the daemon");
	free(rep.data);
	return r;
}

/* A request with no body of interest (OK). */
static struct ctl_reply *call_ok(struct fwd *f, int argc, const char *const *argv)
{
	struct hkvfs_ctl_reply rep;
	struct ctl_reply *r = NULL;
	int rc;

	rc = call(f, argc, argv, &rep);
	if (rc)
		return reply_err("ERR control socket: %s", strerror(-rc));
	if (rep.status)
		r = status_error(&rep);
	free(rep.data);
	return r;
}

/* Split a body into an array of lines; with @scores, "member score" lines. */
static struct ctl_reply *lines(const char *p, size_t len, bool scores, bool with)
{
	struct ctl_reply *arr = reply_array();
	const char *end = p + len, *nl, *sp;
	double d;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (scores) {
			char num[64];

			sp = nl;
			while (sp > p && sp[-1] != ' ')
				sp--;
			if (sp == p || (size_t)(nl - sp) >= sizeof(num))
				break;
			reply_push(arr, reply_bulk(p, (size_t)(sp - 1 - p)));
			memcpy(num, sp, (size_t)(nl - sp));
			num[nl - sp] = '\0';
			if (with)
				reply_push(arr, parse_double(num, &d) ? reply_double(d)
								    : reply_bulk(num, strlen(num)));
		} else {
			reply_push(arr, reply_bulk(p, (size_t)(nl - p)));
		}
		p = nl + 1;
	}
	return arr;
}

static struct ctl_reply *unsupported(const char *verb)
{
	return reply_err("ERR '%s' with these arguments is not supported through a running "
			 "hkvfs daemon; use the mount, or stop the daemon", verb);
}

/* Body-returning request: bulk / nil / lines / text. */
enum body_kind { BODY_BULK, BODY_LINES, BODY_ZLINES, BODY_ZLINES_WS, BODY_TEXT, BODY_STATUS,
		 BODY_SCORE };

static struct ctl_reply *call_body(struct fwd *f, int argc, const char *const *argv,
				   enum body_kind kind)
{
	struct hkvfs_ctl_reply rep;
	struct ctl_reply *r;
	double d;
	int rc;

	rc = call(f, argc, argv, &rep);
	if (rc)
		return reply_err("ERR control socket: %s", strerror(-rc));
	if (rep.status == -ENOENT && (kind == BODY_BULK || kind == BODY_SCORE)) {
		r = reply_nil();
	} else if (rep.status) {
		r = status_error(&rep);
	} else {
		switch (kind) {
		case BODY_BULK:
			r = reply_bulk(rep.data ? rep.data : "", rep.len);
			break;
		case BODY_LINES:
			r = lines(rep.data, rep.len, false, false);
			break;
		case BODY_ZLINES:
		case BODY_ZLINES_WS:
			r = lines(rep.data, rep.len, true, kind == BODY_ZLINES_WS);
			break;
		case BODY_TEXT:
			r = reply_text(rep.data, rep.len);
			rep.data = NULL;
			break;
		case BODY_STATUS:
			while (rep.len && rep.data[rep.len - 1] == '\n')
				rep.data[--rep.len] = '\0';
			r = reply_status(rep.data ? rep.data : "");
			break;
		case BODY_SCORE:
		default:
			r = rep.data && parse_double(strtok(rep.data, "\n") ? rep.data : "", &d)
				    ? reply_double(d)
				    : reply_err("ERR malformed reply from the daemon");
			break;
		}
	}
	free(rep.data);
	return r;
}

/* del/exists/sadd/srem/hdel/zrem/lpush/rpush: one request per element. */
static struct ctl_reply *per_elem(struct fwd *f, int argc, char **argv, int first, bool sum)
{
	const char *a[3];
	struct ctl_reply *r;
	int64_t total = 0, v;
	int i;

	a[0] = argv[0];
	if (first == 2)
		a[1] = argv[1];
	for (i = first; i < argc; i++) {
		a[first] = argv[i];
		r = call_int(f, first + 1, a, &v);
		if (r)
			return r;
		total = sum ? total + v : v;
	}
	return reply_int(total);
}

static struct ctl_reply *forward(struct fwd *f, int argc, char **argv)
{
	const char *v = argv[0];
	const char *a[5];
	struct ctl_reply *r;
	int64_t n;
	int i;

#define IS(s) arg_is(v, s)
	if ((IS("get") || IS("lpop") || IS("rpop")) && argc == 2) {
		a[0] = IS("get") ? "get" : IS("lpop") ? "lpop" : "rpop";
		a[1] = argv[1];
		return call_body(f, 2, a, BODY_BULK);
	}
	if (IS("hget"))
		return call_body(f, 3, (const char *const *)argv, BODY_BULK);
	if (IS("set")) {
		struct hkvfs_ctl_reply rep;
		const void *av[3] = { "set", argv[1], argv[2] };
		size_t lens[3] = { 3, strlen(argv[1]), strlen(argv[2]) };
		int rc;

		if (argc != 3)
			return unsupported("set");
		if (!strcmp(argv[2], "-")) {
			av[2] = ctl_stdin.data ? ctl_stdin.data : "";
			lens[2] = ctl_stdin.len;
		}
		memset(&rep, 0, sizeof(rep));
		rc = hkvfs_ctl_callv(f->sock, 3, av, lens, &rep);
		if (rc)
			return reply_err("ERR control socket: %s", strerror(-rc));
		r = rep.status ? status_error(&rep) : reply_status("OK");
		free(rep.data);
		return r;
	}
	if (IS("del") || IS("exists"))
		return per_elem(f, argc, argv, 1, true);
	if (IS("sadd") || IS("srem") || IS("hdel") || IS("zrem"))
		return per_elem(f, argc, argv, 2, true);
	if (IS("lpush") || IS("rpush"))
		return per_elem(f, argc, argv, 2, false);
	if (IS("hset") || IS("zadd")) {
		if (argc % 2)
			return unsupported(v);
		a[0] = IS("hset") ? "hset" : "zadd";
		a[1] = argv[1];
		for (i = 2; i < argc; i += 2) {
			double d;

			if (IS("zadd") && !parse_double(argv[i], &d))
				return unsupported(v);
			a[2] = argv[i];
			a[3] = argv[i + 1];
			r = call_ok(f, 4, a);
			if (r)
				return r;
		}
		return reply_status("OK");
	}
	if (IS("append") || IS("ttl") || IS("pttl") || IS("persist")) {
		r = call_int(f, argc, (const char *const *)argv, &n);
		return r ? r : reply_int(n);
	}
	if (IS("incr") || IS("decr") || IS("incrby") || IS("decrby")) {
		char num[32];

		n = IS("incr") ? 1 : IS("decr") ? -1 : 0;
		if (argc == 3) {
			if (!parse_ll(argv[2], &n) || (IS("decrby") && n == INT64_MIN))
				return reply_usage("ERR value is not an integer or out of range");
			if (IS("decrby"))
				n = -n;
		}
		snprintf(num, sizeof(num), "%lld", (long long)n);
		a[0] = "incrby";
		a[1] = argv[1];
		a[2] = num;
		r = call_int(f, 3, a, &n);
		return r ? r : reply_int(n);
	}
	if (IS("expire") || IS("pexpire") || IS("pexpireat") || IS("expireat")) {
		char num[32];

		if (argc != 3 || !parse_ll(argv[2], &n))
			return unsupported(v);
		a[0] = IS("expireat") ? "pexpireat" : IS("expire") ? "expire"
				       : IS("pexpire") ? "pexpire" : "pexpireat";
		if (IS("expireat")) {
			if (n > INT64_MAX / 1000 || n < INT64_MIN / 1000)
				return reply_usage("ERR invalid expire time in 'expireat' command");
			n *= 1000;
		}
		snprintf(num, sizeof(num), "%lld", (long long)n);
		a[1] = argv[1];
		a[2] = num;
		r = call_int(f, 3, a, &n);
		return r ? r : reply_int(n);
	}
	if (IS("type"))
		return call_body(f, 2, (const char *const *)argv, BODY_STATUS);
	if (IS("rename")) {
		r = call_ok(f, 3, (const char *const *)argv);
		return r ? r : reply_status("OK");
	}
	if (IS("smembers") || IS("lrange"))
		return call_body(f, argc, (const char *const *)argv, BODY_LINES);
	if (IS("hgetall"))
		return call_body(f, 2, (const char *const *)argv, BODY_LINES);
	if (IS("zscore"))
		return call_body(f, 3, (const char *const *)argv, BODY_SCORE);
	if (IS("zrange")) {
		bool ws = argc == 5 && arg_is(argv[4], "withscores");

		if (argc != 4 && !ws)
			return unsupported(v);
		return call_body(f, 4, (const char *const *)argv, ws ? BODY_ZLINES_WS : BODY_ZLINES);
	}
	if (IS("scan")) {
		struct ctl_scan_args sa;

		r = parse_scan_args(argc - 1, argv + 1, true, &sa);
		if (r)
			return r;
		if (strcmp(argv[1], "0") || sa.type != HKV_TYPE_NONE)
			return unsupported(v);
		a[0] = "scan";
		a[1] = sa.match;
		r = call_body(f, sa.match ? 2 : 1, a, BODY_LINES);
		if (r->kind != CTL_REPLY_ARRAY)
			return r;
		return scan_reply(&sa.cur, r);
	}
	if (IS("stat")) {
		a[0] = "stats";
		return call_body(f, 1, a, BODY_TEXT);
	}
	if (IS("compact")) {
		a[0] = "compact";
		a[1] = "all";
		r = call_int(f, argc == 2 ? 2 : 1, a, &n);
		return r ? r : reply_int(n);
	}
#undef IS
	return unsupported(v);
}

struct ctl_reply *ctl_forward(const char *dir, int argc, char **argv)
{
	struct hkvfs_ctl_reply rep;
	const char *ping = "ping";
	struct fwd f;
	struct stat st;

	if ((size_t)snprintf(f.sock, sizeof(f.sock), "%s/%s", dir, HKVFS_CTL_SOCK) >=
	    sizeof(f.sock))
		return NULL;
	if (stat(f.sock, &st) || !S_ISSOCK(st.st_mode))
		return NULL;
	/* A socket left by a daemon that died answers nothing: then report the store as busy. */
	if (call(&f, 1, &ping, &rep))
		return NULL;
	free(rep.data);
	if (argc > HKVFS_CTL_MAXARGS)
		return reply_usage("ERR too many arguments for the control socket");
	return forward(&f, argc, argv);
}
