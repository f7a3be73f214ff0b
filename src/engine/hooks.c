#include "engine/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"

extern char **environ;

/* A chatty hook cannot flood the log: past this much output the rest is
 * read and dropped. */
#define HOOK_LOG_MAX (64 * 1024)
#define HOOK_LINE_MAX 1024
#define HOOK_ENV_N 7

struct hook_out {
	const char *profile, *which;
	char line[HOOK_LINE_MAX];
	size_t len;
	size_t logged;
	bool truncated;
};

const char *
hook_status_name(enum hook_status s)
{
	static const char *names[] = { "none", "ok", "failed", "timeout" };
	return names[s];
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The service's environment without any LBCERT_* of its own, then the
 * event's: a hook never sees a stale value from whoever started lbcert.
 * env[*own..] are allocated here (env_free); the rest are environ's. */
static char **
hook_env(const struct hook_event *ev, size_t *own)
{
	const struct run_result *r = ev->res;
	char na[32] = "";
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + HOOK_ENV_N + 1, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LBCERT_", 7) != 0)
			env[k++] = environ[i];
	if (ev->not_after > 0) {
		struct tm tm;

		gmtime_r(&ev->not_after, &tm);
		strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	*own = k;
	env[k++] = xasprintf("LBCERT_PROFILE=%s", ev->p->name);
	env[k++] = xasprintf("LBCERT_DEVICE=%s", ev->p->device->name);
	env[k++] = xasprintf("LBCERT_CA=%s", ev->p->ca->name);
	env[k++] = xasprintf("LBCERT_SERIAL=%s", r->serial);
	env[k++] = xasprintf("LBCERT_NOT_AFTER=%s", na);
	env[k++] = xasprintf("LBCERT_RESULT=%s", engine_outcome_name(r->outcome));
	env[k++] = xasprintf("LBCERT_ERROR=%s", r->outcome == OUT_FAILED ? r->detail : "");
	return env;
}

static void
env_free(char **env, size_t own)
{
	if (env == NULL)
		return;
	for (size_t i = own; i < own + HOOK_ENV_N; i++)
		free(env[i]);
	free(env);
}

static bool
env_complete(char **env, size_t own)
{
	for (size_t i = own; i < own + HOOK_ENV_N; i++)
		if (env[i] == NULL)
			return false;
	return true;
}

static void
out_line(struct hook_out *o)
{
	o->line[o->len] = '\0';
	if (o->logged < HOOK_LOG_MAX)
		log_info("%s: hook %s: %s", o->profile, o->which, o->line);
	else if (!o->truncated) {
		log_info("%s: hook %s: (further output not logged)", o->profile, o->which);
		o->truncated = true;
	}
	o->logged += o->len;
	o->len = 0;
}

static void
out_feed(struct hook_out *o, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			out_line(o);
			continue;
		}
		o->line[o->len++] = buf[i];
		if (o->len == sizeof(o->line) - 1)
			out_line(o);
	}
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void
child(char **argv, char **env, int devnull, int out)
{
	sigset_t none;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(devnull, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(126);
	/* The state lock and database stay ours: a hook that leaves a
	 * daemon behind must not hold the next run's lock. */
	closefrom(3);
	execve(argv[0], argv, env);
	_exit(127);
}

/* Reads the hook's output until it exits or the deadline passes; true when
 * it exited (its wait status in *status). */
static bool
collect(pid_t pid, int fd, long deadline, struct hook_out *o, int *status)
{
	char buf[4096];
	bool open_fd = true;

	for (;;) {
		long left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		pid_t w;

		if (open_fd && poll(&pfd, 1, left < 100 ? (left > 0 ? (int)left : 0) : 100) > 0) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n > 0)
				out_feed(o, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				open_fd = false;
		} else if (!open_fd && left > 0)
			usleep((useconds_t)(left < 50 ? left : 50) * 1000);
		/* A daemon the hook started may hold the pipe open: the
		 * hook's own exit ends the wait. */
		if ((w = waitpid(pid, status, WNOHANG)) == pid) {
			ssize_t n;

			/* what it wrote before exiting, without waiting on
			 * whoever else holds the pipe */
			if (open_fd && fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
				while ((n = read(fd, buf, sizeof(buf))) > 0)
					out_feed(o, buf, (size_t)n);
			return true;
		}
		if (now_ms() >= deadline)
			return false;
	}
}

static enum hook_status
spawn(const struct hook_event *ev, const char *which, char *const *argv, size_t argc,
    int timeout_s)
{
	struct hook_out o = { .profile = ev->p->name, .which = which };
	size_t own = 0;
	char **env = hook_env(ev, &own), **av = NULL;
	int pipefd[2] = { -1, -1 }, devnull = -1, status = 0;
	enum hook_status st = HOOK_FAILED;
	pid_t pid;
	bool ok;

	if (env == NULL || !env_complete(env, own) ||
	    (av = calloc(argc + 1, sizeof(*av))) == NULL) {
		log_error("%s: hook %s: out of memory", ev->p->name, which);
		goto out;
	}
	/* execve wants the list NULL-terminated; the configuration's is
	 * counted. */
	memcpy(av, argv, argc * sizeof(*av));
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    pipe2(pipefd, O_CLOEXEC) == -1) {
		log_error("%s: hook %s: %s", ev->p->name, which, strerror(errno));
		goto out;
	}
	log_info("%s: running hook %s: %s", ev->p->name, which, argv[0]);
	if ((pid = fork()) == -1) {
		log_error("%s: hook %s: fork: %s", ev->p->name, which, strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(av, env, devnull, pipefd[1]);
	/* also here, so that a kill at the deadline finds the group even
	 * when the child has not run yet */
	setpgid(pid, pid);
	close(pipefd[1]);
	pipefd[1] = -1;
	ok = collect(pid, pipefd[0], now_ms() + timeout_s * 1000L, &o, &status);
	if (o.len > 0)
		out_line(&o);
	if (!ok) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		log_error("%s: hook %s: killed after %d s (timeout_s)", ev->p->name, which,
		    timeout_s);
		st = HOOK_TIMEOUT;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		st = HOOK_OK;
	else if (WIFEXITED(status))
		log_error("%s: hook %s: exited with status %d%s", ev->p->name, which,
		    WEXITSTATUS(status), WEXITSTATUS(status) == 127 ?
		    " (could not be executed)" : "");
	else
		log_error("%s: hook %s: killed by signal %d", ev->p->name, which,
		    WTERMSIG(status));
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	env_free(env, own);
	free(av);
	return st;
}

/* The hook's name when p has one for this outcome, else NULL. */
static const char *
hook_run_needed(const struct cfg_profile *p, enum run_outcome o)
{
	if ((o == OUT_ENROLLED || o == OUT_RENEWED) && p->hooks.non_change > 0)
		return "on_change";
	if (o == OUT_FAILED && p->hooks.non_failure > 0)
		return "on_failure";
	return NULL;
}

enum hook_status
hook_run(const struct hook_event *ev)
{
	const struct cfg_hooks *h = &ev->p->hooks;
	const char *which = hook_run_needed(ev->p, ev->res->outcome);

	if (which == NULL)
		return HOOK_NONE;
	if (ev->res->outcome == OUT_FAILED)
		return spawn(ev, which, h->on_failure, h->non_failure, h->timeout_s);
	return spawn(ev, which, h->on_change, h->non_change, h->timeout_s);
}

enum hook_status
hook_after(struct store *st, const struct cfg_profile *p, const struct run_result *res)
{
	struct hook_event ev = { .p = p, .res = res };
	struct store_cert c = {0};
	struct err e = {0};
	int rc;

	if (hook_run_needed(p, res->outcome) == NULL)
		return HOOK_NONE;
	if ((rc = store_cert_get(st, p->name, &c, &e)) == 0)
		ev.not_after = c.not_after;
	else if (rc != LB_ENOTFOUND)
		log_warn("%s: hook: no certificate record: %s", p->name, e.msg);
	store_cert_free(&c);
	return hook_run(&ev);
}
