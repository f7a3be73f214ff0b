/* The step machine of SPEC §1. Each step's result is journaled in the
 * store before the next step starts, so a run killed anywhere resumes from
 * the journal: a known order is collected, never placed again, and a
 * submission whose answer was lost is looked up at the CA by the tag
 * journaled before it was sent; it is sent again only when the CA
 * provably has no such order. This file holds the decision, the device's
 * steps and the walk; the CA's steps are in order.c. */
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
#include "engine/walk.h"
#include "util/log.h"
#include "util/mem.h"

int
walk_journal_e(struct walk *w, int step, struct err *e)
{
	int rc;

	w->job.step = step;
	w->job.updated = time(NULL);
	/* only when this failure is the one the profile reports */
	if ((rc = store_job_put(w->en->st, &w->job, e)) != 0 && e == &w->e)
		w->side = FAIL_LOCAL;
	return rc;
}

int
walk_journal(struct walk *w, int step)
{
	return walk_journal_e(w, step, &w->e);
}

void
walk_history(struct walk *w, const char *action, const char *detail)
{
	struct err e = {0};

	if (store_history_add(w->en->st, w->p->name, w->p->device->name, action, detail, &e) != 0)
		log_warn("%s: history: %s", w->p->name, e.msg);
}

/* 0, or -1 when src could not be copied (*dst is then NULL). */
int
walk_set_str(char **dst, const char *src)
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
	walk_history(w, "key_discard", w->job.key_ref);
	return walk_set_str(&w->job.key_ref, NULL) != 0 ? err_set(e, LB_ERR, "out of memory") : 0;
}

/* Throws the key away and starts the profile over from a fresh key. A
 * journal write that fails is described in je. */
int
walk_restart(struct walk *w, const char *why, struct err *je)
{
	struct err de = {0};

	log_warn("%s: %s: discarding key %s and starting over", w->p->name, why, w->job.key_ref);
	if (discard_key(w, &de) != 0)
		log_warn("%s", de.msg);
	walk_set_str(&w->job.csr_pem, NULL);
	walk_set_str(&w->job.order_ref, NULL);
	walk_set_str(&w->job.cert_pem, NULL);
	walk_set_str(&w->job.chain_pem, NULL);
	walk_set_str(&w->job.install_ref, NULL);
	return walk_journal_e(w, STEP_NONE, je);
}

/* walk_restart() for a caller whose w->e already holds the error the user must
 * see (the CA's): a failed journal write is logged instead of replacing
 * it. */
void
walk_restart_keep_error(struct walk *w, const char *why)
{
	struct err je = {0};

	if (walk_restart(w, why, &je) != 0)
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
	walk_set_str(&w->job.csr_pem, NULL);
	if (w->dops->key_ref_for != NULL) {
		if ((w->job.key_ref = w->dops->key_ref_for(w->dev, w->p, tag)) == NULL)
			return err_set(&w->e, LB_ERR, "out of memory");
		if ((rc = walk_journal(w, w->job.step)) != 0)
			return rc;
	}
	rc = w->dops->key_create(w->dev, w->p, tag, &ref, &csr, &w->e);
	if (rc != 0) {
		struct err de = {0};

		/* the device may have made the key before it failed */
		if (w->job.key_ref != NULL &&
		    (discard_key(w, &de) != 0 || walk_journal_e(w, w->job.step, &de) != 0))
			log_warn("%s", de.msg);
		return rc;
	}
	free(w->job.key_ref);
	w->job.key_ref = ref;
	w->job.csr_pem = csr;
	walk_history(w, "key_create", w->job.key_ref);
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
	return walk_journal(w, STEP_NONE);
}

static int
step_key(struct walk *w)
{
	int rc = make_key(w);

	return rc != 0 ? rc : walk_journal(w, STEP_KEY);
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
	return walk_journal(w, STEP_ORDERED);
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
	walk_history(w, "cert_install", w->job.install_ref);
	return walk_journal(w, STEP_INSTALLED);
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
	if (walk_journal_e(w, STEP_INSTALLED, &je) != 0)
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
	walk_history(w, w->job.first ? "bind" : "swap", w->p->object_name);
	return walk_journal(w, STEP_ACTIVATED);
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
	w->side = FAIL_VERIFY;
	if ((rc = x509_cert_info(w->job.cert_pem, &ci, &w->e)) == 0 &&
	    (rc = engine_verify_served(w->p, w->dev, w->dops, &ci, &w->e)) != 0)
		rc = roll_back(w, rc);
	w->side = FAIL_DEVICE;
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
	walk_history(w, "save", NULL);
	return walk_journal(w, STEP_SAVED);
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
	w->side = FAIL_LOCAL;
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
		w->side = FAIL_VERIFY;
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
	return walk_journal(w, STEP_NONE);
}

/* What is due for the profile, from the certificate on the device. */
static int
judge(struct walk *w, bool force, struct policy_decision *d, struct device_cert *cur)
{
	int rc;

	w->side = FAIL_DEVICE;
	rc = w->dops->cert_get(w->dev, w->p, cur, &w->e);
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

	if (rc == 0 && d.action != POLICY_NONE) {
		w->side = FAIL_CA;
		rc = engine_ca_prepare(w->en, w->p, &w->e);
	}
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

	if (rc == 0 && d.action != POLICY_NONE) {
		w->side = FAIL_CA;
		rc = engine_ca_prepare(w->en, w->p, &w->e);
	}
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
		if (w->job.cert_pem != NULL && walk_get_ca(w, &ca, &ops) == 0)
			walk_revoke_orphan(w, ca, ops, w->job.cert_pem);
		err_clear(&w->e);
		return walk_restart(w, "key no longer usable", &w->e);
	}
	if (step == STEP_KEY && in_flight(w->job.order_ref))
		return walk_resume_in_flight(w);
	return 0;
}

static int
walk_steps(struct walk *w, bool resumed, struct run_result *res)
{
	int rc = resumed ? resume_checks(w) : 0;

	while (rc == 0) {
		/* the journal says which peer the next step needs */
		w->side = w->job.step == STEP_KEY || w->job.step == STEP_ORDERED ? FAIL_CA :
		    FAIL_DEVICE;
		switch (w->job.step) {
		case STEP_NONE:
			rc = w->job.key_ref != NULL ? drop_stale_key(w) : step_key(w);
			break;
		case STEP_KEY:
			rc = walk_submit(w);
			break;
		case STEP_ORDERED:
			rc = walk_collect(w);
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
	w.side = FAIL_DEVICE;
	rc = engine_device(en, p->device, &w.dev, &w.dops, &w.e);
	if (rc != 0)
		goto out;
	w.side = FAIL_LOCAL;
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
		res->fail = rc == LB_EUNREACH ? FAIL_UNREACHABLE : rc == LB_EAUTH ? FAIL_AUTH :
		    w.side != FAIL_NONE ? w.side : FAIL_LOCAL;
		engine_redact_copy(res->detail, sizeof(res->detail), w.e.msg);
	}
	if (!dry_run)
		record(&w, res);
	store_job_free(&w.job);
}
