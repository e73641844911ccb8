/* SPDX-License-Identifier: MIT */
/*
 * testcheck.h - what the C tests of tests/fs/ share: CHECK() counts and reports a failed
 * check without stopping the test (the test exits 1 when failures is non-zero), and, for a
 * test that defines TESTCHECK_HKVFS_LOG before including it, the daemon's hkvfs_log()
 * printing to stderr, and, for a threaded test that defines TESTCHECK_FAIL, fail(): the first
 * failure of any thread reported, `failed` set for every thread to see and stop, and
 * write_file()/read_file(): a whole value written or read through one descriptor, and rnd():
 * the xorshift64 step every fixed-seed test draws from. Include it
 * once per test binary, from its main source file.
 */
#ifndef HKVFS_TESTCHECK_H
#define HKVFS_TESTCHECK_H

#include <stdarg.h>
#include <stdio.h>

static int failures __attribute__((unused)); /* CHECK() counts here */

#define CHECK(c)                                                                    \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
			failures++;                                                 \
		}                                                                   \
	} while (0)

#ifdef TESTCHECK_HKVFS_LOG
void hkvfs_log(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
#endif

#ifdef TESTCHECK_FAIL
#include <stdatomic.h>
#include <stdbool.h>

static atomic_bool failed; /* fail() was called: every thread stops */

/* report the first failure of the test ("FAIL: ..."); later ones only count as failed */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (atomic_exchange(&failed, true))
		return;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

/* the next value of the xorshift64 generator whose state is *@s (never 0) */
static uint64_t __attribute__((unused)) rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* open(@path, O_WRONLY | @flags, 0644), write @len bytes, close: 0 or -errno (-EIO short) */
static int __attribute__((unused)) write_file(const char *path, const void *buf, size_t len,
					      int flags)
{
	int fd = open(path, O_WRONLY | flags, 0644), rc = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		rc = -errno;
	else if (n != (ssize_t)len)
		rc = -EIO;
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* read the whole file, up to @cap - 1 bytes, NUL-terminated: its length, or -errno */
static ssize_t __attribute__((unused)) read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -errno;
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	if (r < 0)
		n = (size_t)-errno;
	close(fd);
	return (ssize_t)n;
}
#endif

#endif /* HKVFS_TESTCHECK_H */
