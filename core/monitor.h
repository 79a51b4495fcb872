/* The HTTP monitoring listener: nats-server's /varz, /connz, ... and a
 * Prometheus /metrics, served by libmicrohttpd on a thread of its own. */
#ifndef NATSD_MONITOR_H
#define NATSD_MONITOR_H

#include <stdbool.h>

struct server;
struct monitor;

/* Opens the listener the options ask for (http_host, http_port; -1 is a
 * random port) and starts serving. Logs what went wrong. 0 and *out, or
 * a negative code. */
int monitor_start(struct server *s, struct monitor **out);

/* Stops serving (waits for the request in progress, which may wait for
 * the I/O threads: call it while they still run). NULL does nothing. */
void monitor_stop(struct monitor *m);

/* Frees m, after the I/O threads have stopped (they record closed
 * connections in it until then). Stops it first if needed. NULL does
 * nothing. */
void monitor_free(struct monitor *m);

/* The bound port. */
int monitor_port(const struct monitor *m);
/* Whether it serves HTTPS (https_port). */
bool monitor_https(const struct monitor *m);

struct conn;
/* Records a closing connection for /connz?state=closed; conn_close()
 * calls it through server.closed_hook, on the connection's thread. */
void monitor_conn_closed(struct monitor *m, struct conn *c);
/* Announces an accepted client ($SYS.ACCOUNT.<acc>.CONNECT), through
 * server.connect_hook, on the connection's thread. */
void monitor_conn_connected(struct monitor *m, struct conn *c);

#endif
