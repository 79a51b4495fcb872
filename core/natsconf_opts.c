/* nats-server's config format mapped onto struct opts.
 *
 * The key names, aliases and value types are nats-server 2.9's
 * (server/opts.go): sizes are integers ("1MB" is lexed as one), durations
 * are Go duration strings or integer seconds, "listen" is "host:port", a
 * port of -1 is a random one. natsd's own keys (plugins, plugin_dir,
 * auth_chain, client_transport, io_threads, tcp_keepalive) are accepted
 * too so that a natsd deployment can be written entirely in this format.
 *
 * Keys nats-server knows and natsd does not support yet get one of two
 * answers, decided per key (README, "Migrating from nats-server"): a
 * warning when running without them cannot loosen security (cluster,
 * jetstream, websocket, ...), or an error when it could (tls, operator,
 * mappings). A key nats-server does not know is an
 * error, as in nats-server.
 *
 * The tree stays alive in struct opts (conf/conf_free) because plugin
 * settings sections point into it; every map carries a struct natsd_cfg
 * on its hook, made while loading, so that the getters never allocate.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <natsd/error.h>

#include "conffile.h"
#include "natsconf.h"
#include "natsconf_opts.h"
#include "nkey.h"
#include "opts.h"
#include "subject.h"

struct loader {
	const struct natsconf_value *root;
	struct opts *o;
	char *err;
	size_t errlen;
	int rc; /* NATSD_ENOMEM once out of memory, for the caller */
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* The tree as o->conf                                                 */

static void unhook(struct natsconf_value *v)
{
	size_t i;

	switch (natsconf_type(v)) {
	case NATSCONF_MAP:
		free(natsconf_hook(v));
		natsconf_set_hook(v, NULL);
		for (i = 0; i < natsconf_map_size(v); i++)
			unhook(natsconf_map_value(v, i));
		break;
	case NATSCONF_ARRAY:
		for (i = 0; i < natsconf_array_size(v); i++)
			unhook(natsconf_array_get(v, i));
		break;
	default:
		break;
	}
}

static void tree_free(void *arg)
{
	struct natsconf_value *root = arg;

	unhook(root);
	natsconf_free(root);
}

/* Hangs a struct natsd_cfg on every map. Depth is bounded by the
 * reader's own limit. */
static int hook_all(struct natsconf_value *v)
{
	struct natsd_cfg *c;
	size_t i;

	switch (natsconf_type(v)) {
	case NATSCONF_MAP:
		c = conffile_cfg_wrap(v);
		if (c == NULL)
			return NATSD_ENOMEM;
		natsconf_set_hook(v, c);
		for (i = 0; i < natsconf_map_size(v); i++)
			if (hook_all(natsconf_map_value(v, i)) != 0)
				return NATSD_ENOMEM;
		break;
	case NATSCONF_ARRAY:
		for (i = 0; i < natsconf_array_size(v); i++)
			if (hook_all(natsconf_array_get(v, i)) != 0)
				return NATSD_ENOMEM;
		break;
	default:
		break;
	}
	return 0;
}

const struct natsd_cfg *natsconf_opts_root(const struct opts *o)
{
	if (o->conf == NULL || o->conf_free != tree_free)
		return NULL;
	return natsconf_hook(o->conf);
}

/* ------------------------------------------------------------------ */
/* Errors and warnings                                                 */

static int lerr(struct loader *l, const struct natsconf_value *v,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: <message>" about v; returns NATSD_EINVAL. */
static int lerr(struct loader *l, const struct natsconf_value *v,
		const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->errlen == 0)
		return NATSD_EINVAL;
	n = snprintf(l->err, l->errlen, "%s:%d: ", natsconf_file(v),
		     natsconf_line(v));
	if (n < 0 || (size_t)n >= l->errlen)
		return NATSD_EINVAL;
	va_start(ap, fmt);
	vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return NATSD_EINVAL;
}

static int nomem(struct loader *l)
{
	snprintf(l->err, l->errlen, "%s: out of memory",
		 l->o->config_file ? l->o->config_file : "config");
	l->rc = NATSD_ENOMEM;
	return NATSD_ENOMEM;
}

static int warn(struct loader *l, const struct natsconf_value *v,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int warn(struct loader *l, const struct natsconf_value *v,
		const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "%s:%d: ", natsconf_file(v),
		     natsconf_line(v));
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (opts_strlist_add(&l->o->conf_warnings, buf) != 0)
		return nomem(l);
	return 0;
}

static const char *type_name(const struct natsconf_value *v)
{
	switch (natsconf_type(v)) {
	case NATSCONF_STRING:
		return "a string";
	case NATSCONF_INT:
		return "an integer";
	case NATSCONF_FLOAT:
		return "a float";
	case NATSCONF_BOOL:
		return "a boolean";
	case NATSCONF_MAP:
		return "a map";
	case NATSCONF_ARRAY:
		return "an array";
	default:
		return "nothing";
	}
}

static int wrong_type(struct loader *l, const struct natsconf_value *v,
		      const char *key, const char *expected)
{
	return lerr(l, v, "%s: expected %s, not %s", key, expected,
		    type_name(v));
}

