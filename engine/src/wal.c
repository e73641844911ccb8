// SPDX-License-Identifier: MIT
/*
 * wal.c - log records of write groups: the value log is also the write-ahead log.
 *
 * Every group of write functions that changed anything is written to the value log (the same
 * segments, appended after the value records its writes refer to) as one record holding the
 * final state, at the end of the group, of every index record the group wrote: a put with
 * the record's bytes, or a delete. Replaying a record therefore sets those index records to
 * those values whatever they held, so replaying a record twice, or replaying records that a
 * checkpoint already applied, changes nothing (idempotent), and a group is applied wholly or
 * not at all (one CRC).
 *
 * Group record (all integers little-endian):
 *
 *   off  size  field
 *   ---  ----  -----------------------------------------------------------------
 *     0     4  magic WAL_MAGIC ("HKVW")
 *     4     4  CRC-32 (zlib) of every byte from offset 8 to the end of the record
 *     8     1  flags, 0
 *     9     3  reserved, 0
 *    12     4  number of operations
 *    16     4  body length: bytes after the header
 *    20     4  reserved, 0
 *    24     8  lsn: 1 + the lsn of the previous group record (the first after a
 *              checkpoint is the checkpoint's lsn + 1)
 *    32     -  operations, back to back:
 *                off  size  field
 *                  0     1  table (enum KV_INFO .. KV_SEGS)
 *                  1     1  1 = put, 2 = delete
 *                  2     2  key length, 1..511
 *                  4     4  value length (0 for a delete)
 *                  8     -  key, then value
 *
 * A value record (vlog.c) shares the first 24 bytes' layout up to the lengths: offset 0 is its
 * own magic ("HKVR"), so a reader of a segment tells the two apart by the magic. The lsn
 * makes the log self-ordering: replay stops at the first record whose lsn is not the next one
 * (a record left over from before a crash can never be taken for a new one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem_int.h"
#include "vlog_int.h"

/* Grow the leader's record buffer to @need bytes. */
static int walbuf_reserve(struct hkv *db, size_t need)
{
	size_t cap = db->walbuf_cap ? db->walbuf_cap : 4096;
	unsigned char *p;

	if (need <= db->walbuf_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(db->walbuf, cap);
	if (!p)
		return -ENOMEM;
	db->walbuf = p;
	db->walbuf_cap = cap;
	return 0;
}

int wal_encode(struct hkv *db, struct wtx *w, uint64_t first_seq, uint64_t lsn, size_t *len)
{
	uint64_t gen = ++db->group_gen;
	size_t need = WAL_HDR;
	uint32_t nops = 0;
	unsigned char *p;
	uint32_t crc;
	int rc;

	/* every node once, at its newest version, if this group made that version */
	for (size_t i = 0; i < w->ntn; i++) {
		struct mem_node *n = w->tn[i];
		struct mem_ver *v = atomic_load_explicit(&n->head, memory_order_relaxed);

		if (n->gen == gen || !v || v->seq < first_seq)
			continue;
		n->gen = gen;
		need += WAL_OP_HDR + n->klen + (v->del ? 0 : v->vlen);
		nops++;
	}
	*len = 0;
	if (!nops)
		return 0;
	if (need > UINT32_MAX)
		return -EFBIG;
	rc = walbuf_reserve(db, need);
	if (rc)
		return rc;
	gen = ++db->group_gen;
	p = db->walbuf + WAL_HDR;
	for (size_t i = 0; i < w->ntn; i++) {
		struct mem_node *n = w->tn[i];
		struct mem_ver *v = atomic_load_explicit(&n->head, memory_order_relaxed);
		uint32_t vlen;

		if (n->gen == gen || !v || v->seq < first_seq)
			continue;
		n->gen = gen;
		vlen = v->del ? 0 : v->vlen;
		p[0] = n->dbix;
		p[1] = v->del ? WAL_OP_DEL : WAL_OP_PUT;
		put_le16(p + 2, n->klen);
		put_le32(p + 4, vlen);
		memcpy(p + WAL_OP_HDR, mem_node_key(n), n->klen);
		if (vlen)
			memcpy(p + WAL_OP_HDR + n->klen, v->val, vlen);
		p += WAL_OP_HDR + n->klen + vlen;
	}
	p = db->walbuf;
	memset(p, 0, WAL_HDR);
	put_le32(p, WAL_MAGIC);
	put_le32(p + 12, nops);
	put_le32(p + 16, (uint32_t)(need - WAL_HDR));
	put_le64(p + 24, lsn);
	crc = hkv_crc32(0, p + 8, need - 8);
	put_le32(p + 4, crc);
	*len = need;
	return 0;
}

int wal_hdr_parse(const unsigned char *p, struct wal_hdr *h)
{
	if (get_le32(p) != WAL_MAGIC || p[8] || p[9] || p[10] || p[11] || get_le32(p + 20))
		return -HKV_ECORRUPT;
	h->crc = get_le32(p + 4);
	h->nops = get_le32(p + 12);
	h->blen = get_le32(p + 16);
	h->lsn = get_le64(p + 24);
	return 0;
}

int wal_apply(struct hkv *db, struct mem *m, const unsigned char *rec, size_t len, uint64_t seq)
{
	struct wal_hdr h;
	const unsigned char *p = rec + WAL_HDR, *end = rec + len;

	if (len < WAL_HDR || wal_hdr_parse(rec, &h) || h.blen != len - WAL_HDR)
		return -HKV_ECORRUPT;
	for (uint32_t i = 0; i < h.nops; i++) {
		unsigned dbix, op;
		uint32_t klen, vlen;
		struct mem_node *n;

		if (end - p < WAL_OP_HDR)
			return -HKV_ECORRUPT;
		dbix = p[0];
		op = p[1];
		klen = get_le16(p + 2);
		vlen = get_le32(p + 4);
		if (dbix >= KV_NDBI || (op != WAL_OP_PUT && op != WAL_OP_DEL) || !klen ||
		    klen > KV_KEY_MAX || (op == WAL_OP_DEL && vlen) ||
		    (size_t)(end - p) - WAL_OP_HDR < (size_t)klen + vlen)
			return -HKV_ECORRUPT;
		p += WAL_OP_HDR;
		n = mem_insert(m, (int)dbix, p, klen, mem_hash(db, (int)dbix, p, klen));
		if (!n || !mem_push(m, n, seq, op == WAL_OP_DEL, p + klen, vlen))
			return -ENOMEM;
		if (dbix == KV_KEYS && op == WAL_OP_PUT && krec_is_blind(p + klen, vlen))
			atomic_fetch_add_explicit(&m->blind, 1, memory_order_relaxed);
		p += klen + vlen;
	}
	return p == end ? 0 : -HKV_ECORRUPT;
}
