// SPDX-License-Identifier: MIT
/*
 * elem.c - collection elements as file content: a hash field's value, a set member (empty), a
 * zset member's score as text, a list element by index, the list push names, and a stream
 * entry (read-only) by its ID.
 *
 * A stream entry's file holds one line per field: the field, a tab, the value, a newline,
 * bytes as stored. It is decoded from the entry record of the stream (docs/engine-storage.md,
 * "Streams"): pairs (4 bytes, big-endian), then per field and per value a 4-byte big-endian
 * length and the bytes. A record that does not decode is -EIO and a log line.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

/* format a score as the shortest text that reads back as the same double */
static int score_format(double s, char *out, size_t sz)
{
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(out, sz, "%.*g", prec, s);
		if (strtod(out, NULL) == s)
			break;
	}
	return (int)strlen(strcat(out, "\n"));
}

static int score_parse(const char *buf, size_t len, double *out)
{
	char tmp[128], *end;
	double v;

	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t' ||
		       buf[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, buf, len);
	tmp[len] = 0;
	errno = 0;
	v = strtod(tmp, &end);
	if (*end || isnan(v) || errno == ERANGE)
		return -EINVAL;
	*out = v;
	return 0;
}

/* canonical non-negative decimal index ("0", "17"; not "01", "+1", "-1") */
int hkvfs_index_parse(const unsigned char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len == 0 || len > 18 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* strict decimal u64: digits only, no sign, no leading zero */
static bool parse_u64(const unsigned char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!n || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int hkvfs_stream_id_parse(const unsigned char *s, size_t n, unsigned char rk[17])
{
	const unsigned char *dash = memchr(s, '-', n);
	uint64_t ms, seq;

	if (!dash || !parse_u64(s, (size_t)(dash - s), &ms) ||
	    !parse_u64(dash + 1, n - (size_t)(dash - s) - 1, &seq))
		return -ENOENT;
	rk[0] = HKV_XREC_ENTRY;
	for (int i = 0; i < 8; i++) {
		rk[1 + i] = (unsigned char)(ms >> (56 - 8 * i));
		rk[9 + i] = (unsigned char)(seq >> (56 - 8 * i));
	}
	return 0;
}

struct entry_copy {
	struct hkv_buf *out;
	int rc;
};

static int entry_render(void *arg, const void *rk, size_t rklen, const void *val, size_t vlen)
{
	struct entry_copy *ec = arg;
	const unsigned char *p = val, *end = p + vlen;
	uint32_t pairs;
	size_t total = 0;
	unsigned char *o;

	(void)rk;
	(void)rklen;
	ec->rc = -EIO;
	if (vlen < 4)
		goto bad;
	pairs = be32(p);
	p += 4;
	/* one pass to check and size, one to copy */
	for (uint64_t i = 0; i < 2ull * pairs; i++) {
		uint32_t n;

		if (end - p < 4)
			goto bad;
		n = be32(p);
		if ((size_t)(end - p - 4) < n)
			goto bad;
		total += n + 1;
		p += 4 + n;
	}
	o = malloc(total + 1);
	if (!o) {
		ec->rc = -ENOMEM;
		return 1;
	}
	ec->out->data = o;
	ec->out->len = total;
	p = (const unsigned char *)val + 4;
	for (uint64_t i = 0; i < 2ull * pairs; i++) {
		uint32_t n = be32(p);

		memcpy(o, p + 4, n);
		o += n;
		*o++ = i % 2 ? '\n' : '\t';
		p += 4 + n;
	}
	*o = 0;
	ec->rc = 0;
	return 1;
bad:
	HLOG_WARN("a stream entry record does not decode (%zu bytes): EIO", vlen);
	return 1;
}

/* The file content of the stream entry named by @id->elem ("MS-SEQ"). */
static int stream_entry_get(struct hkvfs_be *be, const struct hkvfs_ident *id,
			    struct hkv_buf *out)
{
	struct entry_copy ec = { out, -ENOENT };
	unsigned char rk[17];
	int rc;

	if (hkvfs_stream_id_parse(id->elem, id->elen, rk))
		return -ENOENT;
	rc = hkvfs_be_xrec_range(be, id->key, id->klen, rk, sizeof(rk), rk, sizeof(rk),
				 entry_render, &ec);
	if (rc < 0)
		return rc;
	return ec.rc;
}

/* value of an element as its file content; @out owned by caller */
int hkvfs_elem_get(struct hkvfs *fs, const struct hkvfs_ident *id, enum hkv_type type,
		   struct hkv_buf *out)
{
	struct hkvfs_be *be = fs->be;
	char tmp[64];
	int64_t idx;
	double s;
	int rc;

	out->data = NULL;
	out->len = 0;
	switch (type) {
	case HKV_TYPE_HASH:
		return hkvfs_be_hget(be, id->key, id->klen, id->elem, id->elen, out);
	case HKV_TYPE_SET:
		rc = hkvfs_be_sismember(be, id->key, id->klen, id->elem, id->elen);
		if (rc < 0)
			return rc;
		return rc ? 0 : -ENOENT;
	case HKV_TYPE_ZSET:
		rc = hkvfs_be_zscore(be, id->key, id->klen, id->elem, id->elen, &s);
		if (rc < 0)
			return rc;
		rc = score_format(s, tmp, sizeof(tmp));
		out->data = malloc((size_t)rc + 1);
		if (!out->data)
			return -ENOMEM;
		memcpy(out->data, tmp, (size_t)rc + 1);
		out->len = (size_t)rc;
		return 0;
	case HKV_TYPE_LIST:
		if ((id->elen == 6 && !memcmp(id->elem, HKVFS_LIST_APPEND, 6)) ||
		    (id->elen == 7 && !memcmp(id->elem, HKVFS_LIST_PREPEND, 7)))
			return 0;
		if (hkvfs_index_parse(id->elem, id->elen, &idx))
			return -ENOENT;
		return hkvfs_be_lindex(be, id->key, id->klen, idx, out);
	case HKV_TYPE_STREAM:
		return stream_entry_get(be, id, out);
	default:
		return -ENOENT;
	}
}

bool hkvfs_list_push_name(const struct hkvfs_ident *id, bool *tail)
{
	if (id->elen == 6 && !memcmp(id->elem, HKVFS_LIST_APPEND, 6)) {
		*tail = true;
		return true;
	}
	if (id->elen == 7 && !memcmp(id->elem, HKVFS_LIST_PREPEND, 7)) {
		*tail = false;
		return true;
	}
	return false;
}

/* store @data as the whole content of element @id */
int hkvfs_elem_put(struct hkvfs_be *be, const struct hkvfs_ident *id, enum hkv_type type,
		   const void *data, size_t len, const struct hkv_create_attr *ca)
{
	int64_t idx, n;
	bool tail;
	double s;
	int rc;

	if (type == HKV_TYPE_STREAM) {
		HLOG_WARN("write into a stream entry refused: streams are read-only through the "
			  "mount (EPERM)");
		return -EPERM;
	}
	switch (type) {
	case HKV_TYPE_HASH:
		rc = hkvfs_be_hset(be, id->key, id->klen, id->elem, id->elen, data, len, ca);
		return rc < 0 ? rc : 0;
	case HKV_TYPE_SET:
		if (len) {
			HLOG_WARN("write of %zu bytes into a set member refused (EINVAL)", len);
			return -EINVAL;
		}
		rc = hkvfs_be_sadd(be, id->key, id->klen, id->elem, id->elen, ca);
		return rc < 0 ? rc : 0;
	case HKV_TYPE_ZSET:
		if (score_parse(data, len, &s)) {
			HLOG_WARN("invalid score '%.*s' for a zset member (EINVAL)",
				 (int)(len > 40 ? 40 : len), (const char *)data);
			return -EINVAL;
		}
		rc = hkvfs_be_zadd(be, id->key, id->klen, s, id->elem, id->elen, 0, NULL, ca);
		return rc < 0 ? rc : 0;
	case HKV_TYPE_LIST:
		if (hkvfs_list_push_name(id, &tail)) {
			n = tail ? hkvfs_be_rpush(be, id->key, id->klen, data, len, ca)
				 : hkvfs_be_lpush(be, id->key, id->klen, data, len, ca);
			return n < 0 ? (int)n : 0;
		}
		if (hkvfs_index_parse(id->elem, id->elen, &idx))
			return -EINVAL;
		rc = hkvfs_be_lset(be, id->key, id->klen, idx, data, len);
		return rc == -ERANGE ? -ENOENT : rc;
	default:
		return -EINVAL;
	}
}
