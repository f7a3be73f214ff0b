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

#include "cmd/cmd.h"
#include "config/config.h"
#include "util/err.h"
#include "util/log.h"

#include "data/config_fixture.h"

/* ---- a full valid configuration: SPEC §2 with working values ---- */

static const char full_main[] =
    "defaults:\n"
    "  renew_before_days: 30\n"
    "  key: { type: rsa, size: 2048 }\n"
    "\n"
    "devices:\n"
    "  adc1:\n"
    "    type: citrix-adc            # citrix-adc | f5-bigip\n"
    "    url: https://192.0.2.10     # NSIP / management address\n"
    "    peers: [https://192.0.2.11] # optional HA peers; lbcert works on the primary/active\n"
    "    credentials: adc1           # key in credentials.yaml\n"
    "    tls:                        # how to trust the management certificate:\n"
    "      ca_file: /etc/lbcert/adc1-ca.pem   # a CA bundle, or\n"
    "      insecure: false                    # true only with a loud warning on every run\n"
    "    timeout_s: 30\n"
    "  bigip1:\n"
    "    type: f5-bigip\n"
    "    url: https://192.0.2.20\n"
    "    partition: Common\n"
    "    credentials: bigip1\n"
    "    sync_group: dg-failover     # optional: config-sync to this device group after changes\n"
    "    tls:\n"
    "      pin_sha256: \"ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\"\n"
    "  bigip2:\n"
    "    type: f5-bigip\n"
    "    url: https://192.0.2.30/\n"
    "    credentials: bigip1\n"
    "    timeout_s: 5\n"
    "    tls: { pin_sha256: "
    "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef }\n"
    "\n"
    "cas:\n"
    "  scm:\n"
    "    type: sectigo-scm\n"
    "    url: https://cert-manager.com/api   # base URL\n"
    "    customer_uri: example\n"
    "    credentials: scm\n"
    "    org_id: 1234\n"
    "    cert_type: 224              # numeric id, or the type's name\n"
    "    term: 365\n"
    "    poll: { interval_s: 10, timeout_s: 600 }\n"
    "    ca_file: /path/bundle.pem   # optional trust for the CA's API (any CA type)\n"
    "  sectigo-ov:\n"
    "    type: acme\n"
    "    directory: https://acme.sectigo.com/v2/OV\n"
    "    credentials: sectigo-ov     # holds eab_kid / eab_hmac_key when the CA requires EAB\n"
    "    contact: [mailto:pki@example.com]\n"
    "    challenge: none             # none (pre-validated account) | http-01 (answered by the device)\n"
    "    ca_file: /path/bundle.pem   # optional trust for the ACME server\n"
    "  le-http:\n"
    "    type: acme\n"
    "    directory: https://acme.example.net/directory\n"
    "    challenge: http-01\n"
    "    preferred_chain: ISRG Root X1\n"
    "    acme_profile: shortlived\n"
    "    allow_origins: [https://orders.example.net/, https://cdn.example.net:8443]\n"
    "    ca_file: bundles/le.pem\n"
    "    timeout_s: 12\n"
    "  scm2:\n"
    "    type: sectigo-scm\n"
    "    url: https://scm.example.org/api\n"
    "    customer_uri: \"0042\"\n"
    "    credentials: scm\n"
    "    org_id: 7\n"
    "    cert_type: OV Multi-Domain\n"
    "    poll: { interval_s: 3 }\n";

static const char full_cred[] =
    "adc1:   { username: nsroot, password: \"nsroot-pass-1\" }\n"
    "bigip1: { username: admin,  password_file: secrets/bigip1 }\n"
    "scm:    { login: api-user, password: \"${LBCERT_TEST_SCM_PASSWORD}\" }\n"
    "sectigo-ov: { eab_kid: \"kid-0001\", eab_hmac_key: \"hmac-key-0001\" }\n";

static const char full_www[] =
    "device: bigip1\n"
    "ca: sectigo-ov\n"
    "common_name: www.example.com\n"
    "subject_alt_names: [www.example.com, shop.example.com, \"*.static.example.com\"]\n"
    "key: { type: ecdsa, curve: P-256 }   # rsa: size 2048|3072|4096; ecdsa: curve P-256|P-384\n"
    "subject: { organization: Example Ltd, organizational_unit: Web, locality: Leeds,\n"
    "           state: West Yorkshire, country: GB, email: pki@example.com }\n"
    "renew_before_days: 30\n"
    "object_name: www-example-com        # certkey / cert / key / profile base name (default: profile name)\n"
    "vservers:\n"
    "  - name: vs_www_443                # Citrix lbvserver/csvserver/vpnvserver, BIG-IP virtual\n"
    "    sni: false\n"
    "    check: 198.51.100.7:443         # optional post-install verification address\n"
    "  - name: gw_portal\n"
    "client_ssl:                         # BIG-IP only\n"
    "  parent: /Common/clientssl\n"
    "  profile: www-example-com_clientssl\n"
    "  sni_default: false\n"
    "  server_name: www.example.com\n";

