/* lbcert plan: what run would do and why; reads devices, calls no CA. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "engine/engine.h"

int
cmd_plan(struct app *a, int argc, char **argv)
{
	struct cfg_profile **profiles = NULL;
	struct store *st = NULL;
	struct engine *en = NULL;
	size_t n = 0;
	int rc, failed = 0, unreachable = 0;

	if ((rc = cmd_select_profiles(a, argc - 1, argv + 1, &profiles, &n)) != 0)
		return rc;
	if ((rc = cmd_open_store(a, &st, NULL)) != 0)
		goto out;
	if ((en = engine_new(a->cfg, st, a->state_dir)) == NULL) {
		rc = EXIT_FAILED;
		goto out;
	}
	printf("%-24s %-12s %-10s %s\n", "PROFILE", "DEVICE", "ACTION", "WHY");
	for (size_t i = 0; i < n; i++) {
		struct run_result res;
		const char *action;

		engine_run_profile(en, profiles[i], false, true, &res);
		action = res.outcome == OUT_FAILED ? "error" :
		    res.outcome == OUT_PLANNED ? "change" : "nothing";
		printf("%-24s %-12s %-10s %s\n", profiles[i]->name, profiles[i]->device->name,
		    action, res.detail);
		failed += res.outcome == OUT_FAILED;
		unreachable += res.unreachable;
	}
	rc = failed == 0 ? EXIT_OK : unreachable == failed ? EXIT_UNREACHABLE : EXIT_FAILED;
out:
	engine_free(en);
	store_close(st);
	free(profiles);
	return rc;
}
