#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Signals: SIGHUP reloads users and permissions from the config file
 * without dropping connected clients; a broken file keeps the running
 * config; SIGUSR1 reopens the log file after it was moved away (log
 * rotation). Runs against natsd or nats-server (harness_kind()).
 */

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "harness.h"
#include "itest.h"

#ifndef TLS_CERT_SCRIPT
#define TLS_CERT_SCRIPT "tests/tls/make-certs.sh"
#endif

#define WAIT_MS	   ITEST_WAIT_MS
#define WATCHDOG_S 90

static struct hserver srv;
static char certs[64]; /* made by TLS_CERT_SCRIPT */

/* Config text with the given users ("name:pass:pubsubject" entries). */
static void make_conf(char *buf, size_t len, const char *const *users,
		      int n)
{
	size_t off = 0;
	int i;

	if (itest_is_natsd())
		off += (size_t)snprintf(buf + off, len - off,
					"authorization = { users = (");
	else
		off += (size_t)snprintf(buf + off, len - off,
					"authorization { users = [");
	for (i = 0; i < n; i++) {
		char name[64], pass[64], pub[64];

		if (sscanf(users[i], "%63[^:]:%63[^:]:%63s", name, pass,
			   pub) != 3)
			abort();
		if (itest_is_natsd())
			off += (size_t)snprintf(
				buf + off, len - off,
				"%s{ user = \"%s\"; password = \"%s\"; "
				"permissions = { publish = [\"%s\"]; }; }",
				i ? "," : "", name, pass, pub);
		else
			off += (size_t)snprintf(
				buf + off, len - off,
				"%s{ user: %s, password: %s, "
				"permissions: { publish: [\"%s\"] } }",
				i ? "," : "", name, pass, pub);
	}
	snprintf(buf + off, len - off, itest_is_natsd() ? "); };\n" : "] }\n");
}

