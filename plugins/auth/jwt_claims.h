/* NATS JWTs: decoding, signature and claim checks, as nats-server 2.9
 * and nats-io/jwt v2 do them (../shared/PROTOCOL.md sections 2.3, 2.4).
 *
 * A module of the auth_jwt plugin, compiled into it and into its unit
 * test; it keeps no state, and its only I/O is reading a zoneinfo file
 * for a user's times_location. Tokens are compact JWS:
 * base64url(header) "." base64url(claims) "." base64url(signature), the
 * signature an Ed25519 one by the nkey in "iss" over the first two parts
 * ("ed25519-nkey", v2) or over the claims part alone ("ed25519", v1). */
#ifndef NATSD_JWT_CLAIMS_H
#define NATSD_JWT_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jwt_type {
	JWT_OTHER = 0,
	JWT_OPERATOR = 1,
	JWT_ACCOUNT = 2,
	JWT_USER = 3,
	JWT_ACTIVATION = 4,
};

/* A list of strings; n == 0 also for an absent list. */
struct jwt_strv {
	char **v;
	size_t n;
};

/* A daily connect window, seconds since midnight; end < start wraps. */
struct jwt_time_range {
	int start, end;
};

/* What a user JWT (or a scoped signing key's template) grants: nats-io/jwt
 * UserPermissionLimits. Limits are -1 when unlimited or absent. */
struct jwt_user_limits {
	struct jwt_strv pub_allow, pub_deny, sub_allow, sub_deny;
	bool resp;                  /* "resp" present: allow_responses */
	int64_t resp_max, resp_ttl; /* ttl in ns */
	struct jwt_strv src;        /* CIDRs; none: any address */
	struct jwt_time_range *times;
	size_t ntimes;
	char *times_location;
	int64_t subs, data, payload;
	bool bearer;
	struct jwt_strv conn_types; /* allowed_connection_types */
	bool perms;                 /* pub, sub or resp given */
	bool set;                   /* anything above given, not zero */
};

struct jwt_signing_key {
	char *key;
	bool scoped; /* a "user_scope" with a template */
	char *role;
	struct jwt_user_limits tmpl;
};

struct jwt_revocation {
	char *key;  /* user public key, or "*" */
	int64_t at; /* unix seconds */
};

/* An account's export: a stream or service others may import. */
struct jwt_export {
	char *subject;
	bool service;
	bool token_req;              /* importers need an activation */
	struct jwt_revocation *revs; /* revoked activations, by importer */
	size_t nrevs;
	int resp_type;          /* 0 Singleton, 1 Stream, 2 Chunked */
	int64_t resp_threshold; /* ns, 0 = default */
};

/* An account's import of another account's export. */
struct jwt_import {
	char *subject, *account, *token, *to, *local_subject;
	bool service;
};

struct jwt {
	enum jwt_type type;
	int version; /* 1 (legacy "ed25519") or 2 */
	char *iss, *sub, *name;
	int64_t iat, exp, nbf; /* unix seconds; 0 = absent */
	struct jwt_strv tags;

	/* Operator */
	struct jwt_strv op_signing_keys;
	char *system_account;
	bool strict_signing; /* strict_signing_key_usage */

	/* Account */
	struct jwt_signing_key *sks;
	size_t nsks;
	struct jwt_revocation *revs;
	size_t nrevs;
	/* -1 unlimited; absent 0, as nats-io/jwt decodes them */
	int64_t acc_conn, acc_subs, acc_payload, acc_data;
	bool disallow_bearer;
	struct jwt_user_limits defaults; /* default_permissions */
	bool has_defaults;
	struct jwt_export *exports;
	size_t nexports;
	struct jwt_import *imports;
	size_t nimports;
	int64_t acc_imports, acc_exports; /* limits: -1 unlimited */
	bool acc_wildcards;

	/* Activation */
	char *act_subject;
	bool act_service;

	/* User */
	struct jwt_user_limits user;
	char *issuer_account;
};

