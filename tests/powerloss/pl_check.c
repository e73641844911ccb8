// SPDX-License-Identifier: MIT
/*
 * pl_check.c - the power-loss checker: builds crash states from a trace written by
 * pl_record.c and a workload, materialises each one as a directory, opens it and checks it
 * against the oracle in the trace.
 *
 * Usage: pl_check --trace FILE --scratch DIR [--states N] [--seed S] [--bound-ms MS]
 *                 [--report N] [--keep-failed]
 *
 * The crash model (what the disk may hold after a power loss at a cut point C, where records
 * 0..C-1 of the trace happened and nothing after):
 *
 *  - Files are inodes; names are a namespace of paths. Metadata operations (mkdir, create,
 *    rename, unlink, truncate/size change) go to an ordered journal: a crash keeps a prefix of
 *    the journal entries not yet committed. Any fsync/fdatasync (of any file or directory) or
 *    sync commits the whole journal (as ext4 and xfs do: one journal for the file system).
 *  - Data written to a file (write, pwrite, writev) is durable once that file is fsynced or
 *    fdatasynced after the write returned, or at once if the descriptor has O_DSYNC/O_SYNC.
 *    Until then any subset of it may be on disk: each unsynced write is split at 4096-byte
 *    page boundaries and each page is kept or lost on its own; a kept page may be torn at a
 *    512-byte sector boundary; a file's size may have reached the end of its unsynced writes
 *    while their data did not (the region then reads as zeros, as on xfs or ext4 writeback).
 *    Kept pages are applied in trace order, so a later write to a page wins when both are
 *    kept; a sector is the unit of atomicity.
 *  - Nothing else persists: LMDB's lock file is never part of a state (LMDB rebuilds it).
 *
 * Crash states: cut points just before and just after every barrier (fsync, fdatasync,
 * O_DSYNC write, sync), plus random points between barriers, sampled with the seed down to
 * --states states. For each cut: the synced state alone, everything unsynced kept in order,
 * the journal without any unsynced data (sizes grown, zeros), each file's unsynced data all
 * or nothing, and random subsets.
 *
 * The checks, for each state:
 *  1. The store opens (hkv_open, no repair step exists or is run).
 *  2. Every key the workload touched reads without error.
 *  3. The whole store equals the workload's state after some operation j (the keys' states
 *     are those of one prefix of the operation sequence: atomic, ordered) with
 *       lo <= j <= hi,   hi = the last operation begun before the cut,
 *       lo = the last operation acknowledged before the cut under sync=always; under
 *            everysec the last acknowledged at least --bound-ms (default 2000) before the
 *            cut; under none 0; and never below the last operation acknowledged before a
 *            returned hkv_sync().
 *     A key whose value is none it ever had is reported as "bytes never written to the
 *     key"; one whose value is older than lo allows as "acknowledged write lost".
 *
 * Exit: 0 all states pass; 1 a state failed (each failure is described on stdout); 2 usage
 * or trace error.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hkv/engine.h>
#include <lmdb.h>

#include "pl_canon.h"
#include "pl_trace.h"

#define T0 1700000000000ll
#define PAGE 4096u
#define SECTOR 512u
#define FIXED_VARIANTS 4

struct rec {
	const struct pl_hdr *h;
	const char *a; /* not NUL-terminated: h->a bytes */
	const unsigned char *b;
};

struct inode {
	unsigned char *d;
	size_t len, cap;
	bool dir;
};

struct dent {
	char *path;
	int ino;
};

struct ns {
	struct dent *v;
	size_t n, cap;
};

struct pend {
	size_t rec;
	int ino;
	bool meta;
	uint64_t cap; /* a later truncate made durable cut this write to this size */
};

struct key {
	char *name;
	struct pl_buf *vals;
	size_t nvals;
	int *at; /* at[j]: value index after op j; -1 absent; -2 unset while parsing */
};

enum policy { POL_ALWAYS, POL_EVERYSEC, POL_NONE };

static struct rec *recs;
static size_t nrec;
static struct key *keys;
static size_t nkeys;
static uint64_t nops;
static uint64_t *ack_t;    /* ack_t[n]: monotonic ns of op n's PL_ACK */
static enum policy pol = POL_ALWAYS;
static bool kind_file, kind_lmdb;
static uint64_t bound_ns = 2000000000ull;
static uint64_t rng = 1;
static const char *scratch;
static int report_max = 20;
static bool keep_failed;

/* the durable image, built incrementally as the trace is walked */
static struct inode *dur;
static size_t ninodes, inodes_cap;
static struct ns dur_ns, vol_ns;
static struct pend *pending;
static size_t npend, pend_cap;

