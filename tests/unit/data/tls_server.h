/* Test helpers shared by test_http.c and test_tlsprobe.c: certificates
 * made with the openssl command in a temporary directory, and the loopback
 * server tls_server.py (next to this file) started on a free port. */
#ifndef LB_TEST_TLS_SERVER_H
#define LB_TEST_TLS_SERVER_H

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct tserver {
	pid_t pid;
	int port;
};

#define TS_UNUSED __attribute__((unused))

static char *
ts_tmpdir(void)
{
	char tmpl[] = "/tmp/lbcert-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void
ts_rmdir(char *dir)
{
	char cmd[PATH_MAX + 16];

	if (dir == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(dir);
}

/* Self-signed P-256 certificate dir/name.pem + dir/name.key. */
static int
ts_make_cert(const char *dir, const char *name, const char *cn, const char *san)
{
	char cmd[4 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec "
	    "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
	    "-keyout '%s/%s.key' -out '%s/%s.pem' -subj '/CN=%s' "
	    "-addext 'subjectAltName=%s' >/dev/null 2>&1",
	    dir, name, dir, name, cn, san);
	return system(cmd) == 0 ? 0 : -1;
}

/* "AB:CD:..." of dir/name.pem, static buffer. */
TS_UNUSED static const char *
ts_fingerprint(const char *dir, const char *name)
{
	static char out[32 * 3];
	char path[PATH_MAX];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || !X509_digest(x, EVP_sha256(), md, &n)) {
		X509_free(x);
		return NULL;
	}
	X509_free(x);
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 3 * i, i + 1 == n ? "%02X" : "%02X:", md[i]);
	return out;
}

TS_UNUSED static char *
ts_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (s = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

/* tls_server.py sits next to this header; __FILE__ is relative to the build
 * directory, where meson also puts the test executables. */
static void
ts_script(char *out, size_t len)
{
	char exe[PATH_MAX], file[PATH_MAX];
	ssize_t n;

	if (getenv("LB_TEST_DATA") != NULL) {
		snprintf(out, len, "%s/tls_server.py", getenv("LB_TEST_DATA"));
		return;
	}
	snprintf(file, sizeof(file), "%s", __FILE__);
	if (file[0] == '/') {
		snprintf(out, len, "%s/tls_server.py", dirname(file));
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(out, len, "%s/%s/tls_server.py", dirname(exe), dirname(file));
}

/* Starts the server; extra is a NULL-terminated argv tail. */
static int
ts_start(struct tserver *s, const char *cert, const char *key,
    const char *const *extra)
{
	char script[PATH_MAX], line[64] = "";
	const char *argv[32];
	int fd[2], i = 0;
	size_t got = 0;
	struct pollfd p;

	ts_script(script, sizeof(script));
	if (access(script, R_OK) != 0) {
		fprintf(stderr, "test server script not found: %s\n", script);
		return -1;
	}
	argv[i++] = "python3";
	argv[i++] = script;
	argv[i++] = "--cert";
	argv[i++] = cert;
	argv[i++] = "--key";
	argv[i++] = key;
	for (; extra != NULL && *extra != NULL && i < 30; extra++)
		argv[i++] = *extra;
	argv[i] = NULL;
	if (pipe(fd) != 0)
		return -1;
	if ((s->pid = fork()) == -1)
		return -1;
	if (s->pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	p.fd = fd[0];
	p.events = POLLIN;
	while (got < sizeof(line) - 1 && strchr(line, '\n') == NULL) {
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t n = read(fd[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
	}
	close(fd[0]);
	if (sscanf(line, "PORT %d", &s->port) != 1) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		return -1;
	}
	return 0;
}

static void
ts_stop(struct tserver *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

#endif
