/* Server options: every setting of the server, with nats-server's defaults.
 *
 * A struct opts is filled in three steps: opts_init() sets the defaults,
 * conffile_load() (conffile.h) reads the config file over them, cli_apply()
 * (cli.h) puts the command line on top; opts_validate() then checks the
 * result as a whole. A reload builds a fresh struct opts the same way and
 * swaps it in, so the command line still wins over the re-read file.
 *
 * Durations are int64 nanoseconds, sizes int64 bytes. Strings are owned
 * by the struct (NULL when unset) and freed by opts_fini().
 */
#ifndef NATSD_OPTS_H
#define NATSD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct natsd_cfg; /* a config section, read with conffile_cfg_*() */

#define OPTS_NS_PER_SEC 1000000000LL

#define OPTS_DEFAULT_HOST		  "0.0.0.0"
#define OPTS_DEFAULT_PORT		  4222
#define OPTS_DEFAULT_MAX_CONTROL_LINE	  4096
#define OPTS_DEFAULT_MAX_PAYLOAD	  (1024 * 1024)
#define OPTS_DEFAULT_MAX_PENDING	  (64LL * 1024 * 1024)
#define OPTS_DEFAULT_MAX_CONNECTIONS	  65536
#define OPTS_DEFAULT_PING_INTERVAL	  (120 * OPTS_NS_PER_SEC)
#define OPTS_DEFAULT_PING_MAX		  2
#define OPTS_DEFAULT_WRITE_DEADLINE	  (10 * OPTS_NS_PER_SEC)
#define OPTS_DEFAULT_AUTH_TIMEOUT	  (2 * OPTS_NS_PER_SEC)
#define OPTS_DEFAULT_TCP_KEEPALIVE	  (15 * OPTS_NS_PER_SEC)
#define OPTS_DEFAULT_LAME_DUCK_DURATION	  (120 * OPTS_NS_PER_SEC)
#define OPTS_DEFAULT_LAME_DUCK_GRACE	  (10 * OPTS_NS_PER_SEC)
#define OPTS_MIN_LAME_DUCK_DURATION	  (30 * OPTS_NS_PER_SEC)
#define OPTS_DEFAULT_RESP_MAX		  1
#define OPTS_DEFAULT_RESP_EXPIRES	  (120 * OPTS_NS_PER_SEC)
#define OPTS_MAX_SUB_TOKENS		  255
#define OPTS_MAX_IO_THREADS		  1024
#define OPTS_DEFAULT_TRANSPORT		  "tcp"

/* A list of strings. set tells "given, possibly empty" (publish = [],
 * which allows nothing) from "absent" (which allows everything). */
struct opts_strlist {
	char **v;
	size_t n;
	bool set;
};

/* Permissions as nats-server's config has them. Deny wins over allow; an
 * unset allow list allows everything. Subscribe entries may be
 * "subject queue". has_resp is allow_responses: resp_max messages (< 0
 * unlimited) within resp_expires ns (< 0 unlimited) may be published to the
 * reply subject of each request received; `true` means 1 and 2 minutes. */
struct opts_perms {
	struct opts_strlist pub_allow, pub_deny, sub_allow, sub_deny;
	bool has_resp;
	int64_t resp_max;
	int64_t resp_expires;
};

/* An entry of authorization.users. perms NULL: default_permissions apply. */
struct opts_user {
	char *user;
	char *password; /* plain or bcrypt ("$2a$...") */
	char *account;	/* NULL: the global account */
	struct opts_perms *perms;
	/* allowed_connection_types ("STANDARD", "WEBSOCKET", ...); unset
	 * allows all. */
	struct opts_strlist conn_types;
	char *file; /* where the entry is, for messages */
	int line;
	/* An nkey user ("U..."): user and password are then NULL, and the
	 * auth_nkey plugin, not the builtin authenticator, checks it. */
	char *nkey;
};

/* One entry of the plugins directive. */
struct opts_plugin {
	char *load; /* name (-> <plugin_dir>/<name>.so) or a path with '/' */
	/* Its settings section; NULL (an empty section) when absent. Points
	 * into the parsed file, which the struct opts keeps alive. */
	const struct natsd_cfg *settings;
	char *file; /* where the directive is, for error messages */
	int line;
};

/* An export of an account: a stream (messages published in the account
 * are offered to importers) or a service (importers' requests are
 * delivered in the account and the replies flow back). accounts: who may
 * import it; unset = anyone. */
