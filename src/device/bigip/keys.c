/* BIG-IP driver: key + CSR made on the box, the CSR read without the advanced shell. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "device/bigip/internal.h"
#include "util/log.h"
#include "util/mem.h"

#define PASS_BYTES 32

/* ---- key + CSR ---------------------------------------------------------------- */

/* POST sys/crypto/key body. Property names are the REST schema's camelCase
 * ones (securityType, keyType, keySize, curveName, subjectAlternativeName,
 * emailAddress: the sys/crypto/key model generated from F5's iControl REST
 * schema, and the names the objects show on GET); the tmsh spelling
 * "subject-alternative-name" seen in some scripts is the fallback of
 * post_key(). */
static json_t *
key_body(struct device *d, const struct cfg_profile *p, const char *keyname,
    const char *csrname, const char *pass)
{
	json_t *b;
	char *san = NULL;
	size_t len = 0;

	for (size_t i = 0; i < p->nsans; i++)
		len += strlen(p->sans[i]) + 6;
	if ((san = calloc(1, len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < p->nsans; i++) {
		if (i > 0)
			strcat(san, ", ");
		strcat(san, "DNS:");
		strcat(san, p->sans[i]);
	}
	b = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s}]}",
	    "name", keyname, "partition", d->part, "securityType", "password",
	    "passphrase", pass, "commonName", p->common_name,
	    "subjectAlternativeName", san, "options", "gen-csr", csrname);
	free(san);
	if (b == NULL)
		return NULL;
	if (p->key.type == KEY_RSA) {
		char size[16];
		snprintf(size, sizeof(size), "%d", p->key.size > 0 ? p->key.size : 2048);
		json_object_set_new(b, "keyType", json_string("rsa-private"));
		json_object_set_new(b, "keySize", json_string(size));
	} else {
		json_object_set_new(b, "keyType", json_string("ec-private"));
		json_object_set_new(b, "curveName",
		    json_string(p->key.curve == CURVE_P384 ? "secp384r1" : "prime256v1"));
	}
#define SUBJ(field, key) \
	if (p->subject.field != NULL && p->subject.field[0] != '\0') \
		json_object_set_new(b, key, json_string(p->subject.field))
	SUBJ(organization, "organization");
	SUBJ(organizational_unit, "ou");
	SUBJ(locality, "city");
	SUBJ(state, "state");
	SUBJ(country, "country");
	SUBJ(email, "emailAddress");
#undef SUBJ
	return b;
}

/* POST sys/crypto/key. Which spelling of the SAN property a unit takes is
 * not documented (reference §3.1): one whose schema lacks the camelCase
 * name refuses it as an unexpected json pair (HTTP 400, nothing created),
 * and is sent the tmsh spelling instead. */
static int
post_key(struct device *d, json_t *b, const char *ref, struct err *e)
{
	long st = 0;
	json_t *san;
	int rc;

	rc = bip_call_st(d, "POST", "/mgmt/tm/sys/crypto/key", b, NULL, ref, NULL, &st, e);
	if (rc == 0 || st != 400 || strstr(e->msg, "unexpected json pair") == NULL ||
	    strstr(e->msg, "subjectAlternativeName") == NULL ||
	    (san = json_object_get(b, "subjectAlternativeName")) == NULL)
		return rc;
	log_info("%s: the unit does not take subjectAlternativeName; sending "
	    "subject-alternative-name", bip_dname(d));
	json_object_set(b, "subject-alternative-name", san);
	json_object_del(b, "subjectAlternativeName");
	err_clear(e);
	return bip_call(d, "POST", "/mgmt/tm/sys/crypto/key", b, NULL, ref, NULL, e);
}

#define CSR_DIR "/config/ssl/ssl.csr"
#define CSR_MAX (64u * 1024)

/* The CSR's PEM. The REST object (sys/crypto/csr) has no PEM field; the
 * way that needs no advanced shell (reference §3.3, F5's own bigip_ssl_csr
 * module, TMOS 14+) moves the CSR's file to the bulk directory, downloads
 * it and removes it. The file name is the object's name, whatever its
 * partition (the module does the same). The bulk copy is removed on every
 * path: it must never outlive this call. */
