#!/usr/bin/env bash
# The bash completion (packaging/attnscope.bash-completion) completes commands, a command's
# options and a DIR option's value from the binary's own --help. Exits 77 (skipped) without
# the bash-completion package, which it builds on.
#   test_completion.sh ATTNSCOPE_EXE COMPLETION_FILE
set -uo pipefail
exe=$1 completion=$2
main=/usr/share/bash-completion/bash_completion
[[ -f $main ]] || { echo "skipped: no $main (Debian's bash-completion)"; exit 77; }
source "$main"
source "$completion"
complete_line() {  # prints what completing the last word gives
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _attnscope
  echo "${COMPREPLY[*]}"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/some-model" && touch "$tmp/some-file"
cd "$tmp"
failed=0
expect() {  # expect WANTED GOT
  [[ " $2 " == *" $1 "* ]] || { echo "expected '$1' among: $2"; failed=1; }
}
expect export "$(complete_line "$exe" ex)"
expect predict "$(complete_line "$exe" "")"
expect --view "$(complete_line "$exe" export --vi)"
expect --max-new-tokens "$(complete_line "$exe" generate --max)"
expect some-model "$(complete_line "$exe" info --model so)"
got=$(complete_line "$exe" info --model so)
[[ $got != *some-file* ]] || { echo "--model DIR offers a file: $got"; failed=1; }
[[ -z $(complete_line "$exe" export --layer "") ]] || { echo "--layer L offers something"; failed=1; }
[[ $failed == 0 ]] && echo "bash completion completes commands, options and folders"
exit $failed
