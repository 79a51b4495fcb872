#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Test harness: server processes and raw sockets (see harness.h).
 *
 * Readiness is "the port answers with an INFO line", not "the log says
 * ready": log wording differs between natsd and nats-server and may change,
 * the INFO line does not. A free port is found by binding port 0 and
 * closing, which leaves a window in which another process (a parallel test)
 * can take it. Two things cover that window: a server that dies with
 * "address already in use" is restarted on a new port, and the probe checks
 * in /proc that the listening socket it reached belongs to our child, so a
 * test never talks to another test's server.
 *
 * Only POSIX and BSD interfaces are used (no _GNU_SOURCE): config.h may
 * pull in libc headers before this file could ask for GNU extensions.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>

#include "harness.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  5000
#define PROBE_READ_MS    2000
#define POLL_STEP_MS     20
#define SOCK_TIMEOUT_S   5
#define LOG_MAX          (64 * 1024)
#define LOG_TAIL         2048
#define START_ATTEMPTS   3
#define MAX_BIN_WORDS    32

/* Outcome of one start attempt: retrying helps only for a lost port. */
enum start_result {
	START_OK = 0,
	START_FAILED = -1,
	START_PORT_TAKEN = -2,
};

long long harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

int harness_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

const char *harness_kind(void)
{
	const char *k = getenv("NATSD_TEST_SERVER");

	if (k != NULL && strcmp(k, "nats-server") == 0)
		return "nats-server";
	return "natsd";
}

/* Creates an empty temp file named after the kind; returns its fd and sets
 * *path (malloc'd), or returns -1. */
static int temp_file(const char *kind, const char *suffix, char **path)
{
	const char *dir = getenv("TMPDIR");
	char buf[PATH_MAX];
	int fd, n;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	n = snprintf(buf, sizeof(buf), "%s/harness-%s-XXXXXX%s", dir, kind,
		     suffix);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	fd = mkstemps(buf, (int)strlen(suffix));
	if (fd != -1)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "harness: cannot create %s: %s\n", buf,
			strerror(errno));
		return -1;
	}
	*path = strdup(buf);
	if (*path == NULL) {
		close(fd);
		unlink(buf);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void remove_files(struct hserver *s)
{
	const char *keep = getenv("NATSD_TEST_KEEP");
	bool kept = keep != NULL && keep[0] != '\0';

	if (kept && (s->conf_path != NULL || s->log_path != NULL))
		fprintf(stderr, "harness: kept %s %s\n",
			s->conf_path != NULL ? s->conf_path : "",
			s->log_path != NULL ? s->log_path : "");
	if (s->conf_path != NULL && !kept)
		unlink(s->conf_path);
	if (s->log_path != NULL && !kept)
		unlink(s->log_path);
	free(s->conf_path);
	free(s->log_path);
	s->conf_path = NULL;
	s->log_path = NULL;
}

/* Splits the binary setting at spaces into words[] (pointing into copy,
 * which the caller frees). Returns the number of words, or -1. */
static int split_words(const char *bin, char **copy, char **words, int max)
{
	char *p;
	int n = 0;

	*copy = strdup(bin);
	if (*copy == NULL)
		return -1;
	p = *copy;
	while (*p != '\0') {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == max)
			return -1;
		words[n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return n > 0 ? n : -1;
}

static const char *kind_binary(const char *kind)
{
	const char *v;

	if (strcmp(kind, "nats-server") == 0) {
		v = getenv("NATS_SERVER_BIN");
		return v != NULL && v[0] != '\0' ? v : "nats-server";
	}
	v = getenv("NATSD_BIN");
	return v != NULL && v[0] != '\0' ? v : "./natsd";
}

/* Builds the NULL-terminated argv (malloc'd; strings borrowed from words,
 * portbuf, s and args). */
static char **build_argv(char **words, int nwords, char *portbuf,
			 const struct hserver *s, const char *const *args)
{
	size_t nextra = 0, i, k = 0;
	char **argv;

	while (args != NULL && args[nextra] != NULL)
		nextra++;
	argv = calloc((size_t)nwords + 6 + nextra + 1, sizeof(*argv));
	if (argv == NULL)
		return NULL;
	for (i = 0; i < (size_t)nwords; i++)
		argv[k++] = words[i];
	argv[k++] = (char *)"-a";
	argv[k++] = (char *)"127.0.0.1";
	argv[k++] = (char *)"-p";
	argv[k++] = portbuf;
	if (s->conf_path != NULL) {
		argv[k++] = (char *)"-c";
		argv[k++] = s->conf_path;
	}
	for (i = 0; i < nextra; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
	return argv;
}

static void close_fds_except(int keep)
{
#ifdef SYS_close_range
	if (keep > 3)
		syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0U);
	syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U);
#else
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
#endif
}

/* In the child: set up fds and signals, exec; reports errno on errfd. */
static void exec_child(char **argv, int logfd, int errfd, pid_t parent)
{
	sigset_t none;
	int nullfd, err;

	/* A test that crashes must not leave its server running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	nullfd = open("/dev/null", O_RDONLY);
	if (nullfd == -1 || dup2(nullfd, 0) == -1 || dup2(logfd, 1) == -1 ||
	    dup2(logfd, 2) == -1)
		goto fail;
	close_fds_except(errfd);
	/* Ignored signals and the mask survive exec: give the server the
	 * defaults it would get from a shell. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvp(argv[0], argv);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Forks and execs argv with stdout/stderr on the log. Returns the pid, or
 * -1 with a message. */
static pid_t spawn(char **argv, int logfd)
{
	int pfd[2], err = 0;
	pid_t pid, parent = getpid();
	ssize_t r;

	/* Another thread may fork before FD_CLOEXEC is set: its child
	 * closes every fd but its own before exec, so a copy leaked there
	 * lives only until then. */
	if (pipe(pfd) == -1)
		return -1;
	fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
	pid = fork();
	if (pid == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0)
		exec_child(argv, logfd, pfd[1], parent);
	close(pfd[1]);
	do
		r = read(pfd[0], &err, sizeof(err));
	while (r == -1 && errno == EINTR);
	close(pfd[0]);
	if (r > 0) {
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
			strerror(err));
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		return -1;
	}
	return pid;
}

/* Adds the inode of every LISTEN socket on port found in a /proc/net file
 * to inodes[] (up to max). */
static int listen_inodes(const char *file, int port, unsigned long *inodes,
			 int n, int max)
{
	char line[512], addr[64];
	unsigned int lport, st;
	unsigned long inode;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return n;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return n;
	}
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line,
			   " %*u: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s "
			   "%lu",
			   addr, &lport, &st, &inode) != 4)
			continue;
		if ((int)lport == port && st == 0x0A)
			inodes[n++] = inode;
	}
	fclose(f);
	return n;
}

