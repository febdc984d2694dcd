# crash containment and the one error pipeline, end to end against the real
# dev server and the exported binary (one suite, two targets):
# tests/test_crash.c (crash kinds, stuck handlers, exact trace lines, tasks,
# 100 crashes, leaks under ASan) and tests/test_pipeline.c (every status,
# content negotiation, middleware order, what error responses carry).
CRASH_TESTS = build/test_crash build/test_pipeline
$(CRASH_TESTS): build/test_%: tests/test_%.c tests/harness.c tests/raw.c tests/serve.c tests/harness.h \
                     tests/raw.h tests/serve.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson)
TEST_BINS += $(CRASH_TESTS)
TEST_CMDS += build/test_crash@build/cotdev build/test_crash@build/cotdev-san \
             build/test_pipeline@build/cotdev build/test_pipeline@build/cotdev-san \
             build/test_crash@export:build/cotdev build/test_pipeline@export:build/cotdev
