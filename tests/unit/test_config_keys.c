/* keys: in a profile: one profile per key, their names and objects, and
 * the refusals with their positions. */
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

#include "data/config_fixture.h"

static const char main_yaml[] =
    "devices:\n"
    "  adc1: { type: citrix-adc, url: https://192.0.2.10, credentials: adc1 }\n"
    "  bigip1: { type: f5-bigip, url: https://192.0.2.20, credentials: bigip1 }\n"
    "cas:\n"
    "  le: { type: acme, directory: https://acme.example.com/dir, challenge: dns-01,\n"
    "        credentials: le, dns: { server: 192.0.2.53, tsig_name: k } }\n";

static const char cred_yaml[] =
    "adc1: { username: nsroot, password: secret-1 }\n"
    "bigip1: { username: admin, password: secret-2 }\n"
    "le: { tsig_secret: \"c2VjcmV0LXNlY3JldA==\" }\n";

/* A config directory with lbcert.yaml, credentials.yaml and the profile
 * files given as name, text pairs (NULL-terminated). */
static int
load(struct config **c, struct err *e, char *dir, size_t len, ...)
{
	const char *name, *text;
	char path[600];
	va_list ap;

	snprintf(dir, len, "%s/cfg-XXXXXX", tmpdir);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/profiles", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	put(dir, "lbcert.yaml", main_yaml, 0644);
	put(dir, "credentials.yaml", cred_yaml, 0600);
	va_start(ap, len);
	while ((name = va_arg(ap, const char *)) != NULL) {
		text = va_arg(ap, const char *);
		snprintf(path, sizeof(path), "profiles/%s.yaml", name);
		put(dir, path, text, 0644);
	}
	va_end(ap);
	*c = NULL;
	return config_load(dir, &cmd_kinds, c, e);
}

#define BIGIP_PROF(keys) \
    "device: bigip1\n" \
    "ca: le\n" \
    "common_name: www.example.com\n" \
    "vservers: [vs1, { name: vs2, sni: true }]\n" \
    keys

/* Two keys: two profiles, the first with the file's names, the second
 * with ".ecdsa" appended; both share names, vservers and the client-ssl
 * profile, and sort among the other profiles by name. */
static void
two_keys_two_profiles(void **state)
{
	struct config *c;
	struct err e = { 0 };
	const struct cfg_profile *p;
	char dir[512], kb[24];

	(void)state;
	assert_int_equal(load(&c, &e, dir, sizeof(dir),
	    "web", BIGIP_PROF("keys: [{ type: rsa, size: 3072 }, { type: ecdsa, curve: P-384 }]\n"),
	    "web-a", BIGIP_PROF("key: { type: ecdsa }\n"), NULL), 0);
	assert_int_equal(c->nprofiles, 3);
	assert_string_equal(c->profiles[0].name, "web");
	assert_string_equal(c->profiles[1].name, "web-a");
	assert_string_equal(c->profiles[2].name, "web.ecdsa");
	p = config_profile(c, "web");
	assert_non_null(p);
	assert_string_equal(config_key_desc(&p->key, kb, sizeof(kb)), "rsa:3072");
	assert_string_equal(p->object_name, "web");
	assert_string_equal(p->client_ssl.profile, "web_clientssl");
	assert_string_equal(config_profile_group(p), "web");
	assert_int_equal(p->nkeys, 2);
	p = config_profile(c, "web.ecdsa");
	assert_non_null(p);
	assert_string_equal(config_key_desc(&p->key, kb, sizeof(kb)), "ecdsa:P-384");
	assert_string_equal(p->object_name, "web.ecdsa");
	assert_string_equal(p->client_ssl.profile, "web_clientssl");
	assert_string_equal(config_profile_group(p), "web");
	assert_string_equal(p->common_name, "www.example.com");
	assert_int_equal(p->nvservers, 2);
	assert_true(p->vservers[1].sni);
	p = config_profile(c, "web-a");
	assert_string_equal(config_profile_group(p), "web-a");
	assert_int_equal(p->nkeys, 0);
	config_free(c);
}

/* The order of keys: decides which keeps the file's name; object_name and
 * an explicit client-ssl profile carry over. One entry is one profile. */
