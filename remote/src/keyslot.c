// SPDX-License-Identifier: MIT
/*
 * keyslot.c - the hash slot of a key (hkv_cluster_keyslot()).
 *
 * Redis Cluster hashes a key with CRC16-CCITT in its XMODEM variant (polynomial 0x1021,
 * initial value 0, no reflection, no final xor; "123456789" -> 0x31C3) and keeps the low 14
 * bits. When the key holds a '{' followed later by a '}' with at least one byte between them,
 * only those bytes (the hash tag, up to the FIRST '}' after the FIRST '{') are hashed, so that
 * "{user1}.name" and "{user1}.mode" share a slot. "{}" or a '{' without '}' hash the whole key.
 *
 * The table is computed once, at first use, from the polynomial (256 entries, 512 bytes).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "hkv/cluster.h"
#include "cluster_int.h"

static uint16_t crc16_table[256];
static pthread_once_t crc16_once = PTHREAD_ONCE_INIT;

static void crc16_init(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint16_t crc = (uint16_t)(i << 8);

		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) :
					       (uint16_t)(crc << 1);
		crc16_table[i] = crc;
	}
}

uint16_t hkv_crc16_xmodem(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint16_t crc = 0;

	pthread_once(&crc16_once, crc16_init);
	for (size_t i = 0; i < len; i++)
		crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ p[i]) & 0xff]);
	return crc;
}

unsigned int hkv_cluster_keyslot(const void *key, size_t klen)
{
	const char *k = key, *open, *close;

	open = klen ? memchr(k, '{', klen) : NULL;
	if (open) {
		size_t rest = klen - (size_t)(open - k) - 1;

		close = rest ? memchr(open + 1, '}', rest) : NULL;
		if (close && close > open + 1)
			return hkv_crc16_xmodem(open + 1, (size_t)(close - open - 1)) &
			       (HKV_CLUSTER_SLOTS - 1);
	}
	return hkv_crc16_xmodem(k, klen) & (HKV_CLUSTER_SLOTS - 1);
}
