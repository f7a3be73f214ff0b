/* hooks: in lbcert.yaml's defaults and in a profile: the commands run after
 * a profile's run. Each is an argv list executed directly, so a value
 * from the configuration never meets a shell. */

#include "config/config.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "util/mem.h"

void
config_hooks_free(struct cfg_hooks *h)
{
	strv_free(h->on_change, h->non_change);
	strv_free(h->on_failure, h->non_failure);
	h->on_change = h->on_failure = NULL;
	h->non_change = h->non_failure = 0;
}

static int
strv_copy(char ***dst, size_t *ndst, char *const *src, size_t n, struct err *e)
{
	*dst = NULL;
	*ndst = 0;
	if (n == 0)
		return 0;
	if ((*dst = calloc(n, sizeof(**dst))) == NULL)
		return oom(e);
	for (; *ndst < n; (*ndst)++)
		if (((*dst)[*ndst] = strdup(src[*ndst])) == NULL)
			return oom(e);
	return 0;
}

int
hooks_copy(struct cfg_hooks *dst, const struct cfg_hooks *src, struct err *e)
{
	int rc;

	dst->timeout_s = src->timeout_s;
	TRY(strv_copy(&dst->on_change, &dst->non_change, src->on_change,
	    src->non_change, e));
	return strv_copy(&dst->on_failure, &dst->non_failure, src->on_failure,
	    src->non_failure, e);
}

/* The program is named by its absolute path: PATH lookup would let the
 * service's environment choose what runs. */
static int
parse_argv(const struct ydoc *d, yaml_node_t *v, const char *path,
    char ***argv, size_t *argc, struct err *e)
{
	int rc;

	strv_free(*argv, *argc);
	*argv = NULL;
	*argc = 0;
	TRY(get_list(d, v, path, get_str, argv, argc, e));
	if (*argc > 0 && (*argv)[0][0] != '/')
		return perr(d, node(d, *v->data.sequence.items.start), e,
		    "%s[0]: the program must be an absolute path, not '%s' "
		    "(hooks run without a shell or PATH lookup)", path, (*argv)[0]);
	return 0;
}

int
parse_hooks(const struct ydoc *d, yaml_node_t *n, const char *path,
    struct cfg_hooks *h, struct err *e)
{
	static const char *const keys[] = { "on_change", "on_failure", "timeout_s" };
	struct field f[NELEM(keys)];
	char p[PATH_LEN];
	int rc;

	TRY(map_collect(d, n, path, keys, NELEM(keys), f, e));
	if (f[0].v != NULL)
		TRY(parse_argv(d, f[0].v, pjoin(p, path, "on_change"),
		    &h->on_change, &h->non_change, e));
	if (f[1].v != NULL)
		TRY(parse_argv(d, f[1].v, pjoin(p, path, "on_failure"),
		    &h->on_failure, &h->non_failure, e));
	if (f[2].v != NULL)
		TRY(get_int(d, f[2].v, pjoin(p, path, "timeout_s"), 1, 86400,
		    &h->timeout_s, e));
	return 0;
}
