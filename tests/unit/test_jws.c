#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/jws.h"

static void
b64url_vectors(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" }, { "\xfb\xef\xbe", "----" }, { "\xff\xff\xff", "____" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *s = jws_b64url_encode((const unsigned char *)v[i].in, strlen(v[i].in));
		unsigned char *d;
		size_t dlen;
		struct err e = { 0 };

		assert_non_null(s);
		assert_string_equal(s, v[i].out);
		assert_int_equal(jws_b64url_decode(s, &d, &dlen, &e), 0);
		assert_int_equal(dlen, strlen(v[i].in));
		assert_memory_equal(d, v[i].in, dlen);
		free(d);
		free(s);
	}
}

static void
b64url_round_trips_every_length(void **state)
{
	unsigned char buf[70];
	(void)state;
	for (size_t len = 0; len <= sizeof(buf); len++) {
		unsigned char *d;
		size_t dlen;
		struct err e = { 0 };
		char *s;

		assert_int_equal(RAND_bytes(buf, sizeof(buf)), 1);
		s = jws_b64url_encode(buf, len);
		assert_non_null(s);
		assert_int_equal(strlen(s), (len * 4 + 2) / 3);
		assert_null(strpbrk(s, "+/="));
		assert_int_equal(jws_b64url_decode(s, &d, &dlen, &e), 0);
		assert_int_equal(dlen, len);
		assert_memory_equal(d, buf, len);
		free(d);
		free(s);
	}
}

static void
b64url_decode_tolerates_and_refuses(void **state)
{
	unsigned char *d;
	size_t dlen;
	struct err e = { 0 };
	(void)state;

	assert_int_equal(jws_b64url_decode("Zg==", &d, &dlen, &e), 0);
	assert_int_equal(dlen, 1);
	assert_int_equal(d[0], 'f');
	free(d);
	assert_int_equal(jws_b64url_decode("+/8=", &d, &dlen, &e), 0);
	assert_int_equal(dlen, 2);
	assert_int_equal(d[0], 0xfb);
	assert_int_equal(d[1], 0xff);
	free(d);
	assert_int_equal(jws_b64url_decode("Zm9vY", &d, &dlen, &e), LB_ERR);
	assert_null(d);
	assert_int_equal(jws_b64url_decode("Zm9v!", &d, &dlen, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "invalid character"));
	assert_int_equal(jws_b64url_decode("Zm 9v", &d, &dlen, &e), LB_ERR);
	assert_int_equal(jws_b64url_decode("Zm9v=A", &d, &dlen, &e), LB_ERR);
}

/* Decodes a b64url member of obj into a malloc'd buffer. */
static unsigned char *
member_bytes(json_t *obj, const char *name, size_t *len)
{
	unsigned char *d;
	struct err e = { 0 };
	const char *s = json_string_value(json_object_get(obj, name));

	assert_non_null(s);
	assert_int_equal(jws_b64url_decode(s, &d, len, &e), 0);
	return d;
}

static json_t *
member_json(json_t *obj, const char *name)
{
	size_t len;
	unsigned char *d = member_bytes(obj, name, &len);
	json_t *j = json_loadb((const char *)d, len, 0, NULL);

	assert_non_null(j);
	free(d);
	return j;
}

static void
verify(EVP_PKEY *k, const EVP_MD *md, json_t *jws, const unsigned char *sig, size_t siglen)
{
	const char *p = json_string_value(json_object_get(jws, "protected"));
	const char *pl = json_string_value(json_object_get(jws, "payload"));
	char input[8192];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	snprintf(input, sizeof(input), "%s.%s", p, pl);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, k), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, siglen, (unsigned char *)input,
	    strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
}

/* Raw R || S → DER, as a verifier has to. */
static unsigned char *
raw_to_der(const unsigned char *raw, size_t width, size_t *derlen)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)width, NULL), *s = BN_bin2bn(raw + width, (int)width, NULL);
	unsigned char *der = NULL;
	int n;

	assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
	n = i2d_ECDSA_SIG(sig, &der);
	assert_true(n > 0);
	*derlen = (size_t)n;
	ECDSA_SIG_free(sig);
	return der;
}

