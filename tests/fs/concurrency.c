// SPDX-License-Identifier: MIT
/*
 * concurrency.c - one writer rewrites MNT/conc/value (4 write(2) calls per version) while
 * readers read it whole: every read must be one complete version (never torn or half
 * written), and never older than the last version whose close() returned before the read's
 * open() (no stale value after close). Usage: concurrency MNT
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

#define VLEN 6000
#define VERSIONS 400
#define READERS 3

static char path[4096];
static atomic_long committed = -1;
static atomic_bool done;
static atomic_long bad;

static void make(long v, char *buf)
{
	int i;

	snprintf(buf, 16, "%08ld", v);
	for (i = 8; i < VLEN; i++)
		buf[i] = (char)('a' + (v + i / 1000) % 26);
}

static void *writer(void *arg)
{
	char *buf = malloc(VLEN);
	long v;

	(void)arg;
	for (v = 0; v < VERSIONS; v++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), k;

		if (fd < 0) {
			perror("open for write");
			atomic_fetch_add(&bad, 1);
			break;
		}
		make(v, buf);
		for (k = 0; k < 4; k++)
			if (write(fd, buf + k * (VLEN / 4), VLEN / 4) != VLEN / 4)
				atomic_fetch_add(&bad, 1);
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
	char *buf = malloc(VLEN + 16), *want = malloc(VLEN);
	long reads = 0;

	(void)arg;
	while (!atomic_load(&done)) {
		long before = atomic_load(&committed), v;
		int fd = open(path, O_RDONLY);
		ssize_t n, got = 0;

		if (fd < 0)
			continue; /* before the first create */
		while ((n = read(fd, buf + got, VLEN + 16 - (size_t)got)) > 0)
			got += n;
		close(fd);
		if (got == 0 && before < 0)
			continue;
		reads++;
		if (got != VLEN) {
			fprintf(stderr, "torn read: %zd bytes\n", got);
			atomic_fetch_add(&bad, 1);
			continue;
		}
		v = strtol(buf, NULL, 10);
		make(v, want);
		if (memcmp(buf, want, VLEN) != 0) {
			fprintf(stderr, "mixed content in version %ld\n", v);
			atomic_fetch_add(&bad, 1);
		}
		if (v < before) {
			fprintf(stderr, "stale read: version %ld after %ld was closed\n", v, before);
			atomic_fetch_add(&bad, 1);
		}
	}
	free(buf);
	free(want);
	return (void *)reads;
}

int main(int argc, char **argv)
{
	pthread_t w, r[READERS];
	long total = 0;
	int i;

	if (argc != 2)
		return 2;
	snprintf(path, sizeof(path), "%s/conc", argv[1]);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return 2;
	strcat(path, "/value");
	pthread_create(&w, NULL, writer, NULL);
	for (i = 0; i < READERS; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	pthread_join(w, NULL);
	for (i = 0; i < READERS; i++) {
		void *n;

		pthread_join(r[i], &n);
		total += (long)n;
	}
	printf("%d versions, %ld reads, %ld bad\n", VERSIONS, total, atomic_load(&bad));
	return atomic_load(&bad) || total == 0 ? 1 : 0;
}
