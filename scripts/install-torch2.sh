#!/usr/bin/env bash
# Installs the second supported LibTorch: the PyPI torch wheel (pinned below, CUDA-enabled; its
# libraries also run on a machine without a GPU) into a virtual environment, never the system.
# opencv-python-headless: only for the benchmarks (the official code on this PyTorch, bench/speed.sh).
# Prints the venv's torch cmake prefix (what -DCMAKE_PREFIX_PATH takes) on its last line.
#   AMR_TORCH2_VENV  where the venv goes (default: .venv-torch2 in the repository)
#   AMR_PYTHON       the interpreter that makes it (default: python3 first on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
# The GPU machines' PyTorch (2.11.0 with CUDA 13.0): a binary built here runs there on its libtorch.
TORCH_VERSION=2.11.0
VENV=${AMR_TORCH2_VENV:-$PWD/.venv-torch2}
PYTHON=${AMR_PYTHON:-python3}

if [[ ! -x $VENV/bin/python ]]; then
  "$PYTHON" -m venv "$VENV" || { echo "install-torch2: '$PYTHON -m venv' failed (Debian: apt install python3-venv)" >&2; exit 1; }
fi
OPENCV_VERSION=4.12.0.88
installed=$("$VENV/bin/python" -c 'import cv2, torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [[ $installed != "$TORCH_VERSION" ]]; then
  echo "install-torch2: installing torch==$TORCH_VERSION into $VENV" >&2
  "$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION" "opencv-python-headless==$OPENCV_VERSION" >&2
fi
"$VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)'
