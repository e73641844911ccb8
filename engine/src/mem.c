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
 * Structure: one skiplist per table (ordered iteration, merged with LMDB cursors by kv.c;
 * filled lazily, see "Order" below) and one hash index over all tables for point lookups: an
 * open-addressing array of 64-bit slots, each 0 or (16-bit tag from the hash's top bits) << 48
 * | (node address, 48 bits), probed linearly, so a GET that misses the memtable costs about one
 * cache line per memtable before LMDB. The array starts small and doubles when it is 3/4 full
 * (the writer builds the new one and publishes it with a release store; readers keep probing
 * the one they loaded, which holds every node their snapshot can see; old arrays are freed with
 * the memtable): an index only as large as its memtable keeps lookups within few pages (TLB
 * misses are the dearest part of a probe in a virtual machine). A memtable that replaces a
 * full one starts at the size its predecessor reached, though: each doubling copies the whole
 * array while the writer waits (about 20 ms for the last one of a 64 MiB memtable), and under
 * a steady stream of writes the new one fills as far. Past its maximum size
 * (hkv_options.ckpt_bytes / 64 slots, twice what a full memtable needs; a huge group can exceed
 * it) the index stops taking nodes and lookups in that memtable search its skiplist instead.
 * Nodes and versions live in an arena of chunks that is freed with the memtable, never
 * piecemeal: a reader holding a pointer into a memtable it has pinned (through its view) can
 * always follow it.
 *
 * Concurrency: one writer at a time (the group-commit leader, or replay at open), any number
 * of lock-free readers, and one linker at a time (order_lock: whoever needs key order links
 * the pending nodes into the skiplists). The writer fills a node or version completely, then
 * publishes it with a release store (pending count, hash slot, version head); the linker
 * links from the bottom level up with release stores; readers load with acquire. Nothing is
 * ever unlinked from a skiplist or the hash index. A failed write function's versions are
 * popped off their heads (mem_pop): their seq is above every reader's snapshot, so no reader
 * ever used them, and a reader standing on one follows its @older link, which stays valid.
 *
 * Invariants:
 *  - the versions of a node are in decreasing seq order;
 *  - every version with seq <= db->pub_seq belongs to a group whose log record was written
 *    (and, under sync=always, flushed) before pub_seq was raised;
 *  - a frozen memtable is never written again (its pending nodes may still be linked);
 *  - after mem_order() returns, the skiplists hold every node appended before the call began.
 */
#include <pthread.h>
#include <stddef.h>
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

/*
 * The chunks of freed memtables, kept for the next ones: memory a store already had does not
 * go back to the system and come back as fresh pages, whose first touch costs a page fault
 * each (on these virtual machines more than the rest of an insert). Bounded by @max bytes of
 * chunks (hkv_options.ckpt_bytes: one full memtable); any thread frees into it (the last
 * reader of a view), the writer takes from it.
 */
struct mem_pool {
	pthread_mutex_t lock;
	struct mem_chunk *free; /* under lock */
	size_t bytes;           /* under lock */
	size_t max;
};

struct mem_pool *mem_pool_new(size_t max_bytes)
{
	struct mem_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->max = max_bytes;
	return p;
}

void mem_pool_free(struct mem_pool *p)
{
	struct mem_chunk *c, *next;

	if (!p)
		return;
	for (c = p->free; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static struct mem_chunk *pool_take(struct mem_pool *p)
{
	struct mem_chunk *c;

	pthread_mutex_lock(&p->lock);
	c = p->free;
	if (c) {
		p->free = c->next;
		p->bytes -= CHUNK_SIZE;
	}
	pthread_mutex_unlock(&p->lock);
	return c;
}

/* Keep @c if the pool has room; Return: whether it did. */
static bool pool_give(struct mem_pool *p, struct mem_chunk *c)
{
	bool kept = false;

	pthread_mutex_lock(&p->lock);
	if (p->bytes + CHUNK_SIZE <= p->max) {
		c->next = p->free;
		p->free = c;
		p->bytes += CHUNK_SIZE;
		kept = true;
	}
	pthread_mutex_unlock(&p->lock);
	return kept;
}

/* Arena allocation, 8-byte aligned (16 with @a16). Writer only. */
static void *arena_alloc_at(struct mem *m, size_t n, bool a16)
{
	struct mem_chunk *c;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (a16 && (uintptr_t)m->ap & 15 && m->aleft >= 8) {
		m->ap += 8;
		m->aleft -= 8;
	}
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
	c = m->pool ? pool_take(m->pool) : NULL;
	if (!c)
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

static void *arena_alloc(struct mem *m, size_t n)
{
	return arena_alloc_at(m, n, false);
}

/* see struct mem_node: pfx and next[0] within one aligned 16 bytes */
_Static_assert(offsetof(struct mem_node, pfx) % 16 == 0 &&
	       offsetof(struct mem_node, next) == offsetof(struct mem_node, pfx) + 8,
	       "mem_node layout");

static struct mem_node *node_alloc(struct mem *m, int height, size_t klen)
{
	struct mem_node *n = arena_alloc_at(m, sizeof(*n) + height * sizeof(n->next[0]) + klen,
					    true);

	if (!n)
		return NULL;
	atomic_init(&n->head, NULL);
	n->gen = 0;
	n->pfx = 0;
	n->hash = 0;
	n->klen = (uint16_t)klen;
	n->dbix = 0;
	n->height = (uint8_t)height;
	for (int i = 0; i < height; i++)
		atomic_init(&n->next[i], NULL);
	return n;
}

/*
 * The index: @slots (see the top of this file), and a blocked Bloom filter of one 64-bit word
 * per 8 slots (about 10 bits per node when full), three bits per node in one word: a lookup
 * of a key the memtable does not hold usually stops at that word, which stays in cache where
 * the slot array would not.
 */
struct mem_index {
	uint32_t mask;
	uint32_t bmask;
	struct mem_index *older;
	_Atomic uint64_t *bloom;
	_Atomic uint64_t slots[];
};

#define INDEX_MIN 1024

static struct mem_index *index_new(uint32_t nslots)
{
	struct mem_index *x = calloc(1, sizeof(*x) + nslots * sizeof(x->slots[0]) +
				     nslots / 8 * sizeof(uint64_t));

	if (x) {
		x->mask = nslots - 1;
		x->bmask = nslots / 8 - 1;
		x->bloom = (_Atomic uint64_t *)&x->slots[nslots];
	}
	return x;
}

static inline uint64_t bloom_bits(uint64_t h, uint32_t *word, uint32_t bmask)
{
	uint64_t g = h * 0x9e3779b97f4a7c15ull;

	*word = (uint32_t)(g >> 40) & bmask;
	return 1ull << (g & 63) | 1ull << ((g >> 6) & 63) | 1ull << ((g >> 12) & 63);
}

static void bloom_add(struct mem_index *x, uint64_t h)
{
	uint32_t w;
	uint64_t bits = bloom_bits(h, &w, x->bmask);

	atomic_fetch_or_explicit(&x->bloom[w], bits, memory_order_release);
}

struct mem *mem_new(uint32_t slots, uint32_t first, uint64_t seed, struct mem_pool *pool)
{
	struct mem *m = calloc(1, sizeof(*m));
	struct mem_index *x;

	if (!m)
		return NULL;
	m->pool = pool;
	m->rng = seed | 1;
	pthread_mutex_init(&m->order_lock, NULL);
	m->max_slots = slots > INDEX_MIN ? slots : INDEX_MIN;
	if (first < INDEX_MIN || first > m->max_slots || first & (first - 1))
		first = INDEX_MIN;
	x = index_new(first);
	if (!x)
		goto out_free;
	atomic_init(&m->idx, x);
	for (int i = 0; i < KV_NDBI; i++) {
		m->heads[i] = node_alloc(m, MEM_MAX_HEIGHT, 0);
		if (!m->heads[i])
			goto out_free;
	}
	atomic_fetch_add_explicit(&m->bytes, (uint64_t)first * (sizeof(x->slots[0]) + 1),
				  memory_order_relaxed);
	atomic_init(&m->refs, 0);
	atomic_init(&m->frozen, false);
	atomic_init(&m->hash_full, false);
	atomic_init(&m->filled, false);
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
		if (c->size != CHUNK_SIZE || !m->pool || !pool_give(m->pool, c))
			free(c);
	}
	for (struct mem_index *x = atomic_load(&m->idx), *next; x; x = next) {
		next = x->older;
		free(x);
	}
	pthread_mutex_destroy(&m->order_lock);
	free(m);
}

uint64_t mem_hash(const struct hkv *db, int dbix, const void *key, size_t klen)
{
	uint64_t k[2] = { db->hkey[0] ^ (uint64_t)dbix, db->hkey[1] };

	return siphash13(k, key, klen);
}

#define SLOT_PTR ((1ull << 48) - 1)

static inline uint64_t slot_of(const struct mem_node *n)
{
	return (n->hash >> 48) << 48 | ((uintptr_t)n & SLOT_PTR);
}

static bool node_is(const struct mem_node *n, int dbix, const void *key, size_t klen,
		    uint64_t h)
{
	return n->hash == h && n->dbix == dbix && n->klen == klen &&
	       !memcmp(mem_node_key(n), key, klen);
}

static int node_cmp(const struct mem_node *n, const void *key, size_t klen);

struct mem_node *mem_find(struct mem *m, int dbix, const void *key, size_t klen, uint64_t h)
{
	uint64_t tag = h >> 48 << 48;

	if (atomic_load_explicit(&m->hash_full, memory_order_acquire)) {
		struct mem_node *n = mem_seek_lt(m, dbix, key, klen, true);

		return n != m->heads[dbix] && !node_cmp(n, key, klen) ? n : NULL;
	}
	struct mem_index *x = atomic_load_explicit(&m->idx, memory_order_acquire);
	uint32_t w;
	uint64_t bits = bloom_bits(h, &w, x->bmask);

	if ((atomic_load_explicit(&x->bloom[w], memory_order_acquire) & bits) != bits)
		return NULL;
	for (uint32_t i = (uint32_t)h & x->mask;; i = (i + 1) & x->mask) {
		uint64_t e = atomic_load_explicit(&x->slots[i], memory_order_acquire);
		struct mem_node *n;

		if (!e)
			return NULL;
		if ((e & ~SLOT_PTR) != tag)
			continue;
		n = (struct mem_node *)(uintptr_t)(e & SLOT_PTR);
		if (node_is(n, dbix, key, klen, h))
			return n;
	}
}

void mem_prefetch(struct mem *m, uint64_t h, bool slot)
{
	struct mem_index *x;
	uint32_t w;

	if (atomic_load_explicit(&m->hash_full, memory_order_relaxed))
		return;
	x = atomic_load_explicit(&m->idx, memory_order_acquire);
	bloom_bits(h, &w, x->bmask);
	__builtin_prefetch((const void *)&x->bloom[w]);
	if (slot)
		__builtin_prefetch((const void *)&x->slots[(uint32_t)h & x->mask]);
}

static void index_put(struct mem_index *x, uint64_t hash, uint64_t slot)
{
	uint32_t i;

	for (i = (uint32_t)hash & x->mask;
	     atomic_load_explicit(&x->slots[i], memory_order_relaxed); i = (i + 1) & x->mask)
		;
	/* the filter first: a reader that finds the slot must not be stopped by the filter */
	bloom_add(x, hash);
	atomic_store_explicit(&x->slots[i], slot, memory_order_release);
}

/*
 * Put @n into the hash index, doubling it first when it is 3/4 full. Writer. Return: false
 * if the index is at max_slots (or there is no memory for a larger one): the caller stops
 * using it (mem_insert()).
 */
static bool slot_insert(struct mem *m, struct mem_node *n)
{
	struct mem_index *x = atomic_load_explicit(&m->idx, memory_order_relaxed), *nx;

	if ((uint64_t)(m->used + 1) * 4 > (uint64_t)(x->mask + 1) * 3) {
		uint32_t size = (x->mask + 1) * 2;

		nx = size <= m->max_slots ? index_new(size) : NULL;
		if (!nx)
			return false;
		for (uint32_t i = 0; i <= x->mask; i++) {
			uint64_t e = atomic_load_explicit(&x->slots[i], memory_order_relaxed);

			if (e)
				index_put(nx, ((struct mem_node *)(uintptr_t)(e & SLOT_PTR))->hash, e);
		}
		nx->older = x;
		atomic_fetch_add_explicit(&m->bytes, (uint64_t)size * (sizeof(nx->slots[0]) + 1),
					  memory_order_relaxed);
		atomic_store_explicit(&m->idx, nx, memory_order_release);
		x = nx;
	}
	index_put(x, n->hash, slot_of(n));
	m->used++;
	return true;
}

uint32_t mem_index_slots(struct mem *m)
{
	return atomic_load_explicit(&m->idx, memory_order_relaxed)->mask + 1;
}

static uint64_t key_pfx(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < klen ? p[i] : 0);
	return v;
}

static int node_cmp(const struct mem_node *n, const void *key, size_t klen)
{
	return mem_cmp(mem_node_key(n), n->klen, key, klen);
}

/*
 * node_cmp() with the key's prefix @kp (key_pfx()): different prefixes order the keys as
 * their bytes do (zero padding only ties with a real zero byte), so the full compare, and the
 * cache line of the key bytes, is needed only on a tie.
 */
static inline int node_cmp_pfx(const struct mem_node *n, uint64_t kp, const void *key,
			       size_t klen)
{
	if (n->pfx != kp)
		return n->pfx < kp ? -1 : 1;
	return node_cmp(n, key, klen);
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

/* Link @n after @prev[i] at each of its levels. Under order_lock. */
static void link_node(struct mem_node *n, struct mem_node **prev)
{
	for (int i = 0; i < n->height; i++) {
		atomic_store_explicit(&n->next[i],
				      atomic_load_explicit(&prev[i]->next[i], memory_order_relaxed),
				      memory_order_relaxed);
		atomic_store_explicit(&prev[i]->next[i], n, memory_order_release);
	}
}

/* ---------------------------------------------------------------------------------------
 * Order: the skiplists are filled lazily
 *
 * A point lookup never needs the skiplists (the hash index answers it), and most memtables
 * are never walked in key order until the checkpointer applies them. So the writer does not
 * link a new node into its skiplist (a search of about twenty nodes spread over the whole
 * memtable, most of them cache and TLB misses: the largest part of a SET at a million keys);
 * it appends the node to its table's list of pending nodes (struct mem_pendq; blocks of the
 * arena) and publishes the list's count with a release store. Whoever next needs key order in
 * that table (an iterator or seek in kv.c, the checkpointer; mem_head(), mem_seek_lt() and
 * mem_last() all call mem_order()) links the table's pending nodes under order_lock: a small
 * batch one by one, a large one sorted first and linked in key order from a finger (the nodes
 * passed last), which makes linking a whole memtable a sequential pass. The list's done count
 * (release, under the lock) says how far linking got. The lists are per table so that a walk
 * of one table (the expiry sweep walks the expiry table every 100 ms) leaves the others to
 * the checkpointer, which sorts each whole table once.
 *
 * Why readers still see everything they must: a version is published (db->pub_seq, release)
 * after its node was appended, so a reader that loaded pub_seq and then the count sees one
 * that covers every node its snapshot can see a version of; mem_order() returns only when
 * the done count has reached it. Linking changes only forward pointers, with the same
 * release stores as an insert, so lock-free walkers are never disturbed. When the hash index
 * is full (see the top of this file) lookups must search the skiplists: the writer then links
 * every pending node and each new one itself before it sets hash_full.
 */

#define PEND_BLOCK 1024u
#define ORDER_SORT_MIN 64u /* smaller batches are linked one by one */

struct mem_pend {
	struct mem_pend *next; /* written before the count covers any entry of the next block */
	struct mem_node *v[PEND_BLOCK];
};

struct order_ent {
	uint64_t pfx;
	struct mem_node *n;
};

static int order_ent_cmp(const void *a, const void *b)
{
	const struct order_ent *x = a, *y = b;

	if (x->pfx != y->pfx)
		return x->pfx < y->pfx ? -1 : 1;
	return mem_cmp(mem_node_key(x->n), x->n->klen, mem_node_key(y->n), y->n->klen);
}

/*
 * Fill @prev with the last node < @n's key at every level of its table, starting each level
 * from the later of the node the level above ended on and @finger[level] (both < the key;
 * @finger NULL: from the head only). Under order_lock.
 */
static void find_prev_from(struct mem *m, const struct mem_node *n, struct mem_node **finger,
			   struct mem_node **prev)
{
	struct mem_node *head = m->heads[n->dbix], *x = head;
	const unsigned char *key = mem_node_key(n);

	for (int lvl = MEM_MAX_HEIGHT - 1; lvl >= 0; lvl--) {
		struct mem_node *f = finger ? finger[lvl] : NULL;

		if (f && f != head && f != x && (x == head || node_cmp_pfx(f, x->pfx,
				mem_node_key(x), x->klen) > 0))
			x = f;
		for (;;) {
			struct mem_node *nx = atomic_load_explicit(&x->next[lvl],
								   memory_order_relaxed);

			if (!nx || node_cmp_pfx(nx, n->pfx, key, n->klen) >= 0)
				break;
			x = nx;
		}
		prev[lvl] = x;
	}
}

/* The next pending node of @q to link (one exists: done < n). Under order_lock. */
static struct mem_node *pend_take(struct mem_pendq *q)
{
	if (!q->cur) {
		q->cur = q->first;
		q->ix = 0;
	} else if (q->ix == PEND_BLOCK) {
		q->cur = q->cur->next;
		q->ix = 0;
	}
	return q->cur->v[q->ix++];
}

/* Link the nodes pending in table @dbix up to its count as loaded now. Under order_lock. */
static void order_drain(struct mem *m, int dbix)
{
	struct mem_pendq *q = &m->pend[dbix];
	uint64_t n = atomic_load_explicit(&q->n, memory_order_acquire);
	uint64_t done = atomic_load_explicit(&q->done, memory_order_relaxed);
	struct mem_node *prev[MEM_MAX_HEIGHT], *finger[MEM_MAX_HEIGHT];
	size_t cnt = (size_t)(n - done);
	struct order_ent *e = NULL;

	if (!cnt)
		return;
	if (cnt >= ORDER_SORT_MIN)
		e = malloc(cnt * sizeof(*e));
	if (!e) {
		/* a small batch, or no memory for sorting: one search from the head each */
		for (size_t i = 0; i < cnt; i++) {
			struct mem_node *x = pend_take(q);

			find_prev_from(m, x, NULL, prev);
			link_node(x, prev);
		}
	} else {
		for (size_t i = 0; i < cnt; i++) {
			e[i].n = pend_take(q);
			e[i].pfx = e[i].n->pfx;
		}
		qsort(e, cnt, sizeof(*e), order_ent_cmp);
		for (int l = 0; l < MEM_MAX_HEIGHT; l++)
			finger[l] = m->heads[dbix];
		for (size_t i = 0; i < cnt; i++) {
			struct mem_node *x = e[i].n;

			find_prev_from(m, x, finger, prev);
			link_node(x, prev);
			for (int l = 0; l < MEM_MAX_HEIGHT; l++)
				finger[l] = l < x->height ? x : prev[l];
		}
		free(e);
	}
	atomic_store_explicit(&q->done, n, memory_order_release);
}

void mem_order_slow(struct mem *m, int dbix)
{
	pthread_mutex_lock(&m->order_lock);
	order_drain(m, dbix);
	pthread_mutex_unlock(&m->order_lock);
}

/* Append @n to the pending nodes of its table (pend_room() made room). Writer. */
static void pend_add(struct mem *m, struct mem_node *n)
{
	struct mem_pendq *q = &m->pend[n->dbix];

	q->tail->v[q->fill++] = n;
	atomic_store_explicit(&q->n, atomic_load_explicit(&q->n, memory_order_relaxed) + 1,
			      memory_order_release);
}

/* Make room for one more pending node of table @dbix. Writer. Return: false if no memory. */
static bool pend_room(struct mem *m, int dbix)
{
	struct mem_pendq *q = &m->pend[dbix];
	struct mem_pend *b;

	if (q->tail && q->fill < PEND_BLOCK)
		return true;
	b = arena_alloc(m, sizeof(*b));
	if (!b)
		return false;
	b->next = NULL;
	if (q->tail)
		q->tail->next = b;
	else
		q->first = b;
	q->tail = b;
	q->fill = 0;
	return true;
}

struct mem_node *mem_insert(struct mem *m, int dbix, const void *key, size_t klen, uint64_t h)
{
	struct mem_node *prev[MEM_MAX_HEIGHT], *n;
	bool full = atomic_load_explicit(&m->hash_full, memory_order_relaxed);
	int height;

	n = mem_find(m, dbix, key, klen, h);
	if (n)
		return n;
	if (!full && !pend_room(m, dbix))
		return NULL;
	height = random_height(m);
	n = node_alloc(m, height, klen);
	if (!n)
		return NULL;
	n->hash = h;
	n->pfx = key_pfx(key, klen);
	n->dbix = (uint8_t)dbix;
	memcpy((unsigned char *)mem_node_key(n), key, klen);
	if (!full && slot_insert(m, n)) {
		pend_add(m, n);
	} else {
		/* the index is full: lookups search the skiplists, which must hold every node */
		pthread_mutex_lock(&m->order_lock);
		for (int i = 0; i < KV_NDBI; i++)
			order_drain(m, i);
		find_prev_from(m, n, NULL, prev);
		link_node(n, prev);
		atomic_store_explicit(&m->hash_full, true, memory_order_release);
		pthread_mutex_unlock(&m->order_lock);
	}
	if (!m->nodes++)
		atomic_store_explicit(&m->filled, true, memory_order_release);
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
	struct mem_node *x = mem_head(m, dbix);
	uint64_t kp = key_pfx(key, klen);

	for (int lvl = MEM_MAX_HEIGHT - 1; lvl >= 0; lvl--) {
		for (;;) {
			struct mem_node *nx = atomic_load_explicit(&x->next[lvl],
								   memory_order_acquire);
			int c;

			if (!nx)
				break;
			c = node_cmp_pfx(nx, kp, key, klen);
			if (c > 0 || (c == 0 && !inclusive))
				break;
			x = nx;
		}
	}
	return x;
}

struct mem_node *mem_last(struct mem *m, int dbix)
{
	struct mem_node *x = mem_head(m, dbix);

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
