// SPDX-License-Identifier: MIT
/*
 * node.c - the node registry and the per-node connection pools.
 *
 * Registry. Every node address ever seen (seeds, slot map, MOVED/ASK targets) gets one
 * struct rnode, found by host and port under nodes_lock; the array only grows, and nodes are
 * freed by hkv_cluster_close() alone, so a pointer read from the slot map never dangles.
 *
 * Pools. Each node keeps a LIFO stack of idle RESP2 connections (pool_lock, held only to push
 * or pop). A call takes one (or connects a new one: TCP, then AUTH when a password is set),
 * uses it alone with no lock held during I/O, and gives it back only if the exchange ended
 * cleanly; more than opts.pool_idle_max idle ones are closed. An idle connection with anything
 * to read (the server closed it, or restarted) is discarded before use, so a stale connection
 * does not cost a failed attempt (nor count as "sent" for HKV_CLUSTER_ONCE). The tracking
 * connections (RESP3, HELLO 3, named hkv-track) are made here too but owned by track.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"

/* ------------------------------------------------------------------------------------
 * Node registry
 * ------------------------------------------------------------------------------------ */

int cl_parse_addr(const char *s, size_t len, char *host, size_t hostsz, int *port)
{
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	char num[8];
	long p;

	if (len && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (!rb || (size_t)(rb - s) + 1 >= len || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = NULL;
		for (size_t i = len; i > 0; i--) {
			if (s[i - 1] == ':') {
				colon = s + i - 1;
				break;
			}
		}
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostsz)
		return -EINVAL;
	len -= (size_t)(colon + 1 - s);
	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, colon + 1, len);
	num[len] = 0;
	for (size_t i = 0; i < len; i++)
		if (num[i] < '0' || num[i] > '9')
			return -EINVAL;
	p = strtol(num, &end, 10);
	if (p < 1 || p > 65535)
		return -EINVAL;
	for (size_t i = 0; i < hlen; i++)
		if (h[i] == ',' || h[i] == ' ' || h[i] == 0)
			return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	*port = (int)p;
	return 0;
}

struct rnode *cl_node_get(struct hkv_cluster *cl, const char *host, int port)
{
	struct rnode *n = NULL;

	pthread_mutex_lock(&cl->nodes_lock);
	for (int i = 0; i < cl->nnodes; i++) {
		if (cl->nodes[i]->port == port && !strcmp(cl->nodes[i]->host, host)) {
			n = cl->nodes[i];
			goto out_unlock;
		}
	}
	if (cl->nnodes == cl->nodes_cap) {
		int cap = cl->nodes_cap ? cl->nodes_cap * 2 : 8;
		struct rnode **nn = realloc(cl->nodes, (size_t)cap * sizeof(*nn));

		if (!nn)
			goto out_unlock;
		cl->nodes = nn;
		cl->nodes_cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out_unlock;
	n->host = strdup(host);
	if (!n->host) {
		free(n);
		n = NULL;
		goto out_unlock;
	}
	n->port = port;
	snprintf(n->addr, sizeof(n->addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	pthread_mutex_init(&n->pool_lock, NULL);
	cl->nodes[cl->nnodes++] = n;
out_unlock:
	pthread_mutex_unlock(&cl->nodes_lock);
	return n;
}

void cl_node_free(struct rnode *n)
{
	for (int i = 0; i < n->nidle; i++)
		rc_close(n->idle[i]);
	free(n->idle);
	rc_close(n->tconn);
	pthread_mutex_destroy(&n->pool_lock);
	free(n->host);
	free(n);
}

/* ------------------------------------------------------------------------------------
 * Connections and pools
 * ------------------------------------------------------------------------------------ */

bool cl_reply_is_error(const struct hkv_resp_value *v)
{
	return v->type == HKV_RESP_ERROR || v->type == HKV_RESP_BLOBERR;
}

int cl_connect(struct hkv_cluster *cl, struct rnode *node, bool resp3, int64_t deadline,
	       struct rconn **out)
{
	int64_t cdl = rc_now_ms() + cl->o.connect_timeout_ms;
	const char *argv[8];
	size_t argvlen[8];
	struct hkv_resp_value *r = NULL;
	struct rconn *c;
	int argc = 0, rc;

	if (cdl > deadline)
		cdl = deadline;
	rc = rc_open(&c, node->host, node->port, cdl);
	if (rc)
		return rc;
	if (resp3) {
		argv[argc++] = "HELLO";
		argv[argc++] = "3";
		if (cl->o.password) {
			argv[argc++] = "AUTH";
			argv[argc++] = cl->o.user ? cl->o.user : "default";
			argv[argc++] = cl->o.password;
		}
		/* named, so that CLIENT LIST shows which connections carry invalidations */
		argv[argc++] = "SETNAME";
		argv[argc++] = "hkv-track";
	} else if (cl->o.password) {
		argv[argc++] = "AUTH";
		if (cl->o.user)
			argv[argc++] = cl->o.user;
		argv[argc++] = cl->o.password;
	}
	if (argc) {
		for (int i = 0; i < argc; i++)
			argvlen[i] = strlen(argv[i]);
		rc = rc_call(c, argc, argv, argvlen, &r, cdl);
		if (rc)
			goto out_close;
		if (cl_reply_is_error(r)) {
			cl_log(cl, HKV_CLUSTER_LOG_ERR, "%s: %s refused: %s", node->addr,
			       resp3 ? "HELLO 3" : "AUTH", r->str);
			rc = (!strncmp(r->str, "WRONGPASS", 9) || !strncmp(r->str, "NOAUTH", 6) ||
			      strstr(r->str, "AUTH"))
				     ? -EACCES
				     : -EIO;
			goto out_close;
		}
		hkv_resp_value_free(r);
	}
	*out = c;
	return 0;

out_close:
	hkv_resp_value_free(r);
	rc_close(c);
	return rc;
}

int cl_pool_get(struct hkv_cluster *cl, struct rnode *node, int64_t deadline,
		    struct rconn **out)
{
	for (;;) {
		struct rconn *c = NULL;

		pthread_mutex_lock(&node->pool_lock);
		if (node->nidle)
			c = node->idle[--node->nidle];
		pthread_mutex_unlock(&node->pool_lock);
		if (!c)
			return cl_connect(cl, node, false, deadline, out);
		if (!rc_stale(c)) {
			*out = c;
			return 0;
		}
		rc_close(c);
	}
}

void cl_pool_put(struct hkv_cluster *cl, struct rnode *node, struct rconn *c)
{
	pthread_mutex_lock(&node->pool_lock);
	if (node->nidle < cl->o.pool_idle_max) {
		if (!node->idle) {
			node->idle = calloc((size_t)cl->o.pool_idle_max, sizeof(*node->idle));
			if (!node->idle)
				goto out_close;
		}
		node->idle[node->nidle++] = c;
		c = NULL;
	}
out_close:
	pthread_mutex_unlock(&node->pool_lock);
	rc_close(c);
}