static const char full_http[] =
    "device: bigip1\n"
    "ca: le-http\n"
    "common_name: http.example.com\n"
    "key: { type: rsa, size: 4096 }\n"
    "renew_before_days: 20\n"
    "vservers:\n"
    "  - { name: vs_http_443, sni: true, check: \"[2001:db8::1]:8443\" }\n"
    "challenge_vserver: vs_www_80\n"
    "acme_profile: tlsserver\n";

/* Mixed case and duplicates: names are lower-cased and deduplicated, the
 * common name comes first. */
static const char full_amin[] =
    "device: adc1\n"
    "ca: scm\n"
    "common_name: Api.Example.COM\n"
    "subject_alt_names: [shop.example.com, SHOP.example.com, api.example.com]\n"
    "key: { type: ecdsa, curve: P-384 }\n"
    "vservers: [vs_api, { name: vs_api2, sni: true }]\n"
    "subject: { organization: Example, state: Yorks, country: GB }\n";

static const char full_a[] =
    "device: adc1\n"
    "ca: le-http\n"
    "common_name: a.example.com\n"
    "subject_alt_names: [b.example.com, B.Example.com]\n"
    "vservers:\n"
    "  - name: vs_a\n"
    "subject: { organization: Example, state: Yorks, country: GB }\n";

