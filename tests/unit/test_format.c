// SPDX-License-Identifier: MIT
/*
 * test_format.c - the documented on-disk formats, byte for byte. The expected bytes are built
 * here from the tables in docs/engine.md, docs/engine-storage.md and the design comments of
 * keys.c, coll.c and vlog.c, with explicit little- and big-endian writes that do not use the
 * engine's helpers, and compared with what the engine writes; and records built the same way
 * and put into a store's index by hand must read back through the public API. The index is
 * read with raw LMDB calls after the store is closed, so the test sees exactly what is on
 * disk (LMDB's own page layout is host-endian; the records inside it are ours).
 *
 * The fixture is fixed: a manual clock, fixed keys, values and attributes. Only the secret
 * hash key is random; it is read back from the info table and the long field's name is
 * computed from it with SipHash-2-4-128 (checked against the reference vectors in
 * test_longkey.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <lmdb.h>

#include "testutil.h"
#include "hkv_int.h"

#define T0 1700000000123ll /* the fixture's clock, Unix ms */

struct fixture {
	char *dir;
	struct hkv_options opt;
	struct test_clock clk;
	struct hkv *db;
	MDB_env *env;
	MDB_txn *txn;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_mkdtemp("format");
	assert_non_null(f->dir);
	f->clk.now = T0;
	test_options(&f->opt, &f->clk);
	f->opt.inline_max = 16;
	f->opt.compress = false;
	*state = f;
	return 0;
}

static void raw_close(struct fixture *f)
{
	if (f->txn)
		mdb_txn_abort(f->txn);
	f->txn = NULL;
	if (f->env)
		mdb_env_close(f->env);
	f->env = NULL;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	raw_close(f);
	hkv_close(f->db);
	test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Open the closed store's index with plain LMDB calls (read-only, or writable). */
static void raw_open(struct fixture *f, bool write)
{
	char *path;

	assert_true(asprintf(&path, "%s/index", f->dir) > 0);
	assert_int_equal(mdb_env_create(&f->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(f->env, 16), 0);
	assert_int_equal(mdb_env_set_mapsize(f->env, f->opt.map_size), 0);
	assert_int_equal(mdb_env_open(f->env, path, write ? 0 : MDB_RDONLY, 0644), 0);
	assert_int_equal(mdb_txn_begin(f->env, NULL, write ? 0 : MDB_RDONLY, &f->txn), 0);
	free(path);
}

static MDB_dbi raw_dbi(struct fixture *f, const char *name)
{
	MDB_dbi dbi;

	assert_int_equal(mdb_dbi_open(f->txn, name, 0, &dbi), 0);
	return dbi;
}

/* The value stored under @k (@klen bytes) in table @name; fails the test if absent. */
static MDB_val raw_get(struct fixture *f, const char *name, const void *k, size_t klen)
{
	MDB_val key = { klen, (void *)k }, v;

	assert_int_equal(mdb_get(f->txn, raw_dbi(f, name), &key, &v), 0);
	return v;
}

static void raw_put(struct fixture *f, const char *name, const void *k, size_t klen,
		    const void *v, size_t vlen)
{
	MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };

	assert_int_equal(mdb_put(f->txn, raw_dbi(f, name), &key, &val, 0), 0);
}

/* Explicit byte orders, written out here so that the test does not trust the engine's. */
static unsigned char *le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return p + n;
}

static unsigned char *be(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	return p + n;
}

static uint64_t rd_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The sortable encodings of coll.c: i64 with the sign bit flipped; doubles as documented. */
static unsigned char *be_sortable_i64(unsigned char *p, int64_t v)
{
	return be(p, (uint64_t)v ^ (1ull << 63), 8);
}

static unsigned char *be_sortable_double(unsigned char *p, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, 8);
	bits = bits >> 63 ? ~bits : bits | 1ull << 63;
	return be(p, bits, 8);
}

/*
 * A key record in the fixed layout of formats 1 and 2 (still read by format 3). @rest: what
 * follows the 80-byte header (full key, inline value or value-log reference).
 * Return: its length.
 */
