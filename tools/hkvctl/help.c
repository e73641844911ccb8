/* SPDX-License-Identifier: MIT */
/*
 * help.c - `hkvctl --help`, `hkvctl help COMMAND`, `hkvctl COMMAND --help`, and the usage line
 * printed after a command line the table refused.
 *
 * hkvctl keeps no list of the store's commands: help asks the command table (COMMAND DOCS for
 * names, groups and summaries, COMMAND INFO for arity and key positions) on a server without a
 * store, so it needs no data directory and lists exactly what both doors accept. Only
 * hkvctl's own verbs (stat, compact, kernel, help) are described here.
 *
 * The usage line is derived from the arity and the key positions: "get KEY",
 * "set KEY ARG [ARG ...]", "mset KEY ARG [KEY ARG ...]", "del KEY [KEY ...]", "config
 * SUBCOMMAND [ARG ...]". The full syntax of each command is Redis 7.0's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hkvctl.h"

/**
 * struct ctl_verb - a verb of hkvctl itself, not of the command table.
 * @name, @args, @summary: for help.
 */
struct ctl_verb {
	const char *name;
	const char *args;
	const char *summary;
};

static const struct ctl_verb verbs[] = {
	{ "stat", "", "store statistics and the value-log segment table (HKVFS STATS)" },
	{ "compact", "[--all]",
	  "compact value-log segments now (--all: every one with dead bytes; "
	  "HKVFS COMPACT [ALL])" },
	{ "kernel", "SUBCOMMAND ...",
	  "inspect and manage the kernel hot-value cache (/dev/hkv); 'kernel --help'" },
	{ "help", "[COMMAND]", "this help, or one command's" },
};

static const char *const group_order[] = {
	"string", "hash", "list", "set", "sorted-set", "generic", "bitmap", "hyperloglog", "geo",
	"stream", "pubsub", "transactions", "scripting", "connection", "server", "cluster",
};

struct doc {
	const char *name;
	const char *summary;
	const char *group;
	const char *since;
	const char *complexity;
	const struct hkv_resp_value *subs; /* the subcommands' docs, or NULL */
};

static const char *field(const struct hkv_resp_value *map, const char *key)
{
	size_t i;

	for (i = 0; i + 1 < map->nelem; i += 2)
		if (map->elem[i]->str && !strcmp(map->elem[i]->str, key))
			return map->elem[i + 1]->str ? map->elem[i + 1]->str : "";
	return "";
}

static const struct hkv_resp_value *field_value(const struct hkv_resp_value *map,
						const char *key)
{
	size_t i;

	for (i = 0; i + 1 < map->nelem; i += 2)
		if (map->elem[i]->str && !strcmp(map->elem[i]->str, key))
			return map->elem[i + 1];
	return NULL;
}

/* The pairs of a COMMAND DOCS reply (RESP2: name, docs, name, docs...) as struct doc. */
static size_t docs_parse(const struct hkv_resp_value *v, struct doc **out)
{
	struct doc *d;
	size_t i, n = 0;

	*out = NULL;
	if (v->type != HKV_RESP_ARRAY)
		return 0;
	d = xmalloc((v->nelem / 2 + 1) * sizeof(*d));
	for (i = 0; i + 1 < v->nelem; i += 2) {
		const struct hkv_resp_value *m = v->elem[i + 1];

		if (!v->elem[i]->str || m->type != HKV_RESP_ARRAY)
			continue;
		d[n].name = v->elem[i]->str;
		d[n].summary = field(m, "summary");
		d[n].group = field(m, "group");
		d[n].since = field(m, "since");
		d[n].complexity = field(m, "complexity");
		d[n].subs = field_value(m, "subcommands");
		n++;
	}
	*out = d;
	return n;
}

static int group_rank(const char *g)
{
	size_t i;

	for (i = 0; i < sizeof(group_order) / sizeof(group_order[0]); i++)
		if (!strcmp(g, group_order[i]))
			return (int)i;
	return (int)i;
}

static int doc_cmp(const void *a, const void *b)
{
	const struct doc *x = a, *y = b;
	int rx = group_rank(x->group), ry = group_rank(y->group);

	if (rx != ry)
		return rx - ry;
	if (strcmp(x->group, y->group))
		return strcmp(x->group, y->group);
	return strcmp(x->name, y->name);
}

static void usage_intro(FILE *f)
{
	fputs("Usage: hkvctl [OPTIONS] COMMAND [ARG...]\n"
	      "       hkvctl COMMAND --help | hkvctl help [COMMAND]\n"
	      "\n"
	      "Run one Redis command against an hkvfs data directory: in-process when the\n"
	      "store is free, through the daemon's socket DATA_DIR/" "hkvfs.sock while it is\n"
	      "mounted. Either way the command table is the same, and so is the reply.\n"
	      "\n"
	      "Options:\n"
	      "  -d, --dir DIR     data directory of the store (default: $HKV_DIR)\n"
	      "      --sync MODE   flush policy when hkvctl opens the store itself: always,\n"
	      "                    everysec, none (every write is flushed when hkvctl exits\n"
	      "                    in any case)\n"
	      "      --raw         plain output even on a terminal\n"
	      "      --no-raw      redis-cli style output even when not on a terminal\n"
	      "  -h, --help        this help\n"
	      "  -V, --version     print the version\n"
	      "\n"
	      "A VALUE of '-' in 'set KEY - ...' is read from standard input, byte for byte.\n"
	      "\n"
	      "Exit status: 0 success (also for a (nil) reply), 1 the command failed,\n"
	      "2 the command line is wrong (unknown command, wrong number of arguments,\n"
	      "syntax error).\n",
	      f);
}

