/* profiles/NAME.yaml: one certificate profile each — names, key, subject,
 * device and its vservers, CA and challenge — checked against lbcert.yaml;
 * a file with keys: is one profile per key (see struct cfg_profile). */

#include "config/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/secret.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

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

/* Lower-cases and checks one certificate name. */
static int
check_name(const struct ydoc *d, yaml_node_t *v, const char *path, char *s,
    struct err *e)
{
	for (char *p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!dns_name_ok(s))
		return perr(d, v, e, "%s: '%s' is not a valid DNS name", path,
		    s);
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
	TRY(check_name(d, cn, "common_name", p->common_name, e));
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
			rc = check_name(d, node(d, *it), path, s, e);
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
	PK_CUSTOM, PK_DCVMODE, PK_DCVEMAIL, PK_HOOKS, PK_APROF, PK_KEYS, PK_N
};
static const char *const prof_keys[PK_N] = {
	"device", "ca", "common_name", "subject_alt_names", "key", "subject",
	"renew_before_days", "object_name", "vservers", "client_ssl",
	"challenge_vserver", "custom_fields", "dcv_mode", "dcv_email", "hooks",
	"acme_profile", "keys",
};

/* The keys whose place depends on the device's or the CA's kind. */
static const int kind_keys[] = {
	PK_CLIENTSSL, PK_CHALVS, PK_CUSTOM, PK_DCVMODE, PK_DCVEMAIL, PK_APROF,
};

/* The rules of kind k (the profile's device's or CA's) over p. */
static int
kind_check(const struct loader *l, const struct ydoc *d, yaml_node_t *root,
    const struct cfg_kind *k, const struct cfg_profile *p)
{
	struct cfg_at at = { 0 };
	struct err why = { 0 };

	if (k->check_profile == NULL || k->check_profile(p, &at, &why) == 0)
		return 0;
	return kind_objection(d, root, "", &at, &why, l->e);
}

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

/* Which ACME profile the CA's orders ask for: the profile's own, else the
 * CA's. Whether the CA offers it is known only from its directory, so
 * that is checked when the CA is asked (ca_ops.prepare). */
static int
profile_acme(const struct ydoc *d, const struct field *f, struct cfg_profile *p,
    struct err *e)
{
	const struct field *ap = &f[PK_APROF];

	if (ap->v != NULL)
		return get_str(d, ap->v, "acme_profile", &p->acme_profile, e);
	if (p->ca->acme_profile != NULL &&
	    (p->acme_profile = xstrdup(p->ca->acme_profile)) == NULL)
		return err_set(e, LB_ECONFIG, "out of memory");
	return 0;
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

/* The SCM keys of a profile, over the CA's. Whether the tenant needs a
 * custom field is known only to the CA: checked when the CA is first used
 * in a run, before any key is made. */
static int
profile_scm(const struct ydoc *d, const struct field *f, struct cfg_profile *p,
    struct err *e)
{
	const struct cfg_scm_extra *cx = &p->ca->scm;
	struct cfg_scm_extra *x = &p->scm;
	int rc;

	TRY(parse_scm_extra(d, &f[PK_CUSTOM], "", x, e));
	for (size_t i = 0; i < cx->ncustom_fields; i++)
		TRY(copy_field(x, &cx->custom_fields[i], e));
	if (x->dcv_mode == NULL && cx->dcv_mode != NULL &&
	    (x->dcv_mode = strdup(cx->dcv_mode)) == NULL)
		return oom(e);
	if (x->dcv_email == NULL && cx->dcv_email != NULL &&
	    (x->dcv_email = strdup(cx->dcv_email)) == NULL)
		return oom(e);
	return 0;
}

static bool
is_stem(const struct loader *l, const char *name)
{
	for (size_t i = 0; i < l->nstems; i++)
		if (strcmp(l->stems[i], name) == 0)
			return true;
	return false;
}

/* keys: one entry per key type; p->key becomes entry idx. Every entry is
 * checked on each pass, so the errors are the same whichever key loads. */
static int
profile_keys(const struct loader *l, const struct ydoc *d, const struct field *f,
    size_t idx, struct cfg_profile *p)
{
	struct cfg_key k;
	yaml_node_t *n = f->v, *item;
	char path[PATH_LEN], *other;
	bool seen[2] = { false, false };
	size_t cnt;
	int rc;

	if (n->type != YAML_SEQUENCE_NODE)
		return perr(d, n, l->e, "keys must be a list, not %s", kind_name(n));
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt == 0)
		return perr(d, n, l->e, "keys: the list is empty; give at least one key "
		    "(or use key:)");
	for (size_t i = 0; i < cnt; i++) {
		item = node(d, n->data.sequence.items.start[i]);
		pathf(path, "keys[%zu]", i);
		TRY(parse_key(d, item, path, &k, l->e));
		if (seen[k.type])
			return perr(d, item, l->e, "%s: a second %s key; a profile holds at most "
			    "one key of each type", path, config_key_type_name(k.type));
		seen[k.type] = true;
		if (i == idx)
			p->key = k;
		if (cnt < 2)
			continue;
		/* the name of a further key's profile, and how the first key
		 * is selected by type: neither may be another file's */
		if ((other = xasprintf("%s.%s", p->name, config_key_type_name(k.type))) == NULL)
			return oom(l->e);
		rc = is_stem(l, other) ? perr(d, item, l->e, "%s: '%s' names this key, and is "
		    "also the name of profiles/%s.yaml; rename one", path, other, other) : 0;
		free(other);
		if (rc != 0)
			return rc;
	}
	p->nkeys = cnt;
	return 0;
}

