/* SPDX-License-Identifier: MIT */
/*
 * hkvctl.h - internals shared by the files of hkvctl: the reply tree every command builds,
 * the command table, and argument parsing helpers.
 *
 * A command never prints. It returns a struct ctl_reply (Redis's reply kinds: status, error,
 * integer, bulk string, nil, array, plus preformatted text for `stat`), and main() prints it
 * in one of two styles (reply.c): "tty" like redis-cli on a terminal, or "plain", byte-exact
 * for pipes and files. Keeping output in one place makes both styles identical for every
 * verb, and lets a reply forwarded from a running daemon print the same way.
 *
 * hkvctl is a short-lived process: running out of memory prints a message and exits (xmalloc
 * and friends), which keeps the command code about commands.
 */
#ifndef HKVCTL_H
#define HKVCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hkv/engine.h"

/* Exit statuses (documented in docs/hkvctl.md). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_ERR 1   /* the command ran and failed: wrong type, no such key, I/O, busy */
#define CTL_EXIT_USAGE 2 /* the command line is wrong: unknown verb, arity, syntax, number */

enum ctl_reply_kind {
	CTL_REPLY_STATUS,  /* "OK", "string": printed unquoted */
	CTL_REPLY_ERROR,   /* message such as "ERR syntax error"; exit status in .code */
	CTL_REPLY_INTEGER,
	CTL_REPLY_BULK,    /* binary-safe string */
	CTL_REPLY_NIL,
	CTL_REPLY_ARRAY,
	CTL_REPLY_TEXT,    /* preformatted multi-line text, printed as is in both styles */
};

/**
 * struct ctl_reply - one node of a reply tree.
 * @kind: what it is.
 * @str, @len: STATUS, ERROR, BULK, TEXT: malloc()ed bytes (NUL-terminated, not counted).
 * @integer: INTEGER: the value. ERROR: the exit status (CTL_EXIT_ERR or CTL_EXIT_USAGE).
 * @elem, @nelem, @cap: ARRAY: owned children.
 */
struct ctl_reply {
	enum ctl_reply_kind kind;
	char *str;
	size_t len;
	int64_t integer;
	struct ctl_reply **elem;
	size_t nelem;
	size_t cap;
};

/* Allocation that exits the process on failure: hkvctl is a short-lived tool. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xmemdup(const void *p, size_t n);

struct ctl_reply *reply_status(const char *s);
struct ctl_reply *reply_int(int64_t v);
struct ctl_reply *reply_bulk(const void *p, size_t n);
/** reply_bulk_take() - a BULK reply that takes ownership of @buf's data (malloc()ed). */
struct ctl_reply *reply_bulk_take(struct hkv_buf *buf);
struct ctl_reply *reply_nil(void);
struct ctl_reply *reply_array(void);
struct ctl_reply *reply_text(char *s, size_t n);
/** reply_push() - append @child to array @arr, which takes ownership. Returns @arr. */
struct ctl_reply *reply_push(struct ctl_reply *arr, struct ctl_reply *child);
/** reply_err() - an error the command met at run time: exit status 1. */
struct ctl_reply *reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** reply_usage() - an error in the command line: exit status 2. */
struct ctl_reply *reply_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/**
 * reply_engine() - translate a negative engine return code into the Redis-style error reply
 * a user expects (WRONGTYPE ..., ERR value is not an integer ...). Exit status 1.
 */
struct ctl_reply *reply_engine(int rc);
/** reply_double() - a BULK holding @d formatted as Redis formats scores (shortest form). */
struct ctl_reply *reply_double(double d);
void reply_free(struct ctl_reply *r);

/**
 * reply_print() - write @r to stdout (errors to stderr) in tty or plain style.
 * Return: the exit status the reply implies (0, or the error's status).
 */
int reply_print(const struct ctl_reply *r, bool tty);

