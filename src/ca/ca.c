#include "ca/ca.h"

#include <stdlib.h>
#include <string.h>

const struct cfg_kind *const ca_kinds[] = { &scm_kind, &acme_kind, NULL };

const struct ca_ops *
ca_ops_for(enum ca_type t)
{
	switch (t) {
	case CA_SECTIGO_SCM:
		return &scm_ops;
	case CA_ACME:
		return &acme_ops;
	}
	return NULL;
}

static const struct {
	const char *name;
	int code;
} reasons[] = {
	{ "unspecified", REVOKE_UNSPECIFIED },
	{ "keyCompromise", REVOKE_KEY_COMPROMISE },
	{ "cACompromise", REVOKE_CA_COMPROMISE },
	{ "affiliationChanged", REVOKE_AFFILIATION_CHANGED },
	{ "superseded", REVOKE_SUPERSEDED },
	{ "cessationOfOperation", REVOKE_CESSATION },
	{ "certificateHold", REVOKE_CERTIFICATE_HOLD },
	{ "privilegeWithdrawn", REVOKE_PRIVILEGE_WITHDRAWN },
};

int
ca_reason_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(s, reasons[i].name) == 0)
			return reasons[i].code;
	return -1;
}

void
ca_renewal_free(struct ca_renewal *r)
{
	if (r == NULL)
		return;
	free(r->cert_id);
	free(r->explanation);
	memset(r, 0, sizeof(*r));
}
