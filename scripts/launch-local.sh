#!/usr/bin/env bash
# Starts N ranks of a data-parallel `amr train` on this machine, as torchrun does:
#   bash scripts/launch-local.sh N -- ./build/amr train --config ... --out RUN
# Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR (127.0.0.1) and
# MASTER_PORT ($MASTER_PORT or 29500); they share the cores (threads = cores / N unless
# --threads is given). Rank 0 writes RUN and prints the progress. When a rank fails the
# others are stopped and the script exits with its status; with --resume the job continues
# from RUN/last.pt (with any N that splits the batch).
set -euo pipefail
usage() { echo "usage: $0 N -- COMMAND [ARGS...]   (N ranks of COMMAND on this machine)" >&2; exit 2; }
(($# >= 3)) || usage
n=$1
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "$0: N: expected a positive integer, got '$n'" >&2; exit 2; }
[[ $2 == -- ]] || usage
shift 2
export WORLD_SIZE=$n LOCAL_WORLD_SIZE=$n MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} MASTER_PORT=${MASTER_PORT:-29500}
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap 'stop_all; exit 130' INT TERM
for ((r = 0; r < n; r++)); do
  RANK=$r LOCAL_RANK=$r "$@" &
  pids+=($!)
done
status=0
for ((left = n; left > 0; left--)); do
  wait -n && continue  # any rank (the only children)
  status=$?
  echo "$0: a rank exited with status $status; stopping the others" >&2
  stop_all
  wait || true
  break
done
exit $status
