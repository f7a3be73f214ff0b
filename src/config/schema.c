/* lbcert.yaml: defaults, devices and CAs, with their TLS trust and the
 * CA-kind settings (SCM custom fields and DCV, ACME contact and EAB). */

#include "config/config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "config/secret.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- lbcert.yaml ---- */

static const char *const challenge_names[] = { "none", "http-01", "dns-01" };
/* What ldns signs with. */
static const char *const tsig_algorithms[] = { "hmac-sha256", "hmac-sha224", "hmac-sha1" };
static const char *const key_type_names[] = { "rsa", "ecdsa" };
static const char *const curve_names[] = { "P-256", "P-384" };

int
parse_key(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_key *k, struct err *e)
{
	static const char *const keys[] = { "type", "size", "curve" };
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int t, v, rc;

	TRY(map_collect(d, n, path, keys, NELEM(keys), f, e));
	TRY(need(d, n, &f[0], path, "type", e));
	TRY(get_enum(d, f[0].v, pjoin(p, path, "type"), key_type_names,
	    NELEM(key_type_names), &t, e));
	if (t == KEY_RSA) {
		if (f[2].v != NULL)
			return perr(d, f[2].k, e, "%s: curve is for ecdsa keys, "
			    "not rsa (use size)", path);
		*k = (struct cfg_key){ KEY_RSA, 2048, CURVE_NONE };
		if (f[1].v == NULL)
			return 0;
		TRY(get_int(d, f[1].v, pjoin(p, path, "size"), 0, INT_MAX,
		    &v, e));
		if (v != 2048 && v != 3072 && v != 4096)
			return perr(d, f[1].v, e, "%s: unsupported RSA key size "
			    "%d (expected 2048 | 3072 | 4096)", p, v);
		k->size = v;
		return 0;
	}
	if (f[1].v != NULL)
		return perr(d, f[1].k, e, "%s: size is for rsa keys, not ecdsa "
		    "(use curve)", path);
	*k = (struct cfg_key){ KEY_ECDSA, 0, CURVE_P256 };
	if (f[2].v == NULL)
		return 0;
	TRY(get_enum(d, f[2].v, pjoin(p, path, "curve"), curve_names,
	    NELEM(curve_names), &v, e));
	k->curve = v == 0 ? CURVE_P256 : CURVE_P384;
	return 0;
}

/* "AB:CD:..." from 64 hex digits, with or without colons. */
static int
norm_pin(const char *s, char *out)
{
	bool colons = strchr(s, ':') != NULL;
	size_t i = 0, j = 0;

	if (strlen(s) != (colons ? 95 : 64))
		return -1;
	for (int b = 0; b < 32; b++) {
		if (!isxdigit((unsigned char)s[i]) ||
		    !isxdigit((unsigned char)s[i + 1]))
			return -1;
		out[j++] = (char)toupper((unsigned char)s[i++]);
		out[j++] = (char)toupper((unsigned char)s[i++]);
		if (b == 31)
			break;
		if (colons && s[i++] != ':')
			return -1;
		out[j++] = ':';
	}
	out[j] = '\0';
	return 0;
}

/* One fingerprint at v into out (96 bytes), normalised. */
static int
get_pin(const struct ydoc *d, yaml_node_t *v, const char *path, char *out,
    struct err *e)
{
	char *s = NULL;
	int rc;

	TRY(get_str(d, v, path, &s, e));
	rc = norm_pin(s, out);
	if (rc != 0)
		rc = perr(d, v, e, "%s: '%s' is not a SHA-256 fingerprint (32 "
		    "hex bytes, colons optional)", path, s);
	free(s);
	return rc;
}

/* pin_sha256: one fingerprint, or a list of them (an HA pair's units each
 * have their own certificate), stored joined with ",". */
