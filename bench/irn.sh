#!/usr/bin/env bash
# IRN stage benchmark (issue 26), one run, one file: bench/results/irn.md. Run alone on the machine.
# Quality (PART=quality): for each data set whose runs bench/quality.sh left in OUT (PartScenes d=0.3
#   and FashionScenes, seed 0: runs/<set>_0/{pre,cam,amr,amr-improved}), per variant: CAMs of the
#   first IRN_TRAIN training scenes and of val, IR labels (IRN's thresholds 0.30 / 0.05 + dense
#   CRF), IRN (ResNet-18 from the pretraining run, crop 96, radius 5, batch 16, 3 epochs) trained
#   on the training IR labels, random-walk masks of val. Scored on val against the ground truth:
#   CAM mIoU (best background threshold), IR-label mIoU (255 counts as wrong), IR-label precision
#   and coverage (confident pixels), mask mIoU (the official background threshold 0.25) and the
#   walked scores' mIoU at their best background threshold (amr masks --scores). Diagnosis, on
#   amr's CAMs: the masks with IRN trained on the ground truth instead, and with the ground
#   truth's boundaries (bench/python/irn_gt_boundary_walk.py, the official walk). Goal: masks >= CAM + 8 mIoU, amr's masks >= cam's.
# Speed (PART=speed): random walk of a 500x375 image (stride 4: 125x94 pixels, beta 10, 2^8 steps,
#   radius 5), official dense propagate_to_edge vs amr's sparse walk (seconds, peak memory growth,
#   max |difference|); one IRN training step (crop 512, batch 4, ResNet-50, radius 10), seconds per
#   step (steps 2..4). Both at 2 threads, same inputs (bench/python/official_irn.py writes them).
# Resumable: finished CAMs, labels, IRN runs and masks are kept in IRN_OUT and skipped.
# Knobs: PART (all | quality | speed), OUT (bench/quality_out), IRN_OUT (bench/irn_out),
#   IRN_TRAIN (600), SIZE (500x375), RESULTS (bench/results/irn.md).
# Last lines: irn: cam_cam=... cam_mask=... amr_cam=... amr_mask=... improved_cam=... improved_mask=... (FashionScenes;
#   PartScenes when FashionScenes has no runs) and irn_speed: walk_ratio=... walk_memory_ratio=... train_ratio=...
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
bash scripts/build.sh --target amr_cli --target bench_irn >/dev/null
AMR=./build/amr
PY=/usr/bin/python3
REF=$(cd ../shared/reference/amr-official && pwd)
PART=${PART:-all}; OUT=${OUT:-bench/quality_out}; IRN_OUT=${IRN_OUT:-bench/irn_out}
IRN_TRAIN=${IRN_TRAIN:-600}; SIZE=${SIZE:-500x375}; RESULTS=${RESULTS:-bench/results/irn.md}
[[ $PART == all || $PART == quality || $PART == speed ]] || { echo "bench/irn.sh: PART: expected all, quality or speed" >&2; exit 2; }
mkdir -p "$IRN_OUT"
start=$(date +%s)
best_threshold() { sed -n 's/^\*\*mIoU [0-9.]*\*\*.*background threshold \([0-9.]*\).*/\1/p' "$1"; }

speed() {
  local W=$IRN_OUT/speed
  mkdir -p "$W"
  echo "== speed: random walk ${SIZE} (official dense, then amr)" >&2
  [[ -s $W/off_walk.json ]] || $PY bench/python/official_irn.py walk "$REF" "$W" "${SIZE%x*}" "${SIZE#*x}" > "$W/off_walk.json"
  ./build/bench/bench_irn walk "$W" > "$W/our_walk.json"
  echo "== speed: IRN training step (official, then amr)" >&2
  [[ -s $W/off_step.json ]] || $PY bench/python/official_irn.py step "$REF" "$W" 4 > "$W/off_step.json"
  ./build/bench/bench_irn step "$W" 4 > "$W/our_step.json"
  local ow aw om am os as
  ow=$(field "$W/off_walk.json" seconds); aw=$(field "$W/our_walk.json" seconds)
  om=$(field "$W/off_walk.json" peak_mb); am=$(field "$W/our_walk.json" peak_mb)
  os=$(field "$W/off_step.json" seconds_per_step); as=$(field "$W/our_step.json" seconds_per_step)
  # amr's walk may not grow the peak RSS measurably: count at least 1 MB.
  local wr mr tr
  wr=$(fmt "$ow / $aw" 1); mr=$(fmt "$om / max($am, 1.0)" 1); tr=$(fmt "$os / $as" 2)
  {
    echo "## Speed and memory"
    echo
    echo "Official: \`misc/indexing.py\`, \`net/resnet50_irn.py\`, \`step/train_irn.py\` in python3-torch 1.13.1; amr: libtorch"
    echo "1.13.1; 2 threads each, same inputs. Memory: growth of the process's peak RSS over its RSS before the call."
    echo
    echo "| | official | amr | ratio |"
    echo "|---|---|---|---|"
    echo "| random walk ${SIZE} (stride 4), seconds | $(fmt "$ow" 2) | $(fmt "$aw" 3) | ${wr}x |"
    echo "| random walk peak memory, MB | $(fmt "$om" 0) | $(fmt "$am" 1) | ${mr}x |"
    echo "| IRN training step (crop 512, batch 4), seconds | $(fmt "$os" 2) | $(fmt "$as" 2) | ${tr}x |"
    echo
    echo "Walk: max |amr - official| = $(field "$W/our_walk.json" max_abs_vs_official). Goals: walk >= 50x faster, <= 1/50 the"
    echo "memory; training step >= 1.5x faster."
    echo
    echo "irn_speed: walk_ratio=$wr walk_memory_ratio=$mr train_ratio=$tr"
  } > "$IRN_OUT/speed.md"
}

