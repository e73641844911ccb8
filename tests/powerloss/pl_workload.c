// SPDX-License-Identifier: MIT
/*
 * pl_workload.c - the power-loss workload: drives the engine's public API through every kind
 * of write, with compaction running, while pl_record.c records the file-system calls, and
 * writes the oracle into the same trace.
 *
 * Usage: pl_workload --dir DIR --trace FILE --sync always|everysec|none [--ops N]
 *                    [--seed S] [--pace-us U]
 *
 * Operations are numbered from 1. For operation n the trace holds PL_BEGIN n before the call,
 * PL_ACK n after it returned, then one PL_STATE/PL_ABSENT per key the operation may have
 * changed, read back through the API (the workload is the only writer, so that is the key's
 * state after operation n and before n + 1). A PL_ACK with PL_F_DSYNC marks an hkv_sync()
 * call: every operation before it is durable under every policy. Compaction (hkv_compact,
 * plus the background thread with a 1 MiB segment size) and checkpoints (hkv_checkpoint, plus
 * the checkpointer with a 1 MiB memtable and a 100 ms age) change no key, so they have no
 * state records, but their file-system calls are in the trace like any other. A transaction
 * (hkv_txn_run) writes a string, a hash field and a list element as one operation, and one in
 * four aborts after its writes: the checker's prefix rule then requires all three or none.
 *
 * Time: the store's clock starts at a fixed base and follows the monotonic clock, so it
 * agrees with the trace's timestamps (which the checker's everysec bound uses) whether the
 * engine schedules its everysec flush on its own clock or on real time. A key's expiry is
 * recorded as an absolute time (clock + PTTL, read back at once), every EXPIRE is an hour or
 * more ahead, and the checker's clock is the base, so nothing expires and the times compare
 * exactly. --pace-us spaces operations so a run spans several flush intervals.
 *
 * Exit: 0, or 1 with a message if any engine call failed unexpectedly (the trace is then not
 * usable).
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hkv/engine.h>

#include "pl_canon.h"
#include "pl_trace.h"

#define T0 1700000000000ll
#define NSTR 16

static struct timespec start;
static _Atomic int64_t frozen; /* non-zero: the clock stands at this time (reading back) */
static uint64_t rng;
static struct hkv *db;
static uint64_t opno;

/* The store's clock: T0 plus the monotonic time since the start of the run. */
static int64_t sim_clock(void *arg)
{
	struct timespec ts;

	(void)arg;
	if (atomic_load(&frozen))
		return atomic_load(&frozen);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return T0 + (int64_t)(ts.tv_sec - start.tv_sec) * 1000 +
	       (ts.tv_nsec - start.tv_nsec) / 1000000;
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "pl_workload: op %llu %s: %s\n", (unsigned long long)opno, what,
		hkv_strerror(rc));
	exit(1);
}

/* Record the state of @key after the current operation. */
static void state(const char *key)
{
	struct pl_buf b = { 0 };
	int rc;

	/* the clock stands still while the key is read, so clock + PTTL is its exact expiry */
	atomic_store(&frozen, sim_clock(NULL));
	rc = pl_canon(db, key, atomic_load(&frozen), &b);
	atomic_store(&frozen, 0);

	if (rc < 0)
		die("read back", rc);
	if (rc == 1)
		pl_mark(PL_ABSENT, opno, key, (uint32_t)strlen(key), NULL, 0);
	else
		pl_mark(PL_STATE, opno, key, (uint32_t)strlen(key), b.p, (uint32_t)b.len);
	pl_buf_free(&b);
}

/* A value of @len bytes: compressible (a repeated phrase) or not, tagged with the op. */
static char *value(size_t len, bool compressible)
{
	char *v = malloc(len + 1);
	int n = snprintf(v, len + 1, "op%llu:", (unsigned long long)opno);

	for (size_t i = (size_t)(n < 0 ? 0 : n); i < len; i++)
		v[i] = compressible ? "hkvfs power loss "[i % 17] : (char)('!' + rnd() % 90);
	v[len] = 0;
	return v;
}

static size_t pick_len(void)
{
	switch (rnd() % 4) {
	case 0:
		return 1 + rnd() % 64;          /* inline */
	case 1:
		return 200 + rnd() % 400;       /* around inline_max */
	default:
		return 4096 + rnd() % 60000;    /* value log */
	}
}

