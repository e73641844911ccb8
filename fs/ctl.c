// SPDX-License-Identifier: MIT
/*
 * ctl.c - the daemon side of the control socket (DATA_DIR/hkvfs.sock).
 *
 * One thread accepts connections and serves one request per connection (wire format in
 * ctlclient.c and docs/filesystem.md). Requests go straight to the engine; the engine's watch
 * callback queues the kernel invalidations exactly as for filesystem writes (and drops the
 * key from the kernel hot cache at once), and the reply is sent only after the invalidation
 * thread has sent every notification queued up to then (hkvfs_inval_wait), so a `cat` that
 * starts after hkvctl returned sees the new value. The socket is created mode 0600: only
 * the daemon's user may send requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hkv/ctlclient.h"
#include "hkvfs_int.h"

static int ctl_fd = -1;
static int ctl_pipe[2] = { -1, -1 };
static pthread_t ctl_thread;

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void out_add(struct out *o, const void *p, size_t n)
{
	if (o->err || !n)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *b = realloc(o->buf, cap);

		if (!b) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_add(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * struct scan_arg - where a scan or element callback writes its reply.
 * @sep:        separator after each item ('\n', or NUL for scan0).
 * @with_value: the reply carries @b after each element (hgetall: field, value lines). lrange
 *              hands the element's index in @b and smembers nothing; neither is printed. The
 *              verb decides this, never the shape of @b: a hash value may be any length.
 */
struct scan_arg {
	struct out *o;
	char sep;
	bool with_value;
};

static int scan_cb(void *arg, const void *key, size_t klen, enum hkv_type type, bool is_prefix)
{
	struct scan_arg *s = arg;

	(void)type;
	(void)is_prefix;
	out_add(s->o, key, klen);
	out_add(s->o, &s->sep, 1);
	return 0;
}

static int elem_cb(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct scan_arg *s = arg;

	out_add(s->o, a, alen);
	out_add(s->o, &s->sep, 1);
	if (s->with_value) {
		out_add(s->o, b, blen);
		out_add(s->o, &s->sep, 1);
	}
	return 0;
}

static int z_cb(void *arg, const void *m, size_t mlen, double score)
{
	struct scan_arg *s = arg;

	out_add(s->o, m, mlen);
	out_printf(s->o, " %.17g\n", score);
	return 0;
}

static bool num_arg(const char *a, size_t len, int64_t *out)
{
	char tmp[32], *end;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, a, len);
	tmp[len] = 0;
	errno = 0;
	*out = strtoll(tmp, &end, 10);
	return !errno && !*end;
}

#define VERB(s) (alen[0] == sizeof(s) - 1 && memcmp(av[0], s, sizeof(s) - 1) == 0)
#define NEED(n)                                                                                \
	do {                                                                                   \
		if (argc != (n)) {                                                             \
			out_printf(o, "usage: wrong number of arguments");                     \
			return -EINVAL;                                                        \
		}                                                                              \
	} while (0)

