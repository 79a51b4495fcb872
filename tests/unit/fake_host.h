/*
 * A fake host for the unit tests of an authentication plugin.
 *
 * The test program compiles the plugin's source into itself (so
 * natsd_plugin_entry() is the plugin's) and drives it through
 * fake_host_api: the core's own table, so the config getters read a real
 * natsd.conf text, with the log, register_auth and the auth request
 * accessors replaced by fakes that record what the plugin did. A test
 * that needs more of the host replaces further entries of fake_host_api
 * after fake_host_setup().
 */
#ifndef NATSD_TESTS_FAKE_HOST_H
#define NATSD_TESTS_FAKE_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <natsd/plugin.h>

#include "opts.h"

/* A request as the fake host keeps it: what the plugin may read (fields,
 * filled by the test) and what it granted. */
struct natsd_auth_req {
	const char *fields[NATSD_AF_TRANSPORT + 1];
	char sig[128]; /* room for a signature the test makes */
	char user[64];
	char account[64];
	char permits[2048]; /* "<list>:<subject> ..." */
	bool resp;
	int64_t resp_max, resp_expires;
	int64_t limits[4];
	int64_t expiry;
	pthread_mutex_t mu; /* auth_done may come from another thread */
	int done;
	int verdict;
};

extern struct natsd_host_api fake_host_api;
/* What the plugin gave register_auth. */
extern struct natsd_auth_ops fake_host_auth;
extern void *fake_host_auth_ctx;

/* Resets fake_host_api to the core's table with the fakes in, forgets
 * what was registered and clears the log. */
void fake_host_setup(void);

/* Writes text to a new file under /tmp and reads it into o with
 * conffile_load() after opts_init(o); the file is gone on return. path
 * (pathlen bytes, may be NULL) gets the file's name. Returns
 * conffile_load()'s result, err its message; either way the caller
 * calls opts_fini(o). */
int fake_host_conf(struct opts *o, const char *text, char *path, size_t pathlen,
		   char *err, size_t errlen);

/* Calls the plugin's init with fake_host_api and cfg. Returns its result;
 * err gets its message. */
int fake_host_init(const struct natsd_cfg *cfg, char *err, size_t errlen);

/* Calls the plugin's fini on what init made. */
void fake_host_fini(void);

/* An empty request over a plain TCP connection from 127.0.0.1. */
void fake_host_req_init(struct natsd_auth_req *r);

/* The registered authenticate() on r. */
int fake_host_authenticate(struct natsd_auth_req *r);

/* Appends to the text in buf (cap bytes) the formatted words, after a
 * space when buf is not empty: how the fakes list what they were given. */
void fake_host_append(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The log: every line since the last clear (or setup), and the last line
 * alone. */
void fake_host_log_clear(void);
bool fake_host_logged(const char *text);
const char *fake_host_log(void);
const char *fake_host_last_log(void);

#endif /* NATSD_TESTS_FAKE_HOST_H */
