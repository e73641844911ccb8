// SPDX-License-Identifier: MIT
/*
 * renamerace.c - lookups, creates and commits racing renames of their directory, on a real
 * mount with the kernel caching entries.
 *
 * Usage: renamerace MNT ROUNDS
 *
 * A directory ("p" or "q") holding files x0..x2, and a hash key ("h" or "k") with fields a
 * and b, are renamed back and forth ROUNDS times by the mover thread, which after every
 * rename reads each file and field under the new name (it must read exactly what it holds)
 * and stats the old name (it must be absent). Meanwhile:
 *
 *  - lookers (LOOKERS threads) stat and read the same names under both parents at random,
 *    so the kernel looks names up in the renamed inode while it is renamed: a lookup answered
 *    for the old name must never leave a negative or stale entry under the new one; they also
 *    read the user.tag attribute of the directory and of the hash under either name: it is
 *    there, or the name is absent (never ENODATA: the attribute moves with its node);
 *  - the writer renames nothing but writes a file w/f in a third directory ("w" or "v",
 *    renamed by the mover too): it opens whichever name exists, writes a new value, closes,
 *    and the value must then be found under one of the two names (a commit that raced the
 *    rename must land on the renamed key, never be dropped or land on the old name);
 *  - the creator creates files c<n> in the moving directory, under whichever name exists: a
 *    create that succeeded must be found, with its value, under one of the two names.
 *
 * Exit 0 if every check held, 1 with a message for the first failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TESTCHECK_FAIL
#include "testcheck.h"

#define LOOKERS 3
#define NX 3
#define NCREATE 400

static const char *mnt;
static long rounds;
static atomic_bool done;

static void path(char *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path(char *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p, 4096, "%s/", mnt);

	va_start(ap, fmt);
	vsnprintf(p + n, 4096 - (size_t)n, fmt, ap);
	va_end(ap);
}

/* @p's user.tag must read @want, or (@absent_ok) @p be absent */
static void expect_tag(const char *what, const char *p, const char *want, bool absent_ok)
{
	char buf[64];
	ssize_t n = getxattr(p, "user.tag", buf, sizeof(buf) - 1);

	if (n < 0 && absent_ok && errno == ENOENT)
		return;
	if (n < 0) {
		fail("%s: %s: getxattr user.tag: %s", what, p, strerror(errno));
		return;
	}
	buf[n] = 0;
	if (strcmp(buf, want))
		fail("%s: %s: user.tag '%s', expected '%s'", what, p, buf, want);
}

static void expect(const char *what, const char *p, const char *want)
{
	char buf[256];
	ssize_t n = read_file(p, buf, sizeof(buf));
	struct stat st;

	if (!want) {
		if (n != -ENOENT || stat(p, &st) == 0 || errno != ENOENT)
			fail("%s: %s: present (read %zd), expected absent", what, p, n);
		return;
	}
	if (n < 0)
		fail("%s: %s: %s, expected '%s'", what, p, strerror((int)-n), want);
	else if (strcmp(buf, want))
		fail("%s: %s: read '%s', expected '%s'", what, p, buf, want);
}

/* ------------------------------------------------------------------------------------- */

static const char *const dname[2] = { "p", "q" }, *const hname[2] = { "h", "k" },
		  *const wname[2] = { "w", "v" };

