/* A minimal HTTP/1.0 GET for the auth_jwt URL resolver: one request per
 * connection, a deadline over the whole exchange, a bounded body. Run
 * from the plugin's own fetch threads, never from an I/O thread. */
#ifndef NATSD_JWT_HTTP_H
#define NATSD_JWT_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct jwt_http_url {
	char *host;
	char *port;
	char *path; /* ends with '/' */
};

/* Splits "http://host[:port][/path]". 0, NATSD_EINVAL (not http://, or
 * malformed), NATSD_ENOMEM. */
int jwt_http_parse_url(const char *url, struct jwt_http_url *u);
void jwt_http_url_fini(struct jwt_http_url *u);

/* GETs u->path + what. 0 with *status and a new NUL-terminated *body (the
 * caller frees it), or a negative code with err: NATSD_ETIMEDOUT after
 * timeout_ms, NATSD_EIO (cannot connect, not HTTP), NATSD_ERANGE (body
 * over max bytes). */
int jwt_http_get(const struct jwt_http_url *u, const char *what,
		 int64_t timeout_ms, size_t max, int *status, char **body,
		 char *err, size_t errlen);

#endif
