// SPDX-License-Identifier: MIT
/*
 * sort.c - SORT and SORT_RO: the elements of a list, set or sorted set, ordered numerically
 * or bytewise (ALPHA), by themselves or by the values of other keys (BY pattern), limited,
 * projected through other keys (GET pattern) and optionally stored as a list (STORE).
 *
 * Patterns, as Redis: the first '*' is replaced by the element; "key->field" reads a hash
 * field; GET "#" is the element itself; a BY pattern without '*' means "do not sort". Numeric
 * sorting parses every weight as a double ("One or more scores can't be converted into
 * double" otherwise; a missing BY key weighs 0); equal weights are ordered by the elements'
 * bytes, so the result is deterministic. A set is walked in member byte order, so "BY nosort"
 * on a set gives that order.
 *
 * With STORE, SORT is a write: call.c runs it in one engine transaction, so the reads of the
 * source and the pattern keys and the replacement of the destination are one atomic step.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

struct sortel {
	size_t idx;       /* element in the loaded collection */
	double score;
	struct hkv_buf by; /* ALPHA BY value (data NULL: missing) */
};

struct sort_ctx {
	const struct elems *e;
	bool alpha, desc, by_pattern;
};

static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static struct sort_ctx *the_ctx; /* qsort has no argument; the server thread only */

static int sort_cmp(const void *pa, const void *pb)
{
	const struct sortel *a = pa, *b = pb;
	const struct sort_ctx *x = the_ctx;
	int r = 0;

	if (!x->alpha) {
		r = a->score < b->score ? -1 : a->score > b->score;
	} else if (x->by_pattern) {
		if (!a->by.data || !b->by.data)
			r = (a->by.data != NULL) - (b->by.data != NULL);
		else
			r = cmp_bytes(a->by.data, a->by.len, b->by.data, b->by.len);
	} else {
		r = cmp_bytes(elem_a(x->e, a->idx), x->e->v[a->idx].alen, elem_a(x->e, b->idx),
			      x->e->v[b->idx].alen);
	}
	if (!r) /* ties: by the elements themselves */
		r = cmp_bytes(elem_a(x->e, a->idx), x->e->v[a->idx].alen, elem_a(x->e, b->idx),
			      x->e->v[b->idx].alen);
	return x->desc ? -r : r;
}

/*
 * The value @pat names for element @el: 0 and @out (data NULL if missing); a negative
 * engine error other than a missing key or a wrong type.
 */
static int lookup_pattern(struct client *c, const char *pat, size_t plen, const char *el,
			  size_t elen, struct hkv_buf *out)
{
	const char *star, *arrow = NULL;
	char *key;
	size_t klen, flen = 0;
	int rc;

	out->data = NULL;
	out->len = 0;
	if (plen == 1 && pat[0] == '#') {
		out->data = malloc(elen + 1);
		if (!out->data)
			return -ENOMEM;
		memcpy(out->data, el, elen);
		((char *)out->data)[elen] = 0;
		out->len = elen;
		return 0;
	}
	star = memchr(pat, '*', plen);
	if (!star)
		return 0;
	for (const char *p = star + 1; p + 2 < pat + plen; p++) {
		if (p[0] == '-' && p[1] == '>') {
			arrow = p;
			break;
		}
	}
	klen = (size_t)((arrow ? arrow : pat + plen) - pat) - 1 + elen;
	key = malloc(klen + 1);
	if (!key)
		return -ENOMEM;
	memcpy(key, pat, (size_t)(star - pat));
	memcpy(key + (star - pat), el, elen);
	memcpy(key + (star - pat) + elen, star + 1,
	       (size_t)((arrow ? arrow : pat + plen) - star - 1));
	if (arrow) {
		flen = (size_t)(pat + plen - arrow - 2);
		rc = hkv_hget(c->db, key, klen, arrow + 2, flen, out);
	} else {
		rc = hkv_get(c->db, key, klen, out);
	}
	free(key);
	if (rc == -ENOENT || rc == -HKV_EWRONGTYPE) {
		out->data = NULL;
		out->len = 0;
		return 0;
	}
	return rc;
}

