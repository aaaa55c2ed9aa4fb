#!/usr/bin/env bash
# Segmentation stage benchmark (issue 28), one run, one file: bench/results/segmentation.md. Run alone.
# Speed (PART=speed): DeepLab v2 ResNet-101 (21 classes, MSC 0.5/0.75) on 8 CamVid photos resized
#   to 500x375: the reference's forward (kazuto1011/deeplab-pytorch in python3-torch, the base alone
#   and MSC on the image and its mirror fused by max) vs `amr segment` on the reference's own .pth
#   (--scales 1, and the default MSC scales with --flip), fp32 and, on a CPU with native bf16,
#   --precision bf16; seconds per image, steady state (first image excluded), THREADS each side.
#   Goal: >= 1.5x in fp32 (issue 28).
# Quality (PART=quality): for each data set whose runs bench/quality.sh and bench/irn.sh left (OUT,
#   IRN_OUT: FashionScenes and PartScenes d = 0.3, seed 0), the masks of the first IRN_TRAIN training
#   scenes from each variant's IRN (amr masks), DeepLab trained on them (SEG_CONFIG, from the set's
#   pretraining run) and on the
#   ground truth (the upper bound), scored on val's ground truth (amr segment, amr eval). Goal: amr's
#   >= 90% of ground truth's, cam < amr.
# Resumable: finished masks, runs and predictions are kept in SEG_OUT and skipped.
# Knobs: PART (all | speed | quality), THREADS (2), OUT (bench/quality_out), IRN_OUT (bench/irn_out),
#   SEG_OUT (bench/seg_out), IRN_TRAIN (600), SEG_CONFIG (configs/fashion-seg.yaml), RESULTS.
# Last lines: segmentation_speed: single_ratio=... msc_flip_ratio=... [bf16_...] and, with runs,
#   segmentation: gt=... cam=... amr=... improved=... (FashionScenes val mIoU).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
bash scripts/build.sh --target amr_cli >/dev/null
AMR=./build/amr
PY=/usr/bin/python3
REF=$(cd ../shared/reference/deeplab-pytorch && pwd)
PART=${PART:-all}; THREADS=${THREADS:-2}; OUT=${OUT:-bench/quality_out}; IRN_OUT=${IRN_OUT:-bench/irn_out}
SEG_OUT=${SEG_OUT:-bench/seg_out}; IRN_TRAIN=${IRN_TRAIN:-600}; SEG_CONFIG=${SEG_CONFIG:-configs/fashion-seg.yaml}
RESULTS=${RESULTS:-bench/results/segmentation.md}
[[ $PART == all || $PART == speed || $PART == quality ]] || { echo "bench/segmentation.sh: PART: expected all, speed or quality" >&2; exit 2; }
mkdir -p "$SEG_OUT"
start=$(date +%s)
per_image() { sed -n 's/.*(\([0-9.e-]*\) s\/image).*/\1/p' "$1"; }

speed() {
  local W=$SEG_OUT/speed
  mkdir -p "$W/photos"
  [[ -n $(ls "$W/photos") ]] || $PY - "$W/photos" <<'EOF'
import glob, sys, cv2
for f in sorted(glob.glob("../shared/data/camvid/JPEGImages/*.jpg"))[:8]:
    cv2.imwrite(sys.argv[1] + "/" + f.split("/")[-1], cv2.resize(cv2.imread(f), (500, 375), interpolation=cv2.INTER_AREA))
EOF
  echo "== speed: reference (python3-torch)" >&2
  [[ -s $W/reference.json ]] || $PY bench/python/deeplab_speed.py "$REF" "$W" "$W/photos" "$THREADS" > "$W/reference.json"
  echo "== speed: amr segment" >&2
  local precisions=fp32
  grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo && precisions="fp32 bf16"
  for p in $precisions; do
    rm -rf "$W/single_$p" "$W/msc_$p"
    $AMR segment --model "$W/deeplab_v2_r101.pth" --images "$W/photos" --out "$W/single_$p" --scales 1 --precision "$p" \
      --threads "$THREADS" --quiet > "$W/single_$p.txt"
    $AMR segment --model "$W/deeplab_v2_r101.pth" --images "$W/photos" --out "$W/msc_$p" --flip --precision "$p" \
      --threads "$THREADS" --quiet > "$W/msc_$p.txt"
  done
  local rs rm as am
  rs=$(field "$W/reference.json" single_scale); rm=$(field "$W/reference.json" msc_flip)
  as=$(per_image "$W/single_fp32.txt"); am=$(per_image "$W/msc_fp32.txt")
  local line="segmentation_speed: single_ratio=$(fmt "$rs / $as" 2) msc_flip_ratio=$(fmt "$rm / $am" 2)"
  {
    echo "## Inference speed"
    echo
    echo "DeepLab v2 ResNet-101 (21 classes), 500x375, $THREADS threads each side, on $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | xargs) ($(cpu_isa)); the reference"
    echo "(kazuto1011/deeplab-pytorch) in python3-torch $(field "$W/reference.json" torch), amr on LibTorch; amr reads the"
    echo "reference's .pth. Seconds per image, steady state over $(field "$W/reference.json" images) photos (first excluded)."
    echo
    echo "| | reference fp32 | amr fp32 | ratio |$( [[ $precisions == *bf16* ]] && echo " amr bf16 | ratio |")"
    echo "|---|---|---|---|$( [[ $precisions == *bf16* ]] && echo "---|---|")"
    for kind in single msc; do
      local r a label
      [[ $kind == single ]] && r=$rs label="single scale" || { r=$rm; label="MSC (1, 0.75, 0.5) + flip"; }
      a=$(per_image "$W/${kind}_fp32.txt")
      local row="| $label | $(fmt "$r" 3) | $(fmt "$a" 3) | $(fmt "$r / $a" 2)x |"
      if [[ $precisions == *bf16* ]]; then
        local b; b=$(per_image "$W/${kind}_bf16.txt")
        row="$row $(fmt "$b" 3) | $(fmt "$r / $b" 2)x |"
        line="$line bf16_${kind}_ratio=$(fmt "$r / $b" 2)"
      fi
      echo "$row"
    done
    echo
    echo "Goal: >= 1.5x the reference at the same threads."
    echo
    echo "$line"
  } > "$SEG_OUT/speed.md"
}

