/* BIG-IP driver: certificate install, activation (client-ssl profile, cert-key-chain swap), retire and remove. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "device/bigip/internal.h"
#include "util/log.h"
#include "util/mem.h"


/* ---- install ---------------------------------------------------------------------- */

static void
sha1_hex(const char *data, size_t len, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha1(), NULL);
	for (unsigned int i = 0; i < n && i < 20; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[40] = '\0';
}

/* Uploads pem and makes ssl-cert `name` from it; an existing object with
 * the same content (checksum) counts as done (a resumed run). The upload's
 * name derives from the object's alone (bip_upload_name), so a run that
 * dies before removing it leaves a file the next run can name: it uploads
 * it again and removes it, or discards it with the key. */
static int
install_cert_obj(struct device *d, const char *name, const char *pem, struct err *e)
{
	char *up = NULL, *src = NULL, *fp = NULL, sha[41];
	json_t *b = NULL, *cur = NULL;
	const char *ck;
	int rc;

	fp = icontrol_fullpath(d->part, name);
	up = fp != NULL ? bip_upload_name(name) : NULL;
	src = up != NULL ? xasprintf("file://" ICONTROL_UPLOAD_DIR "/%s", up) : NULL;
	if (src == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	if ((rc = icontrol_upload(d->ic, up, pem, strlen(pem), e)) != 0)
		goto out;
	b = json_pack("{s:s, s:s, s:s}", "name", name, "partition", d->part, "sourcePath", src);
	rc = bip_call(d, "POST", "/mgmt/tm/sys/file/ssl-cert", b, NULL, fp, NULL, e);
	if (rc == LB_EEXIST) {
		struct err ge = {0};
		sha1_hex(pem, strlen(pem), sha);
		if (bip_get_obj(d, "sys/file/ssl-cert", fp, NULL, &cur, &ge) == 0 &&
		    (ck = bip_jstr(cur, "checksum")) != NULL && strstr(ck, sha) != NULL) {
			err_clear(e);
			rc = 0;
		}
	}
out:
	/* best effort: a file left here is removed with the key or when its
	 * certificate is retired (bip_drop_uploads) */
	if (up != NULL)
		icontrol_unlink_upload(d->ic, up);
	json_decref(b);
	json_decref(cur);
	free(up);
	free(src);
	free(fp);
	return rc;
}

int
bigip_cert_install(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *cert_pem, char *const *chain, size_t nchain, char **install_ref,
    struct err *e)
{
	char *base = bip_key_base(key_ref), *crt = NULL, *chn = NULL, *bundle = NULL;
	char *crt_fp = NULL, *chn_fp = NULL;
	size_t blen = 0;
	json_t *ref = NULL;
	int rc;

	(void)p;
	*install_ref = NULL;
	if (base == NULL)
		return err_set(e, LB_ERR, "%s: %s is not a key made by lbcert", bip_dname(d),
		    key_ref != NULL ? key_ref : "(null)");
	/* names without the partition: base is "/P/<base>" */
	crt = xasprintf("%s.crt", strrchr(base, '/') + 1);
	chn = xasprintf("%s_chain.crt", strrchr(base, '/') + 1);
	if (crt == NULL || chn == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	crt_fp = icontrol_fullpath(d->part, crt);
	if ((rc = install_cert_obj(d, crt, cert_pem, e)) != 0)
		goto out;
	if (nchain > 0) {
		for (size_t i = 0; i < nchain; i++)
			blen += strlen(chain[i]) + 1;
		if ((bundle = calloc(1, blen + 1)) == NULL) {
			rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
			goto out;
		}
		for (size_t i = 0; i < nchain; i++) {
			strcat(bundle, chain[i]);
			if (bundle[strlen(bundle) - 1] != '\n')
				strcat(bundle, "\n");
		}
		if ((rc = install_cert_obj(d, chn, bundle, e)) != 0)
			goto out;
		chn_fp = icontrol_fullpath(d->part, chn);
	}
	ref = json_pack("{s:s, s:s, s:s*}", "key", key_ref, "cert", crt_fp, "chain", chn_fp);
	if (ref == NULL || (*install_ref = json_dumps(ref, JSON_COMPACT)) == NULL)
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
out:
	json_decref(ref);
	free(base);
	free(crt);
	free(chn);
	free(crt_fp);
	free(chn_fp);
	free(bundle);
	return rc;
}

/* ---- activate ------------------------------------------------------------------- */

static bool
in_set(json_t *items, const char *fp)
{
	size_t i;
	json_t *x;

	json_array_foreach(items, i, x) {
		const char *f = bip_jstr(x, "fullPath");
		if (f != NULL && strcmp(f, fp) == 0)
			return true;
	}
	return false;
}

/* Checks each listed virtual before anything changes. A virtual that
 * already carries another client-ssl profile is refused unless its entry
 * says sni: true: an SNI virtual serves several client-ssl profiles side by
 * side (the box itself insists on exactly one sniDefault among them), but
 * on a plain one ours would have to replace the admin's, and lbcert never
 * detaches an administrator's profile silently. attached[i] tells whether
 * ours is already there (a resumed run). A non-NULL parent must be among
 * the client-ssl profiles too (checked from the same listing). */
static int
preflight(struct device *d, const struct cfg_profile *p, const char *prof_fp,
    const char *parent, bool *attached, struct err *e)
{
	json_t *cs = NULL, *vs = NULL;
	int rc;

	if ((rc = bip_snap_list(d, BIP_SNAP_CLIENTSSL, &cs, e)) != 0)
		return rc;
	if (parent != NULL && !in_set(cs, parent))
		rc = err_set(e, LB_ERR, "%s: profile %s: parent client-ssl profile %s does not "
		    "exist", bip_dname(d), p->name, parent);
	for (size_t i = 0; i < p->nvservers && rc == 0; i++) {
		json_t *items, *x;
		size_t j;
		const char *other = NULL;

		attached[i] = false;
		if ((rc = bip_get_obj(d, "ltm/virtual", p->vservers[i].name,
		    "?expandSubcollections=true", &vs, e)) != 0) {
			err_prefix(e, "profile %s: virtual %s", p->name, p->vservers[i].name);
			break;
		}
		items = json_object_get(json_object_get(vs, "profilesReference"), "items");
		json_array_foreach(items, j, x) {
			const char *f = bip_jstr(x, "fullPath");
			if (f == NULL || !in_set(cs, f))
				continue;
			if (strcmp(f, prof_fp) == 0)
				attached[i] = true;
			else
				other = f;
		}
		if (other != NULL && !attached[i] && !p->vservers[i].sni)
			rc = err_set(e, LB_ERR, "%s: virtual %s already has client-ssl profile %s; "
			    "refusing to replace it (detach it, or list the virtual with sni: true "
			    "to serve %s beside it)", bip_dname(d), p->vservers[i].name, other, prof_fp);
		json_decref(vs);
		vs = NULL;
	}
	json_decref(cs);
	return rc;
}

/* Before a key is made: the parent profile exists and every virtual
 * would accept ours (preflight), so a refusal costs no certificate. */
int
bigip_check_ready(struct device *d, const struct cfg_profile *p, struct err *e)
{
	char pbuf[256], *prof_fp;
	const char *parent = p->client_ssl.parent != NULL ? p->client_ssl.parent :
	    "/Common/clientssl";
	bool *attached = calloc(p->nvservers + 1, sizeof(*attached));
	int rc;

	prof_fp = icontrol_fullpath(d->part, bip_profile_name(p, pbuf, sizeof(pbuf)));
	if (attached == NULL || prof_fp == NULL)
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	else
		rc = preflight(d, p, prof_fp, parent, attached, e);
	free(attached);
	free(prof_fp);
	return rc;
}

json_t *
bip_ckc_entry(const char *base_name, const char *key, const char *cert, const char *chain,
    const char *pass)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "name", base_name, "cert", cert,
	    "key", key, "passphrase", pass);

	if (e != NULL && chain != NULL)
		json_object_set_new(e, "chain", json_string(chain));
	return e;
}

