#!/usr/bin/env bash
# Configures and builds amr into build/ (Release). Extra arguments are passed to cmake --build.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" "$@"
