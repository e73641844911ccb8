// SPDX-License-Identifier: MIT
/*
 * kv.c - the merged view of the index: LMDB's last checkpoint overlaid with the memtables
 * (mem.c), behind an interface shaped like LMDB's own (kv_get/kv_put/kv_del and cursors that
 * take the same MDB_val arguments and return the same codes), so that every command is
 * written once, against one ordered key-value store, whatever part of it is still in memory.
 *
 * A transaction (struct kvtx) is three things taken in this order:
 *
 *   1. a view (struct mview): the list of memtables to consult, newest first, pinned with a
 *      hazard pointer so that the checkpointer cannot free them under the reader;
 *   2. an LMDB read snapshot;
 *   3. a sequence number S = db->pub_seq: versions above it are invisible.
 *
 * Why the order is safe: the checkpointer commits a memtable's contents to LMDB and only then
 * installs a view without it, so a view taken before a snapshot never lacks data the snapshot
 * lacks too (the memtables it still lists hold the same values as the snapshot, or newer
 * ones). S is read after the snapshot, so S covers everything the snapshot holds: a record
 * is never seen newer in LMDB than in the memtables. And a view whose active memtable got
 * frozen meanwhile is stale (writes after S may be in a newer memtable it does not list):
 * rtx_begin() then starts over, so every transaction reads one state: the store after group S.
 *
 * Reads: kv_get() asks each memtable of the view (one hash probe each) for the newest version
 * <= S of the record, and LMDB if none has one; a tombstone means absent. Cursors merge the
 * memtables' skiplists with an LMDB cursor: at each step the smallest (largest, backwards)
 * key of all sources wins, the newest source wins a tie, and a tombstone is skipped together
 * with everything it hides. A memtable source walks forward from a node at or before the
 * cursor's key, so records the writer inserts ahead of a cursor during its own write function
 * are met, as in an LMDB write transaction; backward steps search the skiplist.
 *
 * Writes (the group-commit leader only, through its write transaction: S = infinity, so it
 * sees its own group) put a new version into the active memtable with the write function's
 * sequence number and list the node in the group's touched list, from which wtx.c writes the
 * log record and rolls back a failed function.
 *
 * Hazard pointers: each transaction owns a struct hp_rec on db->hp_all. Pinning stores the
 * view into it and checks that db->view is still that view (both seq_cst); the checkpointer
 * installs a new view (seq_cst) and only then reads the hazard pointers, so a retired view is
 * freed only once no transaction can still be using it; a memtable goes with the last view that
 * holds it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_int.h"

/* ---------------------------------------------------------------------------------------
 * Views and hazard pointers
 */

void hp_register(struct hkv *db, struct hp_rec *hp)
{
	atomic_init(&hp->hp, NULL);
	pthread_mutex_lock(&db->hp_lock);
	hp->prev = NULL;
	hp->next = db->hp_all;
	if (hp->next)
		hp->next->prev = hp;
	db->hp_all = hp;
	pthread_mutex_unlock(&db->hp_lock);
}

void hp_unregister(struct hkv *db, struct hp_rec *hp)
{
	pthread_mutex_lock(&db->hp_lock);
	if (hp->prev)
		hp->prev->next = hp->next;
	else
		db->hp_all = hp->next;
	if (hp->next)
		hp->next->prev = hp->prev;
	pthread_mutex_unlock(&db->hp_lock);
}

struct mview *view_pin(struct hkv *db, struct hp_rec *hp)
{
	struct mview *v;

	for (;;) {
		v = atomic_load_explicit(&db->view, memory_order_acquire);
		atomic_store_explicit(&hp->hp, v, memory_order_seq_cst);
		if (atomic_load_explicit(&db->view, memory_order_seq_cst) == v)
			return v;
	}
}

void view_unpin(struct hp_rec *hp)
{
	atomic_store_explicit(&hp->hp, NULL, memory_order_release);
}

static void view_free(struct mview *v)
{
	for (int i = 0; i < v->n; i++)
		if (atomic_fetch_sub(&v->mem[i]->refs, 1) == 1)
			mem_free(v->mem[i]);
	free(v);
}

struct mview *view_make(struct mem *const *mems, int n)
{
	struct mview *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	for (int i = 0; i < n; i++) {
		v->mem[i] = mems[i];
		atomic_fetch_add(&mems[i]->refs, 1);
	}
	v->n = n;
	return v;
}

