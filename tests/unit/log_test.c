/* Tests for core/log.c: line shapes (as nats-server 2.9.10 writes them),
 * level filtering, reopen, size rotation, remote syslog, threads. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* program_invocation_short_name */
#endif

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../suites.h"
#include "natsd/error.h"
#include "log.h"

static char tmpdir[64];
static char pidstr[32];

/* Reads a whole file; "" if it is missing. The caller frees. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static bool matches(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB) != 0)
		return false;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void path_in_tmp(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static int configure_file(const char *path, bool ts, bool debug, bool trace,
			  int64_t limit)
{
	struct log_opts o = {
		.file = path,
		.timestamps = ts,
		.debug = debug,
		.trace = trace,
		.size_limit = limit,
	};
	char err[256];

	return log_configure(&o, err, sizeof(err));
}

/* Must run first: the output before log_configure() is stderr. */
static void test_default_stderr(void)
{
	char path[128], re[256], *s;
	int fd, saved;

	path_in_tmp(path, sizeof(path), "stderr.txt");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	CU_ASSERT(log_enabled(LOG_LEVEL_INFO));
	CU_ASSERT(!log_enabled(LOG_LEVEL_DEBUG));
	CU_ASSERT(!log_enabled(LOG_LEVEL_TRACE));
	log_info("hello %d", 42);
	log_debug("not shown");
	log_trace("not shown");
	dup2(saved, STDERR_FILENO);
	close(saved);

	s = slurp(path);
	snprintf(re, sizeof(re),
		 "^\\[%s\\] [0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:"
		 "[0-9]{2}\\.[0-9]{6} \\[INF\\] hello 42\n$",
		 pidstr);
	CU_ASSERT(matches(s, re));
	free(s);
}

static void test_line_format(void)
{
	char path[128], re[256], *s;
	struct timespec t0, t1;
	long long logged;
	struct tm tm;
	time_t now;
	int y, mo, d, h, mi, sec;
	long usec;

	path_in_tmp(path, sizeof(path), "format.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, true, true, true, 0), 0);
	clock_gettime(CLOCK_REALTIME, &t0);
	log_fatal("f");
	clock_gettime(CLOCK_REALTIME, &t1);
	now = t0.tv_sec;
	log_error("e %s", "x");
	log_warn("w");
	log_info("i");
	log_debug("d");
	log_trace("t");
	log_info("with newline\n");
	log_info("%s", "");
	s = slurp(path);
	CU_ASSERT_EQUAL(count_lines(s), 8);
	snprintf(re, sizeof(re),
		 "^\\[%s\\] [0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:"
		 "[0-9]{2}\\.[0-9]{6} \\[FTL\\] f\n"
		 "\\[%s\\] [0-9/: .]{26} \\[ERR\\] e x\n",
		 pidstr, pidstr);
	CU_ASSERT(matches(s, re));
	CU_ASSERT(strstr(s, " [WRN] w\n") != NULL);
	CU_ASSERT(strstr(s, " [INF] i\n") != NULL);
	CU_ASSERT(strstr(s, " [DBG] d\n") != NULL);
	CU_ASSERT(strstr(s, " [TRC] t\n") != NULL);
	/* A message's own newline is not doubled; an empty one is a line. */
	CU_ASSERT(strstr(s, " [INF] with newline\n[") != NULL);
	CU_ASSERT(matches(s, "\\[INF\\] \n$"));
	/* No colour in files. */
	CU_ASSERT(strchr(s, '\x1b') == NULL);

	/* The time is local time, now. */
	CU_ASSERT_EQUAL(sscanf(strchr(s, ']') + 2, "%d/%d/%d %d:%d:%d.%ld", &y,
			       &mo, &d, &h, &mi, &sec, &usec),
			7);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	CU_ASSERT(llabs((long long)(mktime(&tm) - now)) <= 2);
	/* To the microsecond, between the clock readings around it. */
	logged = (long long)mktime(&tm) * 1000000 + usec;
	CU_ASSERT(logged >= (long long)t0.tv_sec * 1000000 + t0.tv_nsec / 1000);
	CU_ASSERT(logged <= (long long)t1.tv_sec * 1000000 + t1.tv_nsec / 1000);
	free(s);

	/* -T=false: "[pid] [INF] message". */
	path_in_tmp(path, sizeof(path), "notime.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, false, false, false, 0), 0);
	log_info("plain");
	log_error("bad");
	s = slurp(path);
	snprintf(re, sizeof(re),
		 "^\\[%s\\] \\[INF\\] plain\n\\[%s\\] "
		 "\\[ERR\\] bad\n$",
		 pidstr, pidstr);
	CU_ASSERT(matches(s, re));
	free(s);
}

static void log_all_levels(void)
{
	log_fatal("L0");
	log_error("L1");
	log_warn("L2");
	log_info("L3");
	log_debug("L4");
	log_trace("L5");
}

static void test_levels(void)
{
	static const struct {
		bool debug, trace;
		const char *want;
	} cases[] = {
		{ false, false, "0123" },
		{ true, false, "01234" },
		/* -V alone traces without debug, as in nats-server. */
		{ false, true, "01235" },
		{ true, true, "012345" },
	};
	char path[128], name[32], *s;
	size_t i;
	int l;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "levels%zu.log", i);
		path_in_tmp(path, sizeof(path), name);
		CU_ASSERT_EQUAL_FATAL(configure_file(path, true, cases[i].debug,
						     cases[i].trace, 0),
				      0);
		log_all_levels();
		s = slurp(path);
		for (l = 0; l <= 5; l++) {
			char tag[16];
			bool want = strchr(cases[i].want, '0' + l) != NULL;

			snprintf(tag, sizeof(tag), "L%d\n", l);
			CU_ASSERT_EQUAL(strstr(s, tag) != NULL, want);
			CU_ASSERT_EQUAL(log_enabled((enum log_level)l), want);
		}
		free(s);
	}
	CU_ASSERT(!log_enabled((enum log_level)6));
	CU_ASSERT(!log_enabled((enum log_level) - 1));
}

