// SPDX-License-Identifier: MIT
/*
 * difftest.c - differential test of hkvfs against tmpfs: one random sequence of file
 * operations applied to two directory trees, every result compared.
 *
 * Usage: hkvfs-difftest [--seed N] [--steps N] [--seconds N] [--verbose] DIR_A DIR_B
 *
 * DIR_A is a directory on an hkvfs mount, DIR_B one on a tmpfs (the reference); both start
 * empty. A xorshift generator seeded with --seed (default 1) picks each step's operation and
 * arguments once; the step then runs on A and on B in turn, and each run writes a transcript
 * (return values, errno names, sizes, modes, content hashes, sorted listings). The transcripts
 * must be equal. The first difference stops the test with its seed, step number, the
 * operation and both transcripts, and the last steps that led there; exit 1. A run stops after
 * --steps steps (default 3000) or --seconds seconds (default: no limit), and every 200 steps
 * and at the end the two whole trees are compared (names, types, sizes, modes, owners,
 * contents, user xattrs). Exit 0: no difference.
 *
 * --keep-going is for finding every kind of difference rather than judging: each difference
 * is reported, both trees are emptied (so it does not cascade) and the run goes on; at the
 * end a table counts the differences by operation and first differing result. Exit 1 if any.
 *
 * Names come from a small alphabet ("a", "b", "c", "d e", depth 1 to 3) so operations meet
 * each other's files: a rename lands on an existing file or directory, an rmdir finds one
 * not empty, a create finds a file where a directory is needed.
 *
 * Operations (every result and errno compared): create (O_CREAT, with O_EXCL or O_TRUNC at
 * random), write at an offset (pwrite, past the end leaves a hole), append (O_APPEND),
 * truncating open + write, truncate(2), ftruncate(2), read (whole content and a pread at an
 * offset), stat, rename (plain and RENAME_NOREPLACE; the moved object must keep its st_ino
 * on both sides or on neither), unlink, mkdir, rmdir, chmod, chown, utimensat (explicit
 * times, nanoseconds, compared exactly afterwards), setxattr (plain, XATTR_CREATE,
 * XATTR_REPLACE), getxattr, listxattr, removexattr, listing (sorted names and types), fstat
 * of a writer's own descriptor before close, an unlink while a reader holds the file open
 * (fstat and read through that descriptor), an unlink while a writer holds it open (the name
 * must stay gone after the close), and the timestamps a change must update: a directory's
 * mtime after a create, unlink, mkdir, rmdir or rename in it, and a file's after a write (the
 * time is first set to a fixed past value, then "changed or not" is compared).
 *
 * What is deliberately not compared, because hkvfs documents a difference (docs/filesystem.md,
 * "Conformance"):
 *   - object types hkvfs does not have: no symlink, hard link, FIFO, socket or device node
 *     is ever made;
 *   - a key and a prefix of the same name (key "a" and key "a/b") can only be made through
 *     the RESP socket, never through file operations, so they cannot arise here;
 *   - names hkvfs reserves or escapes (a component starting with ".hkv", a '%' that is not a
 *     canonical escape) are not in the alphabet; the mount root's .hkv/ is outside DIR_A;
 *   - the user.hkv.* xattrs (TTL, type) are hkvfs's own: never set, and filtered out of
 *     listxattr; other namespaces (security.*, trusted.*) are not listed;
 *   - a file's content while another descriptor of it is open for writing: hkvfs publishes
 *     a write at close (atomically), tmpfs at once, so every write here is open, write,
 *     close, and nothing reads a file between a writer's open and its close;
 *   - st_ino values (each filesystem numbers its own; only "same object after rename" is
 *     compared), st_dev, st_blocks, st_blksize, ctime (no operation sets it explicitly), and
 *     atime and mtime except where set explicitly or tested for a change as above.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 3
#define MAX_WRITE 8192
#define MAX_OFF 16384
#define HISTORY 12
#define TREE_EVERY 200
/* a past time set before a change that must move a timestamp */
#define OLD_SEC 1000000000

