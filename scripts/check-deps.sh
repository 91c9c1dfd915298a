#!/usr/bin/env bash
# Checks the dependency rule by reading every #include "…" of the sources:
#   core ← imageio ← ui ← app: core includes nothing outside core/, imageio nothing of ui/ or
#   app/, ui nothing of app/;
#   inside ui/, folders are layered (below), and a folder includes only its own headers and
#   those of the layers beneath it;
#   no two folders anywhere include each other (core/record ↔ core/image, say).
# Prints each violation as FILE: includes HEADER (what the rule says) and exits 1 if any.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# ui/ layers, lowest first; a folder may include its own layer's folder and every lower layer.
ui_layers=("qt_convert" "colormap image" "run" "state" "views" "headless" "teaching" "window" "tour")
ui_rank() {
  local i
  for i in "${!ui_layers[@]}"; do
    for f in ${ui_layers[$i]}; do [[ $f == "$1" ]] && { echo "$i"; return; }; done
  done
  echo -1
}

# The component of a source or header path: core/DIR, imageio, ui/DIR, app.
folder_of() {
  local rest
  case $1 in
    core/*/*) rest=${1#core/}; echo "core/${rest%%/*}" ;;
    core/*) echo core ;;
    imageio/*) echo imageio ;;
    ui/*/*) rest=${1#ui/}; echo "ui/${rest%%/*}" ;;
    ui/*) echo "ui/qt_convert" ;;
    app/*) echo app ;;
  esac
}

# The component of an included header, looked up as the compiler does (the including file's
# folder, then the include directories); empty for system and test headers.
component_of() {  # $1 = including file, $2 = included path
  local inc=$2 base p
  for base in "${1%/*}" core imageio ui app; do
    [[ -f "$base/$inc" ]] || continue
    p="$base/$inc"
    [[ $p == *..* ]] && p=$(realpath --relative-to="$root" "$p")
    folder_of "$p"
    return
  done
}

violations=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
while IFS= read -r file; do
  from=$(folder_of "$file")
  [[ -n $from ]] || continue
  while IFS= read -r inc; do
    to=$(component_of "$file" "$inc")
    [[ -n $to && $to != "$from" ]] || continue
    echo "$from $to" >> "$edges"
    why=""
    case $from in
      core*) [[ $to == core/* ]] || why="the core includes only core/" ;;
      imageio) [[ $to == core/* ]] || why="imageio/ includes only core/" ;;
      ui/*)
        case $to in
          core/* | imageio) ;;
          app) why="ui/ never includes app/" ;;
          ui/*)
            rf=$(ui_rank "${from#ui/}") rt=$(ui_rank "${to#ui/}")
            if [[ $rf -lt 0 ]]; then why="ui/${from#ui/} is in no layer of scripts/check-deps.sh: add it"
            elif [[ $rt -lt 0 ]]; then why="ui/${to#ui/} is in no layer of scripts/check-deps.sh: add it"
            elif [[ $rt -ge $rf ]]; then why="$from may include only lower ui/ layers, which are, lowest first: $(printf '[%s] ' "${ui_layers[@]}")"
            fi ;;
        esac ;;
    esac
    if [[ -n $why ]]; then
      echo "$file: includes \"$inc\" ($to): $why"
      violations=$((violations + 1))
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(git ls-files 'core/*.cpp' 'core/*.h' 'imageio/*.cpp' 'imageio/*.h' 'ui/*.cpp' 'ui/*.h' 'app/*.cpp' 'app/*.h' 2>/dev/null ||
         find core imageio ui app -name '*.cpp' -o -name '*.h')

# Two folders that include each other.
sort -u "$edges" | while read -r a b; do
  if [[ "$a" < "$b" ]] && grep -qx "$b $a" <(sort -u "$edges"); then
    echo "$a and $b include each other: one of them must not"
    echo cycle
  fi
done > "$edges.cycles"
if grep -q . "$edges.cycles"; then
  grep -v '^cycle$' "$edges.cycles"
  violations=$((violations + $(grep -c '^cycle$' "$edges.cycles")))
fi
rm -f "$edges.cycles"

if [[ $violations -gt 0 ]]; then
  echo "check-deps: $violations violations of the dependency rule"
  exit 1
fi
echo "check-deps: the dependency rule holds ($(sort -u "$edges" | wc -l) folder-to-folder includes)"
