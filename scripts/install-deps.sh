#!/usr/bin/env bash
# Installs every Debian package AttnScope needs to build, test and run.
# Idempotent: packages already present are skipped, so a second run is quick.
#   scripts/install-deps.sh           build + tests + GUI (what the README's commands need; the
#                                     Python recorder's test needs Debian's PyTorch; the man
#                                     page, the .deb and the install tests need the packaging
#                                     tools on the line with help2man)
#   scripts/install-deps.sh --tools   also what tools/ and the PyTorch benchmark need
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libeigen3-dev nlohmann-json3-dev libonig-dev libicu-dev libsentencepiece-dev libgtest-dev libgmock-dev libbenchmark-dev
  qt6-base-dev qt6-svg-dev libqt6svg6 libqt6opengl6-dev libgl-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  xvfb xauth fonts-dejavu-core
  help2man dpkg-dev file desktop-file-utils appstream bash-completion shared-mime-info libglib2.0-bin
  clang libclang-rt-14-dev libomp-14-dev
  python3-torch python3-numpy
)
if [[ "${1:-}" == "--tools" ]]; then
  packages+=(python3-regex libopenblas0-pthread dataset-fashion-mnist fortunes wordnet-base
             python3-sentencepiece sentencepiece)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
