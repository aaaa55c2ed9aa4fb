#!/usr/bin/env bash
# The GPU checks of amr in one prepared script (issue: LibTorch 2.x / CUDA / NCCL).
#
#   bash bench/gpu.sh prepare   here (no GPU needed): the CUDA-enabled build against the pinned PyPI
#                               LibTorch (scripts/build.sh --torch2), then bench/gpu_carry/ (git-ignored):
#                               the amr binary and test_devices, the non-torch shared libraries they
#                               load, the official AMR code and 8 CamVid photos at 500x375.
#   bash bench/gpu.sh run       on the GPU machine, from a copy of the repository with bench/gpu_carry,
#                               against that machine's own PyTorch (its torch/lib), no network; <= 8 min:
#                                 1. test_devices: 3 training steps CUDA vs CPU (cam, amr; <= 1e-3), CAMs
#                                    and AdvCAM CUDA vs CPU, bf16 vs fp32, a 1-rank NCCL training run;
#                                 2. plain CAMs (4 scales + flip, both branches, 500x375): the official
#                                    loop (official_speed.py cam) vs amr fp32 and bf16, s/image;
#                                 3. AdvCAM (7 scales, both branches, 2 classes): the official make_cam
#                                    vs amr --refine advcam, s/image.
#                               Writes bench/results/cuda.md (and a copy under $OUT when set).
#                               Without a GPU it checks what it can and stops before step 1.
#   ADV_ITER=K        AdvCAM iterations on both sides (default 8; the official default is 27)
#   AMR_GPU_PYTHON=P  the python with the machine's PyTorch (default python3)
#   AMR_GPU_DRY_RUN=1 everything on the CPU, bf16 as fp32, 2 images, 1 AdvCAM iteration: checks the
#                     script itself on a machine without a GPU (its cuda.md is marked as a dry run)
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=bench/gpu_carry
ADV_ITER=${ADV_ITER:-8}
mode=${1:-}

prepare() {
  W=$(mktemp -d)
  trap 'rm -rf "$W"' EXIT
  bash scripts/build.sh --torch2 --target amr_cli --target test_devices
  ldd build-torch2/amr | grep -q libtorch_cuda ||
    { echo "bench/gpu.sh prepare: build-torch2/amr does not link libtorch_cuda (not a CUDA build)" >&2; exit 2; }
  rm -rf "$CARRY"
  mkdir -p "$CARRY/bin" "$CARRY/images" "$W/lib"
  cp build-torch2/amr build-torch2/tests/test_devices "$CARRY/bin/"
  # Shared libraries outside LibTorch, CUDA and the C/C++ runtime (the GPU machine has its own of
  # those), xz-compressed: Debian's OpenCV pulls in GDAL's ~130 libraries (~210 MB), the carry
  # takes 64 MiB.
  ldd build-torch2/amr build-torch2/tests/test_devices | awk '/=> \// {print $1, $3}' | sort -u |
    grep -Ev '^(libtorch|libc10|libcaffe2|libshm|libgomp|libcuda|libcudart|libcublas|libcudnn|libcufft|libcufile|libcurand|libcusolver|libcusparse|libnccl|libnv|libcupti|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread|libstdc\+\+|libgcc_s|ld-linux)' |
    while read -r name path; do cp -L "$path" "$W/lib/$name"; done
  tar -C "$W" -cf - lib | xz -T0 -6 > "$CARRY/lib.tar.xz"
  local ref=../shared/reference/amr-official
  [[ -d $ref ]] || { echo "bench/gpu.sh prepare: $ref not found (the official code is the speed reference)" >&2; exit 2; }
  cp -r "$ref" "$CARRY/amr-official"
  /usr/bin/python3 - ../shared/data/camvid/JPEGImages "$CARRY/images" <<'PYEOF'
import os, sys, cv2
src, out = sys.argv[1], sys.argv[2]
for i, f in enumerate(sorted(os.listdir(src))[:64:8]):
    im = cv2.imread(os.path.join(src, f))
    cv2.imwrite(os.path.join(out, f"img{i}.jpg"), cv2.resize(im, (500, 375), interpolation=cv2.INTER_AREA),
                [cv2.IMWRITE_JPEG_QUALITY, 95])
PYEOF
  echo "bench/gpu.sh prepare: $(du -sh "$CARRY" | cut -f1) in $CARRY ($(ls "$W/lib" | wc -l) libraries)"
  echo "on the GPU machine: bash bench/gpu.sh run   (carry $CARRY)"
}