static void write_conf(const char *text)
{
	FILE *f = fopen(srv.conf_path, "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* Logs in and publishes to subj; returns the first reply line. */
static void login_pub(const char *user, const char *pass, const char *subj,
		      char *out, size_t outlen)
{
	char cmd[512];
	bool eof = false;
	int fd = itest_raw_connect(srv.port, NULL, 0);

	out[0] = '\0';
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(cmd, sizeof(cmd),
		 "CONNECT {\"verbose\":false,\"user\":\"%s\",\"pass\":\"%s\"}"
		 "\r\nPUB %s 0\r\n\r\nPING\r\n",
		 user, pass, subj);
	harness_sendstr(fd, cmd);
	harness_read_until(fd, out, outlen, "\r\n", WAIT_MS, &eof);
	close(fd);
}

static void test_reload_users(void)
{
	static const char *const v1[] = { "alice:pa:a.>" };
	static const char *const v2[] = { "alice:pa:b.>", "bob:pb:b.>" };
	static const char denied[] =
		"-ERR 'Permissions Violation for Publish to \"a.x\"'\r\n";
	char conf[2048], line[4096];
	bool eof = false;
	int keep;

	make_conf(conf, sizeof(conf), v1, 1);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	login_pub("alice", "pa", "a.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	login_pub("bob", "pb", "b.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "-ERR 'Authorization Violation'\r\n");

	/* A client connected before the reload stays connected. */
	keep = itest_raw_connect(srv.port, NULL, 0);
	CU_ASSERT_FATAL(keep >= 0);
	harness_sendstr(keep, "CONNECT {\"verbose\":false,\"user\":\"alice\","
			      "\"pass\":\"pa\"}\r\nPING\r\n");
	harness_read_until(keep, line, sizeof(line), "PONG\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");

	make_conf(conf, sizeof(conf), v2, 2);
	write_conf(conf);
	kill(srv.pid, SIGHUP);
	CU_ASSERT(
		itest_log_wait(&srv, "eloaded server configuration", WAIT_MS));
	login_pub("bob", "pb", "b.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	login_pub("alice", "pa", "a.x", line, sizeof(line));
	/* The -ERR may come in one read with the PONG that follows it. */
	CU_ASSERT(strncmp(line, denied, strlen(denied)) == 0);

	harness_sendstr(keep, "PING\r\n");
	harness_read_until(keep, line, sizeof(line), "\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	close(keep);

	/* A broken file is refused and the running config stays. */
	write_conf(itest_is_natsd()
			   ? "authorization = { users = ( { user = ; } ); };\n"
			   : "authorization { users = [ { user: } ] \n");
	kill(srv.pid, SIGHUP);
	usleep(300000);
	login_pub("bob", "pb", "b.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	harness_stop(&srv);
}

static void test_reopen_log(void)
{
	char dir[] = "/tmp/natsd-reload-XXXXXX", logf[256], moved[256];
	const char *args[] = { "-l", logf, NULL };
	struct stat st;
	int i;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(logf, sizeof(logf), "%s/server.log", dir);
	snprintf(moved, sizeof(moved), "%s/server.log.1", dir);
	CU_ASSERT_FATAL(itest_start(&srv, NULL, args) == 0);
	CU_ASSERT(stat(logf, &st) == 0);
	CU_ASSERT(rename(logf, moved) == 0);
	kill(srv.pid, SIGUSR1);
	for (i = 0; i < 100 && stat(logf, &st) != 0; i++)
		usleep(20000);
	CU_ASSERT(stat(logf, &st) == 0);
	harness_stop(&srv);
	unlink(logf);
	unlink(moved);
	rmdir(dir);
}

/* --ports_file_dir: <dir>/<exe>_<pid>.ports lists the client URL once the
 * server is up, and is removed when it stops. */
static void test_ports_file(void)
{
	char dir[] = "/tmp/natsd-ports-XXXXXX", path[512], want[64], buf[1024];
	const char *args[] = { "--ports_file_dir", dir, NULL };
	FILE *f;
	size_t n;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	CU_ASSERT_FATAL(itest_start(&srv, NULL, args) == 0);
	snprintf(path, sizeof(path), "%s/%s_%ld.ports", dir,
		 itest_is_natsd() ? "natsd" : "nats-server", (long)srv.pid);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	snprintf(want, sizeof(want), "{\"nats\":[\"nats://127.0.0.1:%d\"]}",
		 srv.port);
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT(itest_stop(&srv));
	CU_ASSERT(access(path, F_OK) != 0);
	rmdir(dir);
}

/* Lame duck mode (SIGUSR2): a protocol-1 client gets INFO with
 * "ldm":true at once, new connections are refused, and after the grace
 * period the client is closed (PROTOCOL.md 12.20). */
static void test_lame_duck(void)
{
	static const char natsd_conf[] = "lame_duck_grace_period = \"1s\";\n"
					 "lame_duck_duration = \"30s\";\n";
	static const char nats_conf[] = "lame_duck_grace_period: \"1s\"\n"
					"lame_duck_duration: \"30s\"\n";
	char buf[4096];
	bool eof = false;
	long long t0;
	int fd, fd2;

	CU_ASSERT_FATAL(itest_start(&srv,
				    itest_is_natsd() ? natsd_conf : nats_conf,
				    NULL) == 0);
	/* Connected, and its first PING answered. */
	fd = itest_raw_open(srv.port, "{\"verbose\":false,\"protocol\":1}", "");
	CU_ASSERT_FATAL(fd >= 0);
	kill(srv.pid, SIGUSR2);
	harness_read_until(fd, buf, sizeof(buf), "\r\n", ITEST_WAIT_MS, &eof);
	CU_ASSERT(strncmp(buf, "INFO {", 6) == 0 &&
		  strstr(buf, "\"ldm\":true") != NULL);
	CU_ASSERT(
		itest_log_wait(&srv, "Entering lame duck mode", ITEST_WAIT_MS));
	fd2 = harness_connect(srv.port);
	CU_ASSERT(fd2 < 0);
	if (fd2 >= 0)
		close(fd2);
	t0 = itest_mono_ms();
	CU_ASSERT(harness_is_closed(fd, 5000));
	CU_ASSERT(itest_mono_ms() - t0 >= 500); /* the grace period first */
	close(fd);
	CU_ASSERT(itest_stop(&srv));
}

/* Runs "<server binary> --signal arg" and returns its exit status, with
 * what it printed in out. */
static int run_signal(const char *arg, char *out, size_t cap)
{
	const char *bin = getenv("NATSD_BIN");
	char cmd[1024];
	size_t n;
	FILE *p;

	if (!itest_is_natsd())
		bin = getenv("NATS_SERVER_BIN") ? getenv("NATS_SERVER_BIN")
						: "nats-server";
	snprintf(cmd, sizeof(cmd), "'%s' --signal '%s' 2>&1",
		 bin ? bin : "./natsd", arg);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	return WEXITSTATUS(pclose(p));
}

/* --signal reload=<pid> and reopen=<pid file> reach the server; a dead
 * pid, a bad pid file and an unknown command are refused with
 * nats-server's words. */
static void test_signal_flag(void)
{
	char dir[] = "/tmp/natsd-signal-XXXXXX", pidf[256], arg[300];
	char out[1024];
	const char *args[] = { "-P", pidf, NULL };
	const char *name = itest_is_natsd() ? "natsd" : "nats-server";
	char want[128];
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(pidf, sizeof(pidf), "%s/server.pid", dir);
	CU_ASSERT_FATAL(itest_start(&srv, NULL, args) == 0);
	snprintf(arg, sizeof(arg), "reload=%ld", (long)srv.pid);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 0);
	/* Without a config file both servers refuse to reload, and say so. */
	CU_ASSERT(itest_log_wait(&srv, "reload server configuration",
				 ITEST_WAIT_MS));
	snprintf(arg, sizeof(arg), "reopen=%s", pidf);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 0);
	CU_ASSERT(itest_log_wait(&srv, "File log re-open", ITEST_WAIT_MS));

	snprintf(arg, sizeof(arg), "bogus=%ld", (long)srv.pid);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s: unknown signal \"bogus\"\n", name);
	CU_ASSERT_STRING_EQUAL(out, want);
	CU_ASSERT(itest_stop(&srv));

	/* A pid that names no process. */
	snprintf(arg, sizeof(arg), "reload=999999999");
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s: no such process\n", name);
	CU_ASSERT_STRING_EQUAL(out, want);
	f = fopen(pidf, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("12x", f);
	fclose(f);
	snprintf(arg, sizeof(arg), "reload=%s", pidf);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s: invalid pid: 12x\n", name);
	CU_ASSERT_STRING_EQUAL(out, want);
	unlink(pidf);
	rmdir(dir);
}

/* A client's INFO has "max_payload":want. */
static bool info_max_payload(long want)
{
	char info[4096], needle[64];
	int fd;

	fd = itest_raw_connect(srv.port, info, sizeof(info));
	if (fd < 0)
		return false;
	close(fd);
	snprintf(needle, sizeof(needle), "\"max_payload\":%ld", want);
	if (strstr(info, needle) == NULL) {
		fprintf(stderr, "INFO without %s: %s\n", needle, info);
		return false;
	}
	return true;
}

/* A file that changes what nats-server cannot reload (the server name)
 * is refused with nats-server's message, and none of it is applied; a
 * file in nats-server's format is read by both servers. */
static void test_reload_refused(void)
{
	CU_ASSERT_FATAL(itest_start(&srv, "server_name: first\n", NULL) == 0);
	write_conf("server_name: second\nmax_payload: 2MB\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "Failed to reload server configuration: "
				 "config reload not supported for ServerName: "
				 "old=first, new=second",
				 WAIT_MS));
	CU_ASSERT(info_max_payload(1048576));

	/* A cluster block natsd does not serve is refused the same way. */
	write_conf("server_name: first\nmax_payload: 3MB\n"
		   "cluster { port: 16222 }\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "config reload not supported for cluster "
				 "host: old=, new=0.0.0.0",
				 WAIT_MS));
	CU_ASSERT(info_max_payload(1048576));

	write_conf("server_name: first\nmax_payload: 2MB\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(
		itest_log_wait(&srv, "Reloaded server configuration", WAIT_MS));
	CU_ASSERT(info_max_payload(2097152));
	CU_ASSERT(itest_stop(&srv));
}

/* What a reload changed is logged option by option, in nats-server's
 * words; what nats-server cannot reload is refused. */
static void test_reload_logged(void)
{
	static const char *const want[] = {
		"Reloaded: authorization password",
		"Reloaded: authorization timeout = 3",
		"Reloaded: authorization users",
		"Reloaded: accounts",
		"Reloaded: max_connections = 200",
		"Reloaded: ping_max = 3",
		"Reloaded: write_deadline = 1m30s",
	};
	size_t i;

	CU_ASSERT_FATAL(itest_start(&srv,
				    "authorization { user: a, password: b, "
				    "timeout: 1 }\nwrite_deadline: \"10s\"\n"
				    "max_connections: 100\nping_max: 2\n",
				    NULL) == 0);
	write_conf("authorization { user: a, password: c, timeout: 3 }\n"
		   "write_deadline: \"90s\"\nmax_connections: 200\n"
		   "ping_max: 3\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(
		itest_log_wait(&srv, "Reloaded server configuration", WAIT_MS));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(harness_log(&srv), want[i]) == NULL)
			fprintf(stderr, "missing: %s\n", want[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(harness_log(&srv), want[i]));
	}
	CU_ASSERT_PTR_NULL(strstr(harness_log(&srv), "Reloaded: debug"));
	write_conf("authorization { user: a, password: c, timeout: 3 }\n"
		   "write_deadline: \"90s\"\nmax_connections: 200\n"
		   "ping_max: 3\nmax_subscriptions: 7\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "config reload not supported for MaxSubs: "
				 "old=0, new=7",
				 WAIT_MS));
	CU_ASSERT(itest_stop(&srv));
}

