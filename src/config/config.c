#include "config/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "config/secret.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

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
	struct ydoc main, cred;
	struct err *e;
};

enum vkind { VK_MAP, VK_LIST, VK_NULL, VK_BOOL, VK_INT, VK_FLOAT, VK_STR };
static const char *const vkind_names[] = {
	"a mapping", "a list", "empty (null)", "a boolean", "an integer",
	"a number", "a string",
};

static const char *const dev_type_names[] = { "citrix-adc", "f5-bigip" };
static const char *const ca_type_names[] = { "sectigo-scm", "acme" };
static const char *const challenge_names[] = { "none", "http-01" };
static const char *const key_type_names[] = { "rsa", "ecdsa" };
static const char *const curve_names[] = { "P-256", "P-384" };

/* ---- errors and YAML node helpers ---- */

static int
perr(const struct ydoc *d, const yaml_node_t *n, struct err *e,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
perr(const struct ydoc *d, const yaml_node_t *n, struct err *e,
    const char *fmt, ...)
{
	char msg[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, LB_ECONFIG, "%s:%zu:%zu: %s", d->file,
	    n->start_mark.line + 1, n->start_mark.column + 1, msg);
}

static int
oom(struct err *e)
{
	return err_set(e, LB_ERR, "out of memory");
}

static const char *
sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static yaml_node_t *
node(const struct ydoc *d, int id)
{
	return yaml_document_get_node((yaml_document_t *)&d->doc, id);
}

static bool
is_int_text(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	return *s == '\0';
}

static bool
is_float_text(const char *s)
{
	bool digits = false;

	if (*s == '+' || *s == '-')
		s++;
	for (; isdigit((unsigned char)*s); s++)
		digits = true;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			digits = true;
	if (digits && (*s == 'e' || *s == 'E')) {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return digits && *s == '\0';
}

/* The YAML 1.2 core schema type of a node: libyaml tags every untagged
 * scalar as a string, so plain scalars are resolved here. */
static enum vkind
vkind(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const bools[] = {
		"true", "True", "TRUE", "false", "False", "FALSE",
	};
	const char *s;

	if (n->type == YAML_MAPPING_NODE)
		return VK_MAP;
	if (n->type == YAML_SEQUENCE_NODE)
		return VK_LIST;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return VK_STR;
	s = sval(n);
	for (size_t i = 0; i < NELEM(nulls); i++)
		if (strcmp(s, nulls[i]) == 0)
			return VK_NULL;
	for (size_t i = 0; i < NELEM(bools); i++)
		if (strcmp(s, bools[i]) == 0)
			return VK_BOOL;
	if (is_int_text(s))
		return VK_INT;
	if (is_float_text(s))
		return VK_FLOAT;
	return VK_STR;
}

static const char *
kind_name(const yaml_node_t *n)
{
	return vkind_names[vkind(n)];
}

/* Formats a key path into a PATH_LEN buffer; a path cut short only makes
 * a message shorter. */
static const char *
pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
pathf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_LEN, fmt, ap);
	va_end(ap);
	return buf;
}

static const char *
pjoin(char *buf, const char *prefix, const char *key)
{
	if (prefix == NULL || *prefix == '\0')
		return pathf(buf, "%s", key);
	return pathf(buf, "%s.%s", prefix, key);
}

static const char *
where(const char *path)
{
	return *path == '\0' ? "top level" : path;
}

static void
join_names(char *buf, size_t len, const char *const *names, size_t n,
    const char *sep)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i == 0 ? "" : sep, names[i]);
}

/* A mapping whose keys are distinct strings. */
static int
map_check(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct err *e)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *k;

	if (n->type != YAML_MAPPING_NODE)
		return perr(d, n, e, "%s must be a mapping, not %s",
		    where(path), kind_name(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = node(d, p->key);
		if (k->type != YAML_SCALAR_NODE || vkind(k) == VK_NULL)
			return perr(d, k, e, "%s: keys must be strings",
			    where(path));
		for (q = n->data.mapping.pairs.start; q < p; q++)
			if (strcmp(sval(node(d, q->key)), sval(k)) == 0)
				return perr(d, k, e, "%s: duplicate key '%s'",
				    where(path), sval(k));
	}
	return 0;
}

static size_t
map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* Finds keys[i] of mapping n in f[i]; refuses any other key. */
static int
map_collect(const struct ydoc *d, yaml_node_t *n, const char *path,
    const char *const *keys, size_t nkeys, struct field *f, struct err *e)
{
	yaml_node_pair_t *p;
	yaml_node_t *k;
	char list[512];
	size_t i;
	int rc;

	memset(f, 0, nkeys * sizeof(*f));
	TRY(map_check(d, n, path, e));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = node(d, p->key);
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i], sval(k)) == 0)
				break;
		if (i == nkeys) {
			join_names(list, sizeof(list), keys, nkeys, ", ");
			return perr(d, k, e, "%s: unknown key '%s' "
			    "(expected one of: %s)", where(path), sval(k), list);
		}
		f[i].k = k;
		f[i].v = node(d, p->value);
	}
	return 0;
}

static int
need(const struct ydoc *d, yaml_node_t *map, const struct field *f,
    const char *path, const char *key, struct err *e)
{
	if (f->v != NULL)
		return 0;
	return perr(d, map, e, "%s: missing required key '%s'", where(path),
	    key);
}

/* ---- typed values ---- */

static int
get_str(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e)
{
	enum vkind k = vkind(v);

	if (k != VK_STR && k != VK_INT && k != VK_FLOAT)
		return perr(d, v, e, "%s must be a string, not %s", path,
		    vkind_names[k]);
	if (strlen(sval(v)) != v->data.scalar.length)
		return perr(d, v, e, "%s contains a NUL character", path);
	if (v->data.scalar.length == 0)
		return perr(d, v, e, "%s must not be empty", path);
	free(*out);
	if ((*out = strdup(sval(v))) == NULL)
		return oom(e);
	return 0;
}

static int
get_long(const struct ydoc *d, yaml_node_t *v, const char *path, long min,
    long max, long *out, struct err *e)
{
	long n;

	if (vkind(v) != VK_INT)
		return perr(d, v, e, "%s must be an integer, not %s", path,
		    kind_name(v));
	errno = 0;
	n = strtol(sval(v), NULL, 10);
	if (errno != 0 || n < min || n > max)
		return perr(d, v, e, "%s must be between %ld and %ld, not %s",
		    path, min, max, sval(v));
	*out = n;
	return 0;
}

static int
get_int(const struct ydoc *d, yaml_node_t *v, const char *path, int min,
    int max, int *out, struct err *e)
{
	long n;
	int rc;

	TRY(get_long(d, v, path, min, max, &n, e));
	*out = (int)n;
	return 0;
}

static int
get_bool(const struct ydoc *d, yaml_node_t *v, const char *path, bool *out,
    struct err *e)
{
	if (vkind(v) != VK_BOOL)
		return perr(d, v, e, "%s must be true or false, not %s", path,
		    kind_name(v));
	*out = tolower((unsigned char)sval(v)[0]) == 't';
	return 0;
}

static int
get_enum(const struct ydoc *d, yaml_node_t *v, const char *path,
    const char *const *names, size_t n, int *out, struct err *e)
{
	char *s = NULL, list[256];
	int rc;

	TRY(get_str(d, v, path, &s, e));
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			free(s);
			return 0;
		}
	join_names(list, sizeof(list), names, n, " | ");
	rc = perr(d, v, e, "%s: unsupported value '%s' (expected %s)", path,
	    s, list);
	free(s);
	return rc;
}

static int
get_url(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e)
{
	const char *s;
	int rc;

	TRY(get_str(d, v, path, out, e));
	s = *out;
	if (strncasecmp(s, "https://", 8) != 0 || s[8] == '\0' ||
	    s[8] == '/' || strpbrk(s, " \t\r\n") != NULL)
		return perr(d, v, e, "%s: '%s' is not an https:// URL", path, s);
	return 0;
}

/* A list of scalars, each checked by get (get_str or get_url). */
static int
get_list(const struct ydoc *d, yaml_node_t *v, const char *path,
    int (*get)(const struct ydoc *, yaml_node_t *, const char *, char **,
    struct err *), char ***out, size_t *nout, struct err *e)
{
	yaml_node_item_t *it;
	char p[PATH_LEN];
	size_t n;
	int rc;

