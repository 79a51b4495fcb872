/* The host side of the plugin ABI: the function table handed to plugins,
 * the registry of what they registered, and the glue between link plugins
 * and connections. */
#ifndef NATSD_HOST_H
#define NATSD_HOST_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include <natsd/plugin.h>

struct server;
struct conn;

struct transport {
	struct natsd_transport_ops ops;
	void *pctx;
};

struct authn {
	struct natsd_auth_ops ops;
	void *pctx;
	/* Where its settings are, to give it the re-read ones on reload:
	 * the `load` of its plugins entry (NULL: none, or builtin), or
	 * authz: the authorization section (auth_nkey loaded by the core
	 * for nkey users). */
	const char *load;
	bool authz;
	/* auth_jwt loaded by the core for operator mode: its settings are
	 * the file's root. */
	bool jwt_root;
};

struct link {
	struct natsd_link_ops ops;
	void *pctx;
	struct server *srv;
};

/* Transports can be registered while workers look them up (a tls block
 * added on SIGHUP loads transport_tls; conn_push() finds a layer by
 * name): a fixed array whose count is published after its slot is
 * filled never moves under a reader. */
#define REGISTRY_TRANSPORTS_MAX 32

struct registry {
	struct transport *transports[REGISTRY_TRANSPORTS_MAX];
	_Atomic size_t ntransports;
	struct authn **auths; /* in registration order */
	size_t nauths;
	struct authn **chain; /* in chain order */
	size_t nchain;
	struct link **links;
	size_t nlinks;
	/* Link connections that are up, for interest events. */
	pthread_mutex_t up_lock;
	struct conn **up;
	size_t nup, capup;
};

struct registry *registry_new(void);
void registry_free(struct registry *r);
/* Drops what was registered after the registry had these counts (a
 * plugin whose init failed is unloaded: nothing may point into it). */
void registry_truncate(struct registry *r, size_t ntransports,
		       size_t nauths, size_t nlinks);
struct transport *registry_transport(struct registry *r, const char *name);
struct authn *registry_auth(struct registry *r, const char *name);
struct link *registry_link(struct registry *r, const char *name);

const struct natsd_host_api *host_api(void);
struct natsd_host *host_handle(struct server *s);

/* Registers an authenticator built into the core, like a plugin would. */
int host_register_auth(struct server *s, const struct natsd_auth_ops *ops,
		       void *ctx);

int64_t host_wall_ns(void);

/* Link glue, called by the connection layer on the owner thread. */
void host_link_opened(struct conn *c, bool dialed);
void host_link_dialed(struct conn *c);
ssize_t host_link_data(struct conn *c, const char *buf, size_t len);
void host_link_closed(struct conn *c, const char *reason);
/* Any thread: hand a message to the link connection c. */
void host_link_forward(struct conn *c, const struct natsd_msg *m);
/* Fires an interest event at every link connection that is up, except
 * skip (the connection the interest came from). Called under the
 * account's interest lock. */
void host_links_interest(struct server *s, struct conn *skip,
			 const struct natsd_interest *ev);
/* Sends one interest event to link connection c. */
void host_link_interest_one(struct conn *c, const struct natsd_interest *ev);

/* Frees plugin timers that never fired (after the loops stopped). */
void host_timers_free(struct server *s);

/* Starts every registered link (after listeners are up). */
int host_links_start(struct server *s);

/* Opens a listener on the main loop accepting connections of `kind`
 * through the transport stack `transports` ("tcp" or "tcp,tls"); link
 * may be NULL for clients. */
struct listener;
int listener_open(struct server *s, int kind, struct link *link,
		  const char *transports, const struct natsd_listen_spec *spec,
		  struct listener **out, char *err, size_t errlen);
/* The same, giving layer i (0 = the first above the bottom) the section
 * layer_cfg[i] in push(). */
int listener_open_cfg(struct server *s, int kind, struct link *link,
		      const char *transports,
		      const struct natsd_listen_spec *spec,
		      const struct natsd_cfg *const *layer_cfg, int ncfg,
		      struct listener **out, char *err, size_t errlen);
int listener_port(const struct listener *l);
/* Gives listener l the transport stack `transports` from now on (the
 * bottom one stays), and the flags its layers now say (a reload changed
 * their settings). On the main loop. 0, or a negative code with a line in
 * err, l unchanged. */
int listener_restack(struct listener *l, const char *transports, char *err,
		     size_t errlen);
void listener_close(struct listener *l);

/* Transport layers pushed after INFO (NATSD_TF_AFTER_INFO). */
#define HOST_LATE_MAX 2

/* What the layers of a client listener say (NATSD_TF_* flags, or'ed). */
uint32_t listener_flags(const struct listener *l);

/* A question to the stack whose top is s (NATSD_ENOTSUP: nobody knows). */
int host_stream_query(struct natsd_stream *s, int key, const void **out,
		      size_t *len);

/* Owner thread: pushes layer t on c's live stream. 0 or a negative code
 * (c is then to be closed). */
int host_push_layer(struct conn *c, struct transport *t,
		    const struct natsd_cfg *cfg);

/* SIGHUP: every transport with a reload op re-reads what it keeps.
 * Failures are logged; the old state stays. */
void host_transports_reload(struct server *s);

#endif
