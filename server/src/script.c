// SPDX-License-Identifier: MIT
/*
 * script.c - Lua scripting, Redis 7.0's EVAL flavour: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and
 * SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP, on Debian's Lua 5.1.
 *
 * One Lua state per server (srv->lua, a struct lua_ctx), created with the server's first
 * script and recreated by SCRIPT FLUSH. A script is compiled once into a function kept in
 * the Lua registry under "f_<sha1 of the body>"; the script cache maps the 40 hex digits to
 * the flags of the script's "#!lua flags=..." line (Redis 7.0's shebang: no-writes,
 * allow-oom, allow-stale, no-cluster, allow-cross-slot-keys). A script without that line runs
 * in compatibility mode, as in Redis: it may write, and EVAL_RO alone makes it read-only.
 *
 * Running a script (script_run()):
 *   - The whole script is one engine transaction (hkv_txn_run(), as EXEC): every command it
 *     calls reads and writes through the transaction's handle, so other readers and every
 *     other door (the mount, hkvctl) see all of its writes or none, and a crash keeps all or
 *     none. Inside MULTI or a pipeline batch the transaction nests in the enclosing one. A
 *     runtime error keeps the writes made before it (Redis's rule: scripts are not rolled
 *     back); only SHUTDOWN during a script aborts the transaction, so nothing of a script
 *     interrupted that way is in the store. Writers of the other doors wait while a script
 *     runs (the engine's rule for every transaction); readers do not.
 *   - redis.call() and redis.pcall() run a command on the script client (a fake client:
 *     no socket, CL_FAKE) through call(), after the checks Redis makes: known command,
 *     arity, not CMD_NOSCRIPT, no write from a read-only script, MISCONF, maxmemory. Its
 *     reply, written in the script's protocol (RESP2 unless redis.setresp(3)), is parsed back
 *     (hkv_resp_reader) and converted to a Lua value with Redis's rules:
 *
 *       command's reply             Lua value
 *       integer                     number
 *       bulk string                 string
 *       RESP2 null (bulk, array)    false
 *       RESP3 null                  nil
 *       status, error               {ok="..."}, {err="CODE message"}
 *       array                       table 1..n
 *       map, set (RESP3)            {map={k=v}}, {set={m=true}}
 *       double, big number (RESP3)  {double=n}, {big_number="..."}
 *       boolean (RESP3)             boolean
 *
 *     and the script's return value goes back to the caller by the reverse rules: a number
 *     is truncated to an integer (LLONG_MIN when it does not fit), true is :1 (RESP3 #t),
 *     false and nil are null, a table with a string "err" / "ok" field is an error / status
 *     reply, one with "double", "big_number", "verbatim_string", "map" or "set" that RESP3
 *     type, any other table an array cut at its first nil; functions and such are null.
 *   - An error raised in the script becomes "-CODE message script: f_<sha>, on
 *     @user_script:<line>." (the message handler records where); an error that a command
 *     already counted in errorstats carries ignore_error_stats_update and is not counted again.
 *   - The keyspace events of the script's writes are the caller's own (srv->in_batch collects
 *     the keys, as a pipeline batch does); clients blocked on keys the script filled are
 *     served after it ends. Inside EXEC, a write to a key named in none of EXEC's arguments
 *     is reported once more, as a foreign write, when EXEC commits.
 *
 * The sandbox. Debian's Lua has no read-only tables (Redis patches its own copy), so the
 * globals a script sees are an empty proxy table whose metatable reads through to the real
 * globals and raises "Attempt to modify a readonly table" on any assignment, and "Script
 * attempted to access nonexistent global variable" on a missing name; the library tables
 * (redis, string, math, table, coroutine, cjson, bit) are read-only proxies of the same kind,
 * and so are the metatables a script can reach (the globals', the strings'). The functions
 * that could go around a metatable are wrapped: rawset, setmetatable and table.insert refuse
 * a protected table, getfenv never returns the real globals, setfenv cannot replace a
 * thread's globals, loadstring/load refuse precompiled chunks and give what they load the
 * proxy as globals. dofile, loadfile, print, os, io, package, require and debug do not exist.
 * Of the libraries Redis bundles, cjson and bit are Debian's (lua-cjson, LuaBitOp);
 * cmsgpack and struct have no Debian package and are not provided.
 *
 * Busy scripts. The event loop is single-threaded and the script runs on it. A count hook
 * (every 100000 Lua instructions) checks the run time; past busy-reply-threshold
 * (lua-time-limit, CONFIG SET-able, 5000 ms by default; 0 disables the hook) the script is
 * "timed out" and the hook serves the event loop itself, as Redis's processEventsWhileBlocked:
 * it accepts connections, reads other clients and runs their commands (process_command()
 * answers everything but CMD_ALLOW_BUSY commands with -BUSY), and writes their replies. The
 * caller's socket is masked meanwhile (its pipelined commands wait, its connection is never
 * freed under the script: clients are freed only at the end of a loop iteration). Replies
 * that were already waiting when the script timed out are held until the loop's own flush if
 * the loop still owes them a group flush (appendfsync always) or the embedder's before_reply
 * hook: neither can run inside the script's transaction, and a write is never acknowledged
 * before them.
 * SCRIPT KILL marks a script that has not written as killed; the hook then raises an error
 * on every line so that pcall cannot swallow it. A script that wrote gets -UNKILLABLE.
 * SHUTDOWN NOSAVE stops the server: the hook kills the script whatever it did, and its
 * transaction is aborted.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
/* lua-cjson and LuaBitOp (Debian's lua-cjson-dev, lua-bitop-dev) */
#include <lua-bitop.h>
#include <lua-cjson.h>

#include "server_int.h"

/* shebang flags */
#define SF_COMPAT (1u << 0) /* no shebang: Redis's pre-7.0 behaviour */
#define SF_NO_WRITES (1u << 1)
#define SF_ALLOW_OOM (1u << 2)
#define SF_ALLOW_STALE (1u << 3)
#define SF_NO_CLUSTER (1u << 4)
#define SF_ALLOW_CROSS_SLOT (1u << 5)

#define HOOK_COUNT 100000
#define BUSY_ERR "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or " \
		 "SHUTDOWN NOSAVE."
#define NOSCRIPT_ERR "-NOSCRIPT No matching script. Please use EVAL."
#define RO_TABLE_ERR "Attempt to modify a readonly table"

/** struct script - a cached script. */
struct script {
	uint32_t flags;
};

/** struct script_run - the script running now (one at most). */
struct script_run {
	struct client *caller;
	char funcname[43];
	int argc;
	char **argv;
	size_t *argvlen;
	long long numkeys;
	bool ro;        /* no write command may run */
	bool allow_oom;
	bool dirty;     /* a write command ran: SCRIPT KILL refuses */
	bool timedout;  /* past the threshold: the hook serves the loop */
	bool killed;
	bool aborted;   /* killed by SHUTDOWN: the transaction is dropped */
	int64_t start_ms;
	long long threshold;
	int epoll_masked;
};

/** struct lua_ctx - srv->lua. */
struct lua_ctx {
	struct hkv_server *srv;
	lua_State *L;
	struct dict scripts; /* 40 hex digits -> struct script */
	struct client *sc;   /* the script client: runs redis.call() */
	struct script_run *run;
	uint64_t runs;
};

static const char ctx_key = 'k';     /* registry: light userdata -> struct lua_ctx */
static const char ro_key = 'r';      /* registry: weak set of protected tables */
static const char env_key = 'e';     /* registry: the globals proxy */

/* -------------------------------------------------------------------------------------
 * SHA-1 (FIPS 180-4): the scripts' names, and redis.sha1hex()
 * ------------------------------------------------------------------------------------- */

