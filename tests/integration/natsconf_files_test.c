#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * nats-server config files given to natsd as they are.
 *
 * corpus: `natsd -t -c F` over every file of tests/conf (valid ones) and
 * tests/conf/bad, compared with `nats-server -t -c F` on the same file:
 * both accept or both refuse, natsd names the format it read, and a
 * refusal names the file (and the line where there is one).
 *
 * clients: natsd started with corpus files (users and permissions,
 * variables, includes, no_auth_user, warned keys, plugin settings) and the
 * official C client connecting with the credentials those files define;
 * then the same client tests on nats-server started from the same files.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "itest.h"

#define WATCHDOG_S 90

#ifndef NATSD_TEST_CONF_DIR
#error NATSD_TEST_CONF_DIR must name tests/conf
#endif

static struct hserver srv;

/* Files whose outcome differs on purpose, with the reason. */
static const struct {
	const char *file;
	const char *why;
} differ[] = {
	/* Valid libconfig too, so natsd's own format (README). */
	{ "bad/ping_float.conf", "valid natsd (libconfig) format" },
	{ "bad/size_string.conf", "valid natsd (libconfig) format" },
};

/* nats-server recurses on this one until its stack overflows (~30 s). */
static const char *const skip_nats_server[] = { "bad/include_cycle.conf" };

/* Runs bin -t -c path in dir; returns the exit status (-1 when it did not
 * exit within 10 s) and the output in out. */
