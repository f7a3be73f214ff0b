/*
 * Pending retirements: the objects of a replaced certificate that the
 * device did not remove (an error, a lost answer) stay listed here until a
 * later run of the profile removes them, so the device converges to
 * holding only what is in service. Keyed by (profile, refs): the refs are
 * the driver's own description of the objects, so retrying one is
 * idempotent.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"
#include "util/mem.h"

/* One statement binding profile (?1), refs (?2) and, when it has a third
 * parameter, the time (?3), run to completion. */
static int
write_pair(struct store *s, const char *sql, const char *profile, const char *refs,
    const char *what, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (profile == NULL || refs == NULL)
		return err_set(e, LB_ERR, "%s: no profile/refs", what);
	if (store_begin(s, sql, profile, &st, e) != 0)
		goto out;
	if (store_bind_text(st, 2, refs) ||
	    (sqlite3_bind_parameter_count(st) >= 3 &&
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL)))) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (store_step_done(s, st, what, e) != 0) {
		err_prefix(e, "profile %s", profile);
		goto out;
	}
	rc = 0;
out:
	store_done(s, st);
	return rc;
}

int
store_retire_add(struct store *s, const char *profile, const char *refs, struct err *e)
{
	return write_pair(s, "INSERT INTO retire (profile, refs, since) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT(profile, refs) DO NOTHING", profile, refs,
	    "recording a retirement", e);
}

int
store_retire_delete(struct store *s, const char *profile, const char *refs, struct err *e)
{
	return write_pair(s, "DELETE FROM retire WHERE profile = ?1 AND refs = ?2",
	    profile, refs, "forgetting a retirement", e);
}

int
store_retire_list(struct store *s, const char *profile, time_t until, char ***refs,
    size_t *n, struct err *e)
{
	sqlite3_stmt *st = NULL;
	char **v = NULL, **nv;
	size_t len = 0;
	int r, rc = LB_ERR;

	*refs = NULL;
	*n = 0;
	if (store_begin(s, "SELECT refs FROM retire WHERE profile = ?1 AND since <= ?2"
	    " ORDER BY since, rowid", profile, &st, e) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 2, (sqlite3_int64)until) != SQLITE_OK) {
		store_db_err(s, e, "binding");
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = realloc(v, (len + 1) * sizeof(*v))) == NULL) {
			err_set(e, LB_ERR, "out of memory");
			goto out;
		}
		v = nv;
		if (store_col_text(st, 0, &v[len]) != 0 || v[len] == NULL) {
			err_set(e, LB_ERR, "out of memory");
			goto out;
		}
		len++;
	}
	if (r != SQLITE_DONE) {
		store_db_err(s, e, "reading retirements");
		goto out;
	}
	*refs = v;
	*n = len;
	v = NULL;
	len = 0;
	rc = 0;
out:
	store_done(s, st);
	strv_free(v, len);
	return rc;
}
