/* Server assembly: workers, plugins, the client listener, signals,
 * reload and shutdown.
 *
 * The main thread runs a loop of its own for listeners, signals (through
 * a signalfd, so handlers never run inside other code) and plugin timers.
 * Each worker thread runs one loop and owns the connections handed to it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <jansson.h>

#include "account.h"
#include "client.h"
#include "auth.h"
#include "cli.h"
#include "conffile.h"
#include "conn.h"
#include "host.h"
#include "imports.h"
#include "log.h"
#include "natsconf_opts.h"
#include "monitor.h"
#include "nkey.h"
#include "plugin_loader.h"
#include "portsfile.h"
#include "reload_diff.h"
#include "server.h"

static __thread struct worker *current_worker;

struct worker *server_current_worker(void)
{
	return current_worker;
}

struct worker *server_pick_worker(struct server *s)
{
	uint32_t n = atomic_fetch_add(&s->next_worker, 1);

	return &s->workers[n % (uint32_t)s->nworkers];
}

int worker_add_conn(struct worker *w, struct conn *c)
{
	struct conn **nv;
	uint32_t cap;

	if (w->nconns == w->capconns) {
		cap = w->capconns ? w->capconns * 2 : 64;
		nv = realloc(w->conns, cap * sizeof(*nv));
		if (nv == NULL)
			return NATSD_ENOMEM;
		w->conns = nv;
		w->capconns = cap;
	}
	c->widx = w->nconns;
	w->conns[w->nconns++] = c;
	return 0;
}

void worker_del_conn(struct worker *w, struct conn *c)
{
	struct conn *last;

	if (c->widx >= w->nconns || w->conns[c->widx] != c)
		return;
	last = w->conns[--w->nconns];
	w->conns[c->widx] = last;
	last->widx = c->widx;
}

void worker_wake_later(struct worker *o)
{
	struct worker *cur = current_worker;

	if (cur != NULL && o->id < 64) {
		cur->wake_mask |= 1ull << o->id;
		return;
	}
	loop_wake(o->loop);
}

/* End of a worker's turn: flush, then wake the workers it queued bytes
 * for, once each. */
static void worker_after(struct loop *l, void *arg)
{
	struct worker *w = arg;
	uint64_t mask;
	int i;

	(void)l;
	conn_flush_pending(w);
	mask = w->wake_mask;
	w->wake_mask = 0;
	for (i = 0; mask != 0; i++, mask >>= 1)
		if (mask & 1)
			loop_wake(w->srv->workers[i].loop);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	current_worker = w;
	loop_run(w->loop);
	current_worker = NULL;
	return NULL;
}

static int workers_start(struct server *s)
{
	sigset_t all, old;
	int i, n = s->opts.io_threads;

	if (n <= 0) {
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
	}
	/* Workers plus the main loop fit the loop table (loop.c). */
	if (n > 63) {
		log_warn("io_threads %d: using 63, the most natsd runs", n);
		n = 63;
	}
	s->workers = calloc((size_t)n, sizeof(*s->workers));
	if (s->workers == NULL)
		return NATSD_ENOMEM;
	s->nworkers = n;
	for (i = 0; i < n; i++) {
		struct worker *w = &s->workers[i];

		w->id = i;
		w->srv = s;
		w->scratch = malloc(WORKER_SCRATCH);
		w->loop = loop_new(i + 1);
		if (w->scratch == NULL || w->loop == NULL)
			return NATSD_ENOMEM;
		loop_set_after(w->loop, worker_after, w);
	}
	/* Workers never take signals: the main loop's signalfd does. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++) {
		if (pthread_create(&s->workers[i].thread, NULL, worker_main,
				   &s->workers[i]) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return NATSD_ENOMEM;
		}
		s->workers[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

static int json_add(json_t *o, const char *k, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(o, k, v);
}

/* INFO fields in nats-server's order, without the per-connection tail
 * and the closing brace. */
static int build_info_prefix(struct server *s, bool auth_required, char **out)
{
	const struct opts *o = &s->opts;
	json_t *j;
	char *txt, *prefix;
	size_t len;
	int rc = 0;

	j = json_object();
	if (j == NULL)
		return NATSD_ENOMEM;
	rc |= json_add(j, "server_id", json_string(s->server_id));
	rc |= json_add(j, "server_name", json_string(s->server_name));
	rc |= json_add(j, "version", json_string(NATSD_COMPAT_VERSION));
	rc |= json_add(j, "proto", json_integer(1));
	rc |= json_add(j, "go", json_string("natsd " PACKAGE_VERSION));
	rc |= json_add(j, "host", json_string(o->host ? o->host : "0.0.0.0"));
	rc |= json_add(j, "port", json_integer(s->client_port));
	rc |= json_add(j, "headers", json_boolean(!o->no_header_support));
	if (auth_required)
		rc |= json_add(j, "auth_required", json_true());
	if (s->client_tf & NATSD_TF_TLS_REQUIRED)
		rc |= json_add(j, "tls_required", json_true());
	if (s->client_tf & NATSD_TF_TLS_VERIFY)
		rc |= json_add(j, "tls_verify", json_true());
	if (s->client_tf & NATSD_TF_TLS_AVAILABLE)
		rc |= json_add(j, "tls_available", json_true());
	rc |= json_add(j, "max_payload", json_integer(o->max_payload));
	if (s->lame_duck)
		rc |= json_add(j, "ldm", json_true());
	rc |= json_add(j, "natsd_version", json_string(PACKAGE_VERSION));
	txt = rc == 0 ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT)
		      : NULL;
	json_decref(j);
	if (txt == NULL)
		return NATSD_ENOMEM;
	len = strlen(txt);
	prefix = malloc(len + 6);
	if (prefix == NULL) {
		free(txt);
		return NATSD_ENOMEM;
	}
	/* "INFO " + the object without its closing brace. */
	memcpy(prefix, "INFO ", 5);
	memcpy(prefix + 5, txt, len - 1);
	prefix[len + 4] = '\0';
	free(txt);
	*out = prefix;
	return 0;
}

