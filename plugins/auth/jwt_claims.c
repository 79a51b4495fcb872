/* NATS JWTs: see jwt_claims.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include <natsd/error.h>

#include "jwt_claims.h"
#include "nkey.h"

/* A JWT longer than this is refused before any decoding. */
#define JWT_MAX_LEN (1024 * 1024)
/* Template expansion: no subject grows past this, nor fans out more. */
#define JWT_MAX_SUBJECT    4096
#define JWT_MAX_EXPANSIONS 256

/* base64url                                                            */

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	/* Both alphabets: nats-server falls back to standard base64. */
	if (ch == '-' || ch == '+')
		return 62;
	if (ch == '_' || ch == '/')
		return 63;
	return -1;
}

long jwt_b64url_decode(const char *in, size_t len, unsigned char *out,
		       size_t outlen)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return NATSD_EINVAL;
	for (i = 0; i < len; i++) {
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return NATSD_EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return NATSD_EINVAL;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, or two texts decode alike. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return NATSD_EINVAL;
	return (long)o;
}

/* Decodes a part into a NUL-terminated new buffer. */
static char *b64_part(const char *in, size_t len, size_t *outlen)
{
	size_t cap = len / 4 * 3 + 3;
	char *buf = malloc(cap + 1);
	long n;

	if (buf == NULL)
		return NULL;
	n = jwt_b64url_decode(in, len, (unsigned char *)buf, cap);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*outlen = (size_t)n;
	return buf;
}

/* JSON helpers                                                         */

static void strv_free(struct jwt_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static int strv_push(struct jwt_strv *sv, const char *s, size_t len)
{
	char **nv = realloc(sv->v, (sv->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return NATSD_ENOMEM;
	sv->v = nv;
	nv[sv->n] = strndup(s, len);
	if (nv[sv->n] == NULL)
		return NATSD_ENOMEM;
	sv->n++;
	return 0;
}

static int strv_copy(struct jwt_strv *dst, const struct jwt_strv *src)
{
	size_t i;
	int rc;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->n; i++) {
		rc = strv_push(dst, src->v[i], strlen(src->v[i]));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Where reading fails: the claim's name, for the error message. */
struct rd {
	char *err;
	size_t errlen;
	int rc;
};

static void rd_fail(struct rd *r, int rc, const char *what)
{
	if (r->rc != 0)
		return;
	r->rc = rc;
	if (rc == NATSD_ENOMEM)
		snprintf(r->err, r->errlen, "out of memory");
	else
		snprintf(r->err, r->errlen, "%s", what);
}

/* A string member, NULL when absent or null. */
static char *get_str(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	char *s;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		rd_fail(r, NATSD_EINVAL, key);
		return NULL;
	}
	s = strdup(json_string_value(v));
	if (s == NULL)
		rd_fail(r, NATSD_ENOMEM, key);
	return s;
}

/* An integer member; def when absent. Whole-valued reals are taken, as
 * Go's encoder writes big numbers that way. */
static int64_t get_int(struct rd *r, json_t *o, const char *key, int64_t def,
		       bool *present)
{
	json_t *v = json_object_get(o, key);
	double d;

	if (present != NULL)
		*present = false;
	if (v == NULL || json_is_null(v))
		return def;
	if (present != NULL)
		*present = true;
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d)
			return (int64_t)d;
	}
	rd_fail(r, NATSD_EINVAL, key);
	return def;
}

static bool get_bool(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return false;
	if (!json_is_boolean(v)) {
		rd_fail(r, NATSD_EINVAL, key);
		return false;
	}
	return json_is_true(v);
}

/* An array of strings; with split, a string "a,b" is one too (older JWTs
 * wrote src that way). */
static void get_strv(struct rd *r, json_t *o, const char *key,
		     struct jwt_strv *sv, bool split)
{
	json_t *v = json_object_get(o, key), *e;
	const char *s, *comma;
	size_t i, len;
	int rc = 0;

	if (v == NULL || json_is_null(v))
		return;
	if (split && json_is_string(v)) {
		for (s = json_string_value(v); rc == 0 && *s != '\0';) {
			s += strspn(s, ", ");
			comma = strchr(s, ',');
			len = comma ? (size_t)(comma - s) : strlen(s);
			while (len > 0 && s[len - 1] == ' ')
				len--;
			if (len > 0)
				rc = strv_push(sv, s, len);
			s += comma ? (size_t)(comma - s) : strlen(s);
		}
		if (rc != 0)
			rd_fail(r, rc, key);
		return;
	}
	if (!json_is_array(v)) {
		rd_fail(r, NATSD_EINVAL, key);
		return;
	}
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			rd_fail(r, NATSD_EINVAL, key);
			return;
		}
		rc = strv_push(sv, json_string_value(e), json_string_length(e));
		if (rc != 0) {
			rd_fail(r, rc, key);
			return;
		}
	}
}

/* An object member, NULL when absent or null. */
static json_t *get_obj(struct rd *r, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		rd_fail(r, NATSD_EINVAL, key);
		return NULL;
	}
	return v;
}

/* Claims                                                               */

static void user_limits_fini(struct jwt_user_limits *l)
{
	strv_free(&l->pub_allow);
	strv_free(&l->pub_deny);
	strv_free(&l->sub_allow);
	strv_free(&l->sub_deny);
	strv_free(&l->src);
	free(l->times);
	free(l->times_location);
	strv_free(&l->conn_types);
	memset(l, 0, sizeof(*l));
}

