// SPDX-License-Identifier: MIT
/*
 * pathmap.c - key <-> path bijection (see hkv/pathmap.h for the rules).
 *
 * Invariant: for every key K, path_to_key(key_to_path(K)) == K, and every path accepted by
 * path_to_key() is key_to_path() of the key it returns. The decoder gets the second half for
 * free by re-encoding what it decoded and comparing: anything but the canonical spelling is
 * refused, so two names can never reach one key.
 *
 * Why a delimiter next to an empty component is literal: "a//b", "/a" and "a/" are valid keys,
 * but a path has no empty components. Making such a delimiter part of the following (or, at the
 * end, the preceding) component and escaping it ("a/%2Fb", "%2Fa", "a%2F") keeps every key
 * reachable without a second escape mechanism.
 */
#include <errno.h>
#include <string.h>

#include "hkv/pathmap.h"

static const char hexdig[] = "0123456789ABCDEF";

size_t hkv_pathmap_next_comp(const void *key, size_t klen, size_t start, unsigned char delim,
			     size_t *next)
{
	const unsigned char *k = key;
	size_t i;

	for (i = start; i < klen; i++) {
		if (k[i] == delim && i > start && i + 1 < klen) {
			*next = i + 1;
			return i;
		}
	}
	*next = klen;
	return klen;
}

bool hkv_pathmap_comp_ok(const void *comp, size_t len, unsigned char delim, bool is_dir)
{
	const unsigned char *c = comp;
	size_t i;

	if (len == 0)
		return false;
	for (i = 1; i < len; i++) {
		if (c[i] != delim)
			continue;
		if (!is_dir && i == len - 1)
			continue;
		return false;
	}
	return true;
}

static bool needs_escape(unsigned char b, int delim)
{
	return b == 0 || b == '/' || b == '%' || (delim >= 0 && b == (unsigned char)delim);
}

int hkv_pathmap_encode(const void *comp, size_t len, int delim, char *out)
{
	const unsigned char *c = comp;
	bool all_dots = false, ctl = false;
	size_t i, o = 0;

	if (len == 0) {
		if (delim >= 0)
			return -EINVAL;
		out[0] = '%';
		out[1] = 0;
		return 1;
	}
	if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
		all_dots = true;
	else if (len >= 4 && memcmp(c, HKV_CTL_DIR, 4) == 0)
		ctl = true;
	if (!all_dots && !ctl && len <= HKV_NAME_MAX) {
		/* the common case, no byte to escape: the name is the component */
		for (i = 0; i < len && !needs_escape(c[i], delim); i++)
			;
		if (i == len) {
			memcpy(out, c, len);
			out[len] = 0;
			return (int)len;
		}
	}
	for (i = 0; i < len; i++) {
		bool esc = needs_escape(c[i], delim) || all_dots || (ctl && i == 0);

		if (o + (esc ? 3 : 1) > HKV_NAME_MAX)
			return -ENAMETOOLONG;
		if (esc) {
			out[o++] = '%';
			out[o++] = hexdig[c[i] >> 4];
			out[o++] = hexdig[c[i] & 15];
		} else {
			out[o++] = (char)c[i];
		}
	}
	out[o] = 0;
	return (int)o;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int hkv_pathmap_decode(const char *name, int delim, void *out, size_t outsz)
{
	unsigned char *o = out;
	char again[HKV_NAME_MAX + 1];
	size_t nlen = strlen(name), i, n = 0;
	int rc;

	if (nlen > HKV_NAME_MAX)
		return -ENAMETOOLONG;
	if (nlen == 0)
		return -EINVAL;
	if (nlen == 1 && name[0] == '%')
		return delim >= 0 ? -EINVAL : 0;
	for (i = 0; i < nlen; i++) {
		unsigned char b = (unsigned char)name[i];

		if (b == '%') {
			int hi, lo;

			if (i + 2 >= nlen)
				return -EINVAL;
			hi = hexval(name[i + 1]);
			lo = hi < 0 ? -1 : hexval(name[i + 2]);
			if (lo < 0)
				return -EINVAL;
			b = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (n >= outsz)
			return -ENOBUFS;
		o[n++] = b;
	}
	rc = hkv_pathmap_encode(o, n, delim, again);
	if (rc < 0 || (size_t)rc != nlen || memcmp(again, name, nlen) != 0)
		return -EINVAL;
	return (int)n;
}

int hkv_pathmap_key_to_path(const void *key, size_t klen, unsigned char delim, char *out,
			    size_t outsz)
{
	const unsigned char *k = key;
	char name[HKV_NAME_MAX + 1];
	size_t start = 0, o = 0;

	if (klen == 0)
		return -EINVAL;
	while (start < klen) {
		size_t next, end = hkv_pathmap_next_comp(k, klen, start, delim, &next);
		int n = hkv_pathmap_encode(k + start, end - start, delim, name);

		if (n < 0)
			return n;
		if (o + (o ? 1 : 0) + (size_t)n + 1 > outsz)
			return -ENOBUFS;
		if (o)
			out[o++] = '/';
		memcpy(out + o, name, (size_t)n);
		o += (size_t)n;
		start = next;
	}
	out[o] = 0;
	return (int)o;
}

/*
 * The common case of hkv_pathmap_path_to_key(): a path none of whose names has an escape, a
 * byte that needs one, or a name encode() treats specially ("." and "..", a name starting
 * with the control directory's); then its key is the path with '/' turned into @delim.
 * Return: the key's length, or 0 when the path is not such a path (or its key does not fit),
 * which the general decoder then judges.
 */
static size_t path_to_key_plain(const char *path, unsigned char delim, unsigned char *k,
				size_t outsz)
{
	size_t n, start = 0;

	for (n = 0;; n++) {
		unsigned char b = (unsigned char)path[n];
		const char *c = path + start;
		size_t len = n - start;

		if (b != '/' && b != 0) {
			if (b == '%' || b == delim)
				return 0;
			continue;
		}
		if (len == 0 || len > HKV_NAME_MAX ||
		    (c[0] == '.' && (len == 1 || (len == 2 && c[1] == '.') ||
				     (len >= 4 && memcmp(c, HKV_CTL_DIR, 4) == 0))))
			return 0;
		if (b == 0)
			break;
		start = n + 1;
	}
	if (n > outsz)
		return 0;
	for (size_t i = 0; i < n; i++)
		k[i] = path[i] == '/' ? delim : (unsigned char)path[i];
	return n;
}

ssize_t hkv_pathmap_path_to_key(const char *path, unsigned char delim, void *out, size_t outsz)
{
	unsigned char *k = out;
	char name[HKV_NAME_MAX + 1];
	const char *p = path;
	size_t n = path_to_key_plain(path, delim, k, outsz);

	if (n)
		return (ssize_t)n;
	if (!*p)
		return -EINVAL;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		bool is_dir = slash != NULL;
		int c;

		if (len == 0)
			return -EINVAL;
		if (len > HKV_NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, p, len);
		name[len] = 0;
		if (p == path && strcmp(name, HKV_CTL_DIR) == 0)
			return -EINVAL;
		if (n && n >= outsz)
			return -ENOBUFS;
		if (n)
			k[n++] = delim;
		c = hkv_pathmap_decode(name, delim, k + n, outsz - n);
		if (c < 0)
			return c;
		if (!hkv_pathmap_comp_ok(k + n, (size_t)c, delim, is_dir))
			return -EINVAL;
		n += (size_t)c;
		p += len;
		if (*p == '/') {
			p++;
			if (!*p)
				return -EINVAL;
		}
	}
	return (ssize_t)n;
}