static uint32_t rol32(uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol32(b, 30), b = a, a = t;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* @out: 41 bytes, lower-case hex and a NUL. */
static void sha1hex(char *out, const void *data, size_t len)
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t rest = len % 64, tl;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i + 64 <= len; i += 64)
		sha1_block(h, p + i);
	memcpy(tail, p + len - rest, rest);
	tail[rest] = 0x80;
	tl = rest < 56 ? 64 : 128;
	memset(tail + rest + 1, 0, tl - rest - 1);
	for (int i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tl == 128)
		sha1_block(h, tail + 64);
	for (int i = 0; i < 5; i++)
		sprintf(out + 8 * i, "%08x", h[i]);
}

/* -------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------- */

/*
 * A Lua number as a long long, as Redis converts it (a cast on x86-64): what does not fit,
 * NaN included, is LLONG_MIN; without the check the cast would be undefined behaviour.
 */
static long long num2ll(lua_Number d)
{
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return LLONG_MIN;
	return (long long)d;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct lua_ctx *ctx_of(lua_State *L)
{
	struct lua_ctx *ctx;

	lua_pushlightuserdata(L, (void *)&ctx_key);
	lua_rawget(L, LUA_REGISTRYINDEX);
	ctx = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return ctx;
}

static bool is_protected(lua_State *L, int idx)
{
	bool ro;

	if (!lua_istable(L, idx))
		return false;
	if (idx < 0 && idx > LUA_REGISTRYINDEX)
		idx = lua_gettop(L) + idx + 1;
	lua_pushlightuserdata(L, (void *)&ro_key);
	lua_rawget(L, LUA_REGISTRYINDEX);
	lua_pushvalue(L, idx);
	lua_rawget(L, -2);
	ro = lua_toboolean(L, -1);
	lua_pop(L, 2);
	return ro;
}

static void mark_protected(lua_State *L, int idx)
{
	if (idx < 0 && idx > LUA_REGISTRYINDEX)
		idx = lua_gettop(L) + idx + 1;
	lua_pushlightuserdata(L, (void *)&ro_key);
	lua_rawget(L, LUA_REGISTRYINDEX);
	lua_pushvalue(L, idx);
	lua_pushboolean(L, 1);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/*
 * Push Redis's error table {err="CODE message"} for @msg: "-CODE message" keeps its code,
 * anything else gets ERR; trailing CR/LF are dropped. @counted: the error is already in the
 * error statistics (a command's error reply, a command refused): the script's own error
 * reply, if it comes from this table, is not counted a second time (as Redis).
 */
static void push_error_table_ex(lua_State *L, const char *msg, size_t len, bool counted)
{
	luaL_Buffer b;
	const char *sp;

	while (len && (msg[len - 1] == '\r' || msg[len - 1] == '\n'))
		len--;
	luaL_buffinit(L, &b);
	if (len && msg[0] == '-') {
		sp = memchr(msg, ' ', len);
		if (!sp) {
			luaL_addstring(&b, "ERR ");
			luaL_addlstring(&b, msg + 1, len - 1);
		} else {
			luaL_addlstring(&b, msg + 1, len - 1);
		}
	} else {
		luaL_addstring(&b, "ERR ");
		luaL_addlstring(&b, msg, len);
	}
	lua_newtable(L);
	lua_pushstring(L, "err");
	luaL_pushresult(&b);
	lua_rawset(L, -3);
	if (counted) {
		lua_pushstring(L, "ignore_error_stats_update");
		lua_pushboolean(L, 1);
		lua_rawset(L, -3);
	}
}

static void push_error_table(lua_State *L, const char *msg, size_t len)
{
	push_error_table_ex(L, msg, len, false);
}

#define push_error_lit(L, lit) push_error_table(L, lit, sizeof(lit) - 1)

/* An error reply to @c that is not counted in the error statistics (see above). */
static void add_error_counted(struct client *c, const char *msg)
{
	c->cmd_failed = true;
	if ((c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) && !(c->flags & CL_PUSHING))
		return;
	client_pushed(c);
	hkv_resp_error(&c->out, msg);
}

static int raise_error(lua_State *L, const char *msg)
{
	push_error_table(L, msg, strlen(msg));
	return lua_error(L);
}

/* -------------------------------------------------------------------------------------
 * RESP -> Lua
 * ------------------------------------------------------------------------------------- */

static void push_resp(lua_State *L, const struct hkv_resp_value *v, int proto, int depth)
{
	if (depth > 1000 || !lua_checkstack(L, 4)) {
		push_error_lit(L, "reached lua stack limit");
		return;
	}
	switch (v->type) {
	case HKV_RESP_INTEGER:
		lua_pushnumber(L, (lua_Number)v->integer);
		break;
	case HKV_RESP_BULK:
		lua_pushlstring(L, v->str, v->len);
		break;
	case HKV_RESP_NULL:
		if (proto == 2)
			lua_pushboolean(L, 0);
		else
			lua_pushnil(L);
		break;
	case HKV_RESP_STATUS:
		lua_newtable(L);
		lua_pushstring(L, "ok");
		lua_pushlstring(L, v->str, v->len);
		lua_rawset(L, -3);
		break;
	case HKV_RESP_ERROR:
	case HKV_RESP_BLOBERR: {
		char *m = malloc(v->len + 2);

		if (!m) {
			push_error_lit(L, "-OOM out of memory");
			break;
		}
		m[0] = '-';
		memcpy(m + 1, v->str, v->len);
		push_error_table_ex(L, m, v->len + 1, true);
		free(m);
		break;
	}
	case HKV_RESP_ARRAY:
	case HKV_RESP_PUSH:
		lua_newtable(L);
		for (size_t i = 0; i < v->nelem; i++) {
			lua_pushnumber(L, (lua_Number)(i + 1));
			push_resp(L, v->elem[i], proto, depth + 1);
			lua_rawset(L, -3);
		}
		break;
	case HKV_RESP_MAP:
	case HKV_RESP_ATTR:
		lua_newtable(L);
		lua_pushstring(L, "map");
		lua_newtable(L);
		for (size_t i = 0; i + 1 < v->nelem; i += 2) {
			push_resp(L, v->elem[i], proto, depth + 1);
			push_resp(L, v->elem[i + 1], proto, depth + 1);
			if (lua_isnil(L, -2))
				lua_pop(L, 2);
			else
				lua_rawset(L, -3);
		}
		lua_rawset(L, -3);
		break;
	case HKV_RESP_SET:
		lua_newtable(L);
		lua_pushstring(L, "set");
		lua_newtable(L);
		for (size_t i = 0; i < v->nelem; i++) {
			push_resp(L, v->elem[i], proto, depth + 1);
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				continue;
			}
			lua_pushboolean(L, 1);
			lua_rawset(L, -3);
		}
		lua_rawset(L, -3);
		break;
	case HKV_RESP_BOOL:
		lua_pushboolean(L, v->integer != 0);
		break;
	case HKV_RESP_DOUBLE:
		lua_newtable(L);
		lua_pushstring(L, "double");
		lua_pushnumber(L, v->dbl);
		lua_rawset(L, -3);
		break;
	case HKV_RESP_BIGNUM:
		lua_newtable(L);
		lua_pushstring(L, "big_number");
		lua_pushlstring(L, v->str, v->len);
		lua_rawset(L, -3);
		break;
	case HKV_RESP_VERBATIM:
		lua_newtable(L);
		lua_pushstring(L, "verbatim_string");
		lua_newtable(L);
		lua_pushstring(L, "string");
		lua_pushlstring(L, v->str, v->len);
		lua_rawset(L, -3);
		lua_pushstring(L, "format");
		lua_pushstring(L, "txt");
		lua_rawset(L, -3);
		lua_rawset(L, -3);
		break;
	}
}

/* -------------------------------------------------------------------------------------
 * Lua -> RESP (the script's return value, to the caller)
 * ------------------------------------------------------------------------------------- */

/* Field @name of the table at the top, raw (never a metamethod): pushed. */
static int rawfield(lua_State *L, const char *name)
{
	lua_pushstring(L, name);
	lua_rawget(L, -2);
	return lua_type(L, -1);
}

static void reply_lua(struct client *c, lua_State *L, int script_proto, int depth)
{
	int t = lua_type(L, -1);

	if (depth > 1000 || !lua_checkstack(L, 4)) {
		add_error(c, "reached lua stack limit");
		lua_pop(L, 1);
		return;
	}
	switch (t) {
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);

		add_bulk(c, s, n);
		break;
	}
	case LUA_TBOOLEAN:
		if (script_proto == 2) {
			if (lua_toboolean(L, -1))
				add_int(c, 1);
			else
				add_null(c);
		} else {
			add_bool(c, lua_toboolean(L, -1));
		}
		break;
	case LUA_TNUMBER:
		add_int(c, num2ll(lua_tonumber(L, -1)));
		break;
	case LUA_TTABLE: {
		size_t pos;
		long long n = 0;

		if (rawfield(L, "err") == LUA_TSTRING) {
			char buf[4096];
			size_t len;
			const char *s = lua_tolstring(L, -1, &len);
			bool counted;

			snprintf(buf, sizeof(buf), "-%.*s", (int)(len > 4000 ? 4000 : len), s);
			lua_pushvalue(L, -2);
			rawfield(L, "ignore_error_stats_update");
			counted = lua_toboolean(L, -1);
			lua_pop(L, 2);
			if (counted)
				add_error_counted(c, buf);
			else
				add_error(c, buf);
			lua_pop(L, 2);
			return;
		}
		lua_pop(L, 1);
		if (rawfield(L, "ok") == LUA_TSTRING) {
			char *s = xstrndup(lua_tostring(L, -1), lua_strlen(L, -1));

			if (s) {
				for (char *p = s; *p; p++)
					if (*p == '\r' || *p == '\n')
						*p = ' ';
				add_status(c, s);
				free(s);
			} else {
				add_error(c, "-OOM out of memory");
			}
			lua_pop(L, 2);
			return;
		}
		lua_pop(L, 1);
		if (rawfield(L, "double") == LUA_TNUMBER) {
			add_double(c, lua_tonumber(L, -1));
			lua_pop(L, 2);
			return;
		}
		lua_pop(L, 1);
		if (rawfield(L, "big_number") == LUA_TSTRING) {
			size_t len;
			const char *s = lua_tolstring(L, -1, &len);

			if (c->out.proto == 3) {
				add_reply_raw(c, "(", 1);
				for (size_t i = 0; i < len; i++)
					add_reply_raw(c, (s[i] == '\r' || s[i] == '\n') ? " " : s + i, 1);
				add_reply_raw(c, "\r\n", 2);
			} else {
				add_bulk(c, s, len);
			}
			lua_pop(L, 2);
			return;
		}
		lua_pop(L, 1);
		if (rawfield(L, "verbatim_string") == LUA_TTABLE) {
			if (rawfield(L, "format") == LUA_TSTRING) {
				if (rawfield(L, "string") == LUA_TSTRING) {
					size_t len;
					const char *s = lua_tolstring(L, -1, &len);

					add_verbatim(c, s, len);
					lua_pop(L, 4);
					return;
				}
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		if (rawfield(L, "map") == LUA_TTABLE) {
			pos = add_deferred(c);
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				lua_pushvalue(L, -2);
				reply_lua(c, L, script_proto, depth + 1); /* key */
				reply_lua(c, L, script_proto, depth + 1); /* value */
				n++;
			}
			set_deferred(c, pos, '%', n);
			lua_pop(L, 2);
			return;
		}
		lua_pop(L, 1);
		if (rawfield(L, "set") == LUA_TTABLE) {
			pos = add_deferred(c);
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				lua_pop(L, 1);
				lua_pushvalue(L, -1);
				reply_lua(c, L, script_proto, depth + 1);
				n++;
			}
			set_deferred(c, pos, '~', n);
			lua_pop(L, 2);
			return;
		}
		lua_pop(L, 1);
		/* an array, up to the first nil */
		pos = add_deferred(c);
		for (int j = 1;; j++) {
			lua_pushnumber(L, j);
			lua_rawget(L, -2);
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				break;
			}
			reply_lua(c, L, script_proto, depth + 1);
			n++;
		}
		set_deferred(c, pos, '*', n);
		break;
	}
	default:
		add_null(c);
	}
	lua_pop(L, 1);
}