/* "HH:MM:SS" into seconds since midnight, or -1. */
static int parse_clock(const char *s)
{
	int h, m, sec;
	char tail;

	if (s == NULL || sscanf(s, "%2d:%2d:%2d%c", &h, &m, &sec, &tail) != 3)
		return -1;
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
		return -1;
	return h * 3600 + m * 60 + sec;
}

static void read_times(struct rd *r, json_t *o, struct jwt_user_limits *l)
{
	json_t *v = json_object_get(o, "times"), *e;
	size_t i, n;

	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_array(v)) {
		rd_fail(r, NATSD_EINVAL, "times");
		return;
	}
	n = json_array_size(v);
	if (n == 0)
		return;
	l->times = calloc(n, sizeof(*l->times));
	if (l->times == NULL) {
		rd_fail(r, NATSD_ENOMEM, "times");
		return;
	}
	json_array_foreach(v, i, e)
	{
		const char *st = json_string_value(json_object_get(e, "start"));
		const char *en = json_string_value(json_object_get(e, "end"));

		l->times[i].start = parse_clock(st);
		l->times[i].end = parse_clock(en);
		if (l->times[i].start < 0 || l->times[i].end < 0) {
			rd_fail(r, NATSD_EINVAL, "times");
			return;
		}
	}
	l->ntimes = n;
}

static void read_subject_perm(struct rd *r, json_t *o, const char *key,
			      struct jwt_strv *allow, struct jwt_strv *deny)
{
	json_t *p = get_obj(r, o, key);

	if (p == NULL)
		return;
	get_strv(r, p, "allow", allow, false);
	get_strv(r, p, "deny", deny, false);
}

/* nats-io/jwt UserPermissionLimits, from a user's "nats" or a template. */
static void read_user_limits(struct rd *r, json_t *o, struct jwt_user_limits *l)
{
	json_t *resp;
	bool p_subs, p_data, p_payload;

	read_subject_perm(r, o, "pub", &l->pub_allow, &l->pub_deny);
	read_subject_perm(r, o, "sub", &l->sub_allow, &l->sub_deny);
	resp = get_obj(r, o, "resp");
	if (resp != NULL) {
		l->resp = true;
		l->resp_max = get_int(r, resp, "max", 0, NULL);
		l->resp_ttl = get_int(r, resp, "ttl", 0, NULL);
	}
	get_strv(r, o, "src", &l->src, true);
	read_times(r, o, l);
	l->times_location = get_str(r, o, "times_location");
	l->subs = get_int(r, o, "subs", -1, &p_subs);
	l->data = get_int(r, o, "data", -1, &p_data);
	l->payload = get_int(r, o, "payload", -1, &p_payload);
	l->bearer = get_bool(r, o, "bearer_token");
	get_strv(r, o, "allowed_connection_types", &l->conn_types, false);
	l->perms = l->pub_allow.n + l->pub_deny.n + l->sub_allow.n +
				   l->sub_deny.n >
			   0 ||
		   l->resp;
	/* As nats-io/jwt compares with an empty UserPermissionLimits. */
	l->set = l->perms || l->src.n > 0 || l->ntimes > 0 ||
		 (l->times_location != NULL && l->times_location[0] != '\0') ||
		 (p_subs && l->subs != 0) || (p_data && l->data != 0) ||
		 (p_payload && l->payload != 0) || l->bearer ||
		 l->conn_types.n > 0;
}

static void read_operator(struct rd *r, json_t *nats, struct jwt *j)
{
	get_strv(r, nats, "signing_keys", &j->op_signing_keys, false);
	j->system_account = get_str(r, nats, "system_account");
	j->strict_signing = get_bool(r, nats, "strict_signing_key_usage");
}

static void read_signing_keys(struct rd *r, json_t *nats, struct jwt *j)
{
	json_t *v = json_object_get(nats, "signing_keys"), *e, *t;
	struct jwt_signing_key *sk;
	size_t i, n;

	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_array(v)) {
		rd_fail(r, NATSD_EINVAL, "signing_keys");
		return;
	}
	n = json_array_size(v);
	j->sks = calloc(n ? n : 1, sizeof(*j->sks));
	if (j->sks == NULL) {
		rd_fail(r, NATSD_ENOMEM, "signing_keys");
		return;
	}
	json_array_foreach(v, i, e)
	{
		sk = &j->sks[j->nsks++];
		if (json_is_string(e)) {
			sk->key = strdup(json_string_value(e));
			if (sk->key == NULL)
				rd_fail(r, NATSD_ENOMEM, "signing_keys");
			continue;
		}
		if (!json_is_object(e)) {
			rd_fail(r, NATSD_EINVAL, "signing_keys");
			return;
		}
		sk->key = get_str(r, e, "key");
		sk->role = get_str(r, e, "role");
		if (sk->key == NULL ||
		    strcmp(json_string_value(json_object_get(e, "kind")) ?: "",
			   "user_scope") != 0) {
			rd_fail(r, NATSD_EINVAL, "signing_keys");
			return;
		}
		sk->scoped = true;
		t = get_obj(r, e, "template");
		if (t != NULL)
			read_user_limits(r, t, &sk->tmpl);
	}
}