enum opts_resp_type {
	OPTS_RESP_SINGLETON = 0,
	OPTS_RESP_STREAM,
	OPTS_RESP_CHUNKED,
};

struct opts_export {
	char *subject;
	bool service;
	int resp_type;          /* enum opts_resp_type, services only */
	int64_t resp_threshold; /* ns a response mapping lives; 0 default */
	struct opts_strlist accounts;
	char *file;
	int line;
};

/* An import: subject of account `account`. A stream import delivers the
 * exporter's messages here under prefix + "." + subject, or under `to`;
 * a service import delivers requests published here on `to` (or on the
 * subject) to the exporter as subject. */
struct opts_import {
	char *account;
	char *subject;
	bool service;
	char *prefix;
	char *to;
	char *file;
	int line;
};

/* An entry of accounts {}. Its users are in opts.users with account set.
 * Limits: -1 = unlimited. */
struct opts_account {
	char *name;
	struct opts_export *exports;
	size_t nexports;
	struct opts_import *imports;
	size_t nimports;
	int max_connections;
	int max_subscriptions;
	int64_t max_payload;
	char *file;
	int line;
};

/* Where a setting came from; file NULL when not from the config file. */
struct opts_where {
	char *file;
	int line;
};

/* The websocket block: a second client listener, tcp + websocket. port
 * 0 (the default) leaves it off, -1 picks a free port. Its own
 * authorization (user/password or token, no_auth_user, timeout) replaces
 * the server's for websocket clients when any of them is set, as in
 * nats-server. cfg is the block itself, handed to the websocket layer. */
struct opts_websocket {
	bool set;
	char *host;
	int port;
	char *advertise;
	bool no_tls;
	bool has_tls;                /* a tls block inside: wss:// */
	const struct natsd_cfg *tls; /* that block, the tls layer's section */
	bool compression;
	bool same_origin;
	struct opts_strlist allowed_origins;
	int64_t handshake_timeout; /* 0: the plugin's default */
	char *jwt_cookie;
	char *no_auth_user;
	char *user;
	char *password;
	char *token;
	int64_t auth_timeout; /* 0: the server's */
	const struct natsd_cfg *cfg;
	struct opts_where at;
};

struct opts {
	/* Server. port: -1 = a random free port; a 0 in the file or on the
	 * command line means the default, as in nats-server. */
	char *host;
	int port;
	char *server_name;
	char *client_advertise;
	char *ports_file_dir;
	char *config_file;
	bool check_config;

	/* Logging. log_size_limit 0 = no limit; max_traced_msg_len 0 =
	 * unlimited. */
	bool debug;
	bool trace;
	bool trace_verbose;
	bool logtime;
	char *log_file;
	int64_t log_size_limit;
	int max_traced_msg_len;
	char *pid_file;
	bool syslog;
	char *remote_syslog;

	/* natsd's own. plugin_dir NULL: $NATSD_PLUGIN_DIR, else the
	 * compiled-in NATSD_PLUGINDIR (resolved by the plugin loader).
	 * io_threads 0: one per core. */
	char *plugin_dir;
	int io_threads;

	/* Limits. max_connections <= 0 and max_subscriptions,
	 * max_sub_tokens == 0 mean unlimited. */
	int max_control_line;
	int64_t max_payload;
	int64_t max_pending;
	int max_connections;
	int max_subscriptions;
	int max_sub_tokens;
	bool no_header_support;

	/* Timers. tcp_keepalive is the keepalive period, 0 = off. */
	int64_t ping_interval;
	int ping_max;
	int64_t write_deadline;
	int64_t auth_timeout;
	int64_t tcp_keepalive;
	int64_t lame_duck_duration;
	int64_t lame_duck_grace_period;

	/* Monitoring (served later): ports 0 = off, -1 = random. */
	char *http_host;
	int http_port;
	int https_port;
	char *http_base_path;

	/* Authorization: the builtin authenticator's settings. */
	char *user;
	char *password;
	char *token;
	char *no_auth_user;
	struct opts_user *users;
	size_t nusers;
	struct opts_perms *default_permissions; /* NULL when none */
	/* nkey users among users: the auth_nkey plugin is loaded for them
	 * (unless the plugins list has it) with the authorization section
	 * as its settings. Points into the parsed file. */
	size_t nnkey_users;
	const struct natsd_cfg *nkey_settings;
	/* Operator mode (operator, trusted_keys, resolver at the top): the
	 * auth_jwt plugin is loaded (unless the plugins list has it) with
	 * the file's root as its settings. */
	const struct natsd_cfg *jwt_settings;

