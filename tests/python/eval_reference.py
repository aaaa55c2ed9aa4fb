"""Independent mIoU (IRN eval_cam + chainercv confusion formula) of CAM .npz files.

usage: eval_reference.py CAMS ROOT LIST THRESHOLD HAS_BACKGROUND(0|1) -> prints mIoU (repr)
Also checks that every .npz loads in numpy with int32 keys and float32 [n, H, W] cam.
"""
import sys

import numpy as np
from PIL import Image

cams, root, lst, thr, has_bg = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5] == "1"
ids = [l.split()[0] for l in open(root + "/" + lst) if l.strip()]
n_fg = len([l for l in open(root + "/classes.txt") if l.strip()]) - (1 if has_bg else 0)
n = n_fg + (1 if has_bg else 0)
# Column n: "nothing predicted" (no class in an image of a dataset without background).
conf = np.zeros((n, n + 1), dtype=np.int64)
for i in ids:
    d = np.load(cams + "/" + i + ".npz")
    assert d["keys"].dtype == np.int32 and d["cam"].dtype == np.float32, (d["keys"].dtype, d["cam"].dtype)
    cam, keys = d["cam"], d["keys"]
    assert cam.ndim == 3 and cam.shape[0] == keys.shape[0]
    gt = np.array(Image.open(root + "/SegmentationClass/" + i + ".png")).astype(np.int64)
    if has_bg:
        cam = np.pad(cam, ((1, 0), (0, 0), (0, 0)), mode="constant", constant_values=thr)
        keys = np.pad(keys + 1, (1, 0), mode="constant")
    pred = keys[np.argmax(cam, axis=0)] if len(keys) else np.full(gt.shape, n)
    mask = gt != 255
    conf += np.bincount((n + 1) * gt[mask] + pred[mask], minlength=n * (n + 1)).reshape(n, n + 1)
gtj, resj, tp = conf.sum(axis=1), conf[:, :n].sum(axis=0), np.diag(conf[:, :n])
with np.errstate(invalid="ignore", divide="ignore"):
    iou = tp / (gtj + resj - tp)
print(repr(float(np.nanmean(iou))))
