/* SPDX-License-Identifier: MIT */
/*
 * mem_int.h - the memtable (mem.c): the in-memory table of recent mutations that reads consult
 * before the index, and the views that pin the memtables a reader uses (kv.c). The design and
 * its invariants are described at the top of mem.c and of kv.c.
 */
#ifndef HKV_MEM_INT_H
#define HKV_MEM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hkv_int.h"

#define MEM_MAX_HEIGHT 16
/** Memtables a view holds at most: the active one and those not yet checkpointed. */
#define MVIEW_MAX 3

/**
 * struct mem_ver - one version of a record. Immutable once its group is published, except
 * that the writer pops the versions of a write function that failed (they were never
 * visible to readers).
 * @older: the next older version of the same record, or NULL.
 * @seq:   the sequence number of the write function that made it; visible to a reader whose
 *         snapshot is >= @seq.
 * @del:   a deletion (tombstone): hides the record in older memtables and in the index.
 */
struct mem_ver {
	struct mem_ver *older;
	uint64_t seq;
	uint32_t vlen;
	bool del;
	unsigned char val[];
};

/**
 * struct mem_node - one record key of one table: a skiplist node and a hash-chain entry.
 * Nodes are never removed from a memtable; a node whose versions were all popped has no
 * version and counts as absent.
 * @head:  newest version first (written by the writer with release, read with acquire).
 * @gen:   writer only: the last group that put this node into its log record.
 * @hash:  mem_hash() of (table, key).
 * @pfx:   the key's first 8 bytes, big-endian, zero-padded: quick compares.
 * @next:  @height forward pointers, NULL until the node is linked into its skiplist (nodes
 *         wait in the memtable's pending list until a walk needs them: mem_order()); the
 *         key bytes follow them (mem_node_key()).
 *
 * A skiplist search reads @pfx and then a forward pointer of each node it passes, most often
 * @next[0]: @pfx sits right before the pointers and nodes are 16-byte aligned (mem.c), so
 * @pfx and @next[0] always share one cache line: one miss per node passed there, not two.
 */
struct mem_node {
	struct mem_ver *_Atomic head;
	uint64_t gen;
	uint64_t hash;
	uint16_t klen;
	uint8_t dbix;
	uint8_t height;
	uint64_t pfx;
	struct mem_node *_Atomic next[];
};

static inline const unsigned char *mem_node_key(const struct mem_node *n)
{
	return (const unsigned char *)&n->next[n->height];
}

struct mem_chunk;
struct mem_index;
struct mem_pend;
struct mem_pool;

/**
 * struct mem_pendq - the nodes of one table of a memtable that are not linked into its
 * skiplist yet (mem.c, "Order"): appended by the writer, linked by whoever needs key order.
 * @first, @tail, @fill: the writer's end (blocks of the arena; entries used in @tail).
 * @n:    nodes ever appended; the writer raises it with a release store after each append.
 * @cur, @ix: under mem.order_lock: the block and entry of the next node to link.
 * @done: nodes linked; raised with a release store under mem.order_lock.
 */
struct mem_pendq {
	struct mem_pend *first, *tail;
	uint32_t fill;
	_Atomic uint64_t n;
	struct mem_pend *cur;
	uint32_t ix;
	_Atomic uint64_t done;
};

/**
 * struct mem - a memtable. One writer (the group-commit leader, or replay at open) inserts;
 * any number of readers look up and iterate without locks (an iteration first links the
 * table's pending nodes, under order_lock: mem_order()).
 * @bytes:    memory taken by nodes and versions (arena bytes); read by anyone.
 * @nodes:    node count (writer).
 * @frozen:   set when the memtable stops taking writes and waits for the checkpointer; a
 *            reader that sees it on the view's active memtable takes a fresh view.
 * @log_end:  log position just after the last group written into it (writer until frozen,
 *            then the checkpointer's): a checkpoint of it makes the log up to here redundant.
 * @last_lsn: the lsn of the last group record written into it (with @log_end).
 * @last_seq: the last sequence number written into it.
 * @refs:     how many views (installed or retired) hold it; the last one frees it.
 * @created_ms: CLOCK_MONOTONIC time of the first write into it (0: none yet).
 * @blind:    blind key records put into it (keys.c, "Blind SETs"), failed writes included.
 */
struct mem {
	struct mem_chunk *chunks;
	unsigned char *ap;
	size_t aleft;
	_Atomic uint64_t bytes;
	uint64_t nodes;
	uint64_t rng;
	struct mem_node *heads[KV_NDBI];
	struct mem_index *_Atomic idx; /* the hash index (mem.c); replaced when it grows */
	uint32_t used;                 /* writer: nodes in the index */
	uint32_t max_slots;
	atomic_bool hash_full;         /* the index took no more nodes: look up by skiplist */
	atomic_bool filled;            /* it has a node (set before the node is published) */
	atomic_bool frozen;
	struct vlog_pos log_end;
	uint64_t last_lsn;
	uint64_t last_seq;
	atomic_uint refs;
	int64_t created_ms;
	atomic_uint_fast64_t blind;
	struct mem_pool *pool;         /* where its chunks come from and go back to, or NULL */
	struct mem_pendq pend[KV_NDBI]; /* per table: nodes not yet in its skiplist */
	pthread_mutex_t order_lock;     /* whoever links pending nodes holds it */
};

/**
 * mem_buckets() - hash index slots of a new memtable: one per 64 bytes of the memory budget
 * (hkv_options.ckpt_bytes), about twice the nodes a full memtable holds (wtx.c).
 */
uint32_t mem_buckets(const struct hkv *db);

