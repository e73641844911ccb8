// SPDX-License-Identifier: MIT
/*
 * ctltest.c - send one command to an hkvfs daemon's RESP socket: ctltest SOCK CMD [ARG...].
 * An argument written "x:HEX" is sent as the bytes HEX encodes (binary-safe keys in tests).
 * Prints the reply flattened as redis-cli --raw does (hkv/ctlclient.h); exits 0, or 1 after an
 * error reply or a nil (printing the error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkv/ctlclient.h"

int main(int argc, char **argv)
{
	const void *av[HKVFS_CTL_MAXARGS];
	size_t lens[HKVFS_CTL_MAXARGS];
	void *owned[HKVFS_CTL_MAXARGS] = { 0 };
	struct hkvfs_ctl_reply r;
	int i, rc;

	if (argc < 3 || argc - 2 > HKVFS_CTL_MAXARGS) {
		fprintf(stderr, "usage: ctltest SOCK VERB [ARG...]\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		char *a = argv[i];

		if (strncmp(a, "x:", 2) == 0) {
			size_t n = strlen(a + 2) / 2, j;
			unsigned char *b = malloc(n + 1);

			if (!b) {
				fprintf(stderr, "ctltest: out of memory\n");
				return 2;
			}
			owned[i - 2] = b;
			for (j = 0; j < n; j++) {
				unsigned v;

				sscanf(a + 2 + 2 * j, "%2x", &v);
				b[j] = (unsigned char)v;
			}
			av[i - 2] = b;
			lens[i - 2] = n;
		} else {
			av[i - 2] = a;
			lens[i - 2] = strlen(a);
		}
	}
	rc = hkvfs_ctl_callv(argv[1], argc - 2, av, lens, &r);
	for (i = 0; i < argc - 2; i++)
		free(owned[i]);
	if (rc) {
		fprintf(stderr, "ctltest: %s\n", strerror(-rc));
		return 1;
	}
	fwrite(r.data, 1, r.len, stdout);
	if (r.status)
		fprintf(stderr, "ctltest: status %d: %s\n", r.status, r.data);
	free(r.data);
	return r.status ? 1 : 0;
}
