// SPDX-License-Identifier: MIT
/*
 * expire.c - the EXPIRE family, TTL, EXPIRETIME, PERSIST.
 *
 * Times are turned into absolute Unix milliseconds here with Redis's overflow checks; the
 * engine applies NX/XX/GT/LT and deletes the key when the time is already past (reply 1 and a
 * "del" notification, as Redis). Expiry itself (lazy and the background sweep) is the engine's;
 * the sweep's deletions reach subscribers as "expired" events through the watch callback.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "server_int.h"

static void note_volatile(struct hkv_server *srv, const char *key, size_t klen, int64_t at)
{
	struct dict_entry *e;

	if (!srv->cfg.daemon_mode)
		return;
	e = dict_add(&srv->volatile_keys, key, klen, NULL, NULL);
	if (e)
		e->val = (void *)(intptr_t)at;
}

static void expire_generic(struct client *c, long long base, bool seconds)
{
	unsigned flags = 0;
	bool nx = false, xx = false, gt = false, lt = false;
	long long when;
	int rc;

	for (int j = 3; j < c->argc; j++) {
		if (arg_eq(c, j, "nx")) {
			flags |= HKV_EXPIRE_NX;
			nx = true;
		} else if (arg_eq(c, j, "xx")) {
			flags |= HKV_EXPIRE_XX;
			xx = true;
		} else if (arg_eq(c, j, "gt")) {
			flags |= HKV_EXPIRE_GT;
			gt = true;
		} else if (arg_eq(c, j, "lt")) {
			flags |= HKV_EXPIRE_LT;
			lt = true;
		} else {
			add_errorf(c, "Unsupported option %s", c->argv[j]);
			return;
		}
	}
	if ((nx && xx) || (nx && gt) || (nx && lt)) {
		add_error(c, "NX and XX, GT or LT options at the same time are not compatible");
		return;
	}
	if (gt && lt) {
		add_error(c, "GT and LT options at the same time are not compatible");
		return;
	}
	if (!get_ll_or_reply(c, 2, &when, NULL))
		return;
	if (seconds) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
			add_errorf(c, "invalid expire time in '%s' command", c->cmd->fullname);
			return;
		}
		when *= 1000;
	}
	if (when > LLONG_MAX - base) {
		add_errorf(c, "invalid expire time in '%s' command", c->cmd->fullname);
		return;
	}
	when += base;
	if (writes_refused(c))
		return;
	rc = hkv_pexpireat(c->db, c->argv[1], c->argvlen[1], when, flags);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (rc) {
		if (when <= srv_now_ms()) {
			key_modified(c, NOTIFY_GENERIC, "del", c->argv[1], c->argvlen[1]);
		} else {
			note_volatile(c->srv, c->argv[1], c->argvlen[1], when);
			key_modified(c, NOTIFY_GENERIC, "expire", c->argv[1], c->argvlen[1]);
		}
	}
	add_int(c, rc);
}

void expire_command(struct client *c)
{
	expire_generic(c, srv_now_ms(), true);
}

void pexpire_command(struct client *c)
{
	expire_generic(c, srv_now_ms(), false);
}

void expireat_command(struct client *c)
{
	expire_generic(c, 0, true);
}

void pexpireat_command(struct client *c)
{
	expire_generic(c, 0, false);
}

static void ttl_generic(struct client *c, bool ms, bool absolute)
{
	struct hkv_attr a;
	long long ttl;
	int rc = hkv_attr_get(c->db, c->argv[1], c->argvlen[1], &a);

	if (rc == -ENOENT) {
		add_int(c, -2);
		return;
	}
	if (rc) {
		add_err_engine(c, rc);
		return;
	}
	if (!a.expire_at) {
		add_int(c, -1);
		return;
	}
	ttl = absolute ? a.expire_at : a.expire_at - srv_now_ms();
	if (ttl < 0)
		ttl = 0;
	add_int(c, ms ? ttl : (ttl + 500) / 1000);
}

void ttl_command(struct client *c)
{
	ttl_generic(c, false, false);
}

void pttl_command(struct client *c)
{
	ttl_generic(c, true, false);
}

void expiretime_command(struct client *c)
{
	ttl_generic(c, false, true);
}

void pexpiretime_command(struct client *c)
{
	ttl_generic(c, true, true);
}

void persist_command(struct client *c)
{
	int rc;

	if (writes_refused(c))
		return;
	rc = hkv_persist(c->db, c->argv[1], c->argvlen[1]);
	if (rc < 0) {
		add_err_engine(c, rc);
		return;
	}
	if (rc) {
		if (c->srv->cfg.daemon_mode)
			dict_del(&c->srv->volatile_keys, c->argv[1], c->argvlen[1]);
		key_modified(c, NOTIFY_GENERIC, "persist", c->argv[1], c->argvlen[1]);
	}
	add_int(c, rc);
}
