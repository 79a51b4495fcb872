/* The command line, parsed the way Go's flag package parses nats-server's.
 *
 * Scripts and test suites written for nats-server drive natsd unchanged,
 * so the corner cases follow Go, not getopt: one or two dashes, no
 * bundling (-DV is a flag of its own), "-x=false" for booleans, a value
 * may start with '-', parsing stops at the first non-flag. Numbers are
 * read like Go's strconv.ParseInt(s, 0, 64): "0x10", "0o17", "1_000".
 *
 * Options are kept as an ordered list of overrides rather than applied at
 * once, because they must be applied again on top of a reloaded file.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <natsd/error.h>

#include "cli.h"
#include "conffile.h"
#include "opts.h"

enum flag_type {
	FT_BOOL,
	FT_STR,
	FT_INT,	 /* an int in [min, max] */
	FT_SIZE, /* an int64 count of bytes; units allowed */
};

enum cli_opt {
	CO_HOST,
	CO_PORT,
	CO_SERVER_NAME,
	CO_PID_FILE,
	CO_HTTP_PORT,
	CO_HTTPS_PORT,
	CO_CLIENT_ADVERTISE,
	CO_PORTS_FILE_DIR,
	CO_LOG_FILE,
	CO_LOGTIME,
	CO_SYSLOG,
	CO_REMOTE_SYSLOG,
	CO_DEBUG,
	CO_TRACE,
	CO_TRACE_VERBOSE,       /* -VV */
	CO_DEBUG_TRACE,         /* -DV */
	CO_DEBUG_TRACE_VERBOSE, /* -DVV */
	CO_LOG_SIZE_LIMIT,
	CO_MAX_TRACED_MSG_LEN,
	CO_USER,
	CO_PASS,
	CO_AUTH,
	CO_PLUGIN_DIR,
	CO_IO_THREADS,
	CO_CHECK,
	/* TLS on the client port; any of them turns it on. */
	CO_TLS,
	CO_TLS_CERT,
	CO_TLS_KEY,
	CO_TLS_VERIFY,
	CO_TLS_CA,
	/* Actions, kept in struct cli rather than as overrides. */
	CO_CONFIG,
	CO_SIGNAL,
	CO_HELP,
	CO_VERSION,
	/* nats-server flags for features natsd does not have yet. */
	CO_LATER,
};

struct flag_def {
	const char *name;
	enum flag_type type;
	enum cli_opt opt;
	int64_t min, max; /* FT_INT */
};

#define F_PORT(n, o) { (n), FT_INT, (o), -1, 65535 }
#define F_STR(n, o)  { (n), FT_STR, (o), 0, 0 }
#define F_BOOL(n, o) { (n), FT_BOOL, (o), 0, 0 }
#define F_LATER(n)   { (n), FT_STR, CO_LATER, 0, 0 }

