/* Tests for core/plugin_loader.c.
 *
 * The test plugins (one .c each in tests/plugins/) are built by the build
 * system, not here: $NATSD_TEST_PLUGIN_DIR names the directory that holds
 * them (good_plugin.so, not_a_plugin.so, bad_magic.so, abi_major.so,
 * abi_minor.so, init_fails.so). Without it the test is skipped (77).
 *
 * The refused plugins abort() in init(), and init_fails aborts in fini(),
 * so a loader that runs code it should not kills this program. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <natsd/plugin.h>

#include "../suites.h"
#include "plugin_loader.h"

/* The fake config section the test hands to init(). */
struct natsd_cfg {
	const char *greeting;
};

static const char *test_dir; /* built test plugins */
static char tmp_dir[] = "/tmp/plugin_loader_test.XXXXXX";
static char log_buf[1024];
static int api_calls; /* any host function, refused plugins must not */
static int greeting_asks;

static void fake_log(struct natsd_host *h, int level, const char *fmt, ...)
{
	size_t n = strlen(log_buf);
	va_list ap;

	(void)h;
	(void)level;
	api_calls++;
	va_start(ap, fmt);
	vsnprintf(log_buf + n, sizeof(log_buf) - n, fmt, ap);
	va_end(ap);
	n = strlen(log_buf);
	snprintf(log_buf + n, sizeof(log_buf) - n, "\n");
}

static bool fake_log_enabled(struct natsd_host *h, int level)
{
	(void)h;
	(void)level;
	api_calls++;
	return true;
}

static int fake_cfg_string(const struct natsd_cfg *c, const char *key,
			   const char **out)
{
	api_calls++;
	if (strcmp(key, "greeting") == 0)
		greeting_asks++;
	if (c == NULL || strcmp(key, "greeting") != 0 || c->greeting == NULL)
		return NATSD_ENOENT;
	*out = c->greeting;
	return 0;
}

static int fake_cfg_bool(const struct natsd_cfg *c, const char *key, bool *out)
{
	(void)c;
	(void)key;
	(void)out;
	api_calls++;
	return NATSD_ENOENT;
}

static int fake_cfg_i64(const struct natsd_cfg *c, const char *key,
			int64_t *out)
{
	(void)c;
	(void)key;
	(void)out;
	api_calls++;
	return NATSD_ENOENT;
}

static int fake_cfg_where(const struct natsd_cfg *c, const char *key,
			  const char **file, int *line)
{
	(void)c;
	(void)key;
	api_calls++;
	*file = "test.conf";
	*line = 1;
	return 0;
}

static const struct natsd_host_api fake_api = {
	.struct_size = sizeof(struct natsd_host_api),
	.abi_major = NATSD_ABI_MAJOR,
	.abi_minor = NATSD_ABI_MINOR,
	.log = fake_log,
	.log_enabled = fake_log_enabled,
	.cfg_string = fake_cfg_string,
	.cfg_int = fake_cfg_i64,
	.cfg_bool = fake_cfg_bool,
	.cfg_duration = fake_cfg_i64,
	.cfg_size = fake_cfg_i64,
	.cfg_where = fake_cfg_where,
};

/* Any non-NULL pointer: the loader passes it through untouched. */
static struct natsd_host *const fake_host = (struct natsd_host *)&fake_api;
static const struct natsd_cfg good_cfg = { .greeting = "hello" };

static void reset_fakes(void)
{
	log_buf[0] = '\0';
	api_calls = 0;
	greeting_asks = 0;
}

static void test_path(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	CU_ASSERT_FATAL(n > 0 && (size_t)n < len);
}

/* Loads file from dir, which must be refused with want_rc and exactly the
 * error line "plugin <path>: <reason>"; no host function may have been
 * called. */
static void expect_refusal(const char *dir, const char *file, int want_rc,
			   const char *reason)
{
	struct plugin *p = (struct plugin *)&p; /* must stay untouched */
	struct plugin *const sentinel = p;
	char path[1024], want[1200], err[512];
	int rc;

	test_path(path, sizeof(path), dir, file);
	snprintf(want, sizeof(want), "plugin %s: %s", path, reason);
	reset_fakes();
	memset(err, 'x', sizeof(err));
	rc = plugin_load(path, fake_host, &fake_api, &good_cfg, NULL, 0, &p,
			 err, sizeof(err));
	CU_ASSERT_EQUAL(rc, want_rc);
	CU_ASSERT_STRING_EQUAL(err, want);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
	CU_ASSERT_PTR_EQUAL(p, sentinel);
	CU_ASSERT_EQUAL(api_calls, 0);
}

static void test_missing_file(void)
{
	static const char reason[] =
		"not found (check plugin_dir or --plugin-dir)";

	expect_refusal(tmp_dir, "auth_foo.so", NATSD_ENOENT, reason);
	/* A missing directory on the way is "not found" too. */
	expect_refusal(tmp_dir, "nodir/auth_foo.so", NATSD_ENOENT, reason);
}

