/*
 * A minimal HTTP/1.0 client for the monitoring tests: one GET per
 * connection to 127.0.0.1, bounded in time and size, so the tests need no
 * HTTP library.
 */
#ifndef NATSD_TESTS_MONHTTP_H
#define NATSD_TESTS_MONHTTP_H

#include <stddef.h>

struct monhttp_resp {
	int status;      /* 200, 404 ... */
	char ctype[128]; /* Content-Type, "" when absent */
	char *body;      /* NUL-terminated, malloc()ed */
	size_t len;
};

/* GETs path (with its query) from 127.0.0.1:port, waiting at most
 * timeout_ms and reading at most 16 MiB. Returns 0 with *r filled (free
 * it with monhttp_free()), or -1 with a message on stderr. */
int monhttp_get(int port, const char *path, int timeout_ms,
		struct monhttp_resp *r);
void monhttp_free(struct monhttp_resp *r);

#endif
