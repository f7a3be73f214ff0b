/*
 * X.509 and CSR checks with OpenSSL 3. Every entry point takes PEM text
 * and leaves the OpenSSL error queue empty, so that a later TLS call does
 * not pick up a stale error from here.
 */
#include "crypto/x509.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/jws.h"
#include "crypto/x509_int.h"
#include "util/mem.h"

/* The first queued OpenSSL reason, for a user message; empties the queue. */
static const char *
ossl_reason(char *buf, size_t len)
{
	unsigned long code = ERR_peek_error();
	const char *r;

	ERR_clear_error();
	if (code == 0)
		return "no detail";
	if ((r = ERR_reason_error_string(code)) == NULL) {
		ERR_error_string_n(code, buf, len);
		return buf;
	}
	return r;
}

X509 *
x509_load_cert(const char *pem, const char *what, struct err *e)
{
	char rb[256];
	BIO *b;
	X509 *x;

	if (pem == NULL)
		return err_set(e, LB_ERR, "%s: no PEM", what), NULL;
	if ((x = x509_parsed_get(pem)) != NULL)
		return x;
	if ((b = BIO_new_mem_buf(pem, -1)) == NULL)
		return err_set(e, LB_ERR, "out of memory"), NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL)
		err_set(e, LB_ERR, "%s: not a PEM certificate (%s)", what,
		    ossl_reason(rb, sizeof(rb)));
	else
		x509_parsed_put(pem, x);
	return x;
}

X509_REQ *
x509_load_csr(const char *pem, struct err *e)
{
	char rb[256];
	X509_REQ *r;
	BIO *b;

	if (pem == NULL)
		return err_set(e, LB_ERR, "no CSR"), NULL;
	if ((b = BIO_new_mem_buf(pem, -1)) == NULL)
		return err_set(e, LB_ERR, "out of memory"), NULL;
	r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	if (r == NULL)
		err_set(e, LB_ERR, "CSR: not a PEM certificate request (%s)",
		    ossl_reason(rb, sizeof(rb)));
	return r;
}

/* "rsa:2048", "ecdsa:P-256"; other types by their OpenSSL name. */
static int
key_desc(EVP_PKEY *pk, char *buf, size_t len, struct err *e)
{
	char group[64];
	const char *name;
	size_t glen;
	int n;

	if (pk == NULL)
		return err_set(e, LB_ERR, "no public key");
	if (EVP_PKEY_is_a(pk, "RSA"))
		n = snprintf(buf, len, "rsa:%d", EVP_PKEY_get_bits(pk));
	else if (EVP_PKEY_is_a(pk, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen)) {
			ERR_clear_error();
			return err_set(e, LB_ERR, "EC key without a named curve");
		}
		name = EC_curve_nid2nist(OBJ_txt2nid(group));
		n = snprintf(buf, len, "ecdsa:%s", name != NULL ? name : group);
	} else {
		name = EVP_PKEY_get0_type_name(pk);
		n = snprintf(buf, len, "%s:%d", name != NULL ? name : "unknown",
		    EVP_PKEY_get_bits(pk));
		for (char *p = buf; *p != '\0' && *p != ':'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	ERR_clear_error();
	if (n < 0 || (size_t)n >= len)
		return err_set(e, LB_ERR, "key description too long");
	return 0;
}

/* malloc'd UTF-8 value of the last CN of name, or NULL when it has none. */
static char *
name_cn(const X509_NAME *name)
{
	const X509_NAME_ENTRY *ent;
	unsigned char *utf = NULL;
	char *cn;
	int i = -1, last = -1, n;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return NULL;
	ent = X509_NAME_get_entry(name, last);
	if ((n = ASN1_STRING_to_UTF8(&utf, X509_NAME_ENTRY_get_data(ent))) < 0) {
		ERR_clear_error();
		return NULL;
	}
	cn = strndup((char *)utf, (size_t)n);
	OPENSSL_free(utf);
	return cn;
}

char *
x509_name_rfc2253(const X509_NAME *name)
{
	BIO *b;
	char *s = NULL, *p;
	long n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		s = strndup(p != NULL ? p : "", n > 0 ? (size_t)n : 0);
	}
	BIO_free(b);
	ERR_clear_error();
	return s;
}

