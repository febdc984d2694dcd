# the access log: runtime/accesslog.c (per-thread buffers, one writer
# thread, --access-log, --log-format json, SIGHUP), end to end on the dev
# server, its sanitized build and the export.
build/test_accesslog: tests/test_accesslog.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson)
TEST_BINS += build/test_accesslog
TEST_CMDS += build/test_accesslog@build/cotdev build/test_accesslog@build/cotdev-san \
             build/test_accesslog@export:build/cotdev
