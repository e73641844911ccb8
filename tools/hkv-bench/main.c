/* SPDX-License-Identifier: MIT */
/*
 * main.c - hkv-bench: benchmarks of hkvfs, one sub-command per layer.
 *
 *   hkv-bench engine [OPTIONS]   the embedded engine next to raw LMDB (engine_bench.c)
 *   hkv-bench hash [OPTIONS]     the engine's hash operations (hash_bench.c)
 *   hkv-bench fs [OPTIONS]       the mounted filesystem (bench_fs.c, when built)
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#ifdef HKV_HAVE_BENCH_FS
int bench_fs_main(int argc, char **argv);
#endif

static void usage(FILE *f)
{
	fputs("Usage: hkv-bench engine [OPTIONS]   engine vs raw LMDB (hkv-bench engine --help)\n"
	      "       hkv-bench hash [OPTIONS]     hash operations (hkv-bench hash --help)\n"
#ifdef HKV_HAVE_BENCH_FS
	      "       hkv-bench fs [OPTIONS]       filesystem (hkv-bench fs --help)\n"
#endif
	      , f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "engine"))
		return bench_engine_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hash"))
		return bench_hash_main(argc - 1, argv + 1);
#ifdef HKV_HAVE_BENCH_FS
	if (!strcmp(argv[1], "fs"))
		return bench_fs_main(argc - 1, argv + 1);
#endif
	fprintf(stderr, "hkv-bench: unknown benchmark '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
