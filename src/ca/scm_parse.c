/* The pure pieces of the Sectigo SCM client (scm_internal.h): error
 * envelopes, the enroll body, the /types, /customFields and listing
 * answers. No I/O here, so that tests/unit/test_scm.c checks each one. */
#include "ca/scm_internal.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"

bool
scm_is_id(const char *s)
{
	if (s == NULL || *s == '\0' || *s == '0' || strlen(s) > 18)
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int
scm_error_parse(const char *body, size_t len, long *code, char **description)
{
	json_t *j, *c, *d;
	int rc = -1;

	*description = NULL;
	if (body == NULL || len == 0)
		return -1;
	j = json_loadb(body, len, 0, NULL);
	if (j == NULL)
		return -1;
	c = json_object_get(j, "code");
	d = json_object_get(j, "description");
	if (json_is_integer(c)) {
		*code = (long)json_integer_value(c);
		*description = xstrdup(json_is_string(d) ? json_string_value(d) : "");
		rc = *description == NULL ? -1 : 0;
	}
	json_decref(j);
	return rc;
}

/* A printable, bounded excerpt of a body that is not an envelope. */
static void
excerpt(const char *body, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; body != NULL && i < len && n + 1 < size && n < 160; i++)
		buf[n++] = isprint((unsigned char)body[i]) ? body[i] : ' ';
	buf[n] = '\0';
}

int
scm_http_error(const char *ca_name, long status, const char *body, size_t len,
    struct err *e)
{
	char *desc = NULL, ex[200];
	long code = 0;
	int lb = LB_ERR;

	if (status == 401 || status == 403)
		lb = LB_EAUTH;
	else if (status == 404)
		lb = LB_ENOTFOUND;
	if (scm_error_parse(body, len, &code, &desc) == 0) {
		err_set(e, lb, "scm %s: %ld %s (HTTP %ld)", ca_name, code, desc, status);
		free(desc);
		return lb;
	}
	excerpt(body, len, ex, sizeof(ex));
	return err_set(e, lb, "scm %s: unexpected answer (HTTP %ld)%s%s", ca_name, status,
	    ex[0] != '\0' ? ": " : "", ex);
}

static const long retry_codes[] = { -183, -1400, -109, -195, -140, -103 };

static bool
is_retry_code(long code)
{
	for (size_t i = 0; i < sizeof(retry_codes) / sizeof(retry_codes[0]); i++)
		if (code == retry_codes[i])
			return true;
	return false;
}

bool
scm_collect_pending(long status, const char *body, size_t len)
{
	char *desc = NULL;
	long code;

	if (status >= 500)
		return true;
	if (status == 200)
		return body == NULL || strstr(body, "-----BEGIN") == NULL;
	if (status == 401 || status == 403)
		return false;
	/* By code, whatever the 4xx: the OAS also documents 404 for collect. */
	if (scm_error_parse(body, len, &code, &desc) != 0)
		return false;
	free(desc);
	return is_retry_code(code);
}

bool
scm_collect_unserved(long status, const char *body, size_t len)
{
	static const long known[] = { -110, -124, -126, -1450 };
	char *desc = NULL;
	long code;

	if (status != 404 && status != 405)
		return false;
	if (scm_error_parse(body, len, &code, &desc) != 0)
		return true;
	free(desc);
	if (is_retry_code(code))
		return false;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (code == known[i])
			return false;
	return true;
}

/* Comma-separated names without the common name: SCM takes the CN from
 * the CSR and wants only the additional names here. */
static char *
san_list(char *const *names, size_t n, const char *cn)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (cn != NULL && strcasecmp(names[i], cn) == 0)
			continue;
		if (s[0] != '\0')
			strcat(s, ",");
		strcat(s, names[i]);
	}
	return s;
}

