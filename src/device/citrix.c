/* Citrix ADC / NetScaler 13.0+ driver over NITRO (reference: citrix-nitro.md,
 * minimum sequences (a) first enrollment and (b) renewal in place). Keys and
 * CSRs are made on the appliance; files are never overwritten (new names
 * from the object name plus a tag or serial); the certkey named
 * object_name is updated in place on renewal so its bindings never move. */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"
#include "device/device.h"
#include "device/nitro.h"
#include "util/log.h"
#include "util/mem.h"

#define SSL_DIR "/nsconfig/ssl"
#define NOTIFY_DAYS 30
#define ACME_PATH "/.well-known/acme-challenge/"

enum tristate { TRI_UNKNOWN, TRI_NO, TRI_YES };

struct device {
	const struct cfg_device *cfg;
	struct nitro *n;
	/* From the unit's own hanode listing, not from the configured peers:
	 * a pair is often managed through one address (a floating management
	 * IP), and its secondary still needs the files. */
	bool ha_pair;
	/* A write since the last successful save (files included: a save also
	 * syncs them to the HA peer). Set before the request is sent, as a lost
	 * answer may still have changed the device. */
	bool dirty;
	/* `set ssl parameter -defaultProfile ENABLED`: SSL settings live on the
	 * vserver's SSL profile, not on the vserver. */
	enum tristate defprofile;
};

/* --- request helpers --- */

