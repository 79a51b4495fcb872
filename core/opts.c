/* Server options: defaults, release and whole-set validation.
 *
 * Parsing lives elsewhere (conffile.c for the file, cli.c for the command
 * line); this file only knows the struct, so both can share it without
 * knowing each other. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <natsd/error.h>

#include "opts.h"
#include "subject.h"

int opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->port = OPTS_DEFAULT_PORT;
	o->logtime = true;
	o->max_control_line = OPTS_DEFAULT_MAX_CONTROL_LINE;
	o->max_payload = OPTS_DEFAULT_MAX_PAYLOAD;
	o->max_pending = OPTS_DEFAULT_MAX_PENDING;
	o->max_connections = OPTS_DEFAULT_MAX_CONNECTIONS;
	o->ping_interval = OPTS_DEFAULT_PING_INTERVAL;
	o->ping_max = OPTS_DEFAULT_PING_MAX;
	o->write_deadline = OPTS_DEFAULT_WRITE_DEADLINE;
	o->auth_timeout = OPTS_DEFAULT_AUTH_TIMEOUT;
	o->tcp_keepalive = OPTS_DEFAULT_TCP_KEEPALIVE;
	o->lame_duck_duration = OPTS_DEFAULT_LAME_DUCK_DURATION;
	o->lame_duck_grace_period = OPTS_DEFAULT_LAME_DUCK_GRACE;
	if (opts_set_str(&o->host, OPTS_DEFAULT_HOST) != 0 ||
	    opts_strlist_add(&o->client_transport, OPTS_DEFAULT_TRANSPORT) != 0)
		return NATSD_ENOMEM;
	return 0;
}

int opts_set_str(char **dst, const char *src)
{
	char *s = NULL;

	if (src != NULL) {
		s = strdup(src);
		if (s == NULL)
			return NATSD_ENOMEM;
	}
	free(*dst);
	*dst = s;
	return 0;
}

int opts_strlist_add(struct opts_strlist *l, const char *s)
{
	char **v;
	char *copy;

	copy = strdup(s);
	if (copy == NULL)
		return NATSD_ENOMEM;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(copy);
		return NATSD_ENOMEM;
	}
	v[l->n++] = copy;
	l->v = v;
	l->set = true;
	return 0;
}

void opts_strlist_clear(struct opts_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->set = false;
}

struct opts_perms *opts_perms_new(void)
{
	struct opts_perms *p;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->resp_max = OPTS_DEFAULT_RESP_MAX;
	p->resp_expires = OPTS_DEFAULT_RESP_EXPIRES;
	return p;
}

void opts_perms_free(struct opts_perms *p)
{
	if (p == NULL)
		return;
	opts_strlist_clear(&p->pub_allow);
	opts_strlist_clear(&p->pub_deny);
	opts_strlist_clear(&p->sub_allow);
	opts_strlist_clear(&p->sub_deny);
	free(p);
}

/* Grows an array of elements of size sz by one zeroed element. */
static void *grow_one(void *arr, size_t *n, size_t sz)
{
	char *a;

	a = realloc(arr, (*n + 1) * sz);
	if (a == NULL)
		return NULL;
	memset(a + *n * sz, 0, sz);
	(*n)++;
	return a;
}

struct opts_user *opts_user_add(struct opts *o)
{
	struct opts_user *u;

	u = grow_one(o->users, &o->nusers, sizeof(*u));
	if (u == NULL)
		return NULL;
	o->users = u;
	return &u[o->nusers - 1];
}

const struct opts_user *opts_user_find(const struct opts *o,
				       const char *name)
{
	size_t i;

	for (i = 0; i < o->nusers; i++)
		if (o->users[i].user != NULL &&
		    strcmp(o->users[i].user, name) == 0)
			return &o->users[i];
	return NULL;
}

struct opts_account *opts_account_add(struct opts *o)
{
	struct opts_account *a;

	a = grow_one(o->accounts, &o->naccounts, sizeof(*a));
	if (a == NULL)
		return NULL;
	o->accounts = a;
	a = &a[o->naccounts - 1];
	a->max_connections = -1;
	a->max_subscriptions = -1;
	a->max_payload = -1;
	return a;
}

