#!/usr/bin/env bash
# Renders screenshots of every view (main window after a run, heatmap with a hover, model view,
# head view, rollout and attention flow, statistics, teaching window, dark theme, high-DPI,
# exported figures) into screenshots/, with a real window under Xvfb. Uses the bundled GPT-2
# model when present, else the fixture. Then the image views (overlay, hovered and clicked
# patch, head grid, image rollout and flow, prediction panel) on the bundled ViT (attnscope-vit-fashion) with one of its
# pictures, else the vit_cls fixture with a fixture picture. With the bundled models it also
# refreshes the README's three pictures in docs/images/.
#   ATTN_BUILD_DIR=/tmp/gui-build scripts/screenshots.sh [MODEL_DIR] [TEXT] [IMAGE_MODEL_DIR] [IMAGE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTN_BUILD_DIR:-$root/build}
out=${ATTN_SCREENSHOTS_DIR:-$root/screenshots}
cmake --build "$build" --target attnscope_screenshots attnscope --parallel "${ATTN_JOBS:-2}" >/dev/null
model=${1:-}
if [[ -z "$model" ]]; then
  for m in "$root/resources/models/attnscope-gpt2-small" "$root/tests/fixtures/models/gpt2"; do
    if [[ -f "$m/config.json" ]]; then model=$m; break; fi
  done
fi
text=${2:-"Once upon a time, there was a little cat. The cat sat on the mat because it was tired, and then the cat slept."}
tour="$build/ui/attnscope_screenshots"
mkdir -p "$out"
export XDG_CONFIG_HOME=$(mktemp -d)  # fresh settings: no state from the user's sessions
trap 'rm -rf "$XDG_CONFIG_HOME"' EXIT
# The translator: the bundled date translator, else the Marian fixture (random weights: nonsense
# words, but the layout is the point).
translator="$root/resources/models/attnscope-translate-dates"
[[ -f "$translator/config.json" ]] || translator="$root/tests/fixtures/models/marian_tiny"
translation_text="Sunday the third of July, 1994"
[[ "$translator" == *marian_tiny ]] && translation_text="the cat sat on the mat because it was tired"
echo "model: $model"
# View ▸ Reading (sinks hidden, words, sentences) on the bundled BERT, else the fixture.
reader="$root/resources/models/attnscope-bert-mini"
[[ -f "$reader/config.json" ]] || reader="$root/tests/fixtures/models/bert_mlm"
xvfb-run -a -s "-screen 0 1600x1000x24" "$tour" --model "$model" --text "$text" --out "$out" \
  --translator "$translator" --reader "$reader"
# High-DPI: the same window at twice the scale.
QT_SCALE_FACTOR=2 xvfb-run -a -s "-screen 0 3200x2000x24" "$tour" --model "$model" --text "$text" --out "$out" --prefix hidpi-
# The command line's headless export, for comparison.
"$build/app/attnscope" export --model "$model" --text "$text" --view model --size 1200x1000 --out "$out/cli-model.png"
"$build/app/attnscope" export --model "$model" --text "$text" --view heatmap --layer -1 --head mean --colormap magma --out "$out/cli-heatmap.svg"
"$build/app/attnscope" export --model "$model" --text "$text" --view qk --layer -1 --head 1 --query 20 --out "$out/cli-qk.png"
# The compare view from the command line: the text against itself with "dog" for "cat" (same length).
"$build/app/attnscope" record --model "$model" --text "$text" --out "$out/compare-a.safetensors" >/dev/null
"$build/app/attnscope" record --model "$model" --text "${text//cat/dog}" --out "$out/compare-b.safetensors" >/dev/null
"$build/app/attnscope" export --recording "$out/compare-a.safetensors" --recording-b "$out/compare-b.safetensors" --view compare --layer -1 --head mean --out "$out/cli-compare.png"

"$build/app/attnscope" export --model "$reader" --text "$text" --view heatmap --layer -1 --head mean --hide-special --words --out "$out/cli-reading-words.png"

# The image views.
image_model=${3:-}
image=${4:-}
if [[ -z "$image_model" ]]; then
  for m in "$root/resources/models/attnscope-vit-fashion" "$root/tests/fixtures/models/vit_cls"; do
    if [[ -f "$m/config.json" && -f "$m/model.safetensors" ]]; then image_model=$m; break; fi
  done
fi
if [[ -z "$image" ]]; then
  image=$(find "$image_model" -maxdepth 2 \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.bmp' \) 2>/dev/null | sort | head -n 1)
  [[ -n "$image" ]] || image="$root/tests/fixtures/images/shapes.png"
fi
echo "image model: $image_model, picture: $image"
xvfb-run -a -s "-screen 0 1600x1000x24" "$tour" --model "$image_model" --image "$image" --out "$out"
"$build/app/attnscope" export --model "$image_model" --image "$image" --view overlay --overlay smooth --layer -1 --head mean --out "$out/cli-overlay.png"
"$build/app/attnscope" export --model "$image_model" --image "$image" --view overlay-heads --layer -1 --out "$out/cli-overlay-heads.svg"
"$build/app/attnscope" export --model "$image_model" --image "$image" --view image-rollout --discard 0.9 --fusion max --out "$out/cli-image-rollout.pdf"
"$build/app/attnscope" export --model "$image_model" --image "$image" --view image-rollout --rollout-method flow --out "$out/cli-image-flow.png"
# A translation, from the command line.
"$build/app/attnscope" generate --model "$translator" --text "$translation_text" --max-new-tokens 12 --out "$out/translation.safetensors" >/dev/null
"$build/app/attnscope" export --recording "$out/translation.safetensors" --view alignment --layer -1 --head mean --out "$out/cli-alignment.png"
"$build/app/attnscope" export --recording "$out/translation.safetensors" --view alignment --lines --words --all-layers --head mean --out "$out/cli-alignment-lines.png"
"$build/app/attnscope" export --recording "$out/translation.safetensors" --view timeline --step all --out "$out/cli-timeline.png" >/dev/null

# The README's pictures (docs/images/), from the bundled models only (the fixtures' random
# weights would make poor pictures): the model view, a head on a long input (the induction
# head of the toy model on 26 syllables said four times: each token attends to the one that
# followed its last occurrence), and an image overlay.
docs="$root/docs/images"
induction="$root/resources/models/attnscope-induction-toy"
if [[ "$model" == "$root/resources/models/"* && "$image_model" == "$root/resources/models/"* && -f "$induction/config.json" ]]; then
  mkdir -p "$docs"
  cp "$out/1-model.png" "$docs/model-view.png"
  cp "$out/10-overlay.png" "$docs/image-overlay.png"
  syllables="fe ti ta sar mor da ra jun mir gan ven ru pin ban ko du zen lo nu hon sa bi dor te min ku"
  "$build/app/attnscope" export --model "$induction" --text "$syllables $syllables $syllables $syllables" \
    --view heatmap --layer 1 --head 0 --size 1500x950 --out "$docs/long-input-head.png"
  echo "README pictures in $docs"
fi
echo "screenshots in $out"
