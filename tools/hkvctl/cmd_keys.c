/* SPDX-License-Identifier: MIT */
/*
 * cmd_keys.c - hkvctl's string and keyspace commands, and the argument parsers every command
 * shares.
 *
 * Each handler checks its options the way Redis does and answers with Redis's replies and
 * error messages, so that a user's knowledge of redis-cli carries over. Errors found in the
 * arguments (syntax, numbers) are usage errors (exit 2); errors the store reports (wrong type,
 * no such key, value not an integer) are command errors (exit 1).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "hkvctl.h"

bool parse_ll(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return false;
	if (*p == '0' && (p[1] || neg))
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

bool parse_ldouble(const char *s, long double *out)
{
	char *end;
	long double v;

	if (!*s || strchr(" \t\n\r\v\f", *s))
		return false;
	errno = 0;
	v = strtold(s, &end);
	if (*end || isnan(v) || (errno == ERANGE && !isinf(v) && v != 0))
		return false;
	*out = v;
	return true;
}

bool parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || strchr(" \t\n\r\v\f", *s))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (*end || isnan(v))
		return false;
	*out = v;
	return true;
}

bool arg_is(const char *arg, const char *kw)
{
	return !strcasecmp(arg, kw);
}

int64_t now_ms(void)
{
	struct timespec ts;

	if (hkvctl_clock_ms)
		return hkvctl_clock_ms;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct ctl_reply *not_int(void)
{
	return reply_usage("ERR value is not an integer or out of range");
}

static struct ctl_reply *syntax_error(void)
{
	return reply_usage("ERR syntax error");
}

struct ctl_reply *parse_scan_args(int argc, char **argv, bool allow_type,
				  struct ctl_scan_args *out)
{
	int64_t n;
	int i;

	memset(out, 0, sizeof(*out));
	out->count = 10;
	if (hkv_cursor_decode(argv[0], &out->cur))
		return reply_usage("ERR invalid cursor");
	for (i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return syntax_error();
		if (arg_is(argv[i], "match")) {
			out->match = argv[i + 1];
		} else if (arg_is(argv[i], "count")) {
			if (!parse_ll(argv[i + 1], &n))
				return not_int();
			if (n < 1)
				return syntax_error();
			out->count = (size_t)n;
		} else if (allow_type && arg_is(argv[i], "type")) {
			out->type = hkv_type_parse(argv[i + 1], strlen(argv[i + 1]));
			if (out->type == HKV_TYPE_NONE)
				return reply_usage("ERR unknown type name '%s'", argv[i + 1]);
		} else {
			return syntax_error();
		}
	}
	return NULL;
}

struct ctl_reply *scan_reply(const struct hkv_cursor *cur, struct ctl_reply *items)
{
	char tok[2 * HKV_CURSOR_MAX + 2];
	struct ctl_reply *r = reply_array();

	hkv_cursor_encode(cur, tok);
	reply_push(r, reply_bulk(tok, strlen(tok)));
	return reply_push(r, items);
}

/* Strings ------------------------------------------------------------------------------- */

static struct ctl_reply *cmd_get(struct hkv *db, int argc, char **argv)
{
	struct hkv_buf b = { 0 };
	int rc;

	(void)argc;
	rc = hkv_get(db, argv[1], strlen(argv[1]), &b);
	if (rc == -ENOENT)
		return reply_nil();
	if (rc)
		return reply_engine(rc);
	return reply_bulk_take(&b);
}

static struct ctl_reply *cmd_set(struct hkv *db, int argc, char **argv)
{
	struct hkv_set_opts o = { 0 };
	struct hkv_buf old = { 0 };
	bool want_old = false;
	const char *val = argv[2];
	size_t vlen = strlen(val);
	int64_t t, now;
	int i, rc;

