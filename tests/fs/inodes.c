// SPDX-License-Identifier: MIT
/*
 * inodes.c - stress of the daemon's inode table on a real mount: many threads look up, stat,
 * read, rename and unlink at once, and every result is checked.
 *
 * Usage: inodes MNT SOCK OPS
 *
 * Owners (OWNERS threads). Owner t alone changes MNT/st/t<t>/: files f0..f11, directories
 * d0..d3 (each holding x0..x2) and hash keys h0..h2 (each with fields a, b), so it knows
 * exactly what every name must show and checks each operation against that model: write
 * (O_TRUNC), read, stat (size), lookup of an absent name, rename of a file onto an absent or
 * present name, unlink, rename of a directory (every key under it moves: the daemon re-keys
 * the inodes the kernel holds for them), rename of a hash key (its element inodes follow),
 * and a full listing of the directory. OPS operations each, from a fixed-seed generator.
 *
 * Readers (READERS threads) stat, read and list the owners' names at random while they
 * change: a name is absent, empty (just created, not yet written), or its content is a
 * complete value written for that owner's directory (never torn, never another directory's).
 *
 * The control thread sets, renames and deletes keys under MNT/ct/ through the RESP socket;
 * the daemon invalidates the kernel's dentries, so the kernel forgets inodes while readers
 * look the same names up. Its values are checked the same way by the readers.
 *
 * Every value is self-describing: "<tag> <seq> <len> " then a fill byte up to <len> bytes.
 * Exit 0 if every check held, 1 with a message for the first failure.
 */
#include <dirent.h>
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

#include "hkv/ctlclient.h"
#define TESTCHECK_FAIL
#include "testcheck.h"

#define OWNERS 6
#define READERS 4
#define NFILES 12
#define NDIRS 4
#define NDFILES 3
#define NHASH 3
#define NCTL 8
#define VMAX 300

static const char *mnt, *sock;
static long nops;
static atomic_bool done;
static atomic_long checks;

/* a value for @tag: "<tag> <seq> <len> " then a fill byte, <len> bytes in all */
static size_t make_value(const char *tag, unsigned seq, uint64_t *rs, char *buf)
{
	size_t len = 24 + (size_t)(rnd(rs) % (VMAX - 24)), n;

	n = (size_t)snprintf(buf, len + 1, "%s %u %zu ", tag, seq, len);
	memset(buf + n, 'a' + (int)(seq % 26), len - n);
	return len;
}

/* is @buf a complete value made for @tag? */
static bool valid_value(const char *tag, const char *buf, size_t n)
{
	char t[32], *end;
	unsigned long seq, len;
	size_t tl = strlen(tag), i, hdr;

	if (n < tl + 1 || memcmp(buf, tag, tl) || buf[tl] != ' ')
		return false;
	if (n >= sizeof(t) + tl)
		memcpy(t, buf + tl + 1, sizeof(t) - 1), t[sizeof(t) - 1] = 0;
	else
		memcpy(t, buf + tl + 1, n - tl - 1), t[n - tl - 1] = 0;
	seq = strtoul(t, &end, 10);
	if (*end != ' ')
		return false;
	len = strtoul(end + 1, &end, 10);
	if (*end != ' ' || len != n)
		return false;
	hdr = tl + 1 + (size_t)(end + 1 - t);
	for (i = hdr; i < n; i++)
		if (buf[i] != 'a' + (int)(seq % 26))
			return false;
	return true;
}

/* ------------------------------------------------------------------------------------- */
/* owners                                                                                */

struct owner {
	int t;
	uint64_t rs;
	unsigned seq;
	char tag[16];
	char dir[4096];
	char file[NFILES][VMAX + 1];        /* "" = absent */
	bool dir_present[NDIRS];
	char dfile[NDIRS][NDFILES][VMAX + 1]; /* content of d<i>/x<k> while d<i> is present */
	bool hash_present[NHASH];
	char hfield[NHASH][2][VMAX + 1];
};

