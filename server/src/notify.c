// SPDX-License-Identifier: MIT
/*
 * notify.c - keyspace notifications (notify-keyspace-events) and the one call every write
 * command makes for every key it changes.
 *
 * key_modified() is Redis's notifyKeyspaceEvent() and signalModifiedKey() together: it
 * publishes "__keyspace@0__:KEY EVENT" and "__keyevent@0__:EVENT KEY" when the event's class
 * is enabled, marks the key ready for clients blocked on it, and counts the write. WATCH needs
 * nothing here: EXEC compares the versions the engine keeps for every key, which also change
 * when the mount, hkvctl or expiry touch a key.
 *
 * Writes the server did not make arrive through the engine's watch callback (server.c) and
 * are published here too, so a subscriber sees "set" for `echo x > /mnt/kv/key` and
 * "expired" when the engine's sweep removes a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

int notify_parse(const char *s, size_t len, uint32_t *out)
{
	uint32_t f = 0;

	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case 'A': f |= NOTIFY_ALL; break;
		case 'g': f |= NOTIFY_GENERIC; break;
		case '$': f |= NOTIFY_STRING; break;
		case 'l': f |= NOTIFY_LIST; break;
		case 's': f |= NOTIFY_SET; break;
		case 'h': f |= NOTIFY_HASH; break;
		case 'z': f |= NOTIFY_ZSET; break;
		case 'x': f |= NOTIFY_EXPIRED; break;
		case 'e': f |= NOTIFY_EVICTED; break;
		case 'K': f |= NOTIFY_KEYSPACE; break;
		case 'E': f |= NOTIFY_KEYEVENT; break;
		case 't': f |= NOTIFY_STREAM; break;
		case 'm': f |= NOTIFY_KEY_MISS; break;
		case 'd': f |= NOTIFY_MODULE; break;
		case 'n': f |= NOTIFY_NEW; break;
		default: return -1;
		}
	}
	*out = f;
	return 0;
}

size_t notify_format(uint32_t f, char *buf)
{
	char *p = buf;

	if ((f & NOTIFY_ALL) == NOTIFY_ALL) {
		*p++ = 'A';
	} else {
		if (f & NOTIFY_GENERIC) *p++ = 'g';
		if (f & NOTIFY_STRING) *p++ = '$';
		if (f & NOTIFY_LIST) *p++ = 'l';
		if (f & NOTIFY_SET) *p++ = 's';
		if (f & NOTIFY_HASH) *p++ = 'h';
		if (f & NOTIFY_ZSET) *p++ = 'z';
		if (f & NOTIFY_EXPIRED) *p++ = 'x';
		if (f & NOTIFY_EVICTED) *p++ = 'e';
		if (f & NOTIFY_STREAM) *p++ = 't';
		if (f & NOTIFY_MODULE) *p++ = 'd';
		if (f & NOTIFY_NEW) *p++ = 'n';
	}
	if (f & NOTIFY_KEYSPACE) *p++ = 'K';
	if (f & NOTIFY_KEYEVENT) *p++ = 'E';
	if (f & NOTIFY_KEY_MISS) *p++ = 'm';
	*p = 0;
	return (size_t)(p - buf);
}

bool notify_listened(const struct hkv_server *srv, uint32_t types)
{
	return srv->notify_flags & types &&
	       (dict_size(&srv->channels) || dict_size(&srv->patterns));
}

void notify_event(struct hkv_server *srv, uint32_t type, const char *event, const void *key,
		  size_t klen)
{
	char small[256], *chan;
	size_t elen = strlen(event), cl;

	if (!notify_listened(srv, type))
		return; /* nobody listens: skip building the channel names */
	cl = 16 + (klen > elen ? klen : elen);
	chan = cl <= sizeof(small) ? small : malloc(cl);
	if (!chan)
		return;
	if (srv->notify_flags & NOTIFY_KEYSPACE) {
		memcpy(chan, "__keyspace@0__:", 15);
		memcpy(chan + 15, key, klen);
		pubsub_publish(srv, chan, 15 + klen, event, elen, false);
	}
	if (srv->notify_flags & NOTIFY_KEYEVENT) {
		memcpy(chan, "__keyevent@0__:", 15);
		memcpy(chan + 15, event, elen);
		pubsub_publish(srv, chan, 15 + elen, key, klen, false);
	}
	if (chan != small)
		free(chan);
}

void signal_key_ready(struct hkv_server *srv, const void *key, size_t klen)
{
	bool created;

	if (!dict_find(&srv->blocking, key, klen))
		return;
	if (!dict_add(&srv->ready, key, klen, NULL, &created) || !created)
		return;
	if (srv->nready == srv->ready_cap) {
		int cap = srv->ready_cap ? srv->ready_cap * 2 : 16;
		char **k = realloc(srv->ready_keys, (size_t)cap * sizeof(*k));
		size_t *l;

		if (!k)
			goto oom;
		srv->ready_keys = k;
		l = realloc(srv->ready_lens, (size_t)cap * sizeof(*l));
		if (!l)
			goto oom;
		srv->ready_lens = l;
		srv->ready_cap = cap;
	}
	srv->ready_keys[srv->nready] = xstrndup(key, klen);
	if (!srv->ready_keys[srv->nready])
		goto oom;
	srv->ready_lens[srv->nready++] = klen;
	return;
oom:
	/* the blocked clients are served at their next timeout check instead */
	dict_del(&srv->ready, key, klen);
	srv_log(srv, 1, "out of memory signalling a key to blocked clients");
}

void key_modified(struct client *c, uint32_t type, const char *event, const void *key,
		  size_t klen)
{
	struct hkv_server *srv = c->srv;

	if (event)
		notify_event(srv, type, event, key, klen);
	if (srv->in_batch)
		dict_add(&srv->batch_keys, key, klen, NULL, NULL);
	signal_key_ready(srv, key, klen);
	srv->st.dirty++;
	write_done(srv);
}

bool key_exists_for_new(struct client *c, const void *key, size_t klen)
{
	/* only asked when someone listens for "new" events: it costs a read */
	if (!(c->srv->notify_flags & NOTIFY_NEW))
		return true;
	return hkv_exists(c->db, key, klen) == 1;
}
