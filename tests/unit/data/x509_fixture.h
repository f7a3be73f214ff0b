/* The unit tests' certificates, made with OpenSSL: included by
 * test_x509.c only (static, like tls_server.h). */
#ifndef LB_TEST_X509_FIXTURE_H
#define LB_TEST_X509_FIXTURE_H

/*
 * Every certificate is made here with OpenSSL: a root and an intermediate
 * CA, leaves under the intermediate, and the broken cases. Validity is
 * fixed (2025-01-01 .. 2030-01-01) and checks run at a fixed "now".
 */

#define FULL_SANS "DNS:WWW.example.com,DNS:shop.example.com," \
	"DNS:*.static.example.com,IP:192.0.2.1"

struct fx {
	EVP_PKEY *root_key, *inter_key, *rsa_key, *ec_key, *other_key;
	X509 *root, *inter;
	char *root_pem, *inter_pem, *other_root_pem, *forged_inter_pem;
	char *leaf_rsa_pem, *leaf_ec_pem, *expired_pem, *nosan_pem;
	char *otherkey_pem, *direct_pem, *fake_ca_pem, *under_fake_pem;
	char *selfsigned_pem;
	char *csr_rsa_pem, *csr_ec_pem;
	time_t now;
};

static struct fx F;

static time_t
utc(int y, int mo, int d)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d };

	return timegm(&tm);
}

static void
add_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_true(X509_add_ext(subject, ext, -1));
	X509_EXTENSION_free(ext);
}

struct spec {
	const char *cn;
	const char *org;        /* optional O, before CN */
	EVP_PKEY *key;          /* subject public key */
	X509 *issuer;           /* NULL: self-signed */
	EVP_PKEY *issuer_key;
	bool ca;
	bool no_skid;
	bool no_ku;
	const char *sans;       /* NULL: no SAN extension */
	const char *not_before; /* NULL: 20250101000000Z */
	const char *not_after;  /* NULL: 20300101000000Z */
	const char *serial_hex; /* NULL: 01 */
	const char *ku;         /* leaf key usage; NULL: critical,digitalSignature */
	const char *eku;        /* NULL: no extended key usage */
};

static X509 *
make_cert(const struct spec *s)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = NULL;

	assert_non_null(x);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(BN_hex2bn(&bn, s->serial_hex ? s->serial_hex : "01"));
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	if (s->org != NULL)
		assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		    (const unsigned char *)s->org, -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)s->cn, -1, -1, 0));
	assert_true(X509_set_subject_name(x, name));
	assert_true(X509_set_issuer_name(x, s->issuer != NULL ?
	    X509_get_subject_name(s->issuer) : name));
	X509_NAME_free(name);
	assert_true(ASN1_TIME_set_string(X509_getm_notBefore(x),
	    s->not_before ? s->not_before : "20250101000000Z"));
	assert_true(ASN1_TIME_set_string(X509_getm_notAfter(x),
	    s->not_after ? s->not_after : "20300101000000Z"));
	assert_true(X509_set_pubkey(x, s->key));

	X509 *iss = s->issuer != NULL ? s->issuer : x;
	if (s->ca) {
		add_ext(iss, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(iss, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(iss, x, NID_basic_constraints, "critical,CA:FALSE");
		if (!s->no_ku)
			add_ext(iss, x, NID_key_usage,
			    s->ku ? s->ku : "critical,digitalSignature");
	}
	if (s->eku != NULL)
		add_ext(iss, x, NID_ext_key_usage, s->eku);
	if (!s->no_skid)
		add_ext(iss, x, NID_subject_key_identifier, "hash");
	if (s->issuer != NULL && !s->no_skid)
		add_ext(iss, x, NID_authority_key_identifier, "keyid:always");
	if (s->sans != NULL)
		add_ext(iss, x, NID_subject_alt_name, s->sans);
	assert_true(X509_sign(x, s->issuer_key ? s->issuer_key : s->key,
	    EVP_sha256()) > 0);
	return x;
}

static char *
bio_string(BIO *b)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *s = strndup(p, (size_t)n);

	BIO_free(b);
	assert_non_null(s);
	return s;
}

static char *
cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());

	assert_true(PEM_write_bio_X509(b, x));
	return bio_string(b);
}

static char *
make_cert_pem(const struct spec *s)
{
	X509 *x = make_cert(s);
	char *pem = cert_pem(x);

	X509_free(x);
	return pem;
}