/* -------------------------------------------------------------------------------------
 * redis.* functions
 * ------------------------------------------------------------------------------------- */

static void free_args(char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

/*
 * Run the command in the Lua arguments on the script client and push its reply converted.
 * Return: 1 (the reply or an error table pushed), -1 when an error table was pushed because
 * the command could not run (redis.call raises both).
 */
static int script_command(lua_State *L, struct lua_ctx *ctx)
{
	struct hkv_server *srv = ctx->srv;
	struct script_run *run = ctx->run;
	struct client *sc = ctx->sc;
	int argc = lua_gettop(L);
	char **argv;
	size_t *argvlen;
	struct cmd *cmd;
	const char *err = NULL;
	int i;

	if (argc == 0) {
		push_error_lit(L, "Please specify at least one argument for this redis lib call");
		return -1;
	}
	argv = calloc((size_t)argc, sizeof(*argv) + sizeof(*argvlen));
	if (!argv) {
		push_error_lit(L, "-OOM out of memory");
		return -1;
	}
	argvlen = (size_t *)(argv + argc);
	for (i = 0; i < argc; i++) {
		char num[64];
		const char *s;
		size_t n;

		if (lua_type(L, i + 1) == LUA_TNUMBER) {
			n = (size_t)snprintf(num, sizeof(num), "%.17g", (double)lua_tonumber(L, i + 1));
			s = num;
		} else if (lua_type(L, i + 1) == LUA_TSTRING) {
			s = lua_tolstring(L, i + 1, &n);
		} else {
			break;
		}
		argv[i] = malloc(n + 1);
		if (!argv[i])
			break;
		memcpy(argv[i], s, n);
		argv[i][n] = 0;
		argvlen[i] = n;
	}
	lua_pop(L, argc);
	if (i != argc) {
		free_args(argv, i);
		push_error_lit(L, "Lua redis lib command arguments must be strings or integers");
		return -1;
	}
	cmd = cmd_lookup(srv, argc, argv, argvlen);
	if (!cmd || !cmd->proc)
		err = cmd ? "Wrong number of args calling Redis command from script"
			  : "Unknown Redis command called from script";
	else if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity)
		err = "Wrong number of args calling Redis command from script";
	else if (cmd->flags & CMD_NOSCRIPT)
		err = "This Redis command is not allowed from script";
	else if (run->ro && (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)))
		err = "Write commands are not allowed from read-only scripts.";
	else if ((cmd->flags & CMD_WRITE) && !run->dirty && srv->flush_error)
		err = "-MISCONF Errors writing to the store's disk: a flush failed, so writes are "
		      "refused until the server is restarted. Check the server log.";
	else if ((cmd->flags & CMD_DENYOOM) && !run->dirty && !run->allow_oom &&
		 srv_over_maxmemory(srv))
		err = "-OOM command not allowed when used memory > 'maxmemory'.";
	if (err) {
		if (cmd)
			cmd->rejected++;
		stat_error(srv, err);
		free_args(argv, argc);
		push_error_table_ex(L, err, strlen(err), true);
		return -1;
	}
	if (cmd->flags & CMD_WRITE)
		run->dirty = true;
	sc->argc = argc;
	sc->argv = argv;
	sc->argvlen = argvlen;
	sc->out.len = 0;
	sc->out.oom = false;
	call(sc, cmd);
	/* blocking commands never wait inside a script: they time out at once */
	if (sc->flags & CL_BLOCKED)
		unblock_client(sc, true);
	sc->argc = 0;
	sc->argv = NULL;
	sc->argvlen = NULL;
	free_args(argv, argc);
	{
		struct hkv_resp_reader r;
		struct hkv_resp_value *v = NULL;
		int rc;

		hkv_resp_reader_init(&r);
		rc = sc->out.oom ? -ENOMEM : hkv_resp_reader_feed(&r, sc->out.buf, sc->out.len);
		if (!rc)
			rc = hkv_resp_reader_next(&r, &v);
		sc->out.len = 0;
		hkv_resp_reader_release(&r);
		if (rc == 1) {
			push_resp(L, v, sc->out.proto, 0);
			hkv_resp_value_free(v);
		} else if (rc == 0) {
			lua_pushboolean(L, 0); /* no reply at all */
		} else {
			push_error_lit(L, "-OOM out of memory for the command's reply");
		}
	}
	return 1;
}

