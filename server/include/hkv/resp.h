/* SPDX-License-Identifier: MIT */
/*
 * hkv/resp.h - RESP2 and RESP3, the Redis serialization protocol: an incremental request
 * parser (what a server reads), a reply writer (what a server sends) and an incremental reply
 * parser (what a client reads).
 *
 * Nothing here does I/O or knows about the engine: callers hand bytes in and take bytes out,
 * so the same code serves hkv-server's sockets, the hkvfs daemon's socket, hkvctl (which runs
 * commands in-process or over a socket and prints the same replies either way) and the tests.
 *
 * Requests are either multibulk ("*N\r\n$LEN\r\nBYTES\r\n...") or inline ("SET k v\r\n", with
 * Redis's quoting rules). Limits are checked while parsing, before memory is committed:
 *
 *   limit                 default       error (the connection is then closed)
 *   multibulk count       INT_MAX       Protocol error: invalid multibulk length
 *   bulk length           512 MiB       Protocol error: invalid bulk length
 *   inline line / header  64 KiB        Protocol error: too big inline request (and the
 *                                       "mbulk count" / "bulk count" string variants)
 *
 * The query-buffer limit (1 GiB by default) is the caller's: it owns the buffer.
 *
 * All functions are reentrant; a parser or a writer belongs to one thread at a time.
 */
#ifndef HKV_RESP_H
#define HKV_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest inline request and longest header line ("*N", "$N"): 64 KiB, as Redis. */
#define HKV_RESP_INLINE_MAX (64u * 1024)
/** Default largest bulk string in a request (Redis's proto-max-bulk-len). */
#define HKV_RESP_BULK_MAX_DEFAULT (512ull * 1024 * 1024)

/* -------------------------------------------------------------------------------------
 * Request parser (server side)
 * ------------------------------------------------------------------------------------- */

/**
 * struct hkv_resp_req - parser of one request at a time out of a caller-owned buffer.
 * @max_bulk:      largest bulk argument accepted (set before use; 0 means the default).
 * @max_multibulk: most arguments accepted in one request (0 means INT_MAX).
 * @unauth:        when true, Redis's pre-authentication limits apply (at most 10 arguments
 *                 and 16 KiB per argument) so that an unauthenticated peer cannot make the
 *                 server allocate much.
 * @argc, @argv, @argvlen: the parsed request after hkv_resp_req_parse() returned 1. For a
 *                 multibulk request the argument pointers point into the caller's buffer and
 *                 are valid until the caller changes or moves it; inline arguments are owned
 *                 by the parser. Both are valid until the next parse or hkv_resp_req_reset().
 * @used:          bytes of the buffer that the parsed request occupied.
 * @need:          when a parse returned 0, the buffer length at which trying again can make
 *                 progress (a hint for growing a buffer to fit a large bulk in one read).
 * @err:           the error message after a parse returned -1 ("Protocol error: ...").
 *
 * Other fields are private.
 */
struct hkv_resp_req {
	uint64_t max_bulk;
	int64_t max_multibulk;
	bool unauth;

	int argc;
	char **argv;
	size_t *argvlen;
	size_t used;
	size_t need;
	char err[128];

	/* private */
	int type;          /* 0 not started, 1 inline, 2 multibulk */
	int64_t mbulk;     /* arguments still to read */
	int64_t bulklen;   /* length of the bulk being read, -1 before its header */
	size_t pos;        /* parse position relative to the start of the request */
	int argcap;
	size_t *argoff;    /* offsets of the multibulk arguments */
	char *inl;         /* inline arguments' storage */
};

/** hkv_resp_req_init() - a fresh parser with the default limits. */
void hkv_resp_req_init(struct hkv_resp_req *p);

/** hkv_resp_req_release() - free what the parser owns; it may be initialised again. */
void hkv_resp_req_release(struct hkv_resp_req *p);

/**
 * hkv_resp_req_reset() - forget the current request (after the caller consumed @p->used bytes
 * of its buffer), so the next parse starts at the new beginning of the buffer.
 */
void hkv_resp_req_reset(struct hkv_resp_req *p);

