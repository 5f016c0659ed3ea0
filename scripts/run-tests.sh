#!/usr/bin/env bash
# Runs the CTest suite in BUILD_DIR and ends with one summary line counting passed, failed and
# skipped tests ("ctest: N passed, N failed, N skipped"). Extra arguments go to ctest.
set -uo pipefail
build=${1:-build}
shift || true
log=$(mktemp)
(cd "$build" && ctest --output-on-failure "$@") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed +' "$log")
failed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*(Failed|Exception|Timeout)|Not Run' "$log")
skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$log")
if [ "$skipped" -gt 0 ]; then
  echo
  echo "Skipped tests and why (each reason once; the asan: variants skip for the same reasons):"
  # Each test binary's output is kept by tests/batch in $build/test-results.
  cat "$log" "$build"/test-results/*.out 2>/dev/null |
    grep -hE '^\[SKIP\] [a-z_0-9]+::[a-z_0-9]+: ' | grep -v 'Test is disabled' | sort -u |
    sed 's/^\[SKIP\] /  /'
fi
rm -f "$log"
echo "ctest: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