static const struct flag_def flags[] = {
	F_STR("a", CO_HOST),
	F_STR("addr", CO_HOST),
	F_STR("net", CO_HOST),
	F_PORT("p", CO_PORT),
	F_PORT("port", CO_PORT),
	F_STR("n", CO_SERVER_NAME),
	F_STR("name", CO_SERVER_NAME),
	F_STR("server_name", CO_SERVER_NAME),
	F_STR("P", CO_PID_FILE),
	F_STR("pid", CO_PID_FILE),
	F_PORT("m", CO_HTTP_PORT),
	F_PORT("http_port", CO_HTTP_PORT),
	F_PORT("ms", CO_HTTPS_PORT),
	F_PORT("https_port", CO_HTTPS_PORT),
	F_STR("c", CO_CONFIG),
	F_STR("config", CO_CONFIG),
	F_BOOL("t", CO_CHECK),
	F_STR("sl", CO_SIGNAL),
	F_STR("signal", CO_SIGNAL),
	F_STR("client_advertise", CO_CLIENT_ADVERTISE),
	F_STR("ports_file_dir", CO_PORTS_FILE_DIR),
	F_STR("l", CO_LOG_FILE),
	F_STR("log", CO_LOG_FILE),
	F_BOOL("T", CO_LOGTIME),
	F_BOOL("logtime", CO_LOGTIME),
	F_BOOL("s", CO_SYSLOG),
	F_BOOL("syslog", CO_SYSLOG),
	F_STR("r", CO_REMOTE_SYSLOG),
	F_STR("remote_syslog", CO_REMOTE_SYSLOG),
	F_BOOL("D", CO_DEBUG),
	F_BOOL("debug", CO_DEBUG),
	F_BOOL("V", CO_TRACE),
	F_BOOL("trace", CO_TRACE),
	F_BOOL("VV", CO_TRACE_VERBOSE),
	F_BOOL("DV", CO_DEBUG_TRACE),
	F_BOOL("DVV", CO_DEBUG_TRACE_VERBOSE),
	{ "log_size_limit", FT_SIZE, CO_LOG_SIZE_LIMIT, 0, INT64_MAX },
	{ "max_traced_msg_len", FT_INT, CO_MAX_TRACED_MSG_LEN, 0, INT_MAX },
	F_STR("user", CO_USER),
	F_STR("pass", CO_PASS),
	F_STR("auth", CO_AUTH),
	F_BOOL("h", CO_HELP),
	F_BOOL("help", CO_HELP),
	F_BOOL("v", CO_VERSION),
	F_BOOL("version", CO_VERSION),
	F_STR("plugin-dir", CO_PLUGIN_DIR),
	F_STR("plugin_dir", CO_PLUGIN_DIR),
	{ "io_threads", FT_INT, CO_IO_THREADS, 0, OPTS_MAX_IO_THREADS },
	{ "io-threads", FT_INT, CO_IO_THREADS, 0, OPTS_MAX_IO_THREADS },

	F_LATER("js"),
	F_LATER("jetstream"),
	F_LATER("sd"),
	F_BOOL("tls", CO_TLS),
	F_STR("tlscert", CO_TLS_CERT),
	F_STR("tlskey", CO_TLS_KEY),
	F_BOOL("tlsverify", CO_TLS_VERIFY),
	F_STR("tlscacert", CO_TLS_CA),

	F_LATER("store_dir"),
	F_LATER("help_tls"),
	F_LATER("routes"),
	F_LATER("cluster"),
	F_LATER("cluster_name"),
	F_LATER("no_advertise"),
	F_LATER("cluster_advertise"),
	F_LATER("connect_retries"),
	F_LATER("cluster_listen"),
	F_LATER("profile"),
};

struct cli_override {
	enum cli_opt opt;
	bool b;
	int64_t i;
	char *s;
};

struct cli {
	char *config_file;
	char *signal;
	bool help;
	bool version;
	bool check;
	struct cli_override *ov;
	size_t nov;
};

/* ------------------------------------------------------------------ */
/* Go's value syntax                                                   */

/* Go's strconv.ParseBool. */
static int go_parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true",
					   "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false",
					  "False" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*v = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*v = false;
			return 0;
		}
	}
	return NATSD_EINVAL;
}

/* Go's rule for '_' in base-0 literals: only between digits, or between
 * the base prefix and a digit. */
