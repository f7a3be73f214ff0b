/* The kinds of devices and CAs, as configuration meets them: a type: value
 * looked up among the kinds the program has, a kind-dependent key admitted
 * or refused, and a kind's own objection placed at file:line:col. What a
 * kind takes and requires is the driver's (struct cfg_kind). */

#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_int.h"

bool
kind_takes(const char *const *keys, const char *key)
{
	for (; keys != NULL && *keys != NULL; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

/* The kind of type: v among list. */
int
get_kind(const struct ydoc *d, yaml_node_t *v, const char *path,
    const struct cfg_kind *const *list, const struct cfg_kind **out, struct err *e)
{
	const char *names[16];
	size_t n = 0;
	int i, rc;

	for (; list[n] != NULL && n < NELEM(names); n++)
		names[n] = list[n]->type;
	TRY(get_enum(d, v, path, names, n, &i, e));
	*out = list[i];
	return 0;
}

/* "f5-bigip devices" or "sectigo-scm or acme CAs": the kinds of list that
 * take profile key key. */
static const char *
takers(char *buf, size_t len, const struct cfg_kind *const *list,
    const char *what, const char *key)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; *list != NULL; list++)
		if (kind_takes((*list)->profile_keys, key) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    off == 0 ? "" : " or ", (*list)->type);
	if (off < len)
		snprintf(buf + off, len - off, " %s", what);
	return buf;
}

/* Whether any kind of list takes profile key key. */
static bool
anyone_takes(const struct cfg_kind *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (kind_takes((*list)->profile_keys, key))
			return true;
	return false;
}

int
kind_profile_key(const struct loader *l, const struct ydoc *d, const struct field *f,
    const char *key, const struct cfg_profile *p)
{
	const struct cfg_kinds *k = l->kinds;
	char who[200];

	if (f->v == NULL || kind_takes(p->device->kind->profile_keys, key) ||
	    kind_takes(p->ca->kind->profile_keys, key))
		return 0;
	if (anyone_takes(k->devices, key))
		return perr(d, f->k, l->e, "%s: only for %s (device '%s' is %s)", key,
		    takers(who, sizeof(who), k->devices, "devices", key),
		    p->device->name, p->device->kind->type);
	return perr(d, f->k, l->e, "%s: only for %s (CA '%s' is %s)", key,
	    takers(who, sizeof(who), k->cas, "CAs", key), p->ca->name, p->ca->kind->type);
}

/* The item of list node v whose text is item, or NULL. */
static yaml_node_t *
list_item(const struct ydoc *d, yaml_node_t *v, const char *item, size_t *idx)
{
	yaml_node_t *n;

	if (v->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (*idx = 0; v->data.sequence.items.start + *idx < v->data.sequence.items.top;
	    (*idx)++) {
		n = node(d, v->data.sequence.items.start[*idx]);
		if (n->type == YAML_SCALAR_NODE && strcasecmp(sval(n), item) == 0)
			return n;
	}
	return NULL;
}

/* The pair of key key in mapping map, or NULL. */
static yaml_node_pair_t *
map_pair(const struct ydoc *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++)
		if (strcmp(sval(node(d, pr->key)), key) == 0)
			return pr;
	return NULL;
}

int
kind_objection(const struct ydoc *d, yaml_node_t *map, const char *prefix,
    const struct cfg_at *at, const struct err *why, struct err *e)
{
	yaml_node_pair_t *pr = at->key != NULL ? map_pair(d, map, at->key) : NULL;
	yaml_node_t *n = map, *item;
	char path[PATH_LEN];
	size_t idx;

	path[0] = '\0';
	if (at->key != NULL)
		snprintf(path, sizeof(path), "%s: ", at->key);
	if (pr != NULL)
		n = node(d, at->on_key ? pr->key : pr->value);
	if (pr != NULL && at->item != NULL &&
	    (item = list_item(d, node(d, pr->value), at->item, &idx)) != NULL) {
		n = item;
		snprintf(path, sizeof(path), "%s[%zu]: ", at->key, idx);
	}
	if (n == NULL)
		return err_set(e, LB_ECONFIG, "%s:1:1: %s%s%s", d->file, prefix, path,
		    why->msg);
	return perr(d, n, e, "%s%s%s", prefix, path, why->msg);
}
