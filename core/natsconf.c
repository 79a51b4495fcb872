/* Reader for nats-server's configuration format.
 *
 * A small recursive-descent parser: a file is the body of a map; a map
 * holds "key value" pairs (":" or "=" optional), separated by newlines,
 * "," or ";"; values are maps, arrays, quoted or bare strings, numbers
 * with size suffixes, booleans and $variables. Bare words are classified
 * after they are read, as nats-server's lexer does: "2m" is the integer
 * 2000000 but "10ms" is a string, "1.2.3.4" is a string.
 *
 * Variables resolve against the maps being built, innermost first, and
 * then the environment; an environment value is read as a bare word, so
 * "10" becomes an integer. An include splices the other file's pairs into
 * the map it appears in, with its path relative to the including file.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <natsd/error.h>

#include "natsconf.h"

#define NATSCONF_MAX_DEPTH	64	/* nesting of maps and arrays */
#define NATSCONF_MAX_INCLUDE	10	/* includes within includes */
#define NATSCONF_MAX_FILE       (64 * 1024 * 1024) /* "include /dev/zero" */

struct natsconf_entry {
	char *key;
	struct natsconf_value *value;
};

struct natsconf_value {
	enum natsconf_type type;
	int line;
	const char *file;	/* interned in struct natsconf_names */
	union {
		char *s;
		int64_t i;
		double f;
		int b;
	} u;
	size_t n;
	size_t cap;
	struct natsconf_entry *entries;	/* maps */
	struct natsconf_value **items;	/* arrays */
	struct natsconf_names *names;	/* root only: owns file names */
	void *hook;                     /* the caller's; not freed here */
	bool used_var;                  /* referenced as $name */
};

/* File names outlive parsing: every value points at one. */
struct natsconf_names {
	char **v;
	size_t n;
};

struct parser {
	const char *text;
	size_t pos;
	int line;
	const char *file;
	int depth;
	int include_depth;
	struct natsconf_names *names;
	struct natsconf_value **scopes;	/* maps being built, for $VAR */
	size_t nscopes;
	size_t scopes_cap;
	char *err;
	size_t errlen;
};

static int parse_value(struct parser *p, struct natsconf_value **out);
static int parse_map_body(struct parser *p, struct natsconf_value *map,
			  bool braced);

static void perr(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errlen == 0)
		return;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static const char *intern_name(struct natsconf_names *names, const char *s)
{
	char **v;
	char *dup;
	size_t i;

	for (i = 0; i < names->n; i++)
		if (strcmp(names->v[i], s) == 0)
			return names->v[i];
	dup = strdup(s);
	if (!dup)
		return NULL;
	v = realloc(names->v, (names->n + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return NULL;
	}
	names->v = v;
	names->v[names->n++] = dup;
	return dup;
}

static void names_free(struct natsconf_names *names)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	free(names);
}

static struct natsconf_value *value_new(struct parser *p,
					enum natsconf_type type, int line)
{
	struct natsconf_value *v = calloc(1, sizeof(*v));

	if (!v) {
		perr(p, line, "out of memory");
		return NULL;
	}
	v->type = type;
	v->line = line;
	v->file = p->file;
	return v;
}

void natsconf_free(struct natsconf_value *v)
{
	size_t i;

	if (!v)
		return;
	switch (v->type) {
	case NATSCONF_STRING:
		free(v->u.s);
		break;
	case NATSCONF_MAP:
		for (i = 0; i < v->n; i++) {
			free(v->entries[i].key);
			natsconf_free(v->entries[i].value);
		}
		free(v->entries);
		break;
	case NATSCONF_ARRAY:
		for (i = 0; i < v->n; i++)
			natsconf_free(v->items[i]);
		free(v->items);
		break;
	default:
		break;
	}
	names_free(v->names);
	free(v);
}

