// SPDX-License-Identifier: MIT
/*
 * eligible.c - hot-path eligibility: which keys the promoter may put in the kernel module's
 * cache (those whose path resolves to them through directories everyone may search).
 */
#include <stdlib.h>

#include "ops_int.h"

/* is the implicit or marked directory @prefix (with its trailing delimiter) o+x? */
static bool dir_searchable(struct hkvfs *fs, const unsigned char *prefix, size_t plen)
{
	unsigned char mk[HKV_KEY_MAX + HKVFS_MARKER_LEN + 1];
	struct hkv_attr a;

	if (plen + HKVFS_MARKER_LEN > HKV_KEY_MAX)
		return false;
	if (hkvfs_be_attr_get(fs->be, mk, hkvfs_marker_key(prefix, plen, mk), &a) == 0)
		return (a.mode & S_IXOTH) != 0;
	return ((0777 & ~fs->opts.umask) & S_IXOTH) != 0;
}

bool hkvfs_hot_eligible(void *arg, const void *key, size_t klen)
{
	struct hkvfs *fs = &hkvfs_g;
	const unsigned char *k = key;
	size_t start = 0, end, next;
	char *path;
	int rc;

	(void)arg;
	if (klen == 0 || klen > HKV_KEY_MAX)
		return false;
	path = malloc(HKV_KEY_MAX * 3 + 64);
	if (!path)
		return false;
	rc = hkv_pathmap_key_to_path(key, klen, fs->opts.delim, path, HKV_KEY_MAX * 3 + 64);
	free(path);
	if (rc < 0)
		return false;
	for (;;) {
		end = hkv_pathmap_next_comp(key, klen, start, fs->opts.delim, &next);
		if (next >= klen)
			break;
		/* a key named like a directory on the path hides everything under it */
		if (hkvfs_be_exists(fs->be, key, end) != 0)
			return false;
		if (!hkv_pathmap_comp_ok(k + start, end - start, fs->opts.delim, true) ||
		    !dir_searchable(fs, k, next))
			return false;
		start = next;
	}
	return !hkvfs_is_marker(k + start, end - start) &&
	       hkv_pathmap_comp_ok(k + start, end - start, fs->opts.delim, false);
}

