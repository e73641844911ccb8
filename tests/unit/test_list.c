// SPDX-License-Identifier: MIT
/*
 * test_list.c - lists: LPUSH/RPUSH/LPOP/RPOP/LINDEX/LSET/LRANGE/LLEN/LREM/LTRIM/LINSERT with
 * Redis's index rules, errors, attributes, persistence, and a fixed-seed randomized run
 * against an array model.
 */
#include "colltest.h"

static void assert_list(struct hkv *db, const char *key, const char *const *want, size_t n)
{
	struct clist l = { 0 };

	assert_int_equal(hkv_llen(db, key, strlen(key)), (int64_t)n);
	assert_int_equal(hkv_lrange(db, key, strlen(key), 0, -1, clist_elem_cb, &l), 0);
	assert_int_equal(l.n, n);
	for (size_t i = 0; i < n; i++) {
		int64_t idx;

		assert_true(citem_is(&l.v[i], S(want[i])));
		assert_int_equal(l.v[i].blen, 8);
		idx = (int64_t)((uint64_t)l.v[i].b[0] | (uint64_t)l.v[i].b[1] << 8 |
				(uint64_t)l.v[i].b[2] << 16 | (uint64_t)l.v[i].b[3] << 24 |
				(uint64_t)l.v[i].b[4] << 32 | (uint64_t)l.v[i].b[5] << 40 |
				(uint64_t)l.v[i].b[6] << 48 | (uint64_t)l.v[i].b[7] << 56);
		assert_int_equal(idx, (int64_t)i);
	}
	clist_free(&l);
}

#define ASSERT_LIST(db, key, ...)                                                  \
	do {                                                                       \
		static const char *const w_[] = { __VA_ARGS__ };                   \
		assert_list(db, key, w_, sizeof(w_) / sizeof(w_[0]));              \
	} while (0)

