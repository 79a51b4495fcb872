/* A mutation fuzzer for the nats-server config reader and its mapping.
 *
 *   tools/natsconf_fuzz SECONDS SEED FILE...
 *
 * Takes the files as a corpus and, for SECONDS, feeds random mutations of
 * them (byte flips, inserted punctuation and keywords, deleted and
 * duplicated ranges, splices of two files) to natsconf_parse_string();
 * what parses is mapped onto a struct opts and walked through the
 * section getters, and every 64th input also goes through conffile_load()
 * (format detection, both parsers). Build with --enable-sanitizers: a
 * crash, a sanitizer report or a leak is a finding. Prints how many runs
 * there were and how many parsed. Not part of `make check`.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conffile.h"
#include "natsconf.h"
#include "natsconf_opts.h"
#include "opts.h"

#define MAX_INPUT (64 * 1024)

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t below(size_t n)
{
	return n == 0 ? 0 : (size_t)(next() % n);
}

static const char *const tokens[] = {
	"{",
	"}",
	"[",
	"]",
	"\"",
	"'",
	"$",
	":",
	"=",
	",",
	";",
	"#",
	"//",
	"\n",
	"\\",
	" ",
	"\t",
	"include ",
	"$VAR",
	"-1",
	"1MB",
	"2m",
	"\"10s\"",
	"true",
	"null",
	"9999999999999999999999",
	"1.5",
	"0x10",
	"10L",
	"(",
	")",
	"@include \"x\"",
	"users",
	"authorization",
	"permissions",
	"publish",
	"allow",
	"listen",
	"127.0.0.1:-1",
	"port",
	"\"\\u00e9\"",
	"\\x",
	"\r\n",
	"plugins",
	"settings",
	"load",
	"nkey",
	"tls",
	"cluster",
};

static size_t mutate(char *buf, size_t len, const char *other, size_t olen)
{
	size_t pos, n, k, rounds = 1 + below(4);
	const char *t;

	while (rounds-- > 0) {
		pos = below(len + 1);
		switch (below(6)) {
		case 0: /* flip a byte */
			if (len > 0)
				buf[below(len)] = (char)(next() & 0xff);
			break;
		case 1: /* insert a token */
			t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
			n = strlen(t);
			if (len + n >= MAX_INPUT)
				break;
			memmove(buf + pos + n, buf + pos, len - pos);
			memcpy(buf + pos, t, n);
			len += n;
			break;
		case 2: /* delete a range */
			n = below(len - pos + 1);
			if (n > 64)
				n = below(64);
			memmove(buf + pos, buf + pos + n, len - pos - n);
			len -= n;
			break;
		case 3: /* duplicate a range */
			n = below(len - pos + 1);
			if (n > 256)
				n = 256;
			if (len + n >= MAX_INPUT)
				break;
			memmove(buf + pos + n, buf + pos, len - pos);
			len += n;
			break;
		case 4: /* splice in part of another file */
			if (olen == 0)
				break;
			k = below(olen);
			n = below(olen - k + 1);
			if (len + n >= MAX_INPUT)
				break;
			memmove(buf + pos + n, buf + pos, len - pos);
			memcpy(buf + pos, other + k, n);
			len += n;
			break;
		default: /* truncate */
			len = pos;
			break;
		}
	}
	buf[len] = '\0';
	return len;
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = malloc(MAX_INPUT);
	FILE *f = fopen(path, "r");

	if (buf == NULL || f == NULL) {
		free(buf);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, MAX_INPUT / 2, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Walks every map of the tree through the getters, as a plugin would. */
static void walk(const struct natsd_cfg *c, int depth)
{
	static const char *const keys[] = {
		"port", "users",    "users.[0]", "users.[0].user",
		"a.b",  "settings", "[0]",       "x.[99]",
		".",    "..",       "[",         "[x]",
	};
	const struct natsd_cfg *sub;
	const char *s, *file;
	int64_t i64;
	size_t i, n;
	bool b;
	int line;

	if (c == NULL || depth > 8)
		return;
	conffile_cfg_where(c, NULL, &file, &line);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		conffile_cfg_string(c, keys[i], &s);
		conffile_cfg_int(c, keys[i], &i64);
		conffile_cfg_bool(c, keys[i], &b);
		conffile_cfg_duration(c, keys[i], &i64);
		conffile_cfg_size(c, keys[i], &i64);
		if (conffile_cfg_list_len(c, keys[i], &n) == 0 && n > 0)
			conffile_cfg_list_string(c, keys[i], n - 1, &s);
		conffile_cfg_where(c, keys[i], &file, &line);
		if (conffile_cfg_section(c, keys[i], &sub) == 0)
			walk(sub, depth + 1);
	}
}

int main(int argc, char **argv)
{
	char **corpus, *buf, err[1024], tmpl[] = "/tmp/natsconf_fuzz.XXXXXX";
	size_t *lens, len, ncorpus, i, pick;
	unsigned long runs = 0, parsed = 0, loaded = 0;
	struct natsconf_value *tree;
	char path[sizeof(tmpl) + 16];
	struct opts o;
	time_t end;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: %s SECONDS SEED FILE...\n", argv[0]);
		return 2;
	}
	end = time(NULL) + strtol(argv[1], NULL, 10);
	rng = strtoull(argv[2], NULL, 10) | 1;
	ncorpus = (size_t)argc - 3;
	corpus = calloc(ncorpus, sizeof(*corpus));
	lens = calloc(ncorpus, sizeof(*lens));
	buf = malloc(MAX_INPUT + 1);
	if (corpus == NULL || lens == NULL || buf == NULL ||
	    mkdtemp(tmpl) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/f.conf", tmpl);
	for (i = 0; i < ncorpus; i++) {
		corpus[i] = slurp(argv[3 + i], &lens[i]);
		if (corpus[i] == NULL) {
			fprintf(stderr, "cannot read %s\n", argv[3 + i]);
			return 2;
		}
	}
	/* Includes resolve against the temp directory. */
	if (chdir(tmpl) != 0)
		return 2;
	while (time(NULL) < end) {
		pick = below(ncorpus);
		memcpy(buf, corpus[pick], lens[pick] + 1);
		pick = below(ncorpus);
		len = mutate(buf, strlen(buf), corpus[pick], lens[pick]);
		(void)len;
		runs++;
		if (natsconf_parse_string(buf, "fuzz.conf", &tree, err,
					  sizeof(err)) == 0) {
			parsed++;
			opts_init(&o);
			if (natsconf_opts_load(tree, "fuzz.conf", &o, err,
					       sizeof(err)) == 0)
				loaded++;
			walk(natsconf_opts_root(&o), 0);
			opts_fini(&o);
		}
		if (runs % 64 == 0) {
			f = fopen(path, "w");
			if (f != NULL) {
				fputs(buf, f);
				fclose(f);
				opts_init(&o);
				conffile_load(path, &o, err, sizeof(err));
				walk(conffile_root(&o), 0);
				opts_fini(&o);
			}
		}
	}
	unlink(path);
	rmdir(tmpl);
	printf("runs %lu, parsed %lu, mapped %lu\n", runs, parsed, loaded);
	for (i = 0; i < ncorpus; i++)
		free(corpus[i]);
	free(corpus);
	free(lens);
	free(buf);
	return 0;
}
