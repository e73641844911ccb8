#!/bin/bash
# Signal safety of libhkv-preload.so, checked where it is decided: what the library imports.
# open(2) is async-signal-safe, so the shim's open path may run in a signal handler; every
# function the library calls must be async-signal-safe (or only ever called from the
# constructor and from wrappers of functions that are not async-signal-safe themselves:
# dlsym, getenv, fdopen). A new import fails this test until it is judged and listed here.
set -euo pipefail
SHIM=${HKV_SHIM:?run through ctest}
command -v nm >/dev/null || { echo "skip: no nm"; exit 77; }

# async-signal-safe (POSIX.1-2017 list, or no state at all: the string functions, and the
# device-number helpers a build without optimisation calls out of line)
SAFE="__errno_location clock_gettime faccessat ioctl lseek memcmp memcpy memset mprotect munmap poll pread read
strchr strcmp strlen strncmp syscall gnu_dev_major gnu_dev_minor gnu_dev_makedev"
# constructor only (dlsym, getenv, the fork handler's registration), or fopen's path
# (fdopen): never on open's path
CONSTRUCTOR="dlsym getenv fdopen pthread_atfork __register_atfork"
# toolchain and runtime symbols every shared object has
RUNTIME="_ITM_deregisterTMCloneTable _ITM_registerTMCloneTable __cxa_finalize __gmon_start__"

bad=
for sym in $(nm -D --undefined-only "$SHIM" | awk '{print $NF}' | sed 's/@.*//'); do
	case " $(echo $SAFE $CONSTRUCTOR $RUNTIME) " in
	*" $sym "*) ;;
	*) bad="$bad $sym" ;;
	esac
done
[ -z "$bad" ] || { echo "FAIL: the shim imports functions not judged async-signal-safe:$bad"; exit 1; }

# the open family must not reach dlsym: only preload_init() calls it (objdump: every call
# site of dlsym lies in preload_init)
if command -v objdump >/dev/null; then
	callers=$(objdump -d --no-show-raw-insn "$SHIM" | awk '
		/^[0-9a-f]+ <.*>:$/ { fn = $2 }
		/call.*<dlsym@plt>/ { print fn }' | sort -u | tr -d '<>:')
	for c in $callers; do
		[ "$c" = preload_init ] || { echo "FAIL: $c calls dlsym"; exit 1; }
	done
	[ -n "$callers" ] || { echo "FAIL: no call of dlsym found at all (disassembly changed?)"; exit 1; }
fi
echo "ok: imports are async-signal-safe or constructor-only; dlsym only in preload_init"
