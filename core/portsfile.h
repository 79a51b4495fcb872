/* The ports file nats-server writes for test harnesses and supervisors:
 * <dir>/<exe>_<pid>.ports, a JSON object listing the URLs of the
 * listeners ({"nats":["nats://127.0.0.1:4222", ...]}), removed at exit. */
#ifndef NATSD_PORTSFILE_H
#define NATSD_PORTSFILE_H

#include <stddef.h>

/* Writes the file for the client listener on host:port (an unspecified
 * host lists every local address, as nats-server does). On success *path
 * is the file's path (the caller frees it). 0 or a negative code, with a
 * message in err. */
int portsfile_write(const char *dir, const char *exe, const char *host,
		    int port, char **path, char *err, size_t errlen);
/* The same with the websocket listener on ws_host:ws_port too (listed
 * under "websocket" as ws:// URLs); ws_port 0: none. */
int portsfile_write_ws(const char *dir, const char *exe, const char *host,
		       int port, const char *ws_host, int ws_port, char **path,
		       char *err, size_t errlen);

#endif
