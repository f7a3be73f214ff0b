/* The configuration unit tests' scratch directories (test_config*.c): a
 * temporary tree per test group, a config directory per case. */
#ifndef LB_TEST_CONFIG_FIXTURE_H
#define LB_TEST_CONFIG_FIXTURE_H

static char tmpdir[256];

static inline int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lbcert-config-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static inline int
teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh config directory under tmpdir. */
static inline void
new_dir(char *dir, size_t len)
{
	char sub[1024];

	snprintf(dir, len, "%s/cfg-XXXXXX", tmpdir);
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/profiles", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
}

static inline void
put(const char *dir, const char *name, const char *content, mode_t mode)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		fail_msg("cannot write %s", path);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

#endif