/* As nats-server: a key that only defines a variable is no field. */
static int unknown_field(struct loader *l, const struct natsconf_value *v,
			 const char *key)
{
	if (natsconf_used_variable(v))
		return 0;
	return lerr(l, v, "unknown field \"%s\"", key);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

static int read_str(struct loader *l, const struct natsconf_value *v,
		    const char *key, char **dst)
{
	if (natsconf_type(v) != NATSCONF_STRING)
		return wrong_type(l, v, key, "a string");
	if (opts_set_str(dst, natsconf_string(v)) != 0)
		return nomem(l);
	return 0;
}

static int read_bool(struct loader *l, const struct natsconf_value *v,
		     const char *key, bool *dst)
{
	if (natsconf_type(v) != NATSCONF_BOOL)
		return wrong_type(l, v, key, "a boolean (true or false)");
	*dst = natsconf_bool(v) != 0;
	return 0;
}

static int read_int(struct loader *l, const struct natsconf_value *v,
		    const char *key, int64_t min, int64_t max, int64_t *dst)
{
	int64_t i;

	if (natsconf_type(v) != NATSCONF_INT)
		return wrong_type(l, v, key, "an integer");
	i = natsconf_int(v);
	if (i < min || i > max)
		return lerr(l, v, "%s: %lld is out of range (%lld..%lld)", key,
			    (long long)i, (long long)min, (long long)max);
	*dst = i;
	return 0;
}

/* An integer of seconds or a Go duration string, in ns. */
static int value_duration(const struct natsconf_value *v, int64_t *ns)
{
	int64_t i;

	switch (natsconf_type(v)) {
	case NATSCONF_INT:
		i = natsconf_int(v);
		if (i > INT64_MAX / OPTS_NS_PER_SEC ||
		    i < INT64_MIN / OPTS_NS_PER_SEC)
			return NATSD_ERANGE;
		*ns = i * OPTS_NS_PER_SEC;
		return 0;
	case NATSCONF_STRING:
		return conffile_parse_duration(natsconf_string(v), ns);
	default:
		return NATSD_EINVAL;
	}
}

static int read_duration(struct loader *l, const struct natsconf_value *v,
			 const char *key, int64_t *dst)
{
	int rc;

	if (natsconf_type(v) != NATSCONF_INT &&
	    natsconf_type(v) != NATSCONF_STRING)
		return wrong_type(l, v, key,
				  "a duration (a string like "
				  "\"2m\", or seconds)");
	rc = value_duration(v, dst);
	if (rc == 0)
		return 0;
	if (natsconf_type(v) == NATSCONF_STRING)
		return lerr(l, v,
			    "%s: invalid duration \"%s\" (expected e.g. "
			    "\"2m\", \"10s\", \"1h30m\", \"500ms\")",
			    key, natsconf_string(v));
	return lerr(l, v, "%s: duration is out of range", key);
}

/* An integer, or a string with units for plugins' settings. */
static int value_size(const struct natsconf_value *v, int64_t *bytes)
{
	switch (natsconf_type(v)) {
	case NATSCONF_INT:
		if (natsconf_int(v) < 0)
			return NATSD_ERANGE;
		*bytes = natsconf_int(v);
		return 0;
	case NATSCONF_STRING:
		return conffile_parse_size(natsconf_string(v), bytes);
	default:
		return NATSD_EINVAL;
	}
}

static bool is_string_list(const struct natsconf_value *v)
{
	size_t i;

	if (natsconf_type(v) == NATSCONF_STRING)
		return true;
	if (natsconf_type(v) != NATSCONF_ARRAY)
		return false;
	for (i = 0; i < natsconf_array_size(v); i++)
		if (natsconf_type(natsconf_array_get(v, i)) != NATSCONF_STRING)
			return false;
	return true;
}

static size_t string_list_len(const struct natsconf_value *v)
{
	if (natsconf_type(v) == NATSCONF_STRING)
		return 1;
	return natsconf_array_size(v);
}

static const char *string_list_at(const struct natsconf_value *v, size_t i)
{
	if (natsconf_type(v) == NATSCONF_STRING)
		return natsconf_string(v);
	return natsconf_string(natsconf_array_get(v, i));
}

static int read_strlist(struct loader *l, const struct natsconf_value *v,
			const char *key, struct opts_strlist *list)
{
	size_t i;

	if (!is_string_list(v))
		return wrong_type(l, v, key, "a string or an array of strings");
	opts_strlist_clear(list);
	for (i = 0; i < string_list_len(v); i++)
		if (opts_strlist_add(list, string_list_at(v, i)) != 0)
			return nomem(l);
	list->set = true;
	return 0;
}

static int set_where(struct loader *l, const struct natsconf_value *v,
		     struct opts_where *w)
{
	if (opts_set_str(&w->file, natsconf_file(v)) != 0)
		return nomem(l);
	w->line = natsconf_line(v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

/* "host:port", "[::1]:4222", ":4222" or a port number; -1 is random. */
static int read_listen(struct loader *l, const struct natsconf_value *v,
		       const char *key, char **host, int *port)
{
	const char *str, *colon, *h;
	char *end;
	size_t hlen;
	int64_t i;
	long p;
	int rc;

	if (natsconf_type(v) == NATSCONF_INT) {
		rc = read_int(l, v, key, -1, 65535, &i);
		if (rc == 0)
			*port = (int)i;
		return rc;
	}
	if (natsconf_type(v) != NATSCONF_STRING)
		return wrong_type(l, v, key, "\"host:port\" or a port");
	str = natsconf_string(v);
	colon = strrchr(str, ':');
	if (colon == NULL)
		return lerr(l, v, "%s: could not parse address string \"%s\"",
			    key, str);
	h = str;
	hlen = (size_t)(colon - str);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	} else if (memchr(h, ':', hlen) != NULL) {
		return lerr(l, v,
			    "%s: could not parse address string \"%s\" "
			    "(IPv6 addresses go in brackets)",
			    key, str);
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < -1 ||
	    p > 65535)
		return lerr(l, v, "%s: could not parse port \"%s\"", key,
			    colon + 1);
	free(*host);
	*host = hlen == 0 ? strdup(OPTS_DEFAULT_HOST) : strndup(h, hlen);
	if (*host == NULL)
		return nomem(l);
	*port = (int)p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Permissions                                                         */

/* A subscribe entry is "subject" or "subject queue". */
static bool sub_entry_valid(const char *s)
{
	const char *sp = strchr(s, ' ');
	const char *q;
	size_t qlen;

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

static int read_subjects(struct loader *l, const struct natsconf_value *v,
			 const char *key, bool sub, struct opts_strlist *list)
{
	const char *s;
	size_t i;

	if (!is_string_list(v))
		return wrong_type(l, v, key,
				  "a subject or an array of "
				  "subjects");
	for (i = 0; i < string_list_len(v); i++) {
		s = string_list_at(v, i);
		if (!(sub ? sub_entry_valid(s) : subject_valid(s, strlen(s))))
			return lerr(l, v,
				    "subject \"%s\" is not a valid "
				    "subject",
				    s);
	}
	return read_strlist(l, v, key, list);
}

static int read_subject_perm(struct loader *l, const struct natsconf_value *v,
			     const char *key, bool sub,
			     struct opts_strlist *allow,
			     struct opts_strlist *deny)
{
	const struct natsconf_value *m;
	const char *name;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return read_subjects(l, v, key, sub, allow);
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		if (strcasecmp(name, "allow") == 0)
			rc = read_subjects(l, m, name, sub, allow);
		else if (strcasecmp(name, "deny") == 0)
			rc = read_subjects(l, m, name, sub, deny);
		else
			rc = lerr(l, m,
				  "unknown field \"%s\" parsing subject "
				  "permissions, only 'allow' or 'deny' are "
				  "permitted",
				  name);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* allow_responses: true | false | { max: N, expires: "1m" }. */
static int read_responses(struct loader *l, const struct natsconf_value *v,
			  struct opts_perms *p)
{
	const struct natsconf_value *m;
	const char *name;
	int64_t i64;
	size_t i;
	int rc;

	p->resp_max = OPTS_DEFAULT_RESP_MAX;
	p->resp_expires = OPTS_DEFAULT_RESP_EXPIRES;
	if (natsconf_type(v) == NATSCONF_BOOL) {
		p->has_resp = natsconf_bool(v) != 0;
		return 0;
	}
	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "allow_responses",
				  "a boolean or a map");
	p->has_resp = true;
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		if (strcasecmp(name, "max") == 0 ||
		    strcasecmp(name, "max_msgs") == 0 ||
		    strcasecmp(name, "max_messages") == 0 ||
		    strcasecmp(name, "max_responses") == 0) {
			rc = read_int(l, m, name, INT_MIN, INT_MAX, &i64);
			if (rc == 0 && i64 != 0)
				p->resp_max = i64 < 0 ? -1 : i64;
		} else if (strcasecmp(name, "expires") == 0 ||
			   strcasecmp(name, "expiration") == 0 ||
			   strcasecmp(name, "ttl") == 0) {
			rc = read_duration(l, m, name, &i64);
			if (rc == 0 && i64 != 0)
				p->resp_expires = i64 < 0 ? -1 : i64;
		} else {
			rc = unknown_field(l, m, name);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_perms_member(struct loader *l, const char *name,
			     const struct natsconf_value *m,
			     struct opts_perms *p)
{
	if (strcasecmp(name, "publish") == 0 || strcasecmp(name, "pub") == 0 ||
	    strcasecmp(name, "import") == 0)
		return read_subject_perm(l, m, name, false, &p->pub_allow,
					 &p->pub_deny);
	if (strcasecmp(name, "subscribe") == 0 ||
	    strcasecmp(name, "sub") == 0 || strcasecmp(name, "export") == 0)
		return read_subject_perm(l, m, name, true, &p->sub_allow,
					 &p->sub_deny);
	if (strcasecmp(name, "allow_responses") == 0 ||
	    strcasecmp(name, "allow_response") == 0 ||
	    strcasecmp(name, "publish_allow_responses") == 0)
		return read_responses(l, m, p);
	return unknown_field(l, m, name);
}

static int read_perms(struct loader *l, const struct natsconf_value *v,
		      const char *key, struct opts_perms **out)
{
	struct opts_perms *p;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, key, "a map");
	p = opts_perms_new();
	if (p == NULL)
		return nomem(l);
	for (i = 0; i < natsconf_map_size(v); i++) {
		rc = read_perms_member(l, natsconf_map_key(v, i),
				       natsconf_map_value(v, i), p);
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

static int read_conn_types(struct loader *l, const struct natsconf_value *v,
			   const char *key, struct opts_strlist *list)
{
	const char *t;
	size_t i, j;

	if (!is_string_list(v))
		return wrong_type(l, v, key, "an array of connection types");
	for (i = 0; i < string_list_len(v); i++) {
		t = string_list_at(v, i);
		for (j = 0; j < ARRAY_LEN(conn_types); j++)
			if (strcasecmp(t, conn_types[j]) == 0)
				break;
		if (j == ARRAY_LEN(conn_types))
			return lerr(l, v,
				    "invalid connection type \"%s\" "
				    "(expected STANDARD, WEBSOCKET, LEAFNODE, "
				    "LEAFNODE_WS, MQTT or MQTT_WS)",
				    t);
	}
	return read_strlist(l, v, key, list);
}

static int read_nkey(struct loader *l, const struct natsconf_value *v,
		     struct opts_user *u)
{
	unsigned char key[32];
	int rc;

	rc = read_str(l, v, "nkey", &u->nkey);
	if (rc != 0)
		return rc;
	if (nkey_decode_public(NKEY_USER, u->nkey, key) != 0)
		return lerr(l, v, "Not a valid public nkey for a user");
	return 0;
}

static int read_user_member(struct loader *l, const char *name,
			    const struct natsconf_value *m, struct opts_user *u)
{
	if (strcasecmp(name, "user") == 0 || strcasecmp(name, "username") == 0)
		return read_str(l, m, name, &u->user);
	if (strcasecmp(name, "password") == 0 || strcasecmp(name, "pass") == 0)
		return read_str(l, m, name, &u->password);
	if (strcasecmp(name, "account") == 0)
		return read_str(l, m, name, &u->account);
	if (strcasecmp(name, "permissions") == 0 ||
	    strcasecmp(name, "permission") == 0 ||
	    strcasecmp(name, "authorization") == 0)
		return read_perms(l, m, name, &u->perms);
	if (strcasecmp(name, "allowed_connection_types") == 0 ||
	    strcasecmp(name, "connection_types") == 0 ||
	    strcasecmp(name, "clients") == 0)
		return read_conn_types(l, m, name, &u->conn_types);
	if (strcasecmp(name, "nkey") == 0)
		return read_nkey(l, m, u);
	return unknown_field(l, m, name);
}

/* An nkey entry (the last of the users so far), as nats-server has it:
 * no name or password, each key once. auth_nkey checks the signature. */
static int check_nkey_user(struct loader *l, const struct natsconf_value *v,
			   const struct opts_user *u)
{
	size_t i;

	if (u->user != NULL || u->password != NULL)
		return lerr(l, v,
			    "Nkey users do not take usernames or passwords");
	for (i = 0; i + 1 < l->o->nusers; i++)
		if (l->o->users[i].nkey != NULL &&
		    strcmp(l->o->users[i].nkey, u->nkey) == 0)
			return lerr(l, v, "Duplicate nkey \"%s\" detected",
				    u->nkey);
	l->o->nnkey_users++;
	return 0;
}

static int read_user(struct loader *l, const struct natsconf_value *v)
{
	struct opts_user *u;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "users entry", "a map");
	u = opts_user_add(l->o);
	if (u == NULL)
		return nomem(l);
	u->line = natsconf_line(v);
	if (opts_set_str(&u->file, natsconf_file(v)) != 0)
		return nomem(l);
	for (i = 0; i < natsconf_map_size(v); i++) {
		rc = read_user_member(l, natsconf_map_key(v, i),
				      natsconf_map_value(v, i), u);
		if (rc != 0)
			return rc;
	}
	if (u->nkey != NULL)
		return check_nkey_user(l, v, u);
	if (u->user == NULL || u->user[0] == '\0')
		return lerr(l, v, "user entry requires a user");
	for (i = 0; i + 1 < l->o->nusers; i++)
		if (l->o->users[i].user != NULL &&
		    strcmp(l->o->users[i].user, u->user) == 0)
			return lerr(l, v, "duplicate user \"%s\" detected",
				    u->user);
	return 0;
}

static int read_users(struct loader *l, const struct natsconf_value *v)
{
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_ARRAY)
		return wrong_type(l, v, "users", "an array of maps");
	for (i = 0; i < natsconf_array_size(v); i++) {
		rc = read_user(l, natsconf_array_get(v, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Seconds (integer or float) or a duration string; 0 means the default,
 * as in nats-server. */
static int read_auth_timeout(struct loader *l, const struct natsconf_value *v)
{
	int64_t ns;
	double f;
	int rc;

	if (natsconf_type(v) == NATSCONF_FLOAT) {
		f = natsconf_float(v);
		if (!(f >= 0 && f < 9.2e9))
			return lerr(l, v, "timeout: %g is out of range", f);
		ns = (int64_t)(f * 1e9);
	} else {
		rc = read_duration(l, v, "timeout", &ns);
		if (rc != 0)
			return rc;
		if (ns < 0)
			return lerr(l, v, "timeout must not be negative");
	}
	l->o->auth_timeout = ns == 0 ? OPTS_DEFAULT_AUTH_TIMEOUT : ns;
	l->o->auth_timeout_set = ns != 0;
	return 0;
}

static int read_auth_member(struct loader *l, const char *name,
			    const struct natsconf_value *m)
{
	struct opts *o = l->o;

	if (strcasecmp(name, "user") == 0 || strcasecmp(name, "username") == 0)
		return read_str(l, m, name, &o->user);
	if (strcasecmp(name, "password") == 0 || strcasecmp(name, "pass") == 0)
		return read_str(l, m, name, &o->password);
	if (strcasecmp(name, "token") == 0)
		return read_str(l, m, name, &o->token);
	if (strcasecmp(name, "timeout") == 0)
		return read_auth_timeout(l, m);
	if (strcasecmp(name, "users") == 0)
		return read_users(l, m);
	if (strcasecmp(name, "default_permissions") == 0 ||
	    strcasecmp(name, "default_permission") == 0 ||
	    strcasecmp(name, "permissions") == 0)
		return read_perms(l, m, name, &o->default_permissions);
	return unknown_field(l, m, name);
}

static int read_authorization(struct loader *l, const char *key,
			      const struct natsconf_value *v)
{
	struct opts *o = l->o;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, key, "a map");
	for (i = 0; i < natsconf_map_size(v); i++) {
		rc = read_auth_member(l, natsconf_map_key(v, i),
				      natsconf_map_value(v, i));
		if (rc != 0)
			return rc;
	}
	if ((o->user != NULL || o->password != NULL) && o->nusers > 0)
		return lerr(l, v,
			    "can not have a single user/pass and a "
			    "users array");
	if (o->token != NULL && o->nusers > 0)
		return lerr(l, v, "can not have a token and a users array");
	if ((o->user != NULL || o->password != NULL) && o->token != NULL)
		return lerr(l, v, "cannot have a user/pass and token");
	return 0;
}

/* ------------------------------------------------------------------ */
/* accounts { NAME { users, exports, imports, limits } }               */

static int note_where(struct loader *l, const struct natsconf_value *v,
		      char **file, int *line)
{
	*line = natsconf_line(v);
	if (opts_set_str(file, natsconf_file(v)) != 0)
		return nomem(l);
	return 0;
}

static int read_subject_str(struct loader *l, const struct natsconf_value *v,
			    const char *key, char **dst)
{
	const char *s = natsconf_string(v);

	if (s == NULL)
		return wrong_type(l, v, key, "a subject string");
	if (!subject_valid(s, strlen(s)))
		return lerr(l, v, "invalid subject \"%s\"", s);
	return read_str(l, v, key, dst);
}

static int read_resp_type(struct loader *l, const struct natsconf_value *v,
			  struct opts_export *e)
{
	static const char *const names[] = { "singleton", "stream", "chunked" };
	const char *s = natsconf_string(v);
	int i;

	if (s == NULL)
		return wrong_type(l, v, "response_type", "a string");
	for (i = 0; i < 3; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			e->resp_type = i;
			return 0;
		}
	}
	return lerr(l, v, "Unknown response type: \"%s\"", s);
}

static int read_export(struct loader *l, const struct natsconf_value *v,
		       struct opts_account *a)
{
	const struct natsconf_value *m;
	struct opts_export *e;
	const char *name;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "exports entry", "a map");
	e = opts_export_add(a);
	if (e == NULL)
		return nomem(l);
	if ((rc = note_where(l, v, &e->file, &e->line)) != 0)
		return rc;
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		if (strcasecmp(name, "stream") == 0 ||
		    strcasecmp(name, "service") == 0) {
			if (e->subject != NULL)
				return lerr(l, m,
					    "an export is a stream or "
					    "a service, not both");
			e->service = strcasecmp(name, "service") == 0;
			rc = read_subject_str(l, m, name, &e->subject);
		} else if (strcasecmp(name, "accounts") == 0) {
			rc = read_strlist(l, m, name, &e->accounts);
		} else if (strcasecmp(name, "response_type") == 0 ||
			   strcasecmp(name, "response") == 0) {
			rc = read_resp_type(l, m, e);
		} else if (strcasecmp(name, "response_threshold") == 0) {
			rc = read_duration(l, m, name, &e->resp_threshold);
		} else {
			rc = unknown_field(l, m, name);
		}
		if (rc != 0)
			return rc;
	}
	if (e->subject == NULL)
		return lerr(l, v, "export needs a stream or a service subject");
	return 0;
}

static int read_import_source(struct loader *l, const struct natsconf_value *v,
			      struct opts_import *im)
{
	const struct natsconf_value *m;
	const char *name;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "import", "a map {account, subject}");
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		if (strcasecmp(name, "account") == 0)
			rc = read_str(l, m, name, &im->account);
		else if (strcasecmp(name, "subject") == 0)
			rc = read_subject_str(l, m, name, &im->subject);
		else
			rc = unknown_field(l, m, name);
		if (rc != 0)
			return rc;
	}
	if (im->account == NULL || im->subject == NULL)
		return lerr(l, v, "import needs an account and a subject");
	return 0;
}

static int read_import(struct loader *l, const struct natsconf_value *v,
		       struct opts_account *a)
{
	const struct natsconf_value *m;
	struct opts_import *im;
	const char *name;
	bool seen = false;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "imports entry", "a map");
	im = opts_import_add(a);
	if (im == NULL)
		return nomem(l);
	if ((rc = note_where(l, v, &im->file, &im->line)) != 0)
		return rc;
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
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
			rc = read_str(l, m, name, &im->prefix);
		} else if (strcasecmp(name, "to") == 0) {
			rc = read_subject_str(l, m, name, &im->to);
		} else {
			rc = unknown_field(l, m, name);
		}
		if (rc != 0)
			return rc;
	}
	if (!seen)
		return lerr(l, v, "import needs a stream or a service");
	if (im->prefix != NULL && im->service)
		return lerr(l, v,
			    "a service import takes \"to\", not "
			    "\"prefix\"");
	if (im->prefix != NULL && im->to != NULL)
		return lerr(l, v,
			    "an import takes \"prefix\" or \"to\", "
			    "not both");
	return 0;
}

