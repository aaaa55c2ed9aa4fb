#!/usr/bin/env bash
# Quality benchmark: CAM vs AMR vs improved AMR, PartScenes, FashionScenes val and CamVid val, with the xi
# (0 = compensation only .. 1 = spotlight only) and background-threshold sweeps; refinements
# (Grad-CAM, AdvCAM, CRF) on the first seed. The official recipe at CPU scale, as the demo:
#   FashionScenes: pretraining on single objects (plays ImageNet) -> cam from it (cutout) ->
#   amr / amr-improved with --spotlight-from the cam run and --init the pretraining run.
#   PartScenes (bench/partial_activation.sh says at which body signals d a plain CAM stops at
#   the part): the same structure with configs/parts-*.yaml (48 px single-object pretraining,
#   96 px scenes at output stride 8); tau sweep and area-weight sweep of the improved variant on
#   the first seed; part / body recall per variant.
#   CamVid: no pretraining exists for street photos, so cam trains from scratch and the
#   compensation backbone starts from the cam run's backbone (--init CAM_RUN; AMMs and
#   classifier2 fresh, as in the official recipe).
# The amr variants train with precise BatchNorm over PRECISE_BN batches (0: none; amr's default is
# off) and are evaluated also without it (their last epoch's model, saved before the recalibration):
# the precise BatchNorm table.
# Same data, same budget for every variant. Writes bench/results/quality.md. Run alone.
# Resumable: a rerun skips finished runs, CAMs and evaluations.
# Knobs (environment): SEEDS ("0 1 2"), FASHION_TRAIN (2400), FASHION_VAL (300), PRE_TRAIN (6000),
#   CAM_EPOCHS (2), AMR_EPOCHS (3), CAMVID (1), CAMVID_CAM_EPOCHS (20), CAMVID_AMR_EPOCHS (8),
#   CAMVID_SCALES (0.5,0.75,1.0), REFINE_IMAGES (100; 0: no refinements), CAMVID_REFINE_IMAGES (REFINE_IMAGES),
#   ADV_ITER (27), PARTS (1), PARTS_D ("0.3"), PARTS_TRAIN (2000), PARTS_VAL (200), PARTS_PRE_TRAIN (6000),
#   PARTS_AMR_EPOCHS (3), TAU_SWEEP ("0 0.1 0.5": improved runs besides its default 0.3; "" = none),
#   AREA_SWEEP ("0.01 0.2": besides its default 0.05), PARTS_ABLATIONS (AMR runs on the first seed that
#   change one thing: KEY=VALUE is a config key (--set), epochs=N the AMR stage's length, init=cam the
#   compensation backbone from the cam run instead of the pretraining; "" = none), FASHION (1), OUT (bench/quality_out),
#   RESULTS (bench/results/quality.md; a reduced run can write elsewhere), PRECISE_BN (200)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
bash scripts/build.sh --target amr_cli >/dev/null
AMR=./build/amr
PY=/usr/bin/python3
start=$(date +%s)
SEEDS=${SEEDS:-"0 1 2"}
OUT=${OUT:-bench/quality_out}; RESULTS=${RESULTS:-bench/results/quality.md}
FT=${FASHION_TRAIN:-2400}; FV=${FASHION_VAL:-300}; PRE=${PRE_TRAIN:-6000}
CAM_EPOCHS=${CAM_EPOCHS:-2}; AMR_EPOCHS=${AMR_EPOCHS:-3}
CAMVID_CAM_EPOCHS=${CAMVID_CAM_EPOCHS:-20}; CAMVID_AMR_EPOCHS=${CAMVID_AMR_EPOCHS:-8}
REFINE_IMAGES=${REFINE_IMAGES:-100}; ADV_ITER=${ADV_ITER:-27}
CAMVID=${CAMVID:-1}; FASHION=${FASHION:-1}; PARTS=${PARTS:-1}; PARTS_D=${PARTS_D:-0.3}
PRECISE_BN=${PRECISE_BN:-200}
PT=${PARTS_TRAIN:-2000}; PV=${PARTS_VAL:-200}; PPRE=${PARTS_PRE_TRAIN:-6000}; PARTS_AMR_EPOCHS=${PARTS_AMR_EPOCHS:-3}
TAU_SWEEP=${TAU_SWEEP-"0 0.1 0.5"}; AREA_SWEEP=${AREA_SWEEP-"0.01 0.2"}  # set empty: no sweep
PARTS_ABLATIONS=${PARTS_ABLATIONS-"routing=joint init=cam cps_weight=0 cps_weight=0.2 epochs=6"}
# CamVid photos are 480x360 and the CamVid recipe trains on them resized to a long side of
# 240-360 px, so its CAMs are computed at matching scales (4x cheaper than 1.0,0.5,1.5,2.0).
CAMVID_SCALES=${CAMVID_SCALES:-0.5,0.75,1.0}; CAMVID_REFINE_IMAGES=${CAMVID_REFINE_IMAGES:-$REFINE_IMAGES}
CLASSES=trouser,pullover,dress,sneaker,bag
mkdir -p "$OUT"
F=$OUT/fashion; S=$OUT/fashion-single
[[ -f $F/val.txt ]] || $AMR scenes --out "$F" --objects 1:2 --size 96 --train "$FT" --val "$FV" --min-contrast 60 \
  --classes $CLASSES --seed 100 >/dev/null
