#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "config/secret.h"
#include "util/err.h"
#include "util/mem.h"

static char tmpdir[256];

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lbcert-secret-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *name, const char *content, mode_t mode, char *path,
    size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
literal_value(void **state)
{
	struct err e = { 0 };
	char *v = NULL;

	(void)state;
	assert_int_equal(secret_resolve_value("s3cret pass", &v, &e), 0);
	assert_string_equal(v, "s3cret pass");
	secret_free(v);
	/* Not a whole ${...}: a literal that happens to hold "${". */
	assert_int_equal(secret_resolve_value("a${B}c", &v, &e), 0);
	assert_string_equal(v, "a${B}c");
	secret_free(v);
	assert_int_equal(secret_resolve_value("", &v, &e), LB_ECONFIG);
	assert_null(v);
	assert_non_null(strstr(e.msg, "empty"));
}

static void
env_value(void **state)
{
	struct err e = { 0 };
	char *v = NULL;

	(void)state;
	setenv("LBCERT_TEST_PW", "from-env-123", 1);
	assert_int_equal(secret_resolve_value("${LBCERT_TEST_PW}", &v, &e), 0);
	assert_string_equal(v, "from-env-123");
	secret_free(v);
	v = NULL;

	unsetenv("LBCERT_TEST_UNSET");
	assert_int_equal(secret_resolve_value("${LBCERT_TEST_UNSET}", &v, &e),
	    LB_ECONFIG);
	assert_null(v);
	assert_string_equal(e.msg,
	    "environment variable LBCERT_TEST_UNSET is not set");

	setenv("LBCERT_TEST_EMPTY", "", 1);
	assert_int_equal(secret_resolve_value("${LBCERT_TEST_EMPTY}", &v, &e),
	    LB_ECONFIG);
	assert_non_null(strstr(e.msg, "LBCERT_TEST_EMPTY is empty"));

	/* A malformed reference must not be echoed: it may be a password. */
	assert_int_equal(secret_resolve_value("${not valid}", &v, &e),
	    LB_ECONFIG);
	assert_null(strstr(e.msg, "not valid"));
}

static void
file_value(void **state)
{
	struct err e = { 0 };
	char path[512], *v = NULL;

	(void)state;
	write_file("pw", "file-secret\n", 0600, path, sizeof(path));
	assert_int_equal(secret_resolve_file(path, &v, &e), 0);
	assert_string_equal(v, "file-secret");
	secret_free(v);

	write_file("pw-crlf", "crlf-secret\r\n", 0400, path, sizeof(path));
	assert_int_equal(secret_resolve_file(path, &v, &e), 0);
	assert_string_equal(v, "crlf-secret");
	secret_free(v);

	/* Only the one trailing newline goes: inner ones are kept. */
	write_file("pw-multi", "line1\nline2\n", 0600, path, sizeof(path));
	assert_int_equal(secret_resolve_file(path, &v, &e), 0);
	assert_string_equal(v, "line1\nline2");
	secret_free(v);
	v = NULL;

	write_file("pw-empty", "\n", 0600, path, sizeof(path));
	assert_int_equal(secret_resolve_file(path, &v, &e), LB_ECONFIG);
	assert_null(v);
	assert_non_null(strstr(e.msg, "empty"));

	snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
	assert_int_equal(secret_resolve_file(path, &v, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "does-not-exist"));
}

static void
file_mode_refused(void **state)
{
	struct err e = { 0 };
	char path[512], *v = NULL;

	(void)state;
	write_file("pw-644", "leaky\n", 0644, path, sizeof(path));
	assert_int_equal(secret_resolve_file(path, &v, &e), LB_ECONFIG);
	assert_null(v);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "mode 0644"));
	assert_null(strstr(e.msg, "leaky"));

	write_file("pw-640", "leaky\n", 0640, path, sizeof(path));
	assert_int_equal(secret_check_mode(path, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "mode 0640"));
	write_file("pw-604", "leaky\n", 0604, path, sizeof(path));
	assert_int_equal(secret_check_mode(path, &e), LB_ECONFIG);
	write_file("pw-600", "fine\n", 0600, path, sizeof(path));
	assert_int_equal(secret_check_mode(path, &e), 0);

	/* writable by group or others: someone else's credentials */
	write_file("pw-620", "fine\n", 0620, path, sizeof(path));
	assert_int_equal(secret_check_mode(path, &e), LB_ECONFIG);
	assert_non_null(strstr(e.msg, "mode 0620 lets group or others change"));
	write_file("pw-602", "fine\n", 0602, path, sizeof(path));
	assert_int_equal(secret_check_mode(path, &e), LB_ECONFIG);
	/* owned by another ordinary user (the tests run as root or as the
	 * owner; root may hand the file away) */
	write_file("pw-other", "fine\n", 0600, path, sizeof(path));
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, (gid_t)-1), 0);
		assert_int_equal(secret_resolve_file(path, &v, &e), LB_ECONFIG);
		assert_non_null(strstr(e.msg, "owned by uid 4242"));
	}
}

static void
credentials_mode_refused(void **state)
{
	struct config *c = NULL;
	struct err e = { 0 };
	char path[512], expect[600];

	(void)state;
	write_file("lbcert.yaml",
	    "devices:\n"
	    "  adc1: { type: citrix-adc, url: https://192.0.2.10, "
	    "credentials: adc1 }\n", 0644, path, sizeof(path));
	write_file("credentials.yaml",
	    "adc1: { username: nsroot, password: hunter2-pw }\n", 0644, path,
	    sizeof(path));
	assert_int_equal(config_load(tmpdir, &cmd_kinds, &c, &e), LB_ECONFIG);
	assert_null(c);
	assert_int_equal(e.code, LB_ECONFIG);
	snprintf(expect, sizeof(expect), "%s: mode 0644", path);
	assert_non_null(strstr(e.msg, expect));
	assert_null(strstr(e.msg, "hunter2"));

	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(config_load(tmpdir, &cmd_kinds, &c, &e), 0);
	assert_string_equal(c->devices[0].password, "hunter2-pw");
	config_free(c);

	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(config_load(tmpdir, &cmd_kinds, &c, &e), 0);
	config_free(c);

	/* a world-writable lbcert.yaml could name anyone's device or CA */
	snprintf(path, sizeof(path), "%s/lbcert.yaml", tmpdir);
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(config_load(tmpdir, &cmd_kinds, &c, &e), LB_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(e.msg, "lets anyone change it"));
	assert_int_equal(chmod(path, 0644), 0);

	/* and so could a world-writable profile: its device, names, hooks */
	snprintf(path, sizeof(path), "%s/profiles", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file("profiles/web.yaml", "device: adc1\n", 0646, path, sizeof(path));
	assert_int_equal(config_load(tmpdir, &cmd_kinds, &c, &e), LB_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(e.msg, "lets anyone change it"));
	assert_non_null(strstr(e.msg, "web.yaml"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(literal_value),
		cmocka_unit_test(env_value),
		cmocka_unit_test(file_value),
		cmocka_unit_test(file_mode_refused),
		cmocka_unit_test(credentials_mode_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
