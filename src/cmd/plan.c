/* lbcert plan: what run would do and why; reads devices, calls no CA. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "engine/engine.h"
#include "engine/policy.h"

static const char *
action_of(const struct run_result *res)
{
	return res->outcome == OUT_FAILED ? "error" :
	    res->outcome == OUT_PLANNED ? "change" : "nothing";
}

/* A code a script can switch on, where WHY is for people. */
static const char *
reason_of(const struct run_result *res)
{
	if (res->outcome == OUT_FAILED)
		return res->unreachable ? "unreachable" : "error";
	return policy_reason_code(res->detail);
}

static json_t *
plan_json(const struct cfg_profile *p, const struct run_result *res)
{
	char kb[24];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "profile", p->name,
	    "device", p->device->name, "key", config_key_desc(&p->key, kb, sizeof(kb)),
	    "action", action_of(res), "reason", reason_of(res), "why", res->detail);

	/* a peer's message cut inside a UTF-8 sequence: keep the line */
	if (o == NULL)
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "profile", p->name,
		    "device", p->device->name, "key", kb, "action", action_of(res), "reason",
		    reason_of(res), "why", "(message not valid UTF-8)");
	return o;
}

static int
plan_opts(int argc, char **argv, bool *as_json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* 0: options may follow profile names (see run) */
	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c != 'j') {
			fprintf(stderr, "usage: lbcert plan [--json] [PROFILE...]\n");
			return EXIT_USAGE;
		}
		*as_json = true;
	}
	return 0;
}

/* Whether profiles[i] is the last one of its device in the list. */
static bool
last_of_device(struct cfg_profile **profiles, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++)
		if (profiles[j]->device == profiles[i]->device)
			return false;
	return true;
}

int
cmd_plan(struct app *a, int argc, char **argv)
{
	struct cfg_profile **profiles = NULL;
	struct store *st = NULL;
	struct engine *en = NULL;
	json_t *all = NULL;
	bool as_json = false;
	size_t n = 0;
	int rc, failed = 0, unreachable = 0;

	if ((rc = plan_opts(argc, argv, &as_json)) != 0)
		return rc;
	if ((rc = cmd_select_profiles(a, argc - optind, argv + optind, &profiles, &n)) != 0)
		return rc;
	if ((rc = cmd_open_store(a, &st, NULL)) != 0)
		goto out;
	if ((en = engine_new(a->cfg, st, a->state_dir)) == NULL ||
	    (as_json && (all = json_array()) == NULL)) {
		rc = EXIT_FAILED;
		goto out;
	}
	if (!as_json)
		printf("%-24s %-12s %-12s %-10s %s\n", "PROFILE", "DEVICE", "KEY", "ACTION",
		    "WHY");
	for (size_t i = 0; i < n; i++) {
		struct run_result res;
		char kb[24];

		engine_run_profile(en, profiles[i], false, true, &res);
		if (as_json && json_array_append_new(all, plan_json(profiles[i], &res)) != 0) {
			rc = EXIT_FAILED;
			goto out;
		} else if (!as_json)
			printf("%-24s %-12s %-12s %-10s %s\n", profiles[i]->name,
			    profiles[i]->device->name,
			    config_key_desc(&profiles[i]->key, kb, sizeof(kb)), action_of(&res),
			    res.detail);
		failed += res.outcome == OUT_FAILED;
		unreachable += res.unreachable;
		if (last_of_device(profiles, n, i))
			engine_release_device(en, profiles[i]->device);
	}
	if (as_json) {
		char *s = json_dumps(all, JSON_INDENT(2));

		if (s == NULL) {
			rc = EXIT_FAILED;
			goto out;
		}
		printf("%s\n", s);
		free(s);
	}
	rc = failed == 0 ? EXIT_OK : unreachable == failed ? EXIT_UNREACHABLE : EXIT_FAILED;
out:
	json_decref(all);
	engine_free(en);
	store_close(st);
	free(profiles);
	return rc;
}
