// SPDX-License-Identifier: MIT
/*
 * ckpt.c - the checkpointer: applies frozen memtables to LMDB in large, properly synced
 * transactions, and so bounds what a crash leaves to replay.
 *
 * LMDB runs with its normal commit ordering (no MDB_NOSYNC, no MDB_NOMETASYNC): a commit
 * writes the new pages, fdatasyncs them, then writes the meta page that points at them through
 * a descriptor opened O_DSYNC. A crash at any moment leaves either the old or the new tree.
 * Nothing else ever writes LMDB after open, so every state LMDB can be in is a checkpoint.
 *
 * A checkpoint of a frozen memtable M (the oldest of the view; the leader froze it at a group
 * boundary, so every version in it is published):
 *
 *   1. flush the log (vlog_sync): every record up to M->log_end, and every value record they
 *      refer to, is durable before any index page can refer to it;
 *   2. one LMDB write transaction: for every node of M, its newest version (put, or delete),
 *      the keys table first; a blind key record is written as its merge with the record it
 *      replaced, which is dropped with what hangs on it (keys.c, "Blind SETs"), and the
 *      value-log records those replaced are noted for compaction to count dead (vlog.c);
 *      and the info table's "ckpt" record = (M->log_end, the lsn of M's last group record);
 *   3. commit (synced, LMDB's order);
 *   4. install a view without M; M is freed once no reader holds a view with it; segments
 *      whose tombstone M carried (compaction) leave the table and their files go.
 *
 * Recovery (vlog.c, vlog_open) = LMDB as committed + replay of the log from "ckpt": at most
 * the memtables not yet checkpointed, so open time depends on the checkpoint interval and the
 * memtable budget, not on the number of keys.
 *
 * Crash points (what is on disk, what open does):
 *
 *   | crash                    | LMDB                 | log                  | open        |
 *   | ------------------------ | -------------------- | -------------------- | ----------- |
 *   | before 1                 | previous checkpoint  | M's groups, maybe    | replays the |
 *   |                          |                      | partly (not synced)  | good prefix |
 *   | between 1 and 3          | previous checkpoint  | M's groups, durable  | replays M   |
 *   | during 3 (meta not yet)  | previous checkpoint  | durable              | replays M   |
 *   | after 3                  | M applied, "ckpt"    | durable              | replays     |
 *   |                          | after M              |                      | after M     |
 *   | after 4, before an       | tombstone committed  | durable              | unlinks the |
 *   | unlink                   |                      |                      | segment     |
 *
 * Replaying a group that the index already holds changes nothing (group records carry final
 * values, not deltas), so the order of 3 and a crash never matters.
 *
 * A failure in 1 or 3 is a failed flush: hkv_fail() stops writes; M stays in memory (reads
 * keep working) and in the log (a reopen replays it).
 *
 * Writers never wait for a checkpoint unless MVIEW_MAX memtables exist (the active one and
 * two frozen): then the leader waits in mem_rotate() (wtx.c); that is the write stall a slow
 * checkpoint can cause, measured by hkv-bench.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_int.h"
#include "vlog_int.h"

#define CKPT_NAME "ckpt"
#define CKPT_REC 20
#define MAX_DROPS 64

void (*ckpt_test_hook)(struct hkv *db, enum ckpt_stage stage);
int (*ckpt_test_commit_fault)(struct hkv *db);

static void hook(struct hkv *db, enum ckpt_stage stage)
{
	if (ckpt_test_hook)
		ckpt_test_hook(db, stage);
}

int ckpt_info_put(struct hkv *db, MDB_txn *txn, const struct vlog_pos *pos, uint64_t lsn)
{
	unsigned char b[CKPT_REC];
	MDB_val k = { sizeof(CKPT_NAME) - 1, CKPT_NAME }, v = { sizeof(b), b };

	put_le32(b, pos->seg);
	put_le64(b + 4, pos->off);
	put_le64(b + 12, lsn);
	return lmdb_err(mdb_put(txn, db->dbi_info, &k, &v, 0));
}

int ckpt_info_get(struct hkv *db, MDB_txn *txn)
{
	MDB_val k = { sizeof(CKPT_NAME) - 1, CKPT_NAME }, v;
	int rc = mdb_get(txn, db->dbi_info, &k, &v);

	if (rc == MDB_NOTFOUND) {
		db->ckpt_known = false;
		return 0;
	}
	if (rc)
		return lmdb_err(rc);
	if (v.mv_size != CKPT_REC)
		return -HKV_ECORRUPT;
	db->ckpt_pos.seg = get_le32(v.mv_data);
	db->ckpt_pos.off = get_le64((unsigned char *)v.mv_data + 4);
	db->ckpt_lsn = get_le64((unsigned char *)v.mv_data + 12);
	db->ckpt_known = true;
	return 0;
}

/* Segments whose tombstone @m carries (their entry's newest version is DROPPED). */
static size_t dropped_in(struct mem *m, uint32_t *ids, size_t max)
{
	size_t n = 0;

	for (struct mem_node *x = mem_next(mem_head(m, KV_SEGS)); x && n < max; x = mem_next(x)) {
		struct mem_ver *v = mem_visible(x, UINT64_MAX);

		if (v && !v->del && x->klen == 4 && v->vlen >= VLOG_SEG_REC_SIZE &&
		    get_le32(v->val + 24) & VLOG_SEG_DROPPED)
			ids[n++] = get_be32(mem_node_key(x));
	}
	return n;
}

