/* Pieces of x509.c that x509_check.c shares; nothing outside src/crypto
 * includes this. Loaders return NULL with e set; the caller frees what
 * they return (X509_free, X509_REQ_free). */
#ifndef LB_X509_INT_H
#define LB_X509_INT_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "util/err.h"

#define MAX_CHAIN	16

enum { ISS_OK, ISS_NAME, ISS_OTHER };

X509 *x509_load_cert(const char *pem, const char *what, struct err *e);
/* x509_parsed.c: the certificate parsed from exactly pem, if still kept
 * (a reference of the caller's, NULL when not); keeping one (x keeps its
 * caller's reference too). */
X509 *x509_parsed_get(const char *pem);
void x509_parsed_put(const char *pem, X509 *x);
X509_REQ *x509_load_csr(const char *pem, struct err *e);
/* One-line RFC 2253 form (malloc'd), NULL when out of memory. */
char *x509_name_rfc2253(const X509_NAME *name);
/* "CN (serial)" for messages. */
void x509_cert_label(X509 *x, char *buf, size_t len);
int x509_asn1_time(const ASN1_TIME *t, time_t *out);
void x509_fmt_time(time_t t, char *buf, size_t len);
/* DNS SANs, lower case; caller frees with strv_free(). */
int x509_dns_sans(X509 *x, char ***out, size_t *n, struct err *e);
/* ISS_OK when issuer issued subject (names, key ids, CA, signature);
 * else *why (may be NULL) says why. */
int x509_did_issue(X509 *issuer, X509 *subject, const char **why);
/* 0 when the CSR's public key is the certificate's. */
int x509_keys_equal(X509_REQ *r, X509 *x, struct err *e);

#endif
