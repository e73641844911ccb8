// SPDX-License-Identifier: MIT
/*
 * inode.c - the table of inodes the kernel holds.
 *
 * An inode's FUSE node id is its address (the root is node 1). Inodes are found by identity
 * (kind, key, element) through a hash table whose bucket is chosen by the key bytes alone, so
 * a collection key and all its element inodes share one chain: invalidating "every element of
 * key K" is one chain walk.
 *
 * Locking: one mutex protects the buckets, every inode's identity and its lookup count.
 * Callers copy an identity out (hkvfs_itab_snapshot) and never hold the lock while calling
 * the engine or sending a FUSE notification.
 *
 * Lifetime: the kernel's lookup count (nlookup) is the reference count. A renamed-over or
 * retyped inode is unhashed but lives until its FORGET.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hkvfs_int.h"

#define NBUCKETS (1u << 16)

static pthread_mutex_t itab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hkvfs_inode **buckets;

struct hkvfs_inode hkvfs_root = { .kind = HKVFS_ROOT, .is_static = true, .nlookup = 1 };
struct hkvfs_inode hkvfs_ctldir = { .kind = HKVFS_CTLDIR, .is_static = true };
struct hkvfs_inode hkvfs_ctl_stats = { .kind = HKVFS_CTLFILE, .is_static = true,
				       .ctl = HKVFS_CTL_STATS };
struct hkvfs_inode hkvfs_ctl_config = { .kind = HKVFS_CTLFILE, .is_static = true,
					.ctl = HKVFS_CTL_CONFIG };
struct hkvfs_inode hkvfs_ctl_hot = { .kind = HKVFS_CTLFILE, .is_static = true,
				     .ctl = HKVFS_CTL_HOT };

static uint32_t hash_key(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < klen; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32)) & (NBUCKETS - 1);
}

void hkvfs_itab_init(void)
{
	buckets = calloc(NBUCKETS, sizeof(*buckets));
}

void hkvfs_itab_destroy(void)
{
	uint32_t b;

	if (!buckets)
		return;
	for (b = 0; b < NBUCKETS; b++) {
		struct hkvfs_inode *in = buckets[b], *next;

		for (; in; in = next) {
			next = in->hnext;
			free(in->key);
			free(in->elem);
			free(in);
		}
	}
	free(buckets);
	buckets = NULL;
}

struct hkvfs_inode *hkvfs_ino(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &hkvfs_root;
	return (struct hkvfs_inode *)(uintptr_t)ino;
}

fuse_ino_t hkvfs_ino_id(const struct hkvfs_inode *in)
{
	if (in == &hkvfs_root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)in;
}

static bool same(const struct hkvfs_inode *in, enum hkvfs_kind kind, const void *key,
		 size_t klen, const void *elem, size_t elen)
{
	return in->kind == kind && in->klen == klen && in->elen == elen &&
	       memcmp(in->key, key, klen) == 0 && (!elen || memcmp(in->elem, elem, elen) == 0);
}

static struct hkvfs_inode *find_locked(enum hkvfs_kind kind, const void *key, size_t klen,
				       const void *elem, size_t elen)
{
	struct hkvfs_inode *in;

	for (in = buckets[hash_key(key, klen)]; in; in = in->hnext)
		if (same(in, kind, key, klen, elem, elen))
			return in;
	return NULL;
}

static void unhash_locked(struct hkvfs_inode *in)
{
	struct hkvfs_inode **pp = &buckets[hash_key(in->key, in->klen)];

	if (!in->hashed)
		return;
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == in) {
			*pp = in->hnext;
			break;
		}
	}
	in->hashed = false;
	in->hnext = NULL;
}

static void hash_locked(struct hkvfs_inode *in)
{
	uint32_t b = hash_key(in->key, in->klen);

	in->hnext = buckets[b];
	buckets[b] = in;
	in->hashed = true;
}

int hkvfs_itab_ref(const struct hkvfs_ident *id, struct hkvfs_inode **out)
{
	struct hkvfs_inode *in;
	int rc = 0;

	switch (id->kind) {
	case HKVFS_ROOT:
		in = &hkvfs_root;
		break;
	case HKVFS_CTLDIR:
		in = &hkvfs_ctldir;
		break;
	case HKVFS_CTLFILE:
		in = id->ctl == HKVFS_CTL_STATS	   ? &hkvfs_ctl_stats
		     : id->ctl == HKVFS_CTL_CONFIG ? &hkvfs_ctl_config
						   : &hkvfs_ctl_hot;
		break;
	default:
		in = NULL;
	}
	pthread_mutex_lock(&itab_lock);
	if (!in)
		in = find_locked(id->kind, id->key, id->klen, id->elem, id->elen);
	if (!in) {
		in = calloc(1, sizeof(*in));
		if (!in) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		in->kind = id->kind;
		in->klen = id->klen;
		in->elen = id->elen;
		in->key = malloc(id->klen + 1);
		in->elem = id->elen ? malloc(id->elen) : NULL;
		if (!in->key || (id->elen && !in->elem)) {
			free(in->key);
			free(in->elem);
			free(in);
			rc = -ENOMEM;
			goto out_unlock;
		}
		memcpy(in->key, id->key, id->klen);
		if (id->elen)
			memcpy(in->elem, id->elem, id->elen);
		hash_locked(in);
	}
	in->nlookup++;
	*out = in;
out_unlock:
	pthread_mutex_unlock(&itab_lock);
	return rc;
}

void hkvfs_itab_forget(struct hkvfs_inode *in, uint64_t n)
{
	pthread_mutex_lock(&itab_lock);
	in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
	if (in->nlookup == 0 && !in->is_static) {
		unhash_locked(in);
		free(in->key);
		free(in->elem);
		free(in);
	}
	pthread_mutex_unlock(&itab_lock);
}

void hkvfs_itab_snapshot(struct hkvfs_inode *in, struct hkvfs_ident *id)
{
	pthread_mutex_lock(&itab_lock);
	id->kind = in->kind;
	id->ctl = in->ctl;
	id->klen = in->klen;
	id->elen = in->elen;
	if (in->klen)
		memcpy(id->key, in->key, in->klen);
	if (in->elen)
		memcpy(id->elem, in->elem, in->elen);
	pthread_mutex_unlock(&itab_lock);
}

fuse_ino_t hkvfs_itab_find(enum hkvfs_kind kind, const void *key, size_t klen, const void *elem,
			   size_t elen)
{
	struct hkvfs_inode *in;
	fuse_ino_t ino = 0;

	if (kind == HKVFS_ROOT)
		return FUSE_ROOT_ID;
	pthread_mutex_lock(&itab_lock);
	in = find_locked(kind, key, klen, elem, elen);
	if (in)
		ino = hkvfs_ino_id(in);
	pthread_mutex_unlock(&itab_lock);
	return ino;
}

static int set_key_locked(struct hkvfs_inode *in, const void *key, size_t klen)
{
	unsigned char *k = malloc(klen + 1);

	if (!k)
		return -ENOMEM;
	memcpy(k, key, klen);
	free(in->key);
	in->key = k;
	in->klen = klen;
	return 0;
}

int hkvfs_itab_rekey(struct hkvfs_inode *in, enum hkvfs_kind kind, const void *key,
		     size_t klen)
{
	struct hkvfs_inode *old, *c, *next;
	unsigned char *oldkey;
	size_t oldlen;
	uint32_t b;
	int rc = 0;

	pthread_mutex_lock(&itab_lock);
	old = find_locked(kind, key, klen, NULL, 0);
	if (old && old != in)
		unhash_locked(old);
	oldkey = malloc(in->klen + 1);
	if (!oldkey) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	oldlen = in->klen;
	memcpy(oldkey, in->key, oldlen);
	unhash_locked(in);
	rc = set_key_locked(in, key, klen);
	in->kind = kind;
	hash_locked(in);
	/* element inodes follow their collection */
	b = hash_key(oldkey, oldlen);
	for (c = buckets[b]; c; c = next) {
		next = c->hnext;
		if (c->kind != HKVFS_ELEM || c->klen != oldlen || memcmp(c->key, oldkey, oldlen))
			continue;
		unhash_locked(c);
		if (set_key_locked(c, key, klen) == 0)
			hash_locked(c);
	}
	free(oldkey);
