// SPDX-License-Identifier: MIT
/*
 * test_stream.c - stream records (hkv_xrec_*): get/put/delete, the entry count kept as the
 * key's size, ranges in both directions with inclusive bounds, the wrong-type and argument
 * errors, a stream outliving its last entry, deletion with every record, rename, atomicity
 * inside a transaction, and persistence across reopening the store.
 */
#include "colltest.h"

static void entry_key(unsigned char *rk, uint64_t ms, uint64_t seq)
{
	rk[0] = HKV_XREC_ENTRY;
	put_be64(rk + 1, ms);
	put_be64(rk + 9, seq);
}

static void test_stream_records(void **state)
{
	struct cfix *f = *state;
	unsigned char rk[17], lo[17], hi[17];
	struct hkv_buf b;
	struct hkv_attr a;
	struct clist l = { 0 };
	uint64_t v0;

	assert_int_equal(hkv_xrec_get(f->db, S("st"), S("\x01"), &b), -ENOENT);
	for (uint64_t i = 1; i <= 5; i++) {
		entry_key(rk, i, 0);
		assert_int_equal(hkv_xrec_put(f->db, S("st"), rk, sizeof(rk), "v", 1, NULL), 1);
	}
	/* records of other classes are not entries: the size counts 'E' records only */
	assert_int_equal(hkv_xrec_put(f->db, S("st"), "\0", 1, S("meta"), NULL), 1);
	assert_int_equal(hkv_xrec_put(f->db, S("st"), S("Ggroup"), S("g1"), NULL), 1);
	assert_int_equal(hkv_xrec_put(f->db, S("st"), S("Ggroup"), S("g2"), NULL), 0);
	assert_int_equal(hkv_type(f->db, S("st")), HKV_TYPE_STREAM);
	assert_string_equal(hkv_type_name(HKV_TYPE_STREAM), "stream");
	assert_int_equal(hkv_type_parse(S("stream")), HKV_TYPE_STREAM);
	assert_int_equal(hkv_attr_get(f->db, S("st"), &a), 0);
	assert_int_equal(a.size, 5);
	v0 = a.version;
	assert_int_equal(hkv_xrec_get(f->db, S("st"), S("Ggroup"), &b), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "g2", 2);
	hkv_buf_release(&b);

	/* [2-0, 4-0] forward and backward */
	entry_key(lo, 2, 0);
	entry_key(hi, 4, 0);
	assert_int_equal(hkv_xrec_range(f->db, S("st"), lo, 17, hi, 17, false, clist_elem_cb, &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(get_be64(l.v[0].a + 1), 2);
	assert_int_equal(get_be64(l.v[2].a + 1), 4);
	clist_free(&l);
	assert_int_equal(hkv_xrec_range(f->db, S("st"), lo, 17, hi, 17, true, clist_elem_cb, &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(get_be64(l.v[0].a + 1), 4);
	assert_int_equal(get_be64(l.v[2].a + 1), 2);
	clist_free(&l);
	/* a reverse walk from a bound that is a prefix of longer keys includes them */
	assert_int_equal(hkv_xrec_range(f->db, S("st"), S("G"), S("G"), true, clist_elem_cb, &l),
			 0);
	assert_int_equal(l.n, 0);
	clist_free(&l);
	assert_int_equal(hkv_xrec_range(f->db, S("st"), S("G"), S("H"), true, clist_elem_cb, &l),
			 0);
	assert_int_equal(l.n, 1);
	clist_free(&l);
	l.stop_after = 1;
	assert_int_equal(hkv_xrec_range(f->db, S("st"), "\0", 1, S("\xff"), false, clist_elem_cb,
					&l),
			 7);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].alen, 1); /* the meta record sorts first */
	clist_free(&l);

	/* deleting every entry leaves the stream */
	for (uint64_t i = 1; i <= 5; i++) {
		entry_key(rk, i, 0);
		assert_int_equal(hkv_xrec_del(f->db, S("st"), rk, sizeof(rk)), 1);
		assert_int_equal(hkv_xrec_del(f->db, S("st"), rk, sizeof(rk)), 0);
	}
	assert_int_equal(hkv_attr_get(f->db, S("st"), &a), 0);
	assert_int_equal(a.size, 0);
	assert_true(a.version > v0);
	assert_int_equal(hkv_exists(f->db, S("st")), 1);
	assert_int_equal(hkv_xrec_del(f->db, S("nokey"), rk, sizeof(rk)), 0);
}

static void test_stream_errors(void **state)
{
	struct cfix *f = *state;
	unsigned char big[HKV_XREC_KEY_MAX + 1];
	struct hkv_buf b;
	struct clist l = { 0 };

	memset(big, 'E', sizeof(big));
	assert_int_equal(hkv_set(f->db, S("str"), S("v"), NULL), 1);
	assert_int_equal(hkv_xrec_put(f->db, S("str"), S("E"), S("v"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_xrec_get(f->db, S("str"), S("E"), &b), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_xrec_del(f->db, S("str"), S("E")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_xrec_range(f->db, S("str"), S("A"), S("Z"), false, clist_elem_cb,
					&l),
			 -HKV_EWRONGTYPE);
	assert_int_equal(hkv_xrec_range(f->db, S("none"), S("A"), S("Z"), false, clist_elem_cb,
					&l),
			 -ENOENT);
	assert_int_equal(hkv_xrec_put(f->db, S("st"), "", 0, S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_xrec_put(f->db, S("st"), big, sizeof(big), S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_xrec_put(f->db, S("st"), big, sizeof(big) - 1, S("v"), NULL), 1);
	assert_int_equal(hkv_xrec_put(f->db, "", 0, S("E"), S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_hset(f->db, S("st"), S("f"), S("v"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_create(f->db, S("empty"), HKV_TYPE_STREAM, NULL), 0);
	assert_int_equal(hkv_type(f->db, S("empty")), HKV_TYPE_STREAM);
	assert_int_equal(hkv_create(f->db, S("bad"), (enum hkv_type)7, NULL), -EINVAL);
}

struct txn_arg {
	const char *key;
};

static int two_puts_then_abort(struct hkv *tx, void *arg)
{
	struct txn_arg *t = arg;
	struct hkv_buf b;

	assert_int_equal(hkv_xrec_put(tx, t->key, strlen(t->key), S("Ea"), S("1"), NULL), 1);
	assert_int_equal(hkv_xrec_put(tx, t->key, strlen(t->key), S("Eb"), S("2"), NULL), 1);
	/* the transaction reads its own writes */
	assert_int_equal(hkv_xrec_get(tx, t->key, strlen(t->key), S("Eb"), &b), 0);
	hkv_buf_release(&b);
	return -ECANCELED;
}

static void test_stream_delete_rename_persist(void **state)
{
	struct cfix *f = *state;
	struct txn_arg t = { "tx" };
	struct hkv_buf b;
	struct hkv_attr a;
	uint64_t id;

	assert_int_equal(hkv_txn_run(f->db, two_puts_then_abort, &t), -ECANCELED);
	assert_int_equal(hkv_exists(f->db, S("tx")), 0);

	assert_int_equal(hkv_xrec_put(f->db, S("s1"), S("Ex"), S("1"), NULL), 1);
	assert_int_equal(hkv_xrec_put(f->db, S("s1"), S("Pgroup"), S("2"), NULL), 1);
	id = key_id(f->db, "s1");
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 2);
	assert_int_equal(hkv_rename(f->db, S("s1"), S("s2"), 0), 0);
	assert_int_equal(hkv_xrec_get(f->db, S("s2"), S("Pgroup"), &b), 0);
	hkv_buf_release(&b);
	cfix_reopen(f);
	assert_int_equal(hkv_attr_get(f->db, S("s2"), &a), 0);
	assert_int_equal(a.type, HKV_TYPE_STREAM);
	assert_int_equal(a.size, 1);
	assert_int_equal(hkv_xrec_get(f->db, S("s2"), S("Ex"), &b), 0);
	assert_memory_equal(b.data, "1", 1);
	hkv_buf_release(&b);
	/* DEL takes every record with it; SET over a stream replaces it whole */
	assert_int_equal(hkv_del(f->db, S("s2")), 1);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(hkv_xrec_put(f->db, S("s3"), S("Ey"), S("1"), NULL), 1);
	id = key_id(f->db, "s3");
	assert_int_equal(hkv_set(f->db, S("s3"), S("v"), NULL), 1);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_records, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_stream_errors, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_stream_delete_rename_persist, cfix_setup,
						cfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
