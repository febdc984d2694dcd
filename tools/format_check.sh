#!/usr/bin/env bash
# tools/format_check.sh -- is the C tree as `make format` (clang-format, with
# the repo's .clang-format) would write it? One "ok"/"not ok" line for
# tests/run, the offending files listed above it. Used by make test and .ci/run.
# One clang-format process checks every file (2 s; one process per file took
# 35-60 s, nearly all of it clang-format starting).
set -u
cd "$(dirname "$0")/.."
files=$(make -s --no-print-directory print-FORMAT_SRCS)
n=$(echo $files | wc -w)
if [ "$n" -eq 0 ]; then
	echo "not ok format: no C files found"
	exit 1
fi
# shellcheck disable=SC2086
out=$(clang-format --dry-run -Werror $files 2>&1)
rc=$?
# each difference is "FILE:LINE:COL: error: code should be clang-formatted ..."
bad=$(printf '%s\n' "$out" | sed -n 's/^\(.*\):[0-9][0-9]*:[0-9][0-9]*: error: .*/\1/p' | sort -u)
for f in $bad; do
	echo "# not formatted: $f (make format)"
done
nbad=$(printf '%s' "$bad" | grep -c .)
if [ "$rc" -ne 0 ] && [ "$nbad" -eq 0 ]; then
	printf '%s\n' "$out" | sed 's/^/# /' | head -20
	echo "not ok format: clang-format failed (status $rc)"
	exit 1
fi
if [ "$nbad" -ne 0 ]; then
	echo "not ok format: $nbad of $n C files differ from clang-format's output"
	exit 1
fi
echo "ok format: all $n C files as clang-format writes them"
