"""bench/results/quality.md from the JSON files of bench/quality.sh.
usage: quality_table.py OUT "SEEDS" CAMVID(0|1) ["PARTS_D"] [FASHION(0|1)]"""
import json
import os
import statistics
import sys

out, seeds, camvid = sys.argv[1], sys.argv[2].split(), sys.argv[3] == "1"
parts_d = sys.argv[4].split() if len(sys.argv) > 4 else []
fashion = sys.argv[5] == "1" if len(sys.argv) > 5 else True
VARIANTS = ["cam", "amr", "amr-improved"]


def load(name):
    path = os.path.join(out, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None


def best(j):
    p = j["points"][j["best"]]
    return 100 * p["miou"], p["threshold"], p.get("xi")


def cell(j, threshold=True):
    """'mIoU (threshold, xi)' of the best point; the threshold only where there is a background."""
    m, t, xi = best(j)
    params = ([f"{t:g}"] if threshold and j["has_background"] else []) + ([] if xi is None else [f"xi {xi:.1f}"])
    return f"{m:.2f}" + (f" ({', '.join(params)})" if params else "")


def val_metric(run, key):
    """Last epoch's validation metric; the compensation branch's for the AMR variants."""
    epochs = [json.loads(l) for l in open(os.path.join(run, "log.jsonl"))]
    epochs = [l for l in epochs if l["type"] == "epoch" and key in l]
    if not epochs:
        return float("nan")
    return epochs[-1].get(key + "_compensation", epochs[-1][key])


def parts_recall(j):
    """(part recall, body recall) in % at the best point."""
    p = j["points"][j["best"]]
    return 100 * p.get("part_recall", float("nan")), 100 * p.get("body_recall", float("nan"))


def best_at_xi(j, xi):
    """Best mIoU over thresholds at one xi, as text."""
    m = [p["miou"] for p in j["points"] if p.get("xi") is not None and abs(p["xi"] - xi) < 1e-6]
    return f"{100 * max(m):.2f}" if m else "-"


def mean_std(v, digits=2):
    if len(v) > 1:
        return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"
    return f"{v[0]:.{digits}f}"


def first_seed_runs(ds, prefix):
    """Names of the extra runs (sweeps, ablations) of the first seed whose name starts with prefix."""
    names = (f[:-5] for f in os.listdir(out) if f.endswith(".json"))
    return sorted(n[len(ds) + 1:-len(seeds[0]) - 1] for n in names
                  if n.startswith(f"{ds}_{prefix}") and n.endswith(f"_{seeds[0]}"))


def run_table(ds, names, intro, branches):
    """One row per run of the first seed: best point, the branches alone (AMR), part / body recall."""
    print(intro + ":\n")
    extra = " spotlight alone (xi 1) | compensation alone (xi 0) |" if branches else ""
    print("| run | mIoU (threshold, xi) |" + extra + " part / body recall |")
    print("|---|---|" + ("---|---|" if branches else "") + "---|")
    for n in names:
        j = load(f"{ds}_{n}_{seeds[0]}")
        if j is not None:
            pr, br = parts_recall(j)
            cols = f" {best_at_xi(j, 1.0)} | {best_at_xi(j, 0.0)} |" if branches else ""
            print(f"| {n} | {cell(j)} |" + cols + f" {pr:.1f} / {br:.1f} |")
    print()


print("# Quality: CAM vs AMR vs improved AMR (`bash bench/quality.sh`)\n")
if os.environ.get("RUN_INFO"):
    print(os.environ["RUN_INFO"] + "\n")
summary, body = {}, {}


def title(ds):
    if ds.startswith("parts_"):
        return f"PartScenes d={ds[6:]}"
    return "FashionScenes" if ds == "fashion" else "CamVid"


def branch_alone(j, xi):
    m = [p["miou"] for p in j["points"] if p.get("xi") is not None and abs(p["xi"] - xi) < 1e-6]
    return 100 * max(m) if m else float("nan")


def precise_bn_table(ds):
    """Each AMR variant without / with precise BatchNorm over the seeds: the compensation branch
    alone, the spotlight alone, the fused CAM, and the seeds whose fused CAM is below the plain CAM."""
    rows = []
    for v in ["amr", "amr-improved"]:
        for label, name in [("without", f"{v}.no-precise-bn"), ("with", v)]:
            js = {s: load(f"{ds}_{name}_{s}") for s in seeds}
            js = {s: j for s, j in js.items() if j is not None}
            if not js or not any(load(f"{ds}_{v}.no-precise-bn_{s}") for s in seeds):
                continue
            comp = [branch_alone(j, 0.0) for j in js.values()]
            spot = [branch_alone(j, 1.0) for j in js.values()]
            fused = [best(j)[0] for j in js.values()]
            cams = {s: load(f"{ds}_cam_{s}") for s in js}
            below = [s for s, j in js.items() if cams[s] is not None and best(j)[0] < best(cams[s])[0]]
            rows.append((v, label, comp, spot, fused, below, len(js)))
            summary[(ds, name, "compensation")] = comp
            summary[(ds, name, "spotlight")] = spot
            summary[(ds, name, "below_cam")] = below
    if not rows:
        return
    print("Precise BatchNorm (issue 29; `with`: model.pt, recalibrated over up to 200 training batches after the last "
          "epoch; `without`: the same run's last-epoch model, saved before it):\n")
    print("| variant | precise BN | compensation alone (xi 0): " + ", ".join(f"seed {s}" for s in seeds) +
          " | mean ± std | spotlight alone (xi 1) mean ± std | fused, mean ± std | seeds with fused < cam |")
    print("|---|---|---|---|---|---|---|")
    for v, label, comp, spot, fused, below, n in rows:
        print(f"| {v} | {label} | " + ", ".join(f"{c:.2f}" for c in comp) + f" | {mean_std(comp)} | {mean_std(spot)} | "
              f"{mean_std(fused)} | {', '.join(below) if below else 'none'} ({n} seeds) |")
    print()


for ds in [f"parts_{d}" for d in parts_d] + (["fashion"] if fashion else []) + (["camvid"] if camvid else []):
    print(f"## {title(ds)} val\n")
    print("| variant | " + " | ".join(f"seed {s}: mIoU (threshold, xi)" for s in seeds) + " | mean ± std | val F1 / mAP, last epoch (compensation for AMR) |")
    print("|---|" + "---|" * (len(seeds) + 2))
    for v in VARIANTS:
        vals, cells = [], []
        for s in seeds:
            j = load(f"{ds}_{v}_{s}")
            if j is None:
                cells.append("-")
                continue
            vals.append(best(j)[0])
            cells.append(cell(j))
        runs = [os.path.join(out, "runs", f"{ds}_{s}", v) for s in seeds]
        runs = [r for r in runs if os.path.exists(os.path.join(r, "log.jsonl"))]
        f1 = [val_metric(r, "val_f1") for r in runs]
        ap = [val_metric(r, "val_map") for r in runs]
        summary[(ds, v)] = vals
        print(f"| {v} | " + " | ".join(cells) + f" | {mean_std(vals) if vals else '-'} | "
              f"{mean_std(f1, 3) + ' / ' + mean_std(ap, 3) if f1 else '-'} |")
    print()
    if ds.startswith("parts_"):
        print("Part / body recall at each run's best point (share of part / body pixels labelled with their "
              "object's class; a CAM stuck on the part has body << part):\n")
        print("| variant | part recall | body recall |\n|---|---|---|")
        for v in VARIANTS:
            rec = [parts_recall(j) for j in (load(f"{ds}_{v}_{s}") for s in seeds) if j is not None]
            body[(ds, v)] = [b for _, b in rec]
            if rec:
                print(f"| {v} | {mean_std([p for p, _ in rec], 1)} | {mean_std([b for _, b in rec], 1)} |")
        print()
        sweeps = first_seed_runs(ds, "amr-improved-")
        if sweeps:
            run_table(ds, ["amr-improved"] + sweeps,
                      f"Improved AMR sweeps (seed {seeds[0]}; the default is tau 0.3, area weight 0.05)", False)
        ablations = [n for n in first_seed_runs(ds, "amr-") if not n.startswith("amr-improved")]
        if ablations:
            run_table(ds, ["amr"] + ablations,
                      f"AMR ablations (seed {seeds[0]}; each run changes one thing against `amr`: official routing, "
                      "compensation backbone from the pretraining, CPS weight 0.05, 3 epochs)", True)
    precise_bn_table(ds)
    s0 = seeds[0]
    for v in ["amr", "amr-improved"]:
        j = load(f"{ds}_{v}_{s0}")
        if j is None:
            continue
        by_xi = {}
        for p in j["points"]:
            if p.get("xi") is not None and (p["xi"] not in by_xi or p["miou"] > by_xi[p["xi"]][0]):
                by_xi[p["xi"]] = (p["miou"], p["threshold"])
        print(f"xi sweep, {v}, seed {s0} (best threshold per xi): " +
              ", ".join(f"{xi:.1f}: {100 * m:.2f}" for xi, (m, _) in sorted(by_xi.items())) + "\n")
    j = load(f"{ds}_cam_{s0}")
    if j is not None and j["has_background"]:
        print(f"background threshold sweep, cam, seed {s0}: " +
              ", ".join(f"{p['threshold']:g}: {100 * p['miou']:.2f}" for p in j["points"]) + "\n")

for ds in ["fashion", "camvid"]:
    if load(f"{ds}_refine_none") is None:
        continue
    print(f"## Refinements, {title(ds)} (AMR seed {seeds[0]}, first val images)\n")
    print("| CAM | mIoU (best threshold) |\n|---|---|")
    for r, label in [("none", "CAM (AMR, fused)"), ("gradcam", "+ Grad-CAM"), ("advcam", "+ AdvCAM"),
                     ("crf", "CAM + dense CRF (pseudo-labels at the best threshold)")]:
        j = load(f"{ds}_refine_{r}")
        if j is None:
            continue
        print(f"| {label} | {cell(j, threshold=r != 'crf')} |")
    print()
print("## Targets\n")


def mean(k):
    return statistics.mean(summary[k]) if summary.get(k) else float("nan")


def std(k):
    return statistics.stdev(summary[k]) if len(summary.get(k, [])) > 1 else float("nan")


def verdict(ok):
    return "met" if ok else "NOT met"


for d in parts_d:
    ds = f"parts_{d}"
    c, a, i = mean((ds, "cam")), mean((ds, "amr")), mean((ds, "amr-improved"))
    spread = 2 * max(std((ds, "cam")), std((ds, "amr")))
    print(f"- PartScenes d={d} AMR >= CAM + 3 (means over {len(summary.get((ds, 'amr'), []))} seeds, difference > 2 std): "
          f"{a:.2f} vs {c:.2f}, difference {a - c:.2f}, 2 std {spread:.2f} -> {verdict(a - c >= 3 and a - c > spread)}")
    bc = statistics.mean(body[(ds, "cam")]) if body.get((ds, "cam")) else float("nan")
    ba = statistics.mean(body[(ds, "amr")]) if body.get((ds, "amr")) else float("nan")
    print(f"- PartScenes d={d} AMR body recall > CAM body recall: {ba:.1f} vs {bc:.1f} -> {verdict(ba > bc)}")
    print(f"- PartScenes d={d} improved AMR >= AMR: {i:.2f} vs {a:.2f} -> {verdict(i >= a)}")
for ds in [f"parts_{d}" for d in parts_d] + (["fashion"] if fashion else []) + (["camvid"] if camvid else []):
    for v in ["amr", "amr-improved"]:
        comp, spot = summary.get((ds, v, "compensation")), summary.get((ds, v, "spotlight"))
        if not comp or len(comp) < 2:
            continue
        sd, gap = statistics.stdev(comp), statistics.mean(spot) - statistics.mean(comp)
        below = summary[(ds, v, "below_cam")]
        print(f"- {title(ds)} {v} with precise BN: compensation alone spread <= 1.5 over {len(comp)} seeds: std {sd:.2f} "
              f"-> {verdict(sd <= 1.5)}; mean within 3 of the spotlight's: {statistics.mean(comp):.2f} vs "
              f"{statistics.mean(spot):.2f} -> {verdict(gap <= 3)}; no seed with the fused AMR below the plain CAM: "
              f"{', '.join(below) if below else 'none'} -> {verdict(not below)}")
if fashion:
    c, a, i = mean(("fashion", "cam")), mean(("fashion", "amr")), mean(("fashion", "amr-improved"))
    print(f"- FashionScenes AMR >= CAM + 5: {a:.2f} vs {c:.2f} + 5 -> {verdict(a >= c + 5)}")
    print(f"- FashionScenes improved AMR >= AMR: {i:.2f} vs {a:.2f} -> {verdict(i >= a)}")
if camvid:
    cc, ca = mean(("camvid", "cam")), mean(("camvid", "amr"))
    print(f"- CamVid AMR > CAM: {ca:.2f} vs {cc:.2f} -> {'met' if ca > cc else 'NOT met'}")
