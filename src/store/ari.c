/*
 * What the CA told about a certificate's renewal (RFC 9773 renewal
 * information), one row per profile, and the ACME profile a recorded
 * certificate was ordered with. A row names the serial it is about: one
 * left from a replaced certificate is simply not used.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

void
store_ari_free(struct store_ari *a)
{
	if (a == NULL)
		return;
	free(a->serial);
	free(a->cert_id);
	free(a->explanation);
	memset(a, 0, sizeof(*a));
}

int
store_ari_get(struct store *s, const char *profile, struct store_ari *out, struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct store_ari a = {0};
	int r, rc = LB_ERR;

	memset(out, 0, sizeof(*out));
	if (store_begin(s, "SELECT serial, cert_id, start, end, pick, retry_at, explanation"
	    " FROM ari WHERE profile = ?1", profile, &st, e) != 0)
		goto out;
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		rc = err_set(e, LB_ENOTFOUND, "no renewal information for profile %s", profile);
		goto out;
	}
	if (r != SQLITE_ROW) {
		store_db_err(s, e, "reading renewal information");
		goto out;
	}
	if (store_col_text(st, 0, &a.serial) || store_col_text(st, 1, &a.cert_id) ||
	    store_col_text(st, 6, &a.explanation)) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	a.start = (time_t)sqlite3_column_int64(st, 2);
	a.end = (time_t)sqlite3_column_int64(st, 3);
	a.pick = (time_t)sqlite3_column_int64(st, 4);
	a.retry_at = (time_t)sqlite3_column_int64(st, 5);
	*out = a;
	memset(&a, 0, sizeof(a));
	rc = 0;
out:
	store_done(s, st);
	store_ari_free(&a);
	return rc;
}

int
store_ari_put(struct store *s, const char *profile, const struct store_ari *a,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (profile == NULL || a->serial == NULL)
		return err_set(e, LB_ERR, "store_ari_put: no profile/serial");
	if (store_begin(s, "INSERT OR REPLACE INTO ari (profile, serial, cert_id, start,"
	    " end, pick, retry_at, explanation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	    profile, &st, e) != 0)
		goto out;
	if (store_bind_text(st, 2, a->serial) ||
	    store_bind_text(st, 3, a->cert_id) ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)a->start) ||
	    sqlite3_bind_int64(st, 5, (sqlite3_int64)a->end) ||
	    sqlite3_bind_int64(st, 6, (sqlite3_int64)a->pick) ||
	    sqlite3_bind_int64(st, 7, (sqlite3_int64)a->retry_at) ||
	    store_bind_text(st, 8, a->explanation)) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (store_step_done(s, st, "recording renewal information", e) != 0) {
		err_prefix(e, "profile %s", profile);
		goto out;
	}
	rc = 0;
out:
	store_done(s, st);
	return rc;
}

int
store_cert_acme_profile_set(struct store *s, const char *profile, const char *name,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (store_begin(s, "UPDATE certs SET acme_profile = ?2 WHERE profile = ?1", profile,
	    &st, e) != 0)
		goto out;
	if (store_bind_text(st, 2, name)) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (store_step_done(s, st, "recording the ACME profile", e) != 0) {
		err_prefix(e, "profile %s", profile);
		goto out;
	}
	rc = 0;
out:
	store_done(s, st);
	return rc;
}

int
store_cert_acme_profile_get(struct store *s, const char *profile, char **out,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int r, rc = LB_ERR;

	*out = NULL;
	if (store_begin(s, "SELECT acme_profile FROM certs WHERE profile = ?1", profile, &st,
	    e) != 0)
		goto out;
	if ((r = sqlite3_step(st)) != SQLITE_ROW && r != SQLITE_DONE) {
		store_db_err(s, e, "reading the ACME profile");
		goto out;
	}
	if (r == SQLITE_ROW && store_col_text(st, 0, out) != 0) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	rc = 0;
out:
	store_done(s, st);
	return rc;
}
