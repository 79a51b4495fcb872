/* auth_inifile: users from an ini file, an example natsd auth plugin.
 *
 * Build it out of tree against the installed SDK:
 *
 *   cc $(pkg-config --cflags natsd-plugin inih) -shared -fPIC \
 *      auth_inifile.c -o auth_inifile.so \
 *      $(pkg-config --libs natsd-plugin inih) -lcrypt -pthread
 *
 * and load it from natsd.conf:
 *
 *   plugins = ( { load = "/path/to/auth_inifile.so";
 *                 settings = { file = "users.ini"; }; } );
 *
 * (a relative file is found next to the config file). The ini file has a
 * section per user:
 *
 *   [alice]
 *   password = $2a$11$...        ; a bcrypt hash, or the plain password
 *   account = sales               ; optional, default the global account
 *   publish_allow = orders.>, _INBOX.>
 *   publish_deny = orders.secret
 *   subscribe_allow = orders.>, _INBOX.>
 *   subscribe_deny =
 *
 * Lists are comma-separated; a subscribe entry may be "subject queue".
 * Without an allow list everything is allowed but what is denied.
 *
 * A CONNECT whose user is in the file is accepted with the right password
 * and rejected ("Authorization Violation") with a wrong one; other users
 * are left to the next authenticator in the chain. SIGHUP re-reads the
 * file; a file that fails to read keeps the users in force, and the log
 * says why.
 *
 * How it works: the users live in an immutable, reference-counted table.
 * authenticate() runs on the server's I/O threads, several at once: it
 * takes a reference to the current table under a short lock and reads it
 * without one. reload() builds a new table and swaps it in; the old one is
 * freed by whoever drops the last reference. Passwords are compared in
 * constant time and wiped from memory when a table is freed. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <crypt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <natsd/plugin.h>

#define INIFILE_NAME "inifile"

struct inifile_user {
	char *name;
	char *password; /* bcrypt hash ("$2a$...") or plain */
	char *account;  /* NULL: the server's global account */
	char *lists[4]; /* comma-separated, by enum natsd_perm_list - 1 */
	int line;       /* where the section starts */
};

/* The users read from the file at one time; never changed once built. */
struct inifile_table {
	struct inifile_user *users;
	size_t n;
	int refs; /* under inifile.lock */
};

struct inifile {
	struct natsd_host *h;
	const struct natsd_host_api *api;
	char *path;
	pthread_mutex_t lock;
	struct inifile_table *table;
};

/* The table                                                            */

static void wipe_free(char *s)
{
	if (s == NULL)
		return;
	/* explicit_bzero: a plain memset before free may be optimised
	 * away. */
	explicit_bzero(s, strlen(s));
	free(s);
}

static void table_free(struct inifile_table *t)
{
	size_t i;
	int k;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->users[i].name);
		wipe_free(t->users[i].password);
		free(t->users[i].account);
		for (k = 0; k < 4; k++)
			free(t->users[i].lists[k]);
	}
	free(t->users);
	free(t);
}

static struct inifile_table *table_get(struct inifile *f)
{
	struct inifile_table *t;

	pthread_mutex_lock(&f->lock);
	t = f->table;
	t->refs++;
	pthread_mutex_unlock(&f->lock);
	return t;
}

static void table_put(struct inifile *f, struct inifile_table *t)
{
	bool last;

	pthread_mutex_lock(&f->lock);
	last = --t->refs == 0;
	pthread_mutex_unlock(&f->lock);
	if (last)
		table_free(t);
}

/* Reading the file                                                     */

struct parse {
	struct inifile_table *t;
	char err[256]; /* the first problem */
	int line;      /* inih's current line, counted by us */
};

static const char *const list_keys[4] = {
	[NATSD_PERM_PUB_ALLOW - 1] = "publish_allow",
	[NATSD_PERM_PUB_DENY - 1] = "publish_deny",
	[NATSD_PERM_SUB_ALLOW - 1] = "subscribe_allow",
	[NATSD_PERM_SUB_DENY - 1] = "subscribe_deny",
};

/* The user of section, added when it is new. */
static struct inifile_user *user_of(struct parse *p, const char *section)
{
	struct inifile_table *t = p->t;
	struct inifile_user *nv;
	size_t i;