static bool parse_score(const char *s, size_t len, double *out)
{
	char buf[128], *end;

	if (!len || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = 0;
	errno = 0;
	*out = strtod(buf, &end);
	return *end == 0 && errno != ERANGE && !isnan(*out);
}

static void sort_generic(struct client *c, bool readonly)
{
	const char *by = NULL, *store = NULL;
	size_t bylen = 0, storelen = 0;
	long long offset = 0, count = -1;
	bool limit = false, desc = false, alpha = false, dontsort = false;
	int *gets = NULL, ngets = 0;
	struct sortel *v = NULL;
	struct elems e;
	struct sort_ctx ctx;
	size_t start, end, n;
	int t, rc;

	elems_init(&e);
	gets = calloc((size_t)c->argc, sizeof(*gets));
	if (!gets) {
		add_error(c, "-OOM out of memory");
		return;
	}
	for (int j = 2; j < c->argc; j++) {
		int more = c->argc - j - 1;

		if (arg_eq(c, j, "asc")) {
			desc = false;
		} else if (arg_eq(c, j, "desc")) {
			desc = true;
		} else if (arg_eq(c, j, "alpha")) {
			alpha = true;
		} else if (arg_eq(c, j, "limit") && more >= 2) {
			if (!get_ll_or_reply(c, j + 1, &offset, NULL) ||
			    !get_ll_or_reply(c, j + 2, &count, NULL))
				goto out;
			limit = true;
			j += 2;
		} else if (arg_eq(c, j, "store") && more >= 1 && !readonly) {
			store = c->argv[j + 1];
			storelen = c->argvlen[j + 1];
			j++;
		} else if (arg_eq(c, j, "by") && more >= 1) {
			by = c->argv[j + 1];
			bylen = c->argvlen[j + 1];
			if (!memchr(by, '*', bylen))
				dontsort = true;
			j++;
		} else if (arg_eq(c, j, "get") && more >= 1) {
			gets[ngets++] = j + 1;
			j++;
		} else {
			add_err_syntax(c);
			goto out;
		}
	}
	t = hkv_type(c->db, c->argv[1], c->argvlen[1]);
	if (t < 0) {
		add_err_engine(c, t);
		goto out;
	}
	switch (t) {
	case HKV_TYPE_NONE:
		break;
	case HKV_TYPE_LIST:
		rc = elems_load_list(c->db, c->argv[1], c->argvlen[1], &e);
		goto loaded;
	case HKV_TYPE_SET:
		rc = elems_load_set(c->db, c->argv[1], c->argvlen[1], &e);
		goto loaded;
	case HKV_TYPE_ZSET:
		rc = elems_load_zset(c->db, c->argv[1], c->argvlen[1], &e);
loaded:
		if (rc) {
			add_err_engine(c, rc);
			goto out;
		}
		break;
	default:
		add_err_wrongtype(c);
		goto out;
	}
	n = e.n;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		add_error(c, "-OOM out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].idx = i;
		if (dontsort)
			continue;
		if (by) {
			rc = lookup_pattern(c, by, bylen, elem_a(&e, i), e.v[i].alen, &v[i].by);
			if (rc) {
				add_err_engine(c, rc);
				goto out;
			}
			if (!alpha) {
				if (!v[i].by.data) {
					v[i].score = 0;
				} else if (!parse_score(v[i].by.data, v[i].by.len, &v[i].score)) {
					add_error(c, "One or more scores can't be converted into double");
					goto out;
				}
			}
		} else if (!alpha && !parse_score(elem_a(&e, i), e.v[i].alen, &v[i].score)) {
			add_error(c, "One or more scores can't be converted into double");
			goto out;
		}
	}
	if (!dontsort && n > 1) {
		ctx.e = &e;
		ctx.alpha = alpha;
		ctx.desc = desc;
		ctx.by_pattern = by != NULL;
		the_ctx = &ctx;
		qsort(v, n, sizeof(*v), sort_cmp);
		the_ctx = NULL;
	} else if (dontsort && desc && t == HKV_TYPE_ZSET) {
		/* a sorted set keeps its own order, reversed by DESC, as Redis */
		for (size_t i = 0; i < n / 2; i++) {
			struct sortel tmp = v[i];

			v[i] = v[n - 1 - i];
			v[n - 1 - i] = tmp;
		}
	}
	start = 0;
	end = n;
	if (limit) {
		if (offset < 0)
			offset = 0;
		start = (size_t)offset > n ? n : (size_t)offset;
		if (count >= 0 && (size_t)count < n - start)
			end = start + (size_t)count;
	}
	if (store) {
		long long stored = 0;
		int existed = hkv_del(c->db, store, storelen);

		if (existed < 0) {
			add_err_engine(c, existed);
			goto out;
		}
		if (writes_refused(c))
			goto out;
		for (size_t i = start; i < end; i++) {
			int nval = ngets ? ngets : 1;

			for (int g = 0; g < nval; g++) {
				struct hkv_buf val = { 0 };
				const void *p;
				size_t len;
				int64_t r;

				if (ngets) {
					rc = lookup_pattern(c, c->argv[gets[g]], c->argvlen[gets[g]],
							    elem_a(&e, v[i].idx), e.v[v[i].idx].alen,
							    &val);
					if (rc) {
						add_err_engine(c, rc);
						goto out;
					}
					p = val.data ? val.data : "";
					len = val.len;
				} else {
					p = elem_a(&e, v[i].idx);
					len = e.v[v[i].idx].alen;
				}
				r = hkv_rpush(c->db, store, storelen, p, len, NULL);
				hkv_buf_release(&val);
				if (r < 0) {
					add_err_engine(c, (int)r);
					goto out;
				}
				stored++;
			}
		}
		if (stored)
			key_modified(c, NOTIFY_LIST, "sortstore", store, storelen);
		else if (existed)
			key_modified(c, NOTIFY_GENERIC, "del", store, storelen);
		add_int(c, stored);
		goto out;
	}
	add_array(c, (long long)(end - start) * (ngets ? ngets : 1));
	for (size_t i = start; i < end; i++) {
		if (!ngets) {
			add_bulk(c, elem_a(&e, v[i].idx), e.v[v[i].idx].alen);
			continue;
		}
		for (int g = 0; g < ngets; g++) {
			struct hkv_buf val = { 0 };

			rc = lookup_pattern(c, c->argv[gets[g]], c->argvlen[gets[g]],
					    elem_a(&e, v[i].idx), e.v[v[i].idx].alen, &val);
			if (rc || !val.data)
				add_null(c);
			else
				add_bulk(c, val.data, val.len);
			hkv_buf_release(&val);
		}
	}
out:
	if (v)
		for (size_t i = 0; i < e.n; i++)
			hkv_buf_release(&v[i].by);
	free(v);
	free(gets);
	elems_free(&e);
}

void sort_command(struct client *c)
{
	sort_generic(c, false);
}

void sort_ro_command(struct client *c)
{
	sort_generic(c, true);
}
