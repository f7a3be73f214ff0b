/* Back to the previous certificate: automatically when a renewal's
 * certificate is not what is served (lifecycle.c), and by hand with
 * `lbcert rollback` while the previous certificate's objects are still on
 * the device. A renewal keeps them keep_previous_hours (retire.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "crypto/x509.h"
#include "engine/engine_int.h"
#include "util/log.h"
#include "util/mem.h"

/* The history outlives keep_previous_hours: a device's references go in
 * without the passphrase a BIG-IP entry carries (even in the unit's own
 * encrypted form). */
static void
history(struct engine *en, const struct cfg_profile *p, const char *action,
    const char *detail)
{
	struct err e = {0};
	json_t *refs = detail != NULL ? json_loads(detail, 0, NULL) : NULL;
	char *shown = NULL;

	if (json_is_object(refs) && json_object_get(refs, "passphrase") != NULL) {
		json_object_del(refs, "passphrase");
		shown = json_dumps(refs, JSON_COMPACT | JSON_SORT_KEYS);
	}
	if (store_history_add(en->st, p->name, p->device->name, action,
	    shown != NULL ? shown : detail, &e) != 0)
		log_warn("%s: history: %s", p->name, e.msg);
	free(shown);
	json_decref(refs);
}

int
engine_restore(struct engine *en, const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const char *prev_refs, struct err *e)
{
	int rc;

	if (dops->restore == NULL)
		return err_set(e, LB_ENOTSUP, "%s devices cannot restore a certificate",
		    dops->type);
	if ((rc = dops->restore(dev, p, prev_refs, e)) != 0)
		return rc;
	history(en, p, "restore", prev_refs);
	if ((rc = dops->save(dev, e)) != 0)
		return rc;
	history(en, p, "save", NULL);
	return 0;
}

/* The certificate the renewal replaced, for `lbcert rollback`. Done
 * before the new one is recorded; after that (a resumed run) the store's
 * certificate is the new one and nothing is left to remember. */
void
engine_remember_previous(struct engine *en, const struct cfg_profile *p,
    const char *old_refs, const char *new_serial)
{
	struct store_cert old = {0};
	struct err e = {0};
	int rc;

	if (old_refs == NULL)
		return;
	rc = store_cert_get(en->st, p->name, &old, &e);
	if (rc == LB_ENOTFOUND) {
		/* installed by another tool: the device's objects are enough */
		err_clear(&e);
		old.profile = xstrdup(p->name);
		old.device = xstrdup(p->device->name);
		old.object = xstrdup(p->object_name);
		rc = old.profile == NULL ? err_set(&e, LB_ERR, "out of memory") : 0;
	} else if (rc == 0 && old.serial != NULL && strcasecmp(old.serial, new_serial) == 0) {
		store_cert_free(&old);
		return;
	}
	if (rc == 0)
		rc = store_prev_put(en->st, &old, old_refs, &e);
	if (rc != 0)
		log_warn("%s: the previous certificate is not recorded, so `lbcert rollback` "
		    "cannot return to it: %s", p->name, e.msg);
	store_cert_free(&old);
}

int
engine_roll_back(struct engine *en, const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const char *old_refs, int rc, struct err *e)
{
	char why[sizeof(e->msg)], text[sizeof(e->msg)];
	struct err re = {0};

	snprintf(why, sizeof(why), "%s", e->msg);
	log_warn("%s: %s: putting the previous certificate back", p->name, why);
	if (engine_restore(en, p, dev, dops, old_refs, &re) != 0) {
		/* the history is read past the log's redaction */
		engine_redact_copy(text, sizeof(text), re.msg);
		history(en, p, "rollback_failed", text);
		err_set(e, rc, "%s; putting the previous certificate back failed too: %s", why,
		    re.msg);
		return rc;
	}
	engine_redact_copy(text, sizeof(text), why);
	history(en, p, "rollback", text);
	err_set(e, rc, "%s; rolled back: the previous certificate is in service again, the "
	    "new one stays installed", why);
	return rc;
}

