/* SPDX-License-Identifier: MIT */
/*
 * hotpath_common.h - helpers shared by the in-VM hot-path test and benchmark
 * (tests/hotpath/): clocks, the kernel cache's counters, and "was this descriptor served by
 * the kernel cache?" (a snapshot from /dev/hkv lives on another device than the FUSE mount).
 */
#ifndef HKV_HOTPATH_COMMON_H
#define HKV_HOTPATH_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/hkv.h>

static inline int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* HKV_IOC_STAT through a private descriptor (the shim's own is not ours to use). 0 or -errno. */
static inline int kc_stat(struct hkv_stat *st)
{
	int fd = open("/dev/hkv", O_RDONLY | O_CLOEXEC), rc = 0;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, HKV_IOC_STAT, st))
		rc = -errno;
	close(fd);
	return rc;
}

/* Cache hits so far, or 0 without the device. */
static inline uint64_t kc_hits(void)
{
	struct hkv_stat st;

	return kc_stat(&st) ? 0 : st.hits;
}

/* The device number of the file system at @mnt, or 0. */
static inline dev_t dev_of(const char *mnt)
{
	struct stat st;

	return stat(mnt, &st) ? 0 : st.st_dev;
}

/*
 * Was @fd served by the kernel cache rather than the mount with device @mdev? Asked with the
 * system call itself: the shim makes fstat() of a served descriptor answer with the FUSE
 * file's attributes, so only the kernel still tells them apart.
 */
static inline int served_by_cache(int fd, dev_t mdev)
{
	struct stat st;

	return !syscall(SYS_fstat, fd, &st) && st.st_dev != mdev;
}

/* xorshift64*: fixed-seed pseudo-random numbers, one state per thread. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
