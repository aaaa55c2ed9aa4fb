#!/usr/bin/env bash
# amr on both supported LibTorch versions: Debian's 1.13.1 (build/) and the pinned PyPI 2.x wheel,
# CUDA-enabled (build-torch2/). Builds each (a build into an empty directory records its time),
# runs the whole ctest suite in each, and takes amr's speed on both from bench/results/speed.md
# (bash bench/speed.sh measures them side by side). Writes bench/results/libtorch2.md.
# Run alone on the machine: ~25 min with both builds done, ~70 min from empty build directories.
#   SKIP_TESTS=1   only the builds and the speed table (the ctest columns say "not run")
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# $1: label, $2: build directory, then scripts/build.sh's flags.
build_and_test() {
  local label=$1 dir=$2
  shift 2
  local t0=$SECONDS was_fresh=0
  [[ -f $dir/CMakeCache.txt ]] || was_fresh=1
  bash scripts/build.sh "$@" > "$W/$label.build.log" 2>&1 || { tail -20 "$W/$label.build.log" >&2; exit 1; }
  local now="now $((SECONDS - t0)) s (up to date)"
  ((was_fresh)) && now="built by this run"
  local fresh="not recorded (the directory was built before scripts/build.sh recorded times)"
  [[ -f $dir/fresh-build-seconds ]] && fresh=$(awk '{printf "%d min %d s (%s, %s)", $1 / 60, $1 % 60, $2, $3}' "$dir/fresh-build-seconds")
  local torch cuda
  torch=$(sed -n 's/^Torch_DIR:PATH=//p' "$dir/CMakeCache.txt")
  cuda=no
  ldd "$dir/amr" | grep -q libtorch_cuda && cuda="yes (links libtorch_cuda; this machine has no GPU)"
  local tests="not run (SKIP_TESTS=1)" failed="" tsec=""
  if [[ ${SKIP_TESTS:-0} != 1 ]]; then
    t0=$SECONDS
    (cd "$dir" && ctest -j2 --output-on-failure) > "$W/$label.ctest.log" 2>&1 || true
    tsec=" in $(((SECONDS - t0) / 60)) min"
    tests=$(grep -E 'tests passed|tests failed' "$W/$label.ctest.log" | tail -1)
    failed=$(sed -n '/The following tests FAILED/,$p' "$W/$label.ctest.log" | grep -E '^\s+[0-9]+ - ' | xargs || true)
  fi
  echo "| $label | \`scripts/build.sh $*\` → $dir | $torch | $cuda | $fresh; $now | $tests$tsec${failed:+ (FAILED: $failed)} |" >> "$W/rows"
  [[ -f $W/$label.ctest.log ]] && grep -E '^ *[0-9]+/[0-9]+ Test +#' "$W/$label.ctest.log" | sed 's/^ *//' > "$W/$label.tests" || true
}

build_and_test "LibTorch 1.13.1 (Debian)" build
build_and_test "LibTorch $(bash scripts/install-torch2.sh >/dev/null && .venv-torch2/bin/python -c 'import torch; print(torch.__version__)') (PyPI)" build-torch2 --torch2

{
  echo "# amr on LibTorch 1.13.1 and 2.x (\`bash bench/libtorch2.sh\`, $(date -u +%F), $(nproc) cores, CPU: $(cpu_isa))"
  echo
  echo "Commands: \`bash scripts/test.sh\` (Debian's LibTorch, as CI) and \`bash scripts/test.sh --torch2\` (installs the pinned"
  echo "PyPI torch into .venv-torch2 with scripts/install-torch2.sh, builds into build-torch2/, runs ctest there). A LibTorch"
  echo "from elsewhere: \`scripts/build.sh --libtorch DIR\` or \`cmake -DCMAKE_PREFIX_PATH=DIR\`."
  echo
  echo "| LibTorch | build | Torch_DIR | CUDA-enabled | build time (fresh) | ctest -j2 |"
  echo "|---|---|---|---|---|---|"
  cat "$W/rows"
  for f in "$W"/*.tests; do
    [[ -s $f ]] || continue
    echo
    echo "$(basename "$f" .tests):"
    echo
    echo '```'
    cat "$f"
    echo '```'
  done
  echo
  echo "## Speed of amr on both (from bench/results/speed.md)"
  echo
  if grep -q '^(f) ' bench/results/speed.md 2>/dev/null; then
    head -1 bench/results/speed.md | sed 's/^# /Measured by: /'
    echo
    sed -n '/^(f) /,/^$/p' bench/results/speed.md
    sed -n '/^(f) /,/^summary/p' bench/results/speed.md | sed -n '/^| measurement | official 1.13.1/,/^$/p'
    grep '^summary:' bench/results/speed.md
  else
    echo "bench/results/speed.md has no LibTorch 2.x table yet: run \`bash bench/speed.sh\`."
  fi
} > bench/results/libtorch2.md.tmp
mv bench/results/libtorch2.md.tmp bench/results/libtorch2.md
cat bench/results/libtorch2.md