/* The tables in the order a checkpoint applies them: keys first (see ckpt_blind()). */
static const int apply_order[KV_NDBI] = { KV_KEYS, KV_INFO, KV_ELEMS, KV_ZIDX, KV_EXP, KV_XATTR,
					  KV_SEGS };

/* What a checkpoint collects while it applies the keys table. */
struct ckpt_state {
	struct vlog_ref *dead; /* value-log records of blind SETs' replaced values */
	size_t ndead, capdead;
	unsigned char *buf;    /* a merged blind record */
	size_t capbuf;
};

/* Make *@p hold at least @need items of @size bytes. Return: false (no memory; *@p kept). */
static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * size);
	if (!n)
		return false;
	*p = n;
	*cap = c;
	return true;
}

/*
 * Apply node @x of the keys table, whose newest version is @v, at @cur, when a version of it
 * is blind (keys.c, "Blind SETs"): read the record the blind one replaced, which the index
 * still holds (no version of this memtable has been applied yet), write the merge if the
 * newest version is the blind one, and drop what the SET replaced along with it. The blind
 * version is the node's oldest. Other tables are changed here (exp, elems, zidx, xattr), so
 * the keys table is applied first: a later version in the memtable of what is dropped here
 * (an expiry entry set again) is applied after, and wins. Return: 0 or -errno.
 */
static int ckpt_blind(struct hkv *db, MDB_txn *txn, MDB_cursor *cur, struct mem_node *x,
		      struct mem_ver *v, struct mem_ver *oldest, struct ckpt_state *st)
{
	MDB_val k = { x->klen, (void *)mem_node_key(x) }, base, d = { 0, NULL }, ov;
	bool found, has_dead = false;
	struct vlog_ref dead;
	int rc;

	rc = mdb_cursor_get(cur, &k, &base, MDB_SET);
	found = !rc;
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_err(rc);
	if (!v->del && krec_is_blind(v->val, v->vlen)) {
		MDB_val b = { v->vlen, v->val };
		ssize_t n;

		if (!grow((void **)&st->buf, &st->capbuf, KREC_MERGED_MAX(v->vlen), 1))
			return -ENOMEM;
		n = krec_merge(&b, found ? &base : NULL, st->buf);
		if (n < 0)
			return (int)n;
		d.mv_size = (size_t)n;
		d.mv_data = st->buf;
	} else if (!v->del) {
		d.mv_size = v->vlen;
		d.mv_data = v->val;
	}
	if (oldest && !oldest->del && krec_is_blind(oldest->val, oldest->vlen)) {
		ov.mv_size = oldest->vlen;
		ov.mv_data = oldest->val;
		rc = krec_blind_apply(db, txn, &k, &ov, found ? &base : NULL, &dead, &has_dead);
		if (rc)
			return rc;
	}
	if (has_dead) {
		if (!grow((void **)&st->dead, &st->capdead, st->ndead + 1, sizeof(*st->dead)))
			return -ENOMEM;
		st->dead[st->ndead++] = dead;
	}
	if (v->del)
		return found ? lmdb_err(mdb_cursor_del(cur, 0)) : 0;
	/* the cursor still stands on the record (other tables were changed, not this one) */
	return lmdb_err(mdb_cursor_put(cur, &k, &d, found ? MDB_CURRENT : 0));
}

