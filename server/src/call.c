// SPDX-License-Identifier: MIT
/*
 * call.c - from a parsed request to a reply: Redis's processCommand() and call().
 *
 * process_command() resolves the command, checks arity, authentication, the transaction and
 * pub/sub contexts and a running script, and either queues the command (MULTI) or runs it.
 * call() runs one command: it marks the client as the author of the engine events that
 * follow (so its own writes are not reported a second time as foreign writes), times it for
 * INFO commandstats, and takes in the engine events before returning.
 *
 * Every rejection is counted in the command's rejected_calls and, by error code, in
 * errorstats; a command that replies with an error counts in failed_calls.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

static void reject(struct client *c, struct cmd *cmd, const char *msg)
{
	if (cmd)
		cmd->rejected++;
	/* a rejected EXEC discards the transaction, saying why (Redis's execCommandAbort) */
	if (cmd && !cmd->parent && !strcmp(cmd->name, "exec") && (c->flags & CL_MULTI)) {
		add_errorf(c, "-EXECABORT Transaction discarded because of: %s",
			   msg[0] == '-' ? msg + 1 : msg);
		multi_discard(c);
		return;
	}
	flag_transaction(c);
	add_error(c, msg);
}

/*
 * maxmemory with the noeviction policy, as Redis: over the limit, commands that may grow the
 * data (CMD_DENYOOM) are refused, and so is queueing inside MULTI (EXEC is refused if it
 * holds such a command). Memory is the process's allocated heap, as last sampled
 * (srv_mem_sample()).
 */
static bool oom_rejects(struct client *c, struct cmd *cmd)
{
	bool deny = (cmd->flags & CMD_DENYOOM) != 0;
	bool is_exec = !cmd->parent && !strcmp(cmd->name, "exec");

	if (!srv_over_maxmemory(c->srv))
		return false;
	if (is_exec && (c->flags & CL_MULTI))
		for (int i = 0; i < c->mcount && !deny; i++)
			deny = (c->mq[i].cmd->flags & CMD_DENYOOM) != 0;
	if ((c->flags & CL_MULTI) && !is_exec && !(!cmd->parent && (!strcmp(cmd->name, "discard") ||
								   !strcmp(cmd->name, "quit") ||
								   !strcmp(cmd->name, "reset"))))
		deny = true;
	return deny;
}

static bool is_container(struct hkv_server *srv, const char *name, size_t len)
{
	struct cmd *cmd = cmd_lookup_name(srv, name, len);

	return cmd && cmd->sub;
}