static char *
make_csr_pem(EVP_PKEY *key, const char *cn, const char *sans)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	BIO *b = BIO_new(BIO_s_mem());

	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_REQ_set_subject_name(r, name));
	X509_NAME_free(name);
	assert_true(X509_REQ_set_pubkey(r, key));
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
	assert_non_null(ext);
	sk_X509_EXTENSION_push(exts, ext);
	assert_true(X509_REQ_add_extensions(r, exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
	assert_true(PEM_write_bio_X509_REQ(b, r));
	X509_REQ_free(r);
	return bio_string(b);
}

static int
group_setup(void **state)
{
	(void)state;
	F.now = utc(2026, 6, 1);
	F.root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	F.inter_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	F.rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	F.ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	F.other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!F.root_key || !F.inter_key || !F.rsa_key || !F.ec_key ||
	    !F.other_key)
		return -1;

	F.root = make_cert(&(struct spec){ .cn = "Test Root", .key = F.root_key,
	    .ca = true, .not_after = "20400101000000Z" });
	F.root_pem = cert_pem(F.root);
	F.inter = make_cert(&(struct spec){ .cn = "Test Intermediate",
	    .org = "Example", .key = F.inter_key, .issuer = F.root,
	    .issuer_key = F.root_key, .ca = true, .serial_hex = "1000" });
	F.inter_pem = cert_pem(F.inter);
	F.other_root_pem = make_cert_pem(&(struct spec){ .cn = "Other Root",
	    .key = F.other_key, .ca = true });
	/* Same name as the intermediate, no key ids, another key: only the
	 * signature check can tell it apart. */
	F.forged_inter_pem = make_cert_pem(&(struct spec){
	    .cn = "Test Intermediate", .org = "Example", .key = F.other_key,
	    .issuer = F.root, .issuer_key = F.other_key, .ca = true,
	    .no_skid = true });

	struct spec leaf = { .cn = "www.example.com", .key = F.rsa_key,
	    .issuer = F.inter, .issuer_key = F.inter_key, .sans = FULL_SANS,
	    .serial_hex = "000ABCDEF0123" };
	F.leaf_rsa_pem = make_cert_pem(&leaf);

	struct spec s = leaf;
	s.not_after = "20260101000000Z";
	F.expired_pem = make_cert_pem(&s);
	s = leaf;
	s.sans = "DNS:www.example.com,DNS:*.static.example.com";
	F.nosan_pem = make_cert_pem(&s);
	s = leaf;
	s.key = F.other_key;
	F.otherkey_pem = make_cert_pem(&s);
	s = leaf;
	s.issuer = F.root;
	s.issuer_key = F.root_key;
	F.direct_pem = make_cert_pem(&s);

	/* A leaf (CA:FALSE, no key usage) that signed another leaf. */
	X509 *fake = make_cert(&(struct spec){ .cn = "fake.example.com",
	    .key = F.other_key, .issuer = F.inter, .issuer_key = F.inter_key,
	    .sans = "DNS:fake.example.com", .no_ku = true });
	F.fake_ca_pem = cert_pem(fake);
	s = leaf;
	s.issuer = fake;
	s.issuer_key = F.other_key;
	F.under_fake_pem = make_cert_pem(&s);
	X509_free(fake);
	F.selfsigned_pem = make_cert_pem(&(struct spec){
	    .cn = "api.example.com", .key = F.ec_key,
	    .sans = "DNS:api.example.com" });

	F.leaf_ec_pem = make_cert_pem(&(struct spec){ .cn = "api.example.com",
	    .key = F.ec_key, .issuer = F.inter, .issuer_key = F.inter_key,
	    .sans = "DNS:api.example.com" });

	F.csr_rsa_pem = make_csr_pem(F.rsa_key, "www.example.com",
	    "DNS:www.example.com,DNS:shop.example.com,"
	    "DNS:*.static.example.com");
	F.csr_ec_pem = make_csr_pem(F.ec_key, "api.example.com",
	    "DNS:api.example.com");
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(F.root_key);
	EVP_PKEY_free(F.inter_key);
	EVP_PKEY_free(F.rsa_key);
	EVP_PKEY_free(F.ec_key);
	EVP_PKEY_free(F.other_key);
	X509_free(F.root);
	X509_free(F.inter);
	free(F.root_pem);
	free(F.inter_pem);
	free(F.other_root_pem);
	free(F.forged_inter_pem);
	free(F.leaf_rsa_pem);
	free(F.leaf_ec_pem);
	free(F.expired_pem);
	free(F.nosan_pem);
	free(F.otherkey_pem);
	free(F.direct_pem);
	free(F.fake_ca_pem);
	free(F.under_fake_pem);
	free(F.selfsigned_pem);
	free(F.csr_rsa_pem);
	free(F.csr_ec_pem);
	return 0;
}

static char *WWW_NAMES[] = { "www.example.com", "shop.example.com",
	"*.static.example.com" };

/* x509_check_issued on the RSA leaf's request with the given pieces. */
static int
check(const char *cert, char **chain, size_t nchain, char **names,
    size_t nnames, time_t now, struct err *e)
{
	err_clear(e);
	return x509_check_issued(cert, chain, nchain, F.csr_rsa_pem, names,
	    nnames, now, e);
}

#endif
