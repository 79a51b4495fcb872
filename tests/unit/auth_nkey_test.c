/* Tests for plugins/auth/nkey.c, with no server around.
 *
 * The plugin's source is compiled into this program and driven through a
 * fake host table: the config getters are the core's (a real natsd.conf
 * text, read by conffile), the request accessors are fakes that record
 * what the plugin granted. The keys and signatures come from
 * tests/fixtures/nkeys (@nats-io/nkeys). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
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
#include "host.h"
#include "opts.h"

/* A request as the fake host keeps it. */
struct natsd_auth_req {
	const char *fields[NATSD_AF_TRANSPORT + 1];
	char user[64];
	char account[64];
	char permits[1024]; /* "<list>:<subject> ..." */
	bool resp;
	int64_t resp_max, resp_expires;
};

static struct natsd_host_api api;
static struct natsd_auth_ops reg_ops;
static void *reg_ctx;
static char last_log[512];
static void *plugin_ctx;
static struct opts o;

static const char *fake_field(struct natsd_auth_req *r, int f)
{
	return f > 0 && f <= NATSD_AF_TRANSPORT ? r->fields[f] : NULL;
}

static int fake_set_user(struct natsd_auth_req *r, const char *name)
{
	snprintf(r->user, sizeof(r->user), "%s", name);
	return 0;
}

static int fake_set_account(struct natsd_auth_req *r, const char *acc)
{
	snprintf(r->account, sizeof(r->account), "%s", acc);
	return 0;
}

static int fake_permit(struct natsd_auth_req *r, int list, const char *subj)
{
	size_t n = strlen(r->permits);

	snprintf(r->permits + n, sizeof(r->permits) - n, "%s%d:%s",
		 n ? " " : "", list, subj ? subj : "(null)");
	return 0;
}

static int fake_set_responses(struct natsd_auth_req *r, int64_t max,
			      int64_t expires_ns)
{
	r->resp = true;
	r->resp_max = max;
	r->resp_expires = expires_ns;
	return 0;
}

static int fake_register_auth(struct natsd_host *h,
			      const struct natsd_auth_ops *ops, void *ctx)
{
	(void)h;
	reg_ops = *ops;
	reg_ctx = ctx;
	return 0;
}

static void fake_log(struct natsd_host *h, int level, const char *fmt, ...)
{
	va_list ap;

	(void)h;
	(void)level;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static void setup_api(void)
{
	api = *host_api();
	api.log = fake_log;
	api.register_auth = fake_register_auth;
	api.auth_field = fake_field;
	api.auth_set_user = fake_set_user;
	api.auth_set_account = fake_set_account;
	api.auth_permit = fake_permit;
	api.auth_set_responses = fake_set_responses;
}

/* Loads conf as natsd.conf and inits the plugin with its authorization
 * section. Returns init's result; err gets its message. */
static int load(const char *conf, char *err, size_t errlen)
{
	char path[] = "/tmp/auth_nkey_test.XXXXXX";
	const struct natsd_cfg *cfg = NULL;
	const struct natsd_plugin *p;
	int fd, rc;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, conf, strlen(conf)) ==
			(ssize_t)strlen(conf));
	close(fd);
	opts_init(&o);
	rc = conffile_load(path, &o, err, errlen);
	unlink(path);
	if (rc != 0) {
		fprintf(stderr, "config: %s\n", err);
		return rc;
	}
	conffile_cfg_section(conffile_root(&o), "authorization", &cfg);
	setup_api();
	memset(&reg_ops, 0, sizeof(reg_ops));
	p = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	plugin_ctx = NULL;
	err[0] = '\0';
	return p->init(NULL, &api, cfg, &plugin_ctx, err, errlen);
}

static void unload(void)
{
	const struct natsd_plugin *p;

	p = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	p->fini(plugin_ctx);
	plugin_ctx = NULL;
	opts_fini(&o);
}

/* A request from user f over the nonce f was signed for, with sig. */
static void req_init(struct natsd_auth_req *r, const struct nkey_fixture *f,
		     const char *sig)
{
	memset(r, 0, sizeof(*r));
	r->fields[NATSD_AF_NKEY] = f->public_key;
	r->fields[NATSD_AF_SIG] = sig;
	r->fields[NATSD_AF_NONCE] = f->nonce;
	r->fields[NATSD_AF_CONN_TYPE] = "STANDARD";
	r->fields[NATSD_AF_REMOTE_IP] = "127.0.0.1";
}