int server_build_info(struct server *s)
{
	char *prefix, *ws = NULL;
	int rc;

	rc = build_info_prefix(s, s->auth_required, &prefix);
	if (rc != 0)
		return rc;
	/* nats-server sends websocket clients the same INFO, but for
	 * auth_required when the websocket block has authorization. */
	if (s->ws_listener != NULL && s->ws_auth_required != s->auth_required) {
		rc = build_info_prefix(s, s->ws_auth_required, &ws);
		if (rc != 0) {
			free(prefix);
			return rc;
		}
	}
	pthread_mutex_lock(&s->info_lock);
	/* Readers copy it into an outbound queue under the lock. */
	free(s->info_prefix);
	s->info_prefix = prefix;
	free(s->ws_info_prefix);
	s->ws_info_prefix = ws;
	pthread_mutex_unlock(&s->info_lock);
	return 0;
}

/* Loads one plugin; where (may be NULL) is the directive that named it,
 * authz whether its settings are the authorization section. */
static int load_plugin(struct server *s, const char *load,
		       const struct natsd_cfg *settings,
		       const struct opts_plugin *where, bool authz)
{
	const struct opts *o = &s->opts;
	char path[4096], err[1024];
	struct plugin *p, **nv;
	size_t nt, na, nl;
	int rc;

	rc = plugin_resolve(load, o->plugin_dir, path, sizeof(path));
	if (rc != 0) {
		log_fatal("plugin %s: path too long", load);
		return rc;
	}
	nt = s->reg->ntransports;
	na = s->reg->nauths;
	nl = s->reg->nlinks;
	rc = plugin_load(path, host_handle(s), host_api(), settings, s->plugins,
			 s->nplugins, &p, err, sizeof(err));
	if (rc != 0) {
		registry_truncate(s->reg, nt, na, nl);
		if (where != NULL && where->file != NULL)
			log_fatal("%s:%d: %s", where->file, where->line, err);
		else
			log_fatal("%s", err);
		return rc;
	}
	nv = realloc(s->plugins, (s->nplugins + 1) * sizeof(*nv));
	if (nv == NULL) {
		plugin_unload(p);
		return NATSD_ENOMEM;
	}
	s->plugins = nv;
	s->plugins[s->nplugins++] = p;
	/* Its authenticators get the re-read settings on reload. where is
	 * in s->opts, which a reload keeps. */
	for (; na < s->reg->nauths; na++) {
		s->reg->auths[na]->load = where != NULL ? where->load : NULL;
		s->reg->auths[na]->authz = authz;
	}
	log_debug("Loaded plugin %s %s from %s", plugin_name(p),
		  plugin_version(p), plugin_path(p));
	return 0;
}

static bool ws_enabled(const struct opts *o)
{
	return o->websocket.set && o->websocket.port != 0;
}

static int load_plugins(struct server *s)
{
	const struct opts *o = &s->opts;
	size_t i, na;
	int rc;

	for (i = 0; i < o->nplugins; i++) {
		rc = load_plugin(s, o->plugins[i].load, o->plugins[i].settings,
				 &o->plugins[i], false);
		if (rc != 0)
			return rc;
	}
	/* nkey users in authorization.users are checked by auth_nkey, which
	 * reads them from the authorization section. */
	if (o->nnkey_users > 0 && registry_auth(s->reg, "nkey") == NULL) {
		rc = load_plugin(s, "auth_nkey", o->nkey_settings, NULL, true);
		if (rc != 0)
			return rc;
	}
	/* Operator mode keys at the top: auth_jwt reads them from there. */
	if (o->jwt_settings != NULL && registry_auth(s->reg, "jwt") == NULL) {
		na = s->reg->nauths;
		rc = load_plugin(s, "auth_jwt", o->jwt_settings, NULL, false);
		if (rc != 0)
			return rc;
		for (; na < s->reg->nauths; na++)
			s->reg->auths[na]->jwt_root = true;
	}
	/* The tcp transport comes by default, like nats-server's plain
	 * listener, and so does the websocket one when configured. */
	if (registry_transport(s->reg, "tcp") == NULL) {
		rc = load_plugin(s, "transport_tcp", NULL, NULL, false);
		if (rc != 0)
			return rc;
	}
	if (ws_enabled(o) && registry_transport(s->reg, "websocket") == NULL)
		return load_plugin(s, "transport_websocket", NULL, NULL, false);
	return 0;
}

/* Appends v to buf as a libconfig string literal. */
static void tls_quote(char *buf, size_t cap, const char *key, const char *v)
{
	size_t n = strlen(buf);

	if (v == NULL)
		return;
	n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s = \"", key);
	for (; *v != '\0' && n + 4 < cap; v++) {
		if (*v == '"' || *v == '\\')
			buf[n++] = '\\';
		buf[n++] = *v;
	}
	if (n + 4 < cap)
		snprintf(buf + n, cap - n, "\";\n");
}

/* The section the --tls* flags make (they replace the tls block, as
 * nats-server's overrideTLS does), into *owner and *out. */
static int tls_flags_section(const struct opts *o, void **owner,
			     const struct natsd_cfg **out, char *err,
			     size_t errlen)
{
	char text[8192] = "";

	tls_quote(text, sizeof(text), "cert_file", o->tls_cert);
	tls_quote(text, sizeof(text), "key_file", o->tls_key);
	tls_quote(text, sizeof(text), "ca_file", o->tls_ca);
	if (o->tls_verify_flag)
		strncat(text, "verify = true;\n",
			sizeof(text) - strlen(text) - 1);
	if (o->tls_allow_non_tls)
		strncat(text, "allow_non_tls = true;\n",
			sizeof(text) - strlen(text) - 1);
	return conffile_from_text(text, owner, out, err, errlen);
}

