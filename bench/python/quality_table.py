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

for ds, title in [("fashion", "FashionScenes"), ("camvid", "CamVid")]:
    if load(f"{ds}_refine_none") is None:
        continue
    print(f"## Refinements, {title} (AMR seed {seeds[0]}, first val images)\n")
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
if fashion:
    c, a, i = mean(("fashion", "cam")), mean(("fashion", "amr")), mean(("fashion", "amr-improved"))
    print(f"- FashionScenes AMR >= CAM + 5: {a:.2f} vs {c:.2f} + 5 -> {verdict(a >= c + 5)}")
    print(f"- FashionScenes improved AMR >= AMR: {i:.2f} vs {a:.2f} -> {verdict(i >= a)}")
if camvid:
    cc, ca = mean(("camvid", "cam")), mean(("camvid", "amr"))
    print(f"- CamVid AMR > CAM: {ca:.2f} vs {cc:.2f} -> {'met' if ca > cc else 'NOT met'}")