static const char *const alphabet[] = { "a", "b", "c", "d e" };
static const char *const xnames[] = { "user.x", "user.y", "user.long.name.z" };

struct side {
	const char *root;
	int dfd;
};

struct tr {
	char *buf;
	size_t len, cap;
};

static struct side sides[2];
static uint64_t rng;
static bool verbose, keep_going;
static char history[HISTORY][1024];
static unsigned long hist_n;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void tr_add(struct tr *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap ? t->cap * 2 + (size_t)n : 4096;
		t->buf = realloc(t->buf, t->cap);
		if (!t->buf) {
			perror("difftest: realloc");
			exit(2);
		}
	}
}

/* a result: the value, or the errno's name */
static void tr_rc(struct tr *t, const char *what, long rc, int err)
{
	if (rc < 0)
		tr_add(t, "%s=%s ", what, strerrorname_np(err) ? strerrorname_np(err) : "E?");
	else
		tr_add(t, "%s=%ld ", what, rc);
}

/* evaluate @expr, then record its result with the errno it left (never an older one) */
#define TR(t, what, expr)                                                                  \
	do {                                                                               \
		long tr_r_ = (long)(expr);                                                 \
		int tr_e_ = errno;                                                         \
		tr_rc((t), (what), tr_r_, tr_e_);                                          \
	} while (0)

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static void rand_path(char *out, size_t cap)
{
	int depth = 1 + (int)below(MAX_DEPTH);
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "/" : "",
				      alphabet[below(sizeof(alphabet) / sizeof(alphabet[0]))]);
}

/* the parent directory of @path ("." for a top-level name) */
static void parent_of(const char *path, char *out, size_t cap)
{
	const char *s = strrchr(path, '/');

	if (!s)
		snprintf(out, cap, ".");
	else
		snprintf(out, cap, "%.*s", (int)(s - path), path);
}

static void fill(unsigned char *buf, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
}

/* the whole content of @fd: length and hash */
static void tr_content(struct tr *t, int fd)
{
	unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t total = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		h = fnv(buf, (size_t)r, h);
		total += (size_t)r;
	}
	if (r < 0)
		TR(t, "read", -1);
	else
		tr_add(t, "content=%zu:%016" PRIx64 " ", total, h);
}

static void tr_stat(struct tr *t, const struct stat *st, bool times)
{
	tr_add(t, "type=%o mode=%04o uid=%u gid=%u nlink=%lu", st->st_mode & S_IFMT,
	       st->st_mode & 07777, st->st_uid, st->st_gid, (unsigned long)st->st_nlink);
	if (S_ISREG(st->st_mode))
		tr_add(t, " size=%lld", (long long)st->st_size);
	if (times)
		tr_add(t, " atime=%lld.%09ld mtime=%lld.%09ld", (long long)st->st_atim.tv_sec,
		       st->st_atim.tv_nsec, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	tr_add(t, " ");
}

static void tr_fstatat(struct tr *t, int dfd, const char *path, bool times)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		TR(t, "stat", -1);
	else
		tr_stat(t, &st, times);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* user.* xattrs except hkvfs's own user.hkv.*, sorted, with their values' hashes */
static void tr_xattrs(struct tr *t, int dfd, const char *path)
{
	char list[8192], *names[256], proc[4096 + 64], val[4096];
	ssize_t n, v;
	int k = 0, fd;

	/* the *at() family has no xattr calls here: go through an O_PATH descriptor */
	fd = openat(dfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		TR(t, "xopen", -1);
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = listxattr(proc, list, sizeof(list));
	if (n < 0) {
		TR(t, "listxattr", -1);
		close(fd);
		return;
	}
	for (char *p = list; p < list + n && k < 256; p += strlen(p) + 1)
		if (strncmp(p, "user.", 5) == 0 && strncmp(p, "user.hkv.", 9) != 0)
			names[k++] = p;
	qsort(names, (size_t)k, sizeof(names[0]), cmp_str);
	tr_add(t, "xattrs=[");
	for (int i = 0; i < k; i++) {
		v = getxattr(proc, names[i], val, sizeof(val));
		if (v < 0)
			tr_add(t, "%s=%s,", names[i], strerrorname_np(errno));
		else
			tr_add(t, "%s=%.*s,", names[i], (int)v, val);
	}
	tr_add(t, "] ");
	close(fd);
}

/* the sorted entries of directory @path, each with its type */
static void tr_list(struct tr *t, int dfd, const char *path)
{
	char *names[1024];
	struct dirent *de;
	int k = 0, fd;
	DIR *d;

	fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		TR(t, "opendir", -1);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		TR(t, "fdopendir", -1);
		close(fd);
		return;
	}
	errno = 0;
	while ((de = readdir(d)) && k < 1024) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&names[k], "%s:%s", de->d_name,
			     de->d_type == DT_DIR ? "d" : de->d_type == DT_REG ? "f" :
			     de->d_type == DT_UNKNOWN ? "?" : "o") < 0) {
			perror("difftest: asprintf");
			exit(2);
		}
		k++;
	}
	if (errno)
		TR(t, "readdir", -1);
	closedir(d);
	qsort(names, (size_t)k, sizeof(names[0]), cmp_str);
	tr_add(t, "list=[");
	for (int i = 0; i < k; i++) {
		tr_add(t, "%s,", names[i]);
		free(names[i]);
	}
	tr_add(t, "] ");
}

