// SPDX-License-Identifier: MIT
/*
 * main.c - hkvfs: command line, logging, daemon start-up and orderly shutdown.
 *
 *   hkvfs SOURCE MOUNTPOINT [-o opt,...] [-f] [-d]
 *
 * SOURCE names the store: a directory (the local engine) or a SCHEME:// address of a network
 * backend; hkvfs_be_open() (backend.c) picks the implementation, and nothing else in the
 * daemon depends on which one it is (backend.h).
 *
 * Start-up order matters: the parent forks first and waits on a pipe; the child opens the
 * store (LMDB must be opened after the fork, never before), mounts, starts the control and
 * invalidation threads and only then reports success, so `mount` returns 0 only for a usable
 * mount and the exit status carries any failure (EBUSY store, bad option, mount error).
 *
 * Shutdown (SIGTERM, SIGINT, SIGHUP, or unmount): the session loop returns; the backend is
 * told the session ended (the local one stops advertising a live mount, handover.c), buffered
 * writes of handles still open are committed, the store is closed with hkvfs_be_close()
 * (which flushes), and the process exits 0. A new daemon started meanwhile on the same store
 * waits for that close instead of failing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hkv/ctlclient.h"
#include "hkvfs_int.h"

struct hkvfs hkvfs_g;

static FILE *log_file;
static bool log_syslog;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int64_t hkvfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void vlog(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	struct timespec ts;
	struct tm tm;

	if (level > hkvfs_g.opts.loglevel)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(log_file ? log_file : stderr, "%04d-%02d-%02d %02d:%02d:%02d.%03ld hkvfs[%d] %s: %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, (int)getpid(), names[level], msg);
	fflush(log_file ? log_file : stderr);
	pthread_mutex_unlock(&log_lock);
}

void hkvfs_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

/*
 * The backend's log. While the store is being opened (@arg points at true), errors also go to
 * the terminal that started the mount when the log itself goes elsewhere, so that a refused
 * option or source says why, not only "Invalid argument".
 */
static void be_log(void *arg, int level, const char *msg)
{
	const bool *opening = arg;

	hkvfs_log(level < 0 ? 0 : level > 3 ? 3 : level, "%s", msg);
	if (level <= 0 && opening && *opening && (log_syslog || log_file))
		fprintf(stderr, "hkvfs: %s\n", msg);
}

static void promoter_log(void *arg, int level, const char *msg)
{
	(void)arg;
	hkvfs_log(level < 0 ? 0 : level > 3 ? 3 : level, "hot: %s", msg);
}

/* a random non-zero namespace id for this mount in the kernel cache */
static int new_ns(uint64_t *ns)
{
	do {
		if (getrandom(ns, sizeof(*ns), 0) != sizeof(*ns))
			return -errno;
	} while (*ns == 0);
	return 0;
}

static int start_promoter(void)
{
	struct hkvfs_promote_opts po;
	int rc;

	rc = new_ns(&hkvfs_g.ns);
	if (rc)
		return rc;
	hkvfs_promote_opts_init(&po);
	po.enabled = hkvfs_g.opts.hot;
	po.k = hkvfs_g.opts.hot_k;
	po.min_rate = hkvfs_g.opts.hot_min;
	po.interval_ms = hkvfs_g.opts.hot_interval;
	po.mountpoint = hkvfs_g.mountpoint;
	po.eligible = hkvfs_hot_eligible;
	po.log = promoter_log;
	return hkvfs_promoter_start(hkvfs_g.be, &po, hkvfs_g.ns, &hkvfs_g.prom);
}

/* @src for the fsname= mount option: libfuse splits options at commas and unescapes '\\' */
static void escape_fsname(const char *src, char *out, size_t sz)
{
	size_t n = 0;

	for (; *src && n + 2 < sz; src++) {
		if (*src == ',' || *src == '\\')
			out[n++] = '\\';
		out[n++] = *src;
	}
	out[n] = 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hkvfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d]\n"
		   "  SOURCE: a store directory (created if missing), or SCHEME://ADDRESS of a\n"
		   "  network backend built into this daemon (docs/filesystem.md, Backends)\n"
		   "  -f  stay in the foreground    -d  foreground + debug log + FUSE trace\n"
		   "options: sync=always|everysec|none delimiter=C compress=on|off\n"
		   "  compress_level=1..9 cache=on|off|noopen timeout=SECONDS allow_other ro rw\n"
		   "  uid=N gid=N umask=OCTAL log=FILE|syslog loglevel=error|warn|info|debug\n"
		   "  hot=on|off hot_k=1..4096 hot_min=READS/S hot_interval=MS\n"
		   "  foreground debug nosuid nodev noexec noatime ... (see docs/filesystem.md)\n");
}

