# Fault injection: the engine's calls to these functions go through __wrap_* in test_fault.c.
set(HKV_TEST_LINK_OPTIONS
	-Wl,--wrap=pwrite -Wl,--wrap=write -Wl,--wrap=fdatasync -Wl,--wrap=fsync)
set(HKV_TEST_TIMEOUT 120)
