/* Ports file. Written to a temporary name and renamed, so a reader never
 * sees half of it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <natsd/error.h>

#include "portsfile.h"

static int add_url(json_t *list, const char *scheme, const char *ip, bool v6,
		   int port)
{
	char url[128];

	snprintf(url, sizeof(url), v6 ? "%s://[%s]:%d" : "%s://%s:%d", scheme,
		 ip, port);
	return json_array_append_new(list, json_string(url));
}

/* Every address of every interface that is up, interface by interface,
 * IPv4 before IPv6. */
static int add_local_urls(json_t *list, const char *scheme, int port)
{
	struct ifaddrs *ifs, *a, *b;
	char ip[INET6_ADDRSTRLEN];
	int fam, k;

	if (getifaddrs(&ifs) == -1)
		return -errno;
	for (a = ifs; a != NULL; a = a->ifa_next) {
		/* Visit each interface once, at its first entry. */
		for (b = ifs; b != a && strcmp(b->ifa_name, a->ifa_name); b = b->ifa_next)
			;
		if (b != a || !(a->ifa_flags & IFF_UP))
			continue;
		for (k = 0; k < 2; k++) {
			fam = k == 0 ? AF_INET : AF_INET6;
			for (b = ifs; b != NULL; b = b->ifa_next) {
				if (strcmp(b->ifa_name, a->ifa_name) != 0 ||
				    b->ifa_addr == NULL ||
				    b->ifa_addr->sa_family != fam)
					continue;
				if (fam == AF_INET)
					inet_ntop(fam,
						  &((struct sockaddr_in *)
							    b->ifa_addr)
							   ->sin_addr,
						  ip, sizeof(ip));
				else
					inet_ntop(fam,
						  &((struct sockaddr_in6 *)
							    b->ifa_addr)
							   ->sin6_addr,
						  ip, sizeof(ip));
				add_url(list, scheme, ip, fam == AF_INET6,
					port);
			}
		}
	}
	freeifaddrs(ifs);
	return 0;
}

/* The URLs of a listener on host:port. */
static int add_urls(json_t *list, const char *scheme, const char *host,
		    int port)
{
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	    host[0] == '\0')
		return add_local_urls(list, scheme, port);
	return add_url(list, scheme, host, strchr(host, ':') != NULL, port);
}

/* Adds key: [URLs of the listener on host:port] to o. */
static int add_listener(json_t *o, const char *key, const char *scheme,
			const char *host, int port)
{
	json_t *list = json_array();

	if (list == NULL || json_object_set_new(o, key, list) != 0)
		return NATSD_ENOMEM;
	return add_urls(list, scheme, host ? host : "0.0.0.0", port);
}

int portsfile_write(const char *dir, const char *exe,
		    const struct portsfile_urls *u, char **path, char *err,
		    size_t errlen)
{
	char file[4096], tmp[4200];
	const char *base = strrchr(exe, '/');
	json_t *o;
	int rc;

	base = base ? base + 1 : exe;
	snprintf(file, sizeof(file), "%s/%s_%d.ports", dir, base,
		 (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	o = json_object();
	if (o == NULL)
		return NATSD_ENOMEM;
	/* nats-server's keys, in its order. */
	rc = add_listener(o, "nats", "nats", u->host, u->port);
	if (rc == 0 && u->mon_port > 0)
		rc = add_listener(o, "monitoring",
				  u->mon_tls ? "https" : "http", u->mon_host,
				  u->mon_port);
	if (rc == 0 && u->ws_port > 0)
		rc = add_listener(o, "websocket", u->ws_tls ? "wss" : "ws",
				  u->ws_host, u->ws_port);
	if (rc == 0 && json_dump_file(o, tmp, JSON_COMPACT) != 0)
		rc = NATSD_EIO;
	json_decref(o);
	if (rc == 0 && rename(tmp, file) == -1)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write ports file %s: %s", file,
			 strerror(-rc));
		return rc;
	}
	*path = strdup(file);
	return *path ? 0 : NATSD_ENOMEM;
}
