#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

static void
redacts_every_occurrence(void **state)
{
	(void)state;
	char secret[] = "s3cr3t-pass";
	log_secret_add(secret);
	char *out = log_redact("a=s3cr3t-pass b=s3cr3t-pass c=ok");
	assert_string_equal(out, "a=[REDACTED] b=[REDACTED] c=ok");
	free(out);
	log_secret_remove(secret);
	out = log_redact("a=s3cr3t-pass");
	assert_string_equal(out, "a=s3cr3t-pass");
	free(out);
}

/* A short password is still a password; so is its JSON-escaped form in a
 * login body. */
static void
redacts_short_and_escaped_values(void **state)
{
	(void)state;
	char shortv[] = "ab";
	char quoted[] = "pa\"ss/w\\rd";
	char *out;

	log_secret_add(shortv);
	out = log_redact("tab cab");
	assert_string_equal(out, "t[REDACTED] c[REDACTED]");
	free(out);
	log_secret_remove(shortv);
	log_secret_add(quoted);
	out = log_redact("{\"password\":\"pa\\\"ss/w\\\\rd\"} {\"p\":\"pa\\\"ss\\/w\\\\rd\"}");
	assert_string_equal(out, "{\"password\":\"[REDACTED]\"} {\"p\":\"[REDACTED]\"}");
	free(out);
	log_secret_remove(quoted);
	out = log_redact("pa\\\"ss");
	assert_string_equal(out, "pa\\\"ss");
	free(out);
}

static void
registry_grows(void **state)
{
	(void)state;
	static char vals[200][16];
	for (int i = 0; i < 200; i++) {
		snprintf(vals[i], sizeof(vals[i]), "secret-%03d", i);
		log_secret_add(vals[i]);
	}
	char *out = log_redact("x secret-000 y secret-199 z");
	assert_string_equal(out, "x [REDACTED] y [REDACTED] z");
	free(out);
	for (int i = 0; i < 200; i++)
		log_secret_remove(vals[i]);
	out = log_redact("secret-150");
	assert_string_equal(out, "secret-150");
	free(out);
}

static void
parses_levels(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("error"), LL_ERROR);
	assert_int_equal(log_level_parse("trace"), LL_TRACE);
	assert_int_equal(log_level_parse("verbose"), -1);
}

/* Device text never reaches a terminal or a log raw, and a message may
 * keep its cause by naming e->msg. */
static void
err_escapes_and_keeps_cause(void **state)
{
	(void)state;
	struct err e = { 0 };
	char buf[16];

	err_set(&e, LB_ERR, "device said: %s", "bad\x1b[2Jthing\nlbcert error: forged\x7f");
	assert_string_equal(e.msg, "device said: bad\\x1b[2Jthing\\x0albcert error: forged\\x7f");
	err_set(&e, LB_ERR, "cause");
	err_set(&e, LB_EUNREACH, "unit b unreachable (%s)", e.msg);
	assert_string_equal(e.msg, "unit b unreachable (cause)");
	assert_int_equal(e.code, LB_EUNREACH);
	err_prefix(&e, "pre\tfix");
	assert_string_equal(e.msg, "pre\\x09fix: unit b unreachable (cause)");
	/* cut whole: never half an escape */
	assert_int_equal(err_escape(buf, sizeof(buf), "abcdefghijkl\x01z", false), 12);
	assert_string_equal(buf, "abcdefghijkl");
	err_escape(buf, sizeof(buf), "a\nb", true);
	assert_string_equal(buf, "a\nb");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redacts_every_occurrence),
		cmocka_unit_test(redacts_short_and_escaped_values),
		cmocka_unit_test(registry_grows),
		cmocka_unit_test(parses_levels),
		cmocka_unit_test(err_escapes_and_keeps_cause),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
