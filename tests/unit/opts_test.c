/* Tests for core/opts.c: defaults, the list/user/plugin helpers, release,
 * and whole-set validation. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "opts.h"
#include "../suites.h"

#define SEC OPTS_NS_PER_SEC

static char err[256];

static void test_defaults(void)
{
	struct opts o;

	CU_ASSERT_EQUAL_FATAL(opts_init(&o), 0);
	CU_ASSERT_STRING_EQUAL(o.host, "0.0.0.0");
	CU_ASSERT_EQUAL(o.port, 4222);
	CU_ASSERT_PTR_NULL(o.server_name);
	CU_ASSERT_PTR_NULL(o.config_file);
	CU_ASSERT_FALSE(o.check_config);
	CU_ASSERT_FALSE(o.debug || o.trace || o.trace_verbose || o.syslog);
	CU_ASSERT(o.logtime);
	CU_ASSERT_PTR_NULL(o.log_file);
	CU_ASSERT_EQUAL(o.log_size_limit, 0);
	CU_ASSERT_PTR_NULL(o.pid_file);
	CU_ASSERT_PTR_NULL(o.plugin_dir);
	CU_ASSERT_EQUAL(o.io_threads, 0);
	CU_ASSERT_EQUAL(o.max_control_line, 4096);
	CU_ASSERT_EQUAL(o.max_payload, 1024 * 1024);
	CU_ASSERT_EQUAL(o.max_pending, 64LL * 1024 * 1024);
	CU_ASSERT_EQUAL(o.max_connections, 65536);
	CU_ASSERT_EQUAL(o.max_subscriptions, 0);
	CU_ASSERT_EQUAL(o.max_sub_tokens, 0);
	CU_ASSERT_EQUAL(o.ping_interval, 120 * SEC);
	CU_ASSERT_EQUAL(o.ping_max, 2);
	CU_ASSERT_EQUAL(o.write_deadline, 10 * SEC);
	CU_ASSERT_EQUAL(o.auth_timeout, 2 * SEC);
	CU_ASSERT_EQUAL(o.tcp_keepalive, 15 * SEC);
	CU_ASSERT_FALSE(o.no_header_support);
	CU_ASSERT_EQUAL(o.lame_duck_duration, 120 * SEC);
	CU_ASSERT_EQUAL(o.lame_duck_grace_period, 10 * SEC);
	CU_ASSERT_EQUAL(o.http_port, 0);
	CU_ASSERT_EQUAL(o.https_port, 0);
	CU_ASSERT_PTR_NULL(o.user);
	CU_ASSERT_PTR_NULL(o.no_auth_user);
	CU_ASSERT_EQUAL(o.nusers, 0);
	CU_ASSERT_PTR_NULL(o.default_permissions);
	CU_ASSERT_EQUAL(o.nplugins, 0);
	CU_ASSERT_EQUAL(o.auth_chain.n, 0);
	CU_ASSERT_FALSE(o.auth_chain.set);
	CU_ASSERT_EQUAL_FATAL(o.client_transport.n, 1);
	CU_ASSERT_STRING_EQUAL(o.client_transport.v[0], "tcp");
	CU_ASSERT_PTR_NULL(o.conf);
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);
	opts_fini(&o);
}

static void test_fini(void)
{
	struct opts o;
	int i;

	/* Zeroed, and twice in a row: both do nothing. */
	memset(&o, 0, sizeof(o));
	opts_fini(&o);
	CU_ASSERT_EQUAL_FATAL(opts_init(&o), 0);
	opts_fini(&o);
	CU_ASSERT_PTR_NULL(o.host);
	opts_fini(&o);
	CU_ASSERT_PTR_NULL(o.host);

	/* Everything that owns memory, then released (ASan checks leaks). */
	CU_ASSERT_EQUAL_FATAL(opts_init(&o), 0);
	CU_ASSERT_EQUAL(opts_set_str(&o.password, "secret"), 0);
	CU_ASSERT_EQUAL(opts_set_str(&o.token, "tok"), 0);
	CU_ASSERT_EQUAL(opts_set_str(&o.log_file, "x.log"), 0);
	for (i = 0; i < 3; i++) {
		struct opts_user *u = opts_user_add(&o);

		CU_ASSERT_PTR_NOT_NULL_FATAL(u);
		CU_ASSERT_EQUAL(opts_set_str(&u->user, i == 0 ? "a" : "b"), 0);
		CU_ASSERT_EQUAL(opts_set_str(&u->password, "pw"), 0);
		u->perms = opts_perms_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(u->perms);
		CU_ASSERT_EQUAL(opts_strlist_add(&u->perms->sub_deny, "x"), 0);
		CU_ASSERT_EQUAL(opts_strlist_add(&u->conn_types, "MQTT"), 0);
	}
	o.default_permissions = opts_perms_new();
	CU_ASSERT_PTR_NOT_NULL(opts_plugin_add(&o));
	CU_ASSERT_EQUAL(opts_set_str(&o.plugins[0].load, "p"), 0);
	CU_ASSERT_EQUAL(opts_strlist_add(&o.auth_chain, "builtin"), 0);
	CU_ASSERT_EQUAL(opts_set_str(&o.auth_chain_at.file, "f"), 0);
	opts_fini(&o);
}

