// SPDX-License-Identifier: MIT
/*
 * hot.c - which keys are hot: a Count-Min Sketch over reads, halved periodically, plus the
 * top-K keys by estimated count.
 *
 * The sketch is depth rows of width 32-bit counters. A read of a key adds one to one counter
 * per row (indices from one 64-bit hash by double hashing) and the estimate is the smallest of
 * those counters: never below the true count, above it only by collisions. Halving every
 * counter each decay period turns counts into a recent rate (steady r reads per period settle
 * near 2r) so keys cool down when their readers leave.
 *
 * The cost of a read is depth relaxed atomic increments plus one probe of a small lock-free
 * table of the top-K members' hashes. Only a key that is not a member and whose estimate
 * beats the current entry threshold (the smallest member count when the top-K is full) takes
 * the mutex, to join the top-K. So a hot key that is already a member never takes a lock, and
 * a cold key never does either.
 *
 * Counts stored with members are refreshed from the sketch when the mutex is taken (to find
 * the weakest member) and when a snapshot is taken.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"

#define MEMBER_EMPTY 0
#define MEMBER_GONE 1

struct topk_slot {
	void *key;
	size_t klen;
	uint64_t hash;
	uint32_t count;
};

struct hkvfs_hot {
	unsigned depth;
	uint32_t mask;          /* width - 1 */
	_Atomic uint32_t *ctr;  /* depth * width counters */

	unsigned k;
	uint32_t mmask;         /* member table size - 1 */
	_Atomic uint64_t *member; /* hashes of the top-K members; lock-free reads */
	atomic_uint threshold;  /* an estimate must exceed this to join a full top-K */

	pthread_mutex_t lock;   /* protects slots, n and writes to member[] */
	struct topk_slot *slots;
	unsigned n;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t key_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = mix64(0x686f74ull ^ len);
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
	h = mix64(h);
	return h > MEMBER_GONE ? h : h + 2;
}

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

struct hkvfs_hot *hkvfs_hot_new(unsigned k, unsigned width, unsigned depth)
{
	struct hkvfs_hot *h;
	uint32_t w;

	if (!k || k > 4096 || width < 64 || width > (1u << 24) || !depth || depth > 8) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto out_nomem;
	w = pow2_at_least(width);
	h->depth = depth;
	h->mask = w - 1;
	h->k = k;
	h->mmask = pow2_at_least(4 * k) - 1;
	h->ctr = calloc((size_t)w * depth, sizeof(*h->ctr));
	h->member = calloc((size_t)h->mmask + 1, sizeof(*h->member));
	h->slots = calloc(k, sizeof(*h->slots));
	if (!h->ctr || !h->member || !h->slots)
		goto out_free;
	pthread_mutex_init(&h->lock, NULL);
	return h;

out_free:
	free(h->ctr);
	free(h->member);
	free(h->slots);
	free(h);
out_nomem:
	errno = ENOMEM;
	return NULL;
}

void hkvfs_hot_free(struct hkvfs_hot *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->n; i++)
		free(h->slots[i].key);
	pthread_mutex_destroy(&h->lock);
	free(h->ctr);
	free(h->member);
	free(h->slots);
	free(h);
}

static uint32_t sketch(struct hkvfs_hot *h, uint64_t hash, bool add)
{
	uint32_t h1 = (uint32_t)hash, h2 = (uint32_t)(hash >> 32) | 1, est = UINT32_MAX;
	uint32_t w = h->mask + 1;

	for (unsigned i = 0; i < h->depth; i++) {
		_Atomic uint32_t *c = &h->ctr[(size_t)i * w + ((h1 + i * h2) & h->mask)];
		uint32_t v;

		if (add)
			v = atomic_fetch_add_explicit(c, 1, memory_order_relaxed) + 1;
		else
			v = atomic_load_explicit(c, memory_order_relaxed);
		if (v < est)
			est = v;
	}
	return est;
}

static bool member_has(struct hkvfs_hot *h, uint64_t hash)
{
	for (uint32_t i = (uint32_t)hash & h->mmask, n = 0; n <= h->mmask;
	     i = (i + 1) & h->mmask, n++) {
		uint64_t v = atomic_load_explicit(&h->member[i], memory_order_acquire);

		if (v == hash)
			return true;
		if (v == MEMBER_EMPTY)
			return false;
	}
	return false;
}

/* Under h->lock. The table holds at most k live hashes in 4k places: there is always room. */
static void member_add(struct hkvfs_hot *h, uint64_t hash)
{
	uint32_t i = (uint32_t)hash & h->mmask;

	while (atomic_load_explicit(&h->member[i], memory_order_relaxed) > MEMBER_GONE)
		i = (i + 1) & h->mmask;
	atomic_store_explicit(&h->member[i], hash, memory_order_release);
}

static void member_del(struct hkvfs_hot *h, uint64_t hash)
{
	for (uint32_t i = (uint32_t)hash & h->mmask, n = 0; n <= h->mmask;
	     i = (i + 1) & h->mmask, n++) {
		uint64_t v = atomic_load_explicit(&h->member[i], memory_order_relaxed);

		if (v == hash) {
			atomic_store_explicit(&h->member[i], MEMBER_GONE, memory_order_release);
			return;
		}
		if (v == MEMBER_EMPTY)
			return;
	}
}

