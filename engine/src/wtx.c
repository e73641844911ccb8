// SPDX-License-Identifier: MIT
/*
 * wtx.c - write groups: group commit into the memtable and the log.
 *
 * Writers do not each write to the store: they queue a function and its argument (struct
 * wq_item) and wait. The first waiter that finds no leader running becomes the leader: it
 * takes every queued item (up to GROUP_MAX) and, alone, for the whole group:
 *
 *  1. freezes the active memtable if it is full or old enough (mem_rotate(); the checkpointer
 *     applies frozen ones to LMDB), waiting if the checkpointer is behind;
 *  2. runs each function in turn on a write transaction (kv.c) that sees the store as
 *     published plus the group's own earlier functions; each function gets its own sequence
 *     number and writes versions with it into the active memtable; a function that fails
 *     (returns < 0) has its versions popped again (mem_pop): it changed nothing, and the
 *     others are not run again;
 *  3. writes one log record (wal.c) with the final state of every index record the group
 *     wrote, appended to the value log after the value records those writes refer to, with
 *     pwrite(): from here a kill -9 of the process loses nothing;
 *  4. under sync=always, flushes the log (fdatasync of the segments written since the last
 *     flush): one flush for the whole group, however many writers are in it;
 *  5. publishes the group: db->pub_seq = its last sequence number, after which every read
 *     that starts sees all of it (and none of it before);
 *  6. tells the watcher which keys changed, hands the lead to the first writer still
 *     queued, and wakes the writers of its group.
 *
 * If step 3 or 4 fails, the whole group is popped from the memtable and every writer in it
 * gets the error; a failed flush also stops the store (hkv_fail()). Nothing a reader saw is
 * ever taken back: nothing is visible before step 5.
 *
 * Under everysec and none no flush is on this path: the background thread flushes once a
 * second (everysec), the checkpointer flushes the log before each checkpoint, and hkv_sync()
 * on demand.
 *
 * Versions and key ids are handed out from counters in struct hkv that only the leader
 * touches. They are not stored with every write: the info table holds a reservation, an upper
 * bound ("version": every version handed out is <= it; "next_id": every id is < it), and a
 * reopened store starts counting at the reservation. The reservation is raised by
 * COUNTER_RESERVE only by a group that hands out a number past it, and in that group's own
 * log record, so a record that survives a crash always comes with (or after) a reservation
 * covering its numbers: whatever prefix of the log a crash leaves, counting after the reopen
 * starts above every number in the store. A group that takes no number past the reservation
 * (a read-only open's close, an empty checkpoint request, writes well within the reserved
 * range) writes no reservation, so opening and closing a store without writing writes
 * nothing. Numbers are never reused by anything that survived (after a crash the ones between
 * the last used and the reservation are skipped); a failed function burns the numbers it
 * took, which is harmless: they only have to increase.
 *
 * Waking: each waiter sleeps on its own condition variable. The leader wakes exactly the
 * writers of its group, then hands the lead to the first writer still queued, so a group of
 * thirty-two costs thirty-two wake-ups rather than thirty-two times the whole queue.
 *
 * Visibility: a writer returns after its group was published, so any read that starts after
 * a write returned sees it. Watch callbacks run before anyone in the group is woken, so a
 * cache the watcher invalidates never serves a value older than an acknowledged write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_int.h"
#include "vlog_int.h"

#define GROUP_MAX 512

/* The store whose group the calling thread is running, if any (a write from there waits for
 * itself). */
static __thread struct hkv *leading;

#define COUNTER_RESERVE (1ull << 20)

uint64_t wtx_test_reserve;
void (*wtx_test_rotate_hook)(struct hkv *db);