static struct natsconf_value *value_copy(const struct natsconf_value *v)
{
	struct natsconf_value *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	c->type = v->type;
	c->line = v->line;
	c->file = v->file;
	c->u = v->u;
	switch (v->type) {
	case NATSCONF_STRING:
		c->u.s = strdup(v->u.s);
		if (!c->u.s)
			goto fail;
		break;
	case NATSCONF_MAP:
		c->entries = calloc(v->n ? v->n : 1, sizeof(*c->entries));
		if (!c->entries)
			goto fail;
		c->cap = v->n;
		for (i = 0; i < v->n; i++) {
			c->entries[i].key = strdup(v->entries[i].key);
			c->entries[i].value = value_copy(v->entries[i].value);
			c->n++;
			if (!c->entries[i].key || !c->entries[i].value)
				goto fail;
		}
		break;
	case NATSCONF_ARRAY:
		c->items = calloc(v->n ? v->n : 1, sizeof(*c->items));
		if (!c->items)
			goto fail;
		c->cap = v->n;
		for (i = 0; i < v->n; i++) {
			c->items[i] = value_copy(v->items[i]);
			c->n++;
			if (!c->items[i])
				goto fail;
		}
		break;
	default:
		break;
	}
	return c;
fail:
	natsconf_free(c);
	return NULL;
}

/* Takes key and value; a repeated key replaces the earlier value in its
 * place, as assigning into nats-server's map does. */
static int map_put(struct parser *p, struct natsconf_value *map, char *key,
		   struct natsconf_value *val)
{
	struct natsconf_entry *e;
	size_t i;

	for (i = 0; i < map->n; i++) {
		if (strcmp(map->entries[i].key, key) == 0) {
			natsconf_free(map->entries[i].value);
			map->entries[i].value = val;
			free(key);
			return 0;
		}
	}
	if (map->n == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 8;

		e = realloc(map->entries, cap * sizeof(*e));
		if (!e)
			goto nomem;
		map->entries = e;
		map->cap = cap;
	}
	map->entries[map->n].key = key;
	map->entries[map->n].value = val;
	map->n++;
	return 0;
nomem:
	perr(p, val->line, "out of memory");
	free(key);
	natsconf_free(val);
	return NATSD_ENOMEM;
}

