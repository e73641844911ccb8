// SPDX-License-Identifier: MIT
/*
 * teststore.c - see teststore.h.
 */
#include <stdlib.h>

#include "teststore.h"

int test_store_setup(void **state, const char *tag, uint32_t inline_max, uint64_t segment_size)
{
	struct test_store *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->dir = test_mkdtemp(tag);
	assert_non_null(s->dir);
	test_options(&s->opt, NULL);
	s->opt.inline_max = inline_max;
	s->opt.compress = false;
	if (segment_size)
		s->opt.segment_size = segment_size;
	*state = s;
	return 0;
}

int test_store_teardown(void **state)
{
	struct test_store *s = *state;

	hkv_close(s->db);
	test_rmrf(s->dir);
	free(s->dir);
	free(s);
	return 0;
}

void test_store_open(struct test_store *s)
{
	s->db = test_open(s->dir, &s->opt);
}

void test_store_reopen(struct test_store *s)
{
	assert_int_equal(hkv_close(s->db), 0);
	s->db = NULL;
	test_store_open(s);
}

static int seg_cb(void *arg, const struct hkv_segment_stat *s)
{
	struct test_seglist *l = arg;

	assert_true(l->n < sizeof(l->s) / sizeof(l->s[0]));
	l->s[l->n++] = *s;
	return 0;
}

void test_segments(struct hkv *db, struct test_seglist *l)
{
	l->n = 0;
	assert_int_equal(hkv_segments(db, seg_cb, l), 0);
}

int test_count_elem(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	(void)a;
	(void)alen;
	(void)b;
	(void)blen;
	(*(int *)arg)++;
	return 0;
}

int test_count_key(void *arg, const void *key, size_t klen, enum hkv_type type, bool pre)
{
	(void)key;
	(void)klen;
	(void)type;
	(void)pre;
	(*(int *)arg)++;
	return 0;
}
