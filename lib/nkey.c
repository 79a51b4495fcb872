/* nkey text encoding: base32 (RFC 4648 alphabet, no padding) of
 * prefix || key || crc16 (little-endian) for public keys, and of two
 * prefix bytes (seed marker, key type) || seed || crc16 for seeds. Ed25519
 * itself is OpenSSL's. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
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

/* Public key types, the ones a seed may be for. */
static bool public_type(unsigned int t)
{
	switch (t) {
	case NKEY_SERVER:
	case NKEY_CLUSTER:
	case NKEY_OPERATOR:
	case NKEY_ACCOUNT:
	case NKEY_USER:
	case NKEY_CURVE:
		return true;
	default:
		return false;
	}
}

int nkey_encode_seed(enum nkey_type type, const unsigned char seed[32],
		     char *out, size_t outlen)
{
	unsigned char raw[36];
	uint16_t crc;
	size_t n;

	if (!public_type((unsigned int)type))
		return NATSD_EINVAL;
	if (outlen < NKEY_SEED_LEN + 1)
		return NATSD_ERANGE;
	raw[0] = (unsigned char)(NKEY_SEED | ((unsigned int)type >> 5));
	raw[1] = (unsigned char)(((unsigned int)type & 0x1f) << 3);
	memcpy(raw + 2, seed, 32);
	crc = nkey_crc16(raw, 34);
	raw[34] = (unsigned char)(crc & 0xff);
	raw[35] = (unsigned char)(crc >> 8);
	n = base32_encode(raw, sizeof(raw), out);
	out[n] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int nkey_decode_seed(const char *text, enum nkey_type *type,
		     unsigned char seed[32])
{
	unsigned char raw[40];
	unsigned int t;
	size_t n;
	int rc = NATSD_EINVAL;

	if (strlen(text) != NKEY_SEED_LEN ||
	    base32_decode(text, NKEY_SEED_LEN, raw, sizeof(raw), &n) != 0 ||
	    n != 36)
		goto out;
	t = (unsigned int)(raw[0] & 7) << 5 |
	    (unsigned int)(raw[1] & 0xf8) >> 3;
	if ((raw[0] & 0xf8) != NKEY_SEED || !public_type(t) ||
	    (uint16_t)(raw[34] | raw[35] << 8) != nkey_crc16(raw, 34))
		goto out;
	*type = (enum nkey_type)t;
	memcpy(seed, raw + 2, 32);
	rc = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int nkey_public_from_seed(const unsigned char seed[32], unsigned char pub[32])
{
	EVP_PKEY *pk;
	size_t len = 32;
	int rc = NATSD_EIO;

	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (pk == NULL)
		return NATSD_EIO;
	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 && len == 32)
		rc = 0;
	EVP_PKEY_free(pk);
	return rc;
}

int nkey_sign(const unsigned char seed[32], const void *msg, size_t len,
	      unsigned char sig[NKEY_SIG_LEN])
{
	EVP_MD_CTX *md;
	EVP_PKEY *pk;
	size_t siglen = NKEY_SIG_LEN;
	int rc = NATSD_EIO;

	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (pk == NULL)
		return NATSD_EIO;
	md = EVP_MD_CTX_new();
	if (md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, msg, len) == 1 &&
	    siglen == NKEY_SIG_LEN)
		rc = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

int nkey_verify(const unsigned char pub[32], const void *msg, size_t len,
		const unsigned char sig[NKEY_SIG_LEN])
{
	EVP_MD_CTX *md;
	EVP_PKEY *pk;
	int rc = NATSD_EIO, v;

	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	if (pk == NULL)
		return NATSD_EIO;
	md = EVP_MD_CTX_new();
	if (md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1) {
		v = EVP_DigestVerify(md, sig, NKEY_SIG_LEN, msg, len);
		/* 0 is a bad signature; below 0 OpenSSL could not tell. */
		rc = v == 1 ? 0 : v == 0 ? NATSD_EACCES : NATSD_EIO;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return rc;
}

/* The value of a base64 character in the URL (url) or the standard
 * alphabet, or -1. */
static int b64_value(char ch, bool url)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == (url ? '-' : '+'))
		return 62;
	if (ch == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* Decodes len characters of one alphabet (no padding) into exactly
 * NKEY_SIG_LEN bytes. Leftover low bits are ignored, as Go's decoder
 * (nats-server's) ignores them. */
static int b64_sig(const char *in, size_t len, bool url,
		   unsigned char sig[NKEY_SIG_LEN])
{
	unsigned char tmp[NKEY_SIG_LEN];
	uint32_t buf = 0;
	size_t i, o = 0;
	int bits = 0, v;

	/* 64 bytes are 86 characters, 2 bits left over. */
	if (len != 86)
		return NATSD_EINVAL;
	for (i = 0; i < len; i++) {
		v = b64_value(in[i], url);
		if (v < 0)
			return NATSD_EINVAL;
		buf = buf << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			tmp[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	memcpy(sig, tmp, NKEY_SIG_LEN);
	return 0;
}

int nkey_sig_decode(const char *text, unsigned char sig[NKEY_SIG_LEN])
{
	size_t len = strlen(text);

	/* nats-server tries raw URL base64 first, then padded standard
	 * base64; the two alphabets never mix. */
	if (b64_sig(text, len, true, sig) == 0)
		return 0;
	if (len == 88 && text[86] == '=' && text[87] == '=')
		return b64_sig(text, 86, false, sig);
	return NATSD_EINVAL;
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
