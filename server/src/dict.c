// SPDX-License-Identifier: MIT
/*
 * dict.c - chained hash table with SipHash-1-3 (see dict.h).
 *
 * Buckets are a power of two; the table doubles when it holds as many entries as buckets, and
 * gives its memory back when it becomes empty (never shrinks otherwise, so deleting while
 * walking is safe). Rehashing is done in one go: the tables here hold
 * server bookkeeping (thousands of entries, not the keyspace), so an incremental rehash would
 * buy nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dict.h"

static uint8_t sip_key[16];
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_init(void)
{
	if (getrandom(sip_key, sizeof(sip_key), 0) != (ssize_t)sizeof(sip_key)) {
		/* no entropy source: fall back on time and address, still per process */
		uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&sip_key;

		memcpy(sip_key, &t, 8);
		t *= 0x9E3779B97F4A7C15ull;
		memcpy(sip_key + 8, &t, 8);
	}
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                               \
	do {                                                                                   \
		v0 += v1;                                                                      \
		v1 = ROTL(v1, 13);                                                             \
		v1 ^= v0;                                                                      \
		v0 = ROTL(v0, 32);                                                             \
		v2 += v3;                                                                      \
		v3 = ROTL(v3, 16);                                                             \
		v3 ^= v2;                                                                      \
		v0 += v3;                                                                      \
		v3 = ROTL(v3, 21);                                                             \
		v3 ^= v0;                                                                      \
		v2 += v1;                                                                      \
		v1 = ROTL(v1, 17);                                                             \
		v1 ^= v2;                                                                      \
		v2 = ROTL(v2, 32);                                                             \
	} while (0)

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v; /* little-endian hosts; the hash need not be portable */
}

uint64_t dict_hash(const void *key, size_t klen)
{
	const uint8_t *in = key, *end;
	uint64_t k0, k1, v0, v1, v2, v3, b, m;
	size_t left = klen & 7;

	pthread_once(&sip_once, sip_init);
	k0 = load64(sip_key);
	k1 = load64(sip_key + 8);
	v0 = 0x736f6d6570736575ull ^ k0;
	v1 = 0x646f72616e646f6dull ^ k1;
	v2 = 0x6c7967656e657261ull ^ k0;
	v3 = 0x7465646279746573ull ^ k1;
	b = (uint64_t)klen << 56;
	end = in + (klen - left);
	for (; in != end; in += 8) {
		m = load64(in);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	switch (left) {
	case 7: b |= (uint64_t)in[6] << 48; /* fall through */
	case 6: b |= (uint64_t)in[5] << 40; /* fall through */
	case 5: b |= (uint64_t)in[4] << 32; /* fall through */
	case 4: b |= (uint64_t)in[3] << 24; /* fall through */
	case 3: b |= (uint64_t)in[2] << 16; /* fall through */
	case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
	case 1: b |= (uint64_t)in[0]; break;
	case 0: break;
	}
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void dict_init(struct dict *d)
{
	d->table = NULL;
	d->size = 0;
	d->used = 0;
}

void dict_release(struct dict *d, void (*valfree)(void *))
{
	for (size_t i = 0; i < d->size; i++) {
		struct dict_entry *e = d->table[i], *n;

		for (; e; e = n) {
			n = e->next;
			if (valfree)
				valfree(e->val);
			free(e);
		}
	}
	free(d->table);
	dict_init(d);
}

static int resize(struct dict *d, size_t size)
{
	struct dict_entry **t = calloc(size, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < d->size; i++) {
		struct dict_entry *e = d->table[i], *n;

		for (; e; e = n) {
			n = e->next;
			e->next = t[e->hash & (size - 1)];
			t[e->hash & (size - 1)] = e;
		}
	}
	free(d->table);
	d->table = t;
	d->size = size;
	return 0;
}

struct dict_entry *dict_find(const struct dict *d, const void *key, size_t klen)
{
	struct dict_entry *e;
	uint64_t h;

	if (!d->used)
		return NULL;
	h = dict_hash(key, klen);
	for (e = d->table[h & (d->size - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen))
			return e;
	return NULL;
}

struct dict_entry *dict_add(struct dict *d, const void *key, size_t klen, void *val,
			    bool *created)
{
	struct dict_entry *e;
	uint64_t h = dict_hash(key, klen);

	if (d->used) {
		for (e = d->table[h & (d->size - 1)]; e; e = e->next) {
			if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen)) {
				if (created)
					*created = false;
				return e;
			}
		}
	}
	if (d->used >= d->size && resize(d, d->size ? d->size * 2 : 8) && !d->size)
		return NULL;
	e = malloc(sizeof(*e) + klen + 1);
	if (!e)
		return NULL;
	e->hash = h;
	e->val = val;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->key[klen] = 0;
	e->next = d->table[h & (d->size - 1)];
	d->table[h & (d->size - 1)] = e;
	d->used++;
	if (created)
		*created = true;
	return e;
}

void *dict_del(struct dict *d, const void *key, size_t klen)
{
	struct dict_entry **pp, *e;
	uint64_t h;
	void *val;

	if (!d->used)
		return NULL;
	h = dict_hash(key, klen);
	for (pp = &d->table[h & (d->size - 1)]; (e = *pp); pp = &e->next) {
		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen)) {
			*pp = e->next;
			val = e->val;
			free(e);
			d->used--;
			if (!d->used) {
				/* an emptied table gives its buckets back (never mid-walk: no entries) */
				free(d->table);
				dict_init(d);
			}
			return val;
		}
	}
	return NULL;
}

void dict_iter_init(struct dict_iter *it, const struct dict *d)
{
	it->d = d;
	it->bucket = 0;
	it->next = NULL;
}

struct dict_entry *dict_iter_next(struct dict_iter *it)
{
	struct dict_entry *e = it->next;

	while (!e) {
		if (it->bucket >= it->d->size)
			return NULL;
		e = it->d->table[it->bucket++];
	}
	it->next = e->next;
	return e;
}

struct dict_entry *dict_random(const struct dict *d, uint64_t rnd)
{
	struct dict_entry *e;
	size_t n = 0, pick;

	if (!d->used)
		return NULL;
	do {
		e = d->table[rnd & (d->size - 1)];
		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
	} while (!e);
	for (struct dict_entry *x = e; x; x = x->next)
		n++;
	pick = (size_t)(rnd >> 33) % n;
	while (pick--)
		e = e->next;
	return e;
}
