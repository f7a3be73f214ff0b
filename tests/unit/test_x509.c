#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/x509.h"
#include "util/log.h"
#include "util/mem.h"

#include "data/x509_fixture.h"


static void
cert_info_fields(void **state)
{
	(void)state;
	struct cert_info ci;
	struct err e = {0};
	unsigned char md[32], *der = NULL;
	unsigned int mdlen;
	char hex[65];
	int len;

	assert_int_equal(x509_cert_info(F.leaf_rsa_pem, &ci, &e), 0);
	assert_string_equal(ci.serial, "abcdef0123");
	assert_int_equal(ci.not_before, utc(2025, 1, 1));
	assert_int_equal(ci.not_after, utc(2030, 1, 1));
	assert_string_equal(ci.subject_cn, "www.example.com");
	assert_string_equal(ci.issuer_cn, "Test Intermediate");
	assert_string_equal(ci.issuer_dn, "CN=Test Intermediate,O=Example");
	assert_int_equal(ci.nnames, 3);
	assert_string_equal(ci.names[0], "www.example.com");
	assert_string_equal(ci.names[1], "shop.example.com");
	assert_string_equal(ci.names[2], "*.static.example.com");
	assert_string_equal(ci.key_desc, "rsa:2048");

	/* The fingerprint is SHA-256 over the DER, computed independently. */
	BIO *b = BIO_new_mem_buf(F.leaf_rsa_pem, -1);
	X509 *x2 = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	len = i2d_X509(x2, &der);
	assert_true(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL));
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(ci.fingerprint, hex);
	OPENSSL_free(der);
	X509_free(x2);

	char colon[100];
	assert_int_equal(x509_fingerprint_colon(F.leaf_rsa_pem, colon,
	    sizeof(colon), &e), 0);
	assert_int_equal(strlen(colon), 95);
	for (unsigned i = 0; i < 32; i++) {
		char want[3];
		snprintf(want, sizeof(want), "%02X", md[i]);
		assert_memory_equal(colon + 3 * i, want, 2);
		if (i < 31)
			assert_int_equal(colon[3 * i + 2], ':');
	}
	char small[64];
	assert_int_equal(x509_fingerprint_colon(F.leaf_rsa_pem, small,
	    sizeof(small), &e), LB_ERR);
	cert_info_free(&ci);

	assert_int_equal(x509_cert_info(F.leaf_ec_pem, &ci, &e), 0);
	assert_string_equal(ci.key_desc, "ecdsa:P-384");
	assert_string_equal(ci.serial, "1");
	assert_int_equal(ci.nnames, 1);
	cert_info_free(&ci);

	assert_int_equal(x509_cert_info(F.root_pem, &ci, &e), 0);
	assert_string_equal(ci.key_desc, "ecdsa:P-256");
	assert_string_equal(ci.issuer_dn, "CN=Test Root");
	assert_string_equal(ci.subject_cn, "Test Root");
	assert_int_equal(ci.nnames, 0);
	assert_int_equal(ci.not_after, utc(2040, 1, 1));
	cert_info_free(&ci);
}

static void
cert_info_garbage(void **state)
{
	(void)state;
	struct cert_info ci;
	struct err e = {0};

	assert_int_equal(x509_cert_info("hello", &ci, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "not a PEM certificate"));
	assert_null(ci.issuer_dn);
	assert_int_equal(x509_cert_info(F.csr_rsa_pem, &ci, &e), LB_ERR);
	char fp[100];
	assert_int_equal(x509_fingerprint_colon("junk", fp, sizeof(fp), &e),
	    LB_ERR);
}

