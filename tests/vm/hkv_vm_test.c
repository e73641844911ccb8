// SPDX-License-Identifier: GPL-2.0
/*
 * hkv_vm_test.c - behaviour tests of hkv.ko, run inside the test VM.
 *
 * Usage: hkv_vm_test CASE
 * Every case exits 0 when all its checks hold and 1 (with a CHECK FAILED
 * line naming the check) otherwise.  The VM's init script loads the module
 * with the parameters each case expects (see run-vm.sh) and counts results.
 *
 * Cases:
 *   abi      every ioctl, its errors, the extensible-struct rules, snapshots,
 *            versions, tombstones, tickets, owner rights, sysfs
 *   perms    GET/OPEN as other uids/gids/groups, CAP_DAC_* bypass
 *   expiry   past expiry never returned; now+300ms returned before, not after
 *   evict    every policy against a user-space model, op by op, with the
 *            event stream; LOST records
 *   skew     scan resistance of LFU vs LRU/FIFO; Zipf hit counts vs model
 *   stress   readers vs writers, DEL, CLEAR, evictions, policy switches:
 *            no torn, corrupt or stale read
 *   bind     HKV_IOC_BIND and the checks of HKV_IOC_OPEN: the path check (exact
 *            match, other filesystem at the same path, mounts on top, bind
 *            mounts, symlinks, chroot, unshare, search permission, binding
 *            lifetime) and the mountinfo check (a change is seen once)
 *   fuzz     random ioctls, sizes and pointers, root and non-root
 *   busy     rmmod must fail while /dev/hkv or a snapshot is open
 *   audit    the read-denial path's capability checks are _noaudit (kprobe)
 *   unload-race KO N  N load/unload cycles racing closes of snapshots
 *   runas UID GID PROG ARGS...  run PROG as an unprivileged user
 *
 * All randomness is xorshift from fixed seeds.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "hkv_vm_common.h"

static int dev_open(void)
{
	int fd = open(HKV_DEV, O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0, "open %s: %s", HKV_DEV, strerror(errno));
	return fd;
}

static void read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, len - 1);
	CHECK(n >= 0, "read %s: %s", path, strerror(errno));
	buf[n] = 0;
	close(fd);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int rc = 0;

	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	if (write(fd, s, strlen(s)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static uint64_t sysfs_u64(const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/kernel/hkv/%s", name);
	read_file(path, buf, sizeof(buf));
	return strtoull(buf, NULL, 10);
}

/* Become uid/gid with the given supplementary groups; drops every cap. */
static void become(uid_t uid, gid_t gid, int ngroups, const gid_t *groups)
{
	CHECK(setgroups(ngroups, groups) == 0, "setgroups: %s", strerror(errno));
	CHECK(setresgid(gid, gid, gid) == 0, "setresgid: %s", strerror(errno));
	CHECK(setresuid(uid, uid, uid) == 0, "setresuid: %s", strerror(errno));
}

/* Run fn in a child; the child's exit status is the result. */
static void in_child(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fn(arg);
		exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child failed (status 0x%x)", status);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	CHECK(d, "opendir /proc/self/fd");
	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ abi */

static void child_not_owner(void *arg)
{
	int fd = *(int *)arg;
	struct hkv_owner ow = { .size = sizeof(ow), .flags = HKV_OWNER_CLAIM };
	struct hkv_events ev = { .size = sizeof(ev) };
	uint32_t old;
	char buf[16];

	become(1000, 1000, 0, NULL);
	CHECK_RC(hkv_put_s(fd, 1, "np", "x", 1), -EPERM);
	CHECK_RC(hkv_del_b(fd, 1, "k1", 2, 0), -EPERM);
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), -EPERM);
	CHECK_RC(hkv_policy_set(fd, HKV_POLICY_LFU, NULL), -EPERM);
	CHECK_RC(hkv_policy_set(fd, HKV_POLICY_QUERY, &old), 0);
	CHECK_RC(hkv_ioc(fd, HKV_IOC_OWNER, &ow), -EPERM);
	CHECK_RC(hkv_ioc(fd, HKV_IOC_EVENTS, &ev), -EPERM);
	CHECK(read(fd, buf, sizeof(buf)) < 0 && errno == EINVAL,
	      "read of unsubscribed fd");
	(void)hkv_stat_get(fd);
	CHECK_RC(hkv_get_s(fd, 1, "k1", buf, sizeof(buf), NULL), 0);
}

static void child_owner_fd(void *arg)
{
	int fd = *(int *)arg;
	struct hkv_owner ow = { .size = sizeof(ow), .flags = HKV_OWNER_RELEASE };

	become(1000, 1000, 0, NULL);
	/* The owner descriptor keeps its rights after privileges are gone. */
	CHECK_RC(hkv_put_s(fd, 1, "by-owner", "x", 1), 0);
	CHECK_RC(hkv_del_b(fd, 1, "by-owner", 8, 0), 0);
	CHECK_RC(hkv_ioc(fd, HKV_IOC_OWNER, &ow), 0);
	CHECK_RC(hkv_put_s(fd, 1, "by-owner", "x", 2), -EPERM);
}