out_unlock:
	pthread_mutex_unlock(&itab_lock);
	return rc;
}

int hkvfs_itab_rename_prefix(const void *from, size_t flen, const void *to, size_t tlen)
{
	struct hkvfs_inode *moved = NULL, *in, *next;
	uint32_t b;
	int rc = 0;

	pthread_mutex_lock(&itab_lock);
	for (b = 0; b < NBUCKETS; b++) {
		for (in = buckets[b]; in; in = next) {
			next = in->hnext;
			if (in->klen < flen || memcmp(in->key, from, flen) != 0)
				continue;
			unhash_locked(in);
			in->hnext = moved;
			moved = in;
		}
	}
	for (in = moved; in; in = next) {
		unsigned char *k = malloc(in->klen - flen + tlen + 1);

		next = in->hnext;
		in->hnext = NULL;
		if (!k) {
			rc = -ENOMEM;
			continue; /* stays unhashed: a stale inode, never a wrong one */
		}
		memcpy(k, to, tlen);
		memcpy(k + tlen, in->key + flen, in->klen - flen);
		in->klen = in->klen - flen + tlen;
		free(in->key);
		in->key = k;
		if (!find_locked(in->kind, in->key, in->klen, in->elem, in->elen))
			hash_locked(in);
	}
	pthread_mutex_unlock(&itab_lock);
	return rc;
}

void hkvfs_itab_children(const void *key, size_t klen,
			 void (*cb)(void *arg, fuse_ino_t ino, const unsigned char *elem,
				    size_t elen),
			 void *arg)
{
	struct hkvfs_inode *in;

	pthread_mutex_lock(&itab_lock);
	for (in = buckets[hash_key(key, klen)]; in; in = in->hnext)
		if (in->kind == HKVFS_ELEM && in->klen == klen && !memcmp(in->key, key, klen))
			cb(arg, hkvfs_ino_id(in), in->elem, in->elen);
	pthread_mutex_unlock(&itab_lock);
}
