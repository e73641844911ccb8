// SPDX-License-Identifier: MIT
/*
 * t_string.c - string commands (and the bit commands, which work on strings).
 *
 * Each command maps onto the engine's string operations; what the engine does not have as one
 * operation (MSETNX, GETDEL, GETEX, INCRBYFLOAT with Redis's number format, bits) is composed
 * here. Composition is atomic for RESP clients (commands run one at a time on the server
 * thread) but not against writes made through the mount at the same instant.
 *
 * Replies and errors are Redis 7.0's, including the order in which arguments are checked.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

#define SET_NX (1u << 0)
#define SET_XX (1u << 1)
#define SET_GET (1u << 2)
#define SET_KEEPTTL (1u << 3)
#define SET_EX (1u << 4)
#define SET_PX (1u << 5)
#define SET_EXAT (1u << 6)
#define SET_PXAT (1u << 7)
#define SET_PERSIST (1u << 8)
#define SET_EXPIRE_ANY (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

static void count_lookup(struct client *c, bool hit)
{
	if (hit)
		c->srv->st.keyspace_hits++;
	else
		c->srv->st.keyspace_misses++;
}

static bool max_len_ok(struct client *c, uint64_t off, uint64_t len)
{
	if (off + len > c->srv->cfg.proto_max_bulk_len || off + len < off) {
		add_error(c, "string exceeds maximum allowed size (proto-max-bulk-len)");
		return false;
	}
	return true;
}

/* Redis's SET/GETEX option grammar. @first: index of the first option. */
static bool parse_set_options(struct client *c, int first, bool getex, unsigned *flags,
			      int *expire_arg)
{
	for (int j = first; j < c->argc; j++) {
		bool next = j + 1 < c->argc;
		unsigned f = *flags;

		if (!getex && arg_eq(c, j, "nx") && !(f & SET_XX)) {
			*flags |= SET_NX;
		} else if (!getex && arg_eq(c, j, "xx") && !(f & SET_NX)) {
			*flags |= SET_XX;
		} else if (!getex && arg_eq(c, j, "get")) {
			*flags |= SET_GET;
		} else if (!getex && arg_eq(c, j, "keepttl") && !(f & (SET_PERSIST | SET_EXPIRE_ANY))) {
			*flags |= SET_KEEPTTL;
		} else if (getex && arg_eq(c, j, "persist") && !(f & (SET_EXPIRE_ANY | SET_KEEPTTL))) {
			*flags |= SET_PERSIST;
		} else if (next && arg_eq(c, j, "ex") &&
			   !(f & (SET_KEEPTTL | SET_PERSIST | SET_EXAT | SET_PX | SET_PXAT))) {
			*flags |= SET_EX;
			*expire_arg = ++j;
		} else if (next && arg_eq(c, j, "px") &&
			   !(f & (SET_KEEPTTL | SET_PERSIST | SET_EX | SET_EXAT | SET_PXAT))) {
			*flags |= SET_PX;
			*expire_arg = ++j;
		} else if (next && arg_eq(c, j, "exat") &&
			   !(f & (SET_KEEPTTL | SET_PERSIST | SET_EX | SET_PX | SET_PXAT))) {
			*flags |= SET_EXAT;
			*expire_arg = ++j;
		} else if (next && arg_eq(c, j, "pxat") &&
			   !(f & (SET_KEEPTTL | SET_PERSIST | SET_EX | SET_EXAT | SET_PX))) {
			*flags |= SET_PXAT;
			*expire_arg = ++j;
		} else {
			add_err_syntax(c);
			return false;
		}
	}
	return true;
}

static void err_expire(struct client *c)
{
	add_errorf(c, "invalid expire time in '%s' command", c->cmd->fullname);
}