static void op_string(void)
{
	char k[16], k2[16];
	size_t len = pick_len();
	char *v = value(len, rnd() % 2);
	int64_t r = 0;
	int kind = (int)(rnd() % 9);

	snprintf(k, sizeof(k), "s%02u", (unsigned)(rnd() % NSTR));
	snprintf(k2, sizeof(k2), "s%02u", (unsigned)(rnd() % NSTR));
	pl_mark(PL_BEGIN, opno, NULL, 0, NULL, 0);
	switch (kind) {
	case 0:
	case 1:
	case 2:
		r = hkv_set(db, k, 3, v, len, NULL);
		break;
	case 3:
		r = hkv_append(db, k, 3, v, len % 3000, NULL);
		break;
	case 4:
		r = hkv_setrange(db, k, 3, rnd() % 5000, v, len % 2000 + 1, NULL);
		break;
	case 5:
		r = hkv_del(db, k, 3);
		break;
	case 6:
		r = rnd() % 2 ? hkv_expire(db, k, 3, 3600 + (int64_t)(rnd() % 3600), 0)
			      : hkv_persist(db, k, 3);
		break;
	case 7:
		r = hkv_rename(db, k, 3, k2, 3, 0);
		if (r == -ENOENT)
			r = 0;
		break;
	case 8:
		r = hkv_truncate(db, k, 3, rnd() % 8000);
		if (r == -ENOENT)
			r = 0;
		break;
	}
	free(v);
	if (r < 0)
		die("string write", (int)r);
	pl_mark(PL_ACK, opno, NULL, 0, NULL, 0);
	state(k);
	if (kind == 7)
		state(k2);
}

static void op_coll(void)
{
	char k[16], f[16];
	char *v = value(1 + rnd() % 300, rnd() % 2);
	size_t vl = strlen(v);
	unsigned t = (unsigned)(rnd() % 5), i = (unsigned)(rnd() % 3);
	int64_t r = 0, out;
	double d;
	struct hkv_buf b = { 0 };

	snprintf(f, sizeof(f), "m%u", (unsigned)(rnd() % 12));
	pl_mark(PL_BEGIN, opno, NULL, 0, NULL, 0);
	switch (t) {
	case 0:
		snprintf(k, sizeof(k), "h%u", i);
		r = rnd() % 4 ? hkv_hset(db, k, 2, f, strlen(f), v, vl, NULL)
			      : hkv_hdel(db, k, 2, f, strlen(f));
		break;
	case 1:
		snprintf(k, sizeof(k), "l%u", i);
		switch (rnd() % 4) {
		case 0:
			r = hkv_lpush(db, k, 2, v, vl, NULL);
			break;
		case 1:
			r = hkv_rpush(db, k, 2, v, vl, NULL);
			break;
		case 2:
			r = hkv_lpop(db, k, 2, &b);
			free(b.data);
			if (r == -ENOENT)
				r = 0;
			break;
		default:
			r = hkv_lset(db, k, 2, 0, v, vl);
			if (r == -ENOENT || r == -ERANGE)
				r = 0;
		}
		break;
	case 2:
		snprintf(k, sizeof(k), "S%u", i);
		r = rnd() % 3 ? hkv_sadd(db, k, 2, f, strlen(f), NULL)
			      : hkv_srem(db, k, 2, f, strlen(f));
		break;
	case 3:
		snprintf(k, sizeof(k), "z%u", i);
		r = rnd() % 3 ? hkv_zadd(db, k, 2, (double)(rnd() % 1000) / 8, f, strlen(f), 0,
					 &d, NULL)
			      : hkv_zrem(db, k, 2, f, strlen(f));
		break;
	default:
		snprintf(k, sizeof(k), "c%u", i);
		r = hkv_incrby(db, k, 2, (int64_t)(rnd() % 1000) - 300, &out);
	}
	free(v);
	if (r < 0)
		die("collection write", (int)r);
	pl_mark(PL_ACK, opno, NULL, 0, NULL, 0);
	state(k);
}

/* The keys a transaction writes: a string, a hash field and a list, all or none. */
struct txn_arg {
	char s[16], h[16], l[16], f[16];
	char *v;
	size_t vl;
	bool abort;
};

static int txn_body(struct hkv *tx, void *arg)
{
	struct txn_arg *a = arg;
	int64_t r;

	r = hkv_set(tx, a->s, 3, a->v, a->vl, NULL);
	if (r < 0)
		return (int)r;
	r = hkv_hset(tx, a->h, 2, a->f, strlen(a->f), a->v, a->vl % 200 + 1, NULL);
	if (r < 0)
		return (int)r;
	r = hkv_rpush(tx, a->l, 2, a->v, a->vl % 100 + 1, NULL);
	if (r < 0)
		return (int)r;
	/* a conditional abort after the writes: none of them may reach the disk */
	return a->abort ? -ECANCELED : 0;
}

