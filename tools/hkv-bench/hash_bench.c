/* SPDX-License-Identifier: MIT */
/*
 * hash_bench.c - `hkv-bench hash`: the engine's hash operations, single-threaded, on small
 * hashes (within the default limits, insertion order) and on one large hash (byte order).
 *
 *   row               operation
 *   HSET new small    hkv_hset of a new field: --keys hashes, --fields fields each, the
 *                     fields added round by round over the hashes in a shuffled order
 *   HSET upd small    hkv_hset of an existing field, (hash, field) drawn at random
 *   HGET small        hkv_hget of an existing field, drawn at random
 *   HGETALL small     hkv_hgetall of a hash drawn at random (--fields fields)
 *   HSET new large    hkv_hset of a new field into one hash of --large fields
 *   HGET large        hkv_hget of a field of that hash, drawn at random
 *
 * Sync is "none" (the work per operation, not the disk's flush latency). Every operation is
 * timed into a histogram (hist.c); throughput is operations over the row's wall time. Field
 * names are "f" + 8 hex digits of a seeded permutation (their byte order unrelated to their
 * insertion order), values 16 bytes of a seeded buffer. The benchmark uses only the hash API
 * that every version of the engine has, so that one source measures two builds: run it with
 * the two binaries in turn and compare (docs/benchmarks.md, "Hashes").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hist.h"
#include "hkv/engine.h"

#define VLEN 16

static uint64_t hb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t hb_rng(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

struct hrow {
	const char *name;
	uint64_t ops, wall_ns;
	struct hist h;
	int err;
};

static void row_begin(struct hrow *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	hist_init(&r->h);
	r->wall_ns = hb_now_ns();
}

static void row_end(struct hrow *r)
{
	r->wall_ns = hb_now_ns() - r->wall_ns;
	if (r->err) {
		fprintf(stderr, "hkv-bench hash: %s: %s\n", r->name, hkv_strerror(r->err));
		exit(1);
	}
	printf("%-16s %10" PRIu64 " %12.0f %9.2f %9.2f\n", r->name, r->ops,
	       r->ops ? (double)r->ops * 1e9 / (double)r->wall_ns : 0,
	       (double)hist_quantile(&r->h, 0.5) / 1000.0,
	       (double)hist_quantile(&r->h, 0.99) / 1000.0);
	fflush(stdout);
}

static int count_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	(void)a;
	(void)b;
	*(size_t *)arg += alen + blen;
	return 0;
}

static void hkey(char *out, uint64_t i)
{
	snprintf(out, 24, "h:%016" PRIx64, mix(i));
}

/* Field i: a bijection of the 32-bit i, so that distinct fields have distinct names. */
static void hfield(char *out, uint64_t i)
{
	uint32_t x = (uint32_t)i * 0x9E3779B1u;

	x ^= x >> 16;
	x *= 0x85EBCA6Bu;
	x ^= x >> 13;
	snprintf(out, 16, "f%08" PRIx32, x);
}

static void usage(FILE *f)
{
	fputs("Usage: hkv-bench hash [OPTIONS]\n\n"
	      "The engine's HSET/HGET/HGETALL on small hashes and one large hash, one thread,\n"
	      "sync none. Prints a table; see docs/benchmarks.md.\n\n"
	      "  --keys N     small hashes (default 20000)\n"
	      "  --fields F   fields per small hash (default 16)\n"
	      "  --large L    fields of the large hash (default 200000)\n"
	      "  --dir D      scratch directory goes under D (default /var/tmp)\n"
	      "  --seed S     seed of the operation streams (default 42)\n",
	      f);
}

