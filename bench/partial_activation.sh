#!/usr/bin/env bash
# Partial-activation diagnostics of a plain CAM model (issue: "a benchmark with the failure AMR
# exists to fix"), on FashionScenes, PartScenes at several body signals d and CamVid val:
#   T1: at the best background threshold, foreground pixel precision / recall, and on PartScenes
#       the recall of part pixels vs body pixels (the failure: body recall << part recall);
#   T2: `amr erase-test`: the class score after erasing the CAM's peak (CAM > 0.5 max, mean
#       colour) vs after erasing an equal area of background (evidence left outside the peak).
# Each plain CAM model follows the quality bench's recipe: pretraining on single objects (plays
# ImageNet) -> cam from it with cutout; CamVid: cam from scratch. Writes
# bench/results/partial_activation.md. Run alone. Resumable: a rerun skips finished runs, CAMs,
# evaluations and erase tests.
# Knobs (environment): D_VALUES ("0 0.3 0.6"), PARTS_TRAIN (2000), PARTS_VAL (200),
#   PARTS_PRE_TRAIN (6000), FASHION_TRAIN (2400), FASHION_VAL (300), PRE_TRAIN (6000),
#   CAM_IMAGES (100: val images whose CAMs are scored), CAMVID (1), CAMVID_CAM_EPOCHS (20),
#   CAMVID_SCALES (0.5,0.75,1.0), SEED (0), OUT (bench/partial_out)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
bash scripts/build.sh --target amr_cli >/dev/null
AMR=./build/amr
PY=/usr/bin/python3
start=$(date +%s)
OUT=${OUT:-bench/partial_out}
D_VALUES=${D_VALUES:-"0 0.3 0.6"}
PT=${PARTS_TRAIN:-2000}; PV=${PARTS_VAL:-200}; PPRE=${PARTS_PRE_TRAIN:-6000}
FT=${FASHION_TRAIN:-2400}; FV=${FASHION_VAL:-300}; PRE=${PRE_TRAIN:-6000}
CAM_IMAGES=${CAM_IMAGES:-100}; CAMVID=${CAMVID:-1}; CAMVID_CAM_EPOCHS=${CAMVID_CAM_EPOCHS:-20}
CAMVID_SCALES=${CAMVID_SCALES:-0.5,0.75,1.0}; SEED=${SEED:-0}
mkdir -p "$OUT/runs"
SWEEP="--sweep 0.02:0.6:0.02"  # PartScenes CAMs are peaky: their best threshold can lie below 0.05

diagnose() {  # name, run dir, data root, extra flags (cam and erase-test)...
  local name=$1 run=$2 data=$3; shift 3
  local list="$OUT/${name}_ids.txt"
  [[ -f $list ]] || head -n "$CAM_IMAGES" "$data/val.txt" > "$list"
  local ids; ids=$(realpath "$list")
  $AMR cam --run "$run" --data "$data" --list "$ids" --out "$OUT/cams/$name" --resume --quiet "$@" >/dev/null
  [[ -f $OUT/$name.eval.json ]] ||
    $AMR eval --cams "$OUT/cams/$name" --data "$data" --list "$ids" $SWEEP --json "$OUT/$name.eval.json" >/dev/null
  local erase_flags=()
  for f in "$@"; do [[ $f == --labels-from-masks ]] && erase_flags+=(--labels-from-masks); done
  [[ -f $OUT/$name.erase.json ]] ||
    $AMR erase-test --run "$run" --cams "$OUT/cams/$name" --data "$data" --list "$ids" "${erase_flags[@]}" \
      --json "$OUT/$name.erase.json" >/dev/null
}

echo "== FashionScenes" >&2
F=$OUT/fashion; S=$OUT/fashion-single; R=$OUT/runs/fashion
CLASSES=trouser,pullover,dress,sneaker,bag
[[ -f $F/val.txt ]] || $AMR scenes --out "$F" --objects 1:2 --size 96 --train "$FT" --val "$FV" --min-contrast 60 \
  --classes $CLASSES --seed $((100 + SEED)) >/dev/null
[[ -f $S/val.txt ]] || $AMR scenes --out "$S" --objects 1:1 --size 48 --train "$PRE" --val 500 --object-scale 0.7:0.95 \
  --min-contrast 60 --classes $CLASSES --seed $((101 + SEED)) >/dev/null
[[ -f $R/pre/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-pre.yaml --data "$S" --out "$R/pre" --set seed=$SEED --quiet
[[ -f $R/cam/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-cam.yaml --data "$F" --out "$R/cam" --init "$R/pre" \
  --set seed=$SEED --quiet
diagnose fashion "$R/cam" "$F"

for d in $D_VALUES; do
  echo "== PartScenes d=$d" >&2
  P=$OUT/parts_$d; PS=$OUT/parts-single_$d; R=$OUT/runs/parts_$d
  parts_cam_stage "$d" "$P" "$PS" "$R" "$SEED" $((200 + SEED))
  diagnose "parts_$d" "$R/cam" "$P"
done

if [[ $CAMVID == 1 ]]; then
  echo "== CamVid" >&2
  C=../shared/data/camvid; R=$OUT/runs/camvid
  [[ -f $R/cam/model.pt ]] || $AMR train --overwrite --config configs/camvid-cpu.yaml --data "$C" --out "$R/cam" \
    --epochs "$CAMVID_CAM_EPOCHS" --set seed=$SEED --quiet
  diagnose camvid "$R/cam" "$C" --labels-from-masks --scales "$CAMVID_SCALES"
fi

minutes=$(minutes_since "$start")
export RUN_INFO="Run: D_VALUES=\"$D_VALUES\" PARTS_TRAIN=$PT PARTS_VAL=$PV PARTS_PRE_TRAIN=$PPRE FASHION_TRAIN=$FT FASHION_VAL=$FV PRE_TRAIN=$PRE CAM_IMAGES=$CAM_IMAGES CAMVID=$CAMVID CAMVID_CAM_EPOCHS=$CAMVID_CAM_EPOCHS CAMVID_SCALES=$CAMVID_SCALES SEED=$SEED ($(date -u +%F); this invocation $minutes min on $(nproc) cores, $(cpu_isa))"
names="fashion"
for d in $D_VALUES; do names="$names parts_$d"; done
[[ $CAMVID == 1 ]] && names="$names camvid"
$PY bench/python/partial_table.py "$OUT" $names > bench/results/partial_activation.md.tmp
mv bench/results/partial_activation.md.tmp bench/results/partial_activation.md
cat bench/results/partial_activation.md
