// SPDX-License-Identifier: MIT
/*
 * vlog.c - the value log: a Bitcask-style, append-only store of large string values, and
 * its compaction.
 *
 * Values longer than opt.inline_max are appended as records to segment files
 * DIR/vlog/NNNNNNNN.seg (NNNNNNNN = segment id, 8 lowercase hex digits; ids are never
 * reused). The key record in LMDB holds a struct vlog_ref (segment, offset, record length,
 * value length). One segment at a time is active: appends go to its end, serialised by
 * append_lock so a record torn by a crash can only be the last one of a segment. Once the
 * active segment would pass opt.segment_size it is sealed (it simply stops being the active
 * one; every other segment is sealed) and a new one is created. Nothing in a segment refers to
 * its position, so records can be copied byte for byte.
 *
 * Segment record (little-endian):
 *
 *   off        size  field
 *   ---------  ----  ------------------------------------------------------------
 *   0             4  magic VLOG_REC_MAGIC ("HKVR")
 *   4             4  crc32 (zlib) of every byte from offset 8 to the end of the record
 *   8             1  flags: VLOG_REC_ZLIB = body is a zlib stream of the value
 *   9             3  reserved, 0
 *   12            4  klen: length of the key, 1..HKV_KEY_MAX
 *   16            4  vlen: length of the value, 0..HKV_VALUE_MAX
 *   20            4  slen: length of the stored body (vlen unless compressed)
 *   24         klen  the user key (Bitcask style: compaction checks liveness through it)
 *   24+klen    slen  body
 *
 * A record is compressed (at opt.compress_level) only if opt.compress is set and that saves
 * at least 1/8 of the value. vlog_read() never returns bytes of a record whose CRC, header or
 * length does not check out: -HKV_ECORRUPT, counted in crc_errors and logged.
 *
 * The LMDB table "segs" (db->dbi_segs) keeps each segment's accounting; it is only changed in
 * write transactions, so it is always consistent with the key records that refer to segments.
 * Key: segment id, 4 bytes big-endian. Value, little-endian:
 *
 *   off  size  field
 *   ---  ----  ------------------------------------------------------------------
 *   0       8  live: total length of the records referred to by key records
 *   8       8  records: how many records are referred to
 *   16      8  end: committed end, the highest offset + length of any record ever
 *              made live; bytes past it were never referred to by a commit
 *   24      4  flags: VLOG_SEG_DROPPED = tombstone, compaction removed the segment
 *   28      4  reserved, 0
 *
 * A segment without an entry has never had a committed reference. vlog_ref_live() adds a
 * record (and creates the entry) in the writer's transaction, vlog_ref_dead() subtracts it;
 * dead bytes of a segment are its size minus live.
 *
 * Opening (vlog_open): tombstoned segments are unlinked and their entries deleted; sealed
 * segments with no live bytes and segment files without an entry (never committed) are
 * unlinked; every remaining segment is truncated to its committed end, which removes a tail
 * torn by a crash as well as records appended by writes that never committed. The newest
 * segment stays active if it has room. Nothing is scanned, so open time does not depend on
 * the amount of data.
 *
 * Readers (vlog_read) find the segment in an id-sorted array under map_lock (read side, held
 * only for the lookup), take a reference and pread() the record without any lock, so reads
 * never wait for appends or compaction. A segment removed by compaction leaves the array; its
 * descriptor and file live on until the last reference is put, which closes it and unlinks
 * the file. A reader that arrives after the removal gets -EAGAIN and looks the key up again
 * (the key record then points at the copy).
 *
 * Compaction (vlog_compact) of a sealed segment S, one segment at a time:
 *
 *  1. Walk S's records; a record is live if the key record named by its key still holds
 *     exactly its ref. Live records (CRC checked) are appended, unchanged, to the active
 *     segment.
 *  2. fdatasync the copies (and the directory if a segment was created).
 *  3. In one hkv_write(): for every copied record whose key still points at the old ref
 *     (compare-and-swap: the key may have been overwritten, deleted or compacted meanwhile),
 *     point it at the copy and move the accounting; copies that lost the race are dead bytes
 *     of the active segment. If S has no live bytes left, S's entry becomes a tombstone in the
 *     same transaction. (Long segments are done in batches; each batch is steps 1-3, the
 *     tombstone comes with the last.)
 *  4. The re-pointing is a group like any other (a group record in the log, versions in the
 *     memtable); S leaves the in-memory table when the checkpoint that carries its tombstone
 *     has committed (ckpt.c); its file is unlinked when no reader uses it any more.
 *
 *  If S still has live bytes after step 3, some key refers to it without being named in its
 *  records (a renamed key) or a write that appended to S before it was sealed committed after
 *  the walk; the index is then searched for refs into S and steps 1-3 run again for those.
 *  A record appended by vlog_append() is "pending" until vlog_ref_live() sees it; a segment
 *  with a pending record (younger than PENDING_GRACE_MS: older ones are taken as abandoned,
 *  e.g. by a SET NX that did not apply) is not tombstoned in that run. As a last line of
 *  defence a writer whose record is in a segment tombstoned anyway gets -EAGAIN from
 *  vlog_ref_live() and nothing of its write is committed.
 *
 * Why a crash at any point loses nothing:
 *  - before the commit of step 3, the copies are bytes no committed key refers to (past the
 *    committed end, or dead), and S is untouched and still referred to;
 *  - the copies are durable before the commit that refers to them (step 2 before 3), so a
 *    commit never points at bytes a power loss could take away;
 *  - the commit is atomic (LMDB): every key points either at S or at its copy, and the
 *    accounting moves with it; S's tombstone is in the same transaction as the last re-point;
 *  - the checkpoint carrying the tombstone is durable before S is unlinked (step 4), so an
 *    unlink can never outlive the index state that made S unreferenced; a crash after that
 *    checkpoint but before the unlink leaves a tombstone (or a sealed segment with no live
 *    bytes) that the next open deletes.
 *  Between batches of one segment both S and the active segment are referred to, which is a
 *  consistent state too; the next compaction finds the moved records dead in S.
 *
 * Lock order: compact_lock, sync_lock, append_lock, map_lock. hkv_write() is never called with
 * any of them held except compact_lock; the group-commit leader calls vlog_sync() and, from
 * write functions, vlog_append(), which take sync_lock/append_lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "mem_int.h"
#include "vlog_int.h"

#define SEG_NAME_LEN 12           /* "NNNNNNNN.seg" */
#define READ_CHUNK (256u * 1024)  /* reads of larger records stream through this much */
#define SMALL_READ 16384          /* records up to this size are read into the stack */
#define INFLATE_CHUNK (64u * 1024)
#define COMPRESS_MIN 64           /* shorter values are never worth compressing */
#define BATCH_MOVES 512           /* re-pointed keys per compaction transaction ... */
#define BATCH_BYTES (16u << 20)   /* ... or copied bytes */
#define INDEX_SCAN_STEP 256       /* keys examined per read transaction (index search) */
#define PENDING_GRACE_MS 5000     /* an append not linked by then is taken as abandoned */

void (*vlog_test_hook)(struct hkv *db, enum vlog_stage stage, uint32_t seg);

/**
 * struct seg - one open segment file.
 * @refs:   one for the vlog's table while the segment is in it, one per user; the last put
 *          closes @fd and, if @doomed, unlinks the file.
 * @size:   bytes of complete records; only grows, under append_lock (active segment).
 * @dirty:  appended to since the last vlog_sync(); under append_lock.
 * @skip:   compaction found a damaged record; not compacted again until reopened. Under
 *          compact_lock.
 */
struct seg {
	uint32_t id;
	int fd;
	atomic_uint refs;
	atomic_bool doomed;
	_Atomic uint64_t size;
	bool dirty;
	bool skip;
	uint64_t wal_bytes;  /* bytes of group records, if @wal_known; under append_lock */
	bool wal_known;      /* created in this process, or counted (seg_wal_bytes()) */
};

struct vlog {
	struct hkv *db;
	int dir_fd;

	pthread_rwlock_t map_lock; /* protects segs/nsegs and dropped/ndropped */
	struct seg **segs;         /* sorted by id */
	size_t nsegs, segs_cap;
	uint32_t *dropped;         /* ids removed by compaction since open: reads get -EAGAIN */
	size_t ndropped, dropped_cap;

	pthread_mutex_t append_lock; /* protects active, next_id, dir_dirty, every seg's dirty */
	struct seg *active;          /* NULL until the first append after open or a seal */
	uint32_t next_id;
	bool dir_dirty;              /* a segment was created since the last vlog_sync() */

	pthread_mutex_t sync_lock;    /* one vlog_sync() at a time */
	pthread_mutex_t compact_lock; /* one compaction at a time */

	/* records appended by vlog_append() and not yet seen by vlog_ref_live() */
	pthread_mutex_t pend_lock;
	struct pending *pend;
	size_t npend, pend_cap;
};

/** struct pending - an appended record whose write has not linked it yet. */
struct pending {
	uint32_t seg;
	uint64_t off;
	int64_t at_ms; /* CLOCK_MONOTONIC */
};

/* ---------------------------------------------------------------------------------------
 * Small helpers
 */

void vlog_ref_encode(unsigned char *p, const struct vlog_ref *r)
{
	put_le32(p, r->seg);
	put_le32(p + 4, r->len);
	put_le64(p + 8, r->off);
	put_le64(p + 16, r->vlen);
}

void vlog_ref_decode(const unsigned char *p, struct vlog_ref *r)
{
	r->seg = get_le32(p);
	r->len = get_le32(p + 4);
	r->off = get_le64(p + 8);
	r->vlen = get_le64(p + 16);
}

static bool ref_eq(const struct vlog_ref *a, const struct vlog_ref *b)
{
	return a->seg == b->seg && a->off == b->off && a->len == b->len && a->vlen == b->vlen;
}

