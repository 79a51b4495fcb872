/* --signal. The process is found the way nats-server finds it: by the
 * pid given, by a pid file, or else as the only process running under this
 * program's name (read from /proc, where nats-server runs pgrep). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <natsd/error.h>

#include "signal_cmd.h"

static const struct {
	const char *name;
	int sig;
} signal_cmds[] = {
	{ "stop", SIGKILL },   { "quit", SIGINT },   { "term", SIGTERM },
	{ "reopen", SIGUSR1 }, { "reload", SIGHUP }, { "ldm", SIGUSR2 },
};

/* A pid written in decimal, or -1. */
static long parse_pid(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == '\n' || *end == '\r' || *end == ' ')
		end++;
	if (errno != 0 || end == s || *end != '\0' || v <= 0)
		return -1;
	return v;
}

/* The pid named by spec: a number, or a file holding one. */
static long pid_from_spec(const char *spec, char *err, size_t errlen)
{
	char buf[64];
	FILE *f;
	size_t n;
	long pid = parse_pid(spec);

	if (pid > 0)
		return pid;
	f = fopen(spec, "r");
	if (f == NULL) {
		snprintf(err, errlen, "invalid pid: %s", spec);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	pid = parse_pid(buf);
	if (pid < 0)
		snprintf(err, errlen, "invalid pid: %s", buf);
	return pid;
}

/* The only other process named name, or -1 with a message. */
static long pid_by_name(const char *name, char *err, size_t errlen)
{
	char path[64], comm[64], list[512] = "";
	struct dirent *d;
	long pid, found = -1, self = (long)getpid();
	size_t n;
	int count = 0;
	DIR *dir;
	FILE *f;

	dir = opendir("/proc");
	if (dir == NULL) {
		snprintf(err, errlen, "cannot read /proc: %s", strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		pid = strtol(d->d_name, NULL, 10);
		if (pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		n = fread(comm, 1, sizeof(comm) - 1, f);
		fclose(f);
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) != 0)
			continue;
		count++;
		found = pid;
		n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "\n%ld", pid);
	}
	closedir(dir);
	if (count == 0) {
		snprintf(err, errlen, "no %s processes running", name);
		return -1;
	}
	if (count > 1) {
		snprintf(err, errlen, "multiple %s processes running:%s", name,
			 list);
		return -1;
	}
	return found;
}

int signal_cmd_run(const char *arg, const char *exe, char *err, size_t errlen)
{
	const char *base = strrchr(exe, '/');
	const char *eq = strchr(arg, '=');
	char cmd[32];
	size_t i, len = eq ? (size_t)(eq - arg) : strlen(arg);
	long pid;
	int sig = -1;

	base = base ? base + 1 : exe;
	/* nats-server looks for the process first, then the command. */
	pid = eq ? pid_from_spec(eq + 1, err, errlen)
		 : pid_by_name(base, err, errlen);
	if (pid < 0)
		return NATSD_EINVAL;
	snprintf(cmd, sizeof(cmd), "%.*s", (int)len, arg);
	for (i = 0; i < sizeof(signal_cmds) / sizeof(signal_cmds[0]); i++)
		if (strcmp(cmd, signal_cmds[i].name) == 0)
			sig = signal_cmds[i].sig;
	if (sig < 0) {
		snprintf(err, errlen, "unknown signal \"%s\"", cmd);
		return NATSD_EINVAL;
	}
	if (kill((pid_t)pid, sig) == -1) {
		snprintf(err, errlen, "%s",
			 errno == ESRCH ? "no such process" : strerror(errno));
		return -errno;
	}
	return 0;
}
