// SPDX-License-Identifier: MIT
/*
 * cmdtable.c - the command table: the one index of what the server can do, in Redis's
 * shape (name, arity, flags, first/last/step key positions, handler), as Redis's server.c
 * table. Every door (TCP, unix sockets, hkvctl in-process) resolves commands here.
 *
 * Arity counts the command name (and for subcommands the container): N means exactly N
 * words, -N at least N. Key positions are the legacy range COMMAND INFO reports; commands
 * whose keys move with a numkeys argument (ZUNIONSTORE, LMPOP, EVAL, SORT ... STORE) have a
 * getkeys function and CMD_MOVABLE_KEYS. Names, arities, flags and key positions are those
 * of Redis 7.0, so that clients that read COMMAND (cluster routers, redis-cli's hints) see
 * what they expect.
 *
 * Lookup is a hash of lower-case names built once per process; containers (CONFIG, CLIENT,
 * ...) resolve their subcommand with a short linear search. The table is mutable only in its
 * statistics (calls, usec, rejected, failed), written by the server thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

/* Keys of commands with a numkeys argument at @nk and keys after it (plus a fixed key). */
static int keys_numkeys(struct client *c, int fixed, int nk, int *out, int max)
{
	long long n;
	int cnt = 0;

	if (fixed > 0 && cnt < max)
		out[cnt++] = fixed;
	if (nk >= c->argc || !str2ll(c->argv[nk], c->argvlen[nk], &n) || n < 0 ||
	    n > c->argc - nk - 1)
		return cnt;
	for (int i = 0; i < n && cnt < max; i++)
		out[cnt++] = nk + 1 + i;
	return cnt;
}

static int getkeys_zunionstore(struct client *c, int *out, int max)
{
	return keys_numkeys(c, 1, 2, out, max);
}
#define getkeys_zinterstore getkeys_zunionstore
#define getkeys_zdiffstore getkeys_zunionstore

static int getkeys_zunion(struct client *c, int *out, int max)
{
	return keys_numkeys(c, 0, 1, out, max);
}
#define getkeys_zinter getkeys_zunion
#define getkeys_zdiff getkeys_zunion
#define getkeys_zintercard getkeys_zunion
#define getkeys_sintercard getkeys_zunion
#define getkeys_lmpop getkeys_zunion
#define getkeys_zmpop getkeys_zunion

static int getkeys_blmpop(struct client *c, int *out, int max)
{
	return keys_numkeys(c, 0, 2, out, max);
}
#define getkeys_bzmpop getkeys_blmpop
/* EVAL script numkeys key... arg... */
#define getkeys_eval getkeys_blmpop

/*
 * SORT's keys: the source, and the STORE destination if any; of several STOREs the last one
 * counts, as in SORT itself (BY/GET patterns are not keys).
 */
static int getkeys_sort(struct client *c, int *out, int max)
{
	int cnt = 0, store = 0;

	if (max < 2)
		return 0;
	out[cnt++] = 1;
	for (int i = 2; i < c->argc; i++) {
		if (arg_eq(c, i, "limit")) {
			i += 2;
		} else if (arg_eq(c, i, "get") || arg_eq(c, i, "by")) {
			i++;
		} else if (arg_eq(c, i, "store") && i + 1 < c->argc) {
			store = i + 1;
			i++;
		}
	}
	if (store)
		out[cnt++] = store;
	return cnt;
}

/* XREAD/XREADGROUP: the first half of the arguments after STREAMS. */
static int getkeys_xread(struct client *c, int *out, int max)
{
	int cnt = 0;

	for (int i = 1; i < c->argc; i++) {
		if (arg_eq(c, i, "streams")) {
			int n = (c->argc - i - 1) / 2;

			for (int k = 0; k < n && cnt < max; k++)
				out[cnt++] = i + 1 + k;
			break;
		}
	}
	return cnt;
}
#define getkeys_xreadgroup getkeys_xread

