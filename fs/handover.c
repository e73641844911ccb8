// SPDX-License-Identifier: MIT
/*
 * handover.c - a new daemon takes a store over from one that is shutting down.
 *
 * The engine lets one process hold a store (an flock on DATA/LOCK, -EBUSY for everyone else).
 * A daemon keeps that lock until its store is closed, which is after its unmount: `umount`
 * returns as soon as the kernel detaches the mount, while the old daemon is still committing
 * open handles and closing the store. `umount DIR && mount DIR` (or a service restart) would
 * then find the store busy. The rule users expect is that of a local file system: once the
 * unmount returned, the mount can be made again.
 *
 * Signals. A daemon holds a second lock, DATA/hkvfs.live, exclusively from the moment its
 * mount is up until its session ends (the unmount was seen); the file holds its PID. A new
 * daemon that finds the store busy asks:
 *
 *   hkvfs.live held, and a fuse.hkvfs mount of DATA in /proc/self/mountinfo
 *        -> a live mount owns the store: fail at once ("store in use"), as before;
 *   otherwise (the holder unmounted and is shutting down, or a short-lived tool such as
 *   hkvctl holds the store)
 *        -> wait for the lock, polling, at most HKVFS_HANDOVER_WAIT_MS, with one log line
 *           naming what it waits for; then fail with -EBUSY if it is still held.
 *
 * The mount table check covers the window between the kernel's detach and the old daemon's
 * session loop noticing it (hkvfs.live is still held then, but the mount is gone). A live
 * mount in another mount namespace is not visible here: the new daemon then waits out the
 * bound and fails with the same error, never takes a store another daemon still serves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "handover.h"
#include "hkvfs_int.h"

#define HKVFS_LIVE_FILE "hkvfs.live"

static int live_fd = -1;

static void live_path(const char *data_dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", data_dir, HKVFS_LIVE_FILE);
}

int hkvfs_live_begin(const char *data_dir)
{
	char path[4200], pid[32];
	int fd, n;

	live_path(data_dir, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = -errno;

		close(fd);
		return rc == -EWOULDBLOCK ? -EBUSY : rc;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		HLOG_WARN("%s: cannot record the daemon's pid: %s", path, strerror(errno));
	live_fd = fd;
	return 0;
}

void hkvfs_live_end(void)
{
	if (live_fd >= 0) {
		close(live_fd);
		live_fd = -1;
	}
}

/* undo mountinfo's octal escapes (\040 for a space, ...) in place */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* a fuse.hkvfs mount whose source is @data_dir in this mount namespace */
static bool mounted_here(const char *data_dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *sep, *fstype, *source, *save;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		fstype = strtok_r(sep + 3, " ", &save);
		source = strtok_r(NULL, " ", &save);
		if (!fstype || !source || strcmp(fstype, "fuse.hkvfs") != 0)
			continue;
		unescape(source);
		found = strcmp(source, data_dir) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

/* true when a daemon holds hkvfs.live; *pid gets its pid (0 when unknown) */
static bool live_held(const char *data_dir, long *pid)
{
	char path[4200], buf[32];
	ssize_t n;
	bool held;
	int fd;

	*pid = 0;
	live_path(data_dir, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0) {
		buf[n] = 0;
		*pid = strtol(buf, NULL, 10);
	}
	close(fd);
	return held;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hkvfs_open_store(const char *data_dir, const struct hkv_options *eo, struct hkv **db)
{
	const struct timespec pause = { 0, 10 * 1000000 };
	int64_t deadline = 0;
	bool logged = false, held;
	long pid;
	int rc;

	struct hkv_options quiet = *eo;

	/* the engine logs every refusal; one line says the daemon waits, not one per retry */
	quiet.log = NULL;
	for (;;) {
		rc = hkv_open(data_dir, logged ? &quiet : eo, db);
		if (rc != -EBUSY)
			return rc;
		held = live_held(data_dir, &pid);
		if (held && mounted_here(data_dir)) {
			HLOG_ERR("%s: store in use by the live mount of daemon %ld", data_dir, pid);
			return rc;
		}
		if (!logged) {
			if (held)
				HLOG_INFO("%s: store held by daemon %ld, which is shutting down; "
					  "waiting up to %d ms for it", data_dir, pid,
					  HKVFS_HANDOVER_WAIT_MS);
			else
				HLOG_INFO("%s: store held by a process that serves no mount (a daemon "
					  "shutting down, or a tool); waiting up to %d ms for it",
					  data_dir, HKVFS_HANDOVER_WAIT_MS);
			deadline = mono_ms() + HKVFS_HANDOVER_WAIT_MS;
			logged = true;
		}
		if (mono_ms() >= deadline) {
			HLOG_ERR("%s: store still in use after %d ms", data_dir,
				 HKVFS_HANDOVER_WAIT_MS);
			return rc;
		}
		nanosleep(&pause, NULL);
	}
}
