/* The tls transport: a layer that speaks TLS 1.2 and 1.3 (OpenSSL 3) over
 * the stream below it, usually tcp.
 *
 * Settings (the plugin's section, which natsd's `tls { }` block is; a
 * section given to push() by a link overrides it for that stream):
 *   cert_file, key_file   server (or client) certificate chain and key
 *   ca_file               CAs that client certificates must chain to
 *   verify                bool: clients must show a valid certificate
 *   verify_and_map        bool: verify, and the certificate names the user
 *   timeout               handshake time limit (float seconds or duration;
 *                         default 2s, nats-server's TLS_TIMEOUT)
 *   cipher_suites         Go names of TLS 1.2 suites, as nats-server takes
 *   curve_preferences     Go names: CurveP256, CurveP384, CurveP521, X25519
 *   pinned_certs          hex SHA-256 of the peer's SubjectPublicKeyInfo;
 *                         a peer whose key is not listed is refused
 *   handshake_first       bool: TLS before INFO (nats-server 2.10)
 *   allow_non_tls         bool: a client that starts in clear text stays
 *                         in clear text (nats-server 2.10; natsd's config
 *                         takes it at the top level, as nats-server does,
 *                         and copies it here)
 *   client                bool: this side dials (links), not accepts
 *   http_server           bool: the stream carries HTTP (a websocket
 *                         listener): a peer that sends plain HTTP gets
 *                         Go's "400 Bad Request" reply
 *
 * SIGHUP: reload() reads the certificate, key and CA files again with the
 * same settings; reconfigure() (ABI 1.3) takes new settings, read during
 * the call. Either way streams already up keep what they have (each
 * holds a reference to its settings and their SSL_CTX); new ones get the
 * new ones.
 *
 * I/O: OpenSSL reads straight from the stream below through a BIO of our
 * own (no copy), and writes records into a buffer of ours that is flushed
 * to the stream below whenever it will take bytes, so SSL_write never
 * waits for the socket and the host never has to repeat a write. Plain
 * text the host writes before the handshake is over (INFO with
 * handshake_first) is kept and sent once it is.
 *
 * A server stream looks at the first byte before OpenSSL does: a TLS
 * handshake record starts with 0x16. Anything else is a clear-text
 * client, refused without a byte sent, as nats-server (Go) does, or let
 * through with allow_non_tls. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <natsd/plugin.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define TLS_DEFAULT_TIMEOUT_MS 2000
/* Plain text held before the handshake is done: INFO and perhaps an
 * -ERR, never more unless the peer stalls. */
#define TLS_PRE_MAX (64 * 1024)
/* Encrypted bytes not yet taken by the stream below, past which the
 * layer takes no more plain text (the host keeps it queued). */
#define TLS_OUT_MAX (256 * 1024)
/* Plain text gathered into one record. */
#define TLS_RECORD    16384
#define TLS_MAX_PINS  64
#define TLS_MAX_CONFS 16
/* Internal: the stream below ended (read() then returns 0). */
#define TLS_END (-100000)

enum tls_state {
	TLS_S_PEEK, /* server: waiting for the first byte */
	TLS_S_HANDSHAKE,
	TLS_S_OPEN,
	TLS_S_PLAIN, /* allow_non_tls and a clear-text client */
	TLS_S_FAILED,
};

/* One set of settings and the SSL_CTX made from it. The plugin's table
 * holds a reference, and so does each stream made with it: a reload
 * that replaces the settings leaves streams already up with theirs. */
struct tls_conf {
	atomic_int refs;
	/* The push() section it was made from, its key in confs[]; NULL for
	 * the plugin's own, and for settings given to reconfigure(), which
	 * are not kept (nor is their location, for messages). */
	const struct natsd_cfg *cfg;
	char *cert_file, *key_file, *ca_file, *ciphers, *curves;
	bool verify, map, handshake_first, allow_non_tls, client;
	bool http_server;
	int64_t timeout_ms;
	unsigned char pins[TLS_MAX_PINS][32];
	int npins;
	SSL_CTX *ctx; /* under the plugin's lock; reload swaps it */
};

struct tls_plugin {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	pthread_mutex_t lock;
	struct tls_conf *main;
	struct tls_conf *confs[TLS_MAX_CONFS]; /* for push() sections */
	int nconfs;
	BIO_METHOD *bio_meth;
};

struct tls_stream {
	struct tls_plugin *tp;
	struct tls_conf *conf; /* a reference of its own */
	struct natsd_stream *below;
	SSL *ssl;
	enum tls_state state;
	/* Bytes read while peeking, given to OpenSSL (or the host) first. */
	unsigned char peek[8];
	size_t npeek, peek_off;
	/* Encrypted bytes for the stream below. */
	unsigned char *out;
	size_t out_len, out_off, out_cap;
	/* Plain text written before the handshake ended. */
	unsigned char *pre;
	size_t pre_len;
	bool eof;   /* the stream below ended */
	int io_err; /* a failure of the stream below, for the host */
	unsigned char *cert_der;
	size_t cert_len;
	int64_t deadline_ms; /* monotonic; the handshake ends by then */
	char err[160];
};

static int tls_ex_index = -1;

/* ------------------------------------------------------------------ */
/* Names                                                               */

/* Go's TLS 1.2 suite names, as nats-server's cipher_suites takes them. */
static const struct {
	const char *go, *ossl;
} tls_suites[] = {
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	  "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	  "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	  "ECDHE-RSA-AES128-GCM-SHA256" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	  "ECDHE-RSA-AES256-GCM-SHA384" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
	  "ECDHE-ECDSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	  "ECDHE-ECDSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
	  "ECDHE-RSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	  "ECDHE-RSA-CHACHA20-POLY1305" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA" },
	{ "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256" },
	{ "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384" },
	{ "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA" },
	{ "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA" },
};

