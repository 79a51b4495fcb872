/* Tests for core/cli.c: every flag in every form Go's flag package takes,
 * the order overrides apply in, and the errors (with nats-server's
 * wording, output and exit status). Allocation failures are injected when
 * linked with
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

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "alloc_fail.h"
#include "cli.h"
#include "conffile.h"
#include "opts.h"
#include "../suites.h"

#define SEC OPTS_NS_PER_SEC

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static char err[512];
static struct cli *cli;
static struct opts o;

/* Parses "natsd" plus the NULL-terminated arguments; on success applies
 * them to fresh defaults in o. */
static int parse_args(const char *a, ...)
{
	char *argv[64];
	va_list ap;
	int argc = 0, rc;

	argv[argc++] = (char *)"natsd";
	va_start(ap, a);
	for (; a != NULL && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	cli_free(cli);
	cli = NULL;
	err[0] = '\0';
	rc = cli_parse(argc, argv, &cli, err, sizeof(err));
	opts_fini(&o);
	CU_ASSERT_FATAL(opts_init(&o) == 0);
	if (rc == 0)
		CU_ASSERT_EQUAL(cli_apply(cli, &o), 0);
	return rc;
}

#define PARSE(...) parse_args(__VA_ARGS__, (const char *)NULL)

/* Expects the parse to succeed. */
#define OK(...)                                                             \
	do {                                                                \
		int rc_ = PARSE(__VA_ARGS__);                               \
		CU_ASSERT_EQUAL(rc_, 0);                                    \
		if (rc_ != 0)                                               \
			fprintf(stderr, "\n  line %d: %s\n", __LINE__, err); \
	} while (0)

/* Expects the parse to fail with rc and message msg. */
#define FAILS(rc, msg, ...)                                                 \
	do {                                                                \
		int rc_ = PARSE(__VA_ARGS__);                               \
		CU_ASSERT_EQUAL(rc_, (rc));                                 \
		CU_ASSERT_STRING_EQUAL(err, (msg));                         \
		if (rc_ != (rc) || strcmp(err, (msg)) != 0)                 \
			fprintf(stderr, "\n  line %d: rc %d, \"%s\"\n",     \
				__LINE__, rc_, err);                        \
		CU_ASSERT_PTR_NULL(cli);                                    \
	} while (0)

static int clean_suite(void)
{
	cli_free(cli);
	cli = NULL;
	opts_fini(&o);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Flag forms                                                          */

static void test_value_forms(void)
{
	static const char *const forms[][2] = {
		{ "-p", NULL },	       { "--p", NULL },
		{ "-port", NULL },     { "--port", NULL },
		{ "-p=4333", "" },     { "--p=4333", "" },
		{ "-port=4333", "" },  { "--port=4333", "" },
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (forms[i][1] == NULL)
			rc = PARSE(forms[i][0], "4333");
		else
			rc = PARSE(forms[i][0]);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(o.port, 4333);
	}
	/* A value may start with '-'. */
	OK("-p", "-1");
	CU_ASSERT_EQUAL(o.port, -1);
	OK("--port=-1");
	CU_ASSERT_EQUAL(o.port, -1);
	OK("-l", "-D");
	CU_ASSERT_STRING_EQUAL(o.log_file, "-D");
	CU_ASSERT_FALSE(o.debug);
	/* '=' splits at the first one only. */
	OK("--user=a=b");
	CU_ASSERT_STRING_EQUAL(o.user, "a=b");
	/* Port 0 is the default port, as in nats-server. */
	OK("-p", "0");
	CU_ASSERT_EQUAL(o.port, OPTS_DEFAULT_PORT);
}

static void test_bool_forms(void)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true",
					   "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false",
					  "False" };
	char arg[32];
	size_t i;

	OK("-D");
	CU_ASSERT(o.debug);
	OK("--D");
	CU_ASSERT(o.debug);
	OK("--debug");
	CU_ASSERT(o.debug);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(arg, sizeof(arg), "-D=%s", yes[i]);
		OK(arg);
		CU_ASSERT(o.debug);
		snprintf(arg, sizeof(arg), "--debug=%s", no[i]);
		OK("-D", arg);
		CU_ASSERT_FALSE(o.debug);
	}
	FAILS(NATSD_EINVAL, "invalid boolean value \"maybe\" for -D: parse "
	      "error", "-D=maybe");
	FAILS(NATSD_EINVAL, "invalid boolean value \"\" for -debug: parse "
	      "error", "--debug=");
	/* "-D false": the flags end at "false". */
	FAILS(NATSD_ENOENT, "unrecognized command: \"false\"", "-D", "false");
	/* Logtime defaults to true and can be switched off. */
	OK("-T=false");
	CU_ASSERT_FALSE(o.logtime);
	OK("--logtime=false", "--logtime");
	CU_ASSERT(o.logtime);
}

