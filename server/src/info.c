// SPDX-License-Identifier: MIT
/*
 * info.c - what the server says about itself: INFO, the error statistics, the slow log
 * (SLOWLOG), LATENCY and the MEMORY commands other than USAGE.
 *
 * INFO's sections and field names are Redis 7.0's (clients and monitoring tools parse them).
 * Fields about machinery hkvfs does not have (RDB, replication, defragmentation) are present
 * with the values Redis reports when that machinery is idle; persistence is reported as an
 * always-on append-only log, which is what the engine's value log is. Fields of hkvfs's own
 * start with "hkv_" (engine statistics: index and log bytes, checkpoints, compactions).
 *
 * Sections: server clients memory persistence stats replication cpu modules errorstats
 * cluster keyspace are the default set; "all" adds commandstats and latencystats;
 * "everything" is all of them. Names are case-insensitive; several may be given.
 *
 * The slow log keeps the last slowlog-max-len commands that ran at least
 * slowlog-log-slower-than microseconds (a negative threshold disables it, 0 logs all), each
 * with its first 32 arguments cut to 128 bytes, as Redis.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "server_int.h"

/* ---------------------------------------------------------------------------------------
 * Counters
 * --------------------------------------------------------------------------------------- */

#define ERRORSTATS_MAX 128

void stat_error(struct hkv_server *srv, const char *msg)
{
	char code[64];
	size_t n = 0;
	struct dict_entry *e;
	bool created;

	srv->st.total_error_replies++;
	if (msg[0] == '-') {
		msg++;
		while (msg[n] && msg[n] != ' ' && n < sizeof(code) - 1) {
			code[n] = msg[n];
			n++;
		}
	} else {
		memcpy(code, "ERR", 3);
		n = 3;
	}
	code[n] = 0;
	if (dict_size(&srv->st.errorstats) >= ERRORSTATS_MAX &&
	    !dict_find(&srv->st.errorstats, code, n))
		return;
	e = dict_add(&srv->st.errorstats, code, n, NULL, &created);
	if (e)
		e->val = (void *)((uintptr_t)e->val + 1);
}

void stats_reset(struct hkv_server *srv)
{
	struct dict errs = srv->st.errorstats;

	dict_release(&errs, NULL);
	memset(&srv->st, 0, sizeof(srv->st));
	dict_init(&srv->st.errorstats);
	srv->stat_peak_mem = 0;
	cmd_reset_stats(srv);
	memset(srv->ops_samples, 0, sizeof(srv->ops_samples));
}

/* Called by the periodic task: a sample of the command and byte counters per 100 ms. */
void stats_cron(struct hkv_server *srv)
{
	int64_t now = srv_now_ms();
	struct ops_sample *s;

	if (now - srv->ops_last_ms < 100)
		return;
	srv->ops_last_ms = now;
	s = &srv->ops_samples[srv->ops_idx++ % OPS_SAMPLES];
	s->ms = now;
	s->commands = srv->st.commands;
	s->net_in = srv->st.net_in;
	s->net_out = srv->st.net_out;
	if (srv->maxmemory)
		srv_mem_sample(srv);
}

/* Mean rate of a counter over the kept samples, per second. */
static double rate(struct hkv_server *srv, size_t off)
{
	const struct ops_sample *a = NULL, *b = NULL;

	for (int i = 0; i < OPS_SAMPLES; i++) {
		const struct ops_sample *s = &srv->ops_samples[i];

		if (!s->ms)
			continue;
		if (!a || s->ms < a->ms)
			a = s;
		if (!b || s->ms > b->ms)
			b = s;
	}
	if (!a || a == b || b->ms == a->ms)
		return 0;
	return (double)(*(const uint64_t *)((const char *)b + off) -
			*(const uint64_t *)((const char *)a + off)) *
	       1000.0 / (double)(b->ms - a->ms);
}

uint64_t mem_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * The heap in use as the C library's allocator reports it; an allocator that reports nothing
 * (a sanitizer's) is measured by the resident set instead, so maxmemory still means something.
 */
uint64_t mem_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	uint64_t used = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;

	return used ? used : mem_rss();
}