/* Free the retired views no transaction holds. Under view_lock. */
static void view_reclaim(struct hkv *db)
{
	struct mview **pp = &db->retired;

	while (*pp) {
		struct mview *r = *pp;
		bool held = false;

		pthread_mutex_lock(&db->hp_lock);
		for (struct hp_rec *h = db->hp_all; h && !held; h = h->next)
			held = atomic_load_explicit(&h->hp, memory_order_seq_cst) == r;
		pthread_mutex_unlock(&db->hp_lock);
		if (held) {
			pp = &r->retired_next;
			continue;
		}
		*pp = r->retired_next;
		view_free(r);
	}
}

void view_install(struct hkv *db, struct mview *v)
{
	struct mview *old;

	pthread_mutex_lock(&db->view_lock);
	old = atomic_exchange_explicit(&db->view, v, memory_order_seq_cst);
	if (old) {
		old->retired_next = db->retired;
		db->retired = old;
	}
	view_reclaim(db);
	pthread_mutex_unlock(&db->view_lock);
}

bool view_collect(struct hkv *db)
{
	bool left;

	pthread_mutex_lock(&db->view_lock);
	view_reclaim(db);
	left = db->retired != NULL;
	pthread_mutex_unlock(&db->view_lock);
	return left;
}

void view_release_all(struct hkv *db)
{
	struct mview *v = atomic_exchange(&db->view, NULL), *r, *next;

	if (v)
		view_free(v);
	for (r = db->retired; r; r = next) {
		next = r->retired_next;
		view_free(r);
	}
	db->retired = NULL;
}

/* ---------------------------------------------------------------------------------------
 * Read transactions
 */

/**
 * struct rtx_slot - the read transaction a thread keeps (reset between reads) and its
 * hazard pointer; on db->rtx_all so that hkv_close() can free those of live threads.
 */
struct rtx_slot {
	struct kvtx tx;
	struct hp_rec hp;
	bool busy;
	atomic_uint_fast64_t reads; /* written by the owning thread only */
	struct rtx_slot *next, *prev;
};

static void rtx_slot_free(void *p)
{
	struct rtx_slot *slot = p;
	struct hkv *db = slot->tx.db;

	pthread_mutex_lock(&db->rtx_lock);
	atomic_fetch_add_explicit(&db->st.reads, atomic_load_explicit(&slot->reads,
				  memory_order_relaxed), memory_order_relaxed);
	if (slot->prev)
		slot->prev->next = slot->next;
	else
		db->rtx_all = slot->next;
	if (slot->next)
		slot->next->prev = slot->prev;
	pthread_mutex_unlock(&db->rtx_lock);
	hp_unregister(db, &slot->hp);
	mdb_txn_abort(slot->tx.lmdb);
	free(slot);
}

int rtx_init(struct hkv *db)
{
	return pthread_key_create(&db->rtx_key, rtx_slot_free) ? -ENOMEM : 0;
}

void rtx_fini(struct hkv *db)
{
	struct rtx_slot *slot, *next;

	pthread_key_delete(db->rtx_key);
	for (slot = db->rtx_all; slot; slot = next) {
		next = slot->next;
		hp_unregister(db, &slot->hp);
		mdb_txn_abort(slot->tx.lmdb);
		free(slot);
	}
	db->rtx_all = NULL;
}

uint64_t rtx_reads(struct hkv *db)
{
	uint64_t n = atomic_load_explicit(&db->st.reads, memory_order_relaxed);

	pthread_mutex_lock(&db->rtx_lock);
	for (struct rtx_slot *s = db->rtx_all; s; s = s->next)
		n += atomic_load_explicit(&s->reads, memory_order_relaxed);
	pthread_mutex_unlock(&db->rtx_lock);
	return n;
}

/*
 * Take view, LMDB snapshot and sequence number in that order (see the top of this file); a
 * view whose active memtable froze meanwhile is stale: start over. @fresh: begin the LMDB
 * transaction rather than renew it.
 */
static int tx_start(struct hkv *db, struct kvtx *tx, bool fresh)
{
	int rc;

	for (;;) {
		tx->view = view_pin(db, tx->hp);
		rc = fresh ? mdb_txn_begin(db->env, NULL, MDB_RDONLY, &tx->lmdb)
			   : mdb_txn_renew(tx->lmdb);
		if (rc) {
			view_unpin(tx->hp);
			return lmdb_err(rc);
		}
		tx->seq = atomic_load_explicit(&db->pub_seq, memory_order_seq_cst);
		if (!atomic_load_explicit(&tx->view->mem[0]->frozen, memory_order_seq_cst))
			return 0;
		view_unpin(tx->hp);
		if (fresh) {
			mdb_txn_abort(tx->lmdb);
			tx->lmdb = NULL;
		} else {
			mdb_txn_reset(tx->lmdb);
		}
	}
}

