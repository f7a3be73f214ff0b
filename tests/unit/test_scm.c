/* Unit tests of the pure pieces of src/ca/scm.c (scm_internal.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ca/scm_internal.h"

#define S(x) x, strlen(x)

static void
test_error_parse(void **st)
{
	static const struct {
		const char *body;
		int rc;
		long code;
		const char *desc;
	} t[] = {
		{ "{\"code\":-16,\"description\":\"Unknown user\"}", 0, -16, "Unknown user" },
		{ "{\"code\": -183, \"description\": \"Certificate is not collectable.\"}", 0, -183,
		  "Certificate is not collectable." },
		{ "{\"description\":\"x\",\"code\":-7,\"details\":{\"a\":1}}", 0, -7, "x" },
		{ "{\"code\":-1002}", 0, -1002, "" },
		{ "{\"description\":\"no code\"}", -1, 0, NULL },
		{ "{\"code\":\"-16\",\"description\":\"string code\"}", -1, 0, NULL },
		{ "<html>502 Bad Gateway</html>", -1, 0, NULL },
		{ "[1,2]", -1, 0, NULL },
		{ "", -1, 0, NULL },
	};
	(void)st;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long code = 0;
		char *desc = (char *)"junk";
		int rc = scm_error_parse(S(t[i].body), &code, &desc);

		assert_int_equal(rc, t[i].rc);
		if (rc == 0) {
			assert_int_equal(code, t[i].code);
			assert_string_equal(desc, t[i].desc);
		} else {
			assert_null(desc);
		}
		free(desc);
	}
	{
		long code;
		char *desc = (char *)"junk";
		assert_int_equal(scm_error_parse(NULL, 0, &code, &desc), -1);
		assert_null(desc);
	}
}

static void
test_http_error(void **st)
{
	struct err e = {0};
	const char *b = "{\"code\":-107,\"description\":\"Domain Control Validation is either "
	    "incomplete or expired for www.bad.example.\"}";

	(void)st;
	assert_int_equal(scm_http_error("scm1", 400, S(b), &e), LB_ERR);
	assert_string_equal(e.msg, "scm scm1: -107 Domain Control Validation is either "
	    "incomplete or expired for www.bad.example. (HTTP 400)");
	assert_int_equal(scm_http_error("scm1", 401, S("{\"code\":-16,\"description\":"
	    "\"Unknown user\"}"), &e), LB_EAUTH);
	assert_string_equal(e.msg, "scm scm1: -16 Unknown user (HTTP 401)");
	assert_int_equal(scm_http_error("scm1", 404, S("{\"code\":-124,\"description\":"
	    "\"Wrong SSL certificate id 9.\"}"), &e), LB_ENOTFOUND);
	assert_int_equal(scm_http_error("scm1", 502, S("<html>\nBad\tGateway</html>"), &e),
	    LB_ERR);
	assert_string_equal(e.msg, "scm scm1: unexpected answer (HTTP 502): <html> Bad Gateway</html>");
	assert_int_equal(scm_http_error("scm1", 500, NULL, 0, &e), LB_ERR);
	assert_string_equal(e.msg, "scm scm1: unexpected answer (HTTP 500)");
}

static void
test_collect_pending(void **st)
{
	static const struct {
		long status;
		const char *body;
		bool pending;
	} t[] = {
		/* documented "not yet" variants (reference 2.4) */
		{ 400, "{\"code\":-183,\"description\":\"Certificate is not collectable.\"}", true },
		{ 400, "{\"code\":-1400,\"description\":\"The request is being processed by Sectigo.\"}", true },
		{ 400, "{\"code\":-109,\"description\":\"Certificate is not available now, please try again later.\"}", true },
		{ 400, "{\"code\":-195,\"description\":\"CA is not available now. Please try again later.\"}", true },
		{ 400, "{\"code\":-140,\"description\":\"CSR decoding temporarily unavailable.\"}", true },
		{ 400, "{\"code\":-103,\"description\":\"Certificate has not been collected yet.\"}", true },
		{ 500, "{\"code\":-2,\"description\":\"Internal error.\"}", true },
		{ 502, "<html>bad gateway</html>", true },
		{ 503, "", true },
		{ 200, "", true },                 /* sguidia: empty 200 = not ready */
		{ 200, "{}", true },
		/* final */
		{ 200, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", false },
		{ 400, "{\"code\":-110,\"description\":\"Certificate has been revoked and cannot be downloaded.\"}", false },
		{ 404, "{\"code\":-124,\"description\":\"Wrong SSL certificate id 5.\"}", false },
		{ 400, "{\"code\":-124,\"description\":\"Wrong SSL certificate id 5.\"}", false },
		{ 400, "{\"code\":-126,\"description\":\"Unknown SSL certificate file format requested: x\"}", false },
		{ 400, "{\"code\":-1450,\"description\":\"Unknown format\"}", false },
		{ 401, "{\"code\":-16,\"description\":\"Unknown user\"}", false },
		{ 401, "{\"code\":-183,\"description\":\"odd\"}", false },
		/* the OAS documents 404 for collect: the code decides */
		{ 404, "{\"code\":-183,\"description\":\"Certificate is not collectable.\"}", true },
		{ 404, "{\"code\":-1,\"description\":\"Not found\"}", false },
		{ 404, "", false },
		{ 400, "not json", false },
	};
	(void)st;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = scm_collect_pending(t[i].status, S(t[i].body));
		if (got != t[i].pending)
			fail_msg("case %zu (%ld %s): got %d", i, t[i].status, t[i].body, got);
	}
	assert_true(scm_collect_pending(200, NULL, 0));
}