/* Under h->lock: rebuild the member table when tombstones pile up. */
static void member_rebuild(struct hkvfs_hot *h)
{
	for (uint32_t i = 0; i <= h->mmask; i++)
		atomic_store_explicit(&h->member[i], MEMBER_EMPTY, memory_order_relaxed);
	for (unsigned i = 0; i < h->n; i++)
		member_add(h, h->slots[i].hash);
}

/* Under h->lock: refresh member counts from the sketch, return the weakest slot. */
static unsigned weakest(struct hkvfs_hot *h)
{
	unsigned w = 0;

	for (unsigned i = 0; i < h->n; i++) {
		h->slots[i].count = sketch(h, h->slots[i].hash, false);
		if (h->slots[i].count < h->slots[w].count)
			w = i;
	}
	return w;
}

static void slot_drop(struct hkvfs_hot *h, unsigned i)
{
	member_del(h, h->slots[i].hash);
	free(h->slots[i].key);
	h->slots[i] = h->slots[--h->n];
}

static void join(struct hkvfs_hot *h, const void *key, size_t klen, uint64_t hash, uint32_t est)
{
	struct topk_slot *s;
	void *copy;
	unsigned w;

	pthread_mutex_lock(&h->lock);
	if (member_has(h, hash))
		goto out_unlock;
	if (h->n == h->k) {
		w = weakest(h);
		if (est <= h->slots[w].count) {
			atomic_store_explicit(&h->threshold, h->slots[w].count,
					      memory_order_relaxed);
			goto out_unlock;
		}
		slot_drop(h, w);
	}
	copy = malloc(klen ? klen : 1);
	if (!copy)
		goto out_unlock; /* not tracking one key is harmless */
	memcpy(copy, key, klen);
	s = &h->slots[h->n++];
	s->key = copy;
	s->klen = klen;
	s->hash = hash;
	s->count = est;
	member_add(h, hash);
	if (h->n == h->k) {
		w = weakest(h);
		atomic_store_explicit(&h->threshold, h->slots[w].count, memory_order_relaxed);
	}
out_unlock:
	pthread_mutex_unlock(&h->lock);
}

uint32_t hkvfs_hot_touch(struct hkvfs_hot *h, const void *key, size_t klen)
{
	uint64_t hash = key_hash(key, klen);
	uint32_t est = sketch(h, hash, true);

	if (est > atomic_load_explicit(&h->threshold, memory_order_relaxed) &&
	    !member_has(h, hash))
		join(h, key, klen, hash, est);
	return est;
}

uint32_t hkvfs_hot_estimate(struct hkvfs_hot *h, const void *key, size_t klen)
{
	return sketch(h, key_hash(key, klen), false);
}

void hkvfs_hot_decay(struct hkvfs_hot *h)
{
	size_t n = (size_t)(h->mask + 1) * h->depth;

	for (size_t i = 0; i < n; i++) {
		uint32_t v = atomic_load_explicit(&h->ctr[i], memory_order_relaxed);

		if (v)
			atomic_store_explicit(&h->ctr[i], v >> 1, memory_order_relaxed);
	}
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->n;) {
		h->slots[i].count = sketch(h, h->slots[i].hash, false);
		if (!h->slots[i].count)
			slot_drop(h, i);
		else
			i++;
	}
	member_rebuild(h);
	if (h->n == h->k)
		atomic_store_explicit(&h->threshold, h->slots[weakest(h)].count,
				      memory_order_relaxed);
	else
		atomic_store_explicit(&h->threshold, 0, memory_order_relaxed);
	pthread_mutex_unlock(&h->lock);
}

void hkvfs_hot_forget(struct hkvfs_hot *h, const void *key, size_t klen)
{
	uint64_t hash = key_hash(key, klen);

	if (!member_has(h, hash))
		return;
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->n; i++) {
		if (h->slots[i].hash == hash && h->slots[i].klen == klen &&
		    !memcmp(h->slots[i].key, key, klen)) {
			slot_drop(h, i);
			atomic_store_explicit(&h->threshold, 0, memory_order_relaxed);
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct hkvfs_hot_entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return memcmp(x->key, y->key, x->klen);
}

int hkvfs_hot_snapshot(struct hkvfs_hot *h, struct hkvfs_hot_entry **out)
{
	struct hkvfs_hot_entry *v = NULL;
	int n = 0;

	pthread_mutex_lock(&h->lock);
	if (h->n) {
		v = calloc(h->n, sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&h->lock);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < h->n; i++) {
		v[n].key = malloc(h->slots[i].klen ? h->slots[i].klen : 1);
		if (!v[n].key) {
			pthread_mutex_unlock(&h->lock);
			hkvfs_hot_entries_free(v, n);
			return -ENOMEM;
		}
		memcpy(v[n].key, h->slots[i].key, h->slots[i].klen);
		v[n].klen = h->slots[i].klen;
		v[n].count = sketch(h, h->slots[i].hash, false);
		n++;
	}
	pthread_mutex_unlock(&h->lock);
	if (n)
		qsort(v, (size_t)n, sizeof(*v), entry_cmp);
	*out = v;
	return n;
}

void hkvfs_hot_entries_free(struct hkvfs_hot_entry *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}