int rtx_begin(struct hkv *db, struct kvtx **out)
{
	struct rtx_slot *slot;
	struct kvtx *tx;
	int rc;

	if (hkv_in_txn(db)) {
		/* a read inside a transaction sees the transaction's own writes */
		*out = db->txw->txn;
		return 0;
	}
	slot = pthread_getspecific(db->rtx_key);

	if (slot && !slot->busy) {
		rc = tx_start(db, &slot->tx, false);
		if (rc)
			return rc;
		slot->busy = true;
		atomic_store_explicit(&slot->reads,
				      atomic_load_explicit(&slot->reads, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		*out = &slot->tx;
		return 0;
	}
	if (slot) {
		/* a read inside a callback of another read: a transaction of its own */
		struct rtx_slot *n = calloc(1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		n->tx.db = db;
		n->tx.hp = &n->hp;
		n->tx.own = true;
		hp_register(db, &n->hp);
		rc = tx_start(db, &n->tx, true);
		if (rc) {
			hp_unregister(db, &n->hp);
			free(n);
			return rc;
		}
		*out = &n->tx;
		return 0;
	}

	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	tx = &slot->tx;
	tx->db = db;
	tx->hp = &slot->hp;
	hp_register(db, &slot->hp);
	rc = tx_start(db, tx, true);
	if (rc) {
		hp_unregister(db, &slot->hp);
		free(slot);
		return rc;
	}
	if (pthread_setspecific(db->rtx_key, slot)) {
		view_unpin(tx->hp);
		hp_unregister(db, &slot->hp);
		mdb_txn_abort(tx->lmdb);
		free(slot);
		return -ENOMEM;
	}
	slot->busy = true;
	pthread_mutex_lock(&db->rtx_lock);
	slot->next = db->rtx_all;
	if (slot->next)
		slot->next->prev = slot;
	db->rtx_all = slot;
	pthread_mutex_unlock(&db->rtx_lock);
	*out = tx;
	return 0;
}

void rtx_end(struct hkv *db, struct kvtx *tx)
{
	struct rtx_slot *slot;

	if (tx->w)
		return; /* the write transaction's reads: it ends with its group */
	kv_scratch_free(tx);
	view_unpin(tx->hp);
	if (tx->own) {
		slot = (struct rtx_slot *)((char *)tx - offsetof(struct rtx_slot, tx));
		hp_unregister(db, &slot->hp);
		mdb_txn_abort(tx->lmdb);
		free(slot);
		return;
	}
	slot = (struct rtx_slot *)((char *)tx - offsetof(struct rtx_slot, tx));
	mdb_txn_reset(tx->lmdb);
	slot->busy = false;
}

/* ---------------------------------------------------------------------------------------
 * Point reads and writes
 */

static int dbix_of(const struct kvtx *tx, MDB_dbi dbi)
{
	return dbi < KV_MAXDBI ? tx->db->dbix[dbi] : -1;
}

/*
 * @tx's LMDB snapshot, taken now if it was left for its first use (the leader's: a group of
 * writes that read only memtables never takes one). Taken after the view was pinned, as at the
 * start of any transaction. Return: 0, or an LMDB code.
 */
static int tx_snap(struct kvtx *tx)
{
	int rc;

	if (!tx->lazy)
		return 0;
	rc = mdb_txn_renew(tx->lmdb);
	if (!rc)
		tx->lazy = false;
	return rc;
}

/*
 * The newest version of (@dbix, @k) visible to @tx in its memtables from the @from-th on (its
 * index in *@at), or NULL if none has it. @h: mem_hash() of the key, 0 to compute it here.
 */
static struct mem_ver *mem_lookup(struct kvtx *tx, int dbix, const MDB_val *k, int from,
				  int *at, uint64_t h)
{
	bool hashed = h != 0;

	/*
	 * Each probe starts with a cache miss (its memtable's filter word): start them all
	 * first, so that they overlap; and the writer's first slot in the active memtable,
	 * where its put will go.
	 */
	for (int i = from; i < tx->view->n; i++) {
		struct mem *m = tx->view->mem[i];

		/* after a checkpoint the memtables are empty: no hash, no probe before LMDB */
		if (mem_is_empty(m))
			continue;
		if (!hashed) {
			h = mem_hash(tx->db, dbix, k->mv_data, k->mv_size);
			hashed = true;
		}
		mem_prefetch(m, h, i == 0 && tx->w);
	}
	if (!hashed)
		return NULL;
	for (int i = from; i < tx->view->n; i++) {
		struct mem *m = tx->view->mem[i];
		struct mem_node *n;
		struct mem_ver *v;

		if (mem_is_empty(m))
			continue;
		n = mem_find(m, dbix, k->mv_data, k->mv_size, h);
		v = n ? mem_visible(n, tx->seq) : NULL;
		if (v) {
			*at = i;
			return v;
		}
	}
	return NULL;
}

int kv_mem_get(struct kvtx *tx, MDB_dbi dbi, const MDB_val *k, uint64_t h, MDB_val *v,
	       int *at)
{
	int dbix = dbix_of(tx, dbi);
	struct mem_ver *mv;

	if (dbix < 0)
		return EINVAL;
	mv = mem_lookup(tx, dbix, k, 0, at, h);
	if (!mv)
		return MDB_NOTFOUND;
	if (mv->del)
		return KV_TOMBSTONE;
	v->mv_size = mv->vlen;
	v->mv_data = mv->val;
	return 0;
}

/* ---------------------------------------------------------------------------------------
 * Blind key records (keys.c, "Blind SETs")
 *
 * A blind record found in memtable i of the view is merged with the record it replaced: the
 * newest version of the key in the memtables after i, or else in the LMDB snapshot. That is
 * the record the writer would have read, also for a reader whose view still lists a memtable
 * the writer's view no longer did (its snapshot predates that memtable's checkpoint, so the
 * version there is what the writer read from the index); a version found there that is blind
 * itself is merged the same way first. The merged bytes live in the transaction's scratch
 * memory until the transaction ends, as LMDB's pointers live until the snapshot ends.
 */

struct kv_scratch {
	struct kv_scratch *next;
	size_t used, cap;
	unsigned char b[];
};

#define SCRATCH_BLOCK 4096

static unsigned char *scratch_alloc(struct kvtx *tx, size_t n)
{
	struct kv_scratch *s = tx->scr;

	if (!s || s->cap - s->used < n) {
		size_t cap = n > SCRATCH_BLOCK ? n : SCRATCH_BLOCK;

		s = malloc(sizeof(*s) + cap);
		if (!s)
			return NULL;
		s->used = 0;
		s->cap = cap;
		s->next = tx->scr;
		tx->scr = s;
	}
	s->used += n;
	return s->b + s->used - n;
}

bool kv_blind_pending(struct hkv *db)
{
	struct kvtx *txn;
	bool any = true;

	if (rtx_begin(db, &txn))
		return true;
	any = false;
	for (int i = 0; i < txn->view->n && !any; i++)
		any = atomic_load_explicit(&txn->view->mem[i]->blind, memory_order_relaxed) != 0;
	rtx_end(db, txn);
	return any;
}

void kv_scratch_free(struct kvtx *tx)
{
	while (tx->scr) {
		struct kv_scratch *s = tx->scr;

		tx->scr = s->next;
		free(s);
	}
}

/*
 * The record the blind version @val (@vlen bytes) of @k, found in memtable @at of @tx's view,
 * stands for, into @out. Return: 0, or an LMDB code / positive errno (ENOMEM, EIO).
 */
static int merge_blind(struct kvtx *tx, MDB_dbi dbi, int dbix, const MDB_val *k,
		       const void *val, size_t vlen, int at, MDB_val *out)
{
	MDB_val blind = { vlen, (void *)val }, base, *bp = &base;
	struct mem_ver *bv;
	unsigned char *buf;
	ssize_t n;
	int i, rc = 0;

	bv = mem_lookup(tx, dbix, k, at + 1, &i, 0);
	if (bv && bv->del) {
		bp = NULL;
	} else if (bv) {
		base.mv_size = bv->vlen;
		base.mv_data = bv->val;
		if (krec_is_blind(bv->val, bv->vlen))
			rc = merge_blind(tx, dbi, dbix, k, bv->val, bv->vlen, i, &base);
	} else {
		rc = tx_snap(tx);
		if (!rc)
			rc = mdb_get(tx->lmdb, dbi, (MDB_val *)k, &base);
		if (rc == MDB_NOTFOUND) {
			bp = NULL;
			rc = 0;
		}
	}
	if (rc)
		return rc;
	buf = scratch_alloc(tx, KREC_MERGED_MAX(vlen));
	if (!buf)
		return ENOMEM;
	n = krec_merge(&blind, bp, buf);
	if (n < 0) {
		hkv_log(tx->db, 0, "malformed blind key record (%zu bytes) or the record it replaces",
			vlen);
		return EIO;
	}
	out->mv_data = buf;
	out->mv_size = (size_t)n;
	return 0;
}

/* kv_get(), and with @merge false a blind key record as it is stored (kv_get_unmerged()). */
static int get(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *v, bool merge)
{
	int at, rc, dbix = dbix_of(tx, dbi);
	struct mem_ver *mv;

	if (dbix < 0)
		return EINVAL;
	if (!k->mv_size || k->mv_size > KV_KEY_MAX)
		return MDB_BAD_VALSIZE;
	mv = mem_lookup(tx, dbix, k, 0, &at, 0);
	if (mv) {
		if (mv->del)
			return MDB_NOTFOUND;
		if (merge && dbix == KV_KEYS && krec_is_blind(mv->val, mv->vlen))
			return merge_blind(tx, dbi, dbix, k, mv->val, mv->vlen, at, v);
		v->mv_size = mv->vlen;
		v->mv_data = mv->val;
		return 0;
	}
	rc = tx_snap(tx);
	return rc ? rc : mdb_get(tx->lmdb, dbi, k, v);
}

int kv_get(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	return get(tx, dbi, k, v, true);
}

int kv_get_unmerged(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	return get(tx, dbi, k, v, false);
}

/* Put a version (@del: a tombstone) of (@dbi, @k) into the active memtable. */
static int kv_write(struct kvtx *tx, MDB_dbi dbi, const MDB_val *k, MDB_val *v, bool del,
		    bool reserve)
{
	struct wtx *w = tx->w;
	int dbix = dbix_of(tx, dbi);
	struct mem *m;
	struct mem_node *n;
	struct mem_ver *ver;
	uint64_t h;

	if (!w)
		return EACCES;
	if (dbix < 0)
		return EINVAL;
	if (!k->mv_size || k->mv_size > KV_KEY_MAX)
		return MDB_BAD_VALSIZE;
	if (!del && v->mv_size > UINT32_MAX)
		return MDB_BAD_VALSIZE;
	m = tx->view->mem[0];
	if (w->ntn == w->captn) {
		size_t cap = w->captn ? w->captn * 2 : 256;
		struct mem_node **p = realloc(w->tn, cap * sizeof(*p));

		if (!p)
			return ENOMEM;
		w->tn = p;
		w->captn = cap;
	}
	h = dbix == KV_KEYS && k->mv_data == w->hint_key && k->mv_size == w->hint_len
		    ? w->hint_h : mem_hash(tx->db, dbix, k->mv_data, k->mv_size);
	n = mem_insert(m, dbix, k->mv_data, k->mv_size, h);
	if (!n)
		return ENOMEM;
	ver = mem_push(m, n, w->seq, del, del || reserve ? NULL : v->mv_data,
		       del ? 0 : v->mv_size);
	if (!ver)
		return ENOMEM;
	w->tn[w->ntn++] = n;
	if (reserve)
		v->mv_data = ver->val;
	/* the expiry filter (keys.c, "Blind SETs"): this key may now have an expiry */
	if (dbix == KV_EXP && !del && k->mv_size > 8)
		ttl_mark(tx->db, (const char *)k->mv_data + 8, k->mv_size - 8);
	return 0;
}

int kv_put(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags)
{
	return kv_write(tx, dbi, k, v, false, flags & MDB_RESERVE);
}

int kv_del(struct kvtx *tx, MDB_dbi dbi, MDB_val *k, MDB_val *unused)
{
	MDB_val cur;
	int rc;

	(void)unused;
	rc = kv_get(tx, dbi, k, &cur);
	if (rc)
		return rc;
	return kv_write(tx, dbi, k, NULL, true, false);
}

int kv_count(struct kvtx *tx, MDB_dbi dbi, uint64_t *out)
{
	int dbix = dbix_of(tx, dbi);
	MDB_stat st;
	int64_t n;
	int rc;

	if (dbix < 0)
		return EINVAL;
	rc = tx_snap(tx);
	if (!rc)
		rc = mdb_stat(tx->lmdb, dbi, &st);
	if (rc)
		return rc;
	n = (int64_t)st.ms_entries;
	/* each record the memtables know, counted once, at its newest visible version */
	for (int i = 0; i < tx->view->n; i++) {
		struct mem *m = tx->view->mem[i];

		for (struct mem_node *x = mem_next(mem_head(m, dbix)); x; x = mem_next(x)) {
			struct mem_ver *v = mem_visible(x, tx->seq);
			bool newer = false;
			MDB_val k = { x->klen, (void *)mem_node_key(x) }, d;

			if (!v)
				continue;
			for (int j = 0; j < i && !newer; j++) {
				struct mem_node *y = mem_find(tx->view->mem[j], dbix, k.mv_data,
							      k.mv_size, x->hash);

				newer = y && mem_visible(y, tx->seq);
			}
			if (newer)
				continue;
			rc = mdb_get(tx->lmdb, dbi, &k, &d);
			if (rc && rc != MDB_NOTFOUND)
				return rc;
			n += (v->del ? 0 : 1) - (rc ? 0 : 1);
		}
	}
	*out = n > 0 ? (uint64_t)n : 0;
	return 0;
}

/* ---------------------------------------------------------------------------------------
 * Merged cursors
 */

/**
 * struct ksrc - one source of a merged cursor and its current entry.
 * @node: memtable sources: the node of the current entry.
 * @at:   memtable sources, forward: a node whose key is <= the cursor's key (or the sentinel);
 *        the next entry is searched from there.
 */
struct ksrc {
	bool valid;
	bool del;
	const void *k, *v;
	size_t klen, vlen;
	struct mem_node *node, *at;
};

struct kvcur {
	struct kvtx *tx;
	MDB_dbi dbi;
	int dbix;
	int nmem;
	MDB_cursor *lc;
	struct ksrc src[MVIEW_MAX + 1]; /* the memtables, newest first, then LMDB */
	bool valid;
	bool unset;                     /* never positioned */
	int dir;                        /* 1 forward, -1 backward */
	const void *k, *v;
	size_t klen, vlen;
};

static int cmp_k(const void *a, size_t al, const void *b, size_t bl)
{
	return mem_cmp(a, al, b, bl);
}

static void src_set_mem(struct kvcur *c, struct ksrc *s, struct mem_node *n,
			struct mem_ver *v)
{
	(void)c;
	s->valid = true;
	s->node = n;
	s->k = mem_node_key(n);
	s->klen = n->klen;
	s->del = v->del;
	s->v = v->val;
	s->vlen = v->vlen;
}

/*
 * Memtable source, forward: the first visible node after @s->at with key > @K (>= unless
 * @strict; @K NULL: any key). @s->at moves forward over nodes <= @K only.
 */
static void msrc_fwd(struct kvcur *c, struct ksrc *s, const void *K, size_t kl, bool strict)
{
	struct mem_node *n = mem_next(s->at);

	while (n) {
		struct mem_ver *v;

		if (K) {
			int cmp = cmp_k(mem_node_key(n), n->klen, K, kl);

			if (cmp < 0 || (cmp == 0 && strict)) {
				s->at = n;
				n = mem_next(n);
				continue;
			}
		}
		v = mem_visible(n, c->tx->seq);
		if (v) {
			src_set_mem(c, s, n, v);
			return;
		}
		n = mem_next(n);
	}
	s->valid = false;
}

/* Memtable source, backward: the last visible node with key < @K (<= unless @strict). */
static void msrc_back(struct kvcur *c, struct ksrc *s, struct mem *m, const void *K, size_t kl,
		      bool strict)
{
	struct mem_node *head = mem_head(m, c->dbix);
	struct mem_node *n = K ? mem_seek_lt(m, c->dbix, K, kl, !strict) : mem_last(m, c->dbix);

	while (n != head) {
		struct mem_ver *v = mem_visible(n, c->tx->seq);

		if (v) {
			src_set_mem(c, s, n, v);
			return;
		}
		n = mem_seek_lt(m, c->dbix, mem_node_key(n), n->klen, false);
	}
	s->valid = false;
}

/* LMDB source: one cursor operation. Return: 0 (also at the end: !valid), or an LMDB code. */
static int lsrc_op(struct kvcur *c, struct ksrc *s, MDB_val *key, MDB_cursor_op op)
{
	MDB_val v;
	int rc = mdb_cursor_get(c->lc, key, &v, op);

	if (rc == MDB_NOTFOUND) {
		s->valid = false;
		return 0;
	}
	if (rc)
		return rc;
	s->valid = true;
	s->del = false;
	s->k = key->mv_data;
	s->klen = key->mv_size;
	s->v = v.mv_data;
	s->vlen = v.mv_size;
	return 0;
}

/* LMDB source: position at the first key > @K (>= unless @strict), seeking. */
static int lsrc_seek_fwd(struct kvcur *c, struct ksrc *s, const void *K, size_t kl, bool strict)
{
	MDB_val key = { kl, (void *)K };
	int rc;

	if (!K)
		return lsrc_op(c, s, &key, MDB_FIRST);
	rc = lsrc_op(c, s, &key, MDB_SET_RANGE);
	if (!rc && s->valid && strict && !cmp_k(s->k, s->klen, K, kl))
		rc = lsrc_op(c, s, &key, MDB_NEXT);
	return rc;
}

/* LMDB source: position at the last key < @K (<= unless @strict), seeking. */
static int lsrc_seek_back(struct kvcur *c, struct ksrc *s, const void *K, size_t kl,
			  bool strict)
{
	MDB_val key = { kl, (void *)K };
	int rc;

	if (!K)
		return lsrc_op(c, s, &key, MDB_LAST);
	rc = lsrc_op(c, s, &key, MDB_SET_RANGE);
	if (rc)
		return rc;
	if (!s->valid)
		return lsrc_op(c, s, &key, MDB_LAST);
	if (strict || cmp_k(s->k, s->klen, K, kl))
		return lsrc_op(c, s, &key, MDB_PREV);
	return 0;
}

/*
 * Step every source past @K in direction @dir (strictly), incrementally where the source is
 * known to be at the first entry >= @K (forward) or the last <= @K (backward).
 */
static int step_all(struct kvcur *c, const void *K, size_t kl, int dir, bool incremental)
{
	struct ksrc *ls = &c->src[c->nmem];
	MDB_val key;
	int rc = 0;

	for (int i = 0; i < c->nmem; i++) {
		struct ksrc *s = &c->src[i];

		if (dir > 0)
			msrc_fwd(c, s, K, kl, true);
		else
			msrc_back(c, s, c->tx->view->mem[i], K, kl, true);
	}
	if (!incremental) {
		rc = dir > 0 ? lsrc_seek_fwd(c, ls, K, kl, true)
			     : lsrc_seek_back(c, ls, K, kl, true);
	} else if (ls->valid && !cmp_k(ls->k, ls->klen, K, kl)) {
		rc = lsrc_op(c, ls, &key, dir > 0 ? MDB_NEXT : MDB_PREV);
	}
	return rc;
}

/*
 * Pick the current entry from the sources: the smallest key (forward) or largest (backward),
 * the newest source on a tie, skipping tombstones and what they hide.
 */
static int resolve(struct kvcur *c, int dir)
{
	for (;;) {
		int best = -1, rc;

		for (int i = 0; i <= c->nmem; i++) {
			struct ksrc *s = &c->src[i];

			if (!s->valid)
				continue;
			if (best < 0 || cmp_k(s->k, s->klen, c->src[best].k, c->src[best].klen) *
						dir < 0)
				best = i;
		}
		if (best < 0) {
			c->valid = false;
			return MDB_NOTFOUND;
		}
		if (!c->src[best].del) {
			struct ksrc *s = &c->src[best];

			c->valid = true;
			c->k = s->k;
			c->klen = s->klen;
			c->v = s->v;
			c->vlen = s->vlen;
			if (c->dbix == KV_KEYS && best < c->nmem && krec_is_blind(s->v, s->vlen)) {
				MDB_val k = { s->klen, (void *)s->k }, mv;

				rc = merge_blind(c->tx, c->dbi, c->dbix, &k, s->v, s->vlen, best, &mv);
				if (rc) {
					c->valid = false;
					return rc;
				}
				c->v = mv.mv_data;
				c->vlen = mv.mv_size;
			}
			return 0;
		}
		/* a tombstone: the key is absent; go on past it in every source */
		rc = step_all(c, c->src[best].k, c->src[best].klen, dir, true);
		if (rc)
			return rc;
	}
}

int kv_cursor_open(struct kvtx *tx, MDB_dbi dbi, struct kvcur **out)
{
	struct kvcur *c;
	int rc;

	if (dbix_of(tx, dbi) < 0)
		return EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	rc = tx_snap(tx);
	if (!rc)
		rc = mdb_cursor_open(tx->lmdb, dbi, &c->lc);
	if (rc) {
		free(c);
		return rc;
	}
	c->tx = tx;
	c->dbi = dbi;
	c->dbix = dbix_of(tx, dbi);
	c->nmem = tx->view->n;
	for (int i = 0; i < c->nmem; i++)
		c->src[i].at = mem_head(tx->view->mem[i], c->dbix);
	c->unset = true;
	c->dir = 1;
	*out = c;
	return 0;
}

void kv_cursor_close(struct kvcur *c)
{
	if (!c)
		return;
	mdb_cursor_close(c->lc);
	free(c);
}

/* Position every source at the first entry >= @K (> with @strict; @K NULL: the first). */
static int seek_fwd(struct kvcur *c, const void *K, size_t kl, bool strict)
{
	for (int i = 0; i < c->nmem; i++) {
		struct mem *m = c->tx->view->mem[i];

		c->src[i].at = K ? mem_seek_lt(m, c->dbix, K, kl, strict) : mem_head(m, c->dbix);
		msrc_fwd(c, &c->src[i], K, kl, strict);
	}
	return lsrc_seek_fwd(c, &c->src[c->nmem], K, kl, strict);
}

static int seek_back(struct kvcur *c, const void *K, size_t kl, bool strict)
{
	for (int i = 0; i < c->nmem; i++)
		msrc_back(c, &c->src[i], c->tx->view->mem[i], K, kl, strict);
	return lsrc_seek_back(c, &c->src[c->nmem], K, kl, strict);
}

int kv_cursor_get(struct kvcur *c, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
	const void *K = NULL;
	size_t kl = 0;
	int rc, dir;

	switch (op) {
	case MDB_FIRST:
		dir = 1;
		rc = seek_fwd(c, NULL, 0, false);
		break;
	case MDB_LAST:
		dir = -1;
		rc = seek_back(c, NULL, 0, false);
		break;
	case MDB_SET_RANGE:
	case MDB_SET_KEY:
		if (!k->mv_size || k->mv_size > KV_KEY_MAX)
			return MDB_BAD_VALSIZE;
		K = k->mv_data;
		kl = k->mv_size;
		dir = 1;
		rc = seek_fwd(c, K, kl, false);
		break;
	case MDB_NEXT:
		if (!c->valid)
			return c->unset ? kv_cursor_get(c, k, v, MDB_FIRST) : MDB_NOTFOUND;
		dir = 1;
		if (c->dir > 0) {
			rc = step_all(c, c->k, c->klen, 1, true);
		} else {
			/* the LMDB source stands at the last key <= the current one */
			struct ksrc *ls = &c->src[c->nmem];
			MDB_val key;

			for (int i = 0; i < c->nmem; i++) {
				struct mem *m = c->tx->view->mem[i];

				c->src[i].at = mem_seek_lt(m, c->dbix, c->k, c->klen, true);
				msrc_fwd(c, &c->src[i], c->k, c->klen, true);
			}
			if (!ls->valid)
				rc = lsrc_op(c, ls, &key, MDB_FIRST);
			else
				rc = lsrc_op(c, ls, &key, MDB_NEXT);
		}
		break;
	case MDB_PREV:
		if (!c->valid)
			return c->unset ? kv_cursor_get(c, k, v, MDB_LAST) : MDB_NOTFOUND;
		dir = -1;
		if (c->dir < 0) {
			rc = step_all(c, c->k, c->klen, -1, true);
		} else {
			/* the LMDB source stands at the first key >= the current one */
			struct ksrc *ls = &c->src[c->nmem];
			MDB_val key;

			for (int i = 0; i < c->nmem; i++)
				msrc_back(c, &c->src[i], c->tx->view->mem[i], c->k, c->klen, true);
			if (!ls->valid)
				rc = lsrc_op(c, ls, &key, MDB_LAST);
			else
				rc = lsrc_op(c, ls, &key, MDB_PREV);
		}
		break;
	case MDB_GET_CURRENT:
		if (!c->valid)
			return EINVAL;
		k->mv_data = (void *)c->k;
		k->mv_size = c->klen;
		v->mv_data = (void *)c->v;
		v->mv_size = c->vlen;
		return 0;
	default:
		return EINVAL;
	}
	c->unset = false;
	c->dir = dir;
	if (rc) {
		c->valid = false;
		return rc;
	}
	rc = resolve(c, dir);
	if (rc)
		return rc;
	if (op == MDB_SET_KEY && cmp_k(c->k, c->klen, K, kl)) {
		c->valid = false;
		return MDB_NOTFOUND;
	}
	k->mv_data = (void *)c->k;
	k->mv_size = c->klen;
	v->mv_data = (void *)c->v;
	v->mv_size = c->vlen;
	return 0;
}

int kv_cursor_del(struct kvcur *c)
{
	MDB_val k;

	if (!c->valid)
		return EINVAL;
	k.mv_data = (void *)c->k;
	k.mv_size = c->klen;
	return kv_write(c->tx, c->dbi, &k, NULL, true, false);
}
