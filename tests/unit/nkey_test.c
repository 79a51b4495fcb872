/* Tests for lib/nkey.c: the CRC-16 nkeys use, public-key and seed text,
 * nonce signatures.
 *
 * The key strings are the published vectors of PROTOCOL.md section 2.2
 * (seed bytes 0x00..0x1F, whose keys nats-server 2.9.10 accepted); the
 * public key is derived here with OpenSSL, so the test checks the whole
 * path from raw key to text. The fixtures (tests/fixtures/nkeys) were made
 * with @nats-io/nkeys, an independent implementation: its seeds must
 * decode to its public keys and its signatures must verify, and ours must
 * come out byte for byte the same (Ed25519 signatures are
 * deterministic). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/evp.h>

#include "natsd/error.h"
#include "nkey.h"
#include "../fixtures/nkeys/nkey_fixtures.h"
#include "../suites.h"

static const char vec_user[] =
	"UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";
static const char vec_account[] =
	"AAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QPZV";
static const char vec_operator[] =
	"OAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QZVT";
static const char vec_server[] =
	"NAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RSWB";

/* The Ed25519 public key of the vector seed 0x00..0x1F. */
static bool vector_public_key(unsigned char pub[32])
{
	unsigned char seed[32];
	EVP_PKEY *pk;
	size_t len = 32;
	bool ok;
	int i;

	for (i = 0; i < 32; i++)
		seed[i] = (unsigned char)i;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	if (pk == NULL)
		return false;
	ok = EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 && len == 32;
	EVP_PKEY_free(pk);
	return ok;
}

static void test_crc16(void)
{
	unsigned char all[256];
	int i;

	/* The catalogue check value of CRC-16/XMODEM. */
	CU_ASSERT_EQUAL(nkey_crc16((const unsigned char *)"123456789", 9),
			0x31C3);
	CU_ASSERT_EQUAL(nkey_crc16((const unsigned char *)"", 0), 0);
	/* Values from Python's binascii.crc_hqx(data, 0). */
	CU_ASSERT_EQUAL(nkey_crc16((const unsigned char *)"A", 1), 0x58E5);
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	CU_ASSERT_EQUAL(nkey_crc16(all, sizeof(all)), 0x7E55);
}