	if (v->type != YAML_SEQUENCE_NODE)
		return perr(d, v, e, "%s must be a list, not %s", path,
		    kind_name(v));
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > 0 && (*out = calloc(n, sizeof(**out))) == NULL)
		return oom(e);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	    it++) {
		pathf(p, "%s[%zu]", path, *nout);
		/* Counted first so that config_free frees a rejected item. */
		(*nout)++;
		TRY(get(d, node(d, *it), p, &(*out)[*nout - 1], e));
	}
	return 0;
}

/* Relative paths are taken from the configuration directory, not from
 * whatever directory cron started us in. */
static int
get_path(const struct loader *l, const struct ydoc *d, yaml_node_t *v,
    const char *path, char **out, struct err *e)
{
	char *s = NULL, *abs;
	int rc;

	TRY(get_str(d, v, path, &s, e));
	if (s[0] == '/') {
		*out = s;
		return 0;
	}
	abs = xasprintf("%s/%s", l->c->dir, s);
	free(s);
	if (abs == NULL)
		return oom(e);
	*out = abs;
	return 0;
}

/* ---- loading a file ---- */

static int
read_whole(const char *path, bool secret, char **buf, size_t *len,
    struct err *e)
{
	struct stat st;
	ssize_t n;
	int fd, rc = LB_ECONFIG;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(e, errno == ENOENT ? LB_ENOTFOUND : LB_ECONFIG,
		    "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(e, LB_ECONFIG, "%s: not a regular file", path);
		goto out;
	}
	if (secret && secret_check_stat(path, &st, e) != 0)
		goto out;
	/* anyone could point a profile at their own device or CA */
	if (!secret && (st.st_mode & S_IWOTH) != 0) {
		err_set(e, LB_ECONFIG, "%s: mode %04o lets anyone change it; refusing it "
		    "(chmod o-w %s)", path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		err_set(e, LB_ECONFIG, "%s: larger than %d bytes", path,
		    CONFIG_FILE_MAX);
		goto out;
	}
	if ((*buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = oom(e);
		goto out;
	}
	while (*len < (size_t)st.st_size &&
	    (n = read(fd, *buf + *len, (size_t)st.st_size - *len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, LB_ECONFIG, "%s: %s", path, strerror(errno));
			goto out;
		}
		*len += (size_t)n;
	}
	(*buf)[*len] = '\0';
	rc = 0;
out:
	if (rc != 0 && *buf != NULL) {
		/* a read cut short may still have brought secrets in */
		if (secret)
			OPENSSL_cleanse(*buf, *len);
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return rc;
}

static int
syntax_error(const struct ydoc *d, const yaml_parser_t *p, const char *buf,
    size_t len, struct err *e)
{
	size_t line = p->problem_mark.line, col = p->problem_mark.column;
	const char *what = p->problem != NULL ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return oom(e);
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		line = col = 0;
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 0;
			} else
				col++;
		}
	}
	if (p->context != NULL)
		return err_set(e, LB_ECONFIG, "%s:%zu:%zu: YAML syntax error: "
		    "%s (%s at line %zu)", d->file, line + 1, col + 1, what,
		    p->context, p->context_mark.line + 1);
	return err_set(e, LB_ECONFIG, "%s:%zu:%zu: YAML syntax error: %s",
	    d->file, line + 1, col + 1, what);
}

static void
parser_wipe(yaml_parser_t *p)
{
	if (p->buffer.start != NULL)
		OPENSSL_cleanse(p->buffer.start,
		    (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start != NULL)
		OPENSSL_cleanse(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
}

static int
parse_doc(struct ydoc *d, yaml_parser_t *p, const char *buf, size_t len,
    struct err *e)
{
	yaml_document_t extra;
	yaml_node_t *root;
	int rc = 0;

	if (!yaml_parser_load(p, &d->doc))
		return syntax_error(d, p, buf, len, e);
	d->loaded = true;
	if (!yaml_parser_load(p, &extra))
		return syntax_error(d, p, buf, len, e);
	if ((root = yaml_document_get_root_node(&extra)) != NULL)
		rc = err_set(e, LB_ECONFIG, "%s:%zu:%zu: only one YAML "
		    "document is allowed in this file", d->file,
		    extra.start_mark.line + 1, extra.start_mark.column + 1);
	yaml_document_delete(&extra);
	return rc;
}

static int
ydoc_load(struct ydoc *d, struct err *e)
{
	yaml_parser_t p;
	char *buf = NULL;
	size_t len;
	int rc;

	if ((rc = read_whole(d->file, d->secret, &buf, &len, e)) != 0)
		return rc;
	if (!yaml_parser_initialize(&p)) {
		if (d->secret)
			OPENSSL_cleanse(buf, len);
		free(buf);
		return oom(e);
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	rc = parse_doc(d, &p, buf, len, e);
	if (d->secret) {
		parser_wipe(&p);
		OPENSSL_cleanse(buf, len);
	}
	yaml_parser_delete(&p);
	free(buf);
	return rc;
}

static void
ydoc_free(struct ydoc *d)
{
	if (d->loaded && d->secret)
		for (yaml_node_t *n = d->doc.nodes.start; n < d->doc.nodes.top;
		    n++)
			if (n->type == YAML_SCALAR_NODE)
				OPENSSL_cleanse(n->data.scalar.value,
				    n->data.scalar.length);
	if (d->loaded)
		yaml_document_delete(&d->doc);
	d->loaded = false;
	free(d->file);
	d->file = NULL;
}

/* ---- credentials.yaml ---- */

static const char *const cred_fields[] = {
	"username", "password", "login", "eab_kid", "eab_hmac_key",
};

/* "password" for "password" and "password_file"; NULL when unknown. */
static const char *
cred_base(const char *key, const char *const *allowed, size_t n, bool *file)
{
	size_t len = strlen(key);

	*file = len > 5 && strcmp(key + len - 5, "_file") == 0;
	if (*file)
		len -= 5;
	for (size_t i = 0; i < n; i++)
		if (strlen(allowed[i]) == len &&
		    strncmp(key, allowed[i], len) == 0)
			return allowed[i];
	return NULL;
}

static int
check_cred_entry(const struct ydoc *d, yaml_node_t *k, yaml_node_t *n,
    struct err *e)
{
	yaml_node_pair_t *p, *q;
	const char *base, *qbase;
	yaml_node_t *key, *v;
	char path[PATH_LEN];
	bool file, qfile;
	int rc;

	TRY(map_check(d, n, sval(k), e));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		key = node(d, p->key);
		v = node(d, p->value);
		base = cred_base(sval(key), cred_fields, NELEM(cred_fields),
		    &file);
		if (base == NULL)
			return perr(d, key, e, "%s: unknown key '%s' (expected "
			    "username, password, login, eab_kid, eab_hmac_key "
			    "or one of them with _file)", sval(k), sval(key));
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			qbase = cred_base(sval(node(d, q->key)), cred_fields,
			    NELEM(cred_fields), &qfile);
			if (qbase == base)
				return perr(d, key, e, "%s: give %s or %s_file, "
				    "not both", sval(k), base, base);
		}
		if (vkind(v) != VK_STR && vkind(v) != VK_INT &&
		    vkind(v) != VK_FLOAT) {
			pathf(path, "%s.%s", sval(k),
			    sval(key));
			return perr(d, v, e, "%s must be a string, not %s",
			    path, kind_name(v));
		}
	}
	return 0;
}

static int
load_credentials(struct loader *l)
{
	struct ydoc *d = &l->cred;
	yaml_node_pair_t *p;
	yaml_node_t *root;
	int rc;

	if ((rc = ydoc_load(d, l->e)) == LB_ENOTFOUND) {
		/* Only an error when something refers to an entry. */
		err_clear(l->e);
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((root = yaml_document_get_root_node(&d->doc)) == NULL)
		return 0;
	TRY(map_check(d, root, "", l->e));
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++)
		TRY(check_cred_entry(d, node(d, p->key), node(d, p->value),
		    l->e));
	return 0;
}

static yaml_node_t *
cred_entry(const struct loader *l, const char *name)
{
	const struct ydoc *d = &l->cred;
	yaml_node_pair_t *p;
	yaml_node_t *root;

	if (!d->loaded || (root = yaml_document_get_root_node(
	    (yaml_document_t *)&d->doc)) == NULL)
		return NULL;
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++)
		if (strcmp(sval(node(d, p->key)), name) == 0)
			return node(d, p->value);
	return NULL;
}

