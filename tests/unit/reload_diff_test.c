/* Tests for core/reload_diff.c: Go's %v of seconds, the TLS facts a
 * reload compares, the authorization timeout nats-server derives, what
 * is refused with which words, and how many lines a reload logs. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <natsd/error.h>

#include "conffile.h"
#include "log.h"
#include "opts.h"
#include "reload_diff.h"
#include "../suites.h"

#define SEC OPTS_NS_PER_SEC

static void test_seconds(void)
{
	static const struct {
		int64_t ns;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ 2 * SEC, "2" },
		{ 2500000000LL, "2.5" },
		{ 3500000000LL, "3.5" },
		{ 1000000, "0.001" },
		{ 123456789, "0.123456789" },
		{ 100000 * SEC, "100000" },
		{ 1000000 * SEC, "1e+06" },
		{ 2500000 * SEC, "2.5e+06" },
		{ 10000, "1e-05" },
		{ 100000, "0.0001" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reload_diff_seconds(cases[i].ns, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fprintf(stderr, "\n  %lld: %s, want %s\n",
				(long long)cases[i].ns, buf, cases[i].want);
		CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
	}
}

static void *owner;

/* o with the tls block text (NULL: none). */
static void opts_with_tls(struct opts *o, const char *text)
{
	char err[256];

	CU_ASSERT_FATAL(opts_init(o) == 0);
	owner = NULL;
	if (text != NULL)
		CU_ASSERT_FATAL(conffile_from_text(text, &owner, &o->tls, err,
						   sizeof(err)) == 0);
}

static void opts_done(struct opts *o)
{
	if (owner != NULL)
		conffile_text_free(owner);
	owner = NULL;
	opts_fini(o);
}

static void test_tls_read(void)
{
	struct reload_tls t;
	struct opts o;
	char a[65], b[65];

	memset(a, 'a', 64);
	a[64] = '\0';
	memset(b, 'B', 64);
	b[64] = '\0';
	opts_with_tls(&o, NULL);
	CU_ASSERT_EQUAL(reload_tls_read(&o, &t), 0);
	CU_ASSERT_FALSE(t.on);
	CU_ASSERT_EQUAL(t.timeout_ns, 2 * SEC);
	CU_ASSERT_EQUAL(reload_diff_auth_timeout(&o, &t), 2 * SEC);
	reload_tls_fini(&t);
	opts_done(&o);

	{
		char text[512];

		/* Upper and lower case of one pin, another twice. */
		snprintf(text, sizeof(text),
			 "timeout = 2.5; verify_and_map = true; pinned_certs "
			 "= [\"%s\", \"%s\", \"%s\", \"%.64s\"];",
			 b, a, b,
			 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
			 "bbbbbbbbbbbbbbbb");
		opts_with_tls(&o, text);
	}
	CU_ASSERT_EQUAL(reload_tls_read(&o, &t), 0);
	CU_ASSERT(t.on && t.map);
	CU_ASSERT_EQUAL(t.timeout_ns, 2500000000LL);
	CU_ASSERT_EQUAL_FATAL(t.npins, 2);
	CU_ASSERT_STRING_EQUAL(t.pins[0], a);
	CU_ASSERT_EQUAL(t.pins[1][0], 'b');
	/* nats-server's default: the handshake's time and a second. */
	CU_ASSERT_EQUAL(reload_diff_auth_timeout(&o, &t), 3500000000LL);
	o.auth_timeout = 5 * SEC;
	o.auth_timeout_set = true;
	CU_ASSERT_EQUAL(reload_diff_auth_timeout(&o, &t), 5 * SEC);
	reload_tls_fini(&t);

	/* The --tls* flags replace the block: its settings do not count. */
	o.tls_flags = true;
	CU_ASSERT_EQUAL(reload_tls_read(&o, &t), 0);
	CU_ASSERT(t.on && !t.map);
	CU_ASSERT_EQUAL(t.npins, 0);
	CU_ASSERT_EQUAL(t.timeout_ns, 2 * SEC);
	reload_tls_fini(&t);
	opts_done(&o);
}

static bool refused(const struct opts *a, const struct opts *b,
		    const struct reload_tls *ta, const struct reload_tls *tb,
		    const char *want)
{
	char err[256] = "";
	bool r = reload_diff_refused(a, b, ta, tb, true, err, sizeof(err)) ||
		 reload_diff_refused(a, b, ta, tb, false, err, sizeof(err));

	if (want == NULL)
		return !r;
	if (!r || strcmp(err, want) != 0)
		fprintf(stderr, "\n  got \"%s\", want \"%s\"\n", err, want);
	return r && strcmp(err, want) == 0;
}