	for (i = 3; i < argc; i++) {
		const char *a = argv[i];

		if (arg_is(a, "nx") && !(o.flags & HKV_SET_XX)) {
			o.flags |= HKV_SET_NX;
		} else if (arg_is(a, "xx") && !(o.flags & HKV_SET_NX)) {
			o.flags |= HKV_SET_XX;
		} else if (arg_is(a, "get")) {
			want_old = true;
		} else if (arg_is(a, "keepttl") && !(o.flags & (HKV_SET_EXPIRE | HKV_SET_KEEPTTL))) {
			o.flags |= HKV_SET_KEEPTTL;
		} else if ((arg_is(a, "ex") || arg_is(a, "px") || arg_is(a, "exat") ||
			    arg_is(a, "pxat")) &&
			   !(o.flags & (HKV_SET_EXPIRE | HKV_SET_KEEPTTL)) && i + 1 < argc) {
			if (!parse_ll(argv[i + 1], &t))
				return not_int();
			if (t <= 0)
				return reply_usage("ERR invalid expire time in 'set' command");
			now = now_ms();
			if (arg_is(a, "ex") || arg_is(a, "exat")) {
				if (t > INT64_MAX / 1000)
					return reply_usage("ERR invalid expire time in 'set' command");
				t *= 1000;
			}
			if (arg_is(a, "ex") || arg_is(a, "px")) {
				if (t > INT64_MAX - now)
					return reply_usage("ERR invalid expire time in 'set' command");
				t += now;
			}
			o.flags |= HKV_SET_EXPIRE;
			o.expire_at = t;
			i++;
		} else {
			return syntax_error();
		}
	}
	if (!strcmp(val, "-")) {
		val = ctl_stdin.data;
		vlen = ctl_stdin.len;
	}
	if (want_old)
		o.old = &old;
	rc = hkv_set(db, argv[1], strlen(argv[1]), val, vlen, &o);
	if (rc < 0)
		return reply_engine(rc);
	if (want_old)
		return old.data ? reply_bulk_take(&old) : reply_nil();
	return rc ? reply_status("OK") : reply_nil();
}

static struct ctl_reply *cmd_mget(struct hkv *db, int argc, char **argv)
{
	struct ctl_reply *r = reply_array();
	struct hkv_buf b;
	int i, rc;

	for (i = 1; i < argc; i++) {
		memset(&b, 0, sizeof(b));
		rc = hkv_get(db, argv[i], strlen(argv[i]), &b);
		if (rc == -ENOENT || rc == -HKV_EWRONGTYPE) {
			reply_push(r, reply_nil());
		} else if (rc) {
			reply_free(r);
			return reply_engine(rc);
		} else {
			reply_push(r, reply_bulk_take(&b));
		}
	}
	return r;
}

static struct ctl_reply *cmd_mset(struct hkv *db, int argc, char **argv)
{
	int i, rc;

	if (argc % 2 == 0)
		return reply_usage("ERR wrong number of arguments for 'mset' command");
	for (i = 1; i < argc; i += 2) {
		rc = hkv_set(db, argv[i], strlen(argv[i]), argv[i + 1], strlen(argv[i + 1]), NULL);
		if (rc < 0)
			return reply_engine(rc);
	}
	return reply_status("OK");
}

static struct ctl_reply *cmd_append(struct hkv *db, int argc, char **argv)
{
	int64_t n;

	(void)argc;
	n = hkv_append(db, argv[1], strlen(argv[1]), argv[2], strlen(argv[2]), NULL);
	return n < 0 ? reply_engine((int)n) : reply_int(n);
}

static struct ctl_reply *cmd_strlen(struct hkv *db, int argc, char **argv)
{
	int64_t n;

	(void)argc;
	n = hkv_strlen(db, argv[1], strlen(argv[1]));
	return n < 0 ? reply_engine((int)n) : reply_int(n);
}

static struct ctl_reply *cmd_getrange(struct hkv *db, int argc, char **argv)
{
	struct hkv_buf b = { 0 };
	int64_t start, end;
	int rc;

	(void)argc;
	if (!parse_ll(argv[2], &start) || !parse_ll(argv[3], &end))
		return not_int();
	rc = hkv_getrange_redis(db, argv[1], strlen(argv[1]), start, end, &b);
	if (rc)
		return reply_engine(rc);
	return reply_bulk_take(&b);
}

static struct ctl_reply *cmd_setrange(struct hkv *db, int argc, char **argv)
{
	size_t vlen = strlen(argv[3]);
	int64_t off, n;