/* The entry credentials: NAME of a device or CA, or an error at that
 * reference when credentials.yaml has no such entry. */
static int
cred_lookup(const struct loader *l, yaml_node_t *ref, const char *refpath,
    const char *name, const char *const *allowed, size_t nallowed,
    const char *user, yaml_node_t **entry)
{
	const struct ydoc *d = &l->cred;
	yaml_node_pair_t *p;
	yaml_node_t *k;
	bool file;

	if ((*entry = cred_entry(l, name)) == NULL)
		return perr(&l->main, ref, l->e, "%s: no entry '%s' in %s%s",
		    refpath, name, d->file,
		    d->loaded ? "" : " (the file does not exist)");
	for (p = (*entry)->data.mapping.pairs.start;
	    p < (*entry)->data.mapping.pairs.top; p++) {
		k = node(d, p->key);
		if (cred_base(sval(k), allowed, nallowed, &file) == NULL)
			return perr(d, k, l->e, "%s: key '%s' is not used by "
			    "%s", name, sval(k), user);
	}
	return 0;
}

/* Resolves FIELD (or FIELD_file) of a credentials entry into *out. */
static int
cred_get(const struct loader *l, yaml_node_t *entry, const char *ename,
    const char *field, bool required, bool secret, char **out)
{
	const struct ydoc *d = &l->cred;
	yaml_node_t *v = NULL, *fv = NULL, *k;
	yaml_node_pair_t *p;
	struct err tmp = { 0 };
	char *path = NULL;
	size_t flen = strlen(field);
	int rc;

	for (p = entry->data.mapping.pairs.start;
	    p < entry->data.mapping.pairs.top; p++) {
		k = node(d, p->key);
		if (strcmp(sval(k), field) == 0)
			v = node(d, p->value);
		else if (strncmp(sval(k), field, flen) == 0 &&
		    strcmp(sval(k) + flen, "_file") == 0)
			fv = node(d, p->value);
	}
	if (v == NULL && fv == NULL) {
		if (!required)
			return 0;
		return perr(d, entry, l->e, "%s: missing required key '%s' "
		    "(or %s_file)", ename, field, field);
	}
	if (v != NULL) {
		if ((rc = secret_resolve_value(sval(v), out, &tmp)) != 0)
			return perr(d, v, l->e, "%s.%s: %s", ename, field,
			    tmp.msg);
	} else {
		if (sval(fv)[0] == '/')
			path = xstrdup(sval(fv));
		else
			path = xasprintf("%s/%s", l->c->dir, sval(fv));
		if (path == NULL)
			return oom(l->e);
		rc = secret_resolve_file(path, out, &tmp);
		free(path);
		if (rc != 0)
			return perr(d, fv, l->e, "%s.%s_file: %s", ename, field,
			    tmp.msg);
	}
	if (secret)
		log_secret_add(*out);
	return 0;
}

static int
device_creds(const struct loader *l, struct cfg_device *dv, yaml_node_t *ref)
{
	static const char *const allowed[] = { "username", "password" };
	char path[PATH_LEN], user[PATH_LEN];
	yaml_node_t *entry;
	int rc;

	pathf(path, "devices.%s.credentials", dv->name);
	pathf(user, "device '%s'", dv->name);
	TRY(cred_lookup(l, ref, path, dv->credentials, allowed,
	    NELEM(allowed), user, &entry));
	TRY(cred_get(l, entry, dv->credentials, "username", true, false,
	    &dv->username));
	return cred_get(l, entry, dv->credentials, "password", true, true,
	    &dv->password);
}

static int
ca_creds(const struct loader *l, struct cfg_ca *ca, yaml_node_t *ref)
{
	static const char *const scm[] = { "login", "password" };
	static const char *const acme[] = { "eab_kid", "eab_hmac_key" };
	char path[PATH_LEN], user[PATH_LEN];
	const char *n = ca->credentials;
	yaml_node_t *entry;
	int rc;

	pathf(path, "cas.%s.credentials", ca->name);
	pathf(user, "%s CA '%s'", ca_type_names[ca->type],
	    ca->name);
	if (ca->type == CA_SECTIGO_SCM) {
		TRY(cred_lookup(l, ref, path, n, scm, NELEM(scm), user,
		    &entry));
		TRY(cred_get(l, entry, n, "login", true, false, &ca->login));
		return cred_get(l, entry, n, "password", true, true,
		    &ca->password);
	}
	TRY(cred_lookup(l, ref, path, n, acme, NELEM(acme), user, &entry));
	TRY(cred_get(l, entry, n, "eab_kid", false, true, &ca->eab_kid));
	TRY(cred_get(l, entry, n, "eab_hmac_key", false, true,
	    &ca->eab_hmac_key));
	if ((ca->eab_kid == NULL) != (ca->eab_hmac_key == NULL))
		return perr(&l->cred, entry, l->e, "%s: eab_kid and "
		    "eab_hmac_key go together; '%s' is missing", n,
		    ca->eab_kid == NULL ? "eab_kid" : "eab_hmac_key");
	return 0;
}

/* ---- lbcert.yaml ---- */

static int
parse_key(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_key *k, struct err *e)
{
	static const char *const keys[] = { "type", "size", "curve" };
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int t, v, rc;

	TRY(map_collect(d, n, path, keys, NELEM(keys), f, e));
	TRY(need(d, n, &f[0], path, "type", e));
	TRY(get_enum(d, f[0].v, pjoin(p, path, "type"), key_type_names,
	    NELEM(key_type_names), &t, e));
	if (t == KEY_RSA) {
		if (f[2].v != NULL)
			return perr(d, f[2].k, e, "%s: curve is for ecdsa keys, "
			    "not rsa (use size)", path);
		*k = (struct cfg_key){ KEY_RSA, 2048, CURVE_NONE };
		if (f[1].v == NULL)
			return 0;
		TRY(get_int(d, f[1].v, pjoin(p, path, "size"), 0, INT_MAX,
		    &v, e));
		if (v != 2048 && v != 3072 && v != 4096)
			return perr(d, f[1].v, e, "%s: unsupported RSA key size "
			    "%d (expected 2048 | 3072 | 4096)", p, v);
		k->size = v;
		return 0;
	}
	if (f[1].v != NULL)
		return perr(d, f[1].k, e, "%s: size is for rsa keys, not ecdsa "
		    "(use curve)", path);
	*k = (struct cfg_key){ KEY_ECDSA, 0, CURVE_P256 };
	if (f[2].v == NULL)
		return 0;
	TRY(get_enum(d, f[2].v, pjoin(p, path, "curve"), curve_names,
	    NELEM(curve_names), &v, e));
	k->curve = v == 0 ? CURVE_P256 : CURVE_P384;
	return 0;
}

/* "AB:CD:..." from 64 hex digits, with or without colons. */
static int
norm_pin(const char *s, char *out)
{
	bool colons = strchr(s, ':') != NULL;
	size_t i = 0, j = 0;

	if (strlen(s) != (colons ? 95 : 64))
		return -1;
	for (int b = 0; b < 32; b++) {
		if (!isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1]))
			return -1;
		out[j++] = (char)toupper((unsigned char)s[i++]);
		out[j++] = (char)toupper((unsigned char)s[i++]);
		if (b == 31)
			break;
		if (colons && s[i++] != ':')
			return -1;
		out[j++] = ':';
	}
	out[j] = '\0';
	return 0;
}

/* One fingerprint at v into out (96 bytes), normalised. */
static int
get_pin(const struct ydoc *d, yaml_node_t *v, const char *path, char *out,
    struct err *e)
{
	char *s = NULL;
	int rc;

	TRY(get_str(d, v, path, &s, e));
	rc = norm_pin(s, out);
	if (rc != 0)
		rc = perr(d, v, e, "%s: '%s' is not a SHA-256 fingerprint (32 "
		    "hex bytes, colons optional)", path, s);
	free(s);
	return rc;
}

/* pin_sha256: one fingerprint, or a list of them (an HA pair's units each
 * have their own certificate), stored joined with ",". */