static void test_long_message(void)
{
	char path[128], *big, *s, *p;
	size_t n = 10000;

	path_in_tmp(path, sizeof(path), "long.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, true, false, false, 0), 0);
	big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	log_info("<%s>", big);
	s = slurp(path);
	p = strstr(s, "[INF] <");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(strlen(p), 7 + n + 2);
	CU_ASSERT(p[7 + n] == '>' && p[8 + n] == '\n');
	free(s);
	free(big);
}

static void test_reopen(void)
{
	char path[128], moved[160], *s;

	path_in_tmp(path, sizeof(path), "reopen.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, true, false, false, 0), 0);
	log_info("before");
	snprintf(moved, sizeof(moved), "%s.1", path);
	CU_ASSERT_EQUAL(rename(path, moved), 0);
	log_info("still old");
	CU_ASSERT_EQUAL(log_reopen(), 0);
	log_info("after");

	s = slurp(moved);
	CU_ASSERT(strstr(s, "before") != NULL);
	CU_ASSERT(strstr(s, "still old") != NULL);
	CU_ASSERT(strstr(s, "after") == NULL);
	free(s);
	s = slurp(path);
	CU_ASSERT(matches(s, "^\\[[0-9]+\\] [0-9/: .]{26} \\[INF\\] File log "
			     "re-opened\n.*\\[INF\\] after\n$"));
	free(s);
}

static bool is_backup_of(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 &&
	       matches(name + n, "^\\.[0-9]{4}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}"
				 "\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{9}$");
}

static void test_rotation(void)
{
	char path[128], full[400], re[512], *s;
	int i, backups = 0, lines = 0, rotated = 0;
	struct dirent *de;
	DIR *d;

	path_in_tmp(path, sizeof(path), "rot.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, true, false, false, 300), 0);
	for (i = 0; i < 20; i++)
		log_info("line %02d of the rotation test", i);

	d = opendir(tmpdir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "rot.log", 7) != 0)
			continue;
		snprintf(full, sizeof(full), "%s/%s", tmpdir, de->d_name);
		s = slurp(full);
		lines += count_lines(s);
		for (char *p = s; (p = strstr(p, "Rotated log")) != NULL; p++)
			rotated++;
		if (strcmp(de->d_name, "rot.log") != 0) {
			struct stat st;

			CU_ASSERT(is_backup_of(de->d_name, "rot.log"));
			CU_ASSERT(stat(full, &st) == 0 && st.st_size > 300);
			backups++;
		}
		free(s);
	}
	closedir(d);
	/* 20 lines of ~75 bytes over a 300-byte limit: several files,
	 * each new one starting with the notice. */
	CU_ASSERT(backups >= 3);
	CU_ASSERT_EQUAL(rotated, backups);
	CU_ASSERT_EQUAL(lines, 20 + rotated);
	s = slurp(path);
	snprintf(re, sizeof(re),
		 "^\\[%s\\] [0-9/: .]{26} \\[INF\\] Rotated log, backup saved "
		 "as \"%s\\.[0-9.]{29}\"\n",
		 pidstr, path);
	CU_ASSERT(matches(s, re));
	free(s);
}

struct writer_arg {
	int id;
};

#define THREADS          4
#define LINES_PER_THREAD 2000

static void *writer(void *p)
{
	const struct writer_arg *a = p;
	int i;

	for (i = 0; i < LINES_PER_THREAD; i++)
		log_info("thread %d line %04d %s", a->id, i,
			 "padding-padding-padding-padding-padding-padding");
	return NULL;
}

static void test_threads(void)
{
	static unsigned char seen[THREADS][LINES_PER_THREAD];
	struct writer_arg args[THREADS];
	pthread_t t[THREADS];
	char path[128], *s, *line, *save = NULL;
	int i, ok = 0, bad = 0;
	regex_t r;

	path_in_tmp(path, sizeof(path), "threads.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, true, false, false, 0), 0);
	for (i = 0; i < THREADS; i++) {
		args[i].id = i;
		CU_ASSERT_EQUAL_FATAL(
			pthread_create(&t[i], NULL, writer, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	CU_ASSERT_FATAL(regcomp(&r,
				"^\\[[0-9]+\\] [0-9/: .]{26} \\[INF\\] thread "
				"[0-9] line [0-9]{4} (padding-){5}padding$",
				REG_EXTENDED | REG_NOSUB) == 0);
	s = slurp(path);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int id, n;

		if (regexec(&r, line, 0, NULL, 0) == 0 &&
		    sscanf(strstr(line, "thread"), "thread %d line %d", &id,
			   &n) == 2 &&
		    id >= 0 && id < THREADS && n >= 0 && n < LINES_PER_THREAD &&
		    !seen[id][n]) {
			seen[id][n] = 1;
			ok++;
		} else {
			bad++;
		}
	}
	CU_ASSERT_EQUAL(ok, THREADS * LINES_PER_THREAD);
	CU_ASSERT_EQUAL(bad, 0);
	regfree(&r);
	free(s);
}

/* Receives one datagram or stream chunk within 2 s. */
static ssize_t recv_wait(int fd, char *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, 2000) != 1)
		return -1;
	n = recv(fd, buf, cap - 1, 0);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int bound_socket(int type, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) == -1)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* Go's RFC 3339 time: "Z" for UTC, else the offset. */
static void remote_re(char *re, size_t cap, int sev, const char *msg)
{
	char host[256] = "";
	time_t now = time(NULL);
	struct tm tm;

	gethostname(host, sizeof(host) - 1);
	localtime_r(&now, &tm);
	snprintf(re, cap,
		 "^<%d>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
		 "%s %s %s\\[%s\\]: %s\n$",
		 sev, tm.tm_gmtoff == 0 ? "Z" : "[-+][0-9]{2}:[0-9]{2}", host,
		 program_invocation_short_name, pidstr, msg);
}

/* The next datagram on fd is msg at severity sev, in the remote form. */
static void expect_datagram(int fd, int sev, const char *msg)
{
	char buf[1024], re[512];

	CU_ASSERT(recv_wait(fd, buf, sizeof(buf)) > 0);
	remote_re(re, sizeof(re), sev, msg);
	CU_ASSERT(matches(buf, re));
}

static void test_remote_udp(void)
{
	struct log_opts o = { .debug = true };
	char url[64], err[256];
	uint16_t port;
	int fd;

	fd = bound_socket(SOCK_DGRAM, &port);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(url, sizeof(url), "udp://127.0.0.1:%u", port);
	o.remote_syslog = url;
	/* A remote syslog wins over local syslog, a file over both. */
	o.syslog = true;
	CU_ASSERT_EQUAL_FATAL(log_configure(&o, err, sizeof(err)), 0);

	log_info("hello %s", "there");
	expect_datagram(fd, 5, "hello there");
	log_warn("w");
	expect_datagram(fd, 4, "w");
	log_error("e");
	expect_datagram(fd, 3, "e");
	log_fatal("f");
	expect_datagram(fd, 2, "f");
	log_trace("not sent");
	log_debug("d");
	expect_datagram(fd, 7, "d");
	/* Not a file: reopen only says so. */
	CU_ASSERT_EQUAL(log_reopen(), 0);
	expect_datagram(fd, 5, "File log re-open ignored, not a file logger");
	close(fd);
}

static void test_remote_tcp(void)
{
	struct log_opts o = { .trace = true };
	char url[64], err[256], buf[1024], re[512], got[2048] = "";
	uint16_t port;
	int lfd, cfd, i;

	lfd = bound_socket(SOCK_STREAM, &port);
	CU_ASSERT_FATAL(lfd >= 0 && listen(lfd, 4) == 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u/ignored", port);
	o.remote_syslog = url;
	CU_ASSERT_EQUAL_FATAL(log_configure(&o, err, sizeof(err)), 0);
	cfd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(cfd >= 0);
	log_info("one");
	log_trace("two");
	for (i = 0; i < 10 && count_lines(got) < 2; i++) {
		if (recv_wait(cfd, buf, sizeof(buf)) <= 0)
			break;
		strncat(got, buf, sizeof(got) - strlen(got) - 1);
	}
	remote_re(re, sizeof(re), 5, "one");
	re[strlen(re) - 1] = '\0'; /* drop the final $ */
	CU_ASSERT(matches(got, re));
	/* nats-server traces at notice. */
	CU_ASSERT(matches(got, "^<5>.*\\]: two\n"));
	close(cfd);
	close(lfd);
}

static void test_remote_unix(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct log_opts o = { 0 };
	char url[200], err[256], buf[1024], re[512];
	int fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/syslog.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CU_ASSERT_FATAL(fd >= 0 &&
			bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	snprintf(url, sizeof(url), "unix://%s", a.sun_path);
	o.remote_syslog = url;
	CU_ASSERT_EQUAL_FATAL(log_configure(&o, err, sizeof(err)), 0);
	log_info("local form");
	CU_ASSERT(recv_wait(fd, buf, sizeof(buf)) > 0);
	/* Go's local form: "Jan _2 15:04:05", no host name. */
	snprintf(re, sizeof(re),
		 "^<5>[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} "
		 "%s\\[%s\\]: local form\n$",
		 program_invocation_short_name, pidstr);
	CU_ASSERT(matches(buf, re));
	close(fd);
}

static void test_errors(void)
{
	struct log_opts o = { .timestamps = true };
	char path[128], bad[160], err[256], *s;
	uint16_t port;
	int fd;

	path_in_tmp(path, sizeof(path), "errors.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, true, false, false, 0), 0);

	snprintf(bad, sizeof(bad), "%s/no/such/dir/x.log", tmpdir);
	o.file = bad;
	CU_ASSERT_EQUAL(log_configure(&o, err, sizeof(err)), NATSD_ENOENT);
	CU_ASSERT(strstr(err, "no/such/dir") != NULL);

	o.file = NULL;
	o.remote_syslog = "localhost:514";
	CU_ASSERT_EQUAL(log_configure(&o, err, sizeof(err)), NATSD_EINVAL);
	CU_ASSERT(strstr(err, "invalid network type") != NULL);
	o.remote_syslog = "udp://[::1";
	CU_ASSERT_EQUAL(log_configure(&o, err, sizeof(err)), NATSD_EINVAL);

	/* A closed TCP port: refused. */
	fd = bound_socket(SOCK_STREAM, &port);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(bad, sizeof(bad), "tcp://127.0.0.1:%u", port);
	o.remote_syslog = bad;
	CU_ASSERT_EQUAL(log_configure(&o, err, sizeof(err)), -ECONNREFUSED);
	close(fd);
	CU_ASSERT_EQUAL(log_configure(&o, NULL, 0), -ECONNREFUSED);

	/* Logging went on to the old file throughout. */
	log_info("still here");
	s = slurp(path);
	CU_ASSERT(strstr(s, "[INF] still here\n") != NULL);
	free(s);
}

/* Local syslog: nothing to read back here (there may be no daemon);
 * switching to it and away must work and not crash. */
static void test_syslog_switch(void)
{
	struct log_opts o = { .syslog = true, .debug = true };
	char path[128], err[256], *s;

	CU_ASSERT_EQUAL(log_configure(&o, err, sizeof(err)), 0);
	log_info("to syslog");
	log_debug("to syslog too");
	path_in_tmp(path, sizeof(path), "after-syslog.log");
	CU_ASSERT_EQUAL_FATAL(configure_file(path, true, false, false, 0), 0);
	log_info("back in a file");
	s = slurp(path);
	CU_ASSERT(strstr(s, "back in a file") != NULL);
	CU_ASSERT(strstr(s, "to syslog") == NULL);
	free(s);
}

/* On a terminal the labels are coloured like nats-server's. */
static void test_colors(void)
{
	struct log_opts o = { .timestamps = false, .debug = true };
	char err[256], buf[1024], re[256], got[2048] = "";
	int master, slave, saved, i;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master == -1 || grantpt(master) != 0 || unlockpt(master) != 0) {
		if (master != -1)
			close(master);
		return; /* no pty here: nothing to check */
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	CU_ASSERT_FATAL(slave >= 0);
	saved = dup(STDERR_FILENO);
	dup2(slave, STDERR_FILENO);
	CU_ASSERT_EQUAL(log_configure(&o, err, sizeof(err)), 0);
	log_warn("w");
	log_info("i");
	log_debug("d");
	log_error("e");
	dup2(saved, STDERR_FILENO);
	close(saved);
	for (i = 0; i < 10 && count_lines(got) < 4; i++) {
		ssize_t n;
		struct pollfd p = { .fd = master, .events = POLLIN };

		if (poll(&p, 1, 2000) != 1)
			break;
		n = read(master, buf, sizeof(buf) - 1);
		if (n <= 0)
			break;
		buf[n] = '\0';
		strncat(got, buf, sizeof(got) - strlen(got) - 1);
	}
	snprintf(re, sizeof(re),
		 "^\\[%s\\] \\[\x1b\\[0;93mWRN\x1b\\[0m\\] w\r?\n"
		 "\\[%s\\] \\[\x1b\\[32mINF\x1b\\[0m\\] i\r?\n",
		 pidstr, pidstr);
	CU_ASSERT(matches(got, re));
	CU_ASSERT(strstr(got, "[\x1b[36mDBG\x1b[0m] d") != NULL);
	CU_ASSERT(strstr(got, "[\x1b[31mERR\x1b[0m] e") != NULL);
	close(slave);
	close(master);
}

static void remove_tmpdir(void)
{
	struct dirent *de;
	char full[400];
	DIR *d = opendir(tmpdir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(full, sizeof(full), "%s/%s", tmpdir, de->d_name);
		unlink(full);
	}
	closedir(d);
	rmdir(tmpdir);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "default output: stderr", test_default_stderr },
		{ "line format", test_line_format },
		{ "levels", test_levels },
		{ "long message", test_long_message },
		{ "reopen after rename", test_reopen },
		{ "size rotation", test_rotation },
		{ "threads do not mix lines", test_threads },
		{ "remote syslog udp", test_remote_udp },
		{ "remote syslog tcp", test_remote_tcp },
		{ "remote syslog unix", test_remote_unix },
		{ "configuration errors", test_errors },
		{ "local syslog", test_syslog_switch },
		{ "colours on a terminal", test_colors },
	};
	static const struct suite suite = {
		"log", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	struct log_opts quiet = { .timestamps = true };
	int rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/natsd-log-test.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)getpid());
	rc = suites_run(&suite, 1);
	(void)log_configure(&quiet, NULL, 0); /* close the test's files */
	remove_tmpdir();
	return rc == 0 ? 0 : 1;
}
