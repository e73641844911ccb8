/* SPDX-License-Identifier: MIT */
/*
 * hkv_int.h - private interface shared by the engine's source files.
 *
 * The store directory:
 *
 *   DIR/LOCK           flock()ed exclusively by the one process that has the store open
 *   DIR/index/         the LMDB environment (data.mdb, lock.mdb)
 *   DIR/vlog/NNNNNNNN.seg   value-log segments (see vlog.c)
 *
 * LMDB named databases:
 *
 *   name     key                                   value
 *   -------  ------------------------------------  -------------------------------------
 *   info     ASCII name                            "format" (u64), "hashkey" (16 bytes:
 *                                                  the SipHash key, two u64), reservations
 *                                                  (wtx.c) of "version" and "next_id" (u64)
 *   keys     ekey(user key)                        key record (below)
 *   elems    id(8 BE) + ekey(field or member)      elem record: [member if long] + payload
 *            id(8 BE) + index(8, sortable i64)     list element bytes
 *   zidx     id(8 BE) + score(8, sortable) +       empty: the score order of a zset
 *            ekey(member)
 *   exp      expire_at(8 BE) + ekey(user key)      empty: keys in order of expiry
 *   xattr    id(8 BE) + name                       value
 *   segs     segment id (4 BE)                     struct seg_rec (vlog.c)
 *
 * ekey: a byte string of up to EKEY_SHORT (= HKV_ORDER_PREFIX) bytes is its own encoding.
 * A longer one is encoded as its first EKEY_SHORT bytes followed by the 16-byte SipHash-2-4-128
 * of the whole string under the store's secret key (info "hashkey", drawn at creation;
 * big-endian), EKEY_LONG bytes in all; since no short encoding has that length, the two never
 * collide. The full bytes are then stored in the record (keys: after the header; elems: a u16
 * length and the bytes before the payload), and every lookup compares them with the string
 * asked for: a record of another string under the same encoding means "absent", and a write
 * that would replace it fails with -EEXIST. Order is bytewise over the first EKEY_SHORT bytes,
 * then by hash. (A store created by format 1 has no "hashkey" and keeps the unkeyed hash it
 * was written with: util.c.)
 *
 * Key record. Two layouts, told apart by KF_VARINT in the flags byte; both are read, format 3
 * writes only the second.
 *
 * Fixed layout (formats 1 and 2), little-endian:
 *
 *   off  size  field
 *   ---  ----  -----------------------------------------------------------------
 *     0     1  type (enum hkv_type)
 *     1     1  flags: KF_INLINE value follows, KF_VLOG vlog_ref follows, KF_LONGKEY
 *     2     2  length of the full key if KF_LONGKEY
 *     4     4  mode
 *     8     4  uid
 *    12     4  gid
 *    16     8  id (never reused)
 *    24     8  version (store-wide counter, never reused)
 *    32     8  mtime_ns
 *    40     8  ctime_ns
 *    48     8  expire_at (Unix ms, 0 = none)
 *    56     8  size (string bytes, or element count)
 *    64     8  list head index (lists); hash flags (hashes: hash.c); else 0
 *    72     8  list tail index (one past the last); next field sequence number (hashes);
 *              else 0
 *    80     -  full key if KF_LONGKEY; then the inline value (KF_INLINE) or a vlog_ref
 *              (KF_VLOG, VLOG_REF_SIZE bytes)
 *
 * Varint layout (KF_VARINT, format 3): byte 0 the type, byte 1 the flags, then unsigned
 * LEB128 varints (7 bits a byte, low group first, at most 10 bytes), signed ones zigzag-coded
 * first (0, -1, 1, -2 ... as 0, 1, 2, 3 ...):
 *
 *   full key length (only if KF_LONGKEY), mode, uid, gid, id, version, mtime_ns (signed),
 *   ctime_ns - mtime_ns (signed, modulo 2^64), expire_at (signed), size, head (signed),
 *   tail (signed); head and tail mean what they mean in the fixed layout
 *
 * then the full key, the inline value or the vlog_ref as in the fixed layout. A 64-byte
 * string's record is about 92 bytes instead of 144; the index is that much smaller and a
 * lookup touches fewer pages (docs/engine-storage.md, "Key records"). The header is at most
 * KREC_HDR_MAX bytes.
 *
 * Writes: every mutation is a function run inside an LMDB write transaction by hkv_write();
 * concurrent callers are combined into one transaction (group commit). Such a function must
 * have no side effects outside the transaction other than those listed in struct wtx, and
 * may be run again (if another function of the same group fails, the transaction is aborted
 * and the rest of the group is run again in a fresh one).
 */
#ifndef HKV_INT_H
#define HKV_INT_H

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hkv/engine.h"

