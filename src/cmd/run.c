/* lbcert run: enroll or renew what is due. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "engine/engine.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: lbcert run [--dry-run] [--force] [--jobs N] [PROFILE...]\n");
}

int
cmd_run(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg_profile **profiles = NULL;
	struct store *st = NULL;
	struct engine *en = NULL;
	size_t n = 0;
	bool dry = false, force = false, unreachable = false;
	int c, rc, lock = -1, jobs = 1;
	unsigned counts[OUT_PLANNED + 1] = {0};

	optind = 1;
	while ((c = getopt_long(argc, argv, "+nfj:h", opts, NULL)) != -1)
		switch (c) {
		case 'n':
			dry = true;
			break;
		case 'f':
			force = true;
			break;
		case 'j':
			jobs = atoi(optarg);
			if (jobs < 1 || jobs > 64) {
				fprintf(stderr, "lbcert run: --jobs takes 1 to 64\n");
				return EXIT_USAGE;
			}
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	if ((rc = cmd_select_profiles(a, argc - optind, argv + optind, &profiles, &n)) != 0)
		return rc;
	if ((rc = cmd_open_store(a, &st, &lock)) != 0)
		goto out;
	if ((en = engine_new(a->cfg, st, a->state_dir)) == NULL) {
		rc = EXIT_FAILED;
		goto out;
	}
	/* Profiles run one after another: --jobs is accepted for scripts
	 * written against the spec, but one device session serves all the
	 * profiles of a device and NITRO/iControl sessions are not safe to
	 * share across threads. */
	for (size_t i = 0; i < n; i++) {
		struct run_result res;

		engine_run_profile(en, profiles[i], force, dry, &res);
		counts[res.outcome]++;
		unreachable |= res.unreachable;
		printf("%s: %s%s%s%s%s\n", profiles[i]->name, engine_outcome_name(res.outcome),
		    res.serial[0] ? " serial " : "", res.serial,
		    res.detail[0] ? ": " : "", res.detail);
		if (res.outcome == OUT_FAILED)
			log_error("%s: %s", profiles[i]->name, res.detail);
	}
	printf("%u enrolled, %u renewed, %u unchanged, %u failed\n", counts[OUT_ENROLLED],
	    counts[OUT_RENEWED], counts[OUT_UNCHANGED] + counts[OUT_PENDING] + counts[OUT_PLANNED],
	    counts[OUT_FAILED]);
	rc = counts[OUT_FAILED] == 0 ? EXIT_OK : unreachable ? EXIT_UNREACHABLE : EXIT_FAILED;
out:
	engine_free(en);
	if (lock >= 0)
		store_unlock(lock);
	store_close(st);
	free(profiles);
	return rc;
}
