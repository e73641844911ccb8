// SPDX-License-Identifier: MIT
/*
 * ctldir.c - the text of the read-only .hkv/ control files (stats, config, hot), which the
 * daemon's RESP socket (resp.c) serves as HKVFS STATS and HKVFS CONFIG too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_int.h"

/* ---------------------------------------------------------------------------------------- */

size_t hkvfs_stats_format(char *buf, size_t sz)
{
	struct hkvfs *fs = &hkvfs_g;
	struct hkvfs_counters *c = &fs->cnt;
	struct hkv_stats s = { 0 };
	uint64_t lk = c->lookups, miss = c->lookup_miss;
	size_t off = 0;
	int n;

	/* the store's counters, if the backend has them (HKVFS_BE_CAP_STATS) */
	if (hkvfs_be_stats_get(fs->be, &s) == 0) {
		n = snprintf(buf, sz,
			     "keys %" PRIu64 "\nexpires %" PRIu64 "\nindex_bytes %" PRIu64
			     "\nvlog_bytes %" PRIu64 "\nvlog_live %" PRIu64 "\nvlog_dead %" PRIu64
			     "\nsegments %u\nengine_reads %" PRIu64 "\nengine_writes %" PRIu64
			     "\ncommits %" PRIu64 "\nsyncs %" PRIu64 "\ncompactions %" PRIu64
			     "\ncompact_bytes %" PRIu64 "\nexpired %" PRIu64 "\ncrc_errors %" PRIu64
			     "\n",
			     s.keys, s.expires, s.index_bytes, s.vlog_bytes, s.vlog_live,
			     s.vlog_dead, s.segments, s.reads, s.writes, s.commits, s.syncs,
			     s.compactions, s.compact_bytes, s.expired, s.crc_errors);
		if (n < 0)
			return 0;
		off = (size_t)n < sz ? (size_t)n : sz - 1;
	}
	n = snprintf(buf + off, sz - off,
		     "fs_lookups %" PRIu64 "\nfs_lookup_hit_rate %.4f\nfs_getattrs %" PRIu64
		     "\nfs_reads %" PRIu64 "\nfs_read_bytes %" PRIu64 "\nfs_writes %" PRIu64
		     "\nfs_write_bytes %" PRIu64 "\nfs_commits %" PRIu64 "\nfs_creates %" PRIu64
		     "\nfs_unlinks %" PRIu64 "\nfs_renames %" PRIu64 "\nfs_readdirs %" PRIu64
		     "\nfs_dirents %" PRIu64 "\nfs_xattrs %" PRIu64 "\nfs_invalidations %" PRIu64
		     "\nfs_invalidation_errors %" PRIu64 "\nfs_ctl_requests %" PRIu64
		     "\nfs_errors %" PRIu64 "\nfs_fsyncdirs %" PRIu64 "\nfs_flushes %" PRIu64
		     "\nfs_opens %" PRIu64 "\nfs_releases %" PRIu64 "\n",
		     lk, lk ? (double)(lk - miss) / (double)lk : 0.0, (uint64_t)c->getattrs,
		     (uint64_t)c->reads, (uint64_t)c->read_bytes, (uint64_t)c->writes,
		     (uint64_t)c->write_bytes, (uint64_t)c->commits, (uint64_t)c->creates,
		     (uint64_t)c->unlinks, (uint64_t)c->renames, (uint64_t)c->readdirs,
		     (uint64_t)c->dirents, (uint64_t)c->xattrs, (uint64_t)c->invals,
		     (uint64_t)c->inval_errors, (uint64_t)c->ctl_requests, (uint64_t)c->errors,
		     (uint64_t)c->fsyncdirs, (uint64_t)c->flushes, (uint64_t)c->opens,
		     (uint64_t)c->releases);
	if (n < 0)
		return off;
	return off + ((size_t)n < sz - off ? (size_t)n : sz - off - 1);
}

ssize_t hkvfs_ctl_text(int ctl, char **out)
{
	struct hkvfs *fs = &hkvfs_g;
	struct hkvfs_promote_stats ps;
	size_t cap = 16384, n;
	char *buf;
	int r;

	*out = NULL;
	if (ctl == HKVFS_CTL_HOT) {
		if (fs->prom) {
			r = hkvfs_promoter_format(fs->prom, out);
			return r;
		}
		*out = strdup("# reads/s\tkernel\tkey\n");
		return *out ? (ssize_t)strlen(*out) : -ENOMEM;
	}
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (ctl == HKVFS_CTL_STATS) {
		n = hkvfs_stats_format(buf, cap);
		hkvfs_promoter_stats(fs->prom, &ps);
		r = snprintf(buf + n, cap - n,
			     "hot_device %d\nhot_promotions %" PRIu64 "\nhot_stale %" PRIu64
			     "\nhot_demotions %" PRIu64 "\nhot_invalidations %" PRIu64
			     "\nhot_evictions %" PRIu64 "\nhot_cached %" PRIu64 "\n",
			     ps.device, ps.promotions, ps.stale, ps.demotions, ps.invalidations,
			     ps.evictions, ps.cached);
	} else {
		n = hkvfs_opts_format(&fs->opts, buf, cap);
		r = snprintf(buf + n, cap - n, "ns=0x%016" PRIx64 "\n", fs->ns);
	}
	if (r > 0)
		n += (size_t)r < cap - n ? (size_t)r : cap - n - 1;
	*out = buf;
	return (ssize_t)n;
}