static int conf_freed;

static void conf_free(void *conf)
{
	CU_ASSERT_PTR_EQUAL(conf, &conf_freed);
	conf_freed++;
}

static void test_conf_release(void)
{
	struct opts o;

	CU_ASSERT_EQUAL_FATAL(opts_init(&o), 0);
	o.conf = &conf_freed;
	o.conf_free = conf_free;
	opts_fini(&o);
	CU_ASSERT_EQUAL(conf_freed, 1);
	opts_fini(&o);
	CU_ASSERT_EQUAL(conf_freed, 1);
}

static void test_helpers(void)
{
	struct opts_strlist l = { NULL, 0, false };
	struct opts_perms *p;
	const struct opts_user *found;
	struct opts o;
	char *s = NULL;

	CU_ASSERT_EQUAL(opts_set_str(&s, "a"), 0);
	CU_ASSERT_STRING_EQUAL(s, "a");
	CU_ASSERT_EQUAL(opts_set_str(&s, "bb"), 0);
	CU_ASSERT_STRING_EQUAL(s, "bb");
	CU_ASSERT_EQUAL(opts_set_str(&s, NULL), 0);
	CU_ASSERT_PTR_NULL(s);

	CU_ASSERT_EQUAL(opts_strlist_add(&l, "x"), 0);
	CU_ASSERT_EQUAL(opts_strlist_add(&l, "y"), 0);
	CU_ASSERT(l.set);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.v[1], "y");
	opts_strlist_clear(&l);
	CU_ASSERT_FALSE(l.set);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_PTR_NULL(l.v);

	p = opts_perms_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_FALSE(p->has_resp);
	CU_ASSERT_EQUAL(p->resp_max, 1);
	CU_ASSERT_EQUAL(p->resp_expires, 120 * SEC);
	CU_ASSERT_FALSE(p->pub_allow.set || p->sub_deny.set);
	opts_perms_free(p);
	opts_perms_free(NULL);

	CU_ASSERT_EQUAL_FATAL(opts_init(&o), 0);
	CU_ASSERT_PTR_NULL(opts_user_find(&o, "a"));
	CU_ASSERT_EQUAL(opts_set_str(&opts_user_add(&o)->user, "a"), 0);
	CU_ASSERT_EQUAL(opts_set_str(&opts_user_add(&o)->user, "b"), 0);
	found = opts_user_find(&o, "b");
	CU_ASSERT_PTR_EQUAL(found, &o.users[1]);
	CU_ASSERT_PTR_NULL(opts_user_find(&o, "c"));
	CU_ASSERT_PTR_NOT_NULL(opts_plugin_add(&o));
	CU_ASSERT_PTR_NOT_NULL(opts_plugin_add(&o));
	CU_ASSERT_EQUAL(o.nplugins, 2);
	CU_ASSERT_PTR_NULL(o.plugins[1].load);
	opts_fini(&o);
}

/* Sets one field on fresh defaults and expects validation to fail with
 * msg. */
