// SPDX-License-Identifier: MIT
/*
 * fuse-floor.c - hkv-fuse-floor: the cheapest FUSE daemon that can answer what hkv-bench fs
 * asks of a mount, so each hkvfs row has a floor measured on the same kernel, in the same run.
 *
 *   hkv-fuse-floor MOUNTPOINT [--cache on|off|noopen] [--entries N] [--timeout S]
 *                  [--single] [--noflush] [--keep-cache] [--stats FILE]
 *
 * The tree it serves holds no storage at all:
 *
 *   /f          a 64-byte regular file (fixed bytes)
 *   /d/         a directory of N entries k0000000, k0000001, ... (64-byte files), produced by
 *               readdir from the entry ordinal alone, so listing 1M entries allocates nothing
 *   /NAME       create + write + flush + release of any new name in / or /d are accepted and
 *               the bytes dropped; the new inode is never listed and never found again
 *
 * The daemon mirrors the choices of hkvfs that decide which requests the kernel sends, so
 * the difference between a floor row and an hkvfs row is hkvfs's own work: the same mount
 * options (default_permissions), the same init capabilities (PARALLEL_DIROPS,
 * AUTO_INVAL_DATA, atomic O_TRUNC; no HANDLE_KILLPRIV, no writeback cache, no READDIRPLUS),
 * no negative entries, every open direct_io, read-only opens without FLUSH (FOPEN_NOFLUSH),
 * and three cache modes:
 *
 *   off     entry/attr timeouts 0: every access reaches the daemon
 *   on      long timeouts; with --keep-cache read-only opens keep the page cache instead of
 *           direct_io (what an open+read+close costs when the kernel still sends OPEN and
 *           RELEASE but no READ)
 *   noopen  as on, and OPEN is answered ENOSYS so the kernel keeps no handles and stops
 *           sending OPEN and RELEASE, and reads through its page cache; FLUSH is still sent
 *           at every close unless --noflush answers it ENOSYS too, which makes the kernel
 *           stop sending it (hkvfs's read-only mounts do): the cheapest open+read+close FUSE
 *           allows
 *
 * Threads: by default the same multi-threaded loop as hkvfs (fuse_loop_cfg: no clone fd,
 * at most 16 workers, none retired when idle), which needs FUSE_USE_VERSION 312 on libfuse
 * 3.14 (with 34 the loop misreads its config and spawns a thread per request). --single runs
 * fuse_session_loop() in the main thread instead, the absolute floor (no thread hand-off).
 *
 * Request counters (--stats FILE): the daemon creates FILE and maps it shared; the counters
 * are relaxed atomic increments, so a reader (hkv-bench fs maps the same file) sees how many
 * requests of each kind an operation cost without sending any request itself.
 *
 * | offset | size | field                                                           |
 * | ------ | ---- | --------------------------------------------------------------- |
 * | 0      | 8    | magic HKV_FLOOR_STATS_MAGIC                                     |
 * | 8      | 8*15 | counters, in the order of enum floor_op (lookup ... other)     |
 */
#define FUSE_USE_VERSION 312 /* 3.14's fuse_loop_cfg misbehaves with 34 (field notes) */

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HKV_FLOOR_STATS_MAGIC 0x31726f6f6c66766bULL /* "kvfloor1" little-endian */

enum floor_op {
	FOP_LOOKUP, FOP_FORGET, FOP_GETATTR, FOP_SETATTR, FOP_OPEN, FOP_READ, FOP_WRITE,
	FOP_FLUSH, FOP_RELEASE, FOP_OPENDIR, FOP_READDIR, FOP_RELEASEDIR, FOP_CREATE, FOP_STATFS,
	FOP_OTHER, FOP_NR
};

struct floor_stats {
	uint64_t magic;
	_Atomic uint64_t cnt[FOP_NR];
};

enum floor_cache { CACHE_ON, CACHE_OFF, CACHE_NOOPEN };

/* inode numbers: fixed ones, then the directory's entries, then created files */
#define INO_ROOT FUSE_ROOT_ID
#define INO_F 2
#define INO_D 3
#define INO_ENTRY0 16
#define INO_CREATED0 (1ULL << 40)

#define FILE_SIZE 64

static struct {
	enum floor_cache cache;
	uint64_t entries;
	double timeout;
	bool noflush, keep_cache;
	struct floor_stats *stats;
	struct floor_stats dummy;
	_Atomic uint64_t next_created;
	struct timespec t0;
	uid_t uid;
	gid_t gid;
	char data[FILE_SIZE];
} g;

static inline void count(enum floor_op op)
{
	atomic_fetch_add_explicit(&g.stats->cnt[op], 1, memory_order_relaxed);
}

static double tmo(void)
{
	return g.cache == CACHE_OFF ? 0 : g.timeout;
}

/* stat of @ino; false if no such inode */
static bool fill_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = g.uid;
	st->st_gid = g.gid;
	st->st_atim = st->st_mtim = st->st_ctim = g.t0;
	st->st_blksize = 4096;
	if (ino == INO_ROOT || ino == INO_D) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return true;
	}
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	if (ino == INO_F || (ino >= INO_ENTRY0 && ino - INO_ENTRY0 < g.entries)) {
		st->st_size = FILE_SIZE;
		st->st_blocks = 1;
		return true;
	}
	return ino >= INO_CREATED0; /* created files stay empty */
}

