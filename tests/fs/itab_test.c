// SPDX-License-Identifier: MIT
/*
 * itab_test.c - the daemon's inode table (fs/inode.c) driven directly by many threads, the
 * way FUSE requests drive it, with every result checked.
 *
 * Owners (OWNERS threads) each own a namespace "t<i>/d0/..", "t<i>/d1/..": keys and their
 * element inodes. Only the owner re-keys its namespace, so it keeps an exact model of the
 * references it holds and checks: a lookup of a name it holds returns the same node (node ids
 * are stable), every inode shows the identity it was looked up or re-keyed to, find() returns
 * the held node, children() lists every held element, a re-key moves the key and its element
 * inodes, a prefix rename moves everything under d0/ to d1/.
 *
 * Lookers (LOOKERS threads) play concurrent kernel lookups of the same names: ref, snapshot,
 * forget, plus find() and children(). What they see must be a whole identity of the right
 * namespace (names carry a check character, so a torn copy shows).
 *
 * At the end every reference is forgotten and no identity may be found any more: the lookup
 * count is the reference count; hkvfs_itab_each() (the walk "everything may be stale" uses)
 * then reports nothing, and afterwards exactly the live inodes of a small fixed set. Under ASan this also checks that no inode is used after its
 * grace period or leaked.
 *
 * A grower thread meanwhile references 200,000 identities of its own: the table must grow
 * under the others, and every one of them be found again under its node id.
 *
 * Usage: itab_test [ROUNDS]   (fixed seeds; exit 0 or 1 with a message)
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkvfs_int.h"
#define TESTCHECK_HKVFS_LOG
#define TESTCHECK_FAIL
#include "testcheck.h"

#define OWNERS 4
#define LOOKERS 4
#define NKEYS 6
#define NELEMS 3

static atomic_bool done;
static long rounds = 200000;

/* a name: j+1 copies of one byte, then a check character over them */
static size_t name(char *out, char base, int j)
{
	int i, sum = 0;

	for (i = 0; i <= j; i++) {
		out[i] = (char)(base + j);
		sum += out[i];
	}
	out[i] = (char)('A' + sum % 26);
	return (size_t)i + 1;
}

static bool name_ok(const unsigned char *p, size_t n, char base, int max)
{
	int j = (int)n - 2, i, sum = 0;

	if (j < 0 || j >= max || p[0] != base + j)
		return false;
	for (i = 0; i <= j; i++) {
		if (p[i] != p[0])
			return false;
		sum += p[i];
	}
	return p[n - 1] == 'A' + sum % 26;
}

static void key_ident(struct hkvfs_ident *id, int t, int d, int j)
{
	int n = sprintf((char *)id->key, "t%d/d%d/", t, d);

	memset(id, 0, offsetof(struct hkvfs_ident, key));
	id->kind = HKVFS_KEY;
	id->klen = (size_t)n + name((char *)id->key + n, 'a', j);
}

static void elem_ident(struct hkvfs_ident *id, int t, int d, int j, int m)
{
	key_ident(id, t, d, j);
	id->kind = HKVFS_ELEM;
	id->elen = name((char *)id->elem, '0', m);
}

static bool same_ident(const struct hkvfs_ident *a, const struct hkvfs_ident *b)
{
	return a->kind == b->kind && a->klen == b->klen && a->elen == b->elen &&
	       !memcmp(a->key, b->key, a->klen) && !memcmp(a->elem, b->elem, a->elen);
}

/* a whole identity of owner @t's namespace? */
static bool ident_ok(const struct hkvfs_ident *id, int t)
{
	char pfx[16];
	int n = sprintf(pfx, "t%d/d", t);

	if ((id->kind != HKVFS_KEY && id->kind != HKVFS_ELEM) || id->klen < (size_t)n + 3 ||
	    memcmp(id->key, pfx, (size_t)n) || (id->key[n] != '0' && id->key[n] != '1') ||
	    id->key[n + 1] != '/' ||
	    !name_ok(id->key + n + 2, id->klen - (size_t)n - 2, 'a', NKEYS))
		return false;
	return id->kind == HKVFS_KEY ? id->elen == 0 : name_ok(id->elem, id->elen, '0', NELEMS);
}

/* ------------------------------------------------------------------------------------- */

struct held {
	struct hkvfs_inode *in;
	uint64_t n;
};

struct owner {
	int t;
	uint64_t rs;
	struct held key[2][NKEYS];
	struct held elem[2][NKEYS][NELEMS];
};