static int is_error_table(lua_State *L)
{
	bool e;

	if (!lua_istable(L, -1))
		return 0;
	e = rawfield(L, "err") == LUA_TSTRING;
	lua_pop(L, 1);
	return e;
}

static int l_redis_call(lua_State *L)
{
	struct lua_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	int rc;

	if (!ctx->run)
		return raise_error(L, "redis.call/pcall can only be called inside a script "
				      "invocation");
	rc = script_command(L, ctx);
	if (rc < 0 || is_error_table(L))
		return lua_error(L);
	return 1;
}

static int l_redis_pcall(lua_State *L)
{
	struct lua_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));

	if (!ctx->run)
		return raise_error(L, "redis.call/pcall can only be called inside a script "
				      "invocation");
	script_command(L, ctx);
	return 1;
}

static int l_sha1hex(lua_State *L)
{
	char hex[41];
	size_t n = 0;
	const char *s;

	if (lua_gettop(L) != 1)
		return raise_error(L, "wrong number of arguments");
	s = lua_tolstring(L, 1, &n);
	sha1hex(hex, s ? s : "", s ? n : 0);
	lua_pushstring(L, hex);
	return 1;
}

static int l_error_reply(lua_State *L)
{
	size_t n;
	const char *s;

	if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
		push_error_lit(L, "wrong number or type of arguments");
		return 1;
	}
	s = lua_tolstring(L, -1, &n);
	if (n && s[0] == '-') {
		push_error_table(L, s, n);
	} else {
		lua_pushstring(L, "-");
		lua_pushvalue(L, 1);
		lua_concat(L, 2);
		s = lua_tolstring(L, -1, &n);
		push_error_table(L, s, n);
	}
	return 1;
}

static int l_status_reply(lua_State *L)
{
	if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
		push_error_lit(L, "wrong number or type of arguments");
		return 1;
	}
	lua_newtable(L);
	lua_pushstring(L, "ok");
	lua_pushvalue(L, 1);
	lua_rawset(L, -3);
	return 1;
}

/* Redis's levels: LOG_DEBUG 0, LOG_VERBOSE 1, LOG_NOTICE 2, LOG_WARNING 3. */
static int l_log(lua_State *L)
{
	struct lua_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	int argc = lua_gettop(L);
	long long level;
	static const int to_srv[] = { 3, 3, 2, 1 };
	luaL_Buffer b;

	if (argc < 2)
		return raise_error(L, "redis.log() requires two arguments or more.");
	if (!lua_isnumber(L, 1))
		return raise_error(L, "First argument must be a number (log level).");
	level = num2ll(lua_tonumber(L, 1));
	if (level < 0 || level > 3)
		return raise_error(L, "Invalid debug level.");
	luaL_buffinit(L, &b);
	for (int i = 2; i <= argc; i++) {
		size_t n;
		const char *s = lua_tolstring(L, i, &n);

		if (!s)
			continue;
		if (i != 2)
			luaL_addchar(&b, ' ');
		luaL_addlstring(&b, s, n);
	}
	luaL_pushresult(&b);
	srv_log(ctx->srv, to_srv[level], "script: %s", lua_tostring(L, -1));
	return 0;
}

static int l_setresp(lua_State *L)
{
	struct lua_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	long long v;

	if (!ctx->run)
		return raise_error(L, "redis.setresp can only be called inside a script invocation");
	if (lua_gettop(L) != 1)
		return raise_error(L, "redis.setresp() requires one argument.");
	v = num2ll(lua_tonumber(L, 1));
	if (v != 2 && v != 3)
		return raise_error(L, "RESP version must be 2 or 3.");
	ctx->sc->out.proto = (int)v;
	return 0;
}

/* Replication does not exist here: the flags are checked and have no effect. */
static int l_set_repl(lua_State *L)
{
	struct lua_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	long long flags;

	if (!ctx->run)
		return raise_error(L, "redis.set_repl can only be called inside a script "
				      "invocation");
	if (lua_gettop(L) != 1)
		return raise_error(L, "redis.set_repl() requires two arguments.");
	flags = num2ll(lua_tonumber(L, -1));
	if (flags & ~3LL)
		return raise_error(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
				      "REPL_ALL or REPL_NONE.");
	return 0;
}

/* The Lua debugger (SCRIPT DEBUG) does not exist: a breakpoint is never taken. */
static int l_breakpoint(lua_State *L)
{
	lua_pushboolean(L, 0);
	return 1;
}

static int l_debug(lua_State *L)
{
	(void)L;
	return 0;
}

static int l_replicate_commands(lua_State *L)
{
	lua_pushboolean(L, 1);
	return 1;
}

/* One user with every permission: a known command is always allowed. */
static int l_acl_check_cmd(lua_State *L)
{
	struct lua_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
	int argc = lua_gettop(L);
	char *argv[2];
	size_t argvlen[2];

	if (!ctx->run)
		return raise_error(L, "redis.acl_check_cmd can only be called inside a script "
				      "invocation");
	if (argc == 0)
		return raise_error(L, "Please specify at least one argument for this redis lib "
				      "call");
	for (int i = 0; i < argc && i < 2; i++) {
		if (lua_type(L, i + 1) != LUA_TSTRING && lua_type(L, i + 1) != LUA_TNUMBER)
			return raise_error(L, "Lua redis lib command arguments must be strings or "
					      "integers");
		argv[i] = (char *)lua_tolstring(L, i + 1, &argvlen[i]);
	}
	if (!cmd_lookup(ctx->srv, argc < 2 ? argc : 2, argv, argvlen))
		return raise_error(L, "Invalid command passed to redis.acl_check_cmd()");
	lua_pushboolean(L, 1);
	return 1;
}

/*
 * pcall() as in Redis 7: an error table raised by redis.call() is given to the script as its
 * message string.
 */
static int l_pcall(lua_State *L)
{
	int argc = lua_gettop(L);

	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
		lua_remove(L, 1);
		if (lua_istable(L, -1)) {
			rawfield(L, "err");
			if (lua_isstring(L, -1))
				lua_replace(L, -2);
			else
				lua_pop(L, 1);
		}
		lua_pushboolean(L, 0);
		lua_insert(L, 1);
	}
	return lua_gettop(L);
}

/* -------------------------------------------------------------------------------------
 * The sandbox
 * ------------------------------------------------------------------------------------- */

static int l_ro_newindex(lua_State *L)
{
	return luaL_error(L, RO_TABLE_ERR);
}

static int l_global_index(lua_State *L)
{
	const char *name;

	/* upvalue 1: the real globals */
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	if (!lua_isnil(L, -1))
		return 1;
	name = lua_tostring(L, 2);
	return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
			  name ? name : "?");
}

/*
 * Replace the table at the top of the stack by a read-only proxy of it: an empty table whose
 * metatable reads through (@strict: through a function that raises on missing names) and
 * refuses assignments; the metatable, as getmetatable() shows it, is a proxy too.
 */