/* the whole tree under @path: every entry's stat, content and xattrs, depth first */
static void tr_tree(struct tr *t, int dfd, const char *path)
{
	char *names[1024], sub[4096];
	struct dirent *de;
	struct stat st;
	int k = 0, fd;
	DIR *d;

	fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		tr_rc(t, path, -1, errno);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) && k < 1024) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names[k++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)k, sizeof(names[0]), cmp_str);
	for (int i = 0; i < k; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
		free(names[i]);
		tr_add(t, "\n  %s: ", sub + 2);
		if (fstatat(dfd, sub, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			TR(t, "stat", -1);
			continue;
		}
		tr_stat(t, &st, false);
		tr_xattrs(t, dfd, sub);
		if (S_ISREG(st.st_mode)) {
			fd = openat(dfd, sub, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				TR(t, "open", -1);
			} else {
				tr_content(t, fd);
				close(fd);
			}
		} else if (S_ISDIR(st.st_mode)) {
			tr_tree(t, dfd, sub);
		}
	}
}

/* set @path's times to the fixed past value; the result is part of the transcript */
static void set_old_times(struct tr *t, int dfd, const char *path)
{
	struct timespec ts[2] = { { OLD_SEC, 0 }, { OLD_SEC, 0 } };

	TR(t, "settimes", utimensat(dfd, path, ts, AT_SYMLINK_NOFOLLOW));
}

/* did @path's mtime move from the fixed past value? */
static void tr_mtime_moved(struct tr *t, int dfd, const char *path, const char *what)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		tr_rc(t, what, -1, errno);
	else
		tr_add(t, "%s=%s ", what,
		       st.st_mtim.tv_sec == OLD_SEC && st.st_mtim.tv_nsec == 0 ? "same" : "moved");
}

static ino_t ino_of(int dfd, const char *path)
{
	struct stat st;

	return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ? 0 : st.st_ino;
}

enum op {
	OP_CREATE,
	OP_PWRITE,
	OP_APPEND,
	OP_TRUNC_OPEN,
	OP_TRUNCATE,
	OP_FTRUNCATE,
	OP_READ,
	OP_STAT,
	OP_RENAME,
	OP_UNLINK,
	OP_MKDIR,
	OP_RMDIR,
	OP_CHMOD,
	OP_CHOWN,
	OP_UTIMENS,
	OP_SETXATTR,
	OP_GETXATTR,
	OP_REMOVEXATTR,
	OP_LIST,
	OP_WRITER_FSTAT,
	OP_UNLINK_READER,
	OP_UNLINK_WRITER,
	OP_COUNT
};

