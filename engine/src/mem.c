// SPDX-License-Identifier: MIT
/*
 * mem.c - the memtable: recent mutations of the index's tables, held in memory until the
 * checkpointer (ckpt.c) applies them to LMDB.
 *
 * What it holds: for each (table, record key) that a write function put or deleted since the
 * memtable was created, a chain of versions, newest first, each tagged with the sequence
 * number of the write function that made it (struct mem_ver). The write path (wtx.c) puts a
 * group's mutations here, writes them to the log, and publishes the group by raising
 * db->pub_seq; a reader whose snapshot is S sees, for every record, the newest version with
 * seq <= S, or falls through to older memtables and then to LMDB (kv.c). A version with @del
 * set hides what lies below it.
 *
 * Structure: one skiplist per table (ordered iteration, merged with LMDB cursors by kv.c) and
 * one chained hash index over all tables (point lookups in O(1): a GET that misses the
 * memtable costs one hash probe before LMDB). Nodes and versions live in an arena of chunks
 * that is freed with the memtable, never piecemeal: a reader holding a pointer into a
 * memtable it has pinned (through its view) can always follow it.
 *
 * Concurrency: one writer at a time (the group-commit leader, or replay at open), any number
 * of lock-free readers. The writer fills a node or version completely, then publishes it with
 * a release store (skiplist links from the bottom level up, hash bucket, version head); readers
 * load with acquire. Nothing is ever unlinked from a skiplist or hash chain. A failed write
 * function's versions are popped off their heads (mem_pop): their seq is above every reader's
 * snapshot, so no reader ever used them, and a reader standing on one follows its @older link,
 * which stays valid.
 *
 * Invariants:
 *  - the versions of a node are in decreasing seq order;
 *  - every version with seq <= db->pub_seq belongs to a group whose log record was written
 *    (and, under sync=always, flushed) before pub_seq was raised;
 *  - a frozen memtable is never written again.
 */
#include <stdlib.h>
#include <string.h>

#include "mem_int.h"

#define CHUNK_SIZE (256u * 1024)
#define BIG_ALLOC (CHUNK_SIZE / 4) /* larger allocations get a chunk of their own */

struct mem_chunk {
	struct mem_chunk *next;
	size_t size;
	unsigned char data[] __attribute__((aligned(16)));
};

/* Arena allocation, 8-byte aligned. Writer only. */
static void *arena_alloc(struct mem *m, size_t n)
{
	struct mem_chunk *c;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (n <= m->aleft) {
		p = m->ap;
		m->ap += n;
		m->aleft -= n;
		return p;
	}
	if (n > BIG_ALLOC) {
		c = malloc(sizeof(*c) + n);
		if (!c)
			return NULL;
		c->size = n;
		/* behind the current chunk, so that its free space stays usable */
		if (m->chunks) {
			c->next = m->chunks->next;
			m->chunks->next = c;
		} else {
			c->next = NULL;
			m->chunks = c;
		}
		atomic_fetch_add_explicit(&m->bytes, n + sizeof(*c), memory_order_relaxed);
		return c->data;
	}
	c = malloc(sizeof(*c) + CHUNK_SIZE);
	if (!c)
		return NULL;
	c->size = CHUNK_SIZE;
	c->next = m->chunks;
	m->chunks = c;
	atomic_fetch_add_explicit(&m->bytes, CHUNK_SIZE + sizeof(*c), memory_order_relaxed);
	m->ap = c->data + n;
	m->aleft = CHUNK_SIZE - n;
	return c->data;
}

static struct mem_node *node_alloc(struct mem *m, int height, size_t klen)
{
	struct mem_node *n = arena_alloc(m, sizeof(*n) + height * sizeof(n->next[0]) + klen);

	if (!n)
		return NULL;
	atomic_init(&n->head, NULL);
	n->hnext = NULL;
	n->gen = 0;
	n->hash = 0;
	n->klen = (uint16_t)klen;
	n->dbix = 0;
	n->height = (uint8_t)height;
	for (int i = 0; i < height; i++)
		atomic_init(&n->next[i], NULL);
	return n;
}

struct mem *mem_new(uint32_t buckets, uint64_t seed)
{
	struct mem *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->rng = seed | 1;
	m->mask = buckets - 1;
	m->buckets = calloc(buckets, sizeof(*m->buckets));
	if (!m->buckets)
		goto out_free;
	for (int i = 0; i < KV_NDBI; i++) {
		m->heads[i] = node_alloc(m, MEM_MAX_HEIGHT, 0);
		if (!m->heads[i])
			goto out_free;
	}
	atomic_fetch_add_explicit(&m->bytes, buckets * sizeof(*m->buckets),
				  memory_order_relaxed);
	atomic_init(&m->refs, 0);
	atomic_init(&m->frozen, false);
	return m;

out_free:
	mem_free(m);
	return NULL;
}

