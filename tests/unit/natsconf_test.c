/* Tests for the nats-server config format reader: configurations shaped
 * like nats-server's documented examples, and errors with their lines. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "../suites.h"
#include "natsconf.h"
#include "testfile.h"

static char tmpdir[] = "/tmp/natsconf_test.XXXXXX";

static struct natsconf_value *parse_ok(const char *text)
{
	struct natsconf_value *root = NULL;
	char err[256];
	int rc;

	rc = natsconf_parse_string(text, "test.conf", &root, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "\nunexpected error: %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	return root;
}

/* Expects a parse error with exactly this message. */
static void parse_err(const char *text, const char *want)
{
	struct natsconf_value *root = NULL;
	char err[256];
	int rc;

	rc = natsconf_parse_string(text, "test.conf", &root, err, sizeof(err));
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NULL(root);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "\n got: %s\nwant: %s\n", err, want);
	CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_minimal(void)
{
	struct natsconf_value *r = parse_ok(
		"# minimal server\n"
		"port: 4222\n"
		"host: 0.0.0.0\n"
		"server_name: \"n1\"\n"
		"debug: false\n"
		"trace: true\n"
		"http_port: 8222\n"
		"ping_interval: \"2m\"\n"
		"ping_max: 2\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(natsconf_type(r), NATSCONF_MAP);
	CU_ASSERT_EQUAL(natsconf_map_size(r), 8);
	CU_ASSERT_STRING_EQUAL(natsconf_map_key(r, 0), "port");
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_value(r, 0)), 4222);
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(r, "host")),
			NATSCONF_STRING);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r, "host")),
			       "0.0.0.0");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r,
				"SERVER_NAME")), "n1");
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(r, "debug")),
			NATSCONF_BOOL);
	CU_ASSERT_FALSE(natsconf_bool(natsconf_map_get(r, "debug")));
	CU_ASSERT_TRUE(natsconf_bool(natsconf_map_get(r, "trace")));
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r,
				"ping_interval")), "2m");
	CU_ASSERT_EQUAL(natsconf_line(natsconf_map_get(r, "ping_max")), 9);
	CU_ASSERT_STRING_EQUAL(natsconf_file(natsconf_map_get(r, "port")),
			       "test.conf");
	CU_ASSERT_PTR_NULL(natsconf_map_get(r, "nope"));
	natsconf_free(r);
}

static void test_authorization(void)
{
	struct natsconf_value *r, *auth, *users, *u, *perm, *pub;

	r = parse_ok(
		"ADMIN_PASS: \"s3cr3t\"\n"
		"authorization {\n"
		"  default_permissions = {\n"
		"    publish = \"SANDBOX.*\"\n"
		"    subscribe = [\"PUBLIC.>\", \"_INBOX.>\"]\n"
		"  }\n"
		"  ADMIN = {\n"
		"    publish = \">\"\n"
		"    subscribe = \">\"\n"
		"  }\n"
		"  REQUESTOR = {\n"
		"    publish = { allow: [\"req.a\", \"req.b\"], deny: \"req.c\" }\n"
		"    subscribe = \"_INBOX.>\"\n"
		"    allow_responses: { max: 5, expires: \"1m\" }\n"
		"  }\n"
		"  users = [\n"
		"    {user: admin, password: $ADMIN_PASS, permissions: $ADMIN}\n"
		"    {user: client, password: 'pa$$ \\w', permissions: $REQUESTOR}\n"
		"    {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}\n"
		"  ]\n"
		"  timeout: 0.5\n"
		"}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	auth = natsconf_map_get(r, "authorization");
	CU_ASSERT_EQUAL(natsconf_type(auth), NATSCONF_MAP);
	CU_ASSERT_EQUAL(natsconf_line(auth), 2);
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(auth, "timeout")),
			NATSCONF_FLOAT);
	CU_ASSERT_DOUBLE_EQUAL(natsconf_float(natsconf_map_get(auth,
				"timeout")), 0.5, 1e-9);
	users = natsconf_map_get(auth, "users");
	CU_ASSERT_EQUAL(natsconf_type(users), NATSCONF_ARRAY);
	CU_ASSERT_EQUAL_FATAL(natsconf_array_size(users), 3);
	u = natsconf_array_get(users, 0);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(u, "user")),
			       "admin");
	/* a variable defined at top level, used two blocks down */
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(u,
				"password")), "s3cr3t");
	perm = natsconf_map_get(u, "permissions");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(perm,
				"publish")), ">");
	u = natsconf_array_get(users, 1);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(u,
				"password")), "pa$$ \\w");
	perm = natsconf_map_get(u, "permissions");
	pub = natsconf_map_get(perm, "publish");
	CU_ASSERT_EQUAL(natsconf_array_size(natsconf_map_get(pub, "allow")),
			2);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(pub,
				"deny")), "req.c");
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(natsconf_map_get(perm,
				"allow_responses"), "max")), 5);
	u = natsconf_array_get(users, 2);
	CU_ASSERT_EQUAL(natsconf_line(u), 19);
	CU_ASSERT_EQUAL(natsconf_map_size(u), 1);
	CU_ASSERT_PTR_NULL(natsconf_array_get(users, 3));
	natsconf_free(r);
}