static const struct {
	const char *go, *ossl;
} tls_curves[] = {
	{ "CurveP256", "P-256" }, { "P256", "P-256" },
	{ "CurveP384", "P-384" }, { "P384", "P-384" },
	{ "CurveP521", "P-521" }, { "P521", "P-521" },
	{ "X25519", "X25519" },
};

/* ------------------------------------------------------------------ */
/* Settings                                                            */

static int tls_cfg_err(const struct natsd_host_api *api,
		       const struct natsd_cfg *cfg, const char *key, char *err,
		       size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* "<file>:<line>: tls: <what>", without the location when unknown. */
static int tls_cfg_err(const struct natsd_host_api *api,
		       const struct natsd_cfg *cfg, const char *key, char *err,
		       size_t errlen, const char *fmt, ...)
{
	const char *file = NULL;
	char what[512];
	va_list ap;
	int line = 0;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (cfg != NULL && api->cfg_where != NULL &&
	    api->cfg_where(cfg, key, &file, &line) == 0 && file != NULL &&
	    line > 0)
		snprintf(err, errlen, "%s:%d: tls: %s", file, line, what);
	else
		snprintf(err, errlen, "tls: %s", what);
	return NATSD_EINVAL;
}

static void tls_conf_free(struct tls_conf *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ctx);
	free(c->cert_file);
	free(c->key_file);
	free(c->ca_file);
	free(c->ciphers);
	free(c->curves);
	free(c);
}

static void tls_conf_put(struct tls_conf *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		tls_conf_free(c);
}

static int tls_get_str(const struct natsd_host_api *api,
		       const struct natsd_cfg *cfg, const char *key, char **out,
		       char *err, size_t errlen)
{
	const char *v;
	int rc;

	rc = api->cfg_string(cfg, key, &v);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0)
		return tls_cfg_err(api, cfg, key, err, errlen,
				   "%s must be a string", key);
	free(*out);
	*out = strdup(v);
	return *out == NULL ? NATSD_ENOMEM : 0;
}

static int tls_get_bool(const struct natsd_host_api *api,
			const struct natsd_cfg *cfg, const char *key, bool *out,
			char *err, size_t errlen)
{
	int rc = api->cfg_bool(cfg, key, out);

	if (rc == 0 || rc == NATSD_ENOENT)
		return 0;
	return tls_cfg_err(api, cfg, key, err, errlen,
			   "%s must be true or false", key);
}

/* Joins the OpenSSL names of a list of Go names with ':'. */
static int tls_names(const struct natsd_host_api *api,
		     const struct natsd_cfg *cfg, const char *key, bool curves,
		     char **out, char *err, size_t errlen)
{
	char buf[2048] = "";
	const char *v, *o;
	size_t n, i, k;
	int rc;

	rc = api->cfg_list_len(cfg, key, &n);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0)
		return tls_cfg_err(api, cfg, key, err, errlen,
				   "%s must be a list of names", key);
	for (i = 0; i < n; i++) {
		if (api->cfg_list_string(cfg, key, i, &v) != 0)
			return tls_cfg_err(api, cfg, key, err, errlen,
					   "%s must be a list of names", key);
		o = NULL;
		if (curves) {
			for (k = 0;
			     k < sizeof(tls_curves) / sizeof(tls_curves[0]);
			     k++)
				if (strcasecmp(v, tls_curves[k].go) == 0)
					o = tls_curves[k].ossl;
		} else {
			for (k = 0;
			     k < sizeof(tls_suites) / sizeof(tls_suites[0]);
			     k++)
				if (strcasecmp(v, tls_suites[k].go) == 0)
					o = tls_suites[k].ossl;
		}
		if (o == NULL)
			return tls_cfg_err(api, cfg, key, err, errlen,
					   curves ? "unrecognized curve "
						    "preference %s"
						  : "unrecognized cipher %s",
					   v);
		if (buf[0] != '\0')
			strncat(buf, ":", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, o, sizeof(buf) - strlen(buf) - 1);
	}
	*out = strdup(buf);
	return *out == NULL ? NATSD_ENOMEM : 0;
}

