#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * The nats.ws client (npm) under Node.js against natsd's websocket
 * listener, with compression on and off: tests/ws/pubsub.js runs pub/sub
 * with messages of 0 to 300000 bytes, request/reply with headers and no
 * responders, and checks that permessage-deflate is in force exactly
 * when the server offers it. The same script runs against nats-server
 * for reference. The same runs over wss:// (a tls block in the websocket
 * block; certificates by tests/tls/make-certs.sh, the CA handed to Node
 * with NODE_EXTRA_CA_CERTS).
 *
 * The node modules come from tests/ws/node_modules in the source tree
 * (tools/install-deps runs `npm ci` there); with a read-only source tree
 * (make distcheck) they are installed into the build tree from npm's
 * cache (`npm ci --offline`). Without node, or without the modules and a
 * way to get them, the test is skipped (exit 77) and says why.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "itest.h"

#ifndef WS_SRCDIR
#define WS_SRCDIR "tests/ws"
#endif
#ifndef WS_BUILDDIR
#define WS_BUILDDIR "tests/ws"
#endif

#define WATCHDOG_S 120

#ifndef TLS_CERT_SCRIPT
#define TLS_CERT_SCRIPT "tests/tls/make-certs.sh"
#endif

static char certs[64]; /* wss: made once, in main() */

static struct hserver srv;
static char modules[4096];

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Runs cmd through the shell; its output (at most cap - 1 bytes) in out.
 * Returns its exit status, or -1. */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0, k;
	int st;

	if (f == NULL)
		return -1;
	while (n + 1 < cap && (k = fread(out + n, 1, cap - 1 - n, f)) > 0)
		n += k;
	out[n] = '\0';
	/* Drain what did not fit, so that the child is not blocked. */
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Finds or installs nats.ws and ws; false with the reason printed. */
static bool find_modules(void)
{
	char cmd[8192], out[4096];

	snprintf(modules, sizeof(modules), "%s/node_modules", WS_SRCDIR);
	snprintf(cmd, sizeof(cmd), "%s/nats.ws/package.json", modules);
	if (exists(cmd))
		return true;
	snprintf(modules, sizeof(modules), "%s/node_modules", WS_BUILDDIR);
	snprintf(cmd, sizeof(cmd), "%s/nats.ws/package.json", modules);
	if (exists(cmd))
		return true;
	/* Into the build tree, from npm's cache first (install-deps filled
	 * it), else from the registry. */
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s' && cp '%s/package.json' "
		 "'%s/package-lock.json' '%s/' && cd '%s' && "
		 "(npm ci --offline --no-audit --no-fund || "
		 "timeout 120 npm ci --no-audit --no-fund) 2>&1",
		 WS_BUILDDIR, WS_SRCDIR, WS_SRCDIR, WS_BUILDDIR, WS_BUILDDIR);
	if (run(cmd, out, sizeof(out)) != 0) {
		printf("SKIP: cannot install the node modules of tests/ws "
		       "(run tools/install-deps, or npm ci in tests/ws):\n%s\n",
		       out);
		return false;
	}
	return true;
}

/* Runs pubsub.js against ws://127.0.0.1:port (wss:// with tls); mode
 * "compress" or "plain". */
static void run_client(int port, const char *mode, bool tls)
{
	char cmd[8192], out[8192];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "NODE_EXTRA_CA_CERTS='%s/ca.pem' NODE_PATH='%s' timeout 60 "
		 "node '%s/pubsub.js' %s://127.0.0.1:%d %s 2>&1",
		 certs, modules, WS_SRCDIR, tls ? "wss" : "ws", port, mode);
	rc = run(cmd, out, sizeof(out));
	if (rc != 0 || strstr(out, "ok drain") == NULL)
		fprintf(stderr, "pubsub.js %s (exit %d):\n%s\n", mode, rc, out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(strstr(out, "ok pubsub 200 messages") != NULL);
	CU_ASSERT(strstr(out, "ok request/reply 20") != NULL);
	CU_ASSERT(strstr(out, "ok no responders") != NULL);
	CU_ASSERT(strstr(out, "ok drain") != NULL);
	CU_ASSERT_EQUAL(strstr(out, "ok tls TLS") != NULL, tls);
}

static void with_server(const char *kind, bool compression, bool tls)
{
	char conf[1024], tlsconf[512] = "no_tls = true;";
	int port = harness_free_port();

	if (strcmp(kind, "natsd") == 0) {
		if (tls)
			snprintf(tlsconf, sizeof(tlsconf),
				 "tls = { cert_file = \"%s/server.pem\"; "
				 "key_file = \"%s/server.key\"; };",
				 certs, certs);
		snprintf(conf, sizeof(conf),
			 "websocket = { port = %d; %s compression = %s; };\n",
			 port, tlsconf, compression ? "true" : "false");
	} else {
		snprintf(tlsconf, sizeof(tlsconf), "no_tls: true");
		if (tls)
			snprintf(tlsconf, sizeof(tlsconf),
				 "tls {\ncert_file: \"%s/server.pem\"\n"
				 "key_file: \"%s/server.key\"\n}",
				 certs, certs);
		snprintf(conf, sizeof(conf),
			 "websocket {\nport: %d\n%s\ncompression: %s\n}\n",
			 port, tlsconf, compression ? "true" : "false");
	}
	CU_ASSERT_FATAL(harness_start(&srv, kind, conf, NULL) == 0);
	run_client(port, compression ? "compress" : "plain", tls);
	if (strcmp(kind, "natsd") == 0) {
		CU_ASSERT(itest_stop(&srv));
	} else {
		harness_stop(&srv);
	}
}

static void test_natsd_compressed(void)
{
	with_server("natsd", true, false);
}

static void test_natsd_plain(void)
{
	with_server("natsd", false, false);
}

static void test_nats_server(void)
{
	with_server("nats-server", true, false);
}

static void test_wss_compressed(void)
{
	with_server("natsd", true, true);
}

static void test_wss_plain(void)
{
	with_server("natsd", false, true);
}

static void test_wss_nats_server(void)
{
	with_server("nats-server", true, true);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "nats.ws, compression on", test_natsd_compressed },
		{ "nats.ws, compression off", test_natsd_plain },
		{ "nats.ws against nats-server", test_nats_server },
		{ "nats.ws over wss, compression on", test_wss_compressed },
		{ "nats.ws over wss, compression off", test_wss_plain },
		{ "nats.ws over wss against nats-server",
		  test_wss_nats_server },
	};
	static const struct suite suite = {
		"nats.ws", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	char out[256], cmd[512];
	int rc;

	itest_init("ws_node_test", WATCHDOG_S, &srv.pid);
	if (run("node --version 2>&1", out, sizeof(out)) != 0) {
		printf("SKIP: node (Node.js) is not installed\n");
		return 77;
	}
	if (!find_modules())
		return 77;
	snprintf(certs, sizeof(certs), "/tmp/natsd-wsn-XXXXXX");
	if (mkdtemp(certs) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "sh %s %s", TLS_CERT_SCRIPT, certs);
	if (system(cmd) != 0) {
		fprintf(stderr, "ws_node_test: cannot make certificates\n");
		return 1;
	}
	rc = suites_run(&suite, 1) == 0 ? 0 : 1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
	if (system(cmd) != 0)
		fprintf(stderr, "ws_node_test: cannot remove %s\n", certs);
	return rc;
}