static int
parse_pins(const struct ydoc *d, yaml_node_t *v, const char *path,
    char **out, struct err *e)
{
	char p[PATH_LEN], pin[96], all[HTTP_PIN_MAX * 96];
	yaml_node_t *item;
	size_t n, off = 0;
	int rc;

	all[0] = '\0';
	if (v->type == YAML_MAPPING_NODE)
		return perr(d, v, e, "%s must be a fingerprint or a list of "
		    "fingerprints, not a mapping", path);
	if (v->type != YAML_SEQUENCE_NODE) {
		TRY(get_pin(d, v, path, pin, e));
		return (*out = strdup(pin)) == NULL ? oom(e) : 0;
	}
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n == 0)
		return perr(d, v, e, "%s: the list is empty; give at least one "
		    "fingerprint", path);
	for (size_t i = 0; i < n; i++) {
		item = node(d, v->data.sequence.items.start[i]);
		pathf(p, "%s[%zu]", path, i);
		if (i == HTTP_PIN_MAX)
			return perr(d, item, e, "%s: more than %d fingerprints",
			    path, HTTP_PIN_MAX);
		if (item->type != YAML_SCALAR_NODE)
			return perr(d, item, e, "%s must be a fingerprint, not %s",
			    p, kind_name(item));
		TRY(get_pin(d, item, p, pin, e));
		if (strstr(all, pin) != NULL)
			return perr(d, item, e, "%s: fingerprint %s is listed "
			    "twice", p, pin);
		off += (size_t)snprintf(all + off, sizeof(all) - off, "%s%s",
		    i == 0 ? "" : ",", pin);
	}
	return (*out = strdup(all)) == NULL ? oom(e) : 0;
}

static int
parse_tls(const struct loader *l, yaml_node_t *n, const char *path,
    struct cfg_tls *t)
{
	static const char *const keys[] = { "ca_file", "pin_sha256",
	    "insecure" };
	const struct ydoc *d = &l->main;
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int rc;

	TRY(map_collect(d, n, path, keys, NELEM(keys), f, l->e));
	if (f[0].v != NULL && f[1].v != NULL)
		return perr(d, f[1].k, l->e, "%s: give ca_file or pin_sha256, "
		    "not both", path);
	if (f[0].v != NULL)
		TRY(get_path(l, d, f[0].v, pjoin(p, path, "ca_file"),
		    &t->ca_file, l->e));
	if (f[1].v != NULL)
		TRY(parse_pins(d, f[1].v, pjoin(p, path, "pin_sha256"),
		    &t->pin_sha256, l->e));
	if (f[2].v != NULL) {
		TRY(get_bool(d, f[2].v, pjoin(p, path, "insecure"),
		    &t->insecure, l->e));
		if (t->insecure && (f[0].v != NULL || f[1].v != NULL))
			return perr(d, f[2].v, l->e, "%s: insecure: true "
			    "contradicts ca_file/pin_sha256", path);
	}
	return 0;
}

enum {
	DK_TYPE, DK_URL, DK_PEERS, DK_CRED, DK_TLS, DK_TIMEOUT, DK_PARTITION,
	DK_SYNC, DK_N
};
static const char *const dev_keys[DK_N] = {
	"type", "url", "peers", "credentials", "tls", "timeout_s", "partition",
	"sync_group",
};

static int
parse_device(const struct loader *l, yaml_node_t *n, struct cfg_device *dv)
{
	const struct ydoc *d = &l->main;
	struct field f[DK_N];
	char path[PATH_LEN], p[PATH_LEN];
	int t, rc;

	dv->timeout_s = 30;
	pathf(path, "devices.%s", dv->name);
	TRY(map_collect(d, n, path, dev_keys, DK_N, f, l->e));
	TRY(need(d, n, &f[DK_TYPE], path, "type", l->e));
	TRY(need(d, n, &f[DK_URL], path, "url", l->e));
	TRY(need(d, n, &f[DK_CRED], path, "credentials", l->e));
	TRY(get_enum(d, f[DK_TYPE].v, pjoin(p, path, "type"), dev_type_names,
	    NELEM(dev_type_names), &t, l->e));
	dv->type = t;
	TRY(get_url(d, f[DK_URL].v, pjoin(p, path, "url"), &dv->url, l->e));
	if (f[DK_PEERS].v != NULL)
		TRY(get_list(d, f[DK_PEERS].v, pjoin(p, path, "peers"), get_url,
		    &dv->peers, &dv->npeers, l->e));
	TRY(get_str(d, f[DK_CRED].v, pjoin(p, path, "credentials"),
	    &dv->credentials, l->e));
	if (f[DK_TLS].v != NULL)
		TRY(parse_tls(l, f[DK_TLS].v, pjoin(p, path, "tls"), &dv->tls));
	if (f[DK_TIMEOUT].v != NULL)
		TRY(get_int(d, f[DK_TIMEOUT].v, pjoin(p, path, "timeout_s"), 1,
		    3600, &dv->timeout_s, l->e));
	for (int i = DK_PARTITION; i <= DK_SYNC; i++)
		if (f[i].v != NULL && dv->type != DEV_F5_BIGIP)
			return perr(d, f[i].k, l->e, "%s: %s is for f5-bigip "
			    "devices only", path, dev_keys[i]);
	if (f[DK_PARTITION].v != NULL)
		TRY(get_str(d, f[DK_PARTITION].v, pjoin(p, path, "partition"),
		    &dv->partition, l->e));
	else if (dv->type == DEV_F5_BIGIP &&
	    (dv->partition = strdup("Common")) == NULL)
		return oom(l->e);
	if (f[DK_SYNC].v != NULL)
		TRY(get_str(d, f[DK_SYNC].v, pjoin(p, path, "sync_group"),
		    &dv->sync_group, l->e));
	return device_creds(l, dv, f[DK_CRED].v);
}

enum {
	CK_TYPE, CK_CAFILE, CK_TIMEOUT, CK_CRED,
	CK_URL, CK_CUST, CK_ORG, CK_CERTTYPE, CK_TERM, CK_POLL,	/* scm */
	CK_CUSTOM, CK_DCVMODE, CK_DCVEMAIL,			/* scm */
	CK_DIR, CK_CONTACT, CK_CHALLENGE, CK_PREF,		/* acme */
	CK_N
};
static const char *const ca_keys[CK_N] = {
	"type", "ca_file", "timeout_s", "credentials",
	"url", "customer_uri", "org_id", "cert_type", "term", "poll",
	"custom_fields", "dcv_mode", "dcv_email",
	"directory", "contact", "challenge", "preferred_chain",
};

static int
parse_poll(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_ca *ca, struct err *e)
{
	static const char *const keys[] = { "interval_s", "timeout_s" };
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int rc;

	TRY(map_collect(d, n, path, keys, NELEM(keys), f, e));
	if (f[0].v != NULL)
		TRY(get_int(d, f[0].v, pjoin(p, path, "interval_s"), 1, 3600,
		    &ca->poll_interval_s, e));
	if (f[1].v != NULL)
		TRY(get_int(d, f[1].v, pjoin(p, path, "timeout_s"), 1, 86400,
		    &ca->poll_timeout_s, e));
	return 0;
}

static int
get_mailto(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e)
{
	int rc;

	TRY(get_str(d, v, path, out, e));
	if (strncmp(*out, "mailto:", 7) != 0 || strchr(*out, '@') == NULL)
		return perr(d, v, e, "%s: '%s' is not a mailto: URL", path,
		    *out);
	return 0;
}

/* Values the enroll API takes as given (reference 2.2): DCV modes, and
 * custom field values of at most 256 characters. */
static const char *const dcv_modes[] = {
	"CNAME", "EMAIL", "HTTP", "HTTPS", "TXT", "AUTO",
};

static int
parse_custom_fields(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_scm_extra *x, struct err *e)
{
	yaml_node_pair_t *pr;
	char p[PATH_LEN];
	int rc;

	TRY(map_check(d, n, path, e));
	if (map_len(n) > 0 &&
	    (x->custom_fields = calloc(map_len(n), sizeof(*x->custom_fields))) == NULL)
		return oom(e);
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		struct cfg_field *cf = &x->custom_fields[x->ncustom_fields];
		yaml_node_t *v = node(d, pr->value);

		x->ncustom_fields++;
		if ((cf->name = strdup(sval(node(d, pr->key)))) == NULL)
			return oom(e);
		pathf(p, "%s.%s", path, cf->name);
		TRY(get_str(d, v, p, &cf->value, e));
		if (strlen(cf->value) > 256)
			return perr(d, v, e, "%s: SCM takes at most 256 characters", p);
	}
	return 0;
}