static void test_accounts(void)
{
	struct natsconf_value *r, *accs, *a, *b, *imp, *exp;

	r = parse_ok(
		"accounts: {\n"
		"  A: {\n"
		"    users: [ {user: a, password: a} ]\n"
		"    exports: [\n"
		"      {stream: \"events.>\"}\n"
		"      {service: \"req.help\", accounts: [B], response_type: stream}\n"
		"    ]\n"
		"    jetstream: enabled\n"
		"  },\n"
		"  B: {\n"
		"    users: [ {user: b, password: b} ]\n"
		"    imports: [\n"
		"      {stream: {account: A, subject: \"events.>\"}, prefix: from_a}\n"
		"      {service: {account: A, subject: \"req.help\"}, to: help}\n"
		"    ]\n"
		"  }\n"
		"  SYS: { users: [ {user: sys, password: sys} ] }\n"
		"}\n"
		"system_account: SYS\n"
		"no_auth_user: a\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	accs = natsconf_map_get(r, "accounts");
	CU_ASSERT_EQUAL(natsconf_map_size(accs), 3);
	CU_ASSERT_STRING_EQUAL(natsconf_map_key(accs, 2), "SYS");
	a = natsconf_map_get(accs, "a");
	exp = natsconf_array_get(natsconf_map_get(a, "exports"), 1);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_array_get(
			natsconf_map_get(exp, "accounts"), 0)), "B");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(a,
				"jetstream")), "enabled");
	b = natsconf_map_get(accs, "B");
	imp = natsconf_array_get(natsconf_map_get(b, "imports"), 0);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(
			natsconf_map_get(imp, "stream"), "subject")),
			"events.>");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(imp,
				"prefix")), "from_a");
	CU_ASSERT_EQUAL(natsconf_line(imp), 13);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r,
				"system_account")), "SYS");
	natsconf_free(r);
}