/** format_double() - Redis's shortest round-trip form of @d ("1.5", "inf", "-inf"). */
void format_double(double d, char *out, size_t size);

/* Command table ------------------------------------------------------------------------ */

/* A handler gets the verb in argv[0] and its arguments after it. */
typedef struct ctl_reply *(*ctl_cmd_fn)(struct hkv *db, int argc, char **argv);

#define CTL_CMD_WRITE (1u << 0)  /* may create the store; refused on a read-only store */
#define CTL_CMD_NOSTORE (1u << 1) /* runs without opening the store (kernel ...) */
#define CTL_CMD_STDIN (1u << 2)   /* VALUE "-" (argv[2]) means stdin, read into ctl_stdin */

/**
 * ctl_stdin - all of standard input, read by main() before the store is opened (so that a
 * slow producer never holds the store's lock) when a CTL_CMD_STDIN command's argv[2] is "-".
 */
struct ctl_input {
	char *data;
	size_t len;
};
extern struct ctl_input ctl_stdin;

/**
 * struct ctl_cmd - one verb.
 * @name:    lowercase name; matched case-insensitively as Redis does.
 * @arity:   Redis convention, counting the verb: N exactly N words, -N at least N.
 * @flags:   CTL_CMD_*.
 * @fn:      handler.
 * @args:    synopsis of the arguments, for help.
 * @summary: one line for help.
 */
struct ctl_cmd {
	const char *name;
	int arity;
	unsigned flags;
	ctl_cmd_fn fn;
	const char *args;
	const char *summary;
};

extern const struct ctl_cmd ctl_keys_cmds[];
extern const struct ctl_cmd ctl_types_cmds[];
extern const struct ctl_cmd ctl_admin_cmds[];

/* Argument parsing ---------------------------------------------------------------------- */

/** parse_ll() - Redis's strict integer syntax (no spaces, no '+', no leading zeros). */
bool parse_ll(const char *s, int64_t *out);
/** parse_double() - a finite or infinite float ("inf", "+inf", "-inf" accepted), not NaN. */
bool parse_double(const char *s, double *out);
/** parse_ldouble() - as parse_double() for INCRBYFLOAT. */
bool parse_ldouble(const char *s, long double *out);
/** arg_is() - case-insensitive comparison of an argument with a keyword. */
bool arg_is(const char *arg, const char *kw);
/*
 * hkvctl_clock_ms - from HKV_CLOCK_MS: when non-zero, the store's clock and now_ms() stand at
 * this Unix time in milliseconds (reproducible TTL arithmetic, for tests).
 */
extern int64_t hkvctl_clock_ms;

/**
 * now_ms() - CLOCK_REALTIME in Unix milliseconds (the engine's default clock), or
 * hkvctl_clock_ms when set.
 */
int64_t now_ms(void);

/** ctl_scan_args - the optional arguments of SCAN, HSCAN, SSCAN, ZSCAN. */
struct ctl_scan_args {
	struct hkv_cursor cur;
	const char *match;
	size_t count;
	enum hkv_type type;
};

/**
 * parse_scan_args() - parse "cursor [MATCH pat] [COUNT n]" (and [TYPE t] if @allow_type)
 * from @argv[0..argc). Return: NULL, or an error reply.
 */
struct ctl_reply *parse_scan_args(int argc, char **argv, bool allow_type,
				  struct ctl_scan_args *out);
/** scan_reply() - the [cursor, [items...]] array SCAN-like commands return. */
struct ctl_reply *scan_reply(const struct hkv_cursor *cur, struct ctl_reply *items);

#ifdef HKV_HAVE_FORWARD
/**
 * ctl_forward() - run argv[0..argc) (the verb and its arguments) on the daemon that holds the
 * store in @dir, through its control socket.
 * Return: the daemon's reply, or NULL if there is no socket to forward to.
 */
struct ctl_reply *ctl_forward(const char *dir, int argc, char **argv);
#endif

#endif /* HKVCTL_H */
