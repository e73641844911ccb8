// SPDX-License-Identifier: MIT
/*
 * evict.c - maxmemory eviction: when the server's heap is over maxmemory and the policy is
 * not noeviction, keys are deleted before a command runs until the heap is under the limit
 * or there is nothing left to delete, as Redis does. Each deletion fires an "evicted"
 * keyspace event and counts in INFO's evicted_keys.
 *
 * Choice of the victim: the store keeps no access clock per key, so the LRU and LFU policies
 * are approximated by a random choice, like allkeys-random: a key found from a random
 * position in key order (volatile-*: the first such key with an expiry; volatile-ttl: the
 * one with the nearest expiry among a sample of 16). The heap is the server's own memory;
 * the store's data lives on disk and in the engine's bounded memtable, so eviction bounds
 * what clients make the server hold, and evicting keeps the store small.
 *
 * It runs before each command and from the periodic task (so that lowering maxmemory evicts
 * without waiting for a command). One pass deletes at most EVICT_MAX_PER_CALL keys, so that
 * a command never waits for a whole keyspace to go.
 */
#include <errno.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

#define EVICT_MAX_PER_CALL 64
#define EVICT_SAMPLE 16

struct sample {
	struct elems *e;
	int err;
};

static int sample_key(void *arg, const void *key, size_t klen, enum hkv_type type,
		      bool is_prefix)
{
	struct sample *s = arg;

	(void)type;
	(void)is_prefix;
	if (elems_push(s->e, key, klen, NULL, 0, 0))
		s->err = -ENOMEM;
	return s->e->n >= EVICT_SAMPLE ? 1 : 0;
}

/* Up to EVICT_SAMPLE keys from a random position (wrapping to the start). */
static int sample_keys(struct hkv_server *srv, struct elems *e)
{
	struct hkv_scan_opts so = { .count = EVICT_SAMPLE };
	struct sample s = { e, 0 };
	struct hkv_cursor cur;
	uint64_t r = srv_rand(srv);
	int rc;

	if (hkv_cursor_after(&cur, &r, sizeof(r), false))
		hkv_cursor_init(&cur);
	rc = hkv_scan(srv->db, &cur, &so, sample_key, &s);
	if (rc >= 0 && !s.err && e->n < EVICT_SAMPLE) {
		hkv_cursor_init(&cur);
		rc = hkv_scan(srv->db, &cur, &so, sample_key, &s);
	}
	if (s.err)
		return s.err;
	return rc < 0 ? rc : 0;
}

/* The victim among @e for @policy: its index, or -1 if none qualifies. */
static long pick(struct hkv_server *srv, struct elems *e, const char *policy)
{
	bool volatile_only = !strncmp(policy, "volatile-", 9);
	bool by_ttl = !strcmp(policy, "volatile-ttl");
	int64_t best_at = 0;
	long best = -1;

	for (size_t i = 0; i < e->n; i++) {
		struct hkv_attr a;

		if (!volatile_only)
			return (long)i;
		if (hkv_attr_get(srv->db, elem_a(e, i), e->v[i].alen, &a) || !a.expire_at)
			continue;
		if (!by_ttl)
			return (long)i;
		if (best < 0 || a.expire_at < best_at) {
			best = (long)i;
			best_at = a.expire_at;
		}
	}
	return best;
}

void evict_if_needed(struct hkv_server *srv, struct client *c)
{
	const char *policy = config_get_str(srv, "maxmemory-policy");
	struct client *prev_exec = srv->exec_client;
	bool prev_all = srv->touches_all;

	if (!srv->maxmemory || srv->in_batch || mem_used() <= srv->maxmemory ||
	    !strcmp(policy, "noeviction") || srv->flush_error)
		return;
	/* the deletions are the server's own: no foreign-write events for them */
	srv->exec_client = c;
	srv->touches_all = true;
	for (int n = 0; n < EVICT_MAX_PER_CALL && mem_used() > srv->maxmemory; n++) {
		struct elems e;
		long victim;
		int rc;

		elems_init(&e);
		rc = sample_keys(srv, &e);
		victim = rc ? -1 : pick(srv, &e, policy);
		if (victim < 0) {
			elems_free(&e);
			break;
		}
		rc = hkv_del(srv->db, elem_a(&e, (size_t)victim), e.v[victim].alen);
		if (rc == 1) {
			srv->st.evicted_keys++;
			notify_event(srv, NOTIFY_EVICTED, "evicted", elem_a(&e, (size_t)victim),
				     e.v[victim].alen);
			write_done(srv);
		}
		elems_free(&e);
		if (rc < 0)
			break;
	}
	drain_watch_events(srv);
	srv->exec_client = prev_exec;
	srv->touches_all = prev_all;
}
