/* credentials.yaml: device and CA secrets by name, given inline or as
 * *_file references, looked up for lbcert.yaml's devices and CAs. */

#include "config/config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/secret.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- credentials.yaml ---- */

static const char *const cred_fields[] = {
	"username", "password", "login", "eab_kid", "eab_hmac_key", "tsig_secret",
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
			    "username, password, login, eab_kid, eab_hmac_key, "
			    "tsig_secret or one of them with _file)", sval(k), sval(key));
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

int
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

yaml_node_t *
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

int
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

/* The CA credentials config reads, for the kinds that take them. */
static const struct {
	const char *key;
	size_t off;
	bool secret;
} ca_cred_fields[] = {
	{ "login", offsetof(struct cfg_ca, login), false },
	{ "password", offsetof(struct cfg_ca, password), true },
	{ "eab_kid", offsetof(struct cfg_ca, eab_kid), true },
	{ "eab_hmac_key", offsetof(struct cfg_ca, eab_hmac_key), true },
	{ "tsig_secret", offsetof(struct cfg_ca, dns.tsig_secret), true },
};

int
ca_creds(const struct loader *l, struct cfg_ca *ca, yaml_node_t *ref)
{
	const struct cfg_kind *k = ca->kind;
	char path[PATH_LEN], user[PATH_LEN];
	const char *n = ca->credentials;
	yaml_node_t *entry;
	size_t nkeys = 0;
	int rc;

	while (k->cred_keys != NULL && k->cred_keys[nkeys] != NULL)
		nkeys++;
	pathf(path, "cas.%s.credentials", ca->name);
	pathf(user, "%s CA '%s'", k->type, ca->name);
	TRY(cred_lookup(l, ref, path, n, k->cred_keys, nkeys, user, &entry));
	for (size_t i = 0; i < NELEM(ca_cred_fields); i++) {
		const char *key = ca_cred_fields[i].key;

		if (kind_takes(k->cred_keys, key))
			TRY(cred_get(l, entry, n, key, kind_takes(k->cred_required, key),
			    ca_cred_fields[i].secret,
			    (char **)((char *)ca + ca_cred_fields[i].off)));
	}
	return 0;
}
