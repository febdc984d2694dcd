# parity: the exported binary answers like `cotdev run` (tests/test_parity.c
# serves one app with both at once, sends every request to both and compares
# the answers; what differs by design is named in the test). Against the
# sanitized dev server too: its breadth of requests found a read overflow.
build/test_parity: tests/test_parity.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson)
TEST_BINS += build/test_parity
TEST_CMDS += build/test_parity@build/cotdev build/test_parity@build/cotdev-san
