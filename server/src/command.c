// SPDX-License-Identifier: MIT
/*
 * command.c - COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, HELP): what
 * clients read to discover the server's commands.
 *
 * COMMAND INFO gives Redis 7.0's ten fields per command: name, arity, flags, first key, last
 * key, key step, ACL categories, tips, key specifications and subcommands. The key
 * specifications are derived from the table's legacy key range (an "index" begin-search and
 * a "range" find-keys), or, for commands whose keys follow a numkeys argument, a "keynum"
 * find-keys; their flags say whether the command reads or writes the keys. COMMAND DOCS
 * gives each command's summary, since, group and complexity (hkvfs's own text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ CMD_WRITE, "write" },
	{ CMD_READONLY, "readonly" },
	{ CMD_DENYOOM, "denyoom" },
	{ CMD_ADMIN, "admin" },
	{ CMD_PUBSUB, "pubsub" },
	{ CMD_NOSCRIPT, "noscript" },
	{ CMD_BLOCKING, "blocking" },
	{ CMD_LOADING, "loading" },
	{ CMD_STALE, "stale" },
	{ CMD_SKIP_MONITOR, "skip_monitor" },
	{ CMD_SKIP_SLOWLOG, "skip_slowlog" },
	{ CMD_FAST, "fast" },
	{ CMD_NO_AUTH, "no_auth" },
	{ CMD_MAY_REPLICATE, "may_replicate" },
	{ CMD_NO_MULTI, "no_multi" },
	{ CMD_MOVABLE_KEYS, "movablekeys" },
	{ CMD_ALLOW_BUSY, "allow_busy" },
};

static const char *const acl_names[] = {
	"keyspace", "read",	 "write",    "set",	"sortedset",  "list",	    "hash",
	"string",   "bitmap",	 "hyperloglog", "geo", "stream",     "pubsub",	    "admin",
	"fast",	    "slow",	 "blocking", "dangerous", "connection", "transaction", "scripting",
};

static void reply_flags(struct client *c, struct cmd *cmd)
{
	size_t pos = add_deferred(c);
	long long n = 0;

	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		uint32_t f = cmd->flags | (cmd->getkeys ? CMD_MOVABLE_KEYS : 0);

		if (f & flag_names[i].bit) {
			add_status(c, flag_names[i].name);
			n++;
		}
	}
	set_deferred(c, pos, c->out.proto == 3 ? '~' : '*', n);
}

static void reply_acl(struct client *c, struct cmd *cmd)
{
	size_t pos = add_deferred(c);
	long long n = 0;

	for (size_t i = 0; i < sizeof(acl_names) / sizeof(acl_names[0]); i++) {
		if (cmd->acl & (1u << i)) {
			char name[32];

			snprintf(name, sizeof(name), "@%s", acl_names[i]);
			add_status(c, name);
			n++;
		}
	}
	set_deferred(c, pos, c->out.proto == 3 ? '~' : '*', n);
}

static void reply_keyspecs(struct client *c, struct cmd *cmd)
{
	const char *access = (cmd->flags & CMD_WRITE) ? "RW" : "RO";

	if (!cmd->first && !cmd->getkeys) {
		add_array(c, 0);
		return;
	}
	add_array(c, 1);
	add_map(c, 3);
	add_bulk_str(c, "flags");
	add_array(c, 1);
	add_status(c, access);
	add_bulk_str(c, "begin_search");
	add_map(c, 2);
	add_bulk_str(c, "type");
	add_bulk_str(c, "index");
	add_bulk_str(c, "spec");
	add_map(c, 1);
	add_bulk_str(c, "index");
	add_int(c, cmd->first ? cmd->first : 1);
	add_bulk_str(c, "find_keys");
	add_map(c, 2);
	add_bulk_str(c, "type");
	if (cmd->getkeys) {
		add_bulk_str(c, "keynum");
		add_bulk_str(c, "spec");
		add_map(c, 3);
		add_bulk_str(c, "keynumidx");
		add_int(c, 0);
		add_bulk_str(c, "firstkey");
		add_int(c, 1);
		add_bulk_str(c, "keystep");
		add_int(c, 1);
	} else {
		add_bulk_str(c, "range");
		add_bulk_str(c, "spec");
		add_map(c, 3);
		add_bulk_str(c, "lastkey");
		add_int(c, cmd->last < 0 ? cmd->last : cmd->last - cmd->first);
		add_bulk_str(c, "keystep");
		add_int(c, cmd->step);
		add_bulk_str(c, "limit");
		add_int(c, 0);
	}
}

static void reply_info(struct client *c, struct cmd *cmd)
{
	long long nsub = 0;

	add_array(c, 10);
	add_bulk_str(c, cmd->fullname);
	add_int(c, cmd->arity);
	reply_flags(c, cmd);
	add_int(c, cmd->first);
	add_int(c, cmd->last);
	add_int(c, cmd->step);
	reply_acl(c, cmd);
	add_array(c, 0);
	reply_keyspecs(c, cmd);
	if (cmd->sub)
		for (struct cmd *s = cmd->sub; s->name; s++)
			nsub++;
	add_array(c, nsub);
	if (cmd->sub)
		for (struct cmd *s = cmd->sub; s->name; s++)
			reply_info(c, s);
}

struct walk {
	struct client *c;
	long long n;
	size_t pos;
};

static void info_one(struct cmd *cmd, void *arg)
{
	struct walk *w = arg;

	reply_info(w->c, cmd);
	w->n++;
}

void command_command(struct client *c)
{
	struct walk w = { c, 0, 0 };

	add_array(c, (long long)cmd_count(c->srv));
	cmd_foreach(c->srv, info_one, &w);
}

void command_count_command(struct client *c)
{
	add_int(c, (long long)cmd_count(c->srv));
}

/* "config|get" or "get": the command named @s, or NULL. */
static struct cmd *lookup_fullname(struct hkv_server *srv, const char *s, size_t len)
{
	const char *bar = memchr(s, '|', len);
	struct cmd *cmd;

