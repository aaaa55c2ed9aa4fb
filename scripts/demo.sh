#!/usr/bin/env bash
# Installs what is missing, builds the amr binary and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --target amr_cli
./build/amr --help
./build/amr forward --arch resnet50 --size 320