static int read_account_list(struct loader *l, const struct natsconf_value *v,
			     const char *key, struct opts_account *a,
			     int (*one)(struct loader *,
					const struct natsconf_value *,
					struct opts_account *))
{
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_ARRAY)
		return wrong_type(l, v, key, "an array of maps");
	for (i = 0; i < natsconf_array_size(v); i++) {
		rc = one(l, natsconf_array_get(v, i), a);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_account_limits(struct loader *l, const struct natsconf_value *v,
			       struct opts_account *a)
{
	const struct natsconf_value *m;
	const char *name;
	int64_t n;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "limits", "a map");
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		rc = read_int(l, m, name, -1, INT_MAX, &n);
		if (rc != 0)
			return rc;
		if (strcasecmp(name, "max_connections") == 0 ||
		    strcasecmp(name, "max_conn") == 0)
			a->max_connections = (int)n;
		else if (strcasecmp(name, "max_subscriptions") == 0 ||
			 strcasecmp(name, "max_subs") == 0)
			a->max_subscriptions = (int)n;
		else if (strcasecmp(name, "max_payload") == 0 ||
			 strcasecmp(name, "max_pay") == 0)
			a->max_payload = n;
		else if (strcasecmp(name, "max_leafnodes") != 0 &&
			 strcasecmp(name, "max_leafs") != 0)
			return unknown_field(l, m, name);
	}
	return 0;
}

