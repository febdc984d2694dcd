# The handler API for JSON apps (issue 19): small API gaps, `cotdev run
# --db`, the .gitignore of `cotdev new`, `cotdev check`'s output
# (tests/test_handler_api.c, against cotdev run and the export).
TEST_COMMAND_PACKAGES += git:git
build/test_handler_api: tests/test_handler_api.c tests/harness.c tests/harness.h tests/t.h | build
	$(CC) $(WARN) -O1 -g $(SAN) $< tests/harness.c -o $@ -lcurl -lpthread
TEST_BINS += build/test_handler_api
TEST_CMDS += build/test_handler_api@build/cotdev build/test_handler_api@export:build/cotdev
# field errors (cot_field_error, cot_fail_fields) that the error pipeline
# renders and the app's COT_ERRORS hook sees
RUNTIME += runtime/fields.c
