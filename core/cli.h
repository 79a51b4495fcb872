/* The command line: nats-server's flags, parsed as Go's flag package does.
 *
 * Every flag takes one or two dashes (-p, --p); a value follows as the next
 * argument or after '=' (-p 4222, --port=4222), so `-p -1` works; a boolean
 * is set by its name alone or by -x=true|false (never "-x false": that
 * "false" ends the flags). Flags end at the first argument that is not one
 * (or after "--"); nats-server then accepts only "version" or "help" there.
 *
 * cli_parse() keeps the options given as an ordered list of overrides,
 * which cli_apply() puts on top of defaults + config file, again after
 * every reload, so the command line always wins over the file.
 */
#ifndef NATSD_CLI_H
#define NATSD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct opts;
struct cli;

/* Parses argv[1..argc-1]. On success returns 0 and a struct cli in *out,
 * freed with cli_free(). On failure returns a negative code with the
 * message in err (no program name, no newline); cli_report_error() turns
 * it into nats-server's output and exit status:
 *   NATSD_EINVAL   a flag error in Go's words ("flag provided but not
 *                  defined: -x", "invalid value \"abc\" for flag -p:
 *                  parse error", "flag needs an argument: -p")
 *   NATSD_ENOTSUP  a nats-server flag natsd does not support yet
 *                  ("flag -routes is not supported yet")
 *   NATSD_ENOENT   a stray argument ("unrecognized command: \"foo\"")
 *   NATSD_EPERM    -t without a config file
 *   NATSD_ENOMEM */
int cli_parse(int argc, char **argv, struct cli **out, char *err,
	      size_t errlen);

/* Prints what nats-server prints for a cli_parse() failure and returns
 * the exit status to use: a flag error goes to errf, then the usage to
 * out, status 0 (nats-server's usage handler exits 0); an unsupported flag
 * prints "natsd: <err>" to errf, status 2; anything else "natsd: <err>",
 * status 1. */
int cli_report_error(int rc, const char *err, FILE *out, FILE *errf);

void cli_free(struct cli *c);

/* The -c/--config file, as given (relative to the working directory), or
 * NULL. */
const char *cli_config_file(const struct cli *c);

/* Applies the options given, in the order given, on top of o. 0, or
 * NATSD_ENOMEM (o then holds part of them). */
int cli_apply(const struct cli *c, struct opts *o);

/* Actions. version wins over help, as in nats-server; both were asked
 * either by flag or by the "version"/"help" command word. */
bool cli_want_help(const struct cli *c);
bool cli_want_version(const struct cli *c);
bool cli_check_config(const struct cli *c);
/* The -sl/--signal argument ("reload", "stop=1234", "ldm=/x.pid"), as
 * given, or NULL. */
const char *cli_signal(const struct cli *c);

/* The help text, in nats-server's layout (it starts with an empty line,
 * as nats-server's does). */
void cli_usage(FILE *f);

#endif
