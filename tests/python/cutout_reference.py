"""The official imutils.cutout, transcribed with its centres given instead of drawn, so the C++
test can feed it amr's random stream.

usage: cutout_reference.py H W LENGTH "y,x;y,x;..." OUT.pth   (writes the [H, W] float32 mask)
"""
import sys

import numpy as np
import torch

h, w, length = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
centres = [tuple(int(v) for v in c.split(",")) for c in sys.argv[4].split(";")]
mask = np.ones((h, w), np.float32)
for y, x in centres:  # imutils.cutout's loop body, np.random.randint replaced by the given centres
    y1 = np.clip(y - length // 2, 0, h)
    y2 = np.clip(y + length // 2, 0, h)
    x1 = np.clip(x - length // 2, 0, w)
    x2 = np.clip(x + length // 2, 0, w)
    mask[y1: y2, x1: x2] = 0
torch.save({"mask": torch.from_numpy(mask)}, sys.argv[5])
