// SPDX-License-Identifier: MIT
/*
 * conn.c - the connection commands: PING, ECHO, QUIT, RESET, SELECT, TIME, AUTH, HELLO and
 * CLIENT (ID, INFO, LIST, KILL, SETNAME, GETNAME, UNBLOCK, REPLY, NO-EVICT, HELP).
 *
 * Authentication: one user, "default", whose password is requirepass. A client is
 * authenticated from the start when no password is set. The password is compared in constant
 * time (its length leaks, as with any comparison that must end). While a client is not
 * authenticated, the request parser applies Redis's pre-authentication limits (net.c) and
 * only commands flagged CMD_NO_AUTH run (call.c).
 *
 * The protocol of a connection (RESP2 or RESP3) is the protocol of its output writer
 * (c->out.proto): HELLO switches it, RESET returns it to 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "server_int.h"

void ping_command(struct client *c)
{
	if (c->argc > 2) {
		add_err_arity(c);
		return;
	}
	/* a RESP2 subscriber gets the reply in the shape of a message, as Redis */
	if ((c->flags & CL_PUBSUB) && c->out.proto == 2) {
		add_array(c, 2);
		add_bulk_str(c, "pong");
		if (c->argc == 1)
			add_bulk(c, "", 0);
		else
			add_bulk(c, c->argv[1], c->argvlen[1]);
		return;
	}
	if (c->argc == 1)
		add_status(c, "PONG");
	else
		add_bulk(c, c->argv[1], c->argvlen[1]);
}

void echo_command(struct client *c)
{
	add_bulk(c, c->argv[1], c->argvlen[1]);
}

void quit_command(struct client *c)
{
	add_ok(c);
	c->flags |= CL_CLOSE_AFTER_REPLY;
}

void select_command(struct client *c)
{
	long long db;

	if (!str2ll(c->argv[1], c->argvlen[1], &db) || db < INT32_MIN || db > INT32_MAX) {
		add_error(c, "value is not an integer or out of range");
		return;
	}
	/* one keyspace per store: database 0 is the only one */
	if (db != 0) {
		add_error(c, "DB index is out of range");
		return;
	}
	add_ok(c);
}

void time_command(struct client *c)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	add_array(c, 2);
	add_bulk_ll(c, (long long)tv.tv_sec);
	add_bulk_ll(c, (long long)tv.tv_usec);
}

/* Constant-time comparison of @a (@alen bytes) with the NUL-terminated secret @b. */
static bool secret_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned char diff = (unsigned char)(alen != blen);

	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned char)(a[i] ^ b[blen ? i % blen : 0]);
	return !diff && alen == blen;
}

static bool has_password(struct hkv_server *srv)
{
	return srv->cfg.requirepass && *srv->cfg.requirepass;
}

/*
 * Check @user (may be NULL: "default") and @pass. Return: true and the client authenticated,
 * or false with the error replied.
 */
static bool authenticate(struct client *c, const char *user, size_t ulen, const char *pass,
			 size_t plen)
{
	struct hkv_server *srv = c->srv;
	bool user_ok = !user || (ulen == 7 && !memcmp(user, "default", 7));

	if (!has_password(srv)) {
		/* the default user takes any password when none is set ("nopass") */
		if (user_ok) {
			c->authenticated = true;
			return true;
		}
	} else if (user_ok && secret_eq(pass, plen, srv->cfg.requirepass)) {
		c->authenticated = true;
		return true;
	}
	srv_log(srv, 2, "client id=%llu addr=%s: authentication failed",
		(unsigned long long)c->id, c->addr);
	add_error(c, "-WRONGPASS invalid username-password pair or user is disabled.");
	return false;
}

void auth_command(struct client *c)
{
	if (c->argc > 3) {
		add_err_syntax(c);
		return;
	}
	if (c->argc == 2) {
		if (!has_password(c->srv)) {
			add_error(c, "AUTH <password> called without any password configured for the "
				     "default user. Are you sure your configuration is correct?");
			return;
		}
		if (authenticate(c, NULL, 0, c->argv[1], c->argvlen[1]))
			add_ok(c);
		return;
	}
	if (authenticate(c, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2]))
		add_ok(c);
}

