/* F5 BIG-IP driver over iControl REST (TMOS 14+ object names).
 *
 * Objects per certificate, base = <object_name>_<tag>:
 *   key  /P/<base>.key        made on the box, security-type password
 *   csr  /P/<base>            made with the key (gen-csr)
 *   cert /P/<base>.crt        leaf
 *   cert /P/<base>_chain.crt  intermediates bundle (when there are any)
 * and one client-ssl profile per lbcert profile, attached clientside to
 * each listed virtual. Renewal repoints the profile's certKeyChain.
 *
 * The key passphrase (SPEC §1.3) lives only in this process: 32 bytes from
 * RAND_bytes, base64url, registered with the log redactor, wiped with
 * OPENSSL_cleanse at key_discard/close. A key made by another process has
 * no usable passphrase (key_usable is false). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/x509.h"
#include "device/device.h"
#include "device/icontrol.h"
#include "util/log.h"
#include "util/mem.h"

#define PASS_BYTES 32
#define SYNC_WAIT_S 120

struct passkey {
	char *ref;
	char *pass;
};

struct device {
	const struct cfg_device *cfg;
	struct icontrol *ic;
	const char *part;
	struct passkey *keys;
	size_t nkeys;
	bool dirty;        /* running config changed since the last save */
};

/* ---- small helpers ---------------------------------------------------- */

static const char *
dname(struct device *d)
{
	return d->cfg->name;
}

/* Wipes every "passphrase" string inside v, then releases it: jansson's
 * free does not clear memory. */
static void
wipe_json(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			if (strcmp(k, "passphrase") == 0 && json_is_string(x))
				OPENSSL_cleanse((char *)json_string_value(x),
				    strlen(json_string_value(x)));
			else
				wipe_json(x);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			wipe_json(x);
	}
}

