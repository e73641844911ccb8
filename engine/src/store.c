// SPDX-License-Identifier: MIT
/*
 * store.c - opening and closing a store, read transactions, the clock, the log, and the
 * background thread.
 *
 * Ownership: one process writes a store at a time. hkv_open() takes an exclusive, non-blocking
 * flock() on DIR/LOCK and keeps it for the life of the handle, so a second daemon, or hkvctl
 * pointed at the data directory of a mounted store, gets -EBUSY and touches nothing. The lock
 * dies with the process, so a crashed owner never leaves the store locked.
 *
 * LMDB runs with MDB_NOSYNC: commits write their pages with write(2) (they survive the death
 * of the process at once) and flushing to stable storage is ours to schedule: per group of
 * writes under sync=always (wtx.c), once a second under everysec (the background thread), by
 * the OS under none. MDB_NOTLS binds a read transaction to its object rather than to the
 * thread, so a thread may hold two (a nested read inside a callback) and the cached per-thread
 * transactions below are safe.
 *
 * Read transactions: every thread keeps one reset transaction in a pthread key and renews it
 * for each read (mdb_txn_renew is a few tens of nanoseconds; mdb_txn_begin allocates). A
 * read that finds the cached one busy (a read inside a scan callback) begins a fresh one.
 * All cached transactions are on db->rtx_all so hkv_close() can abort those of threads that
 * are still alive. Each slot also counts its thread's reads, so counting costs no shared
 * cache line; hkv_stats_get() sums the slots (and what exited threads left in st.reads).
 *
 * Open time does not depend on the number of keys: LMDB needs no recovery (its copy-on-write
 * root is always consistent), and the value log only truncates the torn tail of its active
 * segment (vlog.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hkv_int.h"

struct rtx_slot {
	struct hkv *db;
	MDB_txn *txn;
	bool busy;
	atomic_uint_fast64_t reads; /* written by the owning thread only */
	struct rtx_slot *next, *prev;
};

int lmdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
		return -ENOSPC;
	case MDB_READERS_FULL:
		return -EAGAIN;
	case MDB_BAD_VALSIZE:
		return -EINVAL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
		return -HKV_ECORRUPT;
	case MDB_VERSION_MISMATCH:
		return -HKV_EFORMAT;
	}
	if (rc > 0)
		return -rc; /* an errno from the system */
	return -EIO;
}