static void make_proxy(lua_State *L, bool strict)
{
	int real = lua_gettop(L), proxy, mt, view, viewmt;

	lua_newtable(L);
	proxy = lua_gettop(L);
	lua_newtable(L);
	mt = lua_gettop(L);
	lua_pushstring(L, "__index");
	lua_pushvalue(L, real);
	if (strict)
		lua_pushcclosure(L, l_global_index, 1);
	lua_rawset(L, mt);
	lua_pushstring(L, "__newindex");
	lua_pushcfunction(L, l_ro_newindex);
	lua_rawset(L, mt);
	/* getmetatable(proxy): a read-only view of the metatable */
	lua_newtable(L);
	view = lua_gettop(L);
	lua_newtable(L);
	viewmt = lua_gettop(L);
	lua_pushstring(L, "__index");
	lua_pushvalue(L, mt);
	lua_rawset(L, viewmt);
	lua_pushstring(L, "__newindex");
	lua_pushcfunction(L, l_ro_newindex);
	lua_rawset(L, viewmt);
	lua_pushstring(L, "__metatable");
	lua_pushboolean(L, 0);
	lua_rawset(L, viewmt);
	mark_protected(L, viewmt);
	mark_protected(L, view);
	mark_protected(L, mt);
	mark_protected(L, proxy);
	lua_setmetatable(L, view);
	lua_pushstring(L, "__metatable");
	lua_pushvalue(L, view);
	lua_rawset(L, mt);
	lua_pop(L, 1);
	lua_setmetatable(L, proxy);
	lua_replace(L, real);
}

static int l_rawset(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (is_protected(L, 1))
		return luaL_error(L, RO_TABLE_ERR);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 1;
}

/*
 * setmetatable and table.insert, wrapped: upvalue 1 is the original function, which runs
 * unless its first argument is a protected table.
 */
static int l_guarded_first_arg(lua_State *L)
{
	if (is_protected(L, 1))
		return luaL_error(L, RO_TABLE_ERR);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static void push_env(lua_State *L)
{
	lua_pushlightuserdata(L, (void *)&env_key);
	lua_rawget(L, LUA_REGISTRYINDEX);
}

static int l_getfenv(lua_State *L)
{
	/* upvalue 1: the original getfenv */
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	if (lua_rawequal(L, -1, LUA_GLOBALSINDEX)) {
		lua_pop(L, 1);
		push_env(L);
	}
	return 1;
}

static int l_setfenv(lua_State *L)
{
	/* upvalue 1: the original setfenv */
	if (lua_isnumber(L, 1) && lua_tonumber(L, 1) == 0)
		return luaL_error(L, RO_TABLE_ERR);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* After loadstring()/load(): refuse bytecode (nil and a message), give the chunk the proxy. */
static int finish_load(lua_State *L, int n)
{
	if (n >= 1 && lua_isfunction(L, -n)) {
		lua_pushvalue(L, -n);
		push_env(L);
		lua_setfenv(L, -2);
		lua_pop(L, 1);
	}
	return n;
}

static int l_loadstring(lua_State *L)
{
	/* upvalue 1: the original loadstring */
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);

	if (n && s[0] == LUA_SIGNATURE[0]) {
		lua_pushnil(L);
		lua_pushstring(L, "attempt to load a binary chunk");
		return 2;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return finish_load(L, lua_gettop(L));
}

struct load_state {
	bool first;
	bool binary;
};

static const char *load_reader(lua_State *L, void *ud, size_t *size)
{
	struct load_state *st = ud;
	const char *s;

	/* the piece function is at index 1 */
	lua_pushvalue(L, 1);
	lua_call(L, 0, 1);
	if (lua_isnil(L, -1)) {
		*size = 0;
		return NULL;
	}
	if (!lua_isstring(L, -1))
		luaL_error(L, "reader function must return a string");
	lua_replace(L, 3); /* keep it alive while Lua reads it */
	s = lua_tolstring(L, 3, size);
	if (st->first && *size) {
		st->first = false;
		if (s[0] == LUA_SIGNATURE[0]) {
			st->binary = true;
			*size = 0;
			return NULL;
		}
	}
	return s;
}

static int l_load(lua_State *L)
{
	struct load_state st = { true, false };
	const char *name = luaL_optstring(L, 2, "=(load)");
	int status;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 3);
	status = lua_load(L, load_reader, &st, name);
	if (st.binary) {
		lua_pushnil(L);
		lua_pushstring(L, "attempt to load a binary chunk");
		return 2;
	}
	if (status) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	return finish_load(L, 1);
}

/* Wrap global @name (in the table at @tbl, or the real globals) with @fn(original). */
static void wrap(lua_State *L, int tbl, const char *name, lua_CFunction fn)
{
	lua_getfield(L, tbl, name);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, tbl, name);
}

static void reg(lua_State *L, struct lua_ctx *ctx, const char *name, lua_CFunction fn)
{
	lua_pushstring(L, name);
	lua_pushlightuserdata(L, ctx);
	lua_pushcclosure(L, fn, 1);
	lua_rawset(L, -3);
}

static void reg_num(lua_State *L, const char *name, double v)
{
	lua_pushstring(L, name);
	lua_pushnumber(L, v);
	lua_rawset(L, -3);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction fn)
{
	lua_pushcfunction(L, fn);
	lua_pushstring(L, name);
	lua_call(L, 1, 0);
}

/* Replace global @name by a read-only proxy of it. */
static void proxy_global(lua_State *L, const char *name)
{
	lua_getglobal(L, name);
	make_proxy(L, false);
	lua_setglobal(L, name);
}

