/* The renewal decision with what the certificate alone does not say: the
 * issue date the store remembers, a revocation lbcert made, and the CA's
 * suggested renewal window (RFC 9773), asked of the CA no more often than
 * its Retry-After allows and kept in the store in between. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/engine_int.h"
#include "util/log.h"
#include "util/mem.h"

/* A CA without renewal information is asked again after this long: one
 * that starts to offer it is noticed, and no-op runs stay off the CA. */
#define NO_ARI_RECHECK_S 86400

/* A device may not report when its certificate became valid (a BIG-IP
 * ssl-cert object gives only the expiry); the store knows it for what
 * lbcert installed. */
static void
fill_not_before(struct engine *en, const struct cfg_profile *p, struct device_cert *cur)
{
	struct store_cert sc = {0};
	struct err e = {0};

	if (cur->not_before != 0 || cur->serial == NULL)
		return;
	if (store_cert_get(en->st, p->name, &sc, &e) == 0 && sc.serial != NULL &&
	    strcasecmp(sc.serial, cur->serial) == 0)
		cur->not_before = sc.not_before;
	store_cert_free(&sc);
}

/* A certificate that `lbcert revoke` revoked but left on the device is
 * replaced at the next run, whatever its dates say: serving a revoked
 * certificate breaks clients that check revocation. */
static void
revoked_override(struct engine *en, const struct cfg_profile *p,
    const struct device_cert *installed, struct policy_decision *d)
{
	struct err e = {0};
	long n = 0;

	/* The history, not the last result, remembers a revocation: a later
	 * failed run must not make a revoked certificate look fine. */
	if (installed == NULL || installed->serial == NULL || d->action != POLICY_NONE)
		return;
	if (store_history_count(en->st, p->name, "revoke", installed->serial, &n, &e) == 0 &&
	    n > 0) {
		d->action = POLICY_RENEW;
		snprintf(d->reason, sizeof(d->reason), "serial %s was revoked", installed->serial);
	}
}

static bool
same_cert(const struct store_ari *sa, const struct device_cert *cur)
{
	return sa->serial != NULL && strcasecmp(sa->serial, cur->serial) == 0;
}

/* Asks the CA and keeps its answer. 0 with *a filled when the CA gave a
 * window; old is what the store had (same certificate or not). */
static int
ari_fetch(struct engine *en, const struct cfg_profile *p, const struct device_cert *cur,
    const struct store_ari *old, struct policy_ari *a)
{
	struct store_ari na = {0};
	struct ca_renewal r = {0};
	struct ca *ca;
	const struct ca_ops *ops;
	struct err e = {0};
	uint64_t rnd = 0;
	time_t now = time(NULL);
	char from[32], to[32];
	int rc;

	if ((rc = engine_ca(en, p->ca, &ca, &ops, &e)) == 0)
		rc = ops->renewal_info(ca, cur->cert_pem, &r, &e);
	if (rc != 0 && rc != LB_ENOTSUP) {
		log_warn("%s: renewal information: %s", p->name, e.msg);
		return -1;
	}
	na.serial = cur->serial;
	na.retry_at = now + NO_ARI_RECHECK_S;
	if (rc == 0) {
		na.cert_id = r.cert_id;
		na.start = r.start;
		na.end = r.end;
		na.retry_at = r.retry_at;
		na.explanation = r.explanation;
		/* The moment is drawn once per window: asking again must not
		 * draw again until one run lands past it. */
		if (same_cert(old, cur) && old->start == r.start && old->end == r.end &&
		    old->cert_id != NULL)
			na.pick = old->pick;
		else {
			if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
				rnd = (uint64_t)now;
			na.pick = policy_ari_pick(r.start, r.end, rnd);
		}
		policy_utc(r.start, from, sizeof(from));
		policy_utc(r.end, to, sizeof(to));
		log_info("%s: %s suggests renewal between %s and %s%s%s", p->name,
		    p->ca->name, from, to, r.explanation ? ": " : "",
		    r.explanation ? r.explanation : "");
	} else
		log_debug("%s: %s", p->name, e.msg);
	if (store_ari_put(en->st, p->name, &na, &e) != 0)
		log_warn("%s: cannot keep the renewal information: %s", p->name, e.msg);
	if (rc == 0)
		*a = (struct policy_ari){ na.start, na.end, na.pick };
	ca_renewal_free(&r);
	return rc == 0 ? 0 : -1;
}

