#!/usr/bin/env bash
# The official AMR code trained beside amr (issue 12, item 4): same data, same pretraining
# weights, same recipe and schedule, SEEDS each; CAM mIoU of both side by side, plus wall time.
#   Data: PartScenes at body signal PEER_D (96 px scenes of 1-2 objects, as bench/quality.sh).
#   Pretraining ("ImageNet"): one amr run, ResNet-50 on 48 px single objects (configs/parts-pre.yaml
#     with arch resnet50), exported to torchvision's layout for the official constructors.
#   Recipe: the official one (configs/voc-official-{cam,amr}.yaml: ResNet-50 at output stride 16,
#     FixedBatchNorm, cutout, momentum 1e-4 and poly power 0.9 as PolyOptimizer really runs,
#     spotlight from the CAM stage, compensation from the pretraining) scaled to 96 px: crop 96,
#     long side 84-112, cutout 3 x 24, batch 16, CAM_EPOCHS / AMR_EPOCHS.
#   Official side: bench/peer_official.py (their modules on python3-torch, CPU; the changes it
#     needs are listed at its top). amr side: amr train / amr cam.
#   CAMs: plain multi-scale (1.0, 0.5, 1.5, 2.0, + flip) of the val scenes for the classes present,
#     both branches kept; scored by the same `amr eval` (threshold and xi sweeps).
# Writes bench/results/peer.md (RESULTS); last line `peer: official_miou=M±S amr_miou=M±S`.
# Resumable: a rerun skips finished stages. Run alone (wall times are compared).
# Knobs (environment): SEEDS ("0 1 2"), PEER_D (0.3), PEER_TRAIN (800), PEER_VAL (200),
#   PEER_PRE_TRAIN (3000), PEER_PRE_EPOCHS (8: ResNet-50 from scratch learns slower than the ResNet-18 of
#   configs/parts-pre.yaml: val F1 0.29 after its 2 epochs), CAM_EPOCHS (2), AMR_EPOCHS (3), THREADS (2), OUT (bench/peer_out),
#   RESULTS (bench/results/peer.md)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
REF=${REF:-../shared/reference/amr-official}
[[ -d $REF/net ]] || { echo "$0: needs the official code in $REF (set REF=)" >&2; exit 2; }
PY=/usr/bin/python3
$PY -c "import torch, torchvision, cv2, PIL" 2>/dev/null ||
  { echo "$0: needs python3-torch, python3-torchvision, python3-opencv, python3-pil (apt)" >&2; exit 2; }
bash scripts/build.sh --target amr_cli >/dev/null
AMR=./build/amr
start=$(date +%s)
SEEDS=${SEEDS:-"0 1 2"}; D=${PEER_D:-0.3}; PT=${PEER_TRAIN:-800}; PV=${PEER_VAL:-200}; PPRE=${PEER_PRE_TRAIN:-3000}
CAM_EPOCHS=${CAM_EPOCHS:-2}; AMR_EPOCHS=${AMR_EPOCHS:-3}; THREADS=${THREADS:-2}; PRE_EPOCHS=${PEER_PRE_EPOCHS:-8}
OUT=${OUT:-bench/peer_out}; RESULTS=${RESULTS:-bench/results/peer.md}
SCALES=1.0,0.5,1.5,2.0
mkdir -p "$OUT"
P=$OUT/parts; PS=$OUT/parts-single
[[ -f $P/val.txt ]] || $AMR scenes --kind parts --body-signal "$D" --out "$P" --objects 1:2 --size 96 \
  --train "$PT" --val "$PV" --seed 300 >/dev/null
[[ -f $PS/val.txt ]] || $AMR scenes --kind parts --body-signal "$D" --out "$PS" --objects 1:1 --size 48 \
  --train "$PPRE" --val 500 --seed 301 >/dev/null

timed() {  # stage-times file, stage name, command...: runs the command, appends "stage seconds"
  local file=$1 stage=$2; shift 2
  local t0; t0=$(date +%s.%N)
  "$@"
  echo "$stage $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >> "$file"
}

PRE=$OUT/pre
if [[ ! -f $PRE/model.pt ]]; then
  echo "== pretraining (ResNet-50, $PPRE single objects)" >&2
  $AMR --threads "$THREADS" train --overwrite --config configs/parts-pre.yaml --data "$PS" --out "$PRE" \
    --set arch=resnet50 --set epochs="$PRE_EPOCHS" --set seed=0 --quiet
fi
[[ -f $OUT/imagenet.pth ]] || $PY - "$PRE/model.pt" "$OUT/imagenet.pth" <<'PYEOF'
import sys, torch
sd = torch.load(sys.argv[1])
tv = {k[len("spotlight."):]: v for k, v in sd.items() if k.startswith("spotlight.")}
assert "conv1.weight" in tv and "layer4.2.bn3.running_var" in tv, sorted(tv)[:5]
torch.save(tv, sys.argv[2] + ".tmp")
import os; os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PYEOF

