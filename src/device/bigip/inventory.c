/* BIG-IP driver: the installed certificate (cert_get) and the inventory, from the objects' properties. */
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


/* ---- cert_get / inventory ---------------------------------------------------------- */

/* "DNS:a, DNS:b" → names. */
static int
parse_sans(const char *s, char ***out, size_t *n)
{
	char *copy, *tok, *save = NULL, **v = NULL, **nv;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return 0;
	if ((copy = xstrdup(s)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (strncmp(tok, "DNS:", 4) != 0)
			continue;
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL)
			break;
		v = nv;
		v[(*n)++] = xstrdup(tok + 4);
	}
	free(copy);
	*out = v;
	return 0;
}

static void
key_desc_from(json_t *c, char *buf, size_t len)
{
	const char *t = bip_jstr(c, "keyType"), *curve = bip_jstr(c, "certificateKeyCurveName");
	json_int_t size = bip_jint(c, "certificateKeySize");

	buf[0] = '\0';
	if (t != NULL && strncmp(t, "rsa", 3) == 0)
		snprintf(buf, len, "rsa:%lld", (long long)size);
	else if (curve != NULL && (strcmp(curve, "prime256v1") == 0 || strcmp(curve, "secp256r1") == 0))
		snprintf(buf, len, "ecdsa:P-256");
	else if (curve != NULL && strcmp(curve, "secp384r1") == 0)
		snprintf(buf, len, "ecdsa:P-384");
}

/* Virtuals (full paths) whose profiles include prof_fp, from one listing. */
static int
bound_to(json_t *virtuals, const char *prof_fp, char ***out, size_t *n)
{
	size_t i, j;
	json_t *v, *x;
	char **nv;

	*out = NULL;
	*n = 0;
	json_array_foreach(virtuals, i, v) {
		json_t *items = json_object_get(json_object_get(v, "profilesReference"), "items");
		json_array_foreach(items, j, x) {
			const char *f = bip_jstr(x, "fullPath");
			if (f == NULL || strcmp(f, prof_fp) != 0)
				continue;
			if ((nv = realloc(*out, (*n + 1) * sizeof(**out))) == NULL)
				return -1;
			*out = nv;
			(*out)[(*n)++] = xstrdup(bip_jstr(v, "fullPath"));
		}
	}
	return 0;
}

int
bigip_cert_get(struct device *d, const struct cfg_profile *p, struct device_cert *out,
    struct err *e)
{
	char pbuf[256], *prof_fp = NULL, *csr = NULL, ser[130];
	json_t *prof = NULL, *entry, *c = NULL, *vs = NULL, *refs = NULL, *x;
	size_t i;
	const char *cert, *key, *chain, *inherit;
	int rc;

