#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Signals: SIGHUP reloads users and permissions from the config file
 * without dropping connected clients; a broken file keeps the running
 * config; SIGUSR1 reopens the log file after it was moved away (log
 * rotation). Runs against natsd or nats-server (harness_kind()).
 */

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "itest.h"

#define WAIT_MS	   ITEST_WAIT_MS
#define WATCHDOG_S 60

static struct hserver srv;

/* Config text with the given users ("name:pass:pubsubject" entries). */
static void make_conf(char *buf, size_t len, const char *const *users,
		      int n)
{
	size_t off = 0;
	int i;

	if (itest_is_natsd())
		off += (size_t)snprintf(buf + off, len - off,
					"authorization = { users = (");
	else
		off += (size_t)snprintf(buf + off, len - off,
					"authorization { users = [");
	for (i = 0; i < n; i++) {
		char name[64], pass[64], pub[64];

		if (sscanf(users[i], "%63[^:]:%63[^:]:%63s", name, pass,
			   pub) != 3)
			abort();
		if (itest_is_natsd())
			off += (size_t)snprintf(
				buf + off, len - off,
				"%s{ user = \"%s\"; password = \"%s\"; "
				"permissions = { publish = [\"%s\"]; }; }",
				i ? "," : "", name, pass, pub);
		else
			off += (size_t)snprintf(
				buf + off, len - off,
				"%s{ user: %s, password: %s, "
				"permissions: { publish: [\"%s\"] } }",
				i ? "," : "", name, pass, pub);
	}
	snprintf(buf + off, len - off, itest_is_natsd() ? "); };\n" : "] }\n");
}