static int tls_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static int tls_pins(const struct natsd_host_api *api,
		    const struct natsd_cfg *cfg, struct tls_conf *c, char *err,
		    size_t errlen)
{
	const char *v;
	size_t n, i, k;
	int rc, hi, lo;

	rc = api->cfg_list_len(cfg, "pinned_certs", &n);
	if (rc == NATSD_ENOENT)
		return 0;
	if (rc != 0 || n > TLS_MAX_PINS)
		return tls_cfg_err(api, cfg, "pinned_certs", err, errlen,
				   "pinned_certs must be a list of up to %d "
				   "hex SHA-256 values",
				   TLS_MAX_PINS);
	for (i = 0; i < n; i++) {
		if (api->cfg_list_string(cfg, "pinned_certs", i, &v) != 0 ||
		    strlen(v) != 64)
			goto bad;
		for (k = 0; k < 32; k++) {
			hi = tls_hexval((unsigned char)v[2 * k]);
			lo = tls_hexval((unsigned char)v[2 * k + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			c->pins[c->npins][k] = (unsigned char)(hi << 4 | lo);
		}
		c->npins++;
	}
	return 0;
bad:
	return tls_cfg_err(api, cfg, "pinned_certs", err, errlen,
			   "pinned_certs entry %zu is not a hex SHA-256 "
			   "(64 hex digits)",
			   i + 1);
}

/* The last OpenSSL error as text, for messages. */
static const char *tls_ossl_err(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int tls_verify_cb(int ok, X509_STORE_CTX *x);

/* Whether path opens; else err says so as nats-server does, after what
 * ("error parsing X509 certificate/key pair", ...). */
static bool tls_file_opens(const struct natsd_host_api *api,
			   const struct natsd_cfg *cfg, const char *key,
			   const char *path, const char *what, char *err,
			   size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		tls_cfg_err(api, cfg, key, err, errlen, "%s: open %s: %s", what,
			    path, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

static void tls_key_mismatch(const struct natsd_host_api *api,
			     const struct natsd_cfg *cfg,
			     const struct tls_conf *c, char *err, size_t errlen)
{
	tls_cfg_err(api, cfg, "key_file", err, errlen,
		    "error parsing X509 certificate/key pair: private key %s "
		    "does not match public key of %s",
		    c->key_file, c->cert_file);
	ERR_clear_error();
}

/* Builds c->ctx from c's settings. 0, or a negative code with one line
 * in err naming the file and what is wrong with it. */
static int tls_make_ctx(const struct natsd_host_api *api,
			const struct natsd_cfg *cfg, struct tls_conf *c,
			char *err, size_t errlen)
{
	static const char pair[] = "error parsing X509 certificate/key pair";
	char why[256];
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(c->client ? TLS_client_method()
				    : TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "tls: cannot create a context: %s",
			 tls_ossl_err(why, sizeof(why)));
		return NATSD_ENOMEM;
	}
	/* nats-server's minimum is TLS 1.2. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* TLS 1.3 suites in Go's order on AES-capable CPUs, so that a client
	 * gets what nats-server would pick (OpenSSL's own order starts with
	 * AES-256, half again as costly per byte). */
	SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:"
				      "TLS_AES_256_GCM_SHA384:"
				      "TLS_CHACHA20_POLY1305_SHA256");
	if (c->cert_file != NULL) {
		if (!tls_file_opens(api, cfg, "cert_file", c->cert_file, pair,
				    err, errlen))
			goto fail;
		if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) !=
		    1) {
			tls_cfg_err(api, cfg, "cert_file", err, errlen,
				    "error parsing X509 certificate/key pair: "
				    "%s: %s",
				    c->cert_file,
				    tls_ossl_err(why, sizeof(why)));
			goto fail;
		}
	}
	if (c->key_file != NULL) {
		if (!tls_file_opens(api, cfg, "key_file", c->key_file, pair,
				    err, errlen))
			goto fail;
		if (SSL_CTX_use_PrivateKey_file(ctx, c->key_file,
						SSL_FILETYPE_PEM) != 1 &&
		    ERR_GET_REASON(ERR_peek_last_error()) ==
			    X509_R_KEY_VALUES_MISMATCH) {
			tls_key_mismatch(api, cfg, c, err, errlen);
			goto fail;
		}
		if (ERR_peek_last_error() != 0) {
			tls_cfg_err(api, cfg, "key_file", err, errlen,
				    "error parsing X509 certificate/key pair: "
				    "%s: %s",
				    c->key_file,
				    tls_ossl_err(why, sizeof(why)));
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			tls_key_mismatch(api, cfg, c, err, errlen);
			goto fail;
		}
	}
	if (c->ca_file != NULL) {
		if (!tls_file_opens(api, cfg, "ca_file", c->ca_file,
				    "failed to parse root ca certificate", err,
				    errlen))
			goto fail;
		if (SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1) {
			tls_cfg_err(api, cfg, "ca_file", err, errlen,
				    "failed to parse root certificate from "
				    "%s: %s",
				    c->ca_file, tls_ossl_err(why, sizeof(why)));
			goto fail;
		}
		if (!c->client) {
			STACK_OF(X509_NAME) *names =
				SSL_load_client_CA_file(c->ca_file);

			if (names != NULL)
				SSL_CTX_set_client_CA_list(ctx, names);
		}
	} else if (c->client || c->verify) {
		SSL_CTX_set_default_verify_paths(ctx);
	}
	if (c->ciphers != NULL && c->ciphers[0] != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, c->ciphers) != 1) {
		tls_cfg_err(api, cfg, "cipher_suites", err, errlen,
			    "no usable cipher suite: %s",
			    tls_ossl_err(why, sizeof(why)));
		goto fail;
	}
	if (c->curves != NULL && c->curves[0] != '\0' &&
	    SSL_CTX_set1_groups_list(ctx, c->curves) != 1) {
		tls_cfg_err(api, cfg, "curve_preferences", err, errlen,
			    "curve preferences refused: %s",
			    tls_ossl_err(why, sizeof(why)));
		goto fail;
	}
	if (c->client)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);
	else if (c->verify)
		SSL_CTX_set_verify(
			ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			tls_verify_cb);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_free(c->ctx);
	c->ctx = ctx;
	return 0;

fail:
	SSL_CTX_free(ctx);
	return NATSD_EINVAL;
}

/* Reads section cfg (NULL: the plugin's own, which may be absent) into a
 * new conf with its context. */
