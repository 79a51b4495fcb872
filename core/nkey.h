/* NATS nkeys: Ed25519 keys written as base32 text with a type prefix and
 * a CRC-16 (../shared/PROTOCOL.md section 2.2). */
#ifndef NATSD_NKEY_H
#define NATSD_NKEY_H

#include <stddef.h>
#include <stdint.h>

enum nkey_type {
	NKEY_SEED = 18 << 3,
	NKEY_PRIVATE = 15 << 3,
	NKEY_SERVER = 13 << 3,
	NKEY_CLUSTER = 2 << 3,
	NKEY_OPERATOR = 14 << 3,
	NKEY_ACCOUNT = 0,
	NKEY_USER = 20 << 3,
	NKEY_CURVE = 23 << 3,
};

#define NKEY_PUBLIC_LEN 56 /* characters */

/* CRC-16/XMODEM as nkeys use it. */
uint16_t nkey_crc16(const unsigned char *p, size_t len);

/* Writes the public-key text of a 32-byte key (NUL-terminated, out needs
 * NKEY_PUBLIC_LEN + 1 bytes). */
int nkey_encode_public(enum nkey_type type, const unsigned char key[32],
		       char *out, size_t outlen);

/* Decodes public-key text of the given type into key. 0, or NATSD_EINVAL
 * (bad base32, length, checksum or prefix). */
int nkey_decode_public(enum nkey_type type, const char *text,
		       unsigned char key[32]);

/* A fresh server identity: the public key text of a new Ed25519 key. */
int nkey_new_server_id(char *out, size_t outlen);

#endif
