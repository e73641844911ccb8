// SPDX-License-Identifier: MIT
/*
 * test_longkey.c - keys, fields and members longer than the index's ordering prefix
 * (HKV_ORDER_PREFIX bytes): they are named in the index by that prefix and a SipHash-2-4-128
 * of the whole string under the store's secret key. The tests check the hash against the
 * reference vectors, that the key is the store's own (two stores name one string differently,
 * and a store keeps its key across reopening), and, with a hook that forces every long string
 * onto one hash, that two long keys sharing a slot stay distinct: neither ever answers for the
 * other, and the second cannot take over the first's slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teststore.h"
#include "hkv_int.h"

static int setup(void **state)
{
	return test_store_setup(state, "longkey", 64, 0);
}

static int teardown(void **state)
{
	ekey_test_hash = NULL;
	return test_store_teardown(state);
}

/* The reference implementation's vectors: key 00..0f, message 00..(n-1). */
static void test_siphash_vectors(void **state)
{
	static const struct {
		size_t n;
		uint64_t h;
	} v64[] = {
		{ 0, 0x726fdb47dd0e0e31ull },  { 1, 0x74f839c593dc67fdull },
		{ 7, 0xab0200f58b01d137ull },  { 8, 0x93f5f5799a932462ull },
		{ 15, 0xa129ca6149be45e5ull }, { 63, 0x958a324ceb064572ull },
	};
	static const unsigned char v128_0[16] = { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
						  0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 };
	static const unsigned char v128_1[16] = { 0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44,
						  0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45 };
	unsigned char kb[16], msg[64], out[16];
	uint64_t key[2], h[2];

	(void)state;
	for (int i = 0; i < 16; i++)
		kb[i] = (unsigned char)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	key[0] = get_le64(kb);
	key[1] = get_le64(kb + 8);
	for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++)
		assert_int_equal(siphash24(key, msg, v64[i].n), v64[i].h);
	siphash24_128(key, msg, 0, h);
	put_le64(out, h[0]);
	put_le64(out + 8, h[1]);
	assert_memory_equal(out, v128_0, 16);
	siphash24_128(key, msg, 1, h);
	put_le64(out, h[0]);
	put_le64(out + 8, h[1]);
	assert_memory_equal(out, v128_1, 16);
}

static void long_key(char *k, size_t len, char last)
{
	memset(k, 'p', len);
	k[len - 1] = last;
}

/* Each store draws its own key: one long string gets two names; a store keeps its key. */
static void test_key_per_store(void **state)
{
	struct test_store *f = *state;
	char *dir2 = test_mkdtemp("longkey2");
	struct ekey a, b, c;
	struct hkv *db2;
	struct hkv_buf v;
	char k[1000];

	assert_non_null(dir2);
	long_key(k, sizeof(k), 'x');
	test_store_open(f);
	db2 = test_open(dir2, &f->opt);
	assert_true(ekey_make(f->db, &a, k, sizeof(k)));
	assert_true(ekey_make(db2, &b, k, sizeof(k)));
	assert_int_equal(a.len, EKEY_LONG);
	assert_memory_equal(a.b, b.b, EKEY_SHORT);
	assert_memory_not_equal(a.b + EKEY_SHORT, b.b + EKEY_SHORT, EKEY_HASH);
	assert_false(f->db->hkey_legacy);
	assert_int_equal(hkv_set(f->db, k, sizeof(k), "one", 3, NULL), 1);
	test_store_reopen(f);
	assert_true(ekey_make(f->db, &c, k, sizeof(k)));
	assert_memory_equal(a.b, c.b, EKEY_LONG);
	assert_int_equal(hkv_get(f->db, k, sizeof(k), &v), 0);
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.data, "one", 3);
	hkv_buf_release(&v);
	hkv_close(db2);
	test_rmrf(dir2);
	free(dir2);
}

/* Every long string gets the same hash: the worst collision there can be. */
static void same_hash(unsigned char hash[EKEY_HASH], const void *s, size_t len)
{
	(void)s;
	(void)len;
	memset(hash, 0x42, EKEY_HASH);
}