static bool go_underscores_ok(const char *s)
{
	char saw = '^'; /* ^ start, 0 digit or prefix, _ underscore, ! other */
	bool hex = false;
	size_t i = 0;

	if (s[0] == '0' && s[1] != '\0' &&
	    strchr("bBoOxX", s[1]) != NULL) {
		i = 2;
		saw = '0';
		hex = s[1] == 'x' || s[1] == 'X';
	}
	for (; s[i] != '\0'; i++) {
		if (isdigit((unsigned char)s[i]) ||
		    (hex && isxdigit((unsigned char)s[i]))) {
			saw = '0';
			continue;
		}
		if (s[i] == '_') {
			if (saw != '0')
				return false;
			saw = '_';
			continue;
		}
		if (saw == '_')
			return false;
		saw = '!';
	}
	return saw != '_';
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* Go's strconv.ParseInt(s, 0, 64): 0, NATSD_EINVAL ("parse error") or
 * NATSD_ERANGE ("value out of range"). */
static int go_parse_int(const char *s, int64_t *v)
{
	const char *body, *p;
	uint64_t n = 0, lim;
	bool neg = false, unders = false;
	int base = 10, d;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (*s == '\0')
		return NATSD_EINVAL;
	body = s;
	if (s[0] == '0') {
		if (strlen(s) >= 3 && (s[1] == 'b' || s[1] == 'B')) {
			base = 2;
			s += 2;
		} else if (strlen(s) >= 3 && (s[1] == 'o' || s[1] == 'O')) {
			base = 8;
			s += 2;
		} else if (strlen(s) >= 3 && (s[1] == 'x' || s[1] == 'X')) {
			base = 16;
			s += 2;
		} else {
			base = 8;
			s++;
		}
	}
	lim = neg ? (1ULL << 63) : (uint64_t)INT64_MAX;
	for (p = s; *p != '\0'; p++) {
		if (*p == '_') {
			unders = true;
			continue;
		}
		d = digit_value(*p);
		if (d >= base)
			return NATSD_EINVAL;
		if (n > (lim - (uint64_t)d) / (uint64_t)base) {
			/* Go reports a syntax error before a range one. */
			for (p++; *p != '\0'; p++)
				if (*p != '_' && digit_value(*p) >= base)
					return NATSD_EINVAL;
			return NATSD_ERANGE;
		}
		n = n * (uint64_t)base + (uint64_t)d;
	}
	if (unders && !go_underscores_ok(body))
		return NATSD_EINVAL;
	*v = neg ? (n == (1ULL << 63) ? INT64_MIN : -(int64_t)n) : (int64_t)n;
	return 0;
}

/* Go's %q, enough for messages about command line arguments. */
static void go_quote(const char *s, char *buf, size_t len)
{
	size_t off = 0;
	const char *esc;
	char tmp[8];

	if (len < 3) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	buf[off++] = '"';
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\r':
			esc = "\\r";
			break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\x%02x",
					 (unsigned char)*s);
			} else {
				tmp[0] = *s;
				tmp[1] = '\0';
			}
			esc = tmp;
			break;
		}
		if (off + strlen(esc) + 2 > len)
			break;
		memcpy(buf + off, esc, strlen(esc));
		off += strlen(esc);
	}
	buf[off++] = '"';
	buf[off] = '\0';
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const struct flag_def *flag_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strlen(flags[i].name) == len &&
		    memcmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

static int add_override(struct cli *c, const struct cli_override *ov)
{
	struct cli_override *v;

	v = realloc(c->ov, (c->nov + 1) * sizeof(*v));
	if (v == NULL)
		return NATSD_ENOMEM;
	c->ov = v;
	c->ov[c->nov++] = *ov;
	return 0;
}

static int bad_value(const struct flag_def *f, const char *value, int rc,
		     char *err, size_t errlen)
{
	char q[256];

	go_quote(value, q, sizeof(q));
	return fail(err, errlen, NATSD_EINVAL, "invalid value %s for flag -%s: "
		    "%s", q, f->name,
		    rc == NATSD_ERANGE ? "value out of range" : "parse error");
}

/* Converts value to the flag's type into ov. */
static int parse_value(const struct flag_def *f, const char *value,
		       struct cli_override *ov, char *err, size_t errlen)
{
	int rc;

	switch (f->type) {
	case FT_BOOL:
		if (go_parse_bool(value, &ov->b) != 0) {
			char q[256];

			go_quote(value, q, sizeof(q));
			return fail(err, errlen, NATSD_EINVAL,
				    "invalid boolean value %s for -%s: "
				    "parse error", q, f->name);
		}
		return 0;
	case FT_STR:
		ov->s = strdup(value);
		return ov->s == NULL ? NATSD_ENOMEM : 0;
	case FT_INT:
		rc = go_parse_int(value, &ov->i);
		if (rc == 0 && (ov->i < f->min || ov->i > f->max))
			rc = NATSD_ERANGE;
		break;
	case FT_SIZE:
		/* nats-server takes bytes only; natsd also takes "10MB". */
		rc = go_parse_int(value, &ov->i);
		if (rc == NATSD_EINVAL)
			rc = conffile_parse_size(value, &ov->i);
		if (rc == 0 && ov->i < 0)
			rc = NATSD_ERANGE;
		break;
	default:
		rc = NATSD_EINVAL;
		break;
	}
	if (rc != 0)
		return bad_value(f, value, rc, err, errlen);
	return 0;
}