static void
set_sni(json_t *b, const struct cfg_profile *p)
{
	json_object_set_new(b, "serverName", json_string(p->client_ssl.server_name != NULL &&
	    p->client_ssl.server_name[0] ? p->client_ssl.server_name : "none"));
	json_object_set_new(b, "sniDefault", json_boolean(p->client_ssl.sni_default));
}

/* Renewal: the profile stays attached; its certKeyChain is replaced in
 * one transaction so key, cert and chain switch together (a key/cert pair
 * must never be changed one half at a time, reference §4.4). ckc NULL:
 * only p's entry goes (another key's entry stays and serves). */
int
bip_swap_chain(struct device *d, const struct cfg_profile *p, const char *prof_fp, json_t *ckc,
    struct err *e)
{
	json_t *t = NULL, *b = NULL, *commit = NULL, *cur = NULL, *list = NULL, *x;
	char coord[32], *path = NULL, *tpath = NULL;
	json_int_t tid = 0;
	size_t i;
	int rc;

	/* PATCH certKeyChain replaces the whole list: keep every entry that is
	 * not lbcert's, as the box shows it (a password key's passphrase comes
	 * back in its encrypted form and is sent back as such). */
	if ((rc = bip_get_obj(d, "ltm/profile/client-ssl", prof_fp, NULL, &cur, e)) != 0)
		goto out;
	list = json_array();
	json_array_foreach(json_object_get(cur, "certKeyChain"), i, x) {
		json_t *keep;
		if (bip_entry_ours(d, p, x))
			continue;
		keep = json_deep_copy(x);
		json_object_del(keep, "certReference");
		json_object_del(keep, "keyReference");
		json_object_del(keep, "chainReference");
		json_array_append_new(list, keep);
	}
	if (ckc != NULL)
		json_array_append(list, ckc);
	b = json_object();
	rc = bip_call(d, "POST", "/mgmt/tm/transaction", b, NULL, "transaction", &t, e);
	json_decref(b);
	b = NULL;
	if (rc != 0)
		goto out;
	if (json_unpack(t, "{s:I}", "transId", &tid) != 0) {
		rc = err_set(e, LB_ERR, "%s: transaction answer without transId", bip_dname(d));
		goto out;
	}
	snprintf(coord, sizeof(coord), "%lld", (long long)tid);
	b = json_pack("{s:O}", "certKeyChain", list);
	if (b == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	set_sni(b, p);
	path = bip_obj_path(d, "ltm/profile/client-ssl", prof_fp, NULL);
	if ((rc = bip_call(d, "PATCH", path, b, coord, prof_fp, NULL, e)) != 0)
		goto out;
	tpath = xasprintf("/mgmt/tm/transaction/%s", coord);
	commit = json_pack("{s:s}", "state", "VALIDATING");
	/* the commit itself must not carry the coordination header */
	rc = bip_call(d, "PATCH", tpath, commit, NULL, "transaction commit", NULL, e);
	if (rc != 0)
		err_prefix(e, "renewal of %s left unchanged", prof_fp);
out:
	json_decref(t);
	bip_decref_wiped(b);
	bip_decref_wiped(list);
	bip_decref_wiped(cur);
	json_decref(commit);
	free(path);
	free(tpath);
	return rc;
}

int
bip_profile_holds_key(struct device *d, const struct cfg_profile *p, const char *key_ref,
    bool *holds, struct err *e)
{
	char pbuf[256], *prof_fp = icontrol_fullpath(d->part,
	    bip_profile_name(p, pbuf, sizeof(pbuf)));
	json_t *prof = NULL, *ent;
	size_t i;
	int rc;

	*holds = false;
	if (prof_fp == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	rc = bip_get_obj(d, "ltm/profile/client-ssl", prof_fp, NULL, &prof, e);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		rc = 0;
	}
	json_array_foreach(json_object_get(prof, "certKeyChain"), i, ent) {
		const char *k = json_string_value(json_object_get(ent, "key"));

		if (k != NULL && strcmp(k, key_ref) == 0)
			*holds = true;
	}
	bip_decref_wiped(prof);
	free(prof_fp);
	return rc;
}

int
bigip_activate(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *install_ref, bool first, struct err *e)
{
	char pbuf[256], *prof_fp = NULL, *ename = NULL, *vpath = NULL;
	const char *cert, *chain = NULL, *slash;
	struct passkey *k = bip_find_key(d, key_ref);
	json_t *ref = NULL, *ckc = NULL, *b = NULL, *att = NULL;
	bool *attached = NULL;
	int rc;

	bool held = false;

	/* The passphrase is gone with the run that made the key; when that
	 * run's profile change took effect (its answer lost), what is left
	 * is attaching the profile, which needs no passphrase. */
	if (k == NULL && (bip_profile_holds_key(d, p, key_ref, &held, e) != 0 || !held))
		return held ? LB_ERR : err_set(e, LB_ERR, "%s: the passphrase of %s is gone (made "
		    "by another run); it cannot be used", bip_dname(d), key_ref);
	if ((ref = json_loads(install_ref, 0, NULL)) == NULL ||
	    json_unpack(ref, "{s:s, s?s}", "cert", &cert, "chain", &chain) != 0) {
		json_decref(ref);
		return err_set(e, LB_ERR, "%s: bad install reference", bip_dname(d));
	}
	prof_fp = icontrol_fullpath(d->part, bip_profile_name(p, pbuf, sizeof(pbuf)));
	slash = strrchr(key_ref, '/');
	ename = xstrdup(slash != NULL ? slash + 1 : key_ref);
	attached = calloc(p->nvservers + 1, sizeof(*attached));
	if (prof_fp == NULL || ename == NULL || attached == NULL ||
	    (k != NULL && (ckc = bip_ckc_entry(ename, key_ref, cert, chain, k->pass)) == NULL)) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	if ((rc = preflight(d, p, prof_fp, NULL, attached, e)) != 0)
		goto out;
	if (held)
		rc = 0;
	else if (first) {
		b = json_pack("{s:s, s:s, s:s, s:[O]}", "name", strrchr(prof_fp, '/') + 1,
		    "partition", d->part, "defaultsFrom",
		    p->client_ssl.parent != NULL ? p->client_ssl.parent : "/Common/clientssl",
		    "certKeyChain", ckc);
		set_sni(b, p);
		rc = bip_call(d, "POST", "/mgmt/tm/ltm/profile/client-ssl", b, NULL, prof_fp, NULL, e);
		if (rc == LB_EEXIST) {
			/* a resumed run: make the existing profile serve this pair */
			err_clear(e);
			rc = bip_swap_chain(d, p, prof_fp, ckc, e);
		}
	} else
		rc = bip_swap_chain(d, p, prof_fp, ckc, e);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < p->nvservers; i++) {
		if (attached[i])
			continue;
		vpath = bip_obj_path(d, "ltm/virtual", p->vservers[i].name, "/profiles");
		att = json_pack("{s:s, s:s}", "name", prof_fp, "context", "clientside");
		rc = bip_call(d, "POST", vpath, att, NULL, p->vservers[i].name, NULL, e);
		if (rc == LB_EEXIST) {
			err_clear(e);
			rc = 0;
		}
		json_decref(att);
		free(vpath);
		att = NULL;
		vpath = NULL;
		if (rc != 0) {
			err_prefix(e, "attaching %s", prof_fp);
			goto out;
		}
	}
out:
	bip_decref_wiped(b);
	bip_decref_wiped(ckc);
	json_decref(ref);
	free(attached);
	free(prof_fp);
	free(ename);
	return rc;
}