/* Every flag and its aliases. */
static void test_every_flag(void)
{
	OK("-a", "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(o.host, "127.0.0.1");
	OK("--addr", "::1");
	CU_ASSERT_STRING_EQUAL(o.host, "::1");
	OK("--net=10.1.1.1");
	CU_ASSERT_STRING_EQUAL(o.host, "10.1.1.1");
	OK("-a", "");
	CU_ASSERT_STRING_EQUAL(o.host, OPTS_DEFAULT_HOST);
	OK("-n", "n1");
	CU_ASSERT_STRING_EQUAL(o.server_name, "n1");
	OK("--name", "n2");
	CU_ASSERT_STRING_EQUAL(o.server_name, "n2");
	OK("--server_name", "n3");
	CU_ASSERT_STRING_EQUAL(o.server_name, "n3");
	OK("-P", "x.pid");
	CU_ASSERT_STRING_EQUAL(o.pid_file, "x.pid");
	OK("--pid", "y.pid");
	CU_ASSERT_STRING_EQUAL(o.pid_file, "y.pid");
	OK("-m", "8222", "-ms", "8443");
	CU_ASSERT_EQUAL(o.http_port, 8222);
	CU_ASSERT_EQUAL(o.https_port, 8443);
	OK("--http_port=1", "--https_port=-1");
	CU_ASSERT_EQUAL(o.http_port, 1);
	CU_ASSERT_EQUAL(o.https_port, -1);
	OK("-c", "a.conf");
	CU_ASSERT_STRING_EQUAL(cli_config_file(cli), "a.conf");
	OK("--config", "b.conf");
	CU_ASSERT_STRING_EQUAL(cli_config_file(cli), "b.conf");
	OK("-config=c.conf");
	CU_ASSERT_STRING_EQUAL(cli_config_file(cli), "c.conf");
	OK("-c", "");
	CU_ASSERT_PTR_NULL(cli_config_file(cli));
	OK("-t", "-c", "a.conf");
	CU_ASSERT(cli_check_config(cli));
	CU_ASSERT(o.check_config);
	OK("-sl", "reload");
	CU_ASSERT_STRING_EQUAL(cli_signal(cli), "reload");
	OK("--signal", "stop=/run/natsd.pid");
	CU_ASSERT_STRING_EQUAL(cli_signal(cli), "stop=/run/natsd.pid");
	OK("--client_advertise", "h:1");
	CU_ASSERT_STRING_EQUAL(o.client_advertise, "h:1");
	OK("--ports_file_dir", "/tmp");
	CU_ASSERT_STRING_EQUAL(o.ports_file_dir, "/tmp");
	OK("-l", "a.log");
	CU_ASSERT_STRING_EQUAL(o.log_file, "a.log");
	OK("--log", "logs/b.log");
	CU_ASSERT_STRING_EQUAL(o.log_file, "logs/b.log");
	OK("-s");
	CU_ASSERT(o.syslog);
	OK("--syslog=true", "-s=false");
	CU_ASSERT_FALSE(o.syslog);
	OK("-r", "udp://localhost:514");
	CU_ASSERT_STRING_EQUAL(o.remote_syslog, "udp://localhost:514");
	OK("--remote_syslog", "udp://h:1");
	CU_ASSERT_STRING_EQUAL(o.remote_syslog, "udp://h:1");
	OK("-V");
	CU_ASSERT(o.trace && !o.debug && !o.trace_verbose);
	OK("--trace");
	CU_ASSERT(o.trace);
	OK("-VV");
	CU_ASSERT(o.trace && o.trace_verbose && !o.debug);
	OK("-DV");
	CU_ASSERT(o.trace && o.debug && !o.trace_verbose);
	OK("-DVV");
	CU_ASSERT(o.trace && o.debug && o.trace_verbose);
	OK("--log_size_limit", "1000");
	CU_ASSERT_EQUAL(o.log_size_limit, 1000);
	OK("--log_size_limit=10MB");
	CU_ASSERT_EQUAL(o.log_size_limit, 10LL << 20);
	OK("--max_traced_msg_len", "64");
	CU_ASSERT_EQUAL(o.max_traced_msg_len, 64);
	OK("--user", "u", "--pass", "p");
	CU_ASSERT_STRING_EQUAL(o.user, "u");
	CU_ASSERT_STRING_EQUAL(o.password, "p");
	OK("--auth", "tok");
	CU_ASSERT_STRING_EQUAL(o.token, "tok");
	OK("--plugin-dir", "/p1");
	CU_ASSERT_STRING_EQUAL(o.plugin_dir, "/p1");
	OK("--plugin_dir=/p2");
	CU_ASSERT_STRING_EQUAL(o.plugin_dir, "/p2");
	OK("--io_threads", "4");
	CU_ASSERT_EQUAL(o.io_threads, 4);
	OK("--io-threads=0");
	CU_ASSERT_EQUAL(o.io_threads, 0);
	/* Nothing given: nothing changes. */
	OK(NULL);
	CU_ASSERT_EQUAL(o.port, OPTS_DEFAULT_PORT);
	CU_ASSERT_PTR_NULL(cli_config_file(cli));
	CU_ASSERT_PTR_NULL(cli_signal(cli));
	CU_ASSERT_FALSE(cli_want_help(cli) || cli_want_version(cli) ||
			cli_check_config(cli));
	/* An empty string unsets. */
	OK("--user", "");
	CU_ASSERT_PTR_NULL(o.user);
}

static void test_numbers(void)
{
	OK("-p", "0x10");
	CU_ASSERT_EQUAL(o.port, 16);
	OK("-p", "0X1f");
	CU_ASSERT_EQUAL(o.port, 31);
	OK("-p", "017");
	CU_ASSERT_EQUAL(o.port, 15);
	OK("-p", "0o17");
	CU_ASSERT_EQUAL(o.port, 15);
	OK("-p", "0b101");
	CU_ASSERT_EQUAL(o.port, 5);
	OK("-p", "1_000");
	CU_ASSERT_EQUAL(o.port, 1000);
	OK("-p", "0x_1_0");
	CU_ASSERT_EQUAL(o.port, 16);
	OK("-p", "+5");
	CU_ASSERT_EQUAL(o.port, 5);
	OK("--log_size_limit", "9223372036854775807");
	CU_ASSERT_EQUAL(o.log_size_limit, INT64_MAX);

	FAILS(NATSD_EINVAL, "invalid value \"abc\" for flag -p: parse error",
	      "-p", "abc");
	FAILS(NATSD_EINVAL, "invalid value \"abc\" for flag -port: parse "
	      "error", "--port=abc");
	FAILS(NATSD_EINVAL, "invalid value \"1e3\" for flag -p: parse error",
	      "-p", "1e3");
	FAILS(NATSD_EINVAL, "invalid value \" 5\" for flag -p: parse error",
	      "-p", " 5");
	FAILS(NATSD_EINVAL, "invalid value \"\" for flag -p: parse error",
	      "-p=");
	FAILS(NATSD_EINVAL, "invalid value \"_1\" for flag -p: parse error",
	      "-p", "_1");
	FAILS(NATSD_EINVAL, "invalid value \"1__0\" for flag -p: parse error",
	      "-p", "1__0");
	FAILS(NATSD_EINVAL, "invalid value \"1_\" for flag -p: parse error",
	      "-p", "1_");
	FAILS(NATSD_EINVAL, "invalid value \"08\" for flag -p: parse error",
	      "-p", "08");
	FAILS(NATSD_EINVAL, "invalid value \"0x\" for flag -p: parse error",
	      "-p", "0x");
	FAILS(NATSD_EINVAL, "invalid value \"99999\" for flag -p: value out "
	      "of range", "-p", "99999");
	FAILS(NATSD_EINVAL, "invalid value \"-2\" for flag -p: value out of "
	      "range", "-p", "-2");
	FAILS(NATSD_EINVAL, "invalid value \"9223372036854775808\" for flag "
	      "-log_size_limit: value out of range", "--log_size_limit",
	      "9223372036854775808");
	FAILS(NATSD_EINVAL, "invalid value \"-1\" for flag -log_size_limit: "
	      "value out of range", "--log_size_limit", "-1");
	FAILS(NATSD_EINVAL, "invalid value \"1XB\" for flag -log_size_limit: "
	      "parse error", "--log_size_limit", "1XB");
	FAILS(NATSD_EINVAL, "invalid value \"5000\" for flag -io_threads: "
	      "value out of range", "--io_threads", "5000");
	FAILS(NATSD_EINVAL, "invalid value \"x\\\"y\" for flag -m: parse "
	      "error", "-m", "x\"y");
}

static void test_flag_errors(void)
{
	FAILS(NATSD_EINVAL, "flag provided but not defined: -x", "-x");
	FAILS(NATSD_EINVAL, "flag provided but not defined: -bogus",
	      "--bogus=1");
	FAILS(NATSD_EINVAL, "flag provided but not defined: -Port", "-Port",
	      "1");
	FAILS(NATSD_EINVAL, "flag needs an argument: -p", "-p");
	FAILS(NATSD_EINVAL, "flag needs an argument: -c", "-D", "-c");
	FAILS(NATSD_EINVAL, "bad flag syntax: ---x", "---x");
	FAILS(NATSD_EINVAL, "bad flag syntax: -=x", "-=x");
	/* The first error stops the parse. */
	FAILS(NATSD_EINVAL, "invalid value \"abc\" for flag -p: parse error",
	      "-p", "abc", "-x");
	FAILS(NATSD_EINVAL, "flag provided but not defined: -x", "-x", "-p",
	      "abc");
}

static void test_unsupported(void)
{
	static const char *const later[] = {
		"js",
		"jetstream",
		"sd",
		"store_dir",
		"help_tls",
		"routes",
		"cluster",
		"cluster_name",
		"no_advertise",
		"cluster_advertise",
		"connect_retries",
		"cluster_listen",
		"profile",
	};
	char arg[64], msg[128];
	size_t i;

	for (i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		snprintf(arg, sizeof(arg), "--%s", later[i]);
		snprintf(msg, sizeof(msg), "flag -%s is not supported yet",
			 later[i]);
		FAILS(NATSD_ENOTSUP, msg, "-p", "1", arg, "x");
	}
	FAILS(NATSD_ENOTSUP, "flag -routes is not supported yet",
	      "-routes=nats://h:1");
}

static void test_stray_args(void)
{
	FAILS(NATSD_ENOENT, "unrecognized command: \"foo\"", "foo");
	FAILS(NATSD_ENOENT, "unrecognized command: \"foo\"", "-p", "1",
	      "foo");
	FAILS(NATSD_ENOENT, "unrecognized command: \"foo\"", "foo", "-p",
	      "1");
	FAILS(NATSD_ENOENT, "unrecognized command: \"-\"", "-");
	FAILS(NATSD_ENOENT, "unrecognized command: \"foo\"", "--", "foo");
	FAILS(NATSD_ENOENT, "unrecognized command: \"-x\"", "--", "-x");
	OK("--");
	OK("-p", "5", "--");
	CU_ASSERT_EQUAL(o.port, 5);
	OK("version");
	CU_ASSERT(cli_want_version(cli));
	OK("-p", "1", "HELP");
	CU_ASSERT(cli_want_help(cli));
	CU_ASSERT_FALSE(cli_want_version(cli));
	/* The flags are looked at before the command word. */
	OK("-v", "foo");
	CU_ASSERT(cli_want_version(cli));
	OK("-h", "foo");
	CU_ASSERT(cli_want_help(cli));
	OK("-h", "-v");
	CU_ASSERT(cli_want_version(cli));
	CU_ASSERT_FALSE(cli_want_help(cli));
	OK("--help");
	CU_ASSERT(cli_want_help(cli));
	OK("--version");
	CU_ASSERT(cli_want_version(cli));
	OK("-h=false");
	CU_ASSERT_FALSE(cli_want_help(cli));
	/* -t needs a file (unless a signal is being sent). */
	FAILS(NATSD_EPERM, "must specify [-c, --config] option to check "
	      "configuration file syntax", "-t");
	OK("-t", "-sl", "reload");
}

/* ------------------------------------------------------------------ */
/* Overrides                                                           */

static void test_override_order(void)
{
	OK("-p", "1", "-p", "2");
	CU_ASSERT_EQUAL(o.port, 2);
	OK("-c", "a.conf", "-p", "3", "--config=b.conf");
	CU_ASSERT_EQUAL(o.port, 3);
	CU_ASSERT_STRING_EQUAL(cli_config_file(cli), "b.conf");
	OK("-D", "-D=false");
	CU_ASSERT_FALSE(o.debug);
	OK("-D=false", "-D");
	CU_ASSERT(o.debug);
	/* The combined flags only switch on, as in nats-server. */
	OK("-DV", "-D=false");
	CU_ASSERT(!o.debug && o.trace);
	OK("-D", "-DV=false");
	CU_ASSERT(o.debug && !o.trace);
	OK("-l", "a", "--log", "b", "-l", "c");
	CU_ASSERT_STRING_EQUAL(o.log_file, "c");
}

/* The --tls* flags: any of them makes the flags the TLS settings. */
static void test_tls_flags(void)
{
	OK("-p", "1");
	CU_ASSERT(!o.tls_flags);
	OK("--tls=false");
	CU_ASSERT(o.tls_flags);
	OK("--tlsverify", "--tlscert", "c.pem", "--tlskey", "k.pem",
	   "--tlscacert", "ca.pem");
	CU_ASSERT(o.tls_flags && o.tls_verify_flag);
	CU_ASSERT_STRING_EQUAL(o.tls_cert, "c.pem");
	CU_ASSERT_STRING_EQUAL(o.tls_key, "k.pem");
	CU_ASSERT_STRING_EQUAL(o.tls_ca, "ca.pem");
	OK("--tlscert", "c.pem");
	CU_ASSERT(o.tls_flags && !o.tls_verify_flag);
}

/* The command line wins over the file, before and after a reload. */
static void test_over_file(void)
{
	char dir[] = "/tmp/cli_test.XXXXXX", path[64], cmd[96];
	struct opts r;
	FILE *f;
	int i;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/n.conf", dir);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("port = 1000; debug = true; server_name = \"file\";\n"
	      "max_payload = 100; log_file = \"f.log\";\n", f);
	fclose(f);
	OK("-D=false", "-c", path, "-p", "2000");
	CU_ASSERT_STRING_EQUAL(cli_config_file(cli), path);
	/* Start-up, then two reloads of the same file: same result. */
	for (i = 0; i < 3; i++) {
		CU_ASSERT_FATAL(opts_init(&r) == 0);
		CU_ASSERT_EQUAL_FATAL(conffile_load(cli_config_file(cli), &r,
						    err, sizeof(err)),
				      0);
		CU_ASSERT_EQUAL(cli_apply(cli, &r), 0);
		CU_ASSERT_EQUAL(r.port, 2000);
		CU_ASSERT_FALSE(r.debug);
		CU_ASSERT_STRING_EQUAL(r.server_name, "file");
		CU_ASSERT_EQUAL(r.max_payload, 100);
		CU_ASSERT_STRING_EQUAL(r.log_file, "f.log");
		CU_ASSERT_EQUAL(opts_validate(&r, err, sizeof(err)), 0);
		opts_fini(&r);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT(system(cmd) == 0);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/* Runs cli_report_error() into memory streams. */
static int report(int rc, const char *msg, char **out, char **errout)
{
	size_t olen, elen;
	FILE *fo, *fe;
	int status;

	fo = open_memstream(out, &olen);
	fe = open_memstream(errout, &elen);
	CU_ASSERT_FATAL(fo != NULL && fe != NULL);
	status = cli_report_error(rc, msg, fo, fe);
	fclose(fo);
	fclose(fe);
	return status;
}

static void test_report(void)
{
	char *out, *errout;

	CU_ASSERT_EQUAL(PARSE("-x"), NATSD_EINVAL);
	CU_ASSERT_EQUAL(report(NATSD_EINVAL, err, &out, &errout), 0);
	CU_ASSERT_STRING_EQUAL(errout, "flag provided but not defined: -x\n");
	CU_ASSERT_NSTRING_EQUAL(out, "\nUsage: natsd [options]\n\n", 25);
	free(out);
	free(errout);

	CU_ASSERT_EQUAL(PARSE("--routes", "x"), NATSD_ENOTSUP);
	CU_ASSERT_EQUAL(report(NATSD_ENOTSUP, err, &out, &errout), 2);
	CU_ASSERT_STRING_EQUAL(errout,
			       "natsd: flag -routes is not supported yet\n");
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	free(errout);

	CU_ASSERT_EQUAL(PARSE("foo"), NATSD_ENOENT);
	CU_ASSERT_EQUAL(report(NATSD_ENOENT, err, &out, &errout), 1);
	CU_ASSERT_STRING_EQUAL(errout,
			       "natsd: unrecognized command: \"foo\"\n");
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	free(errout);

	CU_ASSERT_EQUAL(PARSE("-t"), NATSD_EPERM);
	CU_ASSERT_EQUAL(report(NATSD_EPERM, err, &out, &errout), 1);
	free(out);
	free(errout);
}

static void test_usage(void)
{
	static const char *const want[] = {
		"-a, --addr, --net <host>", "-p, --port <port>",
		"--server_name <server_name>", "-P, --pid <file>",
		"-m, --http_port <port>", "-ms,--https_port <port>",
		"-c, --config <file>", "-t ", "-sl,--signal",
		"--client_advertise", "--ports_file_dir", "-l, --log <file>",
		"-T, --logtime", "-s, --syslog", "-r, --remote_syslog",
		"-D, --debug", "-V, --trace", "-VV ", "-DV ", "-DVV ",
		"--log_size_limit", "--max_traced_msg_len", "--user <user>",
		"--pass <password>", "--auth <token>", "--plugin-dir <dir>",
		"--io_threads <number>", "-h, --help", "-v, --version",
	};
	size_t len, i;
	char *text;
	FILE *f;

	f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	cli_usage(f);
	fclose(f);
	CU_ASSERT_NSTRING_EQUAL(text, "\nUsage: natsd [options]\n", 24);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want[i]));
		if (strstr(text, want[i]) == NULL)
			fprintf(stderr, "\n  usage lacks \"%s\"\n", want[i]);
	}
	free(text);
}

