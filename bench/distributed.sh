#!/usr/bin/env bash
# Data-parallel throughput on this machine (run it alone): the demo's AMR training step
# (ResNet-18 x 2 branches, 96 px FashionScenes, global batch 16) as 1 rank x 2 threads vs 2 ranks
# x 1 thread (scripts/launch-local.sh, c10d Gloo on 127.0.0.1), images/s and the all-reduce's
# share of the step; then CAMs of 64 val scenes by 1 process vs 2 shards (scripts/cam-sharded.sh).
# Resumable: a rerun skips the measurements whose result exists (bench/dist_out/, DIST_OUT).
# Results: bench/results/distributed.md (RESULTS).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
AMR=./build/amr
OUT=${DIST_OUT:-bench/dist_out}
RESULTS=${RESULTS:-bench/results/distributed.md}
STEPS=${STEPS:-60}  # optimizer steps per training measurement (the first 10 are not timed)
mkdir -p "$OUT"
[[ -x $AMR ]] || bash scripts/build.sh --target amr_cli >/dev/null
[[ -f $OUT/data/val.txt ]] || $AMR scenes --out $OUT/data --objects 1:2 --size 96 --train 1200 --val 64 --min-contrast 60 \
  --classes trouser,pullover,dress,sneaker,bag --seed 0 >/dev/null
COMMON=(--config configs/fashion-demo-amr.yaml --data $OUT/data --variant amr --set val_list= --quiet
        --stop-after-steps "$STEPS" --set log_every=1000)

# $1 name, then the launcher: train steps, keep the log.
train_case() {
  local name=$1; shift
  [[ -f $OUT/$name.done ]] && return
  rm -rf "$OUT/runs/$name"
  "$@" --out "$OUT/runs/$name"
  cp "$OUT/runs/$name/log.jsonl" "$OUT/$name.jsonl" && touch "$OUT/$name.done"
}
train_case one-rank $AMR train "${COMMON[@]}" --threads 2
train_case two-ranks env MASTER_PORT=29611 bash scripts/launch-local.sh 2 -- $AMR train "${COMMON[@]}" --threads 1

# Mean images/s and all-reduce share over the steps after the 10th.
stats() {
  awk 'function num(key) { return match($0, "\"" key "\":[-0-9.e+]+") ? substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0 : 0 }
       /"type":"step"/ { if (num("step") > 10) { n++; t += 16 / num("images_per_s"); a += num("allreduce_s") } }
       END { printf "%.1f %.1f %.3f", 16 * n / t, 100 * a / t, t / n }' "$1"
}
read -r one_ips one_ar one_step <<< "$(stats $OUT/one-rank.jsonl)"
read -r two_ips two_ar two_step <<< "$(stats $OUT/two-ranks.jsonl)"

# CAMs: a model of the one-rank run (its last.pt weights are what matter for speed).
if [[ ! -f $OUT/cam.done ]]; then
  [[ -f $OUT/runs/cam-model/model.pt ]] || $AMR train --overwrite --config configs/fashion-demo-amr.yaml --data $OUT/data --variant amr \
    --epochs 1 --set val_list= --out $OUT/runs/cam-model --quiet --set 'list=val.txt' --batch 16
  head -n 64 $OUT/data/val.txt > $OUT/data/cam64.txt
  rm -rf $OUT/cams-1 $OUT/cams-2
  t0=$(date +%s.%N)
  $AMR cam --run $OUT/runs/cam-model --data $OUT/data --list cam64.txt --out $OUT/cams-1 --quiet --threads 2 >/dev/null
  t1=$(date +%s.%N)
  bash scripts/cam-sharded.sh 2 -- $AMR cam --run $OUT/runs/cam-model --data $OUT/data --list cam64.txt --out $OUT/cams-2 --quiet >/dev/null
  t2=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.1f %.1f\n", b - a, c - b }' > $OUT/cam.times
  touch $OUT/cam.done
fi
read -r cam_one cam_two < $OUT/cam.times

{
  echo "# Data-parallel training and sharded CAMs (\`bash bench/distributed.sh\`, $(date -u +%F), $(nproc) cores, $(cpu_isa))"
  echo
  echo "The demo's AMR step (\`configs/fashion-demo-amr.yaml\`: ResNet-18 spotlight + compensation, 96 px,"
  echo "global batch 16), $STEPS steps, the first 10 not timed; ranks on 127.0.0.1 (c10d Gloo)."
  echo
  echo "| layout | images/s | s/step | all-reduce share of the step |"
  echo "|---|---|---|---|"
  echo "| 1 rank x 2 threads | $one_ips | $one_step | - |"
  echo "| 2 ranks x 1 thread (\`scripts/launch-local.sh 2\`) | $two_ips | $two_step | $two_ar % |"
  echo
  echo "The all-reduce share is rank 0's time in the gradient (and loss) all-reduce, waiting for the"
  echo "other rank included. On one 2-core machine the two layouts use the same cores: the second row"
  echo "measures the cost of the data-parallel machinery, not a speed-up; the gain comes from more machines."
  echo "| CAMs of 64 val scenes (scales 1.0, 0.5, 1.5, 2.0 + flip, both branches) | seconds |"
  echo "|---|---|"
  echo "| 1 process x 2 threads | $cam_one |"
  echo "| 2 shards x 1 thread (\`scripts/cam-sharded.sh 2\`, incl. its check) | $cam_two |"
  echo
  echo "distributed: one_rank_ips=$one_ips two_ranks_ips=$two_ips allreduce_share=$two_ar cam_one_s=$cam_one cam_two_shards_s=$cam_two"
} > "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
