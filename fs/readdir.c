// SPDX-License-Identifier: MIT
/*
 * readdir.c - directory listing: OPENDIR, READDIR, RELEASEDIR, with a prefetch window over the
 * engine's scan.
 *
 * Directory offsets. An offset is the ordinal of an entry in the walk (1 = ".", 2 = "..").
 * The handle keeps the engine cursor after each entry of the last reply, which covers every
 * offset the kernel continues from; any other offset (seekdir far back) is served by walking
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

/* ---------------------------------------------------------------------------------------- */
/* readdir                                                                                  */

/* the cursors after each entry of the last reply, in one buffer of the handle (@at: offset
 * of the cursor's bytes there), so a reply allocates nothing per entry */
struct win_ent {
	uint64_t off;
	size_t at;
	uint32_t skip;
};

/* copy the used part of a cursor (a struct hkv_cursor is HKV_CURSOR_MAX bytes; most of it
 * is unused), once per directory entry and more */
static inline void cur_copy(struct hkv_cursor *dst, const struct hkv_cursor *src)
{
	memcpy(dst, src, offsetof(struct hkv_cursor, pos) + src->len);
}

/*
 * struct prefetch - entries of a key-prefix directory taken from one hkvfs_be_scan() call and
 * handed out one by one. @at is the engine cursor of the next entry (the position before it),
 * so the batch is used only while the directory's cursor is still there; any other cursor
 * (a seek) refetches from that cursor. An entry put back because the reply was full is put
 * back into its batch too (@gen tells that the batch it came from is still the one held), so
 * the next READDIR goes on from the batch. hkvfs_be_cursor_after() gives the cursor after
 * each entry, exactly as the engine would. A batch is as large as the replies of a kernel
 * that asks for one page's worth of entries (about 128 short names), or a quarter of those of
 * one that follows the size of the caller's buffer (32 KiB for glibc's readdir).
 *
 * A backend may not know the cursor after an entry (hkvfs_be_cursor_after() fails, e.g. with
 * -EOPNOTSUPP). A position is then the pair (cursor of the batch, entries of the batch already
 * listed: @skip), and resuming from it fetches the batch from that cursor again and skips as
 * many entries. @askip is the skip that goes with @at; @i is the batch's next entry.
 */
#define PF_MAX 256

struct pf_ent {
	size_t off, klen;
	enum hkv_type type;
	bool is_prefix;
};

/*
 * Deep subdirectories. Keys sharing their first HKV_ORDER_PREFIX bytes are ordered by a hash,
 * so the engine reports a rolled-up prefix longer than that once per key below it. The
 * directory handle remembers each such prefix with the offset it was listed at, and skips it
 * when it comes again later in the walk (a walk that restarts before that offset lists it
 * again, at the same place).
 */
struct deep_ent {
	uint64_t hash, off;
	size_t len;
	unsigned char *key;
};

struct prefetch {
	struct hkv_cursor at;
	struct hkv_cursor end;
	bool valid;
	unsigned n, i;
	uint32_t askip;
	uint64_t gen; /* batches fetched so far */
	struct pf_ent e[PF_MAX];
	unsigned char *buf;
	size_t len, cap;
	struct deep_ent *deep;
	size_t ndeep, capdeep;
};

static uint64_t deep_hash(const unsigned char *k, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ k[i]) * 0x100000001b3ULL;
	return h;
}

static struct deep_ent *deep_find(struct prefetch *pf, const unsigned char *k, size_t len)
{
	uint64_t h = deep_hash(k, len);
	size_t i;

	for (i = 0; i < pf->ndeep; i++)
		if (pf->deep[i].hash == h && pf->deep[i].len == len &&
		    !memcmp(pf->deep[i].key, k, len))
			return &pf->deep[i];
	return NULL;
}

/* was deep prefix @k listed before offset @off? */
static bool deep_seen(struct prefetch *pf, const unsigned char *k, size_t len, uint64_t off)
{
	struct deep_ent *e = deep_find(pf, k, len);

	return e && e->off < off;
}