/*
 * Format 2: long strings are named with SipHash under the store's own key (info "hashkey").
 * Format 1 stores open (and become format 3) keeping their unkeyed hash.
 * Format 3, one step with three additions, each of which an older build would misread:
 *  - key records are written in the varint layout (KF_VARINT, keys.c); records of the fixed
 *    layout are still read, and rewritten in the varint layout as they change;
 *  - hash fields carry a sequence number (insertion order, hash.c); a hash written before
 *    keeps field byte order until emptied;
 *  - the stream type (HKV_TYPE_STREAM, stream.c).
 * Format 4: the log may hold blind key records (KF_BLIND), which an older build reads as
 * corrupt; the index and the record layouts are format 3's.
 * Format 1, 2 and 3 stores open and become format 4.
 */
#define HKV_FORMAT_VERSION 4

#define EKEY_SHORT HKV_ORDER_PREFIX
#define EKEY_HASH 16
#define EKEY_LONG (EKEY_SHORT + EKEY_HASH)
#define KREC_HDR 80      /* the fixed layout's header */
#define KREC_HDR_MAX 104 /* the longest varint header: 2 + 3 + 3 * 5 + 8 * 10 + slack */
#define KEY_ID_LEN 8

/* key record flags */
#define KF_INLINE 0x01
#define KF_VLOG 0x02
#define KF_LONGKEY 0x04
#define KF_VARINT 0x08 /* the record uses the varint layout (format 3) */
/*
 * A blind string record (format 4; keys.c, "Blind SETs"): written by a SET that did not read
 * the record it replaces. Its mode, uid and gid (and its id, if the key held a string) are the
 * previous record's, found when it is read; only the log and the memtables hold one, never the
 * index, and kv.c returns it merged (krec_merge()), so nothing else ever sees the flag.
 */
#define KF_BLIND 0x10

/**
 * struct ekey - the LMDB encoding of a byte string (see the top of this file).
 * @src, @srclen: the string it was made from (borrowed; NULL for an encoding read back from
 *                the index), so that a lookup can compare a long key's stored bytes with it.
 */
struct ekey {
	size_t len;
	unsigned char b[EKEY_LONG];
	const void *src;
	size_t srclen;
};

struct hkv;

/**
 * ekey_make() - encode @s of @len bytes (len <= HKV_KEY_MAX) into @ek, with @db's secret hash
 * key for a long string; @ek borrows @s (see struct ekey).
 * Return: true if the encoding is long (the full bytes must be stored in the record).
 */
bool ekey_make(const struct hkv *db, struct ekey *ek, const void *s, size_t len);

/**
 * ekey_test_hash - if set, replaces the 16-byte hash of every long string (tests only: it
 * forces two long keys onto one index slot to show that lookups compare the full bytes).
 * NULL in production; set it before the store is opened.
 */
extern void (*ekey_test_hash)(unsigned char hash[EKEY_HASH], const void *s, size_t len);

/** siphash24() - SipHash-2-4 of @p (@len bytes) under @key, 64-bit output (siphash.c). */
uint64_t siphash24(const uint64_t key[2], const void *p, size_t len);
/** siphash13() - SipHash-1-3 of @p under @key, 64-bit output (hash tables). */
uint64_t siphash13(const uint64_t key[2], const void *p, size_t len);
/** siphash24_128() - SipHash-2-4 with 128-bit output into @out. */
void siphash24_128(const uint64_t key[2], const void *p, size_t len, uint64_t out[2]);

/** ekey_is_long() - whether an LMDB key of @len bytes (after any id prefix) is a long one. */
static inline bool ekey_is_long(size_t len)
{
	return len == EKEY_LONG;
}

/*
 * Little-endian helpers: every integer of the on-disk formats (records, value log, info
 * table) is written and read through these, byte by byte, so the bytes are the same on every
 * host (the compiler turns them into plain loads and stores on a little-endian one).
 */
static inline void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Big-endian helpers for sortable LMDB keys. */
static inline void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** i64 -> 8 bytes that sort like the integer. */
static inline void put_sortable_i64(unsigned char *p, int64_t v)
{
	put_be64(p, (uint64_t)v ^ (1ull << 63));
}

static inline int64_t get_sortable_i64(const unsigned char *p)
{
	return (int64_t)(get_be64(p) ^ (1ull << 63));
}

/** double -> 8 bytes that sort like the number (-inf < ... < -0.0 == 0.0 < ... < +inf). */
void put_sortable_double(unsigned char *p, double d);
double get_sortable_double(const unsigned char *p);

/*
 * Tables of the index, by their number in log records (struct hkv.dbis). KV_MAXDBI bounds
 * LMDB's handle numbers; KV_KEY_MAX is LMDB's key size limit.
 */
enum { KV_INFO, KV_KEYS, KV_ELEMS, KV_ZIDX, KV_EXP, KV_XATTR, KV_SEGS, KV_NDBI };
#define KV_MAXDBI 32
#define KV_KEY_MAX 511

/** struct vlog_pos - a position in the log: segment id and offset. */
struct vlog_pos {
	uint32_t seg;
	uint64_t off;
};

