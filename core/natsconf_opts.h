/* nats-server's config format mapped onto struct opts.
 *
 * natsconf.c reads the text into a tree; this module gives the tree the
 * meaning nats-server gives it (key names, value types, sizes, durations,
 * random ports) and fills struct opts, the same struct natsd's libconfig
 * format and the command line fill. It also answers the struct natsd_cfg
 * getters (conffile.h) for sections that come from such a file, so that
 * plugins read their settings whatever the format.
 */
#ifndef NATSD_NATSCONF_OPTS_H
#define NATSD_NATSCONF_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct natsconf_value;
struct natsd_cfg;
struct opts;

/* Maps tree, a parsed nats-server config file read from path, over o.
 * o takes the tree over, also on failure (o->conf, o->conf_free).
 * Settings natsd does not support yet that nats-server would start with
 * are appended to o->conf_warnings as "FILE:LINE: ..."; everything else
 * that is wrong stops loading with NATSD_EINVAL and "FILE:LINE: what is
 * wrong" in err (NATSD_ENOMEM when out of memory). */
int natsconf_opts_load(struct natsconf_value *tree, const char *path,
		       struct opts *o, char *err, size_t errlen);

/* The root section of o's file when it was read by natsconf_opts_load(),
 * else NULL. */
const struct natsd_cfg *natsconf_opts_root(const struct opts *o);

/* The cluster listener a nats-server file configures, which natsd does not
 * open but whose change nats-server does not reload: host "" and port 0
 * without a cluster block (or when o was not read from such a file),
 * else its host (default "0.0.0.0") and port, from host/port or listen.
 * The host is copied into host[hostlen]. */
void natsconf_opts_cluster(const struct opts *o, char *host, size_t hostlen,
			   int *port);

/* The value at key below map: member names separated by '.', "[N]" for
 * an array element ("users.[0].user"); case-insensitive. NULL when
 * absent. */
const struct natsconf_value *
natsconf_opts_lookup(const struct natsconf_value *map, const char *key);

/* The conffile_cfg_*() getters for a section read from a nats-server
 * file; same contracts (conffile.h). */
int natsconf_opts_cfg_string(const struct natsconf_value *m, const char *key,
			     const char **out);
int natsconf_opts_cfg_int(const struct natsconf_value *m, const char *key,
			  int64_t *out);
int natsconf_opts_cfg_bool(const struct natsconf_value *m, const char *key,
			   bool *out);
int natsconf_opts_cfg_duration(const struct natsconf_value *m, const char *key,
			       int64_t *ns);
int natsconf_opts_cfg_size(const struct natsconf_value *m, const char *key,
			   int64_t *bytes);
int natsconf_opts_cfg_list_len(const struct natsconf_value *m, const char *key,
			       size_t *n);
int natsconf_opts_cfg_list_string(const struct natsconf_value *m,
				  const char *key, size_t i, const char **out);
int natsconf_opts_cfg_section(const struct natsconf_value *m, const char *key,
			      const struct natsd_cfg **out);
int natsconf_opts_cfg_sections_len(const struct natsconf_value *m,
				   const char *key, size_t *n);
int natsconf_opts_cfg_sections_at(const struct natsconf_value *m,
				  const char *key, size_t i,
				  const struct natsd_cfg **out);
int natsconf_opts_cfg_key_at(const struct natsconf_value *m, size_t i,
			     const char **name);
int natsconf_opts_cfg_where(const struct natsconf_value *m, const char *key,
			    const char **file, int *line);

#endif
