/* Tests for plugins/auth/nkey.c, with no server around.
 *
 * The plugin's source is compiled into this program and driven through
 * the fake host of fake_host.h: the config getters are the core's (a real
 * natsd.conf text, read by conffile), the request accessors are fakes
 * that record what the plugin granted. The keys and signatures come from
 * tests/fixtures/nkeys (@nats-io/nkeys). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/plugin.h>

#include "../../plugins/auth/nkey.c"
#include "../fixtures/nkeys/nkey_fixtures.h"
#include "../suites.h"
#include "conffile.h"
#include "fake_host.h"
#include "opts.h"

static struct opts o;

/* Loads conf as natsd.conf and inits the plugin with its authorization
 * section. Returns init's result; err gets its message. */
static int load(const char *conf, char *err, size_t errlen)
{
	const struct natsd_cfg *cfg = NULL;
	int rc;

	rc = fake_host_conf(&o, conf, NULL, 0, err, errlen);
	if (rc != 0)
		return rc;
	conffile_cfg_section(conffile_root(&o), "authorization", &cfg);
	fake_host_setup();
	return fake_host_init(cfg, err, errlen);
}

static void unload(void)
{
	fake_host_fini();
	opts_fini(&o);
}

/* A request from user f over the nonce f was signed for, with sig. */
static void req_init(struct natsd_auth_req *r, const struct nkey_fixture *f,
		     const char *sig)
{
	fake_host_req_init(r);
	r->fields[NATSD_AF_NKEY] = f->public_key;
	r->fields[NATSD_AF_SIG] = sig;
	r->fields[NATSD_AF_NONCE] = f->nonce;
}

#define U0 (&nkey_fixture_users[0])
#define U1 (&nkey_fixture_users[1])
#define U2 (&nkey_fixture_users[2])

static void test_users_and_permissions(void)
{
	struct natsd_auth_req r;
	char conf[2048], err[256];

	snprintf(conf, sizeof(conf),
		 "authorization = {\n"
		 "  default_permissions = { publish = \"def.>\"; };\n"
		 "  users = (\n"
		 "    { user = \"pw\"; password = \"x\"; },\n"
		 "    { nkey = \"%s\"; },\n"
		 "    { nkey = \"%s\"; account = \"acc\";\n"
		 "      permissions = {\n"
		 "        publish = { allow = [\"a\", \"b.>\"]; deny = \"b.x\"; "
		 "};\n"
		 "        sub = [\"s\", \"q grp\"];\n"
		 "        allow_responses = { max = 3; expires = \"5s\"; };\n"
		 "      };\n"
		 "    }\n"
		 "  );\n"
		 "};\n",
		 U0->public_key, U1->public_key);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(fake_host_auth.name, "nkey");
	CU_ASSERT_EQUAL(fake_host_auth.flags,
			NATSD_AUTH_F_NONCE | NATSD_AUTH_F_REQUIRED);

	req_init(&r, U0, U0->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.user, U0->public_key);
	CU_ASSERT_STRING_EQUAL(r.account, "");
	/* No permissions of its own: the defaults. */
	CU_ASSERT_STRING_EQUAL(r.permits, "1:def.>");
	CU_ASSERT(!r.resp);

	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "acc");
	CU_ASSERT_STRING_EQUAL(r.permits, "1:a 1:b.> 2:b.x 3:s 3:q grp");
	CU_ASSERT(r.resp);
	CU_ASSERT_EQUAL(r.resp_max, 3);
	CU_ASSERT_EQUAL(r.resp_expires, 5000000000LL);

	/* Not ours: no nkey, or a JWT. */
	req_init(&r, U0, U0->sig);
	r.fields[NATSD_AF_NKEY] = NULL;
	r.fields[NATSD_AF_USER] = "pw";
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_NEXT);
	req_init(&r, U0, U0->sig);
	r.fields[NATSD_AF_JWT] = "eyJ0eXAiOiJKV1QifQ.e30.x";
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_NEXT);
	unload();
}

