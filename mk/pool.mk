# The handler pool (issue 17, 14): blocking handlers run off libmicrohttpd's
# polling threads (runtime/pool.c, runtime/server_pool.c).
# tests/test_offload.c: over loopback HTTP on both servers, with one worker
# thread: offloaded handlers (password hashing, COT_OFFLOAD, --offload all)
# hold while other connections are answered; a stuck pool thread gets 503
# and is replaced; SIGTERM in time; a full pool answers 503; crashes trace.
build/test_offload: tests/test_offload.c tests/harness.c tests/serve.c tests/harness.h tests/serve.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson)
TEST_BINS += build/test_offload
TEST_CMDS += build/test_offload@build/cotdev build/test_offload@build/cotdev-san \
             build/test_offload@export:build/cotdev