static int read_account(struct loader *l, const char *aname,
			const struct natsconf_value *v)
{
	const struct natsconf_value *m;
	struct opts_account *a;
	const char *name;
	size_t i, u, first;
	int rc;

	if (opts_account_find(l->o, aname) != NULL)
		return lerr(l, v, "duplicate account \"%s\"", aname);
	a = opts_account_add(l->o);
	if (a == NULL || opts_set_str(&a->name, aname) != 0)
		return nomem(l);
	if ((rc = note_where(l, v, &a->file, &a->line)) != 0)
		return rc;
	if (natsconf_type(v) == NATSCONF_STRING)
		return 0; /* accounts [ A, B ]: declared, nothing else */
	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, aname, "a map");
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		if (strcasecmp(name, "users") == 0) {
			first = l->o->nusers;
			rc = read_users(l, m);
			for (u = first; rc == 0 && u < l->o->nusers; u++)
				if (opts_set_str(&l->o->users[u].account,
						 aname) != 0)
					rc = nomem(l);
		} else if (strcasecmp(name, "exports") == 0) {
			rc = read_account_list(l, m, name, a, read_export);
		} else if (strcasecmp(name, "imports") == 0) {
			rc = read_account_list(l, m, name, a, read_import);
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
			rc = unknown_field(l, m, name);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_accounts(struct loader *l, const char *key,
			 const struct natsconf_value *v)
{
	const struct natsconf_value *e;
	size_t i;
	int rc;

	if (natsconf_type(v) == NATSCONF_ARRAY) {
		for (i = 0; i < natsconf_array_size(v); i++) {
			e = natsconf_array_get(v, i);
			if (natsconf_type(e) != NATSCONF_STRING)
				return wrong_type(l, e, key,
						  "an array of account names");
			rc = read_account(l, natsconf_string(e), e);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, key, "a map of accounts");
	for (i = 0; i < natsconf_map_size(v); i++) {
		rc = read_account(l, natsconf_map_key(v, i),
				  natsconf_map_value(v, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* natsd's own: plugins, auth_chain, client_transport                  */

static int read_plugin(struct loader *l, const struct natsconf_value *v)
{
	const struct natsconf_value *m;
	struct opts_plugin *p;
	const char *name;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_STRING &&
	    natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "plugins entry",
				  "{ load: ..., settings: { ... } } or a "
				  "plugin name");
	p = opts_plugin_add(l->o);
	if (p == NULL)
		return nomem(l);
	p->line = natsconf_line(v);
	if (opts_set_str(&p->file, natsconf_file(v)) != 0)
		return nomem(l);
	if (natsconf_type(v) == NATSCONF_STRING) {
		rc = read_str(l, v, "plugins entry", &p->load);
		if (rc != 0)
			return rc;
	}
	for (i = 0;
	     natsconf_type(v) == NATSCONF_MAP && i < natsconf_map_size(v);
	     i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		if (strcasecmp(name, "load") == 0) {
			rc = read_str(l, m, name, &p->load);
		} else if (strcasecmp(name, "settings") == 0) {
			if (natsconf_type(m) != NATSCONF_MAP)
				return wrong_type(l, m, name, "a map");
			p->settings = natsconf_hook(m);
			rc = 0;
		} else {
			rc = unknown_field(l, m, name);
		}
		if (rc != 0)
			return rc;
	}
	if (p->load == NULL || p->load[0] == '\0')
		return lerr(l, v, "plugin entry requires load: \"name\"");
	return 0;
}

static int read_plugins(struct loader *l, const char *key,
			const struct natsconf_value *v)
{
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_ARRAY)
		return wrong_type(l, v, key, "an array [ { load: ... }, ... ]");
	for (i = 0; i < natsconf_array_size(v); i++) {
		rc = read_plugin(l, natsconf_array_get(v, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int read_auth_chain(struct loader *l, const char *key,
			   const struct natsconf_value *v)
{
	int rc = read_strlist(l, v, key, &l->o->auth_chain);

	if (rc != 0)
		return rc;
	if (l->o->auth_chain.n == 0)
		return lerr(l, v,
			    "auth_chain must name at least one "
			    "authenticator");
	return set_where(l, v, &l->o->auth_chain_at);
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

static int read_client_transport(struct loader *l, const char *key,
				 const struct natsconf_value *v)
{
	struct opts_strlist *list = &l->o->client_transport;
	int rc;

	if (natsconf_type(v) == NATSCONF_STRING) {
		opts_strlist_clear(list);
		rc = split_names(l, natsconf_string(v), list);
	} else {
		rc = read_strlist(l, v, key, list);
	}
	if (rc != 0)
		return rc;
	if (list->n == 0)
		return lerr(l, v,
			    "client_transport must name at least one "
			    "transport");
	return set_where(l, v, &l->o->client_transport_at);
}

/* ------------------------------------------------------------------ */
/* Top-level specials                                                  */

static int read_client_listen(struct loader *l, const char *key,
			      const struct natsconf_value *v)
{
	int rc = read_listen(l, v, key, &l->o->host, &l->o->port);

	if (rc == 0 && l->o->port == 0)
		l->o->port = OPTS_DEFAULT_PORT;
	return rc;
}

static int read_http(struct loader *l, const char *key,
		     const struct natsconf_value *v)
{
	return read_listen(l, v, key, &l->o->http_host, &l->o->http_port);
}

static int read_https(struct loader *l, const char *key,
		      const struct natsconf_value *v)
{
	return read_listen(l, v, key, &l->o->http_host, &l->o->https_port);
}

static int read_host(struct loader *l, const char *key,
		     const struct natsconf_value *v)
{
	int rc = read_str(l, v, key, &l->o->host);

	if (rc == 0 && l->o->host[0] == '\0')
		return lerr(l, v, "%s must not be empty", key);
	return rc;
}

static int read_server_name(struct loader *l, const char *key,
			    const struct natsconf_value *v)
{
	int rc = read_str(l, v, key, &l->o->server_name);

	if (rc == 0 && strchr(l->o->server_name, ' ') != NULL)
		return lerr(l, v, "server_name cannot contain spaces");
	return rc;
}

/* true (the default period), false, or a period (0 = off). */
static int read_tcp_keepalive(struct loader *l, const char *key,
			      const struct natsconf_value *v)
{
	int64_t ns;
	int rc;

	if (natsconf_type(v) == NATSCONF_BOOL) {
		l->o->tcp_keepalive =
			natsconf_bool(v) ? OPTS_DEFAULT_TCP_KEEPALIVE : 0;
		return 0;
	}
	rc = read_duration(l, v, key, &ns);
	if (rc != 0)
		return rc;
	if (ns < 0)
		return lerr(l, v, "%s must not be negative", key);
	l->o->tcp_keepalive = ns;
	return 0;
}

/* nats-server takes the lame duck keys as duration strings only. */
static int read_duration_string(struct loader *l, const char *key,
				const struct natsconf_value *v, int64_t *ns)
{
	if (natsconf_type(v) != NATSCONF_STRING)
		return wrong_type(l, v, key, "a duration string like \"30s\"");
	return read_duration(l, v, key, ns);
}

static int read_lame_duck_grace(struct loader *l, const char *key,
				const struct natsconf_value *v)
{
	int64_t ns;
	int rc;

	rc = read_duration_string(l, key, v, &ns);
	if (rc != 0)
		return rc;
	if (ns < 0)
		return lerr(l, v, "%s must not be negative", key);
	l->o->lame_duck_grace_period =
		ns == 0 ? OPTS_DEFAULT_LAME_DUCK_GRACE : ns;
	return 0;
}

static int read_lame_duck_duration(struct loader *l, const char *key,
				   const struct natsconf_value *v)
{
	int64_t ns;
	int rc;

	rc = read_duration_string(l, key, v, &ns);
	if (rc != 0)
		return rc;
	if (ns == 0) {
		l->o->lame_duck_duration = OPTS_DEFAULT_LAME_DUCK_DURATION;
		return 0;
	}
	if (ns < OPTS_MIN_LAME_DUCK_DURATION)
		return lerr(l, v,
			    "invalid lame_duck_duration, minimum is 30 "
			    "seconds");
	l->o->lame_duck_duration = ns;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The top-level key table                                             */

enum key_type {
	KT_STR,      /* char * */
	KT_BOOL,     /* bool */
	KT_INT,      /* int, in [min, max] */
	KT_SIZE,     /* int64_t bytes (an integer: "1MB" lexes as one) */
	KT_SIZE_INT, /* int bytes */
	KT_DUR,      /* int64_t ns */
	KT_FN,       /* fn reads it */
	KT_WARN,     /* not supported yet; nats-server would start: warn */
	KT_REFUSE,   /* not supported yet; running without it is unsafe */
};

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;
	int64_t min, max;
	int64_t zero; /* what a 0 stands for; 0 when 0 is a value */
	int (*fn)(struct loader *l, const char *key,
		  const struct natsconf_value *v);
	const char *why; /* KT_REFUSE: what would go wrong */
};

#define KEY(n, t, f, lo, hi, z)                                                \
	{                                                                      \
		(n), (t), offsetof(struct opts, f), (lo), (hi), (z), NULL,     \
			NULL                                                   \
	}
#define KSTR(n, f)  KEY(n, KT_STR, f, 0, 0, 0)
#define KBOOL(n, f) KEY(n, KT_BOOL, f, 0, 0, 0)
#define KFN(n, fn)                                                             \
	{                                                                      \
		(n), KT_FN, 0, 0, 0, 0, (fn), NULL                             \
	}
#define KWARN(n)                                                               \
	{                                                                      \
		(n), KT_WARN, 0, 0, 0, 0, NULL, NULL                           \
	}
#define KREFUSE(n, why)                                                        \
	{                                                                      \
		(n), KT_REFUSE, 0, 0, 0, 0, NULL, (why)                        \
	}

#define WHY_TLS "clients would connect without TLS"
#define WHY_JWT "clients would not be authenticated by it"

/* operator, trusted_keys, resolver, ...: the auth_jwt plugin checks and
 * reads them, with the whole file's root as its settings. */
static int read_operator_mode(struct loader *l, const char *key,
			      const struct natsconf_value *v)
{
	(void)key;
	(void)v;
	l->o->jwt_settings = natsconf_hook(l->root);
	return 0;
}

/* websocket { ... }: the listener's settings (the websocket plugin reads
 * the same map for its own). */
static int read_ws_auth(struct loader *l, const struct natsconf_value *v)
{
	struct opts_websocket *w = &l->o->websocket;
	const struct natsconf_value *m;
	const char *name;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, "authorization", "a map");
	for (i = 0; i < natsconf_map_size(v); i++) {
		name = natsconf_map_key(v, i);
		m = natsconf_map_value(v, i);
		if (strcasecmp(name, "user") == 0 ||
		    strcasecmp(name, "username") == 0)
			rc = read_str(l, m, name, &w->user);
		else if (strcasecmp(name, "password") == 0 ||
			 strcasecmp(name, "pass") == 0)
			rc = read_str(l, m, name, &w->password);
		else if (strcasecmp(name, "token") == 0)
			rc = read_str(l, m, name, &w->token);
		else if (strcasecmp(name, "timeout") == 0)
			rc = read_duration(l, m, name, &w->auth_timeout);
		else
			rc = unknown_field(l, m, name);
		if (rc != 0)
			return rc;
	}
	if (w->auth_timeout < 0)
		return lerr(l, v, "timeout must not be negative");
	return 0;
}

/* allowed_origins entries must be URLs with a scheme and a host. */
static int read_ws_origins(struct loader *l, const struct natsconf_value *v,
			   const char *key)
{
	struct opts_strlist *list = &l->o->websocket.allowed_origins;
	const char *o, *p;
	size_t i;
	int rc;

	rc = read_strlist(l, v, key, list);
	for (i = 0; rc == 0 && i < list->n; i++) {
		o = list->v[i];
		p = strstr(o, "://");
		if (p == NULL || p == o || p[3] == '\0' || strchr(o, ' ') ||
		    strchr(o, '%'))
			return lerr(l, v,
				    "unable to parse allowed origin \"%s\"", o);
	}
	return rc;
}

static int read_ws_member(struct loader *l, const char *name,
			  const struct natsconf_value *m)
{
	struct opts_websocket *w = &l->o->websocket;
	int64_t v;
	int rc;

	if (strcasecmp(name, "host") == 0 || strcasecmp(name, "net") == 0)
		return read_str(l, m, name, &w->host);
	if (strcasecmp(name, "port") == 0) {
		rc = read_int(l, m, name, -1, 65535, &v);
		if (rc == 0)
			w->port = (int)v;
		return rc;
	}
	if (strcasecmp(name, "listen") == 0)
		return read_listen(l, m, name, &w->host, &w->port);
	if (strcasecmp(name, "advertise") == 0 ||
	    strcasecmp(name, "client_advertise") == 0)
		return read_str(l, m, name, &w->advertise);
	if (strcasecmp(name, "no_tls") == 0)
		return read_bool(l, m, name, &w->no_tls);
	if (strcasecmp(name, "tls") == 0) {
		if (natsconf_type(m) != NATSCONF_MAP)
			return wrong_type(l, m, name, "a map");
		w->has_tls = true;
		w->tls = natsconf_hook(m);
		/* Under a websocket the tls layer serves HTTP: a peer that
		 * sends plain HTTP gets Go's 400 reply. */
		if (natsconf_map_set_bool((struct natsconf_value *)m,
					  "http_server", true) == NATSD_ENOMEM)
			return nomem(l);
		return 0;
	}
	if (strcasecmp(name, "compression") == 0)
		return read_bool(l, m, name, &w->compression);
	if (strcasecmp(name, "same_origin") == 0)
		return read_bool(l, m, name, &w->same_origin);
	if (strcasecmp(name, "allowed_origins") == 0 ||
	    strcasecmp(name, "allowed_origin") == 0 ||
	    strcasecmp(name, "allow_origins") == 0 ||
	    strcasecmp(name, "allow_origin") == 0 ||
	    strcasecmp(name, "origins") == 0 || strcasecmp(name, "origin") == 0)
		return read_ws_origins(l, m, name);
	if (strcasecmp(name, "handshake_timeout") == 0) {
		rc = read_duration(l, m, name, &w->handshake_timeout);
		if (rc == 0 && w->handshake_timeout < 0)
			return lerr(l, m, "%s must not be negative", name);
		return rc;
	}
	if (strcasecmp(name, "jwt_cookie") == 0)
		return read_str(l, m, name, &w->jwt_cookie);
	if (strcasecmp(name, "no_auth_user") == 0)
		return read_str(l, m, name, &w->no_auth_user);
	if (strcasecmp(name, "authorization") == 0 ||
	    strcasecmp(name, "authentication") == 0)
		return read_ws_auth(l, m);
	return unknown_field(l, m, name);
}

static int read_websocket(struct loader *l, const char *key,
			  const struct natsconf_value *v)
{
	struct opts_websocket *w = &l->o->websocket;
	size_t i;
	int rc;

	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, key, "a map");
	for (i = 0; i < natsconf_map_size(v); i++) {
		rc = read_ws_member(l, natsconf_map_key(v, i),
				    natsconf_map_value(v, i));
		if (rc != 0)
			return rc;
	}
	w->set = true;
	w->cfg = natsconf_hook(v);
	if (w->host == NULL && opts_set_str(&w->host, OPTS_DEFAULT_HOST) != 0)
		return nomem(l);
	return set_where(l, v, &w->at);
}

/* tls { ... }: the tls plugin's settings, read by it. */
static int read_tls(struct loader *l, const char *key,
		    const struct natsconf_value *v)
{
	if (natsconf_type(v) != NATSCONF_MAP)
		return wrong_type(l, v, key, "a map { cert_file: ..., ... }");
	l->o->tls = natsconf_hook(v);
	return set_where(l, v, &l->o->tls_at);
}

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
	KFN("lame_duck_duration", read_lame_duck_duration),
	KFN("lame_duck_grace_period", read_lame_duck_grace),
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

	/* natsd's own */
	KSTR("plugin_dir", plugin_dir),
	KFN("plugins", read_plugins),
	KFN("auth_chain", read_auth_chain),
	KFN("client_transport", read_client_transport),
	KEY("io_threads", KT_INT, io_threads, 0, OPTS_MAX_IO_THREADS, 0),
	KFN("tcp_keepalive", read_tcp_keepalive),

	/* nats-server's, not in natsd yet: another listener or subsystem
	 * natsd does not open; the client port works as without it. */
	KWARN("cluster"),
	KWARN("gateway"),
	KWARN("leafnodes"),
	KWARN("leaf"),
	KWARN("mqtt"),
	KWARN("jetstream"),
	KWARN("store_dir"),
	KWARN("default_js_domain"),
	KWARN("server_tags"),
	KWARN("prof_port"),
	KWARN("connect_error_reports"),
	KWARN("reconnect_error_reports"),
	KWARN("disable_sublist_cache"),
	KWARN("no_sublist_cache"),
	KWARN("no_system_account"),

	/* Running without these would let clients in, or reach subjects,
	 * that nats-server keeps apart. */
	KFN("websocket", read_websocket),
	KFN("ws", read_websocket),
	/* Operator mode: auth_jwt reads these from the root. */
	KFN("operator", read_operator_mode),
	KFN("operators", read_operator_mode),
	KFN("trusted", read_operator_mode),
	KFN("trusted_keys", read_operator_mode),
	KFN("resolver", read_operator_mode),
	KFN("account_resolver", read_operator_mode),
	KFN("resolver_preload", read_operator_mode),
	KFN("resolver_timeout", read_operator_mode),
	KFN("resolver_cache_ttl", read_operator_mode),
	KFN("resolver_pinned_accounts", read_operator_mode),
	KFN("tls", read_tls),
	KBOOL("allow_non_tls", tls_allow_non_tls),
	KREFUSE("ocsp", WHY_TLS),
	KREFUSE("mappings", "messages would go to other subjects"),
	KREFUSE("maps", "messages would go to other subjects"),
	KREFUSE("root", WHY_JWT),
	KREFUSE("roots", WHY_JWT),
	KREFUSE("root_operator", WHY_JWT),
	KREFUSE("root_operators", WHY_JWT),
	KREFUSE("resolver_tls", WHY_JWT),
};

static int read_number(struct loader *l, const struct key_def *k,
		       const char *key, const struct natsconf_value *v,
		       int64_t *out)
{
	int rc;

	switch (k->type) {
	case KT_INT:
		return read_int(l, v, key, k->min, k->max, out);
	case KT_DUR:
		rc = read_duration(l, v, key, out);
		break;
	default:
		/* nats-server takes sizes as integers only; "1MB" bare is
		 * an integer already. */
		if (natsconf_type(v) != NATSCONF_INT)
			return wrong_type(l, v, key,
					  "a size (an integer "
					  "like 1048576 or 1MB)");
		*out = natsconf_int(v);
		rc = 0;
		break;
	}
	if (rc != 0)
		return rc;
	if (*out < k->min)
		return lerr(l, v, "%s must not be negative", key);
	if (*out > k->max)
		return lerr(l, v, "%s value is too big", key);
	return 0;
}

static int read_key(struct loader *l, const struct key_def *k, const char *key,
		    const struct natsconf_value *v)
{
	char *field = (char *)l->o + k->off;
	int64_t i;
	int rc;

	switch (k->type) {
	case KT_STR:
		return read_str(l, v, key, (char **)(void *)field);
	case KT_BOOL:
		return read_bool(l, v, key, (bool *)(void *)field);
	case KT_FN:
		return k->fn(l, key, v);
	case KT_WARN:
		return warn(l, v,
			    "\"%s\" is not supported by natsd yet and "
			    "is ignored",
			    key);
	case KT_REFUSE:
		return lerr(l, v,
			    "\"%s\" is not supported by natsd yet; "
			    "refusing to start without it (%s)",
			    key, k->why);
	default:
		break;
	}
	rc = read_number(l, k, key, v, &i);
	if (rc != 0)
		return rc;
	if (i == 0 && k->zero != 0)
		i = k->zero;
	if (k->type == KT_INT || k->type == KT_SIZE_INT)
		*(int *)(void *)field = (int)i;
	else
		*(int64_t *)(void *)field = i;
	return 0;
}

/* allow_non_tls is a top-level key in nats-server, but the tls plugin
 * reads its own section: the key is carried into the tls block. */
static int tls_allow_non_tls(struct loader *l, struct natsconf_value *root)
{
	struct natsconf_value *tls = natsconf_map_get(root, "tls");
	int rc;

	if (!l->o->tls_allow_non_tls || tls == NULL ||
	    natsconf_type(tls) != NATSCONF_MAP)
		return 0;
	rc = natsconf_map_set_bool(tls, "allow_non_tls", true);
	if (rc == NATSD_ENOMEM)
		return nomem(l);
	return 0;
}

static int read_root(struct loader *l, const struct natsconf_value *root)
{
	const char *name;
	size_t i, j;
	int rc;

	for (i = 0; i < natsconf_map_size(root); i++) {
		name = natsconf_map_key(root, i);
		for (j = 0; j < ARRAY_LEN(top_keys); j++)
			if (strcasecmp(name, top_keys[j].name) == 0)
				break;
		if (j == ARRAY_LEN(top_keys))
			rc = unknown_field(l, natsconf_map_value(root, i),
					   name);
		else
			rc = read_key(l, &top_keys[j], name,
				      natsconf_map_value(root, i));
		if (rc != 0)
			return rc;
	}
	return 0;
}

int natsconf_opts_load(struct natsconf_value *tree, const char *path,
		       struct opts *o, char *err, size_t errlen)
{
	struct loader l = {
		.root = tree, .o = o, .err = err, .errlen = errlen
	};
	int rc;

	if (o->conf != NULL) {
		natsconf_free(tree);
		snprintf(err, errlen, "%s: options already hold a config file",
			 path);
		return NATSD_EEXIST;
	}
	o->conf = tree;
	o->conf_free = tree_free;
	if (opts_set_str(&o->config_file, path) != 0 || hook_all(tree) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NATSD_ENOMEM;
	}
	rc = read_root(&l, tree);
	if (rc == 0)
		rc = tls_allow_non_tls(&l, tree);
	/* auth_nkey reads nkey users from authorization.users and
	 * accounts.<NAME>.users: it gets the whole file. */
	if (rc == 0 && o->nnkey_users > 0)
		o->nkey_settings = natsconf_hook(tree);
	if (rc != 0 && l.rc != 0)
		return l.rc;
	return rc;
}

void natsconf_opts_cluster(const struct opts *o, char *host, size_t hostlen,
			   int *port)
{
	const struct natsconf_value *c, *v;
	const char *colon, *str;

	snprintf(host, hostlen, "%s", "");
	*port = 0;
	if (natsconf_opts_root(o) == NULL)
		return;
	c = natsconf_map_get(o->conf, "cluster");
	if (natsconf_type(c) != NATSCONF_MAP)
		return;
	snprintf(host, hostlen, "%s", OPTS_DEFAULT_HOST);
	v = natsconf_map_get(c, "listen");
	str = natsconf_string(v);
	if (natsconf_type(v) == NATSCONF_INT) {
		*port = (int)natsconf_int(v);
	} else if (str != NULL && (colon = strrchr(str, ':')) != NULL) {
		if (colon > str)
			snprintf(host, hostlen, "%.*s", (int)(colon - str),
				 str);
		*port = (int)strtol(colon + 1, NULL, 10);
	}
	v = natsconf_map_get(c, "host");
	if (natsconf_type(v) != NATSCONF_STRING)
		v = natsconf_map_get(c, "net");
	if (natsconf_type(v) == NATSCONF_STRING)
		snprintf(host, hostlen, "%s", natsconf_string(v));
	v = natsconf_map_get(c, "port");
	if (natsconf_type(v) == NATSCONF_INT)
		*port = (int)natsconf_int(v);
}

/* ------------------------------------------------------------------ */
/* Getters                                                             */

const struct natsconf_value *
natsconf_opts_lookup(const struct natsconf_value *map, const char *key)
{
	const struct natsconf_value *v = map;
	const char *p = key;
	char name[256];
	size_t len;
	char *end;
	unsigned long idx;

	if (map == NULL || key == NULL || key[0] == '\0')
		return NULL;
	while (v != NULL) {
		len = strcspn(p, ".");
		if (len == 0 || len >= sizeof(name))
			return NULL;
		memcpy(name, p, len);
		name[len] = '\0';
		if (name[0] == '[') {
			errno = 0;
			idx = strtoul(name + 1, &end, 10);
			if (end == name + 1 || strcmp(end, "]") != 0 ||
			    errno != 0 || natsconf_type(v) != NATSCONF_ARRAY ||
			    idx >= natsconf_array_size(v))
				return NULL;
			v = natsconf_array_get(v, idx);
		} else {
			if (natsconf_type(v) != NATSCONF_MAP)
				return NULL;
			v = natsconf_map_get(v, name);
		}
		if (p[len] == '\0')
			return v;
		p += len + 1;
	}
	return NULL;
}

/* The value of key in m when it has type t: 0, NATSD_ENOENT (absent) or
 * NATSD_EINVAL (another type). */
static int lookup_typed(const struct natsconf_value *m, const char *key,
			enum natsconf_type t, const struct natsconf_value **v)
{
	*v = natsconf_opts_lookup(m, key);
	if (*v == NULL)
		return NATSD_ENOENT;
	return natsconf_type(*v) == t ? 0 : NATSD_EINVAL;
}

int natsconf_opts_cfg_string(const struct natsconf_value *m, const char *key,
			     const char **out)
{
	const struct natsconf_value *v;
	int rc = lookup_typed(m, key, NATSCONF_STRING, &v);

	if (rc == 0)
		*out = natsconf_string(v);
	return rc;
}

int natsconf_opts_cfg_int(const struct natsconf_value *m, const char *key,
			  int64_t *out)
{
	const struct natsconf_value *v;
	int rc = lookup_typed(m, key, NATSCONF_INT, &v);

	if (rc == 0)
		*out = natsconf_int(v);
	return rc;
}

int natsconf_opts_cfg_bool(const struct natsconf_value *m, const char *key,
			   bool *out)
{
	const struct natsconf_value *v;
	int rc = lookup_typed(m, key, NATSCONF_BOOL, &v);

	if (rc == 0)
		*out = natsconf_bool(v) != 0;
	return rc;
}

int natsconf_opts_cfg_duration(const struct natsconf_value *m, const char *key,
			       int64_t *ns)
{
	const struct natsconf_value *v = natsconf_opts_lookup(m, key);
	int64_t d;
	double f;

	if (v == NULL)
		return NATSD_ENOENT;
	if (natsconf_type(v) == NATSCONF_FLOAT) {
		f = natsconf_float(v) * 1e9;
		if (!(f < 9.2e18 && f > -9.2e18))
			return NATSD_EINVAL;
		*ns = (int64_t)f;
		return 0;
	}
	if (value_duration(v, &d) != 0)
		return NATSD_EINVAL;
	*ns = d;
	return 0;
}

int natsconf_opts_cfg_size(const struct natsconf_value *m, const char *key,
			   int64_t *bytes)
{
	const struct natsconf_value *v = natsconf_opts_lookup(m, key);
	int64_t b;

	if (v == NULL)
		return NATSD_ENOENT;
	if (value_size(v, &b) != 0)
		return NATSD_EINVAL;
	*bytes = b;
	return 0;
}

int natsconf_opts_cfg_list_len(const struct natsconf_value *m, const char *key,
			       size_t *n)
{
	const struct natsconf_value *v = natsconf_opts_lookup(m, key);

	if (v == NULL)
		return NATSD_ENOENT;
	if (!is_string_list(v))
		return NATSD_EINVAL;
	*n = string_list_len(v);
	return 0;
}

int natsconf_opts_cfg_list_string(const struct natsconf_value *m,
				  const char *key, size_t i, const char **out)
{
	const struct natsconf_value *v = natsconf_opts_lookup(m, key);

	if (v == NULL)
		return NATSD_ENOENT;
	if (!is_string_list(v))
		return NATSD_EINVAL;
	if (i >= string_list_len(v))
		return NATSD_ENOENT;
	*out = string_list_at(v, i);
	return 0;
}

int natsconf_opts_cfg_section(const struct natsconf_value *m, const char *key,
			      const struct natsd_cfg **out)
{
	const struct natsconf_value *v;
	int rc = lookup_typed(m, key, NATSCONF_MAP, &v);

	if (rc == 0)
		*out = natsconf_hook(v);
	return rc;
}

/* An array of maps (an empty array is one too). */
static const struct natsconf_value *map_array(const struct natsconf_value *m,
					      const char *key, int *rc)
{
	const struct natsconf_value *v;
	size_t i;

	*rc = lookup_typed(m, key, NATSCONF_ARRAY, &v);
	if (*rc != 0)
		return NULL;
	*rc = NATSD_EINVAL;
	for (i = 0; i < natsconf_array_size(v); i++)
		if (natsconf_type(natsconf_array_get(v, i)) != NATSCONF_MAP)
			return NULL;
	*rc = 0;
	return v;
}

int natsconf_opts_cfg_sections_len(const struct natsconf_value *m,
				   const char *key, size_t *n)
{
	const struct natsconf_value *v;
	int rc;

	v = map_array(m, key, &rc);
	if (v == NULL)
		return rc;
	*n = natsconf_array_size(v);
	return 0;
}

int natsconf_opts_cfg_sections_at(const struct natsconf_value *m,
				  const char *key, size_t i,
				  const struct natsd_cfg **out)
{
	const struct natsconf_value *v;
	int rc;

	v = map_array(m, key, &rc);
	if (v == NULL)
		return rc;
	if (i >= natsconf_array_size(v))
		return NATSD_ENOENT;
	*out = natsconf_hook(natsconf_array_get(v, i));
	return 0;
}

int natsconf_opts_cfg_key_at(const struct natsconf_value *m, size_t i,
			     const char **name)
{
	if (m == NULL || i >= natsconf_map_size(m))
		return NATSD_ENOENT;
	*name = natsconf_map_key(m, i);
	return 0;
}

int natsconf_opts_cfg_where(const struct natsconf_value *m, const char *key,
			    const char **file, int *line)
{
	const struct natsconf_value *v =
		key == NULL ? m : natsconf_opts_lookup(m, key);

	if (v == NULL)
		return NATSD_ENOENT;
	*file = natsconf_file(v);
	*line = natsconf_line(v);
	return 0;
}
