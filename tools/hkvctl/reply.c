/* SPDX-License-Identifier: MIT */
/*
 * reply.c - building and printing hkvctl's reply trees.
 *
 * Two output styles, chosen by main() (stdout a terminal, or --raw / --no-raw):
 *
 *   kind      tty style (as redis-cli)             plain style (pipes, files)
 *   status    OK                                   OK\n
 *   integer   (integer) 5                          5\n
 *   bulk      "a\x00b"  (quoted, escaped)          the bytes, exactly, no newline added
 *   nil       (nil)                                nothing
 *   array     1) "a"   (nested arrays indented,    one line per leaf element, each
 *             2) "b"    "(empty array)" if empty)  ended by \n; nothing if empty
 *   error     (error) ERR ... on stderr            ERR ... on stderr
 *   text      as is                                as is
 *
 * Inside an array in plain style, a bulk string is its bytes plus \n and a nil is an empty
 * line: a list of values is then one value per line, like redis-cli --raw.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkvctl.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fputs("hkvctl: out of memory\n", stderr);
		exit(CTL_EXIT_ERR);
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("hkvctl: out of memory\n", stderr);
		exit(CTL_EXIT_ERR);
	}
	return p;
}

char *xmemdup(const void *p, size_t n)
{
	char *s = xmalloc(n + 1);

	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static struct ctl_reply *reply_new(enum ctl_reply_kind kind)
{
	struct ctl_reply *r = xmalloc(sizeof(*r));

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	return r;
}

struct ctl_reply *reply_status(const char *s)
{
	struct ctl_reply *r = reply_new(CTL_REPLY_STATUS);

	r->len = strlen(s);
	r->str = xmemdup(s, r->len);
	return r;
}

struct ctl_reply *reply_int(int64_t v)
{
	struct ctl_reply *r = reply_new(CTL_REPLY_INTEGER);

	r->integer = v;
	return r;
}

struct ctl_reply *reply_bulk(const void *p, size_t n)
{
	struct ctl_reply *r = reply_new(CTL_REPLY_BULK);

	r->str = xmemdup(p, n);
	r->len = n;
	return r;
}

struct ctl_reply *reply_bulk_take(struct hkv_buf *buf)
{
	struct ctl_reply *r = reply_new(CTL_REPLY_BULK);

	if (!buf->data) {
		r->str = xmemdup("", 0);
		r->len = 0;
		return r;
	}
	r->str = buf->data;
	r->len = buf->len;
	buf->data = NULL;
	buf->len = 0;
	return r;
}

struct ctl_reply *reply_nil(void)
{
	return reply_new(CTL_REPLY_NIL);
}

struct ctl_reply *reply_array(void)
{
	return reply_new(CTL_REPLY_ARRAY);
}

struct ctl_reply *reply_text(char *s, size_t n)
{
	struct ctl_reply *r = reply_new(CTL_REPLY_TEXT);

	r->str = s;
	r->len = n;
	return r;
}

struct ctl_reply *reply_push(struct ctl_reply *arr, struct ctl_reply *child)
{
	if (arr->nelem == arr->cap) {
		arr->cap = arr->cap ? 2 * arr->cap : 8;
		arr->elem = xrealloc(arr->elem, arr->cap * sizeof(*arr->elem));
	}
	arr->elem[arr->nelem++] = child;
	return arr;
}

static struct ctl_reply *reply_verr(int code, const char *fmt, va_list ap)
{
	struct ctl_reply *r = reply_new(CTL_REPLY_ERROR);
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		n = 0;
	r->str = xmalloc((size_t)n + 1);
	vsnprintf(r->str, (size_t)n + 1, fmt, ap);
	r->len = (size_t)n;
	r->integer = code;
	return r;
}

struct ctl_reply *reply_err(const char *fmt, ...)
{
	struct ctl_reply *r;
	va_list ap;

	va_start(ap, fmt);
	r = reply_verr(CTL_EXIT_ERR, fmt, ap);
	va_end(ap);
	return r;
}

struct ctl_reply *reply_usage(const char *fmt, ...)
{
	struct ctl_reply *r;
	va_list ap;

	va_start(ap, fmt);
	r = reply_verr(CTL_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return r;
}

struct ctl_reply *reply_engine(int rc)
{
	switch (-rc) {
	case HKV_EWRONGTYPE:
		return reply_err("WRONGTYPE Operation against a key holding the wrong kind of value");
	case HKV_ENOTINT:
		return reply_err("ERR value is not an integer or out of range");
	case HKV_ENOTFLOAT:
		return reply_err("ERR value is not a valid float");
	case HKV_ENOSCORE:
		return reply_err("ERR resulting score is not a number (NaN)");
	case EFBIG:
		return reply_err("ERR string exceeds maximum allowed size");
	case ENOENT:
		return reply_err("ERR no such key");
	case EROFS:
		return reply_err("ERR store is read-only");
	case ENOSPC:
		return reply_err("ERR no space left on device");
	default:
		return reply_err("ERR %s", hkv_strerror(rc));
	}
}

void format_double(double d, char *out, size_t size)
{
	int prec;

	if (isinf(d)) {
		snprintf(out, size, "%s", d > 0 ? "inf" : "-inf");
		return;
	}
	/* The shortest decimal that reads back as the same double, as Redis replies scores. */
	for (prec = 1; prec < 17; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (prec == 17)
		snprintf(out, size, "%.17g", d);
	/*
	 * %g switches to an exponent once the integer part has more digits than the precision
	 * ("2e+01" for 20); write such numbers out in full up to 17 digits, as Redis does.
	 */
	if (strchr(out, 'e') && fabs(d) >= 1 && fabs(d) < 1e17)
		snprintf(out, size, "%.*f", prec - 1 - (int)floor(log10(fabs(d))) > 0 ?
			 prec - 1 - (int)floor(log10(fabs(d))) : 0, d);
}