/* results */
static unsigned long states, failures, fail_open, fail_read, fail_never, fail_lost, fail_prefix,
	fail_crash;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "pl_check: out of memory\n");
		exit(2);
	}
	return p;
}

static char *recstr(const char *p, uint32_t n)
{
	char *s = xrealloc(NULL, n + 1);

	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pl_check: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ---- namespace ---------------------------------------------------------------------- */

static int ns_find(const struct ns *s, const char *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].path, p))
			return (int)i;
	return -1;
}

static int ns_get(const struct ns *s, const char *p)
{
	int i = ns_find(s, p);

	return i < 0 ? -1 : s->v[i].ino;
}

static void ns_del(struct ns *s, const char *p)
{
	int i = ns_find(s, p);

	if (i < 0)
		return;
	free(s->v[i].path);
	s->v[i] = s->v[--s->n];
}

static void ns_set(struct ns *s, const char *p, int ino)
{
	int i = ns_find(s, p);

	if (i >= 0) {
		s->v[i].ino = ino;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].path = strdup(p);
	s->v[s->n++].ino = ino;
}

static void ns_rename(struct ns *s, const char *a, const char *b)
{
	size_t al = strlen(a);
	int ino = ns_get(s, a);

	if (ino < 0)
		return;
	ns_del(s, b);
	ns_del(s, a);
	ns_set(s, b, ino);
	for (size_t i = 0; i < s->n; i++) {
		char *p = s->v[i].path, *np;

		if (!strncmp(p, a, al) && p[al] == '/') {
			if (asprintf(&np, "%s%s", b, p + al) < 0)
				exit(2);
			free(p);
			s->v[i].path = np;
		}
	}
}

static void ns_copy(struct ns *to, const struct ns *from)
{
	to->n = 0;
	for (size_t i = 0; i < from->n; i++)
		ns_set(to, from->v[i].path, from->v[i].ino);
}

static void ns_clear(struct ns *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	s->n = 0;
}

/* ---- inodes --------------------------------------------------------------------------- */

static void ino_resize(struct inode *n, size_t len)
{
	if (len > n->cap) {
		size_t c = n->cap ? n->cap : 4096;

		while (c < len)
			c *= 2;
		n->d = xrealloc(n->d, c);
		n->cap = c;
	}
	if (len > n->len)
		memset(n->d + n->len, 0, len - n->len);
	n->len = len;
}

static void ino_write(struct inode *n, uint64_t off, const unsigned char *p, size_t len)
{
	if (off + len > n->len)
		ino_resize(n, off + len);
	memcpy(n->d + off, p, len);
}

/* ---- the trace ------------------------------------------------------------------------ */

static bool is_mark(const struct rec *r)
{
	return r->h->type >= PL_BEGIN;
}

static bool is_barrier(const struct rec *r)
{
	return r->h->type == PL_FSYNC || r->h->type == PL_SYNCALL ||
	       (r->h->type == PL_WRITE && (r->h->flags & PL_F_DSYNC));
}

static struct key *key_get(const char *name)
{
	for (size_t i = 0; i < nkeys; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	keys = xrealloc(keys, (nkeys + 1) * sizeof(*keys));
	memset(&keys[nkeys], 0, sizeof(*keys));
	keys[nkeys].name = strdup(name);
	return &keys[nkeys++];
}

static void load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const unsigned char *m;
	size_t off = 0, cap = 0;