/**
 * mem_pool_new() - a pool that keeps up to @max_bytes of the memory of freed memtables for
 * new ones (mem.c). Return: the pool, or NULL (no memory: memtables then use malloc alone).
 */
struct mem_pool *mem_pool_new(size_t max_bytes);
/** mem_pool_free() - free @p and what it holds, after every memtable using it. NULL-safe. */
void mem_pool_free(struct mem_pool *p);

/**
 * mem_new() - an empty memtable whose hash index starts at @first slots (a power of two; a
 * smaller or invalid one: the minimum) and may grow to @slots (a power of two), taking memory
 * from @pool (may be NULL) first.
 */
struct mem *mem_new(uint32_t slots, uint32_t first, uint64_t seed, struct mem_pool *pool);

/** mem_index_slots() - the size its hash index has grown to (a new one may start there). */
uint32_t mem_index_slots(struct mem *m);
/** mem_free() - free @m and everything in it (its chunks into its pool). NULL-safe. */
void mem_free(struct mem *m);

/** mem_hash() - the hash index value of (@dbix, @key): SipHash under @db's secret key. */
uint64_t mem_hash(const struct hkv *db, int dbix, const void *key, size_t klen);

/**
 * mem_is_empty() - whether @m has no node at all. A reader that loaded db->pub_seq before
 * calling it never misses a version its snapshot can see: the flag is set before the first
 * node, and so before any group in @m, is published.
 */
static inline bool mem_is_empty(const struct mem *m)
{
	return !atomic_load_explicit(&((struct mem *)m)->filled, memory_order_acquire);
}

/** mem_find() - the node of (@dbix, @key) with hash @h, or NULL. Any thread. */
struct mem_node *mem_find(struct mem *m, int dbix, const void *key, size_t klen, uint64_t h);

/**
 * mem_prefetch() - start loading the filter word (and with @slot the first slot) that
 * mem_find() or mem_insert() of hash @h will read first, so that the cache misses of probes
 * into several memtables overlap. Any thread.
 */
void mem_prefetch(struct mem *m, uint64_t h, bool slot);

/** mem_insert() - the node of (@dbix, @key), inserted without a version if new. Writer. */
struct mem_node *mem_insert(struct mem *m, int dbix, const void *key, size_t klen, uint64_t h);

/**
 * mem_push() - add a version of @vlen bytes (copied from @val unless NULL: the caller fills
 * it) at the head of @n with @seq. Writer. Return: the version, or NULL (no memory).
 */
struct mem_ver *mem_push(struct mem *m, struct mem_node *n, uint64_t seq, bool del,
			 const void *val, size_t vlen);

/**
 * mem_pop() - drop the versions of @n made by sequence numbers >= @seq (a write function, or
 * a whole group, that failed; nothing newer exists). Writer.
 */
void mem_pop(struct mem_node *n, uint64_t seq);

/** mem_visible() - the newest version of @n with seq <= @seq, or NULL. Any thread. */
static inline struct mem_ver *mem_visible(const struct mem_node *n, uint64_t seq)
{
	struct mem_ver *v = atomic_load_explicit(&((struct mem_node *)n)->head,
						 memory_order_acquire);

	while (v && v->seq > seq)
		v = v->older;
	return v;
}

/** mem_first() - the first node of table @dbix (any version state), or NULL. */
static inline struct mem_node *mem_next(const struct mem_node *n)
{
	return atomic_load_explicit(&((struct mem_node *)n)->next[0], memory_order_acquire);
}

/** mem_order_slow() - link the pending nodes of table @dbix of @m (mem.c). Any thread. */
void mem_order_slow(struct mem *m, int dbix);

/**
 * mem_order() - make the skiplist of table @dbix of @m hold every node appended to it so far
 * (in particular every node a reader that loaded db->pub_seq before the call can see a
 * version of). Cheap when nothing is pending. Any thread.
 */
static inline void mem_order(struct mem *m, int dbix)
{
	struct mem_pendq *q = &m->pend[dbix];
	uint64_t n = atomic_load_explicit(&q->n, memory_order_acquire);

	if (atomic_load_explicit(&q->done, memory_order_acquire) != n)
		mem_order_slow(m, dbix);
}

/**
 * mem_head() - the sentinel before the first node of table @dbix (it has no key), after
 * mem_order(): walking from it with mem_next() visits the nodes in key order.
 */
static inline struct mem_node *mem_head(struct mem *m, int dbix)
{
	mem_order(m, dbix);
	return m->heads[dbix];
}

/**
 * mem_seek_lt() - the last node of table @dbix whose key is < @key (<= with @inclusive), or
 * the sentinel (mem_head()) if there is none; calls mem_order() first. Any thread.
 */
struct mem_node *mem_seek_lt(struct mem *m, int dbix, const void *key, size_t klen,
			     bool inclusive);

/**
 * mem_last() - the last node of table @dbix, or the sentinel if the table is empty; calls
 * mem_order() first. Any thread.
 */
struct mem_node *mem_last(struct mem *m, int dbix);

/** mem_cmp() - order of two keys: bytewise, a prefix first (as LMDB's default). */
static inline int mem_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/**
 * struct mview - an immutable list of the memtables a reader must consult, newest first:
 * mem[0] is the active memtable when the view was installed, the others are frozen and not yet
 * checkpointed. Replaced (never changed) under db->view_lock; freed once no hazard pointer
 * holds it (kv.c).
 */
struct mview {
	struct mem *mem[MVIEW_MAX];
	int n;
	struct mview *retired_next;
};

#endif /* HKV_MEM_INT_H */