static void hook(struct hkv *db, enum vlog_stage stage, uint32_t seg)
{
	if (vlog_test_hook)
		vlog_test_hook(db, stage, seg);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Pending appends: a writer appends its record, then queues its write; compaction must not
 * tombstone a segment in between, or the write fails with -EAGAIN. Without memory for the
 * entry the record is simply not tracked (the tombstone check stays the safety net).
 */
static void pend_add(struct vlog *vl, const struct vlog_ref *ref)
{
	pthread_mutex_lock(&vl->pend_lock);
	if (vl->npend == vl->pend_cap) {
		size_t cap = vl->pend_cap ? vl->pend_cap * 2 : 16;
		struct pending *n = realloc(vl->pend, cap * sizeof(*n));

		if (!n)
			goto out_unlock;
		vl->pend = n;
		vl->pend_cap = cap;
	}
	vl->pend[vl->npend++] = (struct pending){ ref->seg, ref->off, mono_ms() };
out_unlock:
	pthread_mutex_unlock(&vl->pend_lock);
}

static void pend_del(struct vlog *vl, const struct vlog_ref *ref)
{
	pthread_mutex_lock(&vl->pend_lock);
	for (size_t i = 0; i < vl->npend; i++) {
		if (vl->pend[i].seg == ref->seg && vl->pend[i].off == ref->off) {
			vl->pend[i] = vl->pend[--vl->npend];
			break;
		}
	}
	pthread_mutex_unlock(&vl->pend_lock);
}

/* Whether a write may still link a record of segment @id; forgets abandoned appends. */
static bool pend_busy(struct vlog *vl, uint32_t id)
{
	int64_t now = mono_ms();
	bool busy = false;

	pthread_mutex_lock(&vl->pend_lock);
	for (size_t i = 0; i < vl->npend;) {
		if (now - vl->pend[i].at_ms > PENDING_GRACE_MS) {
			vl->pend[i] = vl->pend[--vl->npend];
			continue;
		}
		busy |= vl->pend[i].seg == id;
		i++;
	}
	pthread_mutex_unlock(&vl->pend_lock);
	return busy;
}

static void seg_name(char *out, uint32_t id)
{
	snprintf(out, SEG_NAME_LEN + 1, "%08" PRIx32 ".seg", id);
}

static bool seg_name_parse(const char *name, uint32_t *id)
{
	uint32_t v = 0;

	if (strlen(name) != SEG_NAME_LEN || strcmp(name + 8, ".seg"))
		return false;
	for (int i = 0; i < 8; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			return false;
	}
	*id = v;
	return true;
}

static uint32_t crc_update(uint32_t crc, const void *p, size_t len)
{
	return hkv_crc32(crc, p, len);
}

/* pwrite() all of @len bytes; a short write is retried, a failure is -errno. */
static int write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* pread() all of @len bytes. Return: 0; 1 if the file ends first; -errno. */
static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------
 * The segs table
 */

struct seg_rec {
	uint64_t live;
	uint64_t records;
	uint64_t end;
	uint32_t flags;
};

static void seg_rec_decode(const MDB_val *v, struct seg_rec *r)
{
	const unsigned char *p = v->mv_data;

	memset(r, 0, sizeof(*r));
	if (v->mv_size < VLOG_SEG_REC_SIZE)
		return;
	r->live = get_le64(p);
	r->records = get_le64(p + 8);
	r->end = get_le64(p + 16);
	r->flags = get_le32(p + 24);
}

/* Read the entry of segment @id. Return: 0; -ENOENT (none); -EIO. */
static int seg_rec_get(struct hkv *db, struct kvtx *txn, uint32_t id, struct seg_rec *r)
{
	unsigned char kb[4];
	MDB_val k = { sizeof(kb), kb }, v;
	int rc;

	put_be32(kb, id);
	rc = kv_get(txn, db->dbi_segs, &k, &v);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc)
		return lmdb_err(rc);
	seg_rec_decode(&v, r);
	return 0;
}

static void seg_rec_encode(unsigned char *vb, const struct seg_rec *r)
{
	memset(vb, 0, VLOG_SEG_REC_SIZE);
	put_le64(vb, r->live);
	put_le64(vb + 8, r->records);
	put_le64(vb + 16, r->end);
	put_le32(vb + 24, r->flags);
}

static int seg_rec_put(struct hkv *db, struct kvtx *txn, uint32_t id, const struct seg_rec *r)
{
	unsigned char kb[4], vb[VLOG_SEG_REC_SIZE];
	MDB_val k = { sizeof(kb), kb }, v = { sizeof(vb), vb };

	put_be32(kb, id);
	seg_rec_encode(vb, r);
	return lmdb_err(kv_put(txn, db->dbi_segs, &k, &v, 0));
}

/*
 * Take @n records of @bytes in all out of the live accounting @r of segment @seg. Return:
 * false if there is nothing to change (the segment was removed).
 */
static bool seg_rec_sub(struct hkv *db, struct seg_rec *r, uint32_t seg, uint64_t bytes,
			uint64_t n)
{
	if (r->flags & VLOG_SEG_DROPPED) {
		hkv_log(db, 1, "value log: record in removed segment %08" PRIx32 " ignored", seg);
		return false;
	}
	if (r->live < bytes || r->records < n) {
		hkv_log(db, 1, "value log: segment %08" PRIx32 " accounting underflow", seg);
		r->live = r->live < bytes ? 0 : r->live - bytes;
		r->records = r->records < n ? 0 : r->records - n;
	} else {
		r->live -= bytes;
		r->records -= n;
	}
	return true;
}

/*
 * Add (@add true) or remove @ref's record from its segment's live accounting in @txn.
 * Return: 0; -EAGAIN (adding to a tombstoned segment); -ENOSPC, -EIO.
 */
static int seg_account(struct hkv *db, struct kvtx *txn, const struct vlog_ref *ref, bool add)
{
	struct seg_rec r;
	int rc;

	rc = seg_rec_get(db, txn, ref->seg, &r);
	if (rc == -ENOENT) {
		if (!add) {
			hkv_log(db, 1, "value log: segment %08" PRIx32 " has no entry; a dead record "
				"is ignored", ref->seg);
			return 0;
		}
		memset(&r, 0, sizeof(r));
	} else if (rc) {
		return rc;
	}
	if (!add)
		return seg_rec_sub(db, &r, ref->seg, ref->len, 1) ? seg_rec_put(db, txn, ref->seg, &r)
								     : 0;
	if (r.flags & VLOG_SEG_DROPPED)
		return -EAGAIN;
	r.live += ref->len;
	r.records++;
	if (ref->off + ref->len > r.end)
		r.end = ref->off + ref->len;
	return seg_rec_put(db, txn, ref->seg, &r);
}

int vlog_ref_live(struct wtx *w, const struct vlog_ref *ref)
{
	int rc = seg_account(w->db, w->txn, ref, true);

	pend_del(w->db->vlog, ref);
	if (rc == -EAGAIN)
		hkv_log(w->db, 2, "value log: segment %08" PRIx32 " was compacted before the "
			"write committed; the write is retried", ref->seg);
	return rc;
}

int vlog_ref_dead(struct wtx *w, const struct vlog_ref *ref)
{
	return seg_account(w->db, w->txn, ref, false);
}

/*
 * Dead-value notes (keys.c, "Blind SETs"): info records "bdead" + lsn (8 BE), each a run of
 * (segment id u32 LE, record length u32 LE) pairs.
 */
#define BDEAD "bdead"
#define BDEAD_LEN (sizeof(BDEAD) - 1)

int vlog_dead_note(struct hkv *db, MDB_txn *txn, uint64_t lsn, const struct vlog_ref *dead,
		   size_t n)
{
	unsigned char kb[BDEAD_LEN + 8];
	MDB_val k = { sizeof(kb), kb }, v = { n * 8, NULL };
	unsigned char *p;
	int rc;

	memcpy(kb, BDEAD, BDEAD_LEN);
	put_be64(kb + BDEAD_LEN, lsn);
	rc = mdb_put(txn, db->dbi_info, &k, &v, MDB_RESERVE);
	if (rc)
		return lmdb_err(rc);
	p = v.mv_data;
	for (size_t i = 0; i < n; i++) {
		put_le32(p + 8 * i, dead[i].seg);
		put_le32(p + 8 * i + 4, dead[i].len);
	}
	return 0;
}

/* A note's (segment, length) pair, in the order notes are summed: by segment. */
static int dead_cmp(const void *a, const void *b)
{
	uint32_t x = get_le32(a), y = get_le32(b);

	return x < y ? -1 : x > y;
}

/*
 * Subtract the records of note @v from the segments' accounting: summed per segment first,
 * so that a note of many records is one change per segment, not one per record.
 */
static int dead_note_apply(struct wtx *w, const MDB_val *v)
{
	size_t n = v->mv_size / 8;
	unsigned char *p = malloc(v->mv_size ? v->mv_size : 1);
	int rc = 0;

	if (!p)
		return -ENOMEM;
	memcpy(p, v->mv_data, v->mv_size);
	qsort(p, n, 8, dead_cmp);
	for (size_t i = 0; i < n && !rc;) {
		uint32_t seg = get_le32(p + 8 * i);
		uint64_t bytes = 0, cnt = 0;
		struct seg_rec r;

		for (; i < n && get_le32(p + 8 * i) == seg; i++, cnt++)
			bytes += get_le32(p + 8 * i + 4);
		rc = seg_rec_get(w->db, w->txn, seg, &r);
		if (rc == -ENOENT) {
			hkv_log(w->db, 1, "value log: segment %08" PRIx32 " has no entry; %" PRIu64
				" dead records are ignored", seg, cnt);
			rc = 0;
		} else if (!rc && seg_rec_sub(w->db, &r, seg, bytes, cnt)) {
			rc = seg_rec_put(w->db, w->txn, seg, &r);
		}
	}
	free(p);
	return rc;
}

/* The write of vlog_dead_apply(): subtract every note's records, delete the notes. */
static int dead_apply_fn(struct wtx *w, void *arg)
{
	struct hkv *db = w->db;
	unsigned char keys[16][BDEAD_LEN + 8];
	size_t nk = 0;
	struct kvcur *cur;
	MDB_val k = { BDEAD_LEN, (void *)BDEAD }, v;
	int rc, rc2 = 0;

	(void)arg;
	rc = lmdb_err(kv_cursor_open(w->txn, db->dbi_info, &cur));
	if (rc)
		return rc;
	/* at most 16 notes a write; the caller runs it again while some remain */
	for (rc = kv_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && !rc2 && nk < 16;
	     rc = kv_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != BDEAD_LEN + 8 || memcmp(k.mv_data, BDEAD, BDEAD_LEN))
			break;
		if (v.mv_size % 8) {
			hkv_log(db, 0, "value log: malformed dead-value note (%zu bytes)", v.mv_size);
			rc2 = -HKV_ECORRUPT;
			break;
		}
		rc2 = dead_note_apply(w, &v);
		memcpy(keys[nk++], k.mv_data, k.mv_size);
	}
	kv_cursor_close(cur);
	if (rc2)
		return rc2;
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	rc = 0;
	for (size_t i = 0; i < nk && !rc; i++) {
		k.mv_size = BDEAD_LEN + 8;
		k.mv_data = keys[i];
		rc = lmdb_err(kv_del(w->txn, db->dbi_info, &k, NULL));
	}
	return rc ? rc : (int)nk;
}

/* Whether the info table holds a dead-value note. */
static bool dead_noted(struct hkv *db)
{
	MDB_val k = { BDEAD_LEN, (void *)BDEAD }, v;
	struct kvcur *cur;
	struct kvtx *txn;
	bool any = true;

	if (rtx_begin(db, &txn))
		return true;
	if (!kv_cursor_open(txn, db->dbi_info, &cur)) {
		any = !kv_cursor_get(cur, &k, &v, MDB_SET_RANGE) && k.mv_size == BDEAD_LEN + 8 &&
		      !memcmp(k.mv_data, BDEAD, BDEAD_LEN);
		kv_cursor_close(cur);
	}
	rtx_end(db, txn);
	return any;
}