int bench_hash_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "fields", required_argument, NULL, 'f' },
		{ "large", required_argument, NULL, 'l' },
		{ "dir", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t nkeys = 20000, nfields = 16, nlarge = 200000, seed = 42, s, t0;
	const char *base = "/var/tmp";
	char dir[1024], cmd[1100], key[24], field[16], val[VLEN];
	struct hkv_options opt;
	struct hkv_buf b;
	struct hrow r;
	struct hkv *db;
	uint64_t *perm;
	int opt_c, rc;

	while ((opt_c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt_c) {
		case 'k':
			nkeys = strtoull(optarg, NULL, 10);
			break;
		case 'f':
			nfields = strtoull(optarg, NULL, 10);
			break;
		case 'l':
			nlarge = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			base = optarg;
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!nkeys || !nfields || !nlarge || optind != argc) {
		usage(stderr);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/hkv-bench-hash.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("hkv-bench hash: mkdtemp");
		return 1;
	}
	hkv_options_init(&opt);
	opt.sync = HKV_SYNC_NONE;
	rc = hkv_open(dir, &opt, &db);
	if (rc) {
		fprintf(stderr, "hkv-bench hash: hkv_open %s: %s\n", dir, hkv_strerror(rc));
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "hkv-bench hash: could not remove %s\n", dir);
		return 1;
	}
	perm = malloc(nkeys * sizeof(*perm));
	if (!perm) {
		fputs("hkv-bench hash: out of memory\n", stderr);
		return 1;
	}
	s = seed | 1;
	for (size_t i = 0; i < VLEN; i++)
		val[i] = (char)hb_rng(&s);
	/* a seeded shuffle of the hashes: each round adds one field to every hash in this order */
	for (uint64_t i = 0; i < nkeys; i++)
		perm[i] = i;
	for (uint64_t i = nkeys - 1; i > 0; i--) {
		uint64_t j = hb_rng(&s) % (i + 1), t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	printf("hkv-bench hash: %" PRIu64 " hashes x %" PRIu64 " fields, a large hash of %" PRIu64
	       " fields, %d-byte values, sync none, one thread\n\n", nkeys, nfields, nlarge, VLEN);
	printf("%-16s %10s %12s %9s %9s\n", "row", "ops", "ops/s", "p50 us", "p99 us");

	row_begin(&r, "HSET new small");
	for (uint64_t f = 0; f < nfields && !r.err; f++) {
		hfield(field, f);
		for (uint64_t i = 0; i < nkeys; i++) {
			hkey(key, perm[i]);
			t0 = hb_now_ns();
			rc = hkv_hset(db, key, strlen(key), field, strlen(field), val, VLEN, NULL);
			hist_add(&r.h, hb_now_ns() - t0);
			if (rc != 1) {
				r.err = rc < 0 ? rc : -EEXIST;
				break;
			}
			r.ops++;
		}
	}
	row_end(&r);

	row_begin(&r, "HSET upd small");
	for (uint64_t n = 0; n < nkeys * nfields; n++) {
		uint64_t x = hb_rng(&s);

		hkey(key, x % nkeys);
		hfield(field, (x >> 32) % nfields);
		val[0] = (char)n;
		t0 = hb_now_ns();
		rc = hkv_hset(db, key, strlen(key), field, strlen(field), val, VLEN, NULL);
		hist_add(&r.h, hb_now_ns() - t0);
		if (rc) {
			r.err = rc < 0 ? rc : -EEXIST;
			break;
		}
		r.ops++;
	}
	row_end(&r);

	row_begin(&r, "HGET small");
	for (uint64_t n = 0; n < nkeys * nfields; n++) {
		uint64_t x = hb_rng(&s);

		hkey(key, x % nkeys);
		hfield(field, (x >> 32) % nfields);
		t0 = hb_now_ns();
		rc = hkv_hget(db, key, strlen(key), field, strlen(field), &b);
		hist_add(&r.h, hb_now_ns() - t0);
		if (rc || b.len != VLEN) {
			r.err = rc ? rc : -EIO;
			break;
		}
		hkv_buf_release(&b);
		r.ops++;
	}
	row_end(&r);

	row_begin(&r, "HGETALL small");
	for (uint64_t n = 0; n < nkeys; n++) {
		size_t bytes = 0;

		hkey(key, hb_rng(&s) % nkeys);
		t0 = hb_now_ns();
		rc = hkv_hgetall(db, key, strlen(key), count_cb, &bytes);
		hist_add(&r.h, hb_now_ns() - t0);
		if (rc || bytes != nfields * (9 + VLEN)) {
			r.err = rc ? rc : -EIO;
			break;
		}
		r.ops++;
	}
	row_end(&r);

	row_begin(&r, "HSET new large");
	for (uint64_t f = 0; f < nlarge; f++) {
		hfield(field, f);
		t0 = hb_now_ns();
		rc = hkv_hset(db, "big", 3, field, strlen(field), val, VLEN, NULL);
		hist_add(&r.h, hb_now_ns() - t0);
		if (rc != 1) {
			r.err = rc < 0 ? rc : -EEXIST;
			break;
		}
		r.ops++;
	}
	row_end(&r);

	row_begin(&r, "HGET large");
	for (uint64_t n = 0; n < nlarge; n++) {
		hfield(field, hb_rng(&s) % nlarge);
		t0 = hb_now_ns();
		rc = hkv_hget(db, "big", 3, field, strlen(field), &b);
		hist_add(&r.h, hb_now_ns() - t0);
		if (rc || b.len != VLEN) {
			r.err = rc ? rc : -EIO;
			break;
		}
		hkv_buf_release(&b);
		r.ops++;
	}
	row_end(&r);

	free(perm);
	rc = hkv_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "hkv-bench hash: could not remove %s\n", dir);
	return rc ? 1 : 0;
}