static int
parse_pins(const struct ydoc *d, yaml_node_t *v, const char *path,
    char **out, struct err *e)
{
	char p[PATH_LEN], pin[96], all[HTTP_PIN_MAX * 96];
	yaml_node_t *item;
	size_t n, off = 0;
	int rc;

	all[0] = '\0';
	if (v->type == YAML_MAPPING_NODE)
		return perr(d, v, e, "%s must be a fingerprint or a list of "
		    "fingerprints, not a mapping", path);
	if (v->type != YAML_SEQUENCE_NODE) {
		TRY(get_pin(d, v, path, pin, e));
		return (*out = strdup(pin)) == NULL ? oom(e) : 0;
	}
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n == 0)
		return perr(d, v, e, "%s: the list is empty; give at least one "
		    "fingerprint", path);
	for (size_t i = 0; i < n; i++) {
		item = node(d, v->data.sequence.items.start[i]);
		pathf(p, "%s[%zu]", path, i);
		if (i == HTTP_PIN_MAX)
			return perr(d, item, e, "%s: more than %d fingerprints",
			    path, HTTP_PIN_MAX);
		if (item->type != YAML_SCALAR_NODE)
			return perr(d, item, e, "%s must be a fingerprint, not %s",
			    p, kind_name(item));
		TRY(get_pin(d, item, p, pin, e));
		if (strstr(all, pin) != NULL)
			return perr(d, item, e, "%s: fingerprint %s is listed "
			    "twice", p, pin);
		off += (size_t)snprintf(all + off, sizeof(all) - off, "%s%s",
		    i == 0 ? "" : ",", pin);
	}
	return (*out = strdup(all)) == NULL ? oom(e) : 0;
}

static int
parse_tls(const struct loader *l, yaml_node_t *n, const char *path,
    struct cfg_tls *t)
{
	static const char *const keys[] = { "ca_file", "pin_sha256",
	    "insecure" };
	const struct ydoc *d = &l->main;
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int rc;

	TRY(map_collect(d, n, path, keys, NELEM(keys), f, l->e));
	if (f[0].v != NULL && f[1].v != NULL)
		return perr(d, f[1].k, l->e, "%s: give ca_file or pin_sha256, "
		    "not both", path);
	if (f[0].v != NULL)
		TRY(get_path(l, d, f[0].v, pjoin(p, path, "ca_file"),
		    &t->ca_file, l->e));
	if (f[1].v != NULL)
		TRY(parse_pins(d, f[1].v, pjoin(p, path, "pin_sha256"),
		    &t->pin_sha256, l->e));
	if (f[2].v != NULL) {
		TRY(get_bool(d, f[2].v, pjoin(p, path, "insecure"),
		    &t->insecure, l->e));
		if (t->insecure && (f[0].v != NULL || f[1].v != NULL))
			return perr(d, f[2].v, l->e, "%s: insecure: true "
			    "contradicts ca_file/pin_sha256", path);
	}
	return 0;
}

/* Keys from DK_PARTITION on depend on the device's kind. */
enum {
	DK_TYPE, DK_URL, DK_PEERS, DK_CRED, DK_TLS, DK_TIMEOUT, DK_PARTITION,
	DK_SYNC, DK_N
};
static const char *const dev_keys[DK_N] = {
	"type", "url", "peers", "credentials", "tls", "timeout_s", "partition",
	"sync_group",
};

/* The kind-dependent keys of an entry (from index first on) that kind k
 * does not take, and the keys it requires. */
static int
kind_keys(const struct ydoc *d, yaml_node_t *n, const char *path,
    const char *const *keys, size_t nkeys, size_t first, const struct field *f,
    const struct cfg_kind *k, const char *what, struct err *e)
{
	int rc;

	for (size_t i = first; i < nkeys; i++)
		if (f[i].v != NULL && !kind_takes(k->keys, keys[i]))
			return perr(d, f[i].k, e, "%s: key '%s' is not valid for a "
			    "%s %s", path, keys[i], k->type, what);
	for (const char *const *r = k->required; r != NULL && *r != NULL; r++)
		for (size_t i = 0; i < nkeys; i++)
			if (strcmp(keys[i], *r) == 0)
				TRY(need(d, n, &f[i], path, *r, e));
	return 0;
}

