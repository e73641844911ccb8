// SPDX-License-Identifier: MIT
/*
 * wtx.c - write transactions and group commit.
 *
 * LMDB admits one write transaction at a time, and under sync=always the flush after a commit
 * costs milliseconds. So writers do not each open a transaction: they queue a function and
 * its argument (struct wq_item) and wait. The first waiter that finds no leader running
 * becomes the leader: it takes every queued item (up to GROUP_MAX), runs them one after the
 * other in a single LMDB transaction, commits, flushes if the policy says so, reports the
 * touched keys to the watcher, and wakes the group. Writers that arrive meanwhile queue up for
 * the next group, so the cost of one commit and one flush is shared by everyone who waited
 * for it, and the throughput of fsync-bound writes grows with the number of writers.
 *
 * Each function runs on a state that includes the effects of the functions before it in the
 * group, exactly as if they had been separate transactions in that order. A function that
 * fails (returns < 0) must not be committed, but LMDB cannot undo part of a transaction
 * (nested transactions would allocate megabytes each), so the leader aborts the transaction
 * and runs the rest of the group again in a new one, without the failed function. Functions
 * therefore have no side effects outside the transaction other than appending value-log
 * records, which are dead until a committed record references them.
 *
 * Versions and key ids are handed out from counters in struct hkv that only the leader
 * touches (wq_busy serialises leaders). They are not stored with every commit: the info table
 * holds a reservation, an upper bound raised by COUNTER_RESERVE in the transaction whose
 * numbers reach it, and a reopened store starts counting at the reservation. Numbers are
 * never reused (after a crash the ones between the last used and the reservation are simply
 * skipped), and a commit costs no extra record. An aborted run burns the numbers it took,
 * which is harmless: they only have to increase.
 *
 * Pipelining: the leader hands the lead on as soon as its group is committed, and flushes
 * and notifies after that, so under sync=always the next group's transaction runs while this
 * one's flush is under way (and that flush then often covers part of it already). Watch
 * callbacks of two consecutive groups may therefore run at the same time.
 *
 * Waking: each waiter sleeps on its own condition variable. The leader wakes exactly the
 * writers of its group, then hands the lead to the first writer still queued, so a group of
 * thirty-two costs thirty-two wake-ups rather than thirty-two times the whole queue (a
 * thundering herd that, on two CPUs, used to cost more than the flush it was waiting for).
 *
 * Visibility: a writer returns after its group committed, so any read that starts after a
 * write returned sees it. Watch callbacks run before anyone in the group is woken, so a cache
 * the watcher invalidates never serves a value older than an acknowledged write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hkv_int.h"

#define GROUP_MAX 512

#define COUNTER_RESERVE (1ull << 20)

struct wq_item {
	wtx_fn fn;
	void *arg;
	int rc;
	bool done;   /* under wq_lock */
	bool lead;   /* under wq_lock: this writer is to lead the next group */
	bool failed; /* excluded from the group's transaction */
	pthread_cond_t cond;
	struct wq_item *next;
};

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
	uint16_t l = (uint16_t)klen;

	memcpy(w->touched + w->touched_len, &l, 2);
	memcpy(w->touched + w->touched_len + 2, key, klen);
	memcpy(w->touched + w->touched_len + 2 + klen, &version, 8);
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
		uint16_t l;
		uint64_t version;

		memcpy(&l, w->touched + off, 2);
		memcpy(&version, w->touched + off + 2 + l, 8);
		db->watch(db->watch_arg, w->touched + off + 2, l, version);
		off += 2 + l + 8;
	}
}