/* No change of the websocket block is reloaded (nats-server prints its
 * Go struct after "old=", natsd the block's main settings). */
static void test_reload_websocket_refused(void)
{
	char conf[256];
	int wp = harness_free_port();

	snprintf(conf, sizeof(conf), "websocket { port: %d, no_tls: true }\n",
		 wp);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	snprintf(conf, sizeof(conf),
		 "websocket { port: %d, no_tls: true, compression: true }\n",
		 wp);
	write_conf(conf);
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "Failed to reload server configuration: "
				 "config reload not supported for Websocket: "
				 "old={",
				 WAIT_MS));
	CU_ASSERT(itest_stop(&srv));
}

/* ------------------------------------------------------------------ */
/* TLS                                                                 */

/* A TLS client of srv (raw socket and OpenSSL, to see the server's
 * certificate). */
struct tclient {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static void tclient_close(struct tclient *t)
{
	if (t->ssl != NULL)
		SSL_free(t->ssl);
	if (t->ctx != NULL)
		SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	t->ssl = NULL;
	t->ctx = NULL;
	t->fd = -1;
}

/* Sends PING and waits for PONG (after -ERRs, if any). */
static bool tclient_ping(struct tclient *t)
{
	char buf[1024];
	size_t got = 0;
	int n, i;

	if (SSL_write(t->ssl, "PING\r\n", 6) != 6)
		return false;
	for (i = 0; i < 20 && got + 1 < sizeof(buf); i++) {
		n = SSL_read(t->ssl, buf + got, (int)(sizeof(buf) - 1 - got));
		if (n <= 0)
			return false;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "PONG\r\n") != NULL)
			return true;
	}
	return false;
}

