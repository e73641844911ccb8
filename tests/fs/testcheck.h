/* SPDX-License-Identifier: MIT */
/*
 * testcheck.h - what the C tests of tests/fs/ share: CHECK() counts and reports a failed
 * check without stopping the test (the test exits 1 when failures is non-zero), and, for a
 * test that defines TESTCHECK_HKVFS_LOG before including it, the daemon's hkvfs_log()
 * printing to stderr. Include it once per test binary, from its main source file.
 */
#ifndef HKVFS_TESTCHECK_H
#define HKVFS_TESTCHECK_H

#include <stdarg.h>
#include <stdio.h>

static int failures __attribute__((unused)); /* CHECK() counts here */

#define CHECK(c)                                                                    \
	do {                                                                        \
		if (!(c)) {                                                         \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
			failures++;                                                 \
		}                                                                   \
	} while (0)

#ifdef TESTCHECK_HKVFS_LOG
void hkvfs_log(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
#endif

#endif /* HKVFS_TESTCHECK_H */
