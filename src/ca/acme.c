/* ACME client (RFC 8555) with External Account Binding, for Sectigo ACME,
 * Let's Encrypt and enterprise ACME CAs. The account key and account URL
 * live in the state directory; an order URL is the resumable reference
 * that submit hands to the engine and collect continues from. */
#include "ca/acme_client.h"
#include "ca/acme_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
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

#define ORDER_STEPS 64     /* bound on the order state machine */
#define POLL_TIMEOUT_S 600
#define FINALIZE_TRIES 3   /* finalize requests whose answer was lost */

static void
acme_close(struct ca *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	free(c->key_path);
	free(c->acct_path);
	EVP_PKEY_free(c->key);
	free(c->thumb);
	json_decref(c->dir);
	free(c->nonce);
	free(c->kid);
	free(c);
}

static int
acme_open(const struct cfg_ca *cfg, const char *state_dir, struct ca **out,
    struct err *e)
{
	struct http_tls tls = { .ca_file = cfg->ca_file };
	struct ca *c;

	*out = NULL;
	if (cfg->directory == NULL)
		return err_set(e, LB_ECONFIG, "acme %s: no directory URL", cfg->name);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(e, LB_ERR, "acme %s: out of memory", cfg->name);
	c->cfg = cfg;
	c->key_path = xasprintf("%s/acme-%s.key", state_dir, cfg->name);
	c->acct_path = xasprintf("%s/acme-%s.json", state_dir, cfg->name);
	c->http = http_client_new(cfg->name, cfg->directory, &tls,
	    cfg->timeout_s > 0 ? cfg->timeout_s : 30);
	if (c->key_path == NULL || c->acct_path == NULL || c->http == NULL) {
		acme_close(c);
		return err_set(e, LB_ERR, "acme %s: out of memory", cfg->name);
	}
	*out = c;
	return 0;
}

static int
acme_ping(struct ca *c, struct err *e)
{
	int rc;

	json_decref(c->dir);
	c->dir = NULL;
	if ((rc = acme_directory(c, e)) != 0)
		return rc;
	if (acme_eab_required(c) && c->cfg->eab_kid == NULL)
		return err_set(e, LB_ECONFIG, "acme %s: the CA requires External Account "
		    "Binding but credentials entry '%s' has no eab_kid/eab_hmac_key",
		    c->cfg->name, c->cfg->credentials ? c->cfg->credentials : c->cfg->name);
	return 0;
}

/* One newOrder; 0 with the order's URL in *loc (malloc'd) when the CA
 * created it, else the error, with *refused set when the CA answered
 * with a problem (nothing ordered). */
static int
new_order(struct ca *c, json_t *p, char **loc, bool *refused, struct err *e)
{
	struct http_resp r = { 0 };
	char *payload = json_dumps(p, JSON_COMPACT);
	const char *l, *prof;
	json_t *o;
	int rc;

	*loc = NULL;
	*refused = false;
	if (payload == NULL)
		return err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
	/* A re-sent JWS is refused as badNonce and acme_post() signs it anew: a
	 * dead connection that libcurl silently retried would order twice. */
	c->send_once = true;
	rc = acme_post(c, acme_jstr(c->dir, "newOrder"), payload, false, NULL, &r, e);
	c->send_once = false;
	if (rc != 0)
		goto out;
	if (r.status != 201 && r.status != 200) {
		*refused = r.status >= 400;
		rc = acme_problem(c, "newOrder", &r, e);
		goto out;
	}
	if ((l = http_resp_header(&r, "location")) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: newOrder: HTTP %ld without Location",
		    c->cfg->name, r.status);
		goto out;
	}
	if ((rc = acme_check_url(c, l, e)) != 0)
		goto out;
	/* A CA that ignores the profile issues its default: say so. */
	o = acme_json_object(r.body, r.body_len);
	prof = acme_jstr(p, "profile");
	if (prof != NULL && (acme_jstr(o, "profile") == NULL ||
	    strcmp(acme_jstr(o, "profile"), prof) != 0))
		log_warn("acme %s: order %s does not echo profile '%s' (it says '%s')",
		    c->cfg->name, l, prof, acme_jstr(o, "profile") ? acme_jstr(o, "profile") : "");
	json_decref(o);
	if ((*loc = xstrdup(l)) == NULL)
		rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
