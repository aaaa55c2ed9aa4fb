"""bench/results/peer.md's tables from bench/peer.sh's outputs.
usage: peer_table.py OUT "SEEDS" [summary]   (summary: only the last line, `peer: ...`)
Reads OUT/{official,amr}_<seed>/eval.json (amr eval with threshold and xi sweeps) and the stage
times (official: times.json, amr: times.txt)."""
import json
import os
import statistics
import sys

out, seeds = sys.argv[1], sys.argv[2].split()
only_summary = len(sys.argv) > 3 and sys.argv[3] == "summary"
if only_summary:
    sys.stdout = open(os.devnull, "w")
SIDES = ["official", "amr"]


def evaluation(side, s):
    path = os.path.join(out, f"{side}_{s}", "eval.json")
    return json.load(open(path)) if os.path.exists(path) else None


def best_at(j, xi=None):
    """The best point, over all xi or at one xi (each at its best threshold)."""
    pts = j["points"] if xi is None else [p for p in j["points"] if abs(p["xi"] - xi) < 1e-6]
    return max(pts, key=lambda p: p["miou"])


def times(side, s):
    d = os.path.join(out, f"{side}_{s}")
    if side == "official":
        path = os.path.join(d, "times.json")
        return json.load(open(path)) if os.path.exists(path) else {}
    t = {}
    path = os.path.join(d, "times.txt")
    if os.path.exists(path):
        for line in open(path):
            stage, sec = line.split()
            t[stage] = float(sec)
    return t


def mean_std(v, digits=2):
    if not v:
        return "-"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"


fused = {side: [] for side in SIDES}
print("| side | seed | CAM mIoU (threshold, xi) | spotlight (xi 1) | compensation (xi 0) | body recall | part recall | train_cam s | train_amr s | cam s |")
print("|---|---|---|---|---|---|---|---|---|---|")
columns = {side: {k: [] for k in ("spot", "comp", "body", "part", "train_cam", "train_amr", "cam")} for side in SIDES}
for s in seeds:
    for side in SIDES:
        j = evaluation(side, s)
        t = times(side, s)
        if j is None:
            print(f"| {side} | {s} | not run | | | | | | | |")
            continue
        b, spot, comp = best_at(j), best_at(j, 1.0), best_at(j, 0.0)
        fused[side].append(100 * b["miou"])
        c = columns[side]
        c["spot"].append(100 * spot["miou"])
        c["comp"].append(100 * comp["miou"])
        c["body"].append(100 * b.get("body_recall", float("nan")))
        c["part"].append(100 * b.get("part_recall", float("nan")))
        for k in ("train_cam", "train_amr", "cam"):
            if k in t:
                c[k].append(t[k])
        print(f"| {side} | {s} | {100 * b['miou']:.2f} ({b['threshold']:g}, xi {b['xi']:.1f}) | "
              f"{100 * spot['miou']:.2f} ({spot['threshold']:g}) | {100 * comp['miou']:.2f} ({comp['threshold']:g}) | "
              f"{100 * b.get('body_recall', float('nan')):.1f} | {100 * b.get('part_recall', float('nan')):.1f} | "
              + " | ".join(f"{t[k]:.0f}" if k in t else "-" for k in ("train_cam", "train_amr", "cam")) + " |")
print()
print("| side | CAM mIoU | spotlight | compensation | body recall | train_cam s | train_amr s | cam s (val scenes) |")
print("|---|---|---|---|---|---|---|---|")
for side in SIDES:
    c = columns[side]
    print(f"| {side} | {mean_std(fused[side])} | {mean_std(c['spot'])} | {mean_std(c['comp'])} | {mean_std(c['body'], 1)} | "
          f"{mean_std(c['train_cam'], 0)} | {mean_std(c['train_amr'], 0)} | {mean_std(c['cam'], 0)} |")
print()
o, a = fused["official"], fused["amr"]
if len(o) >= 2 and len(a) >= 1:
    lo, hi = min(o), max(o)
    am = statistics.mean(a)
    inside = lo <= am <= hi
    om, osd = statistics.mean(o), statistics.stdev(o)
    print(f"- amr's mean {am:.2f} against the official seeds' range [{lo:.2f}, {hi:.2f}] "
          f"(mean {om:.2f} ± {osd:.2f}): {'inside' if inside else 'outside'}; "
          f"|difference of means| {abs(am - om):.2f} vs 2 std of the official {2 * osd:.2f} -> "
          f"{'within the official spread' if abs(am - om) <= 2 * osd or inside else 'NOT within the official spread'}")
for k, name in (("train_cam", "CAM stage"), ("train_amr", "AMR stage"), ("cam", "CAM generation")):
    to, ta = columns["official"][k], columns["amr"][k]
    if to and ta:
        print(f"- {name}: official {statistics.mean(to):.0f} s, amr {statistics.mean(ta):.0f} s, "
              f"official / amr = {statistics.mean(to) / statistics.mean(ta):.2f}x")
print()


def summary(v):
    if not v:
        return "n/a"
    return f"{statistics.mean(v):.2f}±{statistics.stdev(v) if len(v) > 1 else float('nan'):.2f}"


if only_summary:
    sys.stdout = sys.__stdout__
    print(f"peer: official_miou={summary(o)} amr_miou={summary(a)}")
