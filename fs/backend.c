// SPDX-License-Identifier: MIT
/*
 * backend.c - choosing the backend a mount source names (backend.h, "Choosing a backend").
 *
 * The table below is the one list of network backends: a source "SCHEME://..." is opened by
 * the constructor registered for that scheme; any other source is a store directory for the
 * local engine (be_local.c). A constructor that lives in a file the daemon may be built
 * without is declared weak in backend.h: its address is then NULL and the scheme is refused
 * with -EPROTONOSUPPORT, so fs/CMakeLists.txt alone decides which backends a build has.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"

static const struct {
	const char *scheme; /* without "://" */
	hkvfs_be_open_fn *open;
} be_types[] = {
	{ "redis", hkvfs_be_redis_open },
};

/* the length of "SCHEME" if @source starts with "SCHEME://" (RFC 3986 scheme characters) */
static size_t scheme_len(const char *source)
{
	size_t i;

	if (!((source[0] >= 'a' && source[0] <= 'z') || (source[0] >= 'A' && source[0] <= 'Z')))
		return 0;
	for (i = 1; source[i]; i++) {
		char c = source[i];

		if (c == ':')
			return strncmp(source + i, "://", 3) == 0 ? i : 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return 0;
}

int hkvfs_be_open(const char *source, const struct hkvfs_be_args *args, struct hkvfs_be **out)
{
	size_t n = scheme_len(source), i;
	char msg[256];

	if (!n)
		return hkvfs_be_local_open(source, args, out);
	for (i = 0; i < sizeof(be_types) / sizeof(be_types[0]); i++) {
		if (strlen(be_types[i].scheme) != n || strncasecmp(source, be_types[i].scheme, n))
			continue;
		if (be_types[i].open)
			return be_types[i].open(source, args, out);
		snprintf(msg, sizeof(msg), "%s:// sources are not supported by this build of hkvfs",
			 be_types[i].scheme);
		args->log(args->log_arg, 0, msg);
		return -EPROTONOSUPPORT;
	}
	snprintf(msg, sizeof(msg), "unknown source scheme %.*s:// (not a directory either)",
		 (int)(n > 64 ? 64 : n), source);
	args->log(args->log_arg, 0, msg);
	return -EPROTONOSUPPORT;
}

int hkvfs_be_source_prepare(const char *source, char *out, size_t outsz)
{
	char path[PATH_MAX];

	if (scheme_len(source)) {
		if (strlen(source) >= outsz)
			return -ENAMETOOLONG;
		strcpy(out, source);
		return 0;
	}
	if (mkdir(source, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (!realpath(source, path))
		return -errno;
	if (strlen(path) >= outsz)
		return -ENAMETOOLONG;
	strcpy(out, path);
	return 0;
}
