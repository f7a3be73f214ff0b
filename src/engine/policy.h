/* What is due for a profile and why: the renewal decision of SPEC §1
 * step 2, kept free of I/O so that plan and run decide alike. */
#ifndef LB_POLICY_H
#define LB_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config/config.h"
#include "device/device.h"

enum policy_action { POLICY_NONE, POLICY_ENROLL, POLICY_RENEW };

struct policy_decision {
	enum policy_action action;
	char reason[512];
	time_t renew_at; /* when the certificate becomes due (POLICY_NONE) */
};

/* installed: the certificate on the device, NULL when none. */
void policy_decide(const struct cfg_profile *p, const struct device_cert *installed,
    bool force, time_t now, struct policy_decision *out);

/* Days before not_after a certificate whose not-before is unknown becomes
 * due when the profile sets no renew_before_days. */
#define POLICY_DEFAULT_DAYS 30

/* The renewal threshold in seconds before not_after: renew_before_days
 * when set, else one third of the lifetime (not_after - not_before), else
 * (not_before unknown, 0) POLICY_DEFAULT_DAYS. */
long policy_window(const struct cfg_profile *p, time_t not_before, time_t not_after);

const char *policy_action_name(enum policy_action a);

/* The CA's suggested renewal window of the installed certificate (RFC
 * 9773) and the moment chosen in it. */
struct policy_ari {
	time_t start, end, pick;
};

/* A moment in [start, end) drawn uniformly from rnd (RFC 9773 §4.2);
 * start when the window is empty. */
time_t policy_ari_pick(time_t start, time_t end, uint64_t rnd);

/* Puts the CA's window in place of the date rule: a decision that came
 * from the dates alone (valid or expiring) becomes due at a->pick. Other
 * reasons (forced, key or names changed) stand, and so does the date
 * rule when the pick is not before the certificate expires. */
/* t as "2026-01-02T03:04:05Z" into buf, as reasons and logs show it. */
void policy_utc(time_t t, char *buf, size_t len);

void policy_apply_ari(const struct policy_ari *a, const struct device_cert *installed,
    time_t now, struct policy_decision *d);

/* A stable code for a decision's reason text, for scripts (plan --json):
 * no_certificate, forced, key_changed, names_changed, expiring, ari, revoked,
 * valid, resume; "other" for a text it does not know. reason may begin
 * with "ACTION: " as plan prints it. */
const char *policy_reason_code(const char *reason);

#endif
