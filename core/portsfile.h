/* The ports file nats-server writes for test harnesses and supervisors:
 * <dir>/<exe>_<pid>.ports, a JSON object listing the URLs of the
 * listeners ({"nats":["nats://127.0.0.1:4222", ...], "monitoring": [...],
 * "websocket": [...]}), removed at exit. */
#ifndef NATSD_PORTSFILE_H
#define NATSD_PORTSFILE_H

#include <stdbool.h>
#include <stddef.h>

/* The listeners to list. An unspecified host (NULL, 0.0.0.0, ::) lists
 * every local address, as nats-server does; a port <= 0 leaves the
 * monitoring or websocket entry out. */
struct portsfile_urls {
	const char *host; /* clients, "nats://" */
	int port;
	const char *mon_host; /* "monitoring": http:// or https:// */
	int mon_port;
	bool mon_tls;
	const char *ws_host; /* "websocket": ws:// or wss:// */
	int ws_port;
	bool ws_tls;
};

/* Writes the file. On success *path is its path (the caller frees it).
 * 0 or a negative code, with a message in err. */
int portsfile_write(const char *dir, const char *exe,
		    const struct portsfile_urls *u, char **path, char *err,
		    size_t errlen);

#endif
