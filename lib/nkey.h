/* NATS nkeys: Ed25519 keys written as base32 text with a type prefix and
 * a CRC-16 (../shared/PROTOCOL.md section 2.2), and the nonce signatures
 * clients prove them with.
 *
 * Shared by the core (its server id) and the nkey authentication plugin:
 * it is built as a convenience library and linked into both, so it
 * includes nothing of either, only <natsd/error.h> for its return codes. */
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
#define NKEY_SEED_LEN   58 /* characters */
#define NKEY_SIG_LEN    64 /* bytes of an Ed25519 signature */

/* CRC-16/XMODEM as nkeys use it. */
uint16_t nkey_crc16(const unsigned char *p, size_t len);

/* Writes the public-key text of a 32-byte key (NUL-terminated, out needs
 * NKEY_PUBLIC_LEN + 1 bytes). 0 or NATSD_ERANGE. */
int nkey_encode_public(enum nkey_type type, const unsigned char key[32],
		       char *out, size_t outlen);

/* Decodes public-key text of the given type into key. 0, or NATSD_EINVAL
 * (bad base32, length, checksum or prefix); key is written only on
 * success. */
int nkey_decode_public(enum nkey_type type, const char *text,
		       unsigned char key[32]);

/* Writes the seed text ("SU...", NKEY_SEED_LEN characters and a NUL) of
 * a 32-byte Ed25519 seed for keys of type. 0, NATSD_ERANGE or
 * NATSD_EINVAL (type is not a public key type). */
int nkey_encode_seed(enum nkey_type type, const unsigned char seed[32],
		     char *out, size_t outlen);

/* Decodes seed text into the raw seed and the type of key it makes.
 * 0 or NATSD_EINVAL; nothing is written on failure. The caller wipes
 * seed (OPENSSL_cleanse) when done. */
int nkey_decode_seed(const char *text, enum nkey_type *type,
		     unsigned char seed[32]);

/* The Ed25519 public key of a seed. 0, or NATSD_EIO. */
int nkey_public_from_seed(const unsigned char seed[32], unsigned char pub[32]);

/* Signs msg with the key of seed. 0, or NATSD_EIO. */
int nkey_sign(const unsigned char seed[32], const void *msg, size_t len,
	      unsigned char sig[NKEY_SIG_LEN]);

/* Checks an Ed25519 signature of msg by pub. 0 when it is good,
 * NATSD_EACCES when it is not, NATSD_EIO when OpenSSL cannot check. */
int nkey_verify(const unsigned char pub[32], const void *msg, size_t len,
		const unsigned char sig[NKEY_SIG_LEN]);

/* Decodes a signature as clients send it: base64 with the URL alphabet
 * and no padding, or, as nats-server also accepts, padded and/or with the
 * standard alphabet. 0, or NATSD_EINVAL unless it is exactly 64 bytes. */
int nkey_sig_decode(const char *text, unsigned char sig[NKEY_SIG_LEN]);

/* A fresh server identity: the public key text of a new Ed25519 key. */
int nkey_new_server_id(char *out, size_t outlen);

#endif
