#!/usr/bin/env bash
# The man page cannot drift from --help: every command that `attnscope --help` lists has its
# section, and every option of `attnscope --help` and `attnscope COMMAND --help` is in the page.
#   test_manpage.sh ATTNSCOPE_EXE MANPAGE
set -euo pipefail
exe=$1 page=$2
text=$(sed 's/\\-/-/g' "$page")  # roff writes a hyphen as \-
missing=0
commands=$("$exe" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[[ -n $commands ]] || { echo "no commands in $exe --help"; exit 1; }
for c in $commands; do
  grep -qx "\.SS $c" <<<"$text" || { echo "man page has no section for '$c'"; missing=1; }
  for o in $("$exe" "$c" --help | grep -oE '^  (-h, )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'); do
    # Each option of the command is a .TP entry inside the command's section.
    awk -v c="$c" -v o="$o" '$0 == ".SS " c { on = 1; next } /^\.SS / { on = 0 } /^\[/ { on = 0 }
         on && /^\\fB/ { t = $0; gsub(/\\f[BR]/, "", t); n = split(t, w, /[ ,]+/)
                           for (i = 1; i <= n; i++) if (w[i] == o) found = 1 }
         END { exit !found }' <<<"$text" \
      || { echo "man page: '$c' lacks $o"; missing=1; }
  done
done
for o in $("$exe" --help | grep -oE -- '--[a-z0-9-]+' | sort -u); do
  grep -qF -- "$o" <<<"$text" || { echo "man page lacks the window's $o"; missing=1; }
done
[[ $missing == 0 ]] && echo "man page lists all $(wc -w <<<"$commands") commands and their options"
exit $missing
