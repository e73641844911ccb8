/* SPDX-License-Identifier: MIT */
/*
 * hkvctl.h - internals shared by the files of hkvctl.
 *
 * hkvctl has no commands of its own beyond a few verbs (stat, compact, kernel, help): every
 * store command is a request (argv) for the command layer's table (hkv/server.h), run either
 * in-process on a store hkvctl opened itself (local.c) or over the daemon's unix socket while
 * the store is mounted (remote.c). Both produce one RESP reply, parsed into a struct
 * hkv_resp_value; reply.c prints it. Since the table makes the reply and the printer only
 * reads it, both doors print the same bytes.
 *
 * hkvctl is a short-lived process: running out of memory prints a message and exits (xmalloc
 * and friends), which keeps the code about commands.
 */
#ifndef HKVCTL_H
#define HKVCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hkv/engine.h"
#include "hkv/resp.h"
#include "hkv/server.h"

/* Exit statuses (documented in docs/hkvctl.md). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_ERR 1   /* the command ran and failed, or the store cannot be reached */
#define CTL_EXIT_USAGE 2 /* the command line is wrong: unknown command, arity, syntax */

/* Allocation that exits the process on failure: hkvctl is a short-lived tool. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xmemdup(const void *p, size_t n);

/**
 * struct ctl_req - one request: @argc words, @argv[0] the command name.
 * @argv, @argvlen: borrowed words (command-line arguments, or stdin's bytes for a "-" value);
 *                  binary-safe, @argvlen[i] bytes each.
 * @raw_text: the reply is text meant for a human (INFO, HKVFS STATS): a string reply is
 *            printed as it is in both styles.
 */
struct ctl_req {
	int argc;
	char **argv;
	size_t *argvlen;
	bool raw_text;
};

/**
 * struct ctl_ctx - what every door needs to know about the invocation.
 * @dir:        the data directory (never NULL when a request is run).
 * @sync:       the engine's sync policy for an in-process run, if @sync_given.
 * @sync_given: --sync was given.
 */
struct ctl_ctx {
	const char *dir;
	enum hkv_sync sync;
	bool sync_given;
};

/* The error printed for a command that ends without a reply (SHUTDOWN), on both doors. */
#define CTL_NO_REPLY "ERR no reply: the server closed the connection"

/**
 * ctl_error() - a reply of type HKV_RESP_ERROR carrying hkvctl's own message (store missing or
 * unreachable), formatted like the table's errors ("ERR ..."). Never NULL.
 */
struct hkv_resp_value *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * ctl_local_run() - run @req in-process on the store in @ctx->dir.
 * @out: set to the reply (owned by the caller) unless the store is held by another process.
 *
 * The store is opened for the request and closed again; a write command (by the table's
 * "write" flag) creates it. A reply that is not an error is replaced by an error if closing
 * the store fails to flush.
 *
 * Return: 0 and *@out; -EBUSY when another process holds the store (nothing was run, *@out is
 * untouched): the caller goes through the daemon's socket instead.
 */
int ctl_local_run(const struct ctl_ctx *ctx, const struct ctl_req *req,
		  struct hkv_resp_value **out);

/**
 * ctl_remote_run() - send @req to the daemon's socket DATA_DIR/hkvfs.sock and wait for its
 * reply. Return: the reply or an error reply saying why there is none; never NULL.
 */
struct hkv_resp_value *ctl_remote_run(const struct ctl_ctx *ctx, const struct ctl_req *req);

/**
 * ctl_table() - a server without a store, for questions about the command table (COMMAND
 * INFO, COMMAND DOCS) and for the replies the table gives before it runs anything (unknown
 * command, wrong number of arguments). Made on first use, freed at exit. Never NULL.
 */
struct hkv_server *ctl_table(void);

/**
 * ctl_call() - hkv_server_call() on @srv, with the reply parsed. Never NULL (an error reply
 * when the call or the parse fails).
 */
struct hkv_resp_value *ctl_call(struct hkv_server *srv, int argc, char **argv,
				const size_t *argvlen);

/** ctl_table_call() - ctl_call() on ctl_table() with NUL-terminated words. */
struct hkv_resp_value *ctl_table_call(int argc, const char *const *argv);

/**
 * struct ctl_cmdinfo - what COMMAND INFO says about a command.
 * @arity, @first, @last, @step: as in the table.
 * @write: the command has the "write" flag.
 */
struct ctl_cmdinfo {
	int arity;
	int first, last, step;
	bool write;
};

/**
 * ctl_cmdinfo() - look up @name (binary-safe, @len bytes) in the table.
 * Return: true and *@out when the table has the command.
 */
bool ctl_cmdinfo(const char *name, size_t len, struct ctl_cmdinfo *out);

/** ctl_arity_ok() - @argc words (the name included) fit @info's arity. */
bool ctl_arity_ok(const struct ctl_cmdinfo *info, int argc);

/**
 * reply_print() - write @v to stdout (a top-level error to stderr) in tty or plain style;
 * @raw_text prints a top-level string as it is (INFO-like text).
 * Return: the exit status the reply implies: 0, or for a top-level error reply_error_status().
 */
int reply_print(const struct hkv_resp_value *v, bool tty, bool raw_text);

/**
 * reply_error_status() - the exit status of the error reply @msg: CTL_EXIT_USAGE when its text
 * can only mean that the command line is wrong (unknown command or subcommand, wrong number of
 * arguments, syntax error, an option or argument no data can make valid), CTL_EXIT_ERR
 * otherwise. Decided from the reply alone, so both doors exit alike.
 */
int reply_error_status(const char *msg);

/**
 * ctl_help() - `hkvctl --help` (@name NULL) or `hkvctl help NAME` on @f.
 * Return: the exit status (CTL_EXIT_USAGE for an unknown NAME, the message on stderr).
 */
int ctl_help(FILE *f, const char *name);

/** ctl_usage_line() - "Usage: hkvctl NAME KEY ARG [ARG ...]" for @name, derived from the table. */
void ctl_usage_line(FILE *f, const char *name, size_t len);

#endif /* HKVCTL_H */
