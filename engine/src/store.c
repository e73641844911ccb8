// SPDX-License-Identifier: MIT
/*
 * store.c - opening and closing a store, the clock, the log, statistics and the background
 * thread.
 *
 * Ownership: one process writes a store at a time. hkv_open() takes an exclusive, non-blocking
 * flock() on DIR/LOCK and keeps it for the life of the handle, so a second daemon, or hkvctl
 * pointed at the data directory of a mounted store, gets -EBUSY and touches nothing. The lock
 * dies with the process, so a crashed owner never leaves the store locked.
 *
 * Storage (docs/engine-storage.md): the value log is also the write-ahead log (wal.c), recent
 * writes live in memtables (mem.c) that reads consult first (kv.c), and the checkpointer
 * (ckpt.c) applies them to LMDB, which runs with its normal, synced commit ordering: LMDB is
 * only ever written by checkpoints (and here, at open). MDB_NOTLS binds a read transaction to
 * its object rather than to the thread, so a thread may hold two (a nested read inside a
 * callback) and the cached per-thread transactions of kv.c are safe.
 *
 * Opening: the index is created in DIR/index.new and renamed into place once its first
 * (synced) commit holds the tables, so a crash during creation never leaves an index that
 * does not open. Then the log is recovered (vlog.c: LMDB's last checkpoint + replay of the log
 * after it), and the counters are read from the merged view. Open time depends on what the
 * last checkpoint left to replay (bounded by hkv_options.ckpt_bytes / ckpt_interval_ms), not
 * on the number of keys. Closing checkpoints everything, so the next open replays nothing;
 * a store opened only to read writes nothing, at open or at close (the counters' reservation
 * is written by the first write that needs it: wtx.c).
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

#include "mem_int.h"

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
	else if (o->ckpt_bytes < (1ull << 20) || o->ckpt_bytes > (4ull << 30))
		snprintf(why, whylen, "ckpt_bytes %llu is not 1 MiB..4 GiB",
			 (unsigned long long)o->ckpt_bytes);
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

static int raw_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t val)
{
	unsigned char b[8];
	MDB_val k = { strlen(name), (void *)name }, v = { sizeof(b), b };

	put_le64(b, val);
	return lmdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

int info_put_u64(struct kvtx *txn, MDB_dbi dbi, const char *name, uint64_t val)
{
	unsigned char b[8];
	MDB_val k = { strlen(name), (void *)name }, v = { sizeof(b), b };

	put_le64(b, val);
	return lmdb_err(kv_put(txn, dbi, &k, &v, 0));
}

/* A u64 of the info table as the merged view has it (after replay). */
static int info_read_u64(struct hkv *db, const char *name, uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	struct kvtx *txn;
	int rc = rtx_begin(db, &txn);

	if (rc)
		return rc;
	rc = kv_get(txn, db->dbi_info, &k, &v);
	if (!rc && v.mv_size != 8)
		rc = -HKV_ECORRUPT;
	else if (!rc)
		*out = get_le64(v.mv_data);
	else
		rc = lmdb_err(rc);
	rtx_end(db, txn);
	return rc;
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
		rc = raw_put_u64(txn, db->dbi_info, "format", format);
		if (!rc)
			rc = raw_put_u64(txn, db->dbi_info, "version", 0);
		if (!rc)
			rc = raw_put_u64(txn, db->dbi_info, "next_id", 1);
		if (!rc)
			rc = hashkey_create(db, txn);
		if (!rc)
			/* the log starts at the beginning of the first segment */
			rc = ckpt_info_put(db, txn, &(struct vlog_pos){ 1, 0 }, 0);
		if (rc)
			goto out_abort;
	} else if (rc) {
		goto out_abort;
	}
	/*
	 * Format 2 added the hash key, which a format-1 store goes on without; format 3 the
	 * varint key records, the sequence numbers of hash fields and streams, which a store
	 * written before goes on without (fixed-layout records are read; its hashes keep byte
	 * order, hash.c); format 4 blind key records in the log, which a store written before
	 * has none of. The number goes up so that an older build refuses a newer store.
	 */
	if ((format == 1 || format == 2 || format == 3) && !db->opt.read_only) {
		hkv_log(db, 2, "%s: store format %llu upgraded to %d", db->dir,
			(unsigned long long)format, HKV_FORMAT_VERSION);
		format = HKV_FORMAT_VERSION;
		rc = raw_put_u64(txn, db->dbi_info, "format", format);
		if (rc)
			goto out_abort;
	}
	if (format != HKV_FORMAT_VERSION &&
	    !((format == 1 || format == 2 || format == 3) && db->opt.read_only)) {
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
	if (!rc)
		rc = ckpt_info_get(db, txn);
	if (rc)
		goto out_abort;
	for (size_t i = 0; i < KV_NDBI; i++) {
		MDB_dbi d = *(MDB_dbi *)((char *)db + dbs[i].off);

		if (d >= KV_MAXDBI) {
			rc = -HKV_EFORMAT;
			goto out_abort;
		}
		db->dbis[i] = d;
		db->dbix[d] = (int8_t)i;
	}
	/* committing (also a read-only transaction) is what keeps the handles opened in it */
	return lmdb_err(mdb_txn_commit(txn));

out_abort:
	mdb_txn_abort(txn);
	return rc;
}