static void write_conf(const char *text)
{
	FILE *f = fopen(srv.conf_path, "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* Logs in and publishes to subj; returns the first reply line. */
static void login_pub(const char *user, const char *pass, const char *subj,
		      char *out, size_t outlen)
{
	char cmd[512];
	bool eof = false;
	int fd = itest_raw_connect(srv.port, NULL, 0);

	out[0] = '\0';
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(cmd, sizeof(cmd),
		 "CONNECT {\"verbose\":false,\"user\":\"%s\",\"pass\":\"%s\"}"
		 "\r\nPUB %s 0\r\n\r\nPING\r\n",
		 user, pass, subj);
	harness_sendstr(fd, cmd);
	harness_read_until(fd, out, outlen, "\r\n", WAIT_MS, &eof);
	close(fd);
}

static void test_reload_users(void)
{
	static const char *const v1[] = { "alice:pa:a.>" };
	static const char *const v2[] = { "alice:pa:b.>", "bob:pb:b.>" };
	static const char denied[] =
		"-ERR 'Permissions Violation for Publish to \"a.x\"'\r\n";
	char conf[2048], line[4096];
	bool eof = false;
	int keep;

	make_conf(conf, sizeof(conf), v1, 1);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	login_pub("alice", "pa", "a.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	login_pub("bob", "pb", "b.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "-ERR 'Authorization Violation'\r\n");

	/* A client connected before the reload stays connected. */
	keep = itest_raw_connect(srv.port, NULL, 0);
	CU_ASSERT_FATAL(keep >= 0);
	harness_sendstr(keep, "CONNECT {\"verbose\":false,\"user\":\"alice\","
			      "\"pass\":\"pa\"}\r\nPING\r\n");
	harness_read_until(keep, line, sizeof(line), "PONG\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");

	make_conf(conf, sizeof(conf), v2, 2);
	write_conf(conf);
	kill(srv.pid, SIGHUP);
	CU_ASSERT(
		itest_log_wait(&srv, "eloaded server configuration", WAIT_MS));
	login_pub("bob", "pb", "b.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	login_pub("alice", "pa", "a.x", line, sizeof(line));
	/* The -ERR may come in one read with the PONG that follows it. */
	CU_ASSERT(strncmp(line, denied, strlen(denied)) == 0);

	harness_sendstr(keep, "PING\r\n");
	harness_read_until(keep, line, sizeof(line), "\r\n", WAIT_MS, &eof);
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	close(keep);

	/* A broken file is refused and the running config stays. */
	write_conf(itest_is_natsd()
			   ? "authorization = { users = ( { user = ; } ); };\n"
			   : "authorization { users = [ { user: } ] \n");
	kill(srv.pid, SIGHUP);
	usleep(300000);
	login_pub("bob", "pb", "b.x", line, sizeof(line));
	CU_ASSERT_STRING_EQUAL(line, "PONG\r\n");
	harness_stop(&srv);
}

static void test_reopen_log(void)
{
	char dir[] = "/tmp/natsd-reload-XXXXXX", logf[256], moved[256];
	const char *args[] = { "-l", logf, NULL };
	struct stat st;
	int i;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(logf, sizeof(logf), "%s/server.log", dir);
	snprintf(moved, sizeof(moved), "%s/server.log.1", dir);
	CU_ASSERT_FATAL(itest_start(&srv, NULL, args) == 0);
	CU_ASSERT(stat(logf, &st) == 0);
	CU_ASSERT(rename(logf, moved) == 0);
	kill(srv.pid, SIGUSR1);
	for (i = 0; i < 100 && stat(logf, &st) != 0; i++)
		usleep(20000);
	CU_ASSERT(stat(logf, &st) == 0);
	harness_stop(&srv);
	unlink(logf);
	unlink(moved);
	rmdir(dir);
}

/* --ports_file_dir: <dir>/<exe>_<pid>.ports lists the client URL once the
 * server is up, and is removed when it stops. */
static void test_ports_file(void)
{
	char dir[] = "/tmp/natsd-ports-XXXXXX", path[512], want[64], buf[1024];
	const char *args[] = { "--ports_file_dir", dir, NULL };
	FILE *f;
	size_t n;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	CU_ASSERT_FATAL(itest_start(&srv, NULL, args) == 0);
	snprintf(path, sizeof(path), "%s/%s_%ld.ports", dir,
		 itest_is_natsd() ? "natsd" : "nats-server", (long)srv.pid);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	snprintf(want, sizeof(want), "{\"nats\":[\"nats://127.0.0.1:%d\"]}",
		 srv.port);
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT(itest_stop(&srv));
	CU_ASSERT(access(path, F_OK) != 0);
	rmdir(dir);
}

/* Lame duck mode (SIGUSR2): a protocol-1 client gets INFO with
 * "ldm":true at once, new connections are refused, and after the grace
 * period the client is closed (PROTOCOL.md 12.20). */
static void test_lame_duck(void)
{
	static const char natsd_conf[] = "lame_duck_grace_period = \"1s\";\n"
					 "lame_duck_duration = \"30s\";\n";
	static const char nats_conf[] = "lame_duck_grace_period: \"1s\"\n"
					"lame_duck_duration: \"30s\"\n";
	char buf[4096];
	bool eof = false;
	long long t0;
	int fd, fd2;

	CU_ASSERT_FATAL(itest_start(&srv,
				    itest_is_natsd() ? natsd_conf : nats_conf,
				    NULL) == 0);
	/* Connected, and its first PING answered. */
	fd = itest_raw_open(srv.port, "{\"verbose\":false,\"protocol\":1}", "");
	CU_ASSERT_FATAL(fd >= 0);
	kill(srv.pid, SIGUSR2);
	harness_read_until(fd, buf, sizeof(buf), "\r\n", ITEST_WAIT_MS, &eof);
	CU_ASSERT(strncmp(buf, "INFO {", 6) == 0 &&
		  strstr(buf, "\"ldm\":true") != NULL);
	CU_ASSERT(
		itest_log_wait(&srv, "Entering lame duck mode", ITEST_WAIT_MS));
	fd2 = harness_connect(srv.port);
	CU_ASSERT(fd2 < 0);
	if (fd2 >= 0)
		close(fd2);
	t0 = itest_mono_ms();
	CU_ASSERT(harness_is_closed(fd, 5000));
	CU_ASSERT(itest_mono_ms() - t0 >= 500); /* the grace period first */
	close(fd);
	CU_ASSERT(itest_stop(&srv));
}

/* Runs "<server binary> --signal arg" and returns its exit status, with
 * what it printed in out. */
static int run_signal(const char *arg, char *out, size_t cap)
{
	const char *bin = getenv("NATSD_BIN");
	char cmd[1024];
	size_t n;
	FILE *p;

	if (!itest_is_natsd())
		bin = getenv("NATS_SERVER_BIN") ? getenv("NATS_SERVER_BIN")
						: "nats-server";
	snprintf(cmd, sizeof(cmd), "'%s' --signal '%s' 2>&1",
		 bin ? bin : "./natsd", arg);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	return WEXITSTATUS(pclose(p));
}

/* --signal reload=<pid> and reopen=<pid file> reach the server; a dead
 * pid, a bad pid file and an unknown command are refused with
 * nats-server's words. */
static void test_signal_flag(void)
{
	char dir[] = "/tmp/natsd-signal-XXXXXX", pidf[256], arg[300];
	char out[1024];
	const char *args[] = { "-P", pidf, NULL };
	const char *name = itest_is_natsd() ? "natsd" : "nats-server";
	char want[128];
	FILE *f;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(pidf, sizeof(pidf), "%s/server.pid", dir);
	CU_ASSERT_FATAL(itest_start(&srv, NULL, args) == 0);
	snprintf(arg, sizeof(arg), "reload=%ld", (long)srv.pid);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 0);
	/* Without a config file both servers refuse to reload, and say so. */
	CU_ASSERT(itest_log_wait(&srv, "reload server configuration",
				 ITEST_WAIT_MS));
	snprintf(arg, sizeof(arg), "reopen=%s", pidf);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 0);
	CU_ASSERT(itest_log_wait(&srv, "File log re-open", ITEST_WAIT_MS));

	snprintf(arg, sizeof(arg), "bogus=%ld", (long)srv.pid);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s: unknown signal \"bogus\"\n", name);
	CU_ASSERT_STRING_EQUAL(out, want);
	CU_ASSERT(itest_stop(&srv));

	/* A pid that names no process. */
	snprintf(arg, sizeof(arg), "reload=999999999");
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s: no such process\n", name);
	CU_ASSERT_STRING_EQUAL(out, want);
	f = fopen(pidf, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("12x", f);
	fclose(f);
	snprintf(arg, sizeof(arg), "reload=%s", pidf);
	CU_ASSERT_EQUAL(run_signal(arg, out, sizeof(out)), 1);
	snprintf(want, sizeof(want), "%s: invalid pid: 12x\n", name);
	CU_ASSERT_STRING_EQUAL(out, want);
	unlink(pidf);
	rmdir(dir);
}

/* A client's INFO has "max_payload":want. */
static bool info_max_payload(long want)
{
	char info[4096], needle[64];
	int fd;

	fd = itest_raw_connect(srv.port, info, sizeof(info));
	if (fd < 0)
		return false;
	close(fd);
	snprintf(needle, sizeof(needle), "\"max_payload\":%ld", want);
	if (strstr(info, needle) == NULL) {
		fprintf(stderr, "INFO without %s: %s\n", needle, info);
		return false;
	}
	return true;
}

/* A file that changes what nats-server cannot reload (the server name)
 * is refused with nats-server's message, and none of it is applied; a
 * file in nats-server's format is read by both servers. */
static void test_reload_refused(void)
{
	CU_ASSERT_FATAL(itest_start(&srv, "server_name: first\n", NULL) == 0);
	write_conf("server_name: second\nmax_payload: 2MB\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "Failed to reload server configuration: "
				 "config reload not supported for ServerName: "
				 "old=first, new=second",
				 WAIT_MS));
	CU_ASSERT(info_max_payload(1048576));

	/* A cluster block natsd does not serve is refused the same way. */
	write_conf("server_name: first\nmax_payload: 3MB\n"
		   "cluster { port: 16222 }\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "config reload not supported for cluster "
				 "host: old=, new=0.0.0.0",
				 WAIT_MS));
	CU_ASSERT(info_max_payload(1048576));

	write_conf("server_name: first\nmax_payload: 2MB\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(
		itest_log_wait(&srv, "Reloaded server configuration", WAIT_MS));
	CU_ASSERT(info_max_payload(2097152));
	CU_ASSERT(itest_stop(&srv));
}

