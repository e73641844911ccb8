// SPDX-License-Identifier: MIT
/*
 * dump.c - DUMP and RESTORE: a key's value as an opaque, self-checking byte string.
 *
 * As in Redis, the payload is opaque to clients: they only hand it back to RESTORE on a
 * server of the same kind. hkv-server's payload is its own (Redis's RDB encodings describe
 * Redis's memory layouts, which the store does not have), so a payload of one cannot be
 * restored into the other; RESTORE refuses anything that is not a well-formed payload of a
 * version it knows, with Redis's errors, and never partly.
 *
 * Payload layout (all integers little-endian; "varint" is LEB128, at most 10 bytes):
 *
 *   offset   size     field
 *   0        1        type: 0 string, 1 list, 2 set, 3 sorted set, 4 hash, 5 stream
 *   1        ...      string: varint length, bytes
 *                     list, set: varint count (> 0), count x (varint length, bytes)
 *                     sorted set: varint count (> 0), count x (varint length, bytes,
 *                       8-byte IEEE-754 score, not NaN)
 *                     hash: varint count (> 0), count x (varint length, field bytes,
 *                       varint length, value bytes)
 *                     stream (type 5): varint count, count x (varint length, record key,
 *                       varint length, record value): the stream's records in record
 *                       order (t_stream.c has their formats)
 *   end-10   2        payload format version (1)
 *   end-8    4        "hkvD"
 *   end-4    4        CRC-32 (zlib) of every byte before it
 *
 * The expiry is not in the payload (RESTORE takes it as an argument, as in Redis).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "elems.h"
#include "server_int.h"

#define DUMP_VERSION 1
#define DUMP_TRAILER 10

struct obuf {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

static void ob_put(struct obuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *q;

		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void ob_varint(struct obuf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	ob_put(b, tmp, n);
}

static void ob_bytes(struct obuf *b, const void *p, size_t n)
{
	ob_varint(b, n);
	ob_put(b, p, n);
}

static const unsigned char type_code[] = {
	[HKV_TYPE_STRING] = 0, [HKV_TYPE_LIST] = 1, [HKV_TYPE_SET] = 2,
	[HKV_TYPE_ZSET] = 3,   [HKV_TYPE_HASH] = 4, [HKV_TYPE_STREAM] = 5,
};

void dump_command(struct client *c)
{
	struct hkv_buf str = { 0 };
	struct obuf b = { 0 };
	struct elems e;
	unsigned char trailer[DUMP_TRAILER];
	uint32_t crc;
	int t, rc;

	elems_init(&e);
	rc = read_value(c->db, c->argv[1], c->argvlen[1], &t, &e, &str, NULL);
	if (rc == -ENOENT) {
		add_null(c);
		goto out;
	}
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	ob_put(&b, &type_code[t], 1);
	if (t == HKV_TYPE_STRING) {
		ob_bytes(&b, str.data ? str.data : "", str.len);
	} else {
		ob_varint(&b, e.n);
		for (size_t i = 0; i < e.n; i++) {
			ob_bytes(&b, elem_a(&e, i), e.v[i].alen);
			if (t == HKV_TYPE_ZSET) {
				unsigned char d[8];
				uint64_t u;

				memcpy(&u, &e.v[i].score, 8);
				for (int k = 0; k < 8; k++)
					d[k] = (unsigned char)(u >> (8 * k));
				ob_put(&b, d, 8);
			} else if (t == HKV_TYPE_HASH || t == HKV_TYPE_STREAM) {
				ob_bytes(&b, elem_b(&e, i), e.v[i].blen);
			}
		}
	}
	trailer[0] = DUMP_VERSION & 0xff;
	trailer[1] = DUMP_VERSION >> 8;
	memcpy(trailer + 2, "hkvD", 4);
	ob_put(&b, trailer, 6);
	crc = (uint32_t)crc32(0, b.p, (uInt)b.len);
	for (int k = 0; k < 4; k++)
		trailer[6 + k] = (unsigned char)(crc >> (8 * k));
	ob_put(&b, trailer + 6, 4);
	if (b.oom)
		add_error(c, "-OOM out of memory");
	else
		add_bulk(c, b.p, b.len);
out:
	free(b.p);
	hkv_buf_release(&str);
	elems_free(&e);
}

struct ibuf {
	const unsigned char *p;
	size_t len, pos;
};

static bool ib_varint(struct ibuf *b, uint64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		unsigned char x;

		if (b->pos >= b->len)
			return false;
		x = b->p[b->pos++];
		if (shift == 63 && (x & 0x7e))
			return false;
		v |= (uint64_t)(x & 0x7f) << shift;
		if (!(x & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static bool ib_bytes(struct ibuf *b, const unsigned char **p, size_t *n)
{
	uint64_t len;

	if (!ib_varint(b, &len) || len > b->len - b->pos)
		return false;
	*p = b->p + b->pos;
	*n = (size_t)len;
	b->pos += (size_t)len;
	return true;
}

/* Check the trailer of a payload. Return: whether it is one of ours, unaltered. */
static bool payload_ok(const unsigned char *p, size_t n)
{
	uint32_t crc = 0;

	if (n < 1 + DUMP_TRAILER)
		return false;
	if (p[n - 10] != (DUMP_VERSION & 0xff) || p[n - 9] != (DUMP_VERSION >> 8) ||
	    memcmp(p + n - 8, "hkvD", 4))
		return false;
	for (int k = 0; k < 4; k++)
		crc |= (uint32_t)p[n - 4 + k] << (8 * k);
	return crc == (uint32_t)crc32(0, p, (uInt)(n - 4));
}