static void
es256_signs_with_kid(void **state)
{
	EVP_PKEY *k;
	struct err e = { 0 };
	char *text;
	json_t *jws, *hdr, *payload;
	unsigned char *sig, *der;
	size_t siglen, derlen;
	(void)state;

	assert_int_equal(jws_key_generate(JWS_KEY_EC_P256, &k, &e), 0);
	assert_string_equal(jws_alg(k), "ES256");
	/* Many signatures so that short R or S values (leading zero bytes)
	 * show up and must still be padded to 32 bytes. */
	for (int i = 0; i < 64; i++) {
		assert_int_equal(jws_sign(k, "https://ca/acct/1", "nonce-1",
		    "https://ca/order", "{\"a\":1}", &text, &e), 0);
		jws = json_loads(text, 0, NULL);
		assert_non_null(jws);
		assert_int_equal(json_object_size(jws), 3);
		hdr = member_json(jws, "protected");
		assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
		assert_string_equal(json_string_value(json_object_get(hdr, "nonce")), "nonce-1");
		assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca/order");
		assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "https://ca/acct/1");
		assert_null(json_object_get(hdr, "jwk"));
		payload = member_json(jws, "payload");
		assert_int_equal(json_integer_value(json_object_get(payload, "a")), 1);
		sig = member_bytes(jws, "signature", &siglen);
		assert_int_equal(siglen, 64);
		der = raw_to_der(sig, 32, &derlen);
		verify(k, EVP_sha256(), jws, der, derlen);
		OPENSSL_free(der);
		free(sig);
		json_decref(payload);
		json_decref(hdr);
		json_decref(jws);
		free(text);
	}
	EVP_PKEY_free(k);
}

static void
jwk_header_and_post_as_get(void **state)
{
	EVP_PKEY *k;
	struct err e = { 0 };
	json_t *jws, *hdr, *jwk;
	(void)state;

	assert_int_equal(jws_key_generate(JWS_KEY_EC_P256, &k, &e), 0);
	assert_int_equal(jws_sign_obj(k, NULL, "n2", "https://ca/new-acct", NULL, &jws, &e), 0);
	assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
	hdr = member_json(jws, "protected");
	assert_null(json_object_get(hdr, "kid"));
	jwk = jws_jwk(k);
	assert_true(json_equal(json_object_get(hdr, "jwk"), jwk));
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))), 43);
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "y"))), 43);
	json_decref(jwk);
	json_decref(hdr);
	json_decref(jws);
	/* No nonce (inner JWS of a key change): the member is absent. */
	assert_int_equal(jws_sign_obj(k, "kid", NULL, "u", "", &jws, &e), 0);
	hdr = member_json(jws, "protected");
	assert_null(json_object_get(hdr, "nonce"));
	json_decref(hdr);
	json_decref(jws);
	EVP_PKEY_free(k);
}

static void
rs256_signs(void **state)
{
	EVP_PKEY *k;
	struct err e = { 0 };
	json_t *jws, *hdr, *jwk;
	unsigned char *sig;
	size_t siglen;
	(void)state;

	assert_int_equal(jws_key_generate(JWS_KEY_RSA_2048, &k, &e), 0);
	assert_string_equal(jws_alg(k), "RS256");
	assert_int_equal(jws_sign_obj(k, "kid", "n", "https://ca/x", "{}", &jws, &e), 0);
	hdr = member_json(jws, "protected");
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "RS256");
	sig = member_bytes(jws, "signature", &siglen);
	assert_int_equal(siglen, 256);
	verify(k, EVP_sha256(), jws, sig, siglen);
	jwk = jws_jwk(k);
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	json_decref(jwk);
	free(sig);
	json_decref(hdr);
	json_decref(jws);
	EVP_PKEY_free(k);
}

static void
eab_object(void **state)
{
	/* Pebble's example EAB key for kid-1. */
	const char *hmac_b64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
	EVP_PKEY *k;
	struct err e = { 0 };
	json_t *eab, *hdr, *payload, *jwk;
	unsigned char *key, *sig, mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	size_t keylen, siglen;
	char input[4096];
	(void)state;

	assert_int_equal(jws_key_generate(JWS_KEY_EC_P256, &k, &e), 0);
	assert_int_equal(jws_eab(k, "kid-1", hmac_b64, "https://ca/sign-me-up", &eab, &e), 0);
	assert_int_equal(json_object_size(eab), 3);
	hdr = member_json(eab, "protected");
	assert_int_equal(json_object_size(hdr), 3);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "HS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "kid-1");
	assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca/sign-me-up");
	assert_null(json_object_get(hdr, "nonce"));
	payload = member_json(eab, "payload");
	jwk = jws_jwk(k);
	assert_true(json_equal(payload, jwk));

	assert_int_equal(jws_b64url_decode(hmac_b64, &key, &keylen, &e), 0);
	assert_int_equal(keylen, 48);
	snprintf(input, sizeof(input), "%s.%s",
	    json_string_value(json_object_get(eab, "protected")),
	    json_string_value(json_object_get(eab, "payload")));
	assert_non_null(HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)input,
	    strlen(input), mac, &maclen));
	sig = member_bytes(eab, "signature", &siglen);
	assert_int_equal(siglen, 32);
	assert_memory_equal(sig, mac, 32);

	free(sig);
	free(key);
	json_decref(jwk);
	json_decref(payload);
	json_decref(hdr);
	json_decref(eab);

	assert_int_equal(jws_eab(k, "kid-1", "not base64!", "u", &eab, &e), LB_ERR);
	assert_null(eab);
	assert_non_null(strstr(e.msg, "kid-1"));
	assert_null(strstr(e.msg, "not base64"));
	EVP_PKEY_free(k);
}