/* A kind's objection to entry n at path (whose credentials.yaml entry is
 * cred), placed. */
static int
objection(const struct loader *l, yaml_node_t *n, const char *path,
    const char *cred, const struct cfg_at *at, const struct err *why)
{
	char pre[PATH_LEN];

	if (at->credentials)
		return kind_objection(&l->cred, cred_entry(l, cred),
		    pathf(pre, "%s: ", cred), at, why, l->e);
	return kind_objection(&l->main, n, pathf(pre, "%s: ", path), at, why, l->e);
}

static int
parse_device(const struct loader *l, yaml_node_t *n, struct cfg_device *dv)
{
	const struct ydoc *d = &l->main;
	struct field f[DK_N];
	struct cfg_at at = { 0 };
	struct err why = { 0 };
	char path[PATH_LEN], p[PATH_LEN];
	int rc;

	dv->timeout_s = 30;
	pathf(path, "devices.%s", dv->name);
	TRY(map_collect(d, n, path, dev_keys, DK_N, f, l->e));
	TRY(need(d, n, &f[DK_TYPE], path, "type", l->e));
	TRY(need(d, n, &f[DK_URL], path, "url", l->e));
	TRY(need(d, n, &f[DK_CRED], path, "credentials", l->e));
	TRY(get_kind(d, f[DK_TYPE].v, pjoin(p, path, "type"), l->kinds->devices,
	    &dv->kind, l->e));
	dv->type = dv->kind->id;
	TRY(kind_keys(d, n, path, dev_keys, DK_N, DK_PARTITION, f, dv->kind,
	    "device", l->e));
	TRY(get_url(d, f[DK_URL].v, pjoin(p, path, "url"), &dv->url, l->e));
	if (f[DK_PEERS].v != NULL)
		TRY(get_list(d, f[DK_PEERS].v, pjoin(p, path, "peers"), get_url,
		    &dv->peers, &dv->npeers, l->e));
	TRY(get_str(d, f[DK_CRED].v, pjoin(p, path, "credentials"),
	    &dv->credentials, l->e));
	if (f[DK_TLS].v != NULL)
		TRY(parse_tls(l, f[DK_TLS].v, pjoin(p, path, "tls"), &dv->tls));
	if (f[DK_TIMEOUT].v != NULL)
		TRY(get_int(d, f[DK_TIMEOUT].v, pjoin(p, path, "timeout_s"), 1,
		    3600, &dv->timeout_s, l->e));
	if (f[DK_PARTITION].v != NULL)
		TRY(get_str(d, f[DK_PARTITION].v, pjoin(p, path, "partition"),
		    &dv->partition, l->e));
	if (f[DK_SYNC].v != NULL)
		TRY(get_str(d, f[DK_SYNC].v, pjoin(p, path, "sync_group"),
		    &dv->sync_group, l->e));
	TRY(device_creds(l, dv, f[DK_CRED].v));
	if (dv->kind->check_device != NULL && dv->kind->check_device(dv, &at, &why) != 0)
		return objection(l, n, path, dv->credentials, &at, &why);
	return 0;
}

/* Keys from CK_URL on depend on the CA's kind: the SCM API's, then ACME's. */
enum {
	CK_TYPE, CK_CAFILE, CK_TIMEOUT, CK_CRED,
	CK_URL, CK_CUST, CK_ORG, CK_CERTTYPE, CK_TERM, CK_POLL,
	CK_CUSTOM, CK_DCVMODE, CK_DCVEMAIL,
	CK_DIR, CK_CONTACT, CK_CHALLENGE, CK_PREF, CK_DNS, CK_APROF,
	CK_ORIGINS,
	CK_N
};
static const char *const ca_keys[CK_N] = {
	"type", "ca_file", "timeout_s", "credentials",
	"url", "customer_uri", "org_id", "cert_type", "term", "poll",
	"custom_fields", "dcv_mode", "dcv_email",
	"directory", "contact", "challenge", "preferred_chain", "dns",
	"acme_profile", "allow_origins",
};