/* TLS on the client port: the tls block, or the --tls* flags, which
 * replace it (nats-server's overrideTLS), load transport_tls with those
 * settings; open_client_listener() stacks it over the client transport. */
static int load_tls(struct server *s)
{
	const struct opts *o = &s->opts;
	const struct natsd_cfg *settings = o->tls;
	char err[1024];
	int rc;

	if (o->tls == NULL && !o->tls_flags)
		return 0;
	if (registry_transport(s->reg, "tls") != NULL) {
		log_fatal("the tls block and a transport_tls plugin entry "
			  "cannot both be given");
		return NATSD_EEXIST;
	}
	if (o->tls_flags) {
		rc = tls_flags_section(o, &s->tls_flags_conf, &settings, err,
				       sizeof(err));
		if (rc != 0) {
			log_fatal("%s", err);
			return rc;
		}
	}
	return load_plugin(s, "transport_tls", settings, NULL, false);
}

/* The client listener's transport stack: client_transport, with tls on
 * top when the tls block or the flags ask for it. */
static void client_stack(const struct opts *o, bool tls, char *stack,
			 size_t len)
{
	bool has_tls = false;
	size_t i;

	stack[0] = '\0';
	for (i = 0; i < o->client_transport.n; i++) {
		if (i > 0)
			strncat(stack, ",", len - strlen(stack) - 1);
		strncat(stack, o->client_transport.v[i],
			len - strlen(stack) - 1);
		if (strcmp(o->client_transport.v[i], "tls") == 0)
			has_tls = true;
	}
	if (tls && !has_tls)
		strncat(stack, ",tls", len - strlen(stack) - 1);
	if (stack[0] == '\0')
		snprintf(stack, len, "tcp");
}

/* wss://: the websocket block's tls section is given to the tls layer
 * of its listener; the plugin is loaded without settings of its own
 * when the client port has no TLS. */
static int load_ws_tls(struct server *s)
{
	const struct opts_websocket *w = &s->opts.websocket;

	if (!ws_enabled(&s->opts) || w->tls == NULL ||
	    registry_transport(s->reg, "tls") != NULL)
		return 0;
	return load_plugin(s, "transport_tls", NULL, NULL, false);
}

static int open_client_listener(struct server *s)
{
	const struct opts *o = &s->opts;
	struct natsd_listen_spec spec = { .struct_size = sizeof(spec) };
	char stack[256], err[512];
	int rc;

	client_stack(o, o->tls != NULL || o->tls_flags, stack, sizeof(stack));
	spec.host = o->host ? o->host : "0.0.0.0";
	spec.port = o->port < 0 ? 0 : o->port;
	spec.backlog = 1024;
	rc = listener_open(s, NATSD_KIND_CLIENT, NULL, stack, &spec,
			   &s->client_listener, err, sizeof(err));
	if (rc != 0) {
		log_fatal("Error listening on port: %s:%d, \"%s\"", spec.host,
			  spec.port, err);
		return rc;
	}
	s->client_port = listener_port(s->client_listener);
	s->client_tf = listener_flags(s->client_listener);
	log_info("Listening for client connections on %s:%d", spec.host,
		 s->client_port);
	return 0;
}

/* The websocket listener: tcp and the websocket layer, which gets the
 * websocket block as its section; with a tls block inside (wss://) tcp,
 * tls and websocket, the tls layer getting that block. Both handshake at
 * accept, as nats-server's websocket HTTP server does. */
static int open_ws_listener(struct server *s)
{
	const struct opts_websocket *w = &s->opts.websocket;
	struct natsd_listen_spec spec = { .struct_size = sizeof(spec) };
	const struct natsd_cfg *cfgs[2] = { w->cfg, NULL };
	const char *stack = "tcp,websocket";
	char err[512];
	int rc;

	if (!ws_enabled(&s->opts))
		return 0;
	if (w->tls != NULL) {
		cfgs[0] = w->tls;
		cfgs[1] = w->cfg;
		stack = "tcp,tls,websocket";
	}
	spec.host = w->host ? w->host : "0.0.0.0";
	spec.port = w->port < 0 ? 0 : w->port;
	spec.backlog = 1024;
	rc = listener_open_cfg(s, NATSD_KIND_CLIENT, NULL, stack, &spec, cfgs,
			       2, &s->ws_listener, err, sizeof(err));
	if (rc != 0) {
		log_fatal("Unable to listen for websocket connections: %s",
			  err);
		return rc;
	}
	s->ws_tf = listener_flags(s->ws_listener);
	/* The plugin has logged what is wrong with the section. */
	if (w->tls != NULL &&
	    !(s->ws_tf & (NATSD_TF_TLS_REQUIRED | NATSD_TF_TLS_AVAILABLE))) {
		log_fatal("Unable to listen for websocket connections: "
			  "invalid tls configuration");
		listener_close(s->ws_listener);
		s->ws_listener = NULL;
		return NATSD_EINVAL;
	}
	s->ws_port = listener_port(s->ws_listener);
	log_info("Listening for websocket clients on %s://%s:%d",
		 w->tls != NULL ? "wss" : "ws", spec.host, s->ws_port);
	if (w->tls == NULL)
		log_warn("Websocket not configured with TLS. DO NOT USE IN "
			 "PRODUCTION!");
	return 0;
}

static int write_pid_file(struct server *s)
{
	FILE *f;

	if (s->opts.pid_file == NULL)
		return 0;
	f = fopen(s->opts.pid_file, "w");
	if (f == NULL) {
		log_fatal("Could not write pidfile: %s", strerror(errno));
		return -errno;
	}
	fprintf(f, "%d", (int)getpid());
	fclose(f);
	return 0;
}