struct opts_export *opts_export_add(struct opts_account *a)
{
	struct opts_export *e;

	e = grow_one(a->exports, &a->nexports, sizeof(*e));
	if (e == NULL)
		return NULL;
	a->exports = e;
	return &e[a->nexports - 1];
}

struct opts_import *opts_import_add(struct opts_account *a)
{
	struct opts_import *im;

	im = grow_one(a->imports, &a->nimports, sizeof(*im));
	if (im == NULL)
		return NULL;
	a->imports = im;
	return &im[a->nimports - 1];
}

const struct opts_account *opts_account_find(const struct opts *o,
					     const char *name)
{
	size_t i;

	for (i = 0; i < o->naccounts; i++)
		if (strcmp(o->accounts[i].name, name) == 0)
			return &o->accounts[i];
	return NULL;
}

static void account_fini(struct opts_account *a)
{
	size_t i;

	for (i = 0; i < a->nexports; i++) {
		free(a->exports[i].subject);
		opts_strlist_clear(&a->exports[i].accounts);
		free(a->exports[i].file);
	}
	free(a->exports);
	for (i = 0; i < a->nimports; i++) {
		free(a->imports[i].account);
		free(a->imports[i].subject);
		free(a->imports[i].prefix);
		free(a->imports[i].to);
		free(a->imports[i].file);
	}
	free(a->imports);
	free(a->name);
	free(a->file);
}

struct opts_plugin *opts_plugin_add(struct opts *o)
{
	struct opts_plugin *p;

	p = grow_one(o->plugins, &o->nplugins, sizeof(*p));
	if (p == NULL)
		return NULL;
	o->plugins = p;
	return &p[o->nplugins - 1];
}

/* A secret (password, token) is wiped so that it does not linger in freed
 * memory. */
static void free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void user_fini(struct opts_user *u)
{
	free(u->user);
	free_secret(u->password);
	free(u->account);
	opts_perms_free(u->perms);
	opts_strlist_clear(&u->conn_types);
	free(u->file);
	free(u->nkey);
}

void opts_fini(struct opts *o)
{
	size_t i;

	free(o->host);
	free(o->server_name);
	free(o->client_advertise);
	free(o->ports_file_dir);
	free(o->config_file);
	free(o->log_file);
	free(o->pid_file);
	free(o->remote_syslog);
	free(o->plugin_dir);
	free(o->http_host);
	free(o->http_base_path);
	free(o->user);
	free_secret(o->password);
	free_secret(o->token);
	free(o->no_auth_user);
	for (i = 0; i < o->nusers; i++)
		user_fini(&o->users[i]);
	free(o->users);
	opts_perms_free(o->default_permissions);
	for (i = 0; i < o->naccounts; i++)
		account_fini(&o->accounts[i]);
	free(o->accounts);
	free(o->system_account);
	for (i = 0; i < o->nplugins; i++) {
		free(o->plugins[i].load);
		free(o->plugins[i].file);
	}
	free(o->plugins);
	opts_strlist_clear(&o->auth_chain);
	free(o->auth_chain_at.file);
	opts_strlist_clear(&o->client_transport);
	free(o->client_transport_at.file);
	opts_strlist_clear(&o->conf_warnings);
	free(o->tls_at.file);
	free(o->tls_cert);
	free(o->tls_key);
	free(o->tls_ca);
	free(o->websocket.host);
	free(o->websocket.advertise);
	opts_strlist_clear(&o->websocket.allowed_origins);
	free(o->websocket.jwt_cookie);
	free(o->websocket.no_auth_user);
	free(o->websocket.user);
	free_secret(o->websocket.password);
	free_secret(o->websocket.token);
	free(o->websocket.at.file);
	/* Last: plugin settings pointed into it. */
	if (o->conf != NULL && o->conf_free != NULL)
		o->conf_free(o->conf);
	memset(o, 0, sizeof(*o));
}