static int run_check(const char *bin, const char *dir, const char *path,
		     char *out, size_t cap)
{
	int fds[2], status = 0;
	size_t len = 0;
	long long end;
	struct pollfd pfd;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		if (chdir(dir) != 0)
			_exit(126);
		execlp(bin, bin, "-t", "-c", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	end = itest_mono_ms() + 10000;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (itest_mono_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fds[0], out + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	out[len] = '\0';
	close(fds[0]);
	while (itest_mono_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static const char *differs(const char *rel)
{
	size_t i;

	for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++)
		if (strcmp(differ[i].file, rel) == 0)
			return differ[i].why;
	return NULL;
}

static bool skip_nats(const char *rel)
{
	size_t i;

	for (i = 0; i < sizeof(skip_nats_server) / sizeof(skip_nats_server[0]);
	     i++)
		if (strcmp(skip_nats_server[i], rel) == 0)
			return true;
	return false;
}

/* Checks every *.conf of sub ("" or "bad/"); returns how many. */
static int check_dir(const char *sub, bool valid)
{
	const char *natsd = getenv("NATSD_BIN");
	const char *nats = getenv("NATS_SERVER_BIN");
	char dir[PATH_MAX], rel[PATH_MAX], out[8192], want[PATH_MAX + 64];
	struct dirent *e;
	int count = 0, rc, nrc;
	size_t n;
	DIR *d;

	if (natsd == NULL || natsd[0] == '\0')
		natsd = "./natsd";
	if (nats == NULL || nats[0] == '\0')
		nats = "nats-server";
	/* natsd runs from the corpus directory: an absolute binary path. */
	CU_ASSERT_FATAL(natsd[0] == '/');
	snprintf(dir, sizeof(dir), "%s/%s", NATSD_TEST_CONF_DIR, sub);
	d = opendir(dir);
	CU_ASSERT_FATAL(d != NULL);
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		snprintf(rel, sizeof(rel), "%s%s", sub, e->d_name);
		count++;
		rc = run_check(natsd, NATSD_TEST_CONF_DIR, rel, out,
			       sizeof(out));
		if (differs(rel) != NULL) {
			CU_ASSERT(rc == 0);
			continue;
		}
		if ((rc == 0) != valid)
			fprintf(stderr, "natsd -t -c %s: %d: %s\n", rel, rc,
				out);
		CU_ASSERT((rc == 0) == valid);
		if (valid) {
			snprintf(want, sizeof(want),
				 "natsd: configuration "
				 "file %s is valid (nats-server format)",
				 rel);
			CU_ASSERT(strstr(out, want) != NULL);
		} else {
			/* One line: "natsd: FILE:LINE: ..." */
			snprintf(want, sizeof(want), "natsd: %s:", rel);
			CU_ASSERT(strncmp(out, want, strlen(want)) == 0);
			CU_ASSERT(itest_count(out, "\n") == 1);
			if (strncmp(out, want, strlen(want)) != 0)
				fprintf(stderr, "%s\n", out);
		}
		if (skip_nats(rel))
			continue;
		nrc = run_check(nats, NATSD_TEST_CONF_DIR, rel, out,
				sizeof(out));
		if ((nrc == 0) != (rc == 0))
			fprintf(stderr, "%s: natsd %d, nats-server %d: %s\n",
				rel, rc, nrc, out);
		CU_ASSERT((nrc == 0) == (rc == 0));
	}
	closedir(d);
	return count;
}

static void test_corpus_valid(void)
{
	CU_ASSERT(check_dir("", true) >= 15);
}

static void test_corpus_invalid(void)
{
	CU_ASSERT(check_dir("bad/", false) >= 10);
}

/* natsd's own (libconfig) files beside them are still read as natsd's
 * format. */
static void test_corpus_natsd_format(void)
{
	static const char *const files[] = { "natsd/plugins.conf",
					     "natsd/users.conf" };
	const char *natsd = getenv("NATSD_BIN");
	char out[4096], want[PATH_MAX + 64];
	size_t i;

	if (natsd == NULL || natsd[0] == '\0')
		natsd = "./natsd";
	for (i = 0; i < SUITE_COUNT(files); i++) {
		CU_ASSERT(run_check(natsd, NATSD_TEST_CONF_DIR, files[i], out,
				    sizeof(out)) == 0);
		snprintf(want, sizeof(want),
			 "natsd: configuration file %s is valid (natsd "
			 "format)\n",
			 files[i]);
		CU_ASSERT_STRING_EQUAL(out, want);
	}
}

/* The corpus file's text, for harness_start(), which writes it to a temp
 * file (so includes are given absolute paths by the tests). */
static char *read_corpus(const char *name)
{
	char path[PATH_MAX];
	static char buf[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", NATSD_TEST_CONF_DIR, name);
	f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static natsConnection *connect_as(const char *user, const char *pass,
				  natsStatus *st)
{
	natsOptions *o = itest_opts(srv.port);
	natsStatus s = o != NULL ? NATS_OK : NATS_NO_MEMORY;

	if (s == NATS_OK && user != NULL)
		s = natsOptions_SetUserInfo(o, user, pass);
	return itest_connect(o, s, st);
}

/* Connects as user and publishes to subj; tells whether the server
 * answered with a permissions violation (within wait_ms). */
static bool pub_denied(const char *user, const char *pass, const char *subj,
		       int wait_ms)
{
	struct itest_errlog el;
	natsConnection *nc;
	natsOptions *o;
	natsStatus s;
	bool denied;

	itest_errlog_init(&el);
	o = itest_opts(srv.port);
	CU_ASSERT_FATAL(o != NULL);
	s = natsOptions_SetUserInfo(o, user, pass);
	if (s == NATS_OK)
		s = itest_errlog_attach(o, &el);
	nc = itest_connect(o, s, NULL);
	CU_ASSERT_FATAL(nc != NULL);
	CU_ASSERT(natsConnection_PublishString(nc, subj, "x") == NATS_OK);
	CU_ASSERT(natsConnection_FlushTimeout(nc, ITEST_WAIT_MS) == NATS_OK);
	denied = itest_errlog_wait(&el, "Permissions Violation", wait_ms);
	natsConnection_Destroy(nc);
	itest_errlog_fini(&el);
	return denied;
}

/* Short wait where no violation is expected: it would come before the
 * flush's PONG, the callback only runs on another thread. */
#define ALLOWED(u, p, subj) CU_ASSERT(!pub_denied(u, p, subj, 200))
#define DENIED(u, p, subj)  CU_ASSERT(pub_denied(u, p, subj, ITEST_WAIT_MS))

static void test_users_permissions(void)
{
	natsConnection *nc;
	natsStatus st;

	CU_ASSERT_FATAL(
		itest_start(&srv, read_corpus("auth_users.conf"), NULL) == 0);
	nc = connect_as("client", "secret", &st);
	CU_ASSERT(nc != NULL);
	CU_ASSERT(nc != NULL && itest_conn_usable(nc, "_INBOX.x") == false);
	natsConnection_Destroy(nc);
	nc = connect_as("client", "wrong", &st);
	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	nc = connect_as(NULL, NULL, &st);
	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	/* The bcrypt password of admin is "admin". */
	nc = connect_as("admin", "admin", &st);
	CU_ASSERT(nc != NULL && itest_conn_usable(nc, "any.thing"));
	natsConnection_Destroy(nc);
	ALLOWED("client", "secret", "req.a");
	DENIED("client", "secret", "req.c");
	/* default_permissions for a user without its own. */
	ALLOWED("other", "other", "SANDBOX.x");
	DENIED("other", "other", "req.a");
	CU_ASSERT(itest_stop(&srv));
}

static void test_allow_deny_no_auth_user(void)
{
	natsConnection *nc;
	natsStatus st;

	CU_ASSERT_FATAL(itest_start(&srv, read_corpus("perms_allow_deny.conf"),
				    NULL) == 0);
	/* no_auth_user q: a client without credentials is q. */
	nc = connect_as(NULL, NULL, &st);
	CU_ASSERT(nc != NULL);
	natsConnection_Destroy(nc);
	ALLOWED("a", "a", "foo.x");
	DENIED("a", "a", "foo.secret");
	DENIED("a", "a", "baz");
	CU_ASSERT(itest_stop(&srv));
}

static void test_variables_and_includes(void)
{
	char conf[2048], real[PATH_MAX], up[PATH_MAX];
	const char *tmp, *p;
	size_t len;
	natsConnection *nc;
	natsStatus st;

	CU_ASSERT_FATAL(
		itest_start(&srv, read_corpus("variables.conf"), NULL) == 0);
	nc = connect_as("varuser", "pw_from_var", &st);
	CU_ASSERT(nc != NULL && itest_conn_usable(nc, "v"));
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_stop(&srv));

	/* Includes are relative to the including file, which the harness
	 * writes to $TMPDIR; nats-server 2.9 joins even an absolute path to
	 * that directory. */
	tmp = getenv("TMPDIR");
	CU_ASSERT_FATAL(realpath(tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp",
				 real) != NULL);
	/* "../.." for /a/b: then the absolute corpus path follows. */
	len = 0;
	up[0] = '\0';
	for (p = real; *p != '\0' && len + 4 < sizeof(up); p++)
		if (*p == '/' && p[1] != '\0')
			len += (size_t)snprintf(up + len, sizeof(up) - len,
						"%s..", len > 0 ? "/" : "");
	snprintf(conf, sizeof(conf),
		 "include \"%s%s/inc/auth.conf\"\n"
		 "include %s%s/inc/limits.conf\n",
		 up, NATSD_TEST_CONF_DIR, up, NATSD_TEST_CONF_DIR);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	nc = connect_as("inc_user", "inc_pass", &st);
	CU_ASSERT(nc != NULL);
	CU_ASSERT(nc != NULL && natsConnection_GetMaxPayload(nc) == 512 * 1024);
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_stop(&srv));
}

/* Unsupported keys nats-server starts with: natsd starts, warns with the
 * line, serves. */
static void test_warned_keys(void)
{
	natsConnection *nc;

	CU_ASSERT_FATAL(itest_start(&srv, read_corpus("unsupported_warn.conf"),
				    NULL) == 0);
	nc = itest_client(srv.port);
	CU_ASSERT(nc != NULL && itest_conn_usable(nc, "w"));
	natsConnection_Destroy(nc);
	if (itest_is_natsd())
		CU_ASSERT(itest_log_wait(&srv,
					 ":3: \"cluster\" is not supported by "
					 "natsd yet and is ignored",
					 ITEST_WAIT_MS));
	CU_ASSERT(itest_stop(&srv));
}

static void test_sizes_and_separators(void)
{
	natsConnection *nc;

	CU_ASSERT_FATAL(itest_start(&srv, read_corpus("sizes_durations.conf"),
				    NULL) == 0);
	nc = itest_client(srv.port);
	CU_ASSERT(nc != NULL && natsConnection_GetMaxPayload(nc) == 1048576);
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_stop(&srv));

	CU_ASSERT_FATAL(
		itest_start(&srv, read_corpus("separators.conf"), NULL) == 0);
	nc = itest_client(srv.port);
	CU_ASSERT(nc != NULL && itest_conn_usable(nc, "s"));
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_stop(&srv));
}

