"""The mask step's ceiling: make_sem_seg_labels with the ground truth's boundaries in place of
IRN's (a stride-4 pixel is a boundary where its 4x4 block holds more than one ground-truth value,
255 included), through the official indexing.propagate_to_edge (beta 10, 2^8 steps, radius 5).
If these masks beat the CAMs, the walk works at this resolution and what the learned boundary
misses is what is lost. Prints "MIOU_AT_0.25 BEST_MIOU BEST_THRESHOLD".
usage: irn_gt_boundary_walk.py OFFICIAL_DIR DATA LIST CAM_DIR"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

official, data, lst, cams = sys.argv[1:5]
sys.path.insert(0, official)
torch.Tensor.cuda = lambda self, *a, **kw: self  # no GPU: the official code calls .cuda()
from misc import indexing  # noqa: E402

num_classes = len(open(os.path.join(data, "classes.txt")).read().split())
thresholds = [round(0.05 * k, 2) for k in range(1, 13)]
conf = np.zeros((len(thresholds), num_classes, num_classes), np.int64)
for i in open(lst).read().split():
    z = np.load(os.path.join(cams, i + ".npz"))
    gt = np.asarray(Image.open(os.path.join(data, "SegmentationClass", i + ".png")))
    H, W = gt.shape
    cam = torch.from_numpy(z["cam_stride4"]).float()
    h, w = cam.shape[1:]
    blocks = np.pad(gt, ((0, 4 * h - H), (0, 4 * w - W)), mode="edge").reshape(h, 4, w, 4).transpose(0, 2, 1, 3).reshape(h, w, 16)
    edge = torch.from_numpy((blocks.min(-1) != blocks.max(-1)).astype(np.float32))
    rw = indexing.propagate_to_edge(cam.clamp(min=0) ** 1.5, edge, beta=10, exp_times=8, radius=5)
    up = F.interpolate(rw, scale_factor=4, mode="bilinear", align_corners=False)[..., 0, :H, :W]
    up = up / torch.max(up)
    keys = np.pad(z["keys"] + 1, (1, 0))
    valid = gt != 255
    for t, th in enumerate(thresholds):
        pred = keys[torch.argmax(F.pad(up, (0, 0, 0, 0, 1, 0), value=th), 0).numpy()]
        conf[t] += np.bincount(gt[valid].astype(np.int64) * num_classes + pred[valid], minlength=num_classes**2).reshape(num_classes, num_classes)
mious = []
for c in conf:
    inter = np.diag(c).astype(np.float64)
    union = c.sum(0) + c.sum(1) - inter
    mious.append(100.0 * np.mean(inter[union > 0] / union[union > 0]))
best = int(np.argmax(mious))
print(f"{mious[thresholds.index(0.25)]:.2f} {mious[best]:.2f} {thresholds[best]}")
