/* Accounts as the config declares them: their limits, and the exports
 * and imports that let messages cross from one account to another.
 *
 * An import is a subscription of no connection, in the index of the
 * account the messages come from, that names where they go:
 * - a stream import sits in the exporter's index on the imported subject
 *   and delivers into the importer, under prefix.subject or `to`;
 * - a service import sits in the importer's index on `to` (or the
 *   subject) and delivers into the exporter as the exported subject; a
 *   request's reply subject is replaced by a fresh "_R_.x.y" for which a
 *   response import, in the exporter's index, delivers back into the
 *   importer under the original reply (once for a singleton service, or
 *   until it expires for stream and chunked ones).
 * The router follows imports (router.c); this module makes and removes
 * them. */
#ifndef NATSD_IMPORTS_H
#define NATSD_IMPORTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct account;
struct opts;
struct server;
struct sub;

enum import_kind {
	IMPORT_STREAM = 1,
	IMPORT_SERVICE,
	IMPORT_RESPONSE,
	IMPORT_NOTIFY, /* ABI 1.2: delivers to a plugin's function */
};

#define IMPORTS_MAX_DEPTH 8 /* imports followed for one message */

struct import {
	int kind;            /* enum import_kind */
	struct account *src; /* the account whose index holds sub */
	struct account *dst; /* where messages go */
	struct sub *sub;
	/* The subject in dst: prefix + "." + subject (streams), or dst_pat
	 * with the wildcards of the sub's pattern put in (NULL: the same
	 * subject). For a response: the requester's reply subject. */
	char *prefix;
	char *dst_pat;
	int resp_type;       /* services: enum opts_resp_type */
	int64_t resp_ttl_ns; /* services: how long a response may come */
	int64_t expires_ns;  /* responses: CLOCK_MONOTONIC deadline */
	_Atomic int done;    /* responses: a singleton was answered */
	/* Set by imports_set_account() (JWT accounts): kept when the
	 * config's imports are replaced. */
	struct account *owner;
	/* IMPORT_NOTIFY: natsd_msg_fn and its argument. */
	void (*fn)(void *arg, const struct natsd_msg *m);
	void *arg;
	struct import *next; /* the server's list */
};

struct imports;

struct imports *imports_new(struct server *srv);
/* Removes every import (the caller stops routing first). */
void imports_free(struct imports *im);

/* Puts the accounts of o in force: creates the declared accounts, sets
 * their limits, and replaces the config's imports with o's (response
 * mappings in flight stay). opts_validate() has checked the references.
 * 0 or NATSD_ENOMEM. */
int imports_configure(struct imports *im, const struct opts *o);

/* Replaces the imports earlier calls set for the account name with the
 * n of v (struct natsd_import, ABI 1.2). 0, NATSD_EINVAL, NATSD_ENOMEM;
 * on failure the account has the imports that could be made. */
struct natsd_import;
struct natsd_msg;
int imports_set_account(struct imports *im, const char *name,
			const struct natsd_import *v, size_t n);

/* A subscription of a plugin's fn on subject in the account name (ABI
 * 1.2 account_subscribe); *out is the handle for imports_notify_remove.
 * 0, NATSD_EINVAL, NATSD_ENOMEM. */
int imports_notify_add(struct imports *im, const char *name,
		       const char *subject,
		       void (*fn)(void *arg, const struct natsd_msg *m),
		       void *arg, struct import **out);
/* Stops deliveries to the plugin's fn (memory goes at imports_free). */
void imports_notify_remove(struct imports *im, struct import *imp);

/* Writes the subject a message on subj takes in imp->dst into out (cap
 * bytes). Returns its length, or 0 when it does not fit. */
size_t import_subject(const struct import *imp, const char *subj, size_t len,
		      char *out, size_t cap);

/* For a request through service import imp with reply subject reply:
 * makes the response mapping and writes its "_R_.x.y" subject into out
 * (cap >= 32). Returns the length, or 0 when out of memory. */
size_t import_response_map(struct imports *im, const struct import *imp,
			   const char *reply, size_t len, char *out,
			   size_t cap);

/* A response is about to be delivered through imp: false when it may not
 * (a singleton already answered); a singleton is removed after this. */
bool import_response_take(struct imports *im, struct import *imp);

/* Removes response mappings that expired (main loop, periodically). */
void imports_sweep(struct imports *im);

#endif