static void op_txn(void)
{
	struct txn_arg a;
	int rc;

	a.vl = pick_len();
	a.v = value(a.vl, rnd() % 2);
	a.abort = rnd() % 4 == 0;
	snprintf(a.s, sizeof(a.s), "s%02u", (unsigned)(rnd() % NSTR));
	snprintf(a.h, sizeof(a.h), "h%u", (unsigned)(rnd() % 3));
	snprintf(a.l, sizeof(a.l), "l%u", (unsigned)(rnd() % 3));
	snprintf(a.f, sizeof(a.f), "m%u", (unsigned)(rnd() % 12));
	pl_mark(PL_BEGIN, opno, NULL, 0, NULL, 0);
	rc = hkv_txn_run(db, txn_body, &a);
	free(a.v);
	if (rc < 0 && !(a.abort && rc == -ECANCELED))
		die("transaction", rc);
	pl_mark(PL_ACK, opno, NULL, 0, NULL, 0);
	state(a.s);
	state(a.h);
	state(a.l);
}

/* 0: compaction; 1: hkv_sync; 2: a checkpoint (the memtable applied to the index). */
static void op_plain(int which)
{
	static const char *const name[] = { "hkv_compact", "hkv_sync", "hkv_checkpoint" };
	int rc;

	pl_mark(PL_BEGIN, opno, NULL, 0, NULL, 0);
	rc = which == 1 ? hkv_sync(db) : which == 2 ? hkv_checkpoint(db) : hkv_compact(db, true);
	if (rc < 0)
		die(name[which], rc);
	pl_mark(PL_ACK, opno, NULL, 0, NULL, 0);
	if (which == 1) /* hkv_sync: everything before is durable whatever the policy */
		pl_mark(PL_ACK, opno, "sync", 4, NULL, 0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", 1, 0, 'd' }, { "trace", 1, 0, 't' }, { "sync", 1, 0, 's' },
		{ "ops", 1, 0, 'n' }, { "seed", 1, 0, 'S' }, { "pace-us", 1, 0, 'p' },
		{ 0, 0, 0, 0 }
	};
	const char *dir = NULL, *trace = NULL, *sync = "always";
	unsigned long ops = 400, pace = 0, seed = 1;
	struct hkv_options o;
	char note[64];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': trace = optarg; break;
		case 's': sync = optarg; break;
		case 'n': ops = strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoul(optarg, NULL, 0); break;
		case 'p': pace = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: pl_workload --dir DIR --trace FILE --sync POLICY "
					"[--ops N] [--seed S] [--pace-us U]\n");
			return 2;
		}
	}
	if (!dir || !trace) {
		fprintf(stderr, "pl_workload: --dir and --trace are required\n");
		return 2;
	}
	rng = 0x9E3779B97F4A7C15ull ^ seed;
	hkv_options_init(&o);
	if (hkv_sync_parse(sync, &o.sync)) {
		fprintf(stderr, "pl_workload: bad --sync %s\n", sync);
		return 2;
	}
	o.inline_max = 256;
	o.compress = true;
	o.segment_size = 1u << 20;
	o.compact_dead_pct = 30;
	o.compact_min_bytes = 256u << 10;
	o.bg_interval_ms = 20;
	o.map_size = 256u << 20;
	/* the smallest memtable and a short age: the checkpointer runs inside the trace too */
	o.ckpt_bytes = 1u << 20;
	o.ckpt_interval_ms = 100;
	o.clock = sim_clock;
	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = pl_record_start(dir, trace);
	if (rc) {
		fprintf(stderr, "pl_workload: cannot record into %s: %s\n", trace, strerror(-rc));
		return 1;
	}
	snprintf(note, sizeof(note), "sync=%s", sync);
	pl_mark(PL_CONFIG, 0, note, (uint32_t)strlen(note), NULL, 0);
	pl_mark(PL_CONFIG, 0, "kind=engine", 11, NULL, 0);
	rc = hkv_open(dir, &o, &db);
	if (rc)
		die("hkv_open", rc);
	for (opno = 1; opno <= ops; opno++) {
		if (opno % 97 == 0)
			op_plain(1);
		else if (opno % 41 == 0)
			op_plain(0);
		else if (opno % 23 == 0)
			op_plain(2);
		else if (rnd() % 10 == 0)
			op_txn();
		else if (rnd() % 2)
			op_string();
		else
			op_coll();
		if (pace) {
			struct timespec ts = { 0, (long)pace * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	rc = hkv_close(db);
	if (rc)
		die("hkv_close", rc);
	pl_record_stop();
	return 0;
}