static void test_refused(void)
{
	struct reload_tls ta = { 0 }, tb = { 0 };
	struct opts a, b;

	CU_ASSERT_FATAL(opts_init(&a) == 0);
	CU_ASSERT_FATAL(opts_init(&b) == 0);
	CU_ASSERT(refused(&a, &b, &ta, &tb, NULL));

	b.no_auth_user = strdup("u");
	CU_ASSERT(refused(&a, &b, &ta, &tb,
			  "config reload not supported for NoAuthUser: "
			  "old=, new=u"));
	/* It may go once its user has gone. */
	CU_ASSERT(refused(&b, &a, &ta, &tb, NULL));
	{
		struct opts_user *u = opts_user_add(&a);

		CU_ASSERT_PTR_NOT_NULL_FATAL(u);
		u->user = strdup("u");
	}
	CU_ASSERT(refused(&b, &a, &ta, &tb,
			  "config reload not supported for NoAuthUser: "
			  "old=u, new="));
	opts_fini(&a);
	opts_fini(&b);
	CU_ASSERT_FATAL(opts_init(&a) == 0);
	CU_ASSERT_FATAL(opts_init(&b) == 0);

	b.system_account = strdup("SYS2");
	CU_ASSERT(refused(&a, &b, &ta, &tb,
			  "config reload not supported for SystemAccount: "
			  "old=, new=SYS2"));
	free(b.system_account);
	b.system_account = NULL;
	a.system_account = strdup("$SYS");
	CU_ASSERT(refused(&a, &b, &ta, &tb, NULL));
	free(a.system_account);
	a.system_account = NULL;

	b.log_size_limit = 5000;
	CU_ASSERT(refused(&a, &b, &ta, &tb,
			  "config reload not supported for LogSizeLimit: "
			  "old=0, new=5000"));
	b.log_size_limit = 0;
	tb.map = true;
	CU_ASSERT(refused(&a, &b, &ta, &tb,
			  "config reload not supported for TLSMap: "
			  "old=false, new=true"));
	tb.map = false;
	tb.allow_non_tls = true;
	CU_ASSERT(refused(&a, &b, &ta, &tb,
			  "config reload not supported for AllowNonTLS: "
			  "old=false, new=true"));
	tb.allow_non_tls = false;
	/* The first in nats-server's order is named. */
	b.max_pending = a.max_pending + 1;
	b.no_header_support = true;
	CU_ASSERT(refused(&a, &b, &ta, &tb,
			  "config reload not supported for NoHeaderSupport: "
			  "old=false, new=true"));
	opts_fini(&a);
	opts_fini(&b);
}

static void test_log_count(void)
{
	struct reload_tls ta = { 0 }, tb = { 0 };
	struct opts a, b;

	CU_ASSERT_FATAL(opts_init(&a) == 0);
	CU_ASSERT_FATAL(opts_init(&b) == 0);
	/* Users and accounts, always. */
	CU_ASSERT_EQUAL(reload_diff_log(&a, &b, &ta, &tb), 2);
	/* TLS on: "tls = enabled" and the authorization timeout (3s). */
	tb.on = true;
	tb.timeout_ns = ta.timeout_ns = 2 * SEC;
	CU_ASSERT_EQUAL(reload_diff_log(&a, &b, &ta, &tb), 4);
	/* Still on, a new timeout: tls timeout, authorization timeout. */
	ta.on = true;
	tb.timeout_ns = 3 * SEC;
	CU_ASSERT_EQUAL(reload_diff_log(&a, &b, &ta, &tb), 5);
	b.ping_max = a.ping_max + 1;
	b.debug = true;
	CU_ASSERT_EQUAL(reload_diff_log(&a, &b, &ta, &tb), 7);
	opts_fini(&a);
	opts_fini(&b);
}

int main(void)
{
	static const struct suite_test tests[] = {
		{ "seconds as Go prints them", test_seconds },
		{ "TLS facts", test_tls_read },
		{ "refused", test_refused },
		{ "lines logged", test_log_count },
	};
	static const struct suite suite = {
		"reload_diff", NULL, NULL, tests, SUITE_COUNT(tests),
	};

	return suites_run(&suite, 1) == 0 ? 0 : 1;
}