	if (!bar)
		return cmd_lookup_name(srv, s, len);
	cmd = cmd_lookup_name(srv, s, (size_t)(bar - s));
	if (!cmd || !cmd->sub)
		return NULL;
	for (struct cmd *sub = cmd->sub; sub->name; sub++)
		if (strlen(sub->name) == len - (size_t)(bar - s) - 1 &&
		    !strncasecmp(sub->name, bar + 1, len - (size_t)(bar - s) - 1))
			return sub;
	return NULL;
}

void command_info_command(struct client *c)
{
	if (c->argc == 2) {
		command_command(c);
		return;
	}
	add_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		struct cmd *cmd = lookup_fullname(c->srv, c->argv[i], c->argvlen[i]);

		if (cmd)
			reply_info(c, cmd);
		else
			add_null_array(c);
	}
}

static void reply_docs(struct client *c, struct cmd *cmd)
{
	long long nsub = 0;

	if (cmd->sub)
		for (struct cmd *s = cmd->sub; s->name; s++)
			nsub++;
	add_map(c, nsub ? 5 : 4);
	add_bulk_str(c, "summary");
	add_bulk_str(c, cmd->summary ? cmd->summary : "");
	add_bulk_str(c, "since");
	add_bulk_str(c, cmd->since ? cmd->since : "");
	add_bulk_str(c, "group");
	add_bulk_str(c, cmd->group ? cmd->group : "");
	add_bulk_str(c, "complexity");
	add_bulk_str(c, cmd->complexity ? cmd->complexity : "");
	if (nsub) {
		add_bulk_str(c, "subcommands");
		add_map(c, nsub);
		for (struct cmd *s = cmd->sub; s->name; s++) {
			add_bulk_str(c, s->fullname);
			reply_docs(c, s);
		}
	}
}

static void docs_one(struct cmd *cmd, void *arg)
{
	struct walk *w = arg;

	add_bulk_str(w->c, cmd->fullname);
	reply_docs(w->c, cmd);
	w->n++;
}

