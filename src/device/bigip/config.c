/* What an F5 BIG-IP takes and requires of the configuration: a partition,
 * a device group to sync, and per profile the client-ssl profile that
 * serves the certificate. */

#include "config/config.h"
#include "device/device.h"

static const char *const keys[] = { "partition", "sync_group", NULL };
static const char *const profile_keys[] = { "client_ssl", NULL };

/* The http-01 answer is an iRule on a virtual server of the profile's
 * choosing: a BIG-IP has no global responder to fall back on. */
static int
check_profile(const struct cfg_profile *p, struct cfg_at *at, struct err *e)
{
	(void)at;
	if (p->ca->challenge != CHALLENGE_HTTP01 || p->challenge_vserver != NULL)
		return 0;
	return err_set(e, LB_ECONFIG, "missing required key 'challenge_vserver' "
	    "(CA '%s' uses http-01 and device '%s' is f5-bigip)", p->ca->name,
	    p->device->name);
}

const struct cfg_kind bigip_kind = {
	.type = "f5-bigip",
	.id = DEV_F5_BIGIP,
	.keys = keys,
	.profile_keys = profile_keys,
	.check_profile = check_profile,
};
