#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/* Helpers for the integration test programs: see itest.h. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define WATCH_MAX 4

/* ------------------------------------------------------------------ */
/* The program                                                         */

static pid_t *watched[WATCH_MAX];
static int nwatched;
/* Formatted before the alarm: the handler may only write(). */
static char watchdog_msg[128];
static size_t watchdog_len;

static void watchdog_fire(int sig)
{
	int i;

	(void)sig;
	for (i = 0; i < nwatched; i++)
		if (*watched[i] > 0)
			kill(*watched[i], SIGKILL);
	if (write(STDERR_FILENO, watchdog_msg, watchdog_len) < 0)
		_exit(1);
	_exit(1);
}

void itest_watch_pid(pid_t *pid)
{
	if (nwatched < WATCH_MAX)
		watched[nwatched++] = pid;
}

void itest_init(const char *prog, unsigned int seconds, pid_t *pid)
{
	int n;

	n = snprintf(watchdog_msg, sizeof(watchdog_msg),
		     "%s: watchdog expired\n", prog);
	if (n < 0)
		n = 0;
	watchdog_len = (size_t)n < sizeof(watchdog_msg)
			       ? (size_t)n
			       : sizeof(watchdog_msg) - 1;
	if (pid != NULL)
		itest_watch_pid(pid);
	signal(SIGALRM, watchdog_fire);
	alarm(seconds);
	signal(SIGPIPE, SIG_IGN);
}

/* ------------------------------------------------------------------ */
/* Servers                                                             */

bool itest_is_natsd(void)
{
	return strcmp(harness_kind(), "natsd") == 0;
}

int itest_start(struct hserver *s, const char *conf, const char *const *args)
{
	if (harness_start(s, harness_kind(), conf, args) == 0)
		return 0;
	if (conf != NULL)
		fprintf(stderr, "cannot start %s with:\n%s", harness_kind(),
			conf);
	else
		fprintf(stderr, "cannot start %s\n", harness_kind());
	return -1;
}

bool itest_stop(struct hserver *s)
{
	long long end = itest_mono_ms() + 5000;
	int status = 0;
	bool ok;
	pid_t w;

	if (s->pid <= 0)
		return false;
	/* Stop it here rather than in harness_stop(), which removes the
	 * log: reports written at exit (leaks) are read first. */
	kill(s->pid, SIGTERM);
	for (;;) {
		w = waitpid(s->pid, &status, WNOHANG);
		if (w == s->pid || (w == -1 && errno != EINTR))
			break;
		if (itest_mono_ms() >= end) {
			fprintf(stderr, "pid %ld ignored SIGTERM\n",
				(long)s->pid);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			w = -1;
			break;
		}
		usleep(10000);
	}
	/* Both exit with 1 on SIGTERM; with 0 when they stopped by
	 * themselves first (lame duck mode). */
	ok = w == s->pid && WIFEXITED(status) &&
	     (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1);
	if (!ok)
		fprintf(stderr, "server exit status 0x%x\n", status);
	ok = itest_log_clean(s) && ok;
	s->pid = 0;
	harness_stop(s); /* removes the files */
	return ok;
}

bool itest_log_clean(struct hserver *s)
{
	const char *log = harness_log(s);
	bool clean = strstr(log, "Sanitizer") == NULL &&
		     strstr(log, "runtime error") == NULL;

	if (!clean)
		fprintf(stderr, "--- sanitizer report ---\n%s\n", log);
	return clean;
}

bool itest_log_wait(struct hserver *s, const char *text, int timeout_ms)
{
	long long end = itest_mono_ms() + timeout_ms;

	for (;;) {
		if (strstr(harness_log(s), text) != NULL)
			return true;
		if (itest_mono_ms() >= end)
			break;
		nats_Sleep(10);
	}
	fprintf(stderr, "log of pid %ld lacks \"%s\"\n", (long)s->pid, text);
	return false;
}

int itest_count(const char *hay, const char *needle)
{
	size_t len = strlen(needle);
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += len;
	}
	return n;
}

long long itest_mono_ms(void)
{
	return harness_now_ms();
}

/* ------------------------------------------------------------------ */
/* Raw-socket clients                                                  */

int itest_read_info(int fd, char *info, size_t cap)
{
	char buf[4096];
	ssize_t n;

	n = harness_read_until(fd, buf, sizeof(buf), "\r\n", ITEST_WAIT_MS,
			       NULL);
	if (n <= 0 || strncmp(buf, "INFO ", 5) != 0)
		return -1;
	if (info != NULL)
		snprintf(info, cap, "%s", buf);
	return 0;
}

