# hostile load (issue 14, part a): connection limits, request-head deadline,
# body memory, stuck handlers, honest timeouts, exit() from handlers.
# runtime/limit.c derives the connection limit; the flags both servers share
# are rows of runtime/flags.c.

# tests/test_hostile.c: one suite over `cotdev run`, its sanitized build and
# the exported binary (stuck handlers, honest timeouts, exit() in handlers,
# slowloris, connection limits, body memory).
build/test_hostile: tests/test_hostile.c tests/harness.c tests/raw.c tests/serve.c tests/harness.h \
                    tests/raw.h tests/serve.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson)
TEST_BINS += build/test_hostile
TEST_CMDS += build/test_hostile@build/cotdev build/test_hostile@build/cotdev-san \
             build/test_hostile@export:build/cotdev

# make stress: slowloris, flood, body memory and stuck handlers against
# `cotdev run` and the export, with figures (tests/stress/stress.c). Not in
# `make test`: it takes minutes and measures, it does not judge.
build/stress: tests/stress/stress.c tests/harness.c tests/raw.c tests/serve.c tests/harness.h \
              tests/raw.h tests/serve.h | build
	$(CC) $(WARN) -O2 -g $< tests/harness.c tests/raw.c tests/serve.c -o $@ -lcurl -lpthread
.PHONY: stress
stress: test-deps build/cotdev build/stress
	./build/stress build/cotdev $(STRESS_SECONDS)