/* How messages name a certificate: "CN=x", or its whole subject. */
void
x509_cert_label(X509 *x, char *buf, size_t len)
{
	char *s = name_cn(X509_get_subject_name(x));

	if (s != NULL) {
		snprintf(buf, len, "CN=%s", s);
	} else {
		s = x509_name_rfc2253(X509_get_subject_name(x));
		snprintf(buf, len, "%s", s != NULL && *s != '\0' ? s :
		    "no subject");
	}
	free(s);
}

int
x509_asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return -1;
	}
	*out = timegm(&tm);
	return 0;
}

void
x509_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

static int
serial_hex(X509 *x, char *buf, size_t len, struct err *e)
{
	BIGNUM *bn;
	char *hex, *p;
	int rc = LB_ERR;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL)
		return err_set(e, LB_ERR, "certificate serial unreadable");
	if ((hex = BN_bn2hex(bn)) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	p = hex;
	if (*p == '-') {
		err_set(e, LB_ERR, "certificate has a negative serial number");
		goto out;
	}
	while (p[0] == '0' && p[1] != '\0')
		p++;
	if (strlen(p) >= len) {
		err_set(e, LB_ERR, "certificate serial number too long");
		goto out;
	}
	for (size_t i = 0; p[i] != '\0'; i++)
		buf[i] = (char)tolower((unsigned char)p[i]);
	buf[strlen(p)] = '\0';
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
	return rc;
}

/* DNS SANs, lower-cased. A name with an embedded NUL is refused: it is
 * the classic way to smuggle "good.com\0.evil.com" past a check. */