/* The absolute expiry in ms for an EX/PX/EXAT/PXAT argument, Redis's checks. */
static bool expire_ms(struct client *c, int arg, unsigned flags, int64_t *out)
{
	long long v;
	bool seconds = flags & (SET_EX | SET_EXAT);

	if (!get_ll_or_reply(c, arg, &v, NULL))
		return false;
	if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
		err_expire(c);
		return false;
	}
	if (seconds)
		v *= 1000;
	if (flags & (SET_EX | SET_PX)) {
		int64_t now = srv_now_ms();

		if (v > LLONG_MAX - now) {
			err_expire(c);
			return false;
		}
		v += now;
	}
	*out = v;
	return true;
}

/* SET and its variants: @ok_int replies 1/0 (SETNX) instead of OK/nil. */
static void set_generic(struct client *c, int keyi, int vali, unsigned flags, int expire_arg,
			bool ok_int)
{
	struct hkv_set_opts o = { 0 };
	struct hkv_buf old = { 0 };
	int64_t at = 0;
	bool existed;
	int rc;

	if (expire_arg && !expire_ms(c, expire_arg, flags, &at))
		return;
	if (writes_refused(c))
		return;
	existed = key_exists_for_new(c, c->argv[keyi], c->argvlen[keyi]);
	if (flags & SET_NX)
		o.flags |= HKV_SET_NX;
	if (flags & SET_XX)
		o.flags |= HKV_SET_XX;
	if (flags & SET_KEEPTTL)
		o.flags |= HKV_SET_KEEPTTL;
	if (expire_arg) {
		o.flags |= HKV_SET_EXPIRE;
		o.expire_at = at;
	}
	if (flags & SET_GET)
		o.old = &old;
	rc = hkv_set(c->db, c->argv[keyi], c->argvlen[keyi], c->argv[vali], c->argvlen[vali],
		     &o);
	if (rc < 0) {
		hkv_buf_release(&old);
		add_err_engine(c, rc);
		return;
	}
	if (flags & SET_GET) {
		if (old.data)
			add_bulk(c, old.data, old.len);
		else
			add_null(c);
		hkv_buf_release(&old);
	}
	if (rc == 0) {
		if (!(flags & SET_GET)) {
			if (ok_int)
				add_int(c, 0);
			else
				add_null(c);
		}
		return;
	}
	if (!existed)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[keyi], c->argvlen[keyi]);
	key_modified(c, NOTIFY_STRING, "set", c->argv[keyi], c->argvlen[keyi]);
	if (expire_arg)
		notify_event(c->srv, NOTIFY_GENERIC, "expire", c->argv[keyi], c->argvlen[keyi]);
	if (!(flags & SET_GET)) {
		if (ok_int)
			add_int(c, 1);
		else
			add_ok(c);
	}
}

void set_command(struct client *c)
{
	unsigned flags = 0;
	int ea = 0;

	if (!parse_set_options(c, 3, false, &flags, &ea))
		return;
	set_generic(c, 1, 2, flags, ea, false);
}

void setnx_command(struct client *c)
{
	set_generic(c, 1, 2, SET_NX, 0, true);
}

void setex_command(struct client *c)
{
	set_generic(c, 1, 3, SET_EX, 2, false);
}

void psetex_command(struct client *c)
{
	set_generic(c, 1, 3, SET_PX, 2, false);
}

void getset_command(struct client *c)
{
	set_generic(c, 1, 2, SET_GET, 0, false);
}

/* Fetch a string value for a read command: 1 found, 0 replied nil, -1 replied error. */
static int fetch_string(struct client *c, int keyi, struct hkv_buf *out, bool reply_nil)
{
	int rc = hkv_get(c->db, c->argv[keyi], c->argvlen[keyi], out);

	if (rc == -ENOENT) {
		count_lookup(c, false);
		if (reply_nil)
			add_null(c);
		return 0;
	}
	if (rc) {
		add_err_engine(c, rc);
		return -1;
	}
	count_lookup(c, true);
	return 1;
}

void get_command(struct client *c)
{
	struct hkv_buf v = { 0 };

	if (fetch_string(c, 1, &v, true) == 1)
		add_bulk(c, v.data, v.len);
	hkv_buf_release(&v);
}

