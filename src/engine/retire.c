/* Retirement of a replaced certificate's objects (SPEC §1 step 8). The
 * refs are recorded in the store before the device is asked, and forgotten
 * only once the device confirms. They stay on the device keep_previous_hours
 * after they were recorded, so that `lbcert rollback` can put the previous
 * certificate back; the first run of the profile after that removes them,
 * and whatever the device did not remove (an error, a lost answer) is
 * retried on every later run, before its save, until the device holds only
 * what is in service. The drivers never remove an object still bound or in
 * use. */
#include <stdbool.h>
#include <string.h>

#include "engine/engine_int.h"
#include "util/clock.h"
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
	time_t until;
	int left = 0;

	if (old_refs != NULL && old_refs[0] != '\0' &&
	    store_retire_add(en->st, p->name, old_refs, &e) != 0) {
		/* not durable then, but worth trying now when nothing is
		 * kept */
		log_warn("%s: %s", p->name, e.msg);
		err_clear(&e);
	}
	/* the keep time runs from when the refs were recorded */
	until = lb_keep_clock() - (time_t)en->cfg->keep_previous_hours * 3600;
	if (store_retire_list(en->st, p->name, until, &v, &n, &e) != 0) {
		log_warn("%s: pending retirements unknown: %s", p->name, e.msg);
		err_clear(&e);
	}
	for (size_t i = 0; i < n; i++)
		listed |= old_refs != NULL && strcmp(v[i], old_refs) == 0;
	/* unlisted, old_refs is within its keep time, or the store failed */
	if (en->cfg->keep_previous_hours > 0)
		old_refs = listed ? old_refs : NULL;
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