/* A plugin's settings section written in nats-server's format: the test
 * authenticator lets its user in. natsd only. */
static void test_plugin_settings(void)
{
	const char *pdir = getenv("NATSD_TEST_PLUGIN_DIR");
	char conf[2 * PATH_MAX], so[PATH_MAX];
	natsConnection *nc;
	natsStatus st;

	if (!itest_is_natsd())
		return;
	if (pdir == NULL || pdir[0] == '\0')
		pdir = "tests/plugins/.libs";
	CU_ASSERT_FATAL(realpath(pdir, so) != NULL);
	snprintf(conf, sizeof(conf),
		 "authorization {\n"
		 "  users: [ { user: g, password: g } ]\n"
		 "}\n"
		 "plugins: [\n"
		 "  { load: \"%s/auth_test_plugin.so\"\n"
		 "    settings: { user: pu, password: \"pp\" } }\n"
		 "]\n",
		 so);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	/* The plugin's user gets in (with the plugin's narrow
	 * permissions). */
	nc = connect_as("pu", "pp", &st);
	CU_ASSERT(nc != NULL);
	natsConnection_Destroy(nc);
	nc = connect_as("pu", "wrong", &st);
	CU_ASSERT(nc == NULL);
	natsConnection_Destroy(nc);
	nc = connect_as("g", "g", &st);
	CU_ASSERT(nc != NULL);
	natsConnection_Destroy(nc);
	CU_ASSERT(itest_stop(&srv));
}

