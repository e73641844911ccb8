// SPDX-License-Identifier: GPL-2.0
/*
 * evict.c - the eviction and expiry orders of the hkv.ko table.
 *
 * Every linked entry sits in four structures, all changed only under the
 * cache's writer lock (struct hkvm_order is embedded in the cache and passed
 * in explicitly):
 *
 *   @fifo  a list in insertion order (a replacement is a new insertion);
 *   @lru   an rbtree by (generation of last use, queue sequence);
 *   @lfu   an rbtree by (generations used, generation of last use, sequence);
 *   @exp   an rbtree by (expiry, insertion sequence), entries with an expiry.
 *
 * Generations instead of a clock
 * ------------------------------
 * Readers never write anything shared by all CPUs.  Each insertion stamps
 * its entry with a new generation and moves @gen, the generation readers
 * stamp, one past it; a reader's hit stamps the entry with @gen
 * (hkvm_order_touch()), and only the first hit of an entry in a generation
 * writes at all: one cmpxchg on the entry's own line that also counts the
 * generation in the entry's @freq.  So "recency" has the resolution of one
 * insertion (a hit after an insertion is newer than it, a hit before it
 * older) and "frequency" counts the insertion intervals in which an entry
 * was read, which is what eviction (it only happens at an insertion) can
 * tell apart anyway.
 *
 * Lazy trees
 * ----------
 * Readers cannot move an entry in a tree, so each tree holds the key the
 * entry had when it was last queued.  Keys only grow (generations and counts
 * never go back), so the queued key is a lower bound of the real one.  The
 * victim search takes the smallest queued key; if the entry's real key is
 * larger (it was read since), it is queued again under its real key with a
 * new sequence number and the search goes on.  An entry whose queued key is
 * its real key is the true minimum, so the order is exact:
 *
 *   LRU  the entry whose last use (insertion or hit) is in the oldest
 *        generation; among those last used in one generation, the one queued
 *        first (inserted, or found hit by an earlier search, first).
 *   LFU  the entry read in the fewest generations since its insertion; ties
 *        broken by the generation of last use, then by queue order.
 *   FIFO the oldest insertion.
 *
 * Each requeue is paid for by a generation in which the entry was read, so
 * eviction costs O(log n) amortized.  To bound one insertion's latency after
 * a long read-only phase, one search requeues at most HKVM_REQUEUE_MAX
 * entries; after that it takes the smallest queued entry as it is (the order
 * then degrades towards CLOCK's second chance, never to a scan).  The entry
 * being inserted is never the victim.
 *
 * Expiry: hkvm_order_expired() gives the earliest-expiring entry if it has
 * expired, O(1); the cache removes expired entries before it evicts by
 * policy, and its reaper pops them in expiry order.
 */
#include <linux/kernel.h>
#include <linux/rbtree.h>
#include <linux/list.h>
#include <linux/atomic.h>

#include "hkvm_int.h"

/* Most entries one victim search queues again (see above). */
#define HKVM_REQUEUE_MAX 64

/**
 * hkvm_order_init() - empty orders.
 * @o: the cache's orders.
 */
void hkvm_order_init(struct hkvm_order *o)
{
	INIT_LIST_HEAD(&o->fifo);
	o->lru = RB_ROOT_CACHED;
	o->lfu = RB_ROOT_CACHED;
	o->exp = RB_ROOT_CACHED;
	o->gen = 0;
	o->seq = 0;
}

static bool hkvm_lru_less(struct rb_node *a, const struct rb_node *b)
{
	const struct hkvm_order_node *x = rb_entry(a, struct hkvm_order_node, lru);
	const struct hkvm_order_node *y = rb_entry(b, struct hkvm_order_node, lru);

	if (x->lru_gen != y->lru_gen)
		return x->lru_gen < y->lru_gen;
	return x->lru_seq < y->lru_seq;
}