static void opath(const struct owner *o, char *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void opath(const struct owner *o, char *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p, 4096, "%s/", o->dir);

	va_start(ap, fmt);
	vsnprintf(p + n, 4096 - (size_t)n, fmt, ap);
	va_end(ap);
}

/* @path must read back exactly @want ("" = absent) */
static void expect_content(const char *what, const char *path, const char *want)
{
	char buf[VMAX + 64];
	ssize_t n = read_file(path, buf, sizeof(buf));
	struct stat st;

	if (!*want) {
		if (n != -ENOENT)
			fail("%s: %s: read gave %zd, expected ENOENT", what, path, n);
		if (stat(path, &st) == 0 || errno != ENOENT)
			fail("%s: %s: stat of an absent name did not fail with ENOENT", what, path);
	} else {
		if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n))
			fail("%s: %s: read %zd bytes '%.40s', expected '%.40s'", what, path, n,
			     n > 0 ? buf : "", want);
		if (stat(path, &st) || st.st_size != (off_t)strlen(want) || !S_ISREG(st.st_mode))
			fail("%s: %s: stat size %lld, expected %zu", what, path,
			     (long long)st.st_size, strlen(want));
	}
	atomic_fetch_add_explicit(&checks, 1, memory_order_relaxed);
}

static void owner_write(struct owner *o, const char *path, char *model)
{
	size_t len = make_value(o->tag, o->seq++, &o->rs, model);
	int rc;

	model[len] = 0;
	rc = write_file(path, model, len, O_CREAT | O_TRUNC);
	if (rc)
		fail("write %s: %s", path, strerror(-rc));
}

static void owner_setup(struct owner *o)
{
	char p[4096];
	int i, k;

	snprintf(o->tag, sizeof(o->tag), "t%d", o->t);
	snprintf(o->dir, sizeof(o->dir), "%s/st/t%d", mnt, o->t);
	if (mkdir(o->dir, 0755))
		fail("mkdir %s: %s", o->dir, strerror(errno));
	for (i = 0; i < NDIRS; i += 2) { /* half the directory slots start present */
		opath(o, p, "d%d", i);
		if (mkdir(p, 0755))
			fail("mkdir %s: %s", p, strerror(errno));
		o->dir_present[i] = true;
		for (k = 0; k < NDFILES; k++) {
			opath(o, p, "d%d/x%d", i, k);
			owner_write(o, p, o->dfile[i][k]);
		}
	}
	for (i = 0; i < NHASH - 1; i++) {
		opath(o, p, "h%d", i);
		if (mkdir(p, 0755) || setxattr(p, "user.hkv.type", "hash", 4, 0))
			fail("hash %s: %s", p, strerror(errno));
		o->hash_present[i] = true;
		for (k = 0; k < 2; k++) {
			opath(o, p, "h%d/%c", i, 'a' + k);
			owner_write(o, p, o->hfield[i][k]);
		}
	}
}

