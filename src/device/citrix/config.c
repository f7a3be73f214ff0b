/* What a Citrix ADC takes and requires of the configuration. */

#include "config/config.h"
#include "device/device.h"

/* NITRO sslcertreq refuses a CSR without these three (reference §3): say
 * so at load time instead of failing on the appliance mid-run. */
static int
check_profile(const struct cfg_profile *p, struct cfg_at *at, struct err *e)
{
	const struct cfg_subject *s = &p->subject;

	if (s->country != NULL && s->state != NULL && s->organization != NULL)
		return 0;
	at->key = "subject";
	return err_set(e, LB_ECONFIG, "device '%s' is citrix-adc, whose CSRs need "
	    "country, state and organization", p->device->name);
}

const struct cfg_kind citrix_kind = {
	.type = "citrix-adc",
	.id = DEV_CITRIX_ADC,
	.check_profile = check_profile,
};
