#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * The SDK's example plugin, auth_inifile, in a real natsd with libnats
 * clients: users from an ini file (bcrypt and plain passwords), their
 * permissions and accounts, SIGHUP re-reading the file, and a broken file
 * keeping the old users.
 *
 * The plugin is $INIFILE_PLUGIN when set (tests/sdk_install.sh builds one
 * against the installed SDK and runs this program with it), otherwise the
 * one built in the tree, from $NATSD_PLUGIN_DIR.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <nats/nats.h>

#include "harness.h"
#include "itest.h"

#define WAIT_MS    ITEST_WAIT_MS
#define WATCHDOG_S 60

/* "s3cret" and "bobpw" as bcrypt hashes ($2a$, as nats-server's tools
 * make them). */
#define ALICE_HASH                                                             \
	"$2a$10$abcdefghijklmnopqrstuu3KWNuWLhBnmgYfnzONPueahDuedC/lu"
#define BOB_HASH "$2a$04$ZYXWVUTSRQPONMLKJIHGFewGqZNC6gRl.eYQzjT1o5oHUnSvwaE2e"

static const char users_v1[] = "; test users\n"
			       "[alice]\n"
			       "password = " ALICE_HASH "\n"
			       "publish_allow = orders.>, _INBOX.>\n"
			       "publish_deny = orders.secret\n"
			       "subscribe_allow = orders.>, _INBOX.>\n"
			       "\n"
			       "[bob]\n"
			       "password = " BOB_HASH "\n"
			       "account = other\n"
			       "\n"
			       "[admin]\n"
			       "password = plain-pw\n";

/* v2: carol is new, bob is gone, admin has a new password. */
static const char users_v2[] = "[carol]\n"
			       "password = carolpw\n"
			       "subscribe_deny = private.>\n"
			       "[admin]\n"
			       "password = new-pw\n";

static const char users_broken[] = "[dave]\n"
				   "password = x\n"
				   "colour = blue\n";

static struct hserver srv;
static char dir[] = "/tmp/inifile_test.XXXXXX";
static char ini_path[256];

static bool write_file(const char *path, const char *text)
{
	char tmp[300];
	FILE *f;
	bool ok;

	/* Written aside and renamed, so the server never reads half. */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return false;
	ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	return ok && rename(tmp, path) == 0;
}

static int suite_init(void)
{
	const char *plugin = getenv("INIFILE_PLUGIN");
	char conf[1024];

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(ini_path, sizeof(ini_path), "%s/users.ini", dir);
	if (!write_file(ini_path, users_v1))
		return -1;
	snprintf(conf, sizeof(conf),
		 "plugins = ( { load = \"%s\";\n"
		 "              settings = { file = \"%s\"; }; } );\n",
		 plugin != NULL && plugin[0] != '\0' ? plugin : "auth_inifile",
		 ini_path);
	if (plugin != NULL)
		fprintf(stderr, "plugin: %s\n", plugin);
	return itest_start(&srv, conf, NULL);
}

static int suite_fini(void)
{
	bool ok = itest_stop(&srv);

	unlink(ini_path);
	rmdir(dir);
	return ok ? 0 : -1;
}

static natsConnection *conn_user(const char *user, const char *pass,
				 struct itest_errlog *e, natsStatus *st)
{
	natsOptions *o = itest_opts(srv.port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;

	if (s == NATS_OK)
		s = natsOptions_SetUserInfo(o, user, pass);
	if (s == NATS_OK && e != NULL)
		s = itest_errlog_attach(o, e);
	return itest_connect(o, s, st);
}

static void expect_in(const char *user, const char *pass)
{
	natsConnection *nc = conn_user(user, pass, NULL, NULL);

	if (nc == NULL)
		fprintf(stderr, "%s/%s was refused\n", user, pass);
	CU_ASSERT(nc != NULL);
	natsConnection_Destroy(nc);
}

static void expect_out(const char *user, const char *pass)
{
	natsStatus st = NATS_OK;
	natsConnection *nc = conn_user(user, pass, NULL, &st);
	const char *txt = nats_GetLastError(NULL);

	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	CU_ASSERT_EQUAL(st, NATS_CONNECTION_AUTH_FAILED);
	CU_ASSERT(txt != NULL &&
		  strstr(txt, "Authorization Violation") != NULL);
}

static void test_passwords(void)
{
	expect_in("alice", "s3cret");
	expect_in("bob", "bobpw");
	expect_in("admin", "plain-pw");
	expect_out("alice", "wrong");
	expect_out("alice", "");
	expect_out("admin", "plain-pw ");
	expect_out("admin", ALICE_HASH); /* the hash is no password */
	expect_out("nobody", "x");
}

static void test_permissions(void)
{
	struct itest_errlog e;
	natsConnection *nc, *admin;
	natsSubscription *watch = NULL, *sub = NULL;
	natsMsg *m = NULL;

	itest_errlog_init(&e);
	nc = conn_user("alice", "s3cret", &e, NULL);
	admin = conn_user("admin", "plain-pw", NULL, NULL);
	CU_ASSERT_FATAL(nc != NULL && admin != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&watch, admin, ">") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_PublishString(nc, "orders.secret", "x") ==
		  NATS_OK);
	CU_ASSERT(itest_errlog_wait(
		&e, "Permissions Violation for Publish to \"orders.secret\"",
		WAIT_MS));
	CU_ASSERT(natsConnection_PublishString(nc, "billing", "x") == NATS_OK);
	CU_ASSERT(itest_errlog_wait(
		&e, "Permissions Violation for Publish to \"billing\"",
		WAIT_MS));
	CU_ASSERT(natsConnection_SubscribeSync(&sub, nc, "billing") == NATS_OK);
	CU_ASSERT(itest_errlog_wait(
		&e, "Permissions Violation for Subscription to \"billing\"",
		WAIT_MS));
	CU_ASSERT(natsConnection_PublishString(nc, "orders.new", "ok") ==
		  NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, WAIT_MS) == NATS_OK);
	CU_ASSERT_FATAL(natsSubscription_NextMsg(&m, watch, WAIT_MS) ==
			NATS_OK);
	CU_ASSERT_STRING_EQUAL(natsMsg_GetSubject(m), "orders.new");
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsSubscription_Destroy(watch);
	natsConnection_Destroy(admin);
	natsConnection_Destroy(nc);
	itest_errlog_fini(&e);
}