static int open_log(void)
{
	if (strcmp(hkvfs_g.opts.log, "syslog") == 0) {
		openlog("hkvfs", LOG_PID, LOG_DAEMON);
		log_syslog = true;
	} else if (hkvfs_g.opts.log[0]) {
		log_file = fopen(hkvfs_g.opts.log, "ae");
		if (!log_file)
			return -errno;
	} else if (!hkvfs_g.opts.foreground) {
		openlog("hkvfs", LOG_PID, LOG_DAEMON);
		log_syslog = true;
	}
	return 0;
}

static void report(int fd, int status)
{
	unsigned char b = (unsigned char)status;

	if (fd >= 0) {
		if (write(fd, &b, 1) != 1)
			HLOG_WARN("cannot report start-up status");
		close(fd);
	}
}

static int run(int status_fd)
{
	static bool opening;
	struct hkvfs_be_args ba = { .opts = &hkvfs_g.opts, .log = be_log, .log_arg = &opening };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	char fo[10240], fsname[8200];
	int rc, ret = 1;

	rc = hkvfs_itab_init();
	if (rc) {
		fprintf(stderr, "hkvfs: cannot create the inode table: %s\n", strerror(-rc));
		goto out;
	}
	opening = true;
	rc = hkvfs_be_open(hkvfs_g.source, &ba, &hkvfs_g.be);
	opening = false;
	if (rc) {
		HLOG_ERR("cannot open store %s: %s", hkvfs_g.source, hkv_strerror(rc));
		fprintf(stderr, "hkvfs: cannot open store %s: %s\n", hkvfs_g.source,
			hkv_strerror(rc));
		goto out;
	}
	escape_fsname(hkvfs_g.source, fsname, sizeof(fsname));
	snprintf(fo, sizeof(fo), "default_permissions,fsname=%s,subtype=hkvfs%s%s%s%s",
		 fsname, hkvfs_g.opts.allow_other ? ",allow_other" : "",
		 hkvfs_opts_fs_ro(&hkvfs_g.opts) ? ",ro" : "", hkvfs_g.opts.fuse_extra[0] ? "," : "",
		 hkvfs_g.opts.fuse_extra);
	if (fuse_opt_add_arg(&args, "hkvfs") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, fo) ||
	    (hkvfs_g.opts.debug && hkvfs_g.opts.foreground && fuse_opt_add_arg(&args, "-d"))) {
		HLOG_ERR("out of memory");
		goto out_close;
	}
	hkvfs_g.se = fuse_session_new(&args, &hkvfs_ops, sizeof(hkvfs_ops), &hkvfs_g);
	if (!hkvfs_g.se) {
		fprintf(stderr, "hkvfs: cannot create the FUSE session\n");
		goto out_close;
	}
	if (fuse_set_signal_handlers(hkvfs_g.se))
		goto out_destroy;
	if (fuse_session_mount(hkvfs_g.se, hkvfs_g.mountpoint)) {
		fprintf(stderr, "hkvfs: cannot mount on %s\n", hkvfs_g.mountpoint);
		HLOG_ERR("cannot mount on %s", hkvfs_g.mountpoint);
		goto out_signals;
	}
	/* the promoter exists before the watch that invalidates through it is installed */
	rc = start_promoter();
	if (!rc)
		rc = hkvfs_inval_start();
	if (!rc)
		rc = hkvfs_resp_new(); /* exists before the watch that forwards to it */
	if (!rc)
		hkvfs_be_set_watch(hkvfs_g.be, hkvfs_watch, &hkvfs_g);
	if (!rc)
		rc = hkvfs_resp_start();
	if (!rc)
		rc = hkvfs_be_session_begin(hkvfs_g.be);
	if (rc) {
		fprintf(stderr, "hkvfs: cannot start: %s\n", strerror(-rc));
		HLOG_ERR("cannot start helper threads or the RESP socket %s: %s",
			hkvfs_g.sock_path, strerror(-rc));
		goto out_unmount;
	}
	HLOG_INFO("mounted %s on %s (cache=%d sync=%d)", hkvfs_g.source, hkvfs_g.mountpoint,
		 (int)hkvfs_g.opts.cache, hkvfs_g.opts.sync);
	if (!hkvfs_g.opts.foreground) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
	report(status_fd, 0);
	status_fd = -1;
	lc = fuse_loop_cfg_create();
	if (!lc)
		goto out_unmount;
	/*
	 * Up to 16 workers, and none ever retired (libfuse's default idle limit, left as it is):
	 * with a limit of 4, a loop of creates retired and started a worker for every second
	 * file, and a thread's start and exit cost about 25 us of CPU here (docs/benchmarks.md,
	 * "Worker threads").
	 */
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_loop_cfg_set_max_threads(lc, 16);
	rc = fuse_session_loop_mt(hkvfs_g.se, lc);
	hkvfs_be_session_end(hkvfs_g.be);
	HLOG_INFO("session ended (%d), shutting down", rc);
	ret = 0;