void getdel_command(struct client *c)
{
	struct hkv_buf v = { 0 };

	if (fetch_string(c, 1, &v, true) != 1)
		return;
	add_bulk(c, v.data, v.len);
	hkv_buf_release(&v);
	if (hkv_del(c->db, c->argv[1], c->argvlen[1]) == 1)
		key_modified(c, NOTIFY_GENERIC, "del", c->argv[1], c->argvlen[1]);
}

void getex_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	unsigned flags = 0;
	int64_t at = 0;
	int ea = 0, rc;

	if (!parse_set_options(c, 2, true, &flags, &ea))
		return;
	if (fetch_string(c, 1, &v, true) != 1)
		return;
	if (ea && !expire_ms(c, ea, flags, &at)) {
		hkv_buf_release(&v);
		return;
	}
	add_bulk(c, v.data, v.len);
	hkv_buf_release(&v);
	if (ea && (flags & (SET_EXAT | SET_PXAT)) && at <= srv_now_ms()) {
		if (hkv_del(c->db, c->argv[1], c->argvlen[1]) == 1)
			key_modified(c, NOTIFY_GENERIC, "del", c->argv[1], c->argvlen[1]);
	} else if (ea) {
		rc = hkv_pexpireat(c->db, c->argv[1], c->argvlen[1], at, 0);
		if (rc > 0)
			key_modified(c, NOTIFY_GENERIC, "expire", c->argv[1], c->argvlen[1]);
	} else if (flags & SET_PERSIST) {
		if (hkv_persist(c->db, c->argv[1], c->argvlen[1]) == 1)
			key_modified(c, NOTIFY_GENERIC, "persist", c->argv[1], c->argvlen[1]);
	}
}

void mget_command(struct client *c)
{
	add_array(c, c->argc - 1);
	for (int i = 1; i < c->argc; i++) {
		struct hkv_buf v = { 0 };
		int rc = hkv_get(c->db, c->argv[i], c->argvlen[i], &v);

		count_lookup(c, rc == 0);
		if (rc == 0)
			add_bulk(c, v.data, v.len);
		else
			add_null(c);
		hkv_buf_release(&v);
	}
}

static void mset_generic(struct client *c, bool nx)
{
	if (c->argc % 2 == 0) {
		add_err_arity(c);
		return;
	}
	if (writes_refused(c))
		return;
	if (nx) {
		for (int j = 1; j < c->argc; j += 2) {
			if (hkv_exists(c->db, c->argv[j], c->argvlen[j]) == 1) {
				add_int(c, 0);
				return;
			}
		}
	}
	for (int j = 1; j < c->argc; j += 2) {
		bool existed = key_exists_for_new(c, c->argv[j], c->argvlen[j]);
		int rc = hkv_set(c->db, c->argv[j], c->argvlen[j], c->argv[j + 1],
				 c->argvlen[j + 1], NULL);

		if (rc < 0) {
			add_err_engine(c, rc);
			return;
		}
		if (!existed)
			notify_event(c->srv, NOTIFY_NEW, "new", c->argv[j], c->argvlen[j]);
		key_modified(c, NOTIFY_STRING, "set", c->argv[j], c->argvlen[j]);
	}
	if (nx)
		add_int(c, 1);
	else
		add_ok(c);
}

void mset_command(struct client *c)
{
	mset_generic(c, false);
}

void msetnx_command(struct client *c)
{
	mset_generic(c, true);
}

void append_command(struct client *c)
{
	int64_t len = hkv_strlen(c->db, c->argv[1], c->argvlen[1]);
	bool existed;

	if (len < 0) {
		add_err_engine(c, (int)len);
		return;
	}
	if (!max_len_ok(c, (uint64_t)len, c->argvlen[2]) || writes_refused(c))
		return;
	existed = key_exists_for_new(c, c->argv[1], c->argvlen[1]);
	len = hkv_append(c->db, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2], NULL);
	if (len < 0) {
		add_err_engine(c, (int)len);
		return;
	}
	if (!existed)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_STRING, "append", c->argv[1], c->argvlen[1]);
	add_int(c, len);
}