static void test_abi(void)
{
	int fd = dev_open(), sfd, fd2;
	struct hkv_stat st, st0;
	struct hkv_get g;
	struct stat sb;
	char buf[4096], key[HKV_DEV_KEY_MAX + 2], *big;
	uint64_t removed, t_before;
	uint32_t old;
	int i;

	st0 = hkv_stat_get(fd);
	CHECK(st0.max_items == 8, "max_items=%llu", (unsigned long long)st0.max_items);
	CHECK(st0.max_value == 4096, "max_value");
	CHECK(st0.policy == HKV_POLICY_FIFO, "policy %u", st0.policy);
	CHECK(st0.items == 0 && st0.bytes == 0, "empty at load");

	/* PUT/GET, size query, namespaces. */
	CHECK_RC(hkv_put_full(fd, 1, "k1", 2, "hello", 5, 3, 0, 1234, 5678,
			      0644, 0), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_RC(hkv_get_s(fd, 1, "k1", buf, sizeof(buf), &g), 0);
	CHECK(g.value_len == 5 && !memcmp(buf, "hello", 5), "value");
	CHECK(g.version == 3 && g.mode == 0644 && g.uid == 1234 &&
	      g.gid == 5678 && g.expire_ms == 0, "metadata");
	CHECK_RC(hkv_get_s(fd, 1, "k1", NULL, 0, &g), -ERANGE);
	CHECK(g.value_len == 5, "size query gives %u", g.value_len);
	memset(buf, '#', sizeof(buf));
	CHECK_RC(hkv_get_s(fd, 1, "k1", buf, 4, &g), -ERANGE);
	CHECK(g.value_len == 5 && buf[0] == '#', "short buffer untouched");
	CHECK_RC(hkv_get_s(fd, 1, "k1", buf, 5, &g), 0);
	CHECK_RC(hkv_get_s(fd, 2, "k1", buf, sizeof(buf), NULL), -ENOENT);
	CHECK_RC(hkv_get_s(fd, 1, "k2", buf, sizeof(buf), NULL), -ENOENT);
	CHECK_RC(hkv_put_s(fd, 2, "k1", "other", 1), 0);
	CHECK_RC(hkv_get_s(fd, 2, "k1", buf, sizeof(buf), &g), 0);
	CHECK(!memcmp(buf, "other", 5), "ns 2 value");
	CHECK_RC(hkv_get_s(fd, 1, "k1", buf, sizeof(buf), &g), 0);
	CHECK(!memcmp(buf, "hello", 5), "ns 1 value intact");

	/* Stats: hits, misses, items, bytes; sysfs agrees. */
	st = hkv_stat_get(fd);
	CHECK(st.items == 2 && st.bytes == 2 + 5 + 2 + 5, "items/bytes");
	CHECK(st.hits - st0.hits == 6 && st.misses - st0.misses == 2,
	      "hits %llu misses %llu", (unsigned long long)st.hits,
	      (unsigned long long)st.misses);
	CHECK(sysfs_u64("items") == 2 && sysfs_u64("bytes") == st.bytes &&
	      sysfs_u64("hits") == st.hits && sysfs_u64("insertions") == 2,
	      "sysfs counters");

	/* OPEN: a regular read-only file. */
	sfd = hkv_open_b(fd, 1, "k1", 2, O_CLOEXEC);
	CHECK(sfd >= 0, "open: %s", strerror(-sfd));
	CHECK(fcntl(sfd, F_GETFD) & FD_CLOEXEC, "O_CLOEXEC");
	CHECK(fstat(sfd, &sb) == 0, "fstat");
	CHECK(S_ISREG(sb.st_mode) && (sb.st_mode & 07777) == 0644 &&
	      sb.st_size == 5 && sb.st_uid == 1234 && sb.st_gid == 5678,
	      "fstat mode %o size %lld uid %u", sb.st_mode,
	      (long long)sb.st_size, sb.st_uid);
	CHECK(read(sfd, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5),
	      "read");
	CHECK(read(sfd, buf, sizeof(buf)) == 0, "EOF");
	CHECK(pread(sfd, buf, 3, 1) == 3 && !memcmp(buf, "ell", 3), "pread");
	CHECK(pread(sfd, buf, 3, 100) == 0, "pread past EOF");
	CHECK(lseek(sfd, 0, SEEK_END) == 5, "SEEK_END");
	CHECK(lseek(sfd, 2, SEEK_SET) == 2, "SEEK_SET");
	CHECK(read(sfd, buf, 10) == 3 && !memcmp(buf, "llo", 3), "read at 2");
	CHECK(lseek(sfd, -1, SEEK_SET) < 0 && errno == EINVAL, "bad seek");
	/* Reopening through /proc gives a file that reads nothing. */
	{
		char path[64];
		int rfd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", sfd);
		rfd = open(path, O_RDONLY);
		if (rfd >= 0) {
			CHECK(read(rfd, buf, 10) < 0 && errno == ENXIO,
			      "reopened snapshot must not read");
			close(rfd);
		}
		CHECK(open(path, O_RDWR) < 0 && errno == EACCES,
		      "reopen for writing");
	}
	CHECK(write(sfd, "x", 1) < 0 && errno == EBADF, "write refused");
	CHECK(fchmod(sfd, 0666) < 0 && errno == EPERM, "fchmod refused");
	CHECK(fchown(sfd, 0, 0) < 0 && errno == EPERM, "fchown refused");
	CHECK(ftruncate(sfd, 0) < 0, "ftruncate refused");
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, sfd, 0) == MAP_FAILED,
	      "mmap refused");
	CHECK(fstat(sfd, &sb) == 0 && (sb.st_mode & 07777) == 0644 &&
	      sb.st_size == 5, "metadata unchanged");
	{
		struct iovec iov[2] = { { buf, 2 }, { buf + 2, 3 } };

		CHECK(preadv(sfd, iov, 2, 0) == 5 && !memcmp(buf, "hello", 5),
		      "preadv");
	}
	CHECK(lseek(sfd, 0, SEEK_DATA) == 0 && lseek(sfd, 0, SEEK_HOLE) == 5,
	      "SEEK_DATA/SEEK_HOLE");
	CHECK(lseek(sfd, 100, SEEK_SET) == 100 && read(sfd, buf, 10) == 0,
	      "seek past the end");
	{
		/* sendfile (splice_read) into a pipe, as cat and cp may do. */
		int pfd[2];
		off_t off = 1;

		CHECK(pipe(pfd) == 0, "pipe");
		CHECK(sendfile(pfd[1], sfd, &off, 100) == 4 && off == 5,
		      "sendfile: %s", strerror(errno));
		CHECK(read(pfd[0], buf, 10) == 4 && !memcmp(buf, "ello", 4),
		      "sendfile data");
		close(pfd[0]);
		close(pfd[1]);
	}
	/* A snapshot keeps its value across PUT and DEL. */
	CHECK_RC(hkv_put_s(fd, 1, "k1", "world!", 4), 0);
	CHECK(pread(sfd, buf, 10, 0) == 5 && !memcmp(buf, "hello", 5),
	      "snapshot after PUT");
	CHECK_RC(hkv_del_b(fd, 1, "k1", 2, 0), 0);
	CHECK(pread(sfd, buf, 10, 0) == 5 && !memcmp(buf, "hello", 5),
	      "snapshot after DEL");
	CHECK_RC(hkv_open_b(fd, 1, "k1", 2, 0), -ENOENT);
	CHECK_RC(hkv_del_b(fd, 1, "k1", 2, 0), -ENOENT);
	close(sfd);
	CHECK_RC(hkv_put_s(fd, 1, "k1", "hello", 5), 0);
	CHECK_RC(hkv_open_b(fd, 1, "k1", 2, O_WRONLY), -EINVAL);
	CHECK_RC(hkv_open_b(fd, 1, "k1", 2, O_RDWR), -EINVAL);
	CHECK_RC(hkv_open_b(fd, 1, "k1", 2, O_CREAT), -EINVAL);
	CHECK_RC(hkv_open_b(fd, 1, "k1", 2, O_TRUNC), -EINVAL);
	sfd = hkv_open_b(fd, 1, "k1", 2, 0);
	CHECK(sfd >= 0 && !(fcntl(sfd, F_GETFD) & FD_CLOEXEC), "no cloexec");
	close(sfd);

	/* Empty value. */
	CHECK_RC(hkv_put_full(fd, 1, "empty", 5, NULL, 0, 1, 0, 0, 0, 0444, 0), 0);
	CHECK_RC(hkv_get_s(fd, 1, "empty", NULL, 0, &g), 0);
	CHECK(g.value_len == 0 && g.mode == 0444, "empty value");
	sfd = hkv_open_b(fd, 1, "empty", 5, 0);
	CHECK(sfd >= 0 && fstat(sfd, &sb) == 0 && sb.st_size == 0 &&
	      read(sfd, buf, 10) == 0, "empty snapshot");
	close(sfd);

	/* The key's mtime: PUT -> GET, OPEN's output, the snapshot's times. */
	{
		const uint64_t mt = 1700000000123456789ull;
		struct hkv_put p = {
			.size = sizeof(p), .ns = 1, .key_ptr = (uintptr_t)"mt",
			.key_len = 2, .value_ptr = (uintptr_t)"hello",
			.value_len = 5, .version = 7, .uid = 1234, .gid = 5678,
			.mode = 0640, .mtime_ns = mt,
		};
		struct hkv_open o = {
			.size = sizeof(o), .ns = 1, .key_ptr = (uintptr_t)"mt",
			.key_len = 2,
		};
		char link[64], path[64];
		ssize_t n;
		int fds0 = count_fds();
		struct hkv_open *ro;

		CHECK_RC(hkv_ioc(fd, HKV_IOC_PUT, &p), 0);
		CHECK_RC(hkv_get_s(fd, 1, "mt", buf, sizeof(buf), &g), 0);
		CHECK(g.mtime_ns == mt, "GET mtime %llu",
		      (unsigned long long)g.mtime_ns);
		sfd = hkv_ioc(fd, HKV_IOC_OPEN, &o);
		CHECK(sfd >= 0, "OPEN: %s", strerror(-sfd));
		CHECK(o.value_len == 5 && o.mode == 0640 && o.uid == 1234 &&
		      o.gid == 5678 && o.version == 7 && o.expire_ms == 0 &&
		      o.mtime_ns == mt, "OPEN output: len %u mode %o version %llu",
		      o.value_len, o.mode, (unsigned long long)o.version);
		CHECK(fstat(sfd, &sb) == 0, "fstat");
		CHECK(sb.st_mtim.tv_sec == (time_t)(mt / 1000000000u) &&
		      sb.st_mtim.tv_nsec == (long)(mt % 1000000000u) &&
		      sb.st_atim.tv_sec == sb.st_mtim.tv_sec &&
		      sb.st_ctim.tv_nsec == sb.st_mtim.tv_nsec,
		      "st_mtime %lld.%09ld", (long long)sb.st_mtim.tv_sec,
		      sb.st_mtim.tv_nsec);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", sfd);
		n = readlink(path, link, sizeof(link) - 1);
		CHECK(n > 5 && !memcmp(link, "hkv:[", 5), "readlink %.*s",
		      (int)(n > 0 ? n : 0), link);
		close(sfd);
		/* A VER0 OPEN gets no output and still a descriptor. */
		memset(&o, 0, sizeof(o));
		o.size = HKV_OPEN_SIZE_VER0;
		o.ns = 1;
		o.key_ptr = (uintptr_t)"mt";
		o.key_len = 2;
		sfd = hkv_ioc(fd, _IOC(_IOC_READ | _IOC_WRITE, HKV_IOC_MAGIC, 2,
				       HKV_OPEN_SIZE_VER0), &o);
		CHECK(sfd >= 0 && o.value_len == 0 && o.mtime_ns == 0,
		      "VER0 OPEN: %d", sfd);
		close(sfd);
		/* Output that cannot be written: -EFAULT and no descriptor. */
		ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(ro != MAP_FAILED, "mmap");
		memset(ro, 0, sizeof(*ro));
		ro->size = sizeof(*ro);
		ro->ns = 1;
		ro->key_ptr = (uintptr_t)"mt";
		ro->key_len = 2;
		CHECK(mprotect(ro, 4096, PROT_READ) == 0, "mprotect");
		CHECK_RC(hkv_ioc(fd, HKV_IOC_OPEN, ro), -EFAULT);
		CHECK(count_fds() == fds0, "no descriptor left by EFAULT");
		munmap(ro, 4096);
		/* Without an mtime the snapshot shows the insertion time. */
		p.mtime_ns = 0;
		p.version = 8;
		t_before = now_ns(CLOCK_REALTIME);
		CHECK_RC(hkv_ioc(fd, HKV_IOC_PUT, &p), 0);
		sfd = hkv_open_b(fd, 1, "mt", 2, 0);
		CHECK(sfd >= 0 && fstat(sfd, &sb) == 0, "open/fstat");
		CHECK((uint64_t)sb.st_mtim.tv_sec * 1000000000u + sb.st_mtim.tv_nsec
		      >= t_before / 1000000000u * 1000000000u &&
		      (uint64_t)sb.st_mtim.tv_sec <= now_ns(CLOCK_REALTIME) / 1000000000u,
		      "insertion time");
		close(sfd);
		CHECK_RC(hkv_del_b(fd, 1, "mt", 2, 0), 0);
	}

	/* Key and value bounds. */
	memset(key, 'k', sizeof(key));
	CHECK_RC(hkv_put_full(fd, 1, key, HKV_DEV_KEY_MAX, "v", 1, 1, 0, 0, 0, 0600, 0), 0);
	CHECK_RC(hkv_get_b(fd, 1, key, HKV_DEV_KEY_MAX, buf, 10, &g), 0);
	CHECK_RC(hkv_get_b(fd, 1, key, HKV_DEV_KEY_MAX - 1, buf, 10, &g), -ENOENT);
	CHECK_RC(hkv_put_full(fd, 1, key, HKV_DEV_KEY_MAX + 1, "v", 1, 1, 0, 0, 0, 0600, 0),
		 -ENAMETOOLONG);
	CHECK_RC(hkv_get_b(fd, 1, key, HKV_DEV_KEY_MAX + 1, buf, 10, &g), -ENAMETOOLONG);
	CHECK_RC(hkv_open_b(fd, 1, key, HKV_DEV_KEY_MAX + 1, 0), -ENAMETOOLONG);
	CHECK_RC(hkv_del_b(fd, 1, key, HKV_DEV_KEY_MAX + 1, 0), -ENAMETOOLONG);
	CHECK_RC(hkv_put_full(fd, 1, key, 0, "v", 1, 1, 0, 0, 0, 0600, 0), -EINVAL);
	CHECK_RC(hkv_get_b(fd, 1, key, 0, buf, 10, &g), -EINVAL);
	big = calloc(1, 8192);
	CHECK_RC(hkv_put_full(fd, 1, "big", 3, big, 4096, 1, 0, 0, 0, 0600, 0), 0);
	CHECK_RC(hkv_put_full(fd, 1, "big", 3, big, 4097, 2, 0, 0, 0, 0600, 0), -EFBIG);
	CHECK_RC(hkv_put_full(fd, 1, "m", 1, "v", 1, 1, 0, 0, 0, 010000, 0), -EINVAL);
	CHECK_RC(hkv_put_full(fd, 1, "m", 1, "v", 1, 1, 0, (uint32_t)-1, 0, 0600, 0),
		 -EINVAL);
	CHECK_RC(hkv_put_full(fd, 1, "m", 1, "v", 1, 1, 0, 0, (uint32_t)-1, 0600, 0),
		 -EINVAL);
	CHECK_RC(hkv_put_full(fd, 1, "m", 1, "v", 1, 1, 0, 0, 0, 07777, 0), 0);
	CHECK_RC(hkv_clear_ns(fd, 0, 0, &removed), 0);

	/* Versions and tombstones. */
	CHECK_RC(hkv_put_s(fd, 5, "v", "five", 5), 0);
	CHECK_RC(hkv_put_s(fd, 5, "v", "four", 4), -ESTALE);
	CHECK_RC(hkv_put_s(fd, 5, "v", "five", 5), 0);
	CHECK_RC(hkv_get_s(fd, 5, "v", buf, sizeof(buf), &g), 0);
	CHECK(g.version == 5 && !memcmp(buf, "five", 4), "v5 kept");
	CHECK_RC(hkv_del_b(fd, 5, "v", 1, 7), 0);
	CHECK_RC(hkv_put_s(fd, 5, "v", "six", 6), -ESTALE);
	CHECK_RC(hkv_put_s(fd, 5, "v", "seven", 7), -ESTALE);
	CHECK_RC(hkv_get_s(fd, 5, "v", buf, sizeof(buf), NULL), -ENOENT);
	CHECK_RC(hkv_put_s(fd, 5, "v", "eight", 8), 0);
	/* The tombstone outlives the entry that superseded it. */
	CHECK_RC(hkv_del_b(fd, 5, "v", 1, 0), 0);
	CHECK_RC(hkv_put_s(fd, 5, "v", "six", 6), -ESTALE);
	/* A tombstone for a key that was never cached. */
	CHECK_RC(hkv_del_b(fd, 5, "never", 5, 10), -ENOENT);
	CHECK_RC(hkv_put_s(fd, 5, "never", "x", 10), -ESTALE);
	CHECK_RC(hkv_put_s(fd, 5, "never", "x", 11), 0);
	CHECK_RC(hkv_put_s(fd, 6, "never", "x", 1), 0); /* other ns */
	st = hkv_stat_get(fd);
	CHECK(st.tombstones == 2 && st.stale == st0.stale + 5, "tombstones %llu stale %llu",
	      (unsigned long long)st.tombstones, (unsigned long long)st.stale);
	CHECK(sysfs_u64("tombstones") == 2, "sysfs tombstones");

	/* Tickets: refused once the module forgot an invalidation. */
	{
		uint64_t t0 = hkv_stat_get(fd).inval_seq, t1;

		CHECK_RC(hkv_del_b(fd, 5, "zz", 2, 3), -ENOENT);
		CHECK(hkv_stat_get(fd).inval_seq == t0 + 1, "inval_seq moves");
		CHECK_RC(hkv_put_full(fd, 5, "t", 1, "x", 1, 1, 0, 0, 0, 0644, t0), 0);
		/* max_tombstones=4: four more DELs push "v" and older out. */
		for (i = 0; i < 4; i++) {
			char k[8];

			snprintf(k, sizeof(k), "tb%d", i);
			CHECK_RC(hkv_del_b(fd, 5, k, strlen(k), 1), -ENOENT);
		}
		CHECK(hkv_stat_get(fd).tombstones == 4, "tombstone bound");
		CHECK_RC(hkv_put_full(fd, 5, "t", 1, "x", 1, 2, 0, 0, 0, 0644, t0),
			 -ESTALE);
		t1 = hkv_stat_get(fd).inval_seq;
		CHECK_RC(hkv_put_full(fd, 5, "t", 1, "x", 1, 2, 0, 0, 0, 0644, t1), 0);
		CHECK_RC(hkv_clear_ns(fd, 1, 9, &removed), 0);
		CHECK(removed == 0, "nothing in ns 9");
		CHECK_RC(hkv_put_full(fd, 5, "t", 1, "x", 1, 3, 0, 0, 0, 0644, t1),
			 -ESTALE);
		t1 = hkv_stat_get(fd).inval_seq;
		CHECK_RC(hkv_put_full(fd, 5, "t", 1, "x", 1, 3, 0, 0, 0, 0644, t1), 0);
	}

	/* CLEAR one namespace, then all. */
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	CHECK_RC(hkv_put_s(fd, 1, "a", "1", 1), 0);
	CHECK_RC(hkv_put_s(fd, 1, "b", "1", 1), 0);
	CHECK_RC(hkv_put_s(fd, 2, "a", "2", 1), 0);
	CHECK_RC(hkv_clear_ns(fd, 1, 1, &removed), 0);
	CHECK(removed == 2, "removed %llu", (unsigned long long)removed);
	CHECK_RC(hkv_get_s(fd, 1, "a", buf, 8, NULL), -ENOENT);
	CHECK_RC(hkv_get_s(fd, 2, "a", buf, 8, NULL), 0);
	{
		struct hkv_clear c = { .size = sizeof(c), .ns = 3 };

		CHECK_RC(hkv_ioc(fd, HKV_IOC_CLEAR, &c), -EINVAL);
		c.ns = 0;
		c.flags = 4;
		CHECK_RC(hkv_ioc(fd, HKV_IOC_CLEAR, &c), -EINVAL);
	}
	CHECK_RC(hkv_clear_ns(fd, 0, 0, &removed), 0);
	CHECK(removed == 1 && hkv_stat_get(fd).items == 0 &&
	      hkv_stat_get(fd).bytes == 0, "clear all");

	/* Policy: ioctl, sysfs, module parameter. */
	CHECK_RC(hkv_policy_set(fd, HKV_POLICY_LFU, &old), 0);
	CHECK(old == HKV_POLICY_FIFO, "old policy");
	read_file("/sys/kernel/hkv/policy", buf, sizeof(buf));
	CHECK(!strcmp(buf, "lfu\n"), "sysfs policy '%s'", buf);
	read_file("/sys/module/hkv/parameters/policy", buf, sizeof(buf));
	CHECK(!strcmp(buf, "lfu\n"), "param policy '%s'", buf);
	CHECK_RC(write_file("/sys/module/hkv/parameters/policy", "lru\n"), 0);
	CHECK_RC(hkv_policy_set(fd, HKV_POLICY_QUERY, &old), 0);
	CHECK(old == HKV_POLICY_LRU, "param write took effect");
	CHECK_RC(write_file("/sys/kernel/hkv/policy", "fifo"), 0);
	CHECK(hkv_stat_get(fd).policy == HKV_POLICY_FIFO, "sysfs write");
	CHECK_RC(write_file("/sys/kernel/hkv/policy", "mru"), -EINVAL);
	CHECK_RC(write_file("/sys/module/hkv/parameters/policy", "bogus"), -EINVAL);
	CHECK_RC(hkv_policy_set(fd, 3, NULL), -EINVAL);
	CHECK(hkv_stat_get(fd).policy == HKV_POLICY_FIFO, "unchanged");

	/*
	 * Extensible structures: the command carries the size, the structure
	 * repeats it.
	 */
	{
		struct {
			struct hkv_stat st;
			uint8_t tail[64];
		} x;
		unsigned long big = _IOC(_IOC_READ | _IOC_WRITE, HKV_IOC_MAGIC,
					 6, sizeof(x));

		memset(&x, 0, sizeof(x));
		x.st.size = sizeof(x);
		CHECK_RC(hkv_ioc(fd, big, &x), 0);
		for (i = 0; i < 64; i++)
			CHECK(x.tail[i] == 0, "tail written");
		x.tail[10] = 1;
		CHECK_RC(hkv_ioc(fd, big, &x), -E2BIG);
		x.tail[10] = 0;
		/* The structure's size must repeat the command's. */
		CHECK_RC(hkv_ioc(fd, HKV_IOC_STAT, &x), -EINVAL);
		x.st.size = HKV_STAT_SIZE_VER0 - 8;
		CHECK_RC(hkv_ioc(fd, big, &x), -EINVAL);
		x.st.size = 0;
		CHECK_RC(hkv_ioc(fd, HKV_IOC_STAT, &x), -EINVAL);
		/* Sizes outside [VER0, 4096] are not commands of the device. */
		x.st.size = HKV_STAT_SIZE_VER0 - 8;
		CHECK_RC(hkv_ioc(fd, _IOC(_IOC_READ | _IOC_WRITE, HKV_IOC_MAGIC,
					  6, HKV_STAT_SIZE_VER0 - 8), &x),
			 -ENOTTY);
		x.st.size = 4097;
		CHECK_RC(hkv_ioc(fd, _IOC(_IOC_READ | _IOC_WRITE, HKV_IOC_MAGIC,
					  6, 4097), &x), -ENOTTY);
		/* A VER0 PUT (no mtime) and GET still work; mtime reads 0. */
		{
			struct hkv_put p0 = {
				.size = HKV_PUT_SIZE_VER0, .ns = 77,
				.key_ptr = (uintptr_t)"v0", .key_len = 2,
				.value_ptr = (uintptr_t)"old", .value_len = 3,
				.version = 1, .mode = 0644,
				.mtime_ns = 123, /* beyond VER0: not read */
			};
			struct hkv_get g0 = {
				.size = HKV_GET_SIZE_VER0, .ns = 77,
				.key_ptr = (uintptr_t)"v0", .key_len = 2,
				.buf_ptr = (uintptr_t)buf, .buf_len = 8,
				.mtime_ns = 99, /* beyond VER0: not written */
			};

			CHECK_RC(hkv_ioc(fd, _IOC(_IOC_WRITE, HKV_IOC_MAGIC, 3,
						  HKV_PUT_SIZE_VER0), &p0), 0);
			CHECK_RC(hkv_ioc(fd, _IOC(_IOC_READ | _IOC_WRITE,
						  HKV_IOC_MAGIC, 1,
						  HKV_GET_SIZE_VER0), &g0), 0);
			CHECK(g0.value_len == 3 && g0.mtime_ns == 99,
			      "VER0 GET");
			CHECK_RC(hkv_get_s(fd, 77, "v0", buf, 8, &g), 0);
			CHECK(g.mtime_ns == 0, "VER0 PUT has no mtime");
			CHECK_RC(hkv_del_b(fd, 77, "v0", 2, 0), 0);
		}
	}
	{
		struct hkv_get gg = { .size = sizeof(gg), .key_ptr = (uintptr_t)"a",
				      .key_len = 1, .ns = 2, .reserved = 1 };

		CHECK_RC(hkv_ioc(fd, HKV_IOC_GET, &gg), -EINVAL);
		gg.reserved = 0;
		gg.flags = 1;
		CHECK_RC(hkv_ioc(fd, HKV_IOC_GET, &gg), -EINVAL);
	}
	CHECK_RC(hkv_ioc(fd, _IO(HKV_IOC_MAGIC, 0), NULL), -ENOTTY);
	CHECK_RC(hkv_ioc(fd, _IO(HKV_IOC_MAGIC, 99), NULL), -ENOTTY);
	CHECK_RC(hkv_ioc(fd, _IOR('T', 1, int), buf), -ENOTTY);
	/* The whole command is matched: number, direction and size. */
	{
		struct hkv_stat s2 = { .size = sizeof(s2) };
		struct hkv_open o2 = { .size = sizeof(o2), .ns = 2,
				       .key_ptr = (uintptr_t)"a", .key_len = 1 };

		CHECK_RC(hkv_ioc(fd, _IOWR(HKV_IOC_MAGIC, 6, uint64_t), &s2),
			 -ENOTTY);
		CHECK_RC(hkv_ioc(fd, _IOR(HKV_IOC_MAGIC, 6, struct hkv_stat),
				 &s2), -ENOTTY);
		CHECK_RC(hkv_ioc(fd, _IOW(HKV_IOC_MAGIC, 6, struct hkv_stat),
				 &s2), -ENOTTY);
		CHECK_RC(hkv_ioc(fd, _IO(HKV_IOC_MAGIC, 6), &s2), -ENOTTY);
		/* OPEN writes its metadata back: _IOWR, not _IOW. */
		CHECK_RC(hkv_ioc(fd, _IOW(HKV_IOC_MAGIC, 2, struct hkv_open),
				 &o2), -ENOTTY);
		CHECK_RC(hkv_ioc(fd, _IOWR(HKV_IOC_MAGIC, 3, struct hkv_put),
				 &o2), -ENOTTY);
		CHECK_RC(hkv_ioc(fd, HKV_IOC_STAT, &s2), 0);
	}

	/* Bad pointers. */
	CHECK_RC(hkv_ioc(fd, HKV_IOC_GET, NULL), -EFAULT);
	CHECK_RC(hkv_ioc(fd, HKV_IOC_PUT, (void *)1), -EFAULT);
	CHECK_RC(hkv_ioc(fd, HKV_IOC_STAT, (void *)0xffff888000000000ull), -EFAULT);
	CHECK_RC(hkv_get_b(fd, 2, (void *)1, 1, buf, 8, NULL), -EFAULT);
	CHECK_RC(hkv_get_b(fd, 2, (void *)0xffffffff81000000ull, 1, buf, 8, NULL),
		 -EFAULT);
	CHECK_RC(hkv_put_s(fd, 2, "a", "2", 1), 0);
	CHECK_RC(hkv_get_s(fd, 2, "a", (void *)0xffff888000001000ull, 8, &g), -EFAULT);
	CHECK_RC(hkv_get_s(fd, 2, "a", (void *)1, 8, &g), -EFAULT);
	CHECK_RC(hkv_put_full(fd, 2, "bad", 3, (void *)1, 10, 1, 0, 0, 0, 0644, 0),
		 -EFAULT);
	CHECK_RC(hkv_get_s(fd, 2, "bad", buf, 8, NULL), -ENOENT);
	CHECK_RC(hkv_put_full(fd, 2, (void *)8, 3, "x", 1, 1, 0, 0, 0, 0644, 0),
		 -EFAULT);
	CHECK_RC(hkv_open_b(fd, 2, (void *)1, 1, 0), -EFAULT);

	/* Owner rights. */
	CHECK_RC(hkv_put_s(fd, 1, "k1", "hello", 9), 0);
	in_child(child_not_owner, &fd);
	fd2 = dev_open();
	{
		struct hkv_owner ow = { .size = sizeof(ow), .flags = HKV_OWNER_CLAIM };

		CHECK_RC(hkv_ioc(fd2, HKV_IOC_OWNER, &ow), 0);
		ow.flags = 3;
		CHECK_RC(hkv_ioc(fd2, HKV_IOC_OWNER, &ow), -EINVAL);
	}
	in_child(child_owner_fd, &fd2);
	close(fd2);

	/* Events: subscription, nonblocking read, poll. */
	{
		struct hkv_events ev = { .size = sizeof(ev) };
		struct hkv_event rec;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		CHECK(read(fd, &rec, sizeof(rec)) < 0 && errno == EINVAL,
		      "unsubscribed read");
		CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR),
		      "unsubscribed poll");
		CHECK_RC(hkv_ioc(fd, HKV_IOC_EVENTS, &ev), 0);
		fcntl(fd, F_SETFL, O_NONBLOCK);
		CHECK(read(fd, &rec, sizeof(rec)) < 0 && errno == EAGAIN, "EAGAIN");
		CHECK(poll(&pfd, 1, 0) == 0, "no POLLIN");
		CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
		for (i = 0; i < 9; i++) {
			char k[8];

			snprintf(k, sizeof(k), "e%d", i);
			CHECK_RC(hkv_put_s(fd, 4, k, "v", 1), 0);
		}
		CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "POLLIN");
		CHECK(read(fd, &rec, sizeof(rec) - 1) < 0 && errno == EINVAL,
		      "short read buffer");
		CHECK(read(fd, &rec, sizeof(rec)) == sizeof(rec), "event read");
		CHECK(rec.type == HKV_EV_EVICT && rec.ns == 4 && rec.key_len == 2 &&
		      !memcmp(rec.key, "e0", 2) && rec.policy == HKV_POLICY_FIFO &&
		      rec.version == 1 && rec.seq == ev.next_seq &&
		      rec.size == sizeof(rec), "event e0");
		CHECK(read(fd, &rec, sizeof(rec)) < 0 && errno == EAGAIN, "drained");
		{
			volatile uintptr_t bad = 1;

			/* A failed copy loses nothing. */
			CHECK_RC(hkv_put_s(fd, 4, "e9", "v", 1), 0);
			CHECK(read(fd, (void *)bad, sizeof(rec)) < 0 &&
			      errno == EFAULT, "bad buffer");
			CHECK(read(fd, &rec, sizeof(rec)) == sizeof(rec) &&
			      !memcmp(rec.key, "e1", 2), "event kept");
		}
		fcntl(fd, F_SETFL, 0);
	}
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	free(big);
	close(fd);
}