int64_t hkv_now_ms(struct hkv *db)
{
	struct timespec ts;

	if (db->opt.clock)
		return db->opt.clock(db->opt.clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hkv_now_ns(struct hkv *db)
{
	struct timespec ts;

	if (db->opt.clock)
		return db->opt.clock(db->opt.clock_arg) * 1000000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void hkv_log(struct hkv *db, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (db->opt.log) {
		db->opt.log(db->opt.log_arg, level, msg);
		return;
	}
	if (level <= 1)
		fprintf(stderr, "hkv: %s: %s\n", level ? "warning" : "error", msg);
}

int hkv_fail(struct hkv *db, int rc, const char *what)
{
	int none = 0;

	if (rc >= 0)
		rc = -EIO;
	if (atomic_compare_exchange_strong(&db->wfail, &none, rc))
		hkv_log(db, 0, "%s: flush of %s failed: %s; the store takes no more writes until "
			"it is reopened", db->dir, what, hkv_strerror(rc));
	return rc;
}

static void rtx_slot_free(void *p)
{
	struct rtx_slot *slot = p;
	struct hkv *db = slot->db;

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
	mdb_txn_abort(slot->txn);
	free(slot);
}

int rtx_begin(struct hkv *db, MDB_txn **txn)
{
	struct rtx_slot *slot = pthread_getspecific(db->rtx_key);
	int rc;

	if (slot && !slot->busy) {
		rc = mdb_txn_renew(slot->txn);
		if (rc)
			return lmdb_err(rc);
		slot->busy = true;
		atomic_store_explicit(&slot->reads,
				      atomic_load_explicit(&slot->reads, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		*txn = slot->txn;
		return 0;
	}
	if (slot) /* nested read: a fresh transaction */
		return lmdb_err(mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn));

	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &slot->txn);
	if (rc) {
		free(slot);
		return lmdb_err(rc);
	}
	slot->db = db;
	slot->busy = true;
	if (pthread_setspecific(db->rtx_key, slot)) {
		mdb_txn_abort(slot->txn);
		free(slot);
		return -ENOMEM;
	}
	pthread_mutex_lock(&db->rtx_lock);
	slot->next = db->rtx_all;
	if (slot->next)
		slot->next->prev = slot;
	db->rtx_all = slot;
	pthread_mutex_unlock(&db->rtx_lock);
	*txn = slot->txn;
	return 0;
}

void rtx_end(struct hkv *db, MDB_txn *txn)
{
	struct rtx_slot *slot = pthread_getspecific(db->rtx_key);

	if (slot && slot->txn == txn) {
		mdb_txn_reset(txn);
		slot->busy = false;
		return;
	}
	mdb_txn_abort(txn);
}

static int check_options(const struct hkv_options *o, char *why, size_t whylen)
{
	if (o->sync > HKV_SYNC_NONE)
		snprintf(why, whylen, "sync policy %d is not always|everysec|none", o->sync);
	else if (o->inline_max > 65536)
		snprintf(why, whylen, "inline_max %u is over 65536", o->inline_max);
	else if (o->compress_level < 1 || o->compress_level > 9)
		snprintf(why, whylen, "compress_level %d is not 1..9", o->compress_level);
	else if (o->segment_size < (1ull << 20) || o->segment_size > (4ull << 30))
		snprintf(why, whylen, "segment_size %llu is not 1 MiB..4 GiB",
			 (unsigned long long)o->segment_size);
	else if (o->compact_dead_pct < 1 || o->compact_dead_pct > 100)
		snprintf(why, whylen, "compact_dead_pct %u is not 1..100", o->compact_dead_pct);
	else if (o->map_size < (1ull << 20))
		snprintf(why, whylen, "map_size %llu is under 1 MiB",
			 (unsigned long long)o->map_size);
	else if (o->mode > 07777)
		snprintf(why, whylen, "mode %o is not a permission mode", o->mode);
	else
		return 0;
	return -EINVAL;
}

static int mkdir_p1(const char *path, bool create)
{
	struct stat st;

	if (!stat(path, &st))
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT || !create)
		return -errno;
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int info_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc)
		return lmdb_err(rc);
	if (v.mv_size != 8)
		return -HKV_ECORRUPT;
	*out = get_le64(v.mv_data);
	return 0;
}

int info_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t val)
{
	unsigned char b[8];
	MDB_val k = { strlen(name), (void *)name }, v = { sizeof(b), b };

	put_le64(b, val);
	return lmdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

/* A new store's secret hash key (see util.c, ekey_make()): 16 bytes from the kernel. */
static int hashkey_create(struct hkv *db, MDB_txn *txn)
{
	unsigned char b[16];
	MDB_val k = { 7, "hashkey" }, v = { sizeof(b), b };
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hkv_log(db, 0, "%s: no random bytes for the hash key: %s", db->dir,
				strerror(errno));
			return -errno;
		}
		got += (size_t)n;
	}
	return lmdb_err(mdb_put(txn, db->dbi_info, &k, &v, 0));
}

/* Read the hash key; a store created by format 1 has none and keeps its unkeyed hash. */
static int hashkey_load(struct hkv *db, MDB_txn *txn)
{
	MDB_val k = { 7, "hashkey" }, v;
	int rc = mdb_get(txn, db->dbi_info, &k, &v);

	if (rc == MDB_NOTFOUND) {
		db->hkey_legacy = true;
		hkv_log(db, 1, "%s: store created by format 1: keys over %d bytes are named by an "
			"unkeyed hash", db->dir, EKEY_SHORT);
		return 0;
	}
	if (rc)
		return lmdb_err(rc);
	if (v.mv_size != 16)
		return -HKV_ECORRUPT;
	db->hkey[0] = get_le64(v.mv_data);
	db->hkey[1] = get_le64((const unsigned char *)v.mv_data + 8);
	return 0;
}

/*
 * Open the named databases and check the format. A new store gets format, version and
 * next_id records; an existing one must carry our format number.
 */
