/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - `hkvctl kernel ...`: the classic kvctl verbs against /dev/hkv.
 *
 *   hkvctl kernel [--device PATH] [--ns N] VERB [ARGS] [OPTIONS]
 *
 *   put KEY VALUE|-   [--uid N] [--gid N] [--mode OCTAL] [--ttl SECONDS |
 *                     --expire-at UNIX_MS] [--version N] [--ticket N]
 *   get KEY           [--meta]   value to stdout (HKV_IOC_GET)
 *   cat KEY                      value to stdout through HKV_IOC_OPEN
 *   del KEY           [--version N]
 *   stat                         counters and limits
 *   clear                        every entry, or only --ns N's
 *   policy [lru|lfu|fifo]        show or switch the eviction policy
 *
 * The device defaults to $HKV_DEVICE or /dev/hkv, the namespace to 0.  Keys
 * are the argument's bytes.  Writes need CAP_SYS_ADMIN (the hkvfs daemon
 * normally fills the cache; these verbs are for inspection and tests).
 *
 * Exit status: 0 success, 1 the operation failed (a key that is not cached
 * included), 2 bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <strings.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/hkv.h>

#include "kernel.h"

#define KEXIT_OK 0
#define KEXIT_FAIL 1
#define KEXIT_USAGE 2

struct kopts {
	const char *device;
	uint64_t ns;
	bool ns_set;
	uint32_t uid, gid, mode;
	uint64_t version, ticket, expire_ms, mtime_ns;
	bool meta;
};

static const char kernel_usage[] =
	"Usage: hkvctl kernel [--device PATH] [--ns N] VERB [ARGS] [OPTIONS]\n"
	"\n"
	"Inspect and drive the hkv.ko hot-value cache (/dev/hkv).\n"
	"\n"
	"Verbs:\n"
	"  put KEY VALUE|-   insert or replace a value (VALUE - reads stdin)\n"
	"        --uid N --gid N   owner (default: yours)\n"
	"        --mode OCTAL      permission bits (default 0644)\n"
	"        --ttl SECONDS     expire after SECONDS\n"
	"        --expire-at MS    expire at Unix time MS (milliseconds)\n"
	"        --version N       value version (default 0)\n"
	"        --ticket N        invalidation ticket (inval_seq from stat)\n"
	"        --mtime-ns N      the key's modification time, Unix ns (shown\n"
	"                          as the snapshot's st_mtime; default none)\n"
	"  get KEY [--meta]  print the value (--meta: its metadata instead)\n"
	"  cat KEY           print the value read through a snapshot descriptor\n"
	"  del KEY [--version N]  invalidate; N records a stale-version tombstone\n"
	"  stat              counters and limits\n"
	"  clear             drop every entry, or only those of --ns N\n"
	"  policy [lru|lfu|fifo]  show or switch the eviction policy\n"
	"\n"
	"Options:\n"
	"  --device PATH     the cache device (default $HKV_DEVICE or /dev/hkv)\n"
	"  --ns N            namespace id (default 0)\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 success, 1 failure (a key that is not cached included),\n"
	"2 bad command line.\n";

static const char *const policy_names[] = { "lru", "lfu", "fifo" };

static int kfail(const char *verb, const char *what, int err)
{
	const char *hint = "";

	switch (err) {
	case EPERM:
		hint = " (needs CAP_SYS_ADMIN or an owner descriptor)";
		break;
	case ESTALE:
		hint = " (version is not newer than the last invalidation)";
		break;
	case EFBIG:
		hint = " (larger than the module's max_value or max_bytes)";
		break;
	case ENOTTY:
		hint = " (not an hkv device, or the module is too old)";
		break;
	}
	if (what)
		fprintf(stderr, "hkvctl kernel %s: %s: %s%s\n", verb, what,
			strerror(err), hint);
	else
		fprintf(stderr, "hkvctl kernel %s: %s%s\n", verb, strerror(err),
			hint);
	return KEXIT_FAIL;
}

static int open_device(const struct kopts *o, const char *verb)
{
	int fd = open(o->device, O_RDWR | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fd = open(o->device, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == ENOENT || err == ENXIO || err == ENODEV)
			fprintf(stderr,
				"hkvctl kernel %s: %s: %s (is hkv.ko loaded? try "
				"'modprobe hkv' or 'insmod hkv.ko')\n",
				verb, o->device, strerror(err));
		else
			fprintf(stderr, "hkvctl kernel %s: %s: %s\n", verb,
				o->device, strerror(err));
		return -1;
	}
	return fd;
}

