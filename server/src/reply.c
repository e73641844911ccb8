// SPDX-License-Identifier: MIT
/*
 * reply.c - replies to a client: the RESP writer (resp.c) on the client's output buffer, with
 * the client's protocol, CLIENT REPLY OFF|SKIP, error statistics and Redis's shared errors.
 *
 * A reply is appended to @c->out and the client is put on the server's pending list; the
 * event loop writes pending output after the commands of an iteration have run (and, under
 * appendfsync always, after the group flush), never in the middle of a command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server_int.h"

static bool muted(struct client *c)
{
	return (c->flags & (CL_REPLY_OFF | CL_REPLY_SKIP)) && !(c->flags & CL_PUSHING);
}

void client_pushed(struct client *c)
{
	if (c->flags & CL_FAKE)
		return;
	client_want_write(c);
}

#define OUT(c)                                                                                 \
	do {                                                                                   \
		if (muted(c))                                                                  \
			return;                                                                \
		client_pushed(c);                                                              \
	} while (0)

void add_reply_raw(struct client *c, const void *p, size_t n)
{
	OUT(c);
	hkv_resp_out_raw(&c->out, p, n);
}

void add_status(struct client *c, const char *s)
{
	OUT(c);
	hkv_resp_status(&c->out, s);
}

void add_ok(struct client *c)
{
	add_reply_raw(c, "+OK\r\n", 5);
}

void add_error(struct client *c, const char *msg)
{
	c->cmd_failed = true;
	stat_error(c->srv, msg);
	if (muted(c))
		return;
	client_pushed(c);
	hkv_resp_error(&c->out, msg);
}

void add_errorf(struct client *c, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	add_error(c, tmp);
}

void add_int(struct client *c, long long v)
{
	OUT(c);
	hkv_resp_int(&c->out, v);
}

void add_bulk(struct client *c, const void *p, size_t n)
{
	OUT(c);
	hkv_resp_bulk(&c->out, p, n);
}

void add_bulk_str(struct client *c, const char *s)
{
	add_bulk(c, s, strlen(s));
}

void add_bulk_ll(struct client *c, long long v)
{
	OUT(c);
	hkv_resp_bulk_ll(&c->out, v);
}

void add_null(struct client *c)
{
	OUT(c);
	hkv_resp_null(&c->out);
}

void add_null_array(struct client *c)
{
	OUT(c);
	hkv_resp_null_array(&c->out);
}

void add_array(struct client *c, long long n)
{
	OUT(c);
	hkv_resp_array(&c->out, n);
}

void add_map(struct client *c, long long n)
{
	OUT(c);
	hkv_resp_map(&c->out, n);
}

void add_set(struct client *c, long long n)
{
	OUT(c);
	hkv_resp_set(&c->out, n);
}

void add_push(struct client *c, long long n)
{
	OUT(c);
	hkv_resp_push(&c->out, n);
}

void add_double(struct client *c, double d)
{
	OUT(c);
	hkv_resp_double(&c->out, d);
}

void add_bool(struct client *c, bool b)
{
	OUT(c);
	hkv_resp_bool(&c->out, b);
}

void add_verbatim(struct client *c, const char *p, size_t n)
{
	OUT(c);
	hkv_resp_verbatim(&c->out, p, n, "txt");
}

size_t add_deferred(struct client *c)
{
	return hkv_resp_defer(&c->out);
}

void set_deferred(struct client *c, size_t pos, char type, long long n)
{
	if (muted(c))
		return;
	client_pushed(c);
	hkv_resp_set_deferred(&c->out, pos, type, n);
}

void add_err_arity(struct client *c)
{
	add_errorf(c, "wrong number of arguments for '%s' command",
		   c->cmd ? c->cmd->fullname : "unknown");
}

void add_err_syntax(struct client *c)
{
	add_error(c, "syntax error");
}

void add_err_wrongtype(struct client *c)
{
	add_error(c, "-WRONGTYPE Operation against a key holding the wrong kind of value");
}

void add_err_notint(struct client *c)
{
	add_error(c, "value is not an integer or out of range");
}

void add_err_notfloat(struct client *c)
{
	add_error(c, "value is not a valid float");
}

void add_err_subcommand(struct client *c)
{
	char up[64];
	size_t i;

	for (i = 0; i < c->argvlen[0] && i < sizeof(up) - 1; i++)
		up[i] = (char)(c->argv[0][i] >= 'a' && c->argv[0][i] <= 'z' ? c->argv[0][i] - 32
									       : c->argv[0][i]);
	up[i] = 0;
	add_errorf(c, "unknown subcommand or wrong number of arguments for '%.128s'. Try %s HELP.",
		   c->argc > 1 ? c->argv[1] : "", up);
}

/*
 * Engine failures in Redis's words where Redis has them; the rest say what happened to the
 * store (an I/O error, a full disk) so that the client can tell it from a usage error.
 */
void add_err_engine(struct client *c, int rc)
{
	if (rc < 0)
		rc = -rc;
	switch (rc) {
	case HKV_EWRONGTYPE:
		add_err_wrongtype(c);
		return;
	case HKV_ENOTINT:
		add_err_notint(c);
		return;
	case HKV_ENOTFLOAT:
		add_err_notfloat(c);
		return;
	case HKV_ENOSCORE:
		add_error(c, "resulting score is not a number (NaN)");
		return;
	case EFBIG:
		add_error(c, "string exceeds maximum allowed size (proto-max-bulk-len)");
		return;
	case ENOMEM:
		add_error(c, "-OOM command not allowed when used memory > 'maxmemory'.");
		return;
	case ENOSPC:
		add_error(c, "-MISCONF the store's disk is full: write refused");
		return;
	case EROFS:
		add_error(c, "-READONLY You can't write against a read only store.");
		return;
	case EINVAL:
		add_error(c, "invalid argument (key or value length out of the store's limits)");
		return;
	default:
		add_errorf(c, "-IOERR store error: %s", hkv_strerror(-rc));
		return;
	}
}

void add_help(struct client *c, const char *const *lines)
{
	int n = 0;

	while (lines[n])
		n++;
	add_array(c, n);
	for (int i = 0; i < n; i++)
		add_status(c, lines[i]);
}