/**
 * hkv_resp_req_parse() - continue parsing the request that starts at @buf.
 * @buf, @len: the unconsumed bytes; the request starts at @buf[0]. Between calls that return
 *             0 the caller may append to the buffer or move it, but must keep the bytes
 *             already seen (the parser keeps offsets, never pointers, until it returns 1).
 *
 * An empty inline line, or a multibulk count <= 0, parses as a request with argc 0: the
 * caller skips it (Redis ignores them).
 *
 * Return: 1 a request is complete (@p->argc, @p->argv, @p->used); 0 more bytes are needed
 * (@p->need); -1 protocol error (@p->err): reply with it and close the connection; -ENOMEM.
 */
int hkv_resp_req_parse(struct hkv_resp_req *p, const char *buf, size_t len);

/**
 * hkv_resp_split_inline() - split one inline line into arguments as Redis does (spaces
 * separate; "double quotes" with \n \r \t \b \a \\ \" \xHH escapes; 'single quotes' with \').
 * @out, @outlen: on success a malloc()ed array of @n malloc()ed NUL-terminated arguments
 *                (free with hkv_resp_free_args()).
 * Return: the number of arguments; -EINVAL unbalanced quotes; -ENOMEM.
 */
int hkv_resp_split_inline(const char *line, size_t len, char ***out, size_t **outlen);

/** hkv_resp_free_args() - free what hkv_resp_split_inline() returned. */
void hkv_resp_free_args(char **argv, size_t *argvlen, int argc);

/* -------------------------------------------------------------------------------------
 * Reply writer
 * ------------------------------------------------------------------------------------- */

/**
 * struct hkv_resp_out - a growable buffer of encoded replies.
 * @buf, @len, @cap: the bytes; @buf is malloc()ed and owned by the writer.
 * @proto:  2 or 3: how maps, sets, doubles, nulls, booleans and pushes are encoded.
 * @oom:    set when growing failed; every later write is dropped (the caller closes the
 *          connection: a truncated reply must never be sent).
 */
struct hkv_resp_out {
	char *buf;
	size_t len;
	size_t cap;
	int proto;
	bool oom;
};

/** hkv_resp_out_init() - an empty writer for protocol @proto (2 or 3). */
void hkv_resp_out_init(struct hkv_resp_out *o, int proto);
/** hkv_resp_out_release() - free the buffer. */
void hkv_resp_out_release(struct hkv_resp_out *o);
/** hkv_resp_out_reserve() - make room for @n more bytes. Return: 0, -ENOMEM. */
int hkv_resp_out_reserve(struct hkv_resp_out *o, size_t n);
/** hkv_resp_out_raw() - append bytes as they are (already encoded). */
void hkv_resp_out_raw(struct hkv_resp_out *o, const void *p, size_t n);

/** Simple string "+S" (no CR or LF inside: they are replaced by spaces). */
void hkv_resp_status(struct hkv_resp_out *o, const char *s);
/**
 * hkv_resp_error() - an error reply. "-CODE text" is sent with its code; any other message
 * gets the code ERR ("syntax error" -> "-ERR syntax error"), as Redis's addReplyError. CR and
 * LF are replaced by spaces.
 */
