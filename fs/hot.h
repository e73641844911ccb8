/* SPDX-License-Identifier: MIT */
/*
 * hot.h - hot-key tracking for the hkvfs daemon: a Count-Min Sketch of reads with periodic
 * decay, and a top-K of the hottest keys. No FUSE, no engine: it counts byte strings.
 */
#ifndef HKVFS_HOT_H
#define HKVFS_HOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hkvfs_hot;

/**
 * struct hkvfs_hot_entry - one key of the top-K, as copied out by hkvfs_hot_snapshot().
 * @key, @klen: a malloc()ed copy of the key, owned by the caller (hkvfs_hot_entries_free()).
 * @count:      the sketch's estimate of the key's decayed read count.
 */
struct hkvfs_hot_entry {
	void *key;
	size_t klen;
	uint32_t count;
};

/**
 * hkvfs_hot_new() - a tracker keeping the @k hottest keys, with a sketch @depth rows of
 * @width counters (@width is rounded up to a power of two). @k 1..4096, @width 64..2^24,
 * @depth 1..8.
 * Return: the tracker (free with hkvfs_hot_free()), or NULL with errno EINVAL or ENOMEM.
 */
struct hkvfs_hot *hkvfs_hot_new(unsigned k, unsigned width, unsigned depth);

/** hkvfs_hot_free() - free @h. No other thread may be using it. NULL-safe. */
void hkvfs_hot_free(struct hkvfs_hot *h);

/**
 * hkvfs_hot_touch() - count one read of @key. Lock-free unless the key's estimate reaches the
 * smallest count in the top-K, which takes the top-K's mutex. Any thread.
 * Return: the key's estimated count after this read.
 */
uint32_t hkvfs_hot_touch(struct hkvfs_hot *h, const void *key, size_t klen);

/**
 * hkvfs_hot_estimate() - the sketch's estimate for @key, without counting a read.
 */
uint32_t hkvfs_hot_estimate(struct hkvfs_hot *h, const void *key, size_t klen);

/**
 * hkvfs_hot_decay() - halve every counter and every top-K count, so counts track a recent
 * rate: read at a steady r per decay period, a key's count settles near 2r. Entries whose
 * count drops to zero leave the top-K. Any thread; reads racing with it may lose a count.
 */
void hkvfs_hot_decay(struct hkvfs_hot *h);

/**
 * hkvfs_hot_forget() - drop @key from the top-K (it was deleted). Its sketch counters stay:
 * a sketch cannot subtract; they decay.
 */
void hkvfs_hot_forget(struct hkvfs_hot *h, const void *key, size_t klen);

/**
 * hkvfs_hot_snapshot() - copy the top-K, hottest first, into a new array.
 * @out: receives the array (caller frees with hkvfs_hot_entries_free()); NULL if empty.
 * Return: the number of entries, or -ENOMEM.
 */
int hkvfs_hot_snapshot(struct hkvfs_hot *h, struct hkvfs_hot_entry **out);

/** hkvfs_hot_entries_free() - free an array from hkvfs_hot_snapshot(). */
void hkvfs_hot_entries_free(struct hkvfs_hot_entry *v, int n);

#endif