out:
	free(payload);
	http_resp_free(&r);
	return rc;
}

static int
acme_submit(struct ca *c, const struct ca_request *req, char **order_ref,
    struct err *e)
{
	json_t *ids = json_array(), *p = NULL;
	char *replaces = NULL;
	bool refused;
	int rc;

	*order_ref = NULL;
	if ((rc = acme_ensure_account(c, e)) != 0)
		goto out;
	for (size_t i = 0; i < req->nnames; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup = dup || strcasecmp(req->names[i], req->names[j]) == 0;
		if (!dup && json_array_append_new(ids, json_pack("{s:s, s:s}", "type",
		    "dns", "value", req->names[i])) != 0)
			goto oom;
	}
	if (json_array_size(ids) == 0) {
		rc = err_set(e, LB_ERR, "acme %s: profile %s: no names to order",
		    c->cfg->name, req->profile);
		goto out;
	}
	if ((p = json_pack("{s:O}", "identifiers", ids)) == NULL)
		goto oom;
	if (req->p != NULL && req->p->acme_profile != NULL &&
	    json_object_set_new(p, "profile", json_string(req->p->acme_profile)) != 0)
		goto oom;
	replaces = acme_replaces_id(c, req->replaces_pem);
	if (replaces != NULL && json_object_set_new(p, "replaces", json_string(replaces)) != 0)
		goto oom;
	rc = new_order(c, p, order_ref, &refused, e);
	/* RFC 9773 §5: a CA may refuse the replacement (already replaced, a
	 * certificate it does not know, another account's) with any problem;
	 * the renewal is still wanted. A rate limit says nothing of it. */
	if (rc != 0 && refused && replaces != NULL && rc != LB_EPENDING) {
		log_warn("%s; ordering again without replaces", e->msg);
		err_clear(e);
		json_object_del(p, "replaces");
		rc = new_order(c, p, order_ref, &refused, e);
	}
	if (rc == 0)
		log_info("acme %s: profile %s: order %s for %zu name(s)%s%s%s%s", c->cfg->name,
		    req->profile, *order_ref, json_array_size(ids),
		    json_object_get(p, "replaces") ? ", replacing " : "",
		    json_object_get(p, "replaces") ? replaces : "",
		    json_object_get(p, "profile") ? ", ACME profile " : "",
		    json_object_get(p, "profile") ? acme_jstr(p, "profile") : "");
	goto out;
oom:
	rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
out:
	/* Rate limited (the message says until when): nothing was ordered,
	 * so this run failed; there is no order to wait for. */
	if (rc == LB_EPENDING)
		e->code = rc = LB_ERR;
	free(replaces);
	json_decref(p);
	json_decref(ids);
	return rc;
}
static int
order_invalid(struct ca *c, const char *order_ref, json_t *order, struct err *e)
{
	json_t *pe = json_object_get(order, "error");
	char *why = pe ? acme_problem_json(pe, 0) : NULL;

	err_set(e, LB_ERR, "acme %s: order %s is invalid%s%s", c->cfg->name, order_ref,
	    why ? ": " : "", why ? why : "");
	free(why);
	return LB_ERR;
}

static int
acme_collect(struct ca *c, const struct ca_request *req, const char *order_ref,
    const struct ca_challenge *ch, char **cert_pem, char ***chain, size_t *nchain,
    struct err *e)
{
	int timeout = c->cfg->poll_timeout_s > 0 ? c->cfg->poll_timeout_s : POLL_TIMEOUT_S;
	struct acme_wait w = { time(NULL) + timeout, 0 };
	struct http_resp r = { 0 };
	json_t *order = NULL;
	char *bundle = NULL;
	bool finalized = false, authorized = false;
	int rc = LB_ERR, lost = 0;

