/* lbcert status: what the state store knows, without contacting anything. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"

static json_t *
profile_status(struct store *st, const struct cfg_profile *p, time_t now)
{
	struct store_cert c = {0};
	struct err e = {0};
	char *result = NULL, *error = NULL, *aprof = NULL, when[32] = "", kb[24];
	json_t *o, *vs = json_array();
	time_t at = 0;
	bool have;

	for (size_t i = 0; i < p->nvservers; i++)
		json_array_append_new(vs, json_string(p->vservers[i].name));
	have = store_cert_get(st, p->name, &c, &e) == 0;
	store_result_get(st, p->name, &result, &error, &at, &e);
	if (have)
		cmd_rfc3339((long)c.not_after, when, sizeof(when));
	/* the ACME profile the recorded certificate was ordered with */
	if (have)
		store_cert_acme_profile_get(st, p->name, &aprof, &e);
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s?, s:s?, s:o, s:s?, s:s?, s:s?}",
	    "profile", p->name, "device", p->device->name, "ca", p->ca->name,
	    "key", config_key_desc(&p->key, kb, sizeof(kb)), "vservers", vs,
	    "serial", have ? c.serial : NULL, "not_after", have ? when : NULL,
	    "days_left", have ? json_integer((json_int_t)((c.not_after - now) / 86400)) : json_null(),
	    "last_result", result, "last_error", error, "acme_profile", aprof);
	free(aprof);
	free(result);
	free(error);
	store_cert_free(&c);
	return o;
}

static void
print_text(json_t *all)
{
	size_t i;
	json_t *o;

	printf("%-24s %-12s %-12s %-12s %-32s %-21s %5s %-10s %s\n", "PROFILE", "DEVICE", "CA",
	    "KEY", "SERIAL", "NOT AFTER", "DAYS", "RESULT", "ERROR");
	json_array_foreach(all, i, o) {
		const char *serial = json_string_value(json_object_get(o, "serial"));
		const char *na = json_string_value(json_object_get(o, "not_after"));
		const char *res = json_string_value(json_object_get(o, "last_result"));
		char eb[4096];
		const char *err = cmd_text(json_string_value(json_object_get(o, "last_error")),
		    eb, sizeof(eb));
		json_t *days = json_object_get(o, "days_left");
		const char *ap = json_string_value(json_object_get(o, "acme_profile"));
		char d[16] = "-", ca[80];

		if (json_is_integer(days))
			snprintf(d, sizeof(d), "%lld", (long long)json_integer_value(days));
		snprintf(ca, sizeof(ca), "%s%s%s%s", json_string_value(json_object_get(o, "ca")),
		    ap ? " (" : "", ap ? ap : "", ap ? ")" : "");
		printf("%-24s %-12s %-12s %-12s %-32s %-21s %5s %-10s %s\n",
		    json_string_value(json_object_get(o, "profile")),
		    json_string_value(json_object_get(o, "device")),
		    ca, json_string_value(json_object_get(o, "key")), serial ? serial : "-",
		    na ? na : "-", d, res ? res : "-", err ? err : "");
	}
}

int
cmd_status(struct app *a, int argc, char **argv)
{
	struct cfg_profile **profiles = NULL;
	struct store *st = NULL;
	size_t n = 0;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool as_json = false;
	json_t *all = json_array();
	int rc, c;
	time_t now = time(NULL);

	optind = 0;
	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c != 'j') {
			fprintf(stderr, "usage: lbcert status [--json] [PROFILE...]\n");
			rc = EXIT_USAGE;
			goto out;
		}
		as_json = true;
	}
	if ((rc = cmd_select_profiles(a, argc - optind, argv + optind, &profiles, &n)) != 0)
		goto out;
	if ((rc = cmd_open_store(a, &st, NULL)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(all, profile_status(st, profiles[i], now));
	if (as_json) {
		char *s = json_dumps(all, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	} else
		print_text(all);
out:
	json_decref(all);
	store_close(st);
	free(profiles);
	return rc;
}
