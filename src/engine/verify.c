/* SPEC §1 step 9: what the listed vservers serve once a certificate is in
 * service. A vserver with a check address is asked over TLS, with SNI;
 * one without is judged by what the device reports: the profile's
 * certificate is the new one and is bound to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/x509.h"
#include "engine/engine_int.h"
#include "net/tlsprobe.h"
#include "util/log.h"

static int
probe(const struct cfg_profile *p, const struct cfg_vserver *v, const struct cert_info *want,
    struct err *e)
{
	struct cert_info got = {0};
	char *pem = NULL;
	/* the profile's own key type: another key's certificate may serve
	 * beside it (keys:) */
	int rc = tlsprobe_leaf_key(v->check, p->common_name, p->key.type == KEY_ECDSA ?
	    PROBE_ECDSA : PROBE_RSA, p->device->timeout_s, &pem, e);

	if (rc == 0)
		rc = x509_cert_info(pem, &got, e);
	free(pem);
	if (rc == 0 && strcmp(got.fingerprint, want->fingerprint) != 0)
		rc = err_set(e, LB_ERR, "vserver %s at %s serves serial %s, not the new %s",
		    v->name, v->check, got.serial, want->serial);
	cert_info_free(&got);
	if (rc == 0)
		log_info("%s: %s at %s serves serial %s", p->name, v->name, v->check,
		    want->serial);
	return rc;
}

/* Devices name a vserver as configured or with its partition
 * ("/Common/vs1" for "vs1"). */
static bool
bound_to(const struct device_cert *c, const char *vs)
{
	size_t l = strlen(vs);

	for (size_t i = 0; i < c->nbound; i++) {
		size_t bl = strlen(c->bound[i]);

		if (strcmp(c->bound[i], vs) == 0 || (vs[0] != '/' && bl > l &&
		    c->bound[i][bl - l - 1] == '/' && strcmp(c->bound[i] + bl - l, vs) == 0))
			return true;
	}
	return false;
}

static int
reported(const struct cfg_profile *p, const struct cfg_vserver *v, const struct device_cert *c,
    const struct cert_info *want, struct err *e)
{
	if (c->serial == NULL || strcasecmp(c->serial, want->serial) != 0)
		return err_set(e, LB_ERR, "the device reports serial %s for %s, not the new %s",
		    c->serial != NULL ? c->serial : "(none)", c->object, want->serial);
	if (!bound_to(c, v->name))
		return err_set(e, LB_ERR, "the device reports %s not bound to vserver %s",
		    c->object, v->name);
	log_info("%s: the device reports serial %s bound to %s", p->name, want->serial, v->name);
	return 0;
}

int
engine_verify_served(const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const struct cert_info *want, struct err *e)
{
	struct device_cert c = {0};
	bool got = false;
	int rc = 0;

	for (size_t i = 0; i < p->nvservers && rc == 0; i++) {
		const struct cfg_vserver *v = &p->vservers[i];

		if (v->check != NULL) {
			rc = probe(p, v, want, e);
			continue;
		}
		if (!got && (rc = dops->cert_get(dev, p, &c, e)) != 0) {
			err_prefix(e, "cannot read what the device serves");
			break;
		}
		got = true;
		rc = reported(p, v, &c, want, e);
	}
	device_cert_free(&c);
	return rc;
}
