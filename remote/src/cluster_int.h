/* SPDX-License-Identifier: MIT */
/*
 * cluster_int.h - private declarations shared by the files of hkv-remote.
 */
#ifndef HKV_CLUSTER_INT_H
#define HKV_CLUSTER_INT_H

#include <stddef.h>
#include <stdint.h>

/** hkv_crc16_xmodem() - CRC16-CCITT, XMODEM variant, of @len bytes at @buf. */
uint16_t hkv_crc16_xmodem(const void *buf, size_t len);

#endif /* HKV_CLUSTER_INT_H */
