/* The config file: libconfig syntax, nats-server's key names.
 *
 * The file is parsed by libconfig; a table maps each top-level key to the
 * field of struct opts it sets and the kind of value it takes, and the
 * blocks (authorization, plugins) have their own readers. Keys compare
 * without case, as in nats-server. The first problem stops loading with
 * "FILE:LINE: what is wrong": a server that starts with a setting silently
 * ignored is worse than one that does not start.
 *
 * The parsed libconfig tree is kept for as long as the options are (opts
 * owns it), because plugins read their settings sections from it at any
 * time through struct natsd_cfg, a thin wrapper around a group. Wrappers
 * for every group are made while loading and hung on the group's hook, so
 * that the getters never allocate and are safe from any thread.
 *
 * Values:
 *   duration  an integer or float (seconds) or a Go duration string
 *             ("2m", "1h30m", "500ms")
 *   size      an integer (bytes) or a string with units ("64MB", "1k")
 *   list      an array or list of strings; a single string is a list of one
 *   permissions (nats-server's shapes)
 *             publish = "a.>";  publish = ["a", "b"];
 *             publish = { allow = ["a"]; deny = "b"; };
 *             allow_responses = true;  or { max = 5; expires = "1m"; };
 *   plugins   ( { load = "auth_x"; settings = { ... }; }, "other" )
 * libconfig has no array of groups: authorization.users and plugins are
 * lists, "( {...}, {...} )".
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libconfig.h>

#include <natsd/error.h>

#include "conffile.h"
#include "nkey.h"
#include "natsconf.h"
#include "natsconf_opts.h"
#include "opts.h"

/* A file name as libconfig records it, and as we show it. */
struct conffile_name {
	const char *raw;
	char *shown;
};

/* The parsed file, owned by struct opts (conf/conf_free). */
struct conffile {
	config_t lc;
	char *path;
	char *dir; /* include directory; NULL when path has no '/' */
	struct conffile_name *names;
	size_t nnames;
	bool text; /* made from text: no file, no lines to show */
};

/* A section of either format: a libconfig group (s, f), or a map of a
 * nats-server file (m, read by natsconf_opts.c). */
struct natsd_cfg {
	config_setting_t *s; /* a group */
	const struct conffile *f;
	const struct natsconf_value *m;
};

struct natsd_cfg *conffile_cfg_wrap(const struct natsconf_value *map)
{
	struct natsd_cfg *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->m = map;
	return c;
}

struct loader {
	struct conffile *f;
	struct opts *o;
	char *err;
	size_t errlen;
};

/* ------------------------------------------------------------------ */
/* Durations and sizes                                                 */

struct unit {
	const char *name;
	uint64_t mult;
};

static const struct unit duration_units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000ULL }, /* U+03BC Greek mu */
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
};

static int duration_unit(const char *u, size_t len, uint64_t *mult)
{
	size_t i;

	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]);
	     i++) {
		if (strlen(duration_units[i].name) == len &&
		    memcmp(duration_units[i].name, u, len) == 0) {
			*mult = duration_units[i].mult;
			return 0;
		}
	}
	return NATSD_EINVAL;
}

/* One "<number><unit>" element of a duration, added to *total. */
static int duration_elem(const char **pp, uint64_t *total)
{
	const uint64_t lim = 1ULL << 63;
	const char *p = *pp, *u;
	uint64_t v = 0, frac = 0, mult;
	double scale = 1;
	bool digits = false;

	for (; isdigit((unsigned char)*p); p++) {
		if (v > (lim - (uint64_t)(*p - '0')) / 10)
			return NATSD_ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
		digits = true;
	}
	if (*p == '.') {
		/* Digits beyond what a uint64 holds add nothing measurable;
		 * Go drops them the same way. */
		for (p++; isdigit((unsigned char)*p); p++) {
			if (frac <= (UINT64_MAX - 9) / 10 && scale < 1e19) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
			digits = true;
		}
	}
	if (!digits)
		return NATSD_EINVAL;
	for (u = p; *p != '\0' && *p != '.' && !isdigit((unsigned char)*p);
	     p++)
		;
	if (p == u || duration_unit(u, (size_t)(p - u), &mult) != 0)
		return NATSD_EINVAL;
	if (v > lim / mult)
		return NATSD_ERANGE;
	v *= mult;
	if (frac > 0) {
		v += (uint64_t)((double)frac * ((double)mult / scale));
		if (v > lim)
			return NATSD_ERANGE;
	}
	if (*total > lim - v)
		return NATSD_ERANGE;
	*total += v;
	*pp = p;
	return 0;
}

int conffile_parse_duration(const char *s, int64_t *ns)
{
	const char *p = s;
	uint64_t total = 0;
	bool neg = false;
	int rc;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*p == '\0')
		return NATSD_EINVAL;
	while (*p != '\0') {
		rc = duration_elem(&p, &total);
		if (rc != 0)
			return rc;
	}
	if (neg) {
		*ns = total == (1ULL << 63) ? INT64_MIN : -(int64_t)total;
		return 0;
	}
	if (total > INT64_MAX)
		return NATSD_ERANGE;
	*ns = (int64_t)total;
	return 0;
}

static const struct unit size_units[] = {
	{ "", 1ULL },
	{ "k", 1000ULL },
	{ "kb", 1ULL << 10 },
	{ "ki", 1ULL << 10 },
	{ "kib", 1ULL << 10 },
	{ "m", 1000000ULL },
	{ "mb", 1ULL << 20 },
	{ "mi", 1ULL << 20 },
	{ "mib", 1ULL << 20 },
	{ "g", 1000000000ULL },
	{ "gb", 1ULL << 30 },
	{ "gi", 1ULL << 30 },
	{ "gib", 1ULL << 30 },
	{ "t", 1000000000000ULL },
	{ "tb", 1ULL << 40 },
	{ "ti", 1ULL << 40 },
	{ "tib", 1ULL << 40 },
	{ "p", 1000000000000000ULL },
	{ "pb", 1ULL << 50 },
	{ "pi", 1ULL << 50 },
	{ "pib", 1ULL << 50 },
	{ "e", 1000000000000000000ULL },
	{ "eb", 1ULL << 60 },
	{ "ei", 1ULL << 60 },
	{ "eib", 1ULL << 60 },
};

int conffile_parse_size(const char *s, int64_t *bytes)
{
	const char *p = s;
	uint64_t v = 0;
	size_t i;

	if (!isdigit((unsigned char)*p))
		return NATSD_EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(*p - '0')) / 10)
			return NATSD_ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcasecmp(p, size_units[i].name) != 0)
			continue;
		if (v > (uint64_t)INT64_MAX / size_units[i].mult)
			return NATSD_ERANGE;
		*bytes = (int64_t)(v * size_units[i].mult);
		return 0;
	}
	return NATSD_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Values, shared by the loader and the getters                        */

static bool is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

/* Seconds as a number, or a Go duration string, in ns. */
static int value_duration(const config_setting_t *s, int64_t *ns)
{
	long long v;
	double f;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		if (v > INT64_MAX / OPTS_NS_PER_SEC ||
		    v < INT64_MIN / OPTS_NS_PER_SEC)
			return NATSD_ERANGE;
		*ns = (int64_t)v * OPTS_NS_PER_SEC;
		return 0;
	case CONFIG_TYPE_FLOAT:
		f = config_setting_get_float(s) * 1e9;
		if (!isfinite(f) || f >= 9.2e18 || f <= -9.2e18)
			return NATSD_ERANGE;
		*ns = (int64_t)f;
		return 0;
	case CONFIG_TYPE_STRING:
		return conffile_parse_duration(config_setting_get_string(s),
					       ns);
	default:
		return NATSD_EINVAL;
	}
}

/* Bytes as an integer, or a size string. Never negative. */
static int value_size(const config_setting_t *s, int64_t *bytes)
{
	long long v;

	if (is_int(s)) {
		v = config_setting_get_int64(s);
		if (v < 0)
			return NATSD_ERANGE;
		*bytes = v;
		return 0;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return conffile_parse_size(config_setting_get_string(s), bytes);
	return NATSD_EINVAL;
}

/* Is s a string, or an array or list of strings? */
static bool is_string_list(const config_setting_t *s)
{
	int i, n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return true;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return false;
	n = config_setting_length(s);
	for (i = 0; i < n; i++)
		if (config_setting_type(config_setting_get_elem(s, i)) !=
		    CONFIG_TYPE_STRING)
			return false;
	return true;
}

static size_t string_list_len(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return 1;
	return (size_t)config_setting_length(s);
}

static const char *string_list_at(const config_setting_t *s, size_t i)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return config_setting_get_string(s);
	return config_setting_get_string(
		config_setting_get_elem(s, (unsigned int)i));
}

/* ------------------------------------------------------------------ */
/* The parsed file                                                     */

static const char *shown_name(const struct conffile *f, const char *raw)
{
	size_t i;

	if (raw == NULL)
		return f->path;
	for (i = 0; i < f->nnames; i++)
		if (f->names[i].raw == raw || strcmp(f->names[i].raw, raw) == 0)
			return f->names[i].shown;
	return raw;
}

/* Records how to show a file name libconfig reports: the main file as it
 * was given, an included one joined to the include directory, which is
 * where libconfig found it. */
static int intern_name(struct conffile *f, const char *raw)
{
	struct conffile_name *names;
	size_t i, len;
	char *shown;

	if (raw == NULL)
		return 0;
	for (i = 0; i < f->nnames; i++)
		if (f->names[i].raw == raw || strcmp(f->names[i].raw, raw) == 0)
			return 0;
	if (f->dir == NULL || raw[0] == '/' || strcmp(raw, f->path) == 0) {
		shown = strdup(raw);
	} else {
		len = strlen(f->dir) + 1 + strlen(raw) + 1;
		shown = malloc(len);
		if (shown != NULL)
			snprintf(shown, len, "%s/%s", f->dir, raw);
	}
	if (shown == NULL)
		return NATSD_ENOMEM;
	names = realloc(f->names, (f->nnames + 1) * sizeof(*names));
	if (names == NULL) {
		free(shown);
		return NATSD_ENOMEM;
	}
	names[f->nnames].raw = raw;
	names[f->nnames].shown = shown;
	f->names = names;
	f->nnames++;
	return 0;
}