static void reply_entry_of(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	fill_attr(ino, &e.attr);
	e.attr_timeout = e.entry_timeout = tmo();
	fuse_reply_entry(req, &e);
}

/* "k" + 7 or more decimal digits, exactly as readdir spells entry @i */
static bool parse_entry(const char *name, uint64_t *i)
{
	char buf[32];
	char *end;
	unsigned long long v;

	if (name[0] != 'k' || name[1] < '0' || name[1] > '9')
		return false;
	errno = 0;
	v = strtoull(name + 1, &end, 10);
	if (errno || *end || v >= g.entries)
		return false;
	snprintf(buf, sizeof(buf), "k%07llu", v);
	if (strcmp(buf, name))
		return false;
	*i = v;
	return true;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~FUSE_CAP_READDIRPLUS;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uint64_t i;

	count(FOP_LOOKUP);
	if (parent == INO_ROOT && !strcmp(name, "f"))
		reply_entry_of(req, INO_F);
	else if (parent == INO_ROOT && !strcmp(name, "d"))
		reply_entry_of(req, INO_D);
	else if (parent == INO_D && parse_entry(name, &i))
		reply_entry_of(req, INO_ENTRY0 + i);
	else
		fuse_reply_err(req, ENOENT);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	count(FOP_FORGET);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t n, struct fuse_forget_data *f)
{
	(void)n;
	(void)f;
	count(FOP_FORGET);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	count(FOP_GETATTR);
	if (!fill_attr(ino, &st))
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, tmo());
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct stat st;

	(void)attr;
	(void)to_set;
	(void)fi;
	count(FOP_SETATTR);
	if (!fill_attr(ino, &st))
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, tmo());
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	count(FOP_OPEN);
	if (g.cache == CACHE_NOOPEN) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fi->direct_io = 1;
	} else {
		fi->noflush = 1;
		if (g.keep_cache && g.cache == CACHE_ON)
			fi->keep_cache = 1;
		else
			fi->direct_io = 1;
	}
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	size_t len = 0;

	(void)fi;
	count(FOP_READ);
	if ((ino == INO_F || (ino >= INO_ENTRY0 && ino < INO_CREATED0)) && off < FILE_SIZE) {
		len = FILE_SIZE - (size_t)off;
		if (len > size)
			len = size;
	}
	fuse_reply_buf(req, g.data + (len ? off : 0), len);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)off;
	(void)fi;
	count(FOP_WRITE);
	fuse_reply_write(req, size);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	count(FOP_FLUSH);
	fuse_reply_err(req, g.noflush ? ENOSYS : 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	count(FOP_RELEASE);
	fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count(FOP_OPENDIR);
	if (ino != INO_ROOT && ino != INO_D) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->fh = 0;
	fuse_reply_open(req, fi);
}

/* name of entry @o (0-based ordinal) of directory @ino, or NULL past the end */
static const char *dir_entry(fuse_ino_t ino, uint64_t o, char *buf, size_t bsz,
			     fuse_ino_t *eino, mode_t *mode)
{
	static const char *const root[] = { ".", "..", "f", "d" };

	*mode = S_IFDIR;
	if (o == 0 || o == 1) {
		*eino = ino;
		return root[o];
	}
	if (ino == INO_ROOT) {
		if (o >= 4)
			return NULL;
		*eino = o == 2 ? INO_F : INO_D;
		*mode = o == 2 ? S_IFREG : S_IFDIR;
		return root[o];
	}
	if (o - 2 >= g.entries)
		return NULL;
	*eino = INO_ENTRY0 + (o - 2);
	*mode = S_IFREG;
	snprintf(buf, bsz, "k%07" PRIu64, o - 2);
	return buf;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char out[65536], name[32];
	size_t pos = 0;
	uint64_t o;

	(void)fi;
	count(FOP_READDIR);
	if (size > sizeof(out))
		size = sizeof(out);
	for (o = (uint64_t)off;; o++) {
		struct stat st;
		fuse_ino_t eino;
		mode_t mode;
		const char *n = dir_entry(ino, o, name, sizeof(name), &eino, &mode);
		size_t need;

		if (!n)
			break;
		memset(&st, 0, sizeof(st));
		st.st_ino = eino;
		st.st_mode = mode;
		need = fuse_add_direntry(req, out + pos, size - pos, n, &st, (off_t)(o + 1));
		if (need > size - pos)
			break;
		pos += need;
	}
	fuse_reply_buf(req, out, pos);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	count(FOP_RELEASEDIR);
	fuse_reply_err(req, 0);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fuse_entry_param e;

	(void)name;
	(void)mode;
	count(FOP_CREATE);
	if (parent != INO_ROOT && parent != INO_D) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = atomic_fetch_add(&g.next_created, 1);
	e.generation = 1;
	fill_attr(e.ino, &e.attr);
	e.attr_timeout = e.entry_timeout = tmo();
	fi->fh = 0;
	fi->direct_io = 1;
	fuse_reply_create(req, &e, fi);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	count(FOP_STATFS);
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void op_other(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	count(FOP_OTHER);
	fuse_reply_err(req, ENOTSUP);
}

static const struct fuse_lowlevel_ops floor_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.create = op_create,
	.statfs = op_statfs,
	.getxattr = op_other,
};