static void
decref_wiped(json_t *v)
{
	if (v == NULL)
		return;
	wipe_json(v);
	json_decref(v);
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An integer property; some TMOS versions send numbers as strings. */
static json_int_t
jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* "/mgmt/tm/<coll>/~P~name<suffix>" for a full path or plain name. */
static char *
obj_path(struct device *d, const char *coll, const char *name, const char *suffix)
{
	char *u = icontrol_url_name(d->part, name), *p;

	if (u == NULL)
		return NULL;
	p = xasprintf("/mgmt/tm/%s/%s%s", coll, u, suffix != NULL ? suffix : "");
	free(u);
	return p;
}

/* Whether a request that succeeded changed the running configuration:
 * util commands move files, a new transaction is empty until committed,
 * save and config-sync are what clears the flag. */
static bool
changes_config(const char *method, const char *path)
{
	return strcmp(method, "GET") != 0 && strncmp(path, "/mgmt/tm/util/", 14) != 0 &&
	    strcmp(path, "/mgmt/tm/transaction") != 0 && strcmp(path, "/mgmt/tm/sys/config") != 0 &&
	    strcmp(path, "/mgmt/tm/cm") != 0;
}

static int
call(struct device *d, const char *method, const char *path, json_t *body,
    const char *coord, const char *what, json_t **out, struct err *e)
{
	int rc;

	if (path == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", dname(d));
	rc = icontrol_call(d->ic, method, path, body, coord, what, out, NULL, e);
	/* a refused request may still have changed something (a transaction
	 * commit that failed half-way is rolled back by the box, but a lost
	 * answer is not known): count every non-read as a change unless it
	 * provably did nothing (404) */
	if (changes_config(method, path) && coord == NULL && rc != LB_ENOTFOUND)
		d->dirty = true;
	return rc;
}

static int
get_obj(struct device *d, const char *coll, const char *name, const char *query,
    json_t **out, struct err *e)
{
	char *p = obj_path(d, coll, name, query);
	int rc = call(d, "GET", p, NULL, NULL, name, out, e);

	free(p);
	return rc;
}

/* DELETE that counts "already gone" as done. */
static int
del_obj(struct device *d, const char *coll, const char *name, struct err *e)
{
	char *p = obj_path(d, coll, name, NULL);
	int rc = call(d, "DELETE", p, NULL, NULL, name, NULL, e);

	free(p);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		return 0;
	}
	return rc;
}

static const char *
profile_name(const struct cfg_profile *p, char *buf, size_t len)
{
	if (p->client_ssl.profile != NULL && p->client_ssl.profile[0] != '\0')
		return p->client_ssl.profile;
	snprintf(buf, len, "%s_clientssl", p->object_name);
	return buf;
}

/* key_ref "/P/<base>.key" → "/P/<base>" (malloc'd), NULL when not ours. */
static char *
key_base(const char *key_ref)
{
	size_t n = key_ref != NULL ? strlen(key_ref) : 0;

	if (n < 5 || key_ref[0] != '/' || strcmp(key_ref + n - 4, ".key") != 0)
		return NULL;
	return strndup(key_ref, n - 4);
}

/* Length of the engine's object tag at s ("20261201130000-a1f3": UTC
 * time, '-', random hex), 0 when s does not start with one. */
static size_t
tag_len(const char *s)
{
	size_t n = 0;

	while (n < 14 && s[n] >= '0' && s[n] <= '9')
		n++;
	if (n != 14 || s[n++] != '-')
		return 0;
	if (strspn(s + n, "0123456789abcdef") == 0)
		return 0;
	return n + strspn(s + n, "0123456789abcdef");
}

/* Whether fp is an object lbcert names for p: "/P/<object>_<tag>" plus
 * one of the suffixes it uses (NULL: any of ".key", ".crt", "_chain.crt"
 * and none, the CSR). */
static bool
name_ours_as(struct device *d, const struct cfg_profile *p, const char *fp,
    const char *suffix)
{
	static const char *const any[] = { "", ".key", ".crt", "_chain.crt" };
	char *obj = icontrol_safe_name(p->object_name), *prefix;
	bool ours = false;
	size_t n, t;

	prefix = obj != NULL ? xasprintf("/%s/%s_", d->part, obj) : NULL;
	if (prefix != NULL && fp != NULL && strncmp(fp, prefix, (n = strlen(prefix))) == 0 &&
	    (t = tag_len(fp + n)) > 0) {
		if (suffix != NULL)
			ours = strcmp(fp + n + t, suffix) == 0;
		for (size_t i = 0; suffix == NULL && i < sizeof(any) / sizeof(any[0]); i++)
			ours = ours || strcmp(fp + n + t, any[i]) == 0;
	}
	free(obj);
	free(prefix);
	return ours;
}

static bool
name_ours(struct device *d, const struct cfg_profile *p, const char *fp)
{
	return name_ours_as(d, p, fp, NULL);
}

/* Whether a cert-key-chain entry is one lbcert made for p (its key is
 * "/P/<object>_<tag>.key"). Anything else in the profile (an
 * administrator's entry for another key type) is not lbcert's to replace
 * or delete. */
static bool
entry_ours(struct device *d, const struct cfg_profile *p, json_t *entry)
{
	return name_ours_as(d, p, jstr(entry, "key"), ".key");
}

static struct passkey *
find_key(struct device *d, const char *ref)
{
	for (size_t i = 0; i < d->nkeys; i++)
		if (strcmp(d->keys[i].ref, ref) == 0)
			return &d->keys[i];
	return NULL;
}

static void
forget_key(struct device *d, const char *ref)
{
	struct passkey *k = find_key(d, ref);

	if (k == NULL)
		return;
	log_secret_remove(k->pass);
	secret_free(k->pass);
	free(k->ref);
	*k = d->keys[--d->nkeys];
}

/* ---- open / close ---------------------------------------------------------- */

static int
unit_status(struct icontrol *ic, const char *name, char *buf, size_t len, struct err *e)
{
	json_t *st = NULL;
	const char *s;
	int rc;

	rc = icontrol_call(ic, "GET", "/mgmt/tm/cm/failover-status", NULL, NULL,
	    "failover-status", &st, NULL, e);
	if (rc != 0)
		return rc;
	if ((s = icontrol_stats_desc(st, "status")) == NULL) {
		json_decref(st);
		return err_set(e, LB_ERR, "%s (%s): failover-status without a status",
		    name, icontrol_url(ic));
	}
	snprintf(buf, len, "%s", s);
	json_decref(st);
	return 0;
}

static int
bigip_open(const struct cfg_device *cfg, struct device **out, struct err *e)
{
	struct http_tls tls = { cfg->tls.ca_file, cfg->tls.pin_sha256, cfg->tls.insecure };
	struct device *d;
	struct icontrol *ic = NULL;
	char status[64], seen[768] = "";
	size_t nurl = 1 + cfg->npeers, off = 0;
	int rc = LB_ERR, last = LB_ERR;
	bool reached = false, unreach = false;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", cfg->name);
	d->cfg = cfg;
	d->part = cfg->partition != NULL && cfg->partition[0] ? cfg->partition : "Common";
	/* Changes made on a standby are overwritten by the next sync from the
	 * active unit: ask every unit and work on the ACTIVE one only. */
	for (size_t i = 0; i < nurl; i++) {
		const char *url = i == 0 ? cfg->url : cfg->peers[i - 1];
		struct err ue = {0};

		rc = icontrol_open(cfg->name, url, &tls, cfg->timeout_s > 0 ? cfg->timeout_s : 30,
		    cfg->username, cfg->password, &ic, &ue);
		if (rc == 0)
			rc = unit_status(ic, cfg->name, status, sizeof(status), &ue);
		if (rc != 0) {
			if (rc != LB_EUNREACH)
				reached = true;
			else
				unreach = true;
			last = rc;
			*e = ue;
			icontrol_close(ic);
			ic = NULL;
			continue;
		}
		reached = true;
		if (strcmp(status, "ACTIVE") == 0 || nurl == 1) {
			if (strcmp(status, "ACTIVE") != 0)
				log_warn("%s: %s reports %s and no peers are configured; using it",
				    cfg->name, url, status);
			d->ic = ic;
			break;
		}
		off += (size_t)snprintf(seen + off, off < sizeof(seen) ? sizeof(seen) - off : 0,
		    "%s%s is %s", off ? ", " : "", url, status);
		if (off >= sizeof(seen))
			off = sizeof(seen) - 1;
		icontrol_close(ic);
		ic = NULL;
	}
	if (d->ic == NULL) {
		free(d);
		/* A standby answered but a unit that may be the active one could
		 * not be reached: a reachability problem (exit 4), not a profile's. */
		if (seen[0] != '\0' && unreach) {
			char cause[sizeof(e->msg)];

			/* e->msg is the buffer err_set writes: copy the cause first */
			snprintf(cause, sizeof(cause), "%s", e->msg);
			return err_set(e, LB_EUNREACH, "%s: no ACTIVE unit reachable (%s; %s)",
			    cfg->name, seen, cause);
		}
		if (seen[0] != '\0')
			return err_set(e, LB_ERR, "%s: no ACTIVE unit (%s)", cfg->name, seen);
		if (!reached) {
			err_prefix(e, "%s: no unit reachable", cfg->name);
			e->code = LB_EUNREACH;
			return LB_EUNREACH;
		}
		return last;
	}
	log_debug("%s: using active unit %s", cfg->name, icontrol_url(d->ic));
	*out = d;
	return 0;
}

static void
bigip_close(struct device *d)
{
	if (d == NULL)
		return;
	while (d->nkeys > 0)
		forget_key(d, d->keys[0].ref);
	free(d->keys);
	icontrol_close(d->ic);
	free(d);
}

static const char *
bigip_active_url(struct device *d)
{
	return icontrol_url(d->ic);
}

/* ---- key + CSR ---------------------------------------------------------------- */

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
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	if ((rc = icontrol_util(d->ic, "unix-mv", mv, false, e)) != 0) {
		err_prefix(e, "reading the CSR %s", csr_name);
		goto out;
	}
	rc = icontrol_download(d->ic, csr_name, CSR_MAX, &data, &len, e);
	if (rc == 0 && (*pem = icontrol_extract_pem(data, "CERTIFICATE REQUEST")) == NULL)
		rc = err_set(e, LB_ERR, "%s (%s): %s/%s holds no CSR PEM", dname(d),
		    icontrol_url(d->ic), ICONTROL_BULK_DIR, csr_name);
	if (icontrol_util(d->ic, "unix-rm", rm, true, &re) != 0) {
		log_warn("%s: %s", dname(d), re.msg);
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

static char *
bigip_key_ref_for(struct device *d, const struct cfg_profile *p, const char *tag)
{
	char *base, *ref;

	if (key_names(d, p, tag, &base, &ref) != 0)
		return NULL;
	free(base);
	return ref;
}

static int
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
		return err_set(e, LB_ERR, "%s: RAND_bytes failed", dname(d));
	pass = icontrol_passphrase_encode(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (pass == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", dname(d));
	log_secret_add(pass);
	if (key_names(d, p, tag, &base, &ref) == 0) {
		keyname = xstrdup(strrchr(ref, '/') + 1);
		csr_fp = icontrol_fullpath(d->part, base);
	}
	if (csr_fp == NULL || (b = key_body(d, p, keyname, base, pass)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	rc = call(d, "POST", "/mgmt/tm/sys/crypto/key", b, NULL, ref, NULL, e);
	if (rc == LB_EEXIST) {
		/* Left by a run that died: its passphrase died with it. */
		log_info("%s: %s exists from an earlier attempt; replacing it", dname(d), ref);
		err_clear(e);
		if ((rc = del_obj(d, "sys/crypto/csr", csr_fp, e)) == 0 &&
		    (rc = del_obj(d, "sys/crypto/key", ref, e)) == 0)
			rc = call(d, "POST", "/mgmt/tm/sys/crypto/key", b, NULL, ref, NULL, e);
	}
	if (rc != 0)
		goto out;
	if ((rc = fetch_csr(d, base, csr_pem, e)) != 0) {
		struct err de = {0};
		/* the passphrase dies with this call: the key is of no use */
		if (del_obj(d, "sys/crypto/csr", csr_fp, &de) != 0 ||
		    del_obj(d, "sys/crypto/key", ref, &de) != 0)
			log_warn("%s: left unusable key %s behind: %s", dname(d), ref, de.msg);
		goto out;
	}
	if ((nk = realloc(d->keys, (d->nkeys + 1) * sizeof(*nk))) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	d->keys = nk;
	d->keys[d->nkeys].ref = ref;
	d->keys[d->nkeys].pass = pass;
	d->nkeys++;
	*key_ref = xstrdup(ref);
	ref = NULL;
	pass = NULL;
	rc = *key_ref != NULL ? 0 : err_set(e, LB_ERR, "%s: out of memory", dname(d));
out:
	if (rc != 0 && *csr_pem != NULL) {
		free(*csr_pem);
		*csr_pem = NULL;
	}
	decref_wiped(b);
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

static bool
bigip_key_usable(struct device *d, const char *key_ref)
{
	return key_ref != NULL && find_key(d, key_ref) != NULL;
}

static int
bigip_key_discard(struct device *d, const struct cfg_profile *p, const char *key_ref,
    struct err *e)
{
	char *csr = key_base(key_ref), *crt = NULL, *chn = NULL;
	int rc = 0;

	(void)p;
	/* A key is discarded only before it went into service, so the
	 * certificate objects installed for it (a run killed after install)
	 * serve nothing either. */
	if (csr != NULL) {
		crt = xasprintf("%s.crt", csr);
		chn = xasprintf("%s_chain.crt", csr);
		if (crt == NULL || chn == NULL)
			rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
	}
	if (rc == 0 && crt != NULL)
		rc = del_obj(d, "sys/file/ssl-cert", crt, e);
	if (rc == 0 && chn != NULL)
		rc = del_obj(d, "sys/file/ssl-cert", chn, e);
	if (rc == 0 && csr != NULL)
		rc = del_obj(d, "sys/crypto/csr", csr, e);
	if (rc == 0)
		rc = del_obj(d, "sys/file/ssl-key", key_ref, e);
	if (rc == 0 && csr != NULL) {
		/* a run killed between unix-mv and unix-rm left the CSR's copy */
		char *bulk = xasprintf(ICONTROL_BULK_DIR "/%s", strrchr(csr, '/') + 1);
		rc = bulk != NULL ? icontrol_util(d->ic, "unix-rm", bulk, true, e) :
		    err_set(e, LB_ERR, "%s: out of memory", dname(d));
		free(bulk);
	}
	free(crt);
	free(chn);
	free(csr);
	forget_key(d, key_ref);
	return rc;
}

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
 * the same content (checksum) counts as done (a resumed run). */
static int
install_cert_obj(struct device *d, const char *name, const char *pem, struct err *e)
{
	char *up = NULL, *src = NULL, *fp = NULL, sha[41];
	json_t *b = NULL, *cur = NULL;
	const char *ck;
	int rc;

	fp = icontrol_fullpath(d->part, name);
	up = fp != NULL ? xasprintf("%s.%ld.pem", name, (long)getpid()) : NULL;
	src = up != NULL ? xasprintf("file://" ICONTROL_UPLOAD_DIR "/%s", up) : NULL;
	if (src == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	if ((rc = icontrol_upload(d->ic, up, pem, strlen(pem), e)) != 0)
		goto out;
	b = json_pack("{s:s, s:s, s:s}", "name", name, "partition", d->part, "sourcePath", src);
	rc = call(d, "POST", "/mgmt/tm/sys/file/ssl-cert", b, NULL, fp, NULL, e);
	if (rc == LB_EEXIST) {
		struct err ge = {0};
		sha1_hex(pem, strlen(pem), sha);
		if (get_obj(d, "sys/file/ssl-cert", fp, NULL, &cur, &ge) == 0 &&
		    (ck = jstr(cur, "checksum")) != NULL && strstr(ck, sha) != NULL) {
			err_clear(e);
			rc = 0;
		}
	}
out:
	if (up != NULL)
		icontrol_unlink_upload(d->ic, up);
	json_decref(b);
	json_decref(cur);
	free(up);
	free(src);
	free(fp);
	return rc;
}

static int
bigip_cert_install(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *cert_pem, char *const *chain, size_t nchain, char **install_ref,
    struct err *e)
{
	char *base = key_base(key_ref), *crt = NULL, *chn = NULL, *bundle = NULL;
	char *crt_fp = NULL, *chn_fp = NULL;
	size_t blen = 0;
	json_t *ref = NULL;
	int rc;

	(void)p;
	*install_ref = NULL;
	if (base == NULL)
		return err_set(e, LB_ERR, "%s: %s is not a key made by lbcert", dname(d),
		    key_ref != NULL ? key_ref : "(null)");
	/* names without the partition: base is "/P/<base>" */
	crt = xasprintf("%s.crt", strrchr(base, '/') + 1);
	chn = xasprintf("%s_chain.crt", strrchr(base, '/') + 1);
	if (crt == NULL || chn == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	crt_fp = icontrol_fullpath(d->part, crt);
	if ((rc = install_cert_obj(d, crt, cert_pem, e)) != 0)
		goto out;
	if (nchain > 0) {
		for (size_t i = 0; i < nchain; i++)
			blen += strlen(chain[i]) + 1;
		if ((bundle = calloc(1, blen + 1)) == NULL) {
			rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
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
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
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

/* Full paths of every client-ssl profile on the box. */
static int
clientssl_set(struct device *d, json_t **items, struct err *e)
{
	json_t *r = NULL;
	int rc;

	*items = NULL;
	rc = call(d, "GET", "/mgmt/tm/ltm/profile/client-ssl?$select=name,fullPath,certKeyChain",
	    NULL, NULL, "client-ssl profiles", &r, e);
	if (rc != 0)
		return rc;
	*items = json_incref(json_object_get(r, "items"));
	json_decref(r);
	if (*items == NULL)
		*items = json_array();
	return 0;
}

static bool
in_set(json_t *items, const char *fp)
{
	size_t i;
	json_t *x;

	json_array_foreach(items, i, x) {
		const char *f = jstr(x, "fullPath");
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

	if ((rc = clientssl_set(d, &cs, e)) != 0)
		return rc;
	if (parent != NULL && !in_set(cs, parent))
		rc = err_set(e, LB_ERR, "%s: profile %s: parent client-ssl profile %s does not "
		    "exist", dname(d), p->name, parent);
	for (size_t i = 0; i < p->nvservers && rc == 0; i++) {
		json_t *items, *x;
		size_t j;
		const char *other = NULL;

		attached[i] = false;
		if ((rc = get_obj(d, "ltm/virtual", p->vservers[i].name,
		    "?expandSubcollections=true", &vs, e)) != 0) {
			err_prefix(e, "profile %s: virtual %s", p->name, p->vservers[i].name);
			break;
		}
		items = json_object_get(json_object_get(vs, "profilesReference"), "items");
		json_array_foreach(items, j, x) {
			const char *f = jstr(x, "fullPath");
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
			    "to serve %s beside it)", dname(d), p->vservers[i].name, other, prof_fp);
		json_decref(vs);
		vs = NULL;
	}
	json_decref(cs);
	return rc;
}

/* Before a key is made: the parent profile exists and every virtual
 * would accept ours (preflight), so a refusal costs no certificate. */
static int
bigip_check_ready(struct device *d, const struct cfg_profile *p, struct err *e)
{
	char pbuf[256], *prof_fp;
	const char *parent = p->client_ssl.parent != NULL ? p->client_ssl.parent :
	    "/Common/clientssl";
	bool *attached = calloc(p->nvservers + 1, sizeof(*attached));
	int rc;

	prof_fp = icontrol_fullpath(d->part, profile_name(p, pbuf, sizeof(pbuf)));
	if (attached == NULL || prof_fp == NULL)
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
	else
		rc = preflight(d, p, prof_fp, parent, attached, e);
	free(attached);
	free(prof_fp);
	return rc;
}

static json_t *
ckc_entry(const char *base_name, const char *key, const char *cert, const char *chain,
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
 * must never be changed one half at a time, reference §4.4). */
static int
swap_chain(struct device *d, const struct cfg_profile *p, const char *prof_fp, json_t *ckc,
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
	if ((rc = get_obj(d, "ltm/profile/client-ssl", prof_fp, NULL, &cur, e)) != 0)
		goto out;
	list = json_array();
	json_array_foreach(json_object_get(cur, "certKeyChain"), i, x) {
		json_t *keep;
		if (entry_ours(d, p, x))
			continue;
		keep = json_deep_copy(x);
		json_object_del(keep, "certReference");
		json_object_del(keep, "keyReference");
		json_object_del(keep, "chainReference");
		json_array_append_new(list, keep);
	}
	json_array_append(list, ckc);
	b = json_object();
	rc = call(d, "POST", "/mgmt/tm/transaction", b, NULL, "transaction", &t, e);
	json_decref(b);
	b = NULL;
	if (rc != 0)
		goto out;
	if (json_unpack(t, "{s:I}", "transId", &tid) != 0) {
		rc = err_set(e, LB_ERR, "%s: transaction answer without transId", dname(d));
		goto out;
	}
	snprintf(coord, sizeof(coord), "%lld", (long long)tid);
	b = json_pack("{s:O}", "certKeyChain", list);
	if (b == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	set_sni(b, p);
	path = obj_path(d, "ltm/profile/client-ssl", prof_fp, NULL);
	if ((rc = call(d, "PATCH", path, b, coord, prof_fp, NULL, e)) != 0)
		goto out;
	tpath = xasprintf("/mgmt/tm/transaction/%s", coord);
	commit = json_pack("{s:s}", "state", "VALIDATING");
	/* the commit itself must not carry the coordination header */
	rc = call(d, "PATCH", tpath, commit, NULL, "transaction commit", NULL, e);
	if (rc != 0)
		err_prefix(e, "renewal of %s left unchanged", prof_fp);
out:
	json_decref(t);
	decref_wiped(b);
	decref_wiped(list);
	decref_wiped(cur);
	json_decref(commit);
	free(path);
	free(tpath);
	return rc;
}

static int
bigip_activate(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *install_ref, bool first, struct err *e)
{
	char pbuf[256], *prof_fp = NULL, *ename = NULL, *vpath = NULL;
	const char *cert, *chain = NULL, *slash;
	struct passkey *k = find_key(d, key_ref);
	json_t *ref = NULL, *ckc = NULL, *b = NULL, *att = NULL;
	bool *attached = NULL;
	int rc;

	if (k == NULL)
		return err_set(e, LB_ERR, "%s: the passphrase of %s is gone (made by another run); "
		    "it cannot be used", dname(d), key_ref);
	if ((ref = json_loads(install_ref, 0, NULL)) == NULL ||
	    json_unpack(ref, "{s:s, s?s}", "cert", &cert, "chain", &chain) != 0) {
		json_decref(ref);
		return err_set(e, LB_ERR, "%s: bad install reference", dname(d));
	}
	prof_fp = icontrol_fullpath(d->part, profile_name(p, pbuf, sizeof(pbuf)));
	slash = strrchr(key_ref, '/');
	ename = xstrdup(slash != NULL ? slash + 1 : key_ref);
	attached = calloc(p->nvservers + 1, sizeof(*attached));
	if (prof_fp == NULL || ename == NULL || attached == NULL ||
	    (ckc = ckc_entry(ename, key_ref, cert, chain, k->pass)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	if ((rc = preflight(d, p, prof_fp, NULL, attached, e)) != 0)
		goto out;
	if (first) {
		b = json_pack("{s:s, s:s, s:s, s:[O]}", "name", strrchr(prof_fp, '/') + 1,
		    "partition", d->part, "defaultsFrom",
		    p->client_ssl.parent != NULL ? p->client_ssl.parent : "/Common/clientssl",
		    "certKeyChain", ckc);
		set_sni(b, p);
		rc = call(d, "POST", "/mgmt/tm/ltm/profile/client-ssl", b, NULL, prof_fp, NULL, e);
		if (rc == LB_EEXIST) {
			/* a resumed run: make the existing profile serve this pair */
			err_clear(e);
			rc = swap_chain(d, p, prof_fp, ckc, e);
		}
	} else
		rc = swap_chain(d, p, prof_fp, ckc, e);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < p->nvservers; i++) {
		if (attached[i])
			continue;
		vpath = obj_path(d, "ltm/virtual", p->vservers[i].name, "/profiles");
		att = json_pack("{s:s, s:s}", "name", prof_fp, "context", "clientside");
		rc = call(d, "POST", vpath, att, NULL, p->vservers[i].name, NULL, e);
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
	decref_wiped(b);
	decref_wiped(ckc);
	json_decref(ref);
	free(attached);
	free(prof_fp);
	free(ename);
	return rc;
}

/* ---- save / sync ---------------------------------------------------------------- */

/* sys config save, then (sync_group set) config-sync to the group until
 * it reports In Sync. */
static int
save_sync(struct device *d, struct err *e)
{
	json_t *b = NULL, *st = NULL;
	char *arg = NULL;
	const char *s = NULL;
	time_t deadline;
	long wait_ms = 250;
	int rc;

	b = json_pack("{s:s}", "command", "save");
	rc = call(d, "POST", "/mgmt/tm/sys/config", b, NULL, "sys config save", NULL, e);
	json_decref(b);
	if (rc != 0)
		return rc;
	if (d->cfg->sync_group == NULL || d->cfg->sync_group[0] == '\0')
		return 0;
	arg = xasprintf("config-sync to-group %s", d->cfg->sync_group);
	b = json_pack("{s:s, s:s}", "command", "run", "utilCmdArgs", arg);
	rc = call(d, "POST", "/mgmt/tm/cm", b, NULL, d->cfg->sync_group, NULL, e);
	json_decref(b);
	free(arg);
	if (rc != 0)
		return rc;
	deadline = time(NULL) + SYNC_WAIT_S;
	for (;;) {
		if ((rc = call(d, "GET", "/mgmt/tm/cm/sync-status", NULL, NULL, "sync-status",
		    &st, e)) != 0)
			return rc;
		s = icontrol_stats_desc(st, "status");
		if (s != NULL && strcmp(s, "In Sync") == 0) {
			json_decref(st);
			return 0;
		}
		if (s != NULL && strcmp(s, "Disconnected") == 0) {
			json_decref(st);
			return err_set(e, LB_ERR, "%s: config-sync to %s: the group is Disconnected",
			    dname(d), d->cfg->sync_group);
		}
		if (time(NULL) >= deadline) {
			rc = err_set(e, LB_ERR, "%s: config-sync to %s still \"%s\" after %d s",
			    dname(d), d->cfg->sync_group, s != NULL ? s : "?", SYNC_WAIT_S);
			json_decref(st);
			return rc;
		}
		json_decref(st);
		st = NULL;
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (wait_ms < 3000)
			wait_ms *= 2;
	}
}

static int
bigip_save(struct device *d, struct err *e)
{
	int rc = save_sync(d, e);

	/* a sync that did not finish leaves the peer behind: the engine's
	 * end-of-run check (unsaved) then tries again */
	d->dirty = rc != 0;
	return rc;
}

static bool
bigip_unsaved(struct device *d)
{
	return d->dirty;
}

/* ---- cert_get / inventory ---------------------------------------------------------- */

static void
serial_norm(const char *s, char *out, size_t len)
{
	size_t o = 0;
	bool lead = true;

	for (; s != NULL && *s != '\0' && o + 1 < len; s++) {
		char c = *s;
		if (c == ':' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (lead && c == '0')
			continue;
		lead = false;
		out[o++] = c;
	}
	if (o == 0 && o + 1 < len)
		out[o++] = '0';
	out[o] = '\0';
}

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
	const char *t = jstr(c, "keyType"), *curve = jstr(c, "certificateKeyCurveName");
	json_int_t size = jint(c, "certificateKeySize");

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
			const char *f = jstr(x, "fullPath");
			if (f == NULL || strcmp(f, prof_fp) != 0)
				continue;
			if ((nv = realloc(*out, (*n + 1) * sizeof(**out))) == NULL)
				return -1;
			*out = nv;
			(*out)[(*n)++] = xstrdup(jstr(v, "fullPath"));
		}
	}
	return 0;
}

static int
list_virtuals(struct device *d, json_t **items, struct err *e)
{
	json_t *r = NULL;
	int rc = call(d, "GET", "/mgmt/tm/ltm/virtual?expandSubcollections=true", NULL, NULL,
	    "virtual servers", &r, e);

	*items = NULL;
	if (rc != 0)
		return rc;
	*items = json_incref(json_object_get(r, "items"));
	json_decref(r);
	if (*items == NULL)
		*items = json_array();
	return 0;
}

static int
bigip_cert_get(struct device *d, const struct cfg_profile *p, struct device_cert *out,
    struct err *e)
{
	char pbuf[256], *prof_fp = NULL, *csr = NULL, ser[130];
	json_t *prof = NULL, *entry, *c = NULL, *vs = NULL, *refs = NULL, *x;
	size_t i;
	const char *cert, *key, *chain, *inherit;
	int rc;

	*out = (struct device_cert){0};
	prof_fp = icontrol_fullpath(d->part, profile_name(p, pbuf, sizeof(pbuf)));
	if (prof_fp == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", dname(d));
	if ((rc = get_obj(d, "ltm/profile/client-ssl", prof_fp, NULL, &prof, e)) != 0)
		goto out;
	entry = NULL;
	json_array_foreach(json_object_get(prof, "certKeyChain"), i, x) {
		if (entry_ours(d, p, x)) {
			entry = x;
			break;
		}
	}
	inherit = jstr(prof, "inheritCertkeychain");
	cert = jstr(entry, "cert");
	key = jstr(entry, "key");
	chain = jstr(entry, "chain");
	if (cert == NULL || (inherit != NULL && strcmp(inherit, "true") == 0)) {
		rc = err_set(e, LB_ENOTFOUND, "%s: profile %s serves no certificate made by lbcert",
		    dname(d), prof_fp);
		goto out;
	}
	if ((rc = get_obj(d, "sys/file/ssl-cert", cert, NULL, &c, e)) != 0)
		goto out;
	/* The object's own properties describe the certificate (reference
	 * §2.1); reading its file would need the advanced shell. They carry no
	 * not-before: 0 tells the engine to use what it stored at install. */
	out->object = xstrdup(cert);
	serial_norm(jstr(c, "serialNumber"), ser, sizeof(ser));
	out->serial = xstrdup(ser);
	out->not_before = 0;
	out->not_after = (time_t)jint(c, "expirationDate");
	parse_sans(jstr(c, "subjectAlternativeName"), &out->names, &out->nnames);
	key_desc_from(c, out->key_desc, sizeof(out->key_desc));
	if (out->object == NULL || out->serial == NULL || out->not_after <= 0) {
		rc = err_set(e, LB_ERR, "%s: ssl-cert %s: no serial number or expiration date "
		    "in its properties", dname(d), cert);
		goto out;
	}
	if ((rc = list_virtuals(d, &vs, e)) != 0)
		goto out;
	bound_to(vs, prof_fp, &out->bound, &out->nbound);
	csr = key != NULL ? key_base(key) : NULL;
	refs = json_pack("{s:s, s:s*, s:s*, s:s*, s:s*}", "profile", prof_fp, "cert", cert,
	    "key", key, "chain", chain != NULL && strcmp(chain, "none") != 0 ? chain : NULL,
	    "csr", csr);
	if (refs == NULL || (out->refs = json_dumps(refs, JSON_COMPACT)) == NULL)
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
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

static int
bigip_inventory(struct device *d, struct device_inv **out, size_t *n, struct err *e)
{
	json_t *certs = NULL, *vs = NULL, *cs = NULL, *items, *c;
	struct device_inv *v = NULL;
	size_t i, j, k, cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = call(d, "GET", "/mgmt/tm/sys/file/ssl-cert", NULL, NULL, "ssl-cert", &certs,
	    e)) != 0)
		goto out;
	if ((rc = list_virtuals(d, &vs, e)) != 0 || (rc = clientssl_set(d, &cs, e)) != 0)
		goto out;
	items = json_object_get(certs, "items");
	if ((v = calloc(json_array_size(items) + 1, sizeof(*v))) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	json_array_foreach(items, i, c) {
		struct device_inv *it = &v[cnt++];
		const char *fp = jstr(c, "fullPath"), *subj = jstr(c, "subject");
		const char *iss = jstr(c, "issuer"), *cn;
		const char *bundle = jstr(c, "isBundle");
		char ser[130];
		json_t *p, *x;

		it->name = xstrdup(fp != NULL ? fp : "?");
		serial_norm(jstr(c, "serialNumber"), ser, sizeof(ser));
		it->serial = xstrdup(ser);
		if (subj != NULL && (cn = strstr(subj, "CN=")) != NULL)
			it->subject_cn = strndup(cn + 3, strcspn(cn + 3, ","));
		it->not_after = (time_t)jint(c, "expirationDate");
		it->is_ca = (bundle != NULL && strcmp(bundle, "true") == 0) ||
		    (subj != NULL && iss != NULL && strcmp(subj, iss) == 0);
		/* bound: virtuals carrying a client-ssl profile whose chain uses it */
		json_array_foreach(cs, j, p) {
			json_t *ckc = json_object_get(p, "certKeyChain");
			bool uses = false;
			json_array_foreach(ckc, k, x) {
				const char *cc = jstr(x, "cert"), *ch = jstr(x, "chain");
				if (fp != NULL && cc != NULL && strcmp(cc, fp) == 0)
					uses = true;
				if (fp != NULL && ch != NULL && strcmp(ch, fp) == 0)
					it->is_ca = true;
			}
			if (uses && jstr(p, "fullPath") != NULL) {
				char **b = NULL;
				size_t nb = 0;
				bound_to(vs, jstr(p, "fullPath"), &b, &nb);
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
	json_decref(certs);
	json_decref(vs);
	json_decref(cs);
	return rc;
}

/* ---- retire / remove ------------------------------------------------------------- */

static int
delete_refs(struct device *d, const struct cfg_profile *p, json_t *refs,
    const char *keep_profile, struct err *e)
{
	static const struct { const char *field, *coll; } order[] = {
		{ "csr", "sys/crypto/csr" }, { "cert", "sys/file/ssl-cert" },
		{ "chain", "sys/file/ssl-cert" }, { "key", "sys/file/ssl-key" },
	};
	json_t *prof = NULL;
	char *in_use = NULL;
	int rc = 0;

	/* never delete what the profile serves now (a retry after the swap):
	 * without its answer nothing is known to be unused. A profile that is
	 * gone serves nothing. */
	if (keep_profile != NULL) {
		rc = get_obj(d, "ltm/profile/client-ssl", keep_profile, NULL, &prof, e);
		if (rc == 0 && (in_use = json_dumps(json_object_get(prof, "certKeyChain"),
		    JSON_COMPACT)) == NULL)
			rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		if (rc != 0 && rc != LB_ENOTFOUND) {
			err_prefix(e, "%s: not deleting old objects: cannot tell what profile %s "
			    "serves", dname(d), keep_profile);
			decref_wiped(prof);
			return rc;
		}
		rc = 0;
	}
	err_clear(e);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *name = jstr(refs, order[i].field);
		char quoted[600];
		if (name == NULL)
			continue;
		if (!name_ours(d, p, name)) {
			/* refs recorded by an older version, or edited by hand */
			log_info("%s: keeping %s: not an object lbcert made", dname(d), name);
			continue;
		}
		snprintf(quoted, sizeof(quoted), "\"%s\"", name);
		if (in_use != NULL && strstr(in_use, quoted) != NULL)
			continue;
		if ((rc = del_obj(d, order[i].coll, name, e)) != 0) {
			/* in use elsewhere (another profile): leave it, say so */
			log_warn("%s: keeping %s: %s", dname(d), name, e->msg);
			err_clear(e);
			rc = 0;
		}
	}
	/* the dump holds the profile's passphrase fields too */
	secret_free(in_use);
	decref_wiped(prof);
	return rc;
}

static int
bigip_retire(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e)
{
	json_t *r = json_loads(refs, 0, NULL);
	int rc;

	if (!json_is_object(r)) {
		json_decref(r);
		return err_set(e, LB_ERR, "%s: bad refs", dname(d));
	}
	rc = delete_refs(d, p, r, jstr(r, "profile"), e);
	json_decref(r);
	return rc;
}

static int
bigip_remove(struct device *d, const struct cfg_profile *p, struct err *e)
{
	struct device_cert cur = {0};
	char pbuf[256], *prof_fp = NULL;
	json_t *vs = NULL, *cs = NULL, *refs = NULL, *v, *x;
	size_t i, j;
	int rc;

	if ((rc = bigip_cert_get(d, p, &cur, e)) != 0)
		return rc;
	if ((prof_fp = icontrol_fullpath(d->part, profile_name(p, pbuf, sizeof(pbuf)))) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	if ((rc = list_virtuals(d, &vs, e)) != 0 || (rc = clientssl_set(d, &cs, e)) != 0)
		goto out;
	/* refuse first, change nothing, when a virtual would serve nothing */
	json_array_foreach(vs, i, v) {
		size_t ours = 0, total = 0;
		json_t *items = json_object_get(json_object_get(v, "profilesReference"), "items");
		json_array_foreach(items, j, x) {
			const char *f = jstr(x, "fullPath");
			if (f == NULL || !in_set(cs, f))
				continue;
			total++;
			ours += strcmp(f, prof_fp) == 0;
		}
		if (ours > 0 && total == ours) {
			rc = err_set(e, LB_ERR, "%s: virtual %s serves only %s; removing it would "
			    "leave the virtual without a certificate", dname(d), jstr(v, "fullPath"),
			    prof_fp);
			goto out;
		}
	}
	json_array_foreach(vs, i, v) {
		json_t *items = json_object_get(json_object_get(v, "profilesReference"), "items");
		json_array_foreach(items, j, x) {
			const char *f = jstr(x, "fullPath");
			char *path, *u;
			if (f == NULL || strcmp(f, prof_fp) != 0)
				continue;
			u = icontrol_url_name(d->part, f);
			path = u != NULL ? xasprintf("/profiles/%s", u) : NULL;
			free(u);
			u = path != NULL ? obj_path(d, "ltm/virtual", jstr(v, "fullPath"), path) : NULL;
			rc = call(d, "DELETE", u, NULL, NULL, jstr(v, "fullPath"), NULL, e);
			free(u);
			free(path);
			if (rc != 0)
				goto out;
		}
	}
	if ((rc = del_obj(d, "ltm/profile/client-ssl", prof_fp, e)) != 0)
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

/* ---- http-01 --------------------------------------------------------------------- */

static void
acme_names(struct device *d, const struct cfg_profile *p, char **dg, char **rule)
{
	char *obj = icontrol_safe_name(p->object_name);

	*dg = obj != NULL ? xasprintf("/%s/%s_acme_dg", d->part, obj) : NULL;
	*rule = obj != NULL ? xasprintf("/%s/%s_acme_rule", d->part, obj) : NULL;
	free(obj);
}

/* Rules list of the challenge virtual, read-modify-write: PATCH rules
 * replaces the whole list, so every other rule is kept. */
static int
vs_rules(struct device *d, const char *vsname, const char *rule, bool add, struct err *e)
{
	json_t *v = NULL, *rules, *nr = NULL, *x, *b = NULL;
	bool present = false;
	char *path = NULL;
	size_t i;
	int rc;

	if ((rc = get_obj(d, "ltm/virtual", vsname, NULL, &v, e)) != 0)
		return rc;
	rules = json_object_get(v, "rules");
	nr = json_array();
	json_array_foreach(rules, i, x) {
		if (json_is_string(x) && strcmp(json_string_value(x), rule) == 0) {
			present = true;
			if (!add)
				continue;
		}
		json_array_append(nr, x);
	}
	if (add == present)
		goto out;
	if (add)
		json_array_append_new(nr, json_string(rule));
	b = json_pack("{s:O}", "rules", nr);
	path = obj_path(d, "ltm/virtual", vsname, NULL);
	rc = call(d, "PATCH", path, b, NULL, vsname, NULL, e);
out:
	json_decref(v);
	json_decref(nr);
	json_decref(b);
	free(path);
	return rc;
}

/* The records of data group cur (NULL: none) other than token's. */
static json_t *
records_but(json_t *cur, const char *token)
{
	json_t *recs = json_array(), *x;
	size_t i;

	json_array_foreach(json_object_get(cur, "records"), i, x) {
		const char *nm = jstr(x, "name");
		if (nm != NULL && strcmp(nm, token) != 0)
			json_array_append(recs, x);
	}
	return recs;
}

static int
bigip_http01_publish(struct device *d, const struct cfg_profile *p, const char *token,
    const char *keyauth, struct err *e)
{
	char *dg = NULL, *rule = NULL, *text = NULL, *path = NULL;
	json_t *b = NULL, *cur = NULL, *recs = NULL;
	int rc;

	if (p->challenge_vserver == NULL)
		return err_set(e, LB_ERR, "profile %s: http-01 needs challenge_vserver", p->name);
	if (!icontrol_b64url_ok(token, false) || !icontrol_b64url_ok(keyauth, true))
		return err_set(e, LB_ERR, "%s: http-01: the CA's token or key authorization has "
		    "characters outside base64url", dname(d));
	acme_names(d, p, &dg, &rule);
	text = dg != NULL ? xasprintf(
	    "when HTTP_REQUEST priority 2 {\n"
	    "    if { [HTTP::path] starts_with \"/.well-known/acme-challenge/\" } {\n"
	    "        set t [getfield [HTTP::path] \"/\" 4]\n"
	    "        if { [class match $t equals %s] } {\n"
	    "            HTTP::respond 200 content [class match -value $t equals %s] "
	    "\"Content-Type\" \"text/plain\" \"Cache-Control\" \"no-store\"\n"
	    "            event disable\n"
	    "        }\n"
	    "    }\n"
	    "}\n", dg, dg) : NULL;
	if (text == NULL || rule == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	b = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "name", strrchr(dg, '/') + 1,
	    "partition", d->part, "type", "string", "records", "name", token, "data", keyauth);
	rc = call(d, "POST", "/mgmt/tm/ltm/data-group/internal", b, NULL, dg, NULL, e);
	if (rc == LB_EEXIST) {
		err_clear(e);
		if ((rc = get_obj(d, "ltm/data-group/internal", dg, NULL, &cur, e)) != 0)
			goto out;
		recs = records_but(cur, token);
		json_array_append_new(recs, json_pack("{s:s, s:s}", "name", token, "data", keyauth));
		json_decref(b);
		b = json_pack("{s:O}", "records", recs);
		path = obj_path(d, "ltm/data-group/internal", dg, NULL);
		rc = call(d, "PATCH", path, b, NULL, dg, NULL, e);
	}
	if (rc != 0)
		goto out;
	json_decref(b);
	b = json_pack("{s:s, s:s, s:s}", "name", strrchr(rule, '/') + 1, "partition", d->part,
	    "apiAnonymous", text);
	rc = call(d, "POST", "/mgmt/tm/ltm/rule", b, NULL, rule, NULL, e);
	if (rc == LB_EEXIST) {
		err_clear(e);
		rc = 0;
	}
	if (rc == 0)
		rc = vs_rules(d, p->challenge_vserver, rule, true, e);
out:
	json_decref(b);
	json_decref(cur);
	json_decref(recs);
	free(dg);
	free(rule);
	free(text);
	free(path);
	return rc;
}

static int
bigip_http01_withdraw(struct device *d, const struct cfg_profile *p, const char *token,
    struct err *e)
{
	char *dg = NULL, *rule = NULL, *path = NULL;
	json_t *cur = NULL, *recs = NULL, *b = NULL;
	int rc;

	if (p->challenge_vserver == NULL)
		return 0;
	if (!icontrol_b64url_ok(token, false))
		return err_set(e, LB_ERR, "%s: http-01: token has characters outside base64url",
		    dname(d));
	acme_names(d, p, &dg, &rule);
	if (dg == NULL || rule == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", dname(d));
		goto out;
	}
	rc = get_obj(d, "ltm/data-group/internal", dg, NULL, &cur, e);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		rc = 0;
	} else if (rc != 0)
		goto out;
	recs = records_but(cur, token);
	if (json_array_size(recs) > 0) {
		b = json_pack("{s:O}", "records", recs);
		path = obj_path(d, "ltm/data-group/internal", dg, NULL);
		rc = call(d, "PATCH", path, b, NULL, dg, NULL, e);
		goto out;
	}
	/* last token: detach the rule, then delete rule and data group */
	if ((rc = vs_rules(d, p->challenge_vserver, rule, false, e)) != 0 ||
	    (rc = del_obj(d, "ltm/rule", rule, e)) != 0)
		goto out;
	rc = del_obj(d, "ltm/data-group/internal", dg, e);
out:
	json_decref(cur);
	json_decref(recs);
	json_decref(b);
	free(dg);
	free(rule);
	free(path);
	return rc;
}

const struct device_ops bigip_ops = {
	.type = "f5-bigip",
	.open = bigip_open,
	.close = bigip_close,
	.active_url = bigip_active_url,
	.cert_get = bigip_cert_get,
	.check_ready = bigip_check_ready,
	.key_create = bigip_key_create,
	.key_ref_for = bigip_key_ref_for,
	.key_usable = bigip_key_usable,
	.key_discard = bigip_key_discard,
	.cert_install = bigip_cert_install,
	.activate = bigip_activate,
	.save = bigip_save,
	.unsaved = bigip_unsaved,
	.retire = bigip_retire,
	.http01_publish = bigip_http01_publish,
	.http01_withdraw = bigip_http01_withdraw,
	.inventory = bigip_inventory,
	.remove = bigip_remove,
};