/* Steps 1-3 of the design comment. Return: 0, or the error (already given to hkv_fail()). */
static int ckpt_apply(struct hkv *db, struct mem *m, uint64_t lsn)
{
	struct ckpt_state st = { 0 };
	MDB_txn *txn;
	uint64_t n = 0;
	int rc;

	rc = vlog_sync(db->vlog);
	if (rc)
		return rc;
	hook(db, CKPT_STAGE_SYNCED);
	rc = lmdb_err(mdb_txn_begin(db->env, NULL, 0, &txn));
	for (int oi = 0; oi < KV_NDBI && !rc; oi++) {
		int dbix = apply_order[oi];
		MDB_dbi dbi = db->dbis[dbix];
		MDB_cursor *cur = NULL;

		if (mem_next(mem_head(m, dbix)) == NULL)
			continue;
		/*
		 * One cursor for the table's whole run of keys, in key order: LMDB first looks
		 * for a key in the leaf page its cursor is on, so a key that falls on the page of
		 * the one before is put without a search from the root.
		 */
		rc = lmdb_err(mdb_cursor_open(txn, dbi, &cur));
		for (struct mem_node *x = mem_next(mem_head(m, dbix)); x && !rc; x = mem_next(x)) {
			struct mem_ver *v = mem_visible(x, UINT64_MAX), *o;
			MDB_val k = { x->klen, (void *)mem_node_key(x) }, d;

			if (!v)
				continue;
			n++;
			if (dbix == KV_KEYS) {
				for (o = v; o->older; o = o->older)
					;
				if ((!o->del && krec_is_blind(o->val, o->vlen)) ||
				    (!v->del && krec_is_blind(v->val, v->vlen))) {
					rc = ckpt_blind(db, txn, cur, x, v, o, &st);
					continue;
				}
			}
			if (v->del) {
				rc = mdb_cursor_get(cur, &k, &d, MDB_SET);
				if (!rc)
					rc = mdb_cursor_del(cur, 0);
				else if (rc == MDB_NOTFOUND)
					rc = 0;
			} else {
				d.mv_size = v->vlen;
				d.mv_data = v->val;
				rc = mdb_cursor_put(cur, &k, &d, 0);
			}
			rc = lmdb_err(rc);
		}
		if (cur)
			mdb_cursor_close(cur);
	}
	/* blind SETs' replaced values, to be counted dead by compaction (vlog.c) */
	if (!rc && st.ndead)
		rc = vlog_dead_note(db, txn, lsn, st.dead, st.ndead);
	free(st.dead);
	free(st.buf);
	if (!rc)
		rc = ckpt_info_put(db, txn, &m->log_end, lsn);
	if (rc) {
		mdb_txn_abort(txn);
		return hkv_fail(db, rc, "the index (checkpoint)");
	}
	hook(db, CKPT_STAGE_APPLIED);
	if (ckpt_test_commit_fault && (rc = ckpt_test_commit_fault(db))) {
		mdb_txn_abort(txn);
		return hkv_fail(db, rc, "the index (checkpoint)");
	}
	rc = lmdb_err(mdb_txn_commit(txn));
	if (rc)
		return hkv_fail(db, rc, "the index (checkpoint)");
	hook(db, CKPT_STAGE_COMMITTED);
	atomic_fetch_add_explicit(&db->ckpt_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&db->ckpt_records, n, memory_order_relaxed);
	return 0;
}

