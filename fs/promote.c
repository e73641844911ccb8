// SPDX-License-Identifier: MIT
/*
 * promote.c - the daemon side of the hot path.
 *
 * Reads are counted in a Count-Min Sketch (hot.c) that is halved once a second, so a key read
 * r times a second settles near a count of 2r. Every interval_ms a thread takes the top-K,
 * promotes the keys over min_rate that are not yet in the kernel cache, demotes cached ones
 * that fell below it while more than k are cached (the daemon does not see reads the kernel
 * answers, see cycle()), and drains the module's eviction events.
 *
 * Coherence (docs/hot-path.md: the kernel cache never serves a value older than the last acknowledged write) rests on one rule and one race argument:
 *
 *  - Every committed mutation of a key calls hkvfs_promoter_invalidate_version() from the
 *    engine's watch callback, which runs in the committing thread before any writer of the
 *    group is acknowledged. It issues HKV_IOC_DEL with a tombstone V: the module drops the
 *    entry and refuses every later PUT of that key with a version <= V. For a write of
 *    version w, V = w - 1 (older values are stale, the new one may be promoted); for a
 *    deletion, or when the version is unknown (hkvfs_promoter_invalidate()), V is the
 *    store's current version, which covers every value handed out so far.
 *
 *  - A promotion samples the module's inval_seq (its ticket), then reads the key's attributes
 *    (version v) and then its value, then PUTs them as version v. If a write W (new version
 *    w > v) commits at any point after the attributes were read, W's DEL carries a tombstone
 *    >= w - 1 >= v (a deletion's: >= v), so the PUT is refused (-ESTALE) whether it comes before the DEL (then the
 *    DEL removes the entry) or after (then the tombstone refuses it). If the module had to
 *    forget that tombstone, the ticket is older than what it remembers and it refuses too.
 *    So the kernel cache never holds a value older than the last acknowledged write.
 *
 *  - Directory permissions: the module checks only the entry's own owner and mode, so only
 *    keys whose directories everyone may search are promoted (o.eligible). A change of a
 *    directory's mode or owner commits its marker key (PREFIX + HKVFS_MARKER); its
 *    invalidation also drops every cached key under PREFIX (HKV_IOC_DEL without a
 *    tombstone: the key may be promoted again once eligible), before the chmod/chown is
 *    acknowledged. A promotion in flight (eligibility judged before the change, PUT not yet
 *    in the cached set) is the one key the drop cannot see in the set: promote() names it
 *    in p->inflight under p->lock, and the drop gives that key a tombstone instead, which
 *    refuses or removes its PUT (it is promoted again after its next write).
 *
 * Without the device (no module, or not permitted) everything here still counts reads, so
 * .hkv/hot works, and the daemon says once in its log that hot reads stay on the FUSE path.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/hkv.h>

#include "backend.h"
#include "hkv/engine.h"
#include "hkvfs_int.h"
#include "hot.h"
#include "promote.h"

struct cached {
	void *key;
	size_t klen;
	uint64_t version;
};

struct hkvfs_promoter {
	struct hkvfs_be *be;
	struct hkvfs_promote_opts o;
	uint64_t ns;
	int fd;                 /* owner descriptor of the device, or -1 */
	uint64_t max_value;
	struct hkvfs_hot *hot;

	pthread_t thread;
	pthread_mutex_t lock;   /* protects stop and the cached set */
	pthread_cond_t cond;
	bool stop;
	struct cached *c;
	unsigned nc, capc;

	atomic_uint_fast64_t promotions, stale, demotions, invalidations, evictions;
	const void *inflight;   /* key being promoted, or NULL (p->lock; see the top) */
	size_t inflight_len;
};

