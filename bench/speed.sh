#!/usr/bin/env bash
# Speed benchmark, side by side in one run: the official AMR code on Debian's python3-torch 1.13.1
# and on the pinned PyPI torch 2.x (scripts/install-torch2.sh), vs amr built on Debian's LibTorch
# 1.13.1 and on the same PyPI LibTorch 2.x (scripts/build.sh --torch2); 2 threads each, same
# machine, inputs and weights (the official Net on Kaiming-initialized ResNet-50s with calibrated
# BatchNorm statistics, imported into amr). Ratios: the faster official over amr.
# Run alone on the machine (~25 min on 2 cores). Writes bench/results/speed.md.
#   TORCH2=0       skip the 2.x side (no PyPI access)
#   ADV_SIZE=WxH   image size of the AdvCAM rows (default 250x188 keeps the full run short; the official
#                  loop takes 250 s per 500x375 image with 2 iterations: bench/results/speed_advcam_500x375.md)
#   ADV_ITER=K     AdvCAM iterations on both sides (default 2)
#   ONLY=advcam    only the AdvCAM row, into bench/results/speed_advcam_<ADV_SIZE>.md (e.g. ADV_SIZE=500x375)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target amr_cli --target bench_crf --target bench_gemm >/dev/null
TORCH2=${TORCH2:-1}
[[ $TORCH2 == 0 ]] || bash scripts/build.sh --torch2 --target amr_cli >/dev/null
AMR=$(pwd)/build/amr
PY=/usr/bin/python3
REF=$(cd ../shared/reference/amr-official && pwd)
CAMVID=../shared/data/camvid/JPEGImages
OFF="$PY $(pwd)/bench/python/official_speed.py"
ADV_SIZE=${ADV_SIZE:-250x188}
ADV_ITER=${ADV_ITER:-2}
ONLY=${ONLY:-}
[[ -z $ONLY || $ONLY == advcam ]] || { echo "bench/speed.sh: ONLY: expected empty or advcam, got '$ONLY'" >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
rss() { /usr/bin/time -f "%M" -o "$W/rss" "$@"; }  # peak RSS (KB) of a command -> $W/rss
mb() { echo $(( $(cat "$W/rss") / 1024 )); }
json() { $PY -c "import json,sys; print(json.loads(open('$1').read().strip().splitlines()[-1])['$2'])"; }
json_profile_images() { $PY -c "import json; print(json.load(open('$W/profile.json'))['images'])"; }

# Inputs: 3 CamVid photos at 500x375 (classes 6 and 14 as image labels); 16 copies for training.
mkdir -p "$W/voc/JPEGImages" "$W/train/JPEGImages" "$W/adv/JPEGImages"
( echo background; for i in $(seq 0 19); do echo "c$i"; done ) | tee "$W/voc/classes.txt" "$W/train/classes.txt" > "$W/adv/classes.txt"
LABELS="0 0 0 0 0 0 1 0 0 0 0 0 0 0 1 0 0 0 0 0"
IMGS=$(ls $CAMVID | head -24 | awk 'NR%8==1')
$PY - "$CAMVID" "$W" "$ADV_SIZE" $IMGS <<'PYEOF'
import sys, cv2
src, w, adv = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split("x")]
for i, f in enumerate(sys.argv[4:]):
    im = cv2.imread(f"{src}/{f}")
    cv2.imwrite(f"{w}/voc/JPEGImages/img{i}.jpg", cv2.resize(im, (500, 375), interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 95])
    for r in range(6):
        cv2.imwrite(f"{w}/train/JPEGImages/t{i}_{r}.jpg", cv2.resize(im, (500, 375), interpolation=cv2.INTER_AREA))
    if i == 0:
        cv2.imwrite(f"{w}/adv/JPEGImages/img0.jpg", cv2.resize(im, tuple(adv), interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 95])
PYEOF
ls "$W/voc/JPEGImages" | sed 's/.jpg//' > "$W/voc/list.txt"
ls "$W/train/JPEGImages" | sed 's/.jpg//' | head -16 > "$W/train/list.txt"
echo img0 > "$W/adv/list.txt"
for d in voc train adv; do awk -v l="$LABELS" '{print $1" "l}' "$W/$d/list.txt" > "$W/$d/cls_labels.txt"; done