/* <ports_file_dir>/<exe>_<pid>.ports, when the option is set. */
static int write_ports_file(struct server *s)
{
	char err[512];
	int rc;
	struct portsfile_urls u = {
		.host = s->opts.host,
		.port = s->client_port,
		.mon_host =
			s->opts.http_host ? s->opts.http_host : s->opts.host,
		.mon_port = s->monitor ? monitor_port(s->monitor) : 0,
		.mon_tls = s->monitor != NULL && monitor_https(s->monitor),
		.ws_host = s->opts.websocket.host,
		.ws_port = s->ws_listener ? s->ws_port : 0,
		.ws_tls = s->ws_listener && s->opts.websocket.tls,
	};

	if (s->opts.ports_file_dir == NULL)
		return 0;
	rc = portsfile_write(s->opts.ports_file_dir, s->exe ? s->exe : "natsd",
			     &u, &s->ports_path, err, sizeof(err));
	if (rc != 0)
		log_fatal("%s", err);
	return rc;
}

static void signal_event(struct loop *l, void *arg, uint32_t events);

static int setup_signals(struct server *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd == -1)
		return -errno;
	return loop_io_add(s->main_loop, &s->sig_io, s->sigfd, EPOLLIN,
			   signal_event, s);
}

int server_start(struct server *s)
{
	int rc;

	pthread_mutex_init(&s->opts_lock, NULL);
	pthread_mutex_init(&s->info_lock, NULL);
	pthread_mutex_init(&s->timers_lock, NULL);
	s->sigfd = -1;
	s->start_ns = host_wall_ns();
	rc = nkey_new_server_id(s->server_id, sizeof(s->server_id));
	if (rc != 0) {
		log_fatal("Cannot create the server identity");
		return rc;
	}
	s->server_name = strdup(s->opts.server_name ? s->opts.server_name
						     : s->server_id);
	s->main_loop = loop_new(0);
	s->reg = registry_new();
	if (s->server_name == NULL || s->main_loop == NULL || s->reg == NULL)
		return NATSD_ENOMEM;
	rc = setup_signals(s);
	if (rc != 0) {
		log_fatal("Cannot set up signal handling: %s", strerror(-rc));
		return rc;
	}
	log_info("Starting natsd");
	log_info("  Version:  %s (nats-server %s compatible)", PACKAGE_VERSION,
		 NATSD_COMPAT_VERSION);
	log_info("  Name:     %s", s->server_name);
	log_info("  ID:       %s", s->server_id);
	if (s->opts.config_file != NULL)
		log_info("Using configuration file: %s", s->opts.config_file);
	rc = auth_builtin_register(s);
	if (rc != 0)
		return rc;
	rc = load_plugins(s);
	if (rc == 0)
		rc = load_tls(s);
	if (rc == 0)
		rc = reload_tls_read(&s->opts, &s->tls_now);
	if (rc == 0)
		rc = load_ws_tls(s);
	if (rc != 0)
		return rc;
	{
		char err[512];

		rc = auth_chain_build(s, err, sizeof(err));
		if (rc != 0) {
			log_fatal("%s", err);
			return rc;
		}
	}
	rc = workers_start(s);
	if (rc != 0) {
		log_fatal("Cannot start I/O threads");
		return rc;
	}
	s->accounts = accounts_new(s);
	if (s->accounts == NULL)
		return NATSD_ENOMEM;
	s->gacc = accounts_get(s->accounts, "$G", true);
	s->sysacc = accounts_get(
		s->accounts,
		s->opts.system_account ? s->opts.system_account : "$SYS", true);
	if (s->gacc == NULL || s->sysacc == NULL)
		return NATSD_ENOMEM;
	s->sysacc->is_system = true;
	s->imports = imports_new(s);
	if (s->imports == NULL || imports_configure(s->imports, &s->opts) != 0)
		return NATSD_ENOMEM;
	/* Monitoring comes up before the client listener, as in
	 * nats-server, so that the first client is already seen; its
	 * system account requests are served with or without a port. */
	rc = monitor_start(s, &s->monitor);
	if (rc != 0)
		return rc;
	s->closed_hook = monitor_conn_closed;
	s->connect_hook = monitor_conn_connected;
	rc = open_ws_listener(s);
	if (rc != 0)
		return rc;
	rc = open_client_listener(s);
	if (rc != 0)
		return rc;
	rc = server_build_info(s);
	if (rc != 0)
		return rc;
	rc = host_links_start(s);
	if (rc != 0)
		return rc;
	rc = write_pid_file(s);
	if (rc != 0)
		return rc;
	rc = write_ports_file(s);
	if (rc != 0)
		return rc;
	log_info("Server is ready");
	return 0;
}

static void server_stop(struct server *s, int code)
{
	s->exit_code = code;
	loop_stop(s->main_loop);
}

/* Puts the re-read options in force, keeping what cannot change while
 * running: listen address, name, threads, and the plugins with the parsed
 * file their settings point into. Afterwards *no holds what is to be
 * freed. */
