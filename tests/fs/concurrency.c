// SPDX-License-Identifier: MIT
/*
 * concurrency.c - one writer rewrites MNT/conc/value (open O_TRUNC, 4 write(2) calls per
 * version, close) while readers read it whole: every read must be one complete version (never
 * empty, torn, mixed or half written), and never older than the last version whose close()
 * returned before the read's open() (no stale value after close).
 *
 * Usage: concurrency MNT SIZE [vary] [storeonly] [sock=PATH]
 *   SIZE      the length of each version (>= 32 bytes)
 *   vary      versions cycle through five lengths (the length changes too)
 *   storeonly no readers through the mount (cache=noopen, where this mount's page cache
 *             shows a writer's bytes as they are written, like a local filesystem)
 *   sock=PATH one more reader asks the store through the RESP socket: always a complete
 *             version, never older than the last closed one (the store never holds a
 *             half-written value)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hkv/ctlclient.h"

#define VERSIONS 400
#define READERS 3

static char path[4096];
static size_t vmax;
static bool vary, storeonly;
static const char *sock;
static atomic_long committed = -1;
static atomic_bool done;
static atomic_long bad;

static size_t vlen(long v)
{
	return vary ? vmax - (size_t)(v % 5) * (vmax / 8) : vmax;
}

/* version @v: "%08ld:%08zu:" then a pattern that depends on v and the position */
static size_t make(long v, char *buf)
{
	size_t i, n = vlen(v);
	char head[64];

	snprintf(head, sizeof(head), "%08ld:%08zu:", v % 100000000, n % 100000000);
	memcpy(buf, head, 18);
	for (i = 18; i < n; i++)
		buf[i] = (char)('a' + (v + i / 1000) % 26);
	return n;
}

static void *writer(void *arg)
{
	char *buf = malloc(vmax);
	long v;

	(void)arg;
	for (v = 0; v < VERSIONS; v++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), k;
		size_t n = make(v, buf), q = n / 4;

		if (fd < 0) {
			perror("open for write");
			atomic_fetch_add(&bad, 1);
			break;
		}
		for (k = 0; k < 4; k++) {
			size_t len = k == 3 ? n - 3 * q : q;

			if (write(fd, buf + k * q, len) != (ssize_t)len)
				atomic_fetch_add(&bad, 1);
		}
		if (close(fd) < 0)
			atomic_fetch_add(&bad, 1);
		atomic_store(&committed, v);
	}
	atomic_store(&done, true);
	free(buf);
	return NULL;
}

static void *reader(void *arg)
{
	char *buf = malloc(vmax + 16), *want = malloc(vmax);
	long reads = 0;

	(void)arg;
	while (!atomic_load(&done)) {
		long before = atomic_load(&committed), v;
		int fd = open(path, O_RDONLY);
		ssize_t n, got = 0;
		size_t wlen, i;

		if (fd < 0) {
			if (before >= 0) {
				perror("open after the first commit");
				atomic_fetch_add(&bad, 1);
			}
			continue;
		}
		while ((n = read(fd, buf + got, vmax + 16 - (size_t)got)) > 0)
			got += n;
		close(fd);
		if (got == 0 && before < 0)
			continue; /* the writer's create, before its first close */
		reads++;
		if (got < 18) {
			fprintf(stderr, "torn read: %zd bytes\n", got);
			atomic_fetch_add(&bad, 1);
			continue;
		}
		v = strtol(buf, NULL, 10);
		wlen = make(v, want);
		if ((size_t)got != wlen || memcmp(buf, want, wlen) != 0) {
			for (i = 0; i < wlen && (ssize_t)i < got && buf[i] == want[i]; i++)
				;
			fprintf(stderr, "version %ld: %zd bytes, expected %zu, differs at %zu\n", v,
				got, wlen, i);
			atomic_fetch_add(&bad, 1);
		}
		if (v < before) {
			fprintf(stderr, "stale: version %ld after %ld was closed\n", v, before);
			atomic_fetch_add(&bad, 1);
		}
	}
	free(buf);
	free(want);
	return (void *)reads;
}

/* reads the value through the RESP socket (the store, not the mount) */
static void *store_reader(void *arg)
{
	static const char get[] = "get", key[] = "conc/value";
	const void *av[2] = { get, key };
	size_t lens[2] = { 3, sizeof(key) - 1 }, wlen;
	char *want = malloc(vmax);
	long reads = 0, before, v;

	(void)arg;
	while (!atomic_load(&done)) {
		struct hkvfs_ctl_reply r;

		before = atomic_load(&committed);
		if (hkvfs_ctl_callv(sock, 2, av, lens, &r)) {
			fprintf(stderr, "RESP socket failed\n");
			atomic_fetch_add(&bad, 1);
			break;
		}
		if (r.status || (r.len == 0 && before < 0)) {
			if (before >= 0) {
				fprintf(stderr, "store: status %d after a commit\n", r.status);
				atomic_fetch_add(&bad, 1);
			}
			free(r.data);
			continue;
		}
		reads++;
		v = r.len >= 18 ? strtol(r.data, NULL, 10) : -1;
		wlen = v >= 0 ? make(v, want) : 0;
		if (v < 0 || r.len != wlen || memcmp(r.data, want, wlen) != 0) {
			fprintf(stderr, "store: half-written value (%zu bytes)\n", r.len);
			atomic_fetch_add(&bad, 1);
		} else if (v < before) {
			fprintf(stderr, "store: version %ld after %ld was closed\n", v, before);
			atomic_fetch_add(&bad, 1);
		}
		free(r.data);
	}
	free(want);
	return (void *)reads;
}

int main(int argc, char **argv)
{
	pthread_t w, r[READERS], sr;
	long total = 0;
	int i, nreaders;

	if (argc < 3)
		return 2;
	vmax = strtoul(argv[2], NULL, 10);
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "vary"))
			vary = true;
		else if (!strcmp(argv[i], "storeonly"))
			storeonly = true;
		else if (!strncmp(argv[i], "sock=", 5))
			sock = argv[i] + 5;
		else
			return 2;
	}
	if (vmax < 32 || vmax > (1u << 24))
		return 2;
	snprintf(path, sizeof(path), "%s/conc", argv[1]);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return 2;
	strcat(path, "/value");
	unlink(path);
	pthread_create(&w, NULL, writer, NULL);
	nreaders = storeonly ? 0 : READERS;
	if (storeonly && !sock)
		return 2;
	for (i = 0; i < nreaders; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	if (sock)
		pthread_create(&sr, NULL, store_reader, NULL);
	pthread_join(w, NULL);
	if (sock) {
		void *n;

		pthread_join(sr, &n);
		if (n == NULL) {
			fprintf(stderr, "no read through the RESP socket\n");
			atomic_fetch_add(&bad, 1);
		}
		total += (long)n;
	}
	for (i = 0; i < nreaders; i++) {
		void *n;

		pthread_join(r[i], &n);
		total += (long)n;
	}
	printf("%d versions of %zu bytes%s%s, %ld reads, %ld bad\n", VERSIONS, vmax,
	       vary ? " (varying)" : "", storeonly ? " (store only)" : "", total,
	       atomic_load(&bad));
	return atomic_load(&bad) || total == 0 ? 1 : 0;
}