/* Connects to srv over TLS trusting CA file <ca>.pem, showing client
 * certificate <cert> (NULL: none), and checks CONNECT and a PING go
 * through. out: "ok <issuer CN> <serial>", or "refused". The connection
 * stays in *t (tclient_close()). */
static void tclient_open(struct tclient *t, const char *ca, const char *cert,
			 char *out, size_t len)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	char a[256], b[256], cn[128] = "";
	X509 *peer;
	char *hex = NULL;

	t->fd = -1;
	t->ctx = NULL;
	t->ssl = NULL;
	snprintf(out, len, "refused");
	t->fd = itest_raw_connect(srv.port, NULL, 0);
	if (t->fd < 0)
		return;
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL)
		return;
	snprintf(a, sizeof(a), "%s/%s.pem", certs, ca);
	SSL_CTX_load_verify_locations(t->ctx, a, NULL);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL) {
		snprintf(a, sizeof(a), "%s/%s.pem", certs, cert);
		snprintf(b, sizeof(b), "%s/%s.key", certs, cert);
		SSL_CTX_use_certificate_chain_file(t->ctx, a);
		SSL_CTX_use_PrivateKey_file(t->ctx, b, SSL_FILETYPE_PEM);
	}
	t->ssl = SSL_new(t->ctx);
	if (t->ssl == NULL)
		return;
	SSL_set_fd(t->ssl, t->fd);
	if (SSL_connect(t->ssl) != 1) {
		ERR_clear_error();
		return;
	}
	if (SSL_write(t->ssl, "CONNECT {\"verbose\":false}\r\n", 27) != 27 ||
	    !tclient_ping(t)) {
		ERR_clear_error();
		return;
	}
	peer = SSL_get1_peer_certificate(t->ssl);
	if (peer == NULL)
		return;
	X509_NAME_get_text_by_NID(X509_get_issuer_name(peer), NID_commonName,
				  cn, sizeof(cn));
	{
		BIGNUM *bn =
			ASN1_INTEGER_to_BN(X509_get_serialNumber(peer), NULL);

		hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		BN_free(bn);
	}
	snprintf(out, len, "ok %s %s", cn, hex != NULL ? hex : "?");
	OPENSSL_free(hex);
	X509_free(peer);
}

/* A one-shot tclient_open(). */
static void tclient_try(const char *ca, const char *cert, char *out, size_t len)
{
	struct tclient t;

	tclient_open(&t, ca, cert, out, len);
	tclient_close(&t);
}

/* "ok <issuer CN> <serial>" as tclient_open() says it for certificate
 * file <name>.pem. */
static void cert_id(const char *name, char *out, size_t len)
{
	char path[256], cn[128] = "";
	char *hex = NULL;
	BIGNUM *bn;
	X509 *x;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pem", certs, name);
	f = fopen(path, "r");
	x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f != NULL)
		fclose(f);
	snprintf(out, len, "unreadable %s.pem", name);
	if (x == NULL)
		return;
	X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, cn,
				  sizeof(cn));
	bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(x), NULL);
	hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	snprintf(out, len, "ok %s %s", cn, hex != NULL ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
}

/* nats-server's format, which both servers read: the client port, then
 * a tls block with certificate <cert> and the CA (cert NULL: none) and
 * extra inside it, then more at the top level. */
