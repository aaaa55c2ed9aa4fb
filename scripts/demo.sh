#!/usr/bin/env bash
# The demo: installs what is missing, builds amr, then runs the official AMR recipe at CPU scale
# on FashionScenes generated from Debian's Fashion-MNIST (5 well-separated classes):
#   pretraining (single objects, plays ImageNet) -> cam (from it, cutout) -> amr and
#   amr-improved (spotlight from the cam run, compensation from the pretraining run),
# then CAMs, evaluation against the constant-map baseline, the IRN stage for the cam and amr
# CAMs (IR labels, IRN training, random-walk pseudo-masks), overlays and an HTML report.
# Prints the mIoU table. Outputs in demo_out/ (DEMO_OUT); DEMO_RESULTS=FILE also writes the
# summary there (bench/results/demo.md is written so).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
bash scripts/install-deps.sh
bash scripts/build.sh --target amr_cli
AMR=./build/amr
OUT=${DEMO_OUT:-demo_out}
CLASSES=trouser,pullover,dress,sneaker,bag
CAM_IMAGES=${DEMO_CAM_IMAGES:-64}  # val scenes whose CAMs are computed and scored (80: 18 s more, past the 10 min budget)
start=$(date +%s)
mkdir -p "$OUT"

echo "== 1/7 data: single-object pretraining scenes (48 px) and 2-object scenes (96 px)"
[[ -f $OUT/pre-data/val.txt ]] || $AMR scenes --out $OUT/pre-data --objects 1:1 --size 48 --train 6000 --val 500 \
  --object-scale 0.7:0.95 --min-contrast 60 --classes $CLASSES --seed 0
[[ -f $OUT/data/val.txt ]] || $AMR scenes --out $OUT/data --objects 1:2 --size 96 --train 2400 --val 200 \
  --min-contrast 60 --classes $CLASSES --seed 0
head -n "$CAM_IMAGES" $OUT/data/val.txt > $OUT/data/cam_val.txt

