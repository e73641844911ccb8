// SPDX-License-Identifier: MIT
/*
 * pathmap_test.c - the key <-> path mapping: the documented examples, non-canonical names
 * refused, and a round trip of random keys over every byte value (fixed seed).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkv/pathmap.h"

#include "testcheck.h"

static void example(const char *key, size_t klen, unsigned char d, const char *path)
{
	char out[8192];
	unsigned char back[8192];
	ssize_t n;
	int rc = hkv_pathmap_key_to_path(key, klen, d, out, sizeof(out));

	CHECK(rc >= 0 && strcmp(out, path) == 0);
	if (rc < 0 || strcmp(out, path))
		fprintf(stderr, "  key '%.*s' -> '%s', expected '%s'\n", (int)klen, key,
			rc < 0 ? "(error)" : out, path);
	n = hkv_pathmap_path_to_key(path, d, back, sizeof(back));
	CHECK(n == (ssize_t)klen && memcmp(back, key, klen) == 0);
}

static void refused(const char *path, unsigned char d)
{
	unsigned char back[8192];

	CHECK(hkv_pathmap_path_to_key(path, d, back, sizeof(back)) < 0);
}

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static unsigned next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 16);
}

int main(void)
{
	static const char delims[] = { '/', ':' };
	char path[16384], name[HKV_NAME_MAX + 1];
	unsigned char key[600], back[16384];
	int i, j, d;

	/* the table in docs/filesystem.md */
	example("user/1001/name", 14, '/', "user/1001/name");
	example("user:1001:name", 14, ':', "user/1001/name");
	example("a/b", 3, ':', "a%2Fb");
	example("a//b", 4, '/', "a/%2Fb");
	example("/a", 2, '/', "%2Fa");
	example("a/", 2, '/', "a%2F");
	example("50%", 3, '/', "50%25");
	example(".", 1, '/', "%2E");
	example("..", 2, '/', "%2E%2E");
	example("x/../y", 6, '/', "x/%2E%2E/y");
	example(".hkv", 4, '/', "%2Ehkv");
	example(".hkvfoo/x", 9, '/', "%2Ehkvfoo/x");
	example(".hidden", 7, '/', ".hidden");
	example("a\0b", 3, '/', "a%00b");
	example("a///b", 5, '/', "a/%2F/b");
	example("a::b", 4, ':', "a/%3Ab");
	refused("a%2fb", '/');   /* lowercase hex */
	refused("%41", '/');     /* escapes a byte that needs none */
	refused("a//b", '/');    /* empty component */
	refused("a%2F/b", '/');  /* a literal delimiter ending a directory */
	refused(".hkv/x", '/');  /* the control directory */
	refused("%", '/');       /* empty key component */
	refused("abc%", '/');
	refused("%2", '/');
	refused("a/./b", '/');   /* "." and ".." are never names of keys */
	refused("a/../b", '/');
	refused("..", '/');
	refused("a/", '/');      /* a trailing slash */
	refused(".hkvx", '/');   /* spelt "%2Ehkvx" */
	refused("a/.hkv", '/');  /* spelt "a/%2Ehkv" */
	refused("a:b", ':');     /* a literal delimiter inside a name: "a%3Ab" */
	example(".hk", 3, '/', ".hk");
	example("a/..b/.c", 8, '/', "a/..b/.c");
	/* element names: delimiter not escaped, empty name is "%" */
	CHECK(hkv_pathmap_encode("", 0, -1, name) == 1 && strcmp(name, "%") == 0);
	CHECK(hkv_pathmap_decode("%", -1, back, sizeof(back)) == 0);
	CHECK(hkv_pathmap_encode("a:b", 3, -1, name) == 3 && strcmp(name, "a:b") == 0);
	/* too long */
	memset(key, 'x', 256);
	CHECK(hkv_pathmap_encode(key, 256, '/', name) == -ENAMETOOLONG);
	CHECK(hkv_pathmap_encode(key, 255, '/', name) == 255);
	memset(key, '%', 86);
	CHECK(hkv_pathmap_encode(key, 85, '/', name) == 255);
	CHECK(hkv_pathmap_encode(key, 86, '/', name) == -ENAMETOOLONG);

	/* random keys over every byte value: round trip, and the path is canonical */
	for (d = 0; d < 2; d++) {
		for (i = 0; i < 20000; i++) {
			size_t len = 1 + next() % 40;
			int rc;
			ssize_t n;

			for (j = 0; j < (int)len; j++) {
				unsigned r = next() % 4;

				key[j] = r == 0 ? (unsigned char)delims[d]
					 : r == 1 ? (unsigned char)".%/"[next() % 3]
						  : (unsigned char)(next() & 255);
			}
			rc = hkv_pathmap_key_to_path(key, len, (unsigned char)delims[d], path,
						     sizeof(path));
			CHECK(rc > 0);
			if (rc <= 0)
				continue;
			CHECK(strstr(path, "//") == NULL && path[0] != '/' &&
			      path[rc - 1] != '/');
			n = hkv_pathmap_path_to_key(path, (unsigned char)delims[d], back,
						    sizeof(back));
			CHECK(n == (ssize_t)len && memcmp(back, key, len) == 0);
			if (n != (ssize_t)len || memcmp(back, key, len)) {
				fprintf(stderr, "  round trip failed for path '%s'\n", path);
				break;
			}
		}
	}
	/*
	 * random paths over the bytes the decoder treats specially: whatever key a path gives,
	 * that key's path is the path itself (only canonical paths are taken, plain ones
	 * included, and they name the key they spell)
	 */
	for (d = 0; d < 2; d++) {
		static const char alpha[] = "ahkv.%/:2EF3A";

		for (i = 0; i < 200000; i++) {
			size_t len = 1 + next() % 12;
			ssize_t n;
			int rc;

			for (j = 0; j < (int)len; j++)
				path[j] = alpha[next() % (sizeof(alpha) - 1)];
			path[len] = 0;
			n = hkv_pathmap_path_to_key(path, (unsigned char)delims[d], back,
						    sizeof(back));
			if (n < 0)
				continue;
			rc = hkv_pathmap_key_to_path(back, (size_t)n, (unsigned char)delims[d],
						     name, sizeof(name));
			CHECK(rc == (int)len && strcmp(name, path) == 0);
			if (rc != (int)len || strcmp(name, path)) {
				fprintf(stderr, "  path '%s' (delimiter '%c') gave a key whose path is "
					"'%s'\n", path, delims[d], rc < 0 ? "(error)" : name);
				break;
			}
		}
	}
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures ? 1 : 0;
}
