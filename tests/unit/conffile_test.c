/* Tests for core/conffile.c: every key, the value shapes, the error lines,
 * the typed getters, includes, and allocation failures.
 *
 * Files are written to a fresh temporary directory; error messages are
 * compared whole, with their "FILE:LINE:" prefix. Allocation failures are
 * injected when the program is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * (that test passes trivially without). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "alloc_fail.h"
#include "conffile.h"
#include "opts.h"
#include "../suites.h"
#include "testfile.h"

#define SEC OPTS_NS_PER_SEC

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static char dir[256];
static char path[300]; /* dir/natsd.conf */
static char err[512];
static struct opts o;

/* Loads text as dir/natsd.conf into the global o (fresh defaults). */
static int load(const char *text)
{
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	testfile_write(dir, "natsd.conf", text);
	err[0] = '\0';
	return conffile_load(path, &o, err, sizeof(err));
}

/* Loads text, expects a failure whose message is "<path>:<msg>". */
static void load_fails(const char *text, const char *msg)
{
	char want[2048];
	int rc;

	rc = load(text);
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	snprintf(want, sizeof(want), "%s:%s", path, msg);
	CU_ASSERT_STRING_EQUAL(err, want);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
}

static void load_ok(const char *text)
{
	int rc = load(text);

	CU_ASSERT_EQUAL(rc, 0);
	if (rc != 0)
		fprintf(stderr, "\n  unexpected error: %s\n", err);
}

static bool list_is(const struct opts_strlist *l, size_t n, ...)
{
	va_list ap;
	size_t i;
	bool ok = l->set && l->n == n;

	va_start(ap, n);
	for (i = 0; ok && i < n; i++)
		ok = strcmp(l->v[i], va_arg(ap, const char *)) == 0;
	va_end(ap);
	return ok;
}

static int init_suite(void)
{
	snprintf(dir, sizeof(dir), "%s/conffile_test.XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/natsd.conf", dir);
	return opts_init(&o) == 0 ? 0 : 1;
}

static int clean_suite(void)
{
	char cmd[PATH_MAX + 16];

	opts_fini(&o);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* Durations and sizes                                                 */

static void test_parse_duration(void)
{
	static const struct {
		const char *s;
		int rc;
		int64_t ns;
	} t[] = {
		{ "0", 0, 0 },
		{ "-0", 0, 0 },
		{ "2m", 0, 120 * SEC },
		{ "10s", 0, 10 * SEC },
		{ "1h30m", 0, 5400 * SEC },
		{ "500ms", 0, 500000000 },
		{ "1.5s", 0, 1500000000 },
		{ ".5s", 0, 500000000 },
		{ "1.s", 0, SEC },
		{ "-5s", 0, -5 * SEC },
		{ "+3s", 0, 3 * SEC },
		{ "1ns", 0, 1 },
		{ "1us", 0, 1000 },
		{ "1\xc2\xb5s", 0, 1000 },
		{ "1\xce\xbcs", 0, 1000 },
		{ "1m1m", 0, 120 * SEC },
		{ "2h45m30.5s", 0, 9930 * SEC + 500000000 },
		{ "2562047h", 0, 2562047LL * 3600 * SEC },
		{ "", NATSD_EINVAL, 0 },
		{ "-", NATSD_EINVAL, 0 },
		{ "5", NATSD_EINVAL, 0 },
		{ "5.", NATSD_EINVAL, 0 },
		{ "1d", NATSD_EINVAL, 0 },
		{ "1S", NATSD_EINVAL, 0 },
		{ "s", NATSD_EINVAL, 0 },
		{ ".s", NATSD_EINVAL, 0 },
		{ "1 s", NATSD_EINVAL, 0 },
		{ "1s ", NATSD_EINVAL, 0 },
		{ "1s5", NATSD_EINVAL, 0 },
		{ "2562048h", NATSD_ERANGE, 0 },
		{ "99999999999999999999ns", NATSD_ERANGE, 0 },
	};
	size_t i;
	int64_t ns;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ns = 12345;
		rc = conffile_parse_duration(t[i].s, &ns);
		CU_ASSERT_EQUAL(rc, t[i].rc);
		CU_ASSERT_EQUAL(ns, t[i].rc == 0 ? t[i].ns : 12345);
		if (rc != t[i].rc || (rc == 0 && ns != t[i].ns))
			fprintf(stderr, "\n  duration \"%s\": rc %d ns %lld\n",
				t[i].s, rc, (long long)ns);
	}
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int rc;
		int64_t n;
	} t[] = {
		{ "0", 0, 0 },
		{ "1024", 0, 1024 },
		{ "1k", 0, 1000 },
		{ "1K", 0, 1000 },
		{ "1kb", 0, 1024 },
		{ "1KB", 0, 1024 },
		{ "1kB", 0, 1024 },
		{ "1Ki", 0, 1024 },
		{ "1KiB", 0, 1024 },
		{ "64MB", 0, 64LL << 20 },
		{ "1m", 0, 1000000 },
		{ "1MiB", 0, 1 << 20 },
		{ "1g", 0, 1000000000 },
		{ "1GB", 0, 1LL << 30 },
		{ "2gib", 0, 2LL << 30 },
		{ "1t", 0, 1000000000000LL },
		{ "1TB", 0, 1LL << 40 },
		{ "1p", 0, 1000000000000000LL },
		{ "1PB", 0, 1LL << 50 },
		{ "1e", 0, 1000000000000000000LL },
		{ "1EB", 0, 1LL << 60 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "", NATSD_EINVAL, 0 },
		{ "MB", NATSD_EINVAL, 0 },
		{ "-1", NATSD_EINVAL, 0 },
		{ "+1", NATSD_EINVAL, 0 },
		{ "1.5MB", NATSD_EINVAL, 0 },
		{ "1 MB", NATSD_EINVAL, 0 },
		{ "1b", NATSD_EINVAL, 0 },
		{ "1XB", NATSD_EINVAL, 0 },
		{ "0x10", NATSD_EINVAL, 0 },
		{ "9223372036854775808", NATSD_ERANGE, 0 },
		{ "8EB", NATSD_ERANGE, 0 },
		{ "9000000TB", NATSD_ERANGE, 0 },
	};
	size_t i;
	int64_t n;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = 12345;
		rc = conffile_parse_size(t[i].s, &n);
		CU_ASSERT_EQUAL(rc, t[i].rc);
		CU_ASSERT_EQUAL(n, t[i].rc == 0 ? t[i].n : 12345);
		if (rc != t[i].rc || (rc == 0 && n != t[i].n))
			fprintf(stderr, "\n  size \"%s\": rc %d n %lld\n",
				t[i].s, rc, (long long)n);
	}
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