/* deep prefix @k is listed at offset @off */
static int deep_add(struct prefetch *pf, const unsigned char *k, size_t len, uint64_t off)
{
	struct deep_ent *e = deep_find(pf, k, len);

	if (e) {
		e->off = off;
		return 0;
	}
	if (pf->ndeep == pf->capdeep) {
		size_t cap = pf->capdeep ? pf->capdeep * 2 : 8;
		struct deep_ent *n = realloc(pf->deep, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pf->deep = n;
		pf->capdeep = cap;
	}
	e = &pf->deep[pf->ndeep];
	e->key = malloc(len);
	if (!e->key)
		return -ENOMEM;
	memcpy(e->key, k, len);
	e->len = len;
	e->hash = deep_hash(k, len);
	e->off = off;
	pf->ndeep++;
	return 0;
}

static void deep_clear(struct prefetch *pf)
{
	size_t i;

	for (i = 0; i < pf->ndeep; i++)
		free(pf->deep[i].key);
	pf->ndeep = 0;
}

/**
 * struct hkvfs_dh - an open directory. @lock protects all fields below it.
 * @ref:   its references (htab.c): the table's from OPENDIR to RELEASEDIR, and one per
 *         READDIR from its start to after its reply. RELEASEDIR can be served while a
 *         READDIR on the same handle still is (another worker thread): it only takes the
 *         handle out of the table and drops the table's reference; the last one frees.
 * @cur:   engine cursor after the entry at offset @off (or the start).
 * @skip:  with @cur, entries of @cur's batch already listed (struct prefetch); usually 0.
 * @win:   cursors after each entry of the last reply, so any offset the kernel resumes from
 *         is found without walking again.
 */
struct hkvfs_dh {
	struct hkvfs_href ref; /* first */
	pthread_mutex_t lock;
	struct hkv_cursor cur;
	uint32_t skip;
	uint64_t off;
	struct win_ent *win;
	size_t nwin, capwin;
	unsigned char *winbuf; /* the window's cursors (struct win_ent.at) */
	size_t winlen, wincap;
	struct hkvfs_ident *id; /* the directory's identity, per READDIR */
	struct dent *d;
	struct prefetch pf;
};

static void dh_reset(struct hkvfs_dh *dh)
{
	hkvfs_be_cursor_init(&dh->cur);
	dh->skip = 0;
	dh->off = 0;
	dh->pf.valid = false;
}

/* the last reference is gone (struct hkvfs_href.free) */
static void dh_free(struct hkvfs_href *h)
{
	struct hkvfs_dh *dh = (struct hkvfs_dh *)h;

	free(dh->win);
	free(dh->winbuf);
	free(dh->id);
	free(dh->d);
	free(dh->pf.buf);
	deep_clear(&dh->pf);
	free(dh->pf.deep);
	pthread_mutex_destroy(&dh->lock);
	free(dh);
}

void hkvfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hkvfs_dh *dh = calloc(1, sizeof(*dh));
	uint64_t num;

	(void)ino;
	if (!dh) {
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	atomic_init(&dh->ref.refs, 1);
	dh->ref.free = dh_free;
	pthread_mutex_init(&dh->lock, NULL);
	dh_reset(dh);
	if (hkvfs_htab_add(&dh->ref, &num)) {
		hkvfs_href_put(&dh->ref);
		hkvfs_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = num;
	if (fuse_reply_open(req, fi) == -ENOENT)
		/* the opener is gone: no RELEASEDIR will come for this handle */
		hkvfs_href_put(hkvfs_htab_remove(num));
}

static void win_clear(struct hkvfs_dh *dh)
{
	dh->nwin = 0;
	dh->winlen = 0;
}

void hkvfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* the table's reference; a READDIR still running holds its own (struct hkvfs_dh) */
	struct hkvfs_href *h = hkvfs_htab_remove(fi->fh);

	(void)ino;
	if (!h)
		HLOG_WARN("release of directory handle %#" PRIx64 ", which is not open (EBADF)",
			  (uint64_t)fi->fh);
	hkvfs_href_put(h);
	hkvfs_reply_err(req, h ? 0 : EBADF);
}

/* one directory entry produced by next_entry() */
struct dent {
	char name[HKV_NAME_MAX + 1];
	mode_t mode;
	bool have;
	bool deep; /* a prefix longer than HKV_ORDER_PREFIX (raw_key, raw_len): see deep_ent */
	/* what the scan callback saw; filtered after the scan returns (no engine calls there) */
	const struct hkvfs_ident *dir;
	bool raw, raw_prefix;
	enum hkv_type raw_type;
	size_t raw_len;
	unsigned char raw_key[HKV_KEY_MAX + 1];
};

/* grow *@buf (capacity *@cap, doubled from 16 KiB) to hold at least @need bytes */
static int buf_reserve(unsigned char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 16384;
	unsigned char *b;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	b = realloc(*buf, c);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = c;
	return 0;
}

static int pf_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool is_prefix)
{
	struct prefetch *pf = arg;

	if (buf_reserve(&pf->buf, &pf->cap, pf->len + klen))
		return pf->n ? HKV_SCAN_AGAIN : -ENOMEM;
	memcpy(pf->buf + pf->len, key, klen);
	pf->e[pf->n].off = pf->len;
	pf->e[pf->n].klen = klen;
	pf->e[pf->n].type = type;
	pf->e[pf->n].is_prefix = is_prefix;
	pf->len += klen;
	pf->n++;
	/* a prefix with no position of its own (hkv_cursor_after) ends the batch */
	if (is_prefix && klen > HKV_ORDER_PREFIX)
		return 1;
	return pf->n == PF_MAX;
}