/* bob is in account "other": admin's messages do not reach him. */
static void test_account(void)
{
	natsConnection *bob, *admin;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;

	bob = conn_user("bob", "bobpw", NULL, NULL);
	admin = conn_user("admin", "plain-pw", NULL, NULL);
	CU_ASSERT_FATAL(bob != NULL && admin != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&sub, bob, "x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(bob, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsConnection_PublishString(admin, "x", "g") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(admin, WAIT_MS) == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, sub, 200) == NATS_TIMEOUT);
	natsMsg_Destroy(m);
	m = NULL;
	CU_ASSERT(natsConnection_PublishString(bob, "x", "o") == NATS_OK);
	CU_ASSERT(natsSubscription_NextMsg(&m, sub, WAIT_MS) == NATS_OK);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(admin);
	natsConnection_Destroy(bob);
}

static void test_reload(void)
{
	CU_ASSERT_FATAL(write_file(ini_path, users_v2));
	CU_ASSERT(kill(srv.pid, SIGHUP) == 0);
	CU_ASSERT(itest_log_wait(&srv, "inifile: 2 users from", WAIT_MS));
	expect_in("carol", "carolpw");
	expect_in("admin", "new-pw");
	expect_out("admin", "plain-pw");
	expect_out("bob", "bobpw");
}

/* A broken file keeps the users in force; the log says what is wrong
 * and where. */
static void test_reload_broken(void)
{
	CU_ASSERT_FATAL(write_file(ini_path, users_broken));
	CU_ASSERT(kill(srv.pid, SIGHUP) == 0);
	CU_ASSERT(itest_log_wait(
		&srv, "users.ini:3: unknown key \"colour\" in [dave]",
		WAIT_MS));
	CU_ASSERT(itest_log_wait(&srv, "keeping the old users", WAIT_MS));
	expect_in("carol", "carolpw");
	expect_out("dave", "x");
	CU_ASSERT(unlink(ini_path) == 0);
	CU_ASSERT(kill(srv.pid, SIGHUP) == 0);
	CU_ASSERT(itest_log_wait(&srv, "users.ini: cannot open", WAIT_MS));
	expect_in("admin", "new-pw");
	/* The log never shows a password. */
	CU_ASSERT(strstr(harness_log(&srv), "new-pw") == NULL);
	CU_ASSERT(strstr(harness_log(&srv), "carolpw") == NULL);
}

/* A server whose users file is broken does not start. */
static void test_bad_file_at_start(void)
{
	const char *plugin = getenv("INIFILE_PLUGIN");
	struct hserver s = { 0 };
	char conf[1024], path[300];

	snprintf(path, sizeof(path), "%s/broken.ini", dir);
	CU_ASSERT_FATAL(write_file(path, "[x]\naccount = a\n"));
	snprintf(conf, sizeof(conf),
		 "plugins = ( { load = \"%s\";\n"
		 "              settings = { file = \"%s\"; }; } );\n",
		 plugin != NULL && plugin[0] != '\0' ? plugin : "auth_inifile",
		 path);
	CU_ASSERT(harness_start_port(&s, "natsd", harness_free_port(), conf,
				     NULL) != 0);
	harness_stop(&s);
	unlink(path);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "passwords: bcrypt and plain", test_passwords },
		{ "permissions", test_permissions },
		{ "account", test_account },
		{ "SIGHUP re-reads the file", test_reload },
		{ "a broken file keeps the users", test_reload_broken },
		{ "a broken file at start", test_bad_file_at_start },
	};
	static const struct suite suites[] = {
		{ "auth_inifile", suite_init, suite_fini, tests,
		  SUITE_COUNT(tests) },
	};
	int rc;

	itest_init("inifile_test", WATCHDOG_S, &srv.pid);
	rc = suites_run(suites, SUITE_COUNT(suites));
	nats_CloseAndWait(WAIT_MS);
	return rc == 0 ? 0 : 1;
}