static int open_dbs(struct hkv *db)
{
	static const struct {
		const char *name;
		size_t off;
	} dbs[] = {
		{ "info", offsetof(struct hkv, dbi_info) },
		{ "keys", offsetof(struct hkv, dbi_keys) },
		{ "elems", offsetof(struct hkv, dbi_elems) },
		{ "zidx", offsetof(struct hkv, dbi_zidx) },
		{ "exp", offsetof(struct hkv, dbi_exp) },
		{ "xattr", offsetof(struct hkv, dbi_xattr) },
		{ "segs", offsetof(struct hkv, dbi_segs) },
	};
	unsigned flags = db->opt.read_only ? 0 : MDB_CREATE;
	uint64_t format = 0;
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(db->env, NULL, db->opt.read_only ? MDB_RDONLY : 0, &txn);
	if (rc)
		return lmdb_err(rc);
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, flags, (MDB_dbi *)((char *)db + dbs[i].off));
		if (rc == MDB_NOTFOUND) {
			hkv_log(db, 0, "%s: not an hkv store (no '%s' table)", db->dir,
				dbs[i].name);
			rc = -HKV_EFORMAT;
			goto out_abort;
		}
		if (rc) {
			rc = lmdb_err(rc);
			goto out_abort;
		}
	}
	rc = info_get_u64(txn, db->dbi_info, "format", &format);
	if (rc == -ENOENT && !db->opt.read_only) {
		MDB_stat st;

		rc = lmdb_err(mdb_stat(txn, db->dbi_keys, &st));
		if (rc)
			goto out_abort;
		if (st.ms_entries) {
			hkv_log(db, 0, "%s: keys without a format record", db->dir);
			rc = -HKV_EFORMAT;
			goto out_abort;
		}
		format = HKV_FORMAT_VERSION;
		rc = info_put_u64(txn, db->dbi_info, "format", format);
		if (!rc)
			rc = info_put_u64(txn, db->dbi_info, "version", 0);
		if (!rc)
			rc = info_put_u64(txn, db->dbi_info, "next_id", 1);
		if (!rc)
			rc = hashkey_create(db, txn);
		if (rc)
			goto out_abort;
	} else if (rc) {
		goto out_abort;
	}
	if (format == 1 && !db->opt.read_only) {
		/* format 2 only adds the hash key, which a format-1 store goes on without */
		hkv_log(db, 2, "%s: store format 1 upgraded to %d", db->dir, HKV_FORMAT_VERSION);
		format = HKV_FORMAT_VERSION;
		rc = info_put_u64(txn, db->dbi_info, "format", format);
		if (rc)
			goto out_abort;
	}
	if (format != HKV_FORMAT_VERSION && !(format == 1 && db->opt.read_only)) {
		hkv_log(db, 0, "%s: store format %llu, this build reads format %d", db->dir,
			(unsigned long long)format, HKV_FORMAT_VERSION);
		rc = -HKV_EFORMAT;
		goto out_abort;
	}
	/* counting resumes at the reservations: nothing below them is ever handed out again */
	rc = info_get_u64(txn, db->dbi_info, "version", &db->version);
	if (!rc)
		rc = info_get_u64(txn, db->dbi_info, "next_id", &db->next_id);
	if (!rc)
		rc = hashkey_load(db, txn);
	if (rc)
		goto out_abort;
	db->version_reserved = db->version;
	db->id_reserved = db->next_id;
	/* committing (also a read-only transaction) is what keeps the handles opened in it */
	rc = lmdb_err(mdb_txn_commit(txn));
	if (!rc && !db->opt.read_only)
		rc = lmdb_err(mdb_env_sync(db->env, 1));
	return rc;

out_abort:
	mdb_txn_abort(txn);
	return rc;
}

static void *bg_main(void *arg);

