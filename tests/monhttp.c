/* See monhttp.h. The server closes the connection after an HTTP/1.0
 * answer, so the whole answer is what arrives before EOF. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "monhttp.h"

#define MONHTTP_MAX (16u << 20)

/* Reads until EOF; NULL on error, timeout or an answer too big. */
static char *read_all(int fd, int timeout_ms, size_t *len)
{
	long long end = harness_now_ms() + timeout_ms;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1), *nb;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t k;

	while (buf != NULL) {
		long long left = end - harness_now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			break;
		if (n == cap) {
			if (cap >= MONHTTP_MAX)
				break;
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL)
				break;
			buf = nb;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0)
			break;
		if (k == 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		n += (size_t)k;
	}
	free(buf);
	return NULL;
}

static void header(const char *head, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = head;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			if (e == NULL || (size_t)(e - v) >= cap)
				return;
			memcpy(out, v, (size_t)(e - v));
			out[e - v] = '\0';
			return;
		}
	}
}

int monhttp_get(int port, const char *path, int timeout_ms,
		struct monhttp_resp *r)
{
	char req[2048], *all, *body;
	size_t len = 0;
	int fd;

	memset(r, 0, sizeof(*r));
	fd = harness_connect(port);
	if (fd < 0) {
		fprintf(stderr, "monhttp: cannot connect to port %d\n", port);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		 path);
	if (harness_sendstr(fd, req) != 0) {
		close(fd);
		fprintf(stderr, "monhttp: cannot send GET %s\n", path);
		return -1;
	}
	all = read_all(fd, timeout_ms, &len);
	close(fd);
	if (all == NULL) {
		fprintf(stderr, "monhttp: no full answer to GET %s\n", path);
		return -1;
	}
	body = strstr(all, "\r\n\r\n");
	if (body == NULL || sscanf(all, "HTTP/1.%*d %d", &r->status) != 1) {
		fprintf(stderr, "monhttp: malformed answer to GET %s\n", path);
		free(all);
		return -1;
	}
	body[2] = '\0'; /* the headers keep their last CRLF */
	header(all, "Content-Type", r->ctype, sizeof(r->ctype));
	body += 4;
	r->len = len - (size_t)(body - all);
	memmove(all, body, r->len + 1);
	r->body = all;
	return 0;
}

void monhttp_free(struct monhttp_resp *r)
{
	free(r->body);
	r->body = NULL;
}
