/* What a Sectigo Certificate Manager CA takes and requires of the
 * configuration: the REST API's tenant, organization and certificate type,
 * its login, and the enroll request's custom fields and DCV settings. */

#include <string.h>

#include "ca/ca.h"
#include "config/config.h"

static const char *const keys[] = {
	"url", "customer_uri", "org_id", "cert_type", "term", "poll",
	"custom_fields", "dcv_mode", "dcv_email", NULL,
};
static const char *const required[] = {
	"url", "customer_uri", "org_id", "cert_type", "credentials", NULL,
};
static const char *const creds[] = { "login", "password", NULL };
static const char *const profile_keys[] = {
	"custom_fields", "dcv_mode", "dcv_email", NULL,
};

static int
check_profile(const struct cfg_profile *p, struct cfg_at *at, struct err *e)
{
	const struct cfg_scm_extra *x = &p->scm;

	if (x->dcv_mode == NULL || strcmp(x->dcv_mode, "EMAIL") != 0 ||
	    x->dcv_email != NULL)
		return 0;
	at->key = "dcv_mode";
	return err_set(e, LB_ECONFIG, "EMAIL needs dcv_email (in the profile or "
	    "CA '%s')", p->ca->name);
}

const struct cfg_kind scm_kind = {
	.type = "sectigo-scm",
	.id = CA_SECTIGO_SCM,
	.keys = keys,
	.required = required,
	.cred_keys = creds,
	.cred_required = creds,
	.profile_keys = profile_keys,
	.check_profile = check_profile,
};
