#!/usr/bin/env bash
# Benchmarks the engine and compares it with PyTorch on the same shapes:
#   1. installs what the build and the PyTorch peer need (scripts/install-deps.sh --tools),
#   2. builds with -DATTN_BUILD_BENCH=ON (scripts/build.sh; extra arguments go to CMake),
#   3. runs bench/attn_bench_forward with OMP_NUM_THREADS=2 (JSON to $out/attnscope.json),
#      and its forward passes again with OMP_NUM_THREADS=1 ($out/attnscope-1thread.json),
#   4. runs bench/torch_peer.py (JSON to $out/torch.json; on AVX-512 CPUs also with OpenBLAS's
#      AVX-512 kernels forced, see there), then ONNX Runtime on the same models exported to
#      ONNX (bench/onnx_export.py, bench/onnx/onnx_peer.mjs; JSON to $out/onnx.json),
#   5. prints the comparison tables (bench/compare.py): wall clock with 2 threads, CPU time
#      with 1 thread (which holds up when other jobs share the machine), and the GEMM rates
#      per instruction set with each forward pass's share of the GEMM peak,
#   6. times attention flow next to rollout on the bundled models (bench/attn_bench_flow),
#   7. times BF16 weights' products: the engine's against AVX-512 BF16 dot products
#      (bench/attn_bench_bf16; with their errors).
# Environment: ATTN_BUILD_DIR and ATTN_JOBS as for build.sh; BENCH_OUT, the results folder
# (default: $ATTN_BUILD_DIR/bench-results). Takes a few minutes; nothing here asserts a speed.
#
# scripts/bench.sh --llama [CMake arguments] runs the Llama-3.2-1B-shaped comparison instead
# (about 40 minutes; needs ~16 GB of free memory and ~2.5 GB of disk):
#   1. writes the random BF16 model into $ATTN_LLAMA_DIR (default: $build/bench-models/llama-1b)
#      unless it is there,
#   2. the engine at N = 512 and 2048 with 2 threads, then with 1 thread,
#   3. the engine's resident memory (bench/attn_bench_memory, one process per run): N = 512
#      and 2048 recording every layer, N = 2048 recording only the last,
#   4. PyTorch at N = 512 in every thread configuration, then at N = 2048 in the best one
#      and in 1x1 (for the CPU-time table),
#   5. the tables (compare.py, with --memory).
# Run nothing else meanwhile: at N = 2048 each side holds about 12–15 GB.
#
# scripts/bench.sh --big [CMake arguments]: a recording larger than memory. The same model
# records N = 4096 streamed at F16 (a 17 GB file in $ATTN_BIG_DIR, default $build/bench-big;
# about 10 minutes), then bench/attn_bench_view opens the file, paints a heatmap, pans and
# zooms, shows the last layer's mean of heads and its head view (with the file's pyramid and
# without); both print resident memory. Then the same views of one synthetic layer of 32 heads at
# N = 4096 and of one synthetic head at N = 8192 and 16384. Needs ~22 GB of free disk.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
out=${BENCH_OUT:-$build/bench-results}
llama=0
big=0
if [[ ${1:-} == --llama ]]; then
  llama=1
  shift
elif [[ ${1:-} == --big ]]; then
  big=1
  shift
fi

"$root/scripts/install-deps.sh" --tools
"$root/scripts/build.sh" -DATTN_BUILD_BENCH=ON "$@"
mkdir -p "$out"

load() { cut -d' ' -f1-3 /proc/loadavg; }
# PyTorch's thread configurations (bench/torch_peer.py). On an AVX-512 CPU newer than Debian's
# OpenBLAS knows, PyTorch's GEMMs run AVX2 kernels unless OPENBLAS_CORETYPE says otherwise: time
# both, and compare with the better.
torch_configs=(1x2 1x1 2x1 2x2)
if grep -qw avx512f /proc/cpuinfo; then torch_configs+=(1x2:SkylakeX 1x1:SkylakeX 2x1:SkylakeX 2x2:SkylakeX); fi

