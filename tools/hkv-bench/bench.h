/* SPDX-License-Identifier: MIT */
/* bench.h - entry points of hkv-bench's sub-commands (argv[0] is the sub-command's name). */
#ifndef HKV_BENCH_H
#define HKV_BENCH_H

int bench_engine_main(int argc, char **argv);
int bench_hash_main(int argc, char **argv);

#endif /* HKV_BENCH_H */
