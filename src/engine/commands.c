/* What the commands besides run and plan ask of devices and CAs — check,
 * inventory and revoke — so that no command calls a driver or a CA client
 * itself: sessions, redaction and the history stay the engine's. */
#include <stdio.h>

#include "engine/engine_int.h"
#include "util/log.h"

int
engine_check_device(struct engine *en, const struct cfg_device *d, const char **active_url,
    struct err *e)
{
	struct device *dev;
	const struct device_ops *ops;
	int rc;

	*active_url = NULL;
	if ((rc = engine_device(en, d, &dev, &ops, e)) != 0)
		return rc;
	*active_url = ops->active_url(dev);
	return 0;
}

int
engine_check_ca(struct engine *en, const struct cfg_ca *c, struct err *e)
{
	struct ca *ca;
	const struct ca_ops *ops;
	int rc;

	if ((rc = engine_ca(en, c, &ca, &ops, e)) != 0)
		return rc;
	return ops->ping(ca, e);
}

int
engine_check_profile(struct engine *en, const struct cfg_profile *p, struct err *e)
{
	struct ca *ca;
	const struct ca_ops *ops;
	int rc;

	if ((rc = engine_ca(en, p->ca, &ca, &ops, e)) != 0)
		return rc;
	return ops->prepare != NULL ? ops->prepare(ca, p, e) : 0;
}

int
engine_inventory(struct engine *en, const struct cfg_device *d, struct device_inv **out,
    size_t *n, struct err *e)
{
	struct device *dev;
	const struct device_ops *ops;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = engine_device(en, d, &dev, &ops, e)) != 0)
		return rc;
	return ops->inventory(dev, out, n, e);
}

/* Takes p's certificate off its device, saved before anything else. */
static int
remove_from_device(struct engine *en, const struct cfg_profile *p, const char *serial,
    struct err *e)
{
	struct device *d;
	const struct device_ops *ops;
	struct err he = {0};
	int rc;

	if ((rc = engine_device(en, p->device, &d, &ops, e)) != 0 ||
	    (rc = ops->remove(d, p, e)) != 0 || (rc = ops->save(d, e)) != 0)
		return rc;
	if (store_history_add(en->st, p->name, p->device->name, "remove", serial, &he) != 0)
		log_warn("%s: removed from %s, but the history does not say so: %s", p->name,
		    p->device->name, he.msg);
	return 0;
}

int
engine_revoke(struct engine *en, const struct cfg_profile *p, int reason, bool remove,
    char *serial, size_t serial_len, struct err *e)
{
	struct store_cert c = {0};
	struct ca *ca;
	const struct ca_ops *ops;
	struct err we = {0};
	int rc;

	serial[0] = '\0';
	if ((rc = store_cert_get(en->st, p->name, &c, e)) != 0) {
		err_prefix(e, "no certificate recorded for this profile");
		goto out;
	}
	snprintf(serial, serial_len, "%s", c.serial);
	/* Off the device first: a certificate that is revoked but still
	 * served would break clients for nothing. */
	if (remove && (rc = remove_from_device(en, p, c.serial, e)) != 0)
		goto out;
	if ((rc = engine_ca(en, p->ca, &ca, &ops, e)) != 0 ||
	    (rc = ops->revoke(ca, c.ca_ref, c.cert_pem, reason, e)) != 0)
		goto out;
	/* The next run replaces a revoked certificate still in service only
	 * because this entry says it was revoked (lifecycle.c): losing it is
	 * a failure. */
	if ((rc = store_history_add(en->st, p->name, p->device->name, "revoke", c.serial,
	    &we)) != 0) {
		err_set(e, rc, "serial %s is revoked at %s, but recording that failed, so the "
		    "next run would not replace it (rerun revoke, or run --force %s): %s",
		    c.serial, p->ca->name, p->name, we.msg);
		goto out;
	}
	if (remove && store_cert_delete(en->st, p->name, &we) != 0)
		log_warn("%s: the state still lists the removed certificate: %s", p->name, we.msg);
	if (store_result_set(en->st, p->name, "revoked", NULL, &we) != 0)
		log_warn("%s: cannot record the result: %s", p->name, we.msg);
out:
	store_cert_free(&c);
	return rc;
}