static int
parse_poll(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_ca *ca, struct err *e)
{
	static const char *const keys[] = { "interval_s", "timeout_s" };
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int rc;

	TRY(map_collect(d, n, path, keys, NELEM(keys), f, e));
	if (f[0].v != NULL)
		TRY(get_int(d, f[0].v, pjoin(p, path, "interval_s"), 1, 3600,
		    &ca->poll_interval_s, e));
	if (f[1].v != NULL)
		TRY(get_int(d, f[1].v, pjoin(p, path, "timeout_s"), 1, 86400,
		    &ca->poll_timeout_s, e));
	return 0;
}

/* "https://host[:port]", nothing after: an origin, not a URL. */
static int
get_origin(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e)
{
	const char *rest;
	int rc;

	TRY(get_url(d, v, path, out, e));
	rest = strchr(*out + 8, '/');
	if (rest != NULL && rest[1] == '\0')
		(*out)[rest - *out] = '\0';	/* a trailing slash is no path */
	else if (rest != NULL || strpbrk(*out + 8, "?#@") != NULL)
		return perr(d, v, e, "%s: '%s' is not an origin "
		    "(https://host or https://host:port, no path)", path, *out);
	return 0;
}

static int
get_mailto(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e)
{
	int rc;

	TRY(get_str(d, v, path, out, e));
	if (strncmp(*out, "mailto:", 7) != 0 || strchr(*out, '@') == NULL)
		return perr(d, v, e, "%s: '%s' is not a mailto: URL", path,
		    *out);
	return 0;
}

/* Values the enroll API takes as given (reference 2.2): DCV modes, and
 * custom field values of at most 256 characters. */
static const char *const dcv_modes[] = {
	"CNAME", "EMAIL", "HTTP", "HTTPS", "TXT", "AUTO",
};

static int
parse_custom_fields(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_scm_extra *x, struct err *e)
{
	yaml_node_pair_t *pr;
	char p[PATH_LEN];
	int rc;

	TRY(map_check(d, n, path, e));
	if (map_len(n) > 0 &&
	    (x->custom_fields = calloc(map_len(n), sizeof(*x->custom_fields))) == NULL)
		return oom(e);
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		struct cfg_field *cf = &x->custom_fields[x->ncustom_fields];
		yaml_node_t *v = node(d, pr->value);

		x->ncustom_fields++;
		if ((cf->name = strdup(sval(node(d, pr->key)))) == NULL)
			return oom(e);
		pathf(p, "%s.%s", path, cf->name);
		TRY(get_str(d, v, p, &cf->value, e));
		if (strlen(cf->value) > 256)
			return perr(d, v, e, "%s: SCM takes at most 256 characters", p);
	}
	return 0;
}

/* custom_fields, dcv_mode, dcv_email: three consecutive fields. */
int
parse_scm_extra(const struct ydoc *d, const struct field *f, const char *path,
    struct cfg_scm_extra *x, struct err *e)
{
	char p[PATH_LEN];
	int mode, rc;

	if (f[0].v != NULL)
		TRY(parse_custom_fields(d, f[0].v, pjoin(p, path, "custom_fields"), x, e));
	if (f[1].v != NULL) {
		TRY(get_enum(d, f[1].v, pjoin(p, path, "dcv_mode"), dcv_modes,
		    NELEM(dcv_modes), &mode, e));
		if ((x->dcv_mode = strdup(dcv_modes[mode])) == NULL)
			return oom(e);
	}
	if (f[2].v != NULL) {
		TRY(get_str(d, f[2].v, pjoin(p, path, "dcv_email"), &x->dcv_email, e));
		if (strchr(x->dcv_email, '@') == NULL ||
		    strpbrk(x->dcv_email, " \t\r\n,") != NULL)
			return perr(d, f[2].v, e, "%s: '%s' is not an e-mail address",
			    p, x->dcv_email);
	}
	return 0;
}