static size_t krec(unsigned char *out, unsigned type, unsigned flags, unsigned kl,
		   uint32_t mode, uint32_t uid, uint32_t gid, uint64_t id, uint64_t version,
		   int64_t mtime_ns, int64_t ctime_ns, int64_t expire_at, uint64_t size,
		   int64_t head, int64_t tail, const void *rest, size_t restlen)
{
	unsigned char *p = out;

	*p++ = (unsigned char)type;
	*p++ = (unsigned char)flags;
	p = le(p, kl, 2);
	p = le(p, mode, 4);
	p = le(p, uid, 4);
	p = le(p, gid, 4);
	p = le(p, id, 8);
	p = le(p, version, 8);
	p = le(p, (uint64_t)mtime_ns, 8);
	p = le(p, (uint64_t)ctime_ns, 8);
	p = le(p, (uint64_t)expire_at, 8);
	p = le(p, size, 8);
	p = le(p, (uint64_t)head, 8);
	p = le(p, (uint64_t)tail, 8);
	assert_int_equal(p - out, 80);
	memcpy(p, rest, restlen);
	return 80 + restlen;
}

/* Unsigned LEB128, and zigzag for signed values, written out here as hkv_int.h documents. */
static unsigned char *uleb(unsigned char *p, uint64_t v)
{
	do {
		*p = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			*p |= 0x80;
		p++;
	} while (v);
	return p;
}

static unsigned char *sleb(unsigned char *p, int64_t v)
{
	return uleb(p, v < 0 ? 2 * (~(uint64_t)v) + 1 : 2 * (uint64_t)v);
}

/*
 * A key record in the varint layout (format 3): type, flags | 0x08, then the varints in the
 * documented order, then @rest (full key, inline value or value-log reference).
 * Return: its length.
 */
static size_t krecv(unsigned char *out, unsigned type, unsigned flags, unsigned kl,
		    uint32_t mode, uint32_t uid, uint32_t gid, uint64_t id, uint64_t version,
		    int64_t mtime_ns, int64_t ctime_ns, int64_t expire_at, uint64_t size,
		    int64_t head, int64_t tail, const void *rest, size_t restlen)
{
	unsigned char *p = out;

	*p++ = (unsigned char)type;
	*p++ = (unsigned char)(flags | 0x08);
	if (flags & KF_LONGKEY)
		p = uleb(p, kl);
	p = uleb(p, mode);
	p = uleb(p, uid);
	p = uleb(p, gid);
	p = uleb(p, id);
	p = uleb(p, version);
	p = sleb(p, mtime_ns);
	p = sleb(p, ctime_ns - mtime_ns);
	p = sleb(p, expire_at);
	p = uleb(p, size);
	p = sleb(p, head);
	p = sleb(p, tail);
	memcpy(p, rest, restlen);
	return (size_t)(p - out) + restlen;
}

static void attr(struct hkv *db, const char *key, size_t klen, struct hkv_attr *a)
{
	assert_int_equal(hkv_attr_get(db, key, klen, a), 0);
}

