/* SPDX-License-Identifier: MIT */
/*
 * handover.h - taking a store over from a daemon that is shutting down (handover.c).
 */
#ifndef HKVFS_HANDOVER_H
#define HKVFS_HANDOVER_H

#include "hkv/engine.h"

/* how long a new daemon waits for a store held by one that is no longer mounted */
#define HKVFS_HANDOVER_WAIT_MS 30000

/**
 * hkvfs_open_store() - hkv_open(), waiting for a daemon that is shutting down.
 * @data_dir: absolute path of the data directory, as the mount's source shows it.
 * @eo: engine options, passed to hkv_open().
 * @db: out: the open store, owned by the caller (hkv_close()).
 *
 * A store held by a live mount of @data_dir fails at once; one held by a daemon whose mount
 * is gone, or by another process, is waited for up to %HKVFS_HANDOVER_WAIT_MS, with a log
 * line. Call from the daemon's main thread before the session starts.
 *
 * Return: 0, -EBUSY (still held), or any error of hkv_open().
 */
int hkvfs_open_store(const char *data_dir, const struct hkv_options *eo, struct hkv **db);

/**
 * hkvfs_live_begin() - advertise a live mount of @data_dir (lock DATA/hkvfs.live).
 * @data_dir: the data directory of the store this daemon holds.
 *
 * Called once the mount is up. The lock is held until hkvfs_live_end() or process exit.
 *
 * Return: 0, -EBUSY (another live daemon: cannot happen while the store lock is held),
 * or -errno of open(2)/flock(2).
 */
int hkvfs_live_begin(const char *data_dir);

/**
 * hkvfs_live_end() - the session ended: the store is no longer served through a mount.
 *
 * Called as soon as the session loop returns, before the (possibly long) shutdown, so a new
 * daemon can see that it may wait for the store. Idempotent.
 */
void hkvfs_live_end(void);

#endif