static int lua_setup(lua_State *L, struct lua_ctx *ctx)
{
	int major = 0, minor = 0, patch = 0;

	lua_pushlightuserdata(L, (void *)&ctx_key);
	lua_pushlightuserdata(L, ctx);
	lua_rawset(L, LUA_REGISTRYINDEX);
	/* the set of protected tables, weak-keyed */
	lua_pushlightuserdata(L, (void *)&ro_key);
	lua_newtable(L);
	lua_newtable(L);
	lua_pushstring(L, "__mode");
	lua_pushstring(L, "k");
	lua_rawset(L, -3);
	lua_setmetatable(L, -2);
	lua_rawset(L, LUA_REGISTRYINDEX);

	open_lib(L, "", luaopen_base);
	open_lib(L, LUA_TABLIBNAME, luaopen_table);
	open_lib(L, LUA_STRLIBNAME, luaopen_string);
	open_lib(L, LUA_MATHLIBNAME, luaopen_math);
	/* luaopen_bit() sets the global itself; luaopen_cjson() returns its table */
	open_lib(L, "bit", luaopen_bit);
	lua_pushcfunction(L, luaopen_cjson);
	lua_call(L, 0, 1);
	lua_setglobal(L, "cjson");
	lua_pushnil(L);
	lua_setglobal(L, "dofile");
	lua_pushnil(L);
	lua_setglobal(L, "loadfile");
	lua_pushnil(L);
	lua_setglobal(L, "print");

	lua_pushcfunction(L, l_pcall);
	lua_setglobal(L, "pcall");
	lua_pushcfunction(L, l_rawset);
	lua_setglobal(L, "rawset");
	wrap(L, LUA_GLOBALSINDEX, "setmetatable", l_guarded_first_arg);
	wrap(L, LUA_GLOBALSINDEX, "getfenv", l_getfenv);
	wrap(L, LUA_GLOBALSINDEX, "setfenv", l_setfenv);
	wrap(L, LUA_GLOBALSINDEX, "loadstring", l_loadstring);
	lua_pushcfunction(L, l_load);
	lua_setglobal(L, "load");
	lua_getglobal(L, "table");
	wrap(L, lua_gettop(L), "insert", l_guarded_first_arg);
	lua_pop(L, 1);

	lua_newtable(L);
	reg(L, ctx, "call", l_redis_call);
	reg(L, ctx, "pcall", l_redis_pcall);
	reg(L, ctx, "log", l_log);
	reg_num(L, "LOG_DEBUG", 0);
	reg_num(L, "LOG_VERBOSE", 1);
	reg_num(L, "LOG_NOTICE", 2);
	reg_num(L, "LOG_WARNING", 3);
	sscanf(HKV_SERVER_REDIS_VERSION, "%d.%d.%d", &major, &minor, &patch);
	reg_num(L, "REDIS_VERSION_NUM", (major << 16) | (minor << 8) | patch);
	lua_pushstring(L, "REDIS_VERSION");
	lua_pushstring(L, HKV_SERVER_REDIS_VERSION);
	lua_rawset(L, -3);
	reg(L, ctx, "setresp", l_setresp);
	reg(L, ctx, "sha1hex", l_sha1hex);
	reg(L, ctx, "error_reply", l_error_reply);
	reg(L, ctx, "status_reply", l_status_reply);
	reg(L, ctx, "set_repl", l_set_repl);
	reg(L, ctx, "replicate_commands", l_replicate_commands);
	reg(L, ctx, "acl_check_cmd", l_acl_check_cmd);
	reg(L, ctx, "breakpoint", l_breakpoint);
	reg(L, ctx, "debug", l_debug);
	reg_num(L, "REPL_NONE", 0);
	reg_num(L, "REPL_AOF", 1);
	reg_num(L, "REPL_SLAVE", 2);
	reg_num(L, "REPL_REPLICA", 2);
	reg_num(L, "REPL_ALL", 3);
	lua_setglobal(L, "redis");

	/* the library tables become read-only views, strings' methods included */
	proxy_global(L, "redis");
	proxy_global(L, "string");
	proxy_global(L, "math");
	proxy_global(L, "table");
	proxy_global(L, "coroutine");
	proxy_global(L, "cjson");
	proxy_global(L, "bit");
	lua_pushstring(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushstring(L, "__index");
		lua_getglobal(L, "string");
		lua_rawset(L, -3);
		lua_pushstring(L, "__metatable");
		lua_pushvalue(L, -2);
		make_proxy(L, false);
		lua_rawset(L, -3);
		mark_protected(L, -1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	/* the globals scripts see: a strict proxy; _G is that proxy */
	lua_pushlightuserdata(L, (void *)&env_key);
	lua_pushvalue(L, LUA_GLOBALSINDEX);
	make_proxy(L, true);
	lua_pushstring(L, "_G");
	lua_pushvalue(L, -2);
	lua_rawset(L, LUA_GLOBALSINDEX);
	lua_rawset(L, LUA_REGISTRYINDEX);
	/* the real globals refuse new names too (a function reaching them by a way we missed) */
	lua_pushvalue(L, LUA_GLOBALSINDEX);
	lua_newtable(L);
	lua_pushstring(L, "__newindex");
	lua_pushcfunction(L, l_ro_newindex);
	lua_rawset(L, -3);
	lua_setmetatable(L, -2);
	mark_protected(L, -1);
	lua_pop(L, 1);
	return 0;
}

/* -------------------------------------------------------------------------------------
 * State and cache
 * ------------------------------------------------------------------------------------- */

static void ctx_close_lua(struct lua_ctx *ctx)
{
	if (ctx->L)
		lua_close(ctx->L);
	ctx->L = NULL;
	dict_release(&ctx->scripts, free);
	dict_init(&ctx->scripts);
}

static int ctx_open_lua(struct lua_ctx *ctx)
{
	ctx->L = luaL_newstate();
	if (!ctx->L)
		return -ENOMEM;
	lua_setup(ctx->L, ctx);
	return 0;
}

static struct lua_ctx *ctx_get(struct hkv_server *srv)
{
	struct lua_ctx *ctx = srv->lua;

	if (ctx && ctx->L)
		return ctx;
	if (!ctx) {
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return NULL;
		ctx->srv = srv;
		dict_init(&ctx->scripts);
		srv->lua = ctx;
	}
	if (!ctx->sc) {
		ctx->sc = client_new(srv, -1, false);
		if (!ctx->sc)
			return NULL;
		ctx->sc->flags |= CL_FAKE;
		ctx->sc->authenticated = true;
		ctx->sc->name = strdup("lua");
	}
	if (ctx_open_lua(ctx))
		return NULL;
	return ctx;
}

void script_release(struct hkv_server *srv)
{
	struct lua_ctx *ctx = srv->lua;

	if (!ctx)
		return;
	ctx_close_lua(ctx);
	dict_release(&ctx->scripts, free);
	if (ctx->sc)
		client_free(ctx->sc);
	free(ctx);
	srv->lua = NULL;
}

bool script_timedout(struct hkv_server *srv)
{
	struct lua_ctx *ctx = srv->lua;

	return ctx && ctx->run && ctx->run->timedout;
}

/*
 * Parse the "#!lua flags=..." line. Return: 0 with *@flags and *@skip (bytes of the line,
 * its LF kept so that line numbers stay), or -1 with @err filled.
 */
static int parse_shebang(const char *body, size_t len, uint32_t *flags, size_t *skip,
			 char *err, size_t errsz)
{
	static const struct {
		const char *name;
		uint32_t flag;
	} known[] = {
		{ "no-writes", SF_NO_WRITES },	 { "allow-oom", SF_ALLOW_OOM },
		{ "allow-stale", SF_ALLOW_STALE }, { "no-cluster", SF_NO_CLUSTER },
		{ "allow-cross-slot-keys", SF_ALLOW_CROSS_SLOT },
	};
	const char *nl, *p, *end;
	int part = 0;

	*flags = SF_COMPAT;
	*skip = 0;
	if (len < 2 || body[0] != '#' || body[1] != '!')
		return 0;
	nl = memchr(body, '\n', len);
	if (!nl) {
		snprintf(err, errsz, "Invalid script shebang");
		return -1;
	}
	*skip = (size_t)(nl - body);
	*flags = 0;
	for (p = body; p < nl; p = end) {
		size_t n;

		while (p < nl && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p == nl)
			break;
		end = p;
		while (end < nl && *end != ' ' && *end != '\t' && *end != '\r')
			end++;
		n = (size_t)(end - p);
		if (part++ == 0) {
			if (n != 5 || memcmp(p, "#!lua", 5)) {
				snprintf(err, errsz, "Unexpected engine in script shebang: %.*s",
					 (int)(n > 64 ? 64 : n), p);
				return -1;
			}
			continue;
		}
		if (n < 6 || memcmp(p, "flags=", 6)) {
			snprintf(err, errsz, "Unknown lua shebang option: %.*s",
				 (int)(n > 64 ? 64 : n), p);
			return -1;
		}
		for (const char *f = p + 6, *fe; f < end; f = fe + 1) {
			size_t k, fl;

			fe = memchr(f, ',', (size_t)(end - f));
			if (!fe)
				fe = end;
			fl = (size_t)(fe - f);
			for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				if (strlen(known[k].name) == fl && !memcmp(known[k].name, f, fl))
					break;
			if (k == sizeof(known) / sizeof(known[0])) {
				snprintf(err, errsz, "Unexpected flag in script shebang: %.*s",
					 (int)(fl > 64 ? 64 : fl), f);
				return -1;
			}
			*flags |= known[k].flag;
			if (fe == end)
				break;
		}
	}
	if (!part) {
		snprintf(err, errsz, "Invalid engine in script shebang");
		return -1;
	}
	return 0;
}

/*
 * Compile @body into the cache (or find it there). Return: the cache entry and @sha filled,
 * or NULL with the error replied to @c.
 */
static struct script *script_create(struct client *c, struct lua_ctx *ctx, const char *body,
				    size_t len, char *sha)
{
	lua_State *L = ctx->L;
	struct dict_entry *e;
	struct script *s;
	char err[256], fname[43];
	uint32_t flags;
	size_t skip;

	sha1hex(sha, body, len);
	e = dict_find(&ctx->scripts, sha, 40);
	if (e)
		return e->val;
	if (parse_shebang(body, len, &flags, &skip, err, sizeof(err))) {
		add_error(c, err);
		return NULL;
	}
	if (len > skip && body[skip] == LUA_SIGNATURE[0]) {
		add_error(c, "Error compiling script (new function): user_script: binary chunks "
			     "are not accepted");
		return NULL;
	}
	if (luaL_loadbuffer(L, body + skip, len - skip, "@user_script")) {
		add_errorf(c, "Error compiling script (new function): %s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !dict_add(&ctx->scripts, sha, 40, s, NULL)) {
		free(s);
		lua_pop(L, 1);
		add_error(c, "-OOM out of memory");
		return NULL;
	}
	s->flags = flags;
	push_env(L);
	lua_setfenv(L, -2);
	snprintf(fname, sizeof(fname), "f_%s", sha);
	lua_setfield(L, LUA_REGISTRYINDEX, fname);
	return s;
}

/* -------------------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------------------- */

/* The pcall message handler: an error table with the place of the error (Redis's format). */
static int l_err_handler(lua_State *L)
{
	lua_Debug ar;
	bool have = false;

	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "nSl", &ar)) {
		have = true;
		if (!strcmp(ar.what, "C"))
			have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "nSl", &ar);
	}
	if (!lua_istable(L, 1) || is_protected(L, 1)) {
		const char *s;

		switch (lua_type(L, 1)) {
		case LUA_TSTRING:
		case LUA_TNUMBER:
			s = lua_tostring(L, 1);
			break;
		case LUA_TNIL:
			s = "nil";
			break;
		case LUA_TBOOLEAN:
			s = lua_toboolean(L, 1) ? "true" : "false";
			break;
		default:
			s = lua_typename(L, lua_type(L, 1));
		}
		lua_newtable(L);
		lua_pushstring(L, "err");
		lua_pushfstring(L, "ERR %s", s);
		lua_rawset(L, -3);
		lua_replace(L, 1);
	}
	lua_settop(L, 1);
	if (have) {
		lua_pushstring(L, "source");
		lua_pushstring(L, ar.source);
		lua_rawset(L, 1);
		lua_pushstring(L, "line");
		lua_pushinteger(L, ar.currentline);
		lua_rawset(L, 1);
	}
	return 1;
}

