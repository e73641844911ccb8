/* SPDX-License-Identifier: MIT */
/*
 * promote.h - the hkvfs hot path on the daemon side: count reads, copy hot string values into
 * the kernel cache (/dev/hkv), demote keys that cooled, and invalidate a key in the kernel
 * cache before any mutation of it is acknowledged.
 */
#ifndef HKVFS_PROMOTE_H
#define HKVFS_PROMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hkvfs_be;
struct hkvfs_promoter;

/**
 * struct hkvfs_promote_opts - mount options of the hot path.
 * @enabled:      promote at all (mount option hot=on|off). Reads are counted either way.
 * @interval_ms:  period of the promotion thread (hot_interval, 10..60000, default 200).
 * @k:            how many of the hottest keys are candidates (hot_k, 1..4096, default 64).
 * @min_rate:     reads per second a key needs to be promoted (hot_min, default 10).
 * @device:       the kernel cache device (default "/dev/hkv").
 * @mountpoint:   optional: the mount's path, already mounted; the namespace is bound to its
 *                file system (HKV_IOC_BIND) so that the module serves the namespace's keys
 *                only through paths that lead to this mount (the shim's opens).
 * @eligible:     optional: may the key at @key be served from the kernel cache? The daemon
 *                says no for keys whose path it would not resolve to that key, or whose
 *                directories are not searchable by everyone.
 * @log:          receives log lines (level 0 error .. 3 debug).
 */
struct hkvfs_promote_opts {
	bool enabled;
	unsigned interval_ms;
	unsigned k;
	unsigned min_rate;
	const char *device;
	const char *mountpoint;
	bool (*eligible)(void *arg, const void *key, size_t klen);
	void (*log)(void *arg, int level, const char *msg);
	void *arg;
};

/** hkvfs_promote_opts_init() - the defaults above. */
void hkvfs_promote_opts_init(struct hkvfs_promote_opts *o);

/**
 * hkvfs_promoter_start() - open the device (a missing device is logged once and the hot path
 * then only counts), claim ownership, clear namespace @ns, and start the promotion thread.
 * @be:  the open store; must outlive the promoter.
 * @ns:  this mount's namespace id in the kernel cache (non-zero, unique per mount).
 * Return: 0 and *@out; -EINVAL (options), -ENOMEM, -EAGAIN (thread).
 */
int hkvfs_promoter_start(struct hkvfs_be *be, const struct hkvfs_promote_opts *o, uint64_t ns,
			 struct hkvfs_promoter **out);

/** hkvfs_promoter_stop() - stop the thread, clear the namespace, close the device. NULL-safe. */
void hkvfs_promoter_stop(struct hkvfs_promoter *p);

/** hkvfs_promoter_read() - count one read of @key. Cheap, lock-free; any thread. */
void hkvfs_promoter_read(struct hkvfs_promoter *p, const void *key, size_t klen);

/**
 * hkvfs_promoter_invalidate() - remove @key from the kernel cache and record that no value
 * older than the store's current version may be promoted again. Call it from the engine's
 * watch callback (hkvfs_be_set_watch()), which runs before the mutation is acknowledged. Empty
 * @key (klen 0) means "anything may have changed": the whole namespace is cleared.
 */
void hkvfs_promoter_invalidate(struct hkvfs_promoter *p, const void *key, size_t klen);

/**
 * hkvfs_promoter_invalidate_version() - as hkvfs_promoter_invalidate(), for a change whose new
 * version the watch callback reports: @version is the version the write produced (its value
 * may be promoted again at once), 0 for a deletion (nothing handed out so far may be).
 * hkvfs_promoter_invalidate() treats every change as a deletion: safe, but a key written
 * through this mount is then not promoted again until a later write of it.
 */
void hkvfs_promoter_invalidate_version(struct hkvfs_promoter *p, const void *key, size_t klen,
				       uint64_t version);

/**
 * hkvfs_promoter_format() - the text of .hkv/hot: one line per tracked key, hottest first:
 * "<reads/s>\t<in kernel: yes|no>\t<key, C-escaped>".
 * @out: receives a malloc()ed NUL-terminated buffer (caller frees).
 * Return: its length, or -ENOMEM.
 */
int hkvfs_promoter_format(struct hkvfs_promoter *p, char **out);

/** struct hkvfs_promote_stats - counters for .hkv/stats. */
struct hkvfs_promote_stats {
	bool device;          /* /dev/hkv is open */
	uint64_t promotions;  /* successful PUTs */
	uint64_t stale;       /* PUTs refused as stale (a write won the race) */
	uint64_t demotions;   /* keys removed because they cooled */
	uint64_t invalidations;
	uint64_t evictions;   /* eviction events read from the module */
	uint64_t cached;      /* keys this daemon believes are in the kernel cache */
};

/** hkvfs_promoter_stats() - fill @st. */
void hkvfs_promoter_stats(struct hkvfs_promoter *p, struct hkvfs_promote_stats *st);

#endif
