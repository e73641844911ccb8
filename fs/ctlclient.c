// SPDX-License-Identifier: MIT
/*
 * ctlclient.c - hkv/ctlclient.h: one RESP command to a daemon, the reply flattened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkv/ctlclient.h"

struct flat {
	char *buf;
	size_t len, cap;
	int err;
};

static void flat_add(struct flat *f, const void *p, size_t n)
{
	if (f->err)
		return;
	if (f->len + n + 1 > f->cap) {
		size_t cap = (f->len + n + 1) * 2;
		char *b = realloc(f->buf, cap);

		if (!b) {
			f->err = -ENOMEM;
			return;
		}
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	f->buf[f->len] = 0;
}

/* Flatten @v; @nl: inside an array, where every leaf ends with a newline. */
static void flatten(struct flat *f, const struct hkv_resp_value *v, bool nl)
{
	char num[32];
	int n;

	switch (v->type) {
	case HKV_RESP_ARRAY:
	case HKV_RESP_SET:
	case HKV_RESP_MAP:
	case HKV_RESP_PUSH:
	case HKV_RESP_ATTR:
		for (size_t i = 0; i < v->nelem; i++)
			flatten(f, v->elem[i], true);
		return;
	case HKV_RESP_INTEGER:
	case HKV_RESP_BOOL:
		n = snprintf(num, sizeof(num), "%lld\n", v->integer);
		flat_add(f, num, (size_t)n);
		return;
	case HKV_RESP_DOUBLE:
		flat_add(f, v->str, v->len);
		flat_add(f, "\n", 1);
		return;
	case HKV_RESP_NULL:
		break;
	default:
		flat_add(f, v->str, v->len);
		break;
	}
	if (nl)
		flat_add(f, "\n", 1);
}

int hkvfs_ctl_callv(const char *sock, int argc, const void *const *argv, const size_t *lens,
		    struct hkvfs_ctl_reply *reply)
{
	struct hkv_resp_value *v = NULL;
	struct hkv_client c;
	struct flat f = { 0 };
	int rc;

	reply->status = 0;
	reply->data = NULL;
	reply->len = 0;
	if (argc < 1 || argc > HKVFS_CTL_MAXARGS)
		return -EINVAL;
	rc = hkv_client_connect_unix(&c, sock);
	if (rc)
		return rc;
	rc = hkv_client_call(&c, argc, (const char *const *)argv, lens, &v);
	hkv_client_close(&c);
	if (rc)
		return rc;
	flat_add(&f, "", 0);
	flatten(&f, v, false);
	if (f.err) {
		free(f.buf);
		hkv_resp_value_free(v);
		return f.err;
	}
	if ((v->type == HKV_RESP_ERROR || v->type == HKV_RESP_BLOBERR) &&
	    strcmp(v->str, "ERR no such key") == 0)
		reply->status = -ENOENT;
	else if (v->type == HKV_RESP_ERROR || v->type == HKV_RESP_BLOBERR)
		reply->status = -EINVAL;
	else if (v->type == HKV_RESP_NULL)
		reply->status = -ENOENT;
	hkv_resp_value_free(v);
	reply->data = f.buf;
	reply->len = f.len;
	return 0;
}

int hkvfs_ctl_call(const char *sock, int argc, char **argv, FILE *out)
{
	size_t lens[HKVFS_CTL_MAXARGS];
	struct hkvfs_ctl_reply r;
	int i, rc;

	if (argc < 1 || argc > HKVFS_CTL_MAXARGS)
		return -EINVAL;
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	rc = hkvfs_ctl_callv(sock, argc, (const void *const *)argv, lens, &r);
	if (rc) {
		fprintf(stderr, "hkvfs: %s: %s\n", sock, strerror(-rc));
		return rc;
	}
	if (r.status == -EINVAL)
		fprintf(stderr, "%s\n", r.data);
	else if (out)
		fwrite(r.data, 1, r.len, out);
	free(r.data);
	return r.status;
}
