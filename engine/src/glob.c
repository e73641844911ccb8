// SPDX-License-Identifier: MIT
/*
 * glob.c - Redis-style glob patterns for SCAN MATCH: '*' any run of bytes, '?' one byte,
 * '[abc]', '[^abc]', '[a-z]' classes, '\' quotes the next pattern byte.
 *
 * Matching keeps only the most recent '*' as a backtracking point (the classic two-pointer
 * wildcard algorithm): a later star can always absorb whatever an earlier one would have,
 * so this is exact and runs in O(pattern * string) at worst, with no recursion for a hostile
 * pattern to exhaust.
 */
#include <string.h>

#include "hkv_int.h"

/* Match one class starting after '[' at *pp; advance *pp past ']'. */
static bool class_match(const char **pp, unsigned char c)
{
	const char *p = *pp;
	bool neg = false, hit = false;

	if (*p == '^') {
		neg = true;
		p++;
	}
	while (*p && *p != ']') {
		unsigned char lo, hi;

		if (*p == '\\' && p[1])
			p++;
		lo = (unsigned char)*p;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			p += 2;
			if (*p == '\\' && p[1])
				p++;
			hi = (unsigned char)*p;
			if (lo > hi) {
				unsigned char t = lo;

				lo = hi;
				hi = t;
			}
			if (c >= lo && c <= hi)
				hit = true;
		} else if (c == lo) {
			hit = true;
		}
		p++;
	}
	*pp = *p ? p + 1 : p; /* an unterminated class ends the pattern */
	return neg ? !hit : hit;
}

bool glob_match(const char *pat, const unsigned char *s, size_t len)
{
	const char *star = NULL;
	size_t i = 0, star_i = 0;

	while (i < len) {
		const char *p = pat;

		switch (*p) {
		case '*':
			star = ++pat;
			star_i = i;
			continue;
		case '?':
			pat++;
			i++;
			continue;
		case '[':
			p++;
			if (class_match(&p, s[i])) {
				pat = p;
				i++;
				continue;
			}
			break;
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p && (unsigned char)*p == s[i]) {
				pat = p + 1;
				i++;
				continue;
			}
			break;
		}
		if (!star)
			return false;
		pat = star;
		i = ++star_i;
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

bool hkv_glob_match(const char *pattern, const void *str, size_t len)
{
	return glob_match(pattern, str, len);
}
