#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue 15): builds
# build-asan/ (cmake -DAMR_SANITIZE=ON: amr's library, CLI and tests instrumented; LibTorch and
# OpenCV are Debian's, not instrumented), runs ctest there and writes bench/results/sanitize.md
# (RESULTS) with each test's outcome and any sanitizer report found in the test logs.
# Leak detection is off: LibTorch keeps its allocator caches and thread pools until exit.
# Knobs: BUILD (build-asan), JOBS (ctest -j, default 2), RESULTS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
BUILD=${BUILD:-build-asan}; JOBS=${JOBS:-2}; RESULTS=${RESULTS:-bench/results/sanitize.md}
start=$(date +%s)
cmake -S . -B "$BUILD" -DAMR_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
built=$(minutes_since "$start" 1)
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
t0=$(date +%s)
rc=0
(cd "$BUILD" && ctest -j"$JOBS" --output-on-failure > ctest.log 2>&1) || rc=$?
log=$BUILD/Testing/Temporary/LastTest.log
reports=$( { grep -hcE "ERROR: AddressSanitizer|runtime error:" "$log" "$BUILD/ctest.log" 2>/dev/null || true; } | awk "{ s += \$1 } END { print s + 0 }")
{
  echo "# ASan + UBSan test suite (\`bash bench/sanitize.sh\`, $(date -u +%F), $(nproc) cores, $(cpu_isa))"
  echo
  echo "gcc $(gcc -dumpfullversion), -fsanitize=address,undefined on amr's library, CLI, tests and the"
  echo "\`amr\` binary the CLI tests run; LibTorch / OpenCV not instrumented. ASAN_OPTIONS=$ASAN_OPTIONS."
  echo "Build $built min, ctest -j$JOBS $(minutes_since "$t0" 1) min."
  echo
  echo '```'
  grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|tests failed|Total Test time' "$BUILD/ctest.log"
  echo '```'
  echo
  echo "Sanitizer reports in the test logs: $reports"
  echo
  echo "sanitize: ctest_rc=$rc reports=$reports"
} > "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
[[ $rc == 0 && $reports == 0 ]]
