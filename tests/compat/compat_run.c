#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * compat_run: runs protocol scripts against nats-server and natsd and
 * compares what each connection received.
 *
 * Usage: compat_run [-v] [--only nats-server|natsd] [--ignore-info-key K]
 *                   SCRIPT...
 *
 * Each script runs against a fresh nats-server and a fresh natsd (started
 * by the harness on free loopback ports, the two sides in parallel
 * threads). Every step that observes something (connect, recv, recvset,
 * closed) appends a record; the two record lists are normalised and compared. A
 * script prints "ok <script>" or "FAIL <script>" followed by the two
 * transcripts side by side. The last line is "N passed, N failed". Exit
 * status: 0 all passed, 1 a script failed, 77 nats-server is missing, 99
 * usage or script error, or natsd missing.
 *
 *   -v               print the transcripts of passing scripts too, and
 *                    the tail of each server's log on stderr
 *   --only KIND      run against one server only and print its transcript
 *                    (for writing scripts); passes unless the run failed
 *   --ignore-info-key K   drop INFO key K before comparing (repeatable)
 *
 * Environment: NATSD_BIN, NATS_SERVER_BIN, TMPDIR, NATSD_TEST_KEEP as in
 * tests/harness.h. COMPAT_NATSD_CONF=nats makes the natsd side use the
 * nats-conf lines; that is the default when NATSD_BIN names a
 * nats-server binary, so `NATSD_BIN=$(command -v nats-server)` checks
 * that a script is deterministic.
 *
 * Script format: one directive or step per line. Blank lines and lines
 * starting with '#' are ignored; "# title: TEXT" names the script.
 *
 *   args: WORDS          extra command-line words for both servers, split
 *                        at spaces (repeatable, appended in order)
 *   natsd-conf: LINE     a line of natsd's config file (libconfig syntax)
 *   nats-conf: LINE      a line of nats-server's config file
 *                        (both repeatable; a server without lines gets no -c)
 *
 *   connect C            open connection C (a name: letters, digits, _) and
 *                        read its first line; records it (normally INFO)
 *   send C TEXT          write TEXT (the rest of the line) to C; escapes
 *                        \r \n \t \\ \xNN; records nothing (a write to a
 *                        closed peer is not an error: timing decides it)
 *   recv C               read from C: wait up to 2 s for the first byte,
 *                        then stop when the data ends with "PONG\r\n", the
 *                        peer closes, 150 ms pass without data, or 3 s in
 *                        all; records the bytes. Send a PING before a recv
 *                        whose answer may be empty: the PONG ends it early
 *                        and makes "nothing else arrived" exact.
 *   recvset C...         recv from each C in turn, then record the frames
 *                        of all of them (a MSG or HMSG with its payload, or
 *                        a line) sorted, PONGs left out: what a group of
 *                        connections got, not which one got what nor in
 *                        which order (queue groups; several sids matching
 *                        one message, whose order nats-server leaves to
 *                        its map iteration)
 *   closed C [MS]        read from C until the peer closes or MS (default
 *                        1000, at most 10000) pass; records the bytes and
 *                        "<closed>" or "<open>"
 *   close C              close C from our side; records nothing
 *   wait MS              sleep MS milliseconds (at most 10000)
 *
 * Normalisation: every line of received data that starts with "INFO {" is
 * parsed as JSON (jansson). Values of keys that differ per run or per
 * implementation (server_id, server_name, nonce, version, go, host, port,
 * client_id, client_ip) become "<type>", connect_urls becomes
 * "<N urls>", git_commit and --ignore-info-key keys are dropped, and the
 * object is printed with sorted keys: so the key set, the value types and
 * every other value (proto, headers, max_payload, auth_required,
 * tls_required, ldm, ...) must agree. Everything else, including the text
 * around the JSON ("INFO " and " \r\n"), is compared byte for byte.
 *
 * The runner also fails a side whose server exits during the script or
 * whose log shows an AddressSanitizer, LeakSanitizer or UBSan report (the
 * log is read after SIGTERM, once the process has exited).
 *
 * Why records are cut at a PONG and not by time alone: a server answers a
 * PING only after everything the connection's earlier operations caused
 * on that connection, and a message published by one connection is queued
 * for its subscribers before the publisher's PONG. So a script that PINGs
 * before each recv cuts the byte stream at the same places on both servers
 * whatever their speed; the 150 ms quiet rule is only for answers that
 * end in a close. Only the order of deliveries is not pinned down where
 * the protocol leaves it open, hence recvset.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"

#define MAX_CONNS         16
#define MAX_NAME          32
#define MAX_IGNORED       16
#define INFO_WAIT_MS      2000
#define RECV_FIRST_MS     2000
#define RECV_QUIET_MS     150
#define RECV_TOTAL_MS     3000
#define CLOSED_DEFAULT_MS 1000
#define MAX_STEP_MS       10000
#define READ_CAP          (256 * 1024)
#define COL_WIDTH         60

