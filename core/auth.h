/* The authentication chain. A client's CONNECT is offered to each
 * authenticator in the configured order (the built-in one first, unless
 * auth_chain says otherwise); the first that accepts or rejects decides,
 * "not mine" passes it on. An authenticator may answer later: the client
 * then waits, not reading, until the answer comes back to its thread. */
#ifndef NATSD_AUTH_H
#define NATSD_AUTH_H

#include <stddef.h>

struct conn;
struct server;
struct proto_connect;

/* Runs the chain for c with its CONNECT (NULL: no credentials at all).
 * Returns NATSD_AUTH_ACCEPT (c->acc, c->perms, c->user set),
 * NATSD_AUTH_REJECT, AUTH_ACCOUNT_FULL or NATSD_AUTH_PENDING
 * (client_auth_finished() follows on c's thread). */
int auth_start(struct conn *c, const struct proto_connect *ci);

/* A verdict beside enum natsd_auth_verdict: the client was accepted into
 * an account that has reached its connection limit. */
#define AUTH_ACCOUNT_FULL 16

/* c is closing while its request is pending. */
void auth_cancel(struct conn *c);

/* Resolves the chain from the options and the registered authenticators
 * and works out what INFO must say (auth_required, nonce). */
int auth_chain_build(struct server *s, char *err, size_t errlen);

/* Asks every authenticator to reload (SIGHUP). */
void auth_reload(struct server *s);

/* SIGHUP, before auth_reload(): gives the authenticators that take them
 * (reload_settings) their settings from the re-read options fresh, which
 * must stay alive during the call. */
struct opts;
void auth_reload_settings(struct server *s, const struct opts *fresh);

/* The built-in authenticator: --user/--pass, --auth, authorization users
 * with permissions, no_auth_user. Registered as "builtin". */
int auth_builtin_register(struct server *s);
void auth_builtin_fini(void);

#endif
