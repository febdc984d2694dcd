# the dev console at /_cot/ (development only): devserver/console*.c, the
# pages' script devserver/console.js (embedded as build/console_js.h), and
# its tests over HTTP (tests/test_console.c) and in Chromium
# (tests/browser/console.mjs).
HEADERS += build/console_js.h

build/console_js.h: devserver/console.js | build
	{ echo '/* generated from devserver/console.js by mk/console.mk */'; \
	  echo 'static const char console_js[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; } > $@.tmp && mv $@.tmp $@

build/test_console: tests/test_console.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson -lsqlite3)
TEST_BINS += build/test_console
TEST_CMDS += build/test_console@build/cotdev build/test_console@build/cotdev-san \
             build/test_console@export:build/cotdev
TEST_CMDS += node@tests/browser/console.mjs
TEST_CMDS += env@COTDEV=build/cotdev-san@node@tests/browser/console.mjs