void strlen_command(struct client *c)
{
	int64_t len = hkv_strlen(c->db, c->argv[1], c->argvlen[1]);

	if (len < 0)
		add_err_engine(c, (int)len);
	else
		add_int(c, len);
}

void getrange_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	long long start, end;
	int rc;

	if (!get_ll_or_reply(c, 2, &start, NULL) || !get_ll_or_reply(c, 3, &end, NULL))
		return;
	rc = hkv_getrange_redis(c->db, c->argv[1], c->argvlen[1], start, end, &v);
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	add_bulk(c, v.data ? v.data : "", v.len);
	hkv_buf_release(&v);
}

void setrange_command(struct client *c)
{
	long long off;
	int64_t len;
	int t;

	if (!get_ll_or_reply(c, 2, &off, NULL))
		return;
	if (off < 0) {
		add_error(c, "offset is out of range");
		return;
	}
	t = hkv_type(c->db, c->argv[1], c->argvlen[1]);
	if (t < 0) {
		add_err_engine(c, t);
		return;
	}
	if (t == HKV_TYPE_NONE) {
		if (c->argvlen[3] == 0) {
			add_int(c, 0);
			return;
		}
	} else {
		if (t != HKV_TYPE_STRING) {
			add_err_wrongtype(c);
			return;
		}
		if (c->argvlen[3] == 0) {
			add_int(c, hkv_strlen(c->db, c->argv[1], c->argvlen[1]));
			return;
		}
	}
	if (!max_len_ok(c, (uint64_t)off, c->argvlen[3]) || writes_refused(c))
		return;
	len = hkv_setrange(c->db, c->argv[1], c->argvlen[1], (uint64_t)off, c->argv[3],
			   c->argvlen[3], NULL);
	if (len < 0) {
		add_err_engine(c, (int)len);
		return;
	}
	if (t == HKV_TYPE_NONE)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_STRING, "setrange", c->argv[1], c->argvlen[1]);
	add_int(c, len);
}

static void incr_generic(struct client *c, long long delta)
{
	int64_t out;
	bool existed;
	int rc;

	if (writes_refused(c))
		return;
	existed = key_exists_for_new(c, c->argv[1], c->argvlen[1]);
	rc = hkv_incrby(c->db, c->argv[1], c->argvlen[1], delta, &out);
	if (rc == -HKV_ENOTINT) {
		/* the engine says "not an integer or overflow": Redis tells them apart */
		struct hkv_buf v = { 0 };
		long long cur;

		if (!hkv_get(c->db, c->argv[1], c->argvlen[1], &v) &&
		    str2ll(v.data, v.len, &cur)) {
			hkv_buf_release(&v);
			add_error(c, "increment or decrement would overflow");
			return;
		}
		hkv_buf_release(&v);
	}
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	if (!existed)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_STRING, "incrby", c->argv[1], c->argvlen[1]);
	add_int(c, out);
}

void incr_command(struct client *c)
{
	incr_generic(c, 1);
}

void decr_command(struct client *c)
{
	incr_generic(c, -1);
}

void incrby_command(struct client *c)
{
	long long d;

	if (get_ll_or_reply(c, 2, &d, NULL))
		incr_generic(c, d);
}

void decrby_command(struct client *c)
{
	long long d;

	if (!get_ll_or_reply(c, 2, &d, NULL))
		return;
	if (d == LLONG_MIN) {
		add_error(c, "decrement would overflow");
		return;
	}
	incr_generic(c, -d);
}

/*
 * INCRBYFLOAT: the engine's hkv_incrbyfloat() stores "%.17Lg"; Redis 7.0 stores and replies
 * "%.17Lf" without trailing zeros, so the arithmetic is done here and the result SET with its
 * expiry kept.
 */
