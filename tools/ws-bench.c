/* ws-bench: pub/sub throughput through a server's websocket listener.
 *
 *   ws-bench [--tls CAFILE] PORT [COUNT] [SIZE]
 *
 * One subscribing and one publishing connection to ws://127.0.0.1:PORT,
 * or wss:// with --tls (OpenSSL, trusting CAFILE), no compression. The
 * publisher sends COUNT messages of SIZE bytes in frames of about 64 KiB, with
 * a PING round trip every MiB so that the subscriber is not cut off as a slow
 * consumer; the subscriber counts the MSG bytes it gets. Prints "<msgs/s>
 * msgs/s <MB/s> MB/s", timed from the first publish to the last byte delivered.
 * Frames are masked with the key 0 (allowed, and free), so the client costs
 * little next to the server. Not a test: docs/PERFORMANCE.md has figures. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem() */
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define UPGRADE                                                                \
	"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"          \
	"Connection: Upgrade\r\n"                                              \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                      \
	"Sec-WebSocket-Version: 13\r\n\r\n"

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* wss: the TLS session of each socket (blocking, one thread each). */
static SSL_CTX *tls_ctx;
static SSL *tls_of[1024];

static ssize_t io_send(int fd, const void *p, size_t n)
{
	int k;

	if (fd < 1024 && tls_of[fd] != NULL) {
		k = SSL_write(tls_of[fd], p,
			      n > INT32_MAX ? INT32_MAX : (int)n);
		return k > 0 ? k : -1;
	}
	return send(fd, p, n, MSG_NOSIGNAL);
}

static ssize_t io_recv(int fd, void *p, size_t n)
{
	int k;

	if (fd < 1024 && tls_of[fd] != NULL) {
		k = SSL_read(tls_of[fd], p, n > INT32_MAX ? INT32_MAX : (int)n);
		return k > 0 ? k : -1;
	}
	return recv(fd, p, n, 0);
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t k;

	while (n > 0) {
		k = io_send(fd, c, n);
		if (k <= 0)
			die("send");
		c += k;
		n -= (size_t)k;
	}
}

/* One masked binary frame (key 0) around p. */
static void send_frame(int fd, const char *p, size_t n)
{
	unsigned char h[14];
	size_t k = 0;
	int i;

	h[k++] = 0x82;
	if (n < 126) {
		h[k++] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		h[k++] = 0x80 | 126;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[k++] = 0x80 | 127;
		for (i = 7; i >= 0; i--)
			h[k++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	memset(h + k, 0, 4);
	k += 4;
	send_all(fd, h, k);
	send_all(fd, p, n);
}

/* Connects and upgrades; the bytes read past the reply are dropped (the
 * INFO frame, which comes alone). */
static int ws_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char buf[4096];
	size_t n = 0;
	ssize_t k;
	int fd, one = 1;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls_ctx != NULL) {
		if (fd >= 1024 || (tls_of[fd] = SSL_new(tls_ctx)) == NULL)
			die("SSL_new");
		SSL_set_fd(tls_of[fd], fd);
		SSL_set_tlsext_host_name(tls_of[fd], "localhost");
		if (SSL_connect(tls_of[fd]) != 1)
			die("TLS handshake");
	}
	send_all(fd, UPGRADE, strlen(UPGRADE));
	while (n < 12 || memmem(buf, n, "\"client_ip\"", 11) == NULL) {
		k = io_recv(fd, buf + n, sizeof(buf) - n);
		if (k <= 0)
			die("upgrade");
		n += (size_t)k;
	}
	return fd;
}

/* Reads frames until their payloads hold want (a substring) or until
 * total payload bytes reach *left (then counts down *left). */
struct reader {
	int fd;
	unsigned char buf[1 << 18];
	size_t len;
	uint64_t hdr_left; /* payload bytes of the frame in progress */
};

