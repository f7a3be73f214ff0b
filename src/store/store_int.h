/* The store's private state and statement helpers, shared by the files of
 * src/store only. */
#ifndef LB_STORE_INT_H
#define LB_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

struct store {
	sqlite3 *db;
	char *path;
	pthread_mutex_t mu;
};

/* Sets e from the database's last error; returns LB_ERR. */
int store_db_err(struct store *s, struct err *e, const char *what);
/* NULL strings are stored as SQL NULL and read back as NULL. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
/* *out malloc'd (NULL for SQL NULL); -1 when out of memory. */
int store_col_text(sqlite3_stmt *st, int i, char **out);
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **st, struct err *e);
/* Runs a write statement to completion; autocommit makes it durable. */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what, struct err *e);
/* Runs sql (no result rows) on the connection; the caller holds the lock. */
int store_exec(struct store *s, const char *sql, const char *what, struct err *e);
/* The statement store_history_count runs for these filters (NULL: not
 * filtered); exposed for the test that it is served by an index. */
const char *store_history_count_sql(const char *profile, const char *action,
    const char *detail);
/* Takes the store's lock and prepares sql with profile bound as ?1. The
 * lock is held whatever it returns: store_done() ends both ways. */
int store_begin(struct store *s, const char *sql, const char *profile, sqlite3_stmt **st,
    struct err *e);
/* Finalizes st (NULL is fine) and releases the lock store_begin took. */
void store_done(struct store *s, sqlite3_stmt *st);

#endif