static void
csr_key_and_match(void **state)
{
	(void)state;
	struct err e = {0};
	char kd[24];

	assert_int_equal(x509_csr_key_desc(F.csr_rsa_pem, kd, sizeof(kd), &e),
	    0);
	assert_string_equal(kd, "rsa:2048");
	assert_int_equal(x509_csr_key_desc(F.csr_ec_pem, kd, sizeof(kd), &e),
	    0);
	assert_string_equal(kd, "ecdsa:P-384");
	assert_int_equal(x509_csr_key_desc("nope", kd, sizeof(kd), &e),
	    LB_ERR);

	assert_int_equal(x509_csr_matches_cert(F.csr_rsa_pem, F.leaf_rsa_pem,
	    &e), 0);
	assert_int_equal(x509_csr_matches_cert(F.csr_ec_pem, F.leaf_ec_pem,
	    &e), 0);
	assert_int_equal(x509_csr_matches_cert(F.csr_rsa_pem, F.otherkey_pem,
	    &e), LB_ERR);
	assert_string_equal(e.msg, "certificate key does not match the CSR");
	assert_int_equal(x509_csr_matches_cert(F.csr_ec_pem, F.leaf_rsa_pem,
	    &e), LB_ERR);
	assert_int_equal(x509_csr_matches_cert(F.leaf_rsa_pem, F.leaf_rsa_pem,
	    &e), LB_ERR);
}

static void
csr_b64url(void **state)
{
	(void)state;
	struct err e = {0};
	char *out = NULL;

	assert_int_equal(x509_csr_der_b64url(F.csr_rsa_pem, &out, &e), 0);
	assert_null(strpbrk(out, "+/=\n"));

	/* Back to standard base64 with padding, decode, compare with DER. */
	size_t n = strlen(out), padded = (n + 3) / 4 * 4;
	char *std = calloc(padded + 1, 1);
	memcpy(std, out, n);
	for (size_t i = 0; i < n; i++)
		std[i] = std[i] == '-' ? '+' : std[i] == '_' ? '/' : std[i];
	memset(std + n, '=', padded - n);
	unsigned char *dec = malloc(padded);
	int declen = EVP_DecodeBlock(dec, (unsigned char *)std, (int)padded);
	assert_true(declen > 0);
	declen -= (int)(padded - n); /* DecodeBlock counts the padding */

	BIO *b = BIO_new_mem_buf(F.csr_rsa_pem, -1);
	X509_REQ *r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	unsigned char *der = NULL;
	int derlen = i2d_X509_REQ(r, &der);
	assert_int_equal(declen, derlen);
	assert_memory_equal(dec, der, (size_t)derlen);
	OPENSSL_free(der);
	X509_REQ_free(r);
	BIO_free(b);
	free(dec);
	free(std);
	free(out);

	out = (char *)1;
	assert_int_equal(x509_csr_der_b64url("garbage", &out, &e), LB_ERR);
	assert_null(out);
}

static void
issued_ok(void **state)
{
	(void)state;
	struct err e = {0};
	char *chain[] = { F.inter_pem, F.root_pem };
	char *upper[] = { "WWW.EXAMPLE.COM", "*.STATIC.example.com" };

	assert_int_equal(check(F.leaf_rsa_pem, chain, 2, WWW_NAMES, 3, F.now,
	    &e), 0);
	/* Without the root, and names differing in case only. */
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, upper, 2, F.now,
	    &e), 0);
	/* EC leaf with its own CSR. */
	char *api[] = { "api.example.com" };
	assert_int_equal(x509_check_issued(F.leaf_ec_pem, chain, 2,
	    F.csr_ec_pem, api, 1, F.now, &e), 0);
	/* Valid through the last second of notAfter. */
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, WWW_NAMES, 3,
	    utc(2030, 1, 1), &e), 0);
}

/* What x509_check_issued logs for names, with stderr caught in a file. */
static char *
issued_log(char **names, size_t nnames, int *rc)
{
	char *chain[] = { F.inter_pem };
	struct err e = {0};
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	static char buf[4096];
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	*rc = check(F.leaf_rsa_pem, chain, 1, names, nnames, F.now, &e);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

/* Names the CA added beyond the request: a warning naming each, not a
 * refusal; none when it gave what was asked. */
static void
issued_extra_names(void **state)
{
	char *two[] = { "www.example.com", "*.static.example.com" };
	char *out;
	int rc;

	(void)state;
	log_init(LL_INFO, false);
	out = issued_log(two, 2, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "the CA added shop.example.com to the certificate, "
	    "beyond the request"));
	assert_null(strstr(out, "added www."));
	out = issued_log(WWW_NAMES, 3, &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "the CA added"));
}

