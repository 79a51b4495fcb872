/* The config file: a libconfig file read into struct opts, and the typed
 * getters through which plugins read their own sections.
 *
 * (Not "config.h": that name belongs to autoconf's header, which every
 * .c file includes first, and a core file's #include "config.h" would
 * find a core/config.h before it.)
 */
#ifndef NATSD_CONFFILE_H
#define NATSD_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opts;
struct natsd_cfg; /* defined in conffile.c; opaque to plugins */

/* Reads the config file at path over o, which holds the defaults (or
 * defaults plus what an earlier step set). The file is natsd's libconfig
 * format or nats-server's own (natsconf_opts.c); which one is decided from
 * the file alone (conffile.c, README "Which format a file is in") and
 * recorded in o->config_format ("natsd" or "nats-server"); settings
 * natsd does not support yet that nats-server's format only warns about
 * are in o->conf_warnings. Every key has nats-server's name; see
 * conffile.c and natsconf_opts.c for the lists and the value shapes.
 *
 * An unknown key, a wrong type or a bad value stops loading: the return
 * is NATSD_EINVAL (NATSD_EIO when the file cannot be read, NATSD_ENOMEM)
 * and err holds one line, "FILE:LINE: what is wrong" (just "FILE: ..."
 * when there is no line). On failure o may hold part of the file: discard
 * it with opts_fini().
 *
 * On success o->config_file is path, and o owns the parsed file (through
 * o->conf and o->conf_free): plugin settings (struct opts_plugin) point
 * into it and stay valid until opts_fini(o). A second conffile_load() on the
 * same o is refused (NATSD_EEXIST).
 *
 * @include paths that are relative resolve against the directory of path,
 * also from inside included files (libconfig's include_dir). Integers
 * beyond 32 bits need libconfig's L suffix (4294967296L) or, for sizes, a
 * string with units ("4GB"): libconfig 1.5 silently truncates them
 * otherwise. */
int conffile_load(const char *path, struct opts *o, char *err, size_t errlen);

/* A section wrapping a map of a nats-server file, for natsconf_opts.c
 * (which frees it with free()); NULL when out of memory. */
struct natsconf_value;
struct natsd_cfg *conffile_cfg_wrap(const struct natsconf_value *map);

/* Parses a Go duration ("300ms", "-1.5h", "2h45m"; units ns us µs ms s m
 * h; "0" needs no unit) into nanoseconds. 0, NATSD_EINVAL (syntax) or
 * NATSD_ERANGE (does not fit in int64). */
int conffile_parse_duration(const char *s, int64_t *ns);

/* Parses a size as nats-server does: digits and an optional unit, case
 * insensitive, k m g t p e (powers of 1000) or kb ki kib, mb mi mib, ...
 * (powers of 1024): "64MB", "1k", "1024". 0, NATSD_EINVAL, NATSD_ERANGE. */
int conffile_parse_size(const char *s, int64_t *bytes);

/* Typed getters on a config section, for plugins (through the host table)
 * and the core alike. A NULL section behaves as an empty one. key is a
 * member name, or a libconfig path into nested sections and lists
 * ("users.[0].name"). Each returns 0 and sets *out, NATSD_ENOENT when the
 * key is absent, or NATSD_EINVAL when it has another type or a bad value;
 * *out is written only on success. Strings and sections live as long as
 * the parsed file.
 *
 * int: an integer. bool: true/false. duration: an integer or a float
 * (seconds) or a Go duration string, in ns. size: an integer (bytes) or a
 * size string. list_len/list_string: an array or list of strings; a single
 * string counts as a list of one. section: a group. where: the file and
 * line of key, or of the section itself when key is NULL. */
int conffile_cfg_string(const struct natsd_cfg *c, const char *key,
			const char **out);
int conffile_cfg_int(const struct natsd_cfg *c, const char *key, int64_t *out);
int conffile_cfg_bool(const struct natsd_cfg *c, const char *key, bool *out);
int conffile_cfg_duration(const struct natsd_cfg *c, const char *key,
			  int64_t *ns);
int conffile_cfg_size(const struct natsd_cfg *c, const char *key,
		      int64_t *bytes);
int conffile_cfg_list_len(const struct natsd_cfg *c, const char *key,
			  size_t *n);
int conffile_cfg_list_string(const struct natsd_cfg *c, const char *key,
			     size_t i, const char **out);
int conffile_cfg_section(const struct natsd_cfg *c, const char *key,
			 const struct natsd_cfg **out);
int conffile_cfg_key_at(const struct natsd_cfg *c, size_t i, const char **name);
int conffile_cfg_where(const struct natsd_cfg *c, const char *key,
		       const char **file, int *line);
/* ABI 1.1: a list of groups, its length and its i-th group. */
int conffile_cfg_sections_len(const struct natsd_cfg *c, const char *key,
			      size_t *n);
int conffile_cfg_sections_at(const struct natsd_cfg *c, const char *key,
			     size_t i, const struct natsd_cfg **out);

/* The root section of the file o was loaded from (NULL when none), for
 * core modules that read sections of their own. */
const struct natsd_cfg *conffile_root(const struct opts *o);

/* A section made from libconfig text (settings the command line gives a
 * plugin): 0 with *root and *owner, to be released with
 * conffile_text_free(), or a negative code with a line in err. */
int conffile_from_text(const char *text, void **owner,
		       const struct natsd_cfg **root, char *err, size_t errlen);
void conffile_text_free(void *owner);

#endif