static void
write_full(const char *dir)
{
	char path[1024];

	put(dir, "lbcert.yaml", full_main, 0644);
	put(dir, "credentials.yaml", full_cred, 0600);
	snprintf(path, sizeof(path), "%s/secrets", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	put(dir, "secrets/bigip1", "bigip-file-pass\n", 0400);
	put(dir, "profiles/www.yaml", full_www, 0644);
	put(dir, "profiles/http.yaml", full_http, 0644);
	put(dir, "profiles/a-min.yaml", full_amin, 0644);
	put(dir, "profiles/a.yaml", full_a, 0644);
	/* Neither is a profile. */
	put(dir, "profiles/old.yml", "junk: [", 0644);
	put(dir, "profiles/.hidden.yaml", "junk: [", 0644);
}

static void
full_devices(const struct config *c)
{
	const struct cfg_device *d;

	assert_int_equal(c->ndevices, 3);
	d = config_device(c, "adc1");
	assert_ptr_equal(d, &c->devices[0]);
	assert_int_equal(d->type, DEV_CITRIX_ADC);
	assert_string_equal(d->url, "https://192.0.2.10");
	assert_int_equal(d->npeers, 1);
	assert_string_equal(d->peers[0], "https://192.0.2.11");
	assert_string_equal(d->credentials, "adc1");
	assert_string_equal(d->tls.ca_file, "/etc/lbcert/adc1-ca.pem");
	assert_null(d->tls.pin_sha256);
	assert_false(d->tls.insecure);
	assert_int_equal(d->timeout_s, 30);
	assert_null(d->partition);
	assert_null(d->sync_group);
	assert_string_equal(d->username, "nsroot");
	assert_string_equal(d->password, "nsroot-pass-1");

	d = config_device(c, "bigip1");
	assert_int_equal(d->type, DEV_F5_BIGIP);
	assert_string_equal(d->partition, "Common");
	assert_string_equal(d->sync_group, "dg-failover");
	assert_int_equal(d->npeers, 0);
	assert_null(d->tls.ca_file);
	assert_string_equal(d->tls.pin_sha256,
	    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
	    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89");
	assert_string_equal(d->username, "admin");
	assert_string_equal(d->password, "bigip-file-pass");

	d = config_device(c, "bigip2");
	assert_null(d->partition);	/* the BIG-IP driver's default, Common */
	assert_int_equal(d->timeout_s, 5);
	assert_string_equal(d->tls.pin_sha256,
	    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF");
	assert_string_equal(d->password, "bigip-file-pass");
	assert_null(config_device(c, "nosuch"));
}

static void
full_cas(const struct config *c, const char *dir)
{
	const struct cfg_ca *ca;
	char path[1024];

	assert_int_equal(c->ncas, 4);
	ca = &c->cas[0];
	assert_string_equal(ca->name, "scm");
	assert_int_equal(ca->type, CA_SECTIGO_SCM);
	assert_string_equal(ca->url, "https://cert-manager.com/api");
	assert_string_equal(ca->customer_uri, "example");
	assert_int_equal(ca->org_id, 1234);
	assert_string_equal(ca->cert_type, "224");
	assert_int_equal(ca->term, 365);
	assert_int_equal(ca->poll_interval_s, 10);
	assert_int_equal(ca->poll_timeout_s, 600);
	assert_string_equal(ca->ca_file, "/path/bundle.pem");
	assert_int_equal(ca->timeout_s, 30);
	assert_string_equal(ca->login, "api-user");
	assert_string_equal(ca->password, "scm-env-pass");
	assert_null(ca->eab_kid);

	ca = &c->cas[1];
	assert_string_equal(ca->name, "sectigo-ov");
	assert_int_equal(ca->type, CA_ACME);
	assert_string_equal(ca->directory, "https://acme.sectigo.com/v2/OV");
	assert_int_equal(ca->ncontact, 1);
	assert_string_equal(ca->contact[0], "mailto:pki@example.com");
	assert_int_equal(ca->challenge, CHALLENGE_NONE);
	assert_string_equal(ca->eab_kid, "kid-0001");
	assert_string_equal(ca->eab_hmac_key, "hmac-key-0001");
	assert_null(ca->preferred_chain);
	assert_null(ca->acme_profile);

	ca = &c->cas[2];
	assert_string_equal(ca->name, "le-http");
	assert_int_equal(ca->challenge, CHALLENGE_HTTP01);
	assert_string_equal(ca->preferred_chain, "ISRG Root X1");
	assert_string_equal(ca->acme_profile, "shortlived");
	assert_int_equal(ca->nallow_origins, 2);
	assert_string_equal(ca->allow_origins[0], "https://orders.example.net");
	assert_string_equal(ca->allow_origins[1], "https://cdn.example.net:8443");
	snprintf(path, sizeof(path), "%s/bundles/le.pem", dir);
	assert_string_equal(ca->ca_file, path);	/* relative to the dir */
	assert_int_equal(ca->timeout_s, 12);
	assert_null(ca->credentials);
	assert_null(ca->eab_kid);
	assert_null(ca->eab_hmac_key);
	assert_int_equal(ca->ncontact, 0);

	ca = &c->cas[3];
	assert_string_equal(ca->customer_uri, "0042");
	assert_string_equal(ca->cert_type, "OV Multi-Domain");
	assert_int_equal(ca->poll_interval_s, 3);
	assert_int_equal(ca->poll_timeout_s, 600);
}

static void
full_profile_www(const struct config *c, const char *dir)
{
	const struct cfg_profile *p = config_profile(c, "www");
	char path[1024];

	assert_non_null(p);
	snprintf(path, sizeof(path), "%s/profiles/www.yaml", dir);
	assert_string_equal(p->file, path);
	assert_ptr_equal(p->device, config_device(c, "bigip1"));
	assert_string_equal(p->ca->name, "sectigo-ov");
	assert_string_equal(p->common_name, "www.example.com");
	assert_int_equal(p->nsans, 3);
	assert_string_equal(p->sans[0], "www.example.com");
	assert_string_equal(p->sans[1], "shop.example.com");
	assert_string_equal(p->sans[2], "*.static.example.com");
	assert_int_equal(p->key.type, KEY_ECDSA);
	assert_int_equal(p->key.curve, CURVE_P256);
	assert_string_equal(p->subject.organization, "Example Ltd");
	assert_string_equal(p->subject.organizational_unit, "Web");
	assert_string_equal(p->subject.locality, "Leeds");
	assert_string_equal(p->subject.state, "West Yorkshire");
	assert_string_equal(p->subject.country, "GB");
	assert_string_equal(p->subject.email, "pki@example.com");
	assert_int_equal(p->renew_before_days, 30);
	assert_string_equal(p->object_name, "www-example-com");
	assert_int_equal(p->nvservers, 2);
	assert_string_equal(p->vservers[0].name, "vs_www_443");
	assert_false(p->vservers[0].sni);
	assert_string_equal(p->vservers[0].check, "198.51.100.7:443");
	assert_string_equal(p->vservers[1].name, "gw_portal");
	assert_null(p->vservers[1].check);
	assert_string_equal(p->client_ssl.parent, "/Common/clientssl");
	assert_string_equal(p->client_ssl.profile, "www-example-com_clientssl");
	assert_false(p->client_ssl.sni_default);
	assert_string_equal(p->client_ssl.server_name, "www.example.com");
	assert_null(p->challenge_vserver);
}

static void
full_profiles_other(const struct config *c)
{
	const struct cfg_profile *p;
	char buf[32];

	p = config_profile(c, "http");
	assert_int_equal(p->key.type, KEY_RSA);
	assert_int_equal(p->key.size, 4096);
	assert_string_equal(config_key_desc(&p->key, buf, sizeof(buf)),
	    "rsa:4096");
	assert_int_equal(p->renew_before_days, 20);
	assert_int_equal(p->nsans, 1);
	assert_string_equal(p->sans[0], "http.example.com");
	assert_true(p->vservers[0].sni);
	assert_string_equal(p->vservers[0].check, "[2001:db8::1]:8443");
	assert_string_equal(p->challenge_vserver, "vs_www_80");
	assert_string_equal(p->object_name, "http");
	assert_string_equal(p->client_ssl.profile, "http_clientssl");
	assert_string_equal(p->acme_profile, "tlsserver"); /* its own over the CA's */

	p = config_profile(c, "a-min");
	assert_string_equal(p->common_name, "api.example.com");
	assert_int_equal(p->nsans, 2);
	/* Listed by the profile: the common name keeps its place. */
	assert_string_equal(p->sans[0], "shop.example.com");
	assert_string_equal(p->sans[1], "api.example.com");
	assert_string_equal(config_key_desc(&p->key, buf, sizeof(buf)),
	    "ecdsa:P-384");
	assert_int_equal(p->nvservers, 2);
	assert_string_equal(p->vservers[0].name, "vs_api");
	assert_false(p->vservers[0].sni);
	assert_true(p->vservers[1].sni);
	assert_string_equal(p->subject.country, "GB");

	/* Defaults: key and renew_before_days from lbcert.yaml defaults,
	 * object name from the file stem, Citrix may omit challenge_vserver. */
	p = config_profile(c, "a");
	assert_int_equal(p->renew_before_days, 30);
	assert_string_equal(config_key_desc(&p->key, buf, sizeof(buf)),
	    "rsa:2048");
	assert_string_equal(p->object_name, "a");
	assert_int_equal(p->nsans, 2);
	assert_string_equal(p->sans[0], "a.example.com");
	assert_string_equal(p->sans[1], "b.example.com");
	assert_string_equal(p->client_ssl.parent, "/Common/clientssl");
	assert_string_equal(p->client_ssl.profile, "a_clientssl");
	assert_null(p->challenge_vserver);
	assert_string_equal(p->acme_profile, "shortlived"); /* the CA's */
	assert_null(config_profile(c, "a-min")->acme_profile); /* an SCM profile */
	assert_null(config_profile(c, "old"));
	assert_null(config_profile(c, ".hidden"));
}

static void
full_config_loads(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512], *red;

	(void)state;
	new_dir(dir, sizeof(dir));
	write_full(dir);
	setenv("LBCERT_TEST_SCM_PASSWORD", "scm-env-pass", 1);
	if (config_load(dir, &cmd_kinds, &c, &e) != 0)
		fail_msg("config_load: %s", e.msg);
	assert_string_equal(c->dir, dir);
	assert_int_equal(c->renew_before_days, 30);
	assert_int_equal(c->key.type, KEY_RSA);
	assert_int_equal(c->key.size, 2048);
	full_devices(c);
	full_cas(c, dir);
	assert_int_equal(c->nprofiles, 4);
	assert_string_equal(c->profiles[0].name, "a");
	assert_string_equal(c->profiles[1].name, "a-min");
	assert_string_equal(c->profiles[2].name, "http");
	assert_string_equal(c->profiles[3].name, "www");
	full_profile_www(c, dir);
	full_profiles_other(c);

	/* Secrets are registered for redaction while the config lives. */
	red = log_redact("p=nsroot-pass-1 f=bigip-file-pass s=scm-env-pass "
	    "k=hmac-key-0001 u=nsroot");
	assert_string_equal(red, "p=[REDACTED] f=[REDACTED] s=[REDACTED] "
	    "k=[REDACTED] u=nsroot");
	free(red);
	config_free(c);
	red = log_redact("p=nsroot-pass-1");
	assert_string_equal(red, "p=nsroot-pass-1");
	free(red);
}

static void
trailing_slash_and_defaults(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512], slashed[600], buf[32];

	(void)state;
	new_dir(dir, sizeof(dir));
	put(dir, "lbcert.yaml",
	    "devices:\n"
	    "  adc1: { type: citrix-adc, url: \"https://adc1.example.com:8443\", "
	    "credentials: adc1 }\n"
	    "cas:\n"
	    "  pebble: { type: acme, directory: https://127.0.0.1:14000/dir }\n",
	    0644);
	put(dir, "credentials.yaml",
	    "adc1: { username_file: user, password: \"${LBCERT_TEST_PW2}\" }\n",
	    0600);
	put(dir, "user", "nsroot\n", 0600);
	put(dir, "profiles/x.yaml",
	    "{device: adc1, ca: pebble, common_name: x.example.com, "
	    "vservers: [vs], subject: {organization: E, state: Y, country: GB}}\n", 0644);
	setenv("LBCERT_TEST_PW2", "pw2-value", 1);
	snprintf(slashed, sizeof(slashed), "%s//", dir);
	if (config_load(slashed, &cmd_kinds, &c, &e) != 0)
		fail_msg("config_load: %s", e.msg);
	assert_string_equal(c->dir, dir);
	assert_int_equal(c->renew_before_days, -1);
	assert_int_equal(c->profiles[0].renew_before_days, -1);
	assert_string_equal(config_key_desc(&c->profiles[0].key, buf,
	    sizeof(buf)), "rsa:2048");
	assert_string_equal(c->devices[0].username, "nsroot");
	assert_string_equal(c->devices[0].password, "pw2-value");
	assert_int_equal(c->cas[0].challenge, CHALLENGE_NONE);
	assert_int_equal(c->cas[0].term, 365);
	config_free(c);
}

static void
empty_or_missing_profiles(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512], path[600];

	(void)state;
	new_dir(dir, sizeof(dir));
	put(dir, "lbcert.yaml", "devices: {}\n", 0644);
	assert_int_equal(config_load(dir, &cmd_kinds, &c, &e), 0);
	assert_int_equal(c->nprofiles, 0);
	assert_int_equal(c->ndevices, 0);
	config_free(c);

	snprintf(path, sizeof(path), "%s/profiles", dir);
	assert_int_equal(rmdir(path), 0);
	put(dir, "lbcert.yaml", "# nothing yet\n", 0644);
	assert_int_equal(config_load(dir, &cmd_kinds, &c, &e), 0);
	assert_int_equal(c->nprofiles, 0);
	config_free(c);
}