int natsconf_map_set_bool(struct natsconf_value *map, const char *key,
			  bool b)
{
	struct natsconf_value *v;
	struct natsconf_entry *e;

	if (map->type != NATSCONF_MAP || natsconf_map_get(map, key) != NULL)
		return NATSD_EEXIST;
	if (map->n == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 8;

		e = realloc(map->entries, cap * sizeof(*e));
		if (!e)
			return NATSD_ENOMEM;
		map->entries = e;
		map->cap = cap;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return NATSD_ENOMEM;
	v->type = NATSCONF_BOOL;
	v->line = map->line;
	v->file = map->file;
	v->u.b = b;
	map->entries[map->n].key = strdup(key);
	if (!map->entries[map->n].key) {
		free(v);
		return NATSD_ENOMEM;
	}
	map->entries[map->n].value = v;
	map->n++;
	return 0;
}

static int array_push(struct parser *p, struct natsconf_value *arr,
		      struct natsconf_value *val)
{
	struct natsconf_value **items;

	if (arr->n == arr->cap) {
		size_t cap = arr->cap ? arr->cap * 2 : 8;

		items = realloc(arr->items, cap * sizeof(*items));
		if (!items) {
			perr(p, val->line, "out of memory");
			natsconf_free(val);
			return NATSD_ENOMEM;
		}
		arr->items = items;
		arr->cap = cap;
	}
	arr->items[arr->n++] = val;
	return 0;
}

static int peek(const struct parser *p)
{
	return (unsigned char)p->text[p->pos];
}

static int peek2(const struct parser *p)
{
	if (!p->text[p->pos])
		return 0;
	return (unsigned char)p->text[p->pos + 1];
}

static bool at_comment(const struct parser *p)
{
	return peek(p) == '#' || (peek(p) == '/' && peek2(p) == '/');
}

/* Skips blanks and comments; newlines too when nl is set. */
static void skip_space(struct parser *p, bool nl)
{
	for (;;) {
		int c = peek(p);

		if (c == ' ' || c == '\t' || c == '\r') {
			p->pos++;
		} else if (c == '\n' && nl) {
			p->pos++;
			p->line++;
		} else if (at_comment(p)) {
			while (peek(p) && peek(p) != '\n')
				p->pos++;
		} else {
			return;
		}
	}
}

static bool is_bare_end(int c)
{
	return c == 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == ',' || c == ';' || c == '}' || c == ']';
}

static bool is_key_end(int c)
{
	return is_bare_end(c) || c == ':' || c == '=' || c == '{' ||
	       c == '[' || c == '#';
}

/* A quoted string at p->pos; double quotes take escapes, single quotes
 * are raw. The result never holds more bytes than the source did. */
static int read_quoted(struct parser *p, char **out)
{
	int quote = peek(p);
	int line = p->line;
	size_t start = ++p->pos;
	size_t len = 0;
	char *buf;

	/* may span lines, as in nats-server */
	while (p->text[p->pos] && p->text[p->pos] != quote) {
		if (quote == '"' && p->text[p->pos] == '\\' &&
		    p->text[p->pos + 1])
			p->pos++;
		if (p->text[p->pos] == '\n')
			p->line++;
		p->pos++;
	}
	if (p->text[p->pos] != quote) {
		perr(p, line, "unterminated quoted string");
		return NATSD_EINVAL;
	}
	buf = malloc(p->pos - start + 1);
	if (!buf) {
		perr(p, line, "out of memory");
		return NATSD_ENOMEM;
	}
	for (size_t i = start; i < p->pos; i++) {
		char c = p->text[i];
		unsigned long cp;
		int digits;

		if (quote != '"' || c != '\\') {
			buf[len++] = c;
			continue;
		}
		c = p->text[++i];
		switch (c) {
		case 't': buf[len++] = '\t'; break;
		case 'n': buf[len++] = '\n'; break;
		case 'r': buf[len++] = '\r'; break;
		case '"': buf[len++] = '"'; break;
		case '\\': buf[len++] = '\\'; break;
		case 'x':
			/* as nats-server 2.9: \xXX is one byte; it has
			 * no \u */
			cp = 0;
			for (digits = 1; digits <= 2; digits++) {
				int h = (unsigned char)p->text[i + digits];

				if (!isxdigit(h))
					goto bad_escape;
				cp = cp * 16 + (unsigned long)(isdigit(h) ?
					h - '0' : tolower(h) - 'a' + 10);
			}
			buf[len++] = (char)cp;
			i += 2;
			break;
		default:
			goto bad_escape;
		}
	}
	buf[len] = '\0';
	p->pos++;
	*out = buf;
	return 0;
bad_escape:
	free(buf);
	perr(p, line, "invalid escape in quoted string");
	return NATSD_EINVAL;
}

static char *read_bare(struct parser *p, bool key)
{
	size_t start = p->pos;
	char *s;

	while (!(key ? is_key_end(peek(p)) : is_bare_end(peek(p))))
		p->pos++;
	s = strndup(p->text + start, p->pos - start);
	if (!s)
		perr(p, p->line, "out of memory");
	return s;
}

/* nats-server's suffixes: a letter alone is a power of 1000, with "b",
 * "i" or "ib" a power of 1024. */
static int size_suffix(const char *s, int64_t *mult)
{
	static const char units[] = "kmgtpe";
	const char *u = strchr(units, tolower((unsigned char)s[0]));
	int power;

	if (!s[0] || !u)
		return -1;
	power = (int)(u - units) + 1;
	if (s[1] == '\0') {
		*mult = 1;
		while (power--)
			*mult *= 1000;
		return 0;
	}
	if (strcasecmp(s + 1, "b") && strcasecmp(s + 1, "i") &&
	    strcasecmp(s + 1, "ib"))
		return -1;
	*mult = (int64_t)1 << (10 * power);
	return 0;
}

/* Classifies a bare word: boolean, integer (with size), float or string.
 * Takes word. */
static int classify(struct parser *p, char *word, int line,
		    struct natsconf_value **out)
{
	static const char *const truths[] = { "true", "yes", "on" };
	static const char *const lies[] = { "false", "no", "off" };
	struct natsconf_value *v;
	const char *s = word;
	const char *digits;
	int64_t mult = 1;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(word, truths[i]) == 0 ||
		    strcasecmp(word, lies[i]) == 0) {
			v = value_new(p, NATSCONF_BOOL, line);
			if (!v)
				goto nomem;
			v->u.b = strcasecmp(word, truths[i]) == 0;
			free(word);
			*out = v;
			return 0;
		}
	}
	if (*s == '-')
		s++;
	digits = s;
	while (isdigit((unsigned char)*s))
		s++;
	if (s == digits)
		goto string;
	if (*s == '.') {
		const char *frac = ++s;

		while (isdigit((unsigned char)*s))
			s++;
		if (s == frac || *s)
			goto string;	/* "1.2.3.4" is an address */
		v = value_new(p, NATSCONF_FLOAT, line);
		if (!v)
			goto nomem;
		v->u.f = strtod(word, NULL);
		free(word);
		*out = v;
		return 0;
	}
	if (*s && size_suffix(s, &mult) < 0)
		goto string;
	v = value_new(p, NATSCONF_INT, line);
	if (!v)
		goto nomem;
	errno = 0;
	v->u.i = strtoll(word, NULL, 10);
	if (errno == ERANGE || (v->u.i > 0 && v->u.i > INT64_MAX / mult) ||
	    (v->u.i < 0 && v->u.i < INT64_MIN / mult)) {
		perr(p, line, "integer '%s' out of range", word);
		natsconf_free(v);
		free(word);
		return NATSD_ERANGE;
	}
	v->u.i *= mult;
	free(word);
	*out = v;
	return 0;