void command_docs_command(struct client *c)
{
	if (c->argc == 2) {
		struct walk w = { c, 0, 0 };

		add_map(c, (long long)cmd_count(c->srv));
		cmd_foreach(c->srv, docs_one, &w);
		return;
	}
	{
		size_t pos = add_deferred(c);
		long long n = 0;

		for (int i = 2; i < c->argc; i++) {
			struct cmd *cmd = lookup_fullname(c->srv, c->argv[i], c->argvlen[i]);

			if (!cmd)
				continue;
			add_bulk_str(c, cmd->fullname);
			reply_docs(c, cmd);
			n++;
		}
		set_deferred(c, pos, c->out.proto == 3 ? '%' : '*', c->out.proto == 3 ? n : 2 * n);
	}
}

struct list_filter {
	struct client *c;
	int kind; /* 0 none, 1 pattern, 2 aclcat, 3 module */
	const char *arg;
	size_t arglen;
	uint32_t acl;
	long long n;
};

static void list_one(struct cmd *cmd, void *arg)
{
	struct list_filter *f = arg;
	bool ok;

	switch (f->kind) {
	case 1:
		ok = srv_glob_match(f->arg, f->arglen, cmd->fullname, strlen(cmd->fullname), true);
		break;
	case 2:
		ok = (cmd->acl & f->acl) != 0;
		break;
	case 3:
		ok = false;
		break;
	default:
		ok = true;
	}
	if (ok) {
		add_bulk_str(f->c, cmd->fullname);
		f->n++;
	}
	if (cmd->sub)
		for (struct cmd *s = cmd->sub; s->name; s++)
			list_one(s, arg);
}

void command_list_command(struct client *c)
{
	struct list_filter f = { .c = c };
	size_t pos;

	if (c->argc == 5 && !strcasecmp(c->argv[2], "filterby")) {
		f.arg = c->argv[4];
		f.arglen = c->argvlen[4];
		if (!strcasecmp(c->argv[3], "pattern")) {
			f.kind = 1;
		} else if (!strcasecmp(c->argv[3], "aclcat")) {
			f.kind = 2;
			for (size_t i = 0; i < sizeof(acl_names) / sizeof(acl_names[0]); i++)
				if (!strcasecmp(acl_names[i], f.arg))
					f.acl = 1u << i;
			if (!f.acl) {
				add_array(c, 0);
				return;
			}
		} else if (!strcasecmp(c->argv[3], "module")) {
			f.kind = 3;
		} else {
			add_err_syntax(c);
			return;
		}
	} else if (c->argc != 2) {
		add_err_syntax(c);
		return;
	}
	pos = add_deferred(c);
	cmd_foreach(c->srv, list_one, &f);
	set_deferred(c, pos, '*', f.n);
}

void command_getkeys_command(struct client *c)
{
	struct client view = *c;
	struct cmd *cmd;
	int keys[256], n;

	view.argc = c->argc - 2;
	view.argv = c->argv + 2;
	view.argvlen = c->argvlen + 2;
	cmd = cmd_lookup(c->srv, view.argc, view.argv, view.argvlen);
	if (!cmd) {
		add_error(c, "Invalid command specified");
		return;
	}
	if ((cmd->arity > 0 && cmd->arity != view.argc) || view.argc < -cmd->arity) {
		add_error(c, "Invalid number of arguments specified for command");
		return;
	}
	n = cmd_getkeys(&view, cmd, keys, 256);
	if (n <= 0) {
		add_error(c, "The command has no key arguments");
		return;
	}
	add_array(c, n);
	for (int i = 0; i < n; i++)
		add_bulk(c, view.argv[keys[i]], view.argvlen[keys[i]]);
}

void command_help_command(struct client *c)
{
	static const char *const help[] = {
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)",
		"    Return details about all commands.",
		"COUNT",
		"    Return the total number of commands in this server.",
		"LIST",
		"    Return a list of all commands in this server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full command.",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}