static int dispatch(int argc, char **av, size_t *alen, struct out *o)
{
	struct hkv *db = hkvfs_g.db;
	struct scan_arg sa = { .o = o, .sep = '\n' };
	struct hkv_buf v = { 0 };
	int64_t n, m;
	double d;
	int rc;

	if (VERB("ping")) {
		out_printf(o, "pong\n");
		return 0;
	}
	if (VERB("get") || VERB("hget")) {
		NEED(VERB("get") ? 2 : 3);
		rc = VERB("get") ? hkv_get(db, av[1], alen[1], &v)
				 : hkv_hget(db, av[1], alen[1], av[2], alen[2], &v);
		if (rc == 0)
			out_add(o, v.data, v.len);
		hkv_buf_release(&v);
		return rc;
	}
	if (VERB("set")) {
		NEED(3);
		rc = hkv_set(db, av[1], alen[1], av[2], alen[2], NULL);
		return rc < 0 ? rc : 0;
	}
	if (VERB("append")) {
		NEED(3);
		n = hkv_append(db, av[1], alen[1], av[2], alen[2], NULL);
		if (n >= 0)
			out_printf(o, "%" PRId64 "\n", n);
		return n < 0 ? (int)n : 0;
	}
	if (VERB("del") || VERB("exists") || VERB("type") || VERB("ttl") || VERB("pttl") ||
	    VERB("persist")) {
		NEED(2);
		if (VERB("del"))
			n = hkv_del(db, av[1], alen[1]);
		else if (VERB("exists"))
			n = hkv_exists(db, av[1], alen[1]);
		else if (VERB("ttl"))
			n = hkv_ttl(db, av[1], alen[1]);
		else if (VERB("pttl"))
			n = hkv_pttl(db, av[1], alen[1]);
		else if (VERB("persist"))
			n = hkv_persist(db, av[1], alen[1]);
		else {
			n = hkv_type(db, av[1], alen[1]);
			if (n >= 0) {
				out_printf(o, "%s\n", hkv_type_name((enum hkv_type)n));
				return 0;
			}
		}
		if (n < -2 || (n < 0 && !VERB("ttl") && !VERB("pttl")))
			return (int)n;
		out_printf(o, "%" PRId64 "\n", n);
		return 0;
	}
	if (VERB("expire") || VERB("pexpire") || VERB("pexpireat")) {
		NEED(3);
		if (!num_arg(av[2], alen[2], &n)) {
			out_printf(o, "not an integer");
			return -EINVAL;
		}
		rc = VERB("expire") ? hkv_expire(db, av[1], alen[1], n, 0)
		     : VERB("pexpire") ? hkv_pexpire(db, av[1], alen[1], n, 0)
				       : hkv_pexpireat(db, av[1], alen[1], n, 0);
		if (rc >= 0)
			out_printf(o, "%d\n", rc);
		return rc < 0 ? rc : 0;
	}
	if (VERB("rename")) {
		NEED(3);
		return hkv_rename(db, av[1], alen[1], av[2], alen[2], 0);
	}
	if (VERB("incrby")) {
		NEED(3);
		if (!num_arg(av[2], alen[2], &n))
			return -EINVAL;
		rc = hkv_incrby(db, av[1], alen[1], n, &m);
		if (!rc)
			out_printf(o, "%" PRId64 "\n", m);
		return rc;
	}
	if (VERB("scan") || VERB("scan0")) {
		struct hkv_scan_opts so = { .count = 256 };
		struct hkv_cursor cur;

		if (argc > 2)
			return -EINVAL;
		so.match = argc == 2 ? av[1] : NULL;
		sa.sep = VERB("scan0") ? 0 : '\n';
		hkv_cursor_init(&cur);
		while (!cur.done && !o->err) {
			rc = hkv_scan(db, &cur, &so, scan_cb, &sa);
			if (rc < 0)
				return rc;
		}
		return o->err;
	}
	if (VERB("hset")) {
		NEED(4);
		rc = hkv_hset(db, av[1], alen[1], av[2], alen[2], av[3], alen[3], NULL);
		return rc < 0 ? rc : 0;
	}
	if (VERB("hdel") || VERB("sadd") || VERB("srem") || VERB("zrem")) {
		NEED(3);
		rc = VERB("hdel")   ? hkv_hdel(db, av[1], alen[1], av[2], alen[2])
		     : VERB("sadd") ? hkv_sadd(db, av[1], alen[1], av[2], alen[2], NULL)
		     : VERB("srem") ? hkv_srem(db, av[1], alen[1], av[2], alen[2])
				    : hkv_zrem(db, av[1], alen[1], av[2], alen[2]);
		if (rc >= 0)
			out_printf(o, "%d\n", rc);
		return rc < 0 ? rc : 0;
	}
	if (VERB("hgetall") || VERB("smembers")) {
		NEED(2);
		sa.with_value = VERB("hgetall");
		rc = VERB("hgetall") ? hkv_hgetall(db, av[1], alen[1], elem_cb, &sa)
				     : hkv_smembers(db, av[1], alen[1], elem_cb, &sa);
		return rc < 0 ? rc : o->err;
	}
	if (VERB("zadd")) {
		char tmp[64], *end;

		NEED(4);
		if (alen[2] >= sizeof(tmp))
			return -EINVAL;
		memcpy(tmp, av[2], alen[2]);
		tmp[alen[2]] = 0;
		d = strtod(tmp, &end);
		if (*end || end == tmp)
			return -EINVAL;
		rc = hkv_zadd(db, av[1], alen[1], d, av[3], alen[3], 0, NULL, NULL);
		return rc < 0 ? rc : 0;
	}
	if (VERB("zscore")) {
		NEED(3);
		rc = hkv_zscore(db, av[1], alen[1], av[2], alen[2], &d);
		if (!rc)
			out_printf(o, "%.17g\n", d);
		return rc;
	}
	if (VERB("zrange")) {
		struct hkv_zrange_opts zo = { .limit = -1 };

		NEED(4);
		if (!num_arg(av[2], alen[2], &zo.start) || !num_arg(av[3], alen[3], &zo.stop))
			return -EINVAL;
		rc = hkv_zrange(db, av[1], alen[1], &zo, z_cb, &sa);
		return rc < 0 ? rc : o->err;
	}
	if (VERB("lpush") || VERB("rpush")) {
		NEED(3);
		n = VERB("lpush") ? hkv_lpush(db, av[1], alen[1], av[2], alen[2], NULL)
				  : hkv_rpush(db, av[1], alen[1], av[2], alen[2], NULL);
		if (n >= 0)
			out_printf(o, "%" PRId64 "\n", n);
		return n < 0 ? (int)n : 0;
	}
	if (VERB("lpop") || VERB("rpop")) {
		NEED(2);
		rc = VERB("lpop") ? hkv_lpop(db, av[1], alen[1], &v)
				  : hkv_rpop(db, av[1], alen[1], &v);
		if (!rc)
			out_add(o, v.data, v.len);
		hkv_buf_release(&v);
		return rc;
	}
	if (VERB("lrange")) {
		NEED(4);
		if (!num_arg(av[2], alen[2], &n) || !num_arg(av[3], alen[3], &m))
			return -EINVAL;
		rc = hkv_lrange(db, av[1], alen[1], n, m, elem_cb, &sa);
		return rc < 0 ? rc : o->err;
	}
	if (VERB("stats")) {
		char *t = NULL;
		ssize_t len;

		NEED(1);
		len = hkvfs_ctl_text(HKVFS_CTL_STATS, &t);
		if (len < 0)
			return (int)len;
		out_add(o, t, (size_t)len);
		free(t);
		return 0;
	}
	if (VERB("config")) {
		char *t = NULL;
		ssize_t len;

		NEED(1);
		len = hkvfs_ctl_text(HKVFS_CTL_CONFIG, &t);
		if (len < 0)
			return (int)len;
		out_add(o, t, (size_t)len);
		free(t);
		return 0;
	}
	if (VERB("compact")) {
		bool all = argc == 2 && alen[1] == 3 && memcmp(av[1], "all", 3) == 0;

		if (argc > 2 || (argc == 2 && !all))
			return -EINVAL;
		rc = hkv_compact(db, all);
		if (rc >= 0)
			out_printf(o, "%d\n", rc);
		return rc < 0 ? rc : 0;
	}
	if (VERB("sync")) {
		NEED(1);
		return hkv_sync(db);
	}
	if (VERB("path")) {
		char path[8192];

		NEED(2);
		rc = hkv_pathmap_key_to_path(av[1], alen[1], hkvfs_g.opts.delim, path,
					     sizeof(path));
		if (rc < 0)
			return rc;
		out_printf(o, "%s/%s\n", hkvfs_g.mountpoint, "");
		o->len--; /* mountpoint/ then the path, binary-safe */
		out_add(o, path, (size_t)rc);
		out_add(o, "\n", 1);
		return 0;
	}
	out_printf(o, "unknown verb '%.*s'", (int)(alen[0] > 32 ? 32 : alen[0]), av[0]);
	return -EINVAL;
}