string:
	v = value_new(p, NATSCONF_STRING, line);
	if (!v)
		goto nomem;
	v->u.s = word;
	*out = v;
	return 0;
nomem:
	free(word);
	return NATSD_ENOMEM;
}

static struct natsconf_value *scope_lookup(struct parser *p, const char *name)
{
	size_t i, j;

	for (i = p->nscopes; i-- > 0;) {
		struct natsconf_value *m = p->scopes[i];

		for (j = 0; j < m->n; j++)
			if (strcmp(m->entries[j].key, name) == 0)
				return m->entries[j].value;
	}
	return NULL;
}

static int push_scope(struct parser *p, struct natsconf_value *map)
{
	if (p->nscopes == p->scopes_cap) {
		size_t cap = p->scopes_cap ? p->scopes_cap * 2 : 8;
		struct natsconf_value **s;

		s = realloc(p->scopes, cap * sizeof(*s));
		if (!s) {
			perr(p, p->line, "out of memory");
			return NATSD_ENOMEM;
		}
		p->scopes = s;
		p->scopes_cap = cap;
	}
	p->scopes[p->nscopes++] = map;
	return 0;
}

static int parse_variable(struct parser *p, struct natsconf_value **out)
{
	int line = p->line;
	struct natsconf_value *found;
	const char *env;
	char *name, *word;
	int rc = 0;

	p->pos++;	/* '$' */
	name = read_bare(p, false);
	if (!name)
		return NATSD_ENOMEM;
	if (!name[0]) {
		perr(p, line, "empty variable reference");
		rc = NATSD_EINVAL;
		goto free_name;
	}
	found = scope_lookup(p, name);
	if (found) {
		found->used_var = true;
		*out = value_copy(found);
		if (!*out) {
			perr(p, line, "out of memory");
			rc = NATSD_ENOMEM;
			goto free_name;
		}
		/* a consumer's complaint should point at the use */
		(*out)->line = line;
		(*out)->file = p->file;
		goto free_name;
	}
	env = getenv(name);
	if (!env) {
		perr(p, line, "variable reference for '%s' can not be found",
		     name);
		rc = NATSD_ENOENT;
		goto free_name;
	}
	word = strdup(env);
	if (!word) {
		perr(p, line, "out of memory");
		rc = NATSD_ENOMEM;
		goto free_name;
	}
	rc = classify(p, word, line, out);
free_name:
	free(name);
	return rc;
}

static int parse_array(struct parser *p, struct natsconf_value **out)
{
	struct natsconf_value *arr = value_new(p, NATSCONF_ARRAY, p->line);
	int rc;

	if (!arr)
		return NATSD_ENOMEM;
	p->pos++;	/* '[' */
	for (;;) {
		struct natsconf_value *item;

		skip_space(p, true);
		while (peek(p) == ',') {
			p->pos++;
			skip_space(p, true);
		}
		if (peek(p) == ']') {
			p->pos++;
			break;
		}
		if (!peek(p)) {
			perr(p, p->line, "unexpected EOF processing array");
			rc = NATSD_EINVAL;
			goto free_arr;
		}
		rc = parse_value(p, &item);
		if (rc < 0)
			goto free_arr;
		rc = array_push(p, arr, item);
		if (rc < 0)
			goto free_arr;
		skip_space(p, false);
		if (peek(p) != ',' && peek(p) != '\n' && peek(p) != ']' &&
		    peek(p) != 0) {
			perr(p, p->line, "unexpected '%c' in array",
			     peek(p));
			rc = NATSD_EINVAL;
			goto free_arr;
		}
	}
	*out = arr;
	return 0;
free_arr:
	natsconf_free(arr);
	return rc;
}