static void test_cluster_leaf_ws(void)
{
	struct natsconf_value *r, *c, *routes, *leaf, *rem, *ws;

	r = parse_ok(
		"cluster {\n"
		"  name: C1\n"
		"  listen: 127.0.0.1:6222\n"
		"  authorization { user: ruser, password: T0pS3cr3t, timeout: 2 }\n"
		"  routes = [\n"
		"    nats-route://ruser:T0pS3cr3t@127.0.0.1:6223\n"
		"    nats-route://ruser:T0pS3cr3t@127.0.0.1:6224\n"
		"  ]\n"
		"  no_advertise: true\n"
		"  connect_retries: 30\n"
		"}\n"
		"leafnodes {\n"
		"  port: 7422\n"
		"  remotes = [\n"
		"    { url: \"nats-leaf://127.0.0.1:7422\", account: A,\n"
		"      credentials: \"/etc/a.creds\" },\n"
		"    { urls: [\"ws://h1:443\", \"wss://h2:443\"], hub: yes,\n"
		"      deny_imports: [\"foo.*\"], ws_compression: on }\n"
		"  ]\n"
		"}\n"
		"websocket {\n"
		"  port: 8080\n"
		"  no_tls: true\n"
		"  same_origin: false\n"
		"  allowed_origins: [\"http://a.com\", \"https://b.com:8443\"]\n"
		"  compression: off\n"
		"  handshake_timeout: \"2s\"\n"
		"  jwt_cookie: \"my_jwt\"\n"
		"}\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	c = natsconf_map_get(r, "cluster");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(c, "listen")),
			       "127.0.0.1:6222");
	routes = natsconf_map_get(c, "routes");
	CU_ASSERT_EQUAL_FATAL(natsconf_array_size(routes), 2);
	/* "//" inside a bare URL is not a comment */
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_array_get(routes, 1)),
			"nats-route://ruser:T0pS3cr3t@127.0.0.1:6224");
	CU_ASSERT_EQUAL(natsconf_line(natsconf_array_get(routes, 1)), 7);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(natsconf_map_get(c,
				"authorization"), "timeout")), 2);
	leaf = natsconf_map_get(r, "leafnodes");
	rem = natsconf_map_get(leaf, "remotes");
	CU_ASSERT_EQUAL_FATAL(natsconf_array_size(rem), 2);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(
			natsconf_array_get(rem, 0), "credentials")),
			"/etc/a.creds");
	CU_ASSERT_TRUE(natsconf_bool(natsconf_map_get(natsconf_array_get(rem,
				1), "hub")));
	CU_ASSERT_TRUE(natsconf_bool(natsconf_map_get(natsconf_array_get(rem,
				1), "ws_compression")));
	ws = natsconf_map_get(r, "websocket");
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(ws, "port")), 8080);
	CU_ASSERT_FALSE(natsconf_bool(natsconf_map_get(ws, "compression")));
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(ws, "compression")),
			NATSCONF_BOOL);
	CU_ASSERT_EQUAL(natsconf_array_size(natsconf_map_get(ws,
				"allowed_origins")), 2);
	natsconf_free(r);
}

static void test_syntax(void)
{
	struct natsconf_value *r, *a, *m;

	r = parse_ok(
		"// slash comment\n"
		"a: 1 # trailing hash comment\n"
		"b = 2 // trailing slash comment\n"
		"c 3\n"
		"d:4; e=5, f 6\n"
		"\"quoted key\": \"x\\ty\\\"z\\xc3\\xa9\"\n"
		"'single key' = 'raw\\n'\n"
		"arr1 [1, 2, 3]\n"
		"arr2 [\n  1\n  2,\n  # comment\n  3,\n]\n"
		"m {x:1,y:2}\n"
		"neg: -42\n"
		"f: 3.25\n"
		"ip: 10.0.0.1\n"
		"t1: TRUE, t2: Yes, t3: on, f1: off, f2: NO\n"
		"multi: \"two\nlines\"\n"
		"word: truey\n"
		"dur: 10ms\n"
		"a: 7\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	/* the repeated key replaced the first, in its place */
	CU_ASSERT_STRING_EQUAL(natsconf_map_key(r, 0), "a");
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "a")), 7);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "b")), 2);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "c")), 3);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "d")), 4);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "e")), 5);
	/* "f" is repeated below as a float: the last one wins */
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(r, "f")),
			NATSCONF_FLOAT);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r,
				"quoted key")), "x\ty\"z\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r,
				"single key")), "raw\\n");
	a = natsconf_map_get(r, "arr1");
	CU_ASSERT_EQUAL(natsconf_array_size(a), 3);
	a = natsconf_map_get(r, "arr2");
	CU_ASSERT_EQUAL_FATAL(natsconf_array_size(a), 3);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_array_get(a, 2)), 3);
	CU_ASSERT_EQUAL(natsconf_line(natsconf_array_get(a, 2)), 13);
	m = natsconf_map_get(r, "m");
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(m, "y")), 2);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "neg")), -42);
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(r, "ip")),
			NATSCONF_STRING);
	CU_ASSERT_TRUE(natsconf_bool(natsconf_map_get(r, "t1")));
	CU_ASSERT_TRUE(natsconf_bool(natsconf_map_get(r, "t2")));
	CU_ASSERT_TRUE(natsconf_bool(natsconf_map_get(r, "t3")));
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(r, "f1")),
			NATSCONF_BOOL);
	CU_ASSERT_FALSE(natsconf_bool(natsconf_map_get(r, "f2")));
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(r, "word")),
			NATSCONF_STRING);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r, "dur")),
			       "10ms");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r, "multi")),
			       "two\nlines");
	/* lines still count inside the string */
	CU_ASSERT_EQUAL(natsconf_line(natsconf_map_get(r, "word")), 22);
	natsconf_free(r);
}

