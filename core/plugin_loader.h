/* Plugin loader: finds a plugin's shared object, checks its descriptor
 * against the ABI this server was built with, and runs its init().
 *
 * The checks come before any plugin code other than natsd_plugin_entry()
 * runs, so a plugin built for another ABI is refused without executing
 * init() against a host table it does not understand. */
#ifndef NATSD_PLUGIN_LOADER_H
#define NATSD_PLUGIN_LOADER_H

#include <stddef.h>

#include <natsd/plugin.h>

/* Used when neither --plugin-dir nor NATSD_PLUGIN_DIR says otherwise; the
 * build sets it to $(pkglibdir). */
#ifndef NATSD_PLUGINDIR
#define NATSD_PLUGINDIR "/usr/local/lib/natsd"
#endif

struct plugin; /* a loaded plugin: dlopen handle, descriptor, ctx, path */

/* Loads the plugin at path and initialises it.
 *
 * Loads with dlopen(RTLD_NOW | RTLD_LOCAL), calls natsd_plugin_entry() with
 * this server's ABI numbers and checks the descriptor: magic, ABI major
 * (must equal ours), ABI minor (must not be newer than ours: such a plugin
 * may call host functions we lack), struct_size, and that no plugin of
 * the same name is among loaded[0..nloaded) (NULL entries are skipped).
 * Only then does it call init(h, api, cfg, &ctx, ...); h, api and cfg are
 * passed through and must outlive the plugin.
 *
 * Returns 0 and sets *out (free with plugin_unload()), or a negative
 * NATSD_E* code with one line in err naming the file, e.g.
 *   plugin /x/foo.so: built for natsd plugin ABI 2.0, this server has ...
 * Codes: NATSD_ENOENT (no such file), NATSD_EINVAL (not loadable, not a
 * natsd plugin), NATSD_ENOTSUP (ABI mismatch), NATSD_EEXIST (duplicate
 * name), NATSD_ENOMEM, or what a failing init() returned.
 *
 * When init() fails the object is closed again: whatever the plugin
 * registered before failing points into unmapped code, so the caller must
 * drop the registrations made during this call. */
int plugin_load(const char *path, struct natsd_host *h,
		const struct natsd_host_api *api, const struct natsd_cfg *cfg,
		struct plugin *const *loaded, size_t nloaded,
		struct plugin **out, char *err, size_t errlen);

/* Turns a `load` directive value into a file path in path[pathlen].
 * A value containing '/' is a path, used as is (relative ones are relative
 * to the working directory). Otherwise it is a plugin name, looked up as
 * "<dir>/<name>.so" (".so" is not doubled when name ends with it), where
 * dir is plugin_dir when not NULL or empty, else $NATSD_PLUGIN_DIR when set
 * and not empty, else NATSD_PLUGINDIR; a plugin missing there is looked
 * for in the .libs directory beside the running binary (a build tree).
 * Returns 0, NATSD_EINVAL for an empty name, or NATSD_ERANGE when the
 * result does not fit (path then holds an empty string). */
int plugin_resolve(const char *name, const char *plugin_dir, char *path,
		   size_t pathlen);

/* The descriptor's name and version ("unknown" when the plugin gives
 * none), and the path it was loaded from. Valid until plugin_unload(). */
const char *plugin_name(const struct plugin *p);
const char *plugin_path(const struct plugin *p);
const char *plugin_version(const struct plugin *p);

/* Calls the plugin's fini(ctx), then closes the shared object and frees p.
 * Call it only once nothing the plugin registered can be used any more.
 * plugin_unload(NULL) does nothing. */
void plugin_unload(struct plugin *p);

#endif
