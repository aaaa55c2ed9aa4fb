#!/usr/bin/env bash
# Installs the build (cmake --install) into a temporary prefix, builds the consumer against it
# with find_package(amr), runs it. Args: BUILD_DIR SOURCE_DIR.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
test -x "$tmp/prefix/bin/amr"
"$tmp/prefix/bin/amr" --help > /dev/null
# The LibTorch the build used (a venv's or a download's; empty for Debian's) is found the same way.
torch_prefix=$(sed -n 's/^CMAKE_PREFIX_PATH:[A-Z]*=//p' "$build/CMakeCache.txt")
cmake -S "$src/tests/package/consumer" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix${torch_prefix:+;$torch_prefix}" \
  -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$tmp/build" -j2 > /dev/null
"$tmp/build/consumer" "$tmp"