static void
issued_key_mismatch(void **state)
{
	(void)state;
	struct err e = {0};
	char *chain[] = { F.inter_pem };

	assert_int_equal(check(F.otherkey_pem, chain, 1, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_string_equal(e.msg, "certificate key does not match the CSR");
}

static void
issued_names(void **state)
{
	(void)state;
	struct err e = {0};
	char *chain[] = { F.inter_pem };

	assert_int_equal(check(F.nosan_pem, chain, 1, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_string_equal(e.msg,
	    "certificate does not cover shop.example.com");

	/* A wildcard SAN does not cover a name under it... */
	char *under[] = { "www.example.com", "img.static.example.com" };
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, under, 2, F.now, &e),
	    LB_ERR);
	assert_string_equal(e.msg,
	    "certificate does not cover img.static.example.com");
	/* ...nor another wildcard, and the CN alone counts for nothing. */
	char *other[] = { "*.example.com", "api.example.com" };
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, other, 2, F.now, &e),
	    LB_ERR);
	assert_string_equal(e.msg,
	    "certificate does not cover *.example.com, api.example.com");
	/* An IP SAN is not a DNS name. */
	char *ip[] = { "192.0.2.1" };
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, ip, 1, F.now, &e),
	    LB_ERR);
	assert_string_equal(e.msg, "certificate does not cover 192.0.2.1");
}

static void
issued_validity(void **state)
{
	(void)state;
	struct err e = {0};
	char *chain[] = { F.inter_pem };

	assert_int_equal(check(F.expired_pem, chain, 1, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_string_equal(e.msg, "certificate expired 2026-01-01T00:00:00Z");
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, WWW_NAMES, 3,
	    utc(2024, 6, 1), &e), LB_ERR);
	assert_string_equal(e.msg,
	    "certificate not valid before 2025-01-01T00:00:00Z");
	/* Issued a moment ago by a CA whose clock runs a little ahead. */
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, WWW_NAMES, 3,
	    utc(2025, 1, 1) - 300, &e), 0);
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, WWW_NAMES, 3,
	    utc(2025, 1, 1) - 301, &e), LB_ERR);
	assert_int_equal(check(F.leaf_rsa_pem, chain, 1, WWW_NAMES, 3,
	    utc(2030, 1, 1) + 1, &e), LB_ERR);
	assert_string_equal(e.msg, "certificate expired 2030-01-01T00:00:00Z");
}

/* A certificate a TLS client would refuse is refused before install. */
static void
issued_server_use(void **state)
{
	(void)state;
	struct err e = {0};
	char *chain[] = { F.inter_pem }, *api[] = { "api.example.com" }, *pem;
	struct spec leaf = { .cn = "www.example.com", .key = F.rsa_key,
	    .issuer = F.inter, .issuer_key = F.inter_key, .sans = FULL_SANS };
	struct spec s = leaf;

	s.ca = true;
	pem = make_cert_pem(&s);
	assert_int_equal(check(pem, chain, 1, WWW_NAMES, 3, F.now, &e), LB_ERR);
	assert_string_equal(e.msg, "certificate is a CA certificate (basicConstraints CA:TRUE)");
	free(pem);

	s = leaf;
	s.eku = "clientAuth";
	pem = make_cert_pem(&s);
	assert_int_equal(check(pem, chain, 1, WWW_NAMES, 3, F.now, &e), LB_ERR);
	assert_string_equal(e.msg,
	    "certificate's extended key usage does not include serverAuth");
	free(pem);
	s.eku = "serverAuth,clientAuth";
	pem = make_cert_pem(&s);
	assert_int_equal(check(pem, chain, 1, WWW_NAMES, 3, F.now, &e), 0);
	free(pem);

	/* RSA may encipher (TLS 1.2 key exchange); ECDSA must sign */
	s = leaf;
	s.ku = "critical,keyEncipherment";
	pem = make_cert_pem(&s);
	assert_int_equal(check(pem, chain, 1, WWW_NAMES, 3, F.now, &e), 0);
	free(pem);
	s = (struct spec){ .cn = "api.example.com", .key = F.ec_key, .issuer = F.inter,
	    .issuer_key = F.inter_key, .sans = "DNS:api.example.com",
	    .ku = "critical,keyEncipherment" };
	pem = make_cert_pem(&s);
	assert_int_equal(x509_check_issued(pem, chain, 1, F.csr_ec_pem, api, 1, F.now, &e),
	    LB_ERR);
	assert_string_equal(e.msg, "certificate's key usage allows neither digitalSignature");
	free(pem);
}