static void *mover_main(void *arg)
{
	char p[4096], q[4096], v[64];
	char xv[NX][64], hv[2][64];
	int side = 0, k;
	long r;

	(void)arg;
	for (k = 0; k < NX; k++)
		snprintf(xv[k], sizeof(xv[k]), "x%d.0", k);
	for (k = 0; k < 2; k++)
		snprintf(hv[k], sizeof(hv[k]), "%c.0", 'a' + k);
	for (r = 1; r <= rounds && !atomic_load(&failed); r++) {
		int o = side, n = !side;

		path(p, "%s", dname[o]);
		path(q, "%s", dname[n]);
		if (rename(p, q)) {
			fail("rename %s: %s", p, strerror(errno));
			break;
		}
		path(p, "%s", hname[o]);
		path(q, "%s", hname[n]);
		if (rename(p, q)) {
			fail("rename %s: %s", p, strerror(errno));
			break;
		}
		path(p, "%s", wname[o]);
		path(q, "%s", wname[n]);
		if (rename(p, q)) {
			fail("rename %s: %s", p, strerror(errno));
			break;
		}
		side = n;
		path(p, "%s", dname[n]);
		expect_tag("after directory rename", p, "dir", false);
		path(p, "%s", hname[n]);
		expect_tag("after hash rename", p, "hash", false);
		for (k = 0; k < NX; k++) {
			path(p, "%s/x%d", dname[n], k);
			expect("after directory rename", p, xv[k]);
			path(p, "%s/x%d", dname[o], k);
			expect("old directory after rename", p, NULL);
		}
		for (k = 0; k < 2; k++) {
			path(p, "%s/%c", hname[n], 'a' + k);
			expect("after hash rename", p, hv[k]);
			path(p, "%s/%c", hname[o], 'a' + k);
			expect("old hash after rename", p, NULL);
		}
		/* a new value for one file and one field, so stale pages would show */
		k = (int)(r % NX);
		snprintf(xv[k], sizeof(xv[k]), "x%d.%ld", k, r);
		path(p, "%s/x%d", dname[n], k);
		if (write_file(p, xv[k], strlen(xv[k]), O_TRUNC))
			fail("write %s: %s", p, strerror(errno));
		k = (int)(r % 2);
		snprintf(hv[k], sizeof(hv[k]), "%c.%ld", 'a' + k, r);
		path(p, "%s/%c", hname[n], 'a' + k);
		snprintf(v, sizeof(v), "%s", hv[k]);
		if (write_file(p, v, strlen(v), O_TRUNC))
			fail("write %s: %s", p, strerror(errno));
	}
	atomic_store(&done, true);
	return NULL;
}

static void *looker_main(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(uintptr_t)arg;
	char p[4096], buf[256];
	struct stat st;

	while (!atomic_load(&done) && !atomic_load(&failed)) {
		int side, k;

		rnd(&s);
		side = (int)(s & 1);
		k = (int)((s >> 8) % (NX + 4));
		if (k == NX + 2) {
			path(p, "%s", dname[side]);
			expect_tag("looker", p, "dir", true);
			continue;
		}
		if (k == NX + 3) {
			path(p, "%s", hname[side]);
			expect_tag("looker", p, "hash", true);
			continue;
		}
		if (k < NX)
			path(p, "%s/x%d", dname[side], k);
		else
			path(p, "%s/%c", hname[side], 'a' + k - NX);
		if ((s >> 16) & 1)
			(void)stat(p, &st);
		else
			(void)read_file(p, buf, sizeof(buf));
	}
	return NULL;
}

/* find w/f under either name: the content, or fail after many tries */
static bool find_either(const char *const names[2], const char *leaf, char *buf, size_t cap)
{
	char p[4096];
	int tries, side;

	for (tries = 0; tries < 100000; tries++) {
		for (side = 0; side < 2; side++) {
			path(p, "%s/%s", names[side], leaf);
			if (read_file(p, buf, cap) >= 0)
				return true;
		}
	}
	return false;
}

static void *writer_main(void *arg)
{
	char p[4096], v[64], buf[256];
	unsigned seq = 0;

	(void)arg;
	while (!atomic_load(&done) && !atomic_load(&failed)) {
		int side, rc = -ENOENT;

		snprintf(v, sizeof(v), "w.%u", ++seq);
		for (side = 0; side < 2 && rc == -ENOENT; side++) {
			path(p, "%s/f", wname[side]);
			rc = write_file(p, v, strlen(v), O_TRUNC);
		}
		if (rc == -ENOENT) {
			seq--;
			continue;
		}
		if (rc) {
			fail("write w/f: %s", strerror(-rc));
			break;
		}
		if (!find_either(wname, "f", buf, sizeof(buf)))
			fail("w/f found under neither name after its write");
		else if (strcmp(buf, v))
			fail("w/f: read '%s' after writing '%s'", buf, v);
	}
	return NULL;
}

