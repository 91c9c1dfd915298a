#!/usr/bin/env bash
# check-isa-isolation.sh BINARY
#
# Fails when a global function of BINARY uses AVX-512 registers without being one of the AVX-512
# GEMM object's own (renamed *.avx512 by cmake/isolate_object.cmake): such a function would be
# an Eigen or standard-library instantiation that the linker took from the AVX-512 object for
# the whole program, and it would fault on a CPU without AVX-512. Exits 77 (skipped) when the
# binary has no AVX-512 code at all (a build without the kernel) or objdump is missing.
set -euo pipefail
binary=$1
command -v objdump > /dev/null || { echo "skipped: no objdump"; exit 77; }
zmm=$(mktemp) global=$(mktemp)
trap 'rm -f "$zmm" "$global"' EXIT
objdump -d --no-show-raw-insn "$binary" |
  awk '/^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3) } /%zmm/ { print fn }' | sort -u > "$zmm"
if [[ ! -s $zmm ]]; then
  echo "skipped: $binary has no AVX-512 code (built without the AVX-512 kernel)"
  exit 77
fi
nm "$binary" | awk '$2 ~ /^[TWu]$/ { print $3 }' | sort -u > "$global"
leaked=$(comm -12 "$zmm" "$global" | grep -v '\.avx512$' || true)
if [[ -n $leaked ]]; then
  echo "global functions outside the AVX-512 kernel use AVX-512 registers:"
  echo "$leaked"
  exit 1
fi
echo "$(wc -l < "$zmm") functions use AVX-512 registers; every global one is the kernel's own (.avx512)"