[[ -f $S/val.txt ]] || $AMR scenes --out "$S" --objects 1:1 --size 48 --train "$PRE" --val 500 --object-scale 0.7:0.95 \
  --min-contrast 60 --classes $CLASSES --seed 101 >/dev/null
SWEEP="--sweep 0.005:0.6:0.005"  # PartScenes CAMs are peaky: AMR's best threshold was at 0.02, the lower end of a 0.02 grid

evaluate() {  # run dir (or model file), data, list, name, extra cam flags...
  local run=$1 data=$2 list=$3 name=$4 model=(--run "$1"); shift 4
  [[ -f $run ]] && model=(--weights "$run")
  $AMR cam "${model[@]}" --data "$data" --list "$list" --out "$OUT/cams/$name" --save-branches --resume --quiet "$@" >/dev/null
  if [[ $name == *cam_* && $name != *amr* ]]; then xs=""; else xs="--xi-sweep 0:1:0.1"; fi
  [[ -f $OUT/$name.json ]] ||
    $AMR eval --cams "$OUT/cams/$name" --data "$data" --list "$list" $SWEEP $xs --json "$OUT/$name.json" >/dev/null
}

# An AMR run trained with precise BatchNorm (the default of the amr variants: model.pt) evaluated
# also without it: its last epoch's model, saved before the recalibration (name.no-precise-bn).
evaluate_without_precise_bn() {  # run dir, data, list, name, extra cam flags...
  local run=$1 data=$2 list=$3 name=$4; shift 4
  grep -q '"type":"precise_bn"' "$run/log.jsonl" || return 0
  evaluate "$(ls "$run"/epoch_*.pt | sort -V | tail -1)" "$data" "$list" "${name%_*}.no-precise-bn_${name##*_}" "$@"
}

