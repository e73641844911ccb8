/* SPDX-License-Identifier: MIT */
/*
 * dict.h - a hash table from byte strings to pointers, for the server's own bookkeeping
 * (pub/sub channels, keys clients block on, scan cursors, clients by id). The keyspace itself
 * lives in the engine, never here.
 *
 * Keys are copied into the table; values are borrowed pointers. Hashing is SipHash-1-3 with a
 * per-process random key, so a client choosing channel names cannot make lookups quadratic.
 * Not thread-safe: each table belongs to the thread that runs the server's event loop.
 */
#ifndef HKV_SERVER_DICT_H
#define HKV_SERVER_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dict_entry {
	struct dict_entry *next;
	uint64_t hash;
	void *val;
	size_t klen;
	unsigned char key[];
};

struct dict {
	struct dict_entry **table;
	size_t size;  /* buckets, a power of two (0 before the first insert) */
	size_t used;  /* entries */
};

/** dict_hash() - the keyed hash of @key (also used to pick random cursors' buckets). */
uint64_t dict_hash(const void *key, size_t klen);

void dict_init(struct dict *d);
/** dict_release() - free every entry, calling @valfree (if not NULL) on each value. */
void dict_release(struct dict *d, void (*valfree)(void *));

/** dict_find() - the entry of @key, or NULL. */
struct dict_entry *dict_find(const struct dict *d, const void *key, size_t klen);
/**
 * dict_add() - insert @key with @val, or find it.
 * @created: set to whether the entry is new.
 * Return: the entry (new or existing); NULL on ENOMEM.
 */
struct dict_entry *dict_add(struct dict *d, const void *key, size_t klen, void *val,
			    bool *created);
/** dict_del() - remove @key. Return: its value, or NULL if absent (or the value was NULL). */
void *dict_del(struct dict *d, const void *key, size_t klen);

static inline size_t dict_size(const struct dict *d)
{
	return d->used;
}

/**
 * struct dict_iter - walk every entry. The current entry may be deleted while walking (the
 * iterator has already moved past it); nothing may be inserted.
 */
struct dict_iter {
	const struct dict *d;
	size_t bucket;
	struct dict_entry *next;
};

void dict_iter_init(struct dict_iter *it, const struct dict *d);
struct dict_entry *dict_iter_next(struct dict_iter *it);

/** dict_random() - a pseudo-random entry, NULL if empty. */
struct dict_entry *dict_random(const struct dict *d, uint64_t rnd);

#endif /* HKV_SERVER_DICT_H */