static void test_all_keys(void)
{
	load_ok("host = \"127.0.0.1\";\n"
		"port = 4333;\n"
		"server_name = \"n1\";\n"
		"client_advertise = \"example.com:4222\";\n"
		"ports_file_dir = \"/tmp/ports\";\n"
		"debug = true;\n"
		"trace = true;\n"
		"trace_verbose = true;\n"
		"logtime = false;\n"
		"log_file = \"natsd.log\";\n"
		"log_size_limit = \"10MB\";\n"
		"max_traced_msg_len = 128;\n"
		"pid_file = \"natsd.pid\";\n"
		"syslog = true;\n"
		"remote_syslog = \"udp://localhost:514\";\n"
		"plugin_dir = \"/opt/natsd\";\n"
		"io_threads = 3;\n"
		"max_control_line = \"8KB\";\n"
		"max_payload = \"2MB\";\n"
		"max_pending = 100000000;\n"
		"max_connections = 100;\n"
		"max_subscriptions = 10;\n"
		"max_sub_tokens = 16;\n"
		"no_header_support = true;\n"
		"ping_interval = \"30s\";\n"
		"ping_max = 5;\n"
		"write_deadline = \"2s\";\n"
		"tcp_keepalive = \"30s\";\n"
		"lame_duck_duration = \"1m\";\n"
		"lame_duck_grace_period = \"5s\";\n"
		"http_port = 8222;\n"
		"https_port = 8443;\n"
		"http_base_path = \"/mon\";\n"
		"no_auth_user = \"a\";\n"
		"authorization = { users = ( { user = \"a\"; } ); "
		"timeout = 3; };\n"
		"auth_chain = [\"builtin\", \"auth_x\"];\n"
		"client_transport = [\"tcp\", \"tls\"];\n");
	CU_ASSERT_STRING_EQUAL(o.host, "127.0.0.1");
	CU_ASSERT_EQUAL(o.port, 4333);
	CU_ASSERT_STRING_EQUAL(o.server_name, "n1");
	CU_ASSERT_STRING_EQUAL(o.client_advertise, "example.com:4222");
	CU_ASSERT_STRING_EQUAL(o.ports_file_dir, "/tmp/ports");
	CU_ASSERT_STRING_EQUAL(o.config_file, path);
	CU_ASSERT(o.debug && o.trace && o.trace_verbose && !o.logtime);
	CU_ASSERT_STRING_EQUAL(o.log_file, "natsd.log");
	CU_ASSERT_EQUAL(o.log_size_limit, 10LL << 20);
	CU_ASSERT_EQUAL(o.max_traced_msg_len, 128);
	CU_ASSERT_STRING_EQUAL(o.pid_file, "natsd.pid");
	CU_ASSERT(o.syslog);
	CU_ASSERT_STRING_EQUAL(o.remote_syslog, "udp://localhost:514");
	CU_ASSERT_STRING_EQUAL(o.plugin_dir, "/opt/natsd");
	CU_ASSERT_EQUAL(o.io_threads, 3);
	CU_ASSERT_EQUAL(o.max_control_line, 8192);
	CU_ASSERT_EQUAL(o.max_payload, 2 << 20);
	CU_ASSERT_EQUAL(o.max_pending, 100000000);
	CU_ASSERT_EQUAL(o.max_connections, 100);
	CU_ASSERT_EQUAL(o.max_subscriptions, 10);
	CU_ASSERT_EQUAL(o.max_sub_tokens, 16);
	CU_ASSERT(o.no_header_support);
	CU_ASSERT_EQUAL(o.ping_interval, 30 * SEC);
	CU_ASSERT_EQUAL(o.ping_max, 5);
	CU_ASSERT_EQUAL(o.write_deadline, 2 * SEC);
	CU_ASSERT_EQUAL(o.tcp_keepalive, 30 * SEC);
	CU_ASSERT_EQUAL(o.lame_duck_duration, 60 * SEC);
	CU_ASSERT_EQUAL(o.lame_duck_grace_period, 5 * SEC);
	CU_ASSERT_EQUAL(o.http_port, 8222);
	CU_ASSERT_EQUAL(o.https_port, 8443);
	CU_ASSERT_STRING_EQUAL(o.http_base_path, "/mon");
	CU_ASSERT_STRING_EQUAL(o.no_auth_user, "a");
	CU_ASSERT_EQUAL(o.auth_timeout, 3 * SEC);
	CU_ASSERT(list_is(&o.auth_chain, 2, "builtin", "auth_x"));
	CU_ASSERT_STRING_EQUAL(o.auth_chain_at.file, path);
	CU_ASSERT_EQUAL(o.auth_chain_at.line, 36);
	CU_ASSERT(list_is(&o.client_transport, 2, "tcp", "tls"));
	CU_ASSERT_EQUAL(o.client_transport_at.line, 37);
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);
}

static void test_aliases(void)
{
	load_ok("net = \"::1\"; logfile = \"a.log\"; pidfile = \"a.pid\";\n"
		"logfile_size_limit = 1000; max_conn = 7; max_subs = 8;\n"
		"max_subscription_tokens = 9; monitor_port = 8000;\n"
		"Max_Payload = 100; DEBUG = true;\n");
	CU_ASSERT_STRING_EQUAL(o.host, "::1");
	CU_ASSERT_STRING_EQUAL(o.log_file, "a.log");
	CU_ASSERT_STRING_EQUAL(o.pid_file, "a.pid");
	CU_ASSERT_EQUAL(o.log_size_limit, 1000);
	CU_ASSERT_EQUAL(o.max_connections, 7);
	CU_ASSERT_EQUAL(o.max_subscriptions, 8);
	CU_ASSERT_EQUAL(o.max_sub_tokens, 9);
	CU_ASSERT_EQUAL(o.http_port, 8000);
	CU_ASSERT_EQUAL(o.max_payload, 100);
	CU_ASSERT(o.debug);
}

static void test_defaults_kept(void)
{
	load_ok("# nothing but a comment\n");
	CU_ASSERT_STRING_EQUAL(o.host, OPTS_DEFAULT_HOST);
	CU_ASSERT_EQUAL(o.port, OPTS_DEFAULT_PORT);
	CU_ASSERT_EQUAL(o.max_payload, OPTS_DEFAULT_MAX_PAYLOAD);
	CU_ASSERT(list_is(&o.client_transport, 1, "tcp"));
	CU_ASSERT_EQUAL(o.auth_chain.n, 0);
	CU_ASSERT_FALSE(o.auth_chain.set);
	CU_ASSERT_EQUAL(o.nplugins, 0);
	CU_ASSERT_PTR_NULL(o.default_permissions);
}

/* nats-server reads 0 as "the default" for these. */
static void test_zero_means_default(void)
{
	load_ok("port = 0; max_payload = 0; max_pending = 0;\n"
		"max_control_line = 0; max_connections = 0; ping_max = 0;\n"
		"ping_interval = 0; write_deadline = \"0\";\n"
		"lame_duck_duration = 0; lame_duck_grace_period = 0;\n"
		"authorization = { timeout = 0; };\n"
		"max_subscriptions = 0; http_port = 0;\n");
	CU_ASSERT_EQUAL(o.port, OPTS_DEFAULT_PORT);
	CU_ASSERT_EQUAL(o.max_payload, OPTS_DEFAULT_MAX_PAYLOAD);
	CU_ASSERT_EQUAL(o.max_pending, OPTS_DEFAULT_MAX_PENDING);
	CU_ASSERT_EQUAL(o.max_control_line, OPTS_DEFAULT_MAX_CONTROL_LINE);
	CU_ASSERT_EQUAL(o.max_connections, OPTS_DEFAULT_MAX_CONNECTIONS);
	CU_ASSERT_EQUAL(o.ping_max, OPTS_DEFAULT_PING_MAX);
	CU_ASSERT_EQUAL(o.ping_interval, OPTS_DEFAULT_PING_INTERVAL);
	CU_ASSERT_EQUAL(o.write_deadline, OPTS_DEFAULT_WRITE_DEADLINE);
	CU_ASSERT_EQUAL(o.lame_duck_duration, OPTS_DEFAULT_LAME_DUCK_DURATION);
	CU_ASSERT_EQUAL(o.lame_duck_grace_period, OPTS_DEFAULT_LAME_DUCK_GRACE);
	CU_ASSERT_EQUAL(o.auth_timeout, OPTS_DEFAULT_AUTH_TIMEOUT);
	CU_ASSERT_EQUAL(o.max_subscriptions, 0);
	CU_ASSERT_EQUAL(o.http_port, 0);
}