/* custom_fields, dcv_mode, dcv_email: three consecutive fields. */
static int
parse_scm_extra(const struct ydoc *d, const struct field *f, const char *path,
    struct cfg_scm_extra *x, struct err *e)
{
	char p[PATH_LEN];
	int mode, rc;

	if (f[0].v != NULL)
		TRY(parse_custom_fields(d, f[0].v, pjoin(p, path, "custom_fields"), x, e));
	if (f[1].v != NULL) {
		TRY(get_enum(d, f[1].v, pjoin(p, path, "dcv_mode"), dcv_modes,
		    NELEM(dcv_modes), &mode, e));
		if ((x->dcv_mode = strdup(dcv_modes[mode])) == NULL)
			return oom(e);
	}
	if (f[2].v != NULL) {
		TRY(get_str(d, f[2].v, pjoin(p, path, "dcv_email"), &x->dcv_email, e));
		if (strchr(x->dcv_email, '@') == NULL ||
		    strpbrk(x->dcv_email, " \t\r\n,") != NULL)
			return perr(d, f[2].v, e, "%s: '%s' is not an e-mail address",
			    p, x->dcv_email);
	}
	return 0;
}

static int
parse_scm(const struct loader *l, yaml_node_t *n, const char *path,
    const struct field *f, struct cfg_ca *ca)
{
	const struct ydoc *d = &l->main;
	char p[PATH_LEN];
	int rc;

	for (int i = CK_URL; i <= CK_POLL; i++)
		if (i != CK_TERM && i != CK_POLL)
			TRY(need(d, n, &f[i], path, ca_keys[i], l->e));
	TRY(need(d, n, &f[CK_CRED], path, "credentials", l->e));
	TRY(get_url(d, f[CK_URL].v, pjoin(p, path, "url"), &ca->url, l->e));
	TRY(get_str(d, f[CK_CUST].v, pjoin(p, path, "customer_uri"),
	    &ca->customer_uri, l->e));
	TRY(get_long(d, f[CK_ORG].v, pjoin(p, path, "org_id"), 1, LONG_MAX,
	    &ca->org_id, l->e));
	TRY(get_str(d, f[CK_CERTTYPE].v, pjoin(p, path, "cert_type"),
	    &ca->cert_type, l->e));
	if (f[CK_TERM].v != NULL)
		TRY(get_int(d, f[CK_TERM].v, pjoin(p, path, "term"), 1, 3650,
		    &ca->term, l->e));
	if (f[CK_POLL].v != NULL)
		TRY(parse_poll(d, f[CK_POLL].v, pjoin(p, path, "poll"), ca,
		    l->e));
	return parse_scm_extra(d, &f[CK_CUSTOM], path, &ca->scm, l->e);
}

static int
parse_acme(const struct loader *l, yaml_node_t *n, const char *path,
    const struct field *f, struct cfg_ca *ca)
{
	const struct ydoc *d = &l->main;
	char p[PATH_LEN];
	int t, rc;

	TRY(need(d, n, &f[CK_DIR], path, "directory", l->e));
	TRY(get_url(d, f[CK_DIR].v, pjoin(p, path, "directory"),
	    &ca->directory, l->e));
	if (f[CK_CONTACT].v != NULL)
		TRY(get_list(d, f[CK_CONTACT].v, pjoin(p, path, "contact"),
		    get_mailto, &ca->contact, &ca->ncontact, l->e));
	if (f[CK_CHALLENGE].v != NULL) {
		TRY(get_enum(d, f[CK_CHALLENGE].v, pjoin(p, path, "challenge"),
		    challenge_names, NELEM(challenge_names), &t, l->e));
		ca->challenge = t;
	}
	if (f[CK_PREF].v != NULL)
		TRY(get_str(d, f[CK_PREF].v, pjoin(p, path, "preferred_chain"),
		    &ca->preferred_chain, l->e));
	return 0;
}

static int
parse_ca(const struct loader *l, yaml_node_t *n, struct cfg_ca *ca)
{
	const struct ydoc *d = &l->main;
	struct field f[CK_N];
	char path[PATH_LEN], p[PATH_LEN];
	int t, lo, hi, rc;

	ca->timeout_s = 30;
	ca->term = 365;
	ca->poll_interval_s = 10;
	ca->poll_timeout_s = 600;
	ca->challenge = CHALLENGE_NONE;
	pathf(path, "cas.%s", ca->name);
	TRY(map_collect(d, n, path, ca_keys, CK_N, f, l->e));
	TRY(need(d, n, &f[CK_TYPE], path, "type", l->e));
	TRY(get_enum(d, f[CK_TYPE].v, pjoin(p, path, "type"), ca_type_names,
	    NELEM(ca_type_names), &t, l->e));
	ca->type = t;
	lo = ca->type == CA_SECTIGO_SCM ? CK_DIR : CK_URL;
	hi = ca->type == CA_SECTIGO_SCM ? CK_PREF : CK_DCVEMAIL;
	for (int i = lo; i <= hi; i++)
		if (f[i].v != NULL)
			return perr(d, f[i].k, l->e, "%s: key '%s' is not valid "
			    "for a %s CA", path, ca_keys[i],
			    ca_type_names[ca->type]);
	if (f[CK_CAFILE].v != NULL)
		TRY(get_path(l, d, f[CK_CAFILE].v, pjoin(p, path, "ca_file"),
		    &ca->ca_file, l->e));
	if (f[CK_TIMEOUT].v != NULL)
		TRY(get_int(d, f[CK_TIMEOUT].v, pjoin(p, path, "timeout_s"), 1,
		    3600, &ca->timeout_s, l->e));
	if (ca->type == CA_SECTIGO_SCM)
		TRY(parse_scm(l, n, path, f, ca));
	else
		TRY(parse_acme(l, n, path, f, ca));
	if (f[CK_CRED].v == NULL)
		return 0;
	TRY(get_str(d, f[CK_CRED].v, pjoin(p, path, "credentials"),
	    &ca->credentials, l->e));
	return ca_creds(l, ca, f[CK_CRED].v);
}

static int
parse_defaults(struct loader *l, yaml_node_t *n)
{
	static const char *const keys[] = { "renew_before_days", "key" };
	const struct ydoc *d = &l->main;
	struct field f[NELEM(keys)];
	int rc;

	TRY(map_collect(d, n, "defaults", keys, NELEM(keys), f, l->e));
	if (f[0].v != NULL)
		TRY(get_int(d, f[0].v, "defaults.renew_before_days", 1, 3650,
		    &l->c->renew_before_days, l->e));
	if (f[1].v != NULL)
		TRY(parse_key(d, f[1].v, "defaults.key", &l->c->key, l->e));
	return 0;
}

static int
parse_devices(struct loader *l, yaml_node_t *n)
{
	struct config *c = l->c;
	yaml_node_pair_t *p;
	struct cfg_device *dv;
	int rc;

	TRY(map_check(&l->main, n, "devices", l->e));
	if (map_len(n) > 0 &&
	    (c->devices = calloc(map_len(n), sizeof(*dv))) == NULL)
		return oom(l->e);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		dv = &c->devices[c->ndevices++];
		if ((dv->name = strdup(sval(node(&l->main, p->key)))) == NULL)
			return oom(l->e);
		TRY(parse_device(l, node(&l->main, p->value), dv));
	}
	return 0;
}

static int
parse_cas(struct loader *l, yaml_node_t *n)
{
	struct config *c = l->c;
	yaml_node_pair_t *p;
	struct cfg_ca *ca;
	int rc;

	TRY(map_check(&l->main, n, "cas", l->e));
	if (map_len(n) > 0 &&
	    (c->cas = calloc(map_len(n), sizeof(*ca))) == NULL)
		return oom(l->e);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		ca = &c->cas[c->ncas++];
		if ((ca->name = strdup(sval(node(&l->main, p->key)))) == NULL)
			return oom(l->e);
		TRY(parse_ca(l, node(&l->main, p->value), ca));
	}
	return 0;
}

static int
parse_main(struct loader *l)
{
	static const char *const keys[] = { "defaults", "devices", "cas" };
	struct field f[NELEM(keys)];
	yaml_node_t *root;
	int rc;

	if ((root = yaml_document_get_root_node(&l->main.doc)) == NULL)
		return 0;
	TRY(map_collect(&l->main, root, "", keys, NELEM(keys), f, l->e));
	if (f[0].v != NULL)
		TRY(parse_defaults(l, f[0].v));
	if (f[1].v != NULL)
		TRY(parse_devices(l, f[1].v));
	if (f[2].v != NULL)
		TRY(parse_cas(l, f[2].v));
	return 0;
}

