/* ACME Renewal Information (RFC 9773) and ACME profiles: the CA's
 * suggested renewal window of a certificate, the certID that names the
 * certificate in it and in newOrder's "replaces", and the check of a
 * configured profile against the directory's meta.profiles. */
#include "ca/acme_client.h"
#include "ca/acme_internal.h"

#include <ctype.h>
#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/jws.h"
#include "util/log.h"
#include "util/mem.h"

#define ARI_RETRY_MIN_S 60L        /* RFC 9773 §4.3: bounds a client sets */
#define ARI_RETRY_MAX_S 86400L
#define ARI_RETRY_DEFAULT_S 21600L /* no usable Retry-After: six hours */

/* The content octets of the serial's DER INTEGER: what RFC 9773 §4.1
 * encodes, a leading 0x00 included. */
static char *
serial_b64url(const X509 *x)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	unsigned char *der = NULL;
	const unsigned char *p;
	long len;
	int n, tag, cls;
	char *out = NULL;

	if (sn == NULL || (n = i2d_ASN1_INTEGER(sn, &der)) <= 0)
		return NULL;
	p = der;
	if (!(ASN1_get_object(&p, &len, &tag, &cls, n) & 0x80) && tag == V_ASN1_INTEGER &&
	    len > 0)
		out = jws_b64url_encode(p, (size_t)len);
	OPENSSL_free(der);
	return out;
}

char *
acme_ari_cert_id(const char *cert_pem)
{
	BIO *bio = cert_pem ? BIO_new_mem_buf(cert_pem, -1) : NULL;
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	const ASN1_OCTET_STRING *aki = x ? X509_get0_authority_key_id(x) : NULL;
	char *k = NULL, *s = NULL, *out = NULL;

	if (aki != NULL && ASN1_STRING_length(aki) > 0 &&
	    (k = jws_b64url_encode(ASN1_STRING_get0_data(aki),
	    (size_t)ASN1_STRING_length(aki))) != NULL && (s = serial_b64url(x)) != NULL)
		out = xasprintf("%s.%s", k, s);
	free(k);
	free(s);
	X509_free(x);
	BIO_free(bio);
	return out;
}

time_t
acme_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	int n = 0, oh, om;
	long off = 0;
	time_t t;

	if (s == NULL || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') /* fractions of a second do not matter here */
		for (s++; isdigit((unsigned char)*s); s++)
			;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d", &oh, &om) == 2 &&
	    strlen(s) == 6) {
		off = (oh * 3600L + om * 60L) * (*s == '+' ? 1 : -1);
		s += 6;
	} else
		return -1;
	if (*s != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return t - off;
}

int
acme_ari_parse(const char *body, size_t len, time_t *start, time_t *end,
    char **explanation)
{
	json_t *o = acme_json_object(body, len), *w;
	const char *url;
	int rc = -1;

	*explanation = NULL;
	w = o ? json_object_get(o, "suggestedWindow") : NULL;
	*start = acme_rfc3339(acme_jstr(w, "start"));
	*end = acme_rfc3339(acme_jstr(w, "end"));
	/* §4.2: an end at or before the start is as good as no answer */
	if (*start != -1 && *end != -1 && *end > *start) {
		rc = 0;
		if ((url = acme_jstr(o, "explanationURL")) != NULL &&
		    (*explanation = xstrdup(url)) == NULL)
			rc = -1;
	}
	json_decref(o);
	return rc;
}

long
acme_ari_retry_s(const char *retry_after, time_t now)
{
	long s = retry_after ? http_parse_retry_after(retry_after, now) : -1;

	if (s < 0)
		return ARI_RETRY_DEFAULT_S;
	return s < ARI_RETRY_MIN_S ? ARI_RETRY_MIN_S : s > ARI_RETRY_MAX_S ? ARI_RETRY_MAX_S : s;
}

char *
acme_replaces_id(struct ca *c, const char *cert_pem)
{
	if (cert_pem == NULL || acme_jstr(c->dir, "renewalInfo") == NULL)
		return NULL;
	return acme_ari_cert_id(cert_pem);
}

int
acme_renewal_info(struct ca *c, const char *cert_pem, struct ca_renewal *out,
    struct err *e)
{
	struct http_resp r = { 0 };
	const char *base;
	char *id = NULL, *url = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = acme_directory(c, e)) != 0)
		return rc;
	if ((base = acme_jstr(c->dir, "renewalInfo")) == NULL)
		return err_set(e, LB_ENOTSUP, "acme %s: the CA offers no renewal information",
		    c->cfg->name);
	if ((id = acme_ari_cert_id(cert_pem)) == NULL)
		return err_set(e, LB_ERR, "acme %s: renewal information: the certificate has "
		    "no authority key identifier", c->cfg->name);
	url = xasprintf("%s%s%s", base, base[0] && base[strlen(base) - 1] == '/' ? "" : "/", id);
	if (url == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
		goto out;
	}
	if ((rc = acme_check_url(c, url, e)) != 0 ||
	    (rc = acme_request(c, "GET", url, NULL, NULL, true, &r, e)) != 0)
		goto out;
	if (r.status != 200) {
		rc = acme_problem(c, "renewalInfo", &r, e);
		goto out;
	}
	if (acme_ari_parse(r.body, r.body_len, &out->start, &out->end, &out->explanation) != 0) {
		rc = err_set(e, LB_ERR, "acme %s: renewalInfo %s: no valid suggestedWindow",
		    c->cfg->name, id);
		goto out;
	}
	out->retry_at = time(NULL) + acme_ari_retry_s(http_resp_header(&r, "retry-after"),
	    time(NULL));
	out->cert_id = id;
	id = NULL;
	rc = 0;
out:
	if (rc != 0)
		ca_renewal_free(out);
	free(id);
	free(url);
	http_resp_free(&r);
	return rc;
}

/* "a, b, c" from the keys of o, into buf. */
static void
names_of(const json_t *o, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t off = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)o, k, v) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", k);

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

int
acme_prepare(struct ca *c, const struct cfg_profile *p, struct err *e)
{
	json_t *profs;
	char valid[512];
	int rc;

	if (c->cfg->challenge == CHALLENGE_DNS01 && (rc = acme_dns01_check(c, p, e)) != 0)
		return rc;
	if (p->acme_profile == NULL)
		return 0;
	if ((rc = acme_directory(c, e)) != 0)
		return rc;
	profs = json_object_get(json_object_get(c->dir, "meta"), "profiles");
	if (!json_is_object(profs) || json_object_size(profs) == 0)
		return err_set(e, LB_ECONFIG, "acme %s: acme_profile '%s': the CA offers no "
		    "profiles (its directory has no meta.profiles)", c->cfg->name, p->acme_profile);
	if (json_object_get(profs, p->acme_profile) != NULL)
		return 0;
	names_of(profs, valid, sizeof(valid));
	return err_set(e, LB_ECONFIG, "acme %s: acme_profile '%s' is not offered by the CA; "
	    "valid profiles: %s", c->cfg->name, p->acme_profile, valid);
}