static void read_revs(struct rd *r, json_t *v, struct jwt_revocation **revs,
		      size_t *nrevs)
{
	json_t *e;
	const char *key;
	size_t n;

	if (v == NULL)
		return;
	n = json_object_size(v);
	*revs = calloc(n ? n : 1, sizeof(**revs));
	if (*revs == NULL) {
		rd_fail(r, NATSD_ENOMEM, "revocations");
		return;
	}
	json_object_foreach(v, key, e)
	{
		if (!json_is_integer(e)) {
			rd_fail(r, NATSD_EINVAL, "revocations");
			return;
		}
		(*revs)[*nrevs].key = strdup(key);
		if ((*revs)[*nrevs].key == NULL) {
			rd_fail(r, NATSD_ENOMEM, "revocations");
			return;
		}
		(*revs)[(*nrevs)++].at = json_integer_value(e);
	}
}

/* "stream" or "service" (absent: stream, as nats-io/jwt has it). */
static bool is_service(struct rd *r, json_t *o, const char *key)
{
	const char *t = json_string_value(json_object_get(o, key));

	if (t == NULL || strcmp(t, "stream") == 0)
		return false;
	if (strcmp(t, "service") == 0)
		return true;
	rd_fail(r, NATSD_EINVAL, key);
	return false;
}

static void read_exports(struct rd *r, json_t *nats, struct jwt *j)
{
	json_t *v = json_object_get(nats, "exports"), *e;
	struct jwt_export *x;
	const char *rt;
	size_t i, n;

	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_array(v)) {
		rd_fail(r, NATSD_EINVAL, "exports");
		return;
	}
	n = json_array_size(v);
	j->exports = calloc(n ? n : 1, sizeof(*j->exports));
	if (j->exports == NULL) {
		rd_fail(r, NATSD_ENOMEM, "exports");
		return;
	}
	json_array_foreach(v, i, e)
	{
		x = &j->exports[j->nexports++];
		if (!json_is_object(e)) {
			rd_fail(r, NATSD_EINVAL, "exports");
			return;
		}
		x->subject = get_str(r, e, "subject");
		if (x->subject == NULL)
			rd_fail(r, NATSD_EINVAL, "export subject");
		x->service = is_service(r, e, "type");
		x->token_req = get_bool(r, e, "token_req");
		read_revs(r, get_obj(r, e, "revocations"), &x->revs, &x->nrevs);
		rt = json_string_value(json_object_get(e, "response_type"));
		x->resp_type = rt == NULL                   ? 0
			       : strcmp(rt, "Stream") == 0  ? 1
			       : strcmp(rt, "Chunked") == 0 ? 2
							    : 0;
		x->resp_threshold =
			get_int(r, e, "response_threshold", 0, NULL);
	}
}

static void read_imports(struct rd *r, json_t *nats, struct jwt *j)
{
	json_t *v = json_object_get(nats, "imports"), *e;
	struct jwt_import *m;
	size_t i, n;

	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_array(v)) {
		rd_fail(r, NATSD_EINVAL, "imports");
		return;
	}
	n = json_array_size(v);
	j->imports = calloc(n ? n : 1, sizeof(*j->imports));
	if (j->imports == NULL) {
		rd_fail(r, NATSD_ENOMEM, "imports");
		return;
	}
	json_array_foreach(v, i, e)
	{
		m = &j->imports[j->nimports++];
		if (!json_is_object(e)) {
			rd_fail(r, NATSD_EINVAL, "imports");
			return;
		}
		m->subject = get_str(r, e, "subject");
		m->account = get_str(r, e, "account");
		m->token = get_str(r, e, "token");
		m->to = get_str(r, e, "to");
		m->local_subject = get_str(r, e, "local_subject");
		m->service = is_service(r, e, "type");
		if (m->subject == NULL)
			rd_fail(r, NATSD_EINVAL, "import subject");
	}
}

static void read_account(struct rd *r, json_t *nats, struct jwt *j)
{
	json_t *lim = get_obj(r, nats, "limits"), *defs;

	read_signing_keys(r, nats, j);
	read_revs(r, get_obj(r, nats, "revocations"), &j->revs, &j->nrevs);
	/* Absent limits are 0 in nats-io/jwt's decoding, and nats-server
	 * 2.9 enforces them so: no connections at all. */
	j->acc_conn = get_int(r, lim, "conn", 0, NULL);
	j->acc_subs = get_int(r, lim, "subs", 0, NULL);
	j->acc_payload = get_int(r, lim, "payload", 0, NULL);
	j->acc_data = get_int(r, lim, "data", 0, NULL);
	j->disallow_bearer = get_bool(r, lim, "disallow_bearer") ||
			     get_bool(r, nats, "disallow_bearer");
	/* Absent, these are 0 in nats-io/jwt's decoding: nothing allowed. */
	j->acc_imports = get_int(r, lim, "imports", 0, NULL);
	j->acc_exports = get_int(r, lim, "exports", 0, NULL);
	j->acc_wildcards = get_bool(r, lim, "wildcards");
	read_exports(r, nats, j);
	read_imports(r, nats, j);
	defs = get_obj(r, nats, "default_permissions");
	if (defs != NULL) {
		read_user_limits(r, defs, &j->defaults);
		j->has_defaults = j->defaults.perms;
	}
}

static enum jwt_type type_of(const char *s)
{
	static const char *const names[] = {
		[JWT_OPERATOR] = "operator",
		[JWT_ACCOUNT] = "account",
		[JWT_USER] = "user",
		[JWT_ACTIVATION] = "activation",
	};
	size_t i;

	for (i = 1; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum jwt_type)i;
	return JWT_OTHER;
}

