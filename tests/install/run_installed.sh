# Sourced by test_install.sh and test_package.sh: runs an installed attnscope (PREFIX/bin) on
# the bundled GPT-2 model under PREFIX/share, from a folder outside the source and build trees,
# and checks what was installed next to it.
#   check_installed PREFIX WORKDIR
check_installed() {
  local prefix=$1 work=$2
  local exe=$prefix/bin/attnscope model=$prefix/share/attnscope/models/attnscope-gpt2-small
  cd "$work"
  for f in "$exe" "$model/config.json" "$model/model.safetensors" \
           "$prefix/share/applications/attnscope.desktop" \
           "$prefix/share/mime/packages/attnscope.xml" \
           "$prefix/share/metainfo/io.github.attnscope.AttnScope.metainfo.xml" \
           "$prefix/share/icons/hicolor/scalable/apps/attnscope.svg" \
           "$prefix/share/bash-completion/completions/attnscope"; do
    [[ -e $f ]] || { echo "not installed: $f"; return 1; }
  done
  for size in 16 22 24 32 48 64 128 256; do
    [[ -s $prefix/share/icons/hicolor/${size}x${size}/apps/attnscope.png ]] || { echo "no ${size}px icon"; return 1; }
  done
  if [[ ${ATTN_EXPECT_MANPAGE:-1} == 1 ]]; then
    ls "$prefix"/share/man/man1/attnscope.1* >/dev/null || { echo "no man page"; return 1; }
  fi

  # The window's bundled models come from the installed prefix first; ATTNSCOPE_DATA_DIR last.
  mkdir -p "$work/data/models/extra-model"
  echo '{}' > "$work/data/models/extra-model/config.json"
  local version
  version=$(ATTNSCOPE_DATA_DIR="$work/data" "$exe" --version)
  echo "$version"
  local roots=${version#*bundled models: }
  roots=${roots%%$'\n'*}
  [[ $roots == "$(cd "$prefix/share/attnscope/models" && pwd -P)"* ]] || { echo "installed models are not searched first: $roots"; return 1; }
  [[ $roots == *", $(cd "$work/data/models" && pwd -P)" ]] || { echo "ATTNSCOPE_DATA_DIR is not searched last: $roots"; return 1; }

  "$exe" info --model "$model" | tee "$work/info.txt"
  grep -q gpt2 "$work/info.txt" || { echo "info does not name the family"; return 1; }
  "$exe" predict --model "$model" --text "Once upon a time, there was a little cat." | tee "$work/predict.txt"
  [[ -s $work/predict.txt ]] || { echo "predict printed nothing"; return 1; }
  "$exe" export --model "$model" --text "Once upon a time, there was a little cat." --view heatmap --layer -1 --head mean \
    --out "$work/heatmap.png"
  [[ $(head -c 8 "$work/heatmap.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || { echo "export wrote no PNG"; return 1; }
  echo "installed attnscope works from $prefix"
}