static void reload_swap(struct opts *cur, struct opts *no)
{
	struct opts tmp;

#define KEEP(f)                                        \
	do {                                           \
		__typeof__(cur->f) keep_ = cur->f;     \
		cur->f = no->f;                        \
		no->f = keep_;                         \
	} while (0)
	KEEP(host);
	KEEP(port);
	KEEP(server_name);
	KEEP(config_file);
	KEEP(plugin_dir);
	KEEP(io_threads);
	KEEP(plugins);
	KEEP(nplugins);
	KEEP(conf);
	KEEP(conf_free);
	/* Points into the kept file; auth_nkey gets the re-read users
	 * through reload_settings. */
	KEEP(nkey_settings);
	KEEP(jwt_settings);
	KEEP(client_transport);
	/* Points into the kept file; the settings a reload brings went to
	 * the tls plugin (reload_tls()) and the facts to s->tls_now. */
	KEEP(tls);
	KEEP(tls_flags);
	KEEP(tls_verify_flag);
	KEEP(tls_cert);
	KEEP(tls_key);
	KEEP(tls_ca);
	KEEP(tls_allow_non_tls);
	KEEP(auth_chain);
	KEEP(websocket); /* its listener and the section it was given */
#undef KEEP
	tmp = *cur;
	*cur = *no;
	*no = tmp;
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Whether the websocket block is the same but for its tls section, which
 * a reload hands to the tls layer (reload_ws_tls()). */
static bool ws_same(const struct opts_websocket *a,
		    const struct opts_websocket *b)
{
	size_t i;

	if (a->set != b->set || a->port != b->port ||
	    strcmp(str_or_empty(a->host), str_or_empty(b->host)) != 0 ||
	    strcmp(str_or_empty(a->advertise), str_or_empty(b->advertise)) ||
	    a->no_tls != b->no_tls || a->has_tls != b->has_tls ||
	    a->compression != b->compression ||
	    a->same_origin != b->same_origin ||
	    a->handshake_timeout != b->handshake_timeout ||
	    strcmp(str_or_empty(a->jwt_cookie), str_or_empty(b->jwt_cookie)) ||
	    strcmp(str_or_empty(a->no_auth_user),
		   str_or_empty(b->no_auth_user)) != 0 ||
	    strcmp(str_or_empty(a->user), str_or_empty(b->user)) != 0 ||
	    strcmp(str_or_empty(a->password), str_or_empty(b->password)) ||
	    strcmp(str_or_empty(a->token), str_or_empty(b->token)) != 0 ||
	    a->auth_timeout != b->auth_timeout ||
	    a->allowed_origins.n != b->allowed_origins.n)
		return false;
	for (i = 0; i < a->allowed_origins.n; i++)
		if (strcmp(a->allowed_origins.v[i], b->allowed_origins.v[i]))
			return false;
	return true;
}

/* The websocket block's main settings, for the refusal message (where
 * nats-server prints its Go struct). */
static void ws_text(const struct opts_websocket *w, char *buf, size_t len)
{
	snprintf(buf, len,
		 "{%s %d no_tls=%s compression=%s same_origin=%s "
		 "origins=%zu}",
		 str_or_empty(w->host), w->port, w->no_tls ? "true" : "false",
		 w->compression ? "true" : "false",
		 w->same_origin ? "true" : "false", w->allowed_origins.n);
}

/* Options nats-server cannot reload either, checked in its order
 * (server/reload.go): true with nats-server's message in err when the
 * re-read file changes one; the running config then stays in force. */
static bool reload_refused(const struct opts *cur, const struct opts *no,
			   const struct reload_tls *ct,
			   const struct reload_tls *nt, char *err,
			   size_t errlen)
{
	char ch[256], nh[256];
	int cp, np;

	if (strcmp(str_or_empty(cur->server_name),
		   str_or_empty(no->server_name)) != 0) {
		snprintf(err, errlen,
			 "config reload not supported for "
			 "ServerName: old=%s, new=%s",
			 str_or_empty(cur->server_name),
			 str_or_empty(no->server_name));
		return true;
	}
	if (strcmp(str_or_empty(cur->host), str_or_empty(no->host)) != 0) {
		snprintf(err, errlen,
			 "config reload not supported for Host: "
			 "old=%s, new=%s",
			 str_or_empty(cur->host), str_or_empty(no->host));
		return true;
	}
	/* A random port (-1, or 0) stays whatever was picked. */
	if (no->port != cur->port && !(no->port <= 0 && cur->port <= 0)) {
		snprintf(err, errlen,
			 "config reload not supported for Port: "
			 "old=%d, new=%d",
			 cur->port, no->port);
		return true;
	}
	if (reload_diff_refused(cur, no, ct, nt, true, err, errlen))
		return true;
	/* natsd opens no cluster listener, but a file that moves it would
	 * not reload in nats-server either. The running file is the first
	 * one (reload_swap() keeps it), whose cluster is still in force. */
	natsconf_opts_cluster(cur, ch, sizeof(ch), &cp);
	natsconf_opts_cluster(no, nh, sizeof(nh), &np);
	if (strcmp(ch, nh) != 0) {
		snprintf(err, errlen,
			 "config reload not supported for cluster "
			 "host: old=%s, new=%s",
			 ch, nh);
		return true;
	}
	if (cp != np) {
		snprintf(err, errlen,
			 "config reload not supported for cluster "
			 "port: old=%d, new=%d",
			 cp, np);
		return true;
	}
	/* nats-server reloads no change of the websocket block. */
	if (!ws_same(&cur->websocket, &no->websocket)) {
		ws_text(&cur->websocket, ch, sizeof(ch));
		ws_text(&no->websocket, nh, sizeof(nh));
		snprintf(err, errlen,
			 "config reload not supported for Websocket: old=%s, "
			 "new=%s",
			 ch, nh);
		return true;
	}
	if (reload_diff_refused(cur, no, ct, nt, false, err, errlen))
		return true;
	/* Timers nats-server 2.9 cannot reload either. */
	if (no->lame_duck_duration != cur->lame_duck_duration ||
	    no->lame_duck_grace_period != cur->lame_duck_grace_period) {
		bool d = no->lame_duck_duration != cur->lame_duck_duration;

		reload_diff_duration(d ? cur->lame_duck_duration
				       : cur->lame_duck_grace_period,
				     ch, sizeof(ch));
		reload_diff_duration(d ? no->lame_duck_duration
				       : no->lame_duck_grace_period,
				     nh, sizeof(nh));
		snprintf(err, errlen,
			 "config reload not supported for %s: old=%s, new=%s",
			 d ? "LameDuckDuration" : "LameDuckGracePeriod", ch,
			 nh);
		return true;
	}
	return false;
}

/* Whether transport_tls came from a plugins entry (with settings of its
 * own, for a client_transport stack) rather than for the tls block:
 * those entries are loaded first, in order. */
static bool tls_from_entry(const struct server *s)
{
	size_t i;

	for (i = 0; i < s->opts.nplugins && i < s->nplugins; i++)
		if (strcmp(plugin_name(s->plugins[i]), "tls") == 0)
			return true;
	return false;
}

/* The re-read TLS settings nt of the client port (the tls block of no,
 * or the flags' section) go to transport_tls, loaded now if TLS was off,
 * and the client listener takes tls on or off. Live connections keep
 * what they have. 0, or a negative code with err: nothing changed. */
static int reload_tls(struct server *s, const struct opts *no,
		      const struct reload_tls *nt, char *err, size_t errlen)
{
	const struct natsd_cfg *settings = no->tls;
	void *owner = NULL;
	struct transport *t;
	uint32_t keep;
	char stack[256];
	int rc = 0;

	if (nt->on) {
		t = registry_transport(s->reg, "tls");
		if (t != NULL && tls_from_entry(s)) {
			snprintf(err, errlen,
				 "the tls block and a transport_tls plugin "
				 "entry cannot both be given");
			return NATSD_EEXIST;
		}
		if (t == NULL) {
			/* Without settings: they come next, read now. */
			rc = load_plugin(s, "transport_tls", NULL, NULL, false);
			t = registry_transport(s->reg, "tls");
			if (rc != 0 || t == NULL) {
				snprintf(err, errlen,
					 "cannot load transport_tls");
				return rc != 0 ? rc : NATSD_ENOENT;
			}
		}
		if (t->ops.reconfigure == NULL) {
			snprintf(err, errlen,
				 "transport tls cannot take new settings");
			return NATSD_ENOTSUP;
		}
		if (no->tls_flags) {
			rc = tls_flags_section(no, &owner, &settings, err,
					       errlen);
			if (rc != 0)
				return rc;
		}
		rc = t->ops.reconfigure(t->pctx, NULL, settings, err, errlen);
		if (owner != NULL)
			conffile_text_free(owner);
		if (rc != 0)
			return rc;
	}
	/* Off: the plugin drops its settings (its files may go), streams
	 * up keep theirs. */
	t = registry_transport(s->reg, "tls");
	if (!nt->on && s->tls_now.on && !tls_from_entry(s) && t != NULL &&
	    t->ops.reconfigure != NULL)
		(void)t->ops.reconfigure(t->pctx, NULL, NULL, err, errlen);
	if (s->client_listener == NULL || (!nt->on && !s->tls_now.on))
		return 0;
	client_stack(&s->opts, nt->on, stack, sizeof(stack));
	rc = listener_restack(s->client_listener, stack, err, errlen);
	if (rc != 0)
		return rc;
	/* nats-server leaves tls_verify (and tls_available) in INFO when
	 * the tls block goes. */
	keep = nt->on ? 0
		      : s->client_tf &
				(NATSD_TF_TLS_VERIFY | NATSD_TF_TLS_AVAILABLE);
	s->client_tf = listener_flags(s->client_listener) | keep;
	return 0;
}

/* pid_file and ports_file_dir take effect as in nats-server: the pid is
 * written to the new file (the old one stays), the ports file moves. */
static void reload_files(struct server *s, const char *old_pid,
			 const char *old_ports_dir)
{
	const struct opts *o = &s->opts;

	FILE *f;

	if (o->pid_file != NULL && o->pid_file[0] != '\0' &&
	    (old_pid == NULL || strcmp(old_pid, o->pid_file) != 0)) {
		f = fopen(o->pid_file, "w");
		if (f == NULL) {
			log_error("Failed to write pidfile: %s",
				  strerror(errno));
		} else {
			fprintf(f, "%d", (int)getpid());
			fclose(f);
		}
	}
	if ((old_ports_dir == NULL) == (o->ports_file_dir == NULL) &&
	    (old_ports_dir == NULL ||
	     strcmp(old_ports_dir, o->ports_file_dir) == 0))
		return;
	if (s->ports_path != NULL) {
		unlink(s->ports_path);
		free(s->ports_path);
		s->ports_path = NULL;
	}
	(void)write_ports_file(s);
}

/* What the workers apply to their live clients after a reload. */
struct reload_live {
	int64_t old_payload, new_payload;
	atomic_int to_close; /* over a lowered max_connections */
	atomic_int refs;     /* workers still to run it */
};

/* On each worker: clients take the new max_payload, but for those a user
 * or account limit gave another (nats-server gives it to all), and as
 * many clients as are over max_connections are closed, the most recent
 * first, with nats-server's error. */
static void reload_live_task(struct loop *l, void *arg)
{
	struct reload_live *rl = arg;
	struct worker *w = server_current_worker();
	struct conn *c;
	uint32_t i;

	(void)l;
	for (i = w->nconns; i > 0; i--) {
		c = w->conns[i - 1];
		if (c->kind != NATSD_KIND_CLIENT || (c->flags & CONN_F_CLOSED))
			continue;
		if (c->max_payload == rl->old_payload)
			c->max_payload = rl->new_payload;
		if (atomic_load(&rl->to_close) > 0 &&
		    atomic_fetch_sub(&rl->to_close, 1) > 0)
			conn_fail(c, "maximum connections exceeded",
				  CONN_CLOSE_MAX_CONNECTIONS);
	}
	if (atomic_fetch_sub(&rl->refs, 1) == 1)
		free(rl);
}

static void reload_live(struct server *s, int64_t old_payload)
{
	const struct opts *o = &s->opts;
	int64_t n = atomic_load(&s->nclients);
	struct reload_live *rl;
	int k, over = 0;

	if (o->max_connections > 0 && n > o->max_connections)
		over = (int)(n - o->max_connections);
	if (over == 0 && old_payload == o->max_payload)
		return;
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL) {
		log_error("Reload: out of memory while applying limits");
		return;
	}
	rl->old_payload = old_payload;
	rl->new_payload = o->max_payload;
	atomic_init(&rl->to_close, over);
	atomic_init(&rl->refs, s->nworkers);
	if (over > 0)
		log_info("Closed %d connections to fall within "
			 "max_connections",
			 over);
	for (k = 0; k < s->nworkers; k++)
		if (loop_post(s->workers[k].loop, reload_live_task, rl) != 0 &&
		    atomic_fetch_sub(&rl->refs, 1) == 1)
			free(rl);
}