/* Query form (?format=) first; these answers mean the instance serves
 * only the path form (/{format}), so the client switches. */
static void
test_collect_unserved(void **st)
{
	static const struct {
		long status;
		const char *body;
		bool unserved;
	} t[] = {
		{ 404, "", true },
		{ 404, "<html>Not Found</html>", true },
		{ 404, "{\"timestamp\":1,\"status\":404,\"error\":\"Not Found\"}", true },
		{ 404, "{\"code\":-1,\"description\":\"Not found: /api/ssl/v1/collect/5\"}", true },
		{ 405, "{\"code\":-1,\"description\":\"Request method 'GET' not supported\"}", true },
		{ 404, "{\"code\":-124,\"description\":\"Wrong SSL certificate id 5.\"}", false },
		{ 404, "{\"code\":-183,\"description\":\"Certificate is not collectable.\"}", false },
		{ 404, "{\"code\":-110,\"description\":\"revoked\"}", false },
		{ 400, "{\"code\":-126,\"description\":\"Unknown format\"}", false },
		{ 400, "{\"code\":-1,\"description\":\"x\"}", false },
		{ 200, "", false },
		{ 401, "", false },
		{ 500, "", false },
	};
	(void)st;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = scm_collect_unserved(t[i].status, S(t[i].body));
		if (got != t[i].unserved)
			fail_msg("case %zu (%ld %s): got %d", i, t[i].status, t[i].body, got);
	}
}

static void
check_enroll(const char *js, const char *sans_want)
{
	json_error_t jerr;
	json_t *j = json_loads(js, 0, &jerr);
	json_int_t org, type;
	int term;
	const char *csr, *comments, *sans = NULL;

	assert_non_null(j);
	assert_int_equal(json_unpack_ex(j, &jerr, JSON_STRICT,
	    "{s:I, s:s, s:I, s:i, s:s, s?s}", "orgId", &org, "csr", &csr, "certType", &type,
	    "term", &term, "comments", &comments, "subjAltNames", &sans), 0);
	assert_int_equal(org, 1234);
	assert_int_equal(type, 224);
	assert_int_equal(term, 365);
	assert_string_equal(csr, "-----BEGIN CERTIFICATE REQUEST-----\nMIIBxyz+/=\n"
	    "-----END CERTIFICATE REQUEST-----");
	assert_string_equal(comments, "lbcert www");
	if (sans_want == NULL)
		assert_null(sans);
	else
		assert_string_equal(sans, sans_want);
	json_decref(j);
}

