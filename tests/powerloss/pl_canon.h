/* SPDX-License-Identifier: MIT */
/*
 * pl_canon.h - canonical byte form of a key's whole logical state, shared by the power-loss
 * workload (which records it after every write) and the checker (which compares what a
 * crash state holds against it).
 */
#ifndef PL_CANON_H
#define PL_CANON_H

#include <stddef.h>
#include <stdint.h>

#include <hkv/engine.h>

/** struct pl_buf - a growable byte buffer. */
struct pl_buf {
	unsigned char *p;
	size_t len, cap;
};

void pl_buf_add(struct pl_buf *b, const void *p, size_t len);
void pl_buf_free(struct pl_buf *b);

/**
 * pl_canon() - append the canonical form of @key to @out (emptied first): its type, its
 * value or every element in the engine's order, and its absolute expiry (@now + PTTL).
 * Return: 0 (present), 1 (absent), or the engine's negative error from any read.
 */
int pl_canon(struct hkv *db, const char *key, int64_t now, struct pl_buf *out);

#endif
