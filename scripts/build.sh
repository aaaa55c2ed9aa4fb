#!/usr/bin/env bash
# Configures and builds amr (Release).
#   scripts/build.sh [ARGS]                  against Debian's LibTorch 1.13 (libtorch-dev), into build/
#   scripts/build.sh --torch2 [ARGS]         against the pinned PyPI LibTorch 2.x (CUDA-enabled; installed into
#                                            a venv by scripts/install-torch2.sh, whose python is then the
#                                            tests' oracle), into build-torch2/
#   scripts/build.sh --libtorch DIR [ARGS]   against any LibTorch (DIR holds share/cmake/Torch, e.g. an unzipped
#                                            libtorch download), into build-libtorch/
# ARGS go to cmake --build (e.g. --target amr_cli, -- -k). AMR_BUILD_DIR overrides the directory.
# A build into an empty directory records its wall time in DIR/fresh-build-seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
prefix=()
case "${1:-}" in
  --torch2)
    shift
    dir=build-torch2
    python=$(bash scripts/install-torch2.sh | tail -1)
    # The test oracles run on the same torch version as the LibTorch under test.
    prefix=(-DCMAKE_PREFIX_PATH="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')" -DAMR_PYTHON="$python")
    ;;
  --libtorch)
    [[ $# -ge 2 && -d ${2:-} ]] || { echo "scripts/build.sh --libtorch: expected a LibTorch directory, got '${2:-}'" >&2; exit 2; }
    [[ -d $2/share/cmake/Torch ]] || { echo "scripts/build.sh --libtorch $2: no share/cmake/Torch in it (not a LibTorch)" >&2; exit 2; }
    dir=build-libtorch
    prefix=(-DCMAKE_PREFIX_PATH="$(cd "$2" && pwd)")
    shift 2
    ;;
esac
dir=${AMR_BUILD_DIR:-$dir}
fresh=0
[[ -f $dir/CMakeCache.txt ]] || fresh=1
start=$(date +%s)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "${prefix[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" "$@"
if ((fresh)) && [[ $# -eq 0 ]]; then
  echo "$(($(date +%s) - start)) $(date -u +%F) ccache=$([[ -n ${CCACHE_DISABLE:-} ]] && echo off || echo on)" > "$dir/fresh-build-seconds"
fi