static int tls_conf_new(struct tls_plugin *tp, const struct natsd_cfg *cfg,
			struct tls_conf **out, char *err, size_t errlen)
{
	const struct natsd_host_api *api = tp->api;
	struct tls_conf *c;
	int64_t ns;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NATSD_ENOMEM;
	atomic_init(&c->refs, 1);
	c->cfg = cfg;
	c->timeout_ms = TLS_DEFAULT_TIMEOUT_MS;
	rc = tls_get_str(api, cfg, "cert_file", &c->cert_file, err, errlen);
	if (rc == 0)
		rc = tls_get_str(api, cfg, "key_file", &c->key_file, err,
				 errlen);
	if (rc == 0)
		rc = tls_get_str(api, cfg, "ca_file", &c->ca_file, err, errlen);
	if (rc == 0)
		rc = tls_get_bool(api, cfg, "verify", &c->verify, err, errlen);
	if (rc == 0)
		rc = tls_get_bool(api, cfg, "verify_and_map", &c->map, err,
				  errlen);
	if (rc == 0)
		rc = tls_get_bool(api, cfg, "handshake_first",
				  &c->handshake_first, err, errlen);
	if (rc == 0)
		rc = tls_get_bool(api, cfg, "allow_non_tls", &c->allow_non_tls,
				  err, errlen);
	if (rc == 0)
		rc = tls_get_bool(api, cfg, "client", &c->client, err, errlen);
	if (rc == 0)
		rc = tls_get_bool(api, cfg, "http_server", &c->http_server, err,
				  errlen);
	if (rc == 0)
		rc = tls_names(api, cfg, "cipher_suites", false, &c->ciphers,
			       err, errlen);
	if (rc == 0)
		rc = tls_names(api, cfg, "curve_preferences", true, &c->curves,
			       err, errlen);
	if (rc == 0)
		rc = tls_pins(api, cfg, c, err, errlen);
	if (rc != 0)
		goto fail;
	rc = api->cfg_duration(cfg, "timeout", &ns);
	if (rc == 0 && ns >= 0) {
		c->timeout_ms = ns / 1000000;
	} else if (rc != NATSD_ENOENT) {
		rc = tls_cfg_err(api, cfg, "timeout", err, errlen,
				 "timeout must be a number of seconds or a "
				 "duration");
		goto fail;
	}
	if (c->map)
		c->verify = true;
	if (!c->client && c->cert_file == NULL) {
		rc = tls_cfg_err(api, cfg, NULL, err, errlen,
				 "missing 'cert_file' in TLS configuration");
		goto fail;
	}
	if (!c->client && c->key_file == NULL) {
		rc = tls_cfg_err(api, cfg, NULL, err, errlen,
				 "missing 'key_file' in TLS configuration");
		goto fail;
	}
	if ((c->cert_file == NULL) != (c->key_file == NULL)) {
		rc = tls_cfg_err(api, cfg, NULL, err, errlen,
				 "cert_file and key_file go together");
		goto fail;
	}
	rc = tls_make_ctx(api, cfg, c, err, errlen);
	if (rc != 0)
		goto fail;
	*out = c;
	return 0;

fail:
	tls_conf_free(c);
	return rc;
}

/* The conf for a push() section (NULL: the plugin's own), made on first
 * use and kept; the caller gets a reference of its own (tls_conf_put()),
 * since a reload may replace the table's at any time. */
static struct tls_conf *tls_conf_for(struct tls_plugin *tp,
				     const struct natsd_cfg *cfg)
{
	struct tls_conf *c = NULL;
	char err[512];
	int i;

	pthread_mutex_lock(&tp->lock);
	if (cfg == NULL)
		c = tp->main;
	for (i = 0; cfg != NULL && i < tp->nconfs; i++)
		if (tp->confs[i]->cfg == cfg)
			c = tp->confs[i];
	if (c == NULL && cfg != NULL && tp->nconfs < TLS_MAX_CONFS) {
		if (tls_conf_new(tp, cfg, &c, err, sizeof(err)) == 0)
			tp->confs[tp->nconfs++] = c;
		else
			tp->api->log(tp->h, NATSD_LOG_ERROR, "%s", err);
	}
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&tp->lock);
	return c;
}

/* ------------------------------------------------------------------ */
/* Peer checks                                                         */

static bool tls_pinned(const struct tls_conf *c, X509 *cert)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len, i;
	bool ok = false;

	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len <= 0)
		return false;
	if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1)
		for (i = 0; i < c->npins && !ok; i++)
			ok = memcmp(md, c->pins[i], 32) == 0;
	OPENSSL_free(der);
	return ok;
}

/* Chain errors are OpenSSL's to judge; on top of that, the leaf must be
 * pinned when pins are set. (Without verify a server asks no client for
 * a certificate: this runs for clients, as links, and verify.) */