	if (fd < 0 || fstat(fd, &st))
		fatal("cannot open trace %s: %s", path, strerror(errno));
	if (!st.st_size)
		fatal("trace %s is empty", path);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		fatal("cannot map trace %s: %s", path, strerror(errno));
	close(fd);
	while (off < (size_t)st.st_size) {
		const struct pl_hdr *h = (const void *)(m + off);

		if (off + sizeof(*h) > (size_t)st.st_size ||
		    off + sizeof(*h) + (size_t)h->a + h->b > (size_t)st.st_size)
			fatal("trace %s is truncated at byte %zu", path, off);
		if (nrec == cap) {
			cap = cap ? cap * 2 : 4096;
			recs = xrealloc(recs, cap * sizeof(*recs));
		}
		recs[nrec].h = h;
		recs[nrec].a = (const char *)(m + off + sizeof(*h));
		recs[nrec].b = m + off + sizeof(*h) + h->a;
		nrec++;
		off += sizeof(*h) + (((size_t)h->a + h->b + 7) & ~(size_t)7);
		if (h->type == PL_BEGIN && h->x > nops)
			nops = h->x;
		if (h->type == PL_UNSUPPORTED)
			fatal("the trace holds a call the crash model cannot represent: %.*s",
			      (int)h->a, (const char *)(h + 1));
	}
	ack_t = xrealloc(NULL, (nops + 1) * sizeof(*ack_t));
	memset(ack_t, 0, (nops + 1) * sizeof(*ack_t));
	for (size_t i = 0; i < nrec; i++) {
		const struct rec *r = &recs[i];
		char *s;

		if (r->h->type == PL_CONFIG) {
			s = recstr(r->a, r->h->a);
			if (!strcmp(s, "sync=always"))
				pol = POL_ALWAYS;
			else if (!strcmp(s, "sync=everysec"))
				pol = POL_EVERYSEC;
			else if (!strcmp(s, "sync=none"))
				pol = POL_NONE;
			else if (!strcmp(s, "kind=file"))
				kind_file = true;
			else if (!strcmp(s, "kind=lmdb"))
				kind_lmdb = true;
			free(s);
		} else if (r->h->type == PL_ACK && !r->h->a) {
			ack_t[r->h->x] = r->h->t;
		} else if (r->h->type == PL_STATE || r->h->type == PL_ABSENT) {
			struct key *k;
			int vi = -1;

			s = recstr(r->a, r->h->a);
			k = key_get(s);
			free(s);
			if (!k->at) {
				k->at = xrealloc(NULL, (nops + 1) * sizeof(int));
				for (uint64_t j = 0; j <= nops; j++)
					k->at[j] = -2;
				k->at[0] = -1;
			}
			if (r->h->type == PL_STATE) {
				for (size_t v = 0; v < k->nvals; v++)
					if (k->vals[v].len == r->h->b &&
					    !memcmp(k->vals[v].p, r->b, r->h->b)) {
						vi = (int)v;
						break;
					}
				if (vi < 0) {
					k->vals = xrealloc(k->vals,
							   (k->nvals + 1) * sizeof(*k->vals));
					memset(&k->vals[k->nvals], 0, sizeof(*k->vals));
					pl_buf_add(&k->vals[k->nvals], r->b, r->h->b);
					vi = (int)k->nvals++;
				}
			}
			k->at[r->h->x] = vi;
		}
	}
	for (size_t i = 0; i < nkeys; i++)
		for (uint64_t j = 1; j <= nops; j++)
			if (keys[i].at[j] == -2)
				keys[i].at[j] = keys[i].at[j - 1];
	if (!nops || !nkeys)
		fatal("trace %s holds no workload operations", path);
}

/* ---- walking the trace: the volatile namespace and the durable image ------------------- */

static int new_inode(bool dir)
{
	if (ninodes == inodes_cap) {
		inodes_cap = inodes_cap ? inodes_cap * 2 : 64;
		dur = xrealloc(dur, inodes_cap * sizeof(*dur));
	}
	memset(&dur[ninodes], 0, sizeof(*dur));
	dur[ninodes].dir = dir;
	return (int)ninodes++;
}

/* Apply metadata record @p to namespace @s and inode table @t (truncate). */
static void apply_meta(const struct pend *p, struct ns *s, struct inode *(*t)(int))
{
	const struct rec *r = &recs[p->rec];
	char *a = recstr(r->a, r->h->a), *b;

	switch (r->h->type) {
	case PL_MKDIR:
	case PL_CREAT:
		ns_set(s, a, p->ino);
		break;
	case PL_RENAME:
		b = recstr((const char *)r->b, r->h->b);
		ns_rename(s, a, b);
		free(b);
		break;
	case PL_UNLINK:
		ns_del(s, a);
		break;
	case PL_TRUNC: {
		struct inode *n = t(p->ino);

		if (r->h->x < n->len)
			n->len = r->h->x;
		else
			ino_resize(n, r->h->x);
		break;
	}
	}
	free(a);
}

static struct inode *dur_ino(int ino)
{
	return &dur[ino];
}

static void apply_write_dur(const struct pend *p)
{
	const struct rec *r = &recs[p->rec];
	uint64_t off = r->h->x, len = r->h->b;

	if (off >= p->cap)
		return;
	if (off + len > p->cap)
		len = p->cap - off;
	ino_write(&dur[p->ino], off, r->b, len);
}

/* Make durable: the whole journal, and the unsynced data of @ino (-1: of every inode). */
static void commit(int ino)
{
	size_t k = 0;

	for (size_t i = 0; i < npend; i++) {
		struct pend *p = &pending[i];

		if (p->meta) {
			apply_meta(p, &dur_ns, dur_ino);
			if (recs[p->rec].h->type == PL_TRUNC)
				for (size_t j = 0; j < i; j++)
					if (!pending[j].meta && pending[j].ino == p->ino &&
					    pending[j].cap > recs[p->rec].h->x)
						pending[j].cap = recs[p->rec].h->x;
		} else if (ino < 0 || p->ino == ino) {
			apply_write_dur(p);
		} else {
			pending[k++] = *p;
		}
	}
	npend = k;
}

