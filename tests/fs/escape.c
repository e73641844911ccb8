// SPDX-License-Identifier: MIT
/*
 * escape.c - escaping round trips through a real mount (fixed seed): keys with random bytes
 * (every byte value) set through the RESP socket are read at hkv_pathmap_key_to_path()
 * under the mount; files created through the mount under escaped names are read back by key.
 * Usage: escape MNT SOCK
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hkv/ctlclient.h"
#include "hkv/pathmap.h"

static unsigned long long rng = 42;

static unsigned next(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(rng >> 33);
}

static int failures;

static int ctl(const char *sock, const char *verb, const void *k, size_t kl, const void *v,
	       size_t vl, struct hkvfs_ctl_reply *r)
{
	const void *av[3] = { verb, k, v };
	size_t lens[3] = { strlen(verb), kl, vl };

	return hkvfs_ctl_callv(sock, v ? 3 : 2, av, lens, r);
}

int main(int argc, char **argv)
{
	char path[16384], full[20000], buf[256];
	unsigned char key[200];
	struct hkvfs_ctl_reply r;
	int i, j;

	if (argc != 3)
		return 2;
	for (i = 0; i < 300; i++) {
		size_t len = (size_t)snprintf((char *)key, 16, "k%d/", i), n = 1 + next() % 30;
		ssize_t got;
		int fd;

		for (j = 0; j < (int)n; j++)
			key[len++] = next() % 3 == 0 ? (unsigned char)"/.%:"[next() % 4]
							: (unsigned char)next();
		if (ctl(argv[2], "set", key, len, "v", 1, &r) || r.status) {
			fprintf(stderr, "set failed\n");
			return 1;
		}
		free(r.data);
		if (hkv_pathmap_key_to_path(key, len, '/', path, sizeof(path)) < 0)
			return 1;
		snprintf(full, sizeof(full), "%s/%s", argv[1], path);
		fd = open(full, O_RDONLY);
		got = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
		if (fd >= 0)
			close(fd);
		if (got != 1 || buf[0] != 'v') {
			fprintf(stderr, "key %d not readable at '%s': %s\n", i, path,
				strerror(errno));
			failures++;
		}
	}
	/* files made through the mount: one component with any byte, read back by key */
	for (i = 0; i < 300; i++) {
		size_t len = 0, n = 1 + next() % 40;
		int fd;

		len = (size_t)snprintf((char *)key, 16, "f%d-", i);
		for (j = 0; j < (int)n; j++) {
			unsigned char b = (unsigned char)(next() & 255);

			key[len++] = b == '/' ? '%' : b;
		}
		if (hkv_pathmap_encode(key, len, '/', buf) < 0)
			continue;
		snprintf(full, sizeof(full), "%s/%s", argv[1], buf);
		fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "w", 1) != 1 || close(fd) < 0) {
			fprintf(stderr, "create '%s' failed: %s\n", buf, strerror(errno));
			failures++;
			continue;
		}
		if (ctl(argv[2], "get", key, len, NULL, 0, &r) || r.status || r.len != 1 ||
		    r.data[0] != 'w') {
			fprintf(stderr, "file '%s' not found by key\n", buf);
			failures++;
		}
		free(r.data);
	}
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