int
x509_dns_sans(X509 *x, char ***out, size_t *n, struct err *e)
{
	GENERAL_NAMES *gens;
	char **v = NULL;
	size_t cnt = 0;
	int rc = LB_ERR, num;

	*out = NULL;
	*n = 0;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	if (gens == NULL)
		return 0;
	num = sk_GENERAL_NAME_num(gens);
	if ((v = calloc((size_t)num + 1, sizeof(*v))) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	for (int i = 0; i < num; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int len;

		if (g->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (len < 0 || memchr(d, '\0', (size_t)len) != NULL) {
			err_set(e, LB_ERR, "certificate has a malformed DNS name");
			goto out;
		}
		if ((v[cnt] = strndup((const char *)d, (size_t)len)) == NULL) {
			err_set(e, LB_ERR, "out of memory");
			goto out;
		}
		for (char *p = v[cnt]; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		cnt++;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	strv_free(v, cnt);
	GENERAL_NAMES_free(gens);
	return rc;
}

static int
der_sha256(X509 *x, unsigned char md[EVP_MAX_MD_SIZE], unsigned int *len,
    struct err *e)
{
	if (!X509_digest(x, EVP_sha256(), md, len)) {
		ERR_clear_error();
		return err_set(e, LB_ERR, "cannot hash certificate");
	}
	return 0;
}

static int
fill_info(X509 *x, struct cert_info *ci, struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	if (serial_hex(x, ci->serial, sizeof(ci->serial), e) != 0)
		return LB_ERR;
	if (x509_asn1_time(X509_get0_notBefore(x), &ci->not_before) != 0 ||
	    x509_asn1_time(X509_get0_notAfter(x), &ci->not_after) != 0)
		return err_set(e, LB_ERR, "certificate validity unreadable");
	ci->subject_cn = name_cn(X509_get_subject_name(x));
	ci->issuer_cn = name_cn(X509_get_issuer_name(x));
	if ((ci->issuer_dn = x509_name_rfc2253(X509_get_issuer_name(x))) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	if (x509_dns_sans(x, &ci->names, &ci->nnames, e) != 0)
		return LB_ERR;
	if (key_desc(X509_get0_pubkey(x), ci->key_desc, sizeof(ci->key_desc),
	    e) != 0)
		return err_prefix(e, "certificate");
	if (der_sha256(x, md, &mdlen, e) != 0)
		return LB_ERR;
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(ci->fingerprint + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
x509_cert_info(const char *pem, struct cert_info *out, struct err *e)
{
	struct cert_info ci = {0};
	X509 *x;
	int rc;

	*out = (struct cert_info){0};
	if ((x = x509_load_cert(pem, "certificate", e)) == NULL)
		return LB_ERR;
	rc = fill_info(x, &ci, e);
	X509_free(x);
	if (rc != 0) {
		cert_info_free(&ci);
		return rc;
	}
	*out = ci;
	return 0;
}

void
cert_info_free(struct cert_info *ci)
{
	if (ci == NULL)
		return;
	free(ci->subject_cn);
	free(ci->issuer_cn);
	free(ci->issuer_dn);
	strv_free(ci->names, ci->nnames);
	*ci = (struct cert_info){0};
}

static bool
only_space(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* The PEM of der, written as OpenSSL writes a certificate. */
static char *
der_to_pem(const unsigned char *der, long len)
{
	BIO *b;
	char *s = NULL, *p;
	long n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio(b, PEM_STRING_X509, "", der, len)) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0)
			s = strndup(p, (size_t)n);
	}
	BIO_free(b);
	return s;
}

/* Certificate block idx of a bundle (DER der), as PEM, once it parses
 * whole; NULL with e set. A CA's intermediates come back with every
 * certificate: kept parsed, they are not decoded again. */
static char *
block_cert(const unsigned char *der, long len, size_t idx, struct err *e)
{
	const unsigned char *p = der;
	char *pem, rb[256];
	X509 *x;

	if ((pem = der_to_pem(der, len)) == NULL)
		return err_set(e, LB_ERR, "out of memory"), NULL;
	/* x509_load_cert keeps what PEM_read_bio_X509 took, which stops at
	 * the certificate's end: a kept one stands for the block only when
	 * its encoding is the whole block. */
	if ((x = x509_parsed_get(pem)) != NULL) {
		bool whole = i2d_X509(x, NULL) == len;

		X509_free(x);
		if (whole)
			return pem;
	}
	if ((x = d2i_X509(NULL, &p, len)) == NULL || p != der + len) {
		X509_free(x);
		free(pem);
		return err_set(e, LB_ERR, "PEM bundle: certificate %zu does not parse: %s",
		    idx + 1, ossl_reason(rb, sizeof(rb))), NULL;
	}
	x509_parsed_put(pem, x);
	X509_free(x);
	return pem;
}

/*
 * Each block is decoded and written back out, so the strings handed on
 * are canonical PEM of a certificate that parsed, whatever surrounded it.
 * Blocks of other types (a key someone pasted in) are skipped.
 */
int
x509_split_pem(const char *bundle, char ***out, size_t *n, struct err *e)
{
	char **v = NULL, *name = NULL, *hdr = NULL, rb[256];
	unsigned char *data = NULL;
	size_t cnt = 0, cap = 0, nblock = 0;
	long len;
	BIO *b = NULL;
	int rc = LB_ERR;

	*out = NULL;
	*n = 0;
	if (bundle == NULL || only_space(bundle))
		return 0;
	if ((b = BIO_new_mem_buf(bundle, -1)) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	for (;;) {
		ERR_clear_error();
		if (!PEM_read_bio(b, &name, &hdr, &data, &len)) {
			unsigned long code = ERR_peek_last_error();

			if (ERR_GET_LIB(code) == ERR_LIB_PEM &&
			    ERR_GET_REASON(code) == PEM_R_NO_START_LINE)
				break;
			err_set(e, LB_ERR, "PEM bundle: block %zu is malformed:"
			    " %s", nblock + 1, ossl_reason(rb, sizeof(rb)));
			goto out;
		}
		nblock++;
		if (strcmp(name, PEM_STRING_X509) == 0 ||
		    strcmp(name, PEM_STRING_X509_OLD) == 0) {
			if (cnt == cap) {
				size_t ncap = cap == 0 ? 4 : cap * 2;
				char **nv = reallocarray(v, ncap, sizeof(*v));

				if (nv == NULL) {
					err_set(e, LB_ERR, "out of memory");
					goto out;
				}
				v = nv;
				cap = ncap;
			}
			if ((v[cnt] = block_cert(data, len, cnt, e)) == NULL)
				goto out;
			cnt++;
		}
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		OPENSSL_free(data);
		name = hdr = NULL;
		data = NULL;
	}
	if (cnt == 0) {
		err_set(e, LB_ERR, "PEM bundle holds no certificate");
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(data);
	BIO_free(b);
	if (v != NULL)
		strv_free(v, cnt);
	return rc;
}

/*
 * Whether issuer issued subject: names, AKID and key usage agree, the
 * issuer is a CA, and the signature verifies. *why (may be NULL) gets
 * the reason when not.
 */
int
x509_did_issue(X509 *issuer, X509 *subject, const char **why)
{
	const char *w = NULL;
	int r, res = ISS_OTHER;

	if ((r = X509_check_issued(issuer, subject)) != X509_V_OK) {
		w = X509_verify_cert_error_string(r);
		if (r == X509_V_ERR_SUBJECT_ISSUER_MISMATCH)
			res = ISS_NAME;
	} else if (X509_check_ca(issuer) == 0)
		w = "it is not a CA certificate";
	else if (X509_verify(subject, X509_get0_pubkey(issuer)) != 1)
		w = "signature does not verify";
	else
		res = ISS_OK;
	ERR_clear_error();
	if (why != NULL)
		*why = w;
	return res;
}

int
x509_order_chain(char **certs, size_t n, struct err *e)
{
	X509 *x[MAX_CHAIN] = {0};
	char *sorted[MAX_CHAIN], lab[2][256], what[32];
	bool used[MAX_CHAIN] = {0};
	size_t leaf = 0, nleaves = 0, cur;
	int rc = LB_ERR;

	if (n == 0)
		return 0;
	if (n > MAX_CHAIN)
		return err_set(e, LB_ERR, "chain of %zu certificates is longer"
		    " than %d", n, MAX_CHAIN);
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "chain certificate %zu", i + 1);
		if ((x[i] = x509_load_cert(certs[i], what, e)) == NULL)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (X509_cmp(x[i], x[j]) == 0) {
				x509_cert_label(x[i], lab[0], sizeof(lab[0]));
				err_set(e, LB_ERR, "chain holds %s twice",
				    lab[0]);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		bool issuer = false;

		for (size_t j = 0; j < n && !issuer; j++)
			issuer = j != i &&
			    x509_did_issue(x[i], x[j], NULL) == ISS_OK;
		if (!issuer) {
			if (nleaves++ == 0)
				leaf = i;
			else {
				x509_cert_label(x[leaf], lab[0], sizeof(lab[0]));
				x509_cert_label(x[i], lab[1], sizeof(lab[1]));
				err_set(e, LB_ERR, "certificates do not form one"
				    " chain: neither %s nor %s issued any of the"
				    " others", lab[0], lab[1]);
				goto out;
			}
		}
	}
	if (nleaves == 0) {
		err_set(e, LB_ERR, "certificates do not form one chain: no leaf"
		    " (they issued each other in a loop)");
		goto out;
	}
	sorted[0] = certs[leaf];
	used[leaf] = true;
	cur = leaf;
	for (size_t k = 1; k < n; k++) {
		size_t next = n;

		for (size_t j = 0; j < n && next == n; j++)
			if (!used[j] &&
			    x509_did_issue(x[j], x[cur], NULL) == ISS_OK)
				next = j;
		if (next == n) {
			for (size_t j = 0; j < n; j++)
				if (!used[j])
					next = j;
			x509_cert_label(x[next], lab[0], sizeof(lab[0]));
			x509_cert_label(x[cur], lab[1], sizeof(lab[1]));
			err_set(e, LB_ERR, "certificates do not form one chain:"
			    " %s is not in the issuer path of %s", lab[0],
			    lab[1]);
			goto out;
		}
		sorted[k] = certs[next];
		used[next] = true;
		cur = next;
	}
	memcpy(certs, sorted, n * sizeof(*certs));
	rc = 0;
out:
	for (size_t i = 0; i < n && i < MAX_CHAIN; i++)
		X509_free(x[i]);
	ERR_clear_error();
	return rc;
}

int
x509_csr_key_desc(const char *csr_pem, char *buf, size_t len, struct err *e)
{
	X509_REQ *r;
	int rc;

	if ((r = x509_load_csr(csr_pem, e)) == NULL)
		return LB_ERR;
	if ((rc = key_desc(X509_REQ_get0_pubkey(r), buf, len, e)) != 0)
		err_prefix(e, "CSR");
	X509_REQ_free(r);
	ERR_clear_error();
	return rc;
}

int
x509_keys_equal(X509_REQ *r, X509 *x, struct err *e)
{
	EVP_PKEY *rk = X509_REQ_get0_pubkey(r), *xk = X509_get0_pubkey(x);
	int eq;

	if (rk == NULL || xk == NULL) {
		ERR_clear_error();
		return err_set(e, LB_ERR, "%s has no readable public key",
		    rk == NULL ? "CSR" : "certificate");
	}
	eq = EVP_PKEY_eq(rk, xk);
	ERR_clear_error();
	if (eq != 1)
		return err_set(e, LB_ERR, "certificate key does not match the"
		    " CSR");
	return 0;
}

int
x509_csr_matches_cert(const char *csr_pem, const char *cert_pem,
    struct err *e)
{
	X509_REQ *r = NULL;
	X509 *x = NULL;
	int rc = LB_ERR;

	if ((r = x509_load_csr(csr_pem, e)) == NULL)
		goto out;
	if ((x = x509_load_cert(cert_pem, "certificate", e)) == NULL)
		goto out;
	rc = x509_keys_equal(r, x, e);
out:
	X509_REQ_free(r);
	X509_free(x);
	return rc;
}

int
x509_csr_der_b64url(const char *csr_pem, char **out, struct err *e)
{
	unsigned char *der = NULL;
	X509_REQ *r;
	int len, rc = LB_ERR;

	*out = NULL;
	if ((r = x509_load_csr(csr_pem, e)) == NULL)
		return LB_ERR;
	if ((len = i2d_X509_REQ(r, &der)) <= 0) {
		err_set(e, LB_ERR, "cannot encode CSR");
		goto out;
	}
	/* RFC 8555 §7.4: the CSR field is base64url without padding. */
	if ((*out = jws_b64url_encode(der, (size_t)len)) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	X509_REQ_free(r);
	ERR_clear_error();
	return rc;
}

int
x509_fingerprint_colon(const char *pem, char *buf, size_t len, struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	X509 *x;
	int rc;

	if ((x = x509_load_cert(pem, "certificate", e)) == NULL)
		return LB_ERR;
	rc = der_sha256(x, md, &mdlen, e);
	X509_free(x);
	if (rc != 0)
		return rc;
	if (len < (size_t)mdlen * 3)
		return err_set(e, LB_ERR, "fingerprint buffer too small");
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(buf + 3 * i, 4, i + 1 < mdlen ? "%02X:" : "%02X",
		    md[i]);
	return 0;
}
