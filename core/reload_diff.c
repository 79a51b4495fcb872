/* What a reload changed, in nats-server's words (server/reload.go: each
 * option says "<name> = <value>" when applied), in the order of its
 * Options struct, which its reload walks; and what it refuses to
 * reload. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <natsd/error.h>

#include "conffile.h"
#include "log.h"
#include "opts.h"
#include "reload_diff.h"

static bool str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool list_same(const struct opts_strlist *a,
		      const struct opts_strlist *b)
{
	size_t i;

	if (a->set != b->set || a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static bool perms_same(const struct opts_perms *a, const struct opts_perms *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return list_same(&a->pub_allow, &b->pub_allow) &&
	       list_same(&a->pub_deny, &b->pub_deny) &&
	       list_same(&a->sub_allow, &b->sub_allow) &&
	       list_same(&a->sub_deny, &b->sub_deny) &&
	       a->has_resp == b->has_resp && a->resp_max == b->resp_max &&
	       a->resp_expires == b->resp_expires;
}

/* nats-server compares its nkey users deeply; one bound to an account
 * never compares equal (the account has run-time state). */
static bool nkeys_same(const struct opts *a, const struct opts *b)
{
	const struct opts_user *x, *y;
	size_t i, j = 0;

	if (a->nnkey_users != b->nnkey_users)
		return false;
	for (i = 0; i < a->nusers; i++) {
		x = &a->users[i];
		if (x->nkey == NULL)
			continue;
		for (; j < b->nusers && b->users[j].nkey == NULL; j++)
			;
		if (j == b->nusers)
			return false;
		y = &b->users[j++];
		if (strcmp(x->nkey, y->nkey) != 0 || x->account != NULL ||
		    y->account != NULL || !perms_same(x->perms, y->perms) ||
		    !list_same(&x->conn_types, &y->conn_types))
			return false;
	}
	return true;
}

/* "1.5" from 1500000000 and 1000000000: whole units and a fraction
 * without trailing zeros. */
static void put_frac(char *buf, size_t len, int64_t v, int64_t unit)
{
	int64_t whole = v / unit, frac = v % unit;
	char digits[24];
	int n;

	if (frac == 0) {
		snprintf(buf, len, "%" PRId64, whole);
		return;
	}
	n = snprintf(digits, sizeof(digits), "%0*" PRId64,
		     unit == 1000000000 ? 9
		     : unit == 1000000  ? 6
					: 3,
		     frac);
	while (n > 0 && digits[n - 1] == '0')
		digits[--n] = '\0';
	snprintf(buf, len, "%" PRId64 ".%s", whole, digits);
}

