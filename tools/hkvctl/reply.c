/* SPDX-License-Identifier: MIT */
/*
 * reply.c - printing one parsed RESP reply, and the exit status it implies.
 *
 * Whether a command ran in-process or in the daemon, its reply reaches here as the same
 * struct hkv_resp_value, so the two doors print the same bytes. Two output styles, chosen by
 * main() (stdout a terminal, or --raw / --no-raw):
 *
 *   kind      tty style (as redis-cli)             plain style (pipes, files)
 *   status    OK                                   OK\n
 *   integer   (integer) 5                          5\n
 *   bulk      "a\x00b"  (quoted, escaped)          the bytes, exactly, no newline added
 *   nil       (nil)                                nothing
 *   array     1) "a"   (nested arrays indented,    one line per leaf element, each
 *             2) "b"    "(empty array)" if empty)  ended by \n; nothing if empty
 *   error     (error) ERR ... on stderr            ERR ... on stderr
 *   text      as is (INFO, HKVFS STATS: a string the caller marked raw_text)
 *
 * Inside an array in plain style, a bulk string is its bytes plus \n and a nil is an empty
 * line: a list of values is then one value per line, like redis-cli --raw. RESP3 kinds (after
 * HELLO 3) print as redis-cli prints them: (double) 1.5, (true), maps as "1# key => value".
 *
 * Exit status: 0 for every reply but a top-level error; an error is 2 when it can only mean
 * that the command line is wrong (reply_error_status()), else 1.
 */
#include <errno.h>
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

struct hkv_resp_value *ctl_error(const char *fmt, ...)
{
	struct hkv_resp_value *v = xmalloc(sizeof(*v));
	va_list ap;
	int n;

	memset(v, 0, sizeof(*v));
	v->type = HKV_RESP_ERROR;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	v->str = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(v->str, (size_t)n + 1, fmt, ap);
	va_end(ap);
	v->len = (size_t)n;
	return v;
}

/*
 * Errors that can only mean the words of the command are wrong, whatever the store holds:
 * what the table refuses before running a command (unknown command or subcommand, arity),
 * Redis's syntax errors, and the argument errors whose text no stored value can cause. An
 * error that may come from the data as well ("value is not an integer or out of range" is
 * both `INCRBY k x` and `INCR k` on "abc"; "invalid cursor" may be an expired one) is a
 * failed command.
 */