static void read_claims(struct rd *r, json_t *c, struct jwt *j)
{
	json_t *nats = get_obj(r, c, "nats");
	const char *type;

	j->iss = get_str(r, c, "iss");
	j->sub = get_str(r, c, "sub");
	j->name = get_str(r, c, "name");
	j->iat = get_int(r, c, "iat", 0, NULL);
	j->exp = get_int(r, c, "exp", 0, NULL);
	j->nbf = get_int(r, c, "nbf", 0, NULL);
	if (nats == NULL) {
		rd_fail(r, NATSD_EINVAL, "nats claims missing");
		return;
	}
	j->version = (int)get_int(r, nats, "version", 1, NULL);
	/* v1 JWTs have the type at the top. */
	type = json_string_value(json_object_get(nats, "type"));
	if (type == NULL)
		type = json_string_value(json_object_get(c, "type"));
	j->type = type_of(type);
	get_strv(r, nats, "tags", &j->tags, false);
	switch (j->type) {
	case JWT_OPERATOR:
		read_operator(r, nats, j);
		break;
	case JWT_ACCOUNT:
		read_account(r, nats, j);
		break;
	case JWT_USER:
		read_user_limits(r, nats, &j->user);
		j->issuer_account = get_str(r, nats, "issuer_account");
		break;
	case JWT_ACTIVATION:
		j->issuer_account = get_str(r, nats, "issuer_account");
		j->act_subject = get_str(r, nats, "subject");
		/* v2 says kind, v1 type. */
		j->act_service = is_service(
			r, nats,
			json_object_get(nats, "kind") != NULL ? "kind"
							      : "type");
		break;
	default:
		break;
	}
}

void jwt_free(struct jwt *j)
{
	size_t i;

	if (j == NULL)
		return;
	free(j->iss);
	free(j->sub);
	free(j->name);
	strv_free(&j->tags);
	strv_free(&j->op_signing_keys);
	free(j->system_account);
	for (i = 0; i < j->nsks; i++) {
		free(j->sks[i].key);
		free(j->sks[i].role);
		user_limits_fini(&j->sks[i].tmpl);
	}
	free(j->sks);
	for (i = 0; i < j->nrevs; i++)
		free(j->revs[i].key);
	free(j->revs);
	user_limits_fini(&j->defaults);
	user_limits_fini(&j->user);
	free(j->issuer_account);
	for (i = 0; i < j->nexports; i++) {
		free(j->exports[i].subject);
		for (size_t k = 0; k < j->exports[i].nrevs; k++)
			free(j->exports[i].revs[k].key);
		free(j->exports[i].revs);
	}
	free(j->exports);
	for (i = 0; i < j->nimports; i++) {
		free(j->imports[i].subject);
		free(j->imports[i].account);
		free(j->imports[i].token);
		free(j->imports[i].to);
		free(j->imports[i].local_subject);
	}
	free(j->imports);
	free(j->act_subject);
	free(j);
}

/* The nkey type a key's first letter says, for the issuer check. */
static int key_type(const char *key, enum nkey_type *t)
{
	switch (key != NULL ? key[0] : 0) {
	case 'O':
		*t = NKEY_OPERATOR;
		return 0;
	case 'A':
		*t = NKEY_ACCOUNT;
		return 0;
	case 'U':
		*t = NKEY_USER;
		return 0;
	default:
		return NATSD_EINVAL;
	}
}

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return rc;
}

/* Header: typ JWT (any case), alg ed25519-nkey or ed25519. Returns the
 * version the alg says, or 0. */
static int check_header(const char *h, size_t len)
{
	json_t *hdr = json_loadb(h, len, 0, NULL);
	const char *typ, *alg;
	int v = 0;

	if (hdr == NULL)
		return 0;
	typ = json_string_value(json_object_get(hdr, "typ"));
	alg = json_string_value(json_object_get(hdr, "alg"));
	if (typ != NULL && strcasecmp(typ, "JWT") == 0 && alg != NULL) {
		if (strcmp(alg, "ed25519-nkey") == 0)
			v = 2;
		else if (strcmp(alg, "ed25519") == 0)
			v = 1;
	}
	json_decref(hdr);
	return v;
}

int jwt_decode(const char *token, struct jwt **out, char *err, size_t errlen)
{
	const char *d1, *d2;
	char *hdr = NULL, *claims = NULL;
	size_t tlen, hlen, clen;
	unsigned char sig[NKEY_SIG_LEN + 1], pub[32];
	enum nkey_type kt;
	json_t *c = NULL;
	struct jwt *j = NULL;
	struct rd r = { err, errlen, 0 };
	int alg, rc;
	long n;

	tlen = token != NULL ? strnlen(token, JWT_MAX_LEN + 1) : 0;
	if (tlen == 0 || tlen > JWT_MAX_LEN)
		return fail(err, errlen, NATSD_EINVAL, "empty or too long");
	d1 = strchr(token, '.');
	d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
		return fail(err, errlen, NATSD_EINVAL,
			    "not three dot-separated parts");
	hdr = b64_part(token, (size_t)(d1 - token), &hlen);
	claims = b64_part(d1 + 1, (size_t)(d2 - d1 - 1), &clen);
	if (hdr == NULL || claims == NULL) {
		rc = fail(err, errlen, NATSD_EINVAL, "bad base64url");
		goto out;
	}
	alg = check_header(hdr, hlen);
	if (alg == 0) {
		rc = fail(err, errlen, NATSD_EINVAL,
			  "header is not typ JWT, alg ed25519-nkey");
		goto out;
	}
	n = jwt_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig));
	if (n != NKEY_SIG_LEN) {
		rc = fail(err, errlen, NATSD_EINVAL, "bad signature encoding");
		goto out;
	}
	c = json_loadb(claims, clen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(c)) {
		rc = fail(err, errlen, NATSD_EINVAL, "claims are not JSON");
		goto out;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		rc = fail(err, errlen, NATSD_ENOMEM, "out of memory");
		goto out;
	}
	read_claims(&r, c, j);
	if (r.rc != 0) {
		rc = r.rc;
		if (rc == NATSD_EINVAL) {
			char what[64];

			snprintf(what, sizeof(what), "%s", err);
			snprintf(err, errlen, "bad claim: %s", what);
		}
		goto out;
	}
	if (key_type(j->iss, &kt) != 0 ||
	    nkey_decode_public(kt, j->iss, pub) != 0) {
		rc = fail(err, errlen, NATSD_EINVAL, "issuer is not an nkey");
		goto out;
	}
	/* v1 signed the claims part only. */
	if (alg == 2)
		rc = nkey_verify(pub, token, (size_t)(d2 - token), sig);
	else
		rc = nkey_verify(pub, d1 + 1, (size_t)(d2 - d1 - 1), sig);
	if (rc != 0) {
		rc = fail(err, errlen, NATSD_EACCES,
			  "signature does not verify with the issuer's key");
		goto out;
	}
	if (j->version < 2)
		j->version = 1;
	*out = j;
	j = NULL;
	rc = 0;