static int authenticate(struct natsd_auth_req *r)
{
	return reg_ops.authenticate(reg_ctx, r);
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
	CU_ASSERT_STRING_EQUAL(reg_ops.name, "nkey");
	CU_ASSERT_EQUAL(reg_ops.flags,
			NATSD_AUTH_F_NONCE | NATSD_AUTH_F_REQUIRED);

	req_init(&r, U0, U0->sig);
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.user, U0->public_key);
	CU_ASSERT_STRING_EQUAL(r.account, "");
	/* No permissions of its own: the defaults. */
	CU_ASSERT_STRING_EQUAL(r.permits, "1:def.>");
	CU_ASSERT(!r.resp);

	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "acc");
	CU_ASSERT_STRING_EQUAL(r.permits, "1:a 1:b.> 2:b.x 3:s 3:q grp");
	CU_ASSERT(r.resp);
	CU_ASSERT_EQUAL(r.resp_max, 3);
	CU_ASSERT_EQUAL(r.resp_expires, 5000000000LL);

	/* Not ours: no nkey, or a JWT. */
	req_init(&r, U0, U0->sig);
	r.fields[NATSD_AF_NKEY] = NULL;
	r.fields[NATSD_AF_USER] = "pw";
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_NEXT);
	req_init(&r, U0, U0->sig);
	r.fields[NATSD_AF_JWT] = "eyJ0eXAiOiJKV1QifQ.e30.x";
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_NEXT);
	unload();
}

static void expect_reject(struct natsd_auth_req *r, const char *why)
{
	last_log[0] = '\0';
	CU_ASSERT_EQUAL(authenticate(r), NATSD_AUTH_REJECT);
	if (strstr(last_log, why) == NULL)
		fprintf(stderr, "log: %s (want %s)\n", last_log, why);
	CU_ASSERT(strstr(last_log, why) != NULL);
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
	CU_ASSERT(strstr(last_log, U0->sig) == NULL);
	req_init(&r, U2, U2->sig);
	expect_reject(&r, "connection type not allowed");
	req_init(&r, U2, U2->sig);
	r.fields[NATSD_AF_CONN_TYPE] = "WEBSOCKET";
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_ACCEPT);
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
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "acc");
	CU_ASSERT_STRING_EQUAL(r.permits, "1:a 3:S");
	unload();
}

/* Settings of its own (plugins entry) in the same shape. */
static void test_own_settings(void)
{
	const struct natsd_plugin *p;
	const struct natsd_cfg *cfg = NULL;
	char path[] = "/tmp/auth_nkey_test.XXXXXX", conf[1024], err[256];
	struct natsd_auth_req r;
	int fd;

	snprintf(conf, sizeof(conf),
		 "plugins = ( { load = \"auth_nkey\"; settings = {\n"
		 "  users = ( { nkey = \"%s\"; account = \"x\"; } ); }; } );\n",
		 U0->public_key);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	opts_init(&o);
	CU_ASSERT_EQUAL_FATAL(conffile_load(path, &o, err, sizeof(err)), 0);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(o.nplugins, 1);
	cfg = o.plugins[0].settings;
	setup_api();
	p = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	CU_ASSERT_EQUAL_FATAL(
		p->init(NULL, &api, cfg, &plugin_ctx, err, sizeof(err)), 0);
	req_init(&r, U0, U0->sig);
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "x");
	unload();
}