void mem_free(struct mem *m)
{
	struct mem_chunk *c, *next;

	if (!m)
		return;
	for (c = m->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(m->buckets);
	free(m);
}

uint32_t mem_hash(const struct hkv *db, int dbix, const void *key, size_t klen)
{
	uint64_t k[2] = { db->hkey[0] ^ (uint64_t)dbix, db->hkey[1] };

	return (uint32_t)siphash24(k, key, klen);
}

static bool node_is(const struct mem_node *n, int dbix, const void *key, size_t klen,
		    uint32_t h)
{
	return n->hash == h && n->dbix == dbix && n->klen == klen &&
	       !memcmp(mem_node_key(n), key, klen);
}

struct mem_node *mem_find(struct mem *m, int dbix, const void *key, size_t klen, uint32_t h)
{
	struct mem_node *n = atomic_load_explicit(&m->buckets[h & m->mask], memory_order_acquire);

	for (; n; n = n->hnext)
		if (node_is(n, dbix, key, klen, h))
			return n;
	return NULL;
}

static int node_cmp(const struct mem_node *n, const void *key, size_t klen)
{
	return mem_cmp(mem_node_key(n), n->klen, key, klen);
}

/* Fill @prev with the last node < @key at every level. */
static void find_prev(struct mem *m, int dbix, const void *key, size_t klen,
		      struct mem_node **prev)
{
	struct mem_node *x = m->heads[dbix];

	for (int lvl = MEM_MAX_HEIGHT - 1; lvl >= 0; lvl--) {
		for (;;) {
			struct mem_node *nx = atomic_load_explicit(&x->next[lvl],
								   memory_order_acquire);

			if (!nx || node_cmp(nx, key, klen) >= 0)
				break;
			x = nx;
		}
		prev[lvl] = x;
	}
}

static int random_height(struct mem *m)
{
	int h = 1;

	/* xorshift64; each level with probability 1/4 */
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	for (uint64_t r = m->rng; h < MEM_MAX_HEIGHT && (r & 3) == 0; r >>= 2)
		h++;
	return h;
}

struct mem_node *mem_insert(struct mem *m, int dbix, const void *key, size_t klen, uint32_t h)
{
	struct mem_node *prev[MEM_MAX_HEIGHT], *n;
	int height;

	n = mem_find(m, dbix, key, klen, h);
	if (n)
		return n;
	height = random_height(m);
	n = node_alloc(m, height, klen);
	if (!n)
		return NULL;
	n->hash = h;
	n->dbix = (uint8_t)dbix;
	memcpy((unsigned char *)mem_node_key(n), key, klen);
	find_prev(m, dbix, key, klen, prev);
	for (int i = 0; i < height; i++) {
		atomic_store_explicit(&n->next[i],
				      atomic_load_explicit(&prev[i]->next[i], memory_order_relaxed),
				      memory_order_relaxed);
		atomic_store_explicit(&prev[i]->next[i], n, memory_order_release);
	}
	n->hnext = atomic_load_explicit(&m->buckets[h & m->mask], memory_order_relaxed);
	atomic_store_explicit(&m->buckets[h & m->mask], n, memory_order_release);
	m->nodes++;
	return n;
}

struct mem_ver *mem_push(struct mem *m, struct mem_node *n, uint64_t seq, bool del,
			 const void *val, size_t vlen)
{
	struct mem_ver *v = arena_alloc(m, sizeof(*v) + vlen);

	if (!v)
		return NULL;
	v->older = atomic_load_explicit(&n->head, memory_order_relaxed);
	v->seq = seq;
	v->vlen = (uint32_t)vlen;
	v->del = del;
	if (val && vlen)
		memcpy(v->val, val, vlen);
	if (seq > m->last_seq)
		m->last_seq = seq;
	/* a reserved value is filled by the caller before its group is published */
	atomic_store_explicit(&n->head, v, memory_order_release);
	return v;
}

void mem_pop(struct mem_node *n, uint64_t seq)
{
	struct mem_ver *v = atomic_load_explicit(&n->head, memory_order_relaxed);

	while (v && v->seq >= seq)
		v = v->older;
	atomic_store_explicit(&n->head, v, memory_order_release);
}

struct mem_node *mem_seek_lt(struct mem *m, int dbix, const void *key, size_t klen,
			     bool inclusive)
{
	struct mem_node *x = m->heads[dbix];

	for (int lvl = MEM_MAX_HEIGHT - 1; lvl >= 0; lvl--) {
		for (;;) {
			struct mem_node *nx = atomic_load_explicit(&x->next[lvl],
								   memory_order_acquire);
			int c;

			if (!nx)
				break;
			c = node_cmp(nx, key, klen);
			if (c > 0 || (c == 0 && !inclusive))
				break;
			x = nx;
		}
	}
	return x;
}

struct mem_node *mem_last(struct mem *m, int dbix)
{
	struct mem_node *x = m->heads[dbix];

	for (int lvl = MEM_MAX_HEIGHT - 1; lvl >= 0; lvl--) {
		for (;;) {
			struct mem_node *nx = atomic_load_explicit(&x->next[lvl],
								   memory_order_acquire);

			if (!nx)
				break;
			x = nx;
		}
	}
	return x;
}