/* ---- retire / remove ------------------------------------------------------------- */

/* DELETE that counts "already gone" as done and an object the box refuses
 * to delete (400: in use elsewhere, another profile) as one to keep. Any
 * other failure (no answer, 5xx, 429) is returned: the engine retries the
 * retirement on a later run. */
static int
del_unused(struct device *d, const char *coll, const char *name, struct err *e)
{
	char *path = bip_obj_path(d, coll, name, NULL);
	long status = 0;
	int rc = bip_call_st(d, "DELETE", path, NULL, NULL, name, NULL, &status, e);

	free(path);
	if (rc == LB_ENOTFOUND || (rc != 0 && status == 400)) {
		if (rc != LB_ENOTFOUND)
			log_warn("%s: keeping %s: %s", bip_dname(d), name, e->msg);
		err_clear(e);
		rc = 0;
	}
	return rc;
}

static int
delete_refs(struct device *d, const struct cfg_profile *p, json_t *refs,
    const char *keep_profile, struct err *e)
{
	static const struct { const char *field, *coll; } order[] = {
		{ "csr", "sys/crypto/csr" }, { "cert", "sys/file/ssl-cert" },
		{ "chain", "sys/file/ssl-cert" }, { "key", "sys/file/ssl-key" },
	};
	json_t *prof = NULL;
	char *in_use = NULL, *base = NULL;
	const char *cert;
	int rc = 0;

	/* never delete what the profile serves now (a retry after the swap):
	 * without its answer nothing is known to be unused. A profile that is
	 * gone serves nothing. Read afresh, not from the snapshot: deleting
	 * goes by what the unit says at this moment. */
	if (keep_profile != NULL) {
		rc = bip_get_fresh(d, "ltm/profile/client-ssl", keep_profile, &prof, e);
		if (rc == 0 && (in_use = json_dumps(json_object_get(prof, "certKeyChain"),
		    JSON_COMPACT)) == NULL)
			rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		if (rc != 0 && rc != LB_ENOTFOUND) {
			err_prefix(e, "%s: not deleting old objects: cannot tell what profile %s "
			    "serves", bip_dname(d), keep_profile);
			bip_decref_wiped(prof);
			return rc;
		}
		rc = 0;
	}
	err_clear(e);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *name = bip_jstr(refs, order[i].field);
		char quoted[600];
		if (name == NULL)
			continue;
		if (!bip_name_ours(d, p, name)) {
			/* refs recorded by an older version, or edited by hand */
			log_info("%s: keeping %s: not an object lbcert made", bip_dname(d), name);
			continue;
		}
		snprintf(quoted, sizeof(quoted), "\"%s\"", name);
		if (in_use != NULL && strstr(in_use, quoted) != NULL)
			continue;
		if ((rc = del_unused(d, order[i].coll, name, e)) != 0)
			break;
	}
	/* the uploads its ssl-certs were made from, should a run have died
	 * before removing them */
	if (rc == 0 && (cert = bip_jstr(refs, "cert")) != NULL && bip_name_ours(d, p, cert) &&
	    strlen(cert) > 4 && strcmp(cert + strlen(cert) - 4, ".crt") == 0 &&
	    (base = strndup(cert, strlen(cert) - 4)) != NULL)
		rc = bip_drop_uploads(d, base, e);
	free(base);
	/* the dump holds the profile's passphrase fields too */
	secret_free(in_use);
	bip_decref_wiped(prof);
	return rc;
}