static const char *const op_names[] = {
	"create", "pwrite", "append", "trunc_open", "truncate", "ftruncate", "read", "stat",
	"rename", "unlink", "mkdir", "rmdir", "chmod", "chown", "utimens", "setxattr",
	"getxattr", "removexattr", "list", "writer_fstat", "unlink_reader", "unlink_writer",
};

/* relative weights: mutations and reads about equally, cheap checks often */
static const int op_weight[OP_COUNT] = {
	[OP_CREATE] = 10, [OP_PWRITE] = 8, [OP_APPEND] = 4, [OP_TRUNC_OPEN] = 4,
	[OP_TRUNCATE] = 4, [OP_FTRUNCATE] = 3, [OP_READ] = 8, [OP_STAT] = 8, [OP_RENAME] = 8,
	[OP_UNLINK] = 5, [OP_MKDIR] = 8, [OP_RMDIR] = 4, [OP_CHMOD] = 3, [OP_CHOWN] = 2,
	[OP_UTIMENS] = 3, [OP_SETXATTR] = 4, [OP_GETXATTR] = 3, [OP_REMOVEXATTR] = 2,
	[OP_LIST] = 5, [OP_WRITER_FSTAT] = 3, [OP_UNLINK_READER] = 2, [OP_UNLINK_WRITER] = 2,
};

/* one step's arguments, drawn once and applied to both sides */
struct step {
	enum op op;
	char path[256], path2[256], parent[256], parent2[256];
	int flags;
	mode_t mode;
	off_t off;
	size_t len;
	uint64_t data_seed;
	bool check_parent, check_mtime;
	struct timespec ts[2];
	uid_t uid;
	gid_t gid;
	int xname;
	char xval[64];
};

static void draw(struct step *s)
{
	static const mode_t modes[] = { 0644, 0600, 0755, 0444, 0700, 0640, 0777, 0604 };
	int total = 0, r;

	for (int i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	r = (int)below((uint64_t)total);
	for (s->op = 0; r >= op_weight[s->op]; s->op++)
		r -= op_weight[s->op];
	rand_path(s->path, sizeof(s->path));
	rand_path(s->path2, sizeof(s->path2));
	parent_of(s->path, s->parent, sizeof(s->parent));
	parent_of(s->path2, s->parent2, sizeof(s->parent2));
	s->flags = (int)below(4);
	s->mode = modes[below(sizeof(modes) / sizeof(modes[0]))];
	s->off = (off_t)below(MAX_OFF);
	s->len = (size_t)below(MAX_WRITE + 1);
	s->data_seed = rnd();
	s->check_parent = below(3) == 0;
	s->check_mtime = below(3) == 0;
	for (int i = 0; i < 2; i++) {
		s->ts[i].tv_sec = OLD_SEC + 1 + (time_t)below(1000000000);
		s->ts[i].tv_nsec = (long)below(1000000000);
	}
	s->uid = (uid_t)below(3) * 1000;
	s->gid = (gid_t)below(3) * 1000;
	s->xname = (int)below(sizeof(xnames) / sizeof(xnames[0]));
	snprintf(s->xval, sizeof(s->xval), "v%" PRIu64, below(1000));
}

static void describe(const struct step *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s path='%s' path2='%s' flags=%d mode=%04o off=%lld len=%zu "
		 "check_parent=%d check_mtime=%d", op_names[s->op], s->path, s->path2, s->flags,
		 s->mode, (long long)s->off, s->len, s->check_parent, s->check_mtime);
}

/* open @path with @oflags, run @body's writes, close: the common shape of the write ops */
static int open_rc(struct tr *t, int dfd, const char *path, int oflags, mode_t mode)
{
	int fd = openat(dfd, path, oflags | O_CLOEXEC, mode);

	TR(t, "open", fd < 0 ? -1 : 0);
	return fd;
}

