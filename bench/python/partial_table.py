#!/usr/bin/env python3
"""bench/results/partial_activation.md from bench/partial_activation.sh's outputs.

usage: partial_table.py OUT NAME...   (NAME: fashion, parts_<d>, camvid; run dir OUT/runs/NAME/cam)
"""
import json
import math
import os
import sys

# The failure mode counts as present when body recall is below this share of part recall.
FAILURE_RATIO = 0.75


def load(path):
    with open(path) as f:
        return json.load(f)


def last_epoch(run):
    last = None
    with open(os.path.join(run, "log.jsonl")) as f:
        for line in f:
            j = json.loads(line)
            if j.get("type") == "epoch":
                last = j
    return last


def pct(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def foreground(point, key):
    vals = [c[key] for c in point["classes"] if c["class"] != "background" and c[key] is not None]
    vals = [v for v in vals if not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else float("nan")


def label(name):
    if name == "fashion":
        return "FashionScenes"
    if name == "camvid":
        return "CamVid val"
    return f"PartScenes d={name.split('_', 1)[1]}"


def main():
    out, names = sys.argv[1], sys.argv[2:]
    print("# Partial activation of a plain CAM model (`bash bench/partial_activation.sh`)")
    print()
    print(os.environ.get("RUN_INFO", ""))
    print()
    print("T1: CAMs of the first val images at the background threshold with the best mIoU "
          "(CamVid: argmax over the crop-level classes, no threshold); foreground precision / recall "
          "are means over the object classes; part / body recall: share of part / body pixels "
          "predicted as their object's class (PartScenes only).")
    print("T2: `amr erase-test` (mean sigmoid score of each labelled class: on the image; with the "
          "CAM peak, CAM > 0.5 max, filled with the mean colour; with an equal area of background "
          "filled instead). Evidence outside the peak = the score that survives the peak's erasure.")
    print()
    print("| data | cam val F1 / mAP | images | bg thr | mIoU | fg precision | fg recall | part recall "
          "| body recall | body / part | score | peak erased | bg erased | peak area |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for name in names:
        ev = load(os.path.join(out, f"{name}.eval.json"))
        er = load(os.path.join(out, f"{name}.erase.json"))
        ep = last_epoch(os.path.join(out, "runs", name, "cam"))
        p = ev["points"][ev["best"]]
        part, body = p.get("part_recall"), p.get("body_recall")
        ratio = body / part if part and body is not None else None
        thr = f"{p['threshold']:.2f}" if ev["has_background"] else "-"
        print(f"| {label(name)} | {ep['val_f1']:.3f} / {ep['val_map']:.3f} | {ev['images']} | {thr} | "
              f"{pct(p['miou'])} | {pct(foreground(p, 'precision'))} | {pct(foreground(p, 'recall'))} | "
              f"{pct(part)} | {pct(body)} | {'-' if ratio is None else f'{ratio:.2f}'} | "
              f"{er['score']:.3f} | {er['score_peak_erased']:.3f} | {er['score_background_erased']:.3f} | "
              f"{pct(er['peak_area'])}% |")
        if ratio is not None:
            failure = ratio < FAILURE_RATIO
            verdicts.append(f"- {label(name)}: body recall {pct(body)} vs part recall {pct(part)} "
                            f"(ratio {ratio:.2f}) -> failure mode {'present' if failure else 'absent'}; "
                            f"score {er['score']:.3f} -> {er['score_peak_erased']:.3f} with the peak erased, "
                            f"{er['score_background_erased']:.3f} with background erased")
    print()
    print(f"Partial activation on PartScenes (body recall < {FAILURE_RATIO} x part recall):")
    print()
    print("\n".join(verdicts) if verdicts else "- no PartScenes row")
    print()
    present = [v.split(":")[0][2:] for v in verdicts if "present" in v]
    print("partial_activation: " + (" ".join(n.replace("PartScenes ", "") for n in present) if present else "none"))


if __name__ == "__main__":
    main()
