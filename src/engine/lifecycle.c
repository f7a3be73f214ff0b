/* The step machine of SPEC §1. Each step's result is journaled in the
 * store before the next step starts, so a run killed anywhere resumes from
 * the journal: a known order is collected, never placed again, and a
 * submission whose answer was lost is looked up at the CA by the tag
 * journaled before it was sent; it is sent again only when the CA
 * provably has no such order. */
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto/x509.h"
#include "engine/engine_int.h"
#include "engine/policy.h"
#include "util/log.h"
#include "util/mem.h"

/* order_ref of a submission in flight: "?TAG" (the tag sent), "" (untagged) */
#define IN_FLIGHT_MARK '?'
#define in_flight(ref) ((ref) != NULL && ((ref)[0] == '\0' || (ref)[0] == IN_FLIGHT_MARK))

struct walk {
	struct engine *en;
	const struct cfg_profile *p;
	struct device *dev;
	const struct device_ops *dops;
	struct store_job job;
	struct err e;
	bool rekeyed;	/* this run replaced the key of a journaled ACME order */
};

static int
journal_e(struct walk *w, int step, struct err *e)
{
	w->job.step = step;
	w->job.updated = time(NULL);
	return store_job_put(w->en->st, &w->job, e);
}

static int
journal(struct walk *w, int step)
{
	return journal_e(w, step, &w->e);
}

static void
history(struct walk *w, const char *action, const char *detail)
{
	struct err e = {0};

	if (store_history_add(w->en->st, w->p->name, w->p->device->name, action, detail, &e) != 0)
		log_warn("%s: history: %s", w->p->name, e.msg);
}

/* 0, or -1 when src could not be copied (*dst is then NULL). */
static int
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
	return src != NULL && *dst == NULL ? -1 : 0;
}

/* Removes a key that will not be used from the device and forgets it.
 * When the device does not confirm, the journal keeps naming the key, so
 * a later run removes it before it makes another (drop_stale_key). */
static int
discard_key(struct walk *w, struct err *e)
{
	int rc;

	if (w->job.key_ref == NULL)
		return 0;
	if ((rc = w->dops->key_discard(w->dev, w->p, w->job.key_ref, e)) != 0) {
		err_prefix(e, "%s: could not remove key %s", w->p->name, w->job.key_ref);
		return rc;
	}
	history(w, "key_discard", w->job.key_ref);
	return set_str(&w->job.key_ref, NULL) != 0 ? err_set(e, LB_ERR, "out of memory") : 0;
}

/* Throws the key away and starts the profile over from a fresh key. A
 * journal write that fails is described in je. */
static int
restart(struct walk *w, const char *why, struct err *je)
{
	struct err de = {0};

	log_warn("%s: %s: discarding key %s and starting over", w->p->name, why, w->job.key_ref);
	if (discard_key(w, &de) != 0)
		log_warn("%s", de.msg);
	set_str(&w->job.csr_pem, NULL);
	set_str(&w->job.order_ref, NULL);
	set_str(&w->job.cert_pem, NULL);
	set_str(&w->job.chain_pem, NULL);
	set_str(&w->job.install_ref, NULL);
	return journal_e(w, STEP_NONE, je);
}

/* restart() for a caller whose w->e already holds the error the user must
 * see (the CA's): a failed journal write is logged instead of replacing
 * it. */
static void
restart_keep_error(struct walk *w, const char *why)
{
	struct err je = {0};

	if (restart(w, why, &je) != 0)
		log_warn("%s: cannot journal the restart: %s", w->p->name, je.msg);
}

static int
make_key(struct walk *w)
{
	char tag[40], stamp[24], *ref = NULL, *csr = NULL;
	unsigned char rnd[2];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	/* The time says when; the random suffix keeps two keys made in the
	 * same second (an enrollment and an immediate --force) apart, since
	 * the appliances never overwrite an object. */
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set(&w->e, LB_ERR, "no random bytes for a key name");
	snprintf(tag, sizeof(tag), "%s-%02x%02x", stamp, rnd[0], rnd[1]);
	/* Named in the journal before the request: should the answer be lost
	 * (a killed run, a dropped connection), the next run finds the name
	 * and removes whatever the device made. */
	set_str(&w->job.csr_pem, NULL);
	if (w->dops->key_ref_for != NULL) {
		if ((w->job.key_ref = w->dops->key_ref_for(w->dev, w->p, tag)) == NULL)
			return err_set(&w->e, LB_ERR, "out of memory");
		if ((rc = journal(w, w->job.step)) != 0)
			return rc;
	}
	rc = w->dops->key_create(w->dev, w->p, tag, &ref, &csr, &w->e);
	if (rc != 0) {
		struct err de = {0};

		/* the device may have made the key before it failed */
		if (w->job.key_ref != NULL &&
		    (discard_key(w, &de) != 0 || journal_e(w, w->job.step, &de) != 0))
			log_warn("%s", de.msg);
		return rc;
	}
	free(w->job.key_ref);
	w->job.key_ref = ref;
	w->job.csr_pem = csr;
	history(w, "key_create", w->job.key_ref);
	return 0;
}

