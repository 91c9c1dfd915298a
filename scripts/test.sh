#!/usr/bin/env bash
# The README's second command (and CI's): installs what the build needs, then
#   1. builds everything and runs the whole test suite;
#   2. builds it again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite
#      under them (any finding fails the run);
#   3. runs every fuzz target for a short fixed time (ATTN_FUZZ_SECONDS, default 20).
# ATTN_TEST_QUICK=1 does step 1 only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
jobs=$(nproc)

echo "== 1/3 build and test"
"$root/scripts/build.sh" -DATTN_BUILD_TESTS=ON
(cd "${ATTN_BUILD_DIR:-$root/build}" && ctest --output-on-failure --parallel "$jobs" --timeout 600)
[[ "${ATTN_TEST_QUICK:-0}" == 1 ]] && exit 0

echo "== 2/3 the same suite under ASan + UBSan"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/sanitizer/lsan.supp}
ATTN_BUILD_DIR="$root/build-asan" "$root/scripts/build.sh" -DATTN_BUILD_TESTS=ON -DATTN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd "$root/build-asan" && ctest --output-on-failure --parallel "$jobs" --timeout 900)

echo "== 3/3 fuzzing, ${ATTN_FUZZ_SECONDS:-20}s per target"
"$root/scripts/fuzz.sh" "${ATTN_FUZZ_SECONDS:-20}"
