// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - the ring of eviction and expiry records of hkv.ko.
 *
 * Writers of the cache append one struct hkv_event per removed entry to a
 * ring of hkvm_event_slots records; the record with sequence number s lives
 * in slot s % slots.  @head is the sequence number the next record gets.  A
 * subscribed /dev/hkv descriptor keeps its own cursor (the next sequence it
 * wants); a cursor older than head - slots has been overwritten, and the
 * reader gets one HKV_EV_LOST record saying how many it missed before
 * resuming at the oldest record still held.
 *
 * @lock (a spinlock, never held across user copies) protects @ring and
 * @head.  Producers run under the cache's writer mutex; readers copy one
 * record to a private buffer under @lock and to user space after it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/sched/signal.h>
#include <linux/math64.h>

#include "hkvm_int.h"

static struct {
	spinlock_t lock;	/* @ring and @head */
	struct hkv_event *ring;
	u64 head;
	struct wait_queue_head wq;
} hkvm_ev = {
	.lock = __SPIN_LOCK_UNLOCKED(hkvm_ev.lock),
	.wq = __WAIT_QUEUE_HEAD_INITIALIZER(hkvm_ev.wq),
};

/* The slot of sequence number @seq (no u64 % u32 on 32-bit targets). */
static struct hkv_event *hkvm_events_slot(u64 seq)
{
	u32 slot;

	div_u64_rem(seq, hkvm_event_slots, &slot);
	return &hkvm_ev.ring[slot];
}

/**
 * hkvm_events_init() - allocate the ring.  Module init only.
 *
 * Return: 0 or -ENOMEM.
 */
int hkvm_events_init(void)
{
	hkvm_ev.ring = vzalloc(array_size(hkvm_event_slots,
					  sizeof(*hkvm_ev.ring)));
	return hkvm_ev.ring ? 0 : -ENOMEM;
}

/**
 * hkvm_events_exit() - free the ring.  Module exit only.
 */
void hkvm_events_exit(void)
{
	vfree(hkvm_ev.ring);
	hkvm_ev.ring = NULL;
}

/**
 * hkvm_events_wq() - the wait queue woken when a record is appended.
 *
 * Return: a queue living as long as the module.
 */
struct wait_queue_head *hkvm_events_wq(void)
{
	return &hkvm_ev.wq;
}

/**
 * hkvm_events_head() - sequence number of the next record.  Any context.
 *
 * Return: the head.
 */
u64 hkvm_events_head(void)
{
	u64 head;

	spin_lock(&hkvm_ev.lock);
	head = hkvm_ev.head;
	spin_unlock(&hkvm_ev.lock);
	return head;
}

/**
 * hkvm_events_emit() - append a record about @e.  Called under the cache's
 * writer lock; never sleeps.
 * @type: HKV_EV_EVICT or HKV_EV_EXPIRE.
 * @e: the entry being removed, borrowed.
 * @policy: policy in force.
 */
void hkvm_events_emit(u32 type, const struct hkvm_entry *e, u32 policy)
{
	struct hkv_event *ev;

	spin_lock(&hkvm_ev.lock);
	ev = hkvm_events_slot(hkvm_ev.head);
	memset(ev, 0, offsetof(struct hkv_event, key));
	ev->size = sizeof(*ev);
	ev->type = type;
	ev->seq = hkvm_ev.head;
	ev->ns = e->ns;
	ev->version = e->version;
	ev->key_len = e->key_len;
	ev->policy = policy;
	memcpy(ev->key, hkvm_entry_key(e), e->key_len);
	memset(ev->key + e->key_len, 0, sizeof(ev->key) - e->key_len);
	hkvm_ev.head++;
	spin_unlock(&hkvm_ev.lock);
	wake_up_interruptible_poll(&hkvm_ev.wq, EPOLLIN | EPOLLRDNORM);
}

/**
 * hkvm_events_pending() - whether a cursor has records to read.
 * @next: the reader's cursor.
 *
 * Return: true when at least one record (or a LOST record) is pending.
 */
bool hkvm_events_pending(u64 next)
{
	return next < READ_ONCE(hkvm_ev.head);
}

/* Fill @out with the record at *@next (or a LOST record); advance *@next. */
static bool hkvm_events_take(u64 *next, struct hkv_event *out)
{
	bool got = true;

	spin_lock(&hkvm_ev.lock);
	if (*next >= hkvm_ev.head) {
		got = false;
	} else if (hkvm_ev.head - *next > hkvm_event_slots) {
		u64 oldest = hkvm_ev.head - hkvm_event_slots;

		memset(out, 0, sizeof(*out));
		out->size = sizeof(*out);
		out->type = HKV_EV_LOST;
		out->seq = *next;
		out->version = oldest - *next;
		*next = oldest;
	} else {
		*out = *hkvm_events_slot(*next);
		(*next)++;
	}
	spin_unlock(&hkvm_ev.lock);
	return got;
}

/**
 * hkvm_events_read() - read() of a subscribed descriptor.  Process context;
 * may sleep.  The caller serializes reads of one cursor.
 * @next: the descriptor's cursor, advanced past what was copied.
 * @buf: user buffer.
 * @count: its size; whole records only.
 * @nonblock: fail with -EAGAIN instead of waiting.
 *
 * Return: bytes copied (a multiple of sizeof(struct hkv_event)), -EINVAL
 * (@count below one record), -EAGAIN, -ERESTARTSYS, -ENOMEM, -EFAULT.
 */
ssize_t hkvm_events_read(u64 *next, char __user *buf, size_t count,
			 bool nonblock)
{
	struct hkv_event *ev;
	size_t done = 0;
	ssize_t rc;

	if (count < sizeof(*ev))
		return -EINVAL;
	if (!hkvm_events_pending(*next)) {
		if (nonblock)
			return -EAGAIN;
		rc = wait_event_interruptible(hkvm_ev.wq,
					      hkvm_events_pending(*next));
		if (rc)
			return rc;
	}
	ev = kmalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return -ENOMEM;
	while (count - done >= sizeof(*ev)) {
		u64 save = *next;

		if (!hkvm_events_take(next, ev))
			break;
		if (copy_to_user(buf + done, ev, sizeof(*ev))) {
			*next = save;
			break;
		}
		done += sizeof(*ev);
	}
	kfree(ev);
	return done ? done : -EFAULT;
}
