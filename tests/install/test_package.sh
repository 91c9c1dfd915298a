#!/usr/bin/env bash
# The Debian package: cpack builds attnscope_<version>_amd64.deb from the build tree (nothing
# is compiled: the suite runs after the build), its Depends are computed by dpkg-shlibdeps and
# name the runtime libraries, and the unpacked package (dpkg-deb -x) runs on a bundled model.
# Exits 77 (skipped) without dpkg-deb / dpkg-shlibdeps.
#   test_package.sh BUILD_DIR VERSION [--no-manpage]
set -euo pipefail
build=$1 version=$2
[[ ${3:-} == --no-manpage ]] && export ATTN_EXPECT_MANPAGE=0
for tool in dpkg-deb dpkg-shlibdeps cpack; do
  command -v "$tool" >/dev/null || { echo "skipped: no $tool (Debian's dpkg-dev)"; exit 77; }
done
source "$(dirname "$0")/run_installed.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; exit 1; }
deb=$tmp/out/attnscope_${version}_$(dpkg --print-architecture).deb
[[ -f $deb ]] || { echo "no $deb:"; ls "$tmp/out"; exit 1; }
dpkg-deb -I "$deb"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libqt6widgets6 libqt6svg6 libqcustomplot libgomp1 libonig libicu libsentencepiece; do
  [[ $depends == *"$lib"* ]] || { echo "Depends does not name $lib: $depends"; exit 1; }
done
dpkg-deb -x "$deb" "$tmp/root"
mkdir "$tmp/work"
check_installed "$tmp/root/usr" "$tmp/work"