/* What a reload changed is logged option by option, in nats-server's
 * words; what nats-server cannot reload is refused. */
static void test_reload_logged(void)
{
	static const char *const want[] = {
		"Reloaded: authorization password",
		"Reloaded: authorization timeout = 3",
		"Reloaded: authorization users",
		"Reloaded: accounts",
		"Reloaded: max_connections = 200",
		"Reloaded: ping_max = 3",
		"Reloaded: write_deadline = 1m30s",
	};
	size_t i;

	CU_ASSERT_FATAL(itest_start(&srv,
				    "authorization { user: a, password: b, "
				    "timeout: 1 }\nwrite_deadline: \"10s\"\n"
				    "max_connections: 100\nping_max: 2\n",
				    NULL) == 0);
	write_conf("authorization { user: a, password: c, timeout: 3 }\n"
		   "write_deadline: \"90s\"\nmax_connections: 200\n"
		   "ping_max: 3\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(
		itest_log_wait(&srv, "Reloaded server configuration", WAIT_MS));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(harness_log(&srv), want[i]) == NULL)
			fprintf(stderr, "missing: %s\n", want[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(harness_log(&srv), want[i]));
	}
	CU_ASSERT_PTR_NULL(strstr(harness_log(&srv), "Reloaded: debug"));
	write_conf("authorization { user: a, password: c, timeout: 3 }\n"
		   "write_deadline: \"90s\"\nmax_connections: 200\n"
		   "ping_max: 3\nmax_subscriptions: 7\n");
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "config reload not supported for MaxSubs: "
				 "old=0, new=7",
				 WAIT_MS));
	CU_ASSERT(itest_stop(&srv));
}