/* Formats into err and returns NATSD_EINVAL, for one-line returns. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return NATSD_EINVAL;
}

static int check_port(const char *what, int port, char *err, size_t errlen)
{
	if (port < -1 || port > 65535)
		return fail(err, errlen, "%s %d is out of range (-1..65535)",
			    what, port);
	return 0;
}

static int check_limits(const struct opts *o, char *err, size_t errlen)
{
	if (o->max_control_line <= 0)
		return fail(err, errlen, "max_control_line must be positive");
	if (o->max_payload <= 0)
		return fail(err, errlen, "max_payload must be positive");
	if (o->max_payload > INT32_MAX)
		return fail(err, errlen, "max_payload value is too big");
	if (o->max_pending <= 0)
		return fail(err, errlen, "max_pending must be positive");
	if (o->max_payload > o->max_pending)
		return fail(err, errlen,
			    "max_payload (%lld) cannot be higher than "
			    "max_pending (%lld)",
			    (long long)o->max_payload,
			    (long long)o->max_pending);
	if (o->max_subscriptions < 0)
		return fail(err, errlen, "max_subscriptions must not be "
			    "negative");
	if (o->max_sub_tokens < 0 || o->max_sub_tokens > OPTS_MAX_SUB_TOKENS)
		return fail(err, errlen, "max_sub_tokens must be 0..%d",
			    OPTS_MAX_SUB_TOKENS);
	if (o->io_threads < 0 || o->io_threads > OPTS_MAX_IO_THREADS)
		return fail(err, errlen, "io_threads must be 0..%d",
			    OPTS_MAX_IO_THREADS);
	if (o->log_size_limit < 0)
		return fail(err, errlen, "log_size_limit must not be negative");
	if (o->max_traced_msg_len < 0)
		return fail(err, errlen, "max_traced_msg_len must not be "
			    "negative");
	return 0;
}

static int check_timers(const struct opts *o, char *err, size_t errlen)
{
	if (o->ping_interval <= 0)
		return fail(err, errlen, "ping_interval must be positive");
	if (o->ping_max <= 0)
		return fail(err, errlen, "ping_max must be positive");
	if (o->write_deadline <= 0)
		return fail(err, errlen, "write_deadline must be positive");
	if (o->auth_timeout <= 0)
		return fail(err, errlen, "authorization timeout must be "
			    "positive");
	if (o->tcp_keepalive < 0)
		return fail(err, errlen, "tcp_keepalive must not be negative");
	if (o->lame_duck_duration <= 0)
		return fail(err, errlen, "lame_duck_duration must be positive");
	if (o->lame_duck_grace_period < 0)
		return fail(err, errlen, "invalid lame_duck_grace_period, "
			    "needs to be positive");
	return 0;
}

static int check_auth(const struct opts *o, char *err, size_t errlen)
{
	size_t i;

	if (o->no_auth_user != NULL) {
		if (o->nusers == 0)
			return fail(err, errlen, "no_auth_user: \"%s\" "
				    "present, but users are not defined",
				    o->no_auth_user);
		if (opts_user_find(o, o->no_auth_user) == NULL)
			return fail(err, errlen, "no_auth_user: \"%s\" not "
				    "present as user in authorization block",
				    o->no_auth_user);
	}
	for (i = 0; i < o->auth_chain.n; i++)
		if (o->auth_chain.v[i][0] == '\0')
			return fail(err, errlen, "auth_chain: empty "
				    "authenticator name");
	return 0;
}

static const char *kind_name(bool service)
{
	return service ? "service" : "stream";
}

static bool strlist_has(const struct opts_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* Does exporter offer im (same kind, a subject that covers it, importer
 * allowed)? */
static bool import_allowed(const struct opts_account *exporter,
			   const struct opts_import *im, const char *importer)
{
	const struct opts_export *e;
	size_t i;

	for (i = 0; i < exporter->nexports; i++) {
		e = &exporter->exports[i];
		if (e->service != im->service ||
		    !subject_subset(im->subject, strlen(im->subject),
				    e->subject, strlen(e->subject)))
			continue;
		if (!e->accounts.set || strlist_has(&e->accounts, importer))
			return true;
	}
	return false;
}