static void test_listen(void)
{
	load_ok("listen = \"10.0.0.1:4333\";\n");
	CU_ASSERT_STRING_EQUAL(o.host, "10.0.0.1");
	CU_ASSERT_EQUAL(o.port, 4333);
	load_ok("listen = \":5000\";\n");
	CU_ASSERT_STRING_EQUAL(o.host, "0.0.0.0");
	CU_ASSERT_EQUAL(o.port, 5000);
	load_ok("listen = \"[::1]:5001\";\n");
	CU_ASSERT_STRING_EQUAL(o.host, "::1");
	CU_ASSERT_EQUAL(o.port, 5001);
	load_ok("listen = \"localhost:-1\";\n");
	CU_ASSERT_EQUAL(o.port, -1);
	load_ok("listen = 5002;\n");
	CU_ASSERT_STRING_EQUAL(o.host, "0.0.0.0");
	CU_ASSERT_EQUAL(o.port, 5002);
	/* In file order: the later key wins. */
	load_ok("listen = \"1.2.3.4:1\";\nport = 2;\n");
	CU_ASSERT_STRING_EQUAL(o.host, "1.2.3.4");
	CU_ASSERT_EQUAL(o.port, 2);
	load_ok("http = \"127.0.0.1:8222\"; https = \":8443\";\n");
	CU_ASSERT_EQUAL(o.http_port, 8222);
	CU_ASSERT_EQUAL(o.https_port, 8443);
	CU_ASSERT_STRING_EQUAL(o.http_host, "0.0.0.0");

	load_fails("\nlisten = \"1.2.3.4\";\n",
		   "2: could not parse address string \"1.2.3.4\"");
	load_fails("listen = \"1.2.3.4:x\";\n",
		   "1: could not parse port \"x\"");
	load_fails("listen = \"1.2.3.4:\";\n",
		   "1: could not parse port \"\"");
	load_fails("listen = \"h:70000\";\n",
		   "1: could not parse port \"70000\"");
	load_fails("listen = \"::1:4222\";\n",
		   "1: could not parse address string \"::1:4222\" (IPv6 "
		   "addresses go in brackets)");
	load_fails("listen = true;\n",
		   "1: listen: expected \"host:port\" or a port, not a "
		   "boolean");
	load_fails("listen = 70000;\n",
		   "1: listen: 70000 is out of range (-1..65535)");
}

static void test_wrong_types(void)
{
	load_fails("port = \"abc\";\n",
		   "1: port: expected an integer, not a string");
	load_fails("port = 1.5;\n",
		   "1: port: expected an integer, not a float");
	load_fails("\n\ndebug = 1;\n",
		   "3: debug: expected a boolean (true or false), not an "
		   "integer");
	load_fails("logtime = \"yes\";\n",
		   "1: logtime: expected a boolean (true or false), not a "
		   "string");
	load_fails("server_name = 5;\n",
		   "1: server_name: expected a string, not an integer");
	load_fails("log_file = [\"a\"];\n",
		   "1: log_file: expected a string, not an array");
	load_fails("max_payload = true;\n",
		   "1: max_payload: expected a size (bytes, or a string like "
		   "\"64MB\"), not a boolean");
	load_fails("ping_interval = { a = 1; };\n",
		   "1: ping_interval: expected a duration (seconds, or a "
		   "string like \"2m\"), not a group");
	load_fails("authorization = 1;\n",
		   "1: authorization: expected a group, not an integer");
	load_fails("plugins = \"x\";\n",
		   "1: plugins: expected a list ( { load = ...; }, ... ), "
		   "not a string");
	load_fails("auth_chain = 1;\n",
		   "1: auth_chain: expected a string or a list of strings, not "
		   "an integer");
	load_fails("client_transport = (1);\n",
		   "1: client_transport: expected a string or a list of "
		   "strings, not a list");
}

static void test_bad_values(void)
{
	load_fails("port = 70000;\n", "1: port: 70000 is out of range "
		   "(-1..65535)");
	load_fails("port = -2;\n", "1: port: -2 is out of range (-1..65535)");
	load_fails("max_payload = \"3GB\";\n",
		   "1: max_payload value is too big");
	load_fails("max_payload = -1;\n",
		   "1: max_payload: size must not be negative");
	load_fails("max_pending = \"12XB\";\n",
		   "1: max_pending: invalid size \"12XB\" (expected e.g. "
		   "\"1024\", \"64KB\", \"8MB\", \"1GB\")");
	load_fails("max_control_line = \"3GB\";\n",
		   "1: max_control_line value is too big");
	load_fails("max_sub_tokens = 300;\n",
		   "1: max_sub_tokens: 300 is out of range (0..255)");
	load_fails("io_threads = -1;\n",
		   "1: io_threads: -1 is out of range (0..1024)");
	load_fails("ping_interval = \"1d\";\n",
		   "1: ping_interval: invalid duration \"1d\" (expected e.g. "
		   "\"2m\", \"10s\", \"1h30m\", \"500ms\")");
	load_fails("write_deadline = \"5\";\n",
		   "1: write_deadline: invalid duration \"5\" (expected e.g. "
		   "\"2m\", \"10s\", \"1h30m\", \"500ms\")");
	load_fails("ping_interval = -5;\n",
		   "1: ping_interval must not be negative");
	load_fails("ping_interval = 99999999999L;\n",
		   "1: ping_interval: duration is out of range");
	load_fails("lame_duck_duration = \"10s\";\n",
		   "1: invalid lame_duck_duration, minimum is 30 seconds");
	load_fails("lame_duck_grace_period = \"-1s\";\n",
		   "1: lame_duck_grace_period must not be negative");
	load_fails("tcp_keepalive = \"-1s\";\n",
		   "1: tcp_keepalive must not be negative");
	load_fails("host = \"\";\n", "1: host must not be empty");
	load_fails("server_name = \"a b\";\n",
		   "1: server_name cannot contain spaces");
	load_fails("auth_chain = [];\n",
		   "1: auth_chain must name at least one authenticator");
	load_fails("client_transport = \" , \";\n",
		   "1: client_transport must name at least one transport");
}

/* The tls block is the tls plugin's section; the plugin reads the keys.
 * A section made from text (the --tls* flags) reads the same way. */
