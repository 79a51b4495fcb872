/* The client protocol on a connection: INFO, CONNECT and authentication,
 * PUB/HPUB, SUB/UNSUB, PING/PONG, keepalive and the limits, with the
 * replies and -ERR texts of nats-server 2.9. */
#ifndef NATSD_CLIENT_H
#define NATSD_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conn;

/* Sends INFO and arms the timers of a new client connection. */
void client_start(struct conn *c);

/* Sends the current INFO again (lame duck mode, "ldm":true) to a client
 * that announced protocol 1, as nats-server does; owner thread. */
void client_send_async_info(struct conn *c);

/* Parses and runs every complete operation in buf. Returns the bytes
 * consumed (the rest is an unfinished operation; *need is its full size
 * when known), or a negative code to close without -ERR. Closes the
 * connection itself where nats-server sends an -ERR first. */
ssize_t client_feed(struct conn *c, char *buf, size_t len, size_t *need);

/* The connection is closing: release client state. */
void client_closed(struct conn *c);

/* Authentication finished (owner thread): verdict is enum
 * natsd_auth_verdict. */
void client_auth_finished(struct conn *c, int verdict);

/* Disconnects c at unix_ns (wall clock) with "User Authentication
 * Expired", as nats-server does when credentials run out. */
void client_expire_at(struct conn *c, int64_t unix_ns);

/* allow_responses: the connection received a request with this reply
 * subject and may publish to it (any thread). */
void client_resp_grant(struct conn *c, const char *reply, size_t len);
void client_resp_free(struct conn *c);

#endif