/* wss://: the tls layer of the websocket listener pushes with the
 * section it started with as its key, and a changed tls block of the
 * websocket block replaces the settings under that key, as nats-server
 * takes new files and settings there. With check, the new section is
 * only tried, under its own address as a key, and dropped: a section
 * that does not load fails the reload before anything changed. */
static int reload_ws_tls(struct server *s, const struct opts *no, bool check,
			 char *err, size_t errlen)
{
	const struct natsd_cfg *key = s->opts.websocket.tls;
	struct transport *t = registry_transport(s->reg, "tls");
	int rc;

	/* Always, even when unchanged against the start: an earlier reload
	 * may have put other settings in force. */
	if (s->ws_listener == NULL || key == NULL ||
	    no->websocket.tls == NULL || t == NULL ||
	    t->ops.reconfigure == NULL)
		return 0;
	if (!check)
		return t->ops.reconfigure(t->pctx, key, no->websocket.tls, err,
					  errlen);
	rc = t->ops.reconfigure(t->pctx, no->websocket.tls, no->websocket.tls,
				err, errlen);
	if (rc == 0)
		(void)t->ops.reconfigure(t->pctx, no->websocket.tls, NULL, err,
					 errlen);
	return rc;
}

/* Applies a re-read file to what may change while running; listen
 * addresses and the server name stay. */
