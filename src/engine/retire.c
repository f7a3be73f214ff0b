/* Retirement of a replaced certificate's objects (SPEC §1 step 8). The
 * refs are recorded in the store before the device is asked, and forgotten
 * only once the device confirms; whatever the device did not remove (an
 * error, a lost answer) is retried on every later run of the profile,
 * before its save, until the device holds only what is in service. The
 * drivers never remove an object still bound or in use. */
#include <stdbool.h>
#include <string.h>

#include "engine/engine_int.h"
#include "util/log.h"
#include "util/mem.h"

static void
retired(struct engine *en, const struct cfg_profile *p, const char *refs)
{
	struct err e = {0};

	if (store_history_add(en->st, p->name, p->device->name, "retire", refs, &e) != 0)
		log_warn("%s: history: %s", p->name, e.msg);
	if (store_retire_delete(en->st, p->name, refs, &e) != 0)
		log_warn("%s: %s", p->name, e.msg);
}

int
engine_retire(struct engine *en, const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const char *old_refs)
{
	struct err e = {0};
	char **v = NULL;
	size_t n = 0;
	bool listed = false;
	int left = 0;

	if (old_refs != NULL && old_refs[0] != '\0' &&
	    store_retire_add(en->st, p->name, old_refs, &e) != 0) {
		/* not durable then, but still worth trying now */
		log_warn("%s: %s", p->name, e.msg);
		err_clear(&e);
	}
	if (store_retire_list(en->st, p->name, &v, &n, &e) != 0) {
		log_warn("%s: pending retirements unknown: %s", p->name, e.msg);
		err_clear(&e);
	}
	for (size_t i = 0; i < n; i++)
		listed |= old_refs != NULL && strcmp(v[i], old_refs) == 0;
	for (size_t i = 0; i <= n; i++) {
		const char *refs = i < n ? v[i] : listed ? NULL : old_refs;

		if (refs == NULL || refs[0] == '\0')
			continue;
		if (dops->retire(dev, p, refs, &e) != 0) {
			log_warn("%s: old objects left on the device (retried on the next run): %s",
			    p->name, e.msg);
			err_clear(&e);
			left++;
			continue;
		}
		retired(en, p, refs);
	}
	strv_free(v, n);
	return left;
}
