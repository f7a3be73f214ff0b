/* The CA's steps of a profile's walk: the CSR is submitted under a tag
 * journaled before it is sent, a submission whose answer was lost is
 * looked up at the CA by that tag, and the certificate is collected
 * (http-01 answered through the device) and checked before it is
 * journaled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/x509.h"
#include "engine/walk.h"
#include "util/log.h"
#include "util/mem.h"

int
walk_get_ca(struct walk *w, struct ca **ca, const struct ca_ops **ops)
{
	return engine_ca(w->en, w->p->ca, ca, ops, &w->e);
}

void
walk_request_of(const struct walk *w, struct ca_request *req)
{
	memset(req, 0, sizeof(*req));
	req->p = w->p;
	req->profile = w->p->name;
	req->csr_pem = w->job.csr_pem;
	req->names = w->p->sans;
	req->nnames = w->p->nsans;
	req->common_name = w->p->common_name;
}

/* The certificate a renewal replaces, as lbcert recorded it (malloc'd),
 * or NULL: the CA may be told which one the order replaces. */
static char *
replaced_pem(const struct walk *w)
{
	struct store_cert sc = {0};
	struct err e = {0};
	char *pem = NULL;

	if (!w->job.first && store_cert_get(w->en->st, w->p->name, &sc, &e) == 0) {
		pem = sc.cert_pem;
		sc.cert_pem = NULL;
	}
	store_cert_free(&sc);
	return pem;
}

static int
ordered(struct walk *w, char *ref)
{
	free(w->job.order_ref);
	w->job.order_ref = ref;
	walk_history(w, "ca_submit", ref);
	return walk_journal(w, STEP_ORDERED);
}

int
walk_submit(struct walk *w)
{
	struct ca *ca;
	const struct ca_ops *ops;
	struct ca_request req;
	char tag[ENGINE_TAG_LEN], *mark, *ref = NULL, *old;
	int rc;

	if ((rc = walk_get_ca(w, &ca, &ops)) != 0 || (rc = engine_tag(tag, &w->e)) != 0)
		return rc;
	walk_request_of(w, &req);
	req.tag = tag;
	/* without the in-flight mark a crash would send this CSR again */
	if ((mark = xasprintf("%c%s", IN_FLIGHT_MARK, tag)) == NULL)
		return err_set(&w->e, LB_ERR, "out of memory");
	free(w->job.order_ref);
	w->job.order_ref = mark;
	if ((rc = walk_journal(w, STEP_KEY)) != 0)
		return rc;
	req.replaces_pem = old = replaced_pem(w);
	rc = ops->submit(ca, &req, &ref, &w->e);
	free(old);
	if (rc != 0) {
		/* Refused outright: nothing ordered, the key may be reused (a
		 * failed journal write leaves the mark: the next run looks it
		 * up). An unknown outcome keeps the mark; so does an unreachable
		 * CA, which a dropped connection may look like. */
		if (rc != LB_EUNREACH && rc != LB_EUNKNOWN) {
			struct err je = {0};

			walk_set_str(&w->job.order_ref, NULL);
			if (walk_journal_e(w, STEP_KEY, &je) != 0)
				log_warn("%s: cannot journal the refused submission: %s",
				    w->p->name, je.msg);
		}
		return rc;
	}
	return ordered(w, ref);
}

/* The answer to the journaled submission was lost: find it at the CA by
 * its tag. Provably none: the same CSR again. The CA cannot tell: a fresh
 * key (free for ACME). A failed lookup concludes nothing, journal kept. */
int
walk_resume_in_flight(struct walk *w)
{
	struct ca *ca;
	const struct ca_ops *ops;
	struct ca_request req;
	char *ref = NULL;
	int rc;

	if ((rc = walk_get_ca(w, &ca, &ops)) != 0)
		return rc;
	walk_request_of(w, &req);
	req.tag = w->job.order_ref[0] == IN_FLIGHT_MARK ? w->job.order_ref + 1 : NULL;
	req.used = engine_order_used;
	req.used_ctx = w->en;
	rc = req.tag == NULL || ops->find == NULL ? LB_ENOTSUP :
	    ops->find(ca, &req, &ref, &w->e);
	if (rc == 0) {
		log_info("%s: the CA has the order of the lost submission: %s", w->p->name, ref);
		return ordered(w, ref);
	}
	if (rc == LB_ENOTFOUND || rc == LB_ENOTSUP) {
		log_info("%s: %s: %s", w->p->name, w->e.msg, rc == LB_ENOTFOUND ? "the CA has "
		    "no order of the lost submission, submitting again" : "starting over");
		err_clear(&w->e);
	}
	if (rc == LB_ENOTFOUND) {
		walk_set_str(&w->job.order_ref, NULL);
		return walk_journal(w, STEP_KEY);
	}
	if (rc == LB_ENOTSUP)
		return walk_restart(w, "an earlier submission of this CSR has an unknown outcome",
		    &w->e);
	err_prefix(&w->e, "%s: cannot look up the submission whose answer was lost",
	    w->p->name);
	return rc;
}