int server_reload(struct server *s)
{
	struct reload_tls nt = { 0 }, tmp;
	struct opts no;
	char err[1024];
	int rc;

	if (cli_config_file(s->cli) == NULL) {
		log_error("Failed to reload server configuration: can only "
			  "reload config when a file is provided using -c or "
			  "--config");
		return NATSD_EINVAL;
	}
	opts_init(&no);
	rc = conffile_load(cli_config_file(s->cli), &no, err, sizeof(err));
	if (rc != 0) {
		log_error("Failed to reload server configuration: %s", err);
		opts_fini(&no);
		return rc;
	}
	cli_apply(s->cli, &no);
	rc = opts_validate(&no, err, sizeof(err));
	if (rc != 0) {
		log_error("Failed to reload server configuration: %s", err);
		goto out;
	}
	rc = reload_tls_read(&no, &nt);
	if (rc != 0) {
		log_error("Failed to reload server configuration: out of "
			  "memory");
		goto out;
	}
	if (reload_refused(&s->opts, &no, &s->tls_now, &nt, err, sizeof(err))) {
		log_error("Failed to reload server configuration: %s", err);
		rc = NATSD_ENOTSUP;
		goto out;
	}
	/* The steps that can still fail come first: a tls block that does
	 * not load leaves everything as it was, as in nats-server. */
	rc = reload_ws_tls(s, &no, true, err, sizeof(err));
	if (rc == 0)
		rc = reload_tls(s, &no, &nt, err, sizeof(err));
	if (rc == 0)
		rc = reload_ws_tls(s, &no, false, err, sizeof(err));
	if (rc != 0) {
		log_error("Failed to reload server configuration: %s", err);
		goto out;
	}
	reload_diff_log(&s->opts, &no, &s->tls_now, &nt);
	tmp = s->tls_now;
	s->tls_now = nt;
	nt = tmp;
	pthread_mutex_lock(&s->opts_lock);
	reload_swap(&s->opts, &no);
	pthread_mutex_unlock(&s->opts_lock);
	reload_files(s, no.pid_file, no.ports_file_dir);
	reload_live(s, no.max_payload);
	/* no now holds the re-read file, with the plugins' new settings. */
	auth_reload_settings(s, &no);
	if (no.nkey_settings != NULL && registry_auth(s->reg, "nkey") == NULL)
		log_error("Reload: nkey users take effect after a restart "
			  "(the nkey authenticator was not loaded at start)");
	opts_fini(&no);
	server_configure_log(s);
	if (imports_configure(s->imports, &s->opts) != 0)
		log_error("Reload: out of memory while applying accounts");
	server_log_conf_warnings(s);
	host_transports_reload(s);
	auth_reload(s);
	{
		rc = auth_chain_build(s, err, sizeof(err));
		if (rc != 0)
			log_error("Reload: %s", err);
	}
	server_build_info(s);
	log_info("Reloaded server configuration");
	reload_tls_fini(&nt);
	return 0;

out:
	reload_tls_fini(&nt);
	opts_fini(&no);
	return rc;
}

void server_log_conf_warnings(struct server *s)
{
	size_t i;

	for (i = 0; i < s->opts.conf_warnings.n; i++)
		log_warn("%s", s->opts.conf_warnings.v[i]);
}

int server_configure_log(struct server *s)
{
	struct log_opts lo = { 0 };
	char err[512];
	int rc;

	lo.file = s->opts.log_file;
	lo.timestamps = s->opts.logtime;
	lo.debug = s->opts.debug;
	lo.trace = s->opts.trace || s->opts.trace_verbose;
	lo.syslog = s->opts.syslog;
	lo.remote_syslog = s->opts.remote_syslog;
	lo.size_limit = s->opts.log_size_limit;
	rc = log_configure(&lo, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "natsd: %s\n", err);
	return rc;
}

/* Lame duck mode, as nats-server: stop accepting, tell protocol-1 clients
 * (INFO with "ldm":true) so they move to another server, wait the grace
 * period, close the clients spread over lame_duck_duration, then stop. */
static void ldm_close_next(struct loop *l, void *arg)
{
	struct worker *w = arg;
	uint32_t i;

	/* The most recent client first; links are left for the shutdown. */
	for (i = w->nconns; i > 0; i--) {
		struct conn *c = w->conns[i - 1];

		if (c->kind != NATSD_KIND_CLIENT)
			continue;
		conn_close(c, CONN_CLOSE_SERVER_SHUTDOWN);
		loop_timer_arm(l, &w->ldm_timer, w->ldm_interval_ms,
			       ldm_close_next, w);
		return;
	}
}

