#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, which is then moved (so nothing can rest on the
# path it was installed to, and neither the build tree nor the source tree is next to it), and
# the installed attnscope runs info / predict / export on a bundled model from there.
#   test_install.sh BUILD_DIR [--no-manpage]
set -euo pipefail
build=$1
[[ ${2:-} == --no-manpage ]] && export ATTN_EXPECT_MANPAGE=0
source "$(dirname "$0")/run_installed.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/staged" >/dev/null
mkdir "$tmp/elsewhere"
mv "$tmp/staged" "$tmp/elsewhere/prefix"
mkdir "$tmp/work"
check_installed "$tmp/elsewhere/prefix" "$tmp/work"
