/* Plugin loader.
 *
 * The order of the checks is the point of this file: nothing of a plugin
 * but natsd_plugin_entry() runs until its descriptor has passed them all,
 * since init() of a plugin built for another ABI would call through a host
 * table laid out differently from the one it expects. ELF constructors
 * would run at dlopen() time anyway; plugins must not have any.
 *
 * Every refusal is one line naming the file, because that is what an
 * operator has to act on (Apache's mod_so does the same). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr1(), dlinfo() */
#endif

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <natsd/plugin.h>

#include "plugin_loader.h"

#define PLUGIN_ENTRY_SYMBOL "natsd_plugin_entry"

struct plugin {
	void *handle;                    /* from dlopen() */
	const struct natsd_plugin *desc; /* lives in the plugin's memory */
	void *ctx;                       /* what init() set, for fini() */
	char path[];
};

/* Writes "plugin <path>: <message>" into err as one line: text that came
 * from dlerror() or a plugin may carry newlines, which would split a log
 * line or a start-up error in two. */
__attribute__((format(printf, 4, 5))) static void
load_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	size_t n, i;
	int len;

	if (err == NULL || errlen == 0)
		return;
	len = snprintf(err, errlen, "plugin %s: ", path);
	if (len < 0) {
		err[0] = '\0';
		return;
	}
	n = (size_t)len;
	if (n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	for (i = 0; err[i] != '\0'; i++) {
		if (err[i] == '\n' || err[i] == '\r' || err[i] == '\t')
			err[i] = ' ';
	}
	while (i > 0 && err[i - 1] == ' ')
		err[--i] = '\0';
}

/* dlerror() usually starts with the file name, which our prefix already
 * gives: skip it so the line does not name the file twice. */
static const char *dl_reason(const char *path, const char *dlpath)
{
	const char *e = dlerror();
	size_t n;

	if (e == NULL)
		return "unknown dlopen error";
	n = strlen(dlpath);
	if (strncmp(e, dlpath, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
		return e + n + 2;
	n = strlen(path);
	if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
		return e + n + 2;
	return e;
}

/* Opens path. A path without '/' would make dlopen() search the library
 * path instead of the working directory, so it gets a "./" in front. */
static int plugin_open(const char *path, void **handle, char *err,
		       size_t errlen)
{
	char local[4096];
	const char *dlpath = path;
	struct stat st;
	int e;

	if (stat(path, &st) == -1) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			load_err(err, errlen, path, "not found (%s)",
				 "check plugin_dir or --plugin-dir");
			return NATSD_ENOENT;
		}
		load_err(err, errlen, path, "%s", strerror(e));
		return -e;
	}
	if (strchr(path, '/') == NULL) {
		if (snprintf(local, sizeof(local), "./%s", path) >=
		    (int)sizeof(local)) {
			load_err(err, errlen, path, "path too long");
			return NATSD_ERANGE;
		}
		dlpath = local;
	}
	*handle = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
	if (*handle == NULL) {
		load_err(err, errlen, path, "%s", dl_reason(path, dlpath));
		return NATSD_EINVAL;
	}
	return 0;
}

/* Finds the entry point. dlsym() on a handle also searches the object's
 * dependencies; an entry found there belongs to some other file, and this
 * one is not a plugin. */
static natsd_plugin_entry_fn plugin_entry(void *handle)
{
	struct link_map *own = NULL, *found = NULL;
	Dl_info info;
	void *sym;

	dlerror();
	sym = dlsym(handle, PLUGIN_ENTRY_SYMBOL);
	if (sym == NULL)
		return NULL;
	if (dlinfo(handle, RTLD_DI_LINKMAP, &own) == 0 &&
	    dladdr1(sym, &info, (void **)&found, RTLD_DL_LINKMAP) != 0 &&
	    own != NULL && found != NULL && own != found)
		return NULL;
	return (natsd_plugin_entry_fn)sym;
}

/* Checks what natsd_plugin_entry() returned. 0 or a negative code with
 * the reason in err. Only the first four fields are read before the ABI
 * numbers have been checked: those never change. */