int hkv_open(const char *dir, const struct hkv_options *opt, struct hkv **out)
{
	char why[160], *path = NULL;
	struct hkv *db;
	int rc;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	if (opt)
		db->opt = *opt;
	else
		hkv_options_init(&db->opt);
	db->lock_fd = -1;
	db->wq_tail = &db->wq_head;
	pthread_mutex_init(&db->rtx_lock, NULL);
	pthread_mutex_init(&db->wq_lock, NULL);
	pthread_mutex_init(&db->bg_lock, NULL);
	pthread_cond_init(&db->bg_cond, NULL);
	db->dir = strdup(dir);
	if (!db->dir) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = check_options(&db->opt, why, sizeof(why));
	if (rc) {
		hkv_log(db, 0, "%s: bad option: %s", dir, why);
		goto out_free;
	}
	rc = mkdir_p1(dir, db->opt.create && !db->opt.read_only);
	if (rc)
		goto out_free;
	if (asprintf(&path, "%s/LOCK", dir) < 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	db->lock_fd = open(path, (db->opt.read_only ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC,
			   0644);
	free(path);
	if (db->lock_fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			hkv_log(db, 0, "%s: no hkv store here", dir);
		goto out_free;
	}
	if (flock(db->lock_fd, (db->opt.read_only ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			hkv_log(db, 0, "%s: store in use by another process", dir);
		goto out_close_lock;
	}
	if (asprintf(&path, "%s/index", dir) < 0) {
		rc = -ENOMEM;
		goto out_close_lock;
	}
	rc = mkdir_p1(path, !db->opt.read_only);
	if (rc) {
		free(path);
		goto out_close_lock;
	}
	rc = lmdb_err(mdb_env_create(&db->env));
	if (rc) {
		free(path);
		goto out_close_lock;
	}
	mdb_env_set_maxdbs(db->env, 16);
	mdb_env_set_maxreaders(db->env, 1024);
	rc = lmdb_err(mdb_env_set_mapsize(db->env, db->opt.map_size));
	if (!rc)
		rc = lmdb_err(mdb_env_open(db->env, path,
					   MDB_NOSYNC | MDB_NOTLS | MDB_NORDAHEAD |
						   (db->opt.read_only ? MDB_RDONLY : 0),
					   0644));
	free(path);
	if (rc)
		goto out_close_env;
	rc = open_dbs(db);
	if (rc)
		goto out_close_env;
	if (pthread_key_create(&db->rtx_key, rtx_slot_free)) {
		rc = -ENOMEM;
		goto out_close_env;
	}
	rc = vlog_open(db, &db->vlog);
	if (rc)
		goto out_delete_key;
	if (db->opt.bg_interval_ms && !db->opt.read_only) {
		if (pthread_create(&db->bg, NULL, bg_main, db)) {
			rc = -EAGAIN;
			goto out_close_vlog;
		}
		db->bg_running = true;
	}
	*out = db;
	return 0;

out_close_vlog:
	vlog_close(db->vlog);
out_delete_key:
	pthread_key_delete(db->rtx_key);
out_close_env:
	mdb_env_close(db->env);
out_close_lock:
	close(db->lock_fd);
out_free:
	if (rc == -HKV_EFORMAT || rc == -HKV_ECORRUPT)
		hkv_log(db, 0, "%s: cannot open: %s", dir, hkv_strerror(rc));
	free(db->dir);
	free(db);
	return rc;
}

int hkv_sync(struct hkv *db)
{
	int rc;

	if (db->opt.read_only)
		return 0;
	rc = hkv_writable(db);
	if (rc)
		return rc;
	atomic_store(&db->dirty, false);
	rc = vlog_sync(db->vlog);
	if (!rc) {
		rc = lmdb_err(mdb_env_sync(db->env, 1));
		if (rc)
			hkv_fail(db, rc, "the index");
	}
	if (rc)
		return rc;
	atomic_fetch_add_explicit(&db->st.syncs, 1, memory_order_relaxed);
	return 0;
}

int hkv_close(struct hkv *db)
{
	struct rtx_slot *slot, *next;
	int rc;

	if (!db)
		return 0;
	if (db->bg_running) {
		pthread_mutex_lock(&db->bg_lock);
		db->bg_stop = true;
		pthread_cond_signal(&db->bg_cond);
		pthread_mutex_unlock(&db->bg_lock);
		pthread_join(db->bg, NULL);
	}
	rc = hkv_sync(db);
	vlog_close(db->vlog);
	pthread_key_delete(db->rtx_key);
	for (slot = db->rtx_all; slot; slot = next) {
		next = slot->next;
		mdb_txn_abort(slot->txn);
		free(slot);
	}
	mdb_env_close(db->env);
	close(db->lock_fd);
	pthread_mutex_destroy(&db->rtx_lock);
	pthread_mutex_destroy(&db->wq_lock);
	pthread_mutex_destroy(&db->bg_lock);
	pthread_cond_destroy(&db->bg_cond);
	free(db->dir);
	free(db);
	return rc;
}

/*
 * The background thread: every bg_interval_ms it sweeps expired keys (Redis's active expiry:
 * repeat while a sweep finds its batch full, bounded), compacts segments over the thresholds,
 * and under everysec flushes once a second if anything was written.
 */
static void *bg_main(void *arg)
{
	struct hkv *db = arg;
	int64_t last_flush = 0;
	struct timespec ts;

	pthread_mutex_lock(&db->bg_lock);
	while (!db->bg_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(db->opt.bg_interval_ms % 1000) * 1000000;
		ts.tv_sec += db->opt.bg_interval_ms / 1000 + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&db->bg_cond, &db->bg_lock, &ts);
		if (db->bg_stop)
			break;
		pthread_mutex_unlock(&db->bg_lock);

		for (int round = 0; round < 16; round++)
			if (hkv_expire_cycle(db, 200) < 200)
				break;
		vlog_compact(db, false);
		if (db->opt.sync == HKV_SYNC_EVERYSEC && atomic_load(&db->dirty)) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

			if (now - last_flush >= 1000) {
				hkv_sync(db);
				last_flush = now;
			}
		}
		pthread_mutex_lock(&db->bg_lock);
	}
	pthread_mutex_unlock(&db->bg_lock);
	return NULL;
}

int hkv_stats_get(struct hkv *db, struct hkv_stats *out)
{
	MDB_txn *txn;
	MDB_stat st;
	MDB_envinfo ei;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = lmdb_err(mdb_stat(txn, db->dbi_keys, &st));
	if (!rc)
		out->keys = st.ms_entries;
	if (!rc)
		rc = lmdb_err(mdb_stat(txn, db->dbi_exp, &st));
	if (!rc)
		out->expires = st.ms_entries;
	rtx_end(db, txn);
	if (rc)
		return rc;
	mdb_env_stat(db->env, &st);
	mdb_env_info(db->env, &ei);
	out->index_bytes = (uint64_t)(ei.me_last_pgno + 1) * st.ms_psize;
	out->reads = atomic_load_explicit(&db->st.reads, memory_order_relaxed);
	pthread_mutex_lock(&db->rtx_lock);
	for (struct rtx_slot *s = db->rtx_all; s; s = s->next)
		out->reads += atomic_load_explicit(&s->reads, memory_order_relaxed);
	pthread_mutex_unlock(&db->rtx_lock);
	out->writes = atomic_load_explicit(&db->st.writes, memory_order_relaxed);
	out->commits = atomic_load_explicit(&db->st.commits, memory_order_relaxed);
	out->syncs = atomic_load_explicit(&db->st.syncs, memory_order_relaxed);
	out->compactions = atomic_load_explicit(&db->st.compactions, memory_order_relaxed);
	out->compact_bytes = atomic_load_explicit(&db->st.compact_bytes, memory_order_relaxed);
	out->expired = atomic_load_explicit(&db->st.expired, memory_order_relaxed);
	out->crc_errors = atomic_load_explicit(&db->st.crc_errors, memory_order_relaxed);
	out->flush_error = atomic_load(&db->wfail);
	vlog_stats(db->vlog, out);
	return 0;
}

int hkv_segments(struct hkv *db, int (*cb)(void *arg, const struct hkv_segment_stat *s),
		 void *arg)
{
	return vlog_segments(db, cb, arg);
}

int hkv_compact(struct hkv *db, bool all)
{
	if (db->opt.read_only)
		return -EROFS;
	if (hkv_writable(db))
		return -HKV_ESTOPPED;
	return vlog_compact(db, all);
}

uint64_t hkv_version(struct hkv *db)
{
	return __atomic_load_n(&db->version, __ATOMIC_RELAXED);
}

void hkv_set_watch(struct hkv *db, void (*fn)(void *arg, const void *key, size_t klen,
					       uint64_t version), void *arg)
{
	pthread_mutex_lock(&db->wq_lock);
	db->watch = fn;
	db->watch_arg = arg;
	pthread_mutex_unlock(&db->wq_lock);
}
