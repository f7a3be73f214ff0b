/* Hooks: the commands an operator runs after a profile's run (reload a
 * service, page someone). A hook only reports: whatever it does, the
 * change it follows stands. */
#ifndef LB_HOOKS_H
#define LB_HOOKS_H

#include <time.h>

#include "config/config.h"
#include "engine/engine.h"
#include "store/store.h"

enum hook_status { HOOK_NONE, HOOK_OK, HOOK_FAILED, HOOK_TIMEOUT };

/* What a hook is told, in its environment (LBCERT_*). */
struct hook_event {
	const struct cfg_profile *p;
	const struct run_result *res;
	time_t not_after;       /* of the certificate in service; 0: unknown */
};

/* Runs p's on_change hook after an enrollment or renewal, its on_failure
 * hook after a failure; nothing for other outcomes or when the profile
 * has no such hook (HOOK_NONE). The hook's output is logged line by line
 * (redacted and escaped, as every log line); a hook that outlives its
 * timeout_s is killed with its process group. */
enum hook_status hook_run(const struct hook_event *ev);

/* hook_run for p's result, with the not-after of the certificate the
 * store records for p (none: empty). */
enum hook_status hook_after(struct store *st, const struct cfg_profile *p,
    const struct run_result *res);

const char *hook_status_name(enum hook_status s);

#endif
