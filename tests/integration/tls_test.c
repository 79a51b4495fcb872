#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * TLS on the client port: natsd with a tls block (transport_tls over
 * tcp) and nats-server with the equivalent tls block, driven by the same
 * clients (libnats over TLS, raw sockets), must give the same outcomes:
 * connect, publish and subscribe; client certificates required, and a
 * missing, expired or untrusted one refused; verify_and_map with
 * permissions; a clear-text client on the TLS port; a handshake that
 * never finishes; a TLS client on a plain port; certificates re-read on
 * SIGHUP without dropping clients. Certificates are made at run time by
 * tests/tls/make-certs.sh. Without nats-server the comparisons are
 * skipped and natsd's outcomes are still checked.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "harness.h"
#include "itest.h"

#ifndef TLS_CERT_SCRIPT
#define TLS_CERT_SCRIPT "tests/tls/make-certs.sh"
#endif

#define WAIT_MS    ITEST_WAIT_MS
#define WATCHDOG_S 120

static char certs[64];
static bool have_ns;
static struct hserver srv;

/* What a case asks of the tls block and the users. */
struct tcase {
	bool verify;
	bool map;
	const char *timeout; /* seconds */
	const char *cert;    /* server cert base name, default "server" */
	const char *pin;     /* one pinned_certs entry, or NULL */
};

static bool is_natsd(const char *kind)
{
	return strcmp(kind, "natsd") == 0;
}

/* The config of `kind` for case t. */
static void make_conf(const char *kind, const struct tcase *t, char *buf,
		      size_t len)
{
	const char *cert = t->cert ? t->cert : "server";
	const char *timeout = t->timeout ? t->timeout : "2";
	char pin[128] = "";
	size_t off = 0;

	if (is_natsd(kind)) {
		if (t->pin != NULL)
			snprintf(pin, sizeof(pin), " pinned_certs = [\"%s\"];",
				 t->pin);
		off += (size_t)snprintf(
			buf + off, len - off,
			"tls = { cert_file = \"%s/%s.pem\"; key_file = "
			"\"%s/%s.key\"; ca_file = \"%s/ca.pem\"; timeout = "
			"%s; verify = %s; verify_and_map = %s;%s };\n",
			certs, cert, certs, cert, certs, timeout,
			t->verify ? "true" : "false", t->map ? "true" : "false",
			pin);
		if (t->map)
			snprintf(buf + off, len - off,
				 "authorization = { users = ("
				 "{ user = \"alice@example.com\"; permissions "
				 "= { publish = [\"alice.>\", \"_INBOX.>\"]; "
				 "}; },"
				 "{ user = \"bob.example.com\"; permissions = "
				 "{ publish = [\"bob.>\", \"_INBOX.>\"]; }; },"
				 "{ user = \"CN=carol,O=Acme\"; }"
				 "); };\n");
	} else {
		if (t->pin != NULL)
			snprintf(pin, sizeof(pin), ", pinned_certs: [\"%s\"]",
				 t->pin);
		off += (size_t)snprintf(
			buf + off, len - off,
			"tls { cert_file: \"%s/%s.pem\", key_file: "
			"\"%s/%s.key\", ca_file: \"%s/ca.pem\", timeout: %s, "
			"verify: %s, verify_and_map: %s%s }\n",
			certs, cert, certs, cert, certs, timeout,
			t->verify ? "true" : "false", t->map ? "true" : "false",
			pin);
		if (t->map)
			snprintf(buf + off, len - off,
				 "authorization { users = ["
				 "{ user: \"alice@example.com\", permissions: "
				 "{ publish: [\"alice.>\", \"_INBOX.>\"] } },"
				 "{ user: \"bob.example.com\", permissions: "
				 "{ publish: [\"bob.>\", \"_INBOX.>\"] } },"
				 "{ user: \"CN=carol,O=Acme\" }"
				 "] }\n");
	}
}

static int start(const char *kind, const struct tcase *t)
{
	char conf[4096];

	make_conf(kind, t, conf, sizeof(conf));
	if (harness_start(&srv, kind, conf, NULL) != 0)
		return -1;
	return 0;
}

static void stop(const char *kind)
{
	if (is_natsd(kind)) {
		CU_ASSERT(itest_stop(&srv));
	} else {
		harness_stop(&srv);
	}
}

/* libnats over TLS to srv: CA file ca (NULL: none), client certificate
 * cert (base name, NULL: none). */
