// SPDX-License-Identifier: MIT
/*
 * hkv-server.c - the standalone RESP server for a data directory: the command layer
 * (hkv/server.h) over a store opened with the engine, no mount needed.
 *
 * Usage, as redis-server's:
 *
 *   hkv-server [CONFIG_FILE] [--KEY VALUE...]
 *
 * The configuration file holds one "KEY VALUE..." per line ('#' starts a comment); options
 * on the command line come after it and override it. Keys: port, bind (one or more
 * addresses), unixsocket, unixsocketperm (octal), dir, requirepass, appendfsync
 * (always|everysec|no), maxclients, timeout (seconds, 0 = never), protected-mode (yes|no),
 * notify-keyspace-events, hz; an unknown key or a bad value of these is an error: a message
 * naming it on stderr and exit status 1, before anything is opened. Every other parameter of
 * CONFIG SET (maxmemory, maxmemory-policy, slowlog-log-slower-than...; several values are
 * joined with spaces, as redis-server does) is applied as CONFIG SET would, in order, once
 * the server exists and before it listens: a value CONFIG SET refuses stops the server with
 * CONFIG SET's error and exit status 1, before any client is served. A parameter CONFIG SET
 * may not change (daemonize, databases, logfile...) is accepted with the value in use, and
 * refused with any other (hkv_server_config_start()).

 *
 * The store (DIR, default ".") is opened with the engine's sync policy "none": the server
 * decides when a write is acknowledged (appendfsync): "always" flushes once per event-loop
 * iteration for every client written for before their replies are sent; "everysec" flushes
 * once a second; "no" leaves it to the operating system. A process crash loses nothing
 * acknowledged under any of them (the engine writes every change to the kernel before it
 * returns).
 *
 * SIGTERM and SIGINT stop accepting, let the loop send pending replies, close the store and
 * exit 0. The exit status is 1 when the store cannot be opened or a socket cannot be bound.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hkv/engine.h>
#include <hkv/server.h>

#define LINE_MAX_ARGS 64

static struct hkv_server *the_server;

static void on_signal(int sig)
{
	(void)sig;
	if (the_server)
		hkv_server_stop(the_server);
}

/* Parameters left to CONFIG SET (hkv_server_config_set()), in the order given. */
struct deferred {
	char *key, *val, *where;
};

static struct deferred *deferred;
static size_t ndeferred;

/* Strings the configuration points at live until main() returns (kept_free()). */
static char **kept;
static size_t nkept;

static char *keep(const char *s)
{
	char **v = realloc(kept, (nkept + 1) * sizeof(*v));
	char *p = strdup(s);

	if (!v || !p) {
		fprintf(stderr, "hkv-server: out of memory\n");
		exit(1);
	}
	kept = v;
	kept[nkept++] = p;
	return p;
}

static void kept_free(void)
{
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	kept = NULL;
	nkept = 0;
	free(deferred);
	deferred = NULL;
	ndeferred = 0;
}

/* Keep "KEY VALUE..." for CONFIG SET, the values joined with single spaces. */
static void defer(const char *where, const char *key, int n, char **val)
{
	struct deferred *v = realloc(deferred, (ndeferred + 1) * sizeof(*v));
	size_t len = 1;
	char *s;

	if (!v) {
		fprintf(stderr, "hkv-server: out of memory\n");
		exit(1);
	}
	deferred = v;
	for (int i = 0; i < n; i++)
		len += strlen(val[i]) + 1;
	s = malloc(len);
	if (!s) {
		fprintf(stderr, "hkv-server: out of memory\n");
		exit(1);
	}
	*s = 0;
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, val[i]);
	}
	v[ndeferred].key = keep(key);
	v[ndeferred].val = keep(s);
	v[ndeferred].where = keep(where);
	ndeferred++;
	free(s);
}

