#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/policy.h"

#define DAY 86400L
static char *sans[] = { "www.example.com", "shop.example.com" };
static char *names_same[] = { "shop.example.com", "WWW.example.com" };
static char *names_less[] = { "www.example.com" };

static struct cfg_profile
profile(int renew_before_days)
{
	struct cfg_profile p = {0};

	p.name = "www";
	p.object_name = "www";
	p.sans = sans;
	p.nsans = 2;
	p.key.type = KEY_RSA;
	p.key.size = 2048;
	p.renew_before_days = renew_before_days;
	return p;
}

static struct device_cert
installed(time_t nb, time_t na, char **names, size_t n, const char *key)
{
	struct device_cert c = {0};

	c.object = "www";
	c.not_before = nb;
	c.not_after = na;
	c.names = names;
	c.nnames = n;
	snprintf(c.key_desc, sizeof(c.key_desc), "%s", key);
	return c;
}

static void
decides(void **state)
{
	(void)state;
	const time_t now = 1800000000;
	static const struct {
		int rbd;
		long nb, na; /* days from now */
		int which;   /* 0 same names, 1 fewer */
		const char *key;
		int force;
		enum policy_action want;
		const char *reason;
		const char *code;
	} t[] = {
		{ 30, -300, 65, 0, "rsa:2048", 0, POLICY_NONE, "valid for 65", "valid" },
		{ 30, -300, 29, 0, "rsa:2048", 0, POLICY_RENEW, "renew_before_days 30", "expiring" },
		{ 30, -300, 65, 0, "rsa:2048", 1, POLICY_RENEW, "forced", "forced" },
		{ 30, -300, 65, 0, "ecdsa:P-256", 0, POLICY_RENEW, "key changed: ecdsa:P-256 -> rsa:2048",
		    "key_changed" },
		{ 30, -300, 65, 1, "rsa:2048", 0, POLICY_RENEW, "names changed: +shop.example.com",
		    "names_changed" },
		/* both changed: plan names both */
		{ 30, -300, 65, 1, "ecdsa:P-256", 0, POLICY_RENEW,
		    "key changed: ecdsa:P-256 -> rsa:2048; names changed: +shop.example.com",
		    "key_changed" },
		/* no window set: a third of a 6-day certificate is 2 days */
		{ -1, -3, 3, 0, "rsa:2048", 0, POLICY_NONE, "valid for 3", "valid" },
		{ -1, -4, 2, 0, "rsa:2048", 0, POLICY_RENEW, "third of its lifetime", "expiring" },
		/* a 90-day certificate with 31 days left is not due without a window */
		{ -1, -59, 31, 0, "rsa:2048", 0, POLICY_NONE, "valid for 31", "valid" },
		{ -1, -61, 29, 0, "rsa:2048", 0, POLICY_RENEW, "third", "expiring" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cfg_profile p = profile(t[i].rbd);
		struct device_cert c = installed(now + t[i].nb * DAY, now + t[i].na * DAY,
		    t[i].which ? names_less : names_same, t[i].which ? 1 : 2, t[i].key);
		struct policy_decision d;

		policy_decide(&p, &c, t[i].force, now, &d);
		if (d.action != t[i].want || strstr(d.reason, t[i].reason) == NULL)
			fail_msg("case %zu: action %d reason '%s'", i, d.action, d.reason);
		if (strcmp(policy_reason_code(d.reason), t[i].code) != 0)
			fail_msg("case %zu: code %s for '%s'", i, policy_reason_code(d.reason),
			    d.reason);
	}
}

/* As plan prints them: with the action in front, and the engine's own. */
static void
reason_codes(void **state)
{
	(void)state;
	assert_string_equal(policy_reason_code("enroll: no certificate www on the device"),
	    "no_certificate");
	assert_string_equal(policy_reason_code("renew: serial 0A was revoked"), "revoked");
	assert_string_equal(policy_reason_code("nothing: valid for 80 more days"), "valid");
	assert_string_equal(policy_reason_code("resume at step ordered"), "resume");
	assert_string_equal(policy_reason_code("renew: serial of something else"), "other");
	assert_string_equal(policy_reason_code(""), "other");
}

static void
enrolls_when_nothing_installed(void **state)
{
	(void)state;
	struct cfg_profile p = profile(30);
	struct policy_decision d;

	policy_decide(&p, NULL, false, 0, &d);
	assert_int_equal(d.action, POLICY_ENROLL);
	assert_non_null(strstr(d.reason, "no certificate www"));
}

static void
window(void **state)
{
	(void)state;
	struct cfg_profile p = profile(-1);

	assert_int_equal(policy_window(&p, 0, 90 * DAY), 30 * DAY);
	p.renew_before_days = 10;
	assert_int_equal(policy_window(&p, 0, 90 * DAY), 10 * DAY);
}

/* A device that does not report the issue date must not make every run
 * renew (and buy): the default window applies instead of a third of an
 * unknown lifetime. */
static void
unknown_not_before(void **state)
{
	(void)state;
	const time_t now = 1800000000;
	struct cfg_profile p = profile(-1);
	struct device_cert c = installed(0, now + 60 * DAY, names_same, 2, "rsa:2048");
	struct policy_decision d;

	policy_decide(&p, &c, false, now, &d);
	assert_int_equal(d.action, POLICY_NONE);
	c.not_after = now + 29 * DAY;
	policy_decide(&p, &c, false, now, &d);
	assert_int_equal(d.action, POLICY_RENEW);
	assert_non_null(strstr(d.reason, "issue date unknown: 30-day window"));
	assert_int_equal(policy_window(&p, 0, now), POLICY_DEFAULT_DAYS * DAY);
}

/* RFC 9773 §4.2: a uniformly random moment inside the window. */
static void
ari_pick(void **state)
{
	(void)state;
	const time_t s = 1800000000, e = s + 2 * DAY;
	time_t lo = e, hi = s;

	for (uint64_t r = 0; r < 5000; r++) {
		time_t t = policy_ari_pick(s, e, r * 0x9E3779B97F4A7C15ULL);

		assert_true(t >= s && t < e);
		lo = t < lo ? t : lo;
		hi = t > hi ? t : hi;
	}
	/* the whole window is used, not a corner of it */
	assert_true(lo < s + DAY / 10);
	assert_true(hi > e - DAY / 10);
	assert_int_equal(policy_ari_pick(s, s, 12345), s);
	assert_int_equal(policy_ari_pick(s, s - 10, 12345), s);
	assert_int_equal(policy_ari_pick(s, s + 10, 13), s + 3);
}

static void
ari_apply(void **state)
{
	(void)state;
	const time_t now = 1800000000;
	struct cfg_profile p = profile(-1);
	struct device_cert c = installed(now - 10 * DAY, now + 80 * DAY, names_same, 2,
	    "rsa:2048");
	struct policy_ari future = { now + 40 * DAY, now + 42 * DAY, now + 41 * DAY };
	struct policy_ari past = { now - 3600, now - 1800, now - 2000 };
	struct policy_ari late = { now + 79 * DAY, now + 81 * DAY, now + 80 * DAY };
	struct policy_decision d;

	/* valid by the dates, the CA's window later: not yet, due at the pick */
	policy_decide(&p, &c, false, now, &d);
	policy_apply_ari(&future, &c, now, &d);
	assert_int_equal(d.action, POLICY_NONE);
	assert_int_equal(d.renew_at, future.pick);
	assert_string_equal(policy_reason_code(d.reason), "valid");
	assert_non_null(strstr(d.reason, "between 2027-02-24T08:00:00Z and 2027-02-26T08:00:00Z"));
	/* once the pick has passed */
	policy_decide(&p, &c, false, future.pick, &d);
	policy_apply_ari(&future, &c, future.pick, &d);
	assert_int_equal(d.action, POLICY_RENEW);
	assert_string_equal(policy_reason_code(d.reason), "ari");
	assert_string_equal(policy_reason_code("renew: CA suggests renewal (ARI) between a and b"),
	    "ari");
	/* a window in the past (the CA wants it replaced): renew now */
	policy_decide(&p, &c, false, now, &d);
	policy_apply_ari(&past, &c, now, &d);
	assert_int_equal(d.action, POLICY_RENEW);
	assert_string_equal(d.reason, "CA suggests renewal (ARI) between "
	    "2027-01-15T07:00:00Z and 2027-01-15T07:30:00Z");
	/* expiring by the dates but the CA says later: the CA decides */
	c.not_before = now - 70 * DAY;
	c.not_after = now + 20 * DAY;
	policy_decide(&p, &c, false, now, &d);
	assert_int_equal(d.action, POLICY_RENEW);
	future = (struct policy_ari){ now + 5 * DAY, now + 7 * DAY, now + 6 * DAY };
	policy_apply_ari(&future, &c, now, &d);
	assert_int_equal(d.action, POLICY_NONE);
	/* a pick at or past the expiry is no advice: the dates stand */
	c.not_before = now - 10 * DAY;
	c.not_after = now + 80 * DAY;
	policy_decide(&p, &c, false, now, &d);
	policy_apply_ari(&late, &c, now, &d);
	assert_non_null(strstr(d.reason, "valid for 80 more days"));
	assert_null(strstr(d.reason, "ARI"));
	/* forced and changed keys are not the CA's to overrule */
	policy_decide(&p, &c, true, now, &d);
	policy_apply_ari(&future, &c, now, &d);
	assert_int_equal(d.action, POLICY_RENEW);
	assert_string_equal(d.reason, "forced");
	c.not_after = now + 80 * DAY;
	snprintf(c.key_desc, sizeof(c.key_desc), "ecdsa:P-256");
	policy_decide(&p, &c, false, now, &d);
	policy_apply_ari(&future, &c, now, &d);
	assert_int_equal(d.action, POLICY_RENEW);
	assert_string_equal(policy_reason_code(d.reason), "key_changed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decides),
		cmocka_unit_test(reason_codes),
		cmocka_unit_test(enrolls_when_nothing_installed),
		cmocka_unit_test(window),
		cmocka_unit_test(unknown_not_before),
		cmocka_unit_test(ari_pick),
		cmocka_unit_test(ari_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
