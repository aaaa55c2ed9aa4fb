#!/usr/bin/env bash
# Fuzzes the readers of untrusted files with libFuzzer + AddressSanitizer + UBSan (clang):
# checkpoints (.pth, zip and legacy pickle), CAM files (.npz), label PNGs, training configs
# (YAML), segmentation model descriptions and configs. Builds build-fuzz/ (cmake -DAMR_FUZZ=ON), seeds each corpus with small valid files
# (python3-torch / numpy write the .pth / .npz seeds), runs each target FUZZ_SECONDS (600), FUZZ_JOBS (one per core) at a time, and
# writes bench/results/fuzz.md (RESULTS). Resumable: the corpora in bench/fuzz_out/ (OUT) grow
# across runs. A crash leaves OUT/<target>/crash-* and makes this script exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
OUT=${OUT:-bench/fuzz_out}; RESULTS=${RESULTS:-bench/results/fuzz.md}; SECONDS_EACH=${FUZZ_SECONDS:-600}
PY=/usr/bin/python3
command -v clang++ >/dev/null || { echo "$0: needs clang (apt install clang libclang-rt-14-dev)" >&2; exit 2; }
cmake -S . -B build-fuzz -DAMR_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
B=build-fuzz/tests/fuzz
mkdir -p "$OUT"/{fuzz_pth,fuzz_npz,fuzz_npy_dict,fuzz_png,fuzz_config,fuzz_seg_model}/corpus
[[ -f $OUT/fuzz_pth/corpus/zip.pth && -f $OUT/fuzz_npy_dict/corpus/official.npy ]] || $PY - "$OUT" <<'PYEOF'
import sys, torch, numpy as np
out = sys.argv[1]
sd = {"conv.weight": torch.arange(8, dtype=torch.float32).view(2, 1, 2, 2), "bn.num_batches_tracked": torch.tensor(3)}
torch.save(sd, f"{out}/fuzz_pth/corpus/zip.pth")
torch.save(sd, f"{out}/fuzz_pth/corpus/legacy.pth", _use_new_zipfile_serialization=False)
torch.save({"state_dict": sd, "epoch": 2}, f"{out}/fuzz_pth/corpus/nested.pth", _use_new_zipfile_serialization=False)
np.savez(f"{out}/fuzz_npz/corpus/cam.npz", keys=np.array([0, 3], np.int32), cam=np.random.rand(2, 4, 5).astype(np.float32))
# The official make_cam's CAM file: a dict of a torch tensor (legacy-format storage inside) and numpy arrays.
np.save(f"{out}/fuzz_npy_dict/corpus/official.npy", {"keys": torch.tensor([2, 7]), "cam": torch.rand(2, 3, 4),
        "high_res": np.random.rand(2, 10, 14).astype(np.float32)})
np.savez_compressed(f"{out}/fuzz_npz/corpus/deflated.npz", keys=np.array([1], np.int32), cam=np.zeros((1, 3, 3), np.float32),
                    cam_s=np.ones((1, 3, 3), np.float32), cam_c=np.ones((1, 3, 3), np.float32))
PYEOF
if [[ ! -f $OUT/fuzz_png/corpus/done ]]; then
  ./build/amr scenes --out "$OUT/scenes" --train 2 --val 1 --size 32 --seed 1 --threads 1 >/dev/null
  cp "$OUT"/scenes/SegmentationClass/*.png "$OUT"/scenes/JPEGImages/*.jpg "$OUT/fuzz_png/corpus/" && touch "$OUT/fuzz_png/corpus/done"
fi
cp -n configs/*.yaml "$OUT/fuzz_config/corpus/" 2>/dev/null || true
cp -n configs/*seg*.yaml "$OUT/fuzz_seg_model/corpus/" 2>/dev/null || true
printf '{"format":"amr-seg-model","version":1,"arch":"resnet50","head":"v2","num_classes":21,"output_stride":8,"atrous_rates":[6,12,18,24],"msc_scales":[0.5,0.75],"bn":"frozen","input":"caffe"}' > "$OUT/fuzz_seg_model/corpus/description.json"

export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1
# The targets are single-threaded: JOBS of them (default: one per core) run side by side.
JOBS=${FUZZ_JOBS:-$(nproc)}
fuzz_one() {
  local t=$1
  echo "== $t ($SECONDS_EACH s)" >&2
  ( cd "$OUT/$t" && "../../../$B/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=4096 corpus ) > "$OUT/$t/last.log" 2>&1
}
targets=(fuzz_pth fuzz_npz fuzz_npy_dict fuzz_png fuzz_config fuzz_seg_model) failed=0
for t in "${targets[@]}"; do
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || failed=1; done
  fuzz_one "$t" &
done
while (( $(jobs -rp | wc -l) > 0 )); do wait -n || failed=1; done
rows=()
for t in "${targets[@]}"; do
  log=$OUT/$t/last.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [[ -n $execs ]] || execs=$(grep -oE '#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || echo "?")
  crashes=$(find "$OUT/$t" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' -o -maxdepth 1 -name 'timeout-*' | wc -l)
  (( crashes == 0 )) || failed=1
  rows+=("| $t | $SECONDS_EACH | ${execs:-?} | $cov | $(ls "$OUT/$t/corpus" | wc -l) | $crashes |")
done
{
  echo "# Fuzzing (\`bash bench/fuzz.sh\`, $(date -u +%F), $(nproc) cores, $(cpu_isa))"
  echo
  echo "libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer (clang $(clang++ --version | head -n 1 | grep -oE '[0-9]+\.[0-9.]+' | head -n 1));"
  echo "amr's readers instrumented (io/, cam_file, the config parser), LibTorch and OpenCV not. Corpora"
  echo "seeded with small valid files and kept across runs (this run adds to them). $JOBS targets ran side by side."
  echo
  echo "| target | seconds | executions | coverage (edges) | corpus files | crashes / leaks / timeouts |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Inputs that crashed a target once and are fixed, replayed by Faults.FuzzerFindingsStayFixed:"
  echo "$(ls tests/fuzz/regressions | sed 's/^/\`/; s/$/\`/' | paste -sd ' ')"
  echo
  echo "fuzz: failed=$failed"
} > "$RESULTS.tmp" && mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
exit $failed