/* Decodes token, checks its header and its signature by the key in "iss"
 * and reads the claims. Times are not checked (jwt_check_times). 0 and a
 * new *out (jwt_free), or NATSD_EINVAL with a reason in err (never the
 * token), NATSD_EACCES when the signature does not verify, NATSD_ENOMEM. */
int jwt_decode(const char *token, struct jwt **out, char *err, size_t errlen);
void jwt_free(struct jwt *j);

/* exp and nbf against now (unix seconds). 0, or NATSD_EACCES with err. */
int jwt_check_times(const struct jwt *j, int64_t now, char *err, size_t errlen);

/* Is key the operator's own or one of its signing keys? */
bool jwt_operator_trusts(const struct jwt *op, const char *key);

/* The account's signing key entry for key, or NULL. The account's own
 * key is not an entry: check it apart. */
const struct jwt_signing_key *jwt_account_signer(const struct jwt *acc,
						 const char *key);

/* Is a user with key and issued at iat revoked by the account? */
bool jwt_account_revoked(const struct jwt *acc, const char *key, int64_t iat);

/* Replaces the user's permissions and limits with the template of a
 * scoped signing key, expanding {{name()}}, {{subject()}},
 * {{account-name()}}, {{account-subject()}}, {{tag(x)}} and
 * {{account-tag(x)}}. 0, NATSD_EACCES with err (the user has permissions
 * of its own, or a template does not expand), NATSD_ENOMEM. */
int jwt_apply_scope(struct jwt *user, const struct jwt *acc,
		    const struct jwt_signing_key *sk, char *err, size_t errlen);

/* Is ip (text, v4 or v6) in one of the user's src CIDRs (or are there
 * none)? A CIDR that does not parse matches nothing. */
bool jwt_src_allowed(const struct jwt_user_limits *l, const char *ip);

/* Is the connection type allowed? Unknown types in the list are ignored
 * unless they are all there is, as nats-server does. */
bool jwt_conn_type_allowed(const struct jwt_user_limits *l, const char *type);

/* Is now (unix seconds) in one of the user's connect windows (or are there
 * none)? *until is then the end of the window (unix seconds) or 0. The
 * times are in times_location: local time when empty, else an IANA zone
 * read from /usr/share/zoneinfo. NATSD_ENOTSUP for a zone that is not
 * there. */
int jwt_times_allowed(const struct jwt_user_limits *l, int64_t now,
		      bool *allowed, int64_t *until);

/* Is every subject that sub matches also matched by pattern? */
bool jwt_subject_within(const char *sub, const char *pattern);

/* The blocking issues nats-io/jwt finds in an account JWT: more imports
 * or exports than its limits allow, wildcard exports without wildcards,
 * and imports whose activation token is not for this account, not from
 * the exporting account or not for the import's subject or kind. 0, or
 * NATSD_EINVAL with err. */
int jwt_account_validate(const struct jwt *acc, char *err, size_t errlen);

/* The export of exporter that covers imp's subject on the exporter's
 * side (subject), or NULL. */
const struct jwt_export *jwt_find_export(const struct jwt *exporter,
					 const char *subject, bool service);

/* Checks activation token for importer's import of subject from the
 * export exp of exporter at now: signed by the exporter or one of its
 * signing keys, for importer, covering subject, of the right kind, not
 * expired, not revoked by the export. 0, or NATSD_EACCES with err. */
int jwt_check_activation(const char *token, const struct jwt *exporter,
			 const struct jwt_export *exp, const char *importer,
			 const char *subject, int64_t now, char *err,
			 size_t errlen);

/* The UTC offset (seconds east) of IANA zone at now, from its
 * /usr/share/zoneinfo file (the one I/O of this module). 0, NATSD_EINVAL
 * (a name that is not a zone name, a bad file), NATSD_ENOENT. */
int jwt_tz_offset(const char *zone, int64_t now, int *off);

/* base64url without padding (padding tolerated). Writes at most outlen
 * bytes; returns the length or NATSD_EINVAL. */
long jwt_b64url_decode(const char *in, size_t len, unsigned char *out,
		       size_t outlen);

#endif
