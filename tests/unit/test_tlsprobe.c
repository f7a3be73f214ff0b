#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/tlsprobe.h"

#include "data/tls_server.h"

struct fix {
	char *dir;
	struct tserver srv;
	char hp[64];
};

static int
teardown(void **state)
{
	struct fix *f = *state;

	if (f == NULL)
		return 0;
	ts_stop(&f->srv);
	ts_rmdir(f->dir);
	free(f);
	return 0;
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char c0[PATH_MAX], k0[PATH_MAX], a[2 * PATH_MAX + 16], b[2 * PATH_MAX + 16];

	if (f == NULL)
		return -1;
	*state = f;
	if ((f->dir = ts_tmpdir()) == NULL)
		goto fail;
	if (ts_make_cert(f->dir, "default", "default.test", "DNS:default.test") ||
	    ts_make_cert(f->dir, "a", "a.test", "DNS:a.test") ||
	    ts_make_cert(f->dir, "b", "b.test", "DNS:b.test"))
		goto fail;
	snprintf(c0, sizeof(c0), "%s/default.pem", f->dir);
	snprintf(k0, sizeof(k0), "%s/default.key", f->dir);
	snprintf(a, sizeof(a), "a.test=%s/a.pem:%s/a.key", f->dir, f->dir);
	snprintf(b, sizeof(b), "b.test=%s/b.pem:%s/b.key", f->dir, f->dir);
	const char *extra[] = { "--sni", a, "--sni", b, NULL };
	if (ts_start(&f->srv, c0, k0, extra) != 0)
		goto fail;
	snprintf(f->hp, sizeof(f->hp), "127.0.0.1:%d", f->srv.port);
	return 0;
fail:
	teardown(state);
	*state = NULL;
	return -1;
}


/* Same certificate as dir/name.pem? */
static void
assert_leaf(struct fix *f, const char *pem, const char *name)
{
	char path[PATH_MAX];
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *got = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	FILE *fp;
	X509 *want;

	BIO_free(bio);
	snprintf(path, sizeof(path), "%s/%s.pem", f->dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	want = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(got);
	assert_non_null(want);
	assert_int_equal(X509_cmp(got, want), 0);
	X509_free(got);
	X509_free(want);
}

static void
leaf_by_sni(void **state)
{
	struct fix *f = *state;
	struct err e = { 0 };
	char *pem = NULL;

	assert_int_equal(tlsprobe_leaf(f->hp, "a.test", 5, &pem, &e), 0);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	assert_leaf(f, pem, "a");
	free(pem);
	assert_int_equal(tlsprobe_leaf(f->hp, "b.test", 5, &pem, &e), 0);
	assert_leaf(f, pem, "b");
	free(pem);
	/* no SNI, or an unknown name: the default certificate */
	assert_int_equal(tlsprobe_leaf(f->hp, NULL, 5, &pem, &e), 0);
	assert_leaf(f, pem, "default");
	free(pem);
	assert_int_equal(tlsprobe_leaf(f->hp, "zzz.test", 5, &pem, &e), 0);
	assert_leaf(f, pem, "default");
	free(pem);
	/* "localhost:port" resolves too */
	char hp[64];
	snprintf(hp, sizeof(hp), "localhost:%d", f->srv.port);
	if (tlsprobe_leaf(hp, "a.test", 5, &pem, &e) == 0) {
		assert_leaf(f, pem, "a");
		free(pem);
	}
}

static void
errors(void **state)
{
	(void)state;
	struct err e = { 0 };
	char *pem = (char *)"x";

	assert_int_equal(tlsprobe_leaf("127.0.0.1", NULL, 2, &pem, &e),
	    LB_ECONFIG);
	assert_null(pem);
	assert_int_equal(tlsprobe_leaf("[::1:443", NULL, 2, &pem, &e),
	    LB_ECONFIG);
	assert_int_equal(tlsprobe_leaf("127.0.0.1:1", NULL, 2, &pem, &e),
	    LB_EUNREACH);
	assert_non_null(strstr(e.msg, "127.0.0.1:1"));
	assert_null(pem);
}

/* A listener that never answers the handshake: the probe gives up at the
 * deadline. */
static void
handshake_timeout(void **state)
{
	(void)state;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct err e = { 0 };
	char hp[64], *pem = NULL;
	struct timespec t0, t1;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, 4), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", ntohs(sin.sin_port));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tlsprobe_leaf(hp, "a.test", 1, &pem, &e), LB_EUNREACH);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(e.msg, "timed out"));
	assert_in_range(t1.tv_sec - t0.tv_sec, 0, 3);
	close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leaf_by_sni),
		cmocka_unit_test(errors),
		cmocka_unit_test(handshake_timeout),
	};

	return cmocka_run_group_tests_name("tlsprobe", tests, setup, teardown);
}