/* ---------------------------------------------------------------- perms */

struct perm_case {
	const char *key;
	uint32_t uid, gid, mode;
};

static const struct perm_case perm_cases[] = {
	{ "a-0600-other", 2000, 2000, 0600 },
	{ "b-0644-other", 2000, 2000, 0644 },
	{ "c-0640-grp3000", 2000, 3000, 0640 },
	{ "d-0400-mine", 1000, 2000, 0400 },
	{ "e-0044-mine", 1000, 1000, 0044 },
	{ "f-0604-grp1000", 2000, 1000, 0604 },
	{ "g-0000-mine", 1000, 1000, 0000 },
};

static void check_access(int fd, const char *key, int want)
{
	char buf[64];
	int sfd;

	CHECK(hkv_get_s(fd, 11, key, buf, sizeof(buf), NULL) == want,
	      "GET %s: want %d", key, want);
	sfd = hkv_open_b(fd, 11, key, strlen(key), 0);
	if (want == 0) {
		CHECK(sfd >= 0, "OPEN %s: %s", key, strerror(-sfd));
		CHECK(read(sfd, buf, sizeof(buf)) == (ssize_t)strlen(key),
		      "read %s", key);
		close(sfd);
	} else {
		CHECK(sfd == want, "OPEN %s: got %d want %d", key, sfd, want);
	}
}

static void child_perm_with_group(void *arg)
{
	int fd = *(int *)arg;
	gid_t groups[] = { 3000 };
	uint64_t hits;

	become(1000, 1000, 1, groups);
	hits = hkv_stat_get(fd).hits;
	check_access(fd, "a-0600-other", -EACCES);
	CHECK(hkv_stat_get(fd).hits == hits, "EACCES is not a hit");
	check_access(fd, "b-0644-other", 0);
	check_access(fd, "c-0640-grp3000", 0);
	check_access(fd, "d-0400-mine", 0);
	check_access(fd, "e-0044-mine", -EACCES);
	check_access(fd, "f-0604-grp1000", -EACCES);
	check_access(fd, "g-0000-mine", -EACCES);
	check_access(fd, "missing", -ENOENT);
}

