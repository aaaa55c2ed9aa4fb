# Helpers sourced by the demo and the benchmarks (bash).

# The widest of the CPU's vector ISAs that matter for speed (benchmarks print which one they ran on).
cpu_isa() {
  local f
  for f in avx512_bf16 avx512f avx2; do grep -qw "$f" /proc/cpuinfo && { echo "$f"; return; }; done
  echo "no AVX2"
}

# Minutes since the epoch seconds $1, with $2 decimals (default 0).
minutes_since() { awk -v s="$1" -v e="$(date +%s)" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, (e - s) / 60 }'; }

# The PartScenes plain-CAM recipe at body signal $1 (needs AMR, PT, PV, PPRE): 96 px scenes of 1-2
# objects in $2 and 48 px single objects in $3 (scene seeds $6 and $6+1), pretraining run $4/pre
# and cam run $4/cam (configs/parts-{pre,cam}.yaml, training seed $5). Skips what exists.
parts_cam_stage() {
  local d=$1 data=$2 single=$3 runs=$4 seed=$5 scene_seed=$6
  [[ -f $data/val.txt ]] || $AMR scenes --kind parts --body-signal "$d" --out "$data" --objects 1:2 --size 96 \
    --train "$PT" --val "$PV" --seed "$scene_seed" >/dev/null
  [[ -f $single/val.txt ]] || $AMR scenes --kind parts --body-signal "$d" --out "$single" --objects 1:1 --size 48 \
    --train "$PPRE" --val 500 --seed $((scene_seed + 1)) >/dev/null
  [[ -f $runs/pre/model.pt ]] || $AMR train --overwrite --config configs/parts-pre.yaml --data "$single" --out "$runs/pre" \
    --set seed="$seed" --quiet
  [[ -f $runs/cam/model.pt ]] || $AMR train --overwrite --config configs/parts-cam.yaml --data "$data" --out "$runs/cam" \
    --init "$runs/pre" --set seed="$seed" --quiet
}

# Field $2 of the last JSON line of file $1.
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(open('$1').read().strip().splitlines()[-1])['$2'])"; }
# The Python expression $1 printed with $2 decimals.
fmt() { /usr/bin/python3 -c "print(f'{$1:.$2f}')"; }
# The mIoU of an `amr eval` markdown report.
miou() { sed -n 's/^\*\*mIoU \([0-9.]*\)\*\*.*/\1/p' "$1"; }
