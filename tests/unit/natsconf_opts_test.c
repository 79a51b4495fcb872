/* Tests for the mapping of nats-server's config format onto struct opts:
 * every setting, nats-server's value types, every error with its line,
 * the per-key decisions on what natsd does not support yet, the section
 * getters plugins use, and how conffile_load() tells the formats apart. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "conffile.h"
#include "natsconf.h"
#include "natsconf_opts.h"
#include "opts.h"
#include "../suites.h"
#include "testfile.h"

#define NS OPTS_NS_PER_SEC

/* A valid user nkey (PROTOCOL.md section 2.2). */
#define NKEY_U "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"

static struct opts o;
static char err[1024];
static char dir[] = "/tmp/natsconf_opts_test.XXXXXX";

/* Parses text as "t.conf" and maps it onto fresh options in o. */
static int map(const char *text)
{
	struct natsconf_value *tree;
	int rc;

	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	err[0] = '\0';
	rc = natsconf_parse_string(text, "t.conf", &tree, err, sizeof(err));
	if (rc != 0)
		return rc;
	return natsconf_opts_load(tree, "t.conf", &o, err, sizeof(err));
}

static void map_ok(const char *text)
{
	int rc = map(text);

	if (rc != 0)
		fprintf(stderr, "\nunexpected: %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
}

/* Expects NATSD_EINVAL and err == "t.conf:" msg. */
static void map_fails(const char *text, const char *msg)
{
	char want[1024];
	int rc = map(text);

	snprintf(want, sizeof(want), "t.conf:%s", msg);
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "\n  text: %s\n  got:  %s\n  want: %s\n", text,
			err, want);
	CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_server_keys(void)
{
	map_ok("listen: 127.0.0.1:4333\nserver_name: n1\n"
	       "client_advertise: \"x:1\"\nports_file_dir: /tmp\n");
	CU_ASSERT_STRING_EQUAL(o.host, "127.0.0.1");
	CU_ASSERT_EQUAL(o.port, 4333);
	CU_ASSERT_STRING_EQUAL(o.server_name, "n1");
	CU_ASSERT_STRING_EQUAL(o.client_advertise, "x:1");
	CU_ASSERT_STRING_EQUAL(o.ports_file_dir, "/tmp");
	CU_ASSERT_STRING_EQUAL(o.config_file, "t.conf");
	map_ok("listen: \"127.0.0.1:-1\"\n");
	CU_ASSERT_EQUAL(o.port, -1);
	map_ok("listen: \"[::1]:4000\"\n");
	CU_ASSERT_STRING_EQUAL(o.host, "::1");
	map_ok("listen: \":4000\"\n");
	CU_ASSERT_STRING_EQUAL(o.host, "0.0.0.0");
	map_ok("listen: 5000\n");
	CU_ASSERT_EQUAL(o.port, 5000);
	map_ok("host: 10.0.0.1\nport: -1\n");
	CU_ASSERT_STRING_EQUAL(o.host, "10.0.0.1");
	CU_ASSERT_EQUAL(o.port, -1);
	map_ok("net: 10.0.0.2\nport: 0\n");
	CU_ASSERT_STRING_EQUAL(o.host, "10.0.0.2");
	CU_ASSERT_EQUAL(o.port, OPTS_DEFAULT_PORT);
	map_ok("http: 8222\nhttps_port: -1\nhttp_base_path: /m\n");
	CU_ASSERT_EQUAL(o.http_port, 8222);
	CU_ASSERT_EQUAL(o.https_port, -1);
	map_ok("http: \"127.0.0.1:8223\"\n");
	CU_ASSERT_STRING_EQUAL(o.http_host, "127.0.0.1");
	CU_ASSERT_EQUAL(o.http_port, 8223);
	map_ok("monitor_port: 8224\n");
	CU_ASSERT_EQUAL(o.http_port, 8224);
	map_ok("https: \"127.0.0.1:8225\"\n");
	CU_ASSERT_EQUAL(o.https_port, 8225);
}

static void test_logging_and_natsd_keys(void)
{
	map_ok("debug: true\ntrace: yes\ntrace_verbose: on\nlogtime: false\n"
	       "logfile: /tmp/x.log\nlogfile_size_limit: 1MB\n"
	       "max_traced_msg_len: 10\npid_file: /tmp/x.pid\n"
	       "syslog: false\nremote_syslog: \"udp://h:514\"\n");
	CU_ASSERT(o.debug && o.trace && o.trace_verbose && !o.logtime);
	CU_ASSERT_STRING_EQUAL(o.log_file, "/tmp/x.log");
	CU_ASSERT_EQUAL(o.log_size_limit, 1 << 20);
	CU_ASSERT_EQUAL(o.max_traced_msg_len, 10);
	CU_ASSERT_STRING_EQUAL(o.pid_file, "/tmp/x.pid");
	CU_ASSERT_STRING_EQUAL(o.remote_syslog, "udp://h:514");
	map_ok("log_file: a\nlog_size_limit: 2KB\npidfile: p\n");
	CU_ASSERT_STRING_EQUAL(o.log_file, "a");
	CU_ASSERT_EQUAL(o.log_size_limit, 2048);
	CU_ASSERT_STRING_EQUAL(o.pid_file, "p");
	map_ok("plugin_dir: /p\nio_threads: 4\ntcp_keepalive: \"30s\"\n"
	       "auth_chain: [builtin, x]\nclient_transport: \"tcp, ws\"\n");
	CU_ASSERT_STRING_EQUAL(o.plugin_dir, "/p");
	CU_ASSERT_EQUAL(o.io_threads, 4);
	CU_ASSERT_EQUAL(o.tcp_keepalive, 30 * NS);
	CU_ASSERT_EQUAL(o.auth_chain.n, 2);
	CU_ASSERT_EQUAL(o.auth_chain_at.line, 4);
	CU_ASSERT_EQUAL(o.client_transport.n, 2);
	CU_ASSERT_STRING_EQUAL(o.client_transport.v[1], "ws");
	map_ok("tcp_keepalive: false\nclient_transport: [tcp]\n");
	CU_ASSERT_EQUAL(o.tcp_keepalive, 0);
	CU_ASSERT_EQUAL(o.client_transport.n, 1);
	map_ok("tcp_keepalive: true\n");
	CU_ASSERT_EQUAL(o.tcp_keepalive, OPTS_DEFAULT_TCP_KEEPALIVE);
}

static void test_limits_and_timers(void)
{
	map_ok("max_payload: 2MB\nmax_pending: 1GB\nmax_control_line: 1KB\n"
	       "max_connections: 64K\nmax_subscriptions: 10\n"
	       "max_sub_tokens: 5\nno_header_support: true\n");
	CU_ASSERT_EQUAL(o.max_payload, 2 << 20);
	CU_ASSERT_EQUAL(o.max_pending, 1LL << 30);
	CU_ASSERT_EQUAL(o.max_control_line, 1024);
	CU_ASSERT_EQUAL(o.max_connections, 64000);
	CU_ASSERT_EQUAL(o.max_subscriptions, 10);
	CU_ASSERT_EQUAL(o.max_sub_tokens, 5);
	CU_ASSERT(o.no_header_support);
	map_ok("max_conn: 7\nmax_subs: 8\nmax_subscription_tokens: 9\n"
	       "max_payload: 0\n");
	CU_ASSERT_EQUAL(o.max_connections, 7);
	CU_ASSERT_EQUAL(o.max_subscriptions, 8);
	CU_ASSERT_EQUAL(o.max_sub_tokens, 9);
	CU_ASSERT_EQUAL(o.max_payload, OPTS_DEFAULT_MAX_PAYLOAD);
	/* Durations: strings, or integers of seconds. A bare 2m is the
	 * integer 2000000 (a size suffix), as in nats-server. */
	map_ok("ping_interval: \"2m\"\nping_max: 5\nwrite_deadline: 3\n"
	       "lame_duck_duration: \"1m\"\n"
	       "lame_duck_grace_period: \"2s\"\n");
	CU_ASSERT_EQUAL(o.ping_interval, 120 * NS);
	CU_ASSERT_EQUAL(o.ping_max, 5);
	CU_ASSERT_EQUAL(o.write_deadline, 3 * NS);
	CU_ASSERT_EQUAL(o.lame_duck_duration, 60 * NS);
	CU_ASSERT_EQUAL(o.lame_duck_grace_period, 2 * NS);
	map_ok("ping_interval: 2m\n");
	CU_ASSERT_EQUAL(o.ping_interval, 2000000 * NS);
	map_ok("lame_duck_duration: \"0s\"\nping_interval: 0\n");
	CU_ASSERT_EQUAL(o.lame_duck_duration, OPTS_DEFAULT_LAME_DUCK_DURATION);
	CU_ASSERT_EQUAL(o.ping_interval, OPTS_DEFAULT_PING_INTERVAL);
}

static void test_authorization(void)
{
	const struct opts_user *u;

	map_ok("authorization { user: a, password: b, timeout: 0.5 }\n");
	CU_ASSERT_STRING_EQUAL(o.user, "a");
	CU_ASSERT_STRING_EQUAL(o.password, "b");
	CU_ASSERT_EQUAL(o.auth_timeout, NS / 2);
	map_ok("authorization { username: a, pass: b, timeout: \"3s\" }\n");
	CU_ASSERT_STRING_EQUAL(o.user, "a");
	CU_ASSERT_EQUAL(o.auth_timeout, 3 * NS);
	map_ok("authorization { token: t, timeout: 0 }\n");
	CU_ASSERT_STRING_EQUAL(o.token, "t");
	CU_ASSERT_EQUAL(o.auth_timeout, OPTS_DEFAULT_AUTH_TIMEOUT);
	map_ok("P = { publish: { allow: [\"a.>\"], deny: b }, "
	       "subscribe: [\"c\", \"d q\"], allow_responses: true }\n"
	       "authorization {\n"
	       "  default_permissions: { publish: x }\n"
	       "  users: [\n"
	       "    { user: u1, password: p1, permissions: $P }\n"
	       "    { user: u2, password: p2, account: A,\n"
	       "      allowed_connection_types: [STANDARD, websocket],\n"
	       "      permissions: { allow_responses: "
	       "{ max: 3, expires: \"5s\" } } }\n"
	       "    { user: u3, password: p3 }\n"
	       "  ]\n}\nno_auth_user: u3\n");
	CU_ASSERT_EQUAL(o.nusers, 3);
	CU_ASSERT_STRING_EQUAL(o.no_auth_user, "u3");
	CU_ASSERT_FATAL(o.default_permissions != NULL);
	CU_ASSERT_STRING_EQUAL(o.default_permissions->pub_allow.v[0], "x");
	u = opts_user_find(&o, "u1");
	CU_ASSERT_FATAL(u != NULL && u->perms != NULL);
	CU_ASSERT_EQUAL(u->line, 5);
	CU_ASSERT_STRING_EQUAL(u->file, "t.conf");
	CU_ASSERT_STRING_EQUAL(u->perms->pub_allow.v[0], "a.>");
	CU_ASSERT_STRING_EQUAL(u->perms->pub_deny.v[0], "b");
	CU_ASSERT_EQUAL(u->perms->sub_allow.n, 2);
	CU_ASSERT(u->perms->has_resp);
	CU_ASSERT_EQUAL(u->perms->resp_max, 1);
	u = opts_user_find(&o, "u2");
	CU_ASSERT_FATAL(u != NULL && u->perms != NULL);
	CU_ASSERT_STRING_EQUAL(u->account, "A");
	CU_ASSERT_EQUAL(u->conn_types.n, 2);
	CU_ASSERT_EQUAL(u->perms->resp_max, 3);
	CU_ASSERT_EQUAL(u->perms->resp_expires, 5 * NS);
	u = opts_user_find(&o, "u3");
	CU_ASSERT(u != NULL && u->perms == NULL);
	/* Empty lists allow nothing; pub/sub aliases. */
	map_ok("authorization { permissions: { pub: [], sub: { deny: y } } }");
	CU_ASSERT(o.default_permissions->pub_allow.set);
	CU_ASSERT_EQUAL(o.default_permissions->pub_allow.n, 0);
	CU_ASSERT_STRING_EQUAL(o.default_permissions->sub_deny.v[0], "y");
}

/* Every error, with its line. */
static void test_errors(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "port: 1\nfoo: 1\n", "2: unknown field \"foo\"" },
		{ "port: \"x\"\n", "1: port: expected an integer, not a "
				   "string" },
		{ "\n\nport: 70000\n", "3: port: 70000 is out of range "
				       "(-1..65535)" },
		{ "server_name: 1\n", "1: server_name: expected a string, not "
				      "an integer" },
		{ "server_name: \"a b\"\n", "1: server_name cannot contain "
					    "spaces" },
		{ "host: \"\"\n", "1: host must not be empty" },
		{ "debug: 1\n", "1: debug: expected a boolean (true or false), "
				"not an integer" },
		{ "listen: [1]\n", "1: listen: expected \"host:port\" or a "
				   "port, not an array" },
		{ "listen: localhost\n", "1: listen: could not parse address "
					 "string \"localhost\"" },
		{ "listen: \"::1:4222\"\n", "1: listen: could not parse "
					    "address string \"::1:4222\" (IPv6 "
					    "addresses go in brackets)" },
		{ "listen: \"h:x\"\n", "1: listen: could not parse port "
				       "\"x\"" },
		{ "http: \"h:70000\"\n", "1: http: could not parse port "
					 "\"70000\"" },
		{ "max_payload: \"1MB\"\n", "1: max_payload: expected a size "
					    "(an integer like 1048576 or 1MB), "
					    "not a string" },
		{ "max_payload: -1\n", "1: max_payload must not be negative" },
		{ "max_payload: 4GB\n", "1: max_payload value is too big" },
		{ "ping_interval: 1.5\n", "1: ping_interval: expected a "
					  "duration (a string like \"2m\", or "
					  "seconds), not a float" },
		{ "ping_interval: \"2x\"\n", "1: ping_interval: invalid "
					     "duration \"2x\" (expected e.g. "
					     "\"2m\", \"10s\", \"1h30m\", "
					     "\"500ms\")" },
		{ "write_deadline: 9223372036854775807\n",
		  "1: write_deadline: duration is out of range" },
		{ "ping_interval: \"-1s\"\n", "1: ping_interval must not be "
					      "negative" },
		{ "lame_duck_duration: 60\n", "1: lame_duck_duration: expected "
					      "a duration string like \"30s\", "
					      "not an integer" },
		{ "lame_duck_duration: \"5s\"\n", "1: invalid "
						  "lame_duck_duration, minimum "
						  "is 30 seconds" },
		{ "lame_duck_grace_period: \"-5s\"\n",
		  "1: lame_duck_grace_period must not be negative" },
		{ "tcp_keepalive: \"-1s\"\n", "1: tcp_keepalive must not be "
					      "negative" },
		{ "io_threads: 5000\n", "1: io_threads: 5000 is out of range "
					"(0..1024)" },
		{ "authorization: 1\n", "1: authorization: expected a map, not "
					"an integer" },
		{ "authorization {\n  colour: red\n}\n",
		  "2: unknown field \"colour\"" },
		{ "authorization { timeout: \"-1s\" }\n",
		  "1: timeout must not be negative" },
		{ "authorization { timeout: 1e300 }\n",
		  "1: timeout: invalid duration \"1e300\" (expected e.g. "
		  "\"2m\", \"10s\", \"1h30m\", \"500ms\")" },
		{ "authorization { timeout: 99999999999.0 }\n",
		  "1: timeout: 1e+11 is out of range" },
		{ "authorization {\n user: a\n password: b\n users: [ { user: "
		  "c } ]\n}\n",
		  "1: can not have a single user/pass and a users array" },
		{ "authorization { token: t\n users: [ { user: c } ] }\n",
		  "1: can not have a token and a users array" },
		{ "authorization { user: a, token: t }\n",
		  "1: cannot have a user/pass and token" },
		{ "authorization { users: { user: a } }\n",
		  "1: users: expected an array of maps, not a map" },
		{ "authorization { users: [ a ] }\n",
		  "1: users entry: expected a map, not a string" },
		{ "authorization { users: [\n { password: x } ] }\n",
		  "2: user entry requires a user" },
		{ "authorization { users: [\n { user: a }\n { user: a } ] }\n",
		  "3: duplicate user \"a\" detected" },
		{ "authorization { users: [\n { user: a, pass: 1 } ] }\n",
		  "2: pass: expected a string, not an integer" },
		{ "authorization { users: [\n { user: a, shoe: 1 } ] }\n",
		  "2: unknown field \"shoe\"" },
		{ "authorization { users: [\n { nkey: UABC } ] }\n",
		  "2: Not a valid public nkey for a user" },
		{ "authorization { users: [\n { nkey: " NKEY_U
		  ", user: x } ] }\n",
		  "2: Nkey users do not take usernames or passwords" },
		{ "accounts {\n A { exports [ { service: x, response_type: "
		  "bogus "
		  "} ] } }\n",
		  "2: Unknown response type: \"bogus\"" },
		{ "accounts { A {\n imports [ { stream: { account: B } } ] } "
		  "}\n",
		  "2: import needs an account and a subject" },
		{ "accounts { A { limits {\n max_bytes: 1 } } }\n",
		  "2: unknown field \"max_bytes\"" },
		{ "authorization { users: [ { user: a,\n clients: [PIGEON] } ] "
		  "}\n",
		  "2: invalid connection type \"PIGEON\" (expected STANDARD, "
		  "WEBSOCKET, LEAFNODE, LEAFNODE_WS, MQTT or MQTT_WS)" },
		{ "authorization { users: [ { user: a,\n clients: 1 } ] }\n",
		  "2: clients: expected an array of connection types, not an "
		  "integer" },
		{ "authorization { permissions: [] }\n",
		  "1: permissions: expected a map, not an array" },
		{ "authorization { permissions: {\n publish: \"a..b\" } }\n",
		  "2: subject \"a..b\" is not a valid subject" },
		{ "authorization { permissions: {\n subscribe: \"a q r\" } }\n",
		  "2: subject \"a q r\" is not a valid subject" },
		{ "authorization { permissions: {\n publish: [1] } }\n",
		  "2: publish: expected a subject or an array of subjects, not "
		  "an array" },
		{ "authorization { permissions: {\n publish: { maybe: a } } "
		  "}\n",
		  "2: unknown field \"maybe\" parsing subject permissions, "
		  "only "
		  "'allow' or 'deny' are permitted" },
		{ "authorization { permissions: {\n hats: a } }\n",
		  "2: unknown field \"hats\"" },
		{ "authorization { permissions: {\n allow_responses: 1 } }\n",
		  "2: allow_responses: expected a boolean or a map, not an "
		  "integer" },
		{ "authorization { permissions: { allow_responses: {\n ttl: x "
		  "} } }\n",
		  "2: ttl: invalid duration \"x\" (expected e.g. \"2m\", "
		  "\"10s\", \"1h30m\", \"500ms\")" },
		{ "authorization { permissions: { allow_responses: {\n max: "
		  "\"x\" } } }\n",
		  "2: max: expected an integer, not a string" },
		{ "authorization { permissions: { allow_responses: {\n when: 1 "
		  "} } }\n",
		  "2: unknown field \"when\"" },
		{ "plugins: x\n", "1: plugins: expected an array [ { load: ... "
				  "}, ... ], not a string" },
		{ "plugins: [\n 1 ]\n", "2: plugins entry: expected { load: "
					"..., settings: { ... } } or a plugin "
					"name, not an integer" },
		{ "plugins: [\n { settings: {} } ]\n",
		  "2: plugin entry requires load: \"name\"" },
		{ "plugins: [ { load: x,\n settings: 1 } ]\n",
		  "2: settings: expected a map, not an integer" },
		{ "plugins: [ { load: x,\n extra: 1 } ]\n",
		  "2: unknown field \"extra\"" },
		{ "plugins: [ { load: 1 } ]\n",
		  "1: load: expected a string, not an integer" },
		{ "auth_chain: []\n", "1: auth_chain must name at least one "
				      "authenticator" },
		{ "auth_chain: 1\n", "1: auth_chain: expected a string or an "
				     "array of strings, not an integer" },
		{ "client_transport: \" , \"\n", "1: client_transport must "
						 "name at least one "
						 "transport" },
		{ "\nocsp { mode: always }\n",
		  "2: \"ocsp\" is not supported by natsd yet; refusing to "
		  "start "
		  "without it (clients would connect without TLS)" },
		{ "tls: true\n",
		  "1: tls: expected a map { cert_file: ..., ... }, "
		  "not a boolean" },
		{ "accounts { A: { jetstream: enabled } }\n",
		  "1: \"jetstream\" in an account is not supported yet" },
		{ "resolver_tls { }\n",
		  "1: \"resolver_tls\" is not supported by natsd yet; refusing "
		  "to start without it (clients would not be authenticated by "
		  "it)" },
		{ "mappings { a: b }\n",
		  "1: \"mappings\" is not supported by natsd yet; refusing to "
		  "start without it (messages would go to other subjects)" },
	};
	size_t i;

	for (i = 0; i < SUITE_COUNT(cases); i++)
		map_fails(cases[i].text, cases[i].msg);
}

