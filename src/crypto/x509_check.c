/*
 * SPEC section 1 step 5: whether what the CA returned may be installed.
 * Every check is one a TLS client would make, run before the device sees
 * the certificate, so a refusal costs no change on the appliance.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "crypto/x509.h"
#include "crypto/x509_int.h"
#include "util/log.h"
#include "util/mem.h"

/* Requested names missing from the SANs, joined by ", ", into buf. */
static size_t
missing_names(char *const *names, size_t nnames, char **sans, size_t nsans,
    char *buf, size_t len)
{
	size_t missing = 0, off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nnames; i++) {
		bool found = false;

		for (size_t j = 0; j < nsans && !found; j++)
			found = strcasecmp(names[i], sans[j]) == 0;
		if (found)
			continue;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    missing > 0 ? ", " : "", names[i]);
		missing++;
	}
	return missing;
}

/* A CA's clock a little ahead of ours (or time(2)'s coarse clock a tick
 * behind the CA's, on the same host) must not refuse a certificate issued
 * a moment ago; clients meet it after this much has passed anyway. */
#define NOT_BEFORE_SKEW 300

/* what: "certificate", "chain[0] (CN=...)". */
static int
check_validity(X509 *x, const char *what, time_t now, struct err *e)
{
	time_t nb, na;
	char ts[32];

	if (x509_asn1_time(X509_get0_notBefore(x), &nb) != 0 ||
	    x509_asn1_time(X509_get0_notAfter(x), &na) != 0)
		return err_set(e, LB_ERR, "%s validity unreadable", what);
	if (now < nb - NOT_BEFORE_SKEW) {
		x509_fmt_time(nb, ts, sizeof(ts));
		return err_set(e, LB_ERR, "%s not valid before %s", what, ts);
	}
	if (now > na) {
		x509_fmt_time(na, ts, sizeof(ts));
		return err_set(e, LB_ERR, "%s expired %s", what, ts);
	}
	return 0;
}

/* Every intermediate must be valid now: a client that meets an expired
 * one fails the handshake. A self-signed root sent along is the client's
 * trust anchor or nothing, so its dates are the client's business. */
static int
check_chain_validity(X509 **chain, size_t nchain, time_t now, struct err *e)
{
	char lab[256], what[300];

	for (size_t i = 0; i < nchain; i++) {
		int self = X509_self_signed(chain[i], 0);

		ERR_clear_error();
		if (self == 1)
			continue;
		x509_cert_label(chain[i], lab, sizeof(lab));
		snprintf(what, sizeof(what), "chain[%zu] (%s)", i, lab);
		if (check_validity(chain[i], what, now, e) != 0)
			return LB_ERR;
	}
	return 0;
}

/* What a TLS server certificate must be: no CA, for serverAuth when it
 * names its purposes, with a key usage its own key type can serve (RSA
 * signs or, in TLS 1.2 RSA key exchange, enciphers; ECDSA signs). */
static int
check_server_use(X509 *x, struct err *e)
{
	uint32_t flags = X509_get_extension_flags(x);
	EVP_PKEY *pk = X509_get0_pubkey(x);
	bool rsa = pk != NULL && EVP_PKEY_is_a(pk, "RSA");
	uint32_t need = KU_DIGITAL_SIGNATURE | (rsa ? KU_KEY_ENCIPHERMENT : 0);

	ERR_clear_error();
	if ((flags & EXFLAG_CA) != 0)
		return err_set(e, LB_ERR, "certificate is a CA certificate "
		    "(basicConstraints CA:TRUE)");
	if ((flags & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(x) & (XKU_SSL_SERVER | XKU_ANYEKU)) == 0)
		return err_set(e, LB_ERR, "certificate's extended key usage does not "
		    "include serverAuth");
	if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(x) & need) == 0)
		return err_set(e, LB_ERR, "certificate's key usage allows neither %s",
		    rsa ? "digitalSignature nor keyEncipherment" : "digitalSignature");
	return 0;
}

/* Names beyond the request are the CA's choice (some add www. or the
 * bare domain): worth a word, not a refusal. */
