#!/usr/bin/env bash
# tools/format_check.sh -- is the C tree as `make format` (clang-format, with
# the repo's .clang-format) would write it? One "ok"/"not ok" line for
# tests/run, the offending files listed above it. Used by make test and .ci/run.
set -u
cd "$(dirname "$0")/.."
bad=0
n=0
for f in $(make -s --no-print-directory print-FORMAT_SRCS); do
	n=$((n + 1))
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "# not formatted: $f (make format)"
		bad=$((bad + 1))
	fi
done
if [ "$n" -eq 0 ]; then
	echo "not ok format: no C files found"
	exit 1
fi
if [ "$bad" -ne 0 ]; then
	echo "not ok format: $bad of $n C files differ from clang-format's output"
	exit 1
fi
echo "ok format: all $n C files as clang-format writes them"