/* Run the group once. Return: 0 committed; 1 a function failed (run again); < 0 commit error */
static int run_once(struct hkv *db, struct wtx *w, struct wq_item *group)
{
	uint64_t vres = db->version_reserved, ires = db->id_reserved;
	int rc, live = 0;

	rc = mdb_txn_begin(db->env, NULL, 0, &w->txn);
	if (rc)
		return lmdb_err(rc);
	w->now_ns = hkv_now_ns(db);
	w->now_ms = db->opt.clock ? hkv_now_ms(db) : w->now_ns / 1000000;
	w->touched_len = 0;
	w->touch_oom = false;
	for (struct wq_item *it = group; it; it = it->next) {
		if (it->failed)
			continue;
		it->rc = it->fn(w, it->arg);
		if (it->rc < 0) {
			it->failed = true;
			mdb_txn_abort(w->txn);
			return 1;
		}
		live++;
	}
	if (!live) {
		mdb_txn_abort(w->txn);
		return 0;
	}
	rc = 0;
	if (db->version >= vres) {
		vres = db->version + COUNTER_RESERVE;
		rc = info_put_u64(w->txn, db->dbi_info, "version", vres);
	}
	if (!rc && db->next_id >= ires) {
		ires = db->next_id + COUNTER_RESERVE;
		rc = info_put_u64(w->txn, db->dbi_info, "next_id", ires);
	}
	/*
	 * Under sync=always the value-log records this group links to reach the disk before the
	 * index that points at them can (a NOSYNC commit may be written back at any moment).
	 */
	if (!rc && db->opt.sync == HKV_SYNC_ALWAYS)
		rc = vlog_sync(db->vlog);
	if (rc) {
		mdb_txn_abort(w->txn);
		return rc;
	}
	rc = mdb_txn_commit(w->txn);
	if (rc)
		return lmdb_err(rc);
	db->version_reserved = vres;
	db->id_reserved = ires;
	atomic_fetch_add_explicit(&db->st.commits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&db->st.writes, (uint64_t)live, memory_order_relaxed);
	return 0;
}

/* Commit the group; on failure every function still in it gets the error. */
static int commit_group(struct hkv *db, struct wtx *w, struct wq_item *group)
{
	int rc;

	/* a flush failed while this group waited: nothing more may be acknowledged */
	rc = hkv_writable(db);
	if (rc) {
		for (struct wq_item *it = group; it; it = it->next)
			it->rc = rc;
		return rc;
	}
	do
		rc = run_once(db, w, group);
	while (rc == 1);
	if (rc) {
		hkv_log(db, 0, "write transaction failed: %s", hkv_strerror(rc));
		for (struct wq_item *it = group; it; it = it->next)
			if (!it->failed)
				it->rc = rc;
	}
	return rc;
}

/*
 * After the commit, outside the lead: flush (sync=always) and tell the watcher. The next
 * group is meanwhile being run by the next leader, so its commit overlaps this flush.
 */
static void finish_group(struct hkv *db, struct wtx *w, struct wq_item *group, int rc)
{
	if (!rc) {
		if (db->opt.sync == HKV_SYNC_ALWAYS) {
			rc = hkv_writable(db);
			if (!rc) {
				rc = lmdb_err(mdb_env_sync(db->env, 1));
				if (rc)
					hkv_fail(db, rc, "the index");
			}
			if (rc) {
				for (struct wq_item *it = group; it; it = it->next)
					if (!it->failed)
						it->rc = rc;
			} else {
				atomic_fetch_add_explicit(&db->st.syncs, 1, memory_order_relaxed);
			}
		} else {
			atomic_store(&db->dirty, true);
		}
		/* the data is committed (and flushed) whatever rc says: caches must drop it */
		notify(db, w);
	}
	free(w->touched);
}

int hkv_write(struct hkv *db, wtx_fn fn, void *arg)
{
	struct wq_item it = { .fn = fn, .arg = arg };

	if (db->opt.read_only)
		return -EROFS;
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
		struct wtx w = { .db = db };
		int n = 1, rc;

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

		rc = commit_group(db, &w, group);

		pthread_mutex_lock(&db->wq_lock);
		/* hand the lead to the first writer still waiting (possibly ourselves) */
		if (db->wq_head) {
			db->wq_head->lead = true;
			if (db->wq_head != &it)
				pthread_cond_signal(&db->wq_head->cond);
		} else {
			db->wq_busy = false;
		}
		pthread_mutex_unlock(&db->wq_lock);

		finish_group(db, &w, group, rc);

		pthread_mutex_lock(&db->wq_lock);
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
