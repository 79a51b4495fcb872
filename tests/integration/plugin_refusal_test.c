#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, mkstemps */
#endif

/*
 * natsd refuses to start with a plugin it cannot use: a missing file, a
 * shared object that is not a plugin, one built for another ABI major,
 * one with a bad magic, one whose init() fails, and the same plugin
 * twice. Each time it must exit non-zero, quickly, having said so in one
 * line that names the file (and for the ABI both versions), and without
 * ever becoming ready.
 *
 * The server is run directly (fork/exec, output to a pipe), not through
 * the harness, whose start function removes the log of a server that
 * died while starting: here that log is what the test is about.
 *
 * The test plugins are found in env NATSD_TEST_PLUGIN_DIR; natsd in
 * NATSD_BIN (default ./natsd; a command prefix split at spaces is
 * allowed, as in the harness).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/plugin.h>

#include "harness.h"
#include "itest.h"

#define EXIT_WAIT_MS 10000 /* "quickly", with room for a sanitizer build */
#define OUT_MAX	     (64 * 1024)
#define MAX_WORDS    32
#define WATCHDOG_S   120

static char plugin_dir[PATH_MAX];
static pid_t child = -1;

/* What one run of natsd did. */
struct run {
	char out[OUT_MAX]; /* stdout and stderr */
	size_t len;
	int status;	   /* from waitpid(), valid when exited */
	bool exited;	   /* within EXIT_WAIT_MS */
	long long ms;	   /* how long it ran */
};

