# hkv-bench fs: the filesystem benchmark (bench_fs.c, built into hkv-bench by CMakeLists.txt)
# needs the storage-free FUSE daemon hkv-fuse-floor next to it and the hkvfs daemon in
# ../fs/; it finds both from its own path, the smoke test also passes them explicitly.
if(HKV_BUILD_FS)
	add_executable(hkv-fuse-floor fuse-floor.c)
	target_link_libraries(hkv-fuse-floor PRIVATE PkgConfig::FUSE3 Threads::Threads)
	add_dependencies(hkv-bench hkv-fuse-floor)
	# hkvfs's request counters are read through its control socket, not through the mount;
	# the library is defined later (fs/ is added after tools/), linking by name resolves it
	target_link_libraries(hkv-bench PRIVATE hkvfs-ctlclient)
	target_compile_definitions(hkv-bench PRIVATE HKV_HAVE_BENCH_FS_CTL=1)
	install(TARGETS hkv-fuse-floor RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

	find_program(HKV_BENCH_FS_BASH bash REQUIRED)
	add_test(NAME bench_fs_smoke
		COMMAND ${HKV_BENCH_FS_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/bench_fs_smoke.sh)
	set_tests_properties(bench_fs_smoke PROPERTIES TIMEOUT 300 LABELS bench
		SKIP_RETURN_CODE 77
		ENVIRONMENT "HKV_BENCH=$<TARGET_FILE:hkv-bench>;HKV_FUSE_FLOOR=$<TARGET_FILE:hkv-fuse-floor>;HKVFS=$<TARGET_FILE:hkvfs>;HKV_BENCH_DIR=${CMAKE_CURRENT_BINARY_DIR}")
endif()