static bool valid_client_name(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~')
			return false;
	return true;
}

/* Set the name from argument @i; replies with an error and returns false if it is invalid. */
static bool set_name(struct client *c, int i)
{
	char *name = NULL;

	if (!valid_client_name(c->argv[i], c->argvlen[i])) {
		add_error(c, "Client names cannot contain spaces, newlines or special characters.");
		return false;
	}
	if (c->argvlen[i]) {
		name = xstrndup(c->argv[i], c->argvlen[i]);
		if (!name) {
			add_error(c, "-OOM out of memory");
			return false;
		}
	}
	free(c->name);
	c->name = name;
	return true;
}

void hello_command(struct client *c)
{
	long long ver = 0;
	int i = 2;

	if (c->argc >= 2) {
		if (!str2ll(c->argv[1], c->argvlen[1], &ver)) {
			add_error(c, "Protocol version is not an integer or out of range");
			return;
		}
		if (ver < 2 || ver > 3) {
			add_error(c, "-NOPROTO unsupported protocol version");
			return;
		}
	}
	/* options are checked before anything is changed */
	for (int j = 2; j < c->argc; j++) {
		int more = c->argc - j - 1;

		if (!strcasecmp(c->argv[j], "AUTH") && more >= 2) {
			j += 2;
		} else if (!strcasecmp(c->argv[j], "SETNAME") && more >= 1) {
			if (!valid_client_name(c->argv[j + 1], c->argvlen[j + 1])) {
				add_error(c, "Client names cannot contain spaces, newlines or special "
					     "characters.");
				return;
			}
			j++;
		} else {
			add_errorf(c, "Syntax error in HELLO option '%.128s'", c->argv[j]);
			return;
		}
	}
	for (; i < c->argc; i++) {
		if (!strcasecmp(c->argv[i], "AUTH")) {
			if (!authenticate(c, c->argv[i + 1], c->argvlen[i + 1], c->argv[i + 2],
					  c->argvlen[i + 2]))
				return;
			i += 2;
		}
	}
	if (!c->authenticated) {
		add_error(c, "-NOAUTH HELLO must be called with the client already authenticated, "
			     "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
			     "authenticate the client and select the RESP protocol version at the "
			     "same time");
		return;
	}
	for (i = 2; i < c->argc; i++) {
		if (!strcasecmp(c->argv[i], "AUTH")) {
			i += 2;
		} else if (!strcasecmp(c->argv[i], "SETNAME")) {
			if (!set_name(c, i + 1))
				return;
			i++;
		}
	}
	if (ver)
		c->out.proto = (int)ver;
	add_map(c, 7);
	add_bulk_str(c, "server");
	add_bulk_str(c, "redis");
	add_bulk_str(c, "version");
	add_bulk_str(c, HKV_SERVER_REDIS_VERSION);
	add_bulk_str(c, "proto");
	add_int(c, c->out.proto);
	add_bulk_str(c, "id");
	add_int(c, (long long)c->id);
	add_bulk_str(c, "mode");
	add_bulk_str(c, "standalone");
	add_bulk_str(c, "role");
	add_bulk_str(c, "master");
	add_bulk_str(c, "modules");
	add_array(c, 0);
}

void reset_command(struct client *c)
{
	if (c->flags & CL_MULTI)
		multi_discard(c);
	unwatch_all(c);
	c->flags &= ~(CL_DIRTY_CAS | CL_REPLY_OFF | CL_REPLY_SKIP | CL_REPLY_SKIP_NEXT |
		      CL_NO_EVICT);
	pubsub_unsubscribe_all(c, false);
	free(c->name);
	c->name = NULL;
	c->out.proto = 2;
	c->authenticated = !has_password(c->srv);
	add_status(c, "RESET");
}

/* ---------------------------------------------------------------------------------------
 * CLIENT
 * --------------------------------------------------------------------------------------- */

void client_id_command(struct client *c)
{
	add_int(c, (long long)c->id);
}

void client_info_command(struct client *c)
{
	char buf[1024];
	size_t n = client_info(c, buf, sizeof(buf) - 1);

	buf[n++] = '\n';
	add_verbatim(c, buf, n);
}