static void child_perm_no_group(void *arg)
{
	int fd = *(int *)arg;

	become(1001, 1001, 0, NULL);
	check_access(fd, "a-0600-other", -EACCES);
	check_access(fd, "b-0644-other", 0);
	check_access(fd, "c-0640-grp3000", -EACCES);
	check_access(fd, "d-0400-mine", -EACCES);
	check_access(fd, "e-0044-mine", 0);
	check_access(fd, "f-0604-grp1000", 0);
}

static void child_perm_gid_only(void *arg)
{
	int fd = *(int *)arg;

	/* Primary group (fsgid) 3000, no supplementary groups. */
	become(1002, 3000, 0, NULL);
	check_access(fd, "c-0640-grp3000", 0);
	check_access(fd, "a-0600-other", -EACCES);
}

static void drop_caps(uint32_t drop0)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	CHECK(syscall(SYS_capget, &h, d) == 0, "capget");
	d[0].effective &= ~drop0;
	d[0].permitted &= ~drop0;
	CHECK(syscall(SYS_capset, &h, d) == 0, "capset: %s", strerror(errno));
}

static void child_root_no_dac(void *arg)
{
	int fd = *(int *)arg;

	drop_caps(1u << CAP_DAC_OVERRIDE);
	check_access(fd, "a-0600-other", 0); /* DAC_READ_SEARCH still held */
	drop_caps(1u << CAP_DAC_READ_SEARCH);
	check_access(fd, "a-0600-other", -EACCES);
	check_access(fd, "b-0644-other", 0);
}

static void child_root_dac_override_only(void *arg)
{
	int fd = *(int *)arg;

	drop_caps(1u << CAP_DAC_READ_SEARCH);
	check_access(fd, "a-0600-other", 0);
	check_access(fd, "g-0000-mine", 0);
}

/* O_NOATIME as open(2) has it: the owner, or CAP_FOWNER; else EPERM. */
static void child_noatime_user(void *arg)
{
	int fd = *(int *)arg, sfd;

	become(1000, 1000, 0, NULL);
	CHECK_RC(hkv_open_b(fd, 11, "b-0644-other", 12, O_NOATIME), -EPERM);
	/* The read check comes first, as in may_open(). */
	CHECK_RC(hkv_open_b(fd, 11, "a-0600-other", 12, O_NOATIME), -EACCES);
	sfd = hkv_open_b(fd, 11, "b-0644-other", 12, 0);
	CHECK(sfd >= 0, "plain open");
	close(sfd);
	sfd = hkv_open_b(fd, 11, "d-0400-mine", 11, O_NOATIME);
	CHECK(sfd >= 0, "owner's O_NOATIME: %s", strerror(-sfd));
	close(sfd);
}

static void child_noatime_root_no_fowner(void *arg)
{
	int fd = *(int *)arg;

	drop_caps(1u << CAP_FOWNER);
	CHECK_RC(hkv_open_b(fd, 11, "b-0644-other", 12, O_NOATIME), -EPERM);
}

static void write_proc(const char *path, const char *s)
{
	CHECK(write_file(path, s) == 0, "write %s", path);
}

/*
 * Root of a user namespace owned by uid 1000 (mapping 0 -> 1000): its
 * capabilities count for entries whose uid and gid are mapped there, as the
 * VFS's capable_wrt_inode_uidgid() has it, and not for the others.
 */
static void child_userns(void *arg)
{
	int fd = *(int *)arg, sfd;
	struct hkv_get g;
	char buf[64];

	become(1000, 1000, 0, NULL);
	/* Changing ids made us non-dumpable: /proc/self would be root's. */
	CHECK(prctl(PR_SET_DUMPABLE, 1) == 0, "PR_SET_DUMPABLE");
	CHECK(unshare(CLONE_NEWUSER) == 0, "unshare(CLONE_NEWUSER): %s",
	      strerror(errno));
	write_proc("/proc/self/setgroups", "deny");
	write_proc("/proc/self/uid_map", "0 1000 1");
	write_proc("/proc/self/gid_map", "0 1000 1");
	/* uid 1000 gid 1000 mode 0000: mapped, so DAC_READ_SEARCH applies. */
	CHECK_RC(hkv_get_s(fd, 11, "g-0000-mine", buf, sizeof(buf), &g), 0);
	CHECK(g.uid == 0 && g.gid == 0, "ids seen from the namespace: %u %u",
	      g.uid, g.gid);
	sfd = hkv_open_b(fd, 11, "g-0000-mine", 11, O_NOATIME);
	CHECK(sfd >= 0, "OPEN in userns: %s", strerror(-sfd));
	close(sfd);
	check_access(fd, "e-0044-mine", 0);
	/* uid 2000: not mapped, no capability applies. */
	check_access(fd, "a-0600-other", -EACCES);
	CHECK_RC(hkv_get_s(fd, 11, "b-0644-other", buf, sizeof(buf), &g), 0);
	CHECK(g.uid == 65534, "unmapped uid shows as overflow: %u", g.uid);
	CHECK_RC(hkv_open_b(fd, 11, "b-0644-other", 12, O_NOATIME), -EPERM);
	/* uid 1000 but gid 2000 unmapped: only the mode bits count. */
	check_access(fd, "d-0400-mine", 0);
}

static void test_perms(void)
{
	int fd = dev_open();
	size_t i;

	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	for (i = 0; i < sizeof(perm_cases) / sizeof(perm_cases[0]); i++) {
		const struct perm_case *c = &perm_cases[i];

		CHECK_RC(hkv_put_full(fd, 11, c->key, strlen(c->key), c->key,
				      strlen(c->key), 1, 0, c->uid, c->gid,
				      c->mode, 0), 0);
	}
	/* Root passes through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH. */
	check_access(fd, "a-0600-other", 0);
	check_access(fd, "g-0000-mine", 0);
	in_child(child_perm_with_group, &fd);
	in_child(child_perm_no_group, &fd);
	in_child(child_perm_gid_only, &fd);
	in_child(child_root_no_dac, &fd);
	in_child(child_root_dac_override_only, &fd);
	{
		int sfd = hkv_open_b(fd, 11, "b-0644-other", 12, O_NOATIME);

		CHECK(sfd >= 0, "root's O_NOATIME (CAP_FOWNER)");
		close(sfd);
	}
	in_child(child_noatime_user, &fd);
	in_child(child_noatime_root_no_fowner, &fd);
	in_child(child_userns, &fd);
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	close(fd);
}

/* ---------------------------------------------------------------- audit */

#define TRACEFS "/sys/kernel/tracing"

/*
 * A denied read is a probe (the shim falls back to the real open, which does
 * the audited check): the module's capability checks on that path must be
 * the _noaudit kind.  A kprobe on cap_capable() records the options of every
 * check; the denied GET and OPEN of an unprivileged child must cause checks
 * of CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, all with CAP_OPT_NOAUDIT.
 */
static void child_denied(void *arg)
{
	int fd = *(int *)arg;
	char buf[16];

	become(1000, 1000, 0, NULL);
	CHECK_RC(hkv_get_s(fd, 12, "secret", buf, sizeof(buf), NULL), -EACCES);
	CHECK_RC(hkv_open_b(fd, 12, "secret", 6, 0), -EACCES);
}

static void test_audit(void)
{
	int fd = dev_open(), pid, checks = 0;
	char line[512], comm[32];
	FILE *f;

	if (access(TRACEFS "/kprobe_events", W_OK) != 0)
		CHECK(mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0,
		      "mount tracefs: %s", strerror(errno));
	/* x86-64: cap_capable(cred, ns, cap = %dx, opts = %cx). */
	write_proc(TRACEFS "/kprobe_events",
		   "p:hkvcap cap_capable cap=%dx:s32 opts=%cx:u32");
	write_proc(TRACEFS "/trace", "");
	write_proc(TRACEFS "/events/kprobes/hkvcap/enable", "1");
	CHECK_RC(hkv_put_full(fd, 12, "secret", 6, "s", 1, 1, 0, 2000, 2000,
			      0600, 0), 0);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		child_denied(&fd);
		exit(0);
	}
	{
		int status;

		CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0, "denied child");
	}
	write_proc(TRACEFS "/events/kprobes/hkvcap/enable", "0");
	f = fopen(TRACEFS "/trace", "r");
	CHECK(f, "open trace");
	snprintf(comm, sizeof(comm), "-%d ", pid);
	while (fgets(line, sizeof(line), f)) {
		const char *c = strstr(line, " cap="), *o = strstr(line, " opts=");
		long cap;
		unsigned long opts;

		if (line[0] == '#' || !strstr(line, comm) || !c || !o)
			continue;
		cap = strtol(c + 5, NULL, 0);
		opts = strtoul(o + 6, NULL, 0);
		if (cap != CAP_DAC_OVERRIDE && cap != CAP_DAC_READ_SEARCH)
			continue;
		checks++;
		CHECK(opts & 2 /* CAP_OPT_NOAUDIT */,
		      "audited capability check on the read path: %s", line);
	}
	fclose(f);
	write_proc(TRACEFS "/kprobe_events", "");
	/* Two checks for the GET and two for the OPEN. */
	CHECK(checks == 4, "%d DAC capability checks traced", checks);
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	close(fd);
}

/* --------------------------------------------------------- unload race */

/*
 * Load and unload the module @cycles times while snapshot descriptors (and
 * the last /dev/hkv descriptor) are being closed by other threads: rmmod
 * must be refused while anything is open and succeed once everything is
 * closed, with no oops (the init checks the log afterwards).
 */
#define UR_FDS 24

struct ur_closer {
	int *fds;
	int n;
};

static void *ur_close(void *arg)
{
	struct ur_closer *c = arg;
	char b[16];
	int i;

	for (i = 0; i < c->n; i++) {
		CHECK(pread(c->fds[i], b, sizeof(b), 0) == 6, "snapshot read");
		close(c->fds[i]);
	}
	return NULL;
}

static int try_rmmod(void);