/* Payload bytes of the frames read; headers are skipped. */
static size_t read_payload(struct reader *r, char *out, size_t cap)
{
	size_t n = 0, h, take;
	uint64_t plen;
	ssize_t k;
	int i;

	k = io_recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
	if (k <= 0)
		die("recv");
	r->len += (size_t)k;
	for (;;) {
		if (r->hdr_left > 0) {
			take = r->len < r->hdr_left ? r->len : r->hdr_left;
			if (out != NULL && n + take <= cap)
				memcpy(out + n, r->buf, take);
			n += take;
			r->hdr_left -= take;
			memmove(r->buf, r->buf + take, r->len - take);
			r->len -= take;
			if (r->hdr_left > 0 || r->len == 0)
				break;
			continue;
		}
		if (r->len < 2)
			break;
		plen = r->buf[1] & 0x7f;
		h = 2;
		if (plen == 126) {
			if (r->len < 4)
				break;
			plen = (uint64_t)r->buf[2] << 8 | r->buf[3];
			h = 4;
		} else if (plen == 127) {
			if (r->len < 10)
				break;
			plen = 0;
			for (i = 2; i < 10; i++)
				plen = plen << 8 | r->buf[i];
			h = 10;
		}
		memmove(r->buf, r->buf + h, r->len - h);
		r->len -= h;
		r->hdr_left = plen;
		if (plen == 0 && r->len == 0)
			break;
	}
	return n;
}

struct sub_arg {
	struct reader r;
	uint64_t want; /* MSG bytes to get */
	struct timespec end;
};

static void *subscriber(void *arg)
{
	struct sub_arg *s = arg;
	uint64_t got = 0;

	while (got < s->want)
		got += read_payload(&s->r, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &s->end);
	return NULL;
}

int main(int argc, char **argv)
{
	int port, tls = argc > 2 && strcmp(argv[1], "--tls") == 0 ? 2 : 0;
	long count, size;
	struct sub_arg sa;
	struct reader pr;
	struct timespec t0;
	pthread_t th;
	char line[64], *batch, pong[256];
	size_t one, per, blen, since = 0, n;
	long sent = 0, i, k;
	double secs;
	int pub;

	port = argc > 1 + tls ? atoi(argv[1 + tls]) : 0;
	count = argc > 2 + tls ? atol(argv[2 + tls]) : 1000000;
	size = argc > 3 + tls ? atol(argv[3 + tls]) : 128;
	if (port <= 0 || count <= 0 || size < 0) {
		fprintf(stderr,
			"usage: ws-bench [--tls CAFILE] PORT [COUNT] [SIZE]\n");
		return 2;
	}
	if (tls) {
		tls_ctx = SSL_CTX_new(TLS_client_method());
		if (tls_ctx == NULL ||
		    SSL_CTX_load_verify_locations(tls_ctx, argv[2], NULL) != 1)
			die("CA file");
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.r.fd = ws_open(port);
	send_frame(sa.r.fd,
		   "CONNECT {\"verbose\":false}\r\nSUB bench 1\r\n"
		   "PING\r\n",
		   46);
	while (read_payload(&sa.r, pong, sizeof(pong)) == 0 ||
	       memmem(pong, 6, "PONG", 4) == NULL)
		;
	/* "MSG bench 1 <size>\r\n<payload>\r\n" per message. */
	one = (size_t)snprintf(line, sizeof(line), "MSG bench 1 %ld\r\n",
			       size) +
	      (size_t)size + 2;
	sa.want = (uint64_t)one * (uint64_t)count;
	pub = ws_open(port);
	memset(&pr, 0, sizeof(pr));
	pr.fd = pub;
	send_frame(pub, "CONNECT {\"verbose\":false}\r\n", 27);
	n = (size_t)snprintf(line, sizeof(line), "PUB bench %ld\r\n", size);
	per = 65536 / (n + (size_t)size + 2) + 1;
	batch = malloc(per * (n + (size_t)size + 2));
	if (batch == NULL)
		die("malloc");
	for (blen = 0, k = 0; k < (long)per; k++) {
		memcpy(batch + blen, line, n);
		memset(batch + blen + n, 'x', (size_t)size);
		memcpy(batch + blen + n + (size_t)size, "\r\n", 2);
		blen += n + (size_t)size + 2;
	}
	if (pthread_create(&th, NULL, subscriber, &sa) != 0)
		die("pthread_create");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i += k) {
		k = count - i < (long)per ? count - i : (long)per;
		send_frame(pub, batch, (size_t)k * (blen / per));
		sent += k;
		since += (size_t)k * (blen / per);
		if (since >= (1 << 20)) {
			send_frame(pub, "PING\r\n", 6);
			for (;;) {
				n = read_payload(&pr, pong, sizeof(pong));
				if (n >= 4 && memmem(pong, n, "PONG", 4))
					break;
			}
			since = 0;
		}
	}
	pthread_join(th, NULL);
	secs = (double)(sa.end.tv_sec - t0.tv_sec) +
	       (double)(sa.end.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%.0f msgs/s %.1f MB/s\n", (double)sent / secs,
	       (double)sent * (double)size / secs / 1e6);
	free(batch);
	close(pub);
	close(sa.r.fd);
	return 0;
}
