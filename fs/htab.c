// SPDX-License-Identifier: MIT
/*
 * htab.c - the handle table: the numbers the kernel holds for open files and directories
 * (fi->fh), and the references that keep a handle alive while a request uses it.
 *
 * Why a table. The kernel names a handle by the number OPEN, CREATE or OPENDIR returned, and
 * worker threads serve requests in parallel: a RELEASE (RELEASEDIR) can be served while
 * another thread still serves a READ, WRITE, FLUSH, FSYNC, SETATTR or READDIR that carries
 * the same number. Had fi->fh been the handle's address, the release would free memory the
 * other request still uses, and a request could not even take a reference safely (between
 * reading fi->fh and counting itself in, the handle may be gone). The number is therefore a
 * slot and a generation, looked up under the table's lock.
 *
 * Invariants.
 *  - A handle is born with one reference, its creator's; hkvfs_htab_add() makes it the
 *    table's: a handle in the table holds one reference for it ("the table's reference").
 *  - hkvfs_htab_get() takes a reference under the table lock, only while the handle is in the
 *    table; every request that uses a handle takes one at its start and drops it at its end
 *    (hkvfs_href_put()), after its last access to the handle (a reply built
 *    from its buffer included).
 *  - A release takes the handle out of the table (hkvfs_htab_remove()): later lookups of the
 *    number fail (EBADF), and the table's reference passes to the caller, who drops it when
 *    done. Whoever drops the last reference frees the handle (@free), so a handle is freed
 *    exactly once, after every request that found it has finished with it.
 *  - A slot's generation changes each time its handle is removed: a stale number never finds
 *    the handle that reuses the slot. Number 0 is never issued (it means "no handle").
 *
 * Format of a number: bits 0-31 the slot index + 1, bits 32-63 the slot's generation.
 * Cost: one uncontended mutex and one atomic increment per request; nothing is allocated
 * per open except when the table grows (doubling), and freed slots are reused first.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "ops_int.h"

struct slot {
	struct hkvfs_href *h; /* NULL: free (then @next_free is the next free slot + 1) */
	uint32_t gen;
	uint32_t next_free;
};

static pthread_mutex_t htab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static uint32_t nslots, capslots;
static uint32_t free_head; /* first free slot + 1, 0: none */

static struct slot *slot_of_locked(uint64_t num)
{
	uint32_t idx = (uint32_t)num;

	if (idx == 0 || idx > nslots || slots[idx - 1].gen != (uint32_t)(num >> 32))
		return NULL;
	return slots[idx - 1].h ? &slots[idx - 1] : NULL;
}

int hkvfs_htab_add(struct hkvfs_href *h, uint64_t *num)
{
	uint32_t idx;
	int rc = 0;

	pthread_mutex_lock(&htab_lock);
	if (free_head) {
		idx = free_head - 1;
		free_head = slots[idx].next_free;
	} else {
		if (nslots == capslots) {
			uint32_t cap = capslots ? capslots * 2 : 64;
			struct slot *n = cap > capslots ? realloc(slots, cap * sizeof(*n)) : NULL;

			if (!n) {
				rc = -ENOMEM;
				goto out_unlock;
			}
			slots = n;
			capslots = cap;
		}
		idx = nslots++;
		slots[idx].gen = 0;
	}
	slots[idx].h = h;
	slots[idx].next_free = 0;
	*num = ((uint64_t)slots[idx].gen << 32) | (idx + 1);
out_unlock:
	pthread_mutex_unlock(&htab_lock);
	return rc;
}

struct hkvfs_href *hkvfs_htab_get(uint64_t num)
{
	struct hkvfs_href *h = NULL;
	struct slot *s;

	pthread_mutex_lock(&htab_lock);
	s = slot_of_locked(num);
	if (s) {
		h = s->h;
		atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&htab_lock);
	return h;
}

struct hkvfs_href *hkvfs_htab_remove(uint64_t num)
{
	struct hkvfs_href *h = NULL;
	struct slot *s;

	pthread_mutex_lock(&htab_lock);
	s = slot_of_locked(num);
	if (s) {
		h = s->h;
		s->h = NULL;
		s->gen++;
		s->next_free = free_head;
		free_head = (uint32_t)(s - slots) + 1;
	}
	pthread_mutex_unlock(&htab_lock);
	return h;
}

void hkvfs_href_put(struct hkvfs_href *h)
{
	/* release: this thread's accesses happen before the free; acquire: the freeing thread
	 * sees every other holder's */
	if (h && atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
		h->free(h);
}
