#!/usr/bin/env bash
# The README's first command: installs what the build needs, builds, and starts AttnScope
# on the bundled default model. Arguments are passed to attnscope.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
exe=${ATTN_BUILD_DIR:-$root/build}/app/attnscope
model="$root/resources/models/attnscope-gpt2-small"
if [[ $# -gt 0 ]]; then
  exec "$exe" "$@"
fi
# Until the GUI lands, the main job is the command line on the bundled model.
"$exe" info --model "$model"
echo
"$exe" predict --model "$model" --text "The cat sat on the" --top 5