/* A key journaled before any step was being made when a run died. */
static int
drop_stale_key(struct walk *w)
{
	int rc;

	log_warn("%s: removing key %s, left by an earlier run", w->p->name, w->job.key_ref);
	if ((rc = discard_key(w, &w->e)) != 0)
		return rc;
	return journal(w, STEP_NONE);
}

static int
step_key(struct walk *w)
{
	int rc = make_key(w);

	return rc != 0 ? rc : journal(w, STEP_KEY);
}

/* An ACME order names only the identifiers until it is finalized, so an
 * order whose key died with an earlier run (BIG-IP: the passphrase) is
 * finished with a fresh key instead of being abandoned for a second order.
 * Should the dead run have finalized it already, the certificate will not
 * match the new CSR and step_collect starts over (w->rekeyed). */
static int
rekey(struct walk *w)
{
	int rc;

	log_warn("%s: key %s no longer usable: discarding it, finishing order %s with a "
	    "fresh key", w->p->name, w->job.key_ref, w->job.order_ref);
	/* Until the journal names the new key with its CSR, a run dying here
	 * finds no usable key and re-keys again. */
	if ((rc = discard_key(w, &w->e)) != 0)
		return rc;
	if ((rc = make_key(w)) != 0)
		return rc;
	w->rekeyed = true;
	return journal(w, STEP_ORDERED);
}

static int
get_ca(struct walk *w, struct ca **ca, const struct ca_ops **ops)
{
	return engine_ca(w->en, w->p->ca, ca, ops, &w->e);
}

static void
request_of(const struct walk *w, struct ca_request *req)
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
	history(w, "ca_submit", ref);
	return journal(w, STEP_ORDERED);
}

static int
step_submit(struct walk *w)
{
	struct ca *ca;
	const struct ca_ops *ops;
	struct ca_request req;
	char tag[ENGINE_TAG_LEN], *mark, *ref = NULL, *old;
	int rc;

	if ((rc = get_ca(w, &ca, &ops)) != 0 || (rc = engine_tag(tag, &w->e)) != 0)
		return rc;
	request_of(w, &req);
	req.tag = tag;
	/* without the in-flight mark a crash would send this CSR again */
	if ((mark = xasprintf("%c%s", IN_FLIGHT_MARK, tag)) == NULL)
		return err_set(&w->e, LB_ERR, "out of memory");
	free(w->job.order_ref);
	w->job.order_ref = mark;
	if ((rc = journal(w, STEP_KEY)) != 0)
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

			set_str(&w->job.order_ref, NULL);
			if (journal_e(w, STEP_KEY, &je) != 0)
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
static int
resume_in_flight(struct walk *w)
{
	struct ca *ca;
	const struct ca_ops *ops;
	struct ca_request req;
	char *ref = NULL;
	int rc;

	if ((rc = get_ca(w, &ca, &ops)) != 0)
		return rc;
	request_of(w, &req);
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
		set_str(&w->job.order_ref, NULL);
		return journal(w, STEP_KEY);
	}
	if (rc == LB_ENOTSUP)
		return restart(w, "an earlier submission of this CSR has an unknown outcome",
		    &w->e);
	err_prefix(&w->e, "%s: cannot look up the submission whose answer was lost",
	    w->p->name);
	return rc;
}

static int
ch_publish(void *ctx, const char *token, const char *keyauth, struct err *e)
{
	struct walk *w = ctx;

	if (w->dops->http01_publish == NULL)
		return err_set(e, LB_ERR, "%s devices cannot answer http-01", w->dops->type);
	history(w, "http01_publish", token);
	return w->dops->http01_publish(w->dev, w->p, token, keyauth, e);
}

static int
ch_withdraw(void *ctx, const char *token, struct err *e)
{
	struct walk *w = ctx;

	history(w, "http01_withdraw", token);
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
static void
revoke_orphan(struct walk *w, struct ca *ca, const struct ca_ops *ops, const char *cert)
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
		history(w, "revoke", ci.serial);
	}
	cert_info_free(&ci);
}