static void check_ident(struct hkvfs_inode *in, const struct hkvfs_ident *want, const char *what)
{
	struct hkvfs_ident got;

	hkvfs_itab_snapshot(in, &got);
	if (!same_ident(&got, want))
		fail("%s: inode shows '%.*s'/'%.*s', expected '%.*s'/'%.*s'", what, (int)got.klen,
		     got.key, (int)got.elen, got.elem, (int)want->klen, want->key, (int)want->elen,
		     want->elem);
	if (hkvfs_itab_find(want->kind, want->key, want->klen, want->elem, want->elen) !=
	    hkvfs_ino_id(in))
		fail("%s: find('%.*s') is not the held inode", what, (int)want->klen, want->key);
}

static void take(struct held *h, const struct hkvfs_ident *id)
{
	struct hkvfs_inode *in;
	int rc = hkvfs_itab_ref(id, &in);

	if (rc) {
		fail("ref: %d", rc);
		return;
	}
	if (h->n && h->in != in)
		fail("ref of a held name '%.*s' gave another node", (int)id->klen, id->key);
	h->in = in;
	h->n++;
	check_ident(in, id, "ref");
}

static void drop(struct held *h, uint64_t n)
{
	if (!h->n)
		return;
	n = n > h->n ? h->n : n;
	hkvfs_itab_forget(h->in, n);
	h->n -= n;
	if (!h->n)
		h->in = NULL; /* may be freed after a grace period: never touched again */
}

struct child_seen {
	fuse_ino_t ino[64];
	unsigned char elem[64][NELEMS + 2];
	size_t elen[64];
	int n;
	int t;
};

static void child_cb(void *arg, fuse_ino_t ino, const unsigned char *elem, size_t elen)
{
	struct child_seen *c = arg;

	if (!name_ok(elem, elen, '0', NELEMS)) {
		fail("children: malformed element '%.*s'", (int)elen, elem);
		return;
	}
	if (c->n < 64) {
		c->ino[c->n] = ino;
		memcpy(c->elem[c->n], elem, elen);
		c->elen[c->n] = elen;
		c->n++;
	}
}

/* what hkvfs_itab_each() reported */
struct each_seen {
	int n;
	struct {
		fuse_ino_t ino;
		enum hkvfs_kind kind;
		size_t klen, elen;
		unsigned char key[16], elem[16];
	} e[16];
};

static void each_cb(void *arg, fuse_ino_t ino, enum hkvfs_kind kind, const unsigned char *key,
		    size_t klen, const unsigned char *elem, size_t elen)
{
	struct each_seen *s = arg;

	if (s->n == 16 || klen > 16 || elen > 16) {
		fail("each: more inodes or longer names than were made (%zu, %zu)", klen, elen);
		return;
	}
	s->e[s->n].ino = ino;
	s->e[s->n].kind = kind;
	s->e[s->n].klen = klen;
	s->e[s->n].elen = elen;
	memcpy(s->e[s->n].key, key, klen);
	if (elen)
		memcpy(s->e[s->n].elem, elem, elen);
	s->n++;
}

/* @in, named @id, was reported exactly once */
static void each_expect(const struct each_seen *s, struct hkvfs_inode *in,
			const struct hkvfs_ident *id)
{
	int i, hits = 0;

	for (i = 0; i < s->n; i++) {
		if (s->e[i].ino != hkvfs_ino_id(in))
			continue;
		hits++;
		if (s->e[i].kind != id->kind || s->e[i].klen != id->klen ||
		    s->e[i].elen != id->elen || memcmp(s->e[i].key, id->key, id->klen) ||
		    memcmp(s->e[i].elem, id->elem, id->elen))
			fail("each: inode '%.*s' reported with another identity", (int)id->klen,
			     id->key);
	}
	if (hits != 1)
		fail("each: inode '%.*s' reported %d times, expected once", (int)id->klen, id->key,
		     hits);
}