/* ---- profiles/NAME.yaml ---- */

static bool
dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return false;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	for (; ; s++) {
		if (*s == '.' || *s == '\0') {
			if (label == 0 || label > 63 || s[-1] == '-')
				return false;
			if (*s == '\0')
				return true;
			label = 0;
			continue;
		}
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    (*s == '-' && label > 0)))
			return false;
		label++;
	}
}

/* Certkey, cert, key and profile names must suit both appliances. */
static bool
object_name_ok(const char *s)
{
	if (!isalnum((unsigned char)*s) && *s != '_')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.-", *s) == NULL)
			return false;
	return true;
}

static bool
hostport_ok(const char *s)
{
	const char *colon, *end;
	long port;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end == s + 1 ||
		    end[1] != ':')
			return false;
		colon = end + 1;
	} else {
		colon = strchr(s, ':');
		if (colon == NULL || colon == s || strchr(colon + 1, ':'))
			return false;
	}
	if (strpbrk(s, " \t/") != NULL)
		return false;
	if (!is_int_text(colon + 1) || !isdigit((unsigned char)colon[1]) ||
	    strlen(colon + 1) > 5)
		return false;
	port = strtol(colon + 1, NULL, 10);
	return port >= 1 && port <= 65535;
}

static bool
http01(const struct cfg_ca *ca)
{
	return ca->type == CA_ACME && ca->challenge == CHALLENGE_HTTP01;
}

/* Lower-cases and checks one certificate name. */
static int
check_name(const struct ydoc *d, yaml_node_t *v, const char *path, char *s,
    const struct cfg_ca *ca, struct err *e)
{
	for (char *p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!dns_name_ok(s))
		return perr(d, v, e, "%s: '%s' is not a valid DNS name", path,
		    s);
	if (s[0] == '*' && http01(ca))
		return perr(d, v, e, "%s: wildcard name '%s' cannot be "
		    "validated with http-01 (CA '%s'); use a CA with "
		    "challenge: none", path, s, ca->name);
	return 0;
}

static bool
has_name(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static int
parse_names(const struct ydoc *d, yaml_node_t *cn, yaml_node_t *sans,
    struct cfg_profile *p, struct err *e)
{
	yaml_node_item_t *it;
	char path[PATH_LEN], *s = NULL;
	size_t n = 0;
	int rc;

	TRY(get_str(d, cn, "common_name", &p->common_name, e));
	TRY(check_name(d, cn, "common_name", p->common_name, p->ca, e));
	if (strlen(p->common_name) > 64)
		return perr(d, cn, e, "common_name: longer than the 64 "
		    "characters a certificate allows");
	if (sans != NULL && sans->type != YAML_SEQUENCE_NODE)
		return perr(d, sans, e, "subject_alt_names must be a list, not "
		    "%s", kind_name(sans));
	if (sans != NULL)
		n = (size_t)(sans->data.sequence.items.top -
		    sans->data.sequence.items.start);
	if ((p->sans = calloc(n + 1, sizeof(*p->sans))) == NULL)
		return oom(e);
	for (size_t i = 0; i < n; i++) {
		it = &sans->data.sequence.items.start[i];
		pathf(path, "subject_alt_names[%zu]", i);
		rc = get_str(d, node(d, *it), path, &s, e);
		if (rc == 0)
			rc = check_name(d, node(d, *it), path, s, p->ca, e);
		if (rc != 0 || has_name(p->sans, p->nsans, s)) {
			free(s);
			s = NULL;
			if (rc != 0)
				return rc;
			continue;
		}
		p->sans[p->nsans++] = s;
		s = NULL;
	}
	if (has_name(p->sans, p->nsans, p->common_name))
		return 0;
	memmove(p->sans + 1, p->sans, p->nsans * sizeof(*p->sans));
	if ((p->sans[0] = strdup(p->common_name)) == NULL) {
		/* Keep the array consistent for config_free. */
		memmove(p->sans, p->sans + 1, p->nsans * sizeof(*p->sans));
		return oom(e);
	}
	p->nsans++;
	return 0;
}

static int
parse_subject(const struct ydoc *d, yaml_node_t *n, struct cfg_subject *s,
    struct err *e)
{
	static const char *const keys[] = { "organization",
	    "organizational_unit", "locality", "state", "country", "email" };
	char **dst[] = { &s->organization, &s->organizational_unit,
	    &s->locality, &s->state, &s->country, &s->email };
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int rc;

	TRY(map_collect(d, n, "subject", keys, NELEM(keys), f, e));
	for (size_t i = 0; i < NELEM(keys); i++)
		if (f[i].v != NULL)
			TRY(get_str(d, f[i].v, pjoin(p, "subject", keys[i]),
			    dst[i], e));
	if (s->country != NULL) {
		if (strlen(s->country) != 2 ||
		    !isalpha((unsigned char)s->country[0]) ||
		    !isalpha((unsigned char)s->country[1]))
			return perr(d, f[4].v, e, "subject.country: '%s' is not "
			    "a two-letter country code", s->country);
		s->country[0] = (char)toupper((unsigned char)s->country[0]);
		s->country[1] = (char)toupper((unsigned char)s->country[1]);
	}
	if (s->email != NULL && strchr(s->email, '@') == NULL)
		return perr(d, f[5].v, e, "subject.email: '%s' is not an e-mail "
		    "address", s->email);
	return 0;
}

static int
parse_vserver(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_vserver *vs, struct err *e)
{
	static const char *const keys[] = { "name", "sni", "check" };
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int rc;

	if (n->type == YAML_SCALAR_NODE)	/* "- vs_name" shorthand */
		return get_str(d, n, path, &vs->name, e);
	TRY(map_collect(d, n, path, keys, NELEM(keys), f, e));
	TRY(need(d, n, &f[0], path, "name", e));
	TRY(get_str(d, f[0].v, pjoin(p, path, "name"), &vs->name, e));
	if (f[1].v != NULL)
		TRY(get_bool(d, f[1].v, pjoin(p, path, "sni"), &vs->sni, e));
	if (f[2].v == NULL)
		return 0;
	TRY(get_str(d, f[2].v, pjoin(p, path, "check"), &vs->check, e));
	if (!hostport_ok(vs->check))
		return perr(d, f[2].v, e, "%s: '%s' is not host:port", p,
		    vs->check);
	return 0;
}

static int
parse_vservers(const struct ydoc *d, yaml_node_t *n, struct cfg_profile *p,
    struct err *e)
{
	yaml_node_t *item;
	char path[PATH_LEN];
	size_t cnt;
	int rc;

	if (n->type != YAML_SEQUENCE_NODE)
		return perr(d, n, e, "vservers must be a list, not %s",
		    kind_name(n));
	cnt = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (cnt == 0)
		return perr(d, n, e, "vservers: the list is empty; name at "
		    "least one virtual server");
	if ((p->vservers = calloc(cnt, sizeof(*p->vservers))) == NULL)
		return oom(e);
	for (size_t i = 0; i < cnt; i++) {
		item = node(d, n->data.sequence.items.start[i]);
		pathf(path, "vservers[%zu]", i);
		p->nvservers++;
		TRY(parse_vserver(d, item, path, &p->vservers[i], e));
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->vservers[j].name,
			    p->vservers[i].name) == 0)
				return perr(d, item, e, "%s: virtual server "
				    "'%s' is listed twice", path,
				    p->vservers[i].name);
	}
	return 0;
}

static int
parse_client_ssl(const struct ydoc *d, struct field *fld,
    struct cfg_profile *p, struct err *e)
{
	static const char *const keys[] = { "parent", "profile", "sni_default",
	    "server_name" };
	struct cfg_client_ssl *cs = &p->client_ssl;
	struct field f[NELEM(keys)];
	int rc;

