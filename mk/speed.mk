# make test's speed: the export's cache of runtime objects (devserver/export_cache.c,
# tests/test_export_cache.c); tests/run prints each command's time and the slowest.
build/test_export_cache: tests/test_export_cache.c tests/build_app.c tests/build_app.h tests/t.h \
                         | build
	$(call unit_test,)
TEST_BINS += build/test_export_cache
TEST_CMDS += build/test_export_cache@build/cotdev