/* keep_previous_hours: 24 unless set; 0 (retire at once) to a year. */
static void
keep_previous_hours(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512];

	(void)state;
	new_dir(dir, sizeof(dir));
	put(dir, "lbcert.yaml", "devices: {}\n", 0644);
	assert_int_equal(config_load(dir, &cmd_kinds, &c, &e), 0);
	assert_int_equal(c->keep_previous_hours, 24);
	config_free(c);
	put(dir, "lbcert.yaml", "keep_previous_hours: 0\n", 0644);
	assert_int_equal(config_load(dir, &cmd_kinds, &c, &e), 0);
	assert_int_equal(c->keep_previous_hours, 0);
	config_free(c);
	put(dir, "lbcert.yaml", "keep_previous_hours: 8761\n", 0644);
	assert_int_equal(config_load(dir, &cmd_kinds, &c, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "keep_previous_hours"));
}

static void
missing_main_file(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char dir[512], path[600];

	(void)state;
	new_dir(dir, sizeof(dir));
	assert_int_equal(config_load(dir, &cmd_kinds, &c, &e), LB_ECONFIG);
	assert_null(c);
	assert_int_equal(e.code, LB_ECONFIG);
	snprintf(path, sizeof(path), "%s/lbcert.yaml", dir);
	assert_non_null(strstr(e.msg, path));
}

static void
key_desc(void **state)
{
	struct cfg_key k = { KEY_RSA, 3072, CURVE_NONE };
	char buf[32];

	(void)state;
	assert_string_equal(config_key_desc(&k, buf, sizeof(buf)), "rsa:3072");
	k = (struct cfg_key){ KEY_ECDSA, 0, CURVE_P256 };
	assert_string_equal(config_key_desc(&k, buf, sizeof(buf)),
	    "ecdsa:P-256");
	k.curve = CURVE_P384;
	assert_string_equal(config_key_desc(&k, buf, sizeof(buf)),
	    "ecdsa:P-384");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_config_loads),
		cmocka_unit_test(trailing_slash_and_defaults),
		cmocka_unit_test(empty_or_missing_profiles),
		cmocka_unit_test(keep_previous_hours),
		cmocka_unit_test(missing_main_file),
		cmocka_unit_test(key_desc),
	};
	log_init(LL_ERROR, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