static void plog(struct hkvfs_promoter *p, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void plog(struct hkvfs_promoter *p, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!p->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->o.log(p->o.arg, level, msg);
}

void hkvfs_promote_opts_init(struct hkvfs_promote_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->enabled = true;
	o->interval_ms = 200;
	o->k = 64;
	o->min_rate = 10;
	o->device = "/dev/hkv";
}

/* Under p->lock. */
static int cached_find(struct hkvfs_promoter *p, const void *key, size_t klen)
{
	for (unsigned i = 0; i < p->nc; i++)
		if (p->c[i].klen == klen && !memcmp(p->c[i].key, key, klen))
			return (int)i;
	return -1;
}

static void cached_drop(struct hkvfs_promoter *p, unsigned i)
{
	free(p->c[i].key);
	p->c[i] = p->c[--p->nc];
}

static void cached_add(struct hkvfs_promoter *p, const void *key, size_t klen, uint64_t version)
{
	int i = cached_find(p, key, klen);
	void *copy;

	if (i >= 0) {
		p->c[i].version = version;
		return;
	}
	if (p->nc == p->capc) {
		unsigned cap = p->capc ? p->capc * 2 : 64;
		struct cached *c = realloc(p->c, cap * sizeof(*c));

		if (!c)
			return;
		p->c = c;
		p->capc = cap;
	}
	copy = malloc(klen);
	if (!copy)
		return;
	memcpy(copy, key, klen);
	p->c[p->nc].key = copy;
	p->c[p->nc].klen = klen;
	p->c[p->nc].version = version;
	p->nc++;
}

static int dev_del(struct hkvfs_promoter *p, const void *key, size_t klen, uint64_t version)
{
	struct hkv_del d = { .size = sizeof(d), .ns = p->ns, .key_ptr = (uintptr_t)key,
			     .key_len = (__u32)klen, .version = version };

	return ioctl(p->fd, HKV_IOC_DEL, &d) ? -errno : 0;
}

static void dev_clear(struct hkvfs_promoter *p)
{
	struct hkv_clear c = { .size = sizeof(c), .flags = HKV_CLEAR_NS, .ns = p->ns };

	if (ioctl(p->fd, HKV_IOC_CLEAR, &c))
		plog(p, 0, "kernel cache: clearing namespace %#llx failed: %s",
		     (unsigned long long)p->ns, strerror(errno));
}

/*
 * The tombstone of a change: every value of the key with a version <= the result is stale.
 * A write that produced version @version makes exactly the older versions stale, so its own
 * value stays promotable; a deletion (@version 0), or a change whose version is not known,
 * makes everything handed out so far stale. Taking hkvfs_be_version() for a write as well would
 * be safe but would refuse the key's current value too, until the key is written again.
 */
static uint64_t tombstone_for(struct hkvfs_promoter *p, uint64_t version)
{
	return version ? version - 1 : hkvfs_be_version(p->be);
}

/*
 * A directory's mode or owner changed (@key is its marker): drop every cached key under its
 * prefix, since the module cannot see directory permissions.
 */
static void invalidate_dir(struct hkvfs_promoter *p, const unsigned char *key, size_t klen)
{
	size_t plen = klen - HKVFS_MARKER_LEN;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->nc;) {
		if (p->c[i].klen > plen && !memcmp(p->c[i].key, key, plen)) {
			dev_del(p, p->c[i].key, p->c[i].klen, 0);
			cached_drop(p, i);
		} else {
			i++;
		}
	}
	if (p->inflight && p->inflight_len > plen && !memcmp(p->inflight, key, plen))
		dev_del(p, p->inflight, p->inflight_len, hkvfs_be_version(p->be));
	pthread_mutex_unlock(&p->lock);
}

static bool is_dir_marker(const void *key, size_t klen)
{
	return klen >= HKVFS_MARKER_LEN &&
	       !memcmp((const char *)key + klen - HKVFS_MARKER_LEN, HKVFS_MARKER, HKVFS_MARKER_LEN);
}

