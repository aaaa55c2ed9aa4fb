#!/usr/bin/env bash
# The house rules that a compiler does not check, run by ctest (test `structure`):
#  1. arrows point down: a room includes only the rooms below it (ARCHITECTURE.md);
#  2. no global mutable state in src/ or include/ (settings travel as arguments: Runtime, options);
#  3. no function definition in src/ longer than 80 lines.
# Prints each violation as FILE:LINE: what; exits 1 if there is any.
set -uo pipefail
cd "${1:-$(dirname "$0")/..}"

# Each room and the rooms it may include (besides itself). cli sits on top and may use all.
declare -A allowed=(
  [base]=""
  [io]="base"
  [crf]="base"
  [distributed]="base"
  [model]="base io"
  [data]="base io"
  [cam]="base io crf model data"
  [eval]="base io data cam model"
  [irn]="base io crf model data cam"
  [train]="base io model data distributed eval irn"
  [seg]="base io crf model data distributed eval train"
)
bad=0
report() { echo "$1"; bad=1; }

room_of() {  # include/amr/ROOM/x.h or src/ROOM/x.cpp -> ROOM
  local p=${1#include/amr/}; p=${p#src/}
  [[ $p == */* ]] && echo "${p%%/*}" || echo "?"
}

for f in $(find include/amr src -name '*.h' -o -name '*.cpp' | sort); do
  room=$(room_of "$f")
  [[ $room == cli ]] && continue
  if [[ -z ${allowed[$room]+x} ]]; then report "$f: room '$room' is not in scripts/check-structure.sh (add it, with the rooms it may use)"; continue; fi
  while IFS=: read -r line target; do
    [[ $target == "$room" ]] && continue
    [[ " ${allowed[$room]} " == *" $target "* ]] && continue
    report "$f:$line: room '$room' includes amr/$target/ (allowed: ${allowed[$room]:-none})"
  done < <(grep -nE '^#include "amr/[a-z_]+/' "$f" | sed -E 's#^([0-9]+):.*"amr/([a-z_]+)/.*#\1:\2#')
done

# Mutable statics: `static`/`thread_local` variables that are not const, at any depth; and
# variables defined at namespace scope (column 0 in this code's style) that are not const.
while IFS= read -r hit; do report "$hit: mutable static state (pass it as an argument, or make it const)"; done < <(
  grep -rnP '(^|[{;]\s*)(static|thread_local)\s+(?!const\b|constexpr\b|inline\b)[^(=;{]*[;={]' src include |
    grep -vP ':\s*static_assert')
while IFS= read -r hit; do report "$hit: mutable global variable (pass it as an argument, or make it const)"; done < <(
  grep -rnP '^(?!const\b|constexpr\b|inline constexpr\b|using\b|typedef\b|namespace\b|template\b|struct\b|class\b|enum\b|union\b|extern\b|friend\b|return\b|static\b|#|//|\}|\s)[A-Za-z_][\w:<>,\s\*&]*[\s\*&]\w+\s*(=(?!=)|;|\{)' src include |
    grep -vP ':\d+:[^(]*\(')

# Function length: from a column-0 line with '(' to the next line that is '}' alone.
while IFS= read -r hit; do report "$hit"; done < <(
  find src -name '*.cpp' | sort | xargs awk '
    FNR == 1 { start = 0 }
    start == 0 && /^[A-Za-z_].*\(/ && !/^(namespace|using|struct|class|enum|template|typedef|static_assert)\b/ && !/;[[:space:]]*$/ { start = FNR; name = $0 }
    start > 0 && /^}/ {
      if (FNR - start + 1 > 80) printf "%s:%d: function of %d lines (at most 80): %s\n", FILENAME, start, FNR - start + 1, substr(name, 1, 60)
      start = 0
    }')

if ((bad)); then echo "structure: violations found"; exit 1; fi
echo "structure: ok (rooms, no mutable globals, functions <= 80 lines)"