/* Messages as nats-server words them, after "FILE:LINE: ". */
static int check_accounts(const struct opts *o, char *err, size_t errlen)
{
	const struct opts_account *a, *x;
	const struct opts_export *e;
	const struct opts_import *im;
	size_t i, j, k;

	for (i = 0; i < o->naccounts; i++) {
		a = &o->accounts[i];
		for (j = 0; j < a->nexports; j++) {
			e = &a->exports[j];
			for (k = 0; k < e->accounts.n; k++)
				if (opts_account_find(o, e->accounts.v[k]) ==
				    NULL)
					return fail(err, errlen,
						    "%s:%d: \"%s\" account not "
						    "defined for %s export",
						    e->file, e->line,
						    e->accounts.v[k],
						    kind_name(e->service));
		}
		for (j = 0; j < a->nimports; j++) {
			im = &a->imports[j];
			x = opts_account_find(o, im->account);
			if (x == NULL)
				return fail(err, errlen,
					    "%s:%d: \"%s\" account not defined "
					    "for %s import",
					    im->file, im->line, im->account,
					    kind_name(im->service));
			if (!import_allowed(x, im, a->name))
				return fail(err, errlen,
					    "%s:%d: Error adding %s import "
					    "\"%s\": %s import not authorized",
					    im->file, im->line,
					    kind_name(im->service), im->subject,
					    kind_name(im->service));
		}
	}
	return 0;
}

bool opts_ws_auth_override(const struct opts *o)
{
	const struct opts_websocket *w = &o->websocket;

	return w->user != NULL || w->token != NULL || w->no_auth_user != NULL;
}

/* nats-server's validateWebsocketOptions, with its messages. */
static int check_websocket(const struct opts *o, char *err, size_t errlen)
{
	const struct opts_websocket *w = &o->websocket;
	int rc;

	if (!w->set || w->port == 0)
		return 0;
	if ((rc = check_port("websocket port", w->port, err, errlen)) != 0)
		return rc;
	if (!w->has_tls && !w->no_tls)
		return fail(err, errlen,
			    "websocket requires TLS "
			    "configuration");
	if (w->no_auth_user != NULL) {
		if (o->nusers == 0)
			return fail(err, errlen,
				    "no_auth_user: \"%s\" "
				    "present, but users are not defined",
				    w->no_auth_user);
		if (opts_user_find(o, w->no_auth_user) == NULL)
			return fail(err, errlen,
				    "no_auth_user: \"%s\" not "
				    "present as user in authorization block",
				    w->no_auth_user);
	}
	if (o->nusers > 0 && w->user != NULL)
		return fail(err, errlen,
			    "websocket authentication username "
			    "not compatible with presence of users/nkeys");
	if (o->nusers > 0 && w->token != NULL)
		return fail(err, errlen,
			    "websocket authentication token not "
			    "compatible with presence of users/nkeys");
	return 0;
}

int opts_validate(const struct opts *o, char *err, size_t errlen)
{
	size_t i;
	int rc;

	if (o->host == NULL || o->host[0] == '\0')
		return fail(err, errlen, "host must not be empty");
	if ((rc = check_port("port", o->port, err, errlen)) != 0 ||
	    (rc = check_port("http_port", o->http_port, err, errlen)) != 0 ||
	    (rc = check_port("https_port", o->https_port, err, errlen)) != 0)
		return rc;
	if ((rc = check_limits(o, err, errlen)) != 0 ||
	    (rc = check_timers(o, err, errlen)) != 0 ||
	    (rc = check_auth(o, err, errlen)) != 0 ||
	    (rc = check_accounts(o, err, errlen)) != 0 ||
	    (rc = check_websocket(o, err, errlen)) != 0)
		return rc;
	/* nats-server's words, for its flags. */
	if (o->tls_flags && o->tls_cert == NULL)
		return fail(err, errlen,
			    "TLS Server certificate must be "
			    "present and valid");
	if (o->tls_flags && o->tls_key == NULL)
		return fail(err, errlen,
			    "TLS Server private key must be "
			    "present and valid");
	if (o->client_transport.n == 0)
		return fail(err, errlen, "client_transport must name at least "
			    "one transport");
	for (i = 0; i < o->client_transport.n; i++)
		if (o->client_transport.v[i][0] == '\0')
			return fail(err, errlen, "client_transport: empty "
				    "transport name");
	for (i = 0; i < o->nplugins; i++)
		if (o->plugins[i].load == NULL || o->plugins[i].load[0] == '\0')
			return fail(err, errlen, "plugins: empty load name");
	return 0;
}
