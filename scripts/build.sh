#!/usr/bin/env bash
# Configures and builds AttnScope into build/ (Release, Ninja, ccache when present).
# Extra arguments are passed to CMake's configure step, e.g. -DATTN_BUILD_BENCH=ON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif [[ $# -gt 0 ]]; then
  cmake "$build" "$@"
fi
cmake --build "$build" --parallel "${ATTN_JOBS:-$(nproc)}"