	if (p->device->type != DEV_F5_BIGIP)
		return perr(d, fld->k, e, "client_ssl: only for f5-bigip "
		    "devices (device '%s' is %s)", p->device->name,
		    dev_type_names[p->device->type]);
	TRY(map_collect(d, fld->v, "client_ssl", keys, NELEM(keys), f, e));
	if (f[0].v != NULL)
		TRY(get_str(d, f[0].v, "client_ssl.parent", &cs->parent, e));
	if (f[1].v != NULL)
		TRY(get_str(d, f[1].v, "client_ssl.profile", &cs->profile, e));
	if (f[2].v != NULL)
		TRY(get_bool(d, f[2].v, "client_ssl.sni_default",
		    &cs->sni_default, e));
	if (f[3].v != NULL) {
		TRY(get_str(d, f[3].v, "client_ssl.server_name",
		    &cs->server_name, e));
		for (char *s = cs->server_name; *s != '\0'; s++)
			*s = (char)tolower((unsigned char)*s);
		if (!dns_name_ok(cs->server_name))
			return perr(d, f[3].v, e, "client_ssl.server_name: "
			    "'%s' is not a valid DNS name", cs->server_name);
	}
	return 0;
}

enum {
	PK_DEVICE, PK_CA, PK_CN, PK_SANS, PK_KEY, PK_SUBJECT, PK_RENEW,
	PK_OBJECT, PK_VSERVERS, PK_CLIENTSSL, PK_CHALVS,
	PK_CUSTOM, PK_DCVMODE, PK_DCVEMAIL, PK_N
};
static const char *const prof_keys[PK_N] = {
	"device", "ca", "common_name", "subject_alt_names", "key", "subject",
	"renew_before_days", "object_name", "vservers", "client_ssl",
	"challenge_vserver", "custom_fields", "dcv_mode", "dcv_email",
};

static struct cfg_ca *
config_ca(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->ncas; i++)
		if (strcmp(c->cas[i].name, name) == 0)
			return &c->cas[i];
	return NULL;
}

static int
profile_refs(const struct loader *l, const struct ydoc *d,
    const struct field *f, struct cfg_profile *p)
{
	char *s = NULL;
	int rc = 0;

	TRY(get_str(d, f[PK_DEVICE].v, "device", &s, l->e));
	p->device = config_device(l->c, s);
	if (p->device == NULL)
		rc = perr(d, f[PK_DEVICE].v, l->e, "device: unknown device "
		    "'%s' (not in %s)", s, l->main.file);
	free(s);
	s = NULL;
	if (rc != 0)
		return rc;
	TRY(get_str(d, f[PK_CA].v, "ca", &s, l->e));
	p->ca = config_ca(l->c, s);
	if (p->ca == NULL)
		rc = perr(d, f[PK_CA].v, l->e, "ca: unknown CA '%s' (not in "
		    "%s)", s, l->main.file);
	free(s);
	return rc;
}

static int
profile_object(const struct ydoc *d, yaml_node_t *root, const struct field *f,
    struct cfg_profile *p, struct err *e)
{
	int rc;

	if (f[PK_OBJECT].v != NULL) {
		TRY(get_str(d, f[PK_OBJECT].v, "object_name", &p->object_name,
		    e));
		if (!object_name_ok(p->object_name))
			return perr(d, f[PK_OBJECT].v, e, "object_name: '%s' "
			    "may hold only letters, digits, '_', '.' and '-'",
			    p->object_name);
	} else {
		if ((p->object_name = strdup(p->name)) == NULL)
			return oom(e);
		if (!object_name_ok(p->object_name))
			return perr(d, root, e, "profile name '%s' is not a "
			    "valid object name; set object_name", p->name);
	}
	return 0;
}

static int
profile_defaults(struct cfg_profile *p, struct err *e)
{
	struct cfg_client_ssl *cs = &p->client_ssl;

	if (cs->parent == NULL &&
	    (cs->parent = strdup("/Common/clientssl")) == NULL)
		return oom(e);
	if (cs->profile == NULL &&
	    (cs->profile = xasprintf("%s_clientssl", p->object_name)) == NULL)
		return oom(e);
	return 0;
}

static int
profile_challenge(const struct ydoc *d, yaml_node_t *root,
    const struct field *f, struct cfg_profile *p, struct err *e)
{
	const struct field *cv = &f[PK_CHALVS];

	if (cv->v != NULL && !http01(p->ca))
		return perr(d, cv->k, e, "challenge_vserver: only used with an "
		    "http-01 CA (CA '%s' does not answer http-01)", p->ca->name);
	if (cv->v == NULL && http01(p->ca) && p->device->type == DEV_F5_BIGIP)
		return perr(d, root, e, "missing required key "
		    "'challenge_vserver' (CA '%s' uses http-01 and device '%s' "
		    "is f5-bigip)", p->ca->name, p->device->name);
	if (cv->v == NULL)
		return 0;
	return get_str(d, cv->v, "challenge_vserver", &p->challenge_vserver,
	    e);
}

/* NITRO sslcertreq refuses a CSR without these three (reference §3): say
 * so at load time instead of failing on the appliance mid-run. */
static int
profile_subject(const struct ydoc *d, yaml_node_t *root, const struct field *f,
    const struct cfg_profile *p, struct err *e)
{
	const struct cfg_subject *s = &p->subject;

	if (p->device->type != DEV_CITRIX_ADC)
		return 0;
	if (s->country != NULL && s->state != NULL && s->organization != NULL)
		return 0;
	return perr(d, f[PK_SUBJECT].v != NULL ? f[PK_SUBJECT].v : root, e,
	    "subject: device '%s' is citrix-adc, whose CSRs need country, state "
	    "and organization", p->device->name);
}

static int
copy_field(struct cfg_scm_extra *x, const struct cfg_field *f, struct err *e)
{
	struct cfg_field *cf;

	for (size_t i = 0; i < x->ncustom_fields; i++)
		if (strcmp(x->custom_fields[i].name, f->name) == 0)
			return 0; /* the profile's own value wins */
	cf = realloc(x->custom_fields, (x->ncustom_fields + 1) * sizeof(*cf));
	if (cf == NULL)
		return oom(e);
	x->custom_fields = cf;
	cf = &cf[x->ncustom_fields];
	cf->name = strdup(f->name);
	cf->value = strdup(f->value);
	x->ncustom_fields++;
	return cf->name == NULL || cf->value == NULL ? oom(e) : 0;
}

/* The SCM keys of a profile, over the CA's; only for an SCM CA. Whether
 * the tenant needs a custom field is known only to the CA: checked when
 * the CA is first used in a run, before any key is made. */
static int
profile_scm(const struct ydoc *d, yaml_node_t *root, const struct field *f,
    struct cfg_profile *p, struct err *e)
{
	const struct cfg_scm_extra *cx = &p->ca->scm;
	struct cfg_scm_extra *x = &p->scm;
	int rc;

	for (int i = PK_CUSTOM; i <= PK_DCVEMAIL; i++)
		if (f[i].v != NULL && p->ca->type != CA_SECTIGO_SCM)
			return perr(d, f[i].k, e, "%s: only for a sectigo-scm CA "
			    "(CA '%s' is %s)", prof_keys[i], p->ca->name,
			    ca_type_names[p->ca->type]);
	TRY(parse_scm_extra(d, &f[PK_CUSTOM], "", x, e));
	for (size_t i = 0; i < cx->ncustom_fields; i++)
		TRY(copy_field(x, &cx->custom_fields[i], e));
	if (x->dcv_mode == NULL && cx->dcv_mode != NULL &&
	    (x->dcv_mode = strdup(cx->dcv_mode)) == NULL)
		return oom(e);
	if (x->dcv_email == NULL && cx->dcv_email != NULL &&
	    (x->dcv_email = strdup(cx->dcv_email)) == NULL)
		return oom(e);
	if (x->dcv_mode != NULL && strcmp(x->dcv_mode, "EMAIL") == 0 &&
	    x->dcv_email == NULL)
		return perr(d, f[PK_DCVMODE].v != NULL ? f[PK_DCVMODE].v : root, e,
		    "dcv_mode EMAIL needs dcv_email (in the profile or CA '%s')",
		    p->ca->name);
	return 0;
}

static int
parse_profile(const struct loader *l, const struct ydoc *d, yaml_node_t *root,
    struct cfg_profile *p)
{
	struct field f[PK_N];
	struct err *e = l->e;
	int rc;