# The GPU machine's torch/lib first, then the carried libraries: the binaries were linked against
# the same torch version (scripts/install-torch2.sh pins the GPU machines' version).
environment() {
  [[ -x $CARRY/bin/amr && -f $CARRY/lib.tar.xz ]] ||
    { echo "bench/gpu.sh run: $CARRY/bin/amr or lib.tar.xz missing (bash bench/gpu.sh prepare, then carry $CARRY)" >&2; exit 2; }
  LIBS=$(mktemp -d)
  tar -C "$LIBS" -xJf "$CARRY/lib.tar.xz"
  PY=${AMR_GPU_PYTHON:-python3}
  $PY -c 'import torch' 2>/dev/null || { echo "bench/gpu.sh run: $PY has no torch (set AMR_GPU_PYTHON to the machine's PyTorch python)" >&2; exit 2; }
  TORCH_LIB=$($PY -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  TORCH_VERSION=$($PY -c 'import torch; print(torch.__version__)')
  # Only amr's processes see the carried libraries (Debian's builds of libraries the machine also has).
  AMR_LD="$TORCH_LIB:$LIBS/lib"
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s" exec "%s" "$@"\n' "$AMR_LD" "$PWD/$CARRY/bin/amr" > "$LIBS/amr"
  chmod +x "$LIBS/amr"
  AMR=$LIBS/amr
  export AMR_TEST_CLI=$AMR
  "$AMR" --help >/dev/null || { echo "bench/gpu.sh run: $AMR does not start against $TORCH_LIB" >&2; exit 2; }
  echo "amr starts against torch $TORCH_VERSION ($TORCH_LIB)"
}

seconds_per_image() { grep -o '[0-9.]* s/image' "$1" | cut -d' ' -f1; }

# amr's plain CAM s/image at precision $1 without the first image (CUDA context, cuDNN's first
# calls), as the official loop is timed: (N x t_N - t_1) / (N - 1) from a run on the whole list
# and one on its first image.
steady_cam_seconds() {
  head -1 "$W/voc/list.txt" > "$W/voc/first.txt"
  local list n t
  for list in first list; do
    rm -rf "$W/cams"
    "$AMR" cam --weights "$W/amr.pt" --arch resnet50 --data "$W/voc" --list "$list.txt" --out "$W/cams" --device "$DEV" \
      --precision "$1" --quiet > "$W/cam_$list.txt"
  done
  n=$(wc -l < "$W/voc/list.txt")
  $PY -c "print(($n * $(seconds_per_image "$W/cam_list.txt") - $(seconds_per_image "$W/cam_first.txt")) / ($n - 1))"
}

run_checks() {
  environment
  DEV=cuda BF16=bf16 DRY=${AMR_GPU_DRY_RUN:-0}
  if [[ $DRY == 1 ]]; then
    DEV=cpu BF16=fp32 ADV_ITER=1
  elif ! $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "bench/gpu.sh run: no CUDA GPU visible to torch $TORCH_VERSION: stopped before the first GPU step" >&2
    exit 3
  fi
  W=$(mktemp -d)
  trap 'rm -rf "$W" "$LIBS"' EXIT
  GPU="none (dry run on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
  [[ $DRY == 1 ]] || GPU=$($PY -c 'import torch; print(torch.cuda.get_device_name(), "| CUDA", torch.version.cuda)')
  echo "== 1. test_devices on $GPU" >&2
  set +e
  LD_LIBRARY_PATH="$AMR_LD" "$CARRY/bin/test_devices" 2>&1 | tee "$W/tests.txt"
  TESTS_RC=${PIPESTATUS[0]}
  set -e

  echo "== 2. plain CAMs" >&2
  mkdir -p "$W/voc/JPEGImages"
  cp "$CARRY"/images/*.jpg "$W/voc/JPEGImages/"
  [[ $DRY == 1 ]] && rm "$W"/voc/JPEGImages/img[2-9].jpg
  ( echo background; for i in $(seq 0 19); do echo "c$i"; done ) > "$W/voc/classes.txt"
  ls "$W/voc/JPEGImages" | sed 's/.jpg//' > "$W/voc/list.txt"
  awk '{print $1" 0 0 0 0 0 0 1 0 0 0 0 0 0 0 1 0 0 0 0 0"}' "$W/voc/list.txt" > "$W/voc/cls_labels.txt"
  OFF="$PY $PWD/bench/python/official_speed.py"
  REF=$PWD/$CARRY/amr-official
  $OFF weights "$REF" "$W/official.pth" "$W"/voc/JPEGImages/*.jpg >/dev/null
  "$AMR" import-weights --from "$W/official.pth" --arch resnet50 --out "$W/amr.pt" >/dev/null
  OFFICIAL_DEVICE=$DEV $OFF cam "$REF" "$W/official.pth" "$W"/voc/JPEGImages/*.jpg > "$W/off_cam.json"
  OFF_CAM=$($PY -c "import json; print(json.load(open('$W/off_cam.json'))['cam_s_per_image'])")
  OUR_CAM=$(steady_cam_seconds fp32)
  OUR_CAM_BF16=$(steady_cam_seconds "$BF16")

  echo "== 3. AdvCAM ($ADV_ITER iterations)" >&2
  mkdir -p "$W/adv/JPEGImages"
  cp "$W/voc/JPEGImages/img0.jpg" "$W/adv/JPEGImages/"
  cp "$W/voc/classes.txt" "$W/adv/"; echo img0 > "$W/adv/list.txt"; grep '^img0 ' "$W/voc/cls_labels.txt" > "$W/adv/cls_labels.txt"
  OFFICIAL_DEVICE=$DEV $OFF advcam "$REF" "$W/official.pth" "$W/adv/JPEGImages/img0.jpg" "$ADV_ITER" > "$W/off_adv.json"
  OFF_ADV=$($PY -c "import json; print(json.load(open('$W/off_adv.json'))['advcam_s_per_image'])")
  "$AMR" cam --weights "$W/amr.pt" --arch resnet50 --data "$W/adv" --list list.txt --out "$W/adv_cams" --device $DEV --quiet \
    --refine advcam --adv-iterations "$ADV_ITER" --scales 1.0,0.5,0.75,1.25,1.5,1.75,2.0 > "$W/our_adv.txt"
  OUR_ADV=$(seconds_per_image "$W/our_adv.txt")
  report > bench/results/cuda.md.tmp && mv bench/results/cuda.md.tmp bench/results/cuda.md
  [[ -n ${OUT:-} ]] && cp bench/results/cuda.md "$OUT/"
  cat bench/results/cuda.md
  return "$TESTS_RC"
}

report() {
  local r="$PY -c"
  echo "# CUDA: amr on a GPU against the CPU and the official code (\`bash bench/gpu.sh run\`, $(date -u +%F))"
  [[ $DRY == 1 ]] && { echo; echo "**DRY RUN on the CPU (AMR_GPU_DRY_RUN=1): the script's plumbing, not GPU numbers.**"; }
  echo
  echo "GPU: $GPU. PyTorch / LibTorch $TORCH_VERSION (the machine's own; amr built here against the pinned wheel)."
  echo
  echo "## 1. test_devices (exit status $TESTS_RC)"
  echo
  echo '```'
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\]|max \||1-rank|PASSED|FAILED' "$W/tests.txt" || true
  echo '```'
  echo
  echo "## 2-3. Speed on the same GPU (s/image; official: ../shared/reference/amr-official on the machine's PyTorch)"
  echo
  echo "| measurement | official | amr | ratio official/amr |"
  echo "|---|---|---|---|"
  echo "| plain CAM, 500x375, 4 scales + flip, both branches, fp32 | $($r "print(f'{$OFF_CAM:.4f}')") | $($r "print(f'{$OUR_CAM:.4f}')") | **$($r "print(f'{$OFF_CAM / $OUR_CAM:.2f}')")x** |"
  echo "| same, amr --precision bf16 (autocast) | $($r "print(f'{$OFF_CAM:.4f}')") (fp32) | $($r "print(f'{$OUR_CAM_BF16:.4f}')") | **$($r "print(f'{$OFF_CAM / $OUR_CAM_BF16:.2f}')")x** |"
  echo "| AdvCAM, 500x375, 7 scales, 2 classes, both branches, $ADV_ITER iterations | $($r "print(f'{$OFF_ADV:.3f}')") | $($r "print(f'{$OUR_ADV:.3f}')") | **$($r "print(f'{$OFF_ADV / $OUR_ADV:.2f}')")x** |"
  echo
  echo "Plain CAMs: mean over 8 images after the first on both sides; AdvCAM: one image, its first CUDA calls included on both sides."
  echo "Weights: the official Net on Kaiming-initialized ResNet-50s with calibrated BatchNorm statistics (as bench/speed.sh);"
  echo "TF32 as PyTorch's defaults on both sides. The CAMs' values are checked by test_devices above (CUDA vs CPU, a trained"
  echo "model) and by the CPU parity tests (CPU vs the official code); on these random weights CAMs are ill-conditioned."
  echo "Goals: plain CAMs >= 2x the official, AdvCAM >= 3x."
  echo
  echo "summary: gpu_cam_ratio=$($r "print(f'{$OFF_CAM / $OUR_CAM:.2f}')") gpu_cam_bf16_ratio=$($r "print(f'{$OFF_CAM / $OUR_CAM_BF16:.2f}')") gpu_advcam_ratio=$($r "print(f'{$OFF_ADV / $OUR_ADV:.2f}')") tests_rc=$TESTS_RC"
}

case $mode in
  prepare) prepare ;;
  run) run_checks ;;
  *) echo "bench/gpu.sh: expected 'prepare' (here) or 'run' (on the GPU machine), got '$mode'" >&2; exit 2 ;;
esac