static void test_tls_block(void)
{
	const struct natsd_cfg *c = NULL;
	const char *v = NULL;
	void *owner = NULL;
	int64_t ns = 0;
	bool b = false;

	load_ok("tls = { cert_file = \"a.pem\"; timeout = 2; verify = true; "
		"};\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.tls);
	CU_ASSERT_EQUAL(conffile_cfg_string(o.tls, "cert_file", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "a.pem");
	CU_ASSERT_EQUAL(conffile_cfg_duration(o.tls, "timeout", &ns), 0);
	CU_ASSERT_EQUAL(ns, 2000000000LL);
	CU_ASSERT_EQUAL(o.tls_at.line, 1);
	load_fails("tls = 1;\n", "1: tls: expected a group { cert_file = "
				 "...; ... }, not an integer");
	CU_ASSERT_EQUAL(conffile_from_text("cert_file = \"x\\\"y\";\n"
					   "verify = true;\n",
					   &owner, &c, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(conffile_cfg_string(c, "cert_file", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "x\"y");
	CU_ASSERT_EQUAL(conffile_cfg_bool(c, "verify", &b), 0);
	CU_ASSERT(b);
	CU_ASSERT_EQUAL(conffile_cfg_where(c, "verify", &v, NULL),
			NATSD_ENOENT);
	conffile_text_free(owner);
	CU_ASSERT(conffile_from_text("x = ;", &owner, &c, err, sizeof(err)) !=
		  0);
}

static void test_unknown_and_unsupported(void)
{
	load_fails("port = 1;\nfoo = 1;\n", "2: unknown key \"foo\"");
	load_fails("authorization = {\n  foo = 1;\n};\n",
		   "2: unknown key \"foo\" in authorization");
	/* A list marks the file as natsd's format: without one these
	 * files are nats-server's too, which only warns (below). */
	load_fails("cluster = { port = 6222; };\nplugins = ();\n",
		   "1: \"cluster\" is not supported yet");
	load_fails("ocsp = { mode = \"always\"; };\nplugins = ();\n",
		   "1: \"ocsp\" is not supported yet");
	load_fails("\nJetStream = true;\nplugins = ();\n",
		   "2: \"JetStream\" is not supported yet");
	load_fails("accounts = { A = { jetstream = true; }; };\n",
		   "1: \"jetstream\" in an account is not supported yet");
	load_ok("cluster = { port = 6222; };\n");
	CU_ASSERT_STRING_EQUAL(o.config_format, "nats-server");
	CU_ASSERT_EQUAL(o.conf_warnings.n, 1);
	load_fails("authorization = { auth_callout = { }; };\n",
		   "1: \"auth_callout\" is not supported yet");
}

/* opts_validate() on what load_ok() read: "" when valid. */
static const char *validate_err(void)
{
	static char verr[1024];

	verr[0] = '\0';
	if (opts_validate(&o, verr, sizeof(verr)) != 0 && verr[0] == '\0')
		snprintf(verr, sizeof(verr), "failed without a message");
	return verr;
}

static void validate_fails(const char *text, const char *msg)
{
	char want[2048];

	load_ok(text);
	snprintf(want, sizeof(want), "%s:%s", path, msg);
	CU_ASSERT_STRING_EQUAL(validate_err(), want);
	if (strcmp(validate_err(), want) != 0)
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", validate_err(),
			want);
}

static void test_accounts(void)
{
	const struct opts_account *a, *b;

	load_ok("accounts = {\n"
		"  A = { users = ( { user = \"a\"; password = \"p\"; } );\n"
		"        exports = ( { stream = \"foo.>\"; },\n"
		"                    { service = \"req\"; accounts = [\"B\"];\n"
		"                      response_type = \"Chunked\";\n"
		"                      response_threshold = \"5s\"; } );\n"
		"        limits = { max_connections = 3; max_subs = 4;\n"
		"                   max_payload = \"1KB\"; }; };\n"
		"  B = { imports = (\n"
		"    { stream = { account = \"A\"; subject = \"foo.x\"; };\n"
		"      prefix = \"a\"; },\n"
		"    { service = { account = \"A\"; subject = \"req\"; };\n"
		"      to = \"ask\"; } ); };\n"
		"};\n"
		"system_account = \"A\";\n");
	CU_ASSERT_STRING_EQUAL(validate_err(), "");
	CU_ASSERT_FATAL(o.naccounts == 2);
	a = opts_account_find(&o, "A");
	b = opts_account_find(&o, "B");
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT_EQUAL(a->nexports, 2);
	CU_ASSERT_FALSE(a->exports[0].service);
	CU_ASSERT_TRUE(a->exports[1].service);
	CU_ASSERT_EQUAL(a->exports[1].resp_type, OPTS_RESP_CHUNKED);
	CU_ASSERT_EQUAL(a->exports[1].resp_threshold, 5 * OPTS_NS_PER_SEC);
	CU_ASSERT_TRUE(list_is(&a->exports[1].accounts, 1, "B"));
	CU_ASSERT_EQUAL(a->max_connections, 3);
	CU_ASSERT_EQUAL(a->max_subscriptions, 4);
	CU_ASSERT_EQUAL(a->max_payload, 1024);
	CU_ASSERT_EQUAL(b->max_connections, -1);
	CU_ASSERT_EQUAL(b->nimports, 2);
	CU_ASSERT_STRING_EQUAL(b->imports[0].prefix, "a");
	CU_ASSERT_TRUE(b->imports[1].service);
	CU_ASSERT_STRING_EQUAL(b->imports[1].to, "ask");
	CU_ASSERT_EQUAL(b->imports[1].line, 12);
	CU_ASSERT_FATAL(o.nusers == 1);
	CU_ASSERT_STRING_EQUAL(o.users[0].account, "A");
	CU_ASSERT_STRING_EQUAL(o.system_account, "A");

	load_fails("accounts = { A = { exports = ( { stream = \"a..b\"; } ); "
		   "}; };\n",
		   "1: invalid subject \"a..b\"");
	load_fails(
		"accounts = {\n A = { exports = (\n"
		"  { service = \"x\"; response_type = \"bogus\"; } ); }; };\n",
		"3: Unknown response type: \"bogus\"");
	load_fails("accounts = { A = { imports = ( { stream = { account = "
		   "\"B\"; }; } ); }; };\n",
		   "1: import needs an account and a subject");
	load_fails("accounts = { A = { imports = ( { service = { account = "
		   "\"B\"; subject = \"x\"; }; prefix = \"p\"; } ); }; };\n",
		   "1: a service import takes \"to\", not \"prefix\"");
	/* nkey users in an account: auth_nkey gets the whole file. */
	load_ok("accounts = { A = { users = ( { nkey = "
		"\"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\";"
		" } ); }; };\n");
	CU_ASSERT_EQUAL(o.nnkey_users, 1);
	CU_ASSERT_STRING_EQUAL(o.users[0].account, "A");
	CU_ASSERT_PTR_EQUAL(o.nkey_settings, conffile_root(&o));
	load_fails("accounts = { A = { limits = { max_bytes = 1; }; }; };\n",
		   "1: unknown key \"max_bytes\" in accounts.A.limits");
	load_fails("accounts = { A = { users = ( { user = \"u\"; } ); };\n"
		   "  B = { users = ( { user = \"u\"; } ); }; };\n",
		   "2: duplicate user \"u\" detected");
	validate_fails("accounts = { B = { imports = (\n"
		       "  { stream = { account = \"Z\"; subject = \"x\"; }; } "
		       "); }; };\n",
		       "2: \"Z\" account not defined for stream import");
	validate_fails("accounts = { A = { exports = ( { stream = \"foo.>\"; "
		       "} ); };\n B = { imports = (\n"
		       "  { stream = { account = \"A\"; subject = \"bar\"; }; }"
		       " ); }; };\n",
		       "3: Error adding stream import \"bar\": stream import "
		       "not authorized");
	validate_fails(
		"accounts = { A = { exports = ( { service = \"s\"; "
		"accounts = [\"B\"]; } ); };\n B = { }; C = { imports = "
		"(\n  { service = { account = \"A\"; subject = \"s\"; }; "
		"} ); }; };\n",
		"3: Error adding service import \"s\": service import "
		"not authorized");
	validate_fails("accounts = { A = { exports = (\n { stream = \"s\"; "
		       "accounts = [\"Q\"]; } ); }; };\n",
		       "2: \"Q\" account not defined for stream export");
}

static void test_numbers_and_sizes(void)
{
	load_ok("max_pending = 4294967296L; log_size_limit = \"1GB\";\n");
	CU_ASSERT_EQUAL(o.max_pending, 4294967296LL);
	CU_ASSERT_EQUAL(o.log_size_limit, 1LL << 30);
	load_ok("max_payload = 0x100; max_pending = \"1k\";\n");
	CU_ASSERT_EQUAL(o.max_payload, 256);
	CU_ASSERT_EQUAL(o.max_pending, 1000);
	load_ok("max_connections = -1;\n");
	CU_ASSERT_EQUAL(o.max_connections, -1);
}

static void test_durations(void)
{
	load_ok("ping_interval = 30; write_deadline = 1.5;\n"
		"lame_duck_grace_period = \"1h30m\";\n");
	CU_ASSERT_EQUAL(o.ping_interval, 30 * SEC);
	CU_ASSERT_EQUAL(o.write_deadline, 1500000000);
	CU_ASSERT_EQUAL(o.lame_duck_grace_period, 5400 * SEC);
	load_ok("authorization = { timeout = 0.5; };\n");
	CU_ASSERT_EQUAL(o.auth_timeout, 500000000);
	load_ok("authorization = { timeout = \"3s\"; };\n");
	CU_ASSERT_EQUAL(o.auth_timeout, 3 * SEC);
	load_fails("authorization = { timeout = -1; };\n",
		   "1: authorization.timeout must not be negative");
	load_ok("tcp_keepalive = false;\n");
	CU_ASSERT_EQUAL(o.tcp_keepalive, 0);
	load_ok("tcp_keepalive = true;\n");
	CU_ASSERT_EQUAL(o.tcp_keepalive, OPTS_DEFAULT_TCP_KEEPALIVE);
	load_ok("tcp_keepalive = 0;\n");
	CU_ASSERT_EQUAL(o.tcp_keepalive, 0);
}

/* ------------------------------------------------------------------ */
/* Authorization                                                       */

static void test_auth_single(void)
{
	load_ok("authorization = { user = \"u\"; password = \"p\"; };\n");
	CU_ASSERT_STRING_EQUAL(o.user, "u");
	CU_ASSERT_STRING_EQUAL(o.password, "p");
	load_ok("authorization = { username = \"u\"; pass = \"p\"; };\n");
	CU_ASSERT_STRING_EQUAL(o.user, "u");
	CU_ASSERT_STRING_EQUAL(o.password, "p");
	load_ok("authorization = { token = \"t\"; };\n");
	CU_ASSERT_STRING_EQUAL(o.token, "t");
	load_fails("authorization = {\n user = \"u\"; token = \"t\"; };\n",
		   "1: cannot have a user/pass and token");
	load_fails("authorization = { user = \"u\"; password = \"p\";\n"
		   "  users = ( { user = \"a\"; } ); };\n",
		   "1: can not have a single user/pass and a users array");
	load_fails("authorization = { token = \"t\";\n"
		   "  users = ( { user = \"a\"; } ); };\n",
		   "1: can not have a token and a users array");
}

static void test_auth_users(void)
{
	const struct opts_user *u;

	load_ok("authorization = {\n"
		"  users = (\n"
		"    { user = \"alice\"; password = \"$2a$11$abc\";\n"
		"      account = \"A\";\n"
		"      allowed_connection_types = [\"STANDARD\", "
		"\"websocket\"]; },\n"
		"    { username = \"bob\"; pass = \"pw\";\n"
		"      permissions = { publish = \"x\"; }; }\n"
		"  );\n"
		"  default_permissions = { subscribe = [\"pub.>\"]; };\n"
		"};\n"
		"no_auth_user = \"bob\";\n");
	CU_ASSERT_EQUAL_FATAL(o.nusers, 2);
	u = &o.users[0];
	CU_ASSERT_STRING_EQUAL(u->user, "alice");
	CU_ASSERT_STRING_EQUAL(u->password, "$2a$11$abc");
	CU_ASSERT_STRING_EQUAL(u->account, "A");
	CU_ASSERT_PTR_NULL(u->perms);
	CU_ASSERT(list_is(&u->conn_types, 2, "STANDARD", "websocket"));
	CU_ASSERT_STRING_EQUAL(u->file, path);
	CU_ASSERT_EQUAL(u->line, 3);
	u = opts_user_find(&o, "bob");
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_STRING_EQUAL(u->password, "pw");
	CU_ASSERT_PTR_NULL(u->account);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u->perms);
	CU_ASSERT(list_is(&u->perms->pub_allow, 1, "x"));
	CU_ASSERT_EQUAL(u->line, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.default_permissions);
	CU_ASSERT(list_is(&o.default_permissions->sub_allow, 1, "pub.>"));
	CU_ASSERT_STRING_EQUAL(o.no_auth_user, "bob");
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);

	load_ok("authorization = { users = []; permissions = { }; };\n");
	CU_ASSERT_EQUAL(o.nusers, 0);
	CU_ASSERT_PTR_NOT_NULL(o.default_permissions);

	load_fails("authorization = { users = (\n"
		   " { password = \"p\"; } ); };\n",
		   "2: user entry requires a user");
	load_fails("authorization = { users = (\n { user = \"c\"; },\n"
		   " { user = \"c\"; } ); };\n",
		   "3: duplicate user \"c\" detected");
	load_fails("authorization = { users = (\n { user = \"c\";\n"
		   "   foo = 1; } ); };\n",
		   "3: unknown key \"foo\" in authorization.users.[0]");
	/* nkey users: checked here, authenticated by auth_nkey. */
	load_ok("authorization = { users = (\n"
		" { user = \"c\"; password = \"p\"; },\n"
		" { nkey = "
		"\"UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3"
		"RLKK\";\n"
		"   account = \"A\"; } ); };\n");
	CU_ASSERT_EQUAL(o.nusers, 2);
	CU_ASSERT_EQUAL(o.nnkey_users, 1);
	CU_ASSERT_PTR_NOT_NULL(o.nkey_settings);
	CU_ASSERT_PTR_NULL(o.users[1].user);
	CU_ASSERT_STRING_EQUAL(o.users[1].account, "A");
	load_fails("authorization = { users = ( { nkey = \"UA\"; } ); };\n",
		   "1: Not a valid public nkey for a user");
	load_fails("authorization = { users = ( { nkey = \"AAB2CB576PHBBPQ5O"
		   "DORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QPZV\"; } ); };\n",
		   "1: Not a valid public nkey for a user");
	load_fails("authorization = { users = (\n { nkey = \"UAB2CB576PHBBPQ"
		   "5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK\";\n"
		   "   password = \"p\"; } ); };\n",
		   "2: Nkey users do not take usernames or passwords");
	load_fails(
		"authorization = { users = (\n { nkey = \"UAB2CB576PHBBPQ"
		"5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK\"; },\n"
		" { nkey = \"UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZAS"
		"KUY3RLKK\"; } ); };\n",
		"3: Duplicate nkey \"UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7"
		"DXOIMZASKUY3RLKK\" detected");
	load_fails("authorization = { users = ( \"x\" ); };\n",
		   "1: authorization.users.[0]: expected a group, not a "
		   "string");
	load_fails("authorization = { users = { user = \"x\"; }; };\n",
		   "1: authorization.users: expected a list of groups, "
		   "( { ... }, ... ), not a group");
	load_fails("authorization = { users = ( { user = \"c\";\n"
		   " allowed_connection_types = [\"PIGEON\"]; } ); };\n",
		   "2: invalid connection type \"PIGEON\" (expected STANDARD, "
		   "WEBSOCKET, LEAFNODE, LEAFNODE_WS, MQTT or MQTT_WS)");
	/* libconfig has no arrays of groups: nats-server's [ {...} ],
	 * which makes the file nats-server's format. */
	load_fails("authorization = {\n users = [ { user = \"c\"; } ]; };\n"
		   "plugins = ();\n",
		   "2: syntax error");
	load_ok("authorization = {\n users = [ { user = \"c\"; } ]; };\n");
	CU_ASSERT_STRING_EQUAL(o.config_format, "nats-server");
	CU_ASSERT_EQUAL(o.nusers, 1);
}

/* Loads a user with permissions text and returns them. */
static const struct opts_perms *perms_of(const char *perms)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "authorization = { users = ( { user = \"u\";\n"
		 "  permissions = %s; } ); };\n", perms);
	if (load(text) != 0) {
		fprintf(stderr, "\n  unexpected error: %s\n", err);
		return NULL;
	}
	return o.users[0].perms;
}