if ((big)); then
  model=${ATTN_LLAMA_DIR:-$build/bench-models/llama-1b}
  [[ -f $model/model.safetensors ]] || "$build/bench/attn_bench_forward" --llama_dir="$model" --benchmark_filter=none
  dir=${ATTN_BIG_DIR:-$build/bench-big}
  mkdir -p "$dir"
  echo "== Recording N = 4096 streamed at F16 into $dir/rec.safetensors; load average $(load)"
  OMP_NUM_THREADS=2 "$build/bench/attn_bench_memory" "$model" 4096 all f16 "$dir/rec.safetensors" | tee "$out/big-record.json"
  echo "== Viewing it: open, first heatmap, pan and zoom frames, the last layer's mean and head view (with its pyramid, then reading whole heads)"
  "$build/bench/attn_bench_view" "$dir/rec.safetensors" | tee "$out/big-view.json"
  "$build/bench/attn_bench_view" --no-pyramid "$dir/rec.safetensors" | tee "$out/big-view-no-pyramid.json"
  echo "== One layer of 32 heads of N = 4096 (synthetic), with and without its pyramid"
  "$build/bench/attn_bench_view" --synthetic 4096 "$dir/synthetic-4096x32.safetensors" 32
  "$build/bench/attn_bench_view" "$dir/synthetic-4096x32.safetensors" | tee "$out/view-4096x32.json"
  "$build/bench/attn_bench_view" --no-pyramid "$dir/synthetic-4096x32.safetensors" | tee "$out/view-4096x32-no-pyramid.json"
  for n in 8192 16384; do
    echo "== One head of N = $n (synthetic), with and without its pyramid"
    "$build/bench/attn_bench_view" --synthetic "$n" "$dir/synthetic-$n.safetensors"
    "$build/bench/attn_bench_view" "$dir/synthetic-$n.safetensors" | tee "$out/view-$n.json"
    "$build/bench/attn_bench_view" --no-pyramid "$dir/synthetic-$n.safetensors" | tee "$out/view-$n-no-pyramid.json"
  done
  exit 0
fi

