/* SPDX-License-Identifier: MIT */
/*
 * pl_trace.h - the trace format shared by the power-loss recorder (pl_record.c), the
 * workloads (pl_workload.c, pl_selfcheck.c) and the crash-state checker (pl_check.c).
 *
 * A trace is a sequence of records, each a fixed header followed by its payload:
 *
 *   off  size  field
 *   ---  ----  ---------------------------------------------------------------
 *   0       1  type (enum pl_rec)
 *   1       1  flags (PL_F_*)
 *   2       2  reserved, 0
 *   4       4  a: first payload length (a path, a key, or a note)
 *   8       4  b: second payload length (a second path, data, or a value)
 *   12      4  reserved, 0
 *   16      8  x: file offset, new size, or operation number
 *   24      8  t: CLOCK_MONOTONIC nanoseconds when the record was taken
 *   32      a  first payload
 *   32+a    b  second payload
 *   32+a+b     zeros up to the next multiple of 8 (every record starts 8-byte aligned)
 *
 * Host byte order: a trace is read back on the machine that wrote it, by the same build.
 * Paths are relative to the recorded store directory ("" is the directory itself). File
 * operations are recorded in the order the calls returned, under one lock, so the order of
 * the trace is an order the kernel saw them in.
 */
#ifndef PL_TRACE_H
#define PL_TRACE_H

#include <stdint.h>

enum pl_rec {
	PL_MKDIR = 1,  /* a: path */
	PL_CREAT,      /* a: path; a new empty regular file */
	PL_WRITE,      /* a: path, b: data, x: offset; PL_F_DSYNC: durable when it returned */
	PL_TRUNC,      /* a: path, x: new size (ftruncate, O_TRUNC, fallocate growing it) */
	PL_UNLINK,     /* a: path (file or empty directory) */
	PL_RENAME,     /* a: old path, b: new path */
	PL_FSYNC,      /* a: path; fsync/fdatasync/msync(MS_SYNC) of a file or directory */
	PL_SYNCALL,    /* sync()/syncfs(): everything so far is durable */
	PL_UNSUPPORTED,/* a: what; a call the model cannot represent (the checker fails) */
	PL_BEGIN = 32, /* x: operation number; the workload is about to call the engine */
	PL_ACK,        /* x: operation number; the call returned success (acknowledged) */
	PL_STATE,      /* a: key, b: canonical value, x: operation number; after that op */
	PL_ABSENT,     /* a: key, x: operation number; the key is absent after that op */
	PL_CONFIG,     /* a: "key=value" note (sync policy, kind of store) */
};

#define PL_F_DSYNC 1
#define PL_F_BASELINE 2 /* PL_SYNCALL ending the baseline of a tree that existed */

struct pl_hdr {
	uint8_t type;
	uint8_t flags;
	uint16_t reserved0;
	uint32_t a;
	uint32_t b;
	uint32_t reserved1;
	uint64_t x;
	uint64_t t;
};

/**
 * pl_record_start() - start recording file-system calls on the tree under @root into @trace.
 * @root:  store directory (need not exist yet); calls on paths under it are recorded.
 * @trace: trace file to create.
 * Return: 0, or -errno.
 */
int pl_record_start(const char *root, const char *trace);

/** pl_record_stop() - stop recording and close the trace. Return: 0, or -errno. */
int pl_record_stop(void);

/**
 * pl_mark() - append a workload record (PL_BEGIN, PL_ACK, PL_STATE, PL_ABSENT, PL_CONFIG)
 * to the trace, ordered with the file-system calls around it.
 */
void pl_mark(int type, uint64_t x, const void *a, uint32_t alen, const void *b, uint32_t blen);

#endif
