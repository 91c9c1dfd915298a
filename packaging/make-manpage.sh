#!/usr/bin/env bash
# Writes attnscope.1 from the built binary's own help, so the man page cannot drift from it:
# help2man reads `attnscope --help` (name, synopsis, the command list), and a COMMANDS section
# is added with every command's `attnscope COMMAND --help` (usage, summary, each option).
#   packaging/make-manpage.sh ATTNSCOPE_EXE VERSION OUT.1
set -euo pipefail
exe=$1 version=$2 out=$3
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"  # a sanitized build writes its page too
include=$(mktemp)
trap 'rm -f "$include"' EXIT

# roff: a backslash is \e, a hyphen in an option is \-, a line may not start with . or '.
escape() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"; }

commands=$("$exe" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[[ -n "$commands" ]] || { echo "make-manpage: no commands in '$exe --help'" >&2; exit 1; }
{
  echo "[COMMANDS]"
  for c in $commands; do
    echo ".SS $c"
    # Usage lines (kept as they are), the summary, then one .TP per option: the option and its
    # value, then its help (continued on lines indented past the option column).
    "$exe" "$c" --help | escape | awk '
      /^Usage: / { sub(/^Usage: /, ""); print ".nf"; print; usage = 1; next }
      usage && /^  / { print; next }
      usage { print ".fi"; usage = 0 }
      /^Options:$/ { next }
      /^  \\-/ {
        line = $0; sub(/^  /, "", line)
        n = index(line, "  ")
        if (n > 0) { term = substr(line, 1, n - 1); text = substr(line, n); sub(/^ +/, "", text) }
        else { term = line; text = "" }
        print ".TP"; print "\\fB" term "\\fR"; if (text != "") print text
        next
      }
      /^ +/ { sub(/^ +/, ""); print; next }
      /^$/ { next }
      { print ".PP"; print }
      END { if (usage) print ".fi" }'
  done
  cat <<'SEE'
[FILES]
.TP
.I PREFIX/share/attnscope/models
The bundled models, found relative to the installed binary (then in the source tree of a
development build, then in
.IR $ATTNSCOPE_DATA_DIR /models).
[ENVIRONMENT]
.TP
.B ATTNSCOPE_DATA_DIR
A further folder whose
.I models
subfolder holds model folders offered by the window.
.TP
.B ATTNSCOPE_MEMORY_BUDGET
The memory a run may take before it is refused, e.g. 6G, 512M or bytes; half of the
machine's memory when unset (see
.BR \-\-force ).
.TP
.B ATTNSCOPE_ISA=baseline
Matrix products without AVX\-512 (\fBattnscope \-\-version\fR names the kernels used).
.TP
.B ATTNSCOPE_BF16=dot
BF16 weights multiplied as stored with AVX\-512 BF16 dot products, on CPUs that have them:
1.3\(en1.6 times as fast, a little less exact (a few 1e\-7 of each product's scale, where the
default, weights converted to F32 in blocks, stays near 1e\-7).
SEE
} > "$include"

help2man --no-info --no-discard-stderr --version-string="$version" \
  --name="see what transformer models attend to" --include="$include" --output="$out" "$exe"
