/* Citrix ADC driver: readiness, keys and CSRs (see session.c). */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"
#include "device/citrix/citrix.h"
#include "device/device.h"
#include "device/nitro.h"
#include "util/log.h"
#include "util/mem.h"

/* --- keys and CSRs --- */

static void
set_opt(json_t *o, const char *k, const char *v)
{
	if (!cx_str_empty(v))
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

int
citrix_check_ready(struct device *d, const struct cfg_profile *p, struct err *e)
{
	json_t *items = NULL;
	const char *prof;
	char what[160];
	bool defprof = false, sni = false;
	int rc = 0;

	for (size_t i = 0; i < p->nvservers; i++)
		sni = sni || p->vservers[i].sni;
	if (sni && (rc = cx_default_profile(d, &defprof, e)) != 0)
		return rc;
	/* One GET per listed vserver: sslvserver covers lb, cs and vpn. */
	for (size_t i = 0; i < p->nvservers && rc == 0; i++) {
		snprintf(what, sizeof(what), "SSL vserver %s", p->vservers[i].name);
		rc = cx_get_items(d, "sslvserver", p->vservers[i].name, NULL, what, &items, e);
		if (rc == LB_ENOTFOUND)
			err_prefix(e, "profile %s lists SSL vserver %s, which %s does not have",
			    p->name, p->vservers[i].name, d->cfg->name);
		prof = nitro_json_str(json_array_get(items, 0), "sslprofile");
		/* with default profiles on, SNI can only be set on the profile
		 * (activation does that); a vserver without one cannot get it */
		if (rc == 0 && defprof && p->vservers[i].sni && cx_str_empty(prof))
			rc = err_set(e, LB_ERR, "%s: default SSL profiles are enabled, so SNI for "
			    "vserver %s must be set on its SSL profile, but it has none bound; bind "
			    "one (set ssl vserver %s -sslProfile NAME) or list it without sni",
			    d->cfg->name, p->vservers[i].name, p->vservers[i].name);
		json_decref(items);
		items = NULL;
	}
	if (rc == 0 && p->ca != NULL && p->ca->challenge == CHALLENGE_HTTP01)
		rc = cx_responder_ready(d, p, e);
	return rc;
}

int
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
	rc = cx_write(d, "POST", res, "action=create", body, what, e);
	if (rc == LB_EEXIST) {
		/* a resumed run made it already (the name carries the tag) */
		log_info("%s: key file %s exists, reusing it", d->cfg->name, keyf);
		err_clear(e);
		rc = 0;
	}
	if (rc != 0)
		goto out;
	snprintf(what, sizeof(what), "CSR file %s", csrf);
	rc = cx_write(d, "POST", "sslcertreq", "action=create", certreq_body(p, keyf, csrf),
	    what, e);
	if (rc == LB_EEXIST) {
		log_info("%s: CSR file %s exists, reading it back", d->cfg->name, csrf);
		err_clear(e);
		rc = 0;
	}
	if (rc != 0 || (rc = cx_file_get(d, csrf, csr_pem, NULL, e)) != 0)
		goto out;
	*key_ref = keyf;
	keyf = NULL;
out:
	free(keyf);
	free(csrf);
	return rc;
}

char *
citrix_key_ref_for(struct device *d, const struct cfg_profile *p, const char *tag)
{
	(void)d;
	return nitro_name(p->object_name, tag, ".key", NITRO_FILENAME_MAX);
}

bool
citrix_key_usable(struct device *d, const struct cfg_profile *p, const char *key_ref)
{
	struct err e = {0};
	bool exists = false;

	(void)p;
	if (cx_file_exists(d, key_ref, &exists, &e) != 0)
		log_warn("%s", e.msg);
	return exists;
}

int
citrix_key_discard(struct device *d, const struct cfg_profile *p, const char *key_ref,
    struct err *e)
{
	char *csr = cx_csr_of(key_ref);
	int rc;

	(void)p;
	if (csr == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	rc = cx_file_del(d, key_ref, e);
	if (rc == 0)
		rc = cx_file_del(d, csr, e);
	free(csr);
	return rc;
}