static int plugin_check(const char *path, const struct natsd_plugin *d,
			struct plugin *const *loaded, size_t nloaded, char *err,
			size_t errlen)
{
	size_t i;

	if (d == NULL) {
		load_err(err, errlen, path,
			 "refused to load (natsd_plugin_entry returned no "
			 "descriptor for ABI %u.%u)",
			 NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
		return NATSD_ENOTSUP;
	}
	if (d->magic != NATSD_PLUGIN_MAGIC) {
		load_err(err, errlen, path, "not a natsd plugin (bad magic)");
		return NATSD_EINVAL;
	}
	if (d->abi_major != NATSD_ABI_MAJOR || d->abi_minor > NATSD_ABI_MINOR) {
		load_err(err, errlen, path,
			 "built for natsd plugin ABI %u.%u, this server has "
			 "ABI %u.%u",
			 (unsigned)d->abi_major, (unsigned)d->abi_minor,
			 NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
		return NATSD_ENOTSUP;
	}
	/* Every 1.x descriptor has at least the 1.0 fields, up to fini. */
	if (!NATSD_HAS(d, fini)) {
		load_err(err, errlen, path,
			 "not a natsd plugin (descriptor of %u bytes, ABI "
			 "%u.%u needs %zu)",
			 (unsigned)d->struct_size, (unsigned)d->abi_major,
			 (unsigned)d->abi_minor,
			 offsetof(struct natsd_plugin, fini) + sizeof(d->fini));
		return NATSD_EINVAL;
	}
	if (d->name == NULL || d->name[0] == '\0' || d->init == NULL) {
		load_err(err, errlen, path,
			 "not a natsd plugin (descriptor without %s)",
			 d->init == NULL ? "init function" : "name");
		return NATSD_EINVAL;
	}
	for (i = 0; i < nloaded; i++) {
		if (loaded[i] == NULL ||
		    strcmp(loaded[i]->desc->name, d->name) != 0)
			continue;
		load_err(err, errlen, path,
			 "a plugin named \"%s\" is already loaded from %s",
			 d->name, loaded[i]->path);
		return NATSD_EEXIST;
	}
	return 0;
}

/* Runs init(). 0, or a negative code with the plugin's own words in err. */
static int plugin_run_init(struct plugin *p, struct natsd_host *h,
			   const struct natsd_host_api *api,
			   const struct natsd_cfg *cfg, char *err,
			   size_t errlen)
{
	char perr[512] = "";
	int rc;

	rc = p->desc->init(h, api, cfg, &p->ctx, perr, sizeof(perr));
	if (rc == 0)
		return 0;
	/* The plugin may have filled the whole buffer without a NUL. */
	perr[sizeof(perr) - 1] = '\0';
	if (rc > 0)
		rc = NATSD_EPROTO; /* not an ABI outcome: treat as failure */
	if (perr[0] != '\0')
		load_err(err, errlen, p->path, "init failed: %s", perr);
	else
		load_err(err, errlen, p->path, "init failed: %s",
			 strerror(-rc));
	return rc;
}

int plugin_load(const char *path, struct natsd_host *h,
		const struct natsd_host_api *api, const struct natsd_cfg *cfg,
		struct plugin *const *loaded, size_t nloaded,
		struct plugin **out, char *err, size_t errlen)
{
	natsd_plugin_entry_fn entry;
	struct plugin *p;
	void *handle;
	size_t len;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = plugin_open(path, &handle, err, errlen);
	if (rc != 0)
		return rc;
	entry = plugin_entry(handle);
	if (entry == NULL) {
		load_err(err, errlen, path,
			 "not a natsd plugin (no " PLUGIN_ENTRY_SYMBOL
			 " symbol)");
		rc = NATSD_EINVAL;
		goto out_close;
	}
	/* Allocated before init() so that nothing can fail between a
	 * successful init() and returning the plugin. */
	len = strlen(path);
	p = calloc(1, sizeof(*p) + len + 1);
	if (p == NULL) {
		load_err(err, errlen, path, "out of memory");
		rc = NATSD_ENOMEM;
		goto out_close;
	}
	memcpy(p->path, path, len + 1);
	p->handle = handle;
	p->desc = entry(NATSD_ABI_MAJOR, NATSD_ABI_MINOR);
	rc = plugin_check(path, p->desc, loaded, nloaded, err, errlen);
	if (rc != 0)
		goto out_free;
	rc = plugin_run_init(p, h, api, cfg, err, errlen);
	if (rc != 0)
		goto out_free;
	*out = p;
	return 0;

out_free:
	free(p);
out_close:
	dlclose(handle);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A build tree runs without installing: when the compiled-in plugin dir
 * lacks name, libtool's .libs next to the running binary may have it.
 * Writes that path and returns true when the file is there. */
static bool build_tree_plugin(const char *name, const char *suffix,
			      char *path, size_t pathlen)
{
	char exe[4096], *slash;
	ssize_t n;
	int k;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return false;
	*slash = '\0';
	k = snprintf(path, pathlen, "%s/.libs/%s%s", exe, name, suffix);
	return k > 0 && (size_t)k < pathlen && access(path, R_OK) == 0;
}

int plugin_resolve(const char *name, const char *plugin_dir, char *path,
		   size_t pathlen)
{
	const char *dir, *suffix;
	bool builtin;
	size_t dirlen;
	int n;

	if (pathlen > 0)
		path[0] = '\0';
	if (name == NULL || name[0] == '\0')
		return NATSD_EINVAL;
	if (strchr(name, '/') != NULL) {
		n = snprintf(path, pathlen, "%s", name);
	} else {
		dir = plugin_dir;
		if (dir == NULL || dir[0] == '\0')
			dir = getenv("NATSD_PLUGIN_DIR");
		builtin = dir == NULL || dir[0] == '\0';
		if (builtin)
			dir = NATSD_PLUGINDIR;
		dirlen = strlen(dir);
		while (dirlen > 0 && dir[dirlen - 1] == '/')
			dirlen--;
		if (dirlen > 4096)
			return NATSD_ERANGE;
		suffix = ends_with(name, ".so") ? "" : ".so";
		n = snprintf(path, pathlen, "%.*s/%s%s", (int)dirlen, dir, name,
			     suffix);
		if (builtin && n >= 0 && (size_t)n < pathlen &&
		    access(path, R_OK) != 0) {
			char alt[4096 + 300];

			if (build_tree_plugin(name, suffix, alt, sizeof(alt)) &&
			    strlen(alt) < pathlen) {
				snprintf(path, pathlen, "%s", alt);
				return 0;
			}
		}
	}
	if (n < 0 || (size_t)n >= pathlen) {
		if (pathlen > 0)
			path[0] = '\0';
		return NATSD_ERANGE;
	}
	return 0;
}

const char *plugin_name(const struct plugin *p)
{
	return p->desc->name;
}

const char *plugin_path(const struct plugin *p)
{
	return p->path;
}

const char *plugin_version(const struct plugin *p)
{
	return p->desc->version != NULL ? p->desc->version : "unknown";
}

void plugin_unload(struct plugin *p)
{
	if (p == NULL)
		return;
	if (p->desc->fini != NULL)
		p->desc->fini(p->ctx);
	dlclose(p->handle);
	free(p);
}
