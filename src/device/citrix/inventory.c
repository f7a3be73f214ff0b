/* Citrix ADC driver: installed certificate, retire, remove, inventory (see session.c). */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/x509.h"
#include "device/citrix/citrix.h"
#include "device/device.h"
#include "device/nitro.h"
#include "util/log.h"
#include "util/mem.h"

/* --- cert_get --- */

static char *
refs_json(const char *cert, const char *key, const char *ca)
{
	json_t *o;
	char *csr = key != NULL ? cx_csr_of(key) : NULL, *s;

	o = json_pack("{s:s?, s:s?, s:s?, s:s?}", "cert", cert, "key", key,
	    "ca", cx_str_empty(ca) ? NULL : ca, "csr", csr);
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

/* "RSA" + 2048 -> "rsa:2048"; builds spell the key type differently. */
static bool
key_desc_of(const json_t *ck, char *buf, size_t len)
{
	const char *t = nitro_json_str(ck, "publickey");
	long bits;

	if (t == NULL || nitro_json_long(json_object_get(ck, "publickeysize"), &bits) != 0)
		return false;
	if (strcasecmp(t, "RSA") == 0 || strcasecmp(t, "rsaEncryption") == 0)
		return snprintf(buf, len, "rsa:%ld", bits) > 0;
	if (strcasecmp(t, "ECC") != 0 && strcasecmp(t, "ECDSA") != 0 &&
	    strcasecmp(t, "EC") != 0 && strcasecmp(t, "id-ecPublicKey") != 0)
		return false;
	if (bits != 256 && bits != 384)
		return false;
	return snprintf(buf, len, "ecdsa:P-%ld", bits) > 0;
}

/* "a.example.com, b.example.com" (or a list) -> names. */
static int
sans_of(const json_t *v, char ***names, size_t *n)
{
	char *copy, *tok, *save = NULL;
	json_t *x;
	size_t i;
	int rc = 0;

	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (json_is_string(x) && cx_strv_push(names, n, json_string_value(x)) != 0)
				return -1;
		return 0;
	}
	if ((copy = xstrdup(json_string_value(v))) == NULL)
		return -1;
	for (tok = strtok_r(copy, ", ", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, ", ", &save))
		rc = cx_strv_push(names, n, tok);
	free(copy);
	return rc;
}

/* The certkey listing describes the certificate fully on builds that
 * report its names (sandns) and key; then the file need not be read. */
static int
cert_from_listing(struct device *d, const json_t *ck, struct device_cert *out,
    struct err *e)
{
	const json_t *sans = json_object_get(ck, "sandns");
	char buf[130];

	if (nitro_json_str(ck, "serial") == NULL || !(json_is_string(sans) || json_is_array(sans)))
		return LB_ENOTFOUND;
	out->not_before = nitro_parse_date(nitro_json_str(ck, "clientcertnotbefore"));
	out->not_after = nitro_parse_date(nitro_json_str(ck, "clientcertnotafter"));
	if (out->not_before == (time_t)-1 || out->not_after == (time_t)-1 ||
	    !key_desc_of(ck, out->key_desc, sizeof(out->key_desc)))
		return LB_ENOTFOUND;
	out->serial = xstrdup(nitro_serial_norm(nitro_json_str(ck, "serial"), buf,
	    sizeof(buf)));
	out->cert_pem = xstrdup("");
	if (out->serial == NULL || out->cert_pem == NULL ||
	    sans_of(sans, &out->names, &out->nnames) != 0)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	return 0;
}