void incrbyfloat_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	struct hkv_set_opts o = { .flags = HKV_SET_KEEPTTL };
	long double cur = 0, incr;
	char buf[5120];
	int rc, len;
	bool existed = true;

	if (!get_ld_or_reply(c, 2, &incr, NULL))
		return;
	rc = hkv_get(c->db, c->argv[1], c->argvlen[1], &v);
	if (rc == -ENOENT) {
		existed = false;
	} else if (rc) {
		add_err_engine(c, rc);
		return;
	} else if (!str2ld(v.data, v.len, &cur)) {
		hkv_buf_release(&v);
		add_err_notfloat(c);
		return;
	}
	hkv_buf_release(&v);
	cur += incr;
	if (isnan(cur) || isinf(cur)) {
		add_error(c, "increment would produce NaN or Infinity");
		return;
	}
	len = ld2str_human(buf, sizeof(buf), cur);
	if (len <= 0) {
		add_err_notfloat(c);
		return;
	}
	if (writes_refused(c))
		return;
	rc = hkv_set(c->db, c->argv[1], c->argvlen[1], buf, (size_t)len, &o);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (!existed)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_STRING, "incrbyfloat", c->argv[1], c->argvlen[1]);
	add_bulk(c, buf, (size_t)len);
}

/* ---- bits ---------------------------------------------------------------------------- */