/* hkvfs_itab_each() reports the live inodes, each once with its identity, and no other */
static void each_check(void)
{
	struct hkvfs_ident key, pfx, elem, gone;
	struct hkvfs_inode *ik, *ip, *ie, *ig;
	struct each_seen s = { 0 };

	hkvfs_itab_each(each_cb, &s);
	if (s.n)
		fail("each: %d inodes reported after every reference was forgotten", s.n);
	memset(&key, 0, sizeof(key));
	key.kind = HKVFS_KEY;
	key.klen = 5;
	memcpy(key.key, "e/key", 5);
	pfx = key;
	pfx.kind = HKVFS_PREFIX;
	pfx.klen = 2;
	elem = key;
	elem.kind = HKVFS_ELEM;
	elem.elen = 3;
	memcpy(elem.elem, "fld", 3);
	gone = key;
	gone.klen = 6;
	memcpy(gone.key, "e/gone", 6);
	if (hkvfs_itab_ref(&key, &ik) || hkvfs_itab_ref(&pfx, &ip) ||
	    hkvfs_itab_ref(&elem, &ie) || hkvfs_itab_ref(&gone, &ig)) {
		fail("each: ref failed");
		return;
	}
	hkvfs_itab_forget(ig, 1);
	s.n = 0;
	hkvfs_itab_each(each_cb, &s);
	if (s.n != 3)
		fail("each: %d inodes reported, expected the 3 live ones", s.n);
	each_expect(&s, ik, &key);
	each_expect(&s, ip, &pfx);
	each_expect(&s, ie, &elem);
	hkvfs_itab_forget(ik, 1);
	hkvfs_itab_forget(ip, 1);
	hkvfs_itab_forget(ie, 1);
}

static void owner_step(struct owner *o)
{
	struct hkvfs_ident id, to;
	int d = (int)(rnd(&o->rs) % 2), j = (int)(rnd(&o->rs) % NKEYS);
	int m = (int)(rnd(&o->rs) % NELEMS), op = (int)(rnd(&o->rs) % 100), k, e;

	if (op < 25) {
		key_ident(&id, o->t, d, j);
		take(&o->key[d][j], &id);
	} else if (op < 45) {
		elem_ident(&id, o->t, d, j, m);
		take(&o->elem[d][j][m], &id);
	} else if (op < 60) {
		drop(&o->key[d][j], 1 + rnd(&o->rs) % 2);
	} else if (op < 72) {
		drop(&o->elem[d][j][m], 1 + rnd(&o->rs) % 2);
	} else if (op < 82) { /* re-key a held key onto a name with nothing held */
		k = (int)(rnd(&o->rs) % NKEYS);
		if (!o->key[d][j].n || o->key[d][k].n || k == j)
			return;
		for (e = 0; e < NELEMS; e++)
			if (o->elem[d][k][e].n)
				return;
		key_ident(&to, o->t, d, k);
		if (rnd(&o->rs) % 2) {
			if (hkvfs_itab_rekey(o->key[d][j].in, HKVFS_KEY, to.key, to.klen))
				fail("rekey failed");
		} else {
			key_ident(&id, o->t, d, j);
			if (hkvfs_itab_move(HKVFS_KEY, id.key, id.klen, to.key, to.klen))
				fail("move failed");
		}
		o->key[d][k] = o->key[d][j];
		o->key[d][j] = (struct held){ 0 };
		memcpy(o->elem[d][k], o->elem[d][j], sizeof(o->elem[d][j]));
		memset(o->elem[d][j], 0, sizeof(o->elem[d][j]));
		check_ident(o->key[d][k].in, &to, "rekey");
		for (e = 0; e < NELEMS; e++) {
			if (!o->elem[d][k][e].n)
				continue;
			elem_ident(&id, o->t, d, k, e);
			check_ident(o->elem[d][k][e].in, &id, "rekey child");
		}
	} else if (op < 86) { /* prefix rename d0/ -> d1/ or back, onto an empty prefix */
		char from[32], dst[32];
		int s = d, t = !d;

		for (k = 0; k < NKEYS; k++) {
			if (o->key[t][k].n)
				return;
			for (e = 0; e < NELEMS; e++)
				if (o->elem[t][k][e].n)
					return;
		}
		sprintf(from, "t%d/d%d/", o->t, s);
		sprintf(dst, "t%d/d%d/", o->t, t);
		if (hkvfs_itab_rename_prefix(from, strlen(from), dst, strlen(dst)))
			fail("rename_prefix failed");
		memcpy(o->key[t], o->key[s], sizeof(o->key[s]));
		memset(o->key[s], 0, sizeof(o->key[s]));
		memcpy(o->elem[t], o->elem[s], sizeof(o->elem[s]));
		memset(o->elem[s], 0, sizeof(o->elem[s]));
		for (k = 0; k < NKEYS; k++) {
			if (o->key[t][k].n) {
				key_ident(&id, o->t, t, k);
				check_ident(o->key[t][k].in, &id, "rename_prefix");
			}
			for (e = 0; e < NELEMS; e++) {
				if (!o->elem[t][k][e].n)
					continue;
				elem_ident(&id, o->t, t, k, e);
				check_ident(o->elem[t][k][e].in, &id, "rename_prefix child");
			}
		}
	} else if (op < 94) { /* every held element is listed, with its name */
		struct child_seen c = { .n = 0, .t = o->t };
		int i;

		key_ident(&id, o->t, d, j);
		hkvfs_itab_children(id.key, id.klen, child_cb, &c);
		for (e = 0; e < NELEMS; e++) {
			bool found = false;

			if (!o->elem[d][j][e].n)
				continue;
			elem_ident(&to, o->t, d, j, e);
			for (i = 0; i < c.n; i++)
				if (c.ino[i] == hkvfs_ino_id(o->elem[d][j][e].in) &&
				    c.elen[i] == to.elen && !memcmp(c.elem[i], to.elem, to.elen))
					found = true;
			if (!found)
				fail("children of '%.*s' lack held element %d", (int)id.klen,
				     id.key, e);
		}
	} else { /* a held name is found; statics are what they are */
		struct hkvfs_inode *in;

		if (o->key[d][j].n) {
			key_ident(&id, o->t, d, j);
			check_ident(o->key[d][j].in, &id, "find");
		}
		memset(&id, 0, sizeof(id));
		id.kind = HKVFS_ROOT;
		if (hkvfs_itab_ref(&id, &in) || in != &hkvfs_root ||
		    hkvfs_ino_id(in) != FUSE_ROOT_ID)
			fail("root");
		else
			hkvfs_itab_forget(in, 1);
	}
}