/* SIGHUP: the re-read settings replace the users; bad ones keep them. */
static void test_reload_settings(void)
{
	struct natsd_auth_req r;
	char conf[1024], err[256], path[] = "/tmp/auth_nkey_test.XXXXXX";
	const struct natsd_cfg *cfg = NULL;
	struct opts fresh;
	int fd;

	snprintf(conf, sizeof(conf),
		 "authorization = { users = ( { nkey = \"%s\"; } ); };\n",
		 U0->public_key);
	CU_ASSERT_EQUAL_FATAL(load(conf, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reg_ops.reload_settings);

	snprintf(conf, sizeof(conf),
		 "authorization = { users = ( { nkey = \"%s\"; account = "
		 "\"b\"; } ); };\n",
		 U1->public_key);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	opts_init(&fresh);
	CU_ASSERT_EQUAL_FATAL(conffile_load(path, &fresh, err, sizeof(err)), 0);
	unlink(path);
	conffile_cfg_section(conffile_root(&fresh), "authorization", &cfg);
	CU_ASSERT_EQUAL(reg_ops.reload_settings(reg_ctx, cfg), 0);
	opts_fini(&fresh); /* the plugin kept copies */
	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_ACCEPT);
	CU_ASSERT_STRING_EQUAL(r.account, "b");
	req_init(&r, U0, U0->sig);
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_REJECT);

	/* Settings with a bad key (in a plugins entry, where the core does
	 * not check them): the users stay. */
	opts_init(&fresh);
	snprintf(path, sizeof(path), "/tmp/auth_nkey_test.XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(conf, sizeof(conf),
		 "plugins = ( { load = \"x\"; settings = {\n"
		 "  users = ( { nkey = \"UBAD\"; } ); }; } );\n");
	CU_ASSERT(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	CU_ASSERT_EQUAL_FATAL(conffile_load(path, &fresh, err, sizeof(err)), 0);
	unlink(path);
	last_log[0] = '\0';
	CU_ASSERT_EQUAL(
		reg_ops.reload_settings(reg_ctx, fresh.plugins[0].settings),
		NATSD_EINVAL);
	CU_ASSERT(strstr(last_log, "keeping the old users") != NULL);
	CU_ASSERT(strstr(last_log, "Not a valid public nkey") != NULL);
	opts_fini(&fresh);
	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_ACCEPT);

	/* No settings at all: no users. */
	CU_ASSERT_EQUAL(reg_ops.reload_settings(reg_ctx, NULL), 0);
	req_init(&r, U1, U1->sig);
	CU_ASSERT_EQUAL(authenticate(&r), NATSD_AUTH_REJECT);
	unload();
}

static void test_bad_settings(void)
{
	const struct natsd_plugin *p;
	char path[] = "/tmp/auth_nkey_test.XXXXXX", err[256];
	static const char conf[] =
		"plugins = ( { load = \"auth_nkey\"; settings = {\n"
		"  users = ( { nkey = \"UNOPE\"; } ); }; } );\n";
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	opts_init(&o);
	CU_ASSERT_EQUAL_FATAL(conffile_load(path, &o, err, sizeof(err)), 0);
	setup_api();
	p = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	CU_ASSERT_EQUAL(p->init(NULL, &api, o.plugins[0].settings,
				&plugin_ctx, err, sizeof(err)),
			NATSD_EINVAL);
	CU_ASSERT(strstr(err, ":2: Not a valid public nkey for a user") !=
		  NULL);
	CU_ASSERT(strstr(err, path) != NULL);
	unlink(path);
	opts_fini(&o);

	/* The same key twice in a plugin's own settings. */
	snprintf(path, sizeof(path), "/tmp/auth_nkey_test.XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	{
		char twice[512];

		snprintf(twice, sizeof(twice),
			 "plugins = ( { load = \"auth_nkey\"; settings = {\n"
			 "  users = ( { nkey = \"%s\"; },\n"
			 "            { nkey = \"%s\"; } ); }; } );\n",
			 U0->public_key, U0->public_key);
		CU_ASSERT(write(fd, twice, strlen(twice)) ==
			  (ssize_t)strlen(twice));
	}
	close(fd);
	opts_init(&o);
	CU_ASSERT_EQUAL_FATAL(conffile_load(path, &o, err, sizeof(err)), 0);
	unlink(path);
	CU_ASSERT_EQUAL(p->init(NULL, &api, o.plugins[0].settings, &plugin_ctx,
				err, sizeof(err)),
			NATSD_EINVAL);
	CU_ASSERT(strstr(err, ":3: Duplicate nkey") != NULL);
	opts_fini(&o);

	/* A host without the 1.1 getters. */
	api.struct_size = offsetof(struct natsd_host_api, cfg_sections_len);
	opts_init(&o);
	snprintf(path, sizeof(path), "/tmp/auth_nkey_test.XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, conf, strlen(conf)) == (ssize_t)strlen(conf));
	close(fd);
	CU_ASSERT_EQUAL_FATAL(conffile_load(path, &o, err, sizeof(err)), 0);
	unlink(path);
	CU_ASSERT_EQUAL(p->init(NULL, &api, o.plugins[0].settings,
				&plugin_ctx, err, sizeof(err)),
			NATSD_ENOTSUP);
	CU_ASSERT(strstr(err, "ABI 1.1") != NULL);
	opts_fini(&o);
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