/*
 * Whether the socket listening on port belongs to pid: 1 yes, 0 no (some
 * other process holds the port), -1 cannot tell (no /proc access).
 */
static int listener_owned_by(pid_t pid, int port)
{
	unsigned long inodes[8], ino;
	char dirpath[64], lpath[384], target[64];
	struct dirent *de;
	int n, i, owned = 0;
	ssize_t len;
	DIR *d;

	n = listen_inodes("/proc/net/tcp", port, inodes, 0, 8);
	n = listen_inodes("/proc/net/tcp6", port, inodes, n, 8);
	if (n == 0)
		return -1;
	snprintf(dirpath, sizeof(dirpath), "/proc/%ld/fd", (long)pid);
	d = opendir(dirpath);
	if (d == NULL)
		return -1;
	while (!owned && (de = readdir(d)) != NULL) {
		snprintf(lpath, sizeof(lpath), "%s/%s", dirpath, de->d_name);
		len = readlink(lpath, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) != 1)
			continue;
		for (i = 0; i < n; i++)
			if (inodes[i] == ino)
				owned = 1;
	}
	closedir(d);
	return owned;
}

/* One connection attempt: true if the port answered with an INFO line. */
static bool probe_info(int port, int timeout_ms)
{
	char buf[4096];
	bool eof;
	ssize_t n;
	int fd;

	fd = harness_connect(port);
	if (fd == -1)
		return false;
	n = harness_read_until(fd, buf, sizeof(buf), "\r\n", timeout_ms, &eof);
	close(fd);
	return n > 5 && strncmp(buf, "INFO ", 5) == 0 &&
	       strstr(buf, "\r\n") != NULL;
}

static void print_log_tail(struct hserver *s)
{
	const char *log = harness_log(s);
	size_t len = strlen(log);

	if (len > LOG_TAIL)
		log += len - LOG_TAIL;
	fprintf(stderr, "--- log tail (%s) ---\n%s%s--- end of log ---\n",
		s->log_path != NULL ? s->log_path : "?", log,
		len > 0 && log[strlen(log) - 1] != '\n' ? "\n" : "");
}

