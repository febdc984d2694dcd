# gzip responses: runtime/compress.c (bodies in memory), runtime/accept.c
# (Accept-Encoding), and the export's .gz siblings of static text files made
# at start (runtime/app_main.c), on the dev server and the export.
build/test_compress: tests/test_compress.c tests/harness.c tests/harness.h tests/t.h | build
	$(call unit_test,-lcurl -lpthread -lz)
TEST_BINS += build/test_compress
TEST_CMDS += build/test_compress@build/cotdev build/test_compress@build/cotdev-san \
             build/test_compress@export:build/cotdev