/* No change of the websocket block is reloaded (nats-server prints its
 * Go struct after "old=", natsd the block's main settings). */
static void test_reload_websocket_refused(void)
{
	char conf[256];
	int wp = harness_free_port();

	snprintf(conf, sizeof(conf), "websocket { port: %d, no_tls: true }\n",
		 wp);
	CU_ASSERT_FATAL(itest_start(&srv, conf, NULL) == 0);
	snprintf(conf, sizeof(conf),
		 "websocket { port: %d, no_tls: true, compression: true }\n",
		 wp);
	write_conf(conf);
	kill(srv.pid, SIGHUP);
	CU_ASSERT(itest_log_wait(&srv,
				 "Failed to reload server configuration: "
				 "config reload not supported for Websocket: "
				 "old={",
				 WAIT_MS));
	CU_ASSERT(itest_stop(&srv));
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "SIGHUP reloads users and permissions", test_reload_users },
		{ "SIGUSR1 reopens the log file", test_reopen_log },
		{ "ports file", test_ports_file },
		{ "--signal", test_signal_flag },
		{ "lame duck mode", test_lame_duck },
		{ "SIGHUP refuses what cannot be reloaded",
		  test_reload_refused },
		{ "SIGHUP logs what it reloaded", test_reload_logged },
		{ "SIGHUP refuses a websocket change",
		  test_reload_websocket_refused },
	};
	static const struct suite suite = {
		"reload", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	itest_init("reload_test", WATCHDOG_S, &srv.pid);
	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
