#!/usr/bin/env bash
# Installs the second supported LibTorch: the PyPI torch wheel (pinned below, CUDA-enabled; its
# libraries also run on a machine without a GPU) into a virtual environment, never the system.
# torchvision and opencv-python-headless: only for the test oracles and benchmarks (the parity tests
# compare with the reference on the same torch version as the LibTorch under test; bench/speed.sh
# times the official code on it). Prints the venv's python on its last line (its
# torch.utils.cmake_prefix_path is what -DCMAKE_PREFIX_PATH takes).
#   AMR_TORCH2_VENV  where the venv goes (default: .venv-torch2 in the repository)
#   AMR_VENV_PYTHON  the interpreter that makes it (default: python3 first on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
# The GPU machines' PyTorch (2.11.0 with CUDA 13.0): a binary built here runs there on its libtorch.
TORCH_VERSION=2.11.0
VENV=${AMR_TORCH2_VENV:-$PWD/.venv-torch2}
PYTHON=${AMR_VENV_PYTHON:-python3}

if [[ ! -x $VENV/bin/python ]]; then
  "$PYTHON" -m venv "$VENV" || { echo "install-torch2: '$PYTHON -m venv' failed (Debian: apt install python3-venv)" >&2; exit 1; }
fi
TORCHVISION_VERSION=0.26.0
OPENCV_VERSION=4.6.0.66  # Debian 12's OpenCV, which amr links: the oracles resize images as amr does
NUMPY_VERSION=1.26.4     # that OpenCV's wheel needs numpy 1.x
installed=$("$VENV/bin/python" -c 'import cv2, torchvision, torch; print(torch.__version__.split("+")[0], cv2.__version__)' 2>/dev/null || true)
if [[ $installed != "$TORCH_VERSION ${OPENCV_VERSION%.*}" ]]; then
  echo "install-torch2: installing torch==$TORCH_VERSION into $VENV" >&2
  "$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
    "opencv-python-headless==$OPENCV_VERSION" "numpy==$NUMPY_VERSION" >&2
fi
echo "$VENV/bin/python"