/* map @path as the shared counter block; on failure the counters go to a private dummy */
static int stats_map(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	void *p;
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(struct floor_stats)) < 0) {
		rc = -errno;
		goto out_close;
	}
	p = mmap(NULL, sizeof(struct floor_stats), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		goto out_close;
	}
	g.stats = p;
	g.stats->magic = HKV_FLOOR_STATS_MAGIC;
out_close:
	close(fd);
	return rc;
}

static void usage(FILE *f)
{
	fputs("usage: hkv-fuse-floor MOUNTPOINT [--cache on|off|noopen] [--entries N]\n"
	      "                      [--timeout S] [--single] [--noflush] [--keep-cache]\n"
	      "                      [--stats FILE]\n"
	      "A storage-free FUSE daemon (root: file f of 64 B, directory d of N entries) that\n"
	      "serves as the floor of hkv-bench fs. Runs in the foreground; SIGTERM unmounts.\n"
	      "  --cache MODE  off: timeouts 0 + direct_io; on: long timeouts + direct_io;\n"
	      "                noopen: as on, OPEN answered ENOSYS (default on)\n"
	      "  --entries N   entries of d (default 100000)\n"
	      "  --timeout S   entry/attr timeout of the cached modes (default 3600)\n"
	      "  --single      single-threaded loop (default: the multi-threaded loop of hkvfs)\n"
	      "  --noflush     answer FLUSH with ENOSYS (the kernel stops sending it)\n"
	      "  --keep-cache  on: read-only opens keep the page cache instead of direct_io\n"
	      "  --stats FILE  request counters, shared-mapped (see the source for the layout)\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ "entries", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "single", no_argument, NULL, 's' },
		{ "noflush", no_argument, NULL, 'F' },
		{ "keep-cache", no_argument, NULL, 'K' },
		{ "stats", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se;
	const char *stats_path = NULL;
	bool single = false;
	int c, i, rc, ret = 1;

	g.cache = CACHE_ON;
	g.entries = 100000;
	g.timeout = 3600;
	g.stats = &g.dummy;
	g.next_created = INO_CREATED0;
	g.uid = getuid();
	g.gid = getgid();
	clock_gettime(CLOCK_REALTIME, &g.t0);
	for (i = 0; i < FILE_SIZE; i++)
		g.data[i] = "0123456789abcdef"[i % 16];
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!strcmp(optarg, "on"))
				g.cache = CACHE_ON;
			else if (!strcmp(optarg, "off"))
				g.cache = CACHE_OFF;
			else if (!strcmp(optarg, "noopen"))
				g.cache = CACHE_NOOPEN;
			else
				goto bad_usage;
			break;
		case 'n':
			g.entries = strtoull(optarg, NULL, 10);
			break;
		case 't':
			g.timeout = strtod(optarg, NULL);
			break;
		case 's':
			single = true;
			break;
		case 'F':
			g.noflush = true;
			break;
		case 'K':
			g.keep_cache = true;
			break;
		case 'S':
			stats_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad_usage;
		}
	}
	if (optind != argc - 1)
		goto bad_usage;
	if (stats_path) {
		rc = stats_map(stats_path);
		if (rc) {
			fprintf(stderr, "hkv-fuse-floor: %s: %s\n", stats_path, strerror(-rc));
			return 1;
		}
	}
	if (fuse_opt_add_arg(&args, argv[0]) || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, "default_permissions,fsname=floor,subtype=hkv-fuse-floor")) {
		fputs("hkv-fuse-floor: out of memory\n", stderr);
		return 1;
	}
	se = fuse_session_new(&args, &floor_ops, sizeof(floor_ops), NULL);
	if (!se) {
		fputs("hkv-fuse-floor: cannot create the FUSE session\n", stderr);
		goto out_args;
	}
	if (fuse_set_signal_handlers(se))
		goto out_destroy;
	if (fuse_session_mount(se, argv[optind])) {
		fprintf(stderr, "hkv-fuse-floor: cannot mount on %s\n", argv[optind]);
		goto out_signals;
	}
	if (single) {
		rc = fuse_session_loop(se);
	} else {
		lc = fuse_loop_cfg_create();
		if (!lc)
			goto out_unmount;
		fuse_loop_cfg_set_clone_fd(lc, 0);
		fuse_loop_cfg_set_max_threads(lc, 16);
		rc = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	/* a signal ends the loop as an orderly stop; anything else is an error */
	ret = rc < 0 && rc != -EINTR ? 1 : 0;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
out_args:
	fuse_opt_free_args(&args);
	return ret;

bad_usage:
	usage(stderr);
	return 2;
}
