// SPDX-License-Identifier: MIT
/*
 * ctlclient.c - client side of the hkvfs control protocol.
 *
 * Wire format (all integers little-endian; docs/filesystem.md has the full specification):
 *
 *   request  | offset | size | field
 *            | 0      | 4    | argc (1..64)
 *            | 4      | 4    | len of argument 0, then its bytes; repeated argc times
 *   reply    | 0      | 4    | status: 0 or a negative errno (int32)
 *            | 4      | 4    | len of the body, then the body bytes
 *
 * One request per connection; the daemon closes the connection after the reply.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hkv/ctlclient.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int hkvfs_ctl_callv(const char *sock, int argc, const void *const *argv, const size_t *lens,
		    struct hkvfs_ctl_reply *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned char hdr[8];
	int fd, i, rc;
	uint32_t blen;

	reply->status = 0;
	reply->data = NULL;
	reply->len = 0;
	if (argc < 1 || argc > HKVFS_CTL_MAXARGS)
		return -EINVAL;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out_close;
	}
	put_u32(hdr, (uint32_t)argc);
	rc = write_all(fd, hdr, 4);
	for (i = 0; !rc && i < argc; i++) {
		if (lens[i] > HKVFS_CTL_MAXBODY) {
			rc = -E2BIG;
			break;
		}
		put_u32(hdr, (uint32_t)lens[i]);
		rc = write_all(fd, hdr, 4);
		if (!rc)
			rc = write_all(fd, argv[i], lens[i]);
	}
	if (rc)
		goto out_close;
	rc = read_all(fd, hdr, 8);
	if (rc)
		goto out_close;
	blen = get_u32(hdr + 4);
	if (blen > HKVFS_CTL_MAXBODY) {
		rc = -EPROTO;
		goto out_close;
	}
	reply->data = malloc((size_t)blen + 1);
	if (!reply->data) {
		rc = -ENOMEM;
		goto out_close;
	}
	rc = read_all(fd, reply->data, blen);
	if (rc) {
		free(reply->data);
		reply->data = NULL;
		goto out_close;
	}
	reply->data[blen] = 0;
	reply->len = blen;
	reply->status = (int32_t)get_u32(hdr);
out_close:
	close(fd);
	return rc;
}

int hkvfs_ctl_call(const char *sock, int argc, char **argv, FILE *out)
{
	const void *av[HKVFS_CTL_MAXARGS];
	size_t lens[HKVFS_CTL_MAXARGS];
	struct hkvfs_ctl_reply r;
	int i, rc;

	if (argc < 1 || argc > HKVFS_CTL_MAXARGS)
		return -EINVAL;
	for (i = 0; i < argc; i++) {
		av[i] = argv[i];
		lens[i] = strlen(argv[i]);
	}
	rc = hkvfs_ctl_callv(sock, argc, av, lens, &r);
	if (rc)
		return rc;
	if (r.status == 0 && out)
		fwrite(r.data, 1, r.len, out);
	else if (r.status)
		fprintf(stderr, "%s: %.*s\n", argv[0], (int)r.len, r.data);
	free(r.data);
	return r.status;
}
