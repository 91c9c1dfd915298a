#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS (default 60) from the seed corpora in tests/fuzz/corpus/. New inputs go to a
# scratch corpus, never into the repository; a crash leaves its input in
# build-fuzz/artifacts/ and makes this script fail.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
build=${ATTN_FUZZ_BUILD_DIR:-$root/build-fuzz}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DATTN_FUZZ=ON -DATTN_BUILD_GUI=OFF -DATTN_BUILD_TESTS=OFF
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(fuzz_safetensors fuzz_recording fuzz_config fuzz_tokenizer_files fuzz_tokenize fuzz_preprocessor_config fuzz_image_decode)
fi
cmake --build "$build" --parallel "${ATTN_JOBS:-$(nproc)}" --target "${targets[@]}"
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  echo "fuzz: $t for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 OMP_NUM_THREADS=1 "$build/fuzz/$t" "$work" "$root/tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t-" > "$build/$t.log" 2>&1; then
    echo "fuzz: $t FAILED — see $build/$t.log and $build/artifacts/"
    tail -40 "$build/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units" "$build/$t.log" | sed "s/^/fuzz: $t /" || true
  fi
  rm -rf "$work"
done
exit $status