/**
 * srv_mem_sample() - measure the heap (mem_used()) for the maxmemory checks and the peak.
 * @srv: the server.
 *
 * mem_used() walks the allocator's free lists with each arena locked: about a millisecond in
 * the filesystem daemon, whose worker threads have an arena each, and a stall for any thread
 * allocating meanwhile. Far too dear for every command, so the checks read the last sample
 * instead (srv_over_maxmemory()), which is taken only while maxmemory is set: by the periodic
 * task (every 100 ms), when maxmemory is set, and by eviction between its batches of
 * deletions. INFO and MEMORY STATS measure afresh. A command can therefore pass the check up
 * to one period after the heap went over the limit; the data itself lives on disk, so what a
 * period can add to the heap is client buffers, bounded by their own limits.
 *
 * Return: the heap in bytes; @srv->mem_sampled and the peak are updated.
 */
uint64_t srv_mem_sample(struct hkv_server *srv)
{
	uint64_t m = mem_used();

	srv->mem_sampled = m;
	if (m > srv->stat_peak_mem)
		srv->stat_peak_mem = m;
	return m;
}

/**
 * srv_over_maxmemory() - whether maxmemory is set and the last sample of the heap is over it.
 * @srv: the server.
 */
bool srv_over_maxmemory(const struct hkv_server *srv)
{
	return srv->maxmemory && srv->mem_sampled > srv->maxmemory;
}

static uint64_t total_system_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
}

static void human_bytes(char *buf, size_t size, uint64_t n)
{
	double d = (double)n;

	if (n < 1024)
		snprintf(buf, size, "%lluB", (unsigned long long)n);
	else if (n < 1024ull * 1024)
		snprintf(buf, size, "%.2fK", d / 1024);
	else if (n < 1024ull * 1024 * 1024)
		snprintf(buf, size, "%.2fM", d / (1024 * 1024));
	else if (n < 1024ull * 1024 * 1024 * 1024)
		snprintf(buf, size, "%.2fG", d / (1024.0 * 1024 * 1024));
	else
		snprintf(buf, size, "%.2fT", d / (1024.0 * 1024 * 1024 * 1024));
}

/* ---------------------------------------------------------------------------------------
 * INFO
 * --------------------------------------------------------------------------------------- */

