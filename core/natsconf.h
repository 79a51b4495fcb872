/* Reader for nats-server's configuration format.
 *
 * The text is parsed into a tree of values; the caller owns the root and
 * frees it with natsconf_free(). Every value remembers the file and line
 * it came from so that the consumer can report "FILE:LINE: what is wrong"
 * about a setting it does not like. Pointers returned by the accessors are
 * borrowed from the tree and live as long as it does.
 */
#ifndef NATSD_NATSCONF_H
#define NATSD_NATSCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum natsconf_type {
	NATSCONF_STRING = 1,
	NATSCONF_INT,
	NATSCONF_FLOAT,
	NATSCONF_BOOL,
	NATSCONF_MAP,
	NATSCONF_ARRAY,
};

struct natsconf_value;

/* Both return 0 or a negative NATSD_E* code with err set to
 * "FILE:LINE: what is wrong". On success *out is a map. */
int natsconf_parse_file(const char *path, struct natsconf_value **out,
			char *err, size_t errlen);
int natsconf_parse_string(const char *text, const char *name,
			  struct natsconf_value **out, char *err,
			  size_t errlen);
void natsconf_free(struct natsconf_value *v);

/* The whole text of a file, NUL-terminated, for natsconf_parse_string()
 * (the caller frees it); NULL with *errnum set when it cannot be read, is
 * a directory (EISDIR), holds a NUL byte (EINVAL) or is larger than 64 MiB
 * (EFBIG). natsconf_read_error() says which in words. */
char *natsconf_read_file(const char *path, int *errnum);
const char *natsconf_read_error(int errnum);

enum natsconf_type natsconf_type(const struct natsconf_value *v);
int natsconf_line(const struct natsconf_value *v);
const char *natsconf_file(const struct natsconf_value *v);

/* Case-insensitive, as nats-server; the last of duplicate keys wins. */
struct natsconf_value *natsconf_map_get(const struct natsconf_value *map,
					const char *key);
size_t natsconf_map_size(const struct natsconf_value *map);
const char *natsconf_map_key(const struct natsconf_value *map, size_t i);
struct natsconf_value *natsconf_map_value(const struct natsconf_value *map,
					  size_t i);

size_t natsconf_array_size(const struct natsconf_value *arr);
struct natsconf_value *natsconf_array_get(const struct natsconf_value *arr,
					  size_t i);

/* NULL, 0, 0.0 or false when the value has another type. */
const char *natsconf_string(const struct natsconf_value *v);
int64_t natsconf_int(const struct natsconf_value *v);
double natsconf_float(const struct natsconf_value *v);
int natsconf_bool(const struct natsconf_value *v);

/* Whether a $name reference used the value of this key: nats-server
 * does not call such a key unknown. */
bool natsconf_used_variable(const struct natsconf_value *v);

/* One pointer of the caller's on each value, NULL at first; the tree
 * never frees it. */
/* Adds key = b to a map that lacks it (a setting the reader of the map
 * carries from elsewhere, like the top-level allow_non_tls into tls {}).
 * 0, NATSD_EEXIST (present, or not a map) or NATSD_ENOMEM. */
int natsconf_map_set_bool(struct natsconf_value *map, const char *key,
			  bool b);

void natsconf_set_hook(struct natsconf_value *v, void *hook);
void *natsconf_hook(const struct natsconf_value *v);

#endif