static void test_permissions(void)
{
	const struct opts_perms *p;

	p = perms_of("{ publish = \"foo\"; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(list_is(&p->pub_allow, 1, "foo"));
	CU_ASSERT_FALSE(p->pub_deny.set);
	CU_ASSERT_FALSE(p->sub_allow.set);
	CU_ASSERT_FALSE(p->has_resp);

	p = perms_of("{ publish = [\"a\", \"b.*\"]; subscribe = (\"c.>\"); }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(list_is(&p->pub_allow, 2, "a", "b.*"));
	CU_ASSERT(list_is(&p->sub_allow, 1, "c.>"));

	p = perms_of("{ publish = { allow = [\"a\"]; deny = \"b\"; };\n"
		     "  subscribe = { deny = [\"x\", \"y q\"]; }; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(list_is(&p->pub_allow, 1, "a"));
	CU_ASSERT(list_is(&p->pub_deny, 1, "b"));
	CU_ASSERT_FALSE(p->sub_allow.set);
	CU_ASSERT(list_is(&p->sub_deny, 2, "x", "y q"));

	p = perms_of("{ pub = []; sub = \"foo  grp\"; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(p->pub_allow.set);
	CU_ASSERT_EQUAL(p->pub_allow.n, 0);
	CU_ASSERT(list_is(&p->sub_allow, 1, "foo  grp"));

	p = perms_of("{ import = \"i\"; export = \"e\"; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(list_is(&p->pub_allow, 1, "i"));
	CU_ASSERT(list_is(&p->sub_allow, 1, "e"));

	p = perms_of("{ allow_responses = true; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(p->has_resp);
	CU_ASSERT_EQUAL(p->resp_max, 1);
	CU_ASSERT_EQUAL(p->resp_expires, 120 * SEC);

	p = perms_of("{ allow_responses = false; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_FALSE(p->has_resp);

	p = perms_of("{ allow_responses = { max = 5; expires = \"1m\"; }; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(p->has_resp);
	CU_ASSERT_EQUAL(p->resp_max, 5);
	CU_ASSERT_EQUAL(p->resp_expires, 60 * SEC);

	p = perms_of("{ allow_responses = { max = -3; ttl = 0; }; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->resp_max, -1);
	CU_ASSERT_EQUAL(p->resp_expires, 120 * SEC);

	p = perms_of("{ allow_responses = { max_msgs = 0; expiration = -1; "
		     "}; }");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->resp_max, 1);
	CU_ASSERT_EQUAL(p->resp_expires, -1);
}

static void test_permissions_errors(void)
{
	static const char pre[] =
		"authorization = { users = ( { user = \"u\";\n"
		"  permissions = ";
	static const struct {
		const char *perms;
		const char *msg;
	} t[] = {
		{ "{ foo = 1; }",
		  "2: unknown key \"foo\" in authorization.users.[0]."
		  "permissions" },
		{ "{ publish = { allow = \"a\"; foo = \"b\"; }; }",
		  "2: unknown key \"foo\" in subject permissions, only 'allow' "
		  "or 'deny' are permitted" },
		{ "{ publish = \"a..b\"; }",
		  "2: subject \"a..b\" is not a valid subject" },
		{ "{ publish = [\"ok\", \"a.>.b\"]; }",
		  "2: subject \"a.>.b\" is not a valid subject" },
		{ "{ publish = \".a\"; }",
		  "2: subject \".a\" is not a valid subject" },
		{ "{ publish = \"a q\"; }",
		  "2: subject \"a q\" is not a valid subject" },
		{ "{ subscribe = \"a q r\"; }",
		  "2: subject \"a q r\" is not a valid subject" },
		{ "{ subscribe = \"\"; }",
		  "2: subject \"\" is not a valid subject" },
		{ "{ publish = 5; }",
		  "2: authorization.users.[0].permissions.publish: expected a "
		  "subject or a list of subjects, not an integer" },
		{ "{ publish = { deny = [1]; }; }",
		  "2: authorization.users.[0].permissions.publish.deny: "
		  "expected a subject or a list of subjects, not an array" },
		{ "{ allow_responses = 1; }",
		  "2: authorization.users.[0].permissions.allow_responses: "
		  "expected a boolean or a group, not an integer" },
		{ "{ allow_responses = { bar = 1; }; }",
		  "2: unknown key \"bar\" in authorization.users.[0]."
		  "permissions.allow_responses" },
		{ "{ allow_responses = { expires = \"soon\"; }; }",
		  "2: authorization.users.[0].permissions.allow_responses."
		  "expires: invalid duration \"soon\" (expected e.g. \"2m\", "
		  "\"10s\", \"1h30m\", \"500ms\")" },
		{ "\"pub\"",
		  "2: authorization.users.[0].permissions: expected a group, "
		  "not a string" },
	};
	char text[1024];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), "%s%s; } ); };\n", pre,
			 t[i].perms);
		load_fails(text, t[i].msg);
	}
}

/* ------------------------------------------------------------------ */
/* Plugins and the getters                                             */

static const char plugins_conf[] =
	"plugins = (\n"
	"  { load = \"auth_x\";\n"
	"    settings = {\n"
	"      name = \"x\";\n"
	"      n = 42;\n"
	"      big = 5000000000L;\n"
	"      on = true;\n"
	"      every = \"1m30s\";\n"
	"      secs = 5;\n"
	"      frac = 0.25;\n"
	"      buf = \"64KB\";\n"
	"      raw = 100;\n"
	"      urls = [\"a\", \"b\", \"c\"];\n"
	"      mixed = (\"a\", 1);\n"
	"      one = \"solo\";\n"
	"      sub = { deep = { k = \"v\"; }; };\n"
	"      users = ( { name = \"u0\"; }, { name = \"u1\"; } );\n"
	"      neg = -1;\n"
	"    };\n"
	"  },\n"
	"  \"transport_tls\",\n"
	"  { load = \"/opt/p/link_route.so\"; }\n"
	");\n";

static void test_plugins(void)
{
	load_ok(plugins_conf);
	CU_ASSERT_EQUAL_FATAL(o.nplugins, 3);
	CU_ASSERT_STRING_EQUAL(o.plugins[0].load, "auth_x");
	CU_ASSERT_PTR_NOT_NULL(o.plugins[0].settings);
	CU_ASSERT_STRING_EQUAL(o.plugins[0].file, path);
	CU_ASSERT_EQUAL(o.plugins[0].line, 2);
	CU_ASSERT_STRING_EQUAL(o.plugins[1].load, "transport_tls");
	CU_ASSERT_PTR_NULL(o.plugins[1].settings);
	CU_ASSERT_EQUAL(o.plugins[1].line, 21);
	CU_ASSERT_STRING_EQUAL(o.plugins[2].load, "/opt/p/link_route.so");
	CU_ASSERT_PTR_NULL(o.plugins[2].settings);
	CU_ASSERT_EQUAL(o.plugins[2].line, 22);

	load_fails("plugins = ( { settings = { }; } );\n",
		   "1: plugin entry requires load = \"name\"");
	load_fails("plugins = ( { load = \"\"; } );\n",
		   "1: plugin entry requires load = \"name\"");
	load_fails("plugins = (\n { load = \"x\"; path = \"y\"; } );\n",
		   "2: unknown key \"path\" in plugins.[0]");
	load_fails("plugins = ( { load = \"x\";\n settings = 1; } );\n",
		   "2: plugins.[0].settings: expected a group, not an integer");
	load_fails("plugins = ( 5 );\n",
		   "1: plugins.[0]: expected a group { load = ...; settings = "
		   "{ ... }; } or a plugin name, not an integer");
	load_ok("plugins = [ \"a\", \"b\" ];\n");
	CU_ASSERT_EQUAL(o.nplugins, 2);
}

static void test_getters(void)
{
	const struct natsd_cfg *c, *sub, *deep;
	const char *s, *file;
	int64_t v;
	size_t n;
	bool b;
	int line;

	load_ok(plugins_conf);
	c = o.plugins[0].settings;

	CU_ASSERT_EQUAL(conffile_cfg_string(c, "name", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "x");
	CU_ASSERT_EQUAL(conffile_cfg_string(c, "n", &s), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_string(c, "nope", &s), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_string(c, "", &s), NATSD_ENOENT);

	v = 0;
	CU_ASSERT_EQUAL(conffile_cfg_int(c, "n", &v), 0);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(conffile_cfg_int(c, "big", &v), 0);
	CU_ASSERT_EQUAL(v, 5000000000LL);
	CU_ASSERT_EQUAL(conffile_cfg_int(c, "name", &v), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_int(c, "frac", &v), NATSD_EINVAL);
	CU_ASSERT_EQUAL(v, 5000000000LL); /* untouched on failure */
	CU_ASSERT_EQUAL(conffile_cfg_int(c, "nope", &v), NATSD_ENOENT);

	CU_ASSERT_EQUAL(conffile_cfg_bool(c, "on", &b), 0);
	CU_ASSERT(b);
	CU_ASSERT_EQUAL(conffile_cfg_bool(c, "n", &b), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_bool(c, "off", &b), NATSD_ENOENT);

	CU_ASSERT_EQUAL(conffile_cfg_duration(c, "every", &v), 0);
	CU_ASSERT_EQUAL(v, 90 * SEC);
	CU_ASSERT_EQUAL(conffile_cfg_duration(c, "secs", &v), 0);
	CU_ASSERT_EQUAL(v, 5 * SEC);
	CU_ASSERT_EQUAL(conffile_cfg_duration(c, "frac", &v), 0);
	CU_ASSERT_EQUAL(v, 250000000);
	CU_ASSERT_EQUAL(conffile_cfg_duration(c, "name", &v), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_duration(c, "on", &v), NATSD_EINVAL);

	CU_ASSERT_EQUAL(conffile_cfg_size(c, "buf", &v), 0);
	CU_ASSERT_EQUAL(v, 65536);
	CU_ASSERT_EQUAL(conffile_cfg_size(c, "raw", &v), 0);
	CU_ASSERT_EQUAL(v, 100);
	CU_ASSERT_EQUAL(conffile_cfg_size(c, "neg", &v), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_size(c, "name", &v), NATSD_EINVAL);

	CU_ASSERT_EQUAL(conffile_cfg_list_len(c, "urls", &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(conffile_cfg_list_string(c, "urls", 2, &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "c");
	CU_ASSERT_EQUAL(conffile_cfg_list_string(c, "urls", 3, &s),
			NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_list_len(c, "one", &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(conffile_cfg_list_string(c, "one", 0, &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "solo");
	CU_ASSERT_EQUAL(conffile_cfg_list_len(c, "mixed", &n), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_list_string(c, "mixed", 0, &s),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_list_len(c, "n", &n), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_list_len(c, "nope", &n), NATSD_ENOENT);

	CU_ASSERT_EQUAL(conffile_cfg_section(c, "sub", &sub), 0);
	CU_ASSERT_EQUAL(conffile_cfg_section(sub, "deep", &deep), 0);
	CU_ASSERT_EQUAL(conffile_cfg_string(deep, "k", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "v");
	CU_ASSERT_EQUAL(conffile_cfg_string(c, "sub.deep.k", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "v");
	CU_ASSERT_EQUAL(conffile_cfg_section(c, "users.[1]", &sub), 0);
	CU_ASSERT_EQUAL(conffile_cfg_string(sub, "name", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "u1");
	CU_ASSERT_EQUAL(conffile_cfg_section(c, "name", &sub), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_section(c, "urls", &sub), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_section(c, "nope", &sub), NATSD_ENOENT);

	/* ABI 1.1: lists of groups. */
	CU_ASSERT_EQUAL(conffile_cfg_sections_len(c, "users", &n), 0);
	CU_ASSERT(n >= 2);
	CU_ASSERT_EQUAL(conffile_cfg_sections_at(c, "users", 1, &sub), 0);
	CU_ASSERT_EQUAL(conffile_cfg_string(sub, "name", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "u1");
	CU_ASSERT_EQUAL(conffile_cfg_sections_at(c, "users", n, &sub),
			NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_sections_len(c, "urls", &n), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_sections_at(c, "urls", 0, &sub),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_sections_len(c, "sub", &n), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_sections_len(c, "nope", &n), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_sections_len(NULL, "users", &n),
			NATSD_ENOENT);

	CU_ASSERT_EQUAL(conffile_cfg_where(c, "n", &file, &line), 0);
	CU_ASSERT_STRING_EQUAL(file, path);
	CU_ASSERT_EQUAL(line, 5);
	CU_ASSERT_EQUAL(conffile_cfg_where(c, NULL, &file, &line), 0);
	CU_ASSERT_EQUAL(line, 3);
	CU_ASSERT_EQUAL(conffile_cfg_where(c, "users.[1].name", &file, &line),
			0);
	CU_ASSERT_EQUAL(line, 17);
	CU_ASSERT_EQUAL(conffile_cfg_where(c, "nope", &file, &line),
			NATSD_ENOENT);

	/* The whole file, for core modules. */
	c = conffile_root(&o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(conffile_cfg_list_len(c, "plugins", &n), NATSD_EINVAL);
	CU_ASSERT_EQUAL(conffile_cfg_string(c, "plugins.[1]", &s), 0);
	CU_ASSERT_STRING_EQUAL(s, "transport_tls");
}

static void test_null_cfg(void)
{
	const struct natsd_cfg *sub;
	const char *s, *file;
	int64_t v;
	size_t n;
	bool b;
	int line;

	CU_ASSERT_EQUAL(conffile_cfg_string(NULL, "a", &s), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_int(NULL, "a", &v), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_bool(NULL, "a", &b), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_duration(NULL, "a", &v), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_size(NULL, "a", &v), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_list_len(NULL, "a", &n), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_list_string(NULL, "a", 0, &s),
			NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_section(NULL, "a", &sub), NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_where(NULL, "a", &file, &line),
			NATSD_ENOENT);
	CU_ASSERT_EQUAL(conffile_cfg_where(NULL, NULL, &file, &line),
			NATSD_ENOENT);
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	CU_ASSERT_PTR_NULL(conffile_root(&o));
}

static void test_chain_and_transport(void)
{
	load_ok("auth_chain = \"auth_x\";\nclient_transport = \"tcp, tls\";\n");
	CU_ASSERT(list_is(&o.auth_chain, 1, "auth_x"));
	CU_ASSERT_EQUAL(o.auth_chain_at.line, 1);
	CU_ASSERT(list_is(&o.client_transport, 2, "tcp", "tls"));
	CU_ASSERT_EQUAL(o.client_transport_at.line, 2);
	load_ok("client_transport = (\"tcp\", \"websocket\");\n");
	CU_ASSERT(list_is(&o.client_transport, 2, "tcp", "websocket"));
}

/* The websocket block, and the checks opts_validate() makes on it. */
static void test_websocket(void)
{
	const struct opts_websocket *w = &o.websocket;

	load_ok("websocket = { port = 8080; no_tls = true; compression = "
		"true;\n"
		"  same_origin = true; allowed_origins = "
		"[\"http://a.example\"];\n"
		"  handshake_timeout = \"2s\"; jwt_cookie = \"jwt\";\n"
		"  authorization = { token = \"t\"; timeout = 3; }; };\n");
	CU_ASSERT(w->set && w->no_tls && w->compression && w->same_origin);
	CU_ASSERT_EQUAL(w->port, 8080);
	CU_ASSERT_STRING_EQUAL(w->host, "0.0.0.0");
	CU_ASSERT(list_is(&w->allowed_origins, 1, "http://a.example"));
	CU_ASSERT_EQUAL(w->handshake_timeout, 2 * OPTS_NS_PER_SEC);
	CU_ASSERT_STRING_EQUAL(w->jwt_cookie, "jwt");
	CU_ASSERT_STRING_EQUAL(w->token, "t");
	CU_ASSERT_EQUAL(w->auth_timeout, 3 * OPTS_NS_PER_SEC);
	CU_ASSERT(w->cfg != NULL);
	CU_ASSERT(opts_ws_auth_override(&o));
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);

	load_ok("ws = { listen = \"127.0.0.1:-1\"; no_tls = true; };\n");
	CU_ASSERT_STRING_EQUAL(w->host, "127.0.0.1");
	CU_ASSERT_EQUAL(w->port, -1);
	CU_ASSERT(!opts_ws_auth_override(&o));

	load_fails("websocket = { port = 1; foo = 1; };\n",
		   "1: unknown field \"foo\"");
	/* (A libconfig list makes the file natsd's format, where keys
	 * are exact; nats-server's format reads them without case.) */
	load_fails("websocket = { port = 1; Compression = true; };\n"
		   "plugins = ();\n",
		   "1: websocket: write \"Compression\" in lower case");
	load_fails("websocket = { port = 1; authorization = { users = (); };"
		   " };\n",
		   "1: unknown field \"users\"");
	load_fails("websocket = { allowed_origins = [\"%zz\"]; };\n",
		   "1: unable to parse allowed origin \"%zz\"");

	/* nats-server's start-up refusals. */
	load_ok("websocket = { port = 8080; };\n");
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "websocket requires TLS configuration");
	load_ok("websocket = { port = 0; };\n");
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);
	/* wss://: the tls block is the tls layer's section (which serves
	 * HTTP), not the client port's. */
	load_ok("websocket = { port = 8443; tls = { cert_file = \"w.pem\"; "
		"key_file = \"w.key\"; verify = true; }; };\n");
	CU_ASSERT(o.tls == NULL);
	CU_ASSERT_FATAL(w->tls != NULL);
	{
		const char *v = NULL;
		bool b = false;

		CU_ASSERT_EQUAL(conffile_cfg_string(w->tls, "cert_file", &v),
				0);
		CU_ASSERT_STRING_EQUAL(v, "w.pem");
		CU_ASSERT_EQUAL(conffile_cfg_bool(w->tls, "http_server", &b),
				0);
		CU_ASSERT_TRUE(b);
	}
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), 0);
	load_fails("websocket = { port = 8443; tls = 1; };\n",
		   "1: websocket.tls: expected a group, not an integer");
	load_ok("websocket = { port = 8080; no_tls = true; "
		"no_auth_user = \"bob\"; };\n");
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "no_auth_user: \"bob\" present, but users "
				    "are not defined");
	load_ok("authorization = { users = ({ user = \"a\"; password = \"b\"; "
		"}); };\nwebsocket = { port = 8080; no_tls = true; "
		"authorization = { token = \"t\"; }; };\n");
	CU_ASSERT_EQUAL(opts_validate(&o, err, sizeof(err)), NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "websocket authentication token not "
				    "compatible with presence of users/nkeys");
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static void test_include(void)
{
	char want[2048], sub[PATH_MAX], cwd[PATH_MAX];
	int rc;

	snprintf(sub, sizeof(sub), "%s/inc", dir);
	mkdir(sub, 0700);
	testfile_write(dir, "inc/limits.conf",
		       "# limits\n"
		       "max_payload = 2048;\n"
		       "@include \"inc/more.conf\"\n");
	testfile_write(dir, "inc/more.conf", "\nping_max = 7;\n");
	/* From another working directory: relative to the file's dir. */
	CU_ASSERT_FATAL(getcwd(cwd, sizeof(cwd)) != NULL);
	CU_ASSERT_FATAL(chdir("/") == 0);
	load_ok("port = 1;\n@include \"inc/limits.conf\"\nio_threads = 2;\n");
	CU_ASSERT_EQUAL(o.max_payload, 2048);
	CU_ASSERT_EQUAL(o.ping_max, 7);
	CU_ASSERT_EQUAL(o.io_threads, 2);

	/* A bad key in an included file: its own name and line. */
	testfile_write(dir, "inc/more.conf", "\n\nbogus = 1;\n");
	load("@include \"inc/limits.conf\"\n");
	snprintf(want, sizeof(want), "%s/inc/more.conf:3: unknown key "
		 "\"bogus\"", dir);
	CU_ASSERT_STRING_EQUAL(err, want);

	/* A syntax error in an included file. */
	testfile_write(dir, "inc/more.conf", "x = ;\n");
	rc = load("@include \"inc/limits.conf\"\n");
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	snprintf(want, sizeof(want), "%s/inc/more.conf:1: syntax error", dir);
	CU_ASSERT_STRING_EQUAL(err, want);

	load_fails("port = 1;\n@include \"inc/none.conf\"\n",
		   "2: cannot open include file");
	CU_ASSERT_FATAL(chdir(cwd) == 0);
}

static void test_file_errors(void)
{
	char want[2048], p[512];
	int rc;

	/* Neither grammar reads it; both stop on line 2: nats-server's
	 * message. */
	load_fails("port = 1;\nmax_payload = ;\n",
		   "2: key 'max_payload' has no value");
	/* ...unless the text shows libconfig's syntax. */
	load_fails("port = 1;\nmax_payload = ;\nplugins = (\n",
		   "2: syntax error");
	/* libconfig refuses duplicates; nats-server's format takes the
	 * last, so the file without a list is that format. */
	load_fails("port = 1;\nport = 2;\nplugins = ();\n",
		   "2: duplicate setting name");
	load_ok("port = 1;\nport = 2;\n");
	CU_ASSERT_EQUAL(o.port, 2);

	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	snprintf(p, sizeof(p), "%s/none.conf", dir);
	rc = conffile_load(p, &o, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EIO);
	snprintf(want, sizeof(want), "%s: No such file or directory", p);
	CU_ASSERT_STRING_EQUAL(err, want);

	rc = conffile_load(dir, &o, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EIO);
	snprintf(want, sizeof(want), "%s: is a directory", dir);
	CU_ASSERT_STRING_EQUAL(err, want);

	/* Once loaded, the options own the file: no second one. */
	load_ok("port = 1;\n");
	rc = conffile_load(path, &o, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EEXIST);

	/* A message cut to a tiny buffer stays a terminated string. */
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	testfile_write(dir, "natsd.conf", "foo = 1;\n");
	rc = conffile_load(path, &o, err, 8);
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	CU_ASSERT_EQUAL(strlen(err), 7);
}

/* A relative path stays relative, messages show it as given. */
static void test_relative_path(void)
{
	char cwd[PATH_MAX];
	int rc;

	CU_ASSERT_FATAL(getcwd(cwd, sizeof(cwd)) != NULL);
	CU_ASSERT_FATAL(chdir(dir) == 0);
	testfile_write(dir, "rel.conf", "\nfoo = 1;\n");
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	rc = conffile_load("rel.conf", &o, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "rel.conf:2: unknown key \"foo\"");
	testfile_write(dir, "inc/rel2.conf", "port = 9;\n");
	testfile_write(dir, "rel.conf", "@include \"inc/rel2.conf\"\n");
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	rc = conffile_load("rel.conf", &o, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(o.port, 9);
	CU_ASSERT_STRING_EQUAL(o.config_file, "rel.conf");
	CU_ASSERT_FATAL(chdir(cwd) == 0);
}

/* Every allocation of a full load fails in turn: a clean ENOMEM, no leak
 * (ASan's leak check reports at exit), no crash. */
static void test_alloc_failures(void)
{
	static const char text[] =
		"host = \"h\"; server_name = \"s\";\n"
		"listen = \"1.2.3.4:5\";\n"
		"authorization = { users = (\n"
		"  { user = \"a\"; password = \"p\"; account = \"A\";\n"
		"    allowed_connection_types = [\"STANDARD\"];\n"
		"    permissions = { publish = { allow = [\"a\", \"b\"]; "
		"deny = \"c\"; };\n"
		"      subscribe = \"d\"; allow_responses = true; }; },\n"
		"  { user = \"b\"; } );\n"
		"  default_permissions = { publish = \"x\"; }; };\n"
		"plugins = ( { load = \"p\"; settings = { a = { b = 1; }; }; },"
		" \"q\" );\n"
		"auth_chain = [\"builtin\", \"p\"];\n"
		"client_transport = \"tcp,tls\";\n";
	char p[PATH_MAX];
	unsigned long calls;
	struct opts lo;
	bool failed;
	long n;
	int rc;

	testfile_write(dir, "alloc.conf", text);
	snprintf(p, sizeof(p), "%s/alloc.conf", dir);
	calls = alloc_fail_calls();
	CU_ASSERT_FATAL(opts_init(&lo) == 0);
	CU_ASSERT_EQUAL_FATAL(conffile_load(p, &lo, err, sizeof(err)), 0);
	opts_fini(&lo);
	if (alloc_fail_calls() == calls) {
		fprintf(stderr, "\n  (allocation wrappers not linked: "
			"skipped) ");
		return;
	}
	for (n = 0; n < 100000; n++) {
		alloc_fail_start(n);
		rc = opts_init(&lo);
		if (rc == 0)
			rc = conffile_load(p, &lo, err, sizeof(err));
		failed = alloc_fail_stop();
		opts_fini(&lo);
		if (!failed) {
			CU_ASSERT_EQUAL(rc, 0);
			break;
		}
		CU_ASSERT_EQUAL(rc, NATSD_ENOMEM);
		if (rc != NATSD_ENOMEM)
			fprintf(stderr, "\n  allocation %ld: rc %d (%s)\n", n,
				rc, err);
	}
	CU_ASSERT(n > 20 && n < 100000);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "accounts", test_accounts },
		{ "parse_duration", test_parse_duration },
		{ "parse_size", test_parse_size },
		{ "all keys", test_all_keys },
		{ "aliases", test_aliases },
		{ "defaults kept", test_defaults_kept },
		{ "zero means default", test_zero_means_default },
		{ "listen", test_listen },
		{ "wrong types", test_wrong_types },
		{ "bad values", test_bad_values },
		{ "unknown and unsupported", test_unknown_and_unsupported },
		{ "tls block", test_tls_block },
		{ "numbers and sizes", test_numbers_and_sizes },
		{ "durations", test_durations },
		{ "auth single", test_auth_single },
		{ "auth users", test_auth_users },
		{ "permissions", test_permissions },
		{ "permissions errors", test_permissions_errors },
		{ "plugins", test_plugins },
		{ "getters", test_getters },
		{ "null cfg", test_null_cfg },
		{ "chain and transport", test_chain_and_transport },
		{ "websocket", test_websocket },
		{ "include", test_include },
		{ "file errors", test_file_errors },
		{ "relative path", test_relative_path },
		{ "alloc failures", test_alloc_failures },
	};
	static const struct suite suite = {
		"config", init_suite, clean_suite, tests, SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
