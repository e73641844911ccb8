// SPDX-License-Identifier: MIT
/*
 * test_set.c - sets: SADD/SREM/SISMEMBER/SCARD/SMEMBERS/SSCAN, their errors, long members,
 * attributes, persistence, and SSCAN under a concurrent writer.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "colltest.h"

static void test_set_basic(void **state)
{
	struct cfix *f = *state;
	struct clist l = { 0 };
	struct hkv_attr a;
	uint64_t id, v0;

	assert_int_equal(hkv_scard(f->db, S("s")), 0);
	assert_int_equal(hkv_sismember(f->db, S("s"), S("a")), 0);
	assert_int_equal(hkv_sadd(f->db, S("s"), S("b"), NULL), 1);
	assert_int_equal(hkv_sadd(f->db, S("s"), S("a"), NULL), 1);
	assert_int_equal(hkv_sadd(f->db, S("s"), S("a"), NULL), 0);
	assert_int_equal(hkv_sadd(f->db, S("s"), "", 0, NULL), 1);
	assert_int_equal(hkv_sadd(f->db, S("s"), "\0\xff", 2, NULL), 1);
	assert_int_equal(hkv_type(f->db, S("s")), HKV_TYPE_SET);
	assert_int_equal(hkv_scard(f->db, S("s")), 4);
	assert_int_equal(hkv_attr_get(f->db, S("s"), &a), 0);
	assert_int_equal(a.size, 4);
	v0 = a.version;
	assert_int_equal(hkv_sismember(f->db, S("s"), S("a")), 1);
	assert_int_equal(hkv_sismember(f->db, S("s"), "", 0), 1);
	assert_int_equal(hkv_sismember(f->db, S("s"), "\0", 1), 0);
	assert_int_equal(hkv_sismember(f->db, S("s"), "\0\xff", 2), 1);

	assert_int_equal(hkv_smembers(f->db, S("s"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 4);
	assert_true(citem_is(&l.v[0], "", 0));
	assert_true(citem_is(&l.v[1], "\0\xff", 2));
	assert_true(citem_is(&l.v[2], S("a")));
	assert_true(citem_is(&l.v[3], S("b")));
	assert_int_equal(l.v[0].blen, 0);
	clist_free(&l);
	l.stop_after = 2;
	assert_int_equal(hkv_smembers(f->db, S("s"), clist_elem_cb, &l), 7);
	assert_int_equal(l.n, 2);
	clist_free(&l);

	/* no-ops keep the version */
	assert_int_equal(hkv_srem(f->db, S("s"), S("zz")), 0);
	assert_int_equal(hkv_sadd(f->db, S("s"), S("b"), NULL), 0);
	assert_int_equal(hkv_attr_get(f->db, S("s"), &a), 0);
	assert_int_equal(a.version, v0);

	id = key_id(f->db, "s");
	assert_int_equal(hkv_srem(f->db, S("s"), S("a")), 1);
	assert_int_equal(hkv_srem(f->db, S("s"), S("a")), 0);
	assert_int_equal(hkv_attr_get(f->db, S("s"), &a), 0);
	assert_int_equal(a.size, 3);
	assert_true(a.version > v0);
	assert_int_equal(hkv_srem(f->db, S("s"), "", 0), 1);
	assert_int_equal(hkv_srem(f->db, S("s"), "\0\xff", 2), 1);
	assert_int_equal(hkv_srem(f->db, S("s"), S("b")), 1);
	assert_int_equal(hkv_exists(f->db, S("s")), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(hkv_srem(f->db, S("s"), S("b")), 0);
	assert_int_equal(hkv_sadd(f->db, S("s"), S("b"), NULL), 1);
	assert_int_equal(hkv_scard(f->db, S("s")), 1);
}

