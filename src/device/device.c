#include "device/device.h"

#include <stdlib.h>

#include "util/mem.h"

const struct cfg_kind *const device_kinds[] = { &citrix_kind, &bigip_kind, NULL };

const struct device_ops *
device_ops_for(enum dev_type t)
{
	switch (t) {
	case DEV_CITRIX_ADC:
		return &citrix_ops;
	case DEV_F5_BIGIP:
		return &bigip_ops;
	}
	return NULL;
}

void
device_cert_free(struct device_cert *c)
{
	if (c == NULL)
		return;
	free(c->object);
	free(c->cert_pem);
	free(c->serial);
	strv_free(c->names, c->nnames);
	strv_free(c->bound, c->nbound);
	free(c->refs);
	*c = (struct device_cert){0};
}

void
device_inv_free(struct device_inv *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].serial);
		free(v[i].subject_cn);
		strv_free(v[i].bound, v[i].nbound);
	}
	free(v);
}