	(void)argc;
	if (!parse_ll(argv[2], &off))
		return not_int();
	if (off < 0)
		return reply_usage("ERR offset is out of range");
	if ((uint64_t)off + vlen > HKV_VALUE_MAX)
		return reply_usage("ERR string exceeds maximum allowed size");
	n = hkv_setrange(db, argv[1], strlen(argv[1]), (uint64_t)off, argv[3], vlen, NULL);
	return n < 0 ? reply_engine((int)n) : reply_int(n);
}

static struct ctl_reply *incr_common(struct hkv *db, const char *key, int64_t delta)
{
	int64_t v;
	int rc;

	rc = hkv_incrby(db, key, strlen(key), delta, &v);
	return rc ? reply_engine(rc) : reply_int(v);
}

static struct ctl_reply *cmd_incr(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return incr_common(db, argv[1], 1);
}

static struct ctl_reply *cmd_decr(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return incr_common(db, argv[1], -1);
}

static struct ctl_reply *cmd_incrby(struct hkv *db, int argc, char **argv)
{
	int64_t d;

	(void)argc;
	if (!parse_ll(argv[2], &d))
		return not_int();
	return incr_common(db, argv[1], d);
}

static struct ctl_reply *cmd_decrby(struct hkv *db, int argc, char **argv)
{
	int64_t d;

	(void)argc;
	if (!parse_ll(argv[2], &d))
		return not_int();
	if (d == INT64_MIN)
		return reply_usage("ERR decrement would overflow");
	return incr_common(db, argv[1], -d);
}

/* Redis's human form of a long double: "%.17Lf" without trailing zeros. */
static void format_ldouble(long double v, char *out, size_t size)
{
	char *p;

	snprintf(out, size, "%.17Lf", v);
	if (strchr(out, '.')) {
		p = out + strlen(out) - 1;
		while (*p == '0')
			*p-- = '\0';
		if (*p == '.')
			*p = '\0';
	}
	if (!strcmp(out, "-0"))
		strcpy(out, "0");
}

static struct ctl_reply *cmd_incrbyfloat(struct hkv *db, int argc, char **argv)
{
	long double d, v;
	char buf[128];
	int rc;

	(void)argc;
	if (!parse_ldouble(argv[2], &d) || isinf(d))
		return reply_usage("ERR value is not a valid float");
	rc = hkv_incrbyfloat(db, argv[1], strlen(argv[1]), d, &v);
	if (rc)
		return reply_engine(rc);
	format_ldouble(v, buf, sizeof(buf));
	return reply_bulk(buf, strlen(buf));
}

/* Keyspace ------------------------------------------------------------------------------ */

static struct ctl_reply *cmd_del(struct hkv *db, int argc, char **argv)
{
	int64_t n = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		rc = hkv_del(db, argv[i], strlen(argv[i]));
		if (rc < 0)
			return reply_engine(rc);
		n += rc;
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_exists(struct hkv *db, int argc, char **argv)
{
	int64_t n = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		rc = hkv_exists(db, argv[i], strlen(argv[i]));
		if (rc < 0)
			return reply_engine(rc);
		n += rc;
	}
	return reply_int(n);
}

static struct ctl_reply *cmd_type(struct hkv *db, int argc, char **argv)
{
	int t;

	(void)argc;
	t = hkv_type(db, argv[1], strlen(argv[1]));
	if (t < 0)
		return reply_engine(t);
	return reply_status(hkv_type_name((enum hkv_type)t));
}

static struct ctl_reply *ttl_common(int64_t v)
{
	return v < -2 ? reply_engine((int)v) : reply_int(v);
}

static struct ctl_reply *cmd_ttl(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return ttl_common(hkv_ttl(db, argv[1], strlen(argv[1])));
}

static struct ctl_reply *cmd_pttl(struct hkv *db, int argc, char **argv)
{
	(void)argc;
	return ttl_common(hkv_pttl(db, argv[1], strlen(argv[1])));
}

/* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: key time [NX|XX|GT|LT]. */
static struct ctl_reply *expire_common(struct hkv *db, int argc, char **argv, bool seconds,
				       bool absolute)
{
	unsigned flags = 0;
	int64_t t, now;
	int i, rc;

	if (!parse_ll(argv[2], &t))
		return not_int();
	for (i = 3; i < argc; i++) {
		if (arg_is(argv[i], "nx"))
			flags |= HKV_EXPIRE_NX;
		else if (arg_is(argv[i], "xx"))
			flags |= HKV_EXPIRE_XX;
		else if (arg_is(argv[i], "gt"))
			flags |= HKV_EXPIRE_GT;
		else if (arg_is(argv[i], "lt"))
			flags |= HKV_EXPIRE_LT;
		else
			return reply_usage("ERR Unsupported option %s", argv[i]);
	}
	if ((flags & HKV_EXPIRE_NX) && (flags & ~HKV_EXPIRE_NX))
		return reply_usage("ERR NX and XX, GT or LT options at the same time are not "
				   "compatible");
	if ((flags & HKV_EXPIRE_GT) && (flags & HKV_EXPIRE_LT))
		return reply_usage("ERR GT and LT options at the same time are not compatible");
	if (seconds) {
		if (t > INT64_MAX / 1000 || t < INT64_MIN / 1000)
			goto out_invalid;
		t *= 1000;
	}
	if (!absolute) {
		now = now_ms();
		if ((t > 0 && t > INT64_MAX - now) || (t < 0 && t < INT64_MIN + now))
			goto out_invalid;
		t += now;
	}
	rc = hkv_pexpireat(db, argv[1], strlen(argv[1]), t, flags);
	if (rc == -EINVAL)
		goto out_invalid;
	return rc < 0 ? reply_engine(rc) : reply_int(rc);

out_invalid:
	return reply_usage("ERR invalid expire time in '%s' command", argv[0]);
}

static struct ctl_reply *cmd_expire(struct hkv *db, int argc, char **argv)
{
	return expire_common(db, argc, argv, true, false);
}

static struct ctl_reply *cmd_pexpire(struct hkv *db, int argc, char **argv)
{
	return expire_common(db, argc, argv, false, false);
}

static struct ctl_reply *cmd_expireat(struct hkv *db, int argc, char **argv)
{
	return expire_common(db, argc, argv, true, true);
}

static struct ctl_reply *cmd_pexpireat(struct hkv *db, int argc, char **argv)
{
	return expire_common(db, argc, argv, false, true);
}

static struct ctl_reply *cmd_persist(struct hkv *db, int argc, char **argv)
{
	int rc;

	(void)argc;
	rc = hkv_persist(db, argv[1], strlen(argv[1]));
	return rc < 0 ? reply_engine(rc) : reply_int(rc);
}

static struct ctl_reply *cmd_rename(struct hkv *db, int argc, char **argv)
{
	int rc;

	(void)argc;
	rc = hkv_rename(db, argv[1], strlen(argv[1]), argv[2], strlen(argv[2]), 0);
	return rc ? reply_engine(rc) : reply_status("OK");
}

static struct ctl_reply *cmd_renamenx(struct hkv *db, int argc, char **argv)
{
	int rc;

	(void)argc;
	rc = hkv_rename(db, argv[1], strlen(argv[1]), argv[2], strlen(argv[2]), HKV_RENAME_NX);
	if (rc == -EEXIST)
		return reply_int(0);
	return rc ? reply_engine(rc) : reply_int(1);
}

struct scan_ctx {
	struct ctl_reply *items;
};

static int scan_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool is_prefix)
{
	struct scan_ctx *sc = arg;

	(void)type;
	(void)is_prefix;
	reply_push(sc->items, reply_bulk(key, klen));
	return 0;
}

static struct ctl_reply *cmd_scan(struct hkv *db, int argc, char **argv)
{
	struct hkv_scan_opts o = { 0 };
	struct ctl_scan_args a;
	struct scan_ctx sc;
	struct ctl_reply *r;
	int rc;

	r = parse_scan_args(argc - 1, argv + 1, true, &a);
	if (r)
		return r;
	o.match = a.match;
	o.type = a.type;
	o.count = a.count;
	sc.items = reply_array();
	rc = hkv_scan(db, &a.cur, &o, scan_cb, &sc);
	if (rc < 0) {
		reply_free(sc.items);
		return rc == -EINVAL ? reply_usage("ERR invalid cursor") : reply_engine(rc);
	}
	return scan_reply(&a.cur, sc.items);
}

