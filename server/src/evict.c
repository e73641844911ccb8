// SPDX-License-Identifier: MIT
/*
 * evict.c - maxmemory eviction: when the server's heap is over maxmemory and the policy is
 * not noeviction, keys are deleted before a command runs until the heap is under the limit
 * or there is nothing left to delete, as Redis does. Each deletion fires an "evicted"
 * keyspace event and counts in INFO's evicted_keys.
 *
 * Choice of the victim: the store keeps no access clock per key, so the LRU and LFU policies
 * are approximated by a random choice, like allkeys-random: the first key from a random
 * position in key order. The volatile policies take from the engine's expiry index
 * (hkv_expiring()), so a key with an expiry is found however few there are: volatile-ttl the
 * key with the nearest expiry, the others one at random among the EVICT_SAMPLE nearest. The
 * heap is the server's own memory;
 * the store's data lives on disk and in the engine's bounded memtable, so eviction bounds
 * what clients make the server hold, and evicting keeps the store small.
 *
 * It runs before each command and from the periodic task (so that lowering maxmemory evicts
 * without waiting for a command). One pass deletes at most EVICT_MAX_PER_CALL keys, so that
 * a command never waits for a whole keyspace to go. Whether the heap is over the limit is read
 * from the last sample (srv_mem_sample(): measuring costs up to a millisecond), and a pass
 * measures again after each EVICT_BATCH deletions and at its end.
 */
#include <errno.h>
#include <string.h>

#include "elems.h"
#include "server_int.h"

#define EVICT_MAX_PER_CALL 64
#define EVICT_BATCH 16 /* deletions between two measures of the heap (srv_mem_sample()) */
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

static int take_expiring(void *arg, const void *key, size_t klen, int64_t expire_at)
{
	struct sample *s = arg;

	(void)expire_at;
	if (elems_push(s->e, key, klen, NULL, 0, 0)) {
		s->err = -ENOMEM;
		return 1;
	}
	return 0;
}

/*
 * Candidates for @policy into @e and the victim among them: its index, or -1 if there is
 * none (nothing left that the policy may take, or an error).
 */
static long choose(struct hkv_server *srv, struct elems *e, const char *policy)
{
	struct sample s = { e, 0 };
	int rc;

	if (strncmp(policy, "volatile-", 9)) {
		rc = sample_keys(srv, e);
		return rc || !e->n ? -1 : 0;
	}
	/* from the expiry index, nearest first: volatile-ttl takes the nearest */
	rc = hkv_expiring(srv->db, strcmp(policy, "volatile-ttl") ? EVICT_SAMPLE : 1,
			  take_expiring, &s);
	if (rc < 0 || s.err || !e->n)
		return -1;
	return (long)(srv_rand(srv) % e->n);
}

void evict_if_needed(struct hkv_server *srv, struct client *c)
{
	struct client *prev_exec = srv->exec_client;
	bool prev_all = srv->touches_all;
	const char *policy;

	/* the cheap checks first: this runs before every command */
	if (srv->in_batch || !srv_over_maxmemory(srv) || srv->flush_error)
		return;
	policy = config_get_str(srv, "maxmemory-policy");
	if (!strcmp(policy, "noeviction"))
		return;
	/* the deletions are the server's own: no foreign-write events for them */
	srv->exec_client = c;
	srv->touches_all = true;
	for (int n = 0; n < EVICT_MAX_PER_CALL; n++) {
		struct elems e;
		long victim;
		int rc;

		elems_init(&e);
		victim = choose(srv, &e, policy);
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
		if (n % EVICT_BATCH == EVICT_BATCH - 1 && srv_mem_sample(srv) <= srv->maxmemory)
			break;
	}
	srv_mem_sample(srv); /* what the next command's check reads */
	drain_watch_events(srv);
	srv->exec_client = prev_exec;
	srv->touches_all = prev_all;
}