static int
ch_publish(void *ctx, const char *token, const char *keyauth, struct err *e)
{
	struct walk *w = ctx;

	int rc;

	if (w->dops->http01_publish == NULL)
		return err_set(e, LB_ERR, "%s devices cannot answer http-01", w->dops->type);
	walk_history(w, "http01_publish", token);
	w->side = FAIL_DEVICE;
	if ((rc = w->dops->http01_publish(w->dev, w->p, token, keyauth, e)) == 0)
		w->side = FAIL_CA;
	return rc;
}

static int
ch_withdraw(void *ctx, const char *token, struct err *e)
{
	struct walk *w = ctx;

	walk_history(w, "http01_withdraw", token);
	return w->dops->http01_withdraw(w->dev, w->p, token, e);
}

static char *
join_pem(char *const *v, size_t n)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]);
	if ((out = calloc(1, len)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		strcat(out, v[i]);
	return out;
}

/* A certificate issued for a key that no longer exists can never be
 * served; revoke it so that no valid certificate is left for a deleted
 * key. Failing that is only logged: the run goes on. */
void
walk_revoke_orphan(struct walk *w, struct ca *ca, const struct ca_ops *ops, const char *cert)
{
	struct cert_info ci = {0};
	struct err e = {0};

	if (x509_cert_info(cert, &ci, &e) != 0 ||
	    ops->revoke(ca, w->job.order_ref, cert, REVOKE_SUPERSEDED, &e) != 0)
		log_warn("%s: the certificate of the discarded key stays valid at %s: %s",
		    w->p->name, w->p->ca->name, e.msg);
	else {
		log_info("%s: revoked serial %s, issued for the discarded key", w->p->name,
		    ci.serial);
		walk_history(w, "revoke", ci.serial);
	}
	cert_info_free(&ci);
}

int
walk_collect(struct walk *w)
{
	struct ca *ca;
	const struct ca_ops *ops;
	struct ca_request req;
	struct ca_challenge ch = { ch_publish, ch_withdraw, w };
	char *cert = NULL, **chain = NULL;
	size_t nchain = 0;
	int rc;

	if ((rc = walk_get_ca(w, &ca, &ops)) != 0)
		return rc;
	walk_request_of(w, &req);
	rc = ops->collect(ca, &req, w->job.order_ref,
	    w->p->ca->challenge == CHALLENGE_HTTP01 ? &ch : NULL, &cert, &chain, &nchain, &w->e);
	/* Only an order the CA refused or does not know is dead; an
	 * unreachable CA or refused credentials say nothing about the order,
	 * which is collected again next time. */
	if (rc != 0 && rc != LB_ERR && rc != LB_ENOTFOUND)
		goto out;
	if (rc != 0) {
		/* Its CSR is not sent again: the next run starts over with a
		 * fresh key. Should the journal write fail, the next run finds
		 * the discarded key unusable and starts over all the same. */
		walk_restart_keep_error(w, "the CA did not issue");
		goto out;
	}
	rc = x509_check_issued(cert, chain, nchain, w->job.csr_pem, w->p->sans, w->p->nsans,
	    time(NULL), &w->e);
	if (rc != 0) {
		err_prefix(&w->e, "%s: the CA's certificate fails the check, not installed",
		    w->p->ca->name);
		if (w->rekeyed) {
			/* The dead run had finalized the order with its own key's
			 * CSR: that certificate is useless, order anew. */
			log_warn("%s: order %s was finalized by the run that died (%s); "
			    "ordering again", w->p->name, w->job.order_ref, w->e.msg);
			w->rekeyed = false;
			err_clear(&w->e);
			walk_revoke_orphan(w, ca, ops, cert);
			/* walk_steps goes on with a fresh key only once the
			 * journal says so */
			rc = walk_restart(w, "the order belongs to the discarded key", &w->e);
			goto out;
		}
		walk_restart_keep_error(w, "the issued certificate failed the check");
		goto out;
	}
	w->job.cert_pem = cert;
	cert = NULL;
	if ((w->job.chain_pem = join_pem(chain, nchain)) == NULL) {
		rc = err_set(&w->e, LB_ERR, "out of memory");
		goto out;
	}
	walk_history(w, "ca_issued", w->job.order_ref);
	rc = walk_journal(w, STEP_ISSUED);
out:
	free(cert);
	strv_free(chain, nchain);
	return rc;
}