static bool parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*out = strtoull(s, &end, base);
	return !errno && !*end;
}

static bool parse_u32(const char *s, int base, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(s, base, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read all of stdin.  Return: 0 or -errno; *buf is malloc'd. */
static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *p = malloc(cap), *q;
	ssize_t r;

	if (!p)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap >= (64u << 20)) {
				free(p);
				return -EFBIG;
			}
			cap *= 2;
			q = realloc(p, cap);
			if (!q) {
				free(p);
				return -ENOMEM;
			}
			p = q;
		}
		r = read(fd, p + n, cap - n);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(p);
			return (int)r;
		}
		n += (size_t)r;
	}
	*buf = p;
	*len = n;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int verb_put(int fd, const struct kopts *o, const char *key,
		    const char *value)
{
	struct hkv_put p;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!strcmp(value, "-")) {
		rc = read_all(STDIN_FILENO, &buf, &len);
		if (rc)
			return kfail("put", "stdin", -rc);
	} else {
		len = strlen(value);
	}
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.ns = o->ns;
	p.key_ptr = (uintptr_t)key;
	p.key_len = (uint32_t)strlen(key);
	p.value_ptr = (uintptr_t)(buf ? buf : value);
	p.value_len = (uint32_t)len;
	p.version = o->version;
	p.expire_ms = o->expire_ms;
	p.uid = o->uid;
	p.gid = o->gid;
	p.mode = o->mode;
	p.inval_seq = o->ticket;
	p.mtime_ns = o->mtime_ns;
	if (len > UINT32_MAX)
		rc = -EFBIG;
	else
		rc = ioctl(fd, HKV_IOC_PUT, &p) ? -errno : 0;
	free(buf);
	return rc ? kfail("put", key, -rc) : KEXIT_OK;
}

static int verb_get(int fd, const struct kopts *o, const char *key)
{
	struct hkv_get g;
	char *buf = NULL;
	int rc, tries;

	memset(&g, 0, sizeof(g));
	g.size = sizeof(g);
	g.ns = o->ns;
	g.key_ptr = (uintptr_t)key;
	g.key_len = (uint32_t)strlen(key);
	/* Size query, then fetch; retry if the value grew in between. */
	for (tries = 0; tries < 8; tries++) {
		rc = ioctl(fd, HKV_IOC_GET, &g) ? -errno : 0;
		if (rc != -ERANGE)
			break;
		free(buf);
		buf = malloc(g.value_len ? g.value_len : 1);
		if (!buf)
			return kfail("get", key, ENOMEM);
		g.buf_ptr = (uintptr_t)buf;
		g.buf_len = g.value_len;
	}
	if (rc) {
		free(buf);
		return rc == -ENOENT ?
		       (fprintf(stderr, "hkvctl kernel get: %s: not cached\n",
				key), KEXIT_FAIL) :
		       kfail("get", key, -rc);
	}
	if (o->meta) {
		printf("key: %s\nns: %" PRIu64 "\nlength: %u\nversion: %" PRIu64
		       "\nmode: %04o\nuid: %u\ngid: %u\nexpire_ms: %" PRIu64
		       "\nmtime_ns: %" PRIu64 "\n",
		       key, o->ns, g.value_len, (uint64_t)g.version, g.mode,
		       g.uid, g.gid, (uint64_t)g.expire_ms, (uint64_t)g.mtime_ns);
	} else {
		rc = write_all(STDOUT_FILENO, buf, g.value_len);
		if (rc) {
			free(buf);
			return kfail("get", "stdout", -rc);
		}
	}
	free(buf);
	return KEXIT_OK;
}

