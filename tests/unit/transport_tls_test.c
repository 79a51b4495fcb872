/* Tests for plugins/transport/tls.c.
 *
 * The plugin's source is compiled into this program and driven through a
 * fake host table: settings sections come from the core's config reader
 * (conffile_from_text), and the stream below each layer is one end of a
 * non-blocking socket pair. A server layer and a client layer (the side
 * links will dial with) are pushed on the two ends and pumped until their
 * handshake is over. Certificates are made by tests/tls/make-certs.sh. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/plugin.h>

#include "../../plugins/transport/tls.c"
#include "../suites.h"
#include "conffile.h"

#ifndef TLS_CERT_SCRIPT
#define TLS_CERT_SCRIPT "tests/tls/make-certs.sh"
#endif

/* The stream below a layer: a socket. */
struct natsd_stream {
	int fd;
};

static struct natsd_transport_ops ops;
static void *pctx;
static char certs[64];
static void *owners[16];
static int nowners;

static int fake_register(struct natsd_host *h,
			 const struct natsd_transport_ops *o, void *ctx)
{
	(void)h;
	ops = *o;
	pctx = ctx;
	return 0;
}

static ssize_t fake_read(struct natsd_stream *s, void *buf, size_t len)
{
	ssize_t n = recv(s->fd, buf, len, 0);

	if (n >= 0)
		return n;
	return errno == EAGAIN ? NATSD_EAGAIN : -errno;
}

static ssize_t fake_writev(struct natsd_stream *s, const struct iovec *iov,
			   int iovcnt)
{
	ssize_t n = writev(s->fd, iov, iovcnt);

	if (n >= 0)
		return n;
	return errno == EAGAIN ? NATSD_EAGAIN : -errno;
}

static void fake_log(struct natsd_host *h, int level, const char *fmt, ...)
{
	(void)h;
	(void)level;
	(void)fmt;
}

static struct natsd_host_api api = {
	.struct_size = sizeof(struct natsd_host_api),
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = NATSD_ABI_MINOR,
	.log = fake_log,
	.cfg_string = conffile_cfg_string,
	.cfg_int = conffile_cfg_int,
	.cfg_bool = conffile_cfg_bool,
	.cfg_duration = conffile_cfg_duration,
	.cfg_size = conffile_cfg_size,
	.cfg_list_len = conffile_cfg_list_len,
	.cfg_list_string = conffile_cfg_list_string,
	.cfg_section = conffile_cfg_section,
	.cfg_where = conffile_cfg_where,
	.register_transport = fake_register,
	.stream_read = fake_read,
	.stream_writev = fake_writev,
};

/* A section from text, where "@" stands for the certificate dir. */
static const struct natsd_cfg *section(const char *text)
{
	const struct natsd_cfg *c = NULL;
	char buf[2048], err[256];
	size_t off = 0;

	for (; *text != '\0' && off + strlen(certs) + 1 < sizeof(buf); text++) {
		if (*text == '@') {
			memcpy(buf + off, certs, strlen(certs));
			off += strlen(certs);
		} else {
			buf[off++] = *text;
		}
	}
	buf[off] = '\0';
	CU_ASSERT_FATAL(nowners < 16);
	CU_ASSERT_FATAL(conffile_from_text(buf, &owners[nowners], &c, err,
					   sizeof(err)) == 0);
	nowners++;
	return c;
}

static void *plugin;

static int plugin_init(const char *server_text, char *err, size_t errlen)
{
	const struct natsd_plugin *d = natsd_plugin_entry(1, 1);

	plugin = NULL;
	return d->init(NULL, &api, server_text ? section(server_text) : NULL,
		       &plugin, err, errlen);
}

static void plugin_fini(void)
{
	const struct natsd_plugin *d = natsd_plugin_entry(1, 1);

	if (plugin != NULL)
		d->fini(plugin);
	plugin = NULL;
	while (nowners > 0)
		conffile_text_free(owners[--nowners]);
}

struct pair {
	struct natsd_stream s, c; /* server and client ends */
	void *ss, *cs;            /* the layers */
};

