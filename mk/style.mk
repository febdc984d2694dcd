# One style for the tree, checked by make test (tools/format_check.sh,
# tools/names.py) and .ci/run: C as clang-format writes it with .clang-format
# (`make format` rewrites the files), every function named after its file.
FORMAT_SRCS = $(sort $(wildcard include/*.h runtime/*.[ch] devserver/*.[ch] tests/*.[ch] \
                  tests/bench/*.c tests/stress/*.c app_template/handlers/*.c \
                  app_template/lib/*.[ch] app_template_auth/handlers/*.c \
                  app_template_auth/lib/*.[ch] examples/*/handlers/*.c))
TEST_COMMAND_PACKAGES += clang-format:clang-format python3:python3
TEST_CMDS += tools/names.py
TEST_CMDS += tools/format_check.sh
