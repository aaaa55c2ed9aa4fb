#!/usr/bin/env bash
# Image-level tags in, segmentation model and val mIoU out: the official AMR pipeline (IRN's
# run_sample.py order, then the DeepLab stage) as amr subcommands, from one config.
#
#   bash scripts/pipeline.sh configs/voc-pipeline.conf
#
# The config is key=value lines (bash syntax): DATA, OUT, INIT, SEG_INIT and, optionally, the
# stage configs and lists below. Each stage writes into OUT and is skipped when its output is
# complete; an interrupted training stage continues from its last.pt (--resume), an interrupted
# cam/label/masks/segment stage from the files it wrote (--resume). Run it again to continue.
#
#   1 train cam           OUT/runs/cam         (CAM_CONFIG, INIT: ImageNet ResNet-50 via amr import-weights)
#   2 train amr           OUT/runs/amr         (AMR_CONFIG; spotlight from the cam run, compensation from INIT)
#   3 cam                 OUT/cams             (MASK_LIST; CAM_FLAGS)
#   4 label               OUT/ir-labels        (IR_FLAGS: AMR's thresholds + dense CRF)
#   5 train-irn           OUT/runs/irn         (IRN_CONFIG, INIT)
#   6 masks               OUT/masks            (MASK_LIST), scored on EVAL_LIST's ground truth
#   7 train-seg           OUT/runs/seg         (SEG_CONFIG, SEG_INIT: ImageNet ResNet-101, or the reference's init)
#   8 segment + eval      OUT/seg-val          (VAL_LIST; SEG_FLAGS), the final val mIoU
set -euo pipefail
[[ $# -eq 1 && -f $1 ]] || { echo "usage: bash scripts/pipeline.sh PIPELINE.conf (see configs/voc-pipeline.conf)" >&2; exit 2; }
cd "$(dirname "$0")/.."
AMR=${AMR:-./build/amr}
CAM_CONFIG=configs/voc-official-cam.yaml; AMR_CONFIG=configs/voc-official-amr.yaml
IRN_CONFIG=configs/voc-official-irn.yaml; SEG_CONFIG=configs/voc-deeplab-v2.yaml
MASK_LIST=train_aug.txt; EVAL_LIST=train.txt; VAL_LIST=val.txt
CAM_FLAGS="--xi 0.5 --scales 1.0,0.5,1.5,2.0"; IR_FLAGS="--fg 0.60 --bg 0.33 --crf"; SEG_FLAGS="--crf"
TRAIN_FLAGS=""; THREADS=0
# shellcheck disable=SC1090
source "$1"
for key in DATA OUT INIT SEG_INIT; do [[ -n ${!key:-} ]] || { echo "$1: $key is required" >&2; exit 2; }; done
[[ -x $AMR ]] || bash scripts/build.sh --target amr_cli > /dev/null
mkdir -p "$OUT"
T=(--threads "$THREADS")

# A training stage: skipped when RUN/model.pt exists, resumed from RUN/last.pt, else started.
train_stage() {
  local cmd=$1 run=$2; shift 2
  if [[ -f $run/model.pt ]]; then return; fi
  if [[ -f $run/last.pt ]]; then "$AMR" "$cmd" --out "$run" --resume "${T[@]}"; else "$AMR" "$cmd" --out "$run" "$@" "${T[@]}"; fi
}
miou() { sed -n 's/^\*\*mIoU \([0-9.]*\)\*\*.*/\1/p' "$1"; }

echo "== 1/8 cam stage"
# shellcheck disable=SC2086
train_stage train "$OUT/runs/cam" --config "$CAM_CONFIG" --data "$DATA" --init "$INIT" $TRAIN_FLAGS
echo "== 2/8 amr stage"
# shellcheck disable=SC2086
train_stage train "$OUT/runs/amr" --config "$AMR_CONFIG" --data "$DATA" --spotlight-from "$OUT/runs/cam" --init "$INIT" $TRAIN_FLAGS
echo "== 3/8 CAMs of $MASK_LIST"
# shellcheck disable=SC2086
"$AMR" cam --run "$OUT/runs/amr" --data "$DATA" --list "$MASK_LIST" --out "$OUT/cams" --resume --quiet $CAM_FLAGS "${T[@]}"
echo "== 4/8 IR labels"
# shellcheck disable=SC2086
"$AMR" label --cams "$OUT/cams" --data "$DATA" --list "$MASK_LIST" --out "$OUT/ir-labels" --resume $IR_FLAGS "${T[@]}" > /dev/null
echo "== 5/8 IRN"
train_stage train-irn "$OUT/runs/irn" --config "$IRN_CONFIG" --data "$DATA" --list "$MASK_LIST" --labels "$OUT/ir-labels" --init "$INIT"
echo "== 6/8 pseudo-masks"
"$AMR" masks --cams "$OUT/cams" --data "$DATA" --list "$MASK_LIST" --irn "$OUT/runs/irn/model.pt" --out "$OUT/masks" --resume --quiet "${T[@]}"
"$AMR" eval --labels "$OUT/masks" --data "$DATA" --list "$EVAL_LIST" "${T[@]}" > "$OUT/masks.md"
echo "== 7/8 DeepLab on the pseudo-masks"
train_stage train-seg "$OUT/runs/seg" --config "$SEG_CONFIG" --data "$DATA" --list "$MASK_LIST" --masks "$OUT/masks" --init "$SEG_INIT"
echo "== 8/8 segmentation of $VAL_LIST"
# shellcheck disable=SC2086
"$AMR" segment --model "$OUT/runs/seg/model.pt" --data "$DATA" --list "$VAL_LIST" --out "$OUT/seg-val" --resume --quiet $SEG_FLAGS "${T[@]}"
"$AMR" eval --labels "$OUT/seg-val" --data "$DATA" --list "$VAL_LIST" "${T[@]}" > "$OUT/seg-val.md"
echo "pseudo-masks ($EVAL_LIST): mIoU $(miou "$OUT/masks.md"); segmentation ($VAL_LIST): mIoU $(miou "$OUT/seg-val.md")"
echo "model: $OUT/runs/seg/model.pt (amr segment --model ... --images DIR --out PRED)"
