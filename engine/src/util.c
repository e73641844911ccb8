// SPDX-License-Identifier: MIT
/*
 * util.c - small pure helpers of the public interface: error strings, type and sync-policy
 * names, option defaults, buffers, cursors and the key encoding (ekey).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hkv_int.h"

const char *hkv_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case HKV_EWRONGTYPE:
		return "WRONGTYPE Operation against a key holding the wrong kind of value";
	case HKV_ENOTINT:
		return "value is not an integer or out of range";
	case HKV_ENOTFLOAT:
		return "value is not a valid float";
	case HKV_ECORRUPT:
		return "stored data failed its checksum or is malformed";
	case HKV_EFORMAT:
		return "store was written by an unknown or newer format version";
	case HKV_ENOSCORE:
		return "resulting score is not a number (NaN)";
	case HKV_ESTOPPED:
		return "store takes no more writes after a failed flush; reopen it";
	case EBUSY:
		return "store in use by another process";
	case EFBIG:
		return "value too large (limit 512 MiB)";
	}
	if (err >= HKV_ERRBASE)
		return "unknown engine error";
	return strerror(err);
}

static const char *const type_names[] = {
	[HKV_TYPE_NONE] = "none", [HKV_TYPE_STRING] = "string", [HKV_TYPE_HASH] = "hash",
	[HKV_TYPE_LIST] = "list", [HKV_TYPE_SET] = "set",       [HKV_TYPE_ZSET] = "zset",
	[HKV_TYPE_STREAM] = "stream",
};

const char *hkv_type_name(enum hkv_type type)
{
	if ((unsigned)type >= sizeof(type_names) / sizeof(type_names[0]))
		return "none";
	return type_names[type];
}

enum hkv_type hkv_type_parse(const char *name, size_t len)
{
	for (unsigned t = HKV_TYPE_STRING; t <= HKV_TYPE_STREAM; t++)
		if (strlen(type_names[t]) == len && !memcmp(type_names[t], name, len))
			return (enum hkv_type)t;
	return HKV_TYPE_NONE;
}

int hkv_sync_parse(const char *s, enum hkv_sync *out)
{
	if (!strcmp(s, "always"))
		*out = HKV_SYNC_ALWAYS;
	else if (!strcmp(s, "everysec"))
		*out = HKV_SYNC_EVERYSEC;
	else if (!strcmp(s, "none"))
		*out = HKV_SYNC_NONE;
	else
		return -EINVAL;
	return 0;
}

void hkv_options_init(struct hkv_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->sync = HKV_SYNC_EVERYSEC;
	opt->inline_max = 4096;
	opt->compress = false;
	opt->compress_level = 1;
	opt->segment_size = 64ull << 20;
	opt->compact_dead_pct = 50;
	opt->compact_min_bytes = 1ull << 20;
	opt->bg_interval_ms = 100;
	opt->map_size = 64ull << 30;
	opt->create = true;
	/*
	 * A checkpoint of random keys rewrites most leaf pages it touches whatever their number
	 * of changed records, so its cost per record falls as the memtable grows: at 1M keys
	 * 64 MiB halves it against 32 MiB and a crash leaves about 0.2 s to replay
	 * (docs/benchmarks.md, "Key order built lazily, and a 64 MiB memtable").
	 */
	opt->ckpt_bytes = 64ull << 20;
	opt->ckpt_interval_ms = 2000;
	opt->mode = 0644;
	opt->uid = getuid();
	opt->gid = getgid();
}

void hkv_buf_release(struct hkv_buf *buf)
{
	if (!buf)
		return;
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
}

void hkv_cursor_init(struct hkv_cursor *cur)
{
	cur->done = false;
	cur->len = 0;
}

void hkv_cursor_encode(const struct hkv_cursor *cur, char *out)
{
	static const char hex[] = "0123456789abcdef";

	if (cur->done || !cur->len) {
		strcpy(out, "0");
		return;
	}
	/* "c" + hex keeps "0" unambiguous as the start/end token */
	*out++ = 'c';
	for (uint32_t i = 0; i < cur->len; i++) {
		*out++ = hex[cur->pos[i] >> 4];
		*out++ = hex[cur->pos[i] & 15];
	}
	*out = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hkv_cursor_decode(const char *s, struct hkv_cursor *cur)
{
	size_t n;

	hkv_cursor_init(cur);
	if (!strcmp(s, "0"))
		return 0;
	if (*s != 'c')
		return -EINVAL;
	s++;
	n = strlen(s);
	if (!n || n % 2 || n / 2 > HKV_CURSOR_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		cur->pos[i] = (unsigned char)(hi << 4 | lo);
	}
	cur->len = (uint32_t)(n / 2);
	return 0;
}

/*
 * The unkeyed hash that stores created by format 1 use for long strings (no "hashkey" record):
 * each 8-byte word through the splitmix64 finaliser, two seeds for 128 bits. Kept so that
 * those stores stay readable; new stores use SipHash under their own key.
 */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t legacy_hash64(const unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t h = mix64(seed ^ len);
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = mix64(h ^ w) + 0x9e3779b97f4a7c15ull;
	}
	if (i < len) {
		uint64_t w = 0;

		memcpy(&w, p + i, len - i);
		h = mix64(h ^ w ^ ((uint64_t)(len - i) << 56));
	}
	return mix64(h);
}

void (*ekey_test_hash)(unsigned char hash[EKEY_HASH], const void *s, size_t len);

/*
 * A long string is named by its first EKEY_SHORT bytes and SipHash-2-4-128 of all of it under
 * the store's secret key (db->hkey), stored big-endian. Lookups still compare the full bytes
 * stored in the record (keys.c, coll.c); the secret only makes a collision impossible to build
 * on purpose (without it, anyone able to name keys could make two of them share a slot).
 */
bool ekey_make(const struct hkv *db, struct ekey *ek, const void *s, size_t len)
{
	uint64_t h[2];

	ek->src = s;
	ek->srclen = len;
	if (len <= EKEY_SHORT) {
		memcpy(ek->b, s, len);
		ek->len = len;
		return false;
	}
	memcpy(ek->b, s, EKEY_SHORT);
	if (db->hkey_legacy) {
		h[0] = legacy_hash64(s, len, 0x686b7631);
		h[1] = legacy_hash64(s, len, 0x6b657973);
	} else {
		siphash24_128(db->hkey, s, len, h);
	}
	put_be64(ek->b + EKEY_SHORT, h[0]);
	put_be64(ek->b + EKEY_SHORT + 8, h[1]);
	if (ekey_test_hash)
		ekey_test_hash(ek->b + EKEY_SHORT, s, len);
	ek->len = EKEY_LONG;
	return true;
}
