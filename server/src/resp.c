// SPDX-License-Identifier: MIT
/*
 * resp.c - the RESP2/RESP3 codec: request parser, reply writer, reply parser.
 *
 * Request parser. A request is parsed where it lies, in the caller's buffer: the parser keeps
 * the offset of each multibulk argument relative to the start of the request, so the caller
 * may move the unconsumed tail of its buffer to the front (or grow it with realloc) between
 * calls, and a complete request is handed out as pointers into the buffer without copying a
 * byte. The state between calls is Redis's: the number of arguments still to read and the
 * length of the bulk being read, so a request that arrives one byte at a time costs O(length)
 * in total, not O(length^2). Inline requests are split into parser-owned storage (unquoting
 * changes their bytes).
 *
 * Invariants: @pos never exceeds the bytes the caller has shown; @argc counts the arguments
 * complete so far; offsets are only turned into pointers when the whole request is there.
 *
 * Reply writer. Plain appends to one growable buffer. An aggregate whose length is known only
 * at the end (a filtered scan) is written with a placeholder position: its header is inserted
 * there afterwards with one memmove of what follows.
 *
 * Reply parser. Incremental too: a stack of the aggregates being filled, so a reply of a
 * million elements arriving in many reads is parsed once, not once per read.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkv/resp.h"

/* ----------------------------------------------------------------------------------------
 * Numbers
 * ---------------------------------------------------------------------------------------- */