int vlog_dead_apply(struct hkv *db)
{
	int rc, wrote = 0;

	while (dead_noted(db)) {
		rc = hkv_write(db, dead_apply_fn, NULL);
		if (rc <= 0)
			return rc;
		wrote = 1;
	}
	return wrote;
}

/* ---------------------------------------------------------------------------------------
 * The in-memory segment table
 */

static void seg_put(struct vlog *vl, struct seg *s)
{
	char name[SEG_NAME_LEN + 1];

	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (atomic_load(&s->doomed)) {
		seg_name(name, s->id);
		if (unlinkat(vl->dir_fd, name, 0) && errno != ENOENT)
			hkv_log(vl->db, 1, "value log: cannot remove %s: %s", name,
				strerror(errno));
	}
	free(s);
}

/* Index of the first segment with id >= @id. Under map_lock. */
static size_t seg_pos(const struct vlog *vl, uint32_t id)
{
	size_t lo = 0, hi = vl->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (vl->segs[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert @s (its table reference included). Return: 0, -ENOMEM. */
static int seg_insert(struct vlog *vl, struct seg *s)
{
	size_t pos;
	int rc = 0;

	pthread_rwlock_wrlock(&vl->map_lock);
	if (vl->nsegs == vl->segs_cap) {
		size_t cap = vl->segs_cap ? vl->segs_cap * 2 : 16;
		struct seg **n = realloc(vl->segs, cap * sizeof(*n));

		if (!n) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		vl->segs = n;
		vl->segs_cap = cap;
	}
	pos = seg_pos(vl, s->id);
	memmove(vl->segs + pos + 1, vl->segs + pos, (vl->nsegs - pos) * sizeof(*vl->segs));
	vl->segs[pos] = s;
	vl->nsegs++;
out_unlock:
	pthread_rwlock_unlock(&vl->map_lock);
	return rc;
}

/*
 * Look segment @id up and take a reference. Return: the segment; NULL with *@gone set if
 * compaction removed it since open, else NULL (no such segment).
 */
static struct seg *seg_get(struct vlog *vl, uint32_t id, bool *gone)
{
	struct seg *s = NULL;
	size_t pos;

	*gone = false;
	pthread_rwlock_rdlock(&vl->map_lock);
	pos = seg_pos(vl, id);
	if (pos < vl->nsegs && vl->segs[pos]->id == id) {
		s = vl->segs[pos];
		atomic_fetch_add(&s->refs, 1);
	} else {
		for (size_t i = 0; i < vl->ndropped; i++)
			if (vl->dropped[i] == id)
				*gone = true;
	}
	pthread_rwlock_unlock(&vl->map_lock);
	return s;
}

/*
 * Remove @s from the table after compaction and put the table's reference; the file goes with
 * the last reference. If the id cannot be remembered (ENOMEM) the segment stays in the table:
 * nothing refers to it any more and the next open removes it.
 */
static bool seg_remove(struct vlog *vl, struct seg *s)
{
	size_t pos;
	bool removed = false;

	pthread_rwlock_wrlock(&vl->map_lock);
	if (vl->ndropped == vl->dropped_cap) {
		size_t cap = vl->dropped_cap ? vl->dropped_cap * 2 : 16;
		uint32_t *n = realloc(vl->dropped, cap * sizeof(*n));

		if (!n)
			goto out_unlock;
		vl->dropped = n;
		vl->dropped_cap = cap;
	}
	pos = seg_pos(vl, s->id);
	if (pos < vl->nsegs && vl->segs[pos] == s) {
		memmove(vl->segs + pos, vl->segs + pos + 1,
			(vl->nsegs - pos - 1) * sizeof(*vl->segs));
		vl->nsegs--;
		vl->dropped[vl->ndropped++] = s->id;
		removed = true;
	}
out_unlock:
	pthread_rwlock_unlock(&vl->map_lock);
	if (removed) {
		atomic_store(&s->doomed, true);
		seg_put(vl, s);
	}
	return removed;
}

static struct seg *seg_new(uint32_t id, int fd, uint64_t size)
{
	struct seg *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->id = id;
	s->fd = fd;
	atomic_init(&s->refs, 1);
	atomic_init(&s->doomed, false);
	atomic_init(&s->size, size);
	return s;
}

/* ---------------------------------------------------------------------------------------
 * Open: recovery and replay
 */

struct rec_hdr {
	uint32_t crc;
	unsigned flags;
	uint32_t klen, vlen, slen;
};

/* Parse and check a record header. Return: 0, or -HKV_ECORRUPT. */
static int rec_hdr_parse(const unsigned char *p, struct rec_hdr *h)
{
	if (get_le32(p) != VLOG_REC_MAGIC)
		return -HKV_ECORRUPT;
	h->crc = get_le32(p + 4);
	h->flags = p[8];
	h->klen = get_le32(p + 12);
	h->vlen = get_le32(p + 16);
	h->slen = get_le32(p + 20);
	if (h->flags & ~VLOG_REC_ZLIB || p[9] || p[10] || p[11])
		return -HKV_ECORRUPT;
	if (!h->klen || h->klen > HKV_KEY_MAX || h->vlen > HKV_VALUE_MAX)
		return -HKV_ECORRUPT;
	if (!(h->flags & VLOG_REC_ZLIB) && h->slen != h->vlen)
		return -HKV_ECORRUPT;
	return 0;
}

struct open_seg {
	uint32_t id;
	bool file;     /* a file exists */
	bool has_rec;  /* an entry exists */
	struct seg_rec rec;
};

static int open_seg_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct open_seg *)a)->id, y = ((const struct open_seg *)b)->id;

	return x < y ? -1 : x > y;
}

static struct open_seg *open_seg_find(struct open_seg *v, size_t n, uint32_t id)
{
	struct open_seg key = { .id = id };

	if (!n)
		return NULL;
	return bsearch(&key, v, n, sizeof(*v), open_seg_cmp);
}

static int open_seg_add(struct open_seg **v, size_t *n, size_t *cap, uint32_t id)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct open_seg *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[(*n)++].id = id;
	return 0;
}

/* Collect the segment files and the segs entries into one id-sorted list. */
static int open_collect(struct vlog *vl, MDB_txn *txn, struct open_seg **out, size_t *nout)
{
	struct hkv *db = vl->db;
	struct open_seg *v = NULL, *o;
	size_t n = 0, cap = 0, nfiles;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	struct dirent *de;
	DIR *dir;
	uint32_t id;
	int fd, rc = 0, mrc;

	fd = dup(vl->dir_fd);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(dir))) {
		if (!seg_name_parse(de->d_name, &id))
			continue;
		rc = open_seg_add(&v, &n, &cap, id);
		if (rc)
			goto out_closedir;
		v[n - 1].file = true;
	}
	nfiles = n;
	if (n)
		qsort(v, n, sizeof(*v), open_seg_cmp);

	rc = lmdb_err(mdb_cursor_open(txn, db->dbi_segs, &cur));
	if (rc)
		goto out_closedir;
	for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !mrc;
	     mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 4) {
			hkv_log(db, 1, "value log: segs entry with a %zu-byte key ignored",
				k.mv_size);
			continue;
		}
		id = get_be32(k.mv_data);
		o = open_seg_find(v, nfiles, id);
		if (!o) {
			rc = open_seg_add(&v, &n, &cap, id);
			if (rc)
				goto out_cursor;
			o = &v[n - 1];
		}
		o->has_rec = true;
		seg_rec_decode(&d, &o->rec);
	}
	if (mrc != MDB_NOTFOUND)
		rc = lmdb_err(mrc);
	if (n)
		qsort(v, n, sizeof(*v), open_seg_cmp);
out_cursor:
	mdb_cursor_close(cur);
out_closedir:
	closedir(dir);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int seg_entry_del(struct hkv *db, MDB_txn *txn, uint32_t id)
{
	unsigned char kb[4];
	MDB_val k = { sizeof(kb), kb };
	int rc;

	put_be32(kb, id);
	rc = mdb_del(txn, db->dbi_segs, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc);
}

/* Unlink segment file @id (recovery at open). */
static int seg_unlink(struct vlog *vl, uint32_t id)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, id);
	if (unlinkat(vl->dir_fd, name, 0) && errno != ENOENT) {
		hkv_log(vl->db, 0, "value log: cannot remove %s: %s", name, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Before replay, in the raw LMDB transaction @txn of the last checkpoint: a tombstone it
 * committed means compaction removed the segment and only its unlink may be missing.
 */
static int open_drop_committed(struct vlog *vl, MDB_txn *txn, struct open_seg *v, size_t n,
			       bool *changed)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		struct open_seg *o = &v[i];

		if (!o->has_rec || !(o->rec.flags & VLOG_SEG_DROPPED))
			continue;
		if (o->file)
			rc = seg_unlink(vl, o->id);
		if (!rc)
			rc = seg_entry_del(vl->db, txn, o->id);
		o->file = false;
		o->has_rec = false;
		*changed = true;
	}
	return rc;
}

/* Open every segment file that stays into the table. */
static int open_files(struct vlog *vl, const struct open_seg *v, size_t n)
{
	struct hkv *db = vl->db;
	bool ro = db->opt.read_only;
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		const struct open_seg *o = &v[i];
		char name[SEG_NAME_LEN + 1];
		struct stat st;
		struct seg *s;
		int fd;

		if (o->has_rec && o->rec.flags & VLOG_SEG_DROPPED)
			continue; /* read-only: left for a writable open */
		if (!o->file) {
			if (o->has_rec && o->rec.live)
				hkv_log(db, 0, "value log: segment %08" PRIx32 " is missing; its %"
					PRIu64 " values read as corrupt", o->id, o->rec.records);
			continue;
		}
		seg_name(name, o->id);
		fd = openat(vl->dir_fd, name, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			hkv_log(db, 0, "value log: cannot open %s: %s", name, strerror(errno));
			break;
		}
		if (fstat(fd, &st)) {
			rc = -errno;
			close(fd);
			break;
		}
		s = seg_new(o->id, fd, (uint64_t)st.st_size);
		if (!s) {
			close(fd);
			rc = -ENOMEM;
			break;
		}
		rc = seg_insert(vl, s);
		if (rc)
			seg_put(vl, s);
	}
	return rc;
}

#define REPLAY_WINDOW (1u << 20)      /* segments are read this much at a time */
#define REPLAY_STREAM (8u << 20)      /* larger value records are checked in pieces */