out:
	jwt_free(j);
	json_decref(c);
	free(hdr);
	free(claims);
	return rc;
}

int jwt_check_times(const struct jwt *j, int64_t now, char *err, size_t errlen)
{
	if (j->exp > 0 && now > j->exp)
		return fail(err, errlen, NATSD_EACCES, "expired");
	if (j->nbf > 0 && now < j->nbf)
		return fail(err, errlen, NATSD_EACCES, "not yet valid");
	return 0;
}

bool jwt_operator_trusts(const struct jwt *op, const char *key)
{
	size_t i;

	if (key == NULL)
		return false;
	if (op->sub != NULL && strcmp(op->sub, key) == 0)
		return true;
	for (i = 0; i < op->op_signing_keys.n; i++)
		if (strcmp(op->op_signing_keys.v[i], key) == 0)
			return true;
	return false;
}

const struct jwt_signing_key *jwt_account_signer(const struct jwt *acc,
						 const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < acc->nsks; i++)
		if (strcmp(acc->sks[i].key, key) == 0)
			return &acc->sks[i];
	return NULL;
}

bool jwt_account_revoked(const struct jwt *acc, const char *key, int64_t iat)
{
	size_t i;

	for (i = 0; i < acc->nrevs; i++) {
		if (strcmp(acc->revs[i].key, "*") != 0 &&
		    (key == NULL || strcmp(acc->revs[i].key, key) != 0))
			continue;
		if (acc->revs[i].at >= iat)
			return true;
	}
	return false;
}

/* Scoped signing key templates                                         */

