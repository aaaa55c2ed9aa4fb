#!/usr/bin/env bash
# CAMs of one list by N processes on this machine, each `--shard i/N` of the same command, then
# a check that OUT holds one valid CAM per id of the list and nothing else:
#   bash scripts/cam-sharded.sh N -- ./build/amr cam --run RUN --data D --list L --out OUT [...]
# Across hosts: run `amr cam ... --shard i/N` on host i (OUT on a shared file system), then
#   bash scripts/cam-sharded.sh --check -- ./build/amr cam --run RUN --data D --list L --out OUT
# Shards share the cores (--threads cores/N unless given). Add --resume to continue after a
# failure; the exit status is non-zero when a shard failed or the union is not the list.
set -euo pipefail
usage() { echo "usage: $0 N|--check -- AMR cam ARGS...   (ARGS without --shard)" >&2; exit 2; }
(($# >= 4)) || usage
n=$1
[[ $2 == -- ]] || usage
shift 2
for a in "$@"; do [[ $a == --shard* ]] && { echo "$0: --shard is set by this script" >&2; exit 2; }; done
if [[ $n != --check ]]; then
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "$0: N: expected a positive integer or --check, got '$n'" >&2; exit 2; }
  threads=()
  [[ " $* " == *" --threads "* ]] || threads=(--threads $(( $(nproc) / n > 0 ? $(nproc) / n : 1 )))
  pids=()
  for ((i = 0; i < n; i++)); do
    "$@" --shard "$i/$n" "${threads[@]}" &
    pids+=($!)
  done
  failed=0
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { echo "$0: shard $i/$n failed (status $?)" >&2; failed=1; }
  done
  ((failed == 0)) || exit 1
fi
"$@" --check
