/* SPDX-License-Identifier: MIT */
/*
 * kernel.h - `hkvctl kernel ...`: inspect and drive the /dev/hkv kernel cache.
 */
#ifndef HKVCTL_KERNEL_H
#define HKVCTL_KERNEL_H

/**
 * hkvctl_kernel_main() - run one `hkvctl kernel` sub-command.
 * @argc: number of words in @argv.
 * @argv: borrowed; argv[0] is "kernel", then options and the verb
 *	(put, get, cat, del, stat, clear, policy, help) with its arguments.
 *
 * Writes results to stdout and diagnostics to stderr.  Uses getopt, so it
 * resets the global getopt state (optind) itself.  Single-threaded callers.
 *
 * Return: the process exit status: 0 success, 1 the operation failed
 * (including a key that is not cached), 2 bad command line.
 */
int hkvctl_kernel_main(int argc, char **argv);

#endif /* HKVCTL_KERNEL_H */