# One variant of one data set: CAMs, IR labels, IRN, masks; prints its table row.
variant() {
  local set=$1 data=$2 runs=$3 v=$4 Q=$IRN_OUT/$1/$4
  mkdir -p "$Q"
  echo "== $set $v" >&2
  for split in train val; do
    $AMR cam --run "$runs/$v" --data "$data" --list "$IRN_OUT/$set/$split.txt" --out "$Q/cams_$split" --resume --quiet > /dev/null
    $AMR label --cams "$Q/cams_$split" --data "$data" --list "$IRN_OUT/$set/$split.txt" --out "$Q/ir_$split" --fg 0.3 --bg 0.05 --crf --resume > /dev/null
  done
  [[ -s $Q/cam.md ]] || $AMR eval --cams "$Q/cams_val" --data "$data" --list "$IRN_OUT/$set/val.txt" --sweep 0.05:0.6:0.05 > "$Q/cam.md"
  $AMR eval --labels "$Q/ir_val" --data "$data" --list "$IRN_OUT/$set/val.txt" > "$Q/ir.md"
  read -r ir_precision ir_coverage < <($PY bench/python/irn_label_quality.py "$data" "$IRN_OUT/$set/val.txt" "$Q/ir_val")
  if [[ ! -f $Q/irn/model.pt ]]; then
    rm -rf "$Q/irn"
    $AMR train-irn --data "$data" --list "$IRN_OUT/$set/train.txt" --labels "$Q/ir_train" --init "$runs/pre/model.pt" --out "$Q/irn" \
      --set arch=resnet18 --set crop=96 --set radius=5 --batch 16 --epochs 3 --quiet > /dev/null
  fi
  $AMR masks --cams "$Q/cams_val" --data "$data" --list "$IRN_OUT/$set/val.txt" --irn "$Q/irn/model.pt" --crop 96 --out "$Q/masks" \
    --scores "$Q/scores" --resume --quiet > /dev/null
  $AMR eval --labels "$Q/masks" --data "$data" --list "$IRN_OUT/$set/val.txt" > "$Q/masks.md"
  $AMR eval --cams "$Q/scores" --data "$data" --list "$IRN_OUT/$set/val.txt" --sweep 0.05:0.6:0.05 > "$Q/masks_sweep.md"
  echo "| $v | $(miou "$Q/cam.md") ($(best_threshold "$Q/cam.md")) | $(miou "$Q/ir.md") | $ir_precision / $ir_coverage |" \
    "$(miou "$Q/masks.md") | $(miou "$Q/masks_sweep.md") ($(best_threshold "$Q/masks_sweep.md")) |"
}