/* Whether refs is still among p's pending retirements: what was retired
 * is gone from the device. */
static int
still_kept(struct engine *en, const struct cfg_profile *p, const char *refs, bool *kept,
    struct err *e)
{
	char **v = NULL;
	size_t n = 0;
	int rc;

	*kept = false;
	if ((rc = store_retire_list(en->st, p->name, (time_t)INT64_MAX, &v, &n, e)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		*kept |= strcmp(v[i], refs) == 0;
	strv_free(v, n);
	return 0;
}

/* The record of the certificate taken out of service: the store's when it
 * is the one the device served, else what the device told. */
static void
taken_out(struct engine *en, const struct cfg_profile *p, const struct device_cert *cur,
    struct store_cert *out)
{
	struct err e = {0};

	if (store_cert_get(en->st, p->name, out, &e) == 0 && out->serial != NULL &&
	    cur->serial != NULL && strcasecmp(out->serial, cur->serial) == 0)
		return;
	store_cert_free(out);
	out->profile = xstrdup(p->name);
	out->device = xstrdup(p->device->name);
	out->ca = xstrdup(p->ca->name);
	out->serial = xstrdup(cur->serial);
	out->not_before = cur->not_before;
	out->not_after = cur->not_after;
	out->key_desc = xstrdup(cur->key_desc);
	out->object = xstrdup(p->object_name);
	out->cert_pem = xstrdup(cur->cert_pem);
}

/* The store after the device serves prev again: prev is current, out
 * (NULL when unknown) the previous one, its objects kept as long. */
static int
record(struct engine *en, const struct cfg_profile *p, const struct store_cert *prev,
    const char *prev_refs, const struct store_cert *out, const char *out_refs,
    struct err *e)
{
	struct store_cert now = *prev;
	struct err we = {0};
	int rc;

	now.updated = time(NULL);
	if (out != NULL && out->profile != NULL)
		rc = store_prev_put(en->st, out, out_refs, e);
	else
		rc = store_prev_delete(en->st, p->name, e);
	if (rc != 0 || (rc = store_cert_put(en->st, &now, e)) != 0)
		return rc;
	/* in service again: no longer one to retire */
	if (store_retire_delete(en->st, p->name, prev_refs, &we) != 0)
		log_warn("%s: %s", p->name, we.msg);
	if (store_result_set(en->st, p->name, "rolled back", NULL, &we) != 0)
		log_warn("%s: cannot record the result: %s", p->name, we.msg);
	return 0;
}

/* What the restored certificate is checked against (SPEC §1 step 9). */
static int
verify_prev(const struct cfg_profile *p, struct device *dev, const struct device_ops *dops,
    const struct store_cert *prev, struct err *e)
{
	struct cert_info ci = {0};
	int rc;

	if (prev->cert_pem == NULL || prev->cert_pem[0] == '\0') {
		log_warn("%s: the previous certificate's PEM is not recorded; not checking "
		    "what is served", p->name);
		return 0;
	}
	if ((rc = x509_cert_info(prev->cert_pem, &ci, e)) == 0)
		rc = engine_verify_served(p, dev, dops, &ci, e);
	cert_info_free(&ci);
	if (rc != 0)
		err_prefix(e, "rolled back, but the check failed");
	return rc;
}

/* An expired or revoked certificate is not put back in service: clients
 * would refuse it. */
static int
servable(struct engine *en, const struct cfg_profile *p, const struct store_cert *prev,
    struct err *e)
{
	long n = 0;
	int rc;

	if (prev->not_after != 0 && prev->not_after <= time(NULL))
		return err_set(e, LB_ERR, "the previous certificate (serial %s) has expired; "
		    "not putting it back", prev->serial != NULL ? prev->serial : "unknown");
	if (prev->serial == NULL)
		return 0;
	if ((rc = store_history_count(en->st, p->name, "revoke", prev->serial, &n, e)) != 0)
		return rc;
	return n > 0 ? err_set(e, LB_ERR, "the previous certificate (serial %s) was revoked; "
	    "not putting it back", prev->serial) : 0;
}

static int
prerequisites(struct engine *en, const struct cfg_profile *p, struct store_cert *prev,
    char **prev_refs, struct err *e)
{
	struct store_job job = {0};
	time_t replaced = 0;
	char when[32];
	bool kept = false;
	int rc;

	if ((rc = store_job_get(en->st, p->name, &job, e)) == 0) {
		rc = err_set(e, LB_ERR, "a run of this profile is unfinished (journal at step "
		    "%s): let `lbcert run %s` finish it first", store_step_name(job.step), p->name);
		store_job_free(&job);
		return rc;
	}
	if (rc != LB_ENOTFOUND)
		return rc;
	err_clear(e);
	if ((rc = store_prev_get(en->st, p->name, prev, prev_refs, &replaced, e)) != 0) {
		if (rc == LB_ENOTFOUND)
			err_set(e, rc, "no previous certificate is recorded: no renewal has "
			    "replaced one");
		return rc;
	}
	if ((rc = still_kept(en, p, *prev_refs, &kept, e)) != 0)
		return rc;
	if (!kept) {
		struct tm tm;

		gmtime_r(&replaced, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		return err_set(e, LB_ENOTFOUND, "the objects of the previous certificate "
		    "(serial %s, replaced %s) are gone from the device: they are kept "
		    "keep_previous_hours (%d) after a renewal", prev->serial != NULL ?
		    prev->serial : "unknown", when, en->cfg->keep_previous_hours);
	}
	return servable(en, p, prev, e);
}

int
engine_rollback(struct engine *en, const struct cfg_profile *p, char *from, size_t from_len,
    char *to, size_t to_len, struct err *e)
{
	struct store_cert prev = {0}, out = {0};
	struct device_cert cur = {0};
	struct device *dev;
	const struct device_ops *dops;
	struct err we = {0};
	char *prev_refs = NULL;
	bool already;
	int rc;

	from[0] = to[0] = '\0';
	if ((rc = prerequisites(en, p, &prev, &prev_refs, e)) != 0)
		goto out;
	snprintf(to, to_len, "%s", prev.serial != NULL ? prev.serial : "unknown");
	if ((rc = engine_device(en, p->device, &dev, &dops, e)) != 0)
		goto out;
	if ((rc = dops->cert_get(dev, p, &cur, e)) != 0) {
		err_prefix(e, "cannot read what the device serves");
		goto out;
	}
	snprintf(from, from_len, "%s", cur.serial);
	/* a rollback that died after the device change: the store is what
	 * is left to do */
	already = prev.serial != NULL && strcasecmp(prev.serial, cur.serial) == 0;
	if (!already) {
		taken_out(en, p, &cur, &out);
		/* recorded before the device is asked, so the objects going out
		 * of service are retired in time whatever happens next */
		if ((rc = store_retire_add(en->st, p->name, cur.refs, e)) != 0)
			goto out;
		if ((rc = engine_restore(en, p, dev, dops, prev_refs, e)) != 0) {
			if (store_retire_delete(en->st, p->name, cur.refs, &we) != 0)
				log_warn("%s: %s", p->name, we.msg);
			goto out;
		}
	}
	if ((rc = record(en, p, &prev, prev_refs, already ? NULL : &out, cur.refs, e)) != 0)
		goto out;
	{
		char detail[300];

		snprintf(detail, sizeof(detail), "%s -> %s", from, to);
		history(en, p, "rollback", detail);
	}
	rc = verify_prev(p, dev, dops, &prev, e);
out:
	store_cert_free(&prev);
	store_cert_free(&out);
	device_cert_free(&cur);
	free(prev_refs);
	return rc;
}