static bool cursor_eq(const struct hkv_cursor *a, const struct hkv_cursor *b)
{
	return a->done == b->done && a->len == b->len && !memcmp(a->pos, b->pos, a->len);
}

/*
 * The next raw entry of a prefix directory at (@cur, @skip) into @d; (@cur, @skip) then points
 * after it.
 */
static int pf_next(struct hkvfs *fs, const struct hkvfs_ident *dir, struct prefetch *pf,
		   struct hkv_cursor *cur, uint32_t *skip, struct dent *d)
{
	struct hkv_scan_opts so = {
		.count = PF_MAX, .prefix = dir->key, .prefix_len = dir->klen,
		.has_delim = true, .delim = fs->opts.delim,
	};
	const struct pf_ent *e;
	int rc;

	if (!pf->valid || !cursor_eq(&pf->at, cur) || pf->askip != *skip) {
		pf->valid = false;
		pf->n = pf->i = 0;
		pf->len = 0;
		cur_copy(&pf->end, cur);
		pf->gen++;
		rc = hkvfs_be_scan(fs->be, &pf->end, &so, pf_cb, pf);
		if (rc < 0)
			return rc;
		cur_copy(&pf->at, cur);
		/* a batch that shrank since (keys deleted) ends where it ends now */
		pf->i = *skip < pf->n ? *skip : pf->n;
		pf->askip = *skip;
		pf->valid = true;
	}
	if (pf->i == pf->n) {
		/* nothing (more) reported in this stretch (expired keys): go on from its end */
		cur_copy(cur, &pf->end);
		*skip = 0;
		pf->valid = false;
		return 0;
	}
	e = &pf->e[pf->i++];
	if (pf->i == pf->n) {
		cur_copy(cur, &pf->end);
		*skip = 0;
		pf->valid = false; /* the next call fetches from the end */
	} else if (hkvfs_be_cursor_after(fs->be, cur, pf->buf + e->off, e->klen, e->is_prefix)) {
		(*skip)++; /* no position of its own: the batch's cursor and one more skipped */
	} else {
		*skip = 0;
	}
	cur_copy(&pf->at, cur);
	pf->askip = *skip;
	memcpy(d->raw_key, pf->buf + e->off, e->klen);
	d->raw_len = e->klen;
	d->raw_type = e->type;
	d->raw_prefix = e->is_prefix;
	d->raw = true;
	return 1;
}

/* turn the raw scan entry into a directory entry, or skip it */
static void dent_prefix_filter(struct hkvfs *fs, struct dent *d)
{
	const struct hkvfs_ident *dir = d->dir;
	const unsigned char *c = d->raw_key + dir->klen;
	size_t clen = d->raw_len - dir->klen;
	int n;

	d->raw = false;
	if (d->raw_prefix) {
		clen--; /* drop the delimiter */
		/* a key of the same name hides the prefix */
		if (hkvfs_be_exists(fs->be, d->raw_key, d->raw_len - 1) > 0)
			return;
	} else if (hkvfs_is_marker(c, clen)) {
		return;
	}
	if (clen == 0)
		return;
	n = hkv_pathmap_encode(c, clen, fs->opts.delim, d->name);
	if (n < 0) {
		HLOG_WARN("a key component of %zu bytes has no file name (ENAMETOOLONG)", clen);
		return;
	}
	d->mode = (d->raw_prefix || d->raw_type != HKV_TYPE_STRING) ? S_IFDIR : S_IFREG;
	d->have = true;
}

