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
	struct store_cert c = {0};
	struct err e = {0};
	struct ca *ca;
	const struct ca_ops *cops;
	struct device *d;
	const struct device_ops *dops;
	int rc;

	if (en == NULL)
		return EXIT_FAILED;
	if ((rc = store_cert_get(st, p->name, &c, &e)) != 0) {
		log_error("%s: no certificate recorded for this profile: %s", p->name, e.msg);
		goto out;
	}
	/* Take it off the device first: a certificate that is revoked but
	 * still served would break clients for nothing. */
	if (remove) {
		if ((rc = engine_device(en, p->device, &d, &dops, &e)) != 0 ||
		    (rc = dops->remove(d, p, &e)) != 0 || (rc = dops->save(d, &e)) != 0)
			goto fail;
		if (store_history_add(st, p->name, p->device->name, "remove", c.serial, &e) != 0)
			log_warn("%s: removed from %s, but the history does not say so: %s",
			    p->name, p->device->name, e.msg);
	}
	if ((rc = engine_ca(en, p->ca, &ca, &cops, &e)) != 0 ||
	    (rc = cops->revoke(ca, c.ca_ref, c.cert_pem, reason, &e)) != 0)
		goto fail;
	printf("%s: revoked serial %s%s\n", p->name, c.serial, remove ? ", removed from the device" : "");
	/* The next run replaces a revoked certificate still in service only
	 * because this entry says it was revoked: losing it is a failure. */
	if ((rc = store_history_add(st, p->name, p->device->name, "revoke", c.serial, &e)) != 0) {
		log_error("%s: serial %s is revoked at %s, but recording that failed, so the next "
		    "run would not replace it (rerun revoke, or run --force %s): %s", p->name,
		    c.serial, p->ca->name, p->name, e.msg);
		goto out;
	}
	if (remove) {
		if (store_cert_delete(st, p->name, &e) != 0)
			log_warn("%s: the state still lists the removed certificate: %s", p->name,
			    e.msg);
		/* the profile still asks for a certificate: say what happens next */
		printf("%s: delete %s/profiles/%s.yaml, or the next run enrolls it again\n",
		    p->name, a->config_dir, p->name);
	}
	if (store_result_set(st, p->name, "revoked", NULL, &e) != 0)
		log_warn("%s: cannot record the result: %s", p->name, e.msg);
	goto out;
fail:
	log_error("%s: %s", p->name, e.msg);
out:
	store_cert_free(&c);
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