static void *bg_main(void *arg);

int fsync_parent(const char *path)
{
	char *dup = strdup(path), *slash;
	int fd, rc = 0;

	if (!dup)
		return -ENOMEM;
	slash = strrchr(dup, '/');
	if (slash == dup)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dup, ".");
	fd = open(dup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(dup);
	return rc;
}

static int env_open(struct hkv *db, const char *path, bool ro)
{
	int rc = lmdb_err(mdb_env_create(&db->env));

	if (rc)
		return rc;
	mdb_env_set_maxdbs(db->env, 16);
	mdb_env_set_maxreaders(db->env, 1024);
	rc = lmdb_err(mdb_env_set_mapsize(db->env, db->opt.map_size));
	/* LMDB's own, synced commit ordering: only checkpoints commit (see ckpt.c) */
	if (!rc)
		rc = lmdb_err(mdb_env_open(db->env, path,
					   MDB_NOTLS | MDB_NORDAHEAD | (ro ? MDB_RDONLY : 0),
					   0644));
	if (rc) {
		mdb_env_close(db->env);
		db->env = NULL;
	}
	return rc;
}

/* Remove the files LMDB makes in @path, then the directory (a creation cut short). */
static void index_tmp_remove(const char *path)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char *f;

	for (size_t i = 0; i < 2; i++) {
		if (asprintf(&f, "%s/%s", path, files[i]) < 0)
			return;
		unlink(f);
		free(f);
	}
	rmdir(path);
}

/*
 * Create the index at @path: in @path.new, committed (synced) with its tables, then renamed
 * into place and the rename flushed. A crash at any point leaves no index, or a whole one.
 */
static int index_create(struct hkv *db, const char *path)
{
	char *tmp;
	int rc;

	if (asprintf(&tmp, "%s.new", path) < 0)
		return -ENOMEM;
	index_tmp_remove(tmp);
	if (mkdir(tmp, 0755)) {
		rc = -errno;
		goto out_free;
	}
	rc = env_open(db, tmp, false);
	if (!rc) {
		rc = open_dbs(db);
		mdb_env_close(db->env);
		db->env = NULL;
	}
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (!rc)
		rc = fsync_parent(path);
	if (rc)
		index_tmp_remove(tmp);
out_free:
	free(tmp);
	return rc;
}

