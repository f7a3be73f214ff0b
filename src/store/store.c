/*
 * State store on SQLite.
 *
 * Durability: journal_mode=WAL with synchronous=FULL. Every write is a
 * single statement in autocommit mode (an upsert), or one explicit
 * transaction, so it is committed and fsync'd before the call returns; a
 * run killed right after a put finds the row on the next run. WAL costs
 * one fsync per commit where a rollback journal costs three or four (an
 * enrollment writes about twenty times: 16 ms of CPU per enrollment
 * became 9 in bench/fleet.py). The -wal and -shm companions exist only
 * while the database is open (the last close checkpoints and removes
 * them; a killed run's are recovered on the next open) and SQLite gives
 * them the database file's mode and owner. WAL needs a local file
 * system: /var/lib/lbcert, not NFS.
 *
 * Calls on one struct store are serialized by a mutex so that an engine
 * running profiles in parallel can share it.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/mem.h"

#define DB_NAME		"lbcert.db"
#define LOCK_NAME	"lbcert.lock"
#define BUSY_MS		10000
/*
 * Page cache of the one connection: 256 KiB (a negative cache_size is in
 * KiB). SQLite's default, 2000 KiB, ends up holding most of a fleet's
 * database: a run reads every profile's rows about once, so the cache
 * fills with pages that are not read again, and it stays resident to the
 * end (1.2 MB of the peak of a 1,000-profile no-op run). The lookups go
 * through indexes and a page missed here comes from the kernel's page
 * cache: bench/fleet.py measured no CPU difference, and 256 KiB rather
 * than 512 took the 1,000-profile enrollment from 16.2 to 15.9 MiB.
 */
#define CACHE_PRAGMA	"PRAGMA cache_size=-256"

/*
 * Schema migrations: entry i takes the schema from version i to i + 1.
 * Append only; never edit an entry that has shipped.
 */