static void *creator_main(void *arg)
{
	char p[4096], leaf[32], buf[256];
	int n;

	(void)arg;
	for (n = 0; n < NCREATE && !atomic_load(&done) && !atomic_load(&failed); n++) {
		int side, rc = -ENOENT;

		snprintf(leaf, sizeof(leaf), "c%d", n);
		for (side = 0; side < 2 && rc == -ENOENT; side++) {
			path(p, "%s/%s", dname[side], leaf);
			rc = write_file(p, leaf, strlen(leaf), O_CREAT | O_EXCL);
		}
		if (rc == -ENOENT) {
			n--;
			continue;
		}
		if (rc) {
			fail("create %s: %s", leaf, strerror(-rc));
			break;
		}
		if (!find_either(dname, leaf, buf, sizeof(buf)))
			fail("created %s found under neither name", leaf);
		else if (strcmp(buf, leaf))
			fail("created %s: read '%s'", leaf, buf);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t mt, lt[LOOKERS], wt, ct;
	char p[4096], v[64];
	int i, k;

	if (argc != 3) {
		fprintf(stderr, "usage: renamerace MNT ROUNDS\n");
		return 2;
	}
	mnt = argv[1];
	rounds = atol(argv[2]);
	path(p, "%s", dname[0]);
	if (mkdir(p, 0755))
		fail("mkdir %s: %s", p, strerror(errno));
	for (k = 0; k < NX; k++) {
		path(p, "%s/x%d", dname[0], k);
		snprintf(v, sizeof(v), "x%d.0", k);
		if (write_file(p, v, strlen(v), O_CREAT | O_TRUNC))
			fail("write %s", p);
	}
	path(p, "%s", dname[0]);
	if (setxattr(p, "user.tag", "dir", 3, 0))
		fail("setxattr %s: %s", p, strerror(errno));
	path(p, "%s", hname[0]);
	if (mkdir(p, 0755) || setxattr(p, "user.hkv.type", "hash", 4, 0) ||
	    setxattr(p, "user.tag", "hash", 4, 0))
		fail("hash %s: %s", p, strerror(errno));
	for (k = 0; k < 2; k++) {
		path(p, "%s/%c", hname[0], 'a' + k);
		snprintf(v, sizeof(v), "%c.0", 'a' + k);
		if (write_file(p, v, strlen(v), O_CREAT | O_TRUNC))
			fail("write %s", p);
	}
	path(p, "%s", wname[0]);
	if (mkdir(p, 0755))
		fail("mkdir %s: %s", p, strerror(errno));
	path(p, "%s/f", wname[0]);
	if (write_file(p, "w.0", strlen("w.0"), O_CREAT | O_TRUNC))
		fail("write %s", p);
	if (atomic_load(&failed))
		return 1;
	for (i = 0; i < LOOKERS; i++)
		pthread_create(&lt[i], NULL, looker_main, (void *)(uintptr_t)(i + 1));
	pthread_create(&wt, NULL, writer_main, NULL);
	pthread_create(&ct, NULL, creator_main, NULL);
	pthread_create(&mt, NULL, mover_main, NULL);
	pthread_join(mt, NULL);
	for (i = 0; i < LOOKERS; i++)
		pthread_join(lt[i], NULL);
	pthread_join(wt, NULL);
	pthread_join(ct, NULL);
	if (atomic_load(&failed))
		return 1;
	printf("ok: %ld rounds\n", rounds);
	return 0;
}