static bool log_says_port_taken(struct hserver *s)
{
	const char *log = harness_log(s);
	static const char needle[] = "address already in use";
	size_t i, k;

	for (i = 0; log[i] != '\0'; i++) {
		for (k = 0; needle[k] != '\0'; k++)
			if (tolower((unsigned char)log[i + k]) != needle[k])
				break;
		if (needle[k] == '\0')
			return true;
	}
	return false;
}

static void reap(struct hserver *s, int *status)
{
	while (waitpid(s->pid, status, 0) == -1 && errno == EINTR)
		;
	s->pid = 0;
}

/* Polls until the server answers on its port or exits or time runs out. */
static enum start_result wait_ready(struct hserver *s, const char *kind)
{
	long long deadline = harness_now_ms() + START_TIMEOUT_MS;
	int status, left;
	pid_t w;

	for (;;) {
		w = waitpid(s->pid, &status, WNOHANG);
		if (w == s->pid) {
			s->pid = 0;
			if (log_says_port_taken(s))
				return START_PORT_TAKEN;
			fprintf(stderr,
				"harness: %s exited while starting (status "
				"0x%x)\n",
				kind, status);
			print_log_tail(s);
			return START_FAILED;
		}
		left = (int)(deadline - harness_now_ms());
		if (left <= 0)
			break;
		if (probe_info(s->port,
			       left < PROBE_READ_MS ? left : PROBE_READ_MS) &&
		    listener_owned_by(s->pid, s->port) != 0)
			return START_OK;
		harness_sleep_ms(POLL_STEP_MS);
	}
	fprintf(stderr, "harness: %s did not answer on port %d within %d ms\n",
		kind, s->port, START_TIMEOUT_MS);
	print_log_tail(s);
	harness_kill(s);
	return START_FAILED;
}