/* Decode a checked payload into @t and @e / @str. Return: false on malformed data. */
static bool payload_decode(const unsigned char *p, size_t n, int *t, struct elems *e,
			   const unsigned char **str, size_t *slen)
{
	struct ibuf b = { p, n - DUMP_TRAILER, 1 };
	uint64_t count;

	switch (p[0]) {
	case 0:
		*t = HKV_TYPE_STRING;
		return ib_bytes(&b, str, slen) && b.pos == b.len;
	case 1:
		*t = HKV_TYPE_LIST;
		break;
	case 2:
		*t = HKV_TYPE_SET;
		break;
	case 3:
		*t = HKV_TYPE_ZSET;
		break;
	case 4:
		*t = HKV_TYPE_HASH;
		break;
	case 5:
		*t = HKV_TYPE_STREAM;
		break;
	default:
		return false;
	}
	if (!ib_varint(&b, &count) || (!count && *t != HKV_TYPE_STREAM) || count > b.len)
		return false;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *a, *v = NULL;
		size_t alen, vlen = 0;
		double score = 0;

		if (!ib_bytes(&b, &a, &alen))
			return false;
		if (*t == HKV_TYPE_ZSET) {
			uint64_t u = 0;

			if (b.len - b.pos < 8)
				return false;
			for (int k = 0; k < 8; k++)
				u |= (uint64_t)b.p[b.pos + (size_t)k] << (8 * k);
			b.pos += 8;
			memcpy(&score, &u, 8);
			if (isnan(score))
				return false;
		} else if (*t == HKV_TYPE_HASH) {
			if (!ib_bytes(&b, &v, &vlen))
				return false;
		} else if (*t == HKV_TYPE_STREAM) {
			if (!ib_bytes(&b, &v, &vlen) || !stream_record_valid(a, alen))
				return false;
		}
		if (elems_push(e, a, alen, v, vlen, score))
			return false;
	}
	return b.pos == b.len;
}

void restore_command(struct client *c)
{
	const unsigned char *payload = (const unsigned char *)c->argv[3];
	size_t plen = c->argvlen[3];
	bool replace = false, absttl = false, existed = false;
	long long ttl, idle = -1, freq = -1;
	const unsigned char *str = NULL;
	size_t slen = 0;
	int64_t expire_at = 0;
	struct elems e;
	int t, rc;

	for (int j = 4; j < c->argc; j++) {
		int more = c->argc - j - 1;

		if (arg_eq(c, j, "replace")) {
			replace = true;
		} else if (arg_eq(c, j, "absttl")) {
			absttl = true;
		} else if (arg_eq(c, j, "idletime") && more >= 1 && freq == -1) {
			if (!get_ll_or_reply(c, j + 1, &idle, NULL))
				return;
			if (idle < 0) {
				add_error(c, "Invalid IDLETIME value, must be >= 0");
				return;
			}
			j++;
		} else if (arg_eq(c, j, "freq") && more >= 1 && idle == -1) {
			if (!get_ll_or_reply(c, j + 1, &freq, NULL))
				return;
			if (freq < 0 || freq > 255) {
				add_error(c, "Invalid FREQ value, must be >= 0 and <= 255");
				return;
			}
			j++;
		} else {
			add_err_syntax(c);
			return;
		}
	}
	if (!get_ll_or_reply(c, 2, &ttl, NULL))
		return;
	if (ttl < 0) {
		add_error(c, "Invalid TTL value, must be >= 0");
		return;
	}
	rc = hkv_exists(c->db, c->argv[1], c->argvlen[1]);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (rc && !replace) {
		add_error(c, "-BUSYKEY Target key name already exists.");
		return;
	}
	existed = rc == 1;
	if (!payload_ok(payload, plen)) {
		add_error(c, "DUMP payload version or checksum are wrong");
		return;
	}
	elems_init(&e);
	if (!payload_decode(payload, plen, &t, &e, &str, &slen)) {
		add_error(c, "Bad data format");
		goto out;
	}
	if (writes_refused(c))
		goto out;
	if (ttl) {
		expire_at = absttl ? ttl : srv_now_ms() + ttl;
		if (expire_at <= srv_now_ms()) {
			/* already expired: nothing is created, a replaced key is deleted */
			if (existed && hkv_del(c->db, c->argv[1], c->argvlen[1]) == 1)
				key_modified(c, NOTIFY_GENERIC, "del", c->argv[1], c->argvlen[1]);
			add_ok(c);
			goto out;
		}
	}
	if (existed) {
		rc = hkv_del(c->db, c->argv[1], c->argvlen[1]);
		if (rc < 0) {
			add_err_engine(c, rc);
			goto out;
		}
	}
	rc = write_value(c->db, c->argv[1], c->argvlen[1], t, &e, str ? (const void *)str : "",
			 slen, expire_at);
	if (rc) {
		add_err_engine(c, rc);
		goto out;
	}
	key_modified(c, NOTIFY_GENERIC, "restore", c->argv[1], c->argvlen[1]);
	add_ok(c);
out:
	elems_free(&e);
}