static int dent_elem_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct dent *d = arg;

	(void)b;
	(void)blen;
	if (hkv_pathmap_encode(a, alen, -1, d->name) < 0) {
		HLOG_WARN("an element of %zu bytes has no file name (ENAMETOOLONG)", alen);
		return 1;
	}
	d->mode = S_IFREG;
	d->have = true;
	return 1;
}

static int dent_z_cb(void *arg, const void *member, size_t mlen, double score)
{
	(void)score;
	return dent_elem_cb(arg, member, mlen, NULL, 0);
}

/* The file name "MS-SEQ" of a stream entry record key ('E' + ms + seq, big-endian). */
static int stream_id_format(const unsigned char *rk, size_t rklen, char *out, size_t sz)
{
	uint64_t ms = 0, seq = 0;

	if (rklen != 17 || rk[0] != HKV_XREC_ENTRY)
		return -EIO;
	for (int i = 0; i < 8; i++) {
		ms = ms << 8 | rk[1 + i];
		seq = seq << 8 | rk[9 + i];
	}
	return snprintf(out, sz, "%" PRIu64 "-%" PRIu64, ms, seq);
}

struct first_rec {
	unsigned char rk[HKV_XREC_KEY_MAX];
	size_t rklen;
	bool found;
};

static int first_rec_cb(void *arg, const void *rk, size_t rklen, const void *val, size_t vlen)
{
	struct first_rec *f = arg;

	(void)val;
	(void)vlen;
	memcpy(f->rk, rk, rklen);
	f->rklen = rklen;
	f->found = true;
	return 1;
}

/* The stream entry after the one @cur names (or the first); 1 and @d, 0 at the end, -errno. */
static int next_stream_entry(struct hkvfs_be *be, const struct hkvfs_ident *dir,
			     struct hkv_cursor *cur, struct dent *d)
{
	unsigned char lo[18], hi[17];
	struct first_rec f = { .found = false };
	size_t lolen = 1;
	int rc;

	lo[0] = HKV_XREC_ENTRY;
	if (cur->len == 17) {
		/* the smallest record key above the last one reported: it with a 0 byte after */
		memcpy(lo, cur->pos, 17);
		lo[17] = 0;
		lolen = 18;
	} else if (cur->len) {
		return -EINVAL;
	}
	hi[0] = HKV_XREC_ENTRY;
	memset(hi + 1, 0xff, 16);
	rc = hkvfs_be_xrec_range(be, dir->key, dir->klen, lo, lolen, hi, sizeof(hi), first_rec_cb,
				 &f);
	if (rc == -ENOENT)
		rc = 0;
	if (rc < 0)
		return rc;
	if (!f.found) {
		cur->done = true;
		return 0;
	}
	rc = stream_id_format(f.rk, f.rklen, d->name, sizeof(d->name));
	if (rc < 0)
		return rc;
	memcpy(cur->pos, f.rk, 17);
	cur->len = 17;
	d->mode = S_IFREG;
	d->have = true;
	return 1;
}

/*
 * next_entry() - advance @cur past the next entry of directory @dir.
 * Return: 1 and @d filled; 0 at the end; -errno.
 */