static EVP_PKEY *
rsa_from_jwk(const char *n64, const char *e64)
{
	unsigned char *n, *ev;
	size_t nlen, elen;
	struct err e = { 0 };
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	BIGNUM *bn, *be;

	assert_int_equal(jws_b64url_decode(n64, &n, &nlen, &e), 0);
	assert_int_equal(jws_b64url_decode(e64, &ev, &elen, &e), 0);
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(ev, (int)elen, NULL);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(ev);
	return k;
}

static void
thumbprint_rfc7638_example(void **state)
{
	/* RFC 7638 §3.1. */
	const char *n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
	EVP_PKEY *k = rsa_from_jwk(n, "AQAB");
	struct err e = { 0 };
	json_t *jwk = jws_jwk(k);
	char *tp, *text;
	(void)state;

	text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(strncmp(text, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7", 33), 0);
	assert_string_equal(json_string_value(json_object_get(jwk, "n")), n);
	assert_int_equal(jws_thumbprint(k, &tp, &e), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	free(tp);
	free(text);
	json_decref(jwk);
	EVP_PKEY_free(k);
}

static void
key_save_load(void **state)
{
	char dir[] = "/tmp/test_jws.XXXXXX", path[256], path2[256];
	EVP_PKEY *k, *k2, *k3;
	struct err e = { 0 };
	struct stat st;
	json_t *a, *b;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/acme-test.key", dir);
	snprintf(path2, sizeof(path2), "%s/rsa.key", dir);
	assert_int_equal(jws_key_load(path, &k, &e), LB_ENOTFOUND);
	assert_int_equal(jws_key_load_or_create(path, JWS_KEY_EC_P256, &k, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Created once: a second call loads the same key. */
	assert_int_equal(jws_key_load_or_create(path, JWS_KEY_EC_P256, &k2, &e), 0);
	a = jws_jwk(k);
	b = jws_jwk(k2);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	assert_int_equal(jws_key_save(k2, path, &e), LB_EEXIST);

	assert_int_equal(jws_key_load_or_create(path2, JWS_KEY_RSA_2048, &k3, &e), 0);
	assert_string_equal(jws_alg(k3), "RS256");

	FILE *fp = fopen(path2, "w");
	fputs("garbage\n", fp);
	fclose(fp);
	EVP_PKEY_free(k3);
	assert_int_equal(jws_key_load(path2, &k3, &e), LB_ERR);
	assert_non_null(strstr(e.msg, path2));

	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	unlink(path);
	unlink(path2);
	rmdir(dir);
}

/* run --jobs: workers of one ACME CA may create its account key at the
 * same moment. Every one must end up with the one key on disk. */
#define RACERS 8
#define ROUNDS 20

struct racer {
	const char *path;
	pthread_barrier_t *start;
	EVP_PKEY *key;
	int rc;
	char msg[1024];
};

static void *
race_create(void *arg)
{
	struct racer *r = arg;
	struct err e = { 0 };

	pthread_barrier_wait(r->start);
	r->rc = jws_key_load_or_create(r->path, JWS_KEY_EC_P256, &r->key, &e);
	memcpy(r->msg, e.msg, sizeof(r->msg));
	return NULL;
}

static void
key_create_concurrent(void **state)
{
	char dir[] = "/tmp/lbcert-jws-race-XXXXXX", path[512];
	struct racer r[RACERS];
	pthread_t t[RACERS];
	pthread_barrier_t start;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int round = 0; round < ROUNDS; round++) {
		snprintf(path, sizeof(path), "%s/acme-%d.key", dir, round);
		pthread_barrier_init(&start, NULL, RACERS);
		for (int i = 0; i < RACERS; i++) {
			r[i] = (struct racer){ .path = path, .start = &start };
			assert_int_equal(pthread_create(&t[i], NULL, race_create, &r[i]), 0);
		}
		for (int i = 0; i < RACERS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < RACERS; i++) {
			if (r[i].rc != 0)
				fail_msg("round %d racer %d: %s", round, i, r[i].msg);
			assert_int_equal(EVP_PKEY_eq(r[i].key, r[0].key), 1);
		}
		for (int i = 0; i < RACERS; i++)
			EVP_PKEY_free(r[i].key);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		unlink(path);
	}
	/* no temporary file is left behind */
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url_vectors),
		cmocka_unit_test(b64url_round_trips_every_length),
		cmocka_unit_test(b64url_decode_tolerates_and_refuses),
		cmocka_unit_test(es256_signs_with_kid),
		cmocka_unit_test(jwk_header_and_post_as_get),
		cmocka_unit_test(rs256_signs),
		cmocka_unit_test(eab_object),
		cmocka_unit_test(thumbprint_rfc7638_example),
		cmocka_unit_test(key_save_load),
		cmocka_unit_test(key_create_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