/* Checkpoint the oldest frozen memtable of the current view. Under ckpt_lock. */
static int ckpt_one(struct hkv *db)
{
	struct mview *v = atomic_load(&db->view), *nv;
	struct mem *m = v->mem[v->n - 1];
	uint32_t drops[MAX_DROPS];
	size_t ndrops;
	uint64_t lsn = m->last_lsn;
	int rc;

	pthread_mutex_unlock(&db->ckpt_lock);
	rc = ckpt_apply(db, m, lsn);
	ndrops = rc ? 0 : dropped_in(m, drops, MAX_DROPS);
	pthread_mutex_lock(&db->ckpt_lock);
	if (rc)
		return rc;
	/* the leader only ever adds a memtable in front, under ckpt_lock as well */
	v = atomic_load(&db->view);
	nv = view_make(v->mem, v->n - 1);
	if (!nv) {
		/* keep the applied memtable in the view; the next checkpoint applies it again */
		hkv_log(db, 1, "checkpoint: no memory for a new view; retried");
		return -ENOMEM;
	}
	db->ckpt_pos = m->log_end;
	db->ckpt_lsn = lsn;
	view_install(db, nv); /* may free m: nothing of it is used after this */
	db->ckpt_done++;
	hook(db, CKPT_STAGE_INSTALLED);
	pthread_cond_broadcast(&db->ckpt_cond);
	pthread_mutex_unlock(&db->ckpt_lock);
	for (size_t i = 0; i < ndrops; i++)
		vlog_drop(db->vlog, drops[i]);
	pthread_mutex_lock(&db->ckpt_lock);
	return 0;
}

static void *ckpt_main(void *arg)
{
	struct hkv *db = arg;
	bool failed = false;

	/* first, what allows blind SETs (keys.c): it reads the whole exp table */
	ttl_build(db);
	pthread_mutex_lock(&db->ckpt_lock);
	while (!db->ckpt_stop) {
		bool retired;

		if (!failed && atomic_load(&db->view)->n > 1) {
			int rc = ckpt_one(db);

			if (rc == -ENOMEM) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 10 * 1000000;
				ts.tv_sec += ts.tv_nsec / 1000000000;
				ts.tv_nsec %= 1000000000;
				pthread_cond_timedwait(&db->ckpt_cond, &db->ckpt_lock, &ts);
			} else if (rc) {
				/* the store stopped taking writes; wake whoever waits for room */
				failed = true;
				pthread_cond_broadcast(&db->ckpt_cond);
			}
			continue;
		}
		pthread_mutex_unlock(&db->ckpt_lock);
		retired = view_collect(db);
		pthread_mutex_lock(&db->ckpt_lock);
		if (db->ckpt_stop || (!failed && atomic_load(&db->view)->n > 1))
			continue;
		if (retired) {
			/* readers still hold an old view: look again shortly */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 5 * 1000000;
			ts.tv_sec += ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&db->ckpt_cond, &db->ckpt_lock, &ts);
		} else {
			pthread_cond_wait(&db->ckpt_cond, &db->ckpt_lock);
		}
	}
	pthread_mutex_unlock(&db->ckpt_lock);
	return NULL;
}

int ckpt_start(struct hkv *db)
{
	if (pthread_create(&db->ckpt, NULL, ckpt_main, db))
		return -EAGAIN;
	db->ckpt_running = true;
	return 0;
}

void ckpt_stop(struct hkv *db)
{
	if (!db->ckpt_running)
		return;
	pthread_mutex_lock(&db->ckpt_lock);
	db->ckpt_stop = true;
	pthread_cond_broadcast(&db->ckpt_cond);
	pthread_mutex_unlock(&db->ckpt_lock);
	pthread_join(db->ckpt, NULL);
	pthread_mutex_lock(&db->ckpt_lock);
	db->ckpt_running = false;
	pthread_cond_broadcast(&db->ckpt_cond);
	pthread_mutex_unlock(&db->ckpt_lock);
}

static int noop_fn(struct wtx *w, void *arg)
{
	(void)w;
	(void)arg;
	return 0;
}

int hkv_checkpoint(struct hkv *db)
{
	uint64_t target;
	int rc;

	if (db->opt.read_only)
		return -EROFS;
	if (hkv_in_txn(db))
		return -EINVAL;
	rc = hkv_writable(db);
	if (rc)
		return rc;
	/* the next group (this empty one, or one already queued) freezes the active memtable */
	atomic_store(&db->freeze_req, true);
	rc = hkv_write(db, noop_fn, NULL);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&db->ckpt_lock);
	target = db->ckpt_frozen;
	while (db->ckpt_done < target && db->ckpt_running && !hkv_writable(db))
		pthread_cond_wait(&db->ckpt_cond, &db->ckpt_lock);
	/* a flush that failed during this checkpoint: its own error */
	rc = db->ckpt_done >= target ? 0 : atomic_load(&db->wfail) ? atomic_load(&db->wfail) : -EIO;
	pthread_mutex_unlock(&db->ckpt_lock);
	return rc;
}