static void restore_caller_events(struct hkv_server *srv, struct script_run *run)
{
	struct client *c = run->caller;
	struct epoll_event ev = { .events = (uint32_t)c->epoll_events, .data.ptr = c };

	if (!run->epoll_masked)
		return;
	epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	run->epoll_masked = 0;
}

static bool on_loop_thread(struct hkv_server *srv)
{
	return srv->epfd >= 0 && srv->running && pthread_equal(pthread_self(), srv->thread);
}

/* The script passed the threshold: hold pending replies, mask the caller. */
static void enter_busy(struct lua_ctx *ctx)
{
	struct hkv_server *srv = ctx->srv;
	struct script_run *run = ctx->run;
	struct client *c = run->caller;

	run->timedout = true;
	srv_log(srv, 1,
		"Slow script detected: still in execution after %lld milliseconds. You can try "
		"killing the script using the SCRIPT KILL command. Script name is: %s.",
		(long long)(mono_ms() - run->start_ms), run->funcname + 2);
	if (!on_loop_thread(srv))
		return;
	/*
	 * Replies produced earlier in this loop iteration wait for the loop's group flush
	 * (appendfsync always) and the embedder's before_reply hook; neither can run inside the
	 * script's transaction, so those replies stay held until the script ends.
	 */
	if ((srv->cfg.flush == HKV_FLUSH_ALWAYS && srv->dirty_since_flush) ||
	    srv->cfg.before_reply)
		for (struct client *cl = srv->clients; cl; cl = cl->next)
			if (cl->sent < cl->out.len)
				cl->flags |= CL_SCRIPT_HOLD;
	if (c->fd >= 0 && !(c->flags & CL_FAKE)) {
		struct epoll_event ev = { .events = 0, .data.ptr = c };

		if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
			run->epoll_masked = 1;
	}
}

static void leave_busy(struct lua_ctx *ctx)
{
	struct hkv_server *srv = ctx->srv;

	restore_caller_events(srv, ctx->run);
	for (struct client *cl = srv->clients; cl; cl = cl->next)
		cl->flags &= ~CL_SCRIPT_HOLD;
}

/* Write the replies of the clients served while the script is busy. */
static void flush_unheld(struct hkv_server *srv, struct client *caller)
{
	struct client **pp = &srv->pending;

	while (*pp) {
		struct client *c = *pp;

		if ((c->flags & CL_SCRIPT_HOLD) || c == caller) {
			pp = &c->next_pending;
			continue;
		}
		*pp = c->next_pending;
		c->next_pending = NULL;
		c->flags &= ~CL_PENDING_WRITE;
		if (!(c->flags & CL_CLOSE_ASAP))
			net_write(c);
	}
}

/* One pass of the event loop from inside the script (Redis's processEventsWhileBlocked). */
static void serve_events(struct lua_ctx *ctx)
{
	struct hkv_server *srv = ctx->srv;
	struct client *caller = ctx->run->caller;
	struct client *current = srv->current;
	struct epoll_event evs[64];
	int n;

	if (!on_loop_thread(srv))
		return;
	n = epoll_wait(srv->epfd, evs, 64, 0);
	for (int i = 0; i < n; i++) {
		void *p = evs[i].data.ptr;
		struct client *c;

		if (server_own_event(srv, p))
			continue;
		c = p;
		if (c == caller || c == ctx->sc || (c->flags & CL_CLOSE_ASAP))
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			net_read(c);
		if ((evs[i].events & EPOLLOUT) && !(c->flags & (CL_CLOSE_ASAP | CL_SCRIPT_HOLD)))
			net_write(c);
	}
	srv->current = current;
	flush_unheld(srv, caller);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	struct lua_ctx *ctx = ctx_of(L);
	struct script_run *run = ctx ? ctx->run : NULL;

	(void)ar;
	if (!run)
		return;
	if (!run->timedout) {
		if (mono_ms() - run->start_ms < run->threshold)
			return;
		enter_busy(ctx);
	}
	serve_events(ctx);
	if (__atomic_load_n(&ctx->srv->stop, __ATOMIC_ACQUIRE) && !run->killed) {
		run->killed = true;
		run->aborted = true;
		srv_log(ctx->srv, 1, "Lua script killed by SHUTDOWN: its writes are dropped.");
	}
	if (run->killed) {
		if (!run->aborted)
			srv_log(ctx->srv, 1, "Lua script killed by user with SCRIPT KILL.");
		/* every line from now on raises: pcall cannot keep the script alive */
		lua_sethook(L, count_hook, LUA_MASKLINE, 0);
		raise_error(L, run->aborted ? "-ERR Script killed by SHUTDOWN..."
					    : "Script killed by user with SCRIPT KILL...");
	}
}

static void set_array_global(lua_State *L, const char *name, char **v, size_t *len, long long n)
{
	lua_pushstring(L, name);
	lua_createtable(L, (int)n, 0);
	for (long long i = 0; i < n; i++) {
		lua_pushlstring(L, v[i], len[i]);
		lua_rawseti(L, -2, (int)i + 1);
	}
	lua_rawset(L, LUA_GLOBALSINDEX);
}

struct run_arg {
	struct lua_ctx *ctx;
	struct script_run *run;
};

static int run_body(struct hkv *tx, void *arg)
{
	struct run_arg *ra = arg;
	struct lua_ctx *ctx = ra->ctx;
	struct script_run *run = ra->run;
	struct client *c = run->caller;
	lua_State *L = ctx->L;
	int base = lua_gettop(L), err;

	ctx->sc->db = tx;
	lua_pushcfunction(L, l_err_handler);
	lua_getfield(L, LUA_REGISTRYINDEX, run->funcname);
	set_array_global(L, "KEYS", run->argv + 3, run->argvlen + 3, run->numkeys);
	set_array_global(L, "ARGV", run->argv + 3 + run->numkeys, run->argvlen + 3 + run->numkeys,
			 run->argc - 3 - run->numkeys);
	if (run->threshold > 0)
		lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_COUNT);
	err = lua_pcall(L, 0, 1, base + 1);
	if (run->threshold > 0)
		lua_sethook(L, NULL, 0, 0);
	if (err) {
		if (!lua_istable(L, -1)) {
			const char *m = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";

			add_errorf(c, "Error running script %s, %.100s", run->funcname, m);
		} else {
			char buf[4096];
			const char *msg = "ERR unknown error", *src = NULL;
			long long line = -1;
			bool counted;

			/* the strings stay on the stack (alive) until lua_settop() below */
			if (rawfield(L, "err") == LUA_TSTRING)
				msg = lua_tostring(L, -1);
			lua_pushvalue(L, -2);
			if (rawfield(L, "source") == LUA_TSTRING)
				src = lua_tostring(L, -1);
			lua_pushvalue(L, -2);
			if (rawfield(L, "line") == LUA_TNUMBER)
				line = num2ll(lua_tonumber(L, -1));
			lua_pushvalue(L, -2);
			rawfield(L, "ignore_error_stats_update");
			counted = lua_toboolean(L, -1);
			if (src && line >= 0)
				snprintf(buf, sizeof(buf), "-%.3000s script: %s, on %.200s:%lld.", msg,
					 run->funcname, src, line);
			else
				snprintf(buf, sizeof(buf), "-%.3000s", msg);
			if (counted)
				add_error_counted(c, buf);
			else
				add_error(c, buf);
		}
	} else {
		reply_lua(c, L, ctx->sc->out.proto, 0);
	}
	lua_settop(L, base);
	ctx->sc->db = c->srv->db;
	/* a little garbage collection now and then, rather than a full cycle at a bad time */
	if (++ctx->runs % 50 == 0)
		lua_gc(L, LUA_GCSTEP, 50);
	return run->aborted ? -ECANCELED : 0;
}