static bool client_is_type(struct client *c, int type)
{
	/* 0 normal, 1 pubsub; hkv-server has no replicas or masters */
	if (type == 1)
		return (c->flags & CL_PUBSUB) != 0;
	return !(c->flags & CL_PUBSUB);
}

/* Parse a client class name. Return: 0 normal, 1 pubsub, 2 replica/master, -1 unknown. */
static int client_type_parse(const char *s)
{
	if (!strcasecmp(s, "normal"))
		return 0;
	if (!strcasecmp(s, "pubsub"))
		return 1;
	if (!strcasecmp(s, "replica") || !strcasecmp(s, "slave") || !strcasecmp(s, "master"))
		return 2;
	return -1;
}

struct strbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void client_list_one(struct strbuf *b, struct client *cl)
{
	char line[1024];
	size_t n = client_info(cl, line, sizeof(line) - 1);

	line[n++] = '\n';
	sb_add(b, line, n);
}

void client_list_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	struct strbuf b = { 0 };
	int type = -1;

	if (c->argc == 4 && !strcasecmp(c->argv[2], "type")) {
		type = client_type_parse(c->argv[3]);
		if (type < 0) {
			add_errorf(c, "Unknown client type '%.64s'", c->argv[3]);
			return;
		}
	} else if (c->argc > 3 && !strcasecmp(c->argv[2], "id")) {
		for (int i = 3; i < c->argc; i++) {
			long long id;

			if (!str2ll(c->argv[i], c->argvlen[i], &id) || id <= 0) {
				add_error(c, "Invalid client ID");
				free(b.p);
				return;
			}
		}
		for (int i = 3; i < c->argc; i++) {
			long long id;
			uint64_t uid;
			struct dict_entry *e;

			str2ll(c->argv[i], c->argvlen[i], &id);
			uid = (uint64_t)id;
			e = dict_find(&srv->clients_by_id, &uid, sizeof(uid));
			if (e && !(((struct client *)e->val)->flags & CL_FAKE))
				client_list_one(&b, e->val);
		}
		goto reply;
	} else if (c->argc != 2) {
		add_err_syntax(c);
		return;
	}
	/* oldest first, as Redis lists them */
	{
		struct client *last = srv->clients;

		while (last && last->next)
			last = last->next;
		for (struct client *cl = last; cl; cl = cl->prev)
			if (type < 0 || (type < 2 && client_is_type(cl, type)))
				client_list_one(&b, cl);
	}
reply:
	if (b.oom) {
		add_error(c, "-OOM out of memory");
	} else {
		add_verbatim(c, b.p ? b.p : "", b.len);
	}
	free(b.p);
}

void client_setname_command(struct client *c)
{
	if (set_name(c, 2))
		add_ok(c);
}

void client_getname_command(struct client *c)
{
	if (c->name)
		add_bulk_str(c, c->name);
	else
		add_null(c);
}

static struct client *client_by_id(struct hkv_server *srv, const char *s, size_t len)
{
	long long id;
	uint64_t uid;
	struct dict_entry *e;

	if (!str2ll(s, len, &id) || id <= 0)
		return NULL;
	uid = (uint64_t)id;
	e = dict_find(&srv->clients_by_id, &uid, sizeof(uid));
	if (!e || (((struct client *)e->val)->flags & CL_FAKE))
		return NULL;
	return e->val;
}