static int verb_cat(int fd, const struct kopts *o, const char *key)
{
	struct hkv_open op;
	char buf[65536];
	ssize_t n;
	int sfd, rc = 0;

	memset(&op, 0, sizeof(op));
	op.size = sizeof(op);
	op.ns = o->ns;
	op.flags = O_CLOEXEC;
	op.key_ptr = (uintptr_t)key;
	op.key_len = (uint32_t)strlen(key);
	sfd = ioctl(fd, HKV_IOC_OPEN, &op);
	if (sfd < 0) {
		if (errno == ENOENT) {
			fprintf(stderr, "hkvctl kernel cat: %s: not cached\n", key);
			return KEXIT_FAIL;
		}
		return kfail("cat", key, errno);
	}
	while ((n = read(sfd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		rc = write_all(STDOUT_FILENO, buf, (size_t)n);
		if (rc)
			break;
	}
	close(sfd);
	return rc ? kfail("cat", key, -rc) : KEXIT_OK;
}

static int verb_del(int fd, const struct kopts *o, const char *key)
{
	struct hkv_del d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.ns = o->ns;
	d.key_ptr = (uintptr_t)key;
	d.key_len = (uint32_t)strlen(key);
	d.version = o->version;
	if (ioctl(fd, HKV_IOC_DEL, &d)) {
		if (errno == ENOENT) {
			fprintf(stderr, "hkvctl kernel del: %s: not cached%s\n",
				key, o->version ? " (tombstone recorded)" : "");
			return KEXIT_FAIL;
		}
		return kfail("del", key, errno);
	}
	return KEXIT_OK;
}

static int verb_stat(int fd)
{
	struct hkv_stat s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	if (ioctl(fd, HKV_IOC_STAT, &s))
		return kfail("stat", NULL, errno);
	printf("policy: %s\n",
	       s.policy < 3 ? policy_names[s.policy] : "unknown");
#define STAT_LINE(f) printf("%s: %" PRIu64 "\n", #f, (uint64_t)s.f)
	STAT_LINE(items);
	STAT_LINE(bytes);
	STAT_LINE(hits);
	STAT_LINE(misses);
	STAT_LINE(insertions);
	STAT_LINE(evictions);
	STAT_LINE(invalidations);
	STAT_LINE(expirations);
	STAT_LINE(stale);
	STAT_LINE(tombstones);
	STAT_LINE(inval_seq);
	STAT_LINE(max_items);
	STAT_LINE(max_bytes);
	STAT_LINE(max_value);
#undef STAT_LINE
	return KEXIT_OK;
}

static int verb_clear(int fd, const struct kopts *o)
{
	struct hkv_clear c;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	if (o->ns_set) {
		c.flags = HKV_CLEAR_NS;
		c.ns = o->ns;
	}
	if (ioctl(fd, HKV_IOC_CLEAR, &c))
		return kfail("clear", NULL, errno);
	printf("removed: %" PRIu64 "\n", (uint64_t)c.removed);
	return KEXIT_OK;
}

static int verb_policy(int fd, const char *name)
{
	struct hkv_policy p;
	uint32_t i = 0;

	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.policy = HKV_POLICY_QUERY;
	if (name) {
		for (i = 0; i < 3; i++)
			if (!strcasecmp(name, policy_names[i]))
				break;
		if (i == 3) {
			fprintf(stderr, "hkvctl kernel policy: '%s' is not one of "
				"lru, lfu, fifo\n", name);
			return KEXIT_USAGE;
		}
		p.policy = i;
	}
	if (ioctl(fd, HKV_IOC_POLICY, &p))
		return kfail("policy", name, errno);
	if (name)
		printf("%s (was %s)\n", policy_names[i],
		       p.policy < 3 ? policy_names[p.policy] : "unknown");
	else
		printf("%s\n", p.policy < 3 ? policy_names[p.policy] : "unknown");
	return KEXIT_OK;
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("hkvctl kernel: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'hkvctl kernel --help'.\n", stderr);
	return KEXIT_USAGE;
}

enum { OPT_DEVICE = 256, OPT_NS, OPT_UID, OPT_GID, OPT_MODE, OPT_TTL,
       OPT_EXPIRE_AT, OPT_VERSION, OPT_TICKET, OPT_META, OPT_MTIME };

static const struct option kernel_longopts[] = {
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "ns", required_argument, NULL, OPT_NS },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "expire-at", required_argument, NULL, OPT_EXPIRE_AT },
	{ "version", required_argument, NULL, OPT_VERSION },
	{ "ticket", required_argument, NULL, OPT_TICKET },
	{ "meta", no_argument, NULL, OPT_META },
	{ "mtime-ns", required_argument, NULL, OPT_MTIME },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int hkvctl_kernel_main(int argc, char **argv)
{
	struct kopts o = { 0 };
	const char *verb, *env;
	uint64_t ttl = 0;
	bool have_ttl = false, have_exp = false;
	int c, fd, rc, nargs;
	char **args;

	env = getenv("HKV_DEVICE");
	o.device = env && *env ? env : "/dev/hkv";
	o.uid = (uint32_t)getuid();
	o.gid = (uint32_t)getgid();
	o.mode = 0644;

	/*
	 * optind = 0 reinitializes GNU getopt (the caller used it too); it
	 * permutes, so options may come before or after the verb, and "--"
	 * ends them (for keys or values that start with '-').
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", kernel_longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(kernel_usage, stdout);
			return KEXIT_OK;
		case OPT_DEVICE:
			o.device = optarg;
			break;
		case OPT_NS:
			if (!parse_u64(optarg, 0, &o.ns))
				return usage_error("bad --ns '%s'", optarg);
			o.ns_set = true;
			break;
		case OPT_UID:
			if (!parse_u32(optarg, 10, &o.uid))
				return usage_error("bad --uid '%s'", optarg);
			break;
		case OPT_GID:
			if (!parse_u32(optarg, 10, &o.gid))
				return usage_error("bad --gid '%s'", optarg);
			break;
		case OPT_MODE:
			if (!parse_u32(optarg, 8, &o.mode) || o.mode > 07777)
				return usage_error("bad --mode '%s' (octal, at most 7777)",
						   optarg);
			break;
		case OPT_TTL:
			if (!parse_u64(optarg, 10, &ttl) || !ttl ||
			    ttl > UINT64_MAX / 2000)
				return usage_error("bad --ttl '%s' (seconds, > 0)", optarg);
			have_ttl = true;
			break;
		case OPT_EXPIRE_AT:
			if (!parse_u64(optarg, 10, &o.expire_ms) || !o.expire_ms)
				return usage_error("bad --expire-at '%s' (Unix ms)", optarg);
			have_exp = true;
			break;
		case OPT_VERSION:
			if (!parse_u64(optarg, 0, &o.version))
				return usage_error("bad --version '%s'", optarg);
			break;
		case OPT_TICKET:
			if (!parse_u64(optarg, 0, &o.ticket))
				return usage_error("bad --ticket '%s'", optarg);
			break;
		case OPT_META:
			o.meta = true;
			break;
		case OPT_MTIME:
			if (!parse_u64(optarg, 10, &o.mtime_ns))
				return usage_error("bad --mtime-ns '%s'", optarg);
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (have_ttl && have_exp)
		return usage_error("%s", "--ttl and --expire-at exclude each other");
	if (have_ttl)
		o.expire_ms = wall_ms() + ttl * 1000;

	args = argv + optind;
	nargs = argc - optind;
	if (nargs < 1) {
		fputs(kernel_usage, stderr);
		return KEXIT_USAGE;
	}
	verb = args[0];
	if (!strcmp(verb, "help")) {
		fputs(kernel_usage, stdout);
		return KEXIT_OK;
	}

#define WANT_ARGS(lo, hi)							\
	do {									\
		if (nargs - 1 < (lo) || nargs - 1 > (hi))			\
			return usage_error("wrong number of arguments for '%s'",\
					   verb);				\
	} while (0)

	if (!strcmp(verb, "put"))
		WANT_ARGS(2, 2);
	else if (!strcmp(verb, "get") || !strcmp(verb, "cat") ||
		 !strcmp(verb, "del"))
		WANT_ARGS(1, 1);
	else if (!strcmp(verb, "stat") || !strcmp(verb, "clear"))
		WANT_ARGS(0, 0);
	else if (!strcmp(verb, "policy"))
		WANT_ARGS(0, 1);
	else
		return usage_error("unknown verb '%s'", verb);
#undef WANT_ARGS
	if (nargs > 1 && !args[1][0])
		return usage_error("%s", "keys are never empty");
	if (!strcmp(verb, "policy") && nargs > 1 && strcasecmp(args[1], "lru") &&
	    strcasecmp(args[1], "lfu") && strcasecmp(args[1], "fifo"))
		return usage_error("policy '%s' is not one of lru, lfu, fifo",
				   args[1]);

	fd = open_device(&o, verb);
	if (fd < 0)
		return KEXIT_FAIL;
	if (!strcmp(verb, "put"))
		rc = verb_put(fd, &o, args[1], args[2]);
	else if (!strcmp(verb, "get"))
		rc = verb_get(fd, &o, args[1]);
	else if (!strcmp(verb, "cat"))
		rc = verb_cat(fd, &o, args[1]);
	else if (!strcmp(verb, "del"))
		rc = verb_del(fd, &o, args[1]);
	else if (!strcmp(verb, "stat"))
		rc = verb_stat(fd);
	else if (!strcmp(verb, "clear"))
		rc = verb_clear(fd, &o);
	else
		rc = verb_policy(fd, nargs > 1 ? args[1] : NULL);
	close(fd);
	return rc;
}