static void run(const struct step *s, const struct side *sd, struct tr *t)
{
	unsigned char *buf = malloc(MAX_WRITE + MAX_OFF + 1);
	int dfd = sd->dfd, fd, flags;
	char proc[64], val[256];
	ino_t before, after;
	ssize_t n;
	long rc;

	if (!buf) {
		perror("difftest: malloc");
		exit(2);
	}
	fill(buf, s->len, s->data_seed);
	/* the checks of a timestamp change start from a known past value */
	if (s->check_parent && s->op != OP_RENAME)
		set_old_times(t, dfd, s->parent);
	if (s->op == OP_RENAME && s->check_parent) {
		set_old_times(t, dfd, s->parent);
		set_old_times(t, dfd, s->parent2);
	}
	if (s->check_mtime && (s->op == OP_PWRITE || s->op == OP_APPEND || s->op == OP_TRUNCATE ||
			       s->op == OP_FTRUNCATE || s->op == OP_TRUNC_OPEN))
		set_old_times(t, dfd, s->path);
	switch (s->op) {
	case OP_CREATE:
		flags = O_WRONLY | O_CREAT | (s->flags & 1 ? O_EXCL : 0) | (s->flags & 2 ? O_TRUNC : 0);
		fd = open_rc(t, dfd, s->path, flags, s->mode);
		if (fd >= 0) {
			TR(t, "write", write(fd, buf, s->len));
			TR(t, "close", close(fd));
		}
		break;
	case OP_PWRITE:
		fd = open_rc(t, dfd, s->path, O_WRONLY, 0);
		if (fd >= 0) {
			TR(t, "pwrite", pwrite(fd, buf, s->len, s->off));
			TR(t, "close", close(fd));
		}
		break;
	case OP_APPEND:
		fd = open_rc(t, dfd, s->path, O_WRONLY | O_APPEND, 0);
		if (fd >= 0) {
			TR(t, "write", write(fd, buf, s->len));
			TR(t, "close", close(fd));
		}
		break;
	case OP_TRUNC_OPEN:
		fd = open_rc(t, dfd, s->path, O_WRONLY | O_TRUNC, 0);
		if (fd >= 0) {
			TR(t, "write", write(fd, buf, s->len / 4));
			TR(t, "close", close(fd));
		}
		break;
	case OP_TRUNCATE:
		{
			char full[4096 + 64];

			/* truncate(2) itself, by path (not ftruncate of an open descriptor) */
			snprintf(full, sizeof(full), "%s/%s", sd->root, s->path);
			TR(t, "truncate", truncate(full, s->off / 2));
		}
		break;
	case OP_FTRUNCATE:
		fd = open_rc(t, dfd, s->path, O_WRONLY, 0);
		if (fd >= 0) {
			TR(t, "ftruncate", ftruncate(fd, s->off / 2));
			TR(t, "close", close(fd));
		}
		break;
	case OP_READ:
		fd = open_rc(t, dfd, s->path, O_RDONLY, 0);
		if (fd >= 0) {
			n = pread(fd, buf, s->len, s->off / 4);
			if (n < 0)
				TR(t, "pread", -1);
			else
				tr_add(t, "pread=%zd:%016" PRIx64 " ", n,
				       fnv(buf, (size_t)n, 0xcbf29ce484222325ULL));
			tr_content(t, fd);
			TR(t, "close", close(fd));
		}
		break;
	case OP_STAT:
		tr_fstatat(t, dfd, s->path, false);
		break;
	case OP_RENAME:
		before = ino_of(dfd, s->path);
		rc = renameat2(dfd, s->path, dfd, s->path2, s->flags & 1 ? RENAME_NOREPLACE : 0);
		TR(t, "rename", rc);
		if (rc == 0 && before) {
			after = ino_of(dfd, s->path2);
			tr_add(t, "same_ino=%d ", after == before);
		}
		tr_fstatat(t, dfd, s->path, false);
		tr_fstatat(t, dfd, s->path2, false);
		if (s->check_parent) {
			tr_mtime_moved(t, dfd, s->parent, "parent_mtime");
			tr_mtime_moved(t, dfd, s->parent2, "parent2_mtime");
		}
		break;
	case OP_UNLINK:
		TR(t, "unlink", unlinkat(dfd, s->path, 0));
		break;
	case OP_MKDIR:
		TR(t, "mkdir", mkdirat(dfd, s->path, s->mode));
		break;
	case OP_RMDIR:
		TR(t, "rmdir", unlinkat(dfd, s->path, AT_REMOVEDIR));
		break;
	case OP_CHMOD:
		TR(t, "chmod", fchmodat(dfd, s->path, s->mode, 0));
		tr_fstatat(t, dfd, s->path, false);
		break;
	case OP_CHOWN:
		TR(t, "chown", fchownat(dfd, s->path, s->uid, s->gid, AT_SYMLINK_NOFOLLOW));
		tr_fstatat(t, dfd, s->path, false);
		break;
	case OP_UTIMENS:
		TR(t, "utimens", utimensat(dfd, s->path, s->ts, AT_SYMLINK_NOFOLLOW));
		tr_fstatat(t, dfd, s->path, true);
		break;
	case OP_SETXATTR:
	case OP_GETXATTR:
	case OP_REMOVEXATTR:
		fd = openat(dfd, s->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		TR(t, "xopen", fd < 0 ? -1 : 0);
		if (fd < 0)
			break;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (s->op == OP_SETXATTR) {
			flags = s->flags == 1 ? XATTR_CREATE : s->flags == 2 ? XATTR_REPLACE : 0;
			TR(t, "setxattr", setxattr(proc, xnames[s->xname], s->xval,
						      strlen(s->xval), flags));
		} else if (s->op == OP_GETXATTR) {
			n = getxattr(proc, xnames[s->xname], val, sizeof(val));
			if (n < 0)
				TR(t, "getxattr", -1);
			else
				tr_add(t, "getxattr=%.*s ", (int)n, val);
			/* the size query (a zero-length buffer) too */
			TR(t, "getxattr_size", getxattr(proc, xnames[s->xname], NULL, 0));
		} else {
			TR(t, "removexattr", removexattr(proc, xnames[s->xname]));
		}
		close(fd);
		tr_xattrs(t, dfd, s->path);
		break;
	case OP_LIST:
		tr_list(t, dfd, s->parent);
		break;
	case OP_WRITER_FSTAT:
		fd = open_rc(t, dfd, s->path, O_RDWR, 0);
		if (fd >= 0) {
			struct stat st;

			TR(t, "pwrite", pwrite(fd, buf, s->len, s->off));
			if (fstat(fd, &st) < 0)
				TR(t, "fstat", -1);
			else
				tr_add(t, "fstat_size=%lld ", (long long)st.st_size);
			TR(t, "close", close(fd));
		}
		break;
	case OP_UNLINK_READER:
		fd = open_rc(t, dfd, s->path, O_RDONLY, 0);
		if (fd >= 0) {
			struct stat st;

			TR(t, "unlink", unlinkat(dfd, s->path, 0));
			/* a directory's st_size is the filesystem's own (tmpfs counts its entries) */
			if (fstat(fd, &st) < 0)
				TR(t, "fstat", -1);
			else if (S_ISREG(st.st_mode))
				tr_add(t, "fstat_size=%lld ", (long long)st.st_size);
			tr_content(t, fd);
			TR(t, "close", close(fd));
			tr_fstatat(t, dfd, s->path, false);
		}
		break;
	case OP_UNLINK_WRITER:
		fd = open_rc(t, dfd, s->path, O_WRONLY, 0);
		if (fd >= 0) {
			TR(t, "pwrite", pwrite(fd, buf, s->len, s->off));
			TR(t, "unlink", unlinkat(dfd, s->path, 0));
			TR(t, "close", close(fd));
			tr_fstatat(t, dfd, s->path, false);
		}
		break;
	case OP_COUNT:
		break;
	}
	if (s->check_parent && s->op != OP_RENAME &&
	    (s->op == OP_CREATE || s->op == OP_UNLINK || s->op == OP_MKDIR || s->op == OP_RMDIR ||
	     s->op == OP_UNLINK_READER || s->op == OP_UNLINK_WRITER))
		tr_mtime_moved(t, dfd, s->parent, "parent_mtime");
	if (s->check_mtime && (s->op == OP_PWRITE || s->op == OP_APPEND || s->op == OP_TRUNCATE ||
			       s->op == OP_FTRUNCATE || s->op == OP_TRUNC_OPEN))
		tr_mtime_moved(t, dfd, s->path, "mtime");
	free(buf);
}

static void report(uint64_t seed, unsigned long step, const char *what, const struct tr *a,
		   const struct tr *b)
{
	fprintf(stderr, "DIVERGENCE seed=%" PRIu64 " step=%lu: %s\n", seed, step, what);
	fprintf(stderr, "  hkvfs (%s): %.*s\n", sides[0].root, (int)a->len, a->buf);
	fprintf(stderr, "  tmpfs (%s): %.*s\n", sides[1].root, (int)b->len, b->buf);
	fprintf(stderr, "  the steps before it, oldest first:\n");
	for (unsigned long i = hist_n > HISTORY ? hist_n - HISTORY : 0; i + 1 < hist_n; i++)
		fprintf(stderr, "    %lu: %s\n", i + 1, history[i % HISTORY]);
	fprintf(stderr, "  reproduce: hkvfs-difftest --seed %" PRIu64 " --steps %lu DIR_A DIR_B\n",
		seed, step);
}

static bool compare_trees(uint64_t seed, unsigned long step)
{
	struct tr t[2] = { 0 };
	bool same;

	for (int i = 0; i < 2; i++) {
		tr_add(&t[i], "tree:");
		tr_tree(&t[i], sides[i].dfd, ".");
	}
	same = t[0].len == t[1].len && memcmp(t[0].buf, t[1].buf, t[0].len) == 0;
	if (!same)
		report(seed, step, "whole-tree comparison", &t[0], &t[1]);
	free(t[0].buf);
	free(t[1].buf);
	return same;
}

/* remove everything under @path (a directory relative to @dfd), best effort */
static void wipe(int dfd, const char *path)
{
	char sub[4096];
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (unlinkat(dfd, sub, 0) < 0) {
			wipe(dfd, sub);
			unlinkat(dfd, sub, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

/*
 * The signature of a divergence, for counting them under --keep-going: the operation and the
 * first token of the transcripts that differs ("settimes=ENOENT|settimes=ENOTDIR").
 */
static void signature(const char *op, const struct tr *a, const struct tr *b, char *out,
		      size_t cap)
{
	size_t i = 0, ea, eb, start;

	while (i < a->len && i < b->len && a->buf[i] == b->buf[i])
		i++;
	start = i;
	while (start > 0 && a->buf[start - 1] != ' ' && a->buf[start - 1] != '\n')
		start--;
	for (ea = start; ea < a->len && a->buf[ea] != ' ' && a->buf[ea] != '\n'; ea++)
		;
	for (eb = start; eb < b->len && b->buf[eb] != ' ' && b->buf[eb] != '\n'; eb++)
		;
	snprintf(out, cap, "%s: hkvfs %.*s | tmpfs %.*s", op, (int)(ea - start), a->buf + start,
		 (int)(eb - start), b->buf + start);
}

struct sig {
	char key[128], text[256];
	unsigned long count, first_step;
};

static struct sig sigs[256];
static int nsigs;

/*
 * Count a difference under its kind: the operation and the differing result's name, plus the
 * two values when they are not numbers (errno names, "same"/"moved"); @text, of the first one
 * seen, is what the table shows.
 */
static void count_sig(const char *text, unsigned long step)
{
	char key[128];
	size_t n = 0;

	/* "OP: hkvfs NAME=VALUE | tmpfs NAME=VALUE": numbers dropped from the key */
	for (const char *p = text; *p && n + 1 < sizeof(key); p++) {
		if (*p == '=' && p[1] >= '0' && p[1] <= '9') {
			while (p[1] && p[1] != ' ')
				p++;
			continue;
		}
		key[n++] = *p;
	}
	key[n] = '\0';
	for (int i = 0; i < nsigs; i++)
		if (strcmp(sigs[i].key, key) == 0) {
			sigs[i].count++;
			return;
		}
	if (nsigs < 256) {
		snprintf(sigs[nsigs].key, sizeof(sigs[0].key), "%s", key);
		snprintf(sigs[nsigs].text, sizeof(sigs[0].text), "%s", text);
		sigs[nsigs].count = 1;
		sigs[nsigs++].first_step = step;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: hkvfs-difftest [--seed N] [--steps N] [--seconds N] [--verbose] "
			"[--keep-going] DIR_HKVFS DIR_TMPFS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long steps = 3000, step;
	uint64_t seed = 1;
	double seconds = 0;
	struct timespec t0, now;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
			steps = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--verbose") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--keep-going") == 0)
			keep_going = true;
		else
			usage();
	}
	if (argc - i != 2)
		usage();
	umask(022);
	for (int k = 0; k < 2; k++) {
		sides[k].root = argv[i + k];
		sides[k].dfd = open(sides[k].root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sides[k].dfd < 0) {
			fprintf(stderr, "difftest: %s: %s\n", sides[k].root, strerror(errno));
			return 2;
		}
	}
	rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (!rng)
		rng = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (step = 1; step <= steps; step++) {
		struct step s;
		struct tr t[2] = { 0 };
		char what[1024];
		bool same;

		memset(&s, 0, sizeof(s));
		draw(&s);
		describe(&s, what, sizeof(what));
		snprintf(history[hist_n++ % HISTORY], sizeof(history[0]), "%s", what);
		for (int k = 0; k < 2; k++)
			run(&s, &sides[k], &t[k]);
		same = t[0].len == t[1].len && memcmp(t[0].buf, t[1].buf, t[0].len) == 0;
		if (verbose)
			printf("%lu: %s\n  %.*s\n", step, what, (int)t[0].len, t[0].buf);
		if (!same) {
			report(seed, step, what, &t[0], &t[1]);
			signature(op_names[s.op], &t[0], &t[1], what, sizeof(what));
			count_sig(what, step);
		}
		free(t[0].buf);
		free(t[1].buf);
		if (!same && !keep_going)
			return 1;
		if ((!same || step % TREE_EVERY == 0) && keep_going) {
			/* start again from two empty trees, so one difference does not cascade */
			if (same && !compare_trees(seed, step))
				count_sig("whole-tree comparison", step);
			wipe(sides[0].dfd, ".");
			wipe(sides[1].dfd, ".");
		} else if (step % TREE_EVERY == 0 && !compare_trees(seed, step)) {
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 && (double)(now.tv_sec - t0.tv_sec) +
					   (double)(now.tv_nsec - t0.tv_nsec) / 1e9 >= seconds) {
			step++;
			break;
		}
	}
	step--;
	if (keep_going) {
		if (!compare_trees(seed, step))
			count_sig("whole-tree comparison", step);
		printf("seed %" PRIu64 ", %lu steps: %d kinds of difference\n", seed, step, nsigs);
		for (i = 0; i < nsigs; i++)
			printf("  %5lu x  %s  (first at step %lu)\n", sigs[i].count, sigs[i].text,
			       sigs[i].first_step);
		return nsigs ? 1 : 0;
	}
	if (!compare_trees(seed, step))
		return 1;
	printf("ok: seed %" PRIu64 ", %lu steps, no difference\n", seed, step);
	return 0;
}