static int
step_collect(struct walk *w)
{
	struct ca *ca;
	const struct ca_ops *ops;
	struct ca_request req;
	struct ca_challenge ch = { ch_publish, ch_withdraw, w };
	char *cert = NULL, **chain = NULL;
	size_t nchain = 0;
	int rc;

	if ((rc = get_ca(w, &ca, &ops)) != 0)
		return rc;
	request_of(w, &req);
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
		restart_keep_error(w, "the CA did not issue");
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
			revoke_orphan(w, ca, ops, cert);
			/* walk_steps goes on with a fresh key only once the
			 * journal says so */
			rc = restart(w, "the order belongs to the discarded key", &w->e);
			goto out;
		}
		restart_keep_error(w, "the issued certificate failed the check");
		goto out;
	}
	w->job.cert_pem = cert;
	cert = NULL;
	if ((w->job.chain_pem = join_pem(chain, nchain)) == NULL) {
		rc = err_set(&w->e, LB_ERR, "out of memory");
		goto out;
	}
	history(w, "ca_issued", w->job.order_ref);
	rc = journal(w, STEP_ISSUED);
out:
	free(cert);
	strv_free(chain, nchain);
	return rc;
}

static int
step_install(struct walk *w)
{
	char **chain = NULL;
	size_t n = 0;
	int rc;

	if (w->job.chain_pem != NULL && w->job.chain_pem[0] != '\0' &&
	    (rc = x509_split_pem(w->job.chain_pem, &chain, &n, &w->e)) != 0)
		return rc;
	rc = w->dops->cert_install(w->dev, w->p, w->job.key_ref, w->job.cert_pem, chain, n,
	    &w->job.install_ref, &w->e);
	strv_free(chain, n);
	if (rc != 0)
		return rc;
	history(w, "cert_install", w->job.install_ref);
	return journal(w, STEP_INSTALLED);
}

/* A renewal whose certificate is not what is served, or whose activation
 * failed half-way, goes back to the previous certificate. The journal
 * goes back to "installed" first: the new objects stay for inspection, and
 * the next run activates this certificate again rather than buying
 * another (so does a run that dies here). */
static int
roll_back(struct walk *w, int rc)
{
	struct err je = {0};

	if (w->job.first || w->job.old_refs == NULL)
		return rc;
	if (journal_e(w, STEP_INSTALLED, &je) != 0)
		log_warn("%s: %s", w->p->name, je.msg);
	return engine_roll_back(w->en, w->p, w->dev, w->dops, w->job.old_refs, rc, &w->e);
}

static int
step_activate(struct walk *w)
{
	int rc = w->dops->activate(w->dev, w->p, w->job.key_ref, w->job.install_ref,
	    w->job.first, &w->e);

	if (rc != 0)
		return roll_back(w, rc);
	history(w, w->job.first ? "bind" : "swap", w->p->object_name);
	return journal(w, STEP_ACTIVATED);
}

/* Old objects go only once the new certificate is in service, and before
 * the save: the saved configuration must not name objects that are gone.
 * Repeating it after a crash finds them gone, which counts as done; what
 * the device did not remove is retried by later runs (retire.c). */
static void
retire_old(struct walk *w)
{
	engine_retire(w->en, w->p, w->dev, w->dops, w->job.first ? NULL : w->job.old_refs);
}

/* A renewal is checked before the save, so that a rollback saves the
 * previous certificate, never a failed one. */
static int
check_renewal(struct walk *w)
{
	struct cert_info ci = {0};
	int rc;

	if (w->job.first)
		return 0;
	if ((rc = x509_cert_info(w->job.cert_pem, &ci, &w->e)) == 0 &&
	    (rc = engine_verify_served(w->p, w->dev, w->dops, &ci, &w->e)) != 0)
		rc = roll_back(w, rc);
	cert_info_free(&ci);
	return rc;
}

static int
step_save(struct walk *w)
{
	int rc;

	if ((rc = check_renewal(w)) != 0)
		return rc;
	retire_old(w);
	if ((rc = w->dops->save(w->dev, &w->e)) != 0)
		return rc;
	history(w, "save", NULL);
	return journal(w, STEP_SAVED);
}

static int
names_json(const struct cert_info *ci, char **out)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < ci->nnames; i++)
		json_array_append_new(a, json_string(ci->names[i]));
	*out = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return *out != NULL ? 0 : LB_ERR;
}

