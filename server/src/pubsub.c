// SPDX-License-Identifier: MIT
/*
 * pubsub.c - SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, PUBLISH, PUBSUB.
 *
 * The server keeps channel -> subscribers and pattern -> subscribers (struct clist, in
 * subscription order); each client keeps the set of its channels and patterns. PUBLISH sends
 * to the channel's subscribers, then to the subscribers of every pattern that matches, and
 * returns the number of messages sent, as Redis.
 *
 * Messages are pushes: RESP3 ">", RESP2 an array. They are written with CL_PUSHING so that
 * CLIENT REPLY OFF, which silences replies, never silences messages. A subscriber whose
 * output grows past the pub/sub output limit is disconnected.
 *
 * A RESP2 client with at least one subscription is in the pub/sub context (CL_PUBSUB), where
 * call.c allows only the commands that manage subscriptions, PING, QUIT and RESET.
 */
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

int clist_add(struct clist *l, struct client *c)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 4;
		struct client **v = realloc(l->v, (size_t)cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = c;
	return 0;
}

bool clist_del(struct clist *l, struct client *c)
{
	for (int i = 0; i < l->n; i++) {
		if (l->v[i] == c) {
			memmove(l->v + i, l->v + i + 1, (size_t)(l->n - i - 1) * sizeof(*l->v));
			l->n--;
			return true;
		}
	}
	return false;
}

void clist_free(void *p)
{
	struct clist *l = p;

	if (l) {
		free(l->v);
		free(l);
	}
}

int pubsub_count(struct client *c)
{
	return (int)(dict_size(&c->channels) + dict_size(&c->patterns));
}

static void update_context(struct client *c)
{
	if (pubsub_count(c) + (int)dict_size(&c->shard_channels) > 0)
		c->flags |= CL_PUBSUB;
	else
		c->flags &= ~CL_PUBSUB;
}

/* [kind, name, count] as a push; @name NULL gives a null. */
static void push_ack(struct client *c, const char *kind, const void *name, size_t nlen,
		     long long count)
{
	c->flags |= CL_PUSHING;
	add_push(c, 3);
	add_bulk_str(c, kind);
	if (name)
		add_bulk(c, name, nlen);
	else
		add_null(c);
	add_int(c, count);
	c->flags &= ~CL_PUSHING;
}

static bool sub_add(struct client *c, struct dict *mine, struct dict *all, const void *name,
		    size_t len)
{
	struct dict_entry *e;
	bool created;

	if (!dict_add(mine, name, len, NULL, &created))
		return false;
	if (!created)
		return false;
	e = dict_add(all, name, len, NULL, &created);
	if (e && created) {
		e->val = calloc(1, sizeof(struct clist));
		if (!e->val) {
			dict_del(all, name, len);
			e = NULL;
		}
	}
	if (!e || clist_add(e->val, c)) {
		dict_del(mine, name, len);
		return false;
	}
	return true;
}

static bool sub_del(struct client *c, struct dict *mine, struct dict *all, const void *name,
		    size_t len)
{
	struct dict_entry *e;

	if (!dict_find(mine, name, len))
		return false;
	dict_del(mine, name, len);
	e = dict_find(all, name, len);
	if (e) {
		struct clist *l = e->val;

		clist_del(l, c);
		if (!l->n) {
			dict_del(all, name, len);
			clist_free(l);
		}
	}
	return true;
}

static void subscribe_generic(struct client *c, struct dict *mine, struct dict *all,
			      const char *kind)
{
	if (c->flags & CL_FAKE) {
		add_error(c, "subscribing needs a connection");
		return;
	}
	for (int i = 1; i < c->argc; i++) {
		sub_add(c, mine, all, c->argv[i], c->argvlen[i]);
		update_context(c);
		push_ack(c, kind, c->argv[i], c->argvlen[i],
			 mine == &c->shard_channels ? (long long)dict_size(mine)
						    : pubsub_count(c));
	}
}

static void unsubscribe_generic(struct client *c, struct dict *mine, struct dict *all,
				const char *kind, bool notify)
{
	bool shard = mine == &c->shard_channels;

	if (c->argc <= 1 || !notify) {
		struct dict_iter it;
		struct dict_entry *e;
		int n = 0;

		dict_iter_init(&it, mine);
		while ((e = dict_iter_next(&it))) {
			char *name = xstrndup((char *)e->key, e->klen);
			size_t len = e->klen;

			if (!name)
				break;
			sub_del(c, mine, all, name, len);
			update_context(c);
			if (notify)
				push_ack(c, kind, name, len,
					 shard ? (long long)dict_size(mine) : pubsub_count(c));
			free(name);
			n++;
		}
		if (!n && notify)
			push_ack(c, kind, NULL, 0,
				 shard ? (long long)dict_size(mine) : pubsub_count(c));
		return;
	}
	for (int i = 1; i < c->argc; i++) {
		sub_del(c, mine, all, c->argv[i], c->argvlen[i]);
		update_context(c);
		push_ack(c, kind, c->argv[i], c->argvlen[i],
			 shard ? (long long)dict_size(mine) : pubsub_count(c));
	}
}

void subscribe_command(struct client *c)
{
	subscribe_generic(c, &c->channels, &c->srv->channels, "subscribe");
}

void psubscribe_command(struct client *c)
{
	subscribe_generic(c, &c->patterns, &c->srv->patterns, "psubscribe");
}

void ssubscribe_command(struct client *c)
{
	subscribe_generic(c, &c->shard_channels, &c->srv->shard_channels, "ssubscribe");
}