static int parse_value(struct parser *p, struct natsconf_value **out)
{
	struct natsconf_value *v;
	int line = p->line;
	char *s;
	int rc;

	if (p->depth >= NATSCONF_MAX_DEPTH) {
		perr(p, line, "nesting too deep");
		return NATSD_EINVAL;
	}
	switch (peek(p)) {
	case '{':
		p->pos++;
		v = value_new(p, NATSCONF_MAP, line);
		if (!v)
			return NATSD_ENOMEM;
		p->depth++;
		rc = parse_map_body(p, v, true);
		p->depth--;
		if (rc < 0) {
			natsconf_free(v);
			return rc;
		}
		*out = v;
		return 0;
	case '[':
		p->depth++;
		rc = parse_array(p, out);
		p->depth--;
		return rc;
	case '"':
	case '\'':
		rc = read_quoted(p, &s);
		if (rc < 0)
			return rc;
		v = value_new(p, NATSCONF_STRING, line);
		if (!v) {
			free(s);
			return NATSD_ENOMEM;
		}
		v->u.s = s;
		*out = v;
		return 0;
	case '$':
		return parse_variable(p, out);
	default:
		if (is_bare_end(peek(p))) {
			perr(p, line, "expected a value");
			return NATSD_EINVAL;
		}
		s = read_bare(p, false);
		if (!s)
			return NATSD_ENOMEM;
		return classify(p, s, line, out);
	}
}

static int parse_text(struct parser *parent, const char *text,
		      const char *name, struct natsconf_value *map);

const char *natsconf_read_error(int errnum)
{
	switch (errnum) {
	case EINVAL:
		return "not a text file (it holds a NUL byte)";
	case EFBIG:
		return "larger than 64 MiB";
	default:
		return strerror(errnum);
	}
}

char *natsconf_read_file(const char *path, int *errnum)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	if (!f) {
		*errnum = errno;
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		*errnum = EISDIR;
		goto fail;
	}
	for (;;) {
		size_t n;

		if (len >= NATSCONF_MAX_FILE) {
			*errnum = EFBIG;
			goto fail;
		}
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				*errnum = ENOMEM;
				goto fail;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		*errnum = EIO;
		goto fail;
	}
	fclose(f);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		*errnum = EINVAL;	/* a NUL byte: not a text file */
		free(buf);
		return NULL;
	}
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static int parse_include(struct parser *p, struct natsconf_value *map)
{
	int line = p->line;
	const char *slash;
	char *file, *path, *text;
	int errnum = 0;
	int rc;

	skip_space(p, false);
	if (peek(p) == '"' || peek(p) == '\'') {
		rc = read_quoted(p, &file);
		if (rc < 0)
			return rc;
	} else {
		file = read_bare(p, false);
		if (!file)
			return NATSD_ENOMEM;
	}
	if (!file[0]) {
		perr(p, line, "include without a file name");
		free(file);
		return NATSD_EINVAL;
	}
	slash = strrchr(p->file, '/');
	if (file[0] == '/' || !slash) {
		path = strdup(file);
	} else {
		size_t dirlen = (size_t)(slash - p->file);
		const char *rel = file;
		size_t size;

		/* "./x" from "dir/a.conf" is "dir/x", also in messages */
		while (rel[0] == '.' && rel[1] == '/')
			rel += 2;
		size = dirlen + strlen(rel) + 2;
		path = malloc(size);
		if (path)
			snprintf(path, size, "%.*s/%s", (int)dirlen, p->file,
				 rel);
	}
	if (!path) {
		perr(p, line, "out of memory");
		free(file);
		return NATSD_ENOMEM;
	}
	if (p->include_depth >= NATSCONF_MAX_INCLUDE) {
		perr(p, line, "error parsing include file '%s', includes "
		     "nested too deep", file);
		rc = NATSD_EINVAL;
		goto free_path;
	}
	text = natsconf_read_file(path, &errnum);
	if (!text) {
		perr(p, line, "error parsing include file '%s', %s: %s", file,
		     path, natsconf_read_error(errnum));
		rc = -errnum;
		goto free_path;
	}
	rc = parse_text(p, text, path, map);
	free(text);
free_path:
	free(path);
	free(file);
	return rc;
}