static void
ecdsa_first_and_single(void **state)
{
	struct config *c;
	struct err e = { 0 };
	const struct cfg_profile *p;
	char dir[512];

	(void)state;
	assert_int_equal(load(&c, &e, dir, sizeof(dir),
	    "web", BIGIP_PROF("object_name: shop\nclient_ssl: { profile: shop_tls }\n"
	    "keys:\n  - type: ecdsa\n  - type: rsa\n"),
	    "one", BIGIP_PROF("keys: [{ type: ecdsa }]\n"), NULL), 0);
	assert_int_equal(c->nprofiles, 3);
	p = config_profile(c, "web");
	assert_int_equal(p->key.type, KEY_ECDSA);
	assert_string_equal(p->object_name, "shop");
	p = config_profile(c, "web.rsa");
	assert_non_null(p);
	assert_int_equal(p->key.type, KEY_RSA);
	assert_int_equal(p->key.size, 2048);
	assert_string_equal(p->object_name, "shop.rsa");
	assert_string_equal(p->client_ssl.profile, "shop_tls");
	p = config_profile(c, "one");
	assert_int_equal(p->key.type, KEY_ECDSA);
	assert_null(config_profile(c, "one.ecdsa"));
	config_free(c);
}

struct bad {
	const char *name, *prof, *other_name, *other;
	int line, col;
	const char *msg;
};

static const struct bad bads[] = {
	{ "same type twice", BIGIP_PROF("keys:\n  - { type: rsa }\n  - { type: rsa, size: 4096 }\n"),
	  NULL, NULL, 7, 5, "keys[1]: a second rsa key; a profile holds at most one key of each type" },
	{ "key and keys", BIGIP_PROF("key: { type: rsa }\nkeys: [{ type: ecdsa }]\n"), NULL, NULL, 6, 1,
	  "keys: give either key or keys, not both" },
	{ "empty keys", BIGIP_PROF("keys: []\n"), NULL, NULL, 5, 7, "keys: the list is empty" },
	{ "keys not a list", BIGIP_PROF("keys: { type: rsa }\n"), NULL, NULL, 5, 7,
	  "keys must be a list, not a mapping" },
	{ "bad entry", BIGIP_PROF("keys:\n  - { type: rsa }\n  - { type: ecdsa, size: 256 }\n"),
	  NULL, NULL, 7, 20, "keys[1]: size is for rsa keys, not ecdsa (use curve)" },
	{ "bad curve", BIGIP_PROF("keys: [{ type: ecdsa, curve: P-521 }]\n"), NULL, NULL, 5, 30,
	  "keys[0].curve: unsupported value 'P-521'" },
	{ "name taken", BIGIP_PROF("keys:\n  - { type: rsa }\n  - { type: ecdsa }\n"),
	  "www.ecdsa", BIGIP_PROF(""), 7, 5, "keys[1]: 'www.ecdsa' names this key, and is also "
	  "the name of profiles/www.ecdsa.yaml; rename one" },
	{ "first key's name taken", BIGIP_PROF("keys:\n  - { type: rsa }\n  - { type: ecdsa }\n"),
	  "www.rsa", BIGIP_PROF(""), 6, 5, "keys[0]: 'www.rsa' names this key, and is also "
	  "the name of profiles/www.rsa.yaml; rename one" },
};

static void
bad_keys(void **state)
{
	struct config *c;
	struct err e;
	char dir[512], want[700];

	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];

		memset(&e, 0, sizeof(e));
		if (load(&c, &e, dir, sizeof(dir), "www", b->prof, b->other_name, b->other,
		    NULL) != LB_ECONFIG)
			fail_msg("case '%s': loaded (msg: %s)", b->name, e.msg);
		assert_null(c);
		snprintf(want, sizeof(want), "%s/profiles/www.yaml:%d:%d: ", dir, b->line, b->col);
		if (strncmp(e.msg, want, strlen(want)) != 0)
			fail_msg("case '%s':\n  want prefix %s\n  got         %s", b->name, want,
			    e.msg);
		if (strstr(e.msg, b->msg) == NULL)
			fail_msg("case '%s':\n  want substring %s\n  got %s", b->name, b->msg, e.msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_keys_two_profiles),
		cmocka_unit_test(ecdsa_first_and_single),
		cmocka_unit_test(bad_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
