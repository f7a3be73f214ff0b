/*
 * The certificate a renewal replaced, kept (with the refs of its objects on
 * the device) so that `lbcert rollback` can put it back in service and
 * record it as current again while its objects are still on the device.
 */
#include <stdlib.h>
#include <time.h>

#include "store/store_int.h"

int
store_prev_put(struct store *s, const struct store_cert *c, const char *refs, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (c->profile == NULL || refs == NULL)
		return err_set(e, LB_ERR, "store_prev_put: no profile/refs");
	pthread_mutex_lock(&s->mu);
	if (store_prepare(s, "INSERT OR REPLACE INTO previous (profile, refs, replaced,"
	    " device, ca, serial, not_before, not_after, names, key_desc, object, ca_ref,"
	    " cert_pem, chain_pem) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12, ?13, ?14)", &st, e) != 0)
		goto out;
	if (store_bind_text(st, 1, c->profile) || store_bind_text(st, 2, refs) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL)) ||
	    store_bind_text(st, 4, c->device) || store_bind_text(st, 5, c->ca) ||
	    store_bind_text(st, 6, c->serial) ||
	    sqlite3_bind_int64(st, 7, (sqlite3_int64)c->not_before) ||
	    sqlite3_bind_int64(st, 8, (sqlite3_int64)c->not_after) ||
	    store_bind_text(st, 9, c->names) || store_bind_text(st, 10, c->key_desc) ||
	    store_bind_text(st, 11, c->object) || store_bind_text(st, 12, c->ca_ref) ||
	    store_bind_text(st, 13, c->cert_pem) || store_bind_text(st, 14, c->chain_pem)) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (store_step_done(s, st, "recording the previous certificate", e) != 0) {
		err_prefix(e, "profile %s", c->profile);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_prev_get(struct store *s, const char *profile, struct store_cert *out, char **refs,
    time_t *replaced, struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct store_cert c = {0};
	char *r = NULL;
	int sr, rc = LB_ERR;

	*out = (struct store_cert){0};
	*refs = NULL;
	if (store_begin(s, "SELECT profile, refs, replaced, device, ca, serial, not_before,"
	    " not_after, names, key_desc, object, ca_ref, cert_pem, chain_pem"
	    " FROM previous WHERE profile = ?1", profile, &st, e) != 0)
		goto out;
	if ((sr = sqlite3_step(st)) == SQLITE_DONE) {
		rc = err_set(e, LB_ENOTFOUND, "no previous certificate recorded for profile %s",
		    profile);
		goto out;
	}
	if (sr != SQLITE_ROW) {
		store_db_err(s, e, "reading the previous certificate");
		goto out;
	}
	if (store_col_text(st, 0, &c.profile) || store_col_text(st, 1, &r) ||
	    store_col_text(st, 3, &c.device) || store_col_text(st, 4, &c.ca) ||
	    store_col_text(st, 5, &c.serial) || store_col_text(st, 8, &c.names) ||
	    store_col_text(st, 9, &c.key_desc) || store_col_text(st, 10, &c.object) ||
	    store_col_text(st, 11, &c.ca_ref) || store_col_text(st, 12, &c.cert_pem) ||
	    store_col_text(st, 13, &c.chain_pem) || r == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	*replaced = (time_t)sqlite3_column_int64(st, 2);
	c.not_before = (time_t)sqlite3_column_int64(st, 6);
	c.not_after = (time_t)sqlite3_column_int64(st, 7);
	c.updated = *replaced;
	*out = c;
	*refs = r;
	c = (struct store_cert){0};
	r = NULL;
	rc = 0;
out:
	store_done(s, st);
	store_cert_free(&c);
	free(r);
	return rc;
}

int
store_prev_delete(struct store *s, const char *profile, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (store_begin(s, "DELETE FROM previous WHERE profile = ?1", profile, &st, e) != 0)
		goto out;
	rc = store_step_done(s, st, "forgetting the previous certificate", e);
out:
	store_done(s, st);
	return rc;
}