/* Values of tag name in tags ("name:value"), pushed onto vals. */
static int tag_values(const struct jwt_strv *tags, const char *name,
		      size_t nlen, struct jwt_strv *vals)
{
	size_t i;
	int rc;

	for (i = 0; i < tags->n; i++) {
		const char *t = tags->v[i];

		if (strncasecmp(t, name, nlen) != 0 || t[nlen] != ':')
			continue;
		rc = strv_push(vals, t + nlen + 1, strlen(t + nlen + 1));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The values a {{fn(arg)}} stands for. */
static int template_values(const struct jwt *user, const struct jwt *acc,
			   const char *fn, size_t len, struct jwt_strv *vals)
{
	char buf[128];
	const char *arg, *end;
	const char *s = NULL;

	if (len >= sizeof(buf))
		return NATSD_EINVAL;
	memcpy(buf, fn, len);
	buf[len] = '\0';
	if (strcmp(buf, "name()") == 0)
		s = user->name;
	else if (strcmp(buf, "subject()") == 0)
		s = user->sub;
	else if (strcmp(buf, "account-name()") == 0)
		s = acc->name;
	else if (strcmp(buf, "account-subject()") == 0)
		s = acc->sub;
	if (s != NULL)
		return strv_push(vals, s, strlen(s));
	arg = strchr(buf, '(');
	end = strrchr(buf, ')');
	if (arg == NULL || end == NULL || end < arg || end[1] != '\0')
		return NATSD_EINVAL;
	arg++;
	if (strncmp(buf, "tag(", 4) == 0)
		return tag_values(&user->tags, arg, (size_t)(end - arg), vals);
	if (strncmp(buf, "account-tag(", 12) == 0)
		return tag_values(&acc->tags, arg, (size_t)(end - arg), vals);
	return NATSD_EINVAL;
}

/* Appends every expansion of prefix + rest to out. */
static int expand(const struct jwt *user, const struct jwt *acc,
		  const char *prefix, const char *rest, struct jwt_strv *out)
{
	struct jwt_strv vals = { 0 };
	const char *open, *close;
	char buf[JWT_MAX_SUBJECT];
	size_t i, flen;
	int rc, n;

	open = strstr(rest, "{{");
	if (open == NULL) {
		if (out->n >= JWT_MAX_EXPANSIONS)
			return NATSD_ERANGE;
		n = snprintf(buf, sizeof(buf), "%s%s", prefix, rest);
		if (n < 0 || (size_t)n >= sizeof(buf))
			return NATSD_ERANGE;
		return strv_push(out, buf, (size_t)n);
	}
	close = strstr(open, "}}");
	if (close == NULL)
		return NATSD_EINVAL;
	open += 2;
	while (*open == ' ')
		open++;
	flen = (size_t)(close - open);
	while (flen > 0 && open[flen - 1] == ' ')
		flen--;
	rc = template_values(user, acc, open, flen, &vals);
	/* A tag the user lacks leaves nothing to grant: nats-server fails. */
	if (rc == 0 && vals.n == 0)
		rc = NATSD_EINVAL;
	for (i = 0; rc == 0 && i < vals.n; i++) {
		n = snprintf(buf, sizeof(buf), "%s%.*s%s", prefix,
			     (int)(strstr(rest, "{{") - rest), rest, vals.v[i]);
		if (n < 0 || (size_t)n >= sizeof(buf))
			rc = NATSD_ERANGE;
		else
			rc = expand(user, acc, buf, close + 2, out);
	}
	strv_free(&vals);
	return rc;
}

static int expand_list(const struct jwt *user, const struct jwt *acc,
		       const struct jwt_strv *in, struct jwt_strv *out)
{
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < in->n; i++) {
		rc = expand(user, acc, "", in->v[i], out);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int jwt_apply_scope(struct jwt *user, const struct jwt *acc,
		    const struct jwt_signing_key *sk, char *err, size_t errlen)
{
	const struct jwt_user_limits *t = &sk->tmpl;
	struct jwt_user_limits l = { 0 };
	int rc;

	if (user->user.set)
		return fail(err, errlen, NATSD_EACCES,
			    "scoped users require no permissions or limits "
			    "set");
	rc = expand_list(user, acc, &t->pub_allow, &l.pub_allow);
	if (rc == 0)
		rc = expand_list(user, acc, &t->pub_deny, &l.pub_deny);
	if (rc == 0)
		rc = expand_list(user, acc, &t->sub_allow, &l.sub_allow);
	if (rc == 0)
		rc = expand_list(user, acc, &t->sub_deny, &l.sub_deny);
	if (rc == 0)
		rc = strv_copy(&l.src, &t->src);
	if (rc == 0)
		rc = strv_copy(&l.conn_types, &t->conn_types);
	if (rc == 0 && t->ntimes > 0) {
		l.times = calloc(t->ntimes, sizeof(*l.times));
		if (l.times == NULL)
			rc = NATSD_ENOMEM;
		else
			memcpy(l.times, t->times,
			       t->ntimes * sizeof(*t->times));
		l.ntimes = t->ntimes;
	}
	if (rc == 0 && t->times_location != NULL) {
		l.times_location = strdup(t->times_location);
		if (l.times_location == NULL)
			rc = NATSD_ENOMEM;
	}
	if (rc != 0) {
		user_limits_fini(&l);
		if (rc == NATSD_ENOMEM)
			return fail(err, errlen, rc, "out of memory");
		return fail(err, errlen, NATSD_EACCES,
			    "scope template does not expand for this user");
	}
	l.resp = t->resp;
	l.resp_max = t->resp_max;
	l.resp_ttl = t->resp_ttl;
	l.subs = t->subs;
	l.data = t->data;
	l.payload = t->payload;
	l.bearer = t->bearer;
	l.perms = t->perms;
	l.set = t->set;
	user_limits_fini(&user->user);
	user->user = l;
	return 0;
}

/* Connection checks                                                    */

/* Parses "addr[/bits]" into 16 bytes (v4 mapped into v6) and a prefix
 * length over those 128 bits. */
static int parse_addr(const char *text, unsigned char a[16], int *bits)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned char v4[4];
	long b = -1;
	bool is4;

	if (strlen(text) >= sizeof(buf))
		return NATSD_EINVAL;
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash++ = '\0';
		errno = 0;
		b = strtol(slash, &end, 10);
		if (errno != 0 || end == slash || *end != '\0' || b < 0)
			return NATSD_EINVAL;
	}
	is4 = inet_pton(AF_INET, buf, v4) == 1;
	if (is4) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, v4, 4);
		if (b > 32)
			return NATSD_EINVAL;
		*bits = b < 0 ? 128 : (int)b + 96;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) != 1 || b > 128)
		return NATSD_EINVAL;
	*bits = b < 0 ? 128 : (int)b;
	return 0;
}

bool jwt_src_allowed(const struct jwt_user_limits *l, const char *ip)
{
	unsigned char want[16], net[16];
	int wbits, bits, full, rest;
	size_t i;

	if (l->src.n == 0)
		return true;
	if (ip == NULL || parse_addr(ip, want, &wbits) != 0)
		return false;
	for (i = 0; i < l->src.n; i++) {
		if (parse_addr(l->src.v[i], net, &bits) != 0)
			continue;
		full = bits / 8;
		rest = bits % 8;
		if (memcmp(want, net, (size_t)full) != 0)
			continue;
		if (rest != 0 &&
		    ((want[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff))
			continue;
		return true;
	}
	return false;
}

bool jwt_conn_type_allowed(const struct jwt_user_limits *l, const char *type)
{
	static const char *const known[] = { "STANDARD",  "WEBSOCKET",
					     "LEAFNODE",  "LEAFNODE_WS",
					     "MQTT",      "MQTT_WS",
					     "IN_PROCESS" };
	size_t i, k;

	if (l->conn_types.n == 0)
		return true;
	for (i = 0; i < l->conn_types.n; i++) {
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strcasecmp(l->conn_types.v[i], known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0]))
			continue;
		if (type != NULL && strcasecmp(l->conn_types.v[i], type) == 0)
			return true;
	}
	/* Unknown types are skipped; only unknown ones allow nothing. */
	return false;
}

