/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hkv_vm_common.h - small helpers shared by the in-VM test and benchmark
 * programs (statically linked, run as PID 1's children inside the VM).
 */
#ifndef HKV_VM_COMMON_H
#define HKV_VM_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <linux/hkv.h>

#define HKV_DEV "/dev/hkv"

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "CHECK FAILED %s:%d: %s: ",	\
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			exit(1);					\
		}							\
	} while (0)

/* Expect an ioctl-style result: rc is 0 or -errno. */
#define CHECK_RC(rc, want)						\
	do {								\
		int rc__ = (rc), want__ = (want);			\
		CHECK(rc__ == want__, "got %d (%s), want %d (%s)", rc__,\
		      rc__ < 0 ? strerror(-rc__) : "ok", want__,	\
		      want__ < 0 ? strerror(-want__) : "ok");		\
	} while (0)

static inline int hkv_ioc(int fd, unsigned long cmd, void *arg)
{
	int rc = ioctl(fd, cmd, arg);

	return rc < 0 ? -errno : rc;
}

static inline uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline uint64_t now_ms(void)
{
	return now_ns(CLOCK_REALTIME) / 1000000ull;
}

/* xorshift64*: fixed seeds everywhere, never the clock. */
static inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline int hkv_put_full(int fd, uint64_t ns, const void *key,
			       uint32_t klen, const void *val, uint32_t vlen,
			       uint64_t version, uint64_t expire_ms,
			       uint32_t uid, uint32_t gid, uint32_t mode,
			       uint64_t ticket)
{
	struct hkv_put p = {
		.size = sizeof(p), .ns = ns,
		.key_ptr = (uintptr_t)key, .key_len = klen,
		.value_ptr = (uintptr_t)val, .value_len = vlen,
		.version = version, .expire_ms = expire_ms,
		.uid = uid, .gid = gid, .mode = mode, .inval_seq = ticket,
	};

	return hkv_ioc(fd, HKV_IOC_PUT, &p);
}

static inline int hkv_put_s(int fd, uint64_t ns, const char *key,
			    const char *val, uint64_t version)
{
	return hkv_put_full(fd, ns, key, strlen(key), val, strlen(val),
			    version, 0, 0, 0, 0644, 0);
}

static inline int hkv_get_b(int fd, uint64_t ns, const void *key,
			    uint32_t klen, void *buf, uint32_t blen,
			    struct hkv_get *out)
{
	struct hkv_get g = {
		.size = sizeof(g), .ns = ns,
		.key_ptr = (uintptr_t)key, .key_len = klen,
		.buf_ptr = (uintptr_t)buf, .buf_len = blen,
	};
	int rc = hkv_ioc(fd, HKV_IOC_GET, &g);

	if (out)
		*out = g;
	return rc;
}

static inline int hkv_get_s(int fd, uint64_t ns, const char *key, void *buf,
			    uint32_t blen, struct hkv_get *out)
{
	return hkv_get_b(fd, ns, key, strlen(key), buf, blen, out);
}

static inline int hkv_open_b(int fd, uint64_t ns, const void *key,
			     uint32_t klen, uint32_t flags)
{
	struct hkv_open o = {
		.size = sizeof(o), .ns = ns, .flags = flags,
		.key_ptr = (uintptr_t)key, .key_len = klen,
	};

	return hkv_ioc(fd, HKV_IOC_OPEN, &o);
}

static inline int hkv_del_b(int fd, uint64_t ns, const void *key,
			    uint32_t klen, uint64_t version)
{
	struct hkv_del d = {
		.size = sizeof(d), .ns = ns,
		.key_ptr = (uintptr_t)key, .key_len = klen, .version = version,
	};

	return hkv_ioc(fd, HKV_IOC_DEL, &d);
}

static inline int hkv_clear_ns(int fd, int one, uint64_t ns, uint64_t *removed)
{
	struct hkv_clear c = {
		.size = sizeof(c), .flags = one ? HKV_CLEAR_NS : 0,
		.ns = one ? ns : 0,
	};
	int rc = hkv_ioc(fd, HKV_IOC_CLEAR, &c);

	if (removed)
		*removed = c.removed;
	return rc;
}

static inline struct hkv_stat hkv_stat_get(int fd)
{
	struct hkv_stat st = { .size = sizeof(st) };
	int rc = hkv_ioc(fd, HKV_IOC_STAT, &st);

	CHECK(rc == 0, "STAT: %s", strerror(-rc));
	return st;
}

static inline int hkv_policy_set(int fd, uint32_t policy, uint32_t *old)
{
	struct hkv_policy p = { .size = sizeof(p), .policy = policy };
	int rc = hkv_ioc(fd, HKV_IOC_POLICY, &p);

	if (old)
		*old = p.policy;
	return rc;
}

#endif /* HKV_VM_COMMON_H */