static void
warn_extra_names(char **sans, size_t nsans, char *const *names, size_t nnames)
{
	for (size_t i = 0; i < nsans; i++) {
		bool asked = false;

		for (size_t j = 0; j < nnames && !asked; j++)
			asked = strcasecmp(sans[i], names[j]) == 0;
		if (!asked)
			log_warn("the CA added %s to the certificate, beyond the request",
			    sans[i]);
	}
}

static int
check_links(X509 *leaf, X509 **chain, size_t nchain, struct err *e)
{
	char ilab[256], slab[256], why_buf[600];
	const char *why = NULL;
	int r, res;

	if (nchain == 0) {
		/* Not X509_check_issued: a self-signed leaf lacks keyCertSign. */
		r = X509_self_signed(leaf, 1);
		ERR_clear_error();
		if (r != 1)
			return err_set(e, LB_ERR, "no chain came with the"
			    " certificate and it is not self-issued");
		return 0;
	}
	for (size_t i = 0; i < nchain; i++) {
		X509 *sub = i == 0 ? leaf : chain[i - 1];

		if ((res = x509_did_issue(chain[i], sub, &why)) == ISS_OK)
			continue;
		x509_cert_label(chain[i], ilab, sizeof(ilab));
		if (res == ISS_NAME) {
			char *dn = x509_name_rfc2253(X509_get_issuer_name(sub));
			char idx[24];

			snprintf(idx, sizeof(idx), "%zu", i - 1);

			snprintf(why_buf, sizeof(why_buf), "%s%s%s names %s as"
			    " issuer", i == 0 ? "the certificate" : "chain[",
			    i == 0 ? "" : idx, i == 0 ? "" : "]",
			    dn != NULL ? dn : "?");
			free(dn);
			why = why_buf;
		}
		if (i == 0)
			return err_set(e, LB_ERR, "chain[0] (%s) did not issue"
			    " the certificate: %s", ilab, why);
		x509_cert_label(sub, slab, sizeof(slab));
		return err_set(e, LB_ERR, "chain[%zu] (%s) did not issue"
		    " chain[%zu] (%s): %s", i, ilab, i - 1, slab, why);
	}
	return 0;
}

int
x509_check_issued(const char *cert_pem, char *const *chain, size_t nchain,
    const char *csr_pem, char *const *names, size_t nnames, time_t now,
    struct err *e)
{
	X509 *x = NULL, *cx[MAX_CHAIN] = {0};
	X509_REQ *r = NULL;
	char **sans = NULL, miss[768], what[32];
	size_t nsans = 0, nmiss;
	int rc = LB_ERR;

	if (nchain > MAX_CHAIN)
		return err_set(e, LB_ERR, "chain of %zu certificates is longer"
		    " than %d", nchain, MAX_CHAIN);
	if ((x = x509_load_cert(cert_pem, "issued certificate", e)) == NULL)
		goto out;
	for (size_t i = 0; i < nchain; i++) {
		snprintf(what, sizeof(what), "chain[%zu]", i);
		if ((cx[i] = x509_load_cert(chain[i], what, e)) == NULL)
			goto out;
	}
	if ((r = x509_load_csr(csr_pem, e)) == NULL)
		goto out;
	if (x509_keys_equal(r, x, e) != 0)
		goto out;
	if (x509_dns_sans(x, &sans, &nsans, e) != 0)
		goto out;
	nmiss = missing_names(names, nnames, sans, nsans, miss, sizeof(miss));
	if (nmiss > 0) {
		err_set(e, LB_ERR, "certificate does not cover %s", miss);
		goto out;
	}
	if (check_validity(x, "certificate", now, e) != 0 ||
	    check_server_use(x, e) != 0 ||
	    check_chain_validity(cx, nchain, now, e) != 0 ||
	    check_links(x, cx, nchain, e) != 0)
		goto out;
	warn_extra_names(sans, nsans, names, nnames);
	rc = 0;
out:
	strv_free(sans, nsans);
	X509_REQ_free(r);
	X509_free(x);
	for (size_t i = 0; i < nchain && i < MAX_CHAIN; i++)
		X509_free(cx[i]);
	ERR_clear_error();
	return rc;
}