static void assert_elem(struct hkv *db, const char *key, int64_t i, const char *want)
{
	struct hkv_buf b;

	assert_int_equal(hkv_lindex(db, S(key), i, &b), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	assert_int_equal(((char *)b.data)[b.len], 0);
	hkv_buf_release(&b);
}

static void test_list_push_pop(void **state)
{
	struct cfix *f = *state;
	struct hkv_buf b;
	struct hkv_attr a;
	uint64_t id, v;

	assert_int_equal(hkv_llen(f->db, S("l")), 0);
	assert_int_equal(hkv_rpush(f->db, S("l"), S("b"), NULL), 1);
	assert_int_equal(hkv_rpush(f->db, S("l"), S("c"), NULL), 2);
	assert_int_equal(hkv_lpush(f->db, S("l"), S("a"), NULL), 3);
	assert_int_equal(hkv_lpush(f->db, S("l"), "", 0, NULL), 4);
	assert_int_equal(hkv_type(f->db, S("l")), HKV_TYPE_LIST);
	ASSERT_LIST(f->db, "l", "", "a", "b", "c");
	assert_int_equal(hkv_attr_get(f->db, S("l"), &a), 0);
	assert_int_equal(a.size, 4);
	v = a.version;

	assert_int_equal(hkv_lpop(f->db, S("l"), &b), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	hkv_buf_release(&b);
	assert_int_equal(hkv_rpop(f->db, S("l"), &b), 0);
	assert_int_equal(b.len, 1);
	assert_memory_equal(b.data, "c", 1);
	hkv_buf_release(&b);
	assert_int_equal(hkv_attr_get(f->db, S("l"), &a), 0);
	assert_int_equal(a.size, 2);
	assert_true(a.version > v);
	ASSERT_LIST(f->db, "l", "a", "b");

	id = key_id(f->db, "l");
	assert_int_equal(hkv_rpop(f->db, S("l"), &b), 0);
	hkv_buf_release(&b);
	assert_int_equal(hkv_rpop(f->db, S("l"), &b), 0);
	assert_memory_equal(b.data, "a", 1);
	hkv_buf_release(&b);
	/* the list went with its last element */
	assert_int_equal(hkv_exists(f->db, S("l")), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(hkv_lpop(f->db, S("l"), &b), -ENOENT);
	assert_null(b.data);
	assert_int_equal(hkv_rpop(f->db, S("l"), &b), -ENOENT);
	assert_int_equal(hkv_lpush(f->db, S("l"), S("x"), NULL), 1);
	ASSERT_LIST(f->db, "l", "x");

	/* an empty list made by hkv_create() pops nothing and stays */
	assert_int_equal(hkv_create(f->db, S("e"), HKV_TYPE_LIST, NULL), 0);
	assert_int_equal(hkv_lpop(f->db, S("e"), &b), -ENOENT);
	assert_int_equal(hkv_llen(f->db, S("e")), 0);
	assert_int_equal(hkv_ltrim(f->db, S("e"), 1, 0), 0);
	assert_int_equal(hkv_lrem(f->db, S("e"), 0, S("x")), 0);
	assert_int_equal(hkv_linsert(f->db, S("e"), true, S("x"), S("y")), -1);
	assert_int_equal(hkv_exists(f->db, S("e")), 1);
	assert_int_equal(hkv_rpush(f->db, S("e"), S("1"), NULL), 1);
	assert_int_equal(hkv_lpush(f->db, S("e"), S("0"), NULL), 2);
	ASSERT_LIST(f->db, "e", "0", "1");
}

static void test_list_index_set(void **state)
{
	struct cfix *f = *state;
	struct hkv_buf b;

	for (int i = 0; i < 5; i++) {
		char v[4] = { (char)('a' + i), 0 };

		assert_int_equal(hkv_rpush(f->db, S("l"), S(v), NULL), i + 1);
	}
	assert_elem(f->db, "l", 0, "a");
	assert_elem(f->db, "l", 4, "e");
	assert_elem(f->db, "l", -1, "e");
	assert_elem(f->db, "l", -5, "a");
	assert_int_equal(hkv_lindex(f->db, S("l"), 5, &b), -ENOENT);
	assert_int_equal(hkv_lindex(f->db, S("l"), -6, &b), -ENOENT);
	assert_int_equal(hkv_lindex(f->db, S("l"), INT64_MIN, &b), -ENOENT);
	assert_int_equal(hkv_lindex(f->db, S("l"), INT64_MAX, &b), -ENOENT);
	assert_int_equal(hkv_lindex(f->db, S("nokey"), 0, &b), -ENOENT);

	assert_int_equal(hkv_lset(f->db, S("l"), 0, S("A")), 0);
	assert_int_equal(hkv_lset(f->db, S("l"), -1, S("E")), 0);
	assert_int_equal(hkv_lset(f->db, S("l"), 2, S("Cee")), 0);
	assert_int_equal(hkv_lset(f->db, S("l"), 5, S("x")), -ERANGE);
	assert_int_equal(hkv_lset(f->db, S("l"), -6, S("x")), -ERANGE);
	assert_int_equal(hkv_lset(f->db, S("nokey"), 0, S("x")), -ENOENT);
	assert_int_equal(hkv_exists(f->db, S("nokey")), 0);
	ASSERT_LIST(f->db, "l", "A", "b", "Cee", "d", "E");
	/* after pushes on the left, positions still count from the head */
	assert_int_equal(hkv_lpush(f->db, S("l"), S("z"), NULL), 6);
	assert_elem(f->db, "l", 0, "z");
	assert_elem(f->db, "l", 1, "A");
	assert_int_equal(hkv_lset(f->db, S("l"), 1, S("AA")), 0);
	assert_elem(f->db, "l", -5, "AA");
}

static void test_list_range(void **state)
{
	struct cfix *f = *state;
	struct clist l = { 0 };
	static const struct {
		int64_t start, stop;
		size_t n, first;
	} cases[] = {
		{ 0, -1, 10, 0 },	 { 0, 0, 1, 0 },	 { 2, 4, 3, 2 },
		{ -3, -1, 3, 7 },	 { -100, 2, 3, 0 },	 { 8, 100, 2, 8 },
		{ 5, 4, 0, 0 },		 { 10, 20, 0, 0 },	 { -1, -2, 0, 0 },
		{ -11, -11, 0, 0 },	 { INT64_MIN, INT64_MAX, 10, 0 },
		{ INT64_MAX, INT64_MIN, 0, 0 },
	};

	for (int i = 0; i < 10; i++) {
		char v[4] = { (char)('0' + i), 0 };

		assert_int_equal(hkv_rpush(f->db, S("l"), S(v), NULL), i + 1);
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		assert_int_equal(hkv_lrange(f->db, S("l"), cases[c].start, cases[c].stop,
					    clist_elem_cb, &l),
				 0);
		assert_int_equal(l.n, cases[c].n);
		for (size_t i = 0; i < l.n; i++)
			assert_int_equal(l.v[i].a[0], '0' + (int)(cases[c].first + i));
		clist_free(&l);
	}
	l.stop_after = 2;
	assert_int_equal(hkv_lrange(f->db, S("l"), 0, -1, clist_elem_cb, &l), 7);
	assert_int_equal(l.n, 2);
	clist_free(&l);
	assert_int_equal(hkv_lrange(f->db, S("nokey"), 0, -1, clist_elem_cb, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_list_trim(void **state)
{
	struct cfix *f = *state;
	uint64_t id;

	for (int i = 0; i < 6; i++) {
		char v[4] = { (char)('0' + i), 0 };

		assert_int_equal(hkv_rpush(f->db, S("l"), S(v), NULL), i + 1);
	}
	assert_int_equal(hkv_ltrim(f->db, S("l"), 1, -2), 0);
	ASSERT_LIST(f->db, "l", "1", "2", "3", "4");
	assert_int_equal(hkv_ltrim(f->db, S("l"), -100, 100), 0);
	ASSERT_LIST(f->db, "l", "1", "2", "3", "4");
	assert_int_equal(hkv_ltrim(f->db, S("l"), -2, -1), 0);
	ASSERT_LIST(f->db, "l", "3", "4");
	assert_int_equal(hkv_lpush(f->db, S("l"), S("x"), NULL), 3);
	ASSERT_LIST(f->db, "l", "x", "3", "4");
	id = key_id(f->db, "l");
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 3);
	/* an empty range removes the list */
	assert_int_equal(hkv_ltrim(f->db, S("l"), 2, 1), 0);
	assert_int_equal(hkv_exists(f->db, S("l")), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(hkv_ltrim(f->db, S("l"), 0, -1), 0);
	assert_int_equal(hkv_exists(f->db, S("l")), 0);
	assert_int_equal(hkv_rpush(f->db, S("l"), S("a"), NULL), 1);
	assert_int_equal(hkv_ltrim(f->db, S("l"), 5, 10), 0);
	assert_int_equal(hkv_exists(f->db, S("l")), 0);
}

static void test_list_rem(void **state)
{
	struct cfix *f = *state;
	static const char *init[] = { "a", "x", "b", "x", "c", "x", "d", "x" };
	uint64_t id;

	for (size_t i = 0; i < 8; i++)
		assert_int_equal(hkv_rpush(f->db, S("l"), S(init[i]), NULL), (int64_t)i + 1);
	assert_int_equal(hkv_lrem(f->db, S("l"), 1, S("x")), 1);
	ASSERT_LIST(f->db, "l", "a", "b", "x", "c", "x", "d", "x");
	assert_int_equal(hkv_lrem(f->db, S("l"), -2, S("x")), 2);
	ASSERT_LIST(f->db, "l", "a", "b", "x", "c", "d");
	assert_int_equal(hkv_lrem(f->db, S("l"), 0, S("nothing")), 0);
	assert_int_equal(hkv_lpush(f->db, S("l"), S("x"), NULL), 6);
	assert_int_equal(hkv_rpush(f->db, S("l"), S("x"), NULL), 7);
	assert_int_equal(hkv_lrem(f->db, S("l"), 0, S("x")), 3);
	ASSERT_LIST(f->db, "l", "a", "b", "c", "d");
	assert_int_equal(hkv_lrem(f->db, S("l"), INT64_MIN, S("a")), 1);
	assert_int_equal(hkv_lrem(f->db, S("l"), INT64_MAX, S("d")), 1);
	ASSERT_LIST(f->db, "l", "b", "c");
	assert_elem(f->db, "l", -1, "c");
	id = key_id(f->db, "l");
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 2);
	assert_int_equal(hkv_rpush(f->db, S("l"), S("b"), NULL), 3);
	assert_int_equal(hkv_lrem(f->db, S("l"), 0, S("b")), 2);
	assert_int_equal(hkv_lrem(f->db, S("l"), -1, S("c")), 1);
	assert_int_equal(hkv_exists(f->db, S("l")), 0);
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, id), 0);
	assert_int_equal(hkv_lrem(f->db, S("l"), 0, S("c")), 0);
	/* binary values compare by all their bytes */
	assert_int_equal(hkv_rpush(f->db, S("b"), "a\0b", 3, NULL), 1);
	assert_int_equal(hkv_rpush(f->db, S("b"), "a\0c", 3, NULL), 2);
	assert_int_equal(hkv_rpush(f->db, S("b"), "a", 1, NULL), 3);
	assert_int_equal(hkv_lrem(f->db, S("b"), 0, "a\0c", 3), 1);
	assert_int_equal(hkv_llen(f->db, S("b")), 2);
}

static void test_list_insert(void **state)
{
	struct cfix *f = *state;

	assert_int_equal(hkv_linsert(f->db, S("l"), true, S("a"), S("b")), 0);
	assert_int_equal(hkv_exists(f->db, S("l")), 0);
	for (int i = 0; i < 6; i++) {
		char v[4] = { (char)('0' + i), 0 };

		assert_int_equal(hkv_rpush(f->db, S("l"), S(v), NULL), i + 1);
	}
	assert_int_equal(hkv_linsert(f->db, S("l"), true, S("9"), S("x")), -1);
	/* near the head (the head side moves) and near the tail (the tail side moves) */
	assert_int_equal(hkv_linsert(f->db, S("l"), true, S("1"), S("b1")), 7);
	ASSERT_LIST(f->db, "l", "0", "b1", "1", "2", "3", "4", "5");
	assert_int_equal(hkv_linsert(f->db, S("l"), false, S("4"), S("a4")), 8);
	ASSERT_LIST(f->db, "l", "0", "b1", "1", "2", "3", "4", "a4", "5");
	assert_int_equal(hkv_linsert(f->db, S("l"), true, S("0"), S("first")), 9);
	assert_int_equal(hkv_linsert(f->db, S("l"), false, S("5"), S("last")), 10);
	ASSERT_LIST(f->db, "l", "first", "0", "b1", "1", "2", "3", "4", "a4", "5", "last");
	/* the first occurrence of the pivot counts */
	assert_int_equal(hkv_rpush(f->db, S("l"), S("2"), NULL), 11);
	assert_int_equal(hkv_linsert(f->db, S("l"), false, S("2"), S("after2")), 12);
	ASSERT_LIST(f->db, "l", "first", "0", "b1", "1", "2", "after2", "3", "4", "a4", "5",
		    "last", "2");
	assert_int_equal(count_id_records(f->db, f->db->dbi_elems, key_id(f->db, "l")), 12);
	assert_elem(f->db, "l", 0, "first");
	assert_elem(f->db, "l", -1, "2");
}

static void test_list_errors(void **state)
{
	struct cfix *f = *state;
	char big[HKV_KEY_MAX + 1];
	struct clist l = { 0 };
	struct hkv_buf b;

	memset(big, 'k', sizeof(big));
	assert_int_equal(hkv_set(f->db, S("str"), S("x"), NULL), 1);
	assert_int_equal(hkv_zadd(f->db, S("z"), 1, S("m"), 0, NULL, NULL), 1);
	assert_int_equal(hkv_lpush(f->db, S("str"), S("v"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_rpush(f->db, S("z"), S("v"), NULL), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_lpop(f->db, S("str"), &b), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_rpop(f->db, S("z"), &b), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_lindex(f->db, S("str"), 0, &b), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_lset(f->db, S("z"), 0, S("v")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_lrange(f->db, S("str"), 0, -1, clist_elem_cb, &l),
			 -HKV_EWRONGTYPE);
	assert_int_equal(hkv_llen(f->db, S("z")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_lrem(f->db, S("str"), 0, S("v")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_ltrim(f->db, S("z"), 0, 1), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_linsert(f->db, S("str"), true, S("a"), S("b")), -HKV_EWRONGTYPE);
	assert_int_equal(hkv_zcard(f->db, S("z")), 1);
	assert_int_equal(l.n, 0);

	assert_int_equal(hkv_lpush(f->db, "", 0, S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_rpush(f->db, big, sizeof(big), S("v"), NULL), -EINVAL);
	assert_int_equal(hkv_lpush(f->db, S("l"), NULL, 2, NULL), -EINVAL);
	assert_int_equal(hkv_lpop(f->db, "", 0, &b), -EINVAL);
	assert_int_equal(hkv_lindex(f->db, big, sizeof(big), 0, &b), -EINVAL);
	assert_int_equal(hkv_lset(f->db, "", 0, 0, S("v")), -EINVAL);
	assert_int_equal(hkv_lrange(f->db, "", 0, 0, 1, clist_elem_cb, &l), -EINVAL);
	assert_int_equal(hkv_llen(f->db, big, sizeof(big)), -EINVAL);
	assert_int_equal(hkv_lrem(f->db, "", 0, 0, S("v")), -EINVAL);
	assert_int_equal(hkv_ltrim(f->db, "", 0, 0, 1), -EINVAL);
	assert_int_equal(hkv_linsert(f->db, "", 0, true, S("a"), S("b")), -EINVAL);
	assert_int_equal(hkv_exists(f->db, S("l")), 0);
	/* values larger than any member are fine in a list */
	{
		size_t n = 1 << 20;
		unsigned char *v = malloc(n);

		assert_non_null(v);
		for (size_t i = 0; i < n; i++)
			v[i] = (unsigned char)(i * 31);
		assert_int_equal(hkv_rpush(f->db, S("l"), v, n, NULL), 1);
		assert_int_equal(hkv_lpush(f->db, S("l"), S("small"), NULL), 2);
		assert_int_equal(hkv_linsert(f->db, S("l"), true, S("small"), S("s0")), 3);
		assert_int_equal(hkv_lindex(f->db, S("l"), -1, &b), 0);
		assert_int_equal(b.len, n);
		assert_memory_equal(b.data, v, n);
		hkv_buf_release(&b);
		assert_int_equal(hkv_lrem(f->db, S("l"), 1, v, n), 1);
		free(v);
	}
}

static void test_list_persist(void **state)
{
	struct cfix *f = *state;
	struct hkv_create_attr ca = { 0600, 5, 6 };
	struct hkv_attr a;

	assert_int_equal(hkv_rpush(f->db, S("l"), S("b"), &ca), 1);
	assert_int_equal(hkv_lpush(f->db, S("l"), S("a"), NULL), 2);
	assert_int_equal(hkv_rpush(f->db, S("l"), S("c"), NULL), 3);
	cfix_reopen(f);
	ASSERT_LIST(f->db, "l", "a", "b", "c");
	assert_int_equal(hkv_attr_get(f->db, S("l"), &a), 0);
	assert_int_equal(a.mode, 0600);
	assert_int_equal(a.uid, 5);
	assert_int_equal(a.size, 3);
	assert_int_equal(hkv_lpush(f->db, S("l"), S("0"), NULL), 4);
	ASSERT_LIST(f->db, "l", "0", "a", "b", "c");
	/* expiry hides the list; a push then starts a new one */
	assert_int_equal(hkv_pexpire(f->db, S("l"), 10, 0), 1);
	f->clk.now += 10;
	assert_int_equal(hkv_llen(f->db, S("l")), 0);
	assert_int_equal(hkv_rpush(f->db, S("l"), S("n"), NULL), 1);
	ASSERT_LIST(f->db, "l", "n");
}

/* The model: an array of small strings. */
struct lmodel {
	char v[512][8];
	size_t n;
};

static bool lm_norm(size_t n, int64_t *start, int64_t *stop)
{
	int64_t len = (int64_t)n;

	if (*start < 0)
		*start += len;
	if (*stop < 0)
		*stop += len;
	if (*start < 0)
		*start = 0;
	if (*start > *stop || *start >= len)
		return false;
	if (*stop >= len)
		*stop = len - 1;
	return true;
}

static void lm_check(struct cfix *f, const struct lmodel *m)
{
	struct clist l = { 0 };

	assert_int_equal(hkv_exists(f->db, S("r")), m->n > 0);
	assert_int_equal(hkv_llen(f->db, S("r")), (int64_t)m->n);
	assert_int_equal(hkv_lrange(f->db, S("r"), 0, -1, clist_elem_cb, &l), 0);
	assert_int_equal(l.n, m->n);
	for (size_t i = 0; i < m->n; i++)
		assert_true(citem_is(&l.v[i], S(m->v[i])));
	clist_free(&l);
	if (m->n)
		assert_int_equal(count_id_records(f->db, f->db->dbi_elems, key_id(f->db, "r")),
				 m->n);
}

static void test_list_random_model(void **state)
{
	struct cfix *f = *state;
	struct lmodel *m = calloc(1, sizeof(*m));
	uint64_t rng = 0x5eed1157;
	struct hkv_buf b;
	struct clist l = { 0 };
	char val[8];

	assert_non_null(m);
	for (int step = 0; step < 3000; step++) {
		unsigned op = (unsigned)(test_rng(&rng) % 11);
		int64_t i = (int64_t)(test_rng(&rng) % 40) - 20, j, p;
		size_t k;

		snprintf(val, sizeof(val), "v%u", (unsigned)(test_rng(&rng) % 6));
		if (m->n > 400 && op <= 1)
			op = 2; /* keep it bounded */
		switch (op) {
		case 0:
			assert_int_equal(hkv_lpush(f->db, S("r"), S(val), NULL), (int64_t)m->n + 1);
			memmove(m->v[1], m->v[0], m->n * sizeof(m->v[0]));
			strcpy(m->v[0], val);
			m->n++;
			break;
		case 1:
			assert_int_equal(hkv_rpush(f->db, S("r"), S(val), NULL), (int64_t)m->n + 1);
			strcpy(m->v[m->n++], val);
			break;
		case 2:
		case 3: {
			bool left = op == 2;
			int rc = left ? hkv_lpop(f->db, S("r"), &b) : hkv_rpop(f->db, S("r"), &b);

			if (!m->n) {
				assert_int_equal(rc, -ENOENT);
				break;
			}
			assert_int_equal(rc, 0);
			k = left ? 0 : m->n - 1;
			assert_int_equal(b.len, strlen(m->v[k]));
			assert_memory_equal(b.data, m->v[k], b.len);
			hkv_buf_release(&b);
			if (left)
				memmove(m->v[0], m->v[1], (m->n - 1) * sizeof(m->v[0]));
			m->n--;
			break;
		}
		case 4:
			p = i < 0 ? i + (int64_t)m->n : i;
			if (p >= 0 && p < (int64_t)m->n)
				assert_elem(f->db, "r", i, m->v[p]);
			else
				assert_int_equal(hkv_lindex(f->db, S("r"), i, &b), -ENOENT);
			break;
		case 5:
			p = i < 0 ? i + (int64_t)m->n : i;
			if (p >= 0 && p < (int64_t)m->n) {
				assert_int_equal(hkv_lset(f->db, S("r"), i, S(val)), 0);
				strcpy(m->v[p], val);
			} else {
				assert_int_equal(hkv_lset(f->db, S("r"), i, S(val)),
						 m->n ? -ERANGE : -ENOENT);
			}
			break;
		case 6:
			j = (int64_t)(test_rng(&rng) % 40) - 20;
			assert_int_equal(hkv_lrange(f->db, S("r"), i, j, clist_elem_cb, &l), 0);
			if (lm_norm(m->n, &i, &j)) {
				assert_int_equal(l.n, (size_t)(j - i + 1));
				for (k = 0; k < l.n; k++)
					assert_true(citem_is(&l.v[k], S(m->v[i + (int64_t)k])));
			} else {
				assert_int_equal(l.n, 0);
			}
			clist_free(&l);
			break;
		case 7: {
			int64_t cnt = (int64_t)(test_rng(&rng) % 5) - 2, removed = 0;
			uint64_t lim = cnt ? (uint64_t)(cnt < 0 ? -cnt : cnt) : UINT64_MAX;
			struct lmodel *o = malloc(sizeof(*o));

			assert_non_null(o);
			o->n = 0;
			if (cnt >= 0) {
				for (k = 0; k < m->n; k++) {
					if ((uint64_t)removed < lim && !strcmp(m->v[k], val))
						removed++;
					else
						strcpy(o->v[o->n++], m->v[k]);
				}
			} else {
				/* collect from the tail, then reverse */
				for (k = m->n; k-- > 0;) {
					if ((uint64_t)removed < lim && !strcmp(m->v[k], val))
						removed++;
					else
						strcpy(o->v[o->n++], m->v[k]);
				}
				for (k = 0; k < o->n / 2; k++) {
					char t[8];

					memcpy(t, o->v[k], 8);
					memcpy(o->v[k], o->v[o->n - 1 - k], 8);
					memcpy(o->v[o->n - 1 - k], t, 8);
				}
			}
			assert_int_equal(hkv_lrem(f->db, S("r"), cnt, S(val)), removed);
			memcpy(m, o, sizeof(*m));
			free(o);
			break;
		}
		case 8:
			if (test_rng(&rng) % 4)
				break; /* rarer: it shrinks the list a lot */
			j = (int64_t)(test_rng(&rng) % 60) - 10;
			assert_int_equal(hkv_ltrim(f->db, S("r"), i, j), 0);
			if (lm_norm(m->n, &i, &j)) {
				memmove(m->v[0], m->v[i], (size_t)(j - i + 1) * sizeof(m->v[0]));
				m->n = (size_t)(j - i + 1);
			} else {
				m->n = 0;
			}
			break;
		case 9:
		case 10: {
			char pivot[8];
			bool before = op == 9;
			int64_t want;

			snprintf(pivot, sizeof(pivot), "v%u", (unsigned)(test_rng(&rng) % 6));
			for (k = 0; k < m->n; k++)
				if (!strcmp(m->v[k], pivot))
					break;
			if (!m->n && !hkv_exists(f->db, S("r")))
				want = 0;
			else if (k == m->n)
				want = -1;
			else
				want = (int64_t)m->n + 1;
			if (m->n >= 500)
				break;
			assert_int_equal(hkv_linsert(f->db, S("r"), before, S(pivot), S(val)),
					 want);
			if (want > 0) {
				size_t q = before ? k : k + 1;

				memmove(m->v[q + 1], m->v[q], (m->n - q) * sizeof(m->v[0]));
				strcpy(m->v[q], val);
				m->n++;
			}
			break;
		}
		}
		if (step % 25 == 0)
			lm_check(f, m);
		if (step == 1500)
			cfix_reopen(f);
	}
	lm_check(f, m);
	cfix_reopen(f);
	lm_check(f, m);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_push_pop, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_index_set, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_range, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_trim, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_rem, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_insert, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_errors, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_persist, cfix_setup, cfix_teardown),
		cmocka_unit_test_setup_teardown(test_list_random_model, cfix_setup,
						cfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