/* Big-endian integers of a TZif file. */
static int64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

/* The UTC offset of zone at now from its TZif file (RFC 8536): the type
 * of the last transition at or before now, in the 64-bit (version 2+)
 * data when there is some. Past the last transition the last type holds,
 * which the fat files Debian ships make good until 2037. */
static int tzif_offset(const unsigned char *b, size_t len, int64_t now,
		       int *off)
{
	size_t isut, isstd, leap, timecnt, typecnt, charcnt, need, i;
	const unsigned char *tt, *idx, *ti;
	int tsize = 4, type = 0;

	for (;;) {
		if (len < 44 || memcmp(b, "TZif", 4) != 0)
			return NATSD_EINVAL;
		isut = (size_t)be(b + 20, 4);
		isstd = (size_t)be(b + 24, 4);
		leap = (size_t)be(b + 28, 4);
		timecnt = (size_t)be(b + 32, 4);
		typecnt = (size_t)be(b + 36, 4);
		charcnt = (size_t)be(b + 40, 4);
		if (timecnt > 100000 || typecnt == 0 || typecnt > 256 ||
		    leap > 100000 || charcnt > 100000 || isut > 256 ||
		    isstd > 256)
			return NATSD_EINVAL;
		need = 44 + timecnt * (size_t)tsize + timecnt + typecnt * 6 +
		       charcnt + leap * (size_t)(tsize + 4) + isstd + isut;
		if (need > len)
			return NATSD_EINVAL;
		/* Version 2+: the 64-bit block follows the 32-bit one. */
		if (tsize == 4 && b[4] >= '2') {
			b += need;
			len -= need;
			tsize = 8;
			continue;
		}
		break;
	}
	ti = b + 44;
	idx = ti + timecnt * (size_t)tsize;
	tt = idx + timecnt;
	for (i = 0; i < timecnt; i++) {
		if (be(ti + i * (size_t)tsize, tsize) > now)
			break;
		type = idx[i];
	}
	/* Before the first transition: the first standard-time type. */
	if (i == 0)
		for (type = 0; type + 1 < (int)typecnt && tt[type * 6 + 4];)
			type++;
	if ((size_t)type >= typecnt)
		return NATSD_EINVAL;
	*off = (int)be(tt + (size_t)type * 6, 4);
	return 0;
}

