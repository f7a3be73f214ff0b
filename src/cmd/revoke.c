/* lbcert revoke: revoke the profile's current certificate at its CA and
 * optionally take it off the device. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "engine/engine.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: lbcert revoke PROFILE [--reason REASON] [--remove]\n");
}

static int
revoke_one(struct app *a, struct store *st, const struct cfg_profile *p, int reason,
    bool remove)
{
	struct engine *en = engine_new(a->cfg, st, a->state_dir);
	struct err e = {0};
	char serial[130];
	int rc;

	if (en == NULL)
		return EXIT_FAILED;
	if ((rc = engine_revoke(en, p, reason, remove, serial, sizeof(serial), &e)) != 0) {
		log_error("%s: %s", p->name, e.msg);
		goto out;
	}
	printf("%s: revoked serial %s%s\n", p->name, serial,
	    remove ? ", removed from the device" : "");
	/* the profile still asks for a certificate: say what happens next */
	if (remove && p->nkeys > 1)
		printf("%s: take its %s key out of keys: in %s/profiles/%s.yaml, or the next "
		    "run enrolls it again\n", p->name, config_key_type_name(p->key.type),
		    a->config_dir, config_profile_group(p));
	else if (remove)
		printf("%s: delete %s/profiles/%s.yaml, or the next run enrolls it again\n",
		    p->name, a->config_dir, p->name);
out:
	engine_free(en);
	return rc == 0 ? EXIT_OK : rc == LB_EUNREACH ? EXIT_UNREACHABLE : EXIT_FAILED;
}

int
cmd_revoke(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "remove", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct store *st = NULL;
	struct cfg_profile *p;
	int c, rc, lock = -1, reason = REVOKE_UNSPECIFIED;
	bool remove = false;

	/* 0, not 1: glibc then re-reads the optstring, so the ordering
	 * main's "+" option string set does not stick and options may
	 * follow the profile name. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "r:R", opts, NULL)) != -1)
		switch (c) {
		case 'r':
			if ((reason = ca_reason_parse(optarg)) < 0) {
				fprintf(stderr, "lbcert revoke: unknown reason %s\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'R':
			remove = true;
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	if (argc - optind != 1) {
		usage();
		return EXIT_USAGE;
	}
	if ((p = config_profile(a->cfg, argv[optind])) == NULL) {
		fprintf(stderr, "lbcert revoke: no profile named %s\n", argv[optind]);
		return EXIT_USAGE;
	}
	if ((rc = cmd_open_store(a, &st, &lock)) != 0)
		return rc;
	rc = revoke_one(a, st, p, reason, remove);
	store_unlock(lock);
	store_close(st);
	return rc;
}