static inline int vlog_pos_cmp(const struct vlog_pos *a, const struct vlog_pos *b)
{
	if (a->seg != b->seg)
		return a->seg < b->seg ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/** struct vlog_ref - where a string value lives in the value log. */
struct vlog_ref {
	uint32_t seg;  /* segment id */
	uint32_t len;  /* bytes of the whole record on disk */
	uint64_t off;  /* offset of the record in the segment */
	uint64_t vlen; /* length of the (uncompressed) value */
};
#define VLOG_REF_SIZE 24
void vlog_ref_encode(unsigned char *p, const struct vlog_ref *r);
void vlog_ref_decode(const unsigned char *p, struct vlog_ref *r);

/**
 * struct kmeta - a decoded key record. Pointers borrow from the LMDB value they were decoded
 * from and are valid until the end of that transaction (or the next write to it).
 */
struct kmeta {
	uint8_t type;
	uint8_t flags;
	uint32_t mode, uid, gid;
	uint64_t id;
	uint64_t version;
	int64_t mtime_ns, ctime_ns;
	int64_t expire_at;
	uint64_t size;
	int64_t head, tail;
	const void *fullkey; /* KF_LONGKEY */
	size_t fullkey_len;
	const void *key;     /* the user key (set by key_lookup()/wkey_lookup()), else NULL */
	size_t klen;
	const void *inl;     /* KF_INLINE */
	size_t inl_len;
	struct vlog_ref ref; /* KF_VLOG */
};

/** kmeta_decode() - Return: 0, -HKV_ECORRUPT (also for a blind record: see KF_BLIND). */
int kmeta_decode(const MDB_val *v, struct kmeta *m);

/** krec_is_blind() - whether the key record @v (@len bytes) is a blind one (KF_BLIND). */
static inline bool krec_is_blind(const void *v, size_t len)
{
	return len >= 2 && ((const unsigned char *)v)[1] & KF_BLIND;
}

/** KREC_MERGED_MAX() - the most bytes krec_merge() makes of a blind record of @len bytes. */
#define KREC_MERGED_MAX(len) ((len) + KREC_HDR_MAX)

/**
 * krec_merge() - the record a blind key record @blind stands for, given the record it
 * replaced, @base (NULL: none), into @out (KREC_MERGED_MAX(@blind->mv_size) bytes).
 * A pure function of its arguments, and idempotent: merging @blind over its own result gives
 * that result again. Return: the length written, or -HKV_ECORRUPT.
 */
ssize_t krec_merge(const MDB_val *blind, const MDB_val *base, unsigned char *out);

/**
 * krec_blind_apply() - the checkpointer's part of a blind record (ckpt.c): in the index
 * transaction @txn, whose keys table still holds @base (NULL: none) under @ek, drop what the
 * SET replaced along with it: the expiry entry, the elements and score index of a collection
 * and, if the key took a new id, its extended attributes. A value-log record the base held is
 * returned in @dead (*@has_dead), to be counted dead once every table is applied.
 * Return: 0, or an error (LMDB's, as -errno, or -HKV_ECORRUPT).
 */
int krec_blind_apply(struct hkv *db, MDB_txn *txn, const MDB_val *ek, const MDB_val *blind,
		     const MDB_val *base, struct vlog_ref *dead, bool *has_dead);

/** ttl_init() - allocate the expiry filter of @db (see struct hkv). Return: 0, -ENOMEM. */
int ttl_init(struct hkv *db);
/** ttl_mark() - note that the key of ekey bytes @ek, @len may have an expiry. Any thread. */
void ttl_mark(struct hkv *db, const void *ek, size_t len);
/**
 * ttl_maybe() - whether the key whose ekey has mem_hash() @h (table KV_KEYS) may have an
 * expiry: true until the filter is built, then true for every marked key (and a few others).
 */
bool ttl_maybe(struct hkv *db, uint64_t h);
/** ttl_prefetch() - start loading the filter word ttl_maybe() of @h will read. */
void ttl_prefetch(struct hkv *db, uint64_t h);
/** ttl_build() - mark every key of the exp table, then allow blind SETs. Return: 0 or error. */
int ttl_build(struct hkv *db);

/** kmeta_expired() - whether @m has an expiry at or before @now_ms. */
static inline bool kmeta_expired(const struct kmeta *m, int64_t now_ms)
{
	return m->expire_at && m->expire_at <= now_ms;
}

struct vlog;

/** struct hkv_counters - statistics, updated with relaxed atomics. */
struct hkv_counters {
	atomic_uint_fast64_t reads, writes, commits, syncs, compactions, compact_bytes, expired,
		crc_errors;
};

struct wq_item;
struct rtx_slot;
struct mview;
struct mem;
struct mem_pool;
struct mem_node;

/**
 * struct hp_rec - a hazard pointer: the view a transaction is using (kv.c). On db->hp_all
 * (under hp_lock) while its owner lives.
 */
struct hp_rec {
	struct mview *_Atomic hp;
	struct hp_rec *next, *prev;
};

/**
 * struct kvtx - a transaction on the merged view of the index (kv.c): a pinned view of the
 * memtables, an LMDB read snapshot and a sequence number. Writes are allowed only through
 * the group-commit leader's (@w set).
 */
struct kvtx {
	struct hkv *db;
	MDB_txn *lmdb;
	struct mview *view;
	uint64_t seq;
	struct wtx *w;
	struct hp_rec *hp;
	bool own; /* a nested read's own transaction, freed by rtx_end() */
	bool lazy; /* the leader's: @lmdb is renewed at its first use (kv.c, tx_snap()) */
	struct kv_scratch *scr; /* merged records kv_get() returned (kv.c); freed at the end */
};

/**
 * struct hkv - an open store. Fields after open are read-only unless noted.
 *
 * A transaction handle (hkv_txn_run()) is a copy of the store's handle up to
 * HKV_SHARED_FIRST (the fields fixed at open) with @txw set: the write transaction it is bound
 * to; the fields from HKV_SHARED_FIRST on are zero in it. Its locks, queues and thread data
 * are never used (every path that would use them looks at @txw first), and mutable shared
 * state is reached through @root, the store's own handle (@root == the handle itself for a
 * store).
 */
struct hkv {
	struct hkv *root;
	struct wtx *txw;
	char *dir;
	struct hkv_options opt;
	int lock_fd;
	MDB_env *env;
	MDB_dbi dbi_info, dbi_keys, dbi_elems, dbi_zidx, dbi_exp, dbi_xattr, dbi_segs;
	MDB_dbi dbis[KV_NDBI];  /* by table index (KV_INFO...), as in log records */
	int8_t dbix[KV_MAXDBI]; /* MDB_dbi -> table index, -1 for none */
	struct vlog *vlog;
	uint64_t hkey[2];       /* SipHash key of long ekeys: the info table's "hashkey" */
	bool hkey_legacy;       /* a store from format 1 without one: the unkeyed hash (util.c) */

	/* read transactions cached per thread; list protected by rtx_lock */
#define HKV_SHARED_FIRST rtx_key /* the first field a transaction handle does not copy */
	pthread_key_t rtx_key;
	pthread_mutex_t rtx_lock;
	struct rtx_slot *rtx_all;

	/* memtables and views (mem.c, kv.c) */
	struct mview *_Atomic view; /* replaced under view_lock */
	pthread_mutex_t view_lock;
	struct mview *retired;      /* under view_lock: views waiting for their readers */
	struct mem_pool *mpool;     /* memory of freed memtables (mem.c); NULL if none */
	pthread_mutex_t hp_lock;
	struct hp_rec *hp_all;      /* under hp_lock */
	_Atomic uint64_t pub_seq;   /* the last published write function: readers' snapshot */
	uint64_t seq_last;          /* leader only: the last sequence number handed out */
	uint64_t lsn;               /* leader only: the last log record number written */
	uint64_t group_gen;         /* leader only */
	struct kvtx wview;          /* leader only: the write transaction of a group */
	struct hp_rec whp;
	struct mem_node **wtn;      /* leader only: touched nodes of the group (struct wtx) */
	size_t wtn_cap;
	unsigned char *walbuf;      /* leader only: the group's log record */
	size_t walbuf_cap;

	/* the checkpointer (ckpt.c); under ckpt_lock unless noted */
	pthread_t ckpt;
	bool ckpt_running;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	bool ckpt_stop;
	uint64_t ckpt_frozen;       /* memtables frozen so far */
	uint64_t ckpt_done;         /* ... and checkpointed */
	atomic_bool freeze_req;     /* the next group freezes the active memtable */
	struct vlog_pos ckpt_pos;   /* where the last checkpoint's log ends (any thread: lock) */
	uint64_t ckpt_lsn;          /* the last log record it covers */
	bool ckpt_known;            /* the info table has a "ckpt" record (open) */
	atomic_uint_fast64_t ckpt_count;   /* checkpoints committed */
	atomic_uint_fast64_t ckpt_records; /* records they applied */

	/* group commit queue (wtx.c); everything under wq_lock */
	pthread_mutex_t wq_lock;
	struct wq_item *wq_head, **wq_tail;
	bool wq_busy;            /* a leader is running a group */
	uint64_t version;        /* last version handed out; leader only */
	uint64_t next_id;        /* next key id; leader only */
	uint64_t version_reserved; /* persisted bounds of the two counters (wtx.c) */
	uint64_t id_reserved;

	/* background thread */
	pthread_t bg;
	bool bg_running;
	pthread_mutex_t bg_lock;
	pthread_cond_t bg_cond;
	bool bg_stop;            /* under bg_lock */
	atomic_uint_fast64_t bg_rounds; /* background rounds run (tests wait on it) */
	atomic_bool dirty;       /* writes since the last flush (everysec) */

	/* 0, or the -errno of the first failed flush: writes are refused from then on */
	atomic_int wfail;

	void (*watch)(void *arg, const void *key, size_t klen, uint64_t version);
	void *watch_arg;

	struct hkv_counters st;

	/* hkv_hash_limits(): a hash beyond them is large (hash.c); read through db->root */
	_Atomic uint64_t hash_max_entries, hash_max_value;

	/*
	 * Keys that may have an expiry (keys.c, "Blind SETs"), read through db->root: a bitmap
	 * indexed by mem_hash() of the key's ekey, a bit set by every put into the exp table and
	 * never cleared while the store is open; filled from the exp table by the checkpointer
	 * thread at open, after which @ttl_ready is set and SETs may be written blind.
	 */
	_Atomic uint64_t *ttl_bits;
	uint64_t ttl_mask;          /* bits - 1 (a power of two) */
	atomic_bool ttl_ready;
	atomic_uint_fast64_t blind_sets; /* SETs written blind */
};

/**
 * hkv_crc32() - zlib's crc32(@crc, @p, @len), the checksum of log and value records (crc.c):
 * the same value, faster where the CPU has carry-less multiplication.
 */
uint32_t hkv_crc32(uint32_t crc, const void *p, size_t len);

/* store.c */
int64_t hkv_now_ms(struct hkv *db);
int64_t hkv_now_ns(struct hkv *db);
void hkv_log(struct hkv *db, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/**
 * hkv_fail() - record that a flush of @what failed with @rc: the first failure is logged and
 * stops the store from taking writes (see "Flush errors are final" in engine.h); later ones
 * change nothing. Return: @rc.
 */
int hkv_fail(struct hkv *db, int rc, const char *what);

/** hkv_writable() - Return: 0, or -HKV_ESTOPPED once a flush has failed. */
static inline int hkv_writable(struct hkv *db)
{
	return atomic_load_explicit(&db->root->wfail, memory_order_acquire) ? -HKV_ESTOPPED : 0;
}

/** hkv_in_txn() - whether @db is a transaction handle (struct hkv). */
static inline bool hkv_in_txn(const struct hkv *db)
{
	return db->txw != NULL;
}

/* kv.c: the merged view of the index ------------------------------------------------- */

/**
 * rtx_begin() - a read transaction for the calling thread (cached and renewed; a nested call
 * gets a fresh one). Inside a write function, use w->txn instead. Return: 0, -EIO, -ENOMEM.
 */
int rtx_begin(struct hkv *db, struct kvtx **txn);
/** rtx_end() - finish a transaction from rtx_begin(). */
void rtx_end(struct hkv *db, struct kvtx *txn);
/** rtx_init()/rtx_fini() - set up and tear down the per-thread read transactions. */
int rtx_init(struct hkv *db);
void rtx_fini(struct hkv *db);
/** rtx_reads() - read transactions started so far (statistics). */
uint64_t rtx_reads(struct hkv *db);

/*
 * The LMDB-shaped interface of the merged view: same arguments and return codes as mdb_get,
 * mdb_put (flags: 0 or MDB_RESERVE), mdb_del and the cursor calls (ops FIRST, LAST, NEXT,
 * PREV, SET_RANGE, SET_KEY, GET_CURRENT), plus ENOMEM/EACCES as positive errnos. Returned
 * pointers stay valid until the transaction ends (memtable memory is pinned by its view,
 * LMDB's by its snapshot, a merged blind key record's by the transaction's scratch memory).
 * A blind key record (KF_BLIND) is never returned as it is: kv_get() and cursors return it
 * merged with the record it replaced (krec_merge()). Writes need the leader's transaction
 * (w->txn).
 */
struct kvcur;
struct kv_scratch;
/**
 * kv_blind_pending() - whether a memtable not yet checkpointed may hold a blind key record:
 * until its checkpoint, the value a blind SET replaced still counts live in its segment.
 */
bool kv_blind_pending(struct hkv *db);
/** kv_scratch_free() - free what the merges of @tx allocated (at the end of @tx). */
void kv_scratch_free(struct kvtx *tx);
/** kv_mem_get()'s return for a tombstone. */
#define KV_TOMBSTONE 1
/**
 * kv_mem_get() - the newest version of (@dbi, @k) visible to @tx in the memtables of its view
 * (a blind key record as it is stored); @h is mem_hash() of the table and key. Return: 0 and
 * @v, and in *@at the memtable's place in the view (0: the active one); KV_TOMBSTONE (deleted
 * there); MDB_NOTFOUND (no memtable has a version: the record, if any, is the index's); EINVAL.
 */
int kv_mem_get(struct kvtx *tx, MDB_dbi dbi, const MDB_val *k, uint64_t h, MDB_val *v,
	       int *at);
/**
 * kv_get_unmerged() - kv_get(), but a blind key record is returned as it is stored: for a
 * caller that needs only what the record itself holds (its value, size, times, expiry).
 */
int kv_get_unmerged(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *v);
int kv_get(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *v);
int kv_put(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags);
int kv_del(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *unused);
int kv_cursor_open(struct kvtx *tx, MDB_dbi dbi, struct kvcur **c);
int kv_cursor_get(struct kvcur *c, MDB_val *k, MDB_val *v, MDB_cursor_op op);
int kv_cursor_del(struct kvcur *c);
void kv_cursor_close(struct kvcur *c);
/** kv_count() - the number of records of table @dbi in @tx's state. */
int kv_count(struct kvtx *tx, MDB_dbi dbi, uint64_t *out);

/* views (kv.c): see the top of kv.c */
void hp_register(struct hkv *db, struct hp_rec *hp);
void hp_unregister(struct hkv *db, struct hp_rec *hp);
struct mview *view_pin(struct hkv *db, struct hp_rec *hp);
void view_unpin(struct hp_rec *hp);
/** view_make() - a view of @n memtables (each gains a reference). Return: NULL if no memory. */
struct mview *view_make(struct mem *const *mems, int n);
/** view_install() - make @v the current view; the old one retires. */
void view_install(struct hkv *db, struct mview *v);
/** view_collect() - free retired views nobody holds. Return: whether some remain. */
bool view_collect(struct hkv *db);
/** view_release_all() - free every view and memtable (close). */
void view_release_all(struct hkv *db);

/** info_put_u64() - write a u64 record of the info table (in a write function). */
int info_put_u64(struct kvtx *txn, MDB_dbi dbi, const char *name, uint64_t val);

/** lmdb_err() - translate an LMDB return code to -errno (MDB_MAP_FULL -> -ENOSPC, ...). */
int lmdb_err(int rc);

/* wtx.c ------------------------------------------------------------------------------ */

/**
 * struct wtx - the state of a write transaction, handed to every write function.
 * @txn:    the LMDB write transaction.
 * @now_ms: the clock, read once per group.
 * Touched keys are reported to the watcher after the commit.
 */
struct wtx {
	struct hkv *db;
	struct kvtx *txn;
	int64_t now_ms;
	int64_t now_ns;
	uint64_t seq;            /* the running write function's sequence number */
	struct mem_node **tn;    /* memtable nodes written, in order (kv.c) */
	size_t ntn, captn;
	unsigned char *touched;  /* packed (u16 len, key bytes, u64 version) */
	size_t touched_len, touched_cap;
	bool touch_oom;
	/* set around one put: the keys-table key at @hint_key has mem_hash() @hint_h (kv.c) */
	const void *hint_key;
	size_t hint_len;
	uint64_t hint_h;
};

typedef int (*wtx_fn)(struct wtx *w, void *arg);

/**
 * hkv_write() - run @fn(@arg) in a write transaction, committed (and, under sync=always,
 * flushed) before return. Return: @fn's return value if >= 0 and the commit succeeded; @fn's
 * negative return (nothing of @fn is committed); -EROFS, -ENOSPC, -EIO from the commit.
 */
int hkv_write(struct hkv *db, wtx_fn fn, void *arg);

/** wtx_version() - the next store-wide version number. */
uint64_t wtx_version(struct wtx *w);
/** wtx_new_id() - a fresh key id. */
uint64_t wtx_new_id(struct wtx *w);
/** wtx_touch() - report @key as changed to @version (0 = deleted) after commit. */
void wtx_touch(struct wtx *w, const void *key, size_t klen, uint64_t version);

/* keys.c: key records ------------------------------------------------------------------ */

/** Pass as key_lookup()'s @now_ms to read the clock only if the key has an expiry. */
#define HKV_NOW_LAZY INT64_MIN

/**
 * key_lookup() - find the live record of @key in @txn (read or write).
 * Return: 0 and @m; -ENOENT (absent or expired at @now_ms); -HKV_ECORRUPT; -EIO.
 */
int key_lookup(struct hkv *db, struct kvtx *txn, const struct ekey *ek, int64_t now_ms,
	       struct kmeta *m);

/**
 * key_lookup_value() - key_lookup() for a reader of the value alone: a blind record is not
 * merged (keys.c, "Blind SETs"), so @m's id, mode, uid and gid may not be the key's; its type,
 * value, size, times, version and expiry are.
 */
int key_lookup_value(struct hkv *db, struct kvtx *txn, const struct ekey *ek, int64_t now_ms,
		     struct kmeta *m);

/** kmeta_decode_blind() - kmeta_decode() that also takes a blind record (KF_BLIND kept). */
int kmeta_decode_blind(const MDB_val *v, struct kmeta *m);

/**
 * wkey_lookup() - key_lookup() in a write transaction; an expired key found is deleted there
 * (lazy expiry) and reported as -ENOENT.
 */
int wkey_lookup(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		struct kmeta *m);

/**
 * wkey_prepare() - look up @key for a write that needs type @type: an existing key of
 * another type is -HKV_EWRONGTYPE; an absent one is initialised in @m (not yet stored) with a
 * new id, @ca or the defaults, and *@created = true.
 */
int wkey_prepare(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		 enum hkv_type type, const struct hkv_create_attr *ca, struct kmeta *m,
		 bool *created);

/**
 * wkey_store() - write the record @m of @key (with inline value @inl if KF_INLINE, or
 * @m->ref if KF_VLOG), after giving it a new version and mtime/ctime = now; maintains the exp
 * index when @old_expire differs from @m->expire_at, and reports the key touched.
 * @old_expire: the expiry the stored record had (0 for a new key).
 */
int wkey_store(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
	       struct kmeta *m, const void *inl, size_t inl_len, int64_t old_expire);

/**
 * krec_put() - encode and put @m as it is (no new version, times or exp-table change).
 * @inl may point into the record being replaced.
 */
int krec_put(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
	     const struct kmeta *m, const void *inl, size_t inl_len);

/**
 * wkey_set_expire() - change the expiry of the stored key @m to @at (0 = none), with a new
 * version; keeps its value and mtime.
 */
int wkey_set_expire(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		    struct kmeta *m, int64_t at);

/**
 * wkey_delete() - delete @key (record @m) with its elements, score index, xattrs, expiry
 * entry and value-log reference; reports it touched with version 0.
 */
int wkey_delete(struct wtx *w, const struct ekey *ek, const void *key, size_t klen,
		const struct kmeta *m);

/** key_check() - validate a key length. Return: 0, -EINVAL. */
static inline int key_check(size_t klen)
{
	return klen >= 1 && klen <= HKV_KEY_MAX ? 0 : -EINVAL;
}

/** member_check() - validate a field/member length. Return: 0, -EINVAL. */
static inline int member_check(size_t len)
{
	return len <= HKV_KEY_MAX ? 0 : -EINVAL;
}

/**
 * elem_key() - build the elems/zidx key "id + ekey(member)" in @out (EKEY_LONG + 16 bytes).
 * Return: the key length; *@is_long tells whether the member's full bytes must be stored.
 */
size_t elem_key(const struct hkv *db, unsigned char *out, uint64_t id, const void *member,
		size_t mlen, bool *is_long);

/**
 * elem_val_put() - write an elems record: [u16 mlen + member if @is_long] + payload.
 */
int elem_val_put(struct wtx *w, MDB_val *k, bool is_long, const void *member, size_t mlen,
		 const void *payload, size_t plen);

/**
 * elem_val_split() - split an elems record value into the member (for long members: the
 * stored bytes; else taken from the LMDB key past the id, @k) and the payload.
 */
int elem_val_split(const MDB_val *k, const MDB_val *v, const void **member, size_t *mlen,
		   const void **payload, size_t *plen);

/**
 * range_delete() - delete every record of @dbi whose key starts with @prefix.
 */
int range_delete(struct kvtx *txn, MDB_dbi dbi, const void *prefix, size_t plen);

/* collections: delete everything under a key id (called by wkey_delete) */
int coll_delete_all(struct wtx *w, const struct kmeta *m);

/* string.c */
/**
 * str_read() - copy [@off, @off + @len) of the string in @m into @buf (inline or value log).
 * Return: bytes copied; -HKV_ECORRUPT; -EAGAIN (the segment went away: retry with a fresh
 * transaction); -EIO.
 */
ssize_t str_read(struct hkv *db, const struct kmeta *m, uint64_t off, void *buf, size_t len);

/* glob.c */
bool glob_match(const char *pat, const unsigned char *s, size_t len);

/* cursor helpers for collection scans (keyspace.c) */

/* ckpt.c: the checkpointer ------------------------------------------------------------ */

/** ckpt_start() - start the checkpointer thread (writable stores). Return: 0, -EAGAIN. */
int ckpt_start(struct hkv *db);
/** ckpt_stop() - stop it (after a final hkv_checkpoint() by the caller). */
void ckpt_stop(struct hkv *db);
/** ckpt_info_put() - write the info table's "ckpt" record (position and lsn) in @txn. */
int ckpt_info_put(struct hkv *db, MDB_txn *txn, const struct vlog_pos *pos, uint64_t lsn);
/** ckpt_info_get() - read it into db->ckpt_pos/ckpt_lsn/ckpt_known. Return: 0, -errno. */
int ckpt_info_get(struct hkv *db, MDB_txn *txn);

/**
 * enum ckpt_stage - the points of a checkpoint at which ckpt_test_hook is called.
 * @CKPT_STAGE_SYNCED:    the log is flushed; LMDB untouched.
 * @CKPT_STAGE_APPLIED:   the memtable is in an LMDB write transaction, not committed.
 * @CKPT_STAGE_COMMITTED: the transaction (with the "ckpt" record) is committed.
 * @CKPT_STAGE_INSTALLED: the view without the memtable is installed.
 */
enum ckpt_stage {
	CKPT_STAGE_SYNCED,
	CKPT_STAGE_APPLIED,
	CKPT_STAGE_COMMITTED,
	CKPT_STAGE_INSTALLED,
};

/**
 * ckpt_test_hook - if set, called by the checkpointer at each enum ckpt_stage (tests: a crash
 * test kills the process there). ckpt_test_commit_fault - if set and it returns an errno, the
 * checkpoint's commit fails with it (tests: a failed flush of the index). Both NULL in
 * production; set before the store is opened.
 */
extern void (*ckpt_test_hook)(struct hkv *db, enum ckpt_stage stage);
extern int (*ckpt_test_commit_fault)(struct hkv *db);

/**
 * wtx_test_reserve - if not 0, the step by which a group raises the counters' reservation
 * instead of 2^20 (wtx.c; tests: cross reservations in a few writes). 0 in production; set
 * before the store is opened.
 */
extern uint64_t wtx_test_reserve;

/**
 * wtx_test_rotate_hook - if set, called by the write leader in mem_rotate() between taking
 * the current view and reading it (tests: the checkpointer installs a new view right there).
 * NULL in production.
 */
extern void (*wtx_test_rotate_hook)(struct hkv *db);

/** fsync_parent() - fsync the directory that contains @path (a new entry in it). */
int fsync_parent(const char *path);

/* vlog.c ------------------------------------------------------------------------------ */

/**
 * vlog_open() - open the value log under DIR/vlog (creating it) and recover: drop the segments
 * the last checkpoint tombstoned, replay the log from the checkpoint's position into the
 * active memtable, cut off what follows the end of the good log. Called from hkv_open() after
 * LMDB and the first memtable are set up; sets db->vlog itself (replay needs it).
 */
int vlog_open(struct hkv *db, struct vlog **out);
/** vlog_close() - close every segment file and free @vl. NULL-safe. */
void vlog_close(struct vlog *vl);

/**
 * vlog_append() - append a record of @key and @val to the active segment (zlib-compressed if
 * enabled and worthwhile), sealing it and starting a new one when full. Called outside any
 * write transaction; thread-safe (appends are serialised, so a torn record can only be the
 * last one of a segment). The record is dead until vlog_ref_live() in a committed write.
 * Return: 0 and @ref; -ENOSPC, -EIO, -ENOMEM.
 */
int vlog_append(struct vlog *vl, const void *key, size_t klen, const void *val, size_t vlen,
		struct vlog_ref *ref);
/** vlog_ref_live() - in a write: count @ref's record live and its end as committed. */
int vlog_ref_live(struct wtx *w, const struct vlog_ref *ref);
/** vlog_ref_dead() - in a write: the record of @ref is no longer referenced. */
int vlog_ref_dead(struct wtx *w, const struct vlog_ref *ref);
/**
 * vlog_dead_note() - in the checkpoint's index transaction @txn, record the value-log records
 * @dead[0..@n) that blind SETs replaced (krec_blind_apply()) under the name "bdead" + @lsn in
 * the info table. The segs table is not changed here: newer memtables may hold entries of the
 * same segments computed without these records, which would overwrite the change; compaction
 * subtracts them later in a write of its own, which deletes the note (vlog_dead_apply()).
 */
int vlog_dead_note(struct hkv *db, MDB_txn *txn, uint64_t lsn, const struct vlog_ref *dead,
		   size_t n);
/**
 * vlog_dead_apply() - subtract the noted dead values from their segments' accounting and
 * delete the notes, in writes of their own (compaction does it first; a clean close too).
 * Return: 1 if it wrote, 0 if there was no note, or an error.
 */
int vlog_dead_apply(struct hkv *db);
/**
 * vlog_read() - copy [@off, @off + @len) of @ref's value into @buf after checking the record:
 * its CRC, its header against @ref, and that it is the record of @key (@klen bytes), so a
 * reference that lands on another key's intact record never yields that key's bytes.
 * Thread-safe; needs no transaction.
 * Return: bytes copied; -HKV_ECORRUPT (CRC, format, another key's record, or a reference past
 * the segment's end; also counted in crc_errors and logged); -EAGAIN (segment removed by
 * compaction: look the key up again); -EIO.
 */
ssize_t vlog_read(struct vlog *vl, const struct vlog_ref *ref, const void *key, size_t klen,
		  uint64_t off, void *buf, size_t len);
/**
 * vlog_append_record() - append the prepared record @rec (@len bytes: a group record) to the
 * log. Return: 0 and @ref (where it went); -ENOSPC, -EIO, -EROFS.
 */
int vlog_append_record(struct vlog *vl, const void *rec, size_t len, struct vlog_ref *ref);
/**
 * vlog_unappend() - take back the record of @ref (a group that failed after writing it) if
 * nothing was appended after it, so that a reopen does not replay what this process never
 * published. Best effort: if it stays, its write's outcome is unknown, as documented.
 */
void vlog_unappend(struct vlog *vl, const struct vlog_ref *ref);
/**
 * vlog_drop() - a checkpoint committed segment @id's tombstone: it leaves the table, and its
 * file goes when the last reader is done with it.
 */
void vlog_drop(struct vlog *vl, uint32_t id);
/**
 * vlog_sync() - fdatasync every segment appended to since the last call (and the directory if
 * a segment was created). A failure is final (hkv_fail()). Return: 0, -errno, -HKV_ESTOPPED.
 */
int vlog_sync(struct vlog *vl);
/** vlog_compact() - see hkv_compact(). */
int vlog_compact(struct hkv *db, bool all);
/** vlog_stats() - add the value log's figures to @st. */
void vlog_stats(struct vlog *vl, struct hkv_stats *st);
/** vlog_segments() - see hkv_segments(). */
int vlog_segments(struct hkv *db, int (*cb)(void *arg, const struct hkv_segment_stat *s),
		  void *arg);

#endif /* HKV_INT_H */