enum step_kind {
	STEP_CONNECT = 1,
	STEP_SEND,
	STEP_RECV,
	STEP_RECVSET,
	STEP_CLOSED,
	STEP_CLOSE,
	STEP_WAIT,
};

struct step {
	enum step_kind kind;
	int line;
	int conn;           /* index into script.names */
	int set[MAX_CONNS]; /* recvset: the connections */
	int nset;
	char *data; /* send: unescaped bytes */
	size_t len;
	int ms;
};

struct script {
	const char *path;
	char *title;
	char **args; /* NULL-terminated */
	size_t nargs;
	char *natsd_conf; /* NULL when there are no lines */
	char *nats_conf;
	char names[MAX_CONNS][MAX_NAME];
	int nconns;
	struct step *steps;
	size_t nsteps;
};

/* A growing byte string, kept NUL-terminated; it may hold NULs itself. */
struct buf {
	char *p;
	size_t len, cap;
};

struct record {
	int line;
	struct buf text; /* normalised */
};

struct conn {
	int fd;        /* -1 when not open */
	bool eof;      /* the peer closed */
	char *pending; /* read but not yet recorded */
	size_t npending;
};

struct side {
	const char *kind; /* "nats-server" or "natsd" */
	bool nats_conf;   /* use the nats-conf lines */
	const struct script *sc;
	struct hserver srv;
	struct conn conns[MAX_CONNS];
	struct record *recs;
	size_t nrecs;
	char err[512]; /* non-empty: the run itself failed */
};

static bool opt_verbose;
static const char *opt_ignored[MAX_IGNORED];
static int opt_nignored;

static const char *const masked_keys[] = {
	"server_id", "server_name", "nonce",     "version",   "go",
	"host",      "port",        "client_id", "client_ip",
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n != 0 ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "compat_run: out of memory\n");
		exit(99);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n != 0 ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "compat_run: out of memory\n");
		exit(99);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* ---- script parsing ---------------------------------------------------- */