static void script_run(struct client *c, struct lua_ctx *ctx, struct script *s, const char *sha,
		       long long numkeys, bool ro)
{
	struct hkv_server *srv = c->srv;
	struct script_run run = { 0 };
	struct run_arg ra = { ctx, &run };
	bool outer_batch = srv->in_batch;
	size_t before = c->out.len;
	int rc;

	if (!(s->flags & SF_COMPAT)) {
		if (!(s->flags & SF_NO_WRITES)) {
			if (srv->flush_error) {
				add_error(c, "-MISCONF Errors writing to the store's disk: a flush "
					     "failed. Writable scripts are blocked. Use 'no-writes' "
					     "flag for read only scripts.");
				return;
			}
			if (ro) {
				add_error(c, "Can not execute a script with write flag using *_ro "
					     "command.");
				return;
			}
		}
		if (!(s->flags & (SF_ALLOW_OOM | SF_NO_WRITES)) && srv_over_maxmemory(srv)) {
			add_error(c, "-OOM allow-oom flag is not set on the script, can not run it "
				     "when used memory > 'maxmemory'");
			return;
		}
	}
	run.caller = c;
	snprintf(run.funcname, sizeof(run.funcname), "f_%s", sha);
	run.argc = c->argc;
	run.argv = c->argv;
	run.argvlen = c->argvlen;
	run.numkeys = numkeys;
	run.ro = ro || (!(s->flags & SF_COMPAT) && (s->flags & SF_NO_WRITES));
	run.allow_oom = !(s->flags & SF_COMPAT) && (s->flags & SF_ALLOW_OOM);
	run.start_ms = mono_ms();
	run.threshold = config_get_ll(srv, "busy-reply-threshold", 5000);
	ctx->run = &run;
	ctx->sc->out.proto = 2;
	/* the script's writes are this client's own events, served after it (see net.c) */
	srv->in_batch = true;
	rc = hkv_txn_run(c->db, run_body, &ra);
	srv->in_batch = outer_batch;
	if (run.timedout)
		leave_busy(ctx);
	ctx->run = NULL;
	if (rc < 0 && rc != -ECANCELED) {
		if (c->out.len >= before)
			c->out.len = before;
		srv_log(srv, 0, "a script's transaction could not be applied: %s",
			hkv_strerror(rc));
		add_err_engine(c, rc);
	}
	if (!outer_batch) {
		drain_watch_events(srv);
		dict_release(&srv->batch_keys, NULL);
		dict_init(&srv->batch_keys);
	}
}

static void eval_generic(struct client *c, bool evalsha, bool ro)
{
	struct lua_ctx *ctx;
	struct script *s;
	struct dict_entry *e;
	long long numkeys;
	char sha[41];

	if (!get_ll_or_reply(c, 2, &numkeys, NULL))
		return;
	if (numkeys > c->argc - 3) {
		add_error(c, "Number of keys can't be greater than number of args");
		return;
	}
	if (numkeys < 0) {
		add_error(c, "Number of keys can't be negative");
		return;
	}
	ctx = ctx_get(c->srv);
	if (!ctx) {
		add_error(c, "-OOM cannot start the Lua interpreter: out of memory");
		return;
	}
	if (ctx->run) {
		/* unreachable: EVAL is CMD_NOSCRIPT and refused while a script is busy */
		add_error(c, BUSY_ERR);
		return;
	}
	if (evalsha) {
		if (c->argvlen[1] != 40) {
			add_error(c, NOSCRIPT_ERR);
			return;
		}
		for (int i = 0; i < 40; i++) {
			char ch = c->argv[1][i];

			sha[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
		}
		sha[40] = 0;
		e = dict_find(&ctx->scripts, sha, 40);
		if (!e) {
			add_error(c, NOSCRIPT_ERR);
			return;
		}
		s = e->val;
	} else {
		s = script_create(c, ctx, c->argv[1], c->argvlen[1], sha);
		if (!s)
			return;
	}
	script_run(c, ctx, s, sha, numkeys, ro);
}

void eval_command(struct client *c)
{
	eval_generic(c, false, false);
}

void evalsha_command(struct client *c)
{
	eval_generic(c, true, false);
}

void eval_ro_command(struct client *c)
{
	eval_generic(c, false, true);
}

void evalsha_ro_command(struct client *c)
{
	eval_generic(c, true, true);
}

/* -------------------------------------------------------------------------------------
 * SCRIPT
 * ------------------------------------------------------------------------------------- */

void script_load_command(struct client *c)
{
	struct lua_ctx *ctx = ctx_get(c->srv);
	char sha[41];

	if (!ctx) {
		add_error(c, "-OOM cannot start the Lua interpreter: out of memory");
		return;
	}
	if (script_create(c, ctx, c->argv[2], c->argvlen[2], sha))
		add_bulk(c, sha, 40);
}

void script_exists_command(struct client *c)
{
	struct lua_ctx *ctx = c->srv->lua;

	add_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		char sha[40];
		bool found = false;

		if (ctx && c->argvlen[i] == 40) {
			for (int j = 0; j < 40; j++) {
				char ch = c->argv[i][j];

				sha[j] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
			}
			found = dict_find(&ctx->scripts, sha, 40) != NULL;
		}
		add_int(c, found);
	}
}

void script_flush_command(struct client *c)
{
	struct lua_ctx *ctx = c->srv->lua;

	if (c->argc > 3 || (c->argc == 3 && strcasecmp(c->argv[2], "sync") &&
			    strcasecmp(c->argv[2], "async"))) {
		add_error(c, "SCRIPT FLUSH only support SYNC|ASYNC option");
		return;
	}
	/* ASYNC frees at once too: a Lua state is freed in a few milliseconds */
	if (ctx && !ctx->run)
		ctx_close_lua(ctx);
	add_ok(c);
}

void script_kill_command(struct client *c)
{
	struct lua_ctx *ctx = c->srv->lua;
	struct script_run *run = ctx ? ctx->run : NULL;

	if (!run) {
		add_error(c, "-NOTBUSY No scripts in execution right now.");
		return;
	}
	if (run->dirty) {
		add_error(c, "-UNKILLABLE Sorry the script already executed write commands against "
			     "the dataset. You can either wait the script termination or kill the "
			     "server in a hard way using the SHUTDOWN NOSAVE command.");
		return;
	}
	run->killed = true;
	add_ok(c);
}

void script_help_command(struct client *c)
{
	static const char *const help[] = {
		"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"EXISTS <sha1> [<sha1> ...]",
		"    Return information about the existence of the scripts in the script cache.",
		"FLUSH [ASYNC|SYNC]",
		"    Flush the Lua scripts cache.",
		"KILL",
		"    Kill the currently executing Lua script.",
		"LOAD <script>",
		"    Load a script into the scripts cache without executing it.",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}

bool script_client(const struct client *c)
{
	const struct lua_ctx *ctx = c->srv->lua;

	return ctx && ctx->sc == c;
}