static void pend_add(size_t rec, int ino, bool meta)
{
	if (npend == pend_cap) {
		pend_cap = pend_cap ? pend_cap * 2 : 256;
		pending = xrealloc(pending, pend_cap * sizeof(*pending));
	}
	pending[npend++] = (struct pend){ .rec = rec, .ino = ino, .meta = meta,
					  .cap = UINT64_MAX };
}

/* Process record @i: update the volatile namespace, the pending list and the durable image. */
static void step(size_t i)
{
	const struct rec *r = &recs[i];
	char *a;
	int ino;

	if (is_mark(r))
		return;
	a = recstr(r->a, r->h->a);
	switch (r->h->type) {
	case PL_MKDIR:
	case PL_CREAT:
		ino = new_inode(r->h->type == PL_MKDIR);
		ns_set(&vol_ns, a, ino);
		pend_add(i, ino, true);
		break;
	case PL_RENAME: {
		char *b = recstr((const char *)r->b, r->h->b);

		ns_rename(&vol_ns, a, b);
		free(b);
		pend_add(i, -1, true);
		break;
	}
	case PL_UNLINK:
		ns_del(&vol_ns, a);
		pend_add(i, -1, true);
		break;
	case PL_TRUNC:
	case PL_WRITE:
	case PL_FSYNC:
		ino = ns_get(&vol_ns, a);
		if (ino < 0)
			fatal("trace record %zu: %s is not a known file", i, a);
		if (r->h->type == PL_TRUNC) {
			pend_add(i, ino, true);
		} else if (r->h->type == PL_FSYNC) {
			commit(ino);
		} else if (r->h->flags & PL_F_DSYNC) {
			struct pend p = { .rec = i, .ino = ino, .cap = UINT64_MAX };

			apply_write_dur(&p);
		} else {
			pend_add(i, ino, false);
		}
		break;
	case PL_SYNCALL:
		commit(-1);
		break;
	}
	free(a);
}

/* ---- one crash state -------------------------------------------------------------------- */

static struct inode *st_ino;  /* the state's inodes: copies of the durable ones it changed */
static bool *st_own;
static struct ns st_ns;

static struct inode *st_get(int ino)
{
	if (!st_own[ino]) {
		st_ino[ino] = dur[ino];
		st_ino[ino].d = xrealloc(NULL, dur[ino].cap ? dur[ino].cap : 1);
		if (dur[ino].len)
			memcpy(st_ino[ino].d, dur[ino].d, dur[ino].len);
		st_own[ino] = true;
	}
	return &st_ino[ino];
}

static const struct inode *st_view(int ino)
{
	return st_own[ino] ? &st_ino[ino] : &dur[ino];
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static int path_cmp(const void *x, const void *y)
{
	return strcmp(((const struct dent *)x)->path, ((const struct dent *)y)->path);
}

/* Write the state's namespace under @dir (the store root); false on an error (reported). */
static bool materialise(const char *dir)
{
	qsort(st_ns.v, st_ns.n, sizeof(*st_ns.v), path_cmp);
	for (size_t i = 0; i < st_ns.n; i++) {
		const struct dent *e = &st_ns.v[i];
		const struct inode *n = st_view(e->ino);
		char *p;
		int fd;

		if (asprintf(&p, "%s%s%s", dir, e->path[0] ? "/" : "", e->path) < 0)
			exit(2);
		if (n->dir) {
			if (mkdir(p, 0755) && errno != ENOENT) {
				fprintf(stderr, "pl_check: mkdir %s: %s\n", p, strerror(errno));
				free(p);
				return false;
			}
		} else {
			fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0 && errno == ENOENT) {
				free(p); /* its directory is not in the state */
				continue;
			}
			if (fd < 0 || (n->len && write(fd, n->d, n->len) != (ssize_t)n->len)) {
				fprintf(stderr, "pl_check: write %s: %s\n", p, strerror(errno));
				free(p);
				return false;
			}
			close(fd);
		}
		free(p);
	}
	return true;
}

static int64_t fixed_clock(void *arg)
{
	(void)arg;
	return T0;
}

static void quiet_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static void show_value(const struct pl_buf *b, int rc)
{
	if (rc == 1) {
		printf("(absent)");
		return;
	}
	printf("%zu bytes \"", b->len);
	for (size_t i = 0; i < b->len && i < 48; i++)
		putchar(b->p[i] >= 32 && b->p[i] < 127 && b->p[i] != '"' ? b->p[i] : '.');
	printf("%s\"", b->len > 48 ? "..." : "");
}