static void
test_enroll_body(void **st)
{
	char *n3[] = { "www.example.com", "shop.example.com", "*.static.example.com" };
	char *n1[] = { "www.example.com" };
	char *nmid[] = { "a.example.com", "WWW.example.com", "b.example.com" };
	struct scm_enroll r = {
		.org_id = 1234, .cert_type = 224, .term = 365,
		.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBxyz+/=\n"
		    "-----END CERTIFICATE REQUEST-----\n\n  ",
		.names = n3, .nnames = 3, .common_name = "www.example.com", .profile = "www",
	};
	char *s;

	(void)st;
	s = scm_enroll_body(&r);
	assert_non_null(s);
	check_enroll(s, "shop.example.com,*.static.example.com");
	free(s);

	r.names = n1;
	r.nnames = 1;
	s = scm_enroll_body(&r);
	check_enroll(s, NULL);
	free(s);

	r.names = nmid;
	r.nnames = 3;
	s = scm_enroll_body(&r);
	check_enroll(s, "a.example.com,b.example.com");
	free(s);
}

static void
test_type_lookup(void **st)
{
	const char *types = "[{\"id\":224,\"name\":\"InstantSSL Pro\",\"terms\":[365]},"
	    "{\"id\":225,\"name\":\"PremiumSSL Wildcard\",\"terms\":[365]}]";
	struct err e = {0};
	long id = 0;

	(void)st;
	assert_int_equal(scm_type_lookup("scm1", S(types), "PremiumSSL Wildcard", &id, &e), 0);
	assert_int_equal(id, 225);
	assert_int_equal(scm_type_lookup("scm1", S(types), "instantssl pro", &id, &e), 0);
	assert_int_equal(id, 224);
	assert_int_equal(scm_type_lookup("scm1", S(types), "225", &id, &e), 0);
	assert_int_equal(id, 225);
	assert_int_equal(scm_type_lookup("scm1", S(types), "999", &id, &e), LB_ECONFIG);
	assert_int_equal(scm_type_lookup("scm1", S(types), "EV SSL", &id, &e), LB_ECONFIG);
	assert_string_equal(e.msg, "scm scm1: unknown cert_type \"EV SSL\"; available: "
	    "224 \"InstantSSL Pro\", 225 \"PremiumSSL Wildcard\"");
	assert_int_equal(scm_type_lookup("scm1", S("{\"code\":-16}"), "x", &id, &e), LB_ERR);
	assert_int_equal(scm_type_lookup("scm1", S("[]"), "x", &id, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "available: none"));
}

static void
test_is_id(void **st)
{
	(void)st;
	assert_true(scm_is_id("1"));
	assert_true(scm_is_id("10001"));
	assert_false(scm_is_id(""));
	assert_false(scm_is_id(NULL));
	assert_false(scm_is_id("0"));
	assert_false(scm_is_id("012"));
	assert_false(scm_is_id("-5"));
	assert_false(scm_is_id("12/../x"));
	assert_false(scm_is_id("InstantSSL"));
	assert_false(scm_is_id("1234567890123456789"));
}

static void
test_enroll_extra(void **st)
{
	char *n1[] = { "www.example.com" };
	struct cfg_field fields[] = { { "Cost Center", "42" }, { "Owner", "web team" } };
	struct cfg_scm_extra x = { fields, 2, "EMAIL", "admin@example.com" };
	struct scm_enroll r = {
		.org_id = 1, .cert_type = 224, .term = 365,
		.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"
		    "-----END CERTIFICATE REQUEST-----\n",
		.names = n1, .nnames = 1, .common_name = "www.example.com", .profile = "www",
		.tag = "0123456789abcdef", .extra = &x,
	};
	char *s = scm_enroll_body(&r);
	json_t *j = json_loads(s, 0, NULL), *cf;

	(void)st;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "comments")),
	    "lbcert www ref 0123456789abcdef");
	cf = json_object_get(j, "customFields");
	assert_int_equal(json_array_size(cf), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cf, 1), "name")),
	    "Owner");
	assert_string_equal(json_string_value(json_object_get(json_array_get(cf, 1), "value")),
	    "web team");
	assert_int_equal(json_object_size(json_array_get(cf, 0)), 2);
	assert_string_equal(json_string_value(json_object_get(j, "dcvMode")), "EMAIL");
	assert_string_equal(json_string_value(json_object_get(j, "dcvEmail")),
	    "admin@example.com");
	json_decref(j);
	free(s);

	/* nothing configured: none of the three keys */
	r.extra = NULL;
	r.tag = NULL;
	s = scm_enroll_body(&r);
	j = json_loads(s, 0, NULL);
	assert_null(json_object_get(j, "customFields"));
	assert_null(json_object_get(j, "dcvMode"));
	assert_null(json_object_get(j, "dcvEmail"));
	assert_string_equal(json_string_value(json_object_get(j, "comments")), "lbcert www");
	json_decref(j);
	free(s);
}