static void test_unload_race(const char *ko, int cycles)
{
	int kfd = open(ko, O_RDONLY | O_CLOEXEC), cycle;
	uint64_t refused = 0;

	CHECK(kfd >= 0, "open %s: %s", ko, strerror(errno));
	for (cycle = 0; cycle < cycles; cycle++) {
		int fds[UR_FDS], fd, i, rc;
		struct ur_closer c[3];
		pthread_t t[3];
		char key[8];

		CHECK(syscall(SYS_finit_module, kfd, "max_items=64", 0) == 0,
		      "cycle %d: finit_module: %s", cycle, strerror(errno));
		fd = dev_open();
		for (i = 0; i < UR_FDS; i++) {
			snprintf(key, sizeof(key), "u%d", i % 8);
			if (i < 8)
				CHECK_RC(hkv_put_s(fd, 3, key, "value!", 1), 0);
			fds[i] = hkv_open_b(fd, 3, key, strlen(key), 0);
			CHECK(fds[i] >= 0, "snapshot %d", i);
		}
		/* Half the keys go away while their snapshots are open. */
		for (i = 0; i < 4; i++) {
			snprintf(key, sizeof(key), "u%d", i);
			CHECK_RC(hkv_del_b(fd, 3, key, strlen(key), 0), 0);
		}
		CHECK_RC(try_rmmod(), -EAGAIN);
		for (i = 0; i < 3; i++) {
			c[i].fds = fds + i * 8;
			c[i].n = 8;
		}
		/* Only the snapshots hold the module (and their mount) now. */
		close(fd);
		for (i = 0; i < 3; i++)
			CHECK(pthread_create(&t[i], NULL, ur_close, &c[i]) == 0,
			      "pthread_create");
		/* Race the closes; every refusal must be "in use". */
		while ((rc = try_rmmod()) == -EAGAIN)
			refused++;
		CHECK_RC(rc, 0);
		for (i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		CHECK(access(HKV_DEV, F_OK) != 0, "device gone");
	}
	close(kfd);
	printf("unload race: %d cycles, %llu refusals while closing\n", cycles,
	       (unsigned long long)refused);
}


/* --------------------------------------------------------------- expiry */

static void test_expiry(void)
{
	int fd = dev_open();
	struct hkv_get g;
	uint64_t t0, t1, exp, deadline, expirations;
	char buf[64];
	struct hkv_stat st;

	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	/* Already expired: accepted, never returned, and removes the old value. */
	CHECK_RC(hkv_put_s(fd, 3, "old", "v1", 1), 0);
	CHECK_RC(hkv_put_full(fd, 3, "old", 3, "v2", 2, 2, now_ms() - 1000, 0, 0,
			      0644, 0), 0);
	CHECK_RC(hkv_get_s(fd, 3, "old", buf, sizeof(buf), NULL), -ENOENT);
	CHECK_RC(hkv_open_b(fd, 3, "old", 3, 0), -ENOENT);
	CHECK_RC(hkv_put_full(fd, 3, "past", 4, "v", 1, 1, 1, 0, 0, 0644, 0), 0);
	CHECK_RC(hkv_get_s(fd, 3, "past", buf, sizeof(buf), NULL), -ENOENT);
	CHECK(hkv_stat_get(fd).items == 0, "no expired item stored");

	/* Far future: returned, expiry reported. */
	exp = now_ms() + 3600 * 1000;
	CHECK_RC(hkv_put_full(fd, 3, "future", 6, "v", 1, 1, exp, 0, 0, 0644, 0), 0);
	CHECK_RC(hkv_get_s(fd, 3, "future", buf, sizeof(buf), &g), 0);
	CHECK(g.expire_ms == exp, "expire_ms reported");

	/* now + 300 ms: a hit whenever the GET finished before the expiry. */
	t0 = now_ms();
	exp = t0 + 300;
	CHECK_RC(hkv_put_full(fd, 3, "soon", 4, "v", 1, 1, exp, 0, 0, 0644, 0), 0);
	{
		int rc = hkv_get_s(fd, 3, "soon", buf, sizeof(buf), NULL);

		t1 = now_ms();
		if (t1 < exp)
			CHECK_RC(rc, 0);
		else
			CHECK(rc == 0 || rc == -ENOENT, "rc %d", rc);
	}
	/* Wait for the clock (not for the module) to pass the expiry. */
	while (now_ms() <= exp)
		usleep(10000);
	expirations = hkv_stat_get(fd).expirations;
	CHECK_RC(hkv_get_s(fd, 3, "soon", buf, sizeof(buf), NULL), -ENOENT);
	CHECK_RC(hkv_open_b(fd, 3, "soon", 4, 0), -ENOENT);
	CHECK_RC(hkv_get_s(fd, 3, "future", buf, sizeof(buf), NULL), 0);
	/* The reader scheduled its removal; wait for it (bounded). */
	deadline = now_ns(CLOCK_MONOTONIC) + 10ull * 1000000000ull;
	do {
		st = hkv_stat_get(fd);
		if (st.items == 1)
			break;
		usleep(1000);
	} while (now_ns(CLOCK_MONOTONIC) < deadline);
	CHECK(st.items == 1 && st.expirations == expirations + 1,
	      "expired entry removed (items %llu)", (unsigned long long)st.items);
	CHECK_RC(hkv_del_b(fd, 3, "soon", 4, 0), -ENOENT);
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	close(fd);
}

/* ------------------------------------------------------ eviction model */

#define MODEL_KEYS 64

/*
 * The module's orders (kmod/evict.c), replayed: generations advanced by
 * insertions, hits stamping the current generation once, lazy LRU and LFU
 * queues whose keys are refreshed by the victim search.
 */
#define MODEL_REQUEUE_MAX 64

struct model_entry {
	bool used;
	uint32_t bytes;
	uint64_t gen, freq, version, ins_seq;
	uint64_t lru_gen, lru_seq, lfu_freq, lfu_gen, lfu_seq;
};

struct model {
	struct model_entry e[MODEL_KEYS];
	uint64_t gen, seq, items, bytes, max_items, max_bytes;
	uint32_t policy;
	int evicted[64];
	int nevicted;
};

static void model_init(struct model *m, const struct hkv_stat *st, uint32_t policy)
{
	memset(m, 0, sizeof(*m));
	m->max_items = st->max_items;
	m->max_bytes = st->max_bytes;
	m->policy = policy;
}

static bool model_get(struct model *m, int k)
{
	struct model_entry *e = &m->e[k];

	if (!e->used)
		return false;
	if (e->gen < m->gen) {
		e->gen = m->gen;
		e->freq++;
	}
	return true;
}

/* Whether a's queued key is below b's under the model's policy. */
static bool model_before(const struct model *m, const struct model_entry *a,
			 const struct model_entry *b)
{
	switch (m->policy) {
	case HKV_POLICY_FIFO:
		return a->ins_seq < b->ins_seq;
	case HKV_POLICY_LRU:
		return a->lru_gen != b->lru_gen ? a->lru_gen < b->lru_gen :
						  a->lru_seq < b->lru_seq;
	default:
		if (a->lfu_freq != b->lfu_freq)
			return a->lfu_freq < b->lfu_freq;
		return a->lfu_gen != b->lfu_gen ? a->lfu_gen < b->lfu_gen :
						  a->lfu_seq < b->lfu_seq;
	}
}

static int model_victim(struct model *m, int keep)
{
	int requeues = 0;

	for (;;) {
		struct model_entry *e;
		int k, v = -1;

		for (k = 0; k < MODEL_KEYS; k++)
			if (m->e[k].used && k != keep &&
			    (v < 0 || model_before(m, &m->e[k], &m->e[v])))
				v = k;
		if (v < 0 || m->policy == HKV_POLICY_FIFO ||
		    requeues >= MODEL_REQUEUE_MAX)
			return v;
		e = &m->e[v];
		if (m->policy == HKV_POLICY_LRU) {
			if (e->gen == e->lru_gen)
				return v;
			e->lru_gen = e->gen;
			e->lru_seq = ++m->seq;
		} else {
			if (e->freq == e->lfu_freq && e->gen == e->lfu_gen)
				return v;
			e->lfu_freq = e->freq;
			e->lfu_gen = e->gen;
			e->lfu_seq = ++m->seq;
		}
		requeues++;
	}
}

static void model_put(struct model *m, int k, uint32_t bytes, uint64_t version)
{
	struct model_entry *e = &m->e[k];

	if (e->used) {
		m->bytes -= e->bytes;
	} else {
		m->items++;
		e->used = true;
	}
	e->bytes = bytes;
	e->version = version;
	e->gen = m->gen + 1;
	m->gen += 2;
	e->freq = 0;
	e->ins_seq = ++m->seq;
	e->lru_gen = e->gen;
	e->lru_seq = ++m->seq;
	e->lfu_freq = 0;
	e->lfu_gen = e->gen;
	e->lfu_seq = ++m->seq;
	m->bytes += bytes;
	m->nevicted = 0;
	while (m->items > m->max_items || m->bytes > m->max_bytes) {
		int v = model_victim(m, k);

		CHECK(v >= 0, "model has no victim");
		m->e[v].used = false;
		m->items--;
		m->bytes -= m->e[v].bytes;
		m->evicted[m->nevicted++] = v;
	}
}

static void key_name(char *buf, int k)
{
	snprintf(buf, 16, "key-%03d", k);
}

/* Read every pending event and compare with the model's last evictions. */
static void check_events(int fd, struct model *m, uint64_t *next_seq)
{
	struct hkv_event rec;
	char name[16];
	int i;

	for (i = 0; i < m->nevicted; i++) {
		CHECK(read(fd, &rec, sizeof(rec)) == sizeof(rec),
		      "event %d of %d missing: %s", i, m->nevicted, strerror(errno));
		key_name(name, m->evicted[i]);
		CHECK(rec.type == HKV_EV_EVICT && rec.seq == *next_seq &&
		      rec.key_len == 7 && !memcmp(rec.key, name, 7) &&
		      rec.policy == m->policy && rec.ns == 21 &&
		      rec.version == m->e[m->evicted[i]].version,
		      "event %d: got %.*s (type %u) want %s", i, (int)rec.key_len,
		      rec.key, rec.type, name);
		(*next_seq)++;
	}
	CHECK(read(fd, &rec, sizeof(rec)) < 0 && errno == EAGAIN,
	      "unexpected extra event %.*s", (int)rec.key_len, rec.key);
}

/* Zipf(1.0) over MODEL_KEYS keys. */
static int zipf_pick(uint64_t *seed)
{
	static double cdf[MODEL_KEYS];
	double u;
	int k;

	if (cdf[MODEL_KEYS - 1] == 0) {
		double sum = 0;

		for (k = 0; k < MODEL_KEYS; k++)
			sum += 1.0 / (k + 1);
		for (k = 0; k < MODEL_KEYS; k++)
			cdf[k] = (k ? cdf[k - 1] : 0) + 1.0 / (k + 1) / sum;
	}
	u = (rnd_next(seed) >> 11) * (1.0 / 9007199254740992.0);
	for (k = 0; k < MODEL_KEYS - 1; k++)
		if (u < cdf[k])
			return k;
	return MODEL_KEYS - 1;
}

static const uint32_t policies[] = { HKV_POLICY_FIFO, HKV_POLICY_LRU,
				     HKV_POLICY_LFU };

static void test_evict(void)
{
	int fd = dev_open();
	struct hkv_events sub = { .size = sizeof(sub) };
	struct hkv_stat st;
	struct model m;
	char name[16], *val = malloc(2048), buf[2048];
	uint64_t next_seq, seed = 42, version = 0;
	size_t p;
	int op, i;

	st = hkv_stat_get(fd);
	CHECK(st.max_items == 8 && st.max_bytes == 4096, "load parameters");
	CHECK_RC(hkv_ioc(fd, HKV_IOC_EVENTS, &sub), 0);
	next_seq = sub.next_seq;
	fcntl(fd, F_SETFL, O_NONBLOCK);

	for (p = 0; p < 3; p++) {
		uint64_t evictions = hkv_stat_get(fd).evictions, nev = 0;

		CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
		CHECK_RC(hkv_policy_set(fd, policies[p], NULL), 0);
		model_init(&m, &st, policies[p]);
		for (op = 0; op < 3000; op++) {
			int k = zipf_pick(&seed) % 24;
			uint64_t r = rnd_next(&seed);

			key_name(name, k);
			if (r % 3 == 0) {
				uint32_t vlen = 1 + (r >> 8) % 1400;

				memset(val, 'a' + k % 26, vlen);
				version++;
				CHECK_RC(hkv_put_full(fd, 21, name, 7, val, vlen,
						      version, 0, 0, 0, 0644, 0), 0);
				model_put(&m, k, 7 + vlen, version);
				nev += m.nevicted;
			} else {
				bool hit = model_get(&m, k);
				int rc;

				if (r % 3 == 1) {
					struct hkv_get g;

					rc = hkv_get_s(fd, 21, name, buf, sizeof(buf), &g);
					if (!rc)
						CHECK(g.version == m.e[k].version &&
						      buf[0] == 'a' + k % 26, "value");
				} else {
					rc = hkv_open_b(fd, 21, name, 7, 0);
					if (rc >= 0) {
						close(rc);
						rc = 0;
					}
				}
				CHECK(rc == (hit ? 0 : -ENOENT),
				      "policy %u op %d key %d: rc %d, model %s",
				      policies[p], op, k, rc, hit ? "hit" : "miss");
				m.nevicted = 0;
			}
			check_events(fd, &m, &next_seq);
			if (op % 64 == 0 || op == 2999) {
				struct hkv_stat s = hkv_stat_get(fd);

				CHECK(s.items == m.items && s.bytes == m.bytes,
				      "items %llu/%llu bytes %llu/%llu",
				      (unsigned long long)s.items,
				      (unsigned long long)m.items,
				      (unsigned long long)s.bytes,
				      (unsigned long long)m.bytes);
			}
		}
		CHECK(hkv_stat_get(fd).evictions - evictions == nev && nev > 100,
		      "eviction count %llu", (unsigned long long)nev);
		/* Cross-check every key at the end. */
		for (i = 0; i < MODEL_KEYS; i++) {
			key_name(name, i);
			CHECK_RC(hkv_get_s(fd, 21, name, buf, sizeof(buf), NULL),
				 m.e[i].used ? 0 : -ENOENT);
		}
	}

	/* Falling behind the ring (event_slots=16) yields one LOST record. */
	{
		struct hkv_event rec;
		uint64_t start;

		CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
		CHECK_RC(hkv_ioc(fd, HKV_IOC_EVENTS, &sub), 0);
		start = sub.next_seq;
		for (i = 0; i < 48; i++) {
			snprintf(name, sizeof(name), "lost%03d", i);
			CHECK_RC(hkv_put_s(fd, 22, name, "x", 1), 0);
		}
		/* 40 evictions, 16 slots: 24 lost, then 16 records. */
		CHECK(read(fd, &rec, sizeof(rec)) == sizeof(rec), "read LOST");
		CHECK(rec.type == HKV_EV_LOST && rec.version == 24 &&
		      rec.seq == start, "LOST record: type %u count %llu",
		      rec.type, (unsigned long long)rec.version);
		for (i = 0; i < 16; i++) {
			CHECK(read(fd, &rec, sizeof(rec)) == sizeof(rec), "read");
			snprintf(name, sizeof(name), "lost%03d", 24 + i);
			CHECK(rec.type == HKV_EV_EVICT && rec.seq == start + 24 + i &&
			      !memcmp(rec.key, name, 7), "record after LOST");
		}
		CHECK(read(fd, &rec, sizeof(rec)) < 0 && errno == EAGAIN, "end");
	}
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	free(val);
	close(fd);
}

/* ----------------------------------------------------------------- skew */

static void test_skew(void)
{
	int fd = dev_open();
	struct hkv_stat st = hkv_stat_get(fd);
	uint64_t hits[3];
	char name[16], buf[64];
	size_t p;
	int i, j;

	CHECK(st.max_items == 8, "max_items");
	for (p = 0; p < 3; p++) {
		int present = 0;

		CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
		CHECK_RC(hkv_policy_set(fd, policies[p], NULL), 0);
		/* A hot set of 4 read often, then a one-pass scan of 8 keys. */
		for (i = 0; i < 4; i++) {
			snprintf(name, sizeof(name), "hot%d", i);
			CHECK_RC(hkv_put_s(fd, 31, name, "h", 1), 0);
		}
		for (j = 0; j < 20; j++)
			for (i = 0; i < 4; i++) {
				snprintf(name, sizeof(name), "hot%d", i);
				CHECK_RC(hkv_get_s(fd, 31, name, buf, 64, NULL), 0);
			}
		for (i = 0; i < 8; i++) {
			snprintf(name, sizeof(name), "cold%d", i);
			CHECK_RC(hkv_get_s(fd, 31, name, buf, 64, NULL), -ENOENT);
			CHECK_RC(hkv_put_s(fd, 31, name, "c", 1), 0);
		}
		for (i = 0; i < 4; i++) {
			snprintf(name, sizeof(name), "hot%d", i);
			present += hkv_get_s(fd, 31, name, buf, 64, NULL) == 0;
		}
		if (policies[p] == HKV_POLICY_LFU)
			CHECK(present == 4, "LFU kept %d of 4 hot keys", present);
		else
			CHECK(present == 0, "policy %u kept %d hot keys",
			      policies[p], present);
	}

	/* Cache-aside under Zipf(1.0) over 64 keys, 8 slots, seed 7. */
	for (p = 0; p < 3; p++) {
		struct model m;
		uint64_t seed = 7, h0;
		uint64_t mh = 0;

		CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
		CHECK_RC(hkv_policy_set(fd, policies[p], NULL), 0);
		model_init(&m, &st, policies[p]);
		h0 = hkv_stat_get(fd).hits;
		for (i = 0; i < 4000; i++) {
			int k = zipf_pick(&seed);
			int rc;

			key_name(name, k);
			rc = hkv_get_s(fd, 21, name, buf, sizeof(buf), NULL);
			if (model_get(&m, k)) {
				mh++;
				CHECK_RC(rc, 0);
			} else {
				CHECK_RC(rc, -ENOENT);
				CHECK_RC(hkv_put_s(fd, 21, name, "z", 1), 0);
				model_put(&m, k, 8, 1);
			}
		}
		hits[p] = hkv_stat_get(fd).hits - h0;
		CHECK(hits[p] == mh, "policy %u: %llu hits, model %llu",
		      policies[p], (unsigned long long)hits[p],
		      (unsigned long long)mh);
		printf("zipf policy %u: %llu/4000 hits\n", policies[p],
		       (unsigned long long)hits[p]);
	}
	/* FIFO, LRU, LFU order under a stationary skewed workload. */
	CHECK(hits[2] > hits[0] && hits[1] > hits[0],
	      "LFU %llu / LRU %llu should beat FIFO %llu",
	      (unsigned long long)hits[2], (unsigned long long)hits[1],
	      (unsigned long long)hits[0]);
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	close(fd);
}

/* --------------------------------------------------------------- stress */

#define S_KEYS 64
#define S_WRITERS 2
#define S_READERS 3
#define S_NS 77
#define S_MAGIC 0x484b5653u

struct s_hdr {
	uint32_t magic;
	uint32_t key;
	uint64_t version;
	uint32_t len;
	uint32_t sum;
};

static atomic_uint_fast64_t s_floor[S_KEYS];	/* versions <= floor are gone */
static atomic_uint_fast64_t s_pub[S_KEYS];	/* last version whose PUT returned */
static atomic_bool s_stop;
static atomic_uint_fast64_t s_reads, s_hits, s_writes, s_dels, s_clears,
	s_stale_ok, s_opens;
static int s_fd;

static uint8_t s_byte(uint32_t key, uint64_t version, uint32_t i)
{
	return (uint8_t)(version * 131 + key * 7 + i * 13);
}

static uint32_t s_make(uint8_t *buf, uint32_t key, uint64_t version, uint32_t len)
{
	struct s_hdr h = { S_MAGIC, key, version, len, 0 };
	uint32_t i;

	for (i = sizeof(h); i < len; i++) {
		buf[i] = s_byte(key, version, i);
		h.sum = h.sum * 31 + buf[i];
	}
	memcpy(buf, &h, sizeof(h));
	return len;
}

static void s_verify(const uint8_t *buf, uint32_t len, uint32_t key,
		     uint64_t version, uint64_t floor, uint64_t *last_seen)
{
	struct s_hdr h;
	uint32_t i, sum = 0;

	CHECK(len >= sizeof(h), "short value %u", len);
	memcpy(&h, buf, sizeof(h));
	CHECK(h.magic == S_MAGIC && h.key == key && h.len == len &&
	      h.version == version, "torn header: key %u/%u ver %llu/%llu len %u/%u",
	      h.key, key, (unsigned long long)h.version,
	      (unsigned long long)version, h.len, len);
	for (i = sizeof(h); i < len; i++) {
		CHECK(buf[i] == s_byte(key, version, i), "torn byte %u", i);
		sum = sum * 31 + buf[i];
	}
	CHECK(sum == h.sum, "checksum");
	CHECK(version > floor, "stale read: key %u version %llu <= floor %llu",
	      key, (unsigned long long)version, (unsigned long long)floor);
	CHECK(version >= *last_seen, "version went back: key %u %llu < %llu", key,
	      (unsigned long long)version, (unsigned long long)*last_seen);
	*last_seen = version;
}

static void atomic_max(atomic_uint_fast64_t *a, uint64_t v)
{
	uint64_t cur = atomic_load(a);

	while (cur < v && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

static void *s_writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t seed = 1000 + id, ver[S_KEYS] = { 0 }, tomb[S_KEYS] = { 0 };
	uint8_t *buf = malloc(4096);

	while (!atomic_load(&s_stop)) {
		uint32_t k = (rnd_next(&seed) % (S_KEYS / S_WRITERS)) * S_WRITERS + id;
		uint64_t r = rnd_next(&seed) % 100;

		if (r < 70) {
			uint32_t len = 24 + rnd_next(&seed) % 1000;
			int rc;

			s_make(buf, k, ++ver[k], len);
			rc = hkv_put_full(s_fd, S_NS, &k, sizeof(k), buf, len,
					  ver[k], 0, 0, 0, 0644, 0);
			CHECK(rc == 0, "stress PUT: %s", strerror(-rc));
			atomic_store(&s_pub[k], ver[k]);
			atomic_fetch_add(&s_writes, 1);
		} else if (r < 95) {
			int rc = hkv_del_b(s_fd, S_NS, &k, sizeof(k), ver[k]);

			CHECK(rc == 0 || rc == -ENOENT, "stress DEL: %s",
			      strerror(-rc));
			/* From here on no reader may see ver[k] or older. */
			atomic_max(&s_floor[k], ver[k]);
			tomb[k] = ver[k];
			atomic_fetch_add(&s_dels, 1);
		} else if (ver[k] > 1 && tomb[k] == ver[k]) {
			/* A late promotion of an invalidated version. */
			int rc;

			s_make(buf, k, ver[k] - 1, 64);
			rc = hkv_put_full(s_fd, S_NS, &k, sizeof(k), buf, 64,
					  ver[k] - 1, 0, 0, 0, 0644, 0);
			CHECK(rc == -ESTALE, "stale PUT accepted: %d", rc);
			atomic_fetch_add(&s_stale_ok, 1);
		}
	}
	free(buf);
	return NULL;
}

static void *s_reader(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t seed = 2000 + id, last[S_KEYS] = { 0 };
	uint8_t *buf = malloc(4096), *buf2 = malloc(4096);

	while (!atomic_load(&s_stop)) {
		uint32_t k = zipf_pick(&seed) % S_KEYS;
		uint64_t floor = atomic_load(&s_floor[k]);
		struct hkv_get g;
		int rc;

		if (rnd_next(&seed) % 4) {
			rc = hkv_get_b(s_fd, S_NS, &k, sizeof(k), buf, 4096, &g);
			CHECK(rc == 0 || rc == -ENOENT, "stress GET: %s",
			      strerror(-rc));
			if (!rc) {
				s_verify(buf, g.value_len, k, g.version, floor,
					 &last[k]);
				atomic_fetch_add(&s_hits, 1);
			}
		} else {
			struct stat sb;
			struct s_hdr h;
			ssize_t n;

			rc = hkv_open_b(s_fd, S_NS, &k, sizeof(k), O_CLOEXEC);
			CHECK(rc >= 0 || rc == -ENOENT, "stress OPEN: %s",
			      strerror(-rc));
			if (rc >= 0) {
				int sfd = rc;

				CHECK(fstat(sfd, &sb) == 0, "fstat");
				n = read(sfd, buf, 4096);
				CHECK(n == sb.st_size, "read %zd of %lld", n,
				      (long long)sb.st_size);
				memcpy(&h, buf, sizeof(h));
				s_verify(buf, n, k, h.version, floor, &last[k]);
				sched_yield();
				/* The snapshot does not change under us. */
				CHECK(pread(sfd, buf2, 4096, 0) == n &&
				      !memcmp(buf, buf2, n), "snapshot changed");
				close(sfd);
				atomic_fetch_add(&s_hits, 1);
				atomic_fetch_add(&s_opens, 1);
			}
		}
		atomic_fetch_add(&s_reads, 1);
	}
	free(buf);
	free(buf2);
	return NULL;
}

static void *s_chaos(void *arg)
{
	uint64_t seed = 3000, i = 0;

	(void)arg;
	while (!atomic_load(&s_stop)) {
		uint64_t snap[S_KEYS];
		int k;

		usleep(2000);
		CHECK_RC(hkv_policy_set(s_fd, policies[i++ % 3], NULL), 0);
		if (rnd_next(&seed) % 8 == 0) {
			for (k = 0; k < S_KEYS; k++)
				snap[k] = atomic_load(&s_pub[k]);
			CHECK_RC(hkv_clear_ns(s_fd, 1, S_NS, NULL), 0);
			for (k = 0; k < S_KEYS; k++)
				atomic_max(&s_floor[k], snap[k]);
			atomic_fetch_add(&s_clears, 1);
		}
	}
	return NULL;
}

static void test_stress(int seconds)
{
	pthread_t w[S_WRITERS], r[S_READERS], c;
	uint64_t end;
	struct hkv_stat st0, st;
	int i;

	s_fd = dev_open();
	CHECK_RC(hkv_clear_ns(s_fd, 0, 0, NULL), 0);
	st0 = hkv_stat_get(s_fd);
	for (i = 0; i < S_WRITERS; i++)
		pthread_create(&w[i], NULL, s_writer, (void *)(intptr_t)i);
	for (i = 0; i < S_READERS; i++)
		pthread_create(&r[i], NULL, s_reader, (void *)(intptr_t)i);
	pthread_create(&c, NULL, s_chaos, NULL);
	end = now_ns(CLOCK_MONOTONIC) + (uint64_t)seconds * 1000000000ull;
	while (now_ns(CLOCK_MONOTONIC) < end)
		usleep(50000);
	atomic_store(&s_stop, true);
	for (i = 0; i < S_WRITERS; i++)
		pthread_join(w[i], NULL);
	for (i = 0; i < S_READERS; i++)
		pthread_join(r[i], NULL);
	pthread_join(c, NULL);
	st = hkv_stat_get(s_fd);
	printf("stress: %llu reads (%llu hits, %llu opens), %llu puts, %llu dels, "
	       "%llu clears, %llu stale refused, %llu evictions\n",
	       (unsigned long long)s_reads, (unsigned long long)s_hits,
	       (unsigned long long)s_opens, (unsigned long long)s_writes,
	       (unsigned long long)s_dels, (unsigned long long)s_clears,
	       (unsigned long long)s_stale_ok,
	       (unsigned long long)(st.evictions - st0.evictions));
	CHECK(s_reads > 1000 && s_hits > 100 && s_opens > 10 && s_writes > 1000 &&
	      s_dels > 100 && s_clears > 0 && s_stale_ok > 10 &&
	      st.evictions - st0.evictions > 100, "not enough work was done");
	CHECK(st.items <= st.max_items && st.bytes <= st.max_bytes, "limits");
	CHECK_RC(hkv_clear_ns(s_fd, 0, 0, NULL), 0);
	CHECK(hkv_stat_get(s_fd).items == 0 && hkv_stat_get(s_fd).bytes == 0,
	      "empty after clear");
	close(s_fd);
}

/* ----------------------------------------------------------------- bind */

#define BT_NS 0xb1d0001ull

static int bt_bind(int fd, uint64_t ns, int target, uint32_t flags)
{
	struct hkv_bind b = { .size = sizeof(b), .flags = flags, .ns = ns,
			      .fd = target };

	return hkv_ioc(fd, HKV_IOC_BIND, &b);
}

/* HKV_IOC_OPEN of @key in @ns with path @path (NULL: none) at @off. */
static int bt_open(int fd, uint64_t ns, const char *key, const char *path,
		   uint32_t off, uint32_t flags)
{
	struct hkv_open o = {
		.size = sizeof(o), .ns = ns, .flags = flags,
		.key_ptr = (uintptr_t)key, .key_len = strlen(key),
		.path_ptr = (uintptr_t)path, .path_off = off,
		.checks = path ? HKV_OPEN_CHECK_PATH : 0,
	};

	return hkv_ioc(fd, HKV_IOC_OPEN, &o);
}

/* HKV_IOC_OPEN of @key in @ns with the mountinfo check of @mfd. */
static int bt_open_m(int fd, uint64_t ns, const char *key, int mfd)
{
	struct hkv_open o = {
		.size = sizeof(o), .ns = ns, .flags = O_CLOEXEC,
		.key_ptr = (uintptr_t)key, .key_len = strlen(key),
		.checks = HKV_OPEN_CHECK_MOUNTS, .mnt_fd = mfd,
	};
	int rc = hkv_ioc(fd, HKV_IOC_OPEN, &o);

	if (rc >= 0)
		close(rc);
	return rc < 0 ? rc : 0;
}

/* Opens @path as @key of @ns and checks the value read is @want. */
static void bt_served(int fd, uint64_t ns, const char *key, const char *path,
		      uint32_t off, const char *want)
{
	char buf[64] = { 0 };
	int sfd = bt_open(fd, ns, key, path, off, O_CLOEXEC);

	CHECK(sfd >= 0, "open %s (off %u) as %s: %s", path, off, key,
	      strerror(-sfd));
	CHECK(read(sfd, buf, sizeof(buf) - 1) == (ssize_t)strlen(want) &&
	      !strcmp(buf, want), "value of %s: \"%s\"", path, buf);
	close(sfd);
}

static void bt_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s),
	      "write %s: %s", path, strerror(errno));
	close(fd);
}