static bool bit_offset(struct client *c, int i, uint64_t *out)
{
	long long v;

	if (!str2ll(c->argv[i], c->argvlen[i], &v) || v < 0 ||
	    (unsigned long long)v >> 3 >= c->srv->cfg.proto_max_bulk_len) {
		add_error(c, "bit offset is not an integer or out of range");
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

void setbit_command(struct client *c)
{
	uint64_t off;
	long long bit;
	unsigned char byte = 0;
	ssize_t n;
	int t, old;

	if (!bit_offset(c, 2, &off))
		return;
	if (!str2ll(c->argv[3], c->argvlen[3], &bit) || (bit != 0 && bit != 1)) {
		add_error(c, "bit is not an integer or out of range");
		return;
	}
	t = hkv_type(c->db, c->argv[1], c->argvlen[1]);
	if (t != HKV_TYPE_NONE && t != HKV_TYPE_STRING) {
		if (t < 0)
			add_err_engine(c, t);
		else
			add_err_wrongtype(c);
		return;
	}
	if (writes_refused(c))
		return;
	n = hkv_getrange(c->db, c->argv[1], c->argvlen[1], off >> 3, &byte, 1);
	if (n < 0 && n != -ENOENT) {
		add_err_engine(c, (int)n);
		return;
	}
	if (n <= 0)
		byte = 0;
	old = (byte >> (7 - (off & 7))) & 1;
	if (bit)
		byte |= (unsigned char)(1u << (7 - (off & 7)));
	else
		byte &= (unsigned char)~(1u << (7 - (off & 7)));
	n = hkv_setrange(c->db, c->argv[1], c->argvlen[1], off >> 3, &byte, 1, NULL);
	if (n < 0) {
		add_err_engine(c, (int)n);
		return;
	}
	if (t == HKV_TYPE_NONE)
		notify_event(c->srv, NOTIFY_NEW, "new", c->argv[1], c->argvlen[1]);
	key_modified(c, NOTIFY_STRING, "setbit", c->argv[1], c->argvlen[1]);
	add_int(c, old);
}

void getbit_command(struct client *c)
{
	uint64_t off;
	unsigned char byte = 0;
	ssize_t n;

	if (!bit_offset(c, 2, &off))
		return;
	n = hkv_getrange(c->db, c->argv[1], c->argvlen[1], off >> 3, &byte, 1);
	if (n == -ENOENT || n == 0) {
		add_int(c, 0);
		return;
	}
	if (n < 0) {
		add_err_engine(c, (int)n);
		return;
	}
	add_int(c, (byte >> (7 - (off & 7))) & 1);
}

/* Resolve Redis's inclusive, negative-from-the-end range over @len units. */
static bool clamp_range(long long *start, long long *end, long long len)
{
	if (*start < 0)
		*start = len + *start;
	if (*end < 0)
		*end = len + *end;
	if (*start < 0)
		*start = 0;
	if (*end < 0)
		*end = 0;
	if (*end >= len)
		*end = len - 1;
	return *start <= *end && len > 0;
}

/* Parse [start end [BYTE|BIT]] at @i; *bitmode set for BIT. */
static int range_args(struct client *c, int i, long long *start, long long *end, bool *bitmode,
		      bool end_optional)
{
	*bitmode = false;
	if (c->argc <= i)
		return 0;
	if (!get_ll_or_reply(c, i, start, NULL))
		return -1;
	if (c->argc <= i + 1) {
		if (!end_optional) {
			add_err_syntax(c);
			return -1;
		}
		*end = -1;
		return 1;
	}
	if (!get_ll_or_reply(c, i + 1, end, NULL))
		return -1;
	if (c->argc == i + 3) {
		if (arg_eq(c, i + 2, "bit")) {
			*bitmode = true;
		} else if (!arg_eq(c, i + 2, "byte")) {
			add_err_syntax(c);
			return -1;
		}
	} else if (c->argc > i + 3) {
		add_err_syntax(c);
		return -1;
	}
	return 2;
}

static int bit_at(const unsigned char *p, long long bit)
{
	return (p[bit >> 3] >> (7 - (bit & 7))) & 1;
}

void bitcount_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	long long start = 0, end = -1, count = 0;
	bool bitmode;
	int r, rc;

	r = range_args(c, 2, &start, &end, &bitmode, false);
	if (r < 0)
		return;
	/* both from the end and crossed: empty, whatever the length (Redis 7.0.15) */
	if (r && start < 0 && end < 0 && start > end) {
		add_int(c, 0);
		return;
	}
	rc = hkv_get(c->db, c->argv[1], c->argvlen[1], &v);
	if (rc == -ENOENT) {
		add_int(c, 0);
		return;
	}
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	if (bitmode) {
		if (clamp_range(&start, &end, (long long)v.len * 8))
			for (long long b = start; b <= end; b++)
				count += bit_at(v.data, b);
	} else if (clamp_range(&start, &end, (long long)v.len)) {
		for (long long i = start; i <= end; i++)
			count += __builtin_popcount(((unsigned char *)v.data)[i]);
	}
	hkv_buf_release(&v);
	add_int(c, count);
}

void bitpos_command(struct client *c)
{
	struct hkv_buf v = { 0 };
	long long bit, start = 0, end = -1, len;
	bool bitmode, end_given;
	int r, rc;

	if (!get_ll_or_reply(c, 2, &bit, NULL))
		return;
	if (bit != 0 && bit != 1) {
		add_error(c, "The bit argument must be 1 or 0.");
		return;
	}
	r = range_args(c, 3, &start, &end, &bitmode, true);
	if (r < 0)
		return;
	end_given = r == 2;
	rc = hkv_get(c->db, c->argv[1], c->argvlen[1], &v);
	if (rc == -ENOENT) {
		add_int(c, bit ? -1 : 0);
		return;
	}
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	len = (long long)v.len * (bitmode ? 8 : 1);
	if (!clamp_range(&start, &end, len)) {
		hkv_buf_release(&v);
		add_int(c, -1);
		return;
	}
	if (!bitmode) {
		start *= 8;
		end = end * 8 + 7;
	}
	for (long long b = start; b <= end; b++) {
		if (bit_at(v.data, b) == bit) {
			hkv_buf_release(&v);
			add_int(c, b);
			return;
		}
	}
	hkv_buf_release(&v);
	/* looking for a clear bit past the end of the string: the string is padded with zeros */
	add_int(c, (bit == 0 && !end_given) ? end + 1 : -1);
}

/* ---- LCS ------------------------------------------------------------------------------ */

void lcs_command(struct client *c)
{
	struct hkv_buf a = { 0 }, b = { 0 };
	bool getlen = false, getidx = false, withlen = false;
	long long minlen = 0;
	uint32_t *t = NULL, alen, blen, idx, i, j;
	char *result = NULL;
	int rc;

	rc = hkv_get(c->db, c->argv[1], c->argvlen[1], &a);
	if (rc == 0 || rc == -ENOENT)
		rc = hkv_get(c->db, c->argv[2], c->argvlen[2], &b);
	if (rc == -HKV_EWRONGTYPE) {
		add_error(c, "The specified keys must contain string values");
		goto out;
	}
	if (rc && rc != -ENOENT) {
		add_err_engine(c, rc);
		goto out;
	}
	for (int k = 3; k < c->argc; k++) {
		if (arg_eq(c, k, "idx")) {
			getidx = true;
		} else if (arg_eq(c, k, "len")) {
			getlen = true;
		} else if (arg_eq(c, k, "withmatchlen")) {
			withlen = true;
		} else if (arg_eq(c, k, "minmatchlen") && k + 1 < c->argc) {
			if (!get_ll_or_reply(c, k + 1, &minlen, NULL))
				goto out;
			if (minlen < 0)
				minlen = 0;
			k++;
		} else {
			add_err_syntax(c);
			goto out;
		}
	}
	if (getlen && getidx) {
		add_error(c, "If you want both the length and indexes, please just use IDX.");
		goto out;
	}
	if (a.len >= UINT32_MAX - 1 || b.len >= UINT32_MAX - 1) {
		add_error(c, "String too long for LCS");
		goto out;
	}
	alen = (uint32_t)a.len;
	blen = (uint32_t)b.len;
	{
		unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);

		if (cells * sizeof(uint32_t) > c->srv->cfg.proto_max_bulk_len) {
			add_error(c, "Insufficient memory, transient memory for LCS exceeds "
				     "proto-max-bulk-len");
			goto out;
		}
		t = malloc(cells * sizeof(uint32_t));
		if (!t) {
			add_error(c, "Insufficient memory, failed allocating transient memory for "
				     "LCS");
			goto out;
		}
	}
#define T(x, y) t[(y) + (size_t)(x) * (blen + 1)]
	{
		const unsigned char *pa = a.data ? a.data : (const void *)"";
		const unsigned char *pb = b.data ? b.data : (const void *)"";

		for (i = 0; i <= alen; i++) {
			for (j = 0; j <= blen; j++) {
				if (!i || !j)
					T(i, j) = 0;
				else if (pa[i - 1] == pb[j - 1])
					T(i, j) = T(i - 1, j - 1) + 1;
				else
					T(i, j) = T(i - 1, j) > T(i, j - 1) ? T(i - 1, j)
									    : T(i, j - 1);
			}
		}
		idx = T(alen, blen);
		bool compute = getidx || !getlen;
		uint32_t as = alen, ae = 0, bs = 0, be = 0, nranges = 0;
		size_t pos = 0;

		if (compute) {
			result = malloc(idx + 1);
			if (!result) {
				add_error(c, "Insufficient memory");
				goto out;
			}
		}
		if (getidx) {
			add_map(c, 2);
			add_bulk_str(c, "matches");
			pos = add_deferred(c);
		}
		i = alen;
		j = blen;
		while (compute && i > 0 && j > 0) {
			bool emit = false;

			if (pa[i - 1] == pb[j - 1]) {
				result[idx - 1] = (char)pa[i - 1];
				if (as == alen) {
					as = ae = i - 1;
					bs = be = j - 1;
				} else if (as == i && bs == j) {
					as--;
					bs--;
				} else {
					emit = true;
				}
				if (as == 0 || bs == 0)
					emit = true;
				idx--;
				i--;
				j--;
			} else {
				if (T(i - 1, j) > T(i, j - 1))
					i--;
				else
					j--;
				if (as != alen)
					emit = true;
			}
			if (emit) {
				uint32_t mlen = ae - as + 1;

				if ((minlen == 0 || mlen >= minlen) && getidx) {
					add_array(c, 2 + withlen);
					add_array(c, 2);
					add_int(c, as);
					add_int(c, ae);
					add_array(c, 2);
					add_int(c, bs);
					add_int(c, be);
					if (withlen)
						add_int(c, mlen);
					nranges++;
				}
				as = alen;
			}
		}
		if (getidx) {
			set_deferred(c, pos, '*', nranges);
			add_bulk_str(c, "len");
			add_int(c, T(alen, blen));
		} else if (getlen) {
			add_int(c, T(alen, blen));
		} else {
			add_bulk(c, result, T(alen, blen));
		}
	}
#undef T
out:
	free(t);
	free(result);
	hkv_buf_release(&a);
	hkv_buf_release(&b);
}