static void pair_open(struct pair *p, const struct natsd_cfg *client_cfg)
{
	int sv[2];

	CU_ASSERT_FATAL(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	p->s.fd = sv[0];
	p->c.fd = sv[1];
	CU_ASSERT_FATAL(ops.push(pctx, &p->s, NULL, &p->ss) == 0);
	p->cs = NULL;
	if (client_cfg != NULL)
		CU_ASSERT_FATAL(ops.push(pctx, &p->c, client_cfg, &p->cs) == 0);
}

static void pair_close(struct pair *p)
{
	ops.close(p->ss, &p->s);
	if (p->cs != NULL)
		ops.close(p->cs, &p->c);
	close(p->s.fd);
	close(p->c.fd);
}

static bool handshaking(void *sctx)
{
	size_t running = 0;
	const void *out;

	ops.query(sctx, NATSD_Q_HANDSHAKE, &out, &running);
	return running != 0;
}

/* Drives both handshakes: 0 when both are over, else the first error of
 * a read (server's in *srv_rc, client's in *cli_rc). */
static void pump(struct pair *p, ssize_t *srv_rc, ssize_t *cli_rc)
{
	char buf[4096];
	ssize_t n;
	int i;

	*srv_rc = *cli_rc = 0;
	for (i = 0; i < 200; i++) {
		if (*srv_rc == 0 && handshaking(p->ss)) {
			n = ops.read(p->ss, &p->s, buf, sizeof(buf));
			if (n != NATSD_EAGAIN && n <= 0)
				*srv_rc = n == 0 ? -1 : n;
			ops.writev(p->ss, &p->s, NULL, 0);
		}
		if (*cli_rc == 0 && handshaking(p->cs)) {
			n = ops.read(p->cs, &p->c, buf, sizeof(buf));
			if (n != NATSD_EAGAIN && n <= 0)
				*cli_rc = n == 0 ? -1 : n;
			ops.writev(p->cs, &p->c, NULL, 0);
		}
		if ((*srv_rc != 0 || !handshaking(p->ss)) &&
		    (*cli_rc != 0 || !handshaking(p->cs)))
			break;
		usleep(1000);
	}
}

/* Sends text one way and reads it on the other side. */
static bool carries(void *from, struct natsd_stream *fb, void *to,
		    struct natsd_stream *tb, const char *text)
{
	struct iovec iov = { (void *)text, strlen(text) };
	char buf[256];
	size_t got = 0;
	ssize_t n;
	int i;

	if (ops.writev(from, fb, &iov, 1) != (ssize_t)strlen(text))
		return false;
	for (i = 0; i < 200 && got < strlen(text); i++) {
		n = ops.read(to, tb, buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += (size_t)n;
		else if (n != NATSD_EAGAIN)
			return false;
		else
			usleep(1000);
	}
	buf[got] = '\0';
	return strcmp(buf, text) == 0;
}

static const char server_verify[] =
	"cert_file = \"@/server.pem\"; key_file = \"@/server.key\";\n"
	"ca_file = \"@/ca.pem\"; verify = true; timeout = 1.5;\n";

static void test_handshake_and_data(void)
{
	const struct natsd_cfg *cc;
	const void *v = NULL;
	size_t len = 0;
	struct pair p;
	ssize_t a, b;
	char err[512];

	CU_ASSERT_FATAL(plugin_init(server_verify, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(ops.flags(pctx, NULL), NATSD_TF_AFTER_INFO |
						       NATSD_TF_TLS_REQUIRED |
						       NATSD_TF_TLS_VERIFY);
	cc = section(
		"client = true; ca_file = \"@/ca.pem\";\n"
		"cert_file = \"@/alice.pem\"; key_file = \"@/alice.key\";\n");
	CU_ASSERT_EQUAL(ops.flags(pctx, cc), 0);
	pair_open(&p, cc);
	CU_ASSERT(ops.want(p.ss) & NATSD_WANT_READ);
	CU_ASSERT_EQUAL(ops.query(p.ss, NATSD_Q_HANDSHAKE_TIMEOUT, &v, &len),
			0);
	CU_ASSERT_EQUAL(len, 1500);
	/* Plain text written during the handshake waits for its end. */
	{
		struct iovec iov = { "INFO {}\r\n", 9 };

		CU_ASSERT_EQUAL(ops.writev(p.ss, &p.s, &iov, 1), 9);
	}
	pump(&p, &a, &b);
	CU_ASSERT_EQUAL(a, 0);
	CU_ASSERT_EQUAL(b, 0);
	CU_ASSERT(!handshaking(p.ss));
	CU_ASSERT(!handshaking(p.cs));
	{
		char buf[64];
		ssize_t n = NATSD_EAGAIN;
		int i;

		for (i = 0; i < 200 && n == NATSD_EAGAIN; i++) {
			n = ops.read(p.cs, &p.c, buf, sizeof(buf));
			if (n == NATSD_EAGAIN)
				usleep(1000);
		}
		CU_ASSERT_EQUAL(n, 9);
	}
	CU_ASSERT(carries(p.cs, &p.c, p.ss, &p.s, "CONNECT {}\r\nPING\r\n"));
	CU_ASSERT(carries(p.ss, &p.s, p.cs, &p.c, "PONG\r\n"));
	CU_ASSERT_EQUAL(ops.query(p.ss, NATSD_Q_TLS_VERSION, &v, &len), 0);
	CU_ASSERT_STRING_EQUAL((const char *)v, "1.3");
	CU_ASSERT_EQUAL(ops.query(p.ss, NATSD_Q_TLS_CIPHER, &v, &len), 0);
	CU_ASSERT_STRING_EQUAL((const char *)v, "TLS_AES_128_GCM_SHA256");
	CU_ASSERT_EQUAL(ops.query(p.ss, NATSD_Q_PEER_CERT_DER, &v, &len), 0);
	CU_ASSERT(len > 100);
	CU_ASSERT_EQUAL(ops.query(p.ss, NATSD_Q_CONN_TYPE, &v, &len),
			NATSD_ENOTSUP);
	CU_ASSERT_EQUAL(ops.reload(pctx, err, sizeof(err)), 0);
	pair_close(&p);
	plugin_fini();
}

/* A TLS 1.2 handshake (the server held to 1.2) works as well. */
static void test_tls12(void)
{
	const struct natsd_cfg *cc;
	struct pair p;
	const void *v = NULL;
	size_t len;
	ssize_t a, b;
	char err[512];

	CU_ASSERT_FATAL(plugin_init("cert_file = \"@/server.pem\"; key_file = "
				    "\"@/server.key\";\n",
				    err, sizeof(err)) == 0);
	SSL_CTX_set_max_proto_version(((struct tls_plugin *)pctx)->main->ctx,
				      TLS1_2_VERSION);
	cc = section("client = true; ca_file = \"@/ca.pem\";\n");
	pair_open(&p, cc);
	pump(&p, &a, &b);
	CU_ASSERT_EQUAL(a, 0);
	CU_ASSERT_EQUAL(b, 0);
	CU_ASSERT_EQUAL_FATAL(ops.query(p.ss, NATSD_Q_TLS_VERSION, &v, &len),
			      0);
	CU_ASSERT_STRING_EQUAL((const char *)v, "1.2");
	CU_ASSERT_EQUAL(ops.query(p.ss, NATSD_Q_PEER_CERT_DER, &v, &len),
			NATSD_ENOENT);
	CU_ASSERT(carries(p.cs, &p.c, p.ss, &p.s, "PING\r\n"));
	pair_close(&p);
	plugin_fini();
}

/* Bad client certificates fail the server's handshake with a reason. */
static void test_bad_client_certs(void)
{
	static const char *const who[] = { NULL, "expired", "rogue" };
	const struct natsd_cfg *cc;
	const void *why;
	char text[256], err[512];
	struct pair p;
	size_t running;
	ssize_t a, b;
	int i;

	CU_ASSERT_FATAL(plugin_init(server_verify, err, sizeof(err)) == 0);
	for (i = 0; i < 3; i++) {
		if (who[i] != NULL)
			snprintf(text, sizeof(text),
				 "client = true; ca_file = \"@/ca.pem\"; "
				 "cert_file = \"@/%s.pem\"; key_file = "
				 "\"@/%s.key\";\n",
				 who[i], who[i]);
		else
			snprintf(text, sizeof(text),
				 "client = true; ca_file = \"@/ca.pem\";\n");
		cc = section(text);
		pair_open(&p, cc);
		pump(&p, &a, &b);
		CU_ASSERT(a < 0);
		why = NULL;
		ops.query(p.ss, NATSD_Q_HANDSHAKE, &why, &running);
		CU_ASSERT_PTR_NOT_NULL(why);
		pair_close(&p);
	}
	plugin_fini();
}

/* The client checks the server: a server certificate from another CA
 * fails the client's handshake. */
static void test_client_verifies_server(void)
{
	const struct natsd_cfg *cc;
	struct pair p;
	ssize_t a, b;
	char err[512];

	CU_ASSERT_FATAL(plugin_init("cert_file = \"@/server2.pem\"; key_file "
				    "= \"@/server2.key\";\n",
				    err, sizeof(err)) == 0);
	cc = section("client = true; ca_file = \"@/ca.pem\";\n");
	pair_open(&p, cc);
	pump(&p, &a, &b);
	CU_ASSERT(b < 0);
	pair_close(&p);
	plugin_fini();
}

/* A clear-text first byte: refused, or let through with allow_non_tls. */
static void test_clear_text(void)
{
	struct pair p;
	char buf[64], err[512];
	const void *why = NULL;
	size_t running;
	ssize_t n;

	CU_ASSERT_FATAL(plugin_init("cert_file = \"@/server.pem\"; key_file = "
				    "\"@/server.key\";\n",
				    err, sizeof(err)) == 0);
	pair_open(&p, NULL);
	CU_ASSERT_EQUAL(send(p.c.fd, "CONNECT {}\r\n", 12, 0), 12);
	n = ops.read(p.ss, &p.s, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, NATSD_EPROTO);
	ops.query(p.ss, NATSD_Q_HANDSHAKE, &why, &running);
	CU_ASSERT(why != NULL && strstr(why, "first record does not look "
					     "like a TLS handshake"));
	pair_close(&p);
	plugin_fini();

	CU_ASSERT_FATAL(plugin_init("cert_file = \"@/server.pem\"; key_file = "
				    "\"@/server.key\"; allow_non_tls = true;\n",
				    err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(ops.flags(pctx, NULL),
			NATSD_TF_AFTER_INFO | NATSD_TF_TLS_AVAILABLE);
	pair_open(&p, NULL);
	CU_ASSERT_EQUAL(send(p.c.fd, "PING\r\n", 6, 0), 6);
	n = ops.read(p.ss, &p.s, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(ops.pending(p.ss), 0);
	n = ops.read(p.ss, &p.s, buf + 1, sizeof(buf) - 1);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT(memcmp(buf, "PING\r\n", 6) == 0);
	CU_ASSERT(!handshaking(p.ss));
	{
		struct iovec iov = { "PONG\r\n", 6 };

		CU_ASSERT_EQUAL(ops.writev(p.ss, &p.s, &iov, 1), 6);
		CU_ASSERT_EQUAL(recv(p.c.fd, buf, sizeof(buf), 0), 6);
	}
	pair_close(&p);
	plugin_fini();
}

/* handshake_ms(): the time left from the push, -1 once up; a timeout of
 * 0 sets no limit. */
static void test_handshake_ms(void)
{
	const struct natsd_cfg *cc;
	struct pair p;
	char err[512];
	int64_t left;
	ssize_t a, b;

	CU_ASSERT_FATAL(plugin_init(server_verify, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(ops.handshake_ms != NULL);
	cc = section(
		"client = true; ca_file = \"@/ca.pem\";\n"
		"cert_file = \"@/alice.pem\"; key_file = \"@/alice.key\";\n");
	pair_open(&p, cc);
	left = ops.handshake_ms(p.ss);
	CU_ASSERT(left > 1000 && left <= 1500);
	usleep(20000);
	CU_ASSERT(ops.handshake_ms(p.ss) < left);
	pump(&p, &a, &b);
	CU_ASSERT_EQUAL(a, 0);
	CU_ASSERT_EQUAL(ops.handshake_ms(p.ss), -1);
	CU_ASSERT_EQUAL(ops.handshake_ms(p.cs), -1);
	pair_close(&p);
	plugin_fini();

	CU_ASSERT_FATAL(plugin_init("cert_file = \"@/server.pem\"; key_file = "
				    "\"@/server.key\"; timeout = 0;\n",
				    err, sizeof(err)) == 0);
	pair_open(&p, NULL);
	CU_ASSERT(ops.handshake_ms(p.ss) >= INT32_MAX - 1);
	pair_close(&p);
	plugin_fini();
}

/* http_server: plain HTTP gets Go's 400 reply and an empty reason (the
 * host logs nothing); other clear text is refused as before. */
static void test_http_server(void)
{
	static const char want[] = "HTTP/1.0 400 Bad Request\r\n\r\nClient "
				   "sent an HTTP request to an HTTPS "
				   "server.\n";
	struct pair p;
	char buf[256], err[512];
	const void *why = NULL;
	size_t running;
	ssize_t n;

	CU_ASSERT_FATAL(plugin_init("cert_file = \"@/server.pem\"; key_file = "
				    "\"@/server.key\"; http_server = true;\n",
				    err, sizeof(err)) == 0);
	pair_open(&p, NULL);
	CU_ASSERT_EQUAL(send(p.c.fd, "GET / HTTP/1.1\r\n", 16, 0), 16);
	n = ops.read(p.ss, &p.s, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, NATSD_EPROTO);
	ops.query(p.ss, NATSD_Q_HANDSHAKE, &why, &running);
	CU_ASSERT(why != NULL && ((const char *)why)[0] == '\0');
	CU_ASSERT_EQUAL(ops.handshake_ms(p.ss), -1);
	n = recv(p.c.fd, buf, sizeof(buf) - 1, 0);
	CU_ASSERT_EQUAL(n, (ssize_t)sizeof(want) - 1);
	buf[n > 0 ? n : 0] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, want);
	pair_close(&p);

	pair_open(&p, NULL);
	CU_ASSERT_EQUAL(send(p.c.fd, "CONNECT {}\r\n", 12, 0), 12);
	CU_ASSERT_EQUAL(ops.read(p.ss, &p.s, buf, sizeof(buf)), NATSD_EPROTO);
	ops.query(p.ss, NATSD_Q_HANDSHAKE, &why, &running);
	CU_ASSERT(why != NULL && strstr(why, "first record"));
	CU_ASSERT(recv(p.c.fd, buf, sizeof(buf), 0) < 0);
	pair_close(&p);
	plugin_fini();
}

/* pinned_certs: only a listed client key gets through. */
static void test_pinned(void)
{
	char cmd[512], hex[80] = "", text[1024], err[512];
	const struct natsd_cfg *cc;
	struct pair p;
	ssize_t a, b;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -in %s/alice.pem -noout -pubkey | openssl pkey "
		 "-pubin -outform der | openssl dgst -sha256 -hex | "
		 "sed 's/.*= //'",
		 certs);
	f = popen(cmd, "r");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fgets(hex, sizeof(hex), f) != NULL);
	pclose(f);
	hex[strcspn(hex, "\n")] = '\0';
	CU_ASSERT_EQUAL_FATAL(strlen(hex), 64);
	snprintf(text, sizeof(text),
		 "cert_file = \"@/server.pem\"; key_file = \"@/server.key\";\n"
		 "ca_file = \"@/ca.pem\"; verify = true;\n"
		 "pinned_certs = [\"%s\"];\n",
		 hex);
	CU_ASSERT_FATAL(plugin_init(text, err, sizeof(err)) == 0);
	cc = section("client = true; ca_file = \"@/ca.pem\"; cert_file = "
		     "\"@/alice.pem\"; key_file = \"@/alice.key\";\n");
	pair_open(&p, cc);
	pump(&p, &a, &b);
	CU_ASSERT_EQUAL(a, 0);
	pair_close(&p);
	cc = section("client = true; ca_file = \"@/ca.pem\"; cert_file = "
		     "\"@/bob.pem\"; key_file = \"@/bob.key\";\n");
	pair_open(&p, cc);
	pump(&p, &a, &b);
	CU_ASSERT(a < 0);
	pair_close(&p);
	plugin_fini();
}

/* Whether a new pair, its client side pushed with section client, gets
 * through the handshake and carries a line. */
static bool handshake_ok(const struct natsd_cfg *client)
{
	struct pair p;
	ssize_t a, b;
	bool ok;

	pair_open(&p, client);
	pump(&p, &a, &b);
	ok = a == 0 && b == 0 && !handshaking(p.ss) &&
	     carries(p.cs, &p.c, p.ss, &p.s, "PING\r\n");
	pair_close(&p);
	return ok;
}

/* New settings on SIGHUP: new streams get them, streams up keep theirs
 * (and outlive the settings they were made with), bad ones change
 * nothing, a push() section's settings are replaced and dropped. */
static void test_reconfigure(void)
{
	const struct natsd_cfg *ca, *other, *key, *next;
	struct pair live;
	ssize_t a, b;
	char err[512];

	CU_ASSERT_FATAL(plugin_init("cert_file = \"@/server.pem\"; key_file "
				    "= \"@/server.key\";\n",
				    err, sizeof(err)) == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ops.reconfigure);
	ca = section("client = true; ca_file = \"@/ca.pem\";\n");
	other = section("client = true; ca_file = \"@/other-ca.pem\";\n");
	pair_open(&live, ca);
	pump(&live, &a, &b);
	CU_ASSERT(a == 0 && b == 0);

	/* The section is read during the call only. */
	{
		void *owner = NULL;
		const struct natsd_cfg *c = NULL;
		char text[512];

		snprintf(text, sizeof(text),
			 "cert_file = \"%s/server2.pem\"; key_file = "
			 "\"%s/server2.key\"; ca_file = \"%s/ca.pem\"; "
			 "verify = true; timeout = 0.5;",
			 certs, certs, certs);
		CU_ASSERT_FATAL(conffile_from_text(text, &owner, &c, err,
						   sizeof(err)) == 0);
		CU_ASSERT_EQUAL(
			ops.reconfigure(pctx, NULL, c, err, sizeof(err)), 0);
		conffile_text_free(owner);
	}
	CU_ASSERT_EQUAL(ops.flags(pctx, NULL), NATSD_TF_AFTER_INFO |
						       NATSD_TF_TLS_REQUIRED |
						       NATSD_TF_TLS_VERIFY);
	CU_ASSERT(carries(live.cs, &live.c, live.ss, &live.s, "PING\r\n"));
	/* server2 is the other CA's, and a client certificate is due. */
	CU_ASSERT(!handshake_ok(ca));
	CU_ASSERT(!handshake_ok(other));
	CU_ASSERT(handshake_ok(section(
		"client = true; ca_file = \"@/other-ca.pem\";\n"
		"cert_file = \"@/alice.pem\"; key_file = \"@/alice.key\";\n")));

	/* A bad section leaves the settings in force. */
	err[0] = '\0';
	CU_ASSERT(ops.reconfigure(pctx, NULL,
				  section("cert_file = \"@/nope.pem\"; "
					  "key_file = \"@/server.key\";"),
				  err, sizeof(err)) != 0);
	CU_ASSERT(strstr(err, "nope.pem") != NULL);
	CU_ASSERT(ops.flags(pctx, NULL) & NATSD_TF_TLS_VERIFY);
	CU_ASSERT(carries(live.ss, &live.s, live.cs, &live.c, "PONG\r\n"));

	/* No settings of its own: nothing to push with them. */
	CU_ASSERT_EQUAL(ops.reconfigure(pctx, NULL, NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ops.flags(pctx, NULL), 0);
	{
		struct natsd_stream st = { -1 };
		void *sc = NULL;

		CU_ASSERT(ops.push(pctx, &st, NULL, &sc) != 0);
	}
	/* The stream made with the first settings still works. */
	CU_ASSERT(carries(live.cs, &live.c, live.ss, &live.s, "PING\r\n"));
	pair_close(&live);

	/* A push() section: replaced under the same key, then dropped. */
	key = section("client = true; ca_file = \"@/ca.pem\";\n");
	next = section("client = true; ca_file = \"@/other-ca.pem\";\n");
	CU_ASSERT_EQUAL(
		ops.reconfigure(pctx, NULL,
				section("cert_file = \"@/server.pem\";"
					" key_file = \"@/server.key\";"),
				err, sizeof(err)),
		0);
	CU_ASSERT(handshake_ok(key));
	CU_ASSERT_EQUAL(ops.reconfigure(pctx, key, next, err, sizeof(err)), 0);
	CU_ASSERT(!handshake_ok(key));
	CU_ASSERT_EQUAL(ops.reconfigure(pctx, key, NULL, err, sizeof(err)), 0);
	CU_ASSERT(handshake_ok(key)); /* made anew from key itself */
	plugin_fini();
}

static void test_settings(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "key_file = \"@/server.key\";", "missing 'cert_file'" },
		{ "cert_file = \"@/server.pem\";", "missing 'key_file'" },
		{ "cert_file = \"@/nope.pem\"; key_file = \"@/server.key\";",
		  "open " },
		{ "cert_file = \"@/server.pem\"; key_file = \"@/bob.key\";",
		  "does not match" },
		{ "cert_file = \"@/server.pem\"; key_file = \"@/server.key\";"
		  " ca_file = \"@/nope.pem\";",
		  "nope.pem" },
		{ "cert_file = \"@/server.pem\"; key_file = \"@/server.key\";"
		  " cipher_suites = [\"TLS_X\"];",
		  "unrecognized cipher TLS_X" },
		{ "cert_file = \"@/server.pem\"; key_file = \"@/server.key\";"
		  " curve_preferences = [\"CurveX\"];",
		  "unrecognized curve preference CurveX" },
		{ "cert_file = \"@/server.pem\"; key_file = \"@/server.key\";"
		  " pinned_certs = [\"abc\"];",
		  "not a hex SHA-256" },
		{ "cert_file = \"@/server.pem\"; key_file = \"@/server.key\";"
		  " verify = 3;",
		  "verify must be true or false" },
		{ "cert_file = \"@/server.pem\"; key_file = \"@/server.key\";"
		  " timeout = \"x\";",
		  "timeout must be" },
	};
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT(plugin_init(bad[i].text, err, sizeof(err)) != 0);
		if (strstr(err, bad[i].want) == NULL)
			fprintf(stderr, "\n  case %zu: %s\n", i, err);
		CU_ASSERT(strstr(err, bad[i].want) != NULL);
		CU_ASSERT(strchr(err, '\n') == NULL);
		plugin_fini();
	}
	/* Good ones. */
	CU_ASSERT(plugin_init("cert_file = \"@/server.pem\"; key_file = "
			      "\"@/server.key\"; cipher_suites = "
			      "[\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"];"
			      " curve_preferences = [\"X25519\", "
			      "\"CurveP256\"]; handshake_first = true;",
			      err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(ops.flags(pctx, NULL), NATSD_TF_TLS_REQUIRED);
	plugin_fini();
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "handshake and data", test_handshake_and_data },
		{ "TLS 1.2", test_tls12 },
		{ "bad client certificates", test_bad_client_certs },
		{ "client verifies server", test_client_verifies_server },
		{ "clear text", test_clear_text },
		{ "pinned certs", test_pinned },
		{ "handshake_ms", test_handshake_ms },
		{ "http_server", test_http_server },
		{ "settings", test_settings },
		{ "reconfigure", test_reconfigure },
	};
	const struct suite suites[] = {
		{ "transport_tls", NULL, NULL, tests, SUITE_COUNT(tests) },
	};
	char cmd[512];
	int rc;

	snprintf(certs, sizeof(certs), "/tmp/natsd-tlsu-XXXXXX");
	if (mkdtemp(certs) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "sh %s %s", TLS_CERT_SCRIPT, certs);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make certificates\n");
		return 1;
	}
	rc = suites_run(suites, SUITE_COUNT(suites));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", certs);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", certs);
	return rc;
}