/* After a value: blanks and a comment, then a separator or the end. */
static int end_of_pair(struct parser *p, bool braced)
{
	int c;

	skip_space(p, false);
	c = peek(p);
	if (c == ',' || c == ';' || c == '\n' || c == 0 ||
	    (braced && c == '}'))
		return 0;
	perr(p, p->line, "unexpected '%c' after value", c);
	return NATSD_EINVAL;
}

static int parse_map_body(struct parser *p, struct natsconf_value *map,
			  bool braced)
{
	int rc;

	rc = push_scope(p, map);
	if (rc < 0)
		return rc;
	for (;;) {
		struct natsconf_value *val;
		bool quoted;
		int line;
		char *key;

		skip_space(p, true);
		while (peek(p) == ',' || peek(p) == ';') {
			p->pos++;
			skip_space(p, true);
		}
		if (!peek(p)) {
			if (!braced)
				break;
			perr(p, p->line, "unexpected EOF processing map");
			rc = NATSD_EINVAL;
			goto pop;
		}
		if (peek(p) == '}') {
			if (braced) {
				p->pos++;
				break;
			}
			perr(p, p->line, "unexpected '}'");
			rc = NATSD_EINVAL;
			goto pop;
		}
		line = p->line;
		quoted = peek(p) == '"' || peek(p) == '\'';
		if (quoted) {
			rc = read_quoted(p, &key);
			if (rc < 0)
				goto pop;
		} else {
			if (is_key_end(peek(p))) {
				perr(p, line, "unexpected '%c', expected a "
				     "key", peek(p));
				rc = NATSD_EINVAL;
				goto pop;
			}
			key = read_bare(p, true);
			if (!key) {
				rc = NATSD_ENOMEM;
				goto pop;
			}
		}
		if (!quoted && strcmp(key, "include") == 0 &&
		    (peek(p) == ' ' || peek(p) == '\t')) {
			free(key);
			rc = parse_include(p, map);
			if (rc < 0)
				goto pop;
			rc = end_of_pair(p, braced);
			if (rc < 0)
				goto pop;
			continue;
		}
		skip_space(p, false);
		if (peek(p) == ':' || peek(p) == '=') {
			p->pos++;
			skip_space(p, false);
		}
		if (peek(p) == '\n' || peek(p) == 0 || peek(p) == ',' ||
		    peek(p) == ';' || peek(p) == '}') {
			perr(p, line, "key '%s' has no value", key);
			free(key);
			rc = NATSD_EINVAL;
			goto pop;
		}
		rc = parse_value(p, &val);
		if (rc < 0) {
			free(key);
			goto pop;
		}
		rc = map_put(p, map, key, val);
		if (rc < 0)
			goto pop;
		rc = end_of_pair(p, braced);
		if (rc < 0)
			goto pop;
	}
	rc = 0;
pop:
	p->nscopes--;
	return rc;
}

/* Parses text into map. parent is the including parser, or for the top
 * file a parser holding only names, err and errlen. */
static int parse_text(struct parser *parent, const char *text,
		      const char *name, struct natsconf_value *map)
{
	struct parser p = {
		.text = text,
		.line = 1,
		.names = parent->names,
		.include_depth = parent->include_depth + 1,
		.depth = parent->depth,
		.err = parent->err,
		.errlen = parent->errlen,
		.file = parent->file,
	};
	size_t i;
	int rc = 0;

	p.file = intern_name(p.names, name);
	if (!p.file) {
		p.file = name;
		perr(&p, 0, "out of memory");
		return NATSD_ENOMEM;
	}
	/* The enclosing scopes are shared, the array is not: it may move
	 * when this parser grows it. The map itself is among them when
	 * included; parse_map_body pushes it again, which is harmless. */
	for (i = 0; i < parent->nscopes && rc == 0; i++)
		rc = push_scope(&p, parent->scopes[i]);
	if (rc == 0)
		rc = parse_map_body(&p, map, false);
	free(p.scopes);
	return rc;
}