static int
fetch_csr(struct device *d, const char *csr_name, char **pem, struct err *e)
{
	char *mv = NULL, *rm = NULL, *data = NULL;
	struct err re = {0};
	size_t len = 0;
	int rc;

	*pem = NULL;
	mv = xasprintf(CSR_DIR "/%s " ICONTROL_BULK_DIR "/%s", csr_name, csr_name);
	rm = xasprintf(ICONTROL_BULK_DIR "/%s", csr_name);
	if (mv == NULL || rm == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	if ((rc = icontrol_util(d->ic, "unix-mv", mv, false, e)) != 0) {
		err_prefix(e, "reading the CSR %s", csr_name);
		goto out;
	}
	rc = icontrol_download(d->ic, csr_name, CSR_MAX, &data, &len, e);
	if (rc == 0 && (*pem = icontrol_extract_pem(data, "CERTIFICATE REQUEST")) == NULL)
		rc = err_set(e, LB_ERR, "%s (%s): %s/%s holds no CSR PEM", bip_dname(d),
		    icontrol_url(d->ic), ICONTROL_BULK_DIR, csr_name);
	if (icontrol_util(d->ic, "unix-rm", rm, true, &re) != 0) {
		log_warn("%s: %s", bip_dname(d), re.msg);
		if (rc == 0) {
			/* a CSR copy left in the bulk directory is served to anyone
			 * with REST access: not done until it is gone */
			*e = re;
			rc = re.code;
		}
	}
out:
	if (rc != 0) {
		free(*pem);
		*pem = NULL;
	}
	free(mv);
	free(rm);
	free(data);
	return rc;
}

/* Object names of a key made for (p, tag): base "<object>_<tag>" (the CSR's
 * name) and the key's full path "/P/<base>.key". */
static int
key_names(struct device *d, const struct cfg_profile *p, const char *tag, char **base,
    char **ref)
{
	char *obj = icontrol_safe_name(p->object_name), *keyname = NULL;

	*base = obj != NULL ? xasprintf("%s_%s", obj, tag) : NULL;
	keyname = *base != NULL ? xasprintf("%s.key", *base) : NULL;
	*ref = keyname != NULL ? icontrol_fullpath(d->part, keyname) : NULL;
	free(obj);
	free(keyname);
	if (*ref == NULL) {
		free(*base);
		*base = NULL;
		return -1;
	}
	return 0;
}

char *
bigip_key_ref_for(struct device *d, const struct cfg_profile *p, const char *tag)
{
	char *base, *ref;

	if (key_names(d, p, tag, &base, &ref) != 0)
		return NULL;
	free(base);
	return ref;
}

int
bigip_key_create(struct device *d, const struct cfg_profile *p, const char *tag,
    char **key_ref, char **csr_pem, struct err *e)
{
	unsigned char raw[PASS_BYTES];
	char *base = NULL, *keyname = NULL, *ref = NULL, *csr_fp = NULL;
	char *pass = NULL;
	struct passkey *nk;
	json_t *b = NULL;
	int rc;

	*key_ref = NULL;
	*csr_pem = NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err_set(e, LB_ERR, "%s: RAND_bytes failed", bip_dname(d));
	pass = icontrol_passphrase_encode(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (pass == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	log_secret_add(pass);
	if (key_names(d, p, tag, &base, &ref) == 0) {
		keyname = xstrdup(strrchr(ref, '/') + 1);
		csr_fp = icontrol_fullpath(d->part, base);
	}
	if (csr_fp == NULL || (b = key_body(d, p, keyname, base, pass)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	rc = post_key(d, b, ref, e);
	if (rc == LB_EEXIST) {
		/* Left by a run that died: its passphrase died with it. */
		log_info("%s: %s exists from an earlier attempt; replacing it", bip_dname(d), ref);
		err_clear(e);
		if ((rc = bip_del_obj(d, "sys/crypto/csr", csr_fp, e)) == 0 &&
		    (rc = bip_del_obj(d, "sys/crypto/key", ref, e)) == 0)
			rc = post_key(d, b, ref, e);
	}
	if (rc != 0)
		goto out;
	if ((rc = fetch_csr(d, base, csr_pem, e)) != 0) {
		struct err de = {0};
		/* the passphrase dies with this call: the key is of no use */
		if (bip_del_obj(d, "sys/crypto/csr", csr_fp, &de) != 0 ||
		    bip_del_obj(d, "sys/crypto/key", ref, &de) != 0)
			log_warn("%s: left unusable key %s behind: %s", bip_dname(d), ref, de.msg);
		goto out;
	}
	if ((nk = realloc(d->keys, (d->nkeys + 1) * sizeof(*nk))) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	d->keys = nk;
	d->keys[d->nkeys].ref = ref;
	d->keys[d->nkeys].pass = pass;
	d->nkeys++;
	*key_ref = xstrdup(ref);
	ref = NULL;
	pass = NULL;
	rc = *key_ref != NULL ? 0 : err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
out:
	if (rc != 0 && *csr_pem != NULL) {
		free(*csr_pem);
		*csr_pem = NULL;
	}
	bip_decref_wiped(b);
	if (pass != NULL) {
		log_secret_remove(pass);
		secret_free(pass);
	}
	free(base);
	free(keyname);
	free(ref);
	free(csr_fp);
	return rc;
}

/* A key whose passphrase died with an earlier run is still usable when
 * that run got as far as putting it in the profile (the answer was lost):
 * starting over would try to delete a key in service, which the unit
 * refuses, and the run would never converge. */
bool
bigip_key_usable(struct device *d, const struct cfg_profile *p, const char *key_ref)
{
	struct err e = {0};
	bool holds = false;

	if (key_ref == NULL)
		return false;
	if (bip_find_key(d, key_ref) != NULL)
		return true;
	if (bip_profile_holds_key(d, p, key_ref, &holds, &e) != 0)
		log_warn("%s", e.msg);
	return holds;
}

int
bigip_key_discard(struct device *d, const struct cfg_profile *p, const char *key_ref,
    struct err *e)
{
	char *csr = bip_key_base(key_ref), *crt = NULL, *chn = NULL;
	int rc = 0;

	(void)p;
	/* A key is discarded only before it went into service, so the
	 * certificate objects installed for it (a run killed after install)
	 * serve nothing either. */
	if (csr != NULL) {
		crt = xasprintf("%s.crt", csr);
		chn = xasprintf("%s_chain.crt", csr);
		if (crt == NULL || chn == NULL)
			rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	}
	if (rc == 0 && crt != NULL)
		rc = bip_del_obj(d, "sys/file/ssl-cert", crt, e);
	if (rc == 0 && chn != NULL)
		rc = bip_del_obj(d, "sys/file/ssl-cert", chn, e);
	if (rc == 0 && csr != NULL)
		rc = bip_del_obj(d, "sys/crypto/csr", csr, e);
	if (rc == 0)
		rc = bip_del_obj(d, "sys/file/ssl-key", key_ref, e);
	if (rc == 0 && csr != NULL)
		rc = bip_drop_uploads(d, csr, e);
	if (rc == 0 && csr != NULL) {
		/* a run killed between unix-mv and unix-rm left the CSR's copy */
		char *bulk = xasprintf(ICONTROL_BULK_DIR "/%s", strrchr(csr, '/') + 1);
		rc = bulk != NULL ? icontrol_util(d->ic, "unix-rm", bulk, true, e) :
		    err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		free(bulk);
	}
	free(crt);
	free(chn);
	free(csr);
	bip_forget_key(d, key_ref);
	return rc;
}

char *
bip_upload_name(const char *name)
{
	return xasprintf("%s.pem", name);
}

int
bip_drop_uploads(struct device *d, const char *base, struct err *e)
{
	static const char *const sfx[] = { ".crt", "_chain.crt" };
	const char *slash = strrchr(base, '/');
	int rc = 0;

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]) && rc == 0; i++) {
		char *obj = xasprintf("%s%s", slash != NULL ? slash + 1 : base, sfx[i]);
		char *up = obj != NULL ? bip_upload_name(obj) : NULL;
		char *path = up != NULL ? xasprintf(ICONTROL_UPLOAD_DIR "/%s", up) : NULL;

		rc = path != NULL ? icontrol_util(d->ic, "unix-rm", path, true, e) :
		    err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		free(obj);
		free(up);
		free(path);
	}
	return rc;
}