void client_kill_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	const char *addr = NULL, *laddr = NULL, *user = NULL;
	long long id = 0;
	int type = -1;
	bool skipme = true, old_style = false;
	long long killed = 0;

	if (c->argc == 3) {
		/* CLIENT KILL addr:port */
		addr = c->argv[2];
		old_style = true;
		skipme = false;
	} else if (c->argc % 2) {
		/* option value pairs after CLIENT KILL */
		add_err_syntax(c);
		return;
	} else {
		for (int i = 2; i < c->argc; i += 2) {
			const char *opt = c->argv[i], *val = c->argv[i + 1];

			if (!strcasecmp(opt, "id")) {
				if (!str2ll(val, c->argvlen[i + 1], &id) || id <= 0) {
					add_error(c, "client-id should be greater than 0");
					return;
				}
			} else if (!strcasecmp(opt, "type")) {
				type = client_type_parse(val);
				if (type < 0) {
					add_errorf(c, "Unknown client type '%.64s'", val);
					return;
				}
			} else if (!strcasecmp(opt, "addr")) {
				addr = val;
			} else if (!strcasecmp(opt, "laddr")) {
				laddr = val;
			} else if (!strcasecmp(opt, "user")) {
				user = val;
			} else if (!strcasecmp(opt, "skipme")) {
				if (!strcasecmp(val, "yes")) {
					skipme = true;
				} else if (!strcasecmp(val, "no")) {
					skipme = false;
				} else {
					add_err_syntax(c);
					return;
				}
			} else {
				add_err_syntax(c);
				return;
			}
		}
		if (user && strcmp(user, "default")) {
			add_errorf(c, "No such user '%.64s'", user);
			return;
		}
	}
	for (struct client *cl = srv->clients; cl; cl = cl->next) {
		if (cl->flags & (CL_FAKE | CL_CLOSE_ASAP))
			continue;
		if (addr && strcmp(cl->addr, addr))
			continue;
		if (laddr && strcmp(cl->laddr, laddr))
			continue;
		if (id && cl->id != (uint64_t)id)
			continue;
		if (type >= 0 && (type == 2 || !client_is_type(cl, type)))
			continue;
		if (cl == c && skipme)
			continue;
		killed++;
		if (cl == c) {
			/* the reply goes out first */
			c->flags |= CL_CLOSE_AFTER_REPLY;
		} else {
			if (cl->flags & CL_BLOCKED)
				unblock_client(cl, false);
			client_close_async(cl);
		}
	}
	if (old_style) {
		if (killed)
			add_ok(c);
		else
			add_error(c, "No such client");
		return;
	}
	add_int(c, killed);
}

void client_unblock_command(struct client *c)
{
	struct client *target;
	bool error = false;

	if (c->argc > 4) {
		add_err_syntax(c);
		return;
	}
	if (c->argc == 4) {
		if (!strcasecmp(c->argv[3], "error")) {
			error = true;
		} else if (strcasecmp(c->argv[3], "timeout")) {
			add_error(c, "CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
			return;
		}
	}
	{
		long long id;

		if (!str2ll(c->argv[2], c->argvlen[2], &id)) {
			add_err_notint(c);
			return;
		}
	}
	target = client_by_id(c->srv, c->argv[2], c->argvlen[2]);
	if (!target || !(target->flags & CL_BLOCKED) || target->bs.type == BLOCK_SLEEP) {
		add_int(c, 0);
		return;
	}
	if (error) {
		unblock_client(target, false);
		add_error(target, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
	} else {
		unblock_client(target, true);
	}
	add_int(c, 1);
}

void client_reply_command(struct client *c)
{
	if (!strcasecmp(c->argv[2], "on")) {
		c->flags &= ~(CL_REPLY_OFF | CL_REPLY_SKIP | CL_REPLY_SKIP_NEXT);
		add_ok(c);
	} else if (!strcasecmp(c->argv[2], "off")) {
		c->flags |= CL_REPLY_OFF;
	} else if (!strcasecmp(c->argv[2], "skip")) {
		if (!(c->flags & CL_REPLY_OFF))
			c->flags |= CL_REPLY_SKIP_NEXT;
	} else {
		add_err_syntax(c);
	}
}

void client_no_evict_command(struct client *c)
{
	if (!strcasecmp(c->argv[2], "on")) {
		c->flags |= CL_NO_EVICT;
		add_ok(c);
	} else if (!strcasecmp(c->argv[2], "off")) {
		c->flags &= ~CL_NO_EVICT;
		add_ok(c);
	} else {
		add_err_syntax(c);
	}
}

void client_help_command(struct client *c)
{
	static const char *const help[] = {
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"    * ID <client-id>",
		"      Kill connections by client id.",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|PUBSUB)",
		"      Return clients of specified type.",
		"    * ID <client-id> [<client-id> ...]",
		"      Return clients with the given IDs.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"NO-EVICT (ON|OFF)",
		"    Protect the current client connection from eviction.",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}