out_unmount:
	atomic_store(&hkvfs_g.stopping, true);
	hkvfs_resp_stop();
	hkvfs_flush_all();
	hkvfs_be_set_watch(hkvfs_g.be, NULL, NULL);
	hkvfs_inval_stop();
	hkvfs_promoter_stop(hkvfs_g.prom); /* before the store closes: it reads from it */
	hkvfs_g.prom = NULL;
	fuse_session_unmount(hkvfs_g.se);
out_signals:
	fuse_remove_signal_handlers(hkvfs_g.se);
out_destroy:
	fuse_session_destroy(hkvfs_g.se);
out_close:
	rc = hkvfs_be_close(hkvfs_g.be);
	if (rc) {
		HLOG_ERR("closing the store: %s", hkv_strerror(rc));
		ret = 1;
	} else {
		HLOG_INFO("store closed cleanly");
	}
out:
	if (lc)
		fuse_loop_cfg_destroy(lc);
	fuse_opt_free_args(&args);
	hkvfs_itab_destroy();
	report(status_fd, ret ? 1 : 0);
	return ret;
}

int main(int argc, char **argv)
{
	char err[512];
	int c, pfd[2];
	pid_t pid;

	hkvfs_opts_init(&hkvfs_g.opts);
	hkvfs_g.opts.uid = getuid();
	hkvfs_g.opts.gid = getgid();
	while ((c = getopt(argc, argv, "+o:fdhV")) != -1) {
		switch (c) {
		case 'o':
			if (hkvfs_opts_parse(&hkvfs_g.opts, optarg, err, sizeof(err))) {
				fprintf(stderr, "hkvfs: %s\n", err);
				return 1;
			}
			break;
		case 'f':
			hkvfs_g.opts.foreground = true;
			break;
		case 'd':
			hkvfs_g.opts.foreground = true;
			hkvfs_g.opts.debug = true;
			hkvfs_g.opts.loglevel = 3;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hkvfs 0.1.0, libfuse %d\n", fuse_version());
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	/* allow options after the positional arguments too, as mount(8) passes them */
	if (argc - optind >= 2) {
		char *pos[2] = { argv[optind], argv[optind + 1] };

		optind += 2;
		while ((c = getopt(argc, argv, "o:fdh")) != -1) {
			if (c == 'o') {
				if (hkvfs_opts_parse(&hkvfs_g.opts, optarg, err, sizeof(err))) {
					fprintf(stderr, "hkvfs: %s\n", err);
					return 1;
				}
			} else if (c == 'f' || c == 'd') {
				hkvfs_g.opts.foreground = true;
				if (c == 'd') {
					hkvfs_g.opts.debug = true;
					hkvfs_g.opts.loglevel = 3;
				}
			} else {
				usage(stderr);
				return 1;
			}
		}
		if (optind != argc) {
			usage(stderr);
			return 1;
		}
		c = hkvfs_be_source_prepare(pos[0], hkvfs_g.source, sizeof(hkvfs_g.source));
		if (c) {
			fprintf(stderr, "hkvfs: cannot use %s: %s\n", pos[0], strerror(-c));
			return 1;
		}
		if (!realpath(pos[1], hkvfs_g.mountpoint)) {
			fprintf(stderr, "hkvfs: %s: %s\n", pos[1], strerror(errno));
			return 1;
		}
	} else {
		usage(stderr);
		return 1;
	}
	snprintf(hkvfs_g.sock_path, sizeof(hkvfs_g.sock_path), "%s/%s", hkvfs_g.source,
		 HKVFS_CTL_SOCK);
	hkvfs_g.mount_time_ns = hkvfs_now_ns();
	if (open_log()) {
		fprintf(stderr, "hkvfs: cannot open log %s: %s\n", hkvfs_g.opts.log,
			strerror(errno));
		return 1;
	}
	if (hkvfs_g.opts.foreground)
		return run(-1);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("hkvfs: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("hkvfs: fork");
		return 1;
	}
	if (pid > 0) {
		unsigned char st = 1;

		close(pfd[1]);
		if (read(pfd[0], &st, 1) != 1)
			st = 1;
		return st;
	}
	close(pfd[0]);
	setsid();
	if (chdir("/") < 0)
		return 1;
	return run(pfd[1]);
}