static void child_bind_user(void *arg)
{
	int fd = *(int *)arg, pfd = open("/tmp/bt", O_PATH | O_CLOEXEC);

	become(1000, 1000, 0, NULL);
	CHECK_RC(bt_bind(fd, BT_NS + 9, pfd, 0), -EPERM);
	/* a reader needs no rights beyond the walk's and the entry's */
	bt_served(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, "in bt");
	CHECK(chmod("/tmp/bt/d", 0700) < 0 && errno == EPERM, "chmod as user");
}

static void child_bind_noexec(void *arg)
{
	int fd = *(int *)arg;

	become(1000, 1000, 0, NULL);
	/* the walk checks search permission as open(2) would */
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -EACCES);
}

static void child_bind_chroot(void *arg)
{
	int fd = *(int *)arg;

	CHECK(chroot("/tmp/bt") == 0 && chdir("/") == 0, "chroot: %s",
	      strerror(errno));
	/* the same file under another name: still that key */
	bt_served(fd, BT_NS, "d/k", "/d/k", 0, "in bt");
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -ENOENT);
}

static void child_bind_unshare(void *arg)
{
	int fd = *(int *)arg;

	CHECK(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
	      "make private: %s", strerror(errno));
	CHECK(mount("tmpfs", "/tmp/bt/d", "tmpfs", 0, NULL) == 0, "mount");
	bt_file("/tmp/bt/d/k", "private");
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -EXDEV);
}