static void owner_list(struct owner *o)
{
	bool want[NFILES + NDIRS + NHASH] = { 0 }, seen[NFILES + NDIRS + NHASH] = { 0 };
	struct dirent *de;
	DIR *d;
	int i;

	for (i = 0; i < NFILES; i++)
		want[i] = o->file[i][0] != 0;
	for (i = 0; i < NDIRS; i++)
		want[NFILES + i] = o->dir_present[i];
	for (i = 0; i < NHASH; i++)
		want[NFILES + NDIRS + i] = o->hash_present[i];
	d = opendir(o->dir);
	if (!d) {
		fail("opendir %s: %s", o->dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		int n, slot;
		char c;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (sscanf(de->d_name, "%c%d", &c, &n) != 2 || n < 0 ||
		    (c == 'f' && n >= NFILES) || (c == 'd' && n >= NDIRS) ||
		    (c == 'h' && n >= NHASH) || !strchr("fdh", c)) {
			fail("listing %s: unexpected name '%s'", o->dir, de->d_name);
			break;
		}
		slot = c == 'f' ? n : c == 'd' ? NFILES + n : NFILES + NDIRS + n;
		if (seen[slot])
			fail("listing %s: '%s' listed twice", o->dir, de->d_name);
		seen[slot] = true;
	}
	closedir(d);
	for (i = 0; i < NFILES + NDIRS + NHASH; i++)
		if (want[i] != seen[i])
			fail("listing %s: slot %d %s", o->dir, i, want[i] ? "missing" : "extra");
	atomic_fetch_add_explicit(&checks, 1, memory_order_relaxed);
}

static void owner_step(struct owner *o)
{
	char p[4096], q[4096];
	int i = (int)(rnd(&o->rs) % NFILES), j = (int)(rnd(&o->rs) % NFILES), k, op;
	struct stat st;

	op = (int)(rnd(&o->rs) % 100);
	if (op < 20) { /* write */
		opath(o, p, "f%d", i);
		owner_write(o, p, o->file[i]);
	} else if (op < 40) { /* read + stat */
		opath(o, p, "f%d", i);
		expect_content("read", p, o->file[i]);
	} else if (op < 45) { /* lookup of a name that never exists */
		opath(o, p, "none%d", i);
		if (stat(p, &st) == 0 || errno != ENOENT)
			fail("stat %s: not ENOENT", p);
	} else if (op < 65) { /* rename a file, onto an absent or present name */
		if (i == j)
			return;
		opath(o, p, "f%d", i);
		opath(o, q, "f%d", j);
		if (rename(p, q) != 0) {
			if (o->file[i][0] || errno != ENOENT)
				fail("rename %s %s: %s", p, q, strerror(errno));
			return;
		}
		if (!o->file[i][0])
			fail("rename of absent %s succeeded", p);
		memcpy(o->file[j], o->file[i], sizeof(o->file[i]));
		o->file[i][0] = 0;
		expect_content("renamed", q, o->file[j]);
		expect_content("rename source", p, "");
	} else if (op < 75) { /* unlink */
		opath(o, p, "f%d", i);
		if (unlink(p) != 0) {
			if (o->file[i][0] || errno != ENOENT)
				fail("unlink %s: %s", p, strerror(errno));
			return;
		}
		if (!o->file[i][0])
			fail("unlink of absent %s succeeded", p);
		o->file[i][0] = 0;
		expect_content("unlinked", p, "");
	} else if (op < 85) { /* directory rename: the keys under it and their inodes move */
		int a = i % NDIRS, b = j % NDIRS;

		if (!o->dir_present[a] || o->dir_present[b])
			return;
		/* hold the kernel's inodes for the files under it: they must be re-keyed */
		for (k = 0; k < NDFILES; k++) {
			opath(o, p, "d%d/x%d", a, k);
			expect_content("before dir rename", p, o->dfile[a][k]);
		}
		opath(o, p, "d%d", a);
		opath(o, q, "d%d", b);
		if (rename(p, q)) {
			fail("rename %s %s: %s", p, q, strerror(errno));
			return;
		}
		o->dir_present[a] = false;
		o->dir_present[b] = true;
		memcpy(o->dfile[b], o->dfile[a], sizeof(o->dfile[a]));
		for (k = 0; k < NDFILES; k++) {
			opath(o, p, "d%d/x%d", b, k);
			expect_content("after dir rename", p, o->dfile[b][k]);
			opath(o, p, "d%d/x%d", a, k);
			expect_content("old dir after rename", p, "");
		}
		k = (int)(rnd(&o->rs) % NDFILES);
		opath(o, p, "d%d/x%d", b, k);
		owner_write(o, p, o->dfile[b][k]);
	} else if (op < 95) { /* hash key rename: its element inodes follow */
		int a = i % NHASH, b = j % NHASH;

		if (!o->hash_present[a] || o->hash_present[b])
			return;
		for (k = 0; k < 2; k++) {
			opath(o, p, "h%d/%c", a, 'a' + k);
			expect_content("before hash rename", p, o->hfield[a][k]);
		}
		opath(o, p, "h%d", a);
		opath(o, q, "h%d", b);
		if (rename(p, q)) {
			fail("rename %s %s: %s", p, q, strerror(errno));
			return;
		}
		o->hash_present[a] = false;
		o->hash_present[b] = true;
		memcpy(o->hfield[b], o->hfield[a], sizeof(o->hfield[a]));
		for (k = 0; k < 2; k++) {
			opath(o, p, "h%d/%c", b, 'a' + k);
			expect_content("after hash rename", p, o->hfield[b][k]);
			opath(o, p, "h%d/%c", a, 'a' + k);
			expect_content("old hash after rename", p, "");
		}
		k = (int)(rnd(&o->rs) % 2);
		opath(o, p, "h%d/%c", b, 'a' + k);
		owner_write(o, p, o->hfield[b][k]);
	} else {
		owner_list(o);
	}
}

static void *owner_main(void *arg)
{
	struct owner *o = arg;
	long n;

	owner_setup(o);
	for (n = 0; n < nops && !atomic_load(&failed); n++)
		owner_step(o);
	/* everything the model says, once more, at the end */
	if (!atomic_load(&failed)) {
		char p[4096];
		int i, k;

		for (i = 0; i < NFILES; i++) {
			opath(o, p, "f%d", i);
			expect_content("final", p, o->file[i]);
		}
		for (i = 0; i < NDIRS; i++)
			for (k = 0; k < NDFILES && o->dir_present[i]; k++) {
				opath(o, p, "d%d/x%d", i, k);
				expect_content("final", p, o->dfile[i][k]);
			}
		owner_list(o);
	}
	return NULL;
}

/* ------------------------------------------------------------------------------------- */
/* readers and the control thread                                                        */

static void check_foreign(const char *path, const char *tag)
{
	char buf[VMAX + 64];
	ssize_t n = read_file(path, buf, sizeof(buf));
	struct stat st;

	/* EISDIR: a directory renamed onto the name meanwhile; ENOTDIR: its parent became a file;
	 * empty: created by open(O_CREAT), its first value not yet written (as on any fs) */
	if (n == -ENOENT || n == -EISDIR || n == -ENOTDIR || n == 0)
		return;
	if (n < 0) {
		fail("reader: %s: %s", path, strerror((int)-n));
		return;
	}
	if (!valid_value(tag, buf, (size_t)n))
		fail("reader: %s: '%.*s' is not a complete value of %s", path,
		     (int)(n > 60 ? 60 : n), buf, tag);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > VMAX)
		fail("reader: %s: size %lld", path, (long long)st.st_size);
	atomic_fetch_add_explicit(&checks, 1, memory_order_relaxed);
}

