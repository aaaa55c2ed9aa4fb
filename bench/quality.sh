#!/usr/bin/env bash
# Quality benchmark: CAM vs AMR vs improved AMR (3 seeds), FashionScenes val and CamVid val, with
# the xi and background-threshold sweeps; refinements (Grad-CAM, AdvCAM, CRF) on seed 0.
# Same data, same budget for every variant. Writes bench/results/quality.md. Run alone.
# Knobs (environment): SEEDS ("0 1 2"), FASHION_TRAIN (6000), FASHION_VAL (500), SINGLE (12000),
#   CAM_EPOCHS (8), AMR_EPOCHS (3), CAMVID (1), REFINE_IMAGES (100), ADV_ITER (27), OUT (bench/quality_out)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target amr_cli >/dev/null
AMR=./build/amr
PY=/usr/bin/python3
SEEDS=${SEEDS:-"0 1 2"}
OUT=${OUT:-bench/quality_out}
FT=${FASHION_TRAIN:-6000}; FV=${FASHION_VAL:-500}; SINGLE=${SINGLE:-12000}
CAM_EPOCHS=${CAM_EPOCHS:-8}; AMR_EPOCHS=${AMR_EPOCHS:-3}
REFINE_IMAGES=${REFINE_IMAGES:-100}; ADV_ITER=${ADV_ITER:-27}
CAMVID=${CAMVID:-1}
mkdir -p "$OUT"
F=$OUT/fashion; S=$OUT/fashion-single
[[ -f $F/val.txt ]] || $AMR scenes --out "$F" --train "$FT" --val "$FV" --size 128 --seed 100 >/dev/null
[[ -f $S/val.txt ]] || $AMR scenes --out "$S" --train "$SINGLE" --val 1000 --size 64 --objects 1:1 --seed 101 >/dev/null
SWEEP="--sweep 0.05:0.6:0.05"

evaluate() {  # run dir, data, list, name, extra cam flags...
  local run=$1 data=$2 list=$3 name=$4; shift 4
  $AMR cam --run "$run" --data "$data" --list "$list" --out "$OUT/cams/$name" --save-branches --resume --quiet "$@" >/dev/null
  if [[ $name == *cam_* && $name != *amr* ]]; then xs=""; else xs="--xi-sweep 0.1:0.9:0.1"; fi
  $AMR eval --cams "$OUT/cams/$name" --data "$data" --list "$list" $SWEEP $xs --json "$OUT/$name.json" >/dev/null
}

for s in $SEEDS; do
  echo "== FashionScenes seed $s" >&2
  R=$OUT/runs/fashion_$s
  [[ -f $R/pre/model.pt ]] || $AMR train --config configs/fashion-single.yaml --data "$S" --out "$R/pre" --set seed=$s --quiet
  [[ -f $R/cam/model.pt ]] || $AMR train --config configs/fashion-cpu.yaml --data "$F" --out "$R/cam" --init-from "$R/pre" \
    --epochs "$CAM_EPOCHS" --set seed=$s --quiet
  for v in amr amr-improved; do
    [[ -f $R/$v/model.pt ]] || $AMR train --config configs/fashion-cpu.yaml --data "$F" --out "$R/$v" --variant $v \
      --init-from "$R/cam" --epochs "$AMR_EPOCHS" --set seed=$s --set routing=official --quiet
  done
  evaluate "$R/cam" "$F" val.txt "fashion_cam_$s"
  evaluate "$R/amr" "$F" val.txt "fashion_amr_$s"
  evaluate "$R/amr-improved" "$F" val.txt "fashion_amr-improved_$s"
  if [[ $CAMVID == 1 ]]; then
    echo "== CamVid seed $s" >&2
    C=../shared/data/camvid; R=$OUT/runs/camvid_$s
    [[ -f $R/cam/model.pt ]] || $AMR train --config configs/camvid-cpu.yaml --data "$C" --out "$R/cam" --set seed=$s --quiet
    for v in amr amr-improved; do
      [[ -f $R/$v/model.pt ]] || $AMR train --config configs/camvid-cpu.yaml --data "$C" --out "$R/$v" --variant $v \
        --init-from "$R/cam" --epochs 5 --set seed=$s --set routing=official --quiet
    done
    for v in cam amr amr-improved; do
      $AMR cam --run "$R/$v" --data "$C" --list val.txt --labels-from-masks --out "$OUT/cams/camvid_${v}_$s" --save-branches \
        --resume --quiet >/dev/null
      xs=""; [[ $v == cam ]] || xs="--xi-sweep 0.1:0.9:0.1"
      $AMR eval --cams "$OUT/cams/camvid_${v}_$s" --data "$C" --list val.txt $xs --json "$OUT/camvid_${v}_$s.json" >/dev/null
    done
  fi
done

echo "== refinements (seed ${SEEDS%% *}, first $REFINE_IMAGES val scenes)" >&2
s=${SEEDS%% *}; R=$OUT/runs/fashion_$s
head -n "$REFINE_IMAGES" "$F/val.txt" > "$F/val_refine.txt"
for r in none gradcam advcam; do
  $AMR cam --run "$R/amr" --data "$F" --list val_refine.txt --out "$OUT/cams/refine_$r" --refine $r --adv-iterations "$ADV_ITER" \
    --resume --quiet >/dev/null
  $AMR eval --cams "$OUT/cams/refine_$r" --data "$F" --list val_refine.txt $SWEEP --json "$OUT/refine_$r.json" >/dev/null
done
BEST_T=$($PY -c "import json; j=json.load(open('$OUT/refine_none.json')); print(j['points'][j['best']]['threshold'])")
$AMR label --cams "$OUT/cams/refine_none" --data "$F" --list val_refine.txt --out "$OUT/labels_crf" --bg-threshold "$BEST_T" --crf >/dev/null
$AMR eval --labels "$OUT/labels_crf" --data "$F" --list val_refine.txt --json "$OUT/refine_crf.json" >/dev/null

export RUN_INFO="Run: SEEDS=\"$SEEDS\" FASHION_TRAIN=$FT FASHION_VAL=$FV SINGLE=$SINGLE CAM_EPOCHS=$CAM_EPOCHS AMR_EPOCHS=$AMR_EPOCHS CAMVID=$CAMVID REFINE_IMAGES=$REFINE_IMAGES ADV_ITER=$ADV_ITER ($(date -u +%F))"
{ $PY bench/python/quality_table.py "$OUT" "$SEEDS" "$CAMVID"; echo; cat bench/quality_analysis.md; } | tee bench/results/quality.md
