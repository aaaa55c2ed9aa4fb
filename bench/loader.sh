#!/usr/bin/env bash
# Loader throughput vs training consumption on FashionScenes (128 px, the shipped CPU config).
# Run alone on the machine. Writes bench/results/loader.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target bench_loader --target amr_cli >/dev/null
DATA=${DATA:-/tmp/amr_bench_fashion}
[[ -f $DATA/train.txt ]] || ./build/amr scenes --out "$DATA" --train 3000 --val 500 --size 128 --seed 0 >/dev/null
{
  echo "# Loader throughput (\`bash bench/loader.sh\`, $(date -u +%F), $(nproc) cores)"
  echo
  echo "FashionScenes 128 px, crop 128, long side 112-160, flip, batch 32 (configs/fashion-cpu.yaml)."
  echo
  ./build/bench/bench_loader "$DATA" train.txt 128 112 160 32 0 1 2
  RUN=$(mktemp -d)
  ./build/amr train --config configs/fashion-cpu.yaml --data "$DATA" --out "$RUN" --threads 2 --stop-after-steps 8 --quiet >/dev/null
  echo
  echo "Training consumption (ResNet-18 cam variant, 2 threads, steps 3-8 of log.jsonl):" \
    "$(/usr/bin/python3 -c "import json,sys; v=[json.loads(l)['images_per_s'] for l in open('$RUN/log.jsonl')][2:]; print(round(sum(v)/len(v),1))") img/s"
  rm -rf "$RUN"
} | tee bench/results/loader.md