	TRY(map_collect(d, root, "", prof_keys, PK_N, f, e));
	TRY(need(d, root, &f[PK_DEVICE], "", "device", e));
	TRY(need(d, root, &f[PK_CA], "", "ca", e));
	TRY(need(d, root, &f[PK_CN], "", "common_name", e));
	TRY(need(d, root, &f[PK_VSERVERS], "", "vservers", e));
	TRY(profile_refs(l, d, f, p));
	TRY(parse_names(d, f[PK_CN].v, f[PK_SANS].v, p, e));
	p->key = l->c->key;
	if (f[PK_KEY].v != NULL)
		TRY(parse_key(d, f[PK_KEY].v, "key", &p->key, e));
	if (f[PK_SUBJECT].v != NULL)
		TRY(parse_subject(d, f[PK_SUBJECT].v, &p->subject, e));
	p->renew_before_days = l->c->renew_before_days;
	if (f[PK_RENEW].v != NULL)
		TRY(get_int(d, f[PK_RENEW].v, "renew_before_days", 1, 3650,
		    &p->renew_before_days, e));
	TRY(profile_object(d, root, f, p, e));
	TRY(parse_vservers(d, f[PK_VSERVERS].v, p, e));
	if (f[PK_CLIENTSSL].v != NULL)
		TRY(parse_client_ssl(d, &f[PK_CLIENTSSL], p, e));
	TRY(profile_defaults(p, e));
	TRY(profile_challenge(d, root, f, p, e));
	TRY(profile_scm(d, root, f, p, e));
	return profile_subject(d, root, f, p, e);
}

static int
load_profile(const struct loader *l, const char *pdir, const char *stem,
    struct cfg_profile *p)
{
	struct ydoc d = { 0 };
	yaml_node_t *root;
	int rc;

	if ((p->name = strdup(stem)) == NULL ||
	    (p->file = xasprintf("%s/%s.yaml", pdir, stem)) == NULL ||
	    (d.file = strdup(p->file)) == NULL) {
		rc = oom(l->e);
		goto out;
	}
	if ((rc = ydoc_load(&d, l->e)) != 0)
		goto out;
	if ((root = yaml_document_get_root_node(&d.doc)) == NULL) {
		rc = err_set(l->e, LB_ECONFIG, "%s:1:1: empty profile "
		    "(device, ca, common_name and vservers are required)",
		    d.file);
		goto out;
	}
	rc = parse_profile(l, &d, root, p);
out:
	ydoc_free(&d);
	return rc;
}

static int
stem_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Profile stems of pdir, sorted; *n = 0 when the directory is absent. */
static int
list_profiles(const char *pdir, char ***out, size_t *n, struct err *e)
{
	struct dirent *de;
	size_t len, cap = 0;
	char **v;
	DIR *dir;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if ((dir = opendir(pdir)) == NULL)
		return errno == ENOENT ? 0 : err_set(e, LB_ECONFIG,
		    "%s: %s", pdir, strerror(errno));
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (len > 4 && strcmp(de->d_name + len - 4, ".yml") == 0)
			log_warn("ignoring %s/%s: profiles end in .yaml", pdir,
			    de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((v = reallocarray(*out, cap, sizeof(*v))) == NULL) {
				rc = oom(e);
				break;
			}
			*out = v;
		}
		if (((*out)[*n] = strndup(de->d_name, len - 5)) == NULL) {
			rc = oom(e);
			break;
		}
		(*n)++;
	}
	closedir(dir);
	if (*n > 0)
		qsort(*out, *n, sizeof(**out), stem_cmp);
	return rc;
}

static int
load_profiles(struct loader *l)
{
	struct config *c = l->c;
	char *pdir, **stems = NULL;
	size_t n = 0;
	int rc;

	if ((pdir = xasprintf("%s/profiles", c->dir)) == NULL)
		return oom(l->e);
	if ((rc = list_profiles(pdir, &stems, &n, l->e)) != 0 || n == 0)
		goto out;
	if ((c->profiles = calloc(n, sizeof(*c->profiles))) == NULL) {
		rc = oom(l->e);
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = load_profile(l, pdir, stems[i], &c->profiles[c->nprofiles++]);
out:
	strv_free(stems, n);
	free(pdir);
	return rc;
}

/* ---- public ---- */

static char *
clean_dir(const char *dir)
{
	size_t len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return strndup(dir, len);
}

static void
warn_insecure(const struct config *c)
{
	for (size_t i = 0; i < c->ndevices; i++)
		if (c->devices[i].tls.insecure)
			log_warn("device %s: tls.insecure is true: the "
			    "management certificate is NOT verified; anyone "
			    "on the path can take its credentials",
			    c->devices[i].name);
}

int
config_load(const char *dir, struct config **out, struct err *e)
{
	struct loader l = { .e = e };
	struct config *c;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return oom(e);
	l.c = c;
	c->renew_before_days = -1;
	c->key = (struct cfg_key){ KEY_RSA, 2048, CURVE_NONE };
	l.cred.secret = true;
	if ((c->dir = clean_dir(dir)) == NULL ||
	    (l.main.file = xasprintf("%s/lbcert.yaml", c->dir)) == NULL ||
	    (l.cred.file = xasprintf("%s/credentials.yaml", c->dir)) == NULL) {
		rc = oom(e);
		goto out;
	}
	if ((rc = ydoc_load(&l.main, e)) != 0) {
		/* A missing lbcert.yaml is a configuration error too. */
		if (rc == LB_ENOTFOUND && e != NULL)
			e->code = LB_ECONFIG;
		rc = LB_ECONFIG;
		goto out;
	}
	if ((rc = load_credentials(&l)) != 0 || (rc = parse_main(&l)) != 0 ||
	    (rc = load_profiles(&l)) != 0)
		goto out;
	warn_insecure(c);
out:
	ydoc_free(&l.main);
	ydoc_free(&l.cred);
	if (rc != 0) {
		config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void
wipe(char *s)
{
	if (s == NULL)
		return;
	log_secret_remove(s);
	secret_free(s);
}

void
config_device_free(struct cfg_device *d)
{
	free(d->name);
	free(d->url);
	strv_free(d->peers, d->npeers);
	free(d->credentials);
	free(d->tls.ca_file);
	free(d->tls.pin_sha256);
	free(d->partition);
	free(d->sync_group);
	free(d->username);
	wipe(d->password);
}

static void
scm_extra_free(struct cfg_scm_extra *x)
{
	for (size_t i = 0; i < x->ncustom_fields; i++) {
		free(x->custom_fields[i].name);
		free(x->custom_fields[i].value);
	}
	free(x->custom_fields);
	free(x->dcv_mode);
	free(x->dcv_email);
}

void
config_ca_free(struct cfg_ca *ca)
{
	scm_extra_free(&ca->scm);
	free(ca->name);
	free(ca->ca_file);
	free(ca->url);
	free(ca->customer_uri);
	free(ca->cert_type);
	free(ca->directory);
	strv_free(ca->contact, ca->ncontact);
	free(ca->preferred_chain);
	free(ca->credentials);
	free(ca->login);
	wipe(ca->password);
	wipe(ca->eab_kid);
	wipe(ca->eab_hmac_key);
}

void
config_profile_free(struct cfg_profile *p)
{
	struct cfg_subject *s = &p->subject;

	free(p->name);
	free(p->file);
	free(p->common_name);
	strv_free(p->sans, p->nsans);
	free(s->organization);
	free(s->organizational_unit);
	free(s->locality);
	free(s->state);
	free(s->country);
	free(s->email);
	free(p->object_name);
	for (size_t i = 0; i < p->nvservers; i++) {
		free(p->vservers[i].name);
		free(p->vservers[i].check);
	}
	free(p->vservers);
	free(p->client_ssl.parent);
	free(p->client_ssl.profile);
	free(p->client_ssl.server_name);
	free(p->challenge_vserver);
	scm_extra_free(&p->scm);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ndevices; i++)
		config_device_free(&c->devices[i]);
	for (size_t i = 0; i < c->ncas; i++)
		config_ca_free(&c->cas[i]);
	for (size_t i = 0; i < c->nprofiles; i++)
		config_profile_free(&c->profiles[i]);
	free(c->devices);
	free(c->cas);
	free(c->profiles);
	free(c->dir);
	free(c);
}

struct cfg_profile *
config_profile(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

struct cfg_device *
config_device(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->ndevices; i++)
		if (strcmp(c->devices[i].name, name) == 0)
			return &c->devices[i];
	return NULL;
}

const char *
config_key_desc(const struct cfg_key *k, char *buf, size_t len)
{
	if (k->type == KEY_RSA)
		snprintf(buf, len, "rsa:%d", k->size);
	else
		snprintf(buf, len, "ecdsa:%s",
		    k->curve == CURVE_P384 ? "P-384" : "P-256");
	return buf;
}
