// SPDX-License-Identifier: MIT
/*
 * pl_canon.c - canonical byte form of a key (see pl_canon.h).
 *
 * Format: "T<type digit>" then, per type: string "=" value; hash, set: for each field or
 * member in byte order "<u32 len><bytes>" (and "<u32 len><value>" for a hash); list: each
 * element in order as "<u32 len><bytes>"; zset: each member in ZRANGE order as
 * "<u32 len><bytes><score %.17g>;"; then "|X<absolute expiry ms>" if the key expires. Two
 * states of a key are equal exactly when their canonical forms are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_canon.h"

void pl_buf_add(struct pl_buf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t c = b->cap ? b->cap : 256;

		while (c < b->len + len)
			c *= 2;
		b->p = realloc(b->p, c);
		if (!b->p)
			abort();
		b->cap = c;
	}
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

void pl_buf_free(struct pl_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void add_lp(struct pl_buf *b, const void *p, size_t len)
{
	uint32_t l = (uint32_t)len;

	pl_buf_add(b, &l, 4);
	pl_buf_add(b, p, len);
}

static int elem_cb(void *arg, const void *a, size_t alen, const void *v, size_t vlen)
{
	struct pl_buf *b = arg;

	add_lp(b, a, alen);
	if (v)
		add_lp(b, v, vlen);
	return 0;
}

static int list_cb(void *arg, const void *a, size_t alen, const void *v, size_t vlen)
{
	(void)v;
	(void)vlen;
	add_lp(arg, a, alen);
	return 0;
}

static int set_cb(void *arg, const void *a, size_t alen, const void *v, size_t vlen)
{
	(void)v;
	(void)vlen;
	add_lp(arg, a, alen);
	return 0;
}

static int z_cb(void *arg, const void *m, size_t mlen, double score)
{
	char s[40];

	add_lp(arg, m, mlen);
	snprintf(s, sizeof(s), "%.17g;", score);
	pl_buf_add(arg, s, strlen(s));
	return 0;
}

int pl_canon(struct hkv *db, const char *key, int64_t now, struct pl_buf *out)
{
	size_t kl = strlen(key);
	struct hkv_buf v = { 0 };
	struct hkv_zrange_opts zo = { .start = 0, .stop = -1, .limit = -1 };
	char tag[40];
	int64_t ttl;
	int t, rc = 0;

	out->len = 0;
	t = hkv_type(db, key, kl);
	if (t < 0)
		return t;
	if (t == HKV_TYPE_NONE)
		return 1;
	snprintf(tag, sizeof(tag), "T%d", t);
	pl_buf_add(out, tag, strlen(tag));
	switch (t) {
	case HKV_TYPE_STRING:
		rc = hkv_get(db, key, kl, &v);
		if (!rc) {
			pl_buf_add(out, "=", 1);
			pl_buf_add(out, v.data, v.len);
		}
		free(v.data);
		break;
	case HKV_TYPE_HASH:
		rc = hkv_hgetall(db, key, kl, elem_cb, out);
		break;
	case HKV_TYPE_LIST:
		rc = hkv_lrange(db, key, kl, 0, -1, list_cb, out);
		break;
	case HKV_TYPE_SET:
		rc = hkv_smembers(db, key, kl, set_cb, out);
		break;
	case HKV_TYPE_ZSET:
		rc = hkv_zrange(db, key, kl, &zo, z_cb, out);
		break;
	default:
		return -HKV_ECORRUPT;
	}
	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return rc;
	ttl = hkv_pttl(db, key, kl);
	if (ttl < -2)
		return (int)ttl;
	if (ttl >= 0) {
		snprintf(tag, sizeof(tag), "|X%lld", (long long)(now + ttl));
		pl_buf_add(out, tag, strlen(tag));
	}
	return 0;
}