static void *owner_main(void *arg)
{
	struct owner *o = arg;
	long r;
	int d, j, m;

	for (r = 0; r < rounds && !atomic_load(&failed); r++)
		owner_step(o);
	for (d = 0; d < 2; d++)
		for (j = 0; j < NKEYS; j++) {
			drop(&o->key[d][j], UINT64_MAX);
			for (m = 0; m < NELEMS; m++)
				drop(&o->elem[d][j][m], UINT64_MAX);
		}
	return NULL;
}

static void *looker_main(void *arg)
{
	uint64_t rs = 0x51ed2701u + (uint64_t)(uintptr_t)arg;
	struct hkvfs_ident id, got;
	struct hkvfs_inode *in;

	while (!atomic_load(&done) && !atomic_load(&failed)) {
		int t = (int)(rnd(&rs) % OWNERS), d = (int)(rnd(&rs) % 2);
		int j = (int)(rnd(&rs) % NKEYS), m = (int)(rnd(&rs) % NELEMS);
		int op = (int)(rnd(&rs) % 4);

		if (op < 2) {
			if (op == 0)
				key_ident(&id, t, d, j);
			else
				elem_ident(&id, t, d, j, m);
			if (hkvfs_itab_ref(&id, &in)) {
				fail("looker ref");
				break;
			}
			/* the owner may re-key it right after: then it shows its new name, whole */
			hkvfs_itab_snapshot(in, &got);
			if (!ident_ok(&got, t) || got.kind != id.kind)
				fail("looker: torn or foreign identity '%.*s'/'%.*s'",
				     (int)got.klen, got.key, (int)got.elen, got.elem);
			hkvfs_itab_forget(in, 1);
		} else if (op == 2) {
			struct child_seen c = { .n = 0, .t = t };

			key_ident(&id, t, d, j);
			hkvfs_itab_children(id.key, id.klen, child_cb, &c);
		} else {
			elem_ident(&id, t, d, j, m);
			(void)hkvfs_itab_find(HKVFS_ELEM, id.key, id.klen, id.elem, id.elen);
		}
	}
	return NULL;
}

/*
 * The tables grow with what the kernel holds (inode.c, "The tables' sizes"): GROW_N keys and
 * GROW_N elements of GROW_N / 100 collections referenced, each found again under its node
 * id, then all forgotten. With liburcu's own resizing the table could stay at 1024 buckets
 * for good; here at most two entries per bucket are allowed on average. It runs in its own
 * thread while the owners re-key and the lookers look up, so the table grows under them;
 * they hold at most OTHERS_MAX identities of their own at any time.
 */
