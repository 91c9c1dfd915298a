#!/usr/bin/env bash
# The README's second command (and CI's): installs what the build needs, builds everything,
# and runs the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" -DATTN_BUILD_TESTS=ON
cd "${ATTN_BUILD_DIR:-$root/build}"
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
ctest --output-on-failure --parallel "$(nproc)" --timeout 600