static void expect_reject(struct natsd_auth_req *r, const char *why)
{
	fake_host_log_clear();
	CU_ASSERT_EQUAL(fake_host_authenticate(r), NATSD_AUTH_REJECT);
	if (strstr(fake_host_last_log(), why) == NULL)
		fprintf(stderr, "log: %s (want %s)\n", fake_host_last_log(),
			why);
	CU_ASSERT(strstr(fake_host_last_log(), why) != NULL);
	CU_ASSERT_STRING_EQUAL(r->user, "");
}

static void test_rejections(void)
{
	struct natsd_auth_req r;
	char conf[1024], err[256], sig[100];

	snprintf(conf, sizeof(conf),
		 "authorization = { users = (\n"
		 "  { nkey = \"%s\"; allowed_connection_types = [\"WEBSOCKET\"]; "
		 "},\n"
		 "  { nkey = \"%s\"; } ); };\n",
		 U2->public_key, U0->public_key);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);

	req_init(&r, U1, U1->sig);
	expect_reject(&r, "no such nkey user");
	req_init(&r, U0, NULL);
	expect_reject(&r, "signature missing");
	req_init(&r, U0, U0->sig);
	r.fields[NATSD_AF_NONCE] = NULL;
	expect_reject(&r, "no nonce");
	req_init(&r, U0, "@@@");
	expect_reject(&r, "not valid base64");
	/* Another user's good signature of another nonce. */
	req_init(&r, U0, U1->sig);
	expect_reject(&r, "signature not verified");
	/* Our signature of another nonce. */
	req_init(&r, U0, U0->sig);
	r.fields[NATSD_AF_NONCE] = U1->nonce;
	expect_reject(&r, "signature not verified");
	/* One character of the signature changed. */
	snprintf(sig, sizeof(sig), "%s", U0->sig);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	req_init(&r, U0, sig);
	expect_reject(&r, "signature not verified");
	req_init(&r, U0, U0->sig);
	r.fields[NATSD_AF_NKEY] = nkey_fixture_accounts[0].public_key;
	expect_reject(&r, "not a valid user nkey");
	/* The log says which key and why, never the signature. */
	CU_ASSERT(strstr(fake_host_last_log(), U0->sig) == NULL);
	req_init(&r, U2, U2->sig);
	expect_reject(&r, "connection type not allowed");
	req_init(&r, U2, U2->sig);
	r.fields[NATSD_AF_CONN_TYPE] = "WEBSOCKET";
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_ACCEPT);
	unload();
}

/* Keys in any case, as nats-server reads them: the core gives the plugin
 * one spelling, so no permission is lost to a capital letter. */
static void test_key_case(void)
{
	struct natsd_auth_req r;
	char conf[1024], err[256];

	snprintf(conf, sizeof(conf),
		 "Authorization = { Users = (\n"
		 "  { NKey = \"%s\"; Account = \"acc\";\n"
		 "    Permissions = { Publish = { Allow = \"a\"; }; "
		 "SUBSCRIBE = [\"S\"]; }; } ); };\n",
		 U0->public_key);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(o.nnkey_users, 1);
	req_init(&r, U0, U0->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "acc");
	CU_ASSERT_STRING_EQUAL(r.permits, "1:a 3:S");
	unload();
}