static void check_encode(enum nkey_type type, const unsigned char pub[32],
			 const char *want)
{
	char out[NKEY_PUBLIC_LEN + 1];

	memset(out, 'x', sizeof(out));
	CU_ASSERT_EQUAL_FATAL(nkey_encode_public(type, pub, out, sizeof(out)),
			      0);
	CU_ASSERT_EQUAL(strlen(out), NKEY_PUBLIC_LEN);
	CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_vectors_encode(void)
{
	unsigned char pub[32];

	CU_ASSERT_FATAL(vector_public_key(pub));
	check_encode(NKEY_USER, pub, vec_user);
	check_encode(NKEY_ACCOUNT, pub, vec_account);
	check_encode(NKEY_OPERATOR, pub, vec_operator);
	check_encode(NKEY_SERVER, pub, vec_server);
}

static void check_decode(enum nkey_type type, const char *text,
			 const unsigned char pub[32])
{
	unsigned char key[32];

	memset(key, 0, sizeof(key));
	CU_ASSERT_EQUAL_FATAL(nkey_decode_public(type, text, key), 0);
	CU_ASSERT(memcmp(key, pub, 32) == 0);
}

static void test_vectors_decode(void)
{
	unsigned char pub[32], key[32];

	CU_ASSERT_FATAL(vector_public_key(pub));
	check_decode(NKEY_USER, vec_user, pub);
	check_decode(NKEY_ACCOUNT, vec_account, pub);
	check_decode(NKEY_OPERATOR, vec_operator, pub);
	check_decode(NKEY_SERVER, vec_server, pub);
	/* The right text with the wrong expected type. */
	CU_ASSERT_EQUAL(nkey_decode_public(NKEY_ACCOUNT, vec_user, key),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(nkey_decode_public(NKEY_USER, vec_server, key),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(nkey_decode_public(NKEY_SERVER, vec_operator, key),
			NATSD_EINVAL);
}

static void test_encode_buffer(void)
{
	unsigned char pub[32];
	char out[NKEY_PUBLIC_LEN + 1];

	memset(pub, 0x5a, sizeof(pub));
	CU_ASSERT_EQUAL(
		nkey_encode_public(NKEY_USER, pub, out, NKEY_PUBLIC_LEN),
		NATSD_ERANGE);
	CU_ASSERT_EQUAL(nkey_encode_public(NKEY_USER, pub, out, 0),
			NATSD_ERANGE);
	CU_ASSERT_EQUAL(nkey_encode_public(NKEY_USER, pub, out, sizeof(out)),
			0);
	CU_ASSERT_EQUAL(out[0], 'U');
}

/* The type letters of the PROTOCOL.md table. */
static const struct {
	enum nkey_type type;
	char letter;
} type_letters[] = {
	{ NKEY_SERVER, 'N' },  { NKEY_CLUSTER, 'C' }, { NKEY_OPERATOR, 'O' },
	{ NKEY_ACCOUNT, 'A' }, { NKEY_USER, 'U' },    { NKEY_CURVE, 'X' },
};

/* Every type letter, and a round trip for keys with all-zero and all-one
 * bits. */
static void test_prefix_letters(void)
{
	unsigned char pub[32], key[32];
	char out[NKEY_PUBLIC_LEN + 1];
	size_t i;
	int fill;

	for (fill = 0; fill <= 0xff; fill += 0xff) {
		memset(pub, fill, sizeof(pub));
		for (i = 0; i < SUITE_COUNT(type_letters); i++) {
			CU_ASSERT_EQUAL_FATAL(
				nkey_encode_public(type_letters[i].type, pub,
						   out, sizeof(out)),
				0);
			CU_ASSERT_EQUAL(out[0], type_letters[i].letter);
			memset(key, ~fill, sizeof(key));
			CU_ASSERT_EQUAL(nkey_decode_public(type_letters[i].type,
							   out, key),
					0);
			CU_ASSERT(memcmp(key, pub, 32) == 0);
		}
	}
}

/* Expects decode to fail and leave key untouched. */
static void check_rejected(enum nkey_type type, const char *text)
{
	unsigned char key[32], before[32];

	memset(key, 0xa5, sizeof(key));
	memcpy(before, key, sizeof(key));
	CU_ASSERT_EQUAL(nkey_decode_public(type, text, key), NATSD_EINVAL);
	CU_ASSERT(memcmp(key, before, sizeof(key)) == 0);
}

static void test_decode_bad_checksum(void)
{
	char s[NKEY_PUBLIC_LEN + 1];
	size_t i;

	/* Any one character changed, in the key or in the checksum. */
	for (i = 1; i < NKEY_PUBLIC_LEN; i++) {
		memcpy(s, vec_user, sizeof(s));
		s[i] = s[i] == 'A' ? 'B' : 'A';
		check_rejected(NKEY_USER, s);
	}
	/* Two neighbouring characters swapped. */
	memcpy(s, vec_user, sizeof(s));
	s[10] = vec_user[11];
	s[11] = vec_user[10];
	CU_ASSERT_NOT_EQUAL(s[10], s[11]);
	check_rejected(NKEY_USER, s);
}

static void test_decode_bad_prefix(void)
{
	unsigned char pub[32];
	char out[NKEY_PUBLIC_LEN + 1];

	/* A valid text (checksum right) of a type that is not asked for;
	 * a seed prefix is never a public key. */
	CU_ASSERT_FATAL(vector_public_key(pub));
	CU_ASSERT_EQUAL_FATAL(
		nkey_encode_public(NKEY_SEED, pub, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(out[0], 'S');
	check_rejected(NKEY_USER, out);
	CU_ASSERT_EQUAL_FATAL(
		nkey_encode_public(NKEY_PRIVATE, pub, out, sizeof(out)), 0);
	check_rejected(NKEY_USER, out);
	check_rejected(NKEY_SEED, vec_user);
}

static void test_decode_bad_length(void)
{
	char s[NKEY_PUBLIC_LEN + 2];

	check_rejected(NKEY_USER, "");
	check_rejected(NKEY_USER, "U");
	memcpy(s, vec_user, NKEY_PUBLIC_LEN - 1);
	s[NKEY_PUBLIC_LEN - 1] = '\0';
	check_rejected(NKEY_USER, s);
	memcpy(s, vec_user, NKEY_PUBLIC_LEN);
	s[NKEY_PUBLIC_LEN] = 'A';
	s[NKEY_PUBLIC_LEN + 1] = '\0';
	check_rejected(NKEY_USER, s);
	/* Base32 padding is not part of the format. */
	s[NKEY_PUBLIC_LEN] = '=';
	check_rejected(NKEY_USER, s);
}

static void test_decode_bad_base32(void)
{
	static const char bad[] = { '0', '1', '8', '9', 'a',  'u',       '=',
				    ' ', '-', '+', '/', '\n', (char)0xc3 };
	char s[NKEY_PUBLIC_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		memcpy(s, vec_user, sizeof(s));
		s[20] = bad[i];
		check_rejected(NKEY_USER, s);
		memcpy(s, vec_user, sizeof(s));
		s[NKEY_PUBLIC_LEN - 1] = bad[i];
		check_rejected(NKEY_USER, s);
	}
	/* All lower case: the alphabet is upper case only. */
	for (i = 0; i < NKEY_PUBLIC_LEN; i++)
		s[i] = (vec_user[i] >= 'A' && vec_user[i] <= 'Z')
			       ? (char)(vec_user[i] - 'A' + 'a')
			       : vec_user[i];
	s[NKEY_PUBLIC_LEN] = '\0';
	check_rejected(NKEY_USER, s);
	/* A NUL inside: the text ends there and is too short. */
	memcpy(s, vec_user, sizeof(s));
	s[30] = '\0';
	check_rejected(NKEY_USER, s);
}

static void test_new_server_id(void)
{
	char a[NKEY_PUBLIC_LEN + 1], b[NKEY_PUBLIC_LEN + 1];
	unsigned char key[32];

	CU_ASSERT_EQUAL_FATAL(nkey_new_server_id(a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(strlen(a), NKEY_PUBLIC_LEN);
	CU_ASSERT_EQUAL(a[0], 'N');
	CU_ASSERT_EQUAL(nkey_decode_public(NKEY_SERVER, a, key), 0);
	CU_ASSERT_EQUAL(nkey_decode_public(NKEY_USER, a, key), NATSD_EINVAL);
	/* A fresh key every time. */
	CU_ASSERT_EQUAL_FATAL(nkey_new_server_id(b, sizeof(b)), 0);
	CU_ASSERT(strcmp(a, b) != 0);
	CU_ASSERT_EQUAL(nkey_decode_public(NKEY_SERVER, b, key), 0);
	CU_ASSERT_EQUAL(nkey_new_server_id(b, NKEY_PUBLIC_LEN), NATSD_ERANGE);
}

static const char vec_seed[] =
	"SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";
static const char vec_nonce[] = "PcGb4nEx2jBxLD8";
static const char vec_sig[] =
	"Wqn1HI7Q76S0qKpOuuNnmGODlY4iYRVlNxuigeCwFLAPbApt5hdF"
	"wEe6cUvtsKiTLZmXWqwervCP6E6nrhudDQ";

static void test_seed_vector(void)
{
	unsigned char seed[32], pub[32], want[32];
	char out[NKEY_SEED_LEN + 1];
	enum nkey_type type = NKEY_ACCOUNT;
	int i;

	CU_ASSERT_EQUAL_FATAL(nkey_decode_seed(vec_seed, &type, seed), 0);
	CU_ASSERT_EQUAL(type, NKEY_USER);
	for (i = 0; i < 32; i++)
		CU_ASSERT_EQUAL(seed[i], i);
	CU_ASSERT_EQUAL_FATAL(nkey_public_from_seed(seed, pub), 0);
	CU_ASSERT_FATAL(vector_public_key(want));
	CU_ASSERT(memcmp(pub, want, 32) == 0);
	CU_ASSERT_EQUAL_FATAL(
		nkey_encode_seed(NKEY_USER, seed, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, vec_seed);
	CU_ASSERT_EQUAL(nkey_encode_seed(NKEY_USER, seed, out, NKEY_SEED_LEN),
			NATSD_ERANGE);
	CU_ASSERT_EQUAL(nkey_encode_seed(NKEY_SEED, seed, out, sizeof(out)),
			NATSD_EINVAL);
}

/* Seeds of every type: the second letter says the type, and the text
 * comes back to the same bytes. */
static void test_seed_types(void)
{
	unsigned char seed[32], back[32];
	char out[NKEY_SEED_LEN + 1];
	enum nkey_type type;
	size_t i;

	memset(seed, 0xc3, sizeof(seed));
	for (i = 0; i < SUITE_COUNT(type_letters); i++) {
		CU_ASSERT_EQUAL_FATAL(nkey_encode_seed(type_letters[i].type,
						       seed, out, sizeof(out)),
				      0);
		CU_ASSERT_EQUAL(strlen(out), NKEY_SEED_LEN);
		CU_ASSERT_EQUAL(out[0], 'S');
		CU_ASSERT_EQUAL(out[1], type_letters[i].letter);
		CU_ASSERT_EQUAL(nkey_decode_seed(out, &type, back), 0);
		CU_ASSERT_EQUAL(type, type_letters[i].type);
		CU_ASSERT(memcmp(back, seed, 32) == 0);
	}
}

static void check_seed_rejected(const char *text)
{
	unsigned char seed[32], before[32];
	enum nkey_type type = NKEY_CURVE;

	memset(seed, 0x5a, sizeof(seed));
	memcpy(before, seed, sizeof(seed));
	CU_ASSERT_EQUAL(nkey_decode_seed(text, &type, seed), NATSD_EINVAL);
	CU_ASSERT(memcmp(seed, before, sizeof(seed)) == 0);
	CU_ASSERT_EQUAL(type, NKEY_CURVE);
}

static void test_seed_bad(void)
{
	char s[NKEY_SEED_LEN + 2];
	size_t i;

	check_seed_rejected("");
	check_seed_rejected(vec_user); /* a public key is no seed */
	for (i = 0; i < NKEY_SEED_LEN; i++) {
		memcpy(s, vec_seed, NKEY_SEED_LEN + 1);
		s[i] = s[i] == 'A' ? 'B' : 'A';
		check_seed_rejected(s);
	}
	memcpy(s, vec_seed, NKEY_SEED_LEN + 1);
	s[NKEY_SEED_LEN - 1] = '\0';
	check_seed_rejected(s);
	memcpy(s, vec_seed, NKEY_SEED_LEN);
	s[NKEY_SEED_LEN] = 'A';
	s[NKEY_SEED_LEN + 1] = '\0';
	check_seed_rejected(s);
	memcpy(s, vec_seed, NKEY_SEED_LEN + 1);
	s[7] = 'a';
	check_seed_rejected(s);
}

/* The published signature of PROTOCOL.md, by the vector key. */
static void test_sign_vector(void)
{
	unsigned char seed[32], pub[32], sig[NKEY_SIG_LEN], want[NKEY_SIG_LEN];
	enum nkey_type type;

	CU_ASSERT_EQUAL_FATAL(nkey_decode_seed(vec_seed, &type, seed), 0);
	CU_ASSERT_EQUAL_FATAL(nkey_decode_public(NKEY_USER, vec_user, pub), 0);
	CU_ASSERT_EQUAL_FATAL(nkey_sig_decode(vec_sig, want), 0);
	CU_ASSERT_EQUAL_FATAL(
		nkey_sign(seed, vec_nonce, strlen(vec_nonce), sig), 0);
	CU_ASSERT(memcmp(sig, want, sizeof(sig)) == 0);
	CU_ASSERT_EQUAL(nkey_verify(pub, vec_nonce, strlen(vec_nonce), want),
			0);
	/* Another message, a flipped bit, another key. */
	CU_ASSERT_EQUAL(nkey_verify(pub, "PcGb4nEx2jBxLD9", 15, want),
			NATSD_EACCES);
	want[10] ^= 1;
	CU_ASSERT_EQUAL(nkey_verify(pub, vec_nonce, strlen(vec_nonce), want),
			NATSD_EACCES);
	want[10] ^= 1;
	pub[0] ^= 0x40;
	CU_ASSERT_NOT_EQUAL(
		nkey_verify(pub, vec_nonce, strlen(vec_nonce), want), 0);
}

/* Every key pair and signature @nats-io/nkeys made. */
static void check_fixture(const struct nkey_fixture *f, enum nkey_type want)
{
	unsigned char seed[32], pub[32], pub2[32], sig[NKEY_SIG_LEN];
	unsigned char mine[NKEY_SIG_LEN];
	char text[NKEY_SEED_LEN + 1];
	enum nkey_type type;

	CU_ASSERT_EQUAL_FATAL(nkey_decode_seed(f->seed, &type, seed), 0);
	CU_ASSERT_EQUAL(type, want);
	CU_ASSERT_EQUAL_FATAL(nkey_public_from_seed(seed, pub), 0);
	CU_ASSERT_EQUAL_FATAL(nkey_decode_public(want, f->public_key, pub2), 0);
	CU_ASSERT(memcmp(pub, pub2, 32) == 0);
	CU_ASSERT_EQUAL(nkey_encode_public(want, pub, text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, f->public_key);
	CU_ASSERT_EQUAL(nkey_encode_seed(want, seed, text, sizeof(text)), 0);
	CU_ASSERT_STRING_EQUAL(text, f->seed);
	CU_ASSERT_EQUAL_FATAL(nkey_sig_decode(f->sig, sig), 0);
	CU_ASSERT_EQUAL(nkey_verify(pub, f->nonce, strlen(f->nonce), sig), 0);
	CU_ASSERT_EQUAL(nkey_sign(seed, f->nonce, strlen(f->nonce), mine), 0);
	CU_ASSERT(memcmp(mine, sig, sizeof(sig)) == 0);
}

static void test_fixtures(void)
{
	size_t i;

	check_fixture(&nkey_fixture_vector[0], NKEY_USER);
	CU_ASSERT_STRING_EQUAL(nkey_fixture_vector[0].public_key, vec_user);
	CU_ASSERT_STRING_EQUAL(nkey_fixture_vector[0].seed, vec_seed);
	for (i = 0; i < SUITE_COUNT(nkey_fixture_users); i++)
		check_fixture(&nkey_fixture_users[i], NKEY_USER);
	check_fixture(&nkey_fixture_accounts[0], NKEY_ACCOUNT);
	check_fixture(&nkey_fixture_operators[0], NKEY_OPERATOR);
	check_fixture(&nkey_fixture_servers[0], NKEY_SERVER);
	/* A signature by one key does not pass for another. */
	{
		unsigned char pub[32], sig[NKEY_SIG_LEN];
		const struct nkey_fixture *a = &nkey_fixture_users[0];
		const struct nkey_fixture *b = &nkey_fixture_users[1];

		CU_ASSERT_EQUAL(
			nkey_decode_public(NKEY_USER, b->public_key, pub), 0);
		CU_ASSERT_EQUAL(nkey_sig_decode(a->sig, sig), 0);
		CU_ASSERT_EQUAL(
			nkey_verify(pub, a->nonce, strlen(a->nonce), sig),
			NATSD_EACCES);
	}
}

/* Raw URL base64 as clients send it, padded standard base64 as
 * nats-server also takes, and nothing else. */
static void test_sig_decode(void)
{
	unsigned char want[NKEY_SIG_LEN], sig[NKEY_SIG_LEN];
	const char *url = NULL;
	char std[90], s[100];
	size_t i;

	/* A signature whose text has URL-only characters, so that the
	 * alphabets tell apart. */
	for (i = 0; i < SUITE_COUNT(nkey_fixture_users); i++)
		if (strpbrk(nkey_fixture_users[i].sig, "-_") != NULL)
			url = nkey_fixture_users[i].sig;
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT_EQUAL_FATAL(strlen(url), 86);
	CU_ASSERT_EQUAL_FATAL(nkey_sig_decode(url, want), 0);
	/* The same bytes in the standard alphabet, padded. */
	for (i = 0; i < 86; i++)
		std[i] = url[i] == '-' ? '+' : url[i] == '_' ? '/' : url[i];
	memcpy(std + 86, "==", 3);
	memset(sig, 0, sizeof(sig));
	CU_ASSERT_EQUAL(nkey_sig_decode(std, sig), 0);
	CU_ASSERT(memcmp(sig, want, sizeof(sig)) == 0);
	/* Standard alphabet without padding, and URL alphabet with it: Go's
	 * decoders (nats-server's) refuse both. */
	std[86] = '\0';
	CU_ASSERT_EQUAL(nkey_sig_decode(std, sig), NATSD_EINVAL);
	snprintf(s, sizeof(s), "%s==", url);
	CU_ASSERT_EQUAL(nkey_sig_decode(s, sig), NATSD_EINVAL);
	/* Wrong lengths. */
	CU_ASSERT_EQUAL(nkey_sig_decode("", sig), NATSD_EINVAL);
	memcpy(s, url, 85);
	s[85] = '\0';
	CU_ASSERT_EQUAL(nkey_sig_decode(s, sig), NATSD_EINVAL);
	snprintf(s, sizeof(s), "%sA", url);
	CU_ASSERT_EQUAL(nkey_sig_decode(s, sig), NATSD_EINVAL);
	/* Characters of neither alphabet. */
	snprintf(s, sizeof(s), "%s", url);
	s[3] = '.';
	CU_ASSERT_EQUAL(nkey_sig_decode(s, sig), NATSD_EINVAL);
	s[3] = '=';
	CU_ASSERT_EQUAL(nkey_sig_decode(s, sig), NATSD_EINVAL);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "CRC-16/XMODEM", test_crc16 },
		{ "vectors: encode", test_vectors_encode },
		{ "vectors: decode", test_vectors_decode },
		{ "encode buffer size", test_encode_buffer },
		{ "prefix letters", test_prefix_letters },
		{ "decode: bad checksum", test_decode_bad_checksum },
		{ "decode: bad prefix", test_decode_bad_prefix },
		{ "decode: bad length", test_decode_bad_length },
		{ "decode: bad base32", test_decode_bad_base32 },
		{ "new server id", test_new_server_id },
		{ "seed: vector", test_seed_vector },
		{ "seed: every type", test_seed_types },
		{ "seed: bad text", test_seed_bad },
		{ "sign and verify: vector", test_sign_vector },
		{ "@nats-io/nkeys fixtures", test_fixtures },
		{ "signature decoding", test_sig_decode },
	};
	static const struct suite suite = { "nkey", NULL, NULL, tests,
					    SUITE_COUNT(tests) };
	int rc;

	rc = suites_run(&suite, 1);
	return rc < 0 ? 99 : rc;
}