echo "== weights" >&2
$OFF weights "$REF" "$W/official.pth" "$W"/voc/JPEGImages/*.jpg >/dev/null
$AMR import-weights --from "$W/official.pth" --arch resnet50 --out "$W/amr.pt" >/dev/null

r() { $PY -c "print(f'{$1 / $2:.2f}')"; }
f() { $PY -c "print(f'{$1:.2f}')"; }
echo "== AdvCAM ($ADV_SIZE, $ADV_ITER iterations, 7 scales, 2 classes, both branches)" >&2
$OFF advcam "$REF" "$W/official.pth" "$W/adv/JPEGImages/img0.jpg" "$ADV_ITER" > "$W/off_adv.json"
OFF_ADV=$(json "$W/off_adv.json" advcam_s_per_image)
$AMR cam --weights "$W/amr.pt" --arch resnet50 --data "$W/adv" --list list.txt --out "$W/adv_cams" --threads 2 --quiet \
  --refine advcam --adv-iterations "$ADV_ITER" --scales 1.0,0.5,0.75,1.25,1.5,1.75,2.0 > "$W/our_adv.txt"
OUR_ADV=$(grep -o '[0-9.]* s/image' "$W/our_adv.txt" | cut -d' ' -f1)

adv_row() {
  echo "| AdvCAM per image ($ADV_SIZE, 2 classes, 7 scales, both branches, $ADV_ITER iterations) (s) | $(f "$OFF_ADV") | | $(f "$OUR_ADV") | **$(r "$OFF_ADV" "$OUR_ADV")x** |"
}
if [[ $ONLY == advcam ]]; then
  { echo "# Speed: AdvCAM, amr vs the official loop (\`ONLY=advcam ADV_SIZE=$ADV_SIZE ADV_ITER=$ADV_ITER bash bench/speed.sh\`, $(date -u +%F))"
    echo
    echo "Same weights and setup as bench/results/speed.md (one CamVid photo resized to $ADV_SIZE, classes 6 and 14)."
    echo
    echo "| measurement | official | official+flush | amr | ratio official/amr |"
    echo "|---|---|---|---|---|"
    adv_row; } | tee "bench/results/speed_advcam_$ADV_SIZE.md"
  exit 0
fi

echo "== (b) plain CAM generation" >&2
rss $OFF cam "$REF" "$W/official.pth" "$W"/voc/JPEGImages/*.jpg > "$W/off_cam.json"
OFF_CAM=$(json "$W/off_cam.json" cam_s_per_image); OFF_CAM_MB=$(mb)
OFFICIAL_FLUSH_DENORMAL=1 $OFF cam "$REF" "$W/official.pth" "$W"/voc/JPEGImages/*.jpg > "$W/off_cam_fd.json"
OFF_CAM_FD=$(json "$W/off_cam_fd.json" cam_s_per_image)
# amr's plain CAM s/image with binary $1 into $W/$2, extra flags after; peak RSS -> $W/rss.
amr_cam() {
  local bin=$1 out=$2
  shift 2
  rss "$bin" cam --weights "$W/amr.pt" --arch resnet50 --data "$W/voc" --list list.txt --out "$W/$out" --threads 2 --quiet \
    "$@" > "$W/$out.txt"
  grep -o '[0-9.]* s/image' "$W/$out.txt" | cut -d' ' -f1
}
OUR_CAM=$(amr_cam "$AMR" cams); OUR_CAM_MB=$(mb)
OUR_CAM_NOFOLD=$(amr_cam "$AMR" cams_nofold --no-fold-bn)
OUR_CAM_CONT=$(amr_cam "$AMR" cams_cont --memory-format contiguous)
$AMR cam --weights "$W/amr.pt" --arch resnet50 --data "$W/voc" --list list.txt --out "$W/cams_prof" --threads 2 --quiet \
  --profile "$W/profile.json" >/dev/null
# bf16: only where the CPU has it natively (amr refuses it elsewhere: autocast would emulate it ~11x slower).
if grep -qw avx512_bf16 /proc/cpuinfo || grep -qw amx_bf16 /proc/cpuinfo; then
  BF16=native
  OUR_CAM_BF16=$(amr_cam "$AMR" cams_bf16 --precision bf16)
  # CAM quality in bf16: a trained FashionScenes AMR run of bench/quality.sh (or the demo), fp32 vs bf16.
  FRUN=""; for cand in bench/quality_out/runs/fashion_0/amr demo_out/runs/amr; do [[ -f $cand/model.pt ]] && { FRUN=$cand; break; }; done
  if [[ -n $FRUN ]]; then
    FDATA=$($PY -c "import yaml,sys; print(yaml.safe_load(open('$FRUN/config.yaml'))['data'])")
    for prec in fp32 bf16; do
      $AMR cam --run "$FRUN" --data "$FDATA" --list val.txt --out "$W/fcams_$prec" --precision $prec --threads 2 --quiet >/dev/null
      $AMR eval --cams "$W/fcams_$prec" --data "$FDATA" --list val.txt --sweep 0.05:0.6:0.05 --json "$W/feval_$prec.json" >/dev/null
    done
    BF16_MIOU=$($PY -c "
import json
m = [max(p['miou'] for p in json.load(open('$W/feval_%s.json' % k))['points']) for k in ('fp32', 'bf16')]
print(f'fp32 {100 * m[0]:.2f}, bf16 {100 * m[1]:.2f}, change {100 * (m[1] - m[0]):+.2f} points')")
  else
    BF16_MIOU="not measured: no FashionScenes run (run bench/quality.sh or scripts/demo.sh first)"
  fi
else
  BF16=emulated
fi

echo "== (a) training step" >&2
rss $OFF train "$REF" "$W/official.pth" 2 "$W"/train/JPEGImages/*.jpg > "$W/off_train.json"
OFF_STEP=$(json "$W/off_train.json" step_s); OFF_STEP_MB=$(mb)
OFFICIAL_FLUSH_DENORMAL=1 $OFF train "$REF" "$W/official.pth" 2 "$W"/train/JPEGImages/*.jpg > "$W/off_train_fd.json"
OFF_STEP_FD=$(json "$W/off_train_fd.json" step_s)
# amr's training step (median of steps 2-4, batch 8, 512x512) with binary $1 and extra flags; peak RSS -> $W/rss.
amr_step() {
  local bin=$1
  shift
  rss "$bin" train --overwrite --config configs/voc-official-amr.yaml --set spotlight_from= --set init= --data "$W/train" \
    --list list.txt --set val_list= --batch 8 --workers 1 --init-from "$W/amr.pt" --out "$W/run" --stop-after-steps 4 \
    --threads 2 --quiet "$@" >/dev/null 2>&1
  $PY -c "
import json, statistics
v = [json.loads(l) for l in open('$W/run/log.jsonl')]
print(statistics.median([8 / s['images_per_s'] for s in v if s['type'] == 'step'][1:]))"
  rm -rf "$W/run"
}
OUR_STEP=$(amr_step "$AMR"); OUR_STEP_MB=$(mb)
OUR_STEP_NT=$(AMR_MALLOC_TUNING=0 amr_step "$AMR"); OUR_STEP_NT_MB=$(mb)
for malloc in 1 0; do  # memory: checkpoint (compensation blocks recomputed in backward), both malloc settings
  printf -v "OUR_STEP_CK_$malloc" '%s' "$(AMR_MALLOC_TUNING=$malloc amr_step "$AMR" --set memory=checkpoint)"
  printf -v "OUR_STEP_CK_MB_$malloc" '%s' "$(mb)"
done

echo "== (f) the official code on PyTorch 2.x, amr on LibTorch 2.x" >&2
if [[ $TORCH2 != 0 ]]; then
  PY2=$(pwd)/.venv-torch2/bin/python
  OFF2="$PY2 $(pwd)/bench/python/official_speed.py"
  AMR2=$(pwd)/build-torch2/amr
  TORCH2_VERSION=$($PY2 -c 'import torch; print(torch.__version__.split("+")[0])')
  $OFF2 cam "$REF" "$W/official.pth" "$W"/voc/JPEGImages/*.jpg > "$W/off2_cam.json"
  OFF2_CAM=$(json "$W/off2_cam.json" cam_s_per_image)
  $OFF2 train "$REF" "$W/official.pth" 2 "$W"/train/JPEGImages/*.jpg > "$W/off2_train.json"
  OFF2_STEP=$(json "$W/off2_train.json" step_s)
  OUR2_CAM=$(amr_cam "$AMR2" cams2)
  OUR2_STEP=$(amr_step "$AMR2")
  [[ $BF16 == native ]] && OUR2_CAM_BF16=$(amr_cam "$AMR2" cams2_bf16 --precision bf16)
  # The faster official is the reference of the ratios.
  FAST_STEP=$($PY -c "print(min($OFF_STEP, $OFF2_STEP))"); FAST_CAM=$($PY -c "print(min($OFF_CAM, $OFF2_CAM))")
  OFFICIAL_TORCH=$($PY -c "print('$TORCH2_VERSION' if $OFF2_STEP + $OFF2_CAM < $OFF_STEP + $OFF_CAM else '1.13.1')")
else
  FAST_STEP=$OFF_STEP; FAST_CAM=$OFF_CAM; OFFICIAL_TORCH=1.13.1
fi

echo "== (d) GEMM peak, step FLOPs" >&2
PEAK=$(./build/bench/bench_gemm 2)
$OFF flops "$REF" > "$W/flops.json"
STEP_GFLOP=$(json "$W/flops.json" step_gflop); CAM_GFLOP=$(json "$W/flops.json" cam_gflop)

echo "== dense CRF" >&2
CRF_ROW=$(./build/bench/bench_crf "$W/voc/JPEGImages/img0.jpg" 5)

{
  echo "# Speed: amr vs the official AMR code (\`bash bench/speed.sh\`, $(date -u +%F), $(nproc) cores, 2 threads each side)"
  echo
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); fp32 GEMM peak measured with libtorch (bench_gemm, 2048^3): **$(f "$PEAK") GFLOP/s**."
  echo "Official: ../shared/reference/amr-official with Debian's python3-torch 1.13.1 (table (f): also on the PyPI torch). Same weights on both sides (official \`Net\`"
  echo "on Kaiming ResNet-50s, BatchNorm statistics calibrated layer by layer on photos; \`amr import-weights\`), same images"
  echo "(CamVid photos at 500x375). \"official+flush\" = the official code with \`torch.set_flush_denormal(True)\` (amr always"
  echo "flushes denormals, which the AMM's Gaussian produces): the fairer comparison of the kernels' work."
  echo
  echo "| measurement | official | official+flush | amr | ratio official/amr (flush) |"
  echo "|---|---|---|---|---|"
  echo "| (a) AMR training step, ResNet-50 x2, batch 8, 512x512 (s) | $(f "$OFF_STEP") | $(f "$OFF_STEP_FD") | $(f "$OUR_STEP") | **$(r "$OFF_STEP" "$OUR_STEP")x** ($(r "$OFF_STEP_FD" "$OUR_STEP")x) |"
  echo "| (a') same, amr with glibc's default malloc (AMR_MALLOC_TUNING=0) (s) | | | $(f "$OUR_STEP_NT") | $(r "$OFF_STEP" "$OUR_STEP_NT")x ($(r "$OFF_STEP_FD" "$OUR_STEP_NT")x) |"
  echo "| (b) plain CAM per 500x375 image, 4 scales + flip, both branches (s) | $(f "$OFF_CAM") | $(f "$OFF_CAM_FD") | $(f "$OUR_CAM") | **$(r "$OFF_CAM" "$OUR_CAM")x** ($(r "$OFF_CAM_FD" "$OUR_CAM")x) |"
  echo "| (b') same, amr without BatchNorm folding (--no-fold-bn) (s) | | | $(f "$OUR_CAM_NOFOLD") | $(r "$OFF_CAM" "$OUR_CAM_NOFOLD")x |"
  echo "| (b'') same, amr with contiguous (NCHW) activations (--memory-format contiguous; auto = channels-last here) (s) | | | $(f "$OUR_CAM_CONT") | $(r "$OFF_CAM" "$OUR_CAM_CONT")x |"
  if [[ $BF16 == native ]]; then
    echo "| (b-bf16) same, amr --precision bf16 (autocast; CPU has native bf16) (s) | $(f "$OFF_CAM") (fp32) | | $(f "$OUR_CAM_BF16") | **$(r "$OFF_CAM" "$OUR_CAM_BF16")x** |"
  fi
  adv_row
  if [[ $TORCH2 != 0 ]]; then
    echo
    echo "(f) The same on PyTorch / LibTorch $TORCH2_VERSION (the PyPI wheel, CPU; \`scripts/build.sh --torch2\`). The summary's"
    echo "train_ratio / cam_ratio / bf16_cam_ratio take the faster official (here: torch $OFFICIAL_TORCH) over amr on Debian's 1.13.1."
    echo
    echo "| measurement | official 1.13.1 | official $TORCH2_VERSION | amr 1.13.1 | amr $TORCH2_VERSION | faster official / amr 1.13.1 | official / amr, both $TORCH2_VERSION |"
    echo "|---|---|---|---|---|---|---|"
    echo "| (a) training step (s) | $(f "$OFF_STEP") | $(f "$OFF2_STEP") | $(f "$OUR_STEP") | $(f "$OUR2_STEP") | **$(r "$FAST_STEP" "$OUR_STEP")x** | **$(r "$OFF2_STEP" "$OUR2_STEP")x** |"
    echo "| (b) plain CAM per image (s) | $(f "$OFF_CAM") | $(f "$OFF2_CAM") | $(f "$OUR_CAM") | $(f "$OUR2_CAM") | **$(r "$FAST_CAM" "$OUR_CAM")x** | **$(r "$OFF2_CAM" "$OUR2_CAM")x** |"
    if [[ $BF16 == native ]]; then
      echo "| (b-bf16) amr --precision bf16 (official fp32) (s) | $(f "$OFF_CAM") | $(f "$OFF2_CAM") | $(f "$OUR_CAM_BF16") | $(f "$OUR2_CAM_BF16") | **$(r "$FAST_CAM" "$OUR_CAM_BF16")x** | **$(r "$OFF2_CAM" "$OUR2_CAM_BF16")x** |"
    fi
  fi
  echo
  echo "| peak RSS (MB) | official | amr | amr/official |"
  echo "|---|---|---|---|"
  echo "| (c) training step | $OFF_STEP_MB | $OUR_STEP_MB | **$(r "$OUR_STEP_MB" "$OFF_STEP_MB")** |"
  echo "| (c) training step, amr with AMR_MALLOC_TUNING=0 | $OFF_STEP_MB | $OUR_STEP_NT_MB | $(r "$OUR_STEP_NT_MB" "$OFF_STEP_MB") |"
  echo "| (c) training step, amr with memory: checkpoint | $OFF_STEP_MB | $OUR_STEP_CK_MB_1 | **$(r "$OUR_STEP_CK_MB_1" "$OFF_STEP_MB")** |"
  echo "| (c) training step, amr with memory: checkpoint and AMR_MALLOC_TUNING=0 | $OFF_STEP_MB | $OUR_STEP_CK_MB_0 | $(r "$OUR_STEP_CK_MB_0" "$OFF_STEP_MB") |"
  echo "| (c) CAM generation | $OFF_CAM_MB | $OUR_CAM_MB | $(r "$OUR_CAM_MB" "$OFF_CAM_MB") |"
  echo
  echo "Step time with memory: checkpoint (the compensation blocks' forward runs twice): $(f "$OUR_STEP_CK_1") s"
  echo "($(r "$OUR_STEP_CK_1" "$OUR_STEP")x amr's default), $(f "$OUR_STEP_CK_0") s with AMR_MALLOC_TUNING=0; official / amr $(r "$OFF_STEP" "$OUR_STEP_CK_1")x."
  echo
  echo "(d) A training step is ~$(f "$STEP_GFLOP") GFLOP (torch.profiler conv FLOPs: spotlight forward + frozen stem/layer1 +"
  echo "3x the trained compensation part for forward and backward): amr reaches $($PY -c "print(f'{$STEP_GFLOP / $OUR_STEP:.0f}')") GFLOP/s ="
  echo "**$($PY -c "print(f'{100 * $STEP_GFLOP / $OUR_STEP / $PEAK:.0f}')")% of the GEMM peak**; the official code $($PY -c "print(f'{100 * $STEP_GFLOP / $OFF_STEP / $PEAK:.0f}')")%."
  echo "A plain CAM of one 500x375 image is ~$(f "$CAM_GFLOP") GFLOP (both branches, 4 scales, image + flip): amr reaches"
  echo "$($PY -c "print(f'{$CAM_GFLOP / $OUR_CAM:.0f}')") GFLOP/s = **$($PY -c "print(f'{100 * $CAM_GFLOP / $OUR_CAM / $PEAK:.0f}')")% of the GEMM peak**; the official code $($PY -c "print(f'{100 * $CAM_GFLOP / $OFF_CAM / $PEAK:.0f}')")%."
  echo "VOC train (1,464 images, ~500x375) at this speed: amr $($PY -c "print(f'{1464 * $OUR_CAM / 3600:.2f}')") h, official $($PY -c "print(f'{1464 * $OFF_CAM / 3600:.2f}')") h$([[ $BF16 == native ]] && echo ", amr bf16 $($PY -c "print(f'{1464 * $OUR_CAM_BF16 / 3600:.2f}')") h")."
  echo
  echo "(e) Where amr's plain CAM time goes (\`amr cam --profile\`, fp32, $(json_profile_images) images, seconds per image):"
  echo
  $PY - "$W/profile.json" "$CAM_GFLOP" "$PEAK" <<'PYEOF'
import json, sys, collections
p = json.load(open(sys.argv[1])); n = max(1, p["images"]); sec = p["seconds"]
stages = ["stem", "layer1", "layer2", "layer3", "layer4", "classifier"]
scales = sorted({k.split("/")[0] for k in sec if k.startswith("scale ")}, key=lambda s: float(s.split()[1]))
print("| scale | branch | " + " | ".join(stages) + " | total |")
print("|---|---|" + "---|" * (len(stages) + 1))
per_branch = collections.Counter()
for s in scales:
    for b in ("spotlight", "compensation"):
        v = [sec.get(f"{s}/{b}/{st}", 0) / n for st in stages]
        per_branch[b] += sum(v)
        print(f"| {s[6:]} | {b} | " + " | ".join(f"{x:.3f}" for x in v) + f" | {sum(v):.3f} |")
other = {k: v / n for k, v in sec.items() if not k.startswith("scale ")}
net = sum(per_branch.values())
print()
print(f"Network {net:.3f} s/image (spotlight {per_branch['spotlight']:.3f}, compensation {per_branch['compensation']:.3f}); "
      + ", ".join(f"{k} {v:.3f}" for k, v in sorted(other.items())) + f"; whole run {p['total_s'] / n:.3f} s/image.")
print(f"Network alone at {float(sys.argv[2]) / net:.0f} GFLOP/s = {100 * float(sys.argv[2]) / net / float(sys.argv[3]):.0f}% of the GEMM peak.")
PYEOF
  echo
  echo "| dense CRF | time |"
  echo "|---|---|"
  echo "$CRF_ROW"
  echo
  if [[ $BF16 == native ]]; then
    echo "bf16 (native on this CPU): CAM mIoU on FashionScenes val, best threshold: $BF16_MIOU."
    BF16_RATIO=$(r "$FAST_CAM" "$OUR_CAM_BF16")
  else
    echo "bf16: this CPU has no native bf16 (no avx512_bf16 / amx_bf16): amr refuses --precision bf16 (autocast would emulate it)."
    BF16_RATIO=n/a
  fi
  echo
  V2=n/a; T2=n/a; C2=n/a
  [[ $TORCH2 != 0 ]] && { V2=$TORCH2_VERSION; T2=$(r "$OFF2_STEP" "$OUR2_STEP"); C2=$(r "$OFF2_CAM" "$OUR2_CAM"); }
  echo "summary: train_ratio=$(r "$FAST_STEP" "$OUR_STEP") cam_ratio=$(r "$FAST_CAM" "$OUR_CAM") cam_peak_fraction=$($PY -c "print(f'{$CAM_GFLOP / $OUR_CAM / $PEAK:.2f}')") rss_ratio=$(r "$OUR_STEP_MB" "$OFF_STEP_MB") rss_ratio_checkpoint=$(r "$OUR_STEP_CK_MB_1" "$OFF_STEP_MB") bf16=$BF16 bf16_cam_ratio=$BF16_RATIO official_torch=$OFFICIAL_TORCH torch2=$V2 train_ratio_vs_torch2=$T2 cam_ratio_vs_torch2=$C2"
} > bench/results/speed.md.tmp && mv bench/results/speed.md.tmp bench/results/speed.md
cat bench/results/speed.md
