/* lbcert rollback: back to the certificate the profile's last renewal
 * replaced, while its objects are still on the device. */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "engine/engine.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: lbcert rollback PROFILE\n");
}

static int
rollback_one(struct app *a, struct store *st, const struct cfg_profile *p)
{
	struct engine *en = engine_new(a->cfg, st, a->state_dir);
	struct err e = {0};
	char from[130], to[130];
	int rc;

	if (en == NULL)
		return EXIT_FAILED;
	rc = engine_rollback(en, p, from, sizeof(from), to, sizeof(to), &e);
	if (rc != 0)
		log_error("%s: %s", p->name, e.msg);
	else
		printf("%s: rolled back to serial %s; serial %s stays on the device for %d "
		    "hours\n", p->name, to, from, a->cfg->keep_previous_hours);
	engine_free(en);
	return rc == 0 ? EXIT_OK : rc == LB_EUNREACH ? EXIT_UNREACHABLE : EXIT_FAILED;
}

int
cmd_rollback(struct app *a, int argc, char **argv)
{
	struct store *st = NULL;
	struct cfg_profile *p;
	int c, rc, lock = -1;

	optind = 0;
	while ((c = getopt(argc, argv, "")) != -1) {
		usage();
		return EXIT_USAGE;
	}
	if (argc - optind != 1) {
		usage();
		return EXIT_USAGE;
	}
	if ((p = config_profile(a->cfg, argv[optind])) == NULL) {
		fprintf(stderr, "lbcert rollback: no profile named %s\n", argv[optind]);
		return EXIT_USAGE;
	}
	if ((rc = cmd_open_store(a, &st, &lock)) != 0)
		return rc;
	rc = rollback_one(a, st, p);
	store_unlock(lock);
	store_close(st);
	return rc;
}
