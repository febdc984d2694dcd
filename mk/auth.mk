# accounts: the app secret, cookie sessions, CSRF, passwords, JWT, rate
# limits, per-request state (runtime/secret.c session.c csrf.c password.c
# jwt.c ratelimit.c vars.c), all on libsodium. The runtime links it,
# so exports do too (LIBS reaches COT_EXPORT_LIBS) and name libsodium23.
LIBS     += -lsodium
PACKAGES += libsodium-dev

build/test_auth: tests/test_auth.c tests/api_test.h $$(RUNTIME_SAN) $(HEADERS) | build
	$(call unit_test,$(LIBS))
TEST_BINS += build/test_auth
TEST_CMDS += build/test_auth

# over HTTP: the app of `cotdev new --auth` plus probe routes, on the dev
# server, its sanitizer build and the export
build/test_accounts: tests/test_accounts.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -ljansson -lsodium)
TEST_BINS += build/test_accounts
TEST_CMDS += build/test_accounts@build/cotdev build/test_accounts@build/cotdev-san \
             build/test_accounts@export:build/cotdev

# the --auth app end to end in headless Chromium (tests/browser/auth.mjs):
# dev server, its sanitizer build, and the export
TEST_CMDS += node@tests/browser/auth.mjs env@COTDEV=build/cotdev-san@node@tests/browser/auth.mjs \
             env@COT_EXPORT=1@node@tests/browser/auth.mjs

# what a password hash costs and what it costs other requests (not pass/fail)
build/bench_password: tests/bench/bench_password.c tests/harness.c tests/harness.h | build
	$(CC) $(WARN) -O2 -g tests/bench/bench_password.c tests/harness.c -o $@ -lcurl -lpthread
BENCH_BINS += build/bench_password
.PHONY: bench-password
bench-password: test-deps build/cotdev build/bench_password
	./build/bench_password build/cotdev
