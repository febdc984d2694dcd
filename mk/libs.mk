# C libraries in handlers (COT_LIBS) and the app's shared lib/ code:
# devserver/libs.c (declarations, pkg-config, loading), linkcheck.c (only
# declared libraries are visible: libtcc's dlsym goes through it, hence
# --wrap=dlsym), ctoken.c (reading declarations from source),
# tests/test_libs.c (dev, sanitizer and export).
DEV_LIBS  += -Wl,--wrap=dlsym
# Handlers in tests call libsodium, zlib and libcurl; pkg-config reads
# COT_LIBS for cotdev itself.
TEST_PACKAGES += libsodium-dev zlib1g-dev libcurl4-openssl-dev wrk

build/test_libs: tests/test_libs.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread)
TEST_BINS += build/test_libs
TEST_CMDS += build/test_libs@build/cotdev build/test_libs@build/cotdev-san \
             build/test_libs@export:build/cotdev