#define GROW_N 100000
#define OTHERS_MAX (OWNERS * 2 * NKEYS * (NELEMS + 1) + LOOKERS)
static void *grower_main(void *arg)
{
	struct hkvfs_inode **held = calloc(2 * GROW_N, sizeof(*held));
	static struct hkvfs_ident id;
	unsigned long entries, buckets, buckets_full;
	int i;

	if (!held) {
		fail("out of memory");
		return NULL;
	}
	for (i = 0; i < 2 * GROW_N && !atomic_load(&failed); i++) {
		memset(&id, 0, offsetof(struct hkvfs_ident, key));
		id.kind = i < GROW_N ? HKVFS_KEY : HKVFS_ELEM;
		if (i < GROW_N) {
			id.klen = (size_t)sprintf((char *)id.key, "g/k%06d", i);
		} else {
			id.klen = (size_t)sprintf((char *)id.key, "g/c%04d", (i - GROW_N) / 100);
			id.elen = (size_t)sprintf((char *)id.elem, "e%06d", i - GROW_N);
		}
		if (hkvfs_itab_ref(&id, &held[i]))
			fail("ref %d failed", i);
	}
	(void)arg;
	hkvfs_itab_size(&entries, &buckets_full);
	if (entries < 2 * GROW_N || entries > 2 * GROW_N + OTHERS_MAX)
		fail("the table holds %lu identities, %d referenced", entries, 2 * GROW_N);
	if (buckets_full * 2 < entries)
		fail("%lu identities in %lu buckets: the table did not grow", entries,
		     buckets_full);
	for (i = 0; i < 2 * GROW_N && !atomic_load(&failed); i++) {
		struct hkvfs_ident cur;

		hkvfs_itab_snapshot(held[i], &cur);
		if (hkvfs_itab_find(cur.kind, cur.key, cur.klen, cur.elem, cur.elen) !=
		    hkvfs_ino_id(held[i]))
			fail("identity %d not found under its node id after the table grew", i);
	}
	for (i = 0; i < 2 * GROW_N; i++)
		if (held[i])
			hkvfs_itab_forget(held[i], 1);
	hkvfs_itab_size(&entries, &buckets);
	if (entries > OTHERS_MAX)
		fail("%lu identities left after every forget", entries);
	if (buckets < buckets_full)
		fail("buckets %lu -> %lu: the table shrank", buckets_full, buckets);
	free(held);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct owner owners[OWNERS];
	pthread_t ot[OWNERS], lt[LOOKERS], gt;
	struct hkvfs_ident id;
	int i, d, j, m, rc;

	if (argc > 1)
		rounds = atol(argv[1]);
	rc = hkvfs_itab_init();
	if (rc) {
		fprintf(stderr, "FAIL: init: %d\n", rc);
		return 1;
	}
	for (i = 0; i < LOOKERS; i++)
		pthread_create(&lt[i], NULL, looker_main, (void *)(uintptr_t)i);
	for (i = 0; i < OWNERS; i++) {
		owners[i].t = i;
		owners[i].rs = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1);
		pthread_create(&ot[i], NULL, owner_main, &owners[i]);
	}
	pthread_create(&gt, NULL, grower_main, NULL);
	pthread_join(gt, NULL);
	for (i = 0; i < OWNERS; i++)
		pthread_join(ot[i], NULL);
	atomic_store(&done, true);
	for (i = 0; i < LOOKERS; i++)
		pthread_join(lt[i], NULL);
	/* every reference is gone: nothing may be found any more */
	for (i = 0; i < OWNERS && !atomic_load(&failed); i++)
		for (d = 0; d < 2; d++)
			for (j = 0; j < NKEYS; j++) {
				key_ident(&id, i, d, j);
				if (hkvfs_itab_find(HKVFS_KEY, id.key, id.klen, NULL, 0))
					fail("'%.*s' still found after its last forget",
					     (int)id.klen, id.key);
				{
					struct child_seen c = { .n = 0, .t = i };

					hkvfs_itab_children(id.key, id.klen, child_cb, &c);
					if (c.n)
						fail("'%.*s' still lists %d element(s) after the "
						     "last forget", (int)id.klen, id.key, c.n);
				}
				for (m = 0; m < NELEMS; m++) {
					elem_ident(&id, i, d, j, m);
					if (hkvfs_itab_find(HKVFS_ELEM, id.key, id.klen, id.elem,
							    id.elen))
						fail("element still found after its last forget");
				}
			}
	if (!atomic_load(&failed))
		each_check();
	/* an element entry left in the children index alone would leave it non-empty */
	if (hkvfs_itab_destroy())
		fail("the tables were not empty at destroy");
	if (atomic_load(&failed))
		return 1;
	printf("ok\n");
	return 0;
}