static void tls_conf(char *buf, size_t len, const char *cert, const char *extra,
		     const char *more)
{
	if (cert == NULL)
		snprintf(buf, len, "%s\n", more ? more : "");
	else
		snprintf(buf, len,
			 "tls { cert_file: \"%s/%s.pem\", key_file: "
			 "\"%s/%s.key\", ca_file: \"%s/ca.pem\"%s%s }\n%s\n",
			 certs, cert, certs, cert, certs, extra ? ", " : "",
			 extra ? extra : "", more ? more : "");
}

/* Writes conf, sends SIGHUP and waits until the reload is over (want:
 * what its last line says). */
static bool reload_with(const char *conf, const char *want)
{
	int before = itest_count(harness_log(&srv), want);
	int i;

	write_conf(conf);
	kill(srv.pid, SIGHUP);
	for (i = 0; i < WAIT_MS / 10; i++) {
		if (itest_count(harness_log(&srv), want) > before)
			return true;
		usleep(10000);
	}
	fprintf(stderr, "no \"%s\" after SIGHUP\n", want);
	return false;
}

static bool log_has(const char *text)
{
	if (strstr(harness_log(&srv), text) != NULL)
		return true;
	fprintf(stderr, "log lacks \"%s\"\n", text);
	return false;
}

static bool info_has(const char *text)
{
	char info[4096];
	int fd = itest_raw_connect(srv.port, info, sizeof(info));

	if (fd < 0)
		return false;
	close(fd);
	return strstr(info, text) != NULL;
}

#define RELOADED "Reloaded server configuration"
#define FAILED   "Failed to reload server configuration"

/* New certificate files in the tls block: new clients get the new
 * certificate; one connected before goes on with the old. */