static void *reader_main(void *arg)
{
	uint64_t rs = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)arg;
	char p[4096], tag[16];

	while (!atomic_load(&done) && !atomic_load(&failed)) {
		int t = (int)(rnd(&rs) % OWNERS), op = (int)(rnd(&rs) % 10), i;

		snprintf(tag, sizeof(tag), "t%d", t);
		i = (int)(rnd(&rs) % NFILES);
		if (op < 4) {
			snprintf(p, sizeof(p), "%s/st/t%d/f%d", mnt, t, i);
		} else if (op < 6) {
			snprintf(p, sizeof(p), "%s/st/t%d/d%d/x%d", mnt, t, i % NDIRS,
				 i % NDFILES);
		} else if (op < 7) {
			snprintf(p, sizeof(p), "%s/st/t%d/h%d/%c", mnt, t, i % NHASH, 'a' + i % 2);
		} else if (op < 9) {
			snprintf(tag, sizeof(tag), "c%d", i % NCTL);
			snprintf(p, sizeof(p), "%s/ct/k%d", mnt, i % NCTL);
		} else {
			DIR *d;
			struct dirent *de;

			snprintf(p, sizeof(p), "%s/st/t%d", mnt, t);
			d = opendir(p);
			if (!d) {
				if (errno != ENOENT)
					fail("reader: opendir %s: %s", p, strerror(errno));
				continue;
			}
			while ((de = readdir(d)))
				if (de->d_name[0] != '.' && !strchr("fdh", de->d_name[0]))
					fail("reader: %s lists '%s'", p, de->d_name);
			closedir(d);
			continue;
		}
		check_foreign(p, tag);
	}
	return NULL;
}

