/* What is due for a profile and why: the renewal decision of SPEC §1
 * step 2, kept free of I/O so that plan and run decide alike. */
#ifndef LB_POLICY_H
#define LB_POLICY_H

#include <stdbool.h>
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

/* A stable code for a decision's reason text, for scripts (plan --json):
 * no_certificate, forced, key_changed, names_changed, expiring, revoked,
 * valid, resume; "other" for a text it does not know. reason may begin
 * with "ACTION: " as plan prints it. */
const char *policy_reason_code(const char *reason);

#endif