/* Interns every file name and hangs a struct natsd_cfg on every group.
 * The depth is bounded by libconfig's own (recursive) parser. */
static int prepare_tree(struct conffile *f, config_setting_t *s)
{
	struct natsd_cfg *c;
	int i, n, rc;

	rc = intern_name(f, config_setting_source_file(s));
	if (rc != 0)
		return rc;
	if (config_setting_is_group(s)) {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return NATSD_ENOMEM;
		c->s = s;
		c->f = f;
		config_setting_set_hook(s, c);
	}
	if (!config_setting_is_aggregate(s))
		return 0;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = prepare_tree(f, config_setting_get_elem(s, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void conffile_free(void *arg)
{
	struct conffile *f = arg;
	size_t i;

	if (f == NULL)
		return;
	/* Frees the natsd_cfg hooks through the destructor. */
	config_destroy(&f->lc);
	for (i = 0; i < f->nnames; i++)
		free(f->names[i].shown);
	free(f->names);
	free(f->path);
	free(f->dir);
	free(f);
}

static void hook_free(void *hook)
{
	free(hook);
}

static struct conffile *conffile_new(const char *path)
{
	struct conffile *f;
	const char *slash;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	config_init(&f->lc);
	config_set_destructor(&f->lc, hook_free);
	f->path = strdup(path);
	if (f->path == NULL)
		goto out_free;
	slash = strrchr(path, '/');
	if (slash != NULL) {
		f->dir = slash == path ? strdup("/")
				       : strndup(path, (size_t)(slash - path));
		if (f->dir == NULL)
			goto out_free;
		config_set_include_dir(&f->lc, f->dir);
	}
	return f;

out_free:
	conffile_free(f);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/* The libconfig path of s, "authorization.users.[1].permissions", for
 * messages (the same path conffile_cfg_*() take). */
static void setting_label(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[16];
	size_t n = 0, off = 0;
	const config_setting_t *c;
	int w;

	for (; s != NULL && !config_setting_is_root(s) && n < 16;
	     s = config_setting_parent(s))
		chain[n++] = s;
	buf[0] = '\0';
	while (n-- > 0 && off < len) {
		c = chain[n];
		if (config_setting_name(c) != NULL)
			w = snprintf(buf + off, len - off, "%s%s",
				     off > 0 ? "." : "",
				     config_setting_name(c));
		else
			w = snprintf(buf + off, len - off, "%s[%d]",
				     off > 0 ? "." : "",
				     config_setting_index(c));
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static int lerr(struct loader *l, const config_setting_t *s, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

/* Writes "FILE:LINE: <message>" about setting s and returns NATSD_EINVAL. */
static int lerr(struct loader *l, const config_setting_t *s, const char *fmt,
		...)
{
	va_list ap;
	int n;

	if (l->errlen == 0)
		return NATSD_EINVAL;
	n = snprintf(l->err, l->errlen, "%s:%u: ",
		     shown_name(l->f, config_setting_source_file(s)),
		     config_setting_source_line(s));
	if (n < 0 || (size_t)n >= l->errlen)
		return NATSD_EINVAL;
	va_start(ap, fmt);
	vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return NATSD_EINVAL;
}

static int nomem(struct loader *l)
{
	snprintf(l->err, l->errlen, "%s: out of memory", l->f->path);
	return NATSD_ENOMEM;
}

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

static int wrong_type(struct loader *l, const config_setting_t *s,
		      const char *expected)
{
	char key[256];

	setting_label(s, key, sizeof(key));
	return lerr(l, s, "%s: expected %s, not %s", key, expected,
		    type_name(s));
}

static int unknown_key(struct loader *l, const config_setting_t *s)
{
	char parent[256];

	setting_label(config_setting_parent(s), parent, sizeof(parent));
	if (parent[0] == '\0')
		return lerr(l, s, "unknown key \"%s\"", config_setting_name(s));
	return lerr(l, s, "unknown key \"%s\" in %s", config_setting_name(s),
		    parent);
}

/* ------------------------------------------------------------------ */
/* Readers: check the type and range, report with file and line        */

static int read_str(struct loader *l, const config_setting_t *s, char **dst)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return wrong_type(l, s, "a string");
	if (opts_set_str(dst, config_setting_get_string(s)) != 0)
		return nomem(l);
	return 0;
}

static int read_bool(struct loader *l, const config_setting_t *s, bool *dst)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return wrong_type(l, s, "a boolean (true or false)");
	*dst = config_setting_get_bool(s) != 0;
	return 0;
}

static int out_of_range(struct loader *l, const config_setting_t *s,
			long long v, int64_t min, int64_t max)
{
	char key[256];

	setting_label(s, key, sizeof(key));
	return lerr(l, s, "%s: %lld is out of range (%lld..%lld)", key, v,
		    (long long)min, (long long)max);
}

static int read_int(struct loader *l, const config_setting_t *s, int64_t min,
		    int64_t max, int64_t *dst)
{
	long long v;

	if (!is_int(s))
		return wrong_type(l, s, "an integer");
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return out_of_range(l, s, v, min, max);
	*dst = v;
	return 0;
}

static int read_duration(struct loader *l, const config_setting_t *s,
			 int64_t *dst)
{
	char key[256];
	int rc;

	if (!is_int(s) && config_setting_type(s) != CONFIG_TYPE_FLOAT &&
	    config_setting_type(s) != CONFIG_TYPE_STRING)
		return wrong_type(l, s, "a duration (seconds, or a string "
				  "like \"2m\")");
	rc = value_duration(s, dst);
	if (rc == 0)
		return 0;
	setting_label(s, key, sizeof(key));
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return lerr(l, s, "%s: invalid duration \"%s\" (expected e.g. "
			    "\"2m\", \"10s\", \"1h30m\", \"500ms\")", key,
			    config_setting_get_string(s));
	return lerr(l, s, "%s: duration is out of range", key);
}

/* A duration that must not be negative. */
static int read_nonneg_duration(struct loader *l, const config_setting_t *s,
				int64_t *dst)
{
	char key[256];
	int rc;

	rc = read_duration(l, s, dst);
	if (rc != 0 || *dst >= 0)
		return rc;
	setting_label(s, key, sizeof(key));
	return lerr(l, s, "%s must not be negative", key);
}

static int read_size(struct loader *l, const config_setting_t *s,
		     int64_t *dst)
{
	char key[256];
	int rc;

	if (!is_int(s) && config_setting_type(s) != CONFIG_TYPE_STRING)
		return wrong_type(l, s, "a size (bytes, or a string like "
				  "\"64MB\")");
	rc = value_size(s, dst);
	if (rc == 0)
		return 0;
	setting_label(s, key, sizeof(key));
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return lerr(l, s, "%s: invalid size \"%s\" (expected e.g. "
			    "\"1024\", \"64KB\", \"8MB\", \"1GB\")", key,
			    config_setting_get_string(s));
	return lerr(l, s, "%s: size must not be negative", key);
}

/* Replaces *list with the strings of s (a string, array or list). */
static int read_strlist(struct loader *l, const config_setting_t *s,
			struct opts_strlist *list)
{
	size_t i, n;

	if (!is_string_list(s))
		return wrong_type(l, s, "a string or a list of strings");
	opts_strlist_clear(list);
	n = string_list_len(s);
	for (i = 0; i < n; i++)
		if (opts_strlist_add(list, string_list_at(s, i)) != 0)
			return nomem(l);
	list->set = true;
	return 0;
}

static int set_where(struct loader *l, const config_setting_t *s,
		     struct opts_where *w)
{
	if (opts_set_str(&w->file, shown_name(l->f,
					      config_setting_source_file(s))) !=
	    0)
		return nomem(l);
	w->line = (int)config_setting_source_line(s);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Subjects (nats-server's IsValidSubject)                             */

static bool subject_valid(const char *s, size_t len)
{
	size_t i, start = 0;
	bool full_wc = false;

	if (len == 0)
		return false;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		/* A token: s[start, i). '>' must be the last one. */
		if (i == start || full_wc)
			return false;
		if (i - start == 1) {
			if (s[start] == '>')
				full_wc = true;
			else if (isspace((unsigned char)s[start]))
				return false;
		} else if (memchr(s + start, ' ', i - start) != NULL ||
			   memchr(s + start, '\t', i - start) != NULL ||
			   memchr(s + start, '\n', i - start) != NULL ||
			   memchr(s + start, '\r', i - start) != NULL ||
			   memchr(s + start, '\f', i - start) != NULL) {
			return false;
		}
		start = i + 1;
	}
	return true;
}

/* A subscribe entry is "subject" or "subject queue". */
static bool sub_entry_valid(const char *s)
{
	const char *sp, *q;
	size_t qlen;

	sp = strchr(s, ' ');
	if (sp == NULL)
		return subject_valid(s, strlen(s));
	if (!subject_valid(s, (size_t)(sp - s)))
		return false;
	for (q = sp; *q == ' '; q++)
		;
	qlen = strcspn(q, " \t\r\n\f");
	if (qlen == 0)
		return false;
	for (sp = q + qlen; *sp == ' '; sp++)
		;
	return *sp == '\0';
}

/* ------------------------------------------------------------------ */
/* Permissions                                                         */

static int read_subjects(struct loader *l, const config_setting_t *s,
			 bool sub, struct opts_strlist *list)
{
	const char *subj;
	size_t i, n;
	bool ok;
	int rc;

	if (!is_string_list(s))
		return wrong_type(l, s, "a subject or a list of subjects");
	n = string_list_len(s);
	for (i = 0; i < n; i++) {
		subj = string_list_at(s, i);
		ok = sub ? sub_entry_valid(subj)
			 : subject_valid(subj, strlen(subj));
		if (!ok)
			return lerr(l, s, "subject \"%s\" is not a valid "
				    "subject", subj);
	}
	rc = read_strlist(l, s, list);
	return rc;
}

/* publish/subscribe: subjects (allow), or { allow, deny }. */
static int read_subject_perm(struct loader *l, const config_setting_t *s,
			     bool sub, struct opts_strlist *allow,
			     struct opts_strlist *deny)
{
	const config_setting_t *m;
	const char *name;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return read_subjects(l, s, sub, allow);
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, (unsigned int)i);
		name = config_setting_name(m);
		if (strcasecmp(name, "allow") == 0)
			rc = read_subjects(l, m, sub, allow);
		else if (strcasecmp(name, "deny") == 0)
			rc = read_subjects(l, m, sub, deny);
		else
			rc = lerr(l, m, "unknown key \"%s\" in subject "
				  "permissions, only 'allow' or 'deny' are "
				  "permitted", name);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* allow_responses = true | false | { max = N; expires = "1m"; }. 0 means
 * the default; a negative value means no limit. */
static int read_responses(struct loader *l, const config_setting_t *s,
			  struct opts_perms *p)
{
	const config_setting_t *m;
	const char *name;
	int64_t v;
	int i, n, rc;

	p->resp_max = OPTS_DEFAULT_RESP_MAX;
	p->resp_expires = OPTS_DEFAULT_RESP_EXPIRES;
	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		p->has_resp = config_setting_get_bool(s) != 0;
		return 0;
	}
	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a boolean or a group");
	p->has_resp = true;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, (unsigned int)i);
		name = config_setting_name(m);
		if (strcasecmp(name, "max") == 0 ||
		    strcasecmp(name, "max_msgs") == 0 ||
		    strcasecmp(name, "max_messages") == 0 ||
		    strcasecmp(name, "max_responses") == 0) {
			rc = read_int(l, m, INT_MIN, INT_MAX, &v);
			if (rc == 0 && v != 0)
				p->resp_max = v < 0 ? -1 : v;
		} else if (strcasecmp(name, "expires") == 0 ||
			   strcasecmp(name, "expiration") == 0 ||
			   strcasecmp(name, "ttl") == 0) {
			rc = read_duration(l, m, &v);
			if (rc == 0 && v != 0)
				p->resp_expires = v < 0 ? -1 : v;
		} else {
			rc = unknown_key(l, m);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_perms_member(struct loader *l, const config_setting_t *m,
			     struct opts_perms *p)
{
	const char *name = config_setting_name(m);

	if (strcasecmp(name, "publish") == 0 ||
	    strcasecmp(name, "pub") == 0 || strcasecmp(name, "import") == 0)
		return read_subject_perm(l, m, false, &p->pub_allow,
					 &p->pub_deny);
	if (strcasecmp(name, "subscribe") == 0 ||
	    strcasecmp(name, "sub") == 0 || strcasecmp(name, "export") == 0)
		return read_subject_perm(l, m, true, &p->sub_allow,
					 &p->sub_deny);
	if (strcasecmp(name, "allow_responses") == 0 ||
	    strcasecmp(name, "allow_response") == 0 ||
	    strcasecmp(name, "publish_allow_responses") == 0)
		return read_responses(l, m, p);
	return unknown_key(l, m);
}

/* Replaces *out with the permissions in group s. */
static int read_perms(struct loader *l, const config_setting_t *s,
		      struct opts_perms **out)
{
	struct opts_perms *p;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	p = opts_perms_new();
	if (p == NULL)
		return nomem(l);
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = read_perms_member(l, config_setting_get_elem(s, i), p);
		if (rc != 0) {
			opts_perms_free(p);
			return rc;
		}
	}
	opts_perms_free(*out);
	*out = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* authorization { ... }                                               */

static const char *const conn_types[] = {
	"STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS",
};

static int read_conn_types(struct loader *l, const config_setting_t *s,
			   struct opts_strlist *list)
{
	size_t i, j, n;
	const char *t;

	if (!is_string_list(s))
		return wrong_type(l, s, "a list of connection types");
	n = string_list_len(s);
	for (i = 0; i < n; i++) {
		t = string_list_at(s, i);
		for (j = 0; j < sizeof(conn_types) / sizeof(conn_types[0]); j++)
			if (strcasecmp(t, conn_types[j]) == 0)
				break;
		if (j == sizeof(conn_types) / sizeof(conn_types[0]))
			return lerr(l, s, "invalid connection type \"%s\" "
				    "(expected STANDARD, WEBSOCKET, LEAFNODE, "
				    "LEAFNODE_WS, MQTT or MQTT_WS)", t);
	}
	return read_strlist(l, s, list);
}

/* nkey = "U...": a user's public nkey, checked by the auth_nkey plugin. */
static int read_nkey(struct loader *l, const config_setting_t *m,
		     struct opts_user *u)
{
	unsigned char key[32];
	int rc;

	rc = read_str(l, m, &u->nkey);
	if (rc != 0)
		return rc;
	if (nkey_decode_public(NKEY_USER, u->nkey, key) != 0)
		return lerr(l, m, "Not a valid public nkey for a user");
	return 0;
}

static int read_user_member(struct loader *l, const config_setting_t *m,
			    struct opts_user *u)
{
	const char *name = config_setting_name(m);

	if (strcasecmp(name, "user") == 0 || strcasecmp(name, "username") == 0)
		return read_str(l, m, &u->user);
	if (strcasecmp(name, "password") == 0 || strcasecmp(name, "pass") == 0)
		return read_str(l, m, &u->password);
	if (strcasecmp(name, "account") == 0)
		return read_str(l, m, &u->account);
	if (strcasecmp(name, "permissions") == 0 ||
	    strcasecmp(name, "permission") == 0 ||
	    strcasecmp(name, "authorization") == 0)
		return read_perms(l, m, &u->perms);
	if (strcasecmp(name, "allowed_connection_types") == 0 ||
	    strcasecmp(name, "connection_types") == 0 ||
	    strcasecmp(name, "clients") == 0)
		return read_conn_types(l, m, &u->conn_types);
	if (strcasecmp(name, "nkey") == 0)
		return read_nkey(l, m, u);
	return unknown_key(l, m);
}

/* An nkey entry (the last of the users so far), as nats-server has it:
 * no name or password, each key once. */
static int check_nkey_user(struct loader *l, const config_setting_t *s,
			   const struct opts_user *u)
{
	size_t i;

	if (u->user != NULL || u->password != NULL)
		return lerr(l, s,
			    "Nkey users do not take usernames or "
			    "passwords");
	for (i = 0; i + 1 < l->o->nusers; i++)
		if (l->o->users[i].nkey != NULL &&
		    strcmp(l->o->users[i].nkey, u->nkey) == 0)
			return lerr(l, s, "Duplicate nkey \"%s\" detected",
				    u->nkey);
	l->o->nnkey_users++;
	return 0;
}

static int read_user(struct loader *l, const config_setting_t *s)
{
	struct opts_user *u;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	u = opts_user_add(l->o);
	if (u == NULL)
		return nomem(l);
	u->line = (int)config_setting_source_line(s);
	if (opts_set_str(&u->file, shown_name(l->f,
					      config_setting_source_file(s))) !=
	    0)
		return nomem(l);
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = read_user_member(l, config_setting_get_elem(s, i), u);
		if (rc != 0)
			return rc;
	}
	if (u->nkey != NULL)
		return check_nkey_user(l, s, u);
	if (u->user == NULL || u->user[0] == '\0')
		return lerr(l, s, "user entry requires a user");
	/* u is the last entry: look for its name among the others. */
	for (i = 0; (size_t)i + 1 < l->o->nusers; i++)
		if (l->o->users[i].user != NULL &&
		    strcmp(l->o->users[i].user, u->user) == 0)
			return lerr(l, s, "duplicate user \"%s\" detected",
				    u->user);
	return 0;
}

static int read_users(struct loader *l, const config_setting_t *s)
{
	int i, n, rc;

	/* An empty array is how libconfig spells an empty list too. */
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0))
		return wrong_type(l, s, "a list of groups, ( { ... }, ... )");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = read_user(l, config_setting_get_elem(s, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_auth_timeout(struct loader *l, const config_setting_t *s)
{
	int64_t v;
	int rc;

	rc = read_nonneg_duration(l, s, &v);
	if (rc != 0)
		return rc;
	/* As in nats-server, 0 means the default. */
	l->o->auth_timeout = v == 0 ? OPTS_DEFAULT_AUTH_TIMEOUT : v;
	l->o->auth_timeout_set = v != 0;
	return 0;
}

static int read_auth_member(struct loader *l, const config_setting_t *m)
{
	const char *name = config_setting_name(m);
	struct opts *o = l->o;

	if (strcasecmp(name, "user") == 0 || strcasecmp(name, "username") == 0)
		return read_str(l, m, &o->user);
	if (strcasecmp(name, "password") == 0 || strcasecmp(name, "pass") == 0)
		return read_str(l, m, &o->password);
	if (strcasecmp(name, "token") == 0)
		return read_str(l, m, &o->token);
	if (strcasecmp(name, "timeout") == 0)
		return read_auth_timeout(l, m);
	if (strcasecmp(name, "users") == 0)
		return read_users(l, m);
	if (strcasecmp(name, "default_permissions") == 0 ||
	    strcasecmp(name, "default_permission") == 0 ||
	    strcasecmp(name, "permissions") == 0)
		return read_perms(l, m, &o->default_permissions);
	if (strcasecmp(name, "auth_callout") == 0 ||
	    strcasecmp(name, "auth_hook") == 0)
		return lerr(l, m, "\"%s\" is not supported yet", name);
	return unknown_key(l, m);
}

/* Lower-cases the key names of s and all below it. Keys compare without
 * case, as in nats-server; the auth_nkey plugin, which reads this section
 * through the cfg_* getters, looks keys up by name, so the section must
 * have one spelling: `Permissions` ignored there would let a user do
 * anything. libconfig's setting struct is public and owns its name. */
static void lower_names(config_setting_t *s)
{
	char *p;
	int i, n;

	for (p = s->name; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!config_setting_is_aggregate(s))
		return;
	n = config_setting_length(s);
	for (i = 0; i < n; i++)
		lower_names(config_setting_get_elem(s, (unsigned int)i));
}

static int read_authorization(struct loader *l, const config_setting_t *s)
{
	struct opts *o = l->o;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	lower_names((config_setting_t *)s);
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = read_auth_member(l, config_setting_get_elem(s, i));
		if (rc != 0)
			return rc;
	}
	if ((o->user != NULL || o->password != NULL) && o->nusers > 0)
		return lerr(l, s, "can not have a single user/pass and a "
			    "users array");
	if (o->token != NULL && o->nusers > 0)
		return lerr(l, s, "can not have a token and a users array");
	if ((o->user != NULL || o->password != NULL) && o->token != NULL)
		return lerr(l, s, "cannot have a user/pass and token");
	return 0;
}

/* ------------------------------------------------------------------ */
/* accounts { NAME = { users, exports, imports, limits }; }            */

/* Records where s is, for messages that come later (opts_validate). */
static int note_where(struct loader *l, const config_setting_t *s, char **file,
		      int *line)
{
	*line = (int)config_setting_source_line(s);
	if (opts_set_str(file,
			 shown_name(l->f, config_setting_source_file(s))) != 0)
		return nomem(l);
	return 0;
}

static int read_subject_str(struct loader *l, const config_setting_t *s,
			    char **dst)
{
	const char *v = config_setting_get_string(s);

	if (v == NULL)
		return wrong_type(l, s, "a subject string");
	if (!subject_valid(v, strlen(v)))
		return lerr(l, s, "invalid subject \"%s\"", v);
	return read_str(l, s, dst);
}

static int read_resp_type(struct loader *l, const config_setting_t *s,
			  struct opts_export *e)
{
	static const char *const names[] = { "singleton", "stream", "chunked" };
	const char *v = config_setting_get_string(s);
	int i;

	if (v == NULL)
		return wrong_type(l, s, "a string");
	for (i = 0; i < 3; i++)
		if (strcasecmp(v, names[i]) == 0) {
			e->resp_type = i;
			return 0;
		}
	return lerr(l, s, "Unknown response type: \"%s\"", v);
}

static int read_export(struct loader *l, const config_setting_t *s,
		       struct opts_account *a)
{
	const config_setting_t *m;
	struct opts_export *e;
	const char *name;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	e = opts_export_add(a);
	if (e == NULL)
		return nomem(l);
	if ((rc = note_where(l, s, &e->file, &e->line)) != 0)
		return rc;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, i);
		name = config_setting_name(m);
		if (strcasecmp(name, "stream") == 0 ||
		    strcasecmp(name, "service") == 0) {
			if (e->subject != NULL)
				return lerr(l, m,
					    "an export is a stream or "
					    "a service, not both");
			e->service = strcasecmp(name, "service") == 0;
			rc = read_subject_str(l, m, &e->subject);
		} else if (strcasecmp(name, "accounts") == 0) {
			rc = read_strlist(l, m, &e->accounts);
		} else if (strcasecmp(name, "response_type") == 0 ||
			   strcasecmp(name, "response") == 0) {
			rc = read_resp_type(l, m, e);
		} else if (strcasecmp(name, "response_threshold") == 0) {
			rc = read_nonneg_duration(l, m, &e->resp_threshold);
		} else {
			rc = unknown_key(l, m);
		}
		if (rc != 0)
			return rc;
	}
	if (e->subject == NULL)
		return lerr(l, s, "export needs a stream or a service subject");
	return 0;
}

/* { account = "A"; subject = "x"; } of an import. */
static int read_import_source(struct loader *l, const config_setting_t *s,
			      struct opts_import *im)
{
	const config_setting_t *m;
	const char *name;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group { account, subject }");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, i);
		name = config_setting_name(m);
		if (strcasecmp(name, "account") == 0)
			rc = read_str(l, m, &im->account);
		else if (strcasecmp(name, "subject") == 0)
			rc = read_subject_str(l, m, &im->subject);
		else
			rc = unknown_key(l, m);
		if (rc != 0)
			return rc;
	}
	if (im->account == NULL || im->subject == NULL)
		return lerr(l, s, "import needs an account and a subject");
	return 0;
}

static int read_import(struct loader *l, const config_setting_t *s,
		       struct opts_account *a)
{
	const config_setting_t *m;
	struct opts_import *im;
	const char *name;
	bool seen = false;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	im = opts_import_add(a);
	if (im == NULL)
		return nomem(l);
	if ((rc = note_where(l, s, &im->file, &im->line)) != 0)
		return rc;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, i);
		name = config_setting_name(m);
		if (strcasecmp(name, "stream") == 0 ||
		    strcasecmp(name, "service") == 0) {
			if (seen)
				return lerr(l, m,
					    "an import is a stream or "
					    "a service, not both");
			seen = true;
			im->service = strcasecmp(name, "service") == 0;
			rc = read_import_source(l, m, im);
		} else if (strcasecmp(name, "prefix") == 0) {
			rc = read_str(l, m, &im->prefix);
		} else if (strcasecmp(name, "to") == 0) {
			rc = read_subject_str(l, m, &im->to);
		} else {
			rc = unknown_key(l, m);
		}
		if (rc != 0)
			return rc;
	}
	if (!seen)
		return lerr(l, s, "import needs a stream or a service");
	if (im->prefix != NULL && im->service)
		return lerr(l, s,
			    "a service import takes \"to\", not "
			    "\"prefix\"");
	if (im->prefix != NULL && im->to != NULL)
		return lerr(l, s,
			    "an import takes \"prefix\" or \"to\", "
			    "not both");
	return 0;
}