/* The value index of @b in @k's history: -1 absent, -3 never a value of the key. */
static int value_index(const struct key *k, const struct pl_buf *b, int rc)
{
	if (rc == 1)
		return -1;
	for (size_t v = 0; v < k->nvals; v++)
		if (k->vals[v].len == b->len && !memcmp(k->vals[v].p, b->p, b->len))
			return (int)v;
	return -3;
}

static int read_file_key(const char *dir, const char *key, struct pl_buf *out)
{
	char *p;
	unsigned char buf[4096];
	ssize_t n;
	int fd;

	out->len = 0;
	if (asprintf(&p, "%s/%s", dir, key) < 0)
		exit(2);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		pl_buf_add(out, buf, (size_t)n);
	close(fd);
	return n < 0 ? -EIO : 0;
}

static MDB_env *lenv;
static MDB_txn *ltxn;
static MDB_dbi ldbi;

static int read_lmdb_key(const char *key, struct pl_buf *out)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc;

	out->len = 0;
	rc = mdb_get(ltxn, ldbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc)
		return -HKV_ECORRUPT;
	pl_buf_add(out, v.mv_data, v.mv_size);
	return 0;
}

/* Check the state under @dir against ops [lo, hi]; print a report if it fails. */
static bool check_state(const char *dir, uint64_t lo, uint64_t hi, const char *desc)
{
	struct hkv *db = NULL;
	struct hkv_options o;
	struct pl_buf b = { 0 };
	bool ok = true, *cand;
	int *vi = xrealloc(NULL, nkeys * sizeof(int)), rc;
	bool print = failures < (unsigned long)report_max;

#define FAIL_HEAD()                                                                          \
	do {                                                                                 \
		if (ok && print)                                                             \
			printf("FAIL %s (acknowledged ops must be present: 1..%llu; ops begun: "  \
			       "1..%llu)\n",                                                \
			       desc, (unsigned long long)lo, (unsigned long long)hi);        \
		ok = false;                                                                  \
	} while (0)

	if (kind_lmdb) {
		mkdir(dir, 0755); /* an environment whose directory was lost is a new one */
		if ((rc = mdb_env_create(&lenv)) || (rc = mdb_env_set_mapsize(lenv, 64u << 20)) ||
		    (rc = mdb_env_open(lenv, dir, 0, 0644)) ||
		    (rc = mdb_txn_begin(lenv, NULL, MDB_RDONLY, &ltxn)) ||
		    (rc = mdb_dbi_open(ltxn, NULL, 0, &ldbi))) {
			FAIL_HEAD();
			if (print)
				printf("  LMDB open failed: %s\n", mdb_strerror(rc));
			fail_open++;
			failures++;
			free(vi);
			return false;
		}
	} else if (!kind_file) {
		hkv_options_init(&o);
		o.bg_interval_ms = 0;
		o.inline_max = 256;
		o.segment_size = 1u << 20;
		o.map_size = 256u << 20;
		o.clock = fixed_clock;
		o.log = quiet_log;
		rc = hkv_open(dir, &o, &db);
		if (rc) {
			FAIL_HEAD();
			if (print)
				printf("  open failed: %s\n", hkv_strerror(rc));
			fail_open++;
			failures++;
			free(vi);
			return false;
		}
	}
	for (size_t i = 0; i < nkeys; i++) {
		rc = kind_file ? read_file_key(dir, keys[i].name, &b)
		     : kind_lmdb ? read_lmdb_key(keys[i].name, &b)
				 : pl_canon(db, keys[i].name, T0, &b);
		if (rc < 0) {
			FAIL_HEAD();
			if (print)
				printf("  read of key %s failed: %s\n", keys[i].name,
				       hkv_strerror(rc));
			fail_read++;
			vi[i] = -4;
			continue;
		}
		vi[i] = value_index(&keys[i], &b, rc);
		if (vi[i] == -3) {
			FAIL_HEAD();
			if (print) {
				printf("  key %s holds bytes never written to it: ", keys[i].name);
				show_value(&b, rc);
				printf("\n");
			}
			fail_never++;
			continue;
		}
		/* the values the key had: the latest before lo, the first after hi */
		bool in = false;
		uint64_t below = 0, above = 0;
		bool has_below = false, has_above = false;

		for (uint64_t j = 0; j <= nops && !in; j++) {
			if (keys[i].at[j] != vi[i])
				continue;
			if (j < lo) {
				below = j;
				has_below = true;
			} else if (j <= hi) {
				in = true;
			} else if (!has_above) {
				above = j;
				has_above = true;
			}
		}
		if (!in) {
			FAIL_HEAD();
			if (print) {
				printf("  key %s: %s; it holds ", keys[i].name,
				       has_below ? "acknowledged write lost"
						 : "value of an operation not yet begun");
				show_value(&b, rc);
				if (has_below)
					printf(", its value after op %llu",
					       (unsigned long long)below);
				else
					printf(", its value after op %llu",
					       (unsigned long long)above);
				printf("; after op %llu it was ", (unsigned long long)lo);
				int w = keys[i].at[lo];

				if (w < 0)
					printf("(absent)");
				else
					show_value(&keys[i].vals[w], 0);
				printf("\n");
			}
			if (has_below)
				fail_lost++;
			else
				fail_prefix++;
		}
	}
	if (ok) {
		/* one prefix for all keys */
		cand = xrealloc(NULL, (hi - lo + 1) * sizeof(bool));
		for (uint64_t j = lo; j <= hi; j++)
			cand[j - lo] = true;
		for (size_t i = 0; i < nkeys; i++)
			for (uint64_t j = lo; j <= hi; j++)
				if (keys[i].at[j] != vi[i])
					cand[j - lo] = false;
		bool found = false;

		for (uint64_t j = lo; j <= hi && !found; j++)
			found = cand[j - lo];
		free(cand);
		if (!found) {
			FAIL_HEAD();
			if (print)
				printf("  every key holds a value it had between op %llu and %llu, "
				       "but no single operation has them all: not a prefix\n",
				       (unsigned long long)lo, (unsigned long long)hi);
			fail_prefix++;
		}
	}
	if (db)
		hkv_close(db);
	pl_buf_free(&b);
	free(vi);
	if (!ok)
		failures++;
	return ok;
#undef FAIL_HEAD
}