static int
add_extra(json_t *j, const struct cfg_scm_extra *x)
{
	json_t *a;

	if (x->ncustom_fields > 0) {
		if ((a = json_array()) == NULL || json_object_set_new(j, "customFields", a) != 0)
			return -1;
		for (size_t i = 0; i < x->ncustom_fields; i++)
			if (json_array_append_new(a, json_pack("{s:s, s:s}", "name",
			    x->custom_fields[i].name, "value", x->custom_fields[i].value)) != 0)
				return -1;
	}
	if (x->dcv_mode != NULL &&
	    json_object_set_new(j, "dcvMode", json_string(x->dcv_mode)) != 0)
		return -1;
	if (x->dcv_email != NULL && x->dcv_mode != NULL &&
	    json_object_set_new(j, "dcvEmail", json_string(x->dcv_email)) != 0)
		return -1;
	return 0;
}

char *
scm_enroll_body(const struct scm_enroll *r)
{
	char *csr = xstrdup(r->csr_pem), *sans = NULL, *comments = NULL, *out = NULL;
	size_t n;
	json_t *j = NULL;

	if (csr == NULL)
		goto out;
	/* pycm strips trailing whitespace; the doc's CSR pattern is strict. */
	for (n = strlen(csr); n > 0 && isspace((unsigned char)csr[n - 1]); n--)
		csr[n - 1] = '\0';
	if ((sans = san_list(r->names, r->nnames, r->common_name)) == NULL)
		goto out;
	comments = r->tag != NULL ?
	    xasprintf("lbcert %s ref %s", r->profile ? r->profile : "", r->tag) :
	    xasprintf("lbcert %s", r->profile ? r->profile : "");
	if (comments == NULL)
		goto out;
	j = json_pack("{s:I, s:s, s:I, s:i, s:s}", "orgId", (json_int_t)r->org_id,
	    "csr", csr, "certType", (json_int_t)r->cert_type, "term", r->term,
	    "comments", comments);
	if (j == NULL)
		goto out;
	if (sans[0] != '\0' && json_object_set_new(j, "subjAltNames", json_string(sans)) != 0)
		goto out;
	if (r->extra != NULL && add_extra(j, r->extra) != 0)
		goto out;
	out = json_dumps(j, JSON_COMPACT);
out:
	json_decref(j);
	free(csr);
	free(sans);
	free(comments);
	return out;
}

int
scm_type_lookup(const char *ca_name, const char *types_json, size_t len,
    const char *want, long *id, struct err *e)
{
	json_t *j = json_loadb(types_json, len, 0, NULL), *t;
	char avail[700] = "";
	size_t i, used = 0;
	bool by_id = scm_is_id(want);
	int rc;

	if (!json_is_array(j)) {
		rc = err_set(e, LB_ERR, "scm %s: the list of certificate types is not a JSON array",
		    ca_name);
		goto out;
	}
	json_array_foreach(j, i, t) {
		json_t *jid = json_object_get(t, "id");
		const char *name = json_string_value(json_object_get(t, "name"));

		if (!json_is_integer(jid) || name == NULL)
			continue;
		if (by_id ? json_integer_value(jid) == (json_int_t)strtoll(want, NULL, 10) :
		    strcasecmp(name, want) == 0) {
			*id = (long)json_integer_value(jid);
			rc = 0;
			goto out;
		}
		if (used < sizeof(avail) - 1) {
			int k = snprintf(avail + used, sizeof(avail) - used, "%s%lld \"%s\"",
			    used ? ", " : "", (long long)json_integer_value(jid), name);
			used = k < 0 ? used : used + (size_t)k;
		}
	}
	rc = err_set(e, LB_ECONFIG, "scm %s: unknown cert_type \"%s\"; available: %s", ca_name,
	    want, used ? avail : "none");
out:
	json_decref(j);
	return rc;
}