struct ibuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void ib_printf(struct ibuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ib_printf(struct ibuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

enum {
	SEC_SERVER = 1 << 0,
	SEC_CLIENTS = 1 << 1,
	SEC_MEMORY = 1 << 2,
	SEC_PERSISTENCE = 1 << 3,
	SEC_STATS = 1 << 4,
	SEC_REPLICATION = 1 << 5,
	SEC_CPU = 1 << 6,
	SEC_MODULES = 1 << 7,
	SEC_ERRORSTATS = 1 << 8,
	SEC_CLUSTER = 1 << 9,
	SEC_KEYSPACE = 1 << 10,
	SEC_COMMANDSTATS = 1 << 11,
	SEC_LATENCYSTATS = 1 << 12,
};

#define SEC_DEFAULT                                                                            \
	(SEC_SERVER | SEC_CLIENTS | SEC_MEMORY | SEC_PERSISTENCE | SEC_STATS | SEC_REPLICATION | \
	 SEC_CPU | SEC_MODULES | SEC_ERRORSTATS | SEC_CLUSTER | SEC_KEYSPACE)
#define SEC_ALL (SEC_DEFAULT | SEC_COMMANDSTATS | SEC_LATENCYSTATS)

static const struct {
	const char *name;
	unsigned bit;
} sections[] = {
	{ "server", SEC_SERVER },	  { "clients", SEC_CLIENTS },
	{ "memory", SEC_MEMORY },	  { "persistence", SEC_PERSISTENCE },
	{ "stats", SEC_STATS },		  { "replication", SEC_REPLICATION },
	{ "cpu", SEC_CPU },		  { "modules", SEC_MODULES },
	{ "errorstats", SEC_ERRORSTATS }, { "cluster", SEC_CLUSTER },
	{ "keyspace", SEC_KEYSPACE },	  { "commandstats", SEC_COMMANDSTATS },
	{ "latencystats", SEC_LATENCYSTATS },
};

static void section_header(struct ibuf *b, const char *name)
{
	if (b->len)
		ib_printf(b, "\r\n");
	ib_printf(b, "# %s\r\n", name);
}

static void info_server(struct hkv_server *srv, struct ibuf *b)
{
	struct utsname un;
	int64_t now_us = srv_now_us();
	int64_t up = (now_us / 1000 - srv->start_ms) / 1000;
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	uname(&un);
	section_header(b, "Server");
	ib_printf(b,
		  "redis_version:%s\r\n"
		  "redis_git_sha1:00000000\r\n"
		  "redis_git_dirty:0\r\n"
		  "redis_build_id:0\r\n"
		  "redis_mode:standalone\r\n"
		  "os:%s %s %s\r\n"
		  "arch_bits:%d\r\n"
		  "monotonic_clock:POSIX clock_gettime\r\n"
		  "multiplexing_api:epoll\r\n"
		  "atomicvar_api:c11-builtin\r\n"
		  "gcc_version:%d.%d.%d\r\n"
		  "process_id:%ld\r\n"
		  "process_supervised:no\r\n"
		  "run_id:%s\r\n"
		  "tcp_port:%d\r\n"
		  "server_time_usec:%lld\r\n"
		  "uptime_in_seconds:%lld\r\n"
		  "uptime_in_days:%lld\r\n"
		  "hz:%u\r\n"
		  "configured_hz:%u\r\n"
		  "lru_clock:%lld\r\n"
		  "executable:%s\r\n"
		  "config_file:\r\n"
		  "io_threads_active:0\r\n"
		  "hkv_server_version:%s\r\n"
		  "hkv_dir:%s\r\n",
		  HKV_SERVER_REDIS_VERSION, un.sysname, un.release, un.machine,
		  (int)(sizeof(long) * 8),
#ifdef __GNUC__
		  __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
		  0, 0, 0,
#endif
		  (long)getpid(), srv->run_id, srv->cfg.port, (long long)now_us, (long long)up,
		  (long long)(up / 86400), srv->cfg.hz, srv->cfg.hz,
		  (long long)((now_us / 1000000) & ((1 << 24) - 1)), exe, HKV_SERVER_VERSION,
		  srv->cfg.dir ? srv->cfg.dir : "");
}

static void info_clients(struct hkv_server *srv, struct ibuf *b)
{
	uint64_t max_in = 0, max_out = 0, pubsub = 0;

	for (struct client *c = srv->clients; c; c = c->next) {
		if (c->qcap > max_in)
			max_in = c->qcap;
		if (c->out.cap > max_out)
			max_out = c->out.cap;
		if (c->flags & CL_PUBSUB)
			pubsub++;
	}
	section_header(b, "Clients");
	ib_printf(b,
		  "connected_clients:%u\r\n"
		  "cluster_connections:0\r\n"
		  "maxclients:%u\r\n"
		  "client_recent_max_input_buffer:%llu\r\n"
		  "client_recent_max_output_buffer:%llu\r\n"
		  "blocked_clients:%u\r\n"
		  "tracking_clients:0\r\n"
		  "clients_in_timeout_table:%u\r\n"
		  "pubsub_clients:%llu\r\n",
		  srv->nclients, srv->cfg.maxclients, (unsigned long long)max_in,
		  (unsigned long long)max_out, srv->nblocked, srv->nblocked,
		  (unsigned long long)pubsub);
}

static void info_memory(struct hkv_server *srv, struct ibuf *b)
{
	uint64_t used = srv_mem_sample(srv), rss = mem_rss(), sys = total_system_memory();
	uint64_t peak = srv->stat_peak_mem;
	struct hkv_stats st = { 0 };
	char h1[32], h2[32], h3[32], h4[32], h5[32];

	hkv_stats_get(srv->db, &st);
	human_bytes(h1, sizeof(h1), used);
	human_bytes(h2, sizeof(h2), rss);
	human_bytes(h3, sizeof(h3), peak);
	human_bytes(h4, sizeof(h4), sys);
	human_bytes(h5, sizeof(h5), srv->maxmemory);
	section_header(b, "Memory");
	ib_printf(b,
		  "used_memory:%llu\r\n"
		  "used_memory_human:%s\r\n"
		  "used_memory_rss:%llu\r\n"
		  "used_memory_rss_human:%s\r\n"
		  "used_memory_peak:%llu\r\n"
		  "used_memory_peak_human:%s\r\n"
		  "used_memory_peak_perc:%.2f%%\r\n"
		  "used_memory_overhead:%llu\r\n"
		  "used_memory_startup:0\r\n"
		  "used_memory_dataset:%llu\r\n"
		  "total_system_memory:%llu\r\n"
		  "total_system_memory_human:%s\r\n"
		  "used_memory_lua:0\r\n"
		  "used_memory_scripts:0\r\n"
		  "number_of_cached_scripts:0\r\n"
		  "maxmemory:%llu\r\n"
		  "maxmemory_human:%s\r\n"
		  "maxmemory_policy:%s\r\n"
		  "mem_fragmentation_ratio:%.2f\r\n"
		  "mem_allocator:libc\r\n"
		  "lazyfree_pending_objects:0\r\n"
		  "lazyfreed_objects:0\r\n"
		  "hkv_memtable_bytes:%llu\r\n"
		  "hkv_index_bytes:%llu\r\n"
		  "hkv_vlog_bytes:%llu\r\n"
		  "hkv_vlog_live_bytes:%llu\r\n"
		  "hkv_vlog_dead_bytes:%llu\r\n"
		  "hkv_vlog_segments:%u\r\n",
		  (unsigned long long)used, h1, (unsigned long long)rss, h2,
		  (unsigned long long)peak, h3, peak ? (double)used * 100.0 / (double)peak : 0.0,
		  (unsigned long long)(used > st.mem_bytes ? used - st.mem_bytes : 0),
		  (unsigned long long)st.mem_bytes, (unsigned long long)sys, h4,
		  (unsigned long long)srv->maxmemory, h5, config_get_str(srv, "maxmemory-policy"),
		  used ? (double)rss / (double)used : 0.0,
		  (unsigned long long)st.mem_bytes, (unsigned long long)st.index_bytes,
		  (unsigned long long)st.vlog_bytes, (unsigned long long)st.vlog_live,
		  (unsigned long long)st.vlog_dead, st.segments);
}

static void info_persistence(struct hkv_server *srv, struct ibuf *b)
{
	struct hkv_stats st = { 0 };
	const char *status = srv->flush_error ? "err" : "ok";

	hkv_stats_get(srv->db, &st);
	section_header(b, "Persistence");
	ib_printf(b,
		  "loading:0\r\n"
		  "async_loading:0\r\n"
		  "current_cow_peak:0\r\n"
		  "current_cow_size:0\r\n"
		  "current_cow_size_age:0\r\n"
		  "current_fork_perc:0.00\r\n"
		  "current_save_keys_processed:0\r\n"
		  "current_save_keys_total:0\r\n"
		  "rdb_changes_since_last_save:%llu\r\n"
		  "rdb_bgsave_in_progress:0\r\n"
		  "rdb_last_save_time:%lld\r\n"
		  "rdb_last_bgsave_status:%s\r\n"
		  "rdb_last_bgsave_time_sec:-1\r\n"
		  "rdb_current_bgsave_time_sec:-1\r\n"
		  "rdb_saves:%llu\r\n"
		  "rdb_last_cow_size:0\r\n"
		  "rdb_last_load_keys_expired:0\r\n"
		  "rdb_last_load_keys_loaded:0\r\n"
		  "aof_enabled:1\r\n"
		  "aof_rewrite_in_progress:0\r\n"
		  "aof_rewrite_scheduled:0\r\n"
		  "aof_last_rewrite_time_sec:-1\r\n"
		  "aof_current_rewrite_time_sec:-1\r\n"
		  "aof_last_bgrewrite_status:ok\r\n"
		  "aof_rewrites:0\r\n"
		  "aof_rewrites_consecutive_failures:0\r\n"
		  "aof_last_write_status:%s\r\n"
		  "aof_last_cow_size:0\r\n"
		  "module_fork_in_progress:0\r\n"
		  "module_fork_last_cow_size:0\r\n"
		  "aof_current_size:%llu\r\n"
		  "aof_base_size:0\r\n"
		  "aof_pending_rewrite:0\r\n"
		  "aof_buffer_length:0\r\n"
		  "aof_pending_bio_fsync:0\r\n"
		  "aof_delayed_fsync:0\r\n"
		  "hkv_syncs:%llu\r\n"
		  "hkv_group_flushes:%llu\r\n"
		  "hkv_checkpoints:%llu\r\n"
		  "hkv_compactions:%llu\r\n"
		  "hkv_compact_bytes:%llu\r\n"
		  "hkv_crc_errors:%llu\r\n",
		  (unsigned long long)srv->dirty_since_save, (long long)(srv->lastsave_ms / 1000),
		  status, (unsigned long long)srv->saves, status,
		  (unsigned long long)st.vlog_bytes, (unsigned long long)st.syncs,
		  (unsigned long long)srv->st.flushes, (unsigned long long)st.checkpoints,
		  (unsigned long long)st.compactions, (unsigned long long)st.compact_bytes,
		  (unsigned long long)st.crc_errors);
}

static void info_stats(struct hkv_server *srv, struct ibuf *b)
{
	struct srv_stats *s = &srv->st;

	section_header(b, "Stats");
	ib_printf(b,
		  "total_connections_received:%llu\r\n"
		  "total_commands_processed:%llu\r\n"
		  "instantaneous_ops_per_sec:%lld\r\n"
		  "total_net_input_bytes:%llu\r\n"
		  "total_net_output_bytes:%llu\r\n"
		  "total_net_repl_input_bytes:0\r\n"
		  "total_net_repl_output_bytes:0\r\n"
		  "instantaneous_input_kbps:%.2f\r\n"
		  "instantaneous_output_kbps:%.2f\r\n"
		  "instantaneous_input_repl_kbps:0.00\r\n"
		  "instantaneous_output_repl_kbps:0.00\r\n"
		  "rejected_connections:%llu\r\n"
		  "sync_full:0\r\n"
		  "sync_partial_ok:0\r\n"
		  "sync_partial_err:0\r\n"
		  "expired_keys:%llu\r\n"
		  "expired_stale_perc:0.00\r\n"
		  "expired_time_cap_reached_count:0\r\n"
		  "expire_cycle_cpu_milliseconds:0\r\n"
		  "evicted_keys:%llu\r\n"
		  "evicted_clients:%llu\r\n"
		  "total_eviction_exceeded_time:0\r\n"
		  "current_eviction_exceeded_time:0\r\n"
		  "keyspace_hits:%llu\r\n"
		  "keyspace_misses:%llu\r\n"
		  "pubsub_channels:%zu\r\n"
		  "pubsub_patterns:%zu\r\n"
		  "pubsubshard_channels:%zu\r\n"
		  "latest_fork_usec:0\r\n"
		  "total_forks:0\r\n"
		  "migrate_cached_sockets:0\r\n"
		  "slave_expires_tracked_keys:0\r\n"
		  "active_defrag_hits:0\r\n"
		  "active_defrag_misses:0\r\n"
		  "active_defrag_key_hits:0\r\n"
		  "active_defrag_key_misses:0\r\n"
		  "total_active_defrag_time:0\r\n"
		  "current_active_defrag_time:0\r\n"
		  "tracking_total_keys:0\r\n"
		  "tracking_total_items:0\r\n"
		  "tracking_total_prefixes:0\r\n"
		  "unexpected_error_replies:%llu\r\n"
		  "total_error_replies:%llu\r\n"
		  "dump_payload_sanitizations:0\r\n"
		  "total_reads_processed:%llu\r\n"
		  "total_writes_processed:%llu\r\n"
		  "io_threaded_reads_processed:0\r\n"
		  "io_threaded_writes_processed:0\r\n"
		  "reply_buffer_shrinks:0\r\n"
		  "reply_buffer_expands:0\r\n"
		  "busy_polls:%llu\r\n"
		  "busy_poll_hits:%llu\r\n",
		  (unsigned long long)s->connections, (unsigned long long)s->commands,
		  (long long)(rate(srv, offsetof(struct ops_sample, commands)) + 0.5),
		  (unsigned long long)s->net_in, (unsigned long long)s->net_out,
		  rate(srv, offsetof(struct ops_sample, net_in)) / 1024,
		  rate(srv, offsetof(struct ops_sample, net_out)) / 1024,
		  (unsigned long long)s->rejected_conn, (unsigned long long)s->expired_keys,
		  (unsigned long long)s->evicted_keys, (unsigned long long)s->evicted_clients,
		  (unsigned long long)s->keyspace_hits,
		  (unsigned long long)s->keyspace_misses, dict_size(&srv->channels),
		  dict_size(&srv->patterns), dict_size(&srv->shard_channels),
		  (unsigned long long)s->unexpected_error_replies,
		  (unsigned long long)s->total_error_replies, (unsigned long long)s->reads,
		  (unsigned long long)s->writes, (unsigned long long)s->busy_polls,
		  (unsigned long long)s->busy_poll_hits);
}

static void info_replication(struct hkv_server *srv, struct ibuf *b)
{
	section_header(b, "Replication");
	ib_printf(b,
		  "role:master\r\n"
		  "connected_slaves:0\r\n"
		  "master_failover_state:no-failover\r\n"
		  "master_replid:%s\r\n"
		  "master_replid2:0000000000000000000000000000000000000000\r\n"
		  "master_repl_offset:0\r\n"
		  "second_repl_offset:-1\r\n"
		  "repl_backlog_active:0\r\n"
		  "repl_backlog_size:1048576\r\n"
		  "repl_backlog_first_byte_offset:0\r\n"
		  "repl_backlog_histlen:0\r\n",
		  srv->run_id);
}

static double tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void info_cpu(struct hkv_server *srv, struct ibuf *b)
{
	struct rusage self, children, thread;

	(void)srv;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	getrusage(RUSAGE_THREAD, &thread);
	section_header(b, "CPU");
	ib_printf(b,
		  "used_cpu_sys:%.6f\r\n"
		  "used_cpu_user:%.6f\r\n"
		  "used_cpu_sys_children:%.6f\r\n"
		  "used_cpu_user_children:%.6f\r\n"
		  "used_cpu_sys_main_thread:%.6f\r\n"
		  "used_cpu_user_main_thread:%.6f\r\n",
		  tv_sec(self.ru_stime), tv_sec(self.ru_utime), tv_sec(children.ru_stime),
		  tv_sec(children.ru_utime), tv_sec(thread.ru_stime), tv_sec(thread.ru_utime));
}

static void info_errorstats(struct hkv_server *srv, struct ibuf *b)
{
	struct dict_iter it;
	struct dict_entry *e;

	section_header(b, "Errorstats");
	dict_iter_init(&it, &srv->st.errorstats);
	while ((e = dict_iter_next(&it)))
		ib_printf(b, "errorstat_%.*s:count=%llu\r\n", (int)e->klen, (const char *)e->key,
			  (unsigned long long)(uintptr_t)e->val);
}

static void cmdstat_one(struct cmd *cmd, void *arg)
{
	struct ibuf *b = arg;

	if (cmd->sub) {
		for (struct cmd *s = cmd->sub; s->name; s++)
			cmdstat_one(s, arg);
		return;
	}
	if (!cmd->calls && !cmd->rejected && !cmd->failed)
		return;
	ib_printf(b,
		  "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
		  "failed_calls=%llu\r\n",
		  cmd->fullname, (unsigned long long)cmd->calls, (unsigned long long)cmd->usec,
		  cmd->calls ? (double)cmd->usec / (double)cmd->calls : 0.0,
		  (unsigned long long)cmd->rejected, (unsigned long long)cmd->failed);
}

static void info_keyspace(struct hkv_server *srv, struct ibuf *b)
{
	struct hkv_stats st = { 0 };

	section_header(b, "Keyspace");
	if (!hkv_stats_get(srv->db, &st) && st.keys)
		ib_printf(b, "db0:keys=%llu,expires=%llu,avg_ttl=0\r\n",
			  (unsigned long long)st.keys, (unsigned long long)st.expires);
}

static void reset_cmd_stats(struct cmd *cmd, void *arg)
{
	(void)arg;
	cmd->calls = cmd->usec = cmd->rejected = cmd->failed = 0;
	if (cmd->sub)
		for (struct cmd *s = cmd->sub; s->name; s++)
			reset_cmd_stats(s, NULL);
}

void cmd_reset_stats(struct hkv_server *srv)
{
	cmd_foreach(srv, reset_cmd_stats, NULL);
}

void info_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	struct ibuf b = { 0 };
	unsigned want = 0;

	if (c->argc == 1)
		want = SEC_DEFAULT;
	for (int i = 1; i < c->argc; i++) {
		const char *s = c->argv[i];

		if (!strcasecmp(s, "default")) {
			want |= SEC_DEFAULT;
		} else if (!strcasecmp(s, "all") || !strcasecmp(s, "everything")) {
			want |= SEC_ALL;
		} else {
			for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
				if (!strcasecmp(s, sections[k].name))
					want |= sections[k].bit;
		}
	}
	if (want & SEC_SERVER)
		info_server(srv, &b);
	if (want & SEC_CLIENTS)
		info_clients(srv, &b);
	if (want & SEC_MEMORY)
		info_memory(srv, &b);
	if (want & SEC_PERSISTENCE)
		info_persistence(srv, &b);
	if (want & SEC_STATS)
		info_stats(srv, &b);
	if (want & SEC_REPLICATION)
		info_replication(srv, &b);
	if (want & SEC_CPU)
		info_cpu(srv, &b);
	if (want & SEC_MODULES)
		section_header(&b, "Modules");
	if (want & SEC_COMMANDSTATS) {
		section_header(&b, "Commandstats");
		cmd_foreach(srv, cmdstat_one, &b);
	}
	if (want & SEC_ERRORSTATS)
		info_errorstats(srv, &b);
	if (want & SEC_LATENCYSTATS)
		section_header(&b, "Latencystats");
	if (want & SEC_CLUSTER) {
		section_header(&b, "Cluster");
		ib_printf(&b, "cluster_enabled:0\r\n");
	}
	if (want & SEC_KEYSPACE)
		info_keyspace(srv, &b);
	if (b.oom)
		add_error(c, "-OOM out of memory");
	else
		add_verbatim(c, b.p ? b.p : "", b.len);
	free(b.p);
}

/* ---------------------------------------------------------------------------------------
 * SLOWLOG
 * --------------------------------------------------------------------------------------- */

#define SLOWLOG_ARGS 32
#define SLOWLOG_ARGLEN 128

struct slowlog_entry {
	struct slowlog_entry *next; /* older */
	uint64_t id;
	int64_t time;
	int64_t duration;
	int argc;
	char **argv;
	size_t *argvlen;
	char *peer;
	char *name;
};

static void slowlog_entry_free(struct slowlog_entry *e)
{
	for (int i = 0; i < e->argc; i++)
		free(e->argv[i]);
	free(e->argv);
	free(e->argvlen);
	free(e->peer);
	free(e->name);
	free(e);
}

void slowlog_trim(struct hkv_server *srv)
{
	struct slowlog_entry **pp = (struct slowlog_entry **)&srv->slowlog;
	long long n = 0;

	while (*pp && n < srv->slowlog_max_len) {
		pp = &(*pp)->next;
		n++;
	}
	while (*pp) {
		struct slowlog_entry *e = *pp;

		*pp = e->next;
		slowlog_entry_free(e);
		srv->slowlog_len--;
	}
}

static char *arg_copy(const char *s, size_t len, size_t *outlen)
{
	char *p;

	if (len > SLOWLOG_ARGLEN) {
		char tail[64];
		int n = snprintf(tail, sizeof(tail), "... (%zu more bytes)", len - SLOWLOG_ARGLEN);

		p = malloc(SLOWLOG_ARGLEN + (size_t)n + 1);
		if (!p)
			return NULL;
		memcpy(p, s, SLOWLOG_ARGLEN);
		memcpy(p + SLOWLOG_ARGLEN, tail, (size_t)n + 1);
		*outlen = SLOWLOG_ARGLEN + (size_t)n;
		return p;
	}
	*outlen = len;
	return xstrndup(s, len);
}

void slowlog_push(struct client *c, int64_t duration_us)
{
	struct hkv_server *srv = c->srv;
	struct slowlog_entry *e;
	int argc;

	if (srv->slowlog_slower_than < 0 || duration_us < srv->slowlog_slower_than ||
	    !srv->slowlog_max_len)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	argc = c->argc > SLOWLOG_ARGS ? SLOWLOG_ARGS : c->argc;
	e->argv = calloc((size_t)argc, sizeof(char *));
	e->argvlen = calloc((size_t)argc, sizeof(size_t));
	e->peer = strdup(c->addr);
	e->name = strdup(c->name ? c->name : "");
	if (!e->argv || !e->argvlen || !e->peer || !e->name)
		goto oom;
	for (int i = 0; i < argc; i++) {
		if (argc != c->argc && i == argc - 1) {
			char more[64];

			snprintf(more, sizeof(more), "... (%d more arguments)", c->argc - argc + 1);
			e->argv[i] = strdup(more);
			e->argvlen[i] = strlen(more);
		} else {
			e->argv[i] = arg_copy(c->argv[i], c->argvlen[i], &e->argvlen[i]);
		}
		if (!e->argv[i])
			goto oom;
		e->argc = i + 1;
	}
	e->id = srv->slowlog_next_id++;
	e->time = srv_now_ms() / 1000;
	e->duration = duration_us;
	e->next = srv->slowlog;
	srv->slowlog = e;
	srv->slowlog_len++;
	slowlog_trim(srv);
	return;
oom:
	slowlog_entry_free(e);
}

void slowlog_free(struct hkv_server *srv)
{
	long long keep = srv->slowlog_max_len;

	srv->slowlog_max_len = 0;
	slowlog_trim(srv);
	srv->slowlog_max_len = keep;
}

void slowlog_get_command(struct client *c)
{
	long long count = 10, n = 0;
	struct slowlog_entry *e;

	if (c->argc > 3) {
		add_err_subcommand(c);
		return;
	}
	if (c->argc == 3) {
		if (!str2ll(c->argv[2], c->argvlen[2], &count) || count < -1) {
			add_error(c, "count should be greater than or equal to -1");
			return;
		}
		if (count == -1)
			count = c->srv->slowlog_len;
	}
	for (e = c->srv->slowlog; e && n < count; e = e->next)
		n++;
	add_array(c, n);
	for (e = c->srv->slowlog; e && n > 0; e = e->next, n--) {
		add_array(c, 6);
		add_int(c, (long long)e->id);
		add_int(c, e->time);
		add_int(c, e->duration);
		add_array(c, e->argc);
		for (int i = 0; i < e->argc; i++)
			add_bulk(c, e->argv[i], e->argvlen[i]);
		add_bulk_str(c, e->peer);
		add_bulk_str(c, e->name);
	}
}

void slowlog_len_command(struct client *c)
{
	add_int(c, c->srv->slowlog_len);
}

void slowlog_reset_command(struct client *c)
{
	slowlog_free(c->srv);
	add_ok(c);
}

void slowlog_help_command(struct client *c)
{
	static const char *const help[] = {
		"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}

/* ---------------------------------------------------------------------------------------
 * LATENCY: hkv-server does not sample latency events (latency-monitor-threshold is
 * accepted and stays without effect), so there is never an event to report.
 * --------------------------------------------------------------------------------------- */

void latency_latest_command(struct client *c)
{
	add_array(c, 0);
}

void latency_reset_command(struct client *c)
{
	add_int(c, 0);
}

void latency_help_command(struct client *c)
{
	static const char *const help[] = {
		"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}

/* ---------------------------------------------------------------------------------------
 * MEMORY (USAGE is in keyspace.c)
 * --------------------------------------------------------------------------------------- */

void memory_stats_command(struct client *c)
{
	struct hkv_server *srv = c->srv;
	uint64_t used = srv_mem_sample(srv), rss = mem_rss(), clients = 0;
	struct hkv_stats st = { 0 };

	hkv_stats_get(srv->db, &st);
	for (struct client *cl = srv->clients; cl; cl = cl->next)
		clients += sizeof(*cl) + cl->qcap + cl->out.cap;
	add_map(c, 9);
	add_bulk_str(c, "peak.allocated");
	add_int(c, (long long)srv->stat_peak_mem);
	add_bulk_str(c, "total.allocated");
	add_int(c, (long long)used);
	add_bulk_str(c, "clients.normal");
	add_int(c, (long long)clients);
	add_bulk_str(c, "keys.count");
	add_int(c, (long long)st.keys);
	add_bulk_str(c, "dataset.bytes");
	add_int(c, (long long)st.mem_bytes);
	add_bulk_str(c, "rss-bytes");
	add_int(c, (long long)rss);
	add_bulk_str(c, "hkv.index.bytes");
	add_int(c, (long long)st.index_bytes);
	add_bulk_str(c, "hkv.vlog.bytes");
	add_int(c, (long long)st.vlog_bytes);
	add_bulk_str(c, "hkv.memtable.bytes");
	add_int(c, (long long)st.mem_bytes);
}

void memory_doctor_command(struct client *c)
{
	struct hkv_stats st = { 0 };
	char msg[512];

	hkv_stats_get(c->srv->db, &st);
	if (st.vlog_bytes && st.vlog_dead * 2 > st.vlog_bytes)
		snprintf(msg, sizeof(msg),
			 "More than half of the value log (%llu of %llu bytes) is dead: HKVFS COMPACT "
			 "ALL reclaims it.",
			 (unsigned long long)st.vlog_dead, (unsigned long long)st.vlog_bytes);
	else
		snprintf(msg, sizeof(msg),
			 "No memory problem found: the value log is mostly live (%llu dead bytes of "
			 "%llu).",
			 (unsigned long long)st.vlog_dead, (unsigned long long)st.vlog_bytes);
	add_verbatim(c, msg, strlen(msg));
}

void memory_malloc_stats_command(struct client *c)
{
	struct mallinfo2 mi = mallinfo2();
	char msg[512];

	snprintf(msg, sizeof(msg),
		 "glibc malloc: arena=%zu ordblks=%zu hblks=%zu hblkhd=%zu uordblks=%zu "
		 "fordblks=%zu keepcost=%zu\n",
		 mi.arena, mi.ordblks, mi.hblks, mi.hblkhd, mi.uordblks, mi.fordblks, mi.keepcost);
	add_verbatim(c, msg, strlen(msg));
}

void memory_purge_command(struct client *c)
{
	malloc_trim(0);
	add_ok(c);
}

void memory_help_command(struct client *c)
{
	static const char *const help[] = {
		"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"DOCTOR",
		"    Return memory problems reports.",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
		"HELP",
		"    Print this help.",
		NULL,
	};

	add_help(c, help);
}
