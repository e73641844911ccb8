// SPDX-License-Identifier: MIT
/*
 * util.c - argument parsing and number formatting with Redis's exact rules.
 *
 * Integers: optional '-', decimal digits, no '+', no spaces, no leading zeros, "-0" refused,
 * must fit a 64-bit signed integer. Floats: whatever strtod() accepts over the whole argument
 * (so "inf", "1e3" and hex floats pass) except leading spaces, NaN, and overflow. A float
 * reply is "%.17g"; INCRBYFLOAT's stored text is "%.17Lf" without trailing zeros.
 *
 * srv_glob_match() is Redis's pattern language (* ? [abc] [^a] [a-z] \x), binary-safe on both
 * sides.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

bool str2ll(const char *s, size_t len, long long *out)
{
	unsigned long long v = 0;
	bool neg = false;
	size_t i = 0;

	if (len == 0 || len > 20)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i >= len || s[i] < '1' || s[i] > '9')
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

bool str2ull(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0 || len > 20)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] < '1' || s[0] > '9')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

bool str2d(const char *s, size_t len, double *out)
{
	char tmp[128], *buf = tmp, *end;
	bool ok;
	double v;

	if (len == 0 || isspace((unsigned char)s[0]))
		return false;
	/* long spellings are valid ("179769...368.000" is DBL_MAX) */
	if (len >= sizeof(tmp)) {
		if (len > 4096)
			return false;
		buf = malloc(len + 1);
		if (!buf)
			return false;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	errno = 0;
	v = strtod(buf, &end);
	ok = (size_t)(end - buf) == len && !isnan(v) &&
	     !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0));
	if (buf != tmp)
		free(buf);
	if (ok)
		*out = v;
	return ok;
}

bool str2ld(const char *s, size_t len, long double *out)
{
	char tmp[256], *end;
	long double v;

	if (len == 0 || len >= sizeof(tmp) || isspace((unsigned char)s[0]))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	errno = 0;
	v = strtold(tmp, &end);
	if ((size_t)(end - tmp) != len || isnan(v))
		return false;
	if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0))
		return false;
	*out = v;
	return true;
}

int ll2str(char *buf, long long v)
{
	return sprintf(buf, "%lld", v);
}

int d2str(char *buf, size_t size, double d)
{
	return hkv_resp_fmt_double(buf, size, d);
}

int ld2str_human(char *buf, size_t size, long double v)
{
	int l;

	if (isinf(v))
		return snprintf(buf, size, v > 0 ? "inf" : "-inf");
	l = snprintf(buf, size, "%.17Lf", v);
	if (l < 0 || (size_t)l >= size)
		return 0;
	if (strchr(buf, '.')) {
		while (buf[l - 1] == '0')
			l--;
		if (buf[l - 1] == '.')
			l--;
		buf[l] = 0;
	}
	if (l == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		buf[1] = 0;
		l = 1;
	}
	return l;
}

bool arg_eq(const struct client *c, int i, const char *kw)
{
	size_t n = strlen(kw);

	return i < c->argc && c->argvlen[i] == n && !strncasecmp(c->argv[i], kw, n);
}

bool get_ll_or_reply(struct client *c, int i, long long *out, const char *msg)
{
	if (str2ll(c->argv[i], c->argvlen[i], out))
		return true;
	if (msg)
		add_error(c, msg);
	else
		add_err_notint(c);
	return false;
}

bool get_pos_ll_or_reply(struct client *c, int i, long long *out, const char *msg)
{
	if (!get_ll_or_reply(c, i, out, msg))
		return false;
	if (*out < 0) {
		add_error(c, msg ? msg : "value is out of range, must be positive");
		return false;
	}
	return true;
}

bool get_range_ll_or_reply(struct client *c, int i, long long min, long long max,
			   long long *out, const char *msg)
{
	if (!get_ll_or_reply(c, i, out, msg))
		return false;
	if (*out < min || *out > max) {
		if (msg)
			add_error(c, msg);
		else
			add_errorf(c, "value is out of range, value must between %lld and %lld", min,
				   max);
		return false;
	}
	return true;
}