static void test_sizes(void)
{
	struct natsconf_value *r = parse_ok(
		"a: 1KB\nb: 1k\nc: 64MB\nd: 2m\ne: 1ki\nf: 1KiB\ng: 2G\n"
		"h: 2gb\ni: 1t\nj: 1TB\nk: 10\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "a")), 1024);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "b")), 1000);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "c")),
			64 * 1024 * 1024);
	/* as in nats-server: a bare 2m is two million, not two minutes */
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "d")), 2000000);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "e")), 1024);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "f")), 1024);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "g")), 2000000000);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "h")),
			2LL * 1024 * 1024 * 1024);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "i")),
			1000000000000LL);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "j")),
			1LL << 40);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "k")), 10);
	natsconf_free(r);
}

static void test_variables(void)
{
	struct natsconf_value *r, *inner;

	setenv("NATSCONF_TEST_PORT", "4333", 1);
	setenv("NATSCONF_TEST_NAME", "from env", 1);
	r = parse_ok(
		"TOKEN: \"top\"\n"
		"port: $NATSCONF_TEST_PORT\n"
		"name: $NATSCONF_TEST_NAME\n"
		"outer {\n"
		"  TOKEN: \"inner\"\n"
		"  a: $TOKEN\n"
		"}\n"
		"b: $TOKEN\n"
		"list: [$TOKEN, $NATSCONF_TEST_PORT]\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(natsconf_type(natsconf_map_get(r, "port")),
			NATSCONF_INT);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "port")), 4333);
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r, "name")),
			       "from env");
	inner = natsconf_map_get(r, "outer");
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(inner, "a")),
			       "inner");
	/* the inner definition is scoped to its block */
	CU_ASSERT_STRING_EQUAL(natsconf_string(natsconf_map_get(r, "b")),
			       "top");
	CU_ASSERT_EQUAL(natsconf_int(natsconf_array_get(natsconf_map_get(r,
				"list"), 1)), 4333);
	natsconf_free(r);
}

static void test_include(void)
{
	struct natsconf_value *r, *auth, *v;
	char path[512], err[256];
	int rc;

	snprintf(path, sizeof(path), "%s/sub", tmpdir);
	mkdir(path, 0700);
	testfile_write(tmpdir, "sub/auth.conf",
		       "user: bob\n"
		       "password: $PASS\n"
		       "include 'perm.conf'\n");
	testfile_write(tmpdir, "sub/perm.conf", "timeout: 3\n");
	testfile_write(tmpdir, "main.conf",
		       "PASS: \"pw\"\n"
		       "port: 4222\n"
		       "authorization {\n"
		       "  include \"sub/auth.conf\"\n"
		       "}\n"
		       "include sub/perm.conf\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	r = NULL;
	rc = natsconf_parse_file(path, &r, err, sizeof(err));
	if (rc)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(natsconf_file(r), path);
	auth = natsconf_map_get(r, "authorization");
	v = natsconf_map_get(auth, "password");
	CU_ASSERT_STRING_EQUAL(natsconf_string(v), "pw");
	CU_ASSERT_EQUAL(natsconf_line(v), 2);
	snprintf(path, sizeof(path), "%s/sub/auth.conf", tmpdir);
	CU_ASSERT_STRING_EQUAL(natsconf_file(v), path);
	v = natsconf_map_get(auth, "timeout");
	CU_ASSERT_EQUAL(natsconf_int(v), 3);
	snprintf(path, sizeof(path), "%s/sub/perm.conf", tmpdir);
	CU_ASSERT_STRING_EQUAL(natsconf_file(v), path);
	CU_ASSERT_EQUAL(natsconf_int(natsconf_map_get(r, "timeout")), 3);
	natsconf_free(r);

	/* an error inside an included file names that file */
	testfile_write(tmpdir, "bad.conf", "a: 1\n\nb: $NOPE_NATSCONF\n");
	testfile_write(tmpdir, "top.conf", "x: 1\ninclude bad.conf\n");
	snprintf(path, sizeof(path), "%s/top.conf", tmpdir);
	r = NULL;
	rc = natsconf_parse_file(path, &r, err, sizeof(err));
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NULL(r);
	snprintf(path, sizeof(path), "%s/bad.conf:3: variable reference for "
		 "'NOPE_NATSCONF' can not be found", tmpdir);
	CU_ASSERT_STRING_EQUAL(err, path);

	/* a file that includes itself stops */
	testfile_write(tmpdir, "loop.conf", "include loop.conf\n");
	snprintf(path, sizeof(path), "%s/loop.conf", tmpdir);
	rc = natsconf_parse_file(path, &r, err, sizeof(err));
	CU_ASSERT(rc < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "loop.conf:1: error parsing "
				      "include file 'loop.conf'"));
}

