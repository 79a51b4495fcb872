#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* A fake host for an authentication plugin's unit tests: see fake_host.h. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "conffile.h"
#include "fake_host.h"
#include "host.h"

struct natsd_host_api fake_host_api;
struct natsd_auth_ops fake_host_auth;
void *fake_host_auth_ctx;

static void *plugin_ctx;

/* The plugin may log from its own threads. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[8192];
static char last_log[sizeof(logbuf)];

static const char *fake_field(struct natsd_auth_req *r, int f)
{
	return f > 0 && f <= NATSD_AF_TRANSPORT ? r->fields[f] : NULL;
}

static int fake_set_user(struct natsd_auth_req *r, const char *name)
{
	snprintf(r->user, sizeof(r->user), "%s", name);
	return 0;
}

static int fake_set_account(struct natsd_auth_req *r, const char *acc)
{
	snprintf(r->account, sizeof(r->account), "%s", acc);
	return 0;
}

static int fake_permit(struct natsd_auth_req *r, int list, const char *subj)
{
	fake_host_append(r->permits, sizeof(r->permits), "%d:%s", list,
			 subj ? subj : "(null)");
	return 0;
}

static int fake_set_responses(struct natsd_auth_req *r, int64_t max,
			      int64_t expires_ns)
{
	r->resp = true;
	r->resp_max = max;
	r->resp_expires = expires_ns;
	return 0;
}

static int fake_limit(struct natsd_auth_req *r, int limit, int64_t value)
{
	if (limit < 1 || limit > 3)
		return NATSD_EINVAL;
	r->limits[limit] = value;
	return 0;
}

static int fake_set_expiry(struct natsd_auth_req *r, int64_t unix_ns)
{
	r->expiry = unix_ns;
	return 0;
}

static void fake_done(struct natsd_auth_req *r, int verdict)
{
	pthread_mutex_lock(&r->mu);
	r->done++;
	r->verdict = verdict;
	pthread_mutex_unlock(&r->mu);
}

static int fake_register_auth(struct natsd_host *h,
			      const struct natsd_auth_ops *ops, void *ctx)
{
	(void)h;
	fake_host_auth = *ops;
	fake_host_auth_ctx = ctx;
	return 0;
}

/* Appends the line to logbuf, which starts over when half full so that
 * a long test keeps the recent lines. */
static void fake_log(struct natsd_host *h, int level, const char *fmt, ...)
{
	size_t n, len;
	va_list ap;

	(void)h;
	(void)level;
	pthread_mutex_lock(&log_mu);
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	n = strlen(logbuf);
	if (n > sizeof(logbuf) / 2)
		n = 0;
	len = strlen(last_log);
	if (len > sizeof(logbuf) - n - 2)
		len = sizeof(logbuf) - n - 2;
	memcpy(logbuf + n, last_log, len);
	logbuf[n + len] = '\n';
	logbuf[n + len + 1] = '\0';
	pthread_mutex_unlock(&log_mu);
}

void fake_host_setup(void)
{
	fake_host_api = *host_api();
	fake_host_api.log = fake_log;
	fake_host_api.register_auth = fake_register_auth;
	fake_host_api.auth_field = fake_field;
	fake_host_api.auth_set_user = fake_set_user;
	fake_host_api.auth_set_account = fake_set_account;
	fake_host_api.auth_permit = fake_permit;
	fake_host_api.auth_set_responses = fake_set_responses;
	fake_host_api.auth_limit = fake_limit;
	fake_host_api.auth_set_expiry = fake_set_expiry;
	fake_host_api.auth_done = fake_done;
	memset(&fake_host_auth, 0, sizeof(fake_host_auth));
	fake_host_auth_ctx = NULL;
	fake_host_log_clear();
}

void fake_host_append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n > 0 && n + 1 < cap)
		buf[n++] = ' ';
	buf[n] = '\0';
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

int fake_host_conf(struct opts *o, const char *text, char *path, size_t pathlen,
		   char *err, size_t errlen)
{
	char name[] = "/tmp/fake_host_conf.XXXXXX";
	int fd, rc;

	fd = mkstemp(name);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	if (path != NULL)
		snprintf(path, pathlen, "%s", name);
	opts_init(o);
	rc = conffile_load(name, o, err, errlen);
	unlink(name);
	if (rc != 0)
		fprintf(stderr, "config: %s\n", err);
	return rc;
}

int fake_host_init(const struct natsd_cfg *cfg, char *err, size_t errlen)
{
	const struct natsd_plugin *p;

	p = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	plugin_ctx = NULL;
	err[0] = '\0';
	return p->init(NULL, &fake_host_api, cfg, &plugin_ctx, err, errlen);
}

void fake_host_fini(void)
{
	const struct natsd_plugin *p;

	p = natsd_plugin_entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	p->fini(plugin_ctx);
	plugin_ctx = NULL;
}

void fake_host_req_init(struct natsd_auth_req *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->fields[NATSD_AF_CONN_TYPE] = "STANDARD";
	r->fields[NATSD_AF_REMOTE_IP] = "127.0.0.1";
}

int fake_host_authenticate(struct natsd_auth_req *r)
{
	return fake_host_auth.authenticate(fake_host_auth_ctx, r);
}

void fake_host_log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	logbuf[0] = '\0';
	last_log[0] = '\0';
	pthread_mutex_unlock(&log_mu);
}

bool fake_host_logged(const char *text)
{
	bool yes;

	pthread_mutex_lock(&log_mu);
	yes = strstr(logbuf, text) != NULL;
	pthread_mutex_unlock(&log_mu);
	return yes;
}

const char *fake_host_log(void)
{
	return logbuf;
}

const char *fake_host_last_log(void)
{
	return last_log;
}