static int write_conf(struct hserver *s, const char *kind, const char *conf)
{
	int fd = temp_file(kind, ".conf", &s->conf_path);

	if (fd == -1)
		return -1;
	if (write_all(fd, conf, strlen(conf)) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static enum start_result start_once(struct hserver *s, const char *kind,
				    int port, const char *conf,
				    const char *const *args)
{
	char *words[MAX_BIN_WORDS], *copy = NULL, **argv = NULL;
	char portbuf[16];
	enum start_result rc = START_FAILED;
	int nwords, logfd;

	memset(s, 0, sizeof(*s));
	s->port = port;
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	nwords = split_words(kind_binary(kind), &copy, words, MAX_BIN_WORDS);
	if (nwords < 0)
		goto out_free;
	if (conf != NULL && write_conf(s, kind, conf) == -1)
		goto out_free;
	logfd = temp_file(kind, ".log", &s->log_path);
	if (logfd == -1)
		goto out_free;
	argv = build_argv(words, nwords, portbuf, s, args);
	if (argv != NULL)
		s->pid = spawn(argv, logfd);
	close(logfd);
	if (argv == NULL || s->pid == -1) {
		s->pid = 0;
		goto out_free;
	}
	rc = wait_ready(s, kind);
out_free:
	free(argv);
	free(copy);
	if (rc != START_OK)
		remove_files(s);
	return rc;
}

int harness_start_port(struct hserver *s, const char *kind, int port,
		       const char *conf, const char *const *args)
{
	enum start_result rc;

	ignore_sigpipe();
	rc = start_once(s, kind, port, conf, args);
	if (rc == START_PORT_TAKEN)
		fprintf(stderr, "harness: %s: port %d already in use\n", kind,
			port);
	return rc == START_OK ? 0 : -1;
}

int harness_start(struct hserver *s, const char *kind, const char *conf,
		  const char *const *args)
{
	enum start_result rc = START_FAILED;
	int i, port;

	ignore_sigpipe();
	for (i = 0; i < START_ATTEMPTS; i++) {
		port = harness_free_port();
		if (port == -1) {
			fprintf(stderr, "harness: no free port\n");
			break;
		}
		rc = start_once(s, kind, port, conf, args);
		if (rc != START_PORT_TAKEN)
			break;
	}
	if (rc == START_PORT_TAKEN)
		fprintf(stderr, "harness: %s: lost the port %d times\n", kind,
			START_ATTEMPTS);
	return rc == START_OK ? 0 : -1;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int harness_stop(struct hserver *s)
{
	long long deadline;
	int status = 0;
	pid_t w;

	if (s->pid <= 0) {
		s->pid = 0;
		remove_files(s);
		return -1;
	}
	kill(s->pid, SIGTERM);
	deadline = harness_now_ms() + STOP_TIMEOUT_MS;
	for (;;) {
		w = waitpid(s->pid, &status, WNOHANG);
		if (w == s->pid || (w == -1 && errno != EINTR))
			break;
		if (harness_now_ms() >= deadline) {
			fprintf(stderr,
				"harness: pid %ld ignored SIGTERM for %d ms, "
				"killing\n",
				(long)s->pid, STOP_TIMEOUT_MS);
			kill(s->pid, SIGKILL);
			reap(s, &status);
			break;
		}
		harness_sleep_ms(5);
	}
	s->pid = 0;
	remove_files(s);
	return exit_code(status);
}

void harness_kill(struct hserver *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	reap(s, NULL);
}

const char *harness_log(struct hserver *s)
{
	static __thread char buf[LOG_MAX];
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	buf[0] = '\0';
	if (s == NULL || s->log_path == NULL)
		return buf;
	fd = open(s->log_path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return buf;
	if (fstat(fd, &st) == 0 && st.st_size > LOG_MAX - 1)
		lseek(fd, st.st_size - (LOG_MAX - 1), SEEK_SET);
	while (n < LOG_MAX - 1) {
		r = read(fd, buf + n, LOG_MAX - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

/* Waits for a connect() that EINTR interrupted to finish. */
static int finish_connect(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, r;

	do
		r = poll(&p, 1, SOCK_TIMEOUT_S * 1000);
	while (r == -1 && errno == EINTR);
	if (r != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0)
		return -1;
	return 0;
}

int harness_connect(int port)
{
	struct timeval tv = { SOCK_TIMEOUT_S, 0 };
	struct sockaddr_in sa;
	int fd, one = 1;

	ignore_sigpipe();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 &&
	    (errno != EINTR || finish_connect(fd) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

int harness_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len > 0) {
		w = send(fd, p, len, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int harness_sendstr(int fd, const char *s)
{
	return harness_send(fd, s, strlen(s));
}

/* Whether buf[0..n) contains until, looking only at matches that end
 * after offset seen (what was searched before). until NULL never matches;
 * "" matches as soon as there is data. */
static bool contains(const char *buf, size_t n, size_t seen, const char *until,
		     size_t ulen)
{
	size_t i;

	if (until == NULL)
		return false;
	if (ulen == 0)
		return n > 0;
	for (i = seen >= ulen ? seen - ulen + 1 : 0; i + ulen <= n; i++)
		if (buf[i] == until[0] && memcmp(buf + i, until, ulen) == 0)
			return true;
	return false;
}

ssize_t harness_read_until(int fd, char *buf, size_t cap, const char *until,
			   int timeout_ms, bool *eof)
{
	long long deadline =
		harness_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	size_t n = 0, seen = 0, ulen = until != NULL ? strlen(until) : 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	bool closed = false;
	ssize_t r;
	int left;

	if (cap == 0)
		return -1;
	buf[0] = '\0';
	while (n < cap - 1 && !contains(buf, n, seen, until, ulen)) {
		seen = n;
		/* Once the time is up, one last poll without waiting picks up
		 * what is already there (an EOF, say) and ends the loop. */
		left = (int)(deadline - harness_now_ms());
		if (left < 0)
			left = 0;
		r = poll(&p, 1, left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		r = recv(fd, buf + n, cap - 1 - n, MSG_DONTWAIT);
		if (r > 0) {
			n += (size_t)r;
			buf[n] = '\0';
		} else if (r == 0 || errno == ECONNRESET || errno == EPIPE) {
			closed = true;
			break;
		} else if (errno != EINTR && errno != EAGAIN) {
			goto fail;
		}
		if (left == 0)
			break;
	}
	if (eof != NULL)
		*eof = closed;
	return (ssize_t)n;
fail:
	if (eof != NULL)
		*eof = false;
	return -1;
}

ssize_t harness_read_for(int fd, char *buf, size_t cap, int timeout_ms,
			 bool *eof)
{
	return harness_read_until(fd, buf, cap, NULL, timeout_ms, eof);
}

bool harness_is_closed(int fd, int timeout_ms)
{
	long long deadline =
		harness_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char scratch[4096];
	bool eof = false;
	ssize_t r;
	int left;

	do {
		left = (int)(deadline - harness_now_ms());
		r = harness_read_for(fd, scratch, sizeof(scratch),
				     left > 0 ? left : 0, &eof);
		if (r == -1)
			return false;
	} while (!eof && left > 0);
	return eof;
}
