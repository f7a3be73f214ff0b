/* The YAML reader under every configuration file: loads a document with
 * libyaml, resolves plain scalars by the YAML 1.2 core schema, and reads
 * typed values so that every error names file:line:col and the key path. */

#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config/config_int.h"
#include "config/secret.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- errors and YAML node helpers ---- */

static const char *const vkind_names[] = {
	"a mapping", "a list", "empty (null)", "a boolean", "an integer",
	"a number", "a string",
};

int
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

int
oom(struct err *e)
{
	return err_set(e, LB_ERR, "out of memory");
}

const char *
sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

yaml_node_t *
node(const struct ydoc *d, int id)
{
	return yaml_document_get_node((yaml_document_t *)&d->doc, id);
}

bool
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
enum vkind
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

const char *
kind_name(const yaml_node_t *n)
{
	return vkind_names[vkind(n)];
}

/* Formats a key path into a PATH_LEN buffer; a path cut short only makes
 * a message shorter. */
const char *
pathf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_LEN, fmt, ap);
	va_end(ap);
	return buf;
}

const char *
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
int
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

size_t
map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* Finds keys[i] of mapping n in f[i]; refuses any other key. */
int
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

int
need(const struct ydoc *d, yaml_node_t *map, const struct field *f,
    const char *path, const char *key, struct err *e)
{
	if (f->v != NULL)
		return 0;
	return perr(d, map, e, "%s: missing required key '%s'", where(path),
	    key);
}

/* ---- typed values ---- */

int
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

int
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

int
get_int(const struct ydoc *d, yaml_node_t *v, const char *path, int min,
    int max, int *out, struct err *e)
{
	long n;
	int rc;

	TRY(get_long(d, v, path, min, max, &n, e));
	*out = (int)n;
	return 0;
}

int
get_bool(const struct ydoc *d, yaml_node_t *v, const char *path, bool *out,
    struct err *e)
{
	if (vkind(v) != VK_BOOL)
		return perr(d, v, e, "%s must be true or false, not %s", path,
		    kind_name(v));
	*out = tolower((unsigned char)sval(v)[0]) == 't';
	return 0;
}

int
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

int
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
int
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
int
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

int
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

void
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