	*cert_pem = NULL;
	*chain = NULL;
	*nchain = 0;
	if ((rc = acme_ensure_account(c, e)) != 0)
		return rc;
	for (int step = 0; step < ORDER_STEPS; step++) {
		const char *st;

		json_decref(order);
		if ((rc = acme_get_object(c, order_ref, "order", &order, &r, e)) != 0)
			goto out;
		st = acme_jstr(order, "status");
		if (st == NULL) {
			rc = err_set(e, LB_ERR, "acme %s: order %s without status",
			    c->cfg->name, order_ref);
			goto out;
		}
		log_debug("acme %s: order %s is %s", c->cfg->name, order_ref, st);
		if (strcmp(st, "valid") == 0) {
			if ((rc = acme_download(c, order, &bundle, e)) == 0)
				rc = acme_split_bundle(c, bundle, cert_pem, chain, nchain, e);
			goto out;
		} else if (strcmp(st, "invalid") == 0) {
			rc = order_invalid(c, order_ref, order, e);
			goto out;
		} else if (strcmp(st, "pending") == 0 && !authorized) {
			if ((rc = acme_authorize(c, order, ch, &w, e)) != 0)
				goto out;
			authorized = true;
			w.attempt = 0;
		} else if (strcmp(st, "ready") == 0 && !finalized) {
			rc = acme_finalize(c, req, order, e);
			if (rc == LB_EUNKNOWN && ++lost < FINALIZE_TRIES) {
				/* the order's state says whether the CA took the CSR */
				log_warn("acme %s: %s; reading order %s again", c->cfg->name,
				    e->msg, order_ref);
				err_clear(e);
				continue;
			}
			if (rc != 0)
				goto out;
			finalized = true;
			w.attempt = 0;
		} else if (strcmp(st, "processing") == 0 || strcmp(st, "pending") == 0 ||
		    strcmp(st, "ready") == 0) {
			/* processing, or a CA slow to reflect what we did. */
			if ((rc = acme_wait_next(c, &w, &r, "order", e)) != 0)
				goto out;
		} else {
			rc = err_set(e, LB_ERR, "acme %s: order %s has unknown status '%s'",
			    c->cfg->name, order_ref, st);
			goto out;
		}
	}
	rc = err_set(e, LB_EPENDING, "acme %s: order %s not done after %d steps",
	    c->cfg->name, order_ref, ORDER_STEPS);
out:
	if (rc == 0)
		log_info("acme %s: profile %s: certificate issued (%zu chain certificate(s))",
		    c->cfg->name, req->profile, *nchain);
	free(bundle);
	json_decref(order);
	http_resp_free(&r);
	return rc;
}

static char *
cert_der_b64url(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : -1;
	char *out = len > 0 ? jws_b64url_encode(der, (size_t)len) : NULL;

	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	return out;
}

static int
acme_revoke(struct ca *c, const char *order_ref, const char *cert_pem, int reason,
    struct err *e)
{
	struct http_resp r = { 0 };
	char *der = NULL, *payload = NULL;
	json_t *p = NULL;
	int rc;

	(void)order_ref;
	if ((rc = acme_ensure_account(c, e)) != 0)
		return rc;
	if ((der = cert_der_b64url(cert_pem)) == NULL)
		return err_set(e, LB_ERR, "acme %s: revoke: not a PEM certificate", c->cfg->name);
	p = json_pack("{s:s}", "certificate", der);
	if (p == NULL || (reason >= 0 && json_object_set_new(p, "reason",
	    json_integer(reason)) != 0) || (payload = json_dumps(p, JSON_COMPACT)) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
		goto out;
	}
	if (acme_jstr(c->dir, "revokeCert") == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: the directory has no revokeCert",
		    c->cfg->name);
		goto out;
	}
	if ((rc = acme_post(c, acme_jstr(c->dir, "revokeCert"), payload, false, NULL, &r, e)) != 0)
		goto out;
	if (r.status == 200) {
		log_info("acme %s: certificate revoked (reason %d)", c->cfg->name, reason);
	} else if (acme_is_problem(&r, "alreadyRevoked")) {
		/* A run that died after revoking tries again: same outcome. */
		log_warn("acme %s: certificate was already revoked", c->cfg->name);
	} else
		rc = acme_problem(c, "revokeCert", &r, e);
out:
	if (rc == LB_EPENDING)
		e->code = rc = LB_ERR; /* rate limited: not revoked */
	free(payload);
	free(der);
	json_decref(p);
	http_resp_free(&r);
	return rc;
}

const struct ca_ops acme_ops = {
	.type = "acme",
	.open = acme_open,
	.close = acme_close,
	.ping = acme_ping,
	.submit = acme_submit,
	.find = acme_find,
	.collect = acme_collect,
	.revoke = acme_revoke,
	.prepare = acme_prepare,
	.renewal_info = acme_renewal_info,
};