	if (t->n > 0 && strcmp(t->users[t->n - 1].name, section) == 0)
		return &t->users[t->n - 1];
	/* inih merges nothing: a section that comes twice is two users of
	 * the same name, which is a mistake in the file. */
	for (i = 0; i < t->n; i++)
		if (strcmp(t->users[i].name, section) == 0)
			return NULL;
	nv = realloc(t->users, (t->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return NULL;
	t->users = nv;
	memset(&nv[t->n], 0, sizeof(nv[t->n]));
	nv[t->n].name = strdup(section);
	if (nv[t->n].name == NULL)
		return NULL;
	return &nv[t->n++];
}

static int set_once(struct parse *p, char **dst, const char *key,
		    const char *value)
{
	if (*dst != NULL) {
		snprintf(p->err, sizeof(p->err), "%s given twice", key);
		return 0;
	}
	*dst = strdup(value);
	if (*dst == NULL)
		snprintf(p->err, sizeof(p->err), "out of memory");
	return *dst != NULL;
}

/* inih calls this for every name = value; 0 stops the parse there. */
static int on_value(void *arg, const char *section, const char *key,
		    const char *value)
{
	struct parse *p = arg;
	struct inifile_user *u;
	int k;

	if (section[0] == '\0') {
		snprintf(p->err, sizeof(p->err),
			 "\"%s\" is outside a [user] section", key);
		return 0;
	}
	u = user_of(p, section);
	if (u == NULL) {
		snprintf(p->err, sizeof(p->err),
			 "user [%s] appears twice (or out of memory)", section);
		return 0;
	}
	if (strcmp(key, "password") == 0)
		return set_once(p, &u->password, key, value);
	if (strcmp(key, "account") == 0)
		return set_once(p, &u->account, key, value);
	for (k = 0; k < 4; k++)
		if (strcmp(key, list_keys[k]) == 0)
			return set_once(p, &u->lists[k], key, value);
	snprintf(p->err, sizeof(p->err), "unknown key \"%s\" in [%s]", key,
		 section);
	return 0;
}

/* Reads path into a new table. NULL with the reason in err. */
static struct inifile_table *table_read(const char *path, char *err,
					size_t errlen)
{
	struct parse p = { 0 };
	size_t i;
	int rc;

	p.t = calloc(1, sizeof(*p.t));
	if (p.t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p.t->refs = 1;
	rc = ini_parse(path, on_value, &p);
	if (rc == -1) {
		snprintf(err, errlen, "%s: cannot open: %m", path);
		goto out_free;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, rc,
			 p.err[0] ? p.err : "syntax error");
		goto out_free;
	}
	for (i = 0; i < p.t->n; i++) {
		if (p.t->users[i].password == NULL) {
			snprintf(err, errlen, "%s: user [%s] has no password",
				 path, p.t->users[i].name);
			goto out_free;
		}
	}
	return p.t;

out_free:
	table_free(p.t);
	return NULL;
}

/* Authentication                                                       */

/* Compares a and b in time that depends only on their lengths. */
static bool equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	volatile unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static bool password_ok(const char *stored, const char *given)
{
	struct crypt_data *cd;
	const char *h;
	bool ok;

	if (given == NULL)
		return false;
	if (strncmp(stored, "$2", 2) != 0)
		return equal_ct(stored, given);
	/* crypt_r's state is large (32 KiB): not on an I/O thread's
	 * stack. */
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return false;
	h = crypt_r(given, stored, cd);
	ok = h != NULL && h[0] != '*' && equal_ct(h, stored);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Drops the blanks around a list entry ("subject queue" keeps its
 * inner one). */
static void trim(char **s)
{
	size_t n;

	*s += strspn(*s, " \t");
	n = strlen(*s);
	while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
		(*s)[--n] = '\0';
}

/* Gives r the identity and permissions of u. */
static int grant(struct inifile *f, struct natsd_auth_req *r,
		 const struct inifile_user *u)
{
	char *copy, *tok, *save = NULL;
	int k, rc;

	rc = f->api->auth_set_user(r, u->name);
	if (rc == 0 && u->account != NULL)
		rc = f->api->auth_set_account(r, u->account);
	for (k = 0; rc == 0 && k < 4; k++) {
		if (u->lists[k] == NULL)
			continue;
		copy = strdup(u->lists[k]);
		if (copy == NULL)
			return NATSD_AUTH_REJECT;
		for (tok = strtok_r(copy, ",", &save); rc == 0 && tok != NULL;
		     tok = strtok_r(NULL, ",", &save)) {
			trim(&tok);
			if (*tok != '\0')
				rc = f->api->auth_permit(r, k + 1, tok);
		}
		free(copy);
	}
	return rc == 0 ? NATSD_AUTH_ACCEPT : NATSD_AUTH_REJECT;
}

static int inifile_authenticate(void *pctx, struct natsd_auth_req *r)
{
	struct inifile *f = pctx;
	const char *user = f->api->auth_field(r, NATSD_AF_USER);
	const char *pass = f->api->auth_field(r, NATSD_AF_PASS);
	const struct inifile_user *u = NULL;
	struct inifile_table *t;
	size_t i;
	int v;

	if (user == NULL)
		return NATSD_AUTH_NEXT;
	t = table_get(f);
	for (i = 0; i < t->n && u == NULL; i++)
		if (strcmp(t->users[i].name, user) == 0)
			u = &t->users[i];
	if (u == NULL) {
		v = NATSD_AUTH_NEXT;
	} else if (!password_ok(u->password, pass)) {
		/* Never log the password itself. */
		f->api->log(f->h, NATSD_LOG_DEBUG,
			    "inifile: wrong password for user \"%s\"", user);
		v = NATSD_AUTH_REJECT;
	} else {
		v = grant(f, r, u);
	}
	table_put(f, t);
	return v;
}

static int inifile_reload(void *pctx)
{
	struct inifile *f = pctx;
	struct inifile_table *t, *old;
	char err[512];

	t = table_read(f->path, err, sizeof(err));
	if (t == NULL) {
		f->api->log(f->h, NATSD_LOG_ERROR,
			    "inifile: keeping the old users: %s", err);
		return NATSD_EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	old = f->table;
	f->table = t;
	pthread_mutex_unlock(&f->lock);
	table_put(f, old);
	f->api->log(f->h, NATSD_LOG_INFO, "inifile: %zu users from %s", t->n,
		    f->path);
	return 0;
}

static const struct natsd_auth_ops inifile_ops = {
	.struct_size = sizeof(struct natsd_auth_ops),
	.name = INIFILE_NAME,
	.flags = NATSD_AUTH_F_REQUIRED,
	.authenticate = inifile_authenticate,
	.reload = inifile_reload,
};

/* The plugin                                                           */

/* A relative file is next to the config file that names it. */
static char *resolve_path(const struct natsd_host_api *api,
			  const struct natsd_cfg *cfg, const char *file)
{
	const char *conf, *slash;
	size_t len;
	char *out;
	int line;

	if (file[0] == '/' || api->cfg_where(cfg, "file", &conf, &line) != 0 ||
	    (slash = strrchr(conf, '/')) == NULL)
		return strdup(file);
	len = (size_t)(slash - conf) + 1 + strlen(file) + 1;
	out = malloc(len);
	if (out != NULL)
		snprintf(out, len, "%.*s/%s", (int)(slash - conf), conf, file);
	return out;
}

static void inifile_fini(void *ctx)
{
	struct inifile *f = ctx;

	if (f == NULL)
		return;
	table_free(f->table);
	pthread_mutex_destroy(&f->lock);
	free(f->path);
	free(f);
}

static int inifile_init(struct natsd_host *h, const struct natsd_host_api *api,
			const struct natsd_cfg *cfg, void **ctx, char *err,
			size_t errlen)
{
	struct inifile *f;
	const char *file;
	int rc;

	if (api->cfg_string(cfg, "file", &file) != 0) {
		snprintf(err, errlen,
			 "auth_inifile: settings need file = \"users.ini\"");
		return NATSD_EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NATSD_ENOMEM;
	f->h = h;
	f->api = api;
	pthread_mutex_init(&f->lock, NULL);
	f->path = resolve_path(api, cfg, file);
	if (f->path == NULL) {
		rc = NATSD_ENOMEM;
		goto out_free;
	}
	/* At start a bad file stops the server: better than running
	 * without the users. */
	f->table = table_read(f->path, err, errlen);
	if (f->table == NULL) {
		rc = NATSD_EINVAL;
		goto out_free;
	}
	rc = api->register_auth(h, &inifile_ops, f);
	if (rc != 0) {
		snprintf(err, errlen, "auth_inifile: cannot register: %d", rc);
		goto out_free;
	}
	*ctx = f;
	return 0;

out_free:
	inifile_fini(f);
	return rc;
}

static const struct natsd_plugin inifile_plugin = {
	NATSD_PLUGIN_INIT,    .name = "auth_inifile", .version = "1.0",
	.init = inifile_init, .fini = inifile_fini,
};

NATSD_PLUGIN_EXPORT const struct natsd_plugin *
natsd_plugin_entry(uint16_t host_major, uint16_t host_minor)
{
	(void)host_major;
	(void)host_minor;
	return &inifile_plugin;
}