/* What the engine writes, compared with the documented layout. */
static void test_written_bytes(void **state)
{
	struct fixture *f = *state;
	const struct hkv_create_attr ca = { .mode = 0640, .uid = 1000, .gid = 1001 };
	const struct hkv_set_opts so = { .ca = &ca };
	struct hkv_attr ak, abig, ah, ahl, al, az;
	unsigned char exp[8192], big[100], field[500], *p;
	unsigned char seghdr[24], *seg;
	MDB_val v;
	size_t n;
	char *path;
	int fd;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 1);
	memset(field, 'f', sizeof(field));
	field[sizeof(field) - 1] = 'F';
	f->db = test_open(f->dir, &f->opt);
	assert_int_equal(hkv_set(f->db, "k", 1, "hello", 5, &so), 1);
	assert_int_equal(hkv_pexpireat(f->db, "k", 1, T0 + 5000, 0), 1);
	assert_int_equal(hkv_set(f->db, "big", 3, big, sizeof(big), &so), 1);
	hkv_hash_limits(f->db, 128, 4096);
	assert_int_equal(hkv_hset(f->db, "h", 1, field, sizeof(field), "v", 1, &ca), 1);
	hkv_hash_limits(f->db, 128, 64);
	assert_int_equal(hkv_hset(f->db, "hl", 2, "f", 1, big, sizeof(big), &ca), 1);
	assert_int_equal(hkv_rpush(f->db, "l", 1, "e1", 2, &ca), 1);
	assert_int_equal(hkv_zadd(f->db, "z", 1, -2.5, "m", 1, 0, NULL, &ca), 1);
	attr(f->db, "k", 1, &ak);
	attr(f->db, "big", 3, &abig);
	attr(f->db, "h", 1, &ah);
	attr(f->db, "hl", 2, &ahl);
	attr(f->db, "l", 1, &al);
	attr(f->db, "z", 1, &az);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	raw_open(f, false);

	/* info: format 4, a 16-byte hash key, counter reservations at or above what was used */
	v = raw_get(f, "info", "format", 6);
	assert_int_equal(v.mv_size, 8);
	assert_int_equal(rd_le(v.mv_data, 8), 4);
	v = raw_get(f, "info", "version", 7);
	assert_int_equal(v.mv_size, 8);
	assert_true(rd_le(v.mv_data, 8) >= az.version);
	v = raw_get(f, "info", "next_id", 7);
	assert_true(rd_le(v.mv_data, 8) > az.id);
	v = raw_get(f, "info", "hashkey", 7);
	assert_int_equal(v.mv_size, 16);
	uint64_t hk[2] = { rd_le(v.mv_data, 8), rd_le((unsigned char *)v.mv_data + 8, 8) };

	/* an inline string with an expiry */
	n = krecv(exp, HKV_TYPE_STRING, KF_INLINE, 0, 0640, 1000, 1001, ak.id, ak.version,
		 T0 * 1000000, T0 * 1000000, T0 + 5000, 5, 0, 0, "hello", 5);
	v = raw_get(f, "keys", "k", 1);
	assert_int_equal(v.mv_size, n);
	assert_memory_equal(v.mv_data, exp, n);
	p = be(exp, (uint64_t)(T0 + 5000), 8);
	*p++ = 'k';
	v = raw_get(f, "exp", exp, 9);
	assert_int_equal(v.mv_size, 0);

	/* a string in the value log: the reference, then the record it names */
	v = raw_get(f, "keys", "big", 3);
	assert_true(v.mv_size > 24);
	{
		const unsigned char *r = (const unsigned char *)v.mv_data + v.mv_size - 24;
		uint32_t sid = (uint32_t)rd_le(r, 4), rlen = (uint32_t)rd_le(r + 4, 4);
		uint64_t off = rd_le(r + 8, 8), vlen = rd_le(r + 16, 8);
		unsigned char ref[24];

		assert_int_equal(rlen, 24 + 3 + sizeof(big));
		assert_int_equal(vlen, sizeof(big));
		le(le(le(le(ref, sid, 4), rlen, 4), off, 8), vlen, 8);
		n = krecv(exp, HKV_TYPE_STRING, KF_VLOG, 0, 0640, 1000, 1001, abig.id,
			 abig.version, T0 * 1000000, T0 * 1000000, 0, sizeof(big), 0, 0, ref, 24);
		assert_int_equal(v.mv_size, n);
		assert_memory_equal(v.mv_data, exp, n);

		/* segment record: "HKVR", CRC-32 of bytes 8.., flags, 0, klen, vlen, slen */
		p = seghdr;
		memcpy(p, "HKVR", 4);
		memset(p + 8, 0, 4);
		le(p + 12, 3, 4);
		le(p + 16, sizeof(big), 4);
		le(p + 20, sizeof(big), 4);
		uLong crc = crc32(0, seghdr + 8, 16);

		crc = crc32(crc, (const Bytef *)"big", 3);
		crc = crc32(crc, big, sizeof(big));
		le(p + 4, crc, 4);
		assert_true(asprintf(&path, "%s/vlog/%08x.seg", f->dir, sid) > 0);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		seg = malloc(rlen);
		assert_non_null(seg);
		assert_int_equal(pread(fd, seg, rlen, (off_t)off), (ssize_t)rlen);
		close(fd);
		free(path);
		assert_memory_equal(seg, seghdr, 24);
		assert_memory_equal(seg + 24, "big", 3);
		assert_memory_equal(seg + 27, big, sizeof(big));
		free(seg);

		/* its segment's accounting: live, records, committed end, flags, reserved */
		be(exp, sid, 4);
		v = raw_get(f, "segs", exp, 4);
		assert_int_equal(v.mv_size, 32);
		p = le(le(le(exp, rlen, 8), 1, 8), off + rlen, 8);
		le(le(p, 0, 4), 0, 4);
		assert_memory_equal(v.mv_data, exp, 32);
	}

	/*
	 * a hash with a long field: id + prefix + SipHash-128 (BE) -> u16 length + field +
	 * sequence number (LEB128 varint: 0 is one byte 0) + value; the key record's head holds
	 * the hash flags (1: fields
	 * carry a sequence number; 2, a hash beyond the limits, not here: the field is 500 bytes
	 * but the store's limits were raised), its tail the next sequence number
	 */
	{
		uint64_t h[2];
		unsigned char k[8 + 448 + 16];

		p = be(k, ah.id, 8);
		memcpy(p, field, 448);
		siphash24_128(hk, field, sizeof(field), h);
		be(be(p + 448, h[0], 8), h[1], 8);
		v = raw_get(f, "elems", k, sizeof(k));
		p = le(exp, sizeof(field), 2);
		memcpy(p, field, sizeof(field));
		p = le(p + sizeof(field), 0, 1);
		*p = 'v';
		assert_int_equal(v.mv_size, 2 + sizeof(field) + 1 + 1);
		assert_memory_equal(v.mv_data, exp, v.mv_size);
		n = krecv(exp, HKV_TYPE_HASH, 0, 0, 0640, 1000, 1001, ah.id, ah.version,
			  T0 * 1000000, T0 * 1000000, 0, 1, 1, 1, "", 0);
		v = raw_get(f, "keys", "h", 1);
		assert_int_equal(v.mv_size, n);
		assert_memory_equal(v.mv_data, exp, n);
	}

	/* a hash beyond the limits (a 100-byte value, limit 64): flags 1 | 2, sequence 0 */
	n = krecv(exp, HKV_TYPE_HASH, 0, 0, 0640, 1000, 1001, ahl.id, ahl.version,
		  T0 * 1000000, T0 * 1000000, 0, 1, 3, 1, "", 0);
	v = raw_get(f, "keys", "hl", 2);
	assert_int_equal(v.mv_size, n);
	assert_memory_equal(v.mv_data, exp, n);
	p = be(exp, ahl.id, 8);
	*p = 'f';
	v = raw_get(f, "elems", exp, 9);
	p = le(exp, 0, 1);
	memcpy(p, big, sizeof(big));
	assert_int_equal(v.mv_size, 1 + sizeof(big));
	assert_memory_equal(v.mv_data, exp, v.mv_size);

	/* a list of one element: head 0, tail 1, the element at index 0 */
	n = krecv(exp, HKV_TYPE_LIST, 0, 0, 0640, 1000, 1001, al.id, al.version, T0 * 1000000,
		 T0 * 1000000, 0, 1, 0, 1, "", 0);
	v = raw_get(f, "keys", "l", 1);
	assert_int_equal(v.mv_size, n);
	assert_memory_equal(v.mv_data, exp, n);
	be_sortable_i64(be(exp, al.id, 8), 0);
	v = raw_get(f, "elems", exp, 16);
	assert_int_equal(v.mv_size, 2);
	assert_memory_equal(v.mv_data, "e1", 2);

	/* a sorted set: elems id + member -> score; zidx id + score + member -> empty */
	p = be(exp, az.id, 8);
	*p = 'm';
	v = raw_get(f, "elems", exp, 9);
	be_sortable_double(exp + 100, -2.5);
	assert_int_equal(v.mv_size, 8);
	assert_memory_equal(v.mv_data, exp + 100, 8);
	p = be_sortable_double(be(exp, az.id, 8), -2.5);
	*p = 'm';
	v = raw_get(f, "zidx", exp, 17);
	assert_int_equal(v.mv_size, 0);
}