# Where the masks lose, on amr's CAMs: the same walk over the boundaries of IRN trained on the
# ground truth (255 borders unsure) and over the ground truth's own boundaries.
diagnosis() {
  local set=$1 data=$2 runs=$3 Q=$IRN_OUT/$1/oracle A=$IRN_OUT/$1/amr
  mkdir -p "$Q"
  echo "== $set diagnosis" >&2
  if [[ ! -f $Q/irn/model.pt ]]; then
    rm -rf "$Q/irn"
    $AMR train-irn --data "$data" --list "$IRN_OUT/$set/train.txt" --labels "$data/SegmentationClass" --init "$runs/pre/model.pt" \
      --out "$Q/irn" --set arch=resnet18 --set crop=96 --set radius=5 --batch 16 --epochs 3 --quiet > /dev/null
  fi
  $AMR masks --cams "$A/cams_val" --data "$data" --list "$IRN_OUT/$set/val.txt" --irn "$Q/irn/model.pt" --crop 96 --out "$Q/masks" \
    --scores "$Q/scores" --resume --quiet > /dev/null
  $AMR eval --labels "$Q/masks" --data "$data" --list "$IRN_OUT/$set/val.txt" > "$Q/masks.md"
  $AMR eval --cams "$Q/scores" --data "$data" --list "$IRN_OUT/$set/val.txt" --sweep 0.05:0.6:0.05 > "$Q/masks_sweep.md"
  [[ -s $Q/gt_walk.txt ]] || $PY bench/python/irn_gt_boundary_walk.py "$REF" "$data" "$IRN_OUT/$set/val.txt" "$A/cams_val" > "$Q/gt_walk.txt"
  local at best th
  read -r at best th < "$Q/gt_walk.txt"
  echo "Where the masks lose, amr's CAMs ($(miou "$A/cam.md") mIoU at their best threshold) walked over three boundary maps:"
  echo
  echo "| boundary map | mask mIoU (0.25) | walked scores mIoU (best threshold) |"
  echo "|---|---|---|"
  echo "| IRN trained on amr's IR labels (the row above) | $(miou "$A/masks.md") | $(miou "$A/masks_sweep.md") ($(best_threshold "$A/masks_sweep.md")) |"
  echo "| IRN trained on the ground truth (same settings) | $(miou "$Q/masks.md") | $(miou "$Q/masks_sweep.md") ($(best_threshold "$Q/masks_sweep.md")) |"
  echo "| the ground truth's boundaries (official propagate_to_edge) | $at | $best ($th) |"
}

quality() {
  local found=0
  : > "$IRN_OUT/quality.md"
  for set in fashion parts_0.3; do
    local runs=$OUT/runs/${set}_0 data=$OUT/$set
    if [[ ! -f $runs/amr-improved/model.pt || ! -f $runs/pre/model.pt ]]; then
      echo "bench/irn.sh: no seed-0 runs of $set in $OUT (run bench/quality.sh first): skipped" >&2
      continue
    fi
    found=1
    mkdir -p "$IRN_OUT/$set"
    head -n "$IRN_TRAIN" "$data/train.txt" > "$IRN_OUT/$set/train.txt"
    cp "$data/val.txt" "$IRN_OUT/$set/val.txt"
    {
      echo "## $set val ($(wc -l < "$IRN_OUT/$set/val.txt") images; IRN trained on the first $IRN_TRAIN training scenes)"
      echo
      echo "| variant | CAM mIoU (best threshold) | IR-label mIoU | IR-label precision / coverage (%) | mask mIoU (0.25) | walked scores mIoU (best threshold) |"
      echo "|---|---|---|---|---|---|"
      for v in cam amr amr-improved; do variant "$set" "$data" "$runs" "$v"; done
      echo
      diagnosis "$set" "$data" "$runs"
      echo
    } > "$IRN_OUT/$set.md"
    cat "$IRN_OUT/$set.md" >> "$IRN_OUT/quality.md"
    local c=$IRN_OUT/$set
    echo "irn: cam_cam=$(miou $c/cam/cam.md) cam_mask=$(miou $c/cam/masks.md) amr_cam=$(miou $c/amr/cam.md)" \
      "amr_mask=$(miou $c/amr/masks.md) improved_cam=$(miou $c/amr-improved/cam.md) improved_mask=$(miou $c/amr-improved/masks.md)" \
      > "$IRN_OUT/$set.last"
  done
  ((found)) || echo "No data set had runs: nothing measured." >> "$IRN_OUT/quality.md"
}

[[ $PART == speed ]] || quality
[[ $PART == quality ]] || speed
{
  echo "# IRN stage (\`bash bench/irn.sh\`, $(date -u +%F), $(nproc) cores, $(cpu_isa); $(minutes_since "$start" 1) min)"
  echo
  [[ -s $IRN_OUT/quality.md ]] && cat "$IRN_OUT/quality.md"
  [[ -s $IRN_OUT/speed.md ]] && cat "$IRN_OUT/speed.md" | grep -v '^irn_speed:'
  echo
  for set in fashion parts_0.3; do [[ -s $IRN_OUT/$set.last ]] && { cat "$IRN_OUT/$set.last"; break; }; done
  [[ -s $IRN_OUT/speed.md ]] && grep '^irn_speed:' "$IRN_OUT/speed.md"
} > "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
