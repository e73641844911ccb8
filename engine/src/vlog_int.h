/* SPDX-License-Identifier: MIT */
/*
 * vlog_int.h - value-log internals shared with its tests: the record layout constants and a
 * hook that lets crash tests stop a compaction at each of its steps.
 */
#ifndef HKV_VLOG_INT_H
#define HKV_VLOG_INT_H

#include <stdint.h>

#include "hkv_int.h"

/* Segment record layout (see the design comment of vlog.c). */
#define VLOG_REC_MAGIC 0x52564b48u /* "HKVR" read as a little-endian u32 */
#define VLOG_REC_HDR 24
#define VLOG_REC_ZLIB 0x01

/* Group record layout (see the design comment of wal.c). */
#define WAL_MAGIC 0x57564b48u /* "HKVW" read as a little-endian u32 */
#define WAL_HDR 32
#define WAL_OP_HDR 8
#define WAL_OP_PUT 1
#define WAL_OP_DEL 2

/** struct wal_hdr - a parsed group record header. */
struct wal_hdr {
	uint32_t crc;
	uint32_t nops;
	uint32_t blen;
	uint64_t lsn;
};

struct mem;

/**
 * wal_encode() - build the group record of @w's writes (the nodes it touched whose newest
 * version is from sequence @first_seq on) in db->walbuf, numbered @lsn.
 * Return: 0 and *@len (0: the group changed nothing); -ENOMEM, -EFBIG.
 */
int wal_encode(struct hkv *db, struct wtx *w, uint64_t first_seq, uint64_t lsn, size_t *len);
/** wal_hdr_parse() - parse the first WAL_HDR bytes of a group record. Return: 0, -HKV_ECORRUPT. */
int wal_hdr_parse(const unsigned char *p, struct wal_hdr *h);
/**
 * wal_apply() - put the operations of the group record @rec (@len bytes, CRC checked by the
 * caller) into memtable @m as versions of sequence @seq. Return: 0, -HKV_ECORRUPT, -ENOMEM.
 */
int wal_apply(struct hkv *db, struct mem *m, const unsigned char *rec, size_t len, uint64_t seq);

/* segs record layout */
#define VLOG_SEG_REC_SIZE 32
#define VLOG_SEG_DROPPED 0x01

/**
 * enum vlog_stage - the points of a compaction at which vlog_test_hook is called.
 * @VLOG_STAGE_COPIED:    a batch of live records was appended to the active segment.
 * @VLOG_STAGE_SYNCED:    ... and flushed with fdatasync; nothing refers to the copies yet.
 * @VLOG_STAGE_COMMITTED: the write transaction that re-points keys (and, for the last batch,
 *                        drops the old segment from the segs table) committed.
 * @VLOG_STAGE_FLUSHED:   that commit was flushed with mdb_env_sync; the old file still exists.
 * @VLOG_STAGE_DROPPED:   the old segment left the in-memory table; its file is unlinked now
 *                        or by the last reader still using it.
 */
enum vlog_stage {
	VLOG_STAGE_COPIED,
	VLOG_STAGE_SYNCED,
	VLOG_STAGE_COMMITTED,
	VLOG_STAGE_FLUSHED,
	VLOG_STAGE_DROPPED,
};

/**
 * vlog_test_hook - if set, called by vlog_compact() at each enum vlog_stage with the id of the
 * segment being compacted. For tests only (a crash test kills the process from it); NULL in
 * production. Set it before the store is opened; it is read without synchronisation.
 */
extern void (*vlog_test_hook)(struct hkv *db, enum vlog_stage stage, uint32_t seg);

#endif /* HKV_VLOG_INT_H */