static int
step_finish(struct walk *w, struct run_result *res)
{
	struct cert_info ci = {0};
	struct store_cert sc = {0};
	int rc;

	if ((rc = x509_cert_info(w->job.cert_pem, &ci, &w->e)) != 0)
		return rc;
	sc.profile = w->p->name;
	sc.device = w->p->device->name;
	sc.ca = w->p->ca->name;
	sc.serial = ci.serial;
	sc.not_before = ci.not_before;
	sc.not_after = ci.not_after;
	sc.key_desc = ci.key_desc;
	sc.object = w->p->object_name;
	sc.ca_ref = w->job.order_ref;
	sc.cert_pem = w->job.cert_pem;
	sc.chain_pem = w->job.chain_pem;
	sc.updated = time(NULL);
	if (!w->job.first)
		engine_remember_previous(w->en, w->p, w->job.old_refs, ci.serial);
	if ((rc = names_json(&ci, &sc.names)) == 0)
		rc = store_cert_put(w->en->st, &sc, &w->e);
	if (rc == 0)
		rc = store_cert_acme_profile_set(w->en->st, w->p->name, w->p->acme_profile, &w->e);
	free(sc.names);
	if (rc == 0)
		rc = store_job_delete(w->en->st, w->p->name, &w->e);
	if (rc == 0)
		engine_ari_issued(w->en, w->p, w->job.cert_pem, ci.serial);
	if (rc == 0) {
		res->outcome = w->job.first ? OUT_ENROLLED : OUT_RENEWED;
		snprintf(res->serial, sizeof(res->serial), "%s", ci.serial);
		/* a renewal was checked before its save */
		if (w->job.first)
			rc = engine_verify_served(w->p, w->dev, w->dops, &ci, &w->e);
	}
	cert_info_free(&ci);
	return rc;
}

/* Starts a journal for a due profile. */
static int
begin(struct walk *w, const struct policy_decision *d, const struct device_cert *installed)
{
	w->job.profile = xstrdup(w->p->name);
	w->job.first = d->action == POLICY_ENROLL;
	w->job.reason = xstrdup(d->reason);
	w->job.old_refs = installed != NULL ? xstrdup(installed->refs) : NULL;
	w->job.started = time(NULL);
	/* a lost old_refs would leave the replaced objects on the device */
	if (w->job.profile == NULL || w->job.reason == NULL ||
	    (installed != NULL && installed->refs != NULL && w->job.old_refs == NULL))
		return err_set(&w->e, LB_ERR, "out of memory");
	return journal(w, STEP_NONE);
}

/* What is due for the profile, from the certificate on the device. */
static int
judge(struct walk *w, bool force, struct policy_decision *d, struct device_cert *cur)
{
	int rc = w->dops->cert_get(w->dev, w->p, cur, &w->e);

	if (rc != 0 && rc != LB_ENOTFOUND)
		return rc;
	err_clear(&w->e);
	engine_decide(w->en, w->p, rc == 0 ? cur : NULL, force, d);
	/* Refused before a key is made or a certificate ordered: a profile
	 * that activation would refuse costs nothing. */
	if (d->action != POLICY_NONE && w->dops->check_ready != NULL)
		return w->dops->check_ready(w->dev, w->p, &w->e);
	return 0;
}

/* plan / run --dry-run: the decision, with nothing written anywhere. */
static int
plan_profile(struct walk *w, bool force, struct run_result *res)
{
	struct device_cert cur = {0};
	struct policy_decision d;
	int rc = judge(w, force, &d, &cur);

	if (rc == 0 && d.action != POLICY_NONE)
		rc = engine_ca_prepare(w->en, w->p, &w->e);
	if (rc == 0) {
		snprintf(res->detail, sizeof(res->detail), "%s: %s", policy_action_name(d.action),
		    d.reason);
		res->outcome = d.action == POLICY_NONE ? OUT_UNCHANGED : OUT_PLANNED;
	}
	device_cert_free(&cur);
	return rc;
}

/* Decides whether anything is due and, when it is, opens the journal. */
static int
decide(struct walk *w, bool force, bool *due, struct run_result *res)
{
	struct device_cert cur = {0};
	struct policy_decision d;
	int rc = judge(w, force, &d, &cur);

	if (rc == 0 && d.action != POLICY_NONE)
		rc = engine_ca_prepare(w->en, w->p, &w->e);
	*due = rc == 0 && d.action != POLICY_NONE;
	if (rc == 0) {
		snprintf(res->detail, sizeof(res->detail), "%s", d.reason);
		if (cur.serial != NULL)
			snprintf(res->serial, sizeof(res->serial), "%s", cur.serial);
	}
	if (*due) {
		log_info("%s: %s: %s", w->p->name, policy_action_name(d.action), d.reason);
		rc = begin(w, &d, cur.object != NULL ? &cur : NULL);
	}
	device_cert_free(&cur);
	return rc;
}