/* Older builds: the leaf's file says what the listing does not. */
static int
cert_from_file(struct device *d, const struct cfg_profile *p, const json_t *ck,
    const char *certf, struct device_cert *out, struct err *e)
{
	struct cert_info ci = {0};
	char *pem = NULL, **pems = NULL;
	size_t npems = 0;
	int rc;

	rc = cx_file_get(d, certf, &pem, NULL, e);
	if (rc == LB_ENOTFOUND) {
		log_warn("%s: certkey %s: %s; using the certkey's own fields", d->cfg->name,
		    p->object_name, e->msg);
		err_clear(e);
		cert_from_fields(ck, out);
		rc = 0;
	} else if (rc == 0) {
		if ((rc = x509_split_pem(pem, &pems, &npems, e)) != 0 ||
		    (npems == 0 && (rc = err_set(e, LB_ERR, "no certificate in it")) != 0) ||
		    (rc = x509_cert_info(pems[0], &ci, e)) != 0) {
			err_prefix(e, "%s: certkey %s: file %s", d->cfg->name, p->object_name,
			    certf);
		} else {
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
	}
	cert_info_free(&ci);
	strv_free(pems, npems);
	free(pem);
	return rc;
}

int
citrix_cert_get(struct device *d, const struct cfg_profile *p,
    struct device_cert *out, struct err *e)
{
	json_t *ck = NULL;
	const char *certf, *keyf;
	int rc;

	*out = (struct device_cert){0};
	if ((rc = cx_get_certkey(d, p->object_name, &ck, e)) != 0)
		goto out;
	certf = nitro_json_str(ck, "cert");
	keyf = nitro_json_str(ck, "key");
	if ((out->object = xstrdup(p->object_name)) == NULL)
		goto oom;
	if (cx_str_empty(certf)) {
		rc = err_set(e, LB_ERR, "%s: certkey %s has no certificate file",
		    d->cfg->name, p->object_name);
		goto out;
	}
	rc = cert_from_listing(d, ck, out, e);
	if (rc == LB_ENOTFOUND) {
		device_cert_free(out);
		if ((out->object = xstrdup(p->object_name)) == NULL)
			goto oom;
		rc = cert_from_file(d, p, ck, certf, out, e);
	}
	if (rc != 0)
		goto out;
	if (out->serial == NULL || out->cert_pem == NULL)
		goto oom;
	if ((rc = cx_certkey_bound(d, p->object_name, &out->bound, &out->nbound, e)) != 0)
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
	json_decref(ck);
	return rc;
}

/* --- retire / remove --- */

static bool
file_in_use(json_t *certkeys, const char *ref)
{
	json_t *it;
	size_t i;

	json_array_foreach(certkeys, i, it) {
		if (cx_file_same(nitro_json_str(it, "cert"), ref) ||
		    cx_file_same(nitro_json_str(it, "key"), ref))
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

	if (!cx_str_empty(cert) && !file_in_use(certkeys, cert))
		rc = cx_file_del(d, cert, e);
	if (rc == 0 && !cx_str_empty(key) && !file_in_use(certkeys, key)) {
		rc = cx_file_del(d, key, e);
		if (rc == 0 && !cx_str_empty(csr))
			rc = cx_file_del(d, csr, e);
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
		if (cx_str_eq(nitro_json_str(it, "linkcertkeyname"), ca)) {
			log_debug("%s: CA certkey %s still linked from %s", d->cfg->name, ca,
			    nitro_json_str(it, "certkey"));
			return 0;
		}
		if (cx_str_eq(nitro_json_str(it, "certkey"), ca))
			self = it;
	}
	if (self == NULL)
		return 0;
	if (!cx_str_empty(nitro_json_str(self, "linkcertkeyname")) &&
	    (rc = cx_certkey_unlink(d, ca, e)) != 0)
		return rc;
	snprintf(what, sizeof(what), "CA certkey %s", ca);
	rc = cx_call(d, "DELETE", "sslcertkey", ca, NULL, NULL, what, NULL, e);
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

int
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
	/* a fresh listing, not the snapshot: deleting goes by what the
	 * device says at this moment */
	if ((rc = cx_get_bindings(d, "sslcertkey", NULL, NULL, "certkeys", &certkeys, e)) != 0)
		goto out;
	if ((rc = drop_files(d, certkeys, nitro_json_str(o, "cert"), nitro_json_str(o, "key"),
	    nitro_json_str(o, "csr"), e)) != 0)
		goto out;
	ca = nitro_json_str(o, "ca");
	if (!cx_str_empty(ca) && drop_ca(d, certkeys, ca, e) != 0) {
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
		if (cx_str_eq(p->vservers[i].name, vs))
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
	if ((rc = cx_get_bindings(d, "sslvserver_sslcertkey_binding", vs, NULL, what, &items,
	    e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		const char *ck = nitro_json_str(it, "certkeyname");
		json_t *ca = json_object_get(it, "ca"), *sn = json_object_get(it, "snicert");

		if (json_is_true(ca) || (json_is_string(ca) &&
		    strcasecmp(json_string_value(ca), "true") == 0))
			continue;
		if (cx_str_eq(ck, obj))
			*sni = json_is_true(sn) || (json_is_string(sn) &&
			    strcasecmp(json_string_value(sn), "true") == 0);
		else if (ck != NULL)
			*other = true;
	}
	json_decref(items);
	return 0;
}

int
citrix_remove(struct device *d, const struct cfg_profile *p, struct err *e)
{
	json_t *ck = NULL, *certkeys = NULL, *rest = NULL, *it;
	char **bound = NULL, what[200], *args = NULL, *q = NULL, *csr = NULL;
	size_t nbound = 0, i;
	bool other, sni;
	int rc;

	if ((rc = cx_get_certkey(d, p->object_name, &ck, e)) != 0)
		goto out;
	if ((rc = cx_certkey_bound(d, p->object_name, &bound, &nbound, e)) != 0)
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
		rc = cx_call(d, "DELETE", "sslvserver_sslcertkey_binding", bound[i], q, NULL, what,
		    NULL, e);
		if (rc == LB_ENOTFOUND) {
			err_clear(e);
			rc = 0;
		}
		if (rc != 0)
			goto out;
	}
	if (!cx_str_empty(nitro_json_str(ck, "linkcertkeyname")) &&
	    (rc = cx_certkey_unlink(d, p->object_name, e)) != 0)
		goto out;
	snprintf(what, sizeof(what), "certkey %s", p->object_name);
	if ((rc = cx_call(d, "DELETE", "sslcertkey", p->object_name, NULL, NULL, what, NULL,
	    e)) != 0)
		goto out;
	if ((rc = cx_snap_certkeys(d, &certkeys, e)) != 0)
		goto out;
	rest = json_array();
	json_array_foreach(certkeys, i, it)
		if (!cx_str_eq(nitro_json_str(it, "certkey"), p->object_name))
			json_array_append(rest, it);
	if (nitro_json_str(ck, "key") != NULL)
		csr = cx_csr_of(nitro_json_str(ck, "key"));
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

	if (cx_str_empty(nitro_json_str(ck, "key")))
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

int
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
	if ((rc = cx_snap_certkeys(d, &cks, e)) != 0)
		goto out;
	if ((rc = cx_snap_bindings(d, &binds, e)) != 0)
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
			const char *vs = cx_binding_vserver(b);

			const char *bn = nitro_json_str(b, "certkeyname");

			if (bn == NULL)
				bn = nitro_json_str(b, "certkey");
			if (vs != NULL && cx_str_eq(bn, name) &&
			    cx_strv_push(&it->bound, &it->nbound, vs) != 0)
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