if ((llama)); then
  model=${ATTN_LLAMA_DIR:-$build/bench-models/llama-1b}
  out=$out/llama
  mkdir -p "$out"
  echo "== AttnScope, Llama-3.2-1B shape (OMP_NUM_THREADS=2), model in $model; load average $(load)"
  OMP_NUM_THREADS=2 "$build/bench/attn_bench_forward" --llama_dir="$model" --benchmark_filter=llama_1b \
    --benchmark_out="$out/attnscope.json" --benchmark_out_format=json | tee "$out/attnscope.txt"
  echo "== AttnScope, 1 thread; load average $(load)"
  OMP_NUM_THREADS=1 "$build/bench/attn_bench_forward" --llama_dir="$model" --benchmark_filter=llama_1b \
    --benchmark_out="$out/attnscope-1thread.json" --benchmark_out_format=json | tee "$out/attnscope-1thread.txt"
  echo "== AttnScope resident memory (one process per run)"
  : >"$out/memory.jsonl"
  for run in "512 all" "2048 all" "2048 last"; do
    # shellcheck disable=SC2086  # two words: N and which layers
    OMP_NUM_THREADS=2 "$build/bench/attn_bench_memory" "$model" $run | tee -a "$out/memory.jsonl"
  done
  echo "== PyTorch, N = 512, every thread configuration; load average $(load)"
  /usr/bin/python3 "$root/bench/torch_peer.py" --models llama-1b --lengths 512 --warmup 1 --reps 3 --configs "${torch_configs[@]}" \
    --json "$out/torch-512.json" | tee "$out/torch-512.txt"
  best=$(/usr/bin/python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["llama-1b/512"]; print(min(t, key=lambda c: t[c]["wall_ms"]))' "$out/torch-512.json")
  configs=("$best")
  # The best one-thread configuration too, for the CPU-time table.
  best1=$(/usr/bin/python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["llama-1b/512"]; print(min((c for c in t if c.split(":")[0] == "1x1"), key=lambda c: t[c]["cpu_ms"]))' "$out/torch-512.json")
  [[ $best == "$best1" ]] || configs+=("$best1")
  echo "== PyTorch, N = 2048: ${configs[*]} (the best at N = 512, and the best one-thread one); load average $(load)"
  /usr/bin/python3 "$root/bench/torch_peer.py" --models llama-1b --lengths 2048 --warmup 1 --reps 3 --configs "${configs[@]}" \
    --json "$out/torch-2048.json" | tee "$out/torch-2048.txt"
  /usr/bin/python3 -c 'import json, sys; print(json.dumps({k: v for f in sys.argv[2:] for k, v in json.load(open(f)).items()}, indent=1), file=open(sys.argv[1], "w"))' \
    "$out/torch.json" "$out/torch-512.json" "$out/torch-2048.json"
  echo
  echo "== Llama-3.2-1B shape, forward with every head's attention recorded ($(nproc) cores, load average $(load));"
  echo "   ratio = PyTorch / AttnScope, > 1: AttnScope faster"
  /usr/bin/python3 "$root/bench/compare.py" "$out/attnscope.json" "$out/torch.json" "$out/attnscope-1thread.json" \
    --memory "$out/memory.jsonl" | tee "$out/table.md"
  exit 0
fi

echo "== AttnScope (OMP_NUM_THREADS=2); load average $(load)"
OMP_NUM_THREADS=2 "$build/bench/attn_bench_forward" \
  --benchmark_out="$out/attnscope.json" --benchmark_out_format=json | tee "$out/attnscope.txt"

echo "== AttnScope forward, 1 thread (OMP_NUM_THREADS=1; CPU time compared below)"
OMP_NUM_THREADS=1 "$build/bench/attn_bench_forward" --benchmark_filter='BM_Forward|BM_Gemm' \
  --benchmark_out="$out/attnscope-1thread.json" --benchmark_out_format=json | tee "$out/attnscope-1thread.txt"

echo "== PyTorch (float32, attention probabilities kept); load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$root/bench/torch_peer.py" --models bert-base gpt2-small --lengths 128 512 --configs "${torch_configs[@]}" \
  --json "$out/torch.json" | tee "$out/torch.txt"

# ONNX Runtime (npm onnxruntime-node, its CPU library) on the same models exported from PyTorch
# with the attention probabilities as outputs (bench/onnx_export.py; ~2 GB in $build/bench-models/onnx).
onnx_dir=$build/bench-models/onnx
onnx_args=()
if command -v node > /dev/null && command -v npm > /dev/null; then
  [[ -d $root/bench/onnx/node_modules/onnxruntime-node ]] || (cd "$root/bench/onnx" && npm ci --ignore-scripts --no-audit --no-fund)
  [[ -f $onnx_dir/gpt2-small-512.onnx ]] || /usr/bin/python3 "$root/bench/onnx_export.py" "$onnx_dir" 2> "$out/onnx-export.log"
  echo "== ONNX Runtime (float32, attention probabilities as outputs); load average $(load)"
  node "$root/bench/onnx/onnx_peer.mjs" --dir "$onnx_dir" --json "$out/onnx.json" | tee "$out/onnx.txt"
  onnx_args=(--onnx "$out/onnx.json")
else
  echo "== ONNX Runtime skipped: no node or npm (Debian's nodejs and npm packages)"
fi

echo
echo "== Forward pass with every head's attention recorded ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg));"
echo "   ratio = peer time / AttnScope time, > 1: AttnScope faster"
/usr/bin/python3 "$root/bench/compare.py" "$out/attnscope.json" "$out/torch.json" "$out/attnscope-1thread.json" "${onnx_args[@]}" |
  tee "$out/table.md"

echo
echo "== Attention flow next to rollout on the bundled models (OMP_NUM_THREADS=2); load average $(load)"
OMP_NUM_THREADS=2 "$build/bench/attn_bench_flow" --benchmark_out="$out/flow.json" --benchmark_out_format=json | tee "$out/flow.txt"

echo
echo "== BF16 weights: the engine's product against AVX-512 BF16 dot products (OMP_NUM_THREADS=2, then 1); load average $(load)"
for threads in 2 1; do
  OMP_NUM_THREADS=$threads "$build/bench/attn_bench_bf16" --benchmark_out="$out/bf16-$threads.json" --benchmark_out_format=json |
    tee "$out/bf16-$threads.txt"
done

if [[ -x "$build/bench/attn_bench_render" ]]; then
  echo
  echo "== Rendering (offscreen): model view and heatmap at N = 512 and 4096"
  QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=2 "$build/bench/attn_bench_render" \
    --benchmark_out="$out/render.json" --benchmark_out_format=json | tee "$out/render.txt"
fi

# Cold start: launching the window on the bundled default model with a sentence, to the first
# heatmap painted (--time-first-paint prints it and quits); five launches, offscreen and on a
# virtual X display. "external" also counts the process's exit.
echo
echo "== Cold start: attnscope --model <bundled> --text ... to the first heatmap painted (ms)"
model_dir=$(ls -d "$root"/resources/models/*/ | head -1)
for platform in offscreen xvfb; do
  for _ in 1 2 3 4 5; do
    start=$(date +%s%N)
    if [[ $platform == offscreen ]]; then
      inside=$(QT_QPA_PLATFORM=offscreen "$build/app/attnscope" --model "$model_dir" --text "The cat sat on the mat because it was tired." --time-first-paint 2>/dev/null)
    else
      inside=$(xvfb-run -a "$build/app/attnscope" --model "$model_dir" --text "The cat sat on the mat because it was tired." --time-first-paint 2>/dev/null)
    fi
    echo "$platform: $inside; external $((($(date +%s%N) - start) / 1000000)) ms"
  done
done | tee "$out/cold-start.txt"
