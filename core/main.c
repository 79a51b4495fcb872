/* natsd: a NATS server. Reads the command line and config file the way
 * nats-server does, then runs the server until a stop signal. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conffile.h"
#include "log.h"
#include "opts.h"
#include "server.h"
#include "signal_cmd.h"

/* Defaults, then the file, then the flags (which win). */
static int load_options(struct server *s, char *err, size_t errlen)
{
	const char *file = cli_config_file(s->cli);
	int rc;

	opts_init(&s->opts);
	if (file != NULL) {
		rc = conffile_load(file, &s->opts, err, errlen);
		if (rc != 0)
			return rc;
	}
	cli_apply(s->cli, &s->opts);
	return opts_validate(&s->opts, err, errlen);
}

int main(int argc, char **argv)
{
	struct server *s;
	char err[1024];
	size_t i;
	int rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return 1;
	s->exe = argv[0];
	rc = cli_parse(argc, argv, &s->cli, err, sizeof(err));
	if (rc != 0) {
		free(s);
		return cli_report_error(rc, err, stdout, stderr);
	}
	if (cli_want_help(s->cli)) {
		cli_usage(stdout);
		cli_free(s->cli);
		free(s);
		return 0;
	}
	if (cli_want_version(s->cli)) {
		printf("natsd: v%s (nats-server v%s compatible)\n",
		       PACKAGE_VERSION, NATSD_COMPAT_VERSION);
		cli_free(s->cli);
		free(s);
		return 0;
	}
	/* A signal for a running server needs no config of our own. */
	if (cli_signal(s->cli) != NULL) {
		rc = signal_cmd_run(cli_signal(s->cli), argv[0], err,
				    sizeof(err));
		if (rc != 0)
			fprintf(stderr, "natsd: %s\n", err);
		cli_free(s->cli);
		free(s);
		return rc != 0;
	}
	rc = load_options(s, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "natsd: %s\n", err);
		server_free(s);
		free(s);
		return 1;
	}
	if (cli_check_config(s->cli)) {
		for (i = 0; i < s->opts.conf_warnings.n; i++)
			fprintf(stderr, "natsd: warning: %s\n",
				s->opts.conf_warnings.v[i]);
		/* nats-server's line, and which of the two formats it was. */
		if (cli_config_file(s->cli) != NULL)
			fprintf(stderr,
				"natsd: configuration file %s is valid "
				"(%s format)\n",
				cli_config_file(s->cli), s->opts.config_format);
		else
			fprintf(stderr, "natsd: configuration file (none) is "
					"valid\n");
		server_free(s);
		free(s);
		return 0;
	}
	if (server_configure_log(s) != 0) {
		server_free(s);
		free(s);
		return 1;
	}
	server_log_conf_warnings(s);
	rc = server_start(s);
	if (rc == 0)
		rc = server_run(s);
	else
		rc = 1;
	server_free(s);
	free(s);
	return rc;
}