void hkv_resp_error(struct hkv_resp_out *o, const char *msg);
void hkv_resp_errorf(struct hkv_resp_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hkv_resp_int(struct hkv_resp_out *o, long long v);
void hkv_resp_bulk(struct hkv_resp_out *o, const void *p, size_t n);
void hkv_resp_bulk_str(struct hkv_resp_out *o, const char *s);
void hkv_resp_bulk_ll(struct hkv_resp_out *o, long long v);
/** Null: RESP3 "_", RESP2 "$-1". */
void hkv_resp_null(struct hkv_resp_out *o);
/** Null array: RESP3 "_", RESP2 "*-1". */
void hkv_resp_null_array(struct hkv_resp_out *o);
void hkv_resp_array(struct hkv_resp_out *o, long long n);
/** Map of @n pairs: RESP3 "%n", RESP2 an array of 2n. */
void hkv_resp_map(struct hkv_resp_out *o, long long n);
/** Set: RESP3 "~n", RESP2 an array. */
void hkv_resp_set(struct hkv_resp_out *o, long long n);
/** Push: RESP3 ">n", RESP2 an array. */
void hkv_resp_push(struct hkv_resp_out *o, long long n);
/** Double: RESP3 ",d", RESP2 a bulk string; formatted as Redis (%.17g, "inf", "-inf"). */
void hkv_resp_double(struct hkv_resp_out *o, double d);
/** Boolean: RESP3 "#t"/"#f", RESP2 the integer 1 or 0. */
void hkv_resp_bool(struct hkv_resp_out *o, bool b);
/** Verbatim text: RESP3 "=N\r\ntxt:...", RESP2 a bulk string. */
void hkv_resp_verbatim(struct hkv_resp_out *o, const char *p, size_t n, const char *ext);
/** Big number: RESP3 "(digits", RESP2 a bulk string. */
void hkv_resp_bignum(struct hkv_resp_out *o, const char *digits, size_t n);

/**
 * hkv_resp_defer() - remember where an aggregate whose length is not known yet starts.
 * Return: a position for hkv_resp_set_deferred().
 */
size_t hkv_resp_defer(struct hkv_resp_out *o);
/**
 * hkv_resp_set_deferred() - insert the header of the aggregate at @pos.
 * @type: '*' array, '%' map (@n pairs), '~' set; translated for RESP2.
 */
void hkv_resp_set_deferred(struct hkv_resp_out *o, size_t pos, char type, long long n);

/**
 * hkv_resp_fmt_double() - Redis's text for a double reply: "inf", "-inf", "nan", else %.17g
 * (integral values within 2^53 print without a fraction). Return: the length written.
 */
int hkv_resp_fmt_double(char *buf, size_t size, double d);

/* -------------------------------------------------------------------------------------
 * Reply parser (client side)
 * ------------------------------------------------------------------------------------- */

/** enum hkv_resp_type - the kinds of RESP2 and RESP3 values. */
enum hkv_resp_type {
	HKV_RESP_STATUS = '+',
	HKV_RESP_ERROR = '-',
	HKV_RESP_INTEGER = ':',
	HKV_RESP_BULK = '$',
	HKV_RESP_ARRAY = '*',
	HKV_RESP_NULL = '_',
	HKV_RESP_DOUBLE = ',',
	HKV_RESP_BOOL = '#',
	HKV_RESP_BLOBERR = '!',
	HKV_RESP_VERBATIM = '=',
	HKV_RESP_BIGNUM = '(',
	HKV_RESP_MAP = '%',
	HKV_RESP_SET = '~',
	HKV_RESP_ATTR = '|',
	HKV_RESP_PUSH = '>',
};

/**
 * struct hkv_resp_value - one parsed reply (a tree).
 * @type:    the kind; RESP2 "$-1" and "*-1" parse as HKV_RESP_NULL.
 * @str, @len: STATUS, ERROR, BULK, BLOBERR, VERBATIM (the text after "txt:"), BIGNUM, DOUBLE
 *           (its text): malloc()ed, NUL-terminated.
 * @integer: INTEGER; BOOL (0 or 1).
 * @dbl:     DOUBLE.
 * @elem, @nelem: ARRAY, SET, PUSH, MAP and ATTR (MAP and ATTR: 2 * pairs, key then value).
 */
struct hkv_resp_value {
	enum hkv_resp_type type;
	char *str;
	size_t len;
	long long integer;
	double dbl;
	struct hkv_resp_value **elem;
	size_t nelem;
};

/** hkv_resp_value_free() - free @v and its children. NULL-safe. */
void hkv_resp_value_free(struct hkv_resp_value *v);

/**
 * struct hkv_resp_reader - incremental parser of replies. Feed bytes with
 * hkv_resp_reader_feed(), take complete replies with hkv_resp_reader_next(). Top-level attributes
 * ("|") are parsed and dropped. Other fields are private.
 * @max_bulk: largest bulk accepted (0: 1 GiB).
 */
struct hkv_resp_reader {
	uint64_t max_bulk;
	char *buf;
	size_t len, cap, pos;
	struct hkv_resp_frame {
		struct hkv_resp_value *v;
		size_t want;
	} *stack;
	int depth, stack_cap;
	char err[128];
};

void hkv_resp_reader_init(struct hkv_resp_reader *r);
void hkv_resp_reader_release(struct hkv_resp_reader *r);
/** hkv_resp_reader_feed() - append bytes. Return: 0, -ENOMEM. */
int hkv_resp_reader_feed(struct hkv_resp_reader *r, const void *p, size_t n);
/**
 * hkv_resp_reader_next() - take the next complete reply.
 * Return: 1 and *@out (owned by the caller); 0 more bytes needed; -EPROTO malformed input
 * (@r->err says why; the reader is then unusable); -ENOMEM.
 */
int hkv_resp_reader_next(struct hkv_resp_reader *r, struct hkv_resp_value **out);

#ifdef __cplusplus
}
#endif
#endif /* HKV_RESP_H */