void unsubscribe_command(struct client *c)
{
	unsubscribe_generic(c, &c->channels, &c->srv->channels, "unsubscribe", true);
}

void punsubscribe_command(struct client *c)
{
	unsubscribe_generic(c, &c->patterns, &c->srv->patterns, "punsubscribe", true);
}

void sunsubscribe_command(struct client *c)
{
	unsubscribe_generic(c, &c->shard_channels, &c->srv->shard_channels, "sunsubscribe",
			    true);
}

void pubsub_unsubscribe_all(struct client *c, bool notify)
{
	struct hkv_server *srv = c->srv;
	int argc = c->argc;

	c->argc = 0; /* "all channels" */
	unsubscribe_generic(c, &c->channels, &srv->channels, "unsubscribe", notify);
	unsubscribe_generic(c, &c->patterns, &srv->patterns, "punsubscribe", notify);
	unsubscribe_generic(c, &c->shard_channels, &srv->shard_channels, "sunsubscribe", notify);
	c->argc = argc;
}

static void send_message(struct client *c, const char *pat, size_t plen, const void *ch,
			 size_t chlen, const void *msg, size_t mlen, bool shard)
{
	c->flags |= CL_PUSHING;
	if (pat) {
		add_push(c, 4);
		add_bulk(c, "pmessage", 8);
		add_bulk(c, pat, plen);
	} else {
		add_push(c, 3);
		if (shard)
			add_bulk(c, "smessage", 8);
		else
			add_bulk(c, "message", 7);
	}
	add_bulk(c, ch, chlen);
	add_bulk(c, msg, mlen);
	c->flags &= ~CL_PUSHING;
	client_check_obuf(c);
}

long pubsub_publish(struct hkv_server *srv, const void *ch, size_t chlen, const void *msg,
		    size_t mlen, bool shard)
{
	struct dict_entry *e;
	long receivers = 0;

	e = dict_find(shard ? &srv->shard_channels : &srv->channels, ch, chlen);
	if (e) {
		struct clist *l = e->val;

		for (int i = 0; i < l->n; i++) {
			send_message(l->v[i], NULL, 0, ch, chlen, msg, mlen, shard);
			receivers++;
		}
	}
	if (!shard && dict_size(&srv->patterns)) {
		struct dict_iter it;

		dict_iter_init(&it, &srv->patterns);
		while ((e = dict_iter_next(&it))) {
			struct clist *l = e->val;

			if (!srv_glob_match((char *)e->key, e->klen, ch, chlen, false))
				continue;
			for (int i = 0; i < l->n; i++) {
				send_message(l->v[i], (char *)e->key, e->klen, ch, chlen, msg, mlen,
					     false);
				receivers++;
			}
		}
	}
	srv->st.pubsub_messages += (uint64_t)receivers;
	return receivers;
}

void publish_command(struct client *c)
{
	add_int(c, pubsub_publish(c->srv, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2],
				  false));
}

void spublish_command(struct client *c)
{
	add_int(c, pubsub_publish(c->srv, c->argv[1], c->argvlen[1], c->argv[2], c->argvlen[2],
				  true));
}

static void list_channels(struct client *c, struct dict *d)
{
	const char *pat = c->argc > 2 ? c->argv[2] : NULL;
	size_t plen = c->argc > 2 ? c->argvlen[2] : 0;
	struct dict_iter it;
	struct dict_entry *e;
	size_t pos = add_deferred(c);
	long n = 0;

	dict_iter_init(&it, d);
	while ((e = dict_iter_next(&it))) {
		if (pat && !srv_glob_match(pat, plen, (char *)e->key, e->klen, false))
			continue;
		add_bulk(c, e->key, e->klen);
		n++;
	}
	set_deferred(c, pos, '*', n);
}

void pubsub_channels_command(struct client *c)
{
	if (c->argc > 3) {
		add_err_subcommand(c);
		return;
	}
	list_channels(c, &c->srv->channels);
}

void pubsub_shardchannels_command(struct client *c)
{
	if (c->argc > 3) {
		add_err_subcommand(c);
		return;
	}
	list_channels(c, &c->srv->shard_channels);
}

static void numsub(struct client *c, struct dict *d)
{
	add_map(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		struct dict_entry *e = dict_find(d, c->argv[i], c->argvlen[i]);

		add_bulk(c, c->argv[i], c->argvlen[i]);
		add_int(c, e ? ((struct clist *)e->val)->n : 0);
	}
}

void pubsub_numsub_command(struct client *c)
{
	numsub(c, &c->srv->channels);
}

void pubsub_shardnumsub_command(struct client *c)
{
	numsub(c, &c->srv->shard_channels);
}

void pubsub_numpat_command(struct client *c)
{
	add_int(c, (long long)dict_size(&c->srv->patterns));
}

void pubsub_help_command(struct client *c)
{
	static const char *const help[] = {
		"PUBSUB <subcommand> [<arg> ...]. Subcommands are:",
		"CHANNELS [<pattern>]",
		"    Active channels (with subscribers), optionally only those matching <pattern>.",
		"NUMPAT",
		"    Number of distinct patterns clients are subscribed to.",
		"NUMSUB [<channel> ...]",
		"    Subscriber count of each channel (pattern subscriptions not included).",
		"SHARDCHANNELS [<pattern>]",
		"    Active shard channels, optionally only those matching <pattern>.",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Subscriber count of each shard channel.",
		"HELP",
		"    This text.",
		NULL
	};

	add_help(c, help);
}
