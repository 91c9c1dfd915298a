#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and fuzzes them.
#
#   scripts/fuzz.sh [--ledger] [SECONDS] [TARGET...]   fuzz each target for SECONDS (default 60)
#   scripts/fuzz.sh --merge [TARGET...]                 minimise what runs found into the committed corpora
#   scripts/fuzz.sh --report                            CPU hours fuzzed per target, from the ledger
#
# A run resumes from the committed corpus (tests/fuzz/corpus/TARGET) plus what earlier runs on
# this machine found (build-fuzz/corpus/TARGET, where new inputs go; never the repository).
# --merge adds to tests/fuzz/corpus/TARGET only the inputs that reach new coverage (libFuzzer's
# -merge=1), so every session's fuzzing adds up: commit the merged corpora. --ledger appends
# one line per target (date, target, CPU seconds, inputs, result) to tests/fuzz/ledger.tsv, which
# the README's fuzzing table is summed from. A crash leaves its input in build-fuzz/artifacts/
# and makes this script fail. libFuzzer's -timeout (10 s) is wall time: a fuzzer run at the
# lowest priority beside builds or benchmarks can wait that long for the CPU and report a
# "timeout" whose input then runs in a fraction of a second; such runs set ATTN_FUZZ_TIMEOUT=60
# (a real hang still never ends).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_FUZZ_BUILD_DIR:-$root/build-fuzz}
ledger=$root/tests/fuzz/ledger.tsv
all_targets=(fuzz_safetensors fuzz_recording fuzz_config fuzz_tokenizer_files fuzz_tokenize fuzz_preprocessor_config
             fuzz_precompiled_charsmap fuzz_image_decode)

mode=run use_ledger=0
case "${1:-}" in
  --merge) mode=merge; shift ;;
  --report) mode=report; shift ;;
  --ledger) use_ledger=1; shift ;;
esac

if [[ $mode == report ]]; then
  [[ -f $ledger ]] || { echo "fuzz: no ledger yet ($ledger)"; exit 0; }
  printf "%-26s %9s %14s  %s\n" "target" "CPU hours" "inputs" "found"
  awk -F'\t' 'NR > 1 { s[$2] += $3; n[$2] += $4; if ($5 !~ /^clean/) bad[$2] = bad[$2] " " $1 ": " $5 }
    END { for (t in s) printf "%-26s %9.2f %14d  %s\n", t, s[t] / 3600, n[t], (bad[t] == "" ? "nothing" : bad[t]) }' "$ledger" | sort
  exit 0
fi

seconds=60
if [[ $mode == run && $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DATTN_FUZZ=ON -DATTN_BUILD_GUI=OFF -DATTN_BUILD_TESTS=OFF
fi
cmake --build "$build" --parallel "${ATTN_JOBS:-$(nproc)}" --target "${targets[@]}"
mkdir -p "$build/artifacts"

if [[ $mode == merge ]]; then
  for t in "${targets[@]}"; do
    found=$build/corpus/$t
    [[ -d $found ]] || { echo "fuzz: $t has no new inputs in $found"; continue; }
    before=$(find "$root/tests/fuzz/corpus/$t" -type f | wc -l)
    ASAN_OPTIONS=detect_leaks=0 OMP_NUM_THREADS=1 "$build/fuzz/$t" -merge=1 -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 "$root/tests/fuzz/corpus/$t" "$found" > "$build/$t.merge.log" 2>&1
    after=$(find "$root/tests/fuzz/corpus/$t" -type f | wc -l)
    echo "fuzz: $t corpus $before -> $after inputs"
  done
  exit 0
fi

[[ $use_ledger == 1 && ! -f $ledger ]] && printf 'date\ttarget\tseconds\tinputs\tresult\n' > "$ledger"
status=0
for t in "${targets[@]}"; do
  found=$build/corpus/$t
  mkdir -p "$found"
  echo "fuzz: $t for ${seconds}s"
  result=clean
  # LeakSanitizer's stop-the-world tracer itself crashes (signal 11 in the tracer, not in our
  # code) once Qt's image plugins have run in the process; picture decoding's leaks are
  # checked by the ASan + UBSan suite (the image tests run with detect_leaks=1) instead.
  leaks=1
  [[ $t == fuzz_image_decode ]] && leaks=0
  # The ledger counts CPU time (user + system), not wall time, so a run that shares the machine
  # (nice'd beside a build) is not over-counted.
  TIMEFORMAT='%U %S'
  if ! { time ASAN_OPTIONS=detect_leaks=$leaks OMP_NUM_THREADS=1 "$build/fuzz/$t" "$found" "$root/tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -timeout="${ATTN_FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t-" > "$build/$t.log" 2>&1; } 2> "$build/$t.cpu"; then
    echo "fuzz: $t FAILED — see $build/$t.log and $build/artifacts/"
    tail -40 "$build/$t.log"
    status=1
    result=finding
  fi
  inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log" | tail -1)
  echo "fuzz: $t ${inputs:-?} inputs"
  if [[ $use_ledger == 1 ]]; then
    ran=$(awk '{ printf "%d", $1 + $2 }' "$build/$t.cpu")
    printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$t" "${ran:-$seconds}" "${inputs:-0}" "$result" >> "$ledger"
  fi
done
exit $status
