#include "config/secret.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/mem.h"

/* A secret is a password or a key, never a document: anything larger is a
 * wrong path, and reading it whole would only waste memory. */
#define SECRET_FILE_MAX 65536

static bool
env_name_ok(const char *s, size_t len)
{
	if (len == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

int
secret_resolve_value(const char *raw, char **out, struct err *e)
{
	size_t len = strlen(raw);
	const char *v = raw;
	char name[256];

	*out = NULL;
	if (len >= 3 && strncmp(raw, "${", 2) == 0 && raw[len - 1] == '}') {
		if (!env_name_ok(raw + 2, len - 3) || len - 3 >= sizeof(name))
			/* The value might be a literal secret: never echo it. */
			return err_set(e, LB_ECONFIG, "value has the form "
			    "${...} but does not name a valid environment "
			    "variable");
		memcpy(name, raw + 2, len - 3);
		name[len - 3] = '\0';
		v = getenv(name);
		if (v == NULL)
			return err_set(e, LB_ECONFIG,
			    "environment variable %s is not set", name);
		if (*v == '\0')
			return err_set(e, LB_ECONFIG,
			    "environment variable %s is empty", name);
	} else if (len == 0)
		return err_set(e, LB_ECONFIG, "empty value");
	if ((*out = strdup(v)) == NULL)
		return err_set(e, LB_ERR, "out of memory");
	return 0;
}

int
secret_check_stat(const char *path, const struct stat *st, struct err *e)
{
	if ((st->st_mode & (S_IRGRP | S_IROTH)) != 0)
		return err_set(e, LB_ECONFIG,
		    "%s: mode %04o lets group or others read secrets; "
		    "refusing it (chmod 600 %s)", path,
		    (unsigned)(st->st_mode & 07777), path);
	/* Whoever can write a secret file can swap the credentials for
	 * their own and capture what lbcert then sends. */
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return err_set(e, LB_ECONFIG,
		    "%s: mode %04o lets group or others change secrets; "
		    "refusing it (chmod 600 %s)", path,
		    (unsigned)(st->st_mode & 07777), path);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return err_set(e, LB_ECONFIG,
		    "%s: owned by uid %u, neither root nor this user (uid %u); refusing it",
		    path, (unsigned)st->st_uid, (unsigned)geteuid());
	return 0;
}

int
secret_check_mode(const char *path, struct err *e)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return err_set(e, LB_ECONFIG, "%s: %s", path, strerror(errno));
	return secret_check_stat(path, &st, e);
}

int
secret_resolve_file(const char *path, char **out, struct err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = LB_ECONFIG;

	*out = NULL;
	/* Check the mode on the descriptor we read, not on the name. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(e, LB_ECONFIG, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		err_set(e, LB_ECONFIG, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, LB_ECONFIG, "%s: not a regular file", path);
		goto out;
	}
	if ((rc = secret_check_stat(path, &st, e)) != 0)
		goto out;
	rc = LB_ECONFIG;
	if (st.st_size > SECRET_FILE_MAX) {
		err_set(e, LB_ECONFIG, "%s: larger than %d bytes", path,
		    SECRET_FILE_MAX);
		goto out;
	}
	if ((buf = malloc(SECRET_FILE_MAX + 1)) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	while (len <= SECRET_FILE_MAX &&
	    (n = read(fd, buf + len, SECRET_FILE_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, LB_ECONFIG, "%s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > SECRET_FILE_MAX) {
		err_set(e, LB_ECONFIG, "%s: larger than %d bytes", path,
		    SECRET_FILE_MAX);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		err_set(e, LB_ECONFIG, "%s: contains a NUL byte", path);
		goto out;
	}
	if (len == 0) {
		err_set(e, LB_ECONFIG, "%s: empty", path);
		goto out;
	}
	if ((*out = strdup(buf)) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, SECRET_FILE_MAX + 1);
		free(buf);
	}
	close(fd);
	return rc;
}