static void test_set_errors(void **state)
{
	struct cfix *f = *state;
	char big[HKV_KEY_MAX + 1];
	struct hkv_cursor cur;
	struct clist l = { 0 };

	memset(big, 'm', sizeof(big));
	assert_int_equal(hkv_set(f->db, S("str"), S("x"), NULL), 1);
	assert_int_equal(hkv_hset(f->db, S("h"), S("f"), S("v"), NULL), 1);
	assert_int_equal(hkv_sadd(f->db, S("str"), S("m"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_sadd(f->db, S("h"), S("m"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_srem(f->db, S("h"), S("f")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_sismember(f->db, S("str"), S("m")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_scard(f->db, S("h")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_smembers(f->db, S("h"), clist_elem_cb, &l), -HKV_EWRONGTYPE);
	hkv_cursor_init(&cur);
	assert_int_equal(hkv_sscan(f->db, S("h"), &cur, NULL, 0, clist_elem_cb, &l),
			 -HKV_EWRONGTYPE);
	assert_int_equal(l.n, 0);
	assert_int_equal(hkv_hlen(f->db, S("h")), 1);

	assert_int_equal(hkv_sadd(f->db, "", 0, S("m"), NULL), -EINVAL);
	assert_int_equal(hkv_sadd(f->db, big, sizeof(big), S("m"), NULL), -EINVAL);
	assert_int_equal(hkv_sadd(f->db, S("s"), big, sizeof(big), NULL), -EINVAL);
	assert_int_equal(hkv_srem(f->db, S("s"), big, sizeof(big)), -EINVAL);
	assert_int_equal(hkv_sismember(f->db, S("s"), big, sizeof(big)), -EINVAL);
	assert_int_equal(hkv_sismember(f->db, "", 0, S("m")), -EINVAL);
	assert_int_equal(hkv_scard(f->db, big, sizeof(big)), -EINVAL);
	assert_int_equal(hkv_sadd(f->db, S("s"), NULL, 1, NULL), -EINVAL);
	assert_int_equal(hkv_exists(f->db, S("s")), 0);
	hkv_cursor_init(&cur);
	assert_int_equal(hkv_sscan(f->db, "", 0, &cur, NULL, 0, clist_elem_cb, &l), -EINVAL);
	/* a cursor whose position has an impossible length */
	assert_int_equal(hkv_sadd(f->db, S("s"), S("m"), NULL), 1);
	cur.len = 1 + 450;
	cur.pos[0] = 0x45;
	assert_int_equal(hkv_sscan(f->db, S("s"), &cur, NULL, 0, clist_elem_cb, &l), -EINVAL);
	clist_free(&l);
}

static void test_set_long_members(void **state)
{
	struct cfix *f = *state;
	static const size_t lens[] = { 448, 449, 450, 700, 2048, 4096 };
	enum { N = sizeof(lens) / sizeof(lens[0]), PER = 3 };
	unsigned char *m[N * PER];
	struct clist l = { 0 };
	struct hkv_cursor cur;
	uint64_t id;
	size_t i, j;

	for (i = 0; i < N * PER; i++) {
		m[i] = long_member(lens[i / PER], 'z', (uint32_t)(i * 7919));
		assert_int_equal(hkv_sadd(f->db, S("s"), m[i], lens[i / PER], NULL), 1);
	}
	for (i = 0; i < N * PER; i++) {
		assert_int_equal(hkv_sadd(f->db, S("s"), m[i], lens[i / PER], NULL), 0);
		assert_int_equal(hkv_sismember(f->db, S("s"), m[i], lens[i / PER]), 1);
	}
	/* the 448-byte prefix alone is a different (short) member */
	assert_int_equal(hkv_sismember(f->db, S("s"), m[PER], 448), 0);
	assert_int_equal(hkv_scard(f->db, S("s")), N * PER);
	cfix_reopen(f);
	assert_int_equal(hkv_smembers(f->db, S("s"), clist_elem_cb, &l), 0);
	assert_int_equal(l.n, N * PER);
	for (i = 0; i < N * PER; i++) {
		for (j = 0; j < l.n; j++)
			if (citem_is(&l.v[j], m[i], lens[i / PER]))
				break;
		assert_true(j < l.n);
	}
	clist_free(&l);
	hkv_cursor_init(&cur);
	while (!cur.done)
		assert_true(hkv_sscan(f->db, S("s"), &cur, NULL, 2, clist_elem_cb, &l) >= 0);
	assert_int_equal(l.n, N * PER);
	clist_free(&l);
	id = key_id(f->db, "s");
	for (i = 0; i < N * PER; i++)
		assert_int_equal(hkv_srem(f->db, S("s"), m[i], lens[i / PER]), 1);
	assert_int_equal(hkv_exists(f->db, S("s")), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	for (i = 0; i < N * PER; i++)
		free(m[i]);
}

static void test_set_delete_and_persist(void **state)
{
	struct cfix *f = *state;
	struct hkv_create_attr ca = { 0640, 7, 8 };
	struct hkv_attr a;
	uint64_t id;
	char mem[16];

	for (int i = 0; i < 1000; i++) {
		snprintf(mem, sizeof(mem), "m%d", i);
		assert_int_equal(hkv_sadd(f->db, S("s"), S(mem), i ? NULL : &ca), 1);
	}
	cfix_reopen(f);
	assert_int_equal(hkv_scard(f->db, S("s")), 1000);
	assert_int_equal(hkv_sismember(f->db, S("s"), S("m999")), 1);
	assert_int_equal(hkv_attr_get(f->db, S("s"), &a), 0);
	assert_int_equal(a.mode, 0640);
	assert_int_equal(a.uid, 7);
	/* DEL drops every member record */
	id = a.id;
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 1000);
	assert_int_equal(hkv_del(f->db, S("s")), 1);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(hkv_scard(f->db, S("s")), 0);
	assert_int_equal(hkv_sismember(f->db, S("s"), S("m1")), 0);
	/* SET over a set replaces it (and drops its members) */
	assert_int_equal(hkv_sadd(f->db, S("s2"), S("x"), NULL), 1);
	id = key_id(f->db, "s2");
	assert_int_equal(hkv_set(f->db, S("s2"), S("str"), NULL), 1);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(hkv_sadd(f->db, S("s2"), S("x"), NULL), -HKV_EWRONGTYPE);
	/* an empty set made by hkv_create() */
	assert_int_equal(hkv_create(f->db, S("e"), HKV_TYPE_SET, NULL), 0);
	assert_int_equal(hkv_scard(f->db, S("e")), 0);
	assert_int_equal(hkv_srem(f->db, S("e"), S("x")), 0);
	assert_int_equal(hkv_exists(f->db, S("e")), 1);
}

static void test_set_scan_match(void **state)
{
	struct cfix *f = *state;
	struct hkv_cursor cur;
	struct clist l = { 0 };
	char mem[16];
	int total = 0, rc;

	for (int i = 0; i < 200; i++) {
		snprintf(mem, sizeof(mem), "%s%03d", i % 2 ? "odd" : "even", i);
		assert_int_equal(hkv_sadd(f->db, S("s"), S(mem), NULL), 1);
	}
	hkv_cursor_init(&cur);
	while (!cur.done) {
		rc = hkv_sscan(f->db, S("s"), &cur, "odd*", 0, clist_elem_cb, &l);
		assert_true(rc >= 0 && rc <= 10); /* count 0 means the default of 10 */
		total += rc;
	}
	assert_int_equal(total, 100);
	for (size_t i = 0; i < l.n; i++) {
		assert_memory_equal(l.v[i].a, "odd", 3);
		assert_int_equal(l.v[i].blen, 0);
	}
	clist_free(&l);
}

struct sscan_writer {
	struct hkv *db;
	atomic_bool stop;
	int rc;
	unsigned rounds;
};

static void *sscan_writer_main(void *arg)
{
	struct sscan_writer *w = arg;
	uint64_t rng = 12345;
	char mem[16];

	while (!atomic_load(&w->stop) || w->rounds < 50) {
		snprintf(mem, sizeof(mem), "m%03uv", (unsigned)(test_rng(&rng) % 500));
		if (test_rng(&rng) & 1)
			w->rc = hkv_sadd(w->db, S("s"), S(mem), NULL);
		else
			w->rc = hkv_srem(w->db, S("s"), S(mem));
		if (w->rc < 0)
			break;
		w->rounds++;
	}
	return NULL;
}

static void test_set_scan_concurrent(void **state)
{
	struct cfix *f = *state;
	enum { N = 500 };
	struct sscan_writer w = { .db = f->db };
	unsigned char seen[N];
	struct hkv_cursor cur;
	struct clist l = { 0 };
	pthread_t th;
	char mem[16];

	/* stable "m123" and volatile "m123v" members interleave in byte order */
	for (int i = 0; i < N; i++) {
		snprintf(mem, sizeof(mem), "m%03d", i);
		assert_int_equal(hkv_sadd(f->db, S("s"), S(mem), NULL), 1);
	}
	atomic_init(&w.stop, false);
	assert_int_equal(pthread_create(&th, NULL, sscan_writer_main, &w), 0);
	for (int round = 0; round < 3; round++) {
		memset(seen, 0, sizeof(seen));
		hkv_cursor_init(&cur);
		while (!cur.done) {
			int rc = hkv_sscan(f->db, S("s"), &cur, NULL, 4, clist_elem_cb, &l);

			assert_true(rc >= 0);
		}
		for (size_t i = 0; i < l.n; i++) {
			if (l.v[i].alen != 4)
				continue;
			int k = atoi((char *)l.v[i].a + 1);

			assert_int_equal(seen[k], 0);
			seen[k] = 1;
		}
		for (int i = 0; i < N; i++)
			assert_int_equal(seen[i], 1);
		for (size_t i = 1; i < l.n; i++) {
			size_t n = l.v[i - 1].alen < l.v[i].alen ? l.v[i - 1].alen : l.v[i].alen;
			int c = memcmp(l.v[i - 1].a, l.v[i].a, n);

			assert_true(c < 0 || (c == 0 && l.v[i - 1].alen < l.v[i].alen));
		}
		clist_free(&l);
	}
	atomic_store(&w.stop, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(w.rc >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_basic, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_set_errors, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_set_long_members, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_set_delete_and_persist, cfix_setup,
						cfix_teardown),
		cmocka_unit_test_setup_teardown(test_set_scan_match, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_set_scan_concurrent, cfix_setup,
						cfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