static void test_bind(void)
{
	int fd = dev_open(), fd2 = dev_open(), bt, bt2;
	struct hkv_open o;
	char big[5000];

	CHECK(mkdir("/tmp/bt", 0755) == 0 && mkdir("/tmp/bt2", 0755) == 0 &&
	      mkdir("/tmp/bd", 0755) == 0, "mkdir: %s", strerror(errno));
	CHECK(mount("tmpfs", "/tmp/bt", "tmpfs", 0, "mode=755") == 0 &&
	      mount("tmpfs", "/tmp/bt2", "tmpfs", 0, "mode=755") == 0,
	      "mount: %s", strerror(errno));
	CHECK(mkdir("/tmp/bt/d", 0755) == 0 && mkdir("/tmp/bt2/d", 0755) == 0,
	      "mkdir d");
	bt_file("/tmp/bt/d/k", "file");
	bt_file("/tmp/bt2/d/k", "file2");
	CHECK(symlink("d/k", "/tmp/bt/l") == 0, "symlink");
	bt = open("/tmp/bt", O_PATH | O_DIRECTORY | O_CLOEXEC);
	bt2 = open("/tmp/bt2/d/k", O_RDONLY | O_CLOEXEC);
	CHECK(bt >= 0 && bt2 >= 0, "open roots");
	CHECK_RC(hkv_put_s(fd, BT_NS, "d/k", "in bt", 1), 0);
	CHECK_RC(hkv_put_s(fd, BT_NS + 1, "d/k", "in bt2", 1), 0);

	/* BIND's own errors */
	CHECK_RC(bt_bind(fd, BT_NS, 999, 0), -EBADF);
	CHECK_RC(bt_bind(fd, BT_NS, -1, 0), -EBADF);
	CHECK_RC(bt_bind(fd, 0, bt, 0), -EINVAL);
	CHECK_RC(bt_bind(fd, BT_NS, bt, 0x2), -EINVAL);
	CHECK_RC(bt_bind(fd, BT_NS, bt, HKV_BIND_REMOVE), -EINVAL);
	CHECK_RC(bt_bind(fd, BT_NS, 0, HKV_BIND_REMOVE), -ENOENT);
	{
		struct hkv_bind b = { .size = sizeof(b), .ns = BT_NS,
				      .fd = bt, .reserved = 1 };

		CHECK_RC(hkv_ioc(fd, HKV_IOC_BIND, &b), -EINVAL);
		b.reserved = 0;
		CHECK_RC(hkv_ioc(fd, _IOWR(HKV_IOC_MAGIC, 10, struct hkv_bind),
				 &b), -ENOTTY);
		CHECK_RC(hkv_ioc(fd, _IOC(_IOC_WRITE, HKV_IOC_MAGIC, 10, 16),
				 &b), -ENOTTY);
		b.size = 20;
		CHECK_RC(hkv_ioc(fd, HKV_IOC_BIND, &b), -EINVAL);
	}

	/* not bound yet: nothing is served with a path, all is without */
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -EXDEV);
	CHECK_RC(bt_bind(fd, BT_NS, bt, 0), 0);
	CHECK_RC(bt_bind(fd, BT_NS + 1, bt2, 0), 0);
	bt_served(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, "in bt");
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp//bt/./d/k", 8, 0), -EXDEV);
	bt_served(fd, BT_NS + 1, "d/k", "/tmp/bt2/d/k", 8, "in bt2");
	bt_served(fd, BT_NS, "d/k", NULL, 0, "in bt");

	/* the argument's own checks */
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "tmp/bt/d/k", 6, 0), -EINVAL);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 6, 0), -EINVAL);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 11, 0), -EINVAL);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 500, 0), -EINVAL);
	{
		struct hkv_open bad = { .size = sizeof(bad), .ns = BT_NS,
					.key_ptr = (uintptr_t)"d/k", .key_len = 3,
					.path_off = 7 };

		CHECK_RC(hkv_ioc(fd, HKV_IOC_OPEN, &bad), -EINVAL);
		bad.path_off = 0;
		bad.path_ptr = (uintptr_t)"/tmp/bt/d/k";
		CHECK_RC(hkv_ioc(fd, HKV_IOC_OPEN, &bad), -EINVAL);
		bad.path_ptr = 0;
		bad.mnt_fd = 3;
		CHECK_RC(hkv_ioc(fd, HKV_IOC_OPEN, &bad), -EINVAL);
		bad.mnt_fd = 0;
		bad.checks = 0x4;
		CHECK_RC(hkv_ioc(fd, HKV_IOC_OPEN, &bad), -EINVAL);
		bad.checks = 0;
		CHECK_RC(hkv_ioc(fd, HKV_IOC_OPEN, &bad) >= 0 ? 0 : -1, 0);
	}
	CHECK_RC(bt_open(fd, BT_NS, "d/k", (const char *)8, 0, 0), -EFAULT);
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[sizeof(big) - 1] = 0;
	CHECK_RC(bt_open(fd, BT_NS, "d/k", big, 0, 0), -ENAMETOOLONG);
	memset(&o, 0, sizeof(o));
	o = (struct hkv_open){ .size = sizeof(o), .ns = BT_NS,
			       .key_ptr = (uintptr_t)"d/k", .key_len = 3,
			       .path_ptr = (uintptr_t)"/tmp/bt/d/k",
			       .path_off = 7, .checks = HKV_OPEN_CHECK_PATH,
			       .reserved2 = 1 };
	CHECK_RC(hkv_ioc(fd, HKV_IOC_OPEN, &o), -EINVAL);

	/* paths that do not lead to the key */
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 0, 0), -EXDEV);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt2/d/k", 8, 0), -EXDEV);
	CHECK_RC(bt_open(fd, BT_NS + 1, "d/k", "/tmp/bt/d/k", 7, 0), -EXDEV);
	CHECK_RC(bt_open(fd, BT_NS + 2, "d/k", "/tmp/bt/d/k", 7, 0), -EXDEV);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/nope", 7, 0), -ENOENT);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d", 7, 0), -ENOENT);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k/x", 7, 0), -ENOTDIR);
	/* a symbolic link leads to another path of the filesystem */
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/l", 7, 0), -EXDEV);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/l", 7, O_NOFOLLOW), -ENOENT);
	/* a mount on top of a directory on the way */
	CHECK(mount("tmpfs", "/tmp/bt/d", "tmpfs", 0, NULL) == 0, "mount over");
	bt_file("/tmp/bt/d/k", "over");
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -EXDEV);
	CHECK(umount("/tmp/bt/d") == 0, "umount over");
	bt_served(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, "in bt");
	/* a mount on top of the whole filesystem, then stacked twice */
	CHECK(mount("tmpfs", "/tmp/bt", "tmpfs", 0, NULL) == 0, "mount on top");
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -ENOENT);
	CHECK(mount("/tmp/bt2", "/tmp/bt", NULL, MS_BIND, NULL) == 0, "stack");
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -EXDEV);
	CHECK(umount("/tmp/bt") == 0 && umount("/tmp/bt") == 0, "unstack");
	bt_served(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, "in bt");
	/* a bind mount of a subdirectory: the same files under other paths */
	CHECK(mount("/tmp/bt/d", "/tmp/bd", NULL, MS_BIND, NULL) == 0, "bind");
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bd/k", 7, 0), -EXDEV);
	CHECK(umount("/tmp/bd") == 0, "umount bind");
	/* another mount of the same filesystem: the same keys */
	CHECK(mount("/tmp/bt", "/tmp/bd", NULL, MS_BIND, NULL) == 0, "bind all");
	bt_served(fd, BT_NS, "d/k", "/tmp/bd/d/k", 7, "in bt");
	CHECK(umount("/tmp/bd") == 0, "umount bind all");

	/* the mountinfo check: a change is reported once, to the poller */
	{
		int mfd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		int other = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

		CHECK(mfd >= 0 && other >= 0, "open proc files");
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", mfd), 0);
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", mfd), 0);
		CHECK(mount("tmpfs", "/tmp/bd", "tmpfs", 0, NULL) == 0, "mount");
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", mfd), -EXDEV);
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", mfd), 0);
		CHECK(umount("/tmp/bd") == 0, "umount");
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", mfd), -EXDEV);
		CHECK_RC(bt_open_m(fd, BT_NS + 5, "d/k", mfd), -ENOENT);
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", other), -EBADFD);
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", bt), -EBADFD);
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", 999), -EBADFD);
		CHECK_RC(bt_open_m(fd, BT_NS, "d/k", -1), -EBADFD);
		close(other);
		close(mfd);
	}

	in_child(child_bind_chroot, &fd);
	in_child(child_bind_unshare, &fd);
	bt_served(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, "in bt");
	in_child(child_bind_user, &fd);
	CHECK(chmod("/tmp/bt/d", 0700) == 0, "chmod 700");
	in_child(child_bind_noexec, &fd);
	CHECK(chmod("/tmp/bt/d", 0755) == 0, "chmod 755");
	in_child(child_bind_user, &fd);

	/* binding again moves it */
	CHECK_RC(bt_bind(fd, BT_NS, bt2, 0), 0);
	CHECK_RC(bt_open(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, 0), -EXDEV);
	bt_served(fd, BT_NS, "d/k", "/tmp/bt2/d/k", 8, "in bt");
	CHECK_RC(bt_bind(fd, BT_NS, bt, 0), 0);
	/* removal, and the owner descriptor's close, end a binding */
	CHECK_RC(bt_bind(fd, BT_NS + 1, 0, HKV_BIND_REMOVE), 0);
	CHECK_RC(bt_bind(fd, BT_NS + 1, 0, HKV_BIND_REMOVE), -ENOENT);
	CHECK_RC(bt_open(fd, BT_NS + 1, "d/k", "/tmp/bt2/d/k", 8, 0), -EXDEV);
	CHECK_RC(bt_bind(fd2, BT_NS + 1, bt2, 0), 0);
	bt_served(fd, BT_NS + 1, "d/k", "/tmp/bt2/d/k", 8, "in bt2");
	close(fd2);
	CHECK_RC(bt_open(fd, BT_NS + 1, "d/k", "/tmp/bt2/d/k", 8, 0), -EXDEV);
	bt_served(fd, BT_NS, "d/k", "/tmp/bt/d/k", 7, "in bt");
	/* an unmounted filesystem: nothing leads to it any more */
	close(bt2);
	CHECK(umount("/tmp/bt2") == 0, "umount bt2");
	CHECK_RC(bt_open(fd, BT_NS + 1, "d/k", "/tmp/bt2/d/k", 8, 0), -ENOENT);
	close(bt);
	CHECK(unlink("/tmp/bt/l") == 0 && unlink("/tmp/bt/d/k") == 0, "unlink");
	CHECK(umount("/tmp/bt") == 0, "umount bt");
	CHECK_RC(hkv_clear_ns(fd, 1, BT_NS, NULL), 0);
	CHECK_RC(hkv_clear_ns(fd, 1, BT_NS + 1, NULL), 0);
	close(fd);
}