int natsconf_parse_string(const char *text, const char *name,
			  struct natsconf_value **out, char *err,
			  size_t errlen)
{
	struct parser top = {
		.include_depth = -1,
		.err = err,
		.errlen = errlen,
		.file = name,
	};
	struct natsconf_value *root;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	root = value_new(&top, NATSCONF_MAP, 1);
	if (!root)
		return NATSD_ENOMEM;
	root->names = calloc(1, sizeof(*root->names));
	if (!root->names) {
		perr(&top, 0, "out of memory");
		rc = NATSD_ENOMEM;
		goto free_root;
	}
	top.names = root->names;
	rc = parse_text(&top, text, name, root);
	if (rc < 0)
		goto free_root;
	root->file = root->names->v[0];
	*out = root;
	return 0;
free_root:
	natsconf_free(root);
	return rc;
}

int natsconf_parse_file(const char *path, struct natsconf_value **out,
			char *err, size_t errlen)
{
	char *text;
	int errnum = 0;
	int rc;

	text = natsconf_read_file(path, &errnum);
	if (!text) {
		if (err && errlen)
			snprintf(err, errlen,
				 "%s:0: error opening config "
				 "file: %s",
				 path, natsconf_read_error(errnum));
		return -errnum;
	}
	rc = natsconf_parse_string(text, path, out, err, errlen);
	free(text);
	return rc;
}

enum natsconf_type natsconf_type(const struct natsconf_value *v)
{
	return v ? v->type : 0;
}

int natsconf_line(const struct natsconf_value *v)
{
	return v ? v->line : 0;
}

const char *natsconf_file(const struct natsconf_value *v)
{
	return v ? v->file : NULL;
}

struct natsconf_value *natsconf_map_get(const struct natsconf_value *map,
					const char *key)
{
	size_t i;

	if (!map || map->type != NATSCONF_MAP)
		return NULL;
	for (i = map->n; i-- > 0;)
		if (strcasecmp(map->entries[i].key, key) == 0)
			return map->entries[i].value;
	return NULL;
}

size_t natsconf_map_size(const struct natsconf_value *map)
{
	return map && map->type == NATSCONF_MAP ? map->n : 0;
}

const char *natsconf_map_key(const struct natsconf_value *map, size_t i)
{
	if (!map || map->type != NATSCONF_MAP || i >= map->n)
		return NULL;
	return map->entries[i].key;
}

struct natsconf_value *natsconf_map_value(const struct natsconf_value *map,
					  size_t i)
{
	if (!map || map->type != NATSCONF_MAP || i >= map->n)
		return NULL;
	return map->entries[i].value;
}

size_t natsconf_array_size(const struct natsconf_value *arr)
{
	return arr && arr->type == NATSCONF_ARRAY ? arr->n : 0;
}

struct natsconf_value *natsconf_array_get(const struct natsconf_value *arr,
					  size_t i)
{
	if (!arr || arr->type != NATSCONF_ARRAY || i >= arr->n)
		return NULL;
	return arr->items[i];
}

const char *natsconf_string(const struct natsconf_value *v)
{
	return v && v->type == NATSCONF_STRING ? v->u.s : NULL;
}

int64_t natsconf_int(const struct natsconf_value *v)
{
	return v && v->type == NATSCONF_INT ? v->u.i : 0;
}

double natsconf_float(const struct natsconf_value *v)
{
	return v && v->type == NATSCONF_FLOAT ? v->u.f : 0.0;
}

int natsconf_bool(const struct natsconf_value *v)
{
	return v && v->type == NATSCONF_BOOL ? v->u.b : 0;
}

void natsconf_set_hook(struct natsconf_value *v, void *hook)
{
	if (v)
		v->hook = hook;
}

void *natsconf_hook(const struct natsconf_value *v)
{
	return v ? v->hook : NULL;
}

bool natsconf_used_variable(const struct natsconf_value *v)
{
	return v ? v->used_var : false;
}
