/* SPDX-License-Identifier: MIT */
/*
 * teststore.h - the scratch store of the engine's storage tests (test_ckpt, test_compact,
 * test_longkey, test_txn, test_vlog): a fresh directory, the options the test opens it with,
 * and the handle, made by a cmocka setup step and removed by its teardown.
 */
#ifndef HKV_TESTSTORE_H
#define HKV_TESTSTORE_H

#include <stdint.h>

#include "testutil.h"

/**
 * struct test_store - one test's store.
 * @dir: the scratch directory, malloc()ed; removed with everything in it by the teardown.
 * @opt: the options every (re)open uses; a test may change them before it opens the store.
 * @db:  the open handle, or NULL; closed by the teardown.
 */
struct test_store {
	char *dir;
	struct hkv_options opt;
	struct hkv *db;
};

/**
 * test_store_setup() - a cmocka setup step: *@state = a new struct test_store with a fresh
 * directory named after @tag, test_options() (no clock) with @inline_max, compression off
 * (a test turns it on where it tests it), and @segment_size unless 0 (then the default).
 * The store is not opened: each test opens it (test_store_open()) after choosing its
 * options. Fails the test on error.
 * Return: 0.
 */
int test_store_setup(void **state, const char *tag, uint32_t inline_max, uint64_t segment_size);

/**
 * test_store_teardown() - the matching teardown: closes the store if open (whatever the close
 * returns: a test may leave a stopped store), removes the directory and frees the fixture.
 * Return: 0.
 */
int test_store_teardown(void **state);

/** test_store_open() - open @s->dir with @s->opt into @s->db; fails the test on error. */
void test_store_open(struct test_store *s);

/** test_store_reopen() - close @s->db (which must succeed) and open it again. */
void test_store_reopen(struct test_store *s);

/** struct test_seglist - the value-log segments of a store (hkv_segments()), up to 256. */
struct test_seglist {
	size_t n;
	struct hkv_segment_stat s[256];
};

/** test_segments() - fill @l with @db's segments; fails the test on error or over 256. */
void test_segments(struct hkv *db, struct test_seglist *l);

/**
 * test_count_elem() - an hkv_elem_fn that counts the elements it is called with in the int
 * @arg points to.
 */
int test_count_elem(void *arg, const void *a, size_t alen, const void *b, size_t blen);

/** test_count_key() - an hkv_scan_fn that counts the keys in the int @arg points to. */
int test_count_key(void *arg, const void *key, size_t klen, enum hkv_type type, bool pre);

#endif
