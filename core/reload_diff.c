/* What a reload changed, in nats-server's words (server/reload.go: each
 * option says "<name> = <value>" when applied). The order of the lines
 * is ours: nats-server's follows a map and varies from run to run. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

static bool users_same(const struct opts *a, const struct opts *b)
{
	const struct opts_user *x, *y;
	size_t i;

	if (a->nusers != b->nusers)
		return false;
	for (i = 0; i < a->nusers; i++) {
		x = &a->users[i];
		y = &b->users[i];
		if (!str_same(x->user, y->user) ||
		    !str_same(x->password, y->password) ||
		    !str_same(x->account, y->account) ||
		    !str_same(x->nkey, y->nkey) ||
		    !perms_same(x->perms, y->perms) ||
		    !list_same(&x->conn_types, &y->conn_types))
			return false;
	}
	return perms_same(a->default_permissions, b->default_permissions);
}

static bool accounts_same(const struct opts *a, const struct opts *b)
{
	const struct opts_account *x, *y;
	size_t i, j;

	if (a->naccounts != b->naccounts)
		return false;
	for (i = 0; i < a->naccounts; i++) {
		x = &a->accounts[i];
		y = &b->accounts[i];
		if (strcmp(x->name, y->name) != 0 ||
		    x->nexports != y->nexports || x->nimports != y->nimports ||
		    x->max_connections != y->max_connections ||
		    x->max_subscriptions != y->max_subscriptions ||
		    x->max_payload != y->max_payload)
			return false;
		for (j = 0; j < x->nexports; j++)
			if (strcmp(x->exports[j].subject,
				   y->exports[j].subject) != 0 ||
			    x->exports[j].service != y->exports[j].service ||
			    !list_same(&x->exports[j].accounts,
				       &y->exports[j].accounts))
				return false;
		for (j = 0; j < x->nimports; j++)
			if (strcmp(x->imports[j].subject,
				   y->imports[j].subject) != 0 ||
			    strcmp(x->imports[j].account,
				   y->imports[j].account) != 0 ||
			    !str_same(x->imports[j].prefix,
				      y->imports[j].prefix) ||
			    !str_same(x->imports[j].to, y->imports[j].to))
				return false;
	}
	return str_same(a->system_account, b->system_account);
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

int reload_diff_log(const struct opts *cur, const struct opts *next)
{
	char d[48];
	bool creds;
	int n = 0;

	BOOL_OPT(debug, "debug");
	BOOL_OPT(trace, "trace");
	BOOL_OPT(trace_verbose, "trace_verbose");
	BOOL_OPT(logtime, "logtime");
	STR_OPT(log_file, "log_file");
	INT_OPT(log_size_limit, "log_size_limit");
	INT_OPT(max_traced_msg_len, "max_traced_msg_len");
	BOOL_OPT(syslog, "syslog");
	STR_OPT(remote_syslog, "remote_syslog");
	if (!str_same(cur->user, next->user)) {
		log_info("Reloaded: authorization user");
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
	if (cur->auth_timeout != next->auth_timeout) {
		/* Seconds, as Go prints the float64 nats-server keeps. */
		log_info("Reloaded: authorization timeout = %g",
			 (double)next->auth_timeout / 1e9);
		n++;
	}
	/* Any change of credentials makes nats-server reload the users and
	 * the accounts. */
	creds = !users_same(cur, next) || !str_same(cur->user, next->user) ||
		!str_same(cur->password, next->password) ||
		!str_same(cur->token, next->token);
	if (creds) {
		log_info("Reloaded: authorization users");
		n++;
	}
	if (creds || !accounts_same(cur, next)) {
		log_info("Reloaded: accounts");
		n++;
	}
	STR_OPT(no_auth_user, "no_auth_user");
	INT_OPT(max_control_line, "max_control_line");
	INT_OPT(max_payload, "max_payload");
	INT_OPT(max_connections, "max_connections");
	DUR_OPT(ping_interval, "ping_interval");
	INT_OPT(ping_max, "ping_max");
	DUR_OPT(write_deadline, "write_deadline");
	return n;
}