	*out = (struct device_cert){0};
	prof_fp = icontrol_fullpath(d->part, bip_profile_name(p, pbuf, sizeof(pbuf)));
	if (prof_fp == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	if ((rc = bip_get_obj(d, "ltm/profile/client-ssl", prof_fp, NULL, &prof, e)) != 0)
		goto out;
	entry = NULL;
	json_array_foreach(json_object_get(prof, "certKeyChain"), i, x) {
		if (bip_entry_ours(d, p, x)) {
			entry = x;
			break;
		}
	}
	inherit = bip_jstr(prof, "inheritCertkeychain");
	cert = bip_jstr(entry, "cert");
	key = bip_jstr(entry, "key");
	chain = bip_jstr(entry, "chain");
	if (cert == NULL || (inherit != NULL && strcmp(inherit, "true") == 0)) {
		rc = err_set(e, LB_ENOTFOUND, "%s: profile %s serves no certificate made by lbcert",
		    bip_dname(d), prof_fp);
		goto out;
	}
	if ((rc = bip_get_obj(d, "sys/file/ssl-cert", cert, NULL, &c, e)) != 0)
		goto out;
	/* The object's own properties describe the certificate (reference
	 * §2.1); reading its file would need the advanced shell. They carry no
	 * not-before: 0 tells the engine to use what it stored at install. */
	out->object = xstrdup(cert);
	out->serial = icontrol_serial_norm(bip_jstr(c, "serialNumber"), ser, sizeof(ser)) ?
	    xstrdup(ser) : NULL;
	out->not_before = 0;
	out->not_after = (time_t)bip_jint(c, "expirationDate");
	parse_sans(bip_jstr(c, "subjectAlternativeName"), &out->names, &out->nnames);
	key_desc_from(c, out->key_desc, sizeof(out->key_desc));
	if (out->object == NULL || out->serial == NULL || out->not_after <= 0) {
		rc = err_set(e, LB_ERR, "%s: ssl-cert %s: no readable serial number or "
		    "expiration date in its properties", bip_dname(d), cert);
		goto out;
	}
	if ((rc = bip_snap_list(d, BIP_SNAP_VIRTUAL, &vs, e)) != 0)
		goto out;
	bound_to(vs, prof_fp, &out->bound, &out->nbound);
	csr = key != NULL ? bip_key_base(key) : NULL;
	refs = json_pack("{s:s, s:s*, s:s*, s:s*, s:s*, s:s*}", "profile", prof_fp, "cert", cert,
	    "key", key, "chain", chain != NULL && strcmp(chain, "none") != 0 ? chain : NULL,
	    "csr", csr, "passphrase", bip_jstr(entry, "passphrase"));
	if (refs == NULL || (out->refs = json_dumps(refs, JSON_COMPACT)) == NULL)
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
out:
	if (rc != 0)
		device_cert_free(out);
	json_decref(prof);
	json_decref(c);
	json_decref(vs);
	json_decref(refs);
	free(prof_fp);
	free(csr);
	return rc;
}

int
bigip_inventory(struct device *d, struct device_inv **out, size_t *n, struct err *e)
{
	json_t *vs = NULL, *cs = NULL, *items = NULL, *c;
	struct device_inv *v = NULL;
	size_t i, j, k, cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = bip_snap_list(d, BIP_SNAP_SSLCERT, &items, e)) != 0)
		goto out;
	if ((rc = bip_snap_list(d, BIP_SNAP_VIRTUAL, &vs, e)) != 0 ||
	    (rc = bip_snap_list(d, BIP_SNAP_CLIENTSSL, &cs, e)) != 0)
		goto out;
	if ((v = calloc(json_array_size(items) + 1, sizeof(*v))) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	json_array_foreach(items, i, c) {
		struct device_inv *it = &v[cnt++];
		const char *fp = bip_jstr(c, "fullPath"), *subj = bip_jstr(c, "subject");
		const char *iss = bip_jstr(c, "issuer"), *cn;
		const char *bundle = bip_jstr(c, "isBundle");
		char ser[130];
		json_t *p, *x;

		it->name = xstrdup(fp != NULL ? fp : "?");
		it->serial = xstrdup(icontrol_serial_norm(bip_jstr(c, "serialNumber"), ser,
		    sizeof(ser)) ? ser : "?");
		if (subj != NULL && (cn = strstr(subj, "CN=")) != NULL)
			it->subject_cn = strndup(cn + 3, strcspn(cn + 3, ","));
		it->not_after = (time_t)bip_jint(c, "expirationDate");
		it->is_ca = (bundle != NULL && strcmp(bundle, "true") == 0) ||
		    (subj != NULL && iss != NULL && strcmp(subj, iss) == 0);
		/* bound: virtuals carrying a client-ssl profile whose chain uses it */
		json_array_foreach(cs, j, p) {
			json_t *ckc = json_object_get(p, "certKeyChain");
			bool uses = false;
			json_array_foreach(ckc, k, x) {
				const char *cc = bip_jstr(x, "cert"), *ch = bip_jstr(x, "chain");
				if (fp != NULL && cc != NULL && strcmp(cc, fp) == 0)
					uses = true;
				if (fp != NULL && ch != NULL && strcmp(ch, fp) == 0)
					it->is_ca = true;
			}
			if (uses && bip_jstr(p, "fullPath") != NULL) {
				char **b = NULL;
				size_t nb = 0;
				bound_to(vs, bip_jstr(p, "fullPath"), &b, &nb);
				for (size_t m = 0; m < nb; m++) {
					char **nv = realloc(it->bound, (it->nbound + 1) * sizeof(char *));
					if (nv == NULL) {
						free(b[m]);
						continue;
					}
					it->bound = nv;
					it->bound[it->nbound++] = b[m];
				}
				free(b);
			}
		}
	}
	*out = v;
	*n = cnt;
	v = NULL;
out:
	device_inv_free(v, cnt);
	json_decref(items);
	json_decref(vs);
	json_decref(cs);
	return rc;
}