/* CONFIG SET each deferred parameter. Return: 0, or -1 after a message naming it. */
static int apply_deferred(struct hkv_server *srv)
{
	char err[1024];

	for (size_t i = 0; i < ndeferred; i++) {
		if (hkv_server_config_start(srv, deferred[i].key, deferred[i].val, err,
					    sizeof(err))) {
			fprintf(stderr, "hkv-server: %s: %s\n", deferred[i].where, err);
			return -1;
		}
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long max, int base, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_yesno(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes"))
		*out = true;
	else if (!strcasecmp(s, "no"))
		*out = false;
	else
		return -1;
	return 0;
}

/*
 * Apply one option @key with its @n values to @cfg. @dir receives "dir". Returns 0, or -1
 * after printing what is wrong (@where names the file and line, or "command line").
 */
static int apply(struct hkv_server_config *cfg, const char **dir, const char *where,
		 const char *key, int n, char **val)
{
	unsigned long u;

	if (n < 1)
		goto missing;
	if (!strcasecmp(key, "port")) {
		if (parse_uint(val[0], 65535, 10, &u))
			goto bad;
		cfg->port = (int)u;
	} else if (!strcasecmp(key, "bind")) {
		if (n > HKV_SERVER_BIND_MAX)
			goto bad;
		for (int i = 0; i < n; i++)
			cfg->bind[i] = keep(val[i]);
		cfg->nbind = n;
	} else if (!strcasecmp(key, "unixsocket")) {
		cfg->unixsocket = *val[0] ? keep(val[0]) : NULL;
	} else if (!strcasecmp(key, "unixsocketperm")) {
		if (parse_uint(val[0], 07777, 8, &u))
			goto bad;
		cfg->unixsocketperm = (uint32_t)u;
	} else if (!strcasecmp(key, "dir")) {
		*dir = keep(val[0]);
	} else if (!strcasecmp(key, "requirepass")) {
		cfg->requirepass = *val[0] ? keep(val[0]) : NULL;
	} else if (!strcasecmp(key, "appendfsync")) {
		if (!strcasecmp(val[0], "always"))
			cfg->flush = HKV_FLUSH_ALWAYS;
		else if (!strcasecmp(val[0], "everysec"))
			cfg->flush = HKV_FLUSH_EVERYSEC;
		else if (!strcasecmp(val[0], "no"))
			cfg->flush = HKV_FLUSH_NO;
		else
			goto bad;
	} else if (!strcasecmp(key, "maxclients")) {
		if (parse_uint(val[0], 1000000, 10, &u) || u == 0)
			goto bad;
		cfg->maxclients = (uint32_t)u;
	} else if (!strcasecmp(key, "timeout")) {
		if (parse_uint(val[0], UINT32_MAX, 10, &u))
			goto bad;
		cfg->timeout = (uint32_t)u;
	} else if (!strcasecmp(key, "protected-mode")) {
		if (parse_yesno(val[0], &cfg->protected_mode))
			goto bad;
	} else if (!strcasecmp(key, "notify-keyspace-events")) {
		cfg->notify_keyspace_events = keep(val[0]);
	} else if (!strcasecmp(key, "hz")) {
		if (parse_uint(val[0], 500, 10, &u) || u == 0)
			goto bad;
		cfg->hz = (uint32_t)u;
	} else if (hkv_server_config_known(key)) {
		defer(where, key, n, val);
		return 0;
	} else {
		fprintf(stderr, "hkv-server: %s: unknown option '%s'\n", where, key);
		return -1;
	}
	if (n > 1 && strcasecmp(key, "bind")) {
		fprintf(stderr, "hkv-server: %s: '%s' takes one value\n", where, key);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "hkv-server: %s: bad value '%s' for '%s'\n", where, val[0], key);
	return -1;
missing:
	fprintf(stderr, "hkv-server: %s: '%s' needs a value\n", where, key);
	return -1;
}

/* Split @line into words; "double quotes" group (no escapes). Returns the count or -1. */
static int split(char *line, char **w, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == max)
			return -1;
		if (*p == '"') {
			char *e = strchr(++p, '"');

			if (!e)
				return -1;
			*e = 0;
			w[n++] = p;
			p = e + 1;
			continue;
		}
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p)
			*p++ = 0;
	}
}

static int read_config(const char *path, struct hkv_server_config *cfg, const char **dir)
{
	char line[8192], where[PATH_MAX + 32], *w[LINE_MAX_ARGS];
	FILE *f = fopen(path, "r");
	int lineno = 0, n;

	if (!f) {
		fprintf(stderr, "hkv-server: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		n = split(line, w, LINE_MAX_ARGS);
		if (n < 0) {
			fprintf(stderr, "hkv-server: %s: cannot parse the line\n", where);
			fclose(f);
			return -1;
		}
		if (n && apply(cfg, dir, where, w[0], n - 1, w + 1)) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: hkv-server [CONFIG_FILE] [--KEY VALUE...]\n"
		   "Serves the store in --dir (default .) over RESP, as redis-server.\n"
		   "Keys: port bind unixsocket unixsocketperm dir requirepass appendfsync\n"
		   "      maxclients timeout protected-mode notify-keyspace-events hz,\n"
		   "      and every other parameter of CONFIG SET (maxmemory...)\n");
}

int main(int argc, char **argv)
{
	struct hkv_server_config cfg;
	struct hkv_options opt;
	struct sigaction sa;
	const char *dir = ".";
	struct hkv *db;
	int i = 1, rc;

	hkv_server_config_init(&cfg);
	atexit(kept_free);
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strncmp(argv[1], "--", 2)) {
		if (read_config(argv[1], &cfg, &dir))
			return 1;
		i = 2;
	}
	while (i < argc) {
		int n = 0;

		if (strncmp(argv[i], "--", 2) || !argv[i][2]) {
			fprintf(stderr, "hkv-server: expected --KEY, got '%s'\n", argv[i]);
			usage(stderr);
			return 1;
		}
		while (i + 1 + n < argc && strncmp(argv[i + 1 + n], "--", 2))
			n++;
		if (apply(&cfg, &dir, "command line", argv[i] + 2, n, argv + i + 1))
			return 1;
		i += 1 + n;
	}

	hkv_options_init(&opt);
	opt.sync = HKV_SYNC_NONE; /* the server acknowledges per appendfsync */
	rc = hkv_open(dir, &opt, &db);
	if (rc) {
		fprintf(stderr, "hkv-server: cannot open the store in %s: %s\n", dir,
			hkv_strerror(rc));
		return 1;
	}
	cfg.dir = dir;
	rc = hkv_server_new(db, &cfg, &the_server);
	if (!rc)
		rc = hkv_server_add_hkvfs(the_server, db, NULL);
	if (!rc && apply_deferred(the_server)) {
		hkv_server_free(the_server);
		hkv_close(db);
		return 1;
	}
	if (!rc) {
		hkv_set_watch(db, hkv_server_watch, the_server);
		rc = hkv_server_listen(the_server);
	}
	if (rc) {
		fprintf(stderr, "hkv-server: %s\n", strerror(-rc));
		hkv_server_free(the_server);
		hkv_close(db);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = hkv_server_run(the_server);
	hkv_set_watch(db, NULL, NULL);
	hkv_server_free(the_server);
	the_server = NULL;
	if (hkv_close(db))
		rc = rc ? rc : -EIO;
	return rc ? 1 : 0;
}