static int next_entry(struct hkvfs *fs, const struct hkvfs_ident *dir, int type,
		      struct hkv_cursor *cur, uint32_t *skip, struct dent *d, struct prefetch *pf,
		      uint64_t off)
{
	struct hkvfs_be *be = fs->be;
	uint64_t rank;
	int rc;

	d->have = false;
	d->deep = false;
	d->dir = dir;
	while (!d->have) {
		if (cur->done)
			return 0;
		if (dir->kind == HKVFS_ROOT || dir->kind == HKVFS_PREFIX) {
			d->raw = false;
			rc = pf_next(fs, dir, pf, cur, skip, d);
			if (rc > 0)
				dent_prefix_filter(fs, d);
			d->deep = d->have && d->raw_prefix && d->raw_len > HKV_ORDER_PREFIX;
			if (d->deep && deep_seen(pf, d->raw_key, d->raw_len, off))
				d->have = false;
		} else if (dir->kind == HKVFS_CTLDIR) {
			static const char *const names[] = { "stats", "config", "hot" };

			rank = cur->len ? cur->pos[0] : 0;
			if (rank >= 3) {
				cur->done = true;
				return 0;
			}
			strcpy(d->name, names[rank]);
			d->mode = S_IFREG;
			cur->pos[0] = (unsigned char)(rank + 1);
			cur->len = 1;
			return 1;
		} else if (type == HKV_TYPE_HASH) {
			rc = hkvfs_be_hscan(be, dir->key, dir->klen, cur, NULL, 32, dent_elem_cb,
					    d);
		} else if (type == HKV_TYPE_SET) {
			rc = hkvfs_be_sscan(be, dir->key, dir->klen, cur, NULL, 32, dent_elem_cb,
					    d);
		} else if (type == HKV_TYPE_ZSET) {
			/* score order from the engine's position cursor: one seek per entry */
			rc = hkvfs_be_zwalk(be, dir->key, dir->klen, cur, 1, dent_z_cb, d);
		} else if (type == HKV_TYPE_LIST) {
			/* by index: the cursor holds the next index */
			memcpy(&rank, cur->pos, sizeof(rank));
			if (cur->len == 0)
				rank = 0;
			rc = (int64_t)rank < hkvfs_be_llen(be, dir->key, dir->klen);
			if (rc) {
				snprintf(d->name, sizeof(d->name), "%" PRIu64, rank);
				d->mode = S_IFREG;
				d->have = true;
			}
			if (rc < 0)
				return rc;
			if (!d->have) {
				cur->done = true;
				return 0;
			}
			rank++;
			memcpy(cur->pos, &rank, sizeof(rank));
			cur->len = sizeof(rank);
			return 1;
		} else if (type == HKV_TYPE_STREAM) {
			/* entries in ID order: the cursor holds the record key of the last one */
			return next_stream_entry(be, dir, cur, d);
		} else {
			return -ENOTDIR;
		}
		if (rc < 0)
			return rc;
	}
	return 1;
}

static int win_push(struct hkvfs_dh *dh, uint64_t off, const struct hkv_cursor *cur,
		    uint32_t skip)
{
	/* aligned, so a stored cursor can be read in place */
	size_t sz = (offsetof(struct hkv_cursor, pos) + cur->len + 7) & ~(size_t)7;

	if (dh->nwin == dh->capwin) {
		size_t cap = dh->capwin ? dh->capwin * 2 : 64;
		struct win_ent *w = realloc(dh->win, cap * sizeof(*w));

		if (!w)
			return -ENOMEM;
		dh->win = w;
		dh->capwin = cap;
	}
	if (buf_reserve(&dh->winbuf, &dh->wincap, dh->winlen + sz))
		return -ENOMEM;
	memcpy(dh->winbuf + dh->winlen, cur, offsetof(struct hkv_cursor, pos) + cur->len);
	dh->win[dh->nwin].off = off;
	dh->win[dh->nwin].at = dh->winlen;
	dh->win[dh->nwin].skip = skip;
	dh->winlen += sz;
	dh->nwin++;
	return 0;
}

/*
 * Put the directory's position back to the last one in the window (dh->lock held), and the
 * entry taken since into the prefetched batch it came from, if that batch (number @gen, from
 * which the entry was entry @i) is still the one held.
 */
static void win_back(struct hkvfs_dh *dh, bool from_batch, uint64_t gen, unsigned i)
{
	const struct win_ent *w = &dh->win[dh->nwin - 1];
	struct prefetch *pf = &dh->pf;

	cur_copy(&dh->cur, (const struct hkv_cursor *)(dh->winbuf + w->at));
	dh->skip = w->skip;
	if (from_batch && pf->gen == gen && i < pf->n) {
		pf->i = i;
		cur_copy(&pf->at, &dh->cur);
		pf->askip = dh->skip;
		pf->valid = true;
	}
}

void hkvfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct hkvfs *fs = fuse_req_userdata(req);
	struct hkvfs_dh *dh = (struct hkvfs_dh *)hkvfs_htab_get(fi->fh);
	struct hkvfs_ident *id;
	struct dent *d;
	struct stat st;
	char *buf;
	uint64_t ndots, o;
	size_t pos = 0, i;
	int type = 0, rc = 0;

	CNT(readdirs);
	if (!dh) {
		HLOG_WARN("readdir on directory handle %#" PRIx64 ", which is not open (EBADF)",
			  (uint64_t)fi->fh);
		hkvfs_reply_err(req, EBADF);
		return;
	}
	/*
	 * The identity and the entry live in the handle and are used under @dh->lock only; this
	 * request's reference (taken above, dropped after the reply) keeps the handle alive
	 * through a RELEASEDIR served meanwhile. The reply buffer is the request's own.
	 */
	buf = malloc(size);
	pthread_mutex_lock(&dh->lock);
	if (!dh->id)
		dh->id = malloc(sizeof(*dh->id));
	if (!dh->d)
		dh->d = malloc(sizeof(*dh->d));
	id = dh->id;
	d = dh->d;
	if (!id || !d || !buf) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	hkvfs_itab_snapshot(hkvfs_ino(ino), id);
	if (id->kind == HKVFS_KEY) {
		type = hkvfs_key_type(fs, id);
		if (type < 0) {
			rc = type;
			goto out_unlock;
		}
	}
	ndots = id->kind == HKVFS_ROOT ? 3 : 2;
	/* find the cursor for @off */
	if ((uint64_t)off != dh->off) {
		for (i = 0; i < dh->nwin; i++)
			if (dh->win[i].off == (uint64_t)off)
				break;
		if (i < dh->nwin) {
			cur_copy(&dh->cur, (const struct hkv_cursor *)(dh->winbuf + dh->win[i].at));
			dh->skip = dh->win[i].skip;
			dh->off = (uint64_t)off;
		} else {
			/* an offset we no longer hold: walk again from the start */
			dh_reset(dh);
			while (dh->off < (uint64_t)off) {
				if (dh->off >= ndots) {
					rc = next_entry(fs, id, type, &dh->cur, &dh->skip, d,
							&dh->pf, dh->off + 1);
					if (rc <= 0)
						break;
					if (d->deep)
						rc = deep_add(&dh->pf, d->raw_key, d->raw_len,
							      dh->off + 1);
					if (rc < 0)
						break;
				}
				dh->off++;
			}
			rc = rc < 0 ? rc : 0;
		}
	}
	/*
	 * The window: the position after each entry of this reply, and first the one it starts
	 * from, which is also where an entry that does not fit puts the cursor back (the last
	 * position pushed is the one before that entry).
	 */
	win_clear(dh);
	if (rc >= 0 && win_push(dh, dh->off, &dh->cur, dh->skip))
		rc = -ENOMEM;
	/* fuse_add_direntry() reads st_ino and st_mode only */
	memset(&st, 0, sizeof(st));
	while (rc >= 0) {
		/* the batch and its entry next_entry() starts from, and whether it uses one */
		uint64_t pf_gen = dh->pf.gen;
		unsigned pf_i = dh->pf.i;
		bool batch = false;
		const char *name;
		size_t n;

		o = dh->off + 1;
		if (dh->off < ndots) {
			name = dh->off == 0 ? "." : dh->off == 1 ? ".." : HKV_CTL_DIR;
			st.st_mode = S_IFDIR;
		} else {
			batch = (id->kind == HKVFS_ROOT || id->kind == HKVFS_PREFIX) &&
				dh->pf.valid;
			rc = next_entry(fs, id, type, &dh->cur, &dh->skip, d, &dh->pf, o);
			if (rc <= 0)
				break;
			name = d->name;
			st.st_mode = d->mode;
		}
		st.st_ino = o + 1;
		n = fuse_add_direntry(req, buf + pos, size - pos, name, &st, (off_t)o);
		if (n > size - pos) {
			/* did not fit: the next call starts with it again */
			win_back(dh, batch, pf_gen, pf_i);
			break;
		}
		if (dh->off >= ndots && d->deep &&
		    deep_add(&dh->pf, d->raw_key, d->raw_len, o)) {
			win_back(dh, batch, pf_gen, pf_i);
			rc = -ENOMEM;
			break;
		}
		pos += n;
		dh->off = o;
		CNT(dirents);
		if (win_push(dh, o, &dh->cur, dh->skip)) {
			rc = -ENOMEM;
			break;
		}
	}
out_unlock:
	pthread_mutex_unlock(&dh->lock);
	if (rc < 0)
		hkvfs_reply_err(req, rc);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
	hkvfs_href_put(&dh->ref);
}
