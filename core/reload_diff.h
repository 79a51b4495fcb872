/* What a reload changes, logged as nats-server logs it: one line
 * "Reloaded: <option> = <value>" (or "Reloaded: <option>" for lists such
 * as the users) per changed option, before "Reloaded server
 * configuration". */
#ifndef NATSD_RELOAD_DIFF_H
#define NATSD_RELOAD_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opts;

/* What nats-server's reload compares of the client port's TLS (its
 * TLSTimeout, TLSMap, TLSConfig, TLSPinnedCerts and AllowNonTLS
 * options), read from the tls block or the --tls* flags, which win. */
struct reload_tls {
	bool on;            /* a tls block or --tls* flags */
	int64_t timeout_ns; /* handshake limit; nats-server's 2s default */
	bool map;           /* verify_and_map */
	bool allow_non_tls;
	char **pins; /* pinned_certs: lower case, sorted, no duplicates */
	size_t npins;
};

/* Reads o's TLS settings into t (zeroed first). 0 or NATSD_ENOMEM;
 * reload_tls_fini() either way. Bad values are the tls plugin's to
 * report: they read as absent here. */
int reload_tls_read(const struct opts *o, struct reload_tls *t);
void reload_tls_fini(struct reload_tls *t);

/* The authorization timeout in force: the configured one, else
 * nats-server's default, the TLS handshake's limit plus a second with
 * TLS, 2s without. */
int64_t reload_diff_auth_timeout(const struct opts *o,
				 const struct reload_tls *t);

/* Options that nats-server 2.9 cannot reload, in the order of its
 * Options struct (the first one changed is named), but for those
 * server.c checks (name, address, cluster, websocket, lame duck). early:
 * those before its Cluster field, else those after its Websocket field.
 * true with nats-server's message ("config reload not supported for
 * NoAuthUser: old=a, new=") in err. */
bool reload_diff_refused(const struct opts *cur, const struct opts *next,
			 const struct reload_tls *ct,
			 const struct reload_tls *nt, bool early, char *err,
			 size_t errlen);

/* Logs the options that differ between cur (in force, with TLS ct) and
 * next (read again, with TLS nt) in the order of nats-server's Options
 * struct, which its reload follows; returns how many lines it logged.
 * As nats-server, it always names the users and the accounts, and the
 * tls block whenever there is one. */
int reload_diff_log(const struct opts *cur, const struct opts *next,
		    const struct reload_tls *ct, const struct reload_tls *nt);

/* Go's %v of a float64 number of seconds ("2", "2.5", "0.001",
 * "1e+06"): the shortest digits that read back the same. */
void reload_diff_seconds(int64_t ns, char *buf, size_t len);

/* Go's time.Duration.String() of ns ("30s", "2m0s", "1h0m0s", "500ms")
 * into buf. */
void reload_diff_duration(int64_t ns, char *buf, size_t len);

#endif
