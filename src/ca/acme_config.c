/* What an ACME CA takes and requires of the configuration: the directory,
 * the challenge and what it needs (a dns: block and a TSIG secret for
 * dns-01, a challenge virtual server for http-01), External Account
 * Binding credentials. */

#include <stdbool.h>
#include <string.h>

#include "ca/ca.h"
#include "config/config.h"

static const char *const keys[] = {
	"directory", "contact", "challenge", "preferred_chain", "dns",
	"acme_profile", "allow_origins", NULL,
};
static const char *const required[] = { "directory", NULL };
static const char *const creds[] = { "eab_kid", "eab_hmac_key", "tsig_secret", NULL };
static const char *const profile_keys[] = { "challenge_vserver", "acme_profile", NULL };

/* A TSIG secret as BIND's tsig-keygen writes it: standard base64. */
static bool
base64_ok(const char *s)
{
	size_t len = strlen(s), pad = 0;

	if (len == 0 || len % 4 != 0)
		return false;
	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/") == len - pad;
}

static int
objection(struct cfg_at *at, const char *key, bool on_key, struct err *e,
    const char *msg)
{
	at->key = key;
	at->on_key = on_key;
	return err_set(e, LB_ECONFIG, "%s", msg);
}

/* Which keys go with which challenge. */
static int
check_challenge(const struct cfg_ca *ca, struct cfg_at *at, struct err *e)
{
	bool dns01 = ca->challenge == CHALLENGE_DNS01;

	if (dns01 && ca->dns.server == NULL)
		return objection(at, "challenge", false, e, "dns-01 needs a dns: block "
		    "(server, tsig_name, ...)");
	if (!dns01 && ca->dns.server != NULL)
		return objection(at, "dns", true, e, "is only used with challenge: dns-01");
	if (dns01 && ca->credentials == NULL)
		return objection(at, "dns", true, e, "needs credentials: naming an "
		    "entry with tsig_secret");
	return 0;
}

/* The credentials entry: EAB's two halves together, the TSIG secret with
 * dns-01 only. */
static int
check_credentials(const struct cfg_ca *ca, struct cfg_at *at, struct err *e)
{
	bool dns01 = ca->challenge == CHALLENGE_DNS01;

	at->credentials = true;
	if ((ca->eab_kid == NULL) != (ca->eab_hmac_key == NULL))
		return err_set(e, LB_ECONFIG, "eab_kid and eab_hmac_key go together; "
		    "'%s' is missing", ca->eab_kid == NULL ? "eab_kid" : "eab_hmac_key");
	if (dns01 && ca->dns.tsig_secret == NULL)
		return err_set(e, LB_ECONFIG, "missing required key 'tsig_secret' "
		    "(or tsig_secret_file)");
	at->key = "tsig_secret";
	if (!dns01 && ca->dns.tsig_secret != NULL)
		return objection(at, "tsig_secret", true, e, "only used by a CA with "
		    "challenge: dns-01");
	if (ca->dns.tsig_secret != NULL && !base64_ok(ca->dns.tsig_secret))
		return err_set(e, LB_ECONFIG, "not base64 (as tsig-keygen prints it)");
	return 0;
}

static int
check_ca(const struct cfg_ca *ca, struct cfg_at *at, struct err *e)
{
	int rc;

	if ((rc = check_challenge(ca, at, e)) != 0 || ca->credentials == NULL)
		return rc;
	return check_credentials(ca, at, e);
}

static int
check_profile(const struct cfg_profile *p, struct cfg_at *at, struct err *e)
{
	bool http01 = p->ca->challenge == CHALLENGE_HTTP01;

	if (p->challenge_vserver != NULL && !http01) {
		at->key = "challenge_vserver";
		at->on_key = true;
		return err_set(e, LB_ECONFIG, "only used with an http-01 CA (CA '%s' "
		    "does not answer http-01)", p->ca->name);
	}
	if (!http01)
		return 0;
	for (size_t i = 0; i < p->nsans; i++) {
		if (p->sans[i][0] != '*')
			continue;
		at->key = strcmp(p->sans[i], p->common_name) == 0 ? "common_name" :
		    "subject_alt_names";
		at->item = p->sans[i];
		return err_set(e, LB_ECONFIG, "wildcard name '%s' cannot be validated "
		    "with http-01 (CA '%s'); use a CA with challenge: dns-01 (or none)",
		    p->sans[i], p->ca->name);
	}
	return 0;
}

const struct cfg_kind acme_kind = {
	.type = "acme",
	.id = CA_ACME,
	.keys = keys,
	.required = required,
	.cred_keys = creds,
	.profile_keys = profile_keys,
	.check_ca = check_ca,
	.check_profile = check_profile,
};
