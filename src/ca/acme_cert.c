/* ACME finalize (the CSR) and certificate download (preferred chain). */
#include "ca/acme_client.h"
#include "ca/acme_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/jws.h"
#include "crypto/x509.h"
#include "util/log.h"
#include "util/mem.h"

#define CERT_TRIES 5       /* 404 right after an order turned valid */
#define CERT_READ_TRIES 3  /* downloads that hold no certificate */
#define LINKS_MAX 8

int
acme_finalize(struct ca *c, const struct ca_request *req, json_t *order, struct err *e)
{
	const char *url = acme_jstr(order, "finalize");
	struct http_resp r = { 0 };
	char *csr = NULL, *payload = NULL;
	json_t *p = NULL;
	int rc;

	if (url == NULL)
		return err_set(e, LB_ERR, "acme %s: order without finalize URL", c->cfg->name);
	if ((rc = x509_csr_der_b64url(req->csr_pem, &csr, e)) != 0)
		return err_prefix(e, "acme %s: profile %s: CSR", c->cfg->name, req->profile);
	if ((p = json_pack("{s:s}", "csr", csr)) == NULL ||
	    (payload = json_dumps(p, JSON_COMPACT)) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
		goto out;
	}
	/* No answer, or a server error: the CA may have taken the CSR. The
	 * order's state tells, so that is not a refusal. */
	if ((rc = acme_post(c, url, payload, false, NULL, &r, e)) != 0) {
		if (rc != LB_ECONFIG && rc != LB_EPENDING)
			e->code = rc = LB_EUNKNOWN;
		goto out;
	}
	if (r.status >= 500) {
		acme_problem(c, "finalize", &r, e);
		e->code = rc = LB_EUNKNOWN;
	} else if (r.status != 200)
		rc = acme_problem(c, "finalize", &r, e);
	else
		log_info("acme %s: profile %s: order finalized", c->cfg->name, req->profile);
out:
	free(payload);
	free(csr);
	json_decref(p);
	http_resp_free(&r);
	return rc;
}

/* Whether the topmost certificate of bundle was issued by CN want. */
static bool
chain_top_issuer_is(const char *bundle, const char *want)
{
	char **certs = NULL;
	size_t n = 0;
	struct cert_info ci;
	struct err e = { 0 };
	bool match = false;

	if (x509_split_pem(bundle, &certs, &n, &e) != 0 || n == 0)
		return false;
	memset(&ci, 0, sizeof(ci));
	if (x509_cert_info(certs[n - 1], &ci, &e) == 0) {
		match = ci.issuer_cn != NULL && strcmp(ci.issuer_cn, want) == 0;
		cert_info_free(&ci);
	}
	strv_free(certs, n);
	return match;
}

/* Whether body holds a certificate that parses: a reply cut short or
 * from something else does not. */
static bool
readable_pem(const char *body)
{
	char **certs = NULL;
	size_t n = 0;
	struct cert_info ci;
	struct err e = { 0 };
	bool ok = false;

	if (body == NULL || x509_split_pem(body, &certs, &n, &e) != 0 || n == 0)
		return false;
	memset(&ci, 0, sizeof(ci));
	if (x509_cert_info(certs[0], &ci, &e) == 0) {
		ok = true;
		cert_info_free(&ci);
	}
	strv_free(certs, n);
	return ok;
}

/* POST-as-GET of a certificate URL, retried while it is briefly 404 and
 * while the reply holds no certificate. A server error or a reply that
 * stays unreadable is LB_EUNKNOWN: the order is fine, the download not. */
static int
fetch_cert(struct ca *c, const char *url, struct http_resp *r, struct err *e)
{
	int rc, unreadable = 0;

	for (int i = 1;; i++) {
		if ((rc = acme_post(c, url, NULL, false, "application/pem-certificate-chain",
		    r, e)) != 0)
			return rc;
		if (r->status == 200 && readable_pem(r->body))
			return 0;
		if (r->status == 200) {
			if (++unreadable >= CERT_READ_TRIES)
				return err_set(e, LB_EUNKNOWN, "acme %s: certificate download "
				    "%s: the reply holds no certificate (%d tries)",
				    c->cfg->name, url, unreadable);
			log_info("acme %s: certificate download %s: the reply holds no "
			    "certificate; reading again", c->cfg->name, url);
			http_sleep_ms(500L * unreadable);
			continue;
		}
		if (r->status >= 500) {
			acme_problem(c, "certificate download", r, e);
			return e->code = LB_EUNKNOWN;
		}
		if (r->status != 404 || i >= CERT_TRIES)
			return acme_problem(c, "certificate download", r, e);
		http_sleep_ms(1000L * i);
	}
}

/* The default chain, or the first alternate whose top issuer is the
 * preferred one. *bundle is malloc'd. */
int
acme_download(struct ca *c, json_t *order, char **bundle, struct err *e)
{
	const char *url = acme_jstr(order, "certificate"), *links[LINKS_MAX];
	const char *want = c->cfg->preferred_chain;
	char *alts[LINKS_MAX];
	size_t nl, nalt = 0;
	struct http_resp r = { 0 }, ra = { 0 };
	int rc;

	*bundle = NULL;
	if (url == NULL)
		return err_set(e, LB_ERR, "acme %s: valid order without certificate URL",
		    c->cfg->name);
	if ((rc = fetch_cert(c, url, &r, e)) != 0)
		goto out;
	if (want != NULL && *want != '\0' && !chain_top_issuer_is(r.body, want)) {
		nl = http_resp_headers(&r, "link", links, LINKS_MAX);
		for (size_t i = 0; i < nl && i < LINKS_MAX && nalt < LINKS_MAX; i++)
			nalt += acme_link_parse(links[i], "alternate", url, alts + nalt,
			    LINKS_MAX - nalt);
		for (size_t i = 0; i < nalt && *bundle == NULL; i++) {
			if (fetch_cert(c, alts[i], &ra, e) != 0) {
				log_warn("acme %s: alternate chain %s: %s", c->cfg->name,
				    alts[i], e->msg);
				continue;
			}
			if (chain_top_issuer_is(ra.body, want))
				*bundle = xstrdup(ra.body);
		}
		if (*bundle == NULL)
			log_info("acme %s: no chain issued by '%s' among %zu alternate(s); "
			    "using the default chain", c->cfg->name, want, nalt);
	}
	if (*bundle == NULL)
		*bundle = xstrdup(r.body);
	rc = *bundle ? 0 : err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
out:
	for (size_t i = 0; i < nalt; i++)
		free(alts[i]);
	http_resp_free(&r);
	http_resp_free(&ra);
	return rc;
}

int
acme_split_bundle(struct ca *c, const char *bundle, char **cert_pem, char ***chain,
    size_t *nchain, struct err *e)
{
	char **certs = NULL;
	size_t n = 0;
	int rc;

	if ((rc = x509_split_pem(bundle, &certs, &n, e)) != 0)
		return err_prefix(e, "acme %s: certificate chain", c->cfg->name);
	if (n == 0) {
		strv_free(certs, n);
		return err_set(e, LB_ERR, "acme %s: the certificate download holds no "
		    "certificate", c->cfg->name);
	}
	/* RFC 8555 §9.1: end-entity first, then the issuers in order. */
	*cert_pem = certs[0];
	*nchain = n - 1;
	*chain = calloc(n, sizeof(**chain));
	if (*chain == NULL) {
		strv_free(certs, n);
		*cert_pem = NULL;
		return err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
	}
	for (size_t i = 1; i < n; i++)
		(*chain)[i - 1] = certs[i];
	free(certs);
	return 0;
}