int itest_raw_connect(int port, char *info, size_t cap)
{
	int fd;

	fd = harness_connect(port);
	if (fd < 0)
		return -1;
	if (itest_read_info(fd, info, cap) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int itest_raw_handshake(int fd, const char *json, const char *extra)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf), "CONNECT %s\r\n%sPING\r\n", json, extra);
	if (n < 0 || (size_t)n >= sizeof(buf) || harness_sendstr(fd, buf) != 0)
		return -1;
	if (harness_read_until(fd, buf, sizeof(buf), "PONG\r\n", ITEST_WAIT_MS,
			       NULL) <= 0 ||
	    strstr(buf, "PONG\r\n") == NULL)
		return -1;
	return 0;
}

int itest_raw_open(int port, const char *json, const char *extra)
{
	int fd;

	fd = itest_raw_connect(port, NULL, 0);
	if (fd < 0)
		return -1;
	if (itest_raw_handshake(fd, json, extra) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------------ */
/* libnats clients                                                     */

natsOptions *itest_opts(int port)
{
	natsOptions *o = NULL;
	char url[64];

	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	if (natsOptions_Create(&o) != NATS_OK)
		return NULL;
	if (natsOptions_SetURL(o, url) != NATS_OK ||
	    natsOptions_SetTimeout(o, ITEST_WAIT_MS) != NATS_OK ||
	    natsOptions_SetAllowReconnect(o, false) != NATS_OK) {
		natsOptions_Destroy(o);
		return NULL;
	}
	return o;
}

natsConnection *itest_connect(natsOptions *o, natsStatus setup, natsStatus *st)
{
	natsConnection *nc = NULL;
	natsStatus s = setup;

	if (s == NATS_OK && o == NULL)
		s = NATS_NO_MEMORY;
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	if (st != NULL)
		*st = s;
	else if (s != NATS_OK)
		fprintf(stderr, "connect: %s\n", natsStatus_GetText(s));
	return s == NATS_OK ? nc : NULL;
}

natsConnection *itest_client(int port)
{
	return itest_connect(itest_opts(port), NATS_OK, NULL);
}

bool itest_conn_usable(natsConnection *nc, const char *subject)
{
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	bool ok;

	if (natsConnection_SubscribeSync(&sub, nc, subject) != NATS_OK)
		return false;
	ok = natsConnection_PublishString(nc, subject, "hi") == NATS_OK &&
	     natsConnection_FlushTimeout(nc, ITEST_WAIT_MS) == NATS_OK &&
	     natsSubscription_NextMsg(&m, sub, ITEST_WAIT_MS) == NATS_OK;
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	return ok;
}

/* ------------------------------------------------------------------ */
/* What client callbacks saw                                           */

void itest_tally_init(struct itest_tally *t)
{
	pthread_condattr_t a;

	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &a);
	pthread_condattr_destroy(&a);
	t->n = 0;
}

void itest_tally_fini(struct itest_tally *t)
{
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

void itest_tally_add(struct itest_tally *t, long k)
{
	pthread_mutex_lock(&t->mu);
	t->n += k;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

long itest_tally_get(struct itest_tally *t)
{
	long n;

	pthread_mutex_lock(&t->mu);
	n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

long itest_tally_wait(struct itest_tally *t, long target, int timeout_ms)
{
	struct timespec end;
	long n;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->mu);
	while (t->n < target &&
	       pthread_cond_timedwait(&t->cv, &t->mu, &end) == 0)
		;
	n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void itest_errlog_init(struct itest_errlog *e)
{
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
}

void itest_errlog_fini(struct itest_errlog *e)
{
	pthread_mutex_destroy(&e->mu);
}

static void errlog_record(natsConnection *nc, natsSubscription *sub,
			  natsStatus err, void *closure)
{
	struct itest_errlog *e = closure;
	const char *txt = NULL;
	size_t used;

	(void)sub;
	natsConnection_GetLastError(nc, &txt);
	pthread_mutex_lock(&e->mu);
	e->n++;
	e->last = err;
	used = strlen(e->text);
	snprintf(e->text + used, sizeof(e->text) - used, "%s\n",
		 txt != NULL ? txt : "");
	pthread_mutex_unlock(&e->mu);
}

natsStatus itest_errlog_attach(natsOptions *o, struct itest_errlog *e)
{
	return natsOptions_SetErrorHandler(o, errlog_record, e);
}

bool itest_errlog_wait(struct itest_errlog *e, const char *want, int timeout_ms)
{
	long long end = itest_mono_ms() + timeout_ms;
	bool found;

	for (;;) {
		pthread_mutex_lock(&e->mu);
		found = strstr(e->text, want) != NULL;
		pthread_mutex_unlock(&e->mu);
		if (found || itest_mono_ms() >= end)
			break;
		nats_Sleep(5);
	}
	if (!found) {
		pthread_mutex_lock(&e->mu);
		fprintf(stderr, "wanted error \"%s\", have \"%s\"\n", want,
			e->text);
		pthread_mutex_unlock(&e->mu);
	}
	return found;
}

int itest_errlog_count(struct itest_errlog *e)
{
	int n;

	pthread_mutex_lock(&e->mu);
	n = e->n;
	pthread_mutex_unlock(&e->mu);
	return n;
}
