/* What a reload changes, logged as nats-server logs it: one line
 * "Reloaded: <option> = <value>" (or "Reloaded: <option>" for lists such
 * as the users) per changed option, before "Reloaded server
 * configuration". */
#ifndef NATSD_RELOAD_DIFF_H
#define NATSD_RELOAD_DIFF_H

#include <stddef.h>
#include <stdint.h>

struct opts;

/* Logs the options that differ between cur (in force) and next (read
 * again); returns how many lines it logged. */
int reload_diff_log(const struct opts *cur, const struct opts *next);

/* Go's time.Duration.String() of ns ("30s", "2m0s", "1h0m0s", "500ms")
 * into buf. */
void reload_diff_duration(int64_t ns, char *buf, size_t len);

#endif