static void unknown_command(struct client *c)
{
	char args[160], msg[512], name[132];
	size_t al = 0;

	if (c->argc > 1 && is_container(c->srv, c->argv[0], c->argvlen[0])) {
		char up[64];
		size_t i;

		for (i = 0; i < c->argvlen[0] && i < sizeof(up) - 1; i++)
			up[i] = (char)((c->argv[0][i] >= 'a' && c->argv[0][i] <= 'z')
					       ? c->argv[0][i] - 32
					       : c->argv[0][i]);
		up[i] = 0;
		snprintf(msg, sizeof(msg), "unknown subcommand '%.128s'. Try %s HELP.", c->argv[1],
			 up);
	} else {
		args[0] = 0;
		for (int i = 1; i < c->argc && al < 128; i++) {
			int n = snprintf(args + al, sizeof(args) - al, "'%.*s' ",
					 (int)(128 - al < c->argvlen[i] ? 128 - al : c->argvlen[i]),
					 c->argv[i]);

			if (n < 0)
				break;
			al += (size_t)n;
			if (al >= sizeof(args))
				al = sizeof(args) - 1;
		}
		snprintf(name, sizeof(name), "%.*s",
			 (int)(c->argvlen[0] > 128 ? 128 : c->argvlen[0]), c->argv[0]);
		snprintf(msg, sizeof(msg), "unknown command '%s', with args beginning with: %s",
			 name, args);
	}
	/* user bytes must not break the protocol line */
	for (char *p = msg; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	reject(c, NULL, msg);
}

/*
 * Write commands that make one engine write whatever their arguments (or one per key that
 * the engine applies atomically) run as they are; every other write command runs inside one
 * engine transaction, so that MSET, SMOVE, ZUNIONSTORE, a variadic HSET or LPUSH... are seen
 * by every reader, and survive a crash, wholly or not at all.
 */
void call_table_init(struct cmd *cmd)
{
	static const char *const single[] = {
		"set", "setnx", "setex", "psetex", "getset", "incr", "decr", "incrby", "decrby",
		"incrbyfloat", "append", "setrange", "setbit", "hsetnx", "hincrby", "lset",
		"linsert", "lrem", "expire", "pexpire", "expireat", "pexpireat", "persist",
		"rename", "renamenx", "flushall", "flushdb", NULL,
	};
	/* variadic commands whose one-element form is one engine write */
	static const struct {
		const char *name;
		int argc;
	} one[] = {
		{ "del", 2 },	{ "unlink", 2 }, { "hset", 4 },  { "hmset", 4 }, { "hdel", 3 },
		{ "lpush", 3 }, { "rpush", 3 },	 { "lpushx", 3 }, { "rpushx", 3 }, { "sadd", 3 },
		{ "srem", 3 },	{ "zadd", 4 },	 { "zrem", 3 },	 { "lpop", 2 },	 { "rpop", 2 },
	};

	if (cmd->parent)
		return;
	for (int i = 0; single[i]; i++)
		if (!strcmp(cmd->name, single[i]))
			cmd->single_write = true;
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (!strcmp(cmd->name, one[i].name))
			cmd->txn_free_argc = one[i].argc;
}

static bool needs_txn(struct client *c, struct cmd *cmd)
{
	if (!(cmd->flags & CMD_WRITE) || cmd->parent || cmd->ext || c->db != c->srv->db)
		return false;
	return !cmd->single_write && c->argc != cmd->txn_free_argc;
}

static int txn_body(struct hkv *tx, void *arg)
{
	struct client *c = arg;

	c->db = tx;
	c->cmd->proc(c);
	c->db = c->srv->db;
	return 0;
}

/*
 * Run @c's command in one engine transaction. If the transaction cannot be applied (a full
 * disk, an I/O error), nothing of it is in the store: its reply is replaced by the error.
 */
void call_in_txn(struct client *c)
{
	size_t before = c->out.len;
	int rc = hkv_txn_run(c->srv->db, txn_body, c);

	if (rc < 0) {
		if (c->out.len >= before)
			c->out.len = before;
		srv_log(c->srv, 0, "a transaction could not be applied: %s", hkv_strerror(rc));
		add_err_engine(c, rc);
	}
}

void call(struct client *c, struct cmd *cmd)
{
	struct hkv_server *srv = c->srv;
	struct client *prev_exec = srv->exec_client;
	bool prev_all = srv->touches_all;
	int64_t start = srv->call_start_us ? srv->call_start_us : srv_now_us(), dur;

	c->cmd = cmd;
	c->lastcmd = cmd;
	c->cmd_failed = false;
	srv->call_start_us = 0; /* a call() nested in this one reads the clock */
	srv->exec_client = c;
	srv->touches_all = (cmd->flags & CMD_TOUCHES_ALL) != 0;
	if (needs_txn(c, cmd))
		call_in_txn(c);
	else
		cmd->proc(c);
	drain_watch_events(srv);
	srv->exec_client = prev_exec;
	srv->touches_all = prev_all;
	srv->call_end_us = srv_now_us();
	dur = srv->call_end_us - start;
	if (cmd->flags & CMD_WRITE)
		write_done(srv);
	/* a command that blocked is counted once, when it is served or times out */
	if (!(c->flags & CL_BLOCKED)) {
		cmd->calls++;
		cmd->usec += (uint64_t)dur;
		if (c->cmd_failed)
			cmd->failed++;
		if (!(cmd->flags & CMD_SKIP_SLOWLOG) && !(c->flags & CL_FAKE))
			slowlog_push(c, dur);
	}
	srv->st.commands++;
	c->lastcmd = cmd;
}

static bool allowed_in_pubsub(struct cmd *cmd)
{
	static const char *const ok[] = { "ping", "subscribe", "ssubscribe", "unsubscribe",
					  "sunsubscribe", "psubscribe", "punsubscribe", "quit",
					  "reset", NULL };

	if (cmd->parent)
		return false;
	for (int i = 0; ok[i]; i++)
		if (!strcmp(cmd->name, ok[i]))
			return true;
	return false;
}

static bool is(struct cmd *cmd, const char *name)
{
	return !cmd->parent && !strcmp(cmd->name, name);
}

void process_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	struct cmd *cmd;
	char msg[256];

	cmd = cmd_lookup(srv, c->argc, c->argv, c->argvlen);
	if (!cmd) {
		unknown_command(c);
		goto out;
	}
	c->cmd = cmd;
	if ((cmd->arity > 0 && cmd->arity != c->argc) || c->argc < -cmd->arity) {
		snprintf(msg, sizeof(msg), "wrong number of arguments for '%s' command",
			 cmd->fullname);
		reject(c, cmd, msg);
		goto out;
	}
	if (!c->authenticated && !(cmd->flags & CMD_NO_AUTH)) {
		reject(c, cmd, "-NOAUTH Authentication required.");
		goto out;
	}
	/* a script past its time limit serves the loop from its hook (script.c) */
	if (script_timedout(srv) && !(cmd->flags & CMD_ALLOW_BUSY)) {
		reject(c, cmd, "-BUSY Redis is busy running a script. You can only call SCRIPT "
			       "KILL or SHUTDOWN NOSAVE.");
		goto out;
	}
	evict_if_needed(srv, c);
	if (oom_rejects(c, cmd)) {
		reject(c, cmd, "-OOM command not allowed when used memory > 'maxmemory'.");
		goto out;
	}
	if ((c->flags & CL_MULTI) && (cmd->flags & CMD_NO_MULTI)) {
		reject(c, cmd, "Command not allowed inside a transaction");
		goto out;
	}
	if ((c->flags & CL_PUBSUB) && c->out.proto == 2 && !allowed_in_pubsub(cmd)) {
		snprintf(msg, sizeof(msg),
			 "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
			 "QUIT / RESET are allowed in this context",
			 cmd->fullname);
		reject(c, cmd, msg);
		goto out;
	}
	if ((c->flags & CL_MULTI) && !is(cmd, "exec") && !is(cmd, "discard") &&
	    !is(cmd, "multi") && !is(cmd, "watch") && !is(cmd, "quit") && !is(cmd, "reset")) {
		multi_queue(c);
		goto out;
	}
	call(c, cmd);
out:
	/* CLIENT REPLY SKIP mutes exactly the command after it */
	if (!(c->flags & CL_MULTI) && !(c->lastcmd && c->lastcmd->parent &&
					 !strcmp(c->lastcmd->parent->name, "client") &&
					 !strcmp(c->lastcmd->name, "reply")))
		c->flags &= ~CL_REPLY_SKIP;
	if (c->flags & CL_REPLY_SKIP_NEXT) {
		c->flags |= CL_REPLY_SKIP;
		c->flags &= ~CL_REPLY_SKIP_NEXT;
	}
	return;
}
