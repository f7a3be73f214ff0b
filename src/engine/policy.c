#include "engine/policy.h"

#include <stdio.h>
#include <time.h>
#include <string.h>
#include <strings.h>

const char *
policy_action_name(enum policy_action a)
{
	switch (a) {
	case POLICY_NONE:
		return "nothing";
	case POLICY_ENROLL:
		return "enroll";
	case POLICY_RENEW:
		return "renew";
	}
	return "?";
}

/* The codes sit next to the texts they name: a reworded reason that
 * loses its code fails the unit test, not a user's script. The revoked
 * and resume texts are the engine's (lifecycle.c). */
const char *
policy_reason_code(const char *reason)
{
	static const struct {
		const char *prefix, *code;
	} codes[] = {
		{ "no certificate ", "no_certificate" },
		{ "forced", "forced" },
		{ "key changed: ", "key_changed" },
		{ "names changed:", "names_changed" },
		{ "expires in ", "expiring" },
		{ "CA suggests renewal (ARI)", "ari" },
		{ "serial ", "revoked" },
		{ "valid for ", "valid" },
		{ "resume at step ", "resume" },
	};
	static const enum policy_action actions[] = { POLICY_NONE, POLICY_ENROLL,
		POLICY_RENEW };

	for (size_t i = 0; i < sizeof(actions) / sizeof(*actions); i++) {
		const char *a = policy_action_name(actions[i]);
		size_t n = strlen(a);

		if (strncmp(reason, a, n) == 0 && strncmp(reason + n, ": ", 2) == 0) {
			reason += n + 2;
			break;
		}
	}
	for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++)
		if (strncmp(reason, codes[i].prefix, strlen(codes[i].prefix)) == 0 &&
		    (strcmp(codes[i].code, "revoked") != 0 ||
		    strstr(reason, " was revoked") != NULL))
			return codes[i].code;
	return "other";
}

long
policy_window(const struct cfg_profile *p, time_t not_before, time_t not_after)
{
	if (p->renew_before_days > 0)
		return (long)p->renew_before_days * 86400;
	/* Unknown not-before (0): a lifetime cannot be taken a third of, and
	 * guessing it short would renew, and buy, on every run. */
	if (not_before <= 0 || not_after <= not_before)
		return (long)POLICY_DEFAULT_DAYS * 86400;
	/* One third of the lifetime: short-lived certificates (6 or 45 days)
	 * renew in proportion instead of looping on a fixed 30-day window. */
	return (long)((not_after - not_before) / 3);
}

static bool
has_name(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], name) == 0)
			return true;
	return false;
}

/* Appends "+a -b" differences of the wanted and installed names. */
static bool
names_differ(const struct cfg_profile *p, const struct device_cert *c, char *buf, size_t len)
{
	size_t off = 0;
	bool differ = false;

	buf[0] = '\0';
	for (size_t i = 0; i < p->nsans; i++)
		if (!has_name(c->names, c->nnames, p->sans[i])) {
			differ = true;
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, " +%s", p->sans[i]);
		}
	for (size_t i = 0; i < c->nnames; i++)
		if (!has_name(p->sans, p->nsans, c->names[i])) {
			differ = true;
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, " -%s", c->names[i]);
		}
	return differ;
}

void
policy_decide(const struct cfg_profile *p, const struct device_cert *installed,
    bool force, time_t now, struct policy_decision *out)
{
	char want[32], diff[256];
	long window;

	memset(out, 0, sizeof(*out));
	if (installed == NULL) {
		out->action = POLICY_ENROLL;
		snprintf(out->reason, sizeof(out->reason), "no certificate %s on the device",
		    p->object_name);
		return;
	}
	out->action = POLICY_RENEW;
	config_key_desc(&p->key, want, sizeof(want));
	window = policy_window(p, installed->not_before, installed->not_after);
	if (force) {
		snprintf(out->reason, sizeof(out->reason), "forced");
		return;
	}
	/* both reasons when both changed, so plan tells the whole story */
	if (installed->key_desc[0] != '\0' && strcmp(installed->key_desc, want) != 0) {
		int n = snprintf(out->reason, sizeof(out->reason), "key changed: %s -> %s",
		    installed->key_desc, want);
		if (names_differ(p, installed, diff, sizeof(diff)) && n > 0 &&
		    (size_t)n < sizeof(out->reason))
			snprintf(out->reason + n, sizeof(out->reason) - (size_t)n,
			    "; names changed:%s", diff);
		return;
	}
	if (names_differ(p, installed, diff, sizeof(diff))) {
		snprintf(out->reason, sizeof(out->reason), "names changed:%s", diff);
		return;
	}
	out->renew_at = installed->not_after - window;
	if (now >= out->renew_at) {
		long days = (long)((installed->not_after - now) / 86400);
		if (p->renew_before_days > 0)
			snprintf(out->reason, sizeof(out->reason),
			    "expires in %ld days (renew_before_days %d)", days, p->renew_before_days);
		else if (installed->not_before <= 0)
			snprintf(out->reason, sizeof(out->reason),
			    "expires in %ld days (issue date unknown: %d-day window)", days,
			    POLICY_DEFAULT_DAYS);
		else
			snprintf(out->reason, sizeof(out->reason),
			    "expires in %ld days (less than a third of its lifetime left)", days);
		return;
	}
	out->action = POLICY_NONE;
	snprintf(out->reason, sizeof(out->reason), "valid for %ld more days",
	    (long)((installed->not_after - now) / 86400));
}

time_t
policy_ari_pick(time_t start, time_t end, uint64_t rnd)
{
	if (end <= start)
		return start;
	return start + (time_t)(rnd % (uint64_t)(end - start));
}

void
policy_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

void
policy_apply_ari(const struct policy_ari *a, const struct device_cert *installed,
    time_t now, struct policy_decision *d)
{
	const char *code = policy_reason_code(d->reason);
	char from[32], to[32];

	if (installed == NULL || (strcmp(code, "valid") != 0 && strcmp(code, "expiring") != 0))
		return;
	/* a window past the expiry is no advice to follow */
	if (a->end <= a->start || (installed->not_after > 0 && a->pick >= installed->not_after))
		return;
	policy_utc(a->start, from, sizeof(from));
	policy_utc(a->end, to, sizeof(to));
	d->renew_at = a->pick;
	if (now >= a->pick) {
		d->action = POLICY_RENEW;
		snprintf(d->reason, sizeof(d->reason), "CA suggests renewal (ARI) between %s and %s",
		    from, to);
		return;
	}
	d->action = POLICY_NONE;
	snprintf(d->reason, sizeof(d->reason), "valid for %ld more days (CA suggests renewal "
	    "(ARI) between %s and %s)", (long)((installed->not_after - now) / 86400), from, to);
}