static int ctl(int argc, const char *a0, const char *a1, const char *a2, size_t l2)
{
	const void *av[3] = { a0, a1, a2 };
	size_t lens[3] = { strlen(a0), a1 ? strlen(a1) : 0, a2 ? l2 : 0 };
	struct hkvfs_ctl_reply r;
	int rc = hkvfs_ctl_callv(sock, argc, av, lens, &r);

	if (rc)
		return rc;
	rc = r.status;
	free(r.data);
	return rc;
}

/* keys ct/k<i> hold values tagged c<i>: set, deleted, renamed onto each other's names only
 * when the tags agree (k<i> -> k<i> via a temporary name outside ct/) */
static void *ctl_main(void *arg)
{
	uint64_t rs = 0x1234567;
	char key[64], tmp[64], tag[16], buf[VMAX + 1];
	unsigned seq = 0;

	(void)arg;
	while (!atomic_load(&done) && !atomic_load(&failed)) {
		int i = (int)(rnd(&rs) % NCTL), op = (int)(rnd(&rs) % 3), rc;
		size_t len;

		snprintf(key, sizeof(key), "ct/k%d", i);
		snprintf(tag, sizeof(tag), "c%d", i);
		if (op == 0) {
			len = make_value(tag, seq++, &rs, buf);
			rc = ctl(3, "set", key, buf, len);
		} else if (op == 1) {
			rc = ctl(2, "del", key, NULL, 0);
			rc = rc == -ENOENT ? 0 : rc;
		} else {
			snprintf(tmp, sizeof(tmp), "cx%d", i);
			rc = ctl(3, "rename", key, tmp, strlen(tmp));
			if (rc == 0)
				rc = ctl(3, "rename", tmp, key, strlen(key));
			rc = rc == -ENOENT ? 0 : rc;
		}
		if (rc < 0 && rc != -ENOENT)
			fail("control request on %s: %d", key, rc);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct owner owners[OWNERS];
	pthread_t ot[OWNERS], rt[READERS], ct;
	char p[4096];
	int i;

	if (argc != 4) {
		fprintf(stderr, "usage: inodes MNT SOCK OPS\n");
		return 2;
	}
	mnt = argv[1];
	sock = argv[2];
	nops = atol(argv[3]);
	snprintf(p, sizeof(p), "%s/st", mnt);
	if (mkdir(p, 0755)) {
		fprintf(stderr, "FAIL: mkdir %s: %s\n", p, strerror(errno));
		return 1;
	}
	for (i = 0; i < READERS; i++)
		pthread_create(&rt[i], NULL, reader_main, (void *)(uintptr_t)(i + 1));
	pthread_create(&ct, NULL, ctl_main, NULL);
	for (i = 0; i < OWNERS; i++) {
		owners[i].t = i;
		owners[i].rs = 0x2545f4914f6cdd1dull + (uint64_t)i * 0x9e3779b97f4a7c15ull;
		pthread_create(&ot[i], NULL, owner_main, &owners[i]);
	}
	for (i = 0; i < OWNERS; i++)
		pthread_join(ot[i], NULL);
	atomic_store(&done, true);
	for (i = 0; i < READERS; i++)
		pthread_join(rt[i], NULL);
	pthread_join(ct, NULL);
	if (atomic_load(&failed))
		return 1;
	printf("ok: %ld checks\n", atomic_load(&checks));
	return 0;
}