const struct ctl_cmd ctl_keys_cmds[] = {
	{ "get", 2, 0, cmd_get, "KEY", "print the string value of KEY" },
	{ "set", -3, CTL_CMD_WRITE | CTL_CMD_STDIN, cmd_set,
	  "KEY VALUE|- [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]",
	  "set KEY to VALUE (\"-\": read the value from stdin)" },
	{ "mget", -2, 0, cmd_mget, "KEY [KEY...]", "values of several keys" },
	{ "mset", -3, CTL_CMD_WRITE, cmd_mset, "KEY VALUE [KEY VALUE...]", "set several keys" },
	{ "append", 3, CTL_CMD_WRITE, cmd_append, "KEY VALUE", "append VALUE, print new length" },
	{ "strlen", 2, 0, cmd_strlen, "KEY", "length of the string value" },
	{ "getrange", 4, 0, cmd_getrange, "KEY START END",
	  "substring, inclusive offsets, negative from the end" },
	{ "setrange", 4, CTL_CMD_WRITE, cmd_setrange, "KEY OFFSET VALUE",
	  "overwrite part of the string at OFFSET" },
	{ "incr", 2, CTL_CMD_WRITE, cmd_incr, "KEY", "add 1 to the integer value" },
	{ "decr", 2, CTL_CMD_WRITE, cmd_decr, "KEY", "subtract 1 from the integer value" },
	{ "incrby", 3, CTL_CMD_WRITE, cmd_incrby, "KEY DELTA", "add DELTA to the integer value" },
	{ "decrby", 3, CTL_CMD_WRITE, cmd_decrby, "KEY DELTA",
	  "subtract DELTA from the integer value" },
	{ "incrbyfloat", 3, CTL_CMD_WRITE, cmd_incrbyfloat, "KEY DELTA",
	  "add a floating-point DELTA" },
	{ "del", -2, CTL_CMD_WRITE, cmd_del, "KEY [KEY...]", "delete keys, print how many" },
	{ "exists", -2, 0, cmd_exists, "KEY [KEY...]", "how many of the keys exist" },
	{ "type", 2, 0, cmd_type, "KEY", "string, hash, list, set, zset or none" },
	{ "ttl", 2, 0, cmd_ttl, "KEY", "seconds to live (-1 no expiry, -2 no key)" },
	{ "pttl", 2, 0, cmd_pttl, "KEY", "milliseconds to live (-1 no expiry, -2 no key)" },
	{ "expire", -3, CTL_CMD_WRITE, cmd_expire, "KEY SECONDS [NX|XX|GT|LT]",
	  "expire KEY in SECONDS" },
	{ "pexpire", -3, CTL_CMD_WRITE, cmd_pexpire, "KEY MS [NX|XX|GT|LT]",
	  "expire KEY in MS milliseconds" },
	{ "expireat", -3, CTL_CMD_WRITE, cmd_expireat, "KEY UNIX_SECONDS [NX|XX|GT|LT]",
	  "expire KEY at a Unix time" },
	{ "pexpireat", -3, CTL_CMD_WRITE, cmd_pexpireat, "KEY UNIX_MS [NX|XX|GT|LT]",
	  "expire KEY at a Unix time in milliseconds" },
	{ "persist", 2, CTL_CMD_WRITE, cmd_persist, "KEY", "remove the expiry of KEY" },
	{ "rename", 3, CTL_CMD_WRITE, cmd_rename, "KEY NEWKEY",
	  "rename, replacing NEWKEY if it exists" },
	{ "renamenx", 3, CTL_CMD_WRITE, cmd_renamenx, "KEY NEWKEY",
	  "rename only if NEWKEY does not exist" },
	{ "scan", -2, 0, cmd_scan, "CURSOR [MATCH PATTERN] [COUNT N] [TYPE TYPE]",
	  "walk the keyspace: print the next cursor, then keys" },
	{ NULL, 0, 0, NULL, NULL, NULL },
};