for s in $SEEDS; do
  if [[ $PARTS == 1 ]]; then
    for d in $PARTS_D; do
      echo "== PartScenes d=$d seed $s" >&2
      P=$OUT/parts_$d; PS=$OUT/parts-single_$d; R=$OUT/runs/parts_${d}_$s
      parts_cam_stage "$d" "$P" "$PS" "$R" "$s" 200
      runs=(amr amr-improved)
      if [[ $s == "${SEEDS%% *}" ]]; then  # sweeps of the improved variant on the first seed
        for t in $TAU_SWEEP; do runs+=("amr-improved:tau=$t"); done
        for a in $AREA_SWEEP; do runs+=("amr-improved:area_weight=$a"); done
        for a in $PARTS_ABLATIONS; do runs+=("amr:$a"); done
      fi
      for spec in "${runs[@]}"; do
        v=${spec%%:*}; flags=(--init "$R/pre" --epochs "$PARTS_AMR_EPOCHS"); name=$v
        case $spec in
          *:init=cam) flags=(--init "$R/cam" --epochs "$PARTS_AMR_EPOCHS") ;;
          *:epochs=*) flags=(--init "$R/pre" --epochs "${spec#*:epochs=}") ;;
          *:*) flags+=(--set "${spec#*:}") ;;
        esac
        [[ $spec == *:* ]] && name="$v-${spec#*:}"
        [[ -f $R/$name/model.pt ]] || $AMR train --overwrite --config configs/parts-amr.yaml --data "$P" --out "$R/$name" --variant $v \
          --spotlight-from "$R/cam" --set precise_bn=$PRECISE_BN "${flags[@]}" --set seed=$s --quiet
      done
      evaluate "$R/cam" "$P" val.txt "parts_${d}_cam_$s"
      for spec in "${runs[@]}"; do
        name=${spec/:/-}
        evaluate "$R/$name" "$P" val.txt "parts_${d}_${name}_$s"
        [[ $name == amr || $name == amr-improved ]] && evaluate_without_precise_bn "$R/$name" "$P" val.txt "parts_${d}_${name}_$s"
      done
    done
  fi
  if [[ $FASHION == 1 ]]; then
    echo "== FashionScenes seed $s" >&2
    R=$OUT/runs/fashion_$s
    [[ -f $R/pre/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-pre.yaml --data "$S" --out "$R/pre" --set seed=$s --quiet
    [[ -f $R/cam/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-cam.yaml --data "$F" --out "$R/cam" --init "$R/pre" \
      --epochs "$CAM_EPOCHS" --set seed=$s --quiet
    for v in amr amr-improved; do
      [[ -f $R/$v/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-amr.yaml --data "$F" --out "$R/$v" --variant $v \
        --spotlight-from "$R/cam" --set precise_bn=$PRECISE_BN --init "$R/pre" --epochs "$AMR_EPOCHS" --set seed=$s --quiet
    done
    evaluate "$R/cam" "$F" val.txt "fashion_cam_$s"
    for v in amr amr-improved; do
      evaluate "$R/$v" "$F" val.txt "fashion_${v}_$s"
      evaluate_without_precise_bn "$R/$v" "$F" val.txt "fashion_${v}_$s"
    done
  fi
  if [[ $CAMVID == 1 ]]; then
    echo "== CamVid seed $s" >&2
    C=../shared/data/camvid; R=$OUT/runs/camvid_$s
    [[ -f $R/cam/model.pt ]] || $AMR train --overwrite --config configs/camvid-cpu.yaml --data "$C" --out "$R/cam" \
      --epochs "$CAMVID_CAM_EPOCHS" --set seed=$s --quiet
    for v in amr amr-improved; do
      [[ -f $R/$v/model.pt ]] || $AMR train --overwrite --config configs/camvid-cpu.yaml --data "$C" --out "$R/$v" --variant $v \
        --spotlight-from "$R/cam" --set precise_bn=$PRECISE_BN --init "$R/cam" --epochs "$CAMVID_AMR_EPOCHS" --set seed=$s --set routing=official --quiet
    done
    for v in cam amr amr-improved; do
      evaluate "$R/$v" "$C" val.txt "camvid_${v}_$s" --labels-from-masks --scales "$CAMVID_SCALES"
      [[ $v == cam ]] || evaluate_without_precise_bn "$R/$v" "$C" val.txt "camvid_${v}_$s" --labels-from-masks --scales "$CAMVID_SCALES"
    done
  fi
done

refinements() {  # name, run dir, data, id list, extra cam flags...: CAM, Grad-CAM, AdvCAM, CAM + dense CRF
  local name=$1 run=$2 data=$3 list=$4; shift 4
  for r in none gradcam advcam; do
    $AMR cam --run "$run" --data "$data" --list "$list" --out "$OUT/cams/${name}_refine_$r" --refine $r \
      --adv-iterations "$ADV_ITER" --resume --quiet "$@" >/dev/null
    $AMR eval --cams "$OUT/cams/${name}_refine_$r" --data "$data" --list "$list" $SWEEP --json "$OUT/${name}_refine_$r.json" >/dev/null
  done
  local t
  t=$($PY -c "import json; j=json.load(open('$OUT/${name}_refine_none.json')); print(j['points'][j['best']]['threshold'])")
  $AMR label --cams "$OUT/cams/${name}_refine_none" --data "$data" --list "$list" --out "$OUT/labels_crf_$name" \
    --bg-threshold "$t" --crf >/dev/null
  $AMR eval --labels "$OUT/labels_crf_$name" --data "$data" --list "$list" --json "$OUT/${name}_refine_crf.json" >/dev/null
}

s=${SEEDS%% *}
if [[ $FASHION == 1 && $REFINE_IMAGES -gt 0 ]]; then
  echo "== refinements (AMR seed $s, first $REFINE_IMAGES val images)" >&2
  head -n "$REFINE_IMAGES" "$F/val.txt" > "$OUT/fashion_val_refine.txt"
  refinements fashion "$OUT/runs/fashion_$s/amr" "$F" "$OUT/fashion_val_refine.txt"
fi
if [[ $CAMVID == 1 && $CAMVID_REFINE_IMAGES -gt 0 ]]; then
  head -n "$CAMVID_REFINE_IMAGES" ../shared/data/camvid/val.txt > "$OUT/camvid_val_refine.txt"
  refinements camvid "$OUT/runs/camvid_$s/amr" ../shared/data/camvid "$OUT/camvid_val_refine.txt" --labels-from-masks \
    --scales "$CAMVID_SCALES"
fi

minutes=$(minutes_since "$start")
export RUN_INFO="Run: SEEDS=\"$SEEDS\" PARTS=$PARTS PARTS_D=\"$PARTS_D\" PARTS_TRAIN=$PT PARTS_VAL=$PV PARTS_PRE_TRAIN=$PPRE PARTS_AMR_EPOCHS=$PARTS_AMR_EPOCHS PRECISE_BN=$PRECISE_BN TAU_SWEEP=\"$TAU_SWEEP\" AREA_SWEEP=\"$AREA_SWEEP\" PARTS_ABLATIONS=\"$PARTS_ABLATIONS\" FASHION=$FASHION FASHION_TRAIN=$FT FASHION_VAL=$FV PRE_TRAIN=$PRE CAM_EPOCHS=$CAM_EPOCHS AMR_EPOCHS=$AMR_EPOCHS CAMVID=$CAMVID CAMVID_CAM_EPOCHS=$CAMVID_CAM_EPOCHS CAMVID_AMR_EPOCHS=$CAMVID_AMR_EPOCHS CAMVID_SCALES=$CAMVID_SCALES REFINE_IMAGES=$REFINE_IMAGES CAMVID_REFINE_IMAGES=$CAMVID_REFINE_IMAGES ADV_ITER=$ADV_ITER ($(date -u +%F); this invocation $minutes min on $(nproc) cores, $(cpu_isa))"
{ $PY bench/python/quality_table.py "$OUT" "$SEEDS" "$CAMVID" "$([[ $PARTS == 1 ]] && echo "$PARTS_D")" "$FASHION"; echo; cat bench/quality_analysis.md; } > "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
