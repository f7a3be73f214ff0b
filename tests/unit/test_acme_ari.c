/* ACME renewal information: certID building, the renewalInfo body, the
 * Retry-After bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "ca/acme_internal.h"

#define B(s) (s), strlen(s)

/* A self-signed certificate with the given serial (big-endian bytes) and,
 * when akid_len > 0, an authority key identifier. PEM, caller frees. */
static char *
make_cert(const unsigned char *serial, size_t serial_len, const unsigned char *akid,
    size_t akid_len)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIGNUM *bn = BN_bin2bn(serial, (int)serial_len, NULL);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(k);
	assert_non_null(x);
	assert_non_null(bn);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	if (akid_len > 0) {
		AUTHORITY_KEYID *a = AUTHORITY_KEYID_new();

		a->keyid = ASN1_OCTET_STRING_new();
		assert_int_equal(ASN1_OCTET_STRING_set(a->keyid, akid, (int)akid_len), 1);
		assert_int_equal(X509_add1_ext_i2d(x, NID_authority_key_identifier, a, 0, 0), 1);
		AUTHORITY_KEYID_free(a);
	}
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &data);
	out = calloc(1, (size_t)n + 1);
	memcpy(out, data, (size_t)n);
	BIO_free(bio);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

static void
cert_id_rfc_example(void **st)
{
	/* RFC 9773 §4.1: keyIdentifier 69:88:5B:...:D4, serial 00:87:65:43:21 */
	static const unsigned char akid[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
		0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
	static const unsigned char serial[] = { 0x87, 0x65, 0x43, 0x21 };
	char *pem = make_cert(serial, sizeof(serial), akid, sizeof(akid));
	char *id = acme_ari_cert_id(pem);

	(void)st;
	/* the DER INTEGER keeps its leading 0x00: "AIdlQyE", not "h2VDIQ" */
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
	free(pem);
}

static void
cert_id_small_serial_and_no_akid(void **st)
{
	static const unsigned char akid[] = { 0xfb, 0xff };
	static const unsigned char serial[] = { 0x01, 0x7f };
	char *pem = make_cert(serial, sizeof(serial), akid, sizeof(akid));
	char *id = acme_ari_cert_id(pem);

	(void)st;
	assert_string_equal(id, "-_8.AX8"); /* base64url, unpadded */
	free(id);
	free(pem);
	pem = make_cert(serial, sizeof(serial), NULL, 0);
	assert_null(acme_ari_cert_id(pem));
	free(pem);
	assert_null(acme_ari_cert_id("not a certificate"));
	assert_null(acme_ari_cert_id(NULL));
}

static void
rfc3339(void **st)
{
	(void)st;
	assert_int_equal(acme_rfc3339("2025-01-02T03:04:05Z"), 1735787045);
	assert_int_equal(acme_rfc3339("2025-01-02T03:04:05.123456789Z"), 1735787045);
	assert_int_equal(acme_rfc3339("2025-01-02T04:04:05+01:00"), 1735787045);
	assert_int_equal(acme_rfc3339("2025-01-02T02:34:05-00:30"), 1735787045);
	assert_int_equal(acme_rfc3339("2025-01-02t03:04:05z"), 1735787045);
	assert_int_equal(acme_rfc3339("2025-01-02T03:04:05"), -1);
	assert_int_equal(acme_rfc3339("2025-13-02T03:04:05Z"), -1);
	assert_int_equal(acme_rfc3339("2025-01-02T03:04:05Zjunk"), -1);
	assert_int_equal(acme_rfc3339("yesterday"), -1);
	assert_int_equal(acme_rfc3339(NULL), -1);
}

static void
window_parse(void **st)
{
	time_t s, e;
	char *x;

	(void)st;
	assert_int_equal(acme_ari_parse(B("{\"suggestedWindow\":{\"start\":"
	    "\"2025-01-02T03:04:05Z\",\"end\":\"2025-01-03T03:04:05Z\"},"
	    "\"explanationURL\":\"https://ca/why\"}"), &s, &e, &x), 0);
	assert_int_equal(s, 1735787045);
	assert_int_equal(e, 1735787045 + 86400);
	assert_string_equal(x, "https://ca/why");
	free(x);
	assert_int_equal(acme_ari_parse(B("{\"suggestedWindow\":{\"start\":"
	    "\"2025-01-02T03:04:05Z\",\"end\":\"2025-01-03T03:04:05Z\"}}"), &s, &e, &x), 0);
	assert_null(x);
	/* §4.2: an end not after the start is no answer */
	assert_int_equal(acme_ari_parse(B("{\"suggestedWindow\":{\"start\":"
	    "\"2025-01-02T03:04:05Z\",\"end\":\"2025-01-02T03:04:05Z\"}}"), &s, &e, &x), -1);
	assert_int_equal(acme_ari_parse(B("{\"suggestedWindow\":{\"start\":"
	    "\"2025-01-03T03:04:05Z\",\"end\":\"2025-01-02T03:04:05Z\"}}"), &s, &e, &x), -1);
	assert_int_equal(acme_ari_parse(B("{\"suggestedWindow\":{\"start\":"
	    "\"2025-01-02T03:04:05Z\"}}"), &s, &e, &x), -1);
	assert_int_equal(acme_ari_parse(B("{}"), &s, &e, &x), -1);
	assert_int_equal(acme_ari_parse(B("<html>"), &s, &e, &x), -1);
}

static void
retry_bounds(void **st)
{
	(void)st;
	assert_int_equal(acme_ari_retry_s("21600", 0), 21600);
	assert_int_equal(acme_ari_retry_s("5", 0), 60);         /* at least a minute */
	assert_int_equal(acme_ari_retry_s("604800", 0), 86400); /* at most a day */
	assert_int_equal(acme_ari_retry_s(NULL, 0), 21600);     /* absent: six hours */
	assert_int_equal(acme_ari_retry_s("soon", 0), 21600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cert_id_rfc_example),
		cmocka_unit_test(cert_id_small_serial_and_no_akid),
		cmocka_unit_test(rfc3339),
		cmocka_unit_test(window_parse),
		cmocka_unit_test(retry_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