struct wq_item {
	wtx_fn fn;
	void *arg;
	int rc;
	bool done;   /* under wq_lock */
	bool lead;   /* under wq_lock: this writer is to lead the next group */
	bool failed; /* its function failed and was rolled back */
	pthread_cond_t cond;
	struct wq_item *next;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	/* the coarse clock (a tick's resolution) is enough for intervals of seconds, and cheaper */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t wtx_version(struct wtx *w)
{
	return __atomic_add_fetch(&w->db->version, 1, __ATOMIC_RELAXED);
}

uint64_t wtx_new_id(struct wtx *w)
{
	return w->db->next_id++;
}

void wtx_touch(struct wtx *w, const void *key, size_t klen, uint64_t version)
{
	size_t need = 2 + klen + 8;

	if (!w->db->watch)
		return;
	if (w->touched_len + need > w->touched_cap) {
		size_t cap = w->touched_cap ? w->touched_cap * 2 : 4096;
		unsigned char *p;

		while (cap < w->touched_len + need)
			cap *= 2;
		p = realloc(w->touched, cap);
		if (!p) {
			/* the watcher is told to drop everything instead (see notify()) */
			w->touch_oom = true;
			return;
		}
		w->touched = p;
		w->touched_cap = cap;
	}
	put_le16(w->touched + w->touched_len, (uint16_t)klen);
	memcpy(w->touched + w->touched_len + 2, key, klen);
	put_le64(w->touched + w->touched_len + 2 + klen, version);
	w->touched_len += need;
}

static void notify(struct hkv *db, struct wtx *w)
{
	size_t off = 0;

	if (!db->watch)
		return;
	if (w->touch_oom) {
		/* an empty key means "anything may have changed" */
		db->watch(db->watch_arg, "", 0, 0);
		return;
	}
	while (off < w->touched_len) {
		uint16_t l = get_le16(w->touched + off);

		db->watch(db->watch_arg, w->touched + off + 2, l,
			  get_le64(w->touched + off + 2 + l));
		off += 2 + l + 8;
	}
}

uint32_t mem_buckets(const struct hkv *db)
{
	uint64_t want = db->opt.ckpt_bytes / 64;
	uint32_t n = 1024;

	while (n < want && n < (1u << 22))
		n <<= 1;
	return n;
}

/*
 * Step 1: freeze the active memtable when it is due, installing a new view with a new active
 * memtable in front; at most MVIEW_MAX memtables exist, so a leader that finds the
 * checkpointer that far behind waits for it (the write stall a checkpoint can cause).
 */
static int mem_rotate(struct hkv *db)
{
	struct mview *v, *nv;
	struct mem *a, *mems[MVIEW_MAX], *fresh;
	bool forced = atomic_exchange(&db->freeze_req, false), due;
	int rc = 0;

	/*
	 * Whether the active memtable is due, on a pinned view: the checkpointer installs views
	 * too (under ckpt_lock, which this check does not take) and frees the retired ones that
	 * no hazard pointer holds, so an unpinned view can be freed under the reader.
	 */
	v = view_pin(db, &db->whp);
	if (wtx_test_rotate_hook)
		wtx_test_rotate_hook(db);
	a = v->mem[0];
	due = a->nodes &&
	      (forced || atomic_load(&a->bytes) >= db->opt.ckpt_bytes ||
	       (db->opt.ckpt_interval_ms &&
		mono_ms() - a->created_ms >= (int64_t)db->opt.ckpt_interval_ms));
	view_unpin(&db->whp);
	if (!due)
		return 0;
	pthread_mutex_lock(&db->ckpt_lock);
	while (atomic_load(&db->view)->n >= MVIEW_MAX && !(rc = hkv_writable(db)) &&
	       db->ckpt_running)
		pthread_cond_wait(&db->ckpt_cond, &db->ckpt_lock);
	if (rc)
		goto out_unlock;
	/* under ckpt_lock the view cannot change: only this leader and the checkpointer install */
	v = atomic_load(&db->view);
	a = v->mem[0];
	if (v->n >= MVIEW_MAX)
		goto out_unlock; /* no checkpointer (read-only store): nothing to do */
	/* its index as large as the frozen one's grew: no doubling while it fills as far */
	fresh = mem_new(mem_buckets(db), mem_index_slots(a), db->hkey[0] ^ db->seq_last,
			db->mpool);
	if (!fresh)
		goto out_unlock; /* the full one takes more writes; tried again next group */
	/*
	 * The new memtable covers the log from where the frozen one ends: were every group
	 * written into it to fail (its nodes stay, without versions), a checkpoint of it must
	 * still record that position, never the zero position of a memtable never logged to.
	 */
	fresh->log_end = a->log_end;
	fresh->last_lsn = a->last_lsn;
	mems[0] = fresh;
	for (int i = 0; i < v->n; i++)
		mems[i + 1] = v->mem[i];
	nv = view_make(mems, v->n + 1);
	if (!nv) {
		mem_free(fresh);
		goto out_unlock;
	}
	atomic_store(&a->frozen, true);
	view_install(db, nv);
	db->ckpt_frozen++;
	pthread_cond_broadcast(&db->ckpt_cond);
out_unlock:
	pthread_mutex_unlock(&db->ckpt_lock);
	return rc;
}

/* Pop every version the group wrote. */
static void group_rollback(struct wtx *w, uint64_t first_seq)
{
	for (size_t i = 0; i < w->ntn; i++)
		mem_pop(w->tn[i], first_seq);
	w->ntn = 0;
}

/* Steps 1-6 of the design comment, for one group. Return: 0, or the error the group got. */
static int run_group(struct hkv *db, struct wq_item *group)
{
	struct wtx w = { .db = db };
	uint64_t first, vres = db->version_reserved, ires = db->id_reserved;
	uint64_t step = wtx_test_reserve ? wtx_test_reserve : COUNTER_RESERVE;
	struct vlog_ref ref = { 0 };
	struct mem *a;
	size_t len = 0;
	int rc, live = 0;

	/* a flush failed while this group waited: nothing more may be acknowledged */
	rc = hkv_writable(db);
	if (!rc)
		rc = mem_rotate(db);
	if (rc)
		goto out_fail;
	db->wview.view = view_pin(db, &db->whp);
	/* its LMDB snapshot at first use (kv.c): a group that reads only memtables takes none */
	db->wview.lazy = true;
	db->wview.seq = UINT64_MAX;
	db->wview.w = &w;
	w.txn = &db->wview;
	w.tn = db->wtn;
	w.captn = db->wtn_cap;
	a = db->wview.view->mem[0];
	if (!a->created_ms)
		a->created_ms = mono_ms();
	w.now_ns = hkv_now_ns(db);
	w.now_ms = db->opt.clock ? hkv_now_ms(db) : w.now_ns / 1000000;

	first = db->seq_last + 1;
	for (struct wq_item *it = group; it; it = it->next) {
		size_t tn0 = w.ntn, t0 = w.touched_len;
		bool oom0 = w.touch_oom;
		uint64_t s0;

		/* a transaction's operations take later numbers still (run_nested()) */
		s0 = w.seq = ++db->seq_last;
		it->rc = it->fn(&w, it->arg);
		if (it->rc < 0) {
			for (size_t i = tn0; i < w.ntn; i++)
				mem_pop(w.tn[i], s0);
			w.ntn = tn0;
			w.touched_len = t0;
			w.touch_oom = oom0;
			it->failed = true;
			continue;
		}
		live++;
	}
	if (!live)
		goto out_end;

	w.seq = ++db->seq_last;
	/* a number past the persisted bound: raise it in this group's own record */
	if (db->version > vres) {
		vres = db->version + step;
		rc = info_put_u64(w.txn, db->dbi_info, "version", vres);
	}
	if (!rc && db->next_id > ires) {
		ires = db->next_id + step;
		rc = info_put_u64(w.txn, db->dbi_info, "next_id", ires);
	}
	if (!rc)
		rc = wal_encode(db, &w, first, db->lsn + 1, &len);
	if (!rc && len)
		rc = vlog_append_record(db->vlog, db->walbuf, len, &ref);
	if (!rc && len && db->opt.sync == HKV_SYNC_ALWAYS)
		rc = vlog_sync(db->vlog);
	if (rc) {
		hkv_log(db, 0, "write group failed: %s", hkv_strerror(rc));
		if (len && ref.len)
			vlog_unappend(db->vlog, &ref);
		group_rollback(&w, first);
		for (struct wq_item *it = group; it; it = it->next)
			if (!it->failed)
				it->rc = rc;
		goto out_end;
	}
	if (len) {
		db->lsn++;
		a->last_lsn = db->lsn;
		a->log_end.seg = ref.seg;
		a->log_end.off = ref.off + ref.len;
		if (db->opt.sync == HKV_SYNC_ALWAYS)
			atomic_fetch_add_explicit(&db->st.syncs, 1, memory_order_relaxed);
		else
			atomic_store(&db->dirty, true);
	}
	db->version_reserved = vres;
	db->id_reserved = ires;
	atomic_store_explicit(&db->pub_seq, db->seq_last, memory_order_seq_cst);
	atomic_fetch_add_explicit(&db->st.commits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&db->st.writes, (uint64_t)live, memory_order_relaxed);
	notify(db, &w);
out_end:
	db->wtn = w.tn;
	db->wtn_cap = w.captn;
	free(w.touched);
	db->wview.w = NULL;
	kv_scratch_free(&db->wview);
	if (!db->wview.lazy)
		mdb_txn_reset(db->wview.lmdb);
	view_unpin(&db->whp);
	return rc;

out_fail:
	for (struct wq_item *it = group; it; it = it->next)
		it->rc = rc;
	return rc;
}

/*
 * A write inside a transaction: run @fn at once in the group's write transaction, with a
 * sequence number of its own, so that if it fails its versions alone are popped and the
 * transaction goes on (its function decides whether to abort).
 */
static int run_nested(struct hkv *db, wtx_fn fn, void *arg)
{
	struct wtx *w = db->txw;
	struct hkv *root = db->root;
	size_t tn0 = w->ntn, t0 = w->touched_len;
	bool oom0 = w->touch_oom;
	uint64_t s0 = w->seq = ++root->seq_last;
	int rc = fn(w, arg);

	if (rc < 0) {
		for (size_t i = tn0; i < w->ntn; i++)
			mem_pop(w->tn[i], s0);
		w->ntn = tn0;
		w->touched_len = t0;
		w->touch_oom = oom0;
	}
	return rc;
}

int hkv_write(struct hkv *db, wtx_fn fn, void *arg)
{
	struct wq_item it = { .fn = fn, .arg = arg };

	if (db->opt.read_only)
		return -EROFS;
	if (hkv_in_txn(db))
		return run_nested(db, fn, arg);
	if (leading == db) {
		/* a callback (or a transaction using the store's handle) of the running group */
		hkv_log(db, 0, "a write from inside a write of the same store (a callback, or a "
			"transaction function using the store's handle instead of its own): refused");
		return -EDEADLK;
	}
	if (hkv_writable(db))
		return -HKV_ESTOPPED;
	pthread_cond_init(&it.cond, NULL);
	pthread_mutex_lock(&db->wq_lock);
	*db->wq_tail = &it;
	db->wq_tail = &it.next;
	if (!db->wq_busy) {
		db->wq_busy = true;
		it.lead = true;
	}
	for (;;) {
		struct wq_item *group, *last;
		int n = 1;

		while (!it.done && !it.lead)
			pthread_cond_wait(&it.cond, &db->wq_lock);
		if (it.done)
			break;
		/* lead: take up to GROUP_MAX items off the head of the queue */
		it.lead = false;
		group = last = db->wq_head;
		while (last->next && n < GROUP_MAX) {
			last = last->next;
			n++;
		}
		db->wq_head = last->next;
		if (!db->wq_head)
			db->wq_tail = &db->wq_head;
		last->next = NULL;
		pthread_mutex_unlock(&db->wq_lock);

		leading = db;
		run_group(db, group);
		leading = NULL;

		pthread_mutex_lock(&db->wq_lock);
		/* hand the lead to the first writer still waiting (possibly ourselves) */
		if (db->wq_head) {
			db->wq_head->lead = true;
			if (db->wq_head != &it)
				pthread_cond_signal(&db->wq_head->cond);
		} else {
			db->wq_busy = false;
		}
		for (struct wq_item *g = group, *next; g; g = next) {
			next = g->next;
			g->done = true; /* g may be gone as soon as its owner sees this */
			if (g != &it)
				pthread_cond_signal(&g->cond);
		}
	}
	pthread_mutex_unlock(&db->wq_lock);
	pthread_cond_destroy(&it.cond);
	return it.rc;
}

/* ---------------------------------------------------------------------------------------
 * Transactions
 */

struct txn_args {
	hkv_txn_fn fn;
	void *arg;
};

static int txn_fn(struct wtx *w, void *arg)
{
	struct txn_args *a = arg;
	struct hkv *tx;
	int rc;

	/*
	 * The handle the function gets (see struct hkv): the fields fixed at open, copied; the
	 * rest, which other threads change (and a transaction handle never uses), left zero.
	 */
	tx = calloc(1, sizeof(*tx));
	if (!tx)
		return -ENOMEM;
	memcpy(tx, w->db, offsetof(struct hkv, HKV_SHARED_FIRST));
	tx->txw = w;
	tx->root = w->db;
	rc = a->fn(tx, a->arg);
	free(tx);
	return rc;
}

int hkv_txn_run(struct hkv *db, hkv_txn_fn fn, void *arg)
{
	struct txn_args a = { fn, arg };

	if (!fn)
		return -EINVAL;
	if (hkv_in_txn(db)) {
		/* nested: part of the enclosing transaction, undone alone if it fails */
		return run_nested(db, txn_fn, &a);
	}
	return hkv_write(db, txn_fn, &a);
}