struct ctl_reply *reply_double(double d)
{
	char buf[64];

	format_double(d, buf, sizeof(buf));
	return reply_bulk(buf, strlen(buf));
}

void reply_free(struct ctl_reply *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nelem; i++)
		reply_free(r->elem[i]);
	free(r->elem);
	free(r->str);
	free(r);
}

/* redis-cli's quoting of a bulk string on a terminal. */
static void print_quoted(FILE *f, const char *s, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\a':
			fputs("\\a", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		default:
			if (c >= 0x20 && c < 0x7f)
				fputc(c, f);
			else
				fprintf(f, "\\x%02x", c);
		}
	}
	fputc('"', f);
}

/*
 * One node in tty style. The caller has printed the index of this element ("3) ") already;
 * @indent is the column where the children of a nested array line up.
 */
static void print_tty(const struct ctl_reply *r, size_t indent)
{
	size_t i, width, n;

	switch (r->kind) {
	case CTL_REPLY_STATUS:
		fwrite(r->str, 1, r->len, stdout);
		fputc('\n', stdout);
		break;
	case CTL_REPLY_ERROR:
		printf("(error) %s\n", r->str);
		break;
	case CTL_REPLY_INTEGER:
		printf("(integer) %lld\n", (long long)r->integer);
		break;
	case CTL_REPLY_BULK:
		print_quoted(stdout, r->str, r->len);
		fputc('\n', stdout);
		break;
	case CTL_REPLY_NIL:
		puts("(nil)");
		break;
	case CTL_REPLY_TEXT:
		fwrite(r->str, 1, r->len, stdout);
		break;
	case CTL_REPLY_ARRAY:
		if (!r->nelem) {
			puts("(empty array)");
			break;
		}
		width = 0;
		n = r->nelem;
		do {
			width++;
			n /= 10;
		} while (n);
		for (i = 0; i < r->nelem; i++) {
			if (i)
				printf("%*s", (int)indent, "");
			printf("%*zu) ", (int)width, i + 1);
			print_tty(r->elem[i], indent + width + 2);
		}
		break;
	}
}

static void print_plain(const struct ctl_reply *r, bool top)
{
	size_t i;

	switch (r->kind) {
	case CTL_REPLY_STATUS:
	case CTL_REPLY_ERROR:
		fwrite(r->str, 1, r->len, stdout);
		fputc('\n', stdout);
		break;
	case CTL_REPLY_INTEGER:
		printf("%lld\n", (long long)r->integer);
		break;
	case CTL_REPLY_BULK:
		fwrite(r->str, 1, r->len, stdout);
		if (!top)
			fputc('\n', stdout);
		break;
	case CTL_REPLY_NIL:
		if (!top)
			fputc('\n', stdout);
		break;
	case CTL_REPLY_TEXT:
		fwrite(r->str, 1, r->len, stdout);
		break;
	case CTL_REPLY_ARRAY:
		for (i = 0; i < r->nelem; i++)
			print_plain(r->elem[i], false);
		break;
	}
}

int reply_print(const struct ctl_reply *r, bool tty)
{
	if (r->kind == CTL_REPLY_ERROR) {
		fflush(stdout);
		fprintf(stderr, "%s%s\n", tty ? "(error) " : "", r->str);
		return (int)r->integer;
	}
	if (tty)
		print_tty(r, 0);
	else
		print_plain(r, true);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "hkvctl: write error on stdout: %s\n", strerror(errno));
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}