static void replace(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

/* Records one parsed flag: an action in c, or an override. */
static int record(struct cli *c, const struct flag_def *f,
		  struct cli_override *ov)
{
	switch (f->opt) {
	case CO_CONFIG:
		/* -c "" is no file, as in nats-server. */
		if (ov->s[0] == '\0') {
			free(ov->s);
			ov->s = NULL;
		}
		replace(&c->config_file, ov->s);
		return 0;
	case CO_SIGNAL:
		replace(&c->signal, ov->s);
		return 0;
	case CO_HELP:
		c->help = ov->b;
		return 0;
	case CO_VERSION:
		c->version = ov->b;
		return 0;
	case CO_CHECK:
		c->check = ov->b;
		break;
	default:
		break;
	}
	if (add_override(c, ov) != 0) {
		free(ov->s);
		return NATSD_ENOMEM;
	}
	return 0;
}

/* Parses the flag at argv[*i] (Go's FlagSet.parseOne). Returns 1 when
 * argv[*i] ends the flags (*i then points at the first argument left,
 * past a "--"), 0 when a flag was parsed, or a negative code. */
static int parse_one(struct cli *c, int argc, char **argv, int *i,
		     char *err, size_t errlen)
{
	const struct flag_def *f;
	struct cli_override ov;
	const char *s = argv[*i], *name, *value = NULL;
	size_t nlen;
	int dashes = 1, rc;

	if (strlen(s) < 2 || s[0] != '-')
		return 1;
	if (s[1] == '-') {
		dashes = 2;
		if (s[2] == '\0') {
			(*i)++;
			return 1;
		}
	}
	name = s + dashes;
	if (name[0] == '-' || name[0] == '=')
		return fail(err, errlen, NATSD_EINVAL, "bad flag syntax: %s",
			    s);
	nlen = strcspn(name, "=");
	if (name[nlen] == '=')
		value = name + nlen + 1;
	(*i)++;
	f = flag_find(name, nlen);
	if (f == NULL)
		return fail(err, errlen, NATSD_EINVAL, "flag provided but not "
			    "defined: -%.*s", (int)nlen, name);
	if (f->opt == CO_LATER)
		return fail(err, errlen, NATSD_ENOTSUP, "flag -%s is not "
			    "supported yet", f->name);
	memset(&ov, 0, sizeof(ov));
	ov.opt = f->opt;
	if (f->type == FT_BOOL && value == NULL) {
		ov.b = true;
	} else {
		if (value == NULL && *i < argc)
			value = argv[(*i)++];
		if (value == NULL)
			return fail(err, errlen, NATSD_EINVAL, "flag needs an "
				    "argument: -%s", f->name);
		rc = parse_value(f, value, &ov, err, errlen);
		if (rc != 0)
			return rc;
	}
	return record(c, f, &ov);
}

/* What nats-server does with the arguments left after the flags. */
static int parse_rest(struct cli *c, int argc, char **argv, int i,
		      char *err, size_t errlen)
{
	char q[256];

	/* The flags win: nats-server looks at them first. */
	if (c->version) {
		c->help = false;
		return 0;
	}
	if (c->help)
		return 0;
	if (i < argc) {
		if (strcasecmp(argv[i], "version") == 0) {
			c->version = true;
			return 0;
		}
		if (strcasecmp(argv[i], "help") == 0) {
			c->help = true;
			return 0;
		}
		go_quote(argv[i], q, sizeof(q));
		return fail(err, errlen, NATSD_ENOENT,
			    "unrecognized command: %s", q);
	}
	if (c->check && c->config_file == NULL && c->signal == NULL)
		return fail(err, errlen, NATSD_EPERM, "must specify [-c, "
			    "--config] option to check configuration file "
			    "syntax");
	return 0;
}

int cli_parse(int argc, char **argv, struct cli **out, char *err,
	      size_t errlen)
{
	struct cli *c;
	int i = 1, rc = 0;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return fail(err, errlen, NATSD_ENOMEM, "out of memory");
	while (i < argc) {
		rc = parse_one(c, argc, argv, &i, err, errlen);
		if (rc != 0)
			break;
	}
	if (rc == NATSD_ENOMEM)
		fail(err, errlen, rc, "out of memory");
	if (rc >= 0)
		rc = parse_rest(c, argc, argv, i, err, errlen);
	if (rc != 0) {
		cli_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void cli_free(struct cli *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nov; i++) {
		if (c->ov[i].s != NULL &&
		    (c->ov[i].opt == CO_PASS || c->ov[i].opt == CO_AUTH))
			explicit_bzero(c->ov[i].s, strlen(c->ov[i].s));
		free(c->ov[i].s);
	}
	free(c->ov);
	free(c->config_file);
	free(c->signal);
	free(c);
}

int cli_report_error(int rc, const char *err, FILE *out, FILE *errf)
{
	if (rc == NATSD_EINVAL) {
		fprintf(errf, "%s\n", err);
		cli_usage(out);
		return 0;
	}
	fprintf(errf, "natsd: %s\n", err);
	return rc == NATSD_ENOTSUP ? 2 : 1;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

const char *cli_config_file(const struct cli *c)
{
	return c->config_file;
}

bool cli_want_help(const struct cli *c)
{
	return c->help;
}

bool cli_want_version(const struct cli *c)
{
	return c->version;
}

bool cli_check_config(const struct cli *c)
{
	return c->check;
}

const char *cli_signal(const struct cli *c)
{
	return c->signal;
}

/* The string option an override sets, or NULL when it is not one. */
static char **str_field(enum cli_opt opt, struct opts *o)
{
	switch (opt) {
	case CO_SERVER_NAME:
		return &o->server_name;
	case CO_PID_FILE:
		return &o->pid_file;
	case CO_CLIENT_ADVERTISE:
		return &o->client_advertise;
	case CO_PORTS_FILE_DIR:
		return &o->ports_file_dir;
	case CO_LOG_FILE:
		return &o->log_file;
	case CO_REMOTE_SYSLOG:
		return &o->remote_syslog;
	case CO_USER:
		return &o->user;
	case CO_PASS:
		return &o->password;
	case CO_AUTH:
		return &o->token;
	case CO_PLUGIN_DIR:
		return &o->plugin_dir;
	case CO_TLS_CERT:
		return &o->tls_cert;
	case CO_TLS_KEY:
		return &o->tls_key;
	case CO_TLS_CA:
		return &o->tls_ca;
	default:
		return NULL;
	}
}

/* The numeric and boolean overrides. */
static void apply_value(const struct cli_override *ov, struct opts *o)
{
	switch (ov->opt) {
	case CO_PORT:
		/* As in nats-server, 0 is the default port, -1 a random one. */
		o->port = ov->i == 0 ? OPTS_DEFAULT_PORT : (int)ov->i;
		break;
	case CO_HTTP_PORT:
		o->http_port = (int)ov->i;
		break;
	case CO_HTTPS_PORT:
		o->https_port = (int)ov->i;
		break;
	case CO_LOGTIME:
		o->logtime = ov->b;
		break;
	case CO_SYSLOG:
		o->syslog = ov->b;
		break;
	case CO_DEBUG:
		o->debug = ov->b;
		break;
	case CO_TRACE:
		o->trace = ov->b;
		break;
	/* The combined flags only switch on, as in nats-server, where
	 * -DV=false leaves -D and -V alone. */
	case CO_TRACE_VERBOSE:
		if (ov->b)
			o->trace = o->trace_verbose = true;
		break;
	case CO_DEBUG_TRACE:
		if (ov->b)
			o->debug = o->trace = true;
		break;
	case CO_DEBUG_TRACE_VERBOSE:
		if (ov->b)
			o->debug = o->trace = o->trace_verbose = true;
		break;
	case CO_LOG_SIZE_LIMIT:
		o->log_size_limit = ov->i;
		break;
	case CO_MAX_TRACED_MSG_LEN:
		o->max_traced_msg_len = (int)ov->i;
		break;
	case CO_IO_THREADS:
		o->io_threads = (int)ov->i;
		break;
	case CO_CHECK:
		o->check_config = ov->b;
		break;
	case CO_TLS_VERIFY:
		o->tls_verify_flag = ov->b;
		break;
	default:
		break;
	}
}

int cli_apply(const struct cli *c, struct opts *o)
{
	const struct cli_override *ov;
	char **field;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->nov && rc == 0; i++) {
		ov = &c->ov[i];
		/* As in nats-server, any TLS flag, even --tls=false, means
		 * the flags make the TLS settings. */
		if (ov->opt >= CO_TLS && ov->opt <= CO_TLS_CA)
			o->tls_flags = true;
		field = str_field(ov->opt, o);
		/* An empty string unsets, as "" is nats-server's unset. */
		if (field != NULL)
			rc = opts_set_str(field, ov->s[0] != '\0' ? ov->s
								   : NULL);
		else if (ov->opt == CO_HOST)
			rc = opts_set_str(&o->host,
					  ov->s[0] != '\0' ? ov->s
							   : OPTS_DEFAULT_HOST);
		else
			apply_value(ov, o);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Help                                                                */

#ifdef NATSD_PLUGINDIR
#define PLUGIN_DIR_DEFAULT NATSD_PLUGINDIR
#else
#define PLUGIN_DIR_DEFAULT "compiled in"
#endif

static const char usage_text[] =
	"\n"
	"Usage: natsd [options]\n"
	"\n"
	"Server Options:\n"
	"    -a, --addr, --net <host>         Bind to host address (default: "
	"0.0.0.0)\n"
	"    -p, --port <port>                Use port for clients (default: "
	"4222)\n"
	"    -n, --name\n"
	"        --server_name <server_name>  Server name (default: auto)\n"
	"    -P, --pid <file>                 File to store PID\n"
	"    -m, --http_port <port>           Use port for http monitoring\n"
	"    -ms,--https_port <port>          Use port for https monitoring\n"
	"    -c, --config <file>              Configuration file\n"
	"    -t                               Test configuration and exit\n"
	"    -sl,--signal <signal>[=<pid>]    Send signal to natsd process "
	"(ldm, stop, quit, term, reopen, reload)\n"
	"                                     <pid> can be either a PID (e.g. "
	"1) or the path to a PID file (e.g. /var/run/natsd.pid)\n"
	"        --client_advertise <string>  Client URL to advertise to other "
	"servers\n"
	"        --ports_file_dir <dir>       Creates a ports file in the "
	"specified directory (<executable_name>_<pid>.ports).\n"
	"\n"
	"Logging Options:\n"
	"    -l, --log <file>                 File to redirect log output\n"
	"    -T, --logtime                    Timestamp log entries (default: "
	"true)\n"
	"    -s, --syslog                     Log to syslog or windows event "
	"log\n"
	"    -r, --remote_syslog <addr>       Syslog server addr "
	"(udp://localhost:514)\n"
	"    -D, --debug                      Enable debugging output\n"
	"    -V, --trace                      Trace the raw protocol\n"
	"    -VV                              Verbose trace (traces system "
	"account as well)\n"
	"    -DV                              Debug and trace\n"
	"    -DVV                             Debug and verbose trace (traces "
	"system account as well)\n"
	"        --log_size_limit <limit>     Logfile size limit (default: "
	"auto)\n"
	"        --max_traced_msg_len <len>   Maximum printable length for "
	"traced messages (default: unlimited)\n"
	"\n"
	"Authorization Options:\n"
	"        --user <user>                User required for connections\n"
	"        --pass <password>            Password required for "
	"connections\n"
	"        --auth <token>               Authorization token required for "
	"connections\n"
	"\n"
	"TLS Options:\n"
	"        --tls                        Enable TLS, do not verify "
	"clients (default: false)\n"
	"        --tlscert <file>             Server certificate file\n"
	"        --tlskey <file>              Private key for server "
	"certificate\n"
	"        --tlsverify                  Enable TLS, verify client "
	"certificates\n"
	"        --tlscacert <file>           Client certificate CA for "
	"verification\n"
	"\n"
	"Plugin Options:\n"
	"        --plugin-dir <dir>           Directory plugins are loaded "
	"from\n"
	"                                     (default: $NATSD_PLUGIN_DIR, "
	"else " PLUGIN_DIR_DEFAULT ")\n"
	"        --io_threads <number>        I/O threads (default: one per "
	"core)\n"
	"\n"
	"Common Options:\n"
	"    -h, --help                       Show this message\n"
	"    -v, --version                    Show version\n"
	"\n"
	"nats-server's JetStream, cluster and profiling options are not "
	"supported yet.\n"
	"\n";

void cli_usage(FILE *f)
{
	fputs(usage_text, f);
}