static const char *const migrations[] = {
	"CREATE TABLE certs ("
	" profile TEXT PRIMARY KEY NOT NULL,"
	" device TEXT, ca TEXT, serial TEXT,"
	" not_before INTEGER NOT NULL DEFAULT 0,"
	" not_after INTEGER NOT NULL DEFAULT 0,"
	" names TEXT, key_desc TEXT, object TEXT,"
	" ca_ref TEXT, cert_pem TEXT, chain_pem TEXT,"
	" updated INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE jobs ("
	" profile TEXT PRIMARY KEY NOT NULL,"
	" step INTEGER NOT NULL DEFAULT 0,"
	" first INTEGER NOT NULL DEFAULT 0,"
	" reason TEXT, key_ref TEXT, csr_pem TEXT, order_ref TEXT,"
	" cert_pem TEXT, chain_pem TEXT, install_ref TEXT, old_refs TEXT,"
	" started INTEGER NOT NULL DEFAULT 0,"
	" updated INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE results ("
	" profile TEXT PRIMARY KEY NOT NULL,"
	" result TEXT NOT NULL, error TEXT,"
	" time INTEGER NOT NULL);"
	"CREATE TABLE history ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time INTEGER NOT NULL,"
	" profile TEXT, device TEXT, action TEXT NOT NULL, detail TEXT);"
	"CREATE INDEX history_profile ON history(profile, action);",
	/* old objects whose removal from the device is still to be done */
	"CREATE TABLE retire ("
	" profile TEXT NOT NULL, refs TEXT NOT NULL,"
	" since INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (profile, refs));",
	/* the CA's renewal window of each profile's certificate (ari.c) and
	 * the ACME profile a certificate was ordered with */
	"CREATE TABLE ari ("
	" profile TEXT PRIMARY KEY NOT NULL, serial TEXT NOT NULL, cert_id TEXT,"
	" start INTEGER NOT NULL DEFAULT 0, end INTEGER NOT NULL DEFAULT 0,"
	" pick INTEGER NOT NULL DEFAULT 0, retry_at INTEGER NOT NULL DEFAULT 0,"
	" explanation TEXT);"
	"ALTER TABLE certs ADD COLUMN acme_profile TEXT;",
	/* the certificate a renewal replaced, for `lbcert rollback` */
	"CREATE TABLE previous ("
	" profile TEXT PRIMARY KEY NOT NULL,"
	" refs TEXT NOT NULL,"
	" replaced INTEGER NOT NULL DEFAULT 0,"
	" device TEXT, ca TEXT, serial TEXT,"
	" not_before INTEGER NOT NULL DEFAULT 0,"
	" not_after INTEGER NOT NULL DEFAULT 0,"
	" names TEXT, key_desc TEXT, object TEXT,"
	" ca_ref TEXT, cert_pem TEXT, chain_pem TEXT);",
	/* whether an order was submitted, by any profile (engine_order_used) */
	"CREATE INDEX history_action ON history(action, detail);",
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static const char *const step_names[] = {
	"none", "key", "ordered", "issued", "installed", "activated", "saved",
};

const char *
store_step_name(int step)
{
	if (step < 0 || (size_t)step >= sizeof(step_names) / sizeof(step_names[0]))
		return "unknown";
	return step_names[step];
}

/*
 * The state directory holds ACME account keys and the journal: it must be
 * ours and closed to everyone else. A missing one is created 0700.
 */
static int
ensure_state_dir(const char *dir, struct err *e)
{
	struct stat st;

	if (dir == NULL || *dir == '\0')
		return err_set(e, LB_ERR, "state directory not set");
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, LB_ERR, "state directory %s: cannot create: %s",
		    dir, strerror(errno));
	if (stat(dir, &st) == -1)
		return err_set(e, LB_ERR, "state directory %s: %s", dir,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, LB_ERR, "state directory %s: not a directory",
		    dir);
	if (st.st_uid != geteuid())
		return err_set(e, LB_ERR, "state directory %s: owned by uid %ld,"
		    " not by the running user (uid %ld)", dir, (long)st.st_uid,
		    (long)geteuid());
	if ((st.st_mode & 077) != 0)
		return err_set(e, LB_ERR, "state directory %s: mode %04o gives"
		    " group/others access; it must be 0700 (chmod 700 %s)", dir,
		    (unsigned)(st.st_mode & 07777), dir);
	return 0;
}

/*
 * Creates the database file 0600 ourselves, before SQLite does (SQLite
 * would use 0644 minus umask), and refuses one that others can read.
 */