/* Strict decimal: optional '-', no '+', no spaces, no leading zeros; fits long long. */
static bool parse_ll(const char *s, size_t len, long long *out)
{
	unsigned long long v = 0;
	bool neg = false;
	size_t i = 0;

	if (len == 0 || len > 20)
		return false;
	if (s[0] == '-') {
		neg = true;
		i = 1;
		if (len == 1)
			return false;
	}
	if (s[i] == '0' && len > i + 1)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	} else {
		if (v > LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

static int fmt_ll(char *buf, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
	int n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	return len;
}

int hkv_resp_fmt_double(char *buf, size_t size, double d)
{
	if (isnan(d))
		return snprintf(buf, size, "nan");
	if (isinf(d))
		return snprintf(buf, size, d > 0 ? "inf" : "-inf");
	return snprintf(buf, size, "%.17g", d);
}

/* ----------------------------------------------------------------------------------------
 * Request parser
 * ---------------------------------------------------------------------------------------- */

enum { REQ_NONE = 0, REQ_INLINE = 1, REQ_MULTIBULK = 2 };

void hkv_resp_req_init(struct hkv_resp_req *p)
{
	memset(p, 0, sizeof(*p));
	p->bulklen = -1;
}

void hkv_resp_req_release(struct hkv_resp_req *p)
{
	free(p->argv);
	free(p->argvlen);
	free(p->argoff);
	free(p->inl);
	hkv_resp_req_init(p);
}

void hkv_resp_req_reset(struct hkv_resp_req *p)
{
	p->type = REQ_NONE;
	p->mbulk = 0;
	p->bulklen = -1;
	p->pos = 0;
	p->argc = 0;
	p->used = 0;
	p->need = 0;
	if (p->argcap > 1024) {
		/* a huge request's arrays are not kept for the next small one */
		free(p->argv);
		free(p->argvlen);
		free(p->argoff);
		p->argv = NULL;
		p->argvlen = NULL;
		p->argoff = NULL;
		p->argcap = 0;
	}
	free(p->inl);
	p->inl = NULL;
}

static int grow_args(struct hkv_resp_req *p, int want)
{
	char **av;
	size_t *al, *ao;
	int cap;

	if (want <= p->argcap)
		return 0;
	cap = p->argcap ? p->argcap : 8;
	while (cap < want)
		cap = cap > INT_MAX / 2 ? INT_MAX : cap * 2;
	av = realloc(p->argv, (size_t)cap * sizeof(*av));
	if (!av)
		return -ENOMEM;
	p->argv = av;
	al = realloc(p->argvlen, (size_t)cap * sizeof(*al));
	if (!al)
		return -ENOMEM;
	p->argvlen = al;
	ao = realloc(p->argoff, (size_t)cap * sizeof(*ao));
	if (!ao)
		return -ENOMEM;
	p->argoff = ao;
	p->argcap = cap;
	return 0;
}

static int proto_err(struct hkv_resp_req *p, const char *msg)
{
	snprintf(p->err, sizeof(p->err), "Protocol error: %s", msg);
	return -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_space(int c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

/*
 * Split @line as sdssplitargs() does. With @store NULL only count arguments and bytes;
 * otherwise write each argument NUL-terminated into @store and its start and length into
 * @starts/@lens. Return: argument count, or -EINVAL (unbalanced quotes).
 */
static int split_inline(const char *line, size_t len, char *store, size_t *starts, size_t *lens,
			size_t *bytes)
{
	const char *p = line, *end = line + len;
	size_t out = 0;
	int argc = 0;

	for (;;) {
		while (p < end && is_space((unsigned char)*p))
			p++;
		if (p >= end)
			break;
		bool inq = false, insq = false, done = false;
		size_t start = out;

		while (!done) {
			if (inq) {
				if (p >= end)
					return -EINVAL;
				if (*p == '\\' && p + 3 < end && p[1] == 'x' && hexval(p[2]) >= 0 &&
				    hexval(p[3]) >= 0) {
					if (store)
						store[out] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
					out++;
					p += 3;
				} else if (*p == '\\' && p + 1 < end) {
					char c;

					p++;
					switch (*p) {
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'b': c = '\b'; break;
					case 'a': c = '\a'; break;
					default: c = *p; break;
					}
					if (store)
						store[out] = c;
					out++;
				} else if (*p == '"') {
					/* the closing quote must be followed by a space or the end */
					if (p + 1 < end && !is_space((unsigned char)p[1]))
						return -EINVAL;
					done = true;
				} else {
					if (store)
						store[out] = *p;
					out++;
				}
			} else if (insq) {
				if (p >= end)
					return -EINVAL;
				if (*p == '\\' && p + 1 < end && p[1] == '\'') {
					p++;
					if (store)
						store[out] = '\'';
					out++;
				} else if (*p == '\'') {
					if (p + 1 < end && !is_space((unsigned char)p[1]))
						return -EINVAL;
					done = true;
				} else {
					if (store)
						store[out] = *p;
					out++;
				}
			} else {
				if (p >= end) {
					done = true;
					break;
				}
				switch (*p) {
				case ' ':
				case '\n':
				case '\r':
				case '\t':
				case '\0':
					done = true;
					break;
				case '"':
					inq = true;
					break;
				case '\'':
					insq = true;
					break;
				default:
					if (store)
						store[out] = *p;
					out++;
					break;
				}
			}
			if (p < end)
				p++;
		}
		if (store) {
			store[out] = 0;
			starts[argc] = start;
			lens[argc] = out - start;
		}
		out++;
		argc++;
	}
	if (bytes)
		*bytes = out;
	return argc;
}

int hkv_resp_split_inline(const char *line, size_t len, char ***out, size_t **outlen)
{
	size_t bytes = 0, *starts = NULL, *lens = NULL;
	char *store = NULL, **av = NULL;
	int argc, i, rc = -ENOMEM;

	argc = split_inline(line, len, NULL, NULL, NULL, &bytes);
	if (argc < 0)
		return argc;
	store = malloc(bytes + 1);
	starts = malloc(((size_t)argc + 1) * sizeof(*starts));
	lens = malloc(((size_t)argc + 1) * sizeof(*lens));
	av = calloc((size_t)argc + 1, sizeof(*av));
	if (!store || !starts || !lens || !av)
		goto out;
	split_inline(line, len, store, starts, lens, NULL);
	for (i = 0; i < argc; i++) {
		av[i] = malloc(lens[i] + 1);
		if (!av[i]) {
			hkv_resp_free_args(av, NULL, i);
			av = NULL;
			goto out;
		}
		memcpy(av[i], store + starts[i], lens[i] + 1);
	}
	*out = av;
	*outlen = lens;
	lens = NULL;
	av = NULL;
	rc = argc;
out:
	free(av);
	free(store);
	free(starts);
	free(lens);
	return rc;
}

void hkv_resp_free_args(char **argv, size_t *argvlen, int argc)
{
	if (argv)
		for (int i = 0; i < argc; i++)
			free(argv[i]);
	free(argv);
	free(argvlen);
}

static int parse_inline(struct hkv_resp_req *p, const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t qlen, bytes = 0, *starts;
	int argc, i;

	if (!nl) {
		if (len > HKV_RESP_INLINE_MAX)
			return proto_err(p, "too big inline request");
		p->need = len + 1;
		return 0;
	}
	qlen = (size_t)(nl - buf);
	p->used = qlen + 1;
	if (qlen && buf[qlen - 1] == '\r')
		qlen--;
	argc = split_inline(buf, qlen, NULL, NULL, NULL, &bytes);
	if (argc < 0)
		return proto_err(p, "unbalanced quotes in request");
	if (grow_args(p, argc ? argc : 1))
		return -ENOMEM;
	p->inl = malloc(bytes + 1);
	if (!p->inl)
		return -ENOMEM;
	starts = p->argoff;
	split_inline(buf, qlen, p->inl, starts, p->argvlen, NULL);
	for (i = 0; i < argc; i++)
		p->argv[i] = p->inl + starts[i];
	p->argc = argc;
	return 1;
}

/* Find "\r" in buf[from, len) and check the "\n" after it. Return: line end or NULL. */
static const char *find_crlf(const char *buf, size_t from, size_t len)
{
	const char *cr = memchr(buf + from, '\r', len - from);

	if (!cr || (size_t)(cr - buf) + 1 >= len)
		return NULL;
	return cr;
}

int hkv_resp_req_parse(struct hkv_resp_req *p, const char *buf, size_t len)
{
	long long ll;
	const char *cr;

	p->need = 0;
	if (p->type == REQ_NONE) {
		if (!len) {
			p->need = 1;
			return 0;
		}
		p->type = buf[0] == '*' ? REQ_MULTIBULK : REQ_INLINE;
	}
	if (p->type == REQ_INLINE)
		return parse_inline(p, buf, len);

	if (p->mbulk == 0 && p->argc == 0 && p->pos == 0) {
		cr = find_crlf(buf, 0, len);
		if (!cr) {
			if (len > HKV_RESP_INLINE_MAX)
				return proto_err(p, "too big mbulk count string");
			p->need = len + 1;
			return 0;
		}
		if (!parse_ll(buf + 1, (size_t)(cr - buf - 1), &ll) || ll > INT_MAX ||
		    (p->max_multibulk > 0 && ll > p->max_multibulk))
			return proto_err(p, "invalid multibulk length");
		if (ll > 10 && p->unauth)
			return proto_err(p, "unauthenticated multibulk length");
		p->pos = (size_t)(cr - buf) + 2;
		if (ll <= 0) {
			p->used = p->pos;
			p->argc = 0;
			return 1;
		}
		p->mbulk = ll;
		if (grow_args(p, ll < 1024 ? (int)ll : 1024))
			return -ENOMEM;
	}
	while (p->mbulk) {
		if (p->bulklen == -1) {
			if (p->pos >= len) {
				p->need = p->pos + 1;
				return 0;
			}
			cr = find_crlf(buf, p->pos, len);
			if (!cr) {
				if (len - p->pos > HKV_RESP_INLINE_MAX)
					return proto_err(p, "too big bulk count string");
				p->need = len + 1;
				return 0;
			}
			if (buf[p->pos] != '$') {
				snprintf(p->err, sizeof(p->err),
					 "Protocol error: expected '$', got '%c'", buf[p->pos]);
				return -1;
			}
			if (!parse_ll(buf + p->pos + 1, (size_t)(cr - buf) - p->pos - 1, &ll) ||
			    ll < 0 ||
			    (uint64_t)ll > (p->max_bulk ? p->max_bulk : HKV_RESP_BULK_MAX_DEFAULT))
				return proto_err(p, "invalid bulk length");
			if (ll > 16384 && p->unauth)
				return proto_err(p, "unauthenticated bulk length");
			p->pos = (size_t)(cr - buf) + 2;
			p->bulklen = ll;
		}
		if (len - p->pos < (size_t)p->bulklen + 2) {
			p->need = p->pos + (size_t)p->bulklen + 2;
			return 0;
		}
		if (p->argc >= p->argcap &&
		    grow_args(p, p->argc + (p->mbulk < 1024 ? (int)p->mbulk : 1024)))
			return -ENOMEM;
		p->argoff[p->argc] = p->pos;
		p->argvlen[p->argc] = (size_t)p->bulklen;
		p->argc++;
		p->pos += (size_t)p->bulklen + 2;
		p->bulklen = -1;
		p->mbulk--;
	}
	for (int i = 0; i < p->argc; i++)
		p->argv[i] = (char *)buf + p->argoff[i];
	p->used = p->pos;
	return 1;
}

/* ----------------------------------------------------------------------------------------
 * Reply writer
 * ---------------------------------------------------------------------------------------- */

void hkv_resp_out_init(struct hkv_resp_out *o, int proto)
{
	memset(o, 0, sizeof(*o));
	o->proto = proto == 3 ? 3 : 2;
}

void hkv_resp_out_release(struct hkv_resp_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
	o->oom = false;
}

int hkv_resp_out_reserve(struct hkv_resp_out *o, size_t n)
{
	size_t cap;
	char *b;

	if (o->oom)
		return -ENOMEM;
	if (o->len + n <= o->cap)
		return 0;
	cap = o->cap ? o->cap : 256;
	while (cap < o->len + n) {
		if (cap > SIZE_MAX / 2) {
			o->oom = true;
			return -ENOMEM;
		}
		cap *= 2;
	}
	b = realloc(o->buf, cap);
	if (!b) {
		o->oom = true;
		return -ENOMEM;
	}
	o->buf = b;
	o->cap = cap;
	return 0;
}

void hkv_resp_out_raw(struct hkv_resp_out *o, const void *p, size_t n)
{
	if (!n || hkv_resp_out_reserve(o, n))
		return;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* "<type><n>\r\n" */
static void out_hdr(struct hkv_resp_out *o, char type, long long n)
{
	char *p;

	if (hkv_resp_out_reserve(o, 24))
		return;
	p = o->buf + o->len;
	*p++ = type;
	p += fmt_ll(p, n);
	*p++ = '\r';
	*p++ = '\n';
	o->len = (size_t)(p - o->buf);
}

/* A line that must not contain CR/LF: they become spaces. */
static void out_line(struct hkv_resp_out *o, char type, const char *s, size_t n)
{
	char *p;

	if (hkv_resp_out_reserve(o, n + 3))
		return;
	p = o->buf + o->len;
	*p++ = type;
	for (size_t i = 0; i < n; i++)
		*p++ = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	*p++ = '\r';
	*p++ = '\n';
	o->len = (size_t)(p - o->buf);
}

void hkv_resp_status(struct hkv_resp_out *o, const char *s)
{
	out_line(o, '+', s, strlen(s));
}

void hkv_resp_error(struct hkv_resp_out *o, const char *msg)
{
	size_t n = strlen(msg);
	char *p;

	/* Redis's rule: "-CODE text" keeps its code, anything else is an "ERR" */
	if (msg[0] == '-') {
		out_line(o, '-', msg + 1, n - 1);
		return;
	}
	if (hkv_resp_out_reserve(o, n + 7))
		return;
	p = o->buf + o->len;
	memcpy(p, "-ERR ", 5);
	p += 5;
	for (size_t i = 0; i < n; i++)
		*p++ = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
	*p++ = '\r';
	*p++ = '\n';
	o->len = (size_t)(p - o->buf);
}

void hkv_resp_errorf(struct hkv_resp_out *o, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	hkv_resp_error(o, tmp);
}

void hkv_resp_int(struct hkv_resp_out *o, long long v)
{
	out_hdr(o, ':', v);
}

void hkv_resp_bulk(struct hkv_resp_out *o, const void *p, size_t n)
{
	out_hdr(o, '$', (long long)n);
	if (hkv_resp_out_reserve(o, n + 2))
		return;
	if (n)
		memcpy(o->buf + o->len, p, n);
	o->buf[o->len + n] = '\r';
	o->buf[o->len + n + 1] = '\n';
	o->len += n + 2;
}

void hkv_resp_bulk_str(struct hkv_resp_out *o, const char *s)
{
	hkv_resp_bulk(o, s, strlen(s));
}

void hkv_resp_bulk_ll(struct hkv_resp_out *o, long long v)
{
	char tmp[24];

	hkv_resp_bulk(o, tmp, (size_t)fmt_ll(tmp, v));
}

void hkv_resp_null(struct hkv_resp_out *o)
{
	if (o->proto == 3)
		hkv_resp_out_raw(o, "_\r\n", 3);
	else
		hkv_resp_out_raw(o, "$-1\r\n", 5);
}

void hkv_resp_null_array(struct hkv_resp_out *o)
{
	if (o->proto == 3)
		hkv_resp_out_raw(o, "_\r\n", 3);
	else
		hkv_resp_out_raw(o, "*-1\r\n", 5);
}

void hkv_resp_array(struct hkv_resp_out *o, long long n)
{
	out_hdr(o, '*', n);
}

void hkv_resp_map(struct hkv_resp_out *o, long long n)
{
	if (o->proto == 3)
		out_hdr(o, '%', n);
	else
		out_hdr(o, '*', n * 2);
}

void hkv_resp_set(struct hkv_resp_out *o, long long n)
{
	out_hdr(o, o->proto == 3 ? '~' : '*', n);
}

void hkv_resp_push(struct hkv_resp_out *o, long long n)
{
	out_hdr(o, o->proto == 3 ? '>' : '*', n);
}

void hkv_resp_double(struct hkv_resp_out *o, double d)
{
	char tmp[64];
	int n = hkv_resp_fmt_double(tmp, sizeof(tmp), d);

	if (o->proto == 3)
		out_line(o, ',', tmp, (size_t)n);
	else
		hkv_resp_bulk(o, tmp, (size_t)n);
}

void hkv_resp_bool(struct hkv_resp_out *o, bool b)
{
	if (o->proto == 3)
		hkv_resp_out_raw(o, b ? "#t\r\n" : "#f\r\n", 4);
	else
		hkv_resp_out_raw(o, b ? ":1\r\n" : ":0\r\n", 4);
}

void hkv_resp_verbatim(struct hkv_resp_out *o, const char *p, size_t n, const char *ext)
{
	if (o->proto == 2) {
		hkv_resp_bulk(o, p, n);
		return;
	}
	out_hdr(o, '=', (long long)n + 4);
	hkv_resp_out_raw(o, ext, 3);
	hkv_resp_out_raw(o, ":", 1);
	hkv_resp_out_raw(o, p, n);
	hkv_resp_out_raw(o, "\r\n", 2);
}

void hkv_resp_bignum(struct hkv_resp_out *o, const char *digits, size_t n)
{
	if (o->proto == 2)
		hkv_resp_bulk(o, digits, n);
	else
		out_line(o, '(', digits, n);
}

size_t hkv_resp_defer(struct hkv_resp_out *o)
{
	return o->len;
}

void hkv_resp_set_deferred(struct hkv_resp_out *o, size_t pos, char type, long long n)
{
	char hdr[24];
	int hl;

	if (o->oom)
		return;
	if (o->proto == 2) {
		if (type == '%')
			n *= 2;
		type = '*';
	}
	hdr[0] = type;
	hl = 1 + fmt_ll(hdr + 1, n);
	hdr[hl++] = '\r';
	hdr[hl++] = '\n';
	if (hkv_resp_out_reserve(o, (size_t)hl))
		return;
	memmove(o->buf + pos + hl, o->buf + pos, o->len - pos);
	memcpy(o->buf + pos, hdr, (size_t)hl);
	o->len += (size_t)hl;
}

/* ----------------------------------------------------------------------------------------
 * Reply parser
 * ---------------------------------------------------------------------------------------- */

void hkv_resp_value_free(struct hkv_resp_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nelem; i++)
		hkv_resp_value_free(v->elem[i]);
	free(v->elem);
	free(v->str);
	free(v);
}

void hkv_resp_reader_init(struct hkv_resp_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void hkv_resp_reader_release(struct hkv_resp_reader *r)
{
	if (r->depth)
		hkv_resp_value_free(r->stack[0].v); /* a partial reply: children hang off it */
	free(r->stack);
	free(r->buf);
	hkv_resp_reader_init(r);
}

int hkv_resp_reader_feed(struct hkv_resp_reader *r, const void *p, size_t n)
{
	if (r->pos && r->pos == r->len) {
		r->pos = r->len = 0;
	} else if (r->pos > 65536 && r->pos > r->len / 2) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;

		while (cap < r->len + n)
			cap *= 2;
		b = realloc(r->buf, cap);
		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

static int rd_err(struct hkv_resp_reader *r, const char *msg)
{
	snprintf(r->err, sizeof(r->err), "%s", msg);
	return -EPROTO;
}

/*
 * Attach @v to the innermost open aggregate (or make it the root), opening it as a new one if
 * it is a non-empty aggregate. Return: 1 the root is complete; 0 more elements are due;
 * -ENOMEM (@v is then owned by its parent, or by nobody if it is the root).
 */
static int rd_attach(struct hkv_resp_reader *r, struct hkv_resp_value *v, bool aggregate,
		     size_t want)
{
	if (r->depth > 0) {
		struct hkv_resp_frame *f = &r->stack[r->depth - 1];

		f->v->elem[f->v->nelem++] = v;
	}
	if (aggregate && want > 0) {
		if (r->depth == r->stack_cap) {
			int cap = r->stack_cap ? r->stack_cap * 2 : 8;
			struct hkv_resp_frame *s = realloc(r->stack, (size_t)cap * sizeof(*s));

			if (!s)
				return -ENOMEM;
			r->stack = s;
			r->stack_cap = cap;
		}
		r->stack[r->depth].v = v;
		r->stack[r->depth].want = want;
		r->depth++;
		return 0;
	}
	/* close every aggregate this element completed */
	while (r->depth > 0 && r->stack[r->depth - 1].v->nelem == r->stack[r->depth - 1].want)
		r->depth--;
	return r->depth == 0;
}

int hkv_resp_reader_next(struct hkv_resp_reader *r, struct hkv_resp_value **out)
{
	for (;;) {
		const char *line, *cr;
		struct hkv_resp_value *v;
		size_t llen, want = 0;
		long long n = 0;
		bool aggregate = false;
		char type;
		int rc;

		if (r->pos >= r->len)
			return 0;
		line = r->buf + r->pos;
		cr = find_crlf(r->buf, r->pos, r->len);
		if (!cr) {
			if (r->len - r->pos > HKV_RESP_INLINE_MAX && r->buf[r->pos] != '+' &&
			    r->buf[r->pos] != '-')
				return rd_err(r, "header line too long");
			return 0;
		}
		llen = (size_t)(cr - line);
		type = line[0];
		switch (type) {
		case '$':
		case '!':
		case '=':
			if (!parse_ll(line + 1, llen - 1, &n) || n < -1)
				return rd_err(r, "invalid bulk length");
			if (n > (long long)(r->max_bulk ? r->max_bulk : (1ull << 30)))
				return rd_err(r, "bulk too long");
			if (n >= 0 && r->len - r->pos < llen + 2 + (size_t)n + 2)
				return 0;
			break;
		case '*':
		case '%':
		case '~':
		case '|':
		case '>':
			if (!parse_ll(line + 1, llen - 1, &n) || n < -1)
				return rd_err(r, "invalid aggregate length");
			break;
		case '+':
		case '-':
		case ':':
		case '_':
		case ',':
		case '#':
		case '(':
			break;
		default:
			return rd_err(r, "unknown reply type");
		}
		v = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		v->type = (enum hkv_resp_type)type;
		switch (type) {
		case '+':
		case '-':
		case '(':
		case ',':
			v->str = malloc(llen);
			if (!v->str)
				goto oom;
			memcpy(v->str, line + 1, llen - 1);
			v->str[llen - 1] = 0;
			v->len = llen - 1;
			if (type == ',') {
				if (!strcmp(v->str, "inf"))
					v->dbl = INFINITY;
				else if (!strcmp(v->str, "-inf"))
					v->dbl = -INFINITY;
				else
					v->dbl = strtod(v->str, NULL);
			}
			r->pos += llen + 2;
			break;
		case ':':
			if (!parse_ll(line + 1, llen - 1, &v->integer)) {
				free(v);
				return rd_err(r, "invalid integer");
			}
			r->pos += llen + 2;
			break;
		case '_':
			v->type = HKV_RESP_NULL;
			r->pos += llen + 2;
			break;
		case '#':
			if (llen != 2 || (line[1] != 't' && line[1] != 'f')) {
				free(v);
				return rd_err(r, "invalid boolean");
			}
			v->integer = line[1] == 't';
			r->pos += llen + 2;
			break;
		case '$':
		case '!':
		case '=':
			r->pos += llen + 2;
			if (n < 0) {
				v->type = HKV_RESP_NULL;
				break;
			}
			{
				const char *p = r->buf + r->pos;
				size_t skip = 0;

				if (type == '=' && n >= 4)
					skip = 4; /* "txt:" */
				v->str = malloc((size_t)n - skip + 1);
				if (!v->str)
					goto oom;
				memcpy(v->str, p + skip, (size_t)n - skip);
				v->str[n - (long long)skip] = 0;
				v->len = (size_t)n - skip;
			}
			r->pos += (size_t)n + 2;
			break;
		default: /* aggregates */
			r->pos += llen + 2;
			if (n < 0) {
				v->type = HKV_RESP_NULL;
				break;
			}
			want = (size_t)n * ((type == '%' || type == '|') ? 2 : 1);
			if (want) {
				if (want > (r->len - r->pos) + 1024 * 1024 && want > 1u << 28) {
					free(v);
					return rd_err(r, "aggregate too long");
				}
				v->elem = calloc(want, sizeof(*v->elem));
				if (!v->elem)
					goto oom;
			}
			aggregate = true;
			break;
		}
		if (type == '|') {
			/* attributes precede the reply they describe: parse and drop them */
			v->type = HKV_RESP_ATTR;
		}
		{
			/* the root: the bottom of the stack, or v itself */
			struct hkv_resp_value *root = r->depth ? r->stack[0].v : v;

			rc = rd_attach(r, v, aggregate, want);
			if (rc < 0) {
				if (root == v)
					hkv_resp_value_free(v);
				return rc;
			}
			if (rc) {
				if (root->type == HKV_RESP_ATTR) {
					hkv_resp_value_free(root);
					continue;
				}
				*out = root;
				return 1;
			}
		}
		continue;
oom:
		free(v);
		return -ENOMEM;
	}
}
