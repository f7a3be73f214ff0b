/* Citrix ADC driver: install and activate (see session.c). */
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

	if (cx_str_empty(f) || cx_file_get(d, f, &pem, NULL, &e) != 0 ||
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
 * serial and fingerprint, from the snapshot: NITRO's serial format varies
 * by build (case, leading zeros, colons), so serials are compared
 * normalized rather than filtered on. *name is NULL when none. */
static int
ca_find(struct device *d, const char *serial, const char *fingerprint, char **name,
    struct err *e)
{
	json_t *items = NULL, *it;
	char have[140];
	size_t i;
	int rc;

	*name = NULL;
	if ((rc = cx_snap_certkeys(d, &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		const char *ck = nitro_json_str(it, "certkey");

		nitro_serial_norm(nitro_json_str(it, "serial"), have, sizeof(have));
		if (ck != NULL && strcmp(have, serial) == 0 && ca_same(d, it, fingerprint)) {
			if ((*name = xstrdup(ck)) == NULL)
				rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
			break;
		}
	}
	json_decref(items);
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
	rc = cx_write(d, "POST", "sslcertkey", NULL, body, what, e);
	if (rc != LB_EEXIST)
		return rc;
	err_clear(e);
	if ((rc = cx_get_certkey(d, name, &ck, e)) != 0)
		return rc;
	if (!cx_file_same(nitro_json_str(ck, "cert"), certf) ||
	    (keyf != NULL && !cx_file_same(nitro_json_str(ck, "key"), keyf)))
		rc = err_set(e, LB_EEXIST, "%s: certkey %s already exists with other files "
		    "(cert %s, key %s)", d->cfg->name, name,
		    nitro_json_str(ck, "cert") ? nitro_json_str(ck, "cert") : "-",
		    nitro_json_str(ck, "key") ? nitro_json_str(ck, "key") : "-");
	json_decref(ck);
	return rc;
}

int
cx_certkey_unlink(struct device *d, const char *from, struct err *e)
{
	char what[128];

	snprintf(what, sizeof(what), "unlink certkey %s", from);
	return cx_write(d, "POST", "sslcertkey", "action=unlink",
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

	if ((rc = cx_get_certkey(d, from, &ck, e)) != 0)
		return rc;
	cur = nitro_json_str(ck, "linkcertkeyname");
	if (cx_str_eq(cur, to) || (!cx_str_empty(cur) && !replace)) {
		if (!cx_str_eq(cur, to))
			log_info("%s: certkey %s stays linked to %s", d->cfg->name, from, cur);
		goto out;
	}
	if (!cx_str_empty(cur) && (rc = cx_certkey_unlink(d, from, e)) != 0)
		goto out;
	snprintf(what, sizeof(what), "link certkey %s to %s", from, to);
	rc = cx_write(d, "POST", "sslcertkey", "action=link", json_pack("{s:{s:s, s:s}}",
	    "sslcertkey", "certkey", from, "linkcertkeyname", to), what, e);
out:
	json_decref(ck);
	return rc;
}

int
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
	if ((rc = cx_file_put(d, certf, cert_pem, e)) != 0)
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
				rc = cx_file_put(d, files[i], chain[i], e);
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
		if (!synced && (rc = cx_ha_sync(d, e)) != 0)
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
	if (cx_str_empty(c))
		rc = err_set(e, LB_ERR, "%s: install reference '%s' has no certificate file",
		    d->cfg->name, install_ref != NULL ? install_ref : "");
	else if ((*certf = xstrdup(c)) == NULL || (!cx_str_empty(a) && (*ca = xstrdup(a)) == NULL))
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
	if ((rc = cx_get_items(d, "sslvserver", vs, NULL, what, &items, e)) != 0)
		return rc;
	o = json_array_get(items, 0);
	cur = nitro_json_str(o, "snienable");
	prof = nitro_json_str(o, "sslprofile");
	if (cur != NULL && strcasecmp(cur, "ENABLED") == 0)
		goto out;
	if ((rc = cx_default_profile(d, &defprof, e)) != 0)
		goto out;
	if (defprof && cx_str_empty(prof)) {
		rc = err_set(e, LB_ERR, "%s: default SSL profiles are enabled and vserver %s "
		    "has no SSL profile to enable SNI on", d->cfg->name, vs);
		goto out;
	}
	if (defprof) {
		snprintf(what, sizeof(what), "enable SNI on SSL profile %s (of vserver %s)",
		    prof, vs);
		rc = cx_write(d, "PUT", "sslprofile", NULL, json_pack("{s:{s:s, s:s}}",
		    "sslprofile", "name", prof, "snienable", "ENABLED"), what, e);
	} else {
		snprintf(what, sizeof(what), "enable SNI on vserver %s", vs);
		rc = cx_write(d, "PUT", "sslvserver", NULL, json_pack("{s:{s:s, s:s}}",
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
	if ((rc = cx_get_bindings(d, "sslvserver_sslcertkey_binding", vs->name, NULL, what,
	    &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		if (cx_str_eq(nitro_json_str(it, "certkeyname"), obj)) {
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
	rc = cx_write(d, "PUT", "sslvserver_sslcertkey_binding", NULL,
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

	rc = cx_get_certkey(d, p->object_name, &ck, e);
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
	if (cx_file_same(nitro_json_str(ck, "cert"), certf) &&
	    cx_file_same(nitro_json_str(ck, "key"), key_ref)) {
		log_info("%s: certkey %s already holds %s", d->cfg->name, p->object_name, certf);
		goto out;
	}
	link = nitro_json_str(ck, "linkcertkeyname");
	if (!cx_str_empty(link) && !cx_str_eq(link, ca) &&
	    (rc = cx_certkey_unlink(d, p->object_name, e)) != 0)
		goto out;
	snprintf(what, sizeof(what), "update certkey %s to %s", p->object_name, certf);
	rc = cx_write(d, "POST", "sslcertkey", "action=update",
	    json_pack("{s:{s:s, s:s, s:s, s:b}}", "sslcertkey", "certkey", p->object_name,
	    "cert", certf, "key", key_ref, "nodomaincheck", 1), what, e);
out:
	json_decref(ck);
	return rc;
}

int
citrix_activate(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *install_ref, bool first, struct err *e)
{
	char *certf = NULL, *ca = NULL;
	int rc;

	if ((rc = parse_install_ref(d, install_ref, &certf, &ca, e)) != 0)
		goto out;
	if ((rc = cx_ha_sync(d, e)) != 0)
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
