/* The server: workers (I/O threads), listeners, plugins, accounts.
 *
 * The main thread runs its own loop for listeners, signals and plugin
 * timers; accepted connections are handed to workers round-robin. */
#ifndef NATSD_SERVER_H
#define NATSD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <natsd/plugin.h>

#include "loop.h"
#include "opts.h"
#include "reload_diff.h"

struct conn;
struct account;
struct accounts;
struct plugin;
struct registry;
struct listener;
struct cli;
struct plugin_timer;
struct monitor;

#define WORKER_SCRATCH (64 * 1024)

struct worker {
	int id;
	struct server *srv;
	struct loop *loop;
	pthread_t thread;
	/* Connections with queued bytes, flushed at the end of the turn. */
	struct conn *flush_head;
	/* Other workers' connections this one queued bytes for: written
	 * directly at the end of the turn, which saves waking their owner. */
	struct conn *direct_head;
	/* Own connections with bytes, pushed by other threads (lock-free
	 * stack). */
	struct conn *_Atomic remote_flush;
	/* Workers this one queued bytes for during the turn: woken once. */
	uint64_t wake_mask;
	char *scratch; /* read buffer shared by the worker's connections */
	/* Connections owned, for shutdown and monitoring. */
	struct conn **conns;
	uint32_t nconns, capconns;
	bool started;
	/* Lame duck mode: the next client to close, and how often. */
	struct loop_timer ldm_timer;
	int64_t ldm_interval_ms;
};

struct server {
	struct opts opts;
	struct cli *cli;
	pthread_mutex_t opts_lock; /* reload swaps opts under it */
	char server_id[64];
	char *server_name;
	int64_t start_ns; /* wall clock */

	struct loop *main_loop;
	struct worker *workers;
	int nworkers;
	_Atomic uint32_t next_worker;

	struct registry *reg;
	struct plugin **plugins;
	size_t nplugins;
	struct listener *client_listener;
	struct listener **link_listeners;
	size_t nlink_listeners;
	int client_port; /* bound port */
	uint32_t client_tf;   /* NATSD_TF_* of the client listener's layers */
	void *tls_flags_conf; /* the section the --tls* flags made */
	/* The client port's TLS settings in force, which a reload compares
	 * (opts.tls keeps pointing to the first file's block). */
	struct reload_tls tls_now;

	struct accounts *accounts;
	struct imports *imports;
	struct account *gacc;   /* $G */
	struct account *sysacc; /* $SYS */

	_Atomic uint64_t next_cid;
	_Atomic int64_t nclients;
	_Atomic uint64_t total_conns;
	_Atomic uint64_t slow_consumers;
	_Atomic bool shutting_down;
	bool lame_duck;              /* SIGUSR2: draining clients */
	struct loop_timer ldm_timer; /* main loop: grace, then the end */

	/* The client INFO JSON object without client_id/client_ip and the
	 * closing brace, rebuilt when what it says changes. */
	pthread_mutex_t info_lock;
	char *info_prefix;
	bool auth_required;	/* INFO says so: CONNECT must come first */
	bool auth_enforced;	/* unclaimed clients are refused */
	bool nonce_required;
	/* Websocket clients: auth_required as their INFO says it (the
	 * websocket block may have authorization of its own), and their
	 * INFO prefix when it differs from info_prefix (else NULL). */
	bool ws_auth_required;
	char *ws_info_prefix;
	struct listener *ws_listener;
	int ws_port;
	uint32_t ws_tf; /* NATSD_TF_* of the websocket listener's layers */

	/* Plugin timers not yet fired, freed at shutdown. */
	pthread_mutex_t timers_lock;
	struct plugin_timer *timers;
	int sigfd;
	struct loop_io sig_io;
	/* Monitoring (monitor.c): NULL when off. conn_close() reports
	 * every closing connection to closed_hook(monitor, c). */
	struct monitor *monitor;
	void (*closed_hook)(struct monitor *m, struct conn *c);
	/* And every client whose CONNECT was accepted (owner thread). */
	void (*connect_hook)(struct monitor *m, struct conn *c);

	const char *exe;  /* argv[0], for the ports file's name */
	char *ports_path; /* written ports file, removed at exit */
	int exit_code;
};

/* Starts everything the options say; 0 or a negative code (logged). */
int server_start(struct server *s);
/* Runs the main loop until a stop signal; then shuts down. */
int server_run(struct server *s);
void server_free(struct server *s);

/* The worker whose loop runs on the calling thread, or NULL. */
struct worker *server_current_worker(void);

/* Picks the next worker for a new connection. */
struct worker *server_pick_worker(struct server *s);

/* Registers c in w's list (owner thread) / removes it. */
int worker_add_conn(struct worker *w, struct conn *c);
void worker_del_conn(struct worker *w, struct conn *c);

/* Marks worker o to be woken at the end of the calling worker's turn
 * (or now, from a thread that is not a worker). */
void worker_wake_later(struct worker *o);

/* Current options, read by any thread for plain scalars. */
static inline const struct opts *server_opts(const struct server *s)
{
	return &s->opts;
}

/* Enters lame duck mode (SIGUSR2, --signal ldm). Main loop. */
void server_lame_duck(struct server *s);

/* (Re)applies the logging options. */
/* Logs what reading the config file warned about (unsupported keys). */
void server_log_conf_warnings(struct server *s);
int server_configure_log(struct server *s);

/* Re-reads the config file and applies what may change. */
int server_reload(struct server *s);

/* Rebuilds the INFO prefix after auth or limits changed. */
int server_build_info(struct server *s);

#endif
