#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"
#include "util/mem.h"

struct fx {
	char tmp[64];   /* mkdtemp parent, 0700 */
	char dir[128];  /* the state dir under it, not created yet */
};

static int
rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	int rc = system(cmd);

	free(cmd);
	return rc;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/test_store.XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/state", f->tmp);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	rm_rf(f->tmp);
	free(f);
	return 0;
}

static struct store *
open_ok(struct fx *f)
{
	struct store *s = NULL;
	struct err e = {0};
	int rc = store_open(f->dir, &s, &e);

	if (rc != 0)
		fail_msg("store_open: %s", e.msg);
	assert_non_null(s);
	return s;
}

static void
open_creates_private_dir_and_db(void **state)
{
	struct fx *f = *state;
	struct stat st;
	struct store *s;
	char db[256];
	mode_t old = umask(022);

	s = open_ok(f);
	umask(old);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(db, sizeof(db), "%s/lbcert.db", f->dir);
	assert_int_equal(stat(db, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	store_close(s);
}

static void
refuses_open_state_dir(void **state)
{
	struct fx *f = *state;
	struct store *s = (struct store *)1;
	struct err e = {0};
	int fd = 7;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(store_open(f->dir, &s, &e), LB_ERR);
	assert_null(s);
	assert_non_null(strstr(e.msg, f->dir));
	assert_non_null(strstr(e.msg, "0755"));
	assert_non_null(strstr(e.msg, "group/others"));
	/* Nothing was created inside it. */
	char db[256];
	snprintf(db, sizeof(db), "%s/lbcert.db", f->dir);
	assert_int_not_equal(access(db, F_OK), 0);

	err_clear(&e);
	assert_int_equal(store_lock(f->dir, &fd, &e), LB_ERR);
	assert_int_equal(fd, -1);

	assert_int_equal(chmod(f->dir, 0710), 0);
	assert_int_equal(store_open(f->dir, &s, &e), LB_ERR);
}

static void
refuses_readable_db(void **state)
{
	struct fx *f = *state;
	struct store *s;
	struct err e = {0};
	char db[256];

	s = open_ok(f);
	store_close(s);
	snprintf(db, sizeof(db), "%s/lbcert.db", f->dir);
	assert_int_equal(chmod(db, 0644), 0);
	assert_int_equal(store_open(f->dir, &s, &e), LB_ERR);
	assert_non_null(strstr(e.msg, "lbcert.db"));
	assert_non_null(strstr(e.msg, "0644"));
}

static void
cert_round_trip(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct store_cert in = {
		.profile = "www", .device = "adc1", .ca = "scm",
		.serial = "1a2b3c", .not_before = 1700000000,
		.not_after = 1731536000,
		.names = "[\"www.example.com\",\"shop.example.com\"]",
		.key_desc = "ecdsa:P-256", .object = "www-example-com",
		.ca_ref = "12345",
		.cert_pem = "-----BEGIN CERTIFICATE-----\nAAA'\"\n",
		.chain_pem = "-----BEGIN CERTIFICATE-----\nBBB\n",
		.updated = 1700000100,
	};
	struct store_cert out;
	struct err e = {0};

	assert_int_equal(store_cert_get(s, "www", &out, &e), LB_ENOTFOUND);
	assert_non_null(strstr(e.msg, "www"));
	assert_int_equal(store_cert_put(s, &in, &e), 0);
	assert_int_equal(store_cert_get(s, "www", &out, &e), 0);
	assert_string_equal(out.profile, "www");
	assert_string_equal(out.device, "adc1");
	assert_string_equal(out.ca, "scm");
	assert_string_equal(out.serial, "1a2b3c");
	assert_int_equal(out.not_before, 1700000000);
	assert_int_equal(out.not_after, 1731536000);
	assert_string_equal(out.names, in.names);
	assert_string_equal(out.key_desc, "ecdsa:P-256");
	assert_string_equal(out.object, "www-example-com");
	assert_string_equal(out.ca_ref, "12345");
	assert_string_equal(out.cert_pem, in.cert_pem);
	assert_string_equal(out.chain_pem, in.chain_pem);
	assert_int_equal(out.updated, 1700000100);
	store_cert_free(&out);

	/* Update: the upsert replaces every field, NULLs included. */
	in.serial = "ff";
	in.not_after = 1800000000;
	in.chain_pem = NULL;
	in.ca_ref = NULL;
	in.updated = 0;
	time_t before = time(NULL);
	assert_int_equal(store_cert_put(s, &in, &e), 0);
	assert_int_equal(store_cert_get(s, "www", &out, &e), 0);
	assert_string_equal(out.serial, "ff");
	assert_int_equal(out.not_after, 1800000000);
	assert_null(out.chain_pem);
	assert_null(out.ca_ref);
	assert_string_equal(out.device, "adc1");
	assert_true(out.updated >= before && out.updated <= time(NULL));
	store_cert_free(&out);

	/* Another profile is independent. */
	in.profile = "api";
	assert_int_equal(store_cert_put(s, &in, &e), 0);
	assert_int_equal(store_cert_delete(s, "www", &e), 0);
	assert_int_equal(store_cert_get(s, "www", &out, &e), LB_ENOTFOUND);
	assert_int_equal(store_cert_get(s, "api", &out, &e), 0);
	store_cert_free(&out);
	/* Deleting what is not there is fine. */
	assert_int_equal(store_cert_delete(s, "www", &e), 0);
	store_close(s);
}

static void
job_round_trip(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct store_job in = {
		.profile = "www", .step = STEP_KEY, .first = true,
		.reason = "no certificate yet", .key_ref = "www-2026.key",
		.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n",
		.started = 1700000000, .updated = 1700000001,
	};
	struct store_job out;
	struct err e = {0};

	assert_int_equal(store_job_get(s, "www", &out, &e), LB_ENOTFOUND);
	assert_int_equal(store_job_put(s, &in, &e), 0);
	assert_int_equal(store_job_get(s, "www", &out, &e), 0);
	assert_string_equal(out.profile, "www");
	assert_int_equal(out.step, STEP_KEY);
	assert_true(out.first);
	assert_string_equal(out.reason, "no certificate yet");
	assert_string_equal(out.key_ref, "www-2026.key");
	assert_string_equal(out.csr_pem, in.csr_pem);
	assert_null(out.order_ref);
	assert_null(out.cert_pem);
	assert_int_equal(out.started, 1700000000);
	assert_int_equal(out.updated, 1700000001);
	store_job_free(&out);

	in.step = STEP_SAVED;
	in.first = false;
	in.order_ref = "https://acme.example/order/1";
	in.cert_pem = "CERT";
	in.chain_pem = "CHAIN";
	in.install_ref = "{\"cert\":\"www-2026\"}";
	in.old_refs = "{\"cert\":\"www-2025\"}";
	in.updated = 1700000050;
	assert_int_equal(store_job_put(s, &in, &e), 0);
	assert_int_equal(store_job_get(s, "www", &out, &e), 0);
	assert_int_equal(out.step, STEP_SAVED);
	assert_false(out.first);
	assert_string_equal(out.order_ref, in.order_ref);
	assert_string_equal(out.cert_pem, "CERT");
	assert_string_equal(out.chain_pem, "CHAIN");
	assert_string_equal(out.install_ref, in.install_ref);
	assert_string_equal(out.old_refs, in.old_refs);
	assert_int_equal(out.started, 1700000000);
	assert_int_equal(out.updated, 1700000050);
	store_job_free(&out);

	assert_int_equal(store_job_delete(s, "www", &e), 0);
	assert_int_equal(store_job_get(s, "www", &out, &e), LB_ENOTFOUND);
	store_close(s);
}

static void
step_names(void **state)
{
	(void)state;
	const char *want[] = { "none", "key", "ordered", "issued",
	    "installed", "activated", "saved" };

	for (int i = STEP_NONE; i <= STEP_SAVED; i++)
		assert_string_equal(store_step_name(i), want[i]);
	assert_string_equal(store_step_name(99), "unknown");
	assert_string_equal(store_step_name(-1), "unknown");
}

static void
result_set_get(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct err e = {0};
	char *res, *er;
	time_t when, before = time(NULL);

	assert_int_equal(store_result_get(s, "www", &res, &er, &when, &e),
	    LB_ENOTFOUND);
	assert_null(res);
	assert_null(er);
	assert_int_equal(store_result_set(s, "www", "failed",
	    "adc1: connection refused", &e), 0);
	assert_int_equal(store_result_get(s, "www", &res, &er, &when, &e), 0);
	assert_string_equal(res, "failed");
	assert_string_equal(er, "adc1: connection refused");
	assert_true(when >= before && when <= time(NULL));
	free(res);
	free(er);
	assert_int_equal(store_result_set(s, "www", "renewed", NULL, &e), 0);
	assert_int_equal(store_result_get(s, "www", &res, &er, NULL, &e), 0);
	assert_string_equal(res, "renewed");
	assert_null(er);
	free(res);
	store_close(s);
}

/* A batch lands whole or not at all: a bad row rolls back the rows before
 * it, and what was there stays. */
static void
results_batch(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct err e = {0};
	struct store_result ok[] = {
		{ "a", "unchanged", NULL, 1000 }, { "b", "unchanged", NULL, 1001 },
	};
	struct store_result bad[] = {
		{ "a", "failed", "x", 2000 }, { "c", NULL, NULL, 2001 },
	};
	char *res, *er;
	time_t when;

	assert_int_equal(store_results_set(s, ok, 2, &e), 0);
	assert_int_equal(store_result_get(s, "b", &res, &er, &when, &e), 0);
	assert_string_equal(res, "unchanged");
	assert_null(er);
	assert_int_equal(when, 1001);
	free(res);
	assert_int_not_equal(store_results_set(s, bad, 2, &e), 0);
	assert_int_equal(store_result_get(s, "a", &res, &er, &when, &e), 0);
	assert_string_equal(res, "unchanged");
	assert_int_equal(when, 1000);
	free(res);
	assert_int_equal(store_result_get(s, "c", &res, &er, &when, &e), LB_ENOTFOUND);
	/* the store is usable after the rollback */
	assert_int_equal(store_results_set(s, bad, 1, &e), 0);
	assert_int_equal(store_result_get(s, "a", &res, &er, &when, &e), 0);
	assert_string_equal(res, "failed");
	assert_string_equal(er, "x");
	free(res);
	free(er);
	assert_int_equal(store_results_set(s, NULL, 0, &e), 0);
	store_close(s);
}

/* Each run asks the history about every profile, and the history only
 * grows: the questions a run asks are answered through an index, never
 * by reading the whole table. */
static void
history_count_indexed(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	const char *asked[][3] = {
		{ "www", "revoke", "0A1B" },	/* renewal decision, rollback */
		{ NULL, "ca_submit", "order-1" },	/* engine_order_used */
		{ "www", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
		const char *sql = store_history_count_sql(asked[i][0], asked[i][1], asked[i][2]);
		char q[512], plan[512] = "";
		sqlite3_stmt *st;
		size_t len = 0;

		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
		assert_int_equal(sqlite3_prepare_v2(s->db, q, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW && len < sizeof(plan) - 1)
			len += (size_t)snprintf(plan + len, sizeof(plan) - len, "%s;",
			    (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		if (strstr(plan, "USING") == NULL || strstr(plan, "SCAN history") != NULL)
			fail_msg("%s: %s", sql, plan);
	}
	store_close(s);
}

static void
history_add_count(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct err e = {0};
	long n;

	assert_int_equal(store_history_count(s, NULL, NULL, NULL, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_history_add(s, "www", "adc1", "create-key",
	    "www-2026.key", &e), 0);
	assert_int_equal(store_history_add(s, "www", "adc1", "install",
	    NULL, &e), 0);
	assert_int_equal(store_history_add(s, "www", "adc1", "install",
	    "again", &e), 0);
	assert_int_equal(store_history_add(s, "api", "bigip1", "install",
	    "x", &e), 0);
	assert_int_equal(store_history_add(s, NULL, "bigip1", "save",
	    NULL, &e), 0);

	assert_int_equal(store_history_count(s, NULL, NULL, NULL, &n, &e), 0);
	assert_int_equal(n, 5);
	assert_int_equal(store_history_count(s, "www", NULL, NULL, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_history_count(s, NULL, "install", NULL, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_history_count(s, "www", "install", NULL, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_history_count(s, "api", "create-key", NULL, &n, &e),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(store_history_count(s, "nope", NULL, NULL, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_history_count(s, "www", "install", "again", &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_history_count(s, NULL, NULL, "x", &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_history_add(s, "www", "adc1", NULL, NULL, &e),
	    LB_ERR);
	store_close(s);
}

static void
lock_is_exclusive(void **state)
{
	struct fx *f = *state;
	struct err e = {0};
	struct stat st;
	char path[256];
	int fd1, fd2;

	assert_int_equal(store_lock(f->dir, &fd1, &e), 0);
	assert_true(fd1 >= 0);
	snprintf(path, sizeof(path), "%s/lbcert.lock", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(store_lock(f->dir, &fd2, &e), LB_ELOCKED);
	assert_int_equal(fd2, -1);
	char want[300];
	snprintf(want, sizeof(want), "another lbcert run holds %s", path);
	assert_string_equal(e.msg, want);

	store_unlock(fd1);
	err_clear(&e);
	assert_int_equal(store_lock(f->dir, &fd2, &e), 0);
	store_unlock(fd2);
}

static void
reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct store_cert c = { .profile = "www", .serial = "abc" };
	struct store_cert out;
	struct err e = {0};
	long n;

	assert_int_equal(store_cert_put(s, &c, &e), 0);
	assert_int_equal(store_history_add(s, "www", "adc1", "install", NULL,
	    &e), 0);
	store_close(s);
	/* Twice: migrations must be idempotent. */
	for (int i = 0; i < 2; i++) {
		s = open_ok(f);
		assert_int_equal(store_cert_get(s, "www", &out, &e), 0);
		assert_string_equal(out.serial, "abc");
		assert_null(out.device);
		store_cert_free(&out);
		assert_int_equal(store_history_count(s, NULL, NULL, NULL, &n, &e), 0);
		assert_int_equal(n, 1);
		store_close(s);
	}
}

static void
two_handles_share_data(void **state)
{
	struct fx *f = *state;
	struct store *a = open_ok(f), *b = open_ok(f);
	struct store_job j = { .profile = "www", .step = STEP_ORDERED };
	struct store_job out;
	struct err e = {0};

	/* A put is committed on return: another connection sees it. */
	assert_int_equal(store_job_put(a, &j, &e), 0);
	assert_int_equal(store_job_get(b, "www", &out, &e), 0);
	assert_int_equal(out.step, STEP_ORDERED);
	assert_true(out.started != 0);
	store_job_free(&out);
	store_close(a);
	store_close(b);
}

/* The CA's renewal window per profile, and the ACME profile a recorded
 * certificate was ordered with (a renewal without one clears it). */
static void
ari_and_acme_profile(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct store_cert c = { .profile = "www", .serial = "1a", .cert_pem = "x" };
	struct store_ari in = { .serial = "1a", .cert_id = "aYhb.AIdl", .start = 100,
		.end = 200, .pick = 150, .retry_at = 300, .explanation = "https://ca/why" };
	struct store_ari none = { .serial = "1b", .retry_at = 400 }, out;
	struct err e = {0};
	char *name = NULL;

	assert_int_equal(store_ari_get(s, "www", &out, &e), LB_ENOTFOUND);
	assert_int_equal(store_ari_put(s, "www", &in, &e), 0);
	assert_int_equal(store_ari_get(s, "www", &out, &e), 0);
	assert_string_equal(out.serial, "1a");
	assert_string_equal(out.cert_id, "aYhb.AIdl");
	assert_int_equal(out.start, 100);
	assert_int_equal(out.end, 200);
	assert_int_equal(out.pick, 150);
	assert_int_equal(out.retry_at, 300);
	assert_string_equal(out.explanation, "https://ca/why");
	store_ari_free(&out);
	/* a CA without renewal information: no window, one row per profile */
	assert_int_equal(store_ari_put(s, "www", &none, &e), 0);
	assert_int_equal(store_ari_get(s, "www", &out, &e), 0);
	assert_string_equal(out.serial, "1b");
	assert_null(out.cert_id);
	assert_null(out.explanation);
	assert_int_equal(out.retry_at, 400);
	store_ari_free(&out);

	assert_int_equal(store_cert_acme_profile_get(s, "www", &name, &e), 0);
	assert_null(name);
	assert_int_equal(store_cert_put(s, &c, &e), 0);
	assert_int_equal(store_cert_acme_profile_set(s, "www", "shortlived", &e), 0);
	assert_int_equal(store_cert_acme_profile_get(s, "www", &name, &e), 0);
	assert_string_equal(name, "shortlived");
	free(name);
	c.serial = "2b";
	assert_int_equal(store_cert_put(s, &c, &e), 0);
	assert_int_equal(store_cert_acme_profile_set(s, "www", NULL, &e), 0);
	assert_int_equal(store_cert_acme_profile_get(s, "www", &name, &e), 0);
	assert_null(name);
	store_close(s);
}

/* The previous certificate: one per profile, the last put wins. */
static void
previous_round_trip(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct store_cert c = { .profile = "www", .device = "adc1", .serial = "0a",
		.not_after = 1900000000, .cert_pem = "PEM" }, out;
	char *refs = NULL;
	time_t when = 0;
	struct err e = {0};

	assert_int_equal(store_prev_get(s, "www", &out, &refs, &when, &e), LB_ENOTFOUND);
	assert_int_equal(store_prev_put(s, &c, "{\"cert\":\"a\"}", &e), 0);
	c.serial = "0b";
	assert_int_equal(store_prev_put(s, &c, "{\"cert\":\"b\"}", &e), 0);
	assert_int_equal(store_prev_get(s, "www", &out, &refs, &when, &e), 0);
	assert_string_equal(out.serial, "0b");
	assert_string_equal(out.cert_pem, "PEM");
	assert_int_equal(out.not_after, 1900000000);
	assert_string_equal(refs, "{\"cert\":\"b\"}");
	assert_true(when > 0);
	store_cert_free(&out);
	free(refs);
	assert_int_equal(store_prev_delete(s, "www", &e), 0);
	assert_int_equal(store_prev_get(s, "www", &out, &refs, &when, &e), LB_ENOTFOUND);
	store_close(s);
}

/* Pending retirements are listed up to a time: the keep time's cut-off. */
static void
retire_list_until(void **state)
{
	struct fx *f = *state;
	struct store *s = open_ok(f);
	struct err e = {0};
	char **v = NULL;
	size_t n = 0;

	assert_int_equal(store_retire_add(s, "www", "r1", &e), 0);
	assert_int_equal(store_retire_list(s, "www", time(NULL) - 3600, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_retire_list(s, "www", time(NULL), &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "r1");
	strv_free(v, n);
	store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(open_creates_private_dir_and_db),
		T(refuses_open_state_dir),
		T(refuses_readable_db),
		T(cert_round_trip),
		T(job_round_trip),
		cmocka_unit_test(step_names),
		T(result_set_get),
		T(results_batch),
		T(history_count_indexed),
		T(history_add_count),
		T(lock_is_exclusive),
		T(reopen_keeps_data),
		T(two_handles_share_data),
		T(ari_and_acme_profile),
		T(previous_round_trip),
		T(retire_list_until),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