int
bigip_retire(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e)
{
	json_t *r = json_loads(refs, 0, NULL);
	int rc;

	if (!json_is_object(r)) {
		json_decref(r);
		return err_set(e, LB_ERR, "%s: bad refs", bip_dname(d));
	}
	rc = delete_refs(d, p, r, bip_jstr(r, "profile"), e);
	json_decref(r);
	return rc;
}

/* Whether the client-ssl profile serves an entry that is not p's (the
 * other key of a keys: list, an administrator's). */
static int
others_in_profile(struct device *d, const struct cfg_profile *p, const char *prof_fp,
    bool *others, struct err *e)
{
	json_t *prof = NULL, *x;
	size_t i;
	int rc;

	*others = false;
	if ((rc = bip_get_fresh(d, "ltm/profile/client-ssl", prof_fp, &prof, e)) != 0)
		return rc;
	json_array_foreach(json_object_get(prof, "certKeyChain"), i, x)
		if (!bip_entry_ours(d, p, x))
			*others = true;
	bip_decref_wiped(prof);
	return 0;
}

int
bigip_remove(struct device *d, const struct cfg_profile *p, struct err *e)
{
	struct device_cert cur = {0};
	char pbuf[256], *prof_fp = NULL;
	json_t *vs = NULL, *cs = NULL, *refs = NULL, *v, *x;
	bool others = false;
	size_t i, j;
	int rc;

	if ((rc = bigip_cert_get(d, p, &cur, e)) != 0)
		return rc;
	if ((prof_fp = icontrol_fullpath(d->part, bip_profile_name(p, pbuf, sizeof(pbuf)))) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	if ((rc = others_in_profile(d, p, prof_fp, &others, e)) != 0)
		goto out;
	if (others) {
		/* another key's entry (keys:) keeps the profile serving: take
		 * out only this one, in one transaction */
		if ((rc = bip_swap_chain(d, p, prof_fp, NULL, e)) == 0 &&
		    (refs = json_loads(cur.refs, 0, NULL)) != NULL)
			rc = delete_refs(d, p, refs, prof_fp, e);
		goto out;
	}
	if ((rc = bip_snap_list(d, BIP_SNAP_VIRTUAL, &vs, e)) != 0 ||
	    (rc = bip_snap_list(d, BIP_SNAP_CLIENTSSL, &cs, e)) != 0)
		goto out;
	/* refuse first, change nothing, when a virtual would serve nothing */
	json_array_foreach(vs, i, v) {
		size_t ours = 0, total = 0;
		json_t *items = json_object_get(json_object_get(v, "profilesReference"), "items");
		json_array_foreach(items, j, x) {
			const char *f = bip_jstr(x, "fullPath");
			if (f == NULL || !in_set(cs, f))
				continue;
			total++;
			ours += strcmp(f, prof_fp) == 0;
		}
		if (ours > 0 && total == ours) {
			rc = err_set(e, LB_ERR, "%s: virtual %s serves only %s; removing it would "
			    "leave the virtual without a certificate", bip_dname(d), bip_jstr(v, "fullPath"),
			    prof_fp);
			goto out;
		}
	}
	json_array_foreach(vs, i, v) {
		json_t *items = json_object_get(json_object_get(v, "profilesReference"), "items");
		json_array_foreach(items, j, x) {
			const char *f = bip_jstr(x, "fullPath");
			char *path, *u;
			if (f == NULL || strcmp(f, prof_fp) != 0)
				continue;
			u = icontrol_url_name(d->part, f);
			path = u != NULL ? xasprintf("/profiles/%s", u) : NULL;
			free(u);
			u = path != NULL ? bip_obj_path(d, "ltm/virtual", bip_jstr(v, "fullPath"), path) : NULL;
			rc = bip_call(d, "DELETE", u, NULL, NULL, bip_jstr(v, "fullPath"), NULL, e);
			free(u);
			free(path);
			if (rc != 0)
				goto out;
		}
	}
	if ((rc = bip_del_obj(d, "ltm/profile/client-ssl", prof_fp, e)) != 0)
		goto out;
	if ((refs = json_loads(cur.refs, 0, NULL)) != NULL)
		rc = delete_refs(d, p, refs, NULL, e);
out:
	device_cert_free(&cur);
	json_decref(vs);
	json_decref(cs);
	json_decref(refs);
	free(prof_fp);
	return rc;
}