/* The SCM API's keys, those present. */
static int
parse_scm(const struct loader *l, const char *path, const struct field *f,
    struct cfg_ca *ca)
{
	const struct ydoc *d = &l->main;
	char p[PATH_LEN];
	int rc;

	if (f[CK_URL].v != NULL)
		TRY(get_url(d, f[CK_URL].v, pjoin(p, path, "url"), &ca->url, l->e));
	if (f[CK_CUST].v != NULL)
		TRY(get_str(d, f[CK_CUST].v, pjoin(p, path, "customer_uri"),
		    &ca->customer_uri, l->e));
	if (f[CK_ORG].v != NULL)
		TRY(get_long(d, f[CK_ORG].v, pjoin(p, path, "org_id"), 1, LONG_MAX,
		    &ca->org_id, l->e));
	if (f[CK_CERTTYPE].v != NULL)
		TRY(get_str(d, f[CK_CERTTYPE].v, pjoin(p, path, "cert_type"),
		    &ca->cert_type, l->e));
	if (f[CK_TERM].v != NULL)
		TRY(get_int(d, f[CK_TERM].v, pjoin(p, path, "term"), 1, 3650,
		    &ca->term, l->e));
	if (f[CK_POLL].v != NULL)
		TRY(parse_poll(d, f[CK_POLL].v, pjoin(p, path, "poll"), ca,
		    l->e));
	return parse_scm_extra(d, &f[CK_CUSTOM], path, &ca->scm, l->e);
}

/* A DNS name as written in the dns block: letters, digits, '-', '_' and
 * dots, an optional final dot. */
static int
get_dname(const struct ydoc *d, yaml_node_t *v, const char *path, char **out,
    struct err *e)
{
	size_t len;
	int rc;