static int read_account_list(struct loader *l, const config_setting_t *s,
			     struct opts_account *a,
			     int (*one)(struct loader *,
					const config_setting_t *,
					struct opts_account *))
{
	int i, n, rc;

	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0))
		return wrong_type(l, s, "a list of groups, ( { ... }, ... )");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = one(l, config_setting_get_elem(s, i), a);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_account_limits(struct loader *l, const config_setting_t *s,
			       struct opts_account *a)
{
	const config_setting_t *m;
	const char *name;
	int64_t v;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, i);
		name = config_setting_name(m);
		if (strcasecmp(name, "max_connections") == 0 ||
		    strcasecmp(name, "max_conn") == 0) {
			rc = read_int(l, m, -1, INT_MAX, &v);
			a->max_connections = (int)v;
		} else if (strcasecmp(name, "max_subscriptions") == 0 ||
			   strcasecmp(name, "max_subs") == 0) {
			rc = read_int(l, m, -1, INT_MAX, &v);
			a->max_subscriptions = (int)v;
		} else if (strcasecmp(name, "max_payload") == 0 ||
			   strcasecmp(name, "max_pay") == 0) {
			v = -1; /* -1, as nats-server spells unlimited */
			if (config_setting_type(m) != CONFIG_TYPE_INT ||
			    config_setting_get_int(m) != -1)
				rc = read_size(l, m, &v);
			else
				rc = 0;
			a->max_payload = v;
		} else if (strcasecmp(name, "max_leafnodes") == 0 ||
			   strcasecmp(name, "max_leafs") == 0) {
			rc = read_int(l, m, -1, INT_MAX, &v);
		} else {
			rc = unknown_key(l, m);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_account(struct loader *l, const config_setting_t *s)
{
	const char *aname = config_setting_name(s), *name;
	const config_setting_t *m;
	struct opts_account *a;
	size_t first, u;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	if (opts_account_find(l->o, aname) != NULL)
		return lerr(l, s, "duplicate account \"%s\"", aname);
	a = opts_account_add(l->o);
	if (a == NULL || opts_set_str(&a->name, aname) != 0)
		return nomem(l);
	if ((rc = note_where(l, s, &a->file, &a->line)) != 0)
		return rc;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, i);
		name = config_setting_name(m);
		if (strcasecmp(name, "users") == 0) {
			first = l->o->nusers;
			rc = read_users(l, m);
			for (u = first; rc == 0 && u < l->o->nusers; u++)
				if (opts_set_str(&l->o->users[u].account,
						 aname) != 0)
					rc = nomem(l);
		} else if (strcasecmp(name, "exports") == 0) {
			rc = read_account_list(l, m, a, read_export);
		} else if (strcasecmp(name, "imports") == 0) {
			rc = read_account_list(l, m, a, read_import);
		} else if (strcasecmp(name, "limits") == 0) {
			rc = read_account_limits(l, m, a);
		} else if (strcasecmp(name, "nkey") == 0 ||
			   strcasecmp(name, "jetstream") == 0 ||
			   strcasecmp(name, "mappings") == 0 ||
			   strcasecmp(name, "maps") == 0 ||
			   strcasecmp(name, "default_permissions") == 0) {
			rc = lerr(l, m,
				  "\"%s\" in an account is not "
				  "supported yet",
				  name);
		} else {
			rc = unknown_key(l, m);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_accounts(struct loader *l, const config_setting_t *s)
{
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s,
				  "a group of accounts, { NAME = { ... "
				  "}; }");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = read_account(l, config_setting_get_elem(s, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* plugins, auth_chain, client_transport                               */

static int read_plugin_group(struct loader *l, const config_setting_t *s,
			     struct opts_plugin *p)
{
	const config_setting_t *m;
	const char *name;
	int i, n, rc;

	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, (unsigned int)i);
		name = config_setting_name(m);
		if (strcasecmp(name, "load") == 0) {
			rc = read_str(l, m, &p->load);
		} else if (strcasecmp(name, "settings") == 0) {
			if (!config_setting_is_group(m))
				return wrong_type(l, m, "a group");
			p->settings = config_setting_get_hook(m);
			rc = 0;
		} else {
			rc = unknown_key(l, m);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* { load = "name"; settings = { ... }; } or just "name". */
static int read_plugin(struct loader *l, const config_setting_t *s)
{
	struct opts_plugin *p;
	int rc;

	if (config_setting_type(s) != CONFIG_TYPE_STRING &&
	    !config_setting_is_group(s))
		return wrong_type(l, s, "a group { load = ...; settings = "
				  "{ ... }; } or a plugin name");
	p = opts_plugin_add(l->o);
	if (p == NULL)
		return nomem(l);
	p->line = (int)config_setting_source_line(s);
	if (opts_set_str(&p->file, shown_name(l->f,
					      config_setting_source_file(s))) !=
	    0)
		return nomem(l);
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		rc = read_str(l, s, &p->load);
	else
		rc = read_plugin_group(l, s, p);
	if (rc != 0)
		return rc;
	if (p->load == NULL || p->load[0] == '\0')
		return lerr(l, s, "plugin entry requires load = \"name\"");
	return 0;
}

static int read_plugins(struct loader *l, const config_setting_t *s)
{
	int i, n, rc;

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return wrong_type(l, s, "a list ( { load = ...; }, ... )");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = read_plugin(l, config_setting_get_elem(s, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* operator, trusted_keys, resolver, resolver_preload: the auth_jwt plugin
 * checks and reads them, with the whole file's root as its settings. */
static int read_operator_mode(struct loader *l, const config_setting_t *s)
{
	const config_setting_t *root = s;

	while (config_setting_parent(root) != NULL)
		root = config_setting_parent(root);
	l->o->jwt_settings = config_setting_get_hook(root);
	return 0;
}

static int read_auth_chain(struct loader *l, const config_setting_t *s)
{
	int rc;

	rc = read_strlist(l, s, &l->o->auth_chain);
	if (rc != 0)
		return rc;
	if (l->o->auth_chain.n == 0)
		return lerr(l, s, "auth_chain must name at least one "
			    "authenticator");
	return set_where(l, s, &l->o->auth_chain_at);
}

/* Splits "tcp, tls" into list entries. */
static int split_names(struct loader *l, const char *str,
		       struct opts_strlist *list)
{
	size_t len;
	char *name;
	int rc;

	for (;;) {
		str += strspn(str, ", \t");
		len = strcspn(str, ", \t");
		if (len == 0)
			return 0;
		name = strndup(str, len);
		if (name == NULL)
			return nomem(l);
		rc = opts_strlist_add(list, name);
		free(name);
		if (rc != 0)
			return nomem(l);
		str += len;
	}
}

static int read_client_transport(struct loader *l, const config_setting_t *s)
{
	struct opts_strlist *list = &l->o->client_transport;
	int rc;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		opts_strlist_clear(list);
		rc = split_names(l, config_setting_get_string(s), list);
	} else {
		rc = read_strlist(l, s, list);
	}
	if (rc != 0)
		return rc;
	if (list->n == 0)
		return lerr(l, s, "client_transport must name at least one "
			    "transport");
	return set_where(l, s, &l->o->client_transport_at);
}

/* tls { cert_file = ...; key_file = ...; ... }: the settings of the tls
 * transport plugin, which the server loads and stacks over the client
 * transport when the block is there. The plugin checks the keys. */
static int read_tls(struct loader *l, const config_setting_t *s)
{
	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group { cert_file = ...; ... }");
	l->o->tls = config_setting_get_hook(s);
	return set_where(l, s, &l->o->tls_at);
}

/* allow_non_tls is a top-level key in nats-server, but the tls plugin
 * reads its own section: the key is copied into the tls block. */
static int tls_allow_non_tls(struct loader *l)
{
	config_setting_t *g, *v;

	if (!l->o->tls_allow_non_tls || l->o->tls == NULL)
		return 0;
	g = l->o->tls->s;
	if (config_setting_get_member(g, "allow_non_tls") != NULL)
		return 0;
	v = config_setting_add(g, "allow_non_tls", CONFIG_TYPE_BOOL);
	if (v == NULL || config_setting_set_bool(v, 1) != CONFIG_TRUE)
		return nomem(l);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Addresses and other top-level specials                              */

/* "host:port", "[::1]:4222", ":4222" or a port number. */
static int read_listen(struct loader *l, const config_setting_t *s,
		       char **host, int *port)
{
	const char *str, *colon, *h;
	char *end;
	size_t hlen;
	long p;
	int64_t v;
	int rc;

	if (is_int(s)) {
		rc = read_int(l, s, -1, 65535, &v);
		if (rc == 0)
			*port = (int)v;
		return rc;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return wrong_type(l, s, "\"host:port\" or a port");
	str = config_setting_get_string(s);
	colon = strrchr(str, ':');
	if (colon == NULL)
		return lerr(l, s, "could not parse address string \"%s\"", str);
	h = str;
	hlen = (size_t)(colon - str);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	} else if (memchr(h, ':', hlen) != NULL) {
		return lerr(l, s, "could not parse address string \"%s\" "
			    "(IPv6 addresses go in brackets)", str);
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < -1 ||
	    p > 65535)
		return lerr(l, s, "could not parse port \"%s\"", colon + 1);
	free(*host);
	*host = hlen == 0 ? strdup(OPTS_DEFAULT_HOST) : strndup(h, hlen);
	if (*host == NULL)
		return nomem(l);
	*port = (int)p;
	return 0;
}

static int read_client_listen(struct loader *l, const config_setting_t *s)
{
	int rc = read_listen(l, s, &l->o->host, &l->o->port);

	if (rc == 0 && l->o->port == 0)
		l->o->port = OPTS_DEFAULT_PORT;
	return rc;
}

static int read_http(struct loader *l, const config_setting_t *s)
{
	return read_listen(l, s, &l->o->http_host, &l->o->http_port);
}

static int read_https(struct loader *l, const config_setting_t *s)
{
	return read_listen(l, s, &l->o->http_host, &l->o->https_port);
}

/* true (the default period), false, or a period (0 = off). */
static int read_tcp_keepalive(struct loader *l, const config_setting_t *s)
{
	int64_t v;
	int rc;

	if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
		l->o->tcp_keepalive = config_setting_get_bool(s)
					      ? OPTS_DEFAULT_TCP_KEEPALIVE
					      : 0;
		return 0;
	}
	rc = read_nonneg_duration(l, s, &v);
	if (rc != 0)
		return rc;
	l->o->tcp_keepalive = v;
	return 0;
}

static int read_lame_duck_duration(struct loader *l,
				   const config_setting_t *s)
{
	int64_t v;
	int rc;

	rc = read_duration(l, s, &v);
	if (rc != 0)
		return rc;
	if (v == 0) {
		l->o->lame_duck_duration = OPTS_DEFAULT_LAME_DUCK_DURATION;
		return 0;
	}
	if (v < OPTS_MIN_LAME_DUCK_DURATION)
		return lerr(l, s, "invalid lame_duck_duration, minimum is 30 "
			    "seconds");
	l->o->lame_duck_duration = v;
	return 0;
}

static int read_host(struct loader *l, const config_setting_t *s)
{
	int rc = read_str(l, s, &l->o->host);

	if (rc == 0 && l->o->host[0] == '\0')
		return lerr(l, s, "%s must not be empty",
			    config_setting_name(s));
	return rc;
}

static int read_server_name(struct loader *l, const config_setting_t *s)
{
	int rc = read_str(l, s, &l->o->server_name);

	if (rc == 0 && strchr(l->o->server_name, ' ') != NULL)
		return lerr(l, s, "server_name cannot contain spaces");
	return rc;
}

/* ------------------------------------------------------------------ */
/* websocket { ... }                                                   */

static int read_ws_auth(struct loader *l, const config_setting_t *s)
{
	struct opts_websocket *w = &l->o->websocket;
	const config_setting_t *m;
	const char *name;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, (unsigned int)i);
		name = config_setting_name(m);
		if (strcasecmp(name, "user") == 0 ||
		    strcasecmp(name, "username") == 0)
			rc = read_str(l, m, &w->user);
		else if (strcasecmp(name, "password") == 0 ||
			 strcasecmp(name, "pass") == 0)
			rc = read_str(l, m, &w->password);
		else if (strcasecmp(name, "token") == 0)
			rc = read_str(l, m, &w->token);
		else if (strcasecmp(name, "timeout") == 0)
			rc = read_nonneg_duration(l, m, &w->auth_timeout);
		else
			rc = lerr(l, m, "unknown field \"%s\"", name);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* allowed_origins entries must be URLs with a scheme and a host. */
static int read_ws_origins(struct loader *l, const config_setting_t *s)
{
	struct opts_strlist *list = &l->o->websocket.allowed_origins;
	const char *v, *p;
	size_t i;
	int rc;

	rc = read_strlist(l, s, list);
	for (i = 0; rc == 0 && i < list->n; i++) {
		v = list->v[i];
		p = strstr(v, "://");
		if (p == NULL || p == v || p[3] == '\0' || strchr(v, ' ') ||
		    strchr(v, '%'))
			return lerr(l, s,
				    "unable to parse allowed origin "
				    "\"%s\"",
				    v);
	}
	return rc;
}

/* The tls layer under a websocket serves HTTP: a peer that sends plain
 * HTTP gets nats-server's (Go's) 400 reply. The key is the plugin's. */
static int ws_tls_http(struct loader *l, const config_setting_t *m)
{
	config_setting_t *g = (config_setting_t *)m, *v;

	if (config_setting_get_member(g, "http_server") != NULL)
		return 0;
	v = config_setting_add(g, "http_server", CONFIG_TYPE_BOOL);
	if (v == NULL || config_setting_set_bool(v, 1) != CONFIG_TRUE)
		return nomem(l);
	return 0;
}

static int read_ws_member(struct loader *l, const config_setting_t *m)
{
	struct opts_websocket *w = &l->o->websocket;
	const char *name = config_setting_name(m);
	const char *c;
	int64_t v;
	int rc;

	/* The websocket layer reads this block by exact key names. */
	for (c = name; *c != '\0'; c++)
		if (isupper((unsigned char)*c))
			return lerr(l, m,
				    "websocket: write \"%s\" in lower "
				    "case",
				    name);
	if (strcmp(name, "host") == 0 || strcmp(name, "net") == 0)
		return read_str(l, m, &w->host);
	if (strcmp(name, "port") == 0) {
		rc = read_int(l, m, -1, 65535, &v);
		if (rc == 0)
			w->port = (int)v;
		return rc;
	}
	if (strcmp(name, "listen") == 0)
		return read_listen(l, m, &w->host, &w->port);
	if (strcmp(name, "advertise") == 0 ||
	    strcmp(name, "client_advertise") == 0)
		return read_str(l, m, &w->advertise);
	if (strcmp(name, "no_tls") == 0)
		return read_bool(l, m, &w->no_tls);
	if (strcmp(name, "tls") == 0) {
		if (!config_setting_is_group(m))
			return wrong_type(l, m, "a group");
		w->has_tls = true;
		w->tls = config_setting_get_hook(m);
		return ws_tls_http(l, m);
	}
	if (strcmp(name, "compression") == 0)
		return read_bool(l, m, &w->compression);
	if (strcmp(name, "same_origin") == 0)
		return read_bool(l, m, &w->same_origin);
	if (strcmp(name, "allowed_origins") == 0)
		return read_ws_origins(l, m);
	if (strcmp(name, "handshake_timeout") == 0)
		return read_nonneg_duration(l, m, &w->handshake_timeout);
	if (strcmp(name, "jwt_cookie") == 0)
		return read_str(l, m, &w->jwt_cookie);
	if (strcmp(name, "no_auth_user") == 0)
		return read_str(l, m, &w->no_auth_user);
	if (strcmp(name, "authorization") == 0 ||
	    strcmp(name, "authentication") == 0)
		return read_ws_auth(l, m);
	return lerr(l, m, "unknown field \"%s\"", name);
}

static int read_websocket(struct loader *l, const config_setting_t *s)
{
	struct opts_websocket *w = &l->o->websocket;
	int i, n, rc;

	if (!config_setting_is_group(s))
		return wrong_type(l, s, "a group");
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		rc = read_ws_member(
			l, config_setting_get_elem(s, (unsigned int)i));
		if (rc != 0)
			return rc;
	}
	w->set = true;
	w->cfg = config_setting_get_hook(s);
	if (w->host == NULL && opts_set_str(&w->host, OPTS_DEFAULT_HOST) != 0)
		return nomem(l);
	return set_where(l, s, &w->at);
}

/* ------------------------------------------------------------------ */
/* The top-level key table                                             */

enum key_type {
	KT_STR,	     /* char * */
	KT_BOOL,     /* bool */
	KT_INT,	     /* int, in [min, max] */
	KT_SIZE,     /* int64_t bytes, in [min, max] */
	KT_SIZE_INT, /* int bytes, in [min, max] */
	KT_DUR,	     /* int64_t ns, in [min, max] */
	KT_FN,	     /* fn reads it */
	KT_LATER,    /* a nats-server key natsd does not support yet */
};

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;
	int64_t min, max;
	/* A value of 0 stands for this (nats-server's "0 means the
	 * default"); 0 here when 0 is a value of its own. */
	int64_t zero;
	int (*fn)(struct loader *l, const config_setting_t *s);
};

#define KEY(n, t, f, lo, hi, z) \
	{ (n), (t), offsetof(struct opts, f), (lo), (hi), (z), NULL }
#define KSTR(n, f)  KEY(n, KT_STR, f, 0, 0, 0)
#define KBOOL(n, f) KEY(n, KT_BOOL, f, 0, 0, 0)
#define KFN(n, fn)  { (n), KT_FN, 0, 0, 0, 0, (fn) }
#define KLATER(n)   { (n), KT_LATER, 0, 0, 0, 0, NULL }

static const struct key_def top_keys[] = {
	KFN("listen", read_client_listen),
	KEY("port", KT_INT, port, -1, 65535, OPTS_DEFAULT_PORT),
	KFN("host", read_host),
	KFN("net", read_host),
	KSTR("client_advertise", client_advertise),
	KFN("server_name", read_server_name),
	KSTR("ports_file_dir", ports_file_dir),
	KBOOL("debug", debug),
	KBOOL("trace", trace),
	KBOOL("trace_verbose", trace_verbose),
	KBOOL("logtime", logtime),
	KSTR("logfile", log_file),
	KSTR("log_file", log_file),
	KEY("logfile_size_limit", KT_SIZE, log_size_limit, 0, INT64_MAX, 0),
	KEY("log_size_limit", KT_SIZE, log_size_limit, 0, INT64_MAX, 0),
	KEY("max_traced_msg_len", KT_INT, max_traced_msg_len, 0, INT_MAX, 0),
	KSTR("pidfile", pid_file),
	KSTR("pid_file", pid_file),
	KBOOL("syslog", syslog),
	KSTR("remote_syslog", remote_syslog),
	KSTR("plugin_dir", plugin_dir),
	KEY("io_threads", KT_INT, io_threads, 0, OPTS_MAX_IO_THREADS, 0),
	KEY("max_control_line", KT_SIZE_INT, max_control_line, 0, INT32_MAX,
	    OPTS_DEFAULT_MAX_CONTROL_LINE),
	KEY("max_payload", KT_SIZE, max_payload, 0, INT32_MAX,
	    OPTS_DEFAULT_MAX_PAYLOAD),
	KEY("max_pending", KT_SIZE, max_pending, 0, INT64_MAX,
	    OPTS_DEFAULT_MAX_PENDING),
	KEY("max_connections", KT_INT, max_connections, INT_MIN, INT_MAX,
	    OPTS_DEFAULT_MAX_CONNECTIONS),
	KEY("max_conn", KT_INT, max_connections, INT_MIN, INT_MAX,
	    OPTS_DEFAULT_MAX_CONNECTIONS),
	KEY("max_subscriptions", KT_INT, max_subscriptions, 0, INT_MAX, 0),
	KEY("max_subs", KT_INT, max_subscriptions, 0, INT_MAX, 0),
	KEY("max_sub_tokens", KT_INT, max_sub_tokens, 0, OPTS_MAX_SUB_TOKENS,
	    0),
	KEY("max_subscription_tokens", KT_INT, max_sub_tokens, 0,
	    OPTS_MAX_SUB_TOKENS, 0),
	KBOOL("no_header_support", no_header_support),
	KEY("ping_interval", KT_DUR, ping_interval, 0, INT64_MAX,
	    OPTS_DEFAULT_PING_INTERVAL),
	KEY("ping_max", KT_INT, ping_max, 0, INT_MAX, OPTS_DEFAULT_PING_MAX),
	KEY("write_deadline", KT_DUR, write_deadline, 0, INT64_MAX,
	    OPTS_DEFAULT_WRITE_DEADLINE),
	KFN("tcp_keepalive", read_tcp_keepalive),
	KFN("lame_duck_duration", read_lame_duck_duration),
	KEY("lame_duck_grace_period", KT_DUR, lame_duck_grace_period, 0,
	    INT64_MAX, OPTS_DEFAULT_LAME_DUCK_GRACE),
	KFN("http", read_http),
	KEY("http_port", KT_INT, http_port, -1, 65535, 0),
	KEY("monitor_port", KT_INT, http_port, -1, 65535, 0),
	KFN("https", read_https),
	KEY("https_port", KT_INT, https_port, -1, 65535, 0),
	KSTR("http_base_path", http_base_path),
	KFN("authorization", read_authorization),
	KFN("accounts", read_accounts),
	KSTR("system_account", system_account),
	KSTR("system", system_account),
	KSTR("no_auth_user", no_auth_user),
	KFN("plugins", read_plugins),
	KFN("auth_chain", read_auth_chain),
	KFN("client_transport", read_client_transport),
	KFN("websocket", read_websocket),
	KFN("ws", read_websocket),
	/* Operator mode: auth_jwt reads these from the root. */
	KFN("operator", read_operator_mode),
	KFN("operators", read_operator_mode),
	KFN("trusted", read_operator_mode),
	KFN("trusted_keys", read_operator_mode),
	KFN("resolver", read_operator_mode),
	KFN("resolver_preload", read_operator_mode),
	KFN("resolver_timeout", read_operator_mode),
	KFN("resolver_cache_ttl", read_operator_mode),
	KFN("resolver_pinned_accounts", read_operator_mode),

	KFN("tls", read_tls),
	KBOOL("allow_non_tls", tls_allow_non_tls),
	KLATER("server_tags"),
	KLATER("prof_port"),
	KLATER("ocsp"),
	KLATER("ocsp_cache"),
	KLATER("no_system_account"),
	KLATER("mappings"),
	KLATER("maps"),
	KLATER("disable_sublist_cache"),
	KLATER("no_sublist_cache"),
	KLATER("cluster"),
	KLATER("gateway"),
	KLATER("leafnodes"),
	KLATER("leaf"),
	KLATER("mqtt"),
	KLATER("jetstream"),
	KLATER("store_dir"),
	KLATER("default_js_domain"),
	KLATER("root"),
	KLATER("roots"),
	KLATER("root_operator"),
	KLATER("root_operators"),
	KLATER("account_resolver"),
	KLATER("resolver_tls"),
	KLATER("connect_error_reports"),
	KLATER("reconnect_error_reports"),
	KLATER("max_closed_clients"),
	KLATER("logtime_utc"),
	KLATER("logfile_max_num"),
	KLATER("no_fast_producer_stall"),
	KLATER("proxies"),
	KLATER("proxy_protocol"),
	KLATER("write_timeout"),
	KLATER("server_metadata"),
	KLATER("feature_flags"),
};

/* Reads a KT_INT/KT_SIZE/KT_SIZE_INT/KT_DUR value into an int64. */
static int read_number(struct loader *l, const struct key_def *k,
		       const config_setting_t *s, int64_t *v)
{
	char key[256];
	int rc;

	switch (k->type) {
	case KT_INT:
		return read_int(l, s, k->min, k->max, v);
	case KT_DUR:
		rc = read_duration(l, s, v);
		break;
	default:
		rc = read_size(l, s, v);
		break;
	}
	if (rc != 0)
		return rc;
	if (*v < k->min || *v > k->max) {
		setting_label(s, key, sizeof(key));
		if (*v < 0)
			return lerr(l, s, "%s must not be negative", key);
		return lerr(l, s, "%s value is too big", key);
	}
	return 0;
}

static int read_key(struct loader *l, const struct key_def *k,
		    const config_setting_t *s)
{
	char *field = (char *)l->o + k->off;
	int64_t v;
	int rc;

	switch (k->type) {
	case KT_STR:
		return read_str(l, s, (char **)(void *)field);
	case KT_BOOL:
		return read_bool(l, s, (bool *)(void *)field);
	case KT_FN:
		return k->fn(l, s);
	case KT_LATER:
		return lerr(l, s, "\"%s\" is not supported yet",
			    config_setting_name(s));
	default:
		break;
	}
	rc = read_number(l, k, s, &v);
	if (rc != 0)
		return rc;
	if (v == 0 && k->zero != 0)
		v = k->zero;
	if (k->type == KT_INT || k->type == KT_SIZE_INT)
		*(int *)(void *)field = (int)v;
	else
		*(int64_t *)(void *)field = v;
	return 0;
}

static int read_root(struct loader *l, const config_setting_t *root)
{
	const config_setting_t *s;
	const char *name;
	size_t j;
	int i, n, rc;

	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(root, (unsigned int)i);
		name = config_setting_name(s);
		for (j = 0; j < sizeof(top_keys) / sizeof(top_keys[0]); j++)
			if (strcasecmp(name, top_keys[j].name) == 0)
				break;
		if (j == sizeof(top_keys) / sizeof(top_keys[0]))
			rc = unknown_key(l, s);
		else
			rc = read_key(l, &top_keys[j], s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

/* Parses text, the content of f->path (read once, so that a pipe such as
 * -c <(...) works too). */
static int parse_file(struct conffile *f, const char *text, char *err,
		      size_t errlen)
{
	if (config_read_string(&f->lc, text) == CONFIG_TRUE)
		return 0;
	if (config_error_type(&f->lc) == CONFIG_ERR_FILE_IO) {
		snprintf(err, errlen, "%s: cannot read: %s", f->path,
			 strerror(errno));
		return NATSD_EIO;
	}
	/* The name of an included file is not interned yet: join it to the
	 * include directory here. */
	if (config_error_file(&f->lc) != NULL && f->dir != NULL &&
	    config_error_file(&f->lc)[0] != '/' &&
	    strcmp(config_error_file(&f->lc), f->path) != 0)
		snprintf(err, errlen, "%s/%s:%d: %s", f->dir,
			 config_error_file(&f->lc), config_error_line(&f->lc),
			 config_error_text(&f->lc));
	else
		snprintf(err, errlen, "%s:%d: %s",
			 config_error_file(&f->lc) != NULL
				 ? config_error_file(&f->lc)
				 : f->path,
			 config_error_line(&f->lc), config_error_text(&f->lc));
	return NATSD_EINVAL;
}

/* Reads f, parsed as libconfig, over o. */
static int load_libconfig(struct conffile *f, const char *path, struct opts *o,
			  char *err, size_t errlen)
{
	struct loader l;
	int rc;

	o->config_format = "natsd";
	rc = prepare_tree(f, config_root_setting(&f->lc));
	if (rc != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_free;
	}
	/* From here o owns f, also when a key below is wrong. */
	o->conf = f;
	o->conf_free = conffile_free;
	if (opts_set_str(&o->config_file, path) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NATSD_ENOMEM;
	}
	l.f = f;
	l.o = o;
	l.err = err;
	l.errlen = errlen;
	rc = read_root(&l, config_root_setting(&f->lc));
	if (rc == 0)
		rc = tls_allow_non_tls(&l);
	/* auth_nkey reads nkey users from authorization.users and
	 * accounts.<NAME>.users: it gets the whole file. */
	if (rc == 0 && o->nnkey_users > 0)
		o->nkey_settings =
			config_setting_get_hook(config_root_setting(&f->lc));
	return rc;

out_free:
	conffile_free(f);
	return rc;
}

/* Does the text show libconfig's own syntax: a line starting with
 * @include, or a list opening after '=' or ':'? Only chooses which
 * syntax error to show when neither grammar reads the file. */
/* Does a line start with nats-server's include directive ("include x",
 * which libconfig spells "@include")? Then the file is nats-server's. */
static bool text_has_nats_include(const char *text)
{
	const char *p = text, *q;

	while (*p != '\0') {
		p += strspn(p, " \t");
		if (strncmp(p, "include", 7) == 0 &&
		    (p[7] == ' ' || p[7] == '\t')) {
			q = p + 7 + strspn(p + 7, " \t");
			if (*q != '=' && *q != ':' && *q != '\n' && *q != '\0')
				return true;
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	return false;
}

static bool text_looks_libconfig(const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		p += strspn(p, " \t");
		if (strncmp(p, "@include", 8) == 0)
			return true;
		for (; *p != '\0' && *p != '\n'; p++) {
			if (*p != '=' && *p != ':')
				continue;
			if (p[1 + strspn(p + 1, " \t")] == '(')
				return true;
		}
		if (*p == '\n')
			p++;
	}
	return false;
}

/* Is str what nats-server's reader makes of a libconfig integer in hex
 * or with the L suffix ("0x1F", "10L")? */
static bool libconfig_int(const char *str)
{
	size_t n;

	if (*str == '-' || *str == '+')
		str++;
	if (str[0] == '0' && (str[1] == 'x' || str[1] == 'X')) {
		n = strspn(str + 2, "0123456789abcdefABCDEF");
		return n > 0 && str[2 + n] == '\0';
	}
	n = strspn(str, "0123456789");
	return n > 0 &&
	       (strcmp(str + n, "L") == 0 || strcmp(str + n, "LL") == 0);
}

/* Does the tree hold what nats-server's reader makes of libconfig's own
 * syntax: an "@include" key (the directive), the pieces of a list (a
 * value starting with '(', or ")"), a libconfig hex or L integer? Only a
 * preference: such a file that libconfig does not parse is still read
 * as nats-server's format. */
static bool has_libconfig_marks(const struct natsconf_value *v)
{
	const char *str;
	size_t i;

	switch (natsconf_type(v)) {
	case NATSCONF_STRING:
		str = natsconf_string(v);
		return str[0] == '(' || strcmp(str, ")") == 0 ||
		       libconfig_int(str);
	case NATSCONF_MAP:
		if (natsconf_map_get(v, "@include") != NULL)
			return true;
		for (i = 0; i < natsconf_map_size(v); i++)
			if (has_libconfig_marks(natsconf_map_value(v, i)))
				return true;
		return false;
	case NATSCONF_ARRAY:
		for (i = 0; i < natsconf_array_size(v); i++)
			if (has_libconfig_marks(natsconf_array_get(v, i)))
				return true;
		return false;
	default:
		return false;
	}
}

/* Maps tree over scratch options: 0 when it loads as nats-server's
 * format, else the error in err. Takes tree. */
static int try_natsconf(struct natsconf_value *tree, const char *path,
			char *err, size_t errlen)
{
	struct opts trial;
	int rc;

	rc = opts_init(&trial);
	if (rc == 0)
		rc = natsconf_opts_load(tree, path, &trial, err, errlen);
	else
		natsconf_free(tree);
	opts_fini(&trial);
	return rc;
}

static int load_natsconf(const char *text, const char *path, struct opts *o,
			 char *err, size_t errlen)
{
	struct natsconf_value *tree;
	int rc;

	rc = natsconf_parse_string(text, path, &tree, err, errlen);
	if (rc != 0)
		return rc;
	o->config_format = "nats-server";
	return natsconf_opts_load(tree, path, o, err, errlen);
}

/* Which format a file is in (README, "Config file formats"):
 * 1. it reads as nats-server's format and shows libconfig's own syntax
 *    (has_libconfig_marks()): natsd's format if libconfig parses it,
 *    else nats-server's if it loads as that, else libconfig's error;
 * 2. else it loads as nats-server's format: that format;
 * 3. else, unless a line starts with nats-server's "include x", it
 *    parses as libconfig: natsd's format, with its errors;
 * 4. else the error of the nats-server reader, or libconfig's syntax
 *    error when the text shows libconfig's syntax
 *    (text_looks_libconfig()).
 * Loading as nats-server's format is tried on scratch options so that a
 * failed try leaves o untouched. libconfig's parser runs only when
 * needed: libconfig 1.5 leaks on some syntax errors ("key \"value\"",
 * common in nats-server files). */
int conffile_load(const char *path, struct opts *o, char *err, size_t errlen)
{
	struct natsconf_value *tree;
	struct conffile *f;
	char nerr[1024];
	struct stat st;
	bool nats_grammar, marks = false;
	int rc, lrc, errnum = 0;
	char *text;

	if (o->conf != NULL) {
		snprintf(err, errlen, "%s: options already hold a config file",
			 path);
		return NATSD_EEXIST;
	}
	/* Both readers would say it less clearly. */
	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NATSD_EIO;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", path);
		return NATSD_EIO;
	}
	text = natsconf_read_file(path, &errnum);
	if (text == NULL) {
		if (errnum == ENOMEM)
			goto nomem;
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 natsconf_read_error(errnum));
		return errnum == EINVAL ? NATSD_EINVAL : NATSD_EIO;
	}
	nerr[0] = '\0';
	rc = natsconf_parse_string(text, path, &tree, nerr, sizeof(nerr));
	if (rc == NATSD_ENOMEM)
		goto nomem;
	nats_grammar = rc == 0;
	if (nats_grammar) {
		marks = has_libconfig_marks(tree);
		if (marks) {
			natsconf_free(tree);
		} else {
			rc = try_natsconf(tree, path, nerr, sizeof(nerr));
			if (rc == 0)
				goto nats;
			if (rc == NATSD_ENOMEM)
				goto nomem;
		}
	}
	if (!marks && text_has_nats_include(text)) {
		snprintf(err, errlen, "%s", nerr);
		lrc = NATSD_EINVAL;
		goto out;
	}
	f = conffile_new(path);
	if (f == NULL)
		goto nomem;
	lrc = parse_file(f, text, err, errlen);
	if (lrc == 0) {
		free(text);
		return load_libconfig(f, path, o, err, errlen);
	}
	conffile_free(f);
	if (lrc != NATSD_EINVAL)
		goto out;
	if (marks) {
		/* Not libconfig after all, unless nats-server's format does
		 * not load either: then libconfig's error is the one. */
		rc = natsconf_parse_string(text, path, &tree, nerr,
					   sizeof(nerr));
		if (rc == 0)
			rc = try_natsconf(tree, path, nerr, sizeof(nerr));
		if (rc == 0)
			goto nats;
		if (rc == NATSD_ENOMEM)
			goto nomem;
		goto out;
	}
	/* Neither format: err holds libconfig's syntax error. */
	if (nats_grammar || !text_looks_libconfig(text))
		snprintf(err, errlen, "%s", nerr);
out:
	free(text);
	return lrc;

nats:
	rc = load_natsconf(text, path, o, err, errlen);
	free(text);
	return rc;

nomem:
	free(text);
	snprintf(err, errlen, "%s: out of memory", path);
	return NATSD_ENOMEM;
}

int conffile_from_text(const char *text, void **owner,
		       const struct natsd_cfg **root, char *err, size_t errlen)
{
	struct conffile *f;
	int rc;

	f = conffile_new("(command line)");
	if (f == NULL)
		return NATSD_ENOMEM;
	f->text = true;
	if (config_read_string(&f->lc, text) != CONFIG_TRUE) {
		snprintf(err, errlen, "command line: %s",
			 config_error_text(&f->lc));
		conffile_free(f);
		return NATSD_EINVAL;
	}
	rc = prepare_tree(f, config_root_setting(&f->lc));
	if (rc != 0) {
		conffile_free(f);
		return rc;
	}
	*owner = f;
	*root = config_setting_get_hook(config_root_setting(&f->lc));
	return 0;
}

void conffile_text_free(void *owner)
{
	conffile_free(owner);
}

const struct natsd_cfg *conffile_root(const struct opts *o)
{
	const struct conffile *f = o->conf;

	if (f == NULL)
		return NULL;
	if (o->conf_free != conffile_free)
		return natsconf_opts_root(o);
	return config_setting_get_hook(config_root_setting(&f->lc));
}

/* ------------------------------------------------------------------ */
/* Getters                                                             */

static const config_setting_t *cfg_get(const struct natsd_cfg *c,
				       const char *key)
{
	if (c == NULL || key == NULL || key[0] == '\0')
		return NULL;
	return config_setting_lookup(c->s, key);
}

int conffile_cfg_string(const struct natsd_cfg *c, const char *key,
			const char **out)
{
	const config_setting_t *s;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_string(c->m, key, out);
	s = cfg_get(c, key);
	if (s == NULL)
		return NATSD_ENOENT;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return NATSD_EINVAL;
	*out = config_setting_get_string(s);
	return 0;
}

int conffile_cfg_int(const struct natsd_cfg *c, const char *key, int64_t *out)
{
	const config_setting_t *s;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_int(c->m, key, out);
	s = cfg_get(c, key);
	if (s == NULL)
		return NATSD_ENOENT;
	if (!is_int(s))
		return NATSD_EINVAL;
	*out = config_setting_get_int64(s);
	return 0;
}

int conffile_cfg_bool(const struct natsd_cfg *c, const char *key, bool *out)
{
	const config_setting_t *s;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_bool(c->m, key, out);
	s = cfg_get(c, key);
	if (s == NULL)
		return NATSD_ENOENT;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return NATSD_EINVAL;
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

/* Reads key with value (value_duration or value_size); *out is left
 * alone unless the value is good. */
static int cfg_get_value(const struct natsd_cfg *c, const char *key,
			 int (*value)(const config_setting_t *, int64_t *),
			 int64_t *out)
{
	const config_setting_t *s = cfg_get(c, key);
	int64_t v;

	if (s == NULL)
		return NATSD_ENOENT;
	if (value(s, &v) != 0)
		return NATSD_EINVAL;
	*out = v;
	return 0;
}

int conffile_cfg_duration(const struct natsd_cfg *c, const char *key,
			  int64_t *ns)
{
	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_duration(c->m, key, ns);
	return cfg_get_value(c, key, value_duration, ns);
}

int conffile_cfg_size(const struct natsd_cfg *c, const char *key,
		      int64_t *bytes)
{
	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_size(c->m, key, bytes);
	return cfg_get_value(c, key, value_size, bytes);
}

int conffile_cfg_list_len(const struct natsd_cfg *c, const char *key,
			  size_t *n)
{
	const config_setting_t *s;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_list_len(c->m, key, n);
	s = cfg_get(c, key);
	if (s == NULL)
		return NATSD_ENOENT;
	if (!is_string_list(s))
		return NATSD_EINVAL;
	*n = string_list_len(s);
	return 0;
}

int conffile_cfg_list_string(const struct natsd_cfg *c, const char *key,
			     size_t i, const char **out)
{
	const config_setting_t *s;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_list_string(c->m, key, i, out);
	s = cfg_get(c, key);
	if (s == NULL)
		return NATSD_ENOENT;
	if (!is_string_list(s))
		return NATSD_EINVAL;
	if (i >= string_list_len(s))
		return NATSD_ENOENT;
	*out = string_list_at(s, i);
	return 0;
}

int conffile_cfg_section(const struct natsd_cfg *c, const char *key,
			 const struct natsd_cfg **out)
{
	const config_setting_t *s;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_section(c->m, key, out);
	s = cfg_get(c, key);
	if (s == NULL)
		return NATSD_ENOENT;
	if (!config_setting_is_group(s))
		return NATSD_EINVAL;
	*out = config_setting_get_hook(s);
	return 0;
}

/* A list of groups, ( { ... }, ... ); an empty array is one too. */
static const config_setting_t *cfg_group_list(const struct natsd_cfg *c,
					      const char *key, int *rc)
{
	const config_setting_t *s = cfg_get(c, key);
	int i, n;

	*rc = NATSD_ENOENT;
	if (s == NULL)
		return NULL;
	*rc = NATSD_EINVAL;
	if (!config_setting_is_list(s) &&
	    !(config_setting_is_array(s) && config_setting_length(s) == 0))
		return NULL;
	n = config_setting_length(s);
	for (i = 0; i < n; i++)
		if (!config_setting_is_group(config_setting_get_elem(s, i)))
			return NULL;
	*rc = 0;
	return s;
}

int conffile_cfg_sections_len(const struct natsd_cfg *c, const char *key,
			      size_t *n)
{
	const config_setting_t *s;
	int rc;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_sections_len(c->m, key, n);
	s = cfg_group_list(c, key, &rc);
	if (s == NULL)
		return rc;
	*n = (size_t)config_setting_length(s);
	return 0;
}

int conffile_cfg_sections_at(const struct natsd_cfg *c, const char *key,
			     size_t i, const struct natsd_cfg **out)
{
	const config_setting_t *s;
	int rc;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_sections_at(c->m, key, i, out);
	s = cfg_group_list(c, key, &rc);
	if (s == NULL)
		return rc;
	if (i >= (size_t)config_setting_length(s))
		return NATSD_ENOENT;
	*out = config_setting_get_hook(
		config_setting_get_elem(s, (unsigned int)i));
	return 0;
}

/* ABI 1.2 */
int conffile_cfg_key_at(const struct natsd_cfg *c, size_t i, const char **name)
{
	const config_setting_t *s;

	if (c != NULL && c->m != NULL)
		return natsconf_opts_cfg_key_at(c->m, i, name);
	if (c == NULL || i >= (size_t)config_setting_length(c->s))
		return NATSD_ENOENT;
	s = config_setting_get_elem(c->s, (unsigned int)i);
	if (s == NULL || config_setting_name(s) == NULL)
		return NATSD_ENOENT;
	*name = config_setting_name(s);
	return 0;
}

int conffile_cfg_where(const struct natsd_cfg *c, const char *key,
		       const char **file, int *line)
{
	const config_setting_t *s;

	if (c == NULL)
		return NATSD_ENOENT;
	if (c->m != NULL)
		return natsconf_opts_cfg_where(c->m, key, file, line);
	if (c->f->text)
		return NATSD_ENOENT; /* built from the command line */
	s = key == NULL ? c->s : cfg_get(c, key);
	if (s == NULL)
		return NATSD_ENOENT;
	*file = shown_name(c->f, config_setting_source_file(s));
	*line = (int)config_setting_source_line(s);
	return 0;
}
