#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
#   scripts/test.sh             against Debian's LibTorch 1.13 (build/), as CI
#   scripts/test.sh --torch2    against the pinned PyPI LibTorch 2.x (build-torch2/, see scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 0 || ${1:-} == --torch2 ]] || { echo "scripts/test.sh: expected no argument or --torch2, got '$1'" >&2; exit 2; }
bash scripts/install-deps.sh
bash scripts/build.sh "$@"
dir=build
[[ ${1:-} == --torch2 ]] && dir=build-torch2
cd "${AMR_BUILD_DIR:-$dir}" && ctest -j2 --output-on-failure