static int
ensure_db_file(const char *path, struct err *e)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return err_set(e, LB_ERR, "state database %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		err_set(e, LB_ERR, "state database %s: %s", path,
		    strerror(errno));
		close(fd);
		return LB_ERR;
	}
	close(fd);
	if (!S_ISREG(st.st_mode))
		return err_set(e, LB_ERR, "state database %s: not a regular file",
		    path);
	if ((st.st_mode & 077) != 0)
		return err_set(e, LB_ERR, "state database %s: mode %04o gives"
		    " group/others access; it must be 0600", path,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

int
store_db_err(struct store *s, struct err *e, const char *what)
{
	return err_set(e, LB_ERR, "state database %s: %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
}

int
store_exec(struct store *s, const char *sql, const char *what, struct err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, LB_ERR, "state database %s: %s: %s", s->path, what,
		    msg != NULL ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return LB_ERR;
	}
	return 0;
}

static int
get_version(struct store *s, int *version, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (sqlite3_prepare_v2(s->db, "SELECT max(version) FROM schema_version",
	    -1, &st, NULL) != SQLITE_OK) {
		store_db_err(s, e, "reading schema version");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_db_err(s, e, "reading schema version");
		goto out;
	}
	*version = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* All pending migrations in one IMMEDIATE transaction, so that two
 * processes opening a fresh database cannot both apply them. */
static int
migrate(struct store *s, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int version, rc = LB_ERR;

	if (store_exec(s, "BEGIN IMMEDIATE", "starting migration", e) != 0)
		return LB_ERR;
	if (store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
	    " version INTEGER NOT NULL)", "creating schema_version", e) != 0)
		goto out;
	if (get_version(s, &version, e) != 0)
		goto out;
	if (version < 0 || (size_t)version > NMIGRATIONS) {
		err_set(e, LB_ERR, "state database %s: schema version %d is newer"
		    " than this lbcert knows (%zu)", s->path, version,
		    NMIGRATIONS);
		goto out;
	}
	for (size_t i = (size_t)version; i < NMIGRATIONS; i++) {
		if (store_exec(s, migrations[i], "migrating schema", e) != 0)
			goto out;
	}
	if ((size_t)version < NMIGRATIONS) {
		if (sqlite3_prepare_v2(s->db, "INSERT INTO schema_version"
		    " (version) VALUES (?1)", -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_int(st, 1, (int)NMIGRATIONS) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE) {
			store_db_err(s, e, "recording schema version");
			goto out;
		}
	}
	rc = store_exec(s, "COMMIT", "committing migration", e);
out:
	sqlite3_finalize(st);
	if (rc != 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
store_open(const char *state_dir, struct store **out, struct err *e)
{
	struct store *s;
	int rc = LB_ERR;

	*out = NULL;
	if (ensure_state_dir(state_dir, e) != 0)
		return LB_ERR;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	if ((s->path = xasprintf("%s/%s", state_dir, DB_NAME)) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	if (ensure_db_file(s->path, e) != 0)
		goto out;
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		err_set(e, LB_ERR, "state database %s: %s", s->path,
		    s->db != NULL ? sqlite3_errmsg(s->db) : "cannot open");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_busy_timeout(s->db, BUSY_MS) != SQLITE_OK) {
		store_db_err(s, e, "setting busy timeout");
		goto out;
	}
	if (store_exec(s, "PRAGMA journal_mode=WAL", "setting journal mode",
	    e) != 0 ||
	    store_exec(s, "PRAGMA synchronous=FULL", "setting synchronous",
	    e) != 0 ||
	    store_exec(s, "PRAGMA foreign_keys=ON", "setting foreign keys",
	    e) != 0 ||
	    store_exec(s, CACHE_PRAGMA, "setting cache size",
	    e) != 0)
		goto out;
	if (migrate(s, e) != 0)
		goto out;
	*out = s;
	rc = 0;
out:
	if (rc != 0)
		store_close(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

int
store_lock(const char *state_dir, int *fd_out, struct err *e)
{
	char *path;
	int fd, rc = LB_ERR;

	*fd_out = -1;
	if (ensure_state_dir(state_dir, e) != 0)
		return LB_ERR;
	if ((path = xasprintf("%s/%s", state_dir, LOCK_NAME)) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		err_set(e, LB_ERR, "lock file %s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			rc = err_set(e, LB_ELOCKED,
			    "another lbcert run holds %s", path);
		else
			err_set(e, LB_ERR, "lock file %s: %s", path,
			    strerror(errno));
		close(fd);
		goto out;
	}
	*fd_out = fd;
	rc = 0;
out:
	free(path);
	return rc;
}

/* The lock file stays: unlinking it would let a waiting run lock an
 * orphaned inode while a third one creates a fresh file. */
void
store_unlock(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

/* Statement helpers (store_int.h). */

int
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int
store_col_text(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *v;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	if ((v = sqlite3_column_text(st, i)) == NULL)
		return -1;
	return (*out = strdup((const char *)v)) == NULL ? -1 : 0;
}

int
store_prepare(struct store *s, const char *sql, sqlite3_stmt **st, struct err *e)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return store_db_err(s, e, "preparing statement");
	return 0;
}

/* Runs a write statement to completion; autocommit makes it durable. */
int
store_step_done(struct store *s, sqlite3_stmt *st, const char *what, struct err *e)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return store_db_err(s, e, what);
	return 0;
}

int
store_begin(struct store *s, const char *sql, const char *profile, sqlite3_stmt **st,
    struct err *e)
{
	pthread_mutex_lock(&s->mu);
	*st = NULL;
	if (store_prepare(s, sql, st, e) != 0)
		return LB_ERR;
	if (store_bind_text(*st, 1, profile) != SQLITE_OK)
		return store_db_err(s, e, "binding");
	return 0;
}

void
store_done(struct store *s, sqlite3_stmt *st)
{
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
}

static time_t
or_now(time_t t)
{
	return t != 0 ? t : time(NULL);
}

int
store_cert_get(struct store *s, const char *profile, struct store_cert *out,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct store_cert c = {0};
	int r, rc = LB_ERR;

	*out = (struct store_cert){0};
	if (store_begin(s, "SELECT profile, device, ca, serial, not_before,"
	    " not_after, names, key_desc, object, ca_ref,"
	    " cert_pem, chain_pem, updated FROM certs WHERE profile = ?1", profile, &st,
	    e) != 0)
		goto out;
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		rc = err_set(e, LB_ENOTFOUND, "no certificate recorded for"
		    " profile %s", profile);
		goto out;
	}
	if (r != SQLITE_ROW) {
		store_db_err(s, e, "reading certificate");
		goto out;
	}
	if (store_col_text(st, 0, &c.profile) || store_col_text(st, 1, &c.device) ||
	    store_col_text(st, 2, &c.ca) || store_col_text(st, 3, &c.serial) ||
	    store_col_text(st, 6, &c.names) || store_col_text(st, 7, &c.key_desc) ||
	    store_col_text(st, 8, &c.object) || store_col_text(st, 9, &c.ca_ref) ||
	    store_col_text(st, 10, &c.cert_pem) || store_col_text(st, 11, &c.chain_pem)) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	c.not_before = (time_t)sqlite3_column_int64(st, 4);
	c.not_after = (time_t)sqlite3_column_int64(st, 5);
	c.updated = (time_t)sqlite3_column_int64(st, 12);
	*out = c;
	c = (struct store_cert){0};
	rc = 0;
out:
	store_done(s, st);
	store_cert_free(&c);
	return rc;
}

int
store_cert_put(struct store *s, const struct store_cert *c, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (c->profile == NULL)
		return err_set(e, LB_ERR, "store_cert_put: no profile");
	pthread_mutex_lock(&s->mu);
	if (store_prepare(s, "INSERT INTO certs (profile, device, ca, serial,"
	    " not_before, not_after, names, key_desc, object,"
	    " ca_ref, cert_pem, chain_pem, updated) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
	    " ON CONFLICT(profile) DO UPDATE SET device = excluded.device,"
	    " ca = excluded.ca, serial = excluded.serial,"
	    " not_before = excluded.not_before,"
	    " not_after = excluded.not_after, names = excluded.names,"
	    " key_desc = excluded.key_desc, object = excluded.object,"
	    " ca_ref = excluded.ca_ref,"
	    " cert_pem = excluded.cert_pem, chain_pem = excluded.chain_pem,"
	    " updated = excluded.updated", &st, e) != 0)
		goto out;
	if (store_bind_text(st, 1, c->profile) || store_bind_text(st, 2, c->device) ||
	    store_bind_text(st, 3, c->ca) || store_bind_text(st, 4, c->serial) ||
	    sqlite3_bind_int64(st, 5, (sqlite3_int64)c->not_before) ||
	    sqlite3_bind_int64(st, 6, (sqlite3_int64)c->not_after) ||
	    store_bind_text(st, 7, c->names) || store_bind_text(st, 8, c->key_desc) ||
	    store_bind_text(st, 9, c->object) || store_bind_text(st, 10, c->ca_ref) ||
	    store_bind_text(st, 11, c->cert_pem) || store_bind_text(st, 12, c->chain_pem) ||
	    sqlite3_bind_int64(st, 13, (sqlite3_int64)or_now(c->updated))) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (store_step_done(s, st, "recording certificate", e) != 0) {
		err_prefix(e, "profile %s", c->profile);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
delete_row(struct store *s, const char *sql, const char *profile,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (store_begin(s, sql, profile, &st, e) != 0)
		goto out;
	if (store_step_done(s, st, "deleting", e) != 0) {
		err_prefix(e, "profile %s", profile);
		goto out;
	}
	rc = 0;
out:
	store_done(s, st);
	return rc;
}

int
store_cert_delete(struct store *s, const char *profile, struct err *e)
{
	return delete_row(s, "DELETE FROM certs WHERE profile = ?1", profile,
	    e);
}

void
store_cert_free(struct store_cert *c)
{
	if (c == NULL)
		return;
	free(c->profile);
	free(c->device);
	free(c->ca);
	free(c->serial);
	free(c->names);
	free(c->key_desc);
	free(c->object);
	free(c->ca_ref);
	free(c->cert_pem);
	free(c->chain_pem);
	*c = (struct store_cert){0};
}

int
store_job_get(struct store *s, const char *profile, struct store_job *out,
    struct err *e)
{
	sqlite3_stmt *st = NULL;
	struct store_job j = {0};
	int r, rc = LB_ERR;

	*out = (struct store_job){0};
	if (store_begin(s, "SELECT profile, step, first, reason, key_ref, csr_pem,"
	    " order_ref, cert_pem, chain_pem, install_ref, old_refs, started,"
	    " updated FROM jobs WHERE profile = ?1", profile, &st, e) != 0)
		goto out;
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		rc = err_set(e, LB_ENOTFOUND, "no job in progress for profile"
		    " %s", profile);
		goto out;
	}
	if (r != SQLITE_ROW) {
		store_db_err(s, e, "reading job");
		goto out;
	}
	if (store_col_text(st, 0, &j.profile) || store_col_text(st, 3, &j.reason) ||
	    store_col_text(st, 4, &j.key_ref) || store_col_text(st, 5, &j.csr_pem) ||
	    store_col_text(st, 6, &j.order_ref) || store_col_text(st, 7, &j.cert_pem) ||
	    store_col_text(st, 8, &j.chain_pem) || store_col_text(st, 9, &j.install_ref) ||
	    store_col_text(st, 10, &j.old_refs)) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	j.step = sqlite3_column_int(st, 1);
	j.first = sqlite3_column_int(st, 2) != 0;
	j.started = (time_t)sqlite3_column_int64(st, 11);
	j.updated = (time_t)sqlite3_column_int64(st, 12);
	*out = j;
	j = (struct store_job){0};
	rc = 0;
out:
	store_done(s, st);
	store_job_free(&j);
	return rc;
}

int
store_job_put(struct store *s, const struct store_job *j, struct err *e)
{
	sqlite3_stmt *st = NULL;
	time_t now = time(NULL);
	int rc = LB_ERR;

	if (j->profile == NULL)
		return err_set(e, LB_ERR, "store_job_put: no profile");
	pthread_mutex_lock(&s->mu);
	if (store_prepare(s, "INSERT INTO jobs (profile, step, first, reason,"
	    " key_ref, csr_pem, order_ref, cert_pem, chain_pem, install_ref,"
	    " old_refs, started, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8, ?9, ?10, ?11, ?12, ?13)"
	    " ON CONFLICT(profile) DO UPDATE SET step = excluded.step,"
	    " first = excluded.first, reason = excluded.reason,"
	    " key_ref = excluded.key_ref, csr_pem = excluded.csr_pem,"
	    " order_ref = excluded.order_ref, cert_pem = excluded.cert_pem,"
	    " chain_pem = excluded.chain_pem,"
	    " install_ref = excluded.install_ref,"
	    " old_refs = excluded.old_refs, started = excluded.started,"
	    " updated = excluded.updated", &st, e) != 0)
		goto out;
	if (store_bind_text(st, 1, j->profile) ||
	    sqlite3_bind_int(st, 2, j->step) ||
	    sqlite3_bind_int(st, 3, j->first ? 1 : 0) ||
	    store_bind_text(st, 4, j->reason) || store_bind_text(st, 5, j->key_ref) ||
	    store_bind_text(st, 6, j->csr_pem) || store_bind_text(st, 7, j->order_ref) ||
	    store_bind_text(st, 8, j->cert_pem) || store_bind_text(st, 9, j->chain_pem) ||
	    store_bind_text(st, 10, j->install_ref) ||
	    store_bind_text(st, 11, j->old_refs) ||
	    sqlite3_bind_int64(st, 12, (sqlite3_int64)(j->started != 0 ?
	    j->started : now)) ||
	    sqlite3_bind_int64(st, 13, (sqlite3_int64)(j->updated != 0 ?
	    j->updated : now))) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (store_step_done(s, st, "recording job step", e) != 0) {
		err_prefix(e, "profile %s step %s", j->profile,
		    store_step_name(j->step));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int
store_job_delete(struct store *s, const char *profile, struct err *e)
{
	return delete_row(s, "DELETE FROM jobs WHERE profile = ?1", profile,
	    e);
}

void
store_job_free(struct store_job *j)
{
	if (j == NULL)
		return;
	free(j->profile);
	free(j->reason);
	free(j->key_ref);
	free(j->csr_pem);
	free(j->order_ref);
	free(j->cert_pem);
	free(j->chain_pem);
	free(j->install_ref);
	free(j->old_refs);
	*j = (struct store_job){0};
}

int
store_history_add(struct store *s, const char *profile, const char *device,
    const char *action, const char *detail, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	if (action == NULL)
		return err_set(e, LB_ERR, "store_history_add: no action");
	pthread_mutex_lock(&s->mu);
	if (store_prepare(s, "INSERT INTO history (time, profile, device, action,"
	    " detail) VALUES (?1, ?2, ?3, ?4, ?5)", &st, e) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL)) ||
	    store_bind_text(st, 2, profile) || store_bind_text(st, 3, device) ||
	    store_bind_text(st, 4, action) || store_bind_text(st, 5, detail)) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (store_step_done(s, st, "recording history", e) != 0)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The statement for the filters given (a NULL filter is left out rather
 * than bound as "?1 IS NULL OR ...", which no index can serve: every
 * run asks this for each profile, and history only grows). */
const char *
store_history_count_sql(const char *profile, const char *action, const char *detail)
{
	static const char *const sql[8] = {
		"SELECT count(*) FROM history",
		"SELECT count(*) FROM history WHERE profile = ?1",
		"SELECT count(*) FROM history WHERE action = ?2",
		"SELECT count(*) FROM history WHERE profile = ?1 AND action = ?2",
		"SELECT count(*) FROM history WHERE detail = ?3",
		"SELECT count(*) FROM history WHERE profile = ?1 AND detail = ?3",
		"SELECT count(*) FROM history WHERE action = ?2 AND detail = ?3",
		("SELECT count(*) FROM history WHERE profile = ?1 AND action = ?2"
		    " AND detail = ?3"),
	};

	return sql[(profile != NULL) | (action != NULL) << 1 | (detail != NULL) << 2];
}

static int
bind_if(sqlite3_stmt *st, int i, const char *v)
{
	return v == NULL ? SQLITE_OK : store_bind_text(st, i, v);
}

int
store_history_count(struct store *s, const char *profile, const char *action,
    const char *detail, long *count, struct err *e)
{
	sqlite3_stmt *st = NULL;
	int rc = LB_ERR;

	*count = 0;
	pthread_mutex_lock(&s->mu);
	if (store_prepare(s, store_history_count_sql(profile, action, detail), &st, e) != 0)
		goto out;
	if (bind_if(st, 1, profile) || bind_if(st, 2, action) || bind_if(st, 3, detail)) {
		store_db_err(s, e, "binding");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_db_err(s, e, "counting history");
		goto out;
	}
	*count = (long)sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