/* An intermediate that expired fails every client, whatever the leaf. */
static void
issued_chain_expired(void **state)
{
	(void)state;
	struct err e = {0};
	X509 *old = make_cert(&(struct spec){ .cn = "Old Intermediate", .key = F.inter_key,
	    .issuer = F.root, .issuer_key = F.root_key, .ca = true,
	    .not_after = "20260101000000Z", .serial_hex = "2000" });
	char *old_pem = cert_pem(old), *chain[] = { old_pem, F.root_pem };
	char *pem = make_cert_pem(&(struct spec){ .cn = "www.example.com", .key = F.rsa_key,
	    .issuer = old, .issuer_key = F.inter_key, .sans = FULL_SANS });

	assert_int_equal(check(pem, chain, 2, WWW_NAMES, 3, F.now, &e), LB_ERR);
	assert_string_equal(e.msg,
	    "chain[0] (CN=Old Intermediate) expired 2026-01-01T00:00:00Z");
	/* before it expired, the same chain is fine */
	assert_int_equal(check(pem, chain, 2, WWW_NAMES, 3, utc(2025, 6, 1), &e), 0);
	free(pem);
	free(old_pem);
	X509_free(old);
}

static void
issued_chain_links(void **state)
{
	(void)state;
	struct err e = {0};

	/* The root did not issue the leaf: the intermediate did. */
	char *rootonly[] = { F.root_pem };
	assert_int_equal(check(F.leaf_rsa_pem, rootonly, 1, WWW_NAMES, 3,
	    F.now, &e), LB_ERR);
	assert_string_equal(e.msg, "chain[0] (CN=Test Root) did not issue the"
	    " certificate: the certificate names CN=Test Intermediate,O=Example"
	    " as issuer");

	/* Wrong order. */
	char *swapped[] = { F.root_pem, F.inter_pem };
	assert_int_equal(check(F.leaf_rsa_pem, swapped, 2, WWW_NAMES, 3,
	    F.now, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "chain[0] (CN=Test Root) did not issue"));

	/* A correct first link, a wrong second one. */
	char *bad2[] = { F.inter_pem, F.other_root_pem };
	assert_int_equal(check(F.leaf_rsa_pem, bad2, 2, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_string_equal(e.msg, "chain[1] (CN=Other Root) did not issue"
	    " chain[0] (CN=Test Intermediate): chain[0] names CN=Test Root as"
	    " issuer");

	/* Same issuer name, other key: caught by the signature. */
	char *forged[] = { F.forged_inter_pem };
	assert_int_equal(check(F.leaf_rsa_pem, forged, 1, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_string_equal(e.msg, "chain[0] (CN=Test Intermediate) did not"
	    " issue the certificate: signature does not verify");

	/* Leaf issued straight by the root is fine with the root as chain. */
	assert_int_equal(check(F.direct_pem, rootonly, 1, WWW_NAMES, 3, F.now,
	    &e), 0);

	/* Signed by a certificate that is no CA. */
	char *fake[] = { F.fake_ca_pem, F.inter_pem };
	assert_int_equal(check(F.under_fake_pem, fake, 2, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_string_equal(e.msg, "chain[0] (CN=fake.example.com) did not"
	    " issue the certificate: it is not a CA certificate");

	/* A self-signed certificate needs no chain. */
	char *api[] = { "api.example.com" };
	err_clear(&e);
	assert_int_equal(x509_check_issued(F.selfsigned_pem, NULL, 0,
	    F.csr_ec_pem, api, 1, F.now, &e), 0);

	/* No chain for a certificate that is not self-issued. */
	assert_int_equal(check(F.leaf_rsa_pem, NULL, 0, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_non_null(strstr(e.msg, "not self-issued"));

	/* Garbage in the chain names the position. */
	char *junk[] = { "junk" };
	assert_int_equal(check(F.leaf_rsa_pem, junk, 1, WWW_NAMES, 3, F.now,
	    &e), LB_ERR);
	assert_non_null(strstr(e.msg, "chain[0]: not a PEM certificate"));
}

static char *
concat(const char *const *parts, size_t n)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i]);
	s = calloc(len, 1);
	for (size_t i = 0; i < n; i++)
		strcat(s, parts[i]);
	return s;
}

static void
split_and_order(void **state)
{
	(void)state;
	struct err e = {0};
	char **v;
	size_t n;
	/* Shuffled, with text before, between and after the blocks, a
	 * non-certificate block, and CRLF line ends in one of them. */
	const char *parts[] = { "subject=CN=Test Root\n", F.root_pem,
	    "\n\nsome text\n", F.leaf_rsa_pem,
	    "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",
	    F.inter_pem, "trailer\n" };
	char *bundle = concat(parts, 7);

	assert_int_equal(x509_split_pem(bundle, &v, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], F.root_pem);
	assert_string_equal(v[1], F.leaf_rsa_pem);
	assert_string_equal(v[2], F.inter_pem);
	assert_int_equal(x509_order_chain(v, n, &e), 0);
	assert_string_equal(v[0], F.leaf_rsa_pem);
	assert_string_equal(v[1], F.inter_pem);
	assert_string_equal(v[2], F.root_pem);
	strv_free(v, n);
	free(bundle);

	/* Every permutation of three orders the same way. */
	const int perms[6][3] = { {0,1,2}, {0,2,1}, {1,0,2}, {1,2,0},
	    {2,0,1}, {2,1,0} };
	char *certs[3] = { F.leaf_rsa_pem, F.inter_pem, F.root_pem };
	for (int p = 0; p < 6; p++) {
		char *c[3];
		for (int i = 0; i < 3; i++)
			c[i] = certs[perms[p][i]];
		assert_int_equal(x509_order_chain(c, 3, &e), 0);
		assert_ptr_equal(c[0], F.leaf_rsa_pem);
		assert_ptr_equal(c[1], F.inter_pem);
		assert_ptr_equal(c[2], F.root_pem);
	}

	/* Single certificate and empty input. */
	char *one[] = { F.leaf_rsa_pem };
	assert_int_equal(x509_order_chain(one, 1, &e), 0);
	assert_int_equal(x509_order_chain(NULL, 0, &e), 0);
	assert_int_equal(x509_split_pem("  \n", &v, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(v);

	/* CRLF line ends parse too. */
	char *crlf = calloc(2 * strlen(F.inter_pem) + 1, 1), *q = crlf;
	for (const char *p = F.inter_pem; *p; p++) {
		if (*p == '\n')
			*q++ = '\r';
		*q++ = *p;
	}
	assert_int_equal(x509_split_pem(crlf, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], F.inter_pem);
	strv_free(v, n);
	free(crlf);
}

static void
order_not_one_chain(void **state)
{
	(void)state;
	struct err e = {0};

	/* Two leaves under one intermediate. */
	char *two[] = { F.leaf_ec_pem, F.inter_pem, F.leaf_rsa_pem };
	assert_int_equal(x509_order_chain(two, 3, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "do not form one chain"));
	assert_non_null(strstr(e.msg, "CN=api.example.com"));
	assert_non_null(strstr(e.msg, "CN=www.example.com"));
	/* Untouched on failure. */
	assert_ptr_equal(two[0], F.leaf_ec_pem);

	/* An unrelated root. */
	char *unrel[] = { F.root_pem, F.leaf_rsa_pem, F.other_root_pem,
	    F.inter_pem };
	assert_int_equal(x509_order_chain(unrel, 4, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "CN=Other Root"));

	/* A gap: leaf and root without the intermediate. */
	char *gap[] = { F.root_pem, F.leaf_rsa_pem };
	assert_int_equal(x509_order_chain(gap, 2, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "do not form one chain"));

	/* A non-CA in the middle is no issuer. */
	char *fake[] = { F.inter_pem, F.under_fake_pem, F.fake_ca_pem };
	assert_int_equal(x509_order_chain(fake, 3, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "do not form one chain"));

	/* The same certificate twice. */
	char *dup[] = { F.inter_pem, F.leaf_rsa_pem, F.inter_pem };
	assert_int_equal(x509_order_chain(dup, 3, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "twice"));

	char *junk[] = { F.inter_pem, "junk" };
	assert_int_equal(x509_order_chain(junk, 2, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "chain certificate 2: not a PEM certificate"));
}

static void
split_garbage(void **state)
{
	(void)state;
	struct err e = {0};
	char **v = (char **)1;
	size_t n = 9;
	char *trunc;

	assert_int_equal(x509_split_pem("hello world\n", &v, &n, &e), LB_ERR);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_non_null(strstr(e.msg, "no certificate"));

	assert_int_equal(x509_split_pem("-----BEGIN CERTIFICATE-----\n"
	    "not base64 !!\n-----END CERTIFICATE-----\n", &v, &n, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "malformed"));

	/* Well-formed base64 that is no certificate. */
	assert_int_equal(x509_split_pem("-----BEGIN CERTIFICATE-----\n"
	    "AAAA\n-----END CERTIFICATE-----\n", &v, &n, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "certificate 1 does not parse"));

	/* A good certificate followed by a truncated one. */
	const char *parts[] = { F.leaf_rsa_pem, F.inter_pem };
	char *two = concat(parts, 2);
	trunc = strndup(two, strlen(two) - 40);
	assert_int_equal(x509_split_pem(trunc, &v, &n, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "block 2"));
	assert_null(v);
	free(trunc);
	free(two);

	/* Only a non-certificate block. */
	assert_int_equal(x509_split_pem("-----BEGIN PUBLIC KEY-----\nMAA=\n"
	    "-----END PUBLIC KEY-----\n", &v, &n, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "no certificate"));
}

/* Certificates kept parsed by their PEM answer only for exactly that
 * certificate: the same bytes with one more after them are refused even
 * while the certificate itself, or that padded PEM read as one
 * certificate, is kept, and nothing changes once the kept ones are
 * released. */
static void
parsed_kept(void **state)
{
	struct err e = {0};
	struct cert_info a = {0}, b = {0};
	unsigned char *der = NULL, *der2;
	char **v;
	size_t n;
	BIO *bio = BIO_new(BIO_s_mem()), *in = BIO_new_mem_buf(F.leaf_rsa_pem, -1);
	X509 *x;
	int len;

	(void)state;
	assert_int_equal(x509_split_pem(F.leaf_rsa_pem, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], F.leaf_rsa_pem);
	strv_free(v, n);
	assert_int_equal(x509_cert_info(F.leaf_rsa_pem, &a, &e), 0);

	x = PEM_read_bio_X509(in, NULL, NULL, NULL);
	assert_non_null(x);
	assert_true((len = i2d_X509(x, &der)) > 0);
	assert_non_null(der2 = malloc((size_t)len + 1));
	memcpy(der2, der, (size_t)len);
	der2[len] = 0;
	assert_true(PEM_write_bio(bio, PEM_STRING_X509, "", der2, len + 1));
	char *pad = bio_string(bio);	/* frees bio */
	assert_int_equal(x509_split_pem(pad, &v, &n, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "certificate 1 does not parse"));
	/* reading it as one certificate, which stops at the certificate's
	 * end, keeps it parsed under that PEM: the bundle is still refused */
	struct cert_info c = {0};
	if (x509_cert_info(pad, &c, &e) == 0)
		cert_info_free(&c);
	e = (struct err){0};
	assert_int_equal(x509_split_pem(pad, &v, &n, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "certificate 1 does not parse"));

	x509_parsed_free();
	assert_int_equal(x509_cert_info(F.leaf_rsa_pem, &b, &e), 0);
	assert_string_equal(a.serial, b.serial);
	assert_string_equal(a.subject_cn, b.subject_cn);
	cert_info_free(&a);
	cert_info_free(&b);
	free(pad);
	free(der2);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cert_info_fields),
		cmocka_unit_test(issued_extra_names),
		cmocka_unit_test(cert_info_garbage),
		cmocka_unit_test(csr_key_and_match),
		cmocka_unit_test(csr_b64url),
		cmocka_unit_test(issued_ok),
		cmocka_unit_test(issued_key_mismatch),
		cmocka_unit_test(issued_names),
		cmocka_unit_test(issued_validity),
		cmocka_unit_test(issued_chain_links),
		cmocka_unit_test(issued_server_use),
		cmocka_unit_test(issued_chain_expired),
		cmocka_unit_test(split_and_order),
		cmocka_unit_test(order_not_one_chain),
		cmocka_unit_test(split_garbage),
		cmocka_unit_test(parsed_kept),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
