/* X.509 and CSR checks with OpenSSL. All PEM in, plain data out. */
#ifndef LB_X509_H
#define LB_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/err.h"

struct cert_info {
	char serial[130];  /* lower-case hex, no colons, no leading zeros */
	time_t not_before;
	time_t not_after;
	char *subject_cn;  /* may be NULL */
	char *issuer_cn;   /* may be NULL */
	char *issuer_dn;   /* one-line RFC 2253 */
	char **names;      /* DNS SANs (lower-case) */
	size_t nnames;
	char key_desc[24]; /* "rsa:2048", "ecdsa:P-256", "ecdsa:P-384" */
	char fingerprint[65]; /* SHA-256 of the DER, lower-case hex */
};

/* Parses one PEM certificate. Release with cert_info_free(). */
int x509_cert_info(const char *pem, struct cert_info *out, struct err *e);
void cert_info_free(struct cert_info *ci);

/* Splits a PEM bundle into its certificates (each a malloc'd PEM string),
 * anything between blocks ignored. Caller frees with strv_free(). */
int x509_split_pem(const char *bundle, char ***out, size_t *n, struct err *e);
/* Orders certs leaf first, each followed by its issuer; the leaf is the
 * certificate that issued none of the others. Fails when they do not form
 * one chain. In place. */
int x509_order_chain(char **certs, size_t n, struct err *e);

/* Key type of a CSR ("rsa:2048"...), and whether its public key equals
 * the certificate's. */
int x509_csr_key_desc(const char *csr_pem, char *buf, size_t len, struct err *e);
int x509_csr_matches_cert(const char *csr_pem, const char *cert_pem, struct err *e);
/* CSR PEM → DER base64url (ACME finalize). Caller frees. */
int x509_csr_der_b64url(const char *csr_pem, char **out, struct err *e);

/* SPEC §1 step 5: the certificate's public key equals the CSR's, it
 * covers every name (wildcards matched literally: "*.a.b" needs "*.a.b"),
 * it is valid at now, it is no CA, its extended key usage (when present)
 * includes serverAuth and its key usage fits its key type, every
 * intermediate is valid at now, and chain[0] issued it (each chain[i]
 * issued chain[i-1], signatures verified). chain may be empty only when
 * the certificate is self-issued. Names the CA added beyond the request
 * are logged as a warning. (x509_check.c) */
int x509_check_issued(const char *cert_pem, char *const *chain, size_t nchain,
    const char *csr_pem, char *const *names, size_t nnames, time_t now,
    struct err *e);

/* Releases the certificates kept parsed (x509_parsed.c); at exit. */
void x509_parsed_free(void);

/* SHA-256 of the DER of cert_pem as "AB:CD:..." upper case. */
int x509_fingerprint_colon(const char *pem, char *buf, size_t len, struct err *e);

#endif
