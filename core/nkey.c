/* nkey text encoding: base32 (RFC 4648 alphabet, no padding) of
 * prefix || key || crc16 (little-endian). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <openssl/evp.h>

#include <natsd/error.h>

#include "nkey.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

uint16_t nkey_crc16(const unsigned char *p, size_t len)
{
	uint16_t crc = 0;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= (uint16_t)p[i] << 8;
		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)(crc << 1) ^ 0x1021
					     : (uint16_t)(crc << 1);
	}
	return crc;
}

static size_t base32_encode(const unsigned char *in, size_t len, char *out)
{
	uint32_t buf = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < len; i++) {
		buf = buf << 8 | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(buf << (5 - bits)) & 31];
	return o;
}

static int base32_decode(const char *in, size_t len, unsigned char *out,
			 size_t cap, size_t *outlen)
{
	uint32_t buf = 0;
	size_t i, o = 0;
	const char *p;
	int bits = 0;

	for (i = 0; i < len; i++) {
		p = memchr(b32, in[i], 32);
		if (p == NULL || in[i] == '\0')
			return NATSD_EINVAL;
		buf = buf << 5 | (uint32_t)(p - b32);
		bits += 5;
		if (bits >= 8) {
			if (o == cap)
				return NATSD_EINVAL;
			out[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	*outlen = o;
	return 0;
}

int nkey_encode_public(enum nkey_type type, const unsigned char key[32],
		       char *out, size_t outlen)
{
	unsigned char raw[35];
	uint16_t crc;
	size_t n;

	if (outlen < NKEY_PUBLIC_LEN + 1)
		return NATSD_ERANGE;
	raw[0] = (unsigned char)type;
	memcpy(raw + 1, key, 32);
	crc = nkey_crc16(raw, 33);
	raw[33] = (unsigned char)(crc & 0xff);
	raw[34] = (unsigned char)(crc >> 8);
	n = base32_encode(raw, sizeof(raw), out);
	out[n] = '\0';
	return 0;
}

int nkey_decode_public(enum nkey_type type, const char *text,
		       unsigned char key[32])
{
	unsigned char raw[40];
	size_t n;
	uint16_t crc;

	if (strlen(text) != NKEY_PUBLIC_LEN ||
	    base32_decode(text, NKEY_PUBLIC_LEN, raw, sizeof(raw), &n) != 0 ||
	    n != 35)
		return NATSD_EINVAL;
	crc = (uint16_t)(raw[33] | raw[34] << 8);
	if (crc != nkey_crc16(raw, 33) || raw[0] != (unsigned char)type)
		return NATSD_EINVAL;
	memcpy(key, raw + 1, 32);
	return 0;
}

int nkey_new_server_id(char *out, size_t outlen)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;
	unsigned char pub[32];
	size_t len = sizeof(pub);
	int rc = NATSD_EIO;

	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (ctx == NULL)
		return NATSD_ENOMEM;
	if (EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pk) == 1 &&
	    EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 && len == 32)
		rc = nkey_encode_public(NKEY_SERVER, pub, out, outlen);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