static bool hkvm_lfu_less(struct rb_node *a, const struct rb_node *b)
{
	const struct hkvm_order_node *x = rb_entry(a, struct hkvm_order_node, lfu);
	const struct hkvm_order_node *y = rb_entry(b, struct hkvm_order_node, lfu);

	if (x->lfu_freq != y->lfu_freq)
		return x->lfu_freq < y->lfu_freq;
	if (x->lfu_gen != y->lfu_gen)
		return x->lfu_gen < y->lfu_gen;
	return x->lfu_seq < y->lfu_seq;
}

static bool hkvm_exp_less(struct rb_node *a, const struct rb_node *b)
{
	const struct hkvm_entry *x = rb_entry(a, struct hkvm_entry, order.exp);
	const struct hkvm_entry *y = rb_entry(b, struct hkvm_entry, order.exp);

	if (x->expire_ms != y->expire_ms)
		return x->expire_ms < y->expire_ms;
	return x->order.ins_seq < y->order.ins_seq;
}

static void hkvm_lru_queue(struct hkvm_order *o, struct hkvm_order_node *n,
			   u64 gen)
{
	n->lru_gen = gen;
	n->lru_seq = ++o->seq;
	rb_add_cached(&n->lru, &o->lru, hkvm_lru_less);
}

static void hkvm_lfu_queue(struct hkvm_order *o, struct hkvm_order_node *n,
			   u64 freq, u64 gen)
{
	n->lfu_freq = freq;
	n->lfu_gen = gen;
	n->lfu_seq = ++o->seq;
	rb_add_cached(&n->lfu, &o->lfu, hkvm_lfu_less);
}

/**
 * hkvm_order_insert() - queue a newly published entry in every order and
 * open a new generation.  Caller holds the writer lock.
 * @o: the cache's orders.
 * @e: the entry; its expire_ms is set.
 */
void hkvm_order_insert(struct hkvm_order *o, struct hkvm_entry *e)
{
	struct hkvm_order_node *n = &e->order;
	u64 gen = o->gen + 1;

	/* Hits from now on are newer than this insertion. */
	WRITE_ONCE(o->gen, gen + 1);
	atomic64_set(&n->gen, gen);
	atomic64_set(&n->freq, 0);
	n->ins_seq = ++o->seq;
	list_add_tail(&n->fifo, &o->fifo);
	hkvm_lru_queue(o, n, gen);
	hkvm_lfu_queue(o, n, 0, gen);
	if (e->expire_ms)
		rb_add_cached(&n->exp, &o->exp, hkvm_exp_less);
}

/**
 * hkvm_order_remove() - take an entry out of every order.  Caller holds the
 * writer lock.
 * @o: the cache's orders.
 * @e: a queued entry.
 */
void hkvm_order_remove(struct hkvm_order *o, struct hkvm_entry *e)
{
	struct hkvm_order_node *n = &e->order;

	list_del_init(&n->fifo);
	rb_erase_cached(&n->lru, &o->lru);
	rb_erase_cached(&n->lfu, &o->lfu);
	if (e->expire_ms)
		rb_erase_cached(&n->exp, &o->exp);
}

/**
 * hkvm_order_touch() - record a hit.  Lockless, any context, no sleeping;
 * writes the entry only on its first hit in the current generation.
 * @o: the cache's orders (only @o->gen is read).
 * @e: an entry the caller holds a reference on (or reads under RCU).
 */
void hkvm_order_touch(struct hkvm_order *o, struct hkvm_entry *e)
{
	u64 gen = READ_ONCE(o->gen);
	s64 old = atomic64_read(&e->order.gen);

	/* A reader with a stale @gen never moves an entry back. */
	while ((u64)old < gen) {
		if (atomic64_try_cmpxchg(&e->order.gen, &old, gen)) {
			atomic64_inc(&e->order.freq);
			break;
		}
	}
}