int hkv_open(const char *dir, const struct hkv_options *opt, struct hkv **out)
{
	char why[160], *path = NULL;
	struct mview *view;
	struct hkv *db;
	struct mem *m;
	struct stat st;
	bool ro;
	int rc;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->root = db;
	atomic_init(&db->hash_max_entries, 128);
	atomic_init(&db->hash_max_value, 64);
	if (opt)
		db->opt = *opt;
	else
		hkv_options_init(&db->opt);
	ro = db->opt.read_only;
	db->lock_fd = -1;
	db->wq_tail = &db->wq_head;
	memset(db->dbix, 0xff, sizeof(db->dbix));
	pthread_mutex_init(&db->rtx_lock, NULL);
	pthread_mutex_init(&db->wq_lock, NULL);
	pthread_mutex_init(&db->bg_lock, NULL);
	pthread_cond_init(&db->bg_cond, NULL);
	pthread_mutex_init(&db->view_lock, NULL);
	pthread_mutex_init(&db->hp_lock, NULL);
	pthread_mutex_init(&db->ckpt_lock, NULL);
	pthread_cond_init(&db->ckpt_cond, NULL);
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
	if (stat(dir, &st) && errno == ENOENT && db->opt.create && !ro) {
		rc = mkdir_p1(dir, true);
		if (!rc)
			rc = fsync_parent(dir);
	} else {
		rc = mkdir_p1(dir, false);
	}
	if (rc)
		goto out_free;
	if (asprintf(&path, "%s/LOCK", dir) < 0) {
		rc = -ENOMEM;
		goto out_free;
	}
	db->lock_fd = open(path, (ro ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0644);
	free(path);
	if (db->lock_fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			hkv_log(db, 0, "%s: no hkv store here", dir);
		goto out_free;
	}
	if (flock(db->lock_fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			hkv_log(db, 0, "%s: store in use by another process", dir);
		goto out_close_lock;
	}
	if (asprintf(&path, "%s/index", dir) < 0) {
		rc = -ENOMEM;
		goto out_close_lock;
	}
	if (stat(path, &st)) {
		rc = errno == ENOENT && !ro ? index_create(db, path) : -errno;
		if (rc == -ENOENT)
			hkv_log(db, 0, "%s: no hkv store here", dir);
		if (rc) {
			free(path);
			goto out_close_lock;
		}
	}
	rc = env_open(db, path, ro);
	free(path);
	if (rc)
		goto out_close_lock;
	rc = open_dbs(db);
	if (rc)
		goto out_close_env;
	rc = rtx_init(db);
	if (rc)
		goto out_close_env;

	/* the first memtable, and the leader's transaction */
	if (!ro)
		db->mpool = mem_pool_new(db->opt.ckpt_bytes); /* without one: plain malloc */
	m = mem_new(mem_buckets(db), 0, db->hkey[0], db->mpool);
	view = m ? view_make(&m, 1) : NULL;
	if (!view) {
		mem_free(m);
		rc = -ENOMEM;
		goto out_fini_rtx;
	}
	view_install(db, view);
	db->wview.db = db;
	db->wview.hp = &db->whp;
	hp_register(db, &db->whp);
	rc = lmdb_err(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &db->wview.lmdb));
	if (rc)
		goto out_release;
	mdb_txn_reset(db->wview.lmdb);

	rc = vlog_open(db, &db->vlog);
	if (rc)
		goto out_release;
	/* counting resumes at the reservations: nothing below them is ever handed out again */
	rc = info_read_u64(db, "version", &db->version);
	if (!rc)
		rc = info_read_u64(db, "next_id", &db->next_id);
	if (rc)
		goto out_close_vlog;
	db->version_reserved = db->version;
	db->id_reserved = db->next_id;
	m = atomic_load(&db->view)->mem[0];
	if (m->nodes)
		m->created_ms = 1; /* replayed writes: checkpoint them soon */
	if (!ro) {
		rc = ttl_init(db);
		if (!rc)
			rc = ckpt_start(db);
		if (rc)
			goto out_close_vlog;
	}
	if (db->opt.bg_interval_ms && !ro) {
		if (pthread_create(&db->bg, NULL, bg_main, db)) {
			rc = -EAGAIN;
			goto out_stop_ckpt;
		}
		db->bg_running = true;
	}
	*out = db;
	return 0;

out_stop_ckpt:
	ckpt_stop(db);
out_close_vlog:
	vlog_close(db->vlog);
out_release:
	if (db->wview.lmdb)
		mdb_txn_abort(db->wview.lmdb);
	hp_unregister(db, &db->whp);
out_fini_rtx:
	rtx_fini(db);
	view_release_all(db);
	mem_pool_free(db->mpool);
out_close_env:
	mdb_env_close(db->env);
out_close_lock:
	close(db->lock_fd);
out_free:
	if (rc == -HKV_EFORMAT || rc == -HKV_ECORRUPT)
		hkv_log(db, 0, "%s: cannot open: %s", dir, hkv_strerror(rc));
	free(db->ttl_bits);
	free(db->dir);
	free(db);
	return rc;
}

int hkv_sync(struct hkv *db)
{
	int rc;

	if (db->opt.read_only)
		return 0;
	if (hkv_in_txn(db))
		return -EINVAL;
	rc = hkv_writable(db);
	if (rc)
		return rc;
	/* the log is the durable copy of every write; the index is synced by checkpoints */
	atomic_store(&db->dirty, false);
	rc = vlog_sync(db->vlog);
	if (rc)
		return rc;
	atomic_fetch_add_explicit(&db->st.syncs, 1, memory_order_relaxed);
	return 0;
}

/*
 * Whether the store holds no write that a checkpoint has not applied: one memtable (nothing
 * frozen or being checkpointed) and nothing in it, neither written nor replayed at open. Only
 * with no writer running (hkv_close()).
 */
static bool close_is_clean(struct hkv *db)
{
	struct mview *v;
	bool clean;

	/* the checkpointer still runs and installs views under ckpt_lock */
	pthread_mutex_lock(&db->ckpt_lock);
	v = atomic_load(&db->view);
	clean = v->n == 1 && !v->mem[0]->nodes;
	pthread_mutex_unlock(&db->ckpt_lock);
	return clean;
}

int hkv_close(struct hkv *db)
{
	int rc = 0, rc2;

	if (!db)
		return 0;
	if (hkv_in_txn(db))
		return -EINVAL;
	if (db->bg_running) {
		pthread_mutex_lock(&db->bg_lock);
		db->bg_stop = true;
		pthread_cond_signal(&db->bg_cond);
		pthread_mutex_unlock(&db->bg_lock);
		pthread_join(db->bg, NULL);
	}
	if (!db->opt.read_only) {
		/*
		 * Everything into the index: the next open has nothing to replay. A store that
		 * holds no write since its last checkpoint (one memtable, never written: opened
		 * only to read) has nothing to apply, and a checkpoint would only rewrite the
		 * index's meta page: skip it. Unflushed log bytes (an append whose write did not
		 * apply) are still flushed by hkv_sync() below, which costs nothing if there are
		 * none.
		 */
		if (!close_is_clean(db)) {
			rc = hkv_checkpoint(db);
			/* the checkpoint's notes of dead values (vlog.c), and their own checkpoint */
			if (!rc)
				rc = vlog_dead_apply(db);
			if (rc > 0)
				rc = hkv_checkpoint(db);
		}
		ckpt_stop(db);
		rc2 = hkv_sync(db);
		if (!rc)
			rc = rc2;
	}
	vlog_close(db->vlog);
	mdb_txn_abort(db->wview.lmdb);
	hp_unregister(db, &db->whp);
	rtx_fini(db);
	view_release_all(db);
	mem_pool_free(db->mpool);
	mdb_env_close(db->env);
	close(db->lock_fd);
	pthread_mutex_destroy(&db->rtx_lock);
	pthread_mutex_destroy(&db->wq_lock);
	pthread_mutex_destroy(&db->bg_lock);
	pthread_cond_destroy(&db->bg_cond);
	pthread_mutex_destroy(&db->view_lock);
	pthread_mutex_destroy(&db->hp_lock);
	pthread_mutex_destroy(&db->ckpt_lock);
	pthread_cond_destroy(&db->ckpt_cond);
	free(db->wtn);
	free(db->walbuf);
	free(db->ttl_bits);
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
		atomic_fetch_add_explicit(&db->bg_rounds, 1, memory_order_release);
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
	struct kvtx *txn;
	struct mview *v;
	MDB_stat st;
	MDB_envinfo ei;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = rtx_begin(db, &txn);
	if (rc)
		return rc;
	rc = lmdb_err(kv_count(txn, db->dbi_keys, &out->keys));
	if (!rc)
		rc = lmdb_err(kv_count(txn, db->dbi_exp, &out->expires));
	v = txn->view;
	for (int i = 0; i < v->n; i++)
		out->mem_bytes += atomic_load_explicit(&v->mem[i]->bytes, memory_order_relaxed);
	rtx_end(db, txn);
	if (rc)
		return rc;
	mdb_env_stat(db->env, &st);
	mdb_env_info(db->env, &ei);
	out->index_bytes = (uint64_t)(ei.me_last_pgno + 1) * st.ms_psize;
	out->reads = rtx_reads(db);
	out->writes = atomic_load_explicit(&db->st.writes, memory_order_relaxed);
	out->commits = atomic_load_explicit(&db->st.commits, memory_order_relaxed);
	out->syncs = atomic_load_explicit(&db->st.syncs, memory_order_relaxed);
	out->compactions = atomic_load_explicit(&db->st.compactions, memory_order_relaxed);
	out->compact_bytes = atomic_load_explicit(&db->st.compact_bytes, memory_order_relaxed);
	out->expired = atomic_load_explicit(&db->st.expired, memory_order_relaxed);
	out->crc_errors = atomic_load_explicit(&db->st.crc_errors, memory_order_relaxed);
	out->flush_error = atomic_load(&db->wfail);
	out->checkpoints = atomic_load_explicit(&db->ckpt_count, memory_order_relaxed);
	out->ckpt_records = atomic_load_explicit(&db->ckpt_records, memory_order_relaxed);
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
	int rc;

	if (db->opt.read_only)
		return -EROFS;
	if (hkv_in_txn(db))
		return -EINVAL;
	if (hkv_writable(db))
		return -HKV_ESTOPPED;
	/* only what a checkpoint covers can be compacted: checkpoint first */
	rc = hkv_checkpoint(db);
	if (rc)
		return rc;
	return vlog_compact(db, all);
}

uint64_t hkv_version(struct hkv *db)
{
	return __atomic_load_n(&db->root->version, __ATOMIC_RELAXED);
}

enum hkv_sync hkv_sync_policy(const struct hkv *db)
{
	return db->opt.sync;
}

void hkv_set_watch(struct hkv *db, void (*fn)(void *arg, const void *key, size_t klen,
					       uint64_t version), void *arg)
{
	if (hkv_in_txn(db))
		return;
	pthread_mutex_lock(&db->wq_lock);
	db->watch = fn;
	db->watch_arg = arg;
	pthread_mutex_unlock(&db->wq_lock);
}