	/* Accounts declared in accounts {}; users may name others, which
	 * are created on demand with no exports, imports or limits. */
	struct opts_account *accounts;
	size_t naccounts;
	char *system_account; /* NULL: "$SYS" */

	/* Plugins, in load order. */
	struct opts_plugin *plugins;
	size_t nplugins;
	/* Authenticators in the order they are asked. Unset (n == 0):
	 * "builtin", then the auth plugins in load order. */
	struct opts_strlist auth_chain;
	struct opts_where auth_chain_at;
	/* Transport stack of the client listener, bottom first. */
	struct opts_strlist client_transport;
	struct opts_where client_transport_at;

	/* Which format the config file was read in, "natsd" (libconfig)
	 * or "nats-server" (NULL without a file), and what reading it
	 * warned about ("FILE:LINE: ..."), to be logged. */
	const char *config_format;
	struct opts_strlist conf_warnings;
	/* TLS on the client listener (transport_tls stacked over the
	 * client transport): the config file's tls block, or the --tls*
	 * flags, which replace the block as they do in nats-server. */
	const struct natsd_cfg *tls; /* the tls block; NULL when none */
	struct opts_where tls_at;
	bool tls_flags;                    /* some --tls* flag was given */
	bool tls_verify_flag;              /* --tlsverify */
	char *tls_cert, *tls_key, *tls_ca; /* --tlscert/--tlskey/--tlscacert */
	bool tls_allow_non_tls;            /* allow_non_tls (top level) */
	/* authorization { timeout } was given (else a TLS handshake's time
	 * counts in, as in nats-server). */
	bool auth_timeout_set;

	/* The parsed config file, which plugin settings point into, and how
	 * to release it: opts_fini() calls conf_free(conf). */
	void *conf;
	void (*conf_free)(void *conf);

	/* WebSocket clients. */
	struct opts_websocket websocket;
};

/* Whether websocket clients have authorization of their own. */
bool opts_ws_auth_override(const struct opts *o);

/* Sets every option to its default. 0, or NATSD_ENOMEM when the default
 * strings (host, client_transport) cannot be allocated; o can be passed
 * to opts_fini() either way. */
int opts_init(struct opts *o);

/* Frees what o owns (strings, lists, users, plugins, the parsed file) and
 * leaves it zeroed. opts_fini() on a zeroed struct does nothing. */
void opts_fini(struct opts *o);

/* Checks the options as a whole (ranges, max_payload <= max_pending,
 * no_auth_user names a user). 0, or NATSD_EINVAL with the reason in err. */
int opts_validate(const struct opts *o, char *err, size_t errlen);

/* Replaces *dst with a copy of src (NULL clears it). 0 or NATSD_ENOMEM,
 * in which case *dst is unchanged. */
int opts_set_str(char **dst, const char *src);

/* Appends a copy of s; marks the list set. 0 or NATSD_ENOMEM. */
int opts_strlist_add(struct opts_strlist *l, const char *s);
/* Empties the list and marks it unset. */
void opts_strlist_clear(struct opts_strlist *l);

/* A zeroed permissions record with allow_responses' defaults, or NULL. */
struct opts_perms *opts_perms_new(void);
void opts_perms_free(struct opts_perms *p);

/* Appends a zeroed user and returns it, or NULL when out of memory. The
 * pointer is valid until the next opts_user_add(). */
struct opts_user *opts_user_add(struct opts *o);
/* The user named name, or NULL. */
const struct opts_user *opts_user_find(const struct opts *o,
				       const char *name);

/* Append a zeroed entry and return it, or NULL when out of memory
 * (valid until the next call on the same list). An account starts with
 * unlimited limits. */
struct opts_account *opts_account_add(struct opts *o);
struct opts_export *opts_export_add(struct opts_account *a);
struct opts_import *opts_import_add(struct opts_account *a);
/* The account declared as name, or NULL. */
const struct opts_account *opts_account_find(const struct opts *o,
					     const char *name);

/* Appends a zeroed plugin entry, or NULL (valid until the next call). */
struct opts_plugin *opts_plugin_add(struct opts *o);

#endif
