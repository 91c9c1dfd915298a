#!/usr/bin/env bash
# The MIME type (packaging/attnscope-mime.xml), in a MIME database of its own with the
# freedesktop.org types: a recording is application/x-attnscope-recording by its name and, when
# renamed, by its metadata; model weights renamed are not. Exits 77 (skipped) without
# update-mime-database (shared-mime-info) or gio (libglib2.0-bin).
#   test_mime.sh ATTNSCOPE_EXE MIME_XML MODEL_DIR
set -euo pipefail
exe=$1 xml=$2 model=$3
for tool in update-mime-database gio; do
  command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }
done
base=/usr/share/mime/packages/freedesktop.org.xml
[[ -f $base ]] || { echo "skipped: no $base"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mime/packages"
cp "$base" "$tmp/mime/packages/"
cp "$xml" "$tmp/mime/packages/attnscope.xml"
update-mime-database "$tmp/mime" >/dev/null 2>&1
"$exe" record --model "$model" --text "The cat sat on the mat." --out "$tmp/run.safetensors" >/dev/null
cp "$tmp/run.safetensors" "$tmp/renamed.bin"
cp "$model/model.safetensors" "$tmp/weights.bin"  # safetensors, but not a recording
type_of() { XDG_DATA_HOME="$tmp" XDG_DATA_DIRS="$tmp" gio info -a standard::content-type "$tmp/$1" | awk '/content-type:/ { print $2 }'; }
failed=0
for f in run.safetensors renamed.bin; do
  echo "$f: $(type_of "$f")"
  [[ $(type_of "$f") == application/x-attnscope-recording ]] || failed=1
done
echo "weights.bin: $(type_of weights.bin)"
[[ $(type_of weights.bin) != application/x-attnscope-recording ]] || failed=1
exit $failed
