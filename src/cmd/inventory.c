/* lbcert inventory: every certificate on the devices, managed or not. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd/cmd.h"
#include "engine/engine.h"
#include "util/log.h"

/* The profile whose certificate this is: the one recorded in the store
 * for this device with the same serial (BIG-IP names its cert objects
 * <object>_<tag>.crt), else a profile whose object name it carries
 * (Citrix certkey = object_name). NULL when unmanaged. */
static const char *
managed_by(const struct config *cfg, struct store *st, const struct cfg_device *d,
    const struct device_inv *v)
{
	const char *by_name = NULL;

	for (size_t i = 0; i < cfg->nprofiles; i++) {
		const struct cfg_profile *p = &cfg->profiles[i];
		struct store_cert c = {0};
		struct err e = {0};
		bool hit;

		if (p->device != d)
			continue;
		hit = v->serial != NULL && store_cert_get(st, p->name, &c, &e) == 0 &&
		    c.serial != NULL && strcasecmp(c.serial, v->serial) == 0;
		store_cert_free(&c);
		if (hit)
			return p->name;
		if (by_name == NULL && !v->is_ca && strcmp(p->object_name, v->name) == 0)
			by_name = p->name;
	}
	return by_name;
}

static bool
selected(const struct cfg_device *d, int argc, char **argv)
{
	if (argc == 0)
		return true;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], d->name) == 0)
			return true;
	return false;
}

static void
add_items(json_t *all, const struct config *cfg, struct store *st,
    const struct cfg_device *d, const struct device_inv *v, size_t n, time_t now)
{
	for (size_t i = 0; i < n; i++) {
		json_t *bound = json_array();
		const char *profile = managed_by(cfg, st, d, &v[i]);
		char when[32];

		/* is_ca: an issuer object; a self-signed certificate that a
		 * vserver serves is a server certificate all the same */
		for (size_t j = 0; j < v[i].nbound; j++)
			json_array_append_new(bound, json_string(v[i].bound[j]));
		cmd_rfc3339((long)v[i].not_after, when, sizeof(when));
		json_array_append_new(all, json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:I, s:o, s:b, "
		    "s:s?, s:b}",
		    "device", d->name, "name", v[i].name, "serial", v[i].serial,
		    "subject", v[i].subject_cn, "not_after", when,
		    "days_left", (json_int_t)((v[i].not_after - now) / 86400),
		    "bound_to", bound, "managed", profile != NULL, "profile", profile,
		    "is_ca", v[i].is_ca && v[i].nbound == 0));
	}
}

static void
print_text(json_t *all)
{
	size_t i;
	json_t *o;

	printf("%-12s %-40s %-21s %5s %-12s %s\n", "DEVICE", "NAME", "NOT AFTER", "DAYS",
	    "PROFILE", "BOUND TO");
	json_array_foreach(all, i, o) {
		json_t *b = json_object_get(o, "bound_to"), *v;
		size_t j;

		const char *prof = json_string_value(json_object_get(o, "profile"));
		char nb[1024], vb[1024];

		/* object names are the device's, whoever made them */
		printf("%-12s %-40s %-21s %5lld %-12s ",
		    json_string_value(json_object_get(o, "device")),
		    cmd_text(json_string_value(json_object_get(o, "name")), nb, sizeof(nb)),
		    json_string_value(json_object_get(o, "not_after")),
		    (long long)json_integer_value(json_object_get(o, "days_left")),
		    prof != NULL ? prof : json_is_true(json_object_get(o, "is_ca")) ? "(ca)" : "-");
		json_array_foreach(b, j, v)
			printf("%s%s", j ? "," : "", cmd_text(json_string_value(v), vb, sizeof(vb)));
		printf("\n");
	}
}

int
cmd_inventory(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct store *st = NULL;
	struct engine *en = NULL;
	bool as_json = false;
	json_t *all = json_array();
	int c, rc, first, bad = 0, unreachable = 0;
	time_t now = time(NULL);

	/* 0, not 1: glibc re-reads the optstring, so --json may come after
	 * the device names despite main's "+" ordering */
	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1)
		switch (c) {
		case 'j':
			as_json = true;
			break;
		default:
			fprintf(stderr, "usage: lbcert inventory [--json] [DEVICE...]\n");
			rc = EXIT_USAGE;
			goto out;
		}
	first = optind;
	for (int i = first; i < argc; i++)
		if (config_device(a->cfg, argv[i]) == NULL) {
			fprintf(stderr, "lbcert inventory: no device named %s\n", argv[i]);
			rc = EXIT_USAGE;
			goto out;
		}
	if ((rc = cmd_open_store(a, &st, NULL)) != 0)
		goto out;
	if ((en = engine_new(a->cfg, st, a->state_dir)) == NULL) {
		rc = EXIT_FAILED;
		goto out;
	}
	for (size_t i = 0; i < a->cfg->ndevices; i++) {
		const struct cfg_device *cd = &a->cfg->devices[i];
		struct device_inv *v = NULL;
		size_t n = 0;
		struct err e = {0};

		if (!selected(cd, argc - first, argv + first))
			continue;
		if ((rc = engine_inventory(en, cd, &v, &n, &e)) != 0) {
			/* the log redacts what a device may echo */
			log_error("device %s: %s", cd->name, e.msg);
			bad++;
			unreachable += rc == LB_EUNREACH;
			continue;
		}
		add_items(all, a->cfg, st, cd, v, n, now);
		device_inv_free(v, n);
	}
	if (as_json) {
		char *s = json_dumps(all, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	} else
		print_text(all);
	rc = bad == 0 ? EXIT_OK : unreachable == bad ? EXIT_UNREACHABLE : EXIT_FAILED;
out:
	engine_free(en);
	store_close(st);
	json_decref(all);
	return rc;
}