struct hcat {
	char s[64];
	size_t n;
};

static int hcat_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct hcat *h = arg;

	assert_true(h->n + alen + blen + 3 < sizeof(h->s));
	h->n += (size_t)sprintf(h->s + h->n, "%s%.*s=%.*s", h->n ? "," : "", (int)alen,
				(const char *)a, (int)blen, (const char *)b);
	return 0;
}

static void expect_fields(struct hkv *db, const char *key, const char *want)
{
	struct hcat h = { "", 0 };

	assert_int_equal(hkv_hgetall(db, key, strlen(key), hcat_cb, &h), 0);
	assert_string_equal(h.s, want);
}

/* The hand-built hashes of test_read_hand_built(): the old layout, and sequence order. */
static void hash_order_check(struct fixture *f)
{
	struct hkv_attr a3;
	struct hkv_buf b;
	MDB_val v;

	/* format 2's hash: byte order, values whole; it takes writes and keeps its layout */
	assert_int_equal(hkv_hsmall(f->db, "h2", 2), 0);
	expect_fields(f->db, "h2", "x=x,y=vy,z=z");
	assert_int_equal(hkv_hget(f->db, "h2", 2, "y", 1, &b), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "vy", 2);
	hkv_buf_release(&b);
	assert_int_equal(hkv_hset(f->db, "h2", 2, "a", 1, "new", 3, NULL), 1);
	assert_int_equal(hkv_hset(f->db, "h2", 2, "z", 1, "Z", 1, NULL), 0);
	expect_fields(f->db, "h2", "a=new,x=x,y=vy,z=Z");
	/* the sequence numbers order the format-3 hash; a new field takes the record's tail */
	assert_int_equal(hkv_hsmall(f->db, "h3", 2), 1);
	expect_fields(f->db, "h3", "c=C,a=A,b=B");
	assert_int_equal(hkv_hset(f->db, "h3", 2, "0", 1, "N", 1, NULL), 1);
	expect_fields(f->db, "h3", "c=C,a=A,b=B,0=N");
	/* until emptied: then the old hash takes the new layout */
	for (const char *p = "axyz"; *p; p++)
		assert_int_equal(hkv_hdel(f->db, "h2", 2, p, 1), 1);
	assert_int_equal(hkv_hset(f->db, "h2", 2, "q", 1, "1", 1, NULL), 1);
	assert_int_equal(hkv_hset(f->db, "h2", 2, "p", 1, "2", 1, NULL), 1);
	assert_int_equal(hkv_hsmall(f->db, "h2", 2), 1);
	expect_fields(f->db, "h2", "q=1,p=2");
	attr(f->db, "h3", 2, &a3);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	/* the store was upgraded to format 4; h3's tail moved past the new field's 301, which
	 * is stored as the varint ad 02 */
	raw_open(f, false);
	v = raw_get(f, "info", "format", 6);
	assert_int_equal(rd_le(v.mv_data, 8), 4);
	v = raw_get(f, "keys", "h3", 2);
	{
		unsigned char k0[9], want[3] = { 0xad, 0x02, 'N' }, rec[64];
		size_t n;

		/* rewritten in the varint layout: head 1 (the flags), tail 302 */
		n = krecv(rec, HKV_TYPE_HASH, 0, 0, 0644, 0, 0, 1003, a3.version, a3.mtime_ns,
			  a3.ctime_ns, 0, 4, 1, 302, "", 0);
		assert_int_equal(v.mv_size, n);
		assert_memory_equal(v.mv_data, rec, n);

		*be(k0, 1003, 8) = '0';
		v = raw_get(f, "elems", k0, 9);
		assert_int_equal(v.mv_size, 3);
		assert_memory_equal(v.mv_data, want, 3);
	}
	raw_close(f);
	f->db = test_open(f->dir, &f->opt);
}

