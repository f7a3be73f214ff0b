/*
 * Last outcome of each profile, what `lbcert status` shows. A no-op run
 * writes one row per profile; rows of one device go in one transaction,
 * so a fleet run with nothing due costs one fsync per device instead of
 * one per profile (results are a report, the journal is what resumes).
 */
#include <stdlib.h>
#include <time.h>

#include "store/store.h"
#include "store/store_int.h"

#define RESULT_UPSERT "INSERT INTO results (profile, result, error, time)" \
	" VALUES (?1, ?2, ?3, ?4) ON CONFLICT(profile) DO UPDATE SET" \
	" result = excluded.result, error = excluded.error, time = excluded.time"

static int
put_one(struct store *s, sqlite3_stmt *st, const struct store_result *r, struct err *e)
{
	if (r->profile == NULL || r->result == NULL)
		return err_set(e, LB_ERR, "store_results_set: no profile/result");
	sqlite3_reset(st);
	if (store_bind_text(st, 1, r->profile) || store_bind_text(st, 2, r->result) ||
	    store_bind_text(st, 3, r->error) ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)r->when))
		return store_db_err(s, e, "binding");
	if (store_step_done(s, st, "recording result", e) != 0) {
		err_prefix(e, "profile %s", r->profile);
		return LB_ERR;
	}
	return 0;
}

int
store_results_set(struct store *s, const struct store_result *r, size_t n,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (n > 1 && store_exec(s, "BEGIN IMMEDIATE", "starting results", e) != 0)
		goto out;
	if (store_prepare(s, RESULT_UPSERT, &st, e) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (put_one(s, st, &r[i], e) != 0)
			goto out;
	rc = n > 1 ? store_exec(s, "COMMIT", "committing results", e) : 0;
out:
	sqlite3_finalize(st);
	if (rc != 0 && n > 1)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_result_set(struct store *s, const char *profile, const char *result,
    const char *error, struct err *e)
{
	struct store_result r = { profile, result, error, time(NULL) };

	return store_results_set(s, &r, 1, e);
}

int
store_result_get(struct store *s, const char *profile, char **result,
    char **error, time_t *when, struct err *e)
{
	sqlite3_stmt *st = NULL;
	char *res = NULL, *er = NULL;
	int r, rc = LB_ERR;

	*result = NULL;
	*error = NULL;
	if (when != NULL)
		*when = 0;
	if (store_begin(s, "SELECT result, error, time FROM results"
	    " WHERE profile = ?1", profile, &st, e) != 0)
		goto out;
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		rc = err_set(e, LB_ENOTFOUND, "profile %s has never run",
		    profile);
		goto out;
	}
	if (r != SQLITE_ROW) {
		store_db_err(s, e, "reading result");
		goto out;
	}
	if (store_col_text(st, 0, &res) || store_col_text(st, 1, &er)) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	if (when != NULL)
		*when = (time_t)sqlite3_column_int64(st, 2);
	*result = res;
	*error = er;
	res = er = NULL;
	rc = 0;
out:
	store_done(s, st);
	free(res);
	free(er);
	return rc;
}