/* The client tests again on nats-server, started from the same files:
 * what clients see must be the same. Only when natsd is the kind under
 * test (else the first suite already ran them on nats-server). */
static char *saved_kind;

static int to_nats_server(void)
{
	const char *k = getenv("NATSD_TEST_SERVER");

	saved_kind = k != NULL ? strdup(k) : NULL;
	return setenv("NATSD_TEST_SERVER", "nats-server", 1);
}

static int back_to_natsd(void)
{
	int rc = saved_kind != NULL ? setenv("NATSD_TEST_SERVER", saved_kind, 1)
				    : unsetenv("NATSD_TEST_SERVER");

	free(saved_kind);
	saved_kind = NULL;
	return rc;
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "corpus: valid files", test_corpus_valid },
		{ "corpus: invalid files", test_corpus_invalid },
		{ "corpus: natsd's own format", test_corpus_natsd_format },
		{ "users and permissions", test_users_permissions },
		{ "allow/deny and no_auth_user", test_allow_deny_no_auth_user },
		{ "variables and includes", test_variables_and_includes },
		{ "unsupported keys warn", test_warned_keys },
		{ "sizes, durations, separators", test_sizes_and_separators },
		{ "plugin settings", test_plugin_settings },
	};
	static const struct suite_test client_tests[] = {
		{ "users and permissions", test_users_permissions },
		{ "allow/deny and no_auth_user", test_allow_deny_no_auth_user },
		{ "variables and includes", test_variables_and_includes },
		{ "unsupported keys", test_warned_keys },
		{ "sizes, durations, separators", test_sizes_and_separators },
	};
	static const struct suite suites[] = {
		{ "natsconf_files", NULL, NULL, tests, SUITE_COUNT(tests) },
		{ "natsconf_files on nats-server", to_nats_server,
		  back_to_natsd, client_tests, SUITE_COUNT(client_tests) },
	};

	itest_init("natsconf_files_test", WATCHDOG_S, &srv.pid);
	return suites_run(suites, itest_is_natsd() ? 2 : 1) == 0 ? 0 : 1;
}
