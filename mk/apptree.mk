# which files are the app's: runtime/apptree.c (one rule for the watcher,
# the first scan, static serving and the export), tests/test_apptree.c.
build/test_apptree: tests/test_apptree.c tests/harness.c tests/raw.c tests/harness.h tests/raw.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_apptree
TEST_CMDS += build/test_apptree@build/cotdev build/test_apptree@build/cotdev-san \
             build/test_apptree@export:build/cotdev