/* A further key's profile: its own name and objects, the first key's
 * client-ssl profile (profile_defaults ran on the first's object_name). */
static int
profile_rename(struct cfg_profile *p, struct err *e)
{
	const char *t = config_key_type_name(p->key.type);
	char *name = xasprintf("%s.%s", p->name, t);
	char *obj = xasprintf("%s.%s", p->object_name, t);

	if (name == NULL || obj == NULL) {
		free(name);
		free(obj);
		return oom(e);
	}
	free(p->name);
	free(p->object_name);
	p->name = name;
	p->object_name = obj;
	return 0;
}

static int
parse_profile(const struct loader *l, const struct ydoc *d, yaml_node_t *root,
    size_t idx, struct cfg_profile *p)
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
	for (size_t i = 0; i < NELEM(kind_keys); i++)
		TRY(kind_profile_key(l, d, &f[kind_keys[i]], prof_keys[kind_keys[i]], p));
	TRY(parse_names(d, f[PK_CN].v, f[PK_SANS].v, p, e));
	p->key = l->c->key;
	if (f[PK_KEY].v != NULL && f[PK_KEYS].v != NULL)
		return perr(d, f[PK_KEYS].k, e, "keys: give either key or keys, not both");
	if (f[PK_KEY].v != NULL)
		TRY(parse_key(d, f[PK_KEY].v, "key", &p->key, e));
	if (f[PK_KEYS].v != NULL)
		TRY(profile_keys(l, d, &f[PK_KEYS], idx, p));
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
	if (idx > 0)
		TRY(profile_rename(p, e));
	if (f[PK_CHALVS].v != NULL)
		TRY(get_str(d, f[PK_CHALVS].v, "challenge_vserver",
		    &p->challenge_vserver, e));
	TRY(profile_acme(d, f, p, e));
	TRY(profile_scm(d, f, p, e));
	TRY(hooks_copy(&p->hooks, &l->c->hooks, e));
	if (f[PK_HOOKS].v != NULL)
		TRY(parse_hooks(d, f[PK_HOOKS].v, "hooks", &p->hooks, e));
	TRY(kind_check(l, d, root, p->ca->kind, p));
	return kind_check(l, d, root, p->device->kind, p);
}

/* Loads the profile of key idx of profiles/stem.yaml (idx 0 for a file
 * with key: or one key). */
static int
load_profile(const struct loader *l, const char *pdir, const char *stem,
    size_t idx, struct cfg_profile *p)
{
	struct ydoc d = { 0 };
	yaml_node_t *root;
	int rc;

	if ((p->name = strdup(stem)) == NULL || (p->group = strdup(stem)) == NULL ||
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
	rc = parse_profile(l, &d, root, idx, p);
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
profile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cfg_profile *)a)->name,
	    ((const struct cfg_profile *)b)->name);
}

/* The profiles of one file: one per key. */
static int
load_file(struct loader *l, const char *pdir, const char *stem, size_t *cap)
{
	struct config *c = l->c;
	struct cfg_profile *v;
	size_t nkeys = 1;
	int rc = 0;

	for (size_t k = 0; k < nkeys && rc == 0; k++) {
		if (c->nprofiles == *cap) {
			if ((v = reallocarray(c->profiles, *cap * 2, sizeof(*v))) == NULL)
				return oom(l->e);
			memset(v + *cap, 0, *cap * sizeof(*v));
			c->profiles = v;
			*cap *= 2;
		}
		rc = load_profile(l, pdir, stem, k, &c->profiles[c->nprofiles++]);
		if (k == 0 && c->profiles[c->nprofiles - 1].nkeys > 1)
			nkeys = c->profiles[c->nprofiles - 1].nkeys;
	}
	return rc;
}

int
load_profiles(struct loader *l)
{
	struct config *c = l->c;
	char *pdir, **stems = NULL;
	size_t n = 0, cap;
	int rc;

	if ((pdir = xasprintf("%s/profiles", c->dir)) == NULL)
		return oom(l->e);
	if ((rc = list_profiles(pdir, &stems, &n, l->e)) != 0 || n == 0)
		goto out;
	cap = n;
	if ((c->profiles = calloc(cap, sizeof(*c->profiles))) == NULL) {
		rc = oom(l->e);
		goto out;
	}
	l->stems = stems;
	l->nstems = n;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = load_file(l, pdir, stems[i], &cap);
	/* a further key's profile sorts by its own name */
	if (rc == 0)
		qsort(c->profiles, c->nprofiles, sizeof(*c->profiles), profile_cmp);
out:
	l->stems = NULL;
	l->nstems = 0;
	strv_free(stems, n);
	free(pdir);
	return rc;
}