int
scm_term_check(const char *ca_name, const char *types_json, size_t len, long id,
    int term, struct err *e)
{
	json_t *j = json_loadb(types_json, len, 0, NULL), *t, *terms, *v;
	char allowed[300] = "";
	size_t i, k, used = 0;
	int rc = 0;

	json_array_foreach(j, i, t) {
		if (json_integer_value(json_object_get(t, "id")) != (json_int_t)id)
			continue;
		terms = json_object_get(t, "terms");
		if (!json_is_array(terms) || json_array_size(terms) == 0)
			break;
		json_array_foreach(terms, k, v) {
			if (json_is_integer(v) && json_integer_value(v) == term)
				goto out;
			if (json_is_integer(v) && used < sizeof(allowed) - 1) {
				int n = snprintf(allowed + used, sizeof(allowed) - used, "%s%lld",
				    used ? ", " : "", (long long)json_integer_value(v));
				used = n < 0 ? used : used + (size_t)n;
			}
		}
		rc = err_set(e, LB_ECONFIG, "scm %s: term %d is not offered for certificate "
		    "type %ld \"%s\"; allowed terms (days): %s", ca_name, term, id,
		    json_string_value(json_object_get(t, "name")) ?
		    json_string_value(json_object_get(t, "name")) : "?", used ? allowed : "none");
		break;
	}
out:
	json_decref(j);
	return rc;
}

static const char *
field_value(const struct cfg_scm_extra *x, const char *name)
{
	for (size_t i = 0; x != NULL && i < x->ncustom_fields; i++)
		if (strcmp(x->custom_fields[i].name, name) == 0)
			return x->custom_fields[i].value;
	return NULL;
}

int
scm_custom_fields_check(const char *ca_name, const char *profile, const char *json,
    size_t len, const struct cfg_scm_extra *x, struct err *e)
{
	json_t *j = json_loadb(json, len, 0, NULL), *f, *m;
	size_t i;
	int rc = 0;

	if (!json_is_array(j)) {
		rc = err_set(e, LB_ERR, "scm %s: the list of custom fields is not a JSON array",
		    ca_name);
		goto out;
	}
	json_array_foreach(j, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));

		m = json_object_get(f, "mandatory");
		if (name == NULL || !json_is_true(m) || field_value(x, name) != NULL)
			continue;
		rc = err_set(e, LB_ECONFIG, "scm %s: the tenant requires custom field \"%s\", "
		    "which profile %s does not set (custom_fields: {\"%s\": VALUE} in the "
		    "profile or the CA)", ca_name, name, profile, name);
		break;
	}
out:
	json_decref(j);
	return rc;
}

static int
id_desc(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

long
scm_list_ids(const char *json, size_t len, long **ids)
{
	json_t *j = json_loadb(json, len, 0, NULL), *it, *id;
	long n = 0;
	size_t i;

	*ids = NULL;
	if (!json_is_array(j)) {
		json_decref(j);
		return -1;
	}
	if (json_array_size(j) > 0 &&
	    (*ids = calloc(json_array_size(j), sizeof(**ids))) == NULL) {
		json_decref(j);
		return -1;
	}
	json_array_foreach(j, i, it) {
		/* sslId is deprecated in favour of id (reference 2.3): either */
		if ((id = json_object_get(it, "sslId")) == NULL)
			id = json_object_get(it, "id");
		if (json_is_integer(id) && json_integer_value(id) > 0)
			(*ids)[n++] = (long)json_integer_value(id);
		else if (json_is_string(id) && scm_is_id(json_string_value(id)))
			(*ids)[n++] = strtol(json_string_value(id), NULL, 10);
	}
	json_decref(j);
	if (n > 0)
		qsort(*ids, (size_t)n, sizeof(**ids), id_desc);
	return n;
}

bool
scm_details_tagged(const char *json, size_t len, const char *tag)
{
	json_t *j = json_loadb(json, len, 0, NULL);
	const char *c = json_string_value(json_object_get(j, "comments"));
	bool yes = false;

	if (c != NULL && tag != NULL && tag[0] != '\0') {
		const char *p = strstr(c, tag);

		/* the whole tag, not a prefix of a longer one */
		yes = p != NULL && (p[strlen(tag)] == '\0' || isspace((unsigned char)p[strlen(tag)]));
	}
	json_decref(j);
	return yes;
}