static void list_all(FILE *f)
{
	static const char *const argv[] = { "COMMAND", "DOCS" };
	struct hkv_resp_value *v = ctl_table_call(2, argv);
	const char *group = NULL;
	struct doc *d;
	size_t i, n;
	char name[64];

	usage_intro(f);
	fputs("\nhkvctl's own commands:\n", f);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		snprintf(name, sizeof(name), "%s%s%s", verbs[i].name, *verbs[i].args ? " " : "",
			 verbs[i].args);
		fprintf(f, "  %-22s %s\n", name, verbs[i].summary);
	}
	n = docs_parse(v, &d);
	qsort(d, n, sizeof(*d), doc_cmp);
	fprintf(f, "\nCommands of the table (%zu, as Redis %s; 'hkvctl help COMMAND' for one):\n",
		n, HKV_SERVER_REDIS_VERSION);
	for (i = 0; i < n; i++) {
		if (!group || strcmp(group, d[i].group)) {
			group = d[i].group;
			fprintf(f, "\n%s:\n", *group ? group : "other");
		}
		fprintf(f, "  %-22s %s\n", d[i].name, d[i].summary);
	}
	free(d);
	hkv_resp_value_free(v);
}

static void word(FILE *f, const struct ctl_cmdinfo *info, int i, int words)
{
	int last = info->last >= 0 ? info->last : words + 1 + info->last;

	if (info->first > 0 && i >= info->first && i <= last && info->step > 0 &&
	    (i - info->first) % info->step == 0)
		fputs(" KEY", f);
	else
		fputs(" ARG", f);
}

static void usage_of(FILE *f, const char *name, const struct ctl_cmdinfo *info, bool container)
{
	int words = (info->arity < 0 ? -info->arity : info->arity) - 1, i;

	fprintf(f, "Usage: hkvctl %s", name);
	if (container) {
		fputs(" SUBCOMMAND [ARG ...]\n", f);
		return;
	}
	for (i = 1; i <= words; i++)
		word(f, info, i, words);
	if (info->arity >= 0) {
		fputc('\n', f);
		return;
	}
	if (info->last == -1 && info->step == 1 && info->first > 0)
		fputs(" [KEY ...]\n", f);
	else if (info->last == -1 && info->step == 2 && info->first > 0)
		fputs(" [KEY ARG ...]\n", f);
	else
		fputs(" [ARG ...]\n", f);
}

static bool is_container(const char *name, size_t len)
{
	char *argv[3] = { "COMMAND", "INFO", (char *)name };
	size_t lens[3] = { 7, 4, len };
	struct hkv_resp_value *v = ctl_call(ctl_table(), 3, argv, lens);
	bool yes = v->type == HKV_RESP_ARRAY && v->nelem == 1 &&
		   v->elem[0]->type == HKV_RESP_ARRAY && v->elem[0]->nelem >= 10 &&
		   v->elem[0]->elem[9]->nelem > 0;

	hkv_resp_value_free(v);
	return yes;
}

void ctl_usage_line(FILE *f, const char *name, size_t len)
{
	struct ctl_cmdinfo info;
	char *lower;
	size_t i;

	if (!ctl_cmdinfo(name, len, &info) || memchr(name, '\0', len)) {
		fputs("Try 'hkvctl --help'.\n", f);
		return;
	}
	lower = xmemdup(name, len);
	for (i = 0; i < len; i++)
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] + 32);
	usage_of(f, lower, &info, is_container(name, len) || !strcmp(lower, "hkvfs"));
	free(lower);
}

static int help_one(FILE *f, const char *name)
{
	const char *argv[3] = { "COMMAND", "DOCS", name };
	struct hkv_resp_value *v;
	struct ctl_cmdinfo info;
	struct doc *d, *s;
	size_t i, n, ns;
	bool hkvfs;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcasecmp(name, verbs[i].name))
			continue;
		fprintf(f, "Usage: hkvctl %s%s%s\n\n%s\n", verbs[i].name,
			*verbs[i].args ? " " : "", verbs[i].args, verbs[i].summary);
		return CTL_EXIT_OK;
	}
	v = ctl_table_call(3, argv);
	n = docs_parse(v, &d);
	if (!n || !ctl_cmdinfo(name, strlen(name), &info)) {
		fprintf(stderr, "ERR unknown command '%s'\n", name);
		free(d);
		hkv_resp_value_free(v);
		return CTL_EXIT_USAGE;
	}
	/* HKVFS is hkvfs's own command (server/src/hkvfs_cmd.c, on both doors), not Redis's */
	hkvfs = !strcmp(d[0].name, "hkvfs");
	usage_of(f, d[0].name, &info, d[0].subs != NULL || hkvfs);
	fprintf(f, "\n%s\n", d[0].summary);
	fprintf(f, "Group: %s; since %s %s", d[0].group, hkvfs ? "hkvfs" : "Redis", d[0].since);
	if (*d[0].complexity)
		fprintf(f, "; complexity: %s", d[0].complexity);
	fputs(".\n", f);
	if (d[0].subs) {
		ns = docs_parse(d[0].subs, &s);
		fputs("\nSubcommands:\n", f);
		for (i = 0; i < ns; i++) {
			char *bar = strchr(s[i].name, '|');

			fprintf(f, "  %-22s %s\n", bar ? bar + 1 : s[i].name, s[i].summary);
		}
		free(s);
	}
	free(d);
	hkv_resp_value_free(v);
	return CTL_EXIT_OK;
}

int ctl_help(FILE *f, const char *name)
{
	if (!name) {
		list_all(f);
		return CTL_EXIT_OK;
	}
	return help_one(f, name);
}