/* Records built from the documented layout and put into the index by hand read back. */
static void test_read_hand_built(void **state)
{
	struct fixture *f = *state;
	unsigned char rec[256], k[64], *p;
	struct hkv_buf b;
	struct hkv_attr a;
	double score;
	size_t n;

	/* a store with its tables and counters, then records written around the engine */
	f->db = test_open(f->dir, &f->opt);
	assert_int_equal(hkv_close(f->db), 0);
	f->db = NULL;
	raw_open(f, true);
	n = krec(rec, HKV_TYPE_STRING, KF_INLINE, 0, 0600, 7, 8, 1000, 77,
		 (T0 - 5) * 1000000, (T0 - 4) * 1000000, T0 + 60000, 3, 0, 0, "abc", 3);
	raw_put(f, "keys", "hand", 4, rec, n);
	p = be(k, (uint64_t)(T0 + 60000), 8);
	memcpy(p, "hand", 4);
	raw_put(f, "exp", k, 12, "", 0);
	n = krec(rec, HKV_TYPE_ZSET, 0, 0, 0644, 0, 0, 1001, 78, T0 * 1000000, T0 * 1000000,
		 0, 2, 0, 0, "", 0);
	raw_put(f, "keys", "zz", 2, rec, n);
	/* the varint layout, with a negative mtime, a ctime before it and a list's indices */
	n = krecv(rec, HKV_TYPE_STRING, KF_INLINE, 0, 0100644, 70000, 4000000000u, 1ull << 40,
		  (1ull << 62) + 5, -1234567891234ll, -1234567891235ll, 0, 4, 0, 0, "wxyz", 4);
	raw_put(f, "keys", "vhand", 5, rec, n);
	n = krecv(rec, HKV_TYPE_LIST, 0, 0, 0700, 0, 0, 1010, 81, T0 * 1000000,
		  T0 * 1000000, 0, 0, -300, -300, "", 0);
	raw_put(f, "keys", "vlist", 5, rec, n);
	/* damaged varint headers: cut short, a varint that never ends, one over 64 bits */
	n = krecv(rec, HKV_TYPE_STRING, KF_INLINE, 0, 0644, 1, 1, 1011, 82, T0 * 1000000,
		  T0 * 1000000, 0, 2, 0, 0, "ok", 2);
	raw_put(f, "keys", "cut", 3, rec, 9);
	memset(rec + 2, 0xff, 40);
	raw_put(f, "keys", "endless", 7, rec, 42);
	memset(rec + 2, 0xff, 9);
	rec[11] = 0x7f;
	raw_put(f, "keys", "wide", 4, rec, n);
	for (int i = 0; i < 2; i++) {
		double sc = i ? 1e300 : -0.25;
		const char *m = i ? "y" : "x";

		p = be(k, 1001, 8);
		*p = (unsigned char)m[0];
		be_sortable_double(rec, sc);
		raw_put(f, "elems", k, 9, rec, 8);
		p = be_sortable_double(be(k, 1001, 8), sc);
		*p = (unsigned char)m[0];
		raw_put(f, "zidx", k, 17, "", 0);
	}
	/*
	 * a hash as format 2 wrote it (head and tail 0, values without a sequence number), in a
	 * store marked format 2; and a hash of format 3 whose sequence numbers are not in field
	 * byte order
	 */
	n = krec(rec, HKV_TYPE_HASH, 0, 0, 0644, 0, 0, 1002, 79, T0 * 1000000, T0 * 1000000,
		 0, 3, 0, 0, "", 0);
	raw_put(f, "keys", "h2", 2, rec, n);
	for (int i = 0; i < 3; i++) {
		static const char *const val[] = { "vy", "x", "z" };

		p = be(k, 1002, 8);
		*p = (unsigned char)("yxz"[i]);
		raw_put(f, "elems", k, 9, val[i], strlen(val[i]));
	}
	n = krec(rec, HKV_TYPE_HASH, 0, 0, 0644, 0, 0, 1003, 80, T0 * 1000000, T0 * 1000000,
		 0, 3, 1, 301, "", 0);
	raw_put(f, "keys", "h3", 2, rec, n);
	for (int i = 0; i < 3; i++) {
		p = be(k, 1003, 8);
		*p = (unsigned char)("abc"[i]);
		/* c (2), b (300: varint ac 02), a (8) */
		p = rec;
		if (i == 1) {
			*p++ = 0xac;
			*p++ = 0x02;
		} else {
			*p++ = (unsigned char)(8 - 3 * i);
		}
		*p++ = (unsigned char)("ABC"[i]);
		raw_put(f, "elems", k, 9, rec, (size_t)(p - rec));
	}
	p = le(rec, 2, 8);
	raw_put(f, "info", "format", 6, rec, 8);
	assert_int_equal(mdb_txn_commit(f->txn), 0);
	f->txn = NULL;
	raw_close(f);

	f->db = test_open(f->dir, &f->opt);
	hash_order_check(f);
	assert_int_equal(hkv_get(f->db, "hand", 4, &b), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "abc", 3);
	hkv_buf_release(&b);
	attr(f->db, "hand", 4, &a);
	assert_int_equal(a.type, HKV_TYPE_STRING);
	assert_int_equal(a.mode, 0600);
	assert_int_equal(a.uid, 7);
	assert_int_equal(a.gid, 8);
	assert_int_equal(a.id, 1000);
	assert_int_equal(a.version, 77);
	assert_int_equal(a.mtime_ns, (T0 - 5) * 1000000);
	assert_int_equal(a.ctime_ns, (T0 - 4) * 1000000);
	assert_int_equal(a.expire_at, T0 + 60000);
	assert_int_equal(a.size, 3);
	assert_int_equal(hkv_pttl(f->db, "hand", 4), 60000);
	assert_int_equal(hkv_get(f->db, "vhand", 5, &b), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "wxyz", 4);
	hkv_buf_release(&b);
	attr(f->db, "vhand", 5, &a);
	assert_int_equal(a.type, HKV_TYPE_STRING);
	assert_int_equal(a.mode, 0100644);
	assert_int_equal(a.uid, 70000);
	assert_int_equal(a.gid, 4000000000u);
	assert_int_equal(a.id, 1ull << 40);
	assert_int_equal(a.version, (1ull << 62) + 5);
	assert_int_equal(a.mtime_ns, -1234567891234ll);
	assert_int_equal(a.ctime_ns, -1234567891235ll);
	assert_int_equal(a.expire_at, 0);
	assert_int_equal(hkv_get(f->db, "cut", 3, &b), -HKV_ECORRUPT);
	assert_int_equal(hkv_get(f->db, "endless", 7, &b), -HKV_ECORRUPT);
	assert_int_equal(hkv_get(f->db, "wide", 4, &b), -HKV_ECORRUPT);
	assert_int_equal(hkv_llen(f->db, "vlist", 5), 0);
	assert_int_equal(hkv_rpush(f->db, "vlist", 5, "e", 1, NULL), 1);
	assert_int_equal(hkv_llen(f->db, "vlist", 5), 1);
	assert_int_equal(hkv_zcard(f->db, "zz", 2), 2);
	assert_int_equal(hkv_zscore(f->db, "zz", 2, "x", 1, &score), 0);
	assert_true(score == -0.25);
	assert_int_equal(hkv_zscore(f->db, "zz", 2, "y", 1, &score), 0);
	assert_true(score == 1e300);
	assert_int_equal(hkv_zrank(f->db, "zz", 2, "y", 1, false), 1);
	/* the active sweep finds the hand-made exp entry when the time comes */
	f->clk.now = T0 + 60000;
	assert_int_equal(hkv_expire_cycle(f->db, 10), 1);
	assert_int_equal(hkv_exists(f->db, "hand", 4), 0);
	/* the list pushed to above was rewritten in the varint layout, at its new tail */
	{
		MDB_val v;
		unsigned char exp[64];
		struct hkv_attr al;
		size_t n;

		attr(f->db, "vlist", 5, &al);
		assert_int_equal(hkv_close(f->db), 0);
		f->db = NULL;
		raw_open(f, false);
		v = raw_get(f, "info", "format", 6);
		assert_int_equal(rd_le(v.mv_data, 8), 4);
		n = krecv(exp, HKV_TYPE_LIST, 0, 0, 0700, 0, 0, 1010, al.version, al.mtime_ns,
			  al.ctime_ns, 0, 1, -300, -299, "", 0);
		v = raw_get(f, "keys", "vlist", 5);
		assert_int_equal(v.mv_size, n);
		assert_memory_equal(v.mv_data, exp, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_hand_built, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
