// SPDX-License-Identifier: MIT
/*
 * mount_hkvfs.c - mount.hkvfs, the helper mount(8) runs for `mount -t hkvfs` and fstab lines:
 *
 *   mount.hkvfs DATA_DIR MOUNTPOINT [-sfnv] [-N NS] [-o opt,...] [-t type]
 *
 * It drops the options only mount(8) interprets (defaults, noauto, auto, _netdev, nofail,
 * user, users, nouser, owner, group, rw, comment=, x-*), validates the rest with the daemon's
 * own parser (an unknown or malformed option is an error with a message and exit status 1),
 * refuses `foreground` (mount would wait forever) and executes hkvfs without -f, so the
 * daemon forks and mount returns once the file system is usable. The daemon's exit status is
 * the helper's.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"

static void usage(void)
{
	fprintf(stderr, "usage: mount.hkvfs DATA_DIR MOUNTPOINT [-sfnv] [-o opt[,opt...]]\n");
}

static int append(char *dst, size_t sz, const char *opt, size_t len)
{
	size_t cur = strlen(dst);

	if (cur + len + 2 > sz)
		return -1;
	if (cur)
		dst[cur++] = ',';
	memcpy(dst + cur, opt, len);
	dst[cur + len] = 0;
	return 0;
}

int main(int argc, char **argv)
{
	static char opts[8192], kept[8192];
	char self[PATH_MAX], daemon[PATH_MAX + 16], err[512];
	bool fake = false, verbose = false, sloppy = false;
	struct hkvfs_opts o;
	const char *pos[2];
	int npos = 0, i;
	ssize_t n;
	char *tok, *save = NULL;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			if (npos == 2) {
				usage();
				return 1;
			}
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "-o") == 0 || strcmp(a, "-N") == 0 || strcmp(a, "-t") == 0) {
			if (++i == argc) {
				usage();
				return 1;
			}
			if (a[1] == 'o' && append(opts, sizeof(opts), argv[i], strlen(argv[i]))) {
				fprintf(stderr, "mount.hkvfs: options too long\n");
				return 1;
			}
			if (a[1] == 'N') {
				fprintf(stderr, "mount.hkvfs: -N (namespaces) is not supported\n");
				return 1;
			}
			continue;
		}
		for (a++; *a; a++) {
			switch (*a) {
			case 's':
				sloppy = true;
				break;
			case 'f':
				fake = true;
				break;
			case 'n':
				break;
			case 'v':
				verbose = true;
				break;
			default:
				fprintf(stderr, "mount.hkvfs: unknown flag -%c\n", *a);
				usage();
				return 1;
			}
		}
	}
	if (npos != 2) {
		usage();
		return 1;
	}
	for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (hkvfs_opt_mount_only(tok, strlen(tok)))
			continue;
		if (strcmp(tok, "foreground") == 0) {
			fprintf(stderr, "mount.hkvfs: option 'foreground' would make mount wait "
					"forever; run 'hkvfs -f DATA_DIR MOUNTPOINT' instead\n");
			return 1;
		}
		hkvfs_opts_init(&o);
		if (hkvfs_opts_parse(&o, tok, err, sizeof(err))) {
			if (sloppy) {
				fprintf(stderr, "mount.hkvfs: ignoring (-s): %s\n", err);
				continue;
			}
			fprintf(stderr, "mount.hkvfs: %s\n", err);
			return 1;
		}
		if (append(kept, sizeof(kept), tok, strlen(tok))) {
			fprintf(stderr, "mount.hkvfs: options too long\n");
			return 1;
		}
	}
	/* the daemon next to this helper (installed together), else the PATH */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	daemon[0] = 0;
	if (n > 0) {
		self[n] = 0;
		snprintf(daemon, sizeof(daemon), "%s/hkvfs", dirname(self));
		if (access(daemon, X_OK) != 0)
			daemon[0] = 0;
	}
	if (!daemon[0])
		snprintf(daemon, sizeof(daemon), "%s", access("/sbin/hkvfs", X_OK) == 0
						       ? "/sbin/hkvfs" : "hkvfs");
	if (verbose)
		fprintf(stderr, "mount.hkvfs: %s %s %s%s%s\n", daemon, pos[0], pos[1],
			kept[0] ? " -o " : "", kept);
	if (fake)
		return 0;
	{
		char *av[] = { daemon, (char *)pos[0], (char *)pos[1], kept[0] ? "-o" : NULL,
			       kept[0] ? kept : NULL, NULL };

		execvp(daemon, av);
	}
	fprintf(stderr, "mount.hkvfs: cannot run %s: %s\n", daemon, strerror(errno));
	return 1;
}