static struct cmd xgroup_subcommands[] = {
	{ .name = "create", .arity = -5, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xgroup_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Create a consumer group", .sub = NULL },
	{ .name = "createconsumer", .arity = 5, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xgroup_command,
	  .getkeys = NULL, .group = "stream", .since = "6.2.0",
	  .summary = "Create a consumer in a consumer group", .sub = NULL },
	{ .name = "delconsumer", .arity = 5, .flags = CMD_WRITE,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xgroup_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Delete a consumer from a consumer group", .sub = NULL },
	{ .name = "destroy", .arity = 4, .flags = CMD_WRITE,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xgroup_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Destroy a consumer group", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = ACL_STREAM, .first = 0, .last = 0, .step = 0, .proc = xgroup_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Help for XGROUP", .sub = NULL },
	{ .name = "setid", .arity = -5, .flags = CMD_WRITE,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xgroup_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Set the last delivered ID of a consumer group", .sub = NULL },
	{ 0 }
};

static struct cmd xinfo_subcommands[] = {
	{ .name = "consumers", .arity = 4, .flags = CMD_READONLY,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xinfo_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Consumers of a consumer group", .sub = NULL },
	{ .name = "groups", .arity = 3, .flags = CMD_READONLY,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xinfo_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Consumer groups of a stream", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = ACL_STREAM, .first = 0, .last = 0, .step = 0, .proc = xinfo_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Help for XINFO", .sub = NULL },
	{ .name = "stream", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_STREAM, .first = 2, .last = 2, .step = 1, .proc = xinfo_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Information about a stream", .sub = NULL },
	{ 0 }
};

static struct cmd object_subcommands[] = {
	{ .name = "encoding", .arity = 3, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE, .first = 2, .last = 2, .step = 1, .proc = object_encoding_command,
	  .getkeys = NULL, .group = "generic", .since = "2.2.3",
	  .summary = "Encoding of a key's value", .sub = NULL },
	{ .name = "freq", .arity = 3, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE, .first = 2, .last = 2, .step = 1, .proc = object_freq_command,
	  .getkeys = NULL, .group = "generic", .since = "4.0.0",
	  .summary = "Access frequency of a key", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = ACL_KEYSPACE, .first = 0, .last = 0, .step = 0, .proc = object_help_command,
	  .getkeys = NULL, .group = "generic", .since = "6.2.0",
	  .summary = "Help for OBJECT", .sub = NULL },
	{ .name = "idletime", .arity = 3, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE, .first = 2, .last = 2, .step = 1, .proc = object_idletime_command,
	  .getkeys = NULL, .group = "generic", .since = "2.2.3",
	  .summary = "Seconds since a key was last written", .sub = NULL },
	{ .name = "refcount", .arity = 3, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE, .first = 2, .last = 2, .step = 1, .proc = object_refcount_command,
	  .getkeys = NULL, .group = "generic", .since = "2.2.3",
	  .summary = "Reference count of a key's value", .sub = NULL },
	{ 0 }
};

static struct cmd client_subcommands[] = {
	{ .name = "getname", .arity = 2, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_getname_command,
	  .getkeys = NULL, .group = "connection", .since = "2.6.9",
	  .summary = "Name of the connection", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_help_command,
	  .getkeys = NULL, .group = "connection", .since = "5.0.0",
	  .summary = "Help for CLIENT", .sub = NULL },
	{ .name = "id", .arity = 2, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_id_command,
	  .getkeys = NULL, .group = "connection", .since = "5.0.0",
	  .summary = "Id of the connection", .sub = NULL },
	{ .name = "info", .arity = 2, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_info_command,
	  .getkeys = NULL, .group = "connection", .since = "6.2.0",
	  .summary = "Information about the connection", .sub = NULL },
	{ .name = "kill", .arity = -3, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_kill_command,
	  .getkeys = NULL, .group = "connection", .since = "2.4.0",
	  .summary = "Close client connections", .sub = NULL },
	{ .name = "list", .arity = -2, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_list_command,
	  .getkeys = NULL, .group = "connection", .since = "2.4.0",
	  .summary = "Information about the client connections", .sub = NULL },
	{ .name = "no-evict", .arity = 3, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_no_evict_command,
	  .getkeys = NULL, .group = "connection", .since = "7.0.0",
	  .summary = "Exempt the connection from client eviction", .sub = NULL },
	{ .name = "reply", .arity = 3, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_reply_command,
	  .getkeys = NULL, .group = "connection", .since = "3.2.0",
	  .summary = "Turn the server's replies off, on or skip the next one", .sub = NULL },
	{ .name = "setname", .arity = 3, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_setname_command,
	  .getkeys = NULL, .group = "connection", .since = "2.6.9",
	  .summary = "Set the name of the connection", .sub = NULL },
	{ .name = "unblock", .arity = -3, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = client_unblock_command,
	  .getkeys = NULL, .group = "connection", .since = "5.0.0",
	  .summary = "Unblock a client blocked in a blocking command", .sub = NULL },
	{ 0 }
};

static struct cmd command_subcommands[] = {
	{ .name = "count", .arity = 2, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = command_count_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Number of commands", .sub = NULL },
	{ .name = "docs", .arity = -2, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = command_docs_command,
	  .getkeys = NULL, .group = "server", .since = "7.0.0",
	  .summary = "Documentation of commands", .sub = NULL },
	{ .name = "getkeys", .arity = -4, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = command_getkeys_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Keys of a full command", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = command_help_command,
	  .getkeys = NULL, .group = "server", .since = "5.0.0",
	  .summary = "Help for COMMAND", .sub = NULL },
	{ .name = "info", .arity = -2, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = command_info_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Information about commands", .sub = NULL },
	{ .name = "list", .arity = -2, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = command_list_command,
	  .getkeys = NULL, .group = "server", .since = "7.0.0",
	  .summary = "Names of the commands", .sub = NULL },
	{ 0 }
};

static struct cmd config_subcommands[] = {
	{ .name = "get", .arity = -3, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = config_get_command,
	  .getkeys = NULL, .group = "server", .since = "2.0.0",
	  .summary = "Get configuration parameters", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = config_help_command,
	  .getkeys = NULL, .group = "server", .since = "5.0.0",
	  .summary = "Help for CONFIG", .sub = NULL },
	{ .name = "resetstat", .arity = 2, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = config_resetstat_command,
	  .getkeys = NULL, .group = "server", .since = "2.0.0",
	  .summary = "Reset the statistics", .sub = NULL },
	{ .name = "rewrite", .arity = 2, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = config_rewrite_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.0",
	  .summary = "Persist the configuration to the configuration file", .sub = NULL },
	{ .name = "set", .arity = -4, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = config_set_command,
	  .getkeys = NULL, .group = "server", .since = "2.0.0",
	  .summary = "Set configuration parameters", .sub = NULL },
	{ 0 }
};

static struct cmd memory_subcommands[] = {
	{ .name = "doctor", .arity = 2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = memory_doctor_command,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Memory advice", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = memory_help_command,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Help for MEMORY", .sub = NULL },
	{ .name = "malloc-stats", .arity = 2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = memory_malloc_stats_command,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Allocator statistics", .sub = NULL },
	{ .name = "purge", .arity = 2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = memory_purge_command,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Ask the allocator to release memory", .sub = NULL },
	{ .name = "stats", .arity = 2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = memory_stats_command,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Memory usage details", .sub = NULL },
	{ .name = "usage", .arity = -3, .flags = CMD_READONLY,
	  .acl = 0, .first = 2, .last = 2, .step = 1, .proc = memory_usage_command,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Estimated bytes a key takes", .sub = NULL },
	{ 0 }
};

static struct cmd slowlog_subcommands[] = {
	{ .name = "get", .arity = -2, .flags = CMD_ADMIN|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = slowlog_get_command,
	  .getkeys = NULL, .group = "server", .since = "2.2.12",
	  .summary = "Entries of the slow log", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = slowlog_help_command,
	  .getkeys = NULL, .group = "server", .since = "6.2.0",
	  .summary = "Help for SLOWLOG", .sub = NULL },
	{ .name = "len", .arity = 2, .flags = CMD_ADMIN|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = slowlog_len_command,
	  .getkeys = NULL, .group = "server", .since = "2.2.12",
	  .summary = "Length of the slow log", .sub = NULL },
	{ .name = "reset", .arity = 2, .flags = CMD_ADMIN|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = slowlog_reset_command,
	  .getkeys = NULL, .group = "server", .since = "2.2.12",
	  .summary = "Clear the slow log", .sub = NULL },
	{ 0 }
};

static struct cmd latency_subcommands[] = {
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = latency_help_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Help for LATENCY", .sub = NULL },
	{ .name = "latest", .arity = 2, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = latency_latest_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Latest latency samples", .sub = NULL },
	{ .name = "reset", .arity = -2, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = latency_reset_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Reset latency data", .sub = NULL },
	{ 0 }
};

static struct cmd pubsub_subcommands[] = {
	{ .name = "channels", .arity = -2, .flags = CMD_PUBSUB|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = pubsub_channels_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.8.0",
	  .summary = "Active channels", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = pubsub_help_command,
	  .getkeys = NULL, .group = "pubsub", .since = "6.2.0",
	  .summary = "Help for PUBSUB", .sub = NULL },
	{ .name = "numpat", .arity = 2, .flags = CMD_PUBSUB|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = pubsub_numpat_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.8.0",
	  .summary = "Number of unique patterns subscribed to", .sub = NULL },
	{ .name = "numsub", .arity = -2, .flags = CMD_PUBSUB|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = pubsub_numsub_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.8.0",
	  .summary = "Number of subscribers of channels", .sub = NULL },
	{ .name = "shardchannels", .arity = -2, .flags = CMD_PUBSUB|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = pubsub_shardchannels_command,
	  .getkeys = NULL, .group = "pubsub", .since = "7.0.0",
	  .summary = "Active shard channels", .sub = NULL },
	{ .name = "shardnumsub", .arity = -2, .flags = CMD_PUBSUB|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = pubsub_shardnumsub_command,
	  .getkeys = NULL, .group = "pubsub", .since = "7.0.0",
	  .summary = "Number of subscribers of shard channels", .sub = NULL },
	{ 0 }
};

static struct cmd script_subcommands[] = {
	{ .name = "exists", .arity = -3, .flags = CMD_NOSCRIPT,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = script_exists_command,
	  .getkeys = NULL, .group = "scripting", .since = "2.6.0",
	  .summary = "Whether scripts are in the script cache", .sub = NULL },
	{ .name = "flush", .arity = -2, .flags = CMD_NOSCRIPT,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = script_flush_command,
	  .getkeys = NULL, .group = "scripting", .since = "2.6.0",
	  .summary = "Remove every script from the script cache", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = script_help_command,
	  .getkeys = NULL, .group = "scripting", .since = "5.0.0",
	  .summary = "Help for SCRIPT", .sub = NULL },
	{ .name = "kill", .arity = 2, .flags = CMD_NOSCRIPT|CMD_ALLOW_BUSY,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = script_kill_command,
	  .getkeys = NULL, .group = "scripting", .since = "2.6.0",
	  .summary = "Kill the running script if it has not written", .sub = NULL },
	{ .name = "load", .arity = 3, .flags = CMD_NOSCRIPT|CMD_STALE,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = script_load_command,
	  .getkeys = NULL, .group = "scripting", .since = "2.6.0",
	  .summary = "Load a script into the script cache", .sub = NULL },
	{ 0 }
};

static struct cmd function_subcommands[] = {
	{ .name = "flush", .arity = -2, .flags = CMD_NOSCRIPT|CMD_WRITE,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = function_flush_command,
	  .getkeys = NULL, .group = "scripting", .since = "7.0.0",
	  .summary = "Delete every function", .sub = NULL },
	{ .name = "help", .arity = 2, .flags = CMD_LOADING|CMD_STALE,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = function_help_command,
	  .getkeys = NULL, .group = "scripting", .since = "7.0.0",
	  .summary = "Help for FUNCTION", .sub = NULL },
	{ .name = "list", .arity = -2, .flags = CMD_NOSCRIPT,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = function_list_command,
	  .getkeys = NULL, .group = "scripting", .since = "7.0.0",
	  .summary = "List the functions", .sub = NULL },
	{ 0 }
};

static struct cmd cmd_table[] = {
	{ .name = "append", .arity = 3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = append_command,
	  .getkeys = NULL, .group = "string", .since = "2.0.0",
	  .summary = "Append a value to a string, creating it if needed", .sub = NULL },
	{ .name = "decr", .arity = 2, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = decr_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Decrement the integer value of a key by one", .sub = NULL },
	{ .name = "decrby", .arity = 3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = decrby_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Decrement the integer value of a key by a number", .sub = NULL },
	{ .name = "get", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = get_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Get the string value of a key", .sub = NULL },
	{ .name = "getdel", .arity = 2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = getdel_command,
	  .getkeys = NULL, .group = "string", .since = "6.2.0",
	  .summary = "Get the string value of a key and delete the key", .sub = NULL },
	{ .name = "getex", .arity = -2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = getex_command,
	  .getkeys = NULL, .group = "string", .since = "6.2.0",
	  .summary = "Get the string value of a key and set or clear its expiry", .sub = NULL },
	{ .name = "getrange", .arity = 4, .flags = CMD_READONLY,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = getrange_command,
	  .getkeys = NULL, .group = "string", .since = "2.4.0",
	  .summary = "Get a substring of a string value", .sub = NULL },
	{ .name = "getset", .arity = 3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = getset_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Set a string value and return the old one", .sub = NULL },
	{ .name = "incr", .arity = 2, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = incr_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Increment the integer value of a key by one", .sub = NULL },
	{ .name = "incrby", .arity = 3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = incrby_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Increment the integer value of a key by a number", .sub = NULL },
	{ .name = "incrbyfloat", .arity = 3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = incrbyfloat_command,
	  .getkeys = NULL, .group = "string", .since = "2.6.0",
	  .summary = "Increment the float value of a key by a number", .sub = NULL },
	{ .name = "lcs", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_STRING, .first = 1, .last = 2, .step = 1, .proc = lcs_command,
	  .getkeys = NULL, .group = "string", .since = "7.0.0",
	  .summary = "Longest common subsequence of two strings", .sub = NULL },
	{ .name = "mget", .arity = -2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = -1, .step = 1, .proc = mget_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Get the values of several keys", .sub = NULL },
	{ .name = "mset", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STRING, .first = 1, .last = -1, .step = 2, .proc = mset_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.1",
	  .summary = "Set several keys", .sub = NULL },
	{ .name = "msetnx", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STRING, .first = 1, .last = -1, .step = 2, .proc = msetnx_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.1",
	  .summary = "Set several keys only if none of them exists", .sub = NULL },
	{ .name = "psetex", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = psetex_command,
	  .getkeys = NULL, .group = "string", .since = "2.6.0",
	  .summary = "Set a value with an expiry in milliseconds", .sub = NULL },
	{ .name = "set", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = set_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Set the string value of a key, with options", .sub = NULL },
	{ .name = "setex", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = setex_command,
	  .getkeys = NULL, .group = "string", .since = "2.0.0",
	  .summary = "Set a value with an expiry in seconds", .sub = NULL },
	{ .name = "setnx", .arity = 3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = setnx_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Set a value only if the key does not exist", .sub = NULL },
	{ .name = "setrange", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = setrange_command,
	  .getkeys = NULL, .group = "string", .since = "2.2.0",
	  .summary = "Overwrite part of a string at an offset", .sub = NULL },
	{ .name = "strlen", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = strlen_command,
	  .getkeys = NULL, .group = "string", .since = "2.2.0",
	  .summary = "Length of a string value", .sub = NULL },
	{ .name = "substr", .arity = 4, .flags = CMD_READONLY,
	  .acl = ACL_STRING, .first = 1, .last = 1, .step = 1, .proc = getrange_command,
	  .getkeys = NULL, .group = "string", .since = "1.0.0",
	  .summary = "Get a substring of a string value (GETRANGE)", .sub = NULL },
	{ .name = "setbit", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_BITMAP, .first = 1, .last = 1, .step = 1, .proc = setbit_command,
	  .getkeys = NULL, .group = "bitmap", .since = "2.2.0",
	  .summary = "Set or clear one bit of a string", .sub = NULL },
	{ .name = "getbit", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_BITMAP, .first = 1, .last = 1, .step = 1, .proc = getbit_command,
	  .getkeys = NULL, .group = "bitmap", .since = "2.2.0",
	  .summary = "Read one bit of a string", .sub = NULL },
	{ .name = "bitcount", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_BITMAP, .first = 1, .last = 1, .step = 1, .proc = bitcount_command,
	  .getkeys = NULL, .group = "bitmap", .since = "2.6.0",
	  .summary = "Count the set bits of a string", .sub = NULL },
	{ .name = "bitop", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_BITMAP, .first = 2, .last = -1, .step = 1, .proc = bitop_command,
	  .getkeys = NULL, .group = "bitmap", .since = "2.6.0",
	  .summary = "Bitwise AND, OR, XOR or NOT of strings into a key", .sub = NULL },
	{ .name = "bitpos", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_BITMAP, .first = 1, .last = 1, .step = 1, .proc = bitpos_command,
	  .getkeys = NULL, .group = "bitmap", .since = "2.8.7",
	  .summary = "Find the first set or clear bit of a string", .sub = NULL },
	{ .name = "hdel", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hdel_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Delete fields of a hash", .sub = NULL },
	{ .name = "hexists", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hexists_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Whether a hash field exists", .sub = NULL },
	{ .name = "hget", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hget_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Get the value of a hash field", .sub = NULL },
	{ .name = "hgetall", .arity = 2, .flags = CMD_READONLY,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hgetall_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Get all fields and values of a hash", .sub = NULL },
	{ .name = "hincrby", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hincrby_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Increment the integer value of a hash field", .sub = NULL },
	{ .name = "hincrbyfloat", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hincrbyfloat_command,
	  .getkeys = NULL, .group = "hash", .since = "2.6.0",
	  .summary = "Increment the float value of a hash field", .sub = NULL },
	{ .name = "hkeys", .arity = 2, .flags = CMD_READONLY,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hkeys_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Get the fields of a hash", .sub = NULL },
	{ .name = "hlen", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hlen_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Number of fields of a hash", .sub = NULL },
	{ .name = "hmget", .arity = -3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hmget_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Get the values of several hash fields", .sub = NULL },
	{ .name = "hmset", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hmset_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Set several hash fields", .sub = NULL },
	{ .name = "hrandfield", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hrandfield_command,
	  .getkeys = NULL, .group = "hash", .since = "6.2.0",
	  .summary = "Random fields of a hash", .sub = NULL },
	{ .name = "hscan", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hscan_command,
	  .getkeys = NULL, .group = "hash", .since = "2.8.0",
	  .summary = "Iterate the fields of a hash", .sub = NULL },
	{ .name = "hset", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hset_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Set hash fields", .sub = NULL },
	{ .name = "hsetnx", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hsetnx_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Set a hash field only if it does not exist", .sub = NULL },
	{ .name = "hstrlen", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hstrlen_command,
	  .getkeys = NULL, .group = "hash", .since = "3.2.0",
	  .summary = "Length of a hash field's value", .sub = NULL },
	{ .name = "hvals", .arity = 2, .flags = CMD_READONLY,
	  .acl = ACL_HASH, .first = 1, .last = 1, .step = 1, .proc = hvals_command,
	  .getkeys = NULL, .group = "hash", .since = "2.0.0",
	  .summary = "Get the values of a hash", .sub = NULL },
	{ .name = "blmove", .arity = 6, .flags = CMD_WRITE|CMD_DENYOOM|CMD_NOSCRIPT|CMD_BLOCKING,
	  .acl = ACL_LIST, .first = 1, .last = 2, .step = 1, .proc = blmove_command,
	  .getkeys = NULL, .group = "list", .since = "6.2.0",
	  .summary = "Move an element between lists, blocking until one is available", .sub = NULL },
	{ .name = "blmpop", .arity = -5, .flags = CMD_WRITE|CMD_BLOCKING|CMD_MOVABLE_KEYS,
	  .acl = ACL_LIST, .first = 0, .last = 0, .step = 0, .proc = blmpop_command,
	  .getkeys = getkeys_blmpop, .group = "list", .since = "7.0.0",
	  .summary = "Pop elements from the first non-empty list, blocking", .sub = NULL },
	{ .name = "blpop", .arity = -3, .flags = CMD_WRITE|CMD_NOSCRIPT|CMD_BLOCKING,
	  .acl = ACL_LIST, .first = 1, .last = -2, .step = 1, .proc = blpop_command,
	  .getkeys = NULL, .group = "list", .since = "2.0.0",
	  .summary = "Pop the first element of the first non-empty list, blocking", .sub = NULL },
	{ .name = "brpop", .arity = -3, .flags = CMD_WRITE|CMD_NOSCRIPT|CMD_BLOCKING,
	  .acl = ACL_LIST, .first = 1, .last = -2, .step = 1, .proc = brpop_command,
	  .getkeys = NULL, .group = "list", .since = "2.0.0",
	  .summary = "Pop the last element of the first non-empty list, blocking", .sub = NULL },
	{ .name = "brpoplpush", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_NOSCRIPT|CMD_BLOCKING,
	  .acl = ACL_LIST, .first = 1, .last = 2, .step = 1, .proc = brpoplpush_command,
	  .getkeys = NULL, .group = "list", .since = "2.2.0",
	  .summary = "Move the last element of a list to the head of another, blocking", .sub = NULL },
	{ .name = "lindex", .arity = 3, .flags = CMD_READONLY,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lindex_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Get a list element by index", .sub = NULL },
	{ .name = "linsert", .arity = 5, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = linsert_command,
	  .getkeys = NULL, .group = "list", .since = "2.2.0",
	  .summary = "Insert an element before or after another", .sub = NULL },
	{ .name = "llen", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = llen_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Length of a list", .sub = NULL },
	{ .name = "lmove", .arity = 5, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_LIST, .first = 1, .last = 2, .step = 1, .proc = lmove_command,
	  .getkeys = NULL, .group = "list", .since = "6.2.0",
	  .summary = "Move an element from one list to another", .sub = NULL },
	{ .name = "lmpop", .arity = -4, .flags = CMD_WRITE|CMD_MOVABLE_KEYS,
	  .acl = ACL_LIST, .first = 0, .last = 0, .step = 0, .proc = lmpop_command,
	  .getkeys = getkeys_lmpop, .group = "list", .since = "7.0.0",
	  .summary = "Pop elements from the first non-empty list", .sub = NULL },
	{ .name = "lpop", .arity = -2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lpop_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Remove and get the first elements of a list", .sub = NULL },
	{ .name = "lpos", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lpos_command,
	  .getkeys = NULL, .group = "list", .since = "6.0.6",
	  .summary = "Positions of matching elements in a list", .sub = NULL },
	{ .name = "lpush", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lpush_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Prepend elements to a list", .sub = NULL },
	{ .name = "lpushx", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lpushx_command,
	  .getkeys = NULL, .group = "list", .since = "2.2.0",
	  .summary = "Prepend elements to an existing list", .sub = NULL },
	{ .name = "lrange", .arity = 4, .flags = CMD_READONLY,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lrange_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Get a range of elements of a list", .sub = NULL },
	{ .name = "lrem", .arity = 4, .flags = CMD_WRITE,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lrem_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Remove elements equal to a value", .sub = NULL },
	{ .name = "lset", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = lset_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Set a list element by index", .sub = NULL },
	{ .name = "ltrim", .arity = 4, .flags = CMD_WRITE,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = ltrim_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Trim a list to a range", .sub = NULL },
	{ .name = "rpop", .arity = -2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = rpop_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Remove and get the last elements of a list", .sub = NULL },
	{ .name = "rpoplpush", .arity = 3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_LIST, .first = 1, .last = 2, .step = 1, .proc = rpoplpush_command,
	  .getkeys = NULL, .group = "list", .since = "1.2.0",
	  .summary = "Move the last element of a list to the head of another", .sub = NULL },
	{ .name = "rpush", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = rpush_command,
	  .getkeys = NULL, .group = "list", .since = "1.0.0",
	  .summary = "Append elements to a list", .sub = NULL },
	{ .name = "rpushx", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_LIST, .first = 1, .last = 1, .step = 1, .proc = rpushx_command,
	  .getkeys = NULL, .group = "list", .since = "2.2.0",
	  .summary = "Append elements to an existing list", .sub = NULL },
	{ .name = "sadd", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = sadd_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Add members to a set", .sub = NULL },
	{ .name = "scard", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = scard_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Number of members of a set", .sub = NULL },
	{ .name = "sdiff", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_SET, .first = 1, .last = -1, .step = 1, .proc = sdiff_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Difference of sets", .sub = NULL },
	{ .name = "sdiffstore", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_SET, .first = 1, .last = -1, .step = 1, .proc = sdiffstore_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Store the difference of sets", .sub = NULL },
	{ .name = "sinter", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_SET, .first = 1, .last = -1, .step = 1, .proc = sinter_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Intersection of sets", .sub = NULL },
	{ .name = "sintercard", .arity = -3, .flags = CMD_READONLY|CMD_MOVABLE_KEYS,
	  .acl = ACL_SET, .first = 0, .last = 0, .step = 0, .proc = sintercard_command,
	  .getkeys = getkeys_sintercard, .group = "set", .since = "7.0.0",
	  .summary = "Cardinality of the intersection of sets", .sub = NULL },
	{ .name = "sinterstore", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_SET, .first = 1, .last = -1, .step = 1, .proc = sinterstore_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Store the intersection of sets", .sub = NULL },
	{ .name = "sismember", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = sismember_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Whether a value is a member of a set", .sub = NULL },
	{ .name = "smembers", .arity = 2, .flags = CMD_READONLY,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = smembers_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "All members of a set", .sub = NULL },
	{ .name = "smismember", .arity = -3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = smismember_command,
	  .getkeys = NULL, .group = "set", .since = "6.2.0",
	  .summary = "Whether each value is a member of a set", .sub = NULL },
	{ .name = "smove", .arity = 4, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_SET, .first = 1, .last = 2, .step = 1, .proc = smove_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Move a member from one set to another", .sub = NULL },
	{ .name = "spop", .arity = -2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = spop_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Remove and return random members of a set", .sub = NULL },
	{ .name = "srandmember", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = srandmember_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Random members of a set", .sub = NULL },
	{ .name = "srem", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = srem_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Remove members of a set", .sub = NULL },
	{ .name = "sscan", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_SET, .first = 1, .last = 1, .step = 1, .proc = sscan_command,
	  .getkeys = NULL, .group = "set", .since = "2.8.0",
	  .summary = "Iterate the members of a set", .sub = NULL },
	{ .name = "sunion", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_SET, .first = 1, .last = -1, .step = 1, .proc = sunion_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Union of sets", .sub = NULL },
	{ .name = "sunionstore", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_SET, .first = 1, .last = -1, .step = 1, .proc = sunionstore_command,
	  .getkeys = NULL, .group = "set", .since = "1.0.0",
	  .summary = "Store the union of sets", .sub = NULL },
	{ .name = "bzmpop", .arity = -5, .flags = CMD_WRITE|CMD_BLOCKING|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 0, .last = 0, .step = 0, .proc = bzmpop_command,
	  .getkeys = getkeys_bzmpop, .group = "sorted_set", .since = "7.0.0",
	  .summary = "Pop members with the lowest or highest scores, blocking", .sub = NULL },
	{ .name = "bzpopmax", .arity = -3, .flags = CMD_WRITE|CMD_NOSCRIPT|CMD_FAST|CMD_BLOCKING,
	  .acl = ACL_SORTEDSET, .first = 1, .last = -2, .step = 1, .proc = bzpopmax_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "5.0.0",
	  .summary = "Pop the member with the highest score, blocking", .sub = NULL },
	{ .name = "bzpopmin", .arity = -3, .flags = CMD_WRITE|CMD_NOSCRIPT|CMD_FAST|CMD_BLOCKING,
	  .acl = ACL_SORTEDSET, .first = 1, .last = -2, .step = 1, .proc = bzpopmin_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "5.0.0",
	  .summary = "Pop the member with the lowest score, blocking", .sub = NULL },
	{ .name = "zadd", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zadd_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Add members to a sorted set or update their scores", .sub = NULL },
	{ .name = "zcard", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zcard_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Number of members of a sorted set", .sub = NULL },
	{ .name = "zcount", .arity = 4, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zcount_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.0.0",
	  .summary = "Number of members within a score range", .sub = NULL },
	{ .name = "zdiff", .arity = -3, .flags = CMD_READONLY|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 0, .last = 0, .step = 0, .proc = zdiff_command,
	  .getkeys = getkeys_zdiff, .group = "sorted_set", .since = "6.2.0",
	  .summary = "Difference of sorted sets", .sub = NULL },
	{ .name = "zdiffstore", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zdiffstore_command,
	  .getkeys = getkeys_zdiffstore, .group = "sorted_set", .since = "6.2.0",
	  .summary = "Store the difference of sorted sets", .sub = NULL },
	{ .name = "zincrby", .arity = 4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zincrby_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Increment the score of a member", .sub = NULL },
	{ .name = "zinter", .arity = -3, .flags = CMD_READONLY|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 0, .last = 0, .step = 0, .proc = zinter_command,
	  .getkeys = getkeys_zinter, .group = "sorted_set", .since = "6.2.0",
	  .summary = "Intersection of sorted sets", .sub = NULL },
	{ .name = "zintercard", .arity = -3, .flags = CMD_READONLY|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 0, .last = 0, .step = 0, .proc = zintercard_command,
	  .getkeys = getkeys_zintercard, .group = "sorted_set", .since = "7.0.0",
	  .summary = "Cardinality of the intersection of sorted sets", .sub = NULL },
	{ .name = "zinterstore", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zinterstore_command,
	  .getkeys = getkeys_zinterstore, .group = "sorted_set", .since = "2.0.0",
	  .summary = "Store the intersection of sorted sets", .sub = NULL },
	{ .name = "zlexcount", .arity = 4, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zlexcount_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.8.9",
	  .summary = "Number of members within a lexicographical range", .sub = NULL },
	{ .name = "zmpop", .arity = -4, .flags = CMD_WRITE|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 0, .last = 0, .step = 0, .proc = zmpop_command,
	  .getkeys = getkeys_zmpop, .group = "sorted_set", .since = "7.0.0",
	  .summary = "Pop members with the lowest or highest scores", .sub = NULL },
	{ .name = "zmscore", .arity = -3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zmscore_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "6.2.0",
	  .summary = "Scores of several members", .sub = NULL },
	{ .name = "zpopmax", .arity = -2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zpopmax_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "5.0.0",
	  .summary = "Pop members with the highest scores", .sub = NULL },
	{ .name = "zpopmin", .arity = -2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zpopmin_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "5.0.0",
	  .summary = "Pop members with the lowest scores", .sub = NULL },
	{ .name = "zrandmember", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrandmember_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "6.2.0",
	  .summary = "Random members of a sorted set", .sub = NULL },
	{ .name = "zrange", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrange_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Members within a range of ranks, scores or lexicographical order", .sub = NULL },
	{ .name = "zrangebylex", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrangebylex_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.8.9",
	  .summary = "Members within a lexicographical range", .sub = NULL },
	{ .name = "zrangebyscore", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrangebyscore_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.0.5",
	  .summary = "Members within a score range", .sub = NULL },
	{ .name = "zrangestore", .arity = -5, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 2, .step = 1, .proc = zrangestore_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "6.2.0",
	  .summary = "Store a range of a sorted set", .sub = NULL },
	{ .name = "zrank", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrank_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.0.0",
	  .summary = "Rank of a member", .sub = NULL },
	{ .name = "zrem", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrem_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Remove members of a sorted set", .sub = NULL },
	{ .name = "zremrangebylex", .arity = 4, .flags = CMD_WRITE,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zremrangebylex_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.8.9",
	  .summary = "Remove members within a lexicographical range", .sub = NULL },
	{ .name = "zremrangebyrank", .arity = 4, .flags = CMD_WRITE,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zremrangebyrank_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.0.0",
	  .summary = "Remove members within a range of ranks", .sub = NULL },
	{ .name = "zremrangebyscore", .arity = 4, .flags = CMD_WRITE,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zremrangebyscore_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Remove members within a score range", .sub = NULL },
	{ .name = "zrevrange", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrevrange_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Members within a range of ranks, highest first", .sub = NULL },
	{ .name = "zrevrangebylex", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrevrangebylex_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.8.9",
	  .summary = "Members within a lexicographical range, highest first", .sub = NULL },
	{ .name = "zrevrangebyscore", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrevrangebyscore_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.2.0",
	  .summary = "Members within a score range, highest first", .sub = NULL },
	{ .name = "zrevrank", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zrevrank_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.0.0",
	  .summary = "Rank of a member, highest first", .sub = NULL },
	{ .name = "zscan", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zscan_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "2.8.0",
	  .summary = "Iterate the members and scores of a sorted set", .sub = NULL },
	{ .name = "zscore", .arity = 3, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zscore_command,
	  .getkeys = NULL, .group = "sorted_set", .since = "1.2.0",
	  .summary = "Score of a member", .sub = NULL },
	{ .name = "zunion", .arity = -3, .flags = CMD_READONLY|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 0, .last = 0, .step = 0, .proc = zunion_command,
	  .getkeys = getkeys_zunion, .group = "sorted_set", .since = "6.2.0",
	  .summary = "Union of sorted sets", .sub = NULL },
	{ .name = "zunionstore", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM|CMD_MOVABLE_KEYS,
	  .acl = ACL_SORTEDSET, .first = 1, .last = 1, .step = 1, .proc = zunionstore_command,
	  .getkeys = getkeys_zunionstore, .group = "sorted_set", .since = "2.0.0",
	  .summary = "Store the union of sorted sets", .sub = NULL },
	{ .name = "copy", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 2, .step = 1, .proc = copy_command,
	  .getkeys = NULL, .group = "generic", .since = "6.2.0",
	  .summary = "Copy a key's value to another key", .sub = NULL },
	{ .name = "del", .arity = -2, .flags = CMD_WRITE,
	  .acl = ACL_KEYSPACE, .first = 1, .last = -1, .step = 1, .proc = del_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "Delete keys", .sub = NULL },
	{ .name = "dump", .arity = 2, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = dump_command,
	  .getkeys = NULL, .group = "generic", .since = "2.6.0",
	  .summary = "A serialized copy of a key's value", .sub = NULL },
	{ .name = "restore", .arity = -4, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_KEYSPACE|ACL_DANGEROUS, .first = 1, .last = 1, .step = 1, .proc = restore_command,
	  .getkeys = NULL, .group = "generic", .since = "2.6.0",
	  .summary = "Create a key from a DUMP payload", .sub = NULL },
	{ .name = "exists", .arity = -2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = -1, .step = 1, .proc = exists_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "Number of the given keys that exist", .sub = NULL },
	{ .name = "expire", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = expire_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "Set a key's time to live in seconds", .sub = NULL },
	{ .name = "expireat", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = expireat_command,
	  .getkeys = NULL, .group = "generic", .since = "1.2.0",
	  .summary = "Set a key's expiry as a Unix time in seconds", .sub = NULL },
	{ .name = "expiretime", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = expiretime_command,
	  .getkeys = NULL, .group = "generic", .since = "7.0.0",
	  .summary = "A key's expiry as a Unix time in seconds", .sub = NULL },
	{ .name = "keys", .arity = 2, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE|ACL_DANGEROUS, .first = 0, .last = 0, .step = 0, .proc = keys_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "All keys matching a pattern", .sub = NULL },
	{ .name = "move", .arity = 3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = move_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "Move a key to another database", .sub = NULL },
	{ .name = "xack", .arity = -4, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xack_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Acknowledge entries of a consumer group", .sub = NULL },
	{ .name = "xadd", .arity = -5, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xadd_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Append an entry to a stream", .sub = NULL },
	{ .name = "xautoclaim", .arity = -6, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xautoclaim_command,
	  .getkeys = NULL, .group = "stream", .since = "6.2.0",
	  .summary = "Claim idle pending entries", .sub = NULL },
	{ .name = "xclaim", .arity = -6, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xclaim_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Change the owner of pending entries", .sub = NULL },
	{ .name = "xdel", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xdel_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Delete entries of a stream", .sub = NULL },
	{ .name = "xgroup", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Manage consumer groups", .sub = xgroup_subcommands },
	{ .name = "xinfo", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Inspect streams and consumer groups", .sub = xinfo_subcommands },
	{ .name = "xlen", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xlen_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Number of entries in a stream", .sub = NULL },
	{ .name = "xpending", .arity = -3, .flags = CMD_READONLY,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xpending_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Pending entries of a consumer group", .sub = NULL },
	{ .name = "xrange", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xrange_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Entries in an ID range", .sub = NULL },
	{ .name = "xread", .arity = -4, .flags = CMD_READONLY|CMD_BLOCKING|CMD_MOVABLE_KEYS,
	  .acl = ACL_STREAM, .first = 0, .last = 0, .step = 0, .proc = xread_command,
	  .getkeys = getkeys_xread, .group = "stream", .since = "5.0.0",
	  .summary = "Read entries from streams, blocking", .sub = NULL },
	{ .name = "xreadgroup", .arity = -7, .flags = CMD_WRITE|CMD_BLOCKING|CMD_MOVABLE_KEYS,
	  .acl = ACL_STREAM, .first = 0, .last = 0, .step = 0, .proc = xreadgroup_command,
	  .getkeys = getkeys_xreadgroup, .group = "stream", .since = "5.0.0",
	  .summary = "Read entries as a consumer of a group", .sub = NULL },
	{ .name = "xrevrange", .arity = -4, .flags = CMD_READONLY,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xrevrange_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Entries in an ID range, newest first", .sub = NULL },
	{ .name = "xsetid", .arity = -3, .flags = CMD_WRITE|CMD_DENYOOM|CMD_FAST,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xsetid_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Set the last ID of a stream", .sub = NULL },
	{ .name = "xtrim", .arity = -4, .flags = CMD_WRITE,
	  .acl = ACL_STREAM, .first = 1, .last = 1, .step = 1, .proc = xtrim_command,
	  .getkeys = NULL, .group = "stream", .since = "5.0.0",
	  .summary = "Trim a stream", .sub = NULL },
	{ .name = "object", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "generic", .since = "2.2.3",
	  .summary = "Inspect how keys are stored", .sub = object_subcommands },
	{ .name = "persist", .arity = 2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = persist_command,
	  .getkeys = NULL, .group = "generic", .since = "2.2.0",
	  .summary = "Remove a key's expiry", .sub = NULL },
	{ .name = "pexpire", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = pexpire_command,
	  .getkeys = NULL, .group = "generic", .since = "2.6.0",
	  .summary = "Set a key's time to live in milliseconds", .sub = NULL },
	{ .name = "pexpireat", .arity = -3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = pexpireat_command,
	  .getkeys = NULL, .group = "generic", .since = "2.6.0",
	  .summary = "Set a key's expiry as a Unix time in milliseconds", .sub = NULL },
	{ .name = "pexpiretime", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = pexpiretime_command,
	  .getkeys = NULL, .group = "generic", .since = "7.0.0",
	  .summary = "A key's expiry as a Unix time in milliseconds", .sub = NULL },
	{ .name = "pttl", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = pttl_command,
	  .getkeys = NULL, .group = "generic", .since = "2.6.0",
	  .summary = "A key's time to live in milliseconds", .sub = NULL },
	{ .name = "randomkey", .arity = 1, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE, .first = 0, .last = 0, .step = 0, .proc = randomkey_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "A random key", .sub = NULL },
	{ .name = "rename", .arity = 3, .flags = CMD_WRITE,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 2, .step = 1, .proc = rename_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "Rename a key", .sub = NULL },
	{ .name = "renamenx", .arity = 3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 2, .step = 1, .proc = renamenx_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "Rename a key only if the new name does not exist", .sub = NULL },
	{ .name = "scan", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_KEYSPACE, .first = 0, .last = 0, .step = 0, .proc = scan_command,
	  .getkeys = NULL, .group = "generic", .since = "2.8.0",
	  .summary = "Iterate the keyspace", .sub = NULL },
	{ .name = "sort", .arity = -2, .flags = CMD_WRITE|CMD_DENYOOM,
	  .acl = ACL_SET|ACL_SORTEDSET|ACL_LIST|ACL_DANGEROUS, .first = 1, .last = 1, .step = 1,
	  .proc = sort_command, .getkeys = getkeys_sort, .group = "generic", .since = "1.0.0",
	  .summary = "Sort the elements of a list, set or sorted set", .sub = NULL },
	{ .name = "sort_ro", .arity = -2, .flags = CMD_READONLY,
	  .acl = ACL_SET|ACL_SORTEDSET|ACL_LIST|ACL_DANGEROUS, .first = 1, .last = 1, .step = 1,
	  .proc = sort_ro_command, .getkeys = NULL, .group = "generic", .since = "7.0.0",
	  .summary = "Sort the elements of a list, set or sorted set, read-only", .sub = NULL },
	{ .name = "touch", .arity = -2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = -1, .step = 1, .proc = touch_command,
	  .getkeys = NULL, .group = "generic", .since = "3.2.1",
	  .summary = "Number of the given keys that exist (touching them)", .sub = NULL },
	{ .name = "ttl", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = ttl_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "A key's time to live in seconds", .sub = NULL },
	{ .name = "type", .arity = 2, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = 1, .step = 1, .proc = type_command,
	  .getkeys = NULL, .group = "generic", .since = "1.0.0",
	  .summary = "Type of a key's value", .sub = NULL },
	{ .name = "unlink", .arity = -2, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 1, .last = -1, .step = 1, .proc = unlink_command,
	  .getkeys = NULL, .group = "generic", .since = "4.0.0",
	  .summary = "Delete keys", .sub = NULL },
	{ .name = "auth", .arity = -2, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_NO_AUTH|CMD_SENTINEL|CMD_ALLOW_BUSY,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = auth_command,
	  .getkeys = NULL, .group = "connection", .since = "1.0.0",
	  .summary = "Authenticate the connection", .sub = NULL },
	{ .name = "client", .arity = -2, .flags = CMD_SENTINEL,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "connection", .since = "2.4.0",
	  .summary = "Manage client connections", .sub = client_subcommands },
	{ .name = "echo", .arity = 2, .flags = CMD_LOADING|CMD_STALE|CMD_FAST,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = echo_command,
	  .getkeys = NULL, .group = "connection", .since = "1.0.0",
	  .summary = "Return the given string", .sub = NULL },
	{ .name = "hello", .arity = -1, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_NO_AUTH|CMD_SENTINEL|CMD_ALLOW_BUSY,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = hello_command,
	  .getkeys = NULL, .group = "connection", .since = "6.0.0",
	  .summary = "Handshake: protocol version, authentication, client name", .sub = NULL },
	{ .name = "ping", .arity = -1, .flags = CMD_FAST|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = ping_command,
	  .getkeys = NULL, .group = "connection", .since = "1.0.0",
	  .summary = "Ping the server", .sub = NULL },
	{ .name = "quit", .arity = -1, .flags = CMD_ALLOW_BUSY|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_NO_AUTH,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = quit_command,
	  .getkeys = NULL, .group = "connection", .since = "1.0.0",
	  .summary = "Close the connection", .sub = NULL },
	{ .name = "reset", .arity = 1, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_NO_AUTH|CMD_ALLOW_BUSY,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = reset_command,
	  .getkeys = NULL, .group = "connection", .since = "6.2.0",
	  .summary = "Reset the connection state", .sub = NULL },
	{ .name = "select", .arity = 2, .flags = CMD_LOADING|CMD_STALE|CMD_FAST,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = select_command,
	  .getkeys = NULL, .group = "connection", .since = "1.0.0",
	  .summary = "Change the selected database", .sub = NULL },
	{ .name = "command", .arity = -1, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = command_command,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Information about commands", .sub = command_subcommands },
	{ .name = "config", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "server", .since = "2.0.0",
	  .summary = "Manage the server configuration", .sub = config_subcommands },
	{ .name = "dbsize", .arity = 1, .flags = CMD_READONLY|CMD_FAST,
	  .acl = ACL_KEYSPACE, .first = 0, .last = 0, .step = 0, .proc = dbsize_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Number of keys", .sub = NULL },
	{ .name = "flushall", .arity = -1, .flags = CMD_WRITE,
	  .acl = ACL_KEYSPACE|ACL_DANGEROUS, .first = 0, .last = 0, .step = 0, .proc = flushall_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Delete every key", .sub = NULL },
	{ .name = "flushdb", .arity = -1, .flags = CMD_WRITE,
	  .acl = ACL_KEYSPACE|ACL_DANGEROUS, .first = 0, .last = 0, .step = 0, .proc = flushdb_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Delete every key of the database", .sub = NULL },
	{ .name = "info", .arity = -1, .flags = CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = ACL_DANGEROUS, .first = 0, .last = 0, .step = 0, .proc = info_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Information and statistics about the server", .sub = NULL },
	{ .name = "lastsave", .arity = 1, .flags = CMD_LOADING|CMD_STALE|CMD_FAST,
	  .acl = ACL_ADMIN|ACL_DANGEROUS, .first = 0, .last = 0, .step = 0, .proc = lastsave_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Unix time of the last flush to disk", .sub = NULL },
	{ .name = "memory", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Memory usage", .sub = memory_subcommands },
	{ .name = "save", .arity = 1, .flags = CMD_NO_ASYNC_LOADING|CMD_ADMIN|CMD_NOSCRIPT|CMD_NO_MULTI,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = save_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Flush every write to stable storage", .sub = NULL },
	{ .name = "bgsave", .arity = -1, .flags = CMD_NO_ASYNC_LOADING|CMD_ADMIN|CMD_NOSCRIPT,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = bgsave_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Flush every write to stable storage in the background", .sub = NULL },
	{ .name = "bgrewriteaof", .arity = 1, .flags = CMD_NO_ASYNC_LOADING|CMD_ADMIN|CMD_NOSCRIPT,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = bgrewriteaof_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Compact the store's value log", .sub = NULL },
	{ .name = "shutdown", .arity = -1, .flags = CMD_ADMIN|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_NO_MULTI|CMD_SENTINEL|CMD_ALLOW_BUSY,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = shutdown_command,
	  .getkeys = NULL, .group = "server", .since = "1.0.0",
	  .summary = "Stop the server", .sub = NULL },
	{ .name = "swapdb", .arity = 3, .flags = CMD_WRITE|CMD_FAST,
	  .acl = ACL_KEYSPACE|ACL_DANGEROUS, .first = 0, .last = 0, .step = 0, .proc = swapdb_command,
	  .getkeys = NULL, .group = "server", .since = "4.0.0",
	  .summary = "Swap two databases", .sub = NULL },
	{ .name = "time", .arity = 1, .flags = CMD_LOADING|CMD_STALE|CMD_FAST,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = time_command,
	  .getkeys = NULL, .group = "server", .since = "2.6.0",
	  .summary = "The server time", .sub = NULL },
	{ .name = "wait", .arity = 3, .flags = CMD_NOSCRIPT,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = wait_command,
	  .getkeys = NULL, .group = "generic", .since = "3.0.0",
	  .summary = "Wait for replicas to acknowledge writes", .sub = NULL },
	{ .name = "slowlog", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "server", .since = "2.2.12",
	  .summary = "The slow log", .sub = slowlog_subcommands },
	{ .name = "latency", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "server", .since = "2.8.13",
	  .summary = "Latency monitoring", .sub = latency_subcommands },
	{ .name = "readonly", .arity = 1, .flags = CMD_FAST|CMD_LOADING|CMD_STALE,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = readonly_command,
	  .getkeys = NULL, .group = "cluster", .since = "3.0.0",
	  .summary = "Enable reads on a cluster replica", .sub = NULL },
	{ .name = "readwrite", .arity = 1, .flags = CMD_FAST|CMD_LOADING|CMD_STALE,
	  .acl = ACL_CONNECTION, .first = 0, .last = 0, .step = 0, .proc = readwrite_command,
	  .getkeys = NULL, .group = "cluster", .since = "3.0.0",
	  .summary = "Disable reads on a cluster replica", .sub = NULL },
	{ .name = "psubscribe", .arity = -2, .flags = CMD_PUBSUB|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = psubscribe_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.0.0",
	  .summary = "Subscribe to channels matching patterns", .sub = NULL },
	{ .name = "publish", .arity = 3, .flags = CMD_PUBSUB|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_MAY_REPLICATE|CMD_SENTINEL,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = publish_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.0.0",
	  .summary = "Post a message to a channel", .sub = NULL },
	{ .name = "pubsub", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "pubsub", .since = "2.8.0",
	  .summary = "Inspect the pub/sub state", .sub = pubsub_subcommands },
	{ .name = "punsubscribe", .arity = -1, .flags = CMD_PUBSUB|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = punsubscribe_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.0.0",
	  .summary = "Stop listening to patterns", .sub = NULL },
	{ .name = "spublish", .arity = 3, .flags = CMD_PUBSUB|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_MAY_REPLICATE,
	  .acl = 0, .first = 1, .last = 1, .step = 1, .proc = spublish_command,
	  .getkeys = NULL, .group = "pubsub", .since = "7.0.0",
	  .summary = "Post a message to a shard channel", .sub = NULL },
	{ .name = "ssubscribe", .arity = -2, .flags = CMD_PUBSUB|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 1, .last = -1, .step = 1, .proc = ssubscribe_command,
	  .getkeys = NULL, .group = "pubsub", .since = "7.0.0",
	  .summary = "Subscribe to shard channels", .sub = NULL },
	{ .name = "subscribe", .arity = -2, .flags = CMD_PUBSUB|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = subscribe_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.0.0",
	  .summary = "Subscribe to channels", .sub = NULL },
	{ .name = "sunsubscribe", .arity = -1, .flags = CMD_PUBSUB|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE,
	  .acl = 0, .first = 1, .last = -1, .step = 1, .proc = sunsubscribe_command,
	  .getkeys = NULL, .group = "pubsub", .since = "7.0.0",
	  .summary = "Stop listening to shard channels", .sub = NULL },
	{ .name = "unsubscribe", .arity = -1, .flags = CMD_PUBSUB|CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SENTINEL,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = unsubscribe_command,
	  .getkeys = NULL, .group = "pubsub", .since = "2.0.0",
	  .summary = "Stop listening to channels", .sub = NULL },
	{ .name = "discard", .arity = 1, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_ALLOW_BUSY,
	  .acl = ACL_TRANSACTION, .first = 0, .last = 0, .step = 0, .proc = discard_command,
	  .getkeys = NULL, .group = "transactions", .since = "2.0.0",
	  .summary = "Discard a transaction", .sub = NULL },
	{ .name = "exec", .arity = 1, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_SKIP_SLOWLOG,
	  .acl = ACL_TRANSACTION, .first = 0, .last = 0, .step = 0, .proc = exec_command,
	  .getkeys = NULL, .group = "transactions", .since = "1.2.0",
	  .summary = "Execute a transaction", .sub = NULL },
	{ .name = "multi", .arity = 1, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_ALLOW_BUSY,
	  .acl = ACL_TRANSACTION, .first = 0, .last = 0, .step = 0, .proc = multi_command,
	  .getkeys = NULL, .group = "transactions", .since = "1.2.0",
	  .summary = "Start a transaction", .sub = NULL },
	{ .name = "unwatch", .arity = 1, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_ALLOW_BUSY,
	  .acl = ACL_TRANSACTION, .first = 0, .last = 0, .step = 0, .proc = unwatch_command,
	  .getkeys = NULL, .group = "transactions", .since = "2.2.0",
	  .summary = "Forget the watched keys", .sub = NULL },
	{ .name = "watch", .arity = -2, .flags = CMD_NOSCRIPT|CMD_LOADING|CMD_STALE|CMD_FAST|CMD_ALLOW_BUSY,
	  .acl = ACL_TRANSACTION, .first = 1, .last = -1, .step = 1, .proc = watch_command,
	  .getkeys = NULL, .group = "transactions", .since = "2.2.0",
	  .summary = "Watch keys for changes before a transaction", .sub = NULL },
	{ .name = "eval", .arity = -3, .flags = CMD_NOSCRIPT|CMD_SKIP_MONITOR|CMD_MAY_REPLICATE|CMD_NO_MANDATORY_KEYS|CMD_STALE|CMD_MOVABLE_KEYS,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = eval_command,
	  .getkeys = getkeys_eval, .group = "scripting", .since = "2.6.0",
	  .summary = "Run a Lua script", .sub = NULL },
	{ .name = "eval_ro", .arity = -3, .flags = CMD_NOSCRIPT|CMD_SKIP_MONITOR|CMD_NO_MANDATORY_KEYS|CMD_STALE|CMD_READONLY|CMD_MOVABLE_KEYS,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = eval_ro_command,
	  .getkeys = getkeys_eval, .group = "scripting", .since = "7.0.0",
	  .summary = "Run a read-only Lua script", .sub = NULL },
	{ .name = "evalsha", .arity = -3, .flags = CMD_NOSCRIPT|CMD_SKIP_MONITOR|CMD_MAY_REPLICATE|CMD_NO_MANDATORY_KEYS|CMD_STALE|CMD_MOVABLE_KEYS,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = evalsha_command,
	  .getkeys = getkeys_eval, .group = "scripting", .since = "2.6.0",
	  .summary = "Run a cached Lua script by its SHA1", .sub = NULL },
	{ .name = "evalsha_ro", .arity = -3, .flags = CMD_NOSCRIPT|CMD_SKIP_MONITOR|CMD_NO_MANDATORY_KEYS|CMD_STALE|CMD_READONLY|CMD_MOVABLE_KEYS,
	  .acl = ACL_SCRIPTING, .first = 0, .last = 0, .step = 0, .proc = evalsha_ro_command,
	  .getkeys = getkeys_eval, .group = "scripting", .since = "7.0.0",
	  .summary = "Run a cached read-only Lua script by its SHA1", .sub = NULL },
	{ .name = "script", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "scripting", .since = "2.6.0",
	  .summary = "Manage the script cache", .sub = script_subcommands },
	{ .name = "function", .arity = -2, .flags = 0,
	  .acl = 0, .first = 0, .last = 0, .step = 0, .proc = NULL,
	  .getkeys = NULL, .group = "scripting", .since = "7.0.0",
	  .summary = "Manage functions", .sub = function_subcommands },
};

static struct dict cmd_dict;

static void init_one(struct cmd *c, struct cmd *parent)
{
	c->parent = parent;
	if (parent) {
		snprintf(c->fullname, sizeof(c->fullname), "%s|%s", parent->name, c->name);
	} else {
		snprintf(c->fullname, sizeof(c->fullname), "%s", c->name);
	}
	/* ACL categories implied by flags, as Redis derives them */
	if (c->flags & CMD_WRITE)
		c->acl |= ACL_WRITE;
	if (c->flags & CMD_READONLY)
		c->acl |= ACL_READ;
	if (c->flags & CMD_ADMIN)
		c->acl |= ACL_ADMIN | ACL_DANGEROUS;
	if (c->flags & CMD_PUBSUB)
		c->acl |= ACL_PUBSUB;
	if (c->flags & CMD_FAST)
		c->acl |= ACL_FAST;
	if (c->flags & CMD_BLOCKING)
		c->acl |= ACL_BLOCKING;
	if (!(c->acl & ACL_FAST))
		c->acl |= ACL_SLOW;
	if (!c->complexity)
		c->complexity = "";
	if (c->sub)
		for (struct cmd *s = c->sub; s->name; s++)
			init_one(s, c);
}

void cmd_table_init(void)
{
	dict_init(&cmd_dict);
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		struct cmd *c = &cmd_table[i];

		if (!strcmp(c->name, "flushall") || !strcmp(c->name, "flushdb"))
			c->flags |= CMD_TOUCHES_ALL;
		init_one(c, NULL);
		call_table_init(c);
		dict_add(&cmd_dict, c->name, strlen(c->name), c, NULL);
	}
}

struct cmd *cmd_lookup_name(struct hkv_server *srv, const char *name, size_t len)
{
	char low[64];
	struct dict_entry *e;

	if (len >= sizeof(low))
		return NULL;
	/* the same name again (a pipeline of one command): no hashing */
	if (srv && len == srv->cmd_memo.len && srv->cmd_memo.cmd &&
	    !memcmp(srv->cmd_memo.name, name, len))
		return srv->cmd_memo.cmd;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	e = dict_find(&cmd_dict, low, len);
	if (e) {
		/* the static table never changes: its entries can be remembered */
		if (srv && len <= sizeof(srv->cmd_memo.name)) {
			memcpy(srv->cmd_memo.name, name, len);
			srv->cmd_memo.len = len;
			srv->cmd_memo.cmd = e->val;
		}
		return e->val;
	}
	for (int i = 0; srv && i < srv->next_ext; i++)
		if (strlen(srv->ext_cmds[i].name) == len && !memcmp(srv->ext_cmds[i].name, low, len))
			return &srv->ext_cmds[i];
	return NULL;
}

struct cmd *cmd_lookup(struct hkv_server *srv, int argc, char **argv, const size_t *argvlen)
{
	struct cmd *c = cmd_lookup_name(srv, argv[0], argvlen[0]);

	if (!c || !c->sub)
		return c;
	if (argc < 2)
		return c; /* the arity check reports it */
	for (struct cmd *s = c->sub; s->name; s++)
		if (strlen(s->name) == argvlen[1] && !strncasecmp(s->name, argv[1], argvlen[1]))
			return s;
	return NULL;
}

void cmd_foreach(struct hkv_server *srv, void (*fn)(struct cmd *, void *), void *arg)
{
	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
		fn(&cmd_table[i], arg);
	for (int i = 0; srv && i < srv->next_ext; i++)
		fn(&srv->ext_cmds[i], arg);
}

size_t cmd_count(struct hkv_server *srv)
{
	return sizeof(cmd_table) / sizeof(cmd_table[0]) + (srv ? (size_t)srv->next_ext : 0);
}

int cmd_getkeys(struct client *c, struct cmd *cmd, int *out, int max)
{
	int n = 0, last;

	if (cmd->getkeys)
		return cmd->getkeys(c, out, max);
	if (!cmd->first)
		return 0;
	last = cmd->last < 0 ? c->argc + cmd->last : cmd->last;
	for (int i = cmd->first; i <= last && i < c->argc && n < max; i += cmd->step ? cmd->step : 1)
		out[n++] = i;
	return n;
}