static void test_errors(void)
{
	struct natsconf_value *r = NULL;
	char err[256];
	int rc;

	parse_err("port: 4222\nauthorization {\n  user: a\n",
		  "test.conf:4: unexpected EOF processing map");
	parse_err("a: [1, 2\n", "test.conf:2: unexpected EOF processing array");
	parse_err("a: 1\nport: $NATSCONF_UNDEFINED\n",
		  "test.conf:2: variable reference for 'NATSCONF_UNDEFINED' "
		  "can not be found");
	parse_err("a: 1\n\ninclude \"nope.conf\"\n",
		  "test.conf:3: error parsing include file 'nope.conf', "
		  "nope.conf: No such file or directory");
	parse_err("a: 1\nb: \"abc\nc: 1\n",
		  "test.conf:2: unterminated quoted string");
	parse_err("a: 1\nb:\n", "test.conf:2: key 'b' has no value");
	parse_err("a: 1\n}\n", "test.conf:2: unexpected '}'");
	parse_err("a: \"x\\u00e9\"\n",
		  "test.conf:1: invalid escape in quoted string");
	parse_err("a: \"x\\q\"\n",
		  "test.conf:1: invalid escape in quoted string");
	parse_err("a: 99999999999999999999\n",
		  "test.conf:1: integer '99999999999999999999' out of range");
	parse_err("a: 10000PB\n",
		  "test.conf:1: integer '10000PB' out of range");
	parse_err("a {\n b: [1, 2 }\n", "test.conf:2: unexpected '}' in array");
	/* as nats-server: blanks do not separate array items or pairs */
	parse_err("a: [1 2 3]\n", "test.conf:1: unexpected '2' in array");
	parse_err("a: 1 b: 2\n", "test.conf:1: unexpected 'b' after value");
	parse_err("x: {\n  a: 1 b: 2 }\n",
		  "test.conf:2: unexpected 'b' after value");

	/* nesting is bounded: the parser recurses */
	{
		char deep[256];

		memset(deep, '[', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\0';
		deep[0] = 'a';
		deep[1] = ':';
		parse_err(deep, "test.conf:1: nesting too deep");
	}

	rc = natsconf_parse_file("/nonexistent/natsconf.conf", &r, err,
				 sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/natsconf.conf:0: error "
			       "opening config file: No such file or "
			       "directory");
}

static void cleanup_tmp(void)
{
	static const char *const files[] = {
		"sub/auth.conf", "sub/perm.conf", "main.conf", "bad.conf",
		"top.conf", "loop.conf", "sub",
	};
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		remove(path);
	}
	rmdir(tmpdir);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "minimal", test_minimal },
		{ "authorization", test_authorization },
		{ "accounts", test_accounts },
		{ "cluster, leafnodes, websocket", test_cluster_leaf_ws },
		{ "syntax", test_syntax },
		{ "sizes", test_sizes },
		{ "variables", test_variables },
		{ "include", test_include },
		{ "errors", test_errors },
	};
	static const struct suite suite = {
		"natsconf", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	if (!mkdtemp(tmpdir))
		return 1;
	rc = suites_run(&suite, 1);
	cleanup_tmp();
	return rc == 0 ? 0 : 1;
}