/*
 * Run check_state() in a child, so that an engine that crashes on a state (LMDB faults on a
 * data file shorter than its meta page says) is a reported failure, not the checker's end.
 * The child's exit status carries the failure classes as bits.
 */
static bool check_forked(const char *dir, uint64_t lo, uint64_t hi, const char *desc)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (!pid) {
		unsigned long o = fail_open, r = fail_read, n = fail_never, l = fail_lost,
			      p = fail_prefix;
		bool ok = check_state(dir, lo, hi, desc);

		fflush(stdout);
		_exit(ok ? 0 : 0x40 | (fail_open > o) | (fail_read > r) << 1 |
				     (fail_never > n) << 2 | (fail_lost > l) << 3 |
				     (fail_prefix > p) << 4);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fatal("waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	failures++;
	if (WIFSIGNALED(status)) {
		if (failures <= (unsigned long)report_max)
			printf("FAIL %s (acknowledged ops must be present: 1..%llu; ops begun: "
			       "1..%llu)\n  the engine died of signal %d (%s) opening or reading "
			       "the store\n",
			       desc, (unsigned long long)lo, (unsigned long long)hi,
			       WTERMSIG(status), strsignal(WTERMSIG(status)));
		fail_crash++;
		return false;
	}
	int bits = WEXITSTATUS(status);

	fail_open += bits & 1;
	fail_read += (bits >> 1) & 1;
	fail_never += (bits >> 2) & 1;
	fail_lost += (bits >> 3) & 1;
	fail_prefix += (bits >> 4) & 1;
	return false;
}


/* pages lost or torn per file in the state being built, for its description */
static size_t *lost;

static void lost_add(int ino)
{
	lost[ino]++;
}

/* "index/data.mdb 3, vlog/00000001.seg 2" for the files with lost pages */
static void lost_describe(char *out, size_t len)
{
	size_t n = 0;

	out[0] = 0;
	for (size_t i = 0; i < ninodes && n + 1 < len; i++) {
		const char *name = "(unlinked file)";

		if (!lost[i])
			continue;
		for (size_t j = 0; j < vol_ns.n; j++)
			if (vol_ns.v[j].ino == (int)i)
				name = vol_ns.v[j].path;
		n += (size_t)snprintf(out + n, len - n, "%s%s %zu", n ? ", " : "", name, lost[i]);
	}
	if (!n)
		snprintf(out, len, "none");
}

/*
 * Build, materialise and check one crash state at cut @c: variant 0 synced only, 1 all
 * unsynced kept in order, 2 journal without data (sizes grown), 3 whole journal and each
 * file's unsynced data all or nothing (one file written back before another), >= 4 random.
 */
static void one_state(size_t c, int variant, uint64_t lo, uint64_t hi, const char *where)
{
	size_t nmeta = 0, keep_meta, kept_pages = 0, pages = 0, torn = 0, mi = 0;
	bool grow = variant == 2 || (variant >= 4 && rnd() % 2);
	bool *file_keep = xrealloc(NULL, ninodes * sizeof(bool));
	char desc[1024], *dir, *root;

	for (size_t i = 0; i < npend; i++)
		nmeta += pending[i].meta;
	keep_meta = variant == 0 ? 0 : variant <= 3 ? nmeta : rnd() % (nmeta + 1);
	for (size_t i = 0; i < ninodes; i++)
		file_keep[i] = rnd() % 2;
	st_ino = xrealloc(st_ino, ninodes * sizeof(*st_ino));
	st_own = xrealloc(st_own, ninodes * sizeof(*st_own));
	lost = xrealloc(lost, ninodes * sizeof(*lost));
	memset(lost, 0, ninodes * sizeof(*lost));
	memset(st_own, 0, ninodes * sizeof(*st_own));
	ns_copy(&st_ns, &dur_ns);
	for (size_t i = 0; i < npend; i++) {
		const struct pend *p = &pending[i];
		const struct rec *r = &recs[p->rec];

		if (p->meta) {
			if (mi++ < keep_meta)
				apply_meta(p, &st_ns, st_get);
			continue;
		}
		uint64_t off = r->h->x, end = r->h->x + r->h->b;

		if (end > p->cap)
			end = p->cap;
		while (off < end) {
			uint64_t pe = (off / PAGE + 1) * PAGE, len;
			bool keep = variant == 1 || (variant == 3 && file_keep[p->ino]) ||
				    (variant >= 4 && rnd() % 2);

			if (pe > end)
				pe = end;
			len = pe - off;
			pages++;
			if (!keep || len < pe - off)
				lost_add(p->ino);
			if (keep) {
				kept_pages++;
				if (variant >= 4 && len > SECTOR && rnd() % 8 == 0) {
					uint64_t secs = (len + SECTOR - 1) / SECTOR;

					len = (1 + rnd() % (secs - 1)) * SECTOR;
					torn++;
					lost_add(p->ino);
				}
				ino_write(st_get(p->ino), off, r->b + (off - r->h->x), len);
			}
			off = pe;
		}
	}
	if (grow)
		for (size_t i = 0; i < npend; i++) {
			const struct pend *p = &pending[i];
			uint64_t end = recs[p->rec].h->x + recs[p->rec].h->b;

			if (p->meta)
				continue;
			if (end > p->cap)
				end = p->cap;
			if (st_view(p->ino)->len < end)
				ino_resize(st_get(p->ino), end);
		}
	char lostd[256];

	lost_describe(lostd, sizeof(lostd));
	snprintf(desc, sizeof(desc),
		 "state %lu: cut at trace record %zu (%s), kept %zu/%zu unsynced metadata ops, "
		 "%zu/%zu unsynced pages (%zu torn; lost or torn: %s)%s",
		 states, c, where, keep_meta, nmeta, kept_pages, pages, torn, lostd,
		 grow ? ", file sizes grown over lost pages" : "");
	if (asprintf(&dir, "%s/state", scratch) < 0 || asprintf(&root, "%s/store", dir) < 0)
		exit(2);
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(dir, 0755))
		fatal("mkdir %s: %s", dir, strerror(errno));
	states++;
	if (!materialise(root))
		fatal("cannot materialise %s", desc);
	if (!check_forked(root, lo, hi, desc) && keep_failed) {
		char *keep;

		if (asprintf(&keep, "%s/failed-%lu", scratch, states - 1) < 0)
			exit(2);
		rename(dir, keep);
		free(keep);
	}
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < ninodes; i++)
		if (st_own[i])
			free(st_ino[i].d);
	ns_clear(&st_ns);
	free(dir);
	free(root);
	free(file_keep);
}