static int script_error(const struct script *sc, int line, const char *msg)
{
	fprintf(stderr, "%s:%d: %s\n", sc->path, line, msg);
	return -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes the escapes of a send line into *out (malloc'd). Returns the
 * length, or -1 for a bad escape. */
static ssize_t unescape(const char *s, char **out)
{
	char *o = xmalloc(strlen(s) + 1);
	size_t n = 0;
	int hi, lo;

	while (*s != '\0') {
		if (*s != '\\') {
			o[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r':
			o[n++] = '\r';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case '\\':
			o[n++] = '\\';
			break;
		case 'x':
			hi = hexval((unsigned char)s[1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
			if (lo < 0)
				goto bad;
			o[n++] = (char)(hi * 16 + lo);
			s += 2;
			break;
		default:
			goto bad;
		}
		s++;
	}
	o[n] = '\0';
	*out = o;
	return (ssize_t)n;
bad:
	free(o);
	return -1;
}

/* Appends line + "\n" to *conf. */
static void append_line(char **conf, const char *line)
{
	size_t old = *conf != NULL ? strlen(*conf) : 0;
	size_t add = strlen(line);

	*conf = xrealloc(*conf, old + add + 2);
	memcpy(*conf + old, line, add);
	(*conf)[old + add] = '\n';
	(*conf)[old + add + 1] = '\0';
}

static void append_args(struct script *sc, char *words)
{
	char *w = words, *end;

	for (;;) {
		while (*w == ' ' || *w == '\t')
			w++;
		if (*w == '\0')
			break;
		end = w;
		while (*end != '\0' && *end != ' ' && *end != '\t')
			end++;
		sc->args = xrealloc(sc->args, (sc->nargs + 2) * sizeof(char *));
		sc->args[sc->nargs++] = strndup(w, (size_t)(end - w));
		sc->args[sc->nargs] = NULL;
		w = end;
	}
}

/* Index of connection name (added if new), or -1 if the name is bad. */
static int conn_index(struct script *sc, const char *name, size_t len)
{
	size_t i;
	int c;

	if (len == 0 || len >= MAX_NAME)
		return -1;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return -1;
	for (c = 0; c < sc->nconns; c++)
		if (strlen(sc->names[c]) == len &&
		    memcmp(sc->names[c], name, len) == 0)
			return c;
	if (sc->nconns == MAX_CONNS)
		return -1;
	memcpy(sc->names[sc->nconns], name, len);
	sc->names[sc->nconns][len] = '\0';
	return sc->nconns++;
}

/* Parses "MS" (or "" when optional, giving def) into *ms. */
static int parse_ms(const char *s, int def, int *ms)
{
	char *end;
	long v;

	while (*s == ' ')
		s++;
	if (*s == '\0') {
		if (def < 0)
			return -1;
		*ms = def;
		return 0;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	while (*end == ' ')
		end++;
	if (errno != 0 || *end != '\0' || v < 0 || v > MAX_STEP_MS)
		return -1;
	*ms = (int)v;
	return 0;
}

static const struct {
	const char *name;
	enum step_kind kind;
	bool has_conn;
} step_names[] = {
	{ "connect", STEP_CONNECT, true },  /* connect C */
	{ "send", STEP_SEND, true },        /* send C TEXT */
	{ "recv", STEP_RECV, true },        /* recv C */
	{ "recvset", STEP_RECVSET, false }, /* recvset C... */
	{ "closed", STEP_CLOSED, true },    /* closed C [MS] */
	{ "close", STEP_CLOSE, true },      /* close C */
	{ "wait", STEP_WAIT, false },       /* wait MS */
};

/* Parses the connection names of a recvset step. */
static int parse_conn_list(struct script *sc, struct step *st, const char *p)
{
	const char *name;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		name = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (st->nset == MAX_CONNS)
			return script_error(sc, st->line,
					    "too many connections");
		st->set[st->nset] = conn_index(sc, name, (size_t)(p - name));
		if (st->set[st->nset++] < 0)
			return script_error(sc, st->line,
					    "bad connection name");
	}
	if (st->nset == 0)
		return script_error(sc, st->line, "recvset: no connection");
	return 0;
}

/* Parses the arguments of one step into st. rest points after the verb. */
static int parse_step_args(struct script *sc, struct step *st, const char *rest,
			   bool has_conn)
{
	const char *name, *after;

	while (*rest == ' ')
		rest++;
	if (has_conn) {
		name = rest;
		while (*rest != '\0' && *rest != ' ')
			rest++;
		st->conn = conn_index(sc, name, (size_t)(rest - name));
		if (st->conn < 0)
			return script_error(sc, st->line,
					    "bad connection name");
		after = *rest == ' ' ? rest + 1 : rest;
	} else {
		after = rest;
	}
	switch (st->kind) {
	case STEP_SEND: {
		ssize_t n = unescape(after, &st->data);

		if (n <= 0)
			return script_error(
				sc, st->line,
				"send: bad escape or nothing to send");
		st->len = (size_t)n;
		return 0;
	}
	case STEP_CLOSED:
		if (parse_ms(after, CLOSED_DEFAULT_MS, &st->ms) == -1)
			return script_error(sc, st->line, "closed: bad time");
		return 0;
	case STEP_WAIT:
		if (parse_ms(after, -1, &st->ms) == -1)
			return script_error(sc, st->line, "wait: bad time");
		return 0;
	case STEP_RECVSET:
		return parse_conn_list(sc, st, after);
	default:
		while (*after == ' ')
			after++;
		if (*after != '\0')
			return script_error(sc, st->line,
					    "unexpected argument");
		return 0;
	}
}

static int parse_step(struct script *sc, char *line, int lineno)
{
	struct step st = { .line = lineno, .conn = -1 };
	size_t i, n;

	for (i = 0; i < sizeof(step_names) / sizeof(step_names[0]); i++) {
		n = strlen(step_names[i].name);
		if (strncmp(line, step_names[i].name, n) == 0 &&
		    (line[n] == ' ' || line[n] == '\0'))
			break;
	}
	if (i == sizeof(step_names) / sizeof(step_names[0]))
		return script_error(sc, lineno, "unknown step");
	st.kind = step_names[i].kind;
	if (parse_step_args(sc, &st, line + n, step_names[i].has_conn) == -1)
		return -1;
	sc->steps = xrealloc(sc->steps, (sc->nsteps + 1) * sizeof(st));
	sc->steps[sc->nsteps++] = st;
	return 0;
}

/* Handles a "key: value" header line; returns 1 if line was one. */
static int parse_header(struct script *sc, char *line)
{
	char *v;

	if (strncmp(line, "args:", 5) == 0) {
		append_args(sc, line + 5);
		return 1;
	}
	if (strncmp(line, "natsd-conf:", 11) == 0) {
		v = line + 11;
		append_line(&sc->natsd_conf, *v == ' ' ? v + 1 : v);
		return 1;
	}
	if (strncmp(line, "nats-conf:", 10) == 0) {
		v = line + 10;
		append_line(&sc->nats_conf, *v == ' ' ? v + 1 : v);
		return 1;
	}
	return 0;
}

static void parse_comment(struct script *sc, const char *line)
{
	const char *t;

	if (sc->title != NULL || strncmp(line, "# title:", 8) != 0)
		return;
	t = line + 8;
	while (*t == ' ')
		t++;
	sc->title = xstrdup(t);
}

static void script_free(struct script *sc)
{
	size_t i;

	for (i = 0; i < sc->nargs; i++)
		free(sc->args[i]);
	free(sc->args);
	for (i = 0; i < sc->nsteps; i++)
		free(sc->steps[i].data);
	free(sc->steps);
	free(sc->title);
	free(sc->natsd_conf);
	free(sc->nats_conf);
	memset(sc, 0, sizeof(*sc));
}

static int script_load(struct script *sc, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	FILE *f;

	memset(sc, 0, sizeof(*sc));
	sc->path = path;
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) != -1) {
		lineno++;
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (line[0] == '#') {
			parse_comment(sc, line);
			continue;
		}
		if (parse_header(sc, line) == 0)
			rc = parse_step(sc, line, lineno);
	}
	free(line);
	fclose(f);
	if (rc == 0 && sc->nsteps == 0)
		rc = script_error(sc, lineno, "no steps");
	if (rc != 0)
		script_free(sc);
	return rc;
}

/* ---- normalisation ----------------------------------------------------- */

static bool is_ignored_key(const char *k)
{
	int i;

	/* natsd_version is natsd's own, beside the nats-server version it
	 * reports in "version". */
	if (strcmp(k, "git_commit") == 0 || strcmp(k, "natsd_version") == 0)
		return true;
	for (i = 0; i < opt_nignored; i++)
		if (strcmp(k, opt_ignored[i]) == 0)
			return true;
	return false;
}

static bool is_masked_key(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(masked_keys) / sizeof(masked_keys[0]); i++)
		if (strcmp(k, masked_keys[i]) == 0)
			return true;
	return false;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "<object>";
	case JSON_ARRAY:
		return "<array>";
	case JSON_STRING:
		return "<string>";
	case JSON_INTEGER:
		return "<integer>";
	case JSON_REAL:
		return "<real>";
	case JSON_TRUE:
	case JSON_FALSE:
		return "<bool>";
	default:
		return "<null>";
	}
}

/* Returns the normalised text of the JSON object in [p, p+len), or NULL
 * if it is not a JSON object. */
static char *normalise_info_json(const char *p, size_t len)
{
	json_t *obj, *v, *rep;
	const char *k;
	void *tmp;
	char buf[32];
	char *out;

	obj = json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);
	if (obj == NULL || !json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	json_object_foreach_safe(obj, tmp, k, v)
	{
		rep = NULL;
		if (is_ignored_key(k)) {
			json_object_del(obj, k);
			continue;
		}
		if (is_masked_key(k)) {
			rep = json_string(json_type_name(v));
		} else if (strcmp(k, "connect_urls") == 0 && json_is_array(v)) {
			snprintf(buf, sizeof(buf), "<%zu urls>",
				 json_array_size(v));
			rep = json_string(buf);
		}
		if (rep != NULL)
			json_object_set_new(obj, k, rep);
	}
	out = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(obj);
	return out;
}

static void buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Adds one line (with its "\n" if any) to b, normalising an INFO line. */
static void normalise_line(struct buf *b, const char *p, size_t n)
{
	const char *open, *close = NULL, *q;
	char *json;

	if (n < 6 || memcmp(p, "INFO {", 6) != 0) {
		buf_add(b, p, n);
		return;
	}
	open = p + 5;
	for (q = p + n; q > open; q--)
		if (q[-1] == '}') {
			close = q;
			break;
		}
	json = close != NULL ? normalise_info_json(open, (size_t)(close - open))
			     : NULL;
	if (json == NULL) {
		buf_add(b, p, n);
		return;
	}
	buf_add(b, p, 5);
	buf_adds(b, json);
	buf_add(b, close, (size_t)(p + n - close));
	free(json);
}

/* Returns the normalised form of data (the caller frees .p). */
static struct buf normalise(const char *data, size_t len)
{
	struct buf b = { 0 };
	const char *p = data, *nl;

	buf_add(&b, "", 0);
	while (p < data + len) {
		nl = memchr(p, '\n', (size_t)(data + len - p));
		if (nl == NULL)
			nl = data + len - 1;
		normalise_line(&b, p, (size_t)(nl + 1 - p));
		p = nl + 1;
	}
	return b;
}

/* ---- running one side -------------------------------------------------- */

static void side_fail(struct side *sd, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void side_fail(struct side *sd, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sd->err[0] != '\0')
		return;
	n = line > 0 ? snprintf(sd->err, sizeof(sd->err), "line %d: ", line)
		     : 0;
	if (n < 0 || (size_t)n >= sizeof(sd->err))
		return;
	va_start(ap, fmt);
	vsnprintf(sd->err + n, sizeof(sd->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Appends a record; takes text. */
static void add_record(struct side *sd, int line, struct buf text)
{
	sd->recs = xrealloc(sd->recs, (sd->nrecs + 1) * sizeof(*sd->recs));
	sd->recs[sd->nrecs].line = line;
	sd->recs[sd->nrecs].text = text;
	sd->nrecs++;
}

/* Moves the connection's pending bytes to the front of out. */
static void take_pending(struct conn *c, struct buf *out)
{
	if (c->npending > 0)
		buf_add(out, c->pending, c->npending);
	free(c->pending);
	c->pending = NULL;
	c->npending = 0;
}

static bool ends_with_pong(const struct buf *b)
{
	return b->len >= 6 && memcmp(b->p + b->len - 6, "PONG\r\n", 6) == 0;
}

/* Reads once for up to ms into out; returns bytes read, sets c->eof. */
static ssize_t read_some(struct conn *c, struct buf *out, int ms)
{
	static __thread char chunk[READ_CAP];
	bool eof = false;
	ssize_t n;

	n = harness_read_until(c->fd, chunk, sizeof(chunk), "", ms, &eof);
	if (n > 0)
		buf_add(out, chunk, (size_t)n);
	if (eof || n == -1)
		c->eof = true;
	return n;
}

static void step_connect(struct side *sd, const struct step *st)
{
	struct conn *c = &sd->conns[st->conn];
	struct buf b = { 0 };
	long long deadline = harness_now_ms() + INFO_WAIT_MS;
	const char *nl = NULL;
	size_t first;

	if (c->fd != -1) {
		side_fail(sd, st->line, "connection %s is already open",
			  sd->sc->names[st->conn]);
		return;
	}
	buf_add(&b, "", 0);
	c->eof = false;
	c->fd = harness_connect(sd->srv.port);
	if (c->fd == -1) {
		buf_adds(&b, "<connect failed>");
		add_record(sd, st->line, b);
		return;
	}
	while (nl == NULL && !c->eof && harness_now_ms() < deadline) {
		read_some(c, &b, (int)(deadline - harness_now_ms()));
		nl = memchr(b.p, '\n', b.len);
	}
	first = nl != NULL ? (size_t)(nl + 1 - b.p) : b.len;
	add_record(sd, st->line, normalise(b.p, first));
	if (b.len > first) {
		c->npending = b.len - first;
		c->pending = xmalloc(c->npending);
		memcpy(c->pending, b.p + first, c->npending);
	}
	free(b.p);
}

static bool conn_usable(struct side *sd, const struct step *st)
{
	if (sd->conns[st->conn].fd != -1)
		return true;
	side_fail(sd, st->line, "connection %s is not open",
		  sd->sc->names[st->conn]);
	return false;
}

/* Reads from c as the recv step describes, appending to b. */
static void recv_into(struct conn *c, struct buf *b)
{
	long long start = harness_now_ms(), last, t;
	int wait;

	take_pending(c, b);
	last = b->len > 0 ? start : 0;
	while (!c->eof && !ends_with_pong(b)) {
		t = harness_now_ms();
		if (t - start >= RECV_TOTAL_MS)
			break;
		if (last == 0)
			wait = (int)(start + RECV_FIRST_MS - t);
		else
			wait = (int)(last + RECV_QUIET_MS - t);
		if (wait <= 0)
			break;
		if (read_some(c, b, wait) > 0)
			last = harness_now_ms();
	}
}

static void step_recv(struct side *sd, const struct step *st)
{
	struct buf b = { 0 };

	buf_add(&b, "", 0);
	recv_into(&sd->conns[st->conn], &b);
	add_record(sd, st->line, normalise(b.p, b.len));
	free(b.p);
}

struct frame {
	const char *p;
	size_t len;
};

static int frame_cmp(const void *a, const void *b)
{
	const struct frame *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Length of the frame at p: a line, or for MSG/HMSG the line, the payload
 * its last number announces and the CRLF after it. */
static size_t frame_len(const char *p, size_t left)
{
	const char *nl = memchr(p, '\n', left), *q;
	size_t line, size = 0;

	if (nl == NULL)
		return left;
	line = (size_t)(nl + 1 - p);
	if (strncmp(p, "MSG ", 4) != 0 && strncmp(p, "HMSG ", 5) != 0)
		return line;
	q = nl;
	while (q > p && (q[-1] == '\r' || q[-1] == '\n'))
		q--;
	while (q > p && isdigit((unsigned char)q[-1]))
		q--;
	while (q < nl && isdigit((unsigned char)*q) && size < READ_CAP)
		size = size * 10 + (size_t)(*q++ - '0');
	return line + size + 2 <= left ? line + size + 2 : left;
}

static void step_recvset(struct side *sd, const struct step *st)
{
	struct frame *f = NULL;
	struct buf b = { 0 }, sorted = { 0 }, one = { 0 };
	size_t nf = 0, off = 0, len;
	int i;

	buf_add(&b, "", 0);
	buf_add(&one, "", 0);
	buf_add(&sorted, "", 0);
	for (i = 0; i < st->nset; i++) {
		if (sd->conns[st->set[i]].fd == -1) {
			side_fail(sd, st->line, "connection %s is not open",
				  sd->sc->names[st->set[i]]);
			goto out;
		}
		/* Each connection ends at its own PONG. */
		one.len = 0;
		recv_into(&sd->conns[st->set[i]], &one);
		buf_add(&b, one.p, one.len);
	}
	while (off < b.len) {
		len = frame_len(b.p + off, b.len - off);
		if (len != 6 || memcmp(b.p + off, "PONG\r\n", 6) != 0) {
			f = xrealloc(f, (nf + 1) * sizeof(*f));
			f[nf].p = b.p + off;
			f[nf++].len = len;
		}
		off += len;
	}
	if (nf > 0)
		qsort(f, nf, sizeof(*f), frame_cmp);
	for (off = 0; off < nf; off++)
		buf_add(&sorted, f[off].p, f[off].len);
	add_record(sd, st->line, normalise(sorted.p, sorted.len));
out:
	free(f);
	free(b.p);
	free(one.p);
	free(sorted.p);
}

static void step_closed(struct side *sd, const struct step *st)
{
	struct conn *c = &sd->conns[st->conn];
	long long deadline = harness_now_ms() + st->ms;
	struct buf b = { 0 }, text;

	buf_add(&b, "", 0);
	take_pending(c, &b);
	while (!c->eof && harness_now_ms() < deadline)
		read_some(c, &b, (int)(deadline - harness_now_ms()));
	text = normalise(b.p, b.len);
	buf_adds(&text, c->eof ? "<closed>" : "<open>");
	add_record(sd, st->line, text);
	free(b.p);
}

static void run_step(struct side *sd, const struct step *st)
{
	struct conn *c = &sd->conns[st->conn >= 0 ? st->conn : 0];

	switch (st->kind) {
	case STEP_CONNECT:
		step_connect(sd, st);
		break;
	case STEP_SEND:
		/* A failed write means the server already closed: a later
		 * recv or closed step records that. */
		if (conn_usable(sd, st))
			(void)harness_send(c->fd, st->data, st->len);
		break;
	case STEP_RECV:
		if (conn_usable(sd, st))
			step_recv(sd, st);
		break;
	case STEP_RECVSET:
		step_recvset(sd, st);
		break;
	case STEP_CLOSED:
		if (conn_usable(sd, st))
			step_closed(sd, st);
		break;
	case STEP_CLOSE:
		if (conn_usable(sd, st)) {
			close(c->fd);
			c->fd = -1;
			free(c->pending);
			c->pending = NULL;
			c->npending = 0;
		}
		break;
	case STEP_WAIT:
		harness_sleep_ms(st->ms);
		break;
	}
}

/* Whether the process is gone or a zombie (it died on its own). */
static bool server_died(pid_t pid)
{
	char path[64], stat[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	p = strrchr(stat, ')');
	return p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

/*
 * Sends SIGTERM and waits (at most 5 s) until the process has exited but
 * is not yet reaped, so that what it logs on the way out (LeakSanitizer's
 * report) is in the log before harness_stop() reaps it and removes the
 * log. The zombie keeps its pid, so harness_stop() cannot hit another
 * process.
 */
static void terminate(struct hserver *srv)
{
	int i;

	if (srv->pid <= 0 || kill(srv->pid, SIGTERM) == -1)
		return;
	for (i = 0; i < 500 && !server_died(srv->pid); i++)
		harness_sleep_ms(10);
}

static void check_log(struct side *sd)
{
	const char *log = harness_log(&sd->srv);

	if (strstr(log, "ERROR: AddressSanitizer") != NULL ||
	    strstr(log, "ERROR: LeakSanitizer") != NULL ||
	    strstr(log, "runtime error:") != NULL)
		side_fail(sd, 0, "sanitizer report in the server log");
}

static void *run_side(void *arg)
{
	struct side *sd = arg;
	const struct script *sc = sd->sc;
	const char *conf = sd->nats_conf ? sc->nats_conf : sc->natsd_conf;
	size_t i;
	int k;

	for (k = 0; k < MAX_CONNS; k++)
		sd->conns[k].fd = -1;
	if (harness_start(&sd->srv, sd->kind, conf,
			  (const char *const *)sc->args) != 0) {
		side_fail(sd, 0, "%s did not start", sd->kind);
		return NULL;
	}
	for (i = 0; i < sc->nsteps && sd->err[0] == '\0'; i++)
		run_step(sd, &sc->steps[i]);
	if (server_died(sd->srv.pid))
		side_fail(sd, 0, "%s exited during the script", sd->kind);
	for (k = 0; k < MAX_CONNS; k++) {
		if (sd->conns[k].fd != -1)
			close(sd->conns[k].fd);
		free(sd->conns[k].pending);
	}
	terminate(&sd->srv);
	check_log(sd);
	if (sd->err[0] != '\0' || opt_verbose) {
		const char *log = harness_log(&sd->srv);
		size_t n = strlen(log);

		fprintf(stderr, "--- %s log (tail) ---\n%s\n", sd->kind,
			n > 4000 ? log + n - 4000 : log);
	}
	harness_stop(&sd->srv);
	return NULL;
}

static void side_free(struct side *sd)
{
	size_t i;

	for (i = 0; i < sd->nrecs; i++)
		free(sd->recs[i].text.p);
	free(sd->recs);
	sd->recs = NULL;
	sd->nrecs = 0;
}

/* ---- output ------------------------------------------------------------ */

/* Appends the escaped form of text to b: printable bytes as they are,
 * CR LF TAB and backslash as C escapes, the rest as \xNN; a newline
 * follows every "\n" so the transcript keeps its lines. */
static void escape_into(struct buf *b, const struct buf *text)
{
	const unsigned char *p = (const unsigned char *)text->p;
	const unsigned char *end = p + text->len;
	char hex[8];

	for (; p < end; p++) {
		switch (*p) {
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\n':
			buf_adds(b, "\\n\n");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		default:
			if (*p >= 0x20 && *p < 0x7f) {
				buf_add(b, (const char *)p, 1);
			} else {
				snprintf(hex, sizeof(hex), "\\x%02x", *p);
				buf_adds(b, hex);
			}
		}
	}
}

struct rows {
	char **row; /* each malloc'd */
	size_t n, cap;
};

static void rows_add(struct rows *r, const char *p, size_t len)
{
	if (r->n == r->cap) {
		r->cap = r->cap * 2 + 8;
		r->row = xrealloc(r->row, r->cap * sizeof(char *));
	}
	r->row[r->n++] = strndup(p, len);
	if (r->row[r->n - 1] == NULL) {
		fprintf(stderr, "compat_run: out of memory\n");
		exit(99);
	}
}

static void rows_free(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->row[i]);
	free(r->row);
	memset(r, 0, sizeof(*r));
}

/* Splits the escaped form of text into display rows of at most COL_WIDTH
 * characters, one or more per received line. */
static void wrap_rows(const struct buf *text, struct rows *r)
{
	struct buf b = { 0 };
	const char *p, *nl;
	size_t len;

	buf_add(&b, "", 0);
	escape_into(&b, text);
	p = b.p;
	if (*p == '\0')
		rows_add(r, "<nothing>", 9);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len > COL_WIDTH) {
			/* Break after a comma if there is one near the end:
			 * INFO lines then wrap between their fields. */
			size_t k = COL_WIDTH;

			while (k > COL_WIDTH / 2 && p[k - 1] != ',')
				k--;
			len = k > COL_WIDTH / 2 ? k : COL_WIDTH;
		}
		rows_add(r, p, len);
		p += len;
		if (*p == '\n')
			p++;
	}
	free(b.p);
}

/* "LINE: verb conn..." for the step that made a record. */
static const char *step_label(const struct script *sc, int line)
{
	static char label[256];
	const struct step *st = NULL;
	size_t i, n;
	int k;

	for (i = 0; i < sc->nsteps && st == NULL; i++)
		if (sc->steps[i].line == line)
			st = &sc->steps[i];
	if (st == NULL) {
		snprintf(label, sizeof(label), "%d", line);
		return label;
	}
	if (st->kind != STEP_RECVSET) {
		snprintf(label, sizeof(label), "%d: %s %s", line,
			 st->kind == STEP_CONNECT ? "connect"
			 : st->kind == STEP_RECV  ? "recv"
						  : "closed",
			 sc->names[st->conn]);
		return label;
	}
	n = (size_t)snprintf(label, sizeof(label), "%d: recvset", line);
	for (k = 0; k < st->nset && n < sizeof(label); k++)
		n += (size_t)snprintf(label + n, sizeof(label) - n, " %s",
				      sc->names[st->set[k]]);
	return label;
}

static const struct buf *rec_text(const struct side *sd, size_t i)
{
	return i < sd->nrecs ? &sd->recs[i].text : NULL;
}

static bool buf_equal(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Prints the transcripts of one or two sides, a record per block; a
 * record that differs is marked with '!' in the first column. */
static void print_transcripts(const struct script *sc, const struct side *a,
			      const struct side *b)
{
	static const struct buf none = { .p = (char *)"<no record>",
					 .len = 11 };
	size_t i, k, nrec = a->nrecs;
	const struct buf *ta, *tb;
	struct rows ra, rb;
	bool differ;

	if (b != NULL && b->nrecs > nrec)
		nrec = b->nrecs;
	if (b != NULL)
		printf("  %-*s | %s\n", COL_WIDTH, a->kind, b->kind);
	for (i = 0; i < nrec; i++) {
		memset(&ra, 0, sizeof(ra));
		memset(&rb, 0, sizeof(rb));
		ta = rec_text(a, i);
		tb = b != NULL ? rec_text(b, i) : NULL;
		differ = b != NULL &&
			 (ta == NULL || tb == NULL || !buf_equal(ta, tb));
		wrap_rows(ta != NULL ? ta : &none, &ra);
		if (b != NULL)
			wrap_rows(tb != NULL ? tb : &none, &rb);
		printf("%c [%s]\n", differ ? '!' : ' ',
		       step_label(sc, i < a->nrecs ? a->recs[i].line
						   : b->recs[i].line));
		for (k = 0; k < ra.n || k < rb.n; k++) {
			if (b == NULL) {
				printf("    %s\n", ra.row[k]);
				continue;
			}
			printf("%c   %-*s | %s\n", differ ? '!' : ' ',
			       COL_WIDTH - 2, k < ra.n ? ra.row[k] : "",
			       k < rb.n ? rb.row[k] : "");
		}
		rows_free(&ra);
		rows_free(&rb);
	}
}

/* ---- main -------------------------------------------------------------- */

static bool records_equal(const struct side *a, const struct side *b)
{
	size_t i;

	if (a->nrecs != b->nrecs)
		return false;
	for (i = 0; i < a->nrecs; i++)
		if (a->recs[i].line != b->recs[i].line ||
		    !buf_equal(&a->recs[i].text, &b->recs[i].text))
			return false;
	return true;
}

static void report_errors(const struct side *a, const struct side *b)
{
	if (a->err[0] != '\0')
		printf("  %s: %s\n", a->kind, a->err);
	if (b != NULL && b->err[0] != '\0')
		printf("  %s: %s\n", b->kind, b->err);
}

/* Runs one script against one server (only != NULL) or both. Returns true
 * if it passed. */
static bool run_script(const struct script *sc, const char *only,
		       bool natsd_nats_conf)
{
	struct side ref = { .kind = "nats-server",
			    .nats_conf = true,
			    .sc = sc };
	struct side dut = { .kind = "natsd",
			    .nats_conf = natsd_nats_conf,
			    .sc = sc };
	pthread_t t;
	bool ok;

	if (only != NULL) {
		struct side *sd = strcmp(only, "natsd") == 0 ? &dut : &ref;

		run_side(sd);
		ok = sd->err[0] == '\0';
		printf("%s %s%s%s\n", ok ? "ok" : "FAIL", sc->path,
		       sc->title != NULL ? " - " : "",
		       sc->title != NULL ? sc->title : "");
		report_errors(sd, NULL);
		print_transcripts(sc, sd, NULL);
		side_free(sd);
		return ok;
	}
	if (pthread_create(&t, NULL, run_side, &dut) != 0) {
		run_side(&dut);
		run_side(&ref);
	} else {
		run_side(&ref);
		pthread_join(t, NULL);
	}
	ok = ref.err[0] == '\0' && dut.err[0] == '\0' &&
	     records_equal(&ref, &dut);
	printf("%s %s\n", ok ? "ok" : "FAIL", sc->path);
	if (!ok || opt_verbose) {
		if (sc->title != NULL)
			printf("  # %s\n", sc->title);
		report_errors(&ref, &dut);
		print_transcripts(sc, &ref, &dut);
	}
	side_free(&ref);
	side_free(&dut);
	return ok;
}

/* Whether cmd (first word of a command line) can be executed. */
static bool on_path(const char *cmd)
{
	char word[256], full[PATH_MAX];
	const char *path = getenv("PATH"), *p, *colon;
	size_t n = strcspn(cmd, " ");

	if (n == 0 || n >= sizeof(word))
		return false;
	memcpy(word, cmd, n);
	word[n] = '\0';
	if (strchr(word, '/') != NULL)
		return access(word, X_OK) == 0;
	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';
	     p = colon + 1) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		if ((size_t)(colon - p) < sizeof(full) - sizeof(word) - 1) {
			snprintf(full, sizeof(full), "%.*s/%s",
				 (int)(colon - p), p, word);
			if (access(full, X_OK) == 0)
				return true;
		}
		if (*colon == '\0')
			break;
	}
	return false;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : def;
}

/* Whether the natsd side is really a nats-server (developing the scripts):
 * then it reads the nats-conf lines. */
static bool natsd_is_nats_server(const char *bin)
{
	const char *v = getenv("COMPAT_NATSD_CONF");
	const char *base, *last;

	if (v != NULL && v[0] != '\0')
		return strcmp(v, "nats") == 0;
	last = strrchr(bin, ' ');
	last = last != NULL ? last + 1 : bin;
	base = strrchr(last, '/');
	base = base != NULL ? base + 1 : last;
	return strncmp(base, "nats-server", 11) == 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: compat_run [-v] [--only nats-server|natsd] "
			"[--ignore-info-key KEY]... SCRIPT...\n");
	exit(99);
}

int main(int argc, char **argv)
{
	const char *only = NULL, *natsd_bin, *ref_bin;
	int i, passed = 0, failed = 0;
	bool nats_conf;
	struct script sc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			opt_verbose = true;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
			if (strcmp(only, "natsd") != 0 &&
			    strcmp(only, "nats-server") != 0)
				usage();
		} else if (strcmp(argv[i], "--ignore-info-key") == 0 &&
			   i + 1 < argc && opt_nignored < MAX_IGNORED) {
			opt_ignored[opt_nignored++] = argv[++i];
		} else {
			usage();
		}
	}
	if (i == argc)
		usage();
	natsd_bin = env_or("NATSD_BIN", "./natsd");
	ref_bin = env_or("NATS_SERVER_BIN", "nats-server");
	if ((only == NULL || strcmp(only, "nats-server") == 0) &&
	    !on_path(ref_bin)) {
		printf("SKIP: %s not found\n", ref_bin);
		return 77;
	}
	if ((only == NULL || strcmp(only, "natsd") == 0) &&
	    !on_path(natsd_bin)) {
		fprintf(stderr,
			"compat_run: natsd binary %s not found "
			"(set NATSD_BIN)\n",
			natsd_bin);
		return 99;
	}
	nats_conf = natsd_is_nats_server(natsd_bin);
	for (; i < argc; i++) {
		if (script_load(&sc, argv[i]) != 0)
			return 99;
		if (run_script(&sc, only, nats_conf))
			passed++;
		else
			failed++;
		script_free(&sc);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