bool get_double_or_reply(struct client *c, int i, double *out, const char *msg)
{
	if (str2d(c->argv[i], c->argvlen[i], out))
		return true;
	if (msg)
		add_error(c, msg);
	else
		add_err_notfloat(c);
	return false;
}

bool get_ld_or_reply(struct client *c, int i, long double *out, const char *msg)
{
	if (str2ld(c->argv[i], c->argvlen[i], out))
		return true;
	if (msg)
		add_error(c, msg);
	else
		add_err_notfloat(c);
	return false;
}

/*
 * Blocking commands' timeout: seconds as a float, Redis 7's rules and errors. @deadline_ms is
 * absolute (0: wait forever).
 */
bool get_timeout_or_reply(struct client *c, int i, int64_t *deadline_ms)
{
	long double ftval;
	long long tval;

	if (!str2ld(c->argv[i], c->argvlen[i], &ftval)) {
		add_error(c, "timeout is not a float or out of range");
		return false;
	}
	tval = (long long)ceill(ftval * 1000.0L);
	if (tval < 0) {
		add_error(c, "timeout is negative");
		return false;
	}
	if (ftval * 1000.0L > (long double)LLONG_MAX / 2 || isinf(ftval)) {
		add_error(c, "timeout is out of range");
		return false;
	}
	if (tval > 0) {
		if (tval > LLONG_MAX - srv_now_ms()) {
			add_error(c, "timeout is out of range");
			return false;
		}
		tval += srv_now_ms();
	}
	*deadline_ms = tval;
	return true;
}

static int fold(int c, bool nocase)
{
	return nocase ? tolower(c) : c;
}

static bool match_impl(const unsigned char *p, size_t plen, const unsigned char *s,
		       size_t slen, bool nocase, int nesting, bool *skip_longer)
{
	/* a pattern of many stars cannot make this exponential: bounded nesting */
	if (nesting > 1000)
		return false;
	while (plen && slen) {
		switch (p[0]) {
		case '*':
			while (plen > 1 && p[1] == '*') {
				p++;
				plen--;
			}
			if (plen == 1)
				return true;
			while (slen) {
				if (match_impl(p + 1, plen - 1, s, slen, nocase, nesting + 1,
					       skip_longer))
					return true;
				if (*skip_longer)
					return false;
				s++;
				slen--;
			}
			*skip_longer = true;
			return false;
		case '?':
			s++;
			slen--;
			break;
		case '[': {
			bool not = false, match = false;

			p++;
			plen--;
			if (plen && p[0] == '^') {
				not = true;
				p++;
				plen--;
			}
			for (;;) {
				if (plen && p[0] == '\\' && plen >= 2) {
					p++;
					plen--;
					if (p[0] == s[0])
						match = true;
				} else if (plen && p[0] == ']') {
					break;
				} else if (plen == 0) {
					p--;
					plen++;
					break;
				} else if (plen >= 3 && p[1] == '-') {
					int start = fold(p[0], nocase), end = fold(p[2], nocase);
					int ch = fold(s[0], nocase);

					if (start > end) {
						int t = start;

						start = end;
						end = t;
					}
					p += 2;
					plen -= 2;
					if (ch >= start && ch <= end)
						match = true;
				} else {
					if (fold(p[0], nocase) == fold(s[0], nocase))
						match = true;
				}
				p++;
				plen--;
			}
			if (not)
				match = !match;
			if (!match)
				return false;
			s++;
			slen--;
			break;
		}
		case '\\':
			if (plen >= 2) {
				p++;
				plen--;
			}
			/* fall through */
		default:
			if (fold(p[0], nocase) != fold(s[0], nocase))
				return false;
			s++;
			slen--;
			break;
		}
		p++;
		plen--;
		if (slen == 0) {
			while (plen && *p == '*') {
				p++;
				plen--;
			}
			break;
		}
	}
	return plen == 0 && slen == 0;
}

bool srv_glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase)
{
	bool skip = false;

	if (plen == 1 && pat[0] == '*' && slen)
		return true;
	return match_impl((const unsigned char *)pat, plen, (const unsigned char *)str, slen,
			  nocase, 0, &skip);
}

char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}