# One training mask source of one data set: train DeepLab (from the set's pretraining run), segment
# val, score it; prints the mIoU.
seg_run() {
  local set=$1 data=$2 name=$3 masks=$4 Q=$SEG_OUT/$1/$3 init=$OUT/runs/${1}_0/pre/model.pt
  mkdir -p "$Q"
  if [[ ! -f $Q/run/model.pt ]]; then
    if [[ -f $Q/run/last.pt ]]; then
      $AMR train-seg --out "$Q/run" --resume --quiet --threads "$THREADS" > /dev/null
    else
      $AMR train-seg --config "$SEG_CONFIG" --data "$data" --list "$SEG_OUT/$set/train.txt" ${masks:+--masks "$masks"} \
        --init "$init" --out "$Q/run" --quiet --threads "$THREADS" > /dev/null
    fi
  fi
  $AMR segment --model "$Q/run/model.pt" --data "$data" --list "$SEG_OUT/$set/val.txt" --out "$Q/pred" --resume --quiet \
    --threads "$THREADS" > /dev/null
  $AMR eval --labels "$Q/pred" --data "$data" --list "$SEG_OUT/$set/val.txt" > "$Q/pred.md"
  miou "$Q/pred.md"
}

quality() {
  local found=0
  : > "$SEG_OUT/quality.md"
  for set in fashion parts_0.3; do
    local data=$OUT/$set
    if [[ ! -f $IRN_OUT/$set/amr-improved/irn/model.pt ]]; then
      echo "bench/segmentation.sh: no IRN runs of $set in $IRN_OUT (run bench/quality.sh, then bench/irn.sh): skipped" >&2
      continue
    fi
    found=1
    mkdir -p "$SEG_OUT/$set"
    head -n "$IRN_TRAIN" "$data/train.txt" > "$SEG_OUT/$set/train.txt"
    cp "$data/val.txt" "$SEG_OUT/$set/val.txt"
    local row="| $set | $(seg_run "$set" "$data" gt "")"
    for v in cam amr amr-improved; do
      local Q=$IRN_OUT/$set/$v
      $AMR masks --cams "$Q/cams_train" --data "$data" --list "$SEG_OUT/$set/train.txt" --irn "$Q/irn/model.pt" --crop 96 \
        --out "$SEG_OUT/$set/masks_$v" --resume --quiet > /dev/null
      row="$row | $(seg_run "$set" "$data" "$v" "$SEG_OUT/$set/masks_$v")"
    done
    echo "$row |" >> "$SEG_OUT/quality.md"
  done
  return $((1 - found))
}

[[ $PART == quality ]] || speed
have_quality=0
if [[ $PART != speed ]] && quality; then have_quality=1; fi
{
  echo "# Segmentation stage (bash bench/segmentation.sh)"
  echo
  if [[ $PART != quality ]]; then cat "$SEG_OUT/speed.md"; echo; fi
  if (( have_quality )); then
    echo "## Quality: DeepLab trained on each variant's masks, val mIoU ($SEG_CONFIG)"
    echo
    echo "| data set | ground truth | cam | amr | amr-improved |"
    echo "|---|---|---|---|---|"
    cat "$SEG_OUT/quality.md"
    echo
    read -r gt cam amr improved < <(sed -n 's/^| fashion | \([0-9.]*\) | \([0-9.]*\) | \([0-9.]*\) | \([0-9.]*\) |$/\1 \2 \3 \4/p' "$SEG_OUT/quality.md")
    echo "segmentation: gt=${gt:-} cam=${cam:-} amr=${amr:-} improved=${improved:-}"
  else
    echo "Quality: not run (no IRN runs in $IRN_OUT: bench/quality.sh, then bench/irn.sh, produce them)."
  fi
  echo
  echo "Took $(( ($(date +%s) - start) / 60 )) min."
} > "$RESULTS"
cat "$RESULTS"
