"""bench/results/quality.md from the JSON files of bench/quality.sh.
usage: quality_table.py OUT "SEEDS" CAMVID(0|1)"""
import json
import os
import statistics
import sys

out, seeds, camvid = sys.argv[1], sys.argv[2].split(), sys.argv[3] == "1"
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
    params = ([f"{t:.2f}"] if threshold and j["has_background"] else []) + ([] if xi is None else [f"xi {xi:.1f}"])
    return f"{m:.2f}" + (f" ({', '.join(params)})" if params else "")


def val_metric(run, key):
    """Last epoch's validation metric; the compensation branch's for the AMR variants."""
    epochs = [json.loads(l) for l in open(os.path.join(run, "log.jsonl"))]
    epochs = [l for l in epochs if l["type"] == "epoch" and key in l]
    if not epochs:
        return float("nan")
    return epochs[-1].get(key + "_compensation", epochs[-1][key])


def mean_std(v, digits=2):
    if len(v) > 1:
        return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"
    return f"{v[0]:.{digits}f}"


print("# Quality: CAM vs AMR vs improved AMR (`bash bench/quality.sh`)\n")
if os.environ.get("RUN_INFO"):
    print(os.environ["RUN_INFO"] + "\n")
summary = {}
for ds in ["fashion"] + (["camvid"] if camvid else []):
    print(f"## {'FashionScenes' if ds == 'fashion' else 'CamVid'} val\n")
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
              ", ".join(f"{p['threshold']:.2f}: {100 * p['miou']:.2f}" for p in j["points"]) + "\n")

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


c, a, i = mean(("fashion", "cam")), mean(("fashion", "amr")), mean(("fashion", "amr-improved"))
print(f"- FashionScenes AMR >= CAM + 5: {a:.2f} vs {c:.2f} + 5 -> {'met' if a >= c + 5 else 'NOT met'}")
print(f"- improved AMR >= AMR: {i:.2f} vs {a:.2f} -> {'met' if i >= a else 'NOT met'}")
if camvid:
    cc, ca = mean(("camvid", "cam")), mean(("camvid", "amr"))
    print(f"- CamVid AMR > CAM: {ca:.2f} vs {cc:.2f} -> {'met' if ca > cc else 'NOT met'}")