/* Writes conf to a temp file; returns its path (malloc'd) or NULL. */
static char *write_conf(const char *conf)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	size_t len = strlen(conf);
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/plugin-refusal-XXXXXX.conf", dir);
	fd = mkstemps(path, 5);
	if (fd == -1)
		return NULL;
	if (write(fd, conf, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return strdup(path);
}

/* Splits NATSD_BIN into argv words, then appends our arguments. */
static int build_argv(char *bin, char **argv, const char *port,
		      const char *conf)
{
	int n = 0;
	char *p = bin;

	while (*p != '\0' && n < MAX_WORDS) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		argv[n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	if (n == 0)
		return -1;
	argv[n++] = (char *)"-a";
	argv[n++] = (char *)"127.0.0.1";
	argv[n++] = (char *)"-p";
	argv[n++] = (char *)port;
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)conf;
	argv[n] = NULL;
	return n;
}

/* Reads the child's output until it closes or the deadline passes. */
static void collect(int fd, struct run *r, long long end)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int left;

	for (;;) {
		left = (int)(end - itest_mono_ms());
		if (left <= 0)
			return;
		if (poll(&p, 1, left) <= 0)
			continue;
		if (r->len + 1 >= sizeof(r->out))
			return;
		n = read(fd, r->out + r->len, sizeof(r->out) - 1 - r->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		r->len += (size_t)n;
		r->out[r->len] = '\0';
	}
}

/* Runs natsd with conf (libconfig text) until it exits or EXIT_WAIT_MS
 * pass; a server still running then is killed. */
static int run_natsd(const char *conf, struct run *r)
{
	const char *env = getenv("NATSD_BIN");
	char *bin, *conf_path, *argv[MAX_WORDS + 8], port[16];
	long long start, end;
	int pfd[2], devnull;
	pid_t w;

	memset(r, 0, sizeof(*r));
	conf_path = write_conf(conf);
	if (conf_path == NULL)
		return -1;
	bin = strdup(env != NULL && env[0] != '\0' ? env : "./natsd");
	snprintf(port, sizeof(port), "%d", harness_free_port());
	if (bin == NULL || build_argv(bin, argv, port, conf_path) < 0 ||
	    pipe2(pfd, O_CLOEXEC) == -1) {
		free(bin);
		unlink(conf_path);
		free(conf_path);
		return -1;
	}
	start = itest_mono_ms();
	child = fork();
	if (child == 0) {
		/* A test that dies must not leave a server behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		devnull = open("/dev/null", O_RDONLY);
		if (devnull == -1 || dup2(devnull, 0) == -1 ||
		    dup2(pfd[1], 1) == -1 || dup2(pfd[1], 2) == -1)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	end = start + EXIT_WAIT_MS;
	if (child > 0)
		collect(pfd[0], r, end);
	close(pfd[0]);
	for (w = 0; child > 0;) {
		w = waitpid(child, &r->status, WNOHANG);
		if (w == child || (w == -1 && errno != EINTR))
			break;
		if (itest_mono_ms() >= end) {
			kill(child, SIGKILL);
			waitpid(child, &r->status, 0);
			w = -1;
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	r->exited = w == child && child > 0;
	r->ms = itest_mono_ms() - start;
	child = -1;
	unlink(conf_path);
	free(conf_path);
	free(bin);
	return 0;
}

/* Number of output lines containing every one of the NULL-terminated
 * strings in want; the last such line is copied into line. */
static int lines_with(const struct run *r, const char *const *want,
		      char *line, size_t cap)
{
	const char *p = r->out, *nl;
	char buf[4096];
	size_t len;
	int count = 0, i;
	bool all;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, p, len);
		buf[len] = '\0';
		all = true;
		for (i = 0; want[i] != NULL; i++)
			all = all && strstr(buf, want[i]) != NULL;
		if (all) {
			count++;
			snprintf(line, cap, "%s", buf);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return count;
}

/* Runs natsd with conf and checks it refused to start: non-zero exit
 * within EXIT_WAIT_MS, never ready, no sanitizer report, and exactly one
 * line naming path that has every string in want. */
static void expect_refusal(const char *conf, const char *path,
			   const char *const *want)
{
	const char *all[8], *only[2] = { path, NULL };
	char line[4096] = "";
	struct run *r;
	int i, n;

	r = calloc(1, sizeof(*r));
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_FATAL(run_natsd(conf, r) == 0);
	CU_ASSERT(r->exited);
	CU_ASSERT(r->exited && WIFEXITED(r->status) &&
		  WEXITSTATUS(r->status) != 0 && WEXITSTATUS(r->status) != 127);
	CU_ASSERT(r->ms < EXIT_WAIT_MS);
	CU_ASSERT(strstr(r->out, "Server is ready") == NULL);
	CU_ASSERT(strstr(r->out, "Sanitizer") == NULL);
	all[0] = path;
	for (i = 0; want[i] != NULL && i < 6; i++)
		all[i + 1] = want[i];
	all[i + 1] = NULL;
	n = lines_with(r, all, line, sizeof(line));
	CU_ASSERT_EQUAL(n, 1);
	if (n != 1 || !r->exited)
		fprintf(stderr, "--- natsd output (status 0x%x, %lld ms) ---\n"
				"%s--- end ---\n",
			r->status, r->ms, r->out);
	/* Nothing else names the file: the message is one line. */
	CU_ASSERT_EQUAL(lines_with(r, only, line, sizeof(line)), 1);
	free(r);
}

/* A config loading the plugins at paths[] (NULL-terminated). */
static void plugins_conf(char *conf, size_t cap, const char *const *paths)
{
	size_t used;
	int i;

	used = (size_t)snprintf(conf, cap, "plugins = (\n");
	for (i = 0; paths[i] != NULL && used < cap; i++)
		used += (size_t)snprintf(conf + used, cap - used,
					 "  %s{ load = \"%s\"; }\n",
					 i > 0 ? "," : "", paths[i]);
	if (used < cap)
		snprintf(conf + used, cap - used, ");\n");
}

static void plugin_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s.so", plugin_dir, name);
}

static void refuse_one(const char *name, const char *const *want)
{
	char path[PATH_MAX + 64], conf[2 * PATH_MAX + 256];
	const char *paths[2] = { path, NULL };

	plugin_path(path, sizeof(path), name);
	plugins_conf(conf, sizeof(conf), paths);
	expect_refusal(conf, path, want);
}

static void test_missing(void)
{
	static const char *const want[] = { "not found", NULL };

	refuse_one("does_not_exist", want);
}

static void test_not_a_plugin(void)
{
	static const char *const want[] = { "not a natsd plugin",
					    "natsd_plugin_entry", NULL };

	refuse_one("not_a_plugin", want);
}

static void test_abi_major(void)
{
	char theirs[32], ours[32];
	const char *want[] = { theirs, ours, NULL };

	/* tests/plugins/abi_major.c claims 2.0. */
	snprintf(theirs, sizeof(theirs), "ABI %d.%d", 2, 0);
	snprintf(ours, sizeof(ours), "ABI %d.%d", NATSD_ABI_MAJOR,
		 NATSD_ABI_MINOR);
	refuse_one("abi_major", want);
}

static void test_bad_magic(void)
{
	static const char *const want[] = { "not a natsd plugin", "magic",
					    NULL };

	refuse_one("bad_magic", want);
}

static void test_init_fails(void)
{
	/* The plugin's own words are passed on. */
	static const char *const want[] = { "init failed",
					    "/nonexistent/users.ini", NULL };

	refuse_one("init_fails", want);
}

static void test_twice(void)
{
	static const char *const want[] = { "already loaded", NULL };
	char path[PATH_MAX + 64], conf[3 * PATH_MAX + 256];
	const char *paths[3] = { path, path, NULL };

	plugin_path(path, sizeof(path), "good_plugin");
	plugins_conf(conf, sizeof(conf), paths);
	expect_refusal(conf, path, want);
}

/* The same plugins, each once, are fine: what was refused above was
 * refused for its own reason. */
static void test_good_starts(void)
{
	char path[PATH_MAX + 64], conf[2 * PATH_MAX + 256];
	const char *paths[2] = { path, NULL };
	struct hserver s;

	plugin_path(path, sizeof(path), "good_plugin");
	plugins_conf(conf, sizeof(conf), paths);
	CU_ASSERT_FATAL(harness_start(&s, "natsd", conf, NULL) == 0);
	CU_ASSERT_EQUAL(harness_stop(&s), 1); /* SIGTERM, as nats-server */
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "missing plugin", test_missing },
		{ "not a plugin", test_not_a_plugin },
		{ "ABI major mismatch", test_abi_major },
		{ "bad magic", test_bad_magic },
		{ "init fails", test_init_fails },
		{ "same plugin twice", test_twice },
		{ "a good plugin starts", test_good_starts },
	};
	static const struct suite suite = {
		"plugin refusals", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	const char *dir = getenv("NATSD_TEST_PLUGIN_DIR");
	int rc;

	if (!itest_is_natsd()) {
		printf("plugin_refusal_test: natsd plugins only, skipped\n");
		return 77;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "tests/plugins/.libs";
	if (realpath(dir, plugin_dir) == NULL) {
		fprintf(stderr, "plugin_refusal_test: plugin dir %s: %s\n",
			dir, strerror(errno));
		return 99;
	}
	itest_init("plugin_refusal_test", WATCHDOG_S, &child);
	rc = suites_run(&suite, 1);
	return rc < 0 ? 99 : rc;
}
