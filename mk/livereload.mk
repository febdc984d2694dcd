# live reload, error overlay and browser tests: devserver/livereload.c,
# devserver/overlay.js and morph.js (embedded as build/livereload_js.h), tests/browser/.
HEADERS += build/livereload_js.h
TEST_PACKAGES += chromium
# Node and npm may come from elsewhere (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm): install Debian's only when the command is missing.
TEST_COMMAND_PACKAGES += node:nodejs npm:npm

# The live-reload script as a C array, NUL-terminated; od is in coreutils.
# morph.js and overlay.js go into one function, so the morph's names stay
# out of the page's global scope.
build/livereload_js.h: devserver/morph.js devserver/overlay.js | build
	{ echo '/* generated from devserver/morph.js and overlay.js by mk/livereload.mk */'; \
	  echo 'static const char livereload_js[] = {'; \
	  { echo "(function () { 'use strict';"; cat devserver/morph.js devserver/overlay.js; \
	    echo '})();'; } | od -An -v -tx1 | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; } > $@.tmp && mv $@.tmp $@

# playwright-core only (no browser download): the tests drive /usr/bin/chromium.
node_modules/playwright-core/package.json: package.json
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	 else npm install --no-audit --no-fund; fi
	@touch $@

BROWSER_TESTS = live overlay css reconnect
TEST_BINS += node_modules/playwright-core/package.json
TEST_CMDS += $(foreach t,$(BROWSER_TESTS),node@tests/browser/$(t).mjs) \
             env@COTDEV=build/cotdev-san@node@tests/browser/live.mjs \
             env@COTDEV=build/cotdev-san@node@tests/browser/overlay.mjs

.PHONY: test-browser bench-browser
test-browser: test-deps build/cotdev node_modules/playwright-core/package.json
	@tests/run $(foreach t,$(BROWSER_TESTS),node@tests/browser/$(t).mjs)

BENCH_BINS += node_modules/playwright-core/package.json
bench-browser: test-deps build/cotdev node_modules/playwright-core/package.json
	node tests/bench/bench_browser.mjs