static int
call(struct device *d, const char *method, const char *resource, const char *name,
    const char *query, json_t *body, const char *what, json_t **out, struct err *e)
{
	char *path;
	int rc;

	if ((path = nitro_path(resource, name, query)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	/* saving and syncing files change nothing that needs saving */
	if (strcmp(method, "GET") != 0 && strcmp(resource, "nsconfig") != 0 &&
	    strcmp(resource, "hafiles") != 0)
		d->dirty = true;
	rc = nitro_call(d->n, method, path, body, what, out, NULL, e);
	free(path);
	return rc;
}

/* Writes: body is consumed (json_decref'd). */
static int
write_obj(struct device *d, const char *method, const char *resource,
    const char *query, json_t *body, const char *what, struct err *e)
{
	int rc;

	if (body == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	rc = call(d, method, resource, NULL, query, body, what, NULL, e);
	json_decref(body);
	return rc;
}

/* GET resource[/name][?query] → the array of resource objects (new
 * reference). LB_ENOTFOUND passes through. */
static int
get_items(struct device *d, const char *resource, const char *name,
    const char *query, const char *what, json_t **items, struct err *e)
{
	json_t *resp = NULL;
	int rc;

	*items = NULL;
	if ((rc = call(d, "GET", resource, name, query, NULL, what, &resp, e)) != 0)
		return rc;
	*items = nitro_items(resp, resource);
	json_decref(resp);
	return 0;
}

/* Like get_items for bindings: a missing object means no bindings. */
static int
get_bindings(struct device *d, const char *resource, const char *name,
    const char *query, const char *what, json_t **items, struct err *e)
{
	int rc = get_items(d, resource, name, query, what, items, e);

	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		*items = json_array();
		return 0;
	}
	return rc;
}

/* The certkey object (new reference); LB_ENOTFOUND when absent. */
static int
get_certkey(struct device *d, const char *name, json_t **ck, struct err *e)
{
	json_t *items = NULL;
	char what[128];
	int rc;

	*ck = NULL;
	snprintf(what, sizeof(what), "certkey %s", name);
	if ((rc = get_items(d, "sslcertkey", name, NULL, what, &items, e)) != 0)
		return rc;
	if (json_array_size(items) == 0)
		rc = err_set(e, LB_ENOTFOUND, "%s: certkey %s not found", d->cfg->name, name);
	else
		*ck = json_incref(json_array_get(items, 0));
	json_decref(items);
	return rc;
}

static bool
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool
str_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* --- files (systemfile) --- */

/* Splits a certkey file reference ("x.crt" or "/nsconfig/ssl/x.crt") into
 * directory and file name. -1 when the directory does not fit in dir: a
 * cut directory would name another place (and a DELETE there). */
static int
file_split(const char *ref, char *dir, size_t dlen, const char **base)
{
	const char *slash = strrchr(ref, '/');
	int n;

	if (slash == NULL) {
		*base = ref;
		n = snprintf(dir, dlen, "%s", SSL_DIR);
	} else {
		*base = slash + 1;
		n = slash == ref ? snprintf(dir, dlen, "/") :
		    snprintf(dir, dlen, "%.*s", (int)(slash - ref), ref);
	}
	return n < 0 || (size_t)n >= dlen ? -1 : 0;
}

/* Whether two file references name the same file (bare names live in
 * /nsconfig/ssl, which is also /flash/nsconfig/ssl). */
static bool
file_same(const char *a, const char *b)
{
	char da[256], db[256];
	const char *ba, *bb;

	if (a == NULL || b == NULL)
		return false;
	if (file_split(a, da, sizeof(da), &ba) != 0 || file_split(b, db, sizeof(db), &bb) != 0)
		return strcmp(a, b) == 0;
	if (strcmp(ba, bb) != 0)
		return false;
	for (char *p = da; p != NULL; p = p == da ? db : NULL) {
		size_t l = strlen(p);

		while (l > 1 && p[l - 1] == '/')
			p[--l] = '\0';
		if (strncmp(p, "/flash", 6) == 0)
			memmove(p, p + 6, strlen(p + 6) + 1);
	}
	return strcmp(da, db) == 0;
}

static int
file_get(struct device *d, const char *ref, char **content, size_t *len, struct err *e)
{
	json_t *items = NULL;
	const char *base, *b64;
	char dir[256], what[320], *args = NULL;
	int rc;

	*content = NULL;
	if (file_split(ref, dir, sizeof(dir), &base) != 0)
		return err_set(e, LB_ERR, "%s: file %s: directory name too long", d->cfg->name,
		    ref);
	snprintf(what, sizeof(what), "file %s/%s", dir, base);
	if ((args = nitro_args("filename", base, "filelocation", dir, NULL)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		goto out;
	}
	{
		char *q = xasprintf("args=%s", args);

		rc = q != NULL ? get_items(d, "systemfile", NULL, q, what, &items, e) :
		    err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		free(q);
	}
	if (rc != 0)
		goto out;
	if (json_array_size(items) == 0) {
		rc = err_set(e, LB_ENOTFOUND, "%s: %s not found", d->cfg->name, what);
		goto out;
	}
	b64 = nitro_json_str(json_array_get(items, 0), "filecontent");
	if (b64 == NULL || nitro_b64_decode(b64, content, len) != 0) {
		rc = err_set(e, LB_ERR, "%s: %s: filecontent missing or not base64",
		    d->cfg->name, what);
		goto out;
	}
	rc = 0;
out:
	free(args);
	json_decref(items);
	return rc;
}

/* Whether a file exists, from the directory listing (which carries no
 * content: a private key is never downloaded just to see it is there). */
static int
file_exists(struct device *d, const char *ref, bool *exists, struct err *e)
{
	json_t *items = NULL, *it;
	const char *base;
	char dir[256], what[320], *args, *ef, *q;
	size_t i;
	int rc;

	*exists = false;
	if (file_split(ref, dir, sizeof(dir), &base) != 0)
		return err_set(e, LB_ERR, "%s: file %s: directory name too long", d->cfg->name,
		    ref);
	snprintf(what, sizeof(what), "directory %s", dir);
	args = nitro_args("filelocation", dir, NULL);
	ef = http_escape(base);
	q = args != NULL && ef != NULL ? xasprintf("args=%s&filter=filename:%s", args, ef) :
	    NULL;
	rc = q != NULL ? get_bindings(d, "systemfile", NULL, q, what, &items, e) :
	    err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	if (rc == 0)
		json_array_foreach(items, i, it)
			if (str_eq(nitro_json_str(it, "filename"), base))
				*exists = true;
	json_decref(items);
	free(args);
	free(ef);
	free(q);
	return rc;
}

/* PEM texts equal but for line endings and trailing blanks. */
static bool
pem_same(const char *a, const char *b)
{
	for (;;) {
		while (*a == '\r')
			a++;
		while (*b == '\r')
			b++;
		if (*a == '\0' || *b == '\0')
			break;
		if (*a != *b)
			return false;
		a++;
		b++;
	}
	while (*a == '\n' || *a == ' ' || *a == '\r')
		a++;
	while (*b == '\n' || *b == ' ' || *b == '\r')
		b++;
	return *a == '\0' && *b == '\0';
}

/* Uploads name (in /nsconfig/ssl); a file of that name with the same
 * content counts as done, another content is an error (never overwrite). */
static int
file_put(struct device *d, const char *name, const char *content, struct err *e)
{
	json_t *body;
	char what[128], *b64, *have = NULL;
	int rc;

	snprintf(what, sizeof(what), "file %s/%s", SSL_DIR, name);
	if ((b64 = nitro_b64_encode(content, strlen(content))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	body = json_pack("{s:{s:s, s:s, s:s, s:s}}", "systemfile", "filename", name,
	    "filecontent", b64, "filelocation", SSL_DIR "/", "fileencoding", "BASE64");
	free(b64);
	rc = write_obj(d, "POST", "systemfile", NULL, body, what, e);
	if (rc != LB_EEXIST)
		return rc;
	err_clear(e);
	if ((rc = file_get(d, name, &have, NULL, e)) != 0)
		return rc;
	if (!pem_same(have, content))
		rc = err_set(e, LB_EEXIST, "%s: %s already exists with other content; "
		    "not overwriting it", d->cfg->name, what);
	free(have);
	return rc;
}

/* Deletes a file; an absent file is fine. */
static int
file_del(struct device *d, const char *ref, struct err *e)
{
	const char *base;
	char dir[256], what[320], *args, *q;
	int rc;

	if (file_split(ref, dir, sizeof(dir), &base) != 0)
		return err_set(e, LB_ERR, "%s: file %s: directory name too long, not deleting "
		    "it", d->cfg->name, ref);
	snprintf(what, sizeof(what), "file %s/%s", dir, base);
	args = nitro_args("filelocation", dir, NULL);
	q = args != NULL ? xasprintf("args=%s", args) : NULL;
	rc = q != NULL ? call(d, "DELETE", "systemfile", base, q, NULL, what, NULL, e) :
	    err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	free(args);
	free(q);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		rc = 0;
	}
	return rc;
}

/* The CSR made with a key file: same stem, ".csr". */
static char *
csr_of(const char *key_ref)
{
	size_t l = strlen(key_ref);

	if (l > 4 && strcmp(key_ref + l - 4, ".key") == 0)
		return xasprintf("%.*s.csr", (int)(l - 4), key_ref);
	return xasprintf("%s.csr", key_ref);
}

static int
ha_sync(struct device *d, struct err *e)
{
	json_t *body;

	if (!d->ha_pair)
		return 0;
	body = json_pack("{s:{s:[s]}}", "hafiles", "mode", "ssl");
	return write_obj(d, "POST", "hafiles", "action=sync", body, "HA file sync (ssl)", e);
}

/* --- open / close --- */

/* The HA state of the unit we are logged in to ("Primary", "Secondary",
 * ...), from the hanode entry with id 0; *pair when the listing has any
 * other node (the peer). */
static int
local_state(struct device *d, char *buf, size_t len, bool *pair, struct err *e)
{
	json_t *items = NULL, *it, *local = NULL;
	const char *st;
	size_t i;
	long id;
	int rc;

	buf[0] = '\0';
	*pair = false;
	if ((rc = get_items(d, "hanode", NULL, NULL, "HA nodes", &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		if (nitro_json_long(json_object_get(it, "id"), &id) != 0)
			continue;
		if (id == 0 && local == NULL)
			local = it;
		else if (id != 0)
			*pair = true;
	}
	if (local == NULL)
		local = json_array_get(items, 0);
	if ((st = nitro_json_str(local, "state")) != NULL)
		snprintf(buf, len, "%s", st);
	json_decref(items);
	return 0;
}

/* Appends a then b to buf, cut at its size. */
static void
note(char *buf, size_t len, const char *a, const char *b)
{
	size_t l = strlen(buf);

	for (const char *p = a; p != NULL; p = p == a ? b : NULL)
		for (const char *q = p; *q != '\0' && l + 1 < len; q++)
			buf[l++] = *q;
	buf[l] = '\0';
}

static void citrix_close(struct device *d);

static int
citrix_open(const struct cfg_device *cfg, struct device **out, struct err *e)
{
	struct http_tls tls = { cfg->tls.ca_file, cfg->tls.pin_sha256, cfg->tls.insecure };
	struct device *d;
	char state[64], why[768] = "";
	size_t nunits = 1 + cfg->npeers;
	bool reached = false, unreach = false, pair = false;
	int rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", cfg->name);
	d->cfg = cfg;
	for (size_t i = 0; i < nunits; i++) {
		const char *url = i == 0 ? cfg->url : cfg->peers[i - 1];

		rc = nitro_open(cfg->name, url, &tls, cfg->timeout_s > 0 ? cfg->timeout_s : 30,
		    cfg->username, cfg->password, &d->n, e);
		if (rc == LB_EUNREACH) {
			note(why, sizeof(why), e->msg, "; ");
			unreach = true;
			continue;
		}
		if (rc != 0)
			goto fail;
		reached = true;
		if ((rc = local_state(d, state, sizeof(state), &pair, e)) != 0)
			goto fail;
		if (strcasecmp(state, "Primary") == 0 ||
		    (cfg->npeers == 0 && strcasecmp(state, "Secondary") != 0)) {
			log_debug("%s: using %s (HA state %s%s)", cfg->name, url,
			    state[0] ? state : "none", pair ? ", HA pair" : "");
			d->ha_pair = pair;
			*out = d;
			return 0;
		}
		note(why, sizeof(why), url, " is ");
		note(why, sizeof(why), state[0] ? state : "in no HA state", "; ");
		nitro_close(d->n);
		d->n = NULL;
	}
	/* drop the separator after the last unit's note */
	if (strlen(why) >= 2 && strcmp(why + strlen(why) - 2, "; ") == 0)
		why[strlen(why) - 2] = '\0';
	if (!reached)
		rc = err_set(e, LB_EUNREACH, "%s: no unit reachable: %s", cfg->name, why);
	else if (unreach)
		/* a secondary answered; the unit that may be primary did not */
		rc = err_set(e, LB_EUNREACH, "%s: the HA primary could not be reached: %s",
		    cfg->name, why);
	else
		rc = err_set(e, LB_ERR, "%s: no unit is the HA primary (a secondary is never "
		    "written to): %s", cfg->name, why);
fail:
	citrix_close(d);
	return rc;
}

static void
citrix_close(struct device *d)
{
	if (d == NULL)
		return;
	nitro_close(d->n);
	free(d);
}

static const char *
citrix_active_url(struct device *d)
{
	return d != NULL && d->n != NULL ? nitro_url(d->n) : "";
}

/* --- cert_get --- */

static int
strv_push(char ***v, size_t *n, const char *s)
{
	char **nv, *dup;

	if ((dup = xstrdup(s)) == NULL)
		return -1;
	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		free(dup);
		return -1;
	}
	nv[(*n)++] = dup;
	*v = nv;
	return 0;
}

static const char *
binding_vserver(const json_t *b)
{
	const char *s = nitro_json_str(b, "vservername");

	return s != NULL ? s : nitro_json_str(b, "servername");
}

static int
certkey_bound(struct device *d, const char *obj, char ***bound, size_t *n, struct err *e)
{
	json_t *items = NULL, *it;
	char what[128];
	size_t i;
	int rc;

	snprintf(what, sizeof(what), "bindings of certkey %s", obj);
	if ((rc = get_bindings(d, "sslcertkey_sslvserver_binding", obj, NULL, what,
	    &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		const char *vs = binding_vserver(it);

		if (vs != NULL && strv_push(bound, n, vs) != 0) {
			rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
			break;
		}
	}
	json_decref(items);
	return rc;
}

static char *
refs_json(const char *cert, const char *key, const char *ca)
{
	json_t *o;
	char *csr = key != NULL ? csr_of(key) : NULL, *s;

	o = json_pack("{s:s?, s:s?, s:s?, s:s?}", "cert", cert, "key", key,
	    "ca", str_empty(ca) ? NULL : ca, "csr", csr);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	free(csr);
	return s;
}

/* Without the file, the certkey's own fields (read leniently). */
static void
cert_from_fields(const json_t *ck, struct device_cert *out)
{
	char buf[130];
	long days;

	out->serial = xstrdup(nitro_serial_norm(nitro_json_str(ck, "serial"), buf,
	    sizeof(buf)));
	out->not_before = nitro_parse_date(nitro_json_str(ck, "clientcertnotbefore"));
	out->not_after = nitro_parse_date(nitro_json_str(ck, "clientcertnotafter"));
	if (out->not_after == (time_t)-1 &&
	    nitro_json_long(json_object_get(ck, "daystoexpiration"), &days) == 0)
		out->not_after = time(NULL) + days * 86400;
	out->cert_pem = xstrdup("");
}

static int
citrix_cert_get(struct device *d, const struct cfg_profile *p,
    struct device_cert *out, struct err *e)
{
	struct cert_info ci = {0};
	json_t *ck = NULL;
	const char *certf, *keyf;
	char *pem = NULL, **pems = NULL;
	size_t npems = 0;
	int rc;

	*out = (struct device_cert){0};
	if ((rc = get_certkey(d, p->object_name, &ck, e)) != 0)
		goto out;
	certf = nitro_json_str(ck, "cert");
	keyf = nitro_json_str(ck, "key");
	if ((out->object = xstrdup(p->object_name)) == NULL)
		goto oom;
	if (str_empty(certf)) {
		rc = err_set(e, LB_ERR, "%s: certkey %s has no certificate file",
		    d->cfg->name, p->object_name);
		goto out;
	}
	rc = file_get(d, certf, &pem, NULL, e);
	if (rc == LB_ENOTFOUND) {
		log_warn("%s: certkey %s: %s; using the certkey's own fields", d->cfg->name,
		    p->object_name, e->msg);
		err_clear(e);
		cert_from_fields(ck, out);
	} else if (rc != 0)
		goto out;
	else {
		if ((rc = x509_split_pem(pem, &pems, &npems, e)) != 0 ||
		    (npems == 0 && (rc = err_set(e, LB_ERR, "no certificate in it")) != 0) ||
		    (rc = x509_cert_info(pems[0], &ci, e)) != 0) {
			err_prefix(e, "%s: certkey %s: file %s", d->cfg->name, p->object_name,
			    certf);
			goto out;
		}
		out->cert_pem = pems[0];
		pems[0] = NULL;
		out->serial = xstrdup(ci.serial);
		out->not_before = ci.not_before;
		out->not_after = ci.not_after;
		out->names = ci.names;
		out->nnames = ci.nnames;
		ci.names = NULL;
		ci.nnames = 0;
		snprintf(out->key_desc, sizeof(out->key_desc), "%s", ci.key_desc);
	}
	if (out->serial == NULL || out->cert_pem == NULL)
		goto oom;
	if ((rc = certkey_bound(d, p->object_name, &out->bound, &out->nbound, e)) != 0)
		goto out;
	if ((out->refs = refs_json(certf, keyf, nitro_json_str(ck, "linkcertkeyname"))) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
out:
	if (rc != 0)
		device_cert_free(out);
	cert_info_free(&ci);
	strv_free(pems, npems);
	free(pem);
	json_decref(ck);
	return rc;
}

/* --- keys and CSRs --- */

static void
set_opt(json_t *o, const char *k, const char *v)
{
	if (!str_empty(v))
		json_object_set_new(o, k, json_string(v));
}

static json_t *
certreq_body(const struct cfg_profile *p, const char *keyf, const char *csrf)
{
	const struct cfg_subject *s = &p->subject;
	json_t *o;
	char *san;

	if ((san = nitro_san_string(p->sans, p->nsans)) == NULL)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "reqfile", csrf, "keyfile", keyf,
	    "keyform", "PEM", "digestmethod", "SHA256", "subjectaltname", san);
	free(san);
	if (o == NULL)
		return NULL;
	set_opt(o, "commonname", p->common_name);
	set_opt(o, "countryname", s->country);
	set_opt(o, "statename", s->state);
	set_opt(o, "localityname", s->locality);
	set_opt(o, "organizationname", s->organization);
	set_opt(o, "organizationunitname", s->organizational_unit);
	set_opt(o, "emailaddress", s->email);
	return json_pack("{s:o}", "sslcertreq", o);
}

static json_t *
keygen_body(const struct cfg_profile *p, const char *keyf, const char **res)
{
	if (p->key.type == KEY_ECDSA) {
		*res = "sslecdsakey";
		return json_pack("{s:{s:s, s:s, s:s}}", "sslecdsakey", "keyfile", keyf,
		    "curve", p->key.curve == CURVE_P384 ? "P_384" : "P_256", "keyform", "PEM");
	}
	*res = "sslrsakey";
	return json_pack("{s:{s:s, s:i, s:s, s:s}}", "sslrsakey", "keyfile", keyf,
	    "bits", p->key.size > 0 ? p->key.size : 2048, "exponent", "F4", "keyform", "PEM");
}

/* NITRO flags come as JSON booleans or as strings, by build. */
static bool
flag_on(const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (json_is_true(v))
		return true;
	return s != NULL && (strcasecmp(s, "true") == 0 || strcasecmp(s, "ENABLED") == 0 ||
	    strcasecmp(s, "YES") == 0 || strcasecmp(s, "ON") == 0);
}

/* Whether default SSL profiles are on (sslparameter.defaultprofile), read
 * once per session. */
static int
default_profile(struct device *d, bool *on, struct err *e)
{
	json_t *items = NULL;
	int rc;

	if (d->defprofile == TRI_UNKNOWN) {
		if ((rc = get_items(d, "sslparameter", NULL, NULL, "SSL parameters", &items,
		    e)) != 0)
			return rc;
		d->defprofile = flag_on(json_object_get(json_array_get(items, 0),
		    "defaultprofile")) ? TRI_YES : TRI_NO;
		json_decref(items);
	}
	*on = d->defprofile == TRI_YES;
	return 0;
}

/* http-01 is answered by responder policies, which the appliance skips
 * while the RESPONDER feature is off: the CA would see 404s and the order
 * would fail after it was placed. */
static int
responder_ready(struct device *d, const struct cfg_profile *p, struct err *e)
{
	json_t *items = NULL, *f, *v;
	bool on;
	size_t i;
	int rc;

	if ((rc = get_items(d, "nsfeature", NULL, NULL, "features", &items, e)) != 0)
		return rc;
	f = json_array_get(items, 0);
	on = flag_on(json_object_get(f, "responder"));
	json_array_foreach(json_object_get(f, "feature"), i, v)
		if (json_is_string(v) && strcasecmp(json_string_value(v), "RESPONDER") == 0)
			on = true;
	json_decref(items);
	if (!on)
		return err_set(e, LB_ERR, "%s: profile %s validates http-01 through the "
		    "responder, but the RESPONDER feature is disabled on %s; enable it "
		    "(enable ns feature RESPONDER) or use another challenge", d->cfg->name,
		    p->name, citrix_active_url(d));
	return 0;
}

static int
citrix_check_ready(struct device *d, const struct cfg_profile *p, struct err *e)
{
	json_t *items = NULL;
	const char *prof;
	char what[160];
	bool defprof = false, sni = false;
	int rc = 0;

	for (size_t i = 0; i < p->nvservers; i++)
		sni = sni || p->vservers[i].sni;
	if (sni && (rc = default_profile(d, &defprof, e)) != 0)
		return rc;
	/* One GET per listed vserver: sslvserver covers lb, cs and vpn. */
	for (size_t i = 0; i < p->nvservers && rc == 0; i++) {
		snprintf(what, sizeof(what), "SSL vserver %s", p->vservers[i].name);
		rc = get_items(d, "sslvserver", p->vservers[i].name, NULL, what, &items, e);
		if (rc == LB_ENOTFOUND)
			err_prefix(e, "profile %s lists SSL vserver %s, which %s does not have",
			    p->name, p->vservers[i].name, d->cfg->name);
		prof = nitro_json_str(json_array_get(items, 0), "sslprofile");
		/* with default profiles on, SNI can only be set on the profile
		 * (activation does that); a vserver without one cannot get it */
		if (rc == 0 && defprof && p->vservers[i].sni && str_empty(prof))
			rc = err_set(e, LB_ERR, "%s: default SSL profiles are enabled, so SNI for "
			    "vserver %s must be set on its SSL profile, but it has none bound; bind "
			    "one (set ssl vserver %s -sslProfile NAME) or list it without sni",
			    d->cfg->name, p->vservers[i].name, p->vservers[i].name);
		json_decref(items);
		items = NULL;
	}
	if (rc == 0 && p->ca != NULL && p->ca->challenge == CHALLENGE_HTTP01)
		rc = responder_ready(d, p, e);
	return rc;
}

static int
citrix_key_create(struct device *d, const struct cfg_profile *p, const char *tag,
    char **key_ref, char **csr_pem, struct err *e)
{
	const char *res;
	json_t *body;
	char *keyf, *csrf, what[160];
	int rc;

	*key_ref = *csr_pem = NULL;
	keyf = nitro_name(p->object_name, tag, ".key", NITRO_FILENAME_MAX);
	csrf = nitro_name(p->object_name, tag, ".csr", NITRO_FILENAME_MAX);
	if (keyf == NULL || csrf == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		goto out;
	}
	snprintf(what, sizeof(what), "key file %s", keyf);
	body = keygen_body(p, keyf, &res);
	rc = write_obj(d, "POST", res, "action=create", body, what, e);
	if (rc == LB_EEXIST) {
		/* a resumed run made it already (the name carries the tag) */
		log_info("%s: key file %s exists, reusing it", d->cfg->name, keyf);
		err_clear(e);
		rc = 0;
	}
	if (rc != 0)
		goto out;
	snprintf(what, sizeof(what), "CSR file %s", csrf);
	rc = write_obj(d, "POST", "sslcertreq", "action=create", certreq_body(p, keyf, csrf),
	    what, e);
	if (rc == LB_EEXIST) {
		log_info("%s: CSR file %s exists, reading it back", d->cfg->name, csrf);
		err_clear(e);
		rc = 0;
	}
	if (rc != 0 || (rc = file_get(d, csrf, csr_pem, NULL, e)) != 0)
		goto out;
	*key_ref = keyf;
	keyf = NULL;
out:
	free(keyf);
	free(csrf);
	return rc;
}

static char *
citrix_key_ref_for(struct device *d, const struct cfg_profile *p, const char *tag)
{
	(void)d;
	return nitro_name(p->object_name, tag, ".key", NITRO_FILENAME_MAX);
}

static bool
citrix_key_usable(struct device *d, const char *key_ref)
{
	struct err e = {0};
	bool exists = false;

	if (file_exists(d, key_ref, &exists, &e) != 0)
		log_warn("%s", e.msg);
	return exists;
}

static int
citrix_key_discard(struct device *d, const struct cfg_profile *p, const char *key_ref,
    struct err *e)
{
	char *csr = csr_of(key_ref);
	int rc;

	(void)p;
	if (csr == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	rc = file_del(d, key_ref, e);
	if (rc == 0)
		rc = file_del(d, csr, e);
	free(csr);
	return rc;
}

/* --- install --- */

/* Whether the certkey's certificate file holds exactly the certificate
 * with that SHA-256 fingerprint. A serial is only unique per issuer, and
 * another CA (or a forged object) may reuse it: the DER fingerprint pins
 * subject, key identifier and everything else. An unreadable file is no
 * match. */
static bool
ca_same(struct device *d, const json_t *ck, const char *fingerprint)
{
	struct cert_info ci = {0};
	struct err e = {0};
	const char *f = nitro_json_str(ck, "cert");
	char *pem = NULL, **pems = NULL;
	size_t npems = 0;
	bool same = false;

	if (str_empty(f) || file_get(d, f, &pem, NULL, &e) != 0 ||
	    x509_split_pem(pem, &pems, &npems, &e) != 0 || npems == 0 ||
	    x509_cert_info(pems[0], &ci, &e) != 0) {
		if (e.msg[0] != '\0')
			log_debug("%s: not reusing CA certkey %s: %s", d->cfg->name,
			    nitro_json_str(ck, "certkey"), e.msg);
		goto out;
	}
	same = strcmp(ci.fingerprint, fingerprint) == 0;
	if (!same)
		log_info("%s: certkey %s has the serial of chain certificate %s but another "
		    "certificate; not reusing it", d->cfg->name, nitro_json_str(ck, "certkey"),
		    ci.serial);
out:
	cert_info_free(&ci);
	strv_free(pems, npems);
	free(pem);
	return same;
}

/* An existing certkey holding the certificate with that (normalized)
 * serial and fingerprint. NITRO's serial format varies by build (case,
 * leading zeros, colons), so the filter is tried in two forms and matches
 * are compared normalized. *name is NULL when none. */
static int
ca_find(struct device *d, const char *serial, const char *fingerprint, char **name,
    struct err *e)
{
	char upper[140], variants[2][140], have[140], what[200];
	size_t l = strlen(serial);
	int rc = 0;

	*name = NULL;
	snprintf(upper, sizeof(upper), "%s%s", l % 2 ? "0" : "", serial);
	for (char *q = upper; *q != '\0'; q++)
		*q = (char)toupper((unsigned char)*q);
	snprintf(variants[0], sizeof(variants[0]), "%s", upper);
	snprintf(variants[1], sizeof(variants[1]), "%s", serial);
	snprintf(what, sizeof(what), "certkey with serial %s", serial);
	for (int v = 0; v < 2 && *name == NULL; v++) {
		json_t *items = NULL, *it;
		char *ev, *q;
		size_t i;

		if (v == 1 && strcmp(variants[1], variants[0]) == 0)
			break;
		ev = http_escape(variants[v]);
		q = ev != NULL ? xasprintf("filter=serial:%s", ev) : NULL;
		free(ev);
		if (q == NULL)
			return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		rc = get_bindings(d, "sslcertkey", NULL, q, what, &items, e);
		free(q);
		if (rc != 0)
			return rc;
		json_array_foreach(items, i, it) {
			const char *ck = nitro_json_str(it, "certkey");

			nitro_serial_norm(nitro_json_str(it, "serial"), have, sizeof(have));
			if (ck != NULL && strcmp(have, serial) == 0 &&
			    ca_same(d, it, fingerprint)) {
				*name = xstrdup(ck);
				break;
			}
		}
		json_decref(items);
	}
	return rc;
}

/* Adds a certkey; an existing one with the same files counts as done. */
static int
certkey_add(struct device *d, json_t *body, const char *name, const char *certf,
    const char *keyf, struct err *e)
{
	json_t *ck = NULL;
	char what[128];
	int rc;

	snprintf(what, sizeof(what), "certkey %s", name);
	rc = write_obj(d, "POST", "sslcertkey", NULL, body, what, e);
	if (rc != LB_EEXIST)
		return rc;
	err_clear(e);
	if ((rc = get_certkey(d, name, &ck, e)) != 0)
		return rc;
	if (!file_same(nitro_json_str(ck, "cert"), certf) ||
	    (keyf != NULL && !file_same(nitro_json_str(ck, "key"), keyf)))
		rc = err_set(e, LB_EEXIST, "%s: certkey %s already exists with other files "
		    "(cert %s, key %s)", d->cfg->name, name,
		    nitro_json_str(ck, "cert") ? nitro_json_str(ck, "cert") : "-",
		    nitro_json_str(ck, "key") ? nitro_json_str(ck, "key") : "-");
	json_decref(ck);
	return rc;
}

static int
certkey_unlink(struct device *d, const char *from, struct err *e)
{
	char what[128];

	snprintf(what, sizeof(what), "unlink certkey %s", from);
	return write_obj(d, "POST", "sslcertkey", "action=unlink",
	    json_pack("{s:{s:s}}", "sslcertkey", "certkey", from), what, e);
}

/* Links from to its issuer to. An existing other link is replaced only
 * when replace (the profile's own certkey), else left alone. */
static int
certkey_link(struct device *d, const char *from, const char *to, bool replace,
    struct err *e)
{
	json_t *ck = NULL;
	const char *cur;
	char what[160];
	int rc;

	if ((rc = get_certkey(d, from, &ck, e)) != 0)
		return rc;
	cur = nitro_json_str(ck, "linkcertkeyname");
	if (str_eq(cur, to) || (!str_empty(cur) && !replace)) {
		if (!str_eq(cur, to))
			log_info("%s: certkey %s stays linked to %s", d->cfg->name, from, cur);
		goto out;
	}
	if (!str_empty(cur) && (rc = certkey_unlink(d, from, e)) != 0)
		goto out;
	snprintf(what, sizeof(what), "link certkey %s to %s", from, to);
	rc = write_obj(d, "POST", "sslcertkey", "action=link", json_pack("{s:{s:s, s:s}}",
	    "sslcertkey", "certkey", from, "linkcertkeyname", to), what, e);
out:
	json_decref(ck);
	return rc;
}

static int
citrix_cert_install(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *cert_pem, char *const *chain, size_t nchain, char **install_ref,
    struct err *e)
{
	struct cert_info leaf = {0}, ci;
	char *certf = NULL, **names = NULL, **files = NULL, short_serial[13];
	json_t *ref = NULL;
	bool synced = false;
	int rc;

	(void)key_ref;
	*install_ref = NULL;
	names = calloc(nchain + 1, sizeof(*names));
	files = calloc(nchain + 1, sizeof(*files));
	if (names == NULL || files == NULL)
		goto oom;
	if ((rc = x509_cert_info(cert_pem, &leaf, e)) != 0) {
		err_prefix(e, "%s: certificate for %s", d->cfg->name, p->object_name);
		goto out;
	}
	if ((certf = nitro_name(p->object_name, leaf.serial, ".crt", NITRO_FILENAME_MAX)) == NULL)
		goto oom;
	if ((rc = file_put(d, certf, cert_pem, e)) != 0)
		goto out;
	for (size_t i = 0; i < nchain; i++) {
		const char *base;

		if ((rc = x509_cert_info(chain[i], &ci, e)) != 0) {
			err_prefix(e, "%s: chain certificate %zu for %s", d->cfg->name, i + 1,
			    p->object_name);
			goto out;
		}
		rc = ca_find(d, ci.serial, ci.fingerprint, &names[i], e);
		if (rc == 0 && names[i] == NULL) {
			base = ci.subject_cn != NULL ? ci.subject_cn : "ca";
			snprintf(short_serial, sizeof(short_serial), "%.12s", ci.serial);
			names[i] = nitro_name(base, short_serial, "", NITRO_CERTKEY_MAX);
			files[i] = nitro_name(base, ci.serial, ".crt", NITRO_FILENAME_MAX);
			if (names[i] == NULL || files[i] == NULL)
				rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
			else
				rc = file_put(d, files[i], chain[i], e);
		}
		cert_info_free(&ci);
		if (rc != 0)
			goto out;
	}
	for (size_t i = 0; i < nchain; i++) {
		if (files[i] == NULL)
			continue;
		/* the secondary needs the files before the propagated certkey
		 * adds; with none to add, activate's sync carries the leaf */
		if (!synced && (rc = ha_sync(d, e)) != 0)
			goto out;
		synced = true;
		rc = certkey_add(d, json_pack("{s:{s:s, s:s}}", "sslcertkey", "certkey", names[i],
		    "cert", files[i]), names[i], files[i], NULL, e);
		if (rc != 0)
			goto out;
	}
	for (size_t i = 0; i + 1 < nchain; i++)
		if ((rc = certkey_link(d, names[i], names[i + 1], false, e)) != 0)
			goto out;
	ref = json_pack("{s:s, s:s?}", "cert", certf, "ca", nchain > 0 ? names[0] : NULL);
	if (ref == NULL || (*install_ref = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
out:
	json_decref(ref);
	cert_info_free(&leaf);
	strv_free(names, nchain);
	strv_free(files, nchain);
	free(certf);
	return rc;
}

/* --- activate --- */

static int
parse_install_ref(struct device *d, const char *install_ref, char **certf, char **ca,
    struct err *e)
{
	json_t *o = json_loads(install_ref != NULL ? install_ref : "", 0, NULL);
	const char *c = nitro_json_str(o, "cert"), *a = nitro_json_str(o, "ca");
	int rc = 0;

	*certf = *ca = NULL;
	if (str_empty(c))
		rc = err_set(e, LB_ERR, "%s: install reference '%s' has no certificate file",
		    d->cfg->name, install_ref != NULL ? install_ref : "");
	else if ((*certf = xstrdup(c)) == NULL || (!str_empty(a) && (*ca = xstrdup(a)) == NULL))
		rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	json_decref(o);
	return rc;
}

/* Turns SNI on for vs where the appliance keeps it. With default SSL
 * profiles on, the vserver refuses SSL settings (errorcode 3740) and SNI is
 * a property of its profile. The profile may be shared (the built-in
 * ns_default_ssl_profile_frontend usually is); enabling SNI there changes
 * no handshake of the other vservers: without SNI certificates bound, a
 * vserver keeps serving its default certificate to every client. */
static int
sni_enable(struct device *d, const char *vs, struct err *e)
{
	json_t *items = NULL, *o;
	const char *prof, *cur;
	char what[200];
	bool defprof;
	int rc;

	snprintf(what, sizeof(what), "SSL vserver %s", vs);
	if ((rc = get_items(d, "sslvserver", vs, NULL, what, &items, e)) != 0)
		return rc;
	o = json_array_get(items, 0);
	cur = nitro_json_str(o, "snienable");
	prof = nitro_json_str(o, "sslprofile");
	if (cur != NULL && strcasecmp(cur, "ENABLED") == 0)
		goto out;
	if ((rc = default_profile(d, &defprof, e)) != 0)
		goto out;
	if (defprof && str_empty(prof)) {
		rc = err_set(e, LB_ERR, "%s: default SSL profiles are enabled and vserver %s "
		    "has no SSL profile to enable SNI on", d->cfg->name, vs);
		goto out;
	}
	if (defprof) {
		snprintf(what, sizeof(what), "enable SNI on SSL profile %s (of vserver %s)",
		    prof, vs);
		rc = write_obj(d, "PUT", "sslprofile", NULL, json_pack("{s:{s:s, s:s}}",
		    "sslprofile", "name", prof, "snienable", "ENABLED"), what, e);
	} else {
		snprintf(what, sizeof(what), "enable SNI on vserver %s", vs);
		rc = write_obj(d, "PUT", "sslvserver", NULL, json_pack("{s:{s:s, s:s}}",
		    "sslvserver", "vservername", vs, "snienable", "ENABLED"), what, e);
	}
out:
	json_decref(items);
	return rc;
}

/* Binds obj to vs (as SNI cert when sni); an existing binding is done. */
static int
ensure_bound(struct device *d, const char *obj, const struct cfg_vserver *vs,
    struct err *e)
{
	json_t *items = NULL, *it, *b;
	char what[200];
	size_t i;
	int rc;

	snprintf(what, sizeof(what), "certificate bindings of vserver %s", vs->name);
	if ((rc = get_bindings(d, "sslvserver_sslcertkey_binding", vs->name, NULL, what,
	    &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		if (str_eq(nitro_json_str(it, "certkeyname"), obj)) {
			json_decref(items);
			return 0;
		}
	}
	json_decref(items);
	if (vs->sni && (rc = sni_enable(d, vs->name, e)) != 0)
		return rc;
	b = json_pack("{s:s, s:s}", "vservername", vs->name, "certkeyname", obj);
	if (b != NULL && vs->sni)
		json_object_set_new(b, "snicert", json_true());
	snprintf(what, sizeof(what), "bind certkey %s to vserver %s%s", obj, vs->name,
	    vs->sni ? " (SNI)" : "");
	rc = write_obj(d, "PUT", "sslvserver_sslcertkey_binding", NULL,
	    b != NULL ? json_pack("{s:o}", "sslvserver_sslcertkey_binding", b) : NULL, what, e);
	if (rc == LB_EEXIST) {
		err_clear(e);
		rc = 0;
	}
	return rc;
}

static int
activate_first(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *certf, struct err *e)
{
	json_t *body;

	body = json_pack("{s:{s:s, s:s, s:s, s:s, s:i}}", "sslcertkey", "certkey",
	    p->object_name, "cert", certf, "key", key_ref, "expirymonitor", "ENABLED",
	    "notificationperiod", NOTIFY_DAYS);
	return certkey_add(d, body, p->object_name, certf, key_ref, e);
}

/* Renewal in place (reference (b)): update keeps every binding; when the
 * issuer changed the old link goes first and the new one after. */
static int
activate_renew(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *certf, const char *ca, struct err *e)
{
	json_t *ck = NULL;
	const char *link;
	char what[160];
	int rc;

	rc = get_certkey(d, p->object_name, &ck, e);
	if (rc == LB_ENOTFOUND) {
		/* gone since cert_get (restored config, manual removal): the
		 * first-time path is the only way to serve again */
		log_warn("%s: certkey %s is missing; adding it again", d->cfg->name,
		    p->object_name);
		err_clear(e);
		return activate_first(d, p, key_ref, certf, e);
	}
	if (rc != 0)
		return rc;
	if (file_same(nitro_json_str(ck, "cert"), certf) &&
	    file_same(nitro_json_str(ck, "key"), key_ref)) {
		log_info("%s: certkey %s already holds %s", d->cfg->name, p->object_name, certf);
		goto out;
	}
	link = nitro_json_str(ck, "linkcertkeyname");
	if (!str_empty(link) && !str_eq(link, ca) &&
	    (rc = certkey_unlink(d, p->object_name, e)) != 0)
		goto out;
	snprintf(what, sizeof(what), "update certkey %s to %s", p->object_name, certf);
	rc = write_obj(d, "POST", "sslcertkey", "action=update",
	    json_pack("{s:{s:s, s:s, s:s, s:b}}", "sslcertkey", "certkey", p->object_name,
	    "cert", certf, "key", key_ref, "nodomaincheck", 1), what, e);
out:
	json_decref(ck);
	return rc;
}

static int
citrix_activate(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *install_ref, bool first, struct err *e)
{
	char *certf = NULL, *ca = NULL;
	int rc;

	if ((rc = parse_install_ref(d, install_ref, &certf, &ca, e)) != 0)
		goto out;
	if ((rc = ha_sync(d, e)) != 0)
		goto out;
	rc = first ? activate_first(d, p, key_ref, certf, e) :
	    activate_renew(d, p, key_ref, certf, ca, e);
	if (rc != 0)
		goto out;
	if (ca != NULL && (rc = certkey_link(d, p->object_name, ca, true, e)) != 0)
		goto out;
	for (size_t i = 0; i < p->nvservers; i++)
		if ((rc = ensure_bound(d, p->object_name, &p->vservers[i], e)) != 0)
			goto out;
out:
	free(certf);
	free(ca);
	return rc;
}

/* Saves, then brings the HA peer's files level with ours (the config
 * itself reaches the peer by command propagation): after a save both units
 * could serve from what is saved. */
static int
citrix_save(struct device *d, struct err *e)
{
	int rc = write_obj(d, "POST", "nsconfig", "action=save",
	    json_pack("{s:{}}", "nsconfig"), "save running configuration", e);

	if (rc == 0)
		rc = ha_sync(d, e);
	if (rc == 0)
		d->dirty = false;
	return rc;
}

static bool
citrix_unsaved(struct device *d)
{
	return d != NULL && d->dirty;
}

/* --- retire / remove --- */

static bool
file_in_use(json_t *certkeys, const char *ref)
{
	json_t *it;
	size_t i;

	json_array_foreach(certkeys, i, it) {
		if (file_same(nitro_json_str(it, "cert"), ref) ||
		    file_same(nitro_json_str(it, "key"), ref))
			return true;
	}
	return false;
}

/* Deletes cert, key (and the key's CSR) files that no certkey uses. */
static int
drop_files(struct device *d, json_t *certkeys, const char *cert, const char *key,
    const char *csr, struct err *e)
{
	int rc = 0;

	if (!str_empty(cert) && !file_in_use(certkeys, cert))
		rc = file_del(d, cert, e);
	if (rc == 0 && !str_empty(key) && !file_in_use(certkeys, key)) {
		rc = file_del(d, key, e);
		if (rc == 0 && !str_empty(csr))
			rc = file_del(d, csr, e);
	}
	return rc;
}

/* Deletes a CA certkey nothing links to, then its file when unused. */
static int
drop_ca(struct device *d, json_t *certkeys, const char *ca, struct err *e)
{
	json_t *it, *self = NULL, *rest = NULL;
	char what[128];
	size_t i;
	int rc = 0;

	json_array_foreach(certkeys, i, it) {
		if (str_eq(nitro_json_str(it, "linkcertkeyname"), ca)) {
			log_debug("%s: CA certkey %s still linked from %s", d->cfg->name, ca,
			    nitro_json_str(it, "certkey"));
			return 0;
		}
		if (str_eq(nitro_json_str(it, "certkey"), ca))
			self = it;
	}
	if (self == NULL)
		return 0;
	if (!str_empty(nitro_json_str(self, "linkcertkeyname")) &&
	    (rc = certkey_unlink(d, ca, e)) != 0)
		return rc;
	snprintf(what, sizeof(what), "CA certkey %s", ca);
	rc = call(d, "DELETE", "sslcertkey", ca, NULL, NULL, what, NULL, e);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		rc = 0;
	}
	if (rc != 0)
		return rc;
	rest = json_array();
	json_array_foreach(certkeys, i, it)
		if (it != self)
			json_array_append(rest, it);
	rc = drop_files(d, rest, nitro_json_str(self, "cert"), NULL, NULL, e);
	json_decref(rest);
	return rc;
}

static int
citrix_retire(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e)
{
	json_t *o, *certkeys = NULL;
	const char *ca;
	int rc;

	(void)p;
	if ((o = json_loads(refs != NULL ? refs : "", 0, NULL)) == NULL)
		return err_set(e, LB_ERR, "%s: retire: references '%s' are not JSON",
		    d->cfg->name, refs != NULL ? refs : "");
	if ((rc = get_bindings(d, "sslcertkey", NULL, NULL, "certkeys", &certkeys, e)) != 0)
		goto out;
	if ((rc = drop_files(d, certkeys, nitro_json_str(o, "cert"), nitro_json_str(o, "key"),
	    nitro_json_str(o, "csr"), e)) != 0)
		goto out;
	ca = nitro_json_str(o, "ca");
	if (!str_empty(ca) && drop_ca(d, certkeys, ca, e) != 0) {
		/* a CA object may serve other purposes (client auth): keep it */
		log_warn("%s: keeping CA certkey %s: %s", d->cfg->name, ca, e->msg);
		err_clear(e);
	}
out:
	json_decref(certkeys);
	json_decref(o);
	return rc;
}

static bool
listed(const struct cfg_profile *p, const char *vs)
{
	for (size_t i = 0; i < p->nvservers; i++)
		if (str_eq(p->vservers[i].name, vs))
			return true;
	return false;
}

/* Whether vs serves a server certificate other than obj. */
static int
has_other_cert(struct device *d, const char *vs, const char *obj, bool *other,
    bool *sni, struct err *e)
{
	json_t *items = NULL, *it;
	char what[160];
	size_t i;
	int rc;

	*other = *sni = false;
	snprintf(what, sizeof(what), "certificate bindings of vserver %s", vs);
	if ((rc = get_bindings(d, "sslvserver_sslcertkey_binding", vs, NULL, what, &items,
	    e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		const char *ck = nitro_json_str(it, "certkeyname");
		json_t *ca = json_object_get(it, "ca"), *sn = json_object_get(it, "snicert");

		if (json_is_true(ca) || (json_is_string(ca) &&
		    strcasecmp(json_string_value(ca), "true") == 0))
			continue;
		if (str_eq(ck, obj))
			*sni = json_is_true(sn) || (json_is_string(sn) &&
			    strcasecmp(json_string_value(sn), "true") == 0);
		else if (ck != NULL)
			*other = true;
	}
	json_decref(items);
	return 0;
}

static int
citrix_remove(struct device *d, const struct cfg_profile *p, struct err *e)
{
	json_t *ck = NULL, *certkeys = NULL, *rest = NULL, *it;
	char **bound = NULL, what[200], *args = NULL, *q = NULL, *csr = NULL;
	size_t nbound = 0, i;
	bool other, sni;
	int rc;

	if ((rc = get_certkey(d, p->object_name, &ck, e)) != 0)
		goto out;
	if ((rc = certkey_bound(d, p->object_name, &bound, &nbound, e)) != 0)
		goto out;
	for (i = 0; i < nbound; i++) {
		if (!listed(p, bound[i])) {
			rc = err_set(e, LB_ERR, "%s: certkey %s is also bound to vserver %s, which "
			    "the profile does not list; not removing it", d->cfg->name,
			    p->object_name, bound[i]);
			goto out;
		}
		if ((rc = has_other_cert(d, bound[i], p->object_name, &other, &sni, e)) != 0)
			goto out;
		if (!other) {
			rc = err_set(e, LB_ERR, "%s: vserver %s has no certificate besides %s; "
			    "bind another before removing it", d->cfg->name, bound[i],
			    p->object_name);
			goto out;
		}
	}
	for (i = 0; i < nbound; i++) {
		if ((rc = has_other_cert(d, bound[i], p->object_name, &other, &sni, e)) != 0)
			goto out;
		free(args);
		free(q);
		args = nitro_args("certkeyname", p->object_name, "snicert", sni ? "true" : NULL,
		    NULL);
		q = args != NULL ? xasprintf("args=%s", args) : NULL;
		if (q == NULL) {
			rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
			goto out;
		}
		snprintf(what, sizeof(what), "unbind certkey %s from vserver %s", p->object_name,
		    bound[i]);
		rc = call(d, "DELETE", "sslvserver_sslcertkey_binding", bound[i], q, NULL, what,
		    NULL, e);
		if (rc == LB_ENOTFOUND) {
			err_clear(e);
			rc = 0;
		}
		if (rc != 0)
			goto out;
	}
	if (!str_empty(nitro_json_str(ck, "linkcertkeyname")) &&
	    (rc = certkey_unlink(d, p->object_name, e)) != 0)
		goto out;
	snprintf(what, sizeof(what), "certkey %s", p->object_name);
	if ((rc = call(d, "DELETE", "sslcertkey", p->object_name, NULL, NULL, what, NULL,
	    e)) != 0)
		goto out;
	if ((rc = get_bindings(d, "sslcertkey", NULL, NULL, "certkeys", &certkeys, e)) != 0)
		goto out;
	rest = json_array();
	json_array_foreach(certkeys, i, it)
		if (!str_eq(nitro_json_str(it, "certkey"), p->object_name))
			json_array_append(rest, it);
	if (nitro_json_str(ck, "key") != NULL)
		csr = csr_of(nitro_json_str(ck, "key"));
	rc = drop_files(d, rest, nitro_json_str(ck, "cert"), nitro_json_str(ck, "key"), csr, e);
out:
	free(csr);
	free(args);
	free(q);
	strv_free(bound, nbound);
	json_decref(rest);
	json_decref(certkeys);
	json_decref(ck);
	return rc;
}

/* --- inventory --- */

static bool
is_ca_certkey(const json_t *ck)
{
	const json_t *t = json_object_get(ck, "certificatetype"), *v;
	size_t i;

	if (str_empty(nitro_json_str(ck, "key")))
		return true;
	if (json_is_string(t))
		return strstr(json_string_value(t), "ROOT") != NULL ||
		    strstr(json_string_value(t), "INTM") != NULL;
	json_array_foreach(t, i, v)
		if (json_is_string(v) && (strstr(json_string_value(v), "ROOT") != NULL ||
		    strstr(json_string_value(v), "INTM") != NULL))
			return true;
	return false;
}

static int
citrix_inventory(struct device *d, struct device_inv **out, size_t *n, struct err *e)
{
	json_t *cks = NULL, *binds = NULL, *ck, *b;
	struct device_inv *v = NULL;
	char serial[140];
	size_t i, j, cnt = 0;
	long days;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = get_bindings(d, "sslcertkey", NULL, NULL, "certkeys", &cks, e)) != 0)
		goto out;
	/* one bulk listing of every vserver's certificate bindings (ref §1.5) */
	if ((rc = get_bindings(d, "sslvserver_sslcertkey_binding", NULL, "bulkbindings=yes",
	    "certificate bindings", &binds, e)) != 0)
		goto out;
	if ((v = calloc(json_array_size(cks) + 1, sizeof(*v))) == NULL)
		goto oom;
	json_array_foreach(cks, i, ck) {
		struct device_inv *it = &v[cnt];
		const char *name = nitro_json_str(ck, "certkey");

		if (name == NULL)
			continue;
		cnt++;
		it->name = xstrdup(name);
		it->serial = xstrdup(nitro_serial_norm(nitro_json_str(ck, "serial"), serial,
		    sizeof(serial)));
		it->subject_cn = nitro_dn_cn(nitro_json_str(ck, "subject"));
		it->not_after = nitro_parse_date(nitro_json_str(ck, "clientcertnotafter"));
		if (it->not_after == (time_t)-1 &&
		    nitro_json_long(json_object_get(ck, "daystoexpiration"), &days) == 0)
			it->not_after = time(NULL) + days * 86400;
		it->is_ca = is_ca_certkey(ck);
		if (it->name == NULL || it->serial == NULL)
			goto oom;
		json_array_foreach(binds, j, b) {
			const char *vs = binding_vserver(b);

			const char *bn = nitro_json_str(b, "certkeyname");

			if (bn == NULL)
				bn = nitro_json_str(b, "certkey");
			if (vs != NULL && str_eq(bn, name) &&
			    strv_push(&it->bound, &it->nbound, vs) != 0)
				goto oom;
		}
	}
	*out = v;
	*n = cnt;
	v = NULL;
	rc = 0;
	goto out;
oom:
	rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
out:
	if (v != NULL)
		device_inv_free(v, cnt);
	json_decref(cks);
	json_decref(binds);
	return rc;
}

/* --- http-01 through the responder --- */

static bool
b64url_ok(const char *s, bool dot)
{
	if (str_empty(s) || strlen(s) > 512)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && !(dot && *s == '.'))
			return false;
	return true;
}

/* Short, deterministic object names for a token: "lbcert_acme_<hash>_pol" and
 * "..._act" (the token itself may be 43+ characters). */
static int
http01_names(const char *token, char *pol, char *act, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL))
		return -1;
	snprintf(pol, len, "lbcert_acme_%02x%02x%02x%02x%02x_pol", md[0], md[1], md[2],
	    md[3], md[4]);
	snprintf(act, len, "lbcert_acme_%02x%02x%02x%02x%02x_act", md[0], md[1], md[2],
	    md[3], md[4]);
	return 0;
}

/* Lowest free priority at the bind point; *done when pol is bound already. */
static int
free_priority(json_t *items, const char *pol, long *prio, bool *done)
{
	json_t *it;
	size_t i;
	long p, cand = 1;
	bool used;

	*done = false;
	json_array_foreach(items, i, it)
		if (str_eq(nitro_json_str(it, "policyname"), pol))
			*done = true;
	do {
		used = false;
		json_array_foreach(items, i, it) {
			if (nitro_json_long(json_object_get(it, "priority"), &p) == 0 && p == cand) {
				used = true;
				cand++;
				break;
			}
		}
	} while (used);
	*prio = cand;
	return 0;
}

static int
http01_bind(struct device *d, const struct cfg_profile *p, const char *pol, struct err *e)
{
	const char *vs = p->challenge_vserver;
	json_t *items = NULL, *body;
	char what[200];
	long prio;
	bool done;
	int rc;

	snprintf(what, sizeof(what), "responder bindings of %s%s", vs != NULL ? "vserver " :
	    "global REQ_OVERRIDE", vs != NULL ? vs : "");
	if (vs != NULL)
		rc = get_bindings(d, "lbvserver_responderpolicy_binding", vs, NULL, what, &items, e);
	else
		rc = get_bindings(d, "responderglobal_responderpolicy_binding", NULL,
		    "args=type:REQ_OVERRIDE", what, &items, e);
	if (rc != 0)
		return rc;
	free_priority(items, pol, &prio, &done);
	json_decref(items);
	if (done)
		return 0;
	snprintf(what, sizeof(what), "bind responder policy %s to %s%s", pol,
	    vs != NULL ? "vserver " : "global REQ_OVERRIDE", vs != NULL ? vs : "");
	if (vs != NULL)
		body = json_pack("{s:{s:s, s:s, s:I, s:s}}", "lbvserver_responderpolicy_binding",
		    "name", vs, "policyname", pol, "priority", (json_int_t)prio,
		    "gotopriorityexpression", "END");
	else
		body = json_pack("{s:{s:s, s:I, s:s, s:s}}",
		    "responderglobal_responderpolicy_binding", "policyname", pol, "priority",
		    (json_int_t)prio, "gotopriorityexpression", "END", "type", "REQ_OVERRIDE");
	rc = write_obj(d, "PUT", vs != NULL ? "lbvserver_responderpolicy_binding" :
	    "responderglobal_responderpolicy_binding", NULL, body, what, e);
	if (rc == LB_EEXIST) {
		err_clear(e);
		rc = 0;
	}
	return rc;
}

static int
ignore_exists(int rc, struct err *e)
{
	if (rc == LB_EEXIST) {
		err_clear(e);
		return 0;
	}
	return rc;
}

static int
citrix_http01_publish(struct device *d, const struct cfg_profile *p, const char *token,
    const char *keyauth, struct err *e)
{
	char pol[64], act[64], what[128], *target = NULL, *url = NULL, *qurl = NULL,
	    *rule = NULL;
	int rc;

	if (!b64url_ok(token, false) || !b64url_ok(keyauth, true))
		return err_set(e, LB_ERR, "%s: http-01: token or key authorization has "
		    "characters outside base64url", d->cfg->name);
	if (http01_names(token, pol, act, sizeof(pol)) != 0)
		return err_set(e, LB_ERR, "%s: SHA-256 failed", d->cfg->name);
	/* keyauth is base64url plus '.', nothing to escape inside the literal */
	target = xasprintf("\"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n"
	    "Content-Length: %zu\\r\\nConnection: close\\r\\n\\r\\n%s\"", strlen(keyauth),
	    keyauth);
	url = xasprintf(ACME_PATH "%s", token);
	qurl = url != NULL ? nitro_pi_quote(url) : NULL;
	rule = qurl != NULL ? xasprintf("HTTP.REQ.URL.EQ(%s)", qurl) : NULL;
	if (target == NULL || rule == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		goto out;
	}
	snprintf(what, sizeof(what), "responder action %s", act);
	rc = ignore_exists(write_obj(d, "POST", "responderaction", NULL,
	    json_pack("{s:{s:s, s:s, s:s}}", "responderaction", "name", act, "type",
	    "respondwith", "target", target), what, e), e);
	if (rc != 0)
		goto out;
	snprintf(what, sizeof(what), "responder policy %s", pol);
	rc = ignore_exists(write_obj(d, "POST", "responderpolicy", NULL,
	    json_pack("{s:{s:s, s:s, s:s}}", "responderpolicy", "name", pol, "rule", rule,
	    "action", act), what, e), e);
	if (rc != 0)
		goto out;
	rc = http01_bind(d, p, pol, e);
out:
	free(target);
	free(url);
	free(qurl);
	free(rule);
	return rc;
}

static int
ignore_absent(int rc, struct err *e)
{
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		return 0;
	}
	return rc;
}

static int
citrix_http01_withdraw(struct device *d, const struct cfg_profile *p, const char *token,
    struct err *e)
{
	const char *vs = p->challenge_vserver;
	char pol[64], act[64], what[160], *args, *q;
	int rc;

	if (!b64url_ok(token, false))
		return err_set(e, LB_ERR, "%s: http-01: token has characters outside base64url",
		    d->cfg->name);
	if (http01_names(token, pol, act, sizeof(pol)) != 0)
		return err_set(e, LB_ERR, "%s: SHA-256 failed", d->cfg->name);
	args = nitro_args("policyname", pol, "type", vs == NULL ? "REQ_OVERRIDE" : NULL, NULL);
	q = args != NULL ? xasprintf("args=%s", args) : NULL;
	free(args);
	if (q == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	snprintf(what, sizeof(what), "unbind responder policy %s", pol);
	rc = ignore_absent(call(d, "DELETE", vs != NULL ? "lbvserver_responderpolicy_binding" :
	    "responderglobal_responderpolicy_binding", vs, q, NULL, what, NULL, e), e);
	free(q);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "responder policy %s", pol);
	rc = ignore_absent(call(d, "DELETE", "responderpolicy", pol, NULL, NULL, what, NULL,
	    e), e);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "responder action %s", act);
	return ignore_absent(call(d, "DELETE", "responderaction", act, NULL, NULL, what, NULL,
	    e), e);
}

const struct device_ops citrix_ops = {
	.type = "citrix-adc",
	.open = citrix_open,
	.close = citrix_close,
	.active_url = citrix_active_url,
	.cert_get = citrix_cert_get,
	.check_ready = citrix_check_ready,
	.key_create = citrix_key_create,
	.key_ref_for = citrix_key_ref_for,
	.key_usable = citrix_key_usable,
	.key_discard = citrix_key_discard,
	.cert_install = citrix_cert_install,
	.activate = citrix_activate,
	.save = citrix_save,
	.unsaved = citrix_unsaved,
	.retire = citrix_retire,
	.http01_publish = citrix_http01_publish,
	.http01_withdraw = citrix_http01_withdraw,
	.inventory = citrix_inventory,
	.remove = citrix_remove,
};