/* A journal left by an earlier run may hold a key this process cannot use
 * (BIG-IP: its passphrase died with that run), or a CSR whose submission
 * has an unknown outcome; neither is used again. Checked once per run:
 * a key made in this run stays usable. */
static int
resume_checks(struct walk *w)
{
	int step = w->job.step;

	if (step >= STEP_KEY && step < STEP_ACTIVATED && (w->job.csr_pem == NULL ||
	    !w->dops->key_usable(w->dev, w->p, w->job.key_ref))) {
		struct ca *ca;
		const struct ca_ops *ops;

		if (step == STEP_ORDERED && w->p->ca->type == CA_ACME && w->job.key_ref != NULL)
			return rekey(w);
		/* issued for the dead key: it will never be served */
		if (w->job.cert_pem != NULL && get_ca(w, &ca, &ops) == 0)
			revoke_orphan(w, ca, ops, w->job.cert_pem);
		err_clear(&w->e);
		return restart(w, "key no longer usable", &w->e);
	}
	if (step == STEP_KEY && in_flight(w->job.order_ref))
		return resume_in_flight(w);
	return 0;
}

static int
walk_steps(struct walk *w, bool resumed, struct run_result *res)
{
	int rc = resumed ? resume_checks(w) : 0;

	while (rc == 0) {
		switch (w->job.step) {
		case STEP_NONE:
			rc = w->job.key_ref != NULL ? drop_stale_key(w) : step_key(w);
			break;
		case STEP_KEY:
			rc = step_submit(w);
			break;
		case STEP_ORDERED:
			rc = step_collect(w);
			break;
		case STEP_ISSUED:
			rc = step_install(w);
			break;
		case STEP_INSTALLED:
			rc = step_activate(w);
			break;
		case STEP_ACTIVATED:
			rc = step_save(w);
			break;
		case STEP_SAVED:
			return step_finish(w, res);
		default:
			return err_set(&w->e, LB_ERR, "journal has unknown step %d", w->job.step);
		}
	}
	return rc;
}

static void
record(struct walk *w, struct run_result *res)
{
	struct err e = {0};

	if (res->outcome == OUT_UNCHANGED) {
		engine_note_unchanged(w->en, w->p);
		return;
	}
	if (store_result_set(w->en->st, w->p->name, engine_outcome_name(res->outcome),
	    res->outcome == OUT_FAILED || res->outcome == OUT_PENDING ? res->detail : NULL, &e) != 0)
		log_warn("%s: cannot record the result: %s", w->p->name, e.msg);
}

void
engine_run_profile(struct engine *en, const struct cfg_profile *p, bool force,
    bool dry_run, struct run_result *res)
{
	struct walk w = { .en = en, .p = p };
	bool due = true, resumed = false;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = engine_device(en, p->device, &w.dev, &w.dops, &w.e);
	if (rc != 0)
		goto out;
	rc = store_job_get(en->st, p->name, &w.job, &w.e);
	if (rc == LB_ENOTFOUND) {
		if (dry_run) {
			rc = plan_profile(&w, force, res);
			goto out;
		}
		err_clear(&w.e);
		rc = decide(&w, force, &due, res);
		if (rc != 0 || !due) {
			/* what an earlier run could not retire; the engine saves
			 * the device before it closes it */
			if (rc == 0)
				engine_retire(en, p, w.dev, w.dops, NULL);
			res->outcome = OUT_UNCHANGED;
			goto out;
		}
	} else if (rc != 0)
		goto out;
	else {
		log_info("%s: resuming at step %s (%s)", p->name, store_step_name(w.job.step),
		    w.job.reason ? w.job.reason : "");
		resumed = true;
		if (dry_run) {
			res->outcome = OUT_PLANNED;
			snprintf(res->detail, sizeof(res->detail), "resume at step %s",
			    store_step_name(w.job.step));
			goto out;
		}
	}
	rc = walk_steps(&w, resumed, res);
out:
	if (rc == LB_EPENDING) {
		res->outcome = OUT_PENDING;
		engine_redact_copy(res->detail, sizeof(res->detail), w.e.msg);
	} else if (rc != 0) {
		res->outcome = OUT_FAILED;
		res->unreachable = rc == LB_EUNREACH;
		engine_redact_copy(res->detail, sizeof(res->detail), w.e.msg);
	}
	if (!dry_run)
		record(&w, res);
	store_job_free(&w.job);
}