static void test_reload_tls_files(void)
{
	char conf[1024], res[256], want1[256], want2[256];
	struct tclient keep;

	cert_id("server", want1, sizeof(want1));
	cert_id("server2", want2, sizeof(want2));
	tls_conf(conf, sizeof(conf), "server", NULL, NULL);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	tclient_open(&keep, "ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want1);

	tls_conf(conf, sizeof(conf), "server2", NULL, NULL);
	CU_ASSERT(reload_with(conf, RELOADED));
	CU_ASSERT(log_has("Reloaded: tls = enabled"));
	tclient_try("other-ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want2);
	/* The old CA no longer vouches for the server. */
	tclient_try("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, "refused");
	CU_ASSERT(tclient_ping(&keep));
	tclient_close(&keep);
	CU_ASSERT(itest_stop(&srv));
}

/* verify turned on: new clients without a certificate are refused, one
 * with a certificate gets in, one connected before stays; INFO says
 * tls_verify. */
static void test_reload_tls_verify(void)
{
	char conf[1024], res[256], want[256];
	struct tclient keep;

	cert_id("server", want, sizeof(want));
	tls_conf(conf, sizeof(conf), "server", NULL, NULL);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	CU_ASSERT(!info_has("\"tls_verify\""));
	tclient_open(&keep, "ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);

	tls_conf(conf, sizeof(conf), "server", "verify: true", NULL);
	CU_ASSERT(reload_with(conf, RELOADED));
	CU_ASSERT(info_has("\"tls_required\":true,\"tls_verify\":true"));
	tclient_try("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, "refused");
	tclient_try("ca", "alice", res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);
	CU_ASSERT(tclient_ping(&keep));

	/* And off again. */
	tls_conf(conf, sizeof(conf), "server", NULL, NULL);
	CU_ASSERT(reload_with(conf, RELOADED));
	CU_ASSERT(!info_has("\"tls_verify\""));
	tclient_try("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);
	tclient_close(&keep);
	CU_ASSERT(itest_stop(&srv));
}

/* A tls block that does not load fails the whole reload: the other
 * changes in the file are not applied and the old certificate serves. */
static void test_reload_tls_broken(void)
{
	char conf[1024], res[256], want[256], path[512];

	cert_id("server", want, sizeof(want));
	tls_conf(conf, sizeof(conf), "server", NULL, NULL);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	tls_conf(conf, sizeof(conf), "missing", NULL, "max_payload: 2MB");
	CU_ASSERT(reload_with(conf, FAILED));
	snprintf(path, sizeof(path), "%s/missing.pem", certs);
	CU_ASSERT(log_has(path));
	CU_ASSERT(info_has("\"max_payload\":1048576"));
	tclient_try("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);

	/* A key that is not the certificate's. */
	snprintf(conf, sizeof(conf),
		 "tls { cert_file: \"%s/server.pem\", key_file: "
		 "\"%s/alice.key\" }\nmax_payload: 2MB\n",
		 certs, certs);
	CU_ASSERT(reload_with(conf, FAILED));
	CU_ASSERT(log_has("private key"));
	CU_ASSERT(info_has("\"max_payload\":1048576"));
	tclient_try("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);

	/* verify_and_map cannot change. */
	tls_conf(conf, sizeof(conf), "server", "verify_and_map: true", NULL);
	CU_ASSERT(reload_with(conf, "config reload not supported for TLSMap: "
				    "old=false, new=true"));
	CU_ASSERT(!info_has("\"tls_verify\""));
	CU_ASSERT(itest_stop(&srv));
}

/* A tls block added and taken away: TLS on and off for new clients,
 * and INFO as nats-server has it (tls_verify stays once set). */
static void test_reload_tls_on_off(void)
{
	char conf[1024], res[256], want[256];
	struct tclient keep;
	int fd;

	cert_id("server", want, sizeof(want));
	CU_ASSERT_FATAL(itest_start(&srv, "max_payload: 1MB\n", NULL) == 0);
	fd = itest_raw_open(srv.port, "{\"verbose\":false}", "");
	CU_ASSERT(fd >= 0);
	CU_ASSERT(!info_has("tls_required"));

	tls_conf(conf, sizeof(conf), "server", "verify: true", NULL);
	CU_ASSERT(reload_with(conf, RELOADED));
	CU_ASSERT(log_has("Reloaded: tls = enabled"));
	CU_ASSERT(log_has("Reloaded: authorization timeout = 3"));
	CU_ASSERT(info_has("\"tls_required\":true,\"tls_verify\":true"));
	tclient_open(&keep, "ca", "alice", res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);
	/* The clear-text client from before goes on. */
	harness_sendstr(fd, "PING\r\n");
	{
		char line[256];
		bool eof = false;

		harness_read_until(fd, line, sizeof(line), "\r\n", WAIT_MS,
				   &eof);
		CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	}
	close(fd);

	CU_ASSERT(reload_with("max_payload: 1MB\n", RELOADED));
	CU_ASSERT(log_has("Reloaded: tls = disabled"));
	CU_ASSERT(!info_has("tls_required"));
	CU_ASSERT(info_has("\"tls_verify\":true"));
	fd = itest_raw_open(srv.port, "{\"verbose\":false}", "");
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
	CU_ASSERT(tclient_ping(&keep));
	tclient_close(&keep);
	CU_ASSERT(itest_stop(&srv));
}

/* tls timeout and pinned_certs: logged as nats-server logs them; the
 * authorization timeout follows the TLS one (nats-server's default). */
static void test_reload_tls_logged(void)
{
	char conf[1024], pins[256], res[256];

	tls_conf(conf, sizeof(conf), "server", NULL, NULL);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	/* Two values no certificate here has. */
	snprintf(pins, sizeof(pins),
		 "timeout: 2.5, pinned_certs: [\"%064d\", \"%063d1\"]", 0, 0);
	tls_conf(conf, sizeof(conf), "server", pins, NULL);
	CU_ASSERT(reload_with(conf, RELOADED));
	CU_ASSERT(log_has("Reloaded: tls timeout = 2.5"));
	CU_ASSERT(log_has("Reloaded: authorization timeout = 3.5"));
	CU_ASSERT(log_has("Reloaded: 2 pinned_certs"));
	/* No certificate of ours is pinned. */
	tclient_try("ca", "alice", res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, "refused");
	CU_ASSERT(itest_stop(&srv));
}

/* --tls* flags with a config file: natsd reloads the file and keeps
 * serving TLS with the flags' certificate, which wins over a tls block
 * as at start; nats-server 2.9 refuses every such reload ("TLS:
 * old=true, new=false"), which natsd does not copy. */
static void test_reload_tls_flags(void)
{
	char cert[256], key[256], conf[1024], res[256], want[256];
	const char *args[] = {
		"--tls", "--tlscert", cert, "--tlskey", key, NULL
	};

	snprintf(cert, sizeof(cert), "%s/server.pem", certs);
	snprintf(key, sizeof(key), "%s/server.key", certs);
	cert_id("server", want, sizeof(want));
	CU_ASSERT_FATAL(itest_start(&srv, "max_payload: 1MB\n", args) == 0);
	tclient_try("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);
	tls_conf(conf, sizeof(conf), "server2", NULL, "max_payload: 2MB");
	if (!itest_is_natsd()) {
		CU_ASSERT(reload_with(conf, "config reload not supported for "
					    "TLS: old=true, new=false"));
		CU_ASSERT(itest_stop(&srv));
		return;
	}
	CU_ASSERT(reload_with(conf, RELOADED));
	CU_ASSERT(info_max_payload(2097152));
	tclient_try("ca", NULL, res, sizeof(res));
	CU_ASSERT_STRING_EQUAL(res, want);
	CU_ASSERT(itest_stop(&srv));
}

/* What nats-server 2.9 refuses to reload, each with its message; the
 * running config stays. */
static void test_reload_more_refused(void)
{
	static const char users[] =
		"authorization { users: [ {user: a, password: b} ] }\n";
	char conf[512], want[128];
	int hp = harness_free_port();
	struct {
		const char *conf, *want;
	} cases[] = {
		{ "no_auth_user: a\n", "NoAuthUser: old=, new=a" },
		{ "system_account: FOO\naccounts { FOO {} }\n",
		  "SystemAccount: old=, new=FOO" },
		{ NULL, NULL }, /* http_port, below */
		{ "no_header_support: true\n",
		  "NoHeaderSupport: old=false, new=true" },
		{ "log_size_limit: 5000\n", "LogSizeLimit: old=0, new=5000" },
		{ "max_sub_tokens: 5\n", "MaxSubTokens: old=0, new=5" },
	};
	char http[64], hwant[64];
	size_t i;

	snprintf(http, sizeof(http), "http_port: %d\n", hp);
	snprintf(hwant, sizeof(hwant), "HTTPPort: old=0, new=%d", hp);
	cases[2].conf = http;
	cases[2].want = hwant;
	CU_ASSERT_FATAL(itest_start(&srv, users, NULL) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(conf, sizeof(conf), "%s%smax_payload: 2MB\n", users,
			 cases[i].conf);
		snprintf(want, sizeof(want),
			 FAILED ": config reload not supported for %s",
			 cases[i].want);
		CU_ASSERT(reload_with(conf, want));
		CU_ASSERT(info_max_payload(1048576));
	}
	CU_ASSERT(itest_stop(&srv));
}

/* Position of text in the log, or -1. */
static long log_pos(const char *text)
{
	const char *p = strstr(harness_log(&srv), text);

	if (p == NULL)
		fprintf(stderr, "log lacks \"%s\"\n", text);
	return p != NULL ? (long)(p - harness_log(&srv)) : -1;
}

/* The other options nats-server reloads: logged in its words and in its
 * order, and applied (pid_file written, ports file moved, max_payload
 * in INFO). */
static void test_reload_more_applied(void)
{
	static const char *const want[] = {
		"Reloaded: trace = true",
		"Reloaded: debug = true",
		"Reloaded: logtime = false",
		"Reloaded: authorization users",
		"Reloaded: accounts",
		"Reloaded: authorization username",
		"Reloaded: authorization password",
		"Reloaded: ping_interval = 30s",
		"Reloaded: max_control_line = 2048",
		"Reloaded: max_payload = 2048",
		NULL, /* pid_file */
		NULL, /* ports_file_dir */
		"Reloaded: max_traced_msg_len = 5",
	};
	char dir[] = "/tmp/natsd-reload2-XXXXXX", pid1[256], pid2[256];
	char conf[1024], line[256], ports[512], pidl[300], portl[300];
	long last = -1, at;
	FILE *f;
	size_t i;
	char *lines[sizeof(want) / sizeof(want[0])];

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(pid1, sizeof(pid1), "%s/one.pid", dir);
	snprintf(pid2, sizeof(pid2), "%s/two.pid", dir);
	snprintf(conf, sizeof(conf), "pid_file: \"%s\"\n", pid1);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	snprintf(conf, sizeof(conf),
		 "pid_file: \"%s\"\nports_file_dir: \"%s\"\ntrace: true\n"
		 "debug: true\nlogtime: false\nmax_control_line: 2048\n"
		 "max_payload: 2048\nping_interval: \"30s\"\n"
		 "max_traced_msg_len: 5\n"
		 "authorization { user: a, password: b }\n",
		 pid2, dir);
	CU_ASSERT(reload_with(conf, RELOADED));
	snprintf(pidl, sizeof(pidl), "Reloaded: pid_file = %s", pid2);
	snprintf(portl, sizeof(portl), "Reloaded: ports_file_dir = %s", dir);
	memcpy(lines, want, sizeof(lines));
	lines[10] = pidl;
	lines[11] = portl;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		at = log_pos(lines[i]);
		CU_ASSERT(at > last);
		if (at >= 0)
			last = at;
	}
	CU_ASSERT(info_max_payload(2048));
	f = fopen(pid2, "r");
	CU_ASSERT_PTR_NOT_NULL(f);
	if (f != NULL) {
		CU_ASSERT(fgets(line, sizeof(line), f) != NULL &&
			  atol(line) == (long)srv.pid);
		fclose(f);
	}
	snprintf(ports, sizeof(ports), "%s/%s_%ld.ports", dir,
		 itest_is_natsd() ? "natsd" : "nats-server", (long)srv.pid);
	CU_ASSERT(access(ports, F_OK) == 0);
	CU_ASSERT(itest_stop(&srv));
	unlink(pid1);
	unlink(pid2);
	unlink(ports);
	rmdir(dir);
}

/* Lowered limits reach the clients already connected: those over
 * max_connections are closed, and max_payload applies to the rest. */
static void test_reload_live_limits(void)
{
	char line[256], cmd[512];
	bool eof = false;
	int fd[3], i, closed = 0, open_at = -1;

	CU_ASSERT_FATAL(itest_start(&srv, "max_connections: 10\n", NULL) == 0);
	for (i = 0; i < 3; i++) {
		fd[i] = itest_raw_open(srv.port, "{\"verbose\":false}", "");
		CU_ASSERT_FATAL(fd[i] >= 0);
	}
	CU_ASSERT(reload_with("max_connections: 1\nmax_payload: 100\n",
			      RELOADED));
	CU_ASSERT(log_has("Closed 2 connections to fall within "
			  "max_connections"));
	CU_ASSERT(log_has("Reloaded: max_connections = 1"));
	for (i = 0; i < 3; i++) {
		if (harness_is_closed(fd[i], WAIT_MS / 2))
			closed++;
		else
			open_at = i;
	}
	CU_ASSERT_EQUAL(closed, 2);
	CU_ASSERT_FATAL(open_at >= 0);
	/* The one left has the new max_payload. */
	snprintf(cmd, sizeof(cmd), "PUB x 200\r\n%0200d\r\nPING\r\n", 0);
	harness_sendstr(fd[open_at], cmd);
	harness_read_until(fd[open_at], line, sizeof(line), "\r\n", WAIT_MS,
			   &eof);
	CU_ASSERT_STRING_EQUAL(line, "-ERR 'Maximum Payload Violation'\r\n");
	for (i = 0; i < 3; i++)
		close(fd[i]);
	CU_ASSERT(itest_stop(&srv));
}

/* Exit status: 1 after SIGTERM, 0 after SIGINT, as nats-server. */
static void test_exit_status(void)
{
	int status = -1, i;
	pid_t w = 0;

	CU_ASSERT_FATAL(itest_start(&srv, NULL, NULL) == 0);
	CU_ASSERT_EQUAL(harness_stop(&srv), 1);
	CU_ASSERT_FATAL(itest_start(&srv, NULL, NULL) == 0);
	kill(srv.pid, SIGINT);
	for (i = 0; i < 500 && w != srv.pid; i++) {
		w = waitpid(srv.pid, &status, WNOHANG);
		if (w != srv.pid)
			usleep(10000);
	}
	CU_ASSERT(w == srv.pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0);
	if (w == srv.pid)
		srv.pid = 0;
	harness_stop(&srv);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "SIGHUP reloads users and permissions", test_reload_users },
		{ "SIGUSR1 reopens the log file", test_reopen_log },
		{ "ports file", test_ports_file },
		{ "--signal", test_signal_flag },
		{ "lame duck mode", test_lame_duck },
		{ "SIGHUP refuses what cannot be reloaded",
		  test_reload_refused },
		{ "SIGHUP logs what it reloaded", test_reload_logged },
		{ "SIGHUP refuses a websocket change",
		  test_reload_websocket_refused },
		{ "SIGHUP: new certificate files", test_reload_tls_files },
		{ "SIGHUP: tls verify on and off", test_reload_tls_verify },
		{ "SIGHUP: a broken tls block is refused",
		  test_reload_tls_broken },
		{ "SIGHUP: tls block added and removed",
		  test_reload_tls_on_off },
		{ "SIGHUP: tls timeout and pins logged",
		  test_reload_tls_logged },
		{ "SIGHUP with --tls flags", test_reload_tls_flags },
		{ "SIGHUP refuses what nats-server refuses",
		  test_reload_more_refused },
		{ "SIGHUP applies what nats-server applies",
		  test_reload_more_applied },
		{ "SIGHUP: limits reach live clients",
		  test_reload_live_limits },
		{ "exit status on SIGTERM and SIGINT", test_exit_status },
	};
	static const struct suite suite = {
		"reload", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	char cmd[512];
	int rc;

	itest_init("reload_test", WATCHDOG_S, &srv.pid);
	snprintf(certs, sizeof(certs), "/tmp/natsd-reload-tls-XXXXXX");
	if (mkdtemp(certs) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "sh %s %s", TLS_CERT_SCRIPT, certs);
	if (system(cmd) != 0) {
		fprintf(stderr, "reload_test: cannot make certificates\n");
		return 1;
	}
	rc = suites_run(&suite, 1) == 0 ? 0 : 1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
	if (system(cmd) != 0)
		fprintf(stderr, "reload_test: cannot remove %s\n", certs);
	return rc;
}