int jwt_tz_offset(const char *zone, int64_t now, int *off)
{
	char path[256];
	unsigned char *buf;
	size_t n;
	FILE *f;
	int rc;

	/* A name under the zoneinfo tree, nothing else. */
	if (zone == NULL || zone[0] == '\0' || zone[0] == '/' ||
	    strstr(zone, "..") != NULL ||
	    strspn(zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789/_+-") != strlen(zone) ||
	    strlen(zone) > 100)
		return NATSD_EINVAL;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	f = fopen(path, "rb");
	if (f == NULL)
		return NATSD_ENOENT;
	/* Zone files are a few kB; a bigger one is cut, and refused. */
	buf = malloc(65536);
	if (buf == NULL) {
		fclose(f);
		return NATSD_ENOMEM;
	}
	n = fread(buf, 1, 65536, f);
	fclose(f);
	rc = tzif_offset(buf, n, now, off);
	free(buf);
	return rc;
}

int jwt_times_allowed(const struct jwt_user_limits *l, int64_t now,
		      bool *allowed, int64_t *until)
{
	const char *loc = l->times_location;
	time_t t = (time_t)now;
	struct tm tm;
	int sod, off;
	size_t i;

	*allowed = true;
	*until = 0;
	if (l->ntimes == 0)
		return 0;
	if (loc == NULL || loc[0] == '\0' || strcasecmp(loc, "Local") == 0) {
		localtime_r(&t, &tm);
		sod = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	} else if (strcasecmp(loc, "UTC") == 0) {
		sod = (int)(((now % 86400) + 86400) % 86400);
	} else if (jwt_tz_offset(loc, now, &off) == 0) {
		sod = (int)((((now + off) % 86400) + 86400) % 86400);
	} else {
		return NATSD_ENOTSUP;
	}
	*allowed = false;
	for (i = 0; i < l->ntimes; i++) {
		int s = l->times[i].start, e = l->times[i].end;

		/* nats-server: start before now and end after now, with an
		 * end before the start on the next day. */
		if (s <= e && sod > s && sod < e) {
			*allowed = true;
			*until = now + (e - sod);
			return 0;
		}
		if (s > e && (sod > s || sod < e)) {
			*allowed = true;
			*until = now + (sod < e ? e - sod : 86400 - sod + e);
			return 0;
		}
	}
	return 0;
}

/* Imports and exports                                                  */

/* The next token of *s (advanced past it and its dot); its length. */
static size_t next_tok(const char **s, const char **tok)
{
	size_t n = strcspn(*s, ".");

	*tok = *s;
	*s += n;
	if (**s == '.')
		(*s)++;
	return n;
}

bool jwt_subject_within(const char *sub, const char *pattern)
{
	const char *st, *pt;
	size_t sn, pn;

	if (sub == NULL || pattern == NULL || *sub == '\0' || *pattern == '\0')
		return false;
	for (;;) {
		if (*pattern == '\0' || *sub == '\0')
			return *pattern == '\0' && *sub == '\0';
		pn = next_tok(&pattern, &pt);
		sn = next_tok(&sub, &st);
		if (pn == 1 && pt[0] == '>')
			return sn > 0;
		if (sn == 0 || pn == 0)
			return false;
		if (sn == 1 && st[0] == '>')
			return false;
		if (pn == 1 && pt[0] == '*')
			continue;
		if (sn == 1 && st[0] == '*')
			return false;
		if (sn != pn || memcmp(st, pt, sn) != 0)
			return false;
	}
}

static bool has_wildcard(const char *s)
{
	const char *t;
	size_t n;

	while (*s != '\0') {
		n = next_tok(&s, &t);
		if (n == 1 && (t[0] == '*' || t[0] == '>'))
			return true;
	}
	return false;
}

/* nats-io/jwt Import.Validate's blocking checks of one import. */
static int validate_import(const struct jwt *acc, const struct jwt_import *m,
			   char *err, size_t errlen)
{
	struct jwt *act = NULL;
	const char *subj;
	char why[200];
	int rc = 0;

	if (m->account == NULL)
		return fail(err, errlen, NATSD_EINVAL,
			    "import without an account");
	if (m->token == NULL)
		return 0;
	if (jwt_decode(m->token, &act, why, sizeof(why)) != 0 ||
	    act->type != JWT_ACTIVATION) {
		snprintf(err, errlen,
			 "import %s contains an invalid activation token",
			 m->subject);
		jwt_free(act);
		return NATSD_EINVAL;
	}
	/* With a `to`, a service import's exporter side is `to`. */
	subj = m->service && m->to != NULL ? m->to : m->subject;
	if (strcmp(act->iss, m->account) != 0 &&
	    (act->issuer_account == NULL ||
	     strcmp(act->issuer_account, m->account) != 0))
		rc = snprintf(err, errlen,
			      "activation token doesn't match account for "
			      "import %s",
			      m->subject);
	else if (act->sub == NULL || acc->sub == NULL ||
		 strcmp(act->sub, acc->sub) != 0)
		rc = snprintf(err, errlen,
			      "activation token doesn't match account it is "
			      "being included in, %s",
			      m->subject);
	else if (act->act_service != m->service)
		rc = snprintf(err, errlen,
			      "mismatch between token import type and type "
			      "of import %s",
			      m->subject);
	else if (!jwt_subject_within(subj, act->act_subject))
		rc = snprintf(err, errlen,
			      "activation token import subject doesn't match "
			      "import %s",
			      m->subject);
	jwt_free(act);
	return rc != 0 ? NATSD_EINVAL : 0;
}

int jwt_account_validate(const struct jwt *acc, char *err, size_t errlen)
{
	size_t i;
	int rc;

	if (acc->acc_imports >= 0 && (int64_t)acc->nimports > acc->acc_imports)
		return fail(err, errlen, NATSD_EINVAL,
			    "the account contains more imports than allowed "
			    "by the operator");
	if (acc->acc_exports >= 0 && (int64_t)acc->nexports > acc->acc_exports)
		return fail(err, errlen, NATSD_EINVAL,
			    "the account contains more exports than allowed "
			    "by the operator");
	for (i = 0; !acc->acc_wildcards && i < acc->nexports; i++)
		if (has_wildcard(acc->exports[i].subject))
			return fail(err, errlen, NATSD_EINVAL,
				    "the account contains wildcard exports "
				    "that are not allowed by the operator");
	for (i = 0; i < acc->nimports; i++) {
		rc = validate_import(acc, &acc->imports[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

const struct jwt_export *jwt_find_export(const struct jwt *exporter,
					 const char *subject, bool service)
{
	size_t i;

	for (i = 0; i < exporter->nexports; i++)
		if (exporter->exports[i].service == service &&
		    jwt_subject_within(subject, exporter->exports[i].subject))
			return &exporter->exports[i];
	return NULL;
}

int jwt_check_activation(const char *token, const struct jwt *exporter,
			 const struct jwt_export *exp, const char *importer,
			 const char *subject, int64_t now, char *err,
			 size_t errlen)
{
	struct jwt *act = NULL;
	char why[200];
	size_t i;
	int rc = NATSD_EACCES;

	if (token == NULL)
		return fail(err, errlen, rc, "no activation token");
	if (jwt_decode(token, &act, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "activation token: %s", why);
		return rc;
	}
	if (act->type != JWT_ACTIVATION)
		fail(err, errlen, rc, "not an activation token");
	else if (strcmp(act->iss, exporter->sub) != 0 &&
		 (act->issuer_account == NULL ||
		  strcmp(act->issuer_account, exporter->sub) != 0 ||
		  jwt_account_signer(exporter, act->iss) == NULL))
		fail(err, errlen, rc,
		     "activation token not signed by the exporter");
	else if (act->sub == NULL || strcmp(act->sub, importer) != 0)
		fail(err, errlen, rc, "activation token for another account");
	else if (!jwt_subject_within(subject, act->act_subject))
		fail(err, errlen, rc, "activation token for another subject");
	else if (jwt_check_times(act, now, why, sizeof(why)) != 0)
		snprintf(err, errlen, "activation token %s", why);
	else
		rc = 0;
	for (i = 0; rc == 0 && i < exp->nrevs; i++) {
		if ((strcmp(exp->revs[i].key, importer) == 0 ||
		     strcmp(exp->revs[i].key, "*") == 0) &&
		    exp->revs[i].at >= act->iat)
			rc = fail(err, errlen, NATSD_EACCES,
				  "activation token revoked");
	}
	jwt_free(act);
	return rc;
}