/* Every allocation of a parse and apply fails in turn. */
static void test_alloc_failures(void)
{
	static char *argv[] = {
		(char *)"natsd", (char *)"-c", (char *)"x.conf",
		(char *)"-sl", (char *)"reload", (char *)"-p", (char *)"5",
		(char *)"--user", (char *)"u", (char *)"--pass", (char *)"p",
		(char *)"-l", (char *)"a.log", (char *)"-DV", NULL,
	};
	unsigned long calls;
	struct cli *c;
	struct opts lo;
	bool failed;
	long n;
	int rc;

	cli_free(cli);
	cli = NULL;
	calls = alloc_fail_calls();
	c = NULL;
	CU_ASSERT_EQUAL_FATAL(cli_parse(14, argv, &c, err, sizeof(err)), 0);
	cli_free(c);
	if (alloc_fail_calls() == calls) {
		fprintf(stderr, "\n  (allocation wrappers not linked: "
			"skipped) ");
		return;
	}
	for (n = 0; n < 10000; n++) {
		alloc_fail_start(n);
		c = NULL;
		rc = cli_parse(14, argv, &c, err, sizeof(err));
		if (rc == 0) {
			rc = opts_init(&lo);
			if (rc == 0)
				rc = cli_apply(c, &lo);
			opts_fini(&lo);
		}
		failed = alloc_fail_stop();
		cli_free(c);
		if (!failed) {
			CU_ASSERT_EQUAL(rc, 0);
			break;
		}
		CU_ASSERT_EQUAL(rc, NATSD_ENOMEM);
	}
	CU_ASSERT(n > 10 && n < 10000);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "value forms", test_value_forms },
		{ "bool forms", test_bool_forms },
		{ "every flag", test_every_flag },
		{ "numbers", test_numbers },
		{ "flag errors", test_flag_errors },
		{ "unsupported", test_unsupported },
		{ "tls flags", test_tls_flags },
		{ "stray args", test_stray_args },
		{ "override order", test_override_order },
		{ "over file", test_over_file },
		{ "report", test_report },
		{ "usage", test_usage },
		{ "alloc failures", test_alloc_failures },
	};
	static const struct suite suite = {
		"cli", NULL, clean_suite, tests, SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