#define INVALID(stmt, msg)                                                  \
	do {                                                                \
		struct opts o_;                                             \
		int rc_;                                                    \
		CU_ASSERT_EQUAL_FATAL(opts_init(&o_), 0);                   \
		{                                                           \
			struct opts *o = &o_;                               \
			stmt;                                               \
		}                                                           \
		rc_ = opts_validate(&o_, err, sizeof(err));                 \
		CU_ASSERT_EQUAL(rc_, NATSD_EINVAL);                         \
		CU_ASSERT_STRING_EQUAL(err, (msg));                         \
		if (rc_ != NATSD_EINVAL || strcmp(err, (msg)) != 0)         \
			fprintf(stderr, "\n  line %d: %d \"%s\"\n", __LINE__, \
				rc_, err);                                  \
		opts_fini(&o_);                                             \
	} while (0)

static void test_validate(void)
{
	INVALID(o->port = 70000, "port 70000 is out of range (-1..65535)");
	INVALID(o->port = -2, "port -2 is out of range (-1..65535)");
	INVALID(o->http_port = 65536,
		"http_port 65536 is out of range (-1..65535)");
	INVALID(o->https_port = -5,
		"https_port -5 is out of range (-1..65535)");
	INVALID(opts_set_str(&o->host, ""), "host must not be empty");
	INVALID(o->max_payload = 100LL << 20,
		"max_payload (104857600) cannot be higher than max_pending "
		"(67108864)");
	INVALID(o->max_payload = 0, "max_payload must be positive");
	INVALID((o->max_payload = 3LL << 30, o->max_pending = 4LL << 30),
		"max_payload value is too big");
	INVALID(o->max_pending = -1, "max_pending must be positive");
	INVALID(o->max_control_line = 0, "max_control_line must be positive");
	INVALID(o->max_subscriptions = -1,
		"max_subscriptions must not be negative");
	INVALID(o->max_sub_tokens = 256, "max_sub_tokens must be 0..255");
	INVALID(o->io_threads = -1, "io_threads must be 0..1024");
	INVALID(o->log_size_limit = -1, "log_size_limit must not be negative");
	INVALID(o->max_traced_msg_len = -1,
		"max_traced_msg_len must not be negative");
	INVALID(o->ping_interval = 0, "ping_interval must be positive");
	INVALID(o->ping_max = 0, "ping_max must be positive");
	INVALID(o->write_deadline = -1, "write_deadline must be positive");
	INVALID(o->auth_timeout = 0, "authorization timeout must be positive");
	INVALID(o->tcp_keepalive = -1, "tcp_keepalive must not be negative");
	INVALID(o->lame_duck_duration = 0,
		"lame_duck_duration must be positive");
	INVALID(o->lame_duck_grace_period = -1,
		"invalid lame_duck_grace_period, needs to be positive");
	INVALID(opts_set_str(&o->no_auth_user, "x"),
		"no_auth_user: \"x\" present, but users are not defined");
	INVALID((opts_set_str(&opts_user_add(o)->user, "a"),
		 opts_set_str(&o->no_auth_user, "x")),
		"no_auth_user: \"x\" not present as user in authorization "
		"block");
	INVALID(opts_strlist_add(&o->auth_chain, ""),
		"auth_chain: empty authenticator name");
	INVALID(opts_strlist_clear(&o->client_transport),
		"client_transport must name at least one transport");
	INVALID(opts_strlist_add(&o->client_transport, ""),
		"client_transport: empty transport name");
	INVALID(opts_plugin_add(o), "plugins: empty load name");
}

/* Edges that are valid. */
static void test_validate_edges(void)
{
	struct opts o;

	CU_ASSERT_EQUAL_FATAL(opts_init(&o), 0);
	o.port = -1;
	o.http_port = -1;
	o.max_payload = o.max_pending;
	o.max_connections = -1;
	o.tcp_keepalive = 0;
	o.io_threads = 1024;
	o.max_sub_tokens = 255;
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);
	o.port = 65535;
	CU_ASSERT_EQUAL(opts_set_str(&opts_user_add(&o)->user, "x"), 0);
	CU_ASSERT_EQUAL(opts_set_str(&o.no_auth_user, "x"), 0);
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);
	/* A zero-sized buffer is left alone. */
	o.port = 70000;
	CU_ASSERT_EQUAL(opts_validate(&o, NULL, 0), NATSD_EINVAL);
	opts_fini(&o);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "defaults", test_defaults },
		{ "fini", test_fini },
		{ "conf release", test_conf_release },
		{ "helpers", test_helpers },
		{ "validate", test_validate },
		{ "validate edges", test_validate_edges },
	};
	static const struct suite suite = {
		"opts", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