void hkvfs_promoter_invalidate_version(struct hkvfs_promoter *p, const void *key, size_t klen,
				       uint64_t version)
{
	int i;

	if (!p || p->fd < 0)
		return;
	atomic_fetch_add_explicit(&p->invalidations, 1, memory_order_relaxed);
	if (!klen || klen > HKV_DEV_KEY_MAX) {
		/* unknown extent of the change, or a key the cache cannot hold: be safe */
		if (!klen)
			dev_clear(p);
		pthread_mutex_lock(&p->lock);
		if (!klen)
			while (p->nc)
				cached_drop(p, 0);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	dev_del(p, key, klen, tombstone_for(p, version));
	pthread_mutex_lock(&p->lock);
	i = cached_find(p, key, klen);
	if (i >= 0)
		cached_drop(p, (unsigned)i);
	pthread_mutex_unlock(&p->lock);
	if (is_dir_marker(key, klen))
		invalidate_dir(p, key, klen);
}

void hkvfs_promoter_invalidate(struct hkvfs_promoter *p, const void *key, size_t klen)
{
	hkvfs_promoter_invalidate_version(p, key, klen, 0);
}

void hkvfs_promoter_read(struct hkvfs_promoter *p, const void *key, size_t klen)
{
	if (p)
		hkvfs_hot_touch(p->hot, key, klen);
}

/* Copy @key into the kernel cache. Return: 0, or -errno (-ESTALE: a write won the race). */
static int promote_named(struct hkvfs_promoter *p, const void *key, size_t klen)
{
	struct hkv_stat st = { .size = sizeof(st) };
	struct hkv_buf val = { NULL, 0 };
	struct hkv_attr a;
	struct hkv_put put;
	int rc;

	if (klen > HKV_DEV_KEY_MAX)
		return -ENAMETOOLONG;
	if (p->o.eligible && !p->o.eligible(p->o.arg, key, klen))
		return -EPERM;
	if (ioctl(p->fd, HKV_IOC_STAT, &st))
		return -errno;
	rc = hkvfs_be_attr_get(p->be, key, klen, &a);
	if (rc)
		return rc;
	if (a.type != HKV_TYPE_STRING)
		return -EISDIR;
	if (a.size > st.max_value)
		return -EFBIG;
	rc = hkvfs_be_get(p->be, key, klen, &val);
	if (rc)
		return rc;
	memset(&put, 0, sizeof(put));
	put.size = sizeof(put);
	put.ns = p->ns;
	put.key_ptr = (uintptr_t)key;
	put.key_len = (__u32)klen;
	put.value_ptr = (uintptr_t)val.data;
	put.value_len = (__u32)val.len;
	put.version = a.version;
	put.expire_ms = a.expire_at > 0 ? (__u64)a.expire_at : 0;
	put.uid = a.uid;
	put.gid = a.gid;
	put.mode = a.mode & 07777;
	put.inval_seq = st.inval_seq;
	/* The snapshot's st_mtime: what a stat through FUSE shows. */
	put.mtime_ns = a.mtime_ns > 0 ? (__u64)a.mtime_ns : 0;
	rc = ioctl(p->fd, HKV_IOC_PUT, &put) ? -errno : 0;
	hkvfs_be_buf_release(&val);
	if (!rc) {
		pthread_mutex_lock(&p->lock);
		cached_add(p, key, klen, a.version);
		pthread_mutex_unlock(&p->lock);
		atomic_fetch_add_explicit(&p->promotions, 1, memory_order_relaxed);
	} else if (rc == -ESTALE) {
		atomic_fetch_add_explicit(&p->stale, 1, memory_order_relaxed);
	}
	return rc;
}

/* promote_named() with @key named in p->inflight while its eligibility may be stale. */
static int promote(struct hkvfs_promoter *p, const void *key, size_t klen)
{
	int rc;

	pthread_mutex_lock(&p->lock);
	p->inflight = key;
	p->inflight_len = klen;
	pthread_mutex_unlock(&p->lock);
	rc = promote_named(p, key, klen);
	pthread_mutex_lock(&p->lock);
	p->inflight = NULL;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static void drain_events(struct hkvfs_promoter *p)
{
	struct hkv_event ev;
	ssize_t n;

	while ((n = read(p->fd, &ev, sizeof(ev))) >= (ssize_t)offsetof(struct hkv_event, key)) {
		if (ev.type == HKV_EV_LOST) {
			/* we no longer know what is cached: forget it all; entries demote lazily */
			pthread_mutex_lock(&p->lock);
			while (p->nc)
				cached_drop(p, 0);
			pthread_mutex_unlock(&p->lock);
			continue;
		}
		if (ev.ns != p->ns || ev.key_len > HKV_DEV_KEY_MAX)
			continue;
		atomic_fetch_add_explicit(&p->evictions, 1, memory_order_relaxed);
		pthread_mutex_lock(&p->lock);
		int i = cached_find(p, ev.key, ev.key_len);

		if (i >= 0)
			cached_drop(p, (unsigned)i);
		pthread_mutex_unlock(&p->lock);
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One round: promote the hot, demote the cooled. */
static void cycle(struct hkvfs_promoter *p)
{
	struct hkvfs_hot_entry *top = NULL;
	uint32_t min_count = 2 * p->o.min_rate;
	int n;

	drain_events(p);
	n = hkvfs_hot_snapshot(p->hot, &top);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		int c;

		if (top[i].count < min_count)
			break;
		pthread_mutex_lock(&p->lock);
		c = cached_find(p, top[i].key, top[i].klen);
		pthread_mutex_unlock(&p->lock);
		if (c < 0)
			promote(p, top[i].key, top[i].klen);
	}
	/*
	 * Demote cached keys that are no longer hot enough - but only to keep at most k of them.
	 * Reads of a cached key are answered by the kernel and never reach this daemon, so its
	 * count decays while it is being read: demoting on the count alone would drop every hot
	 * key a second or two after promoting it and promote it again once its reads fall back
	 * to FUSE. Up to k cached keys stay until invalidated or evicted by the module, whose
	 * policy sees the hits.
	 */
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->nc && p->nc > p->o.k;) {
		bool hot = false;

		for (int j = 0; j < n && top[j].count >= min_count; j++)
			hot |= top[j].klen == p->c[i].klen &&
			       !memcmp(top[j].key, p->c[i].key, top[j].klen);
		if (hot) {
			i++;
			continue;
		}
		dev_del(p, p->c[i].key, p->c[i].klen, 0);
		cached_drop(p, i);
		atomic_fetch_add_explicit(&p->demotions, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&p->lock);
	hkvfs_hot_entries_free(top, n);
}

static void *promoter_main(void *arg)
{
	struct hkvfs_promoter *p = arg;
	int64_t last_decay = mono_ms();
	struct timespec ts;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(p->o.interval_ms % 1000) * 1000000;
		ts.tv_sec += p->o.interval_ms / 1000 + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		if (mono_ms() - last_decay >= 1000) {
			hkvfs_hot_decay(p->hot);
			last_decay = mono_ms();
		}
		if (p->fd >= 0 && p->o.enabled)
			cycle(p);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int open_device(struct hkvfs_promoter *p)
{
	struct hkv_owner own = { .size = sizeof(own), .flags = HKV_OWNER_CLAIM };
	struct hkv_events ev = { .size = sizeof(ev) };
	struct hkv_stat st = { .size = sizeof(st) };
	int fd = open(p->o.device, O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		plog(p, 2, "kernel cache %s not available (%s): hot reads are served through FUSE",
		     p->o.device, strerror(errno));
		return -1;
	}
	if (ioctl(fd, HKV_IOC_OWNER, &own) || ioctl(fd, HKV_IOC_STAT, &st)) {
		plog(p, 1, "kernel cache %s: cannot become its owner (%s): hot reads are served "
		     "through FUSE", p->o.device, strerror(errno));
		close(fd);
		return -1;
	}
	if (ioctl(fd, HKV_IOC_EVENTS, &ev))
		plog(p, 1, "kernel cache: no eviction events (%s)", strerror(errno));
	p->max_value = st.max_value;
	plog(p, 2, "kernel cache %s: namespace %#llx, values up to %llu bytes", p->o.device,
	     (unsigned long long)p->ns, (unsigned long long)st.max_value);
	return fd;
}

/*
 * Bind the namespace to the mount's file system. An O_PATH open of the mount point sends
 * nothing to the daemon (no FUSE request), so this is safe before the session loop runs.
 */
static void dev_bind(struct hkvfs_promoter *p)
{
	struct hkv_bind b = { .size = sizeof(b), .ns = p->ns };
	int fd = open(p->o.mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (b.fd = fd, ioctl(p->fd, HKV_IOC_BIND, &b)))
		plog(p, 1, "kernel cache: cannot bind namespace %#llx to %s (%s): the preload "
		     "shim will not be served", (unsigned long long)p->ns, p->o.mountpoint,
		     strerror(errno));
	if (fd >= 0)
		close(fd);
}

int hkvfs_promoter_start(struct hkvfs_be *be, const struct hkvfs_promote_opts *o, uint64_t ns,
			 struct hkvfs_promoter **out)
{
	struct hkvfs_promoter *p;

	if (!ns || o->interval_ms < 10 || o->interval_ms > 60000 || !o->k || o->k > 4096)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->be = be;
	p->o = *o;
	p->ns = ns;
	p->hot = hkvfs_hot_new(o->k, 16384, 4);
	if (!p->hot) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->fd = o->enabled ? open_device(p) : -1;
	if (p->fd >= 0)
		dev_clear(p);
	if (p->fd >= 0 && o->mountpoint)
		dev_bind(p);
	if (pthread_create(&p->thread, NULL, promoter_main, p)) {
		if (p->fd >= 0)
			close(p->fd);
		hkvfs_hot_free(p->hot);
		free(p);
		return -EAGAIN;
	}
	*out = p;
	return 0;
}

void hkvfs_promoter_stop(struct hkvfs_promoter *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	if (p->fd >= 0) {
		dev_clear(p);
		close(p->fd);
	}
	while (p->nc)
		cached_drop(p, 0);
	free(p->c);
	hkvfs_hot_free(p->hot);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (!*buf)
		return;
	if (*len + n + 1 > *cap) {
		size_t c = *cap * 2 + n + 1;
		char *b = realloc(*buf, c);

		if (!b) {
			free(*buf);
			*buf = NULL;
			return;
		}
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
}

int hkvfs_promoter_format(struct hkvfs_promoter *p, char **out)
{
	struct hkvfs_hot_entry *top = NULL;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), tmp[64];
	int n;

	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	n = hkvfs_hot_snapshot(p->hot, &top);
	if (n < 0) {
		free(buf);
		return -ENOMEM;
	}
	append(&buf, &len, &cap, "# reads/s\tkernel\tkey\n", 21);
	for (int i = 0; i < n; i++) {
		const unsigned char *k = top[i].key;
		bool cached;

		pthread_mutex_lock(&p->lock);
		cached = cached_find(p, top[i].key, top[i].klen) >= 0;
		pthread_mutex_unlock(&p->lock);
		int l = snprintf(tmp, sizeof(tmp), "%u.%u\t%s\t", top[i].count / 2,
				 top[i].count % 2 ? 5 : 0, cached ? "yes" : "no");

		append(&buf, &len, &cap, tmp, (size_t)l);
		for (size_t j = 0; j < top[i].klen; j++) {
			if (k[j] >= 0x20 && k[j] < 0x7f && k[j] != '\\') {
				append(&buf, &len, &cap, (const char *)&k[j], 1);
			} else {
				l = snprintf(tmp, sizeof(tmp), "\\x%02x", k[j]);
				append(&buf, &len, &cap, tmp, (size_t)l);
			}
		}
		append(&buf, &len, &cap, "\n", 1);
	}
	hkvfs_hot_entries_free(top, n);
	if (!buf)
		return -ENOMEM;
	*out = buf;
	return (int)len;
}

void hkvfs_promoter_stats(struct hkvfs_promoter *p, struct hkvfs_promote_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!p)
		return;
	st->device = p->fd >= 0;
	st->promotions = atomic_load_explicit(&p->promotions, memory_order_relaxed);
	st->stale = atomic_load_explicit(&p->stale, memory_order_relaxed);
	st->demotions = atomic_load_explicit(&p->demotions, memory_order_relaxed);
	st->invalidations = atomic_load_explicit(&p->invalidations, memory_order_relaxed);
	st->evictions = atomic_load_explicit(&p->evictions, memory_order_relaxed);
	pthread_mutex_lock(&p->lock);
	st->cached = p->nc;
	pthread_mutex_unlock(&p->lock);
}
