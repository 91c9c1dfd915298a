#!/usr/bin/env bash
# Benchmarks the engine and compares it with PyTorch on the same shapes:
#   1. installs what the build and the PyTorch peer need (scripts/install-deps.sh --tools),
#   2. builds with -DATTN_BUILD_BENCH=ON (scripts/build.sh; extra arguments go to CMake),
#   3. runs bench/attn_bench_forward with OMP_NUM_THREADS=2 (JSON to $out/attnscope.json),
#      and its forward passes again with OMP_NUM_THREADS=1 ($out/attnscope-1thread.json),
#   4. runs bench/torch_peer.py (JSON to $out/torch.json),
#   5. prints the comparison tables (bench/compare.py): wall clock with 2 threads, and CPU
#      time with 1 thread, which holds up when other jobs share the machine.
# Environment: ATTN_BUILD_DIR and ATTN_JOBS as for build.sh; BENCH_OUT, the results folder
# (default: $ATTN_BUILD_DIR/bench-results). Takes a few minutes; nothing here asserts a speed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
out=${BENCH_OUT:-$build/bench-results}

"$root/scripts/install-deps.sh" --tools
"$root/scripts/build.sh" -DATTN_BUILD_BENCH=ON "$@"
mkdir -p "$out"

echo "== AttnScope (OMP_NUM_THREADS=2); load average $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=2 "$build/bench/attn_bench_forward" \
  --benchmark_out="$out/attnscope.json" --benchmark_out_format=json | tee "$out/attnscope.txt"

echo "== AttnScope forward, 1 thread (OMP_NUM_THREADS=1; CPU time compared below)"
OMP_NUM_THREADS=1 "$build/bench/attn_bench_forward" --benchmark_filter=BM_Forward \
  --benchmark_out="$out/attnscope-1thread.json" --benchmark_out_format=json | tee "$out/attnscope-1thread.txt"

echo "== PyTorch (float32, attention probabilities kept); load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$root/bench/torch_peer.py" --models bert-base gpt2-small --lengths 128 512 \
  --json "$out/torch.json" | tee "$out/torch.txt"

echo
echo "== Forward pass with every head's attention recorded ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg));"
echo "   ratio = PyTorch / AttnScope, > 1: AttnScope faster"
/usr/bin/python3 "$root/bench/compare.py" "$out/attnscope.json" "$out/torch.json" "$out/attnscope-1thread.json" |
  tee "$out/table.md"

if [[ -x "$build/bench/attn_bench_render" ]]; then
  echo
  echo "== Rendering (offscreen): model view and heatmap at N = 512 and 4096"
  QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=2 "$build/bench/attn_bench_render" \
    --benchmark_out="$out/render.json" --benchmark_out_format=json | tee "$out/render.txt"
fi
