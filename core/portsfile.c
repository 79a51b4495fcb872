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

static int add_url_scheme(json_t *list, const char *scheme, const char *ip,
			  bool v6, int port)
{
	char url[128];

	snprintf(url, sizeof(url), v6 ? "%s://[%s]:%d" : "%s://%s:%d", scheme,
		 ip, port);
	return json_array_append_new(list, json_string(url));
}

static int add_url(json_t *list, const char *ip, bool v6, int port)
{
	return add_url_scheme(list, "nats", ip, v6, port);
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
				add_url_scheme(list, scheme, ip,
					       fam == AF_INET6, port);
			}
		}
	}
	freeifaddrs(ifs);
	return 0;
}

static bool unspecified(const char *host)
{
	return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	       host[0] == '\0';
}

/* Adds "monitoring": [...] to o. */
static int add_monitoring(json_t *o, const char *mhost, int mport, bool tls)
{
	const char *scheme = tls ? "https" : "http";
	json_t *list = json_array();

	if (list == NULL || json_object_set_new(o, "monitoring", list) != 0)
		return NATSD_ENOMEM;
	if (unspecified(mhost))
		return add_local_urls(list, scheme, mport);
	return add_url_scheme(list, scheme, mhost, strchr(mhost, ':') != NULL,
			      mport);
}

int portsfile_write(const char *dir, const char *exe, const char *host,
		    int port, char **path, char *err, size_t errlen)
{
	return portsfile_write_all(dir, exe, host, port, NULL, 0, false, path,
				   err, errlen);
}

int portsfile_write_all(const char *dir, const char *exe, const char *host,
			int port, const char *mhost, int mport, bool mtls,
			char **path, char *err, size_t errlen)
{
	char file[4096], tmp[4200];
	json_t *o, *list;
	const char *base = strrchr(exe, '/');
	int rc = 0;

	base = base ? base + 1 : exe;
	snprintf(file, sizeof(file), "%s/%s_%d.ports", dir, base,
		 (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	o = json_object();
	list = json_array();
	if (o == NULL || list == NULL) {
		json_decref(o);
		json_decref(list);
		return NATSD_ENOMEM;
	}
	json_object_set_new(o, "nats", list);
	if (unspecified(host))
		rc = add_local_urls(list, "nats", port);
	else
		rc = add_url(list, host, strchr(host, ':') != NULL, port);
	if (rc == 0 && mport > 0 && mhost != NULL)
		rc = add_monitoring(o, mhost, mport, mtls);
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