static void test_not_loadable(void)
{
	static const char junk[] =
		"#!/bin/sh\n# not an ELF shared object, only text that is "
		"long enough to be read as a header by the dynamic loader\n";
	struct plugin *p = NULL;
	char path[1024], prefix[1200], err[512];
	size_t n;
	int fd, rc;

	test_path(path, sizeof(path), tmp_dir, "junk.so");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT(write(fd, junk, sizeof(junk) - 1) ==
		  (ssize_t)(sizeof(junk) - 1));
	close(fd);

	reset_fakes();
	rc = plugin_load(path, fake_host, &fake_api, &good_cfg, NULL, 0, &p,
			 err, sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EINVAL);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(api_calls, 0);
	/* The rest is dlopen()'s own text, without the path a second time. */
	n = (size_t)snprintf(prefix, sizeof(prefix), "plugin %s: ", path);
	CU_ASSERT(strncmp(err, prefix, n) == 0);
	CU_ASSERT(strlen(err) > n);
	CU_ASSERT_PTR_NULL(strstr(err + n, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ELF"));
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	unlink(path);
}

static void test_no_entry_symbol(void)
{
	expect_refusal(test_dir, "not_a_plugin.so", NATSD_EINVAL,
		       "not a natsd plugin (no natsd_plugin_entry symbol)");
}

static void test_bad_magic(void)
{
	expect_refusal(test_dir, "bad_magic.so", NATSD_EINVAL,
		       "not a natsd plugin (bad magic)");
}

static void test_abi_major(void)
{
	char reason[200];

	snprintf(reason, sizeof(reason),
		 "built for natsd plugin ABI 2.0, this server has ABI %d.%d",
		 NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	expect_refusal(test_dir, "abi_major.so", NATSD_ENOTSUP, reason);
}

static void test_abi_minor(void)
{
	char reason[200];

	snprintf(reason, sizeof(reason),
		 "built for natsd plugin ABI %d.99, this server has ABI %d.%d",
		 NATSD_ABI_MAJOR, NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	expect_refusal(test_dir, "abi_minor.so", NATSD_ENOTSUP, reason);
}

static void test_init_fails(void)
{
	struct plugin *p = NULL;
	char path[1024], want[1200], err[512];
	int rc;

	test_path(path, sizeof(path), test_dir, "init_fails.so");
	snprintf(want, sizeof(want),
		 "plugin %s: init failed: cannot read /nonexistent/users.ini: "
		 "No such file or directory",
		 path);
	rc = plugin_load(path, fake_host, &fake_api, NULL, NULL, 0, &p, err,
			 sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_ENOENT);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_PTR_NULL(p);
}

static void test_good_lifecycle(void)
{
	struct plugin *p = NULL;
	char path[1024], err[512];
	int rc;

	test_path(path, sizeof(path), test_dir, "good_plugin.so");
	reset_fakes();
	rc = plugin_load(path, fake_host, &fake_api, &good_cfg, NULL, 0, &p,
			 err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(plugin_name(p), "good");
	CU_ASSERT_STRING_EQUAL(plugin_version(p), "1.2.3");
	CU_ASSERT_STRING_EQUAL(plugin_path(p), path);
	CU_ASSERT_EQUAL(greeting_asks, 1);
	CU_ASSERT_STRING_EQUAL(log_buf, "good: init greeting=hello\n");

	plugin_unload(p);
	CU_ASSERT_STRING_EQUAL(log_buf,
			       "good: init greeting=hello\ngood: fini\n");

	/* Unloaded means gone: it loads again, and init runs again. */
	reset_fakes();
	rc = plugin_load(path, fake_host, &fake_api, NULL, NULL, 0, &p, err,
			 sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(log_buf, "good: init greeting=none\n");
	plugin_unload(p);
	CU_ASSERT_STRING_EQUAL(log_buf,
			       "good: init greeting=none\ngood: fini\n");

	plugin_unload(NULL);
}

/* Copies src to dst, so that the same plugin exists under two paths. */
static int copy_file(const char *src, const char *dst)
{
	char buf[8192];
	ssize_t n;
	int in, out, rc = 0, i;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out == -1) {
		close(in);
		return -1;
	}
	/* Bounded: test plugins are far below 8 MB. */
	for (i = 0; i < 1024; i++) {
		n = read(in, buf, sizeof(buf));
		if (n <= 0) {
			rc = n == 0 ? 0 : -1;
			break;
		}
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	}
	close(in);
	if (close(out) == -1)
		rc = -1;
	return rc;
}

static void test_duplicate(void)
{
	struct plugin *good = NULL, *p = NULL;
	struct plugin *loaded[3];
	char path[1024], copy[1024], want[2200], err[512];
	int rc;

	test_path(path, sizeof(path), test_dir, "good_plugin.so");
	test_path(copy, sizeof(copy), tmp_dir, "good_copy.so");
	CU_ASSERT_FATAL(copy_file(path, copy) == 0);

	rc = plugin_load(path, fake_host, &fake_api, NULL, NULL, 0, &good, err,
			 sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	loaded[0] = NULL; /* NULL slots are skipped */
	loaded[1] = good;
	loaded[2] = NULL;

	/* Another file with the same plugin name. */
	snprintf(want, sizeof(want),
		 "plugin %s: a plugin named \"good\" is already loaded from %s",
		 copy, path);
	reset_fakes();
	rc = plugin_load(copy, fake_host, &fake_api, NULL, loaded, 3, &p, err,
			 sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EEXIST);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(api_calls, 0); /* init did not run */

	/* The same file twice: dlopen() shares the mapping; refusing must
	 * not unmap the copy that is in use. */
	snprintf(want, sizeof(want),
		 "plugin %s: a plugin named \"good\" is already loaded from %s",
		 path, path);
	reset_fakes();
	rc = plugin_load(path, fake_host, &fake_api, NULL, loaded, 3, &p, err,
			 sizeof(err));
	CU_ASSERT_EQUAL(rc, NATSD_EEXIST);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(api_calls, 0);
	CU_ASSERT_STRING_EQUAL(plugin_name(good), "good");

	reset_fakes();
	plugin_unload(good);
	CU_ASSERT_STRING_EQUAL(log_buf, "good: fini\n");
	unlink(copy);
}

/* A path without '/' is relative to the working directory, not a name
 * for dlopen() to look up in the library path. */
static void test_relative_path(void)
{
	struct plugin *p = NULL;
	char cwd[1024], err[512];
	int rc;

	CU_ASSERT_FATAL(getcwd(cwd, sizeof(cwd)) != NULL);
	CU_ASSERT_FATAL(chdir(test_dir) == 0);
	rc = plugin_load("good_plugin.so", fake_host, &fake_api, NULL, NULL, 0,
			 &p, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0)
		CU_ASSERT_STRING_EQUAL(plugin_path(p), "good_plugin.so");
	plugin_unload(p);
	CU_ASSERT_FATAL(chdir(cwd) == 0);
}

static void test_small_err_buffer(void)
{
	struct plugin *p = NULL;
	char path[1024], err[24];
	int rc;

	test_path(path, sizeof(path), test_dir, "abi_major.so");
	memset(err, 'x', sizeof(err));
	rc = plugin_load(path, fake_host, &fake_api, NULL, NULL, 0, &p, err,
			 sizeof(err) - 4);
	CU_ASSERT_EQUAL(rc, NATSD_ENOTSUP);
	CU_ASSERT_EQUAL(strlen(err), sizeof(err) - 5);
	CU_ASSERT(strncmp(err, "plugin ", 7) == 0);
	CU_ASSERT_EQUAL(err[sizeof(err) - 1], 'x'); /* no overrun */

	/* No buffer at all is allowed too. */
	rc = plugin_load(path, fake_host, &fake_api, NULL, NULL, 0, &p, NULL,
			 0);
	CU_ASSERT_EQUAL(rc, NATSD_ENOTSUP);
}

static void test_resolve(void)
{
	char path[64], small[12];
	char *saved = getenv("NATSD_PLUGIN_DIR");

	if (saved != NULL)
		saved = strdup(saved);

	CU_ASSERT_EQUAL(plugin_resolve("./x/tcp.so", "/d", path, sizeof(path)),
			0);
	CU_ASSERT_STRING_EQUAL(path, "./x/tcp.so");
	CU_ASSERT_EQUAL(
		plugin_resolve("/abs/auth_nkey", "/d", path, sizeof(path)), 0);
	CU_ASSERT_STRING_EQUAL(path, "/abs/auth_nkey");

	setenv("NATSD_PLUGIN_DIR", "/env/dir", 1);
	CU_ASSERT_EQUAL(plugin_resolve("transport_tcp", "/opt/natsd/", path,
				       sizeof(path)),
			0);
	CU_ASSERT_STRING_EQUAL(path, "/opt/natsd/transport_tcp.so");
	CU_ASSERT_EQUAL(
		plugin_resolve("transport_tcp.so", "/opt", path, sizeof(path)),
		0);
	CU_ASSERT_STRING_EQUAL(path, "/opt/transport_tcp.so");
	CU_ASSERT_EQUAL(plugin_resolve("tls", "/", path, sizeof(path)), 0);
	CU_ASSERT_STRING_EQUAL(path, "/tls.so");
	CU_ASSERT_EQUAL(plugin_resolve("tls", NULL, path, sizeof(path)), 0);
	CU_ASSERT_STRING_EQUAL(path, "/env/dir/tls.so");
	CU_ASSERT_EQUAL(plugin_resolve("tls", "", path, sizeof(path)), 0);
	CU_ASSERT_STRING_EQUAL(path, "/env/dir/tls.so");

	setenv("NATSD_PLUGIN_DIR", "", 1);
	CU_ASSERT_EQUAL(plugin_resolve("tls", NULL, path, sizeof(path)), 0);
	CU_ASSERT_STRING_EQUAL(path, NATSD_PLUGINDIR "/tls.so");
	unsetenv("NATSD_PLUGIN_DIR");
	CU_ASSERT_EQUAL(plugin_resolve("tls", NULL, path, sizeof(path)), 0);
	CU_ASSERT_STRING_EQUAL(path, NATSD_PLUGINDIR "/tls.so");
	/* Not installed, but in .libs beside the binary: a build tree. */
	{
		char exe[4096], lib[4200], got[4300];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;
		FILE *f;

		CU_ASSERT_FATAL(n > 0);
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		CU_ASSERT_FATAL(slash != NULL);
		*slash = '\0';
		snprintf(lib, sizeof(lib), "%s/.libs", exe);
		mkdir(lib, 0755);
		snprintf(lib, sizeof(lib), "%s/.libs/zz_resolve_test.so", exe);
		f = fopen(lib, "w");
		CU_ASSERT_FATAL(f != NULL);
		fclose(f);
		CU_ASSERT_EQUAL(plugin_resolve("zz_resolve_test", NULL, got,
					       sizeof(got)),
				0);
		CU_ASSERT_STRING_EQUAL(got, lib);
		unlink(lib);
		CU_ASSERT_EQUAL(plugin_resolve("zz_resolve_test", NULL, got,
					       sizeof(got)),
				0);
		CU_ASSERT_STRING_EQUAL(got, NATSD_PLUGINDIR
				       "/zz_resolve_test.so");
	}

	CU_ASSERT_EQUAL(plugin_resolve("", "/d", path, sizeof(path)),
			NATSD_EINVAL);
	CU_ASSERT_EQUAL(plugin_resolve(NULL, "/d", path, sizeof(path)),
			NATSD_EINVAL);
	/* "/d/abcdef.so" needs 13 bytes. */
	CU_ASSERT_EQUAL(plugin_resolve("abcdef", "/d", small, sizeof(small)),
			NATSD_ERANGE);
	CU_ASSERT_STRING_EQUAL(small, "");
	CU_ASSERT_EQUAL(plugin_resolve("abcde", "/d", small, sizeof(small)), 0);
	CU_ASSERT_STRING_EQUAL(small, "/d/abcde.so");
	CU_ASSERT_EQUAL(
		plugin_resolve("./abcdefghijk", "/d", small, sizeof(small)),
		NATSD_ERANGE);

	if (saved != NULL) {
		setenv("NATSD_PLUGIN_DIR", saved, 1);
		free(saved);
	}
}

/* The resolved name of a test plugin is what the loader then opens. */
static void test_resolve_then_load(void)
{
	struct plugin *p = NULL;
	char path[1024], err[512];

	CU_ASSERT_EQUAL_FATAL(
		plugin_resolve("good_plugin", test_dir, path, sizeof(path)), 0);
	CU_ASSERT_EQUAL(plugin_load(path, fake_host, &fake_api, NULL, NULL, 0,
				    &p, err, sizeof(err)),
			0);
	CU_ASSERT_PTR_NOT_NULL(p);
	plugin_unload(p);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "resolve", test_resolve },
		{ "missing file", test_missing_file },
		{ "not loadable", test_not_loadable },
		{ "no entry symbol", test_no_entry_symbol },
		{ "bad magic", test_bad_magic },
		{ "ABI major", test_abi_major },
		{ "ABI minor newer than host", test_abi_minor },
		{ "init fails", test_init_fails },
		{ "good plugin lifecycle", test_good_lifecycle },
		{ "duplicate name", test_duplicate },
		{ "relative path", test_relative_path },
		{ "small error buffer", test_small_err_buffer },
		{ "resolve then load", test_resolve_then_load },
	};
	static const struct suite suite = {
		"plugin_loader", NULL, NULL, tests, SUITE_COUNT(tests),
	};
	int rc;

	test_dir = getenv("NATSD_TEST_PLUGIN_DIR");
	if (test_dir == NULL || test_dir[0] == '\0') {
		fprintf(stderr, "NATSD_TEST_PLUGIN_DIR is not set: skipped\n");
		return 77;
	}
	if (mkdtemp(tmp_dir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	rc = suites_run(&suite, 1);
	rmdir(tmp_dir);
	return rc < 0 ? 99 : rc;
}
