# The handler API for JSON apps (issue 19): small API gaps, `cotdev run
# --db`, the .gitignore of `cotdev new`, `cotdev check`'s output
# (tests/test_handler_api.c, against cotdev run and the export).
TEST_COMMAND_PACKAGES += git:git
build/test_handler_api: tests/test_handler_api.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_handler_api
TEST_CMDS += build/test_handler_api@build/cotdev build/test_handler_api@build/cotdev-san \
             build/test_handler_api@export:build/cotdev
# field errors (cot_field_error, cot_fail_fields) that the error pipeline
# renders and the app's COT_ERRORS hook sees
# the JSON writer (runtime/jw.c) and typed reads of JSON bodies
# (runtime/body_read.c); tests/test_jw.c checks both without a server
build/test_jw: tests/test_jw.c tests/api_test.h $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_jw
TEST_CMDS += build/test_jw
# make bench-json: rows to JSON, the writer against cot_db_json_rows, in one
# run (tests/bench/bench_json.c; exits 1 if the writer is slower)
build/bench_json: tests/bench/bench_json.c $$(call opt_objs,$$(RUNTIME)) $(HEADERS) | build
	$(CC) $(WARN) -O2 -g -Iruntime $< $(call opt_objs,$(RUNTIME)) -o $@ $(LIBS)
BENCH_BINS += build/bench_json
.PHONY: bench-json
bench-json: build/bench_json
	./build/bench_json
# compile errors where gcc reports them (devserver/errline.c), checked on a
# table of common mistakes against gcc itself (tests/test_errline.c)
build/test_errline: tests/test_errline.c $$(COMPILER_SAN) $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS) $(DEV_LIBS),$(DEFS))
TEST_BINS += build/test_errline
TEST_CMDS += build/test_errline
