#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

/* The one RR of the update section, as ldns prints it. */
static char *
update_rr_text(ldns_pkt *p)
{
	/* ldns keeps an update's sections in the query's fields:
	 * zone = question, prerequisites = answer, updates = authority */
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(p)), 1);
	return ldns_rr2str(ldns_rr_list_rr(ldns_pkt_authority(p), 0));
}

static void
update_add(void **state)
{
	ldns_pkt *p = dns_update_pkt("lbcert.test", "_acme-challenge.www.lbcert.test",
	    "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM", true, 60);
	ldns_rr *zone;
	char *s;

	(void)state;
	assert_non_null(p);
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_question(p)), 1);
	zone = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	assert_int_equal(ldns_rr_get_type(zone), LDNS_RR_TYPE_SOA);
	s = ldns_rdf2str(ldns_rr_owner(zone));
	assert_string_equal(s, "lbcert.test.");
	free(s);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 0);
	s = update_rr_text(p);
	assert_string_equal(s, "_acme-challenge.www.lbcert.test.\t60\tIN\tTXT\t"
	    "\"lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM\"\n");
	free(s);
	ldns_pkt_free(p);
}

static void
update_delete_one_rr(void **state)
{
	ldns_pkt *p = dns_update_pkt("lbcert.test", "_acme-challenge.lbcert.test", "v1",
	    false, 60);
	ldns_rr *rr;

	(void)state;
	assert_non_null(p);
	free(update_rr_text(p));
	rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	/* class NONE with the value deletes that RR only (RFC 2136 §2.5.4),
	 * not the RRset (class ANY): another authorization's value stays */
	assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_NONE);
	assert_int_equal(ldns_rr_ttl(rr), 0);
	assert_int_equal(ldns_rr_rd_count(rr), 1);
	ldns_pkt_free(p);
}

static void
update_refuses_bad_input(void **state)
{
	char big[300];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* a TXT string holds at most 255 bytes */
	assert_null(dns_update_pkt("lbcert.test", "_acme-challenge.lbcert.test", big, true, 60));
	/* a label longer than 63 */
	assert_null(dns_update_pkt("lbcert.test", big, "v", true, 60));
}

static ldns_pkt *
answer_with(const char *const *rrs, size_t n)
{
	ldns_pkt *p = ldns_pkt_new();

	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL, NULL), LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr));
	}
	return p;
}

static void
answer_txt(void **state)
{
	static const char *const rrs[] = {
		"_acme-challenge.lbcert.test. 60 IN TXT \"other\"",
		"_ACME-Challenge.LBCERT.test. 60 IN TXT \"want\"",
		"x.lbcert.test. 60 IN TXT \"elsewhere\"",
		"_acme-challenge.lbcert.test. 60 IN TXT \"two\" \"strings\"",
	};
	ldns_pkt *p = answer_with(rrs, 4);

	(void)state;
	assert_true(dns_answer_has_txt(p, "_acme-challenge.lbcert.test", "want"));
	assert_true(dns_answer_has_txt(p, "_acme-challenge.lbcert.test", "other"));
	assert_false(dns_answer_has_txt(p, "_acme-challenge.lbcert.test", "elsewhere"));
	assert_false(dns_answer_has_txt(p, "_acme-challenge.lbcert.test", "wan"));
	assert_false(dns_answer_has_txt(p, "_acme-challenge.lbcert.test", "two"));
	assert_false(dns_answer_has_txt(p, "_acme-challenge.www.lbcert.test", "want"));
	ldns_pkt_free(p);
}

static void
name_text(void **state)
{
	ldns_rdf *d = ldns_dname_new_frm_str("NS1.Lbcert.TEST.");
	char *s = dns_name_text(d);

	(void)state;
	assert_string_equal(s, "ns1.lbcert.test");
	free(s);
	ldns_rdf_deep_free(d);
}

static void
tsig_errors(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(dns_tsig_error_name(16, buf, sizeof(buf)), "BADSIG");
	assert_string_equal(dns_tsig_error_name(17, buf, sizeof(buf)), "BADKEY");
	assert_string_equal(dns_tsig_error_name(18, buf, sizeof(buf)), "BADTIME");
	assert_string_equal(dns_tsig_error_name(99, buf, sizeof(buf)), "TSIG error 99");
}

static void
resolver_needs_address(void **state)
{
	ldns_resolver *r = dns_resolver_for("127.0.0.1", 5353);

	(void)state;
	assert_non_null(r);
	assert_int_equal(ldns_resolver_port(r), 5353);
	assert_false(ldns_resolver_recursive(r));
	ldns_resolver_deep_free(r);
	r = dns_resolver_for("::1", 53);
	assert_non_null(r);
	ldns_resolver_deep_free(r);
	assert_null(dns_resolver_for("ns1.lbcert.test", 53));
}

static void
open_unknown_server(void **state)
{
	struct cfg_dns cfg = { .server = "no-such-host.invalid", .port = 53,
	    .tsig_name = "k", .tsig_algorithm = "hmac-sha256", .timeout_s = 1,
	    .tsig_secret = "c2VjcmV0" };
	struct dns *d = NULL;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(dns_open(&cfg, &d, &e), LB_EUNREACH);
	assert_null(d);
	assert_non_null(strstr(e.msg, "no-such-host.invalid"));
}

static void
zone_from_config(void **state)
{
	struct cfg_dns cfg = { .server = "127.0.0.1", .port = 53, .zone = "lbcert.test",
	    .tsig_name = "k", .tsig_algorithm = "hmac-sha256", .timeout_s = 1,
	    .tsig_secret = "c2VjcmV0" };
	struct dns *d = NULL;
	struct err e = { 0 };
	char *z = NULL;

	(void)state;
	assert_int_equal(dns_open(&cfg, &d, &e), 0);
	assert_int_equal(dns_zone_of(d, "_acme-challenge.www.lbcert.test", &z, &e), 0);
	assert_string_equal(z, "lbcert.test");
	free(z);
	assert_int_equal(dns_zone_of(d, "_acme-challenge.lbcert.test", &z, &e), 0);
	free(z);
	/* a suffix that is not a whole label is another zone */
	assert_int_equal(dns_zone_of(d, "_acme-challenge.xlbcert.test", &z, &e), LB_ECONFIG);
	assert_null(z);
	assert_non_null(strstr(e.msg, "dns.zone"));
	dns_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(update_add),
		cmocka_unit_test(update_delete_one_rr),
		cmocka_unit_test(update_refuses_bad_input),
		cmocka_unit_test(answer_txt),
		cmocka_unit_test(name_text),
		cmocka_unit_test(tsig_errors),
		cmocka_unit_test(resolver_needs_address),
		cmocka_unit_test(open_unknown_server),
		cmocka_unit_test(zone_from_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
