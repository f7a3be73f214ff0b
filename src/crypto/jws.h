/* JSON Web Signature for ACME (RFC 7515, 7518, 7638, RFC 8555 §6.2):
 * base64url, the account key (PEM on disk), its JWK and thumbprint, the
 * flattened JWS of every ACME POST, and the HS256 External Account
 * Binding object. OpenSSL 3 EVP and jansson underneath. */
#ifndef LB_JWS_H
#define LB_JWS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>

#include "util/err.h"

/* base64url without padding. Caller frees; NULL on allocation failure. */
char *jws_b64url_encode(const unsigned char *data, size_t len);
/* Decodes base64url; padding and the standard alphabet (+/) are
 * tolerated because CAs hand out EAB keys in either form. *out is
 * malloc'd (NUL-terminated for convenience, *outlen excludes it); the
 * caller frees it, with OPENSSL_clear_free when it holds a secret. */
int jws_b64url_decode(const char *s, unsigned char **out, size_t *outlen,
    struct err *e);

enum jws_key_type { JWS_KEY_EC_P256, JWS_KEY_RSA_2048 };

/* A new account key. Caller frees with EVP_PKEY_free. */
int jws_key_generate(enum jws_key_type t, EVP_PKEY **out, struct err *e);
/* Reads an unencrypted PEM private key (EC P-256/P-384 or RSA). */
int jws_key_load(const char *path, EVP_PKEY **out, struct err *e);
/* Writes the key as PKCS#8 PEM to a new file of mode 0600; LB_EEXIST
 * when path already exists (the key is never overwritten). */
int jws_key_save(EVP_PKEY *k, const char *path, struct err *e);
/* Loads path, or generates a key of type t and saves it there first. */
int jws_key_load_or_create(const char *path, enum jws_key_type t, EVP_PKEY **out,
    struct err *e);

/* "ES256", "ES384" or "RS256"; NULL for an unsupported key. */
const char *jws_alg(EVP_PKEY *k);
/* Public JWK with the RFC 7638 required members only (EC: crv kty x y,
 * RSA: e kty n). New reference: caller json_decref's. NULL on failure. */
json_t *jws_jwk(EVP_PKEY *k);
/* base64url(SHA-256(canonical JWK)), RFC 7638. Caller frees. */
int jws_thumbprint(EVP_PKEY *k, char **out, struct err *e);

/* Flattened JWS JSON {protected, payload, signature} signed with k.
 * Protected header: alg, nonce (omitted when NULL), url, and kid when
 * kid != NULL else jwk. payload NULL means the empty string (ACME
 * POST-as-GET). *out is malloc'd JSON text; the caller frees it. */
int jws_sign(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
    const char *payload, char **out, struct err *e);
/* Same, returning the object (new reference) instead of text. */
int jws_sign_obj(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
    const char *payload, json_t **out, struct err *e);

/* RFC 8555 §7.3.4 externalAccountBinding: a JWS with protected {alg
 * HS256, kid eab_kid, url} and payload the public JWK of acct, MAC'd with
 * the base64url-decoded hmac_key. *out is a new reference. */
int jws_eab(EVP_PKEY *acct, const char *eab_kid, const char *hmac_key,
    const char *url, json_t **out, struct err *e);

#endif