echo "== 2/7 pretraining (ResNet-18 from scratch)"
[[ -f $OUT/runs/pre/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-pre.yaml --data $OUT/pre-data --out $OUT/runs/pre
echo "== 3/7 cam stage (from the pretraining run)"
[[ -f $OUT/runs/cam/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-cam.yaml --data $OUT/data --out $OUT/runs/cam \
  --init $OUT/runs/pre
echo "== 4/7 amr and amr-improved (spotlight from the cam run, compensation from the pretraining run)"
# amr-improved gets a third epoch: its thresholded gates (tau 0.3) start sparser and its
# compensation branch reaches val F1 0.78 after 2 epochs, 0.83 after 3 (amr: 0.81 after 2).
for v in amr amr-improved; do
  epochs=2; [[ $v == amr-improved ]] && epochs=3
  [[ -f $OUT/runs/$v/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-amr.yaml --data $OUT/data --out $OUT/runs/$v \
    --variant $v --spotlight-from $OUT/runs/cam --init $OUT/runs/pre --epochs $epochs
done

echo "== 5/7 CAMs (scales 1.0, 0.5, 1.5, 2.0 + flip) of $CAM_IMAGES val scenes, evaluation"
for v in cam amr amr-improved; do
  $AMR cam --run $OUT/runs/$v --data $OUT/data --list cam_val.txt --out $OUT/cams/$v --save-branches --resume --quiet
done
SWEEP=(--sweep 0.05:0.6:0.05)
$AMR eval --cams $OUT/cams/cam --data $OUT/data --list cam_val.txt "${SWEEP[@]}" --json $OUT/cam.json > $OUT/cam.md
$AMR eval --cams $OUT/cams/cam --data $OUT/data --list cam_val.txt "${SWEEP[@]}" --constant > $OUT/constant.md
for v in amr amr-improved; do
  $AMR eval --cams $OUT/cams/$v --data $OUT/data --list cam_val.txt "${SWEEP[@]}" --xi-sweep 0:1:0.1 \
    --json $OUT/$v.json > $OUT/$v.md
done
echo "== 6/7 IRN stage for cam and amr: IR labels (IRN's thresholds + CRF), IRN (ResNet-18 from the pretraining run), masks"
for v in cam amr; do
  $AMR label --cams $OUT/cams/$v --data $OUT/data --list cam_val.txt --out $OUT/ir-labels/$v --fg 0.3 --bg 0.05 --crf > /dev/null
  $AMR eval --labels $OUT/ir-labels/$v --data $OUT/data --list cam_val.txt --json $OUT/$v-ir.json > $OUT/$v-ir.md
  if [[ ! -f $OUT/runs/irn-$v/model.pt ]]; then
    rm -rf $OUT/runs/irn-$v
    $AMR train-irn --data $OUT/data --list cam_val.txt --labels $OUT/ir-labels/$v --init $OUT/runs/pre/model.pt \
      --out $OUT/runs/irn-$v --set arch=resnet18 --set crop=96 --set radius=5 --batch 8 --epochs 3 --quiet
  fi
  $AMR masks --cams $OUT/cams/$v --data $OUT/data --list cam_val.txt --irn $OUT/runs/irn-$v/model.pt --crop 96 \
    --out $OUT/masks/$v --resume --quiet > /dev/null
  $AMR eval --labels $OUT/masks/$v --data $OUT/data --list cam_val.txt --json $OUT/$v-masks.json > $OUT/$v-masks.md
done
echo "== 7/7 overlays and report"
$AMR viz --cams $OUT/cams/amr --data $OUT/data --list cam_val.txt --out $OUT/viz --max-images 16 > /dev/null
# RUN/STAGE names: the report's pipeline table puts CAM -> IR labels -> masks side by side per run.
$AMR report --eval cam/cam=$OUT/cam.json --eval cam/ir-labels=$OUT/cam-ir.json --eval cam/masks=$OUT/cam-masks.json \
  --eval amr/cam=$OUT/amr.json --eval amr/ir-labels=$OUT/amr-ir.json --eval amr/masks=$OUT/amr-masks.json \
  --eval amr-improved/cam=$OUT/amr-improved.json \
  --viz $OUT/viz --title "amr demo: FashionScenes val" --out $OUT/report.html > /dev/null
minutes=$(minutes_since "$start" 1)

# Last epoch's validation F1 / mAP (the compensation branch's for the AMR variants).
last_epoch() { grep '"type":"epoch"' "$1/log.jsonl" | tail -n 1; }
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" <<< "$2" | awk '{ printf "%.3f", $1 }'; }
miou() { sed -n 's/^\*\*mIoU \([0-9.]*\)\*\*.*/\1/p' "$1"; }
cam_e=$(last_epoch $OUT/runs/cam); amr_e=$(last_epoch $OUT/runs/amr); imp_e=$(last_epoch $OUT/runs/amr-improved)
{
  echo "| method | val F1 / mAP | CAM mIoU (best background threshold / xi) |"
  echo "|---|---|---|"
  echo "| constant map (the image's first class everywhere) | - | $(head -n 1 $OUT/constant.md) |"
  echo "| cam | $(field val_f1 "$cam_e") / $(field val_map "$cam_e") | $(head -n 1 $OUT/cam.md) |"
  for v in amr amr-improved; do
    e=$(last_epoch $OUT/runs/$v)
    echo "| $v (compensation) | $(field val_f1_compensation "$e") / $(field val_map_compensation "$e") | $(head -n 1 $OUT/$v.md) |"
  done
  for v in cam amr; do
    echo "| $v CAMs -> IR labels (255 counts as wrong) | - | $(head -n 1 $OUT/$v-ir.md) |"
    echo "| $v CAMs -> IRN masks | - | $(head -n 1 $OUT/$v-masks.md) |"
  done
  echo
  echo "demo: cam_f1=$(field val_f1 "$cam_e") amr_f1=$(field val_f1_compensation "$amr_e")" \
    "improved_f1=$(field val_f1_compensation "$imp_e") cam_miou=$(miou $OUT/cam.md) amr_miou=$(miou $OUT/amr.md)" \
    "improved_miou=$(miou $OUT/amr-improved.md) constant_miou=$(miou $OUT/constant.md)" \
    "cam_mask_miou=$(miou $OUT/cam-masks.md) amr_mask_miou=$(miou $OUT/amr-masks.md) minutes=$minutes"
} > $OUT/summary.md
echo
cat $OUT/summary.md
echo
echo "report: $(pwd)/$OUT/report.html"
if [[ -n ${DEMO_RESULTS:-} ]]; then
  {
    echo "# README demo (\`DEMO_RESULTS=$DEMO_RESULTS bash scripts/demo.sh\`, $(date -u +%F), $(nproc) cores, $(cpu_isa))"
    echo
    echo "Pipeline after the build: $minutes min. CAMs of the first $CAM_IMAGES val scenes."
    echo
    cat $OUT/summary.md
  } > "$DEMO_RESULTS.tmp" && mv "$DEMO_RESULTS.tmp" "$DEMO_RESULTS"
fi