SIZE=(--set crop=96 --set "resize_long=[84, 112]" --set workers=2 --set list=train.txt --set val_list=val.txt)
EVAL=(--sweep 0.005:0.6:0.005 --xi-sweep 0:1:0.1)
for s in $SEEDS; do
  echo "== seed $s: amr" >&2
  R=$OUT/amr_$s; mkdir -p "$R"
  [[ -f $R/cam/model.pt ]] || timed "$R/times.txt" train_cam $AMR --threads "$THREADS" train --overwrite \
    --config configs/voc-official-cam.yaml --data "$P" --out "$R/cam" --init "$PRE" "${SIZE[@]}" \
    --set cutout=24 --set epochs="$CAM_EPOCHS" --set seed="$s" --quiet
  [[ -f $R/amr/model.pt ]] || timed "$R/times.txt" train_amr $AMR --threads "$THREADS" train --overwrite \
    --config configs/voc-official-amr.yaml --data "$P" --out "$R/amr" --spotlight-from "$R/cam" --init "$PRE" \
    "${SIZE[@]}" --set epochs="$AMR_EPOCHS" --set seed="$s" --quiet
  [[ -f $R/cams/done ]] || { timed "$R/times.txt" cam $AMR --threads "$THREADS" cam --run "$R/amr" --data "$P" \
    --list val.txt --out "$R/cams" --scales $SCALES --save-branches --resume --quiet && touch "$R/cams/done"; }
  [[ -f $R/eval.json ]] || $AMR eval --cams "$R/cams" --data "$P" --list val.txt "${EVAL[@]}" --json "$R/eval.json" >/dev/null

  echo "== seed $s: official" >&2
  O=$OUT/official_$s
  $PY bench/peer_official.py "$REF" "$P" "$OUT/imagenet.pth" "$O" --seed "$s" --cam-epochs "$CAM_EPOCHS" \
    --amr-epochs "$AMR_EPOCHS" --threads "$THREADS" --workers 2 --crop 96 --resize-long 84 112 --cutout 24 \
    --scales $SCALES > "$O.log" 2>&1 || { echo "$0: official run failed, see $O.log" >&2; exit 1; }
  [[ -f $O/eval.json ]] || $AMR eval --cams "$O/cams" --data "$P" --list val.txt "${EVAL[@]}" --json "$O/eval.json" >/dev/null
done

{
  echo "# The official AMR code trained beside amr (\`bash bench/peer.sh\`, $(date -u +%F), $(nproc) cores, $(cpu_isa), $THREADS threads each)"
  echo
  echo "PartScenes d=$D ($PT train / $PV val scenes, 96 px), ResNet-50 pretrained by amr on $PPRE single"
  echo "objects for $PRE_EPOCHS epochs (one run, val F1 $($PY -c "import json; print([json.loads(l) for l in open('$PRE/log.jsonl') if '\"epoch\"' in l and 'val_f1' in l][-1]['val_f1'].__format__('.3f'))"), exported to torchvision's layout for the official constructors), official recipe"
  echo "at 96 px: CAM stage $CAM_EPOCHS epochs, AMR stage $AMR_EPOCHS epochs, batch 16, lr 0.01; plain CAMs at"
  echo "scales $SCALES + flip. Both sides scored by \`amr eval\`: best background threshold (0.005 steps)"
  echo "and xi (0.1 steps) per run; 'spotlight' = xi 1, 'compensation' = xi 0, each at its best threshold."
  echo
  $PY bench/python/peer_table.py "$OUT" "$SEEDS"
  echo
  # The default run's cost, from what each stage recorded (so that a resumed run reports it too):
  # the pretraining from its run directory's file times, every other stage from its times file.
  pre_min=$($PY -c "import os; print(f'{(os.path.getmtime(\"$PRE/model.pt\") - os.path.getmtime(\"$PRE/config.yaml\")) / 60:.1f}')")
  stages_min=$($PY -c "
import glob, json
t = 0.0
for f in glob.glob('$OUT/official_*/times.json'):
    t += sum(json.load(open(f)).values())
for f in glob.glob('$OUT/amr_*/times.txt'):
    t += sum(float(line.split()[1]) for line in open(f))
print(f'{t / 60:.1f}')")
  echo "Measured cost: pretraining $pre_min min + training and CAM stages of both sides $stages_min min (evaluations,"
  echo "a few seconds each, not counted); this invocation $(minutes_since "$start") min (stages finished earlier are skipped)."
  echo
  cat bench/peer_analysis.md
  echo
  $PY bench/python/peer_table.py "$OUT" "$SEEDS" summary
} > "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