	TRY(get_str(d, v, path, out, e));
	for (char *q = *out; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	len = strlen(*out);
	if (len == 0 || len > 253 || strspn(*out, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789-_.") != len || (*out)[0] == '.' || strstr(*out, "..") != NULL)
		return perr(d, v, e, "%s: '%s' is not a DNS name", path, *out);
	return 0;
}

enum { NK_SERVER, NK_PORT, NK_ZONE, NK_TSIG_NAME, NK_TSIG_ALG, NK_TIMEOUT, NK_N };
static const char *const dns_keys[NK_N] = {
	"server", "port", "zone", "tsig_name", "tsig_algorithm", "timeout_s",
};

/* dns: where dns-01 records go. The TSIG secret is tsig_secret in the
 * CA's credentials entry. */
static int
parse_dns(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_dns *dns, struct err *e)
{
	struct field f[NK_N];
	char p[PATH_LEN];
	int alg, rc;

	dns->port = 53;
	dns->timeout_s = 120;
	TRY(map_collect(d, n, path, dns_keys, NK_N, f, e));
	TRY(need(d, n, &f[NK_SERVER], path, "server", e));
	TRY(need(d, n, &f[NK_TSIG_NAME], path, "tsig_name", e));
	TRY(get_str(d, f[NK_SERVER].v, pjoin(p, path, "server"), &dns->server, e));
	if (dns->server[0] == '\0' || strpbrk(dns->server, " \t/[]") != NULL ||
	    (strchr(dns->server, ':') != NULL && strchr(dns->server, '.') != NULL))
		return perr(d, f[NK_SERVER].v, e, "%s: '%s' is not a host name or "
		    "address (give the port as port:)", p, dns->server);
	if (f[NK_PORT].v != NULL)
		TRY(get_int(d, f[NK_PORT].v, pjoin(p, path, "port"), 1, 65535,
		    &dns->port, e));
	if (f[NK_ZONE].v != NULL)
		TRY(get_dname(d, f[NK_ZONE].v, pjoin(p, path, "zone"), &dns->zone, e));
	TRY(get_dname(d, f[NK_TSIG_NAME].v, pjoin(p, path, "tsig_name"),
	    &dns->tsig_name, e));
	alg = 0;
	if (f[NK_TSIG_ALG].v != NULL)
		TRY(get_enum(d, f[NK_TSIG_ALG].v, pjoin(p, path, "tsig_algorithm"),
		    tsig_algorithms, NELEM(tsig_algorithms), &alg, e));
	if ((dns->tsig_algorithm = strdup(tsig_algorithms[alg])) == NULL)
		return oom(e);
	if (f[NK_TIMEOUT].v != NULL)
		TRY(get_int(d, f[NK_TIMEOUT].v, pjoin(p, path, "timeout_s"), 1, 3600,
		    &dns->timeout_s, e));
	return 0;
}

/* The ACME keys, those present. Which go together is the ACME kind's
 * rule (check_ca). */
static int
parse_acme(const struct loader *l, const char *path, const struct field *f,
    struct cfg_ca *ca)
{
	const struct ydoc *d = &l->main;
	char p[PATH_LEN];
	int t, rc;

	if (f[CK_DIR].v != NULL)
		TRY(get_url(d, f[CK_DIR].v, pjoin(p, path, "directory"),
		    &ca->directory, l->e));
	if (f[CK_CONTACT].v != NULL)
		TRY(get_list(d, f[CK_CONTACT].v, pjoin(p, path, "contact"),
		    get_mailto, &ca->contact, &ca->ncontact, l->e));
	if (f[CK_CHALLENGE].v != NULL) {
		TRY(get_enum(d, f[CK_CHALLENGE].v, pjoin(p, path, "challenge"),
		    challenge_names, NELEM(challenge_names), &t, l->e));
		ca->challenge = t;
	}
	if (f[CK_DNS].v != NULL)
		TRY(parse_dns(d, f[CK_DNS].v, pjoin(p, path, "dns"), &ca->dns, l->e));
	if (f[CK_PREF].v != NULL)
		TRY(get_str(d, f[CK_PREF].v, pjoin(p, path, "preferred_chain"),
		    &ca->preferred_chain, l->e));
	if (f[CK_APROF].v != NULL)
		TRY(get_str(d, f[CK_APROF].v, pjoin(p, path, "acme_profile"),
		    &ca->acme_profile, l->e));
	if (f[CK_ORIGINS].v != NULL)
		TRY(get_list(d, f[CK_ORIGINS].v, pjoin(p, path, "allow_origins"),
		    get_origin, &ca->allow_origins, &ca->nallow_origins, l->e));
	return 0;
}

static int
parse_ca(const struct loader *l, yaml_node_t *n, struct cfg_ca *ca)
{
	const struct ydoc *d = &l->main;
	struct field f[CK_N];
	struct cfg_at at = { 0 };
	struct err why = { 0 };
	char path[PATH_LEN], p[PATH_LEN];
	int rc;

	ca->timeout_s = 30;
	ca->term = 365;
	ca->poll_interval_s = 10;
	ca->poll_timeout_s = 600;
	ca->challenge = CHALLENGE_NONE;
	pathf(path, "cas.%s", ca->name);
	TRY(map_collect(d, n, path, ca_keys, CK_N, f, l->e));
	TRY(need(d, n, &f[CK_TYPE], path, "type", l->e));
	TRY(get_kind(d, f[CK_TYPE].v, pjoin(p, path, "type"), l->kinds->cas,
	    &ca->kind, l->e));
	ca->type = ca->kind->id;
	TRY(kind_keys(d, n, path, ca_keys, CK_N, CK_URL, f, ca->kind, "CA", l->e));
	if (f[CK_CAFILE].v != NULL)
		TRY(get_path(l, d, f[CK_CAFILE].v, pjoin(p, path, "ca_file"),
		    &ca->ca_file, l->e));
	if (f[CK_TIMEOUT].v != NULL)
		TRY(get_int(d, f[CK_TIMEOUT].v, pjoin(p, path, "timeout_s"), 1,
		    3600, &ca->timeout_s, l->e));
	TRY(parse_scm(l, path, f, ca));
	TRY(parse_acme(l, path, f, ca));
	if (f[CK_CRED].v != NULL) {
		TRY(get_str(d, f[CK_CRED].v, pjoin(p, path, "credentials"),
		    &ca->credentials, l->e));
		TRY(ca_creds(l, ca, f[CK_CRED].v));
	}
	if (ca->kind->check_ca != NULL && ca->kind->check_ca(ca, &at, &why) != 0)
		return objection(l, n, path, ca->credentials, &at, &why);
	return 0;
}

static int
parse_defaults(struct loader *l, yaml_node_t *n)
{
	static const char *const keys[] = { "renew_before_days", "key", "hooks" };
	const struct ydoc *d = &l->main;
	struct field f[NELEM(keys)];
	int rc;

	TRY(map_collect(d, n, "defaults", keys, NELEM(keys), f, l->e));
	if (f[0].v != NULL)
		TRY(get_int(d, f[0].v, "defaults.renew_before_days", 1, 3650,
		    &l->c->renew_before_days, l->e));
	if (f[1].v != NULL)
		TRY(parse_key(d, f[1].v, "defaults.key", &l->c->key, l->e));
	if (f[2].v != NULL)
		TRY(parse_hooks(d, f[2].v, "defaults.hooks", &l->c->hooks, l->e));
	return 0;
}

static int
parse_devices(struct loader *l, yaml_node_t *n)
{
	struct config *c = l->c;
	yaml_node_pair_t *p;
	struct cfg_device *dv;
	int rc;

	TRY(map_check(&l->main, n, "devices", l->e));
	if (map_len(n) > 0 &&
	    (c->devices = calloc(map_len(n), sizeof(*dv))) == NULL)
		return oom(l->e);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		dv = &c->devices[c->ndevices++];
		if ((dv->name = strdup(sval(node(&l->main, p->key)))) == NULL)
			return oom(l->e);
		TRY(parse_device(l, node(&l->main, p->value), dv));
	}
	return 0;
}

static int
parse_cas(struct loader *l, yaml_node_t *n)
{
	struct config *c = l->c;
	yaml_node_pair_t *p;
	struct cfg_ca *ca;
	int rc;

	TRY(map_check(&l->main, n, "cas", l->e));
	if (map_len(n) > 0 &&
	    (c->cas = calloc(map_len(n), sizeof(*ca))) == NULL)
		return oom(l->e);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		ca = &c->cas[c->ncas++];
		if ((ca->name = strdup(sval(node(&l->main, p->key)))) == NULL)
			return oom(l->e);
		TRY(parse_ca(l, node(&l->main, p->value), ca));
	}
	return 0;
}

int
parse_main(struct loader *l)
{
	static const char *const keys[] = { "defaults", "devices", "cas",
		"metrics_file", "keep_previous_hours" };
	struct field f[NELEM(keys)];
	yaml_node_t *root;
	int rc;

	if ((root = yaml_document_get_root_node(&l->main.doc)) == NULL)
		return 0;
	TRY(map_collect(&l->main, root, "", keys, NELEM(keys), f, l->e));
	if (f[0].v != NULL)
		TRY(parse_defaults(l, f[0].v));
	if (f[1].v != NULL)
		TRY(parse_devices(l, f[1].v));
	if (f[2].v != NULL)
		TRY(parse_cas(l, f[2].v));
	if (f[3].v != NULL)
		TRY(get_path(l, &l->main, f[3].v, "metrics_file", &l->c->metrics_file,
		    l->e));
	if (f[4].v != NULL)
		TRY(get_int(&l->main, f[4].v, "keep_previous_hours", 0, KEEP_PREVIOUS_MAX,
		    &l->c->keep_previous_hours, l->e));
	return 0;
}
