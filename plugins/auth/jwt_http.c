/* A minimal HTTP/1.0 GET: see jwt_http.h.
 *
 * A plain socket client rather than libcurl: the URL resolver needs one
 * GET of a small body with a deadline, over plain http as nats-server's
 * URL resolver is mostly used; a new library dependency (and its TLS
 * stack) for that is not worth it. Name resolution uses getaddrinfo(),
 * which has no deadline of its own; it runs on the fetch thread only. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <natsd/error.h>

#include "jwt_http.h"

void jwt_http_url_fini(struct jwt_http_url *u)
{
	free(u->host);
	free(u->port);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

int jwt_http_parse_url(const char *url, struct jwt_http_url *u)
{
	const char *p, *hend, *slash, *colon;
	size_t plen;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "http://", 7) != 0)
		return NATSD_EINVAL;
	p = url + 7;
	slash = strchr(p, '/');
	hend = slash ? slash : p + strlen(p);
	if (*p == '[') { /* [v6]:port */
		colon = memchr(p, ']', (size_t)(hend - p));
		if (colon == NULL)
			return NATSD_EINVAL;
		u->host = strndup(p + 1, (size_t)(colon - p - 1));
		colon = colon + 1 < hend && colon[1] == ':' ? colon + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(hend - p));
		u->host = strndup(p, (size_t)((colon ? colon : hend) - p));
	}
	if (colon != NULL)
		u->port = strndup(colon + 1, (size_t)(hend - colon - 1));
	else
		u->port = strdup("80");
	plen = slash ? strlen(slash) : 0;
	u->path = malloc(plen + 2);
	if (u->host == NULL || u->port == NULL || u->path == NULL) {
		jwt_http_url_fini(u);
		return NATSD_ENOMEM;
	}
	if (slash != NULL)
		memcpy(u->path, slash, plen);
	else
		u->path[plen++] = '/';
	/* nats-server appends the account key after a '/'. */
	if (u->path[plen - 1] != '/')
		u->path[plen++] = '/';
	u->path[plen] = '\0';
	if (u->host[0] == '\0' || u->port[0] == '\0' ||
	    strspn(u->port, "0123456789") != strlen(u->port) ||
	    strpbrk(u->path, " \r\n") != NULL) {
		jwt_http_url_fini(u);
		return NATSD_EINVAL;
	}
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for ev on fd until the deadline. 0, or NATSD_ETIMEDOUT. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return NATSD_ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return NATSD_EIO;
	}
}

static int dial(const struct jwt_http_url *u, int64_t deadline, int *out,
		char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	socklen_t len;
	int fd = -1, rc, soerr;

	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->host,
			 gai_strerror(rc));
		return NATSD_EIO;
	}
	rc = NATSD_EIO;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			rc = wait_fd(fd, POLLOUT, deadline);
			len = sizeof(soerr);
			if (rc == 0 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
				       &len) == 0 &&
			    soerr == 0)
				break;
			if (rc == 0)
				rc = NATSD_EIO;
		}
		close(fd);
		fd = -1;
		if (rc == NATSD_ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s:%s%s", u->host,
			 u->port, rc == NATSD_ETIMEDOUT ? ": timeout" : "");
		return rc == NATSD_ETIMEDOUT ? rc : NATSD_EIO;
	}
	*out = fd;
	return 0;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return NATSD_EIO;
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Reads until the peer closes, at most max bytes. */
static int recv_all(int fd, char *buf, size_t max, size_t *got,
		    int64_t deadline)
{
	ssize_t n;
	int rc;

	*got = 0;
	for (;;) {
		if (*got == max)
			return NATSD_ERANGE;
		n = recv(fd, buf + *got, max - *got, 0);
		if (n == 0)
			return 0;
		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			return NATSD_EIO;
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0)
			return rc;
	}
}

/* Status line and body of a response. */
static int parse_response(char *buf, size_t len, int *status, char **body)
{
	char *hend, *b;
	int major, minor, code;

	buf[len] = '\0';
	if (sscanf(buf, "HTTP/%d.%d %3d", &major, &minor, &code) != 3 ||
	    code < 100 || code > 599)
		return NATSD_EIO;
	hend = strstr(buf, "\r\n\r\n");
	b = hend ? hend + 4 : NULL;
	if (b == NULL) {
		hend = strstr(buf, "\n\n");
		b = hend ? hend + 2 : NULL;
	}
	if (b == NULL)
		return NATSD_EIO;
	*body = strdup(b);
	if (*body == NULL)
		return NATSD_ENOMEM;
	*status = code;
	return 0;
}

int jwt_http_get(const struct jwt_http_url *u, const char *what,
		 int64_t timeout_ms, size_t max, int *status, char **body,
		 char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + timeout_ms;
	char req[2048], *buf = NULL;
	size_t got;
	int fd = -1, n, rc;

	n = snprintf(req, sizeof(req),
		     "GET %s%s HTTP/1.0\r\nHost: %s\r\n"
		     "Accept: application/jwt, text/plain\r\n"
		     "User-Agent: natsd\r\nConnection: close\r\n\r\n",
		     u->path, what, u->host);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		snprintf(err, errlen, "request too long");
		return NATSD_EINVAL;
	}
	rc = dial(u, deadline, &fd, err, errlen);
	if (rc != 0)
		return rc;
	buf = malloc(max + 1024 + 1);
	if (buf == NULL) {
		rc = NATSD_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = send_all(fd, req, (size_t)n, deadline);
	if (rc == 0)
		rc = recv_all(fd, buf, max + 1024, &got, deadline);
	if (rc == 0)
		rc = parse_response(buf, got, status, body);
	if (rc == 0 && strlen(*body) > max) {
		free(*body);
		*body = NULL;
		rc = NATSD_ERANGE;
	}
	if (rc == NATSD_ETIMEDOUT)
		snprintf(err, errlen, "timeout after %lld ms",
			 (long long)timeout_ms);
	else if (rc == NATSD_ERANGE)
		snprintf(err, errlen, "response too big");
	else if (rc != 0)
		snprintf(err, errlen, "not an HTTP response");
out:
	free(buf);
	close(fd);
	return rc;
}
