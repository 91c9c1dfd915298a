#!/usr/bin/env bash
# The README's first command: installs what the build needs, builds, and starts the
# AttnScope desktop app on the bundled default model with an example sentence already run.
# Arguments, when given, are passed to attnscope instead (e.g. a recording file, or a
# command such as `info --model DIR`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
exe=${ATTN_BUILD_DIR:-$root/build}/app/attnscope
if [[ $# -gt 0 ]]; then
  exec "$exe" "$@"
fi
model="$root/resources/models/attnscope-gpt2-small"
text="Once upon a time, there was a little cat. The cat sat on the mat because it was tired, and then the cat slept."
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" && -z "${QT_QPA_PLATFORM:-}" ]]; then
  echo "run.sh: no display found, so here is the command line on the bundled model instead of the window."
  echo "        (On a desktop, this command opens the AttnScope window.)"
  echo
  "$exe" info --model "$model"
  echo
  exec "$exe" predict --model "$model" --text "The cat sat on the" --top 5
fi
exec "$exe" --model "$model" --text "$text"