static int size_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	static const struct option lo_opts[] = {
		{ "trace", 1, 0, 't' }, { "scratch", 1, 0, 'd' }, { "states", 1, 0, 'n' },
		{ "seed", 1, 0, 'S' }, { "bound-ms", 1, 0, 'b' }, { "report", 1, 0, 'r' },
		{ "keep-failed", 0, 0, 'k' }, { 0, 0, 0, 0 }
	};
	const char *trace = NULL;
	unsigned long max_states = 400, seed = 1, random_variants = 2;
	size_t *cuts, ncuts = 0, nb = 0;
	uint64_t last_begin = 0, last_ack = 0, floor_sync = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", lo_opts, NULL)) != -1) {
		switch (c) {
		case 't': trace = optarg; break;
		case 'd': scratch = optarg; break;
		case 'n': max_states = strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoul(optarg, NULL, 0); break;
		case 'b': bound_ns = strtoull(optarg, NULL, 0) * 1000000ull; break;
		case 'r': report_max = atoi(optarg); break;
		case 'k': keep_failed = true; break;
		default:
			fprintf(stderr, "usage: pl_check --trace FILE --scratch DIR [--states N] "
					"[--seed S] [--bound-ms MS] [--report N] [--keep-failed]\n");
			return 2;
		}
	}
	if (!trace || !scratch || max_states < FIXED_VARIANTS + random_variants) {
		fprintf(stderr, "pl_check: --trace and --scratch are required\n");
		return 2;
	}
	rng = 0x2545F4914F6CDD1Dull ^ seed;
	load(trace);

	/* cut points: before and after each barrier, plus random points between */
	cuts = xrealloc(NULL, (2 * nrec + 2) * sizeof(*cuts));
	size_t first_cut = 0; /* no crash state before the baseline of an existing tree */

	for (size_t i = 0; i < nrec; i++)
		if (recs[i].h->type == PL_SYNCALL && (recs[i].h->flags & PL_F_BASELINE))
			first_cut = i + 1;
	for (size_t i = first_cut; i < nrec; i++) {
		if (!is_barrier(&recs[i]))
			continue;
		nb++;
		cuts[ncuts++] = i;
		size_t j = i + 1;

		while (j < nrec && is_mark(&recs[j]))
			j++;
		cuts[ncuts++] = j;
	}
	for (size_t i = 0, n = nb / 4 + 8; i < n; i++)
		cuts[ncuts++] = first_cut + (size_t)(rnd() % (nrec - first_cut));
	cuts[ncuts++] = nrec;
	qsort(cuts, ncuts, sizeof(*cuts), size_cmp);
	size_t u = 0;

	for (size_t i = 0; i < ncuts; i++)
		if (!u || cuts[u - 1] != cuts[i])
			cuts[u++] = cuts[i];
	ncuts = u;
	size_t want = max_states / (FIXED_VARIANTS + random_variants);

	if (ncuts > want) {
		/* a seeded sample of the cuts, kept in order; the final cut always */
		for (size_t i = 0; i + 1 < ncuts; i++) {
			size_t j = i + (size_t)(rnd() % (ncuts - 1 - i));
			size_t t = cuts[i];

			cuts[i] = cuts[j];
			cuts[j] = t;
		}
		cuts[want - 1] = cuts[ncuts - 1];
		ncuts = want;
		qsort(cuts, ncuts, sizeof(*cuts), size_cmp);
	}
	printf("pl_check: %s, %zu trace records, %llu operations, %zu keys, %zu barriers, "
	       "%zu cut points\n",
	       kind_file ? "file protocol" : kind_lmdb ? "LMDB" : pol == POL_ALWAYS ? "sync=always" :
	       pol == POL_EVERYSEC ? "sync=everysec" : "sync=none",
	       nrec, (unsigned long long)nops, nkeys, nb, ncuts);

	size_t ci = 0;

	for (size_t i = 0; i <= nrec && ci < ncuts; i++) {
		while (ci < ncuts && cuts[ci] == i) {
			uint64_t lo, t = i ? recs[i - 1].h->t : 0;
			char where[160];

			if (pol == POL_ALWAYS || kind_file || kind_lmdb) {
				lo = last_ack;
			} else if (pol == POL_EVERYSEC) {
				lo = last_ack;
				while (lo > 0 && ack_t[lo] + bound_ns > t)
					lo--;
			} else {
				lo = 0;
			}
			if (lo < floor_sync)
				lo = floor_sync;
			if (i == nrec)
				snprintf(where, sizeof(where), "end of the trace");
			else if (is_barrier(&recs[i]))
				snprintf(where, sizeof(where), "before %s%.*s",
					 recs[i].h->type == PL_FSYNC ? "a flush of "
					 : recs[i].h->type == PL_SYNCALL ? "a sync"
									 : "a synced write to ",
					 (int)recs[i].h->a, recs[i].a);
			else
				snprintf(where, sizeof(where), "during op %llu",
					 (unsigned long long)last_begin);
			for (unsigned long v = 0; v < FIXED_VARIANTS + random_variants; v++)
				one_state(i, (int)v, lo, last_begin, where);
			ci++;
		}
		if (i == nrec)
			break;
		step(i);
		if (recs[i].h->type == PL_BEGIN)
			last_begin = recs[i].h->x;
		else if (recs[i].h->type == PL_ACK && !recs[i].h->a)
			last_ack = recs[i].h->x;
		else if (recs[i].h->type == PL_ACK)
			floor_sync = recs[i].h->x;
	}
	printf("pl_check: %lu crash states, %lu failed; states with: engine crash %lu, open "
	       "failure %lu, read error %lu, bytes never written %lu, acknowledged write lost "
	       "%lu, not a prefix or from the future %lu\n",
	       states, failures, fail_crash, fail_open, fail_read, fail_never, fail_lost,
	       fail_prefix);
	return failures ? 1 : 0;
}
