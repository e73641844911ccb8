/* SPDX-License-Identifier: MIT */
/*
 * hkv/pathmap.h - the bijection between hkvfs keys (byte strings) and paths under a mount.
 *
 * Shared by the FUSE daemon and the LD_PRELOAD shim so both map a path to the very same key.
 * No FUSE, no engine: pure functions on byte strings, thread-safe, no allocation.
 *
 * The rules (docs/filesystem.md has the table of examples):
 *
 *  - A key is split into components at the delimiter byte D. A D is a *separator* when the
 *    component before it is non-empty and at least one byte follows it; every other D is a
 *    literal byte of a component (a leading D, a D right after a separator, a trailing D).
 *  - Each component is written as a file name with these bytes escaped as %XX (uppercase hex):
 *    NUL, '/', '%', and D (a D inside a component is never a separator). A component "." or
 *    ".." has all its dots escaped; a component starting with ".hkv" (the reserved control
 *    prefix) has its first dot escaped.
 *  - Element names (hash fields, set and zset members) are one component each and are not
 *    split, so D is not escaped in them; the empty element name is written "%".
 *  - Only the canonical spelling of a name maps back to a key: "%2f" (lowercase) or "%41"
 *    (escaping a byte that needs none) are rejected, so the mapping is a bijection.
 *  - A file name is at most HKV_NAME_MAX bytes; longer encodings are -ENAMETOOLONG.
 */
#ifndef HKV_PATHMAP_H
#define HKV_PATHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest file name (NAME_MAX). */
#define HKV_NAME_MAX 255

/** Name of the reserved control directory at the root of a mount. */
#define HKV_CTL_DIR ".hkv"

/**
 * hkv_pathmap_next_comp() - find the end of the component of @key that starts at @start.
 * @key, @klen: the key bytes.
 * @start:      offset of the component's first byte (0, or just after a separator).
 * @delim:      the delimiter byte.
 * @next:       receives the offset of the next component (after the separator), or @klen.
 *
 * Return: offset one past the component's last byte.
 */
size_t hkv_pathmap_next_comp(const void *key, size_t klen, size_t start, unsigned char delim,
			     size_t *next);

/**
 * hkv_pathmap_comp_ok() - can @comp be one whole component of a key?
 * @comp, @len: the decoded component bytes (len >= 1).
 * @delim:      the delimiter byte.
 * @is_dir:     true if more components follow it (a directory), false for the last one.
 *
 * A literal delimiter may only be a component's first byte, or the last byte of the last
 * component; anywhere else the mapping would have split there.
 *
 * Return: true if the component is valid in that position.
 */
bool hkv_pathmap_comp_ok(const void *comp, size_t len, unsigned char delim, bool is_dir);

/**
 * hkv_pathmap_encode() - write one component (or element name) as a file name.
 * @comp, @len: the raw bytes (may be empty only when @delim < 0).
 * @delim:      the delimiter byte for key components; -1 for element names (not split).
 * @out:        receives the NUL-terminated name; must hold HKV_NAME_MAX + 1 bytes.
 *
 * Return: the name's length; -ENAMETOOLONG (longer than HKV_NAME_MAX), -EINVAL (empty key
 * component).
 */
int hkv_pathmap_encode(const void *comp, size_t len, int delim, char *out);

/**
 * hkv_pathmap_decode() - map a file name back to component bytes, accepting only the canonical
 * spelling that hkv_pathmap_encode() produces.
 * @name:   NUL-terminated file name.
 * @delim:  as for hkv_pathmap_encode().
 * @out:    receives the bytes; @outsz bytes available (HKV_NAME_MAX always suffices).
 *
 * Return: the number of bytes; -EINVAL (not a canonical name), -ENAMETOOLONG (name longer
 * than HKV_NAME_MAX), -ENOBUFS (@outsz too small).
 */
int hkv_pathmap_decode(const char *name, int delim, void *out, size_t outsz);

/**
 * hkv_pathmap_key_to_path() - the relative path ("a/b/c") of @key.
 * @out:   receives the NUL-terminated path; @outsz bytes available.
 *
 * Return: the path's length; -EINVAL (empty key), -ENAMETOOLONG (a component's name is too
 * long), -ENOBUFS (@outsz too small).
 */
int hkv_pathmap_key_to_path(const void *key, size_t klen, unsigned char delim, char *out,
			    size_t outsz);

/**
 * hkv_pathmap_path_to_key() - the key of relative path @path ("a/b/c", no leading '/', no
 * empty, "." or ".." components). Inverse of hkv_pathmap_key_to_path().
 * @out:   receives the key bytes; @outsz bytes available.
 *
 * Return: the key's length; -EINVAL (not a canonical path, or it names the control
 * directory), -ENAMETOOLONG, -ENOBUFS.
 */
ssize_t hkv_pathmap_path_to_key(const char *path, unsigned char delim, void *out, size_t outsz);

#ifdef __cplusplus
}
#endif
#endif /* HKV_PATHMAP_H */