/* The installed certificate's PEM (malloc'd) or NULL: what lbcert
 * recorded when the serials match (a device may list a certificate
 * without its PEM), else what the device gave. */
static char *
installed_pem(struct engine *en, const struct cfg_profile *p, const struct device_cert *cur)
{
	struct store_cert sc = {0};
	struct err e = {0};
	char *pem = NULL;

	if (store_cert_get(en->st, p->name, &sc, &e) == 0 && sc.serial != NULL &&
	    strcasecmp(sc.serial, cur->serial) == 0 && sc.cert_pem != NULL) {
		pem = sc.cert_pem;
		sc.cert_pem = NULL;
	} else if (cur->cert_pem != NULL && cur->cert_pem[0] != '\0')
		pem = xstrdup(cur->cert_pem);
	store_cert_free(&sc);
	return pem;
}

/* The CA's window for the installed certificate: from the store until
 * its retry time, else from the CA. -1 when there is none (the CA offers
 * none, or asking failed: logged, and a stale answer is used if any). */
static int
ari_window(struct engine *en, const struct cfg_profile *p, const struct device_cert *cur,
    struct policy_ari *a)
{
	const struct ca_ops *ops = ca_ops_for(p->ca->type);
	struct store_ari sa = {0};
	struct device_cert c;
	struct err e = {0};
	time_t now = time(NULL);
	int rc = -1;

	if (ops == NULL || ops->renewal_info == NULL || cur->serial == NULL ||
	    (cur->not_after > 0 && now >= cur->not_after))
		return -1;
	if (store_ari_get(en->st, p->name, &sa, &e) != 0 && e.code != LB_ENOTFOUND)
		log_warn("%s: %s", p->name, e.msg);
	if (same_cert(&sa, cur) && now < sa.retry_at) {
		char at[32];

		policy_utc(sa.retry_at, at, sizeof(at));
		log_debug("%s: renewal information as of an earlier run (asked again after %s)",
		    p->name, at);
		if (sa.cert_id != NULL) {
			*a = (struct policy_ari){ sa.start, sa.end, sa.pick };
			rc = 0;
		}
	} else {
		c = *cur;
		if ((c.cert_pem = installed_pem(en, p, cur)) != NULL)
			rc = ari_fetch(en, p, &c, &sa, a);
		free(c.cert_pem);
		if (rc != 0 && same_cert(&sa, cur) && sa.cert_id != NULL) {
			*a = (struct policy_ari){ sa.start, sa.end, sa.pick };
			rc = 0;
		}
	}
	store_ari_free(&sa);
	return rc;
}

void
engine_ari_issued(struct engine *en, const struct cfg_profile *p, const char *cert_pem,
    const char *serial)
{
	const struct ca_ops *ops = ca_ops_for(p->ca->type);
	struct device_cert cur = { .cert_pem = (char *)cert_pem, .serial = (char *)serial };
	struct store_ari none = {0};
	struct policy_ari a;

	if (ops != NULL && ops->renewal_info != NULL && cert_pem != NULL && serial != NULL)
		(void)ari_fetch(en, p, &cur, &none, &a);
}

void
engine_decide(struct engine *en, const struct cfg_profile *p, struct device_cert *cur,
    bool force, struct policy_decision *d)
{
	struct policy_ari a;
	const char *code;

	if (cur != NULL)
		fill_not_before(en, p, cur);
	policy_decide(p, cur, force, time(NULL), d);
	code = policy_reason_code(d->reason);
	/* only a decision the dates made is the CA's to make instead */
	if (cur != NULL && (strcmp(code, "valid") == 0 || strcmp(code, "expiring") == 0) &&
	    ari_window(en, p, cur, &a) == 0)
		policy_apply_ari(&a, cur, time(NULL), d);
	revoked_override(en, p, cur, d);
}
