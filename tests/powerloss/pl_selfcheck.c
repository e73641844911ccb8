// SPDX-License-Identifier: MIT
/*
 * pl_selfcheck.c - a file protocol for testing the power-loss simulator itself.
 *
 * Usage: pl_selfcheck --dir DIR --trace FILE
 *                     --variant good|no-fsync|no-dirsync|lmdb-good|lmdb-nosync [--ops N]
 *
 * Operation n replaces the content of DIR/cur atomically: write a new value to DIR/cur.tmp,
 * fsync it, rename it over DIR/cur, fsync DIR; then it is acknowledged. That is the textbook
 * protocol, and every crash state must hold the value of the last acknowledged operation or
 * of the one in progress. The broken variants leave out the fsync of the file (a state can
 * then hold a renamed but empty or partial file: bytes never written) or of the directory
 * (the rename can be lost after the acknowledgement), and the checker must catch both.
 * Recording and the oracle are as in pl_workload.c (PL_CONFIG "kind=file": the checker reads
 * key K as the file DIR/K).
 *
 * The lmdb variants write eight keys (k0..k7) through LMDB directly, one commit per
 * operation (PL_CONFIG "kind=lmdb": the checker reads the keys from the LMDB environment in
 * DIR). lmdb-good uses LMDB's own durable commit (data pages, fdatasync, then the meta page
 * through an O_DSYNC descriptor) and must pass; lmdb-nosync opens with MDB_NOSYNC and calls
 * mdb_env_sync() after each commit, the order the engine used, and must be caught: the meta
 * page is then an ordinary unsynced write that can reach the disk without the pages it
 * points at.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "pl_trace.h"

static void die(const char *what)
{
	fprintf(stderr, "pl_selfcheck: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void lmdb_die(const char *what, int rc)
{
	fprintf(stderr, "pl_selfcheck: %s: %s\n", what, mdb_strerror(rc));
	exit(1);
}

/*
 * Create the environment and make it durable before recording: LMDB writes a new
 * environment's two meta pages without a flush, so until the first synced commit a power
 * loss can leave a data file with a size and no meta page, which mdb_env_open() rejects. The
 * tests here are about commits, on an environment that exists.
 */
static void lmdb_create(const char *dir)
{
	MDB_env *env;
	int rc;

	if (mkdir(dir, 0755))
		die("mkdir");
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, 64u << 20)) ||
	    (rc = mdb_env_open(env, dir, 0, 0644)) || (rc = mdb_env_sync(env, 1)))
		lmdb_die("creating the environment", rc);
	mdb_env_close(env);
}

static void run_lmdb(const char *dir, bool nosync, unsigned long ops)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char key[8], val[6000];
	uint64_t rng = 0x2545F4914F6CDD1Dull;
	int rc;

	pl_mark(PL_CONFIG, 0, "kind=lmdb", 9, NULL, 0);
	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, 64u << 20)) ||
	    (rc = mdb_env_open(env, dir, nosync ? MDB_NOSYNC : 0, 0644)))
		lmdb_die("mdb_env_open", rc);
	for (unsigned long n = 1; n <= ops; n++) {
		MDB_val k, v;
		size_t len;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		len = 10 + rng % 5000;
		for (size_t i = 0; i < len; i++)
			val[i] = (char)('A' + (n * 7 + i) % 26);
		snprintf(key, sizeof(key), "k%lu", (unsigned long)(rng >> 20) % 8);
		k = (MDB_val){ strlen(key), key };
		v = (MDB_val){ len, val };
		pl_mark(PL_BEGIN, n, NULL, 0, NULL, 0);
		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) ||
		    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) || (rc = mdb_put(txn, dbi, &k, &v, 0)) ||
		    (rc = mdb_txn_commit(txn)))
			lmdb_die("commit", rc);
		if (nosync && (rc = mdb_env_sync(env, 1)))
			lmdb_die("mdb_env_sync", rc);
		pl_mark(PL_ACK, n, NULL, 0, NULL, 0);
		pl_mark(PL_STATE, n, key, (uint32_t)strlen(key), val, (uint32_t)len);
	}
	mdb_env_close(env);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", 1, 0, 'd' }, { "trace", 1, 0, 't' }, { "variant", 1, 0, 'v' },
		{ "ops", 1, 0, 'n' }, { 0, 0, 0, 0 }
	};
	const char *dir = NULL, *trace = NULL, *variant = "good";
	unsigned long ops = 30;
	char tmp[4096], cur[4096], val[9000];
	uint64_t rng = 0x9E3779B97F4A7C15ull;
	int c, fd, dfd;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': trace = optarg; break;
		case 'v': variant = optarg; break;
		case 'n': ops = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: pl_selfcheck --dir DIR --trace FILE "
					"--variant good|no-fsync|no-dirsync [--ops N]\n");
			return 2;
		}
	}
	if (!dir || !trace || (strcmp(variant, "good") && strcmp(variant, "no-fsync") &&
			       strcmp(variant, "no-dirsync") && strcmp(variant, "lmdb-good") &&
			       strcmp(variant, "lmdb-nosync"))) {
		fprintf(stderr, "pl_selfcheck: --dir, --trace and a known --variant are required\n");
		return 2;
	}
	if (!strncmp(variant, "lmdb-", 5)) {
		lmdb_create(dir);
		if (pl_record_start(dir, trace))
			die("recording");
		run_lmdb(dir, !strcmp(variant, "lmdb-nosync"), ops);
		pl_record_stop();
		return 0;
	}
	if (pl_record_start(dir, trace))
		die("recording");
	pl_mark(PL_CONFIG, 0, "kind=file", 9, NULL, 0);
	snprintf(tmp, sizeof(tmp), "%s/cur.tmp", dir);
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	if (mkdir(dir, 0755))
		die("mkdir");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		die("directory");
	for (unsigned long n = 1; n <= ops; n++) {
		size_t len;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		len = 100 + rng % 8000;
		for (size_t i = 0; i < len; i++)
			val[i] = (char)('a' + (n + i) % 26);
		char tag[32];
		int tl = snprintf(tag, sizeof(tag), "value %lu:", n);

		memcpy(val, tag, (size_t)tl); /* len >= 100 > tl */
		pl_mark(PL_BEGIN, n, NULL, 0, NULL, 0);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, val, len) != (ssize_t)len)
			die("write");
		if (strcmp(variant, "no-fsync") && fsync(fd))
			die("fsync");
		if (close(fd) || rename(tmp, cur))
			die("rename");
		if (strcmp(variant, "no-dirsync") && fsync(dfd))
			die("fsync dir");
		pl_mark(PL_ACK, n, NULL, 0, NULL, 0);
		pl_mark(PL_STATE, n, "cur", 3, val, (uint32_t)len);
	}
	close(dfd);
	pl_record_stop();
	return 0;
}