static void expect_val(struct hkv *db, const char *k, size_t klen, const char *val)
{
	struct hkv_buf v;

	assert_int_equal(hkv_get(db, k, klen, &v), 0);
	assert_int_equal(v.len, strlen(val));
	assert_memory_equal(v.data, val, v.len);
	hkv_buf_release(&v);
}

/*
 * Two long keys forced onto one slot: the second never reads, deletes or replaces the first;
 * storing it fails with -EEXIST; once the first is gone the second can be stored.
 */
static void test_forced_collision_keys(void **state)
{
	struct test_store *f = *state;
	char a[1000], b[1000], big[300];
	struct hkv_buf v = { 0 };
	struct hkv_attr at;

	long_key(a, sizeof(a), 'a');
	long_key(b, sizeof(b), 'b');
	memset(big, 'V', sizeof(big)); /* a value in the value log, named by its key */
	ekey_test_hash = same_hash;
	test_store_open(f);
	{
		struct ekey ea, eb;

		ekey_make(f->db, &ea, a, sizeof(a));
		ekey_make(f->db, &eb, b, sizeof(b));
		assert_int_equal(ea.len, eb.len);
		assert_memory_equal(ea.b, eb.b, ea.len); /* one slot */
	}
	for (int round = 0; round < 2; round++) {
		assert_int_equal(hkv_set(f->db, a, sizeof(a), round ? big : "A", round ? sizeof(big)
					 : 1, NULL), 1);
		assert_int_equal(hkv_get(f->db, b, sizeof(b), &v), -ENOENT);
		assert_null(v.data);
		assert_int_equal(hkv_exists(f->db, b, sizeof(b)), 0);
		assert_int_equal(hkv_type(f->db, b, sizeof(b)), HKV_TYPE_NONE);
		assert_int_equal(hkv_attr_get(f->db, b, sizeof(b), &at), -ENOENT);
		assert_int_equal(hkv_pttl(f->db, b, sizeof(b)), -2);
		/* writes to b touch nothing of a */
		assert_int_equal(hkv_set(f->db, b, sizeof(b), "B", 1, NULL), -EEXIST);
		assert_int_equal(hkv_set(f->db, b, sizeof(b), big, sizeof(big), NULL), -EEXIST);
		assert_int_equal(hkv_del(f->db, b, sizeof(b)), 0);
		assert_int_equal(hkv_pexpire(f->db, b, sizeof(b), 1000, 0), 0);
		assert_int_equal(hkv_rename(f->db, b, sizeof(b), "x", 1, 0), -ENOENT);
		assert_int_equal(hkv_rename(f->db, "nokey", 5, b, sizeof(b), 0), -ENOENT);
		assert_int_equal(hkv_hset(f->db, b, sizeof(b), "f", 1, "v", 1, NULL), -EEXIST);
		assert_int_equal(hkv_append(f->db, b, sizeof(b), "x", 1, NULL), -EEXIST);
		if (!round) {
			expect_val(f->db, a, sizeof(a), "A");
		} else {
			assert_int_equal(hkv_get(f->db, a, sizeof(a), &v), 0);
			assert_int_equal(v.len, sizeof(big));
			assert_memory_equal(v.data, big, sizeof(big));
			hkv_buf_release(&v);
		}
		assert_int_equal(hkv_pttl(f->db, a, sizeof(a)), -1);
		test_store_reopen(f);
		assert_int_equal(hkv_get(f->db, b, sizeof(b), &v), -ENOENT);
		assert_int_equal(hkv_del(f->db, a, sizeof(a)), 1);
	}
	/* the slot is free: b is stored, and a is the absent one now */
	assert_int_equal(hkv_set(f->db, b, sizeof(b), "B", 1, NULL), 1);
	expect_val(f->db, b, sizeof(b), "B");
	assert_int_equal(hkv_get(f->db, a, sizeof(a), &v), -ENOENT);
	/* renaming onto the taken slot is refused, the source stays */
	assert_int_equal(hkv_set(f->db, "src", 3, "S", 1, NULL), 1);
	assert_int_equal(hkv_rename(f->db, "src", 3, a, sizeof(a), 0), -EEXIST);
	expect_val(f->db, "src", 3, "S");
	expect_val(f->db, b, sizeof(b), "B");
}