void reload_diff_duration(int64_t ns, char *buf, size_t len)
{
	char s[48];
	int64_t h, m;

	if (ns < 0)
		ns = 0;
	if (ns == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (ns < 1000) {
		snprintf(buf, len, "%" PRId64 "ns", ns);
		return;
	}
	if (ns < 1000000) {
		put_frac(s, sizeof(s), ns, 1000);
		snprintf(buf, len, "%s\xc2\xb5s", s);
		return;
	}
	if (ns < 1000000000) {
		put_frac(s, sizeof(s), ns, 1000000);
		snprintf(buf, len, "%sms", s);
		return;
	}
	h = ns / (3600 * OPTS_NS_PER_SEC);
	ns -= h * 3600 * OPTS_NS_PER_SEC;
	m = ns / (60 * OPTS_NS_PER_SEC);
	ns -= m * 60 * OPTS_NS_PER_SEC;
	put_frac(s, sizeof(s), ns, OPTS_NS_PER_SEC);
	if (h > 0)
		snprintf(buf, len, "%" PRId64 "h%" PRId64 "m%ss", h, m, s);
	else if (m > 0)
		snprintf(buf, len, "%" PRId64 "m%ss", m, s);
	else
		snprintf(buf, len, "%ss", s);
}

void reload_diff_seconds(int64_t ns, char *buf, size_t len)
{
	double v = (double)ns / 1e9;
	char e[64];
	const char *x;
	int p, exp;

	/* The fewest significant digits that read back as v. */
	for (p = 1; p < 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", p - 1, v);
	x = strchr(e, 'e');
	exp = x != NULL ? (int)strtol(x + 1, NULL, 10) : 0;
	/* Go's %v takes the exponent form from 1e+06 up and below 1e-04. */
	if (v != 0 && (exp < -4 || exp >= 6))
		snprintf(buf, len, "%s", e);
	else
		snprintf(buf, len, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0,
			 v);
}

static int pin_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int reload_tls_read(const struct opts *o, struct reload_tls *t)
{
	const struct natsd_cfg *c = o->tls_flags ? NULL : o->tls;
	const char *v;
	size_t n = 0, i, k;
	int64_t ns;
	char *p;

	memset(t, 0, sizeof(*t));
	t->on = o->tls_flags || o->tls != NULL;
	t->allow_non_tls = o->tls_allow_non_tls;
	t->timeout_ns = 2 * OPTS_NS_PER_SEC;
	if (c == NULL)
		return 0;
	if (conffile_cfg_duration(c, "timeout", &ns) == 0 && ns > 0)
		t->timeout_ns = ns;
	if (conffile_cfg_bool(c, "verify_and_map", &t->map) != 0)
		t->map = false;
	if (conffile_cfg_list_len(c, "pinned_certs", &n) != 0 || n == 0)
		return 0;
	t->pins = calloc(n, sizeof(*t->pins));
	if (t->pins == NULL)
		return NATSD_ENOMEM;
	for (i = 0; i < n; i++) {
		if (conffile_cfg_list_string(c, "pinned_certs", i, &v) != 0)
			continue;
		p = strdup(v);
		if (p == NULL)
			return NATSD_ENOMEM;
		for (k = 0; p[k] != '\0'; k++)
			p[k] = (char)tolower((unsigned char)p[k]);
		t->pins[t->npins++] = p;
	}
	qsort(t->pins, t->npins, sizeof(*t->pins), pin_cmp);
	/* A set, as nats-server keeps them. */
	for (i = 0, k = 0; i < t->npins; i++) {
		if (k > 0 && strcmp(t->pins[k - 1], t->pins[i]) == 0)
			free(t->pins[i]);
		else
			t->pins[k++] = t->pins[i];
	}
	t->npins = k;
	return 0;
}

void reload_tls_fini(struct reload_tls *t)
{
	size_t i;

	for (i = 0; i < t->npins; i++)
		free(t->pins[i]);
	free(t->pins);
	memset(t, 0, sizeof(*t));
}

static bool pins_same(const struct reload_tls *a, const struct reload_tls *b)
{
	size_t i;

	if (a->npins != b->npins)
		return false;
	for (i = 0; i < a->npins; i++)
		if (strcmp(a->pins[i], b->pins[i]) != 0)
			return false;
	return true;
}

int64_t reload_diff_auth_timeout(const struct opts *o,
				 const struct reload_tls *t)
{
	if (o->auth_timeout_set && o->auth_timeout > 0)
		return o->auth_timeout;
	if (t->on)
		return t->timeout_ns + OPTS_NS_PER_SEC;
	return OPTS_DEFAULT_AUTH_TIMEOUT;
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

#define REFUSE(cond, name, fmt, ...)                                           \
	do {                                                                   \
		if (cond) {                                                    \
			snprintf(err, errlen,                                  \
				 "config reload not supported for " name       \
				 ": old=" fmt ", new=" fmt,                    \
				 __VA_ARGS__);                                 \
			return true;                                           \
		}                                                              \
	} while (0)
#define TF(b) ((b) ? "true" : "false")

/* nats-server lets no_auth_user go only when its user went too. */
static bool no_auth_user_refused(const struct opts *cur,
				 const struct opts *next)
{
	size_t i;

	if (str_same(cur->no_auth_user, next->no_auth_user))
		return false;
	if (cur->no_auth_user == NULL || next->no_auth_user != NULL)
		return true;
	for (i = 0; i < next->nusers; i++)
		if (str_same(next->users[i].user, cur->no_auth_user))
			return true;
	return false;
}

bool reload_diff_refused(const struct opts *cur, const struct opts *next,
			 const struct reload_tls *ct,
			 const struct reload_tls *nt, bool early, char *err,
			 size_t errlen)
{
	const char *cs = str_or_empty(cur->system_account);
	const char *ns = str_or_empty(next->system_account);

	if (!early)
		goto late;
	REFUSE(cur->no_header_support != next->no_header_support,
	       "NoHeaderSupport", "%s", TF(cur->no_header_support),
	       TF(next->no_header_support));
	REFUSE(cur->max_subscriptions != next->max_subscriptions, "MaxSubs",
	       "%d", cur->max_subscriptions, next->max_subscriptions);
	REFUSE(cur->max_sub_tokens != next->max_sub_tokens, "MaxSubTokens",
	       "%d", cur->max_sub_tokens, next->max_sub_tokens);
	REFUSE(no_auth_user_refused(cur, next), "NoAuthUser", "%s",
	       str_or_empty(cur->no_auth_user),
	       str_or_empty(next->no_auth_user));
	REFUSE(strcmp(cs, ns) != 0 && !(strcmp(cs, "$SYS") == 0 && !*ns),
	       "SystemAccount", "%s", cs, ns);
	REFUSE(!str_same(cur->http_host, next->http_host), "HTTPHost", "%s",
	       str_or_empty(cur->http_host), str_or_empty(next->http_host));
	REFUSE(cur->http_port != next->http_port, "HTTPPort", "%d",
	       cur->http_port, next->http_port);
	REFUSE(!str_same(cur->http_base_path, next->http_base_path),
	       "HTTPBasePath", "%s", str_or_empty(cur->http_base_path),
	       str_or_empty(next->http_base_path));
	REFUSE(cur->https_port != next->https_port, "HTTPSPort", "%d",
	       cur->https_port, next->https_port);
	REFUSE(cur->max_pending != next->max_pending, "MaxPending", "%lld",
	       (long long)cur->max_pending, (long long)next->max_pending);
	return false;
late:
	REFUSE(cur->log_size_limit != next->log_size_limit, "LogSizeLimit",
	       "%lld", (long long)cur->log_size_limit,
	       (long long)next->log_size_limit);
	REFUSE(ct->map != nt->map, "TLSMap", "%s", TF(ct->map), TF(nt->map));
	REFUSE(ct->allow_non_tls != nt->allow_non_tls, "AllowNonTLS", "%s",
	       TF(ct->allow_non_tls), TF(nt->allow_non_tls));
	return false;
}

#define BOOL_OPT(field, name)                                                  \
	do {                                                                   \
		if (cur->field != next->field) {                               \
			log_info("Reloaded: " name " = %s",                    \
				 next->field ? "true" : "false");              \
			n++;                                                   \
		}                                                              \
	} while (0)
#define INT_OPT(field, name)                                                   \
	do {                                                                   \
		if (cur->field != next->field) {                               \
			log_info("Reloaded: " name " = %lld",                  \
				 (long long)next->field);                      \
			n++;                                                   \
		}                                                              \
	} while (0)
#define DUR_OPT(field, name)                                                   \
	do {                                                                   \
		if (cur->field != next->field) {                               \
			reload_diff_duration(next->field, d, sizeof(d));       \
			log_info("Reloaded: " name " = %s", d);                \
			n++;                                                   \
		}                                                              \
	} while (0)
#define STR_OPT(field, name)                                                   \
	do {                                                                   \
		if (!str_same(cur->field, next->field)) {                      \
			log_info("Reloaded: " name " = %s",                    \
				 next->field ? next->field : "");              \
			n++;                                                   \
		}                                                              \
	} while (0)

int reload_diff_log(const struct opts *cur, const struct opts *next,
		    const struct reload_tls *ct, const struct reload_tls *nt)
{
	int64_t ca = reload_diff_auth_timeout(cur, ct);
	int64_t na = reload_diff_auth_timeout(next, nt);
	char d[48];
	int n = 0;

	if (!str_same(cur->client_advertise, next->client_advertise)) {
		/* Sic: "Reload:", as nats-server says it. */
		log_info("Reload: client_advertise = %s",
			 str_or_empty(next->client_advertise));
		n++;
	}
	BOOL_OPT(trace, "trace");
	BOOL_OPT(debug, "debug");
	BOOL_OPT(trace_verbose, "trace_verbose");
	BOOL_OPT(logtime, "logtime");
	INT_OPT(max_connections, "max_connections");
	if (!nkeys_same(cur, next)) {
		log_info("Reloaded: authorization nkey users");
		n++;
	}
	/* nats-server never finds its users and accounts unchanged. */
	log_info("Reloaded: authorization users");
	log_info("Reloaded: accounts");
	n += 2;
	if (!str_same(cur->user, next->user)) {
		log_info("Reloaded: authorization username");
		n++;
	}
	if (!str_same(cur->password, next->password)) {
		log_info("Reloaded: authorization password");
		n++;
	}
	if (!str_same(cur->token, next->token)) {
		log_info("Reloaded: authorization token");
		n++;
	}
	DUR_OPT(ping_interval, "ping_interval");
	INT_OPT(ping_max, "ping_max");
	if (ca != na) {
		reload_diff_seconds(na, d, sizeof(d));
		log_info("Reloaded: authorization timeout = %s", d);
		n++;
	}
	INT_OPT(max_control_line, "max_control_line");
	INT_OPT(max_payload, "max_payload");
	if (!str_same(cur->pid_file, next->pid_file) &&
	    next->pid_file != NULL && next->pid_file[0] != '\0') {
		log_info("Reloaded: pid_file = %s", next->pid_file);
		n++;
	}
	STR_OPT(ports_file_dir, "ports_file_dir");
	STR_OPT(log_file, "log_file");
	BOOL_OPT(syslog, "syslog");
	STR_OPT(remote_syslog, "remote_syslog");
	if (ct->timeout_ns != nt->timeout_ns) {
		reload_diff_seconds(nt->timeout_ns, d, sizeof(d));
		log_info("Reloaded: tls timeout = %s", d);
		n++;
	}
	/* Two tls blocks never compare equal in nats-server. */
	if (ct->on || nt->on) {
		log_info("Reloaded: tls = %s", nt->on ? "enabled" : "disabled");
		n++;
	}
	if (!pins_same(ct, nt)) {
		log_info("Reloaded: %zu pinned_certs", nt->npins);
		n++;
	}
	DUR_OPT(write_deadline, "write_deadline");
	INT_OPT(max_traced_msg_len, "max_traced_msg_len");
	return n;
}