static int tls_verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
		x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_stream *ts = ssl ? SSL_get_ex_data(ssl, tls_ex_index) : NULL;
	const struct tls_conf *c;

	if (ts == NULL)
		return ok;
	c = ts->conf;
	if (!c->verify && !c->client)
		ok = 1;
	if (ok && c->npins > 0 && X509_STORE_CTX_get_error_depth(x) == 0 &&
	    !tls_pinned(c, X509_STORE_CTX_get_current_cert(x))) {
		snprintf(ts->err, sizeof(ts->err),
			 "peer certificate not pinned");
		X509_STORE_CTX_set_error(x,
					 X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	if (!ok && ts->err[0] == '\0')
		snprintf(ts->err, sizeof(ts->err),
			 "certificate verify failed: %s",
			 X509_verify_cert_error_string(
				 X509_STORE_CTX_get_error(x)));
	return ok;
}

/* ------------------------------------------------------------------ */
/* The BIO between OpenSSL and the stream below                        */

static int tls_bio_read(BIO *b, char *buf, int len)
{
	struct tls_stream *ts = BIO_get_data(b);
	size_t n;
	ssize_t r;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (ts->peek_off < ts->npeek) {
		n = ts->npeek - ts->peek_off;
		if (n > (size_t)len)
			n = (size_t)len;
		memcpy(buf, ts->peek + ts->peek_off, n);
		ts->peek_off += n;
		return (int)n;
	}
	r = ts->tp->api->stream_read(ts->below, buf, (size_t)len);
	if (r > 0)
		return (int)r;
	if (r == NATSD_EAGAIN) {
		BIO_set_retry_read(b);
		return -1;
	}
	if (r == 0)
		ts->eof = true;
	else
		ts->io_err = (int)r;
	return r == 0 ? 0 : -1;
}

/* Records go into our buffer; tls_flush() hands them down. */
static int tls_bio_write(BIO *b, const char *buf, int len)
{
	struct tls_stream *ts = BIO_get_data(b);
	size_t need, cap;
	unsigned char *nb;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (ts->out_off > 0 && ts->out_off == ts->out_len)
		ts->out_off = ts->out_len = 0;
	need = ts->out_len + (size_t)len;
	if (need > ts->out_cap) {
		if (ts->out_off > 0) {
			memmove(ts->out, ts->out + ts->out_off,
				ts->out_len - ts->out_off);
			ts->out_len -= ts->out_off;
			ts->out_off = 0;
			need = ts->out_len + (size_t)len;
		}
		if (need > ts->out_cap) {
			cap = ts->out_cap ? ts->out_cap * 2 : 4096;
			while (cap < need)
				cap *= 2;
			nb = realloc(ts->out, cap);
			if (nb == NULL)
				return -1;
			ts->out = nb;
			ts->out_cap = cap;
		}
	}
	memcpy(ts->out + ts->out_len, buf, (size_t)len);
	ts->out_len += (size_t)len;
	return len;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *tls_bio_method(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "natsd-stream");

	if (m == NULL)
		return NULL;
	BIO_meth_set_read(m, tls_bio_read);
	BIO_meth_set_write(m, tls_bio_write);
	BIO_meth_set_ctrl(m, tls_bio_ctrl);
	BIO_meth_set_create(m, tls_bio_create);
	return m;
}

/* Hands buffered records to the stream below. 0 when all went, EAGAIN
 * when some wait, or the stream's error. */
static int tls_flush(struct tls_stream *ts)
{
	struct iovec iov;
	ssize_t n;

	while (ts->out_off < ts->out_len) {
		iov.iov_base = ts->out + ts->out_off;
		iov.iov_len = ts->out_len - ts->out_off;
		n = ts->tp->api->stream_writev(ts->below, &iov, 1);
		if (n == NATSD_EAGAIN || n == 0)
			return NATSD_EAGAIN;
		if (n < 0)
			return (int)n;
		ts->out_off += (size_t)n;
	}
	ts->out_off = ts->out_len = 0;
	/* A large burst is over: give the memory back. */
	if (ts->out_cap > 65536) {
		free(ts->out);
		ts->out = NULL;
		ts->out_cap = 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Handshake                                                           */

static void tls_fail(struct tls_stream *ts, const char *why)
{
	char buf[160];

	if (ts->err[0] == '\0') {
		if (why == NULL)
			why = tls_ossl_err(buf, sizeof(buf));
		snprintf(ts->err, sizeof(ts->err), "%s", why);
	}
	ERR_clear_error();
	ts->state = TLS_S_FAILED;
	(void)tls_flush(ts); /* the alert, if any: tells the peer why */
}

/* Plain text kept from before the handshake, now that it is over. */
static int tls_send_pre(struct tls_stream *ts)
{
	int rc = 0;

	if (ts->pre_len > 0 &&
	    SSL_write(ts->ssl, ts->pre, (int)ts->pre_len) <= 0)
		rc = NATSD_EIO;
	free(ts->pre);
	ts->pre = NULL;
	ts->pre_len = 0;
	return rc;
}

static void tls_opened(struct tls_stream *ts)
{
	X509 *peer;
	unsigned char *p;
	int len;

	ts->state = TLS_S_OPEN;
	peer = SSL_get0_peer_certificate(ts->ssl);
	/* Pins check the client's certificate, and without verify none is
	 * asked for (as in nats-server): nobody is pinned then. With
	 * verify, tls_verify_cb() checked it. */
	if (!ts->conf->client && ts->conf->npins > 0 && peer == NULL) {
		tls_fail(ts, "certificate not pinned");
		return;
	}
	if (peer != NULL) {
		len = i2d_X509(peer, NULL);
		if (len > 0) {
			ts->cert_der = malloc((size_t)len);
			p = ts->cert_der;
			if (ts->cert_der != NULL && i2d_X509(peer, &p) == len)
				ts->cert_len = (size_t)len;
		}
	}
	if (tls_send_pre(ts) != 0)
		tls_fail(ts, "cannot write");
}

/* Moves the handshake on. 0 once it is done, EAGAIN, or an error. */
static int tls_handshake(struct tls_stream *ts)
{
	int r, e;

	r = SSL_do_handshake(ts->ssl);
	if (r == 1) {
		tls_opened(ts);
		if (ts->state == TLS_S_FAILED)
			return NATSD_EPROTO;
		(void)tls_flush(ts);
		return 0;
	}
	e = SSL_get_error(ts->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		(void)tls_flush(ts);
		return NATSD_EAGAIN;
	}
	if (ts->eof) {
		tls_fail(ts, "EOF");
		return TLS_END; /* marker: end of stream */
	}
	if (ts->io_err != 0) {
		tls_fail(ts, strerror(-ts->io_err));
		return ts->io_err;
	}
	tls_fail(ts, NULL);
	return NATSD_EPROTO;
}

/* Go's net/http answers a plain HTTP request on a TLS listener, and
 * says nothing in its log: the reason left empty asks the host for no
 * line either. */
static bool tls_http_reply(struct tls_stream *ts, const char *rest, ssize_t n)
{
	static const char *const verbs[] = { "GET /", "HEAD ", "POST ", "PUT /",
					     "OPTIO" };
	static const char reply[] =
		"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP "
		"request to an HTTPS server.\n";
	struct iovec iov = { (void *)reply, sizeof(reply) - 1 };
	char head[5];
	size_t i;

	if (n < 4)
		return false;
	head[0] = (char)ts->peek[0];
	memcpy(head + 1, rest, 4);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (memcmp(head, verbs[i], 5) == 0)
			break;
	if (i == sizeof(verbs) / sizeof(verbs[0]))
		return false;
	(void)ts->tp->api->stream_writev(ts->below, &iov, 1);
	ts->err[0] = '\0';
	ts->state = TLS_S_FAILED;
	return true;
}

/* Server: looks at the first byte. 0 when the stream moved on (to the
 * handshake or to clear text), EAGAIN, or an error. */
static int tls_peek(struct tls_stream *ts)
{
	ssize_t n;

	n = ts->tp->api->stream_read(ts->below, ts->peek, 1);
	if (n == NATSD_EAGAIN)
		return NATSD_EAGAIN;
	if (n == 0) {
		ts->eof = true;
		snprintf(ts->err, sizeof(ts->err), "EOF");
		ts->state = TLS_S_FAILED;
		return TLS_END;
	}
	if (n < 0) {
		snprintf(ts->err, sizeof(ts->err), "%s", strerror((int)-n));
		ts->state = TLS_S_FAILED;
		return (int)n;
	}
	ts->npeek = 1;
	ts->peek_off = 0;
	if (ts->peek[0] == 0x16) {
		ts->state = TLS_S_HANDSHAKE;
		return 0;
	}
	if (ts->conf->allow_non_tls) {
		ts->state = TLS_S_PLAIN;
		if (ts->pre_len > 0) {
			(void)tls_bio_write(SSL_get_wbio(ts->ssl),
					    (const char *)ts->pre,
					    (int)ts->pre_len);
			free(ts->pre);
			ts->pre = NULL;
			ts->pre_len = 0;
			(void)tls_flush(ts);
		}
		return 0;
	}
	/* Go reads what has come with the first record header before it
	 * gives up; reading it too makes the close a FIN, as there, not a
	 * reset for unread data. */
	{
		char drain[4096];
		ssize_t k;

		k = ts->tp->api->stream_read(ts->below, drain, sizeof(drain));
		if (ts->conf->http_server && tls_http_reply(ts, drain, k))
			return NATSD_EPROTO;
	}
	snprintf(ts->err, sizeof(ts->err),
		 "tls: first record does not look like a TLS handshake");
	ts->state = TLS_S_FAILED;
	return NATSD_EPROTO;
}

/* ------------------------------------------------------------------ */
/* Stream ops                                                          */

static int64_t tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tls_push(void *pctx, struct natsd_stream *below,
		    const struct natsd_cfg *cfg, void **sctx)
{
	struct tls_plugin *tp = pctx;
	struct tls_conf *c = tls_conf_for(tp, cfg);
	struct tls_stream *ts;
	SSL_CTX *ctx;
	BIO *bio;

	if (c == NULL)
		return NATSD_EINVAL;
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL) {
		tls_conf_put(c);
		return NATSD_ENOMEM;
	}
	ts->tp = tp;
	ts->conf = c;
	ts->below = below;
	ts->deadline_ms = tls_now_ms() + c->timeout_ms;
	/* The context a reload may be swapping: SSL_new() takes its own
	 * reference, so the old one lives as long as its streams. */
	pthread_mutex_lock(&tp->lock);
	ctx = c->ctx;
	ts->ssl = SSL_new(ctx);
	pthread_mutex_unlock(&tp->lock);
	bio = ts->ssl != NULL ? BIO_new(tp->bio_meth) : NULL;
	if (bio == NULL) {
		SSL_free(ts->ssl);
		free(ts);
		tls_conf_put(c);
		return NATSD_ENOMEM;
	}
	BIO_set_data(bio, ts);
	SSL_set_bio(ts->ssl, bio, bio);
	SSL_set_ex_data(ts->ssl, tls_ex_index, ts);
	/* Fewer reads: take whatever the socket has in one call. */
	SSL_set_read_ahead(ts->ssl, 1);
	if (c->client) {
		SSL_set_connect_state(ts->ssl);
		ts->state = TLS_S_HANDSHAKE;
		/* The client speaks first: the ClientHello goes now. */
		ERR_clear_error();
		(void)tls_handshake(ts);
	} else {
		SSL_set_accept_state(ts->ssl);
		ts->state = TLS_S_PEEK;
	}
	*sctx = ts;
	return 0;
}

static ssize_t tls_read(void *sctx, struct natsd_stream *below, void *buf,
			size_t len)
{
	struct tls_stream *ts = sctx;
	size_t got;
	int r, e, rc;

	(void)below;
	/* SSL_get_error() reads the thread's error queue, which another
	 * connection on this thread may have left entries in. */
	ERR_clear_error();
	for (;;) {
		switch (ts->state) {
		case TLS_S_PEEK:
			rc = tls_peek(ts);
			if (rc == TLS_END)
				return 0;
			if (rc != 0)
				return rc;
			continue;
		case TLS_S_HANDSHAKE:
			rc = tls_handshake(ts);
			if (rc == TLS_END)
				return 0;
			if (rc != 0)
				return rc;
			continue;
		case TLS_S_PLAIN:
			if (ts->peek_off < ts->npeek) {
				ts->peek_off = ts->npeek;
				memcpy(buf, ts->peek, 1);
				return 1;
			}
			return ts->tp->api->stream_read(ts->below, buf, len);
		case TLS_S_FAILED:
			return ts->eof ? 0 : NATSD_EPROTO;
		case TLS_S_OPEN:
			break;
		}
		if (len > INT32_MAX)
			len = INT32_MAX;
		r = SSL_read(ts->ssl, buf, (int)len);
		if (r > 0) {
			got = (size_t)r;
			/* One call opens one record: go on while more come
			 * without waiting, so the host parses them in one go.
			 * A failure here shows again on the next call. */
			while (got < len) {
				r = SSL_read(ts->ssl, (char *)buf + got,
					     (int)(len - got));
				if (r <= 0)
					break;
				got += (size_t)r;
			}
			ERR_clear_error();
			if (ts->out_len > ts->out_off)
				(void)tls_flush(ts);
			return (ssize_t)got;
		}
		e = SSL_get_error(ts->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			(void)tls_flush(ts); /* a TLS 1.3 key update answer */
			return NATSD_EAGAIN;
		}
		if (e == SSL_ERROR_ZERO_RETURN || ts->eof)
			return 0;
		if (ts->io_err != 0)
			return ts->io_err;
		tls_fail(ts, NULL);
		return NATSD_EPROTO;
	}
}

/* Keeps plain text written before the handshake is over. */
static ssize_t tls_keep_pre(struct tls_stream *ts, const struct iovec *iov,
			    int iovcnt)
{
	size_t total = 0, off;
	unsigned char *nb;
	int i;

	for (i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (ts->pre_len + total > TLS_PRE_MAX)
		return NATSD_ENOSPC;
	nb = realloc(ts->pre, ts->pre_len + total + 1);
	if (nb == NULL)
		return NATSD_ENOMEM;
	ts->pre = nb;
	off = ts->pre_len;
	for (i = 0; i < iovcnt; i++) {
		memcpy(ts->pre + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	ts->pre_len = off;
	return (ssize_t)total;
}

static ssize_t tls_writev(void *sctx, struct natsd_stream *below,
			  const struct iovec *iov, int iovcnt)
{
	static __thread unsigned char rec[TLS_RECORD];
	struct tls_stream *ts = sctx;
	size_t taken = 0, fill = 0, off, n;
	int i, rc;

	(void)below;
	ERR_clear_error();
	rc = tls_flush(ts);
	if (rc != 0 && rc != NATSD_EAGAIN)
		return rc;
	switch (ts->state) {
	case TLS_S_PEEK:
	case TLS_S_HANDSHAKE:
		return tls_keep_pre(ts, iov, iovcnt);
	case TLS_S_PLAIN:
		if (rc == NATSD_EAGAIN)
			return NATSD_EAGAIN;
		return ts->tp->api->stream_writev(ts->below, iov, iovcnt);
	case TLS_S_FAILED:
		return NATSD_EPIPE;
	case TLS_S_OPEN:
		break;
	}
	/* Small frames (a MSG line, its payload, CRLF) are gathered into
	 * full records: one seal per 16 KB, not one per iovec. */
	for (i = 0; i < iovcnt; i++) {
		for (off = 0; off < iov[i].iov_len;) {
			if (ts->out_len - ts->out_off > TLS_OUT_MAX)
				goto out;
			n = iov[i].iov_len - off;
			if (n > TLS_RECORD - fill)
				n = TLS_RECORD - fill;
			memcpy(rec + fill, (const char *)iov[i].iov_base + off,
			       n);
			fill += n;
			off += n;
			if (fill == TLS_RECORD) {
				if (SSL_write(ts->ssl, rec, (int)fill) <= 0)
					goto fail;
				taken += fill;
				fill = 0;
			}
		}
	}
out:
	if (fill > 0) {
		if (SSL_write(ts->ssl, rec, (int)fill) <= 0)
			goto fail;
		taken += fill;
	}
	rc = tls_flush(ts);
	if (rc != 0 && rc != NATSD_EAGAIN)
		return rc;
	if (taken == 0 && iovcnt > 0)
		return NATSD_EAGAIN;
	return (ssize_t)taken;

fail:
	tls_fail(ts, NULL);
	return NATSD_EIO;
}

static int tls_want(void *sctx)
{
	const struct tls_stream *ts = sctx;
	int w = 0;

	if (ts->out_off < ts->out_len)
		w |= NATSD_WANT_WRITE;
	if (ts->state == TLS_S_PEEK || ts->state == TLS_S_HANDSHAKE)
		w |= NATSD_WANT_READ;
	return w;
}

static size_t tls_pending(void *sctx)
{
	const struct tls_stream *ts = sctx;

	if (ts->state == TLS_S_PLAIN)
		return ts->npeek - ts->peek_off;
	if (ts->state != TLS_S_OPEN)
		return 0;
	/* Whole records read ahead but not yet opened count too. */
	if (SSL_has_pending(ts->ssl)) {
		int n = SSL_pending(ts->ssl);

		return n > 0 ? (size_t)n : 1;
	}
	return 0;
}

static int tls_query(void *sctx, int key, const void **out, size_t *len)
{
	struct tls_stream *ts = sctx;
	int v;

	switch (key) {
	case NATSD_Q_HANDSHAKE:
		if (len != NULL)
			*len = ts->state == TLS_S_PEEK ||
			       ts->state == TLS_S_HANDSHAKE;
		if (out != NULL)
			*out = ts->state == TLS_S_FAILED ? ts->err : NULL;
		return 0;
	case NATSD_Q_HANDSHAKE_TIMEOUT:
		if (len != NULL)
			*len = (size_t)ts->conf->timeout_ms;
		return 0;
	default:
		break;
	}
	if (ts->state != TLS_S_OPEN)
		return NATSD_ENOTSUP;
	switch (key) {
	case NATSD_Q_TLS_VERSION:
		v = SSL_version(ts->ssl);
		*out = v == TLS1_3_VERSION   ? "1.3"
		       : v == TLS1_2_VERSION ? "1.2"
					     : SSL_get_version(ts->ssl);
		if (len != NULL)
			*len = strlen(*out);
		return 0;
	case NATSD_Q_TLS_CIPHER:
		/* The IANA name, which Go (and so nats-server) shows. */
		*out = SSL_CIPHER_standard_name(
			SSL_get_current_cipher(ts->ssl));
		if (*out == NULL)
			*out = SSL_get_cipher_name(ts->ssl);
		if (len != NULL)
			*len = strlen(*out);
		return 0;
	case NATSD_Q_PEER_CERT_DER:
		if (ts->cert_der == NULL)
			return NATSD_ENOENT;
		*out = ts->cert_der;
		if (len != NULL)
			*len = ts->cert_len;
		return 0;
	default:
		return NATSD_ENOTSUP;
	}
}

static void tls_close(void *sctx, struct natsd_stream *below)
{
	struct tls_stream *ts = sctx;

	(void)below;
	if (ts == NULL)
		return;
	if (ts->state == TLS_S_OPEN) {
		/* close_notify, best effort, as Go's Close() sends it. */
		(void)SSL_shutdown(ts->ssl);
		(void)tls_flush(ts);
	}
	ERR_clear_error();
	SSL_free(ts->ssl);
	tls_conf_put(ts->conf);
	free(ts->out);
	free(ts->pre);
	free(ts->cert_der);
	free(ts);
}

/* The handshake's time left, from the push: the host closes the stream
 * when it is over. A timeout of 0 sets no limit. */
static int64_t tls_handshake_ms(void *sctx)
{
	const struct tls_stream *ts = sctx;
	int64_t left;

	if (ts->state != TLS_S_PEEK && ts->state != TLS_S_HANDSHAKE)
		return -1;
	if (ts->conf->timeout_ms == 0)
		return INT32_MAX;
	left = ts->deadline_ms - tls_now_ms();
	return left > 0 ? left : 0;
}

static uint32_t tls_flags(void *pctx, const struct natsd_cfg *cfg)
{
	struct tls_conf *c = tls_conf_for(pctx, cfg);
	uint32_t f = 0;

	if (c == NULL || c->client) {
		tls_conf_put(c);
		return 0;
	}
	if (!c->handshake_first)
		f |= NATSD_TF_AFTER_INFO;
	f |= c->allow_non_tls ? NATSD_TF_TLS_AVAILABLE : NATSD_TF_TLS_REQUIRED;
	if (c->verify)
		f |= NATSD_TF_TLS_VERIFY;
	if (c->map)
		f |= NATSD_TF_TLS_MAP;
	tls_conf_put(c);
	return f;
}

/* Certificates, keys and CAs are read again; settings stay. */
static int tls_reload(void *pctx, char *err, size_t errlen)
{
	struct tls_plugin *tp = pctx;
	struct tls_conf tmp, *all[TLS_MAX_CONFS + 1];
	int i, n = 0, rc;

	pthread_mutex_lock(&tp->lock);
	if (tp->main != NULL)
		all[n++] = tp->main;
	for (i = 0; i < tp->nconfs; i++)
		all[n++] = tp->confs[i];
	for (i = 0, rc = 0; i < n && rc == 0; i++) {
		tmp = *all[i];
		tmp.ctx = NULL;
		rc = tls_make_ctx(tp->api, tmp.cfg, &tmp, err, errlen);
		if (rc == 0) {
			SSL_CTX_free(all[i]->ctx);
			all[i]->ctx = tmp.ctx;
		}
	}
	pthread_mutex_unlock(&tp->lock);
	return rc;
}

/* New settings on SIGHUP: the plugin's own (key NULL) or a push()
 * section's are made anew from cfg, read now and not kept. A bad cfg
 * leaves the old settings in force; streams already up keep theirs. */
static int tls_reconfigure(void *pctx, const struct natsd_cfg *key,
			   const struct natsd_cfg *cfg, char *err,
			   size_t errlen)
{
	struct tls_plugin *tp = pctx;
	struct tls_conf *nc = NULL, *old = NULL;
	int i, rc = 0;

	if (cfg != NULL) {
		rc = tls_conf_new(tp, cfg, &nc, err, errlen);
		if (rc != 0)
			return rc;
		nc->cfg = key;
	}
	pthread_mutex_lock(&tp->lock);
	if (key == NULL) {
		old = tp->main;
		tp->main = nc;
		goto out;
	}
	for (i = 0; i < tp->nconfs && tp->confs[i]->cfg != key; i++)
		;
	if (i < tp->nconfs) {
		old = tp->confs[i];
		if (nc != NULL)
			tp->confs[i] = nc;
		else
			tp->confs[i] = tp->confs[--tp->nconfs];
	} else if (nc != NULL && tp->nconfs < TLS_MAX_CONFS) {
		tp->confs[tp->nconfs++] = nc;
	} else if (nc != NULL) {
		old = nc;
		snprintf(err, errlen, "tls: more than %d sets of settings",
			 TLS_MAX_CONFS);
		rc = NATSD_ENOSPC;
	}
out:
	pthread_mutex_unlock(&tp->lock);
	tls_conf_put(old);
	return rc;
}

static const struct natsd_transport_ops tls_ops = {
	.struct_size = sizeof(struct natsd_transport_ops),
	.name = "tls",
	.push = tls_push,
	.read = tls_read,
	.writev = tls_writev,
	.want = tls_want,
	.pending = tls_pending,
	.query = tls_query,
	.close = tls_close,
	.flags = tls_flags,
	.reload = tls_reload,
	.handshake_ms = tls_handshake_ms,
	.reconfigure = tls_reconfigure,
};

/* ------------------------------------------------------------------ */
/* Plugin                                                              */

static void tls_fini(void *ctx)
{
	struct tls_plugin *tp = ctx;
	int i;

	if (tp == NULL)
		return;
	tls_conf_put(tp->main);
	for (i = 0; i < tp->nconfs; i++)
		tls_conf_put(tp->confs[i]);
	BIO_meth_free(tp->bio_meth);
	pthread_mutex_destroy(&tp->lock);
	free(tp);
}

static int tls_init(struct natsd_host *h, const struct natsd_host_api *api,
		    const struct natsd_cfg *cfg, void **ctx, char *err,
		    size_t errlen)
{
	struct tls_plugin *tp;
	int rc;

	if (!NATSD_HAS(api, auth_peer_cert)) {
		snprintf(err, errlen,
			 "tls: the server is too old (ABI 1.%u, "
			 "need 1.1)",
			 (unsigned)api->abi_minor);
		return NATSD_ENOTSUP;
	}
	tp = calloc(1, sizeof(*tp));
	if (tp == NULL)
		return NATSD_ENOMEM;
	tp->h = h;
	tp->api = api;
	pthread_mutex_init(&tp->lock, NULL);
	if (tls_ex_index < 0)
		tls_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	tp->bio_meth = tls_bio_method();
	if (tp->bio_meth == NULL || tls_ex_index < 0) {
		rc = NATSD_ENOMEM;
		snprintf(err, errlen, "tls: out of memory");
		goto fail;
	}
	/* Without a section the plugin only serves push() sections. */
	if (cfg != NULL) {
		rc = tls_conf_new(tp, cfg, &tp->main, err, errlen);
		if (rc != 0)
			goto fail;
	}
	rc = api->register_transport(h, &tls_ops, tp);
	if (rc != 0) {
		snprintf(err, errlen, "tls: cannot register transport: %s",
			 strerror(-rc));
		goto fail;
	}
	*ctx = tp;
	return 0;

fail:
	tls_fini(tp);
	return rc;
}

static const struct natsd_plugin tls_plugin = {
	NATSD_PLUGIN_INIT, .name = "tls",    .version = PACKAGE_VERSION,
	.init = tls_init,  .fini = tls_fini,
};

const struct natsd_plugin *natsd_plugin_entry(uint16_t host_major,
					      uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &tls_plugin;
}