static struct hkvm_entry *hkvm_lru_victim(struct hkvm_order *o,
					  const struct hkvm_entry *keep)
{
	int requeues = 0;
	struct rb_node *r;

	for (r = rb_first_cached(&o->lru); r; r = rb_first_cached(&o->lru)) {
		struct hkvm_order_node *n =
			rb_entry(r, struct hkvm_order_node, lru);
		u64 gen;

		if (container_of(n, struct hkvm_entry, order) == keep) {
			r = rb_next(r);
			if (!r)
				return NULL;
			n = rb_entry(r, struct hkvm_order_node, lru);
		}
		gen = atomic64_read(&n->gen);
		if (gen == n->lru_gen || requeues >= HKVM_REQUEUE_MAX)
			return container_of(n, struct hkvm_entry, order);
		rb_erase_cached(&n->lru, &o->lru);
		hkvm_lru_queue(o, n, gen);
		requeues++;
	}
	return NULL;
}

static struct hkvm_entry *hkvm_lfu_victim(struct hkvm_order *o,
					  const struct hkvm_entry *keep)
{
	int requeues = 0;
	struct rb_node *r;

	for (r = rb_first_cached(&o->lfu); r; r = rb_first_cached(&o->lfu)) {
		struct hkvm_order_node *n =
			rb_entry(r, struct hkvm_order_node, lfu);
		u64 gen, freq;

		if (container_of(n, struct hkvm_entry, order) == keep) {
			r = rb_next(r);
			if (!r)
				return NULL;
			n = rb_entry(r, struct hkvm_order_node, lfu);
		}
		/* The count first: a racing hit then at worst requeues twice. */
		freq = atomic64_read(&n->freq);
		gen = atomic64_read(&n->gen);
		if ((freq == n->lfu_freq && gen == n->lfu_gen) ||
		    requeues >= HKVM_REQUEUE_MAX)
			return container_of(n, struct hkvm_entry, order);
		rb_erase_cached(&n->lfu, &o->lfu);
		hkvm_lfu_queue(o, n, freq, gen);
		requeues++;
	}
	return NULL;
}

/**
 * hkvm_order_victim() - the entry @policy evicts next.  Caller holds the
 * writer lock; the entry stays queued (the caller unlinks it).
 * @o: the cache's orders.
 * @policy: HKV_POLICY_*.
 * @keep: an entry never to choose (the one being inserted), or NULL.
 *
 * Return: the victim, or NULL when nothing but @keep is queued.
 */
struct hkvm_entry *hkvm_order_victim(struct hkvm_order *o, int policy,
				     const struct hkvm_entry *keep)
{
	struct hkvm_order_node *n;

	switch (policy) {
	case HKV_POLICY_LRU:
		return hkvm_lru_victim(o, keep);
	case HKV_POLICY_LFU:
		return hkvm_lfu_victim(o, keep);
	default:
		list_for_each_entry(n, &o->fifo, fifo)
			if (container_of(n, struct hkvm_entry, order) != keep)
				return container_of(n, struct hkvm_entry, order);
		return NULL;
	}
}

/**
 * hkvm_order_expired() - the earliest-expiring entry if it has expired at
 * @now_ms.  Caller holds the writer lock.  O(1).
 * @o: the cache's orders.
 * @now_ms: from hkvm_now_ms().
 * @keep: an entry never to return, or NULL.
 *
 * Return: the entry (still queued), or NULL.
 */
struct hkvm_entry *hkvm_order_expired(struct hkvm_order *o, u64 now_ms,
				      const struct hkvm_entry *keep)
{
	struct rb_node *r = rb_first_cached(&o->exp);
	struct hkvm_entry *e;

	if (!r)
		return NULL;
	e = rb_entry(r, struct hkvm_entry, order.exp);
	if (e == keep) {
		r = rb_next(r);
		if (!r)
			return NULL;
		e = rb_entry(r, struct hkvm_entry, order.exp);
	}
	return hkvm_expired(e, now_ms) ? e : NULL;
}