/* Settings of its own (plugins entry) in the same shape. */
static void test_own_settings(void)
{
	char conf[1024], err[256];
	struct natsd_auth_req r;

	snprintf(conf, sizeof(conf),
		 "plugins = ( { load = \"auth_nkey\"; settings = {\n"
		 "  users = ( { nkey = \"%s\"; account = \"x\"; } ); }; } );\n",
		 U0->public_key);
	CU_ASSERT_EQUAL_FATAL(
		fake_host_conf(&o, conf, NULL, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(o.nplugins, 1);
	fake_host_setup();
	CU_ASSERT_EQUAL_FATAL(
		fake_host_init(o.plugins[0].settings, err, sizeof(err)), 0);
	req_init(&r, U0, U0->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "x");
	unload();
}

/* SIGHUP: the re-read settings replace the users; bad ones keep them. */
static void test_reload_settings(void)
{
	struct natsd_auth_req r;
	char conf[1024], err[256];
	const struct natsd_cfg *cfg = NULL;
	struct opts fresh;

	snprintf(conf, sizeof(conf),
		 "authorization = { users = ( { nkey = \"%s\"; } ); };\n",
		 U0->public_key);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake_host_auth.reload_settings);

	snprintf(conf, sizeof(conf),
		 "authorization = { users = ( { nkey = \"%s\"; account = "
		 "\"b\"; } ); };\n",
		 U1->public_key);
	CU_ASSERT_EQUAL_FATAL(
		fake_host_conf(&fresh, conf, NULL, 0, err, sizeof(err)), 0);
	conffile_cfg_section(conffile_root(&fresh), "authorization", &cfg);
	CU_ASSERT_EQUAL(fake_host_auth.reload_settings(fake_host_auth_ctx, cfg),
			0);
	opts_fini(&fresh); /* the plugin kept copies */
	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "b");
	req_init(&r, U0, U0->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_REJECT);

	/* Settings with a bad key (in a plugins entry, where the core does
	 * not check them): the users stay. */
	CU_ASSERT_EQUAL_FATAL(
		fake_host_conf(&fresh,
			       "plugins = ( { load = \"x\"; settings = {\n"
			       "  users = ( { nkey = \"UBAD\"; } ); }; } );\n",
			       NULL, 0, err, sizeof(err)),
		0);
	fake_host_log_clear();
	CU_ASSERT_EQUAL(fake_host_auth.reload_settings(
				fake_host_auth_ctx, fresh.plugins[0].settings),
			NATSD_EINVAL);
	CU_ASSERT(strstr(fake_host_last_log(), "keeping the old users") !=
		  NULL);
	CU_ASSERT(strstr(fake_host_last_log(), "Not a valid public nkey") !=
		  NULL);
	opts_fini(&fresh);
	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_ACCEPT);

	/* No settings at all: no users. */
	CU_ASSERT_EQUAL(
		fake_host_auth.reload_settings(fake_host_auth_ctx, NULL), 0);
	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(fake_host_authenticate(&r), NATSD_AUTH_REJECT);
	unload();
}

/* Inits the plugin with the settings of the only plugins entry of conf;
 * expects it to fail with code and an error holding want. */
static void expect_bad_settings(const char *conf, int code, const char *want)
{
	char path[64], err[256];

	CU_ASSERT_EQUAL_FATAL(
		fake_host_conf(&o, conf, path, sizeof(path), err, sizeof(err)),
		0);
	CU_ASSERT_EQUAL(fake_host_init(o.plugins[0].settings, err, sizeof(err)),
			code);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, want);
	CU_ASSERT(strstr(err, want) != NULL);
	/* A settings error says where; the ABI one is about the host. */
	CU_ASSERT(code == NATSD_ENOTSUP || strstr(err, path) != NULL);
	opts_fini(&o);
}

static void test_bad_settings(void)
{
	static const char conf[] =
		"plugins = ( { load = \"auth_nkey\"; settings = {\n"
		"  users = ( { nkey = \"UNOPE\"; } ); }; } );\n";
	char twice[512];

	fake_host_setup();
	expect_bad_settings(conf, NATSD_EINVAL,
			    ":2: Not a valid public nkey for a user");

	/* The same key twice in a plugin's own settings. */
	snprintf(twice, sizeof(twice),
		 "plugins = ( { load = \"auth_nkey\"; settings = {\n"
		 "  users = ( { nkey = \"%s\"; },\n"
		 "            { nkey = \"%s\"; } ); }; } );\n",
		 U0->public_key, U0->public_key);
	expect_bad_settings(twice, NATSD_EINVAL, ":3: Duplicate nkey");

	/* A host without the 1.1 getters. */
	fake_host_api.struct_size =
		offsetof(struct natsd_host_api, cfg_sections_len);
	expect_bad_settings(conf, NATSD_ENOTSUP, "ABI 1.1");
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "users and permissions", test_users_and_permissions },
		{ "rejections", test_rejections },
		{ "keys in any case", test_key_case },
		{ "settings of its own", test_own_settings },
		{ "reload with new settings", test_reload_settings },
		{ "bad settings", test_bad_settings },
	};
	static const struct suite suite = { "auth_nkey", NULL, NULL, tests,
					    SUITE_COUNT(tests) };
	int rc;

	rc = suites_run(&suite, 1);
	return rc < 0 ? 99 : rc;
}