/* BITOP AND|OR|XOR|NOT destkey key [key ...]: missing keys are strings of zero bytes. */
void bitop_command(struct client *c)
{
	enum { OP_AND, OP_OR, OP_XOR, OP_NOT } op;
	int nsrc = c->argc - 3, rc;
	struct hkv_buf *src;
	unsigned char *res = NULL;
	size_t maxlen = 0;

	if (arg_eq(c, 1, "and")) {
		op = OP_AND;
	} else if (arg_eq(c, 1, "or")) {
		op = OP_OR;
	} else if (arg_eq(c, 1, "xor")) {
		op = OP_XOR;
	} else if (arg_eq(c, 1, "not")) {
		op = OP_NOT;
	} else {
		add_err_syntax(c);
		return;
	}
	if (op == OP_NOT && nsrc != 1) {
		add_error(c, "BITOP NOT must be called with a single source key.");
		return;
	}
	src = calloc((size_t)nsrc, sizeof(*src));
	if (!src) {
		add_error(c, "-OOM out of memory");
		return;
	}
	for (int i = 0; i < nsrc; i++) {
		rc = hkv_get(c->db, c->argv[3 + i], c->argvlen[3 + i], &src[i]);
		if (rc == -ENOENT)
			continue;
		if (rc) {
			add_err_engine(c, rc);
			goto out;
		}
		if (src[i].len > maxlen)
			maxlen = src[i].len;
	}
	if (writes_refused(c))
		goto out;
	if (maxlen) {
		res = malloc(maxlen);
		if (!res) {
			add_error(c, "-OOM out of memory");
			goto out;
		}
		for (size_t j = 0; j < maxlen; j++) {
			unsigned char acc = j < src[0].len ? ((unsigned char *)src[0].data)[j] : 0;

			if (op == OP_NOT)
				acc = (unsigned char)~acc;
			for (int i = 1; i < nsrc; i++) {
				unsigned char b = j < src[i].len ? ((unsigned char *)src[i].data)[j] : 0;

				if (op == OP_AND)
					acc &= b;
				else if (op == OP_OR)
					acc |= b;
				else
					acc ^= b;
			}
			res[j] = acc;
		}
		rc = hkv_set(c->db, c->argv[2], c->argvlen[2], res, maxlen, NULL);
		if (rc < 0) {
			add_err_engine(c, rc);
			goto out;
		}
		key_modified(c, NOTIFY_STRING, "set", c->argv[2], c->argvlen[2]);
	} else {
		rc = hkv_del(c->db, c->argv[2], c->argvlen[2]);
		if (rc < 0) {
			add_err_engine(c, rc);
			goto out;
		}
		if (rc)
			key_modified(c, NOTIFY_GENERIC, "del", c->argv[2], c->argvlen[2]);
	}
	add_int(c, (long long)maxlen);
out:
	for (int i = 0; i < nsrc; i++)
		hkv_buf_release(&src[i]);
	free(src);
	free(res);
}
