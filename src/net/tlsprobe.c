/* Fetches the leaf certificate a TLS service serves, with SNI, as the
 * post-install check of SPEC §1 step 9. Non-blocking socket and handshake
 * against one deadline, so a silent peer costs at most timeout_s. */
#include "net/tlsprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Splits "host:port" or "[v6]:port" into its parts. */
static int
split_hostport(const char *hp, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon, *h = hp;
	size_t n;

	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		h = hp + 1;
		n = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - hp);
	}
	if (n == 0 || n >= hlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= plen || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int
wait_fd(int fd, short ev, long deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

static int
connect_any(const char *host, const char *port, long deadline, char *why,
    size_t wlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	int fd = -1, r, soerr;
	socklen_t sl;

	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, wlen, "%s", gai_strerror(r));
		return -1;
	}
	snprintf(why, wlen, "no address");
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			r = wait_fd(fd, POLLOUT, deadline);
			sl = sizeof(soerr);
			if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0)
				break;
			snprintf(why, wlen, "%s", r == 0 ? "connect timed out" :
			    strerror(r > 0 ? soerr : errno));
		} else
			snprintf(why, wlen, "%s", strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
handshake(SSL *ssl, int fd, long deadline)
{
	int r, err;

	for (;;) {
		ERR_clear_error();
		if ((r = SSL_connect(ssl)) == 1)
			return 0;
		err = SSL_get_error(ssl, r);
		if (err == SSL_ERROR_WANT_READ)
			r = wait_fd(fd, POLLIN, deadline);
		else if (err == SSL_ERROR_WANT_WRITE)
			r = wait_fd(fd, POLLOUT, deadline);
		else
			return -1;
		if (r <= 0)
			return -2;
	}
}

static char *
leaf_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (b == NULL)
		return NULL;
	if (PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

/* Offers only key's signature algorithms (TLS 1.3 and 1.2) and, for
 * TLS 1.2, only its cipher suites: a server holding an RSA and an ECDSA
 * certificate then has one choice, as it would for such a client. */
static bool
offer_only(SSL_CTX *ctx, enum probe_key key)
{
	if (key == PROBE_ANY_KEY)
		return true;
	if (key == PROBE_ECDSA)
		return SSL_CTX_set1_sigalgs_list(ctx, "ECDSA+SHA256:ECDSA+SHA384:"
		    "ECDSA+SHA512") == 1 && SSL_CTX_set_cipher_list(ctx, "aECDSA") == 1;
	return SSL_CTX_set1_sigalgs_list(ctx, "RSA-PSS+SHA256:RSA-PSS+SHA384:"
	    "RSA-PSS+SHA512:RSA+SHA256:RSA+SHA384:RSA+SHA512") == 1 &&
	    SSL_CTX_set_cipher_list(ctx, "aRSA") == 1;
}

int
tlsprobe_leaf(const char *hostport, const char *sni, long timeout_s,
    char **pem_out, struct err *e)
{
	return tlsprobe_leaf_key(hostport, sni, PROBE_ANY_KEY, timeout_s, pem_out, e);
}

int
tlsprobe_leaf_key(const char *hostport, const char *sni, enum probe_key key,
    long timeout_s, char **pem_out, struct err *e)
{
	char host[256], port[16], why[256];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	long deadline;
	int fd = -1, rc = LB_ERR, r;

	*pem_out = NULL;
	if (split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != 0)
		return err_set(e, LB_ECONFIG, "tls probe: \"%s\" is not host:port",
		    hostport);
	deadline = now_ms() + (timeout_s > 0 ? timeout_s : 10) * 1000;
	if ((fd = connect_any(host, port, deadline, why, sizeof(why))) == -1) {
		rc = err_set(e, LB_EUNREACH, "tls probe %s: %s", hostport, why);
		goto out;
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL || !offer_only(ctx, key) ||
	    (ssl = SSL_new(ctx)) == NULL) {
		rc = err_set(e, LB_ERR, "tls probe %s: cannot set up the client", hostport);
		goto out;
	}
	/* No trust decision here: the caller compares the served leaf with
	 * the one it installed. */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (sni != NULL && *sni != '\0' &&
	    !SSL_set_tlsext_host_name(ssl, sni)) {
		rc = err_set(e, LB_ERR, "tls probe %s: bad SNI name \"%s\"",
		    hostport, sni);
		goto out;
	}
	SSL_set_fd(ssl, fd);
	if ((r = handshake(ssl, fd, deadline)) != 0) {
		unsigned long oe = ERR_peek_last_error();
		rc = err_set(e, LB_EUNREACH, "tls probe %s%s%s: %s", hostport,
		    sni ? " sni " : "", sni ? sni : "", r == -2 ?
		    "handshake timed out" : oe ? ERR_reason_error_string(oe) ?
		    ERR_reason_error_string(oe) : "handshake failed" :
		    "handshake failed (connection closed)");
		goto out;
	}
	if ((leaf = SSL_get1_peer_certificate(ssl)) == NULL) {
		rc = err_set(e, LB_ERR, "tls probe %s: the server sent no "
		    "certificate", hostport);
		goto out;
	}
	if ((*pem_out = leaf_pem(leaf)) == NULL) {
		rc = err_set(e, LB_ERR, "tls probe %s: out of memory", hostport);
		goto out;
	}
	rc = 0;
	SSL_shutdown(ssl);
out:
	X509_free(leaf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd != -1)
		close(fd);
	ERR_clear_error();
	return rc;
}
