/* One function per command; main.c only parses global options and
 * dispatches. Each returns the process exit code of SPEC §3. */
#ifndef LB_CMD_H
#define LB_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "store/store.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_LOCKED = 3,
	EXIT_UNREACHABLE = 4,
};

struct app {
	const char *config_dir;
	const char *state_dir;
	struct config *cfg;   /* loaded by main before the command runs */
};

/* The device and CA kinds lbcert has, for config_load. */
extern const struct cfg_kinds cmd_kinds;

int cmd_run(struct app *a, int argc, char **argv);
int cmd_plan(struct app *a, int argc, char **argv);
int cmd_status(struct app *a, int argc, char **argv);
int cmd_inventory(struct app *a, int argc, char **argv);
int cmd_revoke(struct app *a, int argc, char **argv);
int cmd_rollback(struct app *a, int argc, char **argv);
int cmd_check(struct app *a, int argc, char **argv);

/* The profiles named in argv (all when none), in configuration order: a
 * profile file's name selects every key of its keys: list, "web.ecdsa" one
 * key. EXIT_USAGE and a message for an unknown name. *out is malloc'd (free
 * it), pointers into a->cfg. */
int cmd_select_profiles(struct app *a, int argc, char **argv,
    struct cfg_profile ***out, size_t *n);
/* Opens the store (and takes the lock when lock_fd != NULL). Returns an
 * exit code; prints the reason. */
int cmd_open_store(struct app *a, struct store **st, int *lock_fd);
/* s with control characters escaped (util err_escape) in buf, for tables:
 * names and messages come from devices and CAs. NULL stays NULL. */
const char *cmd_text(const char *s, char *buf, size_t len);
/* "2026-12-01T13:00:00Z" */
void cmd_rfc3339(long t, char *buf, size_t len);

#endif
