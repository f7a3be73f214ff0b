/* The kinds table: config takes device and CA kinds, their keys and their
 * rules from its caller. A kind config has never heard of loads, its rules
 * are placed at file:line:col, and the program's own table refuses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/ca.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "device/device.h"
#include "util/err.h"

#include "data/config_fixture.h"

/* A third appliance: takes partition and client_ssl, and wants every
 * profile's names under example.net. */
static const char *const lab_keys[] = { "partition", NULL };
static const char *const lab_profile_keys[] = { "client_ssl", NULL };

static int
lab_check(const struct cfg_profile *p, struct cfg_at *at, struct err *e)
{
	for (size_t i = 0; i < p->nsans; i++) {
		size_t n = strlen(p->sans[i]);

		if (n >= 12 && strcmp(p->sans[i] + n - 12, ".example.net") == 0)
			continue;
		at->key = "subject_alt_names";
		at->item = p->sans[i];
		return err_set(e, LB_ECONFIG, "'%s' is not ours", p->sans[i]);
	}
	return 0;
}

static const struct cfg_kind lab_kind = {
	.type = "lab-lb",
	.id = 7,
	.keys = lab_keys,
	.profile_keys = lab_profile_keys,
	.check_profile = lab_check,
};

static const struct cfg_kind *const lab_devices[] = { &lab_kind, &citrix_kind, NULL };
static const struct cfg_kinds lab_kinds = { lab_devices, ca_kinds };

static const char main_yaml[] =
    "devices:\n"
    "  lab1: { type: lab-lb, url: https://192.0.2.30, credentials: lab1,\n"
    "          partition: Web }\n"
    "cas:\n"
    "  le: { type: acme, directory: https://acme.example.com/dir }\n";

static const char cred_yaml[] = "lab1: { username: admin, password: secret-1 }\n";

static void
write_config(char *dir, size_t len, const char *profile)
{
	new_dir(dir, len);
	put(dir, "lbcert.yaml", main_yaml, 0644);
	put(dir, "credentials.yaml", cred_yaml, 0600);
	put(dir, "profiles/www.yaml", profile, 0644);
}

static void
third_kind_loads(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512];

	(void)state;
	write_config(dir, sizeof(dir), "device: lab1\nca: le\ncommon_name: www.example.net\n"
	    "vservers: [vs1]\nclient_ssl: { parent: /Common/clientssl }\n");
	if (config_load(dir, &lab_kinds, &c, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(c->devices[0].type, 7);
	assert_ptr_equal(c->devices[0].kind, &lab_kind);
	assert_string_equal(c->devices[0].partition, "Web");
	assert_string_equal(c->profiles[0].client_ssl.parent, "/Common/clientssl");
	config_free(c);

	/* lbcert's own table has no such kind */
	assert_int_equal(config_load(dir, &cmd_kinds, &c, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "lbcert.yaml:2:17: devices.lab1.type: unsupported "
	    "value 'lab-lb' (expected citrix-adc | f5-bigip)"));
}

static void
third_kind_rules(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512];

	(void)state;
	/* its rule, placed at the offending list item */
	write_config(dir, sizeof(dir), "device: lab1\nca: le\ncommon_name: www.example.net\n"
	    "subject_alt_names: [a.example.net, b.example.org]\nvservers: [vs1]\n");
	assert_int_equal(config_load(dir, &lab_kinds, &c, &e), LB_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(e.msg, "profiles/www.yaml:4:36: subject_alt_names[1]: "
	    "'b.example.org' is not ours"));

	/* a profile key it does not take, named with the kinds that do */
	write_config(dir, sizeof(dir), "device: lab1\nca: le\ncommon_name: www.example.net\n"
	    "vservers: [vs1]\ncustom_fields: { a: b }\n");
	assert_int_equal(config_load(dir, &lab_kinds, &c, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "profiles/www.yaml:5:1: custom_fields: only for "
	    "sectigo-scm CAs (CA 'le' is acme)"));

	/* an entry key it does not take */
	new_dir(dir, sizeof(dir));
	put(dir, "lbcert.yaml", "devices:\n  lab1: { type: lab-lb, url: https://192.0.2.30,\n"
	    "    credentials: lab1, sync_group: g }\n", 0644);
	put(dir, "credentials.yaml", cred_yaml, 0600);
	assert_int_equal(config_load(dir, &lab_kinds, &c, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "lbcert.yaml:3:24: devices.lab1: key 'sync_group' "
	    "is not valid for a lab-lb device"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(third_kind_loads),
		cmocka_unit_test(third_kind_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