/* ----------------------------------------------------------------- fuzz */

static uint8_t *fz_page;	/* 1 mapped page followed by an unmapped one */
static uint8_t *fz_buf;

static uint64_t fz_ptr(uint64_t *seed)
{
	static const uint64_t bad[] = {
		0, 1, 8, 4095, 0xffffffffff600000ull, 0xffff888000000000ull,
		0xffffffff81000000ull, 0xffffc90000000000ull,
		0x00007ffffffff000ull, 0x8000000000000000ull, ~0ull,
	};
	uint64_t r = rnd_next(seed);

	switch (r % 6) {
	case 0:
		return bad[(r >> 8) % (sizeof(bad) / sizeof(bad[0]))];
	case 1:	/* ends at the guard page */
		return (uintptr_t)fz_page + 4096 - ((r >> 8) % 64);
	case 2:
		return rnd_next(seed);
	default:
		return (uintptr_t)fz_buf + (r >> 8) % 4096;
	}
}

static uint32_t fz_len(uint64_t *seed)
{
	static const uint32_t edge[] = { 0, 1, 7, 8, 63, 64, 1023, 1024, 1025,
					 4095, 4096, 4097, 65536, 0x7fffffff,
					 0x80000000u, 0xffffffffu };
	uint64_t r = rnd_next(seed);

	if (r % 2)
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	return (r >> 8) % 2048;
}

/* The commands of the device and their smallest accepted sizes. */
static const struct {
	unsigned int cmd;
	uint32_t ver0;
} fz_cmds[] = {
	{ HKV_IOC_GET, HKV_GET_SIZE_VER0 },
	{ HKV_IOC_OPEN, HKV_OPEN_SIZE_VER0 },
	{ HKV_IOC_PUT, HKV_PUT_SIZE_VER0 },
	{ HKV_IOC_DEL, HKV_DEL_SIZE_VER0 },
	{ HKV_IOC_CLEAR, HKV_CLEAR_SIZE_VER0 },
	{ HKV_IOC_STAT, HKV_STAT_SIZE_VER0 },
	{ HKV_IOC_POLICY, HKV_POLICY_SIZE_VER0 },
	{ HKV_IOC_OWNER, HKV_OWNER_SIZE_VER0 },
	{ HKV_IOC_EVENTS, HKV_EVENTS_SIZE_VER0 },
	{ HKV_IOC_BIND, HKV_BIND_SIZE_VER0 },
};
#define FZ_NCMDS (sizeof(fz_cmds) / sizeof(fz_cmds[0]))

/* Whether the module must dispatch @cmd (else it must answer ENOTTY). */
static bool fz_is_command(unsigned long cmd)
{
	size_t i;

	for (i = 0; i < FZ_NCMDS; i++)
		if (_IOC_TYPE(cmd) == HKV_IOC_MAGIC &&
		    _IOC_NR(cmd) == _IOC_NR(fz_cmds[i].cmd) &&
		    _IOC_DIR(cmd) == _IOC_DIR(fz_cmds[i].cmd) &&
		    _IOC_SIZE(cmd) >= fz_cmds[i].ver0 && _IOC_SIZE(cmd) <= 4096)
			return true;
	return false;
}

static void fz_run(uint64_t seed, int iters)
{
	static const uint32_t sizes[] = { 8, 16, 24, 32, 40, 72, 80, 88, 96, 120 };
	int fd = dev_open(), fds0 = count_fds(), i;
	uint64_t dispatched = 0, refused = 0;
	uint64_t arg[520];

	/* A subscribed descriptor would block in read(). */
	fcntl(fd, F_SETFL, O_NONBLOCK);

	for (i = 0; i < iters; i++) {
		uint64_t r = rnd_next(&seed), cmd;
		void *argp;
		size_t w;
		int rc;

		switch ((r >> 8) % 8) {
		case 0:
			cmd = rnd_next(&seed) & 0xffffffffu;
			break;
		case 1:
			cmd = _IOC((r >> 16) % 4, HKV_IOC_MAGIC, (r >> 20) % 16,
				   (r >> 24) % 16384);
			break;
		default: {
			/* A real command, or one with its direction or size off. */
			unsigned int base = fz_cmds[(r >> 16) % FZ_NCMDS].cmd;
			unsigned int dir = _IOC_DIR(base), sz = _IOC_SIZE(base);
			uint64_t m = rnd_next(&seed);

			if (m % 4 == 1 || m % 4 == 3)
				dir = (m >> 8) % 4;
			if (m % 4 == 2 || m % 4 == 3)
				sz = (m >> 16) % 2 ? sizes[(m >> 24) % 10] :
						     fz_len(&seed) % 16384;
			cmd = _IOC(dir, HKV_IOC_MAGIC, _IOC_NR(base), sz);
			break;
		}
		}
		/* A structure of random words with meaningful fields mixed in. */
		for (w = 0; w < sizeof(arg) / 8; w++)
			arg[w] = (rnd_next(&seed) % 4) ? 0 : rnd_next(&seed);
		{
			uint32_t sz = (r % 3) ? _IOC_SIZE(cmd) :
				      (r % 5 ? fz_len(&seed) : 4096);

			memcpy(arg, &sz, sizeof(sz));
		}
		for (w = 1; w < 10; w++) {
			uint64_t s = rnd_next(&seed);

			if (s % 3 == 0)
				arg[w] = fz_ptr(&seed);
			else if (s % 3 == 1)
				arg[w] = ((uint64_t)fz_len(&seed) << 32) |
					 fz_len(&seed);
		}
		switch ((r >> 32) % 10) {
		case 0:
			argp = (void *)(uintptr_t)fz_ptr(&seed);
			break;
		case 1: /* structure straddling the guard page */
			argp = fz_page + 4096 - 8 - 8 * ((r >> 40) % 8);
			memcpy(argp, arg, fz_page + 4096 - (uint8_t *)argp);
			break;
		default:
			argp = arg;
			break;
		}
		rc = ioctl(fd, cmd, argp);
		if (_IOC_TYPE(cmd) == HKV_IOC_MAGIC) {
			bool is_cmd = fz_is_command(cmd);

			CHECK(is_cmd != (rc < 0 && errno == ENOTTY),
			      "cmd 0x%llx (dir %u nr %u size %u): rc %d %s",
			      (unsigned long long)cmd, (unsigned int)_IOC_DIR(cmd),
			      (unsigned int)_IOC_NR(cmd),
			      (unsigned int)_IOC_SIZE(cmd), rc, rc < 0 ? strerror(errno) : "");
			if (is_cmd)
				dispatched++;
			else
				refused++;
		}
		if (rc > 0 && _IOC_TYPE(cmd) == HKV_IOC_MAGIC &&
		    _IOC_NR(cmd) == _IOC_NR(HKV_IOC_OPEN)) {
			char b[64];

			(void)!read(rc, b, sizeof(b));
			close(rc);
		}
		if (i % 97 == 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			(void)!read(fd, (void *)(uintptr_t)fz_ptr(&seed),
				    fz_len(&seed) % 8192);
			(void)!poll(&pfd, 1, 0);
		}
		if (i % 1000 == 0) /* no lost or leaked descriptors */
			CHECK(count_fds() == fds0, "fd count %d -> %d at %d",
			      fds0, count_fds(), i);
	}
	CHECK(count_fds() == fds0, "fd leak");
	/* Both kinds were exercised, in earnest. */
	CHECK(dispatched > (uint64_t)iters / 4 && refused > (uint64_t)iters / 8,
	      "dispatched %llu refused %llu", (unsigned long long)dispatched,
	      (unsigned long long)refused);
	close(fd);
}

static void child_fuzz(void *arg)
{
	become(1000, 1000, 0, NULL);
	fz_run(*(uint64_t *)arg, 20000);
}

static void test_fuzz(void)
{
	uint64_t seed = 0xf00dull;
	int fd;
	char buf[16];
	struct hkv_stat st;

	fz_page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(fz_page != MAP_FAILED, "mmap");
	CHECK(munmap(fz_page + 4096, 4096) == 0, "munmap guard");
	fz_buf = malloc(8192);
	memset(fz_buf, 'f', 8192);
	fz_run(1234, 60000);
	in_child(child_fuzz, &seed);
	/* Still consistent and working. */
	fd = dev_open();
	st = hkv_stat_get(fd);
	CHECK(st.items <= st.max_items && st.bytes <= st.max_bytes,
	      "limits after fuzz");
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	st = hkv_stat_get(fd);
	CHECK(st.items == 0 && st.bytes == 0, "clear after fuzz");
	CHECK_RC(hkv_policy_set(fd, HKV_POLICY_LRU, NULL), 0);
	CHECK_RC(hkv_put_s(fd, 1, "after", "fuzz", 1), 0);
	CHECK_RC(hkv_get_s(fd, 1, "after", buf, sizeof(buf), NULL), 0);
	CHECK(!memcmp(buf, "fuzz", 4), "value after fuzz");
	CHECK_RC(hkv_clear_ns(fd, 0, 0, NULL), 0);
	close(fd);
}

/* ----------------------------------------------------------------- busy */

static int try_rmmod(void)
{
	return syscall(SYS_delete_module, "hkv", O_NONBLOCK) ? -errno : 0;
}

/* rmmod must fail while /dev/hkv or a snapshot is open, then succeed. */
static void test_busy(void)
{
	int fd = dev_open(), sfd, rc;

	CHECK_RC(hkv_put_s(fd, 1, "busy", "value", 1), 0);
	sfd = hkv_open_b(fd, 1, "busy", 4, 0);
	CHECK(sfd >= 0, "open snapshot");
	rc = try_rmmod();
	/* Linux 6.1 answers a module in use with EWOULDBLOCK (== EAGAIN). */
	CHECK(rc == -EAGAIN, "rmmod with device open: %d", rc);
	close(fd);
	rc = try_rmmod();
	CHECK(rc == -EAGAIN, "rmmod with snapshot open: %d", rc);
	{
		char b[8];

		CHECK(pread(sfd, b, 8, 0) == 5 && !memcmp(b, "value", 5),
		      "snapshot readable");
	}
	close(sfd);
	/* The snapshot's file is released by task work on close: done here. */
	CHECK_RC(try_rmmod(), 0);
	CHECK(access(HKV_DEV, F_OK) != 0, "device gone after unload");
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(c, "abi"))
		test_abi();
	else if (!strcmp(c, "perms"))
		test_perms();
	else if (!strcmp(c, "expiry"))
		test_expiry();
	else if (!strcmp(c, "evict"))
		test_evict();
	else if (!strcmp(c, "skew"))
		test_skew();
	else if (!strcmp(c, "stress"))
		test_stress(argc > 2 ? atoi(argv[2]) : 4);
	else if (!strcmp(c, "fuzz"))
		test_fuzz();
	else if (!strcmp(c, "bind"))
		test_bind();
	else if (!strcmp(c, "busy"))
		test_busy();
	else if (!strcmp(c, "audit"))
		test_audit();
	else if (!strcmp(c, "unload-race") && argc > 3)
		test_unload_race(argv[2], atoi(argv[3]));
	else if (!strcmp(c, "runas") && argc > 4) {
		/* runas UID GID PROG ARGS...: for the shell-level checks */
		become(atoi(argv[2]), atoi(argv[3]), 0, NULL);
		execvp(argv[4], argv + 4);
		perror(argv[4]);
		return 127;
	}
	else {
		fprintf(stderr, "usage: %s abi|perms|audit|expiry|evict|skew|stress [s]|bind|fuzz|busy|unload-race KO N\n",
			argv[0]);
		return 2;
	}
	return 0;
}