/* Fields and members forced onto one slot: the same rules inside a collection. */
static void test_forced_collision_members(void **state)
{
	struct test_store *f = *state;
	char a[700], b[700];
	struct hkv_buf v = { 0 };
	double score;
	int n = 0;

	long_key(a, sizeof(a), 'a');
	long_key(b, sizeof(b), 'b');
	ekey_test_hash = same_hash;
	test_store_open(f);
	assert_int_equal(hkv_hset(f->db, "h", 1, a, sizeof(a), "va", 2, NULL), 1);
	assert_int_equal(hkv_hset(f->db, "h", 1, b, sizeof(b), "vb", 2, NULL), -EEXIST);
	assert_int_equal(hkv_hget(f->db, "h", 1, b, sizeof(b), &v), -ENOENT);
	assert_int_equal(hkv_hexists(f->db, "h", 1, b, sizeof(b)), 0);
	assert_int_equal(hkv_hdel(f->db, "h", 1, b, sizeof(b)), 0);
	assert_int_equal(hkv_hget(f->db, "h", 1, a, sizeof(a), &v), 0);
	assert_int_equal(v.len, 2);
	assert_memory_equal(v.data, "va", 2);
	hkv_buf_release(&v);
	assert_int_equal(hkv_hlen(f->db, "h", 1), 1);

	assert_int_equal(hkv_sadd(f->db, "s", 1, a, sizeof(a), NULL), 1);
	assert_int_equal(hkv_sadd(f->db, "s", 1, b, sizeof(b), NULL), -EEXIST);
	assert_int_equal(hkv_sismember(f->db, "s", 1, b, sizeof(b)), 0);
	assert_int_equal(hkv_srem(f->db, "s", 1, b, sizeof(b)), 0);
	assert_int_equal(hkv_sismember(f->db, "s", 1, a, sizeof(a)), 1);
	assert_int_equal(hkv_smembers(f->db, "s", 1, test_count_elem, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(hkv_zadd(f->db, "z", 1, 1.0, a, sizeof(a), 0, NULL, NULL), 1);
	assert_int_equal(hkv_zadd(f->db, "z", 1, 2.0, b, sizeof(b), 0, NULL, NULL), -EEXIST);
	assert_int_equal(hkv_zscore(f->db, "z", 1, b, sizeof(b), &score), -ENOENT);
	assert_int_equal(hkv_zrem(f->db, "z", 1, b, sizeof(b)), 0);
	assert_int_equal(hkv_zscore(f->db, "z", 1, a, sizeof(a), &score), 0);
	assert_true(score == 1.0);
	assert_int_equal(hkv_zcard(f->db, "z", 1), 1);
}

/*
 * A store created by format 1 has no hash key: it opens (and is marked format 4) keeping the
 * unkeyed hash its long keys were named with, and stays readable across reopening.
 */
static void test_format1_store(void **state)
{
	struct test_store *f = *state;
	char k[600];
	MDB_txn *txn;
	MDB_val name = { 7, "hashkey" }, fk = { 6, "format" }, fv;
	unsigned char one[8];

	long_key(k, sizeof(k), 'k');
	test_store_open(f);
	/* make it look as format 1 made it: no hash key, format 1, no long key yet */
	assert_int_equal(mdb_txn_begin(f->db->env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_del(txn, f->db->dbi_info, &name, NULL), 0);
	put_le64(one, 1);
	fv.mv_size = 8;
	fv.mv_data = one;
	assert_int_equal(mdb_put(txn, f->db->dbi_info, &fk, &fv, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(hkv_close(f->db), 0);

	test_store_open(f);
	assert_true(f->db->hkey_legacy);
	assert_int_equal(hkv_set(f->db, k, sizeof(k), "legacy", 6, NULL), 1);
	expect_val(f->db, k, sizeof(k), "legacy");
	test_store_reopen(f);
	assert_true(f->db->hkey_legacy);
	expect_val(f->db, k, sizeof(k), "legacy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test_setup_teardown(test_key_per_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forced_collision_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forced_collision_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format1_store, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