static int rd(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPROTO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void serve(int fd)
{
	char *av[HKVFS_CTL_MAXARGS] = { 0 };
	size_t alen[HKVFS_CTL_MAXARGS];
	struct out o = { 0 };
	unsigned char h[8];
	uint32_t argc = 0, i;
	const char *p;
	size_t left;
	int rc;

	atomic_fetch_add_explicit(&hkvfs_g.cnt.ctl_requests, 1, memory_order_relaxed);
	rc = rd(fd, h, 4);
	if (rc)
		goto out;
	argc = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	if (argc < 1 || argc > HKVFS_CTL_MAXARGS) {
		argc = 0;
		rc = -EPROTO;
		goto reply;
	}
	for (i = 0; i < argc; i++) {
		uint32_t l;

		rc = rd(fd, h, 4);
		if (rc)
			goto out;
		l = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
		    (uint32_t)h[3] << 24;
		if (l > HKVFS_CTL_MAXBODY) {
			rc = -E2BIG;
			goto out;
		}
		av[i] = malloc((size_t)l + 1);
		if (!av[i]) {
			rc = -ENOMEM;
			goto out;
		}
		rc = rd(fd, av[i], l);
		if (rc)
			goto out;
		av[i][l] = 0;
		alen[i] = l;
	}
	rc = dispatch((int)argc, av, alen, &o);
	/* the kernel caches drop what this request changed before the client hears back */
	hkvfs_inval_wait();
	if (!rc && o.err)
		rc = o.err;
	if (rc) {
		HLOG_INFO("control request '%.*s' failed: %s", (int)(alen[0] > 32 ? 32 : alen[0]),
			 av[0], hkv_strerror(rc));
		if (!o.len) {
			free(o.buf);
			o.buf = NULL;
			o.len = 0;
			o.cap = 0;
			o.err = 0;
			out_printf(&o, "%s", hkv_strerror(rc));
		}
	}
reply:
	h[0] = (unsigned char)rc;
	h[1] = (unsigned char)((uint32_t)rc >> 8);
	h[2] = (unsigned char)((uint32_t)rc >> 16);
	h[3] = (unsigned char)((uint32_t)rc >> 24);
	h[4] = (unsigned char)o.len;
	h[5] = (unsigned char)(o.len >> 8);
	h[6] = (unsigned char)(o.len >> 16);
	h[7] = (unsigned char)(o.len >> 24);
	p = (const char *)h;
	left = 8;
	while (left) {
		ssize_t n = write(fd, p, left);

		if (n <= 0)
			goto out;
		p += n;
		left -= (size_t)n;
	}
	p = o.buf;
	left = o.len;
	while (left) {
		ssize_t n = write(fd, p, left);

		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
out:
	for (i = 0; i < argc; i++)
		free(av[i]);
	free(o.buf);
}

static void *ctl_main(void *arg)
{
	struct pollfd pf[2] = { { .fd = ctl_fd, .events = POLLIN },
				{ .fd = ctl_pipe[0], .events = POLLIN } };

	(void)arg;
	for (;;) {
		int c;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		c = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
	return NULL;
}

int hkvfs_ctl_start(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	unlink(path); /* a stale socket from a killed daemon; the store lock says we own it */
	ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl_fd < 0)
		return -errno;
	old = umask(0177);
	rc = bind(ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(ctl_fd, 16) < 0 || pipe2(ctl_pipe, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_close;
	}
	rc = -pthread_create(&ctl_thread, NULL, ctl_main, NULL);
	if (rc)
		goto out_close;
	return 0;
out_close:
	close(ctl_fd);
	ctl_fd = -1;
	return rc;
}

void hkvfs_ctl_stop(void)
{
	if (ctl_fd < 0)
		return;
	if (write(ctl_pipe[1], "x", 1) != 1)
		HLOG_WARN("cannot wake the control thread");
	pthread_join(ctl_thread, NULL);
	close(ctl_fd);
	close(ctl_pipe[0]);
	close(ctl_pipe[1]);
	unlink(hkvfs_g.sock_path);
	ctl_fd = -1;
}