/* accounts {} and nkey users map onto the same options as natsd's own
 * format (conffile_test checks their meaning). */
static void test_accounts_and_nkeys(void)
{
	const struct opts_account *a, *b;
	const struct natsd_cfg *auth, *u;
	const char *key;
	size_t n;

	map_ok("accounts {\n"
	       "  A { users: [ {user: a, password: p} ]\n"
	       "      exports: [ {stream: \"foo.>\"},\n"
	       "                 {service: req, accounts: [B],\n"
	       "                  response_type: stream, response_threshold: "
	       "\"5s\"} ]\n"
	       "      limits { max_connections: 2, max_subs: 3, max_payload: 1KB "
	       "} }\n"
	       "  B { imports: [ {stream: {account: A, subject: \"foo.x\"}, "
	       "prefix: a},\n"
	       "                 {service: {account: A, subject: req}, to: ask} "
	       "] }\n"
	       "}\n"
	       "system_account: A\n"
	       "authorization { users: [ {nkey: " NKEY_U ", account: B} ] }\n");
	CU_ASSERT_FATAL(o.naccounts == 2);
	a = opts_account_find(&o, "A");
	b = opts_account_find(&o, "B");
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT_EQUAL(a->nexports, 2);
	CU_ASSERT_EQUAL(a->exports[1].resp_type, OPTS_RESP_STREAM);
	CU_ASSERT_EQUAL(a->exports[1].resp_threshold, 5 * OPTS_NS_PER_SEC);
	CU_ASSERT_EQUAL(a->max_connections, 2);
	CU_ASSERT_EQUAL(a->max_subscriptions, 3);
	CU_ASSERT_EQUAL(a->max_payload, 1024);
	CU_ASSERT_EQUAL(b->nimports, 2);
	CU_ASSERT_STRING_EQUAL(b->imports[0].prefix, "a");
	CU_ASSERT_STRING_EQUAL(b->imports[1].to, "ask");
	CU_ASSERT_EQUAL(b->imports[1].line, 8);
	CU_ASSERT_STRING_EQUAL(o.system_account, "A");
	CU_ASSERT_FATAL(o.nusers == 2);
	CU_ASSERT_STRING_EQUAL(o.users[0].account, "A");
	CU_ASSERT_STRING_EQUAL(o.users[1].nkey, NKEY_U);
	CU_ASSERT_EQUAL(o.nnkey_users, 1);
	/* auth_nkey gets the whole file and reads the users through the
	 * section getters. */
	CU_ASSERT_PTR_EQUAL(o.nkey_settings, conffile_root(&o));
	CU_ASSERT_EQUAL_FATAL(
		conffile_cfg_section(o.nkey_settings, "authorization", &auth),
		0);
	CU_ASSERT_EQUAL(conffile_cfg_sections_len(auth, "users", &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(conffile_cfg_sections_at(auth, "users", 0, &u), 0);
	CU_ASSERT_EQUAL(conffile_cfg_string(u, "nkey", &key), 0);
	CU_ASSERT_STRING_EQUAL(key, NKEY_U);
	CU_ASSERT_EQUAL(conffile_cfg_sections_at(auth, "users", 1, &u),
			NATSD_ENOENT);
	{
		char verr[512] = "";

		CU_ASSERT_EQUAL(opts_validate(&o, verr, sizeof(verr)), 0);
		CU_ASSERT_STRING_EQUAL(verr, "");
	}

	map_ok("accounts [ A, B ]\n");
	CU_ASSERT_EQUAL(o.naccounts, 2);
}

/* Operator mode: auth_jwt gets the whole root, and reads maps such as
 * resolver_preload by their keys. */
static void test_operator_mode(void)
{
	const struct natsd_cfg *pre;
	const char *name, *v;

	map_ok("operator: \"/x/op.jwt\"\nresolver: MEMORY\n"
	       "resolver_preload {\n  ACC1: \"jwt1\"\n  ACC2: \"jwt2\"\n}\n");
	CU_ASSERT_FATAL(o.jwt_settings != NULL);
	CU_ASSERT_EQUAL(conffile_cfg_string(o.jwt_settings, "resolver", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "MEMORY");
	CU_ASSERT_EQUAL_FATAL(
		conffile_cfg_section(o.jwt_settings, "resolver_preload", &pre),
		0);
	CU_ASSERT_EQUAL(conffile_cfg_key_at(pre, 1, &name), 0);
	CU_ASSERT_STRING_EQUAL(name, "ACC2");
	CU_ASSERT_EQUAL(conffile_cfg_key_at(pre, 2, &name), NATSD_ENOENT);
	map_ok("port: 4222\n");
	CU_ASSERT_PTR_NULL(o.jwt_settings);
}

/* tls {} is the tls plugin's section; the top-level allow_non_tls is
 * carried into it, where the plugin reads it. */
static void test_tls(void)
{
	const char *file;
	bool b = false;
	int line;

	map_ok("port: 4222\ntls {\n  cert_file: \"s.pem\"\n  verify: true\n}\n"
	       "allow_non_tls: true\nauthorization { timeout: 3 }\n");
	CU_ASSERT_FATAL(o.tls != NULL);
	CU_ASSERT_EQUAL(conffile_cfg_bool(o.tls, "verify", &b), 0);
	CU_ASSERT_TRUE(b);
	b = false;
	CU_ASSERT_EQUAL(conffile_cfg_bool(o.tls, "allow_non_tls", &b), 0);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(o.tls_at.line, 2);
	CU_ASSERT_EQUAL(conffile_cfg_where(o.tls, "cert_file", &file, &line),
			0);
	CU_ASSERT_EQUAL(line, 3);
	CU_ASSERT_TRUE(o.auth_timeout_set);
	map_ok("tls { cert_file: x }\n");
	CU_ASSERT_EQUAL(conffile_cfg_bool(o.tls, "allow_non_tls", &b),
			NATSD_ENOENT);
	CU_ASSERT_FALSE(o.auth_timeout_set);

	/* wss://: the websocket block's tls block is its tls layer's
	 * section, which serves HTTP; the client port has none. */
	map_ok("websocket {\n  port: 8443\n  TLS {\n    cert_file: w.pem\n"
	       "    key_file: w.key\n    verify_and_map: true\n  }\n}\n");
	CU_ASSERT(o.tls == NULL);
	CU_ASSERT_FATAL(o.websocket.tls != NULL);
	CU_ASSERT(o.websocket.has_tls);
	b = false;
	CU_ASSERT_EQUAL(
		conffile_cfg_bool(o.websocket.tls, "verify_and_map", &b), 0);
	CU_ASSERT_TRUE(b);
	b = false;
	CU_ASSERT_EQUAL(conffile_cfg_bool(o.websocket.tls, "http_server", &b),
			0);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);
}

static void test_warnings_and_variables(void)
{
	map_ok("port: 1\ncluster {\n port: 6222\n}\n\njetstream: enabled\n");
	CU_ASSERT_EQUAL_FATAL(o.conf_warnings.n, 2);
	CU_ASSERT_STRING_EQUAL(o.conf_warnings.v[0],
			       "t.conf:2: \"cluster\" is not supported by "
			       "natsd yet and is ignored");
	CU_ASSERT_STRING_EQUAL(o.conf_warnings.v[1],
			       "t.conf:6: \"jetstream\" is not supported by "
			       "natsd yet and is ignored");
	/* A key that only defines a variable is no field... */
	map_ok("PORT_VAR: 4333\nport: $PORT_VAR\n");
	CU_ASSERT_EQUAL(o.port, 4333);
	map_ok("authorization { U: me\n user: $U\n password: x }\n");
	CU_ASSERT_STRING_EQUAL(o.user, "me");
	/* ...one that is not used is unknown. */
	map_fails("PORT_VAR: 4333\nport: 1\n", "1: unknown field \"PORT_VAR\"");
}

/* The cluster listener a reload compares (server_reload()). */
static void test_cluster_listener(void)
{
	char host[64];
	int port;

	map_ok("port: 1\n");
	natsconf_opts_cluster(&o, host, sizeof(host), &port);
	CU_ASSERT(strcmp(host, "") == 0 && port == 0);
	map_ok("cluster { port: 6222 }\n");
	natsconf_opts_cluster(&o, host, sizeof(host), &port);
	CU_ASSERT(strcmp(host, "0.0.0.0") == 0 && port == 6222);
	map_ok("cluster { listen: \"10.0.0.1:6333\" }\n");
	natsconf_opts_cluster(&o, host, sizeof(host), &port);
	CU_ASSERT(strcmp(host, "10.0.0.1") == 0 && port == 6333);
	map_ok("cluster { listen: 6444, host: h }\n");
	natsconf_opts_cluster(&o, host, sizeof(host), &port);
	CU_ASSERT(strcmp(host, "h") == 0 && port == 6444);
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	natsconf_opts_cluster(&o, host, sizeof(host), &port);
	CU_ASSERT(strcmp(host, "") == 0 && port == 0);
}

static void test_getters(void)
{
	const struct natsd_cfg *root, *sec, *sub;
	const char *s, *file;
	int64_t i64;
	size_t n;
	bool b;
	int line;

	map_ok("plugins: [\n { load: auth_x\n settings: {\n"
	       "   name: abc\n   count: 3\n   on: true\n   wait: \"2s\"\n"
	       "   secs: 4\n   frac: 0.5\n   size: \"1KB\"\n   bytes: 2MB\n"
	       "   list: [a, b]\n   one: c\n   inner: { deep: 1 }\n"
	       "   arr: [ { k: v } ]\n } }\n \"plain\"\n]\n");
	CU_ASSERT_EQUAL_FATAL(o.nplugins, 2);
	CU_ASSERT_STRING_EQUAL(o.plugins[0].load, "auth_x");
	CU_ASSERT_EQUAL(o.plugins[0].line, 2);
	CU_ASSERT_STRING_EQUAL(o.plugins[1].load, "plain");
	CU_ASSERT(o.plugins[1].settings == NULL);
	sec = o.plugins[0].settings;
	CU_ASSERT_FATAL(sec != NULL);
	CU_ASSERT(conffile_cfg_string(sec, "name", &s) == 0 &&
		  strcmp(s, "abc") == 0);
	CU_ASSERT(conffile_cfg_string(sec, "NAME", &s) == 0);
	CU_ASSERT(conffile_cfg_string(sec, "count", &s) == NATSD_EINVAL);
	CU_ASSERT(conffile_cfg_string(sec, "none", &s) == NATSD_ENOENT);
	CU_ASSERT(conffile_cfg_int(sec, "count", &i64) == 0 && i64 == 3);
	CU_ASSERT(conffile_cfg_int(sec, "name", &i64) == NATSD_EINVAL);
	CU_ASSERT(conffile_cfg_bool(sec, "on", &b) == 0 && b);
	CU_ASSERT(conffile_cfg_bool(sec, "count", &b) == NATSD_EINVAL);
	CU_ASSERT(conffile_cfg_duration(sec, "wait", &i64) == 0 &&
		  i64 == 2 * NS);
	CU_ASSERT(conffile_cfg_duration(sec, "secs", &i64) == 0 &&
		  i64 == 4 * NS);
	CU_ASSERT(conffile_cfg_duration(sec, "frac", &i64) == 0 &&
		  i64 == NS / 2);
	CU_ASSERT(conffile_cfg_duration(sec, "name", &i64) == NATSD_EINVAL);
	CU_ASSERT(conffile_cfg_size(sec, "size", &i64) == 0 && i64 == 1024);
	CU_ASSERT(conffile_cfg_size(sec, "bytes", &i64) == 0 && i64 == 2 << 20);
	CU_ASSERT(conffile_cfg_size(sec, "on", &i64) == NATSD_EINVAL);
	CU_ASSERT(conffile_cfg_list_len(sec, "list", &n) == 0 && n == 2);
	CU_ASSERT(conffile_cfg_list_len(sec, "one", &n) == 0 && n == 1);
	CU_ASSERT(conffile_cfg_list_len(sec, "count", &n) == NATSD_EINVAL);
	CU_ASSERT(conffile_cfg_list_string(sec, "list", 1, &s) == 0 &&
		  strcmp(s, "b") == 0);
	CU_ASSERT(conffile_cfg_list_string(sec, "list", 2, &s) == NATSD_ENOENT);
	CU_ASSERT(conffile_cfg_section(sec, "inner", &sub) == 0);
	CU_ASSERT(conffile_cfg_int(sub, "deep", &i64) == 0 && i64 == 1);
	CU_ASSERT(conffile_cfg_int(sec, "inner.deep", &i64) == 0);
	CU_ASSERT(conffile_cfg_string(sec, "arr.[0].k", &s) == 0 &&
		  strcmp(s, "v") == 0);
	CU_ASSERT(conffile_cfg_string(sec, "arr.[1].k", &s) == NATSD_ENOENT);
	CU_ASSERT(conffile_cfg_string(sec, "arr.[x]", &s) == NATSD_ENOENT);
	CU_ASSERT(conffile_cfg_string(sec, "", &s) == NATSD_ENOENT);
	CU_ASSERT(conffile_cfg_string(sec, "inner.", &s) == NATSD_ENOENT);
	CU_ASSERT(conffile_cfg_section(sec, "name", &sub) == NATSD_EINVAL);
	CU_ASSERT(conffile_cfg_where(sec, "count", &file, &line) == 0 &&
		  line == 5 && strcmp(file, "t.conf") == 0);
	CU_ASSERT(conffile_cfg_where(sec, NULL, &file, &line) == 0 &&
		  line == 3);
	root = conffile_root(&o);
	CU_ASSERT_FATAL(root != NULL);
	CU_ASSERT(conffile_cfg_string(root, "plugins.[1]", &s) == 0 &&
		  strcmp(s, "plain") == 0);
}

/* conffile_load() on dir/f.conf holding text: the format it chose, or
 * "error: <message without the path>". */
static const char *detect(const char *text)
{
	static char out[1200];
	char p[PATH_MAX];
	size_t n;
	int rc;

	testfile_write(dir, "f.conf", text);
	snprintf(p, sizeof(p), "%s/f.conf", dir);
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	rc = conffile_load(p, &o, err, sizeof(err));
	if (rc == 0)
		return o.config_format;
	n = strlen(p);
	snprintf(out, sizeof(out), "error%s",
		 strncmp(err, p, n) == 0 ? err + n : err);
	return out;
}

static void test_detection(void)
{
	char want[PATH_MAX + 128];

	/* Both grammars: nats-server's when it loads as that. */
	CU_ASSERT_STRING_EQUAL(detect("port = 4222;\n"), "nats-server");
	CU_ASSERT_STRING_EQUAL(detect("port: 4222\ndebug: true\n"),
			       "nats-server");
	CU_ASSERT_STRING_EQUAL(detect("cluster = { port = 6222; };\n"),
			       "nats-server");
	/* nats-server's only. */
	CU_ASSERT_STRING_EQUAL(detect("listen: 127.0.0.1:4222\n"),
			       "nats-server");
	CU_ASSERT_STRING_EQUAL(detect("authorization { user: a }\n"),
			       "nats-server");
	/* libconfig's own syntax. */
	CU_ASSERT_STRING_EQUAL(detect("plugins = ( \"a\" );\n"), "natsd");
	CU_ASSERT_STRING_EQUAL(detect("client_transport = (\"tcp\");\n"),
			       "natsd");
	CU_ASSERT_STRING_EQUAL(detect("max_pending = 4294967296L;\n"), "natsd");
	CU_ASSERT_STRING_EQUAL(detect("port = 0x10E1;\n"), "natsd");
	CU_ASSERT_EQUAL(o.port, 4321);
	testfile_write(dir, "inc.conf", "port = 4444;\n");
	CU_ASSERT_STRING_EQUAL(detect("@include \"inc.conf\"\n"), "natsd");
	CU_ASSERT_EQUAL(o.port, 4444);
	/* Loads only as libconfig (a string size). */
	CU_ASSERT_STRING_EQUAL(detect("max_payload = \"1MB\";\n"), "natsd");
	/* A quoted "(" is no list when the file is nats-server's only. */
	CU_ASSERT_STRING_EQUAL(detect("authorization { user: a\n"
				      "password: \"(x\" }\n"),
			       "nats-server");
	/* Errors: libconfig's when it parses, else nats-server's. */
	CU_ASSERT_STRING_EQUAL(detect("port = 1;\nfoo = 2;\n"),
			       "error:2: unknown key \"foo\"");
	CU_ASSERT_STRING_EQUAL(detect("port: 1\nfoo: bar\n"),
			       "error:2: unknown field \"foo\"");
	CU_ASSERT_STRING_EQUAL(detect("port: 1\nserver_name: \"x\n"),
			       "error:2: unterminated quoted string");
	CU_ASSERT_STRING_EQUAL(detect("plugins = ( \"a\"\nport = ;\n"),
			       "error:2: syntax error");
	CU_ASSERT_STRING_EQUAL(detect("plugins = ( \"a\" );\nport = 1x;\n"),
			       "error:2: syntax error");
	CU_ASSERT_STRING_EQUAL(detect("ocsp { }\n"),
			       "error:1: \"ocsp\" is not supported by natsd "
			       "yet; refusing to start without it (clients "
			       "would connect without TLS)");
	CU_ASSERT_STRING_EQUAL(detect(""), "nats-server");
	/* Unreadable things: one clear error each. */
	CU_ASSERT_STRING_EQUAL(detect("include \"/dev/zero\"\n"),
			       "error:1: error parsing include file "
			       "'/dev/zero', /dev/zero: larger than 64 MiB");
	snprintf(want, sizeof(want),
		 "error:2: error parsing include file '.', %s/.: Is a "
		 "directory",
		 dir);
	CU_ASSERT_STRING_EQUAL(detect("port: 1\ninclude \".\"\n"), want);
}

/* A NUL byte makes it no text file, in either format. */
static void test_binary(void)
{
	char p[PATH_MAX], want[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/f.conf", dir);
	f = fopen(p, "w");
	CU_ASSERT_FATAL(f != NULL);
	fwrite("port: 1\n\0\n", 1, 10, f);
	fclose(f);
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	CU_ASSERT_EQUAL(conffile_load(p, &o, err, sizeof(err)), NATSD_EINVAL);
	snprintf(want, sizeof(want),
		 "%s: cannot read: not a text file (it holds a NUL byte)", p);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(conffile_load(dir, &o, err, sizeof(err)), NATSD_EIO);
}

static int suite_init(void)
{
	return mkdtemp(dir) == NULL ? -1 : opts_init(&o);
}

static int suite_fini(void)
{
	char p[PATH_MAX];

	opts_fini(&o);
	snprintf(p, sizeof(p), "%s/f.conf", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/inc.conf", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "server keys", test_server_keys },
		{ "logging and natsd's keys", test_logging_and_natsd_keys },
		{ "limits and timers", test_limits_and_timers },
		{ "authorization", test_authorization },
		{ "errors with lines", test_errors },
		{ "accounts and nkey users", test_accounts_and_nkeys },
		{ "tls", test_tls },
		{ "operator mode", test_operator_mode },
		{ "warnings and variables", test_warnings_and_variables },
		{ "cluster listener", test_cluster_listener },
		{ "plugin settings getters", test_getters },
		{ "format detection", test_detection },
		{ "binary file", test_binary },
	};
	static const struct suite suite = {
		"natsconf_opts", suite_init,         suite_fini,
		tests,           SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
