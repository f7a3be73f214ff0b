/* Internals of the configuration loader, shared by its files: the YAML
 * reader with positions (yaml.c), credentials.yaml (credentials.c),
 * lbcert.yaml (schema.c), profiles (profile.c) and the public entry
 * points (config.c). */
#ifndef LB_CONFIG_INT_H
#define LB_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "config/config.h"
#include "util/err.h"

/* Configuration files are a few kilobytes; a larger one is a mistake. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* A dotted key path such as "devices.adc1.tls.pin_sha256" for messages. */
#define PATH_LEN 256
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define TRY(x) do { if ((rc = (x)) != 0) return rc; } while (0)

struct ydoc {
	char *file;		/* as shown in messages */
	yaml_document_t doc;
	bool loaded;
	bool secret;		/* wipe scalars before freeing */
};

/* A key of a mapping and its value, NULL when the key is absent. */
struct field {
	yaml_node_t *k, *v;
};

struct loader {
	struct config *c;
	const struct cfg_kinds *kinds;
	struct ydoc main, cred;
	struct err *e;
	/* profiles/ file stems, sorted: a further key's profile name must
	 * not be one of them */
	char **stems;
	size_t nstems;
};

enum vkind { VK_MAP, VK_LIST, VK_NULL, VK_BOOL, VK_INT, VK_FLOAT, VK_STR };

/* yaml.c */
int perr(const struct ydoc *d, const yaml_node_t *n, struct err *e,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int oom(struct err *e);
const char *sval(const yaml_node_t *n);
yaml_node_t *node(const struct ydoc *d, int id);
bool is_int_text(const char *s);
enum vkind vkind(const yaml_node_t *n);
const char *kind_name(const yaml_node_t *n);
const char *pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *pjoin(char *buf, const char *prefix, const char *key);
int map_check(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct err *e);
size_t map_len(const yaml_node_t *n);
int map_collect(const struct ydoc *d, yaml_node_t *n, const char *path,
    const char *const *keys, size_t nkeys, struct field *f, struct err *e);
int need(const struct ydoc *d, yaml_node_t *map, const struct field *f,
    const char *path, const char *key, struct err *e);
int get_str(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e);
int get_long(const struct ydoc *d, yaml_node_t *v, const char *path, long min,
    long max, long *out, struct err *e);
int get_int(const struct ydoc *d, yaml_node_t *v, const char *path, int min,
    int max, int *out, struct err *e);
int get_bool(const struct ydoc *d, yaml_node_t *v, const char *path, bool *out,
    struct err *e);
int get_enum(const struct ydoc *d, yaml_node_t *v, const char *path,
    const char *const *names, size_t n, int *out, struct err *e);
int get_url(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e);
int get_list(const struct ydoc *d, yaml_node_t *v, const char *path,
    int (*get)(const struct ydoc *, yaml_node_t *, const char *, char **,
    struct err *), char ***out, size_t *nout, struct err *e);
int get_path(const struct loader *l, const struct ydoc *d, yaml_node_t *v,
    const char *path, char **out, struct err *e);
int ydoc_load(struct ydoc *d, struct err *e);
void ydoc_free(struct ydoc *d);

/* kind.c */
bool kind_takes(const char *const *keys, const char *key);
int get_kind(const struct ydoc *d, yaml_node_t *v, const char *path,
    const struct cfg_kind *const *list, const struct cfg_kind **out, struct err *e);
/* Refuses profile key key (field f) when neither the profile's device kind
 * nor its CA kind takes it. */
int kind_profile_key(const struct loader *l, const struct ydoc *d, const struct field *f,
    const char *key, const struct cfg_profile *p);
/* Places a kind's objection why (at, within mapping map of d) into e:
 * "file:line:col: <prefix><key>: <why>". */
int kind_objection(const struct ydoc *d, yaml_node_t *map, const char *prefix,
    const struct cfg_at *at, const struct err *why, struct err *e);

/* credentials.c */
int load_credentials(struct loader *l);
int device_creds(const struct loader *l, struct cfg_device *dv, yaml_node_t *ref);
int ca_creds(const struct loader *l, struct cfg_ca *ca, yaml_node_t *ref);
/* The credentials.yaml entry name, or NULL. */
yaml_node_t *cred_entry(const struct loader *l, const char *name);

/* schema.c */
int parse_key(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_key *k, struct err *e);
int parse_scm_extra(const struct ydoc *d, const struct field *f, const char *path,
    struct cfg_scm_extra *x, struct err *e);
int parse_main(struct loader *l);

/* hooks.c: n is the hooks: mapping; *h already holds what it inherits
 * (the defaults, for a profile) and keeps it for keys n does not set. */
int parse_hooks(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_hooks *h, struct err *e);
int hooks_copy(struct cfg_hooks *dst, const struct cfg_hooks *src, struct err *e);

/* profile.c */
int load_profiles(struct loader *l);

#endif