static void ldm_worker_info(struct loop *l, void *arg)
{
	struct worker *w = arg;
	uint32_t i;

	(void)l;
	for (i = 0; i < w->nconns; i++)
		client_send_async_info(w->conns[i]);
}

/* Each worker closes its own clients, evenly over the duration. */
static void ldm_worker_close(struct loop *l, void *arg)
{
	struct worker *w = arg;
	int64_t dur = server_opts(w->srv)->lame_duck_duration / 1000000;
	uint32_t i, n = 0;

	for (i = 0; i < w->nconns; i++)
		if (w->conns[i]->kind == NATSD_KIND_CLIENT)
			n++;
	if (n == 0)
		return;
	w->ldm_interval_ms = dur / n;
	ldm_close_next(l, w);
}

static void ldm_end(struct loop *l, void *arg)
{
	struct server *s = arg;

	(void)l;
	log_info("Lame duck mode: closed all clients, shutting down");
	server_stop(s, 0);
}

static void ldm_grace_over(struct loop *l, void *arg)
{
	struct server *s = arg;
	int k;

	log_info("Closing existing clients");
	for (k = 0; k < s->nworkers; k++)
		loop_post(s->workers[k].loop, ldm_worker_close, &s->workers[k]);
	loop_timer_arm(l, &s->ldm_timer,
		       s->opts.lame_duck_duration / 1000000 + 100, ldm_end, s);
}

void server_lame_duck(struct server *s)
{
	size_t i;
	int k;

	if (s->lame_duck)
		return;
	s->lame_duck = true;
	log_info("Entering lame duck mode, stop accepting new clients");
	listener_close(s->client_listener);
	s->client_listener = NULL;
	listener_close(s->ws_listener);
	s->ws_listener = NULL;
	for (i = 0; i < s->nlink_listeners; i++)
		listener_close(s->link_listeners[i]);
	s->nlink_listeners = 0;
	server_build_info(s);
	for (k = 0; k < s->nworkers; k++)
		loop_post(s->workers[k].loop, ldm_worker_info, &s->workers[k]);
	loop_timer_arm(s->main_loop, &s->ldm_timer,
		       s->opts.lame_duck_grace_period / 1000000, ldm_grace_over,
		       s);
}

static void signal_event(struct loop *l, void *arg, uint32_t events)
{
	struct server *s = arg;
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			/* nats-server exits with 1 on SIGTERM, 0 on SIGINT. */
			log_info("Initiating Shutdown...");
			server_stop(s, si.ssi_signo == SIGTERM ? 1 : 0);
			break;
		case SIGHUP:
			server_reload(s);
			break;
		case SIGUSR1:
			log_reopen();
			break;
		case SIGUSR2:
			server_lame_duck(s);
			break;
		default:
			break;
		}
	}
}

static void shutdown_worker_task(struct loop *l, void *arg)
{
	struct worker *w = arg;

	while (w->nconns > 0)
		conn_close(w->conns[w->nconns - 1], CONN_CLOSE_SERVER_SHUTDOWN);
	loop_stop(l);
}

/* Closes the workers' connections and joins them; those never started
 * (a start that failed half way) are skipped. */
static void workers_stop(struct server *s)
{
	int k;

	for (k = 0; s->workers != NULL && k < s->nworkers; k++)
		if (s->workers[k].started)
			loop_post(s->workers[k].loop, shutdown_worker_task,
				  &s->workers[k]);
	for (k = 0; s->workers != NULL && k < s->nworkers; k++) {
		if (s->workers[k].started) {
			pthread_join(s->workers[k].thread, NULL);
			s->workers[k].started = false;
		}
	}
}

static void server_shutdown(struct server *s)
{
	size_t i;

	atomic_store(&s->shutting_down, true);
	/* Its requests wait for the workers: stop it while they run. */
	monitor_stop(s->monitor);
	listener_close(s->client_listener);
	s->client_listener = NULL;
	listener_close(s->ws_listener);
	s->ws_listener = NULL;
	for (i = 0; i < s->nlink_listeners; i++)
		listener_close(s->link_listeners[i]);
	s->nlink_listeners = 0;
	workers_stop(s);
	log_info("Server Exiting..");
}

int server_run(struct server *s)
{
	loop_run(s->main_loop);
	server_shutdown(s);
	return s->exit_code;
}

void server_free(struct server *s)
{
	size_t i;
	int k;

	if (s == NULL)
		return;
	/* After a failed start the workers still run: nothing else has
	 * stopped them. */
	monitor_stop(s->monitor);
	workers_stop(s);
	if (s->opts.pid_file != NULL && s->client_port > 0)
		unlink(s->opts.pid_file);
	if (s->ports_path != NULL) {
		unlink(s->ports_path);
		free(s->ports_path);
	}
	for (i = s->nplugins; i > 0; i--)
		plugin_unload(s->plugins[i - 1]);
	free(s->plugins);
	if (s->tls_flags_conf != NULL)
		conffile_text_free(s->tls_flags_conf);
	reload_tls_fini(&s->tls_now);
	auth_builtin_fini();
	host_timers_free(s);
	for (k = 0; s->workers != NULL && k < s->nworkers; k++) {
		loop_free(s->workers[k].loop);
		free(s->workers[k].scratch);
		free(s->workers[k].conns);
	}
	free(s->workers);
	imports_free(s->imports);
	monitor_free(s->monitor);
	accounts_free(s->accounts);
	registry_free(s->reg);
	free(s->link_listeners);
	if (s->sigfd > 0)
		close(s->sigfd);
	loop_free(s->main_loop);
	free(s->server_name);
	free(s->info_prefix);
	free(s->ws_info_prefix);
	pthread_mutex_destroy(&s->opts_lock);
	pthread_mutex_destroy(&s->info_lock);
	pthread_mutex_destroy(&s->timers_lock);
	opts_fini(&s->opts);
	cli_free(s->cli);
}
