#!/usr/bin/env bash
# Builds AttnScope and packs it as a Debian package with CPack: attnscope_<version>_<arch>.deb
# in the repository's root (ATTN_PACKAGE_DIR for another folder), whose Depends dpkg-shlibdeps
# computes from the libraries the binary links. Prints the package's path. Then:
#   sudo apt install ./attnscope_*.deb
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
out=${ATTN_PACKAGE_DIR:-$root}
"$root/scripts/install-deps.sh"
ATTN_BUILD_DIR="$build" "$root/scripts/build.sh"
cpack --config "$build/CPackConfig.cmake" -B "$build/package" >/dev/null
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
deb=attnscope_${version}_$(dpkg --print-architecture).deb
mkdir -p "$out"
mv "$build/package/$deb" "$out/$deb"
echo "$(cd "$out" && pwd)/$deb"
