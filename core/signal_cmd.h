/* --signal: send a signal to a running server, as nats-server's
 * -sl/--signal does: "<cmd>[=<pid or pid file>]" with cmd one of stop,
 * quit, term, reopen, reload, ldm. Without a pid the one running process
 * named like this program is the target. */
#ifndef NATSD_SIGNAL_CMD_H
#define NATSD_SIGNAL_CMD_H

#include <stddef.h>

/* Returns 0, or a negative code with nats-server's message in err (for
 * "natsd: <err>"). exe is argv[0]. */
int signal_cmd_run(const char *arg, const char *exe, char *err, size_t errlen);

#endif