int reply_error_status(const char *msg)
{
	static const char *const usage[] = {
		"ERR unknown command '",
		"ERR unknown subcommand '",
		"ERR wrong number of arguments for '",
		"ERR syntax error",
		"ERR Unsupported option ",
		"ERR invalid expire time in '",
		"ERR INCR option supports a single increment-element pair",
		"ERR min or max is not a float",
		"ERR min or max not valid string range item",
		"ERR offset is out of range",
		"ERR bit offset is not an integer or out of range",
		"ERR decrement would overflow",
		"ERR timeout is not a float or out of range",
		"ERR timeout is negative",
	};
	size_t i;

	for (i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
		if (!strncmp(msg, usage[i], strlen(usage[i])))
			return CTL_EXIT_USAGE;
	/* NX and XX, GT or LT / GT and LT / XX and NX / GT, LT, and/or NX ... */
	if (!strncmp(msg, "ERR ", 4) && strstr(msg, " options at the same time are not compatible"))
		return CTL_EXIT_USAGE;
	return CTL_EXIT_ERR;
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

static bool is_aggregate(enum hkv_resp_type t)
{
	return t == HKV_RESP_ARRAY || t == HKV_RESP_SET || t == HKV_RESP_PUSH ||
	       t == HKV_RESP_MAP || t == HKV_RESP_ATTR;
}

static size_t digits(size_t n)
{
	size_t w = 0;

	do {
		w++;
		n /= 10;
	} while (n);
	return w;
}

/*
 * One node in tty style. The caller has printed the index of this element ("3) ") already;
 * @indent is the column where the children of a nested aggregate line up.
 */
static void print_tty(const struct hkv_resp_value *v, size_t indent)
{
	bool map = v->type == HKV_RESP_MAP || v->type == HKV_RESP_ATTR;
	size_t i, width, n;

	switch (v->type) {
	case HKV_RESP_ERROR:
	case HKV_RESP_BLOBERR:
		fputs("(error) ", stdout);
		/* fall through */
	case HKV_RESP_STATUS:
	case HKV_RESP_VERBATIM:
		fwrite(v->str, 1, v->len, stdout);
		fputc('\n', stdout);
		break;
	case HKV_RESP_INTEGER:
		printf("(integer) %lld\n", v->integer);
		break;
	case HKV_RESP_BULK:
		print_quoted(stdout, v->str, v->len);
		fputc('\n', stdout);
		break;
	case HKV_RESP_DOUBLE:
		printf("(double) %s\n", v->str);
		break;
	case HKV_RESP_BIGNUM:
		printf("(big number) %s\n", v->str);
		break;
	case HKV_RESP_BOOL:
		puts(v->integer ? "(true)" : "(false)");
		break;
	case HKV_RESP_NULL:
		puts("(nil)");
		break;
	case HKV_RESP_ARRAY:
	case HKV_RESP_SET:
	case HKV_RESP_PUSH:
	case HKV_RESP_MAP:
	case HKV_RESP_ATTR:
		n = map ? v->nelem / 2 : v->nelem;
		if (!n) {
			puts(map ? "(empty hash)"
				 : v->type == HKV_RESP_SET ? "(empty set)" : "(empty array)");
			break;
		}
		width = digits(n);
		for (i = 0; i < n; i++) {
			if (i)
				printf("%*s", (int)indent, "");
			printf("%*zu%s ", (int)width, i + 1, map ? "#" : ")");
			if (!map) {
				print_tty(v->elem[i], indent + width + 2);
				continue;
			}
			/* a map entry: "1# key => value", the value's children under the value */
			if (is_aggregate(v->elem[2 * i]->type)) {
				print_tty(v->elem[2 * i], indent + width + 2);
				printf("%*s", (int)(indent + width + 2), "");
			} else if (v->elem[2 * i]->type == HKV_RESP_BULK) {
				print_quoted(stdout, v->elem[2 * i]->str, v->elem[2 * i]->len);
			} else {
				fwrite(v->elem[2 * i]->str ? v->elem[2 * i]->str : "", 1,
				       v->elem[2 * i]->len, stdout);
			}
			fputs(" => ", stdout);
			print_tty(v->elem[2 * i + 1], indent + width + 6);
		}
		break;
	}
}

static void print_plain(const struct hkv_resp_value *v, bool top)
{
	size_t i;

	switch (v->type) {
	case HKV_RESP_STATUS:
	case HKV_RESP_ERROR:
	case HKV_RESP_BLOBERR:
	case HKV_RESP_DOUBLE:
	case HKV_RESP_BIGNUM:
		fwrite(v->str, 1, v->len, stdout);
		fputc('\n', stdout);
		break;
	case HKV_RESP_INTEGER:
	case HKV_RESP_BOOL:
		printf("%lld\n", v->integer);
		break;
	case HKV_RESP_BULK:
	case HKV_RESP_VERBATIM:
		fwrite(v->str, 1, v->len, stdout);
		if (!top)
			fputc('\n', stdout);
		break;
	case HKV_RESP_NULL:
		if (!top)
			fputc('\n', stdout);
		break;
	case HKV_RESP_ARRAY:
	case HKV_RESP_SET:
	case HKV_RESP_PUSH:
	case HKV_RESP_MAP:
	case HKV_RESP_ATTR:
		for (i = 0; i < v->nelem; i++)
			print_plain(v->elem[i], false);
		break;
	}
}

int reply_print(const struct hkv_resp_value *v, bool tty, bool raw_text)
{
	if (v->type == HKV_RESP_ERROR || v->type == HKV_RESP_BLOBERR) {
		fflush(stdout);
		fprintf(stderr, "%s", tty ? "(error) " : "");
		fwrite(v->str, 1, v->len, stderr);
		fputc('\n', stderr);
		return reply_error_status(v->str);
	}
	if (raw_text && (v->type == HKV_RESP_BULK || v->type == HKV_RESP_VERBATIM)) {
		fwrite(v->str, 1, v->len, stdout);
		if (tty && v->len && v->str[v->len - 1] != '\n')
			fputc('\n', stdout);
	} else if (tty) {
		print_tty(v, 0);
	} else {
		print_plain(v, true);
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "hkvctl: write error on stdout: %s\n", strerror(errno));
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}