static natsConnection *tls_connect(const char *ca, const char *cert,
				   struct itest_errlog *el, natsStatus *st)
{
	natsOptions *o = itest_opts(srv.port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;
	char a[256], b[256];

	if (s == NATS_OK)
		s = natsOptions_SetSecure(o, true);
	if (s == NATS_OK && ca != NULL) {
		snprintf(a, sizeof(a), "%s/%s.pem", certs, ca);
		s = natsOptions_LoadCATrustedCertificates(o, a);
	}
	if (s == NATS_OK && cert != NULL) {
		snprintf(a, sizeof(a), "%s/%s.pem", certs, cert);
		snprintf(b, sizeof(b), "%s/%s.key", certs, cert);
		s = natsOptions_LoadCertificatesChain(o, a, b);
	}
	if (s == NATS_OK && el != NULL)
		s = itest_errlog_attach(o, el);
	return itest_connect(o, s, st);
}

/* "ok" when the client connects and pub/sub works, else the status. */
static void client_outcome(const char *ca, const char *cert, char *out,
			   size_t len)
{
	natsConnection *nc;
	natsStatus st = NATS_OK;

	nc = tls_connect(ca, cert, NULL, &st);
	if (nc == NULL) {
		snprintf(out, len, "%s", natsStatus_GetText(st));
		return;
	}
	snprintf(out, len, "%s",
		 itest_conn_usable(nc, "tls.check") ? "ok" : "unusable");
	natsConnection_Destroy(nc);
}

/* Runs fn against natsd, then against nats-server when there is one,
 * and checks the outcomes are want and the same. */
typedef void (*outcome_fn)(const char *kind, char *out, size_t len);

static void compare(const char *what, outcome_fn fn, const char *want)
{
	char a[512] = "", b[512] = "";

	fn("natsd", a, sizeof(a));
	if (want != NULL && strcmp(a, want) != 0)
		fprintf(stderr, "%s: natsd: \"%s\", want \"%s\"\n", what, a,
			want);
	if (want != NULL)
		CU_ASSERT_STRING_EQUAL(a, want);
	if (!have_ns)
		return;
	fn("nats-server", b, sizeof(b));
	if (strcmp(a, b) != 0)
		fprintf(stderr, "%s: natsd \"%s\", nats-server \"%s\"\n", what,
			a, b);
	CU_ASSERT_STRING_EQUAL(a, b);
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */

static void out_basic(const char *kind, char *out, size_t len)
{
	const struct tcase t = { 0 };
	char info[4096], res[256];
	int fd;

	if (start(kind, &t) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	fd = itest_raw_connect(srv.port, info, sizeof(info));
	client_outcome("ca", NULL, res, sizeof(res));
	snprintf(out, len, "tls_required=%d tls_verify=%d client=%s",
		 strstr(info, "\"tls_required\":true") != NULL,
		 strstr(info, "\"tls_verify\":true") != NULL, res);
	if (fd >= 0)
		close(fd);
	stop(kind);
}

static void test_basic(void)
{
	compare("basic", out_basic, "tls_required=1 tls_verify=0 client=ok");
}

/* Client certificates: required, and each kind of bad one. */
static void out_verify(const char *kind, char *out, size_t len)
{
	const struct tcase t = { .verify = true };
	static const char *const who[] = { "alice", NULL, "expired", "rogue" };
	char info[4096], res[256];
	size_t off;
	int fd, i;

	if (start(kind, &t) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	fd = itest_raw_connect(srv.port, info, sizeof(info));
	off = (size_t)snprintf(out, len, "tls_verify=%d",
			       strstr(info, "\"tls_verify\":true") != NULL);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 4; i++) {
		client_outcome("ca", who[i], res, sizeof(res));
		off += (size_t)snprintf(out + off, len - off, " %s=%s",
					who[i] ? who[i] : "none",
					strcmp(res, "ok") == 0 ? "ok"
							       : "refused");
	}
	stop(kind);
}

static void test_verify(void)
{
	compare("verify", out_verify,
		"tls_verify=1 alice=ok none=refused expired=refused "
		"rogue=refused");
}

/* pinned_certs: with verify, only the pinned client gets in; without,
 * nobody does (nats-server asks no client for a certificate then, and
 * a client without one is not pinned). */
static char alice_pin[80];

static void out_pinned(const char *kind, char *out, size_t len)
{
	static const char *const who[] = { "alice", "bob", NULL };
	char res[256];
	size_t off = 0;
	int v, i;

	for (v = 0; v < 2; v++) {
		const struct tcase t = { .verify = v == 1, .pin = alice_pin };

		if (start(kind, &t) != 0) {
			snprintf(out, len, "no start");
			return;
		}
		off += (size_t)snprintf(out + off, len - off,
					"%sverify=%d:", v ? " " : "", v);
		for (i = 0; i < 3; i++) {
			client_outcome("ca", who[i], res, sizeof(res));
			off += (size_t)snprintf(
				out + off, len - off, " %s=%s",
				who[i] ? who[i] : "none",
				strcmp(res, "ok") == 0 ? "ok" : "refused");
		}
		stop(kind);
	}
}

static void test_pinned(void)
{
	FILE *p;
	char cmd[512];
	const char *eq;

	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -in %s/alice.pem -pubkey -noout | openssl pkey "
		 "-pubin -outform der | openssl dgst -sha256 -hex",
		 certs);
	p = popen(cmd, "r");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_FATAL(fgets(cmd, sizeof(cmd), p) != NULL);
	pclose(p);
	eq = strstr(cmd, "= ");
	CU_ASSERT_FATAL(eq != NULL && strlen(eq + 2) >= 64);
	snprintf(alice_pin, sizeof(alice_pin), "%.64s", eq + 2);
	compare("pinned", out_pinned,
		"verify=0: alice=refused bob=refused none=refused "
		"verify=1: alice=ok bob=refused none=refused");
}

/* Publishes to subj over nc and says whether a permissions error came. */
static const char *pub_result(natsConnection *nc, struct itest_errlog *el,
			      const char *subj)
{
	int before = itest_errlog_count(el), i;

	natsConnection_PublishString(nc, subj, "x");
	natsConnection_FlushTimeout(nc, WAIT_MS);
	/* The error callback runs on the library's own thread. */
	for (i = 0; i < 25 && itest_errlog_count(el) == before; i++)
		usleep(20000);
	if (itest_errlog_count(el) > before)
		return strstr(el->text, "Permissions Violation") ? "denied"
								 : "error";
	return "ok";
}

static void out_map(const char *kind, char *out, size_t len)
{
	const struct tcase t = { .verify = true, .map = true };
	static const char *const who[] = { "alice", "bob", "carol", "nobody" };
	struct itest_errlog el;
	natsConnection *nc;
	natsStatus st;
	size_t off = 0;
	int i;

	if (start(kind, &t) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < 4; i++) {
		itest_errlog_init(&el);
		st = NATS_OK;
		nc = tls_connect("ca", who[i], &el, &st);
		if (nc == NULL) {
			off += (size_t)snprintf(out + off, len - off, "%s%s:%s",
						i ? " " : "", who[i],
						natsStatus_GetText(st));
		} else {
			off += (size_t)snprintf(out + off, len - off,
						"%s%s:alice.x=%s,bob.x=%s",
						i ? " " : "", who[i],
						pub_result(nc, &el, "alice.x"),
						pub_result(nc, &el, "bob.x"));
			natsConnection_Destroy(nc);
		}
		itest_errlog_fini(&el);
	}
	stop(kind);
}

static void test_verify_and_map(void)
{
	compare("verify_and_map", out_map,
		"alice:alice.x=ok,bob.x=denied bob:alice.x=denied,bob.x=ok "
		"carol:alice.x=ok,bob.x=ok nobody:Authentication Violation");
}

/* A clear-text client on the TLS port: INFO in clear, then, once it
 * talks, the connection closes without a byte. */
static void out_plain_client(const char *kind, char *out, size_t len)
{
	const struct tcase t = { 0 };
	char info[4096], buf[1024];
	bool eof = false;
	ssize_t n;
	int fd;

	if (start(kind, &t) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	fd = itest_raw_connect(srv.port, info, sizeof(info));
	if (fd < 0) {
		snprintf(out, len, "no INFO");
		stop(kind);
		return;
	}
	harness_sendstr(fd, "CONNECT {\"verbose\":false}\r\nPING\r\n");
	n = harness_read_until(fd, buf, sizeof(buf), NULL, WAIT_MS, &eof);
	snprintf(out, len, "tls_required=%d bytes=%zd closed=%d",
		 strstr(info, "\"tls_required\":true") != NULL, n, eof);
	close(fd);
	if (is_natsd(kind))
		CU_ASSERT(itest_log_wait(&srv,
					 "first record does not look "
					 "like a TLS handshake",
					 WAIT_MS));
	stop(kind);
}

static void test_plain_client(void)
{
	compare("plain client", out_plain_client,
		"tls_required=1 bytes=0 closed=1");
}

/* A client that never starts the handshake is closed once timeout is
 * over (1 s here). */
static void out_hs_timeout(const char *kind, char *out, size_t len)
{
	const struct tcase t = { .timeout = "1" };
	char buf[256];
	bool eof = false;
	long long t0, ms;
	ssize_t n;
	int fd;

	if (start(kind, &t) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	fd = itest_raw_connect(srv.port, NULL, 0);
	t0 = itest_mono_ms();
	n = harness_read_until(fd, buf, sizeof(buf), NULL, 4000, &eof);
	ms = itest_mono_ms() - t0;
	snprintf(out, len, "bytes=%zd closed=%d in_time=%d", n, eof,
		 ms >= 700 && ms < 2500);
	if (fd >= 0)
		close(fd);
	/* A half-sent handshake is cut off the same way. */
	fd = itest_raw_connect(srv.port, NULL, 0);
	harness_send(fd, "\x16\x03\x01\x00\x50", 5);
	t0 = itest_mono_ms();
	n = harness_read_until(fd, buf, sizeof(buf), NULL, 4000, &eof);
	ms = itest_mono_ms() - t0;
	snprintf(out + strlen(out), len - strlen(out),
		 " partial: closed=%d in_time=%d", eof, ms >= 700 && ms < 2500);
	if (fd >= 0)
		close(fd);
	if (is_natsd(kind))
		CU_ASSERT(
			itest_log_wait(&srv, "TLS handshake timeout", WAIT_MS));
	stop(kind);
}

static void test_handshake_timeout(void)
{
	compare("handshake timeout", out_hs_timeout,
		"bytes=0 closed=1 in_time=1 partial: closed=1 in_time=1");
}

/* A TLS client on a plain port: the client refuses, seeing no
 * tls_required; and a ClientHello sent anyway is a protocol error. */
static void out_tls_on_plain(const char *kind, char *out, size_t len)
{
	char res[256], buf[1024];
	bool eof = false;
	int fd;

	if (harness_start(&srv, kind, NULL, NULL) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	client_outcome("ca", NULL, res, sizeof(res));
	fd = itest_raw_connect(srv.port, NULL, 0);
	harness_send(fd, "\x16\x03\x01\x00\x50\x01\x00\x00\x4c\x03\x03", 11);
	harness_read_until(fd, buf, sizeof(buf), NULL, WAIT_MS, &eof);
	snprintf(out, len, "client=%s raw=%s closed=%d", res,
		 strstr(buf, "-ERR 'Unknown Protocol Operation'") ? "unknown op"
								  : buf,
		 eof);
	if (fd >= 0)
		close(fd);
	stop(kind);
}

static void test_tls_on_plain_port(void)
{
	compare("tls client on plain port", out_tls_on_plain,
		"client=Secure Connection not available raw=unknown op "
		"closed=1");
}

static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	int rc = 0;

	if (in == NULL || out == NULL)
		rc = -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in != NULL)
		fclose(in);
	if (out != NULL && fclose(out) != 0)
		rc = -1;
	return rc;
}

static int use_cert(const char *name)
{
	char a[256], b[256];

	snprintf(a, sizeof(a), "%s/%s.pem", certs, name);
	snprintf(b, sizeof(b), "%s/live.pem", certs);
	if (copy_file(a, b) != 0)
		return -1;
	snprintf(a, sizeof(a), "%s/%s.key", certs, name);
	snprintf(b, sizeof(b), "%s/live.key", certs);
	return copy_file(a, b);
}

/* SIGHUP re-reads the certificate: a client connected before stays,
 * new clients get the new certificate. */
static void out_reload(const char *kind, char *out, size_t len)
{
	const struct tcase t = { .cert = "live" };
	char r1[256], r2[256], r3[256];
	natsConnection *keep;
	natsStatus st = NATS_OK;

	if (use_cert("server") != 0 || start(kind, &t) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	keep = tls_connect("ca", NULL, NULL, &st);
	if (use_cert("server2") != 0) {
		snprintf(out, len, "no copy");
		natsConnection_Destroy(keep);
		stop(kind);
		return;
	}
	kill(srv.pid, SIGHUP);
	itest_log_wait(&srv, "eloaded server configuration", WAIT_MS);
	client_outcome("ca", NULL, r1, sizeof(r1));
	client_outcome("other-ca", NULL, r2, sizeof(r2));
	snprintf(r3, sizeof(r3), "%s",
		 keep != NULL && itest_conn_usable(keep, "tls.keep") ? "ok"
								     : "lost");
	snprintf(out, len, "old_ca=%s new_ca=%s kept=%s",
		 strcmp(r1, "ok") == 0 ? "ok" : "refused", r2, r3);
	natsConnection_Destroy(keep);
	stop(kind);
}

static void test_reload(void)
{
	compare("reload", out_reload, "old_ca=refused new_ca=ok kept=ok");
}

/* A certificate that cannot be read on SIGHUP: the reload fails as a
 * whole, with nats-server's words, and the old certificate stays in
 * force. */
static void out_reload_bad_cert(const char *kind, char *out, size_t len)
{
	const struct tcase t = { .cert = "live" };
	char path[256], res[256];
	bool said;
	FILE *f;

	if (use_cert("server") != 0 || start(kind, &t) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	snprintf(path, sizeof(path), "%s/live.pem", certs);
	f = fopen(path, "w");
	if (f != NULL) {
		fputs("not a certificate\n", f);
		fclose(f);
	}
	kill(srv.pid, SIGHUP);
	said = itest_log_wait(&srv, "Failed to reload server configuration: ",
			      WAIT_MS) &&
	       strstr(harness_log(&srv), "certificate") != NULL;
	client_outcome("ca", NULL, res, sizeof(res));
	snprintf(out, len, "refused=%s client=%s", said ? "yes" : "no", res);
	stop(kind);
}

static void test_reload_bad_cert(void)
{
	compare("reload bad cert", out_reload_bad_cert,
		"refused=yes client=ok");
}

/* ------------------------------------------------------------------ */
/* Start-up: flags and bad settings                                    */

/* Runs natsd directly (it must fail at once) and returns its stderr. */
static int natsd_fail(const char *argstr, char *out, size_t len)
{
	char cmd[2048], path[128];
	const char *bin = getenv("NATSD_BIN");
	FILE *f;
	size_t n;
	int st;

	snprintf(path, sizeof(path), "%s/natsd.err", certs);
	snprintf(cmd, sizeof(cmd),
		 "timeout 10 %s -a 127.0.0.1 -p %d %s "
		 ">%s 2>&1",
		 bin ? bin : "./natsd", harness_free_port(), argstr, path);
	st = system(cmd);
	out[0] = '\0';
	f = fopen(path, "r");
	if (f != NULL) {
		n = fread(out, 1, len - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_flags(void)
{
	char certf[256], keyf[256], caf[256], args[1024], out[4096];
	const char *a1[] = {
		"--tls", "--tlscert", certf, "--tlskey", keyf, NULL
	};
	const char *a2[] = { "--tlsverify", "--tlscert",   certf, "--tlskey",
			     keyf,          "--tlscacert", caf,   NULL };
	char info[4096], res[256];
	int fd;

	snprintf(certf, sizeof(certf), "%s/server.pem", certs);
	snprintf(keyf, sizeof(keyf), "%s/server.key", certs);
	snprintf(caf, sizeof(caf), "%s/ca.pem", certs);

	CU_ASSERT_FATAL(harness_start(&srv, "natsd", NULL, a1) == 0);
	fd = itest_raw_connect(srv.port, info, sizeof(info));
	CU_ASSERT(strstr(info, "\"tls_required\":true") != NULL);
	CU_ASSERT(strstr(info, "\"tls_verify\"") == NULL);
	if (fd >= 0)
		close(fd);
	client_outcome("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, "ok");
	CU_ASSERT(itest_stop(&srv));

	CU_ASSERT_FATAL(harness_start(&srv, "natsd", NULL, a2) == 0);
	fd = itest_raw_connect(srv.port, info, sizeof(info));
	CU_ASSERT(strstr(info, "\"tls_verify\":true") != NULL);
	if (fd >= 0)
		close(fd);
	client_outcome("ca", "alice", res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, "ok");
	client_outcome("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_NOT_EQUAL(res, "ok");
	CU_ASSERT(itest_stop(&srv));

	/* nats-server's messages for missing flags. */
	CU_ASSERT(natsd_fail("--tls", out, sizeof(out)) == 1);
	CU_ASSERT(strstr(out, "TLS Server certificate must be present and "
			      "valid") != NULL);
	snprintf(args, sizeof(args), "--tls --tlscert %s", certf);
	CU_ASSERT(natsd_fail(args, out, sizeof(out)) == 1);
	CU_ASSERT(strstr(out, "TLS Server private key must be present and "
			      "valid") != NULL);
	/* A key that does not match, a missing file: one line each. */
	snprintf(args, sizeof(args), "--tls --tlscert %s --tlskey %s/ca.key",
		 certf, certs);
	CU_ASSERT(natsd_fail(args, out, sizeof(out)) == 1);
	CU_ASSERT(strstr(out, "does not match") != NULL);
	CU_ASSERT(itest_count(out, "[FTL]") == 1);
	snprintf(args, sizeof(args), "--tls --tlscert %s/nope.pem --tlskey %s",
		 certs, keyf);
	CU_ASSERT(natsd_fail(args, out, sizeof(out)) == 1);
	CU_ASSERT(strstr(out, "nope.pem") != NULL);
	CU_ASSERT(itest_count(out, "[FTL]") == 1);
}

/* Copies t into buf with every '@' replaced by the certificate dir. */
static void subst(char *buf, size_t len, const char *t)
{
	size_t off = 0;

	for (; *t != '\0' && off + strlen(certs) + 1 < len; t++) {
		if (*t == '@') {
			memcpy(buf + off, certs, strlen(certs));
			off += strlen(certs);
		} else {
			buf[off++] = *t;
		}
	}
	buf[off] = '\0';
}

static void test_bad_config(void)
{
	char conf[1024], args[1200], out[4096];
	FILE *f;
	int i;
	static const char *const bad[] = {
		/* missing file */
		"tls = { cert_file = \"@/nope.pem\"; key_file = "
		"\"@/server.key\"; };\n",
		/* mismatched key */
		"tls = { cert_file = \"@/server.pem\"; key_file = "
		"\"@/alice.key\"; };\n",
		/* a key that is not a key */
		"tls = { cert_file = \"@/server.pem\"; key_file = "
		"\"@/ca.pem\"; };\n",
		/* no key_file */
		"tls = { cert_file = \"@/server.pem\"; timeout = 1; };\n",
		/* unknown cipher */
		"tls = { cert_file = \"@/server.pem\"; key_file = "
		"\"@/server.key\"; cipher_suites = [\"TLS_NOPE\"]; };\n",
	};
	static const char *const want[] = {
		"nope.pem",
		"does not match",
		"ca.pem: ",
		"key_file",
		"unrecognized cipher TLS_NOPE",
	};

	for (i = 0; i < 5; i++) {
		subst(conf, sizeof(conf), bad[i]);
		snprintf(args, sizeof(args), "%s/bad.conf", certs);
		f = fopen(args, "w");
		CU_ASSERT_FATAL(f != NULL);
		fputs(conf, f);
		fclose(f);
		snprintf(args, sizeof(args), "-c %s/bad.conf", certs);
		CU_ASSERT(natsd_fail(args, out, sizeof(out)) == 1);
		if (strstr(out, want[i]) == NULL)
			fprintf(stderr, "bad config %d: %s", i, out);
		CU_ASSERT(strstr(out, want[i]) != NULL);
		CU_ASSERT(strstr(out, "bad.conf:1:") != NULL);
		CU_ASSERT(itest_count(out, "[FTL]") == 1);
	}
}

/* GET path over HTTPS from 127.0.0.1:port, trusting certs/ca.pem; the
 * whole reply (status line, headers, body) into out, "" on failure. */
static void https_get(int port, const char *path, char *out, size_t len)
{
	char ca[256], req[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	size_t off = 0;
	int fd = -1, n;

	out[0] = '\0';
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = harness_connect(port);
	ssl = SSL_new(ctx);
	if (fd < 0 || ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set1_host(ssl, "localhost") != 1 || SSL_connect(ssl) != 1)
		goto out;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n",
		 path);
	if (SSL_write(ssl, req, (int)strlen(req)) <= 0)
		goto out;
	while (off + 1 < len &&
	       (n = SSL_read(ssl, out + off, (int)(len - 1 - off))) > 0)
		off += (size_t)n;
	out[off] = '\0';
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
}

/* Monitoring over HTTPS (https_port) uses the client port's certificate;
 * plain HTTP on that port gets no answer. */
static void out_https_monitor(const char *kind, char *out, size_t len)
{
	const struct tcase t = { 0 };
	char conf[4096], extra[64], reply[16384], want[64];
	int mport = harness_free_port(), fd;
	ssize_t n;

	make_conf(kind, &t, conf, sizeof(conf));
	snprintf(extra, sizeof(extra), is_natsd(kind) ? "https_port = %d;\n"
						      : "https_port: %d\n",
		 mport);
	strncat(conf, extra, sizeof(conf) - strlen(conf) - 1);
	if (harness_start(&srv, kind, conf, NULL) != 0) {
		snprintf(out, len, "no start");
		return;
	}
	https_get(mport, "/varz", reply, sizeof(reply));
	snprintf(want, sizeof(want), "\"https_port\": %d,", mport);
	/* HTTP/1.0 or 1.1 in the reply line: both are fine. */
	snprintf(out, len, "ok=%d port=%d",
		 strncmp(reply, "HTTP/1.", 7) == 0 &&
			 strncmp(reply + 8, " 200 ", 5) == 0,
		 strstr(reply, want) != NULL);
	/* A TLS client in /connz: its version and cipher suite, in Go's
	 * names (the suite chosen may differ between the two). */
	{
		natsConnection *nc = tls_connect("ca", NULL, NULL, NULL);

		https_get(mport, "/connz", reply, sizeof(reply));
		strncat(out,
			strstr(reply, "\"tls_version\": \"1.3\"") != NULL &&
					strstr(reply, "\"tls_cipher_suite\": "
						      "\"TLS_") != NULL
				? " connz_tls=1"
				: " connz_tls=0",
			len - strlen(out) - 1);
		natsConnection_Destroy(nc);
	}
	fd = harness_connect(mport);
	if (fd >= 0) {
		harness_sendstr(fd, "GET /varz HTTP/1.0\r\n\r\n");
		n = harness_read_for(fd, reply, sizeof(reply), 300, NULL);
		strncat(out, n > 0 && strstr(reply, "\"server_id\"") ? " plain=json"
						: " plain=none",
			len - strlen(out) - 1);
		close(fd);
	}
	stop(kind);
}

static void test_https_monitor(void)
{
	char out[4096];

	compare("https monitor", out_https_monitor,
		"ok=1 port=1 connz_tls=1 plain=none");
	/* Without a certificate, or beside http_port: nats-server's words. */
	CU_ASSERT(natsd_fail("-ms 8223", out, sizeof(out)) == 1);
	CU_ASSERT(strstr(out, "Can't start monitoring: TLS cert and key "
			      "required for HTTPS") != NULL);
	CU_ASSERT(natsd_fail("-m 8222 -ms 8223", out, sizeof(out)) == 1);
	CU_ASSERT(strstr(out, "Can't start monitoring: can't specify both "
			      "HTTP (8222) and HTTPs (8223) ports") != NULL);
}

/* handshake_first: the handshake comes before INFO, which then comes
 * over TLS (a raw socket sees no clear-text INFO). */
static void test_handshake_first(void)
{
	char conf[1024], path[256], buf[256];
	bool eof = false;
	pid_t pid;
	int port = harness_free_port(), fd = -1, i;
	ssize_t n;
	FILE *f;

	snprintf(conf, sizeof(conf),
		 "tls = { cert_file = \"%s/server.pem\"; key_file = "
		 "\"%s/server.key\"; handshake_first = true; timeout = 1; };\n",
		 certs, certs);
	snprintf(path, sizeof(path), "%s/hf.conf", certs);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(conf, f);
	fclose(f);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		const char *bin = getenv("NATSD_BIN");
		char p[16];

		snprintf(p, sizeof(p), "%d", port);
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl(bin ? bin : "./natsd", "natsd", "-a", "127.0.0.1", "-p",
		      p, "-c", path, (char *)NULL);
		_exit(127);
	}
	srv.pid = pid;
	for (i = 0; i < 100 && fd < 0; i++) {
		usleep(50000);
		fd = harness_connect(port);
	}
	CU_ASSERT_FATAL(fd >= 0);
	n = harness_read_until(fd, buf, sizeof(buf), NULL, 1500, &eof);
	CU_ASSERT(n == 0);
	CU_ASSERT(eof);
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	srv.pid = 0;
}

/* allow_non_tls (top level, as in nats-server 2.10): INFO says
 * tls_available, a clear-text client is served in clear text, and a TLS
 * client still gets TLS. natsd only: nats-server 2.9 lacks the option. */
static void test_allow_non_tls(void)
{
	char conf[1024], info[4096];
	int fd;

	snprintf(conf, sizeof(conf),
		 "allow_non_tls = true;\n"
		 "tls = { cert_file = \"%s/server.pem\"; key_file = "
		 "\"%s/server.key\"; };\n",
		 certs, certs);
	CU_ASSERT_FATAL(harness_start(&srv, "natsd", conf, NULL) == 0);
	fd = itest_raw_connect(srv.port, info, sizeof(info));
	CU_ASSERT(strstr(info, "\"tls_available\":true") != NULL);
	CU_ASSERT(strstr(info, "\"tls_required\"") == NULL);
	if (fd >= 0)
		close(fd);
	fd = itest_raw_open(srv.port, "{\"verbose\":false}", "");
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	CU_ASSERT(itest_stop(&srv));
}

/* A link over TLS: server A's link listener stacks tls (its plugin's
 * settings: the server side, client certificates verified); server B's
 * link dials and pushes tls with a client section (conn_push). Messages
 * cross the link; without a client certificate the link never comes up. */
static struct hserver lsrv_a, lsrv_b;

static int start_link_pair(const char *client_cert)
{
	const char *dir = getenv("NATSD_TEST_PLUGIN_DIR");
	char conf[4096], port_file[256], buf[32], cert[512] = "";
	const char *args[] = { "-D", NULL };
	FILE *f;
	int i, port = -1;

	snprintf(port_file, sizeof(port_file), "%s/link.port", certs);
	unlink(port_file);
	snprintf(conf, sizeof(conf),
		 "plugins = (\n"
		 "  { load = \"transport_tls\"; settings = {\n"
		 "    cert_file = \"%s/server.pem\"; key_file = "
		 "\"%s/server.key\";\n"
		 "    ca_file = \"%s/ca.pem\"; verify = true; }; },\n"
		 "  { load = \"%s/link_test_plugin.so\"; settings = {\n"
		 "    listen_port = 0; port_file = \"%s\"; tls_listen = true; "
		 "}; }\n);\n",
		 certs, certs, certs, dir ? dir : "tests/plugins/.libs",
		 port_file);
	if (harness_start(&lsrv_a, "natsd", conf, args) != 0)
		return -1;
	for (i = 0; i < 200 && port < 0; i++) {
		f = fopen(port_file, "r");
		if (f != NULL) {
			if (fgets(buf, sizeof(buf), f) != NULL)
				port = atoi(buf) > 0 ? atoi(buf) : -1;
			fclose(f);
		}
		if (port < 0)
			usleep(10000);
	}
	if (port < 0)
		return -1;
	if (client_cert != NULL)
		snprintf(cert, sizeof(cert),
			 "cert_file = \"%s/%s.pem\"; key_file = "
			 "\"%s/%s.key\";",
			 certs, client_cert, certs, client_cert);
	snprintf(conf, sizeof(conf),
		 "plugins = (\n"
		 "  { load = \"transport_tls\"; },\n"
		 "  { load = \"%s/link_test_plugin.so\"; settings = {\n"
		 "    peer_port = %d;\n"
		 "    tls_dial = { client = true; ca_file = \"%s/ca.pem\"; "
		 "%s };\n"
		 "  }; }\n);\n",
		 dir ? dir : "tests/plugins/.libs", port, certs, cert);
	return harness_start(&lsrv_b, "natsd", conf, args);
}

static void test_link_over_tls(void)
{
	natsConnection *a, *b;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	int i;

	CU_ASSERT_FATAL(start_link_pair("alice") == 0);
	CU_ASSERT(itest_log_wait(&lsrv_a, "linktest: link up with", WAIT_MS));
	CU_ASSERT(itest_log_wait(&lsrv_b, "linktest: link up with", WAIT_MS));
	CU_ASSERT(itest_log_wait(&lsrv_a, "TLS version 1.3", WAIT_MS));
	a = itest_client(lsrv_a.port);
	b = itest_client(lsrv_b.port);
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT(natsConnection_SubscribeSync(&sub, a, "over.tls") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(a, WAIT_MS) == NATS_OK);
	/* Interest crosses the link; publish until a message arrives. */
	for (i = 0; i < 50 && m == NULL; i++) {
		natsConnection_PublishString(b, "over.tls", "hi");
		natsConnection_FlushTimeout(b, WAIT_MS);
		natsSubscription_NextMsg(&m, sub, 100);
	}
	CU_ASSERT_PTR_NOT_NULL(m);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(a);
	natsConnection_Destroy(b);
	CU_ASSERT(itest_stop(&lsrv_b));
	CU_ASSERT(itest_stop(&lsrv_a));

	/* No client certificate: A refuses the handshake, no link. */
	CU_ASSERT_FATAL(start_link_pair(NULL) == 0);
	CU_ASSERT(itest_log_wait(&lsrv_a, "TLS handshake error", WAIT_MS));
	CU_ASSERT(strstr(harness_log(&lsrv_a), "link up with") == NULL);
	CU_ASSERT(itest_stop(&lsrv_b));
	CU_ASSERT(itest_stop(&lsrv_a));
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "basic", test_basic },
		{ "verify", test_verify },
		{ "pinned_certs, with and without verify", test_pinned },
		{ "verify_and_map", test_verify_and_map },
		{ "plain client on TLS port", test_plain_client },
		{ "handshake timeout", test_handshake_timeout },
		{ "TLS client on plain port", test_tls_on_plain_port },
		{ "reload", test_reload },
		{ "reload with a bad certificate", test_reload_bad_cert },
		{ "flags", test_flags },
		{ "bad config", test_bad_config },
		{ "handshake_first", test_handshake_first },
		{ "allow_non_tls", test_allow_non_tls },
		{ "link over TLS", test_link_over_tls },
		{ "monitoring over HTTPS", test_https_monitor },
	};
	const struct suite suites[] = {
		{ "tls", NULL, NULL, tests, SUITE_COUNT(tests) },
	};
	char cmd[512];
	const char *nsb = getenv("NATS_SERVER_BIN");
	int rc;

	itest_init("tls_test", WATCHDOG_S, &srv.pid);
	itest_watch_pid(&lsrv_a.pid);
	itest_watch_pid(&lsrv_b.pid);
	snprintf(certs, sizeof(certs), "/tmp/natsd-tls-XXXXXX");
	if (mkdtemp(certs) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "sh %s %s", TLS_CERT_SCRIPT, certs);
	if (system(cmd) != 0) {
		fprintf(stderr, "tls_test: cannot make certificates\n");
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s --version >/dev/null 2>&1",
		 nsb != NULL && nsb[0] != '\0' ? nsb : "nats-server");
	have_ns = system(cmd) == 0;
	if (!have_ns)
		fprintf(stderr, "tls_test: no nats-server, comparisons "
				"skipped\n");
	rc = suites_run(suites, SUITE_COUNT(suites));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
	if (system(cmd) != 0)
		fprintf(stderr, "tls_test: cannot remove %s\n", certs);
	return rc;
}
