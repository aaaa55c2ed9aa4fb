#!/usr/bin/env bash
# Installs (as root, with apt) the Debian 12 packages amr needs to build, test and run.
set -euo pipefail
PACKAGES=(
  g++ cmake make ccache pkg-config
  libtorch-dev libopencv-dev libcli11-dev nlohmann-json3-dev libyaml-cpp-dev zlib1g-dev
  libgtest-dev libbenchmark-dev
  libgloo-dev                    # headers of c10d's ProcessGroupGloo (data-parallel training)
  libopenblas0-openmp            # fast BLAS for LibTorch's 1x1 convolutions (the reference BLAS is 8-10x slower)
  dataset-fashion-mnist          # raw material of the FashionScenes demo/benchmark data
  python3-torch python3-torchvision python3-numpy python3-pil python3-opencv   # test/benchmark oracles only
  chromium                       # the report test renders the HTML headless
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