/** struct replay - the state of replaying the log into the active memtable. */
struct replay {
	struct vlog *vl;
	struct mem *m;
	unsigned char *buf;           /* a window of the segment being read */
	size_t cap;
	uint64_t wbase, wlen;         /* the window: [wbase, wbase + wlen) of the segment */
	uint32_t wseg;
	uint64_t lsn;                 /* the last group record applied */
	struct vlog_pos last_end;     /* just after it */
	uint64_t seq;
	uint64_t groups, values;      /* records replayed */
};

/* Read up to @len bytes at @off. Return: bytes read (short at the end of the file); -errno. */
static ssize_t read_upto(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Bytes [@off, @off + @need) of segment @s through the window. Return: a pointer; NULL with
 * *@err 0 if the segment ends first; NULL with *@err < 0 on a read or memory error.
 */
static const unsigned char *win_get(struct replay *r, struct seg *s, uint64_t off, size_t need,
				    int *err)
{
	size_t want = need > REPLAY_WINDOW ? need : REPLAY_WINDOW;
	ssize_t n;

	*err = 0;
	if (r->wseg == s->id && off >= r->wbase && off + need <= r->wbase + r->wlen)
		return r->buf + (off - r->wbase);
	if (want > r->cap) {
		unsigned char *p = realloc(r->buf, want);

		if (!p) {
			*err = -ENOMEM;
			return NULL;
		}
		r->buf = p;
		r->cap = want;
	}
	n = read_upto(s->fd, r->buf, want, off);
	if (n < 0) {
		*err = (int)n;
		r->wlen = 0;
		return NULL;
	}
	r->wseg = s->id;
	r->wbase = off;
	r->wlen = (uint64_t)n;
	return (size_t)n >= need ? r->buf : NULL;
}

/* Whether the value record of @len bytes at @off has a good CRC (@h its parsed header). */
static int value_check(struct replay *r, struct seg *s, uint64_t off, uint64_t len,
		       const struct rec_hdr *h)
{
	const unsigned char *p;
	uint32_t crc;
	int err;

	if (len <= REPLAY_STREAM) {
		p = win_get(r, s, off, len, &err);
		if (!p)
			return err;
		return crc_update(0, p + 8, len - 8) == h->crc;
	}
	crc = 0;
	for (uint64_t done = 8; done < len;) {
		size_t piece = len - done < REPLAY_WINDOW ? (size_t)(len - done) : REPLAY_WINDOW;

		p = win_get(r, s, off + done, piece, &err);
		if (!p)
			return err;
		crc = crc_update(crc, p, piece);
		done += piece;
	}
	return crc == h->crc;
}

/*
 * Replay the records of segment @s from @off: check every record, apply every group record
 * to the memtable. Stops at the first record that is cut short, fails its check, or whose
 * lsn is not the next one: *@stop is its offset (the segment's size if all of it is good).
 * Return: 0, or -ENOMEM / -errno of a read.
 */
static int replay_seg(struct replay *r, struct seg *s, uint64_t off, uint64_t *stop)
{
	struct hkv *db = r->vl->db;
	uint64_t size = atomic_load(&s->size);
	int rc = 0;

	while (off < size) {
		const unsigned char *p;
		uint64_t len;
		int err;

		p = win_get(r, s, off, size - off < WAL_HDR ? (size_t)(size - off) : WAL_HDR, &err);
		if (!p) {
			rc = err;
			break;
		}
		if (size - off < VLOG_REC_HDR)
			break;
		if (get_le32(p) == VLOG_REC_MAGIC) {
			struct rec_hdr h;

			if (rec_hdr_parse(p, &h))
				break;
			len = VLOG_REC_HDR + (uint64_t)h.klen + h.slen;
			if (len > size - off)
				break;
			err = value_check(r, s, off, len, &h);
			if (err <= 0) {
				rc = err;
				break;
			}
			r->values++;
		} else if (get_le32(p) == WAL_MAGIC) {
			struct wal_hdr h;

			if (size - off < WAL_HDR || wal_hdr_parse(p, &h))
				break;
			len = WAL_HDR + (uint64_t)h.blen;
			if (len > size - off)
				break;
			p = win_get(r, s, off, (size_t)len, &err);
			if (!p) {
				rc = err;
				break;
			}
			if (crc_update(0, p + 8, len - 8) != h.crc)
				break;
			if (h.lsn != r->lsn + 1) {
				hkv_log(db, 2, "value log: group record %" PRIu64 " at %08" PRIx32
					":%" PRIu64 " does not follow %" PRIu64 ": the log ends there",
					h.lsn, s->id, off, r->lsn);
				break;
			}
			err = wal_apply(db, r->m, p, len, r->seq + 1);
			if (err == -HKV_ECORRUPT) {
				hkv_log(db, 0, "value log: malformed group record at %08" PRIx32
					":%" PRIu64 "; the log ends there", s->id, off);
				break;
			}
			if (err) {
				rc = err;
				break;
			}
			r->seq++;
			r->lsn = h.lsn;
			r->groups++;
			r->last_end.seg = s->id;
			r->last_end.off = off + len;
		} else {
			break;
		}
		off += len;
	}
	*stop = off;
	return rc;
}

/*
 * Replay the log from @from (the last checkpoint's end) into the active memtable: segment
 * after segment while every record is good. *@end is where the log ends: just after the last
 * good group record (or @from). Value records after it belong to writes that never got a
 * group record, so nothing refers to them: they are cut off with the rest.
 */
static int replay(struct vlog *vl, struct vlog_pos from, struct vlog_pos *end)
{
	struct hkv *db = vl->db;
	struct replay r = { .vl = vl, .lsn = db->ckpt_lsn, .last_end = from };
	struct vlog_pos good = from;
	int rc = 0;

	r.m = atomic_load(&db->view)->mem[0];
	for (size_t i = 0; i < vl->nsegs; i++) {
		struct seg *s = vl->segs[i];
		uint64_t start = s->id == from.seg ? from.off : 0, stop;

		if (s->id < from.seg)
			continue;
		if (start > atomic_load(&s->size)) {
			hkv_log(db, 0, "value log: %08" PRIx32 " ends before the checkpoint's "
				"position %" PRIu64, s->id, start);
			break;
		}
		rc = replay_seg(&r, s, start, &stop);
		if (rc)
			break;
		good.seg = s->id;
		good.off = stop;
		if (stop < atomic_load(&s->size))
			break; /* nothing after a bad record counts, in this segment or later */
	}
	free(r.buf);
	if (rc)
		return rc;
	*end = r.last_end;
	if (vlog_pos_cmp(&good, end) > 0)
		hkv_log(db, 2, "value log: the log ends at %08" PRIx32 ":%" PRIu64 " (good "
			"records up to %08" PRIx32 ":%" PRIu64 ")", end->seg, end->off, good.seg,
			good.off);
	r.m->log_end = r.last_end;
	r.m->last_lsn = r.lsn;
	db->lsn = r.lsn;
	db->seq_last = r.seq;
	atomic_store(&db->pub_seq, r.seq);
	if (r.groups)
		hkv_log(db, 2, "value log: replayed %" PRIu64 " write groups (%" PRIu64 " value "
			"records) after the checkpoint at %08" PRIx32 ":%" PRIu64, r.groups,
			r.values, from.seg, from.off);
	return 0;
}

/*
 * After replay, on a writable store: what follows the end of the good log is cut off, for
 * good (flushed before anything new is written), so that no record from before the crash
 * can ever be read as a new one: the segment where the log ends is truncated there, later
 * segments are removed. If anything was replayed, the log is flushed too: what replay
 * applied must be durable before it is built upon (or a compaction tombstone in it acted on).
 */
static int open_trim(struct vlog *vl, const struct vlog_pos *end, bool replayed)
{
	struct hkv *db = vl->db;
	bool dir_changed = false;
	int rc = 0;

	for (size_t i = vl->nsegs; i-- > 0 && !rc;) {
		struct seg *s = vl->segs[i];
		uint64_t size = atomic_load(&s->size);

		if (s->id > end->seg) {
			hkv_log(db, 1, "value log: segment %08" PRIx32 " lies after the end of the "
				"log (lost in a crash); removed", s->id);
			seg_remove(vl, s);
			dir_changed = true;
			continue;
		}
		if (s->id == end->seg && size > end->off) {
			hkv_log(db, 2, "value log: %08" PRIx32 " cut from %" PRIu64 " to %" PRIu64
				" bytes (the end of the log)", s->id, size, end->off);
			if (ftruncate(s->fd, (off_t)end->off) || fdatasync(s->fd)) {
				rc = -errno;
				hkv_log(db, 0, "value log: cannot truncate %08" PRIx32 ": %s", s->id,
					strerror(errno));
				break;
			}
			atomic_store(&s->size, end->off);
		}
		if (replayed && s->id >= db->ckpt_pos.seg && fdatasync(s->fd)) {
			rc = -errno;
			hkv_log(db, 0, "value log: flush of %08" PRIx32 " failed: %s", s->id,
				strerror(errno));
		}
	}
	if (!rc && dir_changed && fsync(vl->dir_fd))
		rc = -errno;
	return rc;
}

/*
 * With the replayed state (merged view): segments tombstoned by a replayed compaction go
 * (their files are unlinked once no reader uses them); a segment shorter than the end of the
 * records committed into it lost its tail in a crash: values there read as corrupt, and it is
 * sealed (never the active segment), so no new record takes an offset an old reference names.
 */
static int open_settle(struct vlog *vl, const struct vlog_pos *end)
{
	struct hkv *db = vl->db;
	struct seg **segs;
	struct kvtx *txn;
	size_t n;
	int rc;

	n = vl->nsegs;
	segs = malloc((n ? n : 1) * sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	if (n)
		memcpy(segs, vl->segs, n * sizeof(*segs));
	rc = rtx_begin(db, &txn);
	if (rc) {
		free(segs);
		return rc;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct seg *s = segs[i];
		uint64_t size = atomic_load(&s->size);
		struct seg_rec r;
		bool is_short = false;

		rc = seg_rec_get(db, txn, s->id, &r);
		if ((rc == -ENOENT || (!rc && !r.live && !(r.flags & VLOG_SEG_DROPPED))) &&
		    s->id < db->ckpt_pos.seg && s->id != end->seg) {
			/*
			 * Before the checkpoint and referred to by nothing (no entry: nothing in
			 * it was ever live; or every record died): only log records the index
			 * already holds. The replayed state is durable (open_trim()).
			 */
			rc = 0;
			if (!db->opt.read_only)
				seg_remove(vl, s);
			continue;
		}
		if (rc == -ENOENT) {
			rc = 0;
		} else if (!rc && r.flags & VLOG_SEG_DROPPED) {
			if (!db->opt.read_only)
				seg_remove(vl, s);
			continue;
		} else if (!rc && size < r.end) {
			hkv_log(db, 0, "value log: %08" PRIx32 ".seg ends at %" PRIu64 ", before its "
				"committed end %" PRIu64 " (lost in a system crash?); values there "
				"read as corrupt and the segment is sealed", s->id, size, r.end);
			is_short = true;
		}
		if (!rc && !is_short && !db->opt.read_only && s->id == end->seg &&
		    size < db->opt.segment_size)
			vl->active = s;
	}
	rtx_end(db, txn);
	free(segs);
	return rc;
}

int vlog_open(struct hkv *db, struct vlog **out)
{
	struct vlog *vl;
	struct open_seg *v = NULL;
	struct vlog_pos from, end;
	MDB_txn *txn = NULL;
	bool ro = db->opt.read_only, changed = false, created = false;
	uint32_t max_id = 0;
	size_t n = 0;
	char *path;
	int rc;

	vl = calloc(1, sizeof(*vl));
	if (!vl)
		return -ENOMEM;
	vl->db = db;
	vl->dir_fd = -1;
	pthread_rwlock_init(&vl->map_lock, NULL);
	pthread_mutex_init(&vl->append_lock, NULL);
	pthread_mutex_init(&vl->sync_lock, NULL);
	pthread_mutex_init(&vl->compact_lock, NULL);
	pthread_mutex_init(&vl->pend_lock, NULL);
	db->vlog = vl;

	if (asprintf(&path, "%s/vlog", db->dir) < 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (!ro && mkdir(path, 0755)) {
		if (errno != EEXIST) {
			rc = -errno;
			hkv_log(db, 0, "value log: cannot create %s: %s", path, strerror(errno));
			free(path);
			goto out_free;
		}
	} else if (!ro) {
		created = true;
	}
	vl->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vl->dir_fd < 0) {
		rc = -errno;
		if (ro && rc == -ENOENT) {
			/* a read-only store that never had a value log */
			free(path);
			*out = vl;
			return 0;
		}
		hkv_log(db, 0, "value log: cannot open %s: %s", path, strerror(errno));
		free(path);
		goto out_free;
	}
	free(path);
	if (created) {
		/* the new directory's name must outlive a crash before any segment in it does */
		rc = fsync_parent(db->dir);
		if (rc)
			goto out_close;
	}

	/* the last checkpoint's tombstones, and the start of the log for an older store */
	rc = lmdb_err(mdb_txn_begin(db->env, NULL, ro ? MDB_RDONLY : 0, &txn));
	if (rc)
		goto out_close;
	rc = open_collect(vl, txn, &v, &n);
	for (size_t i = 0; i < n; i++)
		if (v[i].id > max_id)
			max_id = v[i].id;
	if (!rc && !ro)
		rc = open_drop_committed(vl, txn, v, n, &changed);
	if (!rc && !db->ckpt_known) {
		/* written before the log existed: everything is in the index */
		db->ckpt_pos.seg = max_id + 1;
		db->ckpt_pos.off = 0;
		db->ckpt_lsn = 0;
		db->ckpt_known = true;
		if (!ro) {
			rc = ckpt_info_put(db, txn, &db->ckpt_pos, 0);
			changed = true;
		}
	}
	if (rc || !changed)
		mdb_txn_abort(txn);
	else
		rc = lmdb_err(mdb_txn_commit(txn));
	if (rc)
		goto out_free_list;
	vl->next_id = max_id + 1;
	rc = open_files(vl, v, n);
	if (rc)
		goto out_free_list;

	from = db->ckpt_pos;
	rc = replay(vl, from, &end);
	if (!rc && !ro)
		rc = open_trim(vl, &end, db->seq_last > 0);
	if (!rc)
		rc = open_settle(vl, &end);
	if (rc)
		goto out_free_list;
	free(v);
	*out = vl;
	return 0;

out_free_list:
	free(v);
out_close:
	vlog_close(vl);
	db->vlog = NULL;
	return rc;
out_free:
	pthread_rwlock_destroy(&vl->map_lock);
	pthread_mutex_destroy(&vl->append_lock);
	pthread_mutex_destroy(&vl->sync_lock);
	pthread_mutex_destroy(&vl->compact_lock);
	pthread_mutex_destroy(&vl->pend_lock);
	free(vl);
	db->vlog = NULL;
	return rc;
}

void vlog_close(struct vlog *vl)
{
	if (!vl)
		return;
	for (size_t i = 0; i < vl->nsegs; i++) {
		struct seg *s = vl->segs[i];

		/* no retry of a flush that failed (hkv_fail) */
		if (s->dirty && s->fd >= 0 && !hkv_writable(vl->db) && fdatasync(s->fd))
			hkv_log(vl->db, 0, "value log: flush of segment %08" PRIx32
				" at close failed: %s", s->id, strerror(errno));
		seg_put(vl, s);
	}
	if (vl->dir_fd >= 0)
		close(vl->dir_fd);
	free(vl->segs);
	free(vl->dropped);
	free(vl->pend);
	pthread_mutex_destroy(&vl->pend_lock);
	pthread_rwlock_destroy(&vl->map_lock);
	pthread_mutex_destroy(&vl->append_lock);
	pthread_mutex_destroy(&vl->sync_lock);
	pthread_mutex_destroy(&vl->compact_lock);
	free(vl);
}

/* ---------------------------------------------------------------------------------------
 * Appending
 */

/* Make sure an active segment with room for @reclen bytes exists. Under append_lock. */
static int active_ensure(struct vlog *vl, uint64_t reclen)
{
	struct hkv *db = vl->db;
	char name[SEG_NAME_LEN + 1];
	struct seg *s;
	uint64_t size;
	int fd, rc;

	if (vl->active) {
		size = atomic_load(&vl->active->size);
		if (!size || size + reclen <= db->opt.segment_size)
			return 0;
		vl->active = NULL; /* sealed */
	}
	if (vl->next_id == UINT32_MAX)
		return -ENOSPC;
	seg_name(name, vl->next_id);
	fd = openat(vl->dir_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		hkv_log(db, 0, "value log: cannot create %s: %s", name, strerror(errno));
		return rc;
	}
	s = seg_new(vl->next_id, fd, 0);
	if (s)
		s->wal_known = true;
	if (!s) {
		close(fd);
		unlinkat(vl->dir_fd, name, 0);
		return -ENOMEM;
	}
	rc = seg_insert(vl, s);
	if (rc) {
		atomic_store(&s->doomed, true);
		seg_put(vl, s);
		return rc;
	}
	vl->next_id++;
	vl->active = s;
	vl->dir_dirty = true;
	return 0;
}

/*
 * Append one record made of @n parts to the active segment. A failed write leaves the
 * segment's size where it was: the next append overwrites whatever was partly written.
 */
static int append_parts(struct vlog *vl, const struct iovec *parts, int n, uint64_t vlen,
			struct vlog_ref *ref, bool group)
{
	uint64_t reclen = 0, off, pos;
	struct seg *s;
	int rc;

	for (int i = 0; i < n; i++)
		reclen += parts[i].iov_len;
	if (reclen > UINT32_MAX)
		return -EFBIG;
	pthread_mutex_lock(&vl->append_lock);
	rc = active_ensure(vl, reclen);
	if (rc)
		goto out_unlock;
	s = vl->active;
	off = pos = atomic_load(&s->size);
	for (int i = 0; i < n && !rc; i++) {
		rc = write_full(s->fd, parts[i].iov_base, parts[i].iov_len, pos);
		pos += parts[i].iov_len;
	}
	if (rc) {
		hkv_log(vl->db, 0, "value log: write to segment %08" PRIx32 " failed: %s", s->id,
			strerror(-rc));
		/*
		 * Cut off what the failed write left: replay stops at the first bad record, so
		 * a torn one must never stay before good ones (in this or a later segment). The
		 * cut is flushed with the segment's next flush.
		 */
		if (ftruncate(s->fd, (off_t)off)) {
			char what[64];

			snprintf(what, sizeof(what), "value-log segment %08" PRIx32 " (cut)", s->id);
			hkv_fail(vl->db, -errno, what);
		}
		s->dirty = true;
		goto out_unlock;
	}
	atomic_store(&s->size, off + reclen);
	s->dirty = true;
	if (group)
		s->wal_bytes += reclen;
	ref->seg = s->id;
	ref->off = off;
	ref->len = (uint32_t)reclen;
	ref->vlen = vlen;
out_unlock:
	pthread_mutex_unlock(&vl->append_lock);
	return rc;
}

int vlog_append_record(struct vlog *vl, const void *rec, size_t len, struct vlog_ref *ref)
{
	if (vl->db->opt.read_only)
		return -EROFS;
	return append_parts(vl, &(struct iovec){ (void *)rec, len }, 1, 0, ref, true);
}

void vlog_unappend(struct vlog *vl, const struct vlog_ref *ref)
{
	struct seg *s;

	pthread_mutex_lock(&vl->append_lock);
	s = vl->active;
	if (s && s->id == ref->seg && atomic_load(&s->size) == ref->off + ref->len &&
	    !ftruncate(s->fd, (off_t)ref->off)) {
		atomic_store(&s->size, ref->off);
		s->dirty = true;
		s->wal_bytes -= s->wal_bytes >= ref->len ? ref->len : s->wal_bytes;
	}
	pthread_mutex_unlock(&vl->append_lock);
}

void vlog_drop(struct vlog *vl, uint32_t id)
{
	bool gone;
	struct seg *s = seg_get(vl, id, &gone);

	if (!s)
		return;
	seg_remove(vl, s);
	seg_put(vl, s);
}

/* Fill a record header for @klen/@vlen/@slen/@flags; the CRC covers @key and @body too. */
static void rec_header(unsigned char *hdr, unsigned flags, const void *key, size_t klen,
		       uint64_t vlen, const void *body, size_t slen)
{
	uint32_t crc;

	memset(hdr, 0, VLOG_REC_HDR);
	put_le32(hdr, VLOG_REC_MAGIC);
	hdr[8] = (unsigned char)flags;
	put_le32(hdr + 12, (uint32_t)klen);
	put_le32(hdr + 16, (uint32_t)vlen);
	put_le32(hdr + 20, (uint32_t)slen);
	crc = crc_update(0, hdr + 8, VLOG_REC_HDR - 8);
	crc = crc_update(crc, key, klen);
	crc = crc_update(crc, body, slen);
	put_le32(hdr + 4, crc);
}

int vlog_append(struct vlog *vl, const void *key, size_t klen, const void *val, size_t vlen,
		struct vlog_ref *ref)
{
	struct hkv *db = vl->db;
	unsigned char hdr[VLOG_REC_HDR];
	unsigned char *zbuf = NULL;
	const void *body = val;
	size_t slen = vlen;
	unsigned flags = 0;
	int rc;

	if (db->opt.read_only)
		return -EROFS;
	if (!klen || klen > HKV_KEY_MAX)
		return -EINVAL;
	if (vlen > HKV_VALUE_MAX)
		return -EFBIG;
	if (db->opt.compress && vlen >= COMPRESS_MIN) {
		uLongf zlen = compressBound((uLong)vlen);

		/* without memory for the compressed copy the value is stored as it is */
		zbuf = malloc(zlen);
		if (zbuf && compress2(zbuf, &zlen, val, (uLong)vlen,
				      db->opt.compress_level) == Z_OK &&
		    zlen <= vlen - vlen / 8) {
			body = zbuf;
			slen = zlen;
			flags |= VLOG_REC_ZLIB;
		}
	}
	rec_header(hdr, flags, key, klen, vlen, body, slen);
	rc = append_parts(vl, (struct iovec[]){ { hdr, sizeof(hdr) }, { (void *)key, klen },
						  { (void *)body, slen } }, 3, vlen, ref, false);
	if (!rc)
		pend_add(vl, ref);
	free(zbuf);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * Reading
 */

static int corrupt(struct vlog *vl, const struct vlog_ref *ref, const char *why)
{
	atomic_fetch_add_explicit(&vl->db->st.crc_errors, 1, memory_order_relaxed);
	hkv_log(vl->db, 0, "value log: segment %08" PRIx32 " offset %" PRIu64 " (%" PRIu32
		" bytes): %s", ref->seg, ref->off, ref->len, why);
	return -HKV_ECORRUPT;
}

/* The part of a value being produced that the reader asked for. */
struct rd_window {
	uint64_t pos;   /* value bytes produced so far */
	uint64_t off;   /* wanted range */
	size_t len;
	unsigned char *buf;
};

static void window_feed(struct rd_window *w, const unsigned char *p, size_t n)
{
	uint64_t a = w->pos, b = w->pos + n;
	uint64_t lo = a > w->off ? a : w->off;
	uint64_t hi = b < w->off + w->len ? b : w->off + w->len;

	if (lo < hi)
		memcpy(w->buf + (lo - w->off), p + (lo - a), hi - lo);
	w->pos = b;
}

/*
 * Stream the record of @ref in @s through CRC (and inflate) and copy the wanted window.
 * Return: 0, or a negative error (corruption already reported).
 */
static int rec_stream(struct vlog *vl, struct seg *s, const struct vlog_ref *ref,
		      const void *key, size_t klen, struct rd_window *win)
{
	unsigned char small[SMALL_READ], *chunk = small, *obuf = NULL;
	size_t csz = sizeof(small), want, bstart;
	uint64_t done;
	struct rec_hdr h;
	z_stream z;
	bool zinit = false, zend = false;
	uint32_t crc;
	int rc;

	if (ref->len < VLOG_REC_HDR + 1)
		return corrupt(vl, ref, "record too short");
	if (ref->len > csz) {
		csz = READ_CHUNK;
		chunk = malloc(csz);
		if (!chunk)
			return -ENOMEM;
	}
	want = ref->len < csz ? ref->len : csz;
	rc = read_full(s->fd, chunk, want, ref->off);
	if (rc)
		goto out_read;
	if (rec_hdr_parse(chunk, &h) || (uint64_t)VLOG_REC_HDR + h.klen + h.slen != ref->len ||
	    h.vlen != ref->vlen) {
		rc = corrupt(vl, ref, "bad record header");
		goto out_free;
	}
	/* the key is within the first chunk: csz > header + HKV_KEY_MAX */
	if (h.klen != klen || memcmp(chunk + VLOG_REC_HDR, key, klen)) {
		rc = corrupt(vl, ref, "the record belongs to another key");
		goto out_free;
	}
	if (h.flags & VLOG_REC_ZLIB) {
		memset(&z, 0, sizeof(z));
		obuf = malloc(INFLATE_CHUNK);
		if (!obuf || inflateInit(&z) != Z_OK) {
			rc = -ENOMEM;
			goto out_free;
		}
		zinit = true;
	}
	crc = crc_update(0, chunk + 8, want - 8);
	bstart = VLOG_REC_HDR + h.klen; /* within the first chunk: csz > header + key */
	done = want;
	for (;;) {
		const unsigned char *body = chunk;
		size_t blen = want;

		if (bstart) {
			body += bstart;
			blen -= bstart;
			bstart = 0;
		}
		if (!zinit) {
			window_feed(win, body, blen);
		} else if (blen) {
			int zr;

			if (zend) {
				rc = corrupt(vl, ref, "data after the compressed stream");
				goto out_free;
			}
			z.next_in = (unsigned char *)body;
			z.avail_in = (uInt)blen;
			do {
				z.next_out = obuf;
				z.avail_out = INFLATE_CHUNK;
				zr = inflate(&z, Z_NO_FLUSH);
				if ((zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) ||
				    (zr == Z_BUF_ERROR && z.avail_in && z.avail_out)) {
					rc = corrupt(vl, ref, "bad compressed data");
					goto out_free;
				}
				window_feed(win, obuf, INFLATE_CHUNK - z.avail_out);
				if (zr == Z_STREAM_END) {
					zend = true;
					break;
				}
			} while (z.avail_in || !z.avail_out);
			if (z.avail_in) {
				rc = corrupt(vl, ref, "data after the compressed stream");
				goto out_free;
			}
		}
		if (done == ref->len)
			break;
		want = ref->len - done < csz ? ref->len - done : csz;
		rc = read_full(s->fd, chunk, want, ref->off + done);
		if (rc)
			goto out_read;
		crc = crc_update(crc, chunk, want);
		done += want;
	}
	if (crc != h.crc) {
		rc = corrupt(vl, ref, "checksum mismatch");
		goto out_free;
	}
	if ((zinit && !zend) || win->pos != h.vlen) {
		rc = corrupt(vl, ref, "value length mismatch");
		goto out_free;
	}
	rc = 0;
	goto out_free;
out_read:
	if (rc > 0)
		rc = corrupt(vl, ref, "record cut short by the end of the segment");
	else
		hkv_log(vl->db, 0, "value log: read of segment %08" PRIx32 " failed: %s", ref->seg,
			strerror(-rc));
out_free:
	if (zinit)
		inflateEnd(&z);
	free(obuf);
	if (chunk != small)
		free(chunk);
	return rc;
}

ssize_t vlog_read(struct vlog *vl, const struct vlog_ref *ref, const void *key, size_t klen,
		  uint64_t off, void *buf, size_t len)
{
	struct rd_window win = { .pos = 0, .off = off, .buf = buf };
	struct seg *s;
	bool gone;
	int rc;

	if (off >= ref->vlen)
		return 0;
	win.len = len < ref->vlen - off ? len : (size_t)(ref->vlen - off);
	s = seg_get(vl, ref->seg, &gone);
	if (!s) {
		if (gone)
			return -EAGAIN;
		return corrupt(vl, ref, "no such segment");
	}
	if (!key || !klen)
		rc = corrupt(vl, ref, "read without the key it belongs to");
	else if (ref->off + ref->len > atomic_load(&s->size))
		/* past the end of what was written (or what survived a crash): never data */
		rc = corrupt(vl, ref, "reference past the end of the segment");
	else
		rc = rec_stream(vl, s, ref, key, klen, &win);
	seg_put(vl, s);
	return rc ? rc : (ssize_t)win.len;
}

/* ---------------------------------------------------------------------------------------
 * Flushing and statistics
 */

/* Take a reference to the first dirty segment with id >= @from and mark it clean. */
static struct seg *next_dirty(struct vlog *vl, uint32_t from)
{
	struct seg *s = NULL;

	pthread_mutex_lock(&vl->append_lock);
	pthread_rwlock_rdlock(&vl->map_lock);
	for (size_t i = seg_pos(vl, from); i < vl->nsegs; i++) {
		if (vl->segs[i]->dirty) {
			s = vl->segs[i];
			s->dirty = false;
			atomic_fetch_add(&s->refs, 1);
			break;
		}
	}
	pthread_rwlock_unlock(&vl->map_lock);
	pthread_mutex_unlock(&vl->append_lock);
	return s;
}

int vlog_sync(struct vlog *vl)
{
	char what[64];
	struct seg *s;
	uint32_t from = 0;
	bool dir;
	int rc = 0;

	if (vl->dir_fd < 0)
		return 0;
	pthread_mutex_lock(&vl->sync_lock);
	/* never retried: after a failed flush the dirty pages may be gone (see engine.h) */
	rc = hkv_writable(vl->db);
	if (rc)
		goto out_unlock;
	pthread_mutex_lock(&vl->append_lock);
	dir = vl->dir_dirty;
	vl->dir_dirty = false;
	pthread_mutex_unlock(&vl->append_lock);
	/* an append finished before this call is in a segment found dirty below */
	while (!rc && (s = next_dirty(vl, from))) {
		from = s->id + 1;
		if (fdatasync(s->fd)) {
			snprintf(what, sizeof(what), "value-log segment %08" PRIx32, s->id);
			rc = hkv_fail(vl->db, -errno, what);
		}
		seg_put(vl, s);
		if (from == 0)
			break;
	}
	if (!rc && dir && fsync(vl->dir_fd))
		rc = hkv_fail(vl->db, -errno, "the value-log directory");
out_unlock:
	pthread_mutex_unlock(&vl->sync_lock);
	return rc;
}

struct seg_snap {
	uint32_t id;
	bool active;
	uint64_t size;
	struct seg *seg; /* referenced, for compaction */
};

/*
 * Snapshot the segment table (with references if @refs). Return: the number of entries
 * (*@out malloc()ed), or -ENOMEM.
 */
static ssize_t snapshot(struct vlog *vl, struct seg_snap **out, bool refs)
{
	struct seg_snap *v;
	size_t n;

	pthread_mutex_lock(&vl->append_lock);
	pthread_rwlock_rdlock(&vl->map_lock);
	n = vl->nsegs;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (v) {
		for (size_t i = 0; i < n; i++) {
			struct seg *s = vl->segs[i];

			v[i].id = s->id;
			v[i].active = s == vl->active;
			v[i].size = atomic_load(&s->size);
			v[i].seg = refs ? s : NULL;
			if (refs)
				atomic_fetch_add(&s->refs, 1);
		}
	}
	pthread_rwlock_unlock(&vl->map_lock);
	pthread_mutex_unlock(&vl->append_lock);
	if (!v)
		return -ENOMEM;
	*out = v;
	return (ssize_t)n;
}

/*
 * Bytes of group records in sealed segment @s: known if it was created in this process,
 * else counted once by walking its record headers. Under compact_lock. Return: the count, or
 * 0 if the walk fails (the segment then looks as dead as its accounting says).
 */
static uint64_t seg_wal_bytes(struct vlog *vl, struct seg *s)
{
	uint64_t size = atomic_load(&s->size), off = 0, wal = 0;
	unsigned char h[WAL_HDR];
	bool known;

	pthread_mutex_lock(&vl->append_lock);
	known = s->wal_known;
	wal = s->wal_bytes;
	pthread_mutex_unlock(&vl->append_lock);
	if (known)
		return wal;
	wal = 0;
	while (off + VLOG_REC_HDR <= size) {
		struct rec_hdr rh;
		struct wal_hdr wh;
		size_t want = size - off < WAL_HDR ? VLOG_REC_HDR : WAL_HDR;

		if (read_full(s->fd, h, want, off))
			return 0;
		if (!rec_hdr_parse(h, &rh)) {
			off += VLOG_REC_HDR + (uint64_t)rh.klen + rh.slen;
		} else if (want == WAL_HDR && !wal_hdr_parse(h, &wh)) {
			off += WAL_HDR + (uint64_t)wh.blen;
			wal += WAL_HDR + (uint64_t)wh.blen;
		} else {
			break;
		}
	}
	pthread_mutex_lock(&vl->append_lock);
	s->wal_bytes = wal;
	s->wal_known = true;
	pthread_mutex_unlock(&vl->append_lock);
	return wal;
}

/* Live bytes of each snapshot entry, from the segs table. */
static int snapshot_live(struct hkv *db, const struct seg_snap *v, size_t n, uint64_t *live)
{
	struct seg_rec r;
	struct kvtx *txn;
	int rc;

	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = seg_rec_get(db, txn, v[i].id, &r);
		if (rc == -ENOENT) {
			r.live = 0;
			rc = 0;
		}
		if (rc)
			break;
		live[i] = r.flags & VLOG_SEG_DROPPED ? 0 : r.live;
	}
	rtx_end(db, txn);
	return rc;
}

void vlog_stats(struct vlog *vl, struct hkv_stats *st)
{
	struct seg_snap *v;
	uint64_t *live;
	ssize_t n;

	n = snapshot(vl, &v, false);
	if (n < 0)
		return;
	live = calloc((size_t)n + 1, sizeof(*live));
	if (live && snapshot_live(vl->db, v, (size_t)n, live)) {
		free(live);
		live = NULL;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint64_t l = live ? live[i] : 0;

		st->segments++;
		st->vlog_bytes += v[i].size;
		st->vlog_live += l;
		st->vlog_dead += v[i].size > l ? v[i].size - l : 0;
	}
	free(live);
	free(v);
}

int vlog_segments(struct hkv *db, int (*cb)(void *arg, const struct hkv_segment_stat *s),
		  void *arg)
{
	struct seg_snap *v;
	uint64_t *live;
	ssize_t n;
	int rc;

	n = snapshot(db->vlog, &v, false);
	if (n < 0)
		return (int)n;
	live = calloc((size_t)n + 1, sizeof(*live));
	if (!live) {
		free(v);
		return -ENOMEM;
	}
	rc = snapshot_live(db, v, (size_t)n, live);
	for (ssize_t i = 0; i < n && !rc; i++) {
		struct hkv_segment_stat s = {
			.id = v[i].id,
			.active = v[i].active,
			.bytes = v[i].size,
			.live = live[i],
			.dead = v[i].size > live[i] ? v[i].size - live[i] : 0,
		};

		rc = cb(arg, &s);
	}
	free(live);
	free(v);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * Compaction
 */

/** struct cmove - a key to re-point from one record to its copy. */
struct cmove {
	struct ekey ek;
	struct vlog_ref from, to;
};

/** struct cbatch - copies waiting for their re-pointing transaction. */
struct cbatch {
	struct vlog *vl;
	struct seg *seg;      /* segment being compacted */
	struct cmove *mv;     /* BATCH_MOVES entries */
	size_t n;
	uint64_t bytes;       /* bytes copied into this batch */
	bool final;           /* tombstone the segment if nothing refers to it any more */
	/* results of repoint_fn (reset on every run) */
	bool dropped;
	uint64_t moved_bytes;
	/* totals over the whole segment */
	uint64_t total_moved;
};

/*
 * The write function of a batch: compare-and-swap each key's ref from the old record to its
 * copy, moving the accounting along; with @final, tombstone the old segment if it has no live
 * bytes left. Run again from scratch if the group is retried.
 */
static int repoint_fn(struct wtx *w, void *arg)
{
	struct cbatch *b = arg;
	struct hkv *db = w->db;
	unsigned char nb[KREC_HDR_MAX + HKV_KEY_MAX + VLOG_REF_SIZE];
	struct seg_rec r = { 0 };
	int rc = 0;

	b->dropped = false;
	b->moved_bytes = 0;
	for (size_t i = 0; i < b->n && !rc; i++) {
		struct cmove *m = &b->mv[i];
		MDB_val k = { m->ek.len, m->ek.b }, v, nv;
		struct kmeta km;
		size_t pos;

		rc = kv_get(w->txn, db->dbi_keys, &k, &v);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc) {
			rc = lmdb_err(rc);
			break;
		}
		if (kmeta_decode(&v, &km) || !(km.flags & KF_VLOG) || !ref_eq(&km.ref, &m->from))
			continue; /* changed since the copy: the copy is dead */
		/* in either layout a record's vlog_ref is its last VLOG_REF_SIZE bytes */
		if (v.mv_size < VLOG_REF_SIZE || v.mv_size > sizeof(nb))
			continue;
		pos = v.mv_size - VLOG_REF_SIZE;
		memcpy(nb, v.mv_data, v.mv_size);
		vlog_ref_encode(nb + pos, &m->to);
		nv.mv_size = v.mv_size;
		nv.mv_data = nb;
		rc = lmdb_err(kv_put(w->txn, db->dbi_keys, &k, &nv, 0));
		if (!rc)
			rc = seg_account(db, w->txn, &m->from, false);
		if (!rc)
			rc = seg_account(db, w->txn, &m->to, true);
		if (!rc)
			b->moved_bytes += m->from.len;
	}
	if (rc || !b->final)
		return rc;
	rc = seg_rec_get(db, w->txn, b->seg->id, &r);
	if (rc == -ENOENT) {
		memset(&r, 0, sizeof(r));
		rc = 0;
	}
	if (rc)
		return rc;
	if (r.live || r.flags & VLOG_SEG_DROPPED)
		return 0;
	r.flags |= VLOG_SEG_DROPPED;
	rc = seg_rec_put(db, w->txn, b->seg->id, &r);
	if (!rc)
		b->dropped = true;
	return rc;
}

/* Flush the copies of @b, commit the re-pointing and empty the batch. */
static int batch_commit(struct cbatch *b)
{
	struct hkv *db = b->vl->db;
	int rc;

	hook(db, VLOG_STAGE_COPIED, b->seg->id);
	rc = vlog_sync(b->vl);
	if (rc)
		return rc;
	hook(db, VLOG_STAGE_SYNCED, b->seg->id);
	rc = hkv_write(db, repoint_fn, b);
	if (rc < 0)
		return rc;
	hook(db, VLOG_STAGE_COMMITTED, b->seg->id);
	b->total_moved += b->moved_bytes;
	b->n = 0;
	b->bytes = 0;
	return 0;
}

/* Append a copy of a record and queue its key for re-pointing, committing a full batch. */
static int batch_add(struct cbatch *b, const struct ekey *ek, const struct vlog_ref *from,
		     const struct iovec *parts, int nparts)
{
	struct cmove *m = &b->mv[b->n];
	int rc;

	rc = append_parts(b->vl, parts, nparts, from->vlen, &m->to, false);
	if (rc)
		return rc;
	m->ek = *ek;
	m->from = *from;
	b->n++;
	b->bytes += m->to.len;
	if (b->n == BATCH_MOVES || b->bytes >= BATCH_BYTES)
		return batch_commit(b);
	return 0;
}

/*
 * Read the whole record at @off of @s (at most @limit bytes of segment) into a new buffer and
 * check it. Return: 0 and *@rec, *@h; -HKV_ECORRUPT (reported); -ENOMEM, -EIO.
 */
static int rec_load(struct vlog *vl, struct seg *s, uint64_t off, uint64_t limit,
		    const struct vlog_ref *expect, unsigned char **rec, struct rec_hdr *h)
{
	unsigned char hb[VLOG_REC_HDR], *p;
	struct vlog_ref at = { .seg = s->id, .off = off, .len = VLOG_REC_HDR };
	uint64_t len;
	int rc;

	if (off + VLOG_REC_HDR > limit)
		return corrupt(vl, &at, "record cut short by the end of the segment");
	rc = read_full(s->fd, hb, sizeof(hb), off);
	if (rc > 0)
		return corrupt(vl, &at, "record cut short by the end of the segment");
	if (rc)
		return rc;
	if (rec_hdr_parse(hb, h))
		return corrupt(vl, &at, "bad record header");
	len = VLOG_REC_HDR + (uint64_t)h->klen + h->slen;
	at.len = (uint32_t)len;
	if (off + len > limit)
		return corrupt(vl, &at, "record cut short by the end of the segment");
	if (expect && (len != expect->len || h->vlen != expect->vlen))
		return corrupt(vl, &at, "record does not match its reference");
	p = malloc(len);
	if (!p)
		return -ENOMEM;
	rc = read_full(s->fd, p, len, off);
	if (rc > 0)
		rc = corrupt(vl, &at, "record cut short by the end of the segment");
	else if (!rc && crc_update(0, p + 8, len - 8) != h->crc)
		rc = corrupt(vl, &at, "checksum mismatch");
	if (rc) {
		free(p);
		return rc;
	}
	*rec = p;
	return 0;
}

/* Whether the key record of @ek currently refers to @ref. Return: 1, 0, or -errno. */
static int ref_is_current(struct hkv *db, const struct ekey *ek, const struct vlog_ref *ref)
{
	MDB_val k = { ek->len, (void *)ek->b }, v;
	struct kmeta km;
	struct kvtx *txn;
	int rc;

	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = kv_get(txn, db->dbi_keys, &k, &v);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc)
		rc = lmdb_err(rc);
	else
		rc = !kmeta_decode(&v, &km) && km.flags & KF_VLOG && ref_eq(&km.ref, ref);
	rtx_end(db, txn);
	return rc;
}

/* Step 1 over the records of the segment: copy those still referred to by their key. */
static int compact_walk(struct cbatch *b)
{
	struct vlog *vl = b->vl;
	struct seg *s = b->seg;
	uint64_t size = atomic_load(&s->size), off = 0;
	int rc = 0;

	while (off < size) {
		struct vlog_ref from = { .seg = s->id, .off = off };
		unsigned char *rec, wh[WAL_HDR];
		struct rec_hdr h;
		struct wal_hdr g;
		struct ekey ek;

		/* group records are the log's: already checkpointed, never copied */
		if (size - off >= WAL_HDR && !read_full(s->fd, wh, WAL_HDR, off) &&
		    !wal_hdr_parse(wh, &g)) {
			off += WAL_HDR + (uint64_t)g.blen;
			continue;
		}
		rc = rec_load(vl, s, off, size, NULL, &rec, &h);
		if (rc)
			break;
		from.len = VLOG_REC_HDR + h.klen + h.slen;
		from.vlen = h.vlen;
		ekey_make(vl->db, &ek, rec + VLOG_REC_HDR, h.klen);
		rc = ref_is_current(vl->db, &ek, &from);
		if (rc > 0)
			rc = batch_add(b, &ek, &from, &(struct iovec){ rec, from.len }, 1);
		free(rec);
		if (rc < 0)
			break;
		rc = 0;
		off += from.len;
	}
	return rc;
}

/* One reference into the segment found by searching the index. */
struct found {
	struct ekey ek;
	struct vlog_ref ref;
	size_t klen;
	unsigned char key[HKV_KEY_MAX];
};

/*
 * The index search of the design comment: find every key referring to the segment (renamed
 * keys, writes committed after the walk) and copy its record under its current name. The
 * keyspace is walked a few hundred keys per read transaction.
 */
static int compact_search(struct cbatch *b)
{
	struct vlog *vl = b->vl;
	struct hkv *db = vl->db;
	struct found *f;
	struct ekey last = { 0 };
	bool started = false, end = false;
	int rc = 0;

	f = malloc(INDEX_SCAN_STEP * sizeof(*f));
	if (!f)
		return -ENOMEM;
	while (!end && !rc) {
		struct kvcur *cur;
		struct kvtx *txn;
		MDB_val k, v;
		size_t nf = 0;
		int mrc;

		rc = rtx_begin(db, &txn);
		if (rc)
			break;
		rc = lmdb_err(kv_cursor_open(txn, db->dbi_keys, &cur));
		if (rc) {
			rtx_end(db, txn);
			break;
		}
		if (started) {
			k.mv_size = last.len;
			k.mv_data = last.b;
			mrc = kv_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			if (!mrc && k.mv_size == last.len && !memcmp(k.mv_data, last.b, last.len))
				mrc = kv_cursor_get(cur, &k, &v, MDB_NEXT);
		} else {
			mrc = kv_cursor_get(cur, &k, &v, MDB_FIRST);
			started = true;
		}
		for (int i = 0; i < INDEX_SCAN_STEP && !mrc; i++) {
			struct kmeta km;

			if (k.mv_size <= EKEY_LONG) {
				last.len = k.mv_size;
				memcpy(last.b, k.mv_data, k.mv_size);
			}
			if (k.mv_size <= EKEY_LONG && !kmeta_decode(&v, &km) &&
			    km.flags & KF_VLOG && km.ref.seg == b->seg->id) {
				struct found *x = &f[nf++];

				x->ek = last;
				x->ref = km.ref;
				if (km.flags & KF_LONGKEY) {
					x->klen = km.fullkey_len;
					memcpy(x->key, km.fullkey, km.fullkey_len);
				} else {
					x->klen = k.mv_size;
					memcpy(x->key, k.mv_data, k.mv_size);
				}
			}
			mrc = kv_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		if (mrc == MDB_NOTFOUND)
			end = true;
		else if (mrc)
			rc = lmdb_err(mrc);
		kv_cursor_close(cur);
		rtx_end(db, txn);

		for (size_t i = 0; i < nf && !rc; i++) {
			unsigned char hdr[VLOG_REC_HDR], *rec;
			struct rec_hdr h;
			const unsigned char *body;

			if (!f[i].klen || f[i].klen > HKV_KEY_MAX)
				continue;
			rc = rec_load(vl, b->seg, f[i].ref.off, atomic_load(&b->seg->size),
				      &f[i].ref, &rec, &h);
			if (rc)
				break;
			body = rec + VLOG_REC_HDR + h.klen;
			rec_header(hdr, h.flags, f[i].key, f[i].klen, h.vlen, body, h.slen);
			rc = batch_add(b, &f[i].ek, &f[i].ref, (struct iovec[]){
				{ hdr, sizeof(hdr) }, { f[i].key, f[i].klen },
				{ (void *)body, h.slen } }, 3);
			free(rec);
		}
	}
	free(f);
	return rc;
}

/*
 * Compact segment @s. Return: 1 (compacted and removed), 0 (still referred to; left for a
 * later run), or a negative error.
 */
static int compact_one(struct vlog *vl, struct seg *s, uint64_t live)
{
	struct hkv *db = vl->db;
	struct cbatch b = { .vl = vl, .seg = s };
	uint64_t size = atomic_load(&s->size);
	int rc;

	b.mv = malloc(BATCH_MOVES * sizeof(*b.mv));
	if (!b.mv)
		return -ENOMEM;
	/*
	 * Nothing live (by its accounting): only dead values and the log's group records. No
	 * walk: the final commit tombstones it if it is still so.
	 */
	rc = live ? compact_walk(&b) : 0;
	if (!rc) {
		b.final = !pend_busy(vl, s->id);
		rc = batch_commit(&b);
	}
	if (!rc && !b.final) {
		/* a write is about to link a record of this segment: try again later */
		hkv_log(db, 3, "value log: segment %08" PRIx32 " has a write in flight; "
			"compaction deferred", s->id);
		goto out_free;
	}
	if (!rc && !b.dropped && (kv_blind_pending(db) || dead_noted(db))) {
		/*
		 * Blind SETs may have replaced records of this segment that its accounting
		 * still counts live until their checkpoint and note (keys.c): bring the
		 * accounting up to date, then try the final commit again. The walk moved every
		 * record still referred to; what a blind SET replaced after it is in a copy.
		 */
		rc = hkv_checkpoint(db);
		if (!rc)
			rc = vlog_dead_apply(db);
		if (rc >= 0) {
			b.final = !pend_busy(vl, s->id);
			rc = batch_commit(&b);
		}
	}
	if (!rc && !b.dropped && b.final) {
		hkv_log(db, 3, "value log: segment %08" PRIx32 " still referred to after its walk;"
			" searching the index", s->id);
		b.final = false;
		rc = compact_search(&b);
		if (!rc) {
			b.final = !pend_busy(vl, s->id);
			rc = batch_commit(&b);
		}
		if (!rc && !b.dropped && b.final && (kv_blind_pending(db) || dead_noted(db))) {
			/* the accounting waits for a blind SET's checkpoint and note (keys.c) */
			hkv_log(db, 3, "value log: segment %08" PRIx32 " still counts live bytes; "
				"compaction waits for a checkpoint", s->id);
		} else if (!rc && !b.dropped && b.final) {
			/* a write raced again, or the accounting disagrees with the index */
			hkv_log(db, 1, "value log: segment %08" PRIx32 " still has live bytes after "
				"the index search; not compacted again until the store is reopened",
				s->id);
			s->skip = true;
		}
	}
	if (rc == -HKV_ECORRUPT) {
		hkv_log(db, 0, "value log: segment %08" PRIx32 " is damaged; it is not compacted "
			"until the store is reopened", s->id);
		s->skip = true;
	}
	if (rc || !b.dropped)
		goto out_free;

	/*
	 * The tombstone must be in the index (checkpointed) before the file can go: the
	 * checkpointer removes the segment from the table right after its commit.
	 */
	rc = hkv_checkpoint(db);
	if (rc) {
		hkv_log(db, 0, "value log: checkpoint after compacting segment %08" PRIx32
			" failed: %s", s->id, hkv_strerror(rc));
		goto out_free;
	}
	hook(db, VLOG_STAGE_FLUSHED, s->id);
	seg_remove(vl, s);
	hook(db, VLOG_STAGE_DROPPED, s->id);
	atomic_fetch_add_explicit(&db->st.compactions, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&db->st.compact_bytes,
				  size > b.total_moved ? size - b.total_moved : 0,
				  memory_order_relaxed);
	hkv_log(db, 2, "value log: compacted segment %08" PRIx32 ": %" PRIu64 " of %" PRIu64
		" bytes were live", s->id, b.total_moved, size);
	rc = 1;
out_free:
	free(b.mv);
	return rc;
}

int vlog_compact(struct hkv *db, bool all)
{
	struct vlog *vl = db->vlog;
	uint32_t ckpt_seg;
	struct seg_snap *v;
	uint64_t *live = NULL;
	bool caught_up = false;
	ssize_t n;
	int rc = 0, done = 0;

	if (db->opt.read_only)
		return -EROFS;
	if (hkv_writable(db))
		return -HKV_ESTOPPED;
	pthread_mutex_lock(&vl->compact_lock);
	/*
	 * Every sealed segment, asked for: a checkpoint first, so that those holding log records
	 * the index lacked count too, and the accounting of blind SETs is current (keys.c).
	 */
	if (all) {
		rc = hkv_checkpoint(db);
		if (rc)
			goto out_unlock;
	}
	/* the accounting first: values replaced by blind SETs (keys.c, "Blind SETs") */
	rc = vlog_dead_apply(db);
	if (rc < 0)
		goto out_unlock;
	rc = 0;
	pthread_mutex_lock(&db->ckpt_lock);
	ckpt_seg = db->ckpt_pos.seg;
	pthread_mutex_unlock(&db->ckpt_lock);
	n = snapshot(vl, &v, true);
	if (n < 0) {
		rc = (int)n;
		goto out_unlock;
	}
	live = calloc((size_t)n + 1, sizeof(*live));
	if (!live)
		rc = -ENOMEM;
	else
		rc = snapshot_live(db, v, (size_t)n, live);
	for (ssize_t i = 0; i < n && !rc; i++) {
		uint64_t size = v[i].size, dead = size > live[i] ? size - live[i] : 0;
		bool pick;

		/* a segment holding log records the index lacks is still the log's */
		if (v[i].active || v[i].seg->skip || v[i].id >= ckpt_seg)
			continue;
		if (all)
			/* dead values to drop, or nothing live (only checkpointed log records) */
			pick = !size || !live[i] || dead > seg_wal_bytes(vl, v[i].seg);
		else
			pick = !size || (dead >= db->opt.compact_min_bytes &&
					 dead * 100 >= size * db->opt.compact_dead_pct);
		if (!pick)
			continue;
		if (live[i] && !caught_up && kv_blind_pending(db)) {
			/*
			 * A blind SET not checkpointed yet may have replaced a value of this
			 * segment, still counted live until its checkpoint (keys.c, "Blind
			 * SETs"): checkpoint first, then look at the accounting again.
			 */
			caught_up = true;
			rc = hkv_checkpoint(db);
			if (!rc)
				rc = vlog_dead_apply(db);
			if (rc >= 0)
				rc = snapshot_live(db, v, (size_t)n, live);
			i--;
			continue;
		}
		rc = compact_one(vl, v[i].seg, live[i]);
		/* put now: a removed segment's file goes as soon as no reader uses it */
		seg_put(vl, v[i].seg);
		v[i].seg = NULL;
		if (rc > 0)
			done += rc;
		if (rc > 0 || rc == -HKV_ECORRUPT)
			rc = 0;
	}
	for (ssize_t i = 0; i < n; i++)
		if (v[i].seg)
			seg_put(vl, v[i].seg);
	free(v);
	free(live);
out_unlock:
	pthread_mutex_unlock(&vl->compact_lock);
	return rc ? rc : done;
}