static void
test_term_check(void **st)
{
	const char *types = "[{\"id\":224,\"name\":\"InstantSSL Pro\",\"terms\":[365,730]},"
	    "{\"id\":225,\"name\":\"Any\"}]";
	struct err e = {0};

	(void)st;
	assert_int_equal(scm_term_check("scm1", S(types), 224, 365, &e), 0);
	assert_int_equal(scm_term_check("scm1", S(types), 224, 730, &e), 0);
	assert_int_equal(scm_term_check("scm1", S(types), 224, 397, &e), LB_ECONFIG);
	assert_string_equal(e.msg, "scm scm1: term 397 is not offered for certificate type 224 "
	    "\"InstantSSL Pro\"; allowed terms (days): 365, 730");
	/* no terms given, or the type is not listed: the enroll decides */
	assert_int_equal(scm_term_check("scm1", S(types), 225, 397, &e), 0);
	assert_int_equal(scm_term_check("scm1", S(types), 999, 397, &e), 0);
}

static void
test_custom_fields_check(void **st)
{
	const char *list = "[{\"id\":1,\"name\":\"Cost Center\",\"mandatory\":true},"
	    "{\"id\":2,\"name\":\"Note\",\"mandatory\":false},{\"id\":3,\"name\":\"Old\"}]";
	struct cfg_field f[] = { { "Cost Center", "42" } };
	struct cfg_scm_extra some = { f, 1, NULL, NULL }, none = {0};
	struct err e = {0};

	(void)st;
	assert_int_equal(scm_custom_fields_check("scm1", "www", S(list), &some, &e), 0);
	assert_int_equal(scm_custom_fields_check("scm1", "www", S(list), &none, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "custom field \"Cost Center\""));
	assert_non_null(strstr(e.msg, "profile www"));
	assert_int_equal(scm_custom_fields_check("scm1", "www", S("[]"), &none, &e), 0);
	assert_int_equal(scm_custom_fields_check("scm1", "www", S("{\"code\":-16}"), &none, &e),
	    LB_ERR);
}

static void
test_list_ids(void **st)
{
	long *ids = NULL;

	(void)st;
	/* sslId or id, number or decimal string; highest first */
	assert_int_equal(scm_list_ids(S("[{\"sslId\":10001,\"commonName\":\"a\"},"
	    "{\"sslId\":\"10007\"},{\"id\":10003},{\"id\":\"x\"},{\"other\":1},"
	    "{\"sslId\":0}]"), &ids), 3);
	assert_int_equal(ids[0], 10007);
	assert_int_equal(ids[1], 10003);
	assert_int_equal(ids[2], 10001);
	free(ids);
	assert_int_equal(scm_list_ids(S("[]"), &ids), 0);
	free(ids);
	assert_int_equal(scm_list_ids(S("{\"code\":-16,\"description\":\"x\"}"), &ids), -1);
	assert_null(ids);
}

static void
test_details_tagged(void **st)
{
	(void)st;
	assert_true(scm_details_tagged(S("{\"comments\":\"lbcert www ref 00ff\"}"), "00ff"));
	assert_true(scm_details_tagged(S("{\"comments\":\"lbcert www ref 00ff more\"}"),
	    "00ff"));
	assert_false(scm_details_tagged(S("{\"comments\":\"lbcert www ref 00ffee\"}"), "00ff"));
	assert_false(scm_details_tagged(S("{\"comments\":\"lbcert www\"}"), "00ff"));
	assert_false(scm_details_tagged(S("{\"comments\":null}"), "00ff"));
	assert_false(scm_details_tagged(S("{}"), "00ff"));
	assert_false(scm_details_tagged(S("{\"comments\":\"x\"}"), ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_http_error),
		cmocka_unit_test(test_collect_pending),
		cmocka_unit_test(test_collect_unserved),
		cmocka_unit_test(test_enroll_body),
		cmocka_unit_test(test_type_lookup),
		cmocka_unit_test(test_is_id),
		cmocka_unit_test(test_enroll_extra),
		cmocka_unit_test(test_term_check),
		cmocka_unit_test(test_custom_fields_check),
		cmocka_unit_test(test_list_ids),
		cmocka_unit_test(test_details_tagged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
